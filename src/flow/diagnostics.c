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
    "seconds_per_iteration", "samples_per_second", "penalty", "nu",
    "sliced_w1", "mmd2", "manifold_distance"};

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
    PF_LANES_FOR(tr, lc, nloc, { diag_chunk(tr, tr->chd.c0 + lc, sts + 6 * (size_t)lc, recs + (size_t)lc * ST_N); });
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
    PF_LANES_FOR(tr, lc, nloc, {
        pf_lane *ln = pf_this_lane(tr);
        int a, b;
        pf_chunk_rows(L, L->c0 + lc, &a, &b);
        pf_net_forward(ln->gamma, tr->psi.p, b - a, X + (size_t)(a - L->i0) * d, NULL, ln->fv, NULL);
        double s = 0;
        for (int i = 0; i < b - a; i++) s += ln->fv[i];
        sums[lc] = s;
    });
    double sum;
    pf_chunks_sum(L, sums, 1, &sum);
    free(sums);
    double *recs = pf_malloc(sizeof(double) * ST_N * (size_t)(nlocd > 0 ? nlocd : 1)), rec[ST_N];
    PF_LANES_FOR(tr, lc, nlocd, {
        pf_lane *ln = pf_this_lane(tr);
        int a, b;
        pf_chunk_rows(&tr->chd, tr->chd.c0 + lc, &a, &b);
        pf_data_draw(tr->diag_data, 0, PF_RNG_DIAG_DATA, a, b, ln->Y);
        pf_net_forward(ln->gamma, tr->psi.p, b - a, ln->Y, NULL, ln->fv, NULL);
        double *r = recs + (size_t)lc * ST_N;
        pf_stats_init(r);
        pf_lambda_local(tr, ln->fv, b - a, r);
    });
    pf_stats_fold(&tr->chd, recs, rec, NULL);
    free(recs);
    const double Lam = rec[ST_BAD] > 0 ? NAN : pf_lambda_finish(tr, tr->Nd, rec, NULL);
    return sum / (double)L->n - Lam;
}

/* Squared distance of x [d] to its nearest row of Y [n x d]. */
static double nearest2(const pf_real *x, const double *Y, int n, int d)
{
    double best = INFINITY;
    for (int k = 0; k < n; k++) {
        double e2 = 0;
        for (int j = 0; j < d && e2 < best; j++) {
            const double e = (double)x[j] - Y[(size_t)k * d + j];
            e2 += e * e;
        }
        if (e2 < best) best = e2;
    }
    return best;
}

double pf_reach_distance(pf_trainer *tr)
{
    const pf_chunks *ch = &tr->ch;
    const int d = tr->d, nloc = ch->c1 - ch->c0, N = tr->N, m = ch->max_rows * d;
    /* every rank needs the whole data batch: its chunks' rows gathered (rows past a
     * short chunk's end stay 0 and are skipped); the nearest-row search costs N^2 d /
     * P, so beyond 4096 rows only every stride-th reference row is measured */
    double *mine = pf_malloc(sizeof(double) * (size_t)(nloc > 0 ? nloc : 1) * (size_t)m);
    double *all = pf_malloc(sizeof(double) * (size_t)ch->K * (size_t)m), *Y;
    double *sums = pf_malloc(sizeof(double) * 2 * (size_t)(nloc > 0 ? nloc : 1)), total[2];
    const int stride = N > 4096 ? (N + 4095) / 4096 : 1;
    PF_LANES_FOR(tr, lc, nloc, {
        pf_lane *ln = pf_this_lane(tr);
        int a, b;
        pf_chunk_rows(ch, ch->c0 + lc, &a, &b);
        pf_data_draw(tr->data, 0, PF_PURPOSE(PF_RNG_DATA, 0), a, b, ln->Y);
        double *o = mine + (size_t)lc * m;
        for (int q = 0; q < m; q++) o[q] = q < (b - a) * d ? (double)ln->Y[q] : 0.0;
    });
    pf_chunks_allgather(ch, mine, m, all);
    Y = pf_malloc(sizeof(double) * (size_t)N * (size_t)d);
    for (int c = 0; c < ch->K; c++) {
        int a, b;
        pf_chunk_rows(ch, c, &a, &b);
        for (int q = 0; q < (b - a) * d; q++) Y[(size_t)a * d + q] = all[(size_t)c * m + q];
    }
    PF_LANES_FOR(tr, lc, nloc, {
        pf_lane *ln = pf_this_lane(tr);
        int a, b;
        pf_chunk_rows(ch, ch->c0 + lc, &a, &b);
        pf_ref_draw(tr, tr->pool, 0, PF_RNG_GEN_REFERENCE, a, b, ln->X0);
        double s = 0, cnt = 0;
        for (int i = a; i < b; i++)
            if (i % stride == 0) {
                s += sqrt(nearest2(ln->X0 + (size_t)(i - a) * d, Y, N, d));
                cnt += 1;
            }
        sums[2 * lc] = s;
        sums[2 * lc + 1] = cnt;
    });
    pf_chunks_sum(ch, sums, 2, total);
    free(mine);
    free(all);
    free(Y);
    free(sums);
    return total[0] / total[1];
}
