/* proxflow: reading a sweep file (SPEC §7; format in include/proxflow/config/sweep.h
 * and docs/CLUSTER.md) through the shared INI reader (src/config/ini_reader.h): section
 * headers checked, indentation removed, long grid lines passed around inih's buffer.
 *
 * Every check names the sweep file, the line and the key.  Values are checked by
 * applying them to the base config (src/config/sweep_values.c); each run's whole config
 * is then checked by pf_config_validate. */
#include "config/sweep_impl.h"
#include "config/ini_reader.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    char *key, *value;
    int line, grid; /* grid: 1 for [grid], 0 for [fixed] */
} entry;

typedef struct {
    pf_ini_src src;
    int grid_line;      /* line of the first [grid] header     */
    char *base, *out;
    int base_line, out_line;
    entry *ents;
    int n_ents, cap_ents;
} sw_ctx;

static int check_section(pf_ini_src *s, const char *name)
{
    sw_ctx *x = s->user;
    char b[80];
    if (strcmp(name, "sweep") && strcmp(name, "grid") && strcmp(name, "fixed")) {
        pf_ini_error(s, "[%s]: unknown section (a sweep file has [sweep], [grid] and [fixed]; "
                        "config keys go under [grid] or [fixed] as section.key = value)",
                     pf_ini_show(name, b, sizeof b));
        return 1;
    }
    if (!strcmp(name, "grid") && !x->grid_line) x->grid_line = s->line;
    return 0;
}

static int handle(void *user, const char *section, const char *name, const char *value)
{
    sw_ctx *x = user;
    pf_ini_src *s = &x->src;
    char b[80];
    if (s->err_line) return 1;
    char *lv;
    value = pf_ini_value(s, value, &lv);
    if (!*section) {
        pf_ini_error(s, "%s: key outside any section (put it under [sweep], [grid] or [fixed])",
                     pf_ini_show(name, b, sizeof b));
    } else if (!strcmp(section, "sweep")) {
        char **slot = NULL;
        int *line = NULL;
        if (!strcmp(name, "base")) slot = &x->base, line = &x->base_line;
        else if (!strcmp(name, "out")) slot = &x->out, line = &x->out_line;
        if (!slot) {
            pf_ini_error(s, "[sweep] %s: unknown key (keys of [sweep]: base, out)", pf_ini_show(name, b, sizeof b));
        } else if (*slot) {
            pf_ini_error(s, "[sweep] %s: duplicate key (first set on line %d)", name, *line);
        } else if (!*value) {
            pf_ini_error(s, "[sweep] %s: empty value", name);
        } else {
            *slot = pf_sweep_dup(value, strlen(value));
            *line = s->line;
        }
    } else { /* [grid] or [fixed] (the reader refused any other section) */
        if (x->n_ents == x->cap_ents) {
            x->cap_ents = x->cap_ents ? 2 * x->cap_ents : 16;
            x->ents = realloc(x->ents, (size_t)x->cap_ents * sizeof *x->ents);
            if (!x->ents) abort();
        }
        entry *e = &x->ents[x->n_ents++];
        e->key = pf_sweep_dup(name, strlen(name));
        e->value = pf_sweep_dup(value, strlen(value));
        e->line = s->line;
        e->grid = !strcmp(section, "grid");
    }
    free(lv);
    return 1; /* errors are ours to report (with line and key), not inih's */
}

void pf_sweep_free(pf_sweep *s)
{
    if (!s) return;
    for (int i = 0; i < s->n_fixed; i++) free(s->fixed[i]);
    free(s->fixed);
    for (int a = 0; a < s->n_axes; a++) {
        for (int k = 0; k < s->axes[a].n; k++) free(s->axes[a].values[k]);
        free(s->axes[a].values);
    }
    free(s->axes);
    memset(s, 0, sizeof *s);
}

static void free_ctx(sw_ctx *x)
{
    for (int i = 0; i < x->n_ents; i++) {
        free(x->ents[i].key);
        free(x->ents[i].value);
    }
    free(x->ents);
    free(x->base);
    free(x->out);
    free(x->src.text);
}

