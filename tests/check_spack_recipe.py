#!/usr/bin/python3
"""Checks packaging/spack/packages/proxflow/package.py without Spack (docs/CLUSTER.md,
"Installing at a site").

The recipe is imported with a stub `spack.package` that records its directives
(version, variant, depends_on, license, `with when(...)`), once as Spack 0.x lays out
its modules and once as Spack 1.x does (CMakePackage from spack_repo.builtin).  Then:
  - the versions, the variants with their defaults and the dependencies (names, types,
    conditions) are the ones the project needs;
  - cmake_args gives -DPROXFLOW_FLOAT / -DPROXFLOW_NATIVE from the variants, and
    -DPROXFLOW_BLAS_OPENMP=ON for an openblas threads=openmp (AUTO for any other);
  - the stand-alone tests run for real against a fake install prefix around the
    built binary ($PROXFLOW_BIN) and the analysis scripts of this tree: test_version
    (which must also fail for a wrong version or precision), test_help, test_train and
    test_analysis; the post-install shebang rewrite and the run environment too.
The real Spack checks (spack info, spack audit packages) are in docs/CLUSTER.md.
Usage: check_spack_recipe.py [RECIPE]   (environment: PROXFLOW_BIN, PROXFLOW_SOURCE_DIR)"""
import contextlib
import importlib.util
import os
import re
import shutil
import subprocess
import sys
import tempfile
import types

SRC = os.environ.get("PROXFLOW_SOURCE_DIR") or os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RECIPE = sys.argv[1] if len(sys.argv) > 1 else os.path.join(SRC, "packaging", "spack", "packages",
                                                            "proxflow", "package.py")


# ---- the stub of Spack's package DSL ------------------------------------------------------
class Record:
    def __init__(self):
        self.versions, self.variants, self.deps, self.licenses = {}, {}, [], []
        self.when = []  # the `with when(...)` stack


REC = Record()


def _cond(when):
    conds = list(REC.when) + ([when] if when else [])
    return " ".join(conds) or None


def version(name, **kw):
    REC.versions[name] = kw


def variant(name, default=None, description="", **kw):
    assert description, f"variant {name} has no description"
    REC.variants[name] = {"default": default, **kw}


def depends_on(spec, when=None, type=("build", "link")):
    types_ = (type,) if isinstance(type, str) else tuple(type)
    REC.deps.append({"spec": spec, "name": spec.split()[0].split("@")[0].split("+")[0],
                     "when": _cond(when), "type": types_})


def license(name, **kw):
    REC.licenses.append(name)


@contextlib.contextmanager
def when(cond):
    REC.when.append(cond)
    try:
        yield
    finally:
        REC.when.pop()


def run_after(phase, when=None):
    def deco(f):
        f.run_after = phase
        return f
    return deco


class SkipTest(Exception):
    pass


class Prefix(str):
    """Spack's Prefix: prefix.bin.proxflow is the path prefix/bin/proxflow."""

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        return Prefix(os.path.join(self, name))


def join_path(*parts):
    return os.path.join(*parts)


class Executable:
    def __init__(self, path):
        self.path = str(path)

    def __call__(self, *args, output=None, error=None):
        p = subprocess.run([self.path, *map(str, args)], capture_output=True, text=True)
        if p.returncode != 0:
            raise RuntimeError(f"{self.path} {' '.join(map(str, args))} exited {p.returncode}:\n"
                               f"{p.stdout}{p.stderr}")
        return p.stdout if output is str else None


def which(path, required=False):
    path = str(path)
    if os.path.isfile(path) and os.access(path, os.X_OK):
        return Executable(path)
    found = shutil.which(path)
    if found:
        return Executable(found)
    if required:
        raise RuntimeError(f"{path}: not found")
    return None


@contextlib.contextmanager
def working_dir(d):
    old = os.getcwd()
    os.chdir(d)
    try:
        yield
    finally:
        os.chdir(old)


