/* Fault injection (include/proxflow/core/fault.h, docs/RELIABILITY.md). */
#include "proxflow/core/fault.h"
#include "proxflow/core/common.h"

#include <mpi.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int pf_fault_point(const char *point)
{
    const char *spec = getenv("PROXFLOW_FAULT");
    if (!spec || !*spec) return 0;
    char name[64] = "", action[16] = "die";
    int rank = -1, nth = 1;
    size_t k = strcspn(spec, "@#:");
    if (k >= sizeof name) return 0;
    memcpy(name, spec, k);
    name[k] = 0;
    if (strcmp(name, point)) return 0;
    for (const char *p = spec + k; *p;) {
        char c = *p++;
        if (c == '@') rank = (int)strtol(p, (char **)&p, 10);
        else if (c == '#') nth = (int)strtol(p, (char **)&p, 10);
        else if (c == ':') {
            snprintf(action, sizeof action, "%s", p);
            break;
        }
    }
    int wrank = 0, init = 0;
    MPI_Initialized(&init);
    if (init) MPI_Comm_rank(MPI_COMM_WORLD, &wrank);
    if (rank >= 0 && rank != wrank) return 0;
    static int hits = 0; /* one process, one injected fault: a counter suffices */
    if (++hits != nth) return 0;
    if (!strcmp(action, "kill")) raise(SIGKILL);
    if (!strcmp(action, "nan") || !strcmp(action, "fail")) return 1;
    pf_die("injected fault at '%s' (PROXFLOW_FAULT=%s)", point, spec);
}
