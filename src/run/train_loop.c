/* proxflow: a training run (SPEC §1.7, §4): resume or warm start, the iteration loop with
 * its log, trajectory and checkpoint cadence, run.h5, and SIGTERM, SIGUSR1 and SIGINT
 * handled as checkpoint-and-exit at the next iteration boundary (src/run/signals.c). */
#include "proxflow/run/train_loop.h"
#include "proxflow/run/setup.h"
#include "proxflow/run/resume.h"
#include "proxflow/run/signals.h"
#include "proxflow/flow/steps.h"
#include "proxflow/io/checkpoint.h"
#include "proxflow/io/dump.h"
#include "proxflow/io/lock.h"
#include "proxflow/io/run_file.h"
#include "proxflow/io/history.h"
#include "proxflow/run/quality.h"
#include "proxflow/run/resume_config.h"
#include "run/progress.h"

#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Any rank signalled -> every rank stops at this iteration boundary, with the same
 * bits (so the same message and exit status). */
static int stop_requested(void)
{
    int s = pf_signals_pending();
    if (pf_nranks() > 1) MPI_Allreduce(MPI_IN_PLACE, &s, 1, MPI_INT, MPI_BOR, pf_comm());
    return s;
}

int pf_train_run(pf_config *cfg, const char *config_label, const char *resume, const char *dump)
{
    pf_train_opts o;
    memset(&o, 0, sizeof o);
    o.label = config_label;
    o.resume = resume;
    o.dump = dump;
    return pf_train_run_opts(cfg, &o);
}

/* Warm start (SPEC §8, chain.warm_start): parameters from a checkpoint of another run
 * with the same shapes; a fresh optimiser (moments and step count reset), iteration 0. */
static void warm_start(pf_trainer *tr, const char *ckpt, int quiet)
{
    char err[1024];
    int bad = pf_checkpoint_load(tr, ckpt, err, sizeof err);
    if (pf_nranks() > 1) MPI_Allreduce(MPI_IN_PLACE, &bad, 1, MPI_INT, MPI_MAX, pf_comm());
    if (bad) pf_fail_collective(2, "warm start: %s", err[0] ? err : "cannot load checkpoint");
    pf_params *ps[2] = {&tr->theta, &tr->psi};
    for (int k = 0; k < 2; k++) {
        memset(ps[k]->m, 0, sizeof(pf_real) * ps[k]->n);
        memset(ps[k]->v, 0, sizeof(pf_real) * ps[k]->n);
        ps[k]->t = 0;
    }
    tr->iteration = 0;
    if (!quiet) pf_log("warm start from the networks of %s\n", ckpt);
}

/* Issue 20: the run directory is locked (src/io/lock.c) after every check that may refuse
 * the run (so a refused run creates nothing) and before anything is written; what was
 * checked without the lock is checked again under it: a fresh run.h5 that appeared
 * meanwhile (two fresh runs started at once), a newer checkpoint for --resume latest. */
static void lock_and_recheck(pf_trainer *tr, const pf_config *cfg, const char *resume,
                             const char *run_path, char *loaded, size_t len)
{
    pf_lock_dir(cfg->out_dir, "train");
    int again = 0;
    char path[PF_STR + 64] = "";
    if (pf_rank() == 0) {
        struct stat sb;
        if (resume) pf_checkpoint_remove_tmp(cfg->out_dir); /* ours now: no job is writing them */
        if (!resume) again = stat(run_path, &sb) == 0;
        else if (!strcmp(resume, "latest") && pf_checkpoint_newest_name(cfg->out_dir) > tr->iteration &&
                 !pf_checkpoint_latest(cfg->out_dir, path, sizeof path)) {
            const char *b = strrchr(path, '/');
            if (strtol(b ? b + 6 : path + 5, NULL, 10) > tr->iteration) again = 2;
        }
    }
    if (pf_nranks() > 1) {
        MPI_Bcast(&again, 1, MPI_INT, 0, pf_comm());
        MPI_Bcast(path, (int)sizeof path, MPI_CHAR, 0, pf_comm());
    }
    if (again == 1)
        pf_fail_collective(2, "%s already exists (another job created it just now): continue it with "
                              "--resume latest, or choose another --out", run_path);
    if (again == 2) { /* a job that held the lock wrote a newer checkpoint: continue from it */
        char err[1024];
        int bad = pf_checkpoint_load(tr, path, err, sizeof err);
        if (pf_nranks() > 1) MPI_Allreduce(MPI_IN_PLACE, &bad, 1, MPI_INT, MPI_MAX, pf_comm());
        if (bad) pf_fail_collective(2, "%s", err[0] ? err : "cannot load checkpoint");
        snprintf(loaded, len, "%s", path);
    }
}

