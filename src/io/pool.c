/* Stored sample pools between the links of a chain (SPEC §8), the writing side: every
 * rank its contiguous block of rows (also a rank with none), collectively and atomically
 * (temporary name, complete = 1 last, rename).  Reading them: src/data/pool_source.c. */
#include "proxflow/io/pool.h"
#include "core/h5util.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

void pf_pool_write(const char *path, const pf_real *X, long a, long b, long M, int d,
                   const char *const *names, const double *vals, int n)
{
    const char *pool = "pool";
    pf_rows_write(path, 1, &pool, &X, a, b, M, d, names, vals, n);
}

void pf_rows_write(const char *path, int nsets, const char *const *dsets, const pf_real *const *bufs,
                   long a, long b, long M, int d, const char *const *names, const double *vals,
                   int n)
{
    char tmp[PF_STR + 16];
    if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp)
        pf_die("pool file name too long: %s", path);
    const char *h5_path = tmp;
    pf_h5_quiet q;
    pf_h5_quiet_begin(&q);
    if (pf_rank() == 0 && unlink(tmp) && errno != ENOENT)
        pf_die("cannot remove stale %s: %s", tmp, strerror(errno));
    MPI_Barrier(pf_comm());
    hid_t fapl = pf_h5_fapl_mpio(h5_path);
    hid_t f = PF_H5CHECK(H5Fcreate(tmp, H5F_ACC_EXCL, H5P_DEFAULT, fapl));
    H5Pclose(fapl);
    hsize_t dims[2] = {(hsize_t)M, (hsize_t)d};
    hid_t dxpl = pf_h5_dxpl_collective(h5_path);
    for (int s = 0; s < nsets; s++) {
        hid_t fs = PF_H5CHECK(H5Screate_simple(2, dims, NULL));
        hid_t ds = PF_H5CHECK(H5Dcreate2(f, dsets[s], PF_H5_REAL, fs, H5P_DEFAULT, H5P_DEFAULT,
                                         H5P_DEFAULT));
        H5Sclose(fs);
        pf_h5_write_rows(ds, dxpl, PF_H5_REAL, 2, dims, 0, (hsize_t)a, (hsize_t)(b > a ? b - a : 0),
                         bufs[s], NULL, h5_path);
        H5Dclose(ds);
    }
    H5Pclose(dxpl);
    for (int k = 0; k < n; k++) pf_h5_attr_f64(f, names[k], vals[k], PF_H5_ATTR_NEW, h5_path);
    PF_H5CHECK(H5Fflush(f, H5F_SCOPE_GLOBAL));
    pf_h5_attr_f64(f, "complete", 1, PF_H5_ATTR_NEW, h5_path); /* last */
    PF_H5CHECK(H5Fclose(f));
    MPI_Barrier(pf_comm());
    if (pf_rank() == 0 && rename(tmp, path))
        pf_die("cannot rename %s to %s: %s", tmp, path, strerror(errno));
    MPI_Barrier(pf_comm());
    pf_h5_quiet_end(&q);
}
