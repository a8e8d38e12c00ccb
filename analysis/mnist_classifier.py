#!/usr/bin/python3
"""A small MNIST classifier trained by the project itself, in numpy only: the feature
extractor behind analysis/mnist_quality.py (docs/REPRODUCTION.md, "Sample quality
measure").  Nothing is downloaded: it trains on the digits beside the project.

Data (docs/DATA.md, configs/mnist_*.ini: source ../shared/data/mnist, n_train = 6000):
rows 0..5999 of images-idx3-ubyte.gz are the flow's training digits and train this
classifier too; rows 6000..9999 are the flow's held-out rows and are only tested on,
so the held-out digits are unseen by both.  Pixels are byte / 255, a row is the 28 x 28
image in row-major order (proxflow's channel-major flatten with C = 1).

Network (NHWC, float32; convolutions by im2col and one matrix product):
  conv 3x3 1->16 (pad 1), ReLU, max-pool 2   -> 14 x 14 x 16
  conv 3x3 16->32 (pad 1), ReLU, max-pool 2  ->  7 x  7 x 32
  conv 3x3 32->64 (pad 1), ReLU, max-pool 2 (ceil: zero row/column added) -> 4 x 4 x 64
  dense 1024 -> 64, ReLU                      (the FEATURES: the penultimate layer)
  dense 64 -> 10, softmax cross-entropy
Training: Adam (lr 2e-3, cosine decay to 0), batch 100, 30 epochs, each digit shifted
by a random integer offset in [-2, 2] per axis (zero fill) every epoch, He-normal
initialisation; every random number comes from numpy's PCG64 with --seed.

    OPENBLAS_NUM_THREADS=1 /usr/bin/python3 analysis/mnist_classifier.py train \\
        --data ../shared/data/mnist --seed 1 --out analysis/mnist_classifier.npz
    /usr/bin/python3 analysis/mnist_classifier.py test            # held-out accuracy
    /usr/bin/python3 analysis/mnist_classifier.py gradcheck       # backward vs FD

Determinism: with the same seed, numpy and OpenBLAS build, CPU kernel and
OPENBLAS_NUM_THREADS=1, training repeats bit for bit (the weight checksum printed at the
end is the same).  Another BLAS thread count, BLAS build or CPU may change the last bits
of the matrix products, and over 1800 Adam steps those grow into visibly different
weights with the same accuracy to within about 0.2 %: the committed .npz is THE
classifier, retraining is for checking, not for replacing it.

Module use:  import mnist_classifier as mc; m = mc.load(); f, logits = m.features(x)
(x: [n, 784] in [0, 1], rows as proxflow writes them).
"""
import argparse
import gzip
import hashlib
import os
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
WEIGHTS = os.path.join(HERE, "mnist_classifier.npz")
N_TRAIN = 6000          # [data] n_train of configs/mnist_*.ini
ARCH = {"convs": (16, 32, 64), "kernel": 3, "features": 64, "classes": 10}


# ---- data ---------------------------------------------------------------------------
def default_data_dir():
    """$PROXFLOW_DATA_DIR/mnist, else the configs' ../shared/data/mnist beside the
    project (relative to the project directory, as `[data] source` is)."""
    env = os.environ.get("PROXFLOW_DATA_DIR")
    if env:
        return os.path.join(env, "mnist")
    return os.path.normpath(os.path.join(HERE, "..", "..", "shared", "data", "mnist"))


def read_idx(path):
    """An IDX file of unsigned bytes (gzip or raw) -> uint8 array of its shape."""
    with open(path, "rb") as fh:
        raw = fh.read()
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    if raw[0] != 0 or raw[1] != 0 or raw[2] != 8:
        raise ValueError(f"{path}: not an IDX file of unsigned bytes")
    nd = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * k: 8 + 4 * k], "big") for k in range(nd)]
    off = 4 + 4 * nd
    if len(raw) != off + int(np.prod(dims)):
        raise ValueError(f"{path}: size does not match the header {dims}")
    return np.frombuffer(raw, np.uint8, offset=off).reshape(dims)


