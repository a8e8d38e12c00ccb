/* proxflow: stop requests by signal (SPEC §4; docs/RELIABILITY.md, rows R03, R09-R12).
 *
 * SIGTERM and SIGUSR1 (Slurm's warning before the time limit) ask for a checkpoint at
 * the next iteration boundary and exit 0, however many arrive; SIGINT (Ctrl-C) asks for
 * the same but the run exits 130, the shell's status for an interrupt, so that
 * `proxflow train ... && next-step` does not go on as if training had finished; a
 * second SIGINT exits at once (130) from the handler, leaving the checkpoints already
 * written intact (a checkpoint is written to a .tmp and renamed when complete). */
#ifndef PROXFLOW_RUN_SIGNALS_H
#define PROXFLOW_RUN_SIGNALS_H

#include <stddef.h>

/* Bits of a stop request: which signals arrived (ORed across ranks by the caller). */
enum { PF_STOP_TERM = 1, PF_STOP_USR1 = 2, PF_STOP_INT = 4 };

/* Install the handlers (sigaction, SA_RESTART, kept installed after a signal); safe to
 * call again (a chain installs them once per link).  A request that arrived earlier in
 * this process is kept: a chain stops at the next boundary of its next link. */
void pf_signals_install(void);

/* This process's request bits (0: none). */
int pf_signals_pending(void);

/* "SIGTERM", "SIGTERM and SIGUSR1", ... for a message. */
const char *pf_signals_names(int bits, char *buf, size_t n);

/* The exit status of a stop with these bits: 130 when SIGINT was the only signal (an
 * interrupt by the user), else 0 (a requested checkpoint-and-stop, ready to requeue). */
int pf_signals_exit_status(int bits);

#endif
