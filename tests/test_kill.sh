#!/usr/bin/env bash
# Kill test (docs/RELIABILITY.md, SPEC §4): a short run is killed with SIGKILL at
# pseudo-random (seeded) moments, at least KILLS times, each kill followed by
# `--resume latest`, until it finishes; its final parameters must equal, bit for bit,
# those of the same run never interrupted.  The kills are of four kinds, drawn in turn:
#   - PROXFLOW_FAULT=checkpoint_write#N:kill  inside a checkpoint write (the .tmp file
#                                             is complete but for its `complete` mark)
#   - PROXFLOW_FAULT=h5_write#N:kill          in the middle of any dataset write, of
#                                             run.h5 or of a checkpoint
#   - PROXFLOW_FAULT=run_log#N:kill           before a diagnostics record
#   - kill -9 after a random delay            anywhere: start-up, MPI, a step, I/O
# On 2 ranks the faults and kill -9 hit one rank chosen at random (a node failure).
# After every kill: every ckpt_*.h5 is complete (no partial file under a final name).
# Finally: the final checkpoint equals the uninterrupted one; the diagnostics of every
# iteration both runs logged are identical (timings aside), with no duplicates.
#
#   tests/test_kill.sh [RANKS...]      (default: 1 2; KILLS=20 SEED=12345 ITERS=300)
. "$(dirname "$0")/lib.sh"
KILLS=${KILLS:-20}
RANDOM=${SEED:-12345}
RANKS=("$@")
[ ${#RANKS[@]} -gt 0 ] || RANKS=(1 2)

ITERS=${ITERS:-300}
tiny_ini "$T/tiny.ini" train.iterations=$ITERS train.batch=24 train.seed=11 data.dim=3 \
  output.log_every=2 output.checkpoint_every=2 output.n_traj=8 output.diag_batch=24 output.keep=3

# timeout -k (run_np): Open MPI 4.1's mpirun was seen to hang after reporting a rank's
# SIGKILL ("PMIX ERROR: UNREACHABLE"), ignoring timeout's SIGTERM; the KILL 5 s later
# ends it and the attempt counts as the kill it was (its log says "signal 9").
PF_KILL_AFTER=5
launch() { # log, np, then proxflow arguments; in the background, its pid in $pid
  local log=$1 np=$2; shift 2
  run_np "$np" 45 "$@" > "$log" 2>&1 &
  pid=$!
}

# every ckpt_*.h5 of dir is complete; prints the newest iteration
check_ckpts() {
  $PY - "$1" <<'PYEOF'
import sys, os, re, h5py
d = sys.argv[1] + "/checkpoints"
its = []
for f in sorted(os.listdir(d)) if os.path.isdir(d) else []:
    if re.fullmatch(r"ckpt_\d{8}\.h5", f):
        with h5py.File(os.path.join(d, f), "r") as c:
            assert c.attrs["complete"] == 1, f
            assert c["potential/buffer"].shape[0] > 0 and c["discriminator/buffer"].shape[0] > 0, f
        its.append(int(f[5:13]))
print(max(its) if its else -1)
PYEOF
}

for np in "${RANKS[@]}"; do
  REF=$T/ref$np RUN=$T/run$np
  t0=$(date +%s%N)
  launch "$T/ref$np.log" "$np" train "$T/tiny.ini" --out "$REF"
  wait $pid
  rc=$?
  full_ms=$(( ($(date +%s%N) - t0) / 1000000 ))
  [ $rc -eq 0 ] && ok "$np rank(s): uninterrupted run ($full_ms ms)" || { bad "$np rank(s): uninterrupted run exit $rc"; continue; }
  # timed kills fall within start-up plus about 8 iterations, so that 20 of them leave
  # the run unfinished: train_ms from the summary line, the rest is start-up
  train_ms=$(sed -n 's/.*done: [0-9]* iterations in \([0-9.]*\) s.*/\1/p' "$T/ref$np.log" | awk '{printf "%d", $1 * 1000}')
  window_ms=$(( full_ms - train_ms + train_ms * 8 / ITERS ))

  kills=0 attempts=0 resumes=0 resume_fail=0 partial=0 kinds=""
  done_=0
  args=(train "$T/tiny.ini" --out "$RUN")
  while [ $done_ -eq 0 ] && [ $attempts -lt $((KILLS * 3 + 10)) ]; do
    attempts=$((attempts + 1))
    if [ $kills -ge "$KILLS" ]; then kind=none; else kind=$((RANDOM % 4)); fi
    rank=$((RANDOM % np))
    fault=""
    case $kind in
      0) fault="checkpoint_write@$rank#$((RANDOM % 3 + 1)):kill" ;;
      1) fault="h5_write@$rank#$((RANDOM % 40 + 1)):kill" ;;
      2) fault="run_log@$rank#$((RANDOM % 4 + 1)):kill" ;;
    esac
    log=$T/run$np.$attempts.log
    if [ -n "$fault" ]; then
      PROXFLOW_FAULT=$fault launch "$log" "$np" "${args[@]}"
    else
      launch "$log" "$np" "${args[@]}"
    fi
    if [ "$kind" = 3 ]; then # kill -9 one rank process after a random delay
      delay_ms=$(( (RANDOM * 32768 + RANDOM) % (window_ms + 1) ))
      sleep "$(printf '%d.%03d' $((delay_ms / 1000)) $((delay_ms % 1000)))"
      victims=()
      for _ in $(seq 200); do # the ranks may not have started yet (mpirun)
        victims=($(pgrep -f -- "^$BIN ${args[*]}\$" || true))
        [ ${#victims[@]} -eq "$np" ] && break
        kill -0 $pid 2>/dev/null || break
        sleep 0.01
      done
      if [ ${#victims[@]} -gt 0 ]; then
        kill -9 "${victims[$((RANDOM % ${#victims[@]}))]}" 2>/dev/null
        fault="kill -9 after ${delay_ms} ms"
      fi
    fi
    { wait $pid; } 2> /dev/null
    rc=$?
    case " ${args[*]} " in *" --resume "*) resumes=$((resumes + 1)) ;; esac
    if [ $rc -eq 0 ]; then
      grep -Eq "proxflow: done: ($ITERS iterations|[0-9]+ iterations \(iterations [0-9]+\.\.$ITERS\))" "$log" && done_=1
      [ "$kind" = none ] || echo "     ($fault did not fire before the end)"
    elif [ $rc -eq 137 ] || grep -q "signal 9" "$log"; then
      kills=$((kills + 1))
      kinds="$kinds $kind"
    else
      resume_fail=$((resume_fail + 1))
      echo "     attempt $attempts ($fault): exit $rc:"; sed 's/^/       /' "$log" | head -n 12
    fi
    newest=$(check_ckpts "$RUN") || { partial=$((partial + 1)); newest=-1; }
    [ -n "$fault" ] && [ $rc -ne 0 ] && echo "     kill $kills: $fault -> exit $rc, newest checkpoint $newest"
    # the next attempt resumes (with no checkpoint yet: a fresh start after moving the
    # run.h5 of the killed attempt aside, as slurm/train.sbatch does)
    if [ "$newest" -ge 0 ]; then
      args=(train "$T/tiny.ini" --out "$RUN" --resume latest)
    else
      [ -e "$RUN/run.h5" ] && mv "$RUN/run.h5" "$RUN/run.h5.restarted-$attempts"
      args=(train "$T/tiny.ini" --out "$RUN")
    fi
  done
  echo "     $np rank(s): timed kills within ${window_ms} ms of the start"
  echo "     $np rank(s): $kills kills (kinds:$(for k in 0 1 2 3; do printf ' %s=%d' "$(echo ckpt h5 log timed | cut -d' ' -f$((k+1)))" "$(grep -o " $k" <<<"$kinds" | wc -l)"; done)) in $attempts attempts, $resumes resumes"
  [ $kills -ge "$KILLS" ] && ok "$np rank(s): $kills SIGKILLs" || bad "$np rank(s): only $kills SIGKILLs"
  [ $done_ -eq 1 ] && ok "$np rank(s): the run finished after the kills" || bad "$np rank(s): the run did not finish"
  [ $resume_fail -eq 0 ] && ok "$np rank(s): every resume succeeded or was killed" || bad "$np rank(s): $resume_fail resumes failed"
  [ $partial -eq 0 ] && ok "$np rank(s): no incomplete ckpt_*.h5 after any kill" || bad "$np rank(s): $partial times an incomplete ckpt_*.h5"

  $PY - "$REF" "$RUN" "$ITERS" <<'PYEOF' && ok "$np rank(s): final parameters bit-identical to the uninterrupted run; diagnostics agree" || bad "$np rank(s): killed+resumed run differs"
import sys, os, glob, h5py, numpy as np
ref, run, it = sys.argv[1], sys.argv[2], int(sys.argv[3])
name = "checkpoints/ckpt_%08d.h5" % it
with h5py.File(os.path.join(ref, name), "r") as a, h5py.File(os.path.join(run, name), "r") as b:
    for g in ("potential", "discriminator"):
        x, y = a[g + "/buffer"][...], b[g + "/buffer"][...]
        assert x.shape == y.shape and x.tobytes() == y.tobytes(), g + " buffer differs"
        assert a[g].attrs["adam_t"] == b[g].attrs["adam_t"], g + " adam_t"
    assert a.attrs["iteration"] == b.attrs["iteration"] == it
timing = {"wall_s", "seconds_per_iteration", "samples_per_second"}
with h5py.File(os.path.join(ref, "run.h5"), "r") as a, h5py.File(os.path.join(run, "run.h5"), "r") as b:
    ia, ib = a["diagnostics/iteration"][...], b["diagnostics/iteration"][...]
    assert np.all(np.diff(ib) > 0), "duplicate or unordered diagnostics: %s" % ib
    assert ib[-1] == it, ib
    common = np.intersect1d(ia, ib)
    assert len(common) >= 2, (ia, ib)
    for k in a["diagnostics"]:
        if k in timing: continue
        va = a["diagnostics/" + k][...][np.isin(ia, common)]
        vb = b["diagnostics/" + k][...][np.isin(ib, common)]
        assert va.tobytes() == vb.tobytes(), k
    print("     diagnostics: %d iterations in the final run.h5, %d compared; %d run.h5 set aside"
          % (len(ib), len(common), len(glob.glob(os.path.join(run, "run.h5.*")))))
PYEOF
done

pf_finish test_kill
