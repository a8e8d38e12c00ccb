/* src/nn/vmath.c against libm, in the build's precision (issues 7 and 15):
 *  - max error in ulps of the exact value (reference: long double expl / log1pl / tanhl
 *    for double, the double functions for float) of tanh, exp, log1p, sigmoid, softplus
 *    and silu over dense grids of [-25, 25], [-800, 800] and [-1, 3], a log grid from the
 *    smallest denormal to the largest finite number (both signs), random bit patterns
 *    and the switch-over points of the kernels (reduction steps, clamps, overflow,
 *    underflow and denormal onsets); the bounds are the ones include/proxflow/nn/vmath.h
 *    states; softplus'' and the SiLU derivatives are measured the same way;
 *  - specials: +-0 (signs), +-inf, NaN -> NaN for every function and derivative;
 *  - the identities between entry points (tanh d1d2 = 1 - s^2 ..., softplus' = the bits
 *    of pf_vsigmoid, _d1 / _d1d2 / _d2 agree bit for bit) and ReLU bit for bit as net.c
 *    computed it before (z > 0 ? z : 0), -0 and NaN included;
 *  - the derivatives against central finite differences;
 *  - the same result for an element wherever it sits in an array (vector body or tail),
 *    for every entry point;
 *  - the clone the CPU picks (x86-64-v4 / AVX2 / default, src/nn/vmath.c) gives the same
 *    bits as the baseline build of the same file (compiled again with PF_NO_CLONES and
 *    renamed *_base, tests/CMakeLists.txt), on 4 M arguments, for every entry point. */
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
void pf_vexp_base(int n, const pf_real *x, pf_real *y);
void pf_vlog1p_base(int n, const pf_real *x, pf_real *y);
void pf_vsigmoid_base(int n, const pf_real *x, pf_real *y);
void pf_vsoftplus_d1_base(int n, const pf_real *z, pf_real *s, pf_real *ds);
void pf_vsoftplus_d1d2_base(int n, const pf_real *z, pf_real *s, pf_real *ds, pf_real *d2s);
void pf_vsoftplus_d2_base(int n, const pf_real *z, pf_real *d2s);
void pf_vsilu_d1_base(int n, const pf_real *z, pf_real *s, pf_real *ds);
void pf_vsilu_d1d2_base(int n, const pf_real *z, pf_real *s, pf_real *ds, pf_real *d2s);
void pf_vsilu_d2_base(int n, const pf_real *z, pf_real *d2s);
void pf_vrelu_d1_base(int n, const pf_real *z, pf_real *s, pf_real *ds);
void pf_vrelu_d1d2_base(int n, const pf_real *z, pf_real *s, pf_real *ds, pf_real *d2s);

/* Bit for bit, except that any NaN equals any NaN: which operand's NaN (sign, payload)
 * an operation passes on depends on the operand order the compiler picked. */
static int same_bits(pf_real a, pf_real b) { return memcmp(&a, &b, sizeof a) == 0 || (isnan(a) && isnan(b)); }

static int differ(const pf_real *a, const pf_real *b, int n)
{
    for (int j = 0; j < n; j++)
        if (!same_bits(a[j], b[j])) return j + 1;
    return 0;
}

typedef void (*fn1)(int, const pf_real *, pf_real *);
typedef void (*fn2)(int, const pf_real *, pf_real *, pf_real *);
typedef void (*fn3)(int, const pf_real *, pf_real *, pf_real *, pf_real *);

/* Every entry point, as dispatched and as the baseline build; nout outputs. */
typedef struct {
    const char *name;
    int nout;
    void (*f)(void), (*base)(void);
} entry;

#define E1(nm) {#nm, 1, (void (*)(void))nm, (void (*)(void))nm##_base}
#define E2(nm) {#nm, 2, (void (*)(void))nm, (void (*)(void))nm##_base}
#define E3(nm) {#nm, 3, (void (*)(void))nm, (void (*)(void))nm##_base}
static const entry entries[] = {
    E1(pf_vtanh),        E2(pf_vtanh_d1),        E3(pf_vtanh_d1d2),   E1(pf_vexp),
    E1(pf_vlog1p),       E1(pf_vsigmoid),        E2(pf_vsoftplus_d1), E3(pf_vsoftplus_d1d2),
    E1(pf_vsoftplus_d2), E2(pf_vsilu_d1),        E3(pf_vsilu_d1d2),   E1(pf_vsilu_d2),
    E2(pf_vrelu_d1),     E3(pf_vrelu_d1d2)};
