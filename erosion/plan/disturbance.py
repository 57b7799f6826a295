"""Human-induced erosion risk from production and construction disturbance (人为水土流失风险预警).

From a disturbance layer (polygons interpreted from imagery, or the cells where cover or NDVI
dropped between two dates, :func:`disturbed_cells`) and the permitted project areas (each
project's responsibility boundary, 防治责任范围), :func:`disturbance_risk` gives every
disturbance patch its true area, its soil loss under disturbed conditions (CSLE with bare-soil
B = 1 and no measures unless given), its slope and distance to water, its relation to the
permitted areas (inside, partly outside: "beyond the responsibility boundary" 超出防治责任范围,
outside: "built without approval" 未批先建) and a risk grade from a replaceable rule table
(``erosion/data/plan/disturbance_risk_rules.csv``). :func:`disturbance_table` sums the patches
by county, :func:`write_disturbance` writes a GeoPackage atomically. Method and conventions:
docs/methods/plan-disturbance.md, docs/decisions/0033-disturbance-risk.md.

These functions compute eagerly: dask-backed rasters are computed when the patches are found
and their statistics taken (the result is a table, not a raster).
"""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from .._array import declared_nodata, squeeze_bands
from .._attrs import finalize
from ..aggregation import _polygon_m2, burn
from ..classification import REFERENCES as CLASS_REFERENCES
from ..errors import InputError, UnknownCodeError, ValueRangeError
from ..grid import cell_area, check_same_grid, grid_of
from ..io import atomic_path
from ..model import CSLE_REFERENCES, csle

__all__ = ["METRICS", "RELATIONS", "RULE_TABLE", "disturbance_patches", "disturbance_risk", "disturbance_table",
           "disturbed_cells", "grade_patches", "load_rules", "write_disturbance"]

#: Relations of a patch to the permitted project areas.
RELATIONS = ("inside", "partly_outside", "outside")

#: Patch columns a rule may test, with the suffixes ``_gt`` (>), ``_ge`` (≥), ``_lt`` (<), ``_le`` (≤).
METRICS = ("area_km2", "soil_loss_mean_t_per_km2_a", "soil_loss_t_per_a", "slope_mean_deg", "slope_max_deg",
           "distance_to_water_m", "outside_share", "outside_km2")

#: The built-in rule table (``erosion/data/plan/disturbance_risk_rules.csv``).
RULE_TABLE = "disturbance_risk_rules"

_OPS = {"gt": np.greater, "ge": np.greater_equal, "lt": np.less, "le": np.less_equal}
_RULE_TEXT = ("rule", "note", "source")
_REFERENCES = f"{CSLE_REFERENCES}; {CLASS_REFERENCES}, Table 3"


# ---------------------------------------------------------------------------- disturbed cells

def disturbed_cells(before: xr.DataArray, after: xr.DataArray, *, drop: float = 0.2,
                    bare: float | None = None) -> xr.DataArray:
    """Cells disturbed between two dates of cover fraction or NDVI.

    ``disturbed = (before − after > drop) or (bare given and before > bare ≥ after)``: the value
    fell by more than ``drop``, or the cell turned bare (``bare``: the value at or below which a
    cell counts as bare soil). 1 disturbed, 0 not, NaN where either date is NaN. Both rasters
    must share a grid (:func:`erosion.align` them first). Lazy for dask input.
    The thresholds depend on the sensor and the index: a convention to set per region
    (docs/decisions/0033-disturbance-risk.md).
    """
    for name, x in (("before", before), ("after", after)):
        if not isinstance(x, xr.DataArray):
            raise InputError(f"disturbed_cells: {name} must be a DataArray on a grid, not {type(x).__name__}")
    before = squeeze_bands(before, "disturbed_cells: before")
    after = squeeze_bands(after, "disturbed_cells: after")
    check_same_grid(before, after, names=["before", "after"])
    if not (np.isfinite(drop) and drop > 0):
        raise ValueRangeError(f"disturbed_cells: drop must be a positive number, not {drop!r}")
    if bare is not None and not np.isfinite(bare):
        raise ValueRangeError(f"disturbed_cells: bare must be a finite number or None, not {bare!r}")
    b = before.astype(np.float32)
    a = after.astype(np.float32).assign_coords({d: b[d] for d in b.dims if d in after.dims})
    hit = (b - a) > np.float32(drop)
    if bare is not None:
        hit = hit | ((b > np.float32(bare)) & (a <= np.float32(bare)))
    out = xr.where(b.notnull() & a.notnull(), hit.astype(np.float32), np.float32(np.nan))
    rule = f"before - after > {drop:g}" + ("" if bare is None else f" or before > {bare:g} >= after")
    return finalize(out.astype(np.float32), "disturbed", before, f"disturbed_cells: {rule}", inputs=(after,))


