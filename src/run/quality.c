/* proxflow: the sample-quality metrics a run records (issue 21): the same numbers as
 * `proxflow eval --n eval_n` on the checkpoint of that iteration, so a sweep can be
 * ranked by quality from its run files alone. */
#include "proxflow/run/quality.h"
#include "proxflow/core/block.h"
#include "proxflow/core/rng.h"
#include "proxflow/data/data.h"
#include "proxflow/eval/metrics.h"

#include <math.h>
#include <mpi.h>
#include <stdlib.h>

/* eval's number of projections (src/cli/cmd_eval.c PF_EVAL_PROJECTIONS) */
#define QUALITY_PROJECTIONS 200

int pf_quality_due(const pf_config *cfg, long it)
{
    return it == cfg->iterations || (cfg->eval_every > 0 && it % cfg->eval_every == 0);
}

void pf_quality_fill(pf_trainer *tr, pf_diag *dg, int due)
{
    double v[3] = {NAN, NAN, NAN};
    if (due) {
        /* a chain link starts from its stored pool, which has [chain] pool rows */
        const int d = tr->d, n = tr->cfg.ref_pool[0] && tr->cfg.pool < tr->cfg.eval_n ? tr->cfg.pool
                                                                                  : tr->cfg.eval_n;
        pf_chunks L; /* eval's layout and stream: the same samples on any rank count */
        pf_gen_layout(&L, n);
        const size_t rows = (size_t)(L.i1 > L.i0 ? L.i1 - L.i0 : 1);
        pf_real *X = pf_malloc(sizeof(pf_real) * rows * d);
        pf_generate(tr, 0, PF_RNG_SAMPLE, &L, L.c0, L.c1, tr->cfg.steps, X, NULL);
        pf_real *A = pf_malloc(sizeof(pf_real) * (pf_rank() == 0 ? (size_t)n * d : 1));
        pf_gather_rows(X, L.i0, L.i1, d, n, A);
        free(X);
        if (pf_rank() == 0) {
            pf_real *Y = pf_malloc(sizeof(pf_real) * (size_t)n * d);
            pf_data_heldout(tr->data, n, Y);
            v[0] = pf_sliced_w1(A, n, Y, n, d, QUALITY_PROJECTIONS, tr->cfg.seed);
            v[1] = pf_mmd2_gaussian(A, n, Y, n, d, pf_mmd_median_bandwidth(Y, n, d));
            double s = 0;
            for (int i = 0; i < n && !isnan(s); i++) {
                const double e = pf_data_manifold_distance(tr->data, A + (size_t)i * d);
                s = e < 0 ? NAN : s + e; /* no known manifold: NaN */
            }
            v[2] = s / n;
            free(Y);
        }
        free(A);
        MPI_Bcast(v, 3, MPI_DOUBLE, 0, pf_comm());
    }
    dg->sliced_w1 = v[0];
    dg->mmd2 = v[1];
    dg->manifold_distance = v[2];
}
