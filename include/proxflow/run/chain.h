/* proxflow: a chain of proximal flows, a JKO scheme (SPEC §8; docs/CHAIN.md). */
#ifndef PROXFLOW_RUN_CHAIN_H
#define PROXFLOW_RUN_CHAIN_H

#include "proxflow/config/config.h"

/* Train the cfg->links links of a chain in cfg->out_dir (validated config; output.dir
 * and [chain] links resolved), each from the pool the previous one stored; resume: go
 * on where a chain stopped.  config_path labels the log.  Returns the exit status. */
int pf_chain_run(const pf_config *cfg, const char *config_path, int resume);

/* `sample --chain`: N fresh reference samples (seed: their stream; or, from link
 * from > 1, the stored pool's rows) pushed through links from..K of the chain in dir,
 * written to out (/samples, /reference).  Returns the exit status. */
int pf_chain_sample_run(const char *dir, const char *out, long long N, long long seed,
                        long long from);

#endif