def load_mnist(data_dir=None):
    """{"x": float32 [10000, 784] in [0, 1], "y": int64 [10000]} of DIR (the flow's
    data: images-idx3-ubyte.gz, labels-idx1-ubyte.gz)."""
    d = data_dir or default_data_dir()
    img = os.path.join(d, "images-idx3-ubyte.gz")
    lab = os.path.join(d, "labels-idx1-ubyte.gz")
    for p in (img, lab):
        if not os.path.isfile(p):
            raise FileNotFoundError(f"{p} not found (docs/DATA.md; give --data MNIST_DIR, "
                                    f"or set PROXFLOW_DATA_DIR to the directory holding mnist/)")
    x = read_idx(img)
    y = read_idx(lab).astype(np.int64)
    if x.shape[0] != y.shape[0] or x.shape[1:] != (28, 28):
        raise ValueError(f"{d}: images {x.shape} and labels {y.shape} do not match")
    return {"x": (x.reshape(len(x), -1).astype(np.float32) / np.float32(255)), "y": y}


def split(data, n_train=N_TRAIN):
    """Training rows [0, n_train) and held-out rows [n_train, 2 n_train) (or the rest of
    the file), the rows proxflow trains on and holds out (docs/DATA.md, n_train)."""
    n = len(data["y"])
    hi = min(n, 2 * n_train)
    return ((data["x"][:n_train], data["y"][:n_train]),
            (data["x"][n_train:hi], data["y"][n_train:hi]))


# ---- layers (NHWC) ------------------------------------------------------------------
def im2col(x, k):
    """[B, H, W, C] -> [B*H*W, C*k*k] patches of a 'same' k x k convolution."""
    p = k // 2
    xp = np.pad(x, ((0, 0), (p, p), (p, p), (0, 0)))
    win = np.lib.stride_tricks.sliding_window_view(xp, (k, k), axis=(1, 2))  # B,H,W,C,k,k
    B, H, W, C = x.shape
    return win.reshape(B * H * W, C * k * k)


def col2im(dcols, shape, k):
    """The adjoint of im2col: [B*H*W, C*k*k] -> [B, H, W, C]."""
    B, H, W, C = shape
    p = k // 2
    d = dcols.reshape(B, H, W, C, k, k)
    dxp = np.zeros((B, H + 2 * p, W + 2 * p, C), dtype=dcols.dtype)
    for i in range(k):
        for j in range(k):
            dxp[:, i:i + H, j:j + W, :] += d[..., i, j]
    return dxp[:, p:p + H, p:p + W, :]


def pool_forward(a):
    """2 x 2 max-pool, ceil mode (an odd side gets a zero row/column: inputs are ReLU
    outputs, >= 0).  Returns the pooled map and what the backward pass needs."""
    B, H, W, C = a.shape
    if H % 2 or W % 2:
        a = np.pad(a, ((0, 0), (0, H % 2), (0, W % 2), (0, 0)))
    Hp, Wp = a.shape[1] // 2, a.shape[2] // 2
    blocks = a.reshape(B, Hp, 2, Wp, 2, C).transpose(0, 1, 3, 5, 2, 4).reshape(B, Hp, Wp, C, 4)
    idx = blocks.argmax(axis=-1)
    out = np.take_along_axis(blocks, idx[..., None], axis=-1)[..., 0]
    return out, (idx, (B, H, W, C))


def pool_backward(dout, cache):
    idx, (B, H, W, C) = cache
    Hp, Wp = dout.shape[1], dout.shape[2]
    d = np.zeros(dout.shape + (4,), dtype=dout.dtype)
    np.put_along_axis(d, idx[..., None], dout[..., None], axis=-1)
    d = d.reshape(B, Hp, Wp, C, 2, 2).transpose(0, 1, 4, 2, 5, 3).reshape(B, 2 * Hp, 2 * Wp, C)
    return d[:, :H, :W, :]


# ---- the network --------------------------------------------------------------------
def init_params(rng, arch=ARCH, dtype=np.float32):
    """He-normal weights, zero biases.  Conv weights are [C_in*k*k, C_out] (the im2col
    column order C, kh, kw)."""
    k = arch["kernel"]
    P = {}
    cin, side = 1, 28
    for li, cout in enumerate(arch["convs"]):
        fan = cin * k * k
        P[f"conv{li}_w"] = (rng.standard_normal((fan, cout)) * np.sqrt(2.0 / fan)).astype(dtype)
        P[f"conv{li}_b"] = np.zeros(cout, dtype)
        cin, side = cout, (side + 1) // 2
    flat = cin * side * side
    F = arch["features"]
    P["fc_w"] = (rng.standard_normal((flat, F)) * np.sqrt(2.0 / flat)).astype(dtype)
    P["fc_b"] = np.zeros(F, dtype)
    P["out_w"] = (rng.standard_normal((F, arch["classes"])) * np.sqrt(1.0 / F)).astype(dtype)
    P["out_b"] = np.zeros(arch["classes"], dtype)
    return P


