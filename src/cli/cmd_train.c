/* `proxflow train` (SPEC §5): config -> ranks -> training loop -> logs, run.h5,
 * checkpoints; SIGTERM/SIGUSR1 checkpoint-and-exit (SPEC §4). */
#include "proxflow/cli/cli.h"
#include "proxflow/flow/steps.h"
#include "proxflow/io/output.h"
#include "proxflow/core/rng.h"
#include "proxflow/flow/trainer.h"

#include <cblas.h>
#include <errno.h>
#include <math.h>
#include <mpi.h>
#include <omp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- shared CLI helpers ------------------------------------------------------------ */

/* Only blanks and comments (an empty file: a failed copy or redirect, most likely). */
static int config_is_blank(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) return 0; /* pf_config_load reports it */
    int c, blank = 1, bol = 1, comment = 0;
    long pos = 0;
    while (blank && (c = fgetc(f)) != EOF) {
        if (pos++ < 3 && (c == 0xEF || c == 0xBB || c == 0xBF)) continue; /* UTF-8 BOM */
        if (c == '\n') bol = 1, comment = 0;
        else if (comment || c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v') continue;
        else if (bol && (c == ';' || c == '#')) comment = 1, bol = 0;
        else blank = 0;
    }
    fclose(f);
    return blank;
}

void pf_cli_load_config(pf_config *cfg, const char *path, int n_sets, char **sets)
{
    char err[1024];
    pf_config_defaults(cfg);
    if (pf_config_load(cfg, path, err, sizeof err)) pf_fail_collective(2, "%s", err);
    /* docs/RELIABILITY.md: an empty file would silently train the defaults */
    if (config_is_blank(path))
        pf_fail_collective(2, "%s:1: the config file is empty (no section, no key): refusing to "
                              "run on the defaults alone; write at least one section and key, e.g. "
                              "[train] iterations = 1000 (docs/CONFIG.md)", path);
    for (int k = 0; k < n_sets; k++)
        if (pf_config_set(cfg, sets[k], err, sizeof err)) pf_fail_collective(2, "%s", err);
    if (pf_config_validate(cfg, err, sizeof err)) pf_fail_collective(2, "%s: %s", path, err);
}

int pf_cli_setup_threads(const pf_config *cfg)
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
    omp_set_num_threads(t);
    openblas_set_num_threads(t);
    return t;
}

/* ---- signals ------------------------------------------------------------------------ */

static volatile sig_atomic_t g_stop_signal = 0;
static void on_signal(int sig) { g_stop_signal = sig; }

/* Any rank signalled -> every rank stops at this iteration boundary. */
static int stop_requested(void)
{
    int s = g_stop_signal;
    if (pf_nranks() > 1) MPI_Allreduce(MPI_IN_PLACE, &s, 1, MPI_INT, MPI_MAX, pf_comm());
    return s;
}

/* ---- progress --------------------------------------------------------------------- */

static void fmt_hms(double s, char *buf, size_t len)
{
    if (!isfinite(s) || s < 0) s = 0;
    long t = (long)(s + 0.5);
    snprintf(buf, len, "%ld:%02ld:%02ld", t / 3600, (t / 60) % 60, t % 60);
}

static void print_log_line(const pf_trainer *tr, const pf_diag *dg, double spi, int tty)
{
    char eta[32];
    fmt_hms(spi * (double)(tr->cfg.iterations - tr->iteration), eta, sizeof eta);
    pf_log("%s[%*ld/%ld] loss_d %+.4e loss_g %+.4e div %+.4e KE %.4e R_HJ %.3e R_T %.3e | "
           "%.4f s/it ETA %s\n",
           tty ? "\r\033[K" : "", (int)snprintf(NULL, 0, "%ld", tr->cfg.iterations),
           tr->iteration, tr->cfg.iterations, dg->loss_d, dg->loss_g, dg->divergence,
           dg->kinetic, dg->hj_residual, dg->hj_terminal, spi, eta);
}

static void print_bar(const pf_trainer *tr, double spi)
{
    const int width = 30;
    double frac = tr->cfg.iterations ? (double)tr->iteration / tr->cfg.iterations : 1;
    int full = (int)(frac * width);
    char bar[64], eta[32];
    for (int k = 0; k < width; k++) bar[k] = k < full ? '#' : '.';
    bar[width] = 0;
    fmt_hms(spi * (double)(tr->cfg.iterations - tr->iteration), eta, sizeof eta);
    printf("\r\033[K[%s] %ld/%ld %.4f s/it ETA %s", bar, tr->iteration, tr->cfg.iterations, spi, eta);
    fflush(stdout);
}

/* ---- the command -------------------------------------------------------------------- */

static void usage_error(const char *msg, const char *arg)
{
    pf_fail_collective(2, "train: %s%s%s (usage: proxflow train CONFIG.ini [--set section.key=value ...] "
                          "[--resume CKPT|latest] [--out DIR])",
                       msg, arg ? " " : "", arg ? arg : "");
}

