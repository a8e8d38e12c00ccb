/* proxflow: opening a data source (SPEC §6.1): a file (src/data/files.c: IDX or an
 * HDF5 dataset) or a synthetic set (src/data/synthetic.c). */
#include "data/data_impl.h"
#include "data/files.h"

#include <string.h>


static int ends_with(const char *s, const char *suf)
{
    size_t n = strlen(s), k = strlen(suf);
    return n >= k && strcmp(s + n - k, suf) == 0;
}

static int looks_like_file(const char *s)
{
    return strstr(s, ".h5:") != NULL || ends_with(s, "-ubyte") || ends_with(s, ".gz") ||
           ends_with(s, ".idx");
}

pf_data *pf_data_open(const pf_config *c, int N, int i0, int i1)
{
    const char *src = c->source;
    if (looks_like_file(src) || pf_config_source_is_file(src)) return pf_data_open_file(c, N, i0, i1);
    return pf_synth_open(c, N, i0, i1);
}
