#!/usr/bin/env bash
# Issue 21: a run's record stays honest and its results comparable.
#   - train --resume refuses a changed model/objective key (exit 2, old -> new) unless
#     --allow-config-change; resumes from the checkpoint's own config without an INI;
#     run.h5 /history has one entry per session; the summary counts this session;
#   - sliced_w1, mmd2, manifold_distance in /diagnostics at the end and every
#     eval_every, equal to `eval --n eval_n`; trajectories at the end of a run;
#   - sample, eval, info take a run directory, its checkpoints/ or RUN:latest; a
#     directory that is no run says so; eval --set data.*; eval --data circle on a 2-D
#     flow; a checkpoint's relative data path from elsewhere is named as such.
. "$(dirname "$0")/lib.sh"

EXTRA=(output.eval_every=10 output.eval_n=200)
tiny_ini "$T/tiny.ini" "${EXTRA[@]}"
R=$T/run
run1 train "$T/tiny.ini" --out "$R" > "$T/a.log" 2>&1 && ok "train" || { bad "train"; cat "$T/a.log"; pf_finish test_record; }

# ---- quality metrics: where they are recorded, and equal to eval's ----
run1 eval --checkpoint "$R" --n 200 --json "$T/eval.json" > "$T/eval.txt" 2> "$T/eval.err" \
  && ok "eval --checkpoint RUN_DIR" || { bad "eval --checkpoint RUN_DIR"; cat "$T/eval.err"; }
grep -q "ckpt_00000020.h5 (iteration 20)" "$T/eval.err" && ok "RUN_DIR means the newest checkpoint" || bad "RUN_DIR: $(cat "$T/eval.err")"
$PY - "$R/run.h5" "$T/eval.json" <<'PY' && ok "quality records at 0, 10, 20 only; equal to eval --n eval_n" || bad "quality records"
import json, sys, h5py, numpy as np
f = h5py.File(sys.argv[1], "r"); d = f["diagnostics"]
ev = json.load(open(sys.argv[2]))  # %.17g: every bit
it = d["iteration"][()]
for k in ("sliced_w1", "mmd2", "manifold_distance"):
    v = d[k][()]
    fin = it[np.isfinite(v)]
    assert list(fin) == [0, 10, 20], (k, it, v)
    assert v[-1] == ev[k], (k, v[-1], ev[k])       # the same numbers, bit for bit
assert d["sliced_w1"][-1] < d["sliced_w1"][0], "training did not improve sliced W1"
assert "trajectories/iter_00000020" in f
h = f["history"]; assert list(h) == ["session_0000"], list(h)
s = h["session_0000"].attrs
assert s["kind"] == "start" and s["start_iteration"] == 0 and s["end_iteration"] == 20, dict(s)
assert "lambda = 0.5" in s["config"] and s["config_changes"] == "" and s["model_changed"] == 0
PY

# the records do not depend on the rank count (the generation layout, rank 0's held-out draws)
run2 train "$T/tiny.ini" --out "$T/r2" > "$T/a2.log" 2>&1 || { bad "train on 2 ranks"; cat "$T/a2.log"; }
$PY -c "
import h5py, sys, numpy as np
a, b = (h5py.File(p, 'r')['diagnostics'] for p in sys.argv[1:])
for k in ('sliced_w1', 'mmd2', 'manifold_distance'):
    assert np.array_equal(a[k][()], b[k][()], equal_nan=True), (k, a[k][()], b[k][()])
" "$R/run.h5" "$T/r2/run.h5" && ok "quality records: 1 rank = 2 ranks, bit for bit" || bad "quality records differ between 1 and 2 ranks"

# evaluating does not touch training: the same checkpoint bits without the records
tiny_ini "$T/noeval.ini"
run1 train "$T/noeval.ini" --out "$T/noeval" > "$T/a3.log" 2>&1 || { bad "train without eval_every"; cat "$T/a3.log"; }
$PY -c "
import h5py, sys, numpy as np
a, b = (h5py.File(p, 'r') for p in sys.argv[1:])
for k in ('potential/buffer', 'discriminator/buffer'):
    assert np.array_equal(a[k][()], b[k][()]), k
