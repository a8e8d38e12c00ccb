/* proxflow: the trainer (SPEC §1.7, §3): its networks, parameters, data views, chunk
 * layout and lanes; the draws every step shares; generation from the reference. */
#include "flow/flow_impl.h"
#include "flow/sizes.h"
#include "proxflow/core/fault.h"
#include "proxflow/flow/simulate.h"
#include "proxflow/data/pool_source.h"
#include "proxflow/core/rng.h"

#include <float.h>
#include <math.h>
#include <mpi.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Workspace budget of a lane's phi for the discriminator simulation: a chunk's n_disc
 * batches go through phi as one call when that fits (bigger GEMMs, fewer passes; the
 * decision depends on the config only, so the call shapes do too). */
#define SIM_BUDGET ((size_t)64 << 20)

static void lane_alloc(pf_trainer *tr, pf_lane *ln, int t, int R, int Rs)
{
    const int d = tr->d, nt = tr->cfg.steps, Rw = R > Rs ? R : Rs;
    const size_t nd = (size_t)R * d, nd1 = (size_t)R * (d + 1);
    if (t == 0) {
        ln->phi = &tr->phi;
        ln->gamma = &tr->gamma;
    } else {
        pf_net_init_from_config(&ln->own_phi, &tr->cfg.potential, d, tr->H, tr->W, tr->C, 1);
        pf_net_init_from_config(&ln->own_gamma, &tr->cfg.discriminator, d, tr->H, tr->W, tr->C, 0);
        ln->phi = &ln->own_phi;
        ln->gamma = &ln->own_gamma;
    }
    pf_net_reserve(ln->phi, R > (Rs + 1) / 2 ? R : (Rs + 1) / 2);
    pf_net_reserve(ln->gamma, R);
    ln->X0 = pf_malloc(sizeof(pf_real) * nd);
    ln->XT = pf_malloc(sizeof(pf_real) * nd);
    ln->Y = pf_malloc(sizeof(pf_real) * nd);
    ln->XH = pf_malloc(sizeof(pf_real) * nd);
    ln->G1 = pf_malloc(sizeof(pf_real) * nd);
    ln->A = pf_malloc(sizeof(pf_real) * nd);
    ln->S = pf_malloc(sizeof(pf_real) * R);
    ln->traj = pf_malloc(sizeof(pf_real) * (size_t)(nt + 1) * nd);
    ln->grads = pf_malloc(sizeof(pf_real) * (size_t)nt * nd1);
    ln->work = pf_malloc(sizeof(pf_real) * 2 * (size_t)Rw * (d + 1));
    ln->XI = pf_malloc(sizeof(pf_real) * nd1);
    ln->U = pf_malloc(sizeof(pf_real) * nd1);
    ln->gX = pf_malloc(sizeof(pf_real) * nd1);
    ln->w = pf_malloc(sizeof(pf_real) * R);
    ln->fv = pf_malloc(sizeof(pf_real) * 2 * R);
}

static void lane_free(pf_lane *ln, int t)
{
    pf_real *bufs[] = {ln->X0, ln->XT, ln->Y, ln->XH, ln->G1, ln->A, ln->S, ln->traj, ln->grads,
                       ln->work, ln->XI, ln->U, ln->gX, ln->w, ln->fv};
    for (size_t k = 0; k < sizeof bufs / sizeof bufs[0]; k++) free(bufs[k]);
    if (t > 0) {
        pf_net_free(&ln->own_phi);
        pf_net_free(&ln->own_gamma);
    }
}

pf_lane *pf_this_lane(pf_trainer *tr)
{
    const int t = omp_get_thread_num();
    return &tr->lanes[t < tr->n_lanes ? t : 0];
}

void pf_gen_layout(pf_chunks *L, int n)
{
    pf_chunks_init(L, n, (n + PF_GEN_ROWS - 1) / PF_GEN_ROWS, pf_rank(), pf_nranks());
}

