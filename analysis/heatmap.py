#!/usr/bin/python3
"""Heat map of a final metric of the proxflow runs under SWEEP_DIR over two swept
config keys.

Each cell is the mean of the metric's last logged value over the runs sharing the
(x, y) values (e.g. several seeds), annotated with the value; a cell where some runs
ended non-finite says how many ('2 nan'), and the mean is over the finite ones.  The
sample-quality metrics (--metric sliced_w1, mmd2, manifold_distance; recorded at the
end of a run, docs/OUTPUT.md) are their last recorded value; a run that blew up, or
has not recorded one, counts as 'none'.  A cell
with no finite value is gray; a cell with no run is blank.  Axis values are sorted
numerically (text values, e.g. flow.mode, alphabetically)."""
import argparse
import math
import os
import sys

sys.dont_write_bytecode = True  # keep the source tree clean of __pycache__
sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
import pfio  # noqa: E402

import matplotlib  # noqa: E402
matplotlib.use("Agg")
import matplotlib.colors as mcolors  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def main(argv=None):
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="example: heatmap.py sweeps/a --x flow.lambda --y lipschitz.L "
               "--metric hj_residual --out hj.png")
    ap.add_argument("sweep", metavar="SWEEP_DIR", help="directory holding the runs")
    ap.add_argument("--x", required=True, metavar="KEY", help="config key on the x axis, "
                    "e.g. flow.lambda")
    ap.add_argument("--y", required=True, metavar="KEY", help="config key on the y axis, "
                    "e.g. lipschitz.L")
    ap.add_argument("--metric", default="hj_residual",
                    help="diagnostic whose last logged value is shown (default hj_residual)")
    ap.add_argument("--out", metavar="FILE.png",
                    help="output PNG (default: SWEEP_DIR/heatmap_METRIC.png)")
    ap.add_argument("--log", action="store_true",
                    help="logarithmic colour scale (when every value is > 0)")
    ap.add_argument("--cmap", default="viridis", help="matplotlib colormap (default viridis)")
    args = ap.parse_args(argv)

    if not os.path.isdir(args.sweep):
        sys.exit(f"error: {args.sweep}: not a directory")
    runs = pfio.find_runs(args.sweep)
    if not runs:
        sys.exit(f"error: {args.sweep}: no run.h5 in it or below it")
    for key in (args.x, args.y):
        missing = [r.dir for r in runs if key not in r.config]
        if missing:
            sys.exit(f"error: config key '{key}' not in {missing[0]} (keys look like "
                     f"flow.lambda, lipschitz.L; swept here: "
                     f"{', '.join(pfio.differing_keys(runs)) or 'none'})")
    if not any(args.metric in r.diagnostics for r in runs):
        names = sorted(set().union(*(r.diagnostics for r in runs)))
        sys.exit(f"error: no run has the diagnostic '{args.metric}'; known: {', '.join(names)}")

    xs = sorted({r.config[args.x] for r in runs}, key=pfio.sort_key)
    ys = sorted({r.config[args.y] for r in runs}, key=pfio.sort_key)
    vals = [[[] for _ in xs] for _ in ys]
    for r in runs:
        vals[ys.index(r.config[args.y])][xs.index(r.config[args.x])].append(pfio.final_metric(r, args.metric))

    mean = np.full((len(ys), len(xs)), np.nan)
    count = np.zeros((len(ys), len(xs)), dtype=int)
    bad = np.zeros((len(ys), len(xs)), dtype=int)
    for i in range(len(ys)):
        for j in range(len(xs)):
            v = np.asarray(vals[i][j], dtype=np.float64)
            count[i, j] = v.size
            fin = v[np.isfinite(v)]
            bad[i, j] = v.size - fin.size
            if fin.size:
                mean[i, j] = fin.mean()

    fin = mean[np.isfinite(mean)]
    norm = None
    if args.log and fin.size and np.all(fin > 0):
        norm = mcolors.LogNorm(vmin=fin.min(), vmax=fin.max())
    elif args.log:
        print("note: --log ignored (a value is <= 0 or none is finite)", file=sys.stderr)
    cmap = plt.get_cmap(args.cmap).copy()
    cmap.set_bad("lightgray")

    fig, ax = plt.subplots(figsize=(max(4.5, 1.25 * len(xs) + 2.5), max(3.5, 0.8 * len(ys) + 2)))
    im = ax.imshow(np.ma.masked_invalid(mean), origin="lower", cmap=cmap, norm=norm,
                   aspect="auto")
    fig.colorbar(im, ax=ax, label=f"final {args.metric}")
    ax.set_xticks(range(len(xs)))
    ax.set_xticklabels(xs)
    ax.set_yticks(range(len(ys)))
    ax.set_yticklabels(ys)
    ax.set_xlabel(args.x)
    ax.set_ylabel(args.y)
    lo, hi = (fin.min(), fin.max()) if fin.size else (0, 1)
    # a quality metric absent from a run (not recorded yet, or it blew up) is no value
    missing = "none" if args.metric in pfio.SPARSE_DIAGNOSTICS else "nan"
    for i in range(len(ys)):
        for j in range(len(xs)):
            if count[i, j] == 0:
                continue
            lines = []
            if math.isfinite(mean[i, j]):
                lines.append(pfio.fmt_value(mean[i, j], 3))
                if norm is not None:
                    frac = (np.log(mean[i, j]) - np.log(lo)) / max(np.log(hi) - np.log(lo), 1e-300)
                else:
                    frac = (mean[i, j] - lo) / (hi - lo) if hi > lo else 0.5
                color = "black" if frac > 0.6 else "white"
            else:
                color = "black"
                lines.append(missing)
            if bad[i, j] and math.isfinite(mean[i, j]):
                lines.append(f"{bad[i, j]} {missing}")
            if count[i, j] > 1:
                lines.append(f"n={count[i, j]}")
            ax.text(j, i, "\n".join(lines), ha="center", va="center", fontsize=9, color=color)
    ax.set_title(f"final {args.metric} ({len(runs)} runs, {os.path.basename(os.path.normpath(args.sweep))})",
                 fontsize=10)
    fig.tight_layout()
    out = args.out or os.path.join(args.sweep, f"heatmap_{args.metric}.png")
    pfio.savefig(fig, out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
