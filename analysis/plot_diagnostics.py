#!/usr/bin/python3
"""Diagnostic curves of several proxflow runs on shared axes (the paper's figure 2).

One subplot per metric, x = iteration (or wall-clock seconds), one line per run.
NaN entries are skipped, so a run that blew up simply stops (the sample-quality
metrics sliced_w1, mmd2, manifold_distance are drawn where they were recorded).
Where a run was resumed (run.h5 /history) a dashed vertical line is drawn, a red
dash-dotted one where the resume changed a model or objective key.  Runs are read from
run.h5 with h5py only, also while they train."""
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

DEFAULT_METRICS = "kinetic,hj_residual,hj_terminal,divergence,loss_d,loss_g"

TITLES = {
    "kinetic": "kinetic energy",
    "hj_residual": "HJ residual $R_{HJ}$",
    "hj_terminal": "terminal residual $R_T$",
    "divergence": "terminal cost (divergence)",
    "divergence_half_step": "divergence, half step",
    "loss_d": "discriminator loss",
    "loss_g": "potential loss",
    "lipschitz_max": r"max $|\nabla\gamma|$",
    "grad_norm_phi": r"$|\nabla_\theta|$ potential",
    "grad_norm_gamma": r"$|\nabla_\psi|$ discriminator",
    "seconds_per_iteration": "seconds per iteration",
    "samples_per_second": "samples per second",
    "penalty": "Lipschitz penalty",
    "nu": r"shift $\nu$",
    "wall_s": "wall-clock seconds",
    "sliced_w1": "sliced W1 to held-out data",
    "mmd2": "MMD$^2$ to held-out data",
    "manifold_distance": "mean distance to the manifold",
}


# Values of the last training step: the record at iteration 0 is taken before any step
# and holds 0 for them (docs/OUTPUT.md), which is no measurement, so it is not drawn.
STEP_METRICS = {"loss_d", "loss_g", "grad_norm_phi", "grad_norm_gamma", "penalty",
                "seconds_per_iteration", "samples_per_second"}


def parse_list(values):
    """['a,b', 'c'] -> ['a', 'b', 'c']"""
    out = []
    for v in values or []:
        out.extend(x.strip() for x in v.split(",") if x.strip())
    return out


def mark_sessions(ax, runs, colors):
    """Vertical lines where a run was resumed (/history, docs/OUTPUT.md): dashed, and
    red dash-dotted where the resume changed a model or objective key."""
    for j, r in enumerate(runs):
        for h in r.history:
            if h.get("kind") != "resume":
                continue
            x0 = h.get("start_iteration", 0)
            if h.get("model_changed"):
                ax.axvline(x0, color="red", ls="-.", lw=1.2, alpha=0.8,
                           label="resumed, config changed")
            else:
                ax.axvline(x0, color=colors[j % len(colors)], ls="--", lw=0.9, alpha=0.6,
                           label="resumed")


