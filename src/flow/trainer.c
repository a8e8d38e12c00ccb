/* proxflow: the trainer (SPEC §1.7, §3): its networks, parameters, data views and
 * scratch; the draws every step shares; generation from the reference. */
#include "flow/flow_impl.h"
#include "proxflow/core/fault.h"
#include "proxflow/flow/simulate.h"
#include "proxflow/data/pool_source.h"
#include "proxflow/core/rng.h"

#include <float.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


static void alloc_scratch(pf_trainer *tr)
{
    const int n = tr->nmax, d = tr->d, nt = tr->cfg.steps;
    const size_t nd = (size_t)n * d, nd1 = (size_t)n * (d + 1);
    tr->X0 = pf_malloc(sizeof(pf_real) * nd);
    tr->XT = pf_malloc(sizeof(pf_real) * nd);
    tr->Y = pf_malloc(sizeof(pf_real) * nd);
    tr->XH = pf_malloc(sizeof(pf_real) * nd);
    tr->G1 = pf_malloc(sizeof(pf_real) * nd);
    tr->A = pf_malloc(sizeof(pf_real) * nd);
    tr->XC = pf_malloc(sizeof(pf_real) * 2 * nd);
    tr->S = pf_malloc(sizeof(pf_real) * n);
    tr->traj = pf_malloc(sizeof(pf_real) * (size_t)(nt + 1) * nd);
    tr->grads = pf_malloc(sizeof(pf_real) * (size_t)nt * nd1);
    tr->work = pf_malloc(sizeof(pf_real) * 2 * nd1);
    tr->XI = pf_malloc(sizeof(pf_real) * nd1);
    tr->U = pf_malloc(sizeof(pf_real) * nd1);
    tr->gX = pf_malloc(sizeof(pf_real) * nd1);
    tr->w = pf_malloc(sizeof(pf_real) * 2 * n);
    tr->fv = pf_malloc(sizeof(pf_real) * 2 * n);
}

/* The discriminator batches' simulations (issue 7): groups of sim_group batches of
 * n_local rows go through phi as one batch, as many as keep phi's workspace within
 * 64 MiB.  Networks whose workspace is larger anyway (the MNIST CNN: about 150 MiB at
 * batch 200) simulate batch by batch: they gain nothing from bigger GEMMs (conv.c's
 * GEMMs are per sample), would grow by a group's workspace, and groups of 2 looked
 * slower (larger layer buffers fall out of cache; measured on a busy machine). */
static void alloc_disc_sim(pf_trainer *tr)
{
    const int nd = tr->cfg.n_disc, n = tr->n_local, d = tr->d;
    const size_t budget = (size_t)64 << 20;
    int g = nd;
    while (g > 1 && pf_net_workspace_bytes(&tr->phi, (g * n + 1) / 2) > budget) g--;
    if (g < 2 || n < 1) return;
    tr->sim_group = g;
    tr->XTd = pf_malloc(sizeof(pf_real) * (size_t)nd * n * d);
    tr->work_d = pf_malloc(sizeof(pf_real) * 2 * (size_t)g * n * (d + 1));
    /* Row-parallel groups (issue 7): OpenBLAS does not thread the GEMMs of small layers
     * (64 wide: 2 threads ran as fast as 1), but the rows of a simulation are
     * independent.  T chunks of at least SIM_MIN_ROWS rows, one per thread, each through
     * its own workspace of phi; together they hold what one group's workspace held. */
    enum { SIM_MIN_ROWS = 64 };
    int T = 1;
#ifdef PF_BLAS_OPENMP
    T = omp_get_max_threads();
    if (T > g * n / SIM_MIN_ROWS) T = g * n / SIM_MIN_ROWS;
    if (T < 1) T = 1;
#endif
    const int chunk = (g * n + T - 1) / T;
    pf_net_reserve(&tr->phi, (chunk + 1) / 2);
    tr->sim_threads = T;
    if (T > 1) {
        tr->sim_nets = pf_calloc((size_t)T - 1, sizeof *tr->sim_nets);
        for (int t = 0; t < T - 1; t++) {
            pf_net_init_from_config(&tr->sim_nets[t], &tr->cfg.potential, d, tr->H, tr->W, tr->C, 1);
            pf_net_reserve(&tr->sim_nets[t], (chunk + 1) / 2);
        }
    }
}

