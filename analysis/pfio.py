#!/usr/bin/python3
"""pfio: a small reader of proxflow run files (SPEC section 4, docs/OUTPUT.md).

Reads run.h5 with h5py only (no C code), also while the run trains:

    import pfio
    run = pfio.load_run("runs/x")            # a run directory or its run.h5
    run.config["flow.lambda"]                 # "1"  (text, as in /config)
    run.value("flow.lambda")                  # 1.0  (int/float when it parses)
    run.diagnostics["kinetic"]                # 1-D float64 numpy array
    run.trajectory_iterations                 # [0, 100, ...]
    x = run.trajectories()                    # [Nt+1, n_traj, d], the latest
    s = run.samples()                         # {"generated": ..., "reference": ...}
    for r in pfio.find_runs("sweeps/a"): ...  # every directory holding a run.h5

Run from the command line, it prints a summary of each run under the given paths.
"""
import argparse
import math
import os
import re
import sys

# Readers need no file lock; HDF5 1.10's flock() fails on some parallel file systems
# (docs/OUTPUT.md, "Notes for clusters").  The caller's setting wins.
os.environ.setdefault("HDF5_USE_FILE_LOCKING", "FALSE")

import h5py  # noqa: E402
import numpy as np  # noqa: E402

RUN_FILE = "run.h5"

# SPEC section 4: these names keep their names and meaning.
DIAG_NAMES = ["iteration", "wall_s", "loss_d", "loss_g", "divergence",
              "divergence_half_step", "kinetic", "hj_residual", "hj_terminal",
              "lipschitz_max", "grad_norm_phi", "grad_norm_gamma",
              "seconds_per_iteration", "samples_per_second"]

# Keys that differ between runs for reasons other than the experiment.
NON_PARAMETER_KEYS = {"output.dir", "train.threads"}


def text(v):
    """An HDF5 string attribute (str, bytes or numpy bytes) as str."""
    if isinstance(v, (bytes, np.bytes_)):
        return v.decode("utf-8", "replace")
    if isinstance(v, np.ndarray) and v.shape == ():
        return text(v[()])
    return str(v)


def parse_config_text(ini):
    """The resolved INI text (root attribute `config`) -> {"section.key": "value"}.

    Follows proxflow's INI rules (docs/CONFIG.md): `;` or `#` at the start of a line
    is a comment, `;` after whitespace starts an inline comment, `key = value` or
    `key: value`, keys are case-sensitive, a section may appear more than once."""
    out = {}
    section = ""
    for raw in ini.lstrip("\ufeff").splitlines():
        line = raw.strip()
        if not line or line[0] in ";#":
            continue
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1].strip()
            continue
        m = re.match(r"([^=:]+?)\s*[=:]\s*(.*)$", line)
        if not m:
            continue
        key, value = m.group(1).strip(), m.group(2)
        c = re.search(r"\s;", value)
        if c:
            value = value[:c.start()]
        out[f"{section}.{key}" if section else key] = value.strip()
    return out


def to_number(s):
    """'1' -> 1, '0.05' -> 0.05, anything else unchanged (for sorting and axes)."""
    if isinstance(s, (int, float, np.integer, np.floating)):
        return s
    try:
        return int(s)
    except (TypeError, ValueError):
        pass
    try:
        return float(s)
    except (TypeError, ValueError):
        return s


def sort_key(v):
    """Numbers first (numerically), then strings; usable on mixed config values."""
    v = to_number(v)
    if isinstance(v, (int, float, np.integer, np.floating)):
        return (0, float(v), "")
    return (1, 0.0, str(v))


def fmt_value(v, digits=4):
    """Short text of a number for tables and annotations."""
    if isinstance(v, str):
        return v
    if v is None:
        return ""
    v = float(v)
    if math.isnan(v):
        return "nan"
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    if v == int(v) and abs(v) < 1e9:
        return str(int(v))
    return f"{v:.{digits}g}"


# Diagnostics recorded only at some records (the sample-quality metrics of the last
# iteration and of every [output] eval_every, docs/OUTPUT.md); NaN elsewhere means "not
# evaluated there", not a blow-up.
SPARSE_DIAGNOSTICS = ("sliced_w1", "mmd2", "manifold_distance")


