/* proxflow: what `--resume` continues from, and when there is nothing to continue
 * (docs/RELIABILITY.md rows K12, K13, K14). */
#ifndef PROXFLOW_RUN_RESUME_H
#define PROXFLOW_RUN_RESUME_H

#include <stddef.h>

#include "proxflow/config/config.h"

/* The checkpoint `--resume` names ("latest" or a path) into path; returns 0 to load it.
 * `--resume latest` in a run directory that has a run.h5 but no ckpt_*.h5 at all (the
 * run stopped before its first checkpoint, e.g. at iteration 1): the run starts again
 * from iteration 0, the old run.h5 moved aside as run.h5.restarted-<UTC time> (kept,
 * never overwritten); returns 1 (train as a fresh run).  may_restart 0 (--dump-state):
 * no such restart.  With neither, or with only
 * damaged checkpoints, exits 2 on every rank.  Collective. */
int pf_resume_resolve(const pf_config *cfg, const char *resume, int may_restart, char *path,
                      size_t len, int quiet);

/* After loading checkpoint path at iteration it: [train] iterations = target not above
 * it.  Equal: the run is finished; a message, returns 1 (nothing to do, exit 0, no file
 * touched).  Below: exits 2 on every rank ("already at iteration 3 of 2; raise [train]
 * iterations").  Above: returns 0. */
int pf_resume_check_target(const char *path, long it, long target);

#endif
