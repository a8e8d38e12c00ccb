/* proxflow: file data sources (SPEC §6.1), read shard by shard (SPEC §3).
 *
 * Sources (config [data] source; docs/DATA.md):
 *   FILE.h5:/DATASET   an HDF5 dataset (also FILE.hdf5:/DATASET), any numeric type,
 *                      read as pf_real through HDF5's conversion, times `scale`:
 *                        [M]          rows of dimension 1
 *                        [M, d]       rows of dimension d
 *                        [M, H, W]    images, C = 1
 *                        [M, H, W, C] images, stored channel-last; every row is
 *                                     transposed to the channel-major [C][H][W] flatten
 *                                     the CNN expects (SPEC §2).
 *   anything else      an MNIST IDX file of unsigned bytes, gzip-compressed (magic
 *                      1f 8b) or raw: big-endian magic 0x00000803 (images [M, H, W])
 *                      or 0x00000801 / 0x00000802 ([M] / [M, d]); values / 255 times
 *                      `scale`.  The (decompressed) size must match the header exactly.
 *
 * Rows used (SPEC §6.1, config n_train): n_train = 0 uses all M rows of the file;
 * n_train > 0 uses the first n_train rows (M = n_train) and keeps the rows after them
 * (up to another n_train, or the rest of the file) as held-out rows for evaluation
 * (pf_data_set_heldout; every rank reads them: they are few).
 *
 * Sharding (SPEC §3): a rank owning batch columns [i0, i1) of N reads only the rows j
 * with (j mod N) in [i0, i1), in ascending j (pf_data_from_shard's layout):
 *   - HDF5: parallel HDF5 on pf_comm(), one collective H5Dread of the union of the
 *     strided hyperslab (start i0, stride N, block i1 - i0, one per complete stripe of
 *     N rows) and the clipped block of the last, incomplete stripe; a rank without
 *     rows selects none but still takes part in the collective read.
 *   - IDX: raw files seek to each stripe's block; gzip files cannot seek, so every
 *     rank streams through the file and keeps its rows.  Every rank reads the whole
 *     file's length (to the end) so a truncated or padded file is caught on all ranks.
 *
 * Errors die (pf_die, which aborts every rank) with a message naming the file (and the
 * dataset and row).  NaN/Inf rows of an HDF5 dataset: the first bad global row over
 * all ranks is found with one MPI_Allreduce, so every rank reports the same row. */
#include "proxflow/data/data.h"
#include "data/idx.h"

#include <errno.h>
#include <hdf5.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

/* Largest element count we accept (keeps every size product far from overflow). */
#define PF_MAX_ELEMS (1LL << 50)

/* ------------------------------------------------------------------ sources ---- */

/* "FILE.h5:/DATASET" (or .hdf5): split at the first ".h5:" / ".hdf5:". */
static int split_h5(const char *src, char *file, size_t flen, char *dset, size_t dlen)
{
    static const char *const sufs[] = {".h5:", ".hdf5:"};
    const char *best = NULL;
    size_t best_len = 0;
    for (size_t k = 0; k < sizeof sufs / sizeof sufs[0]; k++) {
        const char *p = strstr(src, sufs[k]);
        if (p && (!best || p < best)) {
            best = p;
            best_len = strlen(sufs[k]);
        }
    }
    if (!best) return 0;
    size_t n = (size_t)(best - src) + best_len - 1; /* keep ".h5", drop ':' */
    if (n >= flen || strlen(best + best_len) >= dlen)
        pf_die("data source '%s': path too long", src);
    memcpy(file, src, n);
    file[n] = 0;
    strcpy(dset, best + best_len);
    return 1;
}

/* The file must exist and be a regular file (or a link to one). */
static void check_file(const char *src, const char *path)
{
    struct stat sb;
    if (stat(path, &sb) != 0)
        pf_die("data source '%s': cannot open file '%s': %s", src, path, strerror(errno));
    if (S_ISDIR(sb.st_mode))
        pf_die("data source '%s': '%s' is a directory, not a data file", src, path);
}

