#!/usr/bin/env bash
# The reliability catalogue (docs/RELIABILITY.md), case by case: bad configs, command
# lines, data, checkpoints, output and runtime faults.  Every case runs the proxflow
# binary (PROXFLOW_BIN) and checks, as the issue asks:
#   - the message: each listed fixed string (the file, line, key or rank) is printed;
#   - the exit status: the expected one (2 configuration / command line / checkpoint
#     refused before any work, 1 an error found while working, 3 a non-finite loss,
#     0 only for a requested checkpoint-and-stop or a supported configuration);
#   - no crash and no hang: no signal, sanitizer or segfault report, within a timeout;
#   - the files: "fresh" cases must leave no output directory behind; "keep" cases run
#     against a copy of an existing run (--resume latest) and every one of its files
#     must be byte-identical afterwards; fault cases check by hand that the earlier
#     checkpoints are intact, no incomplete ckpt_*.h5 exists and the run resumes.
# Case names (C.., L.., D.., K.., O.., R..) are the rows of docs/RELIABILITY.md.
. "$(dirname "$0")/lib.sh"
cd "$T"
tiny_ini tiny.ini train.iterations=10 output.trajectory_every=5   # lib.sh's PF_TINY, 10 iterations

# the existing run every "keep" case is run against (checkpoints 5 and 10, run.h5)
run_np 1 120 train tiny.ini --out G > G.log 2>&1 || { cat G.log; echo "FAIL reference run"; exit 1; }


NP=1
run() { # proxflow args... (NP ranks); combined output in $T/out.log, status in $rc
  run_np "$NP" 60 "$@" > out.log 2>&1
  rc=$?
}

# check_run NAME WANT_RC PATTERNS(| separated fixed strings; WANT_RC nz: any error):
# status, message, no crash (tests/lib.sh pf_outcome)
check_run() { pf_outcome "$1" "$2" "$3" 15; }

# case NAME WANT_RC PATTERNS MODE args...   MODE: fresh | keep | both | none
#   fresh: run with --out F (a new path): F must not exist afterwards
#   keep:  run with --out W --resume latest, W a copy of G: W unchanged afterwards
case_() {
  local name=$1 want=$2 pats=$3 mode=$4; shift 4
  if [ "$mode" = fresh ] || [ "$mode" = both ]; then
    rm -rf F
    run "$@" --out F
    if check_run "$name" "$want" "$pats" && [ -e F ]; then bad "$name: left an output directory behind"; ls -R F | head; fi
  fi
  if [ "$mode" = keep ] || [ "$mode" = both ]; then
    rm -rf W; cp -a G W; pf_snap W > before.sha
    run "$@" --out W --resume latest
    if check_run "$name [existing run]" "$want" "$pats"; then
      pf_snap W > after.sha
      cmp -s before.sha after.sha || { bad "$name [existing run]: files changed"; diff before.sha after.sha | head; }
    fi
  fi
  if [ "$mode" = none ]; then run "$@"; check_run "$name" "$want" "$pats"; fi
}
cfg() { printf "$2" > "$1"; } # cfg FILE CONTENT (printf format)

