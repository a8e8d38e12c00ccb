#!/usr/bin/env bash
# The Sinkhorn divergence (src/eval/sinkhorn.c, issue 19) against POT, and `proxflow eval`'s
# `sinkhorn` metrics (docs/COMMANDS.md):
#  1. tests/check_sinkhorn.py: POT (Debian's python3-pot) run to convergence at fixed
#     eps against proxflow's converged mode (must agree to 1e-7) and its geomloss mode
#     (the schedule's residual, printed and bounded);
#  2. eval on a tiny run trained on an HDF5 file, whose held-out rows are known: its
#     `sinkhorn` / `sinkhorn_reference` equal the divergence of `sample`'s points
#     (same stream, float32 in the file) against those rows, recomputed by
#     sinkhorn_tool, and --sinkhorn-blur / --sinkhorn-scaling change it as they
#     should; bad values are usage errors.
# Usage: test_sinkhorn_pot.sh SINKHORN_TOOL.  Exits 77 (skipped) without POT.
TOOL=${1:?usage: test_sinkhorn_pot.sh SINKHORN_TOOL}
if ! /usr/bin/python3 -c "import ot" 2> /dev/null; then
  echo "SKIP: POT is not installed for /usr/bin/python3 (Debian package python3-pot)"
  exit 77
fi
. "$(dirname "$0")/lib.sh"

# ---- 1. against POT ---------------------------------------------------------------------
if $PY "$SRC/tests/check_sinkhorn.py" "$TOOL" "$T" > "$T/pot.log" 2>&1; then
  ok "check_sinkhorn.py (POT)"
else
  bad "check_sinkhorn.py (POT)"
fi
cat "$T/pot.log"

# ---- 2. eval ----------------------------------------------------------------------------
# 2 x 300 rows of a noisy ring in 2-D; n_train = 300 leaves rows 300..599 held out
$PY - "$T/ring.h5" <<'PYEOF'
import sys, numpy as np, h5py
rng = np.random.default_rng(5)
t = rng.uniform(0, 2 * np.pi, 600)
x = np.stack([2 * np.cos(t), 2 * np.sin(t)], 1) + 0.1 * rng.normal(size=(600, 2))
with h5py.File(sys.argv[1], "w") as f:
    f["x"] = x.astype(np.float64)
PYEOF
cat > "$T/ring.ini" <<INI
[flow]
steps = 4
[potential]
widths = 16,16
[discriminator]
widths = 16,16
[train]
iterations = 40
batch = 60
[data]
source = $T/ring.h5:/x
n_train = 300
[output]
dir = $T/run
log_every = 20
checkpoint_every = 40
diag_batch = 60
INI
CK=$T/run/checkpoints/ckpt_00000040.h5
run1 train "$T/ring.ini" > "$T/train.log" 2>&1 && ok "train on ring.h5" || { bad "train on ring.h5"; cat "$T/train.log"; }
run1 eval --checkpoint "$CK" --n 300 --json "$T/e.json" > "$T/e.txt" 2> "$T/e.err" || { bad "eval"; cat "$T/e.err"; }
run1 eval --checkpoint "$CK" --n 300 --sinkhorn-blur=0.2 --sinkhorn-scaling 0.8 > "$T/e2.txt" 2> "$T/e2.err" ||
  { bad "eval --sinkhorn-blur 0.2 --sinkhorn-scaling 0.8"; cat "$T/e2.err"; }
run1 sample --checkpoint "$CK" --n 300 --out "$T/s.h5" > /dev/null 2>&1 || bad "sample"
cat "$T/e.txt"
$PY - "$T" "$TOOL" <<'PYEOF' && ok "eval sinkhorn = the divergence of sample's points against the held-out rows" || bad "eval sinkhorn metrics"
import sys, json, math, subprocess, numpy as np, h5py
T, tool = sys.argv[1], sys.argv[2]
def rd(name):
    return {k: float(v) for k, v in (line.split() for line in open(f"{T}/{name}"))}
m, m2, j = rd("e.txt"), rd("e2.txt"), json.load(open(f"{T}/e.json"))
with h5py.File(f"{T}/s.h5", "r") as f:
    X, R = f["samples"][...].astype(np.float64), f["reference"][...].astype(np.float64)
with h5py.File(f"{T}/ring.h5", "r") as f:
    Y = f["x"][300:600]
def tool_S(A, blur, scaling):
    with open(f"{T}/pair.txt", "w") as fp:
        fp.write(f"{len(A)} {len(Y)} 2\n"); np.savetxt(fp, A, fmt="%.17g"); np.savetxt(fp, Y, fmt="%.17g")
    return float(subprocess.run([tool, f"{T}/pair.txt", str(blur), str(scaling), "0", "0"], capture_output=True,
                                text=True, check=True).stdout.split()[0])
err = []
for k in ("sinkhorn", "sinkhorn_reference", "sinkhorn_blur", "sinkhorn_scaling"):
    if k not in m or not math.isfinite(m[k]): err.append(f"{k} missing or not finite")
    if k not in j or abs(j[k] - m.get(k, math.nan)) > 1e-8 * (1 + abs(j[k])): err.append(f"JSON {k}")
if not err:
    if (m["sinkhorn_blur"], m["sinkhorn_scaling"], m2["sinkhorn_blur"], m2["sinkhorn_scaling"]) != (0.05, 0.5, 0.2, 0.8):
        err.append("blur / scaling not reported as set")
    # sample writes float32: the points differ from eval's by float32 rounding (~1e-7)
    for name, A, mm, blur, sc in (("sinkhorn", X, m, 0.05, 0.5), ("sinkhorn_reference", R, m, 0.05, 0.5),
                                  ("sinkhorn (blur 0.2, scaling 0.8)", X, m2, 0.2, 0.8)):
        key = name.split()[0]
        s = tool_S(A, blur, sc)
        print(f"   {name}: eval {mm[key]:.10g}, sinkhorn_tool on sample's points {s:.10g}")
        if not abs(mm[key] - s) <= 1e-5 * abs(s): err.append(f"{name}: eval {mm[key]} vs {s}")
    if not (m["sinkhorn"] > 0 and m["sinkhorn_reference"] > 0): err.append("a divergence is not positive")
for e in err: print("  ", e)
sys.exit(1 if err else 0)
PYEOF

expect_usage() { # what pattern args...
  local what=$1 pat=$2; shift 2
  local rc=0
  run1 "$@" > "$T/u.out" 2> "$T/u.err" || rc=$?
  if [ "$rc" -eq 2 ] && grep -q -- "$pat" "$T/u.err"; then ok "$what"; else bad "$what (exit $rc)"; cat "$T/u.err"; fi
}
expect_usage "eval --sinkhorn-scaling 1" "sinkhorn-scaling must be a number in (0, 1)" eval --checkpoint "$CK" --sinkhorn-scaling 1
expect_usage "eval --sinkhorn-blur 0" "sinkhorn-blur must be a positive number" eval --checkpoint "$CK" --sinkhorn-blur 0
expect_usage "eval --sinkhorn-blur abc" "not 'abc'" eval --checkpoint "$CK" --sinkhorn-blur abc
pf_finish test_sinkhorn_pot
