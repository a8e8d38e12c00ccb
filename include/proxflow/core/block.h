/* proxflow: blocks of global sample indices (SPEC §3): which rows a rank owns, and the
 * gather of every rank's block to rank 0 (outputs written by rank 0 alone). */
#ifndef PROXFLOW_CORE_BLOCK_H
#define PROXFLOW_CORE_BLOCK_H

#include "proxflow/core/common.h"

/* Contiguous block [*a, *b) of n items for rank r of P: the first n % P ranks get one
 * item more (SPEC §3). */
void pf_block(int n, int r, int P, int *a, int *b);

/* Collective.  Every rank holds the global rows [a, b) of a row set, cols values each,
 * in mine; the blocks are contiguous and in rank order.  Rank 0 receives the global
 * rows [0, limit) into all [limit x cols] (limit: at most the total rows; rows beyond
 * it are not sent); other ranks may pass all = NULL. */
void pf_gather_rows(const pf_real *mine, long a, long b, int cols, long limit, pf_real *all);

#endif
