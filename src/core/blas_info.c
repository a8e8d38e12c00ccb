/* proxflow: OpenBLAS's kernel set (include/proxflow/core/blas_info.h). */
#include "proxflow/core/blas_info.h"

#include <cblas.h>
#include <stdlib.h>

const char *pf_blas_core(void)
{
    const char *c = openblas_get_corename();
    return c ? c : "unknown";
}

const char *pf_blas_core_source(void)
{
    const char *e = getenv("OPENBLAS_CORETYPE");
    return e && *e ? "OPENBLAS_CORETYPE" : "CPU detection";
}
