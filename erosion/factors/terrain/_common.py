"""Shared plumbing of the terrain wrappers: DEM inputs, cell sizes, lazy dispatch, outputs."""

from __future__ import annotations

import functools
import importlib
from collections.abc import Callable

import numpy as np
import xarray as xr

from ..._array import check_not_all_nan, check_range, declared_nodata, finalize, prepare
from ..._log import step
from ...errors import InputError
from ...grid import cell_sizes, north_up

REF_HORN = "Horn, B.K.P. (1981) Hill shading and the reflectance map. Proc. IEEE 69(1):14-47"
REF_BARNES = ("Barnes, R., Lehman, C., Mulla, D. (2014) Priority-flood: an optimal depression-filling and "
              "watershed-labeling algorithm for digital elevation models. Comput. Geosci. 62:117-127")
REF_D8 = ("O'Callaghan, J.F., Mark, D.M. (1984) The extraction of drainage networks from digital elevation "
          "data. Comput. Vision Graph. 28:323-344")
REF_HICKEY = ("Hickey, R. (2000) Slope angle and slope length solutions for GIS. Cartography 29(1):1-8; "
              "Van Remortel, R.D., Hamilton, M.E., Hickey, R.J. (2001) Estimating the LS factor for RUSLE "
              "through iterative slope length processing of digital elevation data. Cartography 30(1):27-35")


def is_dask(x) -> bool:
    data = x.data if isinstance(x, xr.DataArray) else x
    return type(data).__module__.startswith("dask")


def _cellsize(cellsize) -> tuple[float, float]:
    try:
        dx, dy = (cellsize, cellsize) if np.ndim(cellsize) == 0 else tuple(cellsize)
        dx, dy = float(dx), float(dy)
    except (TypeError, ValueError):
        raise InputError(f"cellsize must be a number or a pair (dx, dy) in metres, not {cellsize!r}") from None
    if not (np.isfinite(dx) and np.isfinite(dy) and dx > 0 and dy > 0):
        raise InputError(f"cellsize must be positive and finite (metres), got dx={dx}, dy={dy}")
    return dx, dy


def dem_input(dem, cellsize, validation, *, arg: str = "dem", variable: str = "dem"):
    """Check a DEM-like input: returns (data as float64 numpy or dask, dx, dy per row, template).

    DataArrays take their true per-row cell sizes from :func:`erosion.grid.cell_sizes` unless
    ``cellsize`` overrides them; NumPy arrays need ``cellsize`` (metres). Data and cell sizes
    come north-up (:func:`erosion.grid.north_up`): kernels see rows from north to south and
    columns from west to east whatever the raster's order; :func:`wrap` puts results back.
    """
    dem = prepare(dem, variable, validation=validation, arg=arg)
    if isinstance(dem, xr.DataArray):
        if dem.ndim != 2:
            raise InputError(f"{arg} must be a 2-D (y, x) raster, got dims {dem.dims}")
        if cellsize is None:
            dx, dy = cell_sizes(dem)
        else:
            c = _cellsize(cellsize)
            dx, dy = np.full(dem.shape[0], c[0]), np.full(dem.shape[0], c[1])
        data = north_up(dem.data.astype(np.float64, copy=False), dem)  # no copy of a float64 DEM
        dx, dy = north_up(dx, dem), north_up(dy, dem)
        template = dem
    else:
        data = np.asarray(dem, dtype=np.float64)
        if data.ndim != 2:
            raise InputError(f"{arg} must be a 2-D array (rows, columns), got shape {data.shape}")
        if cellsize is None:
            raise InputError(f"{arg} is a plain array: pass cellsize=<metres> or (dx, dy), or give a DataArray "
                             "with coordinates and a CRS")
        c = _cellsize(cellsize)
        dx, dy = np.full(data.shape[0], c[0]), np.full(data.shape[0], c[1])
        template = None
    if not is_dask(data):
        check_not_all_nan(data, arg)
        check_range(data, variable, validation, arg, declared_nodata(template))
    return data, dx, dy, template


