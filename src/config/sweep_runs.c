/* proxflow: the runs of a sweep (SPEC §7): index -> grid values, run name, directory,
 * overrides and the run's whole validated config.  The last key varies fastest. */
#include "config/sweep_impl.h"

#include <stdio.h>
#include <string.h>

void pf_sweep_indices(const pf_sweep *s, long i, int *idx)
{
    for (int a = s->n_axes - 1; a >= 0; a--) { /* the last key varies fastest */
        idx[a] = (int)(i % s->axes[a].n);
        i /= s->axes[a].n;
    }
}

/* Run i's grid values joined by sep: "label=value" with the value sanitized for a
 * directory name (names), or "section.key=value" as given (overrides). */
static int join_values(const pf_sweep *s, long i, int names, char *buf, size_t len)
{
    if (!len) return 1;
    buf[0] = '\0';
    if (i < 0 || i >= s->n_runs) return 1;
    int idx[PF_CONFIG_MAX_KEYS];
    pf_sweep_indices(s, i, idx);
    size_t j = 0;
    for (int a = 0; a < s->n_axes; a++) {
        const char *key = names ? s->axes[a].label : s->axes[a].key;
        int m = snprintf(buf + j, len - j, "%s%s=%s", a ? (names ? "_" : " ") : "", key,
                         s->axes[a].values[idx[a]]);
        if (m < 0 || (size_t)m >= len - j) return 1;
        if (names) pf_sweep_sanitize(buf + j + (a ? 1 : 0) + strlen(key) + 1);
        j += (size_t)m;
    }
    return 0;
}

int pf_sweep_run_name(const pf_sweep *s, long i, char *buf, size_t len)
{
    return join_values(s, i, 1, buf, len);
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
    return join_values(s, i, 0, buf, len);
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
        if (pf_sweep_apply(cfg, s->axes[a].key, s->axes[a].values[idx[a]], why, sizeof why))
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
