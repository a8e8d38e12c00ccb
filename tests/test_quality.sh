#!/usr/bin/env bash
# The MNIST sample-quality measure (analysis/mnist_classifier.py, analysis/mnist_quality.py;
# docs/REPRODUCTION.md, "Sample quality measure"), with the committed classifier weights:
#   - the classifier's backward pass against central differences (float64, tiny net);
#   - analysis/paper_mnist_models.py: its numpy version of the paper code's CNN potential, grad_x U vs central differences;
#   - held-out accuracy (rows 6000..9999, unseen in training) >= 0.98;
#   - the Frechet distance against closed forms (equal Gaussians: 0; commuting
#     covariances: |dmu|^2 + sum (sqrt a - sqrt b)^2; a singular covariance);
#   - the scale: real held-out digits A vs B far below the reference samples
#     (uniform [0, 0.5]^784) vs B, real digits use >= 8 classes at >= 5 %, one class
#     alone (only 1s) shows 1 class and a much larger distance, four classes 4;
#   - discretisation.py --features (step invariance in feature space) on real digits,
#     perturbed ones and other digits;
#   - the command line on a file in `proxflow sample`'s layout and on a checkpoint of a
#     tiny MNIST flow sampled through --proxflow, with --json.
# Exits 77 (skipped) only when the MNIST digits are not there.
. "$(dirname "$0")/lib.sh"
DATA=${PROXFLOW_DATA_DIR:-$SRC/../shared/data}
if [ ! -r "$DATA/mnist/images-idx3-ubyte.gz" ] || [ ! -r "$DATA/mnist/labels-idx1-ubyte.gz" ]; then
  echo "SKIP: $DATA/mnist/{images-idx3,labels-idx1}-ubyte.gz not found (configure with -DPROXFLOW_DATA_DIR=DIR)"
  exit 77
fi
export PROXFLOW_DATA_DIR=$DATA
ANA="$SRC/analysis"

check "backward pass = central differences" "$PY" "$ANA/mnist_classifier.py" gradcheck
check "paper_mnist_models.py: the paper CNN's input gradient = central differences" "$PY" "$ANA/paper_mnist_models.py" gradcheck
check "held-out accuracy >= 0.98" "$PY" "$ANA/mnist_classifier.py" test --min-accuracy 0.98

# ---- the measure through the module --------------------------------------------------
"$PY" - "$ANA" "$T" <<'PY' > "$T/module.txt" 2>&1
import sys
sys.path.insert(0, sys.argv[1])
import h5py
import numpy as np
import mnist_quality as mq

fails = 0
def check(what, cond):
    global fails
    print(("ok   " if cond else "FAIL ") + what)
    fails += 0 if cond else 1

# Frechet distance against closed forms
rng = np.random.default_rng(3)
A = rng.standard_normal((6, 6)); S = A @ A.T
mu = rng.standard_normal(6)
check("FD of a Gaussian with itself is 0", abs(mq.frechet(mu, S, mu, S)) < 1e-9 * np.trace(S))
Q, _ = np.linalg.qr(rng.standard_normal((6, 6)))
a, b = rng.uniform(0.1, 3, 6), rng.uniform(0.1, 3, 6)
S1, S2 = Q @ np.diag(a) @ Q.T, Q @ np.diag(b) @ Q.T
mu2 = mu + 0.5
exact = float(np.sum((mu - mu2) ** 2) + np.sum((np.sqrt(a) - np.sqrt(b)) ** 2))
got = mq.frechet(mu, S1, mu2, S2)
check(f"FD of commuting covariances = closed form ({got:.12g} vs {exact:.12g})",
      abs(got - exact) < 1e-9 * exact)
a[:2] = 0  # singular S1 (dead units): sqrt a = 0 there
S1 = Q @ np.diag(a) @ Q.T
exact = float(np.sum((mu - mu2) ** 2) + np.sum((np.sqrt(a) - np.sqrt(b)) ** 2))
got = mq.frechet(mu, S1, mu2, S2)
check(f"FD with a singular covariance = closed form ({got:.10g} vs {exact:.10g})",
      abs(got - exact) < 1e-7 * exact)
check("FD is symmetric", abs(mq.frechet(mu, S1, mu2, S2) - mq.frechet(mu2, S2, mu, S1)) < 1e-7 * exact)

