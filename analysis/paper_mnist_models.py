#!/usr/bin/python3
"""Score the paper code's own trained MNIST flows with proxflow's sample-quality measure.

The paper's repository (HyeminGu/Wasserstein-1_Wasserstein-2_generative_flow) stores
the final weights of its 5000-iteration MNIST runs in
assets/MNIST/<MODE>/Flow-GAN-Rep3/result.pickle (MODE = D1P2 = w1w2, D1 = w1, P2 = w2,
No_regul = none). This script is an independent numpy implementation of that code's CNN
potential (7x7 SAME cross-correlation without bias, ReLU, 2x2 max-pool, twice; the
(c, w, h) flatten; t appended; a ReLU head) with a hand-written input gradient, the
forward Euler flow x <- x - (dt / alpha1) grad_x U(x, t_n) from uniform [0, 0.5]^784,
and then analysis/mnist_quality.py on the samples (docs/REPRODUCTION.md).

Nothing is downloaded: clone the repository yourself and name its pickles.

  paper_mnist_models.py score REPO/assets/MNIST/D1P2/Flow-GAN-Rep3/result.pickle ... \
        [--n 2000] [--seed 7] [--json OUT]
  paper_mnist_models.py gradcheck      # the input gradient against central differences

A pickle can run code when loaded: load only the paper's files.
"""
import argparse
import json
import os
import pickle
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


# ---- the network (NHWC, as the paper's TensorFlow code) ------------------------------
def conv_same(x, w):
    """x [N,H,W,C], w [k,k,C,O] -> [N,H,W,O]: cross-correlation, zero padding k//2."""
    n, h, wd, _ = x.shape
    k = w.shape[0]
    p = k // 2
    xp = np.pad(x, ((0, 0), (p, p), (p, p), (0, 0)))
    out = np.zeros((n, h, wd, w.shape[3]), x.dtype)
    for dy in range(k):
        for dx in range(k):
            out += xp[:, dy:dy + h, dx:dx + wd, :] @ w[dy, dx]
    return out


def conv_same_adj(g, w, xshape):
    """The adjoint of conv_same with respect to its input."""
    n, h, wd, c = xshape
    k = w.shape[0]
    p = k // 2
    gp = np.zeros((n, h + 2 * p, wd + 2 * p, c), g.dtype)
    for dy in range(k):
        for dx in range(k):
            gp[:, dy:dy + h, dx:dx + wd, :] += g @ w[dy, dx].T
    return gp[:, p:p + h, p:p + wd, :]


