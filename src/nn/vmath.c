/* Vectorisable tanh, exp, log1p, sigmoid and the softplus / SiLU / ReLU layer kernels
 * (include/proxflow/nn/vmath.h; issues 7 and 15).
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

/* The loops are also compiled for x86-64-v4 and AVX2, picked at load time by what the
 * CPU has (PF_CLONES, core/clones.h): identical bits in every version. */
#include "core/clones.h"

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

/* ---- exp, log1p, sigmoid; the softplus, SiLU and ReLU layers (issue 15) ----------
 *
 * exp(x) = 2^k exp(r), x = k ln2 + r (|r| <= ln2/2, Cody-Waite as above), exp(r) =
 * 1 + r + r^2 q(r), q a polynomial fit (below).  2^k is applied as two factors 2^k1 2^k2
 * (k1 = round(k/2)), each a normal number for every k in the clamped range: results in
 * the overflow range become inf and those in the denormal range are rounded once, by
 * the last product.  Softplus, sigmoid and SiLU only take u = e^-|z| in (0, 1]: no
 * overflow, no cancellation, and every formula below is written in u and
 * d = 1 / (1 + u) so the same expression serves both signs of z.
 *
 * log1p(x): w = 1 + x rounded and its rounding error c (Fast2Sum: exact), w = 2^m f
 * with f in [sqrt(1/2), sqrt(2)) from the bits of w, then log1p(x) = m ln2 + log(f) +
 * c 2^-m / f, log(f) = log1p(g) with g = f - 1 (exact) = g - (g^2/2 - s (g^2/2 + R)),
 * s = g / (2 + g), R = 2 (s^2/3 + s^4/5 + ...) (the atanh series, |s| <= 0.172) by
 * a polynomial fit in z = s^2.  The fits are Chebyshev interpolants computed with
 * mpmath (chebyfit, 60 digits, of q on [-ln2/2, ln2/2] and R/z on [0, 0.02944]),
 * rounded to pf_real: near-minimax, so 11 resp. 7 coefficients in double (6 and 3 in
 * float) where the Taylor series needs 12 and 10 (7 and 4).  m is turned into a pf_real
 * by the shifter trick (no integer -> floating conversion, which SSE2 lacks for 64
 * bits).
 * Special arguments (x = -1, < -1, inf, NaN, -0) are selected at the end. */
#ifdef PF_USE_FLOAT
#define EXP_HI 89.0f   /* expf overflows above 88.73 */
#define EXP_LO -112.0f /* z e^z rounds to 0 below -108.5 (SiLU's clamp) */
#define EXPMASK 0x7f800000u
#define ONEBITS 0x3f800000u
#define SQRTHALFBITS 0x3f3504f3u /* sqrt(1/2) rounded */
#else
#define EXP_HI 710.0  /* exp overflows above 709.79 */
#define EXP_LO -760.0 /* z e^z rounds to 0 below -751.5 (SiLU's clamp) */
#define EXPMASK 0x7ff0000000000000u
#define ONEBITS 0x3ff0000000000000u
#define SQRTHALFBITS 0x3fe6a09e667f3bcdu
#endif

static inline pf_real real_of(pf_ubits b)
{
    pf_real x;
    memcpy(&x, &b, sizeof x);
    return x;
}

static inline pf_ubits bits_of(pf_real x)
{
    pf_ubits b;
    memcpy(&b, &x, sizeof b);
    return b;
}

/* 2^j from t = SHIFTER + j (|j| < 2^(MANT-1), j + BIAS a normal exponent). */
static inline pf_real pow2_of(pf_real t)
{
    return real_of((bits_of(t) << MANT) + ((pf_ubits)BIAS << MANT));
}

/* exp(x) = e1 * *s2 for EXP_LO <= x <= EXP_HI (or NaN); e1 = exp(r) 2^k1 is normal and
 * exact up to exp(r)'s rounding, *s2 = 2^(k - k1). */
