/* proxflow: common types, precision and error handling. */
#ifndef PROXFLOW_COMMON_H
#define PROXFLOW_COMMON_H

#include <stddef.h>
#include <stdint.h>

#define PF_VERSION "0.1.0"

/* Precision (SPEC §2): double by default; -DPROXFLOW_FLOAT=ON builds in float. */
#ifdef PF_USE_FLOAT
typedef float pf_real;
#define PF_GEMM cblas_sgemm
#define PF_REAL_NAME "float"
#define PF_EPS_REAL 1.1920928955078125e-07
#else
typedef double pf_real;
#define PF_GEMM cblas_dgemm
#define PF_REAL_NAME "double"
#define PF_EPS_REAL 2.220446049250313e-16
#endif

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

/* Fault injection for the reliability tests (docs/RELIABILITY.md).  With the
 * environment variable PROXFLOW_FAULT = "POINT[@RANK][#N][:ACTION]", the N-th time
 * (default 1st) rank RANK (default any) passes POINT, ACTION happens: "die" (default,
 * a pf_die error naming the point), "kill" (SIGKILL to itself), or "nan" / "fail"
 * (returns 1: the caller makes its operation fail, see the point).  Points:
 *   data_open         opening the data source (die, kill)
 *   checkpoint_write  a checkpoint's .tmp file written but not yet complete (die, kill)
 *   run_log           appending a record to run.h5 /diagnostics (die, kill)
 *   potential_loss    nan: the potential loss becomes NaN (the run stops, exit 3)
 *   disc_loss         nan: the discriminator's output becomes NaN (exit 3)
 *   h5_write          every dataset write of run.h5 and of checkpoints (pf_h5_write);
 *                     fail: the write fails as on a full disk (ENOSPC), kill: SIGKILL
 *                     in the middle of writing a file
 *   checkpoint_io     the same, dataset writes of checkpoints only (2 per checkpoint)
 *   output_io         the same, dataset writes of run.h5 only */
int pf_fault_point(const char *point);

/* Element-wise loops run on OpenMP threads only above this many elements (below it
 * fork/join costs more than it saves).  A variable so tests can force the threaded
 * paths on small problems (tests/test_invariance.c sets 0). */
extern size_t pf_omp_min;

/* Wall clock seconds (MPI_Wtime). */
double pf_now(void);

#endif
