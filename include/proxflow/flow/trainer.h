/* proxflow: the trainer (SPEC §1.7 on the parallel model of SPEC §3): the networks,
 * their parameters, this rank's block of the batch, the data views and the scratch the
 * steps (flow/steps.h) and diagnostics (flow/diagnostics.h) work in. */
#ifndef PROXFLOW_TRAIN_H
#define PROXFLOW_TRAIN_H

#include "proxflow/config/config.h"
#include "proxflow/core/block.h"
#include "proxflow/core/chunks.h"
#include "proxflow/core/xsum.h"
#include "proxflow/data/data.h"
#include "proxflow/nn/net.h"
#include "proxflow/nn/params.h"

/* One thread's workspace (a "lane"): network layer buffers and scratch for one chunk
 * of rows at a time.  Every network call of a step runs on one chunk (SPEC §3): its
 * BLAS calls then have shapes that only the config decides, on one thread, so a
 * chunk's results do not depend on the rank or thread count (docs/DESIGN.md). */
typedef struct {
    pf_net *phi, *gamma;        /* lane 0: the trainer's own nets; others: own_*  */
    pf_net own_phi, own_gamma;
    pf_real *X0, *XT, *Y, *XH, *S, *traj, *grads, *work, *G1, *XI, *U, *gX, *A, *w, *fv;
} pf_lane;

typedef struct {
    pf_config cfg;
    pf_data *data;
    pf_data *diag_data;         /* the diagnostic batch's columns (may be data)    */
    pf_data *pool, *pool_diag;  /* [data] reference_pool views (NULL: rho_0 drawn) */
    int d;                      /* data dimension                                 */
    int H, W, C;                /* image shape (H = 0: not images)                */
    pf_chunks ch, chd;          /* chunks of the batch and of the diagnostic batch */
    int N, i0, i1, n_local;     /* global batch; this rank's samples [i0, i1)     */
    int Nd, di0, di1;           /* diagnostic batch and this rank's samples       */
    pf_net phi, gamma;          /* lane 0's workspaces; the shapes of both nets   */
    pf_params theta, psi;       /* potential / discriminator (+ nu when Legendre) */
    size_t nu_index;            /* index of nu in psi (SIZE_MAX: DV, no nu)       */
    long iteration;             /* iterations completed                           */
    double h;                   /* T / steps                                      */
    double last_loss_d, last_loss_g, last_penalty;
    /* seconds spent, accumulated (bench/): simulating the discriminator batches, the
     * discriminator steps, the potential steps (with their simulation), and the gradient
     * reductions; with split_wait (proxflow_bench sets it) a barrier before each
     * reduction takes the wait for the slower rank out of t_reduce into t_wait */
    double t_sim, t_disc, t_pot, t_reduce, t_wait;
    int split_wait;
    /* lanes: one per thread, at most one per local chunk */
    pf_lane *lanes;
    int n_lanes;
    /* gradients per local chunk (rows of gstride reals; DV: gY the data side before its
     * global normalisation), combined by the exact sum xs (proxflow/core/xsum.h) */
    pf_real *gbuf, *gbufY, **gpart, **gpartY;
    size_t gstride;
    pf_xsum xs;
    /* x^{Nt} of the n_disc discriminator batches of an iteration, simulated before the
     * steps (phi is fixed during them): per local chunk c (rows o_c .. o_c + m_c of this
     * rank) the block XTd + n_disc o_c d holds batch k's rows at k m_c d.  sim_group = 1:
     * a chunk's n_disc batches go through phi as one call (config-decided); xtd_ready = 1
     * while pf_train_iteration's steps use them (else each step simulates) */
    pf_real *XTd;
    int sim_group, xtd_ready;
    int sim_threads;            /* lanes the simulation uses (= n_lanes)          */
    pf_real *XT_all;            /* x^{Nt} of the last potential step [n_local x d] */
} pf_trainer;

/* Set up (networks, data, initial parameters) from a validated config. */
void pf_trainer_init(pf_trainer *tr, const pf_config *cfg);
void pf_trainer_free(pf_trainer *tr);

/* The reference samples [i0, i1) that generation starts from, X [(i1-i0) x d]: draws of
 * (iteration, purpose) from rho_0, or with a reference pool (SPEC §8) its rows i0..i1-1
 * as stored (an error names the pool if it has fewer rows).  Not collective. */
void pf_trainer_reference(const pf_trainer *tr, uint64_t iteration, uint32_t purpose, int i0,
                          int i1, pf_real *X);

/* The iteration whose data and reference batches this iteration draws: itself, or with
 * [data] batch_cycle = C > 0 the iteration mod C (the paper code's batch sequence that
 * restarts every C iterations). The interpolation weights keep the iteration itself. */
static inline uint64_t pf_batch_iteration(const pf_trainer *tr)
{
    const uint64_t it = (uint64_t)tr->iteration;
    return tr->cfg.batch_cycle > 0 ? it % (uint64_t)tr->cfg.batch_cycle : it;
}

/* The training batch's reference samples x^0 of this rank's block [i0, i1) for
 * (iteration, purpose), exactly as the steps draw them (rho_0, or the reference pool's
 * sharded draws).  Not collective.  (--dump-state records them.) */
void pf_trainer_batch_reference(const pf_trainer *tr, uint64_t iteration, uint32_t purpose,
                                pf_real *X);

/* The layout of a generated row set of n samples (samples, trajectories, pools, eval):
 * chunks of at most PF_GEN_ROWS rows, whole chunks per rank, so a generated row has the
 * same bits on any rank count. */
#define PF_GEN_ROWS 64
void pf_gen_layout(pf_chunks *L, int n);

/* Push rows of X in place through the flow with nt steps (nt <= 0: the configured
 * steps): the rows of chunks [cb, ce) of layout L (this rank's, cb >= L->c0, ce <=
 * L->c1), X [rows x d] from the first row of chunk cb on; traj (optional) [(nt+1) x rows
 * x d] receives every x^k.  One network call per chunk, chunks on the lanes. */
void pf_push(pf_trainer *tr, const pf_chunks *L, int cb, int ce, int nt, pf_real *X,
             pf_real *traj);

/* Generate: the reference samples of chunks [cb, ce) of L (pf_trainer_reference) pushed
 * through the flow (pf_push). */
void pf_generate(pf_trainer *tr, uint64_t iteration, uint32_t purpose, const pf_chunks *L, int cb,
                 int ce, int nt, pf_real *X, pf_real *traj);

#endif
