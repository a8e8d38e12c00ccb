/* run.h5: what a run writes (SPEC §4), through parallel HDF5 (MPI-IO driver).
 *
 * Every function is collective over pf_comm() (MPI_COMM_WORLD unless pf_set_comm):
 * all ranks call it with identical arguments, also ranks that own no rows.  Metadata
 * operations (create, extend, attributes) are made by every rank with identical values
 * (HDF5's rule for parallel metadata); raw data goes through
 * collective transfers (H5FD_MPIO_COLLECTIVE), each rank selecting its own hyperslab,
 * or none (H5Sselect_none).  Layout: docs/OUTPUT.md. */
#include "proxflow/core/blas_info.h"
#include "proxflow/core/fault.h"
#include "proxflow/io/paths.h"
#include "proxflow/io/run_file.h"
#include "proxflow/core/rng.h"
#include "proxflow/data/data.h"

#include <errno.h>
#include <fcntl.h>
#include <hdf5.h>
#include <math.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#ifndef PF_GIT_COMMIT
#define PF_GIT_COMMIT "unknown"
#endif

#define PF_PATH_MAX (PF_STR + 64)

#include "core/h5util.h"

/* <out_dir> and <out_dir>/checkpoints, by rank 0, then a barrier (SPEC §4). */
static void make_out_dirs(const char *out_dir)
{
    if (pf_rank() == 0) {
        char ck[PF_PATH_MAX];
        snprintf(ck, sizeof ck, "%s/checkpoints", out_dir);
        if (pf_mkdir_p(out_dir)) pf_die("cannot create output directory %s: %s", out_dir, strerror(errno));
        if (pf_mkdir_p(ck)) pf_die("cannot create checkpoint directory %s: %s", ck, strerror(errno));
    }
    MPI_Barrier(pf_comm());
}

