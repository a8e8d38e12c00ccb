/* `proxflow chain CONFIG.ini [--links K] [--set ...] [--out DIR] [--resume]` (SPEC §8):
 * the arguments, then the chain (src/run/chain.c). */
#include "proxflow/cli/cli.h"
#include "proxflow/run/chain.h"
#include "proxflow/run/setup.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const USAGE =
    "proxflow chain CONFIG.ini [--links K] [--set section.key=value ...] [--out DIR] [--resume]";
/* `proxflow chain --help`: every option the parser below accepts, one line each. */
static const char *const HELP =
    "usage: proxflow chain CONFIG.ini [--links K] [--set section.key=value ...] [--out DIR] [--resume]\n"
    "\n"
    "Trains a JKO chain of K flows (SPEC 8, docs/CHAIN.md): link k+1 starts from the\n"
    "samples link k pushed forward.  Writes DIR/chain.h5 and one run directory per link,\n"
    "DIR/link_KK/ (run.h5, checkpoints), and the pools between links in DIR/pools/.\n"
    "\n"
    "options:\n"
    "  --links K                the number of links, 1..99 (default: [chain] links)\n"
    "  --set section.key=value  change one config key after the file (repeatable)\n"
    "  --out DIR                the chain's directory (default: [output] dir of the config)\n"
    "  --resume                 continue a stopped chain: skip done links, resume the unfinished one\n"
    "  -h, --help               print this help and exit\n"
    "\n"
    "examples:\n"
    "  mpirun -n 2 proxflow chain configs/chain_2d.ini --links 4 --out runs/c4\n"
    "  mpirun -n 2 proxflow chain configs/chain_2d.ini --out runs/c4 --resume\n"
    "  proxflow sample --chain runs/c4 --n 10000 --out gen.h5\n";

int pf_cmd_chain(int argc, char **argv)
{
    if (pf_cli_help(argc, argv, HELP)) return 0;
    pf_cli_check_once(argc, argv, "chain", "--out= --links= --set=* --resume");
    const char *config_path = NULL, *out = NULL, *v;
    long long links = 0;
    int resume = 0, n_sets = 0;
    char **sets = pf_malloc(sizeof(char *) * (argc + 1));
    for (int k = 0; k < argc; k++) {
        if ((v = pf_cli_option(argc, argv, &k, "--set", "chain", USAGE))) sets[n_sets++] = (char *)v;
        else if ((v = pf_cli_option(argc, argv, &k, "--out", "chain", USAGE))) out = v;
        else if ((v = pf_cli_option(argc, argv, &k, "--links", "chain", USAGE)))
            links = pf_cli_parse_int(v, "--links", 1, 99, "chain", USAGE);
        else if (!strcmp(argv[k], "--resume")) {
            resume = 1;
            if (k + 1 < argc && !strcmp(argv[k + 1], "latest")) k++; /* as `train --resume latest` */
        } else if (argv[k][0] == '-') pf_cli_usage_error("chain", USAGE, "unknown option %s", argv[k]);
        else if (!config_path) config_path = argv[k];
        else pf_cli_usage_error("chain", USAGE, "more than one config file: %s", argv[k]);
    }
    if (!config_path) pf_cli_usage_error("chain", USAGE, "no config file given");
    pf_config cfg;
    pf_setup_config(&cfg, config_path, n_sets, sets);
    free(sets);
    if (out) {
        if (strlen(out) >= sizeof cfg.out_dir - 16) pf_cli_usage_error("chain", USAGE, "--out path too long");
        snprintf(cfg.out_dir, sizeof cfg.out_dir, "%s", out);
    }
    if (links > 0) cfg.links = (int)links;
    return pf_chain_run(&cfg, config_path, resume);
}