def forward(P, x, arch=ARCH, keep=False):
    """x [B, 784] -> (features [B, F] (post-ReLU), logits [B, classes], caches)."""
    k = arch["kernel"]
    a = x.reshape(-1, 28, 28, 1).astype(P["fc_w"].dtype, copy=False)
    caches = []
    for li in range(len(arch["convs"])):
        cols = im2col(a, k)
        z = cols @ P[f"conv{li}_w"] + P[f"conv{li}_b"]
        B, H, W, _ = a.shape
        z = z.reshape(B, H, W, -1)
        r = np.maximum(z, 0)
        pooled, pc = pool_forward(r)
        if keep:
            caches.append((cols, a.shape, z > 0, pc))
        a = pooled
    flat = a.reshape(a.shape[0], -1)
    h = flat @ P["fc_w"] + P["fc_b"]
    f = np.maximum(h, 0)
    logits = f @ P["out_w"] + P["out_b"]
    if keep:
        caches.append((flat, a.shape, h > 0, f))
    return f, logits, caches


def softmax_xent(logits, y):
    """Mean cross-entropy and its gradient with respect to the logits."""
    z = logits - logits.max(axis=1, keepdims=True)
    e = np.exp(z)
    p = e / e.sum(axis=1, keepdims=True)
    n = len(y)
    loss = -np.mean(np.log(p[np.arange(n), y] + np.finfo(p.dtype).tiny))
    g = p.copy()
    g[np.arange(n), y] -= 1
    return float(loss), g / n


def backward(P, caches, dlogits, arch=ARCH):
    k = arch["kernel"]
    G = {}
    flat, pshape, hmask, f = caches[-1]
    G["out_w"] = f.T @ dlogits
    G["out_b"] = dlogits.sum(0)
    dh = (dlogits @ P["out_w"].T) * hmask
    G["fc_w"] = flat.T @ dh
    G["fc_b"] = dh.sum(0)
    da = (dh @ P["fc_w"].T).reshape(pshape)
    for li in reversed(range(len(arch["convs"]))):
        cols, ashape, zmask, pc = caches[li]
        dz = pool_backward(da, pc) * zmask
        dz = dz.reshape(-1, dz.shape[-1])
        G[f"conv{li}_w"] = cols.T @ dz
        G[f"conv{li}_b"] = dz.sum(0)
        if li > 0:
            da = col2im(dz @ P[f"conv{li}_w"].T, ashape, k)
    return G


# ---- the trained classifier ---------------------------------------------------------
class Classifier:
    def __init__(self, P, arch, meta):
        self.P, self.arch, self.meta = P, arch, meta

    def features(self, x, batch=500):
        """x [n, 784] (rows in [0, 1]) -> (features float64 [n, F], logits [n, 10])."""
        x = np.asarray(x, dtype=np.float32).reshape(len(x), -1)
        if x.shape[1] != 784:
            raise ValueError(f"the classifier takes 28 x 28 digits (784 values a row), "
                             f"got {x.shape[1]}")
        fs, ls = [], []
        for s in range(0, len(x), batch):
            f, lg, _ = forward(self.P, x[s:s + batch], self.arch)
            fs.append(f)
            ls.append(lg)
        F = self.arch["features"]
        if not fs:
            return np.zeros((0, F)), np.zeros((0, self.arch["classes"]))
        return (np.concatenate(fs).astype(np.float64), np.concatenate(ls).astype(np.float64))

    def predict(self, x):
        return self.features(x)[1].argmax(axis=1)

    def accuracy(self, x, y):
        return float(np.mean(self.predict(x) == y))


def checksum(P):
    """sha256 of the parameters (sorted names, float32 bytes): equal checksums = equal
    weights, bit for bit."""
    h = hashlib.sha256()
    for name in sorted(P):
        h.update(name.encode())
        h.update(np.ascontiguousarray(P[name], dtype=np.float32).tobytes())
    return h.hexdigest()[:16]


