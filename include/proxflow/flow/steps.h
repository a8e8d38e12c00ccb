/* proxflow: the training steps (SPEC §1.4-1.7): the discriminator step, the potential
 * step with the trajectory adjoint, and one iteration of both. */
#ifndef PROXFLOW_FLOW_STEPS_H
#define PROXFLOW_FLOW_STEPS_H

#include "proxflow/flow/trainer.h"

/* Status of a step: 0 ok; otherwise a non-finite quantity was met and msg says
 * which (iteration and name). */
typedef struct { int bad; char msg[256]; } pf_status;

/* The loss (tr->last_loss_d / last_loss_g) and the parameter gradient (tr->psi.g /
 * tr->theta.g), both of the global batch, the same bits on every rank for any rank and
 * thread count (SPEC §3), without a parameter update: what the end-to-end gradient tests
 * differentiate.  Collective. */
pf_status pf_disc_loss_grad(pf_trainer *tr, int k);
pf_status pf_potential_loss_grad(pf_trainer *tr);
/* l_G of the last potential step (global; kept for the diagnostics). */
double pf_potential_loss_global(pf_trainer *tr);

/* One discriminator step (SPEC §1.4) on sub-batch k of the current iteration. */
pf_status pf_disc_step(pf_trainer *tr, int k);
/* One potential step (SPEC §1.5). */
pf_status pf_potential_step(pf_trainer *tr);
/* One full iteration (SPEC §1.7): n_disc discriminator steps and a potential step. */
pf_status pf_train_iteration(pf_trainer *tr);

/* Floating-point operations of the dense and conv GEMMs so far, over all lanes
 * (proxflow_bench's GEMM floor). */
double pf_trainer_flops(const pf_trainer *tr);

#endif
