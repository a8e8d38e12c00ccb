#!/bin/bash
# analysis/export_csv.py and analysis/follow.py (docs/CLUSTER.md, "Diagnostics as CSV"
# and "Watching a running job"):
#   1. export_csv.py on a short run: the CSV's columns are the /diagnostics datasets,
#      one row per record, every value equal to h5py's; several runs in one file with a
#      `run` column and the swept key; `--out -`;
#   2. follow.py on a 2-rank run that is still training (proxflow writes run.h5 with
#      MPI-IO while h5py polls it): rows appear while it trains, one per record, in
#      order, then "finished" and exit 0; no control characters when not a terminal;
#      the same with HDF5_USE_FILE_LOCKING=TRUE (the reader's flock() next to the
#      writer's open file);
#   3. follow.py on files an h5py writer changes under it: a resume that cuts the
#      records back, a NaN record (exit 3), a run that stops logging and a file that
#      never appears (exit 4), the status line on a terminal (under script(1)).
# Environment (set by CTest): PROXFLOW_BIN, PROXFLOW_SOURCE_DIR.
. "$(dirname "$0")/lib.sh"
ANA="$SRC/analysis"
export MPLBACKEND=Agg
pf_cleanup() {  # never leave a trainer or a follower behind
  local p
  for p in ${TRAIN_PID:-} ${FOLLOW_PID:-} ${WRITER_PID:-}; do kill "$p" 2> /dev/null; done
  wait 2> /dev/null
}

"$PY" -c 'import numpy, h5py' || { bad "python3 lacks numpy or h5py"; pf_finish test_export; }
for s in export_csv follow; do
  check "$s.py --help" "$PY" "$ANA/$s.py" --help > /dev/null
done

# control characters other than tab and newline (ANSI escapes start with ESC = \x1b)
no_ctrl() { ! LC_ALL=C grep -q "$(printf '[\001-\010\013-\037\177]')" "$1"; }

# ---- 1. export_csv.py ----------------------------------------------------------------
tiny_ini "$T/a.ini" output.log_every=2 output.checkpoint_every=0 train.iterations=14
run1 train "$T/a.ini" --out "$T/runs/a" > "$T/a.log" 2>&1 || { cat "$T/a.log"; bad "training run a"; }
run1 train "$T/a.ini" --set flow.lambda=2 --out "$T/runs/b" > "$T/b.log" 2>&1 || bad "training run b"

"$PY" "$ANA/export_csv.py" "$T/runs/a" > "$T/export.log" 2>&1 || { cat "$T/export.log"; bad "export_csv.py RUN"; }
check "export_csv.py RUN writes RUN/diagnostics.csv, columns and values equal to h5py's" \
  "$PY" - "$T/runs/a/run.h5" "$T/runs/a/diagnostics.csv" <<'EOF'
import csv, sys, h5py, numpy as np
h5, path = sys.argv[1:]
with h5py.File(h5, "r") as f:
    diag = {k: f["diagnostics"][k][()] for k in f["diagnostics"]}
with open(path, newline="") as fh:
    rows = list(csv.reader(fh))
header, body = rows[0], rows[1:]
assert sorted(header) == sorted(diag), (header, sorted(diag))
assert header[:2] == ["iteration", "wall_s"], header[:2]
n = len(diag["iteration"])
assert n == 8 and len(body) == n, (n, len(body))        # iterations 0, 2, ..., 14
for j, name in enumerate(header):
    col = np.array([float(r[j]) if r[j] != "" else np.nan for r in body])
    assert np.array_equal(col, diag[name], equal_nan=True), (name, col, diag[name])
print(f"{len(body)} rows x {len(header)} columns, all equal")
EOF

"$PY" "$ANA/export_csv.py" "$T/runs" --out "$T/both.csv" > "$T/export2.log" 2>&1 || { cat "$T/export2.log"; bad "export_csv.py --out"; }
check "export_csv.py of 2 runs into one file: run and flow.lambda columns, rows of each run" \
  "$PY" - "$T/both.csv" <<'EOF'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1], newline="")))
head = list(rows[0].keys())
assert head[:3] == ["run", "flow.lambda", "iteration"], head[:4]
by = {}
for r in rows:
    by.setdefault((r["run"], r["flow.lambda"]), []).append(int(r["iteration"]))