# ---------------------------------------------------------------------------- patches

def _min_area_m2(min_area: float, area_units: str) -> float:
    factor = {"m2": 1.0, "km2": 1.0e6, "hm2": 1.0e4}.get(area_units)
    if factor is None:
        raise UnknownCodeError(f"area_units must be 'm2', 'hm2' or 'km2', not {area_units!r}")
    if not (np.isfinite(min_area) and min_area >= 0):
        raise ValueRangeError(f"min_area must be a number >= 0 ({area_units}), not {min_area!r}")
    return float(min_area) * factor


def _label_raster(disturbed: xr.DataArray, min_m2: float, connectivity: int):
    """(patch polygons, label array 0 = none / 1..n, true area m² and cell count per patch)."""
    import geopandas as gpd
    import rasterio.features
    import shapely
    from affine import Affine
    from scipy import ndimage

    if connectivity not in (4, 8):
        raise InputError(f"connectivity must be 4 or 8, not {connectivity!r}")
    values = np.asarray(disturbed.values, dtype=np.float64)
    nodata = declared_nodata(disturbed)
    mask = values == 1.0
    if nodata is not None and nodata == 1.0:
        raise InputError("disturbance: the raster's nodata value is 1, the code of disturbed cells; "
                         "write another nodata value (da.rio.write_nodata(255))")
    bad = np.isfinite(values) & (values != 0.0) & (values != 1.0) & (values != (nodata if nodata is not None else np.nan))
    if bad.any():
        raise ValueRangeError(f"disturbance raster holds {int(bad.sum())} values other than 0 and 1 "
                              f"(e.g. {values[bad][0]:g}); pass a mask (disturbed_cells(before, after))")
    structure = np.ones((3, 3), bool) if connectivity == 8 else ndimage.generate_binary_structure(2, 1)
    labels, n = ndimage.label(mask, structure=structure)
    area = np.asarray(cell_area(disturbed).values, dtype=np.float64)
    m2 = np.bincount(labels.ravel(), weights=area.ravel(), minlength=n + 1)[1:]
    cells = np.bincount(labels.ravel(), minlength=n + 1)[1:]
    keep = m2 >= min_m2
    new = np.zeros(n + 1, dtype=np.int32)
    new[1:][keep] = np.arange(1, int(keep.sum()) + 1, dtype=np.int32)
    labels = new[labels]
    transform = Affine(*grid_of(disturbed).transform)
    parts: dict[int, list] = {}
    for geom, value in rasterio.features.shapes(labels, mask=labels > 0, connectivity=connectivity, transform=transform):
        parts.setdefault(int(value), []).append(shapely.geometry.shape(geom))
    ids = np.arange(1, int(keep.sum()) + 1)
    geoms = [shapely.union_all(parts[i]) for i in ids]
    gdf = gpd.GeoDataFrame({"patch_id": ids}, geometry=geoms, crs=disturbed.rio.crs)
    return gdf, labels, m2[keep], cells[keep]


def disturbance_patches(disturbed: xr.DataArray, *, min_area: float = 0.0, area_units: str = "m2",
                        connectivity: int = 8):
    """Patches of a disturbance mask: connected regions, vectorised, with their true area.

    Patches are the ``connectivity``-connected (8 or 4) regions of cells equal to 1; their area
    is the sum of the true cell areas (:func:`erosion.cell_area`); patches smaller than
    ``min_area`` (in ``area_units``: ``"m2"``, ``"hm2"`` or ``"km2"``) are dropped. Polygons come
    from ``rasterio.features.shapes`` (cell edges). Computes eagerly.
    Returns a GeoDataFrame (``patch_id``, ``area_km2``, ``n_cells``, geometry) in the raster's CRS.
    """
    if not isinstance(disturbed, xr.DataArray):
        raise InputError(f"disturbance_patches: pass a DataArray mask, not {type(disturbed).__name__}")
    disturbed = squeeze_bands(disturbed, "disturbance_patches: disturbed")
    gdf, _, m2, cells = _label_raster(disturbed, _min_area_m2(min_area, area_units), connectivity)
    gdf.insert(1, "area_km2", m2 / 1.0e6)
    gdf.insert(2, "n_cells", cells.astype(np.int64))
    return gdf