" "$R/checkpoints/ckpt_00000020.h5" "$T/noeval/checkpoints/ckpt_00000020.h5" \
  && ok "eval_every leaves the training bit-identical" || bad "eval_every changed the training"

# ---- resume: a changed model key is refused, the record untouched ----
set +e
run1 train "$T/tiny.ini" --out "$R" --resume latest --set flow.lambda=0.2 --set train.iterations=30 > "$T/b.log" 2>&1
rc=$?
set -e
[ $rc -eq 2 ] && ok "changed flow.lambda on resume: exit 2" || bad "changed flow.lambda: exit $rc"
grep -q "flow.lambda: 0.5 -> 0.2" "$T/b.log" && grep -q -- "--allow-config-change" "$T/b.log" \
  && ok "the message lists the key old -> new and the way out" || { bad "refusal message"; cat "$T/b.log"; }
tiny_ini "$T/other.ini" "${EXTRA[@]}" potential.widths=16,8 data.noise=0.01
set +e; run1 train "$T/other.ini" --out "$R" --resume latest > "$T/b2.log" 2>&1; rc=$?; set -e
[ $rc -eq 2 ] && grep -q "potential.widths: 16,16 -> 16,8" "$T/b2.log" && grep -q "data.noise: 0 -> 0.01" "$T/b2.log" \
  && grep -q "in 2 keys" "$T/b2.log" && ok "every changed key listed (2 keys)" || { bad "two changed keys"; cat "$T/b2.log"; }
$PY -c "import h5py,sys; f=h5py.File(sys.argv[1]); assert f['config'].attrs['flow.lambda']=='0.5' and len(f['history'])==1" "$R/run.h5" \
  && ok "refused resume leaves run.h5 alone" || bad "refused resume changed run.h5"

# ---- resume without an INI: the checkpoint's config; the summary counts the session ----
set +e; run1 train --resume latest > "$T/c0.log" 2>&1; rc=$?; set -e
[ $rc -eq 2 ] && grep -q "needs --out DIR" "$T/c0.log" && ok "--resume latest without INI and --out: exit 2" || { bad "no --out"; cat "$T/c0.log"; }
run1 train --out "$R" --resume latest --set train.iterations=30 > "$T/c.log" 2>&1 \
  && ok "--resume latest without a config file" || { bad "--resume without INI"; cat "$T/c.log"; }
grep -q "done: 10 iterations (iterations 20..30)" "$T/c.log" && ok "summary: this session's 10 iterations" || { bad "summary"; grep done "$T/c.log"; }
grep -q "resumed from $R/checkpoints/ckpt_00000020.h5" "$T/c.log" || bad "resumed from which checkpoint: $(cat "$T/c.log")"

# ---- --allow-config-change: continues, warns, records ----
run1 train "$T/tiny.ini" --out "$R" --resume "$R" --set flow.lambda=0.2 --set train.iterations=35 \
  --set output.trajectory_every=0 --allow-config-change > "$T/d.log" 2>&1 \
  && ok "--allow-config-change (and --resume RUN_DIR)" || { bad "--allow-config-change"; cat "$T/d.log"; }
grep -q "warning: --allow-config-change" "$T/d.log" && ok "the change is warned about" || bad "no warning"
$PY - "$R/run.h5" <<'PY' && ok "/history: start, resume, resume with the change; trajectories at the end" || bad "/history"
import sys, h5py
f = h5py.File(sys.argv[1], "r"); h = f["history"]
s = [dict(h[k].attrs) for k in sorted(h)]
assert [x["kind"] for x in s] == ["start", "resume", "resume"], s
assert [x["start_iteration"] for x in s] == [0, 20, 30] and [x["end_iteration"] for x in s] == [20, 30, 35]
assert s[1]["config_changes"] == "  train.iterations: 20 -> 30\n" and s[1]["model_changed"] == 0, s[1]
assert "flow.lambda: 0.5 -> 0.2" in s[2]["config_changes"] and s[2]["model_changed"] == 1, s[2]
assert s[2]["checkpoint"].endswith("ckpt_00000030.h5") and all(x["seconds"] > 0 for x in s)
assert f["config"].attrs["flow.lambda"] == "0.2"
assert "trajectories/iter_00000035" in f, list(f["trajectories"])   # trajectory_every = 0
assert f["samples/data"].shape == f["samples/generated"].shape
PY
$PY "$SRC/analysis/plot_diagnostics.py" "$R" --out "$T/diag.png" > /dev/null && $PY - "$SRC/analysis" "$R" <<'PY' \
  && ok "plot_diagnostics marks the two resumes, the second red" || bad "plot_diagnostics resume marks"
