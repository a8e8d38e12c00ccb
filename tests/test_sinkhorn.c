/* The debiased Sinkhorn divergence (src/eval/sinkhorn.c, issue 19) on values known by
 * derivation.  "geomloss mode" is max_extra = 0 (its finite epsilon-scaling schedule),
 * "converged" is max_extra > 0 (updates at blur^2 until the potentials stop moving). */
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "proxflow/core/rng.h"
#include "proxflow/eval/sinkhorn.h"
#include "testutil.h"

/* Inputs are pf_real: a float build rounds X + t, so Y is a translate of X only up
 * to float rounding (a relative perturbation of S of about 1e-7). */
#define TOL(dbl) (sizeof(pf_real) == sizeof(double) ? (dbl) : 1e-5)
/* "converged": every marginal error <= 1e-12 (mean |marginal / weight - 1|) within
 * CONV_ITERS sweeps.  Sinkhorn converges slowly where blur is near the points'
 * spacing (near-permutation plans with near ties: POT needs 2e5 iterations on the
 * 10-point grid below at blur 0.25), so the converged cases use blurs away from it. */
#define CONV_ITERS 5000
#define CONV_TOL 1e-12

static pf_real *cloud(int n, int d, uint64_t seed, double scale, double shift)
{
    pf_real *X = malloc(sizeof(pf_real) * (size_t)n * d);
    for (int i = 0; i < n; i++) {
        pf_stream s;
        pf_stream_init(&s, seed, 0, PF_RNG_SAMPLE, (uint64_t)i);
        for (int k = 0; k < d; k++) X[(size_t)i * d + k] = (pf_real)(shift + scale * pf_stream_normal(&s));
    }
    return X;
}

static double geom(const pf_real *X, int n, const pf_real *Y, int m, int d, double blur,
                   pf_sinkhorn_info *in)
{
    return pf_sinkhorn_divergence(X, n, Y, m, d, blur, 0.5, 0, 0, in);
}

static double conv(const pf_real *X, int n, const pf_real *Y, int m, int d, double blur,
                   pf_sinkhorn_info *in)
{
    return pf_sinkhorn_divergence(X, n, Y, m, d, blur, 0.5, CONV_ITERS, CONV_TOL, in);
}

/* S(a, a) = 0: with Y = X geomloss's a<->b potentials are computed by the same
 * operations as its a<->a and b<->b ones, so they are equal bit for bit and S is
 * exactly 0. */
static void test_self(void)
{
    const int n = 150, d = 3;
    pf_real *X = cloud(n, d, 1, 1.0, 0.0);
    pf_real *Y = malloc(sizeof(pf_real) * n * d);
    memcpy(Y, X, sizeof(pf_real) * n * d);
    pf_sinkhorn_info in;
    double s = geom(X, n, Y, n, d, 0.05, &in);
    CHECK(s == 0.0, "S(a, a) = %g, geomloss mode", s);
    CHECK(in.ot_xx > 0 && in.ot_xy == in.ot_xx, "OT(a,a) %g = OT(a,b) %g", in.ot_xx, in.ot_xy);
    /* the converged mode's extra sweeps alternate f_ba, g_ab but average f_aa: other
     * operations, so zero up to rounding of the OT terms (about 1) */
    s = pf_sinkhorn_divergence(X, n, Y, n, d, 0.05, 0.5, 50, 0, &in);
    CHECK(fabs(s) < 1e-13 && in.extra == 50, "S(a, a) = %g after %d more sweeps", s, in.extra);
    free(X);
    free(Y);
}

/* Two Dirac masses: the only plan is the product, OT_eps(dx, dy) = C(x, y) for any
 * eps and OT_eps(dx, dx) = 0, so S = |x - y|^2 / 2; with one point the iteration is
 * exact (f = g = C/2 after the first averaged update).  And the schedule: D = 5,
 * arange(2 ln 5, 2 ln 0.05, 2 ln 0.5) has ceil(log2(100)) = 7 values, plus D^2 and
 * blur^2. */
static void test_diracs(void)
{
    const pf_real x[2] = {0, 0}, y[2] = {3, 4};
    pf_sinkhorn_info in;
    double s = geom(x, 1, y, 1, 2, 0.05, &in);
    CHECK(s == 12.5, "S(d0, d(3,4)) = %.17g, expected 12.5", s);
    CHECK(in.n_eps == 9 && in.diameter == 5.0 && in.eps == 0.05 * 0.05, "schedule: %d epsilons, D %g",
          in.n_eps, in.diameter);
    /* scaling 0.1: arange has ceil(log10(100)) = 2 values (log10 100 = 2 exactly in
     * decimal, but the float quotient lands just above or below 2: accept 3 or 4) */
    pf_sinkhorn_divergence(x, 1, y, 1, 2, 0.05, 0.1, 0, 0, &in);
    CHECK(in.n_eps == 4 || in.n_eps == 5, "scaling 0.1: %d epsilons", in.n_eps);
    /* a diameter below blur: just [D^2, blur^2] */
    const pf_real yc[2] = {0.03, 0.04};
    s = geom(x, 1, yc, 1, 2, 0.05, &in);
    const double c = 0.5 * ((double)yc[0] * yc[0] + (double)yc[1] * yc[1]);
    CHECK(in.n_eps == 2 && fabs(s - c) < 1e-17, "D < blur: %d epsilons, S %.17g vs %.17g", in.n_eps, s, c);
}

