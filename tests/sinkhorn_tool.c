/* pf_sinkhorn_divergence on two clouds read from a text file, for the independent POT
 * check (tests/check_sinkhorn.py, tests/test_sinkhorn_pot.sh).  Not a test by itself.
 *   sinkhorn_tool FILE BLUR SCALING MAX_EXTRA TOL
 * FILE: "n m d", then n rows of X and m rows of Y, d numbers each.  Prints one line:
 *   S n_eps extra diameter ot_xy ot_xx ot_yy marginal_error */
#include "proxflow/eval/sinkhorn.h"

#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    if (argc != 6) {
        fprintf(stderr, "usage: %s FILE BLUR SCALING MAX_EXTRA TOL\n", argv[0]);
        MPI_Finalize();
        return 2;
    }
    FILE *fp = fopen(argv[1], "r");
    int n, m, d;
    if (!fp || fscanf(fp, "%d %d %d", &n, &m, &d) != 3 || n < 1 || m < 1 || d < 1) {
        fprintf(stderr, "%s: cannot read the header\n", argv[1]);
        MPI_Finalize();
        return 2;
    }
    pf_real *X = pf_malloc(sizeof(pf_real) * (size_t)n * d), *Y = pf_malloc(sizeof(pf_real) * (size_t)m * d);
    for (size_t k = 0; k < (size_t)(n + m) * d; k++) {
        double v;
        if (fscanf(fp, "%lf", &v) != 1) {
            fprintf(stderr, "%s: short file\n", argv[1]);
            MPI_Finalize();
            return 2;
        }
        if (k < (size_t)n * d) X[k] = (pf_real)v;
        else Y[k - (size_t)n * d] = (pf_real)v;
    }
    fclose(fp);
    pf_sinkhorn_info in;
    double S = pf_sinkhorn_divergence(X, n, Y, m, d, atof(argv[2]), atof(argv[3]), atoi(argv[4]),
                                      atof(argv[5]), &in);
    printf("%.17g %d %d %.17g %.17g %.17g %.17g %.17g\n", S, in.n_eps, in.extra, in.diameter, in.ot_xy,
           in.ot_xx, in.ot_yy, in.marginal_error);
    free(X);
    free(Y);
    MPI_Finalize();
    return 0;
}
