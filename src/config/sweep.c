/* proxflow: sweep files (SPEC §7; format in include/proxflow/sweep.h and
 * docs/CLUSTER.md).
 *
 * The file is read with libinih.  Debian builds it without INI_HANDLER_LINENO, so, as
 * in config.c, inih is fed through our own reader (ini_parse_stream), one physical line
 * per call, and the reader's line count is the line of every handler call.  The reader
 * also checks section headers (inih has no callback for them), strips indentation
 * (inih would read an indented line as a continuation of the previous value) and
 * passes lines longer than inih's 200-byte buffer (long grids) around it.
 *
 * Every check names the sweep file, the line and the key.  Values are checked by
 * applying them to the base config with pf_config_set, so a sweep accepts exactly
 * what --set accepts; each run's whole config is then checked by pf_config_validate. */
#include "proxflow/config/sweep.h"
#include "proxflow/core/common.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ini.h>

#include "core/textfile.h"

/* ------------------------------------------------------------------------------------
 * Helpers */

/* an error message into the caller's buffer; returns 1 */
#define fail(err, n, ...) pf_errorf(1, (err), (n), __VA_ARGS__)

static int is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v'; }

static char *dup_range(const char *s, size_t n)
{
    while (n && is_space(*s)) s++, n--;
    while (n && is_space(s[n - 1])) n--;
    char *r = malloc(n + 1);
    if (!r) {
        fprintf(stderr, "proxflow: error: out of memory\n");
        abort();
    }
    memcpy(r, s, n);
    r[n] = '\0';
    return r;
}
static char *dup_str(const char *s) { return dup_range(s, strlen(s)); }

/* A value for a message: printable ASCII, at most 60 characters. */
static const char *show(const char *s, char *buf, size_t n)
{
    size_t j = 0;
    for (size_t i = 0; s[i] && j + 4 < n; i++) {
        if (j >= 60) {
            snprintf(buf + j, n - j, "...");
            return buf;
        }
        unsigned char c = (unsigned char)s[i];
        buf[j++] = (c >= 32 && c < 127) ? (char)c : '?';
    }
    buf[j] = '\0';
    return buf;
}

/* The names of every config key, "section.key" (from pf_config_visit). */
typedef struct {
    int n;
    char names[PF_CONFIG_MAX_KEYS][96];
} key_list;

static void collect_key(const char *section, const char *key, const char *value, void *user)
{
    (void)value;
    key_list *L = user;
    if (L->n < PF_CONFIG_MAX_KEYS) snprintf(L->names[L->n++], sizeof L->names[0], "%s.%s", section, key);
}

static int key_known(const char *name)
{
    static key_list L;
    static int ready = 0;
    if (!ready) {
        pf_config *c = malloc(sizeof *c);
        if (!c) abort();
        pf_config_defaults(c);
        L.n = 0;
        pf_config_visit(c, collect_key, &L);
        free(c);
        ready = 1;
    }
    for (int i = 0; i < L.n; i++)
        if (!strcmp(L.names[i], name)) return 1;
    return 0;
}

/* The canonical text of key "section.key" in c. */
typedef struct {
    const char *name;
    char *out;
    size_t len;
} find_value_ctx;

static void find_value(const char *section, const char *key, const char *value, void *user)
{
    find_value_ctx *x = user;
    size_t ls = strlen(section);
    if (!strncmp(x->name, section, ls) && x->name[ls] == '.' && !strcmp(x->name + ls + 1, key))
        snprintf(x->out, x->len, "%s", value);
}

static void canonical_value(const pf_config *c, const char *name, char *out, size_t len)
{
    find_value_ctx x = {name, out, len};
    out[0] = '\0';
    pf_config_visit(c, find_value, &x);
}

/* Apply "name=value" to c.  On failure: the reason without pf_config_set's "--set"
 * prefix and key, e.g. "must be > 0 (got -1)". */
