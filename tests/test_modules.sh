#!/bin/bash
# The module files of packaging/modules (Lmod, Lua) and packaging/modules-tcl
# (Environment Modules, Tcl) loaded with Debian's Lmod (which reads both kinds)
# against a fake install prefix in the layout of docs/CLUSTER.md ("Installing at a
# site") and stub openmpi/hdf5/openblas modules: PATH finds the prefix's proxflow and it
# runs, CMAKE_PREFIX_PATH, PROXFLOW_ROOT/CONFIGS/ANALYSIS are set, the three dependency
# modules are loaded, whatis and help work, unloading undoes it.
# Skipped (exit 77) without Lmod (apt-get install lmod; scripts/debian-packages.txt).
LMOD_INIT=/usr/share/lmod/lmod/init/bash
[ -r "$LMOD_INIT" ] || { echo "skip: no Lmod ($LMOD_INIT; apt-get install lmod)"; exit 77; }
. "$(dirname "$0")/lib.sh"
unset MODULEPATH LOADEDMODULES _LMFILES_ __LMOD_REF_COUNT_PATH
# shellcheck disable=SC1090
. "$LMOD_INIT"
export LMOD_PAGER=none LMOD_REDIRECT=no

# a fake install prefix: bin/proxflow (the built binary), share/proxflow/{configs,analysis}
P="$T/prefix"
mkdir -p "$P/bin" "$P/share/proxflow" "$P/lib/cmake/proxflow"
ln -s "$(readlink -f "$BIN")" "$P/bin/proxflow"
cp -r "$SRC/configs" "$P/share/proxflow/configs"
cp -r "$SRC/analysis" "$P/share/proxflow/analysis"

# stub site modules that say they were loaded
for m in openmpi hdf5 openblas; do
  mkdir -p "$T/site/$m"
  echo "setenv(\"STUB_${m^^}_LOADED\", \"1\")" > "$T/site/$m/1.0.lua"
done

# the module files with the prefix (the ADJUST line) pointed at the fake prefix
mkdir -p "$T/lua/proxflow" "$T/tcl/proxflow"
sed "s|^local root    = .*|local root    = \"$P\"|" "$SRC/packaging/modules/proxflow/0.1.0.lua" \
  > "$T/lua/proxflow/0.1.0.lua"
sed "s|^set root .*|set root    $P|" "$SRC/packaging/modules-tcl/proxflow/0.1.0" \
  > "$T/tcl/proxflow/0.1.0"
check "the Lua file's prefix line was found and replaced" grep -q "local root    = \"$P\"" "$T/lua/proxflow/0.1.0.lua"
check "the Tcl file's prefix line was found and replaced" grep -q "set root    $P\$" "$T/tcl/proxflow/0.1.0"

try_module() {  # try_module KIND: load proxflow/0.1.0 from $T/KIND and check the result
  local kind=$1 path0 out
  module purge > /dev/null 2>&1
  export MODULEPATH="$T/$kind:$T/site"
  path0=$PATH
  module load proxflow/0.1.0 > "$T/$kind.load" 2>&1
  check "$kind: module load proxflow/0.1.0 (no errors)" bash -c "! grep -qi 'error' '$T/$kind.load'"
  check "$kind: proxflow on PATH is the prefix's" [ "$(command -v proxflow)" = "$P/bin/proxflow" ]
  out=$(proxflow --version 2>&1)
  check "$kind: proxflow --version runs ($out)" bash -c "[[ '$out' == 'proxflow 0.1.0 '* ]]"
  check "$kind: PROXFLOW_ROOT, PROXFLOW_CONFIGS, PROXFLOW_ANALYSIS" \
    bash -c "[ '${PROXFLOW_ROOT:-}' = '$P' ] && [ '${PROXFLOW_CONFIGS:-}' = '$P/share/proxflow/configs' ] \
             && [ -f '${PROXFLOW_CONFIGS:-/x}/quickstart.ini' ] && [ '${PROXFLOW_ANALYSIS:-}' = '$P/share/proxflow/analysis' ] \
             && [ -f '${PROXFLOW_ANALYSIS:-/x}/follow.py' ]"
  check "$kind: CMAKE_PREFIX_PATH starts with the prefix" bash -c "[[ '${CMAKE_PREFIX_PATH:-}' == '$P'* ]]"
  check "$kind: openmpi, hdf5 and openblas modules loaded" \
    bash -c "[ '${STUB_OPENMPI_LOADED:-}${STUB_HDF5_LOADED:-}${STUB_OPENBLAS_LOADED:-}' = 111 ]"
  module whatis proxflow/0.1.0 > "$T/$kind.whatis" 2>&1
  check "$kind: module whatis names the version" grep -q "Version: 0.1.0" "$T/$kind.whatis"
  module help proxflow/0.1.0 > "$T/$kind.help" 2>&1
  check "$kind: module help shows the usage" grep -q 'PROXFLOW_ANALYSIS/follow.py' "$T/$kind.help"
  module unload proxflow > /dev/null 2>&1
  # (Lmod also drops duplicate PATH entries, so PATH is compared as a set)
  check "$kind: module unload takes the prefix off PATH and unsets PROXFLOW_ROOT" \
    bash -c "[[ ':$PATH:' != *':$P/bin:'* ]] && [ -z '${PROXFLOW_ROOT:-}' ] \
             && [ \"\$(tr : '\n' <<< '$PATH' | sort -u)\" = \"\$(tr : '\n' <<< '$path0' | sort -u)\" ]"
}
try_module lua
try_module tcl

pf_finish test_modules
