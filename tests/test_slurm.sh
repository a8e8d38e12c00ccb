#!/usr/bin/env bash
# End-to-end test of the Slurm workflow (SPEC §7, docs/CLUSTER.md) on a one-node Slurm
# cluster started here: munged, slurmctld and slurmd from Debian's slurm-wlm, with a
# private config, key, ports and state under a temporary directory.
#   1. a sweep of 4 runs as a job array (slurm/submit_sweep.sh --wait): every run
#      finished, analysis/sweep_table.py and analysis/heatmap.py over it, and a
#      resubmitted finished index does nothing;
#   2. preemption: slurm/train.sbatch gets SIGUSR1 mid-run (scancel --signal=USR1, what
#      --signal=USR1@120 does before the time limit), checkpoints, requeues itself,
#      resumes and ends bit-identical to an uninterrupted run; 3. the same for a sweep
#      task; 4. and for a chain (CMD=chain): SIGUSR1 in link 2, requeue, same final pool;
#   5. job logs: a PROXFLOW_LAUNCHER=mpirun batch job's log and every other log has no
#      control character; srun --pty shows the progress bar.
# Needs root (installs slurm-wlm and munge if missing, runs the daemons); otherwise it
# prints SKIPPED and exits 77 (CTest: SKIP_RETURN_CODE).  Every daemon it starts is
# stopped by its PID on exit.
set -uo pipefail
if [ "$(id -u)" -ne 0 ]; then
  echo "SKIPPED: slurm test needs root"
  exit 77
fi
PF_TMP_PARENT=/tmp   # $T: munged (user munge) and the daemons reach their files there
. "$(dirname "$0")/lib.sh"
BIN=$(readlink -f "$BIN")
chmod 755 "$T"
PIDS=()   # daemons we started
JOBS=()   # jobs we submitted

pf_cleanup() {  # on exit, before lib.sh removes $T
  set +e
  if [ "${#JOBS[@]}" -gt 0 ] && [ -n "${SLURM_CONF:-}" ]; then
    scancel "${JOBS[@]}" 2> /dev/null
    for _ in $(seq 1 20); do
      [ -z "$(squeue -h 2> /dev/null)" ] && break
      sleep 1
    done
  fi
  for p in "${PIDS[@]}"; do kill -TERM "$p" 2> /dev/null; done
  for p in "${PIDS[@]}"; do
    for _ in $(seq 1 50); do kill -0 "$p" 2> /dev/null || break; sleep 0.1; done
    kill -KILL "$p" 2> /dev/null
  done
}
trap 'exit 1' INT TERM

# ---- packages -----------------------------------------------------------------------
missing=()
command -v slurmctld > /dev/null || missing+=(slurm-wlm)
command -v munged > /dev/null || missing+=(munge)
if [ "${#missing[@]}" -gt 0 ]; then
  echo "installing slurm-wlm munge"
  export DEBIAN_FRONTEND=noninteractive
  if ! apt-get install -y --no-install-recommends slurm-wlm munge > "$T/apt.log" 2>&1; then
    apt-get update > "$T/apt.log" 2>&1
    apt-get install -y --no-install-recommends slurm-wlm munge >> "$T/apt.log" 2>&1 ||
      { tail -20 "$T/apt.log"; bad "apt-get install slurm-wlm munge"; pf_finish; }
  fi
