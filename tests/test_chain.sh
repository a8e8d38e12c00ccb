#!/usr/bin/env bash
# End-to-end tests of `proxflow chain` (SPEC §8): the divergence falls along a 2-D
# chain and the last link beats the single link (sliced W1); a chain killed mid-link
# resumes at that link and ends bit-identical to an uninterrupted one; the pools of 1
# and 2 ranks are bit-identical (SPEC §3); `sample --chain` reproduces the stored pool;
# the O(K) structure (link k reads pool k-1, never re-simulates earlier links).
. "$(dirname "$0")/lib.sh"
set -e
PF_TIMEOUT=300   # run1, run2

# The 2-D chain of configs/chain_2d.ini (lambda = 4: short steps), made small.
SETS=(--set train.iterations=60 --set train.batch=128 --set chain.pool=1024
      --set output.diag_batch=256 --set output.log_every=20 --set output.checkpoint_every=20)
CFG=$SRC/configs/chain_2d.ini

# 1. Four links: divergence down the chain, last link closer to the target than link 1.
run1 chain "$CFG" --links 4 "${SETS[@]}" --out "$T/a" > "$T/a.log" 2>&1 || { cat "$T/a.log"; bad "chain of 4 links runs"; }
check "chain of 4 links: records, pools, O(K) structure, divergence and sliced W1" $PY - "$T/a" <<'PY'
import sys, h5py, numpy as np, os
d = sys.argv[1]
f = h5py.File(f"{d}/chain.h5", "r")
L = {k: f["links"][k][:] for k in f["links"]}
assert f.attrs["completed"] == 4 and f.attrs["links"] == 4, dict(f.attrs)
assert list(L["link"]) == [1, 2, 3, 4] and all(L["iterations"] == 60)
# every link: its own run and checkpoints; link k >= 2 draws its reference from pool k-1
for k in range(1, 5):
    r = h5py.File(f"{d}/link_{k:02d}/run.h5", "r")
    cfg = r.attrs["config"]
    cfg = cfg.decode() if isinstance(cfg, bytes) else cfg
    want = f"reference_pool = {d}/pools/pool_{k-1:02d}.h5:/pool" if k > 1 else "reference_pool = \n"
    assert want in cfg, (k, [l for l in cfg.splitlines() if "pool" in l])
    assert os.path.exists(f"{d}/link_{k:02d}/checkpoints/ckpt_00000060.h5")
    p = h5py.File(f"{d}/pools/pool_{k:02d}.h5", "r")
    assert p["pool"].shape == (1024, 2) and p.attrs["complete"] == 1
    assert np.all(np.isfinite(p["pool"][:]))
div, sw = L["divergence_end"], L["sliced_w1"]
print("divergence_start", np.round(L["divergence_start"], 4))
print("divergence_end  ", np.round(div, 4))
print("w2_step         ", np.round(L["w2_step"], 4))
print("sliced_w1       ", np.round(sw, 4))
print("train_seconds   ", np.round(L["train_seconds"], 2))
margin = 0.05  # estimation noise of the divergence (diag batch of 256)
assert np.all(np.diff(div) <= margin), ("divergence rose along the chain", div)
assert np.all(L["divergence_end"] < L["divergence_start"]), "a link did not lower the divergence"
assert div[-1] < 0.8 * div[0], div
# the chain goes further than the single flow with the same lambda (= link 1)
assert sw[-1] < 0.75 * sw[0], ("sliced W1", sw)
PY

# The analysis script reads the chain without the C code and writes its two figures.
$PY "$SRC/analysis/plot_chain.py" "$T/a" --out "$T/plots" > "$T/plot.log" 2>&1 \
  && [ -s "$T/plots/chain_links.png" ] && [ -s "$T/plots/chain_pools.png" ] && grep -q "^   4 " "$T/plot.log" \
  && ok "analysis/plot_chain.py: table of 4 links, chain_links.png, chain_pools.png" || { cat "$T/plot.log"; bad "plot_chain.py"; }