/* A translation: Y = X + t.  With the cost C(x, y) = |x - y|^2 / 2,
 *   C(x_i, x_j + t) = C(x_i, x_j) - <x_i, t> + <x_j, t> + |t|^2 / 2,
 * a cost plus a function of x alone plus a function of y alone.  For any coupling pi
 * with marginals a and b those add <a, u> + <b, v>, whatever pi is, so the minimiser
 * of <pi, C> + eps KL(pi | a x b) is unchanged and
 *   OT_eps(a, a + t) = OT_eps(a, a) - <mean(a), t> + <mean(a), t> + |t|^2 / 2.
 * OT_eps(a + t, a + t) = OT_eps(a, a) (the cost only sees differences), so
 *   S_eps(a, a + t) = |t|^2 / 2  exactly, for every eps.
 * That holds at convergence.  geomloss's finite schedule does not start the (a, b)
 * potentials at the translated (a, a) ones (its first potentials are softmins
 * against the bare weights, which the translation tilts), so its value carries the
 * schedule's residual: measured 4.5e-8 relative in 2-D and 2.6e-16 in 7-D (points
 * far apart next to blur: near-permutation plans), bounded here by 1e-6.  The
 * converged case uses a blur of the order of the points' spacing, 0.5 in 2-D and 2 in
 * 7-D (fast convergence; the identity holds for every eps). */
static void test_translation(void)
{
    const int n = 200;
    const int dims[2] = {2, 7};
    for (int c = 0; c < 2; c++) {
        const int d = dims[c];
        pf_real *X = cloud(n, d, 3 + c, 1.0, 0.0), *Y = malloc(sizeof(pf_real) * n * d);
        double t2 = 0;
        for (int k = 0; k < d; k++) {
            const double t = 0.3 + 0.1 * k * (k % 2 ? -1 : 1);
            t2 += t * t;
            for (int i = 0; i < n; i++) Y[i * d + k] = (pf_real)(X[i * d + k] + t);
        }
        pf_sinkhorn_info in;
        const double cblur = d == 2 ? 0.5 : 2.0;
        double sc = conv(X, n, Y, n, d, cblur, &in);
        double sg = geom(X, n, Y, n, d, 0.05, NULL);
        printf("translation d=%d: |t|^2/2 = %.12f; blur %.1f converged %.12f (rel %.1e, %d sweeps); "
               "blur 0.05 geomloss mode %.12f (rel %.1e)\n", d, t2 / 2, cblur, sc, fabs(sc - t2 / 2) / (t2 / 2),
               in.extra, sg, fabs(sg - t2 / 2) / (t2 / 2));
        CHECK(in.extra < CONV_ITERS, "d=%d: converged in %d updates", d, in.extra);
        CHECK(pf_relerr(sc, t2 / 2, 1e-300) < TOL(1e-9), "d=%d: converged S %.15f vs |t|^2/2 %.15f",
              d, sc, t2 / 2);
        CHECK(pf_relerr(sg, t2 / 2, 1e-300) < TOL(1e-6), "d=%d: geomloss-mode S %.15f vs |t|^2/2 %.15f", d,
              sg, t2 / 2);
        free(X);
        free(Y);
    }
}

/* S(a, b) = S(b, a) bit for bit in geomloss mode: swapping the clouds swaps f_ba
 * with g_ab and f_aa with g_bb, computed by the same operations; n != m. */
static void test_symmetry(void)
{
    const int n = 120, m = 90, d = 4;
    pf_real *X = cloud(n, d, 5, 1.0, 0.0), *Y = cloud(m, d, 6, 1.3, 0.2);
    double ab = geom(X, n, Y, m, d, 0.05, NULL), ba = geom(Y, m, X, n, d, 0.05, NULL);
    CHECK(ab == ba, "S(a,b) %.17g != S(b,a) %.17g", ab, ba);
    /* the converged mode's extra sweeps update f_ba before g_ab: symmetric only up to
     * rounding (and the tolerance) */
    ab = conv(X, n, Y, m, d, 2.0, NULL);
    ba = conv(Y, m, X, n, d, 2.0, NULL);
    CHECK(fabs(ab - ba) < TOL(1e-12) * ab, "converged: S(a,b) %.17g vs S(b,a) %.17g", ab, ba);
    free(X);
    free(Y);
}

