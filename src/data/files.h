/* proxflow: file data sources, internals shared by files.c, idx.c and h5data.c. */
#ifndef PF_DATA_FILES_H
#define PF_DATA_FILES_H

#include "proxflow/data/data.h"

#include <stddef.h>


/* Largest element count we accept (keeps every size product far from overflow). */
#define PF_MAX_ELEMS (1LL << 50)

/* "FILE.h5:/DATASET" (or .hdf5): split at the first ".h5:" / ".hdf5:"; 0 if not one. */
int pf_files_split_h5(const char *src, char *file, size_t flen, char *dset, size_t dlen);
/* The file must exist and be a regular file (or a link to one); else die naming src. */
void pf_files_check(const char *src, const char *path);
/* Rows used of a file of M_file rows (config n_train): *M training rows, *nh held out. */
void pf_files_split_rows(const pf_config *c, const char *what, long long M_file, long *M,
                         long *nh);
/* N > M is an error (SPEC §3). */
void pf_files_check_batch(const pf_config *c, int N, int i0, int i1, long M, int d);
/* Global row id of local shard row k (layout of pf_data_from_shard). */
long pf_files_shard_row_id(long k, int N, int i0, int i1);

/* The two file kinds (idx.c, h5data.c). */
pf_data *pf_idx_open(const pf_config *c, int N, int i0, int i1);
pf_data *pf_h5data_open(const pf_config *c, const char *file, const char *dset, int N, int i0,
                        int i1);

#endif
