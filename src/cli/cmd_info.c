/* `proxflow info FILE.h5` (SPEC §5): what a run file, a checkpoint or a sample file
 * holds (layouts: docs/OUTPUT.md, docs/COMMANDS.md).  Rank 0 opens the file serially,
 * read-only, and prints; the others wait for its verdict.  A file that is missing, not
 * HDF5 or none of the three kinds is an error (exit 2) naming the file. */
#include "proxflow/cli/cli.h"
#include "proxflow/flow/diagnostics.h"
#include "core/h5util.h"
#include "proxflow/flow/trainer.h"

#include <errno.h>
#include <hdf5.h>
#include <math.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *const USAGE = "proxflow info RUN_OR_CKPT_OR_SAMPLES_OR_CHAIN.h5";
/* `proxflow info --help` */
static const char *const HELP =
    "usage: proxflow info FILE.h5 | RUN_DIR | RUN:latest\n"
    "\n"
    "Prints what FILE.h5 holds (docs/COMMANDS.md): a run (run.h5: attributes, the last\n"
    "record of every diagnostic, datasets, config), a checkpoint, a sample file or a\n"
    "chain summary (chain.h5).  The file is opened read-only.  A run directory, or\n"
    "RUN:latest, means the run's newest complete checkpoint.\n"
    "\n"
    "options:\n"
    "  -h, --help   print this help and exit\n"
    "\n"
    "examples:\n"
    "  proxflow info runs/qs/run.h5\n"
    "  proxflow info runs/qs/checkpoints/ckpt_00000800.h5\n"
    "  proxflow info runs/qs:latest\n";

/* ---- reading (never fatal: a bad object prints as "?") ------------------------------ */

/* Any scalar or small 1-D attribute (string, integer, float) as text. */
static void attr_text(hid_t a, char *buf, size_t len)
{
    snprintf(buf, len, "?");
    hid_t ft = H5Aget_type(a), sp = H5Aget_space(a);
    if (ft < 0 || sp < 0) goto out;
    H5T_class_t cl = H5Tget_class(ft);
    hssize_t np = H5Sget_simple_extent_npoints(sp);
    if (cl == H5T_STRING) {
        char *s = np == 1 ? pf_h5_attr_string(a) : NULL;
        if (s) snprintf(buf, len, "%s", s);
        free(s);
    } else if ((cl == H5T_INTEGER || cl == H5T_FLOAT) && np >= 1 && np <= 16) {
        long long iv[16];
        unsigned long long uv[16];
        double fv[16];
        const int uns = cl == H5T_INTEGER && H5Tget_sign(ft) == H5T_SGN_NONE;
        herr_t e = cl == H5T_FLOAT ? H5Aread(a, H5T_NATIVE_DOUBLE, fv)
                   : uns           ? H5Aread(a, H5T_NATIVE_ULLONG, uv)
                                   : H5Aread(a, H5T_NATIVE_LLONG, iv);
        if (e < 0) goto out;
        size_t o = 0;
        buf[0] = 0;
        if (np > 1) o += (size_t)snprintf(buf + o, len - o, "(");
        for (hssize_t k = 0; k < np && o < len; k++) {
            const char *sep = k ? ", " : "";
            if (cl == H5T_FLOAT) o += (size_t)snprintf(buf + o, len - o, "%s%.10g", sep, fv[k]);
            else if (uns) o += (size_t)snprintf(buf + o, len - o, "%s%llu", sep, uv[k]);
            else o += (size_t)snprintf(buf + o, len - o, "%s%lld", sep, iv[k]);
        }
        if (np > 1 && o < len) snprintf(buf + o, len - o, ")");
    }
out:
    if (ft >= 0) H5Tclose(ft);
    if (sp >= 0) H5Sclose(sp);
}

static int has_attr(hid_t loc, const char *name) { return H5Aexists(loc, name) > 0; }
static int has_link(hid_t loc, const char *name) { return H5Lexists(loc, name, H5P_DEFAULT) > 0; }

