/* proxflow: HDF5 dataset sources FILE.h5:/DATASET (SPEC §6.1): one collective read of
 * this rank's strided hyperslab of rows (SPEC §3), any numeric type converted by HDF5,
 * images stored channel-last transposed to channel-major; non-finite rows refused. */
#include "data/files.h"
#include "core/h5util.h"

#include <hdf5.h>
#include <math.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


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
                return shard ? pf_files_shard_row_id(r, N, i0, i1) : id0 + r;
    return -1;
}

pf_data *pf_h5data_open(const pf_config *c, const char *file, const char *dset, int N,
                        int i0, int i1)
{
    const char *src = c->source;
    if (!*dset) pf_die("data source '%s': no dataset after ':' (use FILE.h5:/DATASET)", src);
    pf_files_check(src, file);
    pf_h5_quiet q;
    pf_h5_quiet_begin(&q);
    char why[300];

    if (H5Fis_hdf5(file) <= 0) pf_die("data source '%s': '%s' is not an HDF5 file", src, file);
    hid_t fapl = pf_h5_fapl_mpio(file);
    hid_t f = H5Fopen(file, H5F_ACC_RDONLY, fapl);
    if (f < 0) {
        pf_h5_why(why, sizeof why);
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
    pf_files_split_rows(c, what, M_file, &M, &nh);
    pf_files_check_batch(c, N, i0, i1, M, d);
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
    hid_t dxpl = pf_h5_dxpl_collective(file);
    pf_real *shard = pf_malloc((size_t)(n ? n : 1) * d * sizeof *shard);
    if (H5Dread(ds, PF_H5_REAL, ms, fs, dxpl, shard) < 0) {
        pf_h5_why(why, sizeof why);
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
            pf_h5_why(why, sizeof why);
            pf_die("data source '%s': cannot read the held-out rows of %s%s", src, what, why);
        }
        H5Sclose(ms);
    }
    H5Pclose(dxpl);
    H5Sclose(fs);
    H5Dclose(ds);
    H5Pclose(fapl);
    H5Fclose(f);
    pf_h5_quiet_end(&q);

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