def main(argv=None):
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="example: plot_diagnostics.py runs/w1w2 runs/w1 --metrics "
               "kinetic,divergence,hj_residual,hj_terminal --logy --out fig2.png")
    ap.add_argument("runs", nargs="+", metavar="RUN_DIR",
                    help="run directories (or run.h5 files, or directories holding runs)")
    ap.add_argument("--out", metavar="FILE.png",
                    help="output PNG (default: RUN_DIR/diagnostics.png for one run, "
                         "./diagnostics.png otherwise)")
    ap.add_argument("--metrics", default=DEFAULT_METRICS,
                    help=f"comma-separated diagnostics names (default: {DEFAULT_METRICS})")
    ap.add_argument("--labels", nargs="+", metavar="LABEL",
                    help="legend labels, one per run (space- or comma-separated; "
                         "default: flow.mode and the directory name)")
    ap.add_argument("--logy", action="store_true",
                    help="log-scale y on every subplot whose plotted values are all > 0")
    ap.add_argument("--x", dest="xname", default="iteration", choices=["iteration", "wall_s"],
                    help="x axis (default: iteration)")
    ap.add_argument("--title", help="figure title")
    args = ap.parse_args(argv)

    runs = pfio.expand_runs(args.runs)
    metrics = parse_list([args.metrics])
    if not metrics:
        ap.error("--metrics is empty")
    labels = parse_list(args.labels) if args.labels else [r.label for r in runs]
    if len(labels) != len(runs):
        ap.error(f"{len(labels)} labels for {len(runs)} runs")

    known = set().union(*(r.diagnostics.keys() for r in runs))
    unknown = [m for m in metrics if m not in known]
    if unknown:
        ap.error(f"unknown metric(s) {', '.join(unknown)}; the runs have: "
                 f"{', '.join(sorted(known))}")

    n = len(metrics)
    ncols = min(n, 3) if n != 4 else 2
    nrows = math.ceil(n / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(4.6 * ncols, 3.4 * nrows + 0.6),
                             squeeze=False)
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for i, m in enumerate(metrics):
        ax = axes[i // ncols][i % ncols]
        all_pos = True
        any_data = False
        for j, (r, lab) in enumerate(zip(runs, labels)):
            x = r.diagnostics.get(args.xname)
            y = r.diagnostics.get(m)
            if x is None or y is None:
                continue
            ok = np.isfinite(x) & np.isfinite(y)
            if m in STEP_METRICS and "iteration" in r.diagnostics:
                ok &= r.diagnostics["iteration"] > 0
            if not ok.any():
                continue
            any_data = True
            all_pos &= bool(np.all(y[ok] > 0))
            style = "-" if len(runs) <= len(colors) else ["-", "--", ":", "-."][(j // len(colors)) % 4]
            ax.plot(x[ok], y[ok], style, color=colors[j % len(colors)], lw=1.5,
                    marker="o" if ok.sum() <= 30 else None, ms=3, label=lab)
            if m not in pfio.SPARSE_DIAGNOSTICS and not np.isfinite(y[-1]):
                # the curve stops: mark where the run blew up (a sparse metric's NaN
                # only means "not evaluated there")
                k = np.flatnonzero(ok)[-1]
                ax.plot(x[k], y[k], "x", color=colors[j % len(colors)], ms=9, mew=2)
        if args.xname == "iteration":
            mark_sessions(ax, runs, colors)
        if args.logy and any_data and all_pos:
            ax.set_yscale("log")
        if not any_data:
            ax.text(0.5, 0.5, "no finite values", ha="center", va="center",
                    transform=ax.transAxes, color="gray")
        ax.set_title(TITLES.get(m, m) + (f"  [{m}]" if m in TITLES else ""), fontsize=10)
        ax.set_xlabel("iteration" if args.xname == "iteration" else "wall-clock seconds")
        ax.set_ylabel(m)
        ax.grid(True, alpha=0.3, which="major")
        ax.grid(True, alpha=0.1, which="minor")
    for i in range(n, nrows * ncols):
        axes[i // ncols][i % ncols].axis("off")
    handles, labs = axes[0][0].get_legend_handles_labels()
    for row in axes:
        for ax in row:
            h, lb = ax.get_legend_handles_labels()
            if len(lb) > len(labs):
                handles, labs = h, lb
    seen = {}  # one legend entry per label (a run resumed twice has two lines)
    for h, lb in zip(handles, labs):
        seen.setdefault(lb, h)
    handles, labs = list(seen.values()), list(seen.keys())
    ncol = max(1, min(len(labs), 4 if max((len(lb) for lb in labs), default=0) <= 18 else 3,
                      ncols * 2))
    nleg = math.ceil(len(labs) / ncol) if labs else 0
    height = fig.get_figheight()
    top_in = 0.3 + 0.2 * nleg  # title, then the legend rows, above the subplots
    title = args.title or ("proxflow diagnostics" if len(runs) > 1
                           else f"proxflow diagnostics: {runs[0].dir}")
    fig.suptitle(title, y=1 - 0.08 / height, va="top", fontsize=11)
    if labs:
        fig.legend(handles, labs, loc="upper center", ncol=ncol, fontsize=9,
                   bbox_to_anchor=(0.5, 1 - 0.38 / height), frameon=False)
    fig.tight_layout(rect=(0, 0, 1, 1 - top_in / height))

    out = args.out or (os.path.join(runs[0].dir, "diagnostics.png") if len(runs) == 1
                       else "diagnostics.png")
    pfio.savefig(fig, out)
    for r, lab in zip(runs, labels):
        print(f"  {lab}: {r.n_records} records, last iteration {r.last_iteration}, "
              f"status {r.status()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
