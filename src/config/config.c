/* proxflow: run configuration (SPEC §5).
 *
 * Everything here is driven by one static table of key descriptors (keys[] below):
 * defaults, INI parsing, --set, validation, pf_config_visit, pf_config_to_ini and the
 * Markdown reference in docs/CONFIG.md all walk that table, so a key is added in one
 * place only.
 *
 * libinih is built by Debian without INI_HANDLER_LINENO, so the handler is not told the
 * line.  We feed inih through our own reader (ini_parse_stream), one physical line per
 * call, and count lines there: inih processes a line right after reading it, so the
 * reader's count is the line of every handler call.  The reader also lets us stop at
 * the first error, check section headers (inih has no callback for them) and accept
 * lines longer than inih's fixed 200-byte buffer (resolved configs written back into
 * checkpoints can hold long paths). */
#include "proxflow/config/config.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ini.h>

#include "core/textfile.h"

#include "proxflow/data/data.h"

/* ------------------------------------------------------------------------------------
 * The key table */

typedef enum {
    KT_DOUBLE, KT_INT, KT_LONG, KT_U64, KT_STRING, KT_ENUM, KT_INTLIST, KT_BOOL
} key_type;

/* Range flags: R_MIN means value >= min (> min with R_MIN_X), likewise for max. For an
 * int list they apply to every entry. */
enum { R_MIN = 1u, R_MIN_X = 2u, R_MAX = 4u, R_MAX_X = 8u, R_ODD = 16u, R_EMPTY = 32u };
#define GT (R_MIN | R_MIN_X)
#define GE R_MIN

typedef struct {
    const char *section, *key;
    key_type type;
    size_t off;                /* offset of the value (of the array for a list)  */
    size_t off_n;              /* int list: offset of its count                   */
    double min, max;
    unsigned flags;
    const char *const *names;  /* enum: allowed values, NULL-terminated, in enum order */
    const char *def;           /* default, as INI text                            */
    const char *doc;           /* one line for docs/CONFIG.md                     */
} pf_key;

static const char *const mode_names[] = {"w1w2", "w1", "w2", "none", NULL};
static const char *const fdiv_names[] = {"kl", "kl_legendre", "reverse_kl", "alpha", NULL};
static const char *const act_names[] = {"relu", "softplus", "tanh", "silu", NULL};
static const char *const arch_names[] = {"mlp", "cnn", NULL};
static const char *const ref_names[] = {"normal", "uniform", NULL};

/* Enums are stored through int pointers; make sure that is their representation. */
_Static_assert(sizeof(pf_mode) == sizeof(int), "enum size");
_Static_assert(sizeof(pf_fdiv) == sizeof(int), "enum size");
_Static_assert(sizeof(pf_act) == sizeof(int), "enum size");
_Static_assert(sizeof(pf_arch) == sizeof(int), "enum size");
_Static_assert(sizeof(pf_reference) == sizeof(int), "enum size");

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

static const pf_key keys[] = {
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
    K_INT("train", "threads", threads, 0, GE, "0",
          "OpenMP threads per rank (0 = OMP_NUM_THREADS, or else the node's cores divided by "
          "the ranks on it). They run BLAS, the element-wise loops and the discriminator "
          "batches' simulations (rows split among threads); for small MLPs (layers <= 128 "
          "wide) the steps stay on one thread, so there 2 ranks beat 2 threads "
          "(docs/PERFORMANCE.md)"),

    K_STR("data", "source", source, "8gaussians",
          "data: a synthetic set name (e.g. 8gaussians, sphere), FILE.h5:/DATASET, or an "
          "MNIST IDX file (SPEC 6.1)"),
    K_INT("data", "dim", dim, 1, GE, "8", "ambient dimension d of a manifold set (2-D sets ignore it)"),
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

    K_STR("output", "dir", out_dir, "runs/proxflow", "run directory (--out overrides it)"),
    K_INT("output", "log_every", log_every, 1, GE, "10", "log diagnostics every this many iterations"),
    K_INT("output", "checkpoint_every", checkpoint_every, 0, GE, "100",
          "checkpoint every this many iterations (0 = only at the end)"),
    K_INT("output", "trajectory_every", trajectory_every, 0, GE, "0",
          "write trajectories every this many iterations (0 = never)"),
    K_INT("output", "keep", keep, 1, GE, "3", "number of checkpoints kept"),
    K_INT("output", "n_traj", n_traj, 1, GE, "64", "trajectories written each time"),
    K_INT("output", "diag_batch", diag_batch, 1, GE, "256", "size of the fixed diagnostic batch"),

    K_INT("chain", "links", links, 1, GE, "4", "`proxflow chain`: number of links K (--links overrides it)"),
    K_INT("chain", "pool", pool, 1, GE, "4096",
          "`proxflow chain`: samples pushed through each link and stored as the next link's "
          "reference (>= batch, diag_batch and n_traj)"),
    K_BOOL("chain", "warm_start", warm_start, "true",
           "`proxflow chain`: start link k+1's networks from link k's (Adam moments reset)"),
};