# ---------------------------------------------------------------------------- rules

def load_rules(rules: str | Path | pd.DataFrame = RULE_TABLE) -> pd.DataFrame:
    """The risk rule table, validated: the built-in name, a CSV path or a DataFrame.

    Columns: ``grade`` (name), ``level`` (integer, higher = riskier), optional ``rule`` (id),
    ``relation`` (allowed relations joined by ``|``, empty = any), ``note``/``source``, and
    conditions ``<metric>_<op>`` with a metric of :data:`METRICS` and op ``gt``, ``ge``, ``lt``,
    ``le`` (empty = no condition). A patch gets the highest level of the rules all of whose
    conditions hold (ties: the first row); a condition on a NaN metric does not hold. The table
    needs a catch-all row (no conditions) so that every patch gets a grade.
    """
    if isinstance(rules, pd.DataFrame):
        frame, where = rules.copy(), "rules (DataFrame)"
    elif isinstance(rules, str) and rules == RULE_TABLE:
        text = resources.files("erosion.data").joinpath("plan", f"{RULE_TABLE}.csv").read_text("utf-8")
        from io import StringIO

        frame, where = pd.read_csv(StringIO(text), dtype={"relation": str}), f"built-in table {RULE_TABLE!r}"
    else:
        path = Path(rules)
        if not path.is_file():
            raise InputError(f"rules: {str(path)!r} is not a file; pass a CSV path, a DataFrame or {RULE_TABLE!r}")
        frame, where = pd.read_csv(path, dtype={"relation": str}), str(path)
    frame.columns = [str(c).strip() for c in frame.columns]
    for col in ("grade", "level"):
        if col not in frame.columns:
            raise InputError(f"{where}: column {col!r} missing; columns are {list(frame.columns)}")
    if frame.empty:
        raise InputError(f"{where}: the rule table has no rows")
    pattern = re.compile(rf"^({'|'.join(METRICS)})_({'|'.join(_OPS)})$")
    conditions = [c for c in frame.columns if pattern.match(c)]
    unknown = [c for c in frame.columns if c not in ("grade", "level", "relation", *_RULE_TEXT, *conditions)]
    if unknown:
        raise UnknownCodeError(f"{where}: unknown rule column(s) {unknown}; a condition is <metric>_<op> with metric in "
                               f"{list(METRICS)} and op in {list(_OPS)}, other columns: grade, level, relation, rule, note")
    level = pd.to_numeric(frame["level"], errors="coerce")
    if level.isna().any() or (level != np.round(level)).any():
        raise InputError(f"{where}: 'level' must be an integer on every row; got {frame['level'].tolist()}")
    frame["level"] = level.astype(np.int64)
    frame["grade"] = frame["grade"].astype(str).str.strip()
    per_grade = frame.groupby("grade")["level"].nunique()
    if (per_grade > 1).any():
        raise InputError(f"{where}: grade(s) {list(per_grade.index[per_grade > 1])} appear with different levels")
    for c in conditions:
        values = pd.to_numeric(frame[c], errors="coerce")
        if (values.isna() & frame[c].notna()).any():
            raise InputError(f"{where}: column {c!r} holds non-numbers: {frame[c].tolist()}")
        frame[c] = values.astype(np.float64)
    if "relation" not in frame.columns:
        frame["relation"] = ""
    frame["relation"] = frame["relation"].fillna("").astype(str).str.strip()
    for i, text in enumerate(frame["relation"]):
        bad = [r for r in text.split("|") if text and r.strip() not in RELATIONS]
        if bad:
            raise UnknownCodeError(f"{where}: row {i + 1}: unknown relation(s) {bad}; known: {list(RELATIONS)}")
    if "rule" not in frame.columns:
        frame["rule"] = [f"row{i + 1}" for i in range(len(frame))]
    frame["rule"] = frame["rule"].astype(str)
    catch_all = (frame[conditions].isna().all(axis=1) if conditions else True) & (frame["relation"] == "")
    if not np.any(catch_all):
        raise InputError(f"{where}: no catch-all row (a row without conditions and relation); add one "
                         "(e.g. grade 'low', level 1) so that every patch gets a grade")
    frame.attrs["conditions"] = conditions
    return frame.reset_index(drop=True)


