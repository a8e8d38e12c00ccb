#!/usr/bin/python3
"""Discretisation invariance (SPEC §1.8, §6.2): samples generated from the same trained
potential and the same starting points with Nt, 2 Nt, 4 Nt ... Euler steps (files
written by `proxflow sample --steps K --seed S` with one seed).  Prints the mean
absolute difference per coordinate (per pixel for images) of every file against the
first, and writes a PNG: one row of images (or a 2-D scatter) per step count.

example:
  for k in 5 10 20; do proxflow sample --checkpoint CKPT --n 64 --steps $k --out s$k.h5; done
  analysis/discretisation.py s5.h5 s10.h5 s20.h5 --image-shape 28,28,1 --out invariance.png
"""
import argparse
import os
import sys

import h5py
import numpy as np

import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def load(path):
    with h5py.File(path, "r") as f:
        x = f["samples"][...].astype(np.float64)
        steps = int(f.attrs["steps"]) if "steps" in f.attrs else None
        ref = f["reference"][...] if "reference" in f else None
    return x, steps, ref


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("files", nargs="+", help="sample files, coarsest step first")
    ap.add_argument("--image-shape", default=None, help="H,W,C of image rows (e.g. 28,28,1)")
    ap.add_argument("--n", type=int, default=10, help="images per row (default 10)")
    ap.add_argument("--label", default="", help="title prefix (e.g. the run's mode)")
    ap.add_argument("--out", default="discretisation.png")
    a = ap.parse_args()
    sets = [load(p) for p in a.files]
    base, _, ref0 = sets[0]
    for (x, _, ref), p in zip(sets, a.files):
        if x.shape != base.shape:
            sys.exit(f"{p}: shape {x.shape} differs from {a.files[0]} {base.shape}")
        if ref is not None and ref0 is not None and not np.array_equal(ref, ref0):
            sys.exit(f"{p}: other starting points than {a.files[0]} (use one --seed)")
    rows = []
    for (x, steps, _), p in zip(sets, a.files):
        mad = float(np.mean(np.abs(x - base)))
        rows.append((p, steps, mad))
        print(f"{os.path.basename(p)}\tsteps {steps}\tmean |x - x_first| per coordinate {mad:.5f}")
    # panel names: the step count (a file without the `steps` attribute: its name); the
    # first file is the one the others are compared with
    names = [f"{s} steps" if s is not None else os.path.basename(p) for (_, s, _), p in zip(sets, a.files)]
    diffs = ["(the reference)"] + [f"|diff| {m:.4f}" for _, _, m in rows[1:]]
    shape = tuple(int(v) for v in a.image_shape.split(",")) if a.image_shape else None
    k = len(sets)
    if shape:
        H, W, C = shape
        n = min(a.n, base.shape[0])
        fig, axes = plt.subplots(k, n, figsize=(1.1 * n, 1.25 * k + 0.6), squeeze=False)
        for r, ((x, steps, _), (_, _, mad)) in enumerate(zip(sets, rows)):
            for c in range(n):
                ax = axes[r][c]
                img = x[c].reshape(C, H, W).transpose(1, 2, 0)
                ax.imshow(img[:, :, 0] if C == 1 else np.clip(img, 0, 1), cmap="gray", vmin=0, vmax=1)
                ax.set_xticks([]); ax.set_yticks([])
            axes[r][0].set_ylabel(f"{names[r]}\n{diffs[r]}", fontsize=8)
    else:
        fig, axes = plt.subplots(1, k, figsize=(4 * k, 4), squeeze=False)
        for r, ((x, steps, _), (_, _, mad)) in enumerate(zip(sets, rows)):
            ax = axes[0][r]
            ax.scatter(x[:, 0], x[:, 1], s=3)
            ax.set_title(f"{names[r]}, " + (diffs[r] if r == 0 else f"mean {diffs[r]}"), fontsize=9)
            ax.set_xlabel("$x_0$"); ax.set_ylabel("$x_1$")
    fig.suptitle(f"{a.label} discretisation invariance: same potential, same x0, h, h/2, h/4 ...".strip())
    fig.tight_layout()
    fig.savefig(a.out, dpi=110)
    print(f"wrote {a.out}")


if __name__ == "__main__":
    main()
