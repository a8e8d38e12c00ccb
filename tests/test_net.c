/* Finite-difference proof of every network derivative of SPEC §1.9, for every
 * activation: f and grad_x f; parameter gradients of sum_i w_i f(x_i); and the
 * parameter and input gradients of S = sum_i w_i f(x_i) + c_i grad_x f(x_i) . u_i. */
#include "proxflow/nn/net.h"
#include "proxflow/core/rng.h"
#include "testutil.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define NR 4 /* rows */
/* Central-difference step (testutil.h: cbrt(eps) scale, 6.1e-6 in double, 4.9e-3 in
 * float); the errors are bounded by PF_FD_TOL (1e-6 double, 9.7e-3 float). */
#define EPS PF_FD_STEP(1.0)

/* Norm-wise relative error of an analytic (pf_real) against an FD (double) vector. */
static double vec_relerr(const pf_real *a, const double *b, size_t n)
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

static void fill(pf_real *x, size_t n, uint32_t purpose, double scale)
{
    for (size_t k = 0; k < n; k++) {
        pf_stream s;
        pf_stream_init(&s, 42, 7, purpose, k);
        x[k] = (pf_real)(scale * pf_stream_normal(&s));
    }
}

/* S(theta, X) = sum_i w_i f(x_i) + c_i grad_x f(x_i) . u_i, computed with first-order
 * derivatives only (value and input gradient), the reference the FD is taken of. */
static double eval_S(pf_net *net, const pf_real *p, const pf_real *X, const pf_real *U,
                     const pf_real *w, const pf_real *c)
{
    pf_real f[NR], gX[NR * 64];
    pf_net_value_grad(net, p, NR, X, f, gX);
    double S = 0;
    for (int i = 0; i < NR; i++) {
        double dot = 0;
        for (int j = 0; j < net->in_dim; j++) dot += (double)gX[i * net->in_dim + j] * U[i * net->in_dim + j];
        S += (double)w[i] * f[i] + c[i] * dot;
    }
    return S;
}

static double worst_fd = 0, worst_round = 0; /* the worst errors, printed at the end */