def grade_patches(patches: pd.DataFrame, rules: str | Path | pd.DataFrame = RULE_TABLE) -> pd.DataFrame:
    """``risk_grade``, ``risk_level`` and ``risk_rule`` (the deciding rule) of each patch from the rule table
    (:func:`load_rules`); returns a copy of ``patches`` with the three columns set."""
    table = load_rules(rules)
    if (table["relation"] != "").any() and "relation" not in patches.columns:
        raise InputError("grade_patches: the rules test 'relation', which the patches lack; pass disturbance_risk's result")
    conditions = table.attrs["conditions"]
    n = len(patches)
    best_level = np.full(n, np.iinfo(np.int64).min)
    best_rule = np.full(n, -1)
    for i, row in table.iterrows():
        ok = np.ones(n, dtype=bool)
        for c in conditions:
            if np.isnan(row[c]):
                continue
            metric, op = c.rsplit("_", 1)
            if metric not in patches.columns:
                raise InputError(f"rules: row {i + 1} tests {metric!r}, which the patches lack")
            v = patches[metric].to_numpy(dtype=np.float64)
            ok &= np.isfinite(v) & _OPS[op](np.where(np.isfinite(v), v, 0.0), row[c])
        if row["relation"]:
            ok &= patches["relation"].isin([r.strip() for r in row["relation"].split("|")]).to_numpy()
        better = ok & (row["level"] > best_level)
        best_level[better] = row["level"]
        best_rule[better] = i
    out = patches.copy()
    out["risk_grade"] = table["grade"].to_numpy()[best_rule] if n else np.array([], dtype=object)
    out["risk_level"] = best_level.astype(np.int64)
    out["risk_rule"] = table["rule"].to_numpy()[best_rule] if n else np.array([], dtype=object)
    return out


# ---------------------------------------------------------------------------- vectors

def _vector(gdf, what: str, crs, columns=(), polygons: bool = True):
    if not (hasattr(gdf, "geometry") and hasattr(gdf, "crs")):
        raise InputError(f"{what} must be a GeoDataFrame of polygons, not {type(gdf).__name__}")
    if gdf.crs is None:
        raise InputError(f"{what}: the GeoDataFrame has no CRS; set the one it is in with gdf.set_crs(...)")
    for c in columns:
        if c not in gdf.columns:
            raise InputError(f"{what}: column {c!r} not found; columns are {list(gdf.columns)}")
    gdf = gdf[~(gdf.geometry.isna() | gdf.geometry.is_empty)]
    kinds = set(gdf.geom_type)
    if polygons and not kinds <= {"Polygon", "MultiPolygon"}:
        raise InputError(f"{what} must be polygons (areas), found {sorted(kinds)}; buffer points or lines to the "
                         "area they stand for (gdf.buffer(metres) in a projected CRS)")
    if gdf.crs != crs:  # explicit: every vector is taken to the grid's CRS (as erosion.aggregate does)
        gdf = gdf.to_crs(crs)
    return gdf


def _distance_m(geoms, water_geoms, crs) -> np.ndarray:
    import geopandas as gpd
    import shapely
    from pyproj import CRS

    if len(water_geoms) == 0:
        return np.full(len(geoms), np.nan)
    a = gpd.GeoSeries(geoms, crs=crs)
    w = gpd.GeoSeries(water_geoms, crs=crs)
    if CRS.from_user_input(crs).is_geographic:  # each patch measured in its own UTM zone (WGS 84)
        b = a.to_crs("EPSG:4326").bounds
        lon, lat = (b["minx"] + b["maxx"]).to_numpy() / 2.0, (b["miny"] + b["maxy"]).to_numpy() / 2.0
        zone = np.clip(np.floor((lon + 180.0) / 6.0).astype(np.int64) + 1, 1, 60)
        epsg = np.where(lat >= 0.0, 32600, 32700) + zone
        out = np.full(len(a), np.nan)
        for code in np.unique(epsg):
            sel = epsg == code
            union = shapely.union_all(w.to_crs(int(code)).to_numpy())
            out[sel] = shapely.distance(a[sel].to_crs(int(code)).to_numpy(), union)
        return out
    axis = CRS.from_user_input(crs).axis_info
    k = float(axis[0].unit_conversion_factor) if axis else 1.0
    union = shapely.union_all(w.to_numpy())
    return np.asarray(shapely.distance(a.to_numpy(), union), dtype=np.float64) * k