fi
ls /usr/lib/*/slurm-wlm/mpi_pmix.so > /dev/null 2>&1 && ok "Slurm has the pmix MPI plugin" ||
  bad "no mpi_pmix.so in slurm-wlm"

# ---- munge: a private key and socket --------------------------------------------------
M=$T/munge
mkdir -p "$M" && chown munge:munge "$M" && chmod 755 "$M"
dd if=/dev/urandom of="$M/munge.key" bs=1024 count=1 status=none
chown munge:munge "$M/munge.key" && chmod 400 "$M/munge.key"
runuser -u munge -- /usr/sbin/munged --socket="$M/munge.socket" --key-file="$M/munge.key" \
  --pid-file="$M/munged.pid" --log-file="$M/munged.log" --seed-file="$M/munged.seed" 2> "$T/munged.err"
for _ in $(seq 1 50); do [ -s "$M/munged.pid" ] && break; sleep 0.1; done
if [ -s "$M/munged.pid" ]; then
  PIDS+=("$(cat "$M/munged.pid")")
  ok "munged started (pid ${PIDS[0]})"
else
  cat "$T/munged.err"; bad "munged did not start"; pf_finish
fi

# ---- slurm.conf -----------------------------------------------------------------------
host=$(hostname -s)
mem=$(free -m | awk '/^Mem:/ { print $2 }')
mem=$((mem > 1024 ? mem - 512 : mem / 2))
port=$((20000 + RANDOM % 20000))
mkdir -p "$T/state" "$T/spool"
export SLURM_CONF=$T/slurm.conf
cat > "$SLURM_CONF" << CONF
ClusterName=pftest
SlurmctldHost=$host
SlurmctldPort=$port
SlurmdPort=$((port + 1))
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$M/munge.socket
MpiDefault=pmix
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerParameters=batch_sched_delay=0
ReturnToService=2
MinJobAge=4
KillWait=5
InactiveLimit=0
StateSaveLocation=$T/state
SlurmdSpoolDir=$T/spool
SlurmctldPidFile=$T/slurmctld.pid
SlurmdPidFile=$T/slurmd.pid
SlurmctldLogFile=$T/slurmctld.log
SlurmdLogFile=$T/slurmd.log
NodeName=$host CPUs=$(getconf _NPROCESSORS_ONLN) RealMemory=$mem State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
CONF

slurmctld -D -c -f "$SLURM_CONF" > "$T/slurmctld.out" 2>&1 &
PIDS+=($!)
slurmd -D -f "$SLURM_CONF" > "$T/slurmd.out" 2>&1 &
PIDS+=($!)
state=
for _ in $(seq 1 60); do
  state=$(sinfo -h -o %t 2> /dev/null | head -1)
  [ "$state" = idle ] && break
  sleep 1
done
if [ "$state" = idle ]; then
  ok "slurmctld and slurmd up, node $host idle"
else
  echo "sinfo: '$state'"; tail -20 "$T/slurmctld.log" "$T/slurmd.log" "$T/slurmctld.out" "$T/slurmd.out" 2> /dev/null
  bad "Slurm did not come up"; pf_finish
fi

# Wait until job $1 has ended (timeout $2 s): a final state (or the record gone) seen
# twice in a row, 1 s apart.  The highest Restarts seen -> $restarts.  State changes
# are printed.  A job requeued by its script waits ~2 minutes (Slurm sets its
# BeginTime): it is started at once with StartTime=now.
wait_gone() {
  local id=$1 limit=$2 t=0 r info st last='' ended=0 pend=0
  restarts=0
  while [ "$t" -lt "$limit" ]; do
    if info=$(scontrol -o show job "$id" 2>&1); then
      st=$(grep -o 'JobState=[A-Z_]* Reason=[^ ]*' <<< "$info" | head -1)
      r=$(sed -n 's/.*Restarts=\([0-9]*\).*/\1/p' <<< "$info" | head -1)
      [ -n "$r" ] && [ "$r" -gt "$restarts" ] && restarts=$r
    elif grep -qi "invalid job id" <<< "$info"; then
      st="purged"
    else
      st="scontrol failed: $info"
    fi
    [ "$st" != "$last" ] && echo "     job $id: $st (Restarts=$restarts, ${t}s)"
    last=$st
    case "$st" in
      JobState=COMPLETED* | JobState=FAILED* | JobState=CANCELLED* | JobState=TIMEOUT* | purged)
        ended=$((ended + 1)); [ "$ended" -ge 2 ] && return 0 ;;
      *) ended=0 ;;
    esac
    # Start a requeued job only after 3 s in BeginTime: started at once, slurmd may still
    # be revoking the previous instance's credential and kills the new one ("Job
    # credential revoked", seen here).
    case "$st" in
      "JobState=PENDING Reason=BeginTime")
        pend=$((pend + 1))
        [ "$pend" -ge 3 ] && scontrol update JobId="$id" StartTime=now 2> /dev/null ;;
      *) pend=0 ;;
    esac
    sleep 1
    t=$((t + 1))
  done
  return 1
}

