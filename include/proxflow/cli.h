/* proxflow: the commands of the command line (SPEC §5). Each returns the exit status. */
#ifndef PROXFLOW_CLI_H
#define PROXFLOW_CLI_H

#include "proxflow/config.h"

int pf_cmd_train(int argc, char **argv);
int pf_cmd_sample(int argc, char **argv);
int pf_cmd_eval(int argc, char **argv);
int pf_cmd_info(int argc, char **argv);
int pf_cmd_sweep(int argc, char **argv);

/* Load CONFIG, apply --set overrides and validate; on error print (rank 0) and exit 2
 * on every rank. */
void pf_cli_load_config(pf_config *cfg, const char *path, int n_sets, char **sets);

/* Threads per rank: [train] threads, else OMP_NUM_THREADS, else cores / ranks on the
 * node.  Sets OpenMP's and OpenBLAS's thread counts; returns the count. */
int pf_cli_setup_threads(const pf_config *cfg);

#endif
