/* proxflow: the method's internals shared by the files of src/flow/ (SPEC §1.3-1.8 on
 * the parallel model of §3). */
#ifndef PF_FLOW_IMPL_H
#define PF_FLOW_IMPL_H

#include "proxflow/flow/trainer.h"
#include "proxflow/flow/steps.h"

/* ---- divergence.c: the divergence term Lambda_f (SPEC §1.3) and loss statistics ---- */
/* Loss statistics: one small all-reduce per discriminator step (SPEC §3) ---------
 * A record of doubles: the DV pair (max m, sum of exp(g - m)), which two ranks merge by
 * rescaling to the larger maximum (a log-sum-exp), then plain sums, then maxima.  One
 * MPI_Allreduce with this operation gives every global statistic the step needs before
 * its gradient is formed. */
enum {
    ST_M, ST_S,                                   /* DV log-sum-exp pair             */
    ST_GX, ST_PEN, ST_F, ST_DF, ST_BAD,           /* sums                            */
    ST_LIP, ST_WORST,                             /* maxima                          */
    ST_N
};
#define ST_SUM0 ST_GX
#define ST_MAX0 ST_LIP

/* A fresh record (sums 0, maxima -inf). */
void pf_stats_init(double *rec);
/* The step's one small collective: every rank's record merged (log-sum-exp pair, sums,
 * maxima) in one MPI_Allreduce. */
void pf_stats_reduce(double *rec);
/* This rank's part of Lambda's statistics for gamma(y_j) of its n data rows. */
void pf_lambda_local(const pf_trainer *tr, const pf_real *g, int n, double *rec);
/* Lambda from the reduced statistics of a batch of N; the gradient weights
 * dLambda/dgamma_j of this rank's rows into wy (may be NULL) and dLambda/dnu. */
double pf_lambda_finish(const pf_trainer *tr, const pf_real *g, int n, double N,
                        const double *rec, pf_real *wy, double *dnu);
/* Sums and maxima of small vectors over all ranks. */
void pf_sum_all(double *v, int n);
void pf_max_all(double *v, int n);

/* ---- trainer.c ---------------------------------------------------------------------- */

/* Reference samples x^0 of global indices [a, b): from rho_0, or from the stored pool
 * view (train: columns of N; diag: columns of Nd) when the config names one. */
void pf_ref_draw(const pf_trainer *tr, const pf_data *pool, uint64_t it, uint32_t purpose,
                 int a, int b, pf_real *X);
/* Interpolation weights s_i ~ U[0,1], one per pair (SPEC §1.4). */
void pf_draw_interp(const pf_trainer *tr, uint64_t it, uint32_t purpose, int a, int b,
                    pf_real *S);
/* Status values of a step. */
pf_status pf_status_ok(void);
pf_status pf_status_bad(const pf_trainer *tr, const char *what, double value);
/* The gradient all-reduce of a step over P (SPEC §3), timed into t_reduce (with
 * split_wait, proxflow_bench's, a barrier first puts the wait for the slowest rank into
 * t_wait); returns the norm of the summed gradient. */
double pf_reduce_grad(pf_trainer *tr, pf_params *P);

/* Squared norm of the first d entries of a row. */
static inline double pf_sq(const pf_real *x, int d)
{
    double s = 0;
    for (int j = 0; j < d; j++) s += (double)x[j] * x[j];
    return s;
}

#endif
