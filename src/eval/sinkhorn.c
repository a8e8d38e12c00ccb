/* The debiased Sinkhorn divergence of geomloss's SamplesLoss("sinkhorn", p=2, blur,
 * scaling) (include/proxflow/eval/sinkhorn.h; issue 19).  Written from geomloss 0.2.6's
 * documented algorithm (sinkhorn_divergence.py: epsilon_schedule, sinkhorn_loop,
 * sinkhorn_cost; sinkhorn_samples.py: the tensorized backend, which SamplesLoss picks
 * for n m <= 5000^2), not from its code:
 *
 *  1. diameter D = |max - min| (Euclidean norm of the per-coordinate range over both
 *     clouds); epsilons: D^2, then exp(e) for e in numpy.arange(2 log D, 2 log blur,
 *     2 log scaling), then blur^2 (so D^2 appears twice, and a D below blur gives
 *     just [D^2, blur^2]).
 *  2. softmin(eps, x <- y, h)_i = -eps log sum_j exp(h_j - C(x_i, y_j) / eps).
 *     Start, at eps = D^2: f_ba = softmin(x <- y, log b), g_ab = softmin(y <- x,
 *     log a), f_aa = softmin(x <- x, log a), g_bb = softmin(y <- y, log b).
 *  3. For every eps of the list: the four updates from the current potentials,
 *     f_ba~ = softmin(x <- y, log b + g_ab / eps) etc., then every potential becomes
 *     the mean of its old value and its update (symmetric, not alternating, updates).
 *  4. One last full update at eps = blur^2 (no averaging; geomloss's
 *     "last_extrapolation", done for its gradients, it changes the value too).
 *  5. S = <a, f_ba - f_aa> + <b, g_ab - g_bb>.
 * The number of updates is fixed by the schedule (about log2(D / blur) + 3): the
 * result is not Sinkhorn run to convergence at blur^2 (max_extra > 0 adds that).
 *
 * Cost: every softmin is one pass over all pairs, with the cost |x - y|^2 / 2
 * recomputed on the fly from a transposed copy of the summed cloud (the inner loop
 * over j vectorises); 4 (n_eps + 2) passes in all.  Each row i is reduced by one
 * thread in a fixed j order: the result does not depend on the thread count. */
#include "proxflow/eval/sinkhorn.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Terms of a log-sum-exp more than log(count) + 45 below its maximum add less than
 * e^-45 < 2^-64 relative to the sum (>= 1 after shifting by the maximum): below double
 * rounding, so their exp is skipped. */
#define PF_SK_CUT 45.0

typedef struct {
    const double *rows; /* [np x d], row-major: the points the potential lives on */
    int np;
    const double *colT; /* [d x nq], transposed: the points summed over */
    int nq;
} sk_pair;

/* out_i = -eps log sum_j exp(h_j - |p_i - q_j|^2 / (2 eps)), stably. */
static void softmin(const sk_pair *pr, int d, double eps, const double *h, double *out)
{
    const int np = pr->np, nq = pr->nq;
    const double s = 0.5 / eps, cut = log((double)nq) + PF_SK_CUT;
#pragma omp parallel if ((size_t)np * nq * d > pf_omp_min)
    {
        double *v = pf_malloc(sizeof(double) * (size_t)nq);
#pragma omp for schedule(static)
        for (int i = 0; i < np; i++) {
            const double *p = pr->rows + (size_t)i * d;
            for (int j = 0; j < nq; j++) v[j] = 0;
            for (int k = 0; k < d; k++) {
                const double pk = p[k], *q = pr->colT + (size_t)k * nq;
                for (int j = 0; j < nq; j++) v[j] += (pk - q[j]) * (pk - q[j]);
            }
            double mx = -INFINITY;
            for (int j = 0; j < nq; j++) {
                v[j] = h[j] - v[j] * s;
                mx = v[j] > mx ? v[j] : mx;
            }
            double sum = 0;
            for (int j = 0; j < nq; j++)
                if (v[j] - mx > -cut) sum += exp(v[j] - mx);
            out[i] = -eps * (mx + log(sum));
        }
        free(v);
    }
}

/* h_j = logw + g_j / eps */
static void shifted(const double *g, int n, double logw, double eps, double *h)
{
    for (int j = 0; j < n; j++) h[j] = logw + g[j] / eps;
}

static double mean(const double *f, int n)
{
    double s = 0;
    for (int i = 0; i < n; i++) s += f[i];
    return s / n;
}

/* The L1 marginal error of the plan of potential f on one side: a softmin update ft
 * of f from the other side's potential gives that plan's marginal there as
 * w_i exp((f_i - ft_i) / eps), so the error is mean_i |exp((f_i - ft_i) / eps) - 1|
 * (uniform weights).  Zero exactly at a fixed point; what POT's stopThr measures
 * (there in the 2-norm).  Reads f before the caller replaces it. */
