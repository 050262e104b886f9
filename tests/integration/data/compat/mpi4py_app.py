# mpi4py under the preload: point-to-point (pickled objects and buffers, blocking and non-blocking),
# collectives on buffers of several sizes, a split communicator and MPI-IO through mpi4py.
# Output (rank 0 only) is deterministic; usage: python3 mpi4py_app.py SCRATCH_FILE
import sys
import numpy as np
from mpi4py import MPI

comm = MPI.COMM_WORLD
rank, size = comm.Get_rank(), comm.Get_size()
out = []

# point to point: objects and buffers around a ring
right, left = (rank + 1) % size, (rank - 1) % size
obj = comm.sendrecv({"from": rank, "v": [rank] * 3}, dest=right, source=left)
buf = np.full(1000, rank, dtype="i8")
got = np.empty_like(buf)
reqs = [comm.Irecv(got, source=left, tag=7), comm.Isend(buf, dest=right, tag=7)]
MPI.Request.Waitall(reqs)
checks = comm.gather((obj["from"], int(got.sum())), root=0)
if rank == 0:
    out.append("ring: %s" % checks)

# collectives at several sizes
for n in (1, 7, 1000, 100000):
    a = np.arange(n, dtype="f8") * (rank + 1)
    s = np.empty_like(a)
    for _ in range(20):
        comm.Allreduce(a, s, op=MPI.SUM)
    b = np.arange(n, dtype="i4") if rank == 0 else np.empty(n, dtype="i4")
    comm.Bcast(b, root=0)
    r = np.empty_like(a) if rank == 0 else None
    comm.Reduce(a, r, op=MPI.MAX, root=0)
    g = np.empty(n * size, dtype="f8")
    comm.Allgather(a, g)
    t = np.empty(n * size, dtype="f8")
    comm.Alltoall(np.repeat(a[:1], n * size), t)
    if rank == 0:
        out.append("n=%d allreduce=%.1f bcast=%d reduce=%.1f allgather=%.1f alltoall=%.1f"
                   % (n, s.sum(), int(b.sum()), r.max(), g.sum(), t.sum()))
comm.Barrier()
v = comm.allreduce(rank + 1)
sc = comm.scatter([i * i for i in range(size)] if rank == 0 else None, root=0)
ga = comm.gather(sc, root=0)
if rank == 0:
    out.append("objects: allreduce=%d gather=%s" % (v, ga))

# a split communicator
sub = comm.Split(rank % 2, rank)
x = sub.allreduce(rank)
xs = comm.gather((sub.Get_size(), x), root=0)
sub.Free()
if rank == 0:
    out.append("split: %s" % xs)

# MPI-IO: each rank writes its block collectively, then reads its neighbour's
path = sys.argv[1]
fh = MPI.File.Open(comm, path, MPI.MODE_CREATE | MPI.MODE_RDWR)
blk = np.arange(4096, dtype="i4") + rank * 4096
fh.Write_at_all(rank * blk.nbytes, blk)
fh.Sync()
comm.Barrier()
rd = np.empty_like(blk)
fh.Read_at_all(left * blk.nbytes, rd)
fh.Close()
sums = comm.gather(int(rd.sum()), root=0)
if rank == 0:
    out.append("mpiio: %s size=%d" % (sums, MPI.File.Open(MPI.COMM_SELF, path, MPI.MODE_RDONLY).Get_size()))
    print("\n".join(out))
