#!/usr/bin/env bash
# Valgrind memcheck of short training runs (docs/RELIABILITY.md): 1 rank, a singleton
# (no mpirun), a tiny config.  A fresh run with checkpoints, log records and
# trajectories; its continuation with --resume latest (checkpoint loading); a run on a
# small gzip IDX file (the IDX reader).  Clean means: no invalid read or write, no use of
# an uninitialised value, no definitely lost block (--errors-for-leak-kinds=definite),
# with tests/valgrind.supp suppressing only Open MPI / PMIx / hwloc / OpenBLAS frames.
# Skipped (77) without valgrind.
. "$(dirname "$0")/lib.sh"
command -v valgrind > /dev/null || { echo "valgrind not installed: skipped"; exit 77; }
cd "$T"
cat > vg.ini <<INI
[flow]
steps = 3
lambda = 0.5
[potential]
widths = 8,8
[discriminator]
widths = 8,8
[train]
iterations = 4
batch = 16
n_disc = 2
seed = 3
[data]
source = sphere
dim = 3
manifold_dim = 1
[output]
log_every = 2
checkpoint_every = 2
trajectory_every = 2
n_traj = 4
diag_batch = 16
INI
printf '\000\000\010\003\000\000\000\040\000\000\000\003\000\000\000\003' > img-idx3-ubyte
head -c 288 /dev/urandom >> img-idx3-ubyte
gzip img-idx3-ubyte

vg() { # NAME proxflow-args...
  local name=$1; shift
  local t0=$(date +%s)
  valgrind --tool=memcheck --error-exitcode=99 --leak-check=full --show-leak-kinds=definite \
    --errors-for-leak-kinds=definite --num-callers=30 --suppressions="$SRC/tests/valgrind.supp" \
    --log-file="$name.vg" "$BIN" "$@" > "$name.out" 2>&1
  local rc=$?
  local summary; summary=$(grep "ERROR SUMMARY" "$name.vg")
  if [ $rc -eq 0 ] && grep -q "ERROR SUMMARY: 0 errors" "$name.vg"; then
    ok "$name ($(( $(date +%s) - t0 )) s): ${summary#*== }"
  else
    bad "$name: exit $rc, ${summary#*== }"; sed 's/^/     /' "$name.vg" | grep -v "^     ==[0-9]*== *$" | head -n 60
    tail -n 5 "$name.out"
  fi
}
vg train train vg.ini --out run
vg resume train vg.ini --out run --resume latest --set train.iterations=6
vg idx train vg.ini --out idx --set data.source="$T/img-idx3-ubyte.gz" --set train.iterations=2 --set data.scale=2
echo "test_valgrind: $fails failed"
[ $fails -eq 0 ]
