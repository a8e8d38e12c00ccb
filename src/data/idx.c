/* proxflow: MNIST IDX files (SPEC §6.1): the header parser shared with the fuzzer
 * (src/data/idx.h) and the shard reader (gzip or raw; raw files seek to each stripe). */
#include "data/files.h"
#include "data/idx.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>


typedef struct {
    const char *src, *path;
    gzFile gz;
    int gzip;             /* compressed (magic 1f 8b)                 */
    long long pos;        /* bytes consumed from the decompressed data */
    long long expected;   /* total size the header describes           */
    char shape[96];       /* header dims as text, for messages         */
} idx_in;

static void idx_truncated(const idx_in *in, long long found, const char *where)
{
    if (in->expected > 0)
        pf_die("data source '%s': MNIST IDX file '%s' is truncated: its header (%s) needs "
               "%lld bytes%s, found only %lld%s", in->src, in->path, in->shape, in->expected,
               in->gzip ? " after decompression" : "", found, where);
    pf_die("data source '%s': MNIST IDX file '%s' is truncated: it ends after %lld bytes%s, "
           "inside the header%s", in->src, in->path, found, in->gzip ? " (decompressed)" : "",
           where);
}

/* Exactly n bytes into buf, or die. */
static void idx_read(idx_in *in, void *buf, long long n)
{
    unsigned char *p = buf;
    long long got = 0;
    while (got < n) {
        long long want = n - got;
        if (want > (1 << 30)) want = 1 << 30;
        int r = gzread(in->gz, p + got, (unsigned)want);
        if (r < 0) {
            int errnum = 0;
            const char *msg = gzerror(in->gz, &errnum);
            pf_die("data source '%s': cannot read MNIST IDX file '%s' at byte %lld: %s",
                   in->src, in->path, in->pos + got,
                   errnum == Z_ERRNO ? strerror(errno) : msg);
        }
        if (r == 0) {
            int errnum = 0;
            const char *msg = gzerror(in->gz, &errnum);
            char where[300] = "";
            if (in->gzip && errnum != Z_OK)
                snprintf(where, sizeof where, " (gzip: %s)", msg);
            idx_truncated(in, in->pos + got, where);
        }
        got += r;
    }
    in->pos += n;
}

/* Advance to decompressed byte `to` (>= pos). */
static void idx_skip_to(idx_in *in, long long to)
{
    if (to <= in->pos) return;
    if (!in->gzip) { /* raw: the size was checked against the header, so seek */
        if (gzseek(in->gz, (z_off_t)to, SEEK_SET) != (z_off_t)to)
            pf_die("data source '%s': cannot seek in MNIST IDX file '%s' to byte %lld",
                   in->src, in->path, to);
        in->pos = to;
        return;
    }
    unsigned char buf[1 << 16];
    while (in->pos < to) {
        long long n = to - in->pos;
        if (n > (long long)sizeof buf) n = sizeof buf;
        idx_read(in, buf, n);
    }
}

static unsigned long be32(const unsigned char *b)
{
    return ((unsigned long)b[0] << 24) | ((unsigned long)b[1] << 16) |
           ((unsigned long)b[2] << 8) | (unsigned long)b[3];
}

/* an error message into the caller's buffer; returns PF_IDX_BAD */
#define idx_fail(err, errlen, ...) pf_errorf(PF_IDX_BAD, (err), (errlen), __VA_ARGS__)

