/* Dense layers (SPEC §2): forward with tangents and backward with both adjoints
 * (SPEC §1.9), through BLAS. */
#include "proxflow/nn/layers.h"

#include <cblas.h>
#include <string.h>

/* Z[rows x out] = A[rows x in] W^T; bias on the value rows only (a tangent has none).
 * Z starts as the bias (value rows) or 0 (tangent rows) and the GEMM adds to it (beta
 * = 1): one pass over Z fewer than adding the bias afterwards, and the same bits for
 * K = in within one BLAS K-block (acc + b either way).  A scalar output (out = 1, the
 * last layer) is a GEMV: GEMM's packing costs more than the product there. */
void pf_dense_forward(const pf_layer *L, const pf_real *p, int n, int rows,
                      const pf_real *A, pf_real *Z, double *flops)
{
    const int in = L->in_dim, out = L->out_dim;
    const pf_real *b = p + L->b_off;
    *flops += 2.0 * rows * in * out;
    PF_PAR_FOR((size_t)rows * out, i, rows, {
        pf_real *z = Z + (size_t)i * out;
        if (i < n) memcpy(z, b, sizeof(pf_real) * out);
        else memset(z, 0, sizeof(pf_real) * out);
    });
    if (out == 1)
        PF_GEMV(CblasRowMajor, CblasNoTrans, rows, in, 1, A, in, p + L->w_off, 1, 1, Z, 1);
    else
        PF_GEMM(CblasRowMajor, CblasNoTrans, CblasTrans, rows, out, in, 1, A, in, p + L->w_off,
                in, 1, Z, out);
}

/* Given G = dS/dZ [rows x out]: grad W += G^T A, grad b += sum of value rows of G,
 * gA = G W (if gA).  The bias sum runs over rows in order for every column (the same
 * order as a column-by-column sum, so thread-count independent), reading G row by row. */
void pf_dense_backward(const pf_layer *L, const pf_real *p, int n, int rows,
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
        PF_PAR_FOR(nb > 1 ? (size_t)n * out : 0, jb, nb, {
            const int j0 = jb * JB, m = out - j0 < JB ? out - j0 : JB;
            pf_real acc[JB] = {0};
            for (int i = 0; i < n; i++) {
                const pf_real *g = G + (size_t)i * out + j0;
                for (int j = 0; j < m; j++) acc[j] += g[j];
            }
            for (int j = 0; j < m; j++) gb[j0 + j] += acc[j];
        });
    }
    if (gA) {
        if (out == 1) { /* rank one: gA_i = G_i w, exact products as in the GEMM */
            PF_PAR_FOR((size_t)rows * in, i, rows, {
                for (int k = 0; k < in; k++) gA[(size_t)i * in + k] = G[i] * w[k];
            });
        } else
            PF_GEMM(CblasRowMajor, CblasNoTrans, CblasNoTrans, rows, in, out, 1, G, out, w, in, 0,
                    gA, in);
    }
}
