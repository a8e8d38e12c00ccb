/* The trainer: discriminator step (SPEC §1.4), potential step with the trajectory
 * adjoint (§1.5), the iteration (§1.7) and the HJ diagnostics (§1.8), on the data
 * parallel model of §3: each rank works on its block [i0, i1) of the global batch,
 * every loss is a global-batch quantity, gradients are summed by one all-reduce. */
#include "proxflow/flow/trainer.h"
#include "proxflow/core/fault.h"
#include "proxflow/flow/simulate.h"
#include "proxflow/io/pool.h"
#include "proxflow/core/rng.h"

#include <float.h>
#include <math.h>
#include <mpi.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const pf_diag_names[PF_DIAG_COUNT] = {
    "iteration", "wall_s", "loss_d", "loss_g", "divergence", "divergence_half_step", "kinetic",
    "hj_residual", "hj_terminal", "lipschitz_max", "grad_norm_phi", "grad_norm_gamma",
    "seconds_per_iteration", "samples_per_second", "penalty", "nu"};

/* Sums and maxima over all ranks (small loss statistics, SPEC §3). */
static void sum_all(double *v, int n)
{
    if (pf_nranks() > 1) MPI_Allreduce(MPI_IN_PLACE, v, n, MPI_DOUBLE, MPI_SUM, pf_comm());
}
static void max_all(double *v, int n)
{
    if (pf_nranks() > 1) MPI_Allreduce(MPI_IN_PLACE, v, n, MPI_DOUBLE, MPI_MAX, pf_comm());
}

/* ---- the divergence term Lambda_f (SPEC §1.3) --------------------------------- */

/* Legendre forms: f*(s) and f*'(s).  Returns 0 when s is outside f*'s domain. */
static int fstar(pf_fdiv f, double alpha, double s, double *v, double *dv)
{
    switch (f) {
    case PF_F_KL_LEGENDRE: /* f(u) = u log u:  f*(s) = exp(s - 1) */
        *v = *dv = exp(s - 1);
        return 1;
    case PF_F_REVERSE_KL: /* f(u) = -log u:  f*(s) = -1 - log(-s), s < 0 */
        if (!(s < 0)) return 0;
        *v = -1 - log(-s);
        *dv = -1 / s;
        return 1;
    case PF_F_ALPHA: {
        /* f(u) = (u^a - 1)/(a(a-1)), u >= 0:  f*(s) = 1/(a(a-1)) + ((a-1)/a) s u(s) with
         * u(s) = ((a-1) s)_+^{1/(a-1)} the maximiser; f*'(s) = u(s).  Defined on all of R. */
        double u = s > 0 ? pow((alpha - 1) * s, 1 / (alpha - 1)) : 0;
        *v = 1 / (alpha * (alpha - 1)) + (alpha - 1) / alpha * s * u;
        *dv = u;
        return 1;
    }
    default: return 0;
    }
}

/* ---- loss statistics: one small all-reduce per discriminator step (SPEC §3) ---------
 * A record of doubles: the DV pair (max m, sum of exp(g - m)), which two ranks merge by
 * rescaling to the larger maximum (a log-sum-exp), then plain sums, then maxima.  One
 * MPI_Allreduce with this operation gives every global statistic the step needs before
 * its gradient is formed. */
enum {
    ST_M, ST_S,                                   /* DV log-sum-exp pair             */
    ST_GX, ST_PEN, ST_F, ST_DF, ST_BAD,           /* sums                            */
    ST_LIP, ST_WORST,                             /* maxima                          */
    ST_N
};
#define ST_SUM0 ST_GX
#define ST_MAX0 ST_LIP

static void stats_merge(void *in, void *inout, int *len, MPI_Datatype *type)
{
    (void)type;
    const double *a = in;
    double *b = inout;
    for (int r = 0; r < *len; r++, a += ST_N, b += ST_N) {
        const double m = fmax(a[ST_M], b[ST_M]);
        /* "!= 0" (not "> 0"): a NaN share must stay NaN, an empty rank adds 0 */
        b[ST_S] = (a[ST_S] != 0 ? a[ST_S] * exp(a[ST_M] - m) : 0) +
                  (b[ST_S] != 0 ? b[ST_S] * exp(b[ST_M] - m) : 0);
        b[ST_M] = m;
        for (int k = ST_SUM0; k < ST_MAX0; k++) b[k] += a[k];
        for (int k = ST_MAX0; k < ST_N; k++) b[k] = fmax(a[k], b[k]);
    }
}

static void stats_init(double *rec)
{
    for (int k = 0; k < ST_N; k++) rec[k] = 0;
    rec[ST_M] = rec[ST_LIP] = rec[ST_WORST] = -DBL_MAX;
}

