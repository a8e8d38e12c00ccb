/* Networks: layer table, forward with tangents, backward with both adjoints
 * (SPEC §1.9, §2).  Dense layers go through BLAS GEMM; element-wise work is OpenMP. */
#include "proxflow/net.h"
#include "proxflow/rng.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* OpenMP only pays off above this many elements. */
#define PF_OMP_MIN 32768

/* ---- activations ------------------------------------------------------------ */

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
    case PF_ACT_TANH: {
        pf_real t = tanh(z);
        *s = t;
        *ds = 1 - t * t;
        *d2s = -2 * t * (1 - t * t);
        break;
    }
    case PF_ACT_SILU: {
        pf_real sig = z >= 0 ? 1 / (1 + exp(-z)) : exp(z) / (1 + exp(z));
        *s = z * sig;
        *ds = sig + z * sig * (1 - sig);
        *d2s = sig * (1 - sig) * (2 + z * (1 - 2 * sig));
        break;
    }
    }
}

/* ---- construction ----------------------------------------------------------- */

static pf_layer *push_layer(pf_net *net, pf_layer_kind kind, int in_dim, int out_dim)
{
    if (net->n_layers >= PF_MAX_LAYERS) pf_die("network has more than %d layers", PF_MAX_LAYERS);
    pf_layer *L = &net->layers[net->n_layers++];
    memset(L, 0, sizeof *L);
    L->kind = kind;
    L->in_dim = in_dim;
    L->out_dim = out_dim;
    return L;
}

static void push_dense(pf_net *net, int in_dim, int out_dim)
{
    pf_layer *L = push_layer(net, PF_LAYER_DENSE, in_dim, out_dim);
    L->w_off = net->n_params;
    L->b_off = net->n_params + (size_t)in_dim * out_dim;
    L->n_params = (size_t)in_dim * out_dim + out_dim;
    net->n_params += L->n_params;
}

static void push_act(pf_net *net, int dim, pf_act act, int pass)
{
    pf_layer *L = push_layer(net, PF_LAYER_ACT, dim, dim);
    L->act = act;
    L->pass = pass;
}

void pf_net_init_mlp(pf_net *net, int in_dim, int n_widths, const int *widths, pf_act act,
                     int time_input)
{
    memset(net, 0, sizeof *net);
    net->in_dim = in_dim;
    net->time_input = time_input;
    int prev = in_dim;
    for (int l = 0; l < n_widths; l++) {
        push_dense(net, prev, widths[l]);
        push_act(net, widths[l], act, 0);
        prev = widths[l];
    }
    push_dense(net, prev, 1); /* linear scalar output */
}

void pf_net_init_from_config(pf_net *net, const pf_net_config *nc, int d, int H, int W, int C,
                             int time_input)
{
    (void)H, (void)W, (void)C;
    if (nc->arch == PF_ARCH_CNN)
        pf_die("arch = cnn is not available in this build yet (use arch = mlp)");
    pf_net_init_mlp(net, d + (time_input ? 1 : 0), nc->n_widths, nc->widths, nc->activation,
                    time_input);
}

void pf_net_free(pf_net *net)
{
    for (int l = 0; l <= net->n_layers; l++) free(net->buf[l]);
    for (int l = 0; l < net->n_layers; l++) free(net->d1[l]), free(net->d2[l]);
    free(net->gA);
    free(net->gB);
    free(net->argmax);
    free(net->ones);
    memset(net, 0, sizeof *net);
}

static int layer_in_dim(const pf_net *net, int l)
{
    return l < net->n_layers ? net->layers[l].in_dim : net->layers[net->n_layers - 1].out_dim;
}

void pf_net_reserve(pf_net *net, int n)
{
    if (n <= net->cap) return;
    int maxd = 0;
    for (int l = 0; l <= net->n_layers; l++) {
        int dl = layer_in_dim(net, l);
        if (dl > maxd) maxd = dl;
        free(net->buf[l]);
        net->buf[l] = pf_malloc(sizeof(pf_real) * 2 * (size_t)n * dl);
        if (l < net->n_layers) {
            free(net->d1[l]);
            free(net->d2[l]);
            net->d1[l] = net->d2[l] = NULL;
            if (net->layers[l].kind == PF_LAYER_ACT) {
                net->d1[l] = pf_malloc(sizeof(pf_real) * (size_t)n * dl);
                net->d2[l] = pf_malloc(sizeof(pf_real) * (size_t)n * dl);
            }
        }
    }
    free(net->gA);
    free(net->gB);
    free(net->ones);
    net->ones = pf_malloc(sizeof(pf_real) * (size_t)n);
    for (int i = 0; i < n; i++) net->ones[i] = 1;
    net->gA = pf_malloc(sizeof(pf_real) * 2 * (size_t)n * maxd);
    net->gB = pf_malloc(sizeof(pf_real) * 2 * (size_t)n * maxd);
    net->max_dim = maxd;
    net->cap = n;
}