# wait_file FILE TRIES INTERVAL: until FILE exists, at most TRIES looks INTERVAL s apart;
# succeeds if it does
wait_file() {
  local i
  for ((i = 0; i < $2; i++)); do [ -f "$1" ] && return 0; sleep "$3"; done
  [ -f "$1" ]
}

W=$T/work
mkdir -p "$W"
cd "$W" || exit 1

# ---- 1. a sweep as a job array --------------------------------------------------------
tiny_ini "$W/tiny.ini" train.iterations=50 train.batch=64 train.seed=11 data.source=8gaussians -data.dim \
  -data.manifold_dim output.log_every=10 output.checkpoint_every=25 output.trajectory_every=25 \
  output.n_traj=8 output.diag_batch=64 -output.keep
cat > "$W/sweep.ini" << INI
[sweep]
base = tiny.ini
out = $W/sweep
[grid]
lipschitz.L = 1, 5
flow.lambda = 0.1, 0.5
INI
[ "$("$BIN" sweep "$W/sweep.ini" --count)" = 4 ] && ok "sweep --count = 4" || bad "sweep --count"

t0=$(date +%s)
jid=$(PROXFLOW=$BIN "$SRC/slurm/submit_sweep.sh" "$W/sweep.ini" 2 --wait --ntasks-per-node=1 \
        --cpus-per-task=1 --time=10 --output="$W/sweep-%A_%a.out" 2> "$W/submit.err")
rc=$?
[ -n "$jid" ] && JOBS+=("$jid")
cat "$W/submit.err"
if [ "$rc" -eq 0 ] && [[ $jid =~ ^[0-9]+$ ]]; then
  ok "submit_sweep.sh --wait: array job $jid done in $(($(date +%s) - t0)) s"
else
  bad "submit_sweep.sh (status $rc, job '$jid')"
  tail -n 30 "$W"/sweep-*.out "$T/slurmctld.log" 2> /dev/null
fi
names=("L=1_lambda=0.1" "L=1_lambda=0.5" "L=5_lambda=0.1" "L=5_lambda=0.5")
for n in "${names[@]}"; do
  d=$W/sweep/$n
  if $PY "$SRC/tests/check_run_h5.py" "$d/run.h5" 6 > "$W/check.log" 2>&1; then
    ok "$n: run.h5 complete (6 diagnostics records)"
  else
    bad "$n: run.h5"; cat "$W/check.log"
  fi
  [ -f "$d/checkpoints/ckpt_00000050.h5" ] && ok "$n: final checkpoint" || bad "$n: no ckpt_00000050.h5"
done
for f in "$W"/sweep-*_*.out; do
  grep -q "proxflow: done: 50 iterations" "$f" || { bad "log $f lacks the summary line"; cat "$f"; }
done

if $PY "$SRC/analysis/sweep_table.py" "$W/sweep" --csv "$W/table.csv" > "$W/table.txt" 2>&1 &&
   $PY - "$W/table.csv" << 'PYEOF'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
assert len(rows) == 4, f"{len(rows)} rows"
assert all(r["status"] == "finished" for r in rows), [r["status"] for r in rows]
assert {(r["lipschitz.L"], r["flow.lambda"]) for r in rows} == {("1", "0.1"), ("1", "0.5"), ("5", "0.1"), ("5", "0.5")}
PYEOF
then
  ok "sweep_table.py: 4 finished rows"
