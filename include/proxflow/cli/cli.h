/* proxflow: the commands of the command line (SPEC §5). Each returns the exit status. */
#ifndef PROXFLOW_CLI_CLI_H
#define PROXFLOW_CLI_CLI_H

#include "proxflow/flow/trainer.h"

#include <stddef.h>


int pf_cmd_train(int argc, char **argv);
int pf_cmd_sample(int argc, char **argv);
int pf_cmd_eval(int argc, char **argv);
int pf_cmd_info(int argc, char **argv);
int pf_cmd_sweep(int argc, char **argv);

int pf_cmd_chain(int argc, char **argv);

/* Option parsing shared by the commands.  If argv[*k] is `name` or `name=VALUE`,
 * returns the value (advancing *k past a separate value) and NULL otherwise; a
 * missing value fails (exit 2) with the usage text. */
const char *pf_cli_option(int argc, char **argv, int *k, const char *name, const char *cmd,
                          const char *usage);
/* Whole-string integer in [lo, hi], else exit 2 naming the option and the usage. */
long long pf_cli_parse_int(const char *v, const char *opt, long long lo, long long hi,
                           const char *cmd, const char *usage);
/* `proxflow CMD --help` (or -h anywhere among argv): prints help on rank 0's stdout
 * and returns 1, so that the command returns 0 on every rank without doing anything
 * else; 0 if no argument asks for help.  Each command's help text stands next to its
 * parser (src/cli/cmd_*.c); tests/test_help.sh checks that they name the same options. */
int pf_cli_help(int argc, char **argv, const char *help);
/* Refuse (exit 2, every rank) an option of spec given twice ("cmd: --n given twice ('5',
 * then '6')"), and an empty value of one ("--out ''").  spec lists the options: "--x="
 * takes a value, once; "--x=*" a value, repeatable (--set); "--x" a flag, once.  Both
 * "--x V" and "--x=V" count.  Called before the command's own parser. */
void pf_cli_check_once(int argc, char **argv, const char *cmd, const char *spec);
/* Exit 2 on every rank with "cmd: msg (usage: ...; more: proxflow cmd --help)". */
void pf_cli_usage_error(const char *cmd, const char *usage, const char *fmt, ...)
    __attribute__((noreturn, format(printf, 3, 4)));

/* The checkpoint a command's argument names (issue 21): a checkpoint file (as given),
 * a run directory or its checkpoints/ (the newest complete checkpoint) or RUN:latest.
 * A directory that is no run, or a run without a complete checkpoint, exits 2 on every
 * rank with a message that says so, "cmd: opt ARG: ...".  Writes path (len bytes) and
 * returns it.  Collective (rank 0 looks). */
const char *pf_cli_checkpoint(const char *arg, const char *opt, const char *cmd, char *path, size_t len);

#endif
