"""Grids: checks that rasters share one, explicit alignment, true cell sizes and areas.

A grid is a CRS, an affine transform and a shape. Rasters are combined only when all three
match; :func:`align` reprojects on request, never silently.

Cell sizes and areas are true lengths and areas in metres: constant on projected grids
(projection-plane units converted to metres), per row on geographic grids, computed on the
CRS's ellipsoid (parallel arc N·cosφ·Δλ, meridian arc M·Δφ, and the exact area of a
cell bounded by two parallels and two meridians, a²/2·Δλ·[q(φ₂) − q(φ₁)] with q the
authalic function; Snyder 1987, eq. 3-12).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import rioxarray  # noqa: F401  (registers the .rio accessor used throughout)
import xarray as xr

from ._attrs import finalize
from .errors import GridMismatchError, InputError

__all__ = ["Grid", "align", "cell_area", "cell_sizes", "check_same_grid", "grid_of", "is_geographic"]

_WGS84 = (6378137.0, 1.0 / 298.257223563)


@dataclass(frozen=True)
class Grid:
    """The grid of a raster: CRS (WKT or None), affine transform (6 numbers) and shape."""

    crs: Any
    transform: tuple[float, ...]
    shape: tuple[int, int]

    def describe(self) -> str:
        crs = "no CRS" if self.crs is None else (self.crs.to_string() if hasattr(self.crs, "to_string") else str(self.crs))
        t = self.transform
        return f"{crs}, shape {self.shape}, origin ({t[2]:.10g}, {t[5]:.10g}), cell ({t[0]:.10g}, {t[4]:.10g})"


def _require_2d(da: xr.DataArray, what: str = "raster") -> None:
    if not isinstance(da, xr.DataArray) or da.ndim != 2:
        raise InputError(f"{what} must be a 2-D xarray.DataArray (y, x); "
                         f"got {type(da).__name__} with ndim={getattr(da, 'ndim', '?')}")


def grid_of(da: xr.DataArray) -> Grid:
    """The :class:`Grid` of a 2-D DataArray (its CRS may be None)."""
    _require_2d(da)
    crs = da.rio.crs
    try:
        transform = tuple(da.rio.transform(recalc=False))[:6]
    except Exception:  # no spatial coordinates at all
        transform = (1.0, 0.0, 0.0, 0.0, -1.0, 0.0)
    return Grid(crs=crs, transform=tuple(float(v) for v in transform), shape=tuple(da.shape[-2:]))


def check_same_grid(*arrays: xr.DataArray, names: list[str] | None = None, rtol: float = 1e-9) -> None:
    """Raise :class:`GridMismatchError` unless all DataArrays share CRS, transform and shape.

    Non-DataArray arguments (scalars, NumPy arrays) are skipped. The message names both grids.
    """
    names = names or [f"input {i + 1}" for i in range(len(arrays))]
    das = [(n, a) for n, a in zip(names, arrays, strict=True) if isinstance(a, xr.DataArray)]
    if len(das) < 2:
        return
    ref_name, ref = das[0]
    g0 = grid_of(ref)
    for name, da in das[1:]:
        g = grid_of(da)
        problem = None
        if g.shape != g0.shape:
            problem = "shapes differ"
        elif (g.crs is None) != (g0.crs is None) or (g.crs is not None and g.crs != g0.crs):
            problem = "CRS differ"
        elif not np.allclose(g.transform, g0.transform, rtol=rtol, atol=1e-12 * max(1.0, abs(g0.transform[0]))):
            problem = "transforms differ"
        if problem:
            raise GridMismatchError(
                f"{ref_name} and {name} are on different grids ({problem}):\n"
                f"  {ref_name}: {g0.describe()}\n  {name}: {g.describe()}\n"
                "Bring them onto one grid explicitly with erosion.align(...)."
            )


def is_geographic(da: xr.DataArray) -> bool:
    """True when the raster's CRS is geographic (coordinates in degrees)."""
    crs = da.rio.crs
    return bool(crs is not None and crs.is_geographic)


def _ellipsoid(da: xr.DataArray) -> tuple[float, float]:
    """(semi-major axis a in metres, squared eccentricity e²) of the raster's CRS."""
    crs = da.rio.crs
    try:
        from pyproj import CRS

        ell = CRS.from_user_input(crs).ellipsoid
        a, inv_f = ell.semi_major_metre, ell.inverse_flattening
        f = 0.0 if not inv_f else 1.0 / inv_f
    except Exception:
        a, f = _WGS84
    return a, f * (2.0 - f)


