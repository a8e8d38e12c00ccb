/* proxflow: one training iteration (SPEC §1.7): the n_disc discriminator batches
 * simulated first (phi does not change during the discriminator steps), n_disc
 * discriminator steps, one potential step. */
#include "flow/flow_impl.h"
#include "proxflow/core/rng.h"
#include "proxflow/flow/simulate.h"

#include <omp.h>

/* x^{Nt} of all n_disc discriminator batches of this iteration, chunk by chunk on the
 * lanes: with sim_group the chunk's n_disc batches go through phi as one call of
 * n_disc m_c rows (bigger GEMMs, fewer passes), else batch by batch.  Either way a
 * call's shape depends on the config and the chunk only (SPEC §3). */
void pf_simulate_disc_batches(pf_trainer *tr)
{
    const pf_config *c = &tr->cfg;
    const int d = tr->d, nd = c->n_disc, nloc = tr->ch.c1 - tr->ch.c0;
    const uint64_t bit = pf_batch_iteration(tr);
    const double t0 = pf_now();
    PF_LANES_FOR(tr, lc, nloc, {
        pf_lane *ln = pf_this_lane(tr);
        int a, b;
        pf_chunk_rows(&tr->ch, tr->ch.c0 + lc, &a, &b);
        const int m = b - a;
        pf_real *X = tr->XTd + (size_t)nd * (a - tr->i0) * d;
        for (int k = 0; k < nd; k++)
            pf_ref_draw(tr, tr->pool, bit, PF_PURPOSE(PF_RNG_REFERENCE, k), a, b, X + (size_t)k * m * d);
        if (tr->sim_group)
            pf_flow_simulate(ln->phi, tr->theta.p, nd * m, d, c->steps, tr->h, c->lambda, X, X,
                             NULL, NULL, ln->work);
        else
            for (int k = 0; k < nd; k++)
                pf_flow_simulate(ln->phi, tr->theta.p, m, d, c->steps, tr->h, c->lambda,
                                 X + (size_t)k * m * d, X + (size_t)k * m * d, NULL, NULL, ln->work);
    });
    tr->xtd_ready = 1;
    tr->t_sim += pf_now() - t0;
}

pf_status pf_train_iteration(pf_trainer *tr)
{
    pf_simulate_disc_batches(tr);
    pf_status s = pf_status_ok();
    for (int k = 0; k < tr->cfg.n_disc && !s.bad; k++) s = pf_disc_step(tr, k);
    tr->xtd_ready = 0;
    if (!s.bad) s = pf_potential_step(tr);
    if (s.bad) return s;
    tr->iteration++;
    return s;
}

double pf_trainer_flops(const pf_trainer *tr)
{
    double f = 0;
    for (int t = 0; t < tr->n_lanes; t++) f += tr->lanes[t].phi->flops + tr->lanes[t].gamma->flops;
    return f;
}
