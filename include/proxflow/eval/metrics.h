/* proxflow: sample-quality metrics (SPEC §6.3).  All take full (gathered) sample sets,
 * row-major [n x d], and are deterministic in their seed. */
#ifndef PROXFLOW_METRICS_H
#define PROXFLOW_METRICS_H

#include "proxflow/core/common.h"

/* Sliced Wasserstein-1: mean over n_proj random unit directions of the 1-D W1 between
 * the projected empirical measures (n and m may differ: exact 1-D W1 via quantiles). */
double pf_sliced_w1(const pf_real *X, int n, const pf_real *Y, int m, int d, int n_proj,
                    uint64_t seed);

/* Squared MMD with a Gaussian kernel exp(-|x-y|^2 / (2 bw^2)) (biased V-statistic);
 * bw <= 0 picks the median heuristic on the pooled sample. */
double pf_mmd2_gaussian(const pf_real *X, int n, const pf_real *Y, int m, int d, double bw);

/* The MMD bandwidth of `eval` and of train's quality records: the median pairwise
 * distance of Y [m x d] (at most 1000 evenly strided rows; 1 if degenerate), the
 * held-out sample alone, so every sample set is measured with the same kernel. */
double pf_mmd_median_bandwidth(const pf_real *Y, int m, int d);

/* Trajectory straightness: traj [(nt+1) x n x d]; returns mean over samples of
 * |x^{nt} - x^0| / sum_k |x^{k+1} - x^k|  (1 for straight lines). */
double pf_straightness(const pf_real *traj, int nt, int n, int d);

/* Root mean square difference between two sample sets of equal shape, and mean
 * absolute difference (per coordinate). */
double pf_rms_difference(const pf_real *A, const pf_real *B, int n, int d);
double pf_mean_abs_difference(const pf_real *A, const pf_real *B, int n, int d);

#endif
