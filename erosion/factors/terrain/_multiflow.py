"""Wrapper plumbing of D∞ and MFD routing: checks, 3-D (direction, y, x) rasters, accumulation.

Used by :func:`flow_direction` and :func:`flow_accumulation`; kernels in
``erosion/_kernels/multiflow.py``. Equations and conventions: docs/methods/routing.md.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from ..._array import check_range, finalize, prepare
from ..._kernels import multiflow as mk
from ..._kernels import terrain as k
from ...errors import GridMismatchError, InputError, UnknownCodeError
from ...grid import cell_sizes, north_up, same_grid
from ._common import _cellsize, grid2d, is_dask, single_chunk, stencil, whole_grid, wrap

ROUTINGS = ("d8", "dinf", "mfd")
MFD_WEIGHTS = ("quinn", "freeman", "holmgren")
DIRECTIONS = ("E", "SE", "S", "SW", "W", "NW", "N", "NE")
"""Labels of the ``direction`` dimension of MFD fractions: the D8 order, clockwise from east."""

REF_TARBOTON = ("Tarboton, D.G. (1997) A new method for the determination of flow directions and upslope areas "
                "in grid digital elevation models. Water Resour. Res. 33(2):309-319")
REF_MFD = {
    "quinn": "Quinn, P., Beven, K., Chevallier, P., Planchon, O. (1991) The prediction of hillslope flow paths for "
             "distributed hydrological modelling using digital terrain models. Hydrol. Process. 5:59-79",
    "freeman": "Freeman, T.G. (1991) Calculating catchment area with divergent flow based on a regular grid. "
               "Comput. Geosci. 17(3):413-422",
    "holmgren": "Holmgren, P. (1994) Multiple flow direction algorithms for runoff modelling in grid based "
                "elevation models: an empirical evaluation. Hydrol. Process. 8:327-334",
}


def check_routing(routing, exponent, mfd_weights) -> None:
    if routing not in ROUTINGS:
        raise UnknownCodeError(f"unknown routing {routing!r}; use one of {list(ROUTINGS)}")
    if mfd_weights not in MFD_WEIGHTS:
        raise UnknownCodeError(f"unknown mfd_weights {mfd_weights!r}; use one of {list(MFD_WEIGHTS)}")
    number = isinstance(exponent, (int, float, np.number)) and not isinstance(exponent, bool)
    if not (number and np.isfinite(exponent) and exponent > 0):
        raise InputError(f"exponent must be a positive number (the p of (tan beta)^p), got {exponent!r}")


def dinf_direction(data, dx, dy, template, validation, nodata):
    out = stencil(mk.dinf_angle, data, dx, dy, np.float32, validation, nodata=nodata)
    return wrap(out, template, "flow_angle", "flow_direction: D-infinity (Tarboton 1997), true cell sizes", REF_TARBOTON,
                {"convention": "radians counter-clockwise from east, in [0, 2 pi); -1 = no downslope neighbour"})


def mfd_direction(data, dx, dy, template, validation, nodata, exponent: float, weights: str):
    """MFD fractions (8, ny, nx): NumPy, or lazily through an overlap of depth 1 (chunk-invariant)."""
    quinn = weights == "quinn"

    def block(z, bdx, bdy):
        check_range(z, "dem", validation, nodata=nodata)
        return mk.mfd_fractions(z, bdx, bdy, float(exponent), quinn)

    if not is_dask(data):
        out = block(data, grid2d(dx, data.shape), grid2d(dy, data.shape))
    else:
        import dask.array as da

        rows = (data.chunks[0], (1,))
        dx2 = da.broadcast_to(da.from_array(np.asarray(dx)[:, None], chunks=rows), data.shape, chunks=data.chunks)
        dy2 = da.broadcast_to(da.from_array(np.asarray(dy)[:, None], chunks=rows), data.shape, chunks=data.chunks)
        halo = [da.overlap.overlap(a, depth={0: 1, 1: 1}, boundary={0: np.nan, 1: np.nan}) for a in (data, dx2, dy2)]
        out = da.map_blocks(lambda z, bdx, bdy: block(z, bdx, bdy)[:, 1:-1, 1:-1], *halo, new_axis=0,
                            chunks=((8,), *data.chunks), dtype=np.float32, meta=np.empty((0, 0, 0), dtype=np.float32))
    if template is None:
        return out
    res = xr.DataArray(north_up(out, template), dims=("direction", *template.dims),
                       coords={**template.coords, "direction": list(DIRECTIONS)})
    law = "(tan beta)^p * L (Quinn contour lengths)" if quinn else "(tan beta)^p"
    return finalize(res, "flow_fraction", template,
                    f"flow_direction: MFD, fractions {law}, weights {weights!r}, p = {exponent:g}, true cell sizes",
                    REF_MFD[weights])


# --- accumulation ---------------------------------------------------------------------------

def routing_of(fdir) -> str:
    """'d8' (integer codes), 'dinf' (float angles) or 'mfd' ((8, ny, nx) fractions) from the input."""
    if isinstance(fdir, xr.DataArray):
        if "direction" in fdir.dims:
            return "mfd"
        kind = fdir.dtype.kind
    else:
        if not isinstance(fdir, np.ndarray) and not is_dask(fdir):
            fdir = np.asarray(fdir)
        if fdir.ndim == 3 and fdir.shape[0] == 8:
            return "mfd"
        kind = fdir.dtype.kind
    if kind in "iub":
        return "d8"
    if kind == "f":
        return "dinf"
    raise InputError(f"fdir must hold D8 codes (integer), D-infinity angles (float) or MFD fractions "
                     f"(8, ny, nx), not dtype {fdir.dtype}")


def fdir_input(fdir, routing):
    """(raster or None as grid template, north-up data) of a D∞ or MFD input."""
    if routing == "dinf":
        fdir = prepare(fdir, "flow_angle", arg="fdir")
        if isinstance(fdir, xr.DataArray):
            return fdir, north_up(fdir.data, fdir)
        data = np.asarray(fdir, dtype=np.float64) if not is_dask(fdir) else fdir
        if data.ndim != 2:
            raise InputError(f"fdir must be a 2-D raster of D-infinity angles, got shape {data.shape}")
        return None, data
    if isinstance(fdir, xr.DataArray):
        if fdir.sizes["direction"] != 8 or fdir.ndim != 3:
            raise InputError(f"MFD fractions must have dims (direction: 8, y, x), got {dict(fdir.sizes)}")
        fdir = fdir.transpose("direction", ...)
        template = fdir.isel(direction=0, drop=True)
        return template, north_up(fdir.data, template)
    return None, fdir if is_dask(fdir) else np.asarray(fdir)


def on_grid(x, template, shape, what):
    """A scalar or raster argument (cell_area, weights) as a north-up array broadcast to ``shape``."""
    if isinstance(x, xr.DataArray) and template is not None:
        x = north_up(same_grid(template, x, names=["fdir", what])[1].data, template)
    elif template is not None and np.ndim(x) == 2:
        x = north_up(x if is_dask(x) else np.asarray(x), template)  # given in the raster's row order
    if is_dask(x):
        if x.shape != shape:
            raise GridMismatchError(f"{what} of shape {x.shape} does not fit the flow-direction grid {shape}")
        return x.astype(np.float64)
    try:
        return np.broadcast_to(np.asarray(x, dtype=np.float64), shape)
    except ValueError:
        raise GridMismatchError(f"{what} of shape {np.shape(x)} does not fit the flow-direction grid "
                                f"{shape}; pass a scalar or an array on the same grid") from None


def cell_sizes_of(template, cellsize, shape):
    """(dx, dy) as north-up 2-D arrays (m): ``cellsize``, else the raster's true sizes, else (None, None)."""
    if cellsize is not None:
        cx, cy = _cellsize(cellsize)
        return grid2d(np.full(shape[0], cx), shape), grid2d(np.full(shape[0], cy), shape)
    if template is not None:
        sx, sy = cell_sizes(template)
        return grid2d(north_up(sx, template), shape), grid2d(north_up(sy, template), shape)
    return None, None


