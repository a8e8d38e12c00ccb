#!/usr/bin/env bash
# The paper's MNIST experiment (SPEC §6.2, docs/REPRODUCTION.md): the four modes, then
# curves, sample grids and discretisation invariance (h, h/2, h/4).  Resumable: rerun
# the same command to continue (each run resumes from its latest checkpoint).
# usage: scripts/reproduce_mnist.sh [OUT_ROOT] [ITERATIONS] [RANKS]
#   env PROXFLOW (binary, default build/proxflow), FAIL_ITERATIONS (w2, none; default 400),
#   MODES (default "w1w2 w1 w2 none"; "" skips training), POST (0 skips the plots)
#   Two halves can run side by side on 2 cores, one rank each:
#     MODES="w1w2 none" POST=0 scripts/reproduce_mnist.sh runs/mnist 1000 1 &
#     MODES="w1 w2" POST=0 scripts/reproduce_mnist.sh runs/mnist 1000 1; wait
#     MODES="" scripts/reproduce_mnist.sh runs/mnist
set -uo pipefail
cd "$(dirname "$0")/.."
root=${1:-runs/mnist}; it=${2:-1000}; np=${3:-2}
bin=${PROXFLOW:-build/proxflow}
py=/usr/bin/python3
mkdir -p "$root"
for mode in ${MODES-w1w2 w1 w2 none}; do
  n=$it
  case $mode in w2|none) n=${FAIL_ITERATIONS:-400};; esac
  resume=()
  ls "$root/$mode/checkpoints/"ckpt_*.h5 > /dev/null 2>&1 && resume=(--resume latest)
  start=$(date +%s)
  scripts/mpirun.sh "$np" "$bin" train "configs/mnist_$mode.ini" --out "$root/$mode" \
    --set train.iterations="$n" "${resume[@]}" 2>&1 | tee -a "$root/$mode.log" | grep -v '^\s*$' | tail -n 3
  echo "$mode: exit ${PIPESTATUS[0]}, $(( $(date +%s) - start )) s" | tee -a "$root/summary.txt"
done
[ "${POST:-1}" = 0 ] && exit 0
$py analysis/plot_diagnostics.py "$root"/w1w2 "$root"/w1 "$root"/w2 "$root"/none \
  --metrics kinetic,divergence,hj_residual,hj_terminal --logy --out "$root/curves.png"
for mode in w1w2 w1; do
  ck=$(ls "$root/$mode/checkpoints/"ckpt_*.h5 2>/dev/null | tail -n 1)
  [ -n "$ck" ] || continue
  for k in 5 10 20; do
    scripts/mpirun.sh "$np" "$bin" sample --checkpoint "$ck" --n 100 --steps $k --seed 1 \
      --out "$root/$mode/samples_steps$k.h5" > /dev/null
  done
  $py analysis/discretisation.py "$root/$mode"/samples_steps{5,10,20}.h5 --image-shape 28,28,1 \
    --label "$mode" --out "$root/${mode}_invariance.png" | tee "$root/${mode}_invariance.txt"
  $py analysis/plot_samples.py "$root/$mode" --out "$root/${mode}_samples.png"
done
