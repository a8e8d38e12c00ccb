/* Commands not built yet: they say so and exit 2 (tracked in the open issues).
 * sample, eval and info live in src/cli_sample.c, src/cli_eval.c, src/cli_info.c. */
#include "proxflow/cli.h"
#include "proxflow/common.h"

int pf_cmd_sweep(int argc, char **argv) { (void)argc, (void)argv; pf_fail_collective(2, "sweep: not available in this version yet"); }
