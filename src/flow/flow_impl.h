/* proxflow: the method's internals shared by the files of src/flow/ (SPEC §1.3-1.8 on
 * the parallel model of §3).
 *
 * Every per-sample computation runs chunk by chunk (proxflow/core/chunks.h): one network
 * call per chunk, on a lane (a thread with its own workspace), its sums into per-chunk
 * records and gradient buffers that are combined in chunk order or exactly.  So every
 * loss, gradient and diagnostic has the same bits for any rank and thread count. */
#ifndef PF_FLOW_IMPL_H
#define PF_FLOW_IMPL_H

#include "proxflow/flow/trainer.h"
#include "proxflow/flow/steps.h"

/* ---- divergence.c: the divergence term Lambda_f (SPEC §1.3) and loss statistics ---- */

/* A record of loss statistics of one chunk: the DV pair (max m, sum of exp(g - m)),
 * plain sums, maxima.  Chunk records are gathered and folded in chunk order
 * (pf_stats_fold), the DV pair by rescaling to the larger maximum (a log-sum-exp). */
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
/* Collective: the records of this rank's chunks of layout ch (local [(c1-c0) x ST_N])
 * folded over all chunks in chunk order into rec (the same bits on every rank); with
 * all != NULL also every chunk's record [K x ST_N] (the DV maxima per chunk). */
void pf_stats_fold(const pf_chunks *ch, const double *local, double *rec, double *all);
/* Lambda's statistics of one chunk's data rows, gamma(y_j) = g[j] (n rows) into rec:
 * DV: its max and sum of exp(g - max); Legendre: sums of f*(g - nu), f*'(g - nu) and
 * the count of arguments outside f*'s domain. */
void pf_lambda_local(const pf_trainer *tr, const pf_real *g, int n, double *rec);
/* dLambda/dgamma_j of a chunk's rows for a Legendre form, (f*'(g_j - nu)) / N, into w. */
void pf_lambda_weights(const pf_trainer *tr, const pf_real *g, int n, double N, pf_real *w);
/* Lambda from the folded statistics of a batch of N, and dLambda/dnu (dnu may be NULL). */
double pf_lambda_finish(const pf_trainer *tr, double N, const double *rec, double *dnu);
/* Maxima of small vectors over all ranks (exact in any order). */
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
/* The gradient of a step (SPEC §3): the per-chunk gradients of this rank's nloc chunks
 * (parts) summed exactly over all chunks of all ranks into out (n values), timed into
 * t_reduce (with split_wait, proxflow_bench's, a barrier first puts the wait for the
 * slowest rank into t_wait). */
void pf_reduce_grad(pf_trainer *tr, pf_real *const *parts, int nloc, size_t n, pf_real *out);

/* iteration.c: x^{Nt} of every discriminator batch of the iteration into XTd. */
void pf_simulate_disc_batches(pf_trainer *tr);

/* Lanes: `PF_LANES_FOR(tr, lc, nchunks, { ... pf_lane *ln = pf_this_lane(tr); ... });`
 * runs a loop over chunks on up to n_lanes threads; outside such a loop the lane is 0.
 * Within a lane BLAS runs on one thread (the network calls are single-threaded, src/nn/).
 * One lane or one chunk: a plain loop, no OpenMP region (PF_TEAM_FOR). */
#define PF_LANES_FOR(tr, var, count, ...) PF_TEAM_FOR((tr)->n_lanes, var, count, __VA_ARGS__)
pf_lane *pf_this_lane(pf_trainer *tr);

/* Squared norm of the first d entries of a row. */
static inline double pf_sq(const pf_real *x, int d)
{
    double s = 0;
    for (int j = 0; j < d; j++) s += (double)x[j] * x[j];
    return s;
}

#endif