/* Rows used for training (M) and held out (nh) of a file of M_file rows. */
static void split_rows(const pf_config *c, const char *what, long long M_file, long *M,
                       long *nh)
{
    if (c->n_train < 0) pf_die("data source '%s': n_train must be >= 0", c->source);
    if (c->n_train > M_file)
        pf_die("data source '%s': n_train = %ld exceeds the %lld rows of %s", c->source,
               c->n_train, M_file, what);
    if (M_file > LONG_MAX / 2) pf_die("data source '%s': too many rows (%lld)", c->source, M_file);
    if (c->n_train > 0) {
        *M = c->n_train;
        long rest = (long)M_file - *M;
        *nh = rest < *M ? rest : *M;
    } else {
        *M = (long)M_file;
        *nh = 0;
    }
}

/* N > M is an error (SPEC §3); pf_data_from_shard reports it with data.c's message. */
static void check_batch(const pf_config *c, int N, int i0, int i1, long M, int d)
{
    if ((long)N > M) {
        pf_data_from_shard(c, N, i0, i1, M, d, NULL); /* dies: "batch N exceeds ..." */
        pf_die("batch %d exceeds the %ld rows of %s", N, M, c->source);
    }
}

/* Global row id of local shard row k (layout of pf_data_from_shard). */
static long shard_row_id(long k, int N, int i0, int i1)
{
    long B = i1 - i0;
    return (k / B) * N + i0 + k % B;
}

/* ---------------------------------------------------------------------- IDX ---- */

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

/* include/proxflow/idx.h.  Never dies: the fuzzer (fuzz/fuzz_idx.c) calls it. */
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

static pf_data *open_idx(const pf_config *c, int N, int i0, int i1)
{
    const char *src = c->source, *path = c->source;
    check_file(src, path);
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
    split_rows(c, path, M_file, &M, &nh);
    check_batch(c, N, i0, i1, M, d);
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

/* --------------------------------------------------------------------- HDF5 ---- */

typedef struct { H5E_auto2_t fn; void *data; } h5_quiet;

static herr_t h5_walk_cb(unsigned n, const H5E_error2_t *e, void *user)
{
    (void)n;
    char *why = user;
    if (!*why) snprintf(why, 256, "%s", e->desc ? e->desc : "");
    return 0;
}

/* HDF5's innermost message for an error report (the automatic stack dump is off). */
static void h5_why(char *why, size_t len)
{
    char tmp[256] = "";
    H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, h5_walk_cb, tmp);
    snprintf(why, len, "%s%s", *tmp ? ": " : "", tmp);
}

/* Channel-last rows [H][W][C] -> channel-major [C][H][W] (SPEC §2), in place. */
static void to_channel_major(pf_real *rows, long n, int H, int W, int C)
{
    const long d = (long)H * W * C;
    pf_real *tmp = pf_malloc((size_t)d * sizeof *tmp);
    for (long r = 0; r < n; r++) {
        pf_real *x = rows + (size_t)r * d;
        for (long p = 0; p < (long)H * W; p++)
            for (int ch = 0; ch < C; ch++) tmp[(long)ch * H * W + p] = x[p * C + ch];
        memcpy(x, tmp, (size_t)d * sizeof *tmp);
    }
    free(tmp);
}

/* First non-finite row of rows [n x d] (global ids id0 + ..., or shard ids); -1 if none. */
static long first_bad_row(const pf_real *rows, long n, int d, int shard, int N, int i0,
                          int i1, long id0)
{
    for (long r = 0; r < n; r++)
        for (int p = 0; p < d; p++)
            if (!isfinite((double)rows[(size_t)r * d + p]))
                return shard ? shard_row_id(r, N, i0, i1) : id0 + r;
    return -1;
}

