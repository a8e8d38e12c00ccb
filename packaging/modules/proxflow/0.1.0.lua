-- -*- lua -*-
-- Lmod module of proxflow 0.1.0 (docs/CLUSTER.md, "Installing at a site").
-- Install:  cmake --install build --prefix /opt/proxflow/0.1.0
--           cp packaging/modules/proxflow/0.1.0.lua <site modulefiles>/proxflow/0.1.0.lua
-- then ADJUST the two marked places below: the prefix, and the names of the MPI, HDF5
-- and OpenBLAS modules that proxflow was built against.
-- The install tree it expects (GNU directories under the prefix):
--   bin/proxflow                 the program
--   lib/libproxflow*.a           static libraries (nothing to add to LD_LIBRARY_PATH:
--                                the binary finds MPI, HDF5 and OpenBLAS by its RPATH)
--   include/proxflow/...         headers;  lib/cmake/proxflow/  find_package(proxflow)
--   share/proxflow/configs       the example configs     ($PROXFLOW_CONFIGS)
--   share/proxflow/slurm         the Slurm scripts
--   share/proxflow/analysis      the Python analysis scripts ($PROXFLOW_ANALYSIS)
--   share/doc/proxflow/          the documentation
-- There are no man pages, so MANPATH is left alone.

local version = "0.1.0"
local root    = "/opt/proxflow/" .. version      -- ADJUST: the install prefix

whatis("Name: proxflow")
whatis("Version: " .. version)
whatis("Category: machine learning, generative models")
whatis("Description: W1/W2 proximal generative flows: an MPI + OpenMP trainer with parallel HDF5 output, and Python analysis scripts")

help([[
proxflow ]] .. version .. [[ - W1/W2 proximal generative flows (arXiv 2407.11901).

  mpirun -n 4 proxflow train $PROXFLOW_CONFIGS/quickstart.ini --out runs/qs
  sbatch $PROXFLOW_ROOT/share/proxflow/slurm/train.sbatch      (CONFIG=... OUT=...)
  python3 $PROXFLOW_ANALYSIS/follow.py runs/qs                 (watch a running job)
  python3 $PROXFLOW_ANALYSIS/export_csv.py runs/qs             (diagnostics as CSV)

The analysis scripts need a Python with numpy, h5py and matplotlib.
On file systems without flock() set HDF5_USE_FILE_LOCKING=FALSE in the job
(the Slurm scripts do). Documentation: $PROXFLOW_ROOT/share/doc/proxflow
]])

-- ADJUST: your site's module names.  proxflow must run with the MPI, the parallel
-- HDF5 and the OpenBLAS (preferably its OpenMP build) it was built against.
depends_on("openmpi")
depends_on("hdf5")          -- the parallel build, e.g. "hdf5/1.14.3-openmpi"
depends_on("openblas")

prepend_path("PATH",              pathJoin(root, "bin"))
prepend_path("CMAKE_PREFIX_PATH", root)

setenv("PROXFLOW_ROOT",     root)
setenv("PROXFLOW_CONFIGS",  pathJoin(root, "share", "proxflow", "configs"))
setenv("PROXFLOW_ANALYSIS", pathJoin(root, "share", "proxflow", "analysis"))