/* The checks after parsing; s is filled as they pass. */
static int build(pf_sweep *s, sw_ctx *x, char *err, size_t errlen)
{
    const char *P = x->src.path;
    char b[80], b2[80], why[1024];

    /* keys of [grid] and [fixed]: form, known, not output.dir, not twice */
    for (int i = 0; i < x->n_ents; i++) {
        const entry *e = &x->ents[i];
        const char *sec = e->grid ? "grid" : "fixed";
        const char *dot = strchr(e->key, '.');
        if (!dot || dot == e->key || !dot[1])
            return fail(err, errlen, "%s:%d: [%s] %s: expected a config key as section.key "
                                     "(e.g. flow.lambda)", P, e->line, sec, pf_ini_show(e->key, b, sizeof b));
        if (!pf_sweep_key_known(e->key)) {
            /* pf_config_set's message has the hint ("did you mean ...") */
            char msg[1024];
            pf_config *t = malloc(sizeof *t);
            if (!t) abort();
            pf_config_defaults(t);
            size_t l = strlen(e->key) + 4;
            char *a = malloc(l);
            if (!a) abort();
            snprintf(a, l, "%s=1", e->key);
            pf_config_set(t, a, msg, sizeof msg);
            free(a);
            free(t);
            const char *h = strstr(msg, "unknown key");
            if (h) h += strlen("unknown key");
            else if ((h = strstr(msg, "unknown section")) != NULL) h += strlen("unknown section");
            else h = "";
            return fail(err, errlen, "%s:%d: [%s] %s: unknown config key%s", P, e->line, sec,
                        pf_ini_show(e->key, b, sizeof b), h);
        }
        if (!strcmp(e->key, "output.dir"))
            return fail(err, errlen, "%s:%d: [%s] output.dir: set by the sweep (each run writes to "
                                     "<out>/<run name>); use [sweep] out = DIR", P, e->line, sec);
        for (int j = 0; j < i; j++)
            if (!strcmp(x->ents[j].key, e->key))
                return fail(err, errlen, "%s:%d: [%s] %s: duplicate key (first set on line %d%s)", P,
                            e->line, sec, e->key, x->ents[j].line,
                            x->ents[j].grid != e->grid ? (e->grid ? ", in [fixed]" : ", in [grid]") : "");
        if (!*e->value)
            return fail(err, errlen, "%s:%d: [%s] %s: no value%s", P, e->line, sec, e->key,
                        e->grid ? "s (expected v1, v2, ...)" : "");
    }
    int n_axes = 0;
    for (int i = 0; i < x->n_ents; i++) n_axes += x->ents[i].grid;
    if (!n_axes) {
        if (x->grid_line)
            return fail(err, errlen, "%s:%d: [grid]: empty grid: no keys (add lines such as "
                                     "lipschitz.L = 1, 5)", P, x->grid_line);
        return fail(err, errlen, "%s: [grid]: no grid: the file has no [grid] section with keys "
                                 "(add [grid] and lines such as lipschitz.L = 1, 5)", P);
    }

    /* [sweep] base: resolved against the sweep file's directory */
    if (!x->base)
        return fail(err, errlen, "%s: [sweep] base: missing: name the base config (e.g. base = "
                                 "quickstart.ini, relative to the sweep file's directory)", P);
    const char *slash = strrchr(P, '/');
    int n;
    if (x->base[0] == '/' || !slash)
        n = snprintf(s->base_path, sizeof s->base_path, "%s", x->base);
    else
        n = snprintf(s->base_path, sizeof s->base_path, "%.*s/%s", (int)(slash - P), P, x->base);
    if (n < 0 || (size_t)n >= sizeof s->base_path)
        return fail(err, errlen, "%s:%d: [sweep] base: path too long", P, x->base_line);
    pf_config_defaults(&s->base);
    if (pf_config_load(&s->base, s->base_path, why, sizeof why))
        return fail(err, errlen, "%s:%d: [sweep] base = %s: %s", P, x->base_line,
                    pf_ini_show(x->base, b, sizeof b), why);

    /* [sweep] out (default runs/<stem>) */
    if (x->out) {
        n = snprintf(s->out, sizeof s->out, "%s", x->out);
    } else {
        const char *stem = slash ? slash + 1 : P, *ext = strrchr(stem, '.');
        int l = ext && ext != stem ? (int)(ext - stem) : (int)strlen(stem);
        n = snprintf(s->out, sizeof s->out, "runs/%.*s", l, stem);
    }
    if (n < 0 || (size_t)n >= sizeof s->out - 128)
        return fail(err, errlen, "%s:%d: [sweep] out: path too long", P, x->out_line);
    for (size_t l = strlen(s->out); l > 1 && s->out[l - 1] == '/'; l--) s->out[l - 1] = '\0';

    /* [fixed]: applied to the base, in file order */
    s->fixed = calloc((size_t)x->n_ents + 1, sizeof *s->fixed);
    if (!s->fixed) abort();
    for (int i = 0; i < x->n_ents; i++) {
        entry *e = &x->ents[i];
        if (e->grid) continue;
        size_t vl = strlen(e->value); /* "64,64": quotes as in [grid] */
        if (vl >= 2 && e->value[0] == '"' && e->value[vl - 1] == '"') {
            memmove(e->value, e->value + 1, vl - 2);
            e->value[vl - 2] = '\0';
        }
        if (pf_sweep_apply(&s->base, e->key, e->value, why, sizeof why))
            return fail(err, errlen, "%s:%d: [fixed] %s = %s: %s", P, e->line, e->key,
                        pf_ini_show(e->value, b, sizeof b), why);
        char canon[PF_STR + 8];
        pf_sweep_canonical(&s->base, e->key, canon, sizeof canon);
        size_t l = strlen(e->key) + strlen(canon) + 2;
        s->fixed[s->n_fixed] = malloc(l);
        if (!s->fixed[s->n_fixed]) abort();
        snprintf(s->fixed[s->n_fixed++], l, "%s=%s", e->key, canon);
    }

    /* [grid]: each value applied to base + [fixed] and kept in canonical form */
    s->axes = calloc((size_t)n_axes, sizeof *s->axes);
    if (!s->axes) abort();
    pf_config *t = malloc(sizeof *t);
    if (!t) abort();
    for (int i = 0; i < x->n_ents; i++) {
        const entry *e = &x->ents[i];
        if (!e->grid) continue;
        pf_sweep_axis *ax = &s->axes[s->n_axes++];
        snprintf(ax->key, sizeof ax->key, "%s", e->key);
        ax->line = e->line;
        char **raw = NULL;
        int nraw = 0;
        if (pf_sweep_split_values(e->value, &raw, &nraw, why, sizeof why)) {
            free(t);
            return fail(err, errlen, "%s:%d: [grid] %s: %s", P, e->line, e->key, why);
        }
        ax->values = calloc((size_t)nraw, sizeof *ax->values);
        if (!ax->values) abort();
        int bad = 0;
        for (int k = 0; k < nraw && !bad; k++) {
            *t = s->base;
            if (pf_sweep_apply(t, e->key, raw[k], why, sizeof why)) {
                bad = fail(err, errlen, "%s:%d: [grid] %s = %s (value %d of %d): %s", P, e->line,
                           e->key, pf_ini_show(raw[k], b, sizeof b), k + 1, nraw, why);
                break;
            }
            char canon[PF_STR + 8];
            pf_sweep_canonical(t, e->key, canon, sizeof canon);
            for (int j = 0; j < ax->n && !bad; j++)
                if (!strcmp(ax->values[j], canon))
                    bad = fail(err, errlen, "%s:%d: [grid] %s: value %d (%s) repeats value %d (%s)", P,
                               e->line, e->key, k + 1, pf_ini_show(raw[k], b, sizeof b), j + 1,
                               pf_ini_show(raw[j], b2, sizeof b2));
            if (!bad) ax->values[ax->n++] = pf_sweep_dup(canon, strlen(canon));
        }
        for (int k = 0; k < nraw; k++) free(raw[k]);
        free(raw);
        if (bad) {
            free(t);
            return 1;
        }
    }

    /* count */
    long runs = 1;
    for (int a = 0; a < s->n_axes; a++) {
        if (runs > PF_SWEEP_MAX_RUNS / s->axes[a].n) {
            free(t);
            return fail(err, errlen, "%s:%d: [grid] %s: more than %ld runs in the grid", P,
                        s->axes[a].line, s->axes[a].key, PF_SWEEP_MAX_RUNS);
        }
        runs *= s->axes[a].n;
    }
    s->n_runs = runs;

    /* labels: the key after the dot, unless two swept keys share it */
    for (int a = 0; a < s->n_axes; a++) {
        const char *sh = strchr(s->axes[a].key, '.') + 1;
        int clash = 0;
        for (int c = 0; c < s->n_axes; c++)
            if (c != a && !strcmp(strchr(s->axes[c].key, '.') + 1, sh)) clash = 1;
        snprintf(s->axes[a].label, sizeof s->axes[a].label, "%s", clash ? s->axes[a].key : sh);
        pf_sweep_sanitize(s->axes[a].label);
    }
    /* distinct directory names: the values of one key must stay distinct once sanitized */
    size_t name_len = 0;
    for (int a = 0; a < s->n_axes; a++) {
        const pf_sweep_axis *ax = &s->axes[a];
        size_t longest = 0;
        for (int k = 0; k < ax->n; k++) {
            char vk[PF_STR + 8], vj[PF_STR + 8];
            snprintf(vk, sizeof vk, "%s", ax->values[k]);
            pf_sweep_sanitize(vk);
            if (strlen(vk) > longest) longest = strlen(vk);
            for (int j = 0; j < k; j++) {
                snprintf(vj, sizeof vj, "%s", ax->values[j]);
                pf_sweep_sanitize(vj);
                if (!strcmp(vj, vk)) {
                    free(t);
                    return fail(err, errlen, "%s:%d: [grid] %s: values %d and %d give the same run "
                                             "directory name \"%s=%s\"", P, ax->line, ax->key, j + 1,
                                k + 1, ax->label, vk);
                }
            }
        }
        name_len += strlen(ax->label) + 2 + longest;
    }
    if (strlen(s->out) + 1 + name_len >= PF_STR - 64) {
        free(t);
        return fail(err, errlen, "%s: run directory names too long (up to %zu characters under %s)",
                    P, name_len, s->out);
    }

    /* every run's whole config (checks that involve several keys) */
    for (long i = 0; i < s->n_runs; i++) {
        if (pf_sweep_run_config(s, i, t, why, sizeof why)) {
            free(t);
            return fail(err, errlen, "%s", why);
        }
    }
    free(t);
    return 0;
}

