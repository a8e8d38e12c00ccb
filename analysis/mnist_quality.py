#!/usr/bin/python3
"""Sample quality of generated MNIST digits, measured with the project's own classifier
(analysis/mnist_classifier.py, weights analysis/mnist_classifier.npz; nothing is
downloaded).  docs/REPRODUCTION.md, "Sample quality measure".

For every sample set it prints
  FD       the Frechet distance between Gaussians fitted to the classifier's
           penultimate-layer features (64 ReLU units) of the set and of the held-out
           comparison digits B (rows 8000..9999 of the MNIST file, 2000 digits that
           neither the flow nor the classifier trained on).  A CLASSIFIER-FEATURE
           Frechet distance, NOT the Inception FID: its values are not comparable with
           published FIDs, only with each other (at the same n: the estimate is biased
           upwards by roughly 1/n).
  H        the entropy of the predicted-class histogram, in BITS (log2; 10 equally
           used classes give log2 10 = 3.32, one class 0);
  >=5%     the number of classes that take at least 5 % of the samples;
  conf     the fraction of samples the classifier puts at probability >= 0.9;
  hist     the predicted-class histogram in percent (digits 0..9);
and, as the two ends of the scale, the same for real held-out digits A (rows
6000..7999: disjoint from B, so real-vs-real is the floor of FD) and for the reference
samples x^0 (rho_0 = uniform [0, 0.5]^784 of configs/mnist_*.ini; the sample file's own
starting points when it stores them, else fresh draws).  Both ends use the same n as
the sample set (at most 2000 for A).

Inputs (any number): a run directory or its run.h5 (/samples/generated), a file written
by `proxflow sample` (/samples, [N, 784]), or, with --proxflow BIN, a checkpoint, which
is sampled with `BIN sample --checkpoint CKPT --n N --seed S --out TMP.h5`.  Rows are
the 28 x 28 image in row-major order (channel-major flatten, C = 1); values are clipped
to [0, 1] before classifying (what an image grid shows) unless --no-clip; the share of
values outside [0, 1] is reported.  With no input it prints the two ends alone.

examples:
  analysis/mnist_quality.py runs/mnist/w1w2 runs/mnist/w1
  analysis/mnist_quality.py samples.h5 --json quality.json
  analysis/mnist_quality.py                 # the two ends of the scale only
  analysis/mnist_quality.py --calibrate     # real digits with known defects
  analysis/mnist_quality.py runs/mnist/w1w2/checkpoints/ckpt_00001000.h5 \\
      --proxflow build-float/proxflow --n 2000 --seed 1

Module use (other scripts):
  import mnist_quality as mq
  q = mq.Quality()                      # classifier + held-out digits, loaded once
  r = q.measure(x)                      # x: [n, 784] -> dict (frechet, entropy_bits, ...)
  ends = q.scale_ends(n)                # {"real": ..., "reference": ...}
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mnist_classifier as mc  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_CONFIG = os.path.join(HERE, "..", "configs", "mnist_w1w2.ini")
N_HALF = 2000           # held-out rows 6000..9999 = A (first half) + B (second half)
CONF_P = 0.9            # "confident" = max softmax probability >= this
SHARE = 0.05            # a class counts when it has >= 5 % of the samples


# ---- the statistics -----------------------------------------------------------------
def gaussian_stats(f):
    """Mean and covariance (ddof 1) of features [n, F], in float64."""
    f = np.asarray(f, dtype=np.float64)
    if len(f) < 2:
        raise ValueError("a Frechet distance needs at least 2 samples")
    return f.mean(axis=0), np.cov(f, rowvar=False)


def _sqrt_psd(S):
    """Symmetric square root of a symmetric positive semi-definite matrix (eigh;
    eigenvalues below zero, from roundoff, are set to zero)."""
    w, V = np.linalg.eigh((S + S.T) / 2)
    return (V * np.sqrt(np.clip(w, 0, None))) @ V.T


def frechet(mu1, S1, mu2, S2):
    """|mu1 - mu2|^2 + tr S1 + tr S2 - 2 tr (S1^1/2 S2 S1^1/2)^1/2.

    tr (S1 S2)^1/2 is computed as the trace of the square root of the SYMMETRIC PSD
    matrix S1^1/2 S2 S1^1/2 (same eigenvalues as S1 S2), by two symmetric
    eigendecompositions: no non-symmetric sqrtm, no complex parts, and singular
    covariances (dead ReLU units, one-class sets) are fine."""
    r = _sqrt_psd(S1)
    M = r @ S2 @ r
    w = np.linalg.eigvalsh((M + M.T) / 2)
    tr_sqrt = float(np.sum(np.sqrt(np.clip(w, 0, None))))
    d = mu1 - mu2
    return max(0.0, float(d @ d + np.trace(S1) + np.trace(S2) - 2 * tr_sqrt))


def softmax(logits):
    z = logits - logits.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def class_stats(logits, classes=10):
    """Predicted-class counts, their entropy in bits, classes with >= 5 %, confident
    share (max probability >= 0.9)."""
    p = softmax(logits)
    pred = p.argmax(axis=1)
    counts = np.bincount(pred, minlength=classes)
    q = counts / max(1, counts.sum())
    nz = q[q > 0]
    return {"histogram": counts.tolist(),
            "entropy_bits": abs(float(-(nz * np.log2(nz)).sum())),
            "classes_ge_5pct": int(np.sum(q >= SHARE)),
            "confident": float(np.mean(p.max(axis=1) >= CONF_P)) if len(p) else float("nan")}


# ---- the measure --------------------------------------------------------------------
class Quality:
    """The classifier, the held-out digits A and B and B's feature statistics."""

    def __init__(self, data_dir=None, weights=mc.WEIGHTS):
        self.clf = mc.load(weights)
        self.weights = weights
        data = mc.load_mnist(data_dir)
        _, (xh, yh) = mc.split(data)
        if len(yh) < 2 * N_HALF:
            raise ValueError(f"need {2 * N_HALF} held-out rows after row {mc.N_TRAIN}, "
                             f"the file has {len(yh)}")
        self.xa, self.ya = xh[:N_HALF], yh[:N_HALF]
        self.xb, self.yb = xh[N_HALF:2 * N_HALF], yh[N_HALF:2 * N_HALF]
        fb, lb = self.clf.features(self.xb)
        self.mu_b, self.S_b = gaussian_stats(fb)
        self.accuracy = self.clf.accuracy(xh, yh)   # all 4000 held-out rows

    def measure(self, x, clip=True, label=""):
        """Quality of digits x [n, 784]: a dict with n, frechet (to B), entropy_bits,
        classes_ge_5pct, confident, histogram, out_of_range (share of values outside
        [0, 1] before clipping), mean_pixel."""
        x = np.asarray(x, dtype=np.float64).reshape(len(x), -1)
        if x.shape[1] != 784:
            raise ValueError(f"{label or 'samples'}: rows of {x.shape[1]} values, the "
                             f"classifier takes 28 x 28 = 784")
        if not np.all(np.isfinite(x)):
            raise ValueError(f"{label or 'samples'}: non-finite values")
        oor = float(np.mean((x < 0) | (x > 1)))
        if clip:
            x = np.clip(x, 0, 1)
        f, logits = self.clf.features(x)
        mu, S = gaussian_stats(f)
        r = {"label": label, "n": int(len(x)), "frechet": frechet(mu, S, self.mu_b, self.S_b)}
        r.update(class_stats(logits))
        r["out_of_range"] = oor
        r["mean_pixel"] = float(x.mean())
        return r

    def scale_ends(self, n, reference=None, low=0.0, high=0.5, seed=0):
        """The two ends of the scale at n samples: real held-out digits A (the first
        min(n, 2000) rows) and reference samples (the given x^0 rows, else n draws of
        uniform [low, high]^784 from numpy's PCG64 with seed)."""
        na = min(n, len(self.xa))
        real = self.measure(self.xa[:na], label=f"real held-out A (rows {mc.N_TRAIN}.."
                                                f"{mc.N_TRAIN + na - 1})")
        if reference is None:
            rng = np.random.default_rng(seed)
            reference = rng.uniform(low, high, size=(n, 784))
            what = f"reference U[{low:g}, {high:g}]^784 (fresh draws)"
        else:
            what = "reference x^0 of the samples"
        ref = self.measure(reference, label=what)
        return {"real": real, "reference": ref}


