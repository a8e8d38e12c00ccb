/* test_config: defaults, parsing, round trip, --set, and rejection of malformed
 * configs with messages naming the file, line and key (SPEC §5).
 * "test_config --update-doc docs/CONFIG.md" rewrites the generated key reference in
 * that file (between the BEGIN/END markers) from the key table in src/config/. */
#include "testutil.h"

#include "proxflow/config/config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char tmpdir[256];
static int nfiles = 0;

/* Write content (len bytes; len < 0: a C string) to a new file in tmpdir; returns its path. */
static const char *write_file(const char *content, long len)
{
    static char paths[128][300];
    char *p = paths[nfiles % 128];
    snprintf(p, 300, "%s/cfg%03d.ini", tmpdir, nfiles++);
    FILE *f = fopen(p, "wb");
    if (!f) {
        perror(p);
        exit(1);
    }
    fwrite(content, 1, len < 0 ? strlen(content) : (size_t)len, f);
    fclose(f);
    return p;
}

/* Compare two configs ignoring provenance (src_file, src_line). */
static int same_settings(const pf_config *a, const pf_config *b)
{
    pf_config x = *a, y = *b;
    memset(x.src_file, 0, sizeof x.src_file);
    memset(y.src_file, 0, sizeof y.src_file);
    memset(x.src_line, 0, sizeof x.src_line);
    memset(y.src_line, 0, sizeof y.src_line);
    return memcmp(&x, &y, sizeof x) == 0;
}

/* A malformed file must fail to load (or, with validate, to validate) with a message
 * containing the path, ":LINE:" and each of up to two fragments. */
static void expect_bad(const char *what, const char *content, long len, int line, const char *frag1,
                       const char *frag2, int via_validate)
{
    pf_config c;
    pf_config_defaults(&c);
    pf_config before = c;
    const char *path = write_file(content, len);
    char err[1024] = "";
    int rc = pf_config_load(&c, path, err, sizeof err);
    if (via_validate) {
        CHECK(rc == 0, "%s: should load (validation fails later): %s", what, err);
        rc = pf_config_validate(&c, err, sizeof err);
    } else {
        CHECK(same_settings(&c, &before), "%s: a failed load changed the config", what);
    }
    CHECK(rc != 0, "%s: accepted", what);
    char at[400];
    snprintf(at, sizeof at, "%s:%d:", path, line);
    CHECK(strstr(err, at) != NULL, "%s: message lacks \"%s\": %s", what, at, err);
    if (frag1) CHECK(strstr(err, frag1) != NULL, "%s: message lacks \"%s\": %s", what, frag1, err);
    if (frag2) CHECK(strstr(err, frag2) != NULL, "%s: message lacks \"%s\": %s", what, frag2, err);
    printf("  %-28s -> %s\n", what, err);
}

