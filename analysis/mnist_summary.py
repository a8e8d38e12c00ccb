#!/usr/bin/python3
"""Markdown summary of the MNIST reproduction runs (docs/REPRODUCTION.md): for each mode
under ROOT (w1w2, w1, w2, none), the last logged iteration, wall time, means over the
last WINDOW logged iterations of the kinetic energy, terminal cost, R_HJ and R_T, the
largest |grad gamma| seen, and whether/when a value became non-finite or exploded
(the Lipschitz constant of gamma first above 100 and 1000); then the sample-quality
measure of every ROOT/MODE/quality_IT.json that scripts/reproduce_mnist.sh wrote
(analysis/mnist_quality.py: classifier-feature Frechet distance, class entropy,
classes with >= 5 %, the class histogram); then, per mode and window of iterations
(--windows), the means of KE, R_HJ, R_T, the terminal cost with h and re-simulated with
h/2 and their difference, and the largest |grad gamma|.

usage: analysis/mnist_summary.py ROOT [--window 100] [--windows 500-1000,2000-2500,4000-5000]"""
import argparse
import glob
import json
import os
import re
import sys

sys.dont_write_bytecode = True  # keep the source tree clean of __pycache__
sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
import h5py  # noqa: E402
import numpy as np  # noqa: E402
import pfio  # noqa: E402


MODES = ["w1w2", "w1", "w1w2_kinref", "w1w2_seed2", "w2", "none"]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("root")
    ap.add_argument("--window", type=int, default=100, help="iterations averaged (default 100)")
    ap.add_argument("--windows", default="500-1000,2000-2500,4000-5000",
                    help="LO-HI,...: iterations LO < it <= HI of the window table")
    a = ap.parse_args()
    windows = [tuple(int(v) for v in w.split("-")) for w in a.windows.split(",") if w]
    diags = {}
    print(f"| mode | iterations | wall s | KE (mean, last {a.window}) | terminal cost | R_HJ | R_T "
          "| max lip. | lip > 100 at | lip > 1000 at | non-finite |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for mode in MODES:
        path = os.path.join(a.root, mode, "run.h5")
        if not os.path.exists(path):
            continue
        with h5py.File(path, "r") as f:
            d = {k: f["diagnostics"][k][...] for k in f["diagnostics"]}
        diags[mode] = d
        it = d["iteration"]
        last = it[-1]
        w = it > last - a.window
        m = lambda k: np.nanmean(d[k][w])
        lip = d["lipschitz_max"]
        first = lambda thr: (str(int(it[np.argmax(lip > thr)])) if np.any(lip > thr) else "-")
        # the sparse quality metrics are NaN where they were not evaluated: no blow-up
        bad = [k for k in d if k not in pfio.SPARSE_DIAGNOSTICS and not np.all(np.isfinite(d[k]))]
        nonfinite = (str(int(it[np.argmax(~np.isfinite(d[bad[0]]))])) if bad else "none")
        print(f"| {mode} | {int(last)} | {d['wall_s'][-1]:.0f} | {m('kinetic'):.2f} | {m('divergence'):.3g} "
              f"| {m('hj_residual'):.3f} | {m('hj_terminal'):.3g} | {np.nanmax(lip):.3g} | {first(100)} "
              f"| {first(1000)} | {nonfinite} |")
    quality_table(a.root)
    window_table(diags, windows)


def window_table(diags, windows):
    rows = []
    for mode, d in diags.items():
        it = d["iteration"]
        for lo, hi in windows:
            w = (it > lo) & (it <= hi)
            if not w.any():
                continue
            m = lambda k: np.nanmean(d[k][w])
            h, h2 = m("divergence"), m("divergence_half_step")
            rows.append(f"| {mode} | {lo}-{hi} | {m('kinetic'):.2f} | {m('hj_residual'):.3f} "
                        f"| {m('hj_terminal'):.2f} | {h:.3f} | {h2:.3f} | {abs(h - h2):.3f} "
                        f"| {np.nanmax(d['lipschitz_max'][w]):.2f} |")
    if not rows:
        return
    print()
    print("| mode | iterations | KE | R_HJ | R_T (terminal residual) | terminal cost (h) "
          "| terminal cost re-simulated with h/2 | difference | max \\|grad gamma\\| |")
    print("|---|---|---|---|---|---|---|---|---|")
    print("\n".join(rows))


def quality_table(root):
    rows = []
    for order, mode in enumerate(MODES):
        for path in glob.glob(os.path.join(root, mode, "quality_*.json")):
            it = int(re.search(r"quality_(\d+)\.json$", path).group(1))
            with open(path) as f:
                q = json.load(f)
            rows.append((order, it, mode, q["sets"][0]))
    if not rows:
        return
    print()
    print("| mode | iteration | FD | H (bits) | classes >= 5 % | conf | out[0,1] "
          "| predicted classes, % (0 1 2 3 4 5 6 7 8 9) | real A FD | reference FD |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for _, it, mode, st in sorted(rows):
        g = st["generated"]
        h = np.asarray(g["histogram"], float)
        pct = " ".join(f"{v:.0f}" for v in 100 * h / h.sum())
        print(f"| {mode} | {it} | {g['frechet']:.1f} | {g['entropy_bits']:.3f} | {g['classes_ge_5pct']} "
              f"| {g['confident']:.3f} | {g['out_of_range']:.3f} | {pct} | {st['real']['frechet']:.2f} "
              f"| {st['reference']['frechet']:.1f} |")


if __name__ == "__main__":
    main()
