/* proxflow: stored sample pools, the reference distribution of a chain's links
 * (SPEC §8).  A pool file holds one dataset /pool [M, d] (the build's precision) and
 * scalar double attributes describing the link that produced it; written collectively
 * to a temporary name and renamed only when complete. */
#ifndef PROXFLOW_POOL_H
#define PROXFLOW_POOL_H

#include "proxflow/config/config.h"
#include "proxflow/data/data.h"

/* The pool named by c->ref_pool ("FILE.h5:/DATASET") as a row source sharded by the
 * batch columns [i0, i1) of N (SPEC §3), so draws from it do not depend on the rank
 * count.  Collective.  Dies naming the pool when it is missing, not d-dimensional, or
 * smaller than N. */
pf_data *pf_pool_open_reference(const pf_config *c, int N, int i0, int i1, int d);

/* Rows [a, b) of the pool spec "FILE.h5:/DATASET" (d columns) into X, as stored.  Not
 * collective (each rank reads on its own).  Dies naming the file when it has fewer
 * than b rows or another row length. */
void pf_pool_read_rows(const char *spec, long a, long b, int d, pf_real *X);

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

/* Whether path is a complete pool file (collective: rank 0 looks, all agree). */
int pf_pool_complete(const char *path);

/* Read the scalar attribute name of a pool file (collective; NAN if absent). */
double pf_pool_attr(const char *path, const char *name);

#endif
