/* `proxflow chain CONFIG.ini --links K` (SPEC §8): a JKO scheme of K proximal flows.
 * Link k is an ordinary training run in OUT/link_KK whose reference distribution is
 * the pool link k-1 produced (OUT/pools/pool_KK-1.h5; link 1 draws rho_0 itself).
 * After link k trains, chain.pool samples of its input pool are pushed through it
 * once and stored, so link k+1 never re-simulates links 1..k: O(K) training in all.
 *
 * Restart: a link is done when its output pool is complete (written atomically);
 * `--resume` skips done links, resumes the first unfinished one from its latest
 * checkpoint (or, when it stopped after training, pushes its pool), and goes on.
 * Layout and diagnostics: docs/CHAIN.md. */
#include "proxflow/run/chain.h"
#include "proxflow/run/setup.h"
#include "proxflow/run/train_loop.h"
#include "proxflow/flow/diagnostics.h"
#include "proxflow/flow/simulate.h"
#include "core/h5util.h"
#include "proxflow/eval/metrics.h"
#include "proxflow/io/checkpoint.h"
#include "proxflow/io/lock.h"
#include "proxflow/io/pool.h"
#include "proxflow/data/pool_source.h"
#include "proxflow/core/rng.h"

#include <errno.h>
#include <hdf5.h>
#include <math.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef PF_GIT_COMMIT
#define PF_GIT_COMMIT "unknown"
#endif

/* The per-link record (SPEC §8 diagnostics): attributes of the link's output pool,
 * and one dataset each under /links in chain.h5. */
enum {
    R_LINK, R_ITERS, R_DIV_START, R_DIV_END, R_W2, R_KIN, R_HJ, R_HJT, R_LIP, R_SW1,
    R_TRAIN_S, R_PUSH_S, R_N
};
static const char *const rec_names[R_N] = {
    "link", "iterations", "divergence_start", "divergence_end", "w2_step", "kinetic",
    "hj_residual", "hj_terminal", "lipschitz_max", "sliced_w1", "train_seconds", "push_seconds"};

#define PATHLEN (PF_STR + 64)

static void link_dir(const char *out, int k, char *buf) { snprintf(buf, PATHLEN, "%s/link_%02d", out, k); }
static void pool_path(const char *out, int k, char *buf)
{
    snprintf(buf, PATHLEN, "%s/pools/pool_%02d.h5", out, k);
}

/* Iteration of the newest complete checkpoint of a run directory (-1: none). */
static long latest_iteration(const char *dir, char *ckpt)
{
    if (pf_checkpoint_latest(dir, ckpt, PATHLEN)) return -1;
    const char *base = strrchr(ckpt, '/');
    long it = -1;
    if (sscanf(base ? base + 1 : ckpt, "ckpt_%ld.h5", &it) != 1) it = -1;
    return it;
}

/* Rebuild link k's trainer at its final checkpoint. */
static void trainer_at(pf_trainer *tr, const pf_config *ck, const char *ckpt)
{
    char err[1024];
    pf_trainer_init(tr, ck);
    int bad = pf_checkpoint_load(tr, ckpt, err, sizeof err);
    if (pf_nranks() > 1) MPI_Allreduce(MPI_IN_PLACE, &bad, 1, MPI_INT, MPI_MAX, pf_comm());
    if (bad) pf_fail_collective(2, "chain: %s", err[0] ? err : "cannot load checkpoint");
}

/* Sliced W1 between the first rows of the pool (gathered on rank 0) and held-out data
 * (rank 0's): a quality figure for the record, not a training quantity. */
static double pool_sliced_w1(pf_trainer *tr, const pf_chunks *L, const pf_real *X)
{
    const int d = tr->d;
    const long M = L->n, m = M < 2000 ? M : 2000;
    pf_real *all = pf_rank() == 0 ? pf_malloc(sizeof(pf_real) * (size_t)m * d) : NULL;
    pf_gather_rows(X, L->i0, L->i1, d, m, all);
    double sw = 0;
    if (pf_rank() == 0) {
        pf_real *Y = pf_malloc(sizeof(pf_real) * (size_t)m * d);
        pf_data_heldout(tr->data, (int)m, Y);
        sw = pf_sliced_w1(all, (int)m, Y, (int)m, d, 64, tr->cfg.seed);
        free(Y);
    }
    MPI_Bcast(&sw, 1, MPI_DOUBLE, 0, pf_comm());
    free(all);
    return sw;
}

/* After link k trained: its input pool (link 1: rho_0 draws, stored as pool_00) pushed
 * through it and stored as pool k with the link's record. */
