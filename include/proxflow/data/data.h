/* proxflow: data sources and reference distributions (SPEC §6.1, §3).
 *
 * Sharding (SPEC §3): for a file of M rows and global batch N, data row j belongs to
 * batch column j mod N, and global sample i draws its row from column i only; the row
 * within the column is drawn with (seed, iteration, purpose, i).  A rank whose batch
 * block is [i0, i1) therefore holds exactly the rows of columns i0..i1-1.
 * Synthetic sources draw sample i's point directly from (seed, iteration, purpose, i). */
#ifndef PROXFLOW_DATA_H
#define PROXFLOW_DATA_H

#include "proxflow/core/common.h"
#include "proxflow/config/config.h"

typedef struct pf_data pf_data;

/* Open the configured source for a rank owning global batch columns [i0, i1) of N.
 * Errors (unknown source name, missing file, bad file, batch > rows) die with a
 * message naming the source. */
pf_data *pf_data_open(const pf_config *c, int N, int i0, int i1);
void pf_data_close(pf_data *D);

int pf_data_dim(const pf_data *D);               /* d                                */
const char *pf_data_name(const pf_data *D);
/* Image shape (H, W, C) for image data; H = 0 when the data are not images. */
void pf_data_image_shape(const pf_data *D, int *H, int *W, int *C);

/* Draw the data samples of global indices [i0, i1) (a sub-range of the rank's
 * block) into Y [(i1-i0) x d], for (iteration, purpose). */
void pf_data_draw(const pf_data *D, uint64_t iteration, uint32_t purpose,
                  int i0, int i1, pf_real *Y);

/* Held-out samples for evaluation: n points, deterministic in (seed, k) (synthetic:
 * fresh draws; files: rows after n_train when there are any, else the training rows). */
void pf_data_heldout(const pf_data *D, int n, pf_real *Y);

/* Euclidean distance of x (length d) to the known manifold of a synthetic manifold
 * source; returns -1 when the source has no known manifold. */
double pf_data_manifold_distance(const pf_data *D, const pf_real *x);

/* Reference distribution rho_0 (SPEC §6.1): normal(0, ref_scale^2 I) or uniform on
 * [ref_low, ref_high]^d; sample i of [i0, i1) from (seed, iteration, purpose, i). */
void pf_reference_draw(const pf_config *c, int d, uint64_t iteration, uint32_t purpose,
                       int i0, int i1, pf_real *X);

/* ---- Row sources (SPEC §3) ---------------------------------------------------------
 * A rank owning batch columns [i0, i1) of N holds the rows j of an M-row data set with
 * (j mod N) in [i0, i1), stored in ascending j: the layout of one strided HDF5
 * hyperslab (start i0, stride N, block i1-i0).  Rows are stored as given: the caller
 * applies any scaling (/255, data_scale).  N > M dies ("batch N exceeds the M rows"). */

/* Number of rows a rank owning columns [i0, i1) of N holds out of M. */
long pf_shard_count(long M, int N, int i0, int i1);

/* Keep only this rank's rows of all_rows [M x d] (copied). */
pf_data *pf_data_from_rows(const pf_config *c, int N, int i0, int i1,
                           const pf_real *all_rows, long M, int d);

/* Same, from the rank's shard already selected: shard [pf_shard_count x d] in the
 * layout above, malloc'd; ownership passes to the pf_data (file readers). */
pf_data *pf_data_from_shard(const pf_config *c, int N, int i0, int i1, long M, int d,
                            pf_real *shard);

/* The same for a source of bytes (IDX files): shard [pf_shard_count x d] bytes, value
 * = (pf_real)(byte / 255 * scale).  Held as bytes, 1/8 of the memory of doubles;
 * draws convert row by row (same values as converting at load). */
pf_data *pf_data_from_shard_u8(const pf_config *c, int N, int i0, int i1, long M, int d,
                               unsigned char *shard, double scale);

/* Optional held-out rows (copied) for pf_data_heldout of a row source; without them
 * pf_data_heldout returns the rank's own shard rows in order.  _u8: bytes, for a source
 * made by pf_data_from_shard_u8 (its scale). */
void pf_data_set_heldout(pf_data *D, const pf_real *rows, long n);
void pf_data_set_heldout_u8(pf_data *D, const unsigned char *rows, long n);
void pf_data_set_image_shape(pf_data *D, int H, int W, int C);

/* The rows this rank holds [pf_data_n_rows x d] and their global row ids (ascending);
 * NULL / 0 for synthetic sources.  (Byte sources convert them on the first call.) */
long pf_data_n_rows(const pf_data *D);
const pf_real *pf_data_rows(const pf_data *D);
const long *pf_data_row_ids(const pf_data *D);

/* Random isometry of a manifold source: Q [d x m] row-major with orthonormal columns
 * (x = scale * Q z for z on the intrinsic manifold in R^m); NULL (m = 0) otherwise. */
const double *pf_data_isometry(const pf_data *D, int *m);

/* ---- File sources (SPEC §6.1, §3; src/data/files.c, docs/DATA.md) ------------------
 * FILE.h5:/DATASET (or FILE.hdf5:/DATASET): an HDF5 dataset [M], [M, d], [M, H, W] or
 * [M, H, W, C] (channel-last in the file, channel-major [C][H][W] per row in memory),
 * times `scale`.  Anything else: an MNIST IDX file of unsigned bytes, gzip or raw,
 * / 255 times `scale`.  n_train > 0 keeps the first n_train rows for training and the
 * next rows (up to n_train more) as held-out rows.  Each rank reads only its rows
 * (HDF5: one collective strided-hyperslab read on pf_comm(), so every rank of
 * pf_comm() must call it).  Errors die naming the file (dataset, row). */
pf_data *pf_data_open_file(const pf_config *c, int N, int i0, int i1);

#endif
