/* proxflow: what `train` prints while it runs (rank 0): one line per log_every
 * iterations, and a progress bar in between on an interactive terminal.  Job logs and
 * files get plain lines without a single control character (docs/CLUSTER.md, "Job logs").
 *
 * isatty() alone is not enough: Open MPI's mpirun (4.1) hands every rank a
 * pseudo-terminal for its stdout even when mpirun's own output is a file, so the rank
 * sees a terminal although the bytes land in a log.  That pty is never the rank's
 * controlling terminal, and the process that relays it (mpirun, or orted on another
 * node) is the first ancestor whose stdout is something else: its stdout is where the
 * output really goes.  Seen with Open MPI 4.1.4 and Slurm 22.05 (tests/test_progress.sh,
 * tests/test_slurm.sh): under `srun --pty` the task's pty is its controlling terminal;
 * in a batch job nothing has a terminal. */
#include "run/progress.h"

#include <math.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#ifdef __linux__
#include <sys/sysmacros.h> /* makedev: /proc's tty_nr as a dev_t */
#endif
#include <unistd.h>

static const char *const mode_names[] = {"auto", "bar", "lines", "off"};

/* ---- auto: is stdout watched by a person? ------------------------------------------ */
#ifdef __linux__

/* Field `field` (1-based, after the command name) of /proc/PID/stat; -1 if unknown. */
static long proc_stat_field(long pid, int field)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%ld/stat", pid);
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    char *p = strrchr(buf, ')'); /* the command name may hold spaces and parentheses */
    if (!p) return -1;
    p++;
    /* fields after the name: 3 state, 4 ppid, 5 pgrp, 6 session, 7 tty_nr */
    for (int k = 3; k <= field; k++) {
        while (*p == ' ') p++;
        if (!*p) return -1;
        if (k == field) return strtol(p, NULL, 10);
        while (*p && *p != ' ') p++;
    }
    return -1;
}

/* The controlling terminal of this process as a device number (Linux: tty_nr of
 * /proc/self/stat, the kernel's encoding: major in bits 8-19, minor in 0-7 and 20-31);
 * 0 if it has none or it is unknown. */
static dev_t controlling_tty(void)
{
    long t = proc_stat_field((long)getpid(), 7);
    if (t <= 0) return 0;
    unsigned long u = (unsigned long)t;
    return makedev((unsigned)((u >> 8) & 0xfff), (unsigned)((u & 0xff) | ((u >> 12) & 0xfff00)));
}

/* stdout is a pty but not our controlling terminal: a launcher relays it.  Walk up the
 * parents past those that share the pty (a wrapper such as `mpirun sh -c ...`); the
 * first with another stdout is the relay, and the output is watched only if the relay
 * writes to the terminal that controls this process.  Unreadable -> not watched. */
static int relay_writes_to_terminal(const struct stat *out)
{
    const dev_t ctty = controlling_tty();
    if (ctty == 0) return 0; /* no terminal at all: mpirun > log from a batch job or cron */
    long pid = (long)getppid();
    for (int depth = 0; depth < 64 && pid > 1; depth++) {
        char path[64];
        struct stat sb;
        snprintf(path, sizeof path, "/proc/%ld/fd/1", pid);
        if (stat(path, &sb)) return 0; /* another user's process, no /proc, stdout closed */
        if (!(S_ISCHR(sb.st_mode) && sb.st_rdev == out->st_rdev))
            return S_ISCHR(sb.st_mode) && sb.st_rdev == ctty;
        pid = proc_stat_field(pid, 4);
    }
    return 0;
}
#else
static int relay_writes_to_terminal(const struct stat *out) /* no /proc to ask */
{
    (void)out;
    return 0;
}
#endif

