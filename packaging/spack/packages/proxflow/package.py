# Spack recipe of proxflow (docs/CLUSTER.md, "Installing at a site").
#
#     spack repo add packaging/spack
#     spack info proxflow
#     spack install proxflow +float           # or: proxflow@main, ~analysis, ...
#     spack test run proxflow                 # the stand-alone tests below
#
# Written for Spack >= 0.23 (the `c` language dependency, the `zlib-api` virtual, test_*
# methods); a package API v1 repository, which Spack 1.x still reads.
#
# The source location is a PLACEHOLDER: proxflow has no public home yet, and
# git.example.org is a reserved documentation domain, so nothing is fetched from a
# stranger by mistake.  A site points the recipe at its own copy without editing it:
#   - packages.yaml:  packages: {proxflow: {package_attributes: {git: "file:///path/to/proxflow.git"}}}
#   - or a checkout:  spack develop --path /path/to/proxflow proxflow@=main  (in an environment)
# When the project is tagged, `version("0.1.0", tag="v0.1.0", commit="<sha>")` gets the
# tag's commit, so that Spack can verify what it fetched.
import os

try:  # Spack >= 1.0 keeps the build systems in the builtin repository
    from spack_repo.builtin.build_systems.cmake import CMakePackage
except ImportError:  # Spack 0.x: spack.package exports CMakePackage
    pass

from spack.package import *  # noqa: F401,F403


