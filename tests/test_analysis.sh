#!/bin/bash
# Test of the analysis scripts (analysis/*.py, SPEC section 7): trains 4 tiny runs
# (modes w1w2 and w1 x lambda 0.5 and 2) into a temporary sweep directory, runs every
# script on them and checks the PNG and CSV files they write.
# Environment (set by CTest): PROXFLOW_BIN, PROXFLOW_SOURCE_DIR.
. "$(dirname "$0")/lib.sh"
set -e
ANA="$SRC/analysis"
export MPLBACKEND=Agg

SWEEP="$T/sweep"
OUT="$T/out"
mkdir -p "$SWEEP" "$OUT"

fail() { echo "test_analysis: FAIL: $*" >&2; exit 1; }

check_png() {
    local f=$1
    [[ -s "$f" ]] || fail "$f is missing or empty"
    local magic
    magic=$(head -c 8 "$f" | od -An -tx1 | tr -d ' \n')
    [[ "$magic" == "89504e470d0a1a0a" ]] || fail "$f is not a PNG (magic $magic)"
    echo "ok: $f ($(stat -c %s "$f") bytes)"
}

"$PY" -c 'import numpy, h5py, matplotlib' ||
    fail "python3 lacks numpy, h5py or matplotlib (Debian: python3-numpy python3-h5py python3-matplotlib)"

# ---- --help of every script ----
for s in pfio plot_diagnostics plot_samples plot_trajectories sweep_table heatmap; do
    "$PY" "$ANA/$s.py" --help >/dev/null || fail "$s.py --help exited $?"
    echo "ok: $s.py --help"
done

# ---- 4 tiny runs: two modes x two lambdas ----
cat > "$T/tiny.ini" <<EOF
[data]
source = 8gaussians
[train]
iterations = 60
batch = 64
[flow]
steps = 4
[potential]
widths = 16,16
[discriminator]
widths = 16,16
[output]
log_every = 10
checkpoint_every = 0
trajectory_every = 30
n_traj = 32
diag_batch = 128
EOF
for mode in w1w2 w1; do
    for lam in 0.5 2; do
        dir="$SWEEP/mode-${mode}_lambda-${lam}"
        "$BIN" train "$T/tiny.ini" --set flow.mode=$mode --set flow.lambda=$lam \
            --out "$dir" > "$T/train.log" 2>&1 || { cat "$T/train.log"; fail "training $dir"; }
        [[ -s "$dir/run.h5" ]] || fail "$dir/run.h5 missing"
    done
done
echo "ok: 4 runs trained"

RUN="$SWEEP/mode-w1w2_lambda-0.5"

# ---- pfio ----
"$PY" "$ANA/pfio.py" "$SWEEP" | tee "$T/pfio.txt"
[[ $(grep -c "status finished" "$T/pfio.txt") == 4 ]] || fail "pfio.py: not 4 finished runs"

# ---- legend labels: the mode, then the directory name, unless the name has the mode ----
for d in w1w2 L=5; do mkdir -p "$T/named/$d"; cp "$RUN/run.h5" "$T/named/$d/run.h5"; done
"$PY" - "$ANA" "$RUN" "$T/named" <<'EOF' || fail "pfio.Run.label"
import sys
sys.path.insert(0, sys.argv[1])
import pfio
got = [pfio.load_run(p).label for p in (sys.argv[2], sys.argv[3] + "/w1w2", sys.argv[3] + "/L=5")]
want = ["mode-w1w2_lambda-0.5", "w1w2", "w1w2 L=5"]   # not "w1w2 w1w2"
assert got == want, (got, want)
EOF
"$PY" "$ANA/plot_diagnostics.py" "$T/named/w1w2" --out "$OUT/named.png" | grep -q '^  w1w2: ' ||
    fail "plot_diagnostics.py: a run named w1w2 is not labelled 'w1w2'"
echo "ok: labels"

# ---- plot_diagnostics ----
"$PY" "$ANA/plot_diagnostics.py" "$SWEEP"/mode-* --logy --out "$OUT/diag.png"
check_png "$OUT/diag.png"
"$PY" "$ANA/plot_diagnostics.py" "$RUN" "$SWEEP/mode-w1_lambda-0.5" --labels a,b \
    --metrics kinetic,divergence,hj_residual,hj_terminal --out "$OUT/diag2.png"
