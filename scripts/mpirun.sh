#!/usr/bin/env bash
# mpirun with what this stack needs on a workstation: root allowed, oversubscription
# allowed, and one OpenMP/BLAS thread per rank unless the caller set them.
# usage: scripts/mpirun.sh RANKS COMMAND...
set -euo pipefail
n=$1; shift
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
cores=$(nproc)
t=$(( cores / n )); [ "$t" -ge 1 ] || t=1
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-$t}
export OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-$OMP_NUM_THREADS}
exec mpirun -n "$n" --oversubscribe --bind-to none -x OMP_NUM_THREADS -x OPENBLAS_NUM_THREADS "$@"
