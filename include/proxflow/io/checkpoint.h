/* proxflow: checkpoints (SPEC §4): written collectively to a temporary name, renamed
 * only when complete, the newest `keep` kept; loading refuses anything incomplete or of
 * other shapes; the config a checkpoint was written with. */
#ifndef PROXFLOW_IO_CHECKPOINT_H
#define PROXFLOW_IO_CHECKPOINT_H

#include "proxflow/flow/trainer.h"

/* Checkpoints <out_dir>/checkpoints/ckpt_NNNNNNNN.h5 (iteration = tr->iteration):
 * both networks' parameters and Adam moments (the contiguous buffers), Adam step
 * counts, the iteration, the config text and shapes.  Written to a temporary name and
 * renamed only when complete; only the newest cfg.keep are kept.  Returns the path
 * in path (len bytes). */
void pf_checkpoint_write(const pf_trainer *tr, const char *out_dir, char *path, size_t len);
/* Load a checkpoint into an initialised trainer.  Refuses (non-zero, message in err)
 * a file that is not a complete proxflow checkpoint or whose shapes (parameter counts,
 * data dimension, precision) differ from tr's. */
int pf_checkpoint_load(pf_trainer *tr, const char *path, char *err, size_t errlen);
/* Newest complete checkpoint in <out_dir>/checkpoints; 0 if found. */
int pf_checkpoint_latest(const char *out_dir, char *path, size_t len);
/* The largest iteration among the names ckpt_NNNNNNNN.h5 in <out_dir>/checkpoints, not
 * checked for completeness (-1: none).  Quiet, cheap: is there anything newer? */
long pf_checkpoint_newest_name(const char *out_dir);
/* Remove the temporary .ckpt_*.h5.tmp files a failed or killed write left (their space
 * may be what a full disk lacks).  Only under the run directory's lock (src/io/lock.c):
 * no other job can be writing one.  One process, not collective. */
void pf_checkpoint_remove_tmp(const char *out_dir);

/* The resolved config a checkpoint was written with (its root attribute `config`,
 * SPEC §4), parsed and validated.  Rank 0 reads the file and broadcasts the text.
 * cmd prefixes error messages; any error exits 2 on every rank. */
void pf_checkpoint_config(pf_config *cfg, const char *cmd, const char *ckpt);
/* The same with "section.key=value" overrides applied before validating (eval --set,
 * train --resume without a config file).  A file [data] source given by a relative
 * path that does not exist from the working directory is an error that says so. */
void pf_checkpoint_config_set(pf_config *cfg, const char *cmd, const char *ckpt, int n_sets,
                              char *const *sets);

#endif