int pf_sweep_load(pf_sweep *s, const char *path, char *err, size_t errlen)
{
    char dummy[8];
    if (!err || !errlen) err = dummy, errlen = sizeof dummy;
    err[0] = '\0';
    memset(s, 0, sizeof *s);
    if (strlen(path) >= sizeof s->path) return fail(err, errlen, "%s: path too long", path);
    sw_ctx x;
    memset(&x, 0, sizeof x);
    x.src.path = path;
    x.src.err = err;
    x.src.errlen = errlen;
    x.src.strip_indent = 1; /* inih would read an indented line as a continuation */
    x.src.section = check_section;
    x.src.user = &x;
    x.src.text = pf_read_text_file(path, " the sweep file", &x.src.len, err, errlen);
    if (!x.src.text) return 1;
    if (memchr(x.src.text, '\0', x.src.len)) {
        free(x.src.text);
        return fail(err, errlen, "%s: not a text file (contains a NUL byte); expected an INI sweep file", path);
    }
    int status = pf_ini_run(&x.src, handle, &x, "[section], section.key = value or a ; comment");
    if (!status) {
        snprintf(s->path, sizeof s->path, "%s", path);
        status = build(s, &x, err, errlen);
    }
    free_ctx(&x);
    if (status) pf_sweep_free(s);
    return status;
}

