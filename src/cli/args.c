/* Option parsing shared by the commands (SPEC §5). */
#include "proxflow/cli/cli.h"
#include "proxflow/core/common.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- options ------------------------------------------------------------------------ */

int pf_cli_help(int argc, char **argv, const char *help)
{
    for (int k = 0; k < argc; k++)
        if (!strcmp(argv[k], "--help") || !strcmp(argv[k], "-h")) {
            if (pf_rank() == 0) {
                fputs(help, stdout);
                fflush(stdout);
            }
            return 1;
        }
    return 0;
}

void pf_cli_usage_error(const char *cmd, const char *usage, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    pf_fail_collective(2, "%s: %s (usage: %s; more: proxflow %s --help)", cmd, msg, usage, cmd);
}

const char *pf_cli_option(int argc, char **argv, int *k, const char *name, const char *cmd,
                          const char *usage)
{
    const char *a = argv[*k];
    const size_t n = strlen(name);
    if (strncmp(a, name, n)) return NULL;
    if (a[n] == '=') return a + n + 1;
    if (a[n]) return NULL;
    if (*k + 1 >= argc) pf_cli_usage_error(cmd, usage, "missing value after %s", name);
    return argv[++*k];
}

long long pf_cli_parse_int(const char *v, const char *opt, long long lo, long long hi,
                           const char *cmd, const char *usage)
{
    char *end = NULL;
    errno = 0;
    long long x = strtoll(v, &end, 10);
    if (!*v || *end || errno)
        pf_cli_usage_error(cmd, usage, "%s expects an integer, got '%s'", opt, v);
    if (x < lo || x > hi)
        pf_cli_usage_error(cmd, usage, "%s must be in [%lld, %lld], got %lld", opt, lo, hi, x);
    return x;
}

/* The spec is a list of the command's options: "--x=" takes a value and may be given
 * once, "--x=*" takes a value and repeats (--set), "--x" is a flag.  Unknown words are
 * left to the command's parser, which reports them. */
static const char *spec_find(const char *spec, const char *name, size_t n, int *value, int *repeat)
{
    for (const char *p = spec; *p;) {
        while (*p == ' ') p++;
        const char *e = p;
        while (*e && *e != ' ' && *e != '=') e++;
        if ((size_t)(e - p) == n && !strncmp(p, name, n)) {
            *value = *e == '=';
            *repeat = *value && e[1] == '*';
            return p;
        }
        while (*e && *e != ' ') e++;
        p = e;
    }
    return NULL;
}

void pf_cli_check_once(int argc, char **argv, const char *cmd, const char *spec)
{
    enum { MAXSEEN = 32 };
    const char *seen_at[MAXSEEN], *seen_v[MAXSEEN];
    int n_seen = 0;
    for (int k = 0; k < argc; k++) {
        const char *a = argv[k];
        if (strncmp(a, "--", 2)) continue;
        const char *eq = strchr(a, '=');
        const size_t n = eq ? (size_t)(eq - a) : strlen(a);
        int value = 0, repeat = 0;
        const char *id = spec_find(spec, a, n, &value, &repeat);
        if (!id) continue;
        const char *v = "";
        if (value) {
            if (eq) v = eq + 1;
            else if (k + 1 < argc) v = argv[++k];
            else continue; /* the parser says "missing value" */
            if (repeat) continue;
            if (!*v) /* `--out ''` (an unset shell variable, most often) */
                pf_fail_collective(2, "%s: %.*s needs a value, got an empty string (see proxflow %s --help)",
                                   cmd, (int)n, a, cmd);
        }
        for (int q = 0; q < n_seen; q++)
            if (seen_at[q] == id) { /* which one was meant? refuse, as train does */
                if (value)
                    pf_fail_collective(2, "%s: %.*s given twice ('%s', then '%s')", cmd, (int)n, a, seen_v[q], v);
                pf_fail_collective(2, "%s: %.*s given twice", cmd, (int)n, a);
            }
        if (n_seen < MAXSEEN) {
            seen_at[n_seen] = id;
            seen_v[n_seen++] = v;
        }
    }
}