def filter_file(regex, repl, *files, backup=True):
    for f in files:
        with open(f) as fh:
            text = fh.read()
        with open(f, "w") as fh:
            fh.write(re.sub(regex, repl, text, flags=re.M))


class Spec:
    """Enough of a concrete spec: version, variants (+v / ~v, and name=value), dependencies
    by name."""

    def __init__(self, version, variants, deps=None):
        self.version, self.variants, self._deps = version, variants, deps or {}

    def satisfies(self, s):
        m = re.fullmatch(r"(\w+)=(\w+)", s)
        if m:
            return self.variants[m.group(1)] == m.group(2)
        assert re.fullmatch(r"[+~]\w+", s), f"the stub knows only +v / ~v / v=x, not {s!r}"
        return self.variants[s[1:]] == (s[0] == "+")

    def __getitem__(self, name):
        return self._deps[name]


class CMakePackage:
    def __init__(self, spec, prefix):
        self.spec, self.prefix = spec, Prefix(prefix)
        self.build_directory = prefix

    @staticmethod
    def define(name, value):
        if isinstance(value, bool):
            return f"-D{name}:BOOL={'ON' if value else 'OFF'}"
        return f"-D{name}:STRING={value}"

    def define_from_variant(self, name, variant=None):
        return self.define(name, bool(self.spec.variants[variant]))


DSL = dict(version=version, variant=variant, depends_on=depends_on, license=license, when=when,
           run_after=run_after, SkipTest=SkipTest, join_path=join_path, Executable=Executable,
           which=which, working_dir=working_dir, filter_file=filter_file)


def load(layout):
    """Import the recipe with the stub laid out as in Spack 0.x or 1.x."""
    global REC
    REC = Record()
    for k in [k for k in sys.modules if k == "spack" or k.startswith(("spack.", "spack_repo"))]:
        del sys.modules[k]
    pkg = types.ModuleType("spack.package")
    names = dict(DSL, version=version, variant=variant, depends_on=depends_on, license=license,
                 when=when)
    if layout == "0.x":
        names["CMakePackage"] = CMakePackage
    pkg.__dict__.update(names)
    pkg.__all__ = list(names)
    spack = types.ModuleType("spack")
    spack.package = pkg
    sys.modules.update({"spack": spack, "spack.package": pkg})
    if layout == "1.x":
        for m in ("spack_repo", "spack_repo.builtin", "spack_repo.builtin.build_systems"):
            sys.modules[m] = types.ModuleType(m)
        cm = types.ModuleType("spack_repo.builtin.build_systems.cmake")
        cm.CMakePackage = CMakePackage
        sys.modules[cm.__name__] = cm
    spec = importlib.util.spec_from_file_location(f"proxflow_recipe_{layout.replace('.', '_')}", RECIPE)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod, REC


# ---- the checks -----------------------------------------------------------------------------
failures = []
passes = 0


def check(what, cond, detail=""):
    global passes
    print(("ok   " if cond else "FAIL ") + what + ("" if cond else f": {detail}"))
    if cond:
        passes += 1
    else:
        failures.append(what)


def dep(rec, name):
    found = [d for d in rec.deps if d["name"] == name]
    return found


