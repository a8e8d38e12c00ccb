/* Networks: building the layer table (MLP, CNN, layer by layer), the workspace and the
 * initial parameters (SPEC §2).  The passes over the table are in net_passes.c. */
#include "proxflow/nn/net.h"
#include "proxflow/nn/layers.h"
#include "nn/net_impl.h"
#include "proxflow/core/rng.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>


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
int *pf_net_pool_argmax(const pf_net *net, int l)
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
