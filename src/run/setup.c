/* proxflow: what every command does before it works (SPEC §5): the config from its file
 * and --set overrides (errors exit 2 on every rank), the threads of a rank, and a
 * trainer rebuilt from a checkpoint. */
#include "proxflow/run/setup.h"
#include "proxflow/io/checkpoint.h"
#include "run/config_file.h"

#include <cblas.h>
#include <mpi.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>

void pf_setup_config(pf_config *cfg, const char *path, int n_sets, char **sets)
{
    char err[1024];
    pf_config_defaults(cfg);
    size_t len;
    char *text = pf_setup_read_config(path, &len); /* once: a pipe or FIFO works too */
    /* docs/RELIABILITY.md: an empty file would silently train the defaults */
    const int blank = pf_config_text_is_blank(text, len);
    const int bad = pf_config_load_text(cfg, path, text, len, err, sizeof err);
    free(text);
    if (bad) pf_fail_collective(2, "%s", err);
    if (blank)
        pf_fail_collective(2, "%s:1: the config file is empty (no section, no key): refusing to "
                              "run on the defaults alone; write at least one section with a key "
                              "below it, e.g. a line [train] and under it iterations = 1000 "
                              "(docs/CONFIG.md)", path);
    for (int k = 0; k < n_sets; k++)
        if (pf_config_set(cfg, sets[k], err, sizeof err)) pf_fail_collective(2, "%s", err);
    if (pf_config_validate(cfg, err, sizeof err)) pf_fail_collective(2, "%s: %s", path, err);
}

int pf_setup_threads(const pf_config *cfg)
{
    int t = cfg->threads;
    const char *env = getenv("OMP_NUM_THREADS");
    if (t <= 0 && env && atoi(env) > 0) t = atoi(env);
    if (t <= 0) {
        /* cores of this node shared among the ranks on it: never oversubscribe */
        MPI_Comm node;
        int local = 1;
        MPI_Comm_split_type(pf_comm(), MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &node);
        MPI_Comm_size(node, &local);
        MPI_Comm_free(&node);
        t = omp_get_num_procs() / local;
        if (t < 1) t = 1;
    }
    /* omp_get_num_procs() counts the CPUs this process may run on.  mpirun binds each
     * rank to one core by default (np <= 2); more threads than that would share the
     * core and spin against each other (measured: 10x slower).  Use what is there. */
    const int procs = omp_get_num_procs();
    if (t > procs) {
        fprintf(stderr, "proxflow: warning: rank %d may run on %d CPU(s) only, but %d threads "
                        "were asked; using %d (launch with mpirun --bind-to none, or "
                        "--map-by slot:PE=%d, or srun --cpus-per-task=%d)\n",
                pf_rank(), procs, t, procs, t, t);
        t = procs;
    }
#ifdef PF_BLAS_OPENMP
    openblas_set_num_threads(t); /* the OpenMP build follows OpenMP's count anyway */
#else
    /* A BLAS with its own threads would split GEMMs by its thread count, and a GEMM's
     * bits depend on the split (SPEC §3): every network call runs BLAS on one thread,
     * the trainer's lanes are the parallelism (docs/DESIGN.md). */
    openblas_set_num_threads(1);
#endif
    omp_set_num_threads(t);
    return t;
}

int pf_setup_trainer_from_checkpoint(pf_trainer *tr, const char *cmd, const char *ckpt, int n_sets,
                                     char *const *sets)
{
    pf_config cfg;
    pf_checkpoint_config_set(&cfg, cmd, ckpt, n_sets, sets);
    const int threads = pf_setup_threads(&cfg);
    pf_trainer_init(tr, &cfg);
    char err[1024] = "";
    int bad = pf_checkpoint_load(tr, ckpt, err, sizeof err);
    if (pf_nranks() > 1) MPI_Allreduce(MPI_IN_PLACE, &bad, 1, MPI_INT, MPI_MAX, pf_comm());
    if (bad) pf_fail_collective(2, "%s: %s", cmd, err[0] ? err : "cannot load checkpoint (on another rank)");
    return threads;
}
