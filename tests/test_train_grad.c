/* End-to-end finite-difference checks of the two training losses (SPEC §1.4-1.5):
 * the potential-step gradient through a 3-step Euler trajectory with and without the
 * kinetic term, and the discriminator-step gradient with the Lipschitz penalty active,
 * for every f.  Also: the DV term is exact and finite for gamma values of +-1000. */
#include "proxflow/flow/trainer.h"
#include "proxflow/flow/steps.h"
#include "testutil.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Central-difference step and bound: testutil.h (h = cbrt(eps) scale: 6.1e-6 in
 * double, 4.9e-3 in float; PF_FD_TOL: 1e-6 in double, 9.7e-3 in float).  The networks
 * here are smooth (tanh, softplus) and L is small, so no kink lies within the step. */
#define EPS PF_FD_STEP(1.0)

static double g_worst = 0; /* worst FD error, printed at the end */

static void base_config(pf_config *c)
{
    pf_config_defaults(c);
    strcpy(c->source, "sphere");
    c->dim = 3;
    c->manifold_dim = 1;
    c->steps = 3;
    c->T = 1.5;
    c->lambda = 0.7;
    c->batch = 6;
    c->diag_batch = 6;
    c->n_disc = 1;
    c->L = 0.05; /* small: every interpolate is penalised, away from the relu kink */
    c->mu = 0.5;
    c->seed = 11;
    int w[2] = {6, 5};
    c->potential.n_widths = c->discriminator.n_widths = 2;
    memcpy(c->potential.widths, w, sizeof w);
    memcpy(c->discriminator.widths, w, sizeof w);
    c->potential.activation = PF_ACT_TANH;
    c->discriminator.activation = PF_ACT_SOFTPLUS;
}

static double relerr_vec(const pf_real *a, const double *b, size_t n)
{
    double num = 0, na = 0, nb = 0;
    for (size_t k = 0; k < n; k++) {
        num += (a[k] - b[k]) * (a[k] - b[k]);
        na += (double)a[k] * a[k];
        nb += b[k] * b[k];
    }
    return sqrt(num) / fmax(fmax(sqrt(na), sqrt(nb)), 1e-12);
}

static void check_disc(pf_fdiv f)
{
    pf_config c;
    base_config(&c);
    c.f = f;
    c.alpha = 2.5;
    pf_trainer tr;
    pf_trainer_init(&tr, &c);
    /* give the potential some structure so x^{Nt} != x^0 */
    for (size_t k = 0; k < tr.theta.n; k++) tr.theta.p[k] *= 1.5;
    if (f == PF_F_KL_LEGENDRE || f == PF_F_ALPHA) tr.psi.p[tr.nu_index] = -0.3;
    pf_status s = pf_disc_loss_grad(&tr, 0);
    CHECK(!s.bad, "%s", s.msg);
    CHECK(tr.last_penalty > 0, "penalty inactive");
    size_t n = tr.psi.n;
    pf_real *g = malloc(sizeof(pf_real) * n);
    double *gfd = malloc(sizeof(double) * n);
    memcpy(g, tr.psi.g, sizeof(pf_real) * n);
    for (size_t k = 0; k < n; k++) {
        pf_real keep = tr.psi.p[k], kp = keep + (pf_real)EPS, km = keep - (pf_real)EPS;
        tr.psi.p[k] = kp;
        pf_disc_loss_grad(&tr, 0);
        double lp = tr.last_loss_d;
        tr.psi.p[k] = km;
        pf_disc_loss_grad(&tr, 0);
        double lm = tr.last_loss_d;
        tr.psi.p[k] = keep;
        gfd[k] = (lp - lm) / pf_fd_span(kp, km);
    }
    double e = relerr_vec(g, gfd, n);
    printf("  discriminator step, f = %-11s: rel err %.2e (%zu parameters)\n", pf_fdiv_name(f), e, n);
    g_worst = fmax(g_worst, e);
    CHECK(e <= PF_FD_TOL, "disc gradient f=%s rel err %.3e", pf_fdiv_name(f), e);
    free(g);
    free(gfd);
    pf_trainer_free(&tr);
}

