/* `proxflow sample` (SPEC §5): push fresh reference samples through a checkpoint's
 * flow and write them with parallel HDF5 (SPEC §4 conventions: MPI-IO on pf_comm(),
 * every rank its own rows in collective transfers, ranks with no rows select none).
 *
 * Sample i is reference draw i of (PF_RNG_SAMPLE, iteration = --seed) under the run's
 * [train] seed, so the output does not depend on the rank or thread count, and
 * --seed 0 with n = diag_batch reproduces run.h5's /samples.  Layout: docs/COMMANDS.md. */
#include "proxflow/cli/cli.h"
#include "proxflow/io/paths.h"
#include "proxflow/run/chain.h"
#include "proxflow/run/setup.h"
#include "core/h5util.h"

#include "proxflow/core/rng.h"

#include <errno.h>
#include <hdf5.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifndef PF_GIT_COMMIT
#define PF_GIT_COMMIT "unknown"
#endif

static const char *const USAGE =
    "proxflow sample --checkpoint CKPT --n N [--steps Nt] [--seed S] [--trajectories] --out FILE.h5";
static const char *const SAMPLE_USAGE =
    "proxflow sample --chain DIR --n N [--from-link K] [--seed S] --out FILE.h5";
/* `proxflow sample --help`: every option the two parsers below accept, one line each. */
static const char *const HELP =
    "usage: proxflow sample --checkpoint CKPT --n N [--steps Nt] [--seed S] [--trajectories] --out FILE.h5\n"
    "       proxflow sample --chain DIR --n N [--from-link K] [--seed S] --out FILE.h5\n"
    "\n"
    "Pushes N fresh reference samples through the flow of a checkpoint, or through the\n"
    "links of a chain, and writes them to FILE.h5 with parallel HDF5 (docs/COMMANDS.md,\n"
    "docs/CHAIN.md).  The samples do not depend on the number of ranks or threads.\n"
    "\n"
    "options:\n"
    "  --checkpoint CKPT   the checkpoint whose flow is sampled (first form; required): a file,\n"
    "                      a run directory (its newest complete checkpoint) or RUN:latest\n"
    "  --chain DIR         a chain's directory (proxflow chain --out DIR): through its links\n"
    "  --n N               the number of samples (required)\n"
    "  --out FILE.h5       the output file (required; written to FILE.h5.tmp, then renamed)\n"
    "  --steps Nt          Euler steps (default: the checkpoint's [flow] steps; --checkpoint only)\n"
    "  --seed S            the sample stream, >= 0 (default 0)\n"
    "  --trajectories      also write /trajectories [Nt+1, N, d] (--checkpoint only)\n"
    "  --from-link K       start from pool K-1 and go through links K.. (default 1; --chain only)\n"
    "  -h, --help          print this help and exit\n"
    "\n"
    "examples:\n"
    "  mpirun -n 4 proxflow sample --checkpoint runs/qs/checkpoints/ckpt_00000800.h5 --n 10000 --out qs.h5\n"
    "  mpirun -n 4 proxflow sample --chain runs/c4 --n 10000 --out c4.h5\n";

/* Every option, for pf_cli_check_once (a repeat is refused). */
static const char *const SAMPLE_OPTIONS =
    "--checkpoint= --chain= --out= --n= --steps= --seed= --from-link= --trajectories";

/* Reals generated per round and rank (bounds memory for any N; SPEC §3 scale). */
#define PF_SAMPLE_ROUND_REALS (1u << 24)