void pf_trainer_init(pf_trainer *tr, const pf_config *cfg)
{
    memset(tr, 0, sizeof *tr);
    tr->cfg = *cfg;
    const int P = pf_nranks(), r = pf_rank();
    tr->N = cfg->batch;
    tr->Nd = cfg->diag_batch;
    pf_chunks_init(&tr->ch, tr->N, cfg->chunks, r, P);
    pf_chunks_init(&tr->chd, tr->Nd, cfg->chunks, r, P);
    /* SPEC §3: ranks own whole chunks of the batch (a rank may have no chunk of a small
     * diagnostic batch: it then adds nothing to the diagnostics) */
    if (P > tr->ch.K)
        pf_fail_collective(2, "%d ranks, but the batch has only %d chunks ([train] chunks = %d, "
                              "[train] batch = %d): each rank needs a chunk; raise [train] chunks "
                              "(and batch) to at least %d, or run on fewer ranks (docs/CONFIG.md)",
                           P, tr->ch.K, cfg->chunks, tr->N, P);
    if (tr->ch.K + tr->chd.K > PF_XSUM_MAX_PARTS)
        pf_fail_collective(2, "[train] chunks = %d: at most %d", cfg->chunks, PF_XSUM_MAX_PARTS / 2);
    tr->i0 = tr->ch.i0;
    tr->i1 = tr->ch.i1;
    tr->n_local = tr->i1 - tr->i0;
    tr->di0 = tr->chd.i0;
    tr->di1 = tr->chd.i1;
    pf_fault_point("data_open");
    tr->data = pf_data_open(cfg, tr->N, tr->i0, tr->i1);
    /* The diagnostic batch has its own columns (SPEC §3 sharding with N = diag_batch):
     * a file source must hold those rows too, so it gets its own shard. */
    tr->diag_data = (tr->Nd == tr->N && tr->di0 == tr->i0 && tr->di1 == tr->i1)
                        ? tr->data
                        : pf_data_open(cfg, tr->Nd, tr->di0, tr->di1);
    tr->d = pf_data_dim(tr->data);
    pf_data_image_shape(tr->data, &tr->H, &tr->W, &tr->C);
    if (cfg->ref_pool[0]) {
        /* A stored pool as rho_0 (SPEC §8): drawn like a data file (SPEC §3 columns), so
         * the draws do not depend on the rank count; its own view for the diagnostic
         * batch's columns. */
        tr->pool = pf_pool_open_reference(cfg, tr->N, tr->i0, tr->i1, tr->d);
        tr->pool_diag = tr->diag_data == tr->data
                            ? tr->pool
                            : pf_pool_open_reference(cfg, tr->Nd, tr->di0, tr->di1, tr->d);
    }
    tr->h = cfg->T / cfg->steps;

    pf_net_init_from_config(&tr->phi, &cfg->potential, tr->d, tr->H, tr->W, tr->C, 1);
    pf_net_init_from_config(&tr->gamma, &cfg->discriminator, tr->d, tr->H, tr->W, tr->C, 0);
    const pf_net_config *pc = &cfg->potential, *dc = &cfg->discriminator;
    pf_params_alloc(&tr->theta, tr->phi.n_params, pc->lr, pc->beta1, pc->beta2, pc->eps);
    const int legendre = cfg->f != PF_F_KL;
    pf_params_alloc(&tr->psi, tr->gamma.n_params + (legendre ? 1 : 0), dc->lr, dc->beta1,
                    dc->beta2, dc->eps);
    tr->nu_index = legendre ? tr->gamma.n_params : SIZE_MAX;
    pf_net_init_params(&tr->phi, tr->theta.p, cfg->seed, PF_RNG_INIT_PHI);
    pf_net_init_params(&tr->gamma, tr->psi.p, cfg->seed, PF_RNG_INIT_GAMMA);

    /* lanes: rows of the largest chunk of either batch and of generation */
    int R = tr->ch.max_rows > tr->chd.max_rows ? tr->ch.max_rows : tr->chd.max_rows;
    if (R < PF_GEN_ROWS) R = PF_GEN_ROWS;
    const int Rs = cfg->n_disc * tr->ch.max_rows;
    tr->sim_group = cfg->n_disc > 1 && pf_net_workspace_bytes(&tr->phi, (Rs + 1) / 2) <= SIM_BUDGET;
    const int nloc = tr->ch.c1 - tr->ch.c0, nlocd = tr->chd.c1 - tr->chd.c0;
    int T = omp_get_max_threads(), most = nloc > nlocd ? nloc : nlocd;
    if (T > most) T = most;
    if (T < 1) T = 1;
    tr->n_lanes = tr->sim_threads = T;
    /* sizes from the config before any allocation (src/flow/sizes.c), with bounds that are
     * the same on every rank (the local rows: at most ceil(K / P) chunks) */
    pf_check_sizes(cfg, tr->d, T, R, tr->sim_group ? Rs : R,
                   (long long)((tr->ch.K + P - 1) / P) * tr->ch.max_rows);
    tr->lanes = pf_calloc((size_t)T, sizeof *tr->lanes);
    for (int t = 0; t < T; t++) lane_alloc(tr, &tr->lanes[t], t, R, tr->sim_group ? Rs : R);

    /* per-chunk gradients and their exact sum */
    tr->gstride = ((tr->theta.n > tr->psi.n ? tr->theta.n : tr->psi.n) + 7) / 8 * 8;
    const int nparts = nloc > 0 ? nloc : 1;
    tr->gbuf = pf_malloc(sizeof(pf_real) * tr->gstride * nparts);
    tr->gpart = pf_malloc(sizeof(pf_real *) * nparts);
    for (int k = 0; k < nparts; k++) tr->gpart[k] = tr->gbuf + tr->gstride * k;
    if (!legendre) {
        tr->gbufY = pf_malloc(sizeof(pf_real) * tr->gstride * nparts);
        tr->gpartY = pf_malloc(sizeof(pf_real *) * nparts);
        for (int k = 0; k < nparts; k++) tr->gpartY[k] = tr->gbufY + tr->gstride * k;
    }
    pf_xsum_alloc(&tr->xs, tr->gstride);
    if (cfg->n_disc >= 1 && tr->n_local > 0)
        tr->XTd = pf_malloc(sizeof(pf_real) * (size_t)cfg->n_disc * tr->n_local * tr->d);
    tr->XT_all = pf_malloc(sizeof(pf_real) * (size_t)(tr->n_local > 0 ? tr->n_local : 1) * tr->d);

    if (cfg->f == PF_F_REVERSE_KL) {
        /* f*(s) = -1 - log(-s) needs s = gamma(y) - nu < 0: start nu above every gamma of
         * the first data batch (a deterministic, global choice; docs/CONFIG.md) */
        double m = -DBL_MAX;
        for (int c = tr->ch.c0; c < tr->ch.c1; c++) {
            int a, b;
            pf_chunk_rows(&tr->ch, c, &a, &b);
            pf_lane *ln = &tr->lanes[0];
            pf_data_draw(tr->data, 0, PF_PURPOSE(PF_RNG_DATA, 0), a, b, ln->Y);
            pf_net_forward(ln->gamma, tr->psi.p, b - a, ln->Y, NULL, ln->fv, NULL);
            for (int j = 0; j < b - a; j++) m = fmax(m, ln->fv[j]);
        }
        pf_max_all(&m, 1);
        tr->psi.p[tr->nu_index] = (pf_real)(m + 1);
    }
}

