/* Convolutional layers (SPEC §2 CNN): finite-difference proof of every derivative of
 * SPEC §1.9 — grad_x f (with d_t f for a time input), the parameter gradient of
 * sum_i w_i f(x_i), and the parameter and input gradients of
 * S = sum_i w_i f(x_i) + c_i grad_x f(x_i) . u_i — for a conv layer (conv -> act ->
 * dense), a max-pool layer (pool -> act -> dense) and whole CNNs (8x8x2 images,
 * channels 3,2, kernel 3, head 5) for every activation, with and without t.  Also:
 * the conv forward against a direct SAME convolution, im2col/col2im adjointness, the
 * pool tangent following the argmax (ties: first in row-major order), and 1 vs 2
 * OpenMP threads giving bit-identical values and gradients. */
#include "proxflow/conv.h"
#include "proxflow/net.h"
#include "proxflow/rng.h"
#include "testutil.h"

#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#define NR 4 /* rows of the FD checks */
static const double EPS = 1e-5;

static double vec_relerr(const double *a, const double *b, size_t n)
{
    double num = 0, na = 0, nb = 0;
    for (size_t k = 0; k < n; k++) {
        num += (a[k] - b[k]) * (a[k] - b[k]);
        na += a[k] * a[k];
        nb += b[k] * b[k];
    }
    double den = fmax(sqrt(na), sqrt(nb));
    return den > 0 ? sqrt(num) / den : sqrt(num);
}

static void fill(double *x, size_t n, uint32_t purpose, double scale)
{
    for (size_t k = 0; k < n; k++) {
        pf_stream s;
        pf_stream_init(&s, 42, 11, purpose, k);
        x[k] = scale * pf_stream_normal(&s);
    }
}

/* Parameters: Glorot weights and non-zero biases (every parameter exercised). */
static double *make_params(const pf_net *net, uint32_t purpose)
{
    double *p = malloc(sizeof(double) * net->n_params);
    pf_net_init_params(net, p, 3, purpose);
    for (int l = 0; l < net->n_layers; l++) {
        const pf_layer *L = &net->layers[l];
        if (L->kind == PF_LAYER_DENSE) fill(p + L->b_off, L->out_dim, 90 + l, 0.3);
        if (L->kind == PF_LAYER_CONV) fill(p + L->b_off, L->C_out, 90 + l, 0.3);
    }
    return p;
}

/* S(theta, X) from first-order derivatives only (value and input gradient). */
static double eval_S(pf_net *net, const double *p, const double *X, const double *U,
                     const double *w, const double *c)
{
    const int d = net->in_dim;
    double f[NR], *gX = malloc(sizeof(double) * NR * d);
    pf_net_value_grad(net, p, NR, X, f, gX);
    double S = 0;
    for (int i = 0; i < NR; i++) {
        double dot = 0;
        for (int j = 0; j < d; j++) dot += gX[i * d + j] * U[i * d + j];
        S += w[i] * f[i] + c[i] * dot;
    }
    free(gX);
    return S;
}

/* Every SPEC §1.9 derivative of net against central differences; returns the worst
 * norm-wise relative error (and prints them). */
