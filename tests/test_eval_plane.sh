#!/usr/bin/env bash
# `proxflow eval --plane / --floor / --points` (issue 19, docs/COMMANDS.md): scoring in
# the plane coordinates Q^T x of a 2-D set embedded in R^d, as the paper code's notebook
# scores its low-dimensional table.
#  1. pad (Q = [e1 e2]): the compared points are the first two coordinates of
#     `sample`'s points, bit for bit, and the held-out points those of the 2-D set;
#  2. isometry (a random Q): the held-out plane points equal the 2-D set's held-out
#     draw of the same seed (to float32 rounding); `sinkhorn` and `sinkhorn_floor`
#     are the divergences of the written points (sinkhorn_tool);
#  3. a 2-D set in R^2: --plane changes nothing;
#  4. --data FILE (zero-padded rows) is projected with the checkpoint's Q; --floor
#     gives no *_floor for a file;
#  5. errors: --plane for a checkpoint of a 3-D file source, --points in a missing
#     directory (exit 2).
# Usage: test_eval_plane.sh SINKHORN_TOOL
TOOL=${1:?usage: test_eval_plane.sh SINKHORN_TOOL}
. "$(dirname "$0")/lib.sh"

mkrun() { # NAME section.key=value...: a 20-iteration run, its checkpoint in $T/NAME
  local name=$1; shift
  tiny_ini "$T/$name.ini" potential.widths=16 discriminator.widths=16 train.batch=40 output.diag_batch=40 \
    output.n_traj=8 train.seed=11 "$@"
  run1 train "$T/$name.ini" --out "$T/$name" > "$T/$name.log" 2>&1 || { bad "train $name"; cat "$T/$name.log"; }
}
CK=checkpoints/ckpt_00000020.h5
mkrun pad data.source=moons_hg data.dim=5 data.embedding=pad -data.manifold_dim
mkrun iso data.source=moons_hg data.dim=5 data.embedding=isometry -data.manifold_dim
mkrun flat data.source=moons_hg -data.dim -data.manifold_dim

ev() { # NAME OUT ARGS...: eval of NAME's checkpoint, metrics in $T/OUT.txt
  local name=$1 out=$2; shift 2
  run1 eval --checkpoint "$T/$name/$CK" --n 300 "$@" > "$T/$out.txt" 2> "$T/$out.err" || { bad "eval $out"; cat "$T/$out.err"; }
}
ev pad pad --plane --floor --points "$T/pad_pts.h5"
run1 sample --checkpoint "$T/pad/$CK" --n 300 --out "$T/pad_s.h5" > /dev/null 2>&1 || bad "sample pad"
ev iso iso --plane --floor --points "$T/iso_pts.h5"
ev iso iso_full
ev flat flat_plane --plane --points "$T/flat_pts.h5"
ev flat flat
# the notebook's way: zero-padded rows in a file, scored in the checkpoint's plane
$PY - "$T" <<'PYEOF'
import sys, numpy as np, h5py
rng = np.random.default_rng(3)
x = np.zeros((400, 5)); x[:, :2] = rng.normal(size=(400, 2)) * [3, 1]
h5py.File(f"{sys.argv[1]}/padded.h5", "w")["x"] = x
h5py.File(f"{sys.argv[1]}/cube.h5", "w")["x"] = rng.normal(size=(400, 3))
PYEOF
ev pad file --plane --floor --data "$T/padded.h5:/x" --points "$T/file_pts.h5"

$PY - "$T" "$TOOL" <<'PYEOF' && ok "plane coordinates, floors and written points" || bad "plane coordinates"
import sys, math, subprocess, numpy as np, h5py
T, tool = sys.argv[1], sys.argv[2]
def rd(name):
    return {k: float(v) for k, v in (l.split() for l in open(f"{T}/{name}.txt"))}
def pts(name):
    with h5py.File(f"{T}/{name}_pts.h5", "r") as f:
        return {k: f[k][()].astype(np.float64) for k in ("generated", "reference", "heldout")}, dict(f.attrs)
def S(A, B):
    with open(f"{T}/pair.txt", "w") as fp:
        fp.write(f"{len(A)} {len(B)} {A.shape[1]}\n"); np.savetxt(fp, A, fmt="%.17g"); np.savetxt(fp, B, fmt="%.17g")
    return float(subprocess.run([tool, f"{T}/pair.txt", "0.05", "0.5", "0", "0"], capture_output=True, text=True,
                                check=True).stdout.split()[0])
