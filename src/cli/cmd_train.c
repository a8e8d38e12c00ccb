/* `proxflow train CONFIG.ini [--set ...] [--resume CKPT|latest] [--out DIR]
 * [--dump-state FILE.h5]` (SPEC §5): the arguments, then the run (src/run/train_loop.c). */
#include "proxflow/cli/cli.h"
#include "proxflow/io/checkpoint.h"
#include "proxflow/io/paths.h"
#include "proxflow/run/resume_config.h"
#include "proxflow/run/setup.h"
#include "proxflow/run/train_loop.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* `proxflow train --help`: every option the parser below accepts, one line each. */
static const char *const HELP =
    "usage: proxflow train CONFIG.ini [--set section.key=value ...] [--out DIR]\n"
    "                      [--resume CKPT|latest [--allow-config-change]] [--dump-state FILE.h5]\n"
    "       proxflow train --resume CKPT|latest [--out DIR] [--set section.key=value ...]\n"
    "\n"
    "Trains a W1/W2 proximal flow as CONFIG.ini says (every key: docs/CONFIG.md) and\n"
    "writes DIR/run.h5 (diagnostics, samples) and DIR/checkpoints/ (docs/OUTPUT.md).\n"
    "An existing run.h5 is never overwritten: continue it with --resume latest.\n"
    "Without CONFIG.ini, --resume continues with the config stored in the checkpoint.\n"
    "A resumed run keeps its model and objective: a changed key of [flow], [lipschitz],\n"
    "[potential], [discriminator] or [data] is refused unless --allow-config-change;\n"
    "every session is recorded in run.h5 /history (docs/OUTPUT.md).\n"
    "\n"
    "options:\n"
    "  --set section.key=value  change one config key after the file (repeatable; also --set=...)\n"
    "  --out DIR                the run directory (default: [output] dir of the config)\n"
    "  --resume CKPT|latest     continue from checkpoint CKPT, or from the newest complete one in DIR\n"
    "  --allow-config-change    resume although model or objective keys differ from the checkpoint's\n"
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
    "  mpirun -n 4 proxflow train configs/quickstart.ini --out runs/qs --resume latest\n"
    "  mpirun -n 4 proxflow train --out runs/qs --resume latest --set train.iterations=4000\n";

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
    int n_sets = 0, allow_change = 0;
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
        } else if (!strcmp(a, "--allow-config-change")) {
            allow_change = 1;
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
    if (!config_path && !resume) usage_error("no config file given", NULL);
    if (allow_change && !resume) usage_error("--allow-config-change without --resume", NULL);
    if (out && strlen(out) >= PF_STR) usage_error("--out path too long:", out);
    pf_config cfg;
    char ckpt[PF_STR + 64], dir[PF_STR];
    if (config_path) {
        pf_setup_config(&cfg, config_path, n_sets, sets);
    } else {
        /* --resume without a config: the checkpoint's own (SPEC §4 stores it), --set on top */
        if (out) snprintf(dir, sizeof dir, "%s", out);
        else if (!strcmp(resume, "latest"))
            usage_error("--resume latest without a config file needs --out DIR (the run directory)", NULL);
        else if (pf_resume_run_dir(resume, dir, sizeof dir))
            usage_error("--resume CKPT without a config file needs --out DIR (CKPT is not in a "
                        "DIR/checkpoints/ directory):", resume);
        pf_resume_path(dir, resume, ckpt, sizeof ckpt);
        pf_checkpoint_config_set(&cfg, "train --resume", ckpt, n_sets, sets);
        snprintf(cfg.out_dir, sizeof cfg.out_dir, "%s", dir);
        config_path = ckpt;
    }
    free(sets);
    if (out) snprintf(cfg.out_dir, sizeof cfg.out_dir, "%s", out);
    if (dump) { /* never over its inputs or a run's files (issue 20) */
        const char *in[2] = {config_path, resume && strcmp(resume, "latest") ? resume : NULL};
        const char *lab[2] = {"config", "--resume"};
        pf_output_guard("train", "--dump-state", dump, in, lab, 2);
    }
    pf_train_opts o = {.label = config_path, .resume = resume, .dump = dump,
                       .allow_config_change = allow_change};
    return pf_train_run_opts(&cfg, &o);
}
