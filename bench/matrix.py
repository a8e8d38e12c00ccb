#!/usr/bin/python3
"""The benchmark matrix (issue 15): proxflow against the PyTorch reference on every
configuration, printed by one command.

    bench/matrix.py [--bench build/proxflow_bench] [--bench-float build-float/proxflow_bench]
                    [--configs NAME[:ITS[:WARM]],...] [--activations relu,softplus,tanh,silu]
                    [--precisions double,float] [--layouts 1x1,2x1]
                    [--iterations N] [--warmup W] [--mnist IDX.gz] [--blas-core NAME|native]
                    [--plain-malloc] [--markdown [FILE]] [--json [FILE]] [--dry-run]

Run it from the project directory (the MNIST configs name their data relative to it).
The matrix is configs x activations x precisions x layouts:

  configs      2d      configs/bench_2d.ini     2-D 8 Gaussians, MLPs 64,64,64, batch 512
               mlp8    configs/bench_mlp8.ini   2-sphere in R^8, MLPs 64,64,64, batch 256
               mlp512  configs/bench_mlp512.ini MNIST d = 784, MLPs 512,512,512, batch 200
               cnn     configs/mnist_w1w2.ini   MNIST, the paper's CNNs, batch 200
  activations  the MLP configs run once per activation, both networks set to it
               (--set potential.activation=A --set discriminator.activation=A, for both
               programs); the CNN runs once, as configured (ReLU), whatever --activations
  precisions   double: the --bench binary, float: the --bench-float binary (a
               -DPROXFLOW_FLOAT=ON build); torch runs in the same precision
  layouts      RxT: proxflow as R MPI ranks x T threads (R = 1: an MPI singleton, else
               mpirun -n R --bind-to none); torch gets R*T threads, the better of
               OPENBLAS_NUM_THREADS = R*T and = 1 when R*T > 1 (as compare_torch.py)

Each cell: proxflow s/it and torch s/it (each program's own timer around the timed
iterations), their ratio; proxflow's time over its same-run GEMM floor (the iteration's
GEMM flops at the square-GEMM rate proxflow_bench measures on every rank at once right
after: >= 1, and 1 would be all GEMMs at peak and nothing else); peak RSS of proxflow
(summed over its ranks, taken before the GEMM measurements) over torch's one process.
Timed iterations and warmup per config: NAME:ITS:WARM in --configs, else --iterations /
--warmup, else these defaults: 2d, mlp8 20:3, mlp512 3:1, cnn 2:1.

Output: progress on stderr; on stdout the exact command line, the machine (CPU model
from /proc/cpuinfo, OpenBLAS kernels proxflow_bench reports as blas_core and the
environment's OPENBLAS_CORETYPE, torch version, git commit, load average) and the table
as Markdown (default, or --markdown FILE) and/or JSON (--json [FILE]; '-' = stdout).
"""
import argparse
import datetime
import json
import os
import shlex
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib  # noqa: E402  (bench/benchlib.py: launching and reading both programs)

# name, config file, MLP (the activation axis applies), MNIST data, default its, warmup
CONFIGS = [
    ("2d", "configs/bench_2d.ini", True, False, 20, 3),
    ("mlp8", "configs/bench_mlp8.ini", True, False, 20, 3),
    ("mlp512", "configs/bench_mlp512.ini", True, True, 3, 1),
    ("cnn", "configs/mnist_w1w2.ini", False, True, 2, 1),
]
ACTIVATIONS = ["relu", "softplus", "tanh", "silu"]
PRECISIONS = ["double", "float"]
LAYOUTS = ["1x1", "2x1"]
WHO = "matrix"


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def csv(s):
    return [v.strip() for v in s.split(",") if v.strip()]


def pick_configs(specs, iters, warm):
    """--configs entries -> [(name, path, mlp, mnist, its, warm)]; a name is the short
    name or the config file's stem (bench_2d, mnist_w1w2, ...)."""
    out = []
    for spec in specs:
        name, its, wu = benchlib.split_spec(spec, None, None)
        row = [c for c in CONFIGS if name in (c[0], os.path.splitext(os.path.basename(c[1]))[0])]
        if not row:
            benchlib.fail(WHO, f"unknown config '{name}' (one of {', '.join(c[0] for c in CONFIGS)})")
        n, path, mlp, mnist, d_its, d_warm = row[0]
        its = its if its is not None else iters if iters is not None else d_its
        wu = wu if wu is not None else warm if warm is not None else d_warm
        out.append((n, path, mlp, mnist, its, wu))
    return out


def parse_layout(s):
    try:
        r, t = (int(v) for v in s.lower().split("x"))
    except ValueError:
        benchlib.fail(WHO, f"layout '{s}' is not RANKSxTHREADS (e.g. 2x1)")
    if r < 1 or t < 1:
        benchlib.fail(WHO, f"layout '{s}': ranks and threads must be >= 1")
    return r, t


