/* proxflow: sweep files: the values of [grid] and [fixed], checked by applying them
 * to the base config with pf_config_set, so a sweep accepts exactly what --set accepts. */
#include "config/sweep_impl.h"
#include "config/ini_reader.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char *pf_sweep_dup(const char *s, size_t n)
{
    char *r = pf_ini_trim_dup(s, n);
    if (!r) {
        fprintf(stderr, "proxflow: error: out of memory\n");
        abort();
    }
    return r;
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

int pf_sweep_key_known(const char *name)
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

void pf_sweep_canonical(const pf_config *c, const char *name, char *out, size_t len)
{
    find_value_ctx x = {name, out, len};
    out[0] = '\0';
    pf_config_visit(c, find_value, &x);
}

/* Apply "name=value" to c.  On failure: the reason without pf_config_set's "--set"
 * prefix and key, e.g. "must be > 0 (got -1)". */
int pf_sweep_apply(pf_config *c, const char *name, const char *value, char *why, size_t n)
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

/* Grid values: comma-separated, double quotes protect commas ("64,64"). */
int pf_sweep_split_values(const char *v, char ***out, int *n_out, char *why, size_t n)
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
        char *raw = pf_sweep_dup(p, (size_t)(q - p)), *item = raw;
        size_t l = strlen(raw);
        if (l >= 2 && raw[0] == '"' && raw[l - 1] == '"' && !memchr(raw + 1, '"', l - 2)) {
            item = pf_sweep_dup(raw + 1, l - 2);
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
void pf_sweep_sanitize(char *s)
{
    for (; *s; s++) {
        char c = *s;
        int ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                 c == '.' || c == '_' || c == '=' || c == '-';
        if (!ok) *s = '_';
    }
}