static void test_defaults(void)
{
    pf_config c;
    pf_config_defaults(&c);
    CHECK(c.mode == PF_MODE_W1W2 && c.lambda == 1.0 && c.T == 1.0 && c.steps == 10, "flow defaults");
    CHECK(c.f == PF_F_KL && c.alpha == 2.0 && c.kinetic_reference == 0, "flow defaults 2");
    CHECK(c.L == 1.0 && c.mu == 1.0, "lipschitz defaults");
    const pf_net_config *p = &c.potential, *d = &c.discriminator;
    CHECK(p->arch == PF_ARCH_MLP && p->n_widths == 3 && p->widths[0] == 64 && p->widths[2] == 64,
          "potential widths");
    CHECK(p->activation == PF_ACT_TANH && p->lr == 5e-4 && p->beta1 == 0.5 && p->beta2 == 0.9 &&
              p->eps == 1e-8, "potential optimizer");
    CHECK(p->n_channels == 2 && p->channels[0] == 8 && p->channels[1] == 8 && p->kernel == 7,
          "potential cnn");
    CHECK(d->arch == PF_ARCH_MLP && d->n_widths == 3 && d->widths[1] == 64, "discriminator widths");
    CHECK(d->activation == PF_ACT_RELU && d->lr == 1e-4 && d->beta1 == 0.5 && d->beta2 == 0.9 &&
              d->eps == 1e-8, "discriminator optimizer");
    CHECK(d->n_channels == 2 && d->kernel == 7, "discriminator cnn");
    CHECK(c.iterations == 1000 && c.batch == 256 && c.n_disc == 5 && c.seed == 1 && c.threads == 0,
          "train defaults");
    CHECK(!strcmp(c.source, "8gaussians") && c.dim == 8 && c.manifold_dim == 1 && c.noise == 0.0 &&
              c.data_scale == 1.0 && c.n_train == 0, "data defaults");
    CHECK(c.reference == PF_REF_NORMAL && c.ref_scale == 1.0 && c.ref_low == 0.0 && c.ref_high == 1.0,
          "reference defaults");
    CHECK(!strcmp(c.out_dir, "runs/proxflow") && c.log_every == 10 && c.checkpoint_every == 100 &&
              c.trajectory_every == 0 && c.keep == 3 && c.n_traj == 64 && c.diag_batch == 256,
          "output defaults");
    char err[512] = "";
    CHECK(pf_config_validate(&c, err, sizeof err) == 0, "defaults must validate: %s", err);

    CHECK(!strcmp(pf_mode_name(PF_MODE_W1W2), "w1w2") && !strcmp(pf_mode_name(PF_MODE_NONE), "none"),
          "mode names");
    CHECK(!strcmp(pf_fdiv_name(PF_F_KL_LEGENDRE), "kl_legendre") && !strcmp(pf_fdiv_name(PF_F_ALPHA), "alpha"),
          "fdiv names");
    CHECK(!strcmp(pf_act_name(PF_ACT_SILU), "silu") && !strcmp(pf_act_name(PF_ACT_SOFTPLUS), "softplus"),
          "act names");
    CHECK(!strcmp(pf_mode_name((pf_mode)42), "?"), "out-of-range enum name");
}

static const char *full_ini =
    "; a full config with every section\r\n"
    "# hash comments too\n"
    "[flow]\n"
    "mode = w1\n"
    "lambda = 0.05 ; inline comment\n"
    "T = 5\n"
    "steps = 5\n"
    "f = alpha\n"
    "alpha = 1.5\n"
    "kinetic_reference = true\n"
    "\n"
    "[lipschitz]\n"
    "L = 2.5\n"
    "mu = 0.1\n"
    "[potential]\n"
    "arch = cnn\n"
    "widths = 512, 512,512\n"
    "activation = silu\n"
    "lr = 2e-3\n"
    "beta1 = 0\n"
    "beta2 = 0.999\n"
    "eps = 1e-6\n"
    "channels = 8,16,32\n"
    "kernel = 5\n"
    "[discriminator]\n"
    "arch = mlp\n"
    "widths = 256\n"
    "activation = softplus\n"
    "lr = 3e-4\n"
    "beta1 = 0.25\n"
    "beta2 = 0.5\n"
    "eps = 1e-7\n"
    "channels = 4\n"
    "kernel = 1\n"
    "[train]\n"
    "iterations = 5000\n"
    "batch = 200\n"
    "n_disc = 3\n"
    "seed = 18446744073709551615\n"
    "threads = 4\n"
    "[data]\n"
    "source = /data/mnist.h5:/train/images\n"
    "dim = 784\n"
    "manifold_dim = 2\n"
    "noise = 0.01\n"
    "scale = 0.5\n"
    "n_train = 6000\n"
    "reference = uniform\n"
    "reference_scale = 2\n"
    "reference_low = 0\n"
    "reference_high = 0.5\n"
    "[output]\n"
    "dir = runs/mnist w1\n"
    "log_every = 20\n"
    "checkpoint_every = 0\n"
    "trajectory_every = 50\n"
    "keep = 7\n"
    "n_traj = 16\n"
    "diag_batch = 128\n";

