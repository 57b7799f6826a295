"""Flow routing: depression filling and breaching, flow accumulation and slope length.

These steps follow flow over the whole grid. NumPy and in-memory DataArrays are processed
directly. Chunked (dask) input runs tile by tile, lazily and exactly, where the step has a tiled
form (the fill with Barnes flats, D8 accumulation, slope length: ADRs 0017, 0018); the others
(priority-flood+ε, breaching, D∞ and MFD accumulation) take dask input held in one chunk.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from ..._array import _validation, check_not_all_nan, check_range, declared_nodata, prepare
from ..._kernels import terrain as k
from ...errors import GridMismatchError, InputError
from ...grid import north_up, row_areas, same_grid
from ._common import (
    REF_BARNES,
    REF_D8,
    REF_HICKEY,
    dem_input,
    deprecated_allow_compute,
    grid2d,
    is_dask,
    one_chunk,
    whole_grid,
    wrap,
)
from .surface import flow_direction

__all__ = ["breach_depressions", "fill_depressions", "flow_accumulation", "slope_length"]


MAX_LENGTH = 304.8
"""Default slope-length cap, m: 1000 ft, beyond which AH703 does not recommend the LS equations."""


def fill_depressions(dem, *, flats: str = "barnes", allow_compute: bool | None = None,
                     data_validation: str = "raise"):
    """Fill depressions and flats so that every valid cell drains (Barnes et al. 2014).

    ``flats="barnes"`` (default): priority-flood to exact flats (Algorithm 2), then each flat
    cell is raised by ``2·t + (H − a)`` ulps, t and a its BFS distances from lower and from
    higher terrain and H the largest a on its flat (Barnes, Lehman & Mulla 2014b): flow leaves
    the rims and converges on the outlets (docs/methods/conditioning.md, ADRs 0014, 0018).
    ``flats="epsilon"``: priority-flood+ε (Algorithm 3): a cell reached from c becomes
    ``max(z, nextafter(z_c))``, so flow on filled depressions and flats follows the flood order,
    in parallel lines toward the spill point.

    Chunked (dask) input with ``flats="barnes"`` is filled tile by tile (Barnes 2016, ADR 0018):
    lazily, with memory set by the chunk size, and equal bit for bit to the in-memory result for
    every chunking. The ε rule follows the flood order over the whole grid and has no tiled
    form: it takes dask input held in one chunk.

    Either way every valid cell ends strictly higher (by ≥ 1 ulp of float64) than the neighbour
    it drains to, so no pit or flat remains and :func:`flow_direction` routes every cell to an
    outlet. Outlets are the cells on the grid edge or next to nodata (NaN), whose elevations are
    kept. Result ≥ dem, float64 (the ulp steps vanish in float32), same kind as ``dem``.
    """
    from ..._kernels import conditioning as kc
    from ...errors import UnknownCodeError

    if flats not in kc.FLATS:
        raise UnknownCodeError(f"unknown flats rule {flats!r}; use one of {list(kc.FLATS)}")
    gather = deprecated_allow_compute(allow_compute, "fill_depressions")
    validation = _validation(data_validation)
    data, _, _, template = dem_input(dem, 1.0 if not isinstance(dem, xr.DataArray) else None, validation)
    kernel = k.priority_flood_epsilon if flats == "epsilon" else kc.priority_flood_barnes

    def run(z):
        check_not_all_nan(z, "dem")
        return kernel(np.ascontiguousarray(z, dtype=np.float64))

    if is_dask(data) and flats == "barnes" and not gather:
        out = _tiled_fill(data, template, validation)
    else:
        out = whole_grid(run, [data], np.float64, "fill_depressions", gather,
                         "flats='barnes' (the default) fills chunked input tile by tile")
    if flats == "epsilon":
        return wrap(out, template, "dem_filled", "fill_depressions: priority-flood+epsilon", REF_BARNES)
    return wrap(out, template, "dem_filled", "fill_depressions: priority-flood, flats toward lower and away from "
                "higher terrain (Barnes et al. 2014b), ulp increments", f"{REF_BARNES}; {kc.REF_FLATS}")


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


def flow_accumulation(fdir, *, cell_area=None, weights=None, output: str = "area", contour_width: str = "cell",
                      cellsize=None, allow_compute: bool | None = None):
    """Upslope contributing area (m², float64) along D8, D∞ or MFD directions, the cell itself included.

    ``A_i = a_i·w_i + Σ_j f_ji · A_j`` in topological (Kahn) order, O(n); f_ji is the fraction of
    j's outflow that reaches i: 1 for the D8 receiver, the two D∞ shares (Tarboton 1997) or the
    MFD fractions. The routing is read from ``fdir``: uint8 D8 codes, float D∞ angles (radians),
    or (8, ny, nx) MFD fractions, as :func:`flow_direction` returns them. Flow toward a
    neighbour off the grid or in nodata leaves the grid. Loops raise :class:`InputError`.

    a_i: ``cell_area`` (m², scalar or raster); by default true cell areas for DataArrays
    (:func:`erosion.grid.row_areas`), ``dx·dy`` when ``cellsize`` is given, else 1 (cell counts)
    for NumPy. w_i: ``weights`` (scalar or raster, e.g. runoff or a 0/1 mask; NaN counts as 0),
    default 1. ``output="sca"`` gives the specific catchment area A_i / b_i (m): with
    ``contour_width="cell"`` (default) b_i = √(dx·dy), the cell size, for every routing (TauDEM's
    D∞ and Whitebox's FD8 convention; within 11 % of r/2 on a cone, ADR 0013); with ``"quinn"``
    (MFD only) the sum of Quinn et al.'s (1991) contour lengths over the directions that receive
    flow (0.5·cell cardinal, 0.354·cell diagonal; TOPMODEL's a, 35 % below r/2 on a cone).
    ``cellsize`` (metres or (dx, dy)) overrides the raster's cell sizes; NumPy input without it
    is taken as square cells of side √a_i. Nodata → NaN. Chunked (dask) D8 codes run tile by
    tile (Barnes 2017, ADR 0017), lazily and exactly; D∞ and MFD take input held in one chunk.
    """
    from ...errors import UnknownCodeError
    from . import _multiflow as mf

    if output not in ("area", "sca"):
        raise UnknownCodeError(f"unknown output {output!r}; use 'area' (m²) or 'sca' (specific catchment area, m)")
    if contour_width not in ("cell", "quinn"):
        raise UnknownCodeError(f"unknown contour_width {contour_width!r}; use 'cell' or 'quinn' (MFD only)")
    routing = mf.routing_of(fdir)
    if contour_width == "quinn" and routing != "mfd":
        raise InputError(f"contour_width='quinn' needs MFD fractions (flow_direction(dem, routing='mfd')), not {routing}")
    if routing == "d8":
        fdir, fd = _fdir_input(fdir)
        template = fdir if isinstance(fdir, xr.DataArray) else None
    else:
        template, fd = mf.fdir_input(fdir, routing)
    shape = fd.shape[-2:]
    dx, dy = mf.cell_sizes_of(template, cellsize, shape)
    if cell_area is None:
        if cellsize is not None:
            area = dx * dy
        else:
            area = grid2d(north_up(row_areas(template), template), shape) if template is not None else np.ones(shape)
    else:
        if isinstance(cell_area, xr.DataArray) and template is not None:
            cell_area = north_up(same_grid(template, cell_area, names=["fdir", "cell_area"])[1].values, template)
        elif template is not None and np.ndim(cell_area) == 2:
            cell_area = north_up(np.asarray(cell_area), template)  # given in the raster's row order
        try:
            area = np.broadcast_to(np.asarray(cell_area, dtype=np.float64), shape)
        except ValueError:
            raise GridMismatchError(f"cell_area of shape {np.shape(cell_area)} does not fit the flow-direction grid "
                                    f"{shape}; pass a scalar (m²) or an array on the same grid") from None
        if not np.all(area >= 0):
            raise InputError("cell_area must be non-negative (m²)")
    if dx is None:
        dx = dy = np.sqrt(area)  # NumPy without cellsize: square cells of the given area
    w = None if weights is None else mf.on_grid(weights, template, shape, "weights")
    gather = deprecated_allow_compute(allow_compute, "flow_accumulation")
    out = mf.accumulate(routing, fd, area, dx, dy, w, output == "sca", contour_width == "quinn", gather)
    what = {"d8": "D8", "dinf": "D-infinity", "mfd": "MFD"}[routing]
    history = (f"flow_accumulation: {what}, {'true cell areas' if cell_area is None else 'given cell areas'}"
               + ("" if weights is None else ", weighted")
               + (f", per unit contour width ({contour_width})" if output == "sca" else ""))
    refs = {"d8": REF_D8, "dinf": mf.REF_TARBOTON, "mfd": mf.REF_MFD["quinn"]}[routing]
    variable = "specific_catchment_area" if output == "sca" else "flow_accumulation"
    return wrap(out, template, variable, history, refs, inputs=(weights, cell_area))


def _check_slope_length_args(cutoff_gentle, cutoff_steep, max_length, channel_area) -> float:
    """Check the slope-length rules; returns the cap in metres (inf = none)."""
    for name, v in (("cutoff_gentle", cutoff_gentle), ("cutoff_steep", cutoff_steep)):
        if not 0.0 <= v <= 1.1:
            raise InputError(f"{name} must lie in [0, 1.1] (fraction of the upslope angle), got {v}")
    if max_length is not None and not max_length > 0:
        raise InputError(f"max_length must be positive (metres) or None, got {max_length}")
    if channel_area is not None and not (np.isscalar(channel_area) and float(channel_area) > 0):
        raise InputError(f"channel_area must be a positive contributing area in m² (e.g. 1e4 for 1 ha) or None, "
                         f"not {channel_area!r}")
    return np.inf if max_length is None else float(max_length)


def _stop_cells(barriers, template, shape):
    """A barrier raster (True/1 = barrier; NaN or 0 = none) as a north-up bool array."""
    if isinstance(barriers, xr.DataArray):
        b = north_up(np.asarray(barriers.values), barriers)
    else:
        b = np.asarray(barriers)
    if b.shape != shape:
        raise GridMismatchError(f"barriers of shape {b.shape} do not match the DEM {shape}")
    if b.dtype == np.bool_:
        return b
    with np.errstate(invalid="ignore"):
        bad = ~np.isnan(b) & (b != 0) & (b != 1) if b.dtype.kind == "f" else (b != 0) & (b != 1)
    if bad.any():
        raise InputError(f"barriers must be a mask (True/1 = barrier, False/0 or NaN = none); {int(bad.sum())} "
                         f"cells hold other values such as {np.unique(b[bad])[:5].tolist()}")
    return b == 1


def slope_length(dem, *, fdir=None, slope=None, max_length: float | None = MAX_LENGTH, cutoff_gentle: float = 0.7,
                 cutoff_steep: float = 0.5, cutoff_break_deg: float = 2.8624, min_slope_deg: float = 0.1,
                 channel_area: float | None = None, barriers=None,
                 cellsize=None, allow_compute: bool | None = None, data_validation: str = "raise"):
    """Cumulative horizontal slope length λ (m, float64) along D8 paths (Hickey 2000; Van Remortel et al. 2001).

    Per cell: step = distance to its receiver (dx, dy or diagonal, true metres); angle =
    downslope angle to the receiver (or ``slope``, degrees, when given), at least
    ``min_slope_deg``. Cells without inflow start at step/2. A cell continues the length of an
    upslope neighbour u, ``λ_u + step_u``, only if ``angle ≥ angle_u · F`` with F =
    ``cutoff_gentle`` where angle < ``cutoff_break_deg`` (5 %) and ``cutoff_steep`` otherwise;
    with several such neighbours it takes the maximum; where every inflow is cut off it
    restarts at one cell length (the AML's rule). λ ≤ ``max_length`` (default 304.8 m = 1000 ft,
    the AH703 upper limit; None = no cap).

    Slope length also ends where overland flow concentrates or is interrupted
    (docs/decisions/0015-channels-and-barriers.md): cells whose D8 contributing area (m², the
    cell included) reaches ``channel_area`` are channels, and cells marked in ``barriers``
    (a mask on the DEM's grid: field borders, roads, ditches, terrace risers) stop it. Such a
    stop cell takes no length from upslope (it restarts at one cell length) and passes none
    downslope (the cells below it start afresh, at step/2 when it was their only inflow).

    Without ``fdir`` the DEM is filled (:func:`fill_depressions`) and routed here; with
    ``fdir``, ``dem`` must be the filled DEM those directions came from. Chunked (dask) input
    runs tile by tile (ADR 0017), lazily and bit for bit as in memory, unless ``slope`` is given
    (then it takes input held in one chunk).
    """
    gather = deprecated_allow_compute(allow_compute, "slope_length")
    out, template = _slope_length(dem, fdir, slope, max_length, cutoff_gentle, cutoff_steep, cutoff_break_deg,
                                  min_slope_deg, channel_area, barriers, cellsize, gather, data_validation)
    cap_text = "none" if max_length is None else f"{float(max_length):g} m"
    stops_text = "".join([f", channels from {channel_area:g} m2" if channel_area is not None else "",
                          ", barriers given" if barriers is not None else ""])
    return wrap(out, template, "slope_length",
                f"slope_length: D8 accumulation, cutoffs {cutoff_gentle}/{cutoff_steep} at {cutoff_break_deg} deg, "
                f"min slope {min_slope_deg} deg, max length {cap_text}{stops_text}", REF_HICKEY,
                inputs=(fdir, slope, barriers))


def _slope_length(dem, fdir, slope, max_length, cutoff_gentle, cutoff_steep, cutoff_break_deg, min_slope_deg,
                  channel_area, barriers, cellsize, gather, data_validation, finish=None):
    """:func:`slope_length` before wrapping: (north-up result, template). ``finish`` (dask input
    only, see :func:`erosion.factors.terrain.tiled.tiled_slope_length`) turns each tile's λ into
    the result."""
    validation = _validation(data_validation)
    cap = _check_slope_length_args(cutoff_gentle, cutoff_steep, max_length, channel_area)
    if fdir is None:
        dem = fill_depressions(one_chunk(dem) if gather else dem, data_validation=validation)
        fdir = flow_direction(dem, cellsize=cellsize, data_validation=validation)
    optional = {"slope": slope, "barriers": barriers}
    names = ["dem", "fdir", *(n for n, v in optional.items() if v is not None)]
    dem, fdir, *rest = same_grid(dem, fdir, *(v for v in optional.values() if v is not None), names=names)
    optional.update(zip(names[2:], rest, strict=True))
    data, dx, dy, template = dem_input(dem, cellsize, validation)
    _, fd = _fdir_input(fdir)
    if fd.shape != data.shape:
        raise InputError(f"dem {data.shape} and fdir {fd.shape} differ in shape")
    arrays = [data, fd]
    if optional["slope"] is not None:
        slope = prepare(optional["slope"], "slope", validation=validation, arg="slope")
        arrays.append(north_up(slope.data, slope) if isinstance(slope, xr.DataArray)
                      else np.asarray(slope, dtype=np.float64))
    stop = None
    lazy_barriers = optional["barriers"] is not None and is_dask(optional["barriers"])
    if optional["barriers"] is not None and not lazy_barriers:
        stop = _stop_cells(optional["barriers"], template, data.shape)
    elif lazy_barriers:  # gathered with the other arrays when the whole grid is computed
        b = optional["barriers"]
        arrays.append(north_up(b.data, b) if isinstance(b, xr.DataArray) else b)
    dx2, dy2 = grid2d(dx, data.shape), grid2d(dy, data.shape)
    areas = None
    if channel_area is not None:
        per_row = north_up(row_areas(template), template) if template is not None else np.asarray(dx) * np.asarray(dy)
        areas = grid2d(per_row, data.shape)

    def run(z, f, *more):
        more = list(more)
        s = more.pop(0) if optional["slope"] is not None else None
        check_not_all_nan(z, "dem")
        _check_codes(f)
        if s is not None:
            check_range(s, "slope", validation)
        stops = np.zeros(f.shape, dtype=np.bool_) if stop is None else stop.copy()
        if lazy_barriers:
            stops |= _stop_cells(more.pop(0), None, f.shape)
        if areas is not None:
            acc, complete = k.flow_accumulation(f, areas)
            if not complete:
                raise InputError("flow directions contain a loop; recompute them from a filled DEM")
            stops |= acc >= float(channel_area)
        lam, complete = k.slope_length(
            np.ascontiguousarray(z, dtype=np.float64), f, dx2, dy2,
            np.zeros((1, 1)) if s is None else np.asarray(s, dtype=np.float64), s is not None, cap,
            float(cutoff_gentle), float(cutoff_steep), float(cutoff_break_deg), float(min_slope_deg), stops)
        if not complete:
            raise InputError("flow directions contain a loop; recompute them from a filled DEM")
        return lam

    if is_dask(data) and not gather and optional["slope"] is None:
        out = _tiled_slope_length(data, fd, dx, dy, template, optional["barriers"], channel_area, cap,
                                  cutoff_gentle, cutoff_steep, cutoff_break_deg, min_slope_deg, finish)
    else:
        if finish is not None:
            raise RuntimeError("finish needs the tiled slope length")
        out = whole_grid(run, arrays, np.float64, "slope_length", gather,
                         "without slope=, slope length runs tile by tile (the angle from the DEM)")
    return out, template


def breach_depressions(dem, *, max_depth: float | None = None, max_length: int | None = None,
                       fill_remaining: bool = True, flats: str = "barnes", allow_compute: bool | None = None,
                       data_validation: str = "raise"):
    """Carve channels out of depressions (Lindsay 2016), then fill what remains.

    Priority-flood breaching: cells leave a heap in elevation order from the outlets (edge cells
    and cells beside nodata), each remembering the cell it was reached from. A cell reached lower
    than that cell lies in a depression: the path back toward the outlet is lowered to a strict
    descent, each cell one ulp below the one before, until a cell already that low is met. So a
    pit is drained by a channel cut through its lowest pass instead of being flooded.

    ``max_depth`` (m; total lowering of any cell) and ``max_length`` (number of cells one channel
    lowers, Lindsay's unit) constrain the carving: a channel that would exceed either is not cut.
    With ``fill_remaining`` (default) what is left (depressions not breached, flats) is filled
    by :func:`fill_depressions` with the ``flats`` rule, which leaves breach channels untouched,
    so every valid cell drains; without it the carved DEM is returned as is (pits and flats may
    remain). float64, same kind as ``dem``. Breaching carves along flood paths over the whole
    grid and has no tiled form: dask input must be held in one chunk.
    """
    from ..._kernels import conditioning as kc
    from ...errors import UnknownCodeError

    if flats not in kc.FLATS:
        raise UnknownCodeError(f"unknown flats rule {flats!r}; use one of {list(kc.FLATS)}")
    for name, value, what in (("max_depth", max_depth, "depth in metres"), ("max_length", max_length, "number of cells")):
        if value is not None and not (isinstance(value, int | float | np.integer | np.floating) and value >= 0):
            raise InputError(f"{name} must be a non-negative {what} or None, not {value!r}")
    gather = deprecated_allow_compute(allow_compute, "breach_depressions")
    depth = np.inf if max_depth is None else float(max_depth)
    length = np.inf if max_length is None else float(max_length)
    validation = _validation(data_validation)
    data, _, _, template = dem_input(dem, 1.0 if not isinstance(dem, xr.DataArray) else None, validation)
    fill = k.priority_flood_epsilon if flats == "epsilon" else kc.priority_flood_barnes

    def run(z):
        check_not_all_nan(z, "dem")
        carved, _, remaining = kc.breach(np.ascontiguousarray(z, dtype=np.float64), depth, length)
        return fill(carved) if fill_remaining and remaining else carved  # without remaining, fill is a no-op

    out = whole_grid(run, [data], np.float64, "breach_depressions", gather,
                     "fill_depressions fills chunked input tile by tile")
    limits = (f"max depth {'none' if max_depth is None else f'{depth:g} m'}, "
              f"max length {'none' if max_length is None else f'{length:g} cells'}")
    rest = f"remaining depressions and flats filled ({flats})" if fill_remaining else "remaining depressions not filled"
    refs = f"{kc.REF_BREACH}; {REF_BARNES}" + (f"; {kc.REF_FLATS}" if fill_remaining and flats == "barnes" else "")
    return wrap(out, template, "dem_breached",
                f"breach_depressions: priority-flood breaching (Lindsay 2016), {limits}; {rest}", refs)


def _tiled_slope_length(data, fd, dx, dy, template, barriers, channel_area, cap, cutoff_gentle, cutoff_steep,
                        cutoff_break_deg, min_slope_deg, finish=None):
    """Slope length of dask input tile by tile (ADR 0017): the filled DEM and its codes are given;
    channels come from the tiled accumulation and barriers block by block, all lazily."""
    import dask.array as da

    from .tiled import tiled_flow_accumulation, tiled_slope_length

    stop = None
    if barriers is not None:
        raw = north_up(barriers.data, barriers) if isinstance(barriers, xr.DataArray) else da.asarray(barriers)
        stop = da.map_blocks(lambda b: _stop_cells(b, None, b.shape), raw.rechunk(fd.chunks), dtype=np.bool_)
    if channel_area is not None:
        per_row = north_up(row_areas(template), template) if template is not None else np.asarray(dx) * np.asarray(dy)
        channel = tiled_flow_accumulation(fd, per_row) >= float(channel_area)
        stop = channel if stop is None else stop | channel
    return tiled_slope_length(data, fd, np.asarray(dx), np.asarray(dy), cap, float(cutoff_gentle),
                              float(cutoff_steep), float(cutoff_break_deg), float(min_slope_deg), stop, finish=finish)


def _tiled_fill(data, template, validation):
    """The Barnes-flats fill of dask input tile by tile (ADR 0018), each block range-checked."""
    from .tiled import tiled_fill

    nodata = declared_nodata(template)

    def checked(z):
        check_range(z, "dem", validation, nodata=nodata)
        return z

    return tiled_fill(data.map_blocks(checked, dtype=np.float64), flats="barnes")
