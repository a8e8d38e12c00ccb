/* [data] batch_cycle (issue 19): with batch_cycle = C, iteration i draws the data and
 * reference batches of iteration i mod C (the paper code's batch sequence that restarts
 * every C iterations), while the penalty's interpolation weights stay those of i.
 * Checked on the step gradients at fixed parameters: the same bits at i and i mod C
 * where only batches enter (mu = 0), other bits where the weights enter (mu > 0) or
 * without a cycle.  Registered on 1 and 2 ranks: the draws are per global row. */
#include "proxflow/flow/steps.h"
#include "proxflow/flow/trainer.h"
#include "testutil.h"

#include <stdlib.h>
#include <string.h>

/* The discriminator gradients of sub-batches 0 and 1 and the potential gradient at
 * iteration it, the parameters untouched: out [2 psi.n + theta.n]. */
static void grads_at(pf_trainer *tr, long it, pf_real *out)
{
    const size_t np = tr->psi.n, nt = tr->theta.n;
    tr->iteration = it;
    for (int k = 0; k < 2; k++) {
        pf_status s = pf_disc_loss_grad(tr, k);
        CHECK(!s.bad, "%s", s.msg);
        memcpy(out + (size_t)k * np, tr->psi.g, sizeof(pf_real) * np);
    }
    pf_status s = pf_potential_loss_grad(tr);
    CHECK(!s.bad, "%s", s.msg);
    memcpy(out + 2 * np, tr->theta.g, sizeof(pf_real) * nt);
}

/* Gradients at iterations a and b: 1 if bit-identical. */
static int same_at(const char *cycle, const char *mu, long a, long b)
{
    const char *sets[] = {"data.source=sphere", "data.dim=3", "train.batch=12", "train.n_disc=2",
                          "flow.steps=3", "potential.widths=8,8", "discriminator.widths=8,8",
                          "discriminator.activation=softplus", "lipschitz.L=0.05", mu, cycle,
                          "train.seed=5", NULL};
    pf_config c;
    pf_test_config(&c, sets);
    pf_trainer tr;
    pf_trainer_init(&tr, &c);
    for (size_t k = 0; k < tr.theta.n; k++) tr.theta.p[k] *= 1.5; /* x^{Nt} != x^0 */
    const size_t n = 2 * tr.psi.n + tr.theta.n;
    pf_real *ga = malloc(sizeof(pf_real) * n), *gb = malloc(sizeof(pf_real) * n);
    grads_at(&tr, a, ga);
    grads_at(&tr, b, gb);
    const int same = !memcmp(ga, gb, sizeof(pf_real) * n);
    free(ga);
    free(gb);
    pf_trainer_free(&tr);
    return same;
}

int main(int argc, char **argv)
{
    pf_test_init(&argc, &argv);
    const char *cyc = "data.batch_cycle=3", *none = "data.batch_cycle=0";
    const char *nopen = "lipschitz.mu=0", *pen = "lipschitz.mu=0.5";
    /* the batches repeat: iterations 3, 4 and 7 are iterations 0, 1 and 1 again */
    CHECK(same_at(cyc, nopen, 0, 3), "batch_cycle = 3: iteration 3 does not redraw iteration 0");
    CHECK(same_at(cyc, nopen, 1, 4), "batch_cycle = 3: iteration 4 does not redraw iteration 1");
    CHECK(same_at(cyc, nopen, 1, 7), "batch_cycle = 3: iteration 7 does not redraw iteration 1");
    /* ... within a cycle they do not, nor without one (so the checks above can fail) */
    CHECK(!same_at(cyc, nopen, 0, 2), "batch_cycle = 3: iterations 0 and 2 draw the same batches");
    CHECK(!same_at(none, nopen, 0, 3), "batch_cycle = 0: iterations 0 and 3 draw the same batches");
    /* the interpolation weights of the penalty stay fresh */
    CHECK(!same_at(cyc, pen, 0, 3), "batch_cycle = 3: the interpolation weights repeat too");
    return pf_test_finish("test_batch_cycle");
}