# the two ends of the scale on real data, and degenerate sets
q = mq.Quality()
ends = q.scale_ends(2000)
real, ref = ends["real"], ends["reference"]
print(mq.table([real, ref]))
check(f"real vs real FD {real['frechet']:.3f} < 10", real["frechet"] < 10)
check(f"reference FD {ref['frechet']:.1f} > 100 x real FD", ref["frechet"] > 100 * real["frechet"])
check(f"real: {real['classes_ge_5pct']} classes with >= 5 % (>= 8)", real["classes_ge_5pct"] >= 8)
check(f"real: entropy {real['entropy_bits']:.3f} bits > 3.2", real["entropy_bits"] > 3.2)
ones = q.measure(q.xa[q.ya == 1], label="held-out A, only 1s")
four = q.measure(q.xa[np.isin(q.ya, [1, 4, 7, 9])], label="held-out A, only 1, 4, 7, 9")
print(mq.table([ones, four]))
check(f"only 1s: {ones['classes_ge_5pct']} class with >= 5 %", ones["classes_ge_5pct"] == 1)
check(f"only 1s: entropy {ones['entropy_bits']:.3f} bits < 0.5", ones["entropy_bits"] < 0.5)
check(f"only 1s: FD {ones['frechet']:.1f} > 20 x real FD", ones["frechet"] > 20 * real["frechet"])
check(f"four classes: {four['classes_ge_5pct']} classes with >= 5 %", four["classes_ge_5pct"] == 4)
check(f"four classes: real < FD {four['frechet']:.1f} < only 1s",
      20 * real["frechet"] < four["frechet"] < ones["frechet"])
noisy = q.measure(q.xa + 0.1 * np.random.default_rng(0).standard_normal(q.xa.shape), label="noisy")
check(f"noise 0.1: FD {noisy['frechet']:.1f} > 5 x real, out of [0,1] share {noisy['out_of_range']:.2f} > 0.3",
      noisy["frechet"] > 5 * real["frechet"] and noisy["out_of_range"] > 0.3)

# a file in the layout of `proxflow sample`: /samples = 500 real held-out digits A
with h5py.File(sys.argv[2] + "/real_samples.h5", "w") as f:
    f["samples"] = q.xa[:500].astype(np.float32)
    f["reference"] = np.random.default_rng(1).uniform(0, 0.5, (500, 784)).astype(np.float32)
    f.attrs["mode"] = "real"
# discretisation.py --features inputs: the same 500 digits, slightly perturbed, and 500
# other digits (B): the perturbation must stay small in feature space, other digits not
rng = np.random.default_rng(2)
for name, x in (("d0", q.xa[:500]), ("d1", np.clip(q.xa[:500] + 0.01 * rng.standard_normal((500, 784)), 0, 1)),
                ("d2", q.xb[:500])):
    with h5py.File(sys.argv[2] + f"/{name}.h5", "w") as f:
        f["samples"] = x.astype(np.float32)
np.save(sys.argv[2] + "/expect_fd.npy", q.measure(q.xa[:500].astype(np.float32))["frechet"])
sys.exit(1 if fails else 0)
PY
rc=$?
cat "$T/module.txt"
passes=$((passes + $(grep -c '^ok ' "$T/module.txt")))
fails=$((fails + $(grep -c '^FAIL ' "$T/module.txt")))
[ $rc -eq 0 ] || [ "$(grep -c '^FAIL ' "$T/module.txt")" -gt 0 ] || bad "module checks exited $rc"

# ---- the command line: a sample file, and a checkpoint sampled through --proxflow ----
if "$PY" "$ANA/mnist_quality.py" "$T/real_samples.h5" --json "$T/file.json" > "$T/file.txt" 2>&1; then
  cat "$T/file.txt"
  check "sample file: JSON FD = the module's, real = its A row, 1 class for the reference" "$PY" - "$T" <<'PY'
import json, sys
import numpy as np
j = json.load(open(sys.argv[1] + "/file.json"))
g = j["sets"][0]
fd = float(np.load(sys.argv[1] + "/expect_fd.npy"))
ok = (g["generated"]["n"] == 500 and abs(g["generated"]["frechet"] - fd) < 1e-9 * fd
      and abs(g["generated"]["frechet"] - g["real"]["frechet"]) < 1e-6 * fd
      and g["reference"]["label"] == "reference x^0 of the samples"
      and g["reference"]["classes_ge_5pct"] == 1 and j["entropy_unit"] == "bits")
sys.exit(0 if ok else 1)
PY
else
  cat "$T/file.txt"; bad "mnist_quality.py on a sample file"
fi

# ---- discretisation.py --features: the step invariance in classifier feature space ----
if "$PY" "$ANA/discretisation.py" "$T/d0.h5" "$T/d1.h5" "$T/d2.h5" --features --image-shape 28,28,1 \
     --json "$T/inv.json" --out "$T/inv.png" > "$T/inv.txt" 2>&1; then
  cat "$T/inv.txt"
  check "--features: a file against itself 0, noise 0.01 small (same class >= 97 %), other digits far" "$PY" - "$T" <<'PY'
