/* proxflow: a config as text: pf_config_visit, the resolved INI (run.h5 and checkpoints
 * store it, SPEC §4) and the Markdown reference that docs/CONFIG.md embeds, all from the
 * key table (src/config/keys.h). */
#include "config/keys.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void pf_config_visit(const pf_config *c, pf_config_visit_fn fn, void *user)
{
    char v[PF_VALBUF];
    for (int i = 0; i < pf_n_keys; i++) {
        pf_key_format(c, &pf_keys[i], v, sizeof v);
        fn(pf_keys[i].section, pf_keys[i].key, v, user);
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
    char v[PF_VALBUF];
    sb_printf(&s, "; proxflow configuration (every key, resolved)\n");
    for (int i = 0; i < pf_n_keys; i++) {
        if (!i || strcmp(pf_keys[i].section, pf_keys[i - 1].section))
            sb_printf(&s, "%s[%s]\n", i ? "\n" : "", pf_keys[i].section);
        pf_key_format(c, &pf_keys[i], v, sizeof v);
        sb_printf(&s, "%s = %s\n", pf_keys[i].key, v);
    }
    return sb_finish(&s);
}

static const char *type_name(pf_key_type t)
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
    for (int i = 0; i < pf_n_keys; i++) {
        const pf_key *k = &pf_keys[i];
        if (!i || strcmp(k->section, pf_keys[i - 1].section))
            sb_printf(&s, "%s### [%s]\n\n| key | type | default | allowed | meaning |\n"
                          "|---|---|---|---|---|\n", i ? "\n" : "", k->section);
        char allowed[300], r[64];
        pf_key_range_text(k, r, sizeof r);
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