def save(path, P, arch, meta):
    arrays = {f"param_{k}": v.astype(np.float32) for k, v in P.items()}
    arrays["arch_convs"] = np.array(arch["convs"], np.int64)
    arrays["arch_kernel"] = np.array(arch["kernel"], np.int64)
    arrays["arch_features"] = np.array(arch["features"], np.int64)
    arrays["arch_classes"] = np.array(arch["classes"], np.int64)
    for k, v in meta.items():
        arrays[f"meta_{k}"] = np.array(v)
    np.savez_compressed(path, **arrays)


def load(path=WEIGHTS):
    """The committed classifier (analysis/mnist_classifier.npz by default)."""
    z = np.load(path)
    P = {k[6:]: z[k] for k in z.files if k.startswith("param_")}
    arch = {"convs": tuple(int(v) for v in z["arch_convs"]), "kernel": int(z["arch_kernel"]),
            "features": int(z["arch_features"]), "classes": int(z["arch_classes"])}
    meta = {k[5:]: z[k][()] for k in z.files if k.startswith("meta_")}
    return Classifier(P, arch, meta)


# ---- training -----------------------------------------------------------------------
def shift_batch(x, rng, max_shift):
    """Each 28 x 28 digit moved by its own integer offset in [-s, s]^2, zero fill."""
    if max_shift <= 0:
        return x
    B = len(x)
    s = max_shift
    img = np.pad(x.reshape(B, 28, 28), ((0, 0), (s, s), (s, s)))
    off = rng.integers(-s, s + 1, size=(B, 2))
    out = np.empty((B, 28, 28), x.dtype)
    for i in range(B):
        r, c = s + off[i, 0], s + off[i, 1]
        out[i] = img[i, r:r + 28, c:c + 28]
    return out.reshape(B, 784)


