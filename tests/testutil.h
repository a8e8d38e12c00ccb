/* Minimal test harness: CHECK macros that count failures and print file:line. */
#ifndef PF_TESTUTIL_H
#define PF_TESTUTIL_H
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

/* Relative error |a-b| / max(|a|, |b|, floor). */
double pf_relerr(double a, double b, double floor);

#endif
