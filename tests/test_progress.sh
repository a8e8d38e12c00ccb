#!/usr/bin/env bash
# What `proxflow train` prints while it runs ([output] progress, PROXFLOW_PROGRESS;
# src/run/progress.c, docs/CLUSTER.md "Job logs"): a 2-rank run under mpirun with its
# output in a file has no control character at all (mpirun gives the ranks a pty, so
# isatty() on the rank says yes), with and without a controlling terminal; mpirun in a
# Slurm job without --pty neither; the bar appears on a real pty (script(1)) when
# forced, and in auto mode when mpirun itself writes to the terminal; `off` prints only
# the summary; the variable wins over the config; a bad value fails on every rank.
# (tests/test_slurm.sh checks the logs of real batch jobs, and srun --pty.)
. "$(dirname "$0")/lib.sh"
command -v script > /dev/null || { echo "SKIPPED: no script(1) (util-linux)"; exit 77; }
unset SLURM_JOB_ID SLURM_PTY_PORT PROXFLOW_PROGRESS  # the test decides these itself

tiny_ini "$T/t.ini" output.log_every=10 output.checkpoint_every=0 output.trajectory_every=0
out() { mktemp -d "$T/run_XXXX"; }   # a fresh run directory per run
MPI="mpirun -n 2 --oversubscribe"

# ctrl FILE: the bytes of FILE that are control characters (< 0x20 but \n, and 0x7f)
ctrl() { $PY -c 'import sys; d = open(sys.argv[1], "rb").read(); print(sum(1 for b in d if (b < 32 and b != 10) or b == 127))' "$1"; }
# records FILE: the number of log lines ([i/20] ...) in FILE
records() { grep -ac '^\[[ 0-9]*/20\] loss_d' "$1"; }
# pty CMD: run the shell command CMD on a new pseudo-terminal (its controlling
# terminal); what the terminal shows goes to stdout
pty() { timeout -k 10 120 script -qec "$1" /dev/null < /dev/null; }
BAR=$'\033[K[' # the bar's start: erase the line, then [###...]

# ---- 1. job logs: files, with and without a terminal -------------------------------------
$MPI "$BIN" train "$T/t.ini" --out "$(out)" > "$T/file.log" 2>&1
rc=$?
c=$(ctrl "$T/file.log")
[ "$rc" -eq 0 ] && [ "$c" -eq 0 ] && [ "$(records "$T/file.log")" -eq 2 ] && grep -q '^proxflow: done:' "$T/file.log" &&
  ok "mpirun -n 2 ... > log 2>&1: 2 log lines, the summary, no control character" ||
  { bad "mpirun to a file: status $rc, $c control characters"; cat -A "$T/file.log" | head; }

pty "$MPI $BIN train $T/t.ini --out $(out) > $T/pty_file.log 2>&1" > "$T/pty_file.screen"
c=$(ctrl "$T/pty_file.log")
[ "$c" -eq 0 ] && [ "$(records "$T/pty_file.log")" -eq 2 ] &&
  ok "on a terminal, mpirun ... > log: no control character in the log" ||
  { bad "on a terminal, mpirun to a file: $c control characters"; cat -A "$T/pty_file.log" | head; }

$MPI "$BIN" train "$T/t.ini" --out "$(out)" 2>&1 | cat > "$T/pipe.log"
c=$(ctrl "$T/pipe.log")
[ "$c" -eq 0 ] && [ "$(records "$T/pipe.log")" -eq 2 ] && ok "mpirun ... | cat: no control character" ||
  bad "mpirun into a pipe: $c control characters"

# Slurm: mpirun in a job that is not `srun --pty` (SLURM_PTY_PORT unset) -> lines, even
# when mpirun writes to a terminal; srun --pty and a shell of salloc on a terminal -> bar
pty "SLURM_JOB_ID=4242 $MPI $BIN train $T/t.ini --out $(out)" > "$T/slurm.screen"
grep -qa $'\033' "$T/slurm.screen" && { bad "mpirun in a Slurm job (no --pty): escape sequences"; cat -A "$T/slurm.screen" | head; } ||
  { [ "$(records "$T/slurm.screen")" -eq 2 ] && ok "mpirun in a Slurm job without SLURM_PTY_PORT, on a pty: lines only" ||
    bad "mpirun in a Slurm job: log lines missing"; }
pty "SLURM_JOB_ID=4242 SLURM_PTY_PORT=40000 $MPI $BIN train $T/t.ini --out $(out)" > "$T/slurm_pty.screen"
grep -qaF "$BAR" "$T/slurm_pty.screen" && ok "srun --pty (SLURM_PTY_PORT set), mpirun on the terminal: the bar" ||
  bad "SLURM_PTY_PORT set: no bar"