static double marginal_error(const double *f, const double *ft, int n, double eps)
{
    double s = 0;
    for (int i = 0; i < n; i++) s += fabs(expm1((f[i] - ft[i]) / eps));
    return s / n;
}

/* f <- (f + ft) / 2 */
static void average(double *f, const double *ft, int n)
{
    for (int i = 0; i < n; i++) f[i] = 0.5 * (f[i] + ft[i]);
}

/* The length of numpy.arange(start, stop, step): ceil((stop - start) / step), or 0. */
static double arange_length(double start, double stop, double step)
{
    double t = (stop - start) / step;
    return t > 0 ? ceil(t) : 0;
}

/* numpy.arange's values, filled the way numpy fills them: value 0 = start, value 1 =
 * start + step, value k = start + k (value 1 - value 0). */
static void arange_fill(double start, double step, int L, double *out)
{
    if (L < 1) return;
    out[0] = start;
    if (L < 2) return;
    out[1] = start + step;
    const double delta = out[1] - out[0];
    for (int k = 2; k < L; k++) out[k] = start + k * delta;
}

/* More epsilons than this (blur far below the diameter with a scaling near 1) is
 * refused rather than run for hours. */
#define PF_SK_MAX_EPS 100000

double pf_sinkhorn_divergence(const pf_real *X, int n, const pf_real *Y, int m, int d,
                              double blur, double scaling, int max_extra, double tol,
                              pf_sinkhorn_info *info)
{
    if (info) memset(info, 0, sizeof *info);
    if (n < 1 || m < 1 || d < 1 || !(blur > 0) || !isfinite(blur) || !(scaling > 0) ||
        !(scaling < 1))
        return NAN;
    const size_t nd = (size_t)n * d, md = (size_t)m * d;
    for (size_t k = 0; k < nd; k++)
        if (!isfinite((double)X[k])) return NAN;
    for (size_t k = 0; k < md; k++)
        if (!isfinite((double)Y[k])) return NAN;

    /* double copies, row-major and transposed */
    double *x = pf_malloc(sizeof(double) * nd), *y = pf_malloc(sizeof(double) * md);
    double *xT = pf_malloc(sizeof(double) * nd), *yT = pf_malloc(sizeof(double) * md);
    for (int i = 0; i < n; i++)
        for (int k = 0; k < d; k++) xT[(size_t)k * n + i] = x[(size_t)i * d + k] = X[(size_t)i * d + k];
    for (int j = 0; j < m; j++)
        for (int k = 0; k < d; k++) yT[(size_t)k * m + j] = y[(size_t)j * d + k] = Y[(size_t)j * d + k];

    /* 1. the diameter and the epsilon schedule */
    double diam2 = 0;
    for (int k = 0; k < d; k++) {
        double lo = INFINITY, hi = -INFINITY;
        for (int i = 0; i < n; i++) { lo = fmin(lo, xT[(size_t)k * n + i]); hi = fmax(hi, xT[(size_t)k * n + i]); }
        for (int j = 0; j < m; j++) { lo = fmin(lo, yT[(size_t)k * m + j]); hi = fmax(hi, yT[(size_t)k * m + j]); }
        diam2 += (hi - lo) * (hi - lo);
    }
    const double diam = sqrt(diam2), eps_final = blur * blur;
    if (info) { info->diameter = diam; info->eps = eps_final; }
    if (diam == 0) { /* every point at one place: X and Y are the same Dirac mass */
        free(x); free(y); free(xT); free(yT);
        return 0.0;
    }
    const double a0 = 2 * log(diam), a1 = 2 * log(blur), as = 2 * log(scaling);
    const double len = arange_length(a0, a1, as);
    if (!(len <= PF_SK_MAX_EPS)) {
        free(x); free(y); free(xT); free(yT);
        return NAN;
    }
    const int L = (int)len;
    double *eps_list = pf_malloc(sizeof(double) * (size_t)(L + 2));
    int ne = 0;
    eps_list[ne++] = diam * diam;
    arange_fill(a0, as, L, eps_list + 1);
    for (int k = 0; k < L; k++) eps_list[1 + k] = exp(eps_list[1 + k]);
    ne += L;
    eps_list[ne++] = eps_final;

    const sk_pair XY = {x, n, yT, m}, YX = {y, m, xT, n}, XX = {x, n, xT, n}, YY = {y, m, yT, m};
    const double la = -log((double)n), lb = -log((double)m);
    double *f_ba = pf_malloc(sizeof(double) * n), *f_aa = pf_malloc(sizeof(double) * n);
    double *g_ab = pf_malloc(sizeof(double) * m), *g_bb = pf_malloc(sizeof(double) * m);
    double *t_ba = pf_malloc(sizeof(double) * n), *t_aa = pf_malloc(sizeof(double) * n);
    double *t_ab = pf_malloc(sizeof(double) * m), *t_bb = pf_malloc(sizeof(double) * m);
    const int nm = n > m ? n : m;
    double *h = pf_malloc(sizeof(double) * nm);

    /* 2. start at the largest epsilon: potentials against the bare log-weights */
    {
        const double e0 = eps_list[0];
        for (int j = 0; j < m; j++) h[j] = lb;
        softmin(&XY, d, e0, h, f_ba);
        softmin(&YY, d, e0, h, g_bb);
        for (int i = 0; i < n; i++) h[i] = la;
        softmin(&YX, d, e0, h, g_ab);
        softmin(&XX, d, e0, h, f_aa);
    }

    /* one set of four updates from the current potentials (all read before any is
     * written: the cross updates of f_ba and g_ab are simultaneous) */
#define SK_UPDATES(eps)                                                                   \
    do {                                                                                  \
        shifted(g_ab, m, lb, (eps), h); softmin(&XY, d, (eps), h, t_ba);                  \
        shifted(f_ba, n, la, (eps), h); softmin(&YX, d, (eps), h, t_ab);                  \
        shifted(f_aa, n, la, (eps), h); softmin(&XX, d, (eps), h, t_aa);                  \
        shifted(g_bb, m, lb, (eps), h); softmin(&YY, d, (eps), h, t_bb);                  \
    } while (0)

    /* 3. epsilon scaling, one averaged update per epsilon; err: the largest marginal
     * error of the four plans the last updates started from */
    double err = INFINITY;
    for (int e = 0; e < ne; e++) {
        const double eps = eps_list[e];
        SK_UPDATES(eps);
        err = fmax(fmax(marginal_error(f_ba, t_ba, n, eps), marginal_error(g_ab, t_ab, m, eps)),
                   fmax(marginal_error(f_aa, t_aa, n, eps), marginal_error(g_bb, t_bb, m, eps)));
        average(f_ba, t_ba, n);
        average(g_ab, t_ab, m);
        average(f_aa, t_aa, n);
        average(g_bb, t_bb, m);
    }
    /* (optional) on to convergence at the final epsilon, until every marginal error is
     * <= tol.  Not geomloss's scheme: the (a, b) potentials alternate (f_ba from g_ab,
     * then g_ab from the new f_ba: plain Sinkhorn, whose linear rate is the square of
     * the simultaneous scheme's slowest factor), the symmetric ones keep averaging
     * (their plain update oscillates on the constant mode). */
    int extra = 0;
    while (extra < max_extra && !(err <= tol)) {
        const double eps = eps_final;
        shifted(g_ab, m, lb, eps, h);
        softmin(&XY, d, eps, h, t_ba);
        err = marginal_error(f_ba, t_ba, n, eps);
        memcpy(f_ba, t_ba, sizeof(double) * n);
        shifted(f_ba, n, la, eps, h);
        softmin(&YX, d, eps, h, t_ab);
        err = fmax(err, marginal_error(g_ab, t_ab, m, eps));
        memcpy(g_ab, t_ab, sizeof(double) * m);
        shifted(f_aa, n, la, eps, h);
        softmin(&XX, d, eps, h, t_aa);
        err = fmax(err, marginal_error(f_aa, t_aa, n, eps));
        average(f_aa, t_aa, n);
        shifted(g_bb, m, lb, eps, h);
        softmin(&YY, d, eps, h, t_bb);
        err = fmax(err, marginal_error(g_bb, t_bb, m, eps));
        average(g_bb, t_bb, m);
        extra++;
    }
    /* 4. the last full update */
    SK_UPDATES(eps_final);
#undef SK_UPDATES

    /* 5. the dual value, differences first (the three OT terms nearly cancel) */
    double sa = 0, sb = 0;
    for (int i = 0; i < n; i++) sa += t_ba[i] - t_aa[i];
    for (int j = 0; j < m; j++) sb += t_ab[j] - t_bb[j];
    const double S = sa / n + sb / m;
    if (info) {
        info->n_eps = ne;
        info->extra = extra;
        info->marginal_error = err;
        info->ot_xy = mean(t_ba, n) + mean(t_ab, m);
        info->ot_xx = 2 * mean(t_aa, n);
        info->ot_yy = 2 * mean(t_bb, m);
    }
    free(x); free(y); free(xT); free(yT); free(eps_list);
    free(f_ba); free(f_aa); free(g_ab); free(g_bb);
    free(t_ba); free(t_aa); free(t_ab); free(t_bb); free(h);
    return S;
}