def final_metric(run, name):
    """What a table or heat map shows for a run: its final value of a diagnostic; a
    sparse (quality) metric of a run that blew up is NaN, not the last value recorded
    before it did."""
    if name in SPARSE_DIAGNOSTICS and run.status() == "nan":
        return float("nan")
    return run.final(name)


def _open(path):
    return h5py.File(path, "r")


class Run:
    """One run: its directory, root attributes, config and diagnostics (read at load);
    trajectories and samples are read on demand."""

    def __init__(self, path):
        if os.path.isdir(path):
            self.dir = os.path.normpath(path)
            self.path = os.path.join(self.dir, RUN_FILE)
        else:
            self.path = os.path.normpath(path)
            self.dir = os.path.dirname(self.path) or "."
        self.name = os.path.basename(os.path.abspath(self.dir))
        with _open(self.path) as f:
            self.attrs = {k: (text(v) if isinstance(v, (str, bytes, np.bytes_)) else v)
                          for k, v in f.attrs.items()}
            self.config_text = text(f.attrs.get("config", ""))
            cfg = parse_config_text(self.config_text)
            if "config" in f and isinstance(f["config"], h5py.Group):
                cfg.update({k: text(v) for k, v in f["config"].attrs.items()})
            self.config = cfg
            self.diagnostics = self._read_diagnostics(f)
            self.history = self._read_history(f)
            self.trajectory_iterations = sorted(
                int(m.group(1)) for m in (re.fullmatch(r"iter_(\d+)", n)
                                          for n in f.get("trajectories", {}))
                if m)
            self.has_samples = "samples/generated" in f

    @staticmethod
    def _read_history(f):
        """The sessions of /history (docs/OUTPUT.md) in order: dicts of their
        attributes (text as str); [] for a run written before /history existed."""
        g = f.get("history")
        if g is None:
            return []
        out = []
        for name in sorted(g):
            out.append({k: (text(v) if isinstance(v, (str, bytes, np.bytes_)) else
                            (int(v) if isinstance(v, (np.integer, int)) else v))
                        for k, v in g[name].attrs.items()})
        return out

    @staticmethod
    def _read_diagnostics(f):
        """name -> 1-D float64 array, all of the same length: cut to the shortest
        dataset and to the leading records with a finite iteration (a reader may look
        while the trainer is between two extends; the fill value is NaN)."""
        g = f.get("diagnostics")
        if g is None:
            return {}
        diag = {}
        for k, ds in g.items():
            if isinstance(ds, h5py.Dataset) and ds.ndim == 1:
                diag[k] = np.asarray(ds[()], dtype=np.float64)
        if not diag:
            return {}
        n = min(len(v) for v in diag.values())
        if "iteration" in diag:
            ok = np.isfinite(diag["iteration"][:n])
            n = int(np.argmin(ok)) if not ok.all() else n
        return {k: v[:n] for k, v in diag.items()}

    # ---- config -------------------------------------------------------------------
    def value(self, key, default=None):
        """A config value as int/float when it parses, else the text."""
        if key not in self.config:
            return default
        return to_number(self.config[key])

    @property
    def mode(self):
        return self.config.get("flow.mode", "?")

    @property
    def label(self):
        """Default legend label: the run's flow.mode and its directory name, or the name
        alone when it already names the mode as one of its words (runs/mnist/w1w2 is
        "w1w2", not "w1w2 w1w2"; mode-w1_lambda-2 keeps its name; L=5 is "w1w2 L=5")."""
        if self.mode in re.split(r"[^A-Za-z0-9]+", self.name):
            return self.name
        return f"{self.mode} {self.name}"

    @property
    def dim(self):
        if "data_dim" in self.attrs:
            return int(self.attrs["data_dim"])
        return None

    @property
    def image_shape(self):
        """(H, W, C) for image data, None otherwise."""
        return image_shape_of(self.attrs.get("image_shape"))

    # ---- diagnostics --------------------------------------------------------------
    @property
    def n_records(self):
        return len(self.diagnostics.get("iteration", []))

    @property
    def last_iteration(self):
        it = self.diagnostics.get("iteration")
        return int(it[-1]) if it is not None and len(it) else None

    @property
    def target_iterations(self):
        v = self.value("train.iterations")
        return int(v) if isinstance(v, (int, float)) else None

    def final(self, name):
        """The last logged value of a diagnostic (NaN when absent or empty); of a
        sparse one (SPARSE_DIAGNOSTICS) the last value recorded."""
        v = self.diagnostics.get(name)
        if v is not None and name in SPARSE_DIAGNOSTICS:
            v = v[np.isfinite(v)]
        return float(v[-1]) if v is not None and len(v) else float("nan")

    def any_nonfinite(self):
        return any(not np.all(np.isfinite(v)) for k, v in self.diagnostics.items()
                   if k not in SPARSE_DIAGNOSTICS)

    def status(self):
        """'nan' if a diagnostic is non-finite, 'finished' if the last logged iteration
        is train.iterations, 'partial' otherwise ('empty' with no record)."""
        if self.n_records == 0:
            return "empty"
        if self.any_nonfinite():
            return "nan"
        if self.target_iterations is not None and self.last_iteration == self.target_iterations:
            return "finished"
        return "partial"

    # ---- trajectories and samples -------------------------------------------------
    def trajectories(self, iteration=None):
        """float32 [Nt+1, n_traj, d] at `iteration` (None: the latest), or None."""
        if not self.trajectory_iterations:
            return None
        if iteration is None:
            iteration = self.trajectory_iterations[-1]
        with _open(self.path) as f:
            name = f"trajectories/iter_{int(iteration):08d}"
            if name not in f:
                raise KeyError(f"{self.path}: no trajectories at iteration {iteration} "
                               f"(stored: {self.trajectory_iterations})")
            return f[name][()]

    def samples(self):
        """{"generated", "reference" (or None), "iteration", "image_shape"} or None."""
        if not self.has_samples:
            return None
        with _open(self.path) as f:
            g = f["samples"]
            return {"generated": g["generated"][()],
                    "reference": g["reference"][()] if "reference" in g else None,
                    "data": g["data"][()] if "data" in g else None,
                    "iteration": int(g.attrs["iteration"]) if "iteration" in g.attrs else None,
                    "image_shape": self.image_shape}

    def __repr__(self):
        return f"Run({self.dir!r}, {self.n_records} records, status {self.status()})"


