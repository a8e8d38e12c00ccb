#!/usr/bin/env bash
# Issue 20 (docs/RELIABILITY.md rows C25-C29, K12-K16): inputs that used to be half
# ignored, wrapped or misreported.  A config from a pipe or FIFO (read once), text after
# a section header and CR-only line endings (refused), sizes that overflow, resuming a
# finished run or one asked for fewer iterations, a checkpoint holding a NaN with a
# matching crc32, a checkpoint locked by another program, and a run that stopped
# before its first checkpoint.
. "$(dirname "$0")/lib.sh"
tiny_ini "$T/tiny.ini"  # lib.sh's PF_TINY: 20 iterations, a checkpoint every 5

# expect NAME STATUS FRAGMENT ARGS...: proxflow ARGS exits STATUS and prints FRAGMENT
expect() {
  local name=$1 want=$2 frag=$3; shift 3
  local out rc
  out=$(run1 "$@" 2>&1); rc=$?
  if [ $rc -eq "$want" ] && grep -qF -- "$frag" <<< "$out"; then
    ok "$name: exit $rc: $(grep -F -m1 -- "$frag" <<< "$out" | cut -c1-150)"
  else bad "$name: exit $rc (want $want, \"$frag\"): $out"; fi
}
# a directory's files and their SHA-256, for "nothing changed"

# ---- configs ------------------------------------------------------------------------
# C25: a pipe (process substitution) and a FIFO are read once: the run trains their keys
run1 train <(cat "$T/tiny.ini") --out "$T/pipe" --set train.iterations=2 > "$T/pipe.log" 2>&1 \
  && grep -q "done: 2 iterations" "$T/pipe.log" && grep -q "batch 30 on" "$T/pipe.log" \
  && ok "C25 config from a pipe: trains its keys (batch 30)" || { bad "C25 pipe"; cat "$T/pipe.log"; }
mkfifo "$T/fifo.ini"
cat "$T/tiny.ini" > "$T/fifo.ini" &
writer=$!
run1 train "$T/fifo.ini" --out "$T/fifo" --set train.iterations=2 > "$T/fifo.log" 2>&1 \
  && grep -q "done: 2 iterations" "$T/fifo.log" && grep -q "batch 30 on" "$T/fifo.log" \
  && ok "C25 config from a FIFO: read once, trains its keys" || { bad "C25 FIFO"; cat "$T/fifo.log"; }
wait $writer
cat "$T/tiny.ini" > "$T/fifo.ini" &
writer=$!
run2 train "$T/fifo.ini" --out "$T/fifo2" --set train.iterations=2 > "$T/fifo2.log" 2>&1 \
  && grep -q "done: 2 iterations" "$T/fifo2.log" \
  && ok "C25 config from a FIFO on 2 ranks (rank 0 reads, broadcasts)" || { bad "C25 FIFO 2 ranks"; cat "$T/fifo2.log"; }
wait $writer

# C29: an endless "config" (/dev/urandom) is refused after 16 MiB, not read until memory ends
expect "C29 /dev/urandom as the config" 2 "/dev/urandom: larger than 16 MiB: not a config text file" \
  train /dev/urandom --out "$T/c29"

# C26: text after a section header; C27: CR-only line endings (exit 2, nothing created)
printf '[train] batch = 16\n' > "$T/oneline.ini"
expect "C26 key after [train]" 2 "oneline.ini:1: [train]: text after the section header: \"batch = 16\"" \
  train "$T/oneline.ini" --out "$T/c26"
tr '\n' '\r' < "$T/tiny.ini" > "$T/mac.ini"
expect "C27 CR-only line endings" 2 "mac.ini:1: carriage return (CR) inside the line: CR-only line endings" \
  train "$T/mac.ini" --out "$T/c27"
sed 's/$/\r/' "$T/tiny.ini" > "$T/dos.ini"
run1 train "$T/dos.ini" --out "$T/c27dos" --set train.iterations=1 > /dev/null 2>&1 \
  && ok "C27 CR LF line endings still load" || bad "C27 CR LF refused"
# the empty-config hint no longer suggests the one-line form
: > "$T/empty.ini"
out=$(run1 train "$T/empty.ini" --out "$T/c07" 2>&1)
grep -q "a line \[train\] and under it iterations = 1000" <<< "$out" && ! grep -q "\[train\] iterations = 1000" <<< "$out" \
  && ok "C07 the empty-config hint shows two lines" || bad "C07 hint: $out"

# C28: sizes that overflow or exceed the node's memory name the key
expect "C28 steps = 2^31 - 1" 2 "[flow] steps = 2147483647: the run would need" \
  train "$T/tiny.ini" --out "$T/c28a" --set flow.steps=2147483647
expect "C28 n_traj = 2e9" 2 "[output] n_traj = 2000000000: the run would need" \
  train "$T/tiny.ini" --out "$T/c28b" --set output.n_traj=2000000000 --set flow.steps=100000
for d in c26 c27 c28a c28b c29; do [ ! -e "$T/$d" ] || bad "$d: output directory created"; done
ok "C26-C29: no output directory created"

# ---- resuming ------------------------------------------------------------------------
run1 train "$T/tiny.ini" --out "$T/fin" > /dev/null 2>&1 || bad "the finished run"
snap=$(pf_snap "$T/fin")
# K12: iterations = the checkpoint's: finished, nothing to do, exit 0, no file touched
expect "K12 resume a finished run" 0 "is at iteration 20 of 20: the run is finished, nothing to do" \
  train "$T/tiny.ini" --out "$T/fin" --resume latest
