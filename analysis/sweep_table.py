#!/usr/bin/python3
"""One row per proxflow run under SWEEP_DIR (recursively): the swept parameters and the
final metrics, printed as an aligned table and written as CSV.

Columns: # (the row number, 0, 1, ...: with --sort the rank), run (its directory
relative to SWEEP_DIR), the parameters (default: the config keys whose values differ
between the runs, output.dir excepted), the last logged iteration, the last logged
divergence, kinetic, hj_residual, hj_terminal and lipschitz_max, the sample quality
sliced_w1 and mmd2 (recorded at the end of a run, docs/OUTPUT.md; empty for a run
without a record), seconds_per_iteration (the median over the logged intervals, which
is steadier than the last one), and the status:

  finished  the last logged iteration is train.iterations
  nan       some diagnostic is NaN or Inf (the run blew up)
  partial   otherwise (still training, stopped, or waiting to be resumed)

--sort METRIC orders the rows by a metric column, best (smallest) first, runs without
a finite value last: `--sort sliced_w1` ranks a sweep by sample quality."""
import argparse
import csv
import os
import sys

sys.dont_write_bytecode = True  # keep the source tree clean of __pycache__
sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
import pfio  # noqa: E402

import numpy as np  # noqa: E402

METRICS = ["divergence", "kinetic", "hj_residual", "hj_terminal", "lipschitz_max",
           "sliced_w1", "mmd2"]


def seconds_per_iteration(run):
    d = run.diagnostics
    spi, it = d.get("seconds_per_iteration"), d.get("iteration")
    if spi is None or it is None or not len(spi):
        return float("nan")
    ok = np.isfinite(spi) & (spi > 0) & (it > it[0])  # the first record has no interval
    return float(np.median(spi[ok])) if ok.any() else float("nan")


def build_rows(root, params=None, metrics=METRICS, sort=None):
    """-> (columns, rows): rows are dicts of raw values (str / int / float)."""
    runs = pfio.find_runs(root)
    if params is None:
        params = pfio.differing_keys(runs)
    rows = []
    for r in runs:
        rel = os.path.relpath(r.dir, root)
        row = {"run": r.name if rel == "." else rel}
        for p in params:
            row[p] = r.config.get(p, "")
        row["iteration"] = r.last_iteration if r.last_iteration is not None else ""
        for m in metrics:
            row[m] = pfio.final_metric(r, m)
        row["seconds_per_iteration"] = seconds_per_iteration(r)
        row["status"] = r.status()
        rows.append(row)
    rows.sort(key=lambda row: [pfio.sort_key(row[p]) for p in params] + [row["run"]])
    if sort:  # stable: ties keep the parameter order
        rows.sort(key=lambda row: (not np.isfinite(row[sort]),
                                   row[sort] if np.isfinite(row[sort]) else 0.0))
    for k, row in enumerate(rows):
        row["#"] = k
    columns = ["#", "run"] + list(params) + ["iteration"] + list(metrics) + \
        ["seconds_per_iteration", "status"]
    return columns, rows


def cell(v):
    if isinstance(v, float):
        return pfio.fmt_value(v, 5)
    return str(v)


def print_table(columns, rows, file=sys.stdout):
    texts = [[cell(row[c]) for c in columns] for row in rows]
    widths = [max([len(c)] + [len(t[i]) for t in texts]) for i, c in enumerate(columns)]
    numeric = [all(isinstance(row[c], (int, float)) or
                   isinstance(pfio.to_number(row[c]), (int, float)) for row in rows)
               for c in columns]

    def line(vals):
        return "  ".join(v.rjust(w) if num else v.ljust(w)
                         for v, w, num in zip(vals, widths, numeric)).rstrip()
    print(line(columns), file=file)
    print("  ".join("-" * w for w in widths), file=file)
    for t in texts:
        print(line(t), file=file)


def write_csv(path, columns, rows):
    d = os.path.dirname(path)
    if d:
        os.makedirs(d, exist_ok=True)
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(columns)
        for row in rows:
            w.writerow([repr(row[c]) if isinstance(row[c], float) and np.isfinite(row[c])
                        else cell(row[c]) for c in columns])


def main(argv=None):
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="example: sweep_table.py sweeps/lambda_L --params flow.lambda,lipschitz.L "
               "--csv table.csv")
    ap.add_argument("sweep", metavar="SWEEP_DIR", help="directory holding the runs")
    ap.add_argument("--csv", metavar="FILE",
                    help="CSV output (default: SWEEP_DIR/sweep_table.csv)")
    ap.add_argument("--params", metavar="key1,key2,...",
                    help="parameter columns, section.key (default: the config keys that "
                         "differ between the runs)")
    ap.add_argument("--metrics", default=",".join(METRICS),
                    help=f"final-value columns (default: {','.join(METRICS)})")
    ap.add_argument("--sort", metavar="METRIC",
                    help="order the rows by this metric column, smallest first (e.g. "
                         "sliced_w1: rank by sample quality); default: by the parameters")
    args = ap.parse_args(argv)

    if not os.path.isdir(args.sweep):
        sys.exit(f"error: {args.sweep}: not a directory")
    params = [p.strip() for p in args.params.split(",") if p.strip()] if args.params else None
    metrics = [m.strip() for m in args.metrics.split(",") if m.strip()]
    if args.sort and args.sort not in metrics:
        metrics.append(args.sort)
    columns, rows = build_rows(args.sweep, params, metrics, args.sort)
    if not rows:
        sys.exit(f"error: {args.sweep}: no run.h5 in it or below it")
    print_table(columns, rows)
    out = args.csv or os.path.join(args.sweep, "sweep_table.csv")
    write_csv(out, columns, rows)
    counts = {}
    for row in rows:
        counts[row["status"]] = counts.get(row["status"], 0) + 1
    print(f"wrote {out} ({len(rows)} runs: "
          + ", ".join(f"{v} {k}" for k, v in sorted(counts.items())) + ")")
    return 0


if __name__ == "__main__":
    sys.exit(main())
