/* Activation layers (SPEC §2: relu, softplus, tanh, silu): sigma, sigma' and sigma''
 * element-wise, the forward with tangents and the backward with both adjoints (SPEC
 * §1.9).  tanh runs through the vectorised kernel of vmath.c. */
#include "proxflow/nn/layers.h"
#include "proxflow/nn/vmath.h"

#include <math.h>
#include <string.h>

void pf_activation(pf_act a, pf_real z, pf_real *s, pf_real *ds, pf_real *d2s)
{
    *s = *ds = *d2s = 0;
    switch (a) {
    case PF_ACT_RELU:
        *s = z > 0 ? z : 0;
        *ds = z > 0 ? 1 : 0;
        *d2s = 0;
        break;
    case PF_ACT_SOFTPLUS: {
        /* log(1 + e^z) without overflow; sigma' = sigmoid, sigma'' = sig (1 - sig) */
        pf_real sig = z >= 0 ? 1 / (1 + exp(-z)) : exp(z) / (1 + exp(z));
        *s = z > 0 ? z + log1p(exp(-z)) : log1p(exp(z));
        *ds = sig;
        *d2s = sig * (1 - sig);
        break;
    }
    case PF_ACT_TANH: /* the layers' kernel, so both give the same bits */
        pf_vtanh_d1d2(1, &z, s, ds, d2s);
        break;
    case PF_ACT_SILU: {
        pf_real sig = z >= 0 ? 1 / (1 + exp(-z)) : exp(z) / (1 + exp(z));
        *s = z * sig;
        *ds = sig + z * sig * (1 - sig);
        *d2s = sig * (1 - sig) * (2 + z * (1 - 2 * sig));
        break;
    }
    }
}

/* Element-wise sigma, sigma' and (d2s != NULL) sigma'' of one row segment; the switch
 * sits outside the loop so each case is a tight loop over one function. */
static void act_eval(pf_act a, int m, const pf_real *z, pf_real *s, pf_real *ds, pf_real *d2s)
{
    switch (a) {
    case PF_ACT_TANH: /* vectorised, within 3 ulp of libm (src/nn/vmath.c, issue 7) */
        if (d2s) pf_vtanh_d1d2(m, z, s, ds, d2s);
        else pf_vtanh_d1(m, z, s, ds);
        break;
    case PF_ACT_RELU:
        for (int j = 0; j < m; j++) {
            int on = z[j] > 0;
            s[j] = on ? z[j] : 0;
            ds[j] = on;
        }
        if (d2s) memset(d2s, 0, sizeof(pf_real) * (size_t)m);
        break;
    default:
        for (int j = 0; j < m; j++) {
            pf_real t2;
            pf_activation(a, z[j], &s[j], &ds[j], &t2);
            if (d2s) d2s[j] = t2;
        }
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
#pragma omp parallel for schedule(static) if ((size_t)n * dim > pf_omp_min)
    for (int i = 0; i < n; i++) {
        const pf_real *z = Z + (size_t)i * dim;
        pf_real *a = A + (size_t)i * dim;
        pf_real *d1 = D1 + (size_t)i * dim;
        act_eval(L->act, na, z, a, d1, tangent ? D2 + (size_t)i * dim : NULL);
        for (int j = na; j < dim; j++) a[j] = z[j];
        if (tangent) act_tangent_row(na, dim, d1, Z + (size_t)(n + i) * dim, A + (size_t)(n + i) * dim);
    }
}

/* The tangent rows of act_forward from the sigma' its value rows stored, and sigma''
 * of the value rows (a value-only forward does not keep it): tanh's is -2 s sigma' from
 * the stored s = tanh(z), the bits pf_vtanh_d1d2 gives; ReLU's is 0; others are
 * evaluated again. */
void pf_act_forward_tangent(const pf_layer *L, int n, const pf_real *Z, pf_real *A,
                            const pf_real *D1, pf_real *D2)
{
    const int dim = L->in_dim, na = dim - L->pass;
#pragma omp parallel for schedule(static) if ((size_t)n * dim > pf_omp_min)
    for (int i = 0; i < n; i++) {
        const pf_real *d1 = D1 + (size_t)i * dim;
        pf_real *d2 = D2 + (size_t)i * dim;
        act_tangent_row(na, dim, d1, Z + (size_t)(n + i) * dim, A + (size_t)(n + i) * dim);
        const pf_real *a = A + (size_t)i * dim, *z = Z + (size_t)i * dim;
        switch (L->act) {
        case PF_ACT_TANH:
            for (int j = 0; j < na; j++) d2[j] = -2 * a[j] * d1[j];
            break;
        case PF_ACT_RELU: memset(d2, 0, sizeof(pf_real) * (size_t)na); break;
        default:
            for (int j = 0; j < na; j++) {
                pf_real s1, s2;
                pf_activation(L->act, z[j], &s1, &s2, &d2[j]);
            }
        }
    }
}

/* gz = ga sigma'(z) + gda sigma''(z) dz;  gdz = gda sigma'(z).  In place is fine. */
void pf_act_backward(const pf_layer *L, int n, int tangent, const pf_real *Z,
                     const pf_real *D1, const pf_real *D2, const pf_real *G, pf_real *GZ)
{
    const int dim = L->in_dim, na = dim - L->pass;
#pragma omp parallel for schedule(static) if ((size_t)n * dim > pf_omp_min)
    for (int i = 0; i < n; i++) {
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
    }
}
