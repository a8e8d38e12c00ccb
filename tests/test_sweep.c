/* test_sweep: sweep file expansion (SPEC §7, src/config/sweep_load.c): deterministic order with the
 * last key varying fastest, the count, run names and directories, the resolved config
 * of a run, [fixed], quoting, and bad sweep files rejected with messages naming the
 * file, line and key. */
#include "testutil.h"

#include "proxflow/config/sweep.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char tmpdir[256];

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (!f) {
        perror(path);
        exit(1);
    }
    fputs(text, f);
    fclose(f);
}

static const char *BASE = "[flow]\nsteps = 4\nlambda = 0.5\n[train]\niterations = 20\nbatch = 32\n"
                          "[output]\ndir = ignored/by/the/sweep\n";

/* Write the sweep text to tmpdir/name and load it. */
static int load(pf_sweep *s, const char *name, const char *text, char *err, size_t len)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", tmpdir, name);
    write_text(path, text);
    return pf_sweep_load(s, path, err, len);
}

/* A bad sweep file: loading fails and the message holds every one of the fragments. */
static void expect_error(const char *what, const char *text, const char *f1, const char *f2,
                         const char *f3)
{
    pf_sweep s;
    char err[2048] = "";
    int bad = load(&s, "bad.ini", text, err, sizeof err);
    CHECK(bad, "%s: accepted", what);
    const char *frags[3] = {f1, f2, f3};
    for (int k = 0; k < 3; k++)
        if (frags[k]) CHECK(strstr(err, frags[k]) != NULL, "%s: message lacks \"%s\": %s", what, frags[k], err);
    printf("  %-28s -> %s\n", what, err);
    pf_sweep_free(&s);
}

static void test_expansion(void)
{
    const char *text = "; three keys\n"
                       "[sweep]\n"
                       "base = base.ini\n"
                       "out = my/runs/\n"
                       "[grid]\n"
                       "lipschitz.L = 1, 5.0\n"
                       "  flow.lambda = 0.05 , 5e-1   ; indented, inline comment\n"
                       "flow.steps = 5, 10, 20\n";
    pf_sweep s, s2;
    char err[2048] = "";
    int bad = load(&s, "grid.ini", text, err, sizeof err);
    CHECK(!bad, "load: %s", err);
    if (bad) return;
    CHECK(s.n_runs == 12, "count %ld", s.n_runs);
    CHECK(s.n_axes == 3, "axes %d", s.n_axes);
    CHECK(!strcmp(s.out, "my/runs"), "out '%s'", s.out);
    char want_base[512];
    snprintf(want_base, sizeof want_base, "%s/base.ini", tmpdir);
    CHECK(!strcmp(s.base_path, want_base), "base path '%s'", s.base_path);
    /* the last key varies fastest; values in canonical form */
    static const char *const names[12] = {
        "L=1_lambda=0.05_steps=5",  "L=1_lambda=0.05_steps=10", "L=1_lambda=0.05_steps=20",
        "L=1_lambda=0.5_steps=5",   "L=1_lambda=0.5_steps=10",  "L=1_lambda=0.5_steps=20",
        "L=5_lambda=0.05_steps=5",  "L=5_lambda=0.05_steps=10", "L=5_lambda=0.05_steps=20",
        "L=5_lambda=0.5_steps=5",   "L=5_lambda=0.5_steps=10",  "L=5_lambda=0.5_steps=20"};
    for (long i = 0; i < 12; i++) {
        char name[512], dir[512], want[512];
        CHECK(!pf_sweep_run_name(&s, i, name, sizeof name), "name %ld", i);
        CHECK(!strcmp(name, names[i]), "run %ld: name %s, expected %s", i, name, names[i]);
        pf_sweep_run_dir(&s, i, dir, sizeof dir);
        snprintf(want, sizeof want, "my/runs/%s", names[i]);
        CHECK(!strcmp(dir, want), "run %ld: dir %s", i, dir);
    }
    char ov[512];
    pf_sweep_run_overrides(&s, 7, ov, sizeof ov);
    CHECK(!strcmp(ov, "lipschitz.L=5 flow.lambda=0.05 flow.steps=10"), "overrides '%s'", ov);
    pf_config cfg;
    CHECK(!pf_sweep_run_config(&s, 7, &cfg, err, sizeof err), "config 7: %s", err);
    CHECK(cfg.L == 5 && cfg.lambda == 0.05 && cfg.steps == 10, "run 7: L %g lambda %g steps %d", cfg.L,
          cfg.lambda, cfg.steps);
    CHECK(cfg.iterations == 20 && cfg.batch == 32, "base keys kept: %ld %d", cfg.iterations, cfg.batch);
    CHECK(!strcmp(cfg.out_dir, "my/runs/L=5_lambda=0.05_steps=10"), "out_dir %s", cfg.out_dir);
    CHECK(pf_sweep_run_config(&s, 12, &cfg, err, sizeof err) != 0, "index 12 accepted");
    CHECK(pf_sweep_run_config(&s, -1, &cfg, err, sizeof err) != 0, "index -1 accepted");
    CHECK(pf_sweep_run_name(&s, 12, ov, sizeof ov) != 0, "name of index 12");

    /* deterministic: a second load gives the same runs */
    bad = load(&s2, "grid.ini", text, err, sizeof err);
    CHECK(!bad && s2.n_runs == s.n_runs, "reload");
    for (long i = 0; !bad && i < s.n_runs; i++) {
        char a[512], b[512];
        pf_sweep_run_overrides(&s, i, a, sizeof a);
        pf_sweep_run_overrides(&s2, i, b, sizeof b);
        CHECK(!strcmp(a, b), "run %ld differs on reload: %s vs %s", i, a, b);
    }
    pf_sweep_free(&s2);
    pf_sweep_free(&s);
}

