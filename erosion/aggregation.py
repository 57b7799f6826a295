"""Zonal tables: area by intensity class and soil and water conservation rate per zone.

For every zone (an administrative unit: county, prefecture, province, or any integer label)
the table holds the land area (cells with a valid class), the area of each SL 190-2007
intensity class, the eroded area (light and worse) and the soil and water conservation rate
(水土保持率)::

    SWCR = 100 · (A_land − A_loss) / A_land   [%]

the share of land not affected by water or wind erosion of light intensity or worse
(MWR definition, Xinhua 2023-01-12; docs/methods/classification.md). Areas are true areas: ellipsoidal cell
areas per row on geographic grids (:func:`erosion.grid.row_areas`). ``coverage_pct`` says how
much of each zone the classes cover (see :func:`aggregate`).

Execution: each block (the whole array for NumPy input, each dask chunk otherwise) is reduced
by a numba kernel to a small table of area by (zone, class) for the zones it contains; only
those small tables are gathered and summed, so memory stays bounded by the chunk size.
"""

from __future__ import annotations

import threading
import warnings

import numpy as np
import pandas as pd
import xarray as xr

from ._array import declared_nodata, squeeze_bands
from ._kernels.aggregate import N_COLUMNS, class_areas
from .errors import GridMismatchError, InputError, UnknownCodeError, ValueRangeError
from .grid import check_same_grid, grid_of, row_areas

__all__ = ["COLUMNS", "aggregate"]

CLASS_COLUMNS = ["slight_km2", "light_km2", "moderate_km2", "intense_km2", "very_intense_km2", "severe_km2"]
#: Core columns of every table, in order. After them come ``water_eroded_km2`` and
#: ``wind_eroded_km2`` (when wind is given), ``polygon_km2`` (polygon zones) and ``coverage_pct``.
COLUMNS = ["land_km2", *CLASS_COLUMNS, "eroded_km2", "conservation_rate_pct"]
OVERLAPS = ("raise", "first", "last")
_NO_PAIRS = np.zeros((0, 2), dtype=np.int64)


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
    """Zone labels of one block as int64, -1 outside every zone (negative, nodata or NaN)."""
    b = np.asarray(block)
    if b.dtype.kind == "f":
        valid = np.isfinite(b)
        if nodata is not None:
            valid &= b != nodata
        if np.any(b[valid] != np.floor(b[valid])):
            raise InputError("zones: labels must be integers; found non-integer values")
        return np.where(valid & (b >= 0), b, -1).astype(np.int64)
    if b.dtype.kind not in "iub":
        raise InputError(f"zones must be an integer label raster, not {b.dtype}")
    out = b.astype(np.int64)
    out[out < 0] = -1
    if nodata is not None:
        out[b == nodata] = -1
    return out


#: rasterio.features.rasterize silences its own NotGeoreferencedWarning with warnings.catch_warnings,
#: which is not thread-safe: two calls on dask threads can restore each other's filters and the
#: warning leaks (reproduced with 2 threads × 1500 calls). Calls are serialised; rasterize holds
#: the GIL anyway (2 threads took the same time with and without the lock).
_RASTERIZE_LOCK = threading.Lock()


def burn(shapes, **kwargs) -> np.ndarray:
    """``rasterio.features.rasterize(shapes, **kwargs)``, one call at a time (see _RASTERIZE_LOCK)."""
    from rasterio.features import rasterize

    with _RASTERIZE_LOCK:
        return rasterize(shapes, **kwargs)