#define NKEYS ((int)(sizeof keys / sizeof keys[0]))
_Static_assert(sizeof keys / sizeof keys[0] <= PF_CONFIG_MAX_KEYS,
               "raise PF_CONFIG_MAX_KEYS in config.h");

/* Largest formatted value: a string, or a list of PF_MAX_WIDTHS ints. */
#define VALBUF (PF_STR + 16 * PF_MAX_WIDTHS)

#define AT(c, k, T) ((T *)(void *)((char *)(c) + (k)->off))
#define CAT(c, k, T) ((const T *)(const void *)((const char *)(c) + (k)->off))

/* ------------------------------------------------------------------------------------
 * Small helpers */

/* an error message into the caller's buffer; returns 1 */
#define fail(why, n, ...) pf_errorf(1, (why), (n), __VA_ARGS__)

static int is_space(char ch) { return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n' || ch == '\f' || ch == '\v'; }
static char lower(char ch) { return (ch >= 'A' && ch <= 'Z') ? (char)(ch - 'A' + 'a') : ch; }

static int ci_equal(const char *a, const char *b)
{
    for (; *a && *b; a++, b++)
        if (lower(*a) != lower(*b)) return 0;
    return *a == *b;
}

/* A value for a message: printable ASCII only, at most 60 characters. */
static const char *show(const char *s, char *buf, size_t n)
{
    size_t j = 0, lim = n > 64 ? 60 : (n ? n - 4 : 0);
    for (size_t i = 0; s[i] && j < n - 1; i++) {
        if (j >= lim) {
            snprintf(buf + j, n - j, "...");
            return buf;
        }
        unsigned char ch = (unsigned char)s[i];
        buf[j++] = (ch >= 32 && ch < 127) ? (char)ch : '?';
    }
    buf[j] = '\0';
    return buf;
}

/* Copy [s, s+n) trimmed of surrounding whitespace into a malloc'd string. */
static char *trim_dup(const char *s, size_t n)
{
    while (n && is_space(*s)) s++, n--;
    while (n && is_space(s[n - 1])) n--;
    char *r = malloc(n + 1);
    if (r) {
        memcpy(r, s, n);
        r[n] = '\0';
    }
    return r;
}

static int enum_count(const char *const *names)
{
    int n = 0;
    while (names[n]) n++;
    return n;
}

static const char *enum_name(const char *const *names, int v)
{
    return (v >= 0 && v < enum_count(names)) ? names[v] : "?";
}

/* "w1w2, w1, w2, none" */
static void join_names(const char *const *names, char *buf, size_t n)
{
    size_t j = 0;
    buf[0] = '\0';
    for (int i = 0; names[i] && j < n; i++)
        j += (size_t)snprintf(buf + j, n - j, "%s%s", i ? ", " : "", names[i]);
}

static int find_key(const char *section, const char *key)
{
    for (int i = 0; i < NKEYS; i++)
        if (!strcmp(keys[i].section, section) && !strcmp(keys[i].key, key)) return i;
    return -1;
}

static int section_known(const char *section)
{
    for (int i = 0; i < NKEYS; i++)
        if (!strcmp(keys[i].section, section)) return 1;
    return 0;
}

/* Levenshtein distance, case-insensitive, for "did you mean" (names are short). */
static size_t edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 63 || lb > 63) return 99;
    size_t row[64];
    for (size_t j = 0; j <= lb; j++) row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j];
            size_t best = diag + (lower(a[i - 1]) != lower(b[j - 1]));
            if (row[j] + 1 < best) best = row[j] + 1;
            if (row[j - 1] + 1 < best) best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}

static int close_enough(const char *typed, const char *known)
{
    size_t d = edit_distance(typed, known), len = strlen(known);
    return d <= (len <= 3 ? 1u : 2u) && d < len;
}

/* Hint for an unknown section: " (did you mean [flow]?)" or the list of sections. */
static void section_hint(const char *section, char *buf, size_t n)
{
    const char *best = NULL;
    size_t bestd = 99, j = 0;
    for (int i = 0; i < NKEYS; i++) {
        if (i && !strcmp(keys[i].section, keys[i - 1].section)) continue;
        size_t d = edit_distance(section, keys[i].section);
        if (close_enough(section, keys[i].section) && d < bestd) best = keys[i].section, bestd = d;
    }
    if (best) {
        snprintf(buf, n, " (did you mean [%s]?)", best);
        return;
    }
    j = (size_t)snprintf(buf, n, " (sections:");
    for (int i = 0; i < NKEYS && j < n; i++)
        if (!i || strcmp(keys[i].section, keys[i - 1].section))
            j += (size_t)snprintf(buf + j, n - j, " [%s]", keys[i].section);
    if (j < n) snprintf(buf + j, n - j, ")");
}

/* Hint for an unknown key: a close key of the section, the section the key belongs
 * to, or the section's keys. */