echo "== configuration files (exit 2; message: file:line: [section] key)"
cfg c01.ini '[flow]\nsteps = 4\n[flwo]\nlambda = 1\n'
case_ C01-unknown-section 2 "c01.ini:3:|[flwo]|unknown section|[flow]" both train c01.ini
cfg c02.ini '[flow]\nstesp = 4\n'
case_ C02-unknown-key 2 "c02.ini:2:|[flow] stesp|unknown key|steps" both train c02.ini
cfg c03.ini '[train]\nbatch = 64\n[flow]\nsteps = four\n'
case_ C03-wrong-type 2 "c03.ini:4:|[flow] steps|not an integer" both train c03.ini
cfg c04.ini '[flow]\nlambda = -0.5\n'
case_ C04-out-of-range-real 2 "c04.ini:2:|[flow] lambda|must be > 0" both train c04.ini
cfg c05.ini '[train]\nbatch = 0\n'
case_ C05-out-of-range-int 2 "c05.ini:2:|[train] batch|must be >= 1" both train c05.ini
cfg c06.ini '[train]\nbatch = 8\nseed = 1\nbatch = 16\n'
case_ C06-duplicate-key 2 "c06.ini:4:|[train] batch|duplicate key (first set on line 2)" both train c06.ini
: > c07.ini
case_ C07-empty-file 2 "c07.ini:1:|empty" both train c07.ini
printf '; only comments\n\n# here\n' > c08.ini
case_ C08-only-comments 2 "c08.ini:1:|empty" fresh train c08.ini
head -c 300 "$BIN" > c09.ini
case_ C09-binary-garbage 2 "c09.ini:1:|not a text file" both train c09.ini
printf '\x81\xfe\x02 \xff garbage\n' > c10.ini
case_ C10-binary-no-nul 2 "c10.ini:1:|syntax error" fresh train c10.ini
cfg c11.ini '[train]\niterations = 99999999999999999999999\n'
case_ C11-huge-integer 2 "c11.ini:2:|[train] iterations|out of range" both train c11.ini
cfg c12.ini '[flow]\nT = 1e999\n'
case_ C12-huge-real 2 "c12.ini:2:|[flow] T|finite" fresh train c12.ini
cfg c13.ini '[flow]\nlambda = nan\n'
case_ C13-nan-literal 2 "c13.ini:2:|[flow] lambda|finite" both train c13.ini
cfg c14.ini '[lipschitz]\nL = -inf\n'
case_ C14-inf-literal 2 "c14.ini:2:|[lipschitz] L|finite" fresh train c14.ini
cfg c15.ini '[flow]\nmode = w3\n'
case_ C15-unknown-enum 2 "c15.ini:2:|[flow] mode|unknown value|w1w2" fresh train c15.ini
cfg c16.ini '[data]\nreference = uniform\nreference_low = 1\nreference_high = 0.5\n'
case_ C16-cross-key 2 "c16.ini|reference_low|reference_high" both train c16.ini
cfg c17.ini 'steps = 4\n'
case_ C17-key-outside-section 2 "c17.ini:1:|outside any section" fresh train c17.ini
cfg c18.ini '[flow]\nsteps 4\n'
case_ C18-syntax-error 2 "c18.ini:2:|syntax error" fresh train c18.ini
cfg c19.ini '[potential]\nwidths = 64,,64\n'
case_ C19-bad-list 2 "c19.ini:2:|[potential] widths|entry 2" fresh train c19.ini
case_ C20-missing-config 2 "nope.ini|No such file" fresh train nope.ini
mkdir -p c21.ini
case_ C21-config-is-directory 2 "c21.ini|Is a directory" fresh train c21.ini
case_ C22-set-out-of-range 2 "--set flow.steps=0|steps|>= 1" both train tiny.ini --set flow.steps=0
case_ C23-set-unknown-key 2 "--set flow.stesp=2|unknown key" fresh train tiny.ini --set flow.stesp=2
case_ C24-set-nan 2 "--set flow.T=nan|finite" fresh train tiny.ini --set flow.T=nan

echo "== command line (exit 2)"
case_ L01-unknown-flag 2 "unknown option '--bogus'" both train tiny.ini --bogus
rm -rf F; run train tiny.ini --out
check_run L02-missing-argument 2 "missing value after --out" && [ ! -e F ] || true
rm -rf F F2; run train tiny.ini --out F --out F2
check_run L03-conflicting-out 2 "--out given twice ('F', then 'F2')" && { [ ! -e F ] && [ ! -e F2 ] || bad "L03: created an output directory"; }
rm -rf W; cp -a G W; pf_snap W > before.sha
run train tiny.ini --out W --resume latest --resume W/checkpoints/ckpt_00000005.h5
check_run L04-conflicting-resume 2 "--resume given twice" && { pf_snap W | cmp -s before.sha - || bad "L04: files changed"; }
case_ L05-two-configs 2 "more than one config file" fresh train tiny.ini c01.ini
case_ L06-no-config 2 "no config file given" none train
case_ L07-unknown-command 2 "unknown command 'trian'" none trian tiny.ini
case_ L08-set-without-equals 2 "--set flow.steps|expected section.key=value" fresh train tiny.ini --set flow.steps

