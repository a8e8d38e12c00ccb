#!/usr/bin/python3
"""Discretisation invariance (SPEC §1.8, §6.2): samples generated from the same trained
potential and the same starting points with Nt, 2 Nt, 4 Nt ... Euler steps (files
written by `proxflow sample --steps K --seed S` with one seed).  Prints the mean
absolute difference per coordinate (per pixel for images) of every file against the
finest one (the most steps, the best approximation of the continuous flow; files
without a `steps` attribute: the first given), and writes a PNG: one row of images (or
a 2-D scatter) per step count.

With --features (MNIST rows of 784 values) the same comparison in the feature space of
the project's classifier (analysis/mnist_quality.py): per file against the reference
(the finest), the mean distance |f(x_k) - f(x_ref)| of the 64 penultimate-layer features of the same
sample, relative to the mean feature norm; the share of samples whose predicted class
is unchanged; and each file's classifier-feature Frechet distance (FD) to held-out
digits, beside that between the reference file and the others (invariance: the FD
between step counts small against the FD to real digits).  JSON: fd_to_first is that
FD to the reference (the name predates issue 21), also as fd_to_reference.

example:
  for k in 5 10 20; do proxflow sample --checkpoint CKPT --n 64 --steps $k --out s$k.h5; done
  analysis/discretisation.py s5.h5 s10.h5 s20.h5 --image-shape 28,28,1 --out invariance.png
  analysis/discretisation.py s5.h5 s10.h5 s20.h5 --features --json invariance.json
"""
import json
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


def reference_index(steps):
    """The file the others are compared with: the most steps (the finest h); the first
    when no file says its steps."""
    known = [(s, i) for i, s in enumerate(steps) if s is not None]
    return max(known)[1] if known else 0


def feature_invariance(xs, names, data_dir=None, ref=0):
    """The step invariance in the classifier's feature space: rows per file (see the
    module docstring), against file ref."""
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import mnist_quality as mq
    if xs[0].shape[1] != 784:
        sys.exit(f"--features: rows of {xs[0].shape[1]} values, the classifier takes 28 x 28 = 784")
    q = mq.Quality(data_dir)
    feats = []
    for x in xs:
        f, logits = q.clf.features(np.clip(x, 0, 1))
        feats.append((f, logits.argmax(axis=1)))
    f0, c0 = feats[ref]
    mu0, S0 = mq.gaussian_stats(f0)
    scale = float(np.mean(np.linalg.norm(f0, axis=1)))
    res = []
    print(f"classifier features (test accuracy {q.accuracy:.4f}); mean feature norm of {os.path.basename(names[ref])}: {scale:.4f}")
    for (f, c), p in zip(feats, names):
        mu, S = mq.gaussian_stats(f)
        r = {"file": p,
             "feature_dist_rel": float(np.mean(np.linalg.norm(f - f0, axis=1))) / scale,
             "same_class": float(np.mean(c == c0)),
             "fd_to_first": mq.frechet(mu, S, mu0, S0),  # to the reference file
             "fd_to_real": mq.frechet(mu, S, q.mu_b, q.S_b)}
        r["fd_to_reference"] = r["fd_to_first"]
        res.append(r)
        print(f"{os.path.basename(p)}\tfeature |f - f_ref| / |f| {r['feature_dist_rel']:.4f}"
              f"\tsame class {100 * r['same_class']:.1f} %\tFD to reference {r['fd_to_first']:.3f}"
              f"\tFD to held-out digits {r['fd_to_real']:.3f}")
    return res


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("files", nargs="+", help="sample files (the one with the most steps is "
                    "the reference)")
    ap.add_argument("--image-shape", default=None, help="H,W,C of image rows (e.g. 28,28,1)")
    ap.add_argument("--n", type=int, default=10, help="images per row (default 10)")
    ap.add_argument("--label", default="", help="title prefix (e.g. the run's mode)")
    ap.add_argument("--out", default="discretisation.png")
    ap.add_argument("--features", action="store_true",
                    help="also compare in the MNIST classifier's feature space (784-value rows)")
    ap.add_argument("--data-dir", default=None, help="MNIST folder for --features (default: the shared data)")
    ap.add_argument("--json", default=None, help="write the figures to this JSON file")
    a = ap.parse_args()
    sets = [load(p) for p in a.files]
    iref = reference_index([st for _, st, _ in sets])
    base, _, ref0 = sets[iref]
    for (x, _, ref), p in zip(sets, a.files):
        if x.shape != base.shape:
            sys.exit(f"{p}: shape {x.shape} differs from {a.files[iref]} {base.shape}")
        if ref is not None and ref0 is not None and not np.array_equal(ref, ref0):
            sys.exit(f"{p}: other starting points than {a.files[iref]} (use one --seed)")
    print(f"reference: {a.files[iref]}" + (f" ({sets[iref][1]} steps, the finest)"
                                           if sets[iref][1] is not None else
                                           " (no file says its steps: the first)"))
    rows = []
    for (x, steps, _), p in zip(sets, a.files):
        mad = float(np.mean(np.abs(x - base)))
        rows.append((p, steps, mad))
        print(f"{os.path.basename(p)}\tsteps {steps}\tmean |x - x_ref| per coordinate {mad:.5f}")
    out = {"reference": a.files[iref],
           "files": [{"file": p, "steps": st, "mean_abs_diff": m} for p, st, m in rows]}
    if a.features:
        out["features"] = feature_invariance([x for x, _, _ in sets], a.files, a.data_dir, iref)
    if a.json:
        with open(a.json, "w") as f:
            json.dump(out, f, indent=1)
        print(f"wrote {a.json}")
    # panel names: the step count (a file without the `steps` attribute: its name); the
    # reference file is the one the others are compared with
    names = [f"{s} steps" if s is not None else os.path.basename(p) for (_, s, _), p in zip(sets, a.files)]
    diffs = ["(the reference)" if r == iref else f"|diff| {m:.4f}" for r, (_, _, m) in enumerate(rows)]
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
            ax.set_title(f"{names[r]} " + (diffs[r] if r == iref else f"(mean {diffs[r]})"), fontsize=9)
            ax.set_xlabel("$x_0$"); ax.set_ylabel("$x_1$")
    fig.suptitle(f"{a.label} discretisation invariance: same potential, same x0; "
                 f"differences to {names[iref]}".strip())
    fig.tight_layout()
    fig.savefig(a.out, dpi=110)
    print(f"wrote {a.out}")


if __name__ == "__main__":
    main()
