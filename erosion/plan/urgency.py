"""Treatment urgency of units and the suitability of measures by slope, land use and region.

Two decisions of a soil and water conservation plan, with their rules explicit:

- :func:`urgency`: per unit (administrative unit or small watershed) the indicators eroded area
  share, intensity (area-weighted class weight), soil loss per area, sloping cropland share and,
  optionally, the share of land near water; each normalised (min–max across units or against
  fixed reference ranges), combined with explicit weights into an index in [0, 1]::

      U_j = Σ_k w_k · n_k(x_jk),   Σ_k w_k = 1, w_k ≥ 0, n_k ∈ [0, 1]

  and ranked (1 = treat first; ties by index, then soil loss per area, then unit id).
  :func:`urgency_index` does the normalising, weighting and ranking on a table of indicators.
- :func:`suitability`: a raster of measure codes from a rule table (land-use codes, slope
  interval, region, gully; overlaps resolved by priority), and :func:`suitable_area`, the area
  suitable for each measure per unit (km²).

Slope intervals are half-open, ``slope_min_deg ≤ θ < slope_max_deg`` (90 includes 90), so the
25° of the Water and Soil Conservation Law (2010 revision, art. 20, "二十五度以上", which in
Chinese law includes 25) falls to returning cropland and 5° to terraces.

The default weights, class weights, sloping threshold and rules are conventions of ours
(docs/decisions/0031-urgency-and-suitability.md); the method page is docs/methods/plan-urgency.md.
These functions compute their (dask) inputs eagerly: they reduce rasters to small tables.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from .._array import declared_nodata, prepare, squeeze_bands
from .._attrs import finalize
from ..aggregation import (
    CLASS_COLUMNS,
    _affine,
    _areas,
    _is_geodataframe,
    aggregate,
    burn,
    zone_labels,
    zone_sums,
)
from ..classification import REFERENCES as CLASS_REFERENCES
from ..errors import GridMismatchError, InputError, UnknownCodeError, ValueRangeError
from ..grid import cell_sizes, check_same_grid, grid_of

__all__ = [
    "CLASS_WEIGHTS",
    "DEFAULT_WEIGHTS",
    "INDICATORS",
    "REFERENCE_RANGES",
    "RULE_COLUMNS",
    "SLOPING_DEG",
    "distance_to_water",
    "load_rules",
    "suitability",
    "suitable_area",
    "urgency",
    "urgency_index",
]

#: Indicator key → raw column of the urgency table.
INDICATORS = {
    "eroded": "eroded_pct",
    "intensity": "intensity_score",
    "soil_loss": "soil_loss_t_per_km2_a",
    "sloping_cropland": "sloping_cropland_pct",
    "near_water": "near_water_pct",
}
#: Default weights (docs/decisions/0031-urgency-and-suitability.md); without ``water`` the
#: ``near_water`` weight is dropped and the others renormalised.
DEFAULT_WEIGHTS = {"eroded": 0.2, "intensity": 0.2, "soil_loss": 0.3, "sloping_cropland": 0.2, "near_water": 0.1}
#: Weight of each SL 190-2007 class (1 slight … 6 severe) in the intensity score: the class step
#: above slight (a convention, ADR 0031).
CLASS_WEIGHTS = {1: 0.0, 2: 1.0, 3: 2.0, 4: 3.0, 5: 4.0, 6: 5.0}
#: Fixed reference ranges (low, high) for ``normalise="reference"``: shares 0–100 %, intensity 0 to
#: the largest class weight, soil loss 0 to 15 000 t·km⁻²·a⁻¹ (the lower limit of "severe", SL 190-2007).
REFERENCE_RANGES = {"eroded": (0.0, 100.0), "intensity": (0.0, 5.0), "soil_loss": (0.0, 15000.0),
                    "sloping_cropland": (0.0, 100.0), "near_water": (0.0, 100.0)}
#: Cropland at or above this slope (degrees) is sloping cropland (ADR 0031: the lower limit of the terrace rule).
SLOPING_DEG = 5.0
#: Columns of a suitability rule table.
RULE_COLUMNS = ("code", "measure", "name_zh", "landuse", "slope_min_deg", "slope_max_deg", "region", "gully",
                "priority", "basis", "source")
BASES = ("law", "standard", "convention")
NO_DATA, NO_RULE = 0, 1
REFERENCES = (f"{CLASS_REFERENCES}; Water and Soil Conservation Law of the PRC (2010 revision), art. 20; "
              "docs/decisions/0031-urgency-and-suitability.md")
_MEASURE_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


# ----------------------------------------------------------------------------- zones

def _raster(x, name: str) -> xr.DataArray:
    if not isinstance(x, xr.DataArray):
        raise InputError(f"{name} must be an xarray.DataArray on the grid of the other rasters, not {type(x).__name__}")
    return squeeze_bands(x, name)


def _mask(x, name: str) -> np.ndarray:
    """A 0/1 (or bool) raster as a bool array; NaN and the declared nodata are False."""
    v = np.asarray(x)
    if v.dtype == bool:
        return v
    if v.dtype.kind not in "fiu":
        raise InputError(f"{name} must be a boolean or 0/1 raster, not {v.dtype}")
    nodata = declared_nodata(x)
    valid = np.isfinite(v) if v.dtype.kind == "f" else np.ones(v.shape, bool)
    if nodata is not None:
        valid &= v != nodata
    bad = valid & (v != 0) & (v != 1)
    if bad.any():
        raise ValueRangeError(f"{name} must hold 0/1 (or booleans); {int(bad.sum())} cells hold other values "
                              f"(e.g. {np.unique(v[bad])[:5]}). Pass a mask such as landuse == 12")
    return valid & (v == 1)


def _slope_values(slope) -> np.ndarray:
    s = np.asarray(prepare(slope, "slope", arg="slope"), dtype=np.float64)
    steep = np.isfinite(s) & ((s < 0) | (s > 90))
    if steep.any():
        raise ValueRangeError(f"slope: {int(steep.sum())} cells lie outside 0..90 degrees (max {np.nanmax(s):.4g}); "
                              "slope must be in degrees (percent slopes need units='percent')")
    return s


# ----------------------------------------------------------------------------- water

def distance_to_water(water, template: xr.DataArray | None = None, *, all_touched: bool = True) -> xr.DataArray:
    """Distance from every cell centre to the nearest water cell, m (0 on water).

    Euclidean distance transform (scipy ``distance_transform_edt``) on true cell sizes: the
    nearest water cell is found with the cell sizes of the grid's middle row, and its distance
    is then measured with the cell height between the two rows and the cell width
    (:func:`erosion.grid.cell_sizes`) at the row midway between them, so distances on
    geographic grids follow the convergence of the meridians::

        d = sqrt((y_r − y_r0)² + ((c − c0) · Δx((r + r0)/2))²)

    Parameters
    ----------
    water
        A boolean or 0/1 raster (1 = water; NaN and nodata are not water), or a GeoDataFrame of
        water polygons or lines, burnt on ``template``'s grid (``all_touched=True`` by default,
        so rivers narrower than a cell are kept).
    template
        The grid for polygon or line water (ignored for a raster).

    Returns
    -------
    float64 DataArray ``distance_to_water`` in m, on the grid of ``water`` or ``template``. Water
    outside the grid is not seen. Computed eagerly.
    """
    from scipy.ndimage import distance_transform_edt

    if _is_geodataframe(water):
        if template is None:
            raise InputError("distance_to_water: water given as polygons or lines needs template=, a DataArray of the grid")
        template = _raster(template, "template")
        if water.crs is None:
            raise InputError("water: the GeoDataFrame has no CRS; set one with gdf.set_crs(...)")
        if template.rio.crs is not None and water.crs != template.rio.crs:
            water = water.to_crs(template.rio.crs)
        geoms = [(g, 1) for g in water.geometry if g is not None and not g.is_empty]
        w = (burn(geoms, out_shape=template.shape, transform=_affine(grid_of(template).transform, 0, 0), fill=0,
                  all_touched=all_touched, dtype="uint8") == 1) if geoms else np.zeros(template.shape, bool)
        ref = template
    else:
        ref = _raster(water, "water")
        w = _mask(ref, "water")
    if not w.any():
        raise InputError("water: no water cell on the grid; check the water layer's CRS and extent")
    dx, dy = cell_sizes(ref)
    mid = len(dy) // 2
    _, (r0, c0) = distance_transform_edt(~w, sampling=(dy[mid], dx[mid]), return_indices=True)
    rows = np.arange(w.shape[0])[:, None]
    cols = np.arange(w.shape[1])[None, :]
    ypos = np.cumsum(dy) - dy / 2.0
    d = np.hypot(ypos[rows] - ypos[r0], (cols - c0) * dx[(rows + r0) // 2])
    out = xr.DataArray(d, dims=ref.dims[-2:], coords={k: ref.coords[k] for k in ref.dims[-2:] if k in ref.coords})
    return finalize(out, "distance_to_water", ref, "distance_to_water: Euclidean distance transform on true cell sizes",
                    "SciPy ndimage.distance_transform_edt, exact Euclidean distance transform "
                    "(Virtanen P. et al. 2020, Nature Methods 17:261-272)")


# ----------------------------------------------------------------------------- urgency

def _check_weights(weights: Mapping | None, available: list[str]) -> dict[str, float]:
    """Weights ≥ 0 of known indicators, normalised to sum 1."""
    if weights is None:
        w = {k: v for k, v in DEFAULT_WEIGHTS.items() if k in available}
    else:
        if not isinstance(weights, Mapping):
            raise InputError(f"weights must be a dict indicator -> weight, not {type(weights).__name__}")
        unknown = sorted(set(weights) - set(INDICATORS))
        if unknown:
            raise UnknownCodeError(f"weights: unknown indicators {unknown}; known: {list(INDICATORS)}")
        w = {}
        for k, v in weights.items():
            try:
                v = float(v)
            except (TypeError, ValueError):
                raise InputError(f"weights[{k!r}] must be a number, not {v!r}") from None
            if not np.isfinite(v) or v < 0:
                raise ValueRangeError(f"weights[{k!r}] = {v!r}: weights must be finite and >= 0")
            w[k] = v
        missing = [k for k, v in w.items() if v > 0 and k not in available]
        if missing:
            raise InputError(f"weights: {missing} weighted but not computed; pass water= for 'near_water' "
                             f"(indicators available: {available})")
    total = sum(w.values())
    if not total > 0:
        raise ValueRangeError(f"weights {w} sum to {total}; at least one weight must be > 0")
    return {k: v / total for k, v in w.items()}


def _ranges(normalise, class_max: float) -> dict[str, tuple[float, float]] | None:
    if isinstance(normalise, str):
        if normalise == "minmax":
            return None
        if normalise == "reference":
            return dict(REFERENCE_RANGES, intensity=(0.0, class_max))
        raise UnknownCodeError(f"normalise must be 'minmax', 'reference' or a dict indicator -> (low, high), not {normalise!r}")
    if not isinstance(normalise, Mapping):
        raise InputError(f"normalise must be 'minmax', 'reference' or a dict, not {type(normalise).__name__}")
    unknown = sorted(set(normalise) - set(INDICATORS))
    if unknown:
        raise UnknownCodeError(f"normalise: unknown indicators {unknown}; known: {list(INDICATORS)}")
    out = dict(REFERENCE_RANGES, intensity=(0.0, class_max))
    for k, pair in normalise.items():
        try:
            lo, hi = (float(v) for v in pair)
        except (TypeError, ValueError):
            raise InputError(f"normalise[{k!r}] must be a pair (low, high), not {pair!r}") from None
        if not (np.isfinite(lo) and np.isfinite(hi) and hi > lo):
            raise ValueRangeError(f"normalise[{k!r}] = ({lo}, {hi}): need finite low < high")
        out[k] = (lo, hi)
    return out


def urgency_index(table: pd.DataFrame, *, weights: Mapping | None = None, normalise="minmax",
                  class_max: float = 5.0) -> pd.DataFrame:
    """Normalise the indicators of a table, weight them into the urgency index and rank the units.

    ``n = (x − min) / (max − min)`` across the units with land (``"minmax"``; 0 for all when
    max = min), or ``n = clip((x − low) / (high − low), 0, 1)`` against fixed ranges
    (``"reference"``: :data:`REFERENCE_RANGES`, or a dict indicator → (low, high) overriding
    them). ``urgency_index = Σ w_k n_k`` with the weights normalised to sum 1. The rank (1 =
    treat first) orders by index, then soil loss per area (both descending), then unit id
    (ascending), so it does not depend on the order of the rows; units without an index (no
    land) get no rank.

    Parameters
    ----------
    table
        Indexed by unit id, with the raw columns of :data:`INDICATORS` that are weighted
        (``near_water_pct`` may be absent).
    weights
        Indicator key → weight ≥ 0 (keys of :data:`INDICATORS`; missing keys weigh 0). Default
        :data:`DEFAULT_WEIGHTS`, without ``near_water`` when its column is absent.
    class_max
        The high end of the intensity score's reference range (the largest class weight).
    """
    available = [k for k, c in INDICATORS.items() if c in table.columns]
    w = _check_weights(weights, available)
    ranges = _ranges(normalise, class_max)
    out = table.copy()
    ok = out[INDICATORS["soil_loss"]].notna() if INDICATORS["soil_loss"] in out else pd.Series(True, out.index)
    index = np.zeros(len(out))
    for key in available:
        x = out[INDICATORS[key]].to_numpy(dtype=np.float64)
        if ranges is None:
            xs = x[np.isfinite(x)]
            lo, hi = (xs.min(), xs.max()) if xs.size else (0.0, 0.0)
            n = np.zeros_like(x) if hi <= lo else (x - lo) / (hi - lo)
        else:
            lo, hi = ranges[key]
            n = np.clip((x - lo) / (hi - lo), 0.0, 1.0)
        n = np.where(np.isfinite(x), n, np.nan)
        out[f"{key}_norm"] = n
        if w.get(key, 0.0) > 0:
            index = index + w[key] * np.nan_to_num(n)
            ok &= np.isfinite(x)
    out["urgency_index"] = np.where(ok, np.clip(index, 0.0, 1.0), np.nan)
    soil = out[INDICATORS["soil_loss"]] if INDICATORS["soil_loss"] in out else pd.Series(0.0, out.index)
    order = pd.DataFrame({"i": out["urgency_index"].to_numpy(), "s": soil.to_numpy(), "u": out.index.to_numpy()})
    order = order.sort_values(["i", "s", "u"], ascending=[False, False, True], na_position="last", kind="mergesort")
    rank = pd.array([pd.NA] * len(out), dtype="Int64")
    valid = order["i"].notna().to_numpy()
    pos = order.index.to_numpy()[valid]
    rank[pos] = np.arange(1, valid.sum() + 1)
    out["rank"] = rank
    out.attrs["weights"] = w
    out.attrs["normalise"] = "minmax" if ranges is None else {k: ranges[k] for k in available}
    return out


def urgency(soil_loss, classes, zones, *, slope, cropland, water=None, buffer_m: float = 1000.0,
            sloping_deg: float = SLOPING_DEG, weights: Mapping | None = None, class_weights: Mapping | None = None,
            normalise="minmax", cell_area=None, zone_ids=None, id_column: str = "id", zones_nodata=None,
            overlaps: str = "raise") -> pd.DataFrame:
    """Treatment urgency per unit: indicators raw and normalised, the index and the rank.

    Indicators, over each unit's land (cells with a class 1..6), areas true (as
    :func:`erosion.aggregate`):

    - ``eroded_pct`` = 100 · eroded / land (light and worse, SL 190-2007);
    - ``intensity_score`` = Σ_c w_c · area_c / land, the area-weighted class weight
      (``class_weights``, default :data:`CLASS_WEIGHTS`: 0 slight … 5 severe);
    - ``soil_loss_t_per_km2_a`` = 100 · Σ A·a / Σ a, the area-weighted erosion modulus
      (``soil_loss_t_per_a`` = Σ A·a / 10⁴ is given too);
    - ``sloping_cropland_pct`` = 100 · area(cropland and θ ≥ ``sloping_deg``) / land;
    - ``near_water_pct`` (with ``water``) = 100 · area(distance to water ≤ ``buffer_m``) / land
      (:func:`distance_to_water`).

    They are normalised, weighted and ranked by :func:`urgency_index`. Computed eagerly.

    Parameters
    ----------
    soil_loss
        A, t·hm⁻²·a⁻¹ (DataArray).
    classes
        Intensity classes 0..6 of A (:func:`erosion.classify`).
    zones
        Units: an integer label raster or a GeoDataFrame, as :func:`erosion.aggregate` takes them
        (with ``cell_area``, ``zone_ids``, ``id_column``, ``zones_nodata``, ``overlaps``).
    slope
        Slope, degrees. ``cropland``: boolean or 0/1 raster.
    water
        Optional water mask raster or GeoDataFrame of water polygons or lines.
    buffer_m
        Buffer around water, m (default 1000; convention, ADR 0031).
    sloping_deg
        Sloping cropland threshold, degrees, inclusive (default 5).
    weights, normalise
        See :func:`urgency_index`.

    Returns
    -------
    DataFrame indexed by ``unit``: ``land_km2``, ``eroded_km2``, the raw indicators,
    ``soil_loss_t_per_a``, ``sloping_cropland_km2``, ``near_water_km2`` (with water), the
    ``<indicator>_norm`` columns, ``urgency_index`` in [0, 1] and ``rank`` (1 = treat first).
    """
    soil_loss = _raster(prepare(soil_loss, "soil_loss", arg="soil_loss"), "soil_loss")
    classes, slope, cropland = _raster(classes, "classes"), _raster(slope, "slope"), _raster(cropland, "cropland")
    check_same_grid(soil_loss, classes, slope, cropland, names=["soil_loss", "classes", "slope", "cropland"])
    cw = dict(CLASS_WEIGHTS if class_weights is None else class_weights)
    if sorted(cw) != list(range(1, 7)) or any(not np.isfinite(float(v)) or float(v) < 0 for v in cw.values()):
        raise InputError(f"class_weights must give a finite weight >= 0 to each class 1..6, not {cw}")
    if max(float(v) for v in cw.values()) <= 0:
        raise ValueRangeError(f"class_weights are all 0: the intensity score would be 0 everywhere; give the "
                              f"classes rising weights (default {dict(CLASS_WEIGHTS)}) or drop 'intensity' from weights")
    if not (np.isfinite(sloping_deg) and 0 <= sloping_deg <= 90):
        raise ValueRangeError(f"sloping_deg must be in 0..90 degrees, not {sloping_deg!r}")
    if not (np.isfinite(buffer_m) and buffer_m >= 0):
        raise ValueRangeError(f"buffer_m must be >= 0 (metres), not {buffer_m!r}")

    table = aggregate(classes, zones, cell_area=cell_area, zone_ids=zone_ids, id_column=id_column,
                      zones_nodata=zones_nodata, overlaps=overlaps)
    ids = table.index.to_numpy()
    shape = classes.shape
    labels, _ = zone_labels(zones, classes, shape=shape, id_column=id_column, zones_nodata=zones_nodata, overlaps=overlaps)
    area = np.asarray(_areas(cell_area, classes, shape), dtype=np.float64)
    c = np.asarray(classes)
    land = (c >= 1) & (c <= 6) if c.dtype.kind != "f" else np.isfinite(c) & (c >= 1) & (c <= 6)
    A = np.asarray(soil_loss, dtype=np.float64)
    has_a = land & np.isfinite(A)
    with np.errstate(invalid="ignore", divide="ignore"):
        a_sum = zone_sums(labels, ids, np.where(has_a, area, 0.0))
        loss_sum = zone_sums(labels, ids, np.where(has_a, A * area, 0.0))  # t hm-2 a-1 × m²
        s = _slope_values(slope)
        sloping = land & _mask(cropland, "cropland") & (s >= sloping_deg)
        land_km2 = table["land_km2"].to_numpy()
        out = pd.DataFrame(index=table.index)
        out["land_km2"] = land_km2
        out["eroded_km2"] = table["eroded_km2"].to_numpy()
        out["eroded_pct"] = np.where(land_km2 > 0, 100.0 * out["eroded_km2"] / land_km2, np.nan)
        score = sum(float(cw[i + 1]) * table[col].to_numpy() for i, col in enumerate(CLASS_COLUMNS))
        out["intensity_score"] = np.where(land_km2 > 0, score / land_km2, np.nan)
        out["soil_loss_t_per_km2_a"] = np.where(a_sum > 0, 100.0 * loss_sum / a_sum, np.nan)
        out["soil_loss_t_per_a"] = loss_sum / 1.0e4
        out["sloping_cropland_km2"] = zone_sums(labels, ids, np.where(sloping, area, 0.0)) / 1.0e6
        out["sloping_cropland_pct"] = np.where(land_km2 > 0, 100.0 * out["sloping_cropland_km2"] / land_km2, np.nan)
        if water is not None:
            if not _is_geodataframe(water):
                water = _raster(water, "water")
                check_same_grid(classes, water, names=["classes", "water"])
                if water.shape != shape:
                    raise GridMismatchError(f"water of shape {water.shape} does not match the rasters' shape {shape}")
            d = np.asarray(distance_to_water(water, classes))
            out["near_water_km2"] = zone_sums(labels, ids, np.where(land & (d <= buffer_m), area, 0.0)) / 1.0e6
            out["near_water_pct"] = np.where(land_km2 > 0, 100.0 * out["near_water_km2"] / land_km2, np.nan)
    ranked = urgency_index(out, weights=weights, normalise=normalise, class_max=max(float(v) for v in cw.values()))
    ranked.attrs.update(sloping_deg=float(sloping_deg), buffer_m=float(buffer_m) if water is not None else None,
                        class_weights=cw, references=REFERENCES)
    return ranked


# ----------------------------------------------------------------------------- suitability

def _parse_landuse(value, row: int) -> frozenset[int] | None:
    text = str(value).strip()
    if text == "*":
        return None
    try:
        codes = frozenset(int(p) for p in re.split(r"[;\s]+", text) if p)
    except ValueError:
        raise InputError(f"rules row {row}: landuse {text!r} must be '*' or integer codes separated by ';'") from None
    if not codes:
        raise InputError(f"rules row {row}: landuse is empty; use '*' for any land use")
    return codes


def load_rules(rules="suitability_rules") -> pd.DataFrame:
    """Read and validate a suitability rule table (built-in name, CSV path or DataFrame).

    Columns :data:`RULE_COLUMNS`; lines starting with ``#`` are comments. Checks: codes integer in
    2..254 (0 no data and 1 no rule are reserved), one measure name (lower-case identifier) per
    code, land use ``*`` or ``;``-separated integer codes, 0 ≤ slope_min_deg < slope_max_deg ≤ 90,
    gully ``*``/``yes``/``no``, integer priority, basis in law/standard/convention, a source; and
    that rules of different codes that can match the same cell (land uses, slope intervals and
    gully sides intersect; named regions are assumed to overlap) differ in priority. Returns
    the table sorted by priority (highest first) with a parsed ``landuse_codes`` column.
    """
    if isinstance(rules, pd.DataFrame):
        df = rules.copy()
    else:
        path = (Path(str(resources.files("erosion.data").joinpath("plan", f"{rules}.csv")))
                if isinstance(rules, str) and not str(rules).lower().endswith(".csv") else Path(rules))
        if not path.exists():
            raise InputError(f"rules: no built-in table or file {str(rules)!r}; "
                             "pass 'suitability_rules', a CSV path or a DataFrame")
        df = pd.read_csv(path, comment="#", dtype=str, keep_default_na=False, skipinitialspace=True)
    missing = [c for c in RULE_COLUMNS if c not in df.columns]
    if missing:
        raise InputError(f"rules: missing columns {missing}; a rule table has {list(RULE_COLUMNS)}")
    if df.empty:
        raise InputError("rules: the table has no rules")
    df = df.reset_index(drop=True)
    rows = []
    for i, r in df.iterrows():
        where = f"rules row {i + 1} ({r['measure']!s})"
        try:
            code, priority = int(str(r["code"]).strip()), int(str(r["priority"]).strip())
            lo, hi = float(r["slope_min_deg"]), float(r["slope_max_deg"])
        except ValueError:
            raise InputError(f"{where}: code and priority must be integers, slope_min_deg and slope_max_deg numbers") from None
        if not 2 <= code <= 254:
            raise ValueRangeError(f"{where}: code {code} outside 2..254 (0 = no data and 1 = no rule are reserved)")
        measure = str(r["measure"]).strip()
        if not _MEASURE_NAME.match(measure):
            raise InputError(f"{where}: measure {measure!r} must be a lower-case identifier such as 'terrace' "
                             "(it names the columns of suitable_area)")
        if not (0.0 <= lo < hi <= 90.0):
            raise ValueRangeError(f"{where}: need 0 <= slope_min_deg < slope_max_deg <= 90 degrees, got {lo}..{hi}")
        gully = str(r["gully"]).strip().lower()
        if gully not in ("*", "yes", "no"):
            raise InputError(f"{where}: gully must be '*', 'yes' or 'no', not {r['gully']!r}")
        basis = str(r["basis"]).strip().lower()
        if basis not in BASES:
            raise UnknownCodeError(f"{where}: basis must be one of {BASES}, not {r['basis']!r}")
        region = str(r["region"]).strip() or "*"
        if not str(r["source"]).strip():
            raise InputError(f"{where}: source is empty; say where the rule comes from (or 'convention')")
        rows.append(dict(code=code, measure=measure, name_zh=str(r["name_zh"]).strip(), landuse=str(r["landuse"]).strip(),
                         landuse_codes=_parse_landuse(r["landuse"], i + 1), slope_min_deg=lo, slope_max_deg=hi,
                         region=region, gully=gully, priority=priority, basis=basis, source=str(r["source"]).strip()))
    out = pd.DataFrame(rows)
    names = out.groupby("code")["measure"].unique()
    clash = {int(k): list(v) for k, v in names.items() if len(v) > 1}
    by_measure = out.groupby("measure")["code"].unique()
    clash.update({m: list(map(int, v)) for m, v in by_measure.items() if len(v) > 1})
    if clash:
        raise InputError(f"rules: each code must name one measure and each measure have one code; conflicts: {clash}")
    for a in range(len(out)):
        for b in range(a + 1, len(out)):
            ra, rb = out.iloc[a], out.iloc[b]
            if ra["code"] == rb["code"] or ra["priority"] != rb["priority"]:
                continue
            lu = ra["landuse_codes"] is None or rb["landuse_codes"] is None or bool(ra["landuse_codes"] & rb["landuse_codes"])
            sl = ra["slope_min_deg"] < rb["slope_max_deg"] and rb["slope_min_deg"] < ra["slope_max_deg"]
            gu = "*" in (ra["gully"], rb["gully"]) or ra["gully"] == rb["gully"]
            if lu and sl and gu:
                raise InputError(f"rules rows {a + 1} ({ra['measure']}) and {b + 1} ({rb['measure']}) can match the same "
                                 f"cells (land use, slope {ra['slope_min_deg']:g}-{ra['slope_max_deg']:g} and "
                                 f"{rb['slope_min_deg']:g}-{rb['slope_max_deg']:g} deg) with equal priority "
                                 f"{ra['priority']}; give the one that should win a higher priority")
    return out.sort_values(["priority", "code"], ascending=[False, True], kind="mergesort").reset_index(drop=True)


def _region_masks(regions, shape, ref) -> dict[str, np.ndarray]:
    if regions is None:
        return {}
    if isinstance(regions, str):
        return {regions: np.ones(shape, bool)}
    if not isinstance(regions, Mapping):
        raise InputError("regions must be a region name (the whole grid lies in it) or a dict name -> mask raster")
    out = {}
    for name, m in regions.items():
        m = _raster(m, f"regions[{name!r}]")
        check_same_grid(ref, m, names=["slope", f"regions[{name!r}]"])
        out[str(name)] = _mask(m, f"regions[{name!r}]")
    return out


def suitability(slope, landuse, *, rules="suitability_rules", regions=None, gully=None,
                landuse_nodata=None) -> xr.DataArray:
    """Raster of the measure suitable in each cell, from a rule table.

    A rule matches a cell when its land use is in the rule's codes (or ``*``),
    ``slope_min_deg ≤ θ < slope_max_deg`` (a rule ending at 90 includes 90), the cell is in the
    rule's region (``*`` = anywhere) and on the rule's side of the gully mask (``yes``, ``no``,
    ``*``). Of the matching rules the one of highest priority gives the cell its code. Rules
    whose region or gully mask is not given match nowhere; they are listed in the attribute
    ``rules_not_applied``.

    Parameters
    ----------
    slope
        Slope, degrees (DataArray).
    landuse
        Integer land-use codes on the same grid (NaN or nodata = no data); the default table
        uses the CAS classification (11 paddy, 12 dry land, 2x forest, 3x grassland).
    rules
        ``"suitability_rules"`` (``erosion/data/plan/suitability_rules.csv``), a CSV path or a
        DataFrame (:func:`load_rules`).
    regions
        A region name when the whole grid lies in one region (``"loess_plateau"``), or a dict
        region name → mask raster.
    gully
        Boolean or 0/1 gully (channel) mask, e.g. ``flow_accumulation(dem) >= 5e5`` (m²): the
        threshold is the user's.

    Returns
    -------
    uint8 DataArray ``treatment_measure``: 0 no data (NaN slope or land use), 1 no rule applies,
    else the rule's code; CF ``flag_values`` / ``flag_meanings`` (``no_data none <measures>``).
    Computed eagerly.
    """
    table = load_rules(rules)
    slope, landuse = _raster(slope, "slope"), _raster(landuse, "landuse")
    check_same_grid(slope, landuse, names=["slope", "landuse"])
    s = _slope_values(slope)
    lu = np.asarray(landuse)
    nodata = landuse_nodata if landuse_nodata is not None else declared_nodata(landuse)
    valid = np.isfinite(s) & (np.isfinite(lu) if lu.dtype.kind == "f" else True)
    if nodata is not None:
        valid &= lu != nodata
    if lu.dtype.kind == "f" and np.any(lu[valid] != np.floor(lu[valid])):
        raise InputError("landuse must hold integer codes; found non-integer values (resampled bilinearly?)")
    lu_int = np.where(valid, lu, -1).astype(np.int64)
    masks = _region_masks(regions, s.shape, slope)
    g = None
    if gully is not None:
        g_da = _raster(gully, "gully")
        check_same_grid(slope, g_da, names=["slope", "gully"])
        g = _mask(g_da, "gully")
    out = np.where(valid, NO_RULE, NO_DATA).astype(np.uint8)
    free = valid.copy()
    skipped = []
    for r in table.itertuples():
        if r.region != "*" and r.region not in masks:
            skipped.append(f"{r.measure} (region {r.region!r} not given)")
            continue
        if r.gully != "*" and g is None:
            skipped.append(f"{r.measure} (gully mask not given)")
            continue
        top = s <= r.slope_max_deg if r.slope_max_deg >= 90.0 else s < r.slope_max_deg
        hit = free & (s >= r.slope_min_deg) & top
        if r.landuse_codes is not None:
            hit &= np.isin(lu_int, list(r.landuse_codes))
        if r.region != "*":
            hit &= masks[r.region]
        if r.gully != "*":
            hit &= g if r.gully == "yes" else ~g
        out[hit] = r.code
        free &= ~hit
    measures = table.drop_duplicates("code").sort_values("code")
    extra = {"flag_values": np.array([NO_DATA, NO_RULE, *measures["code"]], dtype=np.uint8),
             "flag_meanings": " ".join(["no_data", "none", *measures["measure"]]),
             "_FillValue": np.uint8(NO_DATA),
             "rules_not_applied": "; ".join(dict.fromkeys(skipped)) or "none"}
    da = xr.DataArray(out, dims=slope.dims[-2:], coords={k: slope.coords[k] for k in slope.dims[-2:] if k in slope.coords})
    src = rules if isinstance(rules, str) else ("DataFrame" if isinstance(rules, pd.DataFrame) else str(rules))
    return finalize(da, "treatment_measure", slope, f"suitability(rules={src!r}): highest-priority matching rule",
                    REFERENCES, extra_attrs=extra, inputs=[landuse])


def suitable_area(measures: xr.DataArray, zones, *, cell_area=None, zone_ids=None, id_column: str = "id",
                  zones_nodata=None, overlaps: str = "raise") -> pd.DataFrame:
    """Area suitable for each measure per unit, km², from a :func:`suitability` raster.

    Columns ``land_km2`` (cells with data), ``none_km2`` (no rule applies) and one
    ``<measure>_km2`` per flag of ``measures`` (``flag_values`` / ``flag_meanings``); for every
    unit they add up to ``land_km2``. Zones and areas as :func:`erosion.aggregate` (true cell
    areas; polygons rasterized on cell centres). Computed eagerly.
    """
    measures = _raster(measures, "measures")
    flags = np.atleast_1d(np.asarray(measures.attrs.get("flag_values", [])))
    meanings = str(measures.attrs.get("flag_meanings", "")).split()
    if flags.size == 0 or flags.size != len(meanings):
        raise InputError("measures must carry CF flag_values and flag_meanings of equal length (the output of suitability)")
    m = np.asarray(measures)
    unknown = np.setdiff1d(np.unique(m), flags)
    if unknown.size:
        raise UnknownCodeError(f"measures holds codes {unknown[:10].tolist()} not in its flag_values {flags.tolist()}")
    shape = m.shape
    labels, polygon_km2 = zone_labels(zones, measures, shape=shape, id_column=id_column, zones_nodata=zones_nodata,
                                      overlaps=overlaps)
    if zone_ids is not None:
        ids = np.asarray(zone_ids, dtype=np.int64).reshape(-1)
        if np.unique(ids).size != ids.size:
            raise InputError("zone_ids holds duplicates")
    elif polygon_km2 is not None:
        ids = polygon_km2.index.to_numpy()
    else:
        ids = np.unique(labels[labels >= 0])
    area = np.broadcast_to(np.asarray(_areas(cell_area, measures, shape), dtype=np.float64), shape)
    out = pd.DataFrame(index=pd.Index(ids, name="unit"))
    cols = {}
    for code, name in zip(flags, meanings, strict=True):
        if code == NO_DATA:
            continue
        cols[f"{name}_km2"] = zone_sums(labels, ids, np.where(m == code, area, 0.0)) / 1.0e6
    out["land_km2"] = zone_sums(labels, ids, np.where(m != NO_DATA, area, 0.0)) / 1.0e6
    for k, v in cols.items():
        out[k] = v
    return out
