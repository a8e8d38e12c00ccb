#!/usr/bin/env bash
# README command 1: install, build, train configs/quickstart.ini on 2 MPI ranks.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
out=runs/quickstart-$(date +%Y%m%d-%H%M%S)
scripts/mpirun.sh 2 build/proxflow train configs/quickstart.ini --out "$out"
echo "quickstart: results in $out (run.h5: /usr/bin/python3 analysis/plot_diagnostics.py $out)"
