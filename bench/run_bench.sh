#!/usr/bin/env bash
# Data-parallel benchmark: 1 rank x 1 thread, 1 rank x 2 threads, 2 ranks x 1 thread on
# one config (default configs/bench_mlp.ini); prints each breakdown and a summary table.
# usage: bench/run_bench.sh [CONFIG] [ITERATIONS]
set -euo pipefail
cd "$(dirname "$0")/.."
cfg=${1:-configs/bench_mlp.ini}
it=${2:-20}
bin=${PROXFLOW_BENCH:-build/proxflow_bench}
[ -x $bin ] || scripts/build.sh
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
out=$(mktemp)
for rt in "1 1" "1 2" "2 1"; do
  set -- $rt
  echo "== $1 rank(s) x $2 thread(s)"
  OMP_NUM_THREADS=$2 OPENBLAS_NUM_THREADS=$2 mpirun -n $1 --oversubscribe --bind-to none \
    -x OMP_NUM_THREADS -x OPENBLAS_NUM_THREADS $bin "$cfg" --iterations "$it" | tee -a "$out"
done
echo
echo "| ranks x threads | s/iteration | simulation | disc step | potential step | all-reduce | wait | samples/s | kernel GFLOP/s | GEMM GFLOP/s | ratio | peak RSS MiB |"
echo "|---|---|---|---|---|---|---|---|---|---|---|"
grep '^BENCH' "$out" | sed 's/BENCH //' | awk '{for(i=1;i<=NF;i++){split($i,kv,"=");v[kv[1]]=kv[2]} printf "| %s x %s | %.4f | %.4f | %.4f | %.4f | %.4f | %.4f | %.0f | %.2f | %.2f | %.2f | %.0f |\n", v["ranks"], v["threads"], v["s_per_it"], v["sim"], v["disc"], v["pot"], v["reduce"], v["wait"], v["samples_per_s"], v["gflops"], v["gemm_gflops"], v["ratio"], v["maxrss_mib"]}'
rm -f "$out"