static void check_full(const pf_config *c)
{
    CHECK(c->mode == PF_MODE_W1 && c->lambda == 0.05 && c->T == 5 && c->steps == 5, "flow values");
    CHECK(c->f == PF_F_ALPHA && c->alpha == 1.5 && c->kinetic_reference == 1, "flow values 2");
    CHECK(c->L == 2.5 && c->mu == 0.1, "lipschitz values");
    const pf_net_config *p = &c->potential, *d = &c->discriminator;
    CHECK(p->arch == PF_ARCH_CNN && p->n_widths == 3 && p->widths[0] == 512 && p->widths[1] == 512 &&
              p->widths[2] == 512 && p->widths[3] == 0, "potential widths");
    CHECK(p->activation == PF_ACT_SILU && p->lr == 2e-3 && p->beta1 == 0 && p->beta2 == 0.999 &&
              p->eps == 1e-6, "potential optimizer");
    CHECK(p->n_channels == 3 && p->channels[0] == 8 && p->channels[1] == 16 && p->channels[2] == 32 &&
              p->kernel == 5, "potential cnn");
    CHECK(d->arch == PF_ARCH_MLP && d->n_widths == 1 && d->widths[0] == 256 && d->widths[1] == 0,
          "discriminator widths");
    CHECK(d->activation == PF_ACT_SOFTPLUS && d->lr == 3e-4 && d->beta1 == 0.25 && d->beta2 == 0.5 &&
              d->eps == 1e-7, "discriminator optimizer");
    CHECK(d->n_channels == 1 && d->channels[0] == 4 && d->kernel == 1, "discriminator cnn");
    CHECK(c->iterations == 5000 && c->batch == 200 && c->n_disc == 3 &&
              c->seed == UINT64_C(18446744073709551615) && c->threads == 4, "train values");
    CHECK(!strcmp(c->source, "/data/mnist.h5:/train/images") && c->dim == 784 && c->manifold_dim == 2 &&
              c->noise == 0.01 && c->data_scale == 0.5 && c->n_train == 6000, "data values: %s", c->source);
    CHECK(c->reference == PF_REF_UNIFORM && c->ref_scale == 2 && c->ref_low == 0 && c->ref_high == 0.5,
          "reference values");
    CHECK(!strcmp(c->out_dir, "runs/mnist w1") && c->log_every == 20 && c->checkpoint_every == 0 &&
              c->trajectory_every == 50 && c->keep == 7 && c->n_traj == 16 && c->diag_batch == 128,
          "output values: %s", c->out_dir);
}

typedef struct {
    const char *ini; /* to_ini text, walked line by line */
    int n, bad;
} visit_state;

static void visit_cb(const char *section, const char *key, const char *value, void *user)
{
    visit_state *s = user;
    char want[1200];
    snprintf(want, sizeof want, "%s = %s\n", key, value);
    const char *hit = strstr(s->ini, want);
    if (!hit || !section || !*section) s->bad++;
    s->n++;
}

