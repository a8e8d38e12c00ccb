/* run.h5 and checkpoints (SPEC §4), on 1 and 2 ranks:
 *  - run.h5: attributes, /config, diagnostics appended and readable while open (the
 *    Python layout check tests/check_run_h5.py runs on it), trajectories and samples
 *    equal to a single-process generation, overwrite on re-call, resume truncation,
 *    resume without a run.h5, ranks with zero rows;
 *  - checkpoints: bit-identical round trip, keep, latest (skipping truncated, garbage,
 *    incomplete and temporary files), refusals with messages naming the file, stale
 *    continuations set aside, and bit-exact resume (4 straight = 2 + checkpoint + 2). */
#include <math.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <hdf5.h>

#include "proxflow/io/run_file.h"
#include "proxflow/io/checkpoint.h"
#include "proxflow/flow/steps.h"
#include "proxflow/core/rng.h"
#include "testutil.h"

static int rank0(void) { return pf_rank() == 0; }

static int exists(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0;
}

static pf_config small_cfg(const char *dir, uint64_t seed, int width)
{
    pf_config c;
    pf_config_defaults(&c);
    snprintf(c.source, sizeof c.source, "8gaussians");
    c.batch = 16;
    c.diag_batch = 16;
    c.steps = 3;
    c.n_disc = 2;
    c.iterations = 4;
    c.seed = seed;
    c.potential.n_widths = 2;
    c.potential.widths[0] = c.potential.widths[1] = width;
    c.discriminator.n_widths = 2;
    c.discriminator.widths[0] = c.discriminator.widths[1] = width;
    c.n_traj = 5;
    c.keep = 3;
    snprintf(c.out_dir, sizeof c.out_dir, "%s", dir);
    return c;
}

static void train(pf_trainer *tr, int iters)
{
    for (int k = 0; k < iters; k++) {
        pf_status s = pf_train_iteration(tr);
        CHECK(!s.bad, "training failed: %s", s.msg);
    }
}

/* Rank 0: tests/check_run_h5.py on a run.h5 (skipped without PROXFLOW_SOURCE_DIR). */
static void python_check(const char *path, int expected)
{
    if (!rank0()) return;
    const char *src = getenv("PROXFLOW_SOURCE_DIR");
    if (!src) {
        fprintf(stderr, "note: PROXFLOW_SOURCE_DIR unset, skipping check_run_h5.py\n");
        return;
    }
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 %s/tests/check_run_h5.py '%s' %d", src, path, expected);
    int rc = system(cmd);
    CHECK(rc == 0, "%s returned %d", cmd, rc);
}

