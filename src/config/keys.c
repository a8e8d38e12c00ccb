/* proxflow: the table of config keys (SPEC §5), their defaults and the enum names.
 * Every config operation walks this table (src/config/keys.h): a key is added here only. */
#include "config/keys.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GT (R_MIN | R_MIN_X)
#define GE R_MIN

static const char *const mode_names[] = {"w1w2", "w1", "w2", "none", NULL};
static const char *const fdiv_names[] = {"kl", "kl_legendre", "reverse_kl", "alpha", NULL};
static const char *const act_names[] = {"relu", "softplus", "tanh", "silu", NULL};
static const char *const arch_names[] = {"mlp", "cnn", NULL};
static const char *const ref_names[] = {"normal", "uniform", NULL};
static const char *const progress_names[] = {"auto", "bar", "lines", "off", NULL};
static const char *const embed_names[] = {"auto", "isometry", "pad", NULL};

/* The synthetic data sets [data] source may name (SPEC 6.1; src/data/synthetic.c
 * generates them, in this order). */
const char *const pf_synthetic_names[] = {"8gaussians", "checkerboard", "moons",
                                          "swissroll",  "circles",      "sphere",
                                          "circle",     "torus",        "swissroll3d",
                                          "pinwheel",   "moons_hg",     "spirals2",
                                          NULL};

/* Enums are stored through int pointers; make sure that is their representation. */
_Static_assert(sizeof(pf_mode) == sizeof(int), "enum size");
_Static_assert(sizeof(pf_fdiv) == sizeof(int), "enum size");
_Static_assert(sizeof(pf_act) == sizeof(int), "enum size");
_Static_assert(sizeof(pf_arch) == sizeof(int), "enum size");
_Static_assert(sizeof(pf_reference) == sizeof(int), "enum size");
_Static_assert(sizeof(pf_progress_mode) == sizeof(int), "enum size");
_Static_assert(sizeof(pf_embedding) == sizeof(int), "enum size");

#define F(field) offsetof(pf_config, field)
#define K_DBL(s, k, fld, lo, hi, fl, def, doc) {s, k, KT_DOUBLE, F(fld), 0, lo, hi, fl, NULL, def, doc}
#define K_INT(s, k, fld, lo, fl, def, doc) {s, k, KT_INT, F(fld), 0, lo, 0, fl, NULL, def, doc}
#define K_LONG(s, k, fld, lo, fl, def, doc) {s, k, KT_LONG, F(fld), 0, lo, 0, fl, NULL, def, doc}
#define K_U64(s, k, fld, def, doc) {s, k, KT_U64, F(fld), 0, 0, 0, 0, NULL, def, doc}
#define K_STR(s, k, fld, def, doc) {s, k, KT_STRING, F(fld), 0, 0, 0, 0, NULL, def, doc}
/* a string that may be empty (R_EMPTY: "none") */
#define K_STR0(s, k, fld, def, doc) {s, k, KT_STRING, F(fld), 0, 0, 0, R_EMPTY, NULL, def, doc}
#define K_ENUM(s, k, fld, nm, def, doc) {s, k, KT_ENUM, F(fld), 0, 0, 0, 0, nm, def, doc}
#define K_BOOL(s, k, fld, def, doc) {s, k, KT_BOOL, F(fld), 0, 0, 0, 0, NULL, def, doc}
#define K_LIST(s, k, fld, nfld, def, doc) {s, k, KT_INTLIST, F(fld), F(nfld), 1, 0, GE, NULL, def, doc}

/* [potential] and [discriminator] share their keys (pf_net_config). */
#define NET_KEYS(s, net, widths_def, act_def, lr_def, who)                                               \
    K_ENUM(s, "arch", net.arch, arch_names, "mlp",                                           \
           "network type: mlp, or cnn (conv blocks, then an MLP head) for image data"),      \
    K_LIST(s, "widths", net.widths, net.n_widths, widths_def,                                    \
           "hidden layer widths of the MLP (of the MLP head when arch = cnn)"),              \
    K_ENUM(s, "activation", net.activation, act_names, act_def, "activation of the hidden layers"), \
    K_DBL(s, "lr", net.lr, 0, 0, GT, lr_def, "Adam learning rate of the " who),                  \
    K_DBL(s, "beta1", net.beta1, 0, 1, R_MIN | R_MAX | R_MAX_X, "0.5", "Adam first-moment decay"), \
    K_DBL(s, "beta2", net.beta2, 0, 1, R_MIN | R_MAX | R_MAX_X, "0.9", "Adam second-moment decay"), \
    K_DBL(s, "eps", net.eps, 0, 0, GT, "1e-8", "Adam epsilon"),                              \
    K_LIST(s, "channels", net.channels, net.n_channels, "8,8",                               \
           "arch = cnn: output channels of each conv block (one block per entry)"),          \
    K_INT(s, "kernel", net.kernel, 1, GE | R_ODD, "7",                                       \
          "arch = cnn: conv kernel size k (k x k, stride 1, SAME padding)")

