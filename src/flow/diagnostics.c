/* proxflow: the a-posteriori diagnostics on the fixed diagnostic batch (SPEC §1.8):
 * terminal cost, kinetic energy, the Hamilton-Jacobi residuals R_HJ and R_T, the
 * Lipschitz constant seen on interpolates, the h/2 re-simulation. */
#include "flow/flow_impl.h"
#include "proxflow/core/rng.h"
#include "proxflow/flow/diagnostics.h"
#include "proxflow/flow/simulate.h"

#include <math.h>


const char *const pf_diag_names[PF_DIAG_COUNT] = {
    "iteration", "wall_s", "loss_d", "loss_g", "divergence", "divergence_half_step", "kinetic",
    "hj_residual", "hj_terminal", "lipschitz_max", "grad_norm_phi", "grad_norm_gamma",
    "seconds_per_iteration", "samples_per_second", "penalty", "nu"};

void pf_diagnostics(pf_trainer *tr, pf_diag *dg)
{
    const pf_config *c = &tr->cfg;
    const int n = tr->d1 - tr->d0, d = tr->d, nt = c->steps, d1 = d + 1;
    const double N = tr->Nd, h = tr->h, lam = c->lambda;
    pf_net *phi = &tr->phi, *g = &tr->gamma;
    const pf_real *th = tr->theta.p, *ps = tr->psi.p;
    /* sums: [gamma(x^T), |grad phi|^2, |HJ|, |R_T|^2, gamma(x^T half step)] */
    double st[5] = {0, 0, 0, 0, 0}, lipmax = 0;

    pf_ref_draw(tr, tr->pool_diag, 0, PF_RNG_DIAG_REFERENCE, tr->d0, tr->d1, tr->X0);
    pf_flow_simulate(phi, th, n, d, nt, h, lam, tr->X0, tr->XT, tr->traj, tr->grads, tr->work);
    for (int k = 0; k < nt; k++)
        for (int i = 0; i < n; i++) {
            const pf_real *gk = tr->grads + ((size_t)k * n + i) * d1;
            double g2 = pf_sq(gk, d);
            st[1] += g2;
            st[2] += fabs(-gk[d] + g2 / (2 * lam));
        }
    /* R_T: grad gamma(x^T) vs grad_x phi(x^T, T) */
    pf_net_value_grad(g, ps, n, tr->XT, tr->fv, tr->G1);
    for (int i = 0; i < n; i++) st[0] += tr->fv[i];
    pf_flow_pack(n, d, tr->XT, (pf_real)c->T, tr->XI);
    pf_net_value_grad(phi, th, n, tr->XI, NULL, tr->gX);
    for (int i = 0; i < n; i++)
        for (int j = 0; j < d; j++) {
            double e = tr->G1[(size_t)i * d + j] - tr->gX[(size_t)i * d1 + j];
            st[3] += e * e;
        }
    /* Lipschitz constant seen on interpolates */
    pf_data_draw(tr->diag_data, 0, PF_RNG_DIAG_DATA, tr->d0, tr->d1, tr->Y);
    pf_draw_interp(tr, 0, PF_RNG_DIAG_INTERP, tr->d0, tr->d1, tr->S);
    for (int i = 0; i < n; i++)
        for (int j = 0; j < d; j++) {
            size_t q = (size_t)i * d + j;
            tr->XH[q] = tr->S[i] * tr->Y[q] + (1 - tr->S[i]) * tr->XT[q];
        }
    pf_net_value_grad(g, ps, n, tr->XH, NULL, tr->G1);
    for (int i = 0; i < n; i++) lipmax = fmax(lipmax, sqrt(pf_sq(tr->G1 + (size_t)i * d, d)));
    /* discretisation invariance: the same batch with 2 Nt steps of h/2 */
    pf_flow_simulate(phi, th, n, d, 2 * nt, h / 2, lam, tr->X0, tr->XH, NULL, NULL, tr->work);
    pf_net_forward(g, ps, n, tr->XH, NULL, tr->fv, NULL);
    for (int i = 0; i < n; i++) st[4] += tr->fv[i];
    /* Lambda on the diagnostic data batch (of Nd samples) */
    pf_net_forward(g, ps, n, tr->Y, NULL, tr->fv, NULL);
    double rec[ST_N];
    pf_stats_init(rec);
    pf_lambda_local(tr, tr->fv, n, rec);
    pf_stats_reduce(rec);
    double Lam = rec[ST_BAD] > 0 ? NAN : pf_lambda_finish(tr, tr->fv, n, N, rec, NULL, NULL);
    pf_sum_all(st, 5);
    pf_max_all(&lipmax, 1);

    dg->iteration = (double)tr->iteration;
    dg->loss_d = tr->last_loss_d;
    dg->loss_g = pf_potential_loss_global(tr);
    dg->divergence = st[0] / N - Lam;
    dg->divergence_half_step = st[4] / N - Lam;
    dg->kinetic = h / (2 * lam * lam * N) * st[1];
    dg->hj_residual = h / N * st[2];
    dg->hj_terminal = sqrt(st[3] / N);
    dg->lipschitz_max = lipmax;
    dg->grad_norm_phi = pf_params_grad_norm(&tr->theta);
    dg->grad_norm_gamma = pf_params_grad_norm(&tr->psi);
    dg->penalty = tr->last_penalty;
    dg->nu = tr->nu_index != SIZE_MAX ? tr->psi.p[tr->nu_index] : 0;
}

double pf_divergence_of(pf_trainer *tr, const pf_real *X, int n, long M)
{
    const int d = tr->d, nb = tr->nmax, nd = tr->d1 - tr->d0;
    double sum = 0;
    for (int a = 0; a < n; a += nb) { /* the network holds nmax rows at a time */
        const int m = n - a < nb ? n - a : nb;
        pf_net_forward(&tr->gamma, tr->psi.p, m, X + (size_t)a * d, NULL, tr->fv, NULL);
        for (int i = 0; i < m; i++) sum += tr->fv[i];
    }
    pf_data_draw(tr->diag_data, 0, PF_RNG_DIAG_DATA, tr->d0, tr->d1, tr->Y);
    pf_net_forward(&tr->gamma, tr->psi.p, nd, tr->Y, NULL, tr->fv, NULL);
    double rec[ST_N];
    pf_stats_init(rec);
    pf_lambda_local(tr, tr->fv, nd, rec);
    pf_stats_reduce(rec);
    const double Lam = rec[ST_BAD] > 0 ? NAN : pf_lambda_finish(tr, tr->fv, nd, tr->Nd, rec, NULL, NULL);
    pf_sum_all(&sum, 1);
    return sum / (double)M - Lam;
}
