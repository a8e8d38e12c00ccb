/* Convolutional layers (SPEC §2 CNN): finite-difference proof of every derivative of
 * SPEC §1.9 — grad_x f (with d_t f for a time input), the parameter gradient of
 * sum_i w_i f(x_i), and the parameter and input gradients of
 * S = sum_i w_i f(x_i) + c_i grad_x f(x_i) . u_i — for a conv layer (conv -> act ->
 * dense), a max-pool layer (pool -> act -> dense) and whole CNNs (8x8x2 images,
 * channels 3,2, kernel 3, head 5) for every activation, with and without t.  Also:
 * the conv forward against a direct SAME convolution, im2col/col2im adjointness, the
 * pool tangent following the argmax (ties: first in row-major order), and 1 vs 2
 * OpenMP threads giving bit-identical values and gradients. */
#include "proxflow/nn/layers.h"
#include "proxflow/nn/net.h"
#include "proxflow/core/rng.h"
#include "testutil.h"

#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#define NR 4 /* rows of the FD checks */
/* Central-difference step and bound: testutil.h (cbrt(eps) scale, 6.1e-6 in double;
 * PF_FD_TOL 1e-6 in double, 9.7e-3 in float). */
#ifdef PF_USE_FLOAT
/* float: h = 0.05 cbrt(eps) = 2.4e-4, below the optimal step so that an argmax switch
 * or a relu edge inside the step is rare (a step of a conv weight moves every pooled
 * window); costs roundoff eps/h ~ 5e-4.  Worst measured 3.5e-3 against 9.7e-3. */
#define EPS PF_FD_STEP(0.05)
#else
#define EPS PF_FD_STEP(1.0)
#endif

static void fill(pf_real *x, size_t n, uint32_t purpose, double scale)
{
    for (size_t k = 0; k < n; k++) {
        pf_stream s;
        pf_stream_init(&s, 42, 11, purpose, k);
        x[k] = (pf_real)(scale * pf_stream_normal(&s));
    }
}

/* Parameters: Glorot weights and non-zero biases (every parameter exercised). */
static pf_real *make_params(const pf_net *net, uint32_t purpose)
{
    pf_real *p = malloc(sizeof(pf_real) * net->n_params);
    pf_net_init_params(net, p, 3, purpose);
    for (int l = 0; l < net->n_layers; l++) {
        const pf_layer *L = &net->layers[l];
        if (L->kind == PF_LAYER_DENSE) fill(p + L->b_off, L->out_dim, 90 + l, 0.3);
        if (L->kind == PF_LAYER_CONV) fill(p + L->b_off, L->C_out, 90 + l, 0.3);
    }
    return p;
}

/* S(theta, X) from first-order derivatives only (value and input gradient). */
static double eval_S(pf_net *net, const pf_real *p, const pf_real *X, const pf_real *U,
                     const pf_real *w, const pf_real *c)
{
    const int d = net->in_dim;
    pf_real f[NR], *gX = malloc(sizeof(pf_real) * NR * d);
    pf_net_value_grad(net, p, NR, X, f, gX);
    double S = 0;
    for (int i = 0; i < NR; i++) {
        double dot = 0;
        for (int j = 0; j < d; j++) dot += (double)gX[i * d + j] * U[i * d + j];
        S += (double)w[i] * f[i] + c[i] * dot;
    }
    free(gX);
    return S;
}

/* The scalar functions the FD checks differentiate, evaluated by the library in
 * pf_real (accumulated in double). */
typedef struct {
    pf_net *net;
    const pf_real *p, *X, *U, *w, *c;
    int kind; /* 0: f(x_row); 1: sum_i w_i f(x_i); 2: S(w, c) */
    int row;
} fd_fn;

static double fd_eval(const fd_fn *F)
{
    pf_real f[NR];
    if (F->kind == 2) return eval_S(F->net, F->p, F->X, F->U, F->w, F->c);
    pf_net_forward(F->net, F->p, NR, F->X, NULL, f, NULL);
    if (F->kind == 0) return f[F->row];
    double s = 0;
    for (int i = 0; i < NR; i++) s += (double)F->w[i] * f[i];
    return s;
}

/* Central differences of F along v[k] with steps h (d1) and h/2 (d2); v is one of
 * F's arrays (parameters or inputs), restored afterwards. */
