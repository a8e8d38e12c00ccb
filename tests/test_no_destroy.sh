#!/usr/bin/env bash
# Issue 20, "no command may destroy a run" (docs/RELIABILITY.md, rows A.., M.., L09..):
#   - outputs never alias inputs: sample, eval, train --dump-state refuse (exit 2, the
#     message naming both paths) their input checkpoint under any spelling, a run's
#     run.h5, .lock and checkpoints/, a chain's chain.h5 and pools/, and any existing
#     checkpoint; every file of the run is byte-identical afterwards;
#   - one job per run directory: a second train / --resume latest / chain / sweep
#     --index on a directory in use exits 2 naming the holder's host and PID (1 and 2
#     ranks); no stale lock after SIGKILL; two fresh runs started at once: one runs,
#     the other is refused, the run is not mixed; a file system without locks: a
#     warning (PROXFLOW_LOCK=require: an error);
#   - repeated options and empty values refused, naming the option.
. "$(dirname "$0")/lib.sh"
cd "$T"
tiny_ini tiny.ini train.iterations=10 output.trajectory_every=5
run_np 1 120 train tiny.ini --out R > R.log 2>&1 || { cat R.log; echo "FAIL reference run"; exit 1; }
CK=R/checkpoints/ckpt_00000005.h5

run() { run_np "${NP:-1}" 60 "$@" > out.log 2>&1; rc=$?; }
# expect NAME WANT_RC PATTERNS(| separated fixed strings): tests/lib.sh pf_outcome
expect() { pf_outcome "$1" "$2" "$3" 8; }
# refused NAME PATTERNS args...: exit 2, the patterns, and R byte-identical
refused() {
  local name=$1 pats=$2; shift 2
  pf_snap R > before.sha
  run "$@"
  expect "$name" 2 "$pats" && { pf_snap R | cmp -s before.sha - || bad "$name: files of R changed"; }
}

echo "== outputs never alias inputs (exit 2, R unchanged)"
refused A01-sample-out-is-its-checkpoint "sample: --out $CK is the same file as the input --checkpoint $CK|refusing" \
  sample --checkpoint $CK --n 5 --out $CK
refused A02-sample-out-another-spelling "R/checkpoints/../checkpoints/ckpt_00000005.h5|$CK" \
  sample --checkpoint $CK --n 5 --out R/checkpoints/../checkpoints/ckpt_00000005.h5
ln -s "$T/$CK" link.h5
refused A03-sample-out-symlink-to-checkpoint "--out link.h5 is the same file as the input --checkpoint $CK" \
  sample --checkpoint $CK --n 5 --out link.h5
ln "$CK" hard.h5
refused A04-sample-out-hard-link "--out hard.h5 is the same file as the input --checkpoint $CK" \
  sample --checkpoint $CK --n 5 --out hard.h5
refused A05-sample-out-run-h5 "--out R/run.h5 is the run file (diagnostics) of the run directory R" \
  sample --checkpoint $CK --n 5 --out R/run.h5
refused A06-sample-out-other-checkpoint "R/checkpoints/ckpt_00000010.h5|inside the checkpoints directory" \
  sample --checkpoint $CK --n 5 --out R/checkpoints/ckpt_00000010.h5
refused A07-sample-out-new-file-in-checkpoints "R/checkpoints/new.h5|inside the checkpoints directory" \
  sample --checkpoint $CK --n 5 --out R/checkpoints/new.h5
refused A08-sample-out-lock-file "R/.lock is the lock file of the run directory R" \
  sample --checkpoint $CK --n 5 --out R/.lock
cp R/checkpoints/ckpt_00000010.h5 copy.h5; sha256sum copy.h5 > copy.sha
refused A09-sample-out-any-checkpoint "--out copy.h5 is a checkpoint" sample --checkpoint $CK --n 5 --out copy.h5
sha256sum -c --quiet copy.sha || bad "A09: copy.h5 changed"
refused A10-eval-json-is-its-checkpoint "eval: --json $CK is the same file as the input --checkpoint $CK" \
  eval --checkpoint $CK --n 50 --json $CK
refused A11-eval-json-run-h5 "--json R/run.h5 is the run file" eval --checkpoint $CK --n 50 --json R/run.h5
refused A12-eval-points-is-json "--points m.json is the same file as the input --json m.json" \
  eval --checkpoint $CK --n 50 --json m.json --points m.json
refused A13-dump-state-over-checkpoint "train: --dump-state $CK is the same file as the input --resume $CK" \
  train tiny.ini --resume $CK --dump-state $CK
