/* Sample blocks and their gather (include/proxflow/core/block.h). */
#include "proxflow/core/block.h"

#include <mpi.h>
#include <stdlib.h>

void pf_block(int n, int r, int P, int *a, int *b)
{
    int base = n / P, rem = n % P;
    *a = r * base + (r < rem ? r : rem);
    *b = *a + base + (r < rem ? 1 : 0);
}

void pf_gather_rows(const pf_real *mine, long a, long b, int cols, long limit, pf_real *all)
{
    const int P = pf_nranks();
    const long hi = b < limit ? b : limit;
    int me = hi > a ? (int)((hi - a) * cols) : 0, off = (int)(a * cols);
    int *cnt = pf_malloc(sizeof(int) * P), *dsp = pf_malloc(sizeof(int) * P);
    MPI_Gather(&me, 1, MPI_INT, cnt, 1, MPI_INT, 0, pf_comm());
    MPI_Gather(&off, 1, MPI_INT, dsp, 1, MPI_INT, 0, pf_comm());
    MPI_Gatherv(mine, me, PF_MPI_REAL, all, cnt, dsp, PF_MPI_REAL, 0, pf_comm());
    free(cnt);
    free(dsp);
}
