/* pf_vtanh / pf_vtanh_d1d2 (src/nn/vmath.c) against libm, in the build's precision:
 *  - max error in ulps of the exact value (reference: tanhl for double, tanh for float)
 *    over a dense grid of [-25, 25], a log grid from the smallest denormal to 1e30 (both
 *    signs), random bit patterns, the switch-over points and the specials; the bound
 *    (3 ulp) is the one include/proxflow/nn/vmath.h states;
 *  - tanh(+-0) = +-0 (sign kept), tanh(+-inf) = +-1, NaN -> NaN, |tanh| <= 1, odd;
 *  - the same result for an element wherever it sits in an array (vector body or tail);
 *  - d1d2: s as pf_vtanh, ds = 1 - s^2, d2s = -2 s ds, and ds, d2s against central
 *    finite differences of s and ds;
 *  - the clone the CPU picks (x86-64-v4 / AVX2 / default, src/nn/vmath.c) gives the same
 *    bits as the baseline build of the same file (compiled again with PF_NO_CLONES and
 *    renamed *_base, tests/CMakeLists.txt), on 4 M arguments. */
#include "proxflow/nn/vmath.h"
#include "testutil.h"

#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* src/nn/vmath.c built for the baseline ISA only (tests/CMakeLists.txt: pf_vmath_base) */
void pf_vtanh_base(int n, const pf_real *x, pf_real *y);
void pf_vtanh_d1_base(int n, const pf_real *z, pf_real *s, pf_real *ds);
void pf_vtanh_d1d2_base(int n, const pf_real *z, pf_real *s, pf_real *ds, pf_real *d2s);

static const char *cpu_level(void)
{
#if defined(__x86_64__) && defined(__GNUC__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl"))
        return "x86-64-v4 (AVX-512)";
    if (__builtin_cpu_supports("avx2")) return "AVX2";
#endif
    return "baseline";
}

/* Every output of the three entry points, dispatched vs baseline, bit for bit. */
static void check_clone_bits(void)
{
    const int n = 1 << 22;
    pf_real *x = malloc(sizeof(pf_real) * n), *o[6];
    for (int k = 0; k < 6; k++) o[k] = malloc(sizeof(pf_real) * n);
    uint64_t s = 987654321;
    for (int j = 0; j < n; j++) {
        s = s * 6364136223846793005ULL + 1442695040888963407ULL;
        const double u = (double)(s >> 11) / 9007199254740992.0;
        if (j % 4 == 0) { /* raw bit patterns: every exponent, infinities, NaNs */
            memcpy(&x[j], &s, sizeof(pf_real));
        } else {
            x[j] = (pf_real)((u - 0.5) * (j % 3 ? 6 : 50));
        }
    }
    int diff = 0;
    pf_vtanh(n, x, o[0]);
    pf_vtanh_base(n, x, o[1]);
    diff += memcmp(o[0], o[1], sizeof(pf_real) * n) != 0;
    pf_vtanh_d1(n, x, o[0], o[2]);
    pf_vtanh_d1_base(n, x, o[1], o[3]);
    diff += memcmp(o[0], o[1], sizeof(pf_real) * n) != 0 || memcmp(o[2], o[3], sizeof(pf_real) * n) != 0;
    pf_vtanh_d1d2(n, x, o[0], o[2], o[4]);
    pf_vtanh_d1d2_base(n, x, o[1], o[3], o[5]);
    diff += memcmp(o[0], o[1], sizeof(pf_real) * n) != 0 || memcmp(o[2], o[3], sizeof(pf_real) * n) != 0 ||
            memcmp(o[4], o[5], sizeof(pf_real) * n) != 0;
    printf("clone for this CPU (%s) vs baseline build: %s on %d arguments\n", cpu_level(),
           diff ? "DIFFERENT bits" : "identical bits", n);
    CHECK(diff == 0, "%d of 3 entry points give other bits than the baseline build", diff);
    free(x);
    for (int k = 0; k < 6; k++) free(o[k]);
}

#ifdef PF_USE_FLOAT
#define MAX_ULP 3.0
#define REAL_MIN_DENORM 1.40129846e-45f
#else
#define MAX_ULP 3.0
#define REAL_MIN_DENORM 4.9406564584124654e-324
#endif

