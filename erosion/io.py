"""Raster input and output: GeoTIFF (and COG) through rioxarray, nodata ↔ NaN, atomic writes.

In memory, float rasters hold NaN where the file has nodata; integer rasters (classes, codes,
unit labels) stay integers with their sentinel recorded as ``da.rio.nodata``, unless the caller
says they are a quantity (docs/decisions/0009-integer-rasters-stay-integer.md). On disk a
proper nodata value is always written. ``units`` and ``long_name`` travel as GeoTIFF tags, so a
written raster opens with the same attributes.
"""

from __future__ import annotations

import contextlib
import os
import threading
import uuid
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import rioxarray
import xarray as xr
from affine import Affine

from . import units as _units
from . import vocabulary
from ._array import Validation, _validation, declared_nodata, prepare, squeeze_bands
from .errors import InputError, MissingFileError, UnitsError
from .grid import grid_of

__all__ = ["open_raster", "write_raster"]

PathLike = str | os.PathLike[str]
_BLOCK = 256
_PREDICTOR_CODECS = ("deflate", "lzw", "zstd", "lzma")


def _is_remote(path: str) -> bool:
    return "://" in path or path.startswith("/vsi") or path.count(":") > 1  # URL, GDAL VSI or subdataset


def _auto_chunks(path: str) -> dict[str, tuple[int, ...]]:
    """dask's "auto" chunks, aligned to the file's blocks (rioxarray's own "auto" passes a
    tuple that xarray deprecates)."""
    import rasterio
    from dask.array.core import normalize_chunks

    with rasterio.open(path) as src:
        shape = (src.count, src.height, src.width)
        chunks = normalize_chunks((1, "auto", "auto"), shape=shape, dtype=np.dtype(src.dtypes[0]),
                                  previous_chunks=(1, *src.block_shapes[0]))
    return dict(zip(("band", "y", "x"), chunks, strict=True))


def _auto_masked(path: str, units: str | None, spec: vocabulary.Variable | None) -> bool:
    """``masked=None``: mask float files, and integer files the caller declares a quantity
    (dimensional ``units`` or ``variable``) or that are packed (scale/offset)."""
    import rasterio

    with rasterio.open(path) as src:
        if not src.dtypes or np.dtype(src.dtypes[0]).kind == "f":
            return True
        if any(s != 1.0 or o != 0.0 for s, o in zip(src.scales, src.offsets, strict=True)):
            return True
    declared = [u for u in (units, spec.units if spec else None) if u]
    return any(_units.normalise(u) != "1" for u in declared)