/* src/data/idx.h.  Never dies: the fuzzer (fuzz/fuzz_idx.c) calls it. */
int pf_idx_parse_header(const unsigned char *buf, size_t len, const char *name,
                        pf_idx_header *h, char *err, size_t errlen)
{
    memset(h, 0, sizeof *h);
    h->hdr_bytes = 4;
    if (len < 4) return PF_IDX_SHORT;
    const unsigned long magic = be32(buf);
    const int nd = buf[3];
    if (buf[0] != 0 || buf[1] != 0 || buf[2] != 0x08 || nd < 1 || nd > 3) {
        const char *hint = "";
        if (!memcmp(buf, "\x89HDF", 4))
            hint = " (this is an HDF5 file: name the dataset, FILE.h5:/DATASET)";
        return idx_fail(err, errlen, "'%s' is not an MNIST IDX file of unsigned bytes: magic "
                        "number 0x%08lx, expected 0x00000803 (images) or 0x00000801 / "
                        "0x00000802%s", name, magic, hint);
    }
    h->nd = nd;
    h->hdr_bytes = 4 + 4LL * nd;
    if (len < (size_t)h->hdr_bytes) return PF_IDX_SHORT;
    h->dims[0] = 0;
    h->dims[1] = h->dims[2] = 1;
    int sl = 0;
    for (int k = 0; k < nd; k++) {
        h->dims[k] = be32(buf + 4 + 4 * k);
        sl += snprintf(h->shape + sl, sizeof h->shape - (size_t)sl, "%s%lu", k ? " x " : "",
                       h->dims[k]);
    }
    h->M = (long long)h->dims[0];
    /* unsigned: two 32-bit dimensions can exceed LLONG_MAX (found by fuzz/fuzz_idx.c) */
    const unsigned long long ddu = (unsigned long long)h->dims[1] * h->dims[2];
    if (h->M == 0)
        return idx_fail(err, errlen, "MNIST IDX file '%s' is empty (header: %s, no rows)", name,
                        h->shape);
    if (ddu == 0)
        return idx_fail(err, errlen, "MNIST IDX file '%s' has rows of dimension 0 (header: %s)",
                        name, h->shape);
    if (ddu > INT_MAX || (double)h->M * (double)ddu > (double)PF_MAX_ELEMS)
        return idx_fail(err, errlen, "MNIST IDX file '%s' is too large (header: %s)", name,
                        h->shape);
    h->d = (int)ddu;
    h->expected = h->hdr_bytes + h->M * h->d;
    return PF_IDX_OK;
}

int pf_idx_check_size(const pf_idx_header *h, long long size, const char *name, char *err,
                      size_t errlen)
{
    if (size == h->expected) return PF_IDX_OK;
    return idx_fail(err, errlen, "MNIST IDX file '%s' has the wrong size: its header (%s) "
                    "needs %lld bytes, found %lld (%s)", name, h->shape, h->expected, size,
                    size < h->expected ? "truncated" : "trailing data");
}

/* Bytes -> pf_real: / 255 then * scale (SPEC §6.1). */
static void idx_convert(const unsigned char *b, long long n, double scale, pf_real *out)
{
    for (long long k = 0; k < n; k++) out[k] = (pf_real)((double)b[k] / 255.0 * scale);
}

int pf_idx_parse(const unsigned char *buf, size_t len, const char *name, double scale,
                 pf_idx_header *h, pf_real *out, char *err, size_t errlen)
{
    int rc = pf_idx_parse_header(buf, len, name, h, err, errlen);
    if (rc == PF_IDX_SHORT)
        return idx_fail(err, errlen, "MNIST IDX file '%s' is truncated: it ends after %zu "
                        "bytes, inside the header", name, len);
    if (rc != PF_IDX_OK) return rc;
    if ((rc = pf_idx_check_size(h, (long long)len, name, err, errlen)) != PF_IDX_OK) return rc;
    if (out) idx_convert(buf + h->hdr_bytes, h->M * h->d, scale, out);
    return PF_IDX_OK;
}