echo "== data (exit 1: found while opening the data; message: the file, dataset, row)"
printf '\000\000\010\003\000\000\000\024\000\000\000\004\000\000\000\004' > good-idx3-ubyte
head -c 320 /dev/zero | tr '\0' '\7' >> good-idx3-ubyte
D="--set train.batch=16 --set output.diag_batch=16 --set output.n_traj=8"
case_ D01-missing-file 1 "$T/none-idx3-ubyte|No such file" both train tiny.ini $D --set data.source=$T/none-idx3-ubyte
printf 'definitely not IDX' > text-idx3-ubyte
case_ D02-wrong-idx-magic 1 "text-idx3-ubyte|magic number|0x00000803" both train tiny.ini $D --set data.source=$T/text-idx3-ubyte
head -c 200 good-idx3-ubyte > cut-idx3-ubyte
case_ D03-truncated-idx 1 "cut-idx3-ubyte|truncated|336" both train tiny.ini $D --set data.source=$T/cut-idx3-ubyte
gzip -c good-idx3-ubyte | head -c 30 > cut-idx3-ubyte.gz
case_ D04-truncated-gzip 1 "cut-idx3-ubyte.gz|truncated" fresh train tiny.ini $D --set data.source=$T/cut-idx3-ubyte.gz
printf '\000\000\010\004\000\000\000\001' > four-idx3-ubyte
case_ D05-idx-wrong-dimensions 1 "four-idx3-ubyte|0x00000804" fresh train tiny.ini $D --set data.source=$T/four-idx3-ubyte
printf '\000\000\010\003\377\377\377\377\377\377\377\377\377\377\377\377' > huge-idx3-ubyte
case_ D06-idx-huge-header 1 "huge-idx3-ubyte|too large" fresh train tiny.ini $D --set data.source=$T/huge-idx3-ubyte
case_ D07-batch-exceeds-rows 1 "good-idx3-ubyte|batch 32 exceeds the 20 rows" both train tiny.ini --set data.source=$T/good-idx3-ubyte --set train.batch=32
case_ D08-n-train-exceeds-rows 1 "n_train = 50 exceeds the 20 rows" fresh train tiny.ini $D --set data.source=$T/good-idx3-ubyte --set data.n_train=50
mkdir -p adir.h5
case_ D09-source-is-directory 1 "adir.h5|directory" fresh train tiny.ini $D "--set=data.source=$T/adir.h5:/x"
$PY - <<'EOF'
import h5py, numpy as np
with h5py.File("data.h5", "w") as f:
    x = np.ones((20, 4)); x[7, 2] = np.nan; f["nan"] = x
    y = np.ones((20, 4)); y[13, 0] = np.inf; f["inf_rank1"] = y
    f["empty"] = np.zeros((0, 4))
    f["five"] = np.zeros((2, 2, 2, 2, 2))
    f["text"] = np.array([b"a", b"b"])
    f["ok"] = np.random.default_rng(0).normal(size=(2, 4))
EOF
case_ D10-nan-in-hdf5 1 "data.h5|'/nan'|NaN or Inf|row 7" both train tiny.ini $D "--set=data.source=$T/data.h5:/nan"
NP=2 case_ D11-inf-on-rank-1-only nz "data.h5|'/inf_rank1'|row 13" fresh train tiny.ini --set train.batch=20 --set output.diag_batch=16 --set output.n_traj=8 "--set=data.source=$T/data.h5:/inf_rank1"
case_ D12-empty-dataset 1 "data.h5|'/empty'|empty" both train tiny.ini $D "--set=data.source=$T/data.h5:/empty"
case_ D13-wrong-dimensions-hdf5 1 "data.h5|'/five'|5 dimensions" fresh train tiny.ini $D "--set=data.source=$T/data.h5:/five"
case_ D14-missing-dataset 1 "data.h5|no dataset '/nope'" fresh train tiny.ini $D "--set=data.source=$T/data.h5:/nope"
case_ D15-non-numeric-dataset 1 "data.h5|'/text'|not numeric" fresh train tiny.ini $D "--set=data.source=$T/data.h5:/text"
case_ D16-unknown-synthetic 2 "--set data.source|[data] source|unknown data source '8gausians'|8gaussians" fresh train tiny.ini --set data.source=8gausians

