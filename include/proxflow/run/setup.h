/* proxflow: the setup every command shares (SPEC §5). */
#ifndef PROXFLOW_RUN_SETUP_H
#define PROXFLOW_RUN_SETUP_H

#include "proxflow/config/config.h"
#include "proxflow/flow/trainer.h"

/* Load CONFIG, apply --set overrides and validate; on error print (rank 0) and exit 2
 * on every rank.  An empty file is refused (it would train the defaults). */
void pf_setup_config(pf_config *cfg, const char *path, int n_sets, char **sets);

/* Threads per rank: [train] threads, else OMP_NUM_THREADS, else cores / ranks on the
 * node (never more than the CPUs the rank may run on).  Sets OpenMP's and OpenBLAS's
 * thread counts; returns the count. */
int pf_setup_threads(const pf_config *cfg);

/* Rebuild the trainer a checkpoint belongs to: its config (pf_checkpoint_config), the
 * threads of pf_setup_threads, pf_trainer_init, then pf_checkpoint_load (collective
 * check).  Returns the threads per rank; any error exits 2 on every rank, cmd (the
 * command) leading the message.  sets (n_sets "section.key=value", may be 0) override the
 * checkpoint's config (eval --set data.*=...). */
int pf_setup_trainer_from_checkpoint(pf_trainer *tr, const char *cmd, const char *ckpt, int n_sets,
                                     char *const *sets);

#endif
