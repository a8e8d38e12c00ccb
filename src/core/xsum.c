/* The exact sum of arrays over chunks and ranks (include/proxflow/core/xsum.h). */
#include "proxflow/core/xsum.h"
#include "core/clones.h"

#include <float.h>
#include <math.h>
#include <mpi.h>
#include <stdlib.h>
#include <string.h>

/* y + 1.5 2^52 rounds y to the nearest integer in the low mantissa bits (|y| < 2^51);
 * subtracting the bit patterns gives it as an int64 without a conversion instruction,
 * so the loops vectorise.  No reassociation: proxflow never builds with -ffast-math. */
#define MAGIC 0x1.8p52

static inline int64_t round_int(double y, double *yr)
{
    const double t = y + MAGIC;
    int64_t bt, bm;
    const double m = MAGIC;
    memcpy(&bt, &t, sizeof bt);
    memcpy(&bm, &m, sizeof bm);
    *yr = t - MAGIC; /* exact: the rounded y as a double */
    return bt - bm;
}

void pf_xsum_alloc(pf_xsum *x, size_t n)
{
    memset(x, 0, sizeof *x);
    x->n = n;
    x->nb = (n + PF_XSUM_BLOCK - 1) / PF_XSUM_BLOCK;
    x->bmax = pf_malloc(sizeof(double) * (x->nb + 1));
    x->acc = pf_malloc(sizeof(int64_t) * 2 * (n ? n : 1));
}

void pf_xsum_free(pf_xsum *x)
{
    free(x->bmax);
    free(x->acc);
    memset(x, 0, sizeof *x);
}

/* The exponent of a block: its values are < 2^e (frexp of 0 gives 0); floored so that
 * 2^(102 - e) stays finite (such values are ~0 anyway). */
static int block_exp(double bmax)
{
    int e;
    frexp(bmax, &e);
    return e < -900 ? -900 : e;
}

/* The end of block b of m values. */
static size_t block_end(size_t b, size_t m)
{
    const size_t j1 = (b + 1) * PF_XSUM_BLOCK;
    return j1 < m ? j1 : m;
}

/* Every loop below runs along one part's contiguous values, one block at a time (the
 * block stays in cache over the parts), and is compiled for AVX2 / AVX-512 as well
 * (PF_CLONES): integer operations and exact products only, so every version gives the
 * same bits. */

/* The largest |value| of block [j0, j1) over the parts, as the bit pattern of a
 * non-negative double: for those, integer order is numeric order, and NaN and Inf
 * come out above DBL_MAX's pattern (a max of integers vectorises; of doubles it would
 * not without -ffinite-math-only). */
PF_CLONES static int64_t block_max_bits(pf_real *const *parts, int nparts, size_t j0, size_t j1)
{
    int64_t mx = 0;
    for (int k = 0; k < nparts; k++) {
        const pf_real *v = parts[k];
        for (size_t j = j0; j < j1; j++) {
            const double a = (double)v[j];
            int64_t u;
            memcpy(&u, &a, sizeof u);
            u &= INT64_MAX; /* |a| */
            mx = u > mx ? u : mx;
        }
    }
    return mx;
}

/* The block's digits on the grid of exponent e: hi (bits from 2^(e-51) up) and lo
 * (from 2^(e-102)), summed over the parts as int64: exact. */
PF_CLONES static void block_digits(pf_real *const *parts, int nparts, size_t j0, size_t j1, int e,
                                   int64_t *restrict hi, int64_t *restrict lo)
{
    const double s1 = ldexp(1.0, 51 - e), s2 = ldexp(1.0, 102 - e), u1 = ldexp(1.0, e - 51);
    for (size_t j = j0; j < j1; j++) hi[j] = lo[j] = 0;
    for (int k = 0; k < nparts; k++) {
        const pf_real *v = parts[k];
        for (size_t j = j0; j < j1; j++) {
            const double vj = (double)v[j];
            double q;
            hi[j] += round_int(vj * s1, &q); /* |v s1| < 2^51 */
            const double r = vj - q * u1;    /* exact: |r| <= 2^(e-52) */
            lo[j] += round_int(r * s2, &q);
        }
    }
}

void pf_xsum_reduce(pf_xsum *x, pf_real *const *parts, int nparts, size_t m, pf_real *out)
{
    if (m > x->n) pf_die("pf_xsum_reduce: %zu values, room for %zu", m, x->n);
    const size_t nb = (m + PF_XSUM_BLOCK - 1) / PF_XSUM_BLOCK;
    const double dmax = DBL_MAX;
    int64_t maxbits;
    memcpy(&maxbits, &dmax, sizeof maxbits);
    /* 1. block maxima and the non-finite flag */
    int bad = 0;
    for (size_t b = 0; b < nb; b++) {
        const size_t j0 = b * PF_XSUM_BLOCK, j1 = block_end(b, m);
        const int64_t u = block_max_bits(parts, nparts, j0, j1);
        if (u > maxbits) bad = 1; /* NaN or Inf */
        else memcpy(&x->bmax[b], &u, sizeof u);
    }
    x->bmax[nb] = bad;
    if (pf_nranks() > 1)
        MPI_Allreduce(MPI_IN_PLACE, x->bmax, (int)nb + 1, MPI_DOUBLE, MPI_MAX, pf_comm());
    if (x->bmax[nb] > 0) {
        for (size_t j = 0; j < m; j++) out[j] = (pf_real)NAN;
        return;
    }
    /* 2. digits of the high ones hi [m], the low ones lo [m] */
    int64_t *hi = x->acc, *lo = x->acc + m;
    for (size_t b = 0; b < nb; b++) {
        const size_t j0 = b * PF_XSUM_BLOCK, j1 = block_end(b, m);
        block_digits(parts, nparts, j0, j1, block_exp(x->bmax[b]), hi, lo);
    }
    /* 3. the ranks' digit sums, again exactly */
    if (pf_nranks() > 1)
        MPI_Allreduce(MPI_IN_PLACE, x->acc, (int)(2 * m), MPI_INT64_T, MPI_SUM, pf_comm());
    /* 4. back to a real, the same way on every rank */
    for (size_t b = 0; b < nb; b++) {
        const int e = block_exp(x->bmax[b]);
        const double u1 = ldexp(1.0, e - 51), u2 = ldexp(1.0, e - 102);
        const size_t j0 = b * PF_XSUM_BLOCK, j1 = block_end(b, m);
        for (size_t j = j0; j < j1; j++) {
            const int64_t carry = lo[j] >> 51; /* move whole units of the high digit up */
            const int64_t a1 = hi[j] + carry, a2 = lo[j] - carry * ((int64_t)1 << 51);
            out[j] = (pf_real)((double)a1 * u1 + (double)a2 * u2);
        }
    }
}