echo "== checkpoints given to --resume (exit 2, nothing written)"
CK=G/checkpoints/ckpt_00000010.h5
head -c 3000 $CK > trunc.h5
case_ K01-truncated 2 "trunc.h5|not a readable HDF5 file" fresh train tiny.ini --resume trunc.h5
cp $CK corrupt.h5
off=$($PY -c "import h5py; print(h5py.File('corrupt.h5','r')['discriminator/buffer'].id.get_offset() + 8)")
printf '\125\125\125' | dd of=corrupt.h5 bs=1 seek="$off" conv=notrunc 2> /dev/null
case_ K02-corrupt-parameters 2 "corrupt.h5|/discriminator/buffer|crc32|corrupt" fresh train tiny.ini --resume corrupt.h5
cp $CK badmeta.h5; printf 'XXXXXXXX' | dd of=badmeta.h5 bs=1 seek=0 conv=notrunc 2> /dev/null
case_ K03-corrupt-superblock 2 "badmeta.h5|not a readable HDF5 file" fresh train tiny.ini --resume badmeta.h5
# issue 21: a changed model key is refused before the loader looks; with
# --allow-config-change the loader's own shape check speaks
case_ K04-incompatible-shapes 2 "ckpt_00000010.h5|potential has 385 parameters|different widths" fresh train tiny.ini --resume $CK --set potential.widths=8,8 --allow-config-change
case_ K04b-changed-model-key 2 "ckpt_00000010.h5|potential.widths: 16,16 -> 8,8|--allow-config-change" fresh train tiny.ini --resume $CK --set potential.widths=8,8
$PY - $CK other_prec.h5 <<'EOF'
import sys, shutil, h5py, numpy as np
shutil.copy(sys.argv[1], sys.argv[2])
with h5py.File(sys.argv[2], "r+") as f:
    other = "float" if f.attrs["precision"] == "double" else "double"
    for g in ("potential", "discriminator"):
        b = f[g + "/buffer"][...]
        del f[g + "/buffer"]
        f[g + "/buffer"] = b.astype(np.float32 if other == "float" else np.float64)
    f.attrs["precision"] = other
EOF
case_ K05-other-precision 2 "other_prec.h5|precision, this build is" fresh train tiny.ini --resume other_prec.h5
case_ K06-other-data-dimension 2 "ckpt_00000010.h5|data dimension 4, this config 5" fresh train tiny.ini --resume $CK --set data.dim=5 --allow-config-change
$PY - $CK incomplete.h5 <<'EOF'
import sys, shutil, h5py
shutil.copy(sys.argv[1], sys.argv[2])
with h5py.File(sys.argv[2], "r+") as f:
    f.attrs["complete"] = 0
EOF
case_ K07-incomplete 2 "incomplete.h5|incomplete checkpoint" fresh train tiny.ini --resume incomplete.h5
case_ K08-not-a-checkpoint 2 "G/run.h5|not a proxflow checkpoint" fresh train tiny.ini --resume G/run.h5
case_ K09-missing-checkpoint 2 "gone.h5|No such file" fresh train tiny.ini --resume gone.h5
rm -rf E; mkdir -p E/checkpoints
run train tiny.ini --out E --resume latest
check_run K10-resume-latest-without-checkpoint 2 "--resume latest: no complete checkpoint in E/checkpoints" && { [ -z "$(ls -A E/checkpoints)" ] && [ ! -e E/run.h5 ] || bad "K10: files created"; }
# the newest checkpoint damaged after it was written: --resume latest warns and uses the previous one
rm -rf W; cp -a G W; head -c 5000 G/checkpoints/ckpt_00000010.h5 > W/checkpoints/ckpt_00000010.h5
run train tiny.ini --out W --resume latest --set train.iterations=12
check_run K11-latest-damaged-falls-back 0 "ckpt_00000010.h5 is not a complete, intact checkpoint|resumed from W/checkpoints/ckpt_00000005.h5 at iteration 5"

echo "== output"
touch afile
case_ O01-output-path-not-a-directory 1 "afile/run|cannot create output directory|Not a directory" none train tiny.ini --out afile/run
if [ "$(id -u)" -ne 0 ]; then
  mkdir -p ro && chmod 555 ro
  case_ O02-unwritable-directory 1 "ro/run|Permission denied" none train tiny.ini --out ro/run
  chmod 755 ro
else
  # root ignores permission bits; sysfs refuses it a new directory (EPERM)
  case_ O02-unwritable-directory 1 "/sys/pf_reliability_test|cannot create output directory|Operation not permitted" none train tiny.ini --out /sys/pf_reliability_test
fi
rm -rf W; cp -a G W; pf_snap W > before.sha
run train tiny.ini --out W
check_run O03-existing-run-without-resume 2 "W/run.h5 already exists|--resume latest" && { pf_snap W | cmp -s before.sha - || bad "O03: files changed"; }

