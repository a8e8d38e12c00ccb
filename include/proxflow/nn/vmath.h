/* proxflow: element-wise transcendental kernels written so that GCC vectorises them at
 * -O3 for the default x86-64 target (SSE2: 2 doubles / 4 floats per instruction), in
 * the precision of pf_real (issue 7: glibc's scalar tanh was 40 % of a 2-D iteration;
 * issue 15: softplus and SiLU called scalar exp / log1p per element).
 *
 * Accuracy (tests/test_vmath.c checks it against libm over the whole range, including
 * denormals, +-0, +-inf and NaN; the bound it asserts, then the measured maximum, in ulps
 * of the exact value, double / float):
 *   pf_vtanh                 3    (2.37 / 2.35)
 *   pf_vexp                  1    (0.94 / 0.93)
 *   pf_vlog1p                1    (0.88 / 0.88)
 *   pf_vsigmoid, softplus'   2.5  (2.26 / 2.21)
 *   softplus                 2    (1.61 / 1.53)
 *   silu                     3 / 3.5  (2.82 / 3.03)
 *   softplus''               4.5  (4.04 / 3.80)
 *   silu', silu''            4.5, 6 ulps of the larger of the two terms they sum (4.31 /
 *                            3.99, 5.53 / 5.17): both have zeros, where no relative bound
 *                            holds.
 * Odd symmetry tanh(-x) = -tanh(x) holds exactly; |tanh| <= 1; tanh(+-inf) = +-1;
 * exp(-inf) = 0, exp overflows to inf; log1p(+-0) = +-0, log1p(-1) = -inf, log1p(x < -1)
 * = NaN; softplus(z) = z for large z and e^z for very negative z; silu(-inf) = 0,
 * silu'(+-inf) = 1, 0 and all second derivatives at +-inf are 0; NaN in, NaN out
 * (ReLU excepted: it keeps net.c's z > 0 ? z : 0, so relu(NaN) = relu'(NaN) = 0 and
 * relu(-0) = +0).  Results are the same for any thread count and array alignment (every
 * element is computed by the same expression), and every CPU-specific clone gives the
 * same bits (a NaN's sign and payload aside). */
#ifndef PROXFLOW_VMATH_H
#define PROXFLOW_VMATH_H

#include "proxflow/core/common.h"

/* y[j] = tanh(x[j]) for j < n (y == x allowed). */
void pf_vtanh(int n, const pf_real *x, pf_real *y);

/* s = tanh(z), ds = 1 - s^2, d2s = -2 s ds: the activation and its first two
 * derivatives in one pass (net.c's activation layer). */
void pf_vtanh_d1d2(int n, const pf_real *z, pf_real *s, pf_real *ds, pf_real *d2s);
/* The same without sigma'' (a forward without tangents). */
void pf_vtanh_d1(int n, const pf_real *z, pf_real *s, pf_real *ds);

/* issue 15: y = exp(x), log1p(x), sigmoid(x) = 1 / (1 + e^-x) (y == x allowed). */
void pf_vexp(int n, const pf_real *x, pf_real *y);
void pf_vlog1p(int n, const pf_real *x, pf_real *y);
void pf_vsigmoid(int n, const pf_real *x, pf_real *y);

/* The other activations with their derivatives, as pf_vtanh_d1 / _d1d2; _d2 gives
 * sigma'' alone, with the bits of _d1d2's (net.c's tangent-only forward):
 *   softplus s = log(1 + e^z), s' = sigmoid(z) (the bits of pf_vsigmoid), s'' = sig (1 - sig);
 *   silu     s = z sig,  s' = sig + z sig (1 - sig),  s'' = sig (1 - sig) (2 + z (1 - 2 sig));
 *   relu     s = z > 0 ? z : 0, s' = z > 0 ? 1 : 0, s'' = 0. */
void pf_vsoftplus_d1(int n, const pf_real *z, pf_real *s, pf_real *ds);
void pf_vsoftplus_d1d2(int n, const pf_real *z, pf_real *s, pf_real *ds, pf_real *d2s);
void pf_vsoftplus_d2(int n, const pf_real *z, pf_real *d2s);
void pf_vsilu_d1(int n, const pf_real *z, pf_real *s, pf_real *ds);
void pf_vsilu_d1d2(int n, const pf_real *z, pf_real *s, pf_real *ds, pf_real *d2s);
void pf_vsilu_d2(int n, const pf_real *z, pf_real *d2s);
void pf_vrelu_d1(int n, const pf_real *z, pf_real *s, pf_real *ds);
void pf_vrelu_d1d2(int n, const pf_real *z, pf_real *s, pf_real *ds, pf_real *d2s);

#endif
