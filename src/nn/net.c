/* Networks: layer table, forward with tangents, backward with both adjoints
 * (SPEC §1.9, §2).  Dense layers go through BLAS GEMM; element-wise work is OpenMP. */
#include "proxflow/nn/net.h"
#include "proxflow/nn/conv.h"
#include "proxflow/core/rng.h"
#include "proxflow/nn/vmath.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>


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

static void push_conv(pf_net *net, int C_in, int C_out, int H, int W, int k, int pass)
{
    if (k < 1 || k % 2 == 0)
        pf_fail_collective(2, "arch = cnn: kernel = %d; the conv kernel must be odd (SAME padding)", k);
    pf_layer *L = push_layer(net, PF_LAYER_CONV, C_in * H * W + pass, C_out * H * W + pass);
    L->C_in = C_in;
    L->C_out = C_out;
    L->H = H;
    L->W = W;
    L->k = k;
    L->pass = pass;
    const size_t nw = (size_t)C_out * C_in * k * k;
    L->w_off = net->n_params;
    L->b_off = net->n_params + nw;
    L->n_params = nw + C_out;
    net->n_params += L->n_params;
}

static void push_pool(pf_net *net, int C, int H, int W, int pass)
{
    if (H % 2 || W % 2 || H < 2 || W < 2)
        pf_fail_collective(2, "arch = cnn: max-pool 2x2 stride 2 needs an even image size, but a "
                              "pool layer gets %d x %d (fewer [channels] blocks, or other data)", H, W);
    pf_layer *L = push_layer(net, PF_LAYER_POOL, C * H * W + pass, C * (H / 2) * (W / 2) + pass);
    L->C_in = L->C_out = C;
    L->H = H;
    L->W = W;
    L->pass = pass;
}

void pf_net_begin(pf_net *net, int in_dim, int time_input)
{
    memset(net, 0, sizeof *net);
    net->in_dim = in_dim;
    net->time_input = time_input;
}

/* in_dim of the next layer: the previous layer's out_dim (or the network input). */
static void check_next_in(const pf_net *net, int in_dim)
{
    int prev = net->n_layers ? net->layers[net->n_layers - 1].out_dim : net->in_dim;
    if (prev != in_dim) pf_die("network layer %d: in_dim %d != previous out_dim %d", net->n_layers, in_dim, prev);
}

void pf_net_add_dense(pf_net *net, int in_dim, int out_dim)
{
    check_next_in(net, in_dim);
    push_dense(net, in_dim, out_dim);
}

void pf_net_add_act(pf_net *net, int dim, pf_act act, int pass)
{
    check_next_in(net, dim);
    push_act(net, dim, act, pass);
}

void pf_net_add_conv(pf_net *net, int C_in, int C_out, int H, int W, int k, int pass)
{
    check_next_in(net, C_in * H * W + pass);
    push_conv(net, C_in, C_out, H, W, k, pass);
}

void pf_net_add_pool(pf_net *net, int C, int H, int W, int pass)
{
    check_next_in(net, C * H * W + pass);
    push_pool(net, C, H, W, pass);
}

/* SPEC §2: [conv k x k -> act -> max-pool 2x2] per block, flattened channel-major (the
 * layer buffers are already [C][H][W] per row), t carried as a pass column, then the
 * MLP head and one linear output. */
