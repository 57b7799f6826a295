"""The per-cell soil-loss models: CSLE (Liu et al. 2002) and RUSLE (Renard et al. 1997).

Both are one fused numba pass (``erosion._kernels.model``) that reads every factor once,
checks its valid range in the same loop, and writes A in t·hm⁻²·a⁻¹ (float32). DataArrays
go through ``xr.apply_ufunc(dask="parallelized")``, so dask inputs stay lazy and the range
check runs on each block when it is computed.
"""

from __future__ import annotations

import functools
import itertools
import operator
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import xarray as xr

from . import vocabulary
from ._array import ArrayLike, Validation, _complain, _validation, check_range, declared_nodata, finalize, prepare
from ._array import eager_threads as _threads
from ._kernels.model import VALID_BIT, csle_product, csle_product_cropland, rusle_product
from .errors import InputError
from .grid import same_grid

__all__ = ["csle", "rusle"]

#: Keyword of :func:`csle` / :func:`rusle` -> vocabulary name of the factor.
CSLE_VARIABLES = {"R": "rainfall_erosivity", "K": "soil_erodibility", "LS": "ls_factor", "B": "biological_factor",
                  "E": "engineering_factor", "T": "tillage_factor"}
RUSLE_VARIABLES = {"R": "rainfall_erosivity", "K": "soil_erodibility", "LS": "ls_factor",
                   "C": "cover_management_factor", "P": "support_practice_factor"}
_CSLE = tuple(CSLE_VARIABLES.items())
_RUSLE = tuple(RUSLE_VARIABLES.items())

CSLE_REFERENCES = "Liu B.Y., Zhang K.L., Xie Y. (2002) An empirical soil loss equation. Proc. 12th ISCO, Beijing, 2:21-25"
CROPLAND_RULE_REFERENCES = "Chang M. et al. (2021) ChinaXiv 202108.00091"
RUSLE_REFERENCES = ("Renard K.G. et al. (1997) Predicting soil erosion by water: a guide to conservation "
                    "planning with RUSLE. USDA Agriculture Handbook 703")


def _bounds(spec) -> tuple[np.ndarray, np.ndarray]:
    """Valid ranges of the factors, from the vocabulary (unbounded = ±inf)."""
    specs = [vocabulary.get(v) for _, v in spec]
    lo = np.array([-np.inf if v.valid_min is None else v.valid_min for v in specs], dtype=np.float64)
    hi = np.array([np.inf if v.valid_max is None else v.valid_max for v in specs], dtype=np.float64)
    return lo, hi


def _flat(x, shape: tuple[int, ...]) -> np.ndarray:
    """A 1-D view of ``x`` broadcast to ``shape``: no copy for contiguous full arrays or scalars."""
    a = np.asarray(x)
    n = int(np.prod(shape))
    if a.shape == shape and a.flags.c_contiguous:
        return a.reshape(-1)
    if a.size == 1:
        return np.broadcast_to(a.astype(np.float64, copy=False).reshape(1), (n,))
    return np.ascontiguousarray(np.broadcast_to(a, shape)).reshape(-1)


def _crop_codes(cropland, validation: Validation) -> np.ndarray:
    """Cropland mask → uint8 codes: 1 cropland, 0 other land, 2 nodata (NaN)."""
    c = np.asarray(cropland)
    if c.dtype == np.bool_:
        return c.view(np.uint8)
    with np.errstate(invalid="ignore"):
        nodata = np.isnan(c) if c.dtype.kind == "f" else np.zeros(c.shape, dtype=bool)
        bad = ~((c == 0) | (c == 1) | nodata)
    if bad.any():
        _complain(f"cropland: {int(bad.sum())} of {c.size} cells are neither 0 (other land) nor 1 (cropland) "
                  f"(values such as {np.unique(c[bad])[:5].tolist()}); mark nodata as NaN or declare the sentinel "
                  "with da.rio.write_nodata(...). With data_validation='warn' they are treated as nodata.", validation)
        nodata = nodata | bad
    return np.where(nodata, 2, c == 1).astype(np.uint8)


def _run_split(kernel, flats, lo, hi, out, threads: int) -> int:
    """Run a nogil kernel over ``threads`` contiguous slices and OR their flags together."""
    if threads <= 1:
        return int(kernel(*flats, lo, hi, out))
    edges = np.linspace(0, out.size, threads + 1).astype(np.int64)
    parts = [slice(a, b) for a, b in itertools.pairwise(edges)]
    with ThreadPoolExecutor(threads) as pool:
        flags = pool.map(lambda s: int(kernel(*(f[s] for f in flats), lo, hi, out[s])), parts)
        return functools.reduce(operator.or_, flags, 0)


def _product(spec, arrays, cropland, validation: Validation, out: np.ndarray | None = None, threads: int = 1,
             nodata=None):
    """Run the kernel on concrete arrays (one block or a whole array) and apply its checks.

    Returns the product and whether any cell of it is a number. ``threads`` > 1 splits the
    loop over threads: eager NumPy calls only, since inside dask blocks dask owns parallelism.
    ``nodata`` holds the factors' declared nodata sentinels, named in range errors.
    """
    arrays = [np.asarray(a) for a in arrays]
    shapes = [a.shape for a in arrays] + ([] if cropland is None else [np.shape(cropland)])
    shape = np.broadcast_shapes(*shapes)
    flats = [_flat(a, shape) for a in arrays]
    if out is None:
        out = np.empty(shape, dtype=np.float32)
    elif out.shape != shape or out.dtype != np.float32 or not out.flags.c_contiguous:
        raise InputError(f"out must be a C-contiguous float32 array of shape {shape}, "
                         f"not {out.dtype} {out.shape}")
    lo, hi = _bounds(spec)
    if spec == _CSLE and cropland is not None:
        kernel, flats = csle_product_cropland, [*flats, _flat(_crop_codes(cropland, validation), shape)]
    else:
        kernel = csle_product if spec == _CSLE else rusle_product
    flags = _run_split(kernel, flats, lo, hi, out.reshape(-1), threads)
    for j, (name, var) in enumerate(spec):
        if flags >> j & 1:
            check_range(arrays[j], var, validation, name, None if nodata is None else nodata[j])
    return out, bool(flags >> VALID_BIT & 1)


