/* `proxflow train CONFIG.ini [--set ...] [--resume CKPT|latest] [--out DIR]
 * [--dump-state FILE.h5]` (SPEC §5): the arguments, then the run (src/run/train_loop.c). */
#include "proxflow/cli/cli.h"
#include "proxflow/run/setup.h"
#include "proxflow/run/train_loop.h"

#include <stdlib.h>
#include <string.h>

static void usage_error(const char *msg, const char *arg)
{
    pf_fail_collective(2, "train: %s%s%s (usage: proxflow train CONFIG.ini [--set section.key=value ...] "
                          "[--resume CKPT|latest] [--out DIR])",
                       msg, arg ? " " : "", arg ? arg : "");
}

int pf_cmd_train(int argc, char **argv)
{
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
            pf_fail_collective(2, "train: unknown option '%s' (see proxflow --help)", a);
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
    return pf_train_run(&cfg, config_path, resume, dump);
}