refused A14-dump-state-over-config "--dump-state tiny.ini is the same file as the input config tiny.ini" \
  train tiny.ini --dump-state tiny.ini
# what is allowed: a new file, and a file of samples written before (replaced whole)
run sample --checkpoint $CK --n 5 --out s.h5 && run sample --checkpoint $CK --n 7 --out s.h5
[ $rc -eq 0 ] && [ ! -e s.h5.tmp ] && $PY -c "import h5py; assert h5py.File('s.h5')['samples'].shape == (7, 4)" \
  && ok "A15: sample over its own earlier samples file: replaced, no .tmp left" || bad "A15: sample over a samples file (exit $rc)"
run eval --checkpoint $CK --n 50 --json e.json --points p.h5
[ $rc -eq 0 ] && [ -s e.json ] && [ -s p.h5 ] && [ ! -e e.json.tmp ] && [ ! -e p.h5.tmp ] \
  && ok "A16: eval --json / --points written through .tmp + rename" || bad "A16: eval outputs (exit $rc)"
# a chain's summary and pools
run chain "$SRC/configs/chain_2d.ini" --links 1 --out C --set train.iterations=10 --set train.batch=32 \
  --set chain.pool=64 --set output.diag_batch=32 --set output.log_every=5 --set output.checkpoint_every=5
if [ $rc -eq 0 ]; then
  pf_snap C > cbefore.sha
  run sample --chain C --n 5 --out C/chain.h5
  expect A17-sample-chain-out-chain-h5 2 "--out C/chain.h5 is the chain summary of the run directory C"
  run sample --chain C --n 5 --out C/pools/pool_01.h5
  expect A18-sample-chain-out-pool 2 "C/pools/pool_01.h5|inside the pools directory"
  pf_snap C | cmp -s cbefore.sha - || bad "A17/A18: files of C changed"
else bad "chain run for A17 (exit $rc)"; tail -n 5 out.log; fi

echo "== repeated options and empty values (exit 2, naming the option)"
run sample --checkpoint $CK --n 5 --n 6 --out s2.h5;        expect L09-sample-n-twice 2 "sample: --n given twice ('5', then '6')"
run sample --checkpoint $CK --n=5 --out s2.h5 --n 6;        expect L10-sample-n-twice-mixed-forms 2 "--n given twice ('5', then '6')"
run sample --checkpoint $CK --n 5 --out s2.h5 --trajectories --trajectories; expect L11-flag-twice 2 "--trajectories given twice"
run sweep s.ini --index 1 --index 2;                        expect L12-sweep-index-twice 2 "sweep: --index given twice ('1', then '2')"
run eval --checkpoint $CK --json a.json --json b.json;      expect L13-eval-json-twice 2 "eval: --json given twice ('a.json', then 'b.json')"
run chain tiny.ini --links 1 --links 2 --out C2;            expect L14-chain-links-twice 2 "chain: --links given twice"
run sample --checkpoint $CK --n 5 --out '';                 expect L15-sample-out-empty 2 "sample: --out needs a value, got an empty string"
rm -rf X; run train tiny.ini --out '';                      expect L16-train-out-empty 2 "train: --out needs a value, got an empty string"
run eval --checkpoint '' --n 5;                             expect L17-eval-checkpoint-empty 2 "eval: --checkpoint needs a value"
[ ! -e s2.h5 ] && [ ! -e C2 ] || bad "L09-L17: an output was created"

echo "== one job per run directory (exit 2, naming the holder)"
# wait_for LOG PATTERN: until the job's log shows it (extended regex)
wait_for() { for _ in $(seq 600); do grep -aqE "$2" "$1" 2>/dev/null && return 0; sleep 0.05; done; return 1; }
latest() { ls "$1/checkpoints" | grep -E '^ckpt_[0-9]{8}\.h5$' | tail -n 1 | sed 's/ckpt_0*\([0-9]*\)\.h5/\1/'; }
long=(--set train.iterations=100000 --set output.checkpoint_every=50 --set output.log_every=10)
rm -rf B; "$BIN" train tiny.ini --out B "${long[@]}" > b.log 2>&1 &
pid=$!
wait_for b.log '\[ *50/' || bad "M01: the first job did not start"
run train tiny.ini --out B "${long[@]}" --resume latest
expect M01-resume-while-running 2 "train: B is in use by another proxflow job|host $(hostname)|PID $pid|B/.lock"
NP=2 run train tiny.ini --out B "${long[@]}" --resume latest
expect M02-resume-while-running-2-ranks 2 "B is in use by another proxflow job|PID $pid" \
  && { [ "$(grep -c 'in use by another' out.log)" -eq 1 ] || bad "M02: the message is not printed once"; }
