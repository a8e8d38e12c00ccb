/* `proxflow sweep SWEEP.ini` (SPEC §5, §7): expand a sweep file (src/config/sweep_load.c) and run
 * one of its runs in its own directory, in-process, through the same pf_train_run as
 * `train`.  One run per Slurm array index (slurm/sweep.sbatch).
 *
 *   --count            the number of runs
 *   --list             index, directory, overrides and state of every run
 *   --index I          train run I: a finished run is skipped (exit 0), a run with a
 *                      complete checkpoint resumes from the latest one, any other starts
 *   --index I --dry-run  print run I's state and resolved config (an INI file), no work
 *   --index I --status   print run I's state, one word: fresh, partial or finished
 *   --index I --allow-config-change  resume although the sweep file now gives the run
 *                      other model or objective keys than its checkpoint (recorded)
 *
 * A run is finished when its run.h5's last /diagnostics/iteration has reached
 * train.iterations and a complete checkpoint of that iteration exists.  Every rank
 * parses the sweep file (like a config); rank 0 alone looks at the run's files and
 * broadcasts what it found. */
#include "proxflow/cli/cli.h"
#include "proxflow/run/train_loop.h"
#include "proxflow/io/checkpoint.h"
#include "proxflow/io/lock.h"
#include "proxflow/config/sweep.h"

#include <errno.h>
#include <hdf5.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

static const char *const USAGE =
    "proxflow sweep SWEEP.ini (--count | --list | --index I [--dry-run | --status | --allow-config-change])";
/* `proxflow sweep --help`: every option the parser below accepts, one line each. */
static const char *const HELP =
    "usage: proxflow sweep SWEEP.ini (--count | --list | --index I [--dry-run | --status |\n"
    "                                                            --allow-config-change])\n"
    "\n"
    "A sweep file names a base config and a grid of values; run I is one point of the\n"
    "grid, trained in its own directory (docs/CLUSTER.md, \"Sweeps\"; slurm/sweep.sbatch\n"
    "runs one index per array task).\n"
    "\n"
    "options (exactly one of --count, --list, --index):\n"
    "  --count      print the number of runs\n"
    "  --list       print index, state, directory and overrides of every run\n"
    "  --index I    train run I: skip it if finished, resume it if it has a checkpoint, else start\n"
    "  --dry-run    with --index: print run I's state and resolved config (INI), do nothing\n"
    "  --status     with --index: print run I's state, one word: fresh, partial or finished\n"
    "  --allow-config-change  with --index: resume run I although the sweep file now gives it\n"
    "               model or objective keys other than its checkpoint's (recorded in run.h5 /history)\n"
    "  -h, --help   print this help and exit\n"
    "\n"
    "examples:\n"
    "  proxflow sweep configs/sweep_example.ini --list\n"
    "  mpirun -n 2 proxflow sweep configs/sweep_example.ini --index 4\n"
    "  slurm/submit_sweep.sh configs/sweep_example.ini 3      # all runs as a Slurm job array\n";

enum { ST_FRESH = 0, ST_PARTIAL = 1, ST_FINISHED = 2 };
static const char *const state_names[] = {"fresh", "partial", "finished"};

typedef struct {
    int state;
    long last_it;  /* last /diagnostics/iteration of run.h5; -1: no readable record */
    long ckpt_it;  /* iteration of the newest complete checkpoint; -1: none          */
    int has_run;   /* run.h5 exists                                                 */
} run_state;

