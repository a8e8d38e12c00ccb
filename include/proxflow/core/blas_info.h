/* proxflow: which OpenBLAS kernels run (recorded, since they set the last bits). */
#ifndef PROXFLOW_BLAS_INFO_H
#define PROXFLOW_BLAS_INFO_H

/* OpenBLAS (DYNAMIC_ARCH, as Debian builds it) picks its kernel set once, at load time:
 * from OPENBLAS_CORETYPE if that is set, else from the CPU (Debian 12's 0.3.21 picks
 * Cooperlake, i.e. AVX-512, on this project's AMD Zen 4, and Haswell when forced by
 * OPENBLAS_CORETYPE=Haswell, as this project's machines set it).  The kernels block the
 * GEMM sums differently, so results change in the last bits with them and speed by up to
 * 1.4x (docs/PERFORMANCE.md).  run.h5 records the kernel set ("blas_core"); `proxflow
 * --version` and proxflow_bench print it. */
const char *pf_blas_core(void);        /* "Haswell", "Cooperlake", ... */
const char *pf_blas_core_source(void); /* "OPENBLAS_CORETYPE" or "CPU detection" */

#endif
