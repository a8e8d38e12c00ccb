#!/usr/bin/python3
"""proxflow's algorithm written plainly with PyTorch autograd: an independent reference.

    reference_torch.py check DUMP.h5 [DUMP.h5 ...] [--tol 1e-8] [--threads N]
        Read `proxflow train CONFIG --dump-state DUMP.h5` files (docs/OUTPUT.md), rebuild
        both networks from the dumped parameters, recompute both losses and EVERY
        gradient (potential, discriminator, nu) with autograd from the dumped inputs,
        and compare.  Exit status 0 when every quantity agrees within --tol.

    reference_torch.py bench CONFIG.ini [--set section.key=value ...] [--iterations N]
                       [--warmup W] [--threads N] [--float]
        Train the config's networks for W + N iterations (SPEC §1.7) and print seconds
        per iteration, samples per second and the peak resident memory, as one line
        `TORCH key=value ...` (bench/compare_torch.py reads it).

The mathematics is SPEC §1 (the Euler flow x^{n+1} = x^n - (h/lambda) grad_x phi(x^n, t_n),
the discriminator loss with the one-sided penalty on |grad gamma(xhat)|^2, the potential
loss with the kinetic term, Donsker-Varadhan and the Legendre forms with nu), the networks
SPEC §2; double precision on the CPU unless --float.  Nothing here is shared with the C
code: second derivatives come from autograd (create_graph=True), not from tangents.

Relative error of a tensor (check): max|proxflow - torch| / max|torch|, per parameter
tensor (each layer's weight and bias, and nu); the denominator is floored at 1e-4 times
the largest gradient entry of the same network, so a tensor whose gradient is zero up to
roundoff (the output bias under Donsker-Varadhan, which is shift invariant) is compared
at the network's scale, not its own roundoff.  Losses: |proxflow - torch| / |torch|.
"""
import argparse
import configparser
import gzip
import math
import os
import resource
import struct
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

# ---- configuration: proxflow's INI keys and defaults (docs/CONFIG.md) -------------------

NET_DEFAULTS = {"arch": "mlp", "widths": "64,64,64", "lr": "5e-4", "beta1": "0.5",
                "beta2": "0.9", "eps": "1e-8", "channels": "8,8", "kernel": "7"}
DEFAULTS = {
    "flow": {"mode": "w1w2", "lambda": "1.0", "T": "1.0", "steps": "10", "f": "kl",
             "alpha": "2.0", "kinetic_reference": "false"},
    "lipschitz": {"L": "1.0", "mu": "1.0"},
    "potential": dict(NET_DEFAULTS, activation="tanh", lr="5e-4"),
    "discriminator": dict(NET_DEFAULTS, activation="relu", lr="1e-4"),
    "train": {"iterations": "1000", "batch": "256", "n_disc": "5", "seed": "1", "threads": "0"},
    "data": {"source": "8gaussians", "dim": "8", "manifold_dim": "1", "noise": "0.0",
             "scale": "1.0", "n_train": "0", "reference": "normal", "reference_scale": "1.0",
             "reference_low": "0.0", "reference_high": "1.0"},
    "output": {"dir": "runs/proxflow", "log_every": "10", "checkpoint_every": "100",
               "trajectory_every": "0", "keep": "3", "n_traj": "64", "diag_batch": "256"},
}


def load_config(text, where, sets=()):
    """INI text -> {section: {key: str}} over the defaults.  Keys this file does not know
    (proxflow's config grows) are kept and unused: a dump's resolved config lists them all."""
    ini = configparser.ConfigParser(interpolation=None, inline_comment_prefixes=(";",),
                                    comment_prefixes=(";", "#"), empty_lines_in_values=False)
    ini.optionxform = str  # keys are case-sensitive (flow.T, lipschitz.L)
    ini.read_string(text, source=where)
    cfg = {sec: dict(keys) for sec, keys in DEFAULTS.items()}
    items = [(s, k, v) for s in ini.sections() for k, v in ini.items(s)]
    for opt in sets:
        key, _, value = opt.partition("=")
        sec, _, k = key.strip().partition(".")
        items.append((sec, k, value.strip()))
    for sec, k, v in items:
        cfg.setdefault(sec, {})[k] = v
    return cfg


