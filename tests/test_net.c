/* Finite-difference proof of every network derivative of SPEC §1.9, for every
 * activation: f and grad_x f; parameter gradients of sum_i w_i f(x_i); and the
 * parameter and input gradients of S = sum_i w_i f(x_i) + c_i grad_x f(x_i) . u_i. */
#include "proxflow/net.h"
#include "proxflow/rng.h"
#include "testutil.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define NR 4 /* rows */
static const double EPS = 1e-5;

/* Norm-wise relative error of two vectors. */
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
        pf_stream_init(&s, 42, 7, purpose, k);
        x[k] = scale * pf_stream_normal(&s);
    }
}

/* S(theta, X) = sum_i w_i f(x_i) + c_i grad_x f(x_i) . u_i, computed with first-order
 * derivatives only (value and input gradient), the reference the FD is taken of. */
static double eval_S(pf_net *net, const double *p, const double *X, const double *U,
                     const double *w, const double *c)
{
    double f[NR], gX[NR * 64];
    pf_net_value_grad(net, p, NR, X, f, gX);
    double S = 0;
    for (int i = 0; i < NR; i++) {
        double dot = 0;
        for (int j = 0; j < net->in_dim; j++) dot += gX[i * net->in_dim + j] * U[i * net->in_dim + j];
        S += w[i] * f[i] + c[i] * dot;
    }
    return S;
}

static void check_net(pf_act act, int time_input)
{
    const int widths[] = {7, 6, 5};
    const int din = 4 + time_input;
    pf_net net;
    pf_net_init_mlp(&net, din, 3, widths, act, time_input);
    const size_t np = net.n_params;
    double *p = malloc(sizeof(double) * np), *grad = calloc(np, sizeof(double));
    double *gfd = calloc(np, sizeof(double));
    pf_net_init_params(&net, p, 3, PF_RNG_INIT_PHI);
    /* non-zero biases so that every parameter is exercised */
    for (int l = 0; l < net.n_layers; l++)
        if (net.layers[l].kind == PF_LAYER_DENSE)
            fill(p + net.layers[l].b_off, net.layers[l].out_dim, 90 + l, 0.3);
    double X[NR * 8], U[NR * 8], w[NR], c[NR], f[NR], fdot[NR], gX[NR * 8], gXfd[NR * 8];
    fill(X, NR * din, 1, 1.0);
    fill(U, NR * din, 2, 1.0);
    fill(w, NR, 3, 1.0);
    fill(c, NR, 4, 1.0);
    const char *an = pf_act_name(act);

    /* 1. f and grad_x f */
    pf_net_value_grad(&net, p, NR, X, f, gX);
    for (int k = 0; k < NR * din; k++) {
        double Xp[NR * 8], Xm[NR * 8], fp[NR], fm[NR];
        memcpy(Xp, X, sizeof X);
        memcpy(Xm, X, sizeof X);
        Xp[k] += EPS;
        Xm[k] -= EPS;
        pf_net_forward(&net, p, NR, Xp, NULL, fp, NULL);
        pf_net_forward(&net, p, NR, Xm, NULL, fm, NULL);
        gXfd[k] = (fp[k / din] - fm[k / din]) / (2 * EPS);
    }
    double e1 = vec_relerr(gX, gXfd, NR * din);
    CHECK(e1 <= 1e-6, "%s t=%d: grad_x f rel err %.3e", an, time_input, e1);

    /* tangent output equals grad_x f . u */
    pf_net_forward(&net, p, NR, X, U, f, fdot);
    double ferr = 0;
    for (int i = 0; i < NR; i++) {
        double dot = 0;
        for (int j = 0; j < din; j++) dot += gX[i * din + j] * U[i * din + j];
        ferr = fmax(ferr, pf_relerr(dot, fdot[i], 1e-8));
    }
    CHECK(ferr <= 1e-12, "%s: tangent != grad.u (%.3e)", an, ferr);

    /* 2. parameter gradient of sum_i w_i f(x_i) */
    memset(grad, 0, sizeof(double) * np);
    pf_net_forward(&net, p, NR, X, NULL, f, NULL);
    pf_net_backward(&net, p, w, NULL, grad, NULL);
    for (size_t k = 0; k < np; k++) {
        double keep = p[k], fp[NR], fm[NR], sp = 0, sm = 0;
        p[k] = keep + EPS;
        pf_net_forward(&net, p, NR, X, NULL, fp, NULL);
        p[k] = keep - EPS;
        pf_net_forward(&net, p, NR, X, NULL, fm, NULL);
        p[k] = keep;
        for (int i = 0; i < NR; i++) sp += w[i] * fp[i], sm += w[i] * fm[i];
        gfd[k] = (sp - sm) / (2 * EPS);
    }
    double e2 = vec_relerr(grad, gfd, np);
    CHECK(e2 <= 1e-6, "%s t=%d: parameter gradient rel err %.3e", an, time_input, e2);

    /* gradients accumulate */
    pf_net_forward(&net, p, NR, X, NULL, f, NULL);
    pf_net_backward(&net, p, w, NULL, grad, NULL);
    double acc = 0;
    for (size_t k = 0; k < np; k++) acc = fmax(acc, pf_relerr(grad[k], 2 * gfd[k], 1e-6));
    CHECK(acc <= 1e-6, "%s: gradients do not accumulate (%.3e)", an, acc);

    /* 3. S = sum w f + c grad f . u: parameter and input gradients (second order) */
    memset(grad, 0, sizeof(double) * np);
    pf_net_forward(&net, p, NR, X, U, f, fdot);
    pf_net_backward(&net, p, w, c, grad, gX);
    for (size_t k = 0; k < np; k++) {
        double keep = p[k];
        p[k] = keep + EPS;
        double sp = eval_S(&net, p, X, U, w, c);
        p[k] = keep - EPS;
        double sm = eval_S(&net, p, X, U, w, c);
        p[k] = keep;
        gfd[k] = (sp - sm) / (2 * EPS);
    }
    double e3 = vec_relerr(grad, gfd, np);
    CHECK(e3 <= 1e-6, "%s t=%d: d/dtheta (w f + c grad f.u) rel err %.3e", an, time_input, e3);
    for (int k = 0; k < NR * din; k++) {
        double Xp[NR * 8], Xm[NR * 8];
        memcpy(Xp, X, sizeof X);
        memcpy(Xm, X, sizeof X);
        Xp[k] += EPS;
        Xm[k] -= EPS;
        gXfd[k] = (eval_S(&net, p, Xp, U, w, c) - eval_S(&net, p, Xm, U, w, c)) / (2 * EPS);
    }
    double e4 = vec_relerr(gX, gXfd, NR * din);
    CHECK(e4 <= 1e-6, "%s t=%d: d/dx (w f + c grad f.u) rel err %.3e", an, time_input, e4);

    /* the pure second-order primitive (w = 0, c given) */
    memset(grad, 0, sizeof(double) * np);
    double zero[NR] = {0};
    pf_net_forward(&net, p, NR, X, U, NULL, NULL);
    pf_net_backward(&net, p, NULL, c, grad, gX);
    for (size_t k = 0; k < np; k++) {
        double keep = p[k];
        p[k] = keep + EPS;
        double sp = eval_S(&net, p, X, U, zero, c);
        p[k] = keep - EPS;
        double sm = eval_S(&net, p, X, U, zero, c);
        p[k] = keep;
        gfd[k] = (sp - sm) / (2 * EPS);
    }
    double e5 = vec_relerr(grad, gfd, np);
    CHECK(e5 <= 1e-6, "%s: d/dtheta (c grad f.u) rel err %.3e", an, e5);
    printf("  %-8s t=%d: grad_x %.1e  d/dtheta %.1e  2nd-order theta %.1e x %.1e  (pure %.1e)\n", an,
           time_input, e1, e2, e3, e4, e5);

    free(p);
    free(grad);
    free(gfd);
    pf_net_free(&net);
}