# ---- inputs -------------------------------------------------------------------------
def is_checkpoint(path):
    import h5py
    try:
        with h5py.File(path, "r") as f:
            return "potential/buffer" in f and "complete" in f.attrs
    except OSError:
        return False


def reference_range(config_text=None, config_path=DEFAULT_CONFIG):
    """[data] reference_low / reference_high of a config (the checkpoint's, else
    configs/mnist_w1w2.ini)."""
    import pfio
    if config_text is None:
        with open(config_path) as fh:
            config_text = fh.read()
    cfg = pfio.parse_config_text(config_text)
    if cfg.get("data.reference", "uniform") != "uniform":
        return None
    return float(cfg.get("data.reference_low", 0)), float(cfg.get("data.reference_high", 1))


def sample_checkpoint(ckpt, proxflow, n, seed, steps=None, np_ranks=1, keep=None):
    """Run `proxflow sample` on a checkpoint; returns the path of the written file."""
    out = keep or os.path.join(tempfile.mkdtemp(prefix="mnist_quality_"), "samples.h5")
    cmd = [proxflow, "sample", "--checkpoint", ckpt, "--n", str(n), "--seed", str(seed),
           "--out", out]
    if steps:
        cmd[6:6] = ["--steps", str(steps)]
    if np_ranks > 1:
        cmd = ["mpirun", "-n", str(np_ranks)] + cmd
    env = dict(os.environ)
    env.setdefault("OMP_NUM_THREADS", "1")
    env.setdefault("OPENBLAS_NUM_THREADS", "1")
    sys.stdout.flush()
    print("+ " + " ".join(cmd), file=sys.stderr, flush=True)
    rc = subprocess.run(cmd, env=env).returncode
    if rc != 0 or not os.path.isfile(out):
        raise SystemExit(f"error: {' '.join(cmd)} exited {rc}")
    return out


