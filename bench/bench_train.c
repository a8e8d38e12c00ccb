/* proxflow_bench: where the time of a training iteration goes (issue: data
 * parallelism).  For a config: seconds per iteration split into trajectory simulation,
 * discriminator step, potential step and gradient all-reduce; samples per second; and
 * the GFLOP/s of the network GEMMs next to the rate cblas_dgemm reaches on the same
 * shapes, measured in the same run.
 *
 *   mpirun -n R proxflow_bench CONFIG.ini [--set section.key=value ...] [--iterations N]
 *          [--warmup W]
 */
#include "proxflow/cli.h"
#include "proxflow/train.h"

#include <cblas.h>
#include <mpi.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Rate (GFLOP/s) of the three GEMM forms a dense layer uses (forward A W^T, input
 * gradient G W, weight gradient G^T A) on this layer's shapes. */
static double gemm_rate(const pf_net *net, int rows, double *flops_out, double *secs_out)
{
    double flops = 0, secs = 0;
    for (int l = 0; l < net->n_layers; l++) {
        const pf_layer *L = &net->layers[l];
        if (L->kind != PF_LAYER_DENSE) continue;
        const int in = L->in_dim, out = L->out_dim;
        pf_real *A = calloc((size_t)rows * in, sizeof(pf_real)), *W = calloc((size_t)out * in, sizeof(pf_real));
        pf_real *Z = calloc((size_t)rows * out, sizeof(pf_real));
        pf_real *ZO = calloc((size_t)rows * out, sizeof(pf_real));
        pf_real *GA = calloc((size_t)rows * in, sizeof(pf_real)), *GW = calloc((size_t)out * in, sizeof(pf_real));
        /* inputs stay fixed (outputs go to separate buffers): no growth, no denormals */
        for (size_t k = 0; k < (size_t)rows * in; k++) A[k] = (pf_real)(k % 7) * 0.1;
        for (size_t k = 0; k < (size_t)out * in; k++) W[k] = (pf_real)(k % 5) * 0.1;
        for (size_t k = 0; k < (size_t)rows * out; k++) Z[k] = (pf_real)(k % 3) * 0.1;
        int reps = 0;
        double t0 = pf_now(), t;
        do {
            PF_GEMM(CblasRowMajor, CblasNoTrans, CblasTrans, rows, out, in, 1, A, in, W, in, 0, ZO, out);
            PF_GEMM(CblasRowMajor, CblasNoTrans, CblasNoTrans, rows, in, out, 1, Z, out, W, in, 0, GA, in);
            PF_GEMM(CblasRowMajor, CblasTrans, CblasNoTrans, out, in, rows, 1, Z, out, A, in, 1, GW, in);
            reps++;
            t = pf_now() - t0;
        } while (t < 0.05);
        /* weight each shape by its share of the network's flops (in * out per row), not
         * by the time spent measuring it */
        const double rate = 3 * 2.0 * rows * in * out * reps / t;
        flops += (double)in * out;
        secs += (double)in * out / rate;
        free(A);
        free(W);
        free(Z);
        free(GA);
        free(ZO);
        free(GW);
    }
    *flops_out = flops;
    *secs_out = secs;
    return flops / secs / 1e9; /* flop-weighted harmonic mean of the per-shape rates */
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    const char *cfgpath = NULL;
    char **sets = malloc(sizeof(char *) * (argc + 1));
    int nsets = 0, iters = 20, warm = 3;
    for (int k = 1; k < argc; k++) {
        if (!strcmp(argv[k], "--set") && k + 1 < argc) sets[nsets++] = argv[++k];
        else if (!strcmp(argv[k], "--iterations") && k + 1 < argc) iters = atoi(argv[++k]);
        else if (!strcmp(argv[k], "--warmup") && k + 1 < argc) warm = atoi(argv[++k]);
        else if (argv[k][0] != '-' && !cfgpath) cfgpath = argv[k];
        else pf_fail_collective(2, "bench: unknown argument '%s'", argv[k]);
    }
    if (!cfgpath) pf_fail_collective(2, "usage: proxflow_bench CONFIG.ini [--set k=v] [--iterations N]");
    pf_config cfg;
    pf_cli_load_config(&cfg, cfgpath, nsets, sets);
    const int threads = pf_cli_setup_threads(&cfg);
    pf_trainer tr;
    pf_trainer_init(&tr, &cfg);
    for (int k = 0; k < warm; k++) pf_train_iteration(&tr);
    tr.t_sim = tr.t_disc = tr.t_pot = tr.t_reduce = 0;
    tr.phi.flops = tr.gamma.flops = 0;
    MPI_Barrier(pf_comm());
    double t0 = pf_now();
    for (int k = 0; k < iters; k++) {
        pf_status s = pf_train_iteration(&tr);
        if (s.bad) pf_die("%s", s.msg);
    }
    double total = pf_now() - t0;
    /* per-rank figures; report the maximum over ranks (the slowest rank sets the pace) */
    double loc[6] = {total, tr.t_sim, tr.t_disc, tr.t_pot, tr.t_reduce, tr.phi.flops + tr.gamma.flops};
    double mx[6], sum[6];
    MPI_Allreduce(loc, mx, 6, MPI_DOUBLE, MPI_MAX, pf_comm());
    MPI_Allreduce(loc, sum, 6, MPI_DOUBLE, MPI_SUM, pf_comm());
    double gflops, gsecs;
    /* GEMM peer: the shapes of the local batch (n rows) for both networks */
    double r1 = gemm_rate(&tr.phi, tr.n_local, &gflops, &gsecs);
    double f2, s2, r2 = gemm_rate(&tr.gamma, 2 * tr.n_local, &f2, &s2);
    /* both networks, weighted by their flops in this run */
    double wphi = tr.phi.flops, wgam = tr.gamma.flops;
    double peer = (wphi + wgam) / (wphi / (gflops / gsecs) + wgam / (f2 / s2)) / 1e9, peer_all;
    (void)r1, (void)r2;
    MPI_Allreduce(&peer, &peer_all, 1, MPI_DOUBLE, MPI_SUM, pf_comm());
    const int P = pf_nranks();
    const double spi = mx[0] / iters;
    const double kern = sum[5] / (sum[1] + sum[2] + sum[3]) / 1e9 * P; /* all ranks */
    pf_log("config %s: d=%d batch=%d steps=%d n_disc=%d widths phi %d params gamma %d params, "
           "%s, %d rank(s) x %d thread(s)\n",
           cfgpath, tr.d, cfg.batch, cfg.steps, cfg.n_disc, (int)tr.theta.n, (int)tr.psi.n,
           PF_REAL_NAME, P, threads);
    pf_log("  seconds/iteration      %.5f   (%d iterations)\n", spi, iters);
    pf_log("    simulation           %.5f   %5.1f%%\n", mx[1] / iters, 100 * mx[1] / mx[0]);
    pf_log("    discriminator step   %.5f   %5.1f%%\n", mx[2] / iters, 100 * mx[2] / mx[0]);
    pf_log("    potential step       %.5f   %5.1f%%\n", mx[3] / iters, 100 * mx[3] / mx[0]);
    pf_log("    all-reduce (+wait)   %.5f   %5.1f%%\n", mx[4] / iters, 100 * mx[4] / mx[0]);
    pf_log("  samples/second         %.0f   (global batch / seconds per iteration)\n", cfg.batch / spi);
    pf_log("  network GEMM GFLOP/s   %.2f   (all ranks; %.3g GFLOP per iteration)\n", kern,
           sum[5] / iters / 1e9);
    pf_log("  cblas GEMM GFLOP/s     %.2f   (same shapes, same run, all ranks)\n", peer_all);
    pf_log("  kernels / GEMM rate    %.2f\n", kern / peer_all);
    pf_log("BENCH ranks=%d threads=%d s_per_it=%.6f sim=%.6f disc=%.6f pot=%.6f reduce=%.6f "
           "samples_per_s=%.1f gflops=%.3f gemm_gflops=%.3f ratio=%.3f\n",
           P, threads, spi, mx[1] / iters, mx[2] / iters, mx[3] / iters, mx[4] / iters,
           cfg.batch / spi, kern, peer_all, kern / peer_all);
    pf_trainer_free(&tr);
    free(sets);
    MPI_Finalize();
    return 0;
}
