#!/bin/bash
# Submit a proxflow sweep as one Slurm job array, one task per run (docs/CLUSTER.md).
#
#   slurm/submit_sweep.sh SWEEP.ini [K] [sbatch options...]
#
# Counts the runs with `proxflow sweep SWEEP.ini --count` and submits
# `sbatch --array=0-(count-1)%K slurm/sweep.sbatch SWEEP.ini` (K: at most K runs at a
# time; without K, no limit).  sbatch options (--time, --ntasks-per-node, --wait, ...)
# go before the script.  Prints the array job id on stdout, a summary on stderr; exits
# with sbatch's status (with --wait: the highest exit status of the tasks).
# PROXFLOW names the binary (default: proxflow on PATH, else build/proxflow).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
if [ $# -lt 1 ] || [ "$1" = -h ] || [ "$1" = --help ]; then
  sed -n '2,11p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
  exit 2
fi
sweep=$1; shift
K=
if [ $# -gt 0 ] && [[ $1 =~ ^[0-9]+$ ]]; then K=$1; shift; fi
if [ -z "${PROXFLOW:-}" ]; then
  PROXFLOW=$(command -v proxflow || echo "$here/../build/proxflow")
fi
export PROXFLOW
count=$("$PROXFLOW" sweep "$sweep" --count)
if ! [[ $count =~ ^[0-9]+$ ]] || [ "$count" -lt 1 ]; then
  echo "submit_sweep.sh: $sweep: unexpected run count '$count'" >&2
  exit 1
fi
array="0-$((count - 1))"
if [ -n "$K" ]; then array="$array%$K"; fi
echo "submit_sweep.sh: $sweep: $count runs: sbatch --array=$array $* $here/sweep.sbatch $sweep" >&2
sbatch --parsable --array="$array" "$@" "$here/sweep.sbatch" "$sweep" | {
  read -r jobid; jobid=${jobid%%;*}
  echo "$jobid"
  echo "submit_sweep.sh: submitted array job $jobid" >&2
  cat
}
