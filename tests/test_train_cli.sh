#!/usr/bin/env bash
# End-to-end tests of `proxflow train` (SPEC §3-§5): run.h5 layout, bit-exact resume on
# 1 and 2 ranks, SIGKILL during a checkpoint write, SIGTERM checkpoint-and-exit,
# an error on one rank only, 1- vs 2-rank trajectories, the four modes, CLI errors,
# the L T / lambda reach warning.
. "$(dirname "$0")/lib.sh"
set -e
tiny_ini "$T/tiny.ini"  # lib.sh's PF_TINY: 20 iterations, log and checkpoint every 5, 12 trajectories every 10

# compare two checkpoints' buffers bit for bit
same_ckpt() {
  $PY - "$1" "$2" <<'PYEOF'
import sys, h5py, numpy as np
a, b = h5py.File(sys.argv[1], "r"), h5py.File(sys.argv[2], "r")
for g in ("potential", "discriminator"):
    x, y = a[g + "/buffer"][...], b[g + "/buffer"][...]
    if x.shape != y.shape or x.tobytes() != y.tobytes():
        print(g, "differs: max abs", np.max(np.abs(x - y)) if x.shape == y.shape else "shape"); sys.exit(1)
    if a[g].attrs["adam_t"] != b[g].attrs["adam_t"]: print(g, "adam_t differs"); sys.exit(1)
if a.attrs["iteration"] != b.attrs["iteration"]: print("iteration differs"); sys.exit(1)
PYEOF
}

# 1. a 2-rank run and the layout of run.h5 (SPEC §4)
run2 train "$T/tiny.ini" --out "$T/a2" > "$T/a2.log" 2>&1 && ok "2-rank training" || { bad "2-rank training"; cat "$T/a2.log"; }
grep -q "proxflow: done: 20 iterations" "$T/a2.log" && ok "summary line" || bad "summary line"
$PY "$SRC/tests/check_run_h5.py" "$T/a2/run.h5" 5 > "$T/check.log" 2>&1 && ok "run.h5 layout (check_run_h5.py)" || { bad "run.h5 layout"; cat "$T/check.log"; }

# 2. bit-exact resume: 20 straight vs 10 + resume + 10, on 1 and on 2 ranks
for np in 1 2; do
  r=run$np
  $r train "$T/tiny.ini" --out "$T/s$np" > /dev/null 2>&1
  $r train "$T/tiny.ini" --out "$T/h$np" --set train.iterations=10 > /dev/null 2>&1
  $r train "$T/tiny.ini" --out "$T/h$np" --resume latest > "$T/h$np.log" 2>&1
  grep -q "resumed from .*ckpt_00000010.h5 at iteration 10" "$T/h$np.log" && ok "resume picks ckpt 10 ($np ranks)" || bad "resume message ($np ranks)"
  same_ckpt "$T/s$np/checkpoints/ckpt_00000020.h5" "$T/h$np/checkpoints/ckpt_00000020.h5" \
    && ok "bit-exact resume on $np rank(s)" || bad "bit-exact resume on $np rank(s)"
done
# the resumed run's diagnostics continue without duplicates
$PY - "$T/h1/run.h5" <<'PYEOF' && ok "resumed diagnostics continuous" || bad "resumed diagnostics continuous"
import sys, h5py, numpy as np
it = h5py.File(sys.argv[1], "r")["diagnostics/iteration"][...]
assert list(it) == [0, 5, 10, 15, 20], it
PYEOF

# 3. SIGKILL while a checkpoint is being written (the 3rd: iteration 15)
set +e
PROXFLOW_FAULT="checkpoint_write#3:kill" run1 train "$T/tiny.ini" --out "$T/k" > "$T/k.log" 2>&1
rc=$?
set -e
[ $rc -ne 0 ] && ok "killed mid-checkpoint (exit $rc)" || bad "fault injection did not kill"
ls -A "$T/k/checkpoints" | grep -q "\.tmp" && ok "half-written checkpoint left only as .tmp" || bad "no .tmp left"
[ ! -e "$T/k/checkpoints/ckpt_00000015.h5" ] && ok "no incomplete ckpt_00000015.h5" || bad "incomplete checkpoint visible"
run1 train "$T/tiny.ini" --out "$T/k" --resume latest > "$T/k2.log" 2>&1 && ok "resume after kill" || { bad "resume after kill"; cat "$T/k2.log"; }
grep -q "ckpt_00000010.h5 at iteration 10" "$T/k2.log" && ok "--resume latest picked the previous checkpoint" || bad "latest after kill"
same_ckpt "$T/s1/checkpoints/ckpt_00000020.h5" "$T/k/checkpoints/ckpt_00000020.h5" \
  && ok "killed + resumed run equals the uninterrupted one" || bad "killed + resumed differs"

