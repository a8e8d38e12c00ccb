/* Commands not built yet: they say so and exit 2 (tracked in the open issues). */
#include "proxflow/cli.h"
#include "proxflow/common.h"

int pf_cmd_sample(int argc, char **argv) { (void)argc, (void)argv; pf_fail_collective(2, "sample: not available in this version yet"); }
int pf_cmd_eval(int argc, char **argv) { (void)argc, (void)argv; pf_fail_collective(2, "eval: not available in this version yet"); }
int pf_cmd_info(int argc, char **argv) { (void)argc, (void)argv; pf_fail_collective(2, "info: not available in this version yet"); }
int pf_cmd_sweep(int argc, char **argv) { (void)argc, (void)argv; pf_fail_collective(2, "sweep: not available in this version yet"); }