def accumulate(routing, fd, area, dx, dy, weights, sca: bool, quinn_width: bool, gather: bool):
    """Contributing area (or SCA) of D8 codes, D∞ angles or MFD fractions; north-up data in and out.

    SCA divides by the cell size √(dx·dy), or with ``quinn_width`` (MFD only) by the sum of the
    Quinn contour lengths over the directions that receive flow. Dask D8 codes (unless
    ``gather``, the deprecated ``allow_compute=True``) run tile by tile
    (:func:`erosion.factors.terrain.tiled.tiled_flow_accumulation`,
    ADR 0017): lazy, exact, memory bounded by the chunk size.
    """
    if routing == "d8" and is_dask(fd) and not gather:
        from .tiled import tiled_flow_accumulation

        def per_row(a):  # a broadcast per-row grid stays per row: nothing grid-sized in memory
            a = np.asarray(a)
            return a[:, 0] if a.ndim == 2 and a.strides[1] == 0 else a

        contrib = per_row(area)
        if weights is not None:
            import dask.array as da

            rows = contrib[:, None] if contrib.ndim == 1 else contrib
            contrib = rows * da.nan_to_num(da.asarray(weights, dtype=np.float64))
        acc = tiled_flow_accumulation(fd, contrib)
        if not sca:
            return acc
        width = np.sqrt(per_row(dx) * per_row(dy))
        return acc / (width[:, None] if width.ndim == 1 else width)

    def run(f, w=None):
        contrib = area if w is None else area * np.nan_to_num(np.asarray(w, dtype=np.float64))
        if routing == "d8":
            from .routing import _check_codes

            _check_codes(f)
            acc, complete = k.flow_accumulation(f, contrib)
        elif routing == "dinf":  # straight from the angles: the shares of mk.dinf_fractions, 20 B/cell
            angle = np.asarray(f)
            if angle.dtype not in (np.float32, np.float64):
                angle = angle.astype(np.float64)
            acc, complete, bad = mk.dinf_accumulate(angle, dx, dy, contrib)
            if bad:
                raise InputError(f"fdir: {bad} cells hold D-infinity angles outside [0, 2 pi] (radians) and "
                                 "are not -1 (no outflow) or NaN. D8 codes must be integers (uint8); angles "
                                 "come from flow_direction(dem, routing='dinf')")
        else:
            frac = np.ascontiguousarray(f)
            _check_fractions(frac)
            acc, complete = mk.accumulate(frac, contrib)
        if not complete:
            raise InputError("flow directions contain a loop (cells draining into each other); "
                             "recompute them from a filled DEM with flow_direction(fill_depressions(dem))")
        if not sca:
            return acc
        return acc / (mk.mfd_contour_width(frac, dx, dy) if quinn_width else np.sqrt(dx * dy))

    arrays = [fd] if weights is None else [fd, weights]
    why = "D8 codes accumulate tile by tile"
    if routing != "mfd":
        return whole_grid(run, arrays, np.float64, "flow_accumulation", gather, why)
    if not any(is_dask(a) for a in arrays):
        return run(*arrays)
    if not gather and not all(single_chunk(a) for a in arrays if is_dask(a)):
        whole_grid(run, arrays, np.float64, "flow_accumulation", False, why)  # raises with the fix
    import dask.array as da  # one block; the direction axis is dropped

    chunks = fd.chunks[1:] if is_dask(fd) else weights.chunks
    single = [da.asarray(a).rechunk(-1) for a in arrays]
    out = da.map_blocks(run, *single, drop_axis=0, dtype=np.float64, meta=np.empty((0, 0)))
    return out.rechunk(chunks)


def _check_fractions(frac):
    if frac.dtype == np.float32:  # flow_direction's output: one compiled pass, no temporaries
        ok = mk.fractions_ok(frac)
    else:
        total = frac.sum(axis=0)
        ok = (np.isnan(frac) | ((frac >= 0) & (frac <= 1 + 1e-6))).all() and not np.any(
            np.isfinite(total) & (total > 0) & (np.abs(total - 1) > 1e-3))
    if not ok:
        raise InputError("MFD fractions must lie in [0, 1] and sum to 1 (or 0 where nothing drains) on each cell; "
                         "compute them with flow_direction(dem, routing='mfd')")
