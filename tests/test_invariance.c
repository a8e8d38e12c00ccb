/* SPEC §3 invariance, in one 4-rank job: a config trained for ITERS iterations on 1 rank
 * (1 and 2 threads), on 2, 3 and 4 ranks (splits of the job) must end with bit-identical
 * states: every entry of both networks' buffers (parameters, gradients, Adam moments),
 * the Adam step counts and the diagnostics record.  Also: a run checkpointed half-way on
 * 2 ranks and resumed on 3 ranks (and on 1 rank x 2 threads) ends equal to the
 * uninterrupted 1-rank run.  Cases cover every activation (ReLU discriminators
 * included), every mode, every f, the reference code's kinetic term and a CNN, with the
 * batch (30) not divisible by the rank counts, in the build's precision (the unit tests
 * also run in a float build).
 *
 * argv: [ITERS] [CASE-INDEX] for exploration. */
#include "proxflow/flow/diagnostics.h"
#include "proxflow/flow/steps.h"
#include "proxflow/flow/trainer.h"
#include "proxflow/io/checkpoint.h"
#include "testutil.h"

#include <hdf5.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int ITERS = 16;
static char g_dir[256]; /* scratch directory (checkpoints, the image file) */

/* The end state of a run: both buffers (4 n each: p | g | m | v), step counts, the
 * diagnostics record (its timing fields are the loop's, not pf_diagnostics'). */
typedef struct {
    size_t n;
    unsigned char *bytes;
} state;

static state take_state(pf_trainer *tr)
{
    pf_diag dg;
    memset(&dg, 0, sizeof dg);
    pf_diagnostics(tr, &dg);
    state s;
    const size_t nt = 4 * tr->theta.n * sizeof(pf_real), np = 4 * tr->psi.n * sizeof(pf_real);
    s.n = nt + np + 2 * sizeof(long) + sizeof dg;
    s.bytes = malloc(s.n);
    unsigned char *p = s.bytes;
    memcpy(p, tr->theta.buf, nt), p += nt;
    memcpy(p, tr->psi.buf, np), p += np;
    memcpy(p, &tr->theta.t, sizeof(long)), p += sizeof(long);
    memcpy(p, &tr->psi.t, sizeof(long)), p += sizeof(long);
    memcpy(p, &dg, sizeof dg);
    return s;
}

/* The first differing byte's offset (or -1). */
static long first_diff(const state *a, const state *b)
{
    if (a->n != b->n) return 0;
    for (size_t k = 0; k < a->n; k++)
        if (a->bytes[k] != b->bytes[k]) return (long)k;
    return -1;
}

/* Train c on comm with `threads` threads from iteration 0 (or from the checkpoint
 * resume), to `until` iterations; ckpt_at > 0: write a checkpoint there into dir.
 * Returns the end state on the communicator's rank 0 (s.n = 0 elsewhere). */
static state train_on(MPI_Comm comm, int threads, const pf_config *c, const char *resume,
                      long ckpt_at, const char *dir, long until)
{
    pf_set_comm(comm);
    omp_set_num_threads(threads);
    pf_trainer tr;
    pf_trainer_init(&tr, c);
    int most = tr.ch.c1 - tr.ch.c0;
    if (tr.chd.c1 - tr.chd.c0 > most) most = tr.chd.c1 - tr.chd.c0;
    CHECK(tr.n_lanes == (threads < most ? threads : most), "%d threads, %d local chunks: %d lanes",
          threads, most, tr.n_lanes);
    if (resume) {
        char err[512] = "";
        CHECK(pf_checkpoint_load(&tr, resume, err, sizeof err) == 0, "resume: %s", err);
    }
    while (tr.iteration < until) {
        pf_status s = pf_train_iteration(&tr);
        CHECK(!s.bad, "%s", s.msg);
        if (s.bad) break;
        if (ckpt_at > 0 && tr.iteration == ckpt_at) {
            char path[512];
            pf_checkpoint_write(&tr, dir, path, sizeof path);
        }
    }
    state s = take_state(&tr);
    if (pf_rank() != 0) {
        free(s.bytes);
        s.bytes = NULL;
        s.n = 0;
    }
    pf_trainer_free(&tr);
    pf_set_comm(MPI_COMM_WORLD);
    omp_set_num_threads(1);
    return s;
}

/* A sub-communicator of the first k ranks of the job (MPI_COMM_NULL elsewhere). */
static MPI_Comm first_ranks(int k)
{
    int wrank;
    MPI_Comm_rank(MPI_COMM_WORLD, &wrank);
    MPI_Comm sub;
    MPI_Comm_split(MPI_COMM_WORLD, wrank < k ? 0 : MPI_UNDEFINED, wrank, &sub);
    return sub;
}

