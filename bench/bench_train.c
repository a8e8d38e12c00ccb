/* proxflow_bench: where the time of a training iteration goes (issue: data
 * parallelism).  For a config: seconds per iteration split into trajectory simulation,
 * discriminator step, potential step and gradient all-reduce; samples per second; and
 * the GFLOP/s of the network GEMMs next to the rate cblas_dgemm reaches on the same
 * shapes (dense layers at the local batch, conv layers per sample), measured in the same
 * run; the peak resident memory (issue 7).
 *
 *   mpirun -n R proxflow_bench CONFIG.ini [--set section.key=value ...] [--iterations N]
 *          [--warmup W] [--no-peak]
 *
 * --no-peak skips the GEMM peer and the square-GEMM peak (their fields print nan): both
 * repeat GEMMs for a wall-clock time, which under valgrind would cost far more
 * instructions than the iterations themselves (bench/strong_scaling.py --callgrind).
 */
#include "proxflow/core/blas_info.h"
#include "proxflow/flow/steps.h"
#include "proxflow/run/setup.h"
#include "proxflow/nn/layers.h"
#include "proxflow/flow/trainer.h"

#include <cblas.h>
#include <math.h>
#include <mpi.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

/* Seconds of one C = op(A) op(B) (m x n x k), repeated for at least 50 ms.  Inputs stay
 * fixed (outputs go to separate buffers): no growth, no denormals. */
static double gemm_seconds(CBLAS_TRANSPOSE ta, CBLAS_TRANSPOSE tb, int m, int n, int k)
{
    const size_t sa = (size_t)m * k, sb = (size_t)k * n, sc = (size_t)m * n;
    pf_real *A = malloc(sizeof(pf_real) * sa), *B = malloc(sizeof(pf_real) * sb);
    pf_real *C = calloc(sc, sizeof(pf_real));
    for (size_t q = 0; q < sa; q++) A[q] = (pf_real)(q % 7) * (pf_real)0.1;
    for (size_t q = 0; q < sb; q++) B[q] = (pf_real)(q % 5) * (pf_real)0.1;
    const int lda = ta == CblasNoTrans ? k : m, ldb = tb == CblasNoTrans ? n : k;
    /* one call untimed: first-touch page faults of C and of BLAS's buffers */
    PF_GEMM(CblasRowMajor, ta, tb, m, n, k, 1, A, lda, B, ldb, 0, C, n);
    int reps = 0;
    double t0 = pf_now(), t;
    do {
        PF_GEMM(CblasRowMajor, ta, tb, m, n, k, 1, A, lda, B, ldb, 0, C, n);
        reps++;
        t = pf_now() - t0;
    } while (t < 0.05);
    free(A);
    free(B);
    free(C);
    return t / reps;
}

/* GFLOP/s of the three GEMMs of one layer, repeated for at least 50 ms:
 * dense (rows = local batch): forward A W^T, input gradient G W, weight gradient G^T A;
 * conv (one sample per call, as conv.c does): forward W col (Co x HW x K), input gradient
 * W^T G (K x HW x Co), weight gradient G col^T (Co x K x HW).  Inputs stay fixed (outputs
 * go to separate buffers): no growth, no denormals. */
static double layer_rate(const pf_layer *L, int rows)
{
    int m[3], n[3], k[3];
    CBLAS_TRANSPOSE ta[3], tb[3];
    if (L->kind == PF_LAYER_DENSE) {
        const int in = L->in_dim, out = L->out_dim;
        m[0] = rows, n[0] = out, k[0] = in, ta[0] = CblasNoTrans, tb[0] = CblasTrans;
        m[1] = rows, n[1] = in, k[1] = out, ta[1] = CblasNoTrans, tb[1] = CblasNoTrans;
        m[2] = out, n[2] = in, k[2] = rows, ta[2] = CblasTrans, tb[2] = CblasNoTrans;
    } else {
        const int Co = L->C_out, K = L->C_in * L->k * L->k, HW = L->H * L->W;
        m[0] = Co, n[0] = HW, k[0] = K, ta[0] = CblasNoTrans, tb[0] = CblasNoTrans;
        m[1] = K, n[1] = HW, k[1] = Co, ta[1] = CblasTrans, tb[1] = CblasNoTrans;
        m[2] = Co, n[2] = K, k[2] = HW, ta[2] = CblasNoTrans, tb[2] = CblasTrans;
    }
    double flops = 0, secs = 0;
    for (int f = 0; f < 3; f++) {
        flops += 2.0 * m[f] * n[f] * k[f];
        secs += gemm_seconds(ta[f], tb[f], m[f], n[f], k[f]);
    }
    return flops / secs / 1e9;
}

