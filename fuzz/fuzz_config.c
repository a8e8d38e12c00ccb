/* libFuzzer target: the config parser (src/config/; docs/RELIABILITY.md).
 *
 * Each input is an INI file given to pf_config_load; each of its lines that looks
 * like section.key=value is also given to pf_config_set.  Whatever the bytes, the
 * parser must return (no crash, no sanitizer report), and a config it accepts must
 * survive the round trip through pf_config_to_ini (what checkpoints and run.h5 store,
 * SPEC §4): reloaded on top of the defaults it gives the same settings, else abort(). */
#include "fuzz_util.h"
#include "proxflow/config/config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Settings equal, provenance (src_file, src_line) ignored. */
static int same_settings(const pf_config *a, const pf_config *b)
{
    static pf_config x, y;
    x = *a;
    y = *b;
    memset(x.src_file, 0, sizeof x.src_file);
    memset(y.src_file, 0, sizeof y.src_file);
    memset(x.src_line, 0, sizeof x.src_line);
    memset(y.src_line, 0, sizeof y.src_line);
    return memcmp(&x, &y, sizeof x) == 0;
}

static void round_trip(const pf_config *c, const char *what)
{
    char err[1024];
    (void)pf_config_validate(c, err, sizeof err);
    char *ini = pf_config_to_ini(c);
    if (!ini) abort();
    const char *p = pf_fuzz_write("roundtrip.ini", (const unsigned char *)ini, strlen(ini));
    static pf_config back;
    pf_config_defaults(&back);
    if (pf_config_load(&back, p, err, sizeof err)) {
        fprintf(stderr, "fuzz_config: %s: pf_config_to_ini output does not load: %s\n%s\n", what,
                err, ini);
        abort();
    }
    if (!same_settings(c, &back)) {
        fprintf(stderr, "fuzz_config: %s: round trip changed the settings:\n%s\n", what, ini);
        abort();
    }
    free(ini);
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    static pf_config c;
    char err[1024];

    /* the whole input as a config file */
    const char *path = pf_fuzz_write("input.ini", data, size);
    pf_config_defaults(&c);
    if (pf_config_load(&c, path, err, sizeof err) == 0) round_trip(&c, "pf_config_load");

    /* its lines as --set overrides, applied one after the other */
    pf_config_defaults(&c);
    int applied = 0;
    size_t i = 0;
    while (i < size) {
        size_t j = i;
        while (j < size && data[j] != '\n') j++;
        if (j - i < 1024) {
            char line[1024];
            memcpy(line, data + i, j - i);
            line[j - i] = '\0';
            if (strlen(line) == j - i && strchr(line, '=')) /* no NUL inside */
                applied += pf_config_set(&c, line, err, sizeof err) == 0;
        }
        i = j + 1;
    }
    if (applied) round_trip(&c, "pf_config_set");
    return 0;
}