def open_raster(
    path: PathLike,
    *,
    units: str | None = None,
    variable: str | None = None,
    chunks: int | str | Mapping[str, int] | None = None,
    band: int = 1,
    masked: bool | None = None,
    data_validation: Validation = "raise",
) -> xr.DataArray:
    """Open one band of a raster file as a 2-D DataArray (y, x) with its CRS.

    Parameters
    ----------
    path
        Any file GDAL/rioxarray opens (GeoTIFF, COG, VRT, ...).
    units
        Units of the values. Used when the file carries none. When the file says other units,
        the values are converted from the file's units to ``units`` if ``variable`` is given
        and ``units`` are its canonical units; otherwise :class:`UnitsError`.
    variable
        A vocabulary name (``erosion.vocabulary.names()``). The values are converted to the
        variable's canonical units and get its name, ``units`` and ``long_name``.
    chunks
        ``None``: NumPy-backed (read lazily on first access). ``"auto"``, an int or a dict
        such as ``{"y": 2048, "x": 2048}``: dask-backed.
    band
        1-based band number.
    masked
        ``None`` (default, "auto"): float rasters get NaN for nodata; integer rasters (labels,
        classes, codes, land use) keep their dtype and their sentinel, recorded as
        ``da.rio.nodata``, unless dimensional ``units``, a ``variable`` with dimensional units
        or a scale/offset in the file say they are a quantity: then they are masked as float.
        ``True``: always mask (nodata → NaN, integers become float). ``False``: never mask.
    data_validation
        ``"raise"`` or ``"warn"`` when a ``variable`` with units is opened without any.
        Valid ranges are checked by the functions that use the data, block by block.
    """
    import rasterio

    validation = _validation(data_validation)
    spec = vocabulary.get(variable) if variable is not None else None
    text = os.fspath(path)
    if not _is_remote(text) and not Path(text).exists():
        raise MissingFileError(
            f"raster file not found: {text!r} (absolute path {str(Path(text).absolute())!r}). "
            "Check the path and the working directory, or create the file first."
        )
    try:
        if chunks is True or chunks == "auto":
            chunks = _auto_chunks(text)
        if masked is None:
            masked = _auto_masked(text, units, spec)
        opened = rioxarray.open_rasterio(text, masked=masked, mask_and_scale=masked, chunks=chunks)
    except rasterio.errors.RasterioIOError as exc:
        raise InputError(f"cannot read raster {text!r}: {exc}") from exc
    if not isinstance(opened, xr.DataArray):
        raise InputError(
            f"{text!r} holds several variables or subdatasets; open one of them, e.g. "
            f"'NETCDF:\"{text}\":name' for netCDF"
        )
    da = opened
    if "band" in da.dims:
        count = da.sizes["band"]
        if not 1 <= band <= count:
            raise InputError(f"{text!r} has {count} band(s); band={band} does not exist (bands are numbered from 1)")
        da = da.isel(band=band - 1, drop=True)
    if da.ndim != 2:
        raise InputError(f"{text!r} gives a {da.ndim}-D array with dims {da.dims}; expected (y, x)")

    attrs = dict(da.attrs)
    for key, identity in (("scale_factor", 1.0), ("add_offset", 0.0)):
        if key in attrs and attrs[key] == identity:
            del attrs[key]
    file_units = attrs.pop("units", None)
    if isinstance(file_units, (list, tuple)):
        file_units = file_units[band - 1]
    file_units = str(file_units) if file_units else None
    if units and file_units and not _units.same_units(units, file_units):
        if spec is None or not _units.same_units(units, spec.units):
            target = f"variable {variable!r} has canonical units {spec.units!r}" if spec else "no variable= was given"
            raise UnitsError(
                f"{text!r} says its units are {file_units!r} but units={units!r} was requested, and {target}. "
                "Pass variable=<vocabulary name> with its canonical units to convert, or fix the file's "
                "'units' tag if it is wrong."
            )
        _units.conversion(file_units, variable)  # raises UnitsError when it cannot convert
    source_units = file_units or units
    if source_units:
        attrs["units"] = source_units
    da.attrs = attrs

    if spec is not None:
        ref = da.coords.get("spatial_ref")
        da = prepare(da, variable, validation=validation, arg=text)
        if ref is not None and da.rio.crs is None:  # prepare's apply_ufunc drops coordinate attrs
            da = da.assign_coords(spatial_ref=ref)
        da = da.rename(variable)
        da.attrs["long_name"] = spec.long_name
    elif da.name is None:
        da = da.rename(Path(text).stem if not _is_remote(text) else None)
    return da


def _fits(value: float, dtype: np.dtype) -> bool:
    if dtype.kind == "f":
        return True
    info = np.iinfo(dtype)
    return float(value).is_integer() and info.min <= value <= info.max


def _int_nodata(da: xr.DataArray, nodata: float | None) -> int | None:
    """The sentinel to write for an integer raster (None = write no nodata)."""
    flags = np.atleast_1d(np.asarray(da.attrs.get("flag_values", []))).tolist()
    if nodata is None:
        nodata = declared_nodata(da)
    if nodata is None and (flags or da.dtype == np.uint8):
        nodata = 0
    if nodata is None:
        return None
    if not _fits(nodata, da.dtype):
        raise InputError(f"nodata={nodata!r} cannot be stored in a {da.dtype} raster; pass a value of its range")
    meanings = str(da.attrs.get("flag_meanings", "")).split()
    meaning = meanings[flags.index(nodata)] if nodata in flags and len(meanings) == len(flags) else None
    if nodata in flags and meaning not in ("no_data", "nodata", "missing", "fill_value"):
        raise InputError(
            f"nodata={nodata!r} is also a valid class in flag_values {flags}; pass write_raster(..., nodata=...) "
            "with a value that is not a class"
        )
    return int(nodata)


def _prepare_for_disk(da: xr.DataArray, nodata: float | None) -> xr.DataArray:
    if isinstance(da, xr.DataArray):
        da = squeeze_bands(da, "write_raster: da")
    if not isinstance(da, xr.DataArray) or da.ndim != 2:
        raise InputError(f"write_raster needs a 2-D xarray.DataArray (y, x); got {type(da).__name__} "
                         f"with ndim={getattr(da, 'ndim', '?')}")
    if da.dtype == bool:
        da = da.astype(np.uint8)
    if da.dtype.kind not in "fiu":
        raise InputError(f"write_raster cannot write dtype {da.dtype}; cast to a float or integer type")
    out = da.copy()  # shallow for dask, a copy for NumPy
    out.encoding = {}
    attrs = {k: v for k, v in out.attrs.items() if k not in ("_FillValue", "missing_value")}
    if out.dtype.kind == "f":
        raw = da.rio.nodata  # a sentinel kept in the data (opened with masked=False), else NaN/None
        if nodata is None and raw is not None and np.isfinite(raw):
            nodata = raw
        fill = np.nan if nodata is None else float(nodata)
        out.attrs = attrs
        out = out.rio.write_nodata(fill, encoded=not np.isnan(fill))
    else:
        fill = _int_nodata(da, nodata)
        out.attrs = attrs
        if fill is not None:
            out = out.rio.write_nodata(fill)
    t = Affine(*grid_of(out).transform)  # from the coordinates: a cached transform may be stale
    if t.e > 0:  # south-up: store north-up, with the exact flipped transform
        out = out.isel({out.dims[0]: slice(None, None, -1)})
        t = Affine(t.a, t.b, t.c, t.d, -t.e, t.f + t.e * out.shape[0])
    return out.rio.write_transform(t)