static inline pf_real exp_split(pf_real x, pf_real *s2)
{
    const pf_real t = x * (pf_real)INVLN2 + (pf_real)SHIFTER; /* low bits of t: k */
    const pf_real kd = t - (pf_real)SHIFTER;
    const pf_real r = (x - kd * (pf_real)LN2HI) - kd * (pf_real)LN2LO;
    const pf_real t1 = kd * (pf_real)0.5 + (pf_real)SHIFTER; /* SHIFTER + k1 */
    const pf_real t2 = t - (t1 - (pf_real)SHIFTER);          /* SHIFTER + k - k1 */
    /* q(r) = (e^r - 1 - r) / r^2 to 2.6e-18 resp. 4e-9 (with the coefficients rounded),
     * 4e-19 resp. 7e-10 of e^r */
#ifdef PF_USE_FLOAT
    pf_real q = 0.00019890980911441147f;
    q = 0.0013933641603216529f + r * q;
    q = 0.00833331048488617f + r * q;
    q = 0.04166646674275398f + r * q;
    q = 0.1666666716337204f + r * q;
    q = 0.5f + r * q;
#else
    pf_real q = 2.0914679452495193e-09;
    q = 2.5105206480259365e-08 + r * q;
    q = 2.755727366116628e-07 + r * q;
    q = 2.755725542549107e-06 + r * q;
    q = 2.480158732553351e-05 + r * q;
    q = 0.00019841269874800694 + r * q;
    q = 0.0013888888888883752 + r * q;
    q = 0.008333333333326141 + r * q;
    q = 0.04166666666666667 + r * q;
    q = 0.1666666666666667 + r * q;
    q = 0.5 + r * q;
#endif
    *s2 = pow2_of(t2);
    return (1 + (r + (r * r) * q)) * pow2_of(t1);
}

static inline pf_real exp1(pf_real x)
{
    x = x > EXP_HI ? EXP_HI : x; /* NaN passes both */
    x = x < EXP_LO ? EXP_LO : x;
    pf_real s2;
    const pf_real e1 = exp_split(x, &s2);
    return e1 * s2;
}

/* log(w + c) for w = 1 + x rounded (0 < w < inf) and c its rounding error. */
static inline pf_real log1p_wc(pf_real w, pf_real c)
{
    const pf_ubits iu = bits_of(w) + (ONEBITS - SQRTHALFBITS); /* exponent field: m + BIAS */
    const pf_ubits ef = iu & EXPMASK;
    const pf_real f = real_of(bits_of(w) - ef + ONEBITS);   /* w 2^-m */
    const pf_real sc = real_of(EXPMASK - ef) * (pf_real)0.5; /* 2^-m; 0 for m > max exponent */
    const pf_real md = real_of(bits_of((pf_real)SHIFTER) + (iu >> MANT)) - ((pf_real)SHIFTER + BIAS);
    const pf_real g = f - 1; /* exact */
    const pf_real s = g / (2 + g), z = s * s, hfsq = (pf_real)0.5 * g * g;
    /* R / z = 2 (1/3 + z/5 + ...) to 3.2e-16 resp. 2e-7: 5e-18 resp. 3e-9 of the result */
#ifdef PF_USE_FLOAT
    pf_real R = 0.29579949378967285f;
    R = 0.3998878002166748f + z * R;
    R = 0.6666668653488159f + z * R;
#else
    pf_real R = 0.14616451042434167;
    R = 0.15331721490738642 + z * R;
    R = 0.18182889128565508 + z * R;
    R = 0.22222211134749734 + z * R;
    R = 0.28571428625975764 + z * R;
    R = 0.39999999999899505 + z * R;
    R = 0.666666666666667 + z * R;
#endif
    R = z * R;
    /* log(f + c 2^-m) - log(f) = c 2^-m / f, 1/f = (1 - s) / (1 + s) ~ 1 - 2 s (1 - s):
     * |c 2^-m| <= ulp(f) / 2, so the 2 s^3 left out is below 0.01 ulp */
    const pf_real corr = (c * sc) * (1 - (s + s) * (1 - s));
    return md * (pf_real)LN2HI - ((hfsq - (s * (hfsq + R) + (md * (pf_real)LN2LO + corr))) - g);
}