int pf_cmd_train(int argc, char **argv)
{
    const char *config_path = NULL, *resume = NULL, *out = NULL, *dump = NULL;
    char **sets = pf_malloc(sizeof(char *) * (argc + 1));
    int n_sets = 0;
    for (int k = 0; k < argc; k++) {
        const char *a = argv[k];
        if (!strcmp(a, "--set") || !strcmp(a, "--resume") || !strcmp(a, "--out") ||
            !strcmp(a, "--dump-state")) {
            if (k + 1 >= argc) usage_error("missing value after", a);
            const char *v = argv[++k];
            const char *prev = !strcmp(a, "--resume") ? resume : !strcmp(a, "--out") ? out
                               : !strcmp(a, "--dump-state") ? dump : NULL;
            if (prev) /* conflicting: which one was meant? (docs/RELIABILITY.md) */
                pf_fail_collective(2, "train: %s given twice ('%s', then '%s')", a, prev, v);
            if (!strcmp(a, "--set")) sets[n_sets++] = (char *)v;
            else if (!strcmp(a, "--resume")) resume = v;
            else if (!strcmp(a, "--out")) out = v;
            else dump = v;
        } else if (!strncmp(a, "--set=", 6)) {
            sets[n_sets++] = (char *)a + 6;
        } else if (a[0] == '-' && a[1]) {
            pf_fail_collective(2, "train: unknown option '%s' (see proxflow --help)", a);
        } else if (!config_path) {
            config_path = a;
        } else {
            usage_error("more than one config file:", a);
        }
    }
    if (!config_path) usage_error("no config file given", NULL);
    pf_config cfg;
    pf_cli_load_config(&cfg, config_path, n_sets, sets);
    free(sets);
    if (out) {
        if (strlen(out) >= sizeof cfg.out_dir) usage_error("--out path too long:", out);
        strcpy(cfg.out_dir, out);
    }
    return pf_train_run(&cfg, config_path, resume, dump);
}

int pf_train_run(pf_config *cfg, const char *config_label, const char *resume, const char *dump)
{
    pf_train_opts o;
    memset(&o, 0, sizeof o);
    o.label = config_label;
    o.resume = resume;
    o.dump = dump;
    return pf_train_run_opts(cfg, &o);
}

/* Warm start (SPEC §8, chain.warm_start): parameters from a checkpoint of another run
 * with the same shapes; a fresh optimiser (moments and step count reset), iteration 0. */
static void warm_start(pf_trainer *tr, const char *ckpt)
{
    char err[1024];
    int bad = pf_checkpoint_load(tr, ckpt, err, sizeof err);
    if (pf_nranks() > 1) MPI_Allreduce(MPI_IN_PLACE, &bad, 1, MPI_INT, MPI_MAX, pf_comm());
    if (bad) pf_fail_collective(2, "warm start: %s", err[0] ? err : "cannot load checkpoint");
    pf_params *ps[2] = {&tr->theta, &tr->psi};
    for (int k = 0; k < 2; k++) {
        memset(ps[k]->m, 0, sizeof(pf_real) * ps[k]->n);
        memset(ps[k]->v, 0, sizeof(pf_real) * ps[k]->n);
        ps[k]->t = 0;
    }
    tr->iteration = 0;
    pf_log("warm start from the networks of %s\n", ckpt);
}

