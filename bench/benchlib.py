"""Shared pieces of the benchmark drivers (compare_torch.py, matrix.py, weak_scaling.py,
strong_scaling.py): launching proxflow_bench and reference_torch.py with a given number
of ranks and threads, reading their one-line results, the machine's description.

Not a program; the drivers import it from their own directory.
"""
import os
import platform
import re
import shlex
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REFERENCE = os.path.join(HERE, "reference_torch.py")
# glibc's mmap and trim thresholds raised (compare_torch.py's docstring says why: torch
# allocates per call, and its float64 convolutions fault in a fresh im2col buffer per call)
MALLOC_TUNED = "glibc.malloc.mmap_threshold=4294967295:glibc.malloc.trim_threshold=4294967295"
# what mpirun must pass on to the ranks
FORWARD = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "GLIBC_TUNABLES", "OPENBLAS_CORETYPE")


def fail(who, msg):
    sys.exit(f"{who}: {msg}")


def run_measured(cmd, env, who="bench"):
    """Run cmd; return its output (stdout and stderr) and its peak RSS in KiB.  The child
    is reaped with os.wait4, which reports that one process's own resource usage."""
    p = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    out = p.stdout.read()  # until EOF: the child has exited or closed its output
    p.stdout.close()
    _, status, usage = os.wait4(p.pid, 0)
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        fail(who, f"{shlex.join(cmd)} failed (exit {code}):\n{out}")
    return out, usage.ru_maxrss


def fields(text, tag, who="bench"):
    """The key=value pairs of the line `TAG k=v ...` (proxflow_bench: BENCH, torch: TORCH)."""
    m = re.search(rf"^{tag} (.*)$", text, re.M)
    if not m:
        fail(who, f"no '{tag}' line in:\n{text}")
    return dict(kv.split("=", 1) for kv in m.group(1).split())


def base_env(blas_core=None, plain_malloc=False):
    """The environment of every child: root may run mpirun, the malloc tunable (unless
    plain_malloc), OPENBLAS_CORETYPE = blas_core ('native': unset, OpenBLAS detects the
    CPU; None: as inherited)."""
    env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
    if not plain_malloc:
        env["GLIBC_TUNABLES"] = MALLOC_TUNED
    if blas_core == "native":
        env.pop("OPENBLAS_CORETYPE", None)
    elif blas_core:
        env["OPENBLAS_CORETYPE"] = blas_core
    return env


def with_threads(env, threads, blas_threads=None):
    return dict(env, OMP_NUM_THREADS=str(threads),
                OPENBLAS_NUM_THREADS=str(threads if blas_threads is None else blas_threads))


def mpi_launch(ranks, env, oversubscribe=False):
    """mpirun's words for `ranks` ranks (none for one rank: an MPI singleton, so the
    measured process is proxflow itself), threads unbound (docs/PERFORMANCE.md)."""
    if ranks <= 1:
        return []
    cmd = ["mpirun", "-n", str(ranks), "--bind-to", "none"]
    if oversubscribe:
        cmd.append("--oversubscribe")
    for k in FORWARD:
        if k in env:
            cmd += ["-x", k]
    return cmd


def proxflow_cmd(bench, cfg, iters, warm, sets=(), extra=()):
    cmd = [bench, cfg, "--iterations", str(iters), "--warmup", str(warm)]
    for s in sets:
        cmd += ["--set", s]
    return cmd + list(extra)


def run_proxflow(bench, cfg, iters, warm, ranks, threads, env, sets=(), extra=(), who="bench"):
    """proxflow_bench on `ranks` ranks x `threads` threads: (its BENCH fields, its output)."""
    e = with_threads(env, threads)
    out, _ = run_measured(mpi_launch(ranks, e) + proxflow_cmd(bench, cfg, iters, warm, sets, extra),
                          e, who)
    return fields(out, "BENCH", who), out


def run_torch(cfg, iters, warm, threads, precision, env, sets=(), who="bench", log=None):
    """reference_torch.py bench with `threads` threads, in `precision`.  Returns (TORCH
    fields, peak RSS KiB, the OPENBLAS_NUM_THREADS of the run kept, its output).  With
    threads > 1 torch runs twice, with that many BLAS threads and with 1, and the faster
    counts: Debian's torch links the pthread OpenBLAS, whose threads and torch's own
    OpenMP threads can contend (measured: 2.5-4.5x slower on 2 cores)."""
    cmd = [sys.executable, REFERENCE, "bench", cfg, "--iterations", str(iters), "--warmup",
           str(warm), "--threads", str(threads)]
    for s in sets:
        cmd += ["--set", s]
    if precision == "float":
        cmd.append("--float")
    out, rss = run_measured(cmd, with_threads(env, threads), who)
    best = (fields(out, "TORCH", who), rss, threads, out)
    if threads > 1:
        out1, rss1 = run_measured(cmd, with_threads(env, threads, 1), who)
        one = (fields(out1, "TORCH", who), rss1, 1, out1)
        if log:
            log(f"torch {float(best[0]['s_per_it']):.4f} s/it with OPENBLAS_NUM_THREADS={threads}, "
                f"{float(one[0]['s_per_it']):.4f} with 1: the faster is compared")
        if float(one[0]["s_per_it"]) < float(best[0]["s_per_it"]):
            best = one
    return best


def torch_version(torch_output):
    m = re.search(r"torch (\S+),", torch_output)
    return m.group(1) if m else "?"


def machine():
    """CPU model (/proc/cpuinfo), logical CPUs this process may use, kernel, OpenBLAS
    kernel setting of the environment."""
    model = "?"
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return {"cpu": model, "cpus": len(os.sched_getaffinity(0)), "kernel": platform.release(),
            "OPENBLAS_CORETYPE": os.environ.get("OPENBLAS_CORETYPE")}


def loadavg():
    with open("/proc/loadavg") as fh:
        return fh.read().split()[:3]


def split_spec(spec, iters, warm):
    """NAME[:ITERATIONS[:WARMUP]] -> (NAME, ITERATIONS, WARMUP) with defaults."""
    parts = spec.split(":")
    return (parts[0], int(parts[1]) if len(parts) > 1 and parts[1] else iters,
            int(parts[2]) if len(parts) > 2 and parts[2] else warm)