class Proxflow(CMakePackage):
    """W1/W2 proximal generative flows (Gu, Katsoulakis, Rey-Bellet, Zhang,
    arXiv 2407.11901): an MPI + OpenMP C11 trainer with parallel HDF5 output, and
    Python scripts that analyse its runs."""

    homepage = "https://git.example.org/proxflow/proxflow"  # placeholder, see above
    git = "https://git.example.org/proxflow/proxflow.git"  # placeholder, see above

    license("MIT")

    version("main", branch="main")
    version("0.1.0", tag="v0.1.0")

    variant("float", default=False,
            description="Single precision (-DPROXFLOW_FLOAT=ON); default: double")
    variant("native", default=False,
            description="-march=native (-DPROXFLOW_NATIVE=ON). Spack already compiles for "
                        "the spec's target; use it only when building on the compute nodes")
    variant("openmp_blas", default=True,
            description="Require OpenBLAS built with threads=openmp, so that BLAS and "
                        "proxflow share one OpenMP thread pool (~openmp_blas: any OpenBLAS)")
    variant("analysis", default=True,
            description="Python, h5py, numpy and matplotlib for the analysis scripts "
                        "(share/proxflow/analysis)")

    depends_on("c", type="build")
    depends_on("cmake@3.18:", type="build")
    depends_on("pkgconfig", type="build")  # libinih is found with pkg-config

    depends_on("mpi")
    depends_on("openblas threads=openmp", when="+openmp_blas")
    depends_on("openblas", when="~openmp_blas")
    # parallel HDF5 (run.h5 is written collectively, MPI-IO); the 1.10 API and later
    depends_on("hdf5@1.10: +mpi")
    depends_on("libinih")
    depends_on("zlib-api")

    with when("+analysis"):
        depends_on("python@3.8:", type="run")
        depends_on("py-h5py", type="run")
        depends_on("py-numpy", type="run")
        depends_on("py-matplotlib", type="run")

    def cmake_args(self):
        # Spack's OpenBLAS is not in Debian's openblas-openmp directory, by which the build
        # used to recognise the OpenMP build: threads=openmp says so (PROXFLOW_BLAS_OPENMP=ON,
        # which the build checks with openblas_get_parallel()); any other OpenBLAS is asked
        # by the build itself (AUTO).
        blas_openmp = "ON" if self.spec["openblas"].satisfies("threads=openmp") else "AUTO"
        return [
            self.define_from_variant("PROXFLOW_FLOAT", "float"),
            self.define_from_variant("PROXFLOW_NATIVE", "native"),
            self.define("PROXFLOW_BLAS_OPENMP", blas_openmp),
            self.define("PROXFLOW_SANITIZE", False),
            self.define("PROXFLOW_FUZZ", False),
        ]

    def check(self):
        """`spack install --test=root`: the quick unit tests only (CTest label `unit`);
        the end-to-end ones need minutes, and test_slurm starts a Slurm cluster."""
        ctest = Executable(self.spec["cmake"].prefix.bin.ctest)
        with working_dir(self.build_directory):
            ctest("-L", "unit", "--output-on-failure")

    @run_after("install")
    def python_shebangs(self):
        """The analysis scripts start with #!/usr/bin/python3 (Debian's, which has
        h5py); installed by Spack they run with Spack's python instead."""
        scripts = join_path(self.prefix.share, "proxflow", "analysis")
        if self.spec.satisfies("+analysis") and os.path.isdir(scripts):
            files = [join_path(scripts, f) for f in os.listdir(scripts) if f.endswith(".py")]
            if files:
                filter_file(r"^#!/usr/bin/python3$", "#!" + self.spec["python"].command.path,
                            *files, backup=False)

    def setup_run_environment(self, env):
        # the same variables as packaging/modules/proxflow/*.lua
        share = join_path(self.prefix.share, "proxflow")
        env.set("PROXFLOW_ROOT", self.prefix)
        env.set("PROXFLOW_CONFIGS", join_path(share, "configs"))
        env.set("PROXFLOW_ANALYSIS", join_path(share, "analysis"))

    # ---- stand-alone tests (spack test run proxflow) -----------------------------------
    def _proxflow(self):
        return which(self.prefix.bin.proxflow, required=True)

    def test_version(self):
        """proxflow --version: the version, the precision and the BLAS it runs"""
        out = self._proxflow()("--version", output=str, error=str)
        assert out.startswith("proxflow "), out
        if str(self.spec.version)[0].isdigit():
            assert f"proxflow {self.spec.version} " in out, out
        precision = "float" if self.spec.satisfies("+float") else "double"
        assert precision in out, out
        assert "OpenBLAS" in out, out

    def test_help(self):
        """proxflow --help lists the commands"""
        out = self._proxflow()("--help", output=str, error=str)
        for cmd in ("train", "sample", "eval", "chain", "sweep", "info"):
            assert f"proxflow {cmd}" in out, out

    def test_train(self):
        """a 4-iteration training run writes run.h5 and a checkpoint (MPI, HDF5 I/O)"""
        with open("tiny.ini", "w") as f:
            f.write(TINY_INI)
        self._proxflow()("train", "tiny.ini", "--out", "tiny", output=str, error=str)
        assert os.path.isfile(join_path("tiny", "run.h5"))
        assert os.path.isfile(join_path("tiny", "checkpoints", "ckpt_00000004.h5"))
        out = self._proxflow()("info", join_path("tiny", "run.h5"), output=str, error=str)
        assert "diagnostics: 3 records, last at iteration 4" in out, out

    def test_analysis(self):
        """the installed export_csv.py reads a run with Spack's python and h5py"""
        script = join_path(self.prefix.share, "proxflow", "analysis", "export_csv.py")
        if not self.spec.satisfies("+analysis"):
            raise SkipTest("built ~analysis")
        if not os.path.isfile(script):
            raise SkipTest(f"{script} is not installed")
        with open("tiny_a.ini", "w") as f:
            f.write(TINY_INI)
        self._proxflow()("train", "tiny_a.ini", "--out", "tiny_a", output=str, error=str)
        python = which(self.spec["python"].command.path, required=True)
        python(script, "tiny_a", output=str, error=str)
        with open(join_path("tiny_a", "diagnostics.csv")) as f:
            lines = f.read().splitlines()
        assert lines[0].startswith("iteration,"), lines[0]
        assert len(lines) == 1 + 3, lines  # records at iterations 0, 2 and 4


# 2-D, 4 iterations, a record every 2: seconds on one core
TINY_INI = """\
[data]
source = 8gaussians
[train]
iterations = 4
batch = 32
seed = 1
[flow]
steps = 3
[potential]
widths = 8,8
[discriminator]
widths = 8,8
[output]
log_every = 2
checkpoint_every = 0
diag_batch = 32
"""
