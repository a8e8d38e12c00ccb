#!/usr/bin/python3
"""Plots of a `proxflow chain` run (SPEC section 8, docs/CHAIN.md), from its files only.

    /usr/bin/python3 analysis/plot_chain.py runs/chain_2d [--out DIR]

Writes into DIR (default: the chain directory):
- chain_links.png: per link, the divergence estimate at the link's start and end (same
  discriminator), the W2 step sqrt(E|x^T - x^0|^2), the sliced W1 to held-out data,
  the kinetic energy and the HJ residual;
- chain_pools.png: the pools of successive links (pool_00 = rho_0 draws, pool_k = the
  output of link k): 2-D scatter for d = 2 (the first two coordinates, said so, for
  other d) over the target data drawn lightly (link 1's run.h5 /samples/data, held-out
  samples; absent in a chain written before issue 21), an image grid for image data
  (run.h5 image_shape of link 1).
It prints one line per link as a table too."""
import argparse
import math
import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
import pfio  # noqa: E402,F401  (sets HDF5_USE_FILE_LOCKING)

import h5py  # noqa: E402
import matplotlib  # noqa: E402
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

FIELDS = ["divergence_start", "divergence_end", "w2_step", "sliced_w1", "kinetic",
          "hj_residual", "train_seconds"]


def load_links(d):
    with h5py.File(os.path.join(d, "chain.h5"), "r") as f:
        links = {k: f["links"][k][()] for k in f["links"]}
        attrs = dict(f.attrs)
    return links, attrs


def pools(d):
    out, k = [], 0
    while True:
        p = os.path.join(d, "pools", f"pool_{k:02d}.h5")
        if not os.path.exists(p):
            return out
        with h5py.File(p, "r") as f:
            out.append((k, f["pool"][()]))
        k += 1


def image_shape(d):
    p = os.path.join(d, "link_01", "run.h5")
    try:
        with h5py.File(p, "r") as f:
            s = f.attrs.get("image_shape")
            return tuple(int(v) for v in s) if s is not None and int(s[0]) > 0 else None
    except OSError:
        return None


def target_data(d):
    """Held-out target samples the links' run.h5 store (/samples/data), or None."""
    for name in sorted(os.listdir(d)) if os.path.isdir(d) else []:
        p = os.path.join(d, name, "run.h5")
        if name.startswith("link_") and os.path.exists(p):
            try:
                with h5py.File(p, "r") as f:
                    if "samples/data" in f:
                        return f["samples/data"][()]
            except OSError:
                pass
    return None