class Setup:
    """The resolved numbers of a config that the algorithm uses."""

    def __init__(self, cfg):
        fl = cfg["flow"]
        self.cfg = cfg
        self.mode, self.f = fl["mode"], fl["f"]
        self.lam, self.T, self.steps = float(fl["lambda"]), float(fl["T"]), int(fl["steps"])
        self.h = self.T / self.steps
        self.alpha = float(fl["alpha"])
        self.kinetic_reference = fl["kinetic_reference"].lower() in ("true", "1")
        self.L, self.mu = float(cfg["lipschitz"]["L"]), float(cfg["lipschitz"]["mu"])
        self.kinetic = self.mode in ("w1w2", "w2")           # SPEC §1.6
        self.penalty = self.mode in ("w1w2", "w1") and self.mu > 0
        tr = cfg["train"]
        self.N, self.n_disc, self.seed = int(tr["batch"]), int(tr["n_disc"]), int(tr["seed"])


# ---- networks (SPEC §2) -----------------------------------------------------------------

class Softplus(nn.Module):
    """log(1 + e^z) in the form that neither overflows nor switches to z above a threshold
    (torch's F.softplus returns z for z > 20, proxflow does not)."""

    def forward(self, z):
        return F.relu(z) + torch.log1p(torch.exp(-z.abs()))


ACTIVATIONS = {"relu": nn.ReLU, "tanh": nn.Tanh, "silu": nn.SiLU, "softplus": Softplus}


def int_list(s):
    return [int(v) for v in s.split(",")]


