/* HDF5 error handling, attribute readers and writers, and mkdir -p, shared by every
 * module that reads or writes HDF5 (src/core/h5util.h). */
#include "core/h5util.h"
#include "proxflow/core/common.h"
#include "proxflow/core/fault.h"

#include <mpi.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static herr_t h5_walk_cb(unsigned n, const H5E_error2_t *e, void *user)
{
    char *why = user;
    if (n == 0 && e->desc && *e->desc) { /* innermost: where the error was found */
        char minor[128] = "";
        H5Eget_msg(e->min_num, NULL, minor, sizeof minor);
        snprintf(why, 512, "%s%s%s", e->desc, *minor ? " — " : "", minor);
    }
    return 0;
}

int64_t pf_h5check_at(int64_t r, const char *expr, const char *path, const char *file, int line)
{
    if (r >= 0) return r;
    char why[512] = "";
    H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, h5_walk_cb, why);
    pf_die_at(file, line, "HDF5 error on %s: %s failed%s%s", path, expr, *why ? ": " : "",
              why);
}

void pf_h5_why(char *why, size_t len)
{
    char tmp[512] = "";
    H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, h5_walk_cb, tmp);
    snprintf(why, len, "%s%s", *tmp ? ": " : "", tmp);
}

void pf_h5_quiet_begin(pf_h5_quiet *q)
{
    H5Eget_auto2(H5E_DEFAULT, &q->fn, &q->data);
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
}

void pf_h5_quiet_end(const pf_h5_quiet *q) { H5Eset_auto2(H5E_DEFAULT, q->fn, q->data); }

char *pf_h5_attr_string(hid_t a)
{
    char *out = NULL;
    hid_t ft = H5Aget_type(a);
    if (ft < 0) return NULL;
    if (H5Tget_class(ft) == H5T_STRING) {
        hid_t mt = H5Tcopy(H5T_C_S1);
        H5Tset_cset(mt, H5Tget_cset(ft)); /* HDF5 does not convert between csets */
        if (H5Tis_variable_str(ft) > 0) {
            char *s = NULL;
            H5Tset_size(mt, H5T_VARIABLE);
            if (H5Aread(a, mt, &s) >= 0 && s) {
                out = strdup(s);
                H5free_memory(s);
            }
        } else {
            size_t n = H5Tget_size(ft);
            out = calloc(n + 1, 1);
            H5Tset_size(mt, n + 1);
            H5Tset_strpad(mt, H5T_STR_NULLTERM);
            if (out && H5Aread(a, mt, out) < 0) {
                free(out);
                out = NULL;
            }
        }
        H5Tclose(mt);
    }
    H5Tclose(ft);
    return out;
}

char *pf_h5_attr_get_string(hid_t obj, const char *name)
{
    if (H5Aexists(obj, name) <= 0) return NULL;
    hid_t a = H5Aopen(obj, name, H5P_DEFAULT);
    if (a < 0) return NULL;
    char *s = pf_h5_attr_string(a);
    H5Aclose(a);
    return s;
}

/* The one writer behind the typed ones: a scalar (vec 0) or 1-D of n values (vec 1). */
static void attr_write(hid_t loc, const char *name, hid_t ftype, hid_t mtype, int vec, hsize_t n,
                       const void *v, pf_h5_attr_mode mode, const char *h5_path)
{
    if (mode == PF_H5_ATTR_REPLACE && PF_H5CHECK(H5Aexists(loc, name)) > 0)
        PF_H5CHECK(H5Adelete(loc, name));
    hid_t sp = PF_H5CHECK(vec ? H5Screate_simple(1, &n, NULL) : H5Screate(H5S_SCALAR));
    hid_t a = PF_H5CHECK(H5Acreate2(loc, name, ftype, sp, H5P_DEFAULT, H5P_DEFAULT));
    PF_H5CHECK(H5Awrite(a, mtype, v));
    PF_H5CHECK(H5Aclose(a));
    PF_H5CHECK(H5Sclose(sp));
}

void pf_h5_attr_str(hid_t obj, const char *name, const char *value, pf_h5_attr_mode mode,
                    const char *h5_path)
{
    hid_t t = PF_H5CHECK(H5Tcopy(H5T_C_S1));
    PF_H5CHECK(H5Tset_size(t, H5T_VARIABLE));
    PF_H5CHECK(H5Tset_cset(t, H5T_CSET_UTF8));
    attr_write(obj, name, t, t, 0, 0, &value, mode, h5_path);
    PF_H5CHECK(H5Tclose(t));
}

void pf_h5_attr_i64(hid_t obj, const char *name, long long value, pf_h5_attr_mode mode,
                    const char *h5_path)
{
    attr_write(obj, name, H5T_STD_I64LE, H5T_NATIVE_LLONG, 0, 0, &value, mode, h5_path);
}

void pf_h5_attr_u64(hid_t obj, const char *name, unsigned long long value, pf_h5_attr_mode mode,
                    const char *h5_path)
{
    attr_write(obj, name, H5T_STD_U64LE, H5T_NATIVE_ULLONG, 0, 0, &value, mode, h5_path);
}

void pf_h5_attr_f64(hid_t obj, const char *name, double value, pf_h5_attr_mode mode,
                    const char *h5_path)
{
    attr_write(obj, name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, 0, 0, &value, mode, h5_path);
}