static int apply(pf_config *c, const char *name, const char *value, char *why, size_t n)
{
    size_t len = strlen(name) + strlen(value) + 2;
    char *a = malloc(len), msg[1024];
    if (!a) abort();
    snprintf(a, len, "%s=%s", name, value);
    int bad = pf_config_set(c, a, msg, sizeof msg);
    free(a);
    if (!bad) return 0;
    /* "--set NAME=VALUE: [section] key: why" */
    char prefix[128];
    const char *dot = strchr(name, '.');
    snprintf(prefix, sizeof prefix, "[%.*s] %s: ", dot ? (int)(dot - name) : 0, name, dot ? dot + 1 : name);
    const char *p = strstr(msg, prefix);
    if (p) p += strlen(prefix);
    else if ((p = strstr(msg, ": ")) != NULL) p += 2;
    else p = msg;
    snprintf(why, n, "%s", p);
    return 1;
}

/* ------------------------------------------------------------------------------------
 * Reading the file */

typedef struct {
    char *key, *value;
    int line, grid; /* grid: 1 for [grid], 0 for [fixed] */
} entry;

typedef struct {
    const char *path;
    char *text;
    size_t len, pos;
    int line;           /* physical line last handed to inih */
    char *long_value;   /* value of an over-long key line     */
    int err_line;       /* line of our first error (0 = none)  */
    char *err;
    size_t errlen;
    int grid_line;      /* line of the first [grid] header     */
    char *base, *out;
    int base_line, out_line;
    entry *ents;
    int n_ents, cap_ents;
} sw_ctx;

