/* proxflow: training progress on stdout (internal to src/run/). */
#ifndef PF_RUN_PROGRESS_H
#define PF_RUN_PROGRESS_H

#include "proxflow/flow/diagnostics.h"

/* The log line of a record: iteration/total, losses, terminal cost, KE, R_HJ, R_T,
 * seconds per iteration and ETA; tty: first clear the bar. */
void pf_progress_line(const pf_trainer *tr, const pf_diag *dg, double spi, int tty);
/* The bar: [####....] iteration/total, seconds per iteration, ETA (a terminal only). */
void pf_progress_bar(const pf_trainer *tr, double spi);

#endif