def _row_latitudes(da: xr.DataArray) -> tuple[np.ndarray, np.ndarray, float]:
    """Latitude of each row's north and south edges (degrees) and the column width (degrees)."""
    t = grid_of(da).transform
    rows = np.arange(da.shape[-2], dtype=np.float64)
    edge_a = t[5] + rows * t[4]
    edge_b = edge_a + t[4]
    if np.nanmax(np.abs(np.r_[edge_a, edge_b])) > 90.0 + 1e-9:
        raise InputError(f"geographic raster has latitudes beyond ±90° (rows span {edge_a[0]:g} to {edge_b[-1]:g}); "
                         "check its transform")
    return np.maximum(edge_a, edge_b), np.minimum(edge_a, edge_b), abs(t[0])


def _linear_unit_metres(da: xr.DataArray) -> float:
    crs = da.rio.crs
    if crs is None:
        return 1.0
    from pyproj import CRS

    axis = CRS.from_user_input(crs).axis_info
    return float(axis[0].unit_conversion_factor) if axis else 1.0


def cell_sizes(da: xr.DataArray) -> tuple[np.ndarray, np.ndarray]:
    """True cell width and height of every row, in metres: two float64 arrays of length ny.

    Projected grids (and grids without a CRS, whose coordinates are taken as metres) give
    constant arrays. Geographic grids give the parallel arc N(φ)·cosφ·Δλ at the row's centre
    latitude and the meridian arc M(φ)·Δφ.
    """
    _require_2d(da)
    ny = da.shape[-2]
    t = grid_of(da).transform
    if not is_geographic(da):
        k = _linear_unit_metres(da)
        return np.full(ny, abs(t[0]) * k), np.full(ny, abs(t[4]) * k)
    a, e2 = _ellipsoid(da)
    north, south, dlon = _row_latitudes(da)
    phi = np.radians((north + south) / 2.0)
    w = 1.0 - e2 * np.sin(phi) ** 2
    n_radius = a / np.sqrt(w)
    m_radius = a * (1.0 - e2) / w**1.5
    dx = n_radius * np.cos(phi) * np.radians(dlon)
    dy = m_radius * np.radians(north - south)
    return dx, dy


def _authalic_q(phi: np.ndarray, e2: float) -> np.ndarray:
    s = np.sin(phi)
    if e2 == 0.0:
        return 2.0 * s
    e = np.sqrt(e2)
    return (1.0 - e2) * (s / (1.0 - e2 * s**2) - np.log((1.0 - e * s) / (1.0 + e * s)) / (2.0 * e))


def row_areas(da: xr.DataArray) -> np.ndarray:
    """True area (m²) of one cell in each row: float64 array of length ny."""
    _require_2d(da)
    if not is_geographic(da):
        dx, dy = cell_sizes(da)
        return dx * dy
    a, e2 = _ellipsoid(da)
    north, south, dlon = _row_latitudes(da)
    q = _authalic_q(np.radians(north), e2) - _authalic_q(np.radians(south), e2)
    return 0.5 * a**2 * np.radians(dlon) * q


def cell_area(da: xr.DataArray) -> xr.DataArray:
    """True area of every cell (m²) as a DataArray on ``da``'s grid (float64).

    The result is lazy (dask, chunked like ``da``) when ``da`` is.
    """
    areas = row_areas(da)
    ydim, xdim = da.dims[-2], da.dims[-1]
    out = xr.DataArray(areas, dims=(ydim,)).broadcast_like(da).transpose(ydim, xdim).astype(np.float64)
    if da.chunks is not None:
        out = out.chunk(dict(zip((ydim, xdim), da.chunks[-2:], strict=True)))
    return finalize(out, "cell_area", da, "cell_area: true cell areas (ellipsoidal for geographic grids)")


def align(reference: xr.DataArray, *others: xr.DataArray, resampling: str = "bilinear") -> list[xr.DataArray]:
    """Reproject ``others`` onto the grid of ``reference``, explicitly.

    ``resampling`` is a rasterio resampling name ("nearest" for classes and codes,
    "bilinear" or "average" for continuous factors). Attributes are kept; every
    reprojected raster records the step in its ``history``.
    """
    from rasterio.enums import Resampling

    try:
        method = Resampling[resampling]
    except KeyError:
        from .errors import UnknownCodeError

        raise UnknownCodeError(f"unknown resampling {resampling!r}; use one of {[r.name for r in Resampling]}") from None
    if reference.rio.crs is None:
        raise InputError("align: the reference raster has no CRS; set one with da.rio.write_crs(...)")
    out = []
    for i, da in enumerate(others):
        if da.rio.crs is None:
            raise InputError(f"align: raster {i + 1} ({da.name!r}) has no CRS; set one with da.rio.write_crs(...)")
        attrs = dict(da.attrs)
        r = da.rio.reproject_match(reference, resampling=method)
        r.attrs = attrs
        step = f"erosion.align: reprojected onto the reference grid ({resampling})"
        r.attrs["history"] = (attrs.get("history", "") + "\n" + step).strip()
        out.append(r)
    return out
