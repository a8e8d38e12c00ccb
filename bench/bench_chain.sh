#!/usr/bin/env bash
# Training time per link of a K-link chain (SPEC §8: O(K) training, so link k's time
# must not grow with k).  Prints the per-link seconds and their ratio to link 1.
# usage: bench/bench_chain.sh [CONFIG] [K] [RANKS] [ITERATIONS]
#   default: configs/chain_2d.ini, 8 links, 1 rank, 200 iterations per link
set -euo pipefail
cd "$(dirname "$0")/.."
CFG=${1:-configs/chain_2d.ini}; K=${2:-8}; P=${3:-1}; IT=${4:-200}
BIN=${PROXFLOW_BIN:-build/proxflow}
OUT=$(mktemp -d /tmp/pf_bench_chain.XXXXXX)
trap 'rm -rf "$OUT"' EXIT
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1} OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-1}
echo "bench_chain: $CFG, $K links x $IT iterations, $P rank(s) x $OMP_NUM_THREADS thread(s)"
scripts/mpirun.sh "$P" "$BIN" chain "$CFG" --links "$K" --set train.iterations="$IT" \
  --set output.checkpoint_every=0 --out "$OUT/c" > "$OUT/log" 2>&1 || { cat "$OUT/log"; exit 1; }
/usr/bin/python3 - "$OUT/c/chain.h5" <<'PY'
import sys, h5py, numpy as np
L = h5py.File(sys.argv[1], "r")["links"]
t, p = L["train_seconds"][:], L["push_seconds"][:]
print(f"{'link':>4} {'train s':>9} {'/ link 1':>9} {'push s':>8}")
for k in range(len(t)):
    print(f"{k + 1:4d} {t[k]:9.2f} {t[k] / t[0]:9.3f} {p[k]:8.2f}")
print(f"links 2..{len(t)}: mean train time / link 1 = {t[1:].mean() / t[0]:.3f}, "
      f"max = {t[1:].max() / t[0]:.3f}; last / first = {t[-1] / t[0]:.3f}")
PY