/* `sample --chain DIR ...` (SPEC §8): through the links of a chain. */
static int sample_chain(int argc, char **argv)
{
    const char *dir = NULL, *out = NULL, *v;
    long long N = 0, seed = 0, from = 1;
    for (int k = 0; k < argc; k++) {
        if ((v = pf_cli_option(argc, argv, &k, "--chain", "sample", SAMPLE_USAGE))) dir = v;
        else if ((v = pf_cli_option(argc, argv, &k, "--out", "sample", SAMPLE_USAGE))) out = v;
        else if ((v = pf_cli_option(argc, argv, &k, "--n", "sample", SAMPLE_USAGE)))
            N = pf_cli_parse_int(v, "--n", 1, 0x7fffffffLL, "sample", SAMPLE_USAGE);
        else if ((v = pf_cli_option(argc, argv, &k, "--seed", "sample", SAMPLE_USAGE)))
            seed = pf_cli_parse_int(v, "--seed", 0, (1LL << 62), "sample", SAMPLE_USAGE);
        else if ((v = pf_cli_option(argc, argv, &k, "--from-link", "sample", SAMPLE_USAGE)))
            from = pf_cli_parse_int(v, "--from-link", 1, 99, "sample", SAMPLE_USAGE);
        else pf_cli_usage_error("sample", SAMPLE_USAGE, "unexpected argument %s", argv[k]);
    }
    if (!dir || !N || !out) pf_cli_usage_error("sample", SAMPLE_USAGE, "--chain, --n and --out are required");
    pf_output_guard("sample", "--out", out, NULL, NULL, 0); /* not a file of the chain (issue 20) */
    return pf_chain_sample_run(dir, out, N, seed, from);
}

/* Rows [a, a + n) along axis of a float32 dataset from count pf_real values. */
static void write_f32(hid_t ds, hid_t dxpl, int rank, const hsize_t *dims, int axis, int a, int n,
                      const pf_real *buf, size_t count, const char *path)
{
    float *f = pf_to_f32(buf, count);
    pf_h5_write_rows(ds, dxpl, H5T_NATIVE_FLOAT, rank, dims, axis, (hsize_t)a, (hsize_t)n, f, NULL,
                     path);
    free(f);
}

