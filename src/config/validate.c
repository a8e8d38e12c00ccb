/* proxflow: validation of a whole config (SPEC §5: every error names the file, line
 * and key before any work starts): every key again through its parser, the [data]
 * source, and the checks that involve several keys. */
#include "config/keys.h"
#include "config/ini_reader.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int pf_config_source_is_file(const char *src)
{
    for (int k = 0; pf_synthetic_names[k]; k++)
        if (strcmp(src, pf_synthetic_names[k]) == 0) return 0;
    if (strchr(src, '/') || strchr(src, '.')) return 1; /* a path: never a synthetic name */
    struct stat sb;
    return stat(src, &sb) == 0 && !S_ISDIR(sb.st_mode);
}

/* Where key idx got its value: "file:line", "--set section.key" or "default". */
static void origin(const pf_config *c, int idx, char *buf, size_t n)
{
    int line = c->src_line[idx];
    if (line > 0)
        snprintf(buf, n, "%.*s:%d", PF_STR - 1, c->src_file, line);
    else if (line < 0)
        snprintf(buf, n, "--set %s.%s", pf_keys[idx].section, pf_keys[idx].key);
    else
        snprintf(buf, n, "default");
}

/* "x.ini:7: [data] reference_low = 2 must be < [data] reference_high = 1 (x.ini:8)",
 * led by whichever of the two keys was set explicitly. */
static int cross_fail(const pf_config *c, int a, const char *rel, int b, const char *inv,
                      char *err, size_t errlen)
{
    if (c->src_line[a] == 0 && c->src_line[b] != 0) {
        int t = a;
        a = b, b = t, rel = inv;
    }
    char oa[PF_STR + 16], ob[PF_STR + 16], va[PF_VALBUF], vb[PF_VALBUF];
    origin(c, a, oa, sizeof oa);
    origin(c, b, ob, sizeof ob);
    pf_key_format(c, &pf_keys[a], va, sizeof va);
    pf_key_format(c, &pf_keys[b], vb, sizeof vb);
    return fail(err, errlen, "%s: [%s] %s = %s must be %s [%s] %s = %s (%s)", oa, pf_keys[a].section,
                pf_keys[a].key, va, rel, pf_keys[b].section, pf_keys[b].key, vb, ob);
}

int pf_config_validate(const pf_config *c, char *err, size_t errlen)
{
    /* Every key again, by formatting it and parsing the text back: catches values set
     * in code (e.g. c->steps = 0) with the same messages as a file. */
    pf_config *scratch = malloc(sizeof *scratch);
    if (!scratch) return fail(err, errlen, "out of memory");
    for (int i = 0; i < pf_n_keys; i++) {
        char v[PF_VALBUF], why[300], o[PF_STR + 16], b[80];
        pf_key_format(c, &pf_keys[i], v, sizeof v);
        if (pf_key_parse(&pf_keys[i], v, scratch, why, sizeof why)) {
            origin(c, i, o, sizeof o);
            free(scratch);
            return fail(err, errlen, "%s: [%s] %s = %s: %s", o, pf_keys[i].section, pf_keys[i].key,
                        pf_ini_show(v, b, sizeof b), why);
        }
    }
    free(scratch);

    /* [data] source: a synthetic name or something that looks like a file (the file
     * itself is opened, and its errors named, when the data are opened). */
    if (!pf_config_source_is_file(c->source)) {
        int ok = 0;
        char list[512] = "";
        for (int k = 0; pf_synthetic_names[k]; k++) {
            ok |= !strcmp(c->source, pf_synthetic_names[k]);
            strncat(list, k ? ", " : "", sizeof list - strlen(list) - 1);
            strncat(list, pf_synthetic_names[k], sizeof list - strlen(list) - 1);
        }
        if (!ok) {
            char o[PF_STR + 16], b[80];
            origin(c, pf_key_find("data", "source"), o, sizeof o);
            return fail(err, errlen, "%s: [data] source = %s: unknown data source '%s' (synthetic "
                        "sources: %s; or FILE.h5:/DATASET, or an MNIST IDX file)", o,
                        pf_ini_show(c->source, b, sizeof b), c->source, list);
        }
    }

    /* Checks that involve several keys. */
    if (c->embedding != PF_EMBED_AUTO && pf_config_source_is_file(c->source)) {
        char o[PF_STR + 16], b[80], v[PF_VALBUF];
        int ke = pf_key_find("data", "embedding");
        origin(c, ke, o, sizeof o);
        pf_key_format(c, &pf_keys[ke], v, sizeof v);
        return fail(err, errlen, "%s: [data] embedding = %s applies to synthetic sets only; [data] "
                    "source = %s is a file (its rows are used as they are)", o, v,
                    pf_ini_show(c->source, b, sizeof b));
    }
    int lo = pf_key_find("data", "reference_low"), hi = pf_key_find("data", "reference_high");
    if (!(c->ref_low < c->ref_high)) return cross_fail(c, lo, "<", hi, ">", err, errlen);
    return 0;
}
