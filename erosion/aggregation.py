"""Zonal tables: area by intensity class and soil and water conservation rate per unit.

For every unit (county, prefecture, province, or any integer label) the table holds the land
area (cells with a valid class), the area of each SL 190-2007 intensity class, the eroded
area (light and worse) and the soil and water conservation rate (水土保持率)::

    SWCR = 100 · (A_land − A_loss) / A_land   [%]

the share of land not affected by water or wind erosion of light intensity or worse
(MWR definition, Xinhua 2023-01-12; methods.md §7.5). Areas are true areas: ellipsoidal cell
areas per row on geographic grids (:func:`erosion.grid.row_areas`).

Execution: each block (the whole array for NumPy input, each dask chunk otherwise) is reduced
by a numba kernel to a small table of area by (unit, class) for the units it contains; only
those small tables are gathered and summed, so memory stays bounded by the chunk size.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

from ._kernels.aggregate import N_COLUMNS, class_areas
from .errors import GridMismatchError, InputError, ValueRangeError
from .grid import check_same_grid, grid_of, row_areas

__all__ = ["COLUMNS", "aggregate"]

CLASS_COLUMNS = ["slight_km2", "light_km2", "moderate_km2", "intense_km2", "very_intense_km2", "severe_km2"]
#: Columns of every table, in order (water_eroded_km2 and wind_eroded_km2 follow when wind is given).
COLUMNS = ["land_km2", *CLASS_COLUMNS, "eroded_km2", "conservation_rate_pct"]


# ----------------------------------------------------------------------------- block work

def _as_classes(block, what: str) -> np.ndarray:
    """Class codes of one block as uint8; NaN (float input) becomes 0 = no data."""
    b = np.asarray(block)
    if b.dtype.kind == "f":
        b = np.where(np.isnan(b), 0.0, b)
    if b.dtype.kind not in "fiub":
        raise InputError(f"{what} must hold integer class codes 0..6, not {b.dtype}")
    bad = (b < 0) | (b > 6) | (b != np.floor(b)) if b.dtype.kind == "f" else (b < 0) | (b > 6)
    n = int(np.count_nonzero(bad))
    if n:
        raise ValueRangeError(f"{what}: {n} cells hold codes outside 0..6 (values {np.unique(b[bad])[:10]}); "
                              "pass the output of erosion.classify (0 no data, 1 slight ... 6 severe)")
    return b.astype(np.uint8)


def _as_labels(block, nodata) -> np.ndarray:
    """Unit labels of one block as int64, -1 outside every unit (negative, nodata or NaN)."""
    b = np.asarray(block)
    if b.dtype.kind == "f":
        valid = np.isfinite(b)
        if nodata is not None:
            valid &= b != nodata
        if np.any(b[valid] != np.floor(b[valid])):
            raise InputError("units: labels must be integers; found non-integer values")
        return np.where(valid & (b >= 0), b, -1).astype(np.int64)
    if b.dtype.kind not in "iub":
        raise InputError(f"units must be an integer label raster, not {b.dtype}")
    out = b.astype(np.int64)
    out[out < 0] = -1
    if nodata is not None:
        out[b == nodata] = -1
    return out


def _rasterize(shapes, bounds, transform, shape) -> np.ndarray:
    """Burn (geometry, id) pairs into a label block (cell centres, all_touched=False)."""
    from rasterio.features import rasterize
    from rasterio.transform import array_bounds

    west, south, east, north = array_bounds(shape[0], shape[1], transform)
    x0, x1, y0, y1 = min(west, east), max(west, east), min(south, north), max(south, north)
    hit = (bounds[:, 0] <= x1) & (bounds[:, 2] >= x0) & (bounds[:, 1] <= y1) & (bounds[:, 3] >= y0)
    chosen = [shapes[i] for i in np.flatnonzero(hit)]
    if not chosen:
        return np.full(shape, -1, dtype=np.int64)
    return rasterize(chosen, out_shape=shape, transform=transform, fill=-1, all_touched=False, dtype="int64")


def _block_table(units, water, wind, area, nodata, wanted, vector=None):
    """(unit ids, area table) of one block; ``vector`` = (shapes, bounds, transform) for polygons."""
    if vector is not None:
        shapes, bounds, transform = vector
        labels = _rasterize(shapes, bounds, transform, np.shape(water))
    else:
        labels = _as_labels(units, nodata)
    codes, uniques = pd.factorize(labels.reshape(-1))
    keep = uniques >= 0
    if wanted is not None:
        keep &= np.isin(uniques, wanted)
    remap = np.where(keep, np.cumsum(keep) - 1, -1)
    codes = remap[codes].reshape(labels.shape).astype(np.int64)
    w = _as_classes(water, "classes")
    v = _as_classes(wind, "wind") if wind is not None else w
    a = np.ascontiguousarray(np.asarray(area, dtype=np.float64))
    table = class_areas(codes, w, v, wind is not None, a, int(np.count_nonzero(keep)))
    return np.asarray(uniques[keep], dtype=np.int64), table


def _combine(parts) -> tuple[np.ndarray, np.ndarray]:
    ids = np.concatenate([p[0] for p in parts]) if parts else np.zeros(0, np.int64)
    tables = np.concatenate([p[1] for p in parts]) if parts else np.zeros((0, N_COLUMNS))
    uniq, inverse = np.unique(ids, return_inverse=True)
    total = np.zeros((uniq.size, N_COLUMNS))
    np.add.at(total, inverse, tables)
    return uniq, total


# ----------------------------------------------------------------------------- inputs

def _is_geodataframe(x) -> bool:
    return hasattr(x, "geometry") and hasattr(x, "crs") and not isinstance(x, (xr.DataArray, np.ndarray))


def _data(x):
    """The array behind a DataArray (NumPy or dask), or ``x`` itself as an array."""
    if isinstance(x, xr.DataArray):
        if x.ndim != 2:
            raise InputError(f"rasters must be 2-D (y, x); got dims {x.dims}")
        return x.data
    if hasattr(x, "dask"):
        return x
    return np.asarray(x)


def _is_lazy(x) -> bool:
    return x is not None and hasattr(x, "dask")


def _vector_units(gdf, id_column: str, ref: xr.DataArray | None):
    if ref is None:
        raise InputError("units given as polygons need a grid: pass classes as a DataArray with CRS and transform")
    if id_column not in gdf.columns:
        raise InputError(f"units: column {id_column!r} not found; columns are {list(gdf.columns)} (set id_column=...)")
    ids = gdf[id_column].to_numpy()
    if ids.dtype.kind not in "iu":
        raise InputError(f"units: column {id_column!r} must hold integer unit ids, not {ids.dtype}")
    crs = ref.rio.crs
    if gdf.crs is None:
        raise InputError("units: the GeoDataFrame has no CRS; set one with gdf.set_crs(...)")
    if crs is not None and gdf.crs != crs:
        gdf = gdf.to_crs(crs)
    keep = ~(gdf.geometry.isna() | gdf.geometry.is_empty).to_numpy()
    geoms = gdf.geometry.to_numpy()[keep]
    shapes = [(g, int(i)) for g, i in zip(geoms, ids[keep], strict=True)]
    bounds = np.array([g.bounds for g in geoms], dtype=np.float64).reshape(-1, 4)
    return shapes, bounds


def _areas(cell_area, ref: xr.DataArray | None, shape: tuple[int, int]):
    """Cell areas in m²: (ny, 1) per-row NumPy array, or a full 2-D array (NumPy or dask)."""
    if cell_area is None:
        if ref is None or ref.rio.crs is None:
            raise InputError("cell_area is required (m², a number or an array) unless the rasters are DataArrays "
                             "with a CRS, from which true cell areas are computed")
        return row_areas(ref).reshape(-1, 1)
    if isinstance(cell_area, xr.DataArray):
        units = cell_area.attrs.get("units")
        if units is not None and units.strip() not in ("m2", "m^2", "m**2", "m²"):
            raise InputError(f"cell_area must be in m2, not {units!r}")
        if cell_area.ndim == 1:
            return np.asarray(cell_area, dtype=np.float64).reshape(-1, 1)
    a = _data(cell_area)
    if np.ndim(a) == 0:
        value = float(a)
        if not value > 0:
            raise ValueRangeError(f"cell_area must be positive (m2), not {value!r}")
        return np.full((shape[0], 1), value)
    if np.ndim(a) == 1:
        if a.shape[0] != shape[0]:
            raise GridMismatchError(f"cell_area has {a.shape[0]} values; one per row ({shape[0]}) is needed")
        return np.asarray(a, dtype=np.float64).reshape(-1, 1)
    if tuple(a.shape) != tuple(shape):
        raise GridMismatchError(f"cell_area of shape {a.shape} does not match the rasters' shape {shape}")
    return a


def _units_nodata(units, nodata):
    if nodata is not None or not isinstance(units, xr.DataArray):
        return nodata
    candidates = [units.attrs.get("_FillValue"), units.encoding.get("_FillValue")]
    try:
        candidates.insert(0, units.rio.nodata)
    except ValueError:  # a NaN fill value inherited by an integer raster: no sentinel
        pass
    for value in candidates:
        if value is not None and not (isinstance(value, float) and np.isnan(value)):
            return value
    return None


# ----------------------------------------------------------------------------- public

def aggregate(classes, units, *, wind=None, cell_area=None, unit_ids=None, id_column: str = "id",
              units_nodata=None) -> pd.DataFrame:
    """Area by intensity class, eroded area and conservation rate for every unit.

    Parameters
    ----------
    classes
        Water-erosion classes 0..6 from :func:`erosion.classify` (0 = no data; NaN in a float
        raster counts as 0): NumPy array or DataArray, dask-backed included.
    units
        Integer label raster on the same grid (negative values, ``units_nodata`` or the
        DataArray's nodata are outside every unit), or a GeoDataFrame of polygons with an
        integer ``id_column``, reprojected to the raster's CRS and rasterized on cell centres
        (``all_touched=False``) block by block.
    wind
        Optional wind-erosion classes on the same grid. Each cell then takes the more severe of
        its water and wind classes, so it is counted once (docs/decisions/0006-water-wind.md).
    cell_area
        Cell areas in m²: a number, one value per row, or a raster. Default: true areas from the
        grid (:func:`erosion.grid.row_areas`, ellipsoidal on geographic grids); required for
        NumPy input.
    unit_ids
        Expected unit ids: the table has exactly these rows, in this order (units absent from
        the raster get zero areas, other units are left out). Default: every unit present.

    Returns
    -------
    DataFrame indexed by unit id (``"unit"``) with ``land_km2``, ``slight_km2`` …
    ``severe_km2``, ``eroded_km2`` (light and worse) and ``conservation_rate_pct``
    = 100·(land − eroded)/land (NaN without land); with ``wind`` also ``water_eroded_km2`` and
    ``wind_eroded_km2`` (light or worse by each agent; a cell may count in both).
    Dask inputs are reduced block by block; only the small per-block tables are computed.

    References: SL 190-2007 (classes); 水土保持率 = non-eroded share of land area, MWR
    (Xinhua 2023-01-12), methods.md §7.5.
    """
    import rioxarray  # noqa: F401  (registers the .rio accessor used for CRS and transform)

    rasters = {"classes": classes, "wind": wind, "units": None if _is_geodataframe(units) else units,
               "cell_area": cell_area if isinstance(cell_area, xr.DataArray) and cell_area.ndim == 2 else None}
    das = {k: v for k, v in rasters.items() if isinstance(v, xr.DataArray)}
    check_same_grid(*das.values(), names=list(das))
    ref = das.get("classes", next(iter(das.values()), None))
    water = _data(classes)
    if water.ndim != 2:
        raise InputError(f"classes must be a 2-D raster, got {water.ndim} dimensions")
    shape = tuple(int(s) for s in water.shape)
    wind_data = None if wind is None else _data(wind)
    for name, arr in (("wind", wind_data), ("units", None if rasters["units"] is None else _data(units))):
        if arr is not None and tuple(arr.shape) != shape:
            raise GridMismatchError(f"classes and {name} are on different grids: shapes {shape} and {tuple(arr.shape)}")
    area = _areas(cell_area, ref, shape)
    wanted = None
    if unit_ids is not None:
        wanted = np.asarray(unit_ids, dtype=np.int64).reshape(-1)
        if np.unique(wanted).size != wanted.size:
            raise InputError("unit_ids holds duplicates")

    if _is_geodataframe(units):
        shapes, bounds = _vector_units(units, id_column, ref)
        transform = grid_of(ref).transform
        labels, nodata = None, None
    else:
        shapes = bounds = transform = None
        labels, nodata = _data(units), _units_nodata(units, units_nodata)

    arrays = [water, wind_data, labels, area if area.shape[1] != 1 else None]
    if any(_is_lazy(a) for a in arrays):
        ids, total = _combine(_lazy_parts(arrays, area, nodata, wanted, shapes, bounds, transform))
    else:
        vector = None if shapes is None else (shapes, bounds, _affine(transform, 0, 0))
        ids, total = _combine([_block_table(labels, water, wind_data, area, nodata, wanted, vector)])

    return _table(ids, total, wanted, wind is not None)


def _affine(transform, row_off: int, col_off: int):
    from affine import Affine

    return Affine(*transform[:6]) @ Affine.translation(col_off, row_off)


def _lazy_parts(arrays, area, nodata, wanted, shapes, bounds, transform):
    """Reduce every block to its small table; compute only those tables."""
    import dask
    import dask.array as dsa

    chunks = next(a.chunks for a in arrays if _is_lazy(a))
    blocks = []
    for a in arrays:
        if a is None:
            blocks.append(None)
        else:
            d = a if _is_lazy(a) else dsa.from_array(a, chunks=chunks)
            blocks.append(d.rechunk(chunks).to_delayed())
    water_b, wind_b, label_b, area_b = blocks
    row_off = np.r_[0, np.cumsum(chunks[0])]
    col_off = np.r_[0, np.cumsum(chunks[1])]
    vector_shapes = None if shapes is None else dask.delayed((shapes, bounds), pure=True)
    block_table = dask.delayed(_block_table_vector, pure=True)
    tasks = []
    for i in range(len(chunks[0])):
        for j in range(len(chunks[1])):
            a = area[row_off[i]:row_off[i + 1]] if area_b is None else area_b[i, j]
            lab = None if label_b is None else label_b[i, j]
            win = None if shapes is None else _affine(transform, int(row_off[i]), int(col_off[j]))
            tasks.append(block_table(lab, water_b[i, j], None if wind_b is None else wind_b[i, j], a,
                                     nodata, wanted, vector_shapes, win))
    return list(dask.compute(*tasks))


def _block_table_vector(units, water, wind, area, nodata, wanted, vector_shapes, window_transform):
    vector = None if vector_shapes is None else (*vector_shapes, window_transform)
    return _block_table(units, water, wind, area, nodata, wanted, vector)


def _table(ids, total, wanted, with_wind: bool) -> pd.DataFrame:
    km2 = total / 1.0e6
    frame = pd.DataFrame(km2, index=pd.Index(ids, name="unit"),
                         columns=["no_data_km2", *CLASS_COLUMNS, "water_eroded_km2", "wind_eroded_km2"])
    if wanted is not None:
        frame = frame.reindex(pd.Index(wanted, name="unit"), fill_value=0.0)
    frame["land_km2"] = frame[CLASS_COLUMNS].sum(axis=1)
    frame["eroded_km2"] = frame[CLASS_COLUMNS[1:]].sum(axis=1)
    land = frame["land_km2"].to_numpy()
    with np.errstate(invalid="ignore", divide="ignore"):
        rate = np.where(land > 0, 100.0 * frame["slight_km2"].to_numpy() / land, np.nan)  # = (land - eroded)/land
    frame["conservation_rate_pct"] = np.clip(rate, 0.0, 100.0)
    columns = COLUMNS + (["water_eroded_km2", "wind_eroded_km2"] if with_wind else [])
    return frame[columns]