void pf_trainer_init(pf_trainer *tr, const pf_config *cfg)
{
    memset(tr, 0, sizeof *tr);
    tr->cfg = *cfg;
    const int P = pf_nranks(), r = pf_rank();
    tr->N = cfg->batch;
    pf_block(tr->N, r, P, &tr->i0, &tr->i1);
    tr->n_local = tr->i1 - tr->i0;
    tr->Nd = cfg->diag_batch;
    pf_block(tr->Nd, r, P, &tr->d0, &tr->d1);
    tr->nmax = tr->n_local > tr->d1 - tr->d0 ? tr->n_local : tr->d1 - tr->d0;
    if (tr->nmax < 1) tr->nmax = 1;
    pf_fault_point("data_open");
    tr->data = pf_data_open(cfg, tr->N, tr->i0, tr->i1);
    /* The diagnostic batch has its own columns (SPEC §3 sharding with N = diag_batch):
     * a file source must hold those rows too, so it gets its own shard. */
    tr->diag_data = (tr->Nd == tr->N) ? tr->data : pf_data_open(cfg, tr->Nd, tr->d0, tr->d1);
    tr->d = pf_data_dim(tr->data);
    pf_data_image_shape(tr->data, &tr->H, &tr->W, &tr->C);
    if (cfg->ref_pool[0]) {
        /* A stored pool as rho_0 (SPEC §8): drawn like a data file (SPEC §3 columns), so
         * the draws do not depend on the rank count; its own view for the diagnostic
         * batch's columns. */
        tr->pool = pf_pool_open_reference(cfg, tr->N, tr->i0, tr->i1, tr->d);
        tr->pool_diag = (tr->Nd == tr->N) ? tr->pool
                                          : pf_pool_open_reference(cfg, tr->Nd, tr->d0, tr->d1, tr->d);
    }
    tr->h = cfg->T / cfg->steps;

    pf_net_init_from_config(&tr->phi, &cfg->potential, tr->d, tr->H, tr->W, tr->C, 1);
    pf_net_init_from_config(&tr->gamma, &cfg->discriminator, tr->d, tr->H, tr->W, tr->C, 0);
    pf_net_reserve(&tr->phi, tr->nmax);
    pf_net_reserve(&tr->gamma, tr->nmax); /* also holds the 2n value rows of [x^{Nt}; y] */
    const pf_net_config *pc = &cfg->potential, *dc = &cfg->discriminator;
    pf_params_alloc(&tr->theta, tr->phi.n_params, pc->lr, pc->beta1, pc->beta2, pc->eps);
    const int legendre = cfg->f != PF_F_KL;
    pf_params_alloc(&tr->psi, tr->gamma.n_params + (legendre ? 1 : 0), dc->lr, dc->beta1,
                    dc->beta2, dc->eps);
    tr->nu_index = legendre ? tr->gamma.n_params : SIZE_MAX;
    pf_net_init_params(&tr->phi, tr->theta.p, cfg->seed, PF_RNG_INIT_PHI);
    pf_net_init_params(&tr->gamma, tr->psi.p, cfg->seed, PF_RNG_INIT_GAMMA);
    alloc_scratch(tr);
    alloc_disc_sim(tr);

    if (cfg->f == PF_F_REVERSE_KL) {
        /* f*(s) = -1 - log(-s) needs s = gamma(y) - nu < 0: start nu above every gamma of
         * the first data batch (a deterministic, global choice; docs/CONFIG.md). */
        pf_data_draw(tr->data, 0, PF_PURPOSE(PF_RNG_DATA, 0), tr->i0, tr->i1, tr->Y);
        pf_net_forward(&tr->gamma, tr->psi.p, tr->n_local, tr->Y, NULL, tr->fv, NULL);
        double m = -DBL_MAX;
        for (int j = 0; j < tr->n_local; j++) m = fmax(m, tr->fv[j]);
        pf_max_all(&m, 1);
        tr->psi.p[tr->nu_index] = (pf_real)(m + 1);
    }
}