const pf_key pf_keys[] = {
    K_ENUM("flow", "mode", mode, mode_names, "w1w2",
           "proximal terms: w1w2 = kinetic term and Lipschitz penalty, w1 = penalty only, "
           "w2 = kinetic term only, none = neither (SPEC 1.6)"),
    K_DBL("flow", "lambda", lambda, 0, 0, GT, "1.0",
          "W2 weight lambda; velocity v = -(1/lambda) grad_x phi"),
    K_DBL("flow", "T", T, 0, 0, GT, "1.0", "time horizon of the flow"),
    K_INT("flow", "steps", steps, 1, GE, "10", "forward Euler steps Nt (h = T / steps)"),
    K_ENUM("flow", "f", f, fdiv_names, "kl",
           "f-divergence: kl = Donsker-Varadhan (log-sum-exp); kl_legendre, reverse_kl, "
           "alpha = Legendre form with a trainable shift (SPEC 1.3)"),
    K_DBL("flow", "alpha", alpha, 1, 0, GT, "2.0", "alpha of the alpha-divergence (f = alpha)"),
    K_BOOL("flow", "kinetic_reference", kinetic_reference, "false",
           "reproduce the reference code's kinetic term (at x^{n+1}, time t_n, no gradient) "
           "instead of SPEC 1.5"),

    K_DBL("lipschitz", "L", L, 0, 0, GT, "1.0", "Lipschitz constant L of the discriminator"),
    K_DBL("lipschitz", "mu", mu, 0, 0, GE, "1.0",
          "weight mu of the one-sided gradient penalty (modes w1w2 and w1)"),

    NET_KEYS("potential", potential, "64,64,64", "tanh", "5e-4", "potential phi"),
    NET_KEYS("discriminator", discriminator, "64,64,64", "relu", "1e-4", "discriminator gamma"),

    K_LONG("train", "iterations", iterations, 0, GE, "1000", "training iterations"),
    K_INT("train", "batch", batch, 1, GE, "256", "global batch size N (split over the ranks)"),
    K_INT("train", "n_disc", n_disc, 1, GE, "5", "discriminator steps per iteration"),
    K_U64("train", "seed", seed, "1", "seed of the counter-based RNG"),
    {"train", "chunks", KT_INT, F(chunks), 0, 1, 1024, R_MIN | R_MAX, NULL, "8",
     "fixed chunks of the batch (and of the diagnostic batch): every sum over samples is "
     "formed per chunk and the chunks combined exactly, so results are bit-identical for "
     "any number of ranks and threads (docs/DESIGN.md); at most this many ranks, and each "
     "rank's threads work on its chunks (2 ranks x 2 threads want >= 4). Changing it "
     "changes the bits of a run. Each chunk costs time: wide networks on few ranks run "
     "faster with fewer (docs/PERFORMANCE.md, \"Bit-identical sums: cost\")"},
    K_INT("train", "threads", threads, 0, GE, "0",
          "OpenMP threads per rank (0 = OMP_NUM_THREADS, or else the node's cores divided by "
          "the ranks on it). They run BLAS, the element-wise loops and the discriminator "
          "batches' simulations (rows split among threads); for small MLPs (layers <= 128 "
          "wide) the steps stay on one thread, so there 2 ranks beat 2 threads "
          "(docs/PERFORMANCE.md)"),

    K_STR("data", "source", source, "8gaussians",
          "data: a synthetic set name (e.g. 8gaussians, sphere), FILE.h5:/DATASET, or an "
          "MNIST IDX file (SPEC 6.1)"),
    K_INT("data", "dim", dim, 1, GE, "8",
          "ambient dimension d of a manifold set, or of a 2-D set when embedding is not auto "
          "(with embedding = auto 2-D sets ignore it)"),
    K_ENUM("data", "embedding", embedding, embed_names, "auto",
           "how a synthetic set sits in R^dim: auto = 2-D sets stay in R^2, manifold sets get "
           "a seeded random isometry; isometry = every set (2-D ones too) x = Q z with that "
           "isometry; pad = the paper code's zero padding, z in the first coordinates "
           "(docs/DATA.md)"),
    K_INT("data", "manifold_dim", manifold_dim, 1, GE, "1",
          "intrinsic dimension k of a manifold set (e.g. the k-sphere)"),
    K_DBL("data", "noise", noise, 0, 0, GE, "0.0", "std of Gaussian noise added to synthetic data"),
    K_DBL("data", "scale", data_scale, 0, 0, GT, "1.0",
          "multiply the data by this (IDX files: after dividing by 255)"),
    K_LONG("data", "n_train", n_train, 0, GE, "0", "use the first n_train rows of a file (0 = all)"),
    K_ENUM("data", "reference", reference, ref_names, "normal",
           "reference distribution rho_0: normal or uniform"),
    K_DBL("data", "reference_scale", ref_scale, 0, 0, GT, "1.0", "std of the normal reference"),
    K_DBL("data", "reference_low", ref_low, 0, 0, 0, "0.0",
          "lower corner a of the uniform reference [a, b]^d (must be < reference_high)"),
    K_DBL("data", "reference_high", ref_high, 0, 0, 0, "1.0",
          "upper corner b of the uniform reference [a, b]^d"),
    K_STR0("data", "reference_pool", ref_pool, "",
          "FILE.h5:/DATASET of stored samples [M, d] to draw the reference from instead of "
          "`reference` (empty = none; `proxflow chain` sets it for links 2..K, SPEC 8)"),
    K_INT("data", "batch_cycle", batch_cycle, 0, GE, "0",
          "draw the data and reference batches of iteration i as those of iteration i mod "
          "batch_cycle, so the batch sequence repeats every batch_cycle iterations (0 = fresh "
          "batches every iteration; 100 = the paper code's RNG reset, docs/notes_lowdim.md "
          "section 2). The penalty's interpolation weights stay fresh"),

    K_STR("output", "dir", out_dir, "runs/proxflow", "run directory (--out overrides it)"),
    K_INT("output", "log_every", log_every, 1, GE, "10", "log diagnostics every this many iterations"),
    K_INT("output", "checkpoint_every", checkpoint_every, 0, GE, "100",
          "checkpoint every this many iterations (0 = only at the end)"),
    K_INT("output", "trajectory_every", trajectory_every, 0, GE, "0",
          "write trajectories every this many iterations, and at the end of a finished run "
          "(0 = only at the end)"),
    K_INT("output", "keep", keep, 1, GE, "3", "number of checkpoints kept"),
    K_INT("output", "n_traj", n_traj, 1, GE, "64", "trajectories written each time"),
    K_INT("output", "diag_batch", diag_batch, 1, GE, "256", "size of the fixed diagnostic batch"),
    K_INT("output", "eval_every", eval_every, 0, GE, "0",
          "also record sample quality (sliced_w1, mmd2, manifold_distance in /diagnostics, as "
          "`proxflow eval --n eval_n` computes them) every this many iterations; they are "
          "always recorded at the last iteration (0 = only there)"),
    K_INT("output", "eval_n", eval_n, 2, GE, "1000",
          "generated and held-out samples of those quality records (cost: eval_n^2 d for the MMD; "
          "a chain's link: at most [chain] pool)"),
    K_ENUM("output", "progress", progress, progress_names, "auto",
           "what train prints while it runs: bar = a progress bar between the log lines, "
           "lines = the log lines only (no control characters), off = only the final "
           "summary; auto = bar on an interactive terminal, else lines (job logs, files, "
           "pipes). The environment variable PROXFLOW_PROGRESS overrides it "
           "(docs/CLUSTER.md)"),

    K_INT("chain", "links", links, 1, GE, "4", "`proxflow chain`: number of links K (--links overrides it)"),
    K_INT("chain", "pool", pool, 1, GE, "4096",
          "`proxflow chain`: samples pushed through each link and stored as the next link's "
          "reference (>= batch, diag_batch and n_traj)"),
    K_BOOL("chain", "warm_start", warm_start, "true",
           "`proxflow chain`: start link k+1's networks from link k's (Adam moments reset)"),
};