else
  bad "sweep_table.py"; cat "$W/table.txt" "$W/table.csv"
fi
if $PY "$SRC/analysis/heatmap.py" "$W/sweep" --x flow.lambda --y lipschitz.L --metric hj_residual \
     --out "$W/heat.png" > "$W/heat.txt" 2>&1 && [ "$(head -c 4 "$W/heat.png" | tail -c 3)" = PNG ]; then
  ok "heatmap.py: PNG"
else
  bad "heatmap.py"; cat "$W/heat.txt"
fi

# the other sweep commands on the finished sweep
list=$("$BIN" sweep "$W/sweep.ini" --list)
[ "$(grep -c ' finished ' <<< "$list")" = 4 ] && grep -q "^ *3  finished  $W/sweep/L=5_lambda=0.5 " <<< "$list" &&
  ok "sweep --list: 4 finished runs in order" || { bad "sweep --list"; echo "$list"; }
dry=$("$BIN" sweep "$W/sweep.ini" --index 1 --dry-run)
grep -q "^# state: finished" <<< "$dry" && grep -q "^dir = $W/sweep/L=1_lambda=0.5$" <<< "$dry" &&
  grep -q "^L = 1$" <<< "$dry" && grep -q "^lambda = 0.5$" <<< "$dry" &&
  ok "sweep --index 1 --dry-run: state and resolved config" || { bad "sweep --dry-run"; echo "$dry"; }
"$BIN" sweep "$W/sweep.ini" --index 4 > "$W/range.txt" 2>&1
[ $? -eq 2 ] && grep -q "out of range" "$W/range.txt" && ok "sweep --index 4 of 4: exit 2" ||
  { bad "out-of-range index"; cat "$W/range.txt"; }

# a finished index does nothing: directly, and as an array task again
before=$(stat -c %Y "$W/sweep/L=5_lambda=0.1/run.h5")
out=$("$BIN" sweep "$W/sweep.ini" --index 2 2>&1); rc=$?
if [ "$rc" -eq 0 ] && grep -q "is finished" <<< "$out" && grep -q "nothing to do" <<< "$out"; then
  ok "rerunning a finished index: message, exit 0"
else
  bad "rerun of a finished index (status $rc): $out"
fi
jid2=$(sbatch --parsable --wait --array=2 --ntasks-per-node=1 --cpus-per-task=1 --time=5 \
         --output="$W/again-%A_%a.out" --export=ALL,PROXFLOW="$BIN" "$SRC/slurm/sweep.sbatch" "$W/sweep.ini")
rc=$?
JOBS+=("${jid2%%;*}")
after=$(stat -c %Y "$W/sweep/L=5_lambda=0.1/run.h5")
if [ "$rc" -eq 0 ] && grep -q "nothing to do" "$W"/again-*_2.out && [ "$before" = "$after" ]; then
  ok "resubmitted finished array task: nothing to do, run.h5 untouched"
else
  bad "resubmitted finished array task (status $rc)"; cat "$W"/again-*.out
fi

# ---- 2. preemption: SIGUSR1 mid-run -> checkpoint, requeue, resume, bit-identical -------
cat > "$W/pre.ini" << 'INI'
[flow]
steps = 8
lambda = 0.5
[potential]
widths = 32,32,32
[discriminator]
widths = 32,32,32
[train]
iterations = 600
batch = 256
n_disc = 2
seed = 5
[data]
source = 8gaussians
[output]
log_every = 50
checkpoint_every = 100
trajectory_every = 0
keep = 20
INI
pj=$(CONFIG=$W/pre.ini OUT=$W/pre PROXFLOW=$BIN sbatch --parsable --ntasks-per-node=2 --cpus-per-task=1 \
       --time=10 --output="$W/pre-%j.out" "$SRC/slurm/train.sbatch")