/* "float32 [a, b, c]" of a dataset; also its number of elements. */
static void dataset_desc(hid_t ds, char *buf, size_t len, hssize_t *npoints)
{
    hid_t ty = H5Dget_type(ds), sp = H5Dget_space(ds);
    const char *tn = "?";
    char tb[32];
    if (ty >= 0) {
        size_t sz = H5Tget_size(ty);
        switch (H5Tget_class(ty)) {
        case H5T_FLOAT: snprintf(tb, sizeof tb, "float%zu", 8 * sz); tn = tb; break;
        case H5T_INTEGER:
            snprintf(tb, sizeof tb, "%sint%zu", H5Tget_sign(ty) == H5T_SGN_NONE ? "u" : "", 8 * sz);
            tn = tb;
            break;
        case H5T_STRING: tn = "string"; break;
        default: break;
        }
    }
    hsize_t dims[8];
    int r = sp >= 0 ? H5Sget_simple_extent_ndims(sp) : -1;
    size_t o = (size_t)snprintf(buf, len, "%s [", tn);
    if (r >= 0 && r <= 8) {
        H5Sget_simple_extent_dims(sp, dims, NULL);
        for (int k = 0; k < r && o < len; k++)
            o += (size_t)snprintf(buf + o, len - o, "%s%llu", k ? ", " : "", (unsigned long long)dims[k]);
    } else if (o < len) {
        o += (size_t)snprintf(buf + o, len - o, "?");
    }
    if (o < len) snprintf(buf + o, len - o, "]");
    if (npoints) *npoints = sp >= 0 ? H5Sget_simple_extent_npoints(sp) : -1;
    if (ty >= 0) H5Tclose(ty);
    if (sp >= 0) H5Sclose(sp);
}

/* ---- printing ----------------------------------------------------------------------- */

typedef struct { char names[64][64]; int n; } name_list;

static herr_t collect_attr(hid_t loc, const char *name, const H5A_info_t *info, void *user)
{
    (void)loc, (void)info;
    name_list *L = user;
    if (L->n < 64) snprintf(L->names[L->n++], sizeof L->names[0], "%s", name);
    return 0;
}

static void print_one_attr(hid_t loc, const char *name)
{
    hid_t a = H5Aopen(loc, name, H5P_DEFAULT);
    char buf[512] = "?";
    if (a >= 0) {
        attr_text(a, buf, sizeof buf);
        H5Aclose(a);
    }
    printf("  %-24s %s\n", name, buf);
}

/* Attributes of loc: the names in `first` (in that order, when present), then the
 * others alphabetically; `config` (multi-line) is left for print_config. */
static void print_attrs(hid_t loc, const char *const *first)
{
    for (int k = 0; first && first[k]; k++)
        if (has_attr(loc, first[k])) print_one_attr(loc, first[k]);
    name_list L;
    L.n = 0;
    hsize_t idx = 0;
    H5Aiterate2(loc, H5_INDEX_NAME, H5_ITER_INC, &idx, collect_attr, &L);
    for (int i = 0; i < L.n; i++) {
        int seen = !strcmp(L.names[i], "config");
        for (int k = 0; first && first[k] && !seen; k++) seen = !strcmp(L.names[i], first[k]);
        if (!seen) print_one_attr(loc, L.names[i]);
    }
}

static void print_config(hid_t f)
{
    char *ini = pf_h5_attr_get_string(f, "config");
    if (!ini) return;
    printf("config:\n");
    for (char *line = ini, *next; line && *line; line = next) {
        next = strchr(line, '\n');
        if (next) *next++ = 0;
        printf(*line ? "  %s\n" : "%s\n", line);
    }
    free(ini);
}

