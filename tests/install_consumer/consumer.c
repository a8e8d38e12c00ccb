/* Uses the installed proxflow library (tests/test_install.sh): MPI through it, a
 * config built in memory and written as INI text, the build's precision. */
#include "proxflow/config/config.h"
#include "proxflow/core/common.h"

#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    pf_config c;
    pf_config_defaults(&c);
    char err[512];
    if (pf_config_set(&c, "train.iterations=123", err, sizeof err) ||
        pf_config_set(&c, "output.progress=lines", err, sizeof err)) {
        fprintf(stderr, "consumer: %s\n", err);
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
    char *ini = pf_config_to_ini(&c);
    if (!ini) MPI_Abort(MPI_COMM_WORLD, 1);
    if (pf_rank() == 0) {
        fputs(ini, stdout);
        printf("# consumer: rank %d of %d, pf_real is %s (%zu bytes), proxflow %s\n", pf_rank(),
               pf_nranks(), PF_REAL_NAME, sizeof(pf_real), PF_VERSION);
    }
    free(ini);
    MPI_Finalize();
    return 0;
}
