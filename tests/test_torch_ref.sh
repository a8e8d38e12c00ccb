#!/usr/bin/env bash
# proxflow against an independent PyTorch implementation (bench/reference_torch.py):
# `proxflow train --dump-state` for an MLP and a CNN config, every mode (w1w2, w1, w2,
# none) and every f (Donsker-Varadhan and the Legendre forms kl_legendre, reverse_kl,
# alpha; with the kinetic_reference variant, every activation, 1 and 2 ranks), then
# the losses and every gradient (potential, discriminator, nu) recomputed with autograd
# must agree within 1e-8: max|proxflow - torch| / max|torch| per parameter tensor
# (denominator floored at 1e-4 of the network's largest entry; see the script).
# A dump with one gradient entry changed by 1e-7 relative must fail the check, and
# bench/compare_torch.py must run (one timed iteration of the MLP config).
# Exits 77 (skipped) only when PyTorch or the MNIST digits are not there.
. "$(dirname "$0")/lib.sh"
set -e
DATA=${PROXFLOW_DATA_DIR:-$SRC/../shared/data}
PY=${PROXFLOW_PYTHON:-$PY}  # Debian's, which sees python3-torch
REF="$SRC/bench/reference_torch.py"
if ! $PY -c "import torch" 2>/dev/null; then
  echo "SKIP: PyTorch is not installed for $PY (Debian package python3-torch)"
  exit 77
fi
if [ ! -r "$DATA/mnist/images-idx3-ubyte.gz" ]; then
  # the CNN cases train on real digits (tests/CMakeLists.txt looks for them)
  echo "SKIP: $DATA/mnist/images-idx3-ubyte.gz not found (configure with -DPROXFLOW_DATA_DIR=DIR)"
  exit 77
fi

cat > "$T/mlp.ini" <<INI
[flow]
steps = 4
lambda = 0.5
T = 1.5
[lipschitz]
L = 0.1
mu = 0.7
[potential]
widths = 16,12
[discriminator]
widths = 16,12
[train]
batch = 30
seed = 7
[data]
source = sphere
dim = 4
manifold_dim = 2
[output]
diag_batch = 30
INI
# The paper's CNN shape (conv, act, pool twice; SPEC §2), smaller: MNIST, batch 12
cat > "$T/cnn.ini" <<INI
[flow]
steps = 3
lambda = 0.05
T = 5
[lipschitz]
L = 0.01
mu = 0.1
[potential]
arch = cnn
channels = 4,6
kernel = 5
widths = 32,24
activation = relu
[discriminator]
arch = cnn
channels = 6,4
kernel = 3
widths = 24,32
activation = relu
[train]
batch = 12
seed = 3
[data]
source = $DATA/mnist/images-idx3-ubyte.gz
n_train = 600
reference = uniform
reference_low = 0
reference_high = 0.5
[output]
diag_batch = 12
INI

# The dumps run 10 at a time: each takes under 0.1 s of CPU but about 1 s of MPI start-up.
names=()
dump() { # ranks config name --set ...
  local np=$1 cfg=$2 name=$3; shift 3
  names+=("$name")
  run_np "$np" 120 train "$T/$cfg.ini" --out "$T/run_$name" --dump-state "$T/$name.h5" \
    "$@" > "$T/$name.log" 2>&1 && touch "$T/$name.done" &
  [ $(( ${#names[@]} % 10 )) -ne 0 ] || wait
}
acts=(tanh softplus silu relu)
fs=(kl kl_legendre reverse_kl alpha)
for mode in w1w2 w1 w2 none; do
  for k in 0 1 2 3; do
    # rotate the activations so that every one meets every f and mode's terms
    m=$(( ( k + ${#mode} ) % 4 ))
    dump 1 mlp "mlp_${mode}_${fs[$k]}" --set flow.mode=$mode --set flow.f=${fs[$k]} \
      --set potential.activation=${acts[$m]} --set discriminator.activation=${acts[$(( (m + 1) % 4 ))]}
  done
  dump 1 cnn "cnn_${mode}_kl" --set flow.mode=$mode
  dump 1 cnn "cnn_${mode}_alpha" --set flow.mode=$mode --set flow.f=alpha --set flow.alpha=3 \
    --set potential.activation=tanh
done
dump 1 mlp mlp_kinref --set flow.kinetic_reference=true --set flow.f=reverse_kl
dump 1 cnn cnn_w2_kinref --set flow.kinetic_reference=true --set flow.mode=w2 --set flow.f=kl_legendre
dump 2 mlp mlp_2ranks_kl --set potential.activation=silu
dump 2 cnn cnn_2ranks_legendre --set flow.f=kl_legendre
wait
n=0
for name in "${names[@]}"; do
  if [ -f "$T/$name.done" ]; then n=$((n+1)); else bad "proxflow --dump-state $name"; cat "$T/$name.log"; fi
done
echo "$n of ${#names[@]} proxflow dumps written"

if $PY "$REF" check --threads 1 "$T"/*.h5 > "$T/check.log" 2>&1; then
  cat "$T/check.log"
else
  cat "$T/check.log"; bad "reference_torch.py check"
fi
grep -q "penalty's gradient is untested" "$T/check.log" && bad "a dump with the penalty on has no active interpolate"
[ "$(grep -c '^ok ' "$T/check.log")" -eq "${#names[@]}" ] || bad "expected ${#names[@]} 'ok' lines"

# The check must notice a wrong gradient: one entry of each network's gradient, off by
# 1e-7 of that tensor's scale (nu for a Legendre dump).
for what in potential_step discriminator_step; do
  cp "$T/mlp_w1w2_kl_legendre.h5" "$T/bad.h5"
  $PY - "$T/bad.h5" "$what" <<'PYEOF'
import sys, h5py, numpy as np
with h5py.File(sys.argv[1], "r+") as f:
    g = f[sys.argv[2] + "/grad"]
    v = g[...]
    k = len(v) - 1 if sys.argv[2] == "discriminator_step" else int(np.argmax(np.abs(v)))
    v[k] += 1e-7 * np.max(np.abs(v))
    g[...] = v
PYEOF
  if $PY "$REF" check --threads 1 "$T/bad.h5" > "$T/bad.log" 2>&1; then
    bad "a $what gradient changed by 1e-7 passed the check"; cat "$T/bad.log"
  else
    ok "a $what gradient changed by 1e-7 fails the check: $(grep -m1 'rel .* > ' "$T/bad.log" | sed 's/^ *//')"
  fi
done

# The benchmark side stays usable: bench/compare_torch.py (proxflow_bench and
# reference_torch.py bench) on the MLP config, one timed iteration each.
BENCH_BIN=$(dirname "$BIN")/proxflow_bench
if [ -x "$BENCH_BIN" ]; then
  if (cd "$T" && timeout 120 $PY "$SRC/bench/compare_torch.py" --bench "$BENCH_BIN" "$T/mlp.ini:1:0") \
       > "$T/compare.log" 2>&1 && grep -q '^| mlp | [a-z]* | 1 | ' "$T/compare.log"; then
    ok "bench/compare_torch.py: $(grep '^| mlp ' "$T/compare.log")"
  else
    bad "bench/compare_torch.py"; cat "$T/compare.log"
  fi
else
  echo "note: no $BENCH_BIN, bench/compare_torch.py not run"
fi

[ $fails -eq 0 ] && echo "test_torch_ref: all passed" || echo "test_torch_ref: $fails failed"
[ $fails -eq 0 ]