def _mask_polygons(mask: xr.DataArray):
    import rasterio.features
    import shapely
    from affine import Affine

    v = np.asarray(mask.values, dtype=np.float64) == 1.0
    t = Affine(*grid_of(mask).transform)
    return [shapely.geometry.shape(g) for g, _ in
            rasterio.features.shapes(v.astype(np.uint8), mask=v, connectivity=8, transform=t)]


def _relation(geoms, permits, project_id: str, crs):
    """(share of each patch outside every permit, sorted overlapping project ids joined by ';')."""
    import shapely

    pgeoms = permits.geometry.to_numpy()
    pids = permits[project_id].astype(str).to_numpy()
    tree = shapely.STRtree(pgeoms)
    share = np.ones(len(geoms))
    ids = [""] * len(geoms)
    whole = _polygon_m2(np.asarray(geoms, dtype=object), crs)
    for i, g in enumerate(geoms):
        cand = tree.query(g, predicate="intersects")
        if len(cand) == 0 or whole[i] <= 0:
            continue
        pieces = shapely.intersection(g, pgeoms[cand])
        m2 = _polygon_m2(pieces, crs)
        hit = m2 > 0
        ids[i] = ";".join(sorted(set(pids[cand][hit])))
        inside = _polygon_m2(np.array([shapely.union_all(pieces[hit])], dtype=object), crs)[0] if hit.any() else 0.0
        share[i] = min(max(1.0 - inside / whole[i], 0.0), 1.0)
    return share, ids


# ---------------------------------------------------------------------------- risk

def _grid_inputs(named: dict) -> list[tuple[str, xr.DataArray]]:
    out = []
    for name, x in named.items():
        if isinstance(x, xr.DataArray):
            out.append((name, squeeze_bands(x, f"disturbance_risk: {name}")))
    return out


