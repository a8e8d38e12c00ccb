/* proxflow: `train --dump-state FILE.h5` (docs/OUTPUT.md). */
#ifndef PROXFLOW_IO_DUMP_H
#define PROXFLOW_IO_DUMP_H

#include "proxflow/flow/trainer.h"

/* `train --dump-state FILE.h5` (docs/OUTPUT.md): the initial parameters, one
 * iteration's exact inputs, the losses and every parameter gradient of the
 * discriminator and potential steps, for checking by an independent implementation. */
void pf_dump_state(pf_trainer *tr, const char *path);

#endif
