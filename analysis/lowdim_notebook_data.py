#!/usr/bin/python3
"""The data sets the paper code's notebook scores against (issue 19,
docs/notes_lowdim.md section 4), as HDF5 files for `proxflow eval --data FILE.h5:/x`.

The notebook (low_dimensional_result.ipynb) compares 5000 generated points with
`dataGenerator(5000, name, total_dim, {'submnfld_dim': 2, 'random_seed': 100})`:

- Moons: seeded, so exactly reproducible: numpy's legacy global RNG seeded with 100,
  then scikit-learn's make_moons(5000, noise=0.05) (random_state=None draws from that
  RNG), then (x - (0.5, 0.2)) * 4.2.  Its moons are linspace-spaced in t, exactly 2500
  each: a stratified sample, whose Sinkhorn floor is lower than that of iid draws.
- Pinwheel: unseeded in the paper code (np.random.RandomState() from the OS), so no
  draw is the notebook's; this writes the draw of RandomState(SEED) (default 100) with
  the same steps (1000 points per arm, radial N(1, 0.3^2), tangential N(0, 0.1^2),
  angle 2 pi k/5 + 0.25 exp(r), times 1.4, permuted).

Both cast to float32 as the paper code does, then written zero-padded into R^d
([5000, d], the first two coordinates the set: the paper code's embedding and the
table configs' `embedding = pad`).  Files: OUT_DIR/{moons,pinwheel}_d{2,7,12}.h5,
dataset /x.  Needs scikit-learn for Moons (Debian: python3-sklearn); without it only
the Pinwheel files are written, and the exit status is 3."""
import argparse
import os
import sys

import h5py
import numpy as np


def moons(n, seed):
    import sklearn.datasets
    np.random.seed(seed)
    x = sklearn.datasets.make_moons(n_samples=n, noise=0.05)[0]
    return ((x - np.array([0.5, 0.2])) * 7 * 0.6).astype(np.float32)


def pinwheel(n, seed):
    rng = np.random.RandomState(seed)
    per = n // 5
    k = np.repeat(np.arange(5), per)
    rs = rng.randn(5 * per, 2) * np.array([0.3, 0.1])
    rs[:, 0] += 1.0
    a = 2 * np.pi * k / 5 + 0.25 * np.exp(rs[:, 0])
    c, s = np.cos(a), np.sin(a)
    # the row vector (r, s) times [[cos a, -sin a], [sin a, cos a]]
    pts = np.stack([rs[:, 0] * c + rs[:, 1] * s, -rs[:, 0] * s + rs[:, 1] * c], 1)
    return (2 * 0.7 * rng.permutation(pts)).astype(np.float32)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out_dir")
    ap.add_argument("--n", type=int, default=5000, help="points (default 5000, the notebook's)")
    ap.add_argument("--seed", type=int, default=100, help="seed (default 100, the notebook's)")
    ap.add_argument("--dims", default="2,7,12", help="ambient dimensions (default 2,7,12)")
    a = ap.parse_args(argv)
    os.makedirs(a.out_dir, exist_ok=True)
    sets = {"pinwheel": lambda: pinwheel(a.n, a.seed)}
    status = 0
    try:
        import sklearn.datasets  # noqa: F401
        sets["moons"] = lambda: moons(a.n, a.seed)
    except ImportError:
        print("lowdim_notebook_data: no scikit-learn (python3-sklearn): the Moons files are not written",
              file=sys.stderr)
        status = 3
    for name, make in sets.items():
        z = make()
        for d in (int(x) for x in a.dims.split(",")):
            x = np.zeros((len(z), d), np.float32)
            x[:, :2] = z
            path = os.path.join(a.out_dir, f"{name}_d{d}.h5")
            with h5py.File(path + ".tmp", "w") as f:
                f["x"] = x
                f.attrs["source"] = f"the paper code's notebook data: {name}, seed {a.seed}, zero-padded"
            os.replace(path + ".tmp", path)
            print(f"wrote {path}")
    return status


if __name__ == "__main__":
    sys.exit(main())
