/* proxflow: fixed chunks of global sample indices (SPEC §3 "Invariance").
 *
 * A row set of n samples (a batch, the diagnostic batch, a pool) is cut into K chunks,
 * chunk c = pf_block(n, c, K): the boundaries depend on n and K (the config), never on
 * the rank or thread count.  Rank r of P owns the whole chunks pf_block(K, r, P), hence
 * the samples [i0, i1).  Every sum over samples is formed per chunk, by the same
 * operations whatever rank or thread computes it, and the chunk sums are combined in
 * chunk order (pf_chunks_sum) or exactly (proxflow/core/xsum.h): results are then
 * bit-identical for any rank and thread count (docs/DESIGN.md "Bit-identical sums"). */
#ifndef PROXFLOW_CORE_CHUNKS_H
#define PROXFLOW_CORE_CHUNKS_H

#include "proxflow/core/block.h"

typedef struct {
    int n;       /* samples                                  */
    int K;       /* chunks (at most n; 0 when n = 0)         */
    int c0, c1;  /* this rank's chunks [c0, c1)              */
    int i0, i1;  /* its samples [i0, i1)                     */
    int max_rows;/* rows of the largest chunk                */
} pf_chunks;

/* The layout of n samples in K chunks (K > n: n chunks of one) over rank r of P; a
 * rank beyond the chunk count owns none. */
void pf_chunks_init(pf_chunks *ch, int n, int K, int r, int P);

/* Samples [*a, *b) of chunk c. */
static inline void pf_chunk_rows(const pf_chunks *ch, int c, int *a, int *b)
{
    pf_block(ch->n, c, ch->K, a, b);
}

/* Collective.  local [(c1 - c0) x m]: m values per chunk of this rank.  all [K x m]
 * receives every chunk's values on every rank (each entry comes from its one owner,
 * so the exchange adds nothing to it: exact). */
void pf_chunks_allgather(const pf_chunks *ch, const double *local, int m, double *all);

/* Collective.  total [m] = the per-chunk values summed in chunk order 0, 1, ..., K-1:
 * the same bits on every rank, for any P. */
void pf_chunks_sum(const pf_chunks *ch, const double *local, int m, double *total);

#endif