import sys
sys.path.insert(0, sys.argv[1])
import matplotlib; matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pfio, plot_diagnostics as pd
fig, ax = plt.subplots()
pd.mark_sessions(ax, [pfio.load_run(sys.argv[2])], ["tab:blue"])
xs = [(l.get_xdata()[0], l.get_color()) for l in ax.lines]
assert xs == [(20, "tab:blue"), (30, "red")], xs
PY

run1 info "$R/run.h5" > "$T/ih.txt" 2>&1 && grep -q "^history: 3 sessions" "$T/ih.txt" \
  && grep -q "session_0002 *resume iterations 30..35.*MODEL OR OBJECTIVE CHANGED" "$T/ih.txt" \
  && grep -q "^  flow.lambda: 0.5 -> 0.2" "$T/ih.txt" && ok "info run.h5 lists the sessions and the change" \
  || { bad "info run.h5 history"; cat "$T/ih.txt"; }

# ---- run directories and RUN:latest where a checkpoint is expected ----
run1 info "$R:latest" > "$T/i.txt" 2>&1 && grep -q "ckpt_00000035.h5: proxflow checkpoint" "$T/i.txt" \
  && ok "info RUN:latest" || { bad "info RUN:latest"; cat "$T/i.txt"; }
run1 info "$R" > "$T/i2.txt" 2>&1 && grep -q "ckpt_00000035.h5: proxflow checkpoint" "$T/i2.txt" && ok "info RUN_DIR" || bad "info RUN_DIR"
run1 sample --checkpoint "$R/checkpoints" --n 5 --out "$T/s.h5" > "$T/s.log" 2>&1 && grep -q "ckpt_00000035.h5" "$T/s.log" \
  && ok "sample --checkpoint RUN/checkpoints" || { bad "sample RUN/checkpoints"; cat "$T/s.log"; }
mkdir -p "$T/notarun" "$T/empty/checkpoints"
for args in "eval --checkpoint $T/notarun" "sample --checkpoint $T/notarun --n 2 --out $T/x.h5" "info $T/notarun"; do
  set +e; run1 $args > "$T/e.log" 2>&1; rc=$?; set -e
  [ $rc -eq 2 ] && grep -q "is a directory, not a checkpoint file" "$T/e.log" && ok "${args%% *} on a directory that is no run: says so" \
    || { bad "${args%% *} on a non-run directory (exit $rc)"; cat "$T/e.log"; }
done
set +e; run1 eval --checkpoint "$T/empty:latest" > "$T/e.log" 2>&1; rc=$?; set -e
[ $rc -eq 2 ] && grep -q "no complete checkpoint in $T/empty/checkpoints" "$T/e.log" && ok "RUN:latest without a checkpoint" || { bad "empty:latest"; cat "$T/e.log"; }
set +e; run1 train "$T/tiny.ini" --out "$T/x" --resume "$T/notarun" > "$T/e.log" 2>&1; rc=$?; set -e
[ $rc -eq 2 ] && grep -q "no complete checkpoint in $T/notarun/checkpoints" "$T/e.log" && ok "train --resume a non-run directory" || { bad "train --resume dir"; cat "$T/e.log"; }

# ---- eval --set data.*, --data on a 2-D flow ----
run1 eval --checkpoint "$R" --n 100 --set data.noise=0.05 > "$T/n.txt" 2>&1 && ok "eval --set data.noise" || { bad "eval --set data.noise"; cat "$T/n.txt"; }
set +e; run1 eval --checkpoint "$R" --set flow.lambda=1 > "$T/e.log" 2>&1; rc=$?; set -e
[ $rc -eq 2 ] && grep -q "only \[data\] keys" "$T/e.log" && ok "eval --set of a non-[data] key: exit 2" || { bad "eval --set flow.lambda"; cat "$T/e.log"; }
tiny_ini "$T/flat.ini" data.source=8gaussians -data.dim -data.manifold_dim train.iterations=5 output.eval_n=50
run1 train "$T/flat.ini" --out "$T/flat" > "$T/f.log" 2>&1 || { bad "2-D training"; cat "$T/f.log"; }
run1 eval --checkpoint "$T/flat:latest" --data circle --n 100 > "$T/circ.txt" 2>&1 && grep -q '^manifold_distance ' "$T/circ.txt" \
  && ok "eval --data circle on a 2-D flow (dim = the flow's)" || { bad "eval --data circle on 2-D"; cat "$T/circ.txt"; }