static void check_potential(pf_mode mode)
{
    pf_config c;
    base_config(&c);
    c.mode = mode;
    pf_trainer tr;
    pf_trainer_init(&tr, &c);
    for (size_t k = 0; k < tr.theta.n; k++) tr.theta.p[k] *= 1.5;
    pf_status s = pf_potential_loss_grad(&tr);
    CHECK(!s.bad, "%s", s.msg);
    size_t n = tr.theta.n;
    pf_real *g = malloc(sizeof(pf_real) * n);
    double *gfd = malloc(sizeof(double) * n);
    memcpy(g, tr.theta.g, sizeof(pf_real) * n);
    for (size_t k = 0; k < n; k++) {
        pf_real keep = tr.theta.p[k], kp = keep + (pf_real)EPS, km = keep - (pf_real)EPS;
        tr.theta.p[k] = kp;
        pf_potential_loss_grad(&tr);
        double lp = tr.last_loss_g;
        tr.theta.p[k] = km;
        pf_potential_loss_grad(&tr);
        double lm = tr.last_loss_g;
        tr.theta.p[k] = keep;
        gfd[k] = (lp - lm) / pf_fd_span(kp, km);
    }
    double e = relerr_vec(g, gfd, n);
    printf("  potential step, mode = %-5s (3 Euler steps): rel err %.2e\n", pf_mode_name(mode), e);
    g_worst = fmax(g_worst, e);
    CHECK(e <= PF_FD_TOL, "potential gradient mode=%s rel err %.3e", pf_mode_name(mode), e);
    free(g);
    free(gfd);
    pf_trainer_free(&tr);
}

/* Shifting gamma by a constant b (its output bias) leaves the DV loss unchanged
 * (Lambda(gamma + b) = Lambda(gamma) + b): exact and finite even for b = +-1000. */
static void check_dv_extreme(void)
{
    pf_config c;
    base_config(&c);
    c.mode = PF_MODE_W2; /* no penalty: the loss is the DV term alone */
    pf_trainer tr;
    pf_trainer_init(&tr, &c);
    const pf_layer *out = &tr.gamma.layers[tr.gamma.n_layers - 1];
    pf_real *bias = tr.psi.p + out->b_off;
    pf_disc_loss_grad(&tr, 0);
    double l0 = tr.last_loss_d;
    pf_real *g0 = malloc(sizeof(pf_real) * tr.psi.n);
    memcpy(g0, tr.psi.g, sizeof(pf_real) * tr.psi.n);
    const double shifts[2] = {1000, -1000};
    /* gamma ~ b + O(1) is rounded to pf_real: each value carries an error up to
     * |b| eps / 2, and the loss and gradient average such errors; so the bound is
     * max(1e-9, |b| eps): 1e-9 in double (as before), 1.2e-4 in float (measured 1.0e-5
     * in the loss, 2.7e-6 in the gradient).  A naive exp would overflow (inf/NaN). */
    const double tol = fmax(1e-9, 1000 * PF_EPS_REAL);
    for (int t = 0; t < 2; t++) {
        *bias = (pf_real)shifts[t];
        pf_status s = pf_disc_loss_grad(&tr, 0);
        CHECK(!s.bad && isfinite(tr.last_loss_d), "DV not finite at gamma ~ %g", shifts[t]);
        CHECK(fabs(tr.last_loss_d - l0) <= tol, "DV loss at gamma ~ %g: %.17g vs %.17g",
              shifts[t], tr.last_loss_d, l0);
        double ge = 0;
        for (size_t k = 0; k < tr.psi.n; k++) ge = fmax(ge, fabs(tr.psi.g[k] - g0[k]));
        CHECK(ge <= tol, "DV gradient changes under a shift of %g (%.2e)", shifts[t], ge);
    }
    *bias = 0;
    free(g0);
    pf_trainer_free(&tr);
}

int main(int argc, char **argv)
{
    pf_test_init(&argc, &argv);
    check_potential(PF_MODE_W1W2);
    check_potential(PF_MODE_W1);
    const pf_fdiv fs[] = {PF_F_KL, PF_F_KL_LEGENDRE, PF_F_REVERSE_KL, PF_F_ALPHA};
    for (int k = 0; k < 4; k++) check_disc(fs[k]);
    check_dv_extreme();
    printf("  %s: worst FD relative error %.2e (bound %.1e)\n", PF_REAL_NAME, g_worst, PF_FD_TOL);
    return pf_test_finish("test_train_grad");
}