def grid2d(per_row: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """A read-only (ny, nx) view of per-row values."""
    return np.broadcast_to(np.asarray(per_row, dtype=np.float64)[:, None], shape)


def _by_name(func: Callable):
    """``(module, name)`` of a module-level function (a numba kernel), else the function itself.

    Tasks then carry the name, not the compiled kernel: a pickled numba dispatcher is rebuilt
    in each worker process without its on-disk cache and compiled again there (seconds per
    kernel per worker), while the module's own kernel loads from the cache.
    """
    module, name = getattr(func, "__module__", None), getattr(func, "__name__", None)
    if module and name and getattr(importlib.import_module(module), name, None) is func:
        return module, name
    return func


def _stencil_block(kernel, variable, validation, nodata, z, bdx, bdy):
    func = getattr(importlib.import_module(kernel[0]), kernel[1]) if isinstance(kernel, tuple) else kernel
    check_range(z, variable, validation, nodata=nodata)
    return func(z, bdx, bdy)


def stencil(func: Callable, data, dx, dy, dtype, validation, variable: str = "dem", nodata: float | None = None):
    """Run a 3×3 kernel ``func(z, dx2d, dy2d)`` on NumPy or dask data (dask: tile by tile with a one-cell halo).

    Outside the grid is NaN (missing), so every chunking gives the same result.
    """
    if not is_dask(data):
        return _stencil_block(func, variable, validation, nodata, data, grid2d(dx, data.shape), grid2d(dy, data.shape))
    from .tiled import tiled_stencil

    block = functools.partial(_stencil_block, _by_name(func), variable, validation, nodata)
    block.__name__ = getattr(func, "__name__", "stencil")
    return tiled_stencil(block, data, dx, dy, dtype)


def single_chunk(a) -> bool:
    """Whether a dask array holds its last two (y, x) dimensions in one chunk."""
    return all(len(c) == 1 for c in a.chunks[-2:])


def deprecated_allow_compute(allow_compute, what: str) -> bool:
    """``allow_compute`` is deprecated: chunked input now runs tile by tile where the step has a
    tiled form (ADR 0018). Returns whether the caller asked to gather the grid."""
    if allow_compute is None:
        return False
    import warnings

    warnings.warn(f"{what}: allow_compute is deprecated and will be removed. Chunked (dask) input runs tile "
                  "by tile where the step has a tiled form; for the others, rechunk to one block yourself "
                  "(dem.chunk({'y': -1, 'x': -1}) or .rechunk(-1)) when the grid fits in memory.",
                  FutureWarning, stacklevel=3)
    return bool(allow_compute)


def one_chunk(x):
    """A dask-backed raster (DataArray or dask array) rechunked to one block; others unchanged."""
    if not is_dask(x):
        return x
    if isinstance(x, xr.DataArray):
        return x.chunk(dict.fromkeys(x.dims, -1))
    return x.rechunk(-1)


def whole_grid(func: Callable, arrays: list, dtype, what: str, gather: bool = False, tiled: str = ""):
    """Run a whole-grid routing kernel ``func(*arrays)`` on NumPy data, or lazily on dask data.

    Dask input must hold the grid in one chunk (then it runs lazily in that block) or the step
    refuses it with the fix: rechunk to one block, or use ``tiled`` (the tiled alternative, in
    words). ``gather`` (the deprecated ``allow_compute=True``) rechunks to one block here.
    """
    def logged(*blocks):
        with step(what, int(np.prod(np.shape(blocks[0])[-2:]))):
            return func(*blocks)

    lazy = [a for a in arrays if is_dask(a)]
    if not lazy:
        return logged(*[np.asarray(a) for a in arrays])
    import dask.array as da

    if not gather and not all(single_chunk(a) for a in lazy):
        chunks = "x".join(str(len(c)) for c in lazy[0].chunks[-2:])
        raise InputError(
            f"{what} has no tiled form for chunked input ({chunks} chunks)"
            + (f"; {tiled}" if tiled else "")
            + ". Rechunk to one block (dem.chunk({'y': -1, 'x': -1}), or .rechunk(-1)) if the grid fits "
            "in memory; the step then runs lazily on that block.")
    chunks = lazy[0].chunks
    single = [da.asarray(a).rechunk(-1) for a in arrays]
    out = da.map_blocks(logged, *single, dtype=dtype, meta=np.empty((0, 0), dtype=dtype))
    return out.rechunk(chunks)


def wrap(result, template: xr.DataArray | None, variable: str, history: str, references: str,
         extra_attrs: dict | None = None, inputs=()):
    """NumPy result for NumPy input; a finalized DataArray on the template's grid (and in its
    row and column order) otherwise. ``inputs``: other DataArray inputs whose references and
    preparation notes the output carries on."""
    if template is None:
        return result
    out = xr.DataArray(north_up(result, template), dims=template.dims, coords=template.coords)
    return finalize(out, variable, template, history, references, extra_attrs, inputs=inputs)