static void push_link(const pf_config *ck, const char *out, int k, const char *ckpt, double train_s)
{
    const double t0 = pf_now();
    pf_trainer tr;
    trainer_at(&tr, ck, ckpt);
    const int d = tr.d;
    const long M = ck->pool;
    pf_chunks L; /* the generation layout: bit-identical pools on any rank count */
    pf_gen_layout(&L, (int)M);
    const int a = L.i0, b = L.i1;
    const long n = b - a;
    pf_real *Xin = pf_malloc(sizeof(pf_real) * (size_t)(n > 0 ? n : 1) * d);
    pf_real *X = pf_malloc(sizeof(pf_real) * (size_t)(n > 0 ? n : 1) * d);
    char in[PATHLEN], spec[PATHLEN + 8], outp[PATHLEN];
    pool_path(out, k - 1, in);
    pool_path(out, k, outp);
    if (k == 1) {
        pf_reference_draw(ck, d, 0, PF_RNG_CHAIN_POOL, a, b, Xin);
        if (!pf_pool_complete(in)) pf_pool_write(in, Xin, a, b, M, d, NULL, NULL, 0);
    } else {
        snprintf(spec, sizeof spec, "%s:/pool", in);
        pf_pool_read_rows(spec, a, b, d, Xin);
    }
    memcpy(X, Xin, sizeof(pf_real) * (size_t)n * d);
    pf_push(&tr, &L, L.c0, L.c1, 0, X, NULL);

    double rec[R_N];
    pf_diag dg;
    pf_diagnostics(&tr, &dg);
    double w2, *w2c = pf_calloc((size_t)(L.c1 - L.c0 + 1), sizeof(double));
    for (int c = L.c0; c < L.c1; c++) { /* per chunk, summed in chunk order */
        int ca, cb;
        pf_chunk_rows(&L, c, &ca, &cb);
        for (size_t q = (size_t)(ca - a) * d; q < (size_t)(cb - a) * d; q++)
            w2c[c - L.c0] += ((double)X[q] - Xin[q]) * ((double)X[q] - Xin[q]);
    }
    pf_chunks_sum(&L, w2c, 1, &w2);
    free(w2c);
    rec[R_LINK] = k;
    rec[R_ITERS] = (double)tr.iteration;
    rec[R_DIV_START] = pf_divergence_of(&tr, &L, Xin);
    rec[R_DIV_END] = pf_divergence_of(&tr, &L, X);
    rec[R_W2] = sqrt(w2 / (double)M);
    rec[R_KIN] = dg.kinetic;
    rec[R_HJ] = dg.hj_residual;
    rec[R_HJT] = dg.hj_terminal;
    rec[R_LIP] = dg.lipschitz_max;
    rec[R_SW1] = pool_sliced_w1(&tr, &L, X);
    rec[R_TRAIN_S] = train_s;
    rec[R_PUSH_S] = pf_now() - t0;
    MPI_Bcast(rec, R_N, MPI_DOUBLE, 0, pf_comm()); /* timings: rank 0's, on every rank */
    pf_pool_write(outp, X, a, b, M, d, rec_names, rec, R_N);
    pf_log("chain: link %d: divergence %.4e -> %.4e, W2 step %.4e, KE %.4e, R_HJ %.3e, "
           "sliced W1 %.4e; trained %.1f s, pool of %ld pushed in %.1f s -> %s\n",
           k, rec[R_DIV_START], rec[R_DIV_END], rec[R_W2], rec[R_KIN], rec[R_HJ], rec[R_SW1],
           train_s, M, rec[R_PUSH_S], outp);
    free(Xin);
    free(X);
    pf_trainer_free(&tr);
}

/* chain.h5: the config, and the records of links 1..done as /links/<name> [done];
 * rank 0 writes it serially to a temporary name and renames it. */
