#!/usr/bin/env bash
# End-to-end tests of `proxflow sample`, `eval` and `info` (SPEC §5, §6.3; docs/COMMANDS.md):
# samples independent of the rank count, --steps (discretisation invariance), every eval
# metric finite and the trained flow closer to the data than its reference, info on the
# three kinds of file, argument and file errors.
. "$(dirname "$0")/lib.sh"
set -e

# a tiny 2-D run (dim = 2 so that `eval --data circle` fits its flow)
cat > "$T/tiny.ini" <<INI
[flow]
steps = 4
[potential]
widths = 16,16
[discriminator]
widths = 16,16
[train]
iterations = 300
batch = 64
[data]
source = 8gaussians
dim = 2
[output]
dir = $T/run
log_every = 10
checkpoint_every = 100
trajectory_every = 100
n_traj = 16
diag_batch = 64
INI
run1 train "$T/tiny.ini" > "$T/train.log" 2>&1 && ok "training" || { bad "training"; cat "$T/train.log"; exit 1; }
CK=$T/run/checkpoints/ckpt_00000300.h5
[ -f "$CK" ] || { bad "checkpoint $CK"; exit 1; }

# ---- sample ---------------------------------------------------------------------------
run1 sample --checkpoint "$CK" --n 501 --out "$T/s1.h5" > "$T/s1.log" 2>&1 && ok "sample, 1 rank" || { bad "sample, 1 rank"; cat "$T/s1.log"; }
run2 sample --checkpoint "$CK" --n 501 --out "$T/s2.h5" --trajectories > "$T/s2.log" 2>&1 && ok "sample, 2 ranks" || { bad "sample, 2 ranks"; cat "$T/s2.log"; }
run2 sample --checkpoint "$CK" --n=501 --steps 8 --out "$T/s8.h5" > "$T/s8.log" 2>&1 && ok "sample --steps 8" || { bad "sample --steps 8"; cat "$T/s8.log"; }
run1 sample --checkpoint "$CK" --n 501 --seed 3 --out "$T/s3.h5" > /dev/null 2>&1 && ok "sample --seed 3" || bad "sample --seed 3"
run2 sample --checkpoint "$CK" --n 1 --out "$T/one.h5" > /dev/null 2>&1 && ok "sample, a rank with no rows" || bad "sample, a rank with no rows"
run1 sample --checkpoint "$CK" --n 64 --out "$T/s64.h5" > /dev/null 2>&1 || bad "sample --n 64"
[ ! -e "$T/s1.h5.tmp" ] && ok "no temporary left behind" || bad "temporary left behind"

$PY - "$T" <<'PYEOF' && ok "sample files: ranks, steps, seed, trajectories, run.h5" || bad "sample files"
import sys, h5py, numpy as np
T = sys.argv[1]
def rd(name):
    with h5py.File(f"{T}/{name}", "r") as f:
        return {k: f[k][()] for k in f}, dict(f.attrs)
s1, a1 = rd("s1.h5"); s2, a2 = rd("s2.h5"); s8, a8 = rd("s8.h5"); s3, _ = rd("s3.h5")
one, _ = rd("one.h5"); s64, _ = rd("s64.h5")
err = []
for k in ("samples", "reference"):
    if s1[k].shape != (501, 2) or s1[k].dtype != np.float32: err.append(f"{k} shape/type {s1[k].shape} {s1[k].dtype}")
    if not np.all(np.isfinite(s1[k])): err.append(f"{k} not finite")
    d = np.max(np.abs(s1[k].astype(float) - s2[k])); print(f"1 vs 2 ranks, {k}: max |diff| {d:.3g}")
    if d > 1e-6: err.append(f"1 vs 2 ranks: {k} differ by {d}")
if not np.array_equal(s1["reference"], s8["reference"]): err.append("--steps changed the reference points")
d8 = np.max(np.abs(s1["samples"].astype(float) - s8["samples"])); move = np.max(np.abs(s1["samples"].astype(float) - s1["reference"]))
print(f"Nt 4 vs 8: max |diff| {d8:.3g}, largest move {move:.3g}")
if not (0 < d8 < 0.25 * move): err.append(f"--steps 8: difference {d8} not small but non-zero (move {move})")
if a8["steps"] != 8 or abs(a8["h"] - a8["T"] / 8) > 1e-15: err.append("--steps 8: attributes steps/h")
if a1["steps"] != 4 or a1["iteration"] != 300 or a1["n"] != 501: err.append(f"attributes {a1}")
for key in ("checkpoint", "T", "lambda", "config", "version", "git_commit", "created"):
    if key not in a1: err.append(f"attribute {key} missing")