# 4. SIGTERM: checkpoint at the next iteration boundary, exit 0, resumable (1 and 2 ranks)
for np in 1 2; do
  r=run$np
  $r train "$T/tiny.ini" --out "$T/t$np" --set train.iterations=100000 --set output.checkpoint_every=0 > "$T/t$np.log" 2>&1 &
  pid=$!
  for _ in $(seq 100); do grep -q "\[ *5/" "$T/t$np.log" 2>/dev/null && break; sleep 0.1; done
  # signal one rank process (as Slurm's --signal does)
  target=$(pgrep -f "$BIN train $T/tiny.ini --out $T/t$np" | tail -n 1)
  kill -TERM "$target"
  set +e; wait $pid; rc=$?; set -e
  [ $rc -eq 0 ] && ok "SIGTERM exits 0 ($np ranks)" || { bad "SIGTERM exit $rc ($np ranks)"; cat "$T/t$np.log"; }
  grep -q "SIGTERM received: checkpoint" "$T/t$np.log" && ok "SIGTERM checkpoint message ($np ranks)" || bad "SIGTERM message ($np ranks)"
  n=$(ls "$T/t$np/checkpoints" | grep -c '^ckpt_.*\.h5$' || true)
  [ "$n" -ge 1 ] && ok "SIGTERM wrote a checkpoint ($np ranks)" || bad "SIGTERM no checkpoint ($np ranks)"
  it=$(ls "$T/t$np/checkpoints" | grep '^ckpt_' | sed 's/ckpt_0*\([0-9]*\)\.h5/\1/' | sort -n | tail -1)
  $r train "$T/tiny.ini" --out "$T/t$np" --resume latest --set train.iterations=$((it + 5)) > "$T/t${np}b.log" 2>&1 \
    && grep -q "done: 5 iterations (iterations $it..$((it + 5)))" "$T/t${np}b.log" \
    && ok "resume after SIGTERM continues; the summary counts this session ($np ranks)" \
    || { bad "resume after SIGTERM ($np ranks)"; cat "$T/t${np}b.log"; }
done

# 5. an error on rank 1 only ends the whole job promptly, with the message
start=$(date +%s%N)
set +e
PROXFLOW_FAULT="data_open@1" run2 train "$T/tiny.ini" --out "$T/e" > "$T/e.log" 2>&1
rc=$?
set -e
ms=$(( ($(date +%s%N) - start) / 1000000 ))
[ $rc -ne 0 ] && ok "rank-1 error: non-zero exit ($rc)" || bad "rank-1 error exit 0"
grep -q "error (rank 1): injected fault at 'data_open'" "$T/e.log" && ok "rank-1 error message names the rank" || { bad "rank-1 message"; cat "$T/e.log"; }
[ $ms -lt 20000 ] && ok "rank-1 error ended the job in ${ms} ms" || bad "rank-1 error took ${ms} ms"

# 6. trajectories written by 2 ranks equal those written by 1 rank
$PY - "$T/s1/run.h5" "$T/a2/run.h5" <<'PYEOF' && ok "1- vs 2-rank trajectories agree" || bad "trajectories differ"
import sys, h5py, numpy as np
a, b = h5py.File(sys.argv[1], "r"), h5py.File(sys.argv[2], "r")
for k in a["trajectories"]:
    x, y = a["trajectories"][k][...], b["trajectories"][k][...]
    assert x.shape == y.shape == (5, 12, 4), (k, x.shape)
    d = np.max(np.abs(x - y)); assert d <= 1e-5, (k, d)
PYEOF

# 7. the four modes; `none` on manifold data trains or stops with the non-finite message
for mode in w1w2 w1 w2 none; do
  set +e
  run1 train "$T/tiny.ini" --out "$T/m_$mode" --set flow.mode=$mode --set flow.lambda=0.05 --set train.iterations=30 > "$T/m_$mode.log" 2>&1
  rc=$?
  set -e
  if [ $rc -eq 0 ]; then ok "mode $mode trains"
  elif [ $rc -eq 3 ] && grep -q "non-finite .* at iteration" "$T/m_$mode.log"; then ok "mode $mode stopped cleanly: $(grep -m1 -o 'non-finite.*iteration [0-9]*' "$T/m_$mode.log")"
  else bad "mode $mode: exit $rc"; cat "$T/m_$mode.log"; fi
done