def load_input(path, a):
    """-> (label, generated [n, 784], reference rows or None, config text or None)."""
    import h5py
    import pfio
    if not os.path.isdir(path) and is_checkpoint(path):
        if not a.proxflow:
            raise SystemExit(f"error: {path} is a checkpoint: give --proxflow BIN to sample it")
        with h5py.File(path, "r") as f:
            cfg = pfio.text(f.attrs.get("config", ""))
            it = int(f.attrs.get("iteration", -1))
        out = sample_checkpoint(path, a.proxflow, a.n, a.seed, a.steps, a.np, a.keep_samples)
        s = pfio.load_samples_file(out)
        if not a.keep_samples:
            shutil.rmtree(os.path.dirname(out), ignore_errors=True)
        kv = pfio.parse_config_text(cfg)
        # the mode, and the reference code's kinetic term when on (a w1w2 variant)
        mode = kv.get("flow.mode", "?") + (" kinref" if kv.get("flow.kinetic_reference") == "true" else "")
        label = f"{mode} it {it} (sampled, seed {a.seed})"
        return label, s["generated"], s["reference"], cfg
    s = pfio.load_samples_file(path)
    cfg = None
    run_h5 = path if os.path.isfile(path) else os.path.join(path, pfio.RUN_FILE)
    try:
        with h5py.File(run_h5, "r") as f:
            cfg = pfio.text(f.attrs["config"]) if "config" in f.attrs else None
    except OSError:
        pass
    label = s["label"] + (f" it {s['iteration']}" if s.get("iteration") is not None else "")
    return label, s["generated"], s["reference"], cfg


