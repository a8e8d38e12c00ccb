/* proxflow: the potential step (SPEC §1.5): E gamma(x^T) plus the kinetic term, its
 * gradient through the whole Euler trajectory (the reverse sweep of SPEC §1.9 item 3),
 * the exact gradient sum over chunks and ranks, Adam.  Each chunk of this rank is one
 * unit of work on a lane: simulation, terminal cost and reverse sweep of its rows. */
#include "flow/flow_impl.h"
#include "proxflow/core/rng.h"
#include "proxflow/core/fault.h"
#include "proxflow/flow/simulate.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Chunk c (the lc-th of this rank): its gradient into the chunk's buffer, its sums of
 * gamma(x^T) and |grad phi|^2 into st [2]. */
static void potential_chunk(pf_trainer *tr, int c, int lc, double *st)
{
    const pf_config *cf = &tr->cfg;
    const int d = tr->d, nt = cf->steps, d1 = d + 1;
    const double N = tr->N, h = tr->h, lam = cf->lambda;
    const int kinetic = pf_mode_kinetic(cf->mode);
    const int exact_kin = kinetic && !cf->kinetic_reference;
    pf_lane *ln = pf_this_lane(tr);
    pf_net *phi = ln->phi;
    const pf_real *th = tr->theta.p;
    pf_real *grad = tr->gpart[lc];
    int a, b;
    pf_chunk_rows(&tr->ch, c, &a, &b);
    const int n = b - a;
    memset(grad, 0, sizeof(pf_real) * tr->theta.n);
    st[0] = st[1] = 0;

    pf_ref_draw(tr, tr->pool, pf_batch_iteration(tr), PF_RNG_GEN_REFERENCE, a, b, ln->X0);
    pf_flow_simulate(phi, th, n, d, nt, h, lam, ln->X0, ln->XT, ln->traj, ln->grads, ln->work);
    memcpy(tr->XT_all + (size_t)(a - tr->i0) * d, ln->XT, sizeof(pf_real) * (size_t)n * d);
    /* terminal cost (1/N) sum gamma(x^{Nt}); adjoint a^{Nt} = grad gamma / N */
    pf_net_value_grad(ln->gamma, tr->psi.p, n, ln->XT, ln->fv, ln->G1);
    for (int i = 0; i < n; i++) st[0] += ln->fv[i];
    for (size_t q = 0; q < (size_t)n * d; q++) ln->A[q] = (pf_real)(ln->G1[q] / N);

    /* Reverse sweep: S_k = sum_i grad phi(x_i^k, t_k) . u_i with
     *   u = -(h/lambda) a^{k+1} + (h/(lambda N)) grad phi(x^k)   [kinetic term, exact]
     * gives d l/d theta += dS_k/dtheta and a^k = a^{k+1} + dS_k/dx^k. */
    const pf_real ca = (pf_real)(-h / lam), ck = (pf_real)(exact_kin ? h / (lam * N) : 0);
    for (int k = nt - 1; k >= 0; k--) {
        const pf_real *Gk = ln->grads + (size_t)k * n * d1;
        if (kinetic && exact_kin)
            for (int i = 0; i < n; i++) st[1] += pf_sq(Gk + (size_t)i * d1, d);
        pf_flow_pack(n, d, ln->traj + (size_t)k * n * d, (pf_real)(k * h), ln->XI);
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < d; j++)
                ln->U[(size_t)i * d1 + j] = ca * ln->A[(size_t)i * d + j] + ck * Gk[(size_t)i * d1 + j];
            ln->U[(size_t)i * d1 + d] = 0; /* t is not a state variable */
        }
        if (k == nt - 1) /* phi still holds the simulation's value forward of (x^k, t_k) */
            pf_net_forward_tangent(phi, th, ln->U, NULL);
        else
            pf_net_forward(phi, th, n, ln->XI, ln->U, NULL, NULL);
        pf_net_backward(phi, th, NULL, phi->ones, grad, ln->gX);
        for (int i = 0; i < n; i++)
            for (int j = 0; j < d; j++) ln->A[(size_t)i * d + j] += ln->gX[(size_t)i * d1 + j];
    }
    if (kinetic && cf->kinetic_reference) {
        /* The reference code's variant: |grad phi(x^{k+1}, t_k)|^2 with x^{k+1} held
         * fixed (no gradient through the trajectory). */
        for (int k = 0; k < nt; k++) {
            pf_flow_pack(n, d, ln->traj + (size_t)(k + 1) * n * d, (pf_real)(k * h), ln->XI);
            pf_net_value_grad(phi, th, n, ln->XI, NULL, ln->gX);
            for (int i = 0; i < n; i++) {
                st[1] += pf_sq(ln->gX + (size_t)i * d1, d);
                for (int j = 0; j < d1; j++)
                    ln->U[(size_t)i * d1 + j] = j < d ? (pf_real)(h / (lam * N)) * ln->gX[(size_t)i * d1 + j] : 0;
            }
            pf_net_forward(phi, th, n, ln->XI, ln->U, NULL, NULL);
            pf_net_backward(phi, th, NULL, phi->ones, grad, NULL);
        }
    }
}

pf_status pf_potential_loss_grad(pf_trainer *tr)
{
    const pf_config *cf = &tr->cfg;
    const double N = tr->N, h = tr->h, lam = cf->lambda;
    const int kinetic = pf_mode_kinetic(cf->mode);
    const int nloc = tr->ch.c1 - tr->ch.c0;
    pf_params *P = &tr->theta;

    const double t0 = pf_now(), r0 = tr->t_reduce + tr->t_wait;
    double *sts = pf_malloc(sizeof(double) * 2 * (size_t)(nloc > 0 ? nloc : 1));
    PF_LANES_FOR(tr, lc, nloc, { potential_chunk(tr, tr->ch.c0 + lc, lc, sts + 2 * (size_t)lc); });
    if (pf_fault_point("potential_loss") && nloc > 0) sts[0] = NAN;
    double st[2];
    pf_chunks_sum(&tr->ch, sts, 2, st);
    free(sts);
    /* lambda * sum_k h (1/N) sum_i |v|^2 / 2 with v = -grad phi / lambda */
    tr->last_loss_g = st[0] / N + (kinetic ? h / (2 * lam * N) * st[1] : 0);
    if (!isfinite(tr->last_loss_g)) return pf_status_bad(tr, "potential loss loss_g", tr->last_loss_g);
    pf_reduce_grad(tr, tr->gpart, nloc, P->n, P->g);
    tr->t_pot += pf_now() - t0 - (tr->t_reduce + tr->t_wait - r0);
    return pf_status_ok();
}

double pf_potential_loss_global(pf_trainer *tr) { return tr->last_loss_g; }

pf_status pf_potential_step(pf_trainer *tr)
{
    pf_status s = pf_potential_loss_grad(tr);
    if (s.bad) return s;
    const double gn = pf_params_grad_norm(&tr->theta);
    if (!isfinite(gn)) return pf_status_bad(tr, "potential gradient grad_norm_phi", gn);
    const double t1 = pf_now();
    pf_params_adam_step(&tr->theta);
    tr->t_pot += pf_now() - t1;
    return s;
}
