/* proxflow: fault injection for the reliability tests (docs/RELIABILITY.md). */
#ifndef PROXFLOW_CORE_FAULT_H
#define PROXFLOW_CORE_FAULT_H

/* Fault injection for the reliability tests (docs/RELIABILITY.md).  With the
 * environment variable PROXFLOW_FAULT = "POINT[@RANK][#N][:ACTION]", the N-th time
 * (default 1st) rank RANK (default any) passes POINT, ACTION happens: "die" (default,
 * a pf_die error naming the point), "kill" (SIGKILL to itself), or "nan" / "fail"
 * (returns 1: the caller makes its operation fail, see the point).  Points:
 *   data_open         opening the data source (die, kill)
 *   checkpoint_write  a checkpoint's .tmp file written but not yet complete (die, kill)
 *   run_log           appending a record to run.h5 /diagnostics (die, kill)
 *   potential_loss    nan: the potential loss becomes NaN (the run stops, exit 3)
 *   disc_loss         nan: the discriminator's output becomes NaN (exit 3)
 *   h5_write          every dataset write of run.h5 and of checkpoints (pf_h5_write);
 *                     fail: the write fails as on a full disk (ENOSPC), kill: SIGKILL
 *                     in the middle of writing a file
 *   checkpoint_io     the same, dataset writes of checkpoints only (2 per checkpoint)
 *   output_io         the same, dataset writes of run.h5 only
 *   lock              fail: locking the run directory fails as on a file system
 *                     without locks (ENOLCK; src/io/lock.c) */
int pf_fault_point(const char *point);

#endif