static void test_full_and_roundtrip(void)
{
    pf_config c;
    pf_config_defaults(&c);
    char err[1024] = "";
    const char *path = write_file(full_ini, -1);
    CHECK(pf_config_load(&c, path, err, sizeof err) == 0, "full file: %s", err);
    check_full(&c);
    CHECK(pf_config_validate(&c, err, sizeof err) == 0, "full file validates: %s", err);

    /* Round trip: to_ini -> load on top of defaults -> identical settings and text. */
    char *ini = pf_config_to_ini(&c);
    CHECK(ini != NULL, "to_ini");
    if (!ini) return;
    const char *order[] = {"[flow]", "[lipschitz]", "[potential]", "[discriminator]", "[train]", "[data]", "[output]"};
    const char *prev = ini;
    for (int i = 0; i < 7; i++) {
        const char *h = strstr(ini, order[i]);
        CHECK(h && h >= prev, "section %s in order", order[i]);
        if (h) prev = h;
    }
    pf_config r;
    pf_config_defaults(&r);
    const char *p2 = write_file(ini, -1);
    CHECK(pf_config_load(&r, p2, err, sizeof err) == 0, "reload to_ini: %s\n%s", err, ini);
    CHECK(same_settings(&c, &r), "round trip struct differs:\n%s", ini);
    char *ini2 = pf_config_to_ini(&r);
    CHECK(ini2 && !strcmp(ini, ini2), "round trip text differs");
    free(ini2);

    /* visit: every key, same text as to_ini (58: [output] eval_every and eval_n, issue 21) */
    visit_state vs = {ini, 0, 0};
    pf_config_visit(&c, visit_cb, &vs);
    int lines = 0;
    for (const char *q = ini; *q; q++) lines += *q == '\n';
    CHECK(vs.bad == 0, "visit text not in to_ini (%d)", vs.bad);
    CHECK(vs.n == 59 && lines == vs.n + 8 + 7 + 1, "visit saw %d keys, to_ini has %d lines", vs.n, lines);
    CHECK(vs.n <= PF_CONFIG_MAX_KEYS, "key capacity");
    free(ini);

    /* Awkward doubles, a path longer than libinih's 200-byte line buffer, extremes. */
    pf_config e;
    pf_config_defaults(&e);
    e.lambda = 0.1;
    e.T = 1.0 / 3.0;
    e.mu = 5e-324;
    e.L = 1.7976931348623157e308;
    e.ref_low = -0.0;
    e.ref_high = 2.0 / 7.0;
    e.iterations = 9223372036854775807L;
    e.seed = 0;
    char longpath[400];
    memset(longpath, 'p', 350);
    memcpy(longpath, "/scratch/project/", 17);
    strcpy(longpath + 350, ".h5:/x");
    char opt[500];
    snprintf(opt, sizeof opt, "data.source=%s", longpath);
    CHECK(pf_config_set(&e, opt, err, sizeof err) == 0, "--set long source: %s", err);
    CHECK(pf_config_set(&e, "output.dir=a;b=c:d", err, sizeof err) == 0, "--set dir with ;=: %s", err);
    CHECK(pf_config_validate(&e, err, sizeof err) == 0, "extreme values validate: %s", err);
    ini = pf_config_to_ini(&e);
    pf_config_defaults(&r);
    p2 = write_file(ini, -1);
    CHECK(pf_config_load(&r, p2, err, sizeof err) == 0, "reload extremes: %s", err);
    CHECK(same_settings(&e, &r), "extreme round trip differs:\n%s", ini);
    CHECK(!strcmp(r.source, longpath) && r.mu == 5e-324 && r.T == 1.0 / 3.0 && signbit(r.ref_low),
          "extreme values: %s", r.source);
    free(ini);

    /* Long comment lines, a long [section] line, CRLF, a UTF-8 BOM. */
    char big[2000];
    snprintf(big, sizeof big,
             "\xEF\xBB\xBF; %0300d\r\n[data] ; %0300d\r\nsource = %s ; trailing comment\r\n"
             "[flow]\r\nlambda = 0.25\r\n",
             0, 0, longpath);
    pf_config_defaults(&r);
    CHECK(pf_config_load(&r, write_file(big, -1), err, sizeof err) == 0, "long lines: %s", err);
    CHECK(!strcmp(r.source, longpath) && r.lambda == 0.25, "long lines values: %s", r.source);

    /* An empty file changes nothing; loading is repeatable and thread-safe. */
    pf_config_defaults(&r);
    pf_config d0;
    pf_config_defaults(&d0);
    CHECK(pf_config_load(&r, write_file("", -1), err, sizeof err) == 0 && same_settings(&r, &d0),
          "empty file: %s", err);
    int bad = 0;
#pragma omp parallel for num_threads(4) reduction(+ : bad)
    for (int i = 0; i < 16; i++) {
        pf_config t;
        char e2[512];
        pf_config_defaults(&t);
        if (pf_config_load(&t, path, e2, sizeof e2) || !same_settings(&t, &c)) bad++;
        char *s = pf_config_to_ini(&t);
        if (!s) bad++;
        free(s);
    }
    CHECK(bad == 0, "concurrent loads disagree (%d)", bad);
}

