/* proxflow: resuming a run honestly (SPEC §4, issue 21): which checkpoint, which config,
 * and what changed since the checkpoint was written. */
#ifndef PROXFLOW_RUN_RESUME_CONFIG_H
#define PROXFLOW_RUN_RESUME_CONFIG_H

#include "proxflow/config/config.h"

/* The checkpoint `--resume R` of the run in out_dir means: R = "latest" -> the newest
 * complete checkpoint in out_dir/checkpoints, else R itself.  None: exit 2. */
void pf_resume_path(const char *out_dir, const char *resume, char *path, size_t len);

/* The run directory of a checkpoint file: DIR for DIR/checkpoints/NAME; 0 if found,
 * 1 if the path has no checkpoints/ parent. */
int pf_resume_run_dir(const char *ckpt, char *dir, size_t len);

/* Keys whose values differ between a and b, one line "  section.key: A -> B" each in
 * buf (len bytes, may be truncated); model_only: only the sections that change the
 * model or the objective ([flow], [lipschitz], [potential], [discriminator], [data]),
 * else every key but output.dir.  Returns the number of such keys. */
int pf_config_changes(const pf_config *a, const pf_config *b, int model_only, char *buf, size_t len);

/* `train --resume`: compare cfg with the config stored in checkpoint ckpt.  A change of
 * a model or objective key exits 2 on every rank with the list of changes, unless
 * allow; with allow it is a warning.  Every changed key (any section) is written to
 * changes (for run.h5 /history); *model_changed says whether one of them is a model
 * key.  Collective. */
void pf_resume_check(const pf_config *cfg, const char *ckpt, int allow, char *changes, size_t len,
                     int *model_changed);

#endif
