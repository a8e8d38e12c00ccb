/* Sample-quality metrics (SPEC §6.3). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "proxflow/eval/metrics.h"
#include "proxflow/core/rng.h"
#include "testutil.h"

#define PI 3.14159265358979323846
/* Inputs are pf_real: float builds round them. */
#define TOL(dbl) (sizeof(pf_real) == sizeof(double) ? (dbl) : 1e-5)

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void gauss_set(pf_real *X, int n, int d, uint64_t seed)
{
    for (int i = 0; i < n; i++) {
        pf_stream s;
        pf_stream_init(&s, seed, 0, PF_RNG_SAMPLE, (uint64_t)i);
        for (int r = 0; r < d; r++) X[i * d + r] = (pf_real)pf_stream_normal(&s);
    }
}

/* The directions pf_sliced_w1 uses (metrics.c): d normals of (seed, 0, METRIC, j). */
static double mean_abs_first_coord(int d, int n_proj, uint64_t seed)
{
    double sum = 0;
    for (int j = 0; j < n_proj; j++) {
        pf_stream s;
        pf_stream_init(&s, seed, 0, PF_RNG_METRIC, (uint64_t)j);
        double th[16], nrm = 0;
        for (int r = 0; r < d; r++) { th[r] = pf_stream_normal(&s); nrm += th[r] * th[r]; }
        sum += fabs(th[0]) / sqrt(nrm);
    }
    return sum / n_proj;
}

static void test_sliced_w1(void)
{
    const int n = 500, d = 2, np = 200;
    pf_real *X = malloc(n * d * sizeof *X), *Y = malloc(n * d * sizeof *Y);
    gauss_set(X, n, d, 1);
    CHECK(pf_sliced_w1(X, n, X, n, d, np, 7) == 0.0, "SW1(X, X) = 0");

    /* A shift c e1 moves every projection by c theta_1, and 1-D W1 of a shifted
     * measure is the shift: SW1 = |c| mean_j |theta_j1|. */
    const double cshift = 0.8;
    for (int i = 0; i < n; i++) { Y[i * d] = X[i * d] + cshift; Y[i * d + 1] = X[i * d + 1]; }
    double sw = pf_sliced_w1(X, n, Y, n, d, np, 7);
    double expect = cshift * mean_abs_first_coord(d, np, 7);
    CHECK(fabs(sw - expect) < TOL(1e-9), "shift: SW1 %.12f, expected %.12f", sw, expect);
    /* and E|theta_1| = 2/pi in 2-D: within a few standard errors (sd ~ 0.31) */
    CHECK(fabs(expect / cshift - 2 / PI) < 5 * 0.31 / sqrt(np), "E|cos| %g", expect / cshift);

    /* Deterministic in the seed, different seeds give other directions. */
    CHECK(pf_sliced_w1(X, n, Y, n, d, np, 7) == sw, "deterministic");
    CHECK(pf_sliced_w1(X, n, Y, n, d, np, 8) != sw, "seed matters");

    /* Two point masses at distance a along e1 in 2-D: a * mean |theta_1|. */
    pf_real p0[2] = {0, 0}, p1[2] = {1.5, 0};
    double w = pf_sliced_w1(p0, 1, p1, 1, 2, np, 3);
    CHECK(fabs(w - 1.5 * mean_abs_first_coord(2, np, 3)) < TOL(1e-12), "point masses %g", w);

    /* Sizes differ (1-D, directions are +-1 so W1 is the plain 1-D W1). */
    pf_real a1[1] = {0}, b2[2] = {0, 1};
    CHECK(fabs(pf_sliced_w1(a1, 1, b2, 2, 1, 5, 1) - 0.5) < 1e-15, "W1({0},{0,1}) = 1/2");
    pf_real a3[3] = {0, 1, 2}, b2b[2] = {0, 2};
    CHECK(fabs(pf_sliced_w1(a3, 3, b2b, 2, 1, 5, 1) - 1.0 / 3) < 1e-15, "W1 = 1/3");

    /* n != m against the replicated equal-size computation: replicate each x m times
     * and each y n times, then W1 = mean |sorted differences|. */
    const int nn = 13, mm = 7;
    double xs[13], ys[7], xr[91], yr[91];
    pf_real xa[13], ya[7];
    for (int i = 0; i < nn; i++) {
        pf_stream s;
        pf_stream_init(&s, 5, 0, PF_RNG_SAMPLE, (uint64_t)i);
        xs[i] = pf_stream_normal(&s);
        xa[i] = (pf_real)xs[i];
    }
    for (int i = 0; i < mm; i++) {
        pf_stream s;
        pf_stream_init(&s, 6, 0, PF_RNG_SAMPLE, (uint64_t)i);
        ys[i] = 0.5 + 2 * pf_stream_uniform(&s);
        ya[i] = (pf_real)ys[i];
    }
    for (int i = 0; i < nn * mm; i++) { xr[i] = xa[i / mm]; yr[i] = ya[i / nn]; }
    qsort(xr, nn * mm, sizeof *xr, cmp_d);
    qsort(yr, nn * mm, sizeof *yr, cmp_d);
    double ref = 0;
    for (int i = 0; i < nn * mm; i++) ref += fabs(xr[i] - yr[i]);
    ref /= nn * mm;
    double got = pf_sliced_w1(xa, nn, ya, mm, 1, 3, 9);
    CHECK(fabs(got - ref) < TOL(1e-12), "W1 n=13 m=7: %.15f vs %.15f", got, ref);
    free(X); free(Y);
}