static void stats_reduce(double *rec)
{
    static MPI_Datatype type = MPI_DATATYPE_NULL;
    static MPI_Op op = MPI_OP_NULL;
    if (pf_nranks() == 1) return;
    if (type == MPI_DATATYPE_NULL) { /* created once; freed by MPI_Finalize */
        MPI_Type_contiguous(ST_N, MPI_DOUBLE, &type);
        MPI_Type_commit(&type);
        MPI_Op_create(stats_merge, 1, &op);
    }
    MPI_Allreduce(MPI_IN_PLACE, rec, 1, type, op, pf_comm());
}

/* This rank's part of Lambda's statistics for gamma(y_j) of its n data rows. */
static void lambda_local(const pf_trainer *tr, const pf_real *g, int n, double *rec)
{
    const pf_config *c = &tr->cfg;
    if (c->f == PF_F_KL) {
        /* Donsker-Varadhan: log (1/N) sum_j exp(g_j), stable with the maximum */
        double m = -DBL_MAX, s = 0;
        for (int j = 0; j < n; j++) m = fmax(m, g[j]);
        for (int j = 0; j < n; j++) s += exp(g[j] - m);
        rec[ST_M] = m;
        rec[ST_S] = s;
        return;
    }
    const double nu = tr->psi.p[tr->nu_index];
    for (int j = 0; j < n; j++) {
        double v, dv, sj = g[j] - nu;
        if (!fstar(c->f, c->alpha, sj, &v, &dv)) {
            rec[ST_BAD] += 1;
            rec[ST_WORST] = fmax(rec[ST_WORST], sj);
            v = dv = 0;
        }
        rec[ST_F] += v;
        rec[ST_DF] += dv;
    }
}

/* Lambda from the reduced statistics of a batch of N; the gradient weights
 * dLambda/dgamma_j of this rank's rows into wy (may be NULL) and dLambda/dnu. */
static double lambda_finish(const pf_trainer *tr, const pf_real *g, int n, double N,
                            const double *rec, pf_real *wy, double *dnu)
{
    const pf_config *c = &tr->cfg;
    if (dnu) *dnu = 0;
    if (c->f == PF_F_KL) {
        const double m = rec[ST_M], s = rec[ST_S];
        if (wy)
            for (int j = 0; j < n; j++) wy[j] = (pf_real)(exp(g[j] - m) / s);
        return m + log(s / N);
    }
    const double nu = tr->psi.p[tr->nu_index];
    if (wy)
        for (int j = 0; j < n; j++) {
            double v, dv;
            if (!fstar(c->f, c->alpha, g[j] - nu, &v, &dv)) dv = 0;
            wy[j] = (pf_real)(dv / N);
        }
    if (dnu) *dnu = 1 - rec[ST_DF] / N;
    return nu + rec[ST_F] / N;
}

/* ---- setup -------------------------------------------------------------------- */

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
        max_all(&m, 1);
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

static pf_status status_ok(void)
{
    pf_status s;
    s.bad = 0;
    s.msg[0] = 0;
    return s;
}

static pf_status status_bad(const pf_trainer *tr, const char *what, double value)
{
    pf_status s;
    s.bad = 1;
    snprintf(s.msg, sizeof s.msg, "non-finite %s (%g) at iteration %ld", what, value,
             tr->iteration + 1);
    return s;
}