def calibration(q, data_dir=None, seed=0):
    """The measure on sets made from real digits whose defect is known (the
    calibration table of docs/REPRODUCTION.md): the floor at several n, training digits,
    random 2000/2000 splits of the held-out rows, missing classes, noise, blur, shift, a
    mix with reference noise, and the reference itself.  Returns (rows, split FDs)."""
    rng = np.random.default_rng(seed)
    xa, ya = q.xa, q.ya
    rows = [q.measure(xa[:n], label=f"real A, first {n}") for n in (500, 1000, 2000)]
    xtr = mc.split(mc.load_mnist(data_dir))[0][0]
    rows.append(q.measure(xtr[:2000], label="training rows 0..1999 (seen by both)"))
    rows.append(q.measure(xa[ya == 1], label="A, only 1s"))
    rows.append(q.measure(xa[np.isin(ya, [1, 4, 7, 9])], label="A, only 1, 4, 7, 9"))
    for s in (0.1, 0.3):
        rows.append(q.measure(xa + s * rng.standard_normal(xa.shape), label=f"A + N(0, {s}^2) noise"))
    img = xa.reshape(-1, 28, 28)
    p = np.pad(img, ((0, 0), (1, 1), (1, 1)))
    blur = sum(p[:, i:i + 28, j:j + 28] for i in range(3) for j in range(3)) / 9
    rows.append(q.measure(blur.reshape(-1, 784), label="A, 3x3 box blur"))
    shifted = np.pad(img, ((0, 0), (0, 0), (2, 0)))[:, :, :28]
    rows.append(q.measure(shifted.reshape(-1, 784), label="A, shifted 2 px right"))
    rows.append(q.measure(0.5 * xa + 0.5 * rng.uniform(0, 0.5, xa.shape),
                          label="(A + U[0, 0.5]^784) / 2"))
    rows.append(q.scale_ends(2000, seed=seed)["reference"])
    fa, fb = q.clf.features(q.xa)[0], q.clf.features(q.xb)[0]
    fh = np.concatenate([fa, fb])
    splits = []
    for _ in range(10):
        perm = rng.permutation(len(fh))
        m1, S1 = gaussian_stats(fh[perm[:N_HALF]])
        m2, S2 = gaussian_stats(fh[perm[N_HALF:]])
        splits.append(frechet(m1, S1, m2, S2))
    return rows, splits


# ---- output -------------------------------------------------------------------------
def table(rows):
    head = f"{'samples':<46} {'n':>5} {'FD':>8} {'H bits':>6} {'>=5%':>4} {'conf':>5} {'out[0,1]':>8}  hist % (0..9)"
    lines = [head, "-" * len(head)]
    for r in rows:
        tot = max(1, sum(r["histogram"]))
        hist = " ".join(f"{100 * c / tot:2.0f}" for c in r["histogram"])
        lines.append(f"{r['label'][:46]:<46} {r['n']:>5} {r['frechet']:>8.3f} "
                     f"{r['entropy_bits']:>6.3f} {r['classes_ge_5pct']:>4} {r['confident']:>5.3f} "
                     f"{r['out_of_range']:>8.4f}  {hist}")
    return "\n".join(lines)



