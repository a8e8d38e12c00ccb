#!/usr/bin/python3
"""Generated samples of a proxflow run (or of a file written by `proxflow sample`).

- d = 2: scatter of /samples/generated beside /samples/reference (their starting
  points x^0), on the same axes limits, with the target data (a run's /samples/data:
  held-out samples) drawn lightly under both;
- d > 2: the same with the first two coordinates, and a note saying so;
- image data (root attribute image_shape = [H, W, C] with H > 0): a grid of images
  (8 x 8 by default), generated beside reference, gray colormap for C = 1.

Rows of image data are read as H x W x C in row-major order (C = 1 for MNIST)."""
import argparse
import math
import os
import sys

sys.dont_write_bytecode = True  # keep the source tree clean of __pycache__
sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
import pfio  # noqa: E402

import matplotlib  # noqa: E402
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def image_grid(rows, shape, n):
    """rows [m, H*W*C] -> one image [g*H + gaps, g*W + gaps(, C)] of the first n."""
    H, W, C = shape
    n = min(n, rows.shape[0])
    g = max(1, math.ceil(math.sqrt(n)))
    gr = math.ceil(n / g)
    pad = 1
    canvas = np.full((gr * (H + pad) + pad, g * (W + pad) + pad, C), np.nan, dtype=np.float64)
    for k in range(n):
        i, j = divmod(k, g)
        img = rows[k].reshape(H, W, C)
        canvas[pad + i * (H + pad): pad + i * (H + pad) + H,
               pad + j * (W + pad): pad + j * (W + pad) + W] = img
    return canvas[..., 0] if C == 1 else canvas


