/* proxflow: stored sample pools (SPEC §8) read as the reference distribution of a
 * chain's link.  A pool file holds one dataset /pool [M, d] (the build's precision) and
 * scalar double attributes describing the link that produced it (src/io/pool.c). */
#ifndef PROXFLOW_DATA_POOL_SOURCE_H
#define PROXFLOW_DATA_POOL_SOURCE_H

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

/* Whether path is a complete pool file (collective: rank 0 looks, all agree). */
int pf_pool_complete(const char *path);

/* Read the scalar attribute name of a pool file (collective; NAN if absent). */
double pf_pool_attr(const char *path, const char *name);

#endif