static inline pf_real log1p1(pf_real x)
{
    const pf_real w = 1 + x;
    const pf_real c = x > 1 ? 1 - (w - x) : x - (w - 1); /* Fast2Sum: larger operand first */
    pf_real y = log1p_wc(w, c);
    y = x == (pf_real)INFINITY ? x : y;
    y = x == -1 ? -(pf_real)INFINITY : y;
    y = x >= -1 ? y : (pf_real)NAN; /* x < -1 and NaN */
    return x == 0 ? x : y;          /* log1p(-0) = -0 */
}

/* The parts every sigmoid-based function needs: u = e^-|z| = e1 s2 (|z| clamped to
 * -EXP_LO, where u is 0), w = 1 + u rounded and its error cw, d = 1 / (1 + u) (1/w
 * corrected for cw), the clamped |z|. */
typedef struct {
    pf_real ac, e1, s2, u, w, cw, d;
} sig_parts;

static inline sig_parts sig_split(pf_real z)
{
    sig_parts p;
    const pf_real a = PF_FABS(z);
    p.ac = a > -EXP_LO ? -EXP_LO : a; /* NaN passes */
    p.e1 = exp_split(-p.ac, &p.s2);
    p.u = p.e1 * p.s2;
    p.w = 1 + p.u;
    p.cw = p.u - (p.w - 1); /* Fast2Sum, u <= 1 */
    const pf_real d0 = 1 / p.w;
    p.d = d0 - (p.cw * d0) * d0;
    return p;
}

/* sigmoid(z) = d (z >= 0), u d (z < 0; e1 d scaled last, one rounding into denormals) */
static inline pf_real sig_of(pf_real z, const sig_parts *p)
{
    return z >= 0 ? p->d : (p->e1 * p->d) * p->s2;
}

/* sig (1 - sig) = u d^2, symmetric in z, without the cancellation of 1 - sig; before
 * the last scaling by s2 */
static inline pf_real qh_of(const sig_parts *p)
{
    return (p->e1 * p->d) * p->d;
}

PF_CLONES void pf_vexp(int n, const pf_real *x, pf_real *y)
{
    for (int j = 0; j < n; j++) y[j] = exp1(x[j]);
}

PF_CLONES void pf_vlog1p(int n, const pf_real *x, pf_real *y)
{
    for (int j = 0; j < n; j++) y[j] = log1p1(x[j]);
}

PF_CLONES void pf_vsigmoid(int n, const pf_real *x, pf_real *y)
{
    for (int j = 0; j < n; j++) {
        const sig_parts p = sig_split(x[j]);
        y[j] = sig_of(x[j], &p);
    }
}

/* softplus(z) = max(z, 0) + log1p(u): z (+ a negligible term) for large z, e^z
 * (log1p(u) = u for tiny u) for very negative z.  s' = sigmoid, s'' = u d^2. */
static inline pf_real softplus_of(pf_real z, const sig_parts *p)
{
    return (z > 0 ? z : 0) + log1p_wc(p->w, p->cw);
}

PF_CLONES void pf_vsoftplus_d1(int n, const pf_real *restrict z, pf_real *restrict s, pf_real *restrict ds)
{
    for (int j = 0; j < n; j++) {
        const sig_parts p = sig_split(z[j]);
        s[j] = softplus_of(z[j], &p);
        ds[j] = sig_of(z[j], &p);
    }
}

PF_CLONES void pf_vsoftplus_d1d2(int n, const pf_real *restrict z, pf_real *restrict s, pf_real *restrict ds,
                                 pf_real *restrict d2s)
{
    for (int j = 0; j < n; j++) {
        const sig_parts p = sig_split(z[j]);
        s[j] = softplus_of(z[j], &p);
        ds[j] = sig_of(z[j], &p);
        d2s[j] = qh_of(&p) * p.s2;
    }
}