pj=${pj%%;*}
JOBS+=("$pj")
# the uninterrupted reference, same ranks and threads, outside Slurm
mpirun -n 2 --oversubscribe --bind-to none "$BIN" train "$W/pre.ini" --out "$W/ref" > "$W/ref.log" 2>&1 &
ref_pid=$!
if wait_file "$W/pre/checkpoints/ckpt_00000100.h5" 240 0.5; then
  scancel --signal=USR1 "$pj" && ok "SIGUSR1 sent to the steps of job $pj after its first checkpoint" ||
    bad "scancel --signal=USR1 $pj"
else
  bad "job $pj made no checkpoint in 120 s"; cat "$W"/pre-*.out; scontrol show job "$pj"; squeue
  tail -20 "$T/slurmctld.log"
fi
if wait_gone "$pj" 240; then
  ok "job $pj left the queue"
else
  bad "job $pj still queued after 240 s"; scontrol show job "$pj"; scontrol show node; squeue
fi
wait "$ref_pid" && ok "reference run" || { bad "reference run"; cat "$W/ref.log"; }
log=$W/pre-$pj.out
grep -q "SIGUSR1 received: checkpoint" "$log" && ok "proxflow checkpointed on SIGUSR1" ||
  bad "no SIGUSR1 checkpoint in the log"
grep -q "requeueing job $pj" "$log" && ok "train.sbatch requeued itself" || bad "no requeue in the log"
runs=$(grep -c '^== proxflow job' "$log" 2> /dev/null)
if [ "${restarts:-0}" -ge 1 ]; then ok "scontrol show job: Restarts=$restarts"; else bad "Restarts=${restarts:-?}"; fi
[ "${runs:-0}" -ge 2 ] && ok "the log shows $runs attempts" || bad "the log shows ${runs:-0} attempts"
grep -q -- "--resume latest" "$log" && grep -q "resumed from .*ckpt_" "$log" &&
  ok "the requeued job resumed from its checkpoint" || bad "no resume in the log"
grep -Eq "proxflow: done: (600 iterations|[0-9]+ iterations \(iterations [0-9]+\.\.600\))" "$log" && ok "the requeued job finished" || bad "not finished"
if $PY - "$W/pre/checkpoints/ckpt_00000600.h5" "$W/ref/checkpoints/ckpt_00000600.h5" << 'PYEOF'
import sys, h5py
a, b = h5py.File(sys.argv[1], "r"), h5py.File(sys.argv[2], "r")
for g in ("potential", "discriminator"):
    x, y = a[g + "/buffer"][...], b[g + "/buffer"][...]
    assert x.shape == y.shape and x.tobytes() == y.tobytes(), g + " differs"
assert a.attrs["iteration"] == b.attrs["iteration"] == 600
PYEOF
then
  ok "preempted + requeued run bit-identical to the uninterrupted one"
else
  bad "final parameters differ from the uninterrupted run"
fi
# ---- 2b. resumed on another task count: requeued held, shrunk to 1 task, released -------
# (bit-identical on any rank count, SPEC §3: the 1-task finish equals the 2-rank reference)
hj=$(CONFIG=$W/pre.ini OUT=$W/pre_shrink PROXFLOW=$BIN PROXFLOW_REQUEUE_HOLD=1 sbatch --parsable \
       --ntasks-per-node=2 --cpus-per-task=1 --time=10 --output="$W/shrink-%j.out" "$SRC/slurm/train.sbatch")
hj=${hj%%;*}
JOBS+=("$hj")
if wait_file "$W/pre_shrink/checkpoints/ckpt_00000100.h5" 240 0.5; then
  scancel --signal=USR1 "$hj"
  held=0
  for _ in $(seq 240); do
    st=$(scontrol show job "$hj" 2> /dev/null)
    if grep -q "JobState=PENDING" <<< "$st" && grep -qE "Reason=(JobHeld(User|Admin)|job_requeued_in_held_state)" <<< "$st"; then held=1; break; fi
    sleep 0.5
  done
  if [ "$held" = 1 ]; then
    scontrol update JobId="$hj" NumTasks=1 NumCPUs=1 MinCPUsNode=1 || bad "scontrol update of job $hj"
    scontrol show job "$hj" | grep -E "NumTasks|NtasksPerN" | sed 's/^/     /'
    scontrol release "$hj" || bad "scontrol release $hj"
  else
    bad "job $hj was not requeued held"; scontrol show job "$hj"
  fi
  wait_gone "$hj" 240 || bad "job $hj still queued after 240 s"
