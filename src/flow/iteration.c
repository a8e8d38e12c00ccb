/* proxflow: one training iteration (SPEC §1.7): the n_disc discriminator batches
 * simulated together, n_disc discriminator steps, one potential step. */
#include "flow/flow_impl.h"
#include "proxflow/core/rng.h"
#include "proxflow/flow/simulate.h"

#include <omp.h>


/* x^{Nt} of all n_disc discriminator batches of this iteration: phi does not change
 * during the discriminator steps, so the batches are simulated sim_group at a time
 * (bigger GEMMs, fewer passes; issue 7).  Each batch has its own draws as in
 * pf_disc_loss_grad; rows do not interact, so only the GEMM blocking differs. */
static void simulate_disc_batches(pf_trainer *tr)
{
    const pf_config *c = &tr->cfg;
    const int n = tr->n_local, d = tr->d, g = tr->sim_group;
    const uint64_t it = (uint64_t)tr->iteration;
    const double t0 = pf_now();
    for (int k0 = 0; k0 < c->n_disc; k0 += g) {
        const int m = c->n_disc - k0 < g ? c->n_disc - k0 : g;
        pf_real *X = tr->XTd + (size_t)k0 * n * d;
        for (int k = k0; k < k0 + m; k++)
            pf_ref_draw(tr, tr->pool, it, PF_PURPOSE(PF_RNG_REFERENCE, k), tr->i0, tr->i1,
                     tr->XTd + (size_t)k * n * d);
        const int rows = m * n;
        int T = tr->sim_threads;
        if (T > omp_get_max_threads()) T = omp_get_max_threads(); /* threads lowered since */
        if (T <= 1) {
            pf_flow_simulate(&tr->phi, tr->theta.p, rows, d, c->steps, tr->h, c->lambda, X, X,
                             NULL, NULL, tr->work_d);
            continue;
        }
        /* chunk t of the rows on thread t, with its own workspace; BLAS and the
         * element-wise loops inside run single-threaded (nested regions) */
#pragma omp parallel num_threads(T)
        {
            const int t = omp_get_thread_num();
            int r0, r1;
            pf_block(rows, t, T, &r0, &r1);
            pf_net *net = t == 0 ? &tr->phi : &tr->sim_nets[t - 1];
            pf_flow_simulate(net, tr->theta.p, r1 - r0, d, c->steps, tr->h, c->lambda,
                             X + (size_t)r0 * d, X + (size_t)r0 * d, NULL, NULL,
                             tr->work_d + 2 * (size_t)r0 * (d + 1));
        }
        for (int t = 0; t + 1 < T; t++) { /* their flops count as phi's */
            tr->phi.flops += tr->sim_nets[t].flops;
            tr->sim_nets[t].flops = 0;
        }
    }
    tr->xtd_ready = 1;
    tr->t_sim += pf_now() - t0;
}

static pf_status steps(pf_trainer *tr)
{
    for (int k = 0; k < tr->cfg.n_disc; k++) {
        pf_status s = pf_disc_step(tr, k);
        if (s.bad) return s;
    }
    return pf_potential_step(tr);
}

pf_status pf_train_iteration(pf_trainer *tr)
{
    if (tr->XTd) simulate_disc_batches(tr);
    /* Small MLPs: OpenBLAS threads every GEMM of the steps (OpenMP build: BLAS threads =
     * OpenMP threads) and loses: 2 threads made bench_2d's steps 1.5x slower than 1.
     * So the steps run on one thread; the threads went to the simulation above. */
    const int T = omp_get_max_threads(), serial = T > 1 && pf_config_small_mlps(&tr->cfg);
    if (serial) omp_set_num_threads(1);
    pf_status s = steps(tr);
    if (serial) omp_set_num_threads(T);
    tr->xtd_ready = 0;
    if (s.bad) return s;
    tr->iteration++;
    return s;
}
