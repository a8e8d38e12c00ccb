/* Convolutional layers: conv k x k SAME (im2col + GEMM) and max-pool 2x2, each with a
 * forward that carries values and tangents and a backward that carries the adjoints of
 * both (SPEC §1.9, §2; include/proxflow/nn/layers.h).
 *
 * Threads: a call runs on one thread (a lane, SPEC §3); each thread keeps its im2col
 * buffers between calls (their padding zeros are written once).
 *
 * Why one GEMM per sample: a sample's col (C_in k^2 x H W; 300 KB in float for the MNIST
 * nets' second conv) stays in cache between im2col and the GEMM.  GEMMs over the im2col
 * of 2 and 4 samples side by side were measured slower (the MNIST CNN's second conv
 * 0.47 -> 0.63 s/it with 2 and 4, float, SkylakeX kernels; docs/PERFORMANCE.md). */
#include "proxflow/nn/layers.h"

#include <cblas.h>
#include <stdlib.h>
#include <string.h>

/* ---- im2col / col2im ------------------------------------------------------------- */

/* Valid output columns [x0, x1) for a horizontal offset dx: 0 <= x + dx < W. */
static void x_range(int W, int dx, int *x0, int *x1)
{
    *x0 = dx < 0 ? -dx : 0;
    *x1 = dx > 0 ? W - dx : W;
    if (*x0 > W) *x0 = W;
    if (*x1 < *x0) *x1 = *x0;
}

/* The part of pf_im2col that depends on the image: each row (c, ky, kx) gets its valid
 * output rows [y0, y1) as one contiguous copy, then the |dx| wrapped columns per row are
 * zeroed.  The rows outside [y0, y1) and the head and tail of the copy are left as they
 * are: zero in a buffer that only ever held im2cols of the same geometry. */
static void im2col_fill(const pf_real *inp, int C, int H, int W, int k, pf_real *col, size_t ldc)
{
    const int p = k / 2;
    for (int c = 0; c < C; c++) {
        const pf_real *img = inp + (size_t)c * H * W;
        for (int ky = 0; ky < k; ky++) {
            const int dy = ky - p;
            const int y0 = dy < 0 ? -dy : 0, y1 = dy > 0 ? H - dy : H;
            for (int kx = 0; kx < k; kx++) {
                pf_real *dst = col + ((size_t)(c * k + ky) * k + kx) * ldc;
                const int dx = kx - p;
                int x0, x1;
                x_range(W, dx, &x0, &x1);
                if (y1 <= y0 || x1 <= x0) continue;
                const size_t a = (size_t)y0 * W + x0, b = (size_t)(y1 - 1) * W + x1;
                memcpy(dst + a, img + a + (ptrdiff_t)dy * W + dx, sizeof(pf_real) * (b - a));
                if (dx != 0)
                    for (int y = y0; y < y1; y++) {
                        pf_real *d = dst + (size_t)y * W;
                        for (int x = y > y0 ? 0 : x0; x < x0; x++) d[x] = 0;
                        for (int x = x1; x < W && (y < y1 - 1 || x < x1); x++) d[x] = 0;
                    }
            }
        }
    }
}

// inp (C, H, W) -> col (C*k*k, H*W)
// Row (c, ky, kx) of col is the channel-c image shifted by (ky - p, kx - p): on the valid
// output rows [y0, y1) it is one contiguous copy of the flattened image (offset
// (ky-p)*W + dx), after which the |dx| columns per row that wrapped around from the
// neighbouring image row are zeroed; rows outside [y0, y1) are zero.
void pf_im2col(const pf_real *inp, int C, int H, int W, int k, pf_real *col)
{
    pf_im2col_ld(inp, C, H, W, k, col, (size_t)H * W);
}

