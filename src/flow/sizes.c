/* proxflow: buffer sizes checked before allocation (src/flow/sizes.h).
 * `--set flow.steps=2147483647` used to reach pf_malloc with (steps + 1) wrapped in int
 * arithmetic and report an 18-exabyte allocation; now the products are formed in
 * saturating size_t arithmetic from the config and refused, naming the key, when they
 * overflow or cannot fit in the node's memory. */
#include "flow/sizes.h"
#include "proxflow/core/common.h"

#include <mpi.h>
#include <stdint.h>
#include <stdio.h>
#include <unistd.h>

/* a * b, saturating at SIZE_MAX (then refused below) */
static size_t mul(size_t a, size_t b)
{
    return (b && a > SIZE_MAX / b) ? SIZE_MAX : a * b;
}

static size_t add(size_t a, size_t b)
{
    return a > SIZE_MAX - b ? SIZE_MAX : a + b;
}

static const char *human(size_t b, char *buf, size_t n)
{
    static const char *const unit[] = {"B", "kB", "MB", "GB", "TB", "PB", "EB"};
    if (b == SIZE_MAX) {
        snprintf(buf, n, "more than 2^64 bytes (size_t overflow)");
        return buf;
    }
    double v = (double)b;
    int u = 0;
    while (v >= 1000 && u < 6) v /= 1000, u++;
    snprintf(buf, n, "%.3g %s", v, unit[u]);
    return buf;
}

/* the node's physical memory (0: unknown) */
static size_t node_memory(void)
{
#ifdef _SC_PHYS_PAGES
    long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
    if (pages > 0 && page > 0) return mul((size_t)pages, (size_t)page);
#endif
    return 0;
}

void pf_check_sizes(const pf_config *cfg, int d, int lanes, int R, int Rs, long long nloc)
{
    /* the lanes may differ between ranks (threads, local chunks): decide on the largest */
    if (pf_nranks() > 1) MPI_Allreduce(MPI_IN_PLACE, &lanes, 1, MPI_INT, MPI_MAX, pf_comm());
    const size_t S = sizeof(pf_real), nt = (size_t)cfg->steps, d1 = (size_t)d + 1;
    const size_t L = (size_t)(lanes > 0 ? lanes : 1), Rw = (size_t)(R > Rs ? R : Rs);
    /* what each key makes large (src/flow/trainer.c lane_alloc, src/io/run_file.c) */
    const struct { const char *key; long long value; size_t bytes; const char *what; } t[4] = {
        {"[flow] steps", cfg->steps, mul(L, mul(mul(add(mul(2, nt), 1), (size_t)R), mul(d1, S))),
         "each lane's trajectory and gradient buffers, (2 steps + 1) x rows x (d + 1)"},
        {"[output] n_traj", cfg->n_traj,
         mul(mul(add(nt, 1), (size_t)cfg->n_traj), mul((size_t)d, S + sizeof(float))),
         "the trajectories written to run.h5, (steps + 1) x n_traj x d"},
        {"[train] n_disc", cfg->n_disc,
         mul(mul((size_t)cfg->n_disc, (size_t)(nloc > 0 ? nloc : 1)), mul((size_t)d, S)),
         "the discriminator's samples, n_disc x rows x d"},
        {"[train] batch", cfg->batch, mul(L, mul(mul(12, Rw), mul(d1, S))),
         "each lane's work buffers, about 12 x rows x (d + 1)"},
    };
    size_t total = 0;
    int big = 0;
    for (int k = 0; k < 4; k++) {
        total = add(total, t[k].bytes);
        if (t[k].bytes > t[big].bytes) big = k;
    }
    const size_t mem = node_memory();
    if (total != SIZE_MAX && (!mem || total <= mem)) return;
    char a[64], b[64], c[64] = "what can be addressed";
    if (mem && total != SIZE_MAX) snprintf(c, sizeof c, "this node's memory (%s)", human(mem, a, sizeof a));
    pf_fail_collective(2, "%s = %lld: the run would need %s per rank, %s of it for %s (data "
                          "dimension d = %d, %d rows per lane, %d lane%s), more than %s: lower %s",
                       t[big].key, t[big].value, human(total, a, sizeof a),
                       human(t[big].bytes, b, sizeof b), t[big].what, d, R, lanes,
                       lanes > 1 ? "s" : "", c, t[big].key);
}
