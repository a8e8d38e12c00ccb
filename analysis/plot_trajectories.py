#!/usr/bin/python3
"""Particle trajectories of a proxflow run (/trajectories/iter_NNNNNNNN, [Nt+1, n, d]).

Each trajectory is drawn as a line from x^0 (circle) through the Nt Euler steps to
x^Nt (cross); for d > 2 the first two coordinates are drawn (or --dims).  A second
panel shows the histogram of the straightness |x^Nt - x^0| / path length (1 = a
straight line, as optimal transport would move the particles)."""
import argparse
import os
import sys

sys.dont_write_bytecode = True  # keep the source tree clean of __pycache__
sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
import pfio  # noqa: E402

import matplotlib  # noqa: E402
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.collections import LineCollection  # noqa: E402
import numpy as np  # noqa: E402


def straightness(x):
    """x [Nt+1, n, d] -> |x^Nt - x^0| / sum_k |x^{k+1} - x^k| per trajectory (NaN for a
    trajectory that does not move)."""
    x = np.asarray(x, dtype=np.float64)
    chord = np.linalg.norm(x[-1] - x[0], axis=-1)
    length = np.linalg.norm(np.diff(x, axis=0), axis=-1).sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(length > 0, chord / length, np.nan)


def main(argv=None):
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="example: plot_trajectories.py runs/x --iteration 1000 --out traj.png")
    ap.add_argument("run", metavar="RUN_DIR",
                    help="a run directory (or its run.h5), or a file written by "
                         "proxflow sample --trajectories")
    ap.add_argument("--iteration", type=int,
                    help="which stored trajectories (default: the latest)")
    ap.add_argument("--out", metavar="FILE.png",
                    help="output PNG (default: RUN_DIR/trajectories_NNNNNNNN.png)")
    ap.add_argument("--max-lines", type=int, default=256,
                    help="draw at most this many trajectories (default 256)")
    ap.add_argument("--dims", default="0,1", help="the two coordinates drawn (default 0,1)")
    ap.add_argument("--list", action="store_true",
                    help="print the stored iterations and exit")
    args = ap.parse_args(argv)

    if os.path.isfile(args.run) and os.path.basename(args.run) != pfio.RUN_FILE:
        # a file written by `proxflow sample --trajectories`: dataset /trajectories
        try:
            f = pfio.h5py.File(args.run, "r")
        except OSError as e:
            sys.exit(f"error: {args.run}: {e}")
        with f:
            if not isinstance(f.get("trajectories"), pfio.h5py.Dataset):
                sys.exit(f"error: {args.run}: no dataset /trajectories (proxflow sample "
                         f"--trajectories writes one)")
            it = int(f.attrs["iteration"]) if "iteration" in f.attrs else 0
            if args.list:
                print(it)
                return 0
            if args.iteration is not None and args.iteration != it:
                sys.exit(f"error: {args.run}: holds iteration {it} only")
            x = np.asarray(f["trajectories"][()], dtype=np.float64)
            mode = pfio.text(f.attrs["mode"]) + " " if "mode" in f.attrs else ""
        label = mode + os.path.basename(args.run)
        default_out = os.path.splitext(args.run)[0] + "_trajectories.png"
    else:
        run = pfio.load_run_cli(args.run)
        its = run.trajectory_iterations
        if args.list:
            print(" ".join(str(i) for i in its) if its else "(none)")
            return 0
        if not its:
            sys.exit(f"error: {run.path}: no /trajectories (set [output] trajectory_every > 0)")
        it = its[-1] if args.iteration is None else args.iteration
        if it not in its:
            sys.exit(f"error: {run.path}: no trajectories at iteration {it}; stored: "
                     f"{' '.join(str(i) for i in its)}")
        x = np.asarray(run.trajectories(it), dtype=np.float64)  # [Nt+1, n, d]
        label = run.label
        default_out = os.path.join(run.dir, f"trajectories_{it:08d}.png")
    nt1, n, d = x.shape
    dims = pfio.plot_dims(ap, args.dims, d)
    st = straightness(x)
    sel = x[:, : min(n, args.max_lines)]

    fig, (ax, axh) = plt.subplots(1, 2, figsize=(11, 5.2),
                                  gridspec_kw={"width_ratios": [1.35, 1]})
    if d == 1:  # time on the x axis
        t = np.linspace(0, 1, nt1)
        segs = [np.column_stack([t, sel[:, i, 0]]) for i in range(sel.shape[1])]
        xlab, ylab = "t / T", "$x$"
        starts = np.column_stack([np.zeros(sel.shape[1]), sel[0, :, 0]])
        ends = np.column_stack([np.ones(sel.shape[1]), sel[-1, :, 0]])
    else:
        segs = [sel[:, i][:, dims] for i in range(sel.shape[1])]
        xlab, ylab = f"$x_{{{dims[0]}}}$", f"$x_{{{dims[1]}}}$"
        starts, ends = sel[0][:, dims], sel[-1][:, dims]
    ok = [s for s in segs if np.all(np.isfinite(s))]
    ax.add_collection(LineCollection(ok, colors="tab:blue", linewidths=0.8, alpha=0.55,
                                     label="path"))
    ax.scatter(starts[:, 0], starts[:, 1], s=14, facecolors="none", edgecolors="tab:gray",
               label="start $x^0$", zorder=3)
    ax.scatter(ends[:, 0], ends[:, 1], s=18, marker="x", color="tab:red",
               label=f"end $x^{{{nt1 - 1}}}$", zorder=4)
    ax.autoscale()
    if d > 1:
        ax.set_aspect("equal", adjustable="datalim")
    ax.set_xlabel(xlab)
    ax.set_ylabel(ylab)
    ax.grid(True, alpha=0.3)
    ax.legend(loc="best", fontsize=9)
    shown = f"{sel.shape[1]} of {n}" if sel.shape[1] < n else f"{n}"
    ax.set_title(f"{shown} trajectories, {nt1 - 1} steps", fontsize=10)
    if d > 2:
        ax.text(0.5, -0.14, f"note: d = {d} > 2; coordinates {dims[0]} and {dims[1]} only",
                transform=ax.transAxes, ha="center", fontsize=9, style="italic")

    fin = st[np.isfinite(st)]
    if fin.size:
        # the range of the values themselves: a trained flow's are all near 1, where a
        # fixed [0, 1] would squeeze them into one bin (issue 21)
        lo, hi = float(fin.min()), float(fin.max())
        pad = max(1e-6, 0.02 * (hi - lo))
        axh.hist(fin, bins=np.linspace(lo - pad, hi + pad, 31), color="tab:green", alpha=0.85)
        axh.axvline(np.median(fin), color="k", ls="--", lw=1,
                    label=f"median {np.median(fin):.3f}")
        axh.legend(loc="upper left", fontsize=9)
    else:
        axh.text(0.5, 0.5, "no moving trajectory", ha="center", va="center",
                 transform=axh.transAxes, color="gray")
    axh.set_xlabel(r"straightness $|x^{N_t} - x^0|$ / path length")
    axh.set_ylabel("trajectories")
    axh.set_title("straightness (1 = straight line)", fontsize=10)
    axh.grid(True, alpha=0.3)
    fig.suptitle(f"{label}: trajectories at iteration {it} (d = {d})", fontsize=11)
    fig.tight_layout()

    out = args.out or default_out
    pfio.savefig(fig, out)
    if fin.size:
        print(f"  iteration {it}: {n} trajectories, {nt1 - 1} steps, straightness median "
              f"{np.median(fin):.4f}, min {fin.min():.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