/* Interpolation weights s_i ~ U[0,1], one per pair (SPEC §1.4). */
static void draw_interp(const pf_trainer *tr, uint64_t it, uint32_t purpose, int a, int b,
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
static void ref_draw(const pf_trainer *tr, const pf_data *pool, uint64_t it, uint32_t purpose,
                     int a, int b, pf_real *X)
{
    if (pool)
        pf_data_draw(pool, it, purpose, a, b, X);
    else
        pf_reference_draw(&tr->cfg, tr->d, it, purpose, a, b, X);
}

void pf_trainer_batch_reference(const pf_trainer *tr, uint64_t it, uint32_t purpose, pf_real *X)
{
    ref_draw(tr, tr->pool, it, purpose, tr->i0, tr->i1, X);
}

/* Squared norm of the first d entries of a row. */
static double sq(const pf_real *x, int d)
{
    double s = 0;
    for (int j = 0; j < d; j++) s += (double)x[j] * x[j];
    return s;
}

/* ---- discriminator step (SPEC §1.4) ---------------------------------------------- */

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
        ref_draw(tr, tr->pool, it, PF_PURPOSE(PF_RNG_REFERENCE, k), tr->i0, tr->i1, tr->X0);
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
        draw_interp(tr, it, PF_PURPOSE(PF_RNG_INTERP, k), tr->i0, tr->i1, tr->S);
        for (int i = 0; i < n; i++)
            for (int j = 0; j < d; j++) {
                size_t q = (size_t)i * d + j;
                tr->XH[q] = tr->S[i] * tr->Y[q] + (1 - tr->S[i]) * tr->XT[q];
            }
        pf_net_value_grad(g, P->p, n, tr->XH, NULL, tr->G1);
        for (int i = 0; i < n; i++) {
            double g2 = sq(tr->G1 + (size_t)i * d, d);
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
    stats_init(rec);
    lambda_local(tr, tr->fv + n, n, rec);
    for (int i = 0; i < n; i++) rec[ST_GX] += tr->fv[i];
    rec[ST_PEN] = pen;
    rec[ST_LIP] = lipmax;
    if (pf_fault_point("disc_loss")) rec[ST_GX] = NAN;
    stats_reduce(rec); /* the step's one small collective: every loss statistic */
    if (rec[ST_BAD] > 0) {
        pf_status s;
        s.bad = 1;
        snprintf(s.msg, sizeof s.msg,
                 "iteration %ld: f = %s: gamma(y) - nu = %g is outside the domain of f* (s < 0)",
                 tr->iteration + 1, pf_fdiv_name(c->f), rec[ST_WORST]);
        return s;
    }
    double dnu = 0;
    const double Lam = lambda_finish(tr, tr->fv + n, n, N, rec, tr->w + n, &dnu);
    tr->last_penalty = rec[ST_PEN] / N;
    tr->last_loss_d = -(rec[ST_GX] / N - Lam) + mu * (penalty ? rec[ST_PEN] / N : 0);
    if (!isfinite(tr->last_loss_d)) return status_bad(tr, "discriminator loss loss_d", tr->last_loss_d);

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
    return status_ok();
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

pf_status pf_disc_step(pf_trainer *tr, int k)
{
    pf_status s = pf_disc_loss_grad(tr, k);
    if (s.bad) return s;
    double t0 = pf_now();
    wait_for_ranks(tr, &t0);
    pf_params_allreduce_grad(&tr->psi);
    double t1 = pf_now();
    tr->t_reduce += t1 - t0;
    double gn = pf_params_grad_norm(&tr->psi);
    if (!isfinite(gn)) return status_bad(tr, "discriminator gradient grad_norm_gamma", gn);
    pf_params_adam_step(&tr->psi);
    tr->t_disc += pf_now() - t1;
    return s;
}

/* ---- potential step (SPEC §1.5) ---------------------------------------------------- */

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
    ref_draw(tr, tr->pool, it, PF_RNG_GEN_REFERENCE, tr->i0, tr->i1, tr->X0);
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
            for (int i = 0; i < n; i++) st[1] += sq(Gk + (size_t)i * d1, d);
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
                st[1] += sq(tr->gX + (size_t)i * d1, d);
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
    return status_ok();
}

double pf_potential_loss_global(pf_trainer *tr)
{
    const pf_config *c = &tr->cfg;
    double st[2] = {tr->pot_partial[0], tr->pot_partial[1]};
    sum_all(st, 2);
    /* lambda * sum_k h (1/N) sum_i |v|^2 / 2 with v = -grad phi / lambda */
    tr->last_loss_g = st[0] / tr->N +
                      (pf_mode_kinetic(c->mode) ? tr->h / (2 * c->lambda * tr->N) * st[1] : 0);
    return tr->last_loss_g;
}

pf_status pf_potential_step(pf_trainer *tr)
{
    pf_status s = pf_potential_loss_grad(tr);
    if (s.bad) return s;
    double t0 = pf_now();
    wait_for_ranks(tr, &t0);
    pf_params_allreduce_grad(&tr->theta);
    double t1 = pf_now();
    tr->t_reduce += t1 - t0;
    double gn = pf_params_grad_norm(&tr->theta);
    if (!isfinite(gn)) {
        /* every rank sees this: find out whether the loss itself was the cause */
        double lg = pf_potential_loss_global(tr);
        if (!isfinite(lg)) return status_bad(tr, "potential loss loss_g", lg);
        return status_bad(tr, "potential gradient grad_norm_phi", gn);
    }
    pf_params_adam_step(&tr->theta);
    tr->t_pot += pf_now() - t1;
    return s;
}

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
            ref_draw(tr, tr->pool, it, PF_PURPOSE(PF_RNG_REFERENCE, k), tr->i0, tr->i1,
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

/* ---- generation and diagnostics (SPEC §1.8) -------------------------------------- */

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

void pf_diagnostics(pf_trainer *tr, pf_diag *dg)
{
    const pf_config *c = &tr->cfg;
    const int n = tr->d1 - tr->d0, d = tr->d, nt = c->steps, d1 = d + 1;
    const double N = tr->Nd, h = tr->h, lam = c->lambda;
    pf_net *phi = &tr->phi, *g = &tr->gamma;
    const pf_real *th = tr->theta.p, *ps = tr->psi.p;
    /* sums: [gamma(x^T), |grad phi|^2, |HJ|, |R_T|^2, gamma(x^T half step)] */
    double st[5] = {0, 0, 0, 0, 0}, lipmax = 0;

    ref_draw(tr, tr->pool_diag, 0, PF_RNG_DIAG_REFERENCE, tr->d0, tr->d1, tr->X0);
    pf_flow_simulate(phi, th, n, d, nt, h, lam, tr->X0, tr->XT, tr->traj, tr->grads, tr->work);
    for (int k = 0; k < nt; k++)
        for (int i = 0; i < n; i++) {
            const pf_real *gk = tr->grads + ((size_t)k * n + i) * d1;
            double g2 = sq(gk, d);
            st[1] += g2;
            st[2] += fabs(-gk[d] + g2 / (2 * lam));
        }
    /* R_T: grad gamma(x^T) vs grad_x phi(x^T, T) */
    pf_net_value_grad(g, ps, n, tr->XT, tr->fv, tr->G1);
    for (int i = 0; i < n; i++) st[0] += tr->fv[i];
    pf_flow_pack(n, d, tr->XT, (pf_real)c->T, tr->XI);
    pf_net_value_grad(phi, th, n, tr->XI, NULL, tr->gX);
    for (int i = 0; i < n; i++)
        for (int j = 0; j < d; j++) {
            double e = tr->G1[(size_t)i * d + j] - tr->gX[(size_t)i * d1 + j];
            st[3] += e * e;
        }
    /* Lipschitz constant seen on interpolates */
    pf_data_draw(tr->diag_data, 0, PF_RNG_DIAG_DATA, tr->d0, tr->d1, tr->Y);
    draw_interp(tr, 0, PF_RNG_DIAG_INTERP, tr->d0, tr->d1, tr->S);
    for (int i = 0; i < n; i++)
        for (int j = 0; j < d; j++) {
            size_t q = (size_t)i * d + j;
            tr->XH[q] = tr->S[i] * tr->Y[q] + (1 - tr->S[i]) * tr->XT[q];
        }
    pf_net_value_grad(g, ps, n, tr->XH, NULL, tr->G1);
    for (int i = 0; i < n; i++) lipmax = fmax(lipmax, sqrt(sq(tr->G1 + (size_t)i * d, d)));
    /* discretisation invariance: the same batch with 2 Nt steps of h/2 */
    pf_flow_simulate(phi, th, n, d, 2 * nt, h / 2, lam, tr->X0, tr->XH, NULL, NULL, tr->work);
    pf_net_forward(g, ps, n, tr->XH, NULL, tr->fv, NULL);
    for (int i = 0; i < n; i++) st[4] += tr->fv[i];
    /* Lambda on the diagnostic data batch (of Nd samples) */
    pf_net_forward(g, ps, n, tr->Y, NULL, tr->fv, NULL);
    double rec[ST_N];
    stats_init(rec);
    lambda_local(tr, tr->fv, n, rec);
    stats_reduce(rec);
    double Lam = rec[ST_BAD] > 0 ? NAN : lambda_finish(tr, tr->fv, n, N, rec, NULL, NULL);
    sum_all(st, 5);
    max_all(&lipmax, 1);

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

double pf_divergence_of(pf_trainer *tr, const pf_real *X, int n, long M)
{
    const int d = tr->d, nb = tr->nmax, nd = tr->d1 - tr->d0;
    double sum = 0;
    for (int a = 0; a < n; a += nb) { /* the network holds nmax rows at a time */
        const int m = n - a < nb ? n - a : nb;
        pf_net_forward(&tr->gamma, tr->psi.p, m, X + (size_t)a * d, NULL, tr->fv, NULL);
        for (int i = 0; i < m; i++) sum += tr->fv[i];
    }
    pf_data_draw(tr->diag_data, 0, PF_RNG_DIAG_DATA, tr->d0, tr->d1, tr->Y);
    pf_net_forward(&tr->gamma, tr->psi.p, nd, tr->Y, NULL, tr->fv, NULL);
    double rec[ST_N];
    stats_init(rec);
    lambda_local(tr, tr->fv, nd, rec);
    stats_reduce(rec);
    const double Lam = rec[ST_BAD] > 0 ? NAN : lambda_finish(tr, tr->fv, nd, tr->Nd, rec, NULL, NULL);
    sum_all(&sum, 1);
    return sum / (double)M - Lam;
}
