/* Activation layers (SPEC §2: relu, softplus, tanh, silu): sigma, sigma' and sigma''
 * element-wise, the forward with tangents and the backward with both adjoints (SPEC
 * §1.9), all through the vectorised kernels of vmath.c. */
#include "proxflow/nn/layers.h"
#include "proxflow/nn/vmath.h"

#include <string.h>

void pf_activation(pf_act a, pf_real z, pf_real *s, pf_real *ds, pf_real *d2s)
{
    *s = *ds = *d2s = 0;
    switch (a) { /* the layers' kernels (src/nn/vmath.c), so both give the same bits */
    case PF_ACT_RELU: pf_vrelu_d1d2(1, &z, s, ds, d2s); break;
    case PF_ACT_SOFTPLUS: pf_vsoftplus_d1d2(1, &z, s, ds, d2s); break;
    case PF_ACT_TANH: pf_vtanh_d1d2(1, &z, s, ds, d2s); break;
    case PF_ACT_SILU: pf_vsilu_d1d2(1, &z, s, ds, d2s); break;
    }
}

/* Element-wise sigma, sigma' and (d2s != NULL) sigma'' of one row segment: the
 * vectorised kernels of src/nn/vmath.c (issues 7, 15; accuracy in proxflow/nn/vmath.h). */
static void act_eval(pf_act a, int m, const pf_real *z, pf_real *s, pf_real *ds, pf_real *d2s)
{
    switch (a) {
    case PF_ACT_TANH:
        if (d2s) pf_vtanh_d1d2(m, z, s, ds, d2s);
        else pf_vtanh_d1(m, z, s, ds);
        break;
    case PF_ACT_RELU:
        if (d2s) pf_vrelu_d1d2(m, z, s, ds, d2s);
        else pf_vrelu_d1(m, z, s, ds);
        break;
    case PF_ACT_SOFTPLUS:
        if (d2s) pf_vsoftplus_d1d2(m, z, s, ds, d2s);
        else pf_vsoftplus_d1(m, z, s, ds);
        break;
    case PF_ACT_SILU:
        if (d2s) pf_vsilu_d1d2(m, z, s, ds, d2s);
        else pf_vsilu_d1(m, z, s, ds);
        break;
    }
}

/* da = sigma'(z) dz on the activated columns, dz copied on the `pass` ones: one tangent
 * row (act_forward, act_forward_tangent). */
static inline void act_tangent_row(int na, int dim, const pf_real *d1, const pf_real *dz,
                                   pf_real *da)
{
    for (int j = 0; j < na; j++) da[j] = d1[j] * dz[j];
    for (int j = na; j < dim; j++) da[j] = dz[j];
}

/* a = sigma(z); da = sigma'(z) dz.  sigma' (and, with tangents, sigma'') of the value
 * rows are kept (D1, D2) so the backward pass does not evaluate the activation again;
 * sigma'' is only needed by a tangent backward.  The last `pass` columns are copied. */
void pf_act_forward(const pf_layer *L, int n, int tangent, const pf_real *Z, pf_real *A,
                    pf_real *D1, pf_real *D2)
{
    const int dim = L->in_dim, na = dim - L->pass;
    PF_PAR_FOR((size_t)n * dim, i, n, {
        const pf_real *z = Z + (size_t)i * dim;
        pf_real *a = A + (size_t)i * dim;
        pf_real *d1 = D1 + (size_t)i * dim;
        act_eval(L->act, na, z, a, d1, tangent ? D2 + (size_t)i * dim : NULL);
        for (int j = na; j < dim; j++) a[j] = z[j];
        if (tangent) act_tangent_row(na, dim, d1, Z + (size_t)(n + i) * dim, A + (size_t)(n + i) * dim);
    });
}

/* The tangent rows of act_forward from the sigma' its value rows stored, and sigma''
 * of the value rows (a value-only forward does not keep it): tanh's is -2 s sigma' from
 * the stored s = tanh(z), the bits pf_vtanh_d1d2 gives; ReLU's is 0; softplus' and
 * SiLU's are evaluated again by their _d2 kernels, the bits of _d1d2 (softplus'' =
 * u / (1 + u)^2 with u = e^-|z|, which the stored sigmoid does not give exactly). */
void pf_act_forward_tangent(const pf_layer *L, int n, const pf_real *Z, pf_real *A,
                            const pf_real *D1, pf_real *D2)
{
    const int dim = L->in_dim, na = dim - L->pass;
    PF_PAR_FOR((size_t)n * dim, i, n, {
        const pf_real *d1 = D1 + (size_t)i * dim;
        pf_real *d2 = D2 + (size_t)i * dim;
        act_tangent_row(na, dim, d1, Z + (size_t)(n + i) * dim, A + (size_t)(n + i) * dim);
        const pf_real *a = A + (size_t)i * dim, *z = Z + (size_t)i * dim;
        switch (L->act) {
        case PF_ACT_TANH:
            for (int j = 0; j < na; j++) d2[j] = -2 * a[j] * d1[j];
            break;
        case PF_ACT_RELU: memset(d2, 0, sizeof(pf_real) * (size_t)na); break;
        case PF_ACT_SOFTPLUS: pf_vsoftplus_d2(na, z, d2); break;
        case PF_ACT_SILU: pf_vsilu_d2(na, z, d2); break;
        }
    });
}

/* gz = ga sigma'(z) + gda sigma''(z) dz;  gdz = gda sigma'(z).  In place is fine. */
void pf_act_backward(const pf_layer *L, int n, int tangent, const pf_real *Z,
                     const pf_real *D1, const pf_real *D2, const pf_real *G, pf_real *GZ)
{
    const int dim = L->in_dim, na = dim - L->pass;
    PF_PAR_FOR((size_t)n * dim, i, n, {
        const pf_real *d1 = D1 + (size_t)i * dim, *ga = G + (size_t)i * dim;
        pf_real *gz = GZ + (size_t)i * dim;
        if (tangent) {
            const pf_real *dz = Z + (size_t)(n + i) * dim, *d2 = D2 + (size_t)i * dim;
            const pf_real *gda = G + (size_t)(n + i) * dim;
            pf_real *gdz = GZ + (size_t)(n + i) * dim;
            for (int j = 0; j < na; j++) {
                pf_real g2 = gda[j];
                gz[j] = ga[j] * d1[j] + g2 * d2[j] * dz[j];
                gdz[j] = g2 * d1[j];
            }
            for (int j = na; j < dim; j++) {
                gz[j] = ga[j];
                gdz[j] = gda[j];
            }
        } else {
            for (int j = 0; j < na; j++) gz[j] = ga[j] * d1[j];
            for (int j = na; j < dim; j++) gz[j] = ga[j];
        }
    });
}
