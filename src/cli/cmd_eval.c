/* `proxflow eval` (SPEC §5, metrics of SPEC §6.3): generate N samples from a
 * checkpoint's flow (sharded over the ranks, gathered on rank 0) and compare them
 * with N held-out data samples; the reference samples they started from are the
 * baseline.  One `name value` line per metric on rank 0; --json FILE as well.
 * --plane compares the sets in the coordinates Q^T x of the embedding of the
 * checkpoint's source (a 2-D set embedded in R^d: its plane; how the paper code's
 * notebook scores its low-dimensional table, issue 19); --floor adds the same metrics
 * between the held-out points and further data draws (the sampling floor);
 * --points FILE.h5 writes the compared points. */
#include "proxflow/cli/cli.h"
#include "proxflow/io/paths.h"
#include "proxflow/run/setup.h"
#include "proxflow/eval/metrics.h"
#include "proxflow/eval/sinkhorn.h"
#include "proxflow/core/rng.h"
#include "core/h5util.h"

#include <errno.h>
#include <hdf5.h>
#include <limits.h>
#include <math.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *const USAGE =
    "proxflow eval --checkpoint CKPT [--n N] [--data SPEC] [--steps Nt] [--seed S] [--json FILE] "
    "[--sinkhorn-blur B] [--sinkhorn-scaling R] [--plane] [--floor] [--points FILE.h5] [--set data.KEY=VALUE ...]";
/* `proxflow eval --help`: every option the parser below accepts, one line each. */
static const char *const HELP =
    "usage: proxflow eval --checkpoint CKPT [--n N] [--data SPEC] [--steps Nt] [--seed S] [--json FILE]\n"
    "                     [--sinkhorn-blur B] [--sinkhorn-scaling R] [--plane] [--floor]\n"
    "                     [--points FILE.h5] [--set data.KEY=VALUE ...]\n"
    "\n"
    "Compares N samples of a checkpoint's flow with N held-out data samples (SPEC 6.3,\n"
    "docs/COMMANDS.md): sliced W1, MMD, Sinkhorn divergence, manifold distance,\n"
    "straightness, step invariance, each also for the reference samples as a baseline.\n"
    "Rank 0 prints one `name value` line per metric on stdout.\n"
    "\n"
    "options:\n"
    "  --checkpoint CKPT     the checkpoint whose flow is evaluated (required): a checkpoint file,\n"
    "                        a run directory (its newest complete checkpoint) or RUN:latest\n"
    "  --n N                 samples generated and held-out samples compared (default 2000)\n"
    "  --data SPEC           held-out data from SPEC instead of the checkpoint's [data] source\n"
    "  --steps Nt            Euler steps (default: the checkpoint's [flow] steps)\n"
    "  --seed S              the sample stream, >= 0 (default 0)\n"
    "  --json FILE           also write the metrics to FILE as a JSON object\n"
    "  --sinkhorn-blur B     the Sinkhorn blur, > 0 (default 0.05, geomloss's)\n"
    "  --sinkhorn-scaling R  the Sinkhorn epsilon scaling, in (0, 1) (default 0.5, geomloss's)\n"
    "  --plane               score in the 2-D plane of an embedded 2-D set (as the paper's notebook)\n"
    "  --floor               also the scores of held-out data against more data (the sampling floor)\n"
    "  --points FILE.h5      write the compared point sets to FILE.h5 (scatter plots)\n"
    "  --set data.KEY=VALUE  change a [data] key of the checkpoint's config (repeatable; e.g. the\n"
    "                        data path, relative to where training ran: --set data.source=PATH)\n"
    "  -h, --help            print this help and exit\n"
    "\n"
    "example:\n"
    "  mpirun -n 2 proxflow eval --checkpoint runs/qs/checkpoints/ckpt_00000800.h5 --n 5000 --json qs.json\n";

#define PF_EVAL_PROJECTIONS 200
#define PF_EVAL_MAX_METRICS 24

