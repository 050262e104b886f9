# netCDF4-python (libnetcdf over serial HDF5) under the preload: dimensions, variables with
# compression and attributes, an unlimited dimension, read back. Usage: netcdf4_app.py FILE
import sys
import numpy as np
import netCDF4

path = sys.argv[1]
with netCDF4.Dataset(path, "w") as ds:
    ds.createDimension("time", None)
    ds.createDimension("x", 64)
    t = ds.createVariable("time", "f8", ("time",))
    v = ds.createVariable("temp", "f4", ("time", "x"), zlib=True)
    v.units = "K"
    for i in range(5):
        t[i] = i * 0.5
        v[i, :] = np.linspace(270, 280, 64, dtype="f4") + i
    ds.history = "compat"
with netCDF4.Dataset(path) as ds:
    v = ds["temp"]
    print("netcdf:", ds.data_model, ds.history, dict(ds.dimensions.items()).keys(),
          v.shape, v.units, round(float(v[...].sum()), 2), float(ds["time"][...].sum()))
