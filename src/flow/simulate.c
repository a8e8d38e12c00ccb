/* The forward-Euler flow x^{k+1} = x^k - (h/lambda) grad_x phi(x^k, t_k) (SPEC §1.2). */
#include "proxflow/flow/simulate.h"

#include <string.h>

void pf_flow_pack(int n, int d, const pf_real *X, pf_real t, pf_real *XI)
{
    for (int i = 0; i < n; i++) {
        memcpy(XI + (size_t)i * (d + 1), X + (size_t)i * d, sizeof(pf_real) * d);
        XI[(size_t)i * (d + 1) + d] = t;
    }
}

void pf_flow_simulate(pf_net *phi, const pf_real *theta, int n, int d, int nt, double h,
                      double lambda, const pf_real *X0, pf_real *XT, pf_real *traj,
                      pf_real *grads, pf_real *work)
{
    pf_real *XI = work, *GI = work + (size_t)n * (d + 1);
    const pf_real a = (pf_real)(h / lambda);
    if (XT != X0) memcpy(XT, X0, sizeof(pf_real) * (size_t)n * d);
    if (traj) memcpy(traj, X0, sizeof(pf_real) * (size_t)n * d);
    for (int k = 0; k < nt; k++) {
        pf_flow_pack(n, d, XT, (pf_real)(k * h), XI);
        pf_real *G = grads ? grads + (size_t)k * n * (d + 1) : GI;
        pf_net_value_grad(phi, theta, n, XI, NULL, G);
        for (int i = 0; i < n; i++)
            for (int j = 0; j < d; j++) XT[(size_t)i * d + j] -= a * G[(size_t)i * (d + 1) + j];
        if (traj) memcpy(traj + (size_t)(k + 1) * n * d, XT, sizeof(pf_real) * (size_t)n * d);
    }
}
