/* proxflow: sample-quality records of a training run (SPEC §6.3 metrics in run.h5
 * /diagnostics, issue 21): what a sweep is ranked by. */
#ifndef PROXFLOW_RUN_QUALITY_H
#define PROXFLOW_RUN_QUALITY_H

#include "proxflow/flow/diagnostics.h"

/* 1 if the record of iteration it gets the quality metrics: the last iteration of
 * the run, and every [output] eval_every (0 = only the last). */
int pf_quality_due(const pf_config *cfg, long it);

/* dg's sliced_w1, mmd2 and manifold_distance: when due, [output] eval_n samples of the
 * current flow (stream 0, the configured steps, exactly those `proxflow eval --n
 * eval_n` draws) against eval_n held-out data samples, with eval's projections and
 * kernel; otherwise NaN (and manifold_distance NaN for a source without a known
 * manifold).  A chain link (a reference pool) uses at most its [chain] pool rows.
 * Collective; every rank gets the same values. */
void pf_quality_fill(pf_trainer *tr, pf_diag *dg, int due);

#endif
