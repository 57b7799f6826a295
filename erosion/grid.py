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

__all__ = ["Grid", "align", "cell_area", "cell_sizes", "check_same_grid", "grid_of", "is_geographic", "same_grid"]

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


def _spatial_dims(da: xr.DataArray) -> tuple[str, str] | None:
    """(y, x) dimension names as rioxarray finds them (y/x, lat/lon, ...), or None."""
    try:
        return da.rio.y_dim, da.rio.x_dim
    except Exception:  # no recognisable spatial dimensions
        return None


def _regular_step(name: str, values: np.ndarray) -> float:
    step = (values[-1] - values[0]) / (values.size - 1)
    if step == 0 or np.max(np.abs(np.diff(values) - step)) > 1e-3 * abs(step):
        raise InputError(f"coordinate {name!r} is not evenly spaced (steps from {np.min(np.diff(values)):.10g} to "
                         f"{np.max(np.diff(values)):.10g}); a raster needs a regular grid: resample it with "
                         "da.rio.reproject(...) or erosion.align(...)")
    return float(step)


def _coordinate_transform(da: xr.DataArray) -> tuple[float, ...] | None:
    """The affine transform implied by regular 1-D cell-centre coordinates (None if there are none)."""
    dims = _spatial_dims(da)
    if dims is None or any(d not in da.coords or da[d].ndim != 1 or da.sizes[d] < 2 for d in dims):
        return None
    y, x = (np.asarray(da[d].values, dtype=np.float64) for d in dims)
    a, e = _regular_step(dims[1], x), _regular_step(dims[0], y)
    return (a, 0.0, x[0] - a / 2.0, 0.0, e, y[0] - e / 2.0)


def grid_of(da: xr.DataArray) -> Grid:
    """The :class:`Grid` of a 2-D DataArray (its CRS may be None).

    The x/y coordinates decide whenever they define a transform (two or more cells along each
    axis): xarray keeps coordinates right through ``sortby``, ``isel`` and slicing, while the
    GeoTransform cached in ``spatial_ref`` goes stale (``dem.sortby("y")`` keeps a north-up
    GeoTransform for south-up data). The cached transform is used when it agrees with the
    coordinates (to 1e-6 of a cell; it is exact where they carry rounding) and for grids with
    a single row or column. A rotated transform is refused.
    """
    _require_2d(da)
    crs = da.rio.crs
    try:
        cached = tuple(float(v) for v in tuple(da.rio.transform(recalc=False))[:6])
    except Exception:  # no spatial coordinates at all
        cached = (1.0, 0.0, 0.0, 0.0, -1.0, 0.0)
    if cached[1] or cached[3]:
        raise InputError(f"{da.name or 'raster'} has a rotated or sheared transform {cached}; warp it to a "
                         "north-up grid first, e.g. da.rio.reproject(da.rio.crs)")
    implied = _coordinate_transform(da)
    transform = cached
    if implied is not None:
        cell = max(abs(implied[0]), abs(implied[4]))
        if not np.allclose(implied, cached, rtol=0.0, atol=1e-6 * cell):
            transform = implied  # the cached transform contradicts the coordinates: it is stale
            if np.allclose(np.abs(implied[::4]), np.abs(cached[::4]), rtol=0.0, atol=1e-6 * cell):
                # flipped or shifted (sortby, isel): keep the cached cell size, exact where coordinates round
                a, e = np.copysign(cached[0], implied[0]), np.copysign(cached[4], implied[4])
                dims = _spatial_dims(da)
                transform = (a, 0.0, float(da[dims[1]][0]) - a / 2.0, 0.0, e, float(da[dims[0]][0]) - e / 2.0)
    return Grid(crs=crs, transform=transform, shape=tuple(da.shape[-2:]))