static void key_hint(const char *section, const char *key, char *buf, size_t n)
{
    const char *best = NULL;
    size_t bestd = 99, j;
    for (int i = 0; i < NKEYS; i++) {
        if (strcmp(keys[i].section, section)) continue;
        size_t d = edit_distance(key, keys[i].key);
        if (close_enough(key, keys[i].key) && d < bestd) best = keys[i].key, bestd = d;
    }
    if (best) {
        snprintf(buf, n, " (did you mean \"%s\"?)", best);
        return;
    }
    for (int i = 0; i < NKEYS; i++)
        if (!strcmp(keys[i].key, key)) {
            snprintf(buf, n, " (\"%s\" belongs in [%s])", key, keys[i].section);
            return;
        }
    j = (size_t)snprintf(buf, n, " (keys of [%s]:", section);
    for (int i = 0; i < NKEYS && j < n; i++)
        if (!strcmp(keys[i].section, section))
            j += (size_t)snprintf(buf + j, n - j, " %s", keys[i].key);
    if (j < n) snprintf(buf + j, n - j, ")");
}

/* "> 0", ">= 1", "in [0, 1)", "odd and >= 1"; "" if unconstrained. */
static void range_text(const pf_key *k, char *buf, size_t n)
{
    const char *odd = (k->flags & R_ODD) ? "odd and " : "";
    if ((k->flags & R_MIN) && (k->flags & R_MAX))
        snprintf(buf, n, "%sin %c%g, %g%c", odd, (k->flags & R_MIN_X) ? '(' : '[', k->min, k->max,
                 (k->flags & R_MAX_X) ? ')' : ']');
    else if (k->flags & R_MIN)
        snprintf(buf, n, "%s%s %g", odd, (k->flags & R_MIN_X) ? ">" : ">=", k->min);
    else if (k->flags & R_MAX)
        snprintf(buf, n, "%s%s %g", odd, (k->flags & R_MAX_X) ? "<" : "<=", k->max);
    else
        snprintf(buf, n, "%s", (k->flags & R_ODD) ? "odd" : "");
}

static int check_range(const pf_key *k, double x, char *why, size_t n)
{
    int ok = 1;
    if (k->flags & R_MIN) ok &= (k->flags & R_MIN_X) ? x > k->min : x >= k->min;
    if (k->flags & R_MAX) ok &= (k->flags & R_MAX_X) ? x < k->max : x <= k->max;
    if (k->flags & R_ODD) ok &= fmod(x, 2.0) != 0.0;
    if (ok) return 0;
    char r[64];
    range_text(k, r, sizeof r);
    return fail(why, n, "must be %s", r);
}

/* ------------------------------------------------------------------------------------
 * Parsing one value (shared by files, --set, defaults and validation) */

static int parse_double(const char *v, double *out, char *why, size_t n)
{
    char *end;
    errno = 0;
    double x = strtod(v, &end);
    if (end == v) return fail(why, n, "not a number");
    if (*end) {
        char b[80];
        return fail(why, n, "not a number (unexpected \"%s\" after it)", show(end, b, sizeof b));
    }
    if (!isfinite(x)) return fail(why, n, "must be a finite number");
    *out = x; /* an underflow to 0 or a subnormal is accepted; ranges then apply */
    return 0;
}

static int parse_ll(const char *v, long long lo, long long hi, long long *out, char *why, size_t n)
{
    char *end;
    errno = 0;
    long long x = strtoll(v, &end, 10);
    if (end == v || *end) {
        char *dend;
        (void)strtod(v, &dend);
        if (end == v || (dend != v && !*dend)) return fail(why, n, "not an integer");
        char b[80];
        return fail(why, n, "not an integer (unexpected \"%s\" after it)", show(end, b, sizeof b));
    }
    if (errno == ERANGE || x < lo || x > hi)
        return fail(why, n, "integer out of range (%lld to %lld)", lo, hi);
    *out = x;
    return 0;
}

static int parse_u64(const char *v, uint64_t *out, char *why, size_t n)
{
    const char *p = v;
    while (is_space(*p)) p++;
    if (*p == '-') return fail(why, n, "must be a non-negative integer");
    char *end;
    errno = 0;
    unsigned long long x = strtoull(v, &end, 10);
    if (end == v || *end) return fail(why, n, "not a non-negative integer");
    if (errno == ERANGE) /* unsigned long long is 64-bit wherever uint64_t is */
        return fail(why, n, "integer out of range (0 to %" PRIu64 ")", UINT64_MAX);
    *out = (uint64_t)x;
    return 0;
}