run train tiny.ini --out B "${long[@]}"
expect M03-fresh-on-a-running-run 2 "B/run.h5 already exists"
kill -TERM $pid; wait $pid; trc=$?
[ $trc -eq 0 ] && ok "M04: the holder stops on SIGTERM (exit 0)" || bad "M04: holder exit $trc"
run train tiny.ini --out B --resume latest --set train.iterations=$(( $(latest B) + 10 ))
expect M05-lock-free-after-the-holder-ends 0 "resumed from"
# SIGKILL: the kernel drops the lock; nothing stale to clean
"$BIN" train tiny.ini --out B "${long[@]}" --resume latest > b2.log 2>&1 &
pid=$!
wait_for b2.log 'resumed from' && sleep 1
kill -KILL $pid; wait $pid 2> /dev/null
run train tiny.ini --out B --resume latest --set train.iterations=$(( $(latest B) + 10 ))
expect M06-no-stale-lock-after-SIGKILL 0 "resumed from"
# two fresh runs started at once: one trains, the other is refused (lock or run.h5)
for k in 1 2 3; do
  rm -rf F; "$BIN" train tiny.ini --out F > f1.log 2>&1 & p1=$!
  "$BIN" train tiny.ini --out F > f2.log 2>&1 & p2=$!
  wait $p1; r1=$?; wait $p2; r2=$?
  if [ $((r1 + r2)) -eq 2 ] && [ $((r1 * r2)) -eq 0 ] \
     && grep -qE "in use by another proxflow job|already exists" f1.log f2.log \
     && $PY -c "import h5py; it = list(h5py.File('F/run.h5')['diagnostics/iteration'][...]); assert it == [0, 5, 10], it"; then
    ok "M07.$k: two fresh runs at once: one ran (exit 0), one refused (exit 2: $(grep -ohE 'in use by another proxflow job|already exists[^:]*' f1.log f2.log | head -n 1)), diagnostics 0, 5, 10 once"
  else bad "M07.$k: exits $r1 $r2"; tail -n 3 f1.log f2.log; fi
done
# chain and sweep --index hold the lock too (and sweep reads the run's state under it)
printf '[sweep]\nbase = tiny.ini\nout = SW\n[grid]\ntrain.seed = 7, 8\n' > two.sweep
mkdir -p SW; "$BIN" train tiny.ini --out SW/seed=7 "${long[@]}" > s.log 2>&1 &
pid=$!
wait_for s.log '\[ *20/' || bad "M08: the job did not start"
run chain tiny.ini --links 1 --out SW/seed=7 --set chain.pool=64
expect M08-chain-on-a-directory-in-use 2 "chain: SW/seed=7 is in use by another proxflow job|PID $pid"
run sweep two.sweep --index 0
expect M09-sweep-index-on-a-directory-in-use 2 "sweep: SW/seed=7 is in use by another proxflow job|PID $pid" \
  && { [ -e SW/seed=7/run.h5 ] && ! ls SW/seed=7 | grep -q restarted || bad "M09: the running job's run.h5 was moved"; }
kill -TERM $pid; wait $pid
# a file system without locks (injected ENOLCK): a warning and the run goes on; require: an error
rm -rf N; PROXFLOW_FAULT=lock:fail run train tiny.ini --out N
expect M10-no-lock-support-warns 0 "warning: cannot lock N/.lock|does not support locks|PROXFLOW_LOCK=off"
rm -rf N; PROXFLOW_FAULT=lock:fail PROXFLOW_LOCK=require run train tiny.ini --out N
expect M11-no-lock-support-require 1 "cannot lock N/.lock|PROXFLOW_LOCK=require"
rm -rf N; PROXFLOW_LOCK=bogus run train tiny.ini --out N
expect M12-bad-PROXFLOW_LOCK 2 "PROXFLOW_LOCK=bogus: expected on, off or require"
rm -rf N; PROXFLOW_LOCK=off run train tiny.ini --out N
[ $rc -eq 0 ] && [ ! -e N/.lock ] && ok "M13: PROXFLOW_LOCK=off: no lock file, the run goes on" || bad "M13 (exit $rc)"

pf_finish test_no_destroy
