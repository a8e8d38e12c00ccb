/* proxflow: the stop-request signal handlers (include/proxflow/run/signals.h).
 * signal() under -std=c11 has System V semantics (the handler is reset to the default
 * after the first delivery), so a second SIGTERM killed the run: sigaction keeps the
 * handlers installed.  The handlers only set flags, or for a second SIGINT write(2) and
 * _exit, which are async-signal-safe. */
#define _XOPEN_SOURCE 700 /* SA_RESTART */
#include "proxflow/run/signals.h"
#include "proxflow/core/common.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t g_bits = 0, g_ints = 0, g_rank0 = 1;

static void say(const char *s)
{
    if (!g_rank0) return;
    ssize_t r = write(STDERR_FILENO, s, strlen(s));
    (void)r; /* nothing to do about a failed write in a handler */
}

static void on_signal(int sig)
{
    if (sig == SIGINT) {
        if (g_ints) {
            say("\nproxflow: second SIGINT: exiting now (status 130); the checkpoints written "
                "before are intact (resume with --resume latest)\n");
            _exit(130);
        }
        g_ints = 1;
        g_bits |= PF_STOP_INT;
        say("\nproxflow: SIGINT: a checkpoint at the next iteration boundary, then exit; "
            "press Ctrl-C again to exit at once\n");
    } else {
        g_bits |= sig == SIGTERM ? PF_STOP_TERM : PF_STOP_USR1;
    }
}

void pf_signals_install(void)
{
    g_rank0 = pf_rank() == 0;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    /* the three block each other while a handler runs, so g_bits |= ... is not torn */
    sigemptyset(&sa.sa_mask);
    sigaddset(&sa.sa_mask, SIGTERM);
    sigaddset(&sa.sa_mask, SIGUSR1);
    sigaddset(&sa.sa_mask, SIGINT);
    /* SA_RESTART: a read or write of a file interrupted by the signal goes on instead of
     * failing with EINTR (HDF5 and the data readers do not retry) */
    sa.sa_flags = SA_RESTART;
    const int sigs[] = {SIGTERM, SIGUSR1, SIGINT};
    for (size_t k = 0; k < sizeof sigs / sizeof sigs[0]; k++)
        if (sigaction(sigs[k], &sa, NULL))
            pf_die("cannot install the handler of signal %d", sigs[k]);
}

int pf_signals_pending(void) { return g_bits; }

const char *pf_signals_names(int bits, char *buf, size_t n)
{
    const char *names[] = {"SIGTERM", "SIGUSR1", "SIGINT"};
    size_t m = 0;
    int count = 0, total = 0;
    for (int k = 0; k < 3; k++) total += (bits >> k) & 1;
    if (n) buf[0] = '\0';
    for (int k = 0; k < 3 && n; k++) {
        if (!((bits >> k) & 1)) continue;
        count++;
        const char *sep = count == 1 ? "" : count == total ? " and " : ", ";
        int w = snprintf(buf + m, n - m, "%s%s", sep, names[k]);
        if (w < 0 || (size_t)w >= n - m) break;
        m += (size_t)w;
    }
    return buf;
}

int pf_signals_exit_status(int bits)
{
    return bits == PF_STOP_INT ? 130 : 0;
}