static void fd_pair(const fd_fn *F, pf_real *v, size_t k, double *d1, double *d2)
{
    const pf_real keep = v[k];
    for (int q = 0; q < 2; q++) {
        const double h = q ? EPS / 2 : EPS;
        const pf_real vp = keep + (pf_real)h, vm = keep - (pf_real)h;
        v[k] = vp;
        const double sp = fd_eval(F);
        v[k] = vm;
        const double sm = fd_eval(F);
        v[k] = keep;
        (q ? d2 : d1)[k] = (sp - sm) / pf_fd_span(vp, vm);
    }
}

static size_t g_kinks, g_coords; /* FD coordinates left out as kinks, of all checked */

/* pf_fd_relerr (testutil.c: coordinates whose differences with steps h and h/2
 * disagree straddle a kink and are left out); at most 1 in 20 may be (none are in
 * double; the printed total counts them). */
static double fd_err(const char *label, const char *what, const pf_real *a, const double *d1,
                     const double *d2, size_t n)
{
    size_t nk;
    const double e = pf_fd_relerr(a, d1, d2, n, &nk);
    g_kinks += nk;
    g_coords += n;
    CHECK(nk <= n / 20, "%s: %s: %zu of %zu FD coordinates straddle a kink", label, what, nk, n);
    return e;
}

/* Every SPEC §1.9 derivative of net against central differences; returns the worst
 * norm-wise relative error (and prints them). */