[ "$(pf_snap "$T/fin")" = "$snap" ] && ok "K12 every file unchanged (SHA-256)" || bad "K12 files changed"
# K13: fewer iterations than the checkpoint's: exit 2, no file touched
expect "K13 iterations below the checkpoint" 2 "ckpt_00000020.h5: already at iteration 20 of 3; raise [train] iterations" \
  train "$T/tiny.ini" --out "$T/fin" --resume latest --set train.iterations=3
[ "$(pf_snap "$T/fin")" = "$snap" ] && ok "K13 every file unchanged (SHA-256)" || bad "K13 files changed"

# K14: a checkpoint with a NaN parameter and a matching crc32 is refused on load
mkdir -p "$T/nanrun"
cp -r "$T/fin/checkpoints" "$T/nanrun/"
cp "$T/fin/run.h5" "$T/nanrun/"
$PY - "$T/nanrun/checkpoints/ckpt_00000020.h5" <<'PYEOF' || bad "K14 setup"
import sys, zlib, h5py, numpy as np
with h5py.File(sys.argv[1], "r+") as f:
    b = f["potential/buffer"][...]
    b[3] = np.nan
    f["potential/buffer"][...] = b
    f["potential"].attrs["crc32"] = np.uint64(zlib.crc32(b.tobytes()))
PYEOF
expect "K14 NaN parameter, crc32 matching" 2 \
  "ckpt_00000020.h5: /potential/buffer holds a non-finite value (nan) at index 3 (parameters, entry 3)" \
  train "$T/tiny.ini" --out "$T/nanrun" --resume latest --set train.iterations=25
expect "K14 ... and as an explicit --resume" 2 "holds a non-finite value (nan)" \
  train "$T/tiny.ini" --out "$T/nanrun" --resume "$T/nanrun/checkpoints/ckpt_00000020.h5" --set train.iterations=25
run1 train "$T/tiny.ini" --out "$T/nanrun" --resume "$T/nanrun/checkpoints/ckpt_00000015.h5" > "$T/nanrun.log" 2>&1 \
  && ok "K14 the earlier checkpoint resumes" || { bad "K14 earlier checkpoint"; cat "$T/nanrun.log"; }

# K15: the newest checkpoint held open for writing by another program (h5py 'r+': an
# exclusive HDF5 file lock) resumes (checkpoints are opened without locking); with
# locking forced (HDF5_USE_FILE_LOCKING=TRUE) the failure is called a lock, not corruption
cp -r "$T/fin" "$T/lock"
$PY - "$T/lock/checkpoints/ckpt_00000020.h5" "$T/lock.ready" <<'PYEOF' &
import sys, time, h5py
f = h5py.File(sys.argv[1], "r+")
open(sys.argv[2], "w").close()
time.sleep(30)
PYEOF
holder=$!
for _ in $(seq 200); do [ -e "$T/lock.ready" ] && break; sleep 0.1; done
HDF5_USE_FILE_LOCKING=TRUE expect "K15 locked, locking forced" 2 "ckpt_00000020.h5: locked by another program (HDF5 file locking" \
  train "$T/tiny.ini" --out "$T/lock" --resume latest --set train.iterations=22
run1 train "$T/tiny.ini" --out "$T/lock" --resume latest --set train.iterations=22 > "$T/lock.log" 2>&1 \
  && grep -q "resumed from .*ckpt_00000020.h5 at iteration 20" "$T/lock.log" && ! grep -q "corrupt" "$T/lock.log" \
  && ok "K15 locked newest checkpoint: resumed from it, no 'corrupt' warning" || { bad "K15 resume"; cat "$T/lock.log"; }
kill "$holder" 2> /dev/null; wait "$holder" 2> /dev/null

# K16: a run that stopped at iteration 1, before its first checkpoint (killed before its
# second diagnostics record): a fresh start is refused (run.h5 exists), --resume latest
# starts it again from iteration 0 and keeps the old run.h5 aside
PROXFLOW_FAULT="run_log#2:kill" run1 train "$T/tiny.ini" --out "$T/early" --set output.log_every=1 > "$T/early.log" 2>&1
[ -e "$T/early/run.h5" ] && [ "$(ls "$T/early/checkpoints" 2> /dev/null | wc -l)" -eq 0 ] \
  && ok "K16 setup: run.h5 and no checkpoint" || bad "K16 setup"
expect "K16 fresh start refused" 2 "run.h5 already exists" train "$T/tiny.ini" --out "$T/early" --set output.log_every=1
expect "K16 --resume latest restarts" 0 "has no checkpoint yet (the run stopped before its first one): starting again from iteration 0" \
  train "$T/tiny.ini" --out "$T/early" --set output.log_every=1 --resume latest
ls "$T/early" | grep -q '^run.h5.restarted-' && [ -e "$T/early/checkpoints/ckpt_00000020.h5" ] \
  && ok "K16 finished; the old run.h5 kept as $(ls "$T/early" | grep restarted)" || bad "K16 files: $(ls "$T/early")"
# K10 still: --resume latest where there is no run at all
expect "K10 --resume latest, no run" 2 "no complete checkpoint" train "$T/tiny.ini" --out "$T/none" --resume latest
[ ! -e "$T/none" ] && ok "K10 nothing created" || bad "K10 created $T/none"

pf_finish test_run_guards
