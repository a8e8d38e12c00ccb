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
