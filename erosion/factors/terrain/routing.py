"""Flow routing: depression filling, flow accumulation and slope length (in memory).

These functions need the whole grid at once. NumPy and in-memory DataArrays are processed
directly; dask-backed input is refused unless ``allow_compute=True``, which gathers the grid
into one block lazily (see docs/decisions/0002-flats-epsilon-fill-and-in-memory-routing.md). Tiled routing is planned.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from ..._array import _validation, check_not_all_nan, check_range, prepare
from ..._kernels import terrain as k
from ...errors import GridMismatchError, InputError
from ...grid import north_up, row_areas, same_grid
from ._common import REF_BARNES, REF_HICKEY, dem_input, grid2d, whole_grid, wrap
from .surface import flow_direction

__all__ = ["fill_depressions", "flow_accumulation", "slope_length"]


MAX_LENGTH = 304.8
"""Default slope-length cap, m: 1000 ft, beyond which AH703 does not recommend the LS equations."""


def fill_depressions(dem, *, allow_compute: bool = False, data_validation: str = "raise"):
    """Fill depressions and flats by priority-flood+ε (Barnes et al. 2014, Algorithm 3).

    Every valid cell ends strictly higher (by ≥ 1 ulp of float64) than the neighbour it drains
    to, so no pit or flat remains and :func:`flow_direction` routes every cell to an outlet.
    Outlets are the cells on the grid edge or next to nodata (NaN), whose elevations are kept.
    Result ≥ dem, float64 (the ε steps vanish in float32), same kind as ``dem``.
    """
    validation = _validation(data_validation)
    data, _, _, template = dem_input(dem, 1.0 if not isinstance(dem, xr.DataArray) else None, validation)

    def run(z):
        check_not_all_nan(z, "dem")
        return k.priority_flood_epsilon(np.ascontiguousarray(z, dtype=np.float64))

    out = whole_grid(run, [data], np.float64, allow_compute, "fill_depressions")
    return wrap(out, template, "dem_filled", "fill_depressions: priority-flood+epsilon", REF_BARNES)


def _fdir_input(fdir, arg="fdir"):
    fdir = prepare(fdir, "flow_direction", arg=arg)
    data = north_up(fdir.data, fdir) if isinstance(fdir, xr.DataArray) else np.asarray(fdir)
    if data.ndim != 2:
        raise InputError(f"{arg} must be a 2-D raster of D8 codes, got shape {data.shape}")
    if data.dtype.kind not in "iu":
        raise InputError(f"{arg} must hold integer D8 codes (uint8, from flow_direction), not {data.dtype}")
    return fdir, data.astype(np.uint8)


def _check_codes(fd):
    bad = k.invalid_codes(fd)
    if bad:
        raise InputError(f"flow directions: {bad} cells hold codes other than 0, 1, 2, 4, ..., 128 or 255 "
                         "(ESRI D8 encoding); compute them with erosion.factors.flow_direction")


def flow_accumulation(fdir, *, cell_area=None, allow_compute: bool = False):
    """Upslope contributing area (m², float64) along D8 directions, the cell itself included.

    ``A_i = a_i + Σ_{j → i} A_j`` in topological (Kahn) order, O(n). DataArrays use true cell
    areas (:func:`erosion.grid.row_areas`, ellipsoidal on geographic grids); for NumPy input
    ``cell_area`` (m², scalar or array) defaults to 1, which gives cell counts. Nodata (255) → NaN.
    """
    fdir, fd = _fdir_input(fdir)
    template = fdir if isinstance(fdir, xr.DataArray) else None
    if cell_area is None:
        area = grid2d(north_up(row_areas(fdir), fdir), fd.shape) if template is not None else np.ones(fd.shape)
    else:
        if isinstance(cell_area, xr.DataArray) and template is not None:
            cell_area = north_up(same_grid(fdir, cell_area, names=["fdir", "cell_area"])[1].values, fdir)
        elif template is not None and np.ndim(cell_area) == 2:
            cell_area = north_up(np.asarray(cell_area), fdir)  # given in the raster's row order
        try:
            area = np.broadcast_to(np.asarray(cell_area, dtype=np.float64), fd.shape)
        except ValueError:
            raise GridMismatchError(f"cell_area of shape {np.shape(cell_area)} does not fit the flow-direction grid "
                                    f"{fd.shape}; pass a scalar (m²) or an array on the same grid") from None
        if not np.all(area >= 0):
            raise InputError("cell_area must be non-negative (m²)")

    def run(f):
        _check_codes(f)
        acc, complete = k.flow_accumulation(f, area)
        if not complete:
            raise InputError("flow directions contain a loop (cells draining into each other); "
                             "recompute them from a filled DEM with flow_direction(fill_depressions(dem))")
        return acc

    out = whole_grid(run, [fd], np.float64, allow_compute, "flow_accumulation")
    return wrap(out, template, "flow_accumulation", "flow_accumulation: D8, true cell areas",
                "O'Callaghan, J.F., Mark, D.M. (1984) Comput. Vision Graph. 28:323-344")


def slope_length(dem, *, fdir=None, slope=None, max_length: float | None = MAX_LENGTH, cutoff_gentle: float = 0.7,
                 cutoff_steep: float = 0.5, cutoff_break_deg: float = 2.8624, min_slope_deg: float = 0.1,
                 cellsize=None, allow_compute: bool = False, data_validation: str = "raise"):
    """Cumulative horizontal slope length λ (m, float64) along D8 paths (Hickey 2000; Van Remortel et al. 2001).

    Per cell: step = distance to its receiver (dx, dy or diagonal, true metres); angle =
    downslope angle to the receiver (or ``slope``, degrees, when given), at least
    ``min_slope_deg``. Cells without inflow start at step/2. A cell continues the length of an
    upslope neighbour u, ``λ_u + step_u``, only if ``angle ≥ angle_u · F`` with F =
    ``cutoff_gentle`` where angle < ``cutoff_break_deg`` (5 %) and ``cutoff_steep`` otherwise;
    with several such neighbours it takes the maximum; where every inflow is cut off it
    restarts at one cell length (the AML's rule). λ ≤ ``max_length`` (default 304.8 m = 1000 ft,
    the AH703 upper limit; None = no cap).

    Without ``fdir`` the DEM is filled (:func:`fill_depressions`) and routed here; with
    ``fdir``, ``dem`` must be the filled DEM those directions came from.
    """
    validation = _validation(data_validation)
    for name, v in (("cutoff_gentle", cutoff_gentle), ("cutoff_steep", cutoff_steep)):
        if not 0.0 <= v <= 1.1:
            raise InputError(f"{name} must lie in [0, 1.1] (fraction of the upslope angle), got {v}")
    if max_length is not None and not max_length > 0:
        raise InputError(f"max_length must be positive (metres) or None, got {max_length}")
    cap = np.inf if max_length is None else float(max_length)
    if fdir is None:
        dem = fill_depressions(dem, allow_compute=allow_compute, data_validation=validation)
        fdir = flow_direction(dem, cellsize=cellsize, data_validation=validation)
    dem, fdir, *rest = same_grid(dem, fdir, *([slope] if slope is not None else []),
                                 names=["dem", "fdir", "slope"][: 2 + (slope is not None)])
    slope = rest[0] if rest else None
    data, dx, dy, template = dem_input(dem, cellsize, validation)
    _, fd = _fdir_input(fdir)
    if fd.shape != data.shape:
        raise InputError(f"dem {data.shape} and fdir {fd.shape} differ in shape")
    arrays = [data, fd]
    if slope is not None:
        slope = prepare(slope, "slope", validation=validation, arg="slope")
        arrays.append(north_up(slope.data, slope) if isinstance(slope, xr.DataArray)
                      else np.asarray(slope, dtype=np.float64))
    dx2, dy2 = grid2d(dx, data.shape), grid2d(dy, data.shape)

    def run(z, f, s=None):
        check_not_all_nan(z, "dem")
        _check_codes(f)
        if s is not None:
            check_range(s, "slope", validation)
        lam, complete = k.slope_length(
            np.ascontiguousarray(z, dtype=np.float64), f, dx2, dy2,
            np.zeros((1, 1)) if s is None else np.asarray(s, dtype=np.float64), s is not None, cap,
            float(cutoff_gentle), float(cutoff_steep), float(cutoff_break_deg), float(min_slope_deg))
        if not complete:
            raise InputError("flow directions contain a loop; recompute them from a filled DEM")
        return lam

    out = whole_grid(run, arrays, np.float64, allow_compute, "slope_length")
    cap_text = "none" if max_length is None else f"{cap:g} m"
    return wrap(out, template, "slope_length",
                f"slope_length: D8 accumulation, cutoffs {cutoff_gentle}/{cutoff_steep} at {cutoff_break_deg} deg, "
                f"min slope {min_slope_deg} deg, max length {cap_text}", REF_HICKEY)
