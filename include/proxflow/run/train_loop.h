/* proxflow: a training run (SPEC §1.7, §4), behind `train`, `sweep --index` and each
 * link of `chain`. */
#ifndef PROXFLOW_RUN_TRAIN_LOOP_H
#define PROXFLOW_RUN_TRAIN_LOOP_H

#include "proxflow/config/config.h"

/* The training run behind `train` and `sweep --index` (src/run/train_loop.c): cfg is the
 * loaded, validated config with output.dir set; config_label names it in the log;
 * resume is NULL, a checkpoint path or "latest"; dump is NULL or the --dump-state
 * file.  Sets up threads, refuses an existing run.h5 unless resuming, trains, writes
 * run.h5 and checkpoints, checkpoints and returns 0 on SIGTERM/SIGUSR1.  Returns the
 * exit status (0, or 3 for a non-finite loss or gradient). */
int pf_train_run(pf_config *cfg, const char *config_label, const char *resume, const char *dump);
/* The same with options: init_from (not NULL, and not resuming) starts from the
 * networks of that checkpoint with a fresh optimiser (a chain's warm start, SPEC §8);
 * on return finished says whether cfg.iterations were reached (0 after a signal stop
 * or an error) and train_seconds the wall time of the training loop of this call.
 * allow_config_change: resume even if a model or objective key differs from the
 * checkpoint's config (else exit 2 listing the changes; src/run/resume.c). */
typedef struct {
    const char *label, *resume, *dump, *init_from;
    int allow_config_change;
    int finished;
    double train_seconds;
} pf_train_opts;
int pf_train_run_opts(pf_config *cfg, pf_train_opts *opts);

#endif
