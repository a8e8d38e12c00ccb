#!/usr/bin/python3
"""Scatter plots of the low-dimensional table (issue 19): per data set one figure, rows
the modes (w1w2, w2), columns d = 2, 7, 12.  Each panel shows the generated points in
the plane coordinates (the file `proxflow eval --plane --points` wrote, ROOT/CELL/
points.h5: with the table's zero padding, the first two coordinates, which is what the
paper code's notebook plots) over the held-out data in grey, on the notebook's axes
[-scale - 0.5, scale + 0.5] (its `scales`: Pinwheel 2, Moons 7), titled with the
cell's Sinkhorn divergence (eval.json).  Writes ROOT/lowdim_{pinwheel,moons}.png
(--out-dir)."""
import argparse
import json
import os
import sys

sys.dont_write_bytecode = True  # keep the source tree clean of __pycache__
sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
import pfio  # noqa: E402

import h5py  # noqa: E402
import matplotlib  # noqa: E402
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

SCALES = {"pinwheel": 2.0, "moons": 7.0}  # the notebook's `scales` (plot ranges only)
NAMES = {"pinwheel": "Pinwheel", "moons": "Moons"}
DIMS = (2, 7, 12)
MODES = ("w1w2", "w2")


def panel(ax, cdir, title, lim, max_points):
    pts = os.path.join(cdir, "points.h5")
    ax.set_xlim(-lim, lim)
    ax.set_ylim(-lim, lim)
    ax.set_aspect("equal")
    if not os.path.isfile(pts):
        ax.text(0.5, 0.5, "not evaluated", ha="center", va="center", transform=ax.transAxes)
        ax.set_title(title, fontsize=9)
        return False
    with h5py.File(pts, "r") as f:
        G, Y = f["generated"][:max_points], f["heldout"][:max_points]
    ax.scatter(Y[:, 0], Y[:, 1], s=1, c="0.75", lw=0, rasterized=True, label="data")
    ax.scatter(G[:, 0], G[:, 1], s=1, c="C0", lw=0, rasterized=True, label="generated")
    try:
        with open(os.path.join(cdir, "eval.json")) as f:
            ev = json.load(f)
        s = ev.get("sinkhorn")
        title += f"\nS = {s:.4g}, it {int(ev.get('iteration', 0))}" if s is not None else "\nS = NaN"
    except (OSError, ValueError):
        pass
    ax.set_title(title, fontsize=9)
    return True


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("root", help="the output root of scripts/reproduce_lowdim.sh")
    ap.add_argument("--out-dir", help="default ROOT")
    ap.add_argument("--max-points", type=int, default=5000, help="points per panel (default 5000)")
    a = ap.parse_args(argv)
    out = a.out_dir or a.root
    for s in SCALES:
        lim = SCALES[s] + 0.5
        fig, axes = plt.subplots(len(MODES), len(DIMS), figsize=(3.2 * len(DIMS), 3.4 * len(MODES)),
                                 squeeze=False)
        for i, m in enumerate(MODES):
            for j, d in enumerate(DIMS):
                panel(axes[i][j], os.path.join(a.root, f"{s}_d{d}_{m}"), f"{NAMES[s]} {d}-D, {m}", lim,
                      a.max_points)
        fig.suptitle(f"{NAMES[s]}: generated (blue) over data (grey), plane coordinates", fontsize=10)
        pfio.savefig(fig, os.path.join(out, f"lowdim_{s}.png"))
        plt.close(fig)
    return 0


if __name__ == "__main__":
    sys.exit(main())
