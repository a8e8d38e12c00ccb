#!/usr/bin/python3
"""Check the layout of a proxflow run.h5 (SPEC section 4, docs/OUTPUT.md).

usage: check_run_h5.py RUN_H5 [expected_log_count]

Reads the file with h5py only (no C code), so it also checks that a run is readable by
the analysis tools, including while it trains.  Exit status 0 if every check passes,
1 otherwise (each failure printed)."""
import configparser
import re
import sys

import h5py
import numpy as np

# SPEC section 4: these names keep their names and meaning; more may follow.
DIAG_NAMES = ["iteration", "wall_s", "loss_d", "loss_g", "divergence",
              "divergence_half_step", "kinetic", "hj_residual", "hj_terminal",
              "lipschitz_max", "grad_norm_phi", "grad_norm_gamma",
              "seconds_per_iteration", "samples_per_second"]
ROOT_ATTRS = ["version", "git_commit", "created", "ranks", "threads", "seed",
              "precision", "blas_core", "config"]

failures = []


def fail(msg):
    failures.append(msg)
    print("FAIL: " + msg, file=sys.stderr)


def text(v):
    return v.decode() if isinstance(v, (bytes, np.bytes_)) else str(v)


def main():
    if len(sys.argv) not in (2, 3):
        print(__doc__, file=sys.stderr)
        return 2
    path = sys.argv[1]
    expected = int(sys.argv[2]) if len(sys.argv) == 3 else None
    with h5py.File(path, "r") as f:
        # root attributes
        for a in ROOT_ATTRS:
            if a not in f.attrs:
                fail(f"root attribute '{a}' missing")
        if "precision" in f.attrs and text(f.attrs["precision"]) not in ("double", "float"):
            fail(f"precision = {f.attrs['precision']!r}")
        if "blas_core" in f.attrs and not re.fullmatch(r"[A-Za-z0-9_]+", text(f.attrs["blas_core"])):
            fail(f"blas_core = {f.attrs['blas_core']!r}")
        if "created" in f.attrs and not re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ",
                                                      text(f.attrs["created"])):
            fail(f"created = {f.attrs['created']!r} is not ISO-8601 UTC")
        for a in ("ranks", "threads"):
            if a in f.attrs and int(f.attrs[a]) < (1 if a == "ranks" else 0):
                fail(f"{a} = {f.attrs[a]}")

        # /config: one attribute per key, the same values as the INI text
        ini = configparser.ConfigParser(interpolation=None)
        ini.optionxform = str  # keys are case-sensitive (flow.T)
        try:
            ini.read_string(text(f.attrs.get("config", "")))
        except configparser.Error as e:
            fail(f"config attribute is not INI text: {e}")
        if "config" not in f:
            fail("group /config missing")
            cfg = {}
        else:
            cfg = {k: text(v) for k, v in f["config"].attrs.items()}
            if not cfg:
                fail("/config has no attributes")
            for k, v in cfg.items():
                sec, _, key = k.partition(".")
                if not key:
                    fail(f"/config attribute '{k}' is not section.key")
                elif not ini.has_option(sec, key):
                    fail(f"/config '{k}' not in the config text")
                elif ini.get(sec, key).strip() != v.strip():
                    fail(f"/config '{k}' = {v!r}, config text {ini.get(sec, key)!r}")
            for k in ("flow.steps", "output.n_traj", "output.diag_batch", "train.seed"):
                if k not in cfg:
                    fail(f"/config '{k}' missing")
            if "train.seed" in cfg and "seed" in f.attrs and int(cfg["train.seed"]) != int(f.attrs["seed"]):
                fail("seed attribute differs from /config train.seed")

        # /diagnostics: 1-D float64 extendible, all the same length, finite
        lengths = set()
        for name in DIAG_NAMES:
            key = "diagnostics/" + name
            if key not in f:
                fail(f"/{key} missing")
                continue
            ds = f[key]
            if ds.ndim != 1:
                fail(f"/{key} has {ds.ndim} dimensions")
                continue
            if ds.dtype != np.float64:
                fail(f"/{key} dtype {ds.dtype}")
            if ds.maxshape != (None,) or ds.chunks is None:
                fail(f"/{key} is not extendible (maxshape {ds.maxshape}, chunks {ds.chunks})")
            v = ds[()]
            lengths.add(len(v))
            if expected is not None and len(v) != expected:
                fail(f"/{key} has {len(v)} entries, expected {expected}")
            # the quality metrics are NaN where they were not evaluated (docs/OUTPUT.md)
            sparse = key.split("/")[-1] in ("sliced_w1", "mmd2", "manifold_distance")
            if not sparse and not np.all(np.isfinite(v)):
                fail(f"/{key} has non-finite entries: {v}")
        if len(lengths) > 1:
            fail(f"diagnostics of different lengths {sorted(lengths)}")
        if "diagnostics/iteration" in f:
            it = f["diagnostics/iteration"][()]
            if len(it) > 1 and not np.all(np.diff(it) > 0):
                fail(f"iterations not increasing: {it}")

        # /trajectories/iter_NNNNNNNN: float32 [Nt+1, n_traj, d]
        d = int(f.attrs["data_dim"]) if "data_dim" in f.attrs else None
        steps = int(cfg["flow.steps"]) if "flow.steps" in cfg else None
        n_traj = int(cfg["output.n_traj"]) if "output.n_traj" in cfg else None
        ntr = 0
        for name, ds in f.get("trajectories", {}).items():
            ntr += 1
            m = re.fullmatch(r"iter_(\d{8})", name)
            if not m:
                fail(f"/trajectories/{name}: name is not iter_NNNNNNNN")
            if ds.dtype != np.float32 or ds.ndim != 3:
                fail(f"/trajectories/{name}: {ds.dtype} {ds.shape}")
                continue
            want = (steps + 1 if steps else ds.shape[0], n_traj or ds.shape[1], d or ds.shape[2])
            if ds.shape != want:
                fail(f"/trajectories/{name}: shape {ds.shape}, expected [Nt+1, n_traj, d] = {want}")
            if m and int(ds.attrs.get("iteration", -1)) != int(m.group(1)):
                fail(f"/trajectories/{name}: attribute iteration = {ds.attrs.get('iteration')}")
            if not np.all(np.isfinite(ds[()])):
                fail(f"/trajectories/{name}: non-finite values")

        # /samples: generated and reference [diag_batch, d] float32
        nsam = 0
        if "samples" in f:
            nd = int(cfg["output.diag_batch"]) if "output.diag_batch" in cfg else None
            for name in ("generated", "reference"):
                key = "samples/" + name
                if key not in f:
                    fail(f"/{key} missing")
                    continue
                nsam += 1
                ds = f[key]
                want = (nd or ds.shape[0], d or ds.shape[-1])
                if ds.dtype != np.float32 or ds.shape != want:
                    fail(f"/{key}: {ds.dtype} {ds.shape}, expected float32 {want}")
                elif not np.all(np.isfinite(ds[()])):
                    fail(f"/{key}: non-finite values")

    if failures:
        print(f"check_run_h5: {path}: {len(failures)} failure(s)", file=sys.stderr)
        return 1
    print(f"check_run_h5: {path}: OK ({len(lengths) and lengths.pop()} records, "
          f"{ntr} trajectories, {nsam} sample sets)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
