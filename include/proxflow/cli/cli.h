/* proxflow: the commands of the command line (SPEC §5). Each returns the exit status. */
#ifndef PROXFLOW_CLI_H
#define PROXFLOW_CLI_H

#include "proxflow/config/config.h"
#include "proxflow/flow/trainer.h"

int pf_cmd_train(int argc, char **argv);
int pf_cmd_sample(int argc, char **argv);
int pf_cmd_eval(int argc, char **argv);
int pf_cmd_info(int argc, char **argv);
int pf_cmd_sweep(int argc, char **argv);

/* The training run behind `train` and `sweep --index` (src/cli_train.c): cfg is the
 * loaded, validated config with output.dir set; config_label names it in the log;
 * resume is NULL, a checkpoint path or "latest"; dump is NULL or the --dump-state
 * file.  Sets up threads, refuses an existing run.h5 unless resuming, trains, writes
 * run.h5 and checkpoints, checkpoints and returns 0 on SIGTERM/SIGUSR1.  Returns the
 * exit status (0, or 3 for a non-finite loss or gradient). */
int pf_train_run(pf_config *cfg, const char *config_label, const char *resume, const char *dump);
/* The same with options: init_from (not NULL, and not resuming) starts from the
 * networks of that checkpoint with a fresh optimiser (a chain's warm start, SPEC §8);
 * on return finished says whether cfg.iterations were reached (0 after a signal stop
 * or an error) and train_seconds the wall time of the training loop of this call. */
typedef struct {
    const char *label, *resume, *dump, *init_from;
    int finished;
    double train_seconds;
} pf_train_opts;
int pf_train_run_opts(pf_config *cfg, pf_train_opts *opts);
/* `proxflow chain` (SPEC §8, src/cli_chain.c). */
int pf_cmd_chain(int argc, char **argv);
/* `proxflow sample --chain DIR ...`: fresh reference samples (or a stored pool's rows)
 * pushed through every finished link of a chain (src/cli_chain.c). */
int pf_chain_sample(int argc, char **argv);

/* Load CONFIG, apply --set overrides and validate; on error print (rank 0) and exit 2
 * on every rank. */
void pf_cli_load_config(pf_config *cfg, const char *path, int n_sets, char **sets);

/* Threads per rank: [train] threads, else OMP_NUM_THREADS, else cores / ranks on the
 * node.  Sets OpenMP's and OpenBLAS's thread counts; returns the count. */
int pf_cli_setup_threads(const pf_config *cfg);

/* ---- commands that start from a checkpoint (src/cli_common.c; sample, eval) ------- */

/* The resolved config a checkpoint was written with (its root attribute `config`,
 * SPEC §4), parsed and validated.  Rank 0 reads the file and broadcasts the text.
 * cmd prefixes error messages; any error exits 2 on every rank. */
void pf_cli_checkpoint_config(pf_config *cfg, const char *cmd, const char *ckpt);

/* Rebuild the trainer a checkpoint belongs to: its config, the thread setup of
 * pf_cli_setup_threads, pf_trainer_init, then pf_checkpoint_load (collective check).
 * Returns the threads per rank; any error exits 2 on every rank with the loader's
 * message. */
int pf_cli_trainer_from_checkpoint(pf_trainer *tr, const char *cmd, const char *ckpt);

/* Option parsing shared by the commands.  If argv[*k] is `name` or `name=VALUE`,
 * returns the value (advancing *k past a separate value) and NULL otherwise; a
 * missing value fails (exit 2) with the usage text. */
const char *pf_cli_option(int argc, char **argv, int *k, const char *name, const char *cmd,
                          const char *usage);
/* Whole-string integer in [lo, hi], else exit 2 naming the option and the usage. */
long long pf_cli_parse_int(const char *v, const char *opt, long long lo, long long hi,
                           const char *cmd, const char *usage);
/* Exit 2 on every rank with "cmd: msg (usage: ...)". */
void pf_cli_usage_error(const char *cmd, const char *usage, const char *fmt, ...)
    __attribute__((noreturn, format(printf, 3, 4)));

#endif