check_png "$OUT/diag2.png"
"$PY" "$ANA/plot_diagnostics.py" "$RUN"   # default: RUN/diagnostics.png
check_png "$RUN/diagnostics.png"

# ---- plot_samples: a run, and a file in the layout of `proxflow sample` (images) ----
"$PY" "$ANA/plot_samples.py" "$RUN" --out "$OUT/samples.png"
check_png "$OUT/samples.png"
"$PY" - "$T/sample_img.h5" <<'EOF'
import sys, h5py, numpy as np
rng = np.random.default_rng(0)
with h5py.File(sys.argv[1], "w") as f:
    f.attrs["image_shape"] = np.array([8, 8, 1], dtype=np.int64)
    f["samples"] = rng.random((20, 64)).astype(np.float32)
    f["reference"] = (0.5 * rng.random((20, 64))).astype(np.float32)
EOF
"$PY" "$ANA/plot_samples.py" "$T/sample_img.h5" --out "$OUT/samples_img.png"
check_png "$OUT/samples_img.png"

# ---- plot_trajectories ----
"$PY" "$ANA/plot_trajectories.py" "$RUN" --out "$OUT/traj.png"
check_png "$OUT/traj.png"
"$PY" "$ANA/plot_trajectories.py" "$RUN" --iteration 30 --out "$OUT/traj30.png"
check_png "$OUT/traj30.png"
if "$PY" "$ANA/plot_trajectories.py" "$RUN" --iteration 7 --out "$OUT/none.png" 2>/dev/null; then
    fail "plot_trajectories.py accepted an iteration with no trajectories"
fi

# ---- sweep_table ----
"$PY" "$ANA/sweep_table.py" "$SWEEP" --csv "$OUT/table.csv"
[[ -s "$OUT/table.csv" ]] || fail "table.csv missing"
rows=$(($(wc -l < "$OUT/table.csv") - 1))
[[ $rows == 4 ]] || fail "table.csv has $rows data rows, expected 4"
header=$(head -1 "$OUT/table.csv")
for col in flow.mode flow.lambda iteration divergence kinetic hj_residual hj_terminal \
           lipschitz_max seconds_per_iteration status; do
    [[ ",$header," == *",$col,"* ]] || fail "table.csv lacks column $col: $header"
done
[[ ",$header," != *",output.dir,"* ]] || fail "table.csv lists output.dir as a parameter"
[[ $(grep -c ',finished$' "$OUT/table.csv") == 4 ]] || fail "not every run is finished:
$(cat "$OUT/table.csv")"
echo "ok: table.csv has 4 rows with flow.mode and flow.lambda"
"$PY" "$ANA/sweep_table.py" "$SWEEP" --params flow.lambda --csv "$OUT/table2.csv" >/dev/null
[[ $(head -1 "$OUT/table2.csv") == "#,run,flow.lambda,iteration,"* ]] || fail "--params ignored"
# issue 21: the # column, the quality columns, --sort sliced_w1 ranks by quality
"$PY" "$ANA/sweep_table.py" "$SWEEP" --sort sliced_w1 --csv "$OUT/table3.csv" > "$OUT/table3.txt"
"$PY" - "$OUT/table3.csv" <<'EOF' || fail "sweep_table.py --sort sliced_w1: $(cat "$OUT/table3.csv")"
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
sw = [float(r["sliced_w1"]) for r in rows]
assert [r["#"] for r in rows] == ["0", "1", "2", "3"], rows
assert sw == sorted(sw) and all(v > 0 for v in sw), sw
assert all(float(r["mmd2"]) >= 0 for r in rows) and all(r["status"] == "finished" for r in rows)
EOF
echo "ok: sweep_table.py # column, sliced_w1 and mmd2, --sort sliced_w1"

# ---- heatmap ----
"$PY" "$ANA/heatmap.py" "$SWEEP" --x flow.lambda --y flow.mode --metric hj_residual \
    --out "$OUT/heat.png"
