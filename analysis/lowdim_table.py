#!/usr/bin/python3
"""The low-dimensional table of issue 19: proxflow's cells beside the paper code's
numbers (docs/notes_lowdim.md section 5), as Markdown and JSON.

ROOT is the directory of scripts/reproduce_lowdim.sh: one run directory per cell,
ROOT/{pinwheel,moons}_d{2,7,12}_{w1w2,w2}/, each with run.h5 and the evaluations the
script wrote:

  eval.json           proxflow eval --plane --floor: generated vs n fresh held-out
                      points of proxflow's set, in the plane coordinates
  eval_notebook.json  proxflow eval --plane --data notebook_data/SET_dD.h5:/x: against
                      the notebook's own data (Moons: exactly; Pinwheel: a seeded
                      draw), absent without scikit-learn
  status              the script's record of the last training exit (optional)

Per cell: the authors' Sinkhorn divergence (printed by the notebook where it printed
one, else the notes' recomputation from their stored weights), proxflow's (against
the notebook's data when there is that file, else against the held-out points), their
ratio and a verdict, the two yardsticks of the score (`floor`: held-out data against
further data draws, what an exact generator would score; `N(0,I)`: the untrained
reference points x^0 in the plane), sliced W1, KE and R_HJ (means over the last 10
logged records), straightness, the mean distance of the generated points to the plane
(what the notebook ignores) and the run's status.

Verdict (ratio r = proxflow / authors): `better` r < 1/1.5, `within 1.5x` 1/1.5 <= r <=
1.5, `worse` r > 1.5; `authors diverged` when their run has no number (NaN weights);
`not run` / `no eval` when a cell is missing.  The "why" of a `worse` cell is the
reader's to write (docs/REPRODUCTION.md): the table only measures.

Writes ROOT/lowdim_table.md and ROOT/lowdim_table.json (--out-md, --out-json)."""
import argparse
import json
import math
import os
import sys

sys.dont_write_bytecode = True  # keep the source tree clean of __pycache__
sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
import pfio  # noqa: E402

import numpy as np  # noqa: E402

SETS = ("pinwheel", "moons")
DIMS = (2, 7, 12)
MODES = ("w1w2", "w2")
NAMES = {"pinwheel": "Pinwheel", "moons": "Moons"}
AUTHOR_MODE = {"w1w2": "D1P2", "w2": "P2"}

# docs/notes_lowdim.md section 5: (printed by the notebook or None, recomputed from the
# stored weights (Pinwheel: mean of 4 data redraws) or None, sd of the redraws or None,
# note).  None everywhere: the run diverged (NaN weights).
AUTHORS = {
    ("pinwheel", 2, "w1w2"): (0.007852695882320404, 0.00751, 0.0016, ""),
    ("pinwheel", 7, "w1w2"): (0.00986436940729618, 0.01233, 0.0006, ""),
    ("pinwheel", 12, "w1w2"): (0.019267138093709946, 0.01595, 0.0018, ""),
    ("pinwheel", 2, "w2"): (0.005358167923986912, 0.00569, 0.0009, ""),
    ("pinwheel", 7, "w2"): (None, None, None, "diverged (NaN after iteration ~24300)"),
    ("pinwheel", 12, "w2"): (None, None, None, "diverged (NaN after iteration ~14200)"),
    ("moons", 2, "w1w2"): (None, 0.0876798, None, "not printed"),
    ("moons", 7, "w1w2"): (None, 0.0298691, None, "not printed"),
    ("moons", 12, "w1w2"): (None, 0.0525944, None, "not printed"),
    ("moons", 2, "w2"): (None, 0.263569, None, "not printed"),
    ("moons", 7, "w2"): (None, None, None, "diverged (NaN after iteration ~14200)"),
    ("moons", 12, "w2"): (None, None, None, "diverged (NaN after iteration ~8800)"),
}
# The cells proxflow cannot run (no linear f, no HJ-residual loss; OT-Flow is another
# method): the authors' numbers only.
BASELINES = [
    ("Pinwheel", "PG (potential-flow GAN)", (None, None, None), (0.01138, 16.852, 3.7566), "recomputed"),
    ("Moons", "PG (potential-flow GAN)", (10.115690231323242, 221.65057373046875, 2229.814453125),
     (10.1156924, 221.650602, 2229.81247), "printed"),
    ("Moons", "OT-Flow", (2.515352249145508, 3414138.25, 167218646089728.0),
     (2.51535257, 3414135.94, 1.67218774e14), "printed"),
]