if np.array_equal(s3["reference"], s1["reference"]): err.append("--seed 3 gives the same samples")
if "trajectories" in s1: err.append("trajectories without --trajectories")
tr = s2["trajectories"]
if tr.shape != (5, 501, 2): err.append(f"trajectories shape {tr.shape}")
elif not (np.array_equal(tr[0], s2["reference"]) and np.array_equal(tr[-1], s2["samples"])): err.append("trajectory ends")
if one["samples"].shape != (1, 2) or np.max(np.abs(one["samples"] - s1["samples"][:1])) > 1e-6: err.append("--n 1 on 2 ranks")
with h5py.File(f"{T}/run/run.h5", "r") as f:   # --seed 0, n = diag_batch: run.h5's /samples
    g = f["samples/generated"][()]
if np.max(np.abs(g.astype(float) - s64["samples"])) > 1e-6: err.append("sample != run.h5 /samples/generated")
for e in err: print("  ", e)
sys.exit(1 if err else 0)
PYEOF

# ---- eval -----------------------------------------------------------------------------
run2 eval --checkpoint "$CK" --n 1000 --json "$T/e.json" > "$T/e.txt" 2> "$T/e.err" && ok "eval, 2 ranks" || { bad "eval, 2 ranks"; cat "$T/e.err"; }
run1 eval --checkpoint "$CK" --n 1000 > "$T/e1.txt" 2> /dev/null && ok "eval, 1 rank" || bad "eval, 1 rank"
run1 eval --checkpoint "$CK" --n 500 --data circle > "$T/ec.txt" 2> "$T/ec.err" && ok "eval --data circle" || { bad "eval --data circle"; cat "$T/ec.err"; }
cat "$T/e.err" "$T/e.txt"
$PY - "$T" <<'PYEOF' && ok "eval metrics finite, trained beats reference, JSON, ranks agree" || bad "eval metrics"
import sys, json, math
T = sys.argv[1]
def rd(name):
    out = {}
    for line in open(f"{T}/{name}"):
        k, v = line.split(); out[k] = float(v)
    return out
m, m1, mc = rd("e.txt"), rd("e1.txt"), rd("ec.txt")
err = []
need = ["iteration", "n", "steps", "sliced_w1", "sliced_w1_reference", "mmd2", "mmd2_reference",
        "mmd_bandwidth", "straightness", "step_rms_difference", "step_mean_abs_difference"]
for k in need:
    if k not in m: err.append(f"{k} missing")
    elif not math.isfinite(m[k]): err.append(f"{k} = {m[k]}")
if "manifold_distance" in m: err.append("manifold_distance printed for 8gaussians")
if not err:
    if not m["sliced_w1"] < m["sliced_w1_reference"]: err.append("sliced W1: trained not below reference")
    if not m["mmd2"] < m["mmd2_reference"]: err.append("MMD2: trained not below reference")
    if not 0.5 < m["straightness"] <= 1 + 1e-9: err.append(f"straightness {m['straightness']}")
    if m["n"] != 1000 or m["steps"] != 4 or m["iteration"] != 300: err.append("n/steps/iteration")
for k in need:
    if k in m and k in m1 and abs(m[k] - m1[k]) > 1e-6 * (1 + abs(m[k])) and k != "straightness":
        err.append(f"{k}: 1 rank {m1[k]} vs 2 ranks {m[k]}")
if abs(m.get("straightness", 0) - m1.get("straightness", 1)) > 1e-9: err.append("straightness differs with ranks")
j = json.load(open(f"{T}/e.json"))
for k in need:
    if k not in j or abs(j[k] - m[k]) > 1e-8 * (1 + abs(m[k])): err.append(f"JSON {k}")
if "checkpoint" not in j or "data" not in j: err.append("JSON checkpoint/data")
for k in ("manifold_distance", "manifold_distance_reference", "manifold_distance_heldout"):
    if k not in mc or not math.isfinite(mc[k]): err.append(f"--data circle: {k} missing")
if not err and not (mc["manifold_distance_heldout"] < 1e-6 < mc["manifold_distance"]):
    err.append(f"--data circle: manifold distances {mc}")
for e in err: print("  ", e)
sys.exit(1 if err else 0)
PYEOF

# ---- info -----------------------------------------------------------------------------
run2 info "$T/run/run.h5" > "$T/i_run.txt" 2>&1 && ok "info run.h5" || bad "info run.h5"
run1 info "$CK" > "$T/i_ck.txt" 2>&1 && ok "info checkpoint" || bad "info checkpoint"
run1 info "$T/s2.h5" > "$T/i_s.txt" 2>&1 && ok "info samples" || bad "info samples"
has() { grep -Eq "$2" "$1"; }
all_in() { local f=$1; shift; for p in "$@"; do has "$f" "$p" || { echo "  '$p' not in $f"; return 1; }; done; }
check "info run.h5 fields" all_in "$T/i_run.txt" ": proxflow run" "^  version +0\.1\.0" "^  git_commit " "^  created " \
  "^  ranks +1" "^  threads +1" "^  precision +(double|float)" "^diagnostics: 31 records, last at iteration 300" \
  "^  kinetic +[-0-9.e+]+" "^  hj_residual " "^  samples_per_second " "^trajectories: 4" \
  "^  iter_00000300 +float32 \[5, 16, 2\]" "^  generated +float32 \[64, 2\]" "^config:" "^  \[flow\]" "^  steps = 4"
