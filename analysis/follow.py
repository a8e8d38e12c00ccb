#!/usr/bin/python3
"""Watch a proxflow run while it trains: print its diagnostics records as they arrive.

Every --interval seconds run.h5 is opened read-only with h5py, read and closed again
(proxflow flushes /diagnostics at every log, docs/OUTPUT.md), and the records that are
new since the last poll are printed as rows of a table.  A record is printed once it
is complete: a later record exists, or it read the same in two polls in a row (a
reader can look while the trainer is half-way through appending one).

It stops by itself when
  - the last record is at train.iterations (the run finished): exit 0;
  - a value is NaN or Inf (proxflow stops such a run, SPEC section 5): exit 3;
  - run.h5 has had no new record and has not changed for --idle seconds (the job
    ended, was preempted, or waits in the queue for its requeue): exit 4;
  - Ctrl-C: exit 130.
A run that resumes from a checkpoint cuts its records back to that iteration; the
table then says so and goes on from there.

On a terminal, a status line under the table shows the progress, the time since the
last record and an estimate of the time left; the header is repeated every screenful.
When the output is not a terminal (a pipe, a file, a batch log) only plain lines are
written, with no control characters, flushed line by line.

The file lock: the writer (MPI-IO driver) takes none, and pfio sets
HDF5_USE_FILE_LOCKING=FALSE for the reader unless the environment sets it, so the
poll also works on file systems without flock()."""
import argparse
import math
import os
import shutil
import signal
import sys
import time

sys.dont_write_bytecode = True  # keep the source tree clean of __pycache__
sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
import pfio  # noqa: E402
import numpy as np  # noqa: E402

DEFAULT_METRICS = "divergence,kinetic,hj_residual,hj_terminal,lipschitz_max"
EXIT_FINISHED, EXIT_ERROR, EXIT_NONFINITE, EXIT_IDLE, EXIT_INTERRUPTED = 0, 2, 3, 4, 130


def cell(v, width):
    v = float(v)
    if not math.isfinite(v):
        t = "nan" if math.isnan(v) else ("inf" if v > 0 else "-inf")
    elif v == int(v) and abs(v) < 1e9:
        t = str(int(v))
    else:
        t = f"{v:.4g}"
    return t.rjust(width)


def duration(s):
    """Seconds as '45 s', '12 min', '3.2 h'."""
    if s is None or not math.isfinite(s):
        return "?"
    if s < 120:
        return f"{s:.0f} s"
    if s < 7200:
        return f"{s / 60:.0f} min"
    return f"{s / 3600:.1f} h"


class Table:
    """The columns and their widths; header and rows as text lines."""

    def __init__(self, metrics):
        self.cols = ["iteration", "wall_s"] + [m for m in metrics if m not in ("iteration", "wall_s")]
        self.widths = [max(len(c), 9 if c == "iteration" else 10) for c in self.cols]

    def header(self):
        return "  ".join(c.rjust(w) for c, w in zip(self.cols, self.widths))

    def row(self, diag, i):
        return "  ".join(cell(diag[c][i], w) if c in diag else "-".rjust(w)
                         for c, w in zip(self.cols, self.widths))


