#!/usr/bin/env bash
# cmake --install (docs/CLUSTER.md, "Installing at a site"): the build is installed into a
# temporary prefix (and once with DESTDIR); then, from the install tree alone:
#   - every part of the tree is there (bin, lib, include, the CMake package, configs,
#     slurm, analysis, docs), the scripts executable;
#   - the installed binary runs without LD_LIBRARY_PATH, through its RPATH, with the
#     OpenBLAS build it was linked with: --version, and a 4-iteration 2-rank training run
#     of an installed config;
#   - an installed analysis script (export_csv.py, beside its pfio.py) reads that run;
#   - the installed slurm/train.sbatch, run outside Slurm with no proxflow on PATH, finds
#     the installed binary;
#   - a separate CMake project (tests/install_consumer) finds the package with
#     find_package(proxflow), builds against libproxflow.a and runs.
# usage: test_install.sh BUILD_DIR
. "$(dirname "$0")/lib.sh"
BUILD=${1:?usage: test_install.sh BUILD_DIR}
P=$T/prefix
unset LD_LIBRARY_PATH PROXFLOW_PROGRESS

cmake --install "$BUILD" --prefix "$P" > "$T/install.log" 2>&1 && ok "cmake --install --prefix" ||
  { bad "cmake --install"; tail -20 "$T/install.log"; pf_finish test_install; }

# ---- the tree ---------------------------------------------------------------------------
LIBDIR=$(cd "$P" && ls -d lib lib64 2> /dev/null | head -1)
missing=()
for f in bin/proxflow "$LIBDIR/libproxflow.a" include/proxflow/config/config.h include/proxflow/core/precision.h \
         "$LIBDIR/cmake/proxflow/proxflowConfig.cmake" "$LIBDIR/cmake/proxflow/proxflowConfigVersion.cmake" \
         "$LIBDIR/cmake/proxflow/proxflowTargets.cmake" share/proxflow/configs/quickstart.ini \
         share/proxflow/configs/sweep_example.ini share/proxflow/slurm/train.sbatch \
         share/proxflow/slurm/sweep.sbatch share/proxflow/slurm/submit_sweep.sh \
         share/proxflow/analysis/pfio.py share/proxflow/analysis/export_csv.py \
         share/proxflow/analysis/follow.py share/proxflow/analysis/README.md \
         share/doc/proxflow/README.md share/doc/proxflow/LICENSE share/doc/proxflow/docs/CLUSTER.md \
         share/doc/proxflow/docs/CONFIG.md; do
  [ -f "$P/$f" ] || missing+=("$f")
done
[ "${#missing[@]}" -eq 0 ] && ok "install tree: bin, $LIBDIR (library, CMake package), include, share/proxflow, share/doc" ||
  bad "missing from the install tree: ${missing[*]}"
n_h=$(find "$SRC/include/proxflow" -name '*.h' | wc -l)
n_hi=$(find "$P/include/proxflow" -name '*.h' | wc -l)
[ "$n_h" -eq "$n_hi" ] && ok "all $n_h public headers installed" || bad "headers: $n_hi of $n_h installed"
[ -z "$(find "$P/include" -path '*/src/*')" ] && ! ls "$P"/include/proxflow/*/*_impl.h > /dev/null 2>&1 &&
  ok "no internal header installed" || bad "internal headers installed"
notx=()
for f in "$P"/share/proxflow/slurm/* "$P"/share/proxflow/analysis/*.py "$P/bin/proxflow"; do
  [ -x "$f" ] || notx+=("${f#"$P"/}")
done
[ "${#notx[@]}" -eq 0 ] && ok "the binary, the Slurm scripts and the analysis scripts are executable" ||
  bad "not executable: ${notx[*]}"

# ---- the installed binary, from the prefix ------------------------------------------------
PB=$P/bin/proxflow
v=$(env -u LD_LIBRARY_PATH "$PB" --version 2>&1)
echo "     $v"
[[ $v == "proxflow 0.1.0 ("* ]] && ok "installed proxflow --version runs (no LD_LIBRARY_PATH)" || bad "installed --version: $v"
built=$(sed -n 's/^PF_BLAS_PARALLEL_OF:INTERNAL=//p' "$BUILD/CMakeCache.txt" | sed 's/;.*//')  # BLAS_LIBRARIES
blas=$(ldd "$PB" | awk '/libopenblas/ { print $3 }')
rpath=$(readelf -d "$PB" | sed -n 's/.*R\(UN\)\?PATH.*\[\(.*\)\]/\2/p')
echo "     RPATH $rpath; OpenBLAS loaded: $blas"
if [[ $built == *.so* ]]; then
  [ -n "$blas" ] && [ "$(readlink -f "$blas")" = "$(readlink -f "$built")" ] &&
    ok "the installed binary loads the OpenBLAS it was built with ($built), not the system alternative" ||
    bad "the installed binary loads '$blas', built with $built"
fi
"$PB" --help | grep -q 'proxflow CMD --help' && "$PB" train --help | grep -q '^usage: proxflow train' &&
  ok "installed proxflow --help, train --help" || bad "installed --help"

mkdir -p "$T/work"
cd "$T/work" || exit 1
Q=(--set train.iterations=4 --set output.log_every=2 --set output.checkpoint_every=0
   --set potential.widths=16,16 --set discriminator.widths=16,16 --set train.batch=64
   --set output.diag_batch=64)
timeout -k 10 120 mpirun -n 2 --oversubscribe "$PB" train "$P/share/proxflow/configs/quickstart.ini" \
  --out qs "${Q[@]}" > train.log 2>&1