/* The datasets (and their shapes) of group `name`, one line each. */
static void print_group_datasets(hid_t f, const char *name, const char *title)
{
    if (!has_link(f, name)) return;
    hid_t g = H5Gopen2(f, name, H5P_DEFAULT);
    if (g < 0) return;
    H5G_info_t gi;
    if (H5Gget_info(g, &gi) < 0) gi.nlinks = 0;
    printf("%s: %llu\n", title, (unsigned long long)gi.nlinks);
    for (hsize_t k = 0; k < gi.nlinks; k++) {
        char nm[256], desc[128] = "?";
        if (H5Lget_name_by_idx(g, ".", H5_INDEX_NAME, H5_ITER_INC, k, nm, sizeof nm, H5P_DEFAULT) < 0)
            continue;
        hid_t ds = H5Dopen2(g, nm, H5P_DEFAULT);
        if (ds >= 0) {
            dataset_desc(ds, desc, sizeof desc, NULL);
            H5Dclose(ds);
        } else {
            snprintf(desc, sizeof desc, "(group)");
        }
        printf("  %-24s %s\n", nm, desc);
    }
    H5Gclose(g);
}

/* Last entry of a 1-D diagnostics dataset (NAN if empty/unreadable); its length. */
static double last_entry(hid_t g, const char *name, hssize_t *len)
{
    double v = NAN;
    *len = -1;
    hid_t ds = H5Dopen2(g, name, H5P_DEFAULT);
    if (ds < 0) return v;
    hid_t sp = H5Dget_space(ds);
    hsize_t n = 0;
    if (sp >= 0 && H5Sget_simple_extent_ndims(sp) == 1 && H5Sget_simple_extent_dims(sp, &n, NULL) >= 0) {
        *len = (hssize_t)n;
        if (n > 0) {
            hsize_t start = n - 1, one = 1;
            hid_t ms = H5Screate_simple(1, &one, NULL);
            H5Sselect_hyperslab(sp, H5S_SELECT_SET, &start, NULL, &one, NULL);
            if (H5Dread(ds, H5T_NATIVE_DOUBLE, ms, sp, H5P_DEFAULT, &v) < 0) v = NAN;
            H5Sclose(ms);
        }
    }
    if (sp >= 0) H5Sclose(sp);
    H5Dclose(ds);
    return v;
}

/* One line per session of /history (issue 21; docs/OUTPUT.md), then its changed keys. */
static void print_history(hid_t f)
{
    if (!has_link(f, "history")) return;
    hid_t g = H5Gopen2(f, "history", H5P_DEFAULT);
    H5G_info_t gi;
    if (g < 0 || H5Gget_info(g, &gi) < 0) {
        if (g >= 0) H5Gclose(g);
        return;
    }
    printf("history: %llu session%s\n", (unsigned long long)gi.nlinks, gi.nlinks == 1 ? "" : "s");
    for (hsize_t k = 0; k < gi.nlinks; k++) {
        char nm[64];
        if (H5Lget_name_by_idx(g, ".", H5_INDEX_NAME, H5_ITER_INC, k, nm, sizeof nm, H5P_DEFAULT) < 0) continue;
        hid_t s = H5Gopen2(g, nm, H5P_DEFAULT);
        if (s < 0) continue;
        static const char *const names[] = {"kind", "start_iteration", "end_iteration", "started",
                                            "model_changed", "config_changes"};
        char v[6][1024];
        for (int q = 0; q < 6; q++) {
            snprintf(v[q], sizeof v[q], "?");
            hid_t a = has_attr(s, names[q]) ? H5Aopen(s, names[q], H5P_DEFAULT) : -1;
            if (a >= 0) {
                attr_text(a, v[q], sizeof v[q]);
                H5Aclose(a);
            }
        }
        printf("  %-14s %-6s iterations %s..%s, started %s%s\n", nm, v[0], v[1], v[2], v[3],
               !strcmp(v[4], "1") ? ", MODEL OR OBJECTIVE CHANGED" : "");
        if (strcmp(v[5], "?") && v[5][0]) printf("%s", v[5]);
        H5Gclose(s);
    }
    H5Gclose(g);
}

