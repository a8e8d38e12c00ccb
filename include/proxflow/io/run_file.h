/* proxflow: run.h5 (SPEC §4), through parallel HDF5 (MPI-IO, collective).  Every
 * function here is collective: all ranks call it, also ranks with no rows. */
#ifndef PROXFLOW_IO_RUN_FILE_H
#define PROXFLOW_IO_RUN_FILE_H

#include "proxflow/flow/diagnostics.h"

typedef struct pf_run pf_run;

/* Create (or, when resuming, reopen) <out_dir>/run.h5: root attributes (version, git
 * commit, creation time, ranks, threads, seed, precision, the resolved config as INI
 * text), group /config with one attribute per key, extendible /diagnostics/<name>
 * datasets (pf_diag_names).  On resume, diagnostics entries with an iteration beyond
 * tr->iteration are dropped (they were logged after the checkpoint). */
pf_run *pf_run_open(const pf_trainer *tr, const char *out_dir, int threads, int resume);
/* Append one record to every /diagnostics dataset and flush the file. */
void pf_run_log(pf_run *run, const pf_diag *dg);
/* Write /trajectories/iter_NNNNNNNN: float32 [Nt+1, n_traj, d] for n_traj fixed
 * reference samples (PF_RNG_SAMPLE, iteration 0), each rank its block of rows. */
void pf_run_trajectories(pf_run *run, pf_trainer *tr);
/* Write /samples/generated [n, d] and /samples/reference [n, d] (float32, n = diag_batch). */
void pf_run_samples(pf_run *run, pf_trainer *tr);
/* Make run.h5 hold every record so far (called before each checkpoint, so that run.h5
 * always has the records up to the newest checkpoint).  A resumed run writes a copy,
 * .run.h5.work, and this publishes it: copied to .run.h5.work.next, renamed over
 * run.h5 (a failure leaves run.h5 as it was).  A fresh run: a flush. */
void pf_run_commit(pf_run *run);
/* Close; a resumed run's work file is renamed to run.h5. */
void pf_run_close(pf_run *run);
/* Path of the open run.h5, and the number of records in its /diagnostics (after the
 * resume truncation: what the next pf_run_log appends to). Not collective. */
const char *pf_run_path(const pf_run *run);
long pf_run_log_count(const pf_run *run);
/* The open file's HDF5 id (an hid_t) for the modules that add groups (src/io/history.c). */
int64_t pf_run_h5_file(const pf_run *run);

/* ISO-8601 UTC time of rank 0, the same string on every rank.  Collective. */
void pf_run_utc_now(char s[32]);

#endif