@contextlib.contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """A temporary path next to ``path`` to write to; moved onto ``path`` when the block ends
    without error, removed otherwise (an existing file is left untouched until then)."""
    tmp = path.with_name(f".{path.name}.tmp-{uuid.uuid4().hex}{path.suffix}")
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _remove(path: Path) -> None:
    for p in (path, path.with_name(path.name + ".aux.xml")):
        try:
            p.unlink()
        except FileNotFoundError:
            pass


def write_raster(
    da: xr.DataArray,
    path: PathLike,
    *,
    nodata: float | None = None,
    compress: str | None = "deflate",
    tiled: bool = True,
    cog: bool = False,
    overwrite: bool = True,
    lock: Any = None,
) -> Path:
    """Write a 2-D DataArray to a GeoTIFF (or a Cloud-Optimized GeoTIFF), atomically.

    A single ``band`` dimension (``rioxarray.open_rasterio``) is squeezed; several bands are an
    :class:`InputError`: select one with ``da.isel(band=0)``.

    The file is written next to ``path`` under a temporary name and moved into place only when
    complete: a failure leaves any existing file untouched and no temporary file behind.

    Nodata: float rasters store NaN, or ``nodata`` if given, or the sentinel ``da.rio.nodata``
    of data opened with ``masked=False`` (NaN cells are written as that value).
    Integer rasters store ``nodata`` if given, else ``da.rio.nodata``/``missing_value``, else 0
    for class rasters (``flag_values``) and uint8; otherwise no nodata is declared. A NaN fill
    value inherited from a float raster (``dem.copy(data=labels)``) is ignored.
    CRS, transform and attributes (``units``, ``long_name``, ... as tags) are kept.
    Dask-backed arrays are written chunk by chunk under ``lock`` (a ``threading.Lock`` by
    default; pass a ``distributed.Lock`` on a cluster). ``cog=True`` writes a tiled GeoTIFF
    first and converts it to COG (with overviews) from disk.
    """
    import rasterio
    import rasterio.shutil

    dest = Path(path)
    if dest.exists() and not overwrite:
        raise InputError(f"{str(dest)!r} exists and overwrite=False; remove it or pass overwrite=True")
    if not dest.parent.is_dir():
        raise InputError(f"cannot write {str(dest)!r}: directory {str(dest.parent)!r} does not exist")
    out = _prepare_for_disk(da, nodata)
    profile: dict[str, Any] = {"driver": "GTiff", "dtype": str(out.dtype)}
    if compress:
        profile["compress"] = compress
        if compress.lower() in _PREDICTOR_CODECS:
            profile["predictor"] = 3 if out.dtype.kind == "f" else 2
    if tiled or cog:
        profile.update(tiled=True, blockxsize=_BLOCK, blockysize=_BLOCK)

    tag = uuid.uuid4().hex
    tmp = dest.with_name(f".{dest.name}.tmp-{tag}")
    tmp_cog = dest.with_name(f".{dest.name}.tmp-{tag}.cog")
    try:
        if out.chunks is not None:
            out.rio.to_raster(tmp, recalc_transform=False, lock=lock or threading.Lock(), compute=True, **profile)
        else:
            out.rio.to_raster(tmp, recalc_transform=False, **profile)
        if cog:
            options = {"compress": compress or "NONE", "blocksize": _BLOCK}
            if compress and compress.lower() in _PREDICTOR_CODECS:
                options["predictor"] = "YES"
            rasterio.shutil.copy(tmp, tmp_cog, driver="COG", **options)
            _remove(tmp)
            os.replace(tmp_cog, tmp)
        os.replace(tmp, dest)
        stale = dest.with_name(dest.name + ".aux.xml")
        if stale.exists():
            stale.unlink()  # a sidecar of the replaced file would override the new metadata
    except BaseException:
        _remove(tmp)
        _remove(tmp_cog)
        raise
    return dest
