#!/usr/bin/env bash
# Issue 20: a really full disk (a 200 kB tmpfs; needs root: skipped with 77 otherwise).
# A fresh run fills it and fails; two `--resume latest` on the still-full disk fail too,
# with a clear message; then the disk grows a little, enough to copy run.h5 but not to
# finish, and the resume fails later.  After every failure run.h5 must open, keep every
# record it had (and the ckpt_*.h5 load); no run.h5.broken-* may appear.  Finally the
# disk grows and the resume finishes with every record 0, 5, ..., 600 exactly once
# (docs/RELIABILITY.md, rows O08-O11).
. "$(dirname "$0")/lib.sh"
cd "$T"
mkdir mnt
if ! mount -t tmpfs -o size=200k tmpfs mnt 2> mount.err; then
  echo "skip: cannot mount a tmpfs ($(cat mount.err))"; exit 77
fi
pf_cleanup() { umount "$T/mnt" 2> /dev/null; }
tiny_ini tiny.ini train.iterations=600 output.trajectory_every=5 output.keep=2
R=mnt/R
run() { run_np 1 120 "$@" > out.log 2>&1; rc=$?; }
# records ITERS_FILE: run.h5 opens; its /diagnostics/iteration (ints, one line) into the file
records() { $PY -c "
import sys, h5py
with h5py.File('$R/run.h5', 'r') as f:
    it = [int(x) for x in f['diagnostics/iteration'][...]]
    assert all(k in f['diagnostics'] for k in ('loss_d', 'kinetic'))
print(' '.join(map(str, it)))" > "$1"; }
ckpts_load() { for c in "$R"/checkpoints/ckpt_*.h5; do run train tiny.ini --resume "$c" --dump-state "$T/d.h5" || return 1; done; }
# after_failure NAME: exit 1, a message naming the file and the cause, run.h5 intact
after_failure() {
  local name=$1
  if [ "$rc" -ne 1 ] || ! grep -q "No space left on device\|file write failed" out.log; then
    bad "$name: exit $rc, expected 1 with a disk-full message"; tail -n 4 out.log; return 1
  fi
  if ! records now.txt; then bad "$name: run.h5 no longer opens"; return 1; fi
  $PY - before.txt now.txt <<'EOF' || { bad "$name: records lost ($(cat before.txt) -> $(cat now.txt))"; return 1; }
import sys
a = open(sys.argv[1]).read().split(); b = open(sys.argv[2]).read().split()
assert b[:len(a)] == a or set(a) <= set(b), (a, b)
assert len(b) == len(set(b)), b   # no record twice
EOF
  ls "$R" | grep -q broken && { bad "$name: run.h5 was set aside"; return 1; }
  ok "$name: $(grep -m1 -o 'error: .*' out.log | cut -c1-160); run.h5 opens, records kept: $(cat now.txt)"
  cp now.txt before.txt
}

run train tiny.ini --out $R
records before.txt || { bad "O08: run.h5 after the first failure"; }
after_failure O08-fresh-run-fills-the-disk
for k in 1 2; do
  run train tiny.ini --out $R --resume latest
  after_failure "O09.$k-resume-on-the-full-disk"
done
# room for a copy of run.h5, not for the rest of the run: the failure comes later
used=$(du -sk mnt | cut -f1)
mount -o remount,size=$((used + 130))k mnt
run train tiny.ini --out $R --resume latest
after_failure O10-resume-fails-later
# more room: the resumed run trains further and fails in a write of its copy or of a
# checkpoint (wherever the disk ends up full)
used=$(du -sk mnt | cut -f1)
mount -o remount,size=$((used + 300))k mnt
run train tiny.ini --out $R --resume latest
after_failure O10-resume-fails-even-later
ckpts_load && ok "O10: every ckpt_*.h5 left loads ($(ls $R/checkpoints | grep -c '^ckpt_'))" || { bad "O10: a checkpoint does not load"; tail -n 3 out.log; }
mount -o remount,size=20m mnt
run train tiny.ini --out $R --resume latest
if [ $rc -eq 0 ] && records now.txt && [ "$(cat now.txt)" = "$(seq -s ' ' 0 5 600)" ]; then
  ok "O11: with room again the resume finishes: records 0, 5, ..., 600, each once; $(ls -A $R | tr '\n' ' ')"
else bad "O11: final resume (exit $rc): $(cat now.txt)"; tail -n 4 out.log; fi
pf_finish test_full_disk
