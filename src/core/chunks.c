/* Fixed chunks of sample indices and their ordered sums (include/proxflow/core/chunks.h). */
#include "proxflow/core/chunks.h"

#include <mpi.h>
#include <stdlib.h>
#include <string.h>

void pf_chunks_init(pf_chunks *ch, int n, int K, int r, int P)
{
    memset(ch, 0, sizeof *ch);
    ch->n = n;
    ch->K = K < n ? K : n;
    if (ch->K < 1) return;
    pf_block(ch->K, r, P, &ch->c0, &ch->c1);
    int a, b;
    pf_chunk_rows(ch, ch->c0, &ch->i0, &b);
    pf_chunk_rows(ch, ch->c1 - 1, &a, &ch->i1);
    if (ch->c1 == ch->c0) ch->i1 = ch->i0;
    ch->max_rows = (n + ch->K - 1) / ch->K;
}

void pf_chunks_allgather(const pf_chunks *ch, const double *local, int m, double *all)
{
    const size_t total = (size_t)ch->K * m;
    memset(all, 0, sizeof(double) * total);
    memcpy(all + (size_t)ch->c0 * m, local, sizeof(double) * (size_t)(ch->c1 - ch->c0) * m);
    /* x + 0 = x: every entry is nonzero on one rank at most (a -0 becomes +0) */
    if (pf_nranks() > 1 && total > 0)
        MPI_Allreduce(MPI_IN_PLACE, all, (int)total, MPI_DOUBLE, MPI_SUM, pf_comm());
}

void pf_chunks_sum(const pf_chunks *ch, const double *local, int m, double *total)
{
    double stack[256], *all = (size_t)ch->K * m <= 256 ? stack
                                                        : pf_malloc(sizeof(double) * (size_t)ch->K * m);
    pf_chunks_allgather(ch, local, m, all);
    for (int j = 0; j < m; j++) total[j] = 0;
    for (int c = 0; c < ch->K; c++)
        for (int j = 0; j < m; j++) total[j] += all[(size_t)c * m + j];
    if (all != stack) free(all);
}
