/* proxflow: the discriminator step (SPEC §1.4): -(E gamma(x^T) - Lambda_f) plus the
 * one-sided Lipschitz penalty on interpolates, its gradient through the second-order
 * primitive of SPEC §1.9, one gradient all-reduce and Adam. */
#include "flow/flow_impl.h"
#include "proxflow/core/rng.h"
#include "proxflow/core/fault.h"
#include "proxflow/flow/simulate.h"

#include <math.h>
#include <stdio.h>
#include <string.h>


pf_status pf_disc_loss_grad(pf_trainer *tr, int k)
{
    const pf_config *c = &tr->cfg;
    const int n = tr->n_local, d = tr->d;
    const double N = tr->N, L2 = c->L * c->L, mu = c->mu;
    const int penalty = pf_mode_penalty(c->mode) && mu > 0;
    const uint64_t it = (uint64_t)tr->iteration;
    pf_net *g = &tr->gamma;
    pf_params *P = &tr->psi;

    const double t0 = pf_now();
    if (tr->xtd_ready) /* simulated together by pf_train_iteration (same draws, same phi) */
        memcpy(tr->XT, tr->XTd + (size_t)k * n * d, sizeof(pf_real) * (size_t)n * d);
    else {
        pf_ref_draw(tr, tr->pool, it, PF_PURPOSE(PF_RNG_REFERENCE, k), tr->i0, tr->i1, tr->X0);
        pf_flow_simulate(&tr->phi, tr->theta.p, n, d, c->steps, tr->h, c->lambda, tr->X0,
                         tr->XT, NULL, NULL, tr->work);
    }
    const double t1 = pf_now();
    tr->t_sim += t1 - t0;
    pf_data_draw(tr->data, it, PF_PURPOSE(PF_RNG_DATA, k), tr->i0, tr->i1, tr->Y);
    pf_params_zero_grad(P);

    /* Lipschitz penalty on interpolates xhat = s y + (1-s) x^{Nt}: first grad gamma. */
    double pen = 0, lipmax = 0;
    if (penalty) {
        pf_draw_interp(tr, it, PF_PURPOSE(PF_RNG_INTERP, k), tr->i0, tr->i1, tr->S);
        for (int i = 0; i < n; i++)
            for (int j = 0; j < d; j++) {
                size_t q = (size_t)i * d + j;
                tr->XH[q] = tr->S[i] * tr->Y[q] + (1 - tr->S[i]) * tr->XT[q];
            }
        pf_net_value_grad(g, P->p, n, tr->XH, NULL, tr->G1);
        for (int i = 0; i < n; i++) {
            double g2 = pf_sq(tr->G1 + (size_t)i * d, d);
            lipmax = fmax(lipmax, sqrt(g2));
            /* one-sided: relu(|grad|^2 - L^2); its gradient direction u = 2 mu/N grad */
            double active = g2 > L2;
            if (active) pen += g2 - L2;
            for (int j = 0; j < d; j++)
                tr->U[(size_t)i * d + j] = (pf_real)(active ? 2 * mu / N * tr->G1[(size_t)i * d + j] : 0);
        }
        /* d/dpsi of sum_i grad gamma(xhat_i) . u_i, u held fixed (SPEC §1.9 item 3), now
         * while gamma still holds xhat's value forward: only the tangent rows are new
         * (issue 7: one forward GEMM of n rows fewer than forwarding xhat again) */
        pf_net_forward_tangent(g, P->p, tr->U, NULL);
        pf_net_backward(g, P->p, NULL, g->ones, P->g, NULL);
    }

    /* gamma on [x^{Nt}; y] in one pass */
    memcpy(tr->XC, tr->XT, sizeof(pf_real) * (size_t)n * d);
    memcpy(tr->XC + (size_t)n * d, tr->Y, sizeof(pf_real) * (size_t)n * d);
    pf_net_forward(g, P->p, 2 * n, tr->XC, NULL, tr->fv, NULL);
    double rec[ST_N];
    pf_stats_init(rec);
    pf_lambda_local(tr, tr->fv + n, n, rec);
    for (int i = 0; i < n; i++) rec[ST_GX] += tr->fv[i];
    rec[ST_PEN] = pen;
    rec[ST_LIP] = lipmax;
    if (pf_fault_point("disc_loss")) rec[ST_GX] = NAN;
    pf_stats_reduce(rec); /* the step's one small collective: every loss statistic */
    if (rec[ST_BAD] > 0) {
        pf_status s;
        s.bad = 1;
        snprintf(s.msg, sizeof s.msg,
                 "iteration %ld: f = %s: gamma(y) - nu = %g is outside the domain of f* (s < 0)",
                 tr->iteration + 1, pf_fdiv_name(c->f), rec[ST_WORST]);
        return s;
    }
    double dnu = 0;
    const double Lam = pf_lambda_finish(tr, tr->fv + n, n, N, rec, tr->w + n, &dnu);
    tr->last_penalty = rec[ST_PEN] / N;
    tr->last_loss_d = -(rec[ST_GX] / N - Lam) + mu * (penalty ? rec[ST_PEN] / N : 0);
    if (!isfinite(tr->last_loss_d)) return pf_status_bad(tr, "discriminator loss loss_d", tr->last_loss_d);

    /* d l_D / d gamma: -1/N on generated points, dLambda/dgamma_j on data points */
    for (int i = 0; i < n; i++) tr->w[i] = (pf_real)(-1 / N);
    pf_net_backward(g, P->p, tr->w, NULL, P->g, NULL);
    if (tr->nu_index != SIZE_MAX && pf_rank() == 0) P->g[tr->nu_index] += (pf_real)dnu;
    if (c->f == PF_F_KL) {
        /* DV is invariant under gamma -> gamma + const, so the output bias has an
         * identically zero gradient.  Its computed value is roundoff whose sign
         * depends on the summation order, and Adam (which normalises magnitudes) would
         * turn it into O(lr) steps that differ between rank counts.  Keep it at 0. */
        const pf_layer *out = &g->layers[g->n_layers - 1];
        P->g[out->b_off] = 0;
    }
    tr->t_disc += pf_now() - t1;
    return pf_status_ok();
}

pf_status pf_disc_step(pf_trainer *tr, int k)
{
    pf_status s = pf_disc_loss_grad(tr, k);
    if (s.bad) return s;
    const double gn = pf_reduce_grad(tr, &tr->psi);
    if (!isfinite(gn)) return pf_status_bad(tr, "discriminator gradient grad_norm_gamma", gn);
    const double t1 = pf_now();
    pf_params_adam_step(&tr->psi);
    tr->t_disc += pf_now() - t1;
    return s;
}
