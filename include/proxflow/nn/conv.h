/* proxflow: convolutional layers (SPEC §2 "CNN") with the derivatives of SPEC §1.9.
 *
 * Images are channel-major [C][H][W], flattened per row of a layer buffer; `pass`
 * trailing columns after the image (the time t of phi) are copied through unchanged.
 * Like every layer (include/proxflow/net.h), a kernel works on `rows` rows of which
 * [0, n) are values and [n, 2n) tangents (rows = n without tangents): the tangent of
 * a conv output is the same linear map without the bias; the tangent through max-pool
 * follows the selected element of the value row (SPEC §1.9, §2).
 *
 *   conv  (PF_LAYER_CONV): k x k (k odd), stride 1, SAME (zero) padding, with bias;
 *         weights [C_out x C_in*k*k] (index (co, ci, ky, kx)) at L->w_off, bias
 *         [C_out] at L->b_off.  in_dim = C_in*H*W + pass, out_dim = C_out*H*W + pass.
 *         Computed as im2col + GEMM per sample, OpenMP over samples.
 *   pool  (PF_LAYER_POOL): max-pool 2x2 stride 2 (H, W even), C_in = C_out = C;
 *         in_dim = C*H*W + pass, out_dim = C*(H/2)*(W/2) + pass.  Ties: the first
 *         maximum in row-major order of the window.
 *
 * Determinism: the weight and bias gradients are summed per fixed chunk of rows and the
 * chunk partials reduced in chunk order, so results are bit-identical for any number
 * of OpenMP threads (tests/test_conv.c checks 1 vs 2). */
#ifndef PROXFLOW_CONV_H
#define PROXFLOW_CONV_H

#include "proxflow/nn/net.h"

/* ---- kernels (src/conv.c) ----------------------------------------------------- */

/* inp (C, H, W) -> col (C*k*k, H*W): col[(c*k+ky)*k+kx][y*W+x] = inp[c][y+ky-k/2][x+kx-k/2]
 * (zero outside the image). */
void pf_im2col(const pf_real *inp, int C, int H, int W, int k, pf_real *col);
/* The adjoint of pf_im2col: inp (C, H, W) += col2im(col (C*k*k, H*W)).  col is used as
 * scratch: entries that fall outside the image are set to zero. */
void pf_col2im_add(pf_real *col, int C, int H, int W, int k, pf_real *inp);

/* inp (rows, C_in*H*W + pass) -> out (rows, C_out*H*W + pass); bias on rows [0, n). */
void pf_conv_forward(const pf_layer *L, const pf_real *params, int n, int rows,
                     const pf_real *inp, pf_real *out, double *flops);
/* Given G = dS/dout (rows, out_dim): grad W += sum_r G_r col_r^T, grad b += sum over
 * value rows of G (if grad); dinp = W^T G via col2im (if dinp; overwritten). */
void pf_conv_backward(const pf_layer *L, const pf_real *params, int n, int rows,
                      const pf_real *inp, const pf_real *G, pf_real *grad, pf_real *dinp,
                      double *flops);

/* inp (rows, C*H*W + pass) -> out (rows, C*(H/2)*(W/2) + pass).  argmax (n, C*(H/2)*(W/2)):
 * index in [0, C*H*W) of the selected input of each value-row output; tangent rows
 * (if tangent) take the tangent of that element. */
void pf_pool_forward(const pf_layer *L, int n, int tangent, const pf_real *inp, pf_real *out,
                     int *argmax);
/* The tangent rows [n, 2n) of pf_pool_forward only, from the argmax its value rows
 * stored (pf_net_forward_tangent). */
void pf_pool_forward_tangent(const pf_layer *L, int n, const pf_real *inp, pf_real *out,
                             const int *argmax);
/* dinp (rows, in_dim) = both adjoints routed to the selected elements (zero elsewhere). */
void pf_pool_backward(const pf_layer *L, int n, int tangent, const int *argmax,
                      const pf_real *G, pf_real *dinp);

/* Multiply-adds x 2 of one conv forward of `rows` rows. */
double pf_conv_flops(const pf_layer *L, int rows);

/* ---- building networks (src/net.c) ---------------------------------------------- */

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
