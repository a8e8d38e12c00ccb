/* proxflow: the data object shared by the modules of src/data/ (internal).
 *
 * pf_data is either a synthetic source (kind != K_ROWS: samples generated from the
 * counter-based RNG, src/data/synthetic.c) or a row source (K_ROWS: this rank's shard
 * of a file or a pool, src/data/data.c). */
#ifndef PF_DATA_IMPL_H
#define PF_DATA_IMPL_H

#include "proxflow/data/data.h"
#include "proxflow/core/rng.h"

#define ROLL_TABLE 4096


typedef enum {
    K_ROWS = 0,
    K_8GAUSSIANS,
    K_CHECKERBOARD,
    K_MOONS,
    K_SWISSROLL,
    K_CIRCLES,
    K_SPHERE,
    K_CIRCLE,
    K_TORUS,
    K_SWISSROLL3D,
    K_PINWHEEL,
    K_MOONS_HG,
    K_SPIRALS2
} pf_kind;


struct pf_data {
    char name[PF_STR];
    pf_kind kind;
    int d;
    uint64_t seed;
    double scale, noise;
    /* manifold sets */
    int m;                 /* intrinsic ambient dimension (columns of Q) */
    double *Q;             /* [d x m] row-major (isometry, or the unit vectors of
                              embedding = pad); also for embedded 2-D sets (m = 2) */
    int planar;            /* a 2-D set (its manifold is the whole plane of Q) */
    double *roll_t;        /* swissroll3d: parameter table and its spiral points */
    double *roll_xy;
    /* row sources */
    int N, i0, i1;
    long M;
    long n_rows;
    pf_real *rows;         /* [n_rows x d], ascending global row id */
    long *row_ids;
    pf_real *held;         /* optional held-out rows [n_held x d]   */
    long n_held;
    /* byte sources (IDX, issue 7: 1/8 of the memory): rows and held-out rows as the
     * file's bytes; value = lut[byte] = (pf_real)(byte / 255 * scale), the bits the
     * conversion at load time gave.  `rows` is then NULL until pf_data_rows asks. */
    unsigned char *rows8, *held8;
    pf_real lut[256];
    int H, W, C;
};

/* data.c: a new object (name, kind, dimension, seed, scale, noise from c; block
 * [i0, i1) of N); dies on a bad block. */
pf_data *pf_data_new(const pf_config *c, pf_kind kind, int d, int N, int i0, int i1);

/* synthetic.c: open a synthetic source (c->source is one of pf_synthetic_names). */
pf_data *pf_synth_open(const pf_config *c, int N, int i0, int i1);
/* One synthetic sample into x (length D->d) from stream s. */
void pf_synth_sample(const pf_data *D, pf_stream *s, pf_real *x);
/* Free what pf_synth_open allocated besides the object. */
void pf_synth_free(pf_data *D);

#endif
