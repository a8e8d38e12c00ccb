/* proxflow: sweep files, internals shared by sweep_load.c and sweep_runs.c. */
#ifndef PF_CONFIG_SWEEP_IMPL_H
#define PF_CONFIG_SWEEP_IMPL_H

#include "proxflow/config/sweep.h"
#include "proxflow/core/common.h"

#include <stddef.h>

/* an error message into the caller's buffer; returns 1 */
#define fail(err, n, ...) pf_errorf(1, (err), (n), __VA_ARGS__)

/* [s, s+n) trimmed, malloc'd; aborts when out of memory. */
char *pf_sweep_dup(const char *s, size_t n);
/* 1 if "section.key" names a config key. */
int pf_sweep_key_known(const char *name);
/* The canonical text of key "section.key" in c (as pf_config_to_ini writes it). */
void pf_sweep_canonical(const pf_config *c, const char *name, char *out, size_t len);
/* Apply "name=value" to c (what --set accepts).  On failure: the reason without
 * pf_config_set's "--set" prefix and key, e.g. "must be > 0 (got -1)". */
int pf_sweep_apply(pf_config *c, const char *name, const char *value, char *why, size_t n);
/* A [grid] value list "v1, v2, ..." (double quotes protect commas: "64,64"). */
int pf_sweep_split_values(const char *v, char ***out, int *n_out, char *why, size_t n);
/* Replace characters not allowed in run directory names by '_'. */
void pf_sweep_sanitize(char *s);

#endif
