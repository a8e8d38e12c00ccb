/* proxflow: sample-quality metrics (SPEC §6.3).
 *
 * Every result is independent of the thread count: parallel loops write one value per
 * projection / row, and the sums are taken serially in a fixed order. */
#include "proxflow/eval/metrics.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "proxflow/core/rng.h"

/* Pairs used by the median heuristic are taken among at most this many pooled points
 * (evenly strided), so the heuristic costs O(MAX^2) whatever n + m is. */
#define PF_MEDIAN_MAX_POINTS 2000

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Exact W1 between the empirical measures of sorted a[n] and b[m] (weights 1/n, 1/m):
 * integral over q in (0,1) of |F_a^{-1}(q) - F_b^{-1}(q)|.  The quantile functions
 * are step functions with breaks at i/n and k/m; walk the merged breaks, comparing
 * (i+1)/n with (k+1)/m in integers so equal breaks advance both exactly. */
static double w1_sorted(const double *a, int n, const double *b, int m)
{
    double sum = 0, q = 0;
    int i = 0, k = 0;
    while (i < n && k < m) {
        long long ln = (long long)(i + 1) * m, lm = (long long)(k + 1) * n;
        double next = ln <= lm ? (double)(i + 1) / n : (double)(k + 1) / m;
        sum += (next - q) * fabs(a[i] - b[k]);
        q = next;
        if (ln <= lm) i++;
        if (lm <= ln) k++;
    }
    return sum;
}

/* Direction j: d normal draws from (seed, 0, PF_RNG_METRIC, j), normalised. */
double pf_sliced_w1(const pf_real *X, int n, const pf_real *Y, int m, int d, int n_proj,
                    uint64_t seed)
{
    if (n <= 0 || m <= 0 || n_proj <= 0) return 0.0;
    double *w = pf_malloc((size_t)n_proj * sizeof *w);
#pragma omp parallel
    {
        double *th = pf_malloc((size_t)d * sizeof *th);
        double *px = pf_malloc((size_t)n * sizeof *px);
        double *py = pf_malloc((size_t)m * sizeof *py);
#pragma omp for schedule(dynamic, 1)
        for (int j = 0; j < n_proj; j++) {
            pf_stream s;
            pf_stream_init(&s, seed, 0, PF_RNG_METRIC, (uint64_t)j);
            double nrm = 0;
            do {
                nrm = 0;
                for (int r = 0; r < d; r++) {
                    th[r] = pf_stream_normal(&s);
                    nrm += th[r] * th[r];
                }
            } while (!(nrm > 0));
            nrm = sqrt(nrm);
            for (int r = 0; r < d; r++) th[r] /= nrm;
            for (int i = 0; i < n; i++) {
                double acc = 0;
                for (int r = 0; r < d; r++) acc += th[r] * (double)X[(size_t)i * d + r];
                px[i] = acc;
            }
            for (int i = 0; i < m; i++) {
                double acc = 0;
                for (int r = 0; r < d; r++) acc += th[r] * (double)Y[(size_t)i * d + r];
                py[i] = acc;
            }
            qsort(px, (size_t)n, sizeof *px, cmp_double);
            qsort(py, (size_t)m, sizeof *py, cmp_double);
            w[j] = w1_sorted(px, n, py, m);
        }
        free(th);
        free(px);
        free(py);
    }
    double sum = 0;
    for (int j = 0; j < n_proj; j++) sum += w[j];
    free(w);
    return sum / n_proj;
}

static double sqdist(const pf_real *a, const pf_real *b, int d)
{
    double s = 0;
    for (int r = 0; r < d; r++) {
        double e = (double)a[r] - (double)b[r];
        s += e * e;
    }
    return s;
}

/* Mean of exp(-|a_i - b_k|^2 / (2 bw^2)) over all pairs; per-row sums in parallel,
 * then a serial sum in row order. */
static double kernel_mean(const pf_real *A, int n, const pf_real *B, int m, int d,
                          double inv2bw2)
{
    double *row = pf_malloc((size_t)n * sizeof *row);
#pragma omp parallel for schedule(static)
    for (int i = 0; i < n; i++) {
        double s = 0;
        for (int k = 0; k < m; k++)
            s += exp(-sqdist(A + (size_t)i * d, B + (size_t)k * d, d) * inv2bw2);
        row[i] = s;
    }
    double sum = 0;
    for (int i = 0; i < n; i++) sum += row[i];
    free(row);
    return sum / ((double)n * (double)m);
}

/* Median heuristic: bw = median pairwise distance of the pooled sample (over distinct
 * pairs of at most PF_MEDIAN_MAX_POINTS evenly strided pooled points); 1 if that is 0. */