static double check_fd(pf_net *net, const char *label)
{
    const int din = net->in_dim;
    const size_t np = net->n_params, nx = (size_t)NR * din;
    pf_real *p = make_params(net, PF_RNG_INIT_PHI);
    pf_real *grad = calloc(np, sizeof(pf_real));
    double *gfd = calloc(np, sizeof(double)), *gfd2 = calloc(np, sizeof(double));
    double *gXfd = malloc(sizeof(double) * nx), *gXfd2 = malloc(sizeof(double) * nx);
    pf_real *X = malloc(sizeof(pf_real) * nx), *U = malloc(sizeof(pf_real) * nx);
    pf_real *gX = malloc(sizeof(pf_real) * nx);
    pf_real w[NR], c[NR], f[NR], fdot[NR], zero[NR] = {0};
    fill(X, nx, 1, 1.0);
    fill(U, nx, 2, 1.0);
    fill(w, NR, 3, 1.0);
    fill(c, NR, 4, 1.0);

    /* 1. f and grad_x f (the t column of phi gives d_t f) */
    pf_net_value_grad(net, p, NR, X, f, gX);
    fd_fn F = {net, p, X, U, w, c, 0, 0};
    for (size_t k = 0; k < nx; k++) {
        F.row = (int)(k / din);
        fd_pair(&F, X, k, gXfd, gXfd2);
    }
    double e1 = fd_err(label, "grad_x f", gX, gXfd, gXfd2, nx);
    CHECK(e1 <= PF_FD_TOL, "%s: grad_x f rel err %.3e", label, e1);

    /* tangent output == grad_x f . u */
    pf_net_forward(net, p, NR, X, U, f, fdot);
    double ferr = 0;
    for (int i = 0; i < NR; i++) {
        double dot = 0;
        for (int j = 0; j < din; j++) dot += (double)gX[i * din + j] * U[i * din + j];
        ferr = fmax(ferr, pf_relerr(dot, fdot[i], 1e-8));
    }
    CHECK(ferr <= PF_ROUNDOFF(1e-12), "%s: tangent != grad.u (%.3e)", label, ferr);

    /* 2. parameter gradient of sum_i w_i f(x_i) */
    pf_net_forward(net, p, NR, X, NULL, f, NULL);
    pf_net_backward(net, p, w, NULL, grad, NULL);
    F.kind = 1;
    for (size_t k = 0; k < np; k++) fd_pair(&F, p, k, gfd, gfd2);
    double e2 = fd_err(label, "d/dtheta f", grad, gfd, gfd2, np);
    CHECK(e2 <= PF_FD_TOL, "%s: parameter gradient rel err %.3e", label, e2);

    /* gradients accumulate (+=): a second backward gives twice the first, to roundoff */
    pf_real *g1 = malloc(sizeof(pf_real) * np);
    memcpy(g1, grad, sizeof(pf_real) * np);
    pf_net_forward(net, p, NR, X, NULL, f, NULL);
    pf_net_backward(net, p, w, NULL, grad, NULL);
    double acc = 0;
    for (size_t k = 0; k < np; k++) acc = fmax(acc, pf_relerr(grad[k], 2.0 * g1[k], 1e-6));
    free(g1);
    CHECK(acc <= PF_ROUNDOFF(1e-12), "%s: gradients do not accumulate (%.3e)", label, acc);

    /* 3. S = sum w f + c grad f . u: parameter and input gradients */
    memset(grad, 0, sizeof(pf_real) * np);
    pf_net_forward(net, p, NR, X, U, f, fdot);
    pf_net_backward(net, p, w, c, grad, gX);
    F.kind = 2;
    for (size_t k = 0; k < np; k++) fd_pair(&F, p, k, gfd, gfd2);
    double e3 = fd_err(label, "d/dtheta S", grad, gfd, gfd2, np);
    CHECK(e3 <= PF_FD_TOL, "%s: d/dtheta (w f + c grad f.u) rel err %.3e", label, e3);
    for (size_t k = 0; k < nx; k++) fd_pair(&F, X, k, gXfd, gXfd2);
    double e4 = fd_err(label, "d/dx S", gX, gXfd, gXfd2, nx);
    CHECK(e4 <= PF_FD_TOL, "%s: d/dx (w f + c grad f.u) rel err %.3e", label, e4);

    /* 3b. the same through pf_net_forward_tangent on the value forward of
     * pf_net_value_grad (conv tangents without bias, pool tangents from the stored
     * argmax): the same FD, and the full tangent path to roundoff */
    {
        pf_real *grad2 = calloc(np, sizeof(pf_real)), *gX2 = malloc(sizeof(pf_real) * nx);
        pf_real fdot2[NR];
        pf_net_value_grad(net, p, NR, X, NULL, gX2);
        pf_net_forward_tangent(net, p, U, fdot2);
        pf_net_backward(net, p, w, c, grad2, gX2);
        double same = 0;
        for (int i = 0; i < NR; i++) same = fmax(same, pf_relerr(fdot2[i], fdot[i], 1e-8));
        for (size_t k = 0; k < np; k++) same = fmax(same, pf_relerr(grad2[k], grad[k], 1e-6));
        for (size_t k = 0; k < nx; k++) same = fmax(same, pf_relerr(gX2[k], gX[k], 1e-6));
        CHECK(same <= PF_ROUNDOFF(1e-12), "%s: pf_net_forward_tangent path != full tangent forward (%.3e)", label, same);
        double e3b = fd_err(label, "d/dtheta S (tangent reuse)", grad2, gfd, gfd2, np);
        CHECK(e3b <= PF_FD_TOL, "%s: after pf_net_forward_tangent: d/dtheta rel err %.3e", label, e3b);
        free(grad2), free(gX2);
    }

    /* the pure second-order primitive (w = 0) */
    memset(grad, 0, sizeof(pf_real) * np);
    pf_net_forward(net, p, NR, X, U, NULL, NULL);
    pf_net_backward(net, p, NULL, c, grad, NULL);
    F.w = zero;
    for (size_t k = 0; k < np; k++) fd_pair(&F, p, k, gfd, gfd2);
    double e5 = fd_err(label, "d/dtheta c grad f.u", grad, gfd, gfd2, np);
    CHECK(e5 <= PF_FD_TOL, "%s: d/dtheta (c grad f.u) rel err %.3e", label, e5);
    printf("  %-28s grad_x %.1e  d/dtheta %.1e  2nd-order theta %.1e x %.1e  (pure %.1e)\n",
           label, e1, e2, e3, e4, e5);
    free(p), free(grad), free(gfd), free(gfd2), free(X), free(U), free(gX), free(gXfd), free(gXfd2);
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
    pf_real *prm = make_params(&net, 5);
    pf_real *X = malloc(sizeof(pf_real) * 2 * n * ind), *Z = malloc(sizeof(pf_real) * 2 * n * outd);
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
                                s += (double)prm[L->w_off + ((size_t)(co * Ci + ci) * k + ky) * k + kx] *
                                     X[(size_t)r * ind + (size_t)ci * H * W + iy * W + ix];
                            }
                    err = fmax(err, pf_relerr(s, Z[(size_t)r * outd + (size_t)co * H * W + y * W + x], 1e-3));
                }
        for (int j = 0; j < pass; j++)
            err = fmax(err, fabs(Z[(size_t)r * outd + Co * H * W + j] - X[(size_t)r * ind + Ci * H * W + j]));
    }
    CHECK(err <= PF_ROUNDOFF(1e-13), "conv %d->%d %dx%d k=%d: forward != direct SAME convolution (%.3e)", Ci,
          Co, H, W, k, err);
    CHECK(fabs(flops - 2.0 * 2 * n * Co * Ci * k * k * H * W) < 0.5, "conv flop count %g", flops);

    /* im2col / col2im are adjoint: <im2col(x), y> = <x, col2im(y)> */
    const size_t nc = (size_t)Ci * k * k * H * W;
    pf_real *col = malloc(sizeof(pf_real) * nc), *Y = malloc(sizeof(pf_real) * nc);
    pf_real *xt = calloc((size_t)Ci * H * W, sizeof(pf_real));
    fill(Y, nc, 7, 1.0);
    pf_im2col(X, Ci, H, W, k, col);
    pf_col2im_add(Y, Ci, H, W, k, xt);
    double a = 0, b = 0;
    for (size_t q = 0; q < nc; q++) a += (double)col[q] * Y[q];
    for (int q = 0; q < Ci * H * W; q++) b += (double)X[q] * xt[q];
    CHECK(pf_relerr(a, b, 1e-8) <= PF_ROUNDOFF(1e-13), "im2col/col2im not adjoint (%.17g vs %.17g)", a, b);
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
    pf_real X[2 * 3 * 49], Z[2 * 3 * 13], G[2 * 3 * 13], D[2 * 3 * 49];
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
        double sum_g = 0, sum_d = 0; /* D holds copies of G entries: sums agree to roundoff */
        for (int o = 0; o < no; o++) {
            bad_back += D[r * ind + am[i * no + o]] != G[r * outd + o];
            sum_g += fabs(G[r * outd + o]);
        }
        for (int j = 0; j < C * H * W; j++) sum_d += fabs(D[r * ind + j]);
        bad_back += fabs(sum_g - sum_d) > PF_ROUNDOFF(1e-12); /* zero off the selected elements */
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
    pf_real *p = make_params(&net, 12);
    pf_real *X = malloc(sizeof(pf_real) * n * d), *U = malloc(sizeof(pf_real) * n * d);
    pf_real w[24], c[24];
    fill(X, (size_t)n * d, 13, 1.0);
    fill(U, (size_t)n * d, 14, 1.0);
    fill(w, n, 15, 1.0);
    fill(c, n, 16, 1.0);
    pf_real *out[2][4];
    for (int t = 0; t < 2; t++) {
        omp_set_num_threads(t + 1);
        out[t][0] = calloc(n, sizeof(pf_real));
        out[t][1] = calloc(n, sizeof(pf_real));
        out[t][2] = calloc(np, sizeof(pf_real));
        out[t][3] = calloc((size_t)n * d, sizeof(pf_real));
        pf_net_forward(&net, p, n, X, U, out[t][0], out[t][1]);
        pf_net_backward(&net, p, w, c, out[t][2], out[t][3]);
    }
    omp_set_num_threads(1);
    CHECK(!memcmp(out[0][0], out[1][0], sizeof(pf_real) * n), "1 vs 2 threads: f differs");
    CHECK(!memcmp(out[0][1], out[1][1], sizeof(pf_real) * n), "1 vs 2 threads: tangent differs");
    CHECK(!memcmp(out[0][2], out[1][2], sizeof(pf_real) * np), "1 vs 2 threads: parameter gradient differs");
    CHECK(!memcmp(out[0][3], out[1][3], sizeof(pf_real) * n * d), "1 vs 2 threads: input gradient differs");
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
        /* whole CNNs: 8x8x2, channels 3,2, kernel 3, head 5; phi (t) and gamma.  Not in
         * float: there a coordinate's derivative is ~|f|/n (512 inputs), below the roundoff
         * eps |f| / h of any step that also avoids the many near-ties of two pooled
         * blocks (measured: up to 47% of the input coordinates fail the h vs h/2
         * consistency, errors up to 2.2e-2).  The layers above are checked in float and
         * the composition (net.c, the same code in both precisions) in double. */
        const int ch[2] = {3, 2}, head[1] = {5};
        for (int t = 0; t <= 1 && PF_EPS_REAL < 1e-10; t++) {
            pf_net_init_cnn(&net, 8, 8, 2, 2, ch, 3, act, head, 1, t);
            snprintf(label, sizeof label, "cnn 8x8x2 t=%d %s", t, an);
            worst = fmax(worst, check_fd(&net, label));
            pf_net_free(&net);
        }
    }
    printf("  %s: worst FD relative error %.2e (bound %.1e); %zu of %zu FD coordinates left out "
           "as kinks\n", PF_REAL_NAME, worst, PF_FD_TOL, g_kinks, g_coords);
    return pf_test_finish("test_conv");
}