static void print_run(hid_t f)
{
    static const char *const first[] = {"program", "version", "git_commit", "created", "ranks",
                                        "threads", "seed", "precision", "blas_core", "data_dim",
                                        "image_shape", NULL};
    print_attrs(f, first);
    if (has_link(f, "diagnostics")) {
        hid_t g = H5Gopen2(f, "diagnostics", H5P_DEFAULT);
        hssize_t len = -1;
        const double it = g >= 0 ? last_entry(g, "iteration", &len) : 0;
        if (len > 0)
            printf("diagnostics: %lld records, last at iteration %.0f\n", (long long)len, it);
        else
            printf("diagnostics: %lld records\n", (long long)(len > 0 ? len : 0));
        /* the known names in their order (SPEC §4), then any others */
        H5G_info_t gi;
        if (g >= 0 && H5Gget_info(g, &gi) >= 0 && len > 0) {
            for (int k = 0; k < PF_DIAG_COUNT; k++)
                if (has_link(g, pf_diag_names[k])) {
                    hssize_t l;
                    printf("  %-24s %.10g\n", pf_diag_names[k], last_entry(g, pf_diag_names[k], &l));
                }
            for (hsize_t k = 0; k < gi.nlinks; k++) {
                char nm[256];
                if (H5Lget_name_by_idx(g, ".", H5_INDEX_NAME, H5_ITER_INC, k, nm, sizeof nm, H5P_DEFAULT) < 0)
                    continue;
                int known = 0;
                for (int q = 0; q < PF_DIAG_COUNT && !known; q++) known = !strcmp(nm, pf_diag_names[q]);
                if (!known) {
                    hssize_t l;
                    printf("  %-24s %.10g\n", nm, last_entry(g, nm, &l));
                }
            }
        }
        if (g >= 0) H5Gclose(g);
    }
    print_history(f);
    print_group_datasets(f, "trajectories", "trajectories");
    print_group_datasets(f, "samples", "samples");
    print_config(f);
}

static void print_net(hid_t f, const char *name)
{
    if (!has_link(f, name)) return;
    hid_t g = H5Gopen2(f, name, H5P_DEFAULT);
    if (g < 0) return;
    printf("%s:\n", name);
    static const char *const first[] = {"n_params", "adam_t", "lr", "beta1", "beta2", "eps", NULL};
    print_attrs(g, first);
    if (has_link(g, "buffer")) {
        hid_t ds = H5Dopen2(g, "buffer", H5P_DEFAULT);
        if (ds >= 0) {
            char desc[128];
            dataset_desc(ds, desc, sizeof desc, NULL);
            printf("  %-24s %s (p | g | m | v)\n", "buffer", desc);
            H5Dclose(ds);
        }
    }
    H5Gclose(g);
}

static void print_checkpoint(hid_t f)
{
    static const char *const first[] = {"program", "version", "git_commit", "created", "iteration",
                                        "rng_iteration", "complete", "seed", "precision", "data_dim",
                                        "ranks", "nu_index", NULL};
    print_attrs(f, first);
    print_net(f, "potential");
    print_net(f, "discriminator");
    print_config(f);
}

static void print_samples(hid_t f)
{
    static const char *const first[] = {"program", "kind", "version", "git_commit", "created",
                                        "checkpoint", "iteration", "n", "data_dim", "steps", "T", "h",
                                        "lambda", "mode", "seed", "sample_stream", "ranks", "threads",
                                        "precision", NULL};
    print_attrs(f, first);
    printf("datasets:\n");
    static const char *const names[] = {"samples", "reference", "trajectories"};
    for (int k = 0; k < 3; k++) {
        if (!has_link(f, names[k])) continue;
        hid_t ds = H5Dopen2(f, names[k], H5P_DEFAULT);
        if (ds < 0) continue;
        char desc[128];
        dataset_desc(ds, desc, sizeof desc, NULL);
        printf("  %-24s %s\n", names[k], desc);
        H5Dclose(ds);
    }
    print_config(f);
}

