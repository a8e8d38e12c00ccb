/* proxflow: the divergence term Lambda_f (SPEC §1.3) — Donsker-Varadhan log-sum-exp or
 * a Legendre form f* with a trainable shift nu — and the loss statistics a step reduces
 * over all ranks in one small all-reduce (SPEC §3). */
#include "flow/flow_impl.h"

#include <float.h>
#include <math.h>
#include <mpi.h>


/* Sums and maxima over all ranks (small loss statistics, SPEC §3). */
void pf_sum_all(double *v, int n)
{
    if (pf_nranks() > 1) MPI_Allreduce(MPI_IN_PLACE, v, n, MPI_DOUBLE, MPI_SUM, pf_comm());
}
void pf_max_all(double *v, int n)
{
    if (pf_nranks() > 1) MPI_Allreduce(MPI_IN_PLACE, v, n, MPI_DOUBLE, MPI_MAX, pf_comm());
}

/* Legendre forms: f*(s) and f*'(s).  Returns 0 when s is outside f*'s domain. */
static int fstar(pf_fdiv f, double alpha, double s, double *v, double *dv)
{
    switch (f) {
    case PF_F_KL_LEGENDRE: /* f(u) = u log u:  f*(s) = exp(s - 1) */
        *v = *dv = exp(s - 1);
        return 1;
    case PF_F_REVERSE_KL: /* f(u) = -log u:  f*(s) = -1 - log(-s), s < 0 */
        if (!(s < 0)) return 0;
        *v = -1 - log(-s);
        *dv = -1 / s;
        return 1;
    case PF_F_ALPHA: {
        /* f(u) = (u^a - 1)/(a(a-1)), u >= 0:  f*(s) = 1/(a(a-1)) + ((a-1)/a) s u(s) with
         * u(s) = ((a-1) s)_+^{1/(a-1)} the maximiser; f*'(s) = u(s).  Defined on all of R. */
        double u = s > 0 ? pow((alpha - 1) * s, 1 / (alpha - 1)) : 0;
        *v = 1 / (alpha * (alpha - 1)) + (alpha - 1) / alpha * s * u;
        *dv = u;
        return 1;
    }
    default: return 0;
    }
}

static void stats_merge(void *in, void *inout, int *len, MPI_Datatype *type)
{
    (void)type;
    const double *a = in;
    double *b = inout;
    for (int r = 0; r < *len; r++, a += ST_N, b += ST_N) {
        const double m = fmax(a[ST_M], b[ST_M]);
        /* "!= 0" (not "> 0"): a NaN share must stay NaN, an empty rank adds 0 */
        b[ST_S] = (a[ST_S] != 0 ? a[ST_S] * exp(a[ST_M] - m) : 0) +
                  (b[ST_S] != 0 ? b[ST_S] * exp(b[ST_M] - m) : 0);
        b[ST_M] = m;
        for (int k = ST_SUM0; k < ST_MAX0; k++) b[k] += a[k];
        for (int k = ST_MAX0; k < ST_N; k++) b[k] = fmax(a[k], b[k]);
    }
}

void pf_stats_init(double *rec)
{
    for (int k = 0; k < ST_N; k++) rec[k] = 0;
    rec[ST_M] = rec[ST_LIP] = rec[ST_WORST] = -DBL_MAX;
}

void pf_stats_reduce(double *rec)
{
    static MPI_Datatype type = MPI_DATATYPE_NULL;
    static MPI_Op op = MPI_OP_NULL;
    if (pf_nranks() == 1) return;
    if (type == MPI_DATATYPE_NULL) { /* created once; freed by MPI_Finalize */
        MPI_Type_contiguous(ST_N, MPI_DOUBLE, &type);
        MPI_Type_commit(&type);
        MPI_Op_create(stats_merge, 1, &op);
    }
    MPI_Allreduce(MPI_IN_PLACE, rec, 1, type, op, pf_comm());
}

/* This rank's part of Lambda's statistics for gamma(y_j) of its n data rows. */
void pf_lambda_local(const pf_trainer *tr, const pf_real *g, int n, double *rec)
{
    const pf_config *c = &tr->cfg;
    if (c->f == PF_F_KL) {
        /* Donsker-Varadhan: log (1/N) sum_j exp(g_j), stable with the maximum */
        double m = -DBL_MAX, s = 0;
        for (int j = 0; j < n; j++) m = fmax(m, g[j]);
        for (int j = 0; j < n; j++) s += exp(g[j] - m);
        rec[ST_M] = m;
        rec[ST_S] = s;
        return;
    }
    const double nu = tr->psi.p[tr->nu_index];
    for (int j = 0; j < n; j++) {
        double v, dv, sj = g[j] - nu;
        if (!fstar(c->f, c->alpha, sj, &v, &dv)) {
            rec[ST_BAD] += 1;
            rec[ST_WORST] = fmax(rec[ST_WORST], sj);
            v = dv = 0;
        }
        rec[ST_F] += v;
        rec[ST_DF] += dv;
    }
}

/* Lambda from the reduced statistics of a batch of N; the gradient weights
 * dLambda/dgamma_j of this rank's rows into wy (may be NULL) and dLambda/dnu. */
double pf_lambda_finish(const pf_trainer *tr, const pf_real *g, int n, double N,
                            const double *rec, pf_real *wy, double *dnu)
{
    const pf_config *c = &tr->cfg;
    if (dnu) *dnu = 0;
    if (c->f == PF_F_KL) {
        const double m = rec[ST_M], s = rec[ST_S];
        if (wy)
            for (int j = 0; j < n; j++) wy[j] = (pf_real)(exp(g[j] - m) / s);
        return m + log(s / N);
    }
    const double nu = tr->psi.p[tr->nu_index];
    if (wy)
        for (int j = 0; j < n; j++) {
            double v, dv;
            if (!fstar(c->f, c->alpha, g[j] - nu, &v, &dv)) dv = 0;
            wy[j] = (pf_real)(dv / N);
        }
    if (dnu) *dnu = 1 - rec[ST_DF] / N;
    return nu + rec[ST_F] / N;
}
