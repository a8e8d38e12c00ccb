/* proxflow: precision, errors with file and line, allocation, the communicator and rank-0
 * logging: what every module uses. */
#ifndef PROXFLOW_COMMON_H
#define PROXFLOW_COMMON_H

#include <stddef.h>
#include <stdint.h>

#define PF_VERSION "0.1.0"

#include "proxflow/core/precision.h"

/* Errors.  pf_die prints "proxflow: error: <msg>" (with the rank when there is more
 * than one) and ends every rank (MPI_Abort), so an error raised on one rank never
 * leaves the others hanging in a collective.  Use it for errors that may happen on a
 * single rank.  Errors that every rank detects identically (a bad config) use
 * pf_fail_collective, which prints once (rank 0) and exits with status 2. */
void pf_die_at(const char *file, int line, const char *fmt, ...)
    __attribute__((noreturn, format(printf, 3, 4)));
#define pf_die(...) pf_die_at(__FILE__, __LINE__, __VA_ARGS__)

void pf_fail_collective(int status, const char *fmt, ...)
    __attribute__((noreturn, format(printf, 2, 3)));

/* Writes the printf-style message into err [errlen] (if err and errlen) and returns rc:
 * the one helper of the parsers that report errors into a caller's buffer (config,
 * sweep, checkpoint loading, IDX headers). */
int pf_errorf(int rc, char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Allocation that never returns NULL (dies with the file and line instead). */
void *pf_malloc_at(size_t bytes, const char *file, int line);
void *pf_calloc_at(size_t n, size_t size, const char *file, int line);
#define pf_malloc(b) pf_malloc_at((b), __FILE__, __LINE__)
#define pf_calloc(n, s) pf_calloc_at((n), (s), __FILE__, __LINE__)

/* The communicator proxflow works on: MPI_COMM_WORLD unless pf_set_comm changed it
 * (the invariance test runs 1-, 2- and 4-rank trainings inside one 4-rank job). */
#include <mpi.h>
MPI_Comm pf_comm(void);
void pf_set_comm(MPI_Comm comm);
/* Rank and size in pf_comm() (0/1 before MPI_Init). */
int pf_rank(void);
int pf_nranks(void);

/* Print on rank 0 only. */
void pf_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Element-wise loops run on OpenMP threads only above this many elements (below it
 * fork/join costs more than it saves).  A variable so tests can force the threaded
 * paths on small problems (tests/test_invariance.c sets 0). */
extern size_t pf_omp_min;

/* The team a loop over `work` elements should run on: omp_get_max_threads() when work
 * is above pf_omp_min, more than one thread is allowed and no parallel region is around
 * it (a lane's loops run on its one thread); else 1.  Not entering a region at all
 * matters: libgomp ends even a one-thread region (an `if` clause that is false, a team
 * of one) with a futex system call, thousands per iteration of a small network
 * (docs/DESIGN.md "Serial loops stay out of OpenMP"). */
int pf_omp_team(size_t work);

/* `PF_TEAM_FOR(team, i, n, { body });` runs body for i = 0 .. n-1 on `team` threads
 * (static schedule) when team > 1, else as a plain loop outside OpenMP.  The body must
 * not depend on which thread runs it. */
#define PF_TEAM_FOR(team, i, n, ...)                                                   \
    do {                                                                               \
        const int pf_team_ = (team), pf_team_n_ = (n);                                 \
        if (pf_team_ > 1 && pf_team_n_ > 1) {                                          \
            _Pragma("omp parallel for schedule(static) num_threads(pf_team_)")        \
            for (int i = 0; i < pf_team_n_; i++) __VA_ARGS__                           \
        } else                                                                         \
            for (int i = 0; i < pf_team_n_; i++) __VA_ARGS__                           \
    } while (0)

/* `PF_PAR_FOR(work, i, n, { body });`: an element-wise loop, on pf_omp_team(work). */
#define PF_PAR_FOR(work, i, n, ...) PF_TEAM_FOR(pf_omp_team(work), i, n, __VA_ARGS__)

/* Wall clock seconds (MPI_Wtime). */
double pf_now(void);

#endif