# --dump-state of link 2 (its reference is pool 1): the dumped x^0 are pool rows, and an
# independent implementation (PyTorch, when installed) recomputes its losses and gradients.
$PY - "$T/a" "$T/link2.ini" <<'PY'
import sys, h5py
c = h5py.File(f"{sys.argv[1]}/link_02/run.h5", "r").attrs["config"]
open(sys.argv[2], "w").write(c.decode() if isinstance(c, bytes) else c)
PY
run1 train "$T/link2.ini" --dump-state "$T/dump2.h5" > "$T/dump.log" 2>&1 || { cat "$T/dump.log"; bad "--dump-state of link 2"; }
check "--dump-state of link 2 records reference samples drawn from pool 1" $PY - "$T" <<'PY'
import sys, h5py, numpy as np
T = sys.argv[1]
pool = h5py.File(f"{T}/a/pools/pool_01.h5", "r")["pool"][:]
f = h5py.File(f"{T}/dump2.h5", "r")
keys = {r.tobytes() for r in pool}
for g in ("discriminator_step", "potential_step"):
    x0 = f[g]["reference"][:]
    assert all(r.tobytes() in keys for r in x0), g
PY
if $PY -c "import torch" 2> /dev/null; then
  $PY "$SRC/bench/reference_torch.py" check "$T/dump2.h5" > "$T/torch.log" 2>&1 \
    && ok "PyTorch reference agrees with the link-2 dump (1e-8)" || { cat "$T/torch.log"; bad "torch check of the link-2 dump"; }
fi

# 2. sample --chain from pool 3 through link 4 reproduces pool 4.
run1 sample --chain "$T/a" --from-link 4 --n 1024 --out "$T/s4.h5" > "$T/s.log" 2>&1 || { cat "$T/s.log"; bad "sample --chain"; }
run1 sample --chain "$T/a" --n 500 --seed 3 --out "$T/s1.h5" >> "$T/s.log" 2>&1 || { cat "$T/s.log"; bad "sample --chain from rho_0"; }
check "sample --chain: --from-link 4 reproduces pool 4; fresh samples through 4 links" $PY - "$T" <<'PY'
import sys, h5py, numpy as np
T = sys.argv[1]
s = h5py.File(f"{T}/s4.h5", "r")["samples"][:]
p = h5py.File(f"{T}/a/pools/pool_04.h5", "r")["pool"][:]
assert np.max(np.abs(s - p)) <= 1e-12 * max(1, np.max(np.abs(p))), np.max(np.abs(s - p))
g = h5py.File(f"{T}/s1.h5", "r")
x, x0 = g["samples"][:], g["reference"][:]
assert x.shape == (500, 2) and np.all(np.isfinite(x))
# pushed through 4 short steps: moved, and towards the 8 Gaussians (radius 2 * sqrt 2... of
# the standard set: the centres have norm > 1.5)
r0, r = np.linalg.norm(x0, axis=1).mean(), np.linalg.norm(x, axis=1).mean()
assert r > r0, (r0, r)
PY

# 3. Killed mid-link (SIGKILL inside the 5th checkpoint write: link 2 at iteration 40),
#    then --resume: ends bit-identical to the uninterrupted chain's links 1-2.
set +e
PROXFLOW_FAULT="checkpoint_write#5:kill" run1 chain "$CFG" --links 2 "${SETS[@]}" --out "$T/k" > "$T/k.log" 2>&1
st=$?
set -e
check "SIGKILL in link 2 (exit $st): link 1 pool complete, link 2 not" $PY - "$T/k" "$st" <<'PY'
import sys, os, h5py
d, st = sys.argv[1], int(sys.argv[2])
assert st != 0
assert h5py.File(f"{d}/pools/pool_01.h5", "r").attrs["complete"] == 1
assert not os.path.exists(f"{d}/pools/pool_02.h5")
assert os.path.exists(f"{d}/link_02/checkpoints/ckpt_00000020.h5")
PY
set +e
run1 chain "$CFG" --links 2 "${SETS[@]}" --out "$T/k" > "$T/k2.log" 2>&1; s=$?
set -e
[ $s = 2 ] && grep -q "chain.h5 already exists" "$T/k2.log" && ok "an existing chain without --resume is refused (exit 2)" || { cat "$T/k2.log"; bad "existing chain not refused"; }
run1 chain "$CFG" --links 2 "${SETS[@]}" --out "$T/k" --resume > "$T/k3.log" 2>&1 || { cat "$T/k3.log"; bad "chain --resume"; }
grep -q "link 1 of 2: done" "$T/k3.log" && grep -q "resumed from .*link_02/checkpoints/ckpt_00000020.h5" "$T/k3.log" \
  && ok "resume skips link 1 and resumes link 2 at iteration 20" || { cat "$T/k3.log"; bad "resume point"; }
