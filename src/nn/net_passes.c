/* The passes of a network over its layer table (SPEC §1.9): forward with values and
 * tangents, the tangent half of a forward, backward with the adjoints of both. */
#include "proxflow/nn/layers.h"
#include "nn/net_impl.h"

#include <omp.h>
#include <string.h>

/* Every network call runs its BLAS and element-wise loops on one thread (SPEC §3): a
 * GEMM's bits depend on its shape and on how many threads split it, so the trainer gives
 * each call one chunk of rows on one thread (a lane) and parallelises over chunks.
 * Inside a parallel region that holds anyway (OpenBLAS's OpenMP build and our loops run
 * serially there); outside one, the thread count is lowered to 1 for the call. */
static int serial_begin(void)
{
    if (omp_in_parallel()) return 0;
    const int t = omp_get_max_threads();
    if (t > 1) omp_set_num_threads(1);
    return t;
}
static void serial_end(int t)
{
    if (t > 1) omp_set_num_threads(t);
}

static void net_forward_impl(pf_net *net, const pf_real *params, int n, const pf_real *X,
                                     const pf_real *U, pf_real *f, pf_real *fdot)
{
    const int tangent = U != NULL, rows = tangent ? 2 * n : n;
    pf_net_reserve(net, tangent ? n : (n + 1) / 2); /* rows <= 2 cap */
    net->n = n;
    net->tangent = tangent;
    /* buf[0] is laid out [values; tangents] like every other layer buffer */
    memcpy(net->buf[0], X, sizeof(pf_real) * (size_t)n * net->in_dim);
    if (tangent) memcpy(net->buf[0] + (size_t)n * net->in_dim, U, sizeof(pf_real) * (size_t)n * net->in_dim);
    for (int l = 0; l < net->n_layers; l++) {
        const pf_layer *L = &net->layers[l];
        const double t_layer = omp_get_wtime();
        switch (L->kind) {
        case PF_LAYER_DENSE: pf_dense_forward(L, params, n, rows, net->buf[l], net->buf[l + 1], &net->flops); break;
        case PF_LAYER_ACT:
            pf_act_forward(L, n, tangent, net->buf[l], net->buf[l + 1], net->d1[l], net->d2[l]);
            break;
        case PF_LAYER_CONV:
            pf_conv_forward(L, params, n, rows, net->buf[l], net->buf[l + 1], &net->flops);
            break;
        case PF_LAYER_POOL:
            pf_pool_forward(L, n, tangent, net->buf[l], net->buf[l + 1], pf_net_pool_argmax(net, l));
            break;
        }
        net->seconds[l] += omp_get_wtime() - t_layer;
    }
    const pf_real *out = net->buf[net->n_layers];
    if (f) memcpy(f, out, sizeof(pf_real) * n);
    if (fdot && tangent) memcpy(fdot, out + n, sizeof(pf_real) * n);
}

static void net_forward_tangent_impl(pf_net *net, const pf_real *params, const pf_real *U, pf_real *fdot)
{
    const int n = net->n;
    if (net->tangent) pf_die("pf_net_forward_tangent: the net holds a tangent forward already");
    if (n > net->cap) pf_die("pf_net_forward_tangent: %d value rows leave no room for tangents (capacity %d)", n, net->cap);
    net->tangent = 1;
    if (n == 0) return;
    memcpy(net->buf[0] + (size_t)n * net->in_dim, U, sizeof(pf_real) * (size_t)n * net->in_dim);
    for (int l = 0; l < net->n_layers; l++) {
        const pf_layer *L = &net->layers[l];
        pf_real *tin = net->buf[l] + (size_t)n * L->in_dim, *tout = net->buf[l + 1] + (size_t)n * L->out_dim;
        const double t_layer = omp_get_wtime();
        switch (L->kind) { /* n = 0 value rows: no bias, as for tangent rows */
        case PF_LAYER_DENSE: pf_dense_forward(L, params, 0, n, tin, tout, &net->flops); break;
        case PF_LAYER_ACT:
            pf_act_forward_tangent(L, n, net->buf[l], net->buf[l + 1], net->d1[l], net->d2[l]);
            break;
        case PF_LAYER_CONV: pf_conv_forward(L, params, 0, n, tin, tout, &net->flops); break;
        case PF_LAYER_POOL:
            pf_pool_forward_tangent(L, n, net->buf[l], net->buf[l + 1], pf_net_pool_argmax(net, l));
            break;
        }
        net->seconds[l] += omp_get_wtime() - t_layer;
    }
    if (fdot) memcpy(fdot, net->buf[net->n_layers] + n, sizeof(pf_real) * n);
}

/* 1 if every activation is ReLU: sigma'' = 0 exactly, the network is piecewise linear. */
static int piecewise_linear(const pf_net *net)
{
    for (int l = 0; l < net->n_layers; l++)
        if (net->layers[l].kind == PF_LAYER_ACT && net->layers[l].act != PF_ACT_RELU) return 0;
    return 1;
}

