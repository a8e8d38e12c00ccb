/* Minimal test harness: CHECK macros that count failures and print file:line. */
#ifndef PF_TESTUTIL_H
#define PF_TESTUTIL_H
#include <math.h>
#include <stdio.h>

extern int pf_test_failures;
extern int pf_test_checks;

#define CHECK(cond, ...)                                                            \
    do {                                                                            \
        pf_test_checks++;                                                           \
        if (!(cond)) {                                                              \
            pf_test_failures++;                                                     \
            fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);         \
            fprintf(stderr, __VA_ARGS__);                                           \
            fputc('\n', stderr);                                                    \
        }                                                                           \
    } while (0)

/* Initialise MPI (tests are MPI programs) and finish: prints a summary line and
 * returns the exit status (0 if no failure on any rank). */
void pf_test_init(int *argc, char ***argv);
int pf_test_finish(const char *name);

/* A test's config as a user writes it: the defaults, then each "section.key=value" of
 * the NULL-terminated list applied as --set would (pf_config_set), then validated; a
 * bad entry is a bug of the test: it prints the message and exits 2. */
#include "proxflow/config/config.h"
void pf_test_config(pf_config *c, const char *const *sets);

/* Relative error |a-b| / max(|a|, |b|, floor). */
double pf_relerr(double a, double b, double floor);

/* ---- precision-generic tolerances (pf_real is float with -DPROXFLOW_FLOAT=ON) ---- */
#include "proxflow/core/common.h"

/* A bound on pure roundoff stated for double, scaled to the build's precision:
 * roundoff errors grow linearly with the unit roundoff, so a bound of b in double
 * becomes b * eps_float / eps_double (x 5.4e8) in float. */
#define PF_DBL_EPS 2.220446049250313e-16
#define PF_ROUNDOFF(b) ((b) * (PF_EPS_REAL / PF_DBL_EPS))

/* Central differences of a function the library evaluates in pf_real: step
 * h = scale * cbrt(eps) balances the truncation error (~h^2) against the roundoff
 * error (~eps / h); both are then O(eps^(2/3)): 3.7e-11 in double, 2.4e-5 in float. */
#define PF_FD_STEP(scale) ((scale) * cbrt(PF_EPS_REAL))

/* Bound on the norm-wise relative error of a central difference against an analytic
 * derivative: 1e-6 in double (as in the original double-only tests; measured there
 * 1e-11..5e-9); in float 400 eps^(2/3) = 9.7e-3 (measured up to 3.6e-3: test_net,
 * test_conv, test_train_grad print their worst).  A wrong derivative (tanh'' with its
 * sign flipped in the layer kernel) gives errors of 0.5..1.6 in both precisions. */
#ifdef PF_USE_FLOAT
#define PF_FD_TOL (400 * cbrt(PF_EPS_REAL * PF_EPS_REAL))
#else
#define PF_FD_TOL 1e-6
#endif

/* Kink-aware comparison for networks with relu / max-pool: d1 and d2 are central
 * differences with steps h and h/2.  Where they disagree by more than
 * PF_FD_TOL * max|d1| the step straddles a kink (an argmax switch or a relu edge, more
 * likely with float's larger step) and the coordinate is left out; *n_kinks counts
 * them (callers bound it).  A wrong derivative is not hidden: d1 and d2 do not depend
 * on it.  Returns the norm-wise relative error of a against d1 over the rest. */
double pf_fd_relerr(const pf_real *a, const double *d1, const double *d2, size_t n,
                    size_t *n_kinks);

/* The step actually taken when x is moved to xp and xm in pf_real (x + h rounds in
 * float): central differences divide by this, not by 2h. */
static inline double pf_fd_span(pf_real xp, pf_real xm) { return (double)xp - (double)xm; }

#endif
