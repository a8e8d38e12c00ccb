#!/usr/bin/python3
"""proxflow against the PyTorch reference (bench/reference_torch.py) on the same configs,
same precision, same thread count, in one run; prints a table of ratios.

    bench/compare_torch.py [--bench build/proxflow_bench] [--threads T] [--ranks R]
                           [--blas-core NAME|native] [CONFIG[:ITERATIONS[:WARMUP]] ...]

Without configs: configs/bench_2d.ini, configs/bench_mlp512.ini, configs/mnist_w1w2.ini
with a few timed iterations each (a few minutes in all on 2 cores).  Run it from the
project directory (the MNIST configs name their data relative to it).

For each config it runs, one after the other, `proxflow_bench CONFIG --iterations N
--warmup W` (one rank, started as an MPI singleton without mpirun, so the measured process
is proxflow itself) and `reference_torch.py bench CONFIG --iterations N --warmup W
--threads T` (with --float when proxflow_bench was built in float), both with
OMP_NUM_THREADS = OPENBLAS_NUM_THREADS = T.  Time per iteration and samples per second
come from each program's own timer around the N timed iterations (with T > 1 torch runs
twice, with T BLAS threads and with 1, and the faster counts); peak memory is the
child's maximum resident set size as the kernel reports it (os.wait4 for torch;
proxflow_bench's own getrusage at the end of its timed iterations, before it measures the
GEMM peer's matrices, summed over its ranks).

--ranks R (R divides T): proxflow runs as R MPI ranks x T/R threads (`mpirun -n R
--bind-to none`), the way it uses several cores for small networks; torch still gets T
threads.  Its peak memory is then the sum over the ranks (proxflow_bench's maxrss_sum_mib),
compared with torch's one process.

--blas-core: both children run with OPENBLAS_CORETYPE=NAME (e.g. Haswell, SkylakeX), or
without it (native: OpenBLAS's own CPU detection); by default the environment's setting is
kept (this project's machines set OPENBLAS_CORETYPE=Haswell).  The kernel set both used is
printed.

Allocator: both children run with GLIBC_TUNABLES raising glibc's mmap and trim thresholds
(--plain-malloc: glibc's defaults).  proxflow allocates its buffers once; PyTorch allocates
its tensors on every call, and with glibc's defaults its float64 convolutions (slow_conv2d:
oneDNN has no float64 kernels) mmap and fault in a fresh im2col buffer of the whole batch
per call, which made the MNIST CNN ~2-15x slower here.  The tunable gives torch its
better figures, so the ratios do not flatter proxflow.
"""
import argparse
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib  # noqa: E402  (bench/benchlib.py: launching and reading both programs)

DEFAULT = ["configs/bench_2d.ini:20:3", "configs/bench_mlp512.ini:3:1", "configs/mnist_w1w2.ini:2:1"]
MALLOC_TUNED = benchlib.MALLOC_TUNED
# the targets for proxflow / torch time per iteration (memory: <= 1 everywhere)
TARGET = {"bench_2d": 0.2, "bench_mlp512": 0.6, "mnist_w1w2": 0.6}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("configs", nargs="*", default=DEFAULT, metavar="CONFIG[:ITERATIONS[:WARMUP]]")
    ap.add_argument("--bench", default="build/proxflow_bench", help="proxflow_bench binary")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--ranks", type=int, default=1, help="proxflow's MPI ranks (T/R threads each)")
    ap.add_argument("--blas-core", default=None, help="OPENBLAS_CORETYPE for both, or 'native'")
    ap.add_argument("--plain-malloc", action="store_true", help="glibc's default malloc thresholds")
    args = ap.parse_args()
    if args.ranks < 1 or args.threads % args.ranks:
        sys.exit("compare_torch: --ranks must divide --threads")
    env = benchlib.base_env(args.blas_core, args.plain_malloc)
    blas = env.get("OPENBLAS_CORETYPE", "CPU detection")
    tpr = args.threads // args.ranks
    rows = []
    print(f"load average before: {benchlib.loadavg()}", flush=True)
    for spec in args.configs:
        cfg, iters, warm = benchlib.split_spec(spec, 3, 1)
        pf, out = benchlib.run_proxflow(args.bench, cfg, iters, warm, args.ranks, tpr, env,
                                        who="compare_torch")
        # proxflow_bench's own getrusage at the end of the timed iterations, summed over its
        # ranks: wait4 would add the GEMM peer's matrices (measured after training), and of
        # mpirun it sees one process only
        pf_rss = float(pf["maxrss_sum_mib"]) * 1024
        # the roofline of the same run: proxflow's network kernels vs cblas GEMM on the same shapes
        for line in out.splitlines():
            if re.match(r"\s+(network GEMM|cblas GEMM|kernels / GEMM|GEMM peer)", line):
                print(f"  [{os.path.basename(cfg)}] {line.strip()}", flush=True)
        precision = pf.get("precision") or ("float" if re.search(r", float, \d+ rank", out) else "double")
        th, th_rss, _, _ = benchlib.run_torch(
            cfg, iters, warm, args.threads, precision, env, who="compare_torch",
            log=lambda m: print(f"  [{os.path.basename(cfg)}] {m}", flush=True))
        name = os.path.splitext(os.path.basename(cfg))[0]
        r = float(pf["s_per_it"]) / float(th["s_per_it"])
        if "floor_s" in pf:
            fl = float(pf["floor_s"])
            print(f"  [{name}] floor: proxflow's GEMM flops at the same run's square-GEMM peak "
                  f"({float(pf['peak_gflops']):.1f} GFLOP/s) take {fl:.4f} s/it = "
                  f"{fl / float(th['s_per_it']):.3f} x torch's time", flush=True)
        m = pf_rss / th_rss
        rows.append((name, precision, iters, float(pf["s_per_it"]), float(th["s_per_it"]), r,
                     float(pf["samples_per_s"]), float(th["samples_per_s"]), pf_rss / 1024,
                     th_rss / 1024, m, TARGET.get(name)))
        print(f"{name}: proxflow {float(pf['s_per_it']):.4f} s/it, torch {float(th['s_per_it']):.4f} "
              f"s/it (ratio {r:.3f}); peak RSS {pf_rss / 1024:.0f} / {th_rss / 1024:.0f} MiB", flush=True)
    print(f"load average after: {benchlib.loadavg()}")
    how = ("1 rank, singleton" if args.ranks == 1 else
           f"{args.ranks} ranks x {tpr} thread(s), mpirun; memory summed over ranks")
    print(f"\n{args.threads} thread(s) each; proxflow {args.bench} ({how}; OpenBLAS kernels "
          f"{pf.get('blas_core', '?')}), torch reference_torch.py; OPENBLAS_CORETYPE {blas}; malloc "
          f"{'glibc defaults' if args.plain_malloc else MALLOC_TUNED}; ratios are proxflow / torch\n")
    print("| config | precision | timed its | proxflow s/it | torch s/it | time ratio | target "
          "| proxflow samples/s | torch samples/s | proxflow peak RSS MiB | torch peak RSS MiB "
          "| memory ratio |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for (name, prec, it, ps, ts, r, pss, tss, prss, trss, m, tgt) in rows:
        t = "-" if tgt is None else f"<= {tgt} {'met' if r <= tgt else 'NOT met'}"
        print(f"| {name} | {prec} | {it} | {ps:.4f} | {ts:.4f} | {r:.3f} | {t} | {pss:.0f} | {tss:.0f} "
              f"| {prss:.0f} | {trss:.0f} | {m:.2f}{'' if m <= 1 else ' (above torch)'} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