static void write_summary(const char *out, int K, int done, const pf_config *cfg)
{
    double *v = pf_malloc(sizeof(double) * (size_t)(done > 0 ? done : 1) * R_N);
    for (int k = 1; k <= done; k++) {
        char p[PATHLEN];
        pool_path(out, k, p);
        for (int r = 0; r < R_N; r++) v[(size_t)r * done + (k - 1)] = pf_pool_attr(p, rec_names[r]);
    }
    if (pf_rank() == 0) {
        char fin[PATHLEN], tmp[PATHLEN + 8];
        snprintf(fin, sizeof fin, "%s/chain.h5", out);
        snprintf(tmp, sizeof tmp, "%s.tmp", fin);
        const char *h5_path = tmp;
        hid_t f = H5Fcreate(tmp, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
        if (f < 0) pf_die("chain: cannot create %s", tmp);
        hid_t g = H5Gcreate2(f, "links", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
        hsize_t dim = (hsize_t)done;
        for (int r = 0; r < R_N; r++) {
            hid_t sp = H5Screate_simple(1, &dim, NULL);
            hid_t ds = H5Dcreate2(g, rec_names[r], H5T_IEEE_F64LE, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
            if (ds < 0 || (done > 0 && H5Dwrite(ds, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT,
                                               v + (size_t)r * done) < 0))
                pf_die("chain: cannot write /links/%s of %s", rec_names[r], h5_path);
            H5Dclose(ds);
            H5Sclose(sp);
        }
        H5Gclose(g);
        char *ini = pf_config_to_ini(cfg);
        const char *sk[] = {"program", "kind", "version", "git_commit", "config"};
        const char *sv[] = {"proxflow", "chain", PF_VERSION, PF_GIT_COMMIT, ini ? ini : ""};
        for (int q = 0; q < 5; q++) pf_h5_attr_str(f, sk[q], sv[q], PF_H5_ATTR_NEW, h5_path);
        free(ini);
        const long long iv[] = {K, done, cfg->pool, pf_nranks()};
        const char *ik[] = {"links", "completed", "pool", "ranks"};
        for (int q = 0; q < 4; q++) pf_h5_attr_i64(f, ik[q], iv[q], PF_H5_ATTR_NEW, h5_path);
        if (H5Fclose(f) < 0 || rename(tmp, fin)) pf_die("chain: cannot write %s: %s", fin, strerror(errno));
    }
    free(v);
    MPI_Barrier(pf_comm());
}

int pf_chain_run(const pf_config *cfg_in, const char *config_path, int resume)
{
    pf_config cfg = *cfg_in;
    if (cfg.links > 99) pf_fail_collective(2, "%s: [chain] links = %d: at most 99", config_path, cfg.links);
    const int K = cfg.links;
    /* every pool view and generation reads rows of the pool: it must be large enough */
    const struct { const char *key; long need; } need[] = {
        {"[train] batch", cfg.batch}, {"[output] diag_batch", cfg.diag_batch},
        {"[output] n_traj", cfg.trajectory_every > 0 ? cfg.n_traj : 0}};
    for (int q = 0; q < 3; q++)
        if (cfg.pool < need[q].need)
            pf_fail_collective(2, "%s: [chain] pool = %d must be >= %s = %ld (each link draws its "
                                  "reference samples from the pool)",
                               config_path, cfg.pool, need[q].key, need[q].need);
    if (cfg.ref_pool[0])
        pf_fail_collective(2, "%s: [data] reference_pool is set by `proxflow chain` itself; leave it "
                              "empty", config_path);

    char summary[PATHLEN];
    snprintf(summary, sizeof summary, "%s/chain.h5", cfg.out_dir);
    struct stat sb;
    if (!resume && stat(summary, &sb) == 0)
        pf_fail_collective(2, "%s already exists: continue the chain with --resume, or choose "
                              "another --out", summary);
    /* one job per chain directory (issue 20, src/io/lock.c); each link's own run
     * directory is locked again by its training */
    pf_lock_dir(cfg.out_dir, "chain");
    int raced = !resume && stat(summary, &sb) == 0;
    if (pf_nranks() > 1) MPI_Bcast(&raced, 1, MPI_INT, 0, pf_comm());
    if (raced)
        pf_fail_collective(2, "%s already exists (another job created it just now): continue the "
                              "chain with --resume, or choose another --out", summary);
    if (pf_rank() == 0) {
        char pools[PATHLEN];
        snprintf(pools, sizeof pools, "%s/pools", cfg.out_dir);
        if (pf_mkdir_p(pools)) pf_die("chain: cannot create %s: %s", pools, strerror(errno));
    }
    MPI_Barrier(pf_comm());
    pf_log("proxflow chain: %s, %d links of %ld iterations, pool %d, lambda %g, T %g -> %s\n",
           config_path, K, cfg.iterations, cfg.pool, cfg.lambda, cfg.T, cfg.out_dir);
    /* decided once for all ranks: rank 0's write_summary creates the file, so a rank
     * looking later would skip the collective in it (a hang, seen under load) */
    int fresh = stat(summary, &sb) != 0;
    MPI_Bcast(&fresh, 1, MPI_INT, 0, pf_comm());
    if (fresh) write_summary(cfg.out_dir, K, 0, &cfg);

    for (int k = 1; k <= K; k++) {
        char dir[PATHLEN], pk[PATHLEN], ckpt[PATHLEN];
        link_dir(cfg.out_dir, k, dir);
        pool_path(cfg.out_dir, k, pk);
        if (pf_pool_complete(pk)) {
            pf_log("chain: link %d of %d: done (%s)\n", k, K, pk);
            continue;
        }
        pf_config ck = cfg;
        snprintf(ck.out_dir, sizeof ck.out_dir, "%.*s", PF_STR - 1, dir);
        ck.seed = cfg.seed + (uint64_t)(k - 1); /* fresh draws and initial weights per link */
        ck.ref_pool[0] = 0;
        if (k > 1) {
            char prev[PATHLEN];
            pool_path(cfg.out_dir, k - 1, prev);
            snprintf(ck.ref_pool, sizeof ck.ref_pool, "%.*s:/pool", PF_STR - 8, prev);
        }
        char label[PF_STR + 32];
        snprintf(label, sizeof label, "%s [link %d/%d]", config_path, k, K);
        double train_s = 0;
        if (latest_iteration(dir, ckpt) < cfg.iterations) {
            pf_train_opts o;
            memset(&o, 0, sizeof o);
            o.label = label;
            char run[PATHLEN + 8], init[PATHLEN];
            snprintf(run, sizeof run, "%s/run.h5", dir);
            if (latest_iteration(dir, ckpt) >= 0) {
                o.resume = "latest";
            } else {
                /* stopped before its first checkpoint (or never started): start over */
                if (pf_rank() == 0 && unlink(run) && errno != ENOENT)
                    pf_die("chain: cannot remove %s: %s", run, strerror(errno));
                MPI_Barrier(pf_comm());
                if (k > 1 && cfg.warm_start) {
                    char pdir[PATHLEN];
                    link_dir(cfg.out_dir, k - 1, pdir);
                    if (latest_iteration(pdir, init) >= 0) o.init_from = init;
                }
            }
            pf_log("chain: link %d of %d%s\n", k, K, o.resume ? " (resumed)" : "");
            const int status = pf_train_run_opts(&ck, &o);
            if (status || !o.finished) pf_unlock_dir(cfg.out_dir);
            if (status) return status;
            if (!o.finished) {
                pf_log("chain: stopped in link %d; continue with `proxflow chain %s --resume`\n", k,
                       config_path);
                return 0;
            }
            train_s = o.train_seconds;
            if (latest_iteration(dir, ckpt) < cfg.iterations)
                pf_die("chain: link %d finished but %s/checkpoints has no final checkpoint", k, dir);
        }
        push_link(&ck, cfg.out_dir, k, ckpt, train_s);
        write_summary(cfg.out_dir, K, k, &cfg);
    }
    pf_log("chain: %d links done -> %s\n", K, summary);
    pf_unlock_dir(cfg.out_dir);
    return 0;
}

/* ---- `proxflow sample --chain DIR` ------------------------------------------------ */

int pf_chain_sample_run(const char *dir, const char *out, long long N, long long seed,
                        long long from)
{
    /* the links that are done: consecutive complete output pools */
    int K = 0;
    for (;;) {
        char p[PATHLEN];
        pool_path(dir, K + 1, p);
        if (K >= 99 || !pf_pool_complete(p)) break;
        K++;
    }
    if (K == 0) pf_fail_collective(2, "sample: %s has no finished link (no complete %s/pools/pool_01.h5)", dir, dir);
    if (from > K) pf_fail_collective(2, "sample: --from-link %lld, but %s has %d finished link(s)", from, dir, K);

    pf_chunks L;
    pf_gen_layout(&L, (int)N);
    const int a = L.i0, b = L.i1;
    const long n = b - a;
    pf_real *X = NULL, *X0 = NULL;
    int d = 0;
    for (int k = (int)from; k <= K; k++) {
        char ldir[PATHLEN], ckpt[PATHLEN];
        link_dir(dir, k, ldir);
        if (latest_iteration(ldir, ckpt) < 0) pf_fail_collective(2, "sample: %s has no checkpoint", ldir);
        pf_trainer tr;
        pf_setup_trainer_from_checkpoint(&tr, "sample", ckpt, 0, NULL);
        if (!X) {
            d = tr.d;
            X = pf_malloc(sizeof(pf_real) * (size_t)(n > 0 ? n : 1) * d);
            X0 = pf_malloc(sizeof(pf_real) * (size_t)(n > 0 ? n : 1) * d);
            if (k == 1) {
                pf_reference_draw(&tr.cfg, d, (uint64_t)seed, PF_RNG_SAMPLE, a, b, X);
            } else {
                char spec[PATHLEN + 8];
                pool_path(dir, k - 1, spec);
                strcat(spec, ":/pool");
                pf_pool_read_rows(spec, a, b, d, X);
            }
            memcpy(X0, X, sizeof(pf_real) * (size_t)n * d);
        }
        pf_push(&tr, &L, L.c0, L.c1, 0, X, NULL);
        pf_trainer_free(&tr);
    }
    const char *names[2] = {"samples", "reference"};
    const pf_real *bufs[2] = {X, X0};
    const char *an[] = {"links", "from_link", "n", "sample_stream"};
    const double av[] = {K, (double)from, (double)N, (double)seed};
    pf_rows_write(out, 2, names, bufs, a, b, N, d, an, av, 4);
    pf_log("wrote %s: /samples (through links %lld..%d), /reference [%lld, %d]\n", out, from, K, N, d);
    free(X);
    free(X0);
    return 0;
}
