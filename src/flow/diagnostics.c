/* proxflow: the a-posteriori diagnostics on the fixed diagnostic batch (SPEC §1.8):
 * terminal cost, kinetic energy, the Hamilton-Jacobi residuals R_HJ and R_T, the
 * Lipschitz constant seen on interpolates, the h/2 re-simulation. */
#include "flow/flow_impl.h"
#include "proxflow/core/rng.h"
#include "proxflow/flow/diagnostics.h"
#include "proxflow/flow/simulate.h"

#include <math.h>
#include <stdlib.h>


const char *const pf_diag_names[PF_DIAG_COUNT] = {
    "iteration", "wall_s", "loss_d", "loss_g", "divergence", "divergence_half_step", "kinetic",
    "hj_residual", "hj_terminal", "lipschitz_max", "grad_norm_phi", "grad_norm_gamma",
    "seconds_per_iteration", "samples_per_second", "penalty", "nu"};

/* Diagnostic chunk c: its sums [gamma(x^T), |grad phi|^2, |HJ|, |R_T|^2, gamma(x^T half
 * step), max |grad gamma|] into st [6] and Lambda's statistics of its data rows into rec. */
static void diag_chunk(pf_trainer *tr, int c, double *st, double *rec)
{
    const pf_config *cf = &tr->cfg;
    const int d = tr->d, nt = cf->steps, d1 = d + 1;
    const double h = tr->h, lam = cf->lambda;
    pf_lane *ln = pf_this_lane(tr);
    pf_net *phi = ln->phi, *g = ln->gamma;
    const pf_real *th = tr->theta.p, *ps = tr->psi.p;
    int a, b;
    pf_chunk_rows(&tr->chd, c, &a, &b);
    const int n = b - a;
    for (int k = 0; k < 6; k++) st[k] = 0;
    pf_stats_init(rec);

    pf_ref_draw(tr, tr->pool_diag, 0, PF_RNG_DIAG_REFERENCE, a, b, ln->X0);
    pf_flow_simulate(phi, th, n, d, nt, h, lam, ln->X0, ln->XT, ln->traj, ln->grads, ln->work);
    for (int k = 0; k < nt; k++)
        for (int i = 0; i < n; i++) {
            const pf_real *gk = ln->grads + ((size_t)k * n + i) * d1;
            double g2 = pf_sq(gk, d);
            st[1] += g2;
            st[2] += fabs(-gk[d] + g2 / (2 * lam));
        }
    /* R_T: grad gamma(x^T) vs grad_x phi(x^T, T) */
    pf_net_value_grad(g, ps, n, ln->XT, ln->fv, ln->G1);
    for (int i = 0; i < n; i++) st[0] += ln->fv[i];
    pf_flow_pack(n, d, ln->XT, (pf_real)cf->T, ln->XI);
    pf_net_value_grad(phi, th, n, ln->XI, NULL, ln->gX);
    for (int i = 0; i < n; i++)
        for (int j = 0; j < d; j++) {
            double e = ln->G1[(size_t)i * d + j] - ln->gX[(size_t)i * d1 + j];
            st[3] += e * e;
        }
    /* Lipschitz constant seen on interpolates */
    pf_data_draw(tr->diag_data, 0, PF_RNG_DIAG_DATA, a, b, ln->Y);
    pf_draw_interp(tr, 0, PF_RNG_DIAG_INTERP, a, b, ln->S);
    for (int i = 0; i < n; i++)
        for (int j = 0; j < d; j++) {
            size_t q = (size_t)i * d + j;
            ln->XH[q] = ln->S[i] * ln->Y[q] + (1 - ln->S[i]) * ln->XT[q];
        }
    pf_net_value_grad(g, ps, n, ln->XH, NULL, ln->G1);
    for (int i = 0; i < n; i++) st[5] = fmax(st[5], sqrt(pf_sq(ln->G1 + (size_t)i * d, d)));
    /* discretisation invariance: the same batch with 2 Nt steps of h/2 */
    pf_flow_simulate(phi, th, n, d, 2 * nt, h / 2, lam, ln->X0, ln->XH, NULL, NULL, ln->work);
    pf_net_forward(g, ps, n, ln->XH, NULL, ln->fv, NULL);
    for (int i = 0; i < n; i++) st[4] += ln->fv[i];
    /* Lambda's statistics on the diagnostic data rows */
    pf_net_forward(g, ps, n, ln->Y, NULL, ln->fv, NULL);
    pf_lambda_local(tr, ln->fv, n, rec);
}