/* The backward of S = sum_i c_i grad f(x_i) . u_i (w = 0) through a piecewise-linear
 * network.  The value rows' adjoint starts at 0 and stays 0 (dense, conv and pool are
 * linear in it; an activation adds only gda sigma'' dz, and sigma'' = 0), so only the n
 * tangent rows are carried: half the GEMMs of the general backward, whose value-row
 * halves would only add exact zeros (issue 7).  dS/dx = 0 (the Hessian vanishes). */
static void backward_tangent_only(pf_net *net, const pf_real *params, const pf_real *c,
                                  pf_real *grad, pf_real *gX)
{
    const int n = net->n;
    pf_real *G = net->gA, *Gn = net->gB;
    memcpy(G, c, sizeof(pf_real) * (size_t)n); /* rows [0, n): the tangent adjoints */
    for (int l = net->n_layers - 1; l >= 0; l--) {
        const pf_layer *L = &net->layers[l];
        const pf_real *At = net->buf[l] + (size_t)n * L->in_dim; /* tangent rows of the input */
        const int need_in = l > 0;
        const double t_layer = omp_get_wtime();
        switch (L->kind) {
        case PF_LAYER_DENSE: /* no value rows: no bias gradient */
            pf_dense_backward(L, params, 0, n, At, G, grad, need_in ? Gn : NULL, &net->flops);
            break;
        case PF_LAYER_ACT: /* gdz = gda sigma'(z), sigma' of the matching value row */
            pf_act_backward(L, n, 0, net->buf[l], net->d1[l], NULL, G, Gn);
            break;
        case PF_LAYER_CONV:
            pf_conv_backward(L, params, 0, n, At, G, grad, need_in ? Gn : NULL, &net->flops);
            break;
        case PF_LAYER_POOL: /* tangent row i follows value row i's argmax */
            if (need_in) pf_pool_backward(L, n, 0, pf_net_pool_argmax(net, l), G, Gn);
            break;
        }
        net->seconds[l] += omp_get_wtime() - t_layer;
        if (!need_in) break;
        pf_real *t = G;
        G = Gn;
        Gn = t;
    }
    if (gX) memset(gX, 0, sizeof(pf_real) * (size_t)n * net->in_dim);
}

static void net_backward_impl(pf_net *net, const pf_real *params, const pf_real *w, const pf_real *c,
                                        pf_real *grad, pf_real *gX)
{
    const int n = net->n;
    if (c && !net->tangent) pf_die("pf_net_backward: tangent adjoint without a tangent forward");
    if (!w && c && piecewise_linear(net)) {
        backward_tangent_only(net, params, c, grad, gX);
        return;
    }
    /* Without a tangent adjoint the tangent rows carry nothing: use the value rows only. */
    const int tangent = net->tangent && c != NULL, rows = tangent ? 2 * n : n;
    pf_real *G = net->gA, *Gn = net->gB;
    for (int i = 0; i < n; i++) G[i] = w ? w[i] : 0;
    if (tangent)
        for (int i = 0; i < n; i++) G[n + i] = c[i];
    for (int l = net->n_layers - 1; l >= 0; l--) {
        const pf_layer *L = &net->layers[l];
        const int need_in = l > 0 || gX != NULL;
        const double t_layer = omp_get_wtime();
        switch (L->kind) {
        case PF_LAYER_DENSE:
            pf_dense_backward(L, params, n, rows, net->buf[l], G, grad, need_in ? Gn : NULL,
                           &net->flops);
            break;
        case PF_LAYER_ACT:
            pf_act_backward(L, n, tangent, net->buf[l], net->d1[l], net->d2[l], G, Gn);
            break;
        case PF_LAYER_CONV:
            pf_conv_backward(L, params, n, rows, net->buf[l], G, grad, need_in ? Gn : NULL,
                             &net->flops);
            break;
        case PF_LAYER_POOL:
            if (need_in) pf_pool_backward(L, n, tangent, pf_net_pool_argmax(net, l), G, Gn);
            break;
        }
        net->seconds[l] += omp_get_wtime() - t_layer;
        if (!need_in) return;
        pf_real *t = G;
        G = Gn;
        Gn = t;
    }
    memcpy(gX, G, sizeof(pf_real) * (size_t)n * net->in_dim);
}

void pf_net_value_grad(pf_net *net, const pf_real *params, int n, const pf_real *X,
                       pf_real *f, pf_real *gX)
{
    pf_net_forward(net, params, n, X, NULL, f, NULL);
    pf_net_backward(net, params, net->ones, NULL, NULL, gX); /* w = 1 */
}

void pf_net_forward(pf_net *net, const pf_real *params, int n, const pf_real *X,
                    const pf_real *U, pf_real *f, pf_real *fdot)
{
    const int t = serial_begin();
    net_forward_impl(net, params, n, X, U, f, fdot);
    serial_end(t);
}

void pf_net_forward_tangent(pf_net *net, const pf_real *params, const pf_real *U, pf_real *fdot)
{
    const int t = serial_begin();
    net_forward_tangent_impl(net, params, U, fdot);
    serial_end(t);
}

void pf_net_backward(pf_net *net, const pf_real *params, const pf_real *w, const pf_real *c,
                     pf_real *grad, pf_real *gX)
{
    const int t = serial_begin();
    net_backward_impl(net, params, w, c, grad, gX);
    serial_end(t);
}
