/* proxflow: reading a config file once (src/run/config_file.h).  The file used to be
 * opened twice (parsed, then checked for emptiness) on every rank: a config from a pipe
 * (`proxflow train <(...)`) read as "empty" and one on a FIFO hung.  Rank 0 now reads it
 * to the end into memory and broadcasts the bytes, so every check parses that buffer
 * and the ranks see one and the same text (under mpirun only rank 0's file descriptors
 * and FIFO reads are meaningful anyway). */
#include "run/config_file.h"
#include "config/ini_reader.h"
#include "proxflow/core/common.h"

#include <mpi.h>
#include <stdlib.h>
#include <string.h>

char *pf_setup_read_config(const char *path, size_t *len)
{
    char err[1024] = "";
    char *text = NULL;
    unsigned long long n = 0; /* rank 0's length, or ULLONG_MAX after an error */
    if (pf_rank() == 0) {
        size_t l = 0;
        text = pf_read_text_file(path, "", &l, err, sizeof err);
        n = text ? (unsigned long long)l : ~0ULL;
    }
    if (pf_nranks() > 1) MPI_Bcast(&n, 1, MPI_UNSIGNED_LONG_LONG, 0, pf_comm());
    if (n == ~0ULL) pf_fail_collective(2, "%s", err); /* rank 0 prints its message */
    if (pf_rank() != 0) text = pf_malloc((size_t)n + 1);
    /* at most PF_TEXT_FILE_MAX bytes: one broadcast */
    if (pf_nranks() > 1) MPI_Bcast(text, (int)n, MPI_CHAR, 0, pf_comm());
    text[n] = '\0';
    *len = (size_t)n;
    return text;
}
