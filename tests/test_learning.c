/* Learning (issue: foundation, test 3): a flow from N(0, I_8) to a circle embedded in
 * R^8 by a random isometry, mode w1w2, fixed seed.  The mean distance of generated
 * samples to the circle must fall at least 5x below the reference's, and the sliced
 * W1 distance to held-out data at least 3x.  Optional argv[1]: iterations. */
#include "proxflow/data/data.h"
#include "proxflow/flow/diagnostics.h"
#include "proxflow/flow/steps.h"
#include "proxflow/eval/metrics.h"
#include "proxflow/core/rng.h"
#include "proxflow/flow/trainer.h"
#include "testutil.h"

#include <math.h>
#include <mpi.h>
#include <stdlib.h>
#include <string.h>

#define NEVAL 1000

/* Rows [L->i0, L->i1) of every rank gathered on every rank into X [NEVAL x d]. */
static void gather(const pf_chunks *L, int d, const pf_real *Xloc, pf_real *X)
{
    pf_gather_rows(Xloc, L->i0, L->i1, d, NEVAL, X);
    MPI_Bcast(X, NEVAL * d, PF_MPI_REAL, 0, MPI_COMM_WORLD);
}

int main(int argc, char **argv)
{
    pf_test_init(&argc, &argv);
    static const char *const sets[] = {
        "data.source=circle", "data.dim=8", "data.manifold_dim=1", "flow.mode=w1w2",
        "flow.lambda=0.2", "flow.T=1", "flow.steps=5", "lipschitz.L=3", "lipschitz.mu=1",
        "train.batch=256", "train.n_disc=3", "train.seed=5", "potential.lr=2e-3",
        "discriminator.lr=2e-3", "potential.widths=64,64", "discriminator.widths=64,64", NULL};
    pf_config c;
    pf_test_config(&c, sets);
    c.iterations = argc > 1 ? atol(argv[1]) : 600;
    /* optional overrides for experiments: argv[2..] = section.key=value */
    for (int k = 2; k < argc; k++) {
        char err[512];
        if (pf_config_set(&c, argv[k], err, sizeof err)) { fprintf(stderr, "%s\n", err); return 2; }
    }
    pf_trainer tr;
    pf_trainer_init(&tr, &c);
    const int d = tr.d;
    pf_chunks L;
    pf_gen_layout(&L, NEVAL);
    const int a = L.i0, b = L.i1;
    pf_real *Xl = malloc(sizeof(pf_real) * (size_t)(b - a + 1) * d);
    pf_real *X0 = malloc(sizeof(pf_real) * NEVAL * d), *X = malloc(sizeof(pf_real) * NEVAL * d);
    pf_real *Y = malloc(sizeof(pf_real) * NEVAL * d);
    pf_data_heldout(tr.data, NEVAL, Y);
    pf_reference_draw(&c, d, 0, PF_RNG_SAMPLE, a, b, Xl);
    gather(&L, d, Xl, X0);

    double t0 = pf_now();
    for (long it = 0; it < c.iterations; it++) {
        pf_status s = pf_train_iteration(&tr);
        CHECK(!s.bad, "%s", s.msg);
        if (s.bad) break;
    }
    double secs = pf_now() - t0;
    pf_generate(&tr, 0, PF_RNG_SAMPLE, &L, L.c0, L.c1, 0, Xl, NULL);
    gather(&L, d, Xl, X);
    double dist0 = 0, dist = 0;
    for (int i = 0; i < NEVAL; i++) {
        dist0 += pf_data_manifold_distance(tr.data, X0 + (size_t)i * d) / NEVAL;
        dist += pf_data_manifold_distance(tr.data, X + (size_t)i * d) / NEVAL;
    }
    double sw0 = pf_sliced_w1(X0, NEVAL, Y, NEVAL, d, 200, 9);
    double sw = pf_sliced_w1(X, NEVAL, Y, NEVAL, d, 200, 9);
    pf_diag dg;
    pf_diagnostics(&tr, &dg);
    if (pf_rank() == 0)
        printf("circle in R^8, %ld iterations in %.1f s: mean distance to circle %.4f -> %.4f (%.1fx), "
               "sliced W1 %.4f -> %.4f (%.1fx); KE %.3f R_HJ %.3e R_T %.3e div %.3e\n",
               c.iterations, secs, dist0, dist, dist0 / dist, sw0, sw, sw0 / sw, dg.kinetic,
               dg.hj_residual, dg.hj_terminal, dg.divergence);
    CHECK(dist * 5 <= dist0, "distance to the circle fell only %.2fx (need 5x)", dist0 / dist);
    CHECK(sw * 3 <= sw0, "sliced W1 fell only %.2fx (need 3x)", sw0 / sw);
    free(Xl);
    free(X0);
    free(X);
    free(Y);
    pf_trainer_free(&tr);
    return pf_test_finish("test_learning");
}
