/* proxflow: resolving --resume (include/proxflow/run/resume.h). */
#include "proxflow/run/resume.h"
#include "proxflow/run/resume_config.h"
#include "proxflow/io/checkpoint.h"

#include <dirent.h>
#include <errno.h>
#include <mpi.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

/* Any ckpt_* name in DIR/checkpoints, intact or not: a run with one of those has
 * reached a checkpoint once and is never restarted silently. */
static int has_checkpoint_files(const char *out_dir)
{
    char dir[PF_STR + 32];
    snprintf(dir, sizeof dir, "%s/checkpoints", out_dir);
    DIR *D = opendir(dir);
    if (!D) return 0;
    int found = 0;
    struct dirent *e;
    while (!found && (e = readdir(D))) found = !strncmp(e->d_name, "ckpt_", 5);
    closedir(D);
    return found;
}

int pf_resume_resolve(const pf_config *cfg, const char *resume, int may_restart, char *path,
                      size_t len, int quiet)
{
    if (strcmp(resume, "latest")) { /* a checkpoint, or RUN_DIR's newest: never a restart */
        pf_resume_path(cfg->out_dir, resume, path, len);
        return 0;
    }
    if (!pf_checkpoint_latest(cfg->out_dir, path, len)) return 0;

    /* rank 0 decides and moves run.h5 aside: the others would race its rename */
    char run[PF_STR + 16], aside[PF_STR + 64] = "";
    snprintf(run, sizeof run, "%s/run.h5", cfg->out_dir);
    int restart = 0;
    if (pf_rank() == 0) {
        struct stat sb;
        if (may_restart && stat(run, &sb) == 0 && S_ISREG(sb.st_mode) &&
            !has_checkpoint_files(cfg->out_dir)) {
            char stamp[32];
            time_t t = time(NULL);
            struct tm tm;
            gmtime_r(&t, &tm);
            strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm);
            snprintf(aside, sizeof aside, "%s.restarted-%s", run, stamp);
            for (int k = 2; k < 100 && stat(aside, &sb) == 0; k++) /* two restarts in a second */
                snprintf(aside, sizeof aside, "%s.restarted-%s-%d", run, stamp, k);
            restart = rename(run, aside) == 0 ? 1 : -errno;
        }
    }
    if (pf_nranks() > 1) MPI_Bcast(&restart, 1, MPI_INT, 0, pf_comm());
    if (restart < 0)
        pf_fail_collective(2, "--resume latest: %s has no checkpoint yet, and moving it aside to "
                              "start again failed: %s", run, strerror(-restart));
    if (!restart)
        pf_fail_collective(2, "--resume latest: no complete checkpoint in %s/checkpoints",
                           cfg->out_dir);
    if (!quiet)
        pf_log("--resume latest: %s has no checkpoint yet (the run stopped before its first one): "
               "starting again from iteration 0; the old file is kept as %s\n", run, aside);
    return 1;
}

int pf_resume_check_target(const char *path, long it, long target)
{
    if (target > it) return 0;
    if (target < it)
        pf_fail_collective(2, "%s: already at iteration %ld of %ld; raise [train] iterations "
                              "(e.g. --set train.iterations=%ld) to continue this run",
                           path, it, target, 2 * it);
    pf_log("proxflow: %s is at iteration %ld of %ld: the run is finished, nothing to do (raise "
           "[train] iterations to train further); no file was changed\n", path, it, target);
    return 1;
}