static void sw_error(sw_ctx *x, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sw_error(sw_ctx *x, const char *fmt, ...)
{
    if (x->err_line) return; /* the first error wins */
    x->err_line = x->line > 0 ? x->line : 1;
    int m = snprintf(x->err, x->errlen, "%s:%d: ", x->path, x->line);
    if (m >= 0 && (size_t)m < x->errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(x->err + m, x->errlen - (size_t)m, fmt, ap);
        va_end(ap);
    }
}


static int section_known(const char *name)
{
    return !strcmp(name, "sweep") || !strcmp(name, "grid") || !strcmp(name, "fixed");
}

/* ini_reader: one physical line per call, indentation removed. */
static char *read_line(char *str, int num, void *stream)
{
    sw_ctx *x = stream;
    if (x->err_line || x->pos >= x->len || num < 8) return NULL; /* stop at our first error */
    char *s = x->text + x->pos;
    char *nl = memchr(s, '\n', x->len - x->pos);
    size_t n = nl ? (size_t)(nl - s) : x->len - x->pos;
    s[n] = '\0';
    x->pos += n + 1;
    x->line++;
    if (x->line == 1 && (unsigned char)s[0] == 0xEF && (unsigned char)s[1] == 0xBB &&
        (unsigned char)s[2] == 0xBF)
        s += 3, n -= 3;
    while (n && is_space(*s)) s++, n--;
    if (*s == '[') {
        const char *e = pf_ini_find_chars_or_comment(s + 1, "]");
        if (*e == ']') {
            char name[64], b[80];
            size_t l = (size_t)(e - s - 1);
            if (l >= sizeof name) l = sizeof name - 1;
            memcpy(name, s + 1, l);
            name[l] = '\0';
            if (!section_known(name)) {
                sw_error(x, "[%s]: unknown section (a sweep file has [sweep], [grid] and [fixed]; "
                            "config keys go under [grid] or [fixed] as section.key = value)",
                         show(name, b, sizeof b));
                return NULL;
            }
            if (!strcmp(name, "grid") && !x->grid_line) x->grid_line = x->line;
            snprintf(str, (size_t)num, "[%s]", name);
            return str;
        }
    }
    if (n < (size_t)num) {
        memcpy(str, s, n + 1);
        return str;
    }
    /* Longer than inih's buffer: a comment becomes an empty comment; a key line goes
     * over as "name=\x01" with its value kept for the handler. */
    if (*s == ';' || *s == '#') {
        snprintf(str, (size_t)num, ";");
        return str;
    }
    const char *e = pf_ini_find_chars_or_comment(s, "=:");
    size_t name_len = (size_t)(e - s);
    if ((*e == '=' || *e == ':') && name_len + 3 < (size_t)num) {
        const char *v = e + 1, *ve = pf_ini_find_chars_or_comment(v, NULL);
        free(x->long_value);
        x->long_value = dup_range(v, (size_t)(ve - v));
        memcpy(str, s, name_len);
        memcpy(str + name_len, "=\x01", 3);
        return str;
    }
    sw_error(x, "line too long (%zu characters)", n);
    return NULL;
}

static int handle(void *user, const char *section, const char *name, const char *value)
{
    sw_ctx *x = user;
    char b[80];
    if (x->err_line) return 1;
    if (!value) value = "";
    char *lv = NULL;
    if (value[0] == '\x01' && !value[1] && x->long_value) {
        lv = x->long_value;
        x->long_value = NULL;
        value = lv;
    }
    if (!*section) {
        sw_error(x, "%s: key outside any section (put it under [sweep], [grid] or [fixed])",
                 show(name, b, sizeof b));
    } else if (!strcmp(section, "sweep")) {
        char **slot = NULL;
        int *line = NULL;
        if (!strcmp(name, "base")) slot = &x->base, line = &x->base_line;
        else if (!strcmp(name, "out")) slot = &x->out, line = &x->out_line;
        if (!slot) {
            sw_error(x, "[sweep] %s: unknown key (keys of [sweep]: base, out)", show(name, b, sizeof b));
        } else if (*slot) {
            sw_error(x, "[sweep] %s: duplicate key (first set on line %d)", name, *line);
        } else if (!*value) {
            sw_error(x, "[sweep] %s: empty value", name);
        } else {
            *slot = dup_str(value);
            *line = x->line;
        }
    } else { /* [grid] or [fixed] (the reader refused any other section) */
        if (x->n_ents == x->cap_ents) {
            x->cap_ents = x->cap_ents ? 2 * x->cap_ents : 16;
            x->ents = realloc(x->ents, (size_t)x->cap_ents * sizeof *x->ents);
            if (!x->ents) abort();
        }
        entry *e = &x->ents[x->n_ents++];
        e->key = dup_str(name);
        e->value = dup_str(value);
        e->line = x->line;
        e->grid = !strcmp(section, "grid");
    }
    free(lv);
    return 1; /* errors are ours to report (with line and key), not inih's */
}


/* ------------------------------------------------------------------------------------
 * Grid values: comma-separated, double quotes protect commas ("64,64"). */

static int split_values(const char *v, char ***out, int *n_out, char *why, size_t n)
{
    char **items = NULL;
    int cnt = 0, cap = 0;
    const char *p = v;
    for (;;) {
        /* one item: up to a comma outside quotes */
        const char *q = p;
        int quoted = 0;
        while (*q && (quoted || *q != ',')) {
            if (*q == '"') quoted = !quoted;
            q++;
        }
        if (quoted) {
            for (int i = 0; i < cnt; i++) free(items[i]);
            free(items);
            return fail(why, n, "unterminated double quote in value %d", cnt + 1);
        }
        char *raw = dup_range(p, (size_t)(q - p)), *item = raw;
        size_t l = strlen(raw);
        if (l >= 2 && raw[0] == '"' && raw[l - 1] == '"' && !memchr(raw + 1, '"', l - 2)) {
            item = dup_range(raw + 1, l - 2);
            free(raw);
        } else if (memchr(raw, '"', l)) {
            free(raw);
            for (int i = 0; i < cnt; i++) free(items[i]);
            free(items);
            return fail(why, n, "value %d: a double quote must enclose the whole value (\"64,64\")", cnt + 1);
        }
        if (!*item) {
            free(item);
            for (int i = 0; i < cnt; i++) free(items[i]);
            free(items);
            return fail(why, n, "value %d is empty (expected v1, v2, ...)", cnt + 1);
        }
        if (cnt == cap) {
            cap = cap ? 2 * cap : 8;
            items = realloc(items, (size_t)cap * sizeof *items);
            if (!items) abort();
        }
        items[cnt++] = item;
        if (!*q) break;
        p = q + 1;
    }
    *out = items;
    *n_out = cnt;
    return 0;
}

/* Characters allowed in run directory names. */
static void sanitize(char *s)
{
    for (; *s; s++) {
        char c = *s;
        int ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                 c == '.' || c == '_' || c == '=' || c == '-';
        if (!ok) *s = '_';
    }
}

/* ------------------------------------------------------------------------------------
 * Loading */

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
    free(x->long_value);
    free(x->text);
}