/* Last entry of /diagnostics/iteration in path (serial, read-only); -1 if none. */
static long last_logged_iteration(const char *path)
{
    H5E_auto2_t fn;
    void *data;
    H5Eget_auto2(H5E_DEFAULT, &fn, &data);
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    long out = -1;
    hid_t f = -1, ds = -1, sp = -1, ms = -1;
    if (H5Fis_hdf5(path) <= 0) goto done;
    if ((f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT)) < 0) goto done;
    if (H5Lexists(f, "diagnostics", H5P_DEFAULT) <= 0 ||
        H5Lexists(f, "diagnostics/iteration", H5P_DEFAULT) <= 0)
        goto done;
    if ((ds = H5Dopen2(f, "diagnostics/iteration", H5P_DEFAULT)) < 0) goto done;
    if ((sp = H5Dget_space(ds)) < 0 || H5Sget_simple_extent_ndims(sp) != 1) goto done;
    hsize_t n = 0;
    if (H5Sget_simple_extent_dims(sp, &n, NULL) < 0 || n == 0) goto done;
    hsize_t start = n - 1, one = 1;
    double v = -1;
    ms = H5Screate_simple(1, &one, NULL);
    if (H5Sselect_hyperslab(sp, H5S_SELECT_SET, &start, NULL, &one, NULL) >= 0 &&
        H5Dread(ds, H5T_NATIVE_DOUBLE, ms, sp, H5P_DEFAULT, &v) >= 0 && v == v && v >= 0)
        out = (long)v;
done:
    if (ms >= 0) H5Sclose(ms);
    if (sp >= 0) H5Sclose(sp);
    if (ds >= 0) H5Dclose(ds);
    if (f >= 0) H5Fclose(f);
    H5Eset_auto2(H5E_DEFAULT, fn, data);
    return out;
}

/* Rank 0 looks at <dir>; every rank gets the answer.  ckpt (if not NULL) receives the
 * newest complete checkpoint's path. */
static run_state find_state(const char *dir, long iterations, char *ckpt, size_t len)
{
    run_state st = {ST_FRESH, -1, -1, 0};
    char path[PF_STR + 64] = "";
    if (pf_rank() == 0) {
        char run[PF_STR + 16];
        struct stat sb;
        snprintf(run, sizeof run, "%s/run.h5", dir);
        st.has_run = stat(run, &sb) == 0;
        if (st.has_run) st.last_it = last_logged_iteration(run);
        if (pf_checkpoint_latest(dir, path, sizeof path) == 0) {
            const char *b = strrchr(path, '/');
            b = b ? b + 1 : path;
            long it = -1;
            if (sscanf(b, "ckpt_%ld.h5", &it) == 1) st.ckpt_it = it;
            else st.ckpt_it = 0;
        }
        if (st.ckpt_it >= iterations && st.last_it >= iterations) st.state = ST_FINISHED;
        else if (st.ckpt_it >= 0) st.state = ST_PARTIAL;
    }
    if (pf_nranks() > 1) {
        long v[4] = {st.state, st.last_it, st.ckpt_it, st.has_run};
        MPI_Bcast(v, 4, MPI_LONG, 0, pf_comm());
        MPI_Bcast(path, (int)sizeof path, MPI_CHAR, 0, pf_comm());
        st.state = (int)v[0], st.last_it = v[1], st.ckpt_it = v[2], st.has_run = (int)v[3];
    }
    if (ckpt && len) snprintf(ckpt, len, "%s", path);
    return st;
}

static void describe(const run_state *st, long iterations, char *buf, size_t len)
{
    switch (st->state) {
    case ST_FINISHED:
        snprintf(buf, len, "finished (iteration %ld of %ld)", st->ckpt_it, iterations);
        break;
    case ST_PARTIAL:
        snprintf(buf, len, "partial (checkpoint at iteration %ld of %ld)", st->ckpt_it, iterations);
        break;
    default:
        snprintf(buf, len, "%s", st->has_run ? "fresh (a run.h5 but no checkpoint)" : "fresh");
    }
}

static void load_sweep(pf_sweep *s, const char *path)
{
    char err[2048];
    if (pf_sweep_load(s, path, err, sizeof err)) pf_fail_collective(2, "sweep: %s", err);
}

static void config_of(const pf_sweep *s, long i, pf_config *cfg)
{
    char err[2048];
    if (pf_sweep_run_config(s, i, cfg, err, sizeof err)) pf_fail_collective(2, "sweep: %s", err);
}

