#!/usr/bin/env bash
# PROXFLOW_BLAS_OPENMP (CMakeLists.txt, docs/CLUSTER.md): how the configure step decides
# whether OpenBLAS is its OpenMP build.  The project is configured (not built) in
# temporary directories: AUTO asks the library (openblas_get_parallel() = 2: OpenMP),
# ON is checked against what the library says (a pthreads build is refused), OFF is
# taken as said, a bad value is refused.  The pthreads cases need Debian's
# libopenblas0-pthread (/usr/lib/ARCH/openblas-pthread/libopenblas.so.0).
. "$(dirname "$0")/lib.sh"
conf() {  # conf NAME cmake-args...: configure into $T/NAME, output in $T/NAME.log
  local name=$1; shift
  cmake -S "$SRC" -B "$T/$name" -DBUILD_TESTING=OFF "$@" > "$T/$name.log" 2>&1
}
cache() { sed -n "s/^$2:[A-Z]*=//p" "$T/$1/CMakeCache.txt"; }

conf auto
rc=$?
par=$(cache auto PF_BLAS_PARALLEL)
blas=$(cache auto PF_BLAS_PARALLEL_OF)
echo "     default BLAS: $blas, openblas_get_parallel() = '$par'"
if [[ $blas == *openblas-openmp* ]]; then
  [ "$rc" -eq 0 ] && [ "$par" = 2 ] && grep -q 'OpenBLAS, OpenMP build (PROXFLOW_BLAS_OPENMP=AUTO, openblas_get_parallel() = 2)' "$T/auto.log" &&
    ok "AUTO, Debian's OpenMP build: the library says 2 (OpenMP)" || { bad "AUTO with $blas"; tail "$T/auto.log"; }
  conf on -DPROXFLOW_BLAS_OPENMP=ON && grep -q 'OpenMP build (PROXFLOW_BLAS_OPENMP=ON' "$T/on.log" &&
    ok "ON, the OpenMP build: accepted" || { bad "ON with $blas"; tail "$T/on.log"; }
else
  [ "$rc" -eq 0 ] && [ -n "$par" ] && ok "AUTO: the library answered openblas_get_parallel() = $par" || bad "AUTO: no answer"
fi
conf off -DPROXFLOW_BLAS_OPENMP=off && grep -q 'not its OpenMP build (PROXFLOW_BLAS_OPENMP=OFF' "$T/off.log" &&
  ok "OFF (in any case): taken as not the OpenMP build" || { bad "OFF"; tail "$T/off.log"; }
! conf bogus -DPROXFLOW_BLAS_OPENMP=maybe && grep -q 'PROXFLOW_BLAS_OPENMP=maybe: must be AUTO, ON or OFF' "$T/bogus.log" &&
  ok "PROXFLOW_BLAS_OPENMP=maybe: refused" || bad "a bad PROXFLOW_BLAS_OPENMP"

pthread=$(ls /usr/lib/*/openblas-pthread/libopenblas.so.0 2> /dev/null | head -1)
if [ -n "$pthread" ]; then
  conf pt_auto -DBLAS_LIBRARIES="$pthread"
  rc=$?
  [ "$rc" -eq 0 ] && [ "$(cache pt_auto PF_BLAS_PARALLEL)" = 1 ] &&
    grep -q 'the OpenMP build of OpenBLAS was not found' "$T/pt_auto.log" &&
    ok "AUTO, the pthreads build: the library says 1, a warning" || { bad "AUTO with $pthread"; tail "$T/pt_auto.log"; }
  ! conf pt_on -DBLAS_LIBRARIES="$pthread" -DPROXFLOW_BLAS_OPENMP=ON &&
    grep -q 'PROXFLOW_BLAS_OPENMP=ON, but' "$T/pt_on.log" && grep -q 'openblas_get_parallel() = 1' "$T/pt_on.log" &&
    ok "ON, the pthreads build: refused, with what the library said" || { bad "ON with $pthread"; tail "$T/pt_on.log"; }
  # the answer follows BLAS_LIBRARIES when it changes in an existing build directory
  conf auto -DBLAS_LIBRARIES="$pthread" && [ "$(cache auto PF_BLAS_PARALLEL)" = 1 ] &&
    ok "a changed BLAS_LIBRARIES is asked again" || bad "stale openblas_get_parallel() after changing BLAS_LIBRARIES"
else
  echo "     (no Debian OpenBLAS pthreads build: the pthreads cases are not run)"
fi
pf_finish test_blas_option
