/* proxflow: the trainer (SPEC §1.7 on the parallel model of SPEC §3): the networks,
 * their parameters, this rank's block of the batch, the data views and the scratch the
 * steps (flow/steps.h) and diagnostics (flow/diagnostics.h) work in. */
#ifndef PROXFLOW_TRAIN_H
#define PROXFLOW_TRAIN_H

#include "proxflow/config/config.h"
#include "proxflow/core/block.h"
#include "proxflow/data/data.h"
#include "proxflow/nn/net.h"
#include "proxflow/nn/params.h"

typedef struct {
    pf_config cfg;
    pf_data *data;
    pf_data *diag_data;         /* the diagnostic batch's columns (may be data)    */
    pf_data *pool, *pool_diag;  /* [data] reference_pool views (NULL: rho_0 drawn) */
    int d;                      /* data dimension                                 */
    int H, W, C;                /* image shape (H = 0: not images)                */
    int N, i0, i1, n_local;     /* global batch; this rank's block [i0, i1)       */
    int Nd, d0, d1;             /* diagnostic batch and this rank's block         */
    pf_net phi, gamma;
    pf_params theta, psi;       /* potential / discriminator (+ nu when Legendre) */
    size_t nu_index;            /* index of nu in psi (SIZE_MAX: DV, no nu)       */
    long iteration;             /* iterations completed                           */
    double h;                   /* T / steps                                      */
    double last_loss_d, last_loss_g, last_penalty;
    double pot_partial[2];      /* this rank's sums of gamma(x^T) and |grad phi|^2 */
    /* seconds spent, accumulated (bench/): simulating trajectories, the rest of the
     * discriminator and potential steps, and the gradient all-reduces; with split_wait
     * (proxflow_bench sets it) a barrier before each all-reduce takes the wait for the
     * slower rank out of t_reduce into t_wait */
    double t_sim, t_disc, t_pot, t_reduce, t_wait;
    int split_wait;
    double time_accum;          /* seconds of training since the last log         */
    long iters_accum;
    double t_start;
    /* scratch */
    int nmax;                   /* rows the scratch holds: max(n_local, diag)     */
    pf_real *X0, *XT, *Y, *XH, *XC, *S, *traj, *grads, *work, *G1, *XI, *U, *gX, *A, *w,
        *fv;
    /* x^{Nt} of the n_disc discriminator batches of an iteration, simulated together in
     * groups of sim_group batches before the steps (phi is fixed during them; issue 7):
     * XTd [n_disc x n_local x d], work_d its simulation scratch; xtd_ready = 1 while
     * pf_train_iteration's discriminator steps use them (else each step simulates) */
    pf_real *XTd, *work_d;
    int sim_group, xtd_ready;
    /* With T > 1 OpenMP threads the rows of each group are split among the threads, each
     * with its own workspace of phi: sim_nets [sim_threads - 1] (thread 0 uses phi). */
    pf_net *sim_nets;
    int sim_threads;
} pf_trainer;

/* Set up (networks, data, initial parameters) from a validated config. */
void pf_trainer_init(pf_trainer *tr, const pf_config *cfg);
void pf_trainer_free(pf_trainer *tr);

/* The reference samples [i0, i1) that generation starts from, X [(i1-i0) x d]: draws of
 * (iteration, purpose) from rho_0, or with a reference pool (SPEC §8) its rows i0..i1-1
 * as stored (an error names the pool if it has fewer rows).  Not collective. */
void pf_trainer_reference(const pf_trainer *tr, uint64_t iteration, uint32_t purpose, int i0,
                          int i1, pf_real *X);

/* The training batch's reference samples x^0 of this rank's block [i0, i1) for
 * (iteration, purpose), exactly as the steps draw them (rho_0, or the reference pool's
 * sharded draws).  Not collective.  (--dump-state records them.) */
void pf_trainer_batch_reference(const pf_trainer *tr, uint64_t iteration, uint32_t purpose,
                                pf_real *X);

/* Generate: push the reference samples [i0, i1) of pf_trainer_reference through the
 * flow with nt steps (nt <= 0: the configured steps). X [(i1-i0) x d]. */
void pf_generate(pf_trainer *tr, uint64_t iteration, uint32_t purpose, int i0, int i1, int nt,
                 pf_real *X, pf_real *traj);

#endif