static int cmd_list(const pf_sweep *s)
{
    pf_config *cfg = pf_malloc(sizeof *cfg);
    int w = snprintf(NULL, 0, "%ld", s->n_runs - 1), wd = (int)strlen("directory");
    if (w < 5) w = 5;
    for (long i = 0; i < s->n_runs; i++) { /* the directory column's width */
        char dir[PF_STR];
        if (pf_sweep_run_dir(s, i, dir, sizeof dir) == 0 && (int)strlen(dir) > wd) wd = (int)strlen(dir);
    }
    if (pf_rank() == 0) {
        printf("# %s: %ld runs under %s (base %s", s->path, s->n_runs, s->out, s->base_path);
        for (int k = 0; k < s->n_fixed; k++) printf("%s%s", k ? " " : "; fixed: ", s->fixed[k]);
        printf(")\n%-*s  %-8s  %-*s  %s\n", w, "index", "state", wd, "directory", "overrides");
    }
    for (long i = 0; i < s->n_runs; i++) {
        char ov[4096];
        config_of(s, i, cfg);
        pf_sweep_run_overrides(s, i, ov, sizeof ov);
        run_state st = find_state(cfg->out_dir, cfg->iterations, NULL, 0);
        if (pf_rank() == 0) printf("%*ld  %-8s  %-*s  %s\n", w, i, state_names[st.state], wd, cfg->out_dir, ov);
    }
    free(cfg);
    return 0;
}

/* Move an unusable run.h5 (no checkpoint to resume from) aside so a fresh start is
 * not refused; its diagnostics stay readable under the new name. */
static void move_aside(const char *dir)
{
    if (pf_rank() == 0) {
        char run[PF_STR + 16], aside[PF_STR + 64], stamp[32];
        time_t now = time(NULL);
        struct tm tm;
        gmtime_r(&now, &tm);
        strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm);
        snprintf(run, sizeof run, "%s/run.h5", dir);
        snprintf(aside, sizeof aside, "%s/run.h5.restarted-%s", dir, stamp);
        if (rename(run, aside))
            pf_die("sweep: cannot move %s aside to %s: %s", run, aside, strerror(errno));
        fprintf(stderr, "proxflow: warning: %s has no checkpoint to resume from; it was moved to %s "
                        "and the run starts afresh\n", run, aside);
    }
    if (pf_nranks() > 1) MPI_Barrier(pf_comm());
}

static int cmd_index(const pf_sweep *s, long i, int dry_run, int status_only, int allow_change)
{
    pf_config *cfg = pf_malloc(sizeof *cfg);
    config_of(s, i, cfg);
    char ckpt[PF_STR + 64], desc[256], ov[4096], name[PF_STR];
    /* a run to train: its state is read under the directory's lock (issue 20), or a
     * second job could move aside the run.h5 of a first one that is still training */
    const int train = !dry_run && !status_only;
    if (train) pf_lock_dir(cfg->out_dir, "sweep");
    run_state st = find_state(cfg->out_dir, cfg->iterations, ckpt, sizeof ckpt);
    describe(&st, cfg->iterations, desc, sizeof desc);
    pf_sweep_run_overrides(s, i, ov, sizeof ov);
    pf_sweep_run_name(s, i, name, sizeof name);

    if (status_only) {
        pf_log("%s\n", state_names[st.state]);
        free(cfg);
        return 0;
    }
    if (dry_run) {
        if (pf_rank() == 0) {
            char *ini = pf_config_to_ini(cfg);
            printf("# proxflow sweep %s --index %ld: run %ld of %ld (0..%ld)\n", s->path, i, i, s->n_runs,
                   s->n_runs - 1);
            printf("# directory: %s\n# base: %s\n", cfg->out_dir, s->base_path);
            for (int k = 0; k < s->n_fixed; k++) printf("# fixed: %s\n", s->fixed[k]);
            printf("# grid: %s\n# state: %s: %s\n", ov, desc,
                   st.state == ST_FINISHED  ? "nothing to do"
                   : st.state == ST_PARTIAL ? "would resume from the latest checkpoint"
                                            : "would start training");
            fputs(ini ? ini : "", stdout);
            free(ini);
        }
        free(cfg);
        return 0;
    }
    if (st.state == ST_FINISHED) {
        pf_log("sweep: run %ld of %ld (%s) is finished (iteration %ld of %ld, %s): nothing to do\n",
               i, s->n_runs, cfg->out_dir, st.ckpt_it, cfg->iterations, ckpt);
        pf_unlock_dir(cfg->out_dir);
        free(cfg);
        return 0;
    }
    const char *resume = NULL;
    if (st.state == ST_PARTIAL) {
        resume = "latest";
        pf_log("sweep: run %ld of %ld (%s): %s; resuming from %s\n", i, s->n_runs, cfg->out_dir, desc, ckpt);
    } else {
        if (st.has_run) move_aside(cfg->out_dir);
        pf_log("sweep: run %ld of %ld (%s): starting\n", i, s->n_runs, cfg->out_dir);
    }
    char label[2 * PF_STR + 64];
    snprintf(label, sizeof label, "%s[%ld] %s", s->path, i, name);
    pf_train_opts opts = {.label = label, .resume = resume, .allow_config_change = allow_change};
    int status = pf_train_run_opts(cfg, &opts);
    pf_unlock_dir(cfg->out_dir);
    free(cfg);
    return status;
}