/* The exact tanh (to well below one ulp of pf_real) and its ulp in pf_real. */
static long double ref_tanh(pf_real x)
{
#ifdef PF_USE_FLOAT
    return (long double)tanh((double)x);
#else
    return tanhl((long double)x);
#endif
}

static double ulp_of(long double r)
{
    const int mant = sizeof(pf_real) == 4 ? FLT_MANT_DIG : DBL_MANT_DIG;
    const int emin = sizeof(pf_real) == 4 ? FLT_MIN_EXP : DBL_MIN_EXP;
    int e;
    frexpl(fabsl(r), &e);
    if (r == 0 || e < emin) e = emin; /* denormal range: fixed spacing */
    return (double)ldexpl(1.0L, e - mant);
}

static double worst = 0, worst_x = 0;

static void check_block(const pf_real *x, int n)
{
    pf_real *y = malloc(sizeof(pf_real) * (size_t)n);
    pf_vtanh(n, x, y);
    int bad = 0;
    for (int j = 0; j < n; j++) {
        if (isnan(x[j])) {
            if (!isnan(y[j])) bad++;
            continue;
        }
        const long double r = ref_tanh(x[j]);
        const double e = (double)(fabsl((long double)y[j] - r) / ulp_of(r));
        if (e > worst) worst = e, worst_x = x[j];
        if (!(fabs((double)y[j]) <= 1)) bad++;
    }
    CHECK(bad == 0, "%d NaN/|tanh| > 1 errors", bad);
    free(y);
}

