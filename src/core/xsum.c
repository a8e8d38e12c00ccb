/* The exact sum of arrays over chunks and ranks (include/proxflow/core/xsum.h). */
#include "proxflow/core/xsum.h"

#include <float.h>
#include <math.h>
#include <mpi.h>
#include <stdlib.h>
#include <string.h>

/* y + 1.5 2^52 rounds y to the nearest integer in the low mantissa bits (|y| < 2^51);
 * subtracting the bit patterns gives it as an int64 without a conversion instruction,
 * so the loop vectorises.  No reassociation: proxflow never builds with -ffast-math. */
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

void pf_xsum_reduce(pf_xsum *x, pf_real *const *parts, int nparts, size_t m, pf_real *out)
{
    if (m > x->n) pf_die("pf_xsum_reduce: %zu values, room for %zu", m, x->n);
    const size_t nb = (m + PF_XSUM_BLOCK - 1) / PF_XSUM_BLOCK;
    /* 1. block maxima and the non-finite flag */
    int bad = 0;
    for (size_t b = 0; b < nb; b++) {
        const size_t j0 = b * PF_XSUM_BLOCK, j1 = j0 + PF_XSUM_BLOCK < m ? j0 + PF_XSUM_BLOCK : m;
        double mx = 0;
        for (int k = 0; k < nparts; k++)
            for (size_t j = j0; j < j1; j++) {
                const double v = fabs((double)parts[k][j]);
                if (!(v <= DBL_MAX)) bad = 1; /* NaN or Inf */
                else if (v > mx) mx = v;
            }
        x->bmax[b] = mx;
    }
    x->bmax[nb] = bad;
    if (pf_nranks() > 1)
        MPI_Allreduce(MPI_IN_PLACE, x->bmax, (int)nb + 1, MPI_DOUBLE, MPI_MAX, pf_comm());
    if (x->bmax[nb] > 0) {
        for (size_t j = 0; j < m; j++) out[j] = (pf_real)NAN;
        return;
    }
    /* 2. digits on the grid of each block's exponent; sums of int64 are exact */
    int64_t *acc = x->acc;
    for (size_t b = 0; b < nb; b++) {
        int e;
        frexp(x->bmax[b], &e); /* bmax < 2^e (frexp of 0 gives 0) */
        if (e < -900) e = -900; /* keeps 2^(102 - e) finite; such values are ~0 anyway */
        const double s1 = ldexp(1.0, 51 - e), s2 = ldexp(1.0, 102 - e), u1 = ldexp(1.0, e - 51);
        const size_t j0 = b * PF_XSUM_BLOCK, j1 = j0 + PF_XSUM_BLOCK < m ? j0 + PF_XSUM_BLOCK : m;
        for (size_t j = j0; j < j1; j++) {
            int64_t a1 = 0, a2 = 0;
            for (int k = 0; k < nparts; k++) {
                const double v = (double)parts[k][j];
                double q;
                a1 += round_int(v * s1, &q);      /* |v s1| < 2^51 */
                const double r = v - q * u1;       /* exact: |r| <= 2^(e-52) */
                a2 += round_int(r * s2, &q);
            }
            acc[2 * j] = a1;
            acc[2 * j + 1] = a2;
        }
    }
    if (pf_nranks() > 1)
        MPI_Allreduce(MPI_IN_PLACE, acc, (int)(2 * m), MPI_INT64_T, MPI_SUM, pf_comm());
    /* 4. back to a real, the same way on every rank */
    for (size_t b = 0; b < nb; b++) {
        int e;
        frexp(x->bmax[b], &e);
        if (e < -900) e = -900;
        const double u1 = ldexp(1.0, e - 51), u2 = ldexp(1.0, e - 102);
        const size_t j0 = b * PF_XSUM_BLOCK, j1 = j0 + PF_XSUM_BLOCK < m ? j0 + PF_XSUM_BLOCK : m;
        for (size_t j = j0; j < j1; j++) {
            int64_t a1 = acc[2 * j], a2 = acc[2 * j + 1];
            const int64_t carry = a2 >> 51; /* move whole units of the high digit up */
            a1 += carry;
            a2 -= carry * ((int64_t)1 << 51);
            out[j] = (pf_real)((double)a1 * u1 + (double)a2 * u2);
        }
    }
}
