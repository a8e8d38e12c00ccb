#!/usr/bin/env bash
# Issue 20 (docs/RELIABILITY.md rows R03, R09-R12): signals never destroy a run.
# Bursts of SIGTERM / SIGUSR1 (to one rank or to all) end the run with one checkpoint
# at the next iteration boundary and exit 0; SIGINT checkpoints and exits 130; a
# second SIGINT exits at once (130) and the checkpoints written before load.  Every
# signal goes only to processes this script started (found by their unique --out).
. "$(dirname "$0")/lib.sh"
tiny_ini "$T/tiny.ini"  # lib.sh's PF_TINY: sphere in R^4, batch 30

# The rank processes of the run writing to $1 (their command line starts with $BIN;
# mpirun's and timeout's do not).
rank_pids() { pgrep -f "^$BIN train $T/tiny.ini --out $1( |$)"; }
# Wait (at most 60 s) until the log $1 shows iteration 5.
wait_iter5() { for _ in $(seq 600); do grep -q "\[ *5/" "$1" 2> /dev/null && return 0; sleep 0.1; done; return 1; }
ckpts() { ls "$1/checkpoints" 2> /dev/null | grep -c '^ckpt_[0-9]*\.h5$' || true; }
last_it() { ls "$1/checkpoints" | grep '^ckpt_[0-9]*\.h5$' | sed 's/ckpt_0*\([0-9]*\)\.h5/\1/' | sort -n | tail -1; }
# resume DIR NP: --resume latest for 3 more iterations must finish
resume_ok() {
  local it; it=$(last_it "$1")
  run_np "$2" 120 train "$T/tiny.ini" --out "$1" --resume latest --set train.iterations=$((it + 3)) \
    > "$1.resume.log" 2>&1 && grep -q "resumed from .*ckpt_0*$it.h5" "$1.resume.log" \
    && grep -q "done: 3 iterations (iterations $it..$((it + 3)))" "$1.resume.log"
}

# burst NP NAME TARGET SIGNALS...: a long run, then 100 signals (cycling through
# SIGNALS) as fast as bash sends them to TARGET (all ranks, or rank "last")
burst() {
  local np=$1 name=$2 target=$3; shift 3
  local out=$T/$name pids k=0
  run_np "$np" 300 train "$T/tiny.ini" --out "$out" --set train.iterations=100000 \
    --set output.checkpoint_every=0 > "$out.log" 2>&1 &
  local job=$!
  wait_iter5 "$out.log" || { bad "$name: no progress"; cat "$out.log"; }
  pids=$(rank_pids "$out")
  [ "$target" = last ] && pids=$(tail -n 1 <<< "$pids")
  local -a sigs=("$@")
  local t0; t0=$(date +%s%N)
  for _ in $(seq 100); do
    kill -"${sigs[k % ${#sigs[@]}]}" $pids 2> /dev/null; k=$((k + 1))
  done
  wait $job; local rc=$?
  local ms=$(( ($(date +%s%N) - t0) / 1000000 ))
  [ $rc -eq 0 ] && ok "$name: 100 x ${sigs[*]} to $target of $np rank(s): exit 0 in $ms ms" \
    || { bad "$name: exit $rc"; cat "$out.log"; }
  grep -q "received: checkpoint" "$out.log" && ok "$name: message: $(grep -o 'proxflow: SIG.*received' "$out.log")" \
    || bad "$name: no checkpoint message"
  [ "$(ckpts "$out")" -eq 1 ] && ok "$name: exactly one checkpoint ($(ls "$out/checkpoints"))" \
    || bad "$name: $(ckpts "$out") checkpoints"
  resume_ok "$out" "$np" && ok "$name: --resume latest continues" || { bad "$name: resume"; cat "$out.resume.log"; }
}

# 1. bursts (R09): one rank; one rank of two; both ranks, TERM and USR1 mixed
burst 1 term1 all TERM
burst 2 term2 last TERM
burst 2 mix2 all TERM USR1

# 2. one SIGINT (R10): checkpoint, exit 130 (1 rank; 2 ranks with the signal to rank 0 only)
for np in 1 2; do
  out=$T/int$np
  run_np $np 300 train "$T/tiny.ini" --out "$out" --set train.iterations=100000 \
    --set output.checkpoint_every=0 > "$out.log" 2>&1 &
  job=$!
  wait_iter5 "$out.log" || bad "int$np: no progress"
  kill -INT $(rank_pids "$out" | head -n 1)
  wait $job; rc=$?
  [ $rc -eq 130 ] && ok "SIGINT on $np rank(s): exit 130" || { bad "SIGINT on $np rank(s): exit $rc"; cat "$out.log"; }
  grep -q "SIGINT received: checkpoint .* (exit status 130: interrupted)" "$out.log" \
    && [ "$(ckpts "$out")" -eq 1 ] && ok "SIGINT on $np rank(s): one checkpoint and the message" \
    || { bad "SIGINT on $np rank(s): checkpoint or message"; cat "$out.log"; }
  resume_ok "$out" $np && ok "SIGINT on $np rank(s): --resume latest continues" || bad "SIGINT on $np rank(s): resume"
done

# 3. two SIGINTs (R11): slow iterations (~2 s: 128 steps, batch 4800), a checkpoint after
#    each; the signals 0.3 s apart just after checkpoint 2, in the middle of iteration 3
slow=(--set flow.steps=128 --set train.batch=4800 --set output.checkpoint_every=1 --set output.log_every=1
      --set output.trajectory_every=0)
out=$T/int2x
run1 train "$T/tiny.ini" --out "$out" "${slow[@]}" > "$out.log" 2>&1 &
job=$!
for _ in $(seq 1200); do [ -e "$out/checkpoints/ckpt_00000002.h5" ] && break; sleep 0.05; done
pid=$(rank_pids "$out")
kill -INT "$pid"; sleep 0.3; t0=$(date +%s%N); kill -INT "$pid"
wait $job; rc=$?
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
[ $rc -eq 130 ] && [ $ms -lt 2000 ] && ok "second SIGINT: exit 130, $ms ms after it" \
  || { bad "second SIGINT: exit $rc after $ms ms"; cat "$out.log"; }
grep -q "second SIGINT: exiting now" "$out.log" && ! grep -q "SIGINT received: checkpoint" "$out.log" \
  && ok "second SIGINT: exited from the handler, before the boundary" || { bad "second SIGINT: message"; cat "$out.log"; }
$PY - "$out/checkpoints" <<'PYEOF' && ok "second SIGINT: checkpoints 1, 2 complete, nothing newer" || bad "second SIGINT: checkpoints"
import sys, os, h5py
d = sys.argv[1]
names = sorted(f for f in os.listdir(d) if f.startswith("ckpt_") and f.endswith(".h5"))
assert names == ["ckpt_00000001.h5", "ckpt_00000002.h5"], names
for f in names:
    with h5py.File(os.path.join(d, f), "r") as c:
        assert c.attrs["complete"] == 1
PYEOF
run1 train "$T/tiny.ini" --out "$out" --resume latest "${slow[@]}" --set train.iterations=3 > "$out.resume.log" 2>&1 \
  && grep -q "resumed from .*ckpt_00000002.h5 at iteration 2" "$out.resume.log" \
  && ok "second SIGINT: the prior checkpoint loads and the run continues" || { bad "second SIGINT: resume"; cat "$out.resume.log"; }

pf_finish test_signals
