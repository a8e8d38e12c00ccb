/* proxflow: HDF5 error handling, attribute readers and writers, the parallel (MPI-IO)
 * file and row helpers and small file-system helpers, shared by every module that reads
 * or writes HDF5 (io/, data/h5data.c, cli/). */
#ifndef PROXFLOW_H5UTIL_H
#define PROXFLOW_H5UTIL_H

#include <hdf5.h>
#include <stddef.h>
#include <stdint.h>

#include "proxflow/core/precision.h"

/* PF_H5CHECK(x): x must not return a negative value; otherwise pf_die with the path of
 * the file in hand (a variable h5_path in the caller's scope), the expression, the
 * source line and HDF5's innermost error message.  Returns x. */
#define PF_H5CHECK(x) pf_h5check_at((int64_t)(x), #x, h5_path, __FILE__, __LINE__)
int64_t pf_h5check_at(int64_t r, const char *expr, const char *path, const char *file, int line);

/* HDF5's innermost error message as ": message" ("" if none), for an error report. */
void pf_h5_why(char *why, size_t len);

/* Silence HDF5's automatic error-stack printing inside our calls (errors are reported
 * by PF_H5CHECK with the file name); pf_h5_quiet_end restores it. */
typedef struct { H5E_auto2_t fn; void *data; } pf_h5_quiet;
void pf_h5_quiet_begin(pf_h5_quiet *q);
void pf_h5_quiet_end(const pf_h5_quiet *q);

/* A string attribute (fixed or variable length, any character set) as a malloc'd C
 * string; NULL if it is not a string or cannot be read. */
char *pf_h5_attr_string(hid_t a);

/* The same for the attribute `name` of obj; NULL also when there is none.  Never dies. */
char *pf_h5_attr_get_string(hid_t obj, const char *name);

/* Attribute writers, the one set every HDF5 file of proxflow is written with (SPEC §4,
 * docs/OUTPUT.md): strings variable-length UTF-8 scalars (h5py reads str), integers
 * int64 / uint64 little-endian, reals float64 little-endian; scalars, except the 1-D
 * _vec.  Any HDF5 failure is fatal through PF_H5CHECK, naming `path` (the file).
 * PF_H5_ATTR_NEW fails when obj already has the attribute (fresh files: a repeated
 * name is a bug); PF_H5_ATTR_REPLACE deletes it first (run.h5, rewritten on resume).
 * In parallel files, collective: every rank calls with identical arguments. */
typedef enum { PF_H5_ATTR_NEW, PF_H5_ATTR_REPLACE } pf_h5_attr_mode;
void pf_h5_attr_str(hid_t obj, const char *name, const char *value, pf_h5_attr_mode mode,
                    const char *path);
void pf_h5_attr_i64(hid_t obj, const char *name, long long value, pf_h5_attr_mode mode,
                    const char *path);
void pf_h5_attr_u64(hid_t obj, const char *name, unsigned long long value, pf_h5_attr_mode mode,
                    const char *path);
void pf_h5_attr_f64(hid_t obj, const char *name, double value, pf_h5_attr_mode mode,
                    const char *path);
void pf_h5_attr_i64_vec(hid_t obj, const char *name, const long long *v, hsize_t n,
                        pf_h5_attr_mode mode, const char *path);

/* H5Dwrite, behind the fault points "h5_write" (every call) and `point`
 * ("checkpoint_io" or "output_io"; include/proxflow/core/common.h): when one fires with
 * action "fail" the write fails as on a full disk (ENOSPC, an HDF5 error on the
 * stack), so the reliability tests can show what a full file system does
 * (docs/RELIABILITY.md).  Every dataset write of run.h5 and checkpoints goes through it. */
herr_t pf_h5_write(const char *point, hid_t ds, hid_t mtype, hid_t mspace, hid_t fspace,
                   hid_t dxpl, const void *buf);

/* File access through MPI-IO on pf_comm(), and collective transfers (SPEC §3, §4). */
hid_t pf_h5_fapl_mpio(const char *h5_path);
hid_t pf_h5_dxpl_collective(const char *h5_path);

/* A float32 dataset of shape dims (rank <= 8) in loc: reused when it exists with that
 * shape (a re-call overwrites), otherwise (re)created.  Contiguous, allocated early. */
hid_t pf_h5_f32_dataset(hid_t loc, const char *name, int rank, const hsize_t *dims,
                        const char *h5_path);

/* Collective write of rows [r0, r0 + nrows) along dimension `axis` of a dataset of rank
 * <= 3 (all of its other dimensions dims), from buf of memory type mtype laid out as the
 * selected block (row-major); nrows == 0: the rank selects none but takes part.  Through
 * pf_h5_write with fault point `point` (may be NULL). */
void pf_h5_write_rows(hid_t ds, hid_t dxpl, hid_t mtype, int rank, const hsize_t *dims, int axis,
                      hsize_t r0, hsize_t nrows, const void *buf, const char *point,
                      const char *h5_path);

/* x [n] as a malloc'd float copy (the float32 datasets of SPEC §4). */
float *pf_to_f32(const pf_real *x, size_t n);

/* mkdir -p: 0, or -1 with errno (ENOTDIR if a component is not a directory). */
int pf_mkdir_p(const char *path);

#endif