#define N_ENTRIES ((int)(sizeof entries / sizeof entries[0]))

static void call(const entry *e, int base, int n, const pf_real *x, pf_real **o)
{
    void (*f)(void) = base ? e->base : e->f;
    if (e->nout == 1) ((fn1)f)(n, x, o[0]);
    else if (e->nout == 2) ((fn2)f)(n, x, o[0], o[1]);
    else ((fn3)f)(n, x, o[0], o[1], o[2]);
}

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

/* Every output of every entry point, dispatched vs baseline, bit for bit. */
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
            x[j] = (pf_real)((u - 0.5) * (j % 3 == 0 ? 1600 : j % 3 == 1 ? 6 : 50));
        }
    }
    int diff = 0;
    for (int e = 0; e < N_ENTRIES; e++) {
        call(&entries[e], 0, n, x, o);
        call(&entries[e], 1, n, x, o + 3);
        int d = 0;
        for (int k = 0; k < entries[e].nout; k++) {
            const int j = differ(o[k], o[k + 3], n) - 1;
            if (j < 0) continue;
            d++;
            fprintf(stderr, "  %s output %d: first difference at x = %.17g: %.17g vs %.17g (baseline)\n",
                    entries[e].name, k, (double)x[j], (double)o[k][j], (double)o[k + 3][j]);
        }
        if (d) fprintf(stderr, "  %s: %d outputs differ from the baseline build\n", entries[e].name, d);
        diff += d != 0;
    }
    printf("clone for this CPU (%s) vs baseline build: %s on %d arguments, %d entry points\n", cpu_level(),
           diff ? "DIFFERENT bits" : "identical bits", n, N_ENTRIES);
    CHECK(diff == 0, "%d of %d entry points give other bits than the baseline build", diff, N_ENTRIES);
    free(x);
    for (int k = 0; k < 6; k++) free(o[k]);
}

/* Every entry point gives an element the same bits alone, in a long array, and in an
 * array that starts 3 elements later (other alignment, other tail). */
static void check_positions(void)
{
    const int n = 1001;
    pf_real *a = malloc(sizeof(pf_real) * n), *o[6];
    for (int k = 0; k < 6; k++) o[k] = malloc(sizeof(pf_real) * n);
    for (int j = 0; j < n; j++) a[j] = (pf_real)(-9 + 18.0 * j / (n - 1));
    a[0] = (pf_real)-800, a[1] = (pf_real)-740, a[2] = (pf_real)-100, a[n - 1] = (pf_real)740;
    a[3] = NAN, a[4] = INFINITY, a[5] = -INFINITY, a[6] = (pf_real)-0.0, a[7] = (pf_real)-745;
    for (int e = 0; e < N_ENTRIES; e++) {
        call(&entries[e], 0, n, a, o);
        int pos = 0;
        for (int j = 0; j < n; j++) {
            pf_real one[3], *po[3] = {&one[0], &one[1], &one[2]};
            call(&entries[e], 0, 1, a + j, po);
            for (int k = 0; k < entries[e].nout; k++) pos += !same_bits(one[k], o[k][j]);
        }
        call(&entries[e], 0, n - 3, a + 3, o + 3);
        for (int k = 0; k < entries[e].nout; k++)
            for (int j = 3; j < n; j++) pos += !same_bits(o[k + 3][j - 3], o[k][j]);
        CHECK(pos == 0, "%s: %d outputs depend on the element's position in the array", entries[e].name, pos);
    }
    free(a);
    for (int k = 0; k < 6; k++) free(o[k]);
}

/* ---- references and ulps ------------------------------------------------------------ */

#ifdef PF_USE_FLOAT
#define REAL_MIN_DENORM 1.40129846e-45f
#define REAL_MAX FLT_MAX
#define R_EXP(x) exp((double)(x))
#define R_LOG1P(x) log1p((double)(x))
#define R_TANH(x) tanh((double)(x))
#else
#define REAL_MIN_DENORM 4.9406564584124654e-324
#define REAL_MAX DBL_MAX
#define R_EXP(x) expl(x)
#define R_LOG1P(x) log1pl(x)
#define R_TANH(x) tanhl(x)
#endif

