/* proxflow: the training steps (SPEC §1.4-1.7): the discriminator step, the potential
 * step with the trajectory adjoint, and one iteration of both. */
#ifndef PROXFLOW_FLOW_STEPS_H
#define PROXFLOW_FLOW_STEPS_H

#include "proxflow/flow/trainer.h"

/* Status of a step: 0 ok; otherwise a non-finite quantity was met and msg says
 * which (iteration and name). */
typedef struct { int bad; char msg[256]; } pf_status;

/* The loss (tr->last_loss_d / last_loss_g, global) and this rank's share of the
 * parameter gradient (tr->psi.g / tr->theta.g, before the all-reduce), without a
 * parameter update: what the end-to-end gradient tests differentiate. */
pf_status pf_disc_loss_grad(pf_trainer *tr, int k);
pf_status pf_potential_loss_grad(pf_trainer *tr);
/* The potential step needs no collective for its loss: pf_potential_loss_grad leaves
 * this rank's share in tr->last_loss_g (the global value on 1 rank); this collective
 * call reduces the shares of the last potential step and returns the global l_G. */
double pf_potential_loss_global(pf_trainer *tr);

/* One discriminator step (SPEC §1.4) on sub-batch k of the current iteration. */
pf_status pf_disc_step(pf_trainer *tr, int k);
/* One potential step (SPEC §1.5). */
pf_status pf_potential_step(pf_trainer *tr);
/* One full iteration (SPEC §1.7): n_disc discriminator steps and a potential step. */
pf_status pf_train_iteration(pf_trainer *tr);

#endif