# 8. a non-finite loss stops the run: message with iteration and quantity, exit 3,
#    checkpoints and diagnostics up to then kept (the NaN is injected on rank 1 only)
set +e
PROXFLOW_FAULT="potential_loss@1#12:nan" run2 train "$T/tiny.ini" --out "$T/nan" > "$T/nan.log" 2>&1
rc=$?
set -e
[ $rc -eq 3 ] && ok "non-finite loss: exit 3" || { bad "non-finite loss: exit $rc"; cat "$T/nan.log"; }
grep -q "non-finite potential loss loss_g (nan) at iteration 12" "$T/nan.log" && ok "non-finite message names iteration and quantity" || bad "non-finite message"
$PY - "$T/nan" <<'PYEOF' && ok "after NaN: checkpoints 5, 10 intact, diagnostics 0..10 kept" || bad "state after NaN"
import sys, os, h5py, numpy as np
d = sys.argv[1]
assert sorted(f for f in os.listdir(d + "/checkpoints") if f.endswith(".h5")) == ["ckpt_00000005.h5", "ckpt_00000010.h5"]
for f in ("ckpt_00000005.h5", "ckpt_00000010.h5"):
    with h5py.File(d + "/checkpoints/" + f, "r") as c:
        assert c.attrs["complete"] == 1 and np.all(np.isfinite(c["potential/buffer"][...]))
with h5py.File(d + "/run.h5", "r") as r:
    it = r["diagnostics/iteration"][...]
    assert list(it) == [0, 5, 10], it
    assert np.all(np.isfinite(r["diagnostics/kinetic"][...]))
PYEOF
run1 train "$T/tiny.ini" --out "$T/nan" --resume latest > /dev/null 2>&1 && ok "a stopped run resumes from its last good checkpoint" || bad "resume after NaN"

# 9. --dump-state on 2 ranks, checked by an independent numpy implementation
for mode in w1w2 w1; do
  run2 train "$T/tiny.ini" --out "$T/dump_$mode" --dump-state "$T/dump_$mode.h5" --set flow.mode=$mode \
    --set discriminator.activation=softplus --set lipschitz.L=0.1 > /dev/null 2>&1
  $PY "$SRC/tests/check_dump.py" "$T/dump_$mode.h5" > "$T/dump_$mode.log" 2>&1 \
    && ok "dump-state $mode agrees with numpy: $(tr '\n' ' ' < "$T/dump_$mode.log" | grep -o 'rel [0-9.e+-]*' | tr '\n' ' ')" \
    || { bad "dump-state $mode"; cat "$T/dump_$mode.log"; }
done

# 10. command-line errors
expect_err() { # expected-substring args...
  local want=$1; shift
  set +e; out=$(run1 "$@" 2>&1); rc=$?; set -e
  if [ $rc -ne 0 ] && grep -q -- "$want" <<<"$out"; then ok "error: $want"; else bad "expected '$want' (exit $rc): $out"; fi
}
expect_err "unknown option '--bogus'" train "$T/tiny.ini" --bogus
expect_err "missing value after --set" train "$T/tiny.ini" --set
expect_err "no config file given" train
expect_err "already exists" train "$T/tiny.ini" --out "$T/a2"
expect_err "unknown command 'trian'" trian "$T/tiny.ini"
expect_err "lambda" train "$T/tiny.ini" --set flow.lambda=-1 --out "$T/x1"
expect_err "no complete checkpoint" train "$T/tiny.ini" --out "$T/x2" --resume latest

# 11. the reach warning (issue 17): the optimal flow moves a sample at most L T / lambda;
#     a 2-sphere in R^16 is ~3.6 from N(0, I) samples: lambda 0.5 (reach 2) warns, 0.1 (10) not
reach() { # out lambda
  run1 train "$T/tiny.ini" --out "$T/$1" --set data.dim=16 --set data.manifold_dim=2 \
    --set flow.lambda=$2 --set train.iterations=1 > "$T/$1.log" 2>&1
}
reach r05 0.5 && grep -q "warning: the flow moves a sample at most L T / lambda = 2 " "$T/r05.log" \
  && ok "reach warning for lambda 0.5: $(grep -o 'sample is [0-9.]* from' "$T/r05.log")" \
  || { bad "no reach warning for lambda 0.5"; cat "$T/r05.log"; }
reach r01 0.1 && ! grep -q "warning: the flow moves" "$T/r01.log" && ok "no reach warning for lambda 0.1" \
  || { bad "reach warning for lambda 0.1"; cat "$T/r01.log"; }
run1 train "$SRC/configs/quickstart.ini" --out "$T/qs" --set train.iterations=1 > "$T/qs.log" 2>&1 \
  && ! grep -q "warning" "$T/qs.log" && ok "the quickstart does not warn" || { bad "quickstart warns"; cat "$T/qs.log"; }

pf_finish
