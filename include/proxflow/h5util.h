/* proxflow: HDF5 error handling and small file-system helpers shared by the modules
 * that write or read HDF5 (output.c, checkpoint.c). */
#ifndef PROXFLOW_H5UTIL_H
#define PROXFLOW_H5UTIL_H

#include <hdf5.h>
#include <stdint.h>

/* PF_H5CHECK(x): x must not return a negative value; otherwise pf_die with the path of
 * the file in hand (a variable h5_path in the caller's scope), the expression, the
 * source line and HDF5's innermost error message.  Returns x. */
#define PF_H5CHECK(x) pf_h5check_at((int64_t)(x), #x, h5_path, __FILE__, __LINE__)
int64_t pf_h5check_at(int64_t r, const char *expr, const char *path, const char *file, int line);

/* Silence HDF5's automatic error-stack printing inside our calls (errors are reported
 * by PF_H5CHECK with the file name); pf_h5_quiet_end restores it. */
typedef struct { H5E_auto2_t fn; void *data; } pf_h5_quiet;
void pf_h5_quiet_begin(pf_h5_quiet *q);
void pf_h5_quiet_end(const pf_h5_quiet *q);

/* A string attribute (fixed or variable length, any character set) as a malloc'd C
 * string; NULL if it is not a string or cannot be read. */
char *pf_h5_attr_string(hid_t a);

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