check_png "$OUT/heat.png"
"$PY" "$ANA/heatmap.py" "$SWEEP" --x flow.lambda --y flow.mode --metric kinetic --log \
    --out "$OUT/heat_ke.png"
check_png "$OUT/heat_ke.png"
"$PY" "$ANA/heatmap.py" "$SWEEP" --x flow.lambda --y flow.mode --metric sliced_w1 \
    --out "$OUT/heat_sw1.png" > /dev/null || fail "heatmap.py --metric sliced_w1"
check_png "$OUT/heat_sw1.png"

# ---- issue 21: the plots' fixes ----
# target data under the samples: a run's /samples/data, a sample file's through its checkpoint
for k in 2 4 8; do
    "$BIN" sample --checkpoint "$RUN" --n 50 --steps $k --out "$T/s$k.h5" > /dev/null 2>&1 || fail "sample --steps $k"
done
"$PY" - "$ANA" "$RUN" "$T/s8.h5" <<'EOF' || fail "plot_samples.py: target data"
import sys
sys.path.insert(0, sys.argv[1])
import numpy as np, matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pfio, plot_samples
run = pfio.load_samples_file(sys.argv[2]); smp = pfio.load_samples_file(sys.argv[3])
assert run["data"] is not None and run["data"].shape == (128, 2), run["data"]
assert smp["data"] is not None and np.array_equal(smp["data"], run["data"])
drawn = []
orig = plt.Axes.scatter
def spy(self, x, y, *a, **k):
    drawn.append(k.get("label", ""))
    return orig(self, x, y, *a, **k)
plt.Axes.scatter = spy
plot_samples.main([sys.argv[2], "--out", sys.argv[2] + "/s.png"])
assert sum(str(l).startswith("target data") for l in drawn) == 2, drawn   # under both panels
drawn.clear()
plot_samples.main([sys.argv[2], "--no-data", "--out", sys.argv[2] + "/s.png"])
assert not any(str(l).startswith("target data") for l in drawn), drawn
EOF
echo "ok: plot_samples.py draws the target data (run and sample file)"
# discretisation.py: every file against the finest (8 steps), whatever the order
"$PY" "$ANA/discretisation.py" "$T/s4.h5" "$T/s8.h5" "$T/s2.h5" --json "$T/disc.json" \
    --out "$OUT/disc.png" > /dev/null || fail "discretisation.py"
"$PY" - "$T/disc.json" <<'EOF' || fail "discretisation.py compares with the finest: $(cat "$T/disc.json")"
import json, sys
j = json.load(open(sys.argv[1]))
assert j["reference"].endswith("s8.h5"), j["reference"]
m = {f["steps"]: f["mean_abs_diff"] for f in j["files"]}
assert m[8] == 0 and 0 < m[4] < m[2], m
EOF
check_png "$OUT/disc.png"
# the straightness histogram spans the values, not a fixed [0, 1]
"$PY" - "$ANA" "$RUN" "$OUT/traj_hist.png" <<'EOF' || fail "plot_trajectories.py histogram range"
import sys
sys.path.insert(0, sys.argv[1])
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np, plot_trajectories
seen = []
orig = plt.Axes.hist
def spy(self, x, *a, **k):
    seen.append((float(np.min(x)), float(np.max(x)), np.asarray(k["bins"])))
    return orig(self, x, *a, **k)
plt.Axes.hist = spy
plot_trajectories.main([sys.argv[2], "--out", sys.argv[3]])
lo, hi, bins = seen[0]
pad = max(1e-6, 0.02 * (hi - lo))
assert abs(bins[0] - (lo - pad)) < 1e-12 and abs(bins[-1] - (hi + pad)) < 1e-12, (lo, hi, bins)
EOF
echo "ok: plot_trajectories.py histogram over the values' range"
# the README names every script
for s in "$ANA"/*.py; do
    b=$(basename "$s")
    grep -qF "\`$b\`" "$ANA/README.md" || fail "analysis/README.md does not name $b"
done
echo "ok: analysis/README.md names every script"

echo "test_analysis: all checks passed"