static void test_set(void)
{
    pf_config c;
    pf_config_defaults(&c);
    char err[1024] = "";
    CHECK(pf_config_set(&c, "flow.lambda=0.5", err, sizeof err) == 0 && c.lambda == 0.5, "set lambda: %s", err);
    CHECK(pf_config_set(&c, "flow.mode=none", err, sizeof err) == 0 && c.mode == PF_MODE_NONE, "set mode: %s", err);
    CHECK(pf_config_set(&c, " potential.widths = 32,16 ", err, sizeof err) == 0 && c.potential.n_widths == 2 &&
              c.potential.widths[1] == 16 && c.potential.widths[2] == 0, "set widths: %s", err);
    CHECK(pf_config_set(&c, "data.source=f.h5:/a=b", err, sizeof err) == 0 && !strcmp(c.source, "f.h5:/a=b"),
          "set source with '=': %s", err);
    CHECK(pf_config_set(&c, "train.seed=12345678901234567890", err, sizeof err) == 0 &&
              c.seed == UINT64_C(12345678901234567890), "set seed: %s", err);
    CHECK(pf_config_set(&c, "flow.kinetic_reference=1", err, sizeof err) == 0 && c.kinetic_reference == 1,
          "set bool: %s", err);

    /* A file then --set: the override wins. */
    pf_config_defaults(&c);
    CHECK(pf_config_load(&c, write_file("[flow]\nlambda = 2\n", -1), err, sizeof err) == 0, "load: %s", err);
    CHECK(pf_config_set(&c, "flow.lambda=3", err, sizeof err) == 0 && c.lambda == 3, "override");

    struct { const char *opt, *frag1, *frag2; } bad[] = {
        {"flow.lambda=abc", "--set flow.lambda=abc: [flow] lambda: not a number", NULL},
        {"flow.lambda", "flow.lambda", "'='"},
        {"lambda=1", "lambda=1", "'.'"},
        {"flow.lamda=1", "lamda", "did you mean \"lambda\""},
        {"flwo.lambda=1", "flwo", "unknown section"},
        {"flow.lambda=0", "[flow] lambda", "> 0"},
        {"flow.lambda=", "lambda", "empty"},
        {"flow.steps=2.5", "steps", "not an integer"},
        {"flow.mode=W1", "mode", "w1w2, w1, w2, none"},
        {"train.seed=-1", "seed", "non-negative"},
        {"train.seed=99999999999999999999999", "seed", "range"},
        {"output.dir=runs ;x", "dir", "';'"},
        {"flow.kinetic_reference=maybe", "kinetic_reference", "boolean"},
        {"potential.widths=1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17", "widths", "more than 16"},
        {"flow.L=1", "\"L\" belongs in [lipschitz]", NULL},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        pf_config_defaults(&c);
        pf_config before = c;
        err[0] = '\0';
        int rc = pf_config_set(&c, bad[i].opt, err, sizeof err);
        CHECK(rc != 0, "--set %s accepted", bad[i].opt);
        CHECK(memcmp(&c, &before, sizeof c) == 0, "--set %s changed the config", bad[i].opt);
        CHECK(strstr(err, bad[i].frag1), "--set %s: message lacks \"%s\": %s", bad[i].opt, bad[i].frag1, err);
        if (bad[i].frag2)
            CHECK(strstr(err, bad[i].frag2), "--set %s: message lacks \"%s\": %s", bad[i].opt, bad[i].frag2, err);
        printf("  --set %-26.26s -> %s\n", bad[i].opt, err);
    }
    char longval[700];
    memset(longval, 'x', sizeof longval);
    memcpy(longval, "data.source=", 12);
    longval[sizeof longval - 1] = '\0';
    CHECK(pf_config_set(&c, longval, err, sizeof err) != 0 && strstr(err, "too long"), "long string: %s", err);
}

