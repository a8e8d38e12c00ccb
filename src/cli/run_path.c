/* proxflow: what `sample`, `eval` and `info` accept where a checkpoint is expected
 * (issue 21): a checkpoint file, a run directory (its newest complete checkpoint) or
 * RUN:latest.  Rank 0 looks, every rank gets the same answer. */
#include "proxflow/cli/cli.h"
#include "proxflow/io/checkpoint.h"
#include "proxflow/run/setup.h"

#include <errno.h>
#include <mpi.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

static int is_dir(const char *p)
{
    struct stat sb;
    return stat(p, &sb) == 0 && S_ISDIR(sb.st_mode);
}

/* Rank 0: the checkpoint arg names, into path; 0, or 1 with a message in err. */
static int resolve(const char *arg, const char *opt, char *path, size_t len, char *err, size_t errlen)
{
    char dir[PF_STR + 64];
    const size_t n = strlen(arg);
    const char *tail = ":latest";
    int latest = n > strlen(tail) && !strcmp(arg + n - strlen(tail), tail);
    if (latest) {
        snprintf(dir, sizeof dir, "%.*s", (int)(n - strlen(tail)), arg);
    } else if (is_dir(arg)) {
        snprintf(dir, sizeof dir, "%s", arg);
        /* a run's checkpoints/ directory itself: its run */
        char sub[PF_STR + 80];
        snprintf(sub, sizeof sub, "%s/checkpoints", dir);
        const char *base = strrchr(dir, '/');
        base = base ? base + 1 : dir;
        if (!is_dir(sub) && !strcmp(base, "checkpoints")) snprintf(dir + (base - dir), 4, ".");
    } else {
        snprintf(path, len, "%s", arg); /* a file: the checkpoint code reports its problems */
        return 0;
    }
    char sub[PF_STR + 80];
    snprintf(sub, sizeof sub, "%s/checkpoints", dir);
    if (!is_dir(dir)) {
        snprintf(err, errlen, "%s %s: %s is not a run directory (%s)", opt, arg, dir,
                 errno == ENOENT ? "it does not exist" : "not a directory");
        return 1;
    }
    if (!is_dir(sub)) {
        snprintf(err, errlen, "%s %s: %s is a directory, not a checkpoint file, and not a run "
                              "directory (it has no checkpoints/): give a checkpoint "
                              "RUN/checkpoints/ckpt_NNNNNNNN.h5, a run directory, or RUN:latest",
                 opt, arg, dir);
        return 1;
    }
    if (pf_checkpoint_latest(dir, path, len)) {
        snprintf(err, errlen, "%s %s: no complete checkpoint in %s", opt, arg, sub);
        return 1;
    }
    return 0;
}

const char *pf_cli_checkpoint(const char *arg, const char *opt, const char *cmd, char *path, size_t len)
{
    char err[3 * PF_STR];
    int bad = 0;
    if (pf_rank() == 0) bad = resolve(arg, opt, path, len, err, sizeof err);
    MPI_Bcast(&bad, 1, MPI_INT, 0, pf_comm());
    if (bad) pf_fail_collective(2, "%s: %s", cmd, err);
    MPI_Bcast(path, (int)len, MPI_CHAR, 0, pf_comm());
    return path;
}