void pf_run_utc_now(char s[32])
{
    memset(s, 0, 32);
    if (pf_rank() == 0) {
        time_t t = time(NULL);
        struct tm tm;
        gmtime_r(&t, &tm);
        strftime(s, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
    }
    MPI_Bcast(s, 32, MPI_CHAR, 0, pf_comm());
}

/* Attributes (src/core/h5util.h) are written PF_H5_ATTR_REPLACE: a resumed run
 * rewrites them in the reopened file (collective: same value on every rank). */

static hid_t group_open_or_create(hid_t loc, const char *name, const char *h5_path)
{
    if (PF_H5CHECK(H5Lexists(loc, name, H5P_DEFAULT)) > 0)
        return PF_H5CHECK(H5Gopen2(loc, name, H5P_DEFAULT));
    return PF_H5CHECK(H5Gcreate2(loc, name, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
}

/* ---- run.h5 --------------------------------------------------------------------- */

struct pf_run {
    char path[PF_PATH_MAX];
    /* work: the file HDF5 writes.  A fresh run writes run.h5 itself; a resumed one a
     * copy, .run.h5.work, published as run.h5 by pf_run_commit and pf_run_close, so a
     * failed write (a full disk) never damages the run.h5 it continues (issue 20) */
    char work[PF_PATH_MAX + 16];
    int copied;
    hid_t file, dxpl;
    hid_t diag[PF_DIAG_COUNT];
    hsize_t n_logged; /* entries in every /diagnostics dataset */
};

#define DIAG_CHUNK 256

struct config_visit { hid_t g; const char *h5_path; };

static void config_attr(const char *section, const char *key, const char *value, void *user)
{
    const struct config_visit *cv = user;
    char name[256];
    snprintf(name, sizeof name, "%s.%s", section, key);
    pf_h5_attr_str(cv->g, name, value, PF_H5_ATTR_REPLACE, cv->h5_path);
}

/* Root attributes and /config (SPEC §4).  created is kept when the file is reopened. */
static void write_run_attrs(hid_t f, const pf_trainer *tr, int threads, int reopened,
                            const char *h5_path)
{
    char now[32];
    pf_run_utc_now(now);
    char *ini = pf_config_to_ini(&tr->cfg);
    if (!ini) pf_die("out of memory formatting the configuration for %s", h5_path);

    pf_h5_attr_str(f, "program", "proxflow", PF_H5_ATTR_REPLACE, h5_path);
    pf_h5_attr_str(f, "version", PF_VERSION, PF_H5_ATTR_REPLACE, h5_path);
    pf_h5_attr_str(f, "git_commit", PF_GIT_COMMIT, PF_H5_ATTR_REPLACE, h5_path);
    if (!reopened || PF_H5CHECK(H5Aexists(f, "created")) == 0)
        pf_h5_attr_str(f, "created", now, PF_H5_ATTR_REPLACE, h5_path);
    if (reopened) {
        long long count = 0;
        if (PF_H5CHECK(H5Aexists(f, "resume_count")) > 0) {
            hid_t a = PF_H5CHECK(H5Aopen(f, "resume_count", H5P_DEFAULT));
            PF_H5CHECK(H5Aread(a, H5T_NATIVE_LLONG, &count));
            PF_H5CHECK(H5Aclose(a));
        }
        pf_h5_attr_i64(f, "resume_count", count + 1, PF_H5_ATTR_REPLACE, h5_path);
        pf_h5_attr_str(f, "resumed", now, PF_H5_ATTR_REPLACE, h5_path);
        pf_h5_attr_i64(f, "resumed_at_iteration", tr->iteration, PF_H5_ATTR_REPLACE, h5_path);
    }
    pf_h5_attr_i64(f, "ranks", pf_nranks(), PF_H5_ATTR_REPLACE, h5_path);
    pf_h5_attr_i64(f, "threads", threads, PF_H5_ATTR_REPLACE, h5_path);
    pf_h5_attr_u64(f, "seed", (unsigned long long)tr->cfg.seed, PF_H5_ATTR_REPLACE, h5_path);
    pf_h5_attr_str(f, "precision", PF_REAL_NAME, PF_H5_ATTR_REPLACE, h5_path);
    /* the kernels set the last bits */
    pf_h5_attr_str(f, "blas_core", pf_blas_core(), PF_H5_ATTR_REPLACE, h5_path);
    pf_h5_attr_i64(f, "data_dim", tr->d, PF_H5_ATTR_REPLACE, h5_path);
    const long long shape[3] = {tr->H, tr->W, tr->C};
    pf_h5_attr_i64_vec(f, "image_shape", shape, 3, PF_H5_ATTR_REPLACE, h5_path);
    pf_h5_attr_str(f, "config", ini, PF_H5_ATTR_REPLACE, h5_path);
    free(ini);

    /* /config: one string attribute "section.key" per key, the values of this run */
    hid_t g = group_open_or_create(f, "config", h5_path);
    struct config_visit cv = {g, h5_path};
    pf_config_visit(&tr->cfg, config_attr, &cv);
    PF_H5CHECK(H5Gclose(g));
}

/* Extendible 1-D float64 dataset (chunked, unlimited), filled with NaN. */
static hid_t diag_create(hid_t g, const char *name, hsize_t n, const char *h5_path)
{
    hsize_t maxd = H5S_UNLIMITED, chunk = DIAG_CHUNK;
    const double nan = NAN;
    hid_t sp = PF_H5CHECK(H5Screate_simple(1, &n, &maxd));
    hid_t dcpl = PF_H5CHECK(H5Pcreate(H5P_DATASET_CREATE));
    PF_H5CHECK(H5Pset_chunk(dcpl, 1, &chunk));
    PF_H5CHECK(H5Pset_fill_value(dcpl, H5T_NATIVE_DOUBLE, &nan));
    /* allocate chunks at creation / extension so that no rank needs to allocate them
     * in a write it takes no part in */
    PF_H5CHECK(H5Pset_alloc_time(dcpl, H5D_ALLOC_TIME_EARLY));
    hid_t ds = PF_H5CHECK(H5Dcreate2(g, name, H5T_IEEE_F64LE, sp, H5P_DEFAULT, dcpl, H5P_DEFAULT));
    PF_H5CHECK(H5Pclose(dcpl));
    PF_H5CHECK(H5Sclose(sp));
    return ds;
}

static hsize_t dataset_len(hid_t ds, const char *h5_path)
{
    hid_t sp = PF_H5CHECK(H5Dget_space(ds));
    hsize_t n = 0;
    if (PF_H5CHECK(H5Sget_simple_extent_ndims(sp)) == 1) PF_H5CHECK(H5Sget_simple_extent_dims(sp, &n, NULL));
    PF_H5CHECK(H5Sclose(sp));
    return n;
}

/* Open /diagnostics.  On reopening, keep the leading entries whose iteration is
 * <= the trainer's (those logged after the checkpoint are dropped: the resumed run
 * logs them again), and bring every dataset to that length (a name missing from an
 * older file is created, NaN-filled). */
static void diag_open(pf_run *run, const pf_trainer *tr, int reopened)
{
    const char *h5_path = run->work;
    hid_t g = group_open_or_create(run->file, "diagnostics", h5_path);
    hsize_t keep = 0;
    if (reopened && PF_H5CHECK(H5Lexists(g, "iteration", H5P_DEFAULT)) > 0) {
        hid_t ds = PF_H5CHECK(H5Dopen2(g, "iteration", H5P_DEFAULT));
        hsize_t n = dataset_len(ds, h5_path);
        double *it = pf_malloc(sizeof(double) * (n ? n : 1));
        if (n) PF_H5CHECK(H5Dread(ds, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, run->dxpl, it));
        while (keep < n && it[keep] <= (double)tr->iteration) keep++;
        free(it);
        PF_H5CHECK(H5Dclose(ds));
        /* never beyond the shortest dataset (a run stopped between two extends) */
        for (int k = 0; k < PF_DIAG_COUNT; k++)
            if (PF_H5CHECK(H5Lexists(g, pf_diag_names[k], H5P_DEFAULT)) > 0) {
                hid_t dk = PF_H5CHECK(H5Dopen2(g, pf_diag_names[k], H5P_DEFAULT));
                hsize_t nk = dataset_len(dk, h5_path);
                PF_H5CHECK(H5Dclose(dk));
                if (nk < keep) keep = nk;
            }
    }
    for (int k = 0; k < PF_DIAG_COUNT; k++) {
        const char *name = pf_diag_names[k];
        if (PF_H5CHECK(H5Lexists(g, name, H5P_DEFAULT)) > 0) {
            run->diag[k] = PF_H5CHECK(H5Dopen2(g, name, H5P_DEFAULT));
            if (dataset_len(run->diag[k], h5_path) != keep)
                PF_H5CHECK(H5Dset_extent(run->diag[k], &keep));
        } else {
            run->diag[k] = diag_create(g, name, keep, h5_path);
        }
    }
    PF_H5CHECK(H5Gclose(g));
    run->n_logged = keep;
}

pf_run *pf_run_open(const pf_trainer *tr, const char *out_dir, int threads, int resume)
{
    pf_run *run = pf_calloc(1, sizeof *run);
    if (snprintf(run->path, sizeof run->path, "%s/run.h5", out_dir) >= (int)sizeof run->path)
        pf_die("output directory name too long: %s", out_dir);
    const char *h5_path = run->work;
    pf_h5_quiet q;
    pf_h5_quiet_begin(&q);
    make_out_dirs(out_dir);

    /* Resume: reopen a copy of an existing run.h5 read-write (missing: create it).  The
     * copy is made first and a failure to make it (a full disk) ends the job with
     * run.h5 untouched.  A file that no longer opens (the job was killed while HDF5
     * wrote metadata) is set aside as run.h5.broken-<time> and a new one started, so a
     * requeued job never stalls. */
    snprintf(run->work, sizeof run->work, "%s", run->path);
    int exists = 0;
    if (pf_rank() == 0) exists = access(run->path, F_OK) == 0;
    MPI_Bcast(&exists, 1, MPI_INT, 0, pf_comm());
    if (resume && exists) {
        snprintf(run->work, sizeof run->work, "%s/.run.h5.work", out_dir);
        if (pf_rank() == 0 && pf_copy_file(run->path, run->work))
            pf_die("cannot copy %s to %s to resume it: %s (%s is unchanged)", run->path, run->work,
                   strerror(errno), run->path);
        MPI_Barrier(pf_comm());
        run->copied = 1;
        h5_path = run->work;
    }
    hid_t fapl = pf_h5_fapl_mpio(h5_path);
    int reopened = 0;
    run->file = -1;
    if (resume && exists) {
        hid_t f = H5Fopen(run->work, H5F_ACC_RDWR, fapl);
        int ok = f >= 0, all_ok = 0;
        MPI_Allreduce(&ok, &all_ok, 1, MPI_INT, MPI_MIN, pf_comm());
        if (all_ok) {
            run->file = f;
            reopened = 1;
        } else {
            if (f >= 0) H5Fclose(f);
            run->copied = 0;
            snprintf(run->work, sizeof run->work, "%s", run->path);
            h5_path = run->path;
            if (pf_rank() == 0) {
                char w[PF_PATH_MAX + 16];
                snprintf(w, sizeof w, "%s/.run.h5.work", out_dir);
                unlink(w);
                char now[32], aside[PF_PATH_MAX + 48];
                time_t t = time(NULL);
                struct tm tm;
                gmtime_r(&t, &tm);
                strftime(now, sizeof now, "%Y%m%dT%H%M%SZ", &tm);
                snprintf(aside, sizeof aside, "%s.broken-%s", run->path, now);
                if (rename(run->path, aside))
                    pf_die("%s cannot be opened to resume, nor renamed: %s", run->path, strerror(errno));
                fprintf(stderr, "proxflow: warning: %s could not be opened (damaged?); moved to %s, "
                        "starting a new run.h5\n", run->path, aside);
            }
            MPI_Barrier(pf_comm());
        }
    }
    if (run->file < 0) run->file = PF_H5CHECK(H5Fcreate(run->path, H5F_ACC_TRUNC, H5P_DEFAULT, fapl));
    PF_H5CHECK(H5Pclose(fapl));
    run->dxpl = pf_h5_dxpl_collective(h5_path);

    write_run_attrs(run->file, tr, threads, reopened, h5_path);
    diag_open(run, tr, reopened);
    PF_H5CHECK(H5Fflush(run->file, H5F_SCOPE_GLOBAL));
    pf_h5_quiet_end(&q);
    return run;
}

/* Append one record: extend every dataset by one, rank 0 writes the values (the other
 * ranks select none), then flush so a reader sees it while the run trains (SPEC §4). */
void pf_run_log(pf_run *run, const pf_diag *dg)
{
    pf_fault_point("run_log");
    const char *h5_path = run->work;
    pf_h5_quiet q;
    pf_h5_quiet_begin(&q);
    const double *v = pf_diag_array(dg);
    const hsize_t n = run->n_logged + 1, at = run->n_logged, one = 1;
    hid_t ms = PF_H5CHECK(H5Screate_simple(1, &one, NULL));
    if (pf_rank() != 0) PF_H5CHECK(H5Sselect_none(ms));
    for (int k = 0; k < PF_DIAG_COUNT; k++) {
        PF_H5CHECK(H5Dset_extent(run->diag[k], &n));
        hid_t fs = PF_H5CHECK(H5Dget_space(run->diag[k]));
        if (pf_rank() == 0)
            PF_H5CHECK(H5Sselect_hyperslab(fs, H5S_SELECT_SET, &at, NULL, &one, NULL));
        else
            PF_H5CHECK(H5Sselect_none(fs));
        PF_H5CHECK(pf_h5_write("output_io", run->diag[k], H5T_NATIVE_DOUBLE, ms, fs, run->dxpl, &v[k]));
        PF_H5CHECK(H5Sclose(fs));
    }
    PF_H5CHECK(H5Sclose(ms));
    run->n_logged = n;
    PF_H5CHECK(H5Fflush(run->file, H5F_SCOPE_GLOBAL));
    pf_h5_quiet_end(&q);
}

/* /trajectories/iter_NNNNNNNN [Nt+1, n_traj, d] (SPEC §4): the fixed reference samples
 * 0..n_traj-1 of (PF_RNG_SAMPLE, iteration 0) pushed through the current flow; rank r
 * generates its chunks of the generation layout (pf_gen_layout) and writes its rows of
 * every time slice in one collective hyperslab write. */
void pf_run_trajectories(pf_run *run, pf_trainer *tr)
{
    const char *h5_path = run->work;
    pf_h5_quiet q;
    pf_h5_quiet_begin(&q);
    const int nt = tr->cfg.steps, d = tr->d, ntr = tr->cfg.n_traj;
    pf_chunks L;
    pf_gen_layout(&L, ntr);
    const int j0 = L.i0, n = L.i1 - L.i0;
    const size_t rows = (size_t)(n > 0 ? n : 1);
    pf_real *X = pf_malloc(sizeof(pf_real) * rows * d);
    pf_real *traj = pf_malloc(sizeof(pf_real) * (size_t)(nt + 1) * rows * d);
    pf_generate(tr, 0, PF_RNG_SAMPLE, &L, L.c0, L.c1, 0, X, traj);
    float *F = pf_to_f32(traj, n > 0 ? (size_t)(nt + 1) * n * d : 0);

    hid_t g = group_open_or_create(run->file, "trajectories", h5_path);
    char name[32];
    snprintf(name, sizeof name, "iter_%08ld", tr->iteration);
    const hsize_t dims[3] = {(hsize_t)nt + 1, (hsize_t)ntr, (hsize_t)d};
    hid_t ds = pf_h5_f32_dataset(g, name, 3, dims, h5_path);
    pf_h5_write_rows(ds, run->dxpl, H5T_NATIVE_FLOAT, 3, dims, 1, (hsize_t)j0, (hsize_t)n, F,
                     "output_io", h5_path);
    pf_h5_attr_i64(ds, "iteration", tr->iteration, PF_H5_ATTR_REPLACE, h5_path);
    pf_h5_attr_i64(ds, "steps", nt, PF_H5_ATTR_REPLACE, h5_path);
    pf_h5_attr_f64(ds, "T", tr->cfg.T, PF_H5_ATTR_REPLACE, h5_path);
    pf_h5_attr_str(ds, "reference", "samples 0..n_traj-1 of (PF_RNG_SAMPLE, iteration 0)",
                   PF_H5_ATTR_REPLACE, h5_path);
    PF_H5CHECK(H5Dclose(ds));
    PF_H5CHECK(H5Gclose(g));
    PF_H5CHECK(H5Fflush(run->file, H5F_SCOPE_GLOBAL));
    free(F);
    free(traj);
    free(X);
    pf_h5_quiet_end(&q);
}

/* /samples/generated and /samples/reference [diag_batch, d] float32: reference
 * samples 0..diag_batch-1 of (PF_RNG_SAMPLE, iteration 0) and their images under the
 * current flow (the trajectories' samples are the first n_traj of these). */
void pf_run_samples(pf_run *run, pf_trainer *tr)
{
    const char *h5_path = run->work;
    pf_h5_quiet q;
    pf_h5_quiet_begin(&q);
    const int d = tr->d, nd = tr->cfg.diag_batch;
    pf_chunks L;
    pf_gen_layout(&L, nd);
    const int j0 = L.i0, j1 = L.i1, n = j1 - j0;
    const size_t cnt = n > 0 ? (size_t)n * d : 0;
    pf_real *X = pf_malloc(sizeof(pf_real) * (cnt ? cnt : 1));
    pf_real *R = pf_malloc(sizeof(pf_real) * (cnt ? cnt : 1));
    if (n > 0) {
        pf_generate(tr, 0, PF_RNG_SAMPLE, &L, L.c0, L.c1, 0, X, NULL);
        pf_trainer_reference(tr, 0, PF_RNG_SAMPLE, j0, j1, R);
    }
    float *FX = pf_to_f32(X, cnt), *FR = pf_to_f32(R, cnt);
    /* the target beside them (issue 21: plots draw it under the samples): diag_batch
     * held-out data rows, all written by rank 0 */
    pf_real *Y = pf_malloc(sizeof(pf_real) * (pf_rank() == 0 ? (size_t)nd * d : 1));
    if (pf_rank() == 0) pf_data_heldout(tr->data, nd, Y);
    float *FY = pf_to_f32(Y, pf_rank() == 0 ? (size_t)nd * d : 0);
    free(Y);

    hid_t g = group_open_or_create(run->file, "samples", h5_path);
    const hsize_t dims[2] = {(hsize_t)nd, (hsize_t)d};
    const char *names[3] = {"generated", "reference", "data"};
    const float *bufs[3] = {FX, FR, FY};
    for (int k = 0; k < 3; k++) {
        const hsize_t r0 = k < 2 ? (hsize_t)j0 : 0, nr = k < 2 ? (hsize_t)n : pf_rank() == 0 ? (hsize_t)nd : 0;
        hid_t ds = pf_h5_f32_dataset(g, names[k], 2, dims, h5_path);
        pf_h5_write_rows(ds, run->dxpl, H5T_NATIVE_FLOAT, 2, dims, 0, r0, nr, bufs[k], "output_io",
                         h5_path);
        pf_h5_attr_i64(ds, "iteration", tr->iteration, PF_H5_ATTR_REPLACE, h5_path);
        pf_h5_attr_i64(ds, "steps", tr->cfg.steps, PF_H5_ATTR_REPLACE, h5_path);
        PF_H5CHECK(H5Dclose(ds));
    }
    pf_h5_attr_i64(g, "iteration", tr->iteration, PF_H5_ATTR_REPLACE, h5_path);
    PF_H5CHECK(H5Gclose(g));
    PF_H5CHECK(H5Fflush(run->file, H5F_SCOPE_GLOBAL));
    free(FX);
    free(FR);
    free(FY);
    free(X);
    free(R);
    pf_h5_quiet_end(&q);
}

/* The directory of run.h5, fsynced after a rename into it (rank 0). */
static void sync_dir_of(const pf_run *run)
{
    char dir[PF_PATH_MAX];
    snprintf(dir, sizeof dir, "%.*s", (int)(strlen(run->path) - strlen("/run.h5")), run->path);
    int fd = open(dir, O_RDONLY);
    if (fd >= 0) {
        (void)fsync(fd);
        close(fd);
    }
}

void pf_run_commit(pf_run *run)
{
    const char *h5_path = run->work;
    pf_h5_quiet q;
    pf_h5_quiet_begin(&q);
    PF_H5CHECK(H5Fflush(run->file, H5F_SCOPE_GLOBAL)); /* the work file is whole on disk */
    pf_h5_quiet_end(&q);
    if (!run->copied) return;
    MPI_Barrier(pf_comm());
    if (pf_rank() == 0) {
        /* a copy of the flushed work file, renamed over run.h5: a reader or a resume sees
         * the old file or the new one, never a half-written one */
        char next[PF_PATH_MAX + 32];
        snprintf(next, sizeof next, "%s.next", run->work);
        if (pf_copy_file(run->work, next))
            pf_die("cannot update %s (copying %s): %s; %s is unchanged", run->path, run->work,
                   strerror(errno), run->path);
        if (rename(next, run->path))
            pf_die("cannot rename %s to %s: %s", next, run->path, strerror(errno));
        sync_dir_of(run);
    }
    MPI_Barrier(pf_comm());
}

void pf_run_close(pf_run *run)
{
    if (!run) return;
    const char *h5_path = run->work;
    pf_h5_quiet q;
    pf_h5_quiet_begin(&q);
    for (int k = 0; k < PF_DIAG_COUNT; k++) PF_H5CHECK(H5Dclose(run->diag[k]));
    PF_H5CHECK(H5Pclose(run->dxpl));
    PF_H5CHECK(H5Fclose(run->file));
    pf_h5_quiet_end(&q);
    if (run->copied) { /* closed, hence complete: the work file itself becomes run.h5 */
        MPI_Barrier(pf_comm());
        if (pf_rank() == 0) {
            int fd = open(run->work, O_RDONLY);
            if (fd < 0 || fsync(fd)) pf_die("cannot sync %s: %s", run->work, strerror(errno));
            close(fd);
            if (rename(run->work, run->path))
                pf_die("cannot rename %s to %s: %s", run->work, run->path, strerror(errno));
            sync_dir_of(run);
        }
        MPI_Barrier(pf_comm());
    }
    free(run);
}

const char *pf_run_path(const pf_run *run) { return run->path; }
long pf_run_log_count(const pf_run *run) { return (long)run->n_logged; }
int64_t pf_run_h5_file(const pf_run *run) { return (int64_t)run->file; }