static void test_malformed(void)
{
    printf("malformed configs:\n");
    expect_bad("unknown section", "[flow]\nlambda = 1\n[flwo]\nsteps = 3\n", -1, 3, "[flwo]", "unknown section", 0);
    expect_bad("unknown empty section", "[flow]\nlambda = 1\n[gpu]\n", -1, 3, "[gpu]", "unknown section", 0);
    expect_bad("unknown key", "[flow]\nlamda = 2\n", -1, 2, "lamda", "did you mean \"lambda\"", 0);
    expect_bad("key in wrong section", "[flow]\nmu = 2\n", -1, 2, "mu", "[lipschitz]", 0);
    expect_bad("key outside section", "lambda = 1\n[flow]\n", -1, 1, "lambda", "outside", 0);
    expect_bad("duplicate key", "[flow]\nlambda = 1\nT = 2\nlambda = 3\n", -1, 4, "lambda", "line 2", 0);
    expect_bad("duplicate across headers", "[train]\nbatch = 1\n[flow]\n[train]\nbatch = 2\n", -1, 5, "batch",
               "duplicate", 0);
    expect_bad("wrong type", "[flow]\nlambda = abc\n", -1, 2, "[flow] lambda", "not a number", 0);
    expect_bad("trailing garbage", "[flow]\n\nlambda = 1.0x\n", -1, 3, "lambda", "\"x\"", 0);
    expect_bad("empty value", "[train]\nbatch =\n", -1, 2, "batch", "empty", 0);
    expect_bad("NaN", "[lipschitz]\nmu = nan\n", -1, 2, "mu", "finite", 0);
    expect_bad("inf", "[flow]\nT = inf\n", -1, 2, "[flow] T", "finite", 0);
    expect_bad("-infinity", "[flow]\nT = -infinity\n", -1, 2, "[flow] T", "finite", 0);
    expect_bad("double overflow", "[flow]\nT = 1e999\n", -1, 2, "[flow] T", "finite", 0);
    expect_bad("int overflow", "[flow]\nsteps = 99999999999999\n", -1, 2, "steps", "range", 0);
    expect_bad("long overflow", "[train]\niterations = 99999999999999999999\n", -1, 2, "iterations", "range", 0);
    expect_bad("int given 2.5", "[train]\nn_disc = 2.5\n", -1, 2, "n_disc", "not an integer", 0);
    expect_bad("lambda = 0", "[flow]\nlambda = 0\n", -1, 2, "lambda", "must be > 0", 0);
    expect_bad("lambda < 0", "[flow]\nlambda = -1\n", -1, 2, "[flow] lambda = -1: must be > 0", NULL, 0);
    expect_bad("L = 0", "[lipschitz]\nmu = 1\nL = 0\n", -1, 3, "[lipschitz] L", "must be > 0", 0);
    expect_bad("steps < 1", "[flow]\nsteps = 0\n", -1, 2, "steps", ">= 1", 0);
    expect_bad("alpha <= 1", "[flow]\nalpha = 1\n", -1, 2, "alpha", "> 1", 0);
    expect_bad("beta1 = 1", "[potential]\nbeta1 = 1\n", -1, 2, "beta1", "in [0, 1)", 0);
    expect_bad("even kernel", "[discriminator]\nkernel = 4\n", -1, 2, "kernel", "odd", 0);
    expect_bad("bad enum", "[flow]\nmode = w3\n", -1, 2, "mode", "allowed: w1w2, w1, w2, none", 0);
    expect_bad("bad activation", "[potential]\nactivation = gelu\n", -1, 2, "activation", "silu", 0);
    expect_bad("bad bool", "[flow]\nkinetic_reference = yes please\n", -1, 2, "kinetic_reference", "boolean", 0);
    expect_bad("empty widths", "[potential]\nwidths =\n", -1, 2, "widths", "empty", 0);
    expect_bad("only a comma", "[potential]\nwidths = ,\n", -1, 2, "widths", "empty", 0);
    expect_bad("empty entry", "[potential]\nwidths = 64,,64\n", -1, 2, "widths", "entry 2", 0);
    expect_bad("zero width", "[discriminator]\nwidths = 64,0\n", -1, 2, "widths", ">= 1", 0);
    expect_bad("negative channel", "[potential]\nchannels = -8\n", -1, 2, "channels", ">= 1", 0);
    expect_bad("negative seed", "[train]\nseed = -3\n", -1, 2, "seed", "non-negative", 0);
    expect_bad("continuation line", "[flow]\nmode = w1\n  w2\n", -1, 3, "mode", "continuation", 0);
    expect_bad("unterminated section", "[flow]\nlambda = 1\n[train\n", -1, 3, "syntax error", "[train", 0);
    expect_bad("no '='", "[flow]\nlambda 1\n", -1, 2, "syntax error", "lambda 1", 0);
    static const char elf[] = "\x7f" "ELF\x02\x01\x01\0\0\0\0\0\0\0\0\0\x03\0>\0\x01\0\0\0";
    expect_bad("binary (NUL bytes)", elf, (long)sizeof elf, 1, "NUL", NULL, 0);
    expect_bad("binary (no NUL)", "\x01\x02\xff\xfe\x80 garbage\n", -1, 1, "syntax error", NULL, 0);
    expect_bad("error after a syntax error", "[flow]\n???\nlambda = -1\n", -1, 2, "syntax error", NULL, 0);
    /* issue 20: text inih would drop silently */
    expect_bad("key after [section]", "[train] batch = 16\n", -1, 1, "[train]: text after the section header",
               "batch = 16", 0);
    expect_bad("key after 2nd [section]", "[flow]\nsteps = 4\n[train]batch=16\n", -1, 3, "[train]",
               "text after the section header", 0);
    expect_bad("CR-only line endings", "[flow]\rsteps = 4\r[train]\rbatch = 16\r", -1, 1,
               "carriage return (CR)", "CR-only line endings", 0);
    expect_bad("CR-only after LF lines", "[flow]\nsteps = 4\n[train]\rbatch = 16\r\n", -1, 3,
               "carriage return (CR)", NULL, 0);
    expect_bad("CR inside a value", "[flow]\nmode = w1\rw2\n", -1, 2, "carriage return (CR)", NULL, 0);
    expect_bad("reference_low >= high", "[data]\nreference = uniform\nreference_low = 2\nreference_high = 1\n",
               -1, 3, "reference_low = 2", "reference_high = 1", 1);
    expect_bad("reference_low > default high", "[data]\n\nreference_low = 5\n", -1, 3, "reference_low",
               "reference_high = 1 (default)", 1);

    /* What must still load: comments after a header, CR LF endings, a trailing CR. */
    static const char *const good[] = {"[train] ; batch below\nbatch = 16\n", "[train]   # note\nbatch = 16\n",
                                       "[train]\r\nbatch = 16\r\n", "[train]\nbatch = 16\r",
                                       "[train]\t\nbatch = 16 \r\r\n"};
    for (size_t k = 0; k < sizeof good / sizeof good[0]; k++) {
        pf_config g;
        pf_config_defaults(&g);
        char e[1024] = "";
        CHECK(pf_config_load(&g, write_file(good[k], -1), e, sizeof e) == 0 && g.batch == 16,
              "good config %zu refused or batch not 16 (%d): %s", k, g.batch, e);
    }
    printf("  %-28s -> loaded, batch 16\n", "header comments, CR LF (5)");

    /* pf_config_load_text and pf_config_text_is_blank (the text read once, issue 20) */
    {
        char text[] = "[train]\nbatch = 16\n";
        pf_config g;
        pf_config_defaults(&g);
        char e[1024] = "";
        CHECK(pf_config_load_text(&g, "mem.ini", text, strlen(text), e, sizeof e) == 0 && g.batch == 16,
              "load_text: %s", e);
        CHECK(pf_config_text_is_blank("", 0) && pf_config_text_is_blank("\xEF\xBB\xBF ; c\n\n# d\r\n", 14) &&
              !pf_config_text_is_blank("[train]\n", 8) && !pf_config_text_is_blank("x ; c", 5),
              "text_is_blank");
    }

    /* Missing file: names the file and strerror. */
    pf_config c;
    pf_config_defaults(&c);
    char err[1024] = "", path[400];
    snprintf(path, sizeof path, "%s/does-not-exist.ini", tmpdir);
    CHECK(pf_config_load(&c, path, err, sizeof err) != 0, "missing file accepted");
    CHECK(strstr(err, path) && strstr(err, "No such file"), "missing file message: %s", err);
    printf("  %-28s -> %s\n", "missing file", err);
    CHECK(pf_config_load(&c, tmpdir, err, sizeof err) != 0 && strstr(err, tmpdir), "directory: %s", err);
    printf("  %-28s -> %s\n", "a directory", err);

    /* validate: values set in code, and a cross-key error from --set. */
    pf_config_defaults(&c);
    c.steps = 0;
    CHECK(pf_config_validate(&c, err, sizeof err) != 0 && strstr(err, "steps") && strstr(err, ">= 1"),
          "validate steps = 0: %s", err);
    pf_config_defaults(&c);
    c.potential.n_widths = 0;
    CHECK(pf_config_validate(&c, err, sizeof err) != 0 && strstr(err, "widths"), "validate empty widths: %s", err);
    pf_config_defaults(&c);
    CHECK(pf_config_set(&c, "data.reference_high=-1", err, sizeof err) == 0, "set high: %s", err);
    CHECK(pf_config_validate(&c, err, sizeof err) != 0 && strstr(err, "--set") && strstr(err, "reference_high"),
          "validate --set cross-key: %s", err);
    printf("  %-28s -> %s\n", "cross-key from --set", err);
}

