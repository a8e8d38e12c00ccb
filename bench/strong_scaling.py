#!/usr/bin/python3
"""Strong scaling of proxflow: R ranks against 1 rank at the same global batch (the
config's [train] batch, split over the ranks), by wall clock in alternating pairs, or by
callgrind instruction counts per rank.

    bench/strong_scaling.py [--bench build/proxflow_bench] [--ranks R] [--pairs K]
                            [--threads T] [--iterations N] [--warmup W] [--set k=v ...]
                            [CONFIG[:ITERATIONS[:WARMUP]] ...]
    bench/strong_scaling.py --callgrind [--callgrind-ranks 1,2,4] [--iterations N]
                            [--top F] [--keep DIR] [--set k=v ...] [CONFIG ...]

Without configs: configs/mnist_w1w2.ini (the MNIST CNN, batch 200) and
configs/bench_mlp512.ini (width-512 MLPs on d = 784, batch 200).  Timed iterations and
warmup: CONFIG:ITERATIONS:WARMUP, else --iterations / --warmup, else 3 and 1 (callgrind:
1 and none).  Run it from the project directory (the MNIST configs name their data
relative to it).

Wall clock: the script alternates `proxflow_bench CONFIG` on 1 rank x T threads (an MPI
singleton) and on R ranks x T threads (mpirun -n R --bind-to none) K times, each pair
back to back, and reports per pair the efficiency t1 / (R tR) (1 = each rank's share of
the batch costs 1/R of the whole), the all-reduce and the wait-for-the-slowest-rank
shares of the R-rank iteration, then the medians over the pairs, which one disturbed pair
does not move.  On a shared machine the pairs still need several repetitions.

Callgrind (--callgrind): for each P of --callgrind-ranks, `mpirun -n P --oversubscribe
valgrind --tool=callgrind ... proxflow_bench CONFIG --iterations N --warmup 0 --no-peak`
(one thread per rank), and the instructions each rank executes inside
pf_train_iteration with the MPI calls toggled out (--collect-atstart=no
--toggle-collect=pf_train_iteration --toggle-collect='*MPI_Allreduce'
--toggle-collect='*MPI_Barrier'): set-up, data loading and the ranks' waiting (MPI spins
while it waits, and how long depends on the machine) are not counted, so the figure is
each rank's own work and repeats from run to run.  No warmup: it would be counted
(collection toggles on in every iteration).  Reported: per rank Ir per iteration, the
mean over ranks / the 1-rank count (1/P when all the work divides), times P, the fit
Ir(P) = a/P + b (b: work every rank repeats whatever P, e.g. Adam over all parameters),
and the top --top functions of rank 0 (callgrind_annotate, exclusive Ir) with their ratio
to 1 rank.  OpenBLAS's kernels are those valgrind's virtual CPU gets (it has no AVX-512):
OPENBLAS_CORETYPE=Haswell unless --blas-core says otherwise.
"""
import argparse
import os
import re
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib  # noqa: E402  (bench/benchlib.py)

DEFAULT = ["configs/mnist_w1w2.ini", "configs/bench_mlp512.ini"]
WHO = "strong_scaling"
TOGGLES = ["--collect-atstart=no", "--toggle-collect=pf_train_iteration",
           "--toggle-collect=*MPI_Allreduce", "--toggle-collect=*MPI_Barrier"]


def stem(cfg):
    return os.path.splitext(os.path.basename(cfg))[0]