static void test_mmd(void)
{
    const int n = 300, d = 3;
    pf_real *X = malloc(n * d * sizeof *X), *Y = malloc(n * d * sizeof *Y);
    gauss_set(X, n, d, 2);
    CHECK(fabs(pf_mmd2_gaussian(X, n, X, n, d, 1.0)) < 1e-12, "MMD(X, X) = 0 (bw 1)");
    CHECK(fabs(pf_mmd2_gaussian(X, n, X, n, d, 0.0)) < 1e-12, "MMD(X, X) = 0 (median)");
    double prev = 0;
    for (int k = 1; k <= 4; k++) {
        for (int i = 0; i < n * d; i++) Y[i] = X[i] + (i % d == 0 ? 0.5 * k : 0.0);
        double v = pf_mmd2_gaussian(X, n, Y, n, d, 0.0);
        CHECK(v > prev, "MMD grows with the shift: %g after %g", v, prev);
        prev = v;
    }
    /* single points: 2 - 2 exp(-a^2 / (2 bw^2)) */
    pf_real a[1] = {0}, b[1] = {1.3};
    double v = pf_mmd2_gaussian(a, 1, b, 1, 1, 0.7);
    double e = 2 - 2 * exp(-(double)b[0] * b[0] / (2 * 0.49));
    CHECK(fabs(v - e) < 1e-14, "MMD two points %g vs %g", v, e);
    /* median heuristic on {0, 1.3}: the only pair distance is the bandwidth */
    v = pf_mmd2_gaussian(a, 1, b, 1, 1, -1);
    CHECK(fabs(v - (2 - 2 * exp(-0.5))) < 1e-14, "median heuristic %g", v);
    free(X); free(Y);
}

static void test_straightness(void)
{
    const int nt = 4, n = 3, d = 2;
    pf_real traj[(4 + 1) * 3 * 2];
    /* samples 0, 1: straight lines with uneven steps; sample 2: an L-shaped path */
    const double fr[5] = {0, 0.1, 0.5, 0.6, 1.0};
    for (int k = 0; k <= nt; k++) {
        pf_real *t = traj + (size_t)k * n * d;
        t[0] = (pf_real)(1 + 2 * fr[k]); t[1] = (pf_real)(-1 + 3 * fr[k]);
        t[2] = (pf_real)(-4 * fr[k]);    t[3] = 0;
        t[4] = (pf_real)(k <= 2 ? k * 0.5 : 1.0);
        t[5] = (pf_real)(k <= 2 ? 0.0 : (k - 2) * 0.5);
    }
    double s = pf_straightness(traj, nt, n, d);
    double expect = (1 + 1 + sqrt(2.0) / 2) / 3;
    CHECK(fabs(s - expect) < TOL(1e-12), "straightness %g vs %g", s, expect);

    pf_real line[3 * 1 * 2] = {0, 0, 1, 1, 3, 3};
    CHECK(fabs(pf_straightness(line, 2, 1, 2) - 1) < TOL(1e-15), "straight line = 1");
    pf_real bent[3 * 1 * 2] = {0, 0, 1, 0, 1, 1};
    double b = pf_straightness(bent, 2, 1, 2);
    CHECK(b < 1 && fabs(b - sqrt(2.0) / 2) < TOL(1e-15), "bent path %g", b);
    pf_real still[2 * 1 * 2] = {2, 2, 2, 2};
    CHECK(pf_straightness(still, 1, 1, 2) == 1.0, "a point that does not move counts as 1");
}

static void test_differences(void)
{
    pf_real A[6] = {0, 1, 2, 3, 4, 5}, B[6] = {1, 1, 2, 1, 4, 8};
    /* differences -1 0 0 2 0 -3: squares 1+4+9 = 14, abs 1+2+3 = 6 */
    CHECK(fabs(pf_rms_difference(A, B, 3, 2) - sqrt(14.0 / 6)) < 1e-15, "rms");
    CHECK(fabs(pf_mean_abs_difference(A, B, 2, 3) - 1.0) < 1e-15, "mean abs");
    CHECK(pf_rms_difference(A, A, 3, 2) == 0 && pf_mean_abs_difference(A, A, 3, 2) == 0,
          "zero on equal sets");
}

int main(int argc, char **argv)
{
    pf_test_init(&argc, &argv);
    test_sliced_w1();
    test_mmd();
    test_straightness();
    test_differences();
    return pf_test_finish("test_metrics");
}