static void check_activation_derivatives(pf_act act)
{
    double worst1 = 0, worst2 = 0;
    for (int k = -30; k <= 30; k++) {
        double z = 0.137 * k + 0.011; /* avoid relu's kink at 0 */
        pf_real s, ds, d2s, sp, dsp, d2sp, sm, dsm, d2sm;
        pf_activation(act, z, &s, &ds, &d2s);
        pf_activation(act, z + EPS, &sp, &dsp, &d2sp);
        pf_activation(act, z - EPS, &sm, &dsm, &d2sm);
        worst1 = fmax(worst1, pf_relerr(ds, (sp - sm) / (2 * EPS), 1e-3));
        worst2 = fmax(worst2, pf_relerr(d2s, (dsp - dsm) / (2 * EPS), 1e-3));
    }
    CHECK(worst1 <= 1e-7 && worst2 <= 1e-7, "%s: sigma' err %.2e sigma'' err %.2e",
          pf_act_name(act), worst1, worst2);
    /* softplus / silu stay finite for large |z| */
    pf_real s, ds, d2s;
    pf_activation(act, 800, &s, &ds, &d2s);
    CHECK(isfinite(s) && isfinite(ds) && isfinite(d2s), "%s overflows at z = 800", pf_act_name(act));
    pf_activation(act, -800, &s, &ds, &d2s);
    CHECK(isfinite(s) && isfinite(ds) && isfinite(d2s), "%s overflows at z = -800", pf_act_name(act));
}

int main(int argc, char **argv)
{
    pf_test_init(&argc, &argv);
    const pf_act acts[] = {PF_ACT_RELU, PF_ACT_SOFTPLUS, PF_ACT_TANH, PF_ACT_SILU};
    for (int a = 0; a < 4; a++) {
        check_activation_derivatives(acts[a]);
        check_net(acts[a], 0);
        check_net(acts[a], 1);
    }
    return pf_test_finish("test_net");
}
