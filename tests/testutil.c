#include "testutil.h"

#include <math.h>
#include <mpi.h>

int pf_test_failures = 0;
int pf_test_checks = 0;

void pf_test_init(int *argc, char ***argv) { MPI_Init(argc, argv); }

int pf_test_finish(const char *name)
{
    int local[2] = {pf_test_failures, pf_test_checks}, total[2];
    MPI_Allreduce(local, total, 2, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
    int rank;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    if (rank == 0)
        printf("%s: %d checks, %d failed\n", name, total[1], total[0]);
    MPI_Finalize();
    return total[0] ? 1 : 0;
}

double pf_relerr(double a, double b, double floor)
{
    double m = fmax(fabs(a), fabs(b));
    if (m < floor) m = floor;
    return fabs(a - b) / m;
}
