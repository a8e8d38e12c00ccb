/* proxflow: the Hamilton-Jacobi optimality indicators and the other diagnostics of
 * SPEC §1.8, one record per logged iteration (SPEC §4 /diagnostics/<name>). */
#ifndef PROXFLOW_FLOW_DIAGNOSTICS_H
#define PROXFLOW_FLOW_DIAGNOSTICS_H

#include "proxflow/flow/trainer.h"

/* One logged record (SPEC §1.8, §4 /diagnostics/<name>). Order = PF_DIAG_NAMES. */
typedef struct {
    double iteration, wall_s, loss_d, loss_g, divergence, divergence_half_step, kinetic,
        hj_residual, hj_terminal, lipschitz_max, grad_norm_phi, grad_norm_gamma,
        seconds_per_iteration, samples_per_second, penalty, nu,
        /* sample quality (src/run/quality.c): NaN except at the last iteration and
         * every [output] eval_every */
        sliced_w1, mmd2, manifold_distance;
} pf_diag;
#define PF_DIAG_COUNT 19
extern const char *const pf_diag_names[PF_DIAG_COUNT];
/* The record as an array in the order of pf_diag_names. */
static inline const double *pf_diag_array(const pf_diag *d) { return &d->iteration; }

/* Diagnostics on the fixed diagnostic batch (SPEC §1.8); collective. */
void pf_diagnostics(pf_trainer *tr, pf_diag *dg);

/* The divergence estimate E[gamma(X)] - Lambda_f[gamma; pi] (SPEC §1.8's terminal cost)
 * of a sample set laid out by L (this rank holds its rows [L->i0, L->i1) in X); Lambda
 * on the fixed diagnostic data batch.  Collective.  (The chain's per-link divergences,
 * SPEC §8.) */
double pf_divergence_of(pf_trainer *tr, const pf_chunks *L, const pf_real *X);

/* The mean distance from a reference sample x^0_i to its nearest data sample of the
 * first batch (iteration 0's draws): a lower estimate of how far the flow must carry
 * it (the distance to the data's support, up to the batch's sampling).  A flow with the Lipschitz penalty moves a sample
 * at most L T / lambda (at optimality |grad phi(., T)| = |grad gamma| <= L, and the
 * characteristics are straight): `train` warns when that is shorter.  Collective. */
double pf_reach_distance(pf_trainer *tr);

#endif