static void check_net(pf_act act, int time_input)
{
    const int widths[] = {7, 6, 5};
    const int din = 4 + time_input;
    pf_net net;
    pf_net_init_mlp(&net, din, 3, widths, act, time_input);
    const size_t np = net.n_params;
    pf_real *p = malloc(sizeof(pf_real) * np), *grad = calloc(np, sizeof(pf_real));
    double *gfd = calloc(np, sizeof(double));
    pf_net_init_params(&net, p, 3, PF_RNG_INIT_PHI);
    /* non-zero biases so that every parameter is exercised */
    for (int l = 0; l < net.n_layers; l++)
        if (net.layers[l].kind == PF_LAYER_DENSE)
            fill(p + net.layers[l].b_off, net.layers[l].out_dim, 90 + l, 0.3);
    pf_real X[NR * 8], U[NR * 8], w[NR], c[NR], f[NR], fdot[NR], gX[NR * 8];
    double gXfd[NR * 8];
    fill(X, NR * din, 1, 1.0);
    fill(U, NR * din, 2, 1.0);
    fill(w, NR, 3, 1.0);
    fill(c, NR, 4, 1.0);
    const char *an = pf_act_name(act);

    /* 1. f and grad_x f */
    pf_net_value_grad(&net, p, NR, X, f, gX);
    for (int k = 0; k < NR * din; k++) {
        pf_real Xp[NR * 8], Xm[NR * 8], fp[NR], fm[NR];
        memcpy(Xp, X, sizeof X);
        memcpy(Xm, X, sizeof X);
        Xp[k] += (pf_real)EPS;
        Xm[k] -= (pf_real)EPS;
        pf_net_forward(&net, p, NR, Xp, NULL, fp, NULL);
        pf_net_forward(&net, p, NR, Xm, NULL, fm, NULL);
        gXfd[k] = ((double)fp[k / din] - fm[k / din]) / pf_fd_span(Xp[k], Xm[k]);
    }
    double e1 = vec_relerr(gX, gXfd, NR * din);
    CHECK(e1 <= PF_FD_TOL, "%s t=%d: grad_x f rel err %.3e", an, time_input, e1);

    /* tangent output equals grad_x f . u */
    pf_net_forward(&net, p, NR, X, U, f, fdot);
    double ferr = 0;
    for (int i = 0; i < NR; i++) {
        double dot = 0;
        for (int j = 0; j < din; j++) dot += (double)gX[i * din + j] * U[i * din + j];
        ferr = fmax(ferr, pf_relerr(dot, fdot[i], 1e-8));
    }
    worst_round = fmax(worst_round, ferr);
    CHECK(ferr <= PF_ROUNDOFF(1e-12), "%s: tangent != grad.u (%.3e)", an, ferr);

    /* 2. parameter gradient of sum_i w_i f(x_i) */
    memset(grad, 0, sizeof(pf_real) * np);
    pf_net_forward(&net, p, NR, X, NULL, f, NULL);
    pf_net_backward(&net, p, w, NULL, grad, NULL);
    for (size_t k = 0; k < np; k++) {
        pf_real keep = p[k], fp[NR], fm[NR], kp = keep + (pf_real)EPS, km = keep - (pf_real)EPS;
        double sp = 0, sm = 0;
        p[k] = kp;
        pf_net_forward(&net, p, NR, X, NULL, fp, NULL);
        p[k] = km;
        pf_net_forward(&net, p, NR, X, NULL, fm, NULL);
        p[k] = keep;
        for (int i = 0; i < NR; i++) sp += (double)w[i] * fp[i], sm += (double)w[i] * fm[i];
        gfd[k] = (sp - sm) / pf_fd_span(kp, km);
    }
    double e2 = vec_relerr(grad, gfd, np);
    CHECK(e2 <= PF_FD_TOL, "%s t=%d: parameter gradient rel err %.3e", an, time_input, e2);

    /* gradients accumulate: a second backward adds the same gradient again, giving
     * twice the first up to roundoff */
    pf_real *g1 = malloc(sizeof(pf_real) * np);
    memcpy(g1, grad, sizeof(pf_real) * np);
    pf_net_forward(&net, p, NR, X, NULL, f, NULL);
    pf_net_backward(&net, p, w, NULL, grad, NULL);
    double acc = 0;
    for (size_t k = 0; k < np; k++) acc = fmax(acc, pf_relerr(grad[k], 2.0 * g1[k], 1e-6));
    free(g1);
    worst_round = fmax(worst_round, acc);
    CHECK(acc <= PF_ROUNDOFF(1e-12), "%s: gradients do not accumulate (%.3e)", an, acc);

    /* 3. S = sum w f + c grad f . u: parameter and input gradients (second order) */
    memset(grad, 0, sizeof(pf_real) * np);
    pf_net_forward(&net, p, NR, X, U, f, fdot);
    pf_net_backward(&net, p, w, c, grad, gX);
    for (size_t k = 0; k < np; k++) {
        pf_real keep = p[k], kp = keep + (pf_real)EPS, km = keep - (pf_real)EPS;
        p[k] = kp;
        double sp = eval_S(&net, p, X, U, w, c);
        p[k] = km;
        double sm = eval_S(&net, p, X, U, w, c);
        p[k] = keep;
        gfd[k] = (sp - sm) / pf_fd_span(kp, km);
    }
    double e3 = vec_relerr(grad, gfd, np);
    CHECK(e3 <= PF_FD_TOL, "%s t=%d: d/dtheta (w f + c grad f.u) rel err %.3e", an, time_input, e3);
    for (int k = 0; k < NR * din; k++) {
        pf_real Xp[NR * 8], Xm[NR * 8];
        memcpy(Xp, X, sizeof X);
        memcpy(Xm, X, sizeof X);
        Xp[k] += (pf_real)EPS;
        Xm[k] -= (pf_real)EPS;
        gXfd[k] = (eval_S(&net, p, Xp, U, w, c) - eval_S(&net, p, Xm, U, w, c)) /
                  pf_fd_span(Xp[k], Xm[k]);
    }
    double e4 = vec_relerr(gX, gXfd, NR * din);
    CHECK(e4 <= PF_FD_TOL, "%s t=%d: d/dx (w f + c grad f.u) rel err %.3e", an, time_input, e4);

    /* 3b. the same through pf_net_forward_tangent on a held value forward (as the trainer
     * uses it after pf_net_value_grad): against the FD of 3 and the full tangent path */
    pf_real *grad2 = calloc(np, sizeof(pf_real)), gX2[NR * 8], fdot2[NR];
    pf_net_value_grad(&net, p, NR, X, NULL, gX2);
    pf_net_forward_tangent(&net, p, U, fdot2);
    pf_net_backward(&net, p, w, c, grad2, gX2);
    double e3b = vec_relerr(grad2, gfd, np), e4b = vec_relerr(gX2, gXfd, NR * din), same = 0;
    for (int i = 0; i < NR; i++) same = fmax(same, pf_relerr(fdot2[i], fdot[i], 1e-8));
    for (size_t k = 0; k < np; k++) same = fmax(same, pf_relerr(grad2[k], grad[k], 1e-6));
    free(grad2);
    worst_round = fmax(worst_round, same);
    CHECK(e3b <= PF_FD_TOL && e4b <= PF_FD_TOL,
          "%s t=%d: after pf_net_forward_tangent: d/dtheta rel err %.3e, d/dx %.3e", an,
          time_input, e3b, e4b);
    CHECK(same <= PF_ROUNDOFF(1e-12), "%s: pf_net_forward_tangent path != full tangent forward (%.3e)", an, same);

    /* the pure second-order primitive (w = 0, c given) */
    memset(grad, 0, sizeof(pf_real) * np);
    pf_real zero[NR] = {0};
    pf_net_forward(&net, p, NR, X, U, NULL, NULL);
    pf_net_backward(&net, p, NULL, c, grad, gX);
    for (size_t k = 0; k < np; k++) {
        pf_real keep = p[k], kp = keep + (pf_real)EPS, km = keep - (pf_real)EPS;
        p[k] = kp;
        double sp = eval_S(&net, p, X, U, zero, c);
        p[k] = km;
        double sm = eval_S(&net, p, X, U, zero, c);
        p[k] = keep;
        gfd[k] = (sp - sm) / pf_fd_span(kp, km);
    }
    double e5 = vec_relerr(grad, gfd, np);
    CHECK(e5 <= PF_FD_TOL, "%s: d/dtheta (c grad f.u) rel err %.3e", an, e5);
    printf("  %-8s t=%d: grad_x %.1e  d/dtheta %.1e  2nd-order theta %.1e x %.1e  (pure %.1e)\n", an,
           time_input, e1, e2, e3, e4, e5);
    worst_fd = fmax(worst_fd, fmax(fmax(fmax(e1, e2), fmax(e3, e4)), e5));

    free(p);
    free(grad);
    free(gfd);
    pf_net_free(&net);
}

