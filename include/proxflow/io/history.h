/* proxflow: run.h5 /history (issue 21): one entry per training session of a run (the
 * first start and every resume), so that a run's record says which config produced
 * which part of its curves.  Layout: docs/OUTPUT.md. */
#ifndef PROXFLOW_IO_HISTORY_H
#define PROXFLOW_IO_HISTORY_H

#include "proxflow/io/run_file.h"

/* Append /history/session_NNNN for the session starting now at tr->iteration:
 * attributes kind ("start" or "resume"), start_iteration, started (UTC), checkpoint
 * (resumed from; "" for a start), config (the session's INI text), config_changes (the
 * keys changed since the checkpoint, "section.key: old -> new" lines; "" if none),
 * model_changed (0/1), ranks, threads; end_iteration = -1 and seconds = 0 until
 * pf_history_end.  Collective.  Returns the entry's index. */
int pf_history_begin(pf_run *run, const pf_trainer *tr, int threads, const char *checkpoint,
                     const char *changes, int model_changed);
/* The session's end: end_iteration and its seconds of wall time.  Collective. */
void pf_history_end(pf_run *run, int entry, long end_iteration, double seconds);

#endif