import json, sys
f = json.load(open(sys.argv[1] + "/inv.json"))["features"]
same, small, other = f
ok = (same["feature_dist_rel"] == 0 and same["same_class"] == 1 and abs(same["fd_to_first"]) < 1e-6
      and small["feature_dist_rel"] < 0.1 and small["same_class"] >= 0.97
      and small["fd_to_first"] < 0.5 * other["fd_to_first"]
      and other["feature_dist_rel"] > 5 * small["feature_dist_rel"] and other["same_class"] < 0.3)
sys.exit(0 if ok else 1)
PY
else
  cat "$T/inv.txt"; bad "discretisation.py --features"
fi

ini=(--set "data.source=$DATA/mnist/images-idx3-ubyte.gz" --set train.iterations=1
     --set train.batch=20 --set train.n_disc=1 --set potential.channels=2,2
     --set discriminator.channels=2,2 --set potential.widths=8 --set discriminator.widths=8
     --set output.checkpoint_every=1 --set output.log_every=1 --set output.trajectory_every=0
     --set output.diag_batch=20 --set output.n_traj=4)
if run1 train "$SRC/configs/mnist_w1w2.ini" "${ini[@]}" --out "$T/run" > "$T/train.log" 2>&1; then
  if "$PY" "$ANA/mnist_quality.py" "$T/run/checkpoints/ckpt_00000001.h5" --proxflow "$BIN" \
       --n 60 --seed 2 --keep-samples "$T/ck.h5" --json "$T/ck.json" > "$T/ck.txt" 2>&1; then
    cat "$T/ck.txt"
    check "checkpoint via --proxflow: 60 samples measured, the file proxflow sample wrote" "$PY" - "$T" "$ANA" <<'PY'
import json, sys
sys.path.insert(0, sys.argv[2])
import h5py
import numpy as np
import mnist_quality as mq
j = json.load(open(sys.argv[1] + "/ck.json"))
g = j["sets"][0]["generated"]
with h5py.File(sys.argv[1] + "/ck.h5", "r") as f:
    x = f["samples"][()]
    ok = f.attrs["kind"] in ("samples", b"samples") and int(f.attrs["sample_stream"]) == 2
r = mq.Quality().measure(x)
sys.exit(0 if ok and g["n"] == 60 and x.shape == (60, 784)
         and abs(g["frechet"] - r["frechet"]) <= 1e-9 * r["frechet"] else 1)
PY
  else
    cat "$T/ck.txt"; bad "mnist_quality.py on a checkpoint (--proxflow)"
  fi
  # the reproduction's summary (analysis/mnist_summary.py) of a run root: the run's row
  # (finite: its NaN-by-design sliced_w1 / mmd2 columns are no blow-up) and the quality row
  mkdir -p "$T/root" && ln -s "$T/run" "$T/root/w1w2" && cp "$T/ck.json" "$T/run/quality_1.json"
  "$PY" "$ANA/mnist_summary.py" "$T/root" > "$T/summary.md" 2>&1
  cat "$T/summary.md"
  fd=$("$PY" -c 'import json,sys; print("%.1f" % json.load(open(sys.argv[1]))["sets"][0]["generated"]["frechet"])' "$T/ck.json")
  check "mnist_summary.py: the run's row ends 'none' (no non-finite training value)" \
    grep -Eq '^\| w1w2 \| 1 \|.*\| none \|$' "$T/summary.md"
  check "mnist_summary.py: a quality row for iteration 1 with the JSON's FD ($fd)" \
    grep -Eq "^\| w1w2 \| 1 \| $fd \|" "$T/summary.md"
  "$PY" "$ANA/mnist_summary.py" "$T/root" --windows 0-1 > "$T/summary_w.md" 2>&1
  check "mnist_summary.py --windows 0-1: a window row for the run" \
    grep -Eq '^\| w1w2 \| 0-1 \| [0-9.]+ \|' "$T/summary_w.md"
  if "$PY" "$ANA/mnist_quality.py" "$T/run/checkpoints/ckpt_00000001.h5" > "$T/noprox.txt" 2>&1; then
    bad "a checkpoint without --proxflow should be an error"
  else
    check "a checkpoint without --proxflow: error naming --proxflow" grep -q -- "--proxflow" "$T/noprox.txt"
  fi
else
  cat "$T/train.log"; bad "tiny MNIST training run"
fi
pf_finish test_quality
