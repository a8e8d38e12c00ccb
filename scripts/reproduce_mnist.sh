#!/usr/bin/env bash
# The paper's MNIST experiment (SPEC §6.2, docs/REPRODUCTION.md): the modes, then curves,
# sample grids, the sample-quality measure at 1000, 2500 and 5000 iterations and the
# discretisation invariance (h, h/2, h/4) in pixels and in classifier features.
# Resumable: rerun the same command to continue (each run resumes from its latest
# checkpoint; a finished or diverged run is not trained again).
# usage: scripts/reproduce_mnist.sh [OUT_ROOT] [ITERATIONS] [RANKS]
#   env PROXFLOW (binary, default build/proxflow; a float build is what the docs use),
#   FAIL_ITERATIONS (w2, none; default 1000: they blow up long before),
#   MODES (default "w1w2 w1 w1w2_kinref w2 none"; also w1w2_seed2; "" skips training),
#   POST (0 skips the analysis), QUALITY_AT (default "1000 2500 5000")
#   The runs of one mode are one process; two modes side by side use the two cores:
#     MODES="w1w2" POST=0 scripts/reproduce_mnist.sh runs/mnist 5000 1 &
#     MODES="w1" POST=0 scripts/reproduce_mnist.sh runs/mnist 5000 1; wait
#     MODES="" scripts/reproduce_mnist.sh runs/mnist
# Modes: w1w2, w1, w2, none are configs/mnist_<mode>.ini; w1w2_kinref is w1w2 with the
# reference code's kinetic term (flow.kinetic_reference = true); w1w2_seed2 is w1w2 with
# train.seed = 2.
set -uo pipefail
cd "$(dirname "$0")/.."
root=${1:-runs/mnist}; it=${2:-5000}; np=${3:-2}
bin=${PROXFLOW:-build/proxflow}
py=/usr/bin/python3
mkdir -p "$root"
for mode in ${MODES-w1w2 w1 w1w2_kinref w2 none}; do
  n=$it cfg=configs/mnist_$mode.ini extra=()
  case $mode in
    w2|none) n=${FAIL_ITERATIONS:-1000};;
    w1w2_kinref) cfg=configs/mnist_w1w2.ini extra=(--set flow.kinetic_reference=true);;
    w1w2_seed2) cfg=configs/mnist_w1w2.ini extra=(--set train.seed=2);;
  esac
  if grep -Eqs "non-finite|proxflow: done: ($n iterations|[0-9]+ iterations \(iterations [0-9]+\.\.$n\))|of $n: the run is finished" "$root/$mode.log"; then
    echo "$mode: already finished or diverged (see $root/$mode.log)"; continue
  fi
  resume=()
  ls "$root/$mode/checkpoints/"ckpt_*.h5 > /dev/null 2>&1 && resume=(--resume latest)
  start=$(date +%s)
  # keep every checkpoint (one per 250 iterations): the quality measure reads some
  PROXFLOW_PROGRESS=lines scripts/mpirun.sh "$np" "$bin" train "$cfg" --out "$root/$mode" \
    --set train.iterations="$n" --set output.keep=100 "${extra[@]}" "${resume[@]}" >> "$root/$mode.log" 2>&1
  echo "$mode: exit $?, $(( $(date +%s) - start )) s" | tee -a "$root/summary.txt"
done
[ "${POST:-1}" = 0 ] && exit 0
runs=()
for m in w1w2 w1 w1w2_kinref w1w2_seed2 w2 none; do [ -e "$root/$m/run.h5" ] && runs+=("$root/$m"); done
$py analysis/plot_diagnostics.py "${runs[@]}" --metrics kinetic,divergence,hj_residual,hj_terminal \
  --logy --out "$root/curves.png"
$py analysis/mnist_summary.py "$root" > "$root/summary.md"
# the sample-quality measure (classifier features; analysis/mnist_quality.py) at QUALITY_AT
for m in w1w2 w1 w1w2_kinref w1w2_seed2 w2 none; do
  for q in ${QUALITY_AT:-1000 2500 5000}; do
    ck=$root/$m/checkpoints/$(printf 'ckpt_%08d.h5' "$q")
    [ -e "$ck" ] || continue
    [ -e "$root/$m/quality_$q.json" ] && continue
    $py analysis/mnist_quality.py "$ck" --proxflow "$bin" --n 2000 --seed 1 --np "$np" \
      --json "$root/$m/quality_$q.json" > "$root/$m/quality_$q.txt" 2>&1 || echo "quality $m $q failed"
  done
done
# discretisation invariance and sample grids of the last checkpoint of each stable mode
for m in w1w2 w1 w1w2_kinref w1w2_seed2; do
  ck=$(ls "$root/$m/checkpoints/"ckpt_*.h5 2> /dev/null | tail -n 1)
  [ -n "$ck" ] || continue
  for k in 5 10 20; do
    scripts/mpirun.sh "$np" "$bin" sample --checkpoint "$ck" --n 1000 --steps $k --seed 1 \
      --out "$root/$m/samples_steps$k.h5" > /dev/null
  done
  $py analysis/discretisation.py "$root/$m"/samples_steps{5,10,20}.h5 --image-shape 28,28,1 \
    --features --json "$root/${m}_invariance.json" --label "$m" --out "$root/${m}_invariance.png" | tee "$root/${m}_invariance.txt"
  $py analysis/plot_samples.py "$root/$m" --out "$root/${m}_samples.png"
done
