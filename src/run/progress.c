/* proxflow: what `train` prints while it runs (rank 0): one line per log_every
 * iterations, and a progress bar in between on a terminal. */
#include "run/progress.h"

#include <math.h>
#include <stdio.h>

static void fmt_hms(double s, char *buf, size_t len)
{
    if (!isfinite(s) || s < 0) s = 0;
    long t = (long)(s + 0.5);
    snprintf(buf, len, "%ld:%02ld:%02ld", t / 3600, (t / 60) % 60, t % 60);
}

void pf_progress_line(const pf_trainer *tr, const pf_diag *dg, double spi, int tty)
{
    char eta[32];
    fmt_hms(spi * (double)(tr->cfg.iterations - tr->iteration), eta, sizeof eta);
    pf_log("%s[%*ld/%ld] loss_d %+.4e loss_g %+.4e div %+.4e KE %.4e R_HJ %.3e R_T %.3e | "
           "%.4f s/it ETA %s\n",
           tty ? "\r\033[K" : "", (int)snprintf(NULL, 0, "%ld", tr->cfg.iterations),
           tr->iteration, tr->cfg.iterations, dg->loss_d, dg->loss_g, dg->divergence,
           dg->kinetic, dg->hj_residual, dg->hj_terminal, spi, eta);
}

void pf_progress_bar(const pf_trainer *tr, double spi)
{
    const int width = 30;
    double frac = tr->cfg.iterations ? (double)tr->iteration / tr->cfg.iterations : 1;
    int full = (int)(frac * width);
    char bar[64], eta[32];
    for (int k = 0; k < width; k++) bar[k] = k < full ? '#' : '.';
    bar[width] = 0;
    fmt_hms(spi * (double)(tr->cfg.iterations - tr->iteration), eta, sizeof eta);
    printf("\r\033[K[%s] %ld/%ld %.4f s/it ETA %s", bar, tr->iteration, tr->cfg.iterations, spi, eta);
    fflush(stdout);
}

