/* proxflow: output paths that never alias inputs or another run's files (issue 20;
 * docs/RELIABILITY.md, "No command may destroy a run"), and new files written under a
 * temporary name and renamed into place. */
#ifndef PROXFLOW_IO_PATHS_H
#define PROXFLOW_IO_PATHS_H

#include <stddef.h>

/* 1 if a and b name the same file: both exist and have the same st_dev and st_ino, or
 * neither needs to exist and their directories are one directory (st_dev, st_ino) and
 * their last components are equal.  Never a string comparison of the paths alone. */
int pf_path_same(const char *a, const char *b);

/* Why `out` must not be written by a command (0: it may): into why [len] a sentence
 * naming out and the file it would destroy.  Refused: out is one of the inputs[n] (by
 * pf_path_same), the run file, chain summary or lock of a run directory (run.h5,
 * chain.h5, .lock beside a run.h5, chain.h5 or checkpoints/), anything inside a run's
 * checkpoints/ or a chain's pools/, or an existing HDF5 file that is a checkpoint, a pool
 * (attribute complete), a run file (/diagnostics) or a chain summary.  Not collective. */
int pf_output_refused(const char *out, const char *const *inputs, const char *const *labels, int n,
                      char *why, size_t len);

/* Collective: rank 0 asks pf_output_refused; if refused, every rank exits 2 with
 * "cmd: opt OUT ...: refusing to overwrite it; choose another opt".  inputs may hold
 * NULL entries (options not given); labels name them in the message ("--checkpoint"). */
void pf_output_guard(const char *cmd, const char *opt, const char *out, const char *const *inputs,
                     const char *const *labels, int n);

/* The temporary name of a new output file, "<out>.tmp": in out's own directory, so
 * that rename(2) is atomic.  0, or -1 if it does not fit in len. */
int pf_tmp_path(const char *out, char *tmp, size_t len);

/* Rank-0 helpers for small serial outputs: pf_commit_tmp fsyncs tmp, renames it to out
 * and fsyncs the directory; 0 or -1 with errno. */
int pf_commit_tmp(const char *tmp, const char *out);

/* Copy src to dst (created or truncated, then fsynced); 0, or -1 with errno (dst is
 * removed on failure).  Serial: one process. */
int pf_copy_file(const char *src, const char *dst);

#endif