static int parse_list(const pf_key *k, const char *v, pf_config *c, char *why, size_t n)
{
    int vals[PF_MAX_WIDTHS], cnt = 0;
    const char *p = v;
    for (;;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        char *item = trim_dup(p, len);
        if (!item) return fail(why, n, "out of memory");
        long long x = 0;
        char sub[200];
        int bad = 0;
        if (!*item)
            bad = fail(why, n, "entry %d is empty (expected comma-separated integers, e.g. 64,64)", cnt + 1);
        else if (cnt == PF_MAX_WIDTHS)
            bad = fail(why, n, "more than %d entries", PF_MAX_WIDTHS);
        else if (parse_ll(item, INT_MIN, INT_MAX, &x, sub, sizeof sub) ||
                 check_range(k, (double)x, sub, sizeof sub)) {
            char b[80];
            bad = fail(why, n, "entry %d (\"%s\"): %s", cnt + 1, show(item, b, sizeof b), sub);
        }
        free(item);
        if (bad) return 1;
        vals[cnt++] = (int)x;
        if (!comma) break;
        p = comma + 1;
    }
    int *arr = AT(c, k, int);
    int *count = (int *)(void *)((char *)c + k->off_n);
    memset(arr, 0, PF_MAX_WIDTHS * sizeof(int)); /* unused entries zero: structs compare */
    memcpy(arr, vals, (size_t)cnt * sizeof(int));
    *count = cnt;
    return 0;
}

/* Parse text v (already trimmed) as the value of key k into *c.  On failure c is
 * unchanged and the reason (without location) is written into why. */
static int parse_value(const pf_key *k, const char *v, pf_config *c, char *why, size_t n)
{
    if (!*v && !(k->type == KT_STRING && (k->flags & R_EMPTY))) return fail(why, n, "empty value");
    switch (k->type) {
    case KT_DOUBLE: {
        double x = 0;
        if (parse_double(v, &x, why, n) || check_range(k, x, why, n)) return 1;
        *AT(c, k, double) = x;
        return 0;
    }
    case KT_INT:
    case KT_LONG: {
        long long x = 0;
        int is_int = k->type == KT_INT;
        if (parse_ll(v, is_int ? INT_MIN : LONG_MIN, is_int ? INT_MAX : LONG_MAX, &x, why, n) ||
            check_range(k, (double)x, why, n))
            return 1;
        if (is_int)
            *AT(c, k, int) = (int)x;
        else
            *AT(c, k, long) = (long)x;
        return 0;
    }
    case KT_U64:
        return parse_u64(v, AT(c, k, uint64_t), why, n);
    case KT_BOOL:
        if (!strcmp(v, "1") || ci_equal(v, "true")) *AT(c, k, int) = 1;
        else if (!strcmp(v, "0") || ci_equal(v, "false")) *AT(c, k, int) = 0;
        else return fail(why, n, "not a boolean (allowed: true, false, 1, 0)");
        return 0;
    case KT_ENUM:
        for (int i = 0; k->names[i]; i++)
            if (!strcmp(v, k->names[i])) {
                *AT(c, k, int) = i;
                return 0;
            }
        {
            char all[200], b[80];
            join_names(k->names, all, sizeof all);
            return fail(why, n, "unknown value \"%s\" (allowed: %s)", show(v, b, sizeof b), all);
        }
    case KT_STRING: {
        size_t len = strlen(v);
        if (len >= PF_STR) return fail(why, n, "too long (%zu characters; at most %d)", len, PF_STR - 1);
        for (size_t i = 0; i < len; i++) {
            if ((unsigned char)v[i] < 32 || v[i] == 127)
                return fail(why, n, "contains a control character");
            /* INI would read it back as a comment: keeps pf_config_to_ini round-trippable */
            if (v[i] == ';' && (i == 0 || is_space(v[i - 1])))
                return fail(why, n, "contains a ';' after a space (INI reads that as a comment)");
        }
        char *dst = AT(c, k, char);
        memset(dst, 0, PF_STR); /* no stale bytes after the NUL: structs compare */
        memcpy(dst, v, len);
        return 0;
    }
    case KT_INTLIST:
        return parse_list(k, v, c, why, n);
    }
    return fail(why, n, "internal error: unknown key type");
}

/* ------------------------------------------------------------------------------------
 * Formatting one value (to_ini, visit, validate, messages) */

/* Shortest %.Ng that reads back to the same double (at most %.17g, always exact). */
static void format_double(double x, char *buf, size_t n)
{
    for (int p = 1; p <= 17; p++) {
        snprintf(buf, n, "%.*g", p, x);
        if (strtod(buf, NULL) == x) return;
    }
    snprintf(buf, n, "%.17g", x);
}

static void format_value(const pf_config *c, const pf_key *k, char *buf, size_t n)
{
    switch (k->type) {
    case KT_DOUBLE: format_double(*CAT(c, k, double), buf, n); return;
    case KT_INT: snprintf(buf, n, "%d", *CAT(c, k, int)); return;
    case KT_LONG: snprintf(buf, n, "%ld", *CAT(c, k, long)); return;
    case KT_U64: snprintf(buf, n, "%" PRIu64, *CAT(c, k, uint64_t)); return;
    case KT_BOOL: snprintf(buf, n, "%s", *CAT(c, k, int) ? "true" : "false"); return;
    case KT_ENUM: snprintf(buf, n, "%s", enum_name(k->names, *CAT(c, k, int))); return;
    case KT_STRING: snprintf(buf, n, "%.*s", PF_STR - 1, CAT(c, k, char)); return;
    case KT_INTLIST: {
        const int *arr = CAT(c, k, int);
        int cnt = *(const int *)(const void *)((const char *)c + k->off_n);
        size_t j = 0;
        buf[0] = '\0';
        if (cnt < 0 || cnt > PF_MAX_WIDTHS) cnt = 0; /* corrupt: validate reports it as empty */
        for (int i = 0; i < cnt && j < n; i++)
            j += (size_t)snprintf(buf + j, n - j, "%s%d", i ? "," : "", arr[i]);
        return;
    }
    }
    buf[0] = '\0';
}