def _rasterize(shapes, bounds, transform, shape, overlaps: str):
    """Burn (geometry, id) pairs into a label block on cell centres (``all_touched=False``).

    Returns (labels, number of overlap cells, overlapping id pairs). ``shapes`` are in frame
    order with each zone's rows kept together, so burning them in order gives a contested cell
    to the last zone and burning them in reverse to the first: the cells where the two differ
    are those whose centre lies in two zones. Neighbours sharing an edge do not overlap.

    Cells are sampled 1e-6 cell north-east of their centres (in map coordinates, whatever the
    grid's orientation): GDAL burns a centre lying exactly on a horizontal edge into both
    polygons, and rounding decides a centre exactly on an edge differently from block to block;
    edges on round coordinates often run through centres.
    """
    from affine import Affine
    from rasterio.transform import array_bounds

    west, south, east, north = array_bounds(shape[0], shape[1], transform)
    x0, x1, y0, y1 = min(west, east), max(west, east), min(south, north), max(south, north)
    hit = (bounds[:, 0] <= x1) & (bounds[:, 2] >= x0) & (bounds[:, 1] <= y1) & (bounds[:, 3] >= y0)
    chosen = [shapes[i] for i in np.flatnonzero(hit)]
    if not chosen:
        return np.full(shape, -1, dtype=np.int64), 0, _NO_PAIRS
    sample = transform @ Affine.translation(1e-6 * np.sign(transform.a), 1e-6 * np.sign(transform.e))

    def labels(seq):
        return burn(seq, out_shape=shape, transform=sample, fill=-1, all_touched=False, dtype="int64")

    if overlaps == "first":
        return labels(chosen[::-1]), 0, _NO_PAIRS
    last = labels(chosen)
    if overlaps == "last":
        return last, 0, _NO_PAIRS
    first = labels(chosen[::-1])
    clash = first != last
    pairs = np.unique(np.stack([first[clash], last[clash]], axis=1), axis=0) if clash.any() else _NO_PAIRS
    return last, int(np.count_nonzero(clash)), pairs


def _block_table(zones, water, wind, area, nodata, wanted, vector=None):
    """(zone ids, area table, overlap cells, overlap pairs) of one block.

    ``vector`` = (shapes, bounds, overlaps, transform) for polygon zones.
    """
    if vector is not None:
        shapes, bounds, overlaps, transform = vector
        labels, n_clash, pairs = _rasterize(shapes, bounds, transform, np.shape(water), overlaps)
    else:
        labels, n_clash, pairs = _as_labels(zones, nodata), 0, _NO_PAIRS
    codes, ids = dense_codes(labels, wanted)
    w = _as_classes(water, "classes")
    v = _as_classes(wind, "wind") if wind is not None else w
    a = np.ascontiguousarray(np.asarray(area, dtype=np.float64))
    table = class_areas(codes, w, v, wind is not None, a, ids.size)
    return ids, table, n_clash, pairs


def dense_codes(labels: np.ndarray, wanted=None) -> tuple[np.ndarray, np.ndarray]:
    """(codes, ids): each cell's index into ``ids`` (int64, -1 outside every zone or not in
    ``wanted``), and the zone ids present in the block, in order of first appearance."""
    codes, uniques = pd.factorize(labels.reshape(-1))
    keep = uniques >= 0
    if wanted is not None:
        keep &= np.isin(uniques, wanted)
    remap = np.where(keep, np.cumsum(keep) - 1, -1)
    return remap[codes].reshape(labels.shape).astype(np.int64), np.asarray(uniques[keep], dtype=np.int64)


def _combine(parts) -> tuple[np.ndarray, np.ndarray, int, np.ndarray]:
    ids = np.concatenate([p[0] for p in parts]) if parts else np.zeros(0, np.int64)
    tables = np.concatenate([p[1] for p in parts]) if parts else np.zeros((0, N_COLUMNS))
    uniq, inverse = np.unique(ids, return_inverse=True)
    total = np.zeros((uniq.size, N_COLUMNS))
    np.add.at(total, inverse, tables)
    n_clash = sum(p[2] for p in parts)
    pairs = np.unique(np.concatenate([_NO_PAIRS, *(p[3] for p in parts)]), axis=0)
    return uniq, total, n_clash, pairs


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