def _soil_loss(spec, values: dict, cropland, validation: str, history: str, references: str,
               out: np.ndarray | None = None) -> ArrayLike:
    validation = _validation(validation)
    names = [n for n, _ in spec]
    prepared = [prepare(values[n], var, validation=validation, arg=n) for n, var in spec]
    if cropland is not None:
        cropland = prepare(cropland, "cropland", validation=validation, arg="cropland")
        sentinel = declared_nodata(cropland)
        if isinstance(cropland, xr.DataArray) and cropland.dtype.kind in "iu" and sentinel is not None:
            cropland = cropland.where(cropland != sentinel)  # the sentinel becomes NaN: A is NaN there
    everything = [*prepared, *([] if cropland is None else [cropland])]
    das = [x for x in everything if isinstance(x, xr.DataArray)]
    if das:
        if out is not None:
            raise InputError("out= is for NumPy inputs only; DataArray inputs return a new DataArray")
        nodata = [declared_nodata(x) for x in prepared]
        everything = same_grid(*everything, names=[*names, "cropland"][: len(everything)])
        das = [x for x in everything if isinstance(x, xr.DataArray)]

        def block(*arrays):
            crop = arrays[len(spec)] if cropland is not None else None
            return _product(spec, arrays[: len(spec)], crop, validation, threads=1, nodata=nodata)[0]

        out = xr.apply_ufunc(block, *everything, dask="parallelized", output_dtypes=[np.float32], keep_attrs=False)
        return finalize(out, "soil_loss", das[0], history, references, inputs=das)

    n_cells = int(np.prod(np.broadcast_shapes(*(np.shape(x) for x in everything))))
    result, any_valid = _product(spec, prepared, cropland, validation, out, threads=_threads(n_cells))
    if result.size and not any_valid:
        empty = [n for n, x in zip(names, prepared, strict=True) if not np.isfinite(np.asarray(x, dtype=np.float64)).any()]
        raise InputError(f"every cell of A is NaN: {', '.join(empty) or 'the inputs'} hold no valid value; "
                         "check nodata values and that the rasters cover the same area")
    if all(np.ndim(x) == 0 for x in everything):
        return float(result.reshape(()))
    return result


def csle(R: ArrayLike, K: ArrayLike, LS: ArrayLike, B: ArrayLike = 1.0, E: ArrayLike = 1.0, T: ArrayLike = 1.0,
         *, cropland: ArrayLike | None = None, data_validation: Validation = "raise",
         out: np.ndarray | None = None) -> ArrayLike:
    """Chinese Soil Loss Equation, ``A = R·K·LS·B·E·T`` (Liu et al. 2002), in t·hm⁻²·a⁻¹.

    R in MJ·mm·hm⁻²·h⁻¹·a⁻¹, K in t·hm²·h·hm⁻²·MJ⁻¹·mm⁻¹ (SI), LS, B, E, T dimensionless
    (B, E, T in [0, 1]). DataArrays in other known units are converted; plain numbers and
    NumPy arrays are taken in these units. With a ``cropland`` mask (1 or True = cropland,
    0 = other land, NaN or the raster's nodata sentinel = unknown, giving NaN A), B is not
    applied on cropland and T only on cropland, as in national monitoring (docs/methods/model.md);
    without it every factor multiplies everywhere. NaN in any factor
    gives NaN. Out-of-range factors raise :class:`~erosion.errors.ValueRangeError`
    (``data_validation="warn"`` only warns). For NumPy inputs, ``out`` may be a preallocated
    C-contiguous float32 array to write into (saves page-faulting a new one in loops).
    """
    return _soil_loss(_CSLE, {"R": R, "K": K, "LS": LS, "B": B, "E": E, "T": T}, cropland, data_validation,
                      "csle: A = R*K*LS*B*E*T" + ("" if cropland is None else " (B off cropland, T on cropland)"),
                      CSLE_REFERENCES + ("" if cropland is None else "; " + CROPLAND_RULE_REFERENCES), out)


def rusle(R: ArrayLike, K: ArrayLike, LS: ArrayLike, C: ArrayLike = 1.0, P: ArrayLike = 1.0,
          *, data_validation: Validation = "raise", out: np.ndarray | None = None) -> ArrayLike:
    """Revised Universal Soil Loss Equation, ``A = R·K·LS·C·P`` (Renard et al. 1997), in t·hm⁻²·a⁻¹.

    Units as for :func:`csle`: R in MJ·mm·hm⁻²·h⁻¹·a⁻¹ and K in SI units (US customary K is
    0.1317 × smaller in SI, R 17.02 × larger), C and P in [0, 1]. ``out`` as for :func:`csle`.
    """
    return _soil_loss(_RUSLE, {"R": R, "K": K, "LS": LS, "C": C, "P": P}, None, data_validation,
                      "rusle: A = R*K*LS*C*P", RUSLE_REFERENCES, out)