def check_directives(mod, rec, layout):
    cls = getattr(mod, "Proxflow", None)
    check(f"[{layout}] class Proxflow is a CMakePackage", isinstance(cls, type) and issubclass(cls, CMakePackage))
    check(f"[{layout}] versions: main (branch main) and 0.1.0 (tag v0.1.0)",
          rec.versions.get("main", {}).get("branch") == "main"
          and rec.versions.get("0.1.0", {}).get("tag") == "v0.1.0", rec.versions)
    check(f"[{layout}] git and homepage are set (placeholders)",
          getattr(cls, "git", "").endswith(".git") and getattr(cls, "homepage", ""))
    want = {"float": False, "native": False, "analysis": True, "openmp_blas": True}
    got = {k: v["default"] for k, v in rec.variants.items()}
    check(f"[{layout}] variants and defaults {want}", got == want, got)
    names = {d["name"] for d in rec.deps}
    need = {"c", "cmake", "pkgconfig", "mpi", "openblas", "hdf5", "libinih", "zlib-api",
            "python", "py-h5py", "py-numpy", "py-matplotlib"}
    check(f"[{layout}] dependencies {sorted(need)}", names == need, sorted(names))
    for n in ("c", "cmake", "pkgconfig"):
        check(f"[{layout}] {n} is a build-only dependency",
              all(d["type"] == ("build",) for d in dep(rec, n)) and dep(rec, n), dep(rec, n))
    for n in ("mpi", "hdf5", "libinih", "zlib-api"):
        d = dep(rec, n)
        check(f"[{layout}] {n}: unconditional link dependency",
              len(d) == 1 and d[0]["when"] is None and "link" in d[0]["type"], d)
    h = dep(rec, "hdf5")
    check(f"[{layout}] hdf5 with +mpi (parallel HDF5)", h and "+mpi" in h[0]["spec"].replace(" ", ""), h)
    ob = dep(rec, "openblas")
    omp = [d for d in ob if "threads=openmp" in d["spec"]]
    check(f"[{layout}] openblas threads=openmp under +openmp_blas, any openblas under ~openmp_blas",
          len(ob) == 2 and len(omp) == 1 and omp[0]["when"] == "+openmp_blas"
          and [d["when"] for d in ob if d not in omp] == ["~openmp_blas"], ob)
    for n in ("python", "py-h5py", "py-numpy", "py-matplotlib"):
        d = dep(rec, n)
        check(f"[{layout}] {n}: run dependency under +analysis",
              len(d) == 1 and d[0]["type"] == ("run",) and d[0]["when"] == "+analysis", d)
    check(f"[{layout}] license MIT", rec.licenses == ["MIT"], rec.licenses)
    return cls


def make_prefix(root, analysis=True):
    """A fake install prefix: bin/proxflow -> the built binary; share/proxflow/analysis
    -> this tree's analysis scripts (copied, so the shebang rewrite can change them)."""
    os.makedirs(os.path.join(root, "bin"))
    os.symlink(os.path.abspath(os.environ["PROXFLOW_BIN"]), os.path.join(root, "bin", "proxflow"))
    share = os.path.join(root, "share", "proxflow")
    os.makedirs(share)
    if analysis:
        shutil.copytree(os.path.join(SRC, "analysis"), os.path.join(share, "analysis"),
                        ignore=shutil.ignore_patterns("__pycache__"))
    return root


def binary_precision():
    out = subprocess.run([os.environ["PROXFLOW_BIN"], "--version"], capture_output=True,
                         text=True).stdout
    m = re.search(r"proxflow (\S+) \([^,]*, (float|double);", out)
    assert m, f"cannot read the version and precision from {out!r}"
    return m.group(1), m.group(2)


def run_method(pkg, name, cwd):
    with working_dir(cwd):
        getattr(pkg, name)()