def _polygon_m2(geoms, crs) -> np.ndarray:
    """True area (m²) of each geometry: geodesic on the ellipsoid of a geographic CRS
    (pyproj ``Geod.geometry_area_perimeter``, rings oriented first), else planar area × unit²."""
    import shapely
    from pyproj import CRS
    from shapely.geometry.polygon import orient

    crs = CRS.from_user_input(crs)
    if not crs.is_geographic:
        k = float(crs.axis_info[0].unit_conversion_factor) if crs.axis_info else 1.0
        return np.asarray(shapely.area(geoms), dtype=np.float64) * k**2
    geod = crs.get_geod()
    return np.array([sum(abs(geod.geometry_area_perimeter(orient(part))[0])
                         for part in shapely.get_parts(g) if part.geom_type == "Polygon") for g in geoms],
                    dtype=np.float64)


def _vector_zones(gdf, id_column: str, ref: xr.DataArray | None):
    """(shapes, bounds, polygon area per zone in km² indexed by zone id in frame order)."""
    import shapely

    if ref is None:
        raise InputError("zones given as polygons need a grid: pass classes as a DataArray with CRS and transform")
    if id_column not in gdf.columns:
        raise InputError(f"zones: column {id_column!r} not found; columns are {list(gdf.columns)} (set id_column=...)")
    ids = gdf[id_column].to_numpy()
    if ids.dtype.kind not in "iu":
        raise InputError(f"zones: column {id_column!r} must hold integer zone ids, not {ids.dtype}")
    crs = ref.rio.crs
    if gdf.crs is None:
        raise InputError("zones: the GeoDataFrame has no CRS; set one with gdf.set_crs(...)")
    if crs is not None and gdf.crs != crs:
        gdf = gdf.to_crs(crs)
    codes, zone_ids = pd.factorize(ids)  # zone_ids in order of first appearance
    order = np.argsort(codes, kind="stable")  # frame order, a zone's rows kept together
    geoms = gdf.geometry.to_numpy()[order]
    keep = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    m2 = np.zeros(len(geoms))
    m2[keep] = _polygon_m2(geoms[keep], gdf.crs)
    polygon_km2 = pd.Series(np.bincount(codes[order], weights=m2, minlength=len(zone_ids)) / 1.0e6,
                            index=pd.Index(np.asarray(zone_ids, dtype=np.int64), name="unit"))
    shapes = [(g, int(i)) for g, i in zip(geoms[keep], ids[order][keep], strict=True)]
    bounds = np.array([g.bounds for g in geoms[keep]], dtype=np.float64).reshape(-1, 4)
    return shapes, bounds, polygon_km2


def zone_labels(zones, template: xr.DataArray | None, *, shape=None, id_column: str = "id", zones_nodata=None,
                overlaps: str = "raise") -> tuple[np.ndarray, pd.Series | None]:
    """The zone of every cell, assigned exactly as :func:`aggregate` assigns it, for models that
    sum their own quantities by zone (``erosion.plan``).

    Returns (labels, polygon_km2): labels are int64 with -1 outside every zone; ``polygon_km2``
    is each polygon zone's area indexed by id in frame order (None for a label raster).
    Polygons are burnt on cell centres of ``template``'s grid; cells whose centre lies in zones
    of different ids raise :class:`InputError` unless ``overlaps`` is "first" or "last". A label
    raster must be on ``template``'s grid (or of ``shape`` for NumPy labels).
    """
    if _is_geodataframe(zones):
        shapes, bounds, polygon_km2 = _vector_zones(zones, id_column, template)
        labels, n_clash, pairs = _rasterize(shapes, bounds, _affine(grid_of(template).transform, 0, 0),
                                            tuple(template.shape[-2:]), overlaps)
        if n_clash:
            raise InputError(f"zones: {n_clash} cells have their centre in polygons of different ids (e.g. "
                             f"{pairs[:5].tolist()}); clean the polygons or pass overlaps='first' or 'last'")
        return labels, polygon_km2
    if isinstance(zones, xr.DataArray):
        zones = squeeze_bands(zones, "zones")
        if template is not None:
            check_same_grid(template, zones, names=["raster", "zones"])
    elif not isinstance(zones, np.ndarray):
        raise InputError(f"zones must be an integer label raster or a GeoDataFrame of polygons, not {type(zones).__name__}")
    labels = _as_labels(np.asarray(zones), zones_nodata if zones_nodata is not None else declared_nodata(zones))
    expected = tuple(template.shape[-2:]) if template is not None else (tuple(shape) if shape is not None else None)
    if expected is not None and labels.shape != expected:
        raise GridMismatchError(f"zones of shape {labels.shape} do not match the rasters' shape {expected}")
    return labels, None