def disturbance_risk(disturbance, permits, *, R, K, LS=None, dem=None, slope=None, water=None, B=1.0, E=1.0, T=1.0,
                     project_id: str = "project_id", tolerance: float = 0.05, min_area: float = 0.0,
                     area_units: str = "m2", connectivity: int = 8, rules: str | Path | pd.DataFrame = RULE_TABLE,
                     data_validation: str = "raise"):
    """Every disturbance patch with its area, soil-loss risk, slope, distance to water, relation and grade.

    Every raster must share one grid (:func:`erosion.align` first); vectors need a CRS and are
    reprojected to the grid's. Computes eagerly.

    Parameters
    ----------
    disturbance : DataArray mask (1 disturbed, 0 not; :func:`disturbed_cells`) or GeoDataFrame of polygons
        Raster patches are the ``connectivity``-connected regions (:func:`disturbance_patches`);
        polygons are taken as they are (a ``patch_id`` column is kept, else 1..n) and burnt onto
        the grid on cell centres (a polygon holding no cell centre keeps its area and relation
        but gets NaN soil loss and slope). Patches under ``min_area`` (``area_units``) are dropped.
    permits : GeoDataFrame
        Each project's responsibility boundary, with the column ``project_id``.
    R, K, LS, B, E, T : DataArray or number
        CSLE factors (:func:`erosion.csle`); disturbed conditions mean bare soil, B = 1, and no
        measures, E = T = 1, unless given. Without ``LS`` it is computed from ``dem``
        (:func:`erosion.factors.terrain.ls_factor`).
    dem, slope : DataArray
        Slope in degrees, or a DEM to compute it (Horn 1981, :func:`erosion.factors.terrain.slope`).
    water : DataArray mask (1 = water) or GeoDataFrame, optional
        Distance to the nearest water (m, 0 when touching); NaN without it.
    tolerance : float
        Relation: ``inside`` when the share outside every permit is ≤ tolerance, ``outside``
        when it is ≥ 1 − tolerance, else ``partly_outside``.
    rules : str, path or DataFrame
        The rule table (:func:`load_rules`).

    Returns
    -------
    geopandas.GeoDataFrame
        In the grid's CRS, one row per patch, with ``patch_id``, ``area_km2`` (true area),
        ``n_cells``, ``soil_loss_mean_t_per_km2_a`` (area-weighted mean modulus, 100·A),
        ``soil_loss_t_per_a`` (Σ A·cell area), ``slope_mean_deg``, ``slope_max_deg``,
        ``distance_to_water_m``, ``relation``, ``outside_share``, ``outside_km2``, ``project_ids``
        (``;``-joined), ``risk_grade``, ``risk_level``, ``risk_rule``.
    """
    import geopandas as gpd

    if not (0.0 <= tolerance < 0.5):
        raise ValueRangeError(f"tolerance must lie in [0, 0.5), not {tolerance!r}")
    min_m2 = _min_area_m2(min_area, area_units)
    is_vector = hasattr(disturbance, "geometry") and hasattr(disturbance, "crs")
    if not is_vector and not isinstance(disturbance, xr.DataArray):
        raise InputError("disturbance must be a DataArray mask (disturbed_cells) or a GeoDataFrame of polygons, "
                         f"not {type(disturbance).__name__}")
    grids = _grid_inputs({"disturbance": disturbance, "R": R, "K": K, "LS": LS, "dem": dem, "slope": slope,
                          "water": water, "B": B, "E": E, "T": T})
    if not grids:
        raise InputError("disturbance_risk needs at least one raster on the grid (LS, dem, slope, R or K as a DataArray)")
    check_same_grid(*[x for _, x in grids], names=[n for n, _ in grids])
    named = dict(grids)
    ref = grids[0][1]
    crs = ref.rio.crs
    if crs is None:
        raise InputError(f"disturbance_risk: the raster {grids[0][0]!r} has no CRS; write one with da.rio.write_crs(...)")
    if LS is None and dem is None:
        raise InputError("disturbance_risk: pass LS, or a dem to compute it")
    if slope is None and dem is None:
        raise InputError("disturbance_risk: pass slope (degrees), or a dem to compute it")
    from ..factors.terrain import ls_factor
    from ..factors.terrain import slope as slope_of

    LS = named.get("LS") if LS is not None else ls_factor(named["dem"])
    theta = named.get("slope") if slope is not None else slope_of(named["dem"])
    permits = _vector(permits, "permits", crs, columns=(project_id,))

    if is_vector:
        polys = _vector(disturbance, "disturbance", crs)
        polys = polys.reset_index(drop=True)
        first, second = polys.sindex.query(polys.geometry, predicate="overlaps")
        if len(first):
            raise InputError(f"disturbance: {len(first) // 2} pair(s) of polygons overlap (e.g. rows {first[0]} and "
                             f"{second[0]}); an area disturbed once must be one patch: dissolve them "
                             "(gdf.dissolve() or shapely.union_all) or clean the interpretation's topology")
        ids = polys["patch_id"].to_numpy() if "patch_id" in polys.columns else np.arange(1, len(polys) + 1)
        m2_all = _polygon_m2(polys.geometry.to_numpy(), crs) if len(polys) else np.zeros(0)
        keep = m2_all >= min_m2
        polys, ids, m2 = polys[keep].reset_index(drop=True), ids[keep], m2_all[keep]
        gdf = gpd.GeoDataFrame({"patch_id": ids}, geometry=polys.geometry.to_numpy(), crs=crs)
        from affine import Affine

        shape = ref.shape[-2:]
        labels = (burn([(g, i + 1) for i, g in enumerate(gdf.geometry)], out_shape=shape, fill=0, all_touched=False,
                       transform=Affine(*grid_of(ref).transform), dtype="int32") if len(gdf) else np.zeros(shape, np.int32))
        cells = np.bincount(labels.ravel(), minlength=len(gdf) + 1)[1:]
    else:
        gdf, labels, m2, cells = _label_raster(named["disturbance"], min_m2, connectivity)

    n = len(gdf)
    A = csle(named.get("R", R), named.get("K", K), LS, named.get("B", B), named.get("E", E), named.get("T", T),
             data_validation=data_validation)
    a = np.broadcast_to(np.asarray(A.values if isinstance(A, xr.DataArray) else A, dtype=np.float64), labels.shape)
    area = np.asarray(cell_area(ref).values, dtype=np.float64)
    th = np.asarray(theta.values, dtype=np.float64)
    flat = labels.ravel()
    sel = flat > 0
    lab = flat[sel] - 1
    av, cv, tv = a.ravel()[sel], area.ravel()[sel], th.ravel()[sel]
    fa = np.isfinite(av)
    def per_patch(keep, weights):  # float64 even for no patch or no cell (bincount gives int then)
        return np.bincount(lab[keep], weights=weights, minlength=n).astype(np.float64)

    total_t = per_patch(fa, av[fa] * cv[fa] / 1.0e4)  # t/hm²/a × hm²
    valid_km2 = per_patch(fa, cv[fa]) / 1.0e6
    ft = np.isfinite(tv)
    slope_sum = per_patch(ft, tv[ft] * cv[ft])
    slope_w = per_patch(ft, cv[ft])
    slope_max = np.full(n, -np.inf)
    np.maximum.at(slope_max, lab[ft], tv[ft])
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_mod = np.where(valid_km2 > 0, total_t / valid_km2, np.nan)
        slope_mean = np.where(slope_w > 0, slope_sum / slope_w, np.nan)
    slope_max[~np.isfinite(slope_max)] = np.nan
    total_t[valid_km2 == 0] = np.nan

    if water is None:
        dist = np.full(n, np.nan)
    elif isinstance(water, xr.DataArray):
        dist = _distance_m(gdf.geometry.to_numpy(), _mask_polygons(named["water"]), crs) if n else np.zeros(0)
    else:
        w = _vector(water, "water", crs, polygons=False)
        dist = _distance_m(gdf.geometry.to_numpy(), w.geometry.to_numpy(), crs) if n else np.zeros(0)

    share, pids = _relation(gdf.geometry.to_numpy(), permits, project_id, crs) if n else (np.zeros(0), [])
    relation = np.where(share <= tolerance, "inside", np.where(share >= 1.0 - tolerance, "outside", "partly_outside"))
    out = gpd.GeoDataFrame({
        "patch_id": gdf["patch_id"].to_numpy(),
        "area_km2": np.asarray(m2, dtype=np.float64) / 1.0e6,
        "n_cells": np.asarray(cells, dtype=np.int64),
        "soil_loss_mean_t_per_km2_a": mean_mod,
        "soil_loss_t_per_a": total_t,
        "slope_mean_deg": slope_mean,
        "slope_max_deg": slope_max,
        "distance_to_water_m": dist,
        "relation": relation.astype(object),
        "outside_share": share,
        "outside_km2": share * np.asarray(m2, dtype=np.float64) / 1.0e6,
        "project_ids": pd.Series(pids, dtype=object),
    }, geometry=gdf.geometry.to_numpy(), crs=crs)
    out = grade_patches(out, rules)
    out = out[[c for c in out.columns if c != "geometry"] + ["geometry"]]
    out.attrs["references"] = _REFERENCES
    out.attrs["history"] = (f"disturbance_risk: CSLE on disturbed conditions, tolerance={tolerance:g}, "
                            f"min_area={min_area:g} {area_units}, connectivity={connectivity}")
    return out