def maxpool(a):
    """2x2 max-pool; the index of the first maximum of each window (as TensorFlow)."""
    n, h, w, c = a.shape
    r = a.reshape(n, h // 2, 2, w // 2, 2, c).transpose(0, 1, 3, 5, 2, 4).reshape(n, h // 2, w // 2, c, 4)
    idx = r.argmax(-1)
    return np.take_along_axis(r, idx[..., None], -1)[..., 0], idx


def maxpool_adj(g, idx, shape):
    n, h, w, c = shape
    r = np.zeros((n, h // 2, w // 2, c, 4), g.dtype)
    np.put_along_axis(r, idx[..., None], g[..., None], -1)
    return r.reshape(n, h // 2, w // 2, c, 2, 2).transpose(0, 1, 4, 2, 5, 3).reshape(n, h, w, c)


def potential(x, t, cw, W, b):
    """U(x, t) [N] and grad_x U [N,28,28,1] for x [N,28,28,1], t [N,1]."""
    n = x.shape[0]
    z1 = conv_same(x, cw[0]); a1 = np.maximum(z1, 0); p1, i1 = maxpool(a1)
    z2 = conv_same(p1, cw[1]); a2 = np.maximum(z2, 0); p2, i2 = maxpool(a2)
    c2, h2, w2 = p2.shape[3], p2.shape[1], p2.shape[2]
    h = p2.transpose(0, 3, 2, 1).reshape(n, -1)  # the paper's perm [3, 2, 1, 0]
    acts, pre = [np.concatenate([h, t], 1)], []
    for l in range(len(W) - 1):
        pre.append(acts[-1] @ W[l] + b[l])
        acts.append(np.maximum(pre[-1], 0))
    u = (acts[-1] @ W[-1] + b[-1])[:, 0]
    g = np.repeat(W[-1].T, n, 0)
    for l in range(len(W) - 2, -1, -1):
        g = (g * (pre[l] > 0)) @ W[l].T
    gh = g[:, :h.shape[1]].reshape(n, c2, w2, h2).transpose(0, 3, 2, 1)
    g = maxpool_adj(gh, i2, a2.shape) * (z2 > 0)
    g = conv_same_adj(g, cw[1], p1.shape)
    g = maxpool_adj(g, i1, a1.shape) * (z1 > 0)
    return u, conv_same_adj(g, cw[0], x.shape)


def flow(x0, cw, W, b, T, dt, alpha1):
    """Forward Euler along v = -(1/alpha1) grad U; also the kinetic energy per step in
    proxflow's form (SPEC §1.5: 1/2 E|v(x^n, t_n)|^2 h) and the out-of-[0,1] share."""
    x, ke, oor = x0.copy(), [], []
    for i in range(int(round(T / dt))):
        t = np.full((x.shape[0], 1), i * dt, x.dtype)
        _, g = potential(x, t, cw, W, b)
        v2 = ((g / alpha1) ** 2).reshape(len(x), -1).sum(1)
        ke.append(float(0.5 * dt * v2.mean()))
        x = x - dt * g / alpha1
        f = x.reshape(len(x), -1)
        oor.append(float(((f < 0) | (f > 1)).mean()))
    return x, ke, oor


def load(path):
    with open(path, 'rb') as fh:
        r = pickle.load(fh)
    # (G_W, G_b, G_conv_W, D_W, D_b, D_conv_W, T, dt, logs..., alpha1, ...): POT_Flow_GAN_CNN.py
    if not isinstance(r, (tuple, list)) or len(r) < 14:
        sys.exit(f'paper_mnist_models: {path}: not a result.pickle of the paper\'s MNIST code')
    return dict(W=r[0], b=r[1], cw=r[2], T=float(r[6]), dt=float(r[7]), alpha1=float(r[13]))


def score(args):
    import mnist_quality as mq
    q = mq.Quality(data_dir=args.data)
    out = {}
    for path in args.pickles:
        m = load(path)
        rng = np.random.RandomState(args.seed)
        x0 = (rng.uniform(0, 1, [args.n, 28, 28, 1]) * 0.5).astype(np.float32)
        xs, kes, oors = [], [], []
        for i in range(0, args.n, 200):
            x, ke, oor = flow(x0[i:i + 200], m['cw'], m['W'], m['b'], m['T'], m['dt'], m['alpha1'])
            xs.append(x); kes.append(np.array(ke) * len(x)); oors.append(np.array(oor) * len(x))
        flat = np.concatenate(xs).reshape(args.n, 784)
        r = q.measure(flat)
        r = {k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in r.items()}
        ke_step = (np.sum(kes, 0) / args.n).tolist()
        r.update(pixel_min=float(flat.min()), pixel_max=float(flat.max()),
                 below_m005=float((flat < -0.05).mean()), above_105=float((flat > 1.05).mean()),
                 kinetic_per_step=ke_step, kinetic=float(sum(ke_step)),
                 out_of_range_per_step=(np.sum(oors, 0) / args.n).tolist(),
                 T=m['T'], dt=m['dt'], alpha1=m['alpha1'], n=args.n, seed=args.seed)
        out[path] = r
        keys = ('frechet', 'entropy_bits', 'classes_ge_5pct', 'out_of_range', 'kinetic')
        print(path)
        print('  ' + ', '.join(f'{k} {r[k]:.4g}' if isinstance(r.get(k), float) else f'{k} {r.get(k)}' for k in keys))
        hist = r.get('histogram')
        if hist is not None:
            print('  classes 0..9 (%): ' + ' '.join(f'{100 * h / args.n:.1f}' for h in hist))
        print(f"  pixels {r['pixel_min']:.2f} .. {r['pixel_max']:.2f}, < -0.05: {r['below_m005']:.3f}, "
              f"> 1.05: {r['above_105']:.4f}; KE per step " + ' '.join(f'{k:.2f}' for k in ke_step))
    if args.json:
        with open(args.json, 'w') as fh:
            json.dump(out, fh, indent=1)


def gradcheck(_args):
    """grad_x U against central differences of U in float64, random weights of the paper's
    shapes (smaller head), on points away from ReLU kinks and pooling ties."""
    rng = np.random.default_rng(3)
    cw = [rng.normal(0, 0.3, (7, 7, 1, 8)), rng.normal(0, 0.1, (7, 7, 8, 8))]
    W = [rng.normal(0, 0.1, (393, 32)), rng.normal(0, 0.2, (32, 32)), rng.normal(0, 0.2, (32, 1))]
    b = [rng.normal(0, 0.1, 32), rng.normal(0, 0.1, 32), rng.normal(0, 0.1, 1)]
    x = rng.uniform(0, 0.5, (2, 28, 28, 1))
    t = np.full((2, 1), 0.7)
    _, g = potential(x, t, cw, W, b)
    worst, eps = 0.0, 1e-6
    for _ in range(40):
        i, r, c = rng.integers(2), rng.integers(28), rng.integers(28)
        xp, xm = x.copy(), x.copy()
        xp[i, r, c, 0] += eps
        xm[i, r, c, 0] -= eps
        fd = (potential(xp, t, cw, W, b)[0][i] - potential(xm, t, cw, W, b)[0][i]) / (2 * eps)
        worst = max(worst, abs(fd - g[i, r, c, 0]) / max(1e-3, abs(fd)))
    print(f'gradcheck: largest relative error of grad_x U over 40 pixels {worst:.2e}')
    if not worst < 1e-5:
        sys.exit('gradcheck: FAILED')


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest='cmd', required=True)
    s = sub.add_parser('score', help='sample the pickles and measure the samples')
    s.add_argument('pickles', nargs='+')
    s.add_argument('--n', type=int, default=2000)
    s.add_argument('--seed', type=int, default=7)
    s.add_argument('--data', help='MNIST directory (default: mnist_classifier.py\'s, ../shared/data/mnist)')
    s.add_argument('--json')
    sub.add_parser('gradcheck', help='the input gradient against central differences')
    a = ap.parse_args()
    {'score': score, 'gradcheck': gradcheck}[a.cmd](a)


if __name__ == '__main__':
    main()