static void test_fixed_quotes_labels(void)
{
    /* default out = runs/<stem>; [fixed]; quoted list values; two keys named lr; a long line */
    char text[4096];
    char longline[1024] = "train.seed = 1";
    for (int k = 2; k <= 60; k++) {
        char b[16];
        snprintf(b, sizeof b, ", %d", k);
        strcat(longline, b);
    }
    snprintf(text, sizeof text,
             "[sweep]\nbase = base.ini\n"
             "[fixed]\ntrain.iterations = 7\nflow.mode = w1\ndiscriminator.widths = \"12,12\"\n"
             "[grid]\npotential.widths = \"16,16\", \"8,8,8\"\n"
             "potential.lr = 1e-3, 0.01\ndiscriminator.lr = 2e-4\n%s\n", longline);
    pf_sweep s;
    char err[2048] = "";
    int bad = load(&s, "fixed_sweep.ini", text, err, sizeof err);
    CHECK(!bad, "load: %s", err);
    if (bad) return;
    CHECK(strlen(longline) > 200, "long line is %zu characters", strlen(longline));
    CHECK(s.n_runs == 2 * 2 * 1 * 60, "count %ld", s.n_runs);
    CHECK(!strcmp(s.out, "runs/fixed_sweep"), "default out '%s'", s.out);
    CHECK(s.n_fixed == 3 && !strcmp(s.fixed[0], "train.iterations=7") && !strcmp(s.fixed[1], "flow.mode=w1") &&
              !strcmp(s.fixed[2], "discriminator.widths=12,12"),
          "fixed");
    char name[512];
    pf_sweep_run_name(&s, 60 * 3 + 59, name, sizeof name);
    CHECK(!strcmp(name, "widths=8_8_8_potential.lr=0.01_discriminator.lr=0.0002_seed=60"), "name %s", name);
    pf_config cfg;
    CHECK(!pf_sweep_run_config(&s, 60 * 3 + 59, &cfg, err, sizeof err), "config: %s", err);
    CHECK(cfg.potential.n_widths == 3 && cfg.potential.widths[2] == 8, "widths");
    CHECK(cfg.potential.lr == 0.01 && cfg.discriminator.lr == 2e-4 && cfg.seed == 60, "lr, seed");
    CHECK(cfg.iterations == 7 && cfg.mode == PF_MODE_W1 && cfg.discriminator.n_widths == 2 &&
              cfg.discriminator.widths[1] == 12,
          "fixed applied: %ld %d", cfg.iterations, (int)cfg.mode);
    pf_sweep_free(&s);
}