def main(argv=None):
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="examples: plot_samples.py runs/x --out samples.png\n"
               "          plot_samples.py samples.h5   (from proxflow sample)")
    ap.add_argument("source", metavar="RUN_DIR_or_SAMPLE_H5",
                    help="a run directory, its run.h5, or a file written by proxflow sample")
    ap.add_argument("--out", metavar="FILE.png",
                    help="output PNG (default: RUN_DIR/samples.png, or SAMPLE.png beside "
                         "a sample file)")
    ap.add_argument("--n", type=int, default=64, help="images in a grid (default 64: 8 x 8)")
    ap.add_argument("--max-points", type=int, default=5000,
                    help="at most this many points per scatter (default 5000)")
    ap.add_argument("--dims", default="0,1",
                    help="the two coordinates of a scatter for d > 2 (default 0,1)")
    ap.add_argument("--vmin", type=float, help="image gray level of black (default: data)")
    ap.add_argument("--vmax", type=float, help="image gray level of white (default: data)")
    ap.add_argument("--image-shape", metavar="H,W,C",
                    help="draw the rows as H x W x C images (default: the file's "
                         "image_shape attribute; 0,0,0 draws a scatter)")
    ap.add_argument("--data", metavar="RUN_or_FILE.h5[:/DATASET]",
                    help="target data drawn under a scatter (default: the run's "
                         "/samples/data; for a proxflow sample file, that of the run of its "
                         "checkpoint)")
    ap.add_argument("--no-data", action="store_true", help="do not draw the target data")
    args = ap.parse_args(argv)

    s = pfio.load_samples_file(args.source)
    if args.image_shape:
        try:
            shp = tuple(int(v) for v in args.image_shape.split(","))
        except ValueError:
            shp = ()
        if len(shp) != 3:
            ap.error("--image-shape takes H,W,C, e.g. 28,28,1")
        s["image_shape"] = shp if shp[0] > 0 else None
    gen, ref = np.asarray(s["generated"], dtype=np.float64), s["reference"]
    if gen.ndim == 1:
        gen = gen[:, None]
    if ref is not None:
        ref = np.asarray(ref, dtype=np.float64)
        if ref.ndim == 1:
            ref = ref[:, None]
    d = gen.shape[1]
    shape = s["image_shape"]
    it = f" at iteration {s['iteration']}" if s.get("iteration") is not None else ""
    panels = [("generated", gen)] + ([("reference (starting points $x^0$)", ref)]
                                     if ref is not None else [])
    data = None if args.no_data else (
        pfio.load_target_data(args.data) if args.data else s.get("data"))
    if data is not None:
        data = np.asarray(data, dtype=np.float64).reshape(len(data), -1)
        if data.shape[1] != d:
            print(f"note: the target data have d = {data.shape[1]}, the samples {d}; "
                  "not drawn", file=sys.stderr)
            data = None

    if shape is not None and int(np.prod(shape)) != d:
        print(f"note: image shape {shape} does not match d = {d}; drawing a scatter",
              file=sys.stderr)
    if shape is not None and int(np.prod(shape)) == d:
        H, W, C = shape
        vals = gen[np.isfinite(gen)]
        vmin = args.vmin if args.vmin is not None else (
            min(0.0, float(np.percentile(vals, 0.5))) if vals.size else 0.0)
        vmax = args.vmax if args.vmax is not None else (
            max(vmin + 1e-12, float(np.percentile(vals, 99.5))) if vals.size else 1.0)
        ncell = min(args.n, gen.shape[0])
        g = max(1, math.ceil(math.sqrt(ncell)))
        aspect = math.ceil(ncell / g) * (H + 1) / (g * (W + 1))
        fig, axes = plt.subplots(1, len(panels), squeeze=False, layout="constrained",
                                 figsize=(4.4 * len(panels) + 1.0, 4.4 * aspect + 0.7))
        for ax, (name, rows) in zip(axes[0], panels):
            img = image_grid(rows, shape, args.n)
            if C == 1:
                cmap = plt.get_cmap("gray").copy()
                cmap.set_bad("white")
                im = ax.imshow(img, cmap=cmap, vmin=vmin, vmax=vmax, interpolation="nearest")
            else:
                im = None
                ax.imshow(np.clip((np.nan_to_num(img, nan=vmax) - vmin) / (vmax - vmin), 0, 1),
                          interpolation="nearest")
            ax.set_title(f"{name}: {min(args.n, rows.shape[0])} of {rows.shape[0]}", fontsize=10)
            ax.set_xticks([])
            ax.set_yticks([])
        if C == 1 and im is not None:
            fig.colorbar(im, ax=list(axes[0]), shrink=0.8, label="pixel value")
        fig.suptitle(f"{s['label']}: {H}x{W}x{C} images{it}", fontsize=11)
    else:
        dims = pfio.plot_dims(ap, args.dims, d)
        rng = np.random.default_rng(0)
        fin = np.concatenate([p[:, dims][np.all(np.isfinite(p[:, dims]), axis=1)]
                              for p in [p for _, p in panels] + ([data] if data is not None else [])])
        lo, hi = (fin.min(axis=0), fin.max(axis=0)) if fin.size else (np.zeros(2), np.ones(2))
        span = np.maximum(hi - lo, 1e-9)
        lo, hi = lo - 0.05 * span, hi + 0.05 * span
        fig, axes = plt.subplots(1, len(panels), figsize=(5.0 * len(panels), 5.3), squeeze=False)
        colors = ["tab:blue", "tab:gray"]
        for k, (ax, (name, p)) in enumerate(zip(axes[0], panels)):
            if p.shape[0] > args.max_points:
                p = p[rng.choice(p.shape[0], args.max_points, replace=False)]
            if d == 1:
                if data is not None:
                    ax.hist(data[:, 0][np.isfinite(data[:, 0])], bins=50, color="tab:orange",
                            alpha=0.3, label="target data")
                ax.hist(p[:, 0][np.isfinite(p[:, 0])], bins=50, color=colors[k], alpha=0.8)
                ax.set_xlim(lo[0], hi[0])
                ax.set_xlabel("x")
                ax.set_ylabel("count")
            else:
                if data is not None:  # lightly, underneath: where the samples should be
                    ax.scatter(data[:, dims[0]], data[:, dims[1]], s=5, alpha=0.25,
                               color="tab:orange", edgecolors="none", zorder=1,
                               label=f"target data (n = {len(data)})")
                ax.scatter(p[:, dims[0]], p[:, dims[1]], s=6, alpha=0.6, color=colors[k],
                           edgecolors="none", zorder=2, label=name.split(" ")[0])
                if data is not None:
                    ax.legend(loc="upper right", fontsize=8, markerscale=2, framealpha=0.7)
                ax.set_xlim(lo[0], hi[0])
                ax.set_ylim(lo[1], hi[1])
                ax.set_aspect("equal", adjustable="box")
                ax.set_xlabel(f"$x_{{{dims[0]}}}$")
                ax.set_ylabel(f"$x_{{{dims[1]}}}$")
            ax.set_title(f"{name} (n = {p.shape[0]})", fontsize=10)
            ax.grid(True, alpha=0.3)
        title = f"{s['label']}: samples{it}, d = {d}"
        fig.suptitle(title, fontsize=11)
        if d > 2:
            fig.text(0.5, 0.01, f"note: d = {d} > 2; showing coordinates {dims[0]} and "
                     f"{dims[1]} only", ha="center", fontsize=9, style="italic")

    out = args.out
    if not out:
        src = os.path.normpath(args.source)
        if os.path.isdir(src):
            out = os.path.join(src, "samples.png")
        elif os.path.basename(src) == pfio.RUN_FILE:
            out = os.path.join(os.path.dirname(src) or ".", "samples.png")
        else:
            out = os.path.splitext(src)[0] + ".png"
    if shape is None:
        fig.tight_layout(rect=(0, 0.03, 1, 1))
    pfio.savefig(fig, out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
