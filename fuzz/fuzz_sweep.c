/* libFuzzer target: the sweep file parser (src/config/sweep_load.c; docs/RELIABILITY.md).
 *
 * Each input is a sweep file in a private directory that also holds a small valid
 * base config, base.ini (the corpus names it: base = base.ini).  pf_sweep_load must
 * return whatever the bytes; for an accepted sweep every run's name, directory,
 * overrides and config are computed as `proxflow sweep` would, and each run's config
 * must validate (pf_sweep_load promises it), else abort(). */
#include "fuzz_util.h"
#include "proxflow/config/sweep.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char base_ini[] =
    "[flow]\nsteps = 4\nlambda = 0.5\n"
    "[potential]\nwidths = 16,16\n[discriminator]\nwidths = 16,16\n"
    "[train]\niterations = 20\nbatch = 30\nn_disc = 2\nseed = 7\n"
    "[data]\nsource = sphere\ndim = 4\nmanifold_dim = 1\n"
    "[output]\nlog_every = 5\ncheckpoint_every = 5\n";

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    static int have_base = 0;
    if (!have_base) {
        pf_fuzz_write("base.ini", (const unsigned char *)base_ini, sizeof base_ini - 1);
        have_base = 1;
    }
    const char *path = pf_fuzz_write("sweep.ini", data, size);
    static pf_sweep s;
    static pf_config cfg;
    char err[2048], buf[4096];
    if (pf_sweep_load(&s, path, err, sizeof err) == 0) {
        /* the runs (at most a few hundred of them: the rest are alike) */
        long n = s.n_runs < 256 ? s.n_runs : 256;
        for (long i = 0; i < n; i++) {
            if (pf_sweep_run_name(&s, i, buf, sizeof buf) || pf_sweep_run_dir(&s, i, buf, sizeof buf) ||
                pf_sweep_run_overrides(&s, i, buf, sizeof buf)) {
                fprintf(stderr, "fuzz_sweep: run %ld of an accepted sweep has no name/dir/overrides\n", i);
                abort();
            }
            if (pf_sweep_run_config(&s, i, &cfg, err, sizeof err)) {
                fprintf(stderr, "fuzz_sweep: run %ld of an accepted sweep does not validate: %s\n", i, err);
                abort();
            }
        }
    }
    pf_sweep_free(&s);
    return 0;
}
