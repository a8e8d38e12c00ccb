#!/usr/bin/env bash
# Old binary against new, in one run: alternating pairs of proxflow_bench runs (old, then
# new) per config and rank count, each run's s/it printed (docs/PERFORMANCE.md,
# "Bit-identical sums: cost").  Run from the project directory (the MNIST config's data
# path is relative to it).
# usage: bench/ab_binaries.sh OLD_DOUBLE_BENCH NEW_DOUBLE_BENCH OLD_FLOAT_BENCH NEW_FLOAT_BENCH
#   env SPECS (default below: CONFIG:PRECISION:ITERATIONS:WARMUP ...), RANKS ("1 2"), PAIRS (3)
set -euo pipefail
[ $# -eq 4 ] || { sed -n 2,8p "$0"; exit 2; }
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
declare -A bin=([old_double]=$1 [new_double]=$2 [old_float]=$3 [new_float]=$4)
run() { # BENCH RANKS CONFIG ITERATIONS WARMUP -> s/it
  mpirun -n "$2" --oversubscribe --bind-to none -x OMP_NUM_THREADS -x OPENBLAS_NUM_THREADS \
    "$1" "configs/$3.ini" --iterations "$4" --warmup "$5" 2> /dev/null |
    sed -n 's/^BENCH.* s_per_it=\([0-9.e+-]*\).*/\1/p'
}
echo "# $(date -u +%FT%TZ) $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2) load $(cut -d' ' -f1-3 /proc/loadavg)"
for spec in ${SPECS:-bench_2d:double:20:3 bench_2d:float:20:3 bench_mlp8:double:20:3 bench_mlp512:double:3:1 mnist_w1w2:float:2:1}; do
  IFS=: read -r cfg prec its warm <<< "$spec"
  for np in ${RANKS:-1 2}; do
    a=() b=()
    for _ in $(seq "${PAIRS:-3}"); do
      a+=("$(run "${bin[old_$prec]}" "$np" "$cfg" "$its" "$warm")")
      b+=("$(run "${bin[new_$prec]}" "$np" "$cfg" "$its" "$warm")")
    done
    echo "$cfg $prec ranks=$np old: ${a[*]} new: ${b[*]}"
  done
done
