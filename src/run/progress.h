/* proxflow: training progress on stdout (internal to src/run/; docs/CLUSTER.md "Job logs"). */
#ifndef PF_RUN_PROGRESS_H
#define PF_RUN_PROGRESS_H

#include "proxflow/flow/diagnostics.h"

/* What rank 0 prints while a run trains; the other ranks print nothing. */
typedef struct {
    int bar;       /* the bar between log records (bar, or auto on an interactive terminal) */
    int lines;     /* the log line of every record (every mode but off) */
    int quiet;     /* off: only how the run ended (the summary, a signal stop, an error) */
    int on_screen; /* a bar is drawn and its line not yet ended */
    double t_bar;  /* when the bar was drawn last */
} pf_progress;

/* Collective: the mode is PROXFLOW_PROGRESS if set (it wins), else [output] progress;
 * rank 0 resolves auto by where its stdout goes and broadcasts, so an invalid
 * PROXFLOW_PROGRESS fails on every rank (exit 2). */
void pf_progress_init(pf_progress *p, const pf_config *cfg);
/* auto's test on this process: 1 if stdout is a terminal that a person watches (see
 * progress.c), 0 for a file, a pipe, a batch job or a launcher's pseudo-terminal whose
 * own output goes to a file. */
int pf_progress_interactive(void);
/* The log line of a record: iteration/total, losses, terminal cost, KE, R_HJ, R_T,
 * seconds per iteration and ETA (clears a bar first; nothing when quiet). */
void pf_progress_line(pf_progress *p, const pf_trainer *tr, const pf_diag *dg, double spi);
/* The bar: [####....] iteration/total, seconds per iteration, ETA; drawn at the first
 * call, then at most twice a second (mpirun relays every byte of it). */
void pf_progress_bar(pf_progress *p, const pf_trainer *tr, double spi, double now);
/* End a drawn bar's line, before other output. */
void pf_progress_break(pf_progress *p);

#endif
