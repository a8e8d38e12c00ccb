/* proxflow: the discriminator step (SPEC §1.4): -(E gamma(x^T) - Lambda_f) plus the
 * one-sided Lipschitz penalty on interpolates, its gradient through the second-order
 * primitive of SPEC §1.9, the exact gradient sum over chunks and ranks, Adam.
 *
 * Each chunk of this rank is one unit of work on a lane: its penalty, the generated
 * side (weights -1/N) and the data side of the divergence term.  Donsker-Varadhan's
 * data weights exp(g_j - m) / s need the global max m and sum s; the chunk uses its own
 * max m_c instead (weights exp(g_j - m_c) into a separate buffer), and once the chunk
 * records are folded the buffer is added scaled by exp(m_c - m) / s: the same gradient,
 * with the step's one collective after the per-chunk work. */
#include "flow/flow_impl.h"
#include "proxflow/core/rng.h"
#include "proxflow/core/fault.h"
#include "proxflow/flow/simulate.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Chunk c (the lc-th of this rank) of sub-batch k: its gradient terms into the chunk's
 * buffers, its statistics into rec [ST_N]. */
static void disc_chunk(pf_trainer *tr, int k, int c, int lc, double *rec)
{
    const pf_config *cf = &tr->cfg;
    const int d = tr->d;
    const double N = tr->N, L2 = cf->L * cf->L, mu = cf->mu;
    const int penalty = pf_mode_penalty(cf->mode) && mu > 0, dv = cf->f == PF_F_KL;
    const uint64_t it = (uint64_t)tr->iteration;
    pf_lane *ln = pf_this_lane(tr);
    pf_net *g = ln->gamma;
    const pf_real *ps = tr->psi.p;
    const size_t np = tr->psi.n;
    pf_real *grad = tr->gpart[lc];
    int a, b;
    pf_chunk_rows(&tr->ch, c, &a, &b);
    const int m = b - a, o = a - tr->i0;
    memset(grad, 0, sizeof(pf_real) * np);
    pf_stats_init(rec);

    /* x^{Nt}: the chunk's rows of batch k, simulated with the others before the steps */
    const pf_real *XT = tr->XTd + ((size_t)cf->n_disc * o + (size_t)k * m) * d;
    pf_data_draw(tr->data, pf_batch_iteration(tr), PF_PURPOSE(PF_RNG_DATA, k), a, b, ln->Y);

    /* Lipschitz penalty on interpolates xhat = s y + (1-s) x^{Nt}: first grad gamma. */
    if (penalty) {
        double pen = 0, lipmax = 0;
        pf_draw_interp(tr, it, PF_PURPOSE(PF_RNG_INTERP, k), a, b, ln->S);
        for (int i = 0; i < m; i++)
            for (int j = 0; j < d; j++) {
                size_t q = (size_t)i * d + j;
                ln->XH[q] = ln->S[i] * ln->Y[q] + (1 - ln->S[i]) * XT[q];
            }
        pf_net_value_grad(g, ps, m, ln->XH, NULL, ln->G1);
        for (int i = 0; i < m; i++) {
            double g2 = pf_sq(ln->G1 + (size_t)i * d, d);
            lipmax = fmax(lipmax, sqrt(g2));
            /* one-sided: relu(|grad|^2 - L^2); its gradient direction u = 2 mu/N grad */
            double active = g2 > L2;
            if (active) pen += g2 - L2;
            for (int j = 0; j < d; j++)
                ln->U[(size_t)i * d + j] = (pf_real)(active ? 2 * mu / N * ln->G1[(size_t)i * d + j] : 0);
        }
        /* d/dpsi of sum_i grad gamma(xhat_i) . u_i, u held fixed (SPEC §1.9 item 3), while
         * gamma still holds xhat's value forward: only the tangent rows are new */
        pf_net_forward_tangent(g, ps, ln->U, NULL);
        pf_net_backward(g, ps, NULL, g->ones, grad, NULL);
        rec[ST_PEN] = pen;
        rec[ST_LIP] = lipmax;
    }

    /* the generated side: d l_D / d gamma(x_i) = -1/N */
    pf_net_forward(g, ps, m, XT, NULL, ln->fv, NULL);
    double gx = 0;
    for (int i = 0; i < m; i++) gx += ln->fv[i];
    rec[ST_GX] = gx;
    for (int i = 0; i < m; i++) ln->w[i] = (pf_real)(-1 / N);
    pf_net_backward(g, ps, ln->w, NULL, grad, NULL);

    /* the data side: d l_D / d gamma(y_j) = dLambda / dgamma_j */
    pf_net_forward(g, ps, m, ln->Y, NULL, ln->fv, NULL);
    pf_lambda_local(tr, ln->fv, m, rec);
    if (dv) {
        pf_real *gy = tr->gpartY[lc];
        memset(gy, 0, sizeof(pf_real) * np);
        for (int j = 0; j < m; j++) ln->w[j] = (pf_real)exp(ln->fv[j] - rec[ST_M]);
        pf_net_backward(g, ps, ln->w, NULL, gy, NULL);
    } else {
        pf_lambda_weights(tr, ln->fv, m, N, ln->w);
        pf_net_backward(g, ps, ln->w, NULL, grad, NULL);
    }
}