def shown_path(p):
    """p relative to the working directory when inside it (the project directory), so a
    committed JSON names no machine's paths; else absolute."""
    r = os.path.relpath(p)
    return os.path.abspath(p) if r.startswith("..") else r

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("inputs", nargs="*", help="run directory, run.h5, sample file or checkpoint")
    ap.add_argument("--data", default=None, help="MNIST directory (default: "
                    "$PROXFLOW_DATA_DIR/mnist, else ../shared/data/mnist beside the project)")
    ap.add_argument("--weights", default=mc.WEIGHTS, help="classifier weights (default: the committed ones)")
    ap.add_argument("--proxflow", default=None, help="proxflow binary, to sample checkpoints")
    ap.add_argument("--n", type=int, default=2000, help="samples per checkpoint (default 2000)")
    ap.add_argument("--seed", type=int, default=1, help="proxflow sample --seed (default 1)")
    ap.add_argument("--steps", type=int, default=None, help="proxflow sample --steps")
    ap.add_argument("--np", type=int, default=1, help="ranks for proxflow sample (mpirun -n)")
    ap.add_argument("--keep-samples", default=None, help="where to write the sampled file (one checkpoint)")
    ap.add_argument("--ends-n", type=int, default=2000, help="n of the scale ends with no input")
    ap.add_argument("--calibrate", action="store_true", help="print the measure on real digits "
                    "with known defects (missing classes, noise, blur, ...) and exit")
    ap.add_argument("--no-clip", action="store_true", help="classify values as they are")
    ap.add_argument("--json", default=None, help="also write the results as JSON")
    a = ap.parse_args()

    try:
        q = Quality(a.data, a.weights)
    except (OSError, ValueError) as e:
        raise SystemExit(f"error: {e}")
    print(f"classifier {os.path.relpath(a.weights)}: held-out accuracy "
          f"{q.accuracy:.4f} on rows {mc.N_TRAIN}..{mc.N_TRAIN + 2 * N_HALF - 1}, "
          f"checksum {mc.checksum(q.clf.P)}")
    print(f"FD = classifier-feature Frechet distance (64 penultimate ReLU features; NOT "
          f"the Inception FID) to held-out B, rows {mc.N_TRAIN + N_HALF}.."
          f"{mc.N_TRAIN + 2 * N_HALF - 1}; H in bits (max 3.322)\n")
    if a.calibrate:
        rows, splits = calibration(q, a.data)
        print(table(rows))
        fb = q.clf.features(q.xb)[0]
        print(f"\nFD between random 2000/2000 splits of the held-out rows (10 splits): "
              f"mean {np.mean(splits):.3f}, sd {np.std(splits):.3f}, min {min(splits):.3f}, "
              f"max {max(splits):.3f}")
        print(f"feature units never active on B: {int(np.sum(fb.max(0) == 0))} of "
              f"{fb.shape[1]}; rank of B's covariance {np.linalg.matrix_rank(q.S_b)}")
        return
    groups = []
    for path in a.inputs:
        label, x, ref, cfg = load_input(path, a)
        rr = reference_range(cfg) if ref is None else None
        low, high = rr if rr else (0.0, 0.5)
        try:
            gen = q.measure(x, clip=not a.no_clip, label=label)
            ends = q.scale_ends(len(x), reference=ref, low=low, high=high)
        except ValueError as e:
            raise SystemExit(f"error: {path}: {e}")
        gen["path"] = path
        groups.append({"generated": gen, **ends})
    if not a.inputs:
        low, high = reference_range() or (0.0, 0.5)
        groups.append(q.scale_ends(a.ends_n, low=low, high=high))
    rows = []
    for g in groups:
        rows += [g[k] for k in ("generated", "real", "reference") if k in g]
    print(table(rows))
    if a.json:
        out = {"classifier": {"weights": shown_path(a.weights), "heldout_accuracy": q.accuracy,
                              "checksum": mc.checksum(q.clf.P)},
               "comparison": f"held-out rows {mc.N_TRAIN + N_HALF}..{mc.N_TRAIN + 2 * N_HALF - 1}",
               "frechet": "classifier-feature Frechet distance (not the Inception FID)",
               "entropy_unit": "bits", "clip": not a.no_clip, "sets": groups}
        with open(a.json, "w") as fh:
            json.dump(out, fh, indent=1)
        print(f"wrote {a.json}")


if __name__ == "__main__":
    main()
