/* proxflow: sweep files (SPEC §7).  A sweep file names a base config and a grid of
 * config values; its runs are the cartesian product of the grid, in file order with
 * the LAST key varying fastest, each in its own directory named by its values.
 *
 *     [sweep]
 *     base = quickstart.ini        ; relative to the sweep file's directory
 *     out  = runs/my_sweep         ; root of the run directories (default runs/<stem>)
 *     [fixed]                      ; optional: applied to every run
 *     train.iterations = 2000
 *     [grid]                       ; section.key = v1, v2, ...  (any config key)
 *     lipschitz.L = 1, 5
 *     flow.lambda = 0.05, 0.5
 *
 * List-valued keys take double quotes: potential.widths = "64,64", "32,32,32".
 * docs/CLUSTER.md describes the format and the errors. */
#ifndef PROXFLOW_SWEEP_H
#define PROXFLOW_SWEEP_H

#include "proxflow/config/config.h"

#include <stddef.h>

#define PF_SWEEP_MAX_RUNS 100000L

/* One swept key. */
typedef struct {
    char key[96];   /* section.key                                                 */
    char label[96]; /* in run names: the key after the dot (section.key if two swept
                       keys share it)                                              */
    int line;       /* line of the sweep file                                      */
    int n;          /* number of values                                            */
    char **values;  /* each value in the config's canonical text (e.g. 1e-3 -> 0.001) */
} pf_sweep_axis;

typedef struct {
    char path[PF_STR];      /* the sweep file, as given                             */
    char base_path[PF_STR]; /* the base config, resolved against the sweep file's dir */
    char out[PF_STR];       /* root of the run directories                           */
    pf_config base;         /* base config with [fixed] applied                      */
    int n_fixed;
    char **fixed;           /* "section.key=value", file order                       */
    int n_axes;
    pf_sweep_axis *axes;    /* [grid], file order                                    */
    long n_runs;
} pf_sweep;

/* Parse and check a sweep file: the base config loads, every [fixed] and [grid] value
 * applies to it (pf_config_set), every combination validates (pf_config_validate) and
 * every run directory name is distinct.  On error returns non-zero with a message
 * naming the sweep file, line and key in err (s is left empty; pf_sweep_free is still
 * allowed).  Not collective: every rank may call it. */
int pf_sweep_load(pf_sweep *s, const char *path, char *err, size_t errlen);
void pf_sweep_free(pf_sweep *s);

/* Value index of each axis for run i in [0, n_runs) (idx has n_axes entries). */
void pf_sweep_indices(const pf_sweep *s, long i, int *idx);
/* Run name "L=1_lambda=0.05" (characters outside [A-Za-z0-9._=-] become '_'), and
 * the run directory "<out>/<name>".  Return non-zero if it does not fit in len. */
int pf_sweep_run_name(const pf_sweep *s, long i, char *buf, size_t len);
int pf_sweep_run_dir(const pf_sweep *s, long i, char *buf, size_t len);
/* The grid overrides of run i, "lipschitz.L=1 flow.lambda=0.05". */
int pf_sweep_run_overrides(const pf_sweep *s, long i, char *buf, size_t len);
/* The resolved config of run i: base + [fixed] + grid values, output.dir = run dir,
 * validated.  Non-zero with a message on error. */
int pf_sweep_run_config(const pf_sweep *s, long i, pf_config *cfg, char *err, size_t errlen);

#endif
