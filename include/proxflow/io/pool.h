/* proxflow: writing stored sample pools, the reference distribution of a chain's links
 * (SPEC §8; reading them: proxflow/data/pool_source.h).  A pool file holds one dataset /pool [M, d] (the build's precision) and
 * scalar double attributes describing the link that produced it; written collectively
 * to a temporary name and renamed only when complete. */
#ifndef PROXFLOW_IO_POOL_H
#define PROXFLOW_IO_POOL_H

#include "proxflow/config/config.h"
#include "proxflow/core/common.h"

/* Write path (FILE.h5, dataset /pool [M, d]): this rank's rows [a, b) of M from X,
 * and the n scalar attributes names[k] = vals[k] (same on every rank).  Collective;
 * the file appears under its name only when complete (attribute complete = 1). */
void pf_pool_write(const char *path, const pf_real *X, long a, long b, long M, int d,
                   const char *const *names, const double *vals, int n);

/* The same for nsets datasets dsets[s] [M, d] from bufs[s] (this rank's rows [a, b)):
 * what `sample --chain` writes. */
void pf_rows_write(const char *path, int nsets, const char *const *dsets, const pf_real *const *bufs,
                   long a, long b, long M, int d, const char *const *names, const double *vals,
                   int n);

#endif