void pf_net_init_params(const pf_net *net, pf_real *params, uint64_t seed, uint32_t purpose)
{
    memset(params, 0, sizeof(pf_real) * net->n_params);
    for (int l = 0; l < net->n_layers; l++) {
        const pf_layer *L = &net->layers[l];
        if (L->kind != PF_LAYER_DENSE) continue;
        double std = sqrt(2.0 / (L->in_dim + L->out_dim));
        size_t nw = (size_t)L->in_dim * L->out_dim;
        for (size_t k = 0; k < nw; k++) {
            /* one stream per parameter: independent of any layout of threads/ranks */
            pf_stream s;
            pf_stream_init(&s, seed, 0, purpose, L->w_off + k);
            params[L->w_off + k] = (pf_real)(std * pf_stream_normal(&s));
        }
    }
}

double pf_net_forward_flops(const pf_net *net, int n)
{
    double f = 0;
    for (int l = 0; l < net->n_layers; l++) {
        const pf_layer *L = &net->layers[l];
        if (L->kind == PF_LAYER_DENSE) f += 2.0 * n * L->in_dim * L->out_dim;
    }
    return f;
}

/* ---- dense layer ------------------------------------------------------------- */

/* Z[rows x out] = A[rows x in] W^T; bias on the value rows only (a tangent has none). */
static void dense_forward(const pf_layer *L, const pf_real *p, int n, int rows,
                          const pf_real *A, pf_real *Z, double *flops)
{
    const int in = L->in_dim, out = L->out_dim;
    *flops += 2.0 * rows * in * out;
    PF_GEMM(CblasRowMajor, CblasNoTrans, CblasTrans, rows, out, in, 1, A, in, p + L->w_off, in,
            0, Z, out);
    const pf_real *b = p + L->b_off;
#pragma omp parallel for schedule(static) if ((size_t)n * out > PF_OMP_MIN)
    for (int i = 0; i < n; i++)
        for (int j = 0; j < out; j++) Z[(size_t)i * out + j] += b[j];
}

/* Given G = dS/dZ [rows x out]: grad W += G^T A, grad b += sum of value rows of G,
 * gA = G W (if gA). */
static void dense_backward(const pf_layer *L, const pf_real *p, int n, int rows,
                           const pf_real *A, const pf_real *G, pf_real *grad, pf_real *gA,
                           double *flops)
{
    const int in = L->in_dim, out = L->out_dim;
    *flops += 2.0 * rows * in * out * ((grad != NULL) + (gA != NULL));
    if (grad) {
        PF_GEMM(CblasRowMajor, CblasTrans, CblasNoTrans, out, in, rows, 1, G, out, A, in, 1,
                grad + L->w_off, in);
        pf_real *gb = grad + L->b_off;
#pragma omp parallel for schedule(static) if ((size_t)n * out > PF_OMP_MIN)
        for (int j = 0; j < out; j++) {
            pf_real s = 0;
            for (int i = 0; i < n; i++) s += G[(size_t)i * out + j];
            gb[j] += s;
        }
    }
    if (gA)
        PF_GEMM(CblasRowMajor, CblasNoTrans, CblasNoTrans, rows, in, out, 1, G, out,
                p + L->w_off, in, 0, gA, in);
}

/* ---- activation layer ---------------------------------------------------------- */

/* Element-wise sigma, sigma', sigma'' of one row segment; the switch sits outside the
 * loop so each case is a tight loop over one function. */
static void act_eval(pf_act a, int m, const pf_real *z, pf_real *s, pf_real *ds, pf_real *d2s)
{
    switch (a) {
    case PF_ACT_TANH:
        for (int j = 0; j < m; j++) {
            pf_real t = tanh(z[j]), q = 1 - t * t;
            s[j] = t;
            ds[j] = q;
            d2s[j] = -2 * t * q;
        }
        break;
    case PF_ACT_RELU:
        for (int j = 0; j < m; j++) {
            int on = z[j] > 0;
            s[j] = on ? z[j] : 0;
            ds[j] = on;
            d2s[j] = 0;
        }
        break;
    default:
        for (int j = 0; j < m; j++) pf_activation(a, z[j], &s[j], &ds[j], &d2s[j]);
    }
}

/* a = sigma(z); da = sigma'(z) dz.  sigma' and sigma'' of the value rows are kept
 * (D1, D2) so the backward pass does not evaluate the activation again.  The last
 * `pass` columns are copied. */
