/* proxflow: the forward-Euler flow of the potential (SPEC §1.2). */
#ifndef PROXFLOW_FLOW_H
#define PROXFLOW_FLOW_H

#include "proxflow/nn/net.h"

/* Simulate nt Euler steps x^{k+1} = x^k - (h/lambda) grad_x phi(x^k, t_k), t_k = k h,
 * for n rows X0 [n x d] -> XT [n x d].
 * traj  (optional) [(nt+1) x n x d]: every x^k.
 * grads (optional) [nt x n x (d+1)]: grad_{(x,t)} phi(x^k, t_k) (space and time parts).
 * work: [2 x n x (d+1)] scratch.
 * On return phi holds the value forward of the last step, (x^{nt-1}, t_{nt-1}) (with
 * nt >= 1): the potential step's reverse sweep starts from it (pf_net_forward_tangent). */
void pf_flow_simulate(pf_net *phi, const pf_real *theta, int n, int d, int nt, double h,
                      double lambda, const pf_real *X0, pf_real *XT, pf_real *traj,
                      pf_real *grads, pf_real *work);

/* Pack rows of X [n x d] and time t into XI [n x (d+1)]. */
void pf_flow_pack(int n, int d, const pf_real *X, pf_real t, pf_real *XI);

#endif