# ---- a checkpoint's relative data path, seen from another directory ----
mkdir -p "$T/work"
$PY -c "import h5py,numpy as np,sys; h5py.File(sys.argv[1],'w')['x']=np.random.default_rng(0).normal(size=(200,2))" "$T/work/pts.h5"
tiny_ini "$T/work/file.ini" data.source=pts.h5:/x -data.dim -data.manifold_dim train.iterations=5 output.eval_n=50
(cd "$T/work" && run1 train file.ini --out rel > "$T/g.log" 2>&1) || { bad "training on a relative data path"; cat "$T/g.log"; }
set +e; (cd "$T" && run1 eval --checkpoint work/rel --n 50 > "$T/e.log" 2>&1); rc=$?; set -e
[ $rc -eq 2 ] && grep -q "relative to the directory the training ran in" "$T/e.log" && grep -q -- "--set data.source=PATH" "$T/e.log" \
  && ok "a relative data path from elsewhere is named as such" || { bad "relative data path (exit $rc)"; cat "$T/e.log"; }
(cd "$T" && run1 eval --checkpoint work/rel --n 50 --set data.source="$T/work/pts.h5:/x" > "$T/e.log" 2>&1) \
  && ok "eval --set data.source=ABSOLUTE fixes it" || { bad "eval --set data.source"; cat "$T/e.log"; }

# ---- sweep --index: a partial run whose sweep file now changes a model key ----
tiny_ini "$T/swbase.ini" train.iterations=10
printf '[sweep]\nbase = swbase.ini\nout = %s/sw\n\n[grid]\ntrain.seed = 3\n' "$T" > "$T/sw.ini"
run1 sweep "$T/sw.ini" --index 0 > "$T/sw0.log" 2>&1 || { bad "sweep --index 0"; cat "$T/sw0.log"; }
tiny_ini "$T/swbase.ini" train.iterations=15 flow.lambda=0.2
set +e; run1 sweep "$T/sw.ini" --index 0 > "$T/sw1.log" 2>&1; rc=$?; set -e
[ $rc -eq 2 ] && grep -q "flow.lambda: 0.5 -> 0.2" "$T/sw1.log" && grep -q -- "--allow-config-change" "$T/sw1.log" \
  && ok "sweep --index: a changed model key on resume is refused, the change named" || { bad "sweep refusal (exit $rc)"; cat "$T/sw1.log"; }
run1 sweep "$T/sw.ini" --index 0 --allow-config-change > "$T/sw2.log" 2>&1 \
  && grep -q "warning: --allow-config-change" "$T/sw2.log" && grep -q "done: 5 iterations (iterations 10..15)" "$T/sw2.log" \
  && ok "sweep --index --allow-config-change resumes with the change" || { bad "sweep --allow-config-change"; cat "$T/sw2.log"; }
$PY -c "
import h5py, sys; h = h5py.File(sys.argv[1], 'r')['history']; s = [dict(h[k].attrs) for k in sorted(h)]
assert [x['model_changed'] for x in s] == [0, 1] and 'flow.lambda: 0.5 -> 0.2' in s[1]['config_changes'], s
" "$T/sw/seed=3/run.h5" && ok "sweep: the change is in /history" || bad "sweep /history"
set +e; run1 sweep "$T/sw.ini" --list --allow-config-change > "$T/sw3.log" 2>&1; rc=$?; set -e
[ $rc -eq 2 ] && grep -q "allow-config-change goes with --index" "$T/sw3.log" \
  && ok "sweep --list --allow-config-change: usage error" || { bad "sweep --list --allow-config-change (exit $rc)"; cat "$T/sw3.log"; }

pf_finish test_record
