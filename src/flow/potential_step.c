/* proxflow: the potential step (SPEC §1.5): E gamma(x^T) plus the kinetic term, its
 * gradient through the whole Euler trajectory (the reverse sweep of SPEC §1.9 item 3),
 * one gradient all-reduce and Adam. */
#include "flow/flow_impl.h"
#include "proxflow/core/rng.h"
#include "proxflow/core/fault.h"
#include "proxflow/flow/simulate.h"

#include <math.h>
#include <string.h>


pf_status pf_potential_loss_grad(pf_trainer *tr)
{
    const pf_config *c = &tr->cfg;
    const int n = tr->n_local, d = tr->d, nt = c->steps, d1 = d + 1;
    const double N = tr->N, h = tr->h, lam = c->lambda;
    const int kinetic = pf_mode_kinetic(c->mode);
    const int exact_kin = kinetic && !c->kinetic_reference;
    const uint64_t it = (uint64_t)tr->iteration;
    pf_net *phi = &tr->phi;
    pf_params *P = &tr->theta;

    const double t0 = pf_now();
    pf_ref_draw(tr, tr->pool, it, PF_RNG_GEN_REFERENCE, tr->i0, tr->i1, tr->X0);
    pf_flow_simulate(phi, P->p, n, d, nt, h, lam, tr->X0, tr->XT, tr->traj, tr->grads, tr->work);
    const double t1 = pf_now();
    tr->t_sim += t1 - t0;
    /* terminal cost (1/N) sum gamma(x^{Nt}); adjoint a^{Nt} = grad gamma / N */
    pf_net_value_grad(&tr->gamma, tr->psi.p, n, tr->XT, tr->fv, tr->G1);
    double st[2] = {0, 0};
    for (int i = 0; i < n; i++) st[0] += tr->fv[i];
    for (size_t q = 0; q < (size_t)n * d; q++) tr->A[q] = (pf_real)(tr->G1[q] / N);
    pf_params_zero_grad(P);

    /* Reverse sweep: S_k = sum_i grad phi(x_i^k, t_k) . u_i with
     *   u = -(h/lambda) a^{k+1} + (h/(lambda N)) grad phi(x^k)   [kinetic term, exact]
     * gives d l/d theta += dS_k/dtheta and a^k = a^{k+1} + dS_k/dx^k. */
    const pf_real ca = (pf_real)(-h / lam), ck = (pf_real)(exact_kin ? h / (lam * N) : 0);
    for (int k = nt - 1; k >= 0; k--) {
        const pf_real *Gk = tr->grads + (size_t)k * n * d1;
        if (kinetic && exact_kin)
            for (int i = 0; i < n; i++) st[1] += pf_sq(Gk + (size_t)i * d1, d);
        pf_flow_pack(n, d, tr->traj + (size_t)k * n * d, (pf_real)(k * h), tr->XI);
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < d; j++)
                tr->U[(size_t)i * d1 + j] = ca * tr->A[(size_t)i * d + j] + ck * Gk[(size_t)i * d1 + j];
            tr->U[(size_t)i * d1 + d] = 0; /* t is not a state variable */
        }
        if (k == nt - 1) /* phi still holds the simulation's value forward of (x^k, t_k) */
            pf_net_forward_tangent(phi, P->p, tr->U, NULL);
        else
            pf_net_forward(phi, P->p, n, tr->XI, tr->U, NULL, NULL);
        pf_net_backward(phi, P->p, NULL, phi->ones, P->g, tr->gX);
        for (int i = 0; i < n; i++)
            for (int j = 0; j < d; j++) tr->A[(size_t)i * d + j] += tr->gX[(size_t)i * d1 + j];
    }
    if (kinetic && c->kinetic_reference) {
        /* The reference code's variant: |grad phi(x^{k+1}, t_k)|^2 with x^{k+1} held
         * fixed (no gradient through the trajectory). */
        for (int k = 0; k < nt; k++) {
            pf_flow_pack(n, d, tr->traj + (size_t)(k + 1) * n * d, (pf_real)(k * h), tr->XI);
            pf_net_value_grad(phi, P->p, n, tr->XI, NULL, tr->gX);
            for (int i = 0; i < n; i++) {
                st[1] += pf_sq(tr->gX + (size_t)i * d1, d);
                for (int j = 0; j < d1; j++)
                    tr->U[(size_t)i * d1 + j] = j < d ? (pf_real)(h / (lam * N)) * tr->gX[(size_t)i * d1 + j] : 0;
            }
            pf_net_forward(phi, P->p, n, tr->XI, tr->U, NULL, NULL);
            pf_net_backward(phi, P->p, NULL, phi->ones, P->g, NULL);
        }
    }
    if (pf_fault_point("potential_loss")) st[0] = NAN;
    /* The loss needs no collective of its own (the gradient does not depend on its
     * value): this rank's share is kept, and reduced when it is reported
     * (pf_potential_loss_global).  A non-finite share poisons the gradient, so the
     * one gradient all-reduce tells every rank. */
    tr->pot_partial[0] = st[0];
    tr->pot_partial[1] = st[1];
    tr->last_loss_g = st[0] / N + (kinetic ? h / (2 * lam * N) * st[1] : 0);
    if (!isfinite(tr->last_loss_g)) P->g[0] = NAN;
    tr->t_pot += pf_now() - t1;
    return pf_status_ok();
}

double pf_potential_loss_global(pf_trainer *tr)
{
    const pf_config *c = &tr->cfg;
    double st[2] = {tr->pot_partial[0], tr->pot_partial[1]};
    pf_sum_all(st, 2);
    /* lambda * sum_k h (1/N) sum_i |v|^2 / 2 with v = -grad phi / lambda */
    tr->last_loss_g = st[0] / tr->N +
                      (pf_mode_kinetic(c->mode) ? tr->h / (2 * c->lambda * tr->N) * st[1] : 0);
    return tr->last_loss_g;
}

pf_status pf_potential_step(pf_trainer *tr)
{
    pf_status s = pf_potential_loss_grad(tr);
    if (s.bad) return s;
    const double gn = pf_reduce_grad(tr, &tr->theta);
    if (!isfinite(gn)) {
        /* every rank sees this: find out whether the loss itself was the cause */
        double lg = pf_potential_loss_global(tr);
        if (!isfinite(lg)) return pf_status_bad(tr, "potential loss loss_g", lg);
        return pf_status_bad(tr, "potential gradient grad_norm_phi", gn);
    }
    const double t1 = pf_now();
    pf_params_adam_step(&tr->theta);
    tr->t_pot += pf_now() - t1;
    return s;
}
