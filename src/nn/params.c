/* Contiguous parameter buffers, the gradient all-reduce and Adam (SPEC §1.7, §2, §3). */
#include "proxflow/nn/params.h"

#include <math.h>
#include <mpi.h>
#include <stdlib.h>
#include <string.h>

void pf_params_alloc(pf_params *P, size_t n, double lr, double beta1, double beta2, double eps)
{
    memset(P, 0, sizeof *P);
    P->n = n;
    P->buf = pf_calloc(4 * n, sizeof(pf_real));
    P->p = P->buf;
    P->g = P->buf + n;
    P->m = P->buf + 2 * n;
    P->v = P->buf + 3 * n;
    P->lr = lr;
    P->beta1 = beta1;
    P->beta2 = beta2;
    P->eps = eps;
}

void pf_params_free(pf_params *P)
{
    free(P->buf);
    memset(P, 0, sizeof *P);
}

void pf_params_zero_grad(pf_params *P) { memset(P->g, 0, sizeof(pf_real) * P->n); }

void pf_params_allreduce_grad(pf_params *P)
{
    if (pf_nranks() == 1) return;
    MPI_Allreduce(MPI_IN_PLACE, P->g, (int)P->n, PF_MPI_REAL, MPI_SUM, pf_comm());
}

double pf_params_grad_norm(const pf_params *P)
{
    double s = 0;
    for (size_t k = 0; k < P->n; k++) s += (double)P->g[k] * P->g[k];
    return sqrt(s);
}

void pf_params_adam_step(pf_params *P)
{
    P->t++;
    const double b1 = P->beta1, b2 = P->beta2;
    const double c1 = 1 - pow(b1, (double)P->t), c2 = 1 - pow(b2, (double)P->t);
    const double step = P->lr / c1, sc2 = 1 / sqrt(c2);
    pf_real *p = P->p, *g = P->g, *m = P->m, *v = P->v;
    const size_t n = P->n;
    PF_PAR_FOR(n, k, (int)n, {
        m[k] = (pf_real)(b1 * m[k] + (1 - b1) * g[k]);
        v[k] = (pf_real)(b2 * v[k] + (1 - b2) * g[k] * g[k]);
        p[k] -= (pf_real)(step * m[k] / (sqrt(v[k]) * sc2 + P->eps));
    });
}