def image_shape_of(a):
    if a is None:
        return None
    a = np.asarray(a).ravel()
    if a.size != 3 or int(a[0]) <= 0:
        return None
    return tuple(int(x) for x in a)


def load_run(path):
    """A Run from a run directory or a run.h5 path."""
    if os.path.isdir(path) and not os.path.isfile(os.path.join(path, RUN_FILE)):
        raise FileNotFoundError(f"{path}: no {RUN_FILE} in this directory")
    return Run(path)


def load_run_cli(path):
    """load_run for the command-line tools: a missing or unreadable file is a one-line
    error (SystemExit) rather than a traceback."""
    try:
        return load_run(path)
    except (OSError, KeyError) as e:
        raise SystemExit(f"error: {path}: {e}")


def find_run_dirs(root):
    """Every directory under root (root included) that holds a run.h5, sorted; a
    run.h5 path given directly counts as its directory."""
    if os.path.isfile(root):
        return [os.path.dirname(os.path.normpath(root)) or "."]
    found = []
    for dirpath, dirnames, filenames in os.walk(root, followlinks=True):
        dirnames[:] = sorted(d for d in dirnames if d != "checkpoints")
        if RUN_FILE in filenames:
            found.append(os.path.normpath(dirpath))
    return sorted(found)


def find_runs(root, warn=True):
    """Runs under root (recursively); a run.h5 that does not open is skipped with a
    warning (e.g. a run that is just being created)."""
    runs = []
    for d in find_run_dirs(root):
        try:
            runs.append(Run(d))
        except (OSError, KeyError) as e:
            if warn:
                print(f"warning: skipping {d}: {e}", file=sys.stderr)
    return runs