int pf_cmd_sample(int argc, char **argv)
{
    const char *ckpt = NULL, *out = NULL, *v;
    long long N = 0, nt_opt = 0, seed = 0;
    int want_traj = 0;
    if (pf_cli_help(argc, argv, HELP)) return 0;
    pf_cli_check_once(argc, argv, "sample", SAMPLE_OPTIONS); /* issue 20 */
    for (int k = 0; k < argc; k++)
        if (!strcmp(argv[k], "--chain") || !strncmp(argv[k], "--chain=", 8))
            return sample_chain(argc, argv); /* through the links of a chain (SPEC §8) */
    for (int k = 0; k < argc; k++) {
        if ((v = pf_cli_option(argc, argv, &k, "--checkpoint", "sample", USAGE))) ckpt = v;
        else if ((v = pf_cli_option(argc, argv, &k, "--out", "sample", USAGE))) out = v;
        else if ((v = pf_cli_option(argc, argv, &k, "--n", "sample", USAGE)))
            N = pf_cli_parse_int(v, "--n", 1, 1LL << 40, "sample", USAGE);
        else if ((v = pf_cli_option(argc, argv, &k, "--steps", "sample", USAGE)))
            nt_opt = pf_cli_parse_int(v, "--steps", 1, 1 << 20, "sample", USAGE);
        else if ((v = pf_cli_option(argc, argv, &k, "--seed", "sample", USAGE)))
            seed = pf_cli_parse_int(v, "--seed", 0, (1LL << 62), "sample", USAGE);
        else if (!strcmp(argv[k], "--trajectories")) want_traj = 1;
        else if (argv[k][0] == '-') pf_cli_usage_error("sample", USAGE, "unknown option %s", argv[k]);
        else pf_cli_usage_error("sample", USAGE, "unexpected argument %s", argv[k]);
    }
    if (!ckpt) pf_cli_usage_error("sample", USAGE, "--checkpoint is required");
    char ck_path[PF_STR + 64]; /* a run directory or RUN:latest: its newest checkpoint */
    ckpt = pf_cli_checkpoint(ckpt, "--checkpoint", "sample", ck_path, sizeof ck_path);
    if (!N) pf_cli_usage_error("sample", USAGE, "--n is required");
    if (!out) pf_cli_usage_error("sample", USAGE, "--out is required");
    if (N > 0x7fffffffLL) pf_cli_usage_error("sample", USAGE, "--n %lld exceeds 2^31-1", N);
    pf_output_guard("sample", "--out", out, &ckpt, (const char *[]){"--checkpoint"}, 1); /* issue 20 */

    pf_trainer tr;
    const int threads = pf_setup_trainer_from_checkpoint(&tr, "sample", ckpt, 0, NULL);
    const int d = tr.d, nt = nt_opt > 0 ? (int)nt_opt : tr.cfg.steps;
    const int P = pf_nranks(), r = pf_rank();
    pf_chunks L; /* the generation layout: the same samples' bits on any rank count */
    pf_gen_layout(&L, (int)N);
    pf_log("proxflow sample: %s (iteration %ld): %lld samples, d = %d, %d steps (h = %g), "
           "stream %lld, on %d rank%s x %d thread%s -> %s\n",
           ckpt, tr.iteration, N, d, nt, tr.cfg.T / nt, seed, P, P > 1 ? "s" : "", threads,
           threads > 1 ? "s" : "", out);

    /* Written to OUT.tmp and renamed when complete: OUT is never half-written. */
    char path[PF_STR + 64];
    if (snprintf(path, sizeof path, "%s.tmp", out) >= (int)sizeof path)
        pf_cli_usage_error("sample", USAGE, "--out path too long");
    const char *h5_path = path; /* PF_H5CHECK names the file */
    pf_h5_quiet quiet;
    pf_h5_quiet_begin(&quiet);
    hid_t fapl = pf_h5_fapl_mpio(h5_path);
    hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
    PF_H5CHECK(H5Pclose(fapl));
    int bad = f < 0;
    if (P > 1) MPI_Allreduce(MPI_IN_PLACE, &bad, 1, MPI_INT, MPI_MAX, pf_comm());
    if (bad) pf_fail_collective(2, "sample: cannot create %s (does the directory exist and is it writable?)", path);
    hid_t dxpl = pf_h5_dxpl_collective(h5_path);

    const hsize_t d2[2] = {(hsize_t)N, (hsize_t)d};
    const hsize_t d3[3] = {(hsize_t)nt + 1, (hsize_t)N, (hsize_t)d};
    hid_t ds_s = pf_h5_f32_dataset(f, "samples", 2, d2, path);
    hid_t ds_r = pf_h5_f32_dataset(f, "reference", 2, d2, path);
    hid_t ds_t = want_traj ? pf_h5_f32_dataset(f, "trajectories", 3, d3, path) : -1;

    /* Rounds of at most `per` chunks of the layout per rank; the round count is the same
     * on every rank (collective writes), a rank past its chunks writes nothing. */
    const size_t per_row = (size_t)d * (want_traj ? (size_t)nt + 3 : 2);
    int per = (int)(PF_SAMPLE_ROUND_REALS / per_row / PF_GEN_ROWS);
    if (per < 1) per = 1;
    const int most = (L.K + P - 1) / P;
    const int rounds = (most + per - 1) / per;
    const size_t cap = (size_t)per * PF_GEN_ROWS;
    pf_real *X = pf_malloc(sizeof(pf_real) * cap * d);
    pf_real *R = pf_malloc(sizeof(pf_real) * cap * d);
    pf_real *traj = want_traj ? pf_malloc(sizeof(pf_real) * cap * d * (nt + 1)) : NULL;
    for (int q = 0; q < rounds; q++) {
        int cb = L.c0 + q * per, ce = cb + per;
        if (cb > L.c1) cb = L.c1;
        if (ce > L.c1) ce = L.c1;
        int a = L.i1, b = L.i1, t;
        if (ce > cb) {
            pf_chunk_rows(&L, cb, &a, &t);
            pf_chunk_rows(&L, ce - 1, &t, &b);
        }
        const int n = b - a;
        if (n > 0) {
            pf_generate(&tr, (uint64_t)seed, PF_RNG_SAMPLE, &L, cb, ce, nt, X, traj);
            pf_trainer_reference(&tr, (uint64_t)seed, PF_RNG_SAMPLE, a, b, R);
        }
        write_f32(ds_s, dxpl, 2, d2, 0, a, n, X, (size_t)n * d, path);
        write_f32(ds_r, dxpl, 2, d2, 0, a, n, R, (size_t)n * d, path);
        if (want_traj) write_f32(ds_t, dxpl, 3, d3, 1, a, n, traj, (size_t)n * d * (nt + 1), path);
    }
    free(X);
    free(R);
    free(traj);

    /* attributes: identical on every rank (parallel HDF5 metadata rule) */
    char now[32] = "";
    if (r == 0) {
        time_t t = time(NULL);
        struct tm tm;
        gmtime_r(&t, &tm);
        strftime(now, sizeof now, "%Y-%m-%dT%H:%M:%SZ", &tm);
    }
    MPI_Bcast(now, sizeof now, MPI_CHAR, 0, pf_comm());
    char *ini = pf_config_to_ini(&tr.cfg);
    if (!ini) pf_die("out of memory formatting the configuration");
    pf_h5_attr_str(f, "program", "proxflow", PF_H5_ATTR_NEW, path);
    pf_h5_attr_str(f, "kind", "samples", PF_H5_ATTR_NEW, path);
    pf_h5_attr_str(f, "version", PF_VERSION, PF_H5_ATTR_NEW, path);
    pf_h5_attr_str(f, "git_commit", PF_GIT_COMMIT, PF_H5_ATTR_NEW, path);
    pf_h5_attr_str(f, "created", now, PF_H5_ATTR_NEW, path);
    pf_h5_attr_str(f, "checkpoint", ckpt, PF_H5_ATTR_NEW, path);
    pf_h5_attr_i64(f, "iteration", tr.iteration, PF_H5_ATTR_NEW, path);
    pf_h5_attr_i64(f, "n", N, PF_H5_ATTR_NEW, path);
    pf_h5_attr_i64(f, "data_dim", d, PF_H5_ATTR_NEW, path);
    pf_h5_attr_i64(f, "steps", nt, PF_H5_ATTR_NEW, path);
    pf_h5_attr_f64(f, "T", tr.cfg.T, PF_H5_ATTR_NEW, path);
    pf_h5_attr_f64(f, "h", tr.cfg.T / nt, PF_H5_ATTR_NEW, path);
    pf_h5_attr_f64(f, "lambda", tr.cfg.lambda, PF_H5_ATTR_NEW, path);
    pf_h5_attr_str(f, "mode", pf_mode_name(tr.cfg.mode), PF_H5_ATTR_NEW, path);
    pf_h5_attr_u64(f, "seed", (unsigned long long)tr.cfg.seed, PF_H5_ATTR_NEW, path);
    pf_h5_attr_i64(f, "sample_stream", seed, PF_H5_ATTR_NEW, path);
    pf_h5_attr_i64(f, "ranks", P, PF_H5_ATTR_NEW, path);
    pf_h5_attr_i64(f, "threads", threads, PF_H5_ATTR_NEW, path);
    pf_h5_attr_str(f, "precision", PF_REAL_NAME, PF_H5_ATTR_NEW, path);
    pf_h5_attr_str(f, "config", ini, PF_H5_ATTR_NEW, path);
    free(ini);
    pf_h5_attr_str(ds_s, "meaning", "x^Nt: the reference samples pushed through the flow",
                   PF_H5_ATTR_NEW, path);
    pf_h5_attr_str(ds_r, "meaning", "x^0: reference draws (PF_RNG_SAMPLE, iteration = sample_stream)",
                   PF_H5_ATTR_NEW, path);
    PF_H5CHECK(H5Dclose(ds_s));
    PF_H5CHECK(H5Dclose(ds_r));
    if (want_traj) {
        pf_h5_attr_str(ds_t, "meaning", "[k, i, :] = x^k of sample i", PF_H5_ATTR_NEW, path);
        PF_H5CHECK(H5Dclose(ds_t));
    }
    PF_H5CHECK(H5Pclose(dxpl));
    PF_H5CHECK(H5Fclose(f));
    pf_h5_quiet_end(&quiet);
    MPI_Barrier(pf_comm());
    bad = 0;
    char msg[PF_STR + 200] = "";
    if (r == 0 && rename(path, out)) {
        snprintf(msg, sizeof msg, "sample: cannot rename %s to %s: %s", path, out, strerror(errno));
        bad = 1;
    }
    MPI_Bcast(&bad, 1, MPI_INT, 0, pf_comm());
    if (bad) pf_fail_collective(2, "%s", msg);
    pf_log("wrote %s: /samples, /reference [%lld, %d]%s\n", out, N, d,
           want_traj ? ", /trajectories" : "");
    pf_trainer_free(&tr);
    return 0;
}
