"""Rasters and checks shared by the terrain tests: projected and geographic DataArrays, planes,
a rough DEM, and the outlets of D8 codes."""

from __future__ import annotations

import numpy as np
import rioxarray  # noqa: F401
import xarray as xr

CRS = "EPSG:32650"


def projected(z, cell=10.0, crs=CRS, units="m"):
    ny, nx = z.shape
    da = xr.DataArray(z, dims=("y", "x"),
                      coords={"y": 4_000_000.0 - (np.arange(ny) + 0.5) * cell, "x": 500_000.0 + (np.arange(nx) + 0.5) * cell},
                      attrs={"units": units} if units else {})
    return da.rio.write_crs(crs)


def geographic(z, lat0=40.0, step=0.0005):
    ny, nx = z.shape
    da = xr.DataArray(z, dims=("y", "x"),
                      coords={"y": lat0 - (np.arange(ny) + 0.5) * step, "x": 110.0 + (np.arange(nx) + 0.5) * step},
                      attrs={"units": "m"})
    return da.rio.write_crs("EPSG:4326")


def plane(ny=40, nx=30, cell=10.0, grad_s=0.1, grad_e=0.0):
    """Elevation falling southward by grad_s and eastward by grad_e (m/m)."""
    i, j = np.mgrid[0:ny, 0:nx].astype(np.float64)
    return 500.0 - grad_s * cell * i - grad_e * cell * j


STEPS = {1: (0, 1), 2: (1, 1), 4: (1, 0), 8: (1, -1), 16: (0, -1), 32: (-1, -1), 64: (-1, 0), 128: (-1, 1)}


def outlets(fd):
    """Cells without a receiver on the grid: code 0, or pointing off the grid or into nodata."""
    fd = np.asarray(fd)
    out = np.zeros(fd.shape, dtype=bool)
    for (i, j), code in np.ndenumerate(fd):
        if code == 255:
            continue
        di, dj = STEPS.get(int(code), (0, 0))
        ni, nj = i + di, j + dj
        out[i, j] = code == 0 or not (0 <= ni < fd.shape[0] and 0 <= nj < fd.shape[1]) or fd[ni, nj] == 255
    return out


def rough_dem(seed=0, ny=60, nx=70):
    rng = np.random.default_rng(seed)
    i, j = np.mgrid[0:ny, 0:nx].astype(np.float64)
    z = 300.0 + 20 * np.sin(i / 9.0) * np.cos(j / 7.0) - 0.5 * i + rng.normal(0, 1.5, (ny, nx))
    z[20:24, 30:33] = np.nan
    z[0, 5] = np.nan
    return z