def check_behaviour(cls):
    if not os.environ.get("PROXFLOW_BIN"):
        print("skip the stand-alone tests: PROXFLOW_BIN is not set")
        return
    vers, precision = binary_precision()
    python = types.SimpleNamespace(command=Executable("/usr/bin/python3"))
    cmake = types.SimpleNamespace(prefix=Prefix(os.path.dirname(os.path.dirname(shutil.which("cmake") or "/usr/bin/cmake"))))
    deps = {"python": python, "cmake": cmake}

    def spec(version=vers, threads="openmp", **over):
        v = {"float": precision == "float", "native": False, "analysis": True, "openmp_blas": True}
        v.update(over)
        return Spec(version, v, dict(deps, openblas=Spec("0.3.28", {"threads": threads})))

    with tempfile.TemporaryDirectory(prefix="pf_spack_") as tmp:
        # cmake_args from the variants
        a_on = cls(spec(float=True, native=True), tmp).cmake_args()
        a_off = cls(spec(float=False, native=False), tmp).cmake_args()
        check("cmake_args +float +native: PROXFLOW_FLOAT=ON, PROXFLOW_NATIVE=ON",
              "-DPROXFLOW_FLOAT:BOOL=ON" in a_on and "-DPROXFLOW_NATIVE:BOOL=ON" in a_on, a_on)
        check("cmake_args ~float ~native: PROXFLOW_FLOAT=OFF, PROXFLOW_NATIVE=OFF",
              "-DPROXFLOW_FLOAT:BOOL=OFF" in a_off and "-DPROXFLOW_NATIVE:BOOL=OFF" in a_off, a_off)

        # PROXFLOW_BLAS_OPENMP from the OpenBLAS's threads= (the OpenMP build is not in
        # Debian's openblas-openmp directory under Spack)
        for over, threads, want in (({}, "openmp", "ON"), ({"openmp_blas": False}, "pthreads", "AUTO"),
                                    ({"openmp_blas": False}, "none", "AUTO"),
                                    ({"openmp_blas": False}, "openmp", "ON")):
            args = cls(spec(threads=threads, **over), tmp).cmake_args()
            check(f"cmake_args with openblas threads={threads}: PROXFLOW_BLAS_OPENMP={want}",
                  f"-DPROXFLOW_BLAS_OPENMP:STRING={want}" in args, args)

        prefix = make_prefix(os.path.join(tmp, "prefix"))
        work = os.path.join(tmp, "test")
        os.makedirs(work)
        pkg = cls(spec(), prefix)
        for name in ("test_version", "test_help", "test_train", "test_analysis"):
            try:
                run_method(pkg, name, work)
                check(f"{name} passes on the built binary ({vers}, {precision})", True)
            except SkipTest as e:
                check(f"{name} ran", False, f"skipped: {e}")
            except Exception as e:  # noqa: BLE001
                check(f"{name} passes on the built binary", False, f"{type(e).__name__}: {e}")
        # the version test can fail
        other = "float" if precision == "double" else "double"
        for bad_spec, why in ((spec(version="9.9.9"), "version 9.9.9"),
                              (spec(float=(other == "float")), f"precision {other}")):
            try:
                run_method(cls(bad_spec, prefix), "test_version", work)
                failed = False
            except AssertionError:
                failed = True
            check(f"test_version fails for a spec of {why}", failed)
        try:
            run_method(cls(spec(analysis=False), prefix), "test_analysis", work)
            skipped = False
        except SkipTest:
            skipped = True
        check("test_analysis is skipped ~analysis", skipped)

        # the shebang rewrite after install (to the spec's python), and the run environment
        python.command = Executable("/opt/spack/python-3.12/bin/python3")
        pkg.python_shebangs()
        ana = os.path.join(prefix, "share", "proxflow", "analysis")
        firsts = {f: open(os.path.join(ana, f)).readline().strip()
                  for f in os.listdir(ana) if f.endswith(".py")}
        check("python_shebangs: every analysis script starts with the spec's python",
              len(firsts) >= 8 and set(firsts.values()) == {"#!/opt/spack/python-3.12/bin/python3"},
              firsts)

        env = {}
        pkg.setup_run_environment(types.SimpleNamespace(set=lambda k, v: env.__setitem__(k, str(v))))
        check("setup_run_environment: PROXFLOW_ROOT, PROXFLOW_CONFIGS, PROXFLOW_ANALYSIS",
              env == {"PROXFLOW_ROOT": prefix,
                      "PROXFLOW_CONFIGS": os.path.join(prefix, "share", "proxflow", "configs"),
                      "PROXFLOW_ANALYSIS": ana}, env)


def main():
    cls = None
    for layout in ("0.x", "1.x"):
        mod, rec = load(layout)
        cls = check_directives(mod, rec, layout)
    check_behaviour(cls)
    print(f"check_spack_recipe: {passes} passed, {len(failures)} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