void pf_im2col_ld(const pf_real *inp, int C, int H, int W, int k, pf_real *col, size_t ldc)
{
    for (size_t r = 0; r < (size_t)C * k * k; r++) memset(col + r * ldc, 0, sizeof(pf_real) * H * W);
    im2col_fill(inp, C, H, W, k, col, ldc);
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

/* A thread's scratch (the output adjoints' im2col-transpose), kept between calls: a
 * network call runs on one thread (SPEC §3); it only grows. */
static pf_real *scratch(size_t n)
{
    static _Thread_local pf_real *buf = NULL;
    static _Thread_local size_t cap = 0;
    if (n > cap) {
        free(buf);
        buf = pf_malloc(sizeof(pf_real) * n);
        cap = n;
    }
    return buf;
}

/* A thread's im2col buffer for one image geometry (C, H, W, k), zero where the padding
 * is: im2col_fill then writes only what depends on the image (the zeros of a 7 x 7 SAME
 * convolution of a 14 x 14 image are a quarter of its im2col).  A network has a few
 * geometries; each thread keeps one buffer per geometry. */
#define PF_COL_CACHE 8
static pf_real *col_buffer(int C, int H, int W, int k)
{
    static _Thread_local struct { int C, H, W, k; pf_real *buf; } cache[PF_COL_CACHE];
    static _Thread_local int used = 0;
    for (int e = 0; e < used; e++)
        if (cache[e].C == C && cache[e].H == H && cache[e].W == W && cache[e].k == k) return cache[e].buf;
    const int e = used < PF_COL_CACHE ? used++ : PF_COL_CACHE - 1; /* (never more than 4 here) */
    if (cache[e].buf) free(cache[e].buf);
    cache[e].C = C, cache[e].H = H, cache[e].W = W, cache[e].k = k;
    cache[e].buf = pf_calloc((size_t)C * k * k * H * W, sizeof(pf_real));
    return cache[e].buf;
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
    pf_real *col = col_buffer(Ci, H, W, k);
    for (int r = 0; r < rows; r++) {
        pf_real *z = out + (size_t)r * outd;
        for (int co = 0; co < Co; co++) {
            const pf_real bc = r < n ? b[co] : 0;
            for (int q = 0; q < HW; q++) z[(size_t)co * HW + q] = bc;
        }
        im2col_fill(inp + (size_t)r * ind, Ci, H, W, k, col, (size_t)HW);
        // z (Co, HW) += W (Co, K) col (K, HW)
        PF_GEMM(CblasRowMajor, CblasNoTrans, CblasNoTrans, Co, HW, K, 1, Wt, K, col, HW, 1, z, HW);
    }
    copy_pass(rows, L->pass, inp, ind, out, outd);
}

// G (rows, C_out, H, W | pass) -> grad W (C_out, C_in*k*k) +=, grad b (C_out) +=,
//                                 dinp (rows, C_in, H, W | pass) =
// The input adjoint is the transposed convolution.  With C_out <= C_in it is computed as
// a convolution of g with the flipped kernel, W'[ci][co][ky][kx] = W[co][ci][k-1-ky][k-1-kx]
// (an im2col of g and a GEMM shaped like the forward's); otherwise as dcol = W^T g
// folded back by col2im (an im2col of g would be larger than dcol then).
void pf_conv_backward(const pf_layer *L, const pf_real *params, int n, int rows,
                      const pf_real *inp, const pf_real *G, pf_real *grad, pf_real *dinp,
                      double *flops)
{
    const int Ci = L->C_in, Co = L->C_out, H = L->H, W = L->W, k = L->k, HW = H * W, kk = k * k;
    const int K = Ci * kk, ind = L->in_dim, outd = L->out_dim;
    const pf_real *Wt = params + L->w_off;
    if (!grad && !dinp) return;
    *flops += pf_conv_flops(L, rows) * ((grad != NULL) + (dinp != NULL));
    pf_real *gw = grad ? grad + L->w_off : NULL, *gb = grad ? grad + L->b_off : NULL;
    const int flipped = Co <= Ci;
    pf_real *wf = NULL, *dcol = NULL;
    if (dinp && flipped) { /* W' (Ci, Co k k) */
        wf = scratch((size_t)Ci * Co * kk);
        for (int co = 0; co < Co; co++)
            for (int ci = 0; ci < Ci; ci++)
                for (int t = 0; t < kk; t++)
                    wf[((size_t)ci * Co + co) * kk + t] = Wt[((size_t)co * Ci + ci) * kk + (kk - 1 - t)];
    } else if (dinp) {
        dcol = scratch((size_t)K * HW);
    }
    for (int r = 0; r < rows; r++) {
        const pf_real *g = G + (size_t)r * outd;
        if (grad) {
            pf_real *col = col_buffer(Ci, H, W, k);
            im2col_fill(inp + (size_t)r * ind, Ci, H, W, k, col, (size_t)HW);
            // dW (Co, K) += g (Co, HW) col^T (HW, K)
            PF_GEMM(CblasRowMajor, CblasNoTrans, CblasTrans, Co, K, HW, 1, g, HW, col, HW, 1, gw, K);
            if (r < n) /* bias: value rows only */
                for (int co = 0; co < Co; co++) {
                    pf_real s = 0;
                    for (int q = 0; q < HW; q++) s += g[(size_t)co * HW + q];
                    gb[co] += s;
                }
        }
        if (!dinp) continue;
        pf_real *dx = dinp + (size_t)r * ind;
        if (flipped) {
            pf_real *gcol = col_buffer(Co, H, W, k);
            im2col_fill(g, Co, H, W, k, gcol, (size_t)HW);
            // dx (Ci, HW) = W' (Ci, Co k k) gcol (Co k k, HW)
            PF_GEMM(CblasRowMajor, CblasNoTrans, CblasNoTrans, Ci, HW, Co * kk, 1, wf, Co * kk, gcol,
                    HW, 0, dx, HW);
        } else {
            // dcol (K, HW) = W^T (K, Co) g (Co, HW); dinp_r = col2im(dcol)
            PF_GEMM(CblasRowMajor, CblasTrans, CblasNoTrans, K, HW, Co, 1, Wt, K, g, HW, 0, dcol, HW);
            memset(dx, 0, sizeof(pf_real) * (size_t)Ci * HW);
            pf_col2im_add(dcol, Ci, H, W, k, dx);
        }
    }
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
    PF_PAR_FOR((size_t)n * ind, i, n, {
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
    });
    copy_pass(rows, L->pass, inp, ind, out, outd);
}

void pf_pool_forward_tangent(const pf_layer *L, int n, const pf_real *inp, pf_real *out,
                             const int *argmax)
{
    const int C = L->C_in, H = L->H, W = L->W, no = C * (H / 2) * (W / 2);
    const int ind = L->in_dim, outd = L->out_dim;
    PF_PAR_FOR((size_t)n * ind, i, n, {
        const int *am = argmax + (size_t)i * no;
        const pf_real *dx = inp + (size_t)(n + i) * ind;
        pf_real *dz = out + (size_t)(n + i) * outd;
        for (int o = 0; o < no; o++) dz[o] = dx[am[o]];
    });
    copy_pass(n, L->pass, inp + (size_t)n * ind, ind, out + (size_t)n * outd, outd);
}

// G (rows, C, H/2, W/2 | pass) -> dinp (rows, C, H, W | pass)
void pf_pool_backward(const pf_layer *L, int n, int tangent, const int *argmax,
                      const pf_real *G, pf_real *dinp)
{
    const int C = L->C_in, H = L->H, W = L->W, Ho = H / 2, Wo = W / 2;
    const int ind = L->in_dim, outd = L->out_dim, no = C * Ho * Wo;
    const int rows = tangent ? 2 * n : n;
    PF_PAR_FOR((size_t)rows * ind, r, rows, {
        const int *am = argmax + (size_t)(r < n ? r : r - n) * no;
        const pf_real *g = G + (size_t)r * outd;
        pf_real *dx = dinp + (size_t)r * ind;
        memset(dx, 0, sizeof(pf_real) * (size_t)C * H * W);
        for (int o = 0; o < no; o++) dx[am[o]] = g[o]; /* windows do not overlap */
    });
    copy_pass(rows, L->pass, G, outd, dinp, ind);
}