static double check_fd(pf_net *net, const char *label)
{
    const int din = net->in_dim;
    const size_t np = net->n_params, nx = (size_t)NR * din;
    double *p = make_params(net, PF_RNG_INIT_PHI);
    double *grad = calloc(np, sizeof(double)), *gfd = calloc(np, sizeof(double));
    double *X = malloc(sizeof(double) * nx), *U = malloc(sizeof(double) * nx);
    double *Xp = malloc(sizeof(double) * nx), *Xm = malloc(sizeof(double) * nx);
    double *gX = malloc(sizeof(double) * nx), *gXfd = malloc(sizeof(double) * nx);
    double w[NR], c[NR], f[NR], fdot[NR], zero[NR] = {0};
    fill(X, nx, 1, 1.0);
    fill(U, nx, 2, 1.0);
    fill(w, NR, 3, 1.0);
    fill(c, NR, 4, 1.0);

    /* 1. f and grad_x f (the t column of phi gives d_t f) */
    pf_net_value_grad(net, p, NR, X, f, gX);
    for (size_t k = 0; k < nx; k++) {
        double fp[NR], fm[NR];
        memcpy(Xp, X, sizeof(double) * nx);
        memcpy(Xm, X, sizeof(double) * nx);
        Xp[k] += EPS;
        Xm[k] -= EPS;
        pf_net_forward(net, p, NR, Xp, NULL, fp, NULL);
        pf_net_forward(net, p, NR, Xm, NULL, fm, NULL);
        gXfd[k] = (fp[k / din] - fm[k / din]) / (2 * EPS);
    }
    double e1 = vec_relerr(gX, gXfd, nx);
    CHECK(e1 <= 1e-6, "%s: grad_x f rel err %.3e", label, e1);

    /* tangent output == grad_x f . u */
    pf_net_forward(net, p, NR, X, U, f, fdot);
    double ferr = 0;
    for (int i = 0; i < NR; i++) {
        double dot = 0;
        for (int j = 0; j < din; j++) dot += gX[i * din + j] * U[i * din + j];
        ferr = fmax(ferr, pf_relerr(dot, fdot[i], 1e-8));
    }
    CHECK(ferr <= 1e-12, "%s: tangent != grad.u (%.3e)", label, ferr);

    /* 2. parameter gradient of sum_i w_i f(x_i) */
    pf_net_forward(net, p, NR, X, NULL, f, NULL);
    pf_net_backward(net, p, w, NULL, grad, NULL);
    for (size_t k = 0; k < np; k++) {
        double keep = p[k], fp[NR], fm[NR], sp = 0, sm = 0;
        p[k] = keep + EPS;
        pf_net_forward(net, p, NR, X, NULL, fp, NULL);
        p[k] = keep - EPS;
        pf_net_forward(net, p, NR, X, NULL, fm, NULL);
        p[k] = keep;
        for (int i = 0; i < NR; i++) sp += w[i] * fp[i], sm += w[i] * fm[i];
        gfd[k] = (sp - sm) / (2 * EPS);
    }
    double e2 = vec_relerr(grad, gfd, np);
    CHECK(e2 <= 1e-6, "%s: parameter gradient rel err %.3e", label, e2);

    /* gradients accumulate (+=) */
    pf_net_forward(net, p, NR, X, NULL, f, NULL);
    pf_net_backward(net, p, w, NULL, grad, NULL);
    double acc = 0;
    for (size_t k = 0; k < np; k++) acc = fmax(acc, pf_relerr(grad[k], 2 * gfd[k], 1e-6));
    CHECK(acc <= 1e-6, "%s: gradients do not accumulate (%.3e)", label, acc);

    /* 3. S = sum w f + c grad f . u: parameter and input gradients */
    memset(grad, 0, sizeof(double) * np);
    pf_net_forward(net, p, NR, X, U, f, fdot);
    pf_net_backward(net, p, w, c, grad, gX);
    for (size_t k = 0; k < np; k++) {
        double keep = p[k];
        p[k] = keep + EPS;
        double sp = eval_S(net, p, X, U, w, c);
        p[k] = keep - EPS;
        double sm = eval_S(net, p, X, U, w, c);
        p[k] = keep;
        gfd[k] = (sp - sm) / (2 * EPS);
    }
    double e3 = vec_relerr(grad, gfd, np);
    CHECK(e3 <= 1e-6, "%s: d/dtheta (w f + c grad f.u) rel err %.3e", label, e3);
    for (size_t k = 0; k < nx; k++) {
        memcpy(Xp, X, sizeof(double) * nx);
        memcpy(Xm, X, sizeof(double) * nx);
        Xp[k] += EPS;
        Xm[k] -= EPS;
        gXfd[k] = (eval_S(net, p, Xp, U, w, c) - eval_S(net, p, Xm, U, w, c)) / (2 * EPS);
    }
    double e4 = vec_relerr(gX, gXfd, nx);
    CHECK(e4 <= 1e-6, "%s: d/dx (w f + c grad f.u) rel err %.3e", label, e4);

    /* the pure second-order primitive (w = 0) */
    memset(grad, 0, sizeof(double) * np);
    pf_net_forward(net, p, NR, X, U, NULL, NULL);
    pf_net_backward(net, p, NULL, c, grad, NULL);
    for (size_t k = 0; k < np; k++) {
        double keep = p[k];
        p[k] = keep + EPS;
        double sp = eval_S(net, p, X, U, zero, c);
        p[k] = keep - EPS;
        double sm = eval_S(net, p, X, U, zero, c);
        p[k] = keep;
        gfd[k] = (sp - sm) / (2 * EPS);
    }
    double e5 = vec_relerr(grad, gfd, np);
    CHECK(e5 <= 1e-6, "%s: d/dtheta (c grad f.u) rel err %.3e", label, e5);
    printf("  %-28s grad_x %.1e  d/dtheta %.1e  2nd-order theta %.1e x %.1e  (pure %.1e)\n",
           label, e1, e2, e3, e4, e5);
    free(p), free(grad), free(gfd), free(X), free(U), free(Xp), free(Xm), free(gX), free(gXfd);
    return fmax(fmax(fmax(e1, e2), fmax(e3, e4)), e5);
}