void pf_trainer_free(pf_trainer *tr)
{
    for (int t = 0; t < tr->n_lanes; t++) lane_free(&tr->lanes[t], t);
    free(tr->lanes);
    free(tr->gbuf);
    free(tr->gbufY);
    free(tr->gpart);
    free(tr->gpartY);
    pf_xsum_free(&tr->xs);
    free(tr->XTd);
    free(tr->XT_all);
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

void pf_reduce_grad(pf_trainer *tr, pf_real *const *parts, int nloc, size_t n, pf_real *out)
{
    double t0 = pf_now();
    if (tr->split_wait && pf_nranks() > 1) {
        MPI_Barrier(pf_comm());
        const double t = pf_now();
        tr->t_wait += t - t0;
        t0 = t;
    }
    pf_xsum_reduce(&tr->xs, parts, nloc, n, out);
    tr->t_reduce += pf_now() - t0;
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

void pf_push(pf_trainer *tr, const pf_chunks *L, int cb, int ce, int nt, pf_real *X,
             pf_real *traj)
{
    if (nt <= 0) nt = tr->cfg.steps;
    const int d = tr->d;
    int first, b0;
    if (ce <= cb) return;
    pf_chunk_rows(L, cb, &first, &b0);
    int last_a, rows_end;
    pf_chunk_rows(L, ce - 1, &last_a, &rows_end);
    const int rows = rows_end - first;
    PF_LANES_FOR(tr, q, ce - cb, {
        pf_lane *ln = pf_this_lane(tr);
        int a, b;
        pf_chunk_rows(L, cb + q, &a, &b);
        const int m = b - a, o = a - first;
        pf_real *x = X + (size_t)o * d;
        pf_real *tj = traj ? pf_malloc(sizeof(pf_real) * (size_t)(nt + 1) * m * d) : NULL;
        pf_real *work = pf_malloc(sizeof(pf_real) * 2 * (size_t)(m > 0 ? m : 1) * (d + 1));
        pf_net_reserve(ln->phi, m);
        pf_flow_simulate(ln->phi, tr->theta.p, m, d, nt, tr->cfg.T / nt, tr->cfg.lambda, x, x, tj,
                         NULL, work);
        if (tj)
            for (int k = 0; k <= nt; k++)
                memcpy(traj + ((size_t)k * rows + o) * d, tj + (size_t)k * m * d,
                       sizeof(pf_real) * (size_t)m * d);
        free(tj);
        free(work);
    });
}

void pf_generate(pf_trainer *tr, uint64_t iteration, uint32_t purpose, const pf_chunks *L, int cb,
                 int ce, int nt, pf_real *X, pf_real *traj)
{
    if (ce <= cb) return;
    int a, b, a2, b2;
    pf_chunk_rows(L, cb, &a, &b);
    pf_chunk_rows(L, ce - 1, &a2, &b2);
    pf_trainer_reference(tr, iteration, purpose, a, b2, X);
    pf_push(tr, L, cb, ce, nt, X, traj);
}