static void check_activation_derivatives(pf_act act)
{
    double worst1 = 0, worst2 = 0;
    for (int k = -30; k <= 30; k++) {
        pf_real z = (pf_real)(0.137 * k + 0.011); /* avoid relu's kink at 0 */
        pf_real s, ds, d2s, sp, dsp, d2sp, sm, dsm, d2sm;
        pf_real zp = z + (pf_real)EPS, zm = z - (pf_real)EPS;
        pf_activation(act, z, &s, &ds, &d2s);
        pf_activation(act, zp, &sp, &dsp, &d2sp);
        pf_activation(act, zm, &sm, &dsm, &d2sm);
        worst1 = fmax(worst1, pf_relerr(ds, ((double)sp - sm) / pf_fd_span(zp, zm), 1e-3));
        worst2 = fmax(worst2, pf_relerr(d2s, ((double)dsp - dsm) / pf_fd_span(zp, zm), 1e-3));
    }
    /* point-wise errors (floor 1e-3): 1e-7 in double (measured < 1e-9); in float the
     * cancellation in sigma(z+h) - sigma(z-h) where sigma saturates (tanh near +-4) costs
     * up to eps/h / 1e-3, so PF_FD_TOL (measured 3.6e-3 for tanh'') */
#ifdef PF_USE_FLOAT
    const double tol = PF_FD_TOL;
#else
    const double tol = PF_FD_TOL / 10;
#endif
    printf("  %-8s sigma' FD err %.1e  sigma'' FD err %.1e\n", pf_act_name(act), worst1, worst2);
    worst_fd = fmax(worst_fd, fmax(worst1, worst2));
    CHECK(worst1 <= tol && worst2 <= tol, "%s: sigma' err %.2e sigma'' err %.2e",
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
    printf("  %s: worst FD relative error %.2e (bound %.1e), worst roundoff %.2e (bound %.1e)\n",
           PF_REAL_NAME, worst_fd, PF_FD_TOL, worst_round, PF_ROUNDOFF(1e-12));
    return pf_test_finish("test_net");
}