pty "SLURM_JOB_ID=4242 $BIN train $T/t.ini --out $(out)" > "$T/salloc.screen"
grep -qaF "$BAR" "$T/salloc.screen" && ok "in a Slurm job, stdout the controlling terminal (salloc's shell): the bar" ||
  bad "SLURM_JOB_ID, proxflow on its terminal: no bar"

# ---- 2. the bar on a terminal -------------------------------------------------------------
pty "$BIN train $T/t.ini --out $(out) --set output.progress=bar" > "$T/bar.screen"
grep -qaF "$BAR" "$T/bar.screen" && grep -qa '\] 1/20 ' "$T/bar.screen" &&
  grep -qa $'\r\033\[K\[10/20\] loss_d' "$T/bar.screen" &&
  ok "progress=bar on a pty: the bar from iteration 1, the log line erases it" ||
  { bad "progress=bar on a pty"; cat -A "$T/bar.screen" | head; }
pty "$MPI $BIN train $T/t.ini --out $(out)" > "$T/auto.screen"
grep -qaF "$BAR" "$T/auto.screen" && ok "auto: mpirun on the terminal -> the ranks' pty is watched: the bar" ||
  { bad "auto under mpirun on a terminal: no bar"; cat -A "$T/auto.screen" | head; }
pty "$BIN train $T/t.ini --out $(out) --set output.progress=lines" > "$T/lines.screen"
! grep -qa $'\033' "$T/lines.screen" && [ "$(records "$T/lines.screen")" -eq 2 ] &&
  ok "progress=lines on a pty: no escape sequence" || bad "progress=lines on a pty"
PROXFLOW_PROGRESS=bar $MPI "$BIN" train "$T/t.ini" --out "$(out)" > "$T/forced.log" 2>&1
grep -qaF "$BAR" "$T/forced.log" && ok "PROXFLOW_PROGRESS=bar: the bar even into a file (asked for)" ||
  bad "PROXFLOW_PROGRESS=bar into a file: no bar"

# ---- 3. off: only how the run ended -------------------------------------------------------
d=$(out)
$MPI "$BIN" train "$T/t.ini" --out "$d" --set output.progress=off > "$T/off.log" 2>&1
[ "$(wc -l < "$T/off.log")" -eq 1 ] && grep -q '^proxflow: done: 20 iterations' "$T/off.log" &&
  "$BIN" info "$d/run.h5" | grep -q 'diagnostics: 3 records, last at iteration 20' &&
  ok "progress=off: one line (the summary); run.h5 has every record" ||
  { bad "progress=off"; cat "$T/off.log"; }
pty "PROXFLOW_PROGRESS=off $BIN train $T/t.ini --out $(out) --set output.progress=bar" > "$T/off.screen"
[ "$(tr -d '\r' < "$T/off.screen" | wc -l)" -eq 1 ] && ! grep -qa $'\033' "$T/off.screen" &&
  grep -qa '^proxflow: done: 20 iterations' "$T/off.screen" &&
  ok "PROXFLOW_PROGRESS=off wins over progress=bar" || { bad "PROXFLOW_PROGRESS=off over the config"; cat -A "$T/off.screen"; }
PROXFLOW_PROGRESS=lines pty "$BIN train $T/t.ini --out $(out) --set output.progress=bar" > "$T/env_lines.screen"
! grep -qa $'\033' "$T/env_lines.screen" && [ "$(records "$T/env_lines.screen")" -eq 2 ] &&
  ok "PROXFLOW_PROGRESS=lines wins over progress=bar" || bad "PROXFLOW_PROGRESS=lines over the config"
PROXFLOW_PROGRESS= $MPI "$BIN" train "$T/t.ini" --out "$(out)" --set output.progress=off > "$T/empty.log" 2>&1
[ "$(wc -l < "$T/empty.log")" -eq 1 ] && ok "an empty PROXFLOW_PROGRESS is unset" || bad "empty PROXFLOW_PROGRESS"

# ---- 4. a bad value ------------------------------------------------------------------------
d=$(out)
PROXFLOW_PROGRESS=fancy run2 train "$T/t.ini" --out "$d" > "$T/badenv.log" 2>&1
rc=$?
[ "$rc" -eq 2 ] && grep -q 'PROXFLOW_PROGRESS=fancy: must be auto, bar, lines or off' "$T/badenv.log" &&
  ! grep -qi 'MPI_ABORT' "$T/badenv.log" && [ ! -e "$d/run.h5" ] &&
  ok "PROXFLOW_PROGRESS=fancy: exit 2 on both ranks, named, before any output file" ||
  { bad "bad PROXFLOW_PROGRESS: status $rc"; cat "$T/badenv.log"; }
run1 train "$T/t.ini" --out "$(out)" --set output.progress=fancy > "$T/badkey.log" 2>&1
rc=$?
[ "$rc" -eq 2 ] && grep -q 'progress' "$T/badkey.log" && ok "output.progress=fancy: exit 2" ||
  { bad "bad output.progress: status $rc"; cat "$T/badkey.log"; }

pf_finish test_progress