def train(xtr, ytr, seed=1, epochs=30, batch=100, lr=2e-3, max_shift=2, arch=ARCH,
          log=print, xte=None, yte=None):
    rng = np.random.default_rng(seed)
    P = init_params(rng, arch)
    M = {k: np.zeros_like(v) for k, v in P.items()}
    V = {k: np.zeros_like(v) for k, v in P.items()}
    b1, b2, eps = 0.9, 0.999, 1e-8
    n = len(ytr)
    steps = epochs * (n // batch)
    t = 0
    for ep in range(epochs):
        perm = rng.permutation(n)
        tot = 0.0
        t0 = time.process_time()
        for s in range(0, n - batch + 1, batch):
            idx = perm[s:s + batch]
            xb = shift_batch(xtr[idx], rng, max_shift)
            _, logits, caches = forward(P, xb, arch, keep=True)
            loss, dl = softmax_xent(logits, ytr[idx])
            G = backward(P, caches, dl.astype(np.float32), arch)
            t += 1
            a = lr * 0.5 * (1 + np.cos(np.pi * (t - 1) / steps))
            for k in P:
                M[k] = b1 * M[k] + (1 - b1) * G[k]
                V[k] = b2 * V[k] + (1 - b2) * G[k] * G[k]
                mh = M[k] / (1 - b1 ** t)
                vh = V[k] / (1 - b2 ** t)
                P[k] = (P[k] - np.float32(a) * mh / (np.sqrt(vh) + eps)).astype(np.float32)
            tot += loss * len(idx)
        msg = f"epoch {ep + 1:2d}/{epochs}  loss {tot / n:.4f}  cpu {time.process_time() - t0:.1f} s"
        if xte is not None:
            msg += f"  held-out accuracy {Classifier(P, arch, {}).accuracy(xte, yte):.4f}"
        log(msg)
    return P


def gradcheck(seed=0):
    """The backward pass against central differences, in float64, on a tiny network
    (2 digits-sized inputs, every layer type).  Returns the largest relative error."""
    rng = np.random.default_rng(seed)
    arch = {"convs": (3, 4, 2), "kernel": 3, "features": 5, "classes": 10}
    P = init_params(rng, arch, dtype=np.float64)
    for k in P:  # non-zero biases, so no ReLU sits exactly at its kink
        if k.endswith("_b"):
            P[k] = rng.standard_normal(P[k].shape) * 0.1
    x = rng.random((2, 784))
    y = np.array([3, 7])

    def loss_of(Pq):
        return softmax_xent(forward(Pq, x, arch)[1], y)[0]

    _, logits, caches = forward(P, x, arch, keep=True)
    G = backward(P, caches, softmax_xent(logits, y)[1], arch)
    worst = 0.0
    h = 1e-6
    for k in sorted(P):
        flat = P[k].reshape(-1)
        picks = rng.choice(flat.size, size=min(flat.size, 6), replace=False)
        for i in picks:
            old = flat[i]
            flat[i] = old + h
            lp = loss_of(P)
            flat[i] = old - h
            lm = loss_of(P)
            flat[i] = old
            fd = (lp - lm) / (2 * h)
            an = G[k].reshape(-1)[i]
            err = abs(fd - an) / max(1e-6, abs(fd) + abs(an))
            worst = max(worst, err)
    return worst


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    t = sub.add_parser("train", help="train and write the weights")
    t.add_argument("--data", default=None, help="MNIST directory (default: "
                   "$PROXFLOW_DATA_DIR/mnist, else ../shared/data/mnist beside the project)")
    t.add_argument("--seed", type=int, default=1)
    t.add_argument("--epochs", type=int, default=30)
    t.add_argument("--out", default=WEIGHTS)
    e = sub.add_parser("test", help="held-out accuracy of a weights file")
    e.add_argument("--data", default=None)
    e.add_argument("--weights", default=WEIGHTS)
    e.add_argument("--min-accuracy", type=float, default=None,
                   help="exit 1 when the held-out accuracy is below this")
    g = sub.add_parser("gradcheck", help="backward pass vs finite differences")
    g.add_argument("--tol", type=float, default=1e-6)
    a = ap.parse_args()

    if a.cmd == "gradcheck":
        w = gradcheck()
        print(f"gradcheck: largest relative error of the backward pass against central "
              f"differences {w:.2e} (tolerance {a.tol:g})")
        sys.exit(0 if w < a.tol else 1)

    data = load_mnist(a.data)
    (xtr, ytr), (xte, yte) = split(data)
    if a.cmd == "train":
        threads = os.environ.get("OPENBLAS_NUM_THREADS", "unset")
        print(f"training on rows 0..{len(ytr) - 1}, testing on rows {len(ytr)}.."
              f"{len(ytr) + len(yte) - 1}; seed {a.seed}, {a.epochs} epochs, "
              f"OPENBLAS_NUM_THREADS={threads}, numpy {np.__version__}")
        c0 = time.process_time()
        P = train(xtr, ytr, seed=a.seed, epochs=a.epochs, xte=xte, yte=yte)
        cpu = time.process_time() - c0
        clf = Classifier(P, ARCH, {})
        acc = clf.accuracy(xte, yte)
        meta = {"seed": a.seed, "epochs": a.epochs, "heldout_accuracy": acc,
                "train_accuracy": clf.accuracy(xtr, ytr), "numpy": np.__version__,
                "openblas_threads": threads, "checksum": checksum(P)}
        save(a.out, P, ARCH, meta)
        print(f"held-out accuracy {acc:.4f} ({int(round(acc * len(yte)))}/{len(yte)}), "
              f"training accuracy {meta['train_accuracy']:.4f}, cpu {cpu:.0f} s")
        print(f"weights checksum {meta['checksum']}; wrote {a.out} "
              f"({os.path.getsize(a.out)} bytes)")
    else:
        clf = load(a.weights)
        acc = clf.accuracy(xte, yte)
        pred = clf.predict(xte)
        print(f"{a.weights}: held-out accuracy {acc:.4f} "
              f"({int((pred == yte).sum())}/{len(yte)} of rows {len(ytr)}.."
              f"{len(ytr) + len(yte) - 1}), checksum {checksum(clf.P)}")
        per = [float(np.mean(pred[yte == c] == c)) for c in range(10)]
        print("per class: " + "  ".join(f"{c}:{p:.3f}" for c, p in enumerate(per)))
        if a.min_accuracy is not None and acc < a.min_accuracy:
            print(f"FAIL: held-out accuracy {acc:.4f} < {a.min_accuracy}")
            sys.exit(1)


if __name__ == "__main__":
    main()
