/* proxflow: network internals shared by net.c and net_passes.c. */
#ifndef PF_NN_NET_IMPL_H
#define PF_NN_NET_IMPL_H

#include "proxflow/nn/net.h"

/* Pool layer l's argmax: one int per image output of a value row (2 cap value rows). */
int *pf_net_pool_argmax(const pf_net *net, int l);

#endif
