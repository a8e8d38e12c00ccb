/* proxflow: one network's parameters, gradients and Adam moments in one contiguous
 * buffer (SPEC §2): one all-reduce, one HDF5 dataset, one update loop. */
#ifndef PROXFLOW_PARAMS_H
#define PROXFLOW_PARAMS_H

#include "proxflow/core/common.h"

typedef struct {
    size_t n;                 /* number of scalars                       */
    pf_real *buf;             /* 4n: p | g | m | v                        */
    pf_real *p, *g, *m, *v;   /* views into buf                           */
    long t;                   /* Adam steps taken                         */
    double lr, beta1, beta2, eps;
} pf_params;

void pf_params_alloc(pf_params *P, size_t n, double lr, double beta1, double beta2, double eps);
void pf_params_free(pf_params *P);
void pf_params_zero_grad(pf_params *P);
/* Sum the gradient over all ranks: one MPI_Allreduce over the contiguous buffer. */
void pf_params_allreduce_grad(pf_params *P);
/* Euclidean norm of the gradient. */
double pf_params_grad_norm(const pf_params *P);
/* One Adam step (bias-corrected) with the summed gradient; every rank does the same. */
void pf_params_adam_step(pf_params *P);

#endif
