"""Plumbing shared by every public function: input checks, dispatch, output attributes.

Public functions accept Python scalars, NumPy arrays and xarray DataArrays (dask-backed
included) and return the same kind. This module keeps that promise in one place:

- :func:`prepare` checks an input's units against the vocabulary and converts them;
- :func:`check_range` applies the vocabulary's valid range (raise or warn);
- :func:`apply_cellwise` runs a per-cell NumPy/numba function on any of those kinds,
  through ``xr.apply_ufunc(dask="parallelized")`` for DataArrays, checking ranges per block
  so that lazy inputs are never computed behind the user's back;
- :func:`finalize` builds output attributes from the vocabulary (never inherited) and
  keeps the CRS.
"""

from __future__ import annotations

import math
import os
import warnings
from collections.abc import Callable, Sequence
from typing import Literal

import numpy as np
import xarray as xr

from . import units as _units
from . import vocabulary
from ._attrs import finalize
from .errors import InputError, UnitsError, ValueRangeError
from .grid import same_grid

Validation = Literal["raise", "warn"]
ArrayLike = float | np.ndarray | xr.DataArray

_HINTS = {
    "slope": " Slope must be in degrees; values above 90 suggest percent: convert with "
    "numpy.degrees(numpy.arctan(percent / 100)) or set units='percent'.",
    "soil_loss": " A must be in t hm-2 a-1; an erosion modulus in t km-2 a-1 is 100 times larger: "
    "set its units attribute to 't km-2 a-1'.",
}


_DEFAULT_HINT = (" Check the input and its units (negative values, percent instead of a 0-1 fraction, "
                 "or US customary units).")