int pf_progress_interactive(void)
{
    struct stat out;
    if (!isatty(STDOUT_FILENO) || fstat(STDOUT_FILENO, &out)) return 0; /* a file, a pipe */
    const char *term = getenv("TERM");
    if (term && !strcmp(term, "dumb")) return 0; /* cannot erase a line */
    if (tcgetsid(STDOUT_FILENO) != (pid_t)-1) return 1; /* our controlling terminal */
    /* A pty that is not our terminal, in a Slurm job that is not `srun --pty` (which sets
     * SLURM_PTY_PORT, and whose pty is the task's controlling terminal): mpirun in a
     * batch script, whose output is the job's log file.  (A shell of salloc on the
     * user's terminal running proxflow directly got its answer above.) */
    if (getenv("SLURM_JOB_ID") && !getenv("SLURM_PTY_PORT")) return 0;
    return relay_writes_to_terminal(&out);
}

/* ---- the mode ---------------------------------------------------------------------- */

void pf_progress_init(pf_progress *p, const pf_config *cfg)
{
    memset(p, 0, sizeof *p);
    p->t_bar = -INFINITY;
    const char *env = getenv("PROXFLOW_PROGRESS");
    int mode = (int)cfg->progress;
    if (pf_rank() == 0) {
        if (env && *env) { /* set and not empty: it wins over the config */
            mode = -1;
            for (int k = 0; k < 4; k++)
                if (!strcmp(env, mode_names[k])) mode = k;
        }
        if (mode == PF_PROGRESS_AUTO) mode = pf_progress_interactive() ? PF_PROGRESS_BAR : PF_PROGRESS_LINES;
    }
    /* rank 0 alone prints, and only it may see the variable (a remote node's ranks get
     * the environment the launcher passes): its decision is everyone's */
    if (pf_nranks() > 1) MPI_Bcast(&mode, 1, MPI_INT, 0, pf_comm());
    if (mode < 0)
        pf_fail_collective(2, "PROXFLOW_PROGRESS=%s: must be auto, bar, lines or off (docs/CLUSTER.md)",
                           env ? env : "?");
    p->bar = pf_rank() == 0 && mode == PF_PROGRESS_BAR;
    p->lines = mode != PF_PROGRESS_OFF;
    p->quiet = mode == PF_PROGRESS_OFF;
}

/* ---- output ------------------------------------------------------------------------ */

static void fmt_hms(double s, char *buf, size_t len)
{
    if (!isfinite(s) || s < 0) s = 0;
    long t = (long)(s + 0.5);
    snprintf(buf, len, "%ld:%02ld:%02ld", t / 3600, (t / 60) % 60, t % 60);
}

void pf_progress_line(pf_progress *p, const pf_trainer *tr, const pf_diag *dg, double spi)
{
    if (!p->lines) return;
    char eta[32];
    fmt_hms(spi * (double)(tr->cfg.iterations - tr->iteration), eta, sizeof eta);
    pf_log("%s[%*ld/%ld] loss_d %+.4e loss_g %+.4e div %+.4e KE %.4e R_HJ %.3e R_T %.3e | "
           "%.4f s/it ETA %s\n",
           p->on_screen ? "\r\033[K" : "", (int)snprintf(NULL, 0, "%ld", tr->cfg.iterations),
           tr->iteration, tr->cfg.iterations, dg->loss_d, dg->loss_g, dg->divergence,
           dg->kinetic, dg->hj_residual, dg->hj_terminal, spi, eta);
    p->on_screen = 0;
}

void pf_progress_bar(pf_progress *p, const pf_trainer *tr, double spi, double now)
{
    if (!p->bar || now - p->t_bar < 0.5) return;
    const int width = 30;
    double frac = tr->cfg.iterations ? (double)tr->iteration / tr->cfg.iterations : 1;
    int full = (int)(frac * width);
    char bar[64], eta[32];
    for (int k = 0; k < width; k++) bar[k] = k < full ? '#' : '.';
    bar[width] = 0;
    fmt_hms(spi * (double)(tr->cfg.iterations - tr->iteration), eta, sizeof eta);
    printf("\r\033[K[%s] %ld/%ld %.4f s/it ETA %s", bar, tr->iteration, tr->cfg.iterations, spi, eta);
    fflush(stdout);
    p->on_screen = 1;
    p->t_bar = now;
}

void pf_progress_break(pf_progress *p)
{
    if (!p->on_screen) return;
    fputc('\n', stdout);
    fflush(stdout);
    p->on_screen = 0;
}