int pf_train_run_opts(pf_config *cfgp, pf_train_opts *opts)
{
    pf_config cfg = *cfgp; /* a copy: the caller's config stays as it was */
    const char *config_path = opts->label, *resume = opts->resume, *dump = opts->dump;
    opts->finished = 0;
    const int threads = pf_cli_setup_threads(&cfg);
    const int P = pf_nranks();
    const int tty = pf_rank() == 0 && isatty(STDOUT_FILENO);

    /* An existing run is continued only when asked (no silent overwrite). */
    char run_path[PF_STR + 16];
    snprintf(run_path, sizeof run_path, "%s/run.h5", cfg.out_dir);
    struct stat sb;
    if (!resume && !dump && stat(run_path, &sb) == 0)
        pf_fail_collective(2, "%s already exists: continue it with --resume latest, or choose "
                              "another --out", run_path);

    pf_trainer tr;
    pf_trainer_init(&tr, &cfg);
    pf_log("proxflow %s: %s on %s: d = %d, mode %s, f %s, lambda %g, L %g, T %g, %d steps; "
           "batch %d on %d rank%s x %d thread%s (%s, OpenBLAS %s)\n",
           PF_VERSION, config_path, pf_data_name(tr.data), tr.d, pf_mode_name(cfg.mode),
           pf_fdiv_name(cfg.f), cfg.lambda, cfg.L, cfg.T, cfg.steps, cfg.batch, P, P > 1 ? "s" : "",
           threads, threads > 1 ? "s" : "", PF_REAL_NAME, PF_BLAS_FLAVOUR);
    pf_log("potential %zu parameters, discriminator %zu; output %s\n", tr.theta.n, tr.psi.n,
           cfg.out_dir);

    if (resume) {
        char path[PF_STR + 64], err[1024];
        if (!strcmp(resume, "latest")) {
            if (pf_checkpoint_latest(cfg.out_dir, path, sizeof path))
                pf_fail_collective(2, "--resume latest: no complete checkpoint in %s/checkpoints",
                                   cfg.out_dir);
        } else {
            snprintf(path, sizeof path, "%s", resume);
        }
        int bad = pf_checkpoint_load(&tr, path, err, sizeof err);
        if (pf_nranks() > 1) MPI_Allreduce(MPI_IN_PLACE, &bad, 1, MPI_INT, MPI_MAX, pf_comm());
        if (bad) pf_fail_collective(2, "%s", err[0] ? err : "cannot load checkpoint");
        pf_log("resumed from %s at iteration %ld\n", path, tr.iteration);
    } else if (opts->init_from) {
        warm_start(&tr, opts->init_from);
    }
    if (dump) {
        pf_dump_state(&tr, dump);
        pf_log("wrote %s\n", dump);
        pf_trainer_free(&tr);
        return 0;
    }

    signal(SIGTERM, on_signal);
    signal(SIGUSR1, on_signal);
    pf_run *run = pf_run_open(&tr, cfg.out_dir, threads, resume != NULL);
    char ckpt[PF_STR + 64];
    pf_diag dg;
    memset(&dg, 0, sizeof dg);
    const double t_start = pf_now();
    double t_log = t_start, t_bar = t_start, spi = 0;
    long it_log = tr.iteration;
    int status = 0;
    if (tr.iteration == 0) {
        pf_diagnostics(&tr, &dg); /* the starting point of every curve */
        dg.wall_s = 0;
        pf_run_log(run, &dg);
        if (cfg.trajectory_every > 0) pf_run_trajectories(run, &tr);
    }
    while (tr.iteration < cfg.iterations) {
        pf_status st = pf_train_iteration(&tr);
        if (st.bad) {
            if (tty) printf("\n");
            pf_log("proxflow: error: %s; stopping. Diagnostics up to the last log are in %s; "
                   "the last checkpoint is intact.\n", st.msg, run_path);
            if (pf_rank() == 0) fprintf(stderr, "proxflow: error: %s\n", st.msg);
            status = 3;
            break;
        }
        const double now = pf_now();
        const long done = tr.iteration;
        if (done % cfg.log_every == 0 || done == cfg.iterations) {
            spi = (now - t_log) / (double)(done - it_log);
            pf_diagnostics(&tr, &dg);
            dg.wall_s = now - t_start;
            dg.seconds_per_iteration = spi;
            dg.samples_per_second = cfg.batch / spi;
            pf_run_log(run, &dg);
            print_log_line(&tr, &dg, spi, tty);
            t_log = pf_now(); /* diagnostics are not training time */
            it_log = done;
        } else if (tty && now - t_bar >= 0.5) {
            /* at most two updates a second: mpirun may hand ranks a pty even when its
             * own output goes to a file */
            print_bar(&tr, done > it_log ? (now - t_log) / (double)(done - it_log) : spi);
            t_bar = now;
        }
        if (cfg.trajectory_every > 0 && done % cfg.trajectory_every == 0) pf_run_trajectories(run, &tr);
        if (cfg.checkpoint_every > 0 && done % cfg.checkpoint_every == 0 && done < cfg.iterations)
            pf_checkpoint_write(&tr, cfg.out_dir, ckpt, sizeof ckpt);
        int sig = stop_requested();
        if (sig) {
            pf_checkpoint_write(&tr, cfg.out_dir, ckpt, sizeof ckpt);
            if (tty) printf("\n");
            pf_log("proxflow: %s received: checkpoint %s written at iteration %ld; resume with "
                   "--resume latest\n", sig == SIGTERM ? "SIGTERM" : "SIGUSR1", ckpt, tr.iteration);
            pf_run_close(run);
            pf_trainer_free(&tr);
            return 0;
        }
    }
    if (status == 0) {
        pf_checkpoint_write(&tr, cfg.out_dir, ckpt, sizeof ckpt);
        opts->finished = 1;
        opts->train_seconds = pf_now() - t_start;
        pf_run_samples(run, &tr);
        const double wall = pf_now() - t_start;
        pf_log("proxflow: done: %ld iterations in %.1f s (%.4f s/it, %.0f samples/s) on %d rank%s x "
               "%d thread%s; divergence %.4e, KE %.4e, R_HJ %.3e, R_T %.3e -> %s\n",
               tr.iteration, wall, spi, spi > 0 ? cfg.batch / spi : 0.0, P, P > 1 ? "s" : "",
               threads, threads > 1 ? "s" : "", dg.divergence, dg.kinetic, dg.hj_residual,
               dg.hj_terminal, run_path);
    }
    pf_run_close(run);
    pf_trainer_free(&tr);
    return status;
}