/* Run on the first k ranks with t threads; the state on world rank 0. */
static state run_k(int k, int t, const pf_config *c, const char *resume, long ckpt_at,
                   const char *dir, long until)
{
    state s = {0, NULL};
    MPI_Comm sub = first_ranks(k);
    if (sub != MPI_COMM_NULL) {
        s = train_on(sub, t, c, resume, ckpt_at, dir, until);
        MPI_Comm_free(&sub);
    }
    MPI_Barrier(MPI_COMM_WORLD);
    return s;
}

static int g_cases = 0;

static void run_case(const char *name, const char *const *sets)
{
    g_cases++;
    char src[300];
    const char *base[] = {"data.source=sphere", "data.dim=4", "data.manifold_dim=2",
                          "flow.steps=3", "flow.lambda=0.5", "train.batch=30",
                          "output.diag_batch=22", "train.n_disc=2", "train.seed=123",
                          "potential.lr=1e-3", "discriminator.lr=1e-3",
                          "potential.widths=16,16", "discriminator.widths=16,16", NULL};
    pf_config c;
    pf_test_config(&c, base);
    char err[512];
    for (int k = 0; sets[k]; k++) {
        const char *v = sets[k];
        if (!strncmp(v, "data.source=@images", 19)) { /* the test's own image file */
            snprintf(src, sizeof src, "data.source=%s/images.h5:/x", g_dir);
            v = src;
        }
        if (pf_config_set(&c, v, err, sizeof err)) CHECK(0, "%s: %s", name, err);
    }
    CHECK(!pf_config_validate(&c, err, sizeof err), "%s: %s", name, err);
    int wrank, wsize;
    MPI_Comm_rank(MPI_COMM_WORLD, &wrank);
    MPI_Comm_size(MPI_COMM_WORLD, &wsize);
    char dir[320];
    snprintf(dir, sizeof dir, "%s/case%02d", g_dir, g_cases);

    state r1 = run_k(1, 1, &c, NULL, ITERS / 2, dir, ITERS);  /* also writes the checkpoint */
    state r1b = run_k(1, 1, &c, NULL, 0, NULL, ITERS);
    state r1t = run_k(1, 2, &c, NULL, 0, NULL, ITERS);
    state rk[5] = {{0, NULL}};
    for (int k = 2; k <= wsize && k <= 4; k++) rk[k] = run_k(k, 1, &c, NULL, 0, NULL, ITERS);
    /* resume the half-way checkpoint on other rank and thread counts */
    char ck[400];
    snprintf(ck, sizeof ck, "%s/checkpoints/ckpt_%08d.h5", dir, ITERS / 2);
    state res3 = run_k(wsize >= 3 ? 3 : wsize, 1, &c, ck, 0, NULL, ITERS);
    state res1t = run_k(1, 2, &c, ck, 0, NULL, ITERS);
    if (wrank == 0) {
        long e;
        CHECK((e = first_diff(&r1, &r1b)) < 0, "%s: two 1-rank runs differ at byte %ld", name, e);
        CHECK((e = first_diff(&r1, &r1t)) < 0, "%s: 1 vs 2 threads differ at byte %ld", name, e);
        for (int k = 2; k <= wsize && k <= 4; k++)
            CHECK((e = first_diff(&r1, &rk[k])) < 0, "%s: 1 vs %d ranks differ at byte %ld", name, k, e);
        CHECK((e = first_diff(&r1, &res3)) < 0, "%s: resumed on %d ranks differs at byte %ld", name,
              wsize >= 3 ? 3 : wsize, e);
        CHECK((e = first_diff(&r1, &res1t)) < 0, "%s: resumed on 1 rank x 2 threads differs at byte %ld",
              name, e);
        /* the run trained: the potential's parameters moved from their start */
        pf_set_comm(MPI_COMM_SELF);
        pf_trainer t0;
        pf_trainer_init(&t0, &c);
        double moved = 0;
        const pf_real *p = (const pf_real *)r1.bytes;
        for (size_t k = 0; k < t0.theta.n; k++) moved = fmax(moved, fabs((double)p[k] - t0.theta.p[k]));
        CHECK(moved > 1e-4, "%s: parameters did not move (%.2e)", name, moved);
        printf("  %-26s %zu bytes of state: equal on 1 rank x 1/2 threads, %d..%d ranks, resumed on "
               "%d ranks and on 1 rank x 2 threads\n", name, r1.n, 2, wsize < 4 ? wsize : 4,
               wsize >= 3 ? 3 : wsize);
        pf_trainer_free(&t0);
        pf_set_comm(MPI_COMM_WORLD);
    }
    state *all[] = {&r1, &r1b, &r1t, &rk[2], &rk[3], &rk[4], &res3, &res1t};
    for (size_t k = 0; k < sizeof all / sizeof all[0]; k++) free(all[k]->bytes);
}