def wall_clock(args, env):
    R, T = args.ranks, args.threads
    summary = []
    for spec in args.configs:
        cfg, iters, warm = benchlib.split_spec(spec, args.iterations or 3,
                                               1 if args.warmup is None else args.warmup)
        t1s, tRs, effs, shares, waits, batch = [], [], [], [], [], None
        for k in range(args.pairs):
            a, _ = benchlib.run_proxflow(args.bench, cfg, iters, warm, 1, T, env, args.set, who=WHO)
            m, _ = benchlib.run_proxflow(args.bench, cfg, iters, warm, R, T, env, args.set, who=WHO)
            batch = int(a["batch"])  # the resolved global batch, the same for both
            if int(m["batch"]) != batch:
                benchlib.fail(WHO, f"global batch differs: {batch} vs {m['batch']}")
            t1, tR = float(a["s_per_it"]), float(m["s_per_it"])
            eff = t1 / (R * tR)
            t1s.append(t1)
            tRs.append(tR)
            effs.append(eff)
            shares.append(float(m["reduce"]) / tR)
            waits.append(float(m.get("wait", 0)) / tR)
            print(f"{stem(cfg)} pair {k + 1}: 1 x {T} {t1:.4f} s/it, {R} x {T} {tR:.4f} s/it: "
                  f"efficiency {eff:.3f}, all-reduce {100 * shares[-1]:.1f} %, wait "
                  f"{100 * waits[-1]:.1f} %", flush=True)
        summary.append((stem(cfg), batch, iters, t1s, tRs, effs, shares, waits))
    print(f"\n{R} ranks x {T} thread(s) vs 1 x {T} at the same global batch; efficiency "
          f"t1 / ({R} tR); medians over the pairs; load average {' '.join(benchlib.loadavg())}\n")
    print("| config | global batch | rows per rank | timed its | pairs | 1-rank s/it median "
          f"| {R}-rank s/it median | efficiency (each pair) | median | all-reduce median | wait median |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for name, b, iters, t1s, tRs, effs, shares, waits in summary:
        print(f"| {name} | {b} | {b / R:g} | {iters} | {len(effs)} | {statistics.median(t1s):.4f} "
              f"| {statistics.median(tRs):.4f} | {', '.join(f'{e:.2f}' for e in effs)} "
              f"| {statistics.median(effs):.3f} | {100 * statistics.median(shares):.1f} % "
              f"| {100 * statistics.median(waits):.1f} % |")


def total_ir(path):
    """The Ir total of a callgrind output file (its 'summary:' or 'totals:' line)."""
    with open(path) as fh:
        for line in fh:
            if line.startswith(("summary:", "totals:")):
                return int(line.split()[1])
    benchlib.fail(WHO, f"{path}: no summary line")


def top_functions(path):
    """[(function, Ir)], the largest exclusive costs first (callgrind_annotate)."""
    out = subprocess.run(["callgrind_annotate", "--threshold=100", path], capture_output=True,
                         text=True, check=True).stdout
    rows = []
    for line in out.splitlines():
        m = re.match(r"\s*([\d,]+) \(\s*[\d.]+%\)\s+(\S.*?)\s*$", line)
        if not m or "PROGRAM TOTALS" in line:
            continue
        fn = m.group(2)
        obj = re.search(r"\[(.*)\]$", fn)
        fn = re.sub(r"\s*\[.*\]$", "", fn).split(":", 1)[-1]
        if obj:
            fn += f" ({os.path.basename(obj.group(1))})"
        rows.append((fn, int(m.group(1).replace(",", ""))))
    return rows


def fit(ps, irs):
    """Least squares Ir = a / P + b over the ranks counts: (a, b)."""
    xs = [1 / p for p in ps]
    mx, my = statistics.fmean(xs), statistics.fmean(irs)
    sxx = sum((x - mx) ** 2 for x in xs)
    if sxx == 0:
        return my, 0.0
    a = sum((x - mx) * (y - my) for x, y in zip(xs, irs)) / sxx
    return a, my - a * mx


def callgrind(args, env):
    if not shutil.which("valgrind") or not shutil.which("callgrind_annotate"):
        benchlib.fail(WHO, "--callgrind needs valgrind (Debian package valgrind)")
    ranks = sorted({int(v) for v in args.callgrind_ranks.split(",")})
    if not ranks or ranks[0] != 1:
        benchlib.fail(WHO, "--callgrind-ranks: positive integers, 1 among them (the reference)")
    env = benchlib.with_threads(env, 1)
    if args.blas_core != "native":
        env.setdefault("OPENBLAS_CORETYPE", "Haswell")
    outdir = args.keep or tempfile.mkdtemp(prefix="pf_strong_cg.")
    os.makedirs(outdir, exist_ok=True)
    try:
        for spec in args.configs:
            cfg, iters, _ = benchlib.split_spec(spec, args.iterations or 1, 0)
            counts, tops, batch, core = {}, {}, None, "?"
            for P in ranks:
                base = os.path.join(outdir, f"{stem(cfg)}.P{P}")
                for f in os.listdir(outdir):  # stale files of an earlier --keep run
                    if f.startswith(os.path.basename(base) + ".rank"):
                        os.remove(os.path.join(outdir, f))
                cmd = (["mpirun", "-n", str(P), "--oversubscribe", "--bind-to", "none"]
                       + [w for k in benchlib.FORWARD if k in env for w in ("-x", k)]
                       + ["valgrind", "--tool=callgrind", "--quiet",
                          f"--callgrind-out-file={base}.rank%q{{OMPI_COMM_WORLD_RANK}}"] + TOGGLES
                       + benchlib.proxflow_cmd(args.bench, cfg, iters, 0, args.set, ["--no-peak"]))
                print(f"$ {shlex.join(cmd)}", flush=True)
                out, _ = benchlib.run_measured(cmd, env, WHO)
                b = benchlib.fields(out, "BENCH", WHO)
                batch, core = int(b["batch"]), b.get("blas_core", "?")
                files = [f"{base}.rank{r}" for r in range(P)]
                counts[P] = [total_ir(f) / iters for f in files]
                tops[P] = top_functions(files[0])
                print(f"  {P} rank(s): Ir per iteration per rank "
                      + ", ".join(f"{c / 1e6:.2f}M" for c in counts[P]), flush=True)
            report(cfg, ranks, counts, tops, batch, core, iters, args.top)
    finally:
        if not args.keep:
            shutil.rmtree(outdir, ignore_errors=True)
        else:
            print(f"callgrind files kept in {outdir}")


def report(cfg, ranks, counts, tops, batch, core, iters, ntop):
    one = counts[1][0]  # the whole iteration's work on one rank
    print(f"\n{stem(cfg)}: global batch {batch}; instructions (Ir) inside pf_train_iteration "
          f"without MPI calls, per rank per iteration ({iters} iteration(s), no warmup, "
          f"OpenBLAS {core} kernels, 1 thread per rank, callgrind)\n")
    print("| ranks P | rows per rank | Ir per rank (each rank) | mean / 1-rank Ir | x P |")
    print("|---|---|---|---|---|")
    for P in ranks:
        mean = statistics.fmean(counts[P])
        print(f"| {P} | {batch / P:g} | {', '.join(f'{c / 1e6:.2f}M' for c in counts[P])} "
              f"| {mean / one:.4f} (1/P = {1 / P:.4f}) | {P * mean / one:.3f} |")
    if len(ranks) > 1:
        a, b = fit(ranks, [statistics.fmean(counts[P]) for P in ranks])
        print(f"\nfit Ir(P) = a/P + b: a = {a / 1e6:.2f}M, b = {b / 1e6:.2f}M: "
              f"{100 * b / (a + b):.2f} % of the 1-rank work is repeated on every rank")
    print(f"\ntop {ntop} functions at 1 rank (exclusive Ir per iteration), and the same function "
          "on rank 0 at P ranks (its ratio to 1 rank)\n")
    print("| function | " + " | ".join(f"P = {P}" for P in ranks) + " |")
    print("|---|" + "---|" * len(ranks))
    ref = dict(tops[1])
    for fn, ir in tops[1][:ntop]:
        cells = []
        for P in ranks:
            v = dict(tops[P]).get(fn)
            if P == 1:
                cells.append(f"{ir / iters / 1e6:.2f}M")
            elif v is None:
                cells.append("-")
            else:
                cells.append(f"{v / iters / 1e6:.2f}M ({v / ref[fn]:.3f})")
        print(f"| {fn} | " + " | ".join(cells) + " |")
    # where the part that does not divide sits: rank 0's excess over 1/P of the 1-rank
    # count at the largest P, per function
    P = ranks[-1]
    if P > 1:
        mine = dict(tops[P])
        excess = sorted(((mine.get(fn, 0) - ir / P, fn) for fn, ir in tops[1]), reverse=True)
        excess = [(e, fn) for e, fn in excess if e > 0][:ntop]
        print(f"\nlargest excess over 1/P at P = {P} (rank 0's Ir - 1-rank Ir / {P}, per iteration): "
              + "; ".join(f"{fn} {e / iters / 1e6:.2f}M" for e, fn in excess))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 epilog="\n\n".join(__doc__.split("\n\n")[1:]),
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("configs", nargs="*", default=DEFAULT, metavar="CONFIG[:ITERATIONS[:WARMUP]]")
    ap.add_argument("--bench", default="build/proxflow_bench")
    ap.add_argument("--ranks", type=int, default=2, help="wall clock: R ranks against 1")
    ap.add_argument("--pairs", type=int, default=5, help="wall clock: alternating pairs")
    ap.add_argument("--threads", type=int, default=1, help="wall clock: threads per rank")
    ap.add_argument("--iterations", type=int, help="timed iterations of every config (callgrind: 1)")
    ap.add_argument("--warmup", type=int, help="wall clock: warmup iterations of every config")
    ap.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE",
                    help="passed to every run (e.g. data.source=PATH)")
    ap.add_argument("--blas-core", help="OPENBLAS_CORETYPE, or 'native'")
    ap.add_argument("--callgrind", action="store_true", help="instruction counts per rank instead")
    ap.add_argument("--callgrind-ranks", default="1,2,4")
    ap.add_argument("--top", type=int, default=8, help="callgrind: functions listed")
    ap.add_argument("--keep", metavar="DIR", help="callgrind: keep the output files in DIR")
    args = ap.parse_args()
    if args.ranks < 1 or args.pairs < 1 or args.threads < 1:
        benchlib.fail(WHO, "--ranks, --pairs, --threads must be >= 1")
    print(f"$ {shlex.join(sys.argv)}", flush=True)
    env = benchlib.base_env(args.blas_core, plain_malloc=True)
    if args.callgrind:
        callgrind(args, env)
    else:
        wall_clock(args, env)
    return 0


if __name__ == "__main__":
    sys.exit(main())