def expand_runs(paths):
    """Command-line arguments -> runs: a run directory, a run.h5, or a directory
    holding runs (all of them)."""
    runs = []
    for p in paths:
        if not os.path.exists(p):
            raise SystemExit(f"error: {p}: no such file or directory")
        if os.path.isfile(p) or os.path.isfile(os.path.join(p, RUN_FILE)):
            runs.append(load_run_cli(p))
            continue
        sub = find_runs(p)
        if not sub:
            raise SystemExit(f"error: {p}: no {RUN_FILE} in it or below it")
        runs.extend(sub)
    return runs


def differing_keys(runs, exclude=NON_PARAMETER_KEYS):
    """Config keys whose values are not all the same across runs (the swept ones)."""
    keys = sorted(set().union(*(r.config.keys() for r in runs))) if runs else []
    out = []
    for k in keys:
        if k in exclude:
            continue
        if len({r.config.get(k) for r in runs}) > 1:
            out.append(k)
    return out


def load_samples_file(path):
    """A run (directory or run.h5) or a file written by `proxflow sample` ->
    {"generated", "reference" (or None), "image_shape", "iteration", "label"}."""
    if os.path.isdir(path) or os.path.basename(path) == RUN_FILE:
        run = load_run_cli(path)
        s = run.samples()
        if s is None:
            raise SystemExit(f"error: {run.path}: no /samples (written at the end of a "
                             f"run; status {run.status()}, last iteration {run.last_iteration})")
        s["label"] = run.label
        s["dim"] = run.dim
        return s
    try:
        f = _open(path)
    except OSError as e:
        raise SystemExit(f"error: {path}: {e}")
    with f:
        s = {"iteration": None, "reference": None, "data": None}
        if "samples" in f and isinstance(f["samples"], h5py.Dataset):
            s["generated"] = f["samples"][()]
            if "reference" in f and isinstance(f["reference"], h5py.Dataset):
                s["reference"] = f["reference"][()]
            for holder in (f["samples"].attrs, f.attrs):
                if "iteration" in holder:
                    s["iteration"] = int(holder["iteration"])
                    break
        elif "samples/generated" in f:
            g = f["samples"]
            s["generated"] = g["generated"][()]
            s["reference"] = g["reference"][()] if "reference" in g else None
            if "iteration" in g.attrs:
                s["iteration"] = int(g.attrs["iteration"])
        else:
            raise SystemExit(f"error: {path}: neither a dataset /samples nor "
                             f"/samples/generated")
        s["image_shape"] = image_shape_of(f.attrs.get("image_shape"))
        gen = s["generated"]
        if s["image_shape"] is None and gen.ndim == 2:
            s["image_shape"] = guess_image_shape(f, path, gen.shape[1])
        s["dim"] = int(gen.shape[-1]) if gen.ndim >= 2 else 1
        if gen.ndim > 2:  # [n, H, W(, C)] stored as images
            if s["image_shape"] is None:
                shp = gen.shape[1:] + ((1,) if gen.ndim == 3 else ())
                s["image_shape"] = tuple(int(x) for x in shp)
            s["generated"] = gen.reshape(gen.shape[0], -1)
            if s["reference"] is not None:
                s["reference"] = s["reference"].reshape(s["reference"].shape[0], -1)
            s["dim"] = s["generated"].shape[1]
        mode = text(f.attrs["mode"]) + " " if "mode" in f.attrs else ""
        s["label"] = mode + os.path.basename(path)
        if s["data"] is None and "checkpoint" in f.attrs:
            s["data"] = data_of_checkpoint(text(f.attrs["checkpoint"]), path)
        return s


def run_of_checkpoint(ck, near):
    """RUN/run.h5 of a checkpoint path RUN/checkpoints/ckpt_*.h5 as a file names it
    (relative to that file's directory or to the working directory); None if absent."""
    for base in (os.path.dirname(os.path.abspath(near)), os.getcwd()):
        run_h5 = os.path.join(os.path.dirname(os.path.dirname(os.path.join(base, ck))), RUN_FILE)
        if os.path.isfile(run_h5):
            return run_h5
    return None


