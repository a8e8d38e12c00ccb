#!/usr/bin/python3
"""Independent check of a `proxflow train --dump-state` file (docs/OUTPUT.md):
recompute both losses with numpy from the dumped weights and inputs, and their
parameter gradients by central finite differences of that numpy implementation.
MLP networks, f = kl (DV), any mode.  usage: check_dump.py DUMP.h5"""
import sys
import h5py
import numpy as np

ACT = {
    "tanh": (np.tanh, lambda z: 1 - np.tanh(z) ** 2),
    "relu": (lambda z: np.maximum(z, 0), lambda z: (z > 0).astype(float)),
    "softplus": (lambda z: np.logaddexp(0, z), lambda z: 1 / (1 + np.exp(-z))),
    "silu": (lambda z: z / (1 + np.exp(-z)),
             lambda z: 1 / (1 + np.exp(-z)) * (1 + z * (1 - 1 / (1 + np.exp(-z))))),
}


def parse_ini(text):
    if isinstance(text, bytes):
        text = text.decode()
    cfg, sec = {}, ""
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("["):
            sec = line[1:-1]
        elif "=" in line and not line.startswith((";", "#")):
            k, v = line.split("=", 1)
            cfg[sec + "." + k.strip()] = v.strip()
    return cfg


class MLP:
    """Dense layers, W [out x in] row-major then b [out] per layer (net.c's layout)."""

    def __init__(self, din, widths, act):
        self.sizes = [din] + widths + [1]
        self.sig, self.dsig = ACT[act]

    def unpack(self, p):
        out, o = [], 0
        for a, b in zip(self.sizes[:-1], self.sizes[1:]):
            W = p[o:o + a * b].reshape(b, a); o += a * b
            c = p[o:o + b]; o += b
            out.append((W, c))
        return out

    def value_grad(self, p, X):
        layers, acts, zs = self.unpack(p), [X], []
        for k, (W, b) in enumerate(layers):
            z = acts[-1] @ W.T + b
            zs.append(z)
            acts.append(self.sig(z) if k < len(layers) - 1 else z)
        g = np.ones((X.shape[0], 1))
        for k in range(len(layers) - 1, -1, -1):
            W, _ = layers[k]
            if k < len(layers) - 1:
                g = g * self.dsig(zs[k])
            g = g @ W
        return acts[-1][:, 0], g


def main(path):
    f = h5py.File(path, "r")
    cfg = parse_ini(f.attrs["config"])
    attr = lambda k: f.attrs[k].decode() if isinstance(f.attrs[k], bytes) else f.attrs[k]
    assert attr("f") == "kl", "check_dump.py implements f = kl"
    N, d, nt = int(f.attrs["N"]), int(f.attrs["d"]), int(f.attrs["steps"])
    h, lam, L, mu = (float(f.attrs[k]) for k in ("h", "lambda", "L", "mu"))
    mode = attr("mode")
    kinetic, penalty = mode in ("w1w2", "w2"), mode in ("w1w2", "w1")
    wid = lambda s: [int(x) for x in cfg[s + ".widths"].split(",")]
    phi = MLP(d + 1, wid("potential"), cfg["potential.activation"])
    gam = MLP(d, wid("discriminator"), cfg["discriminator.activation"])
    th0, ps0 = f["potential_params"][...], f["discriminator_params"][...]
    D, G = f["discriminator_step"], f["potential_step"]

    def simulate(th, X, keep=False):
        gs = []
        for k in range(nt):
            _, g = phi.value_grad(th, np.hstack([X, np.full((len(X), 1), k * h)]))
            gs.append(g[:, :d])
            X = X - h / lam * g[:, :d]
        return X, gs

    XT_d, _ = simulate(th0, D["reference"][...])
    Y, S = D["data"][...], D["interp"][...][:, None]

    def loss_d(ps):
        gx, _ = gam.value_grad(ps, XT_d)
        gy, _ = gam.value_grad(ps, Y)
        m = gy.max()
        lam_f = m + np.log(np.mean(np.exp(gy - m)))
        l = -(gx.mean() - lam_f)
        if penalty:
            _, gh = gam.value_grad(ps, S * Y + (1 - S) * XT_d)
            l += mu * np.mean(np.maximum((gh ** 2).sum(1) - L * L, 0))
        return l

    def loss_g(th):
        XT, gs = simulate(th, G["reference"][...])
        l = gam.value_grad(ps0, XT)[0].mean()
        if kinetic:
            l += h / (2 * lam * N) * sum((g ** 2).sum() for g in gs)
        return l

    def fd(fun, p, eps=1e-6):
        g = np.zeros_like(p)
        for k in range(len(p)):
            q = p.copy(); q[k] += eps; a = fun(q)
            q[k] -= 2 * eps; b = fun(q)
            g[k] = (a - b) / (2 * eps)
        return g

    fails = 0
    for name, fun, p, grp in (("discriminator", loss_d, ps0, D), ("potential", loss_g, th0, G)):
        l_np, l_pf = fun(p), float(grp.attrs["loss"])
        rel = abs(l_np - l_pf) / max(abs(l_np), 1e-12)
        g_np, g_pf = fd(fun, p), grp["grad"][...]
        grel = np.linalg.norm(g_np - g_pf) / max(np.linalg.norm(g_np), 1e-12)
        ok = rel <= 1e-10 and grel <= 1e-6
        fails += not ok
        print(f"{'ok  ' if ok else 'FAIL'} {name} step: loss numpy {l_np:.15e} proxflow {l_pf:.15e} "
              f"(rel {rel:.1e}); gradient vs numpy finite differences rel {grel:.1e} ({len(p)} parameters)")
    return fails


if __name__ == "__main__":
    sys.exit(1 if main(sys.argv[1]) else 0)