assert by == {("a", "0.5"): list(range(0, 15, 2)), ("b", "2"): list(range(0, 15, 2))}, by
EOF
"$PY" "$ANA/export_csv.py" "$T/runs/a" --out - > "$T/stdout.csv" 2> "$T/stdout.err"
check "export_csv.py --out - writes the CSV (only) on stdout" \
  cmp -s "$T/stdout.csv" "$T/runs/a/diagnostics.csv"

# ---- 2. follow.py on a 2-rank run that trains -----------------------------------------
# About 100 iterations of the quickstart model (a few seconds on 2 cores), a record
# every 10 iterations.
follow_live() {  # follow_live NAME [env...]: train in the background and follow it
  local name=$1; shift
  local dir="$T/live_$name" out="$T/follow_$name.txt"
  rm -rf "$dir"
  timeout -k 10 240 mpirun -n 2 --oversubscribe "$BIN" train "$SRC/configs/quickstart.ini" \
    --set train.iterations=100 --set output.log_every=10 --set output.checkpoint_every=0 \
    --set output.trajectory_every=0 --out "$dir" > "$T/train_$name.log" 2>&1 &
  TRAIN_PID=$!
  env "$@" "$PY" "$ANA/follow.py" "$dir" --interval 0.3 --idle 60 > "$out" 2> "$T/follow_$name.err" &
  FOLLOW_PID=$!
  # rows printed while the trainer was still running (count, then check that it still
  # runs): the first count seen above 0 and the last one
  local first=0 seen=0 c
  while kill -0 "$TRAIN_PID" 2> /dev/null; do
    c=$(grep -cE '^ +[0-9]+ ' "$out")
    if kill -0 "$TRAIN_PID" 2> /dev/null; then
      seen=$c
      [ "$first" -gt 0 ] || first=$c
    fi
    sleep 0.2
  done
  wait "$TRAIN_PID"; local trc=$?; TRAIN_PID=
  timeout 30 tail --pid="$FOLLOW_PID" -f /dev/null
  wait "$FOLLOW_PID"; local frc=$?; FOLLOW_PID=
  [ $trc -eq 0 ] || { cat "$T/train_$name.log"; bad "$name: training exited $trc"; return; }
  [ $frc -eq 0 ] || { cat "$out" "$T/follow_$name.err"; bad "$name: follow.py exited $frc, not 0"; return; }
  local total
  total=$(grep -cE '^ +[0-9]+ ' "$out")
  echo "     ($name: rows printed while the run trained: first $first, then up to $seen, of $total)"
  if [ "$first" -ge 1 ] && [ "$seen" -gt "$first" ]; then
    ok "$name: follow.py printed rows while the 2-rank run trained, more as they arrived"
  else
    cat "$out"; bad "$name: rows seen while training: first $first, last $seen of $total"
  fi
  check "$name: one row per record in order, 'finished' last" "$PY" - "$dir/run.h5" "$out" <<'EOF'
import sys, h5py, numpy as np
h5, out = sys.argv[1:]
lines = open(out).read().splitlines()
rows = [l.split() for l in lines if l[:10].strip().isdigit()]
with h5py.File(h5, "r") as f:
    its = f["diagnostics/iteration"][()]
    div = f["diagnostics/divergence"][()]
assert [int(r[0]) for r in rows] == [int(i) for i in its] == list(range(0, 101, 10)), rows
# third column is the divergence, printed with 4 significant digits
assert np.allclose([float(r[2]) for r in rows], div, rtol=1e-3, atol=1e-12), (rows, div)
assert lines[-1].startswith("finished: iteration 100 of 100"), lines[-1]
EOF
  check "$name: no control characters in follow.py's output to a file" no_ctrl "$out"
}
follow_live default
follow_live locking HDF5_USE_FILE_LOCKING=TRUE

# ---- 3. follow.py against an h5py writer: resume, NaN, idle, missing file, terminal ----
writer() {  # writer FILE SCRIPT: the synthetic run writer below, in the background
  HDF5_USE_FILE_LOCKING=FALSE "$PY" - "$@" <<'EOF' &
import sys, time, h5py, numpy as np
path, script = sys.argv[1:]
names = ["iteration", "wall_s", "divergence", "kinetic", "hj_residual", "hj_terminal",
         "lipschitz_max", "seconds_per_iteration"]
f = h5py.File(path, "w")
f.attrs["config"] = "[train]\niterations = 60\n[flow]\nmode = w1w2\n[output]\nlog_every = 10\n"
g = f.create_group("diagnostics")
for k in names:
    g.create_dataset(k, shape=(0,), maxshape=(None,), chunks=(256,), dtype="f8",
                     fillvalue=np.nan)
f.flush()
def put(it, value=None):
    n = g["iteration"].shape[0]
    for k in names:
        g[k].resize((n + 1,))
        g[k][n] = it if k == "iteration" else (value if value is not None else it / 100 + 0.5)
    f.flush()
def cut(n):
    for k in names:
        g[k].resize((n,))
    f.flush()
for step in script.split():
    if step.startswith("sleep"):
        time.sleep(float(step[5:]))
    elif step.startswith("cut"):
        cut(int(step[3:]))
    elif step.startswith("nan"):
        put(int(step[3:]), float("nan"))
    else:
        put(int(step))
time.sleep(30)   # keep the file open, as a trainer does; the test kills us
EOF
  WRITER_PID=$!
}
stop_writer() { kill "$WRITER_PID" 2> /dev/null; wait "$WRITER_PID" 2> /dev/null; WRITER_PID=; }