/* Rank 0, serial HDF5: a float32 or float64 dataset as doubles; element count in *n. */
static double *read_all(const char *file, const char *name, size_t *n)
{
    hid_t f = H5Fopen(file, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (f < 0) return NULL;
    hid_t ds = H5Dopen2(f, name, H5P_DEFAULT);
    if (ds < 0) {
        H5Fclose(f);
        return NULL;
    }
    hid_t sp = H5Dget_space(ds);
    *n = (size_t)H5Sget_simple_extent_npoints(sp);
    double *v = malloc(sizeof(double) * (*n ? *n : 1));
    if (*n) H5Dread(ds, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, v);
    H5Sclose(sp);
    H5Dclose(ds);
    H5Fclose(f);
    return v;
}

/* Max |a - float(b)| / max(1, |b|). */
static double max_f32_err(const double *a, const pf_real *b, size_t n)
{
    double e = 0;
    for (size_t k = 0; k < n; k++) {
        double r = fabs(a[k] - (double)(float)b[k]) / fmax(1.0, fabs((double)b[k]));
        if (!(r <= e)) e = r; /* NaN propagates */
    }
    return e;
}

/* ---- run.h5 ------------------------------------------------------------------------ */

static void test_run_h5(const char *root)
{
    char dir[512], path[600];
    snprintf(dir, sizeof dir, "%s/run", root);
    snprintf(path, sizeof path, "%s/run.h5", dir);
    pf_config c = small_cfg(dir, 11, 8);
    pf_trainer A;
    pf_trainer_init(&A, &c);

    pf_run *run = pf_run_open(&A, dir, 1, 0);
    CHECK(!strcmp(pf_run_path(run), path), "path %s", pf_run_path(run));
    CHECK(pf_run_log_count(run) == 0, "new run has %ld records", pf_run_log_count(run));
    for (int k = 0; k < 2; k++) {
        train(&A, 1);
        pf_diag dg;
        pf_diagnostics(&A, &dg);
        dg.wall_s = k;
        pf_run_log(run, &dg);
    }
    CHECK(pf_run_log_count(run) == 2, "%ld records", pf_run_log_count(run));
    pf_run_trajectories(run, &A);
    pf_run_samples(run, &A);
    pf_run_samples(run, &A); /* overwrite */
    MPI_Barrier(MPI_COMM_WORLD);
    python_check(path, 2); /* a reader while the file is open for writing */
    MPI_Barrier(MPI_COMM_WORLD);
    pf_run_close(run);
    MPI_Barrier(MPI_COMM_WORLD);
    python_check(path, 2);

    /* content: trajectories / samples equal a single-process generation (float32) */
    if (rank0()) {
        const int nt = c.steps, d = A.d, ntr = c.n_traj, nd = c.diag_batch;
        pf_real *X = malloc(sizeof(pf_real) * (size_t)nd * d);
        pf_real *traj = malloc(sizeof(pf_real) * (size_t)(nt + 1) * ntr * d);
        size_t n = 0;
        pf_chunks L1; /* all rows on this one rank, in the generation layout */
        pf_chunks_init(&L1, ntr, (ntr + PF_GEN_ROWS - 1) / PF_GEN_ROWS, 0, 1);
        pf_generate(&A, 0, PF_RNG_SAMPLE, &L1, 0, L1.K, 0, X, traj);
        double *t = read_all(path, "/trajectories/iter_00000002", &n);
        CHECK(t && n == (size_t)(nt + 1) * ntr * d, "trajectory size %zu", n);
        if (t && n == (size_t)(nt + 1) * ntr * d)
            CHECK(max_f32_err(t, traj, n) < 1e-6, "trajectories differ: %g", max_f32_err(t, traj, n));
        free(t);
        pf_chunks_init(&L1, nd, (nd + PF_GEN_ROWS - 1) / PF_GEN_ROWS, 0, 1);
        pf_generate(&A, 0, PF_RNG_SAMPLE, &L1, 0, L1.K, 0, X, NULL);
        double *g = read_all(path, "/samples/generated", &n);
        CHECK(g && n == (size_t)nd * d, "generated size %zu", n);
        if (g && n == (size_t)nd * d) CHECK(max_f32_err(g, X, n) < 1e-6, "generated differ");
        free(g);
        pf_reference_draw(&A.cfg, d, 0, PF_RNG_SAMPLE, 0, nd, X);
        double *r = read_all(path, "/samples/reference", &n);
        CHECK(r && n == (size_t)nd * d, "reference size %zu", n);
        if (r && n == (size_t)nd * d) CHECK(max_f32_err(r, X, n) == 0, "reference differ");
        free(r);
        /* the trajectories' last slice = the first n_traj generated samples */
        free(X);
        free(traj);
        double *it = read_all(path, "/diagnostics/iteration", &n);
        CHECK(it && n == 2 && it[0] == 1 && it[1] == 2, "iterations logged");
        free(it);
    }

    /* resume at iteration 1: the record of iteration 2 is dropped, then logged again */
    A.iteration = 1;
    run = pf_run_open(&A, dir, 1, 1);
    CHECK(pf_run_log_count(run) == 1, "after resume at 1: %ld records", pf_run_log_count(run));
    pf_diag dg;
    memset(&dg, 0, sizeof dg);
    dg.iteration = 2;
    pf_run_log(run, &dg);
    pf_run_close(run);
    A.iteration = 2;
    MPI_Barrier(MPI_COMM_WORLD);
    if (rank0()) {
        size_t n = 0;
        double *it = read_all(path, "/diagnostics/iteration", &n);
        CHECK(it && n == 2 && it[0] == 1 && it[1] == 2, "iterations after resume (n = %zu)", n);
        free(it);
        double *kin = read_all(path, "/diagnostics/kinetic", &n);
        CHECK(kin && n == 2 && kin[1] == 0, "kinetic after resume");
        free(kin);
    }
    python_check(path, 2);

    /* resume with no run.h5: created */
    char dir2[600], path2[700];
    snprintf(dir2, sizeof dir2, "%s/run_fresh/sub", root);
    snprintf(path2, sizeof path2, "%s/run.h5", dir2);
    run = pf_run_open(&A, dir2, 1, 1);
    CHECK(pf_run_log_count(run) == 0, "fresh resume: %ld records", pf_run_log_count(run));
    pf_run_close(run);
    MPI_Barrier(MPI_COMM_WORLD);
    char ck[800];
    snprintf(ck, sizeof ck, "%s/checkpoints", dir2);
    CHECK(exists(path2) && exists(ck), "%s and checkpoints/ created", path2);
    python_check(path2, 0);
    pf_trainer_free(&A);
}

/* ranks with zero rows (n_traj = diag_batch = 1 on 2 ranks) */
static void test_zero_rows(const char *root)
{
    char dir[512], path[600];
    snprintf(dir, sizeof dir, "%s/zero", root);
    snprintf(path, sizeof path, "%s/run.h5", dir);
    pf_config c = small_cfg(dir, 5, 8);
    c.n_traj = 1;
    c.diag_batch = 1;
    pf_trainer A;
    pf_trainer_init(&A, &c);
    train(&A, 1);
    pf_run *run = pf_run_open(&A, dir, 2, 0);
    pf_diag dg;
    memset(&dg, 0, sizeof dg);
    dg.iteration = 1;
    pf_run_log(run, &dg);
    pf_run_trajectories(run, &A);
    pf_run_samples(run, &A);
    pf_run_close(run);
    MPI_Barrier(MPI_COMM_WORLD);
    python_check(path, 1);
    pf_trainer_free(&A);
}

/* ---- checkpoints --------------------------------------------------------------------- */

static int same_params(const pf_params *a, const pf_params *b)
{
    return a->n == b->n && a->t == b->t && !memcmp(a->buf, b->buf, sizeof(pf_real) * 4 * a->n);
}

static void test_roundtrip(const char *root)
{
    char dir[512], path[700], want[700];
    snprintf(dir, sizeof dir, "%s/ck1", root);
    pf_config c = small_cfg(dir, 21, 8);
    pf_trainer A, B;
    pf_trainer_init(&A, &c);
    train(&A, 2);
    pf_checkpoint_write(&A, dir, path, sizeof path);
    snprintf(want, sizeof want, "%s/checkpoints/ckpt_00000002.h5", dir);
    CHECK(!strcmp(path, want), "checkpoint path %s", path);
    CHECK(exists(want), "%s exists", want);
    snprintf(want, sizeof want, "%s/checkpoints/.ckpt_00000002.h5.tmp", dir);
    CHECK(!exists(want), "%s removed", want);

    pf_config c2 = small_cfg(dir, 22, 8); /* other seed: other initial parameters */
    pf_trainer_init(&B, &c2);
    CHECK(!same_params(&A.theta, &B.theta), "fresh trainer should differ");
    char err[1024];
    int rc = pf_checkpoint_load(&B, path, err, sizeof err);
    CHECK(rc == 0, "load: %s", err);
    CHECK(same_params(&A.theta, &B.theta), "potential buffer (4n) and adam_t bit-identical");
    CHECK(same_params(&A.psi, &B.psi), "discriminator buffer (4n) and adam_t bit-identical");
    CHECK(B.theta.t == 2 && B.psi.t == 2 * c.n_disc, "adam t %ld %ld", B.theta.t, B.psi.t);
    CHECK(B.iteration == 2, "iteration %ld", B.iteration);
    pf_trainer_free(&A);
    pf_trainer_free(&B);
}

static int count_ckpts(const char *cdir)
{
    int n = 0;
    for (int it = 0; it < 20; it++) {
        char p[700];
        snprintf(p, sizeof p, "%s/ckpt_%08d.h5", cdir, it);
        n += exists(p);
    }
    return n;
}

static void copy_file(const char *from, const char *to, long truncate_to)
{
    FILE *a = fopen(from, "rb"), *b = fopen(to, "wb");
    CHECK(a && b, "copy %s -> %s", from, to);
    if (a && b) {
        char buf[8192];
        size_t n;
        while ((n = fread(buf, 1, sizeof buf, a)) > 0) fwrite(buf, 1, n, b);
    }
    if (a) fclose(a);
    if (b) fclose(b);
    if (truncate_to >= 0) CHECK(truncate(to, truncate_to) == 0, "truncate %s", to);
}

static void test_keep_latest_refusals(const char *root)
{
    char dir[512], cdir[600], path[700], p[800], err[1024];
    snprintf(dir, sizeof dir, "%s/keep", root);
    snprintf(cdir, sizeof cdir, "%s/checkpoints", dir);
    pf_config c = small_cfg(dir, 31, 8);
    c.keep = 2;
    pf_trainer A;
    pf_trainer_init(&A, &c);
    train(&A, 1);
    for (long it = 3; it <= 6; it++) {
        A.iteration = it;
        pf_checkpoint_write(&A, dir, path, sizeof path);
    }
    CHECK(count_ckpts(cdir) == 2, "keep = 2: %d files", count_ckpts(cdir));
    snprintf(p, sizeof p, "%s/ckpt_00000005.h5", cdir);
    CHECK(exists(p), "%s kept", p);
    char c6[700];
    snprintf(c6, sizeof c6, "%s/ckpt_00000006.h5", cdir);
    CHECK(exists(c6), "%s kept", c6);

    CHECK(pf_checkpoint_latest(dir, path, sizeof path) == 0 && !strcmp(path, c6), "latest %s", path);

    /* newer but unusable files: truncated, garbage, incomplete, temporary */
    char c7[700], c8[700], c9[700], c10[700];
    snprintf(c7, sizeof c7, "%s/ckpt_00000007.h5", cdir);
    snprintf(c8, sizeof c8, "%s/ckpt_00000008.h5", cdir);
    snprintf(c9, sizeof c9, "%s/.ckpt_00000009.h5.tmp", cdir);
    snprintf(c10, sizeof c10, "%s/ckpt_00000010.h5", cdir);
    MPI_Barrier(MPI_COMM_WORLD); /* every rank has counted before rank 0 adds files */
    if (rank0()) {
        struct stat st;
        stat(c6, &st);
        copy_file(c6, c7, (long)st.st_size / 2);
        FILE *g = fopen(c8, "wb");
        srand(7);
        for (int k = 0; k < 5000; k++) fputc(rand() & 255, g);
        fclose(g);
        copy_file(c6, c9, -1);
        copy_file(c6, c10, -1);
        hid_t f = H5Fopen(c10, H5F_ACC_RDWR, H5P_DEFAULT);
        hid_t a = H5Aopen(f, "complete", H5P_DEFAULT);
        long long zero = 0;
        CHECK(H5Awrite(a, H5T_NATIVE_LLONG, &zero) >= 0, "set complete = 0");
        H5Aclose(a);
        H5Fclose(f);
    }
    MPI_Barrier(MPI_COMM_WORLD);
    path[0] = 0;
    CHECK(pf_checkpoint_latest(dir, path, sizeof path) == 0 && !strcmp(path, c6),
          "latest skips unusable newer files: %s", path);

    /* refusals name the file */
    pf_trainer B;
    pf_config cb = small_cfg(dir, 31, 8);
    pf_trainer_init(&B, &cb);
    const char *bad[] = {c7, c8, c10};
    const char *what[] = {"", "", "incomplete"};
    for (int k = 0; k < 3; k++) {
        err[0] = 0;
        int rc = pf_checkpoint_load(&B, bad[k], err, sizeof err);
        CHECK(rc != 0 && strstr(err, bad[k]) && strstr(err, what[k]), "refuse %s: rc %d, '%s'", bad[k], rc,
              err);
        CHECK(B.iteration == 0, "a refused load leaves the trainer alone");
    }
    snprintf(p, sizeof p, "%s/ckpt_99999999.h5", cdir);
    CHECK(pf_checkpoint_load(&B, p, err, sizeof err) != 0 && strstr(err, p), "missing file: '%s'", err);
    pf_trainer_free(&B);

    pf_config cw = small_cfg(dir, 31, 12); /* other widths */
    pf_trainer_init(&B, &cw);
    int rc = pf_checkpoint_load(&B, c6, err, sizeof err);
    CHECK(rc != 0 && strstr(err, "parameters") && strstr(err, c6), "widths: '%s'", err);
    if (rank0()) printf("refusal message: %s\n", err);
    pf_trainer_free(&B);

    pf_config cd = small_cfg(dir, 31, 8); /* other data dimension */
    snprintf(cd.source, sizeof cd.source, "sphere");
    cd.dim = 3;
    cd.manifold_dim = 2;
    pf_trainer_init(&B, &cd);
    rc = pf_checkpoint_load(&B, c6, err, sizeof err);
    CHECK(rc != 0 && strstr(err, "dimension") && strstr(err, c6), "data dim: '%s'", err);
    pf_trainer_free(&B);

    /* a checkpoint written after resuming from an earlier one sets later ones aside */
    A.iteration = 4;
    pf_checkpoint_write(&A, dir, path, sizeof path);
    CHECK(pf_checkpoint_latest(dir, path, sizeof path) == 0 && strstr(path, "ckpt_00000004.h5"),
          "latest after a branch: %s", path);
    snprintf(p, sizeof p, "%s.stale", c6);
    CHECK(exists(p) && !exists(c6), "%s set aside", c6);
    snprintf(p, sizeof p, "%s/ckpt_00000005.h5.stale", cdir);
    CHECK(exists(p), "ckpt 5 set aside too");
    CHECK(count_ckpts(cdir) == 1, "%d files after the branch", count_ckpts(cdir));
    pf_trainer_free(&A);
}

/* Bit-exact resume (SPEC §4): 4 iterations straight = 2 + checkpoint + load into a
 * fresh trainer + 2 more. */
static void test_bitexact_resume(const char *root)
{
    char dir[512], path[700], err[1024];
    snprintf(dir, sizeof dir, "%s/resume", root);
    pf_config c = small_cfg(dir, 41, 8);
    pf_trainer S, R;
    pf_trainer_init(&S, &c);
    train(&S, 4);

    pf_trainer_init(&R, &c);
    train(&R, 2);
    pf_checkpoint_write(&R, dir, path, sizeof path);
    pf_trainer_free(&R);

    pf_trainer_init(&R, &c);
    CHECK(pf_checkpoint_latest(dir, path, sizeof path) == 0, "latest in %s", dir);
    CHECK(pf_checkpoint_load(&R, path, err, sizeof err) == 0, "load: %s", err);
    train(&R, 2);
    CHECK(R.iteration == 4, "iteration %ld", R.iteration);
    CHECK(same_params(&S.theta, &R.theta), "potential p|g|m|v and t bit-identical after resume");
    CHECK(same_params(&S.psi, &R.psi), "discriminator p|g|m|v and t bit-identical after resume");
    pf_trainer_free(&S);
    pf_trainer_free(&R);
}

int main(int argc, char **argv)
{
    pf_test_init(&argc, &argv);
    char root[256] = "";
    if (rank0()) {
        const char *tmp = getenv("TMPDIR");
        snprintf(root, sizeof root, "%s/pf_test_output_XXXXXX", tmp && *tmp ? tmp : "/tmp");
        if (!mkdtemp(root)) {
            perror("mkdtemp");
            MPI_Abort(MPI_COMM_WORLD, 1);
        }
    }
    MPI_Bcast(root, sizeof root, MPI_CHAR, 0, MPI_COMM_WORLD);

    test_run_h5(root);
    test_zero_rows(root);
    test_roundtrip(root);
    test_keep_latest_refusals(root);
    test_bitexact_resume(root);

    int fails = 0;
    MPI_Allreduce(&pf_test_failures, &fails, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
    if (rank0()) {
        if (fails == 0) {
            char cmd[400];
            snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
            if (system(cmd) != 0) fprintf(stderr, "note: could not remove %s\n", root);
        } else {
            fprintf(stderr, "test files kept in %s\n", root);
        }
    }
    return pf_test_finish("test_output");
}
