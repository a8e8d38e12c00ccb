/* `train --dump-state FILE.h5`: one iteration's exact inputs, losses and gradients at
 * the initial parameters, for an independent implementation to check (docs/OUTPUT.md).
 * Every rank computes its block; rank 0 gathers and writes a serial HDF5 file. */
#include "core/h5util.h"
#include "proxflow/io/dump.h"
#include "proxflow/io/paths.h"
#include "proxflow/flow/steps.h"
#include "proxflow/core/rng.h"

#include <hdf5.h>
#include <stdlib.h>
#include <string.h>

#define DCHECK(x)                                                                     \
    do {                                                                              \
        if ((x) < 0) pf_die("--dump-state %s: HDF5 call failed: %s", path, #x);       \
    } while (0)

/* Rows [i0, i1) x cols of every rank, gathered on rank 0 (rows in global order). */
static pf_real *gather_rows(const pf_trainer *tr, const pf_real *local, int cols)
{
    pf_real *all = pf_rank() == 0 ? pf_malloc(sizeof(pf_real) * (size_t)tr->N * cols) : NULL;
    pf_gather_rows(local, tr->i0, tr->i1, cols, tr->N, all);
    return all;
}

static void write_array(hid_t loc, const char *name, const pf_real *v, int rank, hsize_t d0,
                        hsize_t d1, const char *path)
{
    hsize_t dims[2] = {d0, d1};
    hid_t sp = H5Screate_simple(rank, dims, NULL);
    DCHECK(sp);
    hid_t ds = H5Dcreate2(loc, name, PF_H5_REAL, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    DCHECK(ds);
    DCHECK(H5Dwrite(ds, PF_H5_REAL, H5S_ALL, H5S_ALL, H5P_DEFAULT, v));
    H5Dclose(ds);
    H5Sclose(sp);
}

/* Attributes: pf_h5_attr_* (h5util.h), float64 / int64 little-endian, strings
 * variable-length UTF-8 as in run.h5 (h5py reads str); a fresh file, so _NEW. */

void pf_dump_state(pf_trainer *tr, const char *path)
{
    const pf_config *c = &tr->cfg;
    const int d = tr->d, N = tr->N, n = tr->n_local;
    hid_t f = -1;
    char tmp[PF_STR + 16]; /* written as FILE.tmp, renamed when whole (issue 20) */
    if (pf_tmp_path(path, tmp, sizeof tmp)) pf_die("--dump-state: path too long: %s", path);
    if (pf_rank() == 0) {
        f = H5Fcreate(tmp, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
        if (f < 0) pf_die("--dump-state: cannot create %s", path);
        char *ini = pf_config_to_ini(c);
        pf_h5_attr_str(f, "config", ini, PF_H5_ATTR_NEW, path);
        free(ini);
        pf_h5_attr_str(f, "precision", PF_REAL_NAME, PF_H5_ATTR_NEW, path);
        pf_h5_attr_str(f, "mode", pf_mode_name(c->mode), PF_H5_ATTR_NEW, path);
        pf_h5_attr_str(f, "f", pf_fdiv_name(c->f), PF_H5_ATTR_NEW, path);
        pf_h5_attr_f64(f, "N", N, PF_H5_ATTR_NEW, path);
        pf_h5_attr_f64(f, "d", d, PF_H5_ATTR_NEW, path);
        pf_h5_attr_f64(f, "steps", c->steps, PF_H5_ATTR_NEW, path);
        pf_h5_attr_f64(f, "T", c->T, PF_H5_ATTR_NEW, path);
        pf_h5_attr_f64(f, "h", tr->h, PF_H5_ATTR_NEW, path);
        pf_h5_attr_f64(f, "lambda", c->lambda, PF_H5_ATTR_NEW, path);
        pf_h5_attr_f64(f, "L", c->L, PF_H5_ATTR_NEW, path);
        pf_h5_attr_f64(f, "mu", c->mu, PF_H5_ATTR_NEW, path);
        pf_h5_attr_f64(f, "alpha", c->alpha, PF_H5_ATTR_NEW, path);
        pf_h5_attr_f64(f, "kinetic_reference", c->kinetic_reference, PF_H5_ATTR_NEW, path);
        /* (H, W, C) of image data, as run.h5's image_shape: a CNN reader needs it */
        const long long shape[3] = {tr->H, tr->W, tr->C};
        pf_h5_attr_i64_vec(f, "image_shape", shape, 3, PF_H5_ATTR_NEW, path);
        write_array(f, "potential_params", tr->theta.p, 1, tr->theta.n, 0, path);
        write_array(f, "discriminator_params", tr->psi.p, 1, tr->psi.n, 0, path);
        pf_h5_attr_f64(f, "nu_index", tr->nu_index == SIZE_MAX ? -1.0 : (double)tr->nu_index,
                       PF_H5_ATTR_NEW, path);
    }
    /* discriminator step 0 of iteration 0, at the initial parameters (loss and gradient
     * of the global batch) */
    pf_status s = pf_disc_loss_grad(tr, 0);
    if (s.bad) pf_die("--dump-state: %s", s.msg);
    const uint64_t it = (uint64_t)tr->iteration, bit = pf_batch_iteration(tr);
    /* the exact inputs, recomputed from the counter-based generator */
    const size_t rows = (size_t)(n > 0 ? n : 1);
    pf_real *lX0 = pf_malloc(sizeof(pf_real) * rows * d), *lY = pf_malloc(sizeof(pf_real) * rows * d);
    pf_real *lS = pf_malloc(sizeof(pf_real) * rows);
    pf_trainer_batch_reference(tr, bit, PF_PURPOSE(PF_RNG_REFERENCE, 0), lX0);
    pf_data_draw(tr->data, bit, PF_PURPOSE(PF_RNG_DATA, 0), tr->i0, tr->i1, lY);
    for (int i = 0; i < n; i++) {
        pf_stream st;
        pf_stream_init(&st, c->seed, it, PF_PURPOSE(PF_RNG_INTERP, 0), (uint64_t)(tr->i0 + i));
        lS[i] = (pf_real)pf_stream_uniform(&st);
    }
    pf_real *X0 = gather_rows(tr, lX0, d), *Y = gather_rows(tr, lY, d);
    pf_real *S = gather_rows(tr, lS, 1);
    if (pf_rank() == 0) {
        hid_t g = H5Gcreate2(f, "discriminator_step", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
        DCHECK(g);
        write_array(g, "reference", X0, 2, N, d, path);
        write_array(g, "data", Y, 2, N, d, path);
        write_array(g, "interp", S, 1, N, 0, path);
        write_array(g, "grad", tr->psi.g, 1, tr->psi.n, 0, path);
        pf_h5_attr_f64(g, "loss", tr->last_loss_d, PF_H5_ATTR_NEW, path);
        pf_h5_attr_f64(g, "penalty", tr->last_penalty, PF_H5_ATTR_NEW, path);
        H5Gclose(g);
    }
    free(X0);
    free(Y);
    free(S);
    /* potential step of iteration 0, at the initial parameters of both networks */
    s = pf_potential_loss_grad(tr);
    if (s.bad) pf_die("--dump-state: %s", s.msg);
    const double loss_g = pf_potential_loss_global(tr);
    pf_trainer_batch_reference(tr, bit, PF_RNG_GEN_REFERENCE, lX0);
    X0 = gather_rows(tr, lX0, d);
    pf_real *XT = gather_rows(tr, tr->XT_all, d);
    if (pf_rank() == 0) {
        hid_t g = H5Gcreate2(f, "potential_step", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
        DCHECK(g);
        write_array(g, "reference", X0, 2, N, d, path);
        write_array(g, "terminal", XT, 2, N, d, path);
        write_array(g, "grad", tr->theta.g, 1, tr->theta.n, 0, path);
        pf_h5_attr_f64(g, "loss", loss_g, PF_H5_ATTR_NEW, path);
        H5Gclose(g);
        if (H5Fclose(f) < 0 || pf_commit_tmp(tmp, path)) pf_die("--dump-state: cannot write %s", path);
    }
    free(X0);
    free(XT);
    free(lX0);
    free(lY);
    free(lS);
    MPI_Barrier(pf_comm());
}
