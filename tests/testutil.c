#include "testutil.h"

#include <math.h>
#include <mpi.h>
#include <stdlib.h>

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

void pf_test_config(pf_config *c, const char *const *sets)
{
    char err[1024];
    pf_config_defaults(c);
    for (int k = 0; sets[k]; k++)
        if (pf_config_set(c, sets[k], err, sizeof err)) {
            fprintf(stderr, "test config: %s\n", err);
            exit(2);
        }
    if (pf_config_validate(c, err, sizeof err)) {
        fprintf(stderr, "test config: %s\n", err);
        exit(2);
    }
}

double pf_relerr(double a, double b, double floor)
{
    double m = fmax(fabs(a), fabs(b));
    if (m < floor) m = floor;
    return fabs(a - b) / m;
}

double pf_fd_relerr(const pf_real *a, const double *d1, const double *d2, size_t n,
                    size_t *n_kinks)
{
    double scale = 0, num = 0, na = 0, nb = 0;
    for (size_t k = 0; k < n; k++) scale = fmax(scale, fabs(d1[k]));
    *n_kinks = 0;
    for (size_t k = 0; k < n; k++) {
        if (fabs(d1[k] - d2[k]) > PF_FD_TOL * scale) {
            ++*n_kinks;
            continue;
        }
        num += (a[k] - d1[k]) * (a[k] - d1[k]);
        na += (double)a[k] * a[k];
        nb += d1[k] * d1[k];
    }
    const double den = fmax(sqrt(na), sqrt(nb));
    return den > 0 ? sqrt(num) / den : sqrt(num);
}