/* The network's GEMM peer: the per-layer rates, each layer weighted by its share of the
 * network's flops (a flop-weighted harmonic mean: the time the GEMMs alone would take),
 * for all GEMM layers (out[0]), the dense ones (out[1]) and the conv ones (out[2]; NAN
 * when there are none).  Each layer is measured once. */
static void gemm_rate(const pf_net *net, int rows, double out[3])
{
    double flops[3] = {0, 0, 0}, secs[3] = {0, 0, 0};
    for (int l = 0; l < net->n_layers; l++) {
        const pf_layer *L = &net->layers[l];
        if (L->kind != PF_LAYER_DENSE && L->kind != PF_LAYER_CONV) continue;
        const int kind = L->kind == PF_LAYER_DENSE ? 1 : 2;
        const double f = kind == 1 ? (double)L->in_dim * L->out_dim : pf_conv_flops(L, 1) / 2;
        const double t = f / layer_rate(L, rows);
        flops[0] += f, secs[0] += t;
        flops[kind] += f, secs[kind] += t;
    }
    for (int k = 0; k < 3; k++) out[k] = flops[k] > 0 ? flops[k] / secs[k] : NAN;
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    const char *cfgpath = NULL;
    char **sets = malloc(sizeof(char *) * (argc + 1));
    int nsets = 0, iters = 20, warm = 3, no_peak = 0;
    for (int k = 1; k < argc; k++) {
        if (!strcmp(argv[k], "--set") && k + 1 < argc) sets[nsets++] = argv[++k];
        else if (!strcmp(argv[k], "--iterations") && k + 1 < argc) iters = atoi(argv[++k]);
        else if (!strcmp(argv[k], "--warmup") && k + 1 < argc) warm = atoi(argv[++k]);
        else if (!strcmp(argv[k], "--no-peak")) no_peak = 1;
        else if (argv[k][0] != '-' && !cfgpath) cfgpath = argv[k];
        else pf_fail_collective(2, "bench: unknown argument '%s'", argv[k]);
    }
    if (!cfgpath)
        pf_fail_collective(2, "usage: proxflow_bench CONFIG.ini [--set k=v] [--iterations N] "
                              "[--warmup W] [--no-peak]");
    if (iters < 1 || warm < 0) pf_fail_collective(2, "bench: --iterations >= 1, --warmup >= 0");
    pf_config cfg;
    pf_setup_config(&cfg, cfgpath, nsets, sets);
    const int threads = pf_setup_threads(&cfg);
    pf_trainer tr;
    pf_trainer_init(&tr, &cfg);
    tr.split_wait = 1;
    for (int k = 0; k < warm; k++) pf_train_iteration(&tr);
    tr.t_sim = tr.t_disc = tr.t_pot = tr.t_reduce = tr.t_wait = 0;
    for (int t = 0; t < tr.n_lanes; t++) {
        pf_net *nets[2] = {tr.lanes[t].phi, tr.lanes[t].gamma};
        for (int q = 0; q < 2; q++) {
            nets[q]->flops = 0;
            memset(nets[q]->seconds, 0, sizeof nets[q]->seconds);
        }
    }
    MPI_Barrier(pf_comm());
    double t0 = pf_now();
    for (int k = 0; k < iters; k++) {
        pf_status s = pf_train_iteration(&tr);
        if (s.bad) pf_die("%s", s.msg);
    }
    double total = pf_now() - t0;
    /* per-rank figures; report the maximum over ranks (the slowest rank sets the pace) */
    double loc[7] = {total, tr.t_sim, tr.t_disc, tr.t_pot, tr.t_reduce, pf_trainer_flops(&tr),
                     tr.t_wait};
    double mx[7], sum[7];
    MPI_Allreduce(loc, mx, 7, MPI_DOUBLE, MPI_MAX, pf_comm());
    MPI_Allreduce(loc, sum, 7, MPI_DOUBLE, MPI_SUM, pf_comm());
    /* peak memory of the training (before the GEMM peer allocates its matrices) */
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    double rss = ru.ru_maxrss / 1024.0, rss_max, rss_sum; /* MiB (Linux reports KiB) */
    MPI_Allreduce(&rss, &rss_max, 1, MPI_DOUBLE, MPI_MAX, pf_comm());
    MPI_Allreduce(&rss, &rss_sum, 1, MPI_DOUBLE, MPI_SUM, pf_comm());
    /* GEMM peer: the shapes of one chunk (every network call is one chunk, SPEC §3) for
     * both networks, weighted by their flops in this run */
    double r1[3] = {NAN, NAN, NAN}, r2[3] = {NAN, NAN, NAN};
    if (!no_peak) {
        gemm_rate(&tr.phi, tr.ch.max_rows, r1);
        gemm_rate(&tr.gamma, tr.ch.max_rows, r2);
    }
    double wphi = 0, wgam = 0;
    for (int t = 0; t < tr.n_lanes; t++) wphi += tr.lanes[t].phi->flops, wgam += tr.lanes[t].gamma->flops;
    double peer = (wphi + wgam) / (wphi / r1[0] + wgam / r2[0]), peer_all;
    MPI_Allreduce(&peer, &peer_all, 1, MPI_DOUBLE, MPI_SUM, pf_comm());
    /* per layer kind (CNN configs): the conv GEMMs and the dense head on their own */
    const double d1 = r1[1], c1 = r1[2], d2 = r2[1], c2 = r2[2];
    const int P = pf_nranks();
    const double spi = mx[0] / iters;
    const double kern = sum[5] / (sum[1] + sum[2] + sum[3]) / 1e9 * P; /* all ranks */
    /* The machine's GEMM peak as this run may use it: a square 1024^3 GEMM on every rank at
     * once, with the run's threads.  The iteration's GEMM flops at that rate are a floor no
     * implementation of the same arithmetic goes below (issue 7). */
    MPI_Barrier(pf_comm());
    double peak = no_peak ? NAN : 2.0 * 1024 * 1024 * 1024 /
                                     gemm_seconds(CblasNoTrans, CblasNoTrans, 1024, 1024, 1024) / 1e9,
           peak_all;
    MPI_Allreduce(&peak, &peak_all, 1, MPI_DOUBLE, MPI_SUM, pf_comm());
    const double floor_s = sum[5] / iters / 1e9 / peak_all;
    pf_log("config %s: d=%d batch=%d steps=%d n_disc=%d widths phi %d params gamma %d params, "
           "%s, %d rank(s) x %d thread(s); %d chunks of <= %d rows, %d lane(s); discriminator batches of a chunk simulated %s; "
           "OpenBLAS %s kernels by %s\n",
           cfgpath, tr.d, cfg.batch, cfg.steps, cfg.n_disc, (int)tr.theta.n, (int)tr.psi.n,
           PF_REAL_NAME, P, threads, tr.ch.K, tr.ch.max_rows, tr.n_lanes, tr.sim_group ? "together" : "one by one", pf_blas_core(),
           pf_blas_core_source());
    pf_log("  seconds/iteration      %.5f   (%d iterations)\n", spi, iters);
    pf_log("    simulation           %.5f   %5.1f%%\n", mx[1] / iters, 100 * mx[1] / mx[0]);
    pf_log("    discriminator step   %.5f   %5.1f%%\n", mx[2] / iters, 100 * mx[2] / mx[0]);
    pf_log("    potential step       %.5f   %5.1f%%\n", mx[3] / iters, 100 * mx[3] / mx[0]);
    pf_log("    all-reduce           %.5f   %5.1f%%   (the two gradient MPI_Allreduce)\n", mx[4] / iters,
           100 * mx[4] / mx[0]);
    pf_log("    wait for slowest     %.5f   %5.1f%%   (barrier before them: load imbalance)\n",
           mx[6] / iters, 100 * mx[6] / mx[0]);
    pf_log("  samples/second         %.0f   (global batch / seconds per iteration)\n", cfg.batch / spi);
    pf_log("  network GEMM GFLOP/s   %.2f   (all ranks; %.3g GFLOP per iteration)\n", kern,
           sum[5] / iters / 1e9);
    pf_log("  cblas GEMM GFLOP/s     %.2f   (same shapes, same run, all ranks)\n", peer_all);
    pf_log("  kernels / GEMM rate    %.2f\n", kern / peer_all);
    pf_log("  cblas GEMM peak        %.2f GFLOP/s (1024^3 on every rank, all ranks): the GEMM flops "
           "alone take %.5f s/it at that rate (%.2f of the measured time)\n", peak_all, floor_s,
           floor_s / spi);
    pf_log("  GEMM peer per layer    phi: dense %.2f conv %.2f, gamma: dense %.2f conv %.2f GFLOP/s "
           "(one rank)\n", d1, c1, d2, c2);
    pf_log("  peak RSS               %.1f MiB (largest rank), %.1f MiB (all ranks)\n", rss_max, rss_sum);
    pf_log("BENCH ranks=%d threads=%d batch=%d s_per_it=%.6f sim=%.6f disc=%.6f pot=%.6f reduce=%.6f "
           "wait=%.6f samples_per_s=%.1f gflops=%.3f gemm_gflops=%.3f ratio=%.3f maxrss_mib=%.1f "
           "maxrss_sum_mib=%.1f peak_gflops=%.3f floor_s=%.6f gflop_per_it=%.4f precision=%s "
           "blas_core=%s\n",
           P, threads, cfg.batch, spi, mx[1] / iters, mx[2] / iters, mx[3] / iters, mx[4] / iters, mx[6] / iters,
           cfg.batch / spi, kern, peer_all, kern / peer_all, rss_max, rss_sum, peak_all, floor_s,
           sum[5] / iters / 1e9, PF_REAL_NAME, pf_blas_core());
    /* per-layer split (rank 0; summed over its lanes, forward and backward): where the
     * iteration's network time goes */
    static const char *const kinds[] = {"dense", "act", "conv", "pool"};
    for (int q = 0; q < 2; q++) {
        const pf_net *net = q == 0 ? &tr.phi : &tr.gamma;
        double tot = 0, per[PF_MAX_LAYERS] = {0};
        for (int l = 0; l < net->n_layers; l++) {
            for (int t = 0; t < tr.n_lanes; t++)
                per[l] += (q == 0 ? tr.lanes[t].phi : tr.lanes[t].gamma)->seconds[l];
            tot += per[l];
        }
        pf_log("  %s layers (s/it, share of the iteration's thread time; rank 0)\n", q == 0 ? "phi" : "gamma");
        for (int l = 0; l < net->n_layers; l++) {
            const pf_layer *L = &net->layers[l];
            pf_log("    %2d %-5s %5d -> %-5d %.5f  %5.1f%%\n", l, kinds[L->kind], L->in_dim, L->out_dim,
                   per[l] / iters, 100 * per[l] / (loc[0] * tr.n_lanes));
        }
        pf_log("    all            %.5f  %5.1f%%\n", tot / iters, 100 * tot / (loc[0] * tr.n_lanes));
    }
    pf_trainer_free(&tr);
    free(sets);
    MPI_Finalize();
    return 0;
}
