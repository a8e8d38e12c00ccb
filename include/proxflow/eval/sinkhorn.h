/* proxflow: the debiased Sinkhorn divergence of geomloss's SamplesLoss("sinkhorn", p=2)
 * between two point clouds (SPEC §6.3's metrics; issue 19: the score of the paper
 * code's low-dimensional table, low_dimensional_result.ipynb).
 *
 *   S_eps(a, b) = OT_eps(a, b) - (OT_eps(a, a) + OT_eps(b, b)) / 2,
 *   OT_eps(a, b) = min_pi <pi, C> + eps KL(pi | a x b),  C(x, y) = |x - y|^2 / 2,
 *
 * uniform weights a_i = 1/n, b_j = 1/m, eps = blur^2.  The value is computed exactly
 * as geomloss 0.2.6 (tensorized backend, debias=True) defines it: log-domain symmetric
 * (averaged) updates of the four dual potentials along its epsilon-scaling schedule,
 * one final full update, and S = <a, f_ba - f_aa> + <b, g_ab - g_bb>; see
 * src/eval/sinkhorn.c for the steps and docs/COMMANDS.md for the known differences. */
#ifndef PROXFLOW_SINKHORN_H
#define PROXFLOW_SINKHORN_H

#include "proxflow/core/common.h"

typedef struct {
    int n_eps;          /* epsilon values of the annealing schedule (one update each) */
    int extra;          /* further updates at eps = blur^2 (0 unless max_extra > 0) */
    double diameter;    /* |max - min| of the coordinates over both clouds */
    double eps;         /* the final epsilon, blur^2 */
    double marginal_error; /* the largest L1 marginal error, mean |marginal / weight - 1|,
                            * of the four plans the last updates before the final one
                            * started from: 0 at convergence */
    double ot_xy, ot_xx, ot_yy; /* the dual values <a,f> + <b,g> of the three problems */
} pf_sinkhorn_info;

/* S_eps(X, Y) for X [n x d] and Y [m x d] (row-major).  blur > 0 (geomloss's default
 * 0.05), scaling in (0, 1) (default 0.5).  max_extra = 0 gives geomloss's value; with
 * max_extra > 0 the updates go on at eps = blur^2 until every marginal error is <= tol
 * (or for max_extra sweeps), before the final update: the value at
 * convergence, which fixed-epsilon solvers (POT) compute.  Double accumulation; OpenMP
 * over rows, the result is the same for any thread count; memory O((n + m) d) plus
 * one row of m (or n) values per thread: the costs are recomputed on the fly.
 * Returns NAN for empty clouds, bad blur / scaling, or a non-finite coordinate
 * (geomloss fails there).  info may be NULL. */
double pf_sinkhorn_divergence(const pf_real *X, int n, const pf_real *Y, int m, int d,
                              double blur, double scaling, int max_extra, double tol,
                              pf_sinkhorn_info *info);

#endif