def check_same_grid(*arrays: xr.DataArray, names: list[str] | None = None, tolerance: float = 1e-4) -> None:
    """Raise :class:`GridMismatchError` unless all DataArrays share CRS, transform and shape.

    Non-DataArray arguments (scalars, NumPy arrays) are skipped. The message names both grids.
    Transforms match within ``tolerance`` × the cell size: files written and read back by GDAL
    differ in the last bits of their coordinates, while any real misregistration is far larger.
    """
    names = names or [f"input {i + 1}" for i in range(len(arrays))]
    das = [(n, a) for n, a in zip(names, arrays, strict=True) if isinstance(a, xr.DataArray)]
    if len(das) < 2:
        return
    ref_name, ref = das[0]
    g0 = grid_of(ref)
    cell = max(abs(g0.transform[0]), abs(g0.transform[4]))
    for name, da in das[1:]:
        g = grid_of(da)
        problem = None
        if g.shape != g0.shape:
            problem = "shapes differ"
        elif (g.crs is None) != (g0.crs is None) or (g.crs is not None and g.crs != g0.crs):
            problem = "CRS differ"
        elif not np.allclose(g.transform, g0.transform, rtol=0.0, atol=tolerance * cell):
            problem = "transforms differ"
        if problem:
            flipped = problem == "transforms differ" and np.isclose(g.transform[4], -g0.transform[4], rtol=tolerance)
            hint = (" One is north-up and the other south-up: flip one with da.isel(y=slice(None, None, -1))"
                    " or da.sortby('y', ascending=...)." if flipped else "")
            raise GridMismatchError(
                f"{ref_name} and {name} are on different grids ({problem}):\n"
                f"  {ref_name}: {g0.describe()}\n  {name}: {g.describe()}\n"
                f"Bring them onto one grid explicitly with erosion.align({ref_name}, {name}).{hint}"
            )


def same_grid(*arrays, names: list[str] | None = None) -> list:
    """Check that the DataArrays among ``arrays`` share one grid and put them on the first one's
    coordinates, so that xarray combines them; other arguments are returned unchanged.

    Rasters within :func:`check_same_grid`'s tolerance often differ in the last bits of their
    coordinates (a GeoTIFF written and read back), which xarray's exact alignment refuses.
    """
    check_same_grid(*arrays, names=names)
    das = [a for a in arrays if isinstance(a, xr.DataArray)]
    if len(das) < 2:
        return list(arrays)
    ref = das[0]
    ref_dims = _spatial_dims(ref) or ref.dims[-2:]
    out = []
    for a in arrays:
        if isinstance(a, xr.DataArray) and a is not ref:
            dims = _spatial_dims(a) or a.dims[-2:]
            if tuple(dims) != tuple(ref_dims):
                a = a.rename(dict(zip(dims, ref_dims, strict=True)))
            a = a.assign_coords({d: ref.coords[d] for d in ref_dims if d in ref.coords})
        out.append(a)
    return out


