"""Code tables (land use, engineering and tillage measures → factor values) and raster lookup.

A code table is a CSV file with at least the columns ``code`` (integer), ``name_zh``,
``name_en``, ``value`` (the factor, in [0, 1]) and ``source`` (where the value comes from;
values not yet checked against their primary source say "recalled, to verify"). Built-in
tables live in ``erosion/data/*.csv`` (:func:`table_names`); a user's CSV path or
:class:`pandas.DataFrame` replaces a built-in table and is validated on load the same way:
missing columns, missing or non-integer codes, duplicate codes and values outside [0, 1]
each raise with counts and the offending codes.

:func:`lookup` maps an integer code raster through a table in one numba pass (dask inputs
stay lazy, block by block); nodata (NaN, or the raster's declared sentinel) stays nodata,
and codes missing from the table are reported with their cell counts.
"""

from __future__ import annotations

import warnings
from functools import cache
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from .._array import ArrayLike, Validation, _validation, declared_nodata, finalize, squeeze_bands
from .._kernels.lookup import lookup_codes
from ..errors import InputError, MissingFileError, UnknownCodeError, ValueRangeError

__all__ = ["REQUIRED_COLUMNS", "load_table", "lookup", "table_names", "unknown_codes"]

#: Columns every code table must have.
REQUIRED_COLUMNS = ("code", "name_zh", "name_en", "value", "source")
#: Largest code span held in a dense lookup array; wider tables use a sorted search.
_DENSE_SPAN = 1 << 20


def table_names() -> list[str]:
    """Names of the built-in code tables (CSV files in ``erosion/data/``)."""
    return sorted(p.name[:-4] for p in resources.files("erosion.data").iterdir() if p.name.endswith(".csv"))


@cache
def _builtin(name: str) -> pd.DataFrame:
    text = resources.files("erosion.data").joinpath(f"{name}.csv").read_text("utf-8")
    from io import StringIO

    return _validate(pd.read_csv(StringIO(text), comment="#", skipinitialspace=True), f"built-in table {name!r}")


def load_table(table: str | Path | pd.DataFrame, *, value_range: tuple[float, float] = (0.0, 1.0)) -> pd.DataFrame:
    """Load and validate a code table: a built-in name, a CSV path, or a DataFrame.

    Returns a copy sorted by ``code`` (int64), ``value`` as float64, with ``attrs["table"]``
    naming where it came from. Raises :class:`InputError` (missing columns, missing or
    non-integer codes), :class:`ValueRangeError` (values outside ``value_range``) or
    :class:`UnknownCodeError` (duplicate codes, an unknown built-in name), each with counts.
    """
    if isinstance(table, pd.DataFrame):
        return _validate(table, "the table DataFrame", value_range)
    if not isinstance(table, (str, Path)):
        raise InputError(f"table must be a built-in table name ({', '.join(table_names())}), a CSV path or a "
                         f"pandas.DataFrame, not {type(table).__name__}")
    text = str(table)
    if isinstance(table, str) and not text.lower().endswith(".csv") and "/" not in text and "\\" not in text:
        if text not in table_names():
            raise UnknownCodeError(f"unknown code table {text!r}; built-in tables: {', '.join(table_names())}; "
                                   "or pass the path of a CSV file (code,name_zh,name_en,value,source) or a DataFrame")
        out = _builtin(text)
        if value_range != (0.0, 1.0):
            out = _validate(out, f"built-in table {text!r}", value_range)
        return out.copy()
    path = Path(table)
    if not path.is_file():
        raise MissingFileError(f"code table file not found: {path}; give an existing CSV file with the columns "
                               f"{', '.join(REQUIRED_COLUMNS)}, or a built-in table name ({', '.join(table_names())})")
    try:
        frame = pd.read_csv(path, comment="#", skipinitialspace=True)
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as exc:
        raise InputError(f"code table {path} cannot be read as CSV ({exc}); save it as UTF-8 CSV with a header "
                         f"row {','.join(REQUIRED_COLUMNS)}") from None
    return _validate(frame, f"code table {path}", value_range)