#define DOC_BEGIN "<!-- BEGIN KEY REFERENCE"
#define DOC_END "<!-- END KEY REFERENCE -->"

static char *read_all(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    static const size_t cap = 1 << 18;
    char *doc = malloc(cap);
    size_t n = doc ? fread(doc, 1, cap - 1, f) : 0;
    fclose(f);
    if (doc) doc[n] = '\0';
    return doc;
}

/* Replace the text between the markers (each on its own line) by the reference. */
static int update_doc(const char *path)
{
    char *doc = read_all(path), *md = pf_config_reference_md();
    char *b = doc ? strstr(doc, DOC_BEGIN) : NULL, *e = b ? strstr(b, DOC_END) : NULL;
    if (!md || !b || !e) {
        fprintf(stderr, "%s: cannot read it, or no %s ... %s markers\n", path, DOC_BEGIN, DOC_END);
        return 1;
    }
    char *after_begin = strchr(b, '\n');
    FILE *f = fopen(path, "wb");
    if (!f || !after_begin || after_begin > e) return 1;
    fwrite(doc, 1, (size_t)(after_begin + 1 - doc), f);
    fputs(md, f);
    fputs(e, f);
    fclose(f);
    free(doc);
    free(md);
    printf("updated %s\n", path);
    return 0;
}