/* chain.h5 (docs/CHAIN.md): attributes, then one row per finished link. */
static void print_chain(hid_t f)
{
    static const char *const first[] = {"program", "kind", "version", "git_commit", "links",
                                        "completed", "pool", "ranks", NULL};
    print_attrs(f, first);
    static const char *const cols[] = {"divergence_start", "divergence_end", "w2_step", "sliced_w1",
                                       "kinetic", "hj_residual", "train_seconds"};
    enum { NC = sizeof cols / sizeof cols[0] };
    double *v[NC];
    hssize_t n = -1;
    for (int c = 0; c < NC; c++) {
        v[c] = NULL;
        char name[64];
        snprintf(name, sizeof name, "links/%s", cols[c]);
        hid_t ds = H5Dopen2(f, name, H5P_DEFAULT);
        if (ds < 0) continue;
        hid_t sp = H5Dget_space(ds);
        hssize_t m = H5Sget_simple_extent_npoints(sp);
        if (n < 0 || m < n) n = m;
        v[c] = malloc(sizeof(double) * (size_t)(m > 0 ? m : 1));
        if (v[c] && H5Dread(ds, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, v[c]) < 0) {
            free(v[c]);
            v[c] = NULL;
        }
        H5Sclose(sp);
        H5Dclose(ds);
    }
    printf("links:\n  %4s", "link");
    for (int c = 0; c < NC; c++) printf(" %16s", cols[c]);
    printf("\n");
    for (hssize_t i = 0; i < n; i++) {
        printf("  %4lld", (long long)i + 1);
        for (int c = 0; c < NC; c++)
            if (v[c]) printf(" %16.6g", v[c][i]);
            else printf(" %16s", "?");
        printf("\n");
    }
    for (int c = 0; c < NC; c++) free(v[c]);
    print_config(f);
}

/* Rank 0: identify and print; 0, or non-zero with a message in err. */
static int info_file(const char *path, char *err, size_t errlen)
{
    if (access(path, R_OK)) {
        snprintf(err, errlen, "%s: cannot read: %s", path, strerror(errno));
        return 1;
    }
    if (H5Fis_hdf5(path) <= 0) {
        snprintf(err, errlen, "%s: not an HDF5 file", path);
        return 1;
    }
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (f < 0) {
        snprintf(err, errlen, "%s: cannot open it as HDF5 (truncated or corrupt file, or locked: "
                              "HDF5_USE_FILE_LOCKING=FALSE)", path);
        return 1;
    }
    int rc = 0;
    int is_samples = 0;
    if (has_link(f, "samples")) {
        hid_t ds = H5Dopen2(f, "samples", H5P_DEFAULT); /* a dataset (a run has a group) */
        if (ds >= 0) {
            is_samples = 1;
            H5Dclose(ds);
        }
    }
    if (has_link(f, "potential") && has_link(f, "discriminator")) {
        printf("%s: proxflow checkpoint\n", path);
        print_checkpoint(f);
    } else if (has_link(f, "diagnostics")) {
        printf("%s: proxflow run\n", path);
        print_run(f);
    } else if (has_link(f, "links") && has_attr(f, "completed")) {
        printf("%s: proxflow chain\n", path);
        print_chain(f);
    } else if (is_samples) {
        printf("%s: proxflow samples\n", path);
        print_samples(f);
    } else {
        snprintf(err, errlen, "%s: an HDF5 file, but not a proxflow run, checkpoint or sample file "
                              "(none of /diagnostics, /potential, /samples)", path);
        rc = 1;
    }
    fflush(stdout);
    H5Fclose(f);
    return rc;
}

int pf_cmd_info(int argc, char **argv)
{
    if (pf_cli_help(argc, argv, HELP)) return 0;
    const char *path = NULL;
    for (int k = 0; k < argc; k++) {
        if (argv[k][0] == '-' && argv[k][1]) pf_cli_usage_error("info", USAGE, "unknown option %s", argv[k]);
        if (path) pf_cli_usage_error("info", USAGE, "more than one file: %s", argv[k]);
        path = argv[k];
    }
    if (!path) pf_cli_usage_error("info", USAGE, "no file given");
    char ck_path[PF_STR + 64]; /* a run directory or RUN:latest: its newest checkpoint */
    path = pf_cli_checkpoint(path, "info", "info", ck_path, sizeof ck_path);
    char err[PF_STR + 256] = "";
    int rc = 0;
    if (pf_rank() == 0) {
        H5Eset_auto2(H5E_DEFAULT, NULL, NULL); /* errors are ours to report */
        rc = info_file(path, err, sizeof err);
    }
    MPI_Bcast(&rc, 1, MPI_INT, 0, pf_comm());
    if (rc) pf_fail_collective(2, "info: %s", err);
    return 0;
}