typedef struct { const char *name; double v; } metric;

/* Mean distance to the source's known manifold; NAN when it has none. */
static double manifold_mean(const pf_data *D, const pf_real *X, int n, int d)
{
    double s = 0;
    for (int i = 0; i < n; i++) {
        double e = pf_data_manifold_distance(D, X + (size_t)i * d);
        if (e < 0) return NAN;
        s += e;
    }
    return n ? s / n : NAN;
}

/* A whole-string finite number in (lo, hi) (open bounds), else exit 2 with the usage;
 * what says which numbers in the message. */
static double parse_open_real(const char *v, const char *opt, double lo, double hi, const char *what)
{
    char *end;
    errno = 0;
    double x = strtod(v, &end);
    if (!*v || *end || errno || !isfinite(x) || !(x > lo) || !(x < hi))
        pf_cli_usage_error("eval", USAGE, "%s must be %s, not '%s'", opt, what, v);
    return x;
}

/* Y [n x m] = rows of X [n x d] in the coordinates Q^T x of an embedding Q [d x m]
 * (row-major, orthonormal columns); Q = NULL: a copy (a 2-D source in R^2). */
static pf_real *project(const double *Q, int m, const pf_real *X, int n, int d)
{
    pf_real *Y = pf_malloc(sizeof(pf_real) * (size_t)n * (Q ? m : d));
    if (!Q) {
        memcpy(Y, X, sizeof(pf_real) * (size_t)n * d);
        return Y;
    }
    for (int i = 0; i < n; i++)
        for (int j = 0; j < m; j++) {
            double z = 0;
            for (int r = 0; r < d; r++) z += Q[r * m + j] * (double)X[(size_t)i * d + r];
            Y[(size_t)i * m + j] = (pf_real)z;
        }
    return Y;
}

/* --points FILE.h5 (rank 0, serial HDF5): the compared points as float32 [n, dc]
 * /generated, /reference, /heldout, and attributes saying which coordinates.  0, or 2
 * with a message. */