# ---------------------------------------------------------------------------- tables

def _pieces_vector(patches, zones, id_column: str):
    """(patch row index, zone id, m²) of each patch-zone intersection."""
    import shapely

    crs = patches.crs
    zones = _vector(zones, "zones", crs, columns=(id_column,))
    zg, zid = zones.geometry.to_numpy(), zones[id_column].to_numpy()
    tree = shapely.STRtree(zg)
    rows, zs, m2 = [], [], []
    for i, g in enumerate(patches.geometry.to_numpy()):
        cand = tree.query(g, predicate="intersects")
        if len(cand) == 0:
            continue
        a = _polygon_m2(shapely.intersection(g, zg[cand]), crs)
        rows += [i] * len(cand)
        zs += list(zid[cand])
        m2 += list(a)
    return np.asarray(rows, dtype=np.int64), np.asarray(zs), np.asarray(m2, dtype=np.float64), list(pd.unique(zid))


def _pieces_raster(patches, zones: xr.DataArray):
    from affine import Affine

    zones = squeeze_bands(zones, "disturbance_table: zones")
    if zones.rio.crs is None:
        raise InputError("zones: the label raster has no CRS; write one with da.rio.write_crs(...)")
    p = patches.to_crs(zones.rio.crs) if patches.crs != zones.rio.crs else patches
    z = np.asarray(zones.values)
    nodata = declared_nodata(zones)
    valid = np.isfinite(z) if z.dtype.kind == "f" else np.ones(z.shape, bool)
    if nodata is not None:
        valid &= z != nodata
    lab = burn([(g, i + 1) for i, g in enumerate(p.geometry)], out_shape=z.shape, fill=0, all_touched=False,
               transform=Affine(*grid_of(zones).transform), dtype="int32") if len(p) else np.zeros(z.shape, np.int32)
    area = np.asarray(cell_area(zones).values, dtype=np.float64)
    sel = (lab > 0) & valid
    frame = pd.DataFrame({"row": lab[sel] - 1, "zone": z[sel], "m2": area[sel]}).groupby(["row", "zone"], as_index=False).sum()
    all_zones = list(np.unique(z[valid]))
    return frame["row"].to_numpy(), frame["zone"].to_numpy(), frame["m2"].to_numpy(), all_zones


