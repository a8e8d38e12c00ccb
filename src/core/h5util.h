/* proxflow: HDF5 error handling, attribute readers and writers and small file-system
 * helpers shared by the modules that write or read HDF5 (output.c, checkpoint.c,
 * cli_sample.c, dump.c, pool.c, cli_chain.c, cli_info.c). */
#ifndef PROXFLOW_H5UTIL_H
#define PROXFLOW_H5UTIL_H

#include <hdf5.h>
#include <stddef.h>
#include <stdint.h>

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
 * ("checkpoint_io" or "output_io"; include/proxflow/common.h): when one fires with
 * action "fail" the write fails as on a full disk (ENOSPC, an HDF5 error on the
 * stack), so the reliability tests can show what a full file system does
 * (docs/RELIABILITY.md).  Every dataset write of run.h5 and checkpoints goes through it. */
herr_t pf_h5_write(const char *point, hid_t ds, hid_t mtype, hid_t mspace, hid_t fspace,
                   hid_t dxpl, const void *buf);

/* mkdir -p: 0, or -1 with errno (ENOTDIR if a component is not a directory). */
int pf_mkdir_p(const char *path);

#endif