void pf_net_init_cnn(pf_net *net, int H, int W, int C, int n_blocks, const int *channels,
                     int kernel, pf_act act, const int *head_widths, int n_head,
                     int time_input)
{
    const int pass = time_input ? 1 : 0;
    pf_net_begin(net, C * H * W + pass, time_input);
    for (int b = 0; b < n_blocks; b++) {
        push_conv(net, C, channels[b], H, W, kernel, pass);
        C = channels[b];
        push_act(net, C * H * W + pass, act, pass);
        push_pool(net, C, H, W, pass);
        H /= 2;
        W /= 2;
    }
    int prev = C * H * W + pass;
    for (int l = 0; l < n_head; l++) {
        push_dense(net, prev, head_widths[l]);
        push_act(net, head_widths[l], act, 0);
        prev = head_widths[l];
    }
    push_dense(net, prev, 1); /* linear scalar output */
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
    if (nc->arch == PF_ARCH_CNN) {
        const char *sec = time_input ? "potential" : "discriminator";
        if (H <= 0)
            pf_fail_collective(2, "[%s] arch = cnn needs image data (an MNIST IDX file or an "
                                  "HDF5 dataset [M, H, W(, C)]), but the data source has no "
                                  "image shape; use [%s] arch = mlp", sec, sec);
        if (H * W * C != d)
            pf_die("[%s] arch = cnn: image shape %d x %d x %d does not match the data "
                   "dimension %d", sec, H, W, C, d);
        if (nc->n_channels < 1)
            pf_fail_collective(2, "[%s] arch = cnn needs at least one entry in channels", sec);
        for (int b = 0, h = H, w = W; b < nc->n_channels; b++, h /= 2, w /= 2)
            if (h % 2 || w % 2)
                pf_fail_collective(2, "[%s] arch = cnn: channels has %d blocks, but the "
                                      "max-pool 2x2 of block %d gets an odd image size %d x %d "
                                      "(images are %d x %d); use at most %d blocks", sec,
                                   nc->n_channels, b + 1, h, w, H, W, b);
        pf_net_init_cnn(net, H, W, C, nc->n_channels, nc->channels, nc->kernel, nc->activation,
                        nc->widths, nc->n_widths, time_input);
        return;
    }
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

/* Pool layers' argmax: one int per image output of a value row, layer after layer in
 * one buffer of net->argmax; the offset of layer l (for net->cap rows). */
static size_t pool_outputs(const pf_layer *L)
{
    return L->kind == PF_LAYER_POOL ? (size_t)L->C_in * (L->H / 2) * (L->W / 2) : 0;
}
static int *pool_argmax(const pf_net *net, int l)
{
    size_t off = 0;
    for (int j = 0; j < l; j++) off += pool_outputs(&net->layers[j]);
    return net->argmax + off * 2 * (size_t)net->cap; /* 2 cap value rows: pf_net_reserve */
}

/* Capacity: cap rows with tangents, i.e. 2 cap rows of layer buffers; a forward without
 * tangents may use all 2 cap rows as value rows (a batch of twice the rows, e.g. the
 * n_disc discriminator batches simulated together, issue 7), so the value-row arrays
 * (sigma', pool argmax, ones) hold 2 cap rows; sigma'' is kept only for tangent
 * forwards (cap rows). */
void pf_net_reserve(pf_net *net, int n)
{
    if (n <= net->cap) return;
    const size_t n2 = 2 * (size_t)n;
    int maxd = 0;
    for (int l = 0; l <= net->n_layers; l++) {
        int dl = layer_in_dim(net, l);
        if (dl > maxd) maxd = dl;
        free(net->buf[l]);
        net->buf[l] = pf_malloc(sizeof(pf_real) * n2 * dl);
        if (l < net->n_layers) {
            free(net->d1[l]);
            free(net->d2[l]);
            net->d1[l] = net->d2[l] = NULL;
            if (net->layers[l].kind == PF_LAYER_ACT) {
                net->d1[l] = pf_malloc(sizeof(pf_real) * n2 * dl);
                net->d2[l] = pf_malloc(sizeof(pf_real) * (size_t)n * dl);
            }
        }
    }
    size_t npool = 0;
    for (int l = 0; l < net->n_layers; l++) npool += pool_outputs(&net->layers[l]);
    free(net->argmax);
    net->argmax = npool ? pf_malloc(sizeof(int) * npool * n2) : NULL;
    free(net->gA);
    free(net->gB);
    free(net->ones);
    net->ones = pf_malloc(sizeof(pf_real) * n2);
    for (size_t i = 0; i < n2; i++) net->ones[i] = 1;
    net->gA = pf_malloc(sizeof(pf_real) * n2 * maxd);
    net->gB = pf_malloc(sizeof(pf_real) * n2 * maxd);
    net->max_dim = maxd;
    net->cap = n;
}

size_t pf_net_workspace_bytes(const pf_net *net, int n)
{
    const size_t n2 = 2 * (size_t)n;
    size_t reals = n2, ints = 0; /* ones */
    int maxd = 0;
    for (int l = 0; l <= net->n_layers; l++) {
        const int dl = layer_in_dim(net, l);
        if (dl > maxd) maxd = dl;
        reals += n2 * dl;
        if (l < net->n_layers && net->layers[l].kind == PF_LAYER_ACT) reals += (n2 + n) * dl;
        if (l < net->n_layers) ints += pool_outputs(&net->layers[l]) * n2;
    }
    reals += 2 * n2 * maxd; /* gA, gB */
    return reals * sizeof(pf_real) + ints * sizeof(int);
}

void pf_net_init_params(const pf_net *net, pf_real *params, uint64_t seed, uint32_t purpose)
{
    memset(params, 0, sizeof(pf_real) * net->n_params);
    for (int l = 0; l < net->n_layers; l++) {
        const pf_layer *L = &net->layers[l];
        double std;
        size_t nw;
        if (L->kind == PF_LAYER_DENSE) {
            std = sqrt(2.0 / (L->in_dim + L->out_dim));
            nw = (size_t)L->in_dim * L->out_dim;
        } else if (L->kind == PF_LAYER_CONV) {
            /* Glorot for a conv: fan_in = C_in k^2, fan_out = C_out k^2 */
            const double kk = (double)L->k * L->k;
            std = sqrt(2.0 / (L->C_in * kk + L->C_out * kk));
            nw = (size_t)L->C_out * L->C_in * L->k * L->k;
        } else
            continue;
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
        if (L->kind == PF_LAYER_CONV) f += pf_conv_flops(L, n);
    }
    return f;
}

/* ---- dense layer ------------------------------------------------------------- */

/* Z[rows x out] = A[rows x in] W^T; bias on the value rows only (a tangent has none).
 * Z starts as the bias (value rows) or 0 (tangent rows) and the GEMM adds to it (beta
 * = 1): one pass over Z fewer than adding the bias afterwards, and the same bits for
 * K = in within one BLAS K-block (acc + b either way).  A scalar output (out = 1, the
 * last layer) is a GEMV: GEMM's packing costs more than the product there. */
static void dense_forward(const pf_layer *L, const pf_real *p, int n, int rows,
                          const pf_real *A, pf_real *Z, double *flops)
{
    const int in = L->in_dim, out = L->out_dim;
    const pf_real *b = p + L->b_off;
    *flops += 2.0 * rows * in * out;
#pragma omp parallel for schedule(static) if ((size_t)rows * out > pf_omp_min)
    for (int i = 0; i < rows; i++) {
        pf_real *z = Z + (size_t)i * out;
        if (i < n) memcpy(z, b, sizeof(pf_real) * out);
        else memset(z, 0, sizeof(pf_real) * out);
    }
    if (out == 1)
        PF_GEMV(CblasRowMajor, CblasNoTrans, rows, in, 1, A, in, p + L->w_off, 1, 1, Z, 1);
    else
        PF_GEMM(CblasRowMajor, CblasNoTrans, CblasTrans, rows, out, in, 1, A, in, p + L->w_off,
                in, 1, Z, out);
}

/* Given G = dS/dZ [rows x out]: grad W += G^T A, grad b += sum of value rows of G,
 * gA = G W (if gA).  The bias sum runs over rows in order for every column (the same
 * order as a column-by-column sum, so thread-count independent), reading G row by row. */
static void dense_backward(const pf_layer *L, const pf_real *p, int n, int rows,
                           const pf_real *A, const pf_real *G, pf_real *grad, pf_real *gA,
                           double *flops)
{
    const int in = L->in_dim, out = L->out_dim;
    const pf_real *w = p + L->w_off;
    *flops += 2.0 * rows * in * out * ((grad != NULL) + (gA != NULL));
    if (grad) {
        if (out == 1)
            PF_GEMV(CblasRowMajor, CblasTrans, rows, in, 1, A, in, G, 1, 1, grad + L->w_off, 1);
        else
            PF_GEMM(CblasRowMajor, CblasTrans, CblasNoTrans, out, in, rows, 1, G, out, A, in, 1,
                    grad + L->w_off, in);
        pf_real *gb = grad + L->b_off;
        enum { JB = 64 };
        const int nb = (out + JB - 1) / JB;
#pragma omp parallel for schedule(static) if ((size_t)n * out > pf_omp_min && nb > 1)
        for (int jb = 0; jb < nb; jb++) {
            const int j0 = jb * JB, m = out - j0 < JB ? out - j0 : JB;
            pf_real acc[JB] = {0};
            for (int i = 0; i < n; i++) {
                const pf_real *g = G + (size_t)i * out + j0;
                for (int j = 0; j < m; j++) acc[j] += g[j];
            }
            for (int j = 0; j < m; j++) gb[j0 + j] += acc[j];
        }
    }
    if (gA) {
        if (out == 1) { /* rank one: gA_i = G_i w, exact products as in the GEMM */
#pragma omp parallel for schedule(static) if ((size_t)rows * in > pf_omp_min)
            for (int i = 0; i < rows; i++)
                for (int k = 0; k < in; k++) gA[(size_t)i * in + k] = G[i] * w[k];
        } else
            PF_GEMM(CblasRowMajor, CblasNoTrans, CblasNoTrans, rows, in, out, 1, G, out, w, in, 0,
                    gA, in);
    }
}

/* ---- activation layer ---------------------------------------------------------- */

/* Element-wise sigma, sigma' and (d2s != NULL) sigma'' of one row segment; the switch
 * sits outside the loop so each case is a tight loop over one function. */
static void act_eval(pf_act a, int m, const pf_real *z, pf_real *s, pf_real *ds, pf_real *d2s)
{
    switch (a) {
    case PF_ACT_TANH: /* vectorised, within 3 ulp of libm (src/vmath.c, issue 7) */
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
static void act_forward(const pf_layer *L, int n, int tangent, const pf_real *Z, pf_real *A,
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
static void act_forward_tangent(const pf_layer *L, int n, const pf_real *Z, pf_real *A,
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
static void act_backward(const pf_layer *L, int n, int tangent, const pf_real *Z,
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

/* ---- network ---------------------------------------------------------------- */

void pf_net_forward(pf_net *net, const pf_real *params, int n, const pf_real *X,
                    const pf_real *U, pf_real *f, pf_real *fdot)
{
    const int tangent = U != NULL, rows = tangent ? 2 * n : n;
    pf_net_reserve(net, tangent ? n : (n + 1) / 2); /* rows <= 2 cap */
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
        case PF_LAYER_CONV:
            pf_conv_forward(L, params, n, rows, net->buf[l], net->buf[l + 1], &net->flops);
            break;
        case PF_LAYER_POOL:
            pf_pool_forward(L, n, tangent, net->buf[l], net->buf[l + 1], pool_argmax(net, l));
            break;
        }
    }
    const pf_real *out = net->buf[net->n_layers];
    if (f) memcpy(f, out, sizeof(pf_real) * n);
    if (fdot && tangent) memcpy(fdot, out + n, sizeof(pf_real) * n);
}

void pf_net_forward_tangent(pf_net *net, const pf_real *params, const pf_real *U, pf_real *fdot)
{
    const int n = net->n;
    if (net->tangent) pf_die("pf_net_forward_tangent: the net holds a tangent forward already");
    if (n > net->cap) pf_die("pf_net_forward_tangent: %d value rows leave no room for tangents (capacity %d)", n, net->cap);
    net->tangent = 1;
    if (n == 0) return;
    memcpy(net->buf[0] + (size_t)n * net->in_dim, U, sizeof(pf_real) * (size_t)n * net->in_dim);
    for (int l = 0; l < net->n_layers; l++) {
        const pf_layer *L = &net->layers[l];
        pf_real *tin = net->buf[l] + (size_t)n * L->in_dim, *tout = net->buf[l + 1] + (size_t)n * L->out_dim;
        switch (L->kind) { /* n = 0 value rows: no bias, as for tangent rows */
        case PF_LAYER_DENSE: dense_forward(L, params, 0, n, tin, tout, &net->flops); break;
        case PF_LAYER_ACT:
            act_forward_tangent(L, n, net->buf[l], net->buf[l + 1], net->d1[l], net->d2[l]);
            break;
        case PF_LAYER_CONV: pf_conv_forward(L, params, 0, n, tin, tout, &net->flops); break;
        case PF_LAYER_POOL:
            pf_pool_forward_tangent(L, n, net->buf[l], net->buf[l + 1], pool_argmax(net, l));
            break;
        }
    }
    if (fdot) memcpy(fdot, net->buf[net->n_layers] + n, sizeof(pf_real) * n);
}

/* 1 if every activation is ReLU: sigma'' = 0 exactly, the network is piecewise linear. */
static int piecewise_linear(const pf_net *net)
{
    for (int l = 0; l < net->n_layers; l++)
        if (net->layers[l].kind == PF_LAYER_ACT && net->layers[l].act != PF_ACT_RELU) return 0;
    return 1;
}

/* The backward of S = sum_i c_i grad f(x_i) . u_i (w = 0) through a piecewise-linear
 * network.  The value rows' adjoint starts at 0 and stays 0 (dense, conv and pool are
 * linear in it; an activation adds only gda sigma'' dz, and sigma'' = 0), so only the n
 * tangent rows are carried: half the GEMMs of the general backward, whose value-row
 * halves would only add exact zeros (issue 7).  dS/dx = 0 (the Hessian vanishes). */
static void backward_tangent_only(pf_net *net, const pf_real *params, const pf_real *c,
                                  pf_real *grad, pf_real *gX)
{
    const int n = net->n;
    pf_real *G = net->gA, *Gn = net->gB;
    memcpy(G, c, sizeof(pf_real) * (size_t)n); /* rows [0, n): the tangent adjoints */
    for (int l = net->n_layers - 1; l >= 0; l--) {
        const pf_layer *L = &net->layers[l];
        const pf_real *At = net->buf[l] + (size_t)n * L->in_dim; /* tangent rows of the input */
        const int need_in = l > 0;
        switch (L->kind) {
        case PF_LAYER_DENSE: /* no value rows: no bias gradient */
            dense_backward(L, params, 0, n, At, G, grad, need_in ? Gn : NULL, &net->flops);
            break;
        case PF_LAYER_ACT: /* gdz = gda sigma'(z), sigma' of the matching value row */
            act_backward(L, n, 0, net->buf[l], net->d1[l], NULL, G, Gn);
            break;
        case PF_LAYER_CONV:
            pf_conv_backward(L, params, 0, n, At, G, grad, need_in ? Gn : NULL, &net->flops);
            break;
        case PF_LAYER_POOL: /* tangent row i follows value row i's argmax */
            if (need_in) pf_pool_backward(L, n, 0, pool_argmax(net, l), G, Gn);
            break;
        }
        if (!need_in) break;
        pf_real *t = G;
        G = Gn;
        Gn = t;
    }
    if (gX) memset(gX, 0, sizeof(pf_real) * (size_t)n * net->in_dim);
}

void pf_net_backward(pf_net *net, const pf_real *params, const pf_real *w, const pf_real *c,
                     pf_real *grad, pf_real *gX)
{
    const int n = net->n;
    if (c && !net->tangent) pf_die("pf_net_backward: tangent adjoint without a tangent forward");
    if (!w && c && piecewise_linear(net)) {
        backward_tangent_only(net, params, c, grad, gX);
        return;
    }
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
        case PF_LAYER_CONV:
            pf_conv_backward(L, params, n, rows, net->buf[l], G, grad, need_in ? Gn : NULL,
                             &net->flops);
            break;
        case PF_LAYER_POOL:
            if (need_in) pf_pool_backward(L, n, tangent, pool_argmax(net, l), G, Gn);
            break;
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
