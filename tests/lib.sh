# tests/lib.sh: the prelude and helpers the end-to-end scripts share.  A script sources
# it first (after any skip that must come before PROXFLOW_BIN is needed):
#     . "$(dirname "$0")/lib.sh"
# and adds `set -e` after it if it stops at the first unchecked failure.
# Sourcing it:
#   - sets -u and pipefail;
#   - BIN = $PROXFLOW_BIN (required); SRC = $PROXFLOW_SOURCE_DIR, else the tree this
#     file is in; PY = /usr/bin/python3 (Debian's, which sees numpy, h5py, matplotlib);
#   - exports the mpirun-as-root variables and OMP/OPENBLAS_NUM_THREADS=1;
#   - makes the temporary directory $T, under $PF_TMP_PARENT if the script set it before
#     sourcing, else $TMPDIR or /tmp; an EXIT trap calls the script's pf_cleanup (if it
#     defines one), then removes $T (made writable first: a test may chmod a part).
# Functions:
#   ok MSG... / bad MSG...   print "ok   MSG" / "FAIL MSG" and count into $passes / $fails
#   check WHAT CMD...        run CMD: ok WHAT if it succeeds, else bad WHAT
#   pf_finish [NAME]         print "[NAME: ]P passed, F failed" and exit 0 if F = 0, else 1
#   run_np NP SECONDS ARGS...  proxflow ARGS on NP ranks (NP = 1: a singleton, no mpirun;
#                            else mpirun -n NP --oversubscribe) under
#                            `timeout -k $PF_KILL_AFTER SECONDS` (default 10 s)
#   run1 ARGS... / run2 ARGS...  run_np 1 / 2 with $PF_TIMEOUT seconds (default 120)
#   tiny_ini FILE [section.key=value | -section.key]...  writes the small sphere config of
#                            PF_TINY with keys changed or added (=value) or left out (-)
# run_np's launches go through timeout -k: Open MPI 4.1's mpirun was seen to hang after
# a rank's SIGKILL ("PMIX ERROR: UNREACHABLE"), ignoring timeout's SIGTERM; the KILL
# that -k sends later ends it.
# shellcheck shell=bash disable=SC2034  # (BIN, SRC, PY, ...: used by the scripts)
set -uo pipefail
BIN=${PROXFLOW_BIN:?PROXFLOW_BIN must point at the proxflow binary}
SRC=${PROXFLOW_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
PY=/usr/bin/python3
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1

T=$(mktemp -d "${PF_TMP_PARENT:-${TMPDIR:-/tmp}}/pf_$(basename "$0" .sh)_XXXXXX")
PF_MAIN_PID=$BASHPID
pf_exit() {
  # only the script itself cleans up: a background job's subshell inherits the trap and
  # would otherwise remove $T if a signal ends it before it execs its command
  [ "$BASHPID" = "$PF_MAIN_PID" ] || return 0
  if declare -F pf_cleanup > /dev/null; then pf_cleanup; fi
  chmod -R u+w "$T" 2> /dev/null; rm -rf "$T"
}
trap pf_exit EXIT

passes=0 fails=0
ok()  { echo "ok   $*"; passes=$((passes + 1)); }
bad() { echo "FAIL $*"; fails=$((fails + 1)); }
check() { local what=$1; shift; if "$@"; then ok "$what"; else bad "$what"; fi; }
# pf_snap DIR: sha256 of every file under DIR, sorted (a directory left unchanged prints the same)
pf_snap() { (cd "$1" && find . -type f -print0 | sort -z | xargs -0 sha256sum); }
# pf_crashed LOG: a crash signature in LOG (a signal, a sanitizer report, an abort)
pf_crashed() { grep -aqE "Segmentation fault|Process received signal|AddressSanitizer|runtime error:|core dumped|Aborted|free\(\)" "$1"; }
# pf_outcome NAME WANT_RC PATTERNS [TAIL]: the last run ($rc, its output in out.log) did
# not hang (rc 124) or crash, exited WANT_RC ("nz": any non-zero status) and printed every
# |-separated fixed string of PATTERNS; ok with its first error/warning line, or bad with
# the last TAIL (default 10) lines of out.log
pf_outcome() {
  local name=$1 want=$2 pats=$3 tail=${4:-10} why="" p
  if [ "$rc" -eq 124 ]; then why="hung (timeout)"
  elif pf_crashed out.log; then why="crashed"
  elif [ "$want" = nz ] && [ "$rc" -eq 0 ]; then why="exit 0, expected an error"
  elif [ "$want" != nz ] && [ "$rc" -ne "$want" ]; then why="exit $rc, expected $want"
  else
    local IFS='|'
    for p in $pats; do grep -aqF -- "$p" out.log || { why="no '$p' in the message"; break; }; done
  fi
  if [ -z "$why" ]; then ok "$name (exit $rc): $(grep -a -m1 -E 'error|warning' out.log | cut -c1-220)"; return 0; fi
  bad "$name: $why"; sed 's/^/     /' out.log | tail -n "$tail"; return 1
}
pf_finish() {
  echo "${1:+$1: }$passes passed, $fails failed"
  if [ "$fails" -eq 0 ]; then exit 0; fi
  exit 1
}

PF_KILL_AFTER=10 PF_TIMEOUT=120
run_np() {
  local np=$1 secs=$2; shift 2
  if [ "$np" -eq 1 ]; then timeout -k "$PF_KILL_AFTER" "$secs" "$BIN" "$@"
  else timeout -k "$PF_KILL_AFTER" "$secs" mpirun -n "$np" --oversubscribe "$BIN" "$@"; fi
}
run1() { run_np 1 "$PF_TIMEOUT" "$@"; }
run2() { run_np 2 "$PF_TIMEOUT" "$@"; }

# A tiny run on a circle in R^4: 20 iterations of batch 30, a log record and a
# checkpoint every 5, trajectories every 10.  Sections and keys are written in this
# order; a key added by tiny_ini goes at the end of its section (a new section at the end).
# shellcheck disable=SC2054  # (the commas are values: widths = 16,16)
PF_TINY=(flow.steps=4 flow.lambda=0.5 potential.widths=16,16 discriminator.widths=16,16
         train.iterations=20 train.batch=30 train.n_disc=2 train.seed=7
         data.source=sphere data.dim=4 data.manifold_dim=1
         output.log_every=5 output.checkpoint_every=5 output.trajectory_every=10
         output.n_traj=12 output.diag_batch=30 output.keep=10)
tiny_ini() {
  local file=$1 kv k s head; shift
  local -a keys=() secs=()
  local -A val=() seen=() sec_seen=()
  for kv in "${PF_TINY[@]}" "$@"; do
    case $kv in
      -*.*) unset "val[${kv#-}]" ;;
      *.*=*) k=${kv%%=*}
             [ -n "${seen[$k]:-}" ] || { keys+=("$k"); seen[$k]=1; }
             val[$k]=${kv#*=}
             s=${k%%.*}
             [ -n "${sec_seen[$s]:-}" ] || { secs+=("$s"); sec_seen[$s]=1; } ;;
      *) echo "tiny_ini: '$kv' is neither section.key=value nor -section.key" >&2; return 2 ;;
    esac
  done
  for s in "${secs[@]}"; do
    head=0
    for k in "${keys[@]}"; do
      [ "${k%%.*}" = "$s" ] && [ -n "${val[$k]+set}" ] || continue
      [ $head -eq 1 ] || { echo "[$s]"; head=1; }
      echo "${k#*.} = ${val[$k]}"
    done
  done > "$file"
}