# disk full while a checkpoint is written (injected ENOSPC in its 2nd dataset write:
# iteration 5's file is complete, iteration 10's fails)
fault_then_resume() { # NAME FAULT PATTERNS: fault, message, files, resume to the end
  local name=$1 fault=$2 pats=$3
  rm -rf R
  PROXFLOW_FAULT=$fault run train tiny.ini --out R
  check_run "$name" 1 "$pats" || return
  $PY - R G <<'EOF' || { bad "$name: state after the fault"; return; }
import sys, os, re, h5py, numpy as np
R, G = sys.argv[1], sys.argv[2]
names = sorted(f for f in os.listdir(R + "/checkpoints") if re.fullmatch(r"ckpt_\d{8}\.h5", f))
assert names and names[0] == "ckpt_00000005.h5", names
for n in names:   # every final name is complete, and equal to the reference run's
    with h5py.File(f"{R}/checkpoints/{n}", "r") as a, h5py.File(f"{G}/checkpoints/{n}", "r") as b:
        assert a.attrs["complete"] == 1
        for g in ("potential", "discriminator"):
            assert a[g + "/buffer"][...].tobytes() == b[g + "/buffer"][...].tobytes(), (n, g)
with h5py.File(R + "/run.h5", "r") as r:
    it = r["diagnostics/iteration"][...]
    assert 0 in it, it
print("     after the fault: checkpoints", names, "tmp files", [f for f in os.listdir(R + "/checkpoints") if f.endswith(".tmp")])
EOF
  run train tiny.ini --out R --resume latest
  if [ $rc -eq 0 ] && grep -q "resumed from R/checkpoints/ckpt_00000005.h5" out.log; then
    $PY - R G <<'EOF' && ok "$name: resumed from ckpt 5, finished; final parameters equal the reference run; no .tmp left" || bad "$name: resumed run differs"
import sys, os, h5py, numpy as np
R, G = sys.argv[1], sys.argv[2]
with h5py.File(R + "/checkpoints/ckpt_00000010.h5", "r") as a, h5py.File(G + "/checkpoints/ckpt_00000010.h5", "r") as b:
    for g in ("potential", "discriminator"):
        assert a[g + "/buffer"][...].tobytes() == b[g + "/buffer"][...].tobytes(), g
assert not [f for f in os.listdir(R + "/checkpoints") if f.endswith(".tmp")]
with h5py.File(R + "/run.h5", "r") as r:
    assert list(r["diagnostics/iteration"][...]) == [0, 5, 10], r["diagnostics/iteration"][...]
EOF
  else
    bad "$name: resume after the fault (exit $rc)"; tail -n 5 out.log
  fi
}
fault_then_resume O04-disk-full-checkpoint "checkpoint_io#4:fail" "R/checkpoints/.ckpt_00000010.h5.tmp|No space left on device"
# the 42nd output write: the 3rd dataset of the iteration-10 record (19 per record, and
# the trajectories of iteration 0)
fault_then_resume O05-disk-full-run-h5 "output_io#42:fail" "R/run.h5|No space left on device"
# a real write failure: the file-size limit (ulimit -f, EFBIG), set for the rank only
# (Open MPI's own start-up files need more); the limit cuts run.h5 as it grows
rm -rf R
timeout -k 10 60 mpirun -n 1 --oversubscribe bash -c "trap '' XFSZ; ulimit -f 124; exec '$BIN' train tiny.ini --out R --set train.iterations=200" > out.log 2>&1
rc=$?
if check_run O06-real-write-failure-file-size-limit 1 "HDF5 error on R/run.h5|failed"; then
  run train tiny.ini --out R --set train.iterations=200 --resume latest
  n=$(ls R/checkpoints | grep -c '^ckpt_.*h5$')
  if [ $rc -eq 0 ] && [ "$n" -ge 1 ] && grep -q "resumed from" out.log; then
    ok "O06: after the limit: $n checkpoint(s) kept; $(grep -m1 -oE 'resumed from [^ ]* at iteration [0-9]*' out.log), finished"
  else bad "O06: resume after the write failure (exit $rc)"; tail -n 5 out.log; fi
fi
# one rank's write fails (rank 1 of 2, in a collective checkpoint write): the job ends
start=$(date +%s)
rm -rf R; PROXFLOW_FAULT="checkpoint_io@1#3:fail" NP=2 run train tiny.ini --out R
check_run O07-disk-full-on-rank-1-only nz "error (rank 1)|.ckpt_00000010.h5.tmp|No space left on device" \
  && { [ $(( $(date +%s) - start )) -lt 40 ] || bad "O07: took too long"; } \
  && { [ -e R/checkpoints/ckpt_00000005.h5 ] && [ ! -e R/checkpoints/ckpt_00000010.h5 ] || bad "O07: checkpoint files"; }

