/* proxflow: file data sources (SPEC §6.1), read shard by shard (SPEC §3): which kind a
 * source is, the rows it uses, and the checks every kind shares.
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
#include "data/files.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>


/* "FILE.h5:/DATASET" (or .hdf5): split at the first ".h5:" / ".hdf5:". */
int pf_files_split_h5(const char *src, char *file, size_t flen, char *dset, size_t dlen)
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
void pf_files_check(const char *src, const char *path)
{
    struct stat sb;
    if (stat(path, &sb) != 0)
        pf_die("data source '%s': cannot open file '%s': %s", src, path, strerror(errno));
    if (S_ISDIR(sb.st_mode))
        pf_die("data source '%s': '%s' is a directory, not a data file", src, path);
}

/* Rows used for training (M) and held out (nh) of a file of M_file rows. */
void pf_files_split_rows(const pf_config *c, const char *what, long long M_file, long *M,
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
void pf_files_check_batch(const pf_config *c, int N, int i0, int i1, long M, int d)
{
    if ((long)N > M) {
        pf_data_from_shard(c, N, i0, i1, M, d, NULL); /* dies: "batch N exceeds ..." */
        pf_die("batch %d exceeds the %ld rows of %s", N, M, c->source);
    }
}

/* Global row id of local shard row k (layout of pf_data_from_shard). */
long pf_files_shard_row_id(long k, int N, int i0, int i1)
{
    long B = i1 - i0;
    return (k / B) * N + i0 + k % B;
}

pf_data *pf_data_open_file(const pf_config *c, int N, int i0, int i1)
{
    if (N < 1 || i0 < 0 || i1 < i0 || i1 > N)
        pf_die("data source '%s': bad batch block [%d, %d) of N = %d", c->source, i0, i1, N);
    char file[PF_STR], dset[PF_STR];
    if (pf_files_split_h5(c->source, file, sizeof file, dset, sizeof dset))
        return pf_h5data_open(c, file, dset, N, i0, i1);
    return pf_idx_open(c, N, i0, i1);
}