else
  bad "job $hj made no checkpoint"; cat "$W"/shrink-*.out
fi
slog=$W/shrink-$hj.out
if grep -q "on 2 ranks x 1 thread" "$slog" && grep -q "resumed from .*ckpt_" "$slog" &&
   grep -q "on 1 rank x 1 thread" "$slog" && grep -Eq "proxflow: done: (600 iterations|[0-9]+ iterations \(iterations [0-9]+\.\.600\))" "$slog" &&
   $PY - "$W/pre_shrink/checkpoints/ckpt_00000600.h5" "$W/ref/checkpoints/ckpt_00000600.h5" << 'PYEOF'
import sys, h5py
a, b = h5py.File(sys.argv[1], "r"), h5py.File(sys.argv[2], "r")
for g in ("potential", "discriminator"):
    assert a[g + "/buffer"][...].tobytes() == b[g + "/buffer"][...].tobytes(), g + " differs"
PYEOF
then
  ok "requeued held, resumed on 1 task instead of 2: bit-identical to the 2-rank run"
else
  bad "resume on another task count"; cat "$slog"
fi
# ---- 3. the same for a sweep task: slurm/sweep.sbatch requeues a partial run -----------
cat > "$W/pre_sweep.ini" << INI
[sweep]
base = pre.ini
out = $W/pre_sweep
[fixed]
train.iterations = 400
[grid]
lipschitz.L = 2
INI
sj=$(PROXFLOW=$BIN "$SRC/slurm/submit_sweep.sh" "$W/pre_sweep.ini" --ntasks-per-node=2 --cpus-per-task=1 \
       --time=10 --output="$W/pre_sweep-%A_%a.out" 2> /dev/null)
JOBS+=("$sj")
wait_file "$W/pre_sweep/L=2/checkpoints/ckpt_00000100.h5" 240 0.5
scancel --signal=USR1 "$sj" 2> /dev/null
wait_gone "$sj" 240 || bad "array job $sj still queued after 240 s"
slog=$(ls "$W"/pre_sweep-*_0.out 2> /dev/null | head -1)
if grep -q "SIGUSR1 received" "$slog" && grep -q "requeueing job" "$slog" &&
   grep -q "resuming from .*ckpt_" "$slog" && grep -Eq "proxflow: done: (400 iterations|[0-9]+ iterations \(iterations [0-9]+\.\.400\))" "$slog" &&
   [ "$("$BIN" sweep "$W/pre_sweep.ini" --index 0 --status)" = finished ]; then
  ok "sweep task: SIGUSR1, requeued (Restarts=$restarts), resumed, finished"
else
  bad "sweep task preemption"; cat "$slog"
fi

# ---- 4. a chain (CMD=chain, docs/CHAIN.md): SIGUSR1 in link 2 -> requeue -> resume -------
cat "$W/pre.ini" > "$W/chain.ini"
cat >> "$W/chain.ini" << 'INI'
[chain]
links = 2
pool = 512
INI
cj=$(CONFIG=$W/chain.ini OUT=$W/chain CMD=chain EXTRA="--set train.iterations=400 --set output.checkpoint_every=50" \
       PROXFLOW=$BIN sbatch --parsable --ntasks-per-node=2 --cpus-per-task=1 --time=10 \
       --output="$W/chain-%j.out" "$SRC/slurm/train.sbatch")
