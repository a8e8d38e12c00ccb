/* proxflow: the divergence term Lambda_f (SPEC §1.3) — Donsker-Varadhan log-sum-exp or
 * a Legendre form f* with a trainable shift nu — and the loss statistics of a step,
 * formed per chunk and folded in chunk order (SPEC §3). */
#include "flow/flow_impl.h"

#include <float.h>
#include <math.h>
#include <mpi.h>
#include <stdlib.h>

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

/* b <- b merged with a (a chunk later in the order). */
static void stats_merge(const double *a, double *b)
{
    const double m = fmax(a[ST_M], b[ST_M]);
    /* "!= 0" (not "> 0"): a NaN share must stay NaN, an empty chunk adds 0 */
    b[ST_S] = (a[ST_S] != 0 ? a[ST_S] * exp(a[ST_M] - m) : 0) +
              (b[ST_S] != 0 ? b[ST_S] * exp(b[ST_M] - m) : 0);
    b[ST_M] = m;
    for (int k = ST_SUM0; k < ST_MAX0; k++) b[k] += a[k];
    for (int k = ST_MAX0; k < ST_N; k++) b[k] = fmax(a[k], b[k]);
}

void pf_stats_init(double *rec)
{
    for (int k = 0; k < ST_N; k++) rec[k] = 0;
    rec[ST_M] = rec[ST_LIP] = rec[ST_WORST] = -DBL_MAX;
}

void pf_stats_fold(const pf_chunks *ch, const double *local, double *rec, double *all)
{
    double *buf = all ? all : pf_malloc(sizeof(double) * (size_t)(ch->K > 0 ? ch->K : 1) * ST_N);
    pf_chunks_allgather(ch, local, ST_N, buf);
    pf_stats_init(rec);
    for (int c = 0; c < ch->K; c++) stats_merge(buf + (size_t)c * ST_N, rec);
    if (!all) free(buf);
}

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

void pf_lambda_weights(const pf_trainer *tr, const pf_real *g, int n, double N, pf_real *w)
{
    const pf_config *c = &tr->cfg;
    const double nu = tr->psi.p[tr->nu_index];
    for (int j = 0; j < n; j++) {
        double v, dv;
        if (!fstar(c->f, c->alpha, g[j] - nu, &v, &dv)) dv = 0;
        w[j] = (pf_real)(dv / N);
    }
}

double pf_lambda_finish(const pf_trainer *tr, double N, const double *rec, double *dnu)
{
    const pf_config *c = &tr->cfg;
    if (dnu) *dnu = 0;
    if (c->f == PF_F_KL) return rec[ST_M] + log(rec[ST_S] / N);
    const double nu = tr->psi.p[tr->nu_index];
    if (dnu) *dnu = 1 - rec[ST_DF] / N;
    return nu + rec[ST_F] / N;
}