check "info run.h5 printed once (2 ranks)" test "$(grep -c ': proxflow run' "$T/i_run.txt")" -eq 1
check "info checkpoint fields" all_in "$T/i_ck.txt" ": proxflow checkpoint" "^  iteration +300" "^potential:" \
  "^discriminator:" "^  n_params +[0-9]+" "^  adam_t +300" "^  adam_t +1500" "^  buffer +float64 \[[0-9]+\]" "^config:"
check "info samples fields" all_in "$T/i_s.txt" ": proxflow samples" "^  samples +float32 \[501, 2\]" \
  "^  reference +float32 \[501, 2\]" "^  trajectories +float32 \[5, 501, 2\]" "^  steps +4" "^  checkpoint +"

# ---- errors: non-zero exit and a message naming the problem ----------------------------
expect_fail() { # expect_fail "what" "message regex" command...
  local what=$1 re=$2; shift 2
  if "$@" > "$T/err.txt" 2>&1; then bad "$what: exit 0"; return; fi
  if grep -Eq "$re" "$T/err.txt"; then ok "$what"; else bad "$what: message"; cat "$T/err.txt"; fi
}
expect_fail "sample: unknown option" "sample: unknown option --bogus.*usage" run1 sample --checkpoint "$CK" --n 5 --out "$T/x.h5" --bogus
expect_fail "sample: missing value" "sample: missing value after --n" run1 sample --checkpoint "$CK" --out "$T/x.h5" --n
expect_fail "sample: no --checkpoint" "sample: --checkpoint is required" run1 sample --n 5 --out "$T/x.h5"
expect_fail "sample: no --out" "sample: --out is required" run1 sample --checkpoint "$CK" --n 5
expect_fail "sample: --n 0" "sample: --n must be in" run2 sample --checkpoint "$CK" --n 0 --out "$T/x.h5"
expect_fail "sample: --n abc" "sample: --n expects an integer" run1 sample --checkpoint "$CK" --n abc --out "$T/x.h5"
expect_fail "sample: missing checkpoint" "sample: .*nope\.h5: cannot read" run2 sample --checkpoint "$T/nope.h5" --n 5 --out "$T/x.h5"
expect_fail "sample: run.h5 is no checkpoint" "sample: .*run\.h5: not a proxflow checkpoint" run1 sample --checkpoint "$T/run/run.h5" --n 5 --out "$T/x.h5"
expect_fail "sample: unwritable --out" "sample: cannot create" run1 sample --checkpoint "$CK" --n 5 --out "$T/no/such/dir/x.h5"
expect_fail "eval: unknown option" "eval: unknown option --bogus" run1 eval --checkpoint "$CK" --bogus
expect_fail "eval: no --checkpoint" "eval: --checkpoint is required" run2 eval --n 10
expect_fail "eval: --data that does not fit" "torus.*dim must be >= 3" run1 eval --checkpoint "$CK" --data torus --n 10
expect_fail "eval: --data unknown" "unknown data source 'nosuch'" run1 eval --checkpoint "$CK" --data nosuch
echo "not hdf5" > "$T/text.h5"
expect_fail "eval: not HDF5" "eval: .*text\.h5: not a readable HDF5 file" run1 eval --checkpoint "$T/text.h5"
expect_fail "info: missing file" "info: .*missing\.h5: cannot read" run2 info "$T/missing.h5"
expect_fail "info: not HDF5" "info: .*text\.h5: not an HDF5 file" run1 info "$T/text.h5"
$PY -c "import h5py,sys; h5py.File(sys.argv[1],'w').create_dataset('x', data=[1])" "$T/other.h5"
expect_fail "info: unknown HDF5" "info: .*other\.h5: an HDF5 file, but not a proxflow" run1 info "$T/other.h5"
expect_fail "info: no file" "info: no file given" run1 info
expect_fail "info: two files" "info: more than one file" run1 info "$CK" "$CK"
# a checkpoint of other shapes is refused with the loader's message
$PY - "$CK" "$T/bad.h5" <<'PYEOF'
import sys, shutil, h5py
shutil.copy(sys.argv[1], sys.argv[2])
with h5py.File(sys.argv[2], "r+") as f:
    f.attrs["complete"] = 0
PYEOF
expect_fail "sample: incomplete checkpoint" "sample: .*bad\.h5: incomplete checkpoint" run2 sample --checkpoint "$T/bad.h5" --n 5 --out "$T/x.h5"
[ ! -e "$T/x.h5" ] && ok "no output after errors" || bad "output written despite errors"

pf_finish
