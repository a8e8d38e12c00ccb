/* libFuzzer target: the MNIST IDX parser (pf_idx_parse, src/data/files.c; the reader
 * proxflow uses calls the same header and size checks; docs/RELIABILITY.md).
 *
 * Each input is a whole uncompressed IDX file in memory.  The parser must return
 * whatever the bytes; when it accepts, the header must describe exactly the input
 * (4 + 4 nd + M d bytes) and every converted value must lie in [0, scale]; a rejection
 * must come with a message naming the file.  Else abort(). */
#include "data/idx.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    static const char name[] = "fuzz-idx3-ubyte";
    pf_idx_header h;
    char err[1024] = "";
    /* header only (the streaming reader's first call: 4 bytes, then the rest) */
    int rc = pf_idx_parse_header(data, size < 4 ? size : 4, name, &h, err, sizeof err);
    if (rc == PF_IDX_BAD && !strstr(err, name)) abort();
    rc = pf_idx_parse_header(data, size, name, &h, err, sizeof err);
    if (rc == PF_IDX_SHORT && (long long)size >= h.hdr_bytes) abort();
    if (rc == PF_IDX_BAD && !strstr(err, name)) abort();

    /* the whole file; the values only when small enough to hold */
    err[0] = '\0';
    rc = pf_idx_parse(data, size, name, 2.0, &h, NULL, err, sizeof err);
    if (rc != PF_IDX_OK) {
        if (rc != PF_IDX_BAD || !strstr(err, name)) abort();
        return 0;
    }
    if (h.expected != (long long)size || h.hdr_bytes != 4 + 4LL * h.nd || h.M < 1 || h.d < 1 ||
        h.M * h.d != (long long)size - h.hdr_bytes)
        abort();
    pf_real *out = malloc(sizeof(pf_real) * (size_t)(h.M * h.d));
    if (!out) abort();
    if (pf_idx_parse(data, size, name, 2.0, &h, out, err, sizeof err) != PF_IDX_OK) abort();
    for (long long k = 0; k < h.M * h.d; k++)
        if (!(out[k] >= 0 && out[k] <= 2.0)) abort();
    free(out);
    return 0;
}
