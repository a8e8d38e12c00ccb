/* proxflow: networks as lists of layers, with the derivatives of SPEC §1.9.
 *
 * Every layer has a forward pass that carries a value and (optionally) a tangent,
 * and a backward pass that carries the adjoints of both:
 *   forward:  rows [0, n) of a layer buffer are the values a_i, rows [n, 2n) the
 *             tangents da_i = (d a_i / d x_i) . u_i  for per-sample directions u_i;
 *   backward: given adjoints w_i of f(x_i) and c_i of the output tangent
 *             fdot_i = grad_x f(x_i) . u_i, accumulate the parameter gradient of
 *             S = sum_i w_i f(x_i) + c_i fdot_i  and return dS/dx_i (u held fixed).
 * With c = 0 this is the ordinary gradient (items 1-2 of SPEC §1.9); with w = 0 and
 * c = 1 it is the second-order primitive (item 3) used by the trajectory adjoint and
 * the Lipschitz penalty.
 *
 * All parameters of a network live in one contiguous buffer; the layer table holds
 * offsets into it (llm.c style).  Parameter gradients accumulate (+=). */
#ifndef PROXFLOW_NET_H
#define PROXFLOW_NET_H

#include "proxflow/core/common.h"
#include "proxflow/config/config.h"

#define PF_MAX_LAYERS 64

typedef enum { PF_LAYER_DENSE = 0, PF_LAYER_ACT, PF_LAYER_CONV, PF_LAYER_POOL } pf_layer_kind;

typedef struct {
    pf_layer_kind kind;
    int in_dim, out_dim;   /* features per sample                                  */
    size_t w_off, b_off;   /* offsets of weights [out x in] and bias [out] (dense) */
    size_t n_params;
    pf_act act;            /* activation layers                                    */
    int pass;              /* trailing input columns copied through unchanged (t)  */
    /* conv / pool geometry (image layers, channel-major [C][H][W]) */
    int H, W, C_in, C_out, k;
} pf_layer;

typedef struct {
    int n_layers;
    pf_layer layers[PF_MAX_LAYERS];
    int in_dim;            /* input features (d, or d + 1 with t appended)          */
    int time_input;        /* 1 if the last input column is the time t              */
    size_t n_params;
    /* workspace (grown by pf_net_reserve) */
    int cap;               /* value rows the buffers hold (tangent rows double it)  */
    int max_dim;
    pf_real *buf[PF_MAX_LAYERS + 1]; /* buf[l] = input of layer l, [2*cap x dim_l]   */
    pf_real *d1[PF_MAX_LAYERS], *d2[PF_MAX_LAYERS]; /* activation layers: sigma', sigma''
                                                        of the value rows [cap x dim] */
    pf_real *gA, *gB;      /* backward ping-pong buffers [2*cap x max_dim]          */
    pf_real *ones;         /* [cap] of 1: the weights of a plain gradient            */
    int *argmax;           /* pool layers: selected element per output (later)      */
    double flops;          /* floating-point operations of the dense GEMMs so far    */
    double seconds[PF_MAX_LAYERS]; /* time in each layer so far, forward and backward
                                      (proxflow_bench's per-layer split)               */
    int n;                 /* rows of the last forward                               */
    int tangent;           /* 1 if the last forward carried tangents                 */
} pf_net;

/* An MLP: in_dim -> widths... -> 1, activation after every hidden layer, linear
 * output.  time_input marks the last input column as t (phi). */
void pf_net_init_mlp(pf_net *net, int in_dim, int n_widths, const int *widths, pf_act act,
                     int time_input);
/* A network from its config section (MLP or, for image data, CNN). */
void pf_net_init_from_config(pf_net *net, const pf_net_config *nc, int d, int H, int W, int C,
                             int time_input);
void pf_net_free(pf_net *net);
/* Workspace for n rows with tangents, which is also 2n rows without (a value-only
 * forward of m rows needs pf_net_reserve(net, (m + 1) / 2)); grows, never shrinks. */
void pf_net_reserve(pf_net *net, int n);
/* Bytes pf_net_reserve(net, n) allocates (for choosing batch sizes under a budget). */
size_t pf_net_workspace_bytes(const pf_net *net, int n);

/* Glorot-normal weights (std sqrt(2/(fan_in+fan_out))), zero biases, from the
 * counter-based generator: parameter k draws from (seed, 0, purpose, k). */
void pf_net_init_params(const pf_net *net, pf_real *params, uint64_t seed, uint32_t purpose);

/* Forward on n rows X [n x in_dim].  U [n x in_dim] are tangent directions (NULL: no
 * tangent).  Writes f [n] and, with U, fdot [n] (either may be NULL). */
void pf_net_forward(pf_net *net, const pf_real *params, int n, const pf_real *X,
                    const pf_real *U, pf_real *f, pf_real *fdot);

/* The tangent half of a forward, for the value forward the net holds (issue 7): after
 * pf_net_forward(net, params, n, X, NULL, ...) or pf_net_value_grad(net, params, n, X,
 * ...) with the same params and nothing else run on net since (a backward is fine), this
 * is pf_net_forward(net, params, n, X, U, f, fdot) without computing the values again:
 * one forward GEMM of n rows and every activation evaluation fewer.  Values come from
 * n-row GEMMs instead of 2n-row ones, so results may differ in the last bits.  Writes
 * fdot [n] (may be NULL); pf_net_backward may follow with tangent adjoints. */
void pf_net_forward_tangent(pf_net *net, const pf_real *params, const pf_real *U, pf_real *fdot);

/* Backward through the last forward.  w [n]: adjoints of f (NULL = 0); c [n]: adjoints
 * of fdot (NULL = 0, needs a forward with tangents otherwise).  Accumulates parameter
 * gradients into grad (NULL: skip) and writes dS/dX into gX [n x in_dim] (NULL: skip).*/
void pf_net_backward(pf_net *net, const pf_real *params, const pf_real *w, const pf_real *c,
                     pf_real *grad, pf_real *gX);

/* f(X) and grad_x f(X) [n x in_dim] (SPEC §1.9 item 1); f may be NULL. */
void pf_net_value_grad(pf_net *net, const pf_real *params, int n, const pf_real *X,
                       pf_real *f, pf_real *gX);

/* Activation and its first two derivatives (exported for tests). */
void pf_activation(pf_act a, pf_real z, pf_real *s, pf_real *ds, pf_real *d2s);

/* The CNN of SPEC §2: n_blocks blocks of conv k x k (C -> channels[b]) -> act ->
 * max-pool 2x2, flattened channel-major, then an MLP head (head_widths, act) ending in
 * one linear output.  time_input: the input rows are [x (C*H*W), t] and t is carried
 * through the trunk as a pass column, so the head sees [features, t].  Dies (a
 * collective config error) if k is even or an image size to pool is odd. */
void pf_net_init_cnn(pf_net *net, int H, int W, int C, int n_blocks, const int *channels,
                     int kernel, pf_act act, const int *head_widths, int n_head,
                     int time_input);

/* Layer-by-layer construction (tests, custom networks): pf_net_begin, then layers
 * whose in_dim matches the previous out_dim, ending in out_dim 1. */
void pf_net_begin(pf_net *net, int in_dim, int time_input);
void pf_net_add_dense(pf_net *net, int in_dim, int out_dim);
void pf_net_add_act(pf_net *net, int dim, pf_act act, int pass);
void pf_net_add_conv(pf_net *net, int C_in, int C_out, int H, int W, int k, int pass);
void pf_net_add_pool(pf_net *net, int C, int H, int W, int pass);

#endif