const int pf_n_keys = (int)(sizeof pf_keys / sizeof pf_keys[0]);
_Static_assert(sizeof pf_keys / sizeof pf_keys[0] <= PF_CONFIG_MAX_KEYS,
               "raise PF_CONFIG_MAX_KEYS in config.h");

/* ------------------------------------------------------------------------------------
 * Lookup */

static int enum_count(const char *const *names)
{
    int n = 0;
    while (names[n]) n++;
    return n;
}

const char *pf_key_enum_name(const char *const *names, int v)
{
    return (v >= 0 && v < enum_count(names)) ? names[v] : "?";
}

int pf_key_find(const char *section, const char *key)
{
    for (int i = 0; i < pf_n_keys; i++)
        if (!strcmp(pf_keys[i].section, section) && !strcmp(pf_keys[i].key, key)) return i;
    return -1;
}

int pf_key_section_known(const char *section)
{
    for (int i = 0; i < pf_n_keys; i++)
        if (!strcmp(pf_keys[i].section, section)) return 1;
    return 0;
}

/* ------------------------------------------------------------------------------------
 * Defaults */

void pf_config_defaults(pf_config *c)
{
    memset(c, 0, sizeof *c); /* also zeroes padding and provenance */
    for (int i = 0; i < pf_n_keys; i++) {
        char why[256];
        if (pf_key_parse(&pf_keys[i], pf_keys[i].def, c, why, sizeof why)) {
            /* a bad default is a bug in the table above, caught by test_config */
            fprintf(stderr, "proxflow: internal error: default of [%s] %s = %s: %s\n",
                    pf_keys[i].section, pf_keys[i].key, pf_keys[i].def, why);
            abort();
        }
    }
}

/* ------------------------------------------------------------------------------------
 * Enum names */

const char *pf_mode_name(pf_mode m) { return pf_key_enum_name(mode_names, (int)m); }
const char *pf_fdiv_name(pf_fdiv f) { return pf_key_enum_name(fdiv_names, (int)f); }
const char *pf_act_name(pf_act a) { return pf_key_enum_name(act_names, (int)a); }
