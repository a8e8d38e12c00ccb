#!/usr/bin/python3
"""Markdown summary of the MNIST reproduction runs (docs/REPRODUCTION.md): for each mode
under ROOT (w1w2, w1, w2, none), the last logged iteration, wall time, means over the
last WINDOW logged iterations of the kinetic energy, terminal cost, R_HJ and R_T, the
largest |grad gamma| seen, and whether/when a value became non-finite or exploded
(the Lipschitz constant of gamma first above 100 and 1000).

usage: analysis/mnist_summary.py ROOT [--window 100]"""
import argparse
import os

import h5py
import numpy as np


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("root")
    ap.add_argument("--window", type=int, default=100, help="iterations averaged (default 100)")
    a = ap.parse_args()
    print(f"| mode | iterations | wall s | KE (mean, last {a.window}) | terminal cost | R_HJ | R_T "
          "| max lip. | lip > 100 at | lip > 1000 at | non-finite |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for mode in ("w1w2", "w1", "w2", "none"):
        path = os.path.join(a.root, mode, "run.h5")
        if not os.path.exists(path):
            continue
        with h5py.File(path, "r") as f:
            d = {k: f["diagnostics"][k][...] for k in f["diagnostics"]}
        it = d["iteration"]
        last = it[-1]
        w = it > last - a.window
        m = lambda k: np.nanmean(d[k][w])
        lip = d["lipschitz_max"]
        first = lambda thr: (str(int(it[np.argmax(lip > thr)])) if np.any(lip > thr) else "-")
        bad = [k for k in d if not np.all(np.isfinite(d[k]))]
        nonfinite = (str(int(it[np.argmax(~np.isfinite(d[bad[0]]))])) if bad else "none")
        print(f"| {mode} | {int(last)} | {d['wall_s'][-1]:.0f} | {m('kinetic'):.2f} | {m('divergence'):.3g} "
              f"| {m('hj_residual'):.3f} | {m('hj_terminal'):.3g} | {np.nanmax(lip):.3g} | {first(100)} "
              f"| {first(1000)} | {nonfinite} |")


if __name__ == "__main__":
    main()