int pf_cmd_sweep(int argc, char **argv)
{
    if (pf_cli_help(argc, argv, HELP)) return 0;
    pf_cli_check_once(argc, argv, "sweep", "--index= --count --list --dry-run --status --allow-config-change");
    const char *path = NULL, *index_s = NULL;
    int count = 0, list = 0, dry_run = 0, status_only = 0, allow_change = 0;
    for (int k = 0; k < argc; k++) {
        const char *a = argv[k], *v;
        if (!strcmp(a, "--count")) count = 1;
        else if (!strcmp(a, "--list")) list = 1;
        else if (!strcmp(a, "--dry-run")) dry_run = 1;
        else if (!strcmp(a, "--status")) status_only = 1;
        else if (!strcmp(a, "--allow-config-change")) allow_change = 1;
        else if ((v = pf_cli_option(argc, argv, &k, "--index", "sweep", USAGE)) != NULL) index_s = v;
        else if (a[0] == '-' && a[1]) pf_cli_usage_error("sweep", USAGE, "unknown option '%s'", a);
        else if (!path) path = a;
        else pf_cli_usage_error("sweep", USAGE, "more than one sweep file: %s", a);
    }
    if (!path) pf_cli_usage_error("sweep", USAGE, "no sweep file given");
    if (count + list + (index_s != NULL) != 1)
        pf_cli_usage_error("sweep", USAGE, "give exactly one of --count, --list, --index I");
    if ((dry_run || status_only) && !index_s)
        pf_cli_usage_error("sweep", USAGE, "%s goes with --index I", dry_run ? "--dry-run" : "--status");
    if (dry_run && status_only) pf_cli_usage_error("sweep", USAGE, "give --dry-run or --status, not both");
    if (allow_change && (!index_s || dry_run || status_only))
        pf_cli_usage_error("sweep", USAGE, "--allow-config-change goes with --index I (training), not with %s",
                           !index_s ? "--count or --list" : dry_run ? "--dry-run" : "--status");

    pf_sweep s;
    load_sweep(&s, path);
    int status = 0;
    if (count) {
        pf_log("%ld\n", s.n_runs);
    } else if (list) {
        status = cmd_list(&s);
    } else {
        char *end = NULL;
        errno = 0;
        long long i = strtoll(index_s, &end, 10);
        if (!*index_s || *end || errno)
            pf_cli_usage_error("sweep", USAGE, "--index expects an integer, got '%s'", index_s);
        if (i < 0 || i >= s.n_runs)
            pf_fail_collective(2, "sweep: --index %lld out of range: %s has %ld run%s (indices 0..%ld)", i,
                               path, s.n_runs, s.n_runs == 1 ? "" : "s", s.n_runs - 1);
        status = cmd_index(&s, (long)i, dry_run, status_only, allow_change);
    }
    pf_sweep_free(&s);
    return status;
}