class Follower:
    def __init__(self, args):
        self.a = args
        # RUN_DIR/run.h5, also when the directory does not exist yet (a queued job)
        self.path = args.run if args.run.endswith(".h5") else os.path.join(args.run, pfio.RUN_FILE)
        self.tty = sys.stdout.isatty() if args.tty is None else args.tty
        self.table = None
        self.printed = []          # iterations of the rows printed so far
        self.pending = None        # (n_records, values of the last record) of the last poll
        self.last_change = time.monotonic()
        self.last_stat = None
        self.last_record_time = None
        self.rows_since_header = 0
        self.status_shown = False
        self.error = None

    # ---- output --------------------------------------------------------------------
    def out(self, line):
        if self.tty and self.status_shown:
            sys.stdout.write("\r\033[K")  # clear the status line first
            self.status_shown = False
        sys.stdout.write(line + "\n")
        sys.stdout.flush()

    def status(self, text):
        if not self.tty:
            return
        width = shutil.get_terminal_size((100, 24)).columns
        sys.stdout.write("\r\033[K" + text[:max(10, width - 1)])
        sys.stdout.flush()
        self.status_shown = True

    def print_header(self):
        self.out(self.table.header())
        self.rows_since_header = 0

    # ---- one poll --------------------------------------------------------------------
    def read(self):
        """The run as pfio.Run, or None when run.h5 is missing or does not open yet."""
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            self.error = f"waiting for {self.path}"
            return None
        stat = (st.st_mtime_ns, st.st_size)
        if stat != self.last_stat:
            self.last_stat = stat
            self.last_change = time.monotonic()
        try:
            run = pfio.Run(self.path)
        except (OSError, KeyError, ValueError, RuntimeError) as e:
            # being created, or caught mid-write: try again at the next poll
            self.error = f"{self.path} does not open yet ({str(e).splitlines()[0][:80]})"
            return None
        self.error = None
        return run

    def complete_records(self, run):
        """How many leading records are complete (see the module docstring)."""
        d = run.diagnostics
        n = run.n_records
        if n == 0:
            return 0
        last = tuple(float(v[n - 1]) for _, v in sorted(d.items()))
        seen = self.pending
        self.pending = (n, last)
        if seen is not None and seen[0] == n and np.array_equal(np.array(seen[1]), np.array(last),
                                                                   equal_nan=True):
            return n
        return n - 1

    def poll(self):
        """One poll; returns an exit status when following should stop, else None."""
        run = self.read()
        if run is None:
            return None
        d = run.diagnostics
        if self.table is None:
            metrics = self.a.metrics or [m for m in DEFAULT_METRICS.split(",")]
            unknown = [m for m in metrics if d and m not in d]
            if unknown:
                raise SystemExit(f"error: {self.path}: no diagnostic(s) {', '.join(unknown)}; "
                                 f"the run has: {', '.join(sorted(d))}")
            self.table = Table(metrics)
            target = run.target_iterations
            self.out(f"following {self.path}: mode {run.mode}, {target} iterations, "
                     f"log every {run.config.get('output.log_every', '?')}")
            self.print_header()
        n_ok = self.complete_records(run)
        # a resumed run cuts its records back: find where the printed rows still agree
        # (with every record read, the last one complete or not: its iteration is right)
        its = [int(x) for x in d.get("iteration", [])]
        common = 0
        while common < min(len(its), len(self.printed)) and its[common] == self.printed[common]:
            common += 1
        if common < len(self.printed):
            back = its[common - 1] if common else 0
            self.out(f"-- run.h5 was rewound to iteration {back} (resumed from a checkpoint); "
                     f"its records go on from there --")
            self.printed = self.printed[:common]
        rows = self.table_rows(d, len(self.printed), n_ok)
        height = shutil.get_terminal_size((100, 24)).lines if self.tty else 0
        for i, line in rows:
            if self.tty and self.rows_since_header >= max(5, height - 3):
                self.print_header()
            self.out(line)
            self.rows_since_header += 1
            self.printed.append(its[i])
            self.last_record_time = time.monotonic()
        if rows:
            self.last_change = time.monotonic()

        # why stop?
        if n_ok and len(self.printed) == n_ok:
            vals = np.array([v[:n_ok] for k, v in d.items()
                             if k not in pfio.SPARSE_DIAGNOSTICS])  # NaN: not evaluated
            if not np.all(np.isfinite(vals)):
                self.out(f"stopped: non-finite values at iteration {self.printed[-1]} "
                         f"(status nan)")
                return EXIT_NONFINITE
            target = run.target_iterations
            if target is not None and self.printed[-1] >= target:
                wall = d["wall_s"][n_ok - 1] if "wall_s" in d else float("nan")
                self.out(f"finished: iteration {self.printed[-1]} of {target}, "
                         f"{duration(wall)} of training")
                return EXIT_FINISHED
        self.show_status(run, n_ok)
        return None

    def table_rows(self, d, start, stop):
        return [(i, self.table.row(d, i)) for i in range(start, stop)]

    def show_status(self, run, n_ok):
        if not self.tty:
            return
        target = run.target_iterations
        last = self.printed[-1] if self.printed else None
        spi = run.diagnostics.get("seconds_per_iteration")
        eta = None
        if spi is not None and n_ok > 1 and target is not None and last is not None:
            s = spi[1:n_ok]
            s = s[np.isfinite(s) & (s > 0)]
            if len(s):
                eta = float(np.median(s[-5:])) * (target - last)
        ago = time.monotonic() - self.last_record_time if self.last_record_time else None
        self.status(f"[iteration {last if last is not None else '-'} of {target}; last record "
                    f"{duration(ago)} ago; about {duration(eta)} left; Ctrl-C stops]")

    # ---- the loop ----------------------------------------------------------------------
    def run(self):
        while True:
            rc = self.poll()
            if rc is not None:
                return rc
            idle = time.monotonic() - self.last_change
            if self.a.idle > 0 and idle >= self.a.idle:
                last = self.printed[-1] if self.printed else None
                why = self.error or (f"no new record after iteration {last}" if last is not None
                                     else "no record")
                self.out(f"stopped: {why}; {self.path} unchanged for {duration(idle)} "
                         f"(the job ended or waits for its requeue)")
                return EXIT_IDLE
            if self.error and self.tty:
                self.status(f"[{self.error}]")
            time.sleep(self.a.interval)


def main(argv=None):
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="examples:\n"
               "  follow.py runs/qs                          # every 5 s until the run ends\n"
               "  follow.py runs/qs --interval 30 --metrics divergence,loss_d,loss_g\n"
               "  follow.py runs/qs --idle 0 | tee qs.log    # never stop by itself")
    ap.add_argument("run", metavar="RUN_DIR", help="the run directory (or its run.h5)")
    ap.add_argument("--interval", type=float, default=5.0, metavar="SECONDS",
                    help="seconds between two polls (default 5)")
    ap.add_argument("--idle", type=float, default=600.0, metavar="SECONDS",
                    help="stop when run.h5 has not changed for this long (default 600; "
                         "0: never)")
    ap.add_argument("--metrics", metavar="NAMES",
                    help=f"comma-separated diagnostics to show after iteration and wall_s "
                         f"(default: {DEFAULT_METRICS})")
    tty = ap.add_mutually_exclusive_group()
    tty.add_argument("--tty", dest="tty", action="store_const", const=True, default=None,
                     help="status line and repeated headers even when not on a terminal")
    tty.add_argument("--plain", dest="tty", action="store_const", const=False,
                     help="plain lines only, also on a terminal")
    args = ap.parse_args(argv)
    if not args.interval > 0:
        ap.error("--interval must be > 0")
    args.metrics = [m.strip() for m in args.metrics.split(",") if m.strip()] if args.metrics else None
    if args.metrics is not None and not args.metrics:
        ap.error("--metrics is empty")
    if os.path.isfile(args.run) and not args.run.endswith(".h5"):
        ap.error(f"{args.run}: neither a run directory nor a run.h5")

    f = Follower(args)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(EXIT_INTERRUPTED))
    try:
        return f.run()
    except KeyboardInterrupt:
        f.out("interrupted")
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # e.g. `follow.py RUN | head`
        try:
            sys.stdout = open(os.devnull, "w")
        except OSError:
            pass
        return 0


if __name__ == "__main__":
    sys.exit(main())