int pf_train_run_opts(pf_config *cfgp, pf_train_opts *opts)
{
    pf_config cfg = *cfgp; /* a copy: the caller's config stays as it was */
    const char *config_path = opts->label, *resume = opts->resume, *dump = opts->dump;
    opts->finished = 0;
    pf_signals_install(); /* before the data are read: a signal then waits for iteration 1 */
    const int threads = pf_setup_threads(&cfg);
    const int P = pf_nranks();
    pf_progress prog; /* bar, lines or nothing (PROXFLOW_PROGRESS, [output] progress) */
    pf_progress_init(&prog, &cfg);

    /* An existing run is continued only when asked (no silent overwrite). */
    char run_path[PF_STR + 16];
    snprintf(run_path, sizeof run_path, "%s/run.h5", cfg.out_dir);
    struct stat sb;
    if (!resume && !dump && stat(run_path, &sb) == 0)
        pf_fail_collective(2, "%s already exists: continue it with --resume latest, or choose "
                              "another --out", run_path);

    pf_trainer tr;
    pf_trainer_init(&tr, &cfg);
    if (!prog.quiet) {
        pf_log("proxflow %s: %s on %s: d = %d, mode %s, f %s, lambda %g, L %g, T %g, %d steps; "
               "batch %d on %d rank%s x %d thread%s (%s, OpenBLAS %s)\n",
               PF_VERSION, config_path, pf_data_name(tr.data), tr.d, pf_mode_name(cfg.mode),
               pf_fdiv_name(cfg.f), cfg.lambda, cfg.L, cfg.T, cfg.steps, cfg.batch, P, P > 1 ? "s" : "",
               threads, threads > 1 ? "s" : "", PF_REAL_NAME, PF_BLAS_FLAVOUR);
        pf_log("potential %zu parameters, discriminator %zu; output %s\n", tr.theta.n, tr.psi.n,
               cfg.out_dir);
    }
    if (pf_mode_penalty(cfg.mode) && !resume && !dump) {
        /* the reach of the optimal flow: L T / lambda (issue 17; docs/CONFIG.md "Choosing
         * L, T and lambda"); even with the progress off: a run that cannot succeed */
        const double dist = pf_reach_distance(&tr), reach = cfg.L * cfg.T / cfg.lambda;
        if (reach < dist && pf_rank() == 0)
            fprintf(stderr, "proxflow: warning: the flow moves a sample at most L T / lambda = %g "
                            "(|grad phi(., T)| = |grad gamma| <= L), but a reference sample is %.3g "
                            "from its nearest data sample on average (first batch): it cannot bring "
                            "rho_0 onto the data. Raise [lipschitz] L or [flow] T, or lower [flow] lambda "
                            "(docs/CONFIG.md, \"Choosing L, T and lambda\")\n", reach, dist);
    }

    char path[PF_STR + 64];
    if (resume && pf_resume_resolve(&cfg, resume, !dump, path, sizeof path, prog.quiet))
        resume = NULL; /* nothing to continue: a fresh start (src/run/resume.c) */
    /* what this session resumed from and what changed since (run.h5 /history) */
    char from[PF_STR + 64] = "", changes[4096] = "";
    int model_changed = 0;
    if (resume) {
        char err[1024];
        pf_resume_check(&cfg, path, opts->allow_config_change, changes, sizeof changes, &model_changed);
        int bad = pf_checkpoint_load(&tr, path, err, sizeof err);
        if (pf_nranks() > 1) MPI_Allreduce(MPI_IN_PLACE, &bad, 1, MPI_INT, MPI_MAX, pf_comm());
        if (bad) pf_fail_collective(2, "%s", err[0] ? err : "cannot load checkpoint");
        /* before the lock: a finished or refused resume touches no file of the run */
        if (!dump && pf_resume_check_target(path, tr.iteration, cfg.iterations)) {
            opts->finished = 1; /* finished before: nothing written, exit 0 */
            pf_trainer_free(&tr);
            return 0;
        }
        if (!dump) lock_and_recheck(&tr, &cfg, resume, run_path, path, sizeof path);
        snprintf(from, sizeof from, "%s", path);
        if (!prog.quiet) pf_log("resumed from %s at iteration %ld\n", path, tr.iteration);
    } else if (opts->init_from) {
        warm_start(&tr, opts->init_from, prog.quiet);
    }
    if (!dump && !resume) lock_and_recheck(&tr, &cfg, resume, run_path, NULL, 0);
    if (dump) {
        pf_dump_state(&tr, dump);
        pf_log("wrote %s\n", dump);
        pf_trainer_free(&tr);
        return 0;
    }

    pf_run *run = pf_run_open(&tr, cfg.out_dir, threads, resume != NULL);
    const int session = pf_history_begin(run, &tr, threads, resume ? from : NULL, changes, model_changed);
    const long it_start = tr.iteration; /* the summary counts this session only */
    char ckpt[PF_STR + 64];
    pf_diag dg;
    memset(&dg, 0, sizeof dg);
    const double t_start = pf_now();
    double t_log = t_start, spi = 0;
    long it_log = tr.iteration;
    int status = 0;
    long ckpt_at = -1; /* iteration of the last checkpoint written by this loop */
    if (tr.iteration == 0) {
        pf_diagnostics(&tr, &dg); /* the starting point of every curve */
        pf_quality_fill(&tr, &dg, cfg.eval_every > 0);
        dg.wall_s = 0;
        pf_run_log(run, &dg);
        if (cfg.trajectory_every > 0) pf_run_trajectories(run, &tr);
    }
    while (tr.iteration < cfg.iterations) {
        pf_status st = pf_train_iteration(&tr);
        if (st.bad) {
            pf_progress_break(&prog);
            pf_log("proxflow: error: %s; stopping. Diagnostics up to the last log are in %s; "
                   "the last checkpoint is intact.\n", st.msg, run_path);
            if (pf_rank() == 0) fprintf(stderr, "proxflow: error: %s\n", st.msg);
            status = 3;
            break;
        }
        const double now = pf_now();
        const long done = tr.iteration;
        const int quality = pf_quality_due(&cfg, done); /* such a record is always logged */
        if (done % cfg.log_every == 0 || done == cfg.iterations || quality) {
            spi = (now - t_log) / (double)(done - it_log);
            pf_diagnostics(&tr, &dg);
            pf_quality_fill(&tr, &dg, quality);
            dg.wall_s = now - t_start;
            dg.seconds_per_iteration = spi;
            dg.samples_per_second = cfg.batch / spi;
            pf_run_log(run, &dg);
            pf_progress_line(&prog, &tr, &dg, spi);
            t_log = pf_now(); /* diagnostics are not training time */
            it_log = done;
        } else if (prog.bar) {
            pf_progress_bar(&prog, &tr, done > it_log ? (now - t_log) / (double)(done - it_log) : spi, now);
        }
        if (cfg.trajectory_every > 0 && done % cfg.trajectory_every == 0) pf_run_trajectories(run, &tr);
        /* run.h5 first (pf_run_commit): it must hold every record up to the newest checkpoint */
        if (cfg.checkpoint_every > 0 && done % cfg.checkpoint_every == 0 && done < cfg.iterations) {
            pf_run_commit(run);
            pf_checkpoint_write(&tr, cfg.out_dir, ckpt, sizeof ckpt);
            ckpt_at = done;
        }
        int sig = stop_requested();
        if (sig) {
            if (ckpt_at != done) {
                pf_run_commit(run);
                pf_checkpoint_write(&tr, cfg.out_dir, ckpt, sizeof ckpt);
            }
            pf_progress_break(&prog);
            char names[64];
            const int code = pf_signals_exit_status(sig);
            pf_log("proxflow: %s received: checkpoint %s written at iteration %ld; resume with "
                   "--resume latest%s\n", pf_signals_names(sig, names, sizeof names), ckpt,
                   tr.iteration, code ? " (exit status 130: interrupted)" : "");
            pf_history_end(run, session, tr.iteration, pf_now() - t_start);
            pf_run_close(run);
            pf_unlock_dir(cfg.out_dir);
            pf_trainer_free(&tr);
            return code;
        }
    }
    if (status == 0) {
        pf_run_commit(run);
        pf_checkpoint_write(&tr, cfg.out_dir, ckpt, sizeof ckpt);
        opts->finished = 1;
        opts->train_seconds = pf_now() - t_start;
        /* the final flow's trajectories, unless the cadence just wrote them (issue 21) */
        if (cfg.trajectory_every <= 0 || tr.iteration % cfg.trajectory_every) pf_run_trajectories(run, &tr);
        pf_run_samples(run, &tr);
        const double wall = pf_now() - t_start;
        char at[64] = ""; /* a resumed session: where it began */
        if (it_start > 0) snprintf(at, sizeof at, " (iterations %ld..%ld)", it_start, tr.iteration);
        pf_log("proxflow: done: %ld iterations%s in %.1f s (%.4f s/it, %.0f samples/s) on %d rank%s x "
               "%d thread%s; divergence %.4e, KE %.4e, R_HJ %.3e, R_T %.3e, sliced W1 %.4g -> %s\n",
               tr.iteration - it_start, at, wall, spi, spi > 0 ? cfg.batch / spi : 0.0, P,
               P > 1 ? "s" : "", threads, threads > 1 ? "s" : "", dg.divergence, dg.kinetic,
               dg.hj_residual, dg.hj_terminal, dg.sliced_w1, run_path);
    }
    pf_history_end(run, session, tr.iteration, pf_now() - t_start);
    pf_run_close(run);
    pf_unlock_dir(cfg.out_dir);
    pf_trainer_free(&tr);
    return status;
}
