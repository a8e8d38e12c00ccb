#!/usr/bin/env bash
# The paper code's low-dimensional table (issue 19, docs/REPRODUCTION.md "Low-dimensional
# table"): Pinwheel and Moons in R^2, R^7, R^12, modes w1w2 and w2, 25,000 iterations
# each (configs/paper_lowdim/), then every cell scored as the notebook scores it
# (proxflow eval --plane: the Sinkhorn divergence of 5000 generated points against 5000
# data points in the plane coordinates), the table beside the authors' numbers and the
# scatter plots.
#
# usage: scripts/reproduce_lowdim.sh [OUT_ROOT]          (default runs/paper_lowdim)
# env:
#   CELLS       cells to run (default all 12: {pinwheel,moons}_d{2,7,12}_{w1w2,w2})
#   JOBS        runs (and evaluations) at once, each one rank x one thread (default 2)
#   ITERATIONS  train.iterations of every cell (default: the configs' 25000)
#   SET         more overrides, space-separated section.key=value (e.g.
#               "potential.widths=64,64,64,64,64 discriminator.widths=64,64,64")
#   N_EVAL      generated and data points per score (default 5000, the notebook's)
#   TRAIN=0     only evaluate and tabulate what is there;  POST=0  no table / plots
#   PROXFLOW    the binary (default build/proxflow)
# Resumable: rerunning the same command continues every unfinished cell from its
# latest checkpoint (--resume latest), skips finished cells and cells that diverged
# (status "diverged"), and re-evaluates a cell only when it has a newer checkpoint.
# Use one OUT_ROOT per setting (a shorter ITERATIONS in a root of longer runs finds no
# final checkpoint of its own).  SIGTERM / Ctrl-C: every running training writes a
# checkpoint and stops (SPEC §4); the next call resumes.
# Files: OUT_ROOT/CELL/ (run.h5, checkpoints/, status, eval.json, eval_notebook.json,
# points.h5), OUT_ROOT/logs/CELL.log, OUT_ROOT/notebook_data/, OUT_ROOT/lowdim_table.md
# and .json, OUT_ROOT/lowdim_{pinwheel,moons}.png.
set -uo pipefail
cd "$(dirname "$0")/.."
root=${1:-runs/paper_lowdim}
bin=${PROXFLOW:-build/proxflow}
py=/usr/bin/python3
jobs_max=${JOBS:-2}
neval=${N_EVAL:-5000}
all_cells=""
for s in pinwheel moons; do for d in 2 7 12; do for m in w1w2 w2; do all_cells+="${s}_d${d}_$m "; done; done; done
cells=${CELLS:-$all_cells}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
mkdir -p "$root/logs"
[ -x "$bin" ] || { echo "reproduce_lowdim: no proxflow binary at $bin (build it, or set PROXFLOW)" >&2; exit 2; }
for c in $cells; do
  [ -f "configs/paper_lowdim/$c.ini" ] || { echo "reproduce_lowdim: unknown cell $c (no configs/paper_lowdim/$c.ini)" >&2; exit 2; }
done

# Ctrl-C / SIGTERM: ask every running proxflow to checkpoint and stop, then wait for it
stop() {
  local f
  for f in "$root"/logs/*.pid; do [ -f "$f" ] && kill -TERM "$(cat "$f")" 2> /dev/null; done
  wait
  echo "reproduce_lowdim: stopped; rerun the same command to resume" >&2
  exit 143
}
trap stop INT TERM

target_of() { # the cell's iterations
  if [ -n "${ITERATIONS:-}" ]; then echo "$ITERATIONS"
  else sed -n 's/^iterations *= *//p' "configs/paper_lowdim/$1.ini" | head -n 1; fi
}
latest_ckpt() { ls "$1/checkpoints/"ckpt_*.h5 2> /dev/null | tail -n 1; }

# run "$@" in the background, at most $jobs_max at once
running=0
spawn() {
  "$@" &
  running=$((running + 1))
  if [ "$running" -ge "$jobs_max" ]; then wait -n; running=$((running - 1)); fi
}
drain() { wait; running=0; }

