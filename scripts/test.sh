#!/usr/bin/env bash
# README command 2 (and CI): install, build, run the whole CTest suite; then build with
# AddressSanitizer + UndefinedBehaviorSanitizer and run the unit tests under them.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
(cd build && ctest --output-on-failure -j 2 "$@")
echo "== unit tests under AddressSanitizer + UndefinedBehaviorSanitizer"
cmake -S . -B build-san -DPROXFLOW_SANITIZE=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo > build-san.log 2>&1 \
  || { cat build-san.log; exit 1; }
cmake --build build-san -j "$(nproc)" 2>&1 | tail -n 1
# Open MPI's own allocations outlive MPI_Finalize: leak detection would only report those.
(cd build-san && ASAN_OPTIONS=detect_leaks=0 UBSAN_OPTIONS=print_stacktrace=1 \
   ctest --output-on-failure -j 2 -L unit)
echo "== libFuzzer targets (clang): each fuzzed briefly from its committed corpus (docs/RELIABILITY.md)"
mkdir -p build-fuzz
CC=clang cmake -S . -B build-fuzz -DPROXFLOW_FUZZ=ON -DBUILD_TESTING=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  > build-fuzz/configure.log 2>&1 || { cat build-fuzz/configure.log; exit 1; }
cmake --build build-fuzz -j "$(nproc)" --target fuzz_config fuzz_sweep fuzz_idx 2>&1 | tail -n 1
for t in config sweep idx; do
  work=$(mktemp -d)  # new inputs go here, never into the committed corpus
  dict=(); [ "$t" = idx ] || dict=(-dict=fuzz/ini.dict)
  build-fuzz/fuzz/fuzz_$t "$work" "fuzz/corpus/$t" "${dict[@]}" -max_total_time=20 -rss_limit_mb=2048 \
    -artifact_prefix="$work/" > "$work/log" 2>&1 || { tail -n 40 "$work/log"; echo "fuzz_$t: FINDING"; exit 1; }
  echo "fuzz_$t: $(grep -o 'Done [0-9]* runs in [0-9]* second(s)' "$work/log")"
  rm -rf "$work"
done
echo "== unit tests in single precision (-DPROXFLOW_FLOAT=ON, pf_real = float; SPEC §2)"
mkdir -p build-float
cmake -S . -B build-float -DPROXFLOW_FLOAT=ON -DCMAKE_BUILD_TYPE=Release > build-float/configure.log 2>&1 \
  || { cat build-float/configure.log; exit 1; }
cmake --build build-float -j "$(nproc)" 2>&1 | tail -n 1
(cd build-float && ctest --output-on-failure -j 2 -L unit)