def grid(rows, shape, n=36):
    H, W, C = shape
    g = int(math.ceil(math.sqrt(n)))
    img = np.ones((g * (H + 1), g * (W + 1)))
    for i in range(min(n, rows.shape[0])):
        r, c = divmod(i, g)
        x = rows[i].reshape(C, H, W)[0]  # channel-major rows; first channel
        img[r * (H + 1):r * (H + 1) + H, c * (W + 1):c * (W + 1) + W] = x
    return img


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("chain", help="chain directory (holds chain.h5)")
    ap.add_argument("--out", help="directory for the PNG files (default: the chain's)")
    a = ap.parse_args()
    out = a.out or a.chain
    os.makedirs(out, exist_ok=True)
    links, attrs = load_links(a.chain)
    if len(links.get("link", [])) == 0:
        sys.exit(f"plot_chain: {a.chain}/chain.h5 records no finished link yet")
    k = links["link"].astype(int)
    print("link " + " ".join(f"{n:>16s}" for n in FIELDS))
    for i in range(len(k)):
        print(f"{k[i]:4d} " + " ".join(f"{links[n][i]:16.5g}" for n in FIELDS))

    fig, ax = plt.subplots(1, 3, figsize=(13, 3.6))
    ax[0].plot(k, links["divergence_start"], "o--", label="start of link")
    ax[0].plot(k, links["divergence_end"], "o-", label="end of link")
    ax[0].set_title("divergence estimate (link's discriminator)")
    ax[0].legend()
    ax[1].plot(k, links["w2_step"], "o-", label="W2 step sqrt(E|x^T-x^0|^2)")
    ax[1].plot(k, links["sliced_w1"], "s-", label="sliced W1 to held-out data")
    ax[1].set_title("step length and distance to the data")
    ax[1].legend()
    ax[2].plot(k, links["kinetic"], "o-", label="kinetic energy")
    ax[2].plot(k, links["hj_residual"], "s-", label="R_HJ")
    ax[2].set_title("per-link HJ indicators")
    hj = np.concatenate([links["kinetic"], links["hj_residual"]])
    if np.all(np.isfinite(hj)) and np.all(hj > 0):
        ax[2].set_yscale("log")  # both are drawn on one axis and may differ by decades
    ax[2].legend()
    for x in ax:
        x.set_xlabel("link k")
        x.set_xticks(k)
    fig.suptitle(f"{a.chain}: {int(attrs.get('completed', len(k)))} of {int(attrs.get('links', len(k)))} links")
    fig.tight_layout()
    p1 = os.path.join(out, "chain_links.png")
    fig.savefig(p1, dpi=110, bbox_inches="tight", pad_inches=0.15)
    plt.close(fig)

    P = pools(a.chain)
    shape = image_shape(a.chain)
    n = len(P)
    cols = min(n, 5)
    rows = int(math.ceil(n / cols))
    fig, ax = plt.subplots(rows, cols, figsize=(3.2 * cols, 3.2 * rows), squeeze=False)
    lim = None
    data = target_data(a.chain) if shape is None else None
    if data is not None and data.shape[1] != P[0][1].shape[1]:
        data = None
    if shape is None:
        allx = np.concatenate([x[:, :2] for _, x in P] + ([data[:, :2]] if data is not None else []))
        lo, hi = np.percentile(allx, 0.5, axis=0), np.percentile(allx, 99.5, axis=0)
        lim = (lo - 0.1 * (hi - lo), hi + 0.1 * (hi - lo))
    for i, (kk, x) in enumerate(P):
        axi = ax[i // cols][i % cols]
        if shape is not None:
            axi.imshow(grid(x, shape), cmap="gray", vmin=0, vmax=1)
            axi.axis("off")
        else:
            if data is not None:  # lightly, underneath: where the pools should go
                axi.scatter(data[:, 0], data[:, 1], s=2, alpha=0.25, color="tab:orange",
                            edgecolors="none", zorder=1, label="target data")
            axi.scatter(x[:, 0], x[:, 1], s=1, alpha=0.4, color="tab:blue", zorder=2,
                        label="pool")
            axi.set_xlim(lim[0][0], lim[1][0])
            axi.set_ylim(lim[0][1], lim[1][1])
            axi.set_aspect("equal")
        axi.set_title("rho_0 draws (pool 0)" if kk == 0 else f"after link {kk}")
    for j in range(n, rows * cols):
        ax[j // cols][j % cols].axis("off")
    note = "" if shape is not None or P[0][1].shape[1] == 2 else " (first two coordinates)"
    if data is not None:
        note += f"; orange: {len(data)} target data samples"
        ax[0][0].legend(loc="upper right", fontsize=7, markerscale=4, framealpha=0.7)
    fig.suptitle(f"pools of successive links{note}")
    # tight_layout leaves no room for the suptitle on a one-row figure: reserve it
    fig.tight_layout(rect=(0, 0, 1, 1 - 0.45 / fig.get_figheight()))
    p2 = os.path.join(out, "chain_pools.png")
    fig.savefig(p2, dpi=110, bbox_inches="tight", pad_inches=0.15)
    plt.close(fig)
    print(f"wrote {p1}, {p2}")


if __name__ == "__main__":
    main()