def data_of_checkpoint(ck, near):
    """The target data samples (/samples/data) of the run a checkpoint belongs to, or
    None (a run written before they were stored, or no run.h5 beside it)."""
    run_h5 = run_of_checkpoint(ck, near)
    if run_h5 is None:
        return None
    try:
        with _open(run_h5) as g:
            return g["samples/data"][()] if "samples/data" in g else None
    except OSError:
        return None


def load_target_data(path):
    """Target samples for a plot: a run (directory or run.h5: its /samples/data), or
    FILE.h5:/DATASET, or an HDF5 file with a dataset /data, /heldout or /x."""
    if os.path.isdir(path) or os.path.basename(path) == RUN_FILE:
        s = load_run_cli(path).samples()
        if s is None or s.get("data") is None:
            raise SystemExit(f"error: {path}: no /samples/data (runs store it since issue 21)")
        return s["data"]
    name = None
    if ":" in path and not os.path.exists(path):
        path, name = path.rsplit(":", 1)
    try:
        with _open(path) as f:
            for k in ([name] if name else ["data", "heldout", "x"]):
                if k in f and isinstance(f[k], h5py.Dataset):
                    return f[k][()]
    except OSError as e:
        raise SystemExit(f"error: {path}: {e}")
    raise SystemExit(f"error: {path}: no dataset {name or '/data, /heldout or /x'}")


def guess_image_shape(f, path, d):
    """Image shape of a `proxflow sample` file, which does not store it: from the run.h5
    of the checkpoint it names (RUN/checkpoints/ckpt_*.h5 -> RUN/run.h5), else a square
    H x H x 1 when the config's data source is a file (MNIST IDX, FILE.h5:/DATASET)."""
    if "checkpoint" in f.attrs:
        ck = text(f.attrs["checkpoint"])
        for base in (os.path.dirname(os.path.abspath(path)), os.getcwd()):
            run_h5 = os.path.join(os.path.dirname(os.path.dirname(os.path.join(base, ck))),
                                  RUN_FILE)
            if os.path.isfile(run_h5):
                try:
                    with _open(run_h5) as g:
                        has = "image_shape" in g.attrs
                        shp = image_shape_of(g.attrs.get("image_shape"))
                    if shp is not None and int(np.prod(shp)) == d:
                        return shp
                    if has:
                        return None  # the run says: not images
                except OSError:
                    pass
    src = parse_config_text(text(f.attrs.get("config", ""))).get("data.source", "")
    side = int(round(math.sqrt(d)))
    if side * side == d and side >= 8 and ("/" in src or "." in src or "idx" in src):
        return (side, side, 1)
    return None


def plot_dims(ap, spec, d):
    """The two coordinates a 2-D plot shows (--dims "i,j"), checked against d; exits
    through ap.error otherwise.  d = 1 plots the single coordinate against itself."""
    dims = [int(x) for x in spec.split(",")]
    if len(dims) != 2:
        ap.error("--dims takes two coordinates, e.g. 0,1")
    if d == 1:
        dims = [0, 0]
    if max(dims) >= d or min(dims) < 0:
        ap.error(f"--dims {spec}: the data have d = {d}")
    return dims


def savefig(fig, out):
    """Write a PNG (creating its directory) and print its path."""
    d = os.path.dirname(out)
    if d:
        os.makedirs(d, exist_ok=True)
    fig.savefig(out, dpi=110, bbox_inches="tight", pad_inches=0.15)
    print(f"wrote {out}")


def main(argv=None):
    ap = argparse.ArgumentParser(description="Summarise proxflow runs (a run directory, "
                                 "a run.h5, or a directory holding runs).")
    ap.add_argument("paths", nargs="+", metavar="PATH")
    args = ap.parse_args(argv)
    for r in expand_runs(args.paths):
        print(f"{r.dir}: mode {r.mode}, d = {r.dim}, {r.n_records} records, last iteration "
              f"{r.last_iteration} of {r.target_iterations}, status {r.status()}, "
              f"trajectories at {r.trajectory_iterations}, samples {'yes' if r.has_samples else 'no'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