/* ---- kernels against direct definitions -------------------------------------------- */

static void check_conv_direct(int Ci, int Co, int H, int W, int k, int pass)
{
    pf_net net;
    pf_net_begin(&net, Ci * H * W + pass, pass);
    pf_net_add_conv(&net, Ci, Co, H, W, k, pass);
    const pf_layer *L = &net.layers[0];
    const int n = 3, ind = L->in_dim, outd = L->out_dim, p = k / 2;
    double *prm = make_params(&net, 5);
    double *X = malloc(sizeof(double) * 2 * n * ind), *Z = malloc(sizeof(double) * 2 * n * outd);
    fill(X, (size_t)2 * n * ind, 6, 1.0);
    double flops = 0;
    pf_conv_forward(L, prm, n, 2 * n, X, Z, &flops);
    double err = 0;
    for (int r = 0; r < 2 * n; r++) {
        for (int co = 0; co < Co; co++)
            for (int y = 0; y < H; y++)
                for (int x = 0; x < W; x++) {
                    double s = r < n ? prm[L->b_off + co] : 0; /* tangents: no bias */
                    for (int ci = 0; ci < Ci; ci++)
                        for (int ky = 0; ky < k; ky++)
                            for (int kx = 0; kx < k; kx++) {
                                int iy = y + ky - p, ix = x + kx - p;
                                if (iy < 0 || iy >= H || ix < 0 || ix >= W) continue;
                                s += prm[L->w_off + ((size_t)(co * Ci + ci) * k + ky) * k + kx] *
                                     X[(size_t)r * ind + (size_t)ci * H * W + iy * W + ix];
                            }
                    err = fmax(err, pf_relerr(s, Z[(size_t)r * outd + (size_t)co * H * W + y * W + x], 1e-3));
                }
        for (int j = 0; j < pass; j++)
            err = fmax(err, fabs(Z[(size_t)r * outd + Co * H * W + j] - X[(size_t)r * ind + Ci * H * W + j]));
    }
    CHECK(err <= 1e-13, "conv %d->%d %dx%d k=%d: forward != direct SAME convolution (%.3e)", Ci,
          Co, H, W, k, err);
    CHECK(fabs(flops - 2.0 * 2 * n * Co * Ci * k * k * H * W) < 0.5, "conv flop count %g", flops);

    /* im2col / col2im are adjoint: <im2col(x), y> = <x, col2im(y)> */
    const size_t nc = (size_t)Ci * k * k * H * W;
    double *col = malloc(sizeof(double) * nc), *Y = malloc(sizeof(double) * nc);
    double *xt = calloc((size_t)Ci * H * W, sizeof(double));
    fill(Y, nc, 7, 1.0);
    pf_im2col(X, Ci, H, W, k, col);
    pf_col2im_add(Y, Ci, H, W, k, xt);
    double a = 0, b = 0;
    for (size_t q = 0; q < nc; q++) a += col[q] * Y[q];
    for (int q = 0; q < Ci * H * W; q++) b += X[q] * xt[q];
    CHECK(pf_relerr(a, b, 1e-8) <= 1e-13, "im2col/col2im not adjoint (%.17g vs %.17g)", a, b);
    free(col), free(Y), free(xt), free(prm), free(X), free(Z);
    pf_net_free(&net);
}

/* Max-pool: values, argmax (first maximum on ties), the tangent follows the argmax,
 * pass columns, and the backward routes both adjoints to the selected element. */