static void test_errors(void)
{
    printf("error messages:\n");
    expect_error("unknown key", "[sweep]\nbase = base.ini\n[grid]\nlipschitz.L = 1\nflow.lamda = 1, 2\n",
                 "bad.ini:5:", "flow.lamda", "unknown config key");
    expect_error("unknown config section", "[sweep]\nbase = base.ini\n[grid]\nflw.lambda = 1, 2\n",
                 "bad.ini:4:", "flw.lambda", "unknown config key");
    expect_error("key without a section", "[sweep]\nbase = base.ini\n[grid]\nlambda = 1, 2\n",
                 "bad.ini:4:", "lambda", "section.key");
    expect_error("unknown sweep section", "[sweep]\nbase = base.ini\n[gird]\nflow.lambda = 1, 2\n",
                 "bad.ini:3:", "gird", "unknown section");
    expect_error("unknown [sweep] key", "[sweep]\nbase = base.ini\nouts = x\n[grid]\nflow.T = 1\n",
                 "bad.ini:3:", "outs", "unknown key");
    expect_error("empty grid", "[sweep]\nbase = base.ini\n[grid]\n; nothing\n[fixed]\nflow.T = 2\n",
                 "bad.ini:3:", "[grid]", "empty grid");
    expect_error("no grid", "[sweep]\nbase = base.ini\n", "bad.ini", "[grid]", "no grid");
    expect_error("key with no values", "[sweep]\nbase = base.ini\n[grid]\nflow.T = 1\nflow.lambda =\n",
                 "bad.ini:5:", "flow.lambda", "no values");
    expect_error("empty value in a list", "[sweep]\nbase = base.ini\n[grid]\nflow.lambda = 0.1,,0.2\n",
                 "bad.ini:4:", "flow.lambda", "value 2 is empty");
    expect_error("out-of-range value", "[sweep]\nbase = base.ini\n[grid]\nflow.lambda = 0.1, -1\n",
                 "bad.ini:4:", "flow.lambda = -1 (value 2 of 2)", "> 0");
    expect_error("wrong type", "[sweep]\nbase = base.ini\n\n[grid]\nflow.steps = 5, five\n",
                 "bad.ini:5:", "flow.steps = five", NULL);
    expect_error("bad enum", "[sweep]\nbase = base.ini\n[grid]\nflow.mode = w1w2, w3\n", "bad.ini:4:",
                 "flow.mode = w3", "allowed");
    expect_error("bad [fixed] value", "[sweep]\nbase = base.ini\n[fixed]\ntrain.batch = 0\n[grid]\nflow.T = 1\n",
                 "bad.ini:4:", "[fixed] train.batch", NULL);
    expect_error("duplicate key", "[sweep]\nbase = base.ini\n[grid]\nflow.T = 1, 2\nflow.steps = 3\nflow.T = 4\n",
                 "bad.ini:6:", "flow.T", "duplicate key (first set on line 4");
    expect_error("key in [fixed] and [grid]", "[sweep]\nbase = base.ini\n[fixed]\nflow.T = 1\n[grid]\nflow.T = 4, 5\n",
                 "bad.ini:6:", "flow.T", "duplicate key");
    expect_error("duplicate value", "[sweep]\nbase = base.ini\n[grid]\nlipschitz.L = 1, 2, 1.0\n",
                 "bad.ini:4:", "lipschitz.L", "repeats value 1");
    expect_error("missing base file", "[sweep]\nout = x\nbase = nope.ini\n[grid]\nflow.T = 1, 2\n",
                 "bad.ini:3:", "base", "nope.ini: cannot open");
    expect_error("no base", "[sweep]\nout = x\n[grid]\nflow.T = 1, 2\n", "bad.ini", "base", "missing");
    expect_error("bad base config", "[sweep]\nbase = broken.ini\n[grid]\nflow.T = 1, 2\n", "bad.ini:2:",
                 "broken.ini:2:", "lamda");
    expect_error("output.dir swept", "[sweep]\nbase = base.ini\n[grid]\noutput.dir = a, b\n", "bad.ini:4:",
                 "output.dir", "[sweep] out");
    expect_error("syntax error", "[sweep]\nbase = base.ini\n[grid]\nflow.T 1 2\n", "bad.ini:4:", "syntax error",
                 NULL);
    expect_error("unterminated quote", "[sweep]\nbase = base.ini\n[grid]\npotential.widths = \"8,8\", \"4\n",
                 "bad.ini:4:", "potential.widths", "quote");
    expect_error("cross-key check of a run",
                 "[sweep]\nbase = base.ini\n[fixed]\ndata.reference_high = 1\n[grid]\ndata.reference_low = 0, 2\n",
                 "bad.ini: run 1 (reference_low=2)", "reference_low", "reference_high");
    expect_error("names collide", "[sweep]\nbase = base.ini\n[grid]\ndata.source = a b, a_b\n", "bad.ini:4:",
                 "data.source", "same run directory name");
    pf_sweep s;
    char err[512];
    char path[512];
    snprintf(path, sizeof path, "%s/does_not_exist.ini", tmpdir);
    CHECK(pf_sweep_load(&s, path, err, sizeof err) != 0 && strstr(err, "does_not_exist.ini"),
          "missing sweep file: %s", err);
}

/* configs/sweep_example.ini (docs/CLUSTER.md) stays valid. */
static void test_example(void)
{
    const char *src = getenv("PROXFLOW_SOURCE_DIR");
    if (!src) {
        printf("PROXFLOW_SOURCE_DIR unset: configs/sweep_example.ini not checked\n");
        return;
    }
    char path[600], err[2048] = "", name[512];
    snprintf(path, sizeof path, "%s/configs/sweep_example.ini", src);
    pf_sweep s;
    int bad = pf_sweep_load(&s, path, err, sizeof err);
    CHECK(!bad, "%s: %s", path, err);
    if (bad) return;
    CHECK(s.n_runs == 6 && !strcmp(s.out, "runs/sweep_example"), "example: %ld runs under %s", s.n_runs, s.out);
    pf_sweep_run_name(&s, 5, name, sizeof name);
    CHECK(!strcmp(name, "L=5_lambda=2"), "example run 5: %s", name);
    pf_sweep_free(&s);
}

int main(int argc, char **argv)
{
    pf_test_init(&argc, &argv);
    snprintf(tmpdir, sizeof tmpdir, "/tmp/test_sweep_XXXXXX");
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    char p[512];
    snprintf(p, sizeof p, "%s/base.ini", tmpdir);
    write_text(p, BASE);
    snprintf(p, sizeof p, "%s/broken.ini", tmpdir);
    write_text(p, "[flow]\nlamda = 1\n");

    test_expansion();
    test_fixed_quotes_labels();
    test_errors();
    test_example();

    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system(cmd)) fprintf(stderr, "warning: could not remove %s\n", tmpdir);
    return pf_test_finish("test_sweep");
}
