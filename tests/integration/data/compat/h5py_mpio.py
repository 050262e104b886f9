# h5py with driver="mpio" (parallel HDF5 over MPI-IO) under the preload: each rank writes its rows
# collectively and independently, rank 0 reads the whole dataset back. Usage: h5py_mpio.py FILE
import sys
import numpy as np
from mpi4py import MPI
import h5py

comm = MPI.COMM_WORLD
rank, size = comm.Get_rank(), comm.Get_size()
path = sys.argv[1]
with h5py.File(path, "w", driver="mpio", comm=comm) as f:
    d = f.create_dataset("rows", (size * 8, 1000), dtype="f8")
    e = f.create_dataset("ind", (size, 100), dtype="i4")
    with d.collective:
        d[rank * 8:(rank + 1) * 8, :] = np.arange(8000, dtype="f8").reshape(8, 1000) + rank
    e[rank, :] = np.arange(100, dtype="i4") * (rank + 1)
    f.attrs["ranks"] = size
comm.Barrier()
if rank == 0:
    with h5py.File(path, "r") as f:
        print("mpio:", h5py.get_config().mpi, f.attrs["ranks"], f["rows"].shape,
              float(f["rows"][...].sum()), int(f["ind"][...].sum()))
