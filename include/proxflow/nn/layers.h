/* proxflow: the layer kernels (SPEC §2) with the derivatives of SPEC §1.9.
 *
 * Every kernel works on `rows` rows of a layer buffer of which [0, n) are values and
 * [n, 2n) tangents (rows = n without tangents; include/proxflow/nn/net.h): a forward
 * carries values and tangents, a backward the adjoints of both.  Parameter gradients
 * accumulate (+=) into grad at the layer's offsets (one buffer per network).
 *
 *   dense (PF_LAYER_DENSE, src/nn/dense.c): Z = A W^T + b, weights [out x in] at
 *         L->w_off, bias [out] at L->b_off; the tangent has no bias.  BLAS GEMM (GEMV
 *         for a scalar output).
 *   act   (PF_LAYER_ACT, src/nn/activation.c): a = sigma(z) on the first dim - pass
 *         columns (relu, softplus, tanh, silu), the last `pass` copied; da = sigma' dz.
 *         sigma' (and, with tangents, sigma'') of the value rows are kept for the
 *         backward (D1, D2 [rows x dim]).
 *   conv  (PF_LAYER_CONV, src/nn/conv.c): images channel-major [C][H][W], flattened per
 *         row; `pass` trailing columns after the image (the time t of phi) copied
 *         through.  k x k (k odd), stride 1, SAME (zero) padding, with bias; weights
 *         [C_out x C_in*k*k] (index (co, ci, ky, kx)) at L->w_off, bias [C_out] at
 *         L->b_off.  in_dim = C_in*H*W + pass, out_dim = C_out*H*W + pass.  im2col +
 *         GEMM per sample, OpenMP over samples; the tangent is the same linear map
 *         without the bias.
 *   pool  (PF_LAYER_POOL, src/nn/conv.c): max-pool 2x2 stride 2 (H, W even), C_in =
 *         C_out = C; in_dim = C*H*W + pass, out_dim = C*(H/2)*(W/2) + pass.  Ties: the
 *         first maximum in row-major order of the window; the tangent follows the
 *         selected element of the value row.
 *
 * Determinism: every kernel runs on one thread (a network call covers one chunk of rows
 * on one lane, SPEC §3), summing over its rows in order. */
#ifndef PROXFLOW_NN_LAYERS_H
#define PROXFLOW_NN_LAYERS_H

#include "proxflow/nn/net.h"

/* ---- dense (src/nn/dense.c) -------------------------------------------------------- */

/* Z [rows x out] = A [rows x in] W^T, plus the bias on the value rows [0, n). */
void pf_dense_forward(const pf_layer *L, const pf_real *p, int n, int rows, const pf_real *A,
                      pf_real *Z, double *flops);
/* Given G = dS/dZ [rows x out]: grad W += G^T A, grad b += the sum of G's value rows (if
 * grad); gA = G W (if gA; overwritten). */
void pf_dense_backward(const pf_layer *L, const pf_real *p, int n, int rows, const pf_real *A,
                       const pf_real *G, pf_real *grad, pf_real *gA, double *flops);

/* ---- activation (src/nn/activation.c) ---------------------------------------------- */

/* A = sigma(Z) on n value rows (and, with tangent, dA = sigma'(Z) dZ on the n tangent
 * rows); keeps sigma' in D1 (and sigma'' in D2 with tangents). */
void pf_act_forward(const pf_layer *L, int n, int tangent, const pf_real *Z, pf_real *A,
                    pf_real *D1, pf_real *D2);
/* Only the tangent rows of pf_act_forward, for the value rows it computed before (and
 * sigma'' of those into D2). */
void pf_act_forward_tangent(const pf_layer *L, int n, const pf_real *Z, pf_real *A,
                            const pf_real *D1, pf_real *D2);
/* gz = ga sigma'(z) + gda sigma''(z) dz;  gdz = gda sigma'(z) (in place is fine). */
void pf_act_backward(const pf_layer *L, int n, int tangent, const pf_real *Z, const pf_real *D1,
                     const pf_real *D2, const pf_real *G, pf_real *GZ);

/* ---- conv and pool (src/nn/conv.c) ------------------------------------------------- */

/* inp (C, H, W) -> col (C*k*k, H*W): col[(c*k+ky)*k+kx][y*W+x] = inp[c][y+ky-k/2][x+kx-k/2]
 * (zero outside the image). */
void pf_im2col(const pf_real *inp, int C, int H, int W, int k, pf_real *col);
/* The same with the rows of col ldc apart. */
void pf_im2col_ld(const pf_real *inp, int C, int H, int W, int k, pf_real *col, size_t ldc);
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

#endif