def _validate(frame: pd.DataFrame, where: str, value_range: tuple[float, float] = (0.0, 1.0)) -> pd.DataFrame:
    df = frame.copy()
    df.columns = [str(c).strip() for c in df.columns]
    missing = [c for c in REQUIRED_COLUMNS if c not in df.columns]
    if missing:
        raise InputError(f"{where} lacks {len(missing)} required column(s): {', '.join(missing)} (it has: "
                         f"{', '.join(df.columns) or 'none'}); a code table needs {', '.join(REQUIRED_COLUMNS)} "
                         "(name_zh/name_en may be empty strings, source says where each value comes from)")
    if df.empty:
        raise InputError(f"{where} has no rows; add one row per code")
    codes = pd.to_numeric(df["code"], errors="coerce")
    bad = codes.isna() | ~np.isfinite(codes) | (codes != np.round(codes))
    if bad.any():
        raise InputError(f"{where}: {int(bad.sum())} of {len(df)} rows have a missing or non-integer code "
                         f"(rows {[int(i) + 2 for i in np.flatnonzero(bad.to_numpy())[:10]]} counting the header "
                         f"as row 1; values {df['code'][bad].tolist()[:10]}); codes must be integers")
    df["code"] = codes.astype(np.int64)
    counts = df["code"].value_counts()
    dup = counts[counts > 1].sort_index()
    if len(dup):
        listed = ", ".join(f"{c} ({n} rows)" for c, n in dup.items())
        raise UnknownCodeError(f"{where}: {len(dup)} code(s) appear more than once: {listed}; keep one row per code")
    values = pd.to_numeric(df["value"], errors="coerce")
    nan = values.isna()
    lo, hi = value_range
    out = ~nan & ((values < lo) | (values > hi))
    if nan.any() or out.any():
        parts = []
        if nan.any():
            parts.append(f"{int(nan.sum())} missing or non-numeric (codes {df['code'][nan].tolist()[:10]})")
        if out.any():
            parts.append(f"{int(out.sum())} outside [{lo:g}, {hi:g}] (code: value "
                         + ", ".join(f"{c}: {v:g}" for c, v in zip(df["code"][out][:10], values[out][:10], strict=True))
                         + ")")
        hint = " Values in percent must be divided by 100." if out.any() and float(values[out].max()) <= 100 else ""
        raise ValueRangeError(f"{where}: {int(nan.sum() + out.sum())} of {len(df)} values are unusable: "
                              f"{'; '.join(parts)}. A factor value lies in [{lo:g}, {hi:g}].{hint}")
    df["value"] = values.astype(np.float64)
    for column in ("name_zh", "name_en", "source"):
        df[column] = df[column].fillna("").astype(str)
    df = df.sort_values("code", kind="stable").reset_index(drop=True)
    df.attrs["table"] = where
    return df


class _Lut:
    """A validated table as a dense lookup array (or sorted codes for wide spans)."""

    def __init__(self, df: pd.DataFrame):
        self.df = df
        self.codes = df["code"].to_numpy(np.int64)
        self.values = df["value"].to_numpy(np.float64)
        self.offset = int(self.codes.min())
        span = int(self.codes.max()) - self.offset + 1
        self.dense = span <= _DENSE_SPAN
        if self.dense:
            self.lut = np.full(span, np.nan, dtype=np.float32)
            self.lut[self.codes - self.offset] = self.values
        self.where = df.attrs.get("table", "the table")

    def apply(self, codes: np.ndarray, nodata: float | None) -> tuple[np.ndarray, int]:
        flat = np.ascontiguousarray(codes).reshape(-1)
        out = np.empty(flat.size, dtype=np.float32)
        if self.dense:
            nd = 0 if nodata is None else nodata
            if flat.dtype.kind in "iu":
                info = np.iinfo(flat.dtype)
                has = nodata is not None and info.min <= nodata <= info.max
                nd = flat.dtype.type(nd if has else 0)
            else:
                has = nodata is not None
                nd = flat.dtype.type(nd)
            n_unknown = int(lookup_codes(flat, self.lut, self.offset, nd, has, out))
        else:
            f = flat.astype(np.float64)
            gap = np.isnan(f) if nodata is None else (np.isnan(f) | (f == nodata))
            idx = np.searchsorted(self.codes, np.where(gap, self.codes[0], f).astype(np.int64))
            idx = np.minimum(idx, self.codes.size - 1)
            hit = ~gap & (self.codes[idx] == f)
            out[:] = np.where(hit, self.values[idx], np.nan)
            n_unknown = int(np.count_nonzero(~gap & ~hit))
        return out.reshape(np.shape(codes)), n_unknown

    def unknown(self, codes: np.ndarray, nodata: float | None) -> tuple[np.ndarray, np.ndarray]:
        c = np.asarray(codes).reshape(-1)
        keep = ~np.isin(c, self.codes)
        if c.dtype.kind == "f":
            keep &= ~np.isnan(c)
        if nodata is not None:
            keep &= c != nodata
        return np.unique(c[keep], return_counts=True)


def _codes_array(values, arg: str) -> np.ndarray:
    """Concrete codes as a NumPy array: integers, or floats that are whole numbers (NaN = nodata)."""
    a = np.asarray(values)
    if a.dtype == np.bool_:
        a = a.astype(np.uint8)
    if a.dtype.kind not in "iuf":
        raise InputError(f"{arg} must hold integer codes, not {a.dtype} values")
    if a.dtype.kind == "f":
        with np.errstate(invalid="ignore"):
            frac = np.isfinite(a) & (a != np.round(a))
            inf = np.isinf(a)
        if frac.any() or inf.any():
            raise InputError(f"{arg}: {int(frac.sum() + inf.sum())} of {a.size} cells hold values that are not whole-"
                             f"number codes (e.g. {a[frac | inf][:5].tolist()}); a code raster holds integer class "
                             "codes: was a continuous raster (a factor, NDVI) passed, or were codes resampled "
                             "bilinearly? Use nearest-neighbour resampling for class rasters")
    return a


