/* proxflow: command dispatch (SPEC §5). */
#include "proxflow/core/blas_info.h"
#include "proxflow/cli/cli.h"
#include "proxflow/core/common.h"

#include <mpi.h>
#include <stdio.h>
#include <string.h>

static const char *USAGE =
    "proxflow " PF_VERSION " - W1/W2 proximal generative flows\n"
    "\n"
    "usage:\n"
    "  proxflow train CONFIG.ini [--set section.key=value ...] [--resume CKPT|latest] [--out DIR]\n"
    "                            [--dump-state FILE.h5]\n"
    "  proxflow chain  CONFIG.ini [--links K] [--set section.key=value ...] [--out DIR] [--resume]\n"
    "  proxflow sample --checkpoint CKPT --n N [--steps Nt] [--seed S] [--trajectories] --out FILE.h5\n"
    "  proxflow sample --chain DIR --n N [--from-link K] [--seed S] --out FILE.h5\n"
    "  proxflow eval   --checkpoint CKPT [--data SPEC] [--n N] [--steps Nt] [--seed S] [--json FILE]\n"
    "  proxflow sweep  SWEEP.ini (--count | --list | --index I [--dry-run | --status])\n"
    "  proxflow info   RUN_OR_CKPT.h5\n"
    "  proxflow --version | --help\n"
    "\n"
    "commands (proxflow CMD --help, or proxflow help CMD: every option of CMD, an example):\n"
    "  train    train one flow: run.h5 and checkpoints (docs/CONFIG.md, docs/OUTPUT.md)\n"
    "  chain    train a JKO chain of flows, link after link (docs/CHAIN.md)\n"
    "  sample   push fresh samples through a checkpoint's flow or a chain (docs/COMMANDS.md)\n"
    "  eval     metrics of a checkpoint's flow against held-out data (docs/COMMANDS.md)\n"
    "  sweep    count, list, inspect or train the runs of a sweep file (docs/CLUSTER.md)\n"
    "  info     what a run, checkpoint, sample or chain file holds (docs/COMMANDS.md)\n"
    "\n"
    "Run under MPI: mpirun -n RANKS proxflow train ...  (docs/CONFIG.md lists every key)\n";

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") ||
        (!strcmp(argv[1], "help") && argc == 2)) {
        if (pf_rank() == 0) fputs(USAGE, argc < 2 ? stderr : stdout);
        MPI_Finalize();
        return argc < 2 ? 2 : 0;
    }
    if (!strcmp(argv[1], "--version")) {
        pf_log("proxflow %s (%s, %s; OpenBLAS %s kernels by %s)\n", PF_VERSION, PF_GIT_COMMIT,
               PF_REAL_NAME, pf_blas_core(), pf_blas_core_source());
        MPI_Finalize();
        return 0;
    }
    if (!strcmp(argv[1], "help") && argc >= 3) { /* `proxflow help CMD` = `proxflow CMD --help` */
        static char help_flag[] = "--help";
        argv[1] = argv[2];
        argv[2] = help_flag;
    }
    const char *cmd = argv[1];
    int status;
    if (!strcmp(cmd, "train")) status = pf_cmd_train(argc - 2, argv + 2);
    else if (!strcmp(cmd, "sample")) status = pf_cmd_sample(argc - 2, argv + 2);
    else if (!strcmp(cmd, "eval")) status = pf_cmd_eval(argc - 2, argv + 2);
    else if (!strcmp(cmd, "info")) status = pf_cmd_info(argc - 2, argv + 2);
    else if (!strcmp(cmd, "sweep")) status = pf_cmd_sweep(argc - 2, argv + 2);
    else if (!strcmp(cmd, "chain")) status = pf_cmd_chain(argc - 2, argv + 2);
    else pf_fail_collective(2, "unknown command '%s' (commands: train, chain, sample, eval, sweep, info; see proxflow --help)", cmd);
    MPI_Finalize();
    return status;
}
