/* proxflow: the floating-point precision of a build (SPEC §2), in one place: the real
 * type and the BLAS, MPI and HDF5 names that go with it.  Double by default;
 * -DPROXFLOW_FLOAT=ON builds in float.  PF_H5_REAL is a macro of HDF5's, expanded only
 * where hdf5.h is included. */
#ifndef PROXFLOW_CORE_PRECISION_H
#define PROXFLOW_CORE_PRECISION_H

#ifdef PF_USE_FLOAT
typedef float pf_real;
#define PF_GEMM cblas_sgemm
#define PF_GEMV cblas_sgemv
#define PF_MPI_REAL MPI_FLOAT
#define PF_H5_REAL H5T_NATIVE_FLOAT      /* in memory                         */
#define PF_H5_REAL_FILE H5T_IEEE_F32LE   /* in a file (checkpoints, dumps)    */
#define PF_REAL_NAME "float"
#define PF_EPS_REAL 1.1920928955078125e-07
#else
typedef double pf_real;
#define PF_GEMM cblas_dgemm
#define PF_GEMV cblas_dgemv
#define PF_MPI_REAL MPI_DOUBLE
#define PF_H5_REAL H5T_NATIVE_DOUBLE
#define PF_H5_REAL_FILE H5T_IEEE_F64LE
#define PF_REAL_NAME "double"
#define PF_EPS_REAL 2.220446049250313e-16
#endif

#endif