static void check_pool_kernel(void)
{
    const int C = 2, H = 4, W = 6, pass = 1, n = 3;
    pf_net net;
    pf_net_begin(&net, C * H * W + pass, 1);
    pf_net_add_pool(&net, C, H, W, pass);
    const pf_layer *L = &net.layers[0];
    const int ind = L->in_dim, outd = L->out_dim, no = C * (H / 2) * (W / 2);
    double X[2 * 3 * 49], Z[2 * 3 * 13], G[2 * 3 * 13], D[2 * 3 * 49];
    int am[3 * 12];
    fill(X, sizeof X / sizeof X[0], 8, 1.0);
    fill(G, sizeof G / sizeof G[0], 9, 1.0);
    /* ties in row 0: window (c 0, 0, 0) all equal; window (c 1, 1, 2) max at positions 1, 3 */
    X[0] = X[1] = X[W] = X[W + 1] = 0.25;
    const int q = 1 * H * W + 2 * W + 4;
    X[q] = -1, X[q + 1] = 3, X[q + W] = 2, X[q + W + 1] = 3;
    pf_pool_forward(L, n, 1, X, Z, am);
    int bad_val = 0, bad_tan = 0, bad_first = 0;
    for (int i = 0; i < n; i++)
        for (int c = 0; c < C; c++)
            for (int yo = 0; yo < H / 2; yo++)
                for (int xo = 0; xo < W / 2; xo++) {
                    const int o = (c * (H / 2) + yo) * (W / 2) + xo, q0 = c * H * W + 2 * yo * W + 2 * xo;
                    const int cand[4] = {q0, q0 + 1, q0 + W, q0 + W + 1};
                    int first = q0;
                    for (int m = 1; m < 4; m++)
                        if (X[i * ind + cand[m]] > X[i * ind + first]) first = cand[m];
                    const int sel = am[i * no + o];
                    bad_first += sel != first;
                    bad_val += Z[i * outd + o] != X[i * ind + sel];
                    bad_tan += Z[(n + i) * outd + o] != X[(n + i) * ind + sel];
                }
    CHECK(am[0] == 0, "pool tie: all-equal window selects %d, want 0 (first)", am[0]);
    const int o2 = (1 * (H / 2) + 1) * (W / 2) + 2;
    CHECK(am[o2] == q + 1, "pool tie: selects %d, want %d (first maximum)", am[o2], q + 1);
    CHECK(!bad_first && !bad_val, "pool: %d argmax / %d value mismatches", bad_first, bad_val);
    CHECK(!bad_tan, "pool: %d tangents do not follow the argmax", bad_tan);
    for (int r = 0; r < 2 * n; r++)
        CHECK(Z[r * outd + no] == X[r * ind + C * H * W], "pool: pass column not copied (row %d)", r);
    pf_pool_backward(L, n, 1, am, G, D);
    int bad_back = 0;
    for (int r = 0; r < 2 * n; r++) {
        const int i = r < n ? r : r - n;
        double sum_g = 0, sum_d = 0;
        for (int o = 0; o < no; o++) {
            bad_back += D[r * ind + am[i * no + o]] != G[r * outd + o];
            sum_g += fabs(G[r * outd + o]);
        }
        for (int j = 0; j < C * H * W; j++) sum_d += fabs(D[r * ind + j]);
        bad_back += fabs(sum_g - sum_d) > 1e-12; /* zero off the selected elements */
        bad_back += D[r * ind + C * H * W] != G[r * outd + no];
    }
    CHECK(!bad_back, "pool backward: %d adjoints not routed to the selected element", bad_back);
    pf_net_free(&net);
}