/* docs/CONFIG.md must contain the reference generated from the key table. */
static void test_docs(void)
{
    const char *src = getenv("PROXFLOW_SOURCE_DIR");
    char *md = pf_config_reference_md();
    CHECK(md && strstr(md, "| `lambda` | double | `1.0` | > 0 |"), "reference row for lambda");
    if (!src || !md) {
        printf("PROXFLOW_SOURCE_DIR not set: docs/CONFIG.md not checked\n");
        free(md);
        return;
    }
    char path[1024];
    snprintf(path, sizeof path, "%s/docs/CONFIG.md", src);
    char *doc = read_all(path);
    CHECK(doc != NULL, "cannot read %s", path);
    if (doc)
        CHECK(strstr(doc, md) != NULL, "docs/CONFIG.md is out of date: run "
              "`<build>/tests/test_config --update-doc docs/CONFIG.md`");
    free(doc);
    free(md);
}

int main(int argc, char **argv)
{
    pf_test_init(&argc, &argv);
    if (argc > 2 && !strcmp(argv[1], "--update-doc")) {
        int rc = update_doc(argv[2]);
        pf_test_finish("test_config");
        return rc;
    }
    snprintf(tmpdir, sizeof tmpdir, "%s/pf_test_config_XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    test_defaults();
    test_full_and_roundtrip();
    test_set();
    test_malformed();
    test_docs();

    for (int i = 0; i < nfiles; i++) {
        char p[300];
        snprintf(p, sizeof p, "%s/cfg%03d.ini", tmpdir, i);
        remove(p);
    }
    rmdir(tmpdir);
    return pf_test_finish("test_config");
}