check "resumed chain = uninterrupted chain (parameters and pool, bit for bit)" $PY - "$T/k" "$T/a" <<'PY'
import sys, h5py, numpy as np
k, a = sys.argv[1:3]
for name in ["pools/pool_01.h5", "pools/pool_02.h5"]:
    x, y = h5py.File(f"{k}/{name}", "r")["pool"][:], h5py.File(f"{a}/{name}", "r")["pool"][:]
    assert np.array_equal(x, y), name
ck = "link_02/checkpoints/ckpt_00000060.h5"
fk, fa = h5py.File(f"{k}/{ck}", "r"), h5py.File(f"{a}/{ck}", "r")
n = 0
def visit(name, obj):
    global n
    if isinstance(obj, h5py.Dataset):
        assert np.array_equal(obj[()], fa[name][()]), name
        n += 1
fk.visititems(visit)
assert n >= 2, n
PY

# 4. Pools and link records of 1 and 2 ranks are bit-identical (SPEC §3; 20 iterations).
S3=(--set train.iterations=20 --set train.batch=64 --set chain.pool=300 --set output.diag_batch=64
    --set output.checkpoint_every=0 --set output.log_every=10)
run1 chain "$CFG" --links 2 "${S3[@]}" --out "$T/r1" > "$T/r1.log" 2>&1 || { cat "$T/r1.log"; bad "1-rank chain"; }
run2 chain "$CFG" --links 2 "${S3[@]}" --out "$T/r2" > "$T/r2.log" 2>&1 || { cat "$T/r2.log"; bad "2-rank chain"; }
check "pools and link records of 2 ranks = 1 rank, bit for bit (links 1 and 2)" $PY - "$T" <<'PY'
import sys, h5py
T = sys.argv[1]
for k in (0, 1, 2):
    x = h5py.File(f"{T}/r1/pools/pool_{k:02d}.h5", "r")["pool"][:]
    y = h5py.File(f"{T}/r2/pools/pool_{k:02d}.h5", "r")["pool"][:]
    assert x.tobytes() == y.tobytes(), f"pool {k} differs"
a, b = h5py.File(f"{T}/r1/chain.h5", "r"), h5py.File(f"{T}/r2/chain.h5", "r")
for name in ("divergence_start", "divergence_end", "w2_step", "kinetic", "hj_residual",
             "hj_terminal", "lipschitz_max", "sliced_w1"):
    assert a["links/" + name][...].tobytes() == b["links/" + name][...].tobytes(), name
print("pools 0-2 and the link records: identical bytes on 1 and 2 ranks")
PY

# 5. Errors: a pool smaller than the batch; reference_pool set by hand; a bad --links.
set +e
run1 chain "$CFG" --set chain.pool=50 --out "$T/e1" > "$T/e1.log" 2>&1; s1=$?
run1 chain "$CFG" --set data.reference_pool=x.h5:/p --out "$T/e2" > "$T/e2.log" 2>&1; s2=$?
run1 chain "$CFG" --links 0 --out "$T/e3" > "$T/e3.log" 2>&1; s3=$?
set -e
[ $s1 = 2 ] && grep -q "\[chain\] pool = 50 must be >= \[train\] batch = 256" "$T/e1.log" && ok "pool < batch refused" || { cat "$T/e1.log"; bad "pool < batch"; }
[ $s2 = 2 ] && grep -q "reference_pool is set by .proxflow chain" "$T/e2.log" && ok "hand-set reference_pool refused" || { cat "$T/e2.log"; bad "reference_pool"; }
[ $s3 = 2 ] && grep -q -- "--links" "$T/e3.log" && ok "--links 0 refused" || { cat "$T/e3.log"; bad "--links 0"; }

pf_finish test_chain