pf_data *pf_idx_open(const pf_config *c, int N, int i0, int i1)
{
    const char *src = c->source, *path = c->source;
    pf_files_check(src, path);
    idx_in in;
    memset(&in, 0, sizeof in);
    in.src = src;
    in.path = path;

    /* gzip is detected by its magic 1f 8b, not by the name. */
    FILE *fp = fopen(path, "rb");
    if (!fp) pf_die("data source '%s': cannot open file '%s': %s", src, path, strerror(errno));
    unsigned char m2[2] = {0, 0};
    size_t nm = fread(m2, 1, 2, fp);
    fclose(fp);
    in.gzip = nm == 2 && m2[0] == 0x1f && m2[1] == 0x8b;
    in.gz = gzopen(path, "rb");
    if (!in.gz) pf_die("data source '%s': cannot open file '%s': %s", src, path, strerror(errno));
    gzbuffer(in.gz, 1 << 17);

    /* the header through the shared parser (pf_idx_parse_header): the magic first,
     * then the dimensions it announces */
    unsigned char hdr[16];
    pf_idx_header ih;
    char why[600];
    idx_read(&in, hdr, 4);
    int prc = pf_idx_parse_header(hdr, 4, path, &ih, why, sizeof why);
    if (prc == PF_IDX_SHORT) {
        idx_read(&in, hdr + 4, ih.hdr_bytes - 4);
        prc = pf_idx_parse_header(hdr, (size_t)ih.hdr_bytes, path, &ih, why, sizeof why);
    }
    if (prc != PF_IDX_OK) pf_die("data source '%s': %s", src, why);
    snprintf(in.shape, sizeof in.shape, "%s", ih.shape);
    const int nd = ih.nd;
    const unsigned long *dims = ih.dims;
    const long long hdr_bytes = ih.hdr_bytes;
    const long long M_file = ih.M;
    const int d = ih.d;
    in.expected = ih.expected;
    if (!in.gzip) {
        struct stat sb;
        if (stat(path, &sb) != 0)
            pf_die("data source '%s': cannot stat '%s': %s", src, path, strerror(errno));
        if (pf_idx_check_size(&ih, (long long)sb.st_size, path, why, sizeof why))
            pf_die("data source '%s': %s", src, why);
    }

    long M, nh;
    pf_files_split_rows(c, path, M_file, &M, &nh);
    pf_files_check_batch(c, N, i0, i1, M, d);
    if (!(c->data_scale > 0)) pf_die("data source '%s': scale must be > 0", src);
    const double scale = c->data_scale;

    /* This rank's rows, stripe by stripe (SPEC §3). */
    const long n = pf_shard_count(M, N, i0, i1), B = i1 - i0;
    /* Rows stay bytes (pf_data_from_shard_u8): a quarter of float, an eighth of double. */
    unsigned char *shard = pf_malloc((size_t)(n ? n : 1) * d);
    long k = 0;
    for (long base = 0; B > 0 && base + i0 < M; base += N) {
        long j0 = base + i0, j1 = base + i1 < M ? base + i1 : M;
        idx_skip_to(&in, hdr_bytes + (long long)j0 * d);
        idx_read(&in, shard + (size_t)k * d, (long long)(j1 - j0) * d);
        k += j1 - j0;
    }
    if (k != n) pf_die("internal: IDX shard rows %ld != %ld", k, n);

    /* Held-out rows [M, M + nh): every rank. */
    unsigned char *held = NULL;
    if (nh > 0) {
        held = pf_malloc((size_t)nh * d);
        idx_skip_to(&in, hdr_bytes + (long long)M * d);
        idx_read(&in, held, (long long)nh * d);
    }

    /* The whole file must be exactly what the header says (raw: checked by size). */
    if (in.gzip) {
        idx_skip_to(&in, in.expected);
        unsigned char extra[4096];
        long long more = 0;
        int r;
        while ((r = gzread(in.gz, extra, sizeof extra)) > 0) more += r;
        int errnum = 0;
        const char *msg = gzerror(in.gz, &errnum);
        if (r < 0 || (errnum != Z_OK && errnum != Z_BUF_ERROR))
            pf_die("data source '%s': corrupt gzip data in '%s' after %lld bytes: %s", src,
                   path, in.expected + more, errnum == Z_ERRNO ? strerror(errno) : msg);
        if (more > 0)
            pf_die("data source '%s': MNIST IDX file '%s' has trailing data: its header (%s) "
                   "needs %lld bytes after decompression, found %lld", src, path, in.shape,
                   in.expected, in.expected + more);
        if (errnum == Z_BUF_ERROR)
            pf_die("data source '%s': gzip file '%s' is truncated (%s) after its %lld data "
                   "bytes", src, path, msg, in.expected);
    }
    gzclose(in.gz);

    pf_data *D = pf_data_from_shard_u8(c, N, i0, i1, M, d, shard, scale);
    if (nh > 0) pf_data_set_heldout_u8(D, held, nh);
    free(held);
    if (nd == 3) pf_data_set_image_shape(D, (int)dims[1], (int)dims[2], 1);
    return D;
}
