/* Convolutional layers: conv k x k SAME (im2col + GEMM) and max-pool 2x2, each with a
 * forward that carries values and tangents and a backward that carries the adjoints of
 * both (SPEC §1.9, §2; include/proxflow/nn/layers.h).
 *
 * Threads: OpenMP over samples; every thread has its own im2col scratch and calls BLAS
 * from inside the parallel region, where the OpenMP build of OpenBLAS runs on one
 * thread (no oversubscription, SPEC §3).  Parameter gradients are summed per fixed
 * chunk of PF_CONV_CHUNK rows and the chunks reduced in order, so the result does not
 * depend on the number of threads.
 *
 * Why one GEMM per sample: a sample's col (C_in k^2 x H W; 600 KB for the MNIST nets'
 * second conv) stays in cache between im2col and the GEMM.  One GEMM over the im2col of
 * 8 samples side by side was measured about 2x slower (the batched col falls out of
 * cache), and the per-sample GEMMs run at 80-90% of what cblas reaches on these skinny
 * (M = C_out) shapes in isolation. */
#include "proxflow/nn/layers.h"

#include <cblas.h>
#include <stdlib.h>
#include <string.h>

/* Rows per weight-gradient partial (fixed: independent of the thread count). */
#define PF_CONV_CHUNK 4

/* ---- im2col / col2im ------------------------------------------------------------- */

/* Valid output columns [x0, x1) for a horizontal offset dx: 0 <= x + dx < W. */
static void x_range(int W, int dx, int *x0, int *x1)
{
    *x0 = dx < 0 ? -dx : 0;
    *x1 = dx > 0 ? W - dx : W;
    if (*x0 > W) *x0 = W;
    if (*x1 < *x0) *x1 = *x0;
}

// inp (C, H, W) -> col (C*k*k, H*W)
// Row (c, ky, kx) of col is the channel-c image shifted by (ky - p, kx - p): on the valid
// output rows [y0, y1) it is one contiguous copy of the flattened image (offset
// (ky-p)*W + dx), after which the |dx| columns per row that wrapped around from the
// neighbouring image row are zeroed; rows outside [y0, y1) are zero.
void pf_im2col(const pf_real *inp, int C, int H, int W, int k, pf_real *col)
{
    const int p = k / 2, HW = H * W;
    for (int c = 0; c < C; c++) {
        const pf_real *img = inp + (size_t)c * HW;
        for (int ky = 0; ky < k; ky++) {
            const int dy = ky - p;
            const int y0 = dy < 0 ? -dy : 0, y1 = dy > 0 ? H - dy : H;
            for (int kx = 0; kx < k; kx++) {
                pf_real *dst = col + ((size_t)(c * k + ky) * k + kx) * HW;
                const int dx = kx - p;
                int x0, x1;
                x_range(W, dx, &x0, &x1);
                if (y1 <= y0 || x1 <= x0) {
                    memset(dst, 0, sizeof(pf_real) * HW);
                    continue;
                }
                memset(dst, 0, sizeof(pf_real) * ((size_t)y0 * W + x0));
                const size_t a = (size_t)y0 * W + x0, b = (size_t)(y1 - 1) * W + x1;
                memcpy(dst + a, img + a + (ptrdiff_t)dy * W + dx, sizeof(pf_real) * (b - a));
                for (size_t q = b; q < (size_t)HW; q++) dst[q] = 0;
                if (dx != 0)
                    for (int y = y0; y < y1; y++) {
                        pf_real *d = dst + (size_t)y * W;
                        for (int x = 0; x < x0; x++) d[x] = 0;
                        for (int x = x1; x < W; x++) d[x] = 0;
                    }
            }
        }
    }
}

// col (C*k*k, H*W) -> inp (C, H, W) +=   (the adjoint of pf_im2col)
// Like pf_im2col: the wrapped columns of each row of col are zeroed (col is scratch and
// is modified), then each row of col is added to the image in one contiguous sweep.
void pf_col2im_add(pf_real *col, int C, int H, int W, int k, pf_real *inp)
{
    const int p = k / 2, HW = H * W;
    for (int c = 0; c < C; c++) {
        pf_real *img = inp + (size_t)c * HW;
        for (int ky = 0; ky < k; ky++) {
            const int dy = ky - p;
            const int y0 = dy < 0 ? -dy : 0, y1 = dy > 0 ? H - dy : H;
            for (int kx = 0; kx < k; kx++) {
                pf_real *src = col + ((size_t)(c * k + ky) * k + kx) * HW;
                const int dx = kx - p;
                int x0, x1;
                x_range(W, dx, &x0, &x1);
                if (y1 <= y0 || x1 <= x0) continue;
                if (dx != 0)
                    for (int y = y0; y < y1; y++) {
                        pf_real *s = src + (size_t)y * W;
                        for (int x = 0; x < x0; x++) s[x] = 0;
                        for (int x = x1; x < W; x++) s[x] = 0;
                    }
                const size_t a = (size_t)y0 * W + x0, b = (size_t)(y1 - 1) * W + x1;
                pf_real *d = img + (ptrdiff_t)dy * W + dx;
                for (size_t q = a; q < b; q++) d[q] += src[q];
            }
        }
    }
}

