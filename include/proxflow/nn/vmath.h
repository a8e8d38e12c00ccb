/* proxflow: element-wise transcendental kernels written so that GCC vectorises them at
 * -O3 for the default x86-64 target (SSE2: 2 doubles / 4 floats per instruction), in
 * the precision of pf_real (issue 7: glibc's scalar tanh was 40 % of a 2-D iteration).
 *
 * Accuracy (tests/test_vmath.c checks it against libm over the whole range, including
 * denormals, +-0, +-inf and NaN):
 *   pf_vtanh  double: max 3 ulp of the correctly rounded tanh;  float: max 3 ulp.
 * Odd symmetry tanh(-x) = -tanh(x) holds exactly; |tanh| <= 1; tanh(+-inf) = +-1;
 * NaN in, NaN out.  Results are the same for any thread count and array alignment
 * (every element is computed by the same expression). */
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

#endif