static int write_points(const char *path, const pf_real *G, const pf_real *R, const pf_real *Y, int n,
                        int dc, int plane, const char *ckpt, long iteration, const char *data,
                        char *msg, size_t len)
{
    char tmp[PF_STR + 16]; /* written as PATH.tmp, renamed when whole (issue 20) */
    if (pf_tmp_path(path, tmp, sizeof tmp)) return snprintf(msg, len, "eval: --points path too long"), 2;
    const char *h5_path = tmp;
    pf_h5_quiet q;
    pf_h5_quiet_begin(&q);
    hid_t f = H5Fcreate(tmp, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    pf_h5_quiet_end(&q);
    if (f < 0) {
        snprintf(msg, len, "eval: cannot create %s (does the directory exist and is it writable?)", path);
        return 2;
    }
    const char *names[3] = {"generated", "reference", "heldout"};
    const pf_real *sets[3] = {G, R, Y};
    const hsize_t dims[2] = {(hsize_t)n, (hsize_t)dc};
    for (int k = 0; k < 3; k++) {
        float *v = pf_to_f32(sets[k], (size_t)n * dc);
        hid_t ds = pf_h5_f32_dataset(f, names[k], 2, dims, path);
        PF_H5CHECK(H5Dwrite(ds, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, v));
        PF_H5CHECK(H5Dclose(ds));
        free(v);
    }
    pf_h5_attr_str(f, "program", "proxflow", PF_H5_ATTR_NEW, path);
    pf_h5_attr_str(f, "kind", "eval_points", PF_H5_ATTR_NEW, path);
    pf_h5_attr_str(f, "checkpoint", ckpt, PF_H5_ATTR_NEW, path);
    pf_h5_attr_str(f, "data", data, PF_H5_ATTR_NEW, path);
    pf_h5_attr_i64(f, "iteration", iteration, PF_H5_ATTR_NEW, path);
    pf_h5_attr_i64(f, "plane", plane, PF_H5_ATTR_NEW, path);
    if (H5Fclose(f) < 0 || pf_commit_tmp(tmp, path)) {
        snprintf(msg, len, "eval: cannot write %s", path);
        unlink(tmp);
        return 2;
    }
    return 0;
}

/* --json and --points: never the checkpoint, the --data file, each other, or a file of a
 * run (src/io/paths.c). */
static void eval_guard(const char *ckpt, const char *data, const char *json, const char *points)
{
    char dfile[PF_STR] = "";
    const char *colon = data ? strstr(data, ":/") : NULL; /* FILE.h5:/DATASET */
    if (data) snprintf(dfile, sizeof dfile, "%.*s", colon ? (int)(colon - data) : (int)strlen(data), data);
    const char *in[3] = {ckpt, data ? dfile : NULL, json};
    const char *lab[3] = {"--checkpoint", "--data", "--json"};
    if (json) pf_output_guard("eval", "--json", json, in, lab, 2);
    if (points) pf_output_guard("eval", "--points", points, in, lab, 3);
}

static void json_string(FILE *fp, const char *s)
{
    fputc('"', fp);
    for (; *s; s++) {
        if (*s == '"' || *s == '\\') fprintf(fp, "\\%c", *s);
        else if ((unsigned char)*s < 0x20) fprintf(fp, "\\u%04x", (unsigned char)*s);
        else fputc(*s, fp);
    }
    fputc('"', fp);
}

int pf_cmd_eval(int argc, char **argv)
{
    if (pf_cli_help(argc, argv, HELP)) return 0;
    pf_cli_check_once(argc, argv, "eval", "--checkpoint= --data= --json= --points= --n= --steps= --seed= "
                      "--sinkhorn-blur= --sinkhorn-scaling= --plane --floor"); /* issue 20 */
    const char *ckpt = NULL, *data = NULL, *json = NULL, *points = NULL, *v;
    int plane = 0, floor_ = 0;
    long long N = 2000, nt_opt = 0, seed = 0;
    double sk_blur = 0.05, sk_scaling = 0.5; /* geomloss's SamplesLoss defaults */
    char **sets = pf_malloc(sizeof(char *) * (size_t)(argc + 1));
    int n_sets = 0, dim_set = 0;
    for (int k = 0; k < argc; k++) {
        if ((v = pf_cli_option(argc, argv, &k, "--checkpoint", "eval", USAGE))) ckpt = v;
        else if ((v = pf_cli_option(argc, argv, &k, "--data", "eval", USAGE))) data = v;
        else if ((v = pf_cli_option(argc, argv, &k, "--json", "eval", USAGE))) json = v;
        else if ((v = pf_cli_option(argc, argv, &k, "--points", "eval", USAGE))) points = v;
        else if ((v = pf_cli_option(argc, argv, &k, "--set", "eval", USAGE))) {
            /* the flow is the checkpoint's: only where its data come from may change */
            if (strncmp(v, "data.", 5))
                pf_cli_usage_error("eval", USAGE, "--set %s: eval changes only [data] keys (data.KEY=VALUE)", v);
            dim_set |= !strncmp(v, "data.dim=", 9);
            sets[n_sets++] = (char *)v;
        }
        else if (!strcmp(argv[k], "--plane")) plane = 1;
        else if (!strcmp(argv[k], "--floor")) floor_ = 1;
        else if ((v = pf_cli_option(argc, argv, &k, "--n", "eval", USAGE)))
            N = pf_cli_parse_int(v, "--n", 1, 1 << 24, "eval", USAGE);
        else if ((v = pf_cli_option(argc, argv, &k, "--steps", "eval", USAGE)))
            nt_opt = pf_cli_parse_int(v, "--steps", 1, 1 << 20, "eval", USAGE);
        else if ((v = pf_cli_option(argc, argv, &k, "--seed", "eval", USAGE)))
            seed = pf_cli_parse_int(v, "--seed", 0, (1LL << 62), "eval", USAGE);
        else if ((v = pf_cli_option(argc, argv, &k, "--sinkhorn-blur", "eval", USAGE)))
            sk_blur = parse_open_real(v, "--sinkhorn-blur", 0, INFINITY, "a positive number");
        else if ((v = pf_cli_option(argc, argv, &k, "--sinkhorn-scaling", "eval", USAGE)))
            sk_scaling = parse_open_real(v, "--sinkhorn-scaling", 0, 1, "a number in (0, 1)");
        else if (argv[k][0] == '-') pf_cli_usage_error("eval", USAGE, "unknown option %s", argv[k]);
        else pf_cli_usage_error("eval", USAGE, "unexpected argument %s", argv[k]);
    }
    if (!ckpt) pf_cli_usage_error("eval", USAGE, "--checkpoint is required");
    char ck_path[PF_STR + 64]; /* a run directory or RUN:latest: its newest checkpoint */
    ckpt = pf_cli_checkpoint(ckpt, "--checkpoint", "eval", ck_path, sizeof ck_path);
    if (data && (!*data || strlen(data) >= PF_STR))
        pf_cli_usage_error("eval", USAGE, "--data must be a non-empty source of < %d characters", PF_STR);
    eval_guard(ckpt, data, json, points); /* issue 20: no output over an input or a run's files */

    pf_trainer tr;
    const int threads = pf_setup_trainer_from_checkpoint(&tr, "eval", ckpt, n_sets, sets);
    free(sets);
    const int d = tr.d, nt = nt_opt > 0 ? (int)nt_opt : tr.cfg.steps, n = (int)N;
    if ((long long)n * d > INT_MAX) pf_cli_usage_error("eval", USAGE, "--n %d x d = %d is too large", n, d);
    const int P = pf_nranks(), r = pf_rank();

    /* the held-out data: the checkpoint's source, or --data with the same sharding */
    pf_data *D = tr.data, *own = NULL;
    if (data) {
        pf_config c2 = tr.cfg;
        snprintf(c2.source, sizeof c2.source, "%s", data);
        /* a manifold set in the flow's R^d, not in the hidden default [data] dim of a
         * 2-D flow's config (issue 21); --set data.dim=... says otherwise */
        if (!dim_set) c2.dim = d;
        D = own = pf_data_open(&c2, tr.N, tr.i0, tr.i1);
        if (pf_data_dim(D) != d)
            pf_fail_collective(2, "eval: --data %s has dimension %d, the checkpoint's flow %d", data,
                               pf_data_dim(D), d);
    }
    /* --plane: the coordinates of the embedding of the flow's own source (m columns of
     * Q), also for --data points (the same R^d); a source in R^2 without one is its own
     * plane */
    int pm = 0;
    const double *Q = pf_data_isometry(tr.data, &pm);
    if (plane && !Q && d != 2)
        pf_fail_collective(2, "eval: --plane needs a checkpoint trained on a synthetic source embedded in "
                           "R^d (a manifold set, or a 2-D set with [data] embedding = isometry or pad); "
                           "%s in R^%d has none", pf_data_name(tr.data), d);
    /* --floor: further draws of a synthetic source (a file has no second sample) */
    const int floor_ok = floor_ && !pf_config_source_is_file(pf_data_name(D));
    if (floor_ && !floor_ok && r == 0)
        fprintf(stderr, "proxflow eval: --floor: %s is a file, no further draws: no *_floor metrics\n",
                pf_data_name(D));
    const int dc = plane && Q ? pm : d; /* the compared coordinates */
    /* the banner goes to stderr: stdout is only `name value` lines */
    if (r == 0)
        fprintf(stderr, "proxflow eval: %s (iteration %ld): %d samples, %d steps, data %s, on %d rank%s "
                "x %d thread%s\n", ckpt, tr.iteration, n, nt, pf_data_name(D), P, P > 1 ? "s" : "",
                threads, threads > 1 ? "s" : "");

    /* this rank's samples with Nt steps (and their trajectory), and with 2 Nt */
    pf_chunks L; /* the generation layout: the same samples on any rank count */
    pf_gen_layout(&L, n);
    const int a = L.i0, b = L.i1;
    const size_t rows = (size_t)(b > a ? b - a : 1);
    pf_real *X = pf_malloc(sizeof(pf_real) * rows * d), *X2 = pf_malloc(sizeof(pf_real) * rows * d);
    pf_real *R = pf_malloc(sizeof(pf_real) * rows * d);
    pf_real *traj = pf_malloc(sizeof(pf_real) * (size_t)PF_GEN_ROWS * d * (nt + 1));
    double *stc = pf_calloc((size_t)(L.c1 - L.c0 + 1), sizeof(double)), st;
    for (int c = L.c0; c < L.c1; c++) { /* per chunk: its straightness sum (in chunk order) */
        int ca, cb;
        pf_chunk_rows(&L, c, &ca, &cb);
        pf_generate(&tr, (uint64_t)seed, PF_RNG_SAMPLE, &L, c, c + 1, nt, X + (size_t)(ca - a) * d, traj);
        stc[c - L.c0] = pf_straightness(traj, nt, cb - ca, d) * (cb - ca);
    }
    pf_generate(&tr, (uint64_t)seed, PF_RNG_SAMPLE, &L, L.c0, L.c1, 2 * nt, X2, NULL);
    pf_trainer_reference(&tr, (uint64_t)seed, PF_RNG_SAMPLE, a, b, R);
    free(traj);
    pf_chunks_sum(&L, stc, 1, &st);
    free(stc);

    const size_t all = r == 0 ? (size_t)n * d : 1;
    pf_real *AX = pf_malloc(sizeof(pf_real) * all), *AX2 = pf_malloc(sizeof(pf_real) * all),
            *AR = pf_malloc(sizeof(pf_real) * all);
    pf_gather_rows(X, a, b, d, n, AX);
    pf_gather_rows(X2, a, b, d, n, AX2);
    pf_gather_rows(R, a, b, d, n, AR);
    free(X);
    free(X2);
    free(R);

    int status = 0;
    char msg[PF_STR + 200] = "";
    if (r == 0) {
        pf_real *Y = pf_malloc(sizeof(pf_real) * (size_t)n * d);
        pf_data_heldout(D, n, Y);
        /* the compared points: all d coordinates, or with --plane Q^T x */
        pf_real *CX = AX, *CR = AR, *CY = Y, *CF = NULL;
        if (plane) {
            CX = project(Q, pm, AX, n, d);
            CR = project(Q, pm, AR, n, d);
            CY = project(Q, pm, Y, n, d);
        }
        if (floor_ok) { /* n further draws: (seed, 1, HELDOUT, k), unused by anything else */
            pf_real *F = pf_malloc(sizeof(pf_real) * (size_t)n * d);
            pf_data_draw(D, 1, PF_RNG_HELDOUT, 0, n, F);
            CF = plane ? project(Q, pm, F, n, d) : F;
            if (plane) free(F);
        }
        const uint64_t ms = tr.cfg.seed; /* the same projections for every comparison */
        const double bw = pf_mmd_median_bandwidth(CY, n, dc);
        metric m[PF_EVAL_MAX_METRICS];
        int k = 0;
        m[k++] = (metric){"iteration", (double)tr.iteration};
        m[k++] = (metric){"n", n};
        m[k++] = (metric){"steps", nt};
        if (plane) m[k++] = (metric){"plane_dim", dc};
        m[k++] = (metric){"sliced_w1", pf_sliced_w1(CX, n, CY, n, dc, PF_EVAL_PROJECTIONS, ms)};
        m[k++] = (metric){"sliced_w1_reference", pf_sliced_w1(CR, n, CY, n, dc, PF_EVAL_PROJECTIONS, ms)};
        if (CF) m[k++] = (metric){"sliced_w1_floor", pf_sliced_w1(CF, n, CY, n, dc, PF_EVAL_PROJECTIONS, ms)};
        m[k++] = (metric){"mmd2", pf_mmd2_gaussian(CX, n, CY, n, dc, bw)};
        m[k++] = (metric){"mmd2_reference", pf_mmd2_gaussian(CR, n, CY, n, dc, bw)};
        m[k++] = (metric){"mmd_bandwidth", bw};
        /* geomloss's SamplesLoss("sinkhorn", p=2, blur, scaling): the score of the
         * paper code's low-dimensional table (issue 19; docs/COMMANDS.md) */
        m[k++] = (metric){"sinkhorn", pf_sinkhorn_divergence(CX, n, CY, n, dc, sk_blur, sk_scaling, 0, 0, NULL)};
        m[k++] = (metric){"sinkhorn_reference",
                          pf_sinkhorn_divergence(CR, n, CY, n, dc, sk_blur, sk_scaling, 0, 0, NULL)};
        if (CF)
            m[k++] = (metric){"sinkhorn_floor",
                              pf_sinkhorn_divergence(CF, n, CY, n, dc, sk_blur, sk_scaling, 0, 0, NULL)};
        m[k++] = (metric){"sinkhorn_blur", sk_blur};
        m[k++] = (metric){"sinkhorn_scaling", sk_scaling};
        double md = manifold_mean(D, AX, n, d);
        if (!isnan(md)) {
            m[k++] = (metric){"manifold_distance", md};
            m[k++] = (metric){"manifold_distance_reference", manifold_mean(D, AR, n, d)};
            m[k++] = (metric){"manifold_distance_heldout", manifold_mean(D, Y, n, d)};
        }
        m[k++] = (metric){"straightness", st / n};
        m[k++] = (metric){"step_rms_difference", pf_rms_difference(AX, AX2, n, d)};
        m[k++] = (metric){"step_mean_abs_difference", pf_mean_abs_difference(AX, AX2, n, d)};
        if (points)
            status = write_points(points, CX, CR, CY, n, dc, plane, ckpt, tr.iteration, pf_data_name(D), msg,
                                  sizeof msg);
        if (plane) {
            free(CX);
            free(CR);
            free(CY);
        }
        free(CF);
        free(Y);

        for (int q = 0; q < k; q++) printf("%s %.10g\n", m[q].name, m[q].v);
        fflush(stdout);
        if (json && !status) {
            char jtmp[PF_STR + 16] = ""; /* JSON.tmp, renamed when whole (issue 20) */
            FILE *fp = pf_tmp_path(json, jtmp, sizeof jtmp) ? NULL : fopen(jtmp, "w");
            if (!fp) {
                snprintf(msg, sizeof msg, "eval: cannot write %s: %s", json, strerror(errno));
                status = 2;
            } else {
                fputs("{\n  \"checkpoint\": ", fp);
                json_string(fp, ckpt);
                fputs(",\n  \"data\": ", fp);
                json_string(fp, pf_data_name(D));
                for (int q = 0; q < k; q++) {
                    fprintf(fp, ",\n  \"%s\": ", m[q].name);
                    if (isfinite(m[q].v)) fprintf(fp, "%.17g", m[q].v);
                    else fputs("null", fp);
                }
                fputs("\n}\n", fp);
                if (fclose(fp) || pf_commit_tmp(jtmp, json)) {
                    snprintf(msg, sizeof msg, "eval: cannot write %s: %s", json, strerror(errno));
                    unlink(jtmp);
                    status = 2;
                }
            }
        }
    }
    MPI_Bcast(&status, 1, MPI_INT, 0, pf_comm());
    free(AX);
    free(AX2);
    free(AR);
    if (own) pf_data_close(own);
    pf_trainer_free(&tr);
    if (status) pf_fail_collective(status, "%s", msg);
    return 0;
}