class Net(nn.Module):
    """MLP, or CNN = [conv k x k SAME -> act -> max-pool 2x2] blocks flattened channel-major
    and an MLP head; phi gets t as one more input of the head.  Scalar linear output.
    The order of parameters() (per layer: weight, then bias) is proxflow's buffer layout,
    and nn.Linear's weight [out, in] and nn.Conv2d's [out, in, ky, kx] are row-major in
    the same order as net.c / conv.c, so a flat vector maps onto them one to one."""

    def __init__(self, sec, d, image_shape, time_input):
        super().__init__()
        act = ACTIVATIONS[sec["activation"]]
        self.time_input = time_input
        self.trunk, feat = None, d
        if sec["arch"] == "cnn":
            H, W, C = image_shape
            if H <= 0:
                sys.exit("arch = cnn needs image data")
            self.image = (C, H, W)
            k, blocks = int(sec["kernel"]), []
            for c_out in int_list(sec["channels"]):
                blocks += [nn.Conv2d(C, c_out, k, padding=k // 2), act(), nn.MaxPool2d(2)]
                C, H, W = c_out, H // 2, W // 2
            self.trunk = nn.Sequential(*blocks, nn.Flatten())
            feat = C * H * W
        head, prev = [], feat + (1 if time_input else 0)
        for w in int_list(sec["widths"]):
            head += [nn.Linear(prev, w), act()]
            prev = w
        head.append(nn.Linear(prev, 1))
        self.head = nn.Sequential(*head)

    def forward(self, x, t=None):
        z = x if self.trunk is None else self.trunk(x.view(-1, *self.image))
        if self.time_input:
            z = torch.cat([z, torch.full((z.shape[0], 1), t, dtype=z.dtype)], 1)
        return self.head(z).squeeze(1)

    def glorot_(self):
        """Glorot-normal weights, zero biases (SPEC §2)."""
        for m in self.modules():
            if isinstance(m, (nn.Linear, nn.Conv2d)):
                nn.init.xavier_normal_(m.weight)
                nn.init.zeros_(m.bias)
        return self


class Discriminator(nn.Module):
    """gamma, plus the trainable shift nu of the Legendre forms.  nu sits in a child module
    registered after the network (a module yields its own parameters before its
    children's), so it is the last entry of the flat parameter vector, as in proxflow."""

    def __init__(self, setup, d, image_shape):
        super().__init__()
        self.net = Net(setup.cfg["discriminator"], d, image_shape, False)
        self.legendre = nn.ParameterDict({"nu": nn.Parameter(torch.zeros(()))}) \
            if setup.f != "kl" else None

    @property
    def nu(self):
        return self.legendre["nu"]

    def forward(self, x):
        return self.net(x)


# ---- the divergence term Lambda_f (SPEC §1.3) ---------------------------------------------

def fstar(setup, s):
    """Convex conjugate f*(s) of the Legendre forms (docs/DESIGN.md)."""
    if setup.f == "kl_legendre":
        return torch.exp(s - 1)
    if setup.f == "reverse_kl":
        if not bool((s < 0).all()):
            raise FloatingPointError(f"reverse_kl: gamma(y) - nu = {s.max().item():g} is "
                                     "outside the domain of f* (s < 0)")
        return -1 - torch.log(-s)
    if setup.f == "alpha":
        a = setup.alpha
        u = F.relu((a - 1) * s) ** (1 / (a - 1))
        return 1 / (a * (a - 1)) + (a - 1) / a * s * u
    raise ValueError(setup.f)


def divergence_term(setup, gamma, gy):
    if setup.f == "kl":  # Donsker-Varadhan: log (1/N) sum exp gamma(y), stably
        return torch.logsumexp(gy, 0) - math.log(gy.shape[0])
    return gamma.nu + fstar(setup, gy - gamma.nu).mean()


# ---- flow and losses (SPEC §1.2, §1.4, §1.5) -------------------------------------------

def grad_x(net, x, t, create_graph):
    """grad_x net(x, t) row by row (rows are independent: the gradient of the sum)."""
    y = net(x) if t is None else net(x, t)
    return torch.autograd.grad(y.sum(), x, create_graph=create_graph)[0]


def simulate(setup, phi, x):
    """x^{Nt} of the Euler flow, without parameter gradients (discriminator step)."""
    for k in range(setup.steps):
        with torch.enable_grad():
            xk = x.detach().requires_grad_(True)
            g = grad_x(phi, xk, k * setup.h, False)
        x = (xk - setup.h / setup.lam * g).detach()
    return x


def discriminator_loss(setup, gamma, xT, y, s):
    """l_D = -(mean gamma(x^{Nt}) - Lambda) + mu mean relu(|grad gamma(xhat)|^2 - L^2)."""
    n = xT.shape[0]
    out = gamma(torch.cat([xT, y]))
    loss = -(out[:n].mean() - divergence_term(setup, gamma, out[n:]))
    penalty = torch.zeros((), dtype=xT.dtype)
    if setup.penalty:
        xh = (s[:, None] * y + (1 - s[:, None]) * xT).requires_grad_(True)
        gh = grad_x(gamma, xh, None, True)
        penalty = F.relu(gh.pow(2).sum(1) - setup.L ** 2).mean()
        loss = loss + setup.mu * penalty
    return loss, penalty


def potential_loss(setup, phi, gamma, x0):
    """l_G = mean gamma(x^{Nt}) + lambda sum_n h mean |v^n|^2 / 2, v = -grad phi / lambda,
    differentiable through the whole trajectory (create_graph)."""
    x = x0.detach().requires_grad_(True)
    a, sq = setup.h / setup.lam, 0
    for k in range(setup.steps):
        g = grad_x(phi, x, k * setup.h, True)
        x_next = x - a * g
        if setup.kinetic and not setup.kinetic_reference:
            sq = sq + g.pow(2).sum()
        elif setup.kinetic:
            # the reference code's variant: at x^{k+1} (held fixed) with time t_k
            xr = x_next.detach().requires_grad_(True)
            sq = sq + grad_x(phi, xr, k * setup.h, True).pow(2).sum()
        x = x_next
    loss = gamma(x).mean()
    if setup.kinetic:
        loss = loss + setup.h / (2 * setup.lam * x0.shape[0]) * sq
    return loss, x


# ---- check: a --dump-state file ----------------------------------------------------------

def attr(f, k):
    v = f.attrs[k]
    return v.decode() if isinstance(v, bytes) else v


def param_grads(loss, module):
    """d loss / d every parameter; an unused one (phi's output bias: the flow only sees
    grad_x phi) gets zeros."""
    ps = list(module.parameters())
    gs = torch.autograd.grad(loss, ps, allow_unused=True)
    return [torch.zeros_like(p) if g is None else g for p, g in zip(ps, gs)]


def set_flat(module, vec):
    torch.nn.utils.vector_to_parameters(torch.as_tensor(vec, dtype=torch.float64),
                                        module.parameters())


def rel(a, b, floor=0.0):
    """max|a - b| / max(max|b|, floor); 0 when both are exactly zero."""
    a, b = np.asarray(a, dtype=np.float64).ravel(), np.asarray(b, dtype=np.float64).ravel()
    diff, scale = np.max(np.abs(a - b)), max(np.max(np.abs(b)), floor)
    return 0.0 if diff == 0 else diff / scale if scale > 0 else math.inf


FLOOR = 1e-4  # of the network's largest gradient entry: the smallest scale a tensor is compared at


def compare_grads(name, module, ours, theirs, tol, lines):
    """Per parameter tensor relative error (see the module's docstring); returns the worst."""
    ours_flat = torch.cat([g.reshape(-1) for g in ours]).numpy()
    floor = FLOOR * np.max(np.abs(ours_flat))
    worst, off = 0.0, 0
    for (pname, p), g in zip(module.named_parameters(), ours):
        n = p.numel()
        e = rel(theirs[off:off + n], g.reshape(-1).numpy(), floor)
        worst = max(worst, e)
        if os.environ.get("REFERENCE_TORCH_VERBOSE"):
            lines.append(f"    {name} {pname} {tuple(p.shape)}: rel {e:.1e}, "
                         f"max|torch| {np.max(np.abs(g.numpy())):.2e}")
        if e > tol:
            lines.append(f"    {name} {pname} {tuple(p.shape)}: rel {e:.1e} > {tol:g}")
        off += n
    if off != len(theirs):
        lines.append(f"    {name}: proxflow has {len(theirs)} parameters, torch {off}")
        worst = math.inf
    return worst


def check_dump(path, tol):
    import h5py
    with h5py.File(path, "r") as f:
        setup = Setup(load_config(attr(f, "config"), path))
        d = int(f.attrs["d"])
        shape = tuple(int(v) for v in f.attrs["image_shape"]) if "image_shape" in f.attrs else (0, 0, 0)
        for k, mine in (("N", setup.N), ("steps", setup.steps), ("lambda", setup.lam)):
            assert float(f.attrs[k]) == mine, f"{path}: attribute {k} != config"
        th, ps = f["potential_params"][...], f["discriminator_params"][...]
        nu_index = len(ps) - 1 if setup.f != "kl" else -1  # where Discriminator keeps nu
        assert float(f.attrs["nu_index"]) == nu_index, f"{path}: nu_index is not {nu_index}"
        D = {k: f["discriminator_step"][k][...] for k in ("reference", "data", "interp", "grad")}
        D.update(loss=float(f["discriminator_step"].attrs["loss"]),
                 penalty=float(f["discriminator_step"].attrs["penalty"]))
        G = {k: f["potential_step"][k][...] for k in ("reference", "terminal", "grad")}
        G["loss"] = float(f["potential_step"].attrs["loss"])
        precision = attr(f, "precision")

    phi = Net(setup.cfg["potential"], d, shape, True)
    gamma = Discriminator(setup, d, shape)
    n_psi = sum(p.numel() for p in gamma.parameters())
    if n_psi != len(ps) or sum(p.numel() for p in phi.parameters()) != len(th):
        return False, [f"{path}: parameter counts differ (torch phi "
                       f"{sum(p.numel() for p in phi.parameters())}, gamma {n_psi}; proxflow "
                       f"{len(th)}, {len(ps)})"]
    set_flat(phi, th)
    set_flat(gamma, ps)
    T = lambda a: torch.as_tensor(a, dtype=torch.float64)  # noqa: E731
    lines, errs = [], {}

    # discriminator step: x^{Nt} from the dumped reference, then l_D and d l_D / d psi
    xT = simulate(setup, phi, T(D["reference"]))
    loss_d, pen = discriminator_loss(setup, gamma, xT, T(D["data"]), T(D["interp"]))
    gd = param_grads(loss_d, gamma)
    errs["loss_d"] = rel(D["loss"], loss_d.item())
    errs["penalty"] = rel(D["penalty"], pen.item())
    errs["grad_psi"] = compare_grads("grad psi", gamma, gd, D["grad"], tol, lines)

    # potential step: l_G through the trajectory, d l_G / d theta (second order)
    loss_g, xT = potential_loss(setup, phi, gamma, T(G["reference"]))
    gp = param_grads(loss_g, phi)
    errs["terminal"] = rel(G["terminal"], xT.detach().numpy())
    errs["loss_g"] = rel(G["loss"], loss_g.item())
    errs["grad_theta"] = compare_grads("grad theta", phi, gp, G["grad"], tol, lines)

    ok = all(e <= tol for e in errs.values())
    if setup.penalty and D["penalty"] == 0:
        lines.append("    note: no interpolate has |grad gamma| > L: the penalty's gradient is untested")
    what = (f"{setup.cfg['potential']['arch']} mode={setup.mode} f={setup.f}"
            + (" kinetic_reference" if setup.kinetic_reference else "")
            + f" act={setup.cfg['potential']['activation']}/{setup.cfg['discriminator']['activation']}"
            + f" ({len(th)}+{len(ps)} params, {precision}; penalty {D['penalty']:.3g})")
    lines.insert(0, f"{'ok  ' if ok else 'FAIL'} {os.path.basename(path)}: {what}: "
                 + " ".join(f"{k} {v:.1e}" for k, v in errs.items()))
    return ok, lines


# ---- bench: training iterations of a config ------------------------------------------------

def read_idx(path, scale, n_train):
    """MNIST IDX images (gzip or raw) -> [M, H*W] in [0, scale] and the shape (H, W, 1)."""
    with open(path, "rb") as fh:
        raw = fh.read()
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    magic, = struct.unpack(">I", raw[:4])
    ndim = magic & 0xFF
    dims = struct.unpack(">" + "I" * ndim, raw[4:4 + 4 * ndim])
    x = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims[0], -1)
    if n_train:
        x = x[:n_train]
    shape = (dims[1], dims[2], 1) if ndim == 3 else (0, 0, 0)
    return x.astype(np.float64) / 255 * scale, shape


def open_data(setup, gen):
    """A sampler of data batches for the config's [data] source, and (H, W, C).  Only
    what the benchmarks need: 8gaussians, sphere/circle, MNIST IDX and HDF5 files."""
    dc = setup.cfg["data"]
    src, scale, noise = dc["source"], float(dc["scale"]), float(dc["noise"])
    dtype = torch.get_default_dtype()
    if src == "8gaussians":
        ang = torch.arange(8, dtype=dtype) * math.pi / 4
        centres = 2 * torch.stack([ang.cos(), ang.sin()], 1)

        def draw(n):
            k = torch.randint(8, (n,), generator=gen)
            x = centres[k] + 0.2 * torch.randn(n, 2, generator=gen, dtype=dtype)
            return scale * x + noise * torch.randn(n, 2, generator=gen, dtype=dtype)
        return draw, (0, 0, 0), 2
    if src in ("sphere", "circle"):
        d, k = int(dc["dim"]), 1 if src == "circle" else int(dc["manifold_dim"])
        Q = torch.linalg.qr(torch.randn(d, k + 1, generator=gen, dtype=dtype))[0]

        def draw(n):
            z = torch.randn(n, k + 1, generator=gen, dtype=dtype)
            x = scale * (z / z.norm(dim=1, keepdim=True)) @ Q.T
            return x + noise * torch.randn(n, d, generator=gen, dtype=dtype)
        return draw, (0, 0, 0), d
    if ".h5:" in src or ".hdf5:" in src:
        import h5py
        fname, _, dset = src.partition(":")
        with h5py.File(fname, "r") as f:
            arr = f[dset][...].astype(np.float64) * scale
        n_train = int(dc["n_train"])
        arr = arr[:n_train] if n_train else arr
        shape = (0, 0, 0)
        if arr.ndim >= 3:  # [M, H, W(, C)] stored channel-last -> channel-major rows
            if arr.ndim == 3:
                arr = arr[..., None]
            shape = arr.shape[1:]
            arr = arr.transpose(0, 3, 1, 2)
        rows = torch.as_tensor(arr.reshape(arr.shape[0], -1), dtype=dtype)
    elif os.path.exists(src):
        arr, shape = read_idx(src, scale, int(dc["n_train"]))
        rows = torch.as_tensor(arr, dtype=dtype)
    else:
        sys.exit(f"reference_torch.py: data source '{src}' is not implemented here "
                 "(8gaussians, sphere, circle, MNIST IDX, FILE.h5:/DATASET)")

    def draw(n):
        return rows[torch.randint(rows.shape[0], (n,), generator=gen)]
    return draw, shape, rows.shape[1]


def reference_sampler(setup, d, gen):
    dc, dtype = setup.cfg["data"], torch.get_default_dtype()
    if dc["reference"] == "uniform":
        lo, hi = float(dc["reference_low"]), float(dc["reference_high"])
        return lambda n: lo + (hi - lo) * torch.rand(n, d, generator=gen, dtype=dtype)
    sd = float(dc["reference_scale"])
    return lambda n: sd * torch.randn(n, d, generator=gen, dtype=dtype)


def adam(module, sec):
    return torch.optim.Adam(module.parameters(), lr=float(sec["lr"]),
                            betas=(float(sec["beta1"]), float(sec["beta2"])), eps=float(sec["eps"]))


def bench(args):
    with open(args.config) as fh:
        setup = Setup(load_config(fh.read(), args.config, args.set))
    gen = torch.Generator().manual_seed(setup.seed)
    torch.manual_seed(setup.seed)
    draw_data, shape, d = open_data(setup, gen)
    draw_ref = reference_sampler(setup, d, gen)
    phi = Net(setup.cfg["potential"], d, shape, True).glorot_()
    gamma = Discriminator(setup, d, shape)
    gamma.net.glorot_()
    if setup.f == "reverse_kl":  # start inside f*'s domain, as proxflow does
        with torch.no_grad():
            gamma.nu.fill_(1 + gamma(draw_data(setup.N)).max().item())
    opt_g, opt_d = adam(phi, setup.cfg["potential"]), adam(gamma, setup.cfg["discriminator"])
    theta, psi = list(phi.parameters()), list(gamma.parameters())
    out_bias = gamma.net.head[-1].bias
    N = setup.N

    def iteration():
        for _ in range(setup.n_disc):  # SPEC §1.7 step 1
            xT = simulate(setup, phi, draw_ref(N))
            y, s = draw_data(N), torch.rand(N, generator=gen, dtype=xT.dtype)
            opt_d.zero_grad(set_to_none=True)
            loss_d, _ = discriminator_loss(setup, gamma, xT, y, s)
            if not torch.isfinite(loss_d):
                raise FloatingPointError("non-finite discriminator loss")
            loss_d.backward(inputs=psi)
            if setup.f == "kl":  # DV ignores the output bias (docs/DESIGN.md): keep it at 0
                out_bias.grad.zero_()
            opt_d.step()
        opt_g.zero_grad(set_to_none=True)  # step 2
        loss_g, _ = potential_loss(setup, phi, gamma, draw_ref(N))
        if not torch.isfinite(loss_g):
            raise FloatingPointError("non-finite potential loss")
        loss_g.backward(inputs=theta)
        opt_g.step()

    for _ in range(args.warmup):
        iteration()
    t0 = time.perf_counter()
    for _ in range(args.iterations):
        iteration()
    spi = (time.perf_counter() - t0) / args.iterations
    rss_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    prec = "float" if args.float else "double"
    print(f"config {args.config}: d={d} batch={N} steps={setup.steps} n_disc={setup.n_disc} "
          f"phi {sum(p.numel() for p in theta)} params, gamma {sum(p.numel() for p in psi)} "
          f"params, {prec}, torch {torch.__version__}, {torch.get_num_threads()} thread(s)")
    print(f"  seconds/iteration  {spi:.5f}   ({args.iterations} iterations after {args.warmup})")
    print(f"  samples/second     {N / spi:.0f}")
    print(f"  peak RSS           {rss_kb / 1024:.1f} MiB")
    print(f"TORCH s_per_it={spi:.6f} samples_per_s={N / spi:.1f} maxrss_kb={rss_kb} "
          f"threads={torch.get_num_threads()} precision={prec}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("check", help="recompute a --dump-state file's losses and gradients")
    c.add_argument("dumps", nargs="+")
    c.add_argument("--tol", type=float, default=1e-8)
    b = sub.add_parser("bench", help="time training iterations of a config")
    b.add_argument("config")
    b.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE")
    b.add_argument("--iterations", type=int, default=5)
    b.add_argument("--warmup", type=int, default=2)
    b.add_argument("--float", action="store_true", help="float32 instead of float64")
    for p in (b, c):
        p.add_argument("--threads", type=int, default=0,
                       help="torch.set_num_threads and set_num_interop_threads (0: torch's default)")
    args = ap.parse_args()
    if args.threads > 0:
        torch.set_num_threads(args.threads)
        torch.set_num_interop_threads(args.threads)
    if args.cmd == "check":
        torch.set_default_dtype(torch.float64)
        fails = 0
        for path in args.dumps:
            ok, lines = check_dump(path, args.tol)
            print("\n".join(lines))
            fails += not ok
        print(f"{len(args.dumps) - fails} of {len(args.dumps)} dumps agree within {args.tol:g}")
        return 1 if fails else 0
    torch.set_default_dtype(torch.float32 if args.float else torch.float64)
    bench(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
