#!/usr/bin/python3
"""The diagnostics of proxflow runs as CSV, for spreadsheets and pandas.

One column per /diagnostics dataset of run.h5 (docs/OUTPUT.md), a header row, and one
row per logged record: `iteration` first, then `wall_s`, the names of SPEC section 4 in
their order, then any other diagnostic in alphabetical order.  Every value is written
so that it reads back to the same float64 (shortest round-trip text; integral values
without a decimal point); NaN is an empty field (--na changes that), +-Inf is
`inf`/`-inf`, which pandas and the csv module read back as the same values.

By default each run gets RUN_DIR/diagnostics.csv.  With --out FILE.csv all runs go
into one file: with several runs it starts with a `run` column (the run directory
relative to the directory the runs share) followed by the swept config keys (those
whose values differ between the runs; --params picks them), so that
`pandas.read_csv(FILE).groupby("run")` separates them.  Runs can be exported while
they train (the complete records so far)."""
import argparse
import csv
import math
import os
import sys

sys.dont_write_bytecode = True  # keep the source tree clean of __pycache__
sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
import pfio  # noqa: E402

FILE_NAME = "diagnostics.csv"


def columns_of(runs):
    """The diagnostics columns, in the order described above."""
    names = set().union(*(r.diagnostics.keys() for r in runs)) if runs else set()
    first = [n for n in pfio.DIAG_NAMES if n in names]
    return first + sorted(names - set(first))


def number_text(v, na=""):
    """float -> the shortest text that reads back to the same float64."""
    v = float(v)
    if math.isnan(v):
        return na
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    if v == int(v) and abs(v) < 2.0 ** 53:
        return str(int(v))
    return repr(v)


def rows_of(run, columns, na=""):
    """One list of cells per record; a column the run lacks is empty."""
    n = run.n_records if "iteration" in run.diagnostics else \
        min((len(v) for v in run.diagnostics.values()), default=0)
    out = []
    for i in range(n):
        out.append([number_text(run.diagnostics[c][i], na) if c in run.diagnostics else na
                    for c in columns])
    return out


def run_names(runs):
    """Run directories relative to the directory they share (a single run: its name)."""
    dirs = [os.path.abspath(r.dir) for r in runs]
    if len(dirs) == 1:
        return [os.path.basename(dirs[0])]
    common = os.path.commonpath(dirs)
    names = [os.path.relpath(d, common) for d in dirs]
    return [n if n != "." else os.path.basename(d) for n, d in zip(names, dirs)]


def write(path, header, rows):
    """Write CSV rows to path ('-' = stdout), creating the directory."""
    if path == "-":
        w = csv.writer(sys.stdout, lineterminator="\n")
        w.writerow(header)
        w.writerows(rows)
        return
    d = os.path.dirname(path)
    if d:
        os.makedirs(d, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(header)
        w.writerows(rows)


def main(argv=None):
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="examples:\n"
               "  export_csv.py runs/qs                         # runs/qs/diagnostics.csv\n"
               "  export_csv.py runs/sweep_a --out sweep_a.csv  # every run below, one file\n"
               "  export_csv.py runs/qs --out - | column -s, -t\n"
               "  python3 -c 'import pandas; print(pandas.read_csv(\"runs/qs/diagnostics.csv\"))'")
    ap.add_argument("runs", nargs="+", metavar="RUN_DIR",
                    help="run directories (or run.h5 files, or directories holding runs)")
    ap.add_argument("--out", metavar="FILE.csv",
                    help="one CSV file for all runs ('-': standard output); default: "
                         f"RUN_DIR/{FILE_NAME} for each run")
    ap.add_argument("--params", metavar="KEYS",
                    help="with --out and several runs: comma-separated config keys to add "
                         "as columns after `run` (default: the keys whose values differ "
                         "between the runs; '' for none)")
    ap.add_argument("--na", default="", metavar="TEXT",
                    help="text of a NaN value (default: an empty field; e.g. --na nan)")
    args = ap.parse_args(argv)

    runs = pfio.expand_runs(args.runs)
    empty = [r.dir for r in runs if not r.diagnostics]
    for d in empty:
        print(f"warning: {d}: no /diagnostics records yet", file=sys.stderr)

    if args.out is None:
        for r in runs:
            cols = columns_of([r])
            path = os.path.join(r.dir, FILE_NAME)
            rows = rows_of(r, cols, args.na)
            write(path, cols, rows)
            print(f"wrote {path} ({len(rows)} rows, {len(cols)} columns)")
        return 0

    cols = columns_of(runs)
    if len(runs) == 1:
        header, rows = cols, rows_of(runs[0], cols, args.na)
    else:
        if args.params is None:
            params = pfio.differing_keys(runs)
        else:
            params = [k.strip() for k in args.params.split(",") if k.strip()]
        header = ["run"] + params + cols
        rows = []
        for r, name in zip(runs, run_names(runs)):
            lead = [name] + [r.config.get(k, "") for k in params]
            rows.extend(lead + row for row in rows_of(r, cols, args.na))
    write(args.out, header, rows)
    if args.out != "-":
        print(f"wrote {args.out} ({len(rows)} rows from {len(runs)} run"
              f"{'s' if len(runs) != 1 else ''}, {len(header)} columns)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