void pf_h5_attr_i64_vec(hid_t obj, const char *name, const long long *v, hsize_t n,
                        pf_h5_attr_mode mode, const char *h5_path)
{
    attr_write(obj, name, H5T_STD_I64LE, H5T_NATIVE_LLONG, 1, n, v, mode, h5_path);
}

herr_t pf_h5_write(const char *point, hid_t ds, hid_t mtype, hid_t mspace, hid_t fspace,
                   hid_t dxpl, const void *buf)
{
    if (pf_fault_point("h5_write") || (point && pf_fault_point(point))) {
        errno = ENOSPC;
        H5Epush2(H5E_DEFAULT, __FILE__, __func__, __LINE__, H5E_ERR_CLS, H5E_IO, H5E_WRITEERROR,
                 "%s (injected fault)", strerror(ENOSPC));
        return -1;
    }
    return H5Dwrite(ds, mtype, mspace, fspace, dxpl, buf);
}

hid_t pf_h5_fapl_mpio(const char *h5_path)
{
    hid_t fapl = PF_H5CHECK(H5Pcreate(H5P_FILE_ACCESS));
    PF_H5CHECK(H5Pset_fapl_mpio(fapl, pf_comm(), MPI_INFO_NULL));
    return fapl;
}

hid_t pf_h5_dxpl_collective(const char *h5_path)
{
    hid_t dxpl = PF_H5CHECK(H5Pcreate(H5P_DATASET_XFER));
    PF_H5CHECK(H5Pset_dxpl_mpio(dxpl, H5FD_MPIO_COLLECTIVE));
    return dxpl;
}

hid_t pf_h5_f32_dataset(hid_t loc, const char *name, int rank, const hsize_t *dims,
                        const char *h5_path)
{
    if (PF_H5CHECK(H5Lexists(loc, name, H5P_DEFAULT)) > 0) {
        hid_t ds = PF_H5CHECK(H5Dopen2(loc, name, H5P_DEFAULT));
        hid_t sp = PF_H5CHECK(H5Dget_space(ds));
        hsize_t have[8];
        int r = PF_H5CHECK(H5Sget_simple_extent_ndims(sp)), same = r == rank;
        if (same && r <= 8) {
            PF_H5CHECK(H5Sget_simple_extent_dims(sp, have, NULL));
            for (int k = 0; k < r; k++) same = same && have[k] == dims[k];
        }
        PF_H5CHECK(H5Sclose(sp));
        if (same) return ds;
        PF_H5CHECK(H5Dclose(ds));
        PF_H5CHECK(H5Ldelete(loc, name, H5P_DEFAULT));
    }
    hid_t sp = PF_H5CHECK(H5Screate_simple(rank, dims, NULL));
    hid_t dcpl = PF_H5CHECK(H5Pcreate(H5P_DATASET_CREATE));
    PF_H5CHECK(H5Pset_alloc_time(dcpl, H5D_ALLOC_TIME_EARLY));
    PF_H5CHECK(H5Pset_fill_time(dcpl, H5D_FILL_TIME_NEVER));
    hid_t ds = PF_H5CHECK(H5Dcreate2(loc, name, H5T_IEEE_F32LE, sp, H5P_DEFAULT, dcpl, H5P_DEFAULT));
    PF_H5CHECK(H5Pclose(dcpl));
    PF_H5CHECK(H5Sclose(sp));
    return ds;
}

void pf_h5_write_rows(hid_t ds, hid_t dxpl, hid_t mtype, int rank, const hsize_t *dims, int axis,
                      hsize_t r0, hsize_t nrows, const void *buf, const char *point,
                      const char *h5_path)
{
    hsize_t start[3] = {0, 0, 0}, count[3];
    for (int k = 0; k < rank; k++) count[k] = dims[k];
    start[axis] = r0;
    count[axis] = nrows;
    hid_t fs = PF_H5CHECK(H5Dget_space(ds)), ms;
    if (nrows > 0) {
        PF_H5CHECK(H5Sselect_hyperslab(fs, H5S_SELECT_SET, start, NULL, count, NULL));
        ms = PF_H5CHECK(H5Screate_simple(rank, count, NULL));
    } else { /* a rank with no rows still takes part in the collective write */
        const hsize_t one = 1;
        PF_H5CHECK(H5Sselect_none(fs));
        ms = PF_H5CHECK(H5Screate_simple(1, &one, NULL));
        PF_H5CHECK(H5Sselect_none(ms));
    }
    PF_H5CHECK(pf_h5_write(point, ds, mtype, ms, fs, dxpl, buf));
    PF_H5CHECK(H5Sclose(ms));
    PF_H5CHECK(H5Sclose(fs));
}

float *pf_to_f32(const pf_real *x, size_t n)
{
    float *f = pf_malloc(sizeof(float) * (n ? n : 1));
    for (size_t k = 0; k < n; k++) f[k] = (float)x[k];
    return f;
}

int pf_mkdir_p(const char *path)
{
    char tmp[4096];
    if (snprintf(tmp, sizeof tmp, "%s", path) >= (int)sizeof tmp) {
        errno = ENAMETOOLONG;
        return -1;
    }
    for (char *p = tmp + 1; *p; p++)
        if (*p == '/') {
            *p = 0;
            if (mkdir(tmp, 0777) && errno != EEXIST) return -1;
            *p = '/';
        }
    if (mkdir(tmp, 0777) && errno != EEXIST) return -1;
    struct stat st;
    if (stat(tmp, &st) || !S_ISDIR(st.st_mode)) {
        errno = ENOTDIR;
        return -1;
    }
    return 0;
}