def eager_threads(n_cells: int, min_cells: int = 1 << 20) -> int:
    """Threads for an eager (NumPy) call: up to one per available core, each with ≥ ``min_cells``
    cells. Inside dask blocks dask owns the parallelism: use one."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(1, min(cores, n_cells // min_cells))


def _validation(value: str) -> Validation:
    if value not in ("raise", "warn"):
        from .errors import UnknownCodeError

        raise UnknownCodeError(f"data_validation must be 'raise' or 'warn', not {value!r}")
    return value  # type: ignore[return-value]


def _complain(message: str, validation: Validation, error: type[Exception] = ValueRangeError) -> None:
    if validation == "raise":
        raise error(message)
    warnings.warn(message, stacklevel=4)


def squeeze_bands(x: xr.DataArray, arg: str) -> xr.DataArray:
    """A raster with extra dimensions of size 1 (a ``band`` from ``rioxarray.open_rasterio``)
    without them, said in its history; more than one band is an :class:`InputError`."""
    if x.ndim <= 2:
        return x
    extra = [d for d in x.dims[:-2] if x.sizes[d] == 1]
    if len(extra) < x.ndim - 2:
        sizes = ", ".join(f"{d}={n}" for d, n in x.sizes.items())
        first = next(d for d in x.dims[:-2] if x.sizes[d] > 1)
        raise InputError(f"{arg} has dims {x.dims} ({sizes}) but a 2-D raster (y, x) is needed: select one "
                         f"{first} with da.isel({first}=0), or open a single band with erosion.open_raster(path, band=1)")
    out = x.squeeze(extra, drop=True)
    out.attrs = dict(x.attrs)
    note = f"erosion: {arg}: squeezed the single {', '.join(map(str, extra))} dimension"
    out.attrs["history"] = (str(x.attrs.get("history", "")) + "\n" + note).strip()
    return out


def declared_nodata(x) -> float | None:
    """The finite nodata sentinel a DataArray declares (``rio.nodata``, ``_FillValue`` or
    ``missing_value``), or None. A fill an integer raster cannot hold (NaN or out of its range,
    inherited from a float raster by ``dem.copy(data=labels)``) is no sentinel."""
    if not isinstance(x, xr.DataArray):
        return None
    # the encoding describes the file the data came from, not the data: not a declaration
    candidates = [x.attrs.get("_FillValue"), x.attrs.get("missing_value")]
    try:
        candidates.insert(0, x.rio.nodata)
    except (ValueError, TypeError, OverflowError):  # rioxarray cannot cast the fill to the dtype
        pass
    info = np.iinfo(x.dtype) if x.dtype.kind in "iu" else None
    for value in candidates:
        try:
            v = float(np.asarray(value).reshape(-1)[0]) if value is not None else None
        except (TypeError, ValueError, IndexError):
            continue
        if v is None or not np.isfinite(v):
            continue
        if info is not None and not (v.is_integer() and info.min <= v <= info.max):
            continue
        return v
    return None


def prepare(x: ArrayLike, variable: str, *, validation: Validation = "raise", arg: str | None = None) -> ArrayLike:
    """Check the units of one input and convert it to the vocabulary's canonical units.

    DataArrays must say their units unless the variable is dimensionless; scalars and NumPy
    arrays are taken to be in canonical units already (documented in every public function).
    A single band dimension is squeezed first (:func:`squeeze_bands`).
    """
    arg = arg or variable
    if x is None:
        raise InputError(f"{arg} is required")
    if not isinstance(x, xr.DataArray):
        if not isinstance(x, (int, float, np.number, np.ndarray, list, tuple)):
            raise InputError(f"{arg} must be a number, a NumPy array or an xarray.DataArray, not {type(x).__name__}")
        return x
    x = squeeze_bands(x, arg)
    spec = vocabulary.get(variable)
    given = x.attrs.get("units")
    if given is None:
        if _units.normalise(spec.units) == "1":
            return x
        _complain(
            f"{arg} ({x.name or 'unnamed DataArray'}) has no 'units' attribute; expected {spec.units!r} "
            f"({spec.long_name}). Set it with da.attrs['units'] = {spec.units!r}, or open the file with "
            f"erosion.open_raster(path, units={spec.units!r}).",
            validation,
            UnitsError,
        )
        return x
    conv = _units.conversion(str(given), variable)
    if conv is None:
        return x
    attrs = dict(x.attrs, units=spec.units)
    if callable(conv):
        out = xr.apply_ufunc(conv, x, dask="parallelized", output_dtypes=[np.float64], keep_attrs=False)
        out = out.astype(x.dtype if x.dtype.kind == "f" else np.float64)
        if "spatial_ref" in x.coords:  # apply_ufunc drops the attrs (the CRS) of scalar coordinates
            out = out.assign_coords(spatial_ref=x.coords["spatial_ref"])
    else:
        out = x * conv
    out.attrs = attrs
    out.attrs["history"] = (attrs.get("history", "") + f"\nerosion: converted {arg} from {given!r} to {spec.units!r}").strip()
    return out


#: Values that files use as nodata; out of range, they are named as a likely undeclared sentinel.
COMMON_SENTINELS = (-9999.0, -99999.0, -32768.0, -32767.0, 32767.0, 255.0, 65535.0, -3.4028234663852886e38,
                    -1.0e10, -1.7976931348623157e308)


def _nodata_hint(v: np.ndarray, bad: np.ndarray, nodata: float | None) -> str:
    """Say when out-of-range cells hold a nodata sentinel, and how to mask it."""
    if nodata is not None:
        n = int(np.count_nonzero(v[bad] == nodata))
        if n:
            return (f" {n} of these cells hold {nodata:g}, the nodata value the raster declares: open it with "
                    "erosion.open_raster(path) (nodata becomes NaN) or rioxarray.open_rasterio(path, masked=True), "
                    "or mask it with da.where(da != da.rio.nodata).")
    values = np.unique(v[bad])
    if values.size == 1 and any(math.isclose(float(values[0]), s, rel_tol=1e-6) for s in COMMON_SENTINELS):
        return (f" All of them hold {values[0]:g}, a common nodata sentinel the raster does not declare: declare it "
                f"with da.rio.write_nodata({values[0]:g}) and open the file masked (erosion.open_raster), or mask it "
                f"with da.where(da != {values[0]:g}).")
    return ""


def check_range(values: np.ndarray, variable: str, validation: Validation, arg: str | None = None,
                nodata: float | None = None) -> None:
    """Apply the vocabulary's valid range to concrete values (one block or a whole array).

    ``nodata`` is the raster's declared sentinel (:func:`declared_nodata`): when out-of-range
    cells hold it, the message says so and how to mask it.
    """
    spec = vocabulary.get(variable)
    if spec.valid_min is None and spec.valid_max is None:
        return
    v = np.asarray(values)
    if v.size == 0 or v.dtype.kind not in "fiub":
        return
    with np.errstate(invalid="ignore"):
        low = int(np.count_nonzero(v < spec.valid_min)) if spec.valid_min is not None else 0
        high = int(np.count_nonzero(v > spec.valid_max)) if spec.valid_max is not None else 0
    if low or high:
        lo, hi = np.nanmin(v), np.nanmax(v)
        with np.errstate(invalid="ignore"):
            bad = (v < (-np.inf if spec.valid_min is None else spec.valid_min)) | \
                  (v > (np.inf if spec.valid_max is None else spec.valid_max))
        hint = _nodata_hint(v, bad, nodata) or _HINTS.get(variable, _DEFAULT_HINT)
        _complain(
            f"{arg or variable}: {low + high} of {v.size} cells lie outside the valid range "
            f"[{spec.valid_min}, {spec.valid_max}] {spec.units} of {spec.long_name} "
            f"({low} below, {high} above; values span {lo:g} to {hi:g}).{hint}",
            validation,
        )


def check_not_all_nan(values: np.ndarray, arg: str) -> None:
    """Raise if a concrete float array holds no valid value at all."""
    v = np.asarray(values)
    if v.size and v.dtype.kind == "f" and not np.isfinite(v).any():
        raise InputError(f"{arg} is entirely NaN/nodata ({v.size} cells): "
                         "check the file, its nodata value and the area it covers")


def apply_cellwise(
    func: Callable[..., np.ndarray],
    inputs: Sequence[tuple[str, str, ArrayLike]],
    *,
    output: str,
    history: str,
    references: str | None = None,
    dtype: type = np.float32,
    validation: Validation = "raise",
    kwargs: dict | None = None,
    check: bool = True,
) -> ArrayLike:
    """Apply a per-cell function to scalars, NumPy arrays or DataArrays and return that kind.

    ``inputs`` is a list of ``(argument name, vocabulary variable, value)``. ``func`` gets
    NumPy arrays (or scalars) in canonical units and returns a NumPy array. With ``check``
    the valid range of each input is applied to every block as it is computed.
    """
    validation = _validation(validation)
    kwargs = kwargs or {}
    names = [a for a, _, _ in inputs]
    variables = [v for _, v, _ in inputs]
    values = [prepare(x, v, validation=validation, arg=a) for a, v, x in inputs]
    nodata = [declared_nodata(v) for v in values]

    def block(*arrays):
        if check:
            for arr, var, arg, nd in zip(arrays, variables, names, nodata, strict=True):
                check_range(arr, var, validation, arg, nd)
        return func(*arrays, **kwargs)

    das = [v for v in values if isinstance(v, xr.DataArray)]
    if das:
        values = same_grid(*values, names=names)
        das = [v for v in values if isinstance(v, xr.DataArray)]
        out = xr.apply_ufunc(block, *values, dask="parallelized", output_dtypes=[dtype], keep_attrs=False)
        out = out.astype(dtype, copy=False)
        return finalize(out, output, das[0], history, references, inputs=das)
    arrays = [np.asarray(v, dtype=np.float64) if np.ndim(v) == 0 else np.asarray(v) for v in values]
    result = block(*arrays)
    if all(np.ndim(v) == 0 for v in values):
        return float(np.asarray(result).reshape(()))
    return np.asarray(result, dtype=dtype)