/* The checks after parsing; s is filled as they pass. */
static int build(pf_sweep *s, sw_ctx *x, char *err, size_t errlen)
{
    const char *P = x->path;
    char b[80], b2[80], why[1024];

    /* keys of [grid] and [fixed]: form, known, not output.dir, not twice */
    for (int i = 0; i < x->n_ents; i++) {
        const entry *e = &x->ents[i];
        const char *sec = e->grid ? "grid" : "fixed";
        const char *dot = strchr(e->key, '.');
        if (!dot || dot == e->key || !dot[1])
            return fail(err, errlen, "%s:%d: [%s] %s: expected a config key as section.key "
                                     "(e.g. flow.lambda)", P, e->line, sec, show(e->key, b, sizeof b));
        if (!key_known(e->key)) {
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
                        show(e->key, b, sizeof b), h);
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
                    show(x->base, b, sizeof b), why);

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
        if (apply(&s->base, e->key, e->value, why, sizeof why))
            return fail(err, errlen, "%s:%d: [fixed] %s = %s: %s", P, e->line, e->key,
                        show(e->value, b, sizeof b), why);
        char canon[PF_STR + 8];
        canonical_value(&s->base, e->key, canon, sizeof canon);
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
        if (split_values(e->value, &raw, &nraw, why, sizeof why)) {
            free(t);
            return fail(err, errlen, "%s:%d: [grid] %s: %s", P, e->line, e->key, why);
        }
        ax->values = calloc((size_t)nraw, sizeof *ax->values);
        if (!ax->values) abort();
        int bad = 0;
        for (int k = 0; k < nraw && !bad; k++) {
            *t = s->base;
            if (apply(t, e->key, raw[k], why, sizeof why)) {
                bad = fail(err, errlen, "%s:%d: [grid] %s = %s (value %d of %d): %s", P, e->line,
                           e->key, show(raw[k], b, sizeof b), k + 1, nraw, why);
                break;
            }
            char canon[PF_STR + 8];
            canonical_value(t, e->key, canon, sizeof canon);
            for (int j = 0; j < ax->n && !bad; j++)
                if (!strcmp(ax->values[j], canon))
                    bad = fail(err, errlen, "%s:%d: [grid] %s: value %d (%s) repeats value %d (%s)", P,
                               e->line, e->key, k + 1, show(raw[k], b, sizeof b), j + 1,
                               show(raw[j], b2, sizeof b2));
            if (!bad) ax->values[ax->n++] = dup_str(canon);
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
        sanitize(s->axes[a].label);
    }
    /* distinct directory names: the values of one key must stay distinct once sanitized */
    size_t name_len = 0;
    for (int a = 0; a < s->n_axes; a++) {
        const pf_sweep_axis *ax = &s->axes[a];
        size_t longest = 0;
        for (int k = 0; k < ax->n; k++) {
            char vk[PF_STR + 8], vj[PF_STR + 8];
            snprintf(vk, sizeof vk, "%s", ax->values[k]);
            sanitize(vk);
            if (strlen(vk) > longest) longest = strlen(vk);
            for (int j = 0; j < k; j++) {
                snprintf(vj, sizeof vj, "%s", ax->values[j]);
                sanitize(vj);
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
    x.path = path;
    x.err = err;
    x.errlen = errlen;
    x.text = pf_read_text_file(path, " the sweep file", &x.len, err, errlen);
    if (!x.text) return 1;
    if (memchr(x.text, '\0', x.len)) {
        free(x.text);
        return fail(err, errlen, "%s: not a text file (contains a NUL byte); expected an INI sweep file", path);
    }
    int ret = ini_parse_stream(read_line, &x, handle, &x);
    int status = 0;
    if (ret > 0 && (!x.err_line || ret < x.err_line)) {
        /* inih's own parse error; the reader replaced each '\n' by '\0' */
        const char *p = x.text;
        for (int l = 1; l < ret && p < x.text + x.len; l++) p += strlen(p) + 1;
        char b[80];
        status = fail(err, errlen, "%s:%d: syntax error: expected [section], section.key = value or "
                                   "a ; comment, got \"%s\"", path, ret,
                      p < x.text + x.len ? show(p, b, sizeof b) : "");
    } else if (x.err_line) {
        status = 1;
    } else if (ret < 0) {
        status = fail(err, errlen, "%s: cannot parse (libinih error %d)", path, ret);
    } else {
        snprintf(s->path, sizeof s->path, "%s", path);
        status = build(s, &x, err, errlen);
    }
    free_ctx(&x);
    if (status) pf_sweep_free(s);
    return status;
}

/* ------------------------------------------------------------------------------------
 * Runs */

void pf_sweep_indices(const pf_sweep *s, long i, int *idx)
{
    for (int a = s->n_axes - 1; a >= 0; a--) { /* the last key varies fastest */
        idx[a] = (int)(i % s->axes[a].n);
        i /= s->axes[a].n;
    }
}

int pf_sweep_run_name(const pf_sweep *s, long i, char *buf, size_t len)
{
    if (!len) return 1;
    buf[0] = '\0';
    if (i < 0 || i >= s->n_runs) return 1;
    int idx[PF_CONFIG_MAX_KEYS];
    pf_sweep_indices(s, i, idx);
    size_t j = 0;
    for (int a = 0; a < s->n_axes; a++) {
        int m = snprintf(buf + j, len - j, "%s%s=%s", a ? "_" : "", s->axes[a].label,
                         s->axes[a].values[idx[a]]);
        if (m < 0 || (size_t)m >= len - j) return 1;
        sanitize(buf + j + (a ? 1 : 0) + strlen(s->axes[a].label) + 1);
        j += (size_t)m;
    }
    return 0;
}

int pf_sweep_run_dir(const pf_sweep *s, long i, char *buf, size_t len)
{
    char name[PF_STR];
    if (pf_sweep_run_name(s, i, name, sizeof name)) return 1;
    int m = snprintf(buf, len, "%s/%s", s->out, name);
    return m < 0 || (size_t)m >= len;
}

int pf_sweep_run_overrides(const pf_sweep *s, long i, char *buf, size_t len)
{
    if (!len) return 1;
    buf[0] = '\0';
    if (i < 0 || i >= s->n_runs) return 1;
    int idx[PF_CONFIG_MAX_KEYS];
    pf_sweep_indices(s, i, idx);
    size_t j = 0;
    for (int a = 0; a < s->n_axes; a++) {
        int m = snprintf(buf + j, len - j, "%s%s=%s", a ? " " : "", s->axes[a].key, s->axes[a].values[idx[a]]);
        if (m < 0 || (size_t)m >= len - j) return 1;
        j += (size_t)m;
    }
    return 0;
}

int pf_sweep_run_config(const pf_sweep *s, long i, pf_config *cfg, char *err, size_t errlen)
{
    char name[PF_STR], why[1024];
    if (i < 0 || i >= s->n_runs)
        return fail(err, errlen, "%s: run index %ld out of range (the sweep has %ld runs: 0..%ld)",
                    s->path, i, s->n_runs, s->n_runs - 1);
    if (pf_sweep_run_name(s, i, name, sizeof name))
        return fail(err, errlen, "%s: run %ld: directory name too long", s->path, i);
    int idx[PF_CONFIG_MAX_KEYS];
    pf_sweep_indices(s, i, idx);
    *cfg = s->base;
    for (int a = 0; a < s->n_axes; a++)
        if (apply(cfg, s->axes[a].key, s->axes[a].values[idx[a]], why, sizeof why))
            return fail(err, errlen, "%s:%d: [grid] %s = %s: %s", s->path, s->axes[a].line,
                        s->axes[a].key, s->axes[a].values[idx[a]], why);
    int m = snprintf(cfg->out_dir, sizeof cfg->out_dir, "%s/%s", s->out, name);
    if (m < 0 || (size_t)m >= sizeof cfg->out_dir)
        return fail(err, errlen, "%s: run %ld: directory name too long", s->path, i);
    if (pf_config_validate(cfg, why, sizeof why)) {
        /* the keys the sweep set are named "--set section.key" there: drop the "--set " */
        for (char *p; (p = strstr(why, "--set ")) != NULL;) memmove(p, p + 6, strlen(p + 6) + 1);
        return fail(err, errlen, "%s: run %ld (%s): %s", s->path, i, name, why);
    }
    return 0;
}