/* ------------------------------------------------------------------------------------
 * Defaults */

void pf_config_defaults(pf_config *c)
{
    memset(c, 0, sizeof *c); /* also zeroes padding and provenance */
    for (int i = 0; i < NKEYS; i++) {
        char why[256];
        if (parse_value(&keys[i], keys[i].def, c, why, sizeof why)) {
            /* a bad default is a bug in the table above, caught by test_config */
            fprintf(stderr, "proxflow: internal error: default of [%s] %s = %s: %s\n",
                    keys[i].section, keys[i].key, keys[i].def, why);
            abort();
        }
    }
}

/* ------------------------------------------------------------------------------------
 * Loading a file */

typedef struct {
    const char *path;
    char *text;           /* the whole file; the reader NUL-terminates lines in place */
    size_t len, pos;
    int line;             /* physical line last handed to inih                       */
    const char *cur;      /* that line's text                                        */
    char *long_value;     /* value of an over-long key line (see read_line)           */
    int err_line;         /* line of our first error (0 = none)                      */
    char *err;
    size_t errlen;
    pf_config *c;
    int last_key;         /* key set by the previous handler call                    */
    int seen[PF_CONFIG_MAX_KEYS]; /* line where each key was set in this file (0 = not) */
} load_ctx;

static void load_error(load_ctx *x, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void load_error(load_ctx *x, const char *fmt, ...)
{
    if (x->err_line) return; /* the first error wins */
    x->err_line = x->line;
    if (x->err && x->errlen) {
        int m = snprintf(x->err, x->errlen, "%s:%d: ", x->path, x->line);
        if (m >= 0 && (size_t)m < x->errlen) {
            va_list ap;
            va_start(ap, fmt);
            vsnprintf(x->err + m, x->errlen - (size_t)m, fmt, ap);
            va_end(ap);
        }
    }
}


/* The line as inih sees it: after a UTF-8 BOM on line 1. */
static const char *skip_bom(const load_ctx *x, const char *s)
{
    if (x->line == 1 && (unsigned char)s[0] == 0xEF && (unsigned char)s[1] == 0xBB &&
        (unsigned char)s[2] == 0xBF)
        return s + 3;
    return s;
}

/* inih does not report section headers: check them here so an unknown [section]
 * is an error even with no keys under it.  Returns 1 on error. */
static int check_section_header(load_ctx *x, const char *s)
{
    const char *p = skip_bom(x, s);
    while (is_space(*p)) p++;
    if (*p != '[') return 0;
    const char *e = pf_ini_find_chars_or_comment(p + 1, "]");
    if (*e != ']') return 0; /* inih reports the syntax error */
    char name[64], b[80], hint[200];
    size_t len = (size_t)(e - p - 1);
    if (len >= sizeof name) len = sizeof name - 1;
    memcpy(name, p + 1, len);
    name[len] = '\0';
    if (section_known(name)) return 0;
    section_hint(name, hint, sizeof hint);
    load_error(x, "[%s]: unknown section%s", show(name, b, sizeof b), hint);
    return 1;
}

/* ini_reader: hand inih one physical line per call (see the top of the file). */
static char *read_line(char *str, int num, void *stream)
{
    load_ctx *x = stream;
    if (x->err_line || x->pos >= x->len || num < 8) return NULL; /* stop at our first error */
    char *s = x->text + x->pos;
    char *nl = memchr(s, '\n', x->len - x->pos);
    size_t n = nl ? (size_t)(nl - s) : x->len - x->pos;
    s[n] = '\0'; /* the '\n' (or the spare byte after the text) */
    x->pos += n + 1;
    x->line++;
    x->cur = s;
    if (check_section_header(x, s)) return NULL;
    if (n < (size_t)num) {
        memcpy(str, s, n + 1);
        return str;
    }
    /* Longer than inih's buffer.  A comment becomes an empty comment; a key line is
     * handed over as "name=\x01" with its value (found as inih would: up to an inline
     * comment, trimmed) kept for the handler. */
    const char *p = skip_bom(x, s), *start = p;
    while (is_space(*start)) start++;
    if (*start == ';' || *start == '#') {
        snprintf(str, (size_t)num, ";");
        return str;
    }
    if (*start == '[') { /* a known [section] (checked above) with a long comment */
        const char *e = pf_ini_find_chars_or_comment(start + 1, "]");
        if (*e == ']' && (size_t)(e - start) + 2 <= (size_t)num) {
            memcpy(str, start, (size_t)(e - start) + 1);
            str[e - start + 1] = '\0';
            return str;
        }
    }
    const char *e = pf_ini_find_chars_or_comment(start, "=:");
    size_t name_len = (size_t)(e - start);
    if (start == p && *start != '[' && (*e == '=' || *e == ':') && name_len + 3 < (size_t)num) {
        const char *v = e + 1, *ve = pf_ini_find_chars_or_comment(v, NULL);
        free(x->long_value);
        x->long_value = trim_dup(v, (size_t)(ve - v));
        if (!x->long_value) {
            load_error(x, "out of memory");
            return NULL;
        }
        memcpy(str, start, name_len);
        memcpy(str + name_len, "=\x01", 3);
        return str;
    }
    load_error(x, "line too long (%zu characters)", n);
    return NULL;
}

static void handle_kv(load_ctx *x, const char *section, const char *name, const char *value)
{
    char b[80], why[300], hint[300];
    if (!*section) {
        load_error(x, "%s: key outside any section (put it under its [section])", show(name, b, sizeof b));
        return;
    }
    int idx = find_key(section, name);
    if (idx < 0) {
        key_hint(section, name, hint, sizeof hint);
        load_error(x, "[%s] %s: unknown key%s", section, show(name, b, sizeof b), hint);
        return;
    }
    const pf_key *k = &keys[idx];
    if (is_space(skip_bom(x, x->cur)[0]) && idx == x->last_key) {
        /* inih (multi-line mode) reads an indented line as more of the previous value */
        load_error(x, "[%s] %s: indented line read as a continuation of \"%s\" "
                      "(continuation lines are not supported; remove the indentation)",
                   k->section, k->key, k->key);
        return;
    }
    if (x->seen[idx]) {
        load_error(x, "[%s] %s: duplicate key (first set on line %d)", k->section, k->key, x->seen[idx]);
        return;
    }
    if (parse_value(k, value, x->c, why, sizeof why)) {
        load_error(x, "[%s] %s = %s: %s", k->section, k->key, show(value, b, sizeof b), why);
        return;
    }
    x->seen[idx] = x->line;
    x->c->src_line[idx] = x->line;
    x->last_key = idx;
}

static int handle(void *user, const char *section, const char *name, const char *value)
{
    load_ctx *x = user;
    char *lv = NULL;
    if (x->err_line) return 1;
    if (!value) value = "";
    if (value[0] == '\x01' && !value[1] && x->long_value) { /* see read_line */
        lv = x->long_value;
        x->long_value = NULL;
        value = lv;
    }
    handle_kv(x, section, name, value);
    free(lv);
    return 1; /* errors are ours to report (with line and key), not inih's */
}


/* 1-based line number of byte offset off. */
static int line_of(const char *text, size_t off)
{
    int line = 1;
    for (size_t i = 0; i < off; i++) line += text[i] == '\n' || text[i] == '\0';
    return line;
}

int pf_config_load(pf_config *c, const char *path, char *err, size_t errlen)
{
    size_t len = 0;
    char *text = pf_read_text_file(path, "", &len, err, errlen);
    if (!text) return 1;
    const char *nul = memchr(text, '\0', len);
    if (nul) {
        fail(err, errlen, "%s:%d: not a text file (contains a NUL byte); expected an INI file",
             path, line_of(text, (size_t)(nul - text)));
        free(text);
        return 1;
    }

    /* Work on a copy so a failed load leaves *c untouched. */
    pf_config tmp = *c;
    for (int i = 0; i < PF_CONFIG_MAX_KEYS; i++)
        if (tmp.src_line[i] > 0) tmp.src_line[i] = 0; /* lines of an earlier file */
    memset(tmp.src_file, 0, sizeof tmp.src_file);
    snprintf(tmp.src_file, sizeof tmp.src_file, "%s", path);

    load_ctx x;
    memset(&x, 0, sizeof x);
    x.path = path;
    x.text = text;
    x.len = len;
    x.err = err;
    x.errlen = errlen;
    x.c = &tmp;
    x.last_key = -1;
    int ret = ini_parse_stream(read_line, &x, handle, &x);
    free(x.long_value);

    int status = 0;
    if (ret > 0 && (!x.err_line || ret < x.err_line)) {
        /* inih's own parse error (no '=' or ':', unterminated [section]); the reader
         * replaced each '\n' by '\0', so walk to line ret over those. */
        const char *s = text;
        for (int l = 1; l < ret && s < text + len; l++) s += strlen(s) + 1;
        char b[80];
        fail(err, errlen, "%s:%d: syntax error: expected [section], key = value or a ; comment, "
                          "got \"%s\"", path, ret, s < text + len ? show(s, b, sizeof b) : "");
        status = 1;
    } else if (x.err_line) {
        status = 1;
    } else if (ret < 0) {
        fail(err, errlen, "%s: cannot parse (libinih error %d)", path, ret);
        status = 1;
    }
    free(text);
    if (!status) *c = tmp;
    return status;
}

/* ------------------------------------------------------------------------------------
 * --set section.key=value */

int pf_config_set(pf_config *c, const char *assignment, char *err, size_t errlen)
{
    char opt[80], b[80], hint[300], why[300];
    if (!assignment) return fail(err, errlen, "--set: missing section.key=value");
    show(assignment, opt, sizeof opt);
    const char *eq = strchr(assignment, '=');
    if (!eq) return fail(err, errlen, "--set %s: expected section.key=value (no '=')", opt);
    const char *dot = memchr(assignment, '.', (size_t)(eq - assignment));
    if (!dot) return fail(err, errlen, "--set %s: expected section.key=value (no '.' before '=')", opt);

    char *section = trim_dup(assignment, (size_t)(dot - assignment));
    char *key = trim_dup(dot + 1, (size_t)(eq - dot - 1));
    char *value = trim_dup(eq + 1, strlen(eq + 1));
    int status = 1;
    if (!section || !key || !value) {
        fail(err, errlen, "--set %s: out of memory", opt);
    } else if (!section_known(section)) {
        section_hint(section, hint, sizeof hint);
        fail(err, errlen, "--set %s: [%s]: unknown section%s", opt, show(section, b, sizeof b), hint);
    } else {
        int idx = find_key(section, key);
        if (idx < 0) {
            key_hint(section, key, hint, sizeof hint);
            fail(err, errlen, "--set %s: [%s] %s: unknown key%s", opt, section, show(key, b, sizeof b), hint);
        } else {
            pf_config tmp = *c;
            if (parse_value(&keys[idx], value, &tmp, why, sizeof why)) {
                fail(err, errlen, "--set %s: [%s] %s: %s", opt, section, key, why);
            } else {
                tmp.src_line[idx] = -1;
                *c = tmp;
                status = 0;
            }
        }
    }
    free(section);
    free(key);
    free(value);
    return status;
}

/* ------------------------------------------------------------------------------------
 * Validation */

/* Where key idx got its value: "file:line", "--set section.key" or "default". */
static void origin(const pf_config *c, int idx, char *buf, size_t n)
{
    int line = c->src_line[idx];
    if (line > 0)
        snprintf(buf, n, "%.*s:%d", PF_STR - 1, c->src_file, line);
    else if (line < 0)
        snprintf(buf, n, "--set %s.%s", keys[idx].section, keys[idx].key);
    else
        snprintf(buf, n, "default");
}

/* "x.ini:7: [data] reference_low = 2 must be < [data] reference_high = 1 (x.ini:8)",
 * led by whichever of the two keys was set explicitly. */
static int cross_fail(const pf_config *c, int a, const char *rel, int b, const char *inv,
                      char *err, size_t errlen)
{
    if (c->src_line[a] == 0 && c->src_line[b] != 0) {
        int t = a;
        a = b, b = t, rel = inv;
    }
    char oa[PF_STR + 16], ob[PF_STR + 16], va[VALBUF], vb[VALBUF];
    origin(c, a, oa, sizeof oa);
    origin(c, b, ob, sizeof ob);
    format_value(c, &keys[a], va, sizeof va);
    format_value(c, &keys[b], vb, sizeof vb);
    return fail(err, errlen, "%s: [%s] %s = %s must be %s [%s] %s = %s (%s)", oa, keys[a].section,
                keys[a].key, va, rel, keys[b].section, keys[b].key, vb, ob);
}

static int small_mlp(const pf_net_config *n)
{
    if (n->arch != PF_ARCH_MLP) return 0;
    for (int k = 0; k < n->n_widths; k++)
        if (n->widths[k] > 128) return 0;
    return 1;
}

int pf_config_small_mlps(const pf_config *c)
{
    return small_mlp(&c->potential) && small_mlp(&c->discriminator);
}

int pf_config_validate(const pf_config *c, char *err, size_t errlen)
{
    /* Every key again, by formatting it and parsing the text back: catches values set
     * in code (e.g. c->steps = 0) with the same messages as a file. */
    pf_config *scratch = malloc(sizeof *scratch);
    if (!scratch) return fail(err, errlen, "out of memory");
    for (int i = 0; i < NKEYS; i++) {
        char v[VALBUF], why[300], o[PF_STR + 16], b[80];
        format_value(c, &keys[i], v, sizeof v);
        if (parse_value(&keys[i], v, scratch, why, sizeof why)) {
            origin(c, i, o, sizeof o);
            free(scratch);
            return fail(err, errlen, "%s: [%s] %s = %s: %s", o, keys[i].section, keys[i].key,
                        show(v, b, sizeof b), why);
        }
    }
    free(scratch);

    /* [data] source: a synthetic name or something that looks like a file (the file
     * itself is opened, and its errors named, when the data are opened). */
    if (!pf_data_source_is_file(c->source)) {
        int ok = 0;
        char list[512] = "";
        for (int k = 0; pf_synthetic_names[k]; k++) {
            ok |= !strcmp(c->source, pf_synthetic_names[k]);
            strncat(list, k ? ", " : "", sizeof list - strlen(list) - 1);
            strncat(list, pf_synthetic_names[k], sizeof list - strlen(list) - 1);
        }
        if (!ok) {
            char o[PF_STR + 16], b[80];
            origin(c, find_key("data", "source"), o, sizeof o);
            return fail(err, errlen, "%s: [data] source = %s: unknown data source '%s' (synthetic "
                        "sources: %s; or FILE.h5:/DATASET, or an MNIST IDX file)", o,
                        show(c->source, b, sizeof b), c->source, list);
        }
    }

    /* Checks that involve several keys. */
    int lo = find_key("data", "reference_low"), hi = find_key("data", "reference_high");
    if (!(c->ref_low < c->ref_high)) return cross_fail(c, lo, "<", hi, ">", err, errlen);
    return 0;
}

/* ------------------------------------------------------------------------------------
 * Output: visit, INI text, Markdown reference */

void pf_config_visit(const pf_config *c, pf_config_visit_fn fn, void *user)
{
    char v[VALBUF];
    for (int i = 0; i < NKEYS; i++) {
        format_value(c, &keys[i], v, sizeof v);
        fn(keys[i].section, keys[i].key, v, user);
    }
}

/* A growable string; on allocation failure it stays failed and yields NULL. */
typedef struct {
    char *p;
    size_t len, cap;
    int oom;
} strbuf;

static void sb_printf(strbuf *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_printf(strbuf *s, const char *fmt, ...)
{
    if (s->oom) return;
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (m < 0) {
        s->oom = 1;
        return;
    }
    if (s->len + (size_t)m + 1 > s->cap) {
        size_t cap = s->cap ? s->cap : 1024;
        while (cap < s->len + (size_t)m + 1) cap *= 2;
        char *np = realloc(s->p, cap);
        if (!np) {
            s->oom = 1;
            return;
        }
        s->p = np;
        s->cap = cap;
    }
    va_start(ap, fmt);
    vsnprintf(s->p + s->len, s->cap - s->len, fmt, ap);
    va_end(ap);
    s->len += (size_t)m;
}

static char *sb_finish(strbuf *s)
{
    if (s->oom) {
        free(s->p);
        return NULL;
    }
    return s->p;
}

char *pf_config_to_ini(const pf_config *c)
{
    strbuf s = {0};
    char v[VALBUF];
    sb_printf(&s, "; proxflow configuration (every key, resolved)\n");
    for (int i = 0; i < NKEYS; i++) {
        if (!i || strcmp(keys[i].section, keys[i - 1].section))
            sb_printf(&s, "%s[%s]\n", i ? "\n" : "", keys[i].section);
        format_value(c, &keys[i], v, sizeof v);
        sb_printf(&s, "%s = %s\n", keys[i].key, v);
    }
    return sb_finish(&s);
}

static const char *type_name(key_type t)
{
    switch (t) {
    case KT_DOUBLE: return "double";
    case KT_INT: return "int";
    case KT_LONG: return "int (64-bit)";
    case KT_U64: return "uint64";
    case KT_STRING: return "string";
    case KT_ENUM: return "enum";
    case KT_INTLIST: return "int list";
    case KT_BOOL: return "bool";
    }
    return "?";
}

char *pf_config_reference_md(void)
{
    strbuf s = {0};
    for (int i = 0; i < NKEYS; i++) {
        const pf_key *k = &keys[i];
        if (!i || strcmp(k->section, keys[i - 1].section))
            sb_printf(&s, "%s### [%s]\n\n| key | type | default | allowed | meaning |\n"
                          "|---|---|---|---|---|\n", i ? "\n" : "", k->section);
        char allowed[300], r[64];
        range_text(k, r, sizeof r);
        switch (k->type) {
        case KT_ENUM: {
            size_t j = 0;
            allowed[0] = '\0';
            for (int e = 0; k->names[e]; e++)
                j += (size_t)snprintf(allowed + j, sizeof allowed - j, "%s`%s`", e ? ", " : "", k->names[e]);
            break;
        }
        case KT_BOOL: snprintf(allowed, sizeof allowed, "`true`, `false`, `1`, `0`"); break;
        case KT_U64: snprintf(allowed, sizeof allowed, "0 to 2^64-1"); break;
        case KT_STRING:
            snprintf(allowed, sizeof allowed, "non-empty, at most %d characters", PF_STR - 1);
            break;
        case KT_INTLIST:
            snprintf(allowed, sizeof allowed, "1 to %d comma-separated ints, each %s", PF_MAX_WIDTHS, r);
            break;
        case KT_DOUBLE: snprintf(allowed, sizeof allowed, "%s", *r ? r : "any finite number"); break;
        default: snprintf(allowed, sizeof allowed, "%s", *r ? r : "any"); break;
        }
        sb_printf(&s, "| `%s` | %s | `%s` | %s | %s |\n", k->key, type_name(k->type), k->def,
                  allowed, k->doc);
    }
    sb_printf(&s, "\n"); /* a blank line ends the last table */
    return sb_finish(&s);
}

/* ------------------------------------------------------------------------------------
 * Enum names */

const char *pf_mode_name(pf_mode m) { return enum_name(mode_names, (int)m); }
const char *pf_fdiv_name(pf_fdiv f) { return enum_name(fdiv_names, (int)f); }
const char *pf_act_name(pf_act a) { return enum_name(act_names, (int)a); }