def north_up(x, template: xr.DataArray | None):
    """``x`` (an array on ``template``'s grid) in north-up, east-right row and column order.

    Kernels that know compass directions (D8 codes, routing) work on that order; the flip is
    its own inverse, so the same call puts their results back in the template's order.
    ``x`` is per-row values (1-D) or has the grid as its last two axes (a leading axis such as
    MFD's ``direction`` is kept). Arrays without a template are taken to be north-up already.
    """
    if template is None:
        return x
    t = grid_of(template).transform
    rows = slice(None, None, -1) if t[4] > 0 else slice(None)
    cols = slice(None, None, -1) if t[0] < 0 else slice(None)
    if rows == cols == slice(None):
        return x
    return x[rows] if np.ndim(x) == 1 else x[..., rows, cols]


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

    The result is lazy (dask, chunked like ``da``) when ``da`` is. A single band is squeezed.
    """
    from ._array import squeeze_bands  # _array imports this module

    if isinstance(da, xr.DataArray):
        da = squeeze_bands(da, "cell_area: da")
    areas = row_areas(da)
    ydim, xdim = da.dims[-2], da.dims[-1]
    out = xr.DataArray(areas, dims=(ydim,)).broadcast_like(da).transpose(ydim, xdim).astype(np.float64)
    if da.chunks is not None:
        out = out.chunk(dict(zip((ydim, xdim), da.chunks[-2:], strict=True)))
    return finalize(out, "cell_area", da, "cell_area: true cell areas (ellipsoidal for geographic grids)")


#: Resampling methods that produce values the source does not hold: refused on categorical rasters.
_INVENTING = ("bilinear", "cubic", "cubic_spline", "lanczos", "average", "gauss", "rms", "sum")


def _is_categorical(da: xr.DataArray) -> bool:
    """Integer or bool dtype, or CF ``flag_values``: class codes, unit labels, flow directions."""
    return da.dtype.kind in "iub" or "flag_values" in da.attrs


def align(reference: xr.DataArray, *others: xr.DataArray, resampling: str | None = None) -> list[xr.DataArray]:
    """Reproject ``others`` onto the grid of ``reference``, explicitly.

    ``resampling`` is a rasterio resampling name; ``None`` (default) takes "nearest" for
    categorical rasters (integer or bool dtype, or ``flag_values``) and "bilinear" for the
    others. Methods that invent values (bilinear, cubic, average, ...) are refused on
    categorical rasters with :class:`InputError`.

    Outside the source, float rasters get NaN. Integer rasters keep their dtype and get their
    nodata sentinel (``rio.nodata``/``_FillValue``); without one, the dtype's maximum
    (unsigned) or minimum (signed), recorded with ``rio.write_nodata``. Bool rasters come back
    as uint8 (0/1, 255 outside). Attributes are kept; each result records the step in its
    ``history``.
    """
    from rasterio.enums import Resampling

    from ._array import declared_nodata  # _array imports this module
    from .errors import UnknownCodeError

    if resampling is not None and resampling not in Resampling.__members__:
        raise UnknownCodeError(f"unknown resampling {resampling!r}; use one of {[r.name for r in Resampling]}")
    if reference.rio.crs is None:
        raise InputError("align: the reference raster has no CRS; set one with da.rio.write_crs(...)")
    out = []
    for i, da in enumerate(others):
        label = f"raster {i + 1} ({da.name!r})"
        if da.rio.crs is None:
            raise InputError(f"align: {label} has no CRS; set one with da.rio.write_crs(...)")
        categorical = _is_categorical(da)
        name = resampling or ("nearest" if categorical else "bilinear")
        if categorical and name in _INVENTING:
            why = "flag_values" if da.dtype.kind == "f" else "integer/bool values"
            raise InputError(
                f"align: {label} is categorical (dtype {da.dtype}, {why}) and resampling={name!r} would "
                "invent values between its classes; use resampling='nearest' or 'mode' (or None to choose per raster)"
            )
        src = da.astype(np.uint8) if da.dtype == bool else da
        if src.dtype.kind in "iu":
            fill = declared_nodata(src)
            if fill is None:
                info = np.iinfo(src.dtype)
                fill = info.max if src.dtype.kind == "u" else info.min
            src = src.copy(deep=False)
            src.encoding = {}  # an inherited float fill value is no sentinel here
            src = src.rio.write_nodata(fill)
        else:
            fill = np.nan
        r = src.rio.reproject_match(reference, resampling=Resampling[name], nodata=fill)
        r.attrs = {k: v for k, v in da.attrs.items() if k not in ("_FillValue", "missing_value")}
        if r.dtype.kind in "iu" or "_FillValue" not in r.encoding:
            r = r.rio.write_nodata(fill)
        step = f"erosion.align: reprojected onto the reference grid ({name})"
        r.attrs["history"] = (str(da.attrs.get("history", "")) + "\n" + step).strip()
        out.append(r)
    return out