pf_status pf_disc_loss_grad(pf_trainer *tr, int k)
{
    const pf_config *cf = &tr->cfg;
    const double N = tr->N, mu = cf->mu;
    const int penalty = pf_mode_penalty(cf->mode) && mu > 0;
    const int nloc = tr->ch.c1 - tr->ch.c0;
    pf_params *P = &tr->psi;

    const int own_sim = !tr->xtd_ready; /* a direct call (tests, --dump-state) */
    if (own_sim) pf_simulate_disc_batches(tr);
    const double t1 = pf_now(), r0 = tr->t_reduce + tr->t_wait;
    double *recs = pf_malloc(sizeof(double) * ST_N * (size_t)(nloc > 0 ? nloc : 1));
    PF_LANES_FOR(tr, lc, nloc, { disc_chunk(tr, k, tr->ch.c0 + lc, lc, recs + (size_t)lc * ST_N); });
    if (own_sim) tr->xtd_ready = 0;
    if (pf_fault_point("disc_loss") && nloc > 0) recs[ST_GX] = NAN;

    /* the step's collective: every chunk's statistics, folded in chunk order */
    double rec[ST_N], *all = pf_malloc(sizeof(double) * ST_N * (size_t)tr->ch.K);
    pf_stats_fold(&tr->ch, recs, rec, all);
    if (rec[ST_BAD] > 0) {
        free(recs);
        free(all);
        pf_status s;
        s.bad = 1;
        snprintf(s.msg, sizeof s.msg,
                 "iteration %ld: f = %s: gamma(y) - nu = %g is outside the domain of f* (s < 0)",
                 tr->iteration + 1, pf_fdiv_name(cf->f), rec[ST_WORST]);
        return s;
    }
    double dnu = 0;
    const double Lam = pf_lambda_finish(tr, N, rec, &dnu);
    tr->last_penalty = rec[ST_PEN] / N;
    tr->last_loss_d = -(rec[ST_GX] / N - Lam) + mu * (penalty ? rec[ST_PEN] / N : 0);
    if (!isfinite(tr->last_loss_d)) {
        free(recs);
        free(all);
        return pf_status_bad(tr, "discriminator loss loss_d", tr->last_loss_d);
    }
    if (cf->f == PF_F_KL) {
        /* DV data weights exp(g_j - m) / s = exp(g_j - m_c) * exp(m_c - m) / s */
        const size_t np = P->n;
        for (int lc = 0; lc < nloc; lc++) {
            const pf_real alpha = (pf_real)(exp(all[(size_t)(tr->ch.c0 + lc) * ST_N + ST_M] - rec[ST_M]) /
                                            rec[ST_S]);
            pf_real *gc = tr->gpart[lc];
            const pf_real *gy = tr->gpartY[lc];
            for (size_t q = 0; q < np; q++) gc[q] += alpha * gy[q];
        }
    }
    free(recs);
    free(all);
    pf_reduce_grad(tr, tr->gpart, nloc, P->n, P->g);
    if (tr->nu_index != SIZE_MAX) P->g[tr->nu_index] += (pf_real)dnu;
    if (cf->f == PF_F_KL) {
        /* DV is invariant under gamma -> gamma + const, so the output bias has an
         * identically zero gradient: keep it at 0 rather than Adam-amplified roundoff */
        const pf_layer *out = &tr->gamma.layers[tr->gamma.n_layers - 1];
        P->g[out->b_off] = 0;
    }
    tr->t_disc += pf_now() - t1 - (tr->t_reduce + tr->t_wait - r0);
    return pf_status_ok();
}

pf_status pf_disc_step(pf_trainer *tr, int k)
{
    pf_status s = pf_disc_loss_grad(tr, k);
    if (s.bad) return s;
    const double gn = pf_params_grad_norm(&tr->psi);
    if (!isfinite(gn)) return pf_status_bad(tr, "discriminator gradient grad_norm_gamma", gn);
    const double t1 = pf_now();
    pf_params_adam_step(&tr->psi);
    tr->t_disc += pf_now() - t1;
    return s;
}