echo "== runtime"
rm -rf R; PROXFLOW_FAULT="potential_loss#7:nan" run train tiny.ini --out R
check_run R01-non-finite-potential-loss 3 "non-finite potential loss loss_g (nan) at iteration 7|the last checkpoint is intact" \
  && $PY - <<'EOF' && ok "R01: ckpt 5 kept and equal to the reference run, diagnostics 0 and 5 kept, no ckpt 7" || bad "R01: files after the stop"
import os, h5py
assert sorted(os.listdir("R/checkpoints")) == ["ckpt_00000005.h5"], os.listdir("R/checkpoints")
with h5py.File("R/checkpoints/ckpt_00000005.h5") as a, h5py.File("G/checkpoints/ckpt_00000005.h5") as b:
    assert a["potential/buffer"][...].tobytes() == b["potential/buffer"][...].tobytes()
with h5py.File("R/run.h5") as r:
    assert list(r["diagnostics/iteration"][...]) == [0, 5]
EOF
rm -rf R; PROXFLOW_FAULT="disc_loss@1#3:nan" NP=2 run train tiny.ini --out R
check_run R02-non-finite-on-rank-1-only 3 "non-finite|at iteration"
# SIGTERM / SIGUSR1: checkpoint at the next iteration boundary, exit 0 (the one 0 here)
for sig in TERM USR1; do
  rm -rf R
  # empty the log first: the loop below must see this run's progress line, not the last
  # round's (a signal that reaches the background job before its exec kills the subshell,
  # whose inherited EXIT trap would then remove $T)
  : > out.log
  "$BIN" train tiny.ini --out R --set train.iterations=100000 --set output.checkpoint_every=0 > out.log 2>&1 &
  pid=$!
  for _ in $(seq 400); do grep -aq "\[ *5/" out.log 2>/dev/null && break; sleep 0.05; done
  kill -$sig $pid; wait $pid; rc=$?
  check_run R03-SIG$sig-checkpoint-and-stop 0 "SIG$sig received: checkpoint|--resume latest" \
    && { ls R/checkpoints | grep -q '^ckpt_.*h5$' || bad "R03: no checkpoint after SIG$sig"; }
done
rm -rf R; PROXFLOW_FAULT="run_log@1#3" NP=2 run train tiny.ini --out R
check_run R04-error-on-rank-1-mid-run nz "error (rank 1): injected fault at 'run_log'" \
  && { [ -e R/checkpoints/ckpt_00000005.h5 ] || bad "R04: ckpt 5 lost"; }
rm -rf R; PROXFLOW_FAULT="checkpoint_write@1#1:kill" NP=2 run train tiny.ini --out R
check_run R05-SIGKILL-of-rank-1-in-a-checkpoint-write nz "" \
  && { [ ! -e R/checkpoints/ckpt_00000005.h5 ] || bad "R05: an incomplete ckpt_00000005.h5 is visible"; }
# more ranks than chunks of the batch (batch 2 on 3 ranks): refused, naming the key; a
# batch that 3 ranks can share: bit-identical to the 1-rank run (SPEC §3)
rm -rf R; NP=3 run train tiny.ini --out R --set train.batch=2 --set output.diag_batch=2 --set output.n_traj=2
check_run R06-more-ranks-than-chunks 2 "3 ranks, but the batch has only 2 chunks|[train] chunks = 8"
rm -rf R1 R3
NP=1 run train tiny.ini --out R1
NP=3 run train tiny.ini --out R3
$PY - <<'EOF' && ok "R06: 3 ranks = 1 rank, bit for bit" || bad "R06: 3-rank result differs"
import h5py
with h5py.File("R1/checkpoints/ckpt_00000010.h5") as a, h5py.File("R3/checkpoints/ckpt_00000010.h5") as b:
    for g in ("potential", "discriminator"):
        assert a[g + "/buffer"][...].tobytes() == b[g + "/buffer"][...].tobytes(), g
EOF
# a diagnostic batch smaller than the rank count (diag_batch 2, 3 ranks): supported, the
# third rank has no diagnostic samples and adds nothing
rm -rf R; NP=3 run train tiny.ini --out R --set output.diag_batch=2 --set output.n_traj=2
check_run R07-diagnostic-batch-smaller-than-ranks 0 "on 3 ranks"

pf_finish test_reliability