train_cell() {
  local cell=$1 dir=$root/$1 cfg=configs/paper_lowdim/$1.ini log=$root/logs/$1.log
  local target; target=$(target_of "$cell")
  local final; final=$dir/checkpoints/$(printf 'ckpt_%08d.h5' "$target")
  if [ -f "$final" ]; then echo "$cell: finished ($target iterations)"; return 0; fi
  if [ -f "$dir/status" ] && grep -q "^diverged $target:" "$dir/status"; then
    echo "$cell: $(cat "$dir/status") (not rerun)"; return 0
  fi
  local resume=() kv
  if [ -n "$(latest_ckpt "$dir")" ]; then resume=(--resume latest)
  elif [ -e "$dir" ]; then rm -rf "$dir"; fi # a start without any checkpoint: nothing to keep
  local sets=(--set "train.iterations=$target")
  for kv in ${SET:-}; do sets+=(--set "$kv"); done
  local start; start=$(date +%s)
  echo "$cell: training to $target iterations${resume:+ (resuming from $(basename "$(latest_ckpt "$dir")"))}"
  "$bin" train "$cfg" --out "$dir" "${sets[@]}" "${resume[@]}" >> "$log" 2>&1 &
  local pid=$!
  echo "$pid" > "$root/logs/$cell.pid"
  wait "$pid"
  local rc=$?
  rm -f "$root/logs/$cell.pid"
  mkdir -p "$dir"
  if [ -f "$final" ]; then echo "finished $target" > "$dir/status"
  elif [ "$rc" -eq 3 ]; then
    echo "diverged $target: $(grep -m 1 -o 'non-finite [^;]*' "$log" || echo "exit 3, see $log")" > "$dir/status"
  elif [ "$rc" -eq 0 ]; then echo "stopped $target at $(basename "$(latest_ckpt "$dir")")" > "$dir/status"
  else echo "failed $target (exit $rc, see $log)" > "$dir/status"; fi
  echo "$cell: $(cat "$dir/status"), $(($(date +%s) - start)) s"
}

eval_cell() {
  local cell=$1 dir=$root/$1 log=$root/logs/$1.log
  local ck; ck=$(latest_ckpt "$dir")
  [ -n "$ck" ] || { echo "$cell: no checkpoint, not evaluated"; return 0; }
  local set=${cell%%_*} d=${cell#*_d}; d=${d%%_*}
  local nb=$root/notebook_data/${set}_d$d.h5
  if [ "$dir/eval.json" -nt "$ck" ] && { [ ! -f "$nb" ] || [ "$dir/eval_notebook.json" -nt "$ck" ]; }; then
    echo "$cell: evaluated ($(basename "$ck"))"; return 0
  fi
  local start; start=$(date +%s)
  { "$bin" eval --checkpoint "$ck" --n "$neval" --plane --floor --points "$dir/points.h5" \
      --json "$dir/eval.json.tmp" > "$dir/eval.txt" && mv "$dir/eval.json.tmp" "$dir/eval.json"; } 2>> "$log" ||
    { echo "$cell: eval failed (see $log)"; return 0; }
  if [ -f "$nb" ]; then
    { "$bin" eval --checkpoint "$ck" --n "$neval" --plane --data "$nb:/x" --json "$dir/eval_notebook.json.tmp" \
        > "$dir/eval_notebook.txt" && mv "$dir/eval_notebook.json.tmp" "$dir/eval_notebook.json"; } 2>> "$log" ||
      echo "$cell: eval against the notebook's data failed (see $log)"
  fi
  echo "$cell: evaluated $(basename "$ck"): sinkhorn $(sed -n 's/^sinkhorn //p' "$dir/eval.txt")," \
       "$(($(date +%s) - start)) s"
}

if [ "${TRAIN:-1}" != 0 ]; then
  for c in $cells; do spawn train_cell "$c"; done
  drain
fi

# the notebook's data sets (Moons exactly, Pinwheel a seeded draw), once per N_EVAL
if [ "$(cat "$root/notebook_data/n" 2> /dev/null)" != "$neval" ]; then
  rm -rf "$root/notebook_data"
  if $py analysis/lowdim_notebook_data.py "$root/notebook_data" --n "$neval" > "$root/logs/notebook_data.log" 2>&1 ||
     [ $? -eq 3 ]; then
    echo "$neval" > "$root/notebook_data/n"
  fi
  grep -v '^wrote' "$root/logs/notebook_data.log" >&2
fi
for c in $cells; do spawn eval_cell "$c"; done
drain

[ "${POST:-1}" = 0 ] && exit 0
$py analysis/lowdim_table.py "$root" || exit 1
$py analysis/lowdim_scatter.py "$root" || exit 1