static pf_data *open_h5(const pf_config *c, const char *file, const char *dset, int N,
                        int i0, int i1)
{
    const char *src = c->source;
    if (!*dset) pf_die("data source '%s': no dataset after ':' (use FILE.h5:/DATASET)", src);
    check_file(src, file);
    h5_quiet q;
    H5Eget_auto2(H5E_DEFAULT, &q.fn, &q.data);
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    char why[300];

    if (H5Fis_hdf5(file) <= 0) pf_die("data source '%s': '%s' is not an HDF5 file", src, file);
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    if (fapl < 0 || H5Pset_fapl_mpio(fapl, pf_comm(), MPI_INFO_NULL) < 0) {
        h5_why(why, sizeof why);
        pf_die("data source '%s': cannot set up parallel HDF5 access to '%s'%s", src, file, why);
    }
    hid_t f = H5Fopen(file, H5F_ACC_RDONLY, fapl);
    if (f < 0) {
        h5_why(why, sizeof why);
        pf_die("data source '%s': cannot open HDF5 file '%s'%s", src, file, why);
    }
    hid_t ds = H5Dopen2(f, dset, H5P_DEFAULT);
    if (ds < 0)
        pf_die("data source '%s': HDF5 file '%s' has no dataset '%s' (missing, or not a "
               "dataset)", src, file, dset);
    hid_t ty = H5Dget_type(ds);
    H5T_class_t cls = H5Tget_class(ty);
    H5Tclose(ty);
    if (cls != H5T_INTEGER && cls != H5T_FLOAT)
        pf_die("data source '%s': dataset '%s' of '%s' is not numeric (integer or float)",
               src, dset, file);
    hid_t fs = H5Dget_space(ds);
    int rank = H5Sget_simple_extent_ndims(fs);
    hsize_t dims[4] = {0, 1, 1, 1};
    if (rank < 1 || rank > 4)
        pf_die("data source '%s': dataset '%s' of '%s' has %d dimensions; expected [M, d], "
               "[M, H, W] or [M, H, W, C] (or [M])", src, dset, file, rank);
    H5Sget_simple_extent_dims(fs, dims, NULL);
    char shape[128];
    int sl = 0;
    for (int k = 0; k < rank; k++)
        sl += snprintf(shape + sl, sizeof shape - (size_t)sl, "%s%llu", k ? " x " : "",
                       (unsigned long long)dims[k]);
    const long long M_file = (long long)dims[0];
    if (M_file == 0)
        pf_die("data source '%s': dataset '%s' of '%s' is empty (%s)", src, dset, file, shape);
    double dd = 1;
    for (int k = 1; k < rank; k++) dd *= (double)dims[k];
    if (dd == 0)
        pf_die("data source '%s': dataset '%s' of '%s' has rows of dimension 0 (%s)", src, dset,
               file, shape);
    if (dd > INT_MAX || (double)M_file * dd > (double)PF_MAX_ELEMS)
        pf_die("data source '%s': dataset '%s' of '%s' is too large (%s)", src, dset, file, shape);
    const int d = (int)dd;
    char what[2 * PF_STR + 32];
    snprintf(what, sizeof what, "dataset '%s' of '%s'", dset, file);
    long M, nh;
    split_rows(c, what, M_file, &M, &nh);
    check_batch(c, N, i0, i1, M, d);
    if (!(c->data_scale > 0)) pf_die("data source '%s': scale must be > 0", src);

    /* This rank's rows as one selection (SPEC §3): complete stripes as a strided
     * hyperslab, OR the clipped block of the last stripe. */
    const long n = pf_shard_count(M, N, i0, i1), B = i1 - i0;
    hsize_t start[4] = {0, 0, 0, 0}, stride[4] = {1, 1, 1, 1}, count[4] = {1, 1, 1, 1},
            block[4] = {1, dims[1], dims[2], dims[3]};
    H5Sselect_none(fs);
    long nfull = (B > 0 && M >= i1) ? (M - i1) / N + 1 : 0;
    if (nfull > 0) {
        start[0] = (hsize_t)i0;
        stride[0] = (hsize_t)N;
        count[0] = (hsize_t)nfull;
        block[0] = (hsize_t)B;
        if (H5Sselect_hyperslab(fs, H5S_SELECT_SET, start, stride, count, block) < 0)
            pf_die("data source '%s': hyperslab selection failed on %s", src, what);
    }
    long tail = nfull * N + i0;
    if (B > 0 && tail < M) {
        start[0] = (hsize_t)tail;
        stride[0] = 1;
        count[0] = 1;
        block[0] = (hsize_t)((tail + B < M ? tail + B : M) - tail);
        if (H5Sselect_hyperslab(fs, nfull > 0 ? H5S_SELECT_OR : H5S_SELECT_SET, start, stride,
                                count, block) < 0)
            pf_die("data source '%s': hyperslab selection failed on %s", src, what);
    }
    if ((long long)H5Sget_select_npoints(fs) != (long long)n * d)
        pf_die("internal: HDF5 selection of %lld values, expected %ld x %d",
               (long long)H5Sget_select_npoints(fs), n, d);
    hsize_t mdim = (hsize_t)(n > 0 ? (long long)n * d : 1);
    hid_t ms = H5Screate_simple(1, &mdim, NULL);
    if (n == 0) H5Sselect_none(ms);
    hid_t dxpl = H5Pcreate(H5P_DATASET_XFER);
    H5Pset_dxpl_mpio(dxpl, H5FD_MPIO_COLLECTIVE);
    pf_real *shard = pf_malloc((size_t)(n ? n : 1) * d * sizeof *shard);
    if (H5Dread(ds, PF_H5_REAL, ms, fs, dxpl, shard) < 0) {
        h5_why(why, sizeof why);
        pf_die("data source '%s': cannot read %s%s", src, what, why);
    }
    H5Sclose(ms);

    /* Held-out rows [M, M + nh): every rank reads the same block. */
    pf_real *held = NULL;
    if (nh > 0) {
        held = pf_malloc((size_t)nh * d * sizeof *held);
        start[0] = (hsize_t)M;
        stride[0] = 1;
        count[0] = 1;
        block[0] = (hsize_t)nh;
        H5Sselect_hyperslab(fs, H5S_SELECT_SET, start, stride, count, block);
        mdim = (hsize_t)nh * d;
        ms = H5Screate_simple(1, &mdim, NULL);
        if (H5Dread(ds, PF_H5_REAL, ms, fs, dxpl, held) < 0) {
            h5_why(why, sizeof why);
            pf_die("data source '%s': cannot read the held-out rows of %s%s", src, what, why);
        }
        H5Sclose(ms);
    }
    H5Pclose(dxpl);
    H5Sclose(fs);
    H5Dclose(ds);
    H5Pclose(fapl);
    H5Fclose(f);
    H5Eset_auto2(H5E_DEFAULT, q.fn, q.data);

    const double scale = c->data_scale;
    for (long k = 0; k < n * d; k++) shard[k] = (pf_real)(scale * (double)shard[k]);
    for (long k = 0; k < nh * d; k++) held[k] = (pf_real)(scale * (double)held[k]);

    /* NaN/Inf: the first bad global row over all ranks (training rows, then held-out). */
    long bad = first_bad_row(shard, n, d, 1, N, i0, i1, 0);
    long bad_h = first_bad_row(held, nh, d, 0, N, i0, i1, M);
    long lb[2] = {bad < 0 ? LONG_MAX : bad, bad_h < 0 ? LONG_MAX : bad_h};
    MPI_Allreduce(MPI_IN_PLACE, lb, 2, MPI_LONG, MPI_MIN, pf_comm());
    if (lb[0] != LONG_MAX || lb[1] != LONG_MAX)
        pf_die("data source '%s': dataset '%s' of '%s' has a NaN or Inf value in row %ld "
               "(first bad row%s; values are used as stored, times scale = %g)", src, dset,
               file, lb[0] != LONG_MAX ? lb[0] : lb[1],
               lb[0] != LONG_MAX ? "" : ", a held-out row", scale);

    int H = 0, W = 0, C = 0;
    if (rank >= 3) {
        H = (int)dims[1];
        W = (int)dims[2];
        C = rank == 4 ? (int)dims[3] : 1;
        if (C > 1) {
            to_channel_major(shard, n, H, W, C);
            to_channel_major(held, nh, H, W, C);
        }
    }
    pf_data *D = pf_data_from_shard(c, N, i0, i1, M, d, shard);
    if (nh > 0) pf_data_set_heldout(D, held, nh);
    free(held);
    if (H > 0) pf_data_set_image_shape(D, H, W, C);
    return D;
}

/* -------------------------------------------------------------------- entry ---- */

pf_data *pf_data_open_file(const pf_config *c, int N, int i0, int i1)
{
    if (N < 1 || i0 < 0 || i1 < i0 || i1 > N)
        pf_die("data source '%s': bad batch block [%d, %d) of N = %d", c->source, i0, i1, N);
    char file[PF_STR], dset[PF_STR];
    if (split_h5(c->source, file, sizeof file, dset, sizeof dset))
        return open_h5(c, file, dset, N, i0, i1);
    return open_idx(c, N, i0, i1);
}