def read_json(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def num(v):
    return float(v) if isinstance(v, (int, float)) and v is not None and math.isfinite(v) else None


def tail_mean(run, name, k=10):
    """Mean of the last k logged records after iteration 0 (the record before any
    training step is not a result); None without one."""
    if not run:
        return None
    v, it = run.diagnostics.get(name), run.diagnostics.get("iteration")
    if v is None or it is None:
        return None
    v = v[it > 0][-k:]
    v = v[np.isfinite(v)]
    return float(v.mean()) if len(v) else None


def verdict(ours, theirs):
    if theirs is None:
        return None, "authors diverged"
    if ours is None:
        return None, "no eval"
    r = ours / theirs
    if r < 1 / 1.5:
        return r, "better"
    if r <= 1.5:
        return r, "within 1.5x"
    return r, "worse"


def cell_row(root, s, d, m):
    name = f"{s}_d{d}_{m}"
    cdir = os.path.join(root, name)
    printed, recomputed, sd, note = AUTHORS[(s, d, m)]
    authors = printed if printed is not None else recomputed
    row = {"cell": name, "data": NAMES[s], "d": d, "mode": m, "authors_mode": AUTHOR_MODE[m],
           "authors_printed": printed, "authors_recomputed": recomputed, "authors_sd": sd,
           "authors": authors, "authors_source": "printed" if printed is not None else
           ("recomputed" if recomputed is not None else None), "authors_note": note}
    run = None
    if os.path.isfile(os.path.join(cdir, pfio.RUN_FILE)):
        try:
            run = pfio.load_run(cdir)
        except (OSError, KeyError):
            run = None
    status_txt = None
    try:
        with open(os.path.join(cdir, "status")) as f:
            status_txt = f.read().strip()
    except OSError:
        pass
    ev = read_json(os.path.join(cdir, "eval.json")) or {}
    nb = read_json(os.path.join(cdir, "eval_notebook.json")) or {}
    row.update({
        "status": status_txt or (run.status() if run else "not run"),
        "iterations": run.last_iteration if run else None,
        "eval_iteration": num(ev.get("iteration")),
        "sinkhorn_heldout": num(ev.get("sinkhorn")),
        "sinkhorn_notebook": num(nb.get("sinkhorn")),
        "sinkhorn_floor": num(ev.get("sinkhorn_floor")),
        "sinkhorn_reference": num(ev.get("sinkhorn_reference")),
        "sinkhorn_reference_notebook": num(nb.get("sinkhorn_reference")),
        "sliced_w1": num(ev.get("sliced_w1")),
        "sliced_w1_floor": num(ev.get("sliced_w1_floor")),
        "sliced_w1_reference": num(ev.get("sliced_w1_reference")),
        "straightness": num(ev.get("straightness")),
        "plane_distance": num(ev.get("manifold_distance")),
        "kinetic": tail_mean(run, "kinetic"),
        "hj_residual": tail_mean(run, "hj_residual"),
        "n": num(ev.get("n")),
    })
    ours = row["sinkhorn_notebook"] if row["sinkhorn_notebook"] is not None else row["sinkhorn_heldout"]
    row["proxflow"] = ours
    row["proxflow_against"] = "notebook data" if row["sinkhorn_notebook"] is not None else (
        "held-out" if ours is not None else None)
    if not ev and not nb:
        row["ratio"], row["verdict"] = None, ("not run" if run is None else "no eval")
        if authors is None:
            row["verdict"] = "authors diverged; " + row["verdict"]
    else:
        row["ratio"], row["verdict"] = verdict(ours, authors)
    return row


def fmt(v, digits=4):
    if v is None:
        return "-"
    if isinstance(v, str):
        return v
    if v != 0 and (abs(v) < 1e-3 or abs(v) >= 1e5):
        return f"{v:.{digits - 1}e}"
    return f"{v:.{digits}g}"


def degradation(rows):
    """S(d) / S(2) of w1w2 per data set, for proxflow and the authors."""
    out = []
    for s in SETS:
        by = {r["d"]: r for r in rows if r["cell"].startswith(s + "_") and r["mode"] == "w1w2"}
        if 2 not in by:
            continue
        for who, key in (("proxflow", "proxflow"), ("authors", "authors")):
            base = by[2].get(key)
            rat = {d: (by[d][key] / base if d in by and by[d].get(key) is not None and base else None)
                   for d in (7, 12)}
            out.append({"data": NAMES[s], "who": who, "d2": base, "ratio_d7": rat[7], "ratio_d12": rat[12]})
    return out


def markdown(rows, deg):
    L = ["| data | d | mode (authors') | authors' Sinkhorn | proxflow Sinkhorn (against) | ratio | verdict | "
         "floor | N(0,I) x^0 | sliced W1 (floor) | KE | R_HJ | straightness | off-plane | iterations | status |",
         "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        a = "diverged" if r["authors"] is None else fmt(r["authors"])
        if r["authors_source"] == "printed" and r["authors_recomputed"] is not None:
            a += f" (recomputed {fmt(r['authors_recomputed'])} ± {fmt(r['authors_sd'], 2)})"
        elif r["authors_source"] == "recomputed":
            a += " (recomputed; not printed)"
        ours = "-" if r["proxflow"] is None else f"{fmt(r['proxflow'])} ({r['proxflow_against']})"
        if r["sinkhorn_notebook"] is not None and r["sinkhorn_heldout"] is not None:
            ours += f"; held-out {fmt(r['sinkhorn_heldout'])}"
        ref = r["sinkhorn_reference_notebook"] if r["sinkhorn_reference_notebook"] is not None \
            else r["sinkhorn_reference"]
        sw = "-" if r["sliced_w1"] is None else f"{fmt(r['sliced_w1'])} ({fmt(r['sliced_w1_floor'])})"
        L.append("| " + " | ".join([
            r["data"], str(r["d"]), f"{r['mode']} ({r['authors_mode']})", a, ours,
            "-" if r["ratio"] is None else f"{r['ratio']:.2f}", r["verdict"], fmt(r["sinkhorn_floor"]),
            fmt(ref), sw, fmt(r["kinetic"]), fmt(r["hj_residual"]), fmt(r["straightness"]),
            fmt(r["plane_distance"]), "-" if r["iterations"] is None else str(r["iterations"]),
            r["status"]]) + " |")
    L += ["", "w1w2 with dimension (Sinkhorn at d = 7, 12 over d = 2):", "",
          "| data | who | d = 2 | d = 7 / d = 2 | d = 12 / d = 2 |", "|---|---|---|---|---|"]
    def ratio(v):
        return "-" if v is None else f"{v:.2f}"
    for g in deg:
        L.append(f"| {g['data']} | {g['who']} | {fmt(g['d2'])} | {ratio(g['ratio_d7'])} | "
                 f"{ratio(g['ratio_d12'])} |")
    L += ["", "The authors' baselines proxflow cannot run (no linear f / IPM critic, no trained "
          "HJ residual; OT-Flow is another method):", "",
          "| data | method | d = 2 | d = 7 | d = 12 | source |", "|---|---|---|---|---|---|"]
    for data, meth, printed, rec, src in BASELINES:
        vals = printed if src == "printed" else rec
        L.append(f"| {data} | {meth} | " + " | ".join(fmt(v) for v in vals) + f" | {src} |")
    return "\n".join(L) + "\n"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("root", help="the output root of scripts/reproduce_lowdim.sh")
    ap.add_argument("--cells", help="comma list of cells (default: all 12, in table order)")
    ap.add_argument("--out-md", help="default ROOT/lowdim_table.md")
    ap.add_argument("--out-json", help="default ROOT/lowdim_table.json")
    a = ap.parse_args(argv)
    cells = [(s, d, m) for s in SETS for d in DIMS for m in MODES]
    if a.cells:
        want = a.cells.split(",")
        bad = [c for c in want if c not in {f"{s}_d{d}_{m}" for s, d, m in cells}]
        if bad:
            ap.error(f"unknown cells: {', '.join(bad)}")
        cells = [c for c in cells if f"{c[0]}_d{c[1]}_{c[2]}" in want]
    rows = [cell_row(a.root, *c) for c in cells]
    deg = degradation(rows)
    md = a.out_md or os.path.join(a.root, "lowdim_table.md")
    js = a.out_json or os.path.join(a.root, "lowdim_table.json")
    with open(md, "w") as f:
        f.write(markdown(rows, deg))
    with open(js, "w") as f:
        json.dump({"cells": rows, "w1w2_with_dimension": deg,
                   "baselines": [{"data": d, "method": m, "printed": p, "recomputed": r, "source": s}
                                 for d, m, p, r, s in BASELINES]}, f, indent=1)
    print(f"wrote {md}")
    print(f"wrote {js}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
