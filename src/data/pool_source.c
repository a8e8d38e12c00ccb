/* Stored sample pools (SPEC §8) as a reference distribution, the reading side: a row
 * source sharded by batch columns (training draws, SPEC §3) or plain row ranges
 * (generation).  Written by src/io/pool.c. */
#include "proxflow/data/pool_source.h"
#include "data/files.h"
#include "core/h5util.h"

#include <math.h>
#include <mpi.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

pf_data *pf_pool_open_reference(const pf_config *c, int N, int i0, int i1, int d)
{
    /* the file reader does the sharded, collective read; a pool is stored as used */
    pf_config pc = *c;
    snprintf(pc.source, sizeof pc.source, "%s", c->ref_pool);
    pc.data_scale = 1;
    pc.n_train = 0;
    pf_data *D = pf_data_open_file(&pc, N, i0, i1);
    if (pf_data_dim(D) != d)
        pf_die("[data] reference_pool '%s': rows of dimension %d, but the data have d = %d",
               c->ref_pool, pf_data_dim(D), d);
    return D;
}

/* "FILE.h5:/DATASET" -> file, dataset (split at the last ':' followed by '/'). */
static void split_spec(const char *spec, char *file, size_t flen, char *dset, size_t dlen)
{
    const char *colon = NULL;
    for (const char *p = spec; *p; p++)
        if (p[0] == ':' && p[1] == '/') colon = p;
    if (!colon) pf_die("reference pool '%s': expected FILE.h5:/DATASET", spec);
    snprintf(file, flen, "%.*s", (int)(colon - spec), spec);
    snprintf(dset, dlen, "%s", colon + 1);
}

void pf_pool_read_rows(const char *spec, long a, long b, int d, pf_real *X)
{
    char file[PF_STR], dset[PF_STR];
    split_spec(spec, file, sizeof file, dset, sizeof dset);
    const char *h5_path = file;
    pf_h5_quiet q;
    pf_h5_quiet_begin(&q);
    hid_t f = H5Fopen(file, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (f < 0) pf_die("reference pool '%s': cannot open %s", spec, file);
    hid_t ds = H5Dopen2(f, dset, H5P_DEFAULT);
    if (ds < 0) pf_die("reference pool '%s': %s has no dataset %s", spec, file, dset);
    hid_t fs = PF_H5CHECK(H5Dget_space(ds));
    hsize_t dims[2] = {0, 0};
    if (H5Sget_simple_extent_ndims(fs) != 2) pf_die("reference pool '%s': not a 2-D dataset", spec);
    H5Sget_simple_extent_dims(fs, dims, NULL);
    if ((long)dims[1] != d)
        pf_die("reference pool '%s': rows of dimension %llu, expected %d", spec,
               (unsigned long long)dims[1], d);
    if ((long)dims[0] < b)
        pf_die("reference pool '%s' holds %llu samples; %ld were asked for (raise [chain] pool)",
               spec, (unsigned long long)dims[0], b);
    if (b > a) {
        hsize_t start[2] = {(hsize_t)a, 0}, count[2] = {(hsize_t)(b - a), (hsize_t)d};
        PF_H5CHECK(H5Sselect_hyperslab(fs, H5S_SELECT_SET, start, NULL, count, NULL));
        hid_t ms = PF_H5CHECK(H5Screate_simple(2, count, NULL));
        PF_H5CHECK(H5Dread(ds, PF_H5_REAL, ms, fs, H5P_DEFAULT, X));
        H5Sclose(ms);
    }
    H5Sclose(fs);
    H5Dclose(ds);
    H5Fclose(f);
    pf_h5_quiet_end(&q);
}

/* Rank 0 reads attribute name (NAN: no file, or no such attribute); all get it. */
double pf_pool_attr(const char *path, const char *name)
{
    double v = NAN;
    if (pf_rank() == 0 && access(path, R_OK) == 0) {
        pf_h5_quiet q;
        pf_h5_quiet_begin(&q);
        hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
        if (f >= 0) {
            if (H5Aexists(f, name) > 0) {
                hid_t at = H5Aopen(f, name, H5P_DEFAULT);
                if (at >= 0 && H5Aread(at, H5T_NATIVE_DOUBLE, &v) < 0) v = NAN;
                if (at >= 0) H5Aclose(at);
            }
            H5Fclose(f);
        }
        pf_h5_quiet_end(&q);
    }
    MPI_Bcast(&v, 1, MPI_DOUBLE, 0, pf_comm());
    return v;
}

int pf_pool_complete(const char *path) { return pf_pool_attr(path, "complete") == 1; }