void pf_diagnostics(pf_trainer *tr, pf_diag *dg)
{
    const pf_config *c = &tr->cfg;
    const double N = tr->Nd, h = tr->h, lam = c->lambda;
    const int nloc = tr->chd.c1 - tr->chd.c0;
    double *sts = pf_malloc(sizeof(double) * 6 * (size_t)(nloc > 0 ? nloc : 1));
    double *recs = pf_malloc(sizeof(double) * ST_N * (size_t)(nloc > 0 ? nloc : 1));
    PF_LANES_FOR(tr, lc, nloc) diag_chunk(tr, tr->chd.c0 + lc, sts + 6 * (size_t)lc, recs + (size_t)lc * ST_N);
    double lipmax = 0, st[6], rec[ST_N];
    for (int lc = 0; lc < nloc; lc++) lipmax = fmax(lipmax, sts[6 * (size_t)lc + 5]);
    pf_chunks_sum(&tr->chd, sts, 6, st); /* (the max column is summed too, unused) */
    pf_max_all(&lipmax, 1);
    pf_stats_fold(&tr->chd, recs, rec, NULL);
    free(sts);
    free(recs);
    const double Lam = rec[ST_BAD] > 0 ? NAN : pf_lambda_finish(tr, N, rec, NULL);

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

double pf_divergence_of(pf_trainer *tr, const pf_chunks *L, const pf_real *X)
{
    const int d = tr->d, nloc = L->c1 - L->c0, nlocd = tr->chd.c1 - tr->chd.c0;
    double *sums = pf_malloc(sizeof(double) * (size_t)(nloc > 0 ? nloc : 1));
    PF_LANES_FOR(tr, lc, nloc) {
        pf_lane *ln = pf_this_lane(tr);
        int a, b;
        pf_chunk_rows(L, L->c0 + lc, &a, &b);
        pf_net_forward(ln->gamma, tr->psi.p, b - a, X + (size_t)(a - L->i0) * d, NULL, ln->fv, NULL);
        double s = 0;
        for (int i = 0; i < b - a; i++) s += ln->fv[i];
        sums[lc] = s;
    }
    double sum;
    pf_chunks_sum(L, sums, 1, &sum);
    free(sums);
    double *recs = pf_malloc(sizeof(double) * ST_N * (size_t)(nlocd > 0 ? nlocd : 1)), rec[ST_N];
    PF_LANES_FOR(tr, lc, nlocd) {
        pf_lane *ln = pf_this_lane(tr);
        int a, b;
        pf_chunk_rows(&tr->chd, tr->chd.c0 + lc, &a, &b);
        pf_data_draw(tr->diag_data, 0, PF_RNG_DIAG_DATA, a, b, ln->Y);
        pf_net_forward(ln->gamma, tr->psi.p, b - a, ln->Y, NULL, ln->fv, NULL);
        double *r = recs + (size_t)lc * ST_N;
        pf_stats_init(r);
        pf_lambda_local(tr, ln->fv, b - a, r);
    }
    pf_stats_fold(&tr->chd, recs, rec, NULL);
    free(recs);
    const double Lam = rec[ST_BAD] > 0 ? NAN : pf_lambda_finish(tr, tr->Nd, rec, NULL);
    return sum / (double)L->n - Lam;
}
