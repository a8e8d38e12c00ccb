# cmake --install: the installed Slurm scripts fall back to the installed binary.
# A script in slurm/ runs `proxflow` from PATH, else ./build/proxflow of the checkout it
# was submitted from; the installed copy's fallback is PF_INSTALL_BIN instead (sbatch
# copies a script to Slurm's spool directory, so it cannot look beside itself).
# PF_BINDIR and PF_SHARE (relative to the prefix given to cmake --install, or absolute)
# are set by the install(CODE) before this script.
foreach(pf_v PF_BINDIR PF_SHARE)
  if(NOT IS_ABSOLUTE "${${pf_v}}")
    set(${pf_v} "${CMAKE_INSTALL_PREFIX}/${${pf_v}}")
  endif()
endforeach()
set(PF_INSTALL_BIN "${PF_BINDIR}/proxflow")
set(PF_INSTALL_SLURM "${PF_SHARE}/slurm")
foreach(pf_f train.sbatch sweep.sbatch submit_sweep.sh)
  set(pf_path "$ENV{DESTDIR}${PF_INSTALL_SLURM}/${pf_f}")
  file(READ "${pf_path}" pf_text)
  string(REPLACE "\${SLURM_SUBMIT_DIR:-.}/build/proxflow" "${PF_INSTALL_BIN}" pf_new "${pf_text}")
  string(REPLACE "\$here/../build/proxflow" "${PF_INSTALL_BIN}" pf_new "${pf_new}")
  string(FIND "${pf_text}" "echo \"${PF_INSTALL_BIN}\"" pf_done)
  if(pf_new STREQUAL pf_text AND pf_done EQUAL -1)  # (pf_done: an earlier install, unchanged)
    message(FATAL_ERROR "${pf_path}: no ./build/proxflow fallback found to point at ${PF_INSTALL_BIN}")
  endif()
  string(REPLACE "else build/proxflow)" "else ${PF_INSTALL_BIN})" pf_new "${pf_new}")
  file(WRITE "${pf_path}" "${pf_new}")
endforeach()