def disturbance_table(patches, zones, *, id_column: str = "id", grades: list[str] | None = None) -> pd.DataFrame:
    """Disturbance patches summed by county (or any unit): zones as polygons or a label raster.

    A patch split by a boundary is split by area (true areas of the intersections, or of the
    cells on the label raster). Columns per zone: ``n_patches`` (patches whose largest part lies
    in the zone: each patch counted once), ``area_km2``, ``area_<grade>_km2`` for each grade,
    ``area_<relation>_km2`` for each relation, ``outside_km2`` (area outside every permit,
    the part's share), ``soil_loss_t_per_a`` (the part's share of the patch's total).
    Parts outside every zone are left out.
    """
    need = ("area_km2", "relation", "risk_grade", "outside_share", "soil_loss_t_per_a")
    missing = [c for c in need if c not in patches.columns]
    if missing:
        raise InputError(f"disturbance_table: patches lack {missing}; pass the result of disturbance_risk")
    if isinstance(zones, xr.DataArray):
        rows, zs, m2, all_zones = _pieces_raster(patches, zones)
    else:
        rows, zs, m2, all_zones = _pieces_vector(patches, zones, id_column)
    grades = grades or sorted(pd.unique(patches["risk_grade"]).tolist(),
                              key=lambda g: -int(patches.loc[patches["risk_grade"] == g, "risk_level"].iloc[0]))
    km2 = m2 / 1.0e6
    piece = pd.DataFrame({"zone": zs, "row": rows, "km2": km2})
    whole = patches["area_km2"].to_numpy()[rows]
    # the part's share of the patch (by measured area, so the parts of a patch add up to it)
    sums = piece.groupby("row")["km2"].transform("sum").to_numpy()
    frac = np.where(whole > 0, km2 / np.maximum(whole, sums), 0.0)
    piece["grade"] = patches["risk_grade"].to_numpy()[rows]
    piece["relation"] = patches["relation"].to_numpy()[rows]
    piece["outside_km2"] = km2 * patches["outside_share"].to_numpy()[rows]
    piece["soil_loss_t_per_a"] = frac * patches["soil_loss_t_per_a"].to_numpy(dtype=np.float64)[rows]
    index = pd.Index(all_zones, name=id_column)
    table = pd.DataFrame(index=index)
    if len(piece):
        largest = piece.loc[piece.groupby("row")["km2"].idxmax()]
        table["n_patches"] = largest.groupby("zone").size().reindex(index, fill_value=0).astype(np.int64)
    else:
        table["n_patches"] = np.zeros(len(index), dtype=np.int64)
    table["area_km2"] = piece.groupby("zone")["km2"].sum().reindex(index, fill_value=0.0)
    for g in grades:
        table[f"area_{g}_km2"] = piece[piece["grade"] == g].groupby("zone")["km2"].sum().reindex(index, fill_value=0.0)
    for r in RELATIONS:
        table[f"area_{r}_km2"] = piece[piece["relation"] == r].groupby("zone")["km2"].sum().reindex(index, fill_value=0.0)
    table["outside_km2"] = piece.groupby("zone")["outside_km2"].sum().reindex(index, fill_value=0.0)
    table["soil_loss_t_per_a"] = piece.groupby("zone")["soil_loss_t_per_a"].sum(min_count=1).reindex(index, fill_value=0.0)
    return table.reset_index()


def write_disturbance(patches, path: str | Path, *, layer: str = "disturbance_patches", table: pd.DataFrame | None = None,
                      table_layer: str = "disturbance_by_county", overwrite: bool = True) -> Path:
    """Write the patches (and, optionally, the county table as an attribute-only layer) to a
    GeoPackage, atomically: written under a temporary name and moved into place when complete."""
    import pyogrio

    dest = Path(path)
    if dest.exists() and not overwrite:
        raise InputError(f"{str(dest)!r} exists and overwrite=False; remove it or pass overwrite=True")
    if not dest.parent.is_dir():
        raise InputError(f"cannot write {str(dest)!r}: directory {str(dest.parent)!r} does not exist")
    if patches.crs is None:
        raise InputError("write_disturbance: the patches have no CRS")
    with atomic_path(dest) as tmp:
        patches.to_file(tmp, layer=layer, driver="GPKG")
        if table is not None:
            pyogrio.write_dataframe(pd.DataFrame(table), tmp, layer=table_layer, driver="GPKG")
    return dest