# a resume: records 0..30, then cut back to 0, 10 (a checkpoint at 10), then 20..60
writer "$T/resume.h5" "0 10 20 30 sleep1.5 cut2 sleep1 20 sleep0.4 30 40 sleep0.4 50 60"
timeout 60 "$PY" "$ANA/follow.py" "$T/resume.h5" --interval 0.2 --idle 20 > "$T/resume.txt" 2>&1
rc=$?; stop_writer
check "follow.py: a run that resumes (records cut back) is followed on, exit 0 at the end" \
  "$PY" - "$T/resume.txt" $rc <<'EOF'
import sys
lines = open(sys.argv[1]).read().splitlines()
assert sys.argv[2] == "0", ("exit", sys.argv[2], lines)
its = [int(l.split()[0]) for l in lines if l[:10].strip().isdigit()]
assert its == [0, 10, 20, 30, 20, 30, 40, 50, 60], (its, lines)
k = next(i for i, l in enumerate(lines) if "rewound to iteration 10" in l)
assert lines[k + 1].split()[0] == "20", lines
assert lines[-1].startswith("finished: iteration 60 of 60"), lines[-1]
EOF

writer "$T/nan.h5" "0 10 sleep0.5 nan20"
timeout 60 "$PY" "$ANA/follow.py" "$T/nan.h5" --interval 0.2 --idle 20 > "$T/nan.txt" 2>&1
rc=$?; stop_writer
check "follow.py: a NaN record is printed and ends the follow with exit 3" \
  bash -c "[ $rc -eq 3 ] && grep -qE '^ +20 .*nan' '$T/nan.txt' && tail -1 '$T/nan.txt' | grep -q 'non-finite values at iteration 20'"

writer "$T/idle.h5" "0 10"
timeout 60 "$PY" "$ANA/follow.py" "$T/idle.h5" --interval 0.2 --idle 1.5 > "$T/idle.txt" 2>&1
rc=$?; stop_writer
check "follow.py: a run that stops logging ends the follow after --idle with exit 4" \
  bash -c "[ $rc -eq 4 ] && [ \$(grep -cE '^ +[0-9]+ ' '$T/idle.txt') -eq 2 ] && tail -1 '$T/idle.txt' | grep -q 'no new record after iteration 10'"

timeout 60 "$PY" "$ANA/follow.py" "$T/never" --interval 0.2 --idle 1 > "$T/never.txt" 2>&1
rc=$?
check "follow.py: a run directory that never appears: exit 4 after --idle, says what it waited for" \
  bash -c "[ $rc -eq 4 ] && grep -q 'waiting for $T/never/run.h5' '$T/never.txt'"

if command -v script > /dev/null; then
  writer "$T/tty.h5" "0 10 sleep1 20 sleep1 30 40 50 60"
  timeout 60 script -qfec "$PY $ANA/follow.py $T/tty.h5 --interval 0.2 --idle 20" /dev/null \
    > "$T/tty.txt" 2>&1
  rc=$?; stop_writer
  check "follow.py on a terminal: status line (cleared with ESC[K), rows, exit 0" \
    bash -c "[ $rc -eq 0 ] && grep -q \$'\\033\\[K\\[iteration' '$T/tty.txt' && grep -q 'finished: iteration 60 of 60' '$T/tty.txt'"
  "$PY" "$ANA/follow.py" "$T/tty.h5" --interval 0.2 --plain < /dev/null > "$T/plain.txt" 2>&1
  check "follow.py --plain: no control characters" no_ctrl "$T/plain.txt"
else
  echo "skip follow.py on a terminal: no script(1)"
fi

pf_finish test_export