void pf_trainer_free(pf_trainer *tr)
{
    pf_real *bufs[] = {tr->X0, tr->XT, tr->Y, tr->XH, tr->XC, tr->S, tr->traj, tr->grads,
                       tr->work, tr->G1, tr->XI, tr->U, tr->gX, tr->A, tr->w, tr->fv,
                       tr->XTd, tr->work_d};
    for (size_t k = 0; k < sizeof bufs / sizeof bufs[0]; k++) free(bufs[k]);
    for (int t = 0; t + 1 < tr->sim_threads; t++) pf_net_free(&tr->sim_nets[t]);
    free(tr->sim_nets);
    pf_net_free(&tr->phi);
    pf_net_free(&tr->gamma);
    pf_params_free(&tr->theta);
    pf_params_free(&tr->psi);
    if (tr->diag_data != tr->data) pf_data_close(tr->diag_data);
    pf_data_close(tr->data);
    if (tr->pool_diag != tr->pool) pf_data_close(tr->pool_diag);
    if (tr->pool) pf_data_close(tr->pool);
    memset(tr, 0, sizeof *tr);
}

pf_status pf_status_ok(void)
{
    pf_status s;
    s.bad = 0;
    s.msg[0] = 0;
    return s;
}

pf_status pf_status_bad(const pf_trainer *tr, const char *what, double value)
{
    pf_status s;
    s.bad = 1;
    snprintf(s.msg, sizeof s.msg, "non-finite %s (%g) at iteration %ld", what, value,
             tr->iteration + 1);
    return s;
}

/* proxflow_bench's split of the all-reduce time (split_wait): the barrier's time is the
 * wait for the slowest rank, what remains is the reduction itself. */
static void wait_for_ranks(pf_trainer *tr, double *t0)
{
    if (!tr->split_wait || pf_nranks() == 1) return;
    MPI_Barrier(pf_comm());
    const double t = pf_now();
    tr->t_wait += t - *t0;
    *t0 = t;
}

double pf_reduce_grad(pf_trainer *tr, pf_params *P)
{
    double t0 = pf_now();
    wait_for_ranks(tr, &t0);
    pf_params_allreduce_grad(P);
    tr->t_reduce += pf_now() - t0;
    return pf_params_grad_norm(P);
}

/* Interpolation weights s_i ~ U[0,1], one per pair (SPEC §1.4). */
void pf_draw_interp(const pf_trainer *tr, uint64_t it, uint32_t purpose, int a, int b,
                        pf_real *S)
{
    for (int i = a; i < b; i++) {
        pf_stream st;
        pf_stream_init(&st, tr->cfg.seed, it, purpose, (uint64_t)i);
        S[i - a] = (pf_real)pf_stream_uniform(&st);
    }
}

/* Reference samples x^0 of global indices [a, b): from rho_0, or from the stored pool
 * view (train: columns of N; diag: columns of Nd) when the config names one. */
void pf_ref_draw(const pf_trainer *tr, const pf_data *pool, uint64_t it, uint32_t purpose,
                     int a, int b, pf_real *X)
{
    if (pool)
        pf_data_draw(pool, it, purpose, a, b, X);
    else
        pf_reference_draw(&tr->cfg, tr->d, it, purpose, a, b, X);
}

void pf_trainer_batch_reference(const pf_trainer *tr, uint64_t it, uint32_t purpose, pf_real *X)
{
    pf_ref_draw(tr, tr->pool, it, purpose, tr->i0, tr->i1, X);
}

void pf_trainer_reference(const pf_trainer *tr, uint64_t iteration, uint32_t purpose, int a,
                          int b, pf_real *X)
{
    if (tr->cfg.ref_pool[0])
        pf_pool_read_rows(tr->cfg.ref_pool, a, b, tr->d, X); /* rows a..b-1 as stored */
    else
        pf_reference_draw(&tr->cfg, tr->d, iteration, purpose, a, b, X);
}

void pf_generate(pf_trainer *tr, uint64_t iteration, uint32_t purpose, int a, int b, int nt,
                 pf_real *X, pf_real *traj)
{
    if (nt <= 0) nt = tr->cfg.steps;
    const int n = b - a;
    pf_trainer_reference(tr, iteration, purpose, a, b, X);
    pf_real *work = pf_malloc(sizeof(pf_real) * 2 * (size_t)(n > 0 ? n : 1) * (tr->d + 1));
    pf_net_reserve(&tr->phi, n);
    pf_flow_simulate(&tr->phi, tr->theta.p, n, tr->d, nt, tr->cfg.T / nt, tr->cfg.lambda, X, X,
                     traj, NULL, work);
    free(work);
}