/* Positive for different clouds, and the thread count does not change a bit. */
static void test_positive_threads(void)
{
    const int n = 300, m = 250, d = 2;
    pf_real *X = cloud(n, d, 7, 1.0, 0.0), *Y = cloud(m, d, 8, 1.5, 0.0);
    const size_t saved = pf_omp_min;
    pf_omp_min = 0;
    omp_set_num_threads(1);
    double s1 = geom(X, n, Y, m, d, 0.05, NULL);
    omp_set_num_threads(3);
    double s3 = geom(X, n, Y, m, d, 0.05, NULL);
    omp_set_num_threads(1);
    pf_omp_min = saved;
    /* W2^2/2 of N(0, I) vs N(0, 2.25 I) in 2-D is (1.5 - 1)^2 = 0.25; the samples
     * scatter around that */
    CHECK(s1 > 0.1 && s1 < 0.5, "S of different clouds %g", s1);
    CHECK(s1 == s3, "1 thread %.17g vs 3 threads %.17g", s1, s3);
    free(X);
    free(Y);
}

/* blur -> 0: S_eps -> OT_0 = W2^2 / 2 for two clouds whose optimal plan is known:
 *  - 1-D, x_i = i, y_i = 0.37 + 1.2 i (i < 10): the sorted matching is optimal,
 *    W2^2 / 2 = mean (x_i - y_i)^2 / 2;
 *  - 2-D, a 4x4 grid g and y = 1.5 g (rows reversed): y = grad(0.75 |x|^2), the
 *    gradient of a convex function, is optimal (Brenier / cyclical monotonicity),
 *    W2^2 / 2 = mean |0.5 g|^2 / 2.
 * The optimal plans are permutations whose next best rivals cost about 1 more, so
 * below blur ~ 0.2 every other term is exp(-1 / blur^2)-small: S_eps equals W2^2/2 to
 * rounding, while blur 1 and 0.5 are visibly off (the entropic blur of the plans). */
static void test_blur_to_zero(void)
{
    const int n1 = 10, n2 = 16;
    pf_real x1[10], y1[10], x2[32], y2[32];
    double w1 = 0, w2 = 0;
    for (int i = 0; i < n1; i++) {
        x1[i] = (pf_real)i;
        y1[i] = (pf_real)(0.37 + 1.2 * i);
        w1 += ((double)y1[i] - x1[i]) * ((double)y1[i] - x1[i]);
    }
    w1 /= 2 * n1;
    for (int i = 0; i < n2; i++) {
        const double gx = i / 4 - 1.5, gy = i % 4 - 1.5;
        x2[2 * i] = (pf_real)gx, x2[2 * i + 1] = (pf_real)gy;
        y2[2 * (n2 - 1 - i)] = (pf_real)(1.5 * gx), y2[2 * (n2 - 1 - i) + 1] = (pf_real)(1.5 * gy);
        w2 += 0.25 * (gx * gx + gy * gy);
    }
    w2 /= 2 * n2;
    const double blurs[4] = {1, 0.5, 0.1, 0.05};
    for (int c = 0; c < 2; c++) {
        const pf_real *X = c ? x2 : x1, *Y = c ? y2 : y1;
        const int n = c ? n2 : n1, d = c + 1;
        const double w = c ? w2 : w1;
        for (int k = 0; k < 4; k++) {
            pf_sinkhorn_info in;
            double sg = geom(X, n, Y, n, d, blurs[k], NULL), sc = conv(X, n, Y, n, d, blurs[k], &in);
            double eg = fabs(sg - w) / w, ec = fabs(sc - w) / w;
            printf("%d-D, blur %.2f: W2^2/2 %.12f, converged %.12f (rel %.1e, %d sweeps), geomloss "
                   "mode %.12f (rel %.1e)\n", d, blurs[k], w, sc, ec, in.extra, sg, eg);
            if (blurs[k] > 0.2) {
                CHECK(eg > 1e-4 && ec > 1e-4, "%d-D blur %g: S already at W2^2/2?", d, blurs[k]);
                CHECK(eg < 0.05 && ec < 0.05, "%d-D blur %g: S %g / %g vs W2^2/2 %g", d, blurs[k], sg, sc, w);
            } else {
                CHECK(eg < TOL(1e-13) && ec < TOL(1e-13), "%d-D blur %g: S %.17g / %.17g vs W2^2/2 %.17g",
                      d, blurs[k], sg, sc, w);
            }
        }
    }
}

/* Bad input: NAN, never a number. */
static void test_errors(void)
{
    pf_real x[4] = {0, 0, 1, 1}, y[4] = {0, 1, 1, 0};
    CHECK(isnan(geom(x, 2, y, 2, 2, 0, NULL)), "blur 0");
    CHECK(isnan(pf_sinkhorn_divergence(x, 2, y, 2, 2, 0.05, 1.0, 0, 0, NULL)), "scaling 1");
    CHECK(isnan(geom(x, 0, y, 2, 2, 0.05, NULL)), "n = 0");
    y[3] = (pf_real)NAN;
    CHECK(isnan(geom(x, 2, y, 2, 2, 0.05, NULL)), "a NaN coordinate");
    y[3] = (pf_real)INFINITY;
    CHECK(isnan(geom(x, 2, y, 2, 2, 0.05, NULL)), "an infinite coordinate");
}

int main(int argc, char **argv)
{
    pf_test_init(&argc, &argv);
    omp_set_num_threads(1);
    test_self();
    test_diracs();
    test_translation();
    test_symmetry();
    test_positive_threads();
    test_blur_to_zero();
    test_errors();
    return pf_test_finish("test_sinkhorn");
}