/* ---- conv ------------------------------------------------------------------------ */

double pf_conv_flops(const pf_layer *L, int rows)
{
    return 2.0 * rows * L->C_out * (double)L->C_in * L->k * L->k * L->H * L->W;
}

/* Copy the trailing `pass` columns of every row (t of phi). */
static void copy_pass(int rows, int pass, const pf_real *src, int src_dim, pf_real *dst,
                      int dst_dim)
{
    if (pass <= 0) return;
    for (int r = 0; r < rows; r++)
        memcpy(dst + (size_t)r * dst_dim + (dst_dim - pass),
               src + (size_t)r * src_dim + (src_dim - pass), sizeof(pf_real) * pass);
}

// inp (rows, C_in, H, W | pass) -> out (rows, C_out, H, W | pass)
// out_r = W col(inp_r) (+ b on the value rows r < n; a tangent row has no bias)
void pf_conv_forward(const pf_layer *L, const pf_real *params, int n, int rows,
                     const pf_real *inp, pf_real *out, double *flops)
{
    const int Ci = L->C_in, Co = L->C_out, H = L->H, W = L->W, k = L->k, HW = H * W;
    const int K = Ci * k * k, ind = L->in_dim, outd = L->out_dim;
    const pf_real *Wt = params + L->w_off, *b = params + L->b_off;
    *flops += pf_conv_flops(L, rows);
#pragma omp parallel
    {
        pf_real *col = pf_malloc(sizeof(pf_real) * (size_t)K * HW);
#pragma omp for schedule(static)
        for (int r = 0; r < rows; r++) {
            const pf_real *x = inp + (size_t)r * ind;
            pf_real *z = out + (size_t)r * outd;
            for (int co = 0; co < Co; co++) {
                const pf_real bc = r < n ? b[co] : 0;
                for (int q = 0; q < HW; q++) z[(size_t)co * HW + q] = bc;
            }
            pf_im2col(x, Ci, H, W, k, col);
            // z (Co, HW) += W (Co, K) col (K, HW)
            PF_GEMM(CblasRowMajor, CblasNoTrans, CblasNoTrans, Co, HW, K, 1, Wt, K, col, HW, 1,
                    z, HW);
        }
        free(col);
    }
    copy_pass(rows, L->pass, inp, ind, out, outd);
}

// G (rows, C_out, H, W | pass) -> grad W (C_out, C_in*k*k) +=, grad b (C_out) +=,
//                                 dinp (rows, C_in, H, W | pass) =
void pf_conv_backward(const pf_layer *L, const pf_real *params, int n, int rows,
                      const pf_real *inp, const pf_real *G, pf_real *grad, pf_real *dinp,
                      double *flops)
{
    const int Ci = L->C_in, Co = L->C_out, H = L->H, W = L->W, k = L->k, HW = H * W;
    const int K = Ci * k * k, ind = L->in_dim, outd = L->out_dim;
    const pf_real *Wt = params + L->w_off;
    if (!grad && !dinp) return;
    *flops += pf_conv_flops(L, rows) * ((grad != NULL) + (dinp != NULL));
    /* one partial [dW (Co x K) | db (Co)] per chunk of PF_CONV_CHUNK rows */
    const int nchunk = (rows + PF_CONV_CHUNK - 1) / PF_CONV_CHUNK;
    const size_t psz = (size_t)Co * K + Co;
    pf_real *part = grad ? pf_malloc(sizeof(pf_real) * psz * (nchunk > 0 ? nchunk : 1)) : NULL;
#pragma omp parallel
    {
        pf_real *col = pf_malloc(sizeof(pf_real) * (size_t)K * HW);
#pragma omp for schedule(static)
        for (int c = 0; c < nchunk; c++) {
            pf_real *pw = grad ? part + (size_t)c * psz : NULL;
            if (pw) memset(pw, 0, sizeof(pf_real) * psz);
            const int r1 = (c + 1) * PF_CONV_CHUNK < rows ? (c + 1) * PF_CONV_CHUNK : rows;
            for (int r = c * PF_CONV_CHUNK; r < r1; r++) {
                const pf_real *g = G + (size_t)r * outd;
                if (pw) {
                    pf_im2col(inp + (size_t)r * ind, Ci, H, W, k, col);
                    // dW (Co, K) += g (Co, HW) col^T (HW, K)
                    PF_GEMM(CblasRowMajor, CblasNoTrans, CblasTrans, Co, K, HW, 1, g, HW, col,
                            HW, 1, pw, K);
                    if (r < n) /* bias: value rows only */
                        for (int co = 0; co < Co; co++) {
                            pf_real s = 0;
                            for (int q = 0; q < HW; q++) s += g[(size_t)co * HW + q];
                            pw[(size_t)Co * K + co] += s;
                        }
                }
                if (dinp) {
                    pf_real *dx = dinp + (size_t)r * ind;
                    // dcol (K, HW) = W^T (K, Co) g (Co, HW); dinp_r = col2im(dcol)
                    PF_GEMM(CblasRowMajor, CblasTrans, CblasNoTrans, K, HW, Co, 1, Wt, K, g, HW,
                            0, col, HW);
                    memset(dx, 0, sizeof(pf_real) * (size_t)Ci * HW);
                    pf_col2im_add(col, Ci, H, W, k, dx);
                }
            }
        }
        free(col);
        if (grad) {
            /* fixed-order reduction of the chunk partials: entry j sums chunks 0..nchunk-1 */
            pf_real *gw = grad + L->w_off, *gb = grad + L->b_off;
#pragma omp for schedule(static)
            for (size_t j = 0; j < psz; j++) {
                pf_real s = 0;
                for (int c = 0; c < nchunk; c++) s += part[(size_t)c * psz + j];
                if (j < (size_t)Co * K) gw[j] += s;
                else gb[j - (size_t)Co * K] += s;
            }
        }
    }
    free(part);
    if (dinp) copy_pass(rows, L->pass, G, outd, dinp, ind);
}