err = []
# 1. pad: the first two coordinates, bit for bit
p, pa = pts("pad")
with h5py.File(f"{T}/pad_s.h5", "r") as f:
    X, R = f["samples"][()].astype(np.float64), f["reference"][()].astype(np.float64)
m = rd("pad")
if m.get("plane_dim") != 2 or pa["plane"] != 1 or p["generated"].shape != (300, 2): err.append("pad: plane_dim / shapes")
if not (np.array_equal(p["generated"], X[:, :2]) and np.array_equal(p["reference"], R[:, :2])):
    err.append("pad: generated / reference are not sample's first two coordinates")
# 2. isometry: the plane held-out points are the 2-D set's (same seed, same streams)
q, _ = pts("iso")
f2, _ = pts("flat")
dz = np.abs(q["heldout"] - f2["heldout"]).max()
print(f"   isometry: plane held-out vs the 2-D held-out: max diff {dz:.2e}")
if not dz < 1e-5: err.append(f"isometry: plane held-out differs from the 2-D held-out by {dz}")
mi, mf = rd("iso"), rd("iso_full")
for k in ("sinkhorn", "sinkhorn_floor", "sliced_w1_floor", "plane_dim"):
    if k not in mi or not math.isfinite(mi[k]): err.append(f"iso: {k} missing")
if "plane_dim" in mf or "sinkhorn_floor" in mf: err.append("iso without --plane/--floor reports plane_dim or a floor")
if "sinkhorn" in mi:
    s = S(q["generated"], q["heldout"])
    print(f"   isometry: eval sinkhorn {mi['sinkhorn']:.8g}, sinkhorn_tool on the written points {s:.8g}")
    if not abs(mi["sinkhorn"] - s) <= 1e-5 * abs(s) + 1e-9: err.append(f"iso: sinkhorn {mi['sinkhorn']} vs {s}")
    if not mi["sinkhorn_floor"] < mi["sinkhorn"]: err.append("iso: the floor is not below an untrained flow's score")
# the distance to the plane is the whole off-plane part, in all 5 coordinates (held-out:
# on the plane, up to rounding: 0 in double, 6e-8 in float)
if not (mi.get("manifold_distance", 0) > 0 and mi.get("manifold_distance_heldout", 1) < 1e-5):
    err.append(f"iso: plane distances {mi.get('manifold_distance')}, {mi.get('manifold_distance_heldout')}")
# 3. a 2-D set in R^2: --plane changes nothing
a, b = rd("flat_plane"), rd("flat")
for k in b:
    if a.get(k) != b[k]: err.append(f"flat: {k} {a.get(k)} vs {b[k]}")
# 4. --data FILE: projected with the checkpoint's Q (pad: the first two columns); no floor
fp_, _ = pts("file")
x = h5py.File(f"{T}/padded.h5", "r")["x"][:300, :2]
if not np.array_equal(fp_["heldout"], x.astype(np.float32).astype(np.float64)): err.append("file: held-out not x[:, :2]")
if "sinkhorn_floor" in rd("file"): err.append("file: a floor for a file source")
for e in err: print("  ", e)
sys.exit(1 if err else 0)
PYEOF
check "--floor on a file: a note on stderr" grep -q -- "--floor: .*padded.h5:/x is a file" "$T/file.err"

# 5. errors
mkrun cube "data.source=$T/cube.h5:/x" -data.dim -data.manifold_dim
expect2() { # what pattern args...
  local what=$1 pat=$2 rc=0; shift 2
  run1 "$@" > "$T/u.out" 2> "$T/u.err" || rc=$?
  if [ "$rc" -eq 2 ] && grep -q -- "$pat" "$T/u.err"; then ok "$what"; else bad "$what (exit $rc)"; cat "$T/u.err"; fi
}
expect2 "--plane for a 3-D file source" "needs a checkpoint trained on a synthetic source embedded" \
  eval --checkpoint "$T/cube/$CK" --n 50 --plane
expect2 "--points in a missing directory" "cannot create $T/nodir/p.h5" \
  eval --checkpoint "$T/pad/$CK" --n 50 --points "$T/nodir/p.h5"
pf_finish test_eval_plane