static double median_bandwidth(const pf_real *X, int n, const pf_real *Y, int m, int d)
{
    long tot = (long)n + m;
    int p = tot > PF_MEDIAN_MAX_POINTS ? PF_MEDIAN_MAX_POINTS : (int)tot;
    if (p < 2) return 1.0;
    const pf_real **pt = pf_malloc((size_t)p * sizeof *pt);
    for (int k = 0; k < p; k++) {
        long g = (long)((double)k * (double)tot / p);
        pt[k] = g < n ? X + (size_t)g * d : Y + (size_t)(g - n) * d;
    }
    size_t np = (size_t)p * (p - 1) / 2;
    double *dist = pf_malloc(np * sizeof *dist);
#pragma omp parallel for schedule(dynamic, 16)
    for (int a = 0; a < p; a++) {
        size_t off = (size_t)a * (2 * (size_t)p - a - 1) / 2; /* pairs before row a */
        for (int b = a + 1; b < p; b++) dist[off + (b - a - 1)] = sqrt(sqdist(pt[a], pt[b], d));
    }
    qsort(dist, np, sizeof *dist, cmp_double);
    double med = np % 2 ? dist[np / 2] : 0.5 * (dist[np / 2 - 1] + dist[np / 2]);
    free(dist);
    free(pt);
    return med > 0 ? med : 1.0;
}

double pf_mmd2_gaussian(const pf_real *X, int n, const pf_real *Y, int m, int d, double bw)
{
    if (n <= 0 || m <= 0) return 0.0;
    if (bw <= 0) bw = median_bandwidth(X, n, Y, m, d);
    double g = 1.0 / (2.0 * bw * bw);
    double v = kernel_mean(X, n, X, n, d, g) + kernel_mean(Y, m, Y, m, d, g) -
               2.0 * kernel_mean(X, n, Y, m, d, g);
    return v;
}

/* A sample that does not move (path length 0) counts as straight (1). */
double pf_straightness(const pf_real *traj, int nt, int n, int d)
{
    if (n <= 0) return 0.0;
    double *ratio = pf_malloc((size_t)n * sizeof *ratio);
#pragma omp parallel for schedule(static)
    for (int i = 0; i < n; i++) {
        double path = 0;
        for (int k = 0; k < nt; k++)
            path += sqrt(sqdist(traj + ((size_t)(k + 1) * n + i) * d,
                                traj + ((size_t)k * n + i) * d, d));
        double chord = sqrt(sqdist(traj + ((size_t)nt * n + i) * d, traj + (size_t)i * d, d));
        ratio[i] = path > 0 ? chord / path : 1.0;
    }
    double sum = 0;
    for (int i = 0; i < n; i++) sum += ratio[i];
    free(ratio);
    return sum / n;
}

double pf_rms_difference(const pf_real *A, const pf_real *B, int n, int d)
{
    size_t t = (size_t)n * d;
    if (t == 0) return 0.0;
    double s = 0;
    for (size_t k = 0; k < t; k++) {
        double e = (double)A[k] - (double)B[k];
        s += e * e;
    }
    return sqrt(s / (double)t);
}

double pf_mean_abs_difference(const pf_real *A, const pf_real *B, int n, int d)
{
    size_t t = (size_t)n * d;
    if (t == 0) return 0.0;
    double s = 0;
    for (size_t k = 0; k < t; k++) s += fabs((double)A[k] - (double)B[k]);
    return s / (double)t;
}

/* (moved from cmd_eval.c: train's quality records use the same kernel, issue 21) */
double pf_mmd_median_bandwidth(const pf_real *Y, int m, int d)
{
    int p = m > 1000 ? 1000 : m;
    if (p < 2) return 1.0;
    size_t np = (size_t)p * (p - 1) / 2, q = 0;
    double *dist = pf_malloc(np * sizeof *dist);
    for (int i = 0; i < p; i++) {
        const pf_real *x = Y + (size_t)((long)i * m / p) * d;
        for (int k = i + 1; k < p; k++) {
            const pf_real *y = Y + (size_t)((long)k * m / p) * d;
            double s = 0;
            for (int r = 0; r < d; r++) s += ((double)x[r] - y[r]) * ((double)x[r] - y[r]);
            dist[q++] = sqrt(s);
        }
    }
    qsort(dist, np, sizeof *dist, cmp_double);
    double med = np % 2 ? dist[np / 2] : 0.5 * (dist[np / 2 - 1] + dist[np / 2]);
    free(dist);
    return med > 0 ? med : 1.0;
}