cj=${cj%%;*}
JOBS+=("$cj")
mpirun -n 2 --oversubscribe --bind-to none "$BIN" chain "$W/chain.ini" --out "$W/chain_ref" \
  --set train.iterations=400 --set output.checkpoint_every=50 > "$W/chain_ref.log" 2>&1 &
cref=$!
wait_file "$W/chain/link_02/checkpoints/ckpt_00000050.h5" 480 0.25
scancel --signal=USR1 "$cj" 2> /dev/null
wait_gone "$cj" 240 || bad "chain job $cj still queued after 240 s"
wait "$cref" || { bad "reference chain"; cat "$W/chain_ref.log"; }
clog=$W/chain-$cj.out
if grep -q "chain: stopped in link 2" "$clog" && grep -q "chain stopped after 1 of 2 links: requeueing" "$clog" &&
   grep -q "link 1 of 2: done" "$clog" && grep -q "chain: 2 links done" "$clog" &&
   $PY - "$W/chain/pools/pool_02.h5" "$W/chain_ref/pools/pool_02.h5" << 'PYEOF'
import sys, h5py
a, b = (h5py.File(p, "r")["pool"][...] for p in sys.argv[1:3])
assert a.tobytes() == b.tobytes(), "pools differ"
PYEOF
then
  ok "chain job: SIGUSR1 in link 2, requeued, resumed at link 2, final pool bit-identical"
else
  bad "chain preemption"; cat "$clog"
fi

# ---- 5. job logs without control characters (docs/CLUSTER.md "Job logs") ------------------
# mpirun in a batch job hands the ranks a pty while the job's log is a file: the log must
# still be plain lines; with `srun --pty` (a terminal) the bar appears.
tiny_ini "$W/logs.ini" output.log_every=10 output.checkpoint_every=0 output.trajectory_every=0
mj=$(CONFIG=$W/logs.ini OUT=$W/mlog PROXFLOW=$BIN PROXFLOW_LAUNCHER=mpirun sbatch --parsable --wait \
       --ntasks-per-node=2 --cpus-per-task=1 --time=5 --output="$W/mlog-%j.out" "$SRC/slurm/train.sbatch" 2> /dev/null)
mj=${mj%%;*}
JOBS+=("$mj")
ctrl_bytes() { $PY -c 'import sys; d = open(sys.argv[1], "rb").read(); print(sum(1 for b in d if (b < 32 and b != 10) or b == 127))' "$1"; }
mlog=$W/mlog-$mj.out
if [ -f "$mlog" ] && grep -q '^\[20/20\] loss_d' "$mlog" && grep -q '^proxflow: done' "$mlog" &&
   [ "$(ctrl_bytes "$mlog")" -eq 0 ]; then
  ok "PROXFLOW_LAUNCHER=mpirun batch job: its log has the log lines and no control character"
else
  bad "mpirun batch job log (job $mj)"; cat -A "$mlog" 2> /dev/null | head -20
fi
dirty=()
for f in "$W"/*.out; do
  [ "$(ctrl_bytes "$f")" -eq 0 ] || dirty+=("${f##*/}")
done
[ "${#dirty[@]}" -eq 0 ] && ok "no control character in any job log of this test ($(ls "$W"/*.out | wc -l) logs)" ||
  bad "control characters in ${dirty[*]}"
if command -v script > /dev/null; then
  timeout -k 10 120 script -qec "srun --pty $BIN train $W/logs.ini --out $W/ptyrun" /dev/null < /dev/null > "$W/pty.screen" 2>&1
  grep -qaF $'\033[K[' "$W/pty.screen" && grep -qa 'proxflow: done' "$W/pty.screen" &&
    ok "srun --pty: the task's terminal shows the bar" || { bad "srun --pty: no bar"; cat -A "$W/pty.screen" | head; }
fi

if [ "$fails" -gt 0 ]; then
  echo "---- job log"; cat "$log" 2> /dev/null
  echo "---- slurmctld.log"; tail -30 "$T/slurmctld.log"
fi
pf_finish
