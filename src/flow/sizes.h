/* proxflow: the trainer's buffer sizes checked before they are allocated (internal,
 * src/flow/sizes.c; docs/RELIABILITY.md row C27). */
#ifndef PF_FLOW_SIZES_H
#define PF_FLOW_SIZES_H

#include "proxflow/config/config.h"

/* cfg with data dimension d, lanes lanes of R rows (Rs for a grouped discriminator
 * simulation), at most nloc local batch rows: every buffer size must fit in size_t
 * and the sum under this node's physical memory; otherwise exits 2 on every rank with
 * a message naming the key that needs the most.  Collective: every argument but lanes
 * is the same on every rank, and the largest lanes is used. */
void pf_check_sizes(const pf_config *cfg, int d, int lanes, int R, int Rs, long long nloc);

#endif
