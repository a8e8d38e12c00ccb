/* proxflow: an exact, order-independent sum of arrays over chunks and ranks (SPEC §3
 * "Invariance"): the gradient all-reduce.
 *
 * Each rank holds one array of n values per chunk it owns (a network's gradient from
 * that chunk's samples).  pf_xsum_reduce returns on every rank the sum over all chunks
 * of all ranks, the same bits whatever the split of the chunks among the ranks:
 *   1. per block of PF_XSUM_BLOCK entries, the largest |value| over all chunks of all
 *      ranks (one MPI_MAX all-reduce of n / PF_XSUM_BLOCK doubles); from it the block's
 *      exponent E (every value < 2^E);
 *   2. every value becomes two integers, its bits from 2^(E-51) up and from 2^(E-102)
 *      up (rounded to nearest): fixed-point digits on a grid that only E decides;
 *   3. the digits are added as int64 - exact, so in any order - and one MPI_SUM
 *      all-reduce of 2n int64 adds the ranks' digit sums, again exactly;
 *   4. every rank turns the two digit sums into the real value the same way.
 * The result carries 102 bits relative to the block's largest value (double: more than
 * its 53; values below 2^(E-102) are lost), for up to PF_XSUM_MAX_PARTS chunks in all.
 * A non-finite value anywhere makes the whole result NaN on every rank (the caller's
 * finiteness check then names the quantity).  Volume: 16 bytes per value instead of 8
 * (double) or 4 (float) for a plain MPI_SUM, plus the block maxima. */
#ifndef PROXFLOW_CORE_XSUM_H
#define PROXFLOW_CORE_XSUM_H

#include "proxflow/core/common.h"

#include <stdint.h>

#define PF_XSUM_BLOCK 64
#define PF_XSUM_MAX_PARTS 2048 /* chunks in all: the int64 digit sums stay below 2^62 */

typedef struct {
    size_t n, nb;     /* values, blocks                        */
    double *bmax;     /* [nb + 1]: block maxima, non-finite flag */
    int64_t *acc;     /* [2 n]: the digit sums, high [m] then low [m] */
} pf_xsum;

void pf_xsum_alloc(pf_xsum *x, size_t n);
void pf_xsum_free(pf_xsum *x);

/* Collective.  out [m] (m <= x->n) = the sum over this rank's nparts arrays parts[k][m]
 * and those of every other rank (nparts may be 0). */
void pf_xsum_reduce(pf_xsum *x, pf_real *const *parts, int nparts, size_t m, pf_real *out);

#endif
