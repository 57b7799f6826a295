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

import warnings
from collections.abc import Callable, Sequence
from typing import Literal

import numpy as np
import xarray as xr

from . import units as _units
from . import vocabulary
from ._attrs import finalize
from .errors import InputError, UnitsError, ValueRangeError
from .grid import check_same_grid

Validation = Literal["raise", "warn"]
ArrayLike = float | np.ndarray | xr.DataArray

_HINTS = {
    "slope": " Slope must be in degrees; values above 90 suggest percent: convert with "
    "numpy.degrees(numpy.arctan(percent / 100)) or set units='percent'.",
    "soil_loss": " A must be in t hm-2 a-1; an erosion modulus in t km-2 a-1 is 100 times larger: "
    "set its units attribute to 't km-2 a-1'.",
}


def _validation(value: str) -> Validation:
    if value not in ("raise", "warn"):
        from .errors import UnknownCodeError

        raise UnknownCodeError(f"data_validation must be 'raise' or 'warn', not {value!r}")
    return value  # type: ignore[return-value]


def _complain(message: str, validation: Validation, error: type[Exception] = ValueRangeError) -> None:
    if validation == "raise":
        raise error(message)
    warnings.warn(message, stacklevel=4)


def prepare(x: ArrayLike, variable: str, *, validation: Validation = "raise", arg: str | None = None) -> ArrayLike:
    """Check the units of one input and convert it to the vocabulary's canonical units.

    DataArrays must say their units unless the variable is dimensionless; scalars and NumPy
    arrays are taken to be in canonical units already (documented in every public function).
    """
    arg = arg or variable
    if x is None:
        raise InputError(f"{arg} is required")
    if not isinstance(x, xr.DataArray):
        if not isinstance(x, (int, float, np.number, np.ndarray, list, tuple)):
            raise InputError(f"{arg} must be a number, a NumPy array or an xarray.DataArray, not {type(x).__name__}")
        return x
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


def check_range(values: np.ndarray, variable: str, validation: Validation, arg: str | None = None) -> None:
    """Apply the vocabulary's valid range to concrete values (one block or a whole array)."""
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
        _complain(
            f"{arg or variable}: {low + high} of {v.size} cells lie outside the valid range "
            f"[{spec.valid_min}, {spec.valid_max}] {spec.units} of {spec.long_name} "
            f"({low} below, {high} above; values span {lo:g} to {hi:g}).{_HINTS.get(variable, '')}",
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

    def block(*arrays):
        if check:
            for arr, var, arg in zip(arrays, variables, names, strict=True):
                check_range(arr, var, validation, arg)
        return func(*arrays, **kwargs)

    das = [v for v in values if isinstance(v, xr.DataArray)]
    if das:
        check_same_grid(*values, names=names)
        out = xr.apply_ufunc(block, *values, dask="parallelized", output_dtypes=[dtype], keep_attrs=False)
        out = out.astype(dtype, copy=False)
        return finalize(out, output, das[0], history, references)
    arrays = [np.asarray(v, dtype=np.float64) if np.ndim(v) == 0 else np.asarray(v) for v in values]
    result = block(*arrays)
    if all(np.ndim(v) == 0 for v in values):
        return float(np.asarray(result).reshape(()))
    return np.asarray(result, dtype=dtype)