static void act_forward(const pf_layer *L, int n, int tangent, const pf_real *Z, pf_real *A,
                        pf_real *D1, pf_real *D2)
{
    const int dim = L->in_dim, na = dim - L->pass;
#pragma omp parallel for schedule(static) if ((size_t)n * dim > PF_OMP_MIN)
    for (int i = 0; i < n; i++) {
        const pf_real *z = Z + (size_t)i * dim, *dz = Z + (size_t)(n + i) * dim;
        pf_real *a = A + (size_t)i * dim, *da = A + (size_t)(n + i) * dim;
        pf_real *d1 = D1 + (size_t)i * dim, *d2 = D2 + (size_t)i * dim;
        act_eval(L->act, na, z, a, d1, d2);
        for (int j = na; j < dim; j++) a[j] = z[j];
        if (tangent) {
            for (int j = 0; j < na; j++) da[j] = d1[j] * dz[j];
            for (int j = na; j < dim; j++) da[j] = dz[j];
        }
    }
}

/* gz = ga sigma'(z) + gda sigma''(z) dz;  gdz = gda sigma'(z).  In place is fine. */
static void act_backward(const pf_layer *L, int n, int tangent, const pf_real *Z,
                         const pf_real *D1, const pf_real *D2, const pf_real *G, pf_real *GZ)
{
    const int dim = L->in_dim, na = dim - L->pass;
#pragma omp parallel for schedule(static) if ((size_t)n * dim > PF_OMP_MIN)
    for (int i = 0; i < n; i++) {
        const pf_real *dz = Z + (size_t)(n + i) * dim;
        const pf_real *d1 = D1 + (size_t)i * dim, *d2 = D2 + (size_t)i * dim;
        const pf_real *ga = G + (size_t)i * dim, *gda = G + (size_t)(n + i) * dim;
        pf_real *gz = GZ + (size_t)i * dim, *gdz = GZ + (size_t)(n + i) * dim;
        if (tangent) {
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

/* ---- network ---------------------------------------------------------------- */

void pf_net_forward(pf_net *net, const pf_real *params, int n, const pf_real *X,
                    const pf_real *U, pf_real *f, pf_real *fdot)
{
    pf_net_reserve(net, n);
    const int tangent = U != NULL, rows = tangent ? 2 * n : n;
    net->n = n;
    net->tangent = tangent;
    /* buf[0] is laid out [values; tangents] like every other layer buffer */
    memcpy(net->buf[0], X, sizeof(pf_real) * (size_t)n * net->in_dim);
    if (tangent) memcpy(net->buf[0] + (size_t)n * net->in_dim, U, sizeof(pf_real) * (size_t)n * net->in_dim);
    for (int l = 0; l < net->n_layers; l++) {
        const pf_layer *L = &net->layers[l];
        switch (L->kind) {
        case PF_LAYER_DENSE: dense_forward(L, params, n, rows, net->buf[l], net->buf[l + 1], &net->flops); break;
        case PF_LAYER_ACT:
            act_forward(L, n, tangent, net->buf[l], net->buf[l + 1], net->d1[l], net->d2[l]);
            break;
        default: pf_die("layer kind %d not supported", (int)L->kind);
        }
    }
    const pf_real *out = net->buf[net->n_layers];
    if (f) memcpy(f, out, sizeof(pf_real) * n);
    if (fdot && tangent) memcpy(fdot, out + n, sizeof(pf_real) * n);
}

void pf_net_backward(pf_net *net, const pf_real *params, const pf_real *w, const pf_real *c,
                     pf_real *grad, pf_real *gX)
{
    const int n = net->n;
    if (c && !net->tangent) pf_die("pf_net_backward: tangent adjoint without a tangent forward");
    /* Without a tangent adjoint the tangent rows carry nothing: use the value rows only. */
    const int tangent = net->tangent && c != NULL, rows = tangent ? 2 * n : n;
    pf_real *G = net->gA, *Gn = net->gB;
    for (int i = 0; i < n; i++) G[i] = w ? w[i] : 0;
    if (tangent)
        for (int i = 0; i < n; i++) G[n + i] = c[i];
    for (int l = net->n_layers - 1; l >= 0; l--) {
        const pf_layer *L = &net->layers[l];
        const int need_in = l > 0 || gX != NULL;
        switch (L->kind) {
        case PF_LAYER_DENSE:
            dense_backward(L, params, n, rows, net->buf[l], G, grad, need_in ? Gn : NULL,
                           &net->flops);
            break;
        case PF_LAYER_ACT:
            act_backward(L, n, tangent, net->buf[l], net->d1[l], net->d2[l], G, Gn);
            break;
        default: pf_die("layer kind %d not supported", (int)L->kind);
        }
        if (!need_in) return;
        pf_real *t = G;
        G = Gn;
        Gn = t;
    }
    memcpy(gX, G, sizeof(pf_real) * (size_t)n * net->in_dim);
}

void pf_net_value_grad(pf_net *net, const pf_real *params, int n, const pf_real *X,
                       pf_real *f, pf_real *gX)
{
    pf_net_forward(net, params, n, X, NULL, f, NULL);
    pf_net_backward(net, params, net->ones, NULL, NULL, gX); /* w = 1 */
}
