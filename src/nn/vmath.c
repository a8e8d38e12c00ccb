/* Vectorisable tanh (include/proxflow/nn/vmath.h).
 *
 * tanh(x) = sign(x) e / (e + 2) with e = expm1(2|x|): no cancellation anywhere (e >= 0),
 * and e = 2|x| + ... is accurate for small |x|, so tiny and denormal x come out as x.
 * Above THR, tanh rounds to 1 in pf_real and e would only grow: the result is 1.
 *
 * expm1(a), 0 <= a <= 2 THR: a = k ln2 + r with |r| <= ln2/2 (Cody-Waite: k ln2_hi is
 * exact for these k), expm1(a) = 2^k expm1(r) + (2^k - 1) (2^k - 1 exact: k < 56 in
 * double, and in float only for results where tanh is 1 anyway), expm1(r) by its Taylor
 * series (truncation below 1e-17 resp. 1e-8 relative).  k comes out of the "round by
 * adding 1.5 2^p" trick and 2^k is built from its bits, so the loop has no calls, no
 * branches and no double->int64 conversion (which SSE2 lacks): GCC vectorises it. */
#include "proxflow/nn/vmath.h"

/* The selects below (clamp, |x| > THR, sign) are only if-converted into vector blends
 * when GCC may assume no FP traps; this changes no value (no reassociation, no
 * contraction), and proxflow never enables FP traps. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("no-trapping-math")
#endif

/* The loops are also compiled for x86-64-v4 (AVX-512: 8 doubles / 16 floats) and AVX2
 * (4 / 8), picked at load time by what the CPU has.  Same operations in the same order,
 * and proxflow builds with -std=c11 (no FMA contraction): every version gives identical
 * bits (tests/test_vmath.c compares the picked one with a baseline build). */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && !defined(PF_NO_CLONES)
#define PF_CLONES __attribute__((target_clones("arch=x86-64-v4", "avx2", "default")))
#else
#define PF_CLONES
#endif

#include <math.h>
#include <stdint.h>
#include <string.h>

#ifdef PF_USE_FLOAT
typedef uint32_t pf_ubits;
#define SHIFTER 0x1.8p23f
#define MANT 23
#define BIAS 127u
#define THR 9.0f /* tanhf(x) rounds to 1 above 8.7 */
#define LN2HI 6.93145751953125e-01f
#define LN2LO 1.42860676533018704e-06f
#define INVLN2 1.44269504088896338700f
#define PF_FABS fabsf
#define PF_COPYSIGN copysignf
#else
typedef uint64_t pf_ubits;
#define SHIFTER 0x1.8p52
#define MANT 52
#define BIAS 1023u
#define THR 19.1 /* tanh(x) rounds to 1 above 19.07 */
#define LN2HI 6.93147180369123816490e-01
#define LN2LO 1.90821492927058770002e-10
#define INVLN2 1.44269504088896338700
#define PF_FABS fabs
#define PF_COPYSIGN copysign
#endif

/* expm1(a) for 0 <= a <= 2 THR (or NaN). */
static inline pf_real expm1_pos(pf_real a)
{
    const pf_real t = a * (pf_real)INVLN2 + (pf_real)SHIFTER; /* low bits of t: k */
    const pf_real kd = t - (pf_real)SHIFTER;
    const pf_real r = (a - kd * (pf_real)LN2HI) - kd * (pf_real)LN2LO;
    pf_ubits b;
    memcpy(&b, &t, sizeof b);
    b = (b << MANT) + ((pf_ubits)BIAS << MANT); /* 2^k */
    pf_real scale;
    memcpy(&scale, &b, sizeof scale);
#ifdef PF_USE_FLOAT
    pf_real q = 1.0f / 40320;
    q = 1.0f / 5040 + r * q;
    q = 1.0f / 720 + r * q;
    q = 1.0f / 120 + r * q;
    q = 1.0f / 24 + r * q;
    q = 1.0f / 6 + r * q;
    q = 0.5f + r * q;
#else
    pf_real q = 1.0 / 6227020800.0;
    q = 1.0 / 479001600.0 + r * q;
    q = 1.0 / 39916800.0 + r * q;
    q = 1.0 / 3628800.0 + r * q;
    q = 1.0 / 362880.0 + r * q;
    q = 1.0 / 40320.0 + r * q;
    q = 1.0 / 5040.0 + r * q;
    q = 1.0 / 720.0 + r * q;
    q = 1.0 / 120.0 + r * q;
    q = 1.0 / 24.0 + r * q;
    q = 1.0 / 6.0 + r * q;
    q = 0.5 + r * q;
#endif
    const pf_real p = r + (r * r) * q; /* expm1(r) */
    return scale * p + (scale - 1);
}

/* tanh of one element; a NaN stays NaN (every comparison with it is false). */
static inline pf_real tanh1(pf_real x)
{
    const pf_real ax = PF_FABS(x);
    const pf_real c = ax > THR ? THR : ax;
    const pf_real e = expm1_pos(c + c);
    pf_real t = e / (e + 2);
    t = ax > THR ? 1 : t;
    return PF_COPYSIGN(t, x); /* also tanh(-0) = -0 */
}

PF_CLONES void pf_vtanh(int n, const pf_real *x, pf_real *y)
{
    for (int j = 0; j < n; j++) y[j] = tanh1(x[j]);
}

PF_CLONES void pf_vtanh_d1d2(int n, const pf_real *restrict z, pf_real *restrict s, pf_real *restrict ds,
                   pf_real *restrict d2s)
{
    for (int j = 0; j < n; j++) {
        const pf_real t = tanh1(z[j]), q = 1 - t * t;
        s[j] = t;
        ds[j] = q;
        d2s[j] = -2 * t * q;
    }
}

PF_CLONES void pf_vtanh_d1(int n, const pf_real *restrict z, pf_real *restrict s, pf_real *restrict ds)
{
    for (int j = 0; j < n; j++) {
        const pf_real t = tanh1(z[j]);
        s[j] = t;
        ds[j] = 1 - t * t;
    }
}
