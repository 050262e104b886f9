# h5py with driver="mpio" (libhdf5_openmpi) and netCDF4 (libhdf5_serial) in one process under the
# preload: two copies of libhdf5 loaded with RTLD_LOCAL; each caller must reach its own copy.
# Usage: h5py_netcdf4.py H5FILE NCFILE-PREFIX
import sys
from mpi4py import MPI
import numpy as np
import h5py
import netCDF4

comm = MPI.COMM_WORLD
rank, size = comm.Get_rank(), comm.Get_size()
with h5py.File(sys.argv[1], "w", driver="mpio", comm=comm) as f:
    d = f.create_dataset("rows", (size, 100), dtype="f8")
    with d.collective:
        d[rank, :] = np.arange(100.0) + rank
nc = "%s%d.nc" % (sys.argv[2], rank)
with netCDF4.Dataset(nc, "w") as ds:
    ds.createDimension("x", 100)
    ds.createVariable("v", "f8", ("x",))[:] = np.arange(100.0) * rank
comm.Barrier()
with netCDF4.Dataset(nc) as ds:
    mine = float(ds["v"][...].sum())
sums = comm.gather(mine, root=0)
if rank == 0:
    with h5py.File(sys.argv[1], "r") as f:
        print("h5py:", h5py.get_config().mpi, float(f["rows"][...].sum()), "netcdf:", sums)