/* 1 vs 2 OpenMP threads: bit-identical values, tangents, parameter and input gradients. */
static void check_threads(void)
{
    const int n = 24, H = 8, W = 8, C = 2, ch[2] = {3, 2}, head[1] = {5};
    pf_net net;
    pf_net_init_cnn(&net, H, W, C, 2, ch, 3, PF_ACT_TANH, head, 1, 1);
    const int d = net.in_dim;
    const size_t np = net.n_params;
    double *p = make_params(&net, 12);
    double *X = malloc(sizeof(double) * n * d), *U = malloc(sizeof(double) * n * d);
    double w[24], c[24];
    fill(X, (size_t)n * d, 13, 1.0);
    fill(U, (size_t)n * d, 14, 1.0);
    fill(w, n, 15, 1.0);
    fill(c, n, 16, 1.0);
    double *out[2][4];
    for (int t = 0; t < 2; t++) {
        omp_set_num_threads(t + 1);
        out[t][0] = calloc(n, sizeof(double));
        out[t][1] = calloc(n, sizeof(double));
        out[t][2] = calloc(np, sizeof(double));
        out[t][3] = calloc((size_t)n * d, sizeof(double));
        pf_net_forward(&net, p, n, X, U, out[t][0], out[t][1]);
        pf_net_backward(&net, p, w, c, out[t][2], out[t][3]);
    }
    omp_set_num_threads(1);
    CHECK(!memcmp(out[0][0], out[1][0], sizeof(double) * n), "1 vs 2 threads: f differs");
    CHECK(!memcmp(out[0][1], out[1][1], sizeof(double) * n), "1 vs 2 threads: tangent differs");
    CHECK(!memcmp(out[0][2], out[1][2], sizeof(double) * np), "1 vs 2 threads: parameter gradient differs");
    CHECK(!memcmp(out[0][3], out[1][3], sizeof(double) * n * d), "1 vs 2 threads: input gradient differs");
    for (int t = 0; t < 2; t++)
        for (int k = 0; k < 4; k++) free(out[t][k]);
    free(p), free(X), free(U);
    pf_net_free(&net);
}

int main(int argc, char **argv)
{
    pf_test_init(&argc, &argv);
    const pf_act acts[] = {PF_ACT_RELU, PF_ACT_SOFTPLUS, PF_ACT_TANH, PF_ACT_SILU};
    check_conv_direct(2, 3, 5, 4, 3, 1);
    check_conv_direct(1, 2, 4, 6, 5, 0);
    check_conv_direct(3, 2, 3, 3, 7, 0); /* kernel wider than the image */
    check_pool_kernel();
    check_threads();
    double worst = 0;
    char label[64];
    for (int a = 0; a < 4; a++) {
        const pf_act act = acts[a];
        const char *an = pf_act_name(act);
        pf_net net;
        /* a conv layer alone: conv (2->3, 5x4, k 3) -> act -> dense, with t */
        pf_net_begin(&net, 2 * 5 * 4 + 1, 1);
        pf_net_add_conv(&net, 2, 3, 5, 4, 3, 1);
        pf_net_add_act(&net, 3 * 5 * 4 + 1, act, 1);
        pf_net_add_dense(&net, 3 * 5 * 4 + 1, 1);
        snprintf(label, sizeof label, "conv k3 t   %s", an);
        worst = fmax(worst, check_fd(&net, label));
        pf_net_free(&net);
        /* conv 1->2, 4x6, k 5, no t */
        pf_net_begin(&net, 4 * 6, 0);
        pf_net_add_conv(&net, 1, 2, 4, 6, 5, 0);
        pf_net_add_act(&net, 2 * 4 * 6, act, 0);
        pf_net_add_dense(&net, 2 * 4 * 6, 1);
        snprintf(label, sizeof label, "conv k5     %s", an);
        worst = fmax(worst, check_fd(&net, label));
        pf_net_free(&net);
        /* a pool layer: pool (2 x 4x6) -> act -> dense, with t */
        pf_net_begin(&net, 2 * 4 * 6 + 1, 1);
        pf_net_add_pool(&net, 2, 4, 6, 1);
        pf_net_add_act(&net, 2 * 2 * 3 + 1, act, 1);
        pf_net_add_dense(&net, 2 * 2 * 3 + 1, 1);
        snprintf(label, sizeof label, "pool t      %s", an);
        worst = fmax(worst, check_fd(&net, label));
        pf_net_free(&net);
        /* whole CNNs: 8x8x2, channels 3,2, kernel 3, head 5; phi (t) and gamma */
        const int ch[2] = {3, 2}, head[1] = {5};
        for (int t = 0; t <= 1; t++) {
            pf_net_init_cnn(&net, 8, 8, 2, 2, ch, 3, act, head, 1, t);
            snprintf(label, sizeof label, "cnn 8x8x2 t=%d %s", t, an);
            worst = fmax(worst, check_fd(&net, label));
            pf_net_free(&net);
        }
    }
    printf("  worst FD relative error %.2e\n", worst);
    return pf_test_finish("test_conv");
}