PF_CLONES void pf_vsoftplus_d2(int n, const pf_real *restrict z, pf_real *restrict d2s)
{
    for (int j = 0; j < n; j++) {
        const sig_parts p = sig_split(z[j]);
        d2s[j] = qh_of(&p) * p.s2;
    }
}

/* SiLU: s = z sig = z d (z >= 0), (z e1 d) s2 (z < 0: rounded once into the denormal
 * range, where e^z alone would have lost the digits; z is clamped with |z| so
 * silu(-inf) = -0).  With q = u d^2 = sig (1 - sig) and z (1 - 2 sig) = -|z| (1 - u) d:
 * s' = sig + z q, s'' = q (2 - |z| (1 - u) d), again scaled by s2 last where that is
 * the small factor; the clamped z gives s'(+-inf) = 1, 0 and s''(+-inf) = 0. */
static inline pf_real silu_of(pf_real z, const sig_parts *p)
{
    const pf_real zc = PF_COPYSIGN(p->ac, z);
    return z >= 0 ? z * p->d : ((zc * p->e1) * p->d) * p->s2;
}

static inline pf_real silu_d1(pf_real z, const sig_parts *p, pf_real qh)
{
    const pf_real zc = PF_COPYSIGN(p->ac, z);
    return z >= 0 ? p->d + zc * (qh * p->s2) : (p->e1 * p->d + zc * qh) * p->s2;
}

static inline pf_real silu_d2(const sig_parts *p, pf_real qh)
{
    return (qh * (2 - p->ac * ((1 - p->u) * p->d))) * p->s2;
}

PF_CLONES void pf_vsilu_d1(int n, const pf_real *restrict z, pf_real *restrict s, pf_real *restrict ds)
{
    for (int j = 0; j < n; j++) {
        const sig_parts p = sig_split(z[j]);
        const pf_real qh = qh_of(&p);
        s[j] = silu_of(z[j], &p);
        ds[j] = silu_d1(z[j], &p, qh);
    }
}

PF_CLONES void pf_vsilu_d1d2(int n, const pf_real *restrict z, pf_real *restrict s, pf_real *restrict ds,
                             pf_real *restrict d2s)
{
    for (int j = 0; j < n; j++) {
        const sig_parts p = sig_split(z[j]);
        const pf_real qh = qh_of(&p);
        s[j] = silu_of(z[j], &p);
        ds[j] = silu_d1(z[j], &p, qh);
        d2s[j] = silu_d2(&p, qh);
    }
}

PF_CLONES void pf_vsilu_d2(int n, const pf_real *restrict z, pf_real *restrict d2s)
{
    for (int j = 0; j < n; j++) {
        const sig_parts p = sig_split(z[j]);
        d2s[j] = silu_d2(&p, qh_of(&p));
    }
}

/* ReLU as net.c always computed it: s = z > 0 ? z : 0, s' = z > 0; so relu(-0) = +0
 * and a NaN gives s = s' = 0 (the comparison is false). */
PF_CLONES void pf_vrelu_d1(int n, const pf_real *restrict z, pf_real *restrict s, pf_real *restrict ds)
{
    for (int j = 0; j < n; j++) {
        const pf_real x = z[j];
        s[j] = x > 0 ? x : 0;
        ds[j] = x > 0 ? 1 : 0;
    }
}

PF_CLONES void pf_vrelu_d1d2(int n, const pf_real *restrict z, pf_real *restrict s, pf_real *restrict ds,
                             pf_real *restrict d2s)
{
    for (int j = 0; j < n; j++) {
        const pf_real x = z[j];
        s[j] = x > 0 ? x : 0;
        ds[j] = x > 0 ? 1 : 0;
        d2s[j] = 0;
    }
}