def git_commit():
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                              text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True).stdout.strip()
        return head + (" (modified)" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "?"


def fmt(v, spec):
    return "-" if v is None or v != v else format(v, spec)  # None or nan


def markdown(meta, cells):
    m = meta["machine"]
    cores = ", ".join(sorted(meta["blas_core"])) or "?"
    env_core = m["OPENBLAS_CORETYPE"] or "unset: OpenBLAS's CPU detection"
    lines = [
        f"`{meta['command']}` (from the project directory; {meta['date']})",
        "",
        f"Machine: {m['cpu']}, {m['cpus']} CPU(s) usable, Linux {m['kernel']}; OpenBLAS kernels "
        f"{cores} (OPENBLAS_CORETYPE {env_core}); torch {meta['torch']}; malloc {meta['malloc']}; "
        f"git {meta['git']}; load average before {' '.join(meta['load_before'])}, after "
        f"{' '.join(meta['load_after'])}.",
        "",
        "| config | activation | precision | ranks x threads | timed its | proxflow s/it "
        "| torch s/it (threads, BLAS) | proxflow / torch | proxflow / GEMM floor "
        "| proxflow peak RSS MiB | torch peak RSS MiB | memory ratio |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for c in cells:
        lines.append(
            f"| {c['config']} | {c['activation']} | {c['precision']} | {c['ranks']} x {c['threads']} "
            f"| {c['iterations']} | {fmt(c['proxflow_s_per_it'], '.4f')} "
            f"| {fmt(c['torch_s_per_it'], '.4f')} ({c['torch_threads']}, {c['torch_blas_threads']}) "
            f"| {fmt(c['time_ratio'], '.3f')} | {fmt(c['floor_ratio'], '.2f')} "
            f"| {fmt(c['proxflow_rss_mib'], '.0f')} | {fmt(c['torch_rss_mib'], '.0f')} "
            f"| {fmt(c['memory_ratio'], '.2f')} |")
    lines += ["", "Activation: of both networks (MLP configs, set with --set); the CNN's as its "
              "config sets them (potential/discriminator). torch threads (BLAS): torch's thread "
              "count and the OPENBLAS_NUM_THREADS of the faster of its runs. proxflow / GEMM "
              "floor: proxflow's s/it over the time its GEMM flops take at the same run's "
              "square-GEMM rate (1024^3 on every rank at once). Memory: proxflow summed over "
              "its ranks, torch one process."]
    return "\n".join(lines) + "\n"


def emit(dest, text):
    if dest == "-":
        sys.stdout.write(text)
        sys.stdout.flush()
    else:
        with open(dest, "w") as fh:
            fh.write(text)
        log(f"wrote {dest}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 epilog="\n\n".join(__doc__.split("\n\n")[1:]),
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bench", default="build/proxflow_bench", help="double-precision proxflow_bench")
    ap.add_argument("--bench-float", default="build-float/proxflow_bench",
                    help="float proxflow_bench (-DPROXFLOW_FLOAT=ON build)")
    ap.add_argument("--configs", default=",".join(c[0] for c in CONFIGS),
                    help="comma-separated NAME[:ITERATIONS[:WARMUP]] (default: all four)")
    ap.add_argument("--activations", default=",".join(ACTIVATIONS), help="for the MLP configs")
    ap.add_argument("--precisions", default=",".join(PRECISIONS))
    ap.add_argument("--layouts", default=",".join(LAYOUTS), help="RANKSxTHREADS, comma-separated")
    ap.add_argument("--iterations", type=int, help="timed iterations of every config without its own")
    ap.add_argument("--warmup", type=int, help="warmup iterations of every config without its own")
    ap.add_argument("--mnist", help="MNIST IDX file for mlp512 and cnn (default: as the configs name it)")
    ap.add_argument("--blas-core", help="OPENBLAS_CORETYPE for both programs, or 'native' (default: inherited)")
    ap.add_argument("--plain-malloc", action="store_true", help="glibc's default malloc thresholds")
    ap.add_argument("--markdown", nargs="?", const="-", metavar="FILE", help="Markdown table (default: stdout)")
    ap.add_argument("--json", nargs="?", const="-", metavar="FILE", help="JSON of every cell")
    ap.add_argument("--dry-run", action="store_true", help="list the cells and stop")
    args = ap.parse_args()

    configs = pick_configs(csv(args.configs), args.iterations, args.warmup)
    acts = csv(args.activations)
    for a in acts:
        if a not in ACTIVATIONS:
            benchlib.fail(WHO, f"unknown activation '{a}' (one of {', '.join(ACTIVATIONS)})")
    precs = csv(args.precisions)
    binaries = {"double": args.bench, "float": args.bench_float}
    for p in precs:
        if p not in binaries:
            benchlib.fail(WHO, f"unknown precision '{p}' (double, float)")
    layouts = [parse_layout(s) for s in csv(args.layouts)]
    if not (configs and precs and layouts and (acts or all(not c[2] for c in configs))):
        benchlib.fail(WHO, "empty selection")

    cells = []  # (config row, activation or None, precision, ranks, threads)
    for row in configs:
        for act in (acts if row[2] else [None]):
            for p in precs:
                for r, t in layouts:
                    cells.append((row, act, p, r, t))
    command = shlex.join(sys.argv)
    log(f"$ {command}")
    log(f"{len(cells)} cell(s)")
    if args.dry_run:
        for row, act, p, r, t in cells:
            log(f"  {row[0]} ({row[1]}, {row[4]}:{row[5]}) {act or 'as configured'} {p} {r}x{t}")
        return 0
    for p in precs:
        if not os.access(binaries[p], os.X_OK):
            benchlib.fail(WHO, f"no {p} proxflow_bench at {binaries[p]} (build it: cmake -S . -B "
                          f"{'build-float -DPROXFLOW_FLOAT=ON' if p == 'float' else 'build'} "
                          "-DCMAKE_BUILD_TYPE=Release, then cmake --build)")

    env = benchlib.base_env(args.blas_core, args.plain_malloc)
    meta = {"command": command, "cwd": os.getcwd(),
            "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "machine": dict(benchlib.machine(), OPENBLAS_CORETYPE=env.get("OPENBLAS_CORETYPE")),
            "malloc": "glibc defaults" if args.plain_malloc else "GLIBC_TUNABLES=" + benchlib.MALLOC_TUNED,
            "git": git_commit(), "load_before": benchlib.loadavg(), "blas_core": set(), "torch": "?"}
    torch_cache = {}  # (config, activation, precision, threads): torch's result, shared by layouts
    results = []
    for k, (row, act, prec, R, T) in enumerate(cells):
        name, path, _, mnist, its, wu = row
        sets = [f"potential.activation={act}", f"discriminator.activation={act}"] if act else []
        if mnist and args.mnist:
            sets.append(f"data.source={args.mnist}")
        tag = f"[{k + 1}/{len(cells)} {name} {act or 'as configured'} {prec} {R}x{T}]"
        pf, out = benchlib.run_proxflow(binaries[prec], path, its, wu, R, T, env, sets, who=WHO)
        if pf.get("precision", prec) != prec:
            benchlib.fail(WHO, f"{binaries[prec]} is a {pf['precision']} build, not {prec}")
        meta["blas_core"].add(pf.get("blas_core", "?"))
        key = (name, act, prec, R * T)
        if key not in torch_cache:
            torch_cache[key] = benchlib.run_torch(path, its, wu, R * T, prec, env, sets, who=WHO,
                                                  log=lambda m: log(f"{tag} {m}"))
        th, th_rss, th_blas, th_out = torch_cache[key]
        meta["torch"] = benchlib.torch_version(th_out)
        ps, ts = float(pf["s_per_it"]), float(th["s_per_it"])
        floor = float(pf.get("floor_s", "nan"))
        pf_rss, t_rss = float(pf["maxrss_sum_mib"]), th_rss / 1024
        act_label = act or "{}/{} (config)".format(*activations_of(path))
        c = {"config": name, "path": path, "activation": act_label, "precision": prec,
             "ranks": R, "threads": T, "iterations": its, "warmup": wu,
             "proxflow_s_per_it": ps, "torch_s_per_it": ts, "time_ratio": ps / ts,
             "floor_s": floor, "floor_ratio": ps / floor if floor > 0 else float("nan"),
             "peak_gflops": float(pf.get("peak_gflops", "nan")),
             "gflop_per_it": float(pf.get("gflop_per_it", "nan")),
             "proxflow_rss_mib": pf_rss, "torch_rss_mib": t_rss, "memory_ratio": pf_rss / t_rss,
             "torch_threads": R * T, "torch_blas_threads": th_blas, "blas_core": pf.get("blas_core"),
             "sets": sets, "proxflow": pf, "torch": th}
        results.append(c)
        log(f"{tag} proxflow {ps:.4f} s/it ({fmt(c['floor_ratio'], '.2f')} x its GEMM floor), torch "
            f"{ts:.4f} s/it: ratio {c['time_ratio']:.3f}; peak RSS {pf_rss:.0f} / {t_rss:.0f} MiB")
    meta["load_after"] = benchlib.loadavg()
    meta["blas_core"] = sorted(meta["blas_core"])

    if args.json is None and args.markdown is None:
        args.markdown = "-"
    if args.markdown is not None:
        emit(args.markdown, markdown(meta, results))
    if args.json is not None:
        emit(args.json, json.dumps({"meta": meta, "cells": results}, indent=1) + "\n")
    return 0


def activations_of(path):
    """The potential's and discriminator's activation as the config file sets them
    (proxflow's defaults: tanh, relu; docs/CONFIG.md)."""
    import configparser
    ini = configparser.ConfigParser(inline_comment_prefixes=(";", "#"), interpolation=None)
    ini.read(path)
    return (ini.get("potential", "activation", fallback="tanh"),
            ini.get("discriminator", "activation", fallback="relu"))


if __name__ == "__main__":
    sys.exit(main())
