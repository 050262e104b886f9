# h5py (serial HDF5) under the preload: contiguous and compressed chunked datasets, attributes,
# groups, partial reads; deterministic output. Usage: python3 h5py_serial.py FILE
import sys
import numpy as np
import h5py

path = sys.argv[1]
with h5py.File(path, "w") as f:
    f["x"] = np.arange(10.0)
    f.attrs["title"] = "compat"
    g = f.create_group("grp")
    d = g.create_dataset("z", (200, 300), dtype="i4", chunks=(50, 60), compression="gzip")
    for i in range(0, 200, 50):
        d[i:i + 50, :] = np.arange(i * 300, (i + 50) * 300, dtype="i4").reshape(50, 300)
with h5py.File(path, "r") as f:
    x = f["x"][...]
    z = f["grp/z"]
    print("x:", x.sum(), x.dtype, f.attrs["title"])
    print("z:", z.shape, z.chunks, z.compression, int(z[...].sum()), int(z[10:20, 5].sum()))
    print("keys:", sorted(f.keys()), sorted(f["grp"].keys()))