/* 64 images 8 x 8 (values in [0, 1]) for the CNN case: an HDF5 dataset [M, H, W]. */
static void write_images(void)
{
    int wrank;
    MPI_Comm_rank(MPI_COMM_WORLD, &wrank);
    if (wrank == 0) {
        char path[320];
        snprintf(path, sizeof path, "%s/images.h5", g_dir);
        enum { M = 64, HW = 8 };
        static double x[M * HW * HW];
        uint64_t s = 77;
        for (int k = 0; k < M * HW * HW; k++) {
            s = s * 6364136223846793005ULL + 1442695040888963407ULL;
            x[k] = (double)(s >> 11) / 9007199254740992.0;
        }
        hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
        hsize_t dims[3] = {M, HW, HW};
        hid_t sp = H5Screate_simple(3, dims, NULL);
        hid_t ds = H5Dcreate2(f, "x", H5T_IEEE_F64LE, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
        H5Dwrite(ds, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, x);
        H5Dclose(ds);
        H5Sclose(sp);
        H5Fclose(f);
    }
    MPI_Barrier(MPI_COMM_WORLD);
}

int main(int argc, char **argv)
{
    pf_test_init(&argc, &argv);
    pf_omp_min = 0; /* every element-wise loop takes its threaded path, even at batch 30 */
    if (argc > 1) ITERS = atoi(argv[1]);
    const int only = argc > 2 ? atoi(argv[2]) : -1;
    int wrank;
    MPI_Comm_rank(MPI_COMM_WORLD, &wrank);
    if (wrank == 0) {
        const char *t = getenv("TMPDIR");
        snprintf(g_dir, sizeof g_dir, "%s/pf_invariance_XXXXXX", t && *t ? t : "/tmp");
        if (!mkdtemp(g_dir)) g_dir[0] = 0;
    }
    MPI_Bcast(g_dir, sizeof g_dir, MPI_CHAR, 0, MPI_COMM_WORLD);
    CHECK(g_dir[0], "cannot create a temporary directory");
    write_images();

    static const char *const c_relu[] = {"flow.mode=w1w2", "flow.f=kl", "potential.activation=relu",
                                         "discriminator.activation=relu", NULL};
    static const char *const c_tanh[] = {"flow.mode=w1", "flow.f=kl_legendre",
                                         "potential.activation=tanh", "discriminator.activation=tanh",
                                         "data.source=8gaussians", NULL};
    static const char *const c_softplus[] = {"flow.mode=w2", "flow.f=reverse_kl",
                                             "potential.activation=softplus",
                                             "discriminator.activation=softplus", NULL};
    static const char *const c_silu[] = {"flow.mode=none", "flow.f=alpha", "flow.alpha=1.5",
                                         "potential.activation=silu", "discriminator.activation=silu",
                                         NULL};
    static const char *const c_kinref[] = {"flow.kinetic_reference=true", "train.chunks=5",
                                           "discriminator.activation=relu", NULL};
    static const char *const c_cnn[] = {"data.source=@images", "potential.arch=cnn",
                                        "discriminator.arch=cnn", "potential.channels=2",
                                        "discriminator.channels=2", "potential.kernel=3",
                                        "discriminator.kernel=3", "potential.widths=8",
                                        "discriminator.widths=8", "discriminator.activation=relu",
                                        "data.reference=uniform", "data.reference_high=0.5", NULL};
    struct { const char *name; const char *const *sets; } cases[] = {
        {"relu/relu w1w2 kl (DV)", c_relu},       {"tanh/tanh w1 kl_legendre", c_tanh},
        {"softplus w2 reverse_kl", c_softplus},   {"silu none alpha", c_silu},
        {"kinetic_reference, 5 chunks", c_kinref}, {"CNN 8x8 images", c_cnn}};
    for (int k = 0; k < (int)(sizeof cases / sizeof cases[0]); k++)
        if (only < 0 || only == k) run_case(cases[k].name, cases[k].sets);
    MPI_Barrier(MPI_COMM_WORLD);
    if (wrank == 0 && g_dir[0]) {
        char cmd[400];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_dir);
        if (system(cmd)) fprintf(stderr, "note: could not remove %s\n", g_dir);
    }
    return pf_test_finish("test_invariance");
}