def _report(lut: _Lut, codes, nodata, n_unknown: int, arg: str, validation: Validation, block: bool,
            fix: str | None = None) -> None:
    values, counts = lut.unknown(codes, nodata)
    listed = ", ".join(f"{v:g} ({n} cells)" for v, n in zip(values[:20].tolist(), counts[:20].tolist(), strict=True))
    more = f" and {values.size - 20} more" if values.size > 20 else ""
    known = lut.codes.tolist()
    known_text = ", ".join(map(str, known[:40])) + (" ..." if len(known) > 40 else "")
    scope = "this block of " if block else ""
    message = (f"{arg}: {n_unknown} of {scope}{np.size(codes)} cells hold {values.size} code(s) not in {lut.where}: "
               f"{listed}{more}. Known codes: {known_text}. "
               + (fix or f"Add rows for them to a copy of the table (CSV with columns {', '.join(REQUIRED_COLUMNS)}) "
                  "and pass it as table=..., recode them to known codes, or declare the nodata value "
                  "(da.rio.write_nodata(...)) if they mark no data."))
    if validation == "raise":
        raise UnknownCodeError(message)
    warnings.warn(message + " They are set to NaN.", stacklevel=5)


def lookup(codes: ArrayLike, table: str | Path | pd.DataFrame, *, output: str, history: str,
           references: str | None = None, nodata: float | None = None,
           data_validation: str = "raise") -> ArrayLike:
    """Map an integer code raster through a code table to float32 factor values.

    ``codes``: a scalar, NumPy array or (dask-backed) DataArray of integer codes (float arrays
    holding whole numbers are accepted, NaN = nodata). Nodata cells (NaN, ``nodata``, or the
    DataArray's declared sentinel ``rio.nodata``/``_FillValue``) give NaN. Codes absent from
    the table raise :class:`UnknownCodeError` listing each code with its cell count (per block
    for dask input, when the block is computed); ``data_validation="warn"`` warns and gives
    NaN instead. ``output`` is the vocabulary variable of the result.
    """
    validation = _validation(data_validation)
    lut = _Lut(load_table(table))
    arg = "codes"
    if isinstance(codes, xr.DataArray):
        c = squeeze_bands(codes, arg)
        nd = nodata if nodata is not None else declared_nodata(c)

        def block(x):
            a = _codes_array(x, arg)
            out, n = lut.apply(a, nd)
            if n:
                _report(lut, a, nd, n, arg, validation, block=c.chunks is not None)
            return out

        out = xr.apply_ufunc(block, c, dask="parallelized", output_dtypes=[np.float32], keep_attrs=False)
        hist = f"{history}; table: {lut.where}"
        return finalize(out, output, c, hist, references)
    if not isinstance(codes, (int, float, np.number, np.ndarray, list, tuple, bool)):
        raise InputError(f"{arg} must be a number, a NumPy array or an xarray.DataArray, not {type(codes).__name__}")
    a = _codes_array(codes, arg)
    out, n = lut.apply(a, nodata)
    if n:
        _report(lut, a, nodata, n, arg, validation, block=False)
    if a.ndim == 0:
        return float(out.reshape(()))
    return out


def unknown_codes(codes: ArrayLike, table: str | Path | pd.DataFrame, *, nodata: float | None = None) -> pd.DataFrame:
    """The codes of a raster that ``table`` lacks, with their cell counts (columns code, cells).

    A checking helper: on a dask-backed DataArray it **computes** (per block, summing the
    counts), because its answer is a table of numbers; the factor functions themselves stay lazy.
    """
    lut = _Lut(load_table(table))
    if isinstance(codes, xr.DataArray):
        c = squeeze_bands(codes, "codes")
        nd = nodata if nodata is not None else declared_nodata(c)
        if c.chunks is not None:
            import dask

            def count(block):
                v, n = lut.unknown(_codes_array(block, "codes"), nd)
                return pd.Series(n, index=v, dtype=np.int64)

            parts = dask.compute(*[dask.delayed(count)(b) for b in c.data.to_delayed().ravel()])
            series = pd.concat(parts).groupby(level=0).sum() if parts else pd.Series(dtype=np.int64)
            return pd.DataFrame({"code": series.index.to_numpy(), "cells": series.to_numpy(np.int64)})
        codes, nodata = c.values, nd
    v, n = lut.unknown(_codes_array(codes, "codes"), nodata)
    return pd.DataFrame({"code": v, "cells": n.astype(np.int64)})
