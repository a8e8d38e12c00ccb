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