/* ---- max-pool 2x2 stride 2 ------------------------------------------------------ */

// inp (rows, C, H, W | pass) -> out (rows, C, H/2, W/2 | pass), argmax (n, C, H/2, W/2)
void pf_pool_forward(const pf_layer *L, int n, int tangent, const pf_real *inp, pf_real *out,
                     int *argmax)
{
    const int C = L->C_in, H = L->H, W = L->W, Ho = H / 2, Wo = W / 2;
    const int ind = L->in_dim, outd = L->out_dim, no = C * Ho * Wo;
    const int rows = tangent ? 2 * n : n;
#pragma omp parallel for schedule(static) if ((size_t)n * ind > pf_omp_min)
    for (int i = 0; i < n; i++) {
        const pf_real *x = inp + (size_t)i * ind;
        pf_real *z = out + (size_t)i * outd;
        int *am = argmax + (size_t)i * no;
        for (int c = 0; c < C; c++)
            for (int yo = 0; yo < Ho; yo++)
                for (int xo = 0; xo < Wo; xo++) {
                    /* window in row-major order; the first maximum wins ties */
                    const int q0 = c * H * W + 2 * yo * W + 2 * xo;
                    const int cand[4] = {q0, q0 + 1, q0 + W, q0 + W + 1};
                    int best = q0;
                    for (int m = 1; m < 4; m++)
                        if (x[cand[m]] > x[best]) best = cand[m];
                    const int o = (c * Ho + yo) * Wo + xo;
                    am[o] = best;
                    z[o] = x[best];
                }
        if (tangent) { /* SPEC §1.9: the tangent follows the selected element */
            const pf_real *dx = inp + (size_t)(n + i) * ind;
            pf_real *dz = out + (size_t)(n + i) * outd;
            for (int o = 0; o < no; o++) dz[o] = dx[am[o]];
        }
    }
    copy_pass(rows, L->pass, inp, ind, out, outd);
}

void pf_pool_forward_tangent(const pf_layer *L, int n, const pf_real *inp, pf_real *out,
                             const int *argmax)
{
    const int C = L->C_in, H = L->H, W = L->W, no = C * (H / 2) * (W / 2);
    const int ind = L->in_dim, outd = L->out_dim;
#pragma omp parallel for schedule(static) if ((size_t)n * ind > pf_omp_min)
    for (int i = 0; i < n; i++) {
        const int *am = argmax + (size_t)i * no;
        const pf_real *dx = inp + (size_t)(n + i) * ind;
        pf_real *dz = out + (size_t)(n + i) * outd;
        for (int o = 0; o < no; o++) dz[o] = dx[am[o]];
    }
    copy_pass(n, L->pass, inp + (size_t)n * ind, ind, out + (size_t)n * outd, outd);
}

// G (rows, C, H/2, W/2 | pass) -> dinp (rows, C, H, W | pass)
void pf_pool_backward(const pf_layer *L, int n, int tangent, const int *argmax,
                      const pf_real *G, pf_real *dinp)
{
    const int C = L->C_in, H = L->H, W = L->W, Ho = H / 2, Wo = W / 2;
    const int ind = L->in_dim, outd = L->out_dim, no = C * Ho * Wo;
    const int rows = tangent ? 2 * n : n;
#pragma omp parallel for schedule(static) if ((size_t)rows * ind > pf_omp_min)
    for (int r = 0; r < rows; r++) {
        const int *am = argmax + (size_t)(r < n ? r : r - n) * no;
        const pf_real *g = G + (size_t)r * outd;
        pf_real *dx = dinp + (size_t)r * ind;
        memset(dx, 0, sizeof(pf_real) * (size_t)C * H * W);
        for (int o = 0; o < no; o++) dx[am[o]] = g[o]; /* windows do not overlap */
    }
    copy_pass(rows, L->pass, G, outd, dinp, ind);
}
