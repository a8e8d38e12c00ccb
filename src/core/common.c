/* Error handling, allocation, rank-0 logging. */
#define _POSIX_C_SOURCE 200809L
#include "proxflow/core/common.h"

#include <mpi.h>
#include <omp.h>
#include <stdarg.h>
#include <stdio.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

size_t pf_omp_min = 32768;

int pf_omp_team(size_t work)
{
    return work > pf_omp_min && omp_get_level() == 0 ? omp_get_max_threads() : 1;
}

static MPI_Comm g_comm = MPI_COMM_NULL;

MPI_Comm pf_comm(void) { return g_comm == MPI_COMM_NULL ? MPI_COMM_WORLD : g_comm; }
void pf_set_comm(MPI_Comm comm) { g_comm = comm; }

int pf_rank(void)
{
    int init = 0, r = 0;
    MPI_Initialized(&init);
    if (init) MPI_Comm_rank(pf_comm(), &r);
    return r;
}

int pf_nranks(void)
{
    int init = 0, n = 1;
    MPI_Initialized(&init);
    if (init) MPI_Comm_size(pf_comm(), &n);
    return n;
}

void pf_die_at(const char *file, int line, const char *fmt, ...)
{
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (pf_nranks() > 1)
        fprintf(stderr, "proxflow: error (rank %d): %s  [%s:%d]\n", pf_rank(), msg, file, line);
    else
        fprintf(stderr, "proxflow: error: %s  [%s:%d]\n", msg, file, line);
    fflush(stderr);
    int init = 0, fin = 0;
    MPI_Initialized(&init);
    MPI_Finalized(&fin);
    int world = 1;
    if (init && !fin) MPI_Comm_size(MPI_COMM_WORLD, &world);
    if (init && !fin && world > 1) MPI_Abort(MPI_COMM_WORLD, 1);
    /* _exit, not exit: HDF5's atexit handler would close the files still open, and
     * after a failed write (a full disk) closing one crashed inside HDF5 (segfault in
     * H5F__close_cb, docs/RELIABILITY.md).  Files are left as a SIGKILL leaves them,
     * which every reader and --resume already handle. */
    fflush(NULL);
    _exit(1);
}

void pf_fail_collective(int status, const char *fmt, ...)
{
    if (pf_rank() == 0) {
        va_list ap;
        va_start(ap, fmt);
        fputs("proxflow: error: ", stderr);
        vfprintf(stderr, fmt, ap);
        fputc('\n', stderr);
        va_end(ap);
        fflush(stderr);
    }
    int init = 0, fin = 0;
    MPI_Initialized(&init);
    MPI_Finalized(&fin);
    if (init && !fin) MPI_Finalize();
    exit(status);
}

void *pf_malloc_at(size_t bytes, const char *file, int line)
{
    void *p = malloc(bytes ? bytes : 1);
    if (!p) pf_die_at(file, line, "out of memory allocating %zu bytes", bytes);
    return p;
}

void *pf_calloc_at(size_t n, size_t size, const char *file, int line)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p) pf_die_at(file, line, "out of memory allocating %zu x %zu bytes", n, size);
    return p;
}

void pf_log(const char *fmt, ...)
{
    if (pf_rank() != 0) return;
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stdout, fmt, ap);
    va_end(ap);
    fflush(stdout);
}

double pf_now(void) { return MPI_Wtime(); }

int pf_errorf(int rc, char *err, size_t errlen, const char *fmt, ...)
{
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return rc;
}
