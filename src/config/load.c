/* proxflow: loading a config file and --set overrides (SPEC §5).  Lines go to inih
 * through the shared reader (src/config/ini_reader.h), so every error names the file,
 * the line and the key; values are parsed by the key table (src/config/keys.h). */
#include "config/keys.h"
#include "config/ini_reader.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    pf_ini_src src;
    pf_config *c;
    int last_key;         /* key set by the previous handler call                    */
    int seen[PF_CONFIG_MAX_KEYS]; /* line where each key was set in this file (0 = not) */
} load_ctx;

/* An unknown [section] is an error even with no keys under it. */
static int check_section(pf_ini_src *s, const char *name)
{
    char b[80], hint[200];
    if (pf_key_section_known(name)) return 0;
    pf_key_section_hint(name, hint, sizeof hint);
    pf_ini_error(s, "[%s]: unknown section%s", pf_ini_show(name, b, sizeof b), hint);
    return 1;
}

static void handle_kv(load_ctx *x, const char *section, const char *name, const char *value)
{
    pf_ini_src *s = &x->src;
    char b[80], why[300], hint[300];
    if (!*section) {
        pf_ini_error(s, "%s: key outside any section (put it under its [section])",
                     pf_ini_show(name, b, sizeof b));
        return;
    }
    int idx = pf_key_find(section, name);
    if (idx < 0) {
        pf_key_key_hint(section, name, hint, sizeof hint);
        pf_ini_error(s, "[%s] %s: unknown key%s", section, pf_ini_show(name, b, sizeof b), hint);
        return;
    }
    const pf_key *k = &pf_keys[idx];
    if (pf_ini_is_space(s->cur[0]) && idx == x->last_key) {
        /* inih (multi-line mode) reads an indented line as more of the previous value */
        pf_ini_error(s, "[%s] %s: indented line read as a continuation of \"%s\" "
                        "(continuation lines are not supported; remove the indentation)",
                     k->section, k->key, k->key);
        return;
    }
    if (x->seen[idx]) {
        pf_ini_error(s, "[%s] %s: duplicate key (first set on line %d)", k->section, k->key, x->seen[idx]);
        return;
    }
    if (pf_key_parse(k, value, x->c, why, sizeof why)) {
        pf_ini_error(s, "[%s] %s = %s: %s", k->section, k->key, pf_ini_show(value, b, sizeof b), why);
        return;
    }
    x->seen[idx] = s->line;
    x->c->src_line[idx] = s->line;
    x->last_key = idx;
}

static int handle(void *user, const char *section, const char *name, const char *value)
{
    load_ctx *x = user;
    if (x->src.err_line) return 1;
    char *owned;
    handle_kv(x, section, name, pf_ini_value(&x->src, value, &owned));
    free(owned);
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
    int status = pf_config_load_text(c, path, text, len, err, errlen);
    free(text);
    return status;
}

int pf_config_load_text(pf_config *c, const char *path, char *text, size_t len, char *err,
                        size_t errlen)
{
    const char *nul = memchr(text, '\0', len);
    if (nul)
        return fail(err, errlen, "%s:%d: not a text file (contains a NUL byte); expected an INI file",
                    path, line_of(text, (size_t)(nul - text)));

    /* Work on a copy so a failed load leaves *c untouched. */
    pf_config tmp = *c;
    for (int i = 0; i < PF_CONFIG_MAX_KEYS; i++)
        if (tmp.src_line[i] > 0) tmp.src_line[i] = 0; /* lines of an earlier file */
    memset(tmp.src_file, 0, sizeof tmp.src_file);
    snprintf(tmp.src_file, sizeof tmp.src_file, "%s", path);

    load_ctx x;
    memset(&x, 0, sizeof x);
    x.src.path = path;
    x.src.text = text;
    x.src.len = len;
    x.src.err = err;
    x.src.errlen = errlen;
    x.src.section = check_section;
    x.c = &tmp;
    x.last_key = -1;
    int status = pf_ini_run(&x.src, handle, &x, "[section], key = value or a ; comment");
    if (!status) *c = tmp;
    return status;
}

/* ------------------------------------------------------------------------------------
 * --set section.key=value */

int pf_config_set(pf_config *c, const char *assignment, char *err, size_t errlen)
{
    char opt[80], b[80], hint[300], why[300];
    if (!assignment) return fail(err, errlen, "--set: missing section.key=value");
    pf_ini_show(assignment, opt, sizeof opt);
    const char *eq = strchr(assignment, '=');
    if (!eq) return fail(err, errlen, "--set %s: expected section.key=value (no '=')", opt);
    const char *dot = memchr(assignment, '.', (size_t)(eq - assignment));
    if (!dot) return fail(err, errlen, "--set %s: expected section.key=value (no '.' before '=')", opt);

    char *section = pf_ini_trim_dup(assignment, (size_t)(dot - assignment));
    char *key = pf_ini_trim_dup(dot + 1, (size_t)(eq - dot - 1));
    char *value = pf_ini_trim_dup(eq + 1, strlen(eq + 1));
    int status = 1;
    if (!section || !key || !value) {
        fail(err, errlen, "--set %s: out of memory", opt);
    } else if (!pf_key_section_known(section)) {
        pf_key_section_hint(section, hint, sizeof hint);
        fail(err, errlen, "--set %s: [%s]: unknown section%s", opt, pf_ini_show(section, b, sizeof b), hint);
    } else {
        int idx = pf_key_find(section, key);
        if (idx < 0) {
            pf_key_key_hint(section, key, hint, sizeof hint);
            fail(err, errlen, "--set %s: [%s] %s: unknown key%s", opt, section, pf_ini_show(key, b, sizeof b), hint);
        } else {
            pf_config tmp = *c;
            if (pf_key_parse(&pf_keys[idx], value, &tmp, why, sizeof why)) {
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

int pf_config_text_is_blank(const char *text, size_t len)
{
    int bol = 1, comment = 0;
    for (size_t i = 0; i < len; i++) {
        const unsigned char c = (unsigned char)text[i];
        if (i < 3 && (c == 0xEF || c == 0xBB || c == 0xBF)) continue; /* UTF-8 BOM */
        if (c == '\n') bol = 1, comment = 0;
        else if (comment || c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v') continue;
        else if (bol && (c == ';' || c == '#')) comment = 1, bol = 0;
        else return 0;
    }
    return 1;
}
