/* `proxflow train CONFIG.ini [--set ...] [--resume CKPT|latest] [--out DIR]
 * [--dump-state FILE.h5]` (SPEC §5): the arguments, then the run (src/run/train_loop.c). */
#include "proxflow/cli/cli.h"
#include "proxflow/io/paths.h"
#include "proxflow/run/setup.h"
#include "proxflow/run/train_loop.h"

#include <stdlib.h>
#include <string.h>

/* `proxflow train --help`: every option the parser below accepts, one line each. */
static const char *const HELP =
    "usage: proxflow train CONFIG.ini [--set section.key=value ...] [--out DIR]\n"
    "                      [--resume CKPT|latest] [--dump-state FILE.h5]\n"
    "\n"
    "Trains a W1/W2 proximal flow as CONFIG.ini says (every key: docs/CONFIG.md) and\n"
    "writes DIR/run.h5 (diagnostics, samples) and DIR/checkpoints/ (docs/OUTPUT.md).\n"
    "An existing run.h5 is never overwritten: continue it with --resume latest.\n"
    "\n"
    "options:\n"
    "  --set section.key=value  change one config key after the file (repeatable; also --set=...)\n"
    "  --out DIR                the run directory (default: [output] dir of the config)\n"
    "  --resume CKPT|latest     continue from checkpoint CKPT, or from the newest complete one in DIR\n"
    "  --dump-state FILE.h5     write one step's losses and gradients to FILE.h5 and exit (docs/OUTPUT.md)\n"
    "  -h, --help               print this help and exit\n"
    "\n"
    "environment:\n"
    "  PROXFLOW_PROGRESS        auto | bar | lines | off: what is printed while training\n"
    "                           (wins over [output] progress; docs/CLUSTER.md, \"Job logs\")\n"
    "  OMP_NUM_THREADS          OpenMP threads per rank, unless [train] threads is set\n"
    "  PROXFLOW_LOCK            on | off | require: DIR/.lock, one job per run directory\n"
    "                           (docs/RELIABILITY.md)\n"
    "\n"
    "signals: SIGUSR1 or SIGTERM (any number) write a checkpoint at the next iteration and\n"
    "exit 0; SIGINT (Ctrl-C) does the same and exits 130; a second SIGINT exits at once.\n"
    "\n"
    "examples:\n"
    "  mpirun -n 4 proxflow train configs/quickstart.ini --out runs/qs --set train.iterations=2000\n"
    "  mpirun -n 4 proxflow train configs/quickstart.ini --out runs/qs --resume latest\n";

static void usage_error(const char *msg, const char *arg)
{
    pf_fail_collective(2, "train: %s%s%s (usage: proxflow train CONFIG.ini [--set section.key=value ...] "
                          "[--resume CKPT|latest] [--out DIR]; more: proxflow train --help)",
                       msg, arg ? " " : "", arg ? arg : "");
}

int pf_cmd_train(int argc, char **argv)
{
    if (pf_cli_help(argc, argv, HELP)) return 0;
    pf_cli_check_once(argc, argv, "train", "--out= --resume= --dump-state= --set=*");
    const char *config_path = NULL, *resume = NULL, *out = NULL, *dump = NULL;
    char **sets = pf_malloc(sizeof(char *) * (argc + 1));
    int n_sets = 0;
    for (int k = 0; k < argc; k++) {
        const char *a = argv[k];
        if (!strcmp(a, "--set") || !strcmp(a, "--resume") || !strcmp(a, "--out") ||
            !strcmp(a, "--dump-state")) {
            if (k + 1 >= argc) usage_error("missing value after", a);
            const char *v = argv[++k];
            const char *prev = !strcmp(a, "--resume") ? resume : !strcmp(a, "--out") ? out
                               : !strcmp(a, "--dump-state") ? dump : NULL;
            if (prev) /* conflicting: which one was meant? (docs/RELIABILITY.md) */
                pf_fail_collective(2, "train: %s given twice ('%s', then '%s')", a, prev, v);
            if (!strcmp(a, "--set")) sets[n_sets++] = (char *)v;
            else if (!strcmp(a, "--resume")) resume = v;
            else if (!strcmp(a, "--out")) out = v;
            else dump = v;
        } else if (!strncmp(a, "--set=", 6)) {
            sets[n_sets++] = (char *)a + 6;
        } else if (a[0] == '-' && a[1]) {
            pf_fail_collective(2, "train: unknown option '%s' (see proxflow train --help)", a);
        } else if (!config_path) {
            config_path = a;
        } else {
            usage_error("more than one config file:", a);
        }
    }
    if (!config_path) usage_error("no config file given", NULL);
    pf_config cfg;
    pf_setup_config(&cfg, config_path, n_sets, sets);
    free(sets);
    if (out) {
        if (strlen(out) >= sizeof cfg.out_dir) usage_error("--out path too long:", out);
        strcpy(cfg.out_dir, out);
    }
    if (dump) { /* never over its inputs or a run's files (issue 20) */
        const char *in[2] = {config_path, resume && strcmp(resume, "latest") ? resume : NULL};
        const char *lab[2] = {"config", "--resume"};
        pf_output_guard("train", "--dump-state", dump, in, lab, 2);
    }
    return pf_train_run(&cfg, config_path, resume, dump);
}