def zone_sums(labels: np.ndarray, ids, weights) -> np.ndarray:
    """Σ ``weights`` over the cells of each zone of ``ids``, in that order (cells of other zones
    and outside every zone are skipped); ``weights`` broadcast to ``labels``' shape."""
    positions = pd.Index(np.asarray(ids, dtype=np.int64)).get_indexer(np.asarray(labels).reshape(-1))
    w = np.broadcast_to(np.asarray(weights, dtype=np.float64), np.shape(labels)).reshape(-1)
    keep = positions >= 0
    return np.bincount(positions[keep], weights=w[keep], minlength=len(ids))


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


def _renamed(old_name: str, old, new_name: str, new):
    """The value of a keyword renamed from ``old_name`` to ``new_name`` (the old one warns)."""
    if old is None:
        return new
    if new is not None:
        raise InputError(f"aggregate: pass {new_name}= only; {old_name}= is its deprecated name")
    warnings.warn(f"aggregate: {old_name}= is deprecated, use {new_name}= (administrative zones; "
                  "'units' means physical units elsewhere in erosion)", FutureWarning, stacklevel=3)
    return old


# ----------------------------------------------------------------------------- public

def aggregate(classes, zones=None, *, wind=None, cell_area=None, zone_ids=None, id_column: str = "id",
              zones_nodata=None, overlaps: str = "raise", units=None, unit_ids=None,
              units_nodata=None) -> pd.DataFrame:
    """Area by intensity class, eroded area and conservation rate for every zone.

    Parameters
    ----------
    classes
        Water-erosion classes 0..6 from :func:`erosion.classify` (0 = no data; NaN in a float
        raster counts as 0): NumPy array or DataArray, dask-backed included.
    zones
        Administrative units: an integer label raster on the same grid (negative values,
        ``zones_nodata`` or the DataArray's nodata are outside every zone), or a GeoDataFrame
        of polygons with integer ids in ``id_column``, reprojected to the raster's CRS and
        rasterized block by block on cell centres (``all_touched=False``; a centre exactly on
        an edge goes to the polygon north or east of it). Rows sharing an id are one zone (a
        multi-part unit split over rows).
    wind
        Optional wind-erosion classes on the same grid. Each cell then takes the more severe of
        its water and wind classes, so it is counted once (docs/decisions/0006-water-wind-aggregation.md);
        :func:`erosion.regions.wind.zone_classes` masks both by a zone map first.
    cell_area
        Cell areas in m²: a number, one value per row, or a raster. Default: true areas from the
        grid (:func:`erosion.grid.row_areas`, ellipsoidal on geographic grids); required for
        NumPy input.
    zone_ids
        Expected zone ids: the table has exactly these rows, in this order (zones absent from
        the raster get zero areas, other zones are left out). Default: every label present in a
        label raster; every polygon id, in frame order, for polygons (also those outside the
        raster, with zero areas).
    overlaps
        Polygons only: a cell whose centre lies in polygons of two ids. ``"raise"`` (default)
        raises :class:`~erosion.errors.InputError` naming the overlapping ids; ``"first"`` /
        ``"last"`` give the cell to the first / last zone in frame order (a zone split over
        rows takes the place of its first row).
    units, unit_ids, units_nodata
        Deprecated names of ``zones``, ``zone_ids`` and ``zones_nodata`` (FutureWarning).

    Returns
    -------
    DataFrame indexed by zone id (``"unit"``) with the :data:`COLUMNS` ``land_km2``,
    ``slight_km2`` … ``severe_km2``, ``eroded_km2`` (light and worse) and
    ``conservation_rate_pct`` = 100·(land − eroded)/land (NaN without land); with ``wind``
    also ``water_eroded_km2`` and ``wind_eroded_km2`` (light or worse by each agent; a cell may
    count in both). Then, for polygon zones, ``polygon_km2`` (true polygon area: geodesic on
    the ellipsoid for a geographic CRS, planar in the raster's projection otherwise) and
    ``coverage_pct`` = 100·land/polygon_km2, the share of the polygon on classified cells
    (cells are assigned by their centres, so it can slightly exceed 100); for label rasters
    ``coverage_pct`` = 100·land/(land + no-data area of the zone's cells). NaN when the
    denominator is 0. Dask inputs are reduced block by block; only the small per-block tables
    are computed.

    References: SL 190-2007 (classes); 水土保持率 = non-eroded share of land area, MWR
    (Xinhua 2023-01-12), docs/methods/classification.md.
    """
    import rioxarray  # noqa: F401  (registers the .rio accessor used for CRS and transform)

    zones = _renamed("units", units, "zones", zones)
    zone_ids = _renamed("unit_ids", unit_ids, "zone_ids", zone_ids)
    zones_nodata = _renamed("units_nodata", units_nodata, "zones_nodata", zones_nodata)
    if zones is None:
        raise InputError("aggregate needs zones: an integer label raster or a GeoDataFrame of polygons")
    if overlaps not in OVERLAPS:
        raise UnknownCodeError(f"overlaps must be one of {OVERLAPS}, not {overlaps!r}")
    polygons = _is_geodataframe(zones)
    classes, wind, zones, cell_area = (squeeze_bands(x, name) if isinstance(x, xr.DataArray) else x for x, name in
                                       ((classes, "classes"), (wind, "wind"), (zones, "zones"), (cell_area, "cell_area")))

    rasters = {"classes": classes, "wind": wind, "zones": None if polygons else zones,
               "cell_area": cell_area if isinstance(cell_area, xr.DataArray) and cell_area.ndim == 2 else None}
    das = {k: v for k, v in rasters.items() if isinstance(v, xr.DataArray)}
    check_same_grid(*das.values(), names=list(das))
    ref = das.get("classes", next(iter(das.values()), None))
    water = _data(classes)
    if water.ndim != 2:
        raise InputError(f"classes must be a 2-D raster, got {water.ndim} dimensions")
    shape = tuple(int(s) for s in water.shape)
    wind_data = None if wind is None else _data(wind)
    for name, arr in (("wind", wind_data), ("zones", None if polygons else _data(zones))):
        if arr is not None and tuple(arr.shape) != shape:
            raise GridMismatchError(f"classes and {name} are on different grids: shapes {shape} and {tuple(arr.shape)}")
    area = _areas(cell_area, ref, shape)
    wanted = None
    if zone_ids is not None:
        wanted = np.asarray(zone_ids, dtype=np.int64).reshape(-1)
        if np.unique(wanted).size != wanted.size:
            raise InputError("zone_ids holds duplicates")

    if polygons:
        shapes, bounds, polygon_km2 = _vector_zones(zones, id_column, ref)
        vector = (shapes, bounds, overlaps)
        transform = grid_of(ref).transform
        labels, nodata = None, None
        rows = polygon_km2.index.to_numpy() if wanted is None else wanted
    else:
        vector = transform = polygon_km2 = None
        labels, nodata = _data(zones), zones_nodata if zones_nodata is not None else declared_nodata(zones)
        rows = wanted

    arrays = [water, wind_data, labels, area if area.shape[1] != 1 else None]
    if any(_is_lazy(a) for a in arrays):
        parts = _lazy_parts(arrays, area, nodata, wanted, vector, transform)
    else:
        block_vector = None if vector is None else (*vector, _affine(transform, 0, 0))
        parts = [_block_table(labels, water, wind_data, area, nodata, wanted, block_vector)]
    ids, total, n_clash, pairs = _combine(parts)
    if n_clash:
        listed = ", ".join(f"({a}, {b})" for a, b in pairs[:10]) + (f" and {len(pairs) - 10} more" if len(pairs) > 10 else "")
        raise InputError(f"zones: {n_clash} cells have their centre in polygons of different ids; overlapping ids "
                         f"{listed}. Fix the polygons in a GIS (dissolve, clean the topology) or pass "
                         "overlaps='first' or overlaps='last' to give such cells to the first or last polygon")

    return _table(ids, total, rows, wind is not None, polygon_km2)