rc=$?
[ "$rc" -eq 0 ] && "$PB" info qs/run.h5 | grep -q 'diagnostics: 3 records, last at iteration 4' &&
  [ -f qs/checkpoints/ckpt_00000004.h5 ] &&
  ok "installed binary, installed quickstart.ini: 4 iterations on 2 ranks, run.h5 and the checkpoint" ||
  { bad "training with the installed binary (status $rc)"; tail -20 train.log; }

# ---- an installed analysis script, beside its pfio.py ----------------------------------------
"$P/share/proxflow/analysis/export_csv.py" qs > csv.log 2>&1
rc=$?
rows=$([ -f qs/diagnostics.csv ] && wc -l < qs/diagnostics.csv)
[ "$rc" -eq 0 ] && [ "${rows:-0}" -eq 4 ] && head -1 qs/diagnostics.csv | grep -q '^iteration,wall_s,' &&
  ok "installed analysis/export_csv.py (run by its #! line from another directory): 3 records + header" ||
  { bad "installed export_csv.py (status $rc, ${rows:-no} lines)"; cat csv.log; }
$PY -E -c "import sys; sys.path.insert(0, '$P/share/proxflow/analysis'); import pfio; print(pfio.__file__)" \
  | grep -q "^$P/share/proxflow/analysis/pfio.py" && ok "the installed pfio.py imports" || bad "installed pfio.py"

# ---- the installed Slurm script finds the installed binary ------------------------------------
grep -q "echo \"$PB\"" "$P/share/proxflow/slurm/train.sbatch" &&
  grep -q "echo \"$PB\"" "$P/share/proxflow/slurm/sweep.sbatch" &&
  grep -q "echo \"$PB\"" "$P/share/proxflow/slurm/submit_sweep.sh" &&
  ! grep -q 'build/proxflow' "$P"/share/proxflow/slurm/* &&
  ok "installed Slurm scripts fall back to $PB (not build/proxflow)" || bad "installed Slurm scripts' fallback"
# outside Slurm, with a PATH that has mpirun but no proxflow: the fallback is what runs
env -u PROXFLOW PATH=/usr/bin:/bin CONFIG="$P/share/proxflow/configs/quickstart.ini" OUT=sb \
  EXTRA="${Q[*]}" PROXFLOW_LAUNCHER=mpirun SLURM_NTASKS=1 \
  timeout -k 10 120 bash "$P/share/proxflow/slurm/train.sbatch" > sbatch.log 2>&1
rc=$?
[ "$rc" -eq 0 ] && grep -q "^+ mpirun .* $PB train" sbatch.log && [ -f sb/checkpoints/ckpt_00000004.h5 ] &&
  ok "installed train.sbatch (outside Slurm, no proxflow on PATH) ran $PB" ||
  { bad "installed train.sbatch (status $rc)"; tail -20 sbatch.log; }

# ---- DESTDIR: staged under DESTDIR, paths of the final prefix -----------------------------------
DESTDIR="$T/stage" cmake --install "$BUILD" --prefix /opt/proxflow-test > "$T/destdir.log" 2>&1 &&
  [ -x "$T/stage/opt/proxflow-test/bin/proxflow" ] &&
  grep -q 'echo "/opt/proxflow-test/bin/proxflow"' "$T/stage/opt/proxflow-test/share/proxflow/slurm/train.sbatch" &&
  [ ! -e /opt/proxflow-test ] &&
  ok "DESTDIR install: staged under DESTDIR, the Slurm fallback names the final prefix" ||
  { bad "DESTDIR install"; tail "$T/destdir.log"; }

# ---- a separate project: find_package(proxflow) ------------------------------------------------
C=$T/consumer
cmake -S "$SRC/tests/install_consumer" -B "$C" -DCMAKE_PREFIX_PATH="$P" -DCMAKE_BUILD_TYPE=Release \
  > "$T/consumer_cfg.log" 2>&1 && cmake --build "$C" > "$T/consumer_build.log" 2>&1
rc=$?
found=$(sed -n 's/^proxflow_DIR:PATH=//p' "$C/CMakeCache.txt" 2> /dev/null)
[ "$rc" -eq 0 ] && [ "$found" = "$P/$LIBDIR/cmake/proxflow" ] &&
  ok "tests/install_consumer: find_package(proxflow) from $found, built" ||
  { bad "consumer project (status $rc, proxflow_DIR '$found')"; tail -20 "$T/consumer_cfg.log" "$T/consumer_build.log"; }
grep -a 'consumer: proxflow' "$T/consumer_cfg.log" | sed 's/^/     /'
prec=$("$PB" --version | sed -n 's/.*, \(float\|double\);.*/\1/p')
timeout -k 10 60 mpirun -n 2 --oversubscribe "$C/consumer" > consumer.out 2> consumer.err
rc=$?
size=$([ "$prec" = float ] && echo 4 || echo 8)
[ "$rc" -eq 0 ] && grep -q '^iterations = 123$' consumer.out && grep -q '^progress = lines$' consumer.out &&
  grep -q "^# consumer: rank 0 of 2, pf_real is $prec ($size bytes), proxflow 0.1.0$" consumer.out &&
  [ "$(grep -c '^# consumer' consumer.out)" -eq 1 ] &&
  ok "the consumer runs on 2 ranks: pf_config_defaults, pf_config_set, pf_config_to_ini; pf_real is $prec" ||
  { bad "consumer run (status $rc)"; cat consumer.out consumer.err | tail -20; }

pf_finish test_install