/* The exact functions to well below one ulp of pf_real (long double for double, double
 * for float). */
static long double ref_tanh(long double x) { return R_TANH(x); }
static long double ref_exp(long double x) { return R_EXP(x); }
static long double ref_log1p(long double x) { return R_LOG1P(x); }
static long double ref_sigmoid(long double x) { return 1 / (1 + R_EXP(-x)); }
static long double ref_softplus(long double x) { return x > 0 ? x + R_LOG1P(R_EXP(-x)) : R_LOG1P(R_EXP(x)); }
static long double ref_silu(long double x) { return x / (1 + R_EXP(-x)); }
/* sig (1 - sig) = e^-|x| / (1 + e^-|x|)^2 */
static long double ref_q(long double x)
{
    const long double u = R_EXP(-fabsl(x));
    return u / ((1 + u) * (1 + u));
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

/* Error of y in ulps of the reference r: NaN must give NaN, a reference that rounds to
 * +-inf must give that infinity (0 ulp then, INFINITY otherwise). */
static double ulp_err(pf_real y, long double r)
{
    if (isnan(r)) return isnan(y) ? 0 : INFINITY;
    const pf_real rr = (pf_real)r;
    if (isinf(rr) || isinf(y)) return y == rr ? 0 : INFINITY;
    if (isnan(y)) return INFINITY;
    return (double)(fabsl((long double)y - r) / ulp_of(r));
}

/* softplus, silu values and softplus'' through their layer entry points */
static pf_real *scratch[2];
static void softplus_val(int n, const pf_real *x, pf_real *y) { pf_vsoftplus_d1(n, x, y, scratch[0]); }
static void silu_val(int n, const pf_real *x, pf_real *y) { pf_vsilu_d1(n, x, y, scratch[0]); }

typedef struct {
    const char *name;
    fn1 f;
    long double (*ref)(long double);
    double bound; /* include/proxflow/nn/vmath.h */
    double worst, worst_x;
} target;

/* The bounds (in ulps) include/proxflow/nn/vmath.h states; measured maxima there. */
#ifdef PF_USE_FLOAT
enum { B_TANH = 30, B_EXP = 10, B_LOG1P = 10, B_SIG = 25, B_SOFTPLUS = 20, B_SILU = 35, B_Q = 45, B_SILU1 = 45,
       B_SILU2 = 60 };
#else
enum { B_TANH = 30, B_EXP = 10, B_LOG1P = 10, B_SIG = 25, B_SOFTPLUS = 20, B_SILU = 30, B_Q = 45, B_SILU1 = 45,
       B_SILU2 = 60 };
#endif
static target targets[] = {
    {"tanh", pf_vtanh, ref_tanh, B_TANH / 10.0, 0, 0},
    {"exp", pf_vexp, ref_exp, B_EXP / 10.0, 0, 0},
    {"log1p", pf_vlog1p, ref_log1p, B_LOG1P / 10.0, 0, 0},
    {"sigmoid", pf_vsigmoid, ref_sigmoid, B_SIG / 10.0, 0, 0},
    {"softplus", softplus_val, ref_softplus, B_SOFTPLUS / 10.0, 0, 0},
    {"silu", silu_val, ref_silu, B_SILU / 10.0, 0, 0},
    {"softplus''", pf_vsoftplus_d2, ref_q, B_Q / 10.0, 0, 0}};
#define N_TARGETS ((int)(sizeof targets / sizeof targets[0]))

/* SiLU's derivatives have zeros (s' at z = -1.28, s'' at +-2.4), where no formula keeps
 * a relative error: their error is measured in ulps of the larger of the terms they
 * sum, sig and |z| sig (1 - sig) for s', 2 q and |z| q |1 - 2 sig| for s''. */
#define SILU1_BOUND (B_SILU1 / 10.0)
#define SILU2_BOUND (B_SILU2 / 10.0)
static double worst_silu1 = 0, worst_silu1_x = 0, worst_silu2 = 0, worst_silu2_x = 0;
static int silu_nan_bad = 0;

static void check_silu_derivatives(const pf_real *x, int n)
{
    pf_real *s = malloc(sizeof(pf_real) * n), *d1 = malloc(sizeof(pf_real) * n), *d2 = malloc(sizeof(pf_real) * n);
    pf_vsilu_d1d2(n, x, s, d1, d2);
    for (int j = 0; j < n; j++) {
        const long double z = x[j];
        if (isnan(z)) {
            silu_nan_bad += !isnan(d1[j]) || !isnan(d2[j]);
            continue;
        }
        if (isinf(z)) continue; /* the specials below */
        const long double sig = ref_sigmoid(z), q = ref_q(z);
        const long double r1 = sig + z * q, r2 = q * (2 + z * (1 - 2 * sig));
        const long double m1 = fmaxl(sig, fabsl(z) * q), m2 = fmaxl(2 * q, fabsl(z) * q * fabsl(1 - 2 * sig));
        const double e1 = isfinite(d1[j]) ? (double)(fabsl(d1[j] - r1) / ulp_of(m1)) : INFINITY;
        const double e2 = isfinite(d2[j]) ? (double)(fabsl(d2[j] - r2) / ulp_of(m2)) : INFINITY;
        if (e1 > worst_silu1) worst_silu1 = e1, worst_silu1_x = x[j];
        if (e2 > worst_silu2) worst_silu2 = e2, worst_silu2_x = x[j];
    }
    free(s), free(d1), free(d2);
}

static void check_block(const pf_real *x, int n)
{
    pf_real *y = malloc(sizeof(pf_real) * (size_t)n);
    scratch[0] = malloc(sizeof(pf_real) * (size_t)n);
    for (int t = 0; t < N_TARGETS; t++) {
        targets[t].f(n, x, y);
        for (int j = 0; j < n; j++) {
            const double e = ulp_err(y[j], targets[t].ref(x[j]));
            if (e > targets[t].worst || isnan(e)) targets[t].worst = e, targets[t].worst_x = x[j];
        }
    }
    check_silu_derivatives(x, n);
    free(y), free(scratch[0]);
}

/* ---- the argument sets --------------------------------------------------------------- */

static int add_around(pf_real *x, int m, double c, int ulps, int steps, double rel)
{
    pf_real v = (pf_real)c, lo = v, hi = v;
    x[m++] = v;
    for (int k = 0; k < ulps; k++) {
        lo = sizeof(pf_real) == 4 ? (pf_real)nextafterf((float)lo, -INFINITY) : (pf_real)nextafter(lo, -INFINITY);
        hi = sizeof(pf_real) == 4 ? (pf_real)nextafterf((float)hi, INFINITY) : (pf_real)nextafter(hi, INFINITY);
        x[m++] = lo, x[m++] = hi;
    }
    for (int q = -steps; q <= steps; q++) x[m++] = (pf_real)(c * (1 + q * rel) + q * rel);
    return m;
}

static void run_grids(void)
{
    const int M = 1 << 20;
    pf_real *x = malloc(sizeof(pf_real) * M * 2);
    /* dense grids */
    for (int j = 0; j < M; j++) x[j] = (pf_real)(-25 + 50.0 * j / (M - 1));
    check_block(x, M);
    const double w_dense = targets[0].worst;
    for (int j = 0; j < M; j++) x[j] = (pf_real)(-800 + 1600.0 * j / (M - 1));
    check_block(x, M);
    for (int j = 0; j < M; j++) x[j] = (pf_real)(-1 + 4.0 * j / (M - 1));
    check_block(x, M);
    /* log grid |x| from the smallest denormal to the largest number, both signs */
    const double l0 = log((double)REAL_MIN_DENORM), l1 = log((double)REAL_MAX);
    for (int j = 0; j < M; j++) {
        double a = exp(l0 + (l1 - l0) * (j / 2) / (M / 2 - 1));
        x[j] = (pf_real)(j % 2 ? -a : a);
    }
    x[M - 1] = -REAL_MAX, x[M - 2] = REAL_MAX;
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
    /* switch-over points: exp's k changes at (k + 1/2) ln2 and tanh's at its half; the
     * clamps and the overflow / underflow / denormal onsets of exp, sigmoid, softplus,
     * silu; tanh = 1; log1p's w = 1 + x crossing sqrt(1/2) 2^m and its Fast2Sum order
     * switch at x = 1; x near -1 */
    const double ln2 = 0.69314718055994531;
    const int kmax = sizeof(pf_real) == 4 ? 130 : 1030, kmin = sizeof(pf_real) == 4 ? -175 : -1100;
    int m = 0;
    for (int k = kmin; k <= kmax; k++) {
        m = add_around(x, m, (k + 0.5) * ln2, 4, 3, 1e-7);
        m = add_around(x, m, (k + 0.5) * ln2 / 2, 2, 0, 0);
    }
    const double thr[] = {9.0, 19.1, 709.782712893384, 710, -708.3964185322641, -745.1332191019412, -751.5, -760,
                          88.72283935546875, 89, -87.33654475055310, -103.97207708, -108.5, -112, 36.7, 17.33, 0};
    for (int k = 0; k < (int)(sizeof thr / sizeof thr[0]); k++) {
        m = add_around(x, m, thr[k], 40, 500, 1e-6);
        m = add_around(x, m, -thr[k], 40, 500, 1e-6);
    }
    const int emax = sizeof(pf_real) == 4 ? 128 : 1024;
    for (int e = -60; e <= emax; e++) m = add_around(x, m, ldexp(0.70710678118654752, e) - 1, 4, 2, 1e-7);
    m = add_around(x, m, 1, 40, 100, 1e-7);
    m = add_around(x, m, -1, 40, 100, 1e-9);
    m = add_around(x, m, 0x1p53, 8, 0, 0);
    m = add_around(x, m, 0x1p24, 8, 0, 0);
    if (m > 2 * M) pf_die("switch-point set too large: %d", m);
    check_block(x, m);
    printf("%d switch-point arguments; tanh on the dense [-25,25] grid %.3f ulp\n", m, w_dense);
    free(x);
    for (int t = 0; t < N_TARGETS; t++) {
        printf("  %-11s (%s): max %.3f ulp (at x = %.17g), bound %.1f\n", targets[t].name, PF_REAL_NAME,
               targets[t].worst, targets[t].worst_x, targets[t].bound);
        CHECK(targets[t].worst <= targets[t].bound, "%s: max error %.3f ulp at x = %.17g (bound %.1f)",
              targets[t].name, targets[t].worst, targets[t].worst_x, targets[t].bound);
    }
    printf("  silu'       (%s): max %.3f ulp of its larger term (at x = %.17g), bound %.1f\n", PF_REAL_NAME,
           worst_silu1, worst_silu1_x, SILU1_BOUND);
    printf("  silu''      (%s): max %.3f ulp of its larger term (at x = %.17g), bound %.1f\n", PF_REAL_NAME,
           worst_silu2, worst_silu2_x, SILU2_BOUND);
    CHECK(worst_silu1 <= SILU1_BOUND, "silu': %.3f ulp of its larger term at %.17g", worst_silu1, worst_silu1_x);
    CHECK(silu_nan_bad == 0, "%d NaN arguments without NaN silu' / silu''", silu_nan_bad);
    CHECK(worst_silu2 <= SILU2_BOUND, "silu'': %.3f ulp of its larger term at %.17g", worst_silu2, worst_silu2_x);
}

/* ---- specials, identities, finite differences -------------------------------------- */


static void check_specials(void)
{
    const pf_real sp[] = {0, -0.0, INFINITY, -INFINITY, NAN, REAL_MIN_DENORM, -REAL_MIN_DENORM,
                          (pf_real)1e-30, (pf_real)-1e-30, -1, -2, REAL_MAX, -REAL_MAX};
    enum { NS = sizeof sp / sizeof sp[0] };
    pf_real y[NS], s[NS], d1[NS], d2[NS];
    /* tanh */
    pf_vtanh(NS, sp, y);
    CHECK(y[0] == 0 && !signbit(y[0]), "tanh(+0) = %g", (double)y[0]);
    CHECK(y[1] == 0 && signbit(y[1]), "tanh(-0) = %g (sign lost)", (double)y[1]);
    CHECK(y[2] == 1 && y[3] == -1, "tanh(+-inf) = %g %g", (double)y[2], (double)y[3]);
    CHECK(isnan(y[4]), "tanh(NaN) = %g", (double)y[4]);
    CHECK(y[5] == sp[5] && y[6] == sp[6], "denormal: tanh(x) = %g, expected x", (double)y[5]);
    CHECK(y[7] == sp[7] && y[8] == sp[8], "tanh(1e-30) = %g", (double)y[7]);
    /* exp */
    pf_vexp(NS, sp, y);
    CHECK(y[0] == 1 && y[1] == 1 && y[5] == 1 && y[6] == 1, "exp(+-0), exp(+-denormal) = %g %g %g %g",
          (double)y[0], (double)y[1], (double)y[5], (double)y[6]);
    CHECK(y[2] == INFINITY && y[3] == 0 && !signbit(y[3]) && isnan(y[4]),
          "exp(inf) = %g, exp(-inf) = %g, exp(NaN) = %g",
          (double)y[2], (double)y[3], (double)y[4]);
    CHECK(y[11] == INFINITY && y[12] == 0, "exp(+-max) = %g %g", (double)y[11], (double)y[12]);
    /* log1p */
    pf_vlog1p(NS, sp, y);
    CHECK(y[0] == 0 && !signbit(y[0]) && y[1] == 0 && signbit(y[1]), "log1p(+-0) = %g %g (signs kept?)",
          (double)y[0], (double)y[1]);
    CHECK(y[2] == INFINITY && isnan(y[3]) && isnan(y[4]), "log1p(inf) = %g, log1p(-inf) = %g, log1p(NaN) = %g",
          (double)y[2], (double)y[3], (double)y[4]);
    CHECK(y[5] == sp[5] && y[6] == sp[6] && y[7] == sp[7] && y[8] == sp[8], "log1p(denormal / 1e-30) = %g %g",
          (double)y[5], (double)y[7]);
    CHECK(y[9] == -INFINITY && isnan(y[10]) && isnan(y[12]), "log1p(-1) = %g, log1p(-2) = %g", (double)y[9],
          (double)y[10]);
    CHECK(fabs((double)y[11] - log((double)REAL_MAX)) < 1e-5 * log((double)REAL_MAX), "log1p(max) = %.17g",
          (double)y[11]);
    /* sigmoid */
    pf_vsigmoid(NS, sp, y);
    CHECK(y[0] == 0.5 && y[1] == 0.5 && y[2] == 1 && y[3] == 0 && isnan(y[4]), "sigmoid(0, -0, inf, -inf, NaN) = "
          "%g %g %g %g %g", (double)y[0], (double)y[1], (double)y[2], (double)y[3], (double)y[4]);
    CHECK(y[11] == 1 && y[12] == 0, "sigmoid(+-max) = %g %g", (double)y[11], (double)y[12]);
    /* softplus */
    pf_vsoftplus_d1d2(NS, sp, s, d1, d2);
    const pf_real ln2 = (pf_real)0.69314718055994531;
    CHECK(s[0] == ln2 && s[1] == ln2 && d1[0] == 0.5 && d2[0] == 0.25, "softplus(0) = %.17g, %g, %g", (double)s[0],
          (double)d1[0], (double)d2[0]);
    CHECK(s[2] == INFINITY && d1[2] == 1 && d2[2] == 0, "softplus(inf) = %g %g %g", (double)s[2], (double)d1[2],
          (double)d2[2]);
    CHECK(s[3] == 0 && d1[3] == 0 && d2[3] == 0, "softplus(-inf) = %g %g %g", (double)s[3], (double)d1[3],
          (double)d2[3]);
    CHECK(isnan(s[4]) && isnan(d1[4]) && isnan(d2[4]), "softplus(NaN) = %g %g %g", (double)s[4], (double)d1[4],
          (double)d2[4]);
    CHECK(s[11] == REAL_MAX && s[12] == 0, "softplus(+-max) = %g %g", (double)s[11], (double)s[12]);
    {   /* large z: exactly z; very negative z: exactly e^z */
        const pf_real big[] = {40, 100, (pf_real)1e30, -20, -40, -80, -100, sizeof(pf_real) == 4 ? -90 : -700,
                               sizeof(pf_real) == 4 ? -101 : -740};
        enum { NB = sizeof big / sizeof big[0] };
        pf_real sb[NB], db[NB], eb[NB];
        pf_vsoftplus_d1(NB, big, sb, db);
        pf_vexp(NB, big, eb);
        int bad = 0;
        for (int k = 0; k < 3; k++) bad += sb[k] != big[k];
        for (int k = 4; k < NB; k++) bad += sb[k] != eb[k] || sb[k] == 0;
        CHECK(bad == 0, "%d of softplus(40, 100, 1e30) != z, softplus(-40 ... ) != exp(z)", bad);
    }
    /* silu */
    pf_vsilu_d1d2(NS, sp, s, d1, d2);
    CHECK(s[0] == 0 && !signbit(s[0]) && s[1] == 0 && signbit(s[1]) && d1[0] == 0.5 && d2[0] == 0.5,
          "silu(+-0) = %g %g, %g, %g", (double)s[0], (double)s[1], (double)d1[0], (double)d2[0]);
    CHECK(s[2] == INFINITY && d1[2] == 1 && d2[2] == 0, "silu(inf) = %g %g %g", (double)s[2], (double)d1[2],
          (double)d2[2]);
    CHECK(s[3] == 0 && d1[3] == 0 && d2[3] == 0, "silu(-inf) = %g %g %g", (double)s[3], (double)d1[3], (double)d2[3]);
    CHECK(isnan(s[4]) && isnan(d1[4]) && isnan(d2[4]), "silu(NaN) = %g %g %g", (double)s[4], (double)d1[4],
          (double)d2[4]);
    CHECK(s[11] == REAL_MAX && s[12] == 0 && d1[11] == 1 && d1[12] == 0 && d2[11] == 0 && d2[12] == 0,
          "silu(+-max) = %g %g, %g %g, %g %g", (double)s[11], (double)s[12], (double)d1[11], (double)d1[12],
          (double)d2[11], (double)d2[12]);
}

/* The entry points that share a function agree bit for bit; tanh's derivatives are
 * the identities in s; ReLU is net.c's old expression. */
static void check_identities(const pf_real *x, int n)
{
    pf_real *o[8];
    for (int k = 0; k < 8; k++) o[k] = malloc(sizeof(pf_real) * n);
    int bad = 0;
    pf_vtanh(n, x, o[0]);
    pf_vtanh_d1d2(n, x, o[1], o[2], o[3]);
    pf_vtanh_d1(n, x, o[4], o[5]);
    for (int j = 0; j < n; j++) {
        const pf_real q = 1 - o[1][j] * o[1][j];
        bad += !same_bits(o[0][j], o[1][j]) || !same_bits(o[4][j], o[1][j]) || !same_bits(o[2][j], q) ||
               !same_bits(o[5][j], q) || !same_bits(o[3][j], -2 * o[1][j] * q);
    }
    CHECK(bad == 0, "%d tanh elements: d1 / d1d2 differ from pf_vtanh, 1 - s^2, -2 s (1 - s^2)", bad);
    bad = 0;
    pf_vsoftplus_d1d2(n, x, o[0], o[1], o[2]);
    pf_vsoftplus_d1(n, x, o[3], o[4]);
    pf_vsoftplus_d2(n, x, o[5]);
    pf_vsigmoid(n, x, o[6]);
    for (int j = 0; j < n; j++)
        bad += !same_bits(o[0][j], o[3][j]) || !same_bits(o[1][j], o[4][j]) || !same_bits(o[2][j], o[5][j]) ||
               !same_bits(o[1][j], o[6][j]);
    CHECK(bad == 0, "%d softplus elements: d1 / d1d2 / d2 / sigmoid disagree", bad);
    bad = 0;
    pf_vsilu_d1d2(n, x, o[0], o[1], o[2]);
    pf_vsilu_d1(n, x, o[3], o[4]);
    pf_vsilu_d2(n, x, o[5]);
    for (int j = 0; j < n; j++)
        bad += !same_bits(o[0][j], o[3][j]) || !same_bits(o[1][j], o[4][j]) || !same_bits(o[2][j], o[5][j]);
    CHECK(bad == 0, "%d silu elements: d1 / d1d2 / d2 disagree", bad);
    bad = 0;
    pf_vrelu_d1d2(n, x, o[0], o[1], o[2]);
    pf_vrelu_d1(n, x, o[3], o[4]);
    for (int j = 0; j < n; j++) {
        const int on = x[j] > 0; /* net.c before issue 15 */
        const pf_real s = on ? x[j] : 0, ds = on;
        bad += !same_bits(o[0][j], s) || !same_bits(o[1][j], ds) || !same_bits(o[2][j], 0) ||
               !same_bits(o[3][j], s) || !same_bits(o[4][j], ds);
    }
    CHECK(bad == 0, "%d relu elements differ from z > 0 ? z : 0, z > 0, 0", bad);
    for (int k = 0; k < 8; k++) free(o[k]);
}

/* ds, d2s of each activation against central differences of s, ds. */
static void check_fd(const char *name, fn3 f, double lo, double hi)
{
    const int n = 1001;
    const double hfd = sizeof(pf_real) == 4 ? 1e-2 : 1e-5, tol = sizeof(pf_real) == 4 ? 2e-3 : 1e-8;
    double efd = 0;
    for (int j = 0; j < n; j++) {
        const double a = lo + (hi - lo) * j / (n - 1) + 0.0123;
        if (fabs(a) < 2 * hfd) continue; /* relu's kink */
        const pf_real z[3] = {(pf_real)a, (pf_real)(a + hfd), (pf_real)(a - hfd)};
        pf_real s[3], d1[3], d2[3];
        f(3, z, s, d1, d2);
        const double h2 = (double)z[1] - (double)z[2];
        efd = fmax(efd, fabs(((double)s[1] - s[2]) / h2 - d1[0]));
        efd = fmax(efd, fabs(((double)d1[1] - d1[2]) / h2 - d2[0]));
    }
    printf("  %-8s d1d2 vs central differences on [%g, %g]: max abs error %.3g (h = %g)\n", name, lo, hi, efd, hfd);
    CHECK(efd < tol, "%s derivatives vs finite differences: %.3g (tolerance %g)", name, efd, tol);
}

int main(int argc, char **argv)
{
    pf_test_init(&argc, &argv);
    run_grids();
    check_specials();

    /* odd symmetry of tanh, and the identities on a grid plus random bit patterns */
    const int n = 1001;
    pf_real *a = malloc(sizeof(pf_real) * n), *b = malloc(sizeof(pf_real) * n);
    pf_real *ya = malloc(sizeof(pf_real) * n), *yb = malloc(sizeof(pf_real) * n);
    for (int j = 0; j < n; j++) a[j] = (pf_real)(-7 + 14.0 * j / (n - 1)), b[j] = -a[j];
    pf_vtanh(n, a, ya);
    pf_vtanh(n, b, yb);
    int asym = 0;
    for (int j = 0; j < n; j++) asym += ya[j] != -yb[j];
    CHECK(asym == 0, "%d elements break tanh(-x) = -tanh(x)", asym);
    free(a), free(b), free(ya), free(yb);
    {
        const int m = 1 << 16;
        pf_real *x = malloc(sizeof(pf_real) * m);
        uint64_t s = 777;
        for (int j = 0; j < m; j++) {
            s = s * 6364136223846793005ULL + 1442695040888963407ULL;
            if (j % 2) {
                memcpy(&x[j], &s, sizeof(pf_real));
            } else {
                x[j] = (pf_real)(((double)(s >> 11) / 9007199254740992.0 - 0.5) * (j % 4 ? 20 : 1600));
            }
        }
        x[0] = 0, x[1] = (pf_real)-0.0, x[2] = NAN, x[3] = -NAN, x[4] = INFINITY, x[5] = -INFINITY;
        check_identities(x, m);
        free(x);
    }
    check_fd("tanh", pf_vtanh_d1d2, -7, 7);
    check_fd("softplus", pf_vsoftplus_d1d2, -9, 9);
    check_fd("softplus", pf_vsoftplus_d1d2, -40, 40);
    check_fd("silu", pf_vsilu_d1d2, -9, 9);
    check_fd("silu", pf_vsilu_d1d2, -40, 40);
    check_fd("relu", pf_vrelu_d1d2, -9, 9);

    check_positions();
    check_clone_bits();
    return pf_test_finish("test_vmath");
}