def _affine(transform, row_off: int, col_off: int):
    from affine import Affine

    return Affine(*transform[:6]) @ Affine.translation(col_off, row_off)


def _lazy_parts(arrays, area, nodata, wanted, vector, transform):
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
    shared = None if vector is None else dask.delayed(vector, pure=True)
    block_table = dask.delayed(_block_table_vector, pure=True)
    tasks = []
    for i in range(len(chunks[0])):
        for j in range(len(chunks[1])):
            a = area[row_off[i]:row_off[i + 1]] if area_b is None else area_b[i, j]
            lab = None if label_b is None else label_b[i, j]
            win = None if vector is None else _affine(transform, int(row_off[i]), int(col_off[j]))
            tasks.append(block_table(lab, water_b[i, j], None if wind_b is None else wind_b[i, j], a,
                                     nodata, wanted, shared, win))
    return list(dask.compute(*tasks))


def _block_table_vector(zones, water, wind, area, nodata, wanted, vector, window_transform):
    block_vector = None if vector is None else (*vector, window_transform)
    return _block_table(zones, water, wind, area, nodata, wanted, block_vector)


def _table(ids, total, rows, with_wind: bool, polygon_km2: pd.Series | None) -> pd.DataFrame:
    km2 = total / 1.0e6
    frame = pd.DataFrame(km2, index=pd.Index(ids, name="unit"),
                         columns=["no_data_km2", *CLASS_COLUMNS, "water_eroded_km2", "wind_eroded_km2"])
    if rows is not None:
        frame = frame.reindex(pd.Index(rows, name="unit"), fill_value=0.0)
    frame["land_km2"] = frame[CLASS_COLUMNS].sum(axis=1)
    frame["eroded_km2"] = frame[CLASS_COLUMNS[1:]].sum(axis=1)
    land = frame["land_km2"].to_numpy()
    with np.errstate(invalid="ignore", divide="ignore"):
        rate = np.where(land > 0, 100.0 * frame["slight_km2"].to_numpy() / land, np.nan)  # = (land - eroded)/land
    frame["conservation_rate_pct"] = np.clip(rate, 0.0, 100.0)
    columns = COLUMNS + (["water_eroded_km2", "wind_eroded_km2"] if with_wind else [])
    if polygon_km2 is not None:
        frame["polygon_km2"] = polygon_km2.reindex(frame.index, fill_value=0.0)
        whole = frame["polygon_km2"].to_numpy()
        columns.append("polygon_km2")
    else:
        whole = land + frame["no_data_km2"].to_numpy()
    with np.errstate(invalid="ignore", divide="ignore"):
        frame["coverage_pct"] = np.where(whole > 0, 100.0 * land / whole, np.nan)
    return frame[[*columns, "coverage_pct"]]