int main(int argc, char **argv)
{
    pf_test_init(&argc, &argv);
    const int M = 1 << 20;
    pf_real *x = malloc(sizeof(pf_real) * M);

    /* dense grid of [-25, 25] */
    for (int j = 0; j < M; j++) x[j] = (pf_real)(-25 + 50.0 * j / (M - 1));
    check_block(x, M);
    double w_dense = worst;
    /* log grid |x| from the smallest denormal to 1e30, both signs */
    const double l0 = log((double)REAL_MIN_DENORM), l1 = log(1e30);
    for (int j = 0; j < M; j++) {
        double a = exp(l0 + (l1 - l0) * (j / 2) / (M / 2 - 1));
        x[j] = (pf_real)(j % 2 ? -a : a);
    }
    check_block(x, M);
    /* random bit patterns (every exponent; includes infinities and NaNs) */
    uint64_t s = 12345;
    for (int j = 0; j < M; j++) {
        s = s * 6364136223846793005ULL + 1442695040888963407ULL;
        if (sizeof(pf_real) == 4) {
            uint32_t b = (uint32_t)(s >> 32);
            memcpy(&x[j], &b, 4);
        } else {
            uint64_t b = s ^ (s >> 29);
            memcpy(&x[j], &b, sizeof(pf_real));
        }
    }
    check_block(x, M);
    /* around the internal switch points: k changes at multiples of ln2/2 (for 2x), and
     * the tanh = 1 threshold (9 in float, 19.1 in double) */
    int m = 0;
    for (int k = 1; k < 60; k++)
        for (int q = -50; q <= 50; q++) x[m++] = (pf_real)(k * 0.34657359027997264 + q * 1e-7);
    for (int q = -5000; q <= 5000; q++) x[m++] = (pf_real)(9.0 + q * 1e-6), x[m++] = (pf_real)(19.1 + q * 1e-6);
    check_block(x, m);
    printf("pf_vtanh (%s): max %.3f ulp (at x = %.17g); dense [-25,25] grid %.3f ulp\n",
           PF_REAL_NAME, worst, worst_x, w_dense);
    CHECK(worst <= MAX_ULP, "max error %.3f ulp at x = %.17g (bound %.1f)", worst, worst_x, MAX_ULP);

    /* specials */
    const pf_real sp[] = {0, -0.0, INFINITY, -INFINITY, NAN, REAL_MIN_DENORM, -REAL_MIN_DENORM,
                          (pf_real)1e-30, (pf_real)-1e-30};
    pf_real ys[9];
    pf_vtanh(9, sp, ys);
    CHECK(ys[0] == 0 && !signbit(ys[0]), "tanh(+0) = %g", (double)ys[0]);
    CHECK(ys[1] == 0 && signbit(ys[1]), "tanh(-0) = %g (sign lost)", (double)ys[1]);
    CHECK(ys[2] == 1 && ys[3] == -1, "tanh(+-inf) = %g %g", (double)ys[2], (double)ys[3]);
    CHECK(isnan(ys[4]), "tanh(NaN) = %g", (double)ys[4]);
    CHECK(ys[5] == sp[5] && ys[6] == sp[6], "denormal: tanh(x) = %g, expected x", (double)ys[5]);
    CHECK(ys[7] == sp[7] && ys[8] == sp[8], "tanh(1e-30) = %g", (double)ys[7]);

    /* odd symmetry, and independence of the position in the array (vector body/tail) */
    const int n = 1001;
    pf_real *a = malloc(sizeof(pf_real) * n), *b = malloc(sizeof(pf_real) * n);
    pf_real *ya = malloc(sizeof(pf_real) * n), *yb = malloc(sizeof(pf_real) * n);
    for (int j = 0; j < n; j++) a[j] = (pf_real)(-7 + 14.0 * j / (n - 1)), b[j] = -a[j];
    pf_vtanh(n, a, ya);
    pf_vtanh(n, b, yb);
    int asym = 0, pos = 0;
    for (int j = 0; j < n; j++) asym += ya[j] != -yb[j];
    for (int j = 0; j < n; j++) {
        pf_real one;
        pf_vtanh(1, a + j, &one);
        pos += memcmp(&one, &ya[j], sizeof one) != 0;
    }
    pf_vtanh(n - 3, a + 3, yb); /* shifted start: other alignment, other tail */
    for (int j = 3; j < n; j++) pos += memcmp(&yb[j - 3], &ya[j], sizeof(pf_real)) != 0;
    CHECK(asym == 0, "%d elements break tanh(-x) = -tanh(x)", asym);
    CHECK(pos == 0, "%d elements depend on their position in the array", pos);

    /* d1d2: values, identities, and derivatives against finite differences */
    pf_real *s1 = malloc(sizeof(pf_real) * n), *d1 = malloc(sizeof(pf_real) * n),
            *d2 = malloc(sizeof(pf_real) * n);
    pf_vtanh_d1d2(n, a, s1, d1, d2);
    int same = 0, ident = 0;
    for (int j = 0; j < n; j++) {
        same += memcmp(&s1[j], &ya[j], sizeof(pf_real)) != 0;
        const pf_real q = 1 - s1[j] * s1[j];
        ident += d1[j] != q || d2[j] != -2 * s1[j] * q;
    }
    CHECK(same == 0, "%d values of pf_vtanh_d1d2 differ from pf_vtanh", same);
    CHECK(ident == 0, "%d derivative entries are not 1 - s^2, -2 s (1 - s^2)", ident);
    const double hfd = sizeof(pf_real) == 4 ? 1e-2 : 1e-5, tol = sizeof(pf_real) == 4 ? 2e-3 : 1e-8;
    double efd = 0;
    for (int j = 0; j < n; j += 7) {
        const pf_real z[2] = {(pf_real)(a[j] + hfd), (pf_real)(a[j] - hfd)};
        pf_real sz[2], dz[2], ddz[2];
        pf_vtanh_d1d2(2, z, sz, dz, ddz);
        const double h2 = (double)z[0] - (double)z[1];
        efd = fmax(efd, fabs(((double)sz[0] - sz[1]) / h2 - d1[j]));
        efd = fmax(efd, fabs(((double)dz[0] - dz[1]) / h2 - d2[j]));
    }
    printf("d1d2 vs central differences: max abs error %.3g (h = %g)\n", efd, hfd);
    CHECK(efd < tol, "derivatives vs finite differences: %.3g (tolerance %g)", efd, tol);

    check_clone_bits();

    free(x), free(a), free(b), free(ya), free(yb), free(s1), free(d1), free(d2);
    return pf_test_finish("test_vmath");
}
