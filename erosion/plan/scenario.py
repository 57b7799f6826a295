"""Measures and their benefit: the plan's indicators "soil loss reduced" and "area newly treated".

A :class:`Measure` names the factor(s) it changes and the new value: a **code** of the factor
module's table for E (:func:`erosion.factors.e_factor`, ``erosion/data/engineering_measures.csv``),
T (:func:`erosion.factors.t_factor`, ``tillage_measures.csv``) and C
(:func:`erosion.factors.c_from_landuse`), a practice of :func:`erosion.factors.p_factor` for P, a
B value (from :func:`erosion.factors.soil_loss_ratio` / :func:`erosion.factors.b_factor`) for a
change in cover, and optionally the new cropland status (returning cropland to forest or grass).
:func:`apply` puts measures on areas (polygons or masks) of a factor Dataset; :func:`compare`
recomputes A = R·K·LS·B·E·T (:func:`erosion.csle`, Liu et al. 2002) or A = R·K·LS·C·P
(:func:`erosion.rusle`) for a baseline and several scenarios, classifies them (SL 190-2007,
:func:`erosion.classify`) and tables per unit

    ΔS_u = Σ_{i∈u} (A₀,i − A₁,i) · a_i   [t·a⁻¹]   (A in t·hm⁻²·a⁻¹, a_i true cell area in hm²)

with the class areas and conservation rate before and after (:func:`erosion.aggregate`) and the
area newly treated. Conventions: docs/decisions/0029-scenarios-and-benefit.md; method:
docs/methods/plan-scenario.md.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from .._array import declared_nodata, prepare, squeeze_bands
from .._attrs import finalize
from ..accessor import CSLE_VARIABLES, RUSLE_VARIABLES
from ..aggregation import CLASS_COLUMNS, _affine, _is_geodataframe, _rasterize, aggregate, zone_labels, zone_sums
from ..classification import REFERENCES as CLASS_REFERENCES
from ..classification import classify
from ..errors import GridMismatchError, InputError, UnknownCodeError, ValueRangeError
from ..factors import c_from_landuse, e_factor, p_factor, soil_loss_ratio, t_factor
from ..factors import tables as _tables
from ..factors.engineering import REF_E, REF_P, _p_rows
from ..factors.tillage import REF_T
from ..factors.vegetation import REF_B, b_factor
from ..grid import check_same_grid, grid_of, row_areas
from ..model import CSLE_REFERENCES, csle, rusle

__all__ = ["FACTORS", "Measure", "afforestation", "apply", "avoided", "compare", "contour_tillage", "cover_change",
           "grass_planting", "measure_code", "overall", "terraces"]

#: What a measure may change, by model; ``cropland`` (the CSLE cropland rule's mask) changes with CSLE.
FACTORS = {"csle": ("B", "E", "T", "cropland"), "rusle": ("C", "P")}
_CODED = {"E": (e_factor, "engineering_measures"), "T": (t_factor, "tillage_measures"), "C": (c_from_landuse, None)}
_VARIABLES = {**CSLE_VARIABLES, **RUSLE_VARIABLES}
TREATED = "treated_by_measure"
_REFS = {"E": REF_E, "T": REF_T, "P": REF_P, "B": REF_B, "C": "C: the code table's source column"}
REF_SCENARIO = (f"{CSLE_REFERENCES}; {CLASS_REFERENCES}; "
                "soil loss avoided and area treated: docs/decisions/0029-scenarios-and-benefit.md")


# ----------------------------------------------------------------------------- measures

@dataclass(frozen=True, eq=False, init=False)
class Measure:
    """A soil and water conservation measure: the factor values it sets where it applies.

    ``Measure(name, *, on_cropland=False, slope_range=None, tables=None, source="", **changes)``
    with ``changes`` among ``E``, ``T``, ``C`` (an integer **code** of the factor's table:
    ``tables={"E": ...}`` or the built-in ``engineering_measures``, ``tillage_measures``,
    ``modis_igbp_c``; the value is looked up there, so a measure of your own is a row of your own
    table, with its source), ``P`` (a practice of :func:`erosion.factors.p_factor`, P by slope),
    ``B`` (a number in [0, 1] or a raster on the factors' grid, e.g. from
    :func:`erosion.factors.soil_loss_ratio`) and ``cropland`` (True/False: the cell's new
    status under the CSLE cropland rule, False for returning cropland to forest or grass).

    ``on_cropland`` restricts the measure to cropland cells (the factors' ``cropland``);
    ``slope_range=(lo, hi)`` to slopes lo ≤ θ < hi degrees. Unknown factor names and codes
    raise :class:`~erosion.errors.UnknownCodeError`.
    """

    name: str
    changes: Mapping[str, object]
    values: Mapping[str, object]
    on_cropland: bool
    slope_range: tuple[float, float] | None
    tables: Mapping[str, object]
    source: str

    def __init__(self, name: str, *, on_cropland: bool = False, slope_range: tuple[float, float] | None = None,
                 tables: Mapping[str, object] | None = None, source: str = "", **changes):
        if not isinstance(name, str) or not name.strip():
            raise InputError(f"a measure needs a name (a non-empty string), not {name!r}")
        known = sorted({f for fs in FACTORS.values() for f in fs})
        unknown = [k for k in changes if k not in known]
        if unknown:
            raise UnknownCodeError(f"measure {name!r}: unknown factor name(s) {unknown}; a measure changes "
                                   f"{', '.join(known)} (E, T, B, cropland with CSLE; C, P with RUSLE)")
        if not changes:
            raise InputError(f"measure {name!r} changes nothing: give at least one of {', '.join(known)}, "
                             "e.g. Measure('terraces', E=measure_code('engineering_measures', 'level terrace with earth bank'))")
        tables = dict(tables or {})
        bad = [k for k in tables if k not in ("E", "T", "C", "P")]
        if bad:
            raise UnknownCodeError(f"measure {name!r}: tables= is keyed by E, T, C or P, not {bad}")
        values = {f: _resolve(name, f, v, tables) for f, v in changes.items()}
        if slope_range is not None:
            try:
                lo, hi = (float(x) for x in slope_range)
            except (TypeError, ValueError):
                raise InputError(f"measure {name!r}: slope_range must be (lo, hi) in degrees, not {slope_range!r}") from None
            if not 0.0 <= lo < hi <= 90.0:
                raise ValueRangeError(f"measure {name!r}: slope_range {slope_range!r} must satisfy 0 <= lo < hi <= 90 "
                                      "(degrees; convert percent with atan(p/100))")
            slope_range = (lo, hi)
        for attr, value in (("name", name), ("changes", dict(changes)), ("values", values),
                            ("on_cropland", bool(on_cropland)), ("slope_range", slope_range), ("tables", tables),
                            ("source", str(source))):
            object.__setattr__(self, attr, value)
        self.model()  # refuses a measure that mixes CSLE and RUSLE factors

    def model(self) -> str:
        """``"csle"`` or ``"rusle"``: the model whose factors this measure changes."""
        models = {m for m, fs in FACTORS.items() for f in self.changes if f in fs}
        if len(models) > 1:
            raise InputError(f"measure {self.name!r} changes factors of both CSLE and RUSLE ({sorted(self.changes)}); "
                             "split it into two measures")
        return models.pop()


def _resolve(name: str, factor: str, value, tables: dict):
    """The value a measure sets: codes looked up in their table, B checked, P practice checked."""
    if factor in _CODED:
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
            raise InputError(f"measure {name!r}: {factor} must be an integer code of the {factor} table, not "
                             f"{value!r}; for a value of your own add a row (code, name_zh, name_en, value, source) "
                             f"to your own table and pass tables={{'{factor}': table}}")
        function, default = _CODED[factor]
        table = tables.get(factor, default)
        kwargs = {} if table is None else {"table": table}
        try:
            return float(function(int(value), **kwargs))
        except UnknownCodeError as exc:
            raise UnknownCodeError(f"measure {name!r}, {factor}: {exc}") from None
    if factor == "P":
        if not isinstance(value, str):
            raise InputError(f"measure {name!r}: P must be a practice name of erosion.factors.p_factor, not {value!r}")
        if value != "none":
            try:
                _p_rows(tables.get("P", "p_by_slope_ah537"), value)
            except UnknownCodeError as exc:
                raise UnknownCodeError(f"measure {name!r}, P: {exc}") from None
        return value
    if factor == "cropland":
        if not isinstance(value, (bool, np.bool_)):
            raise InputError(f"measure {name!r}: cropland must be True or False (the cells' new status), not {value!r}")
        return bool(value)
    # B
    if isinstance(value, xr.DataArray):
        return squeeze_bands(value, f"measure {name!r} B")
    try:
        b = float(value)
    except (TypeError, ValueError):
        raise InputError(f"measure {name!r}: B must be a number or a DataArray, not {type(value).__name__}") from None
    if not 0.0 <= b <= 1.0:
        raise ValueRangeError(f"measure {name!r}: B = {b!r} is outside [0, 1]")
    return b


def measure_code(table: str | Path | pd.DataFrame, name: str) -> int:
    """The code of the row named ``name`` (``name_en`` or ``name_zh``, exact) in a code table.

    ``measure_code("engineering_measures", "level terrace with earth bank")`` → the code whose E
    :func:`erosion.factors.e_factor` looks up. Raises :class:`UnknownCodeError` listing the names.
    """
    df = _tables.load_table(table)
    hit = df[(df["name_en"].astype(str) == name) | (df["name_zh"].astype(str) == name)]
    if hit.empty:
        raise UnknownCodeError(f"no row named {name!r} in {df.attrs.get('table', 'the table')}; names: "
                               f"{', '.join(map(repr, df['name_en'].astype(str)))}")
    return int(hit["code"].iloc[0])


def terraces(kind: str = "level terrace with earth bank", *, table: str | Path | pd.DataFrame = "engineering_measures",
             slope_range: tuple[float, float] | None = None) -> Measure:
    """Terracing sloping cropland: E of the terrace ``kind`` (a row of the E table), on cropland."""
    return Measure("terraces", E=measure_code(table, kind), tables={"E": table}, on_cropland=True,
                   slope_range=slope_range, source=f"E table {table if isinstance(table, str) else 'of the user'}: {kind}")


def contour_tillage(kind: str = "contour tillage", *, table: str | Path | pd.DataFrame = "tillage_measures",
                    slope_range: tuple[float, float] | None = None) -> Measure:
    """A tillage measure on cropland: T of ``kind`` (a row of the T table)."""
    return Measure(kind.replace(" ", "_"), T=measure_code(table, kind), tables={"T": table}, on_cropland=True,
                   slope_range=slope_range, source=f"T table: {kind}")


def _b(cover: str, fvc, canopy_closure, erosivity_share):
    slr = soil_loss_ratio(fvc, cover=cover, canopy_closure=canopy_closure)
    if erosivity_share is None:
        return slr  # cover held through the year: B = SLR (the weights sum to 1)
    return b_factor(slr, erosivity_share)


def afforestation(fvc, canopy_closure, *, erosivity_share=None, on_cropland: bool = False,
                  slope_range: tuple[float, float] | None = None) -> Measure:
    """Planting forest: B from the forest soil-loss ratio (:func:`erosion.factors.soil_loss_ratio`)
    at the understory cover ``fvc`` and canopy closure reached, weighted by the half-month
    ``erosivity_share`` when the cover varies (:func:`erosion.factors.b_factor`); the cells leave
    cropland (returning cropland to forest, 退耕还林)."""
    return Measure("afforestation", B=_b("forest", fvc, canopy_closure, erosivity_share), cropland=False,
                   on_cropland=on_cropland, slope_range=slope_range, source="B: CSLE forest SLR (Liu et al. 2002)")


def grass_planting(fvc, *, erosivity_share=None, on_cropland: bool = False,
                   slope_range: tuple[float, float] | None = None) -> Measure:
    """Planting grass: B from the grass soil-loss ratio at the cover ``fvc`` reached; the cells
    leave cropland (returning cropland to grass, 退耕还草)."""
    return Measure("grass_planting", B=_b("grass", fvc, None, erosivity_share), cropland=False,
                   on_cropland=on_cropland, slope_range=slope_range, source="B: CSLE grass SLR (Liu et al. 2002)")


def cover_change(code: int, *, table: str | Path | pd.DataFrame = "china_lucc_c", name: str | None = None,
                 on_cropland: bool = False, slope_range: tuple[float, float] | None = None) -> Measure:
    """A change of land cover for RUSLE: C of the land-use ``code`` in the C table."""
    return Measure(name or f"cover_{code}", C=code, tables={"C": table}, on_cropland=on_cropland,
                   slope_range=slope_range, source="C: code table of erosion.factors.c_from_landuse")


# ----------------------------------------------------------------------------- factors and areas

def _name(ds: xr.Dataset, key: str) -> str | None:
    """The variable of ``ds`` holding factor ``key`` (vocabulary name or keyword), or None."""
    present = [n for n in dict.fromkeys((_VARIABLES[key], key)) if n in ds.data_vars]
    if len(present) == 2:
        raise InputError(f"both {_VARIABLES[key]!r} and {key!r} are variables of the factors; keep one")
    return present[0] if present else None


def _model(ds: xr.Dataset, model: str | None) -> str:
    if model is not None:
        if model not in FACTORS:
            raise UnknownCodeError(f"model must be 'csle' or 'rusle', not {model!r}")
        return model
    rusle_only = any(_name(ds, k) for k in ("C", "P")) and not any(_name(ds, k) for k in ("B", "E", "T"))
    return "rusle" if rusle_only else "csle"


def _reference(ds: xr.Dataset) -> xr.DataArray:
    if not isinstance(ds, xr.Dataset):
        raise InputError(f"factors must be an xarray.Dataset of the factors named as in the vocabulary "
                         f"(rainfall_erosivity, soil_erodibility, ls_factor, ...), not {type(ds).__name__}")
    for key in ("LS", "R", "K", "B", "E", "T", "C", "P"):
        name = _name(ds, key)
        if name is not None and ds[name].ndim >= 2:
            return squeeze_bands(ds[name], name)
    raise InputError("the factors hold no 2-D raster (ls_factor, rainfall_erosivity, ...): a scenario needs a grid")


def _mask(area, ref: xr.DataArray, what: str) -> np.ndarray:
    """Boolean array on ``ref``'s grid: polygons burnt on cell centres, or a mask checked for its grid."""
    shape = tuple(ref.shape[-2:])
    if area is None:
        raise InputError(f"{what}: no area given; pass where= polygons (GeoDataFrame) or a boolean mask")
    if _is_geodataframe(area):
        if area.crs is None:
            raise InputError(f"{what}: the GeoDataFrame has no CRS; set one with gdf.set_crs(...)")
        gdf = area.to_crs(ref.rio.crs) if ref.rio.crs is not None and area.crs != ref.rio.crs else area
        geoms = [g for g in gdf.geometry if g is not None and not g.is_empty]
        if not geoms:
            return np.zeros(shape, dtype=bool)
        bounds = np.array([g.bounds for g in geoms], dtype=np.float64).reshape(-1, 4)
        labels, _, _ = _rasterize([(g, 1) for g in geoms], bounds, _affine(grid_of(ref).transform, 0, 0), shape, "last")
        return labels > 0
    if isinstance(area, xr.DataArray):
        area = squeeze_bands(area, what)
        check_same_grid(ref, area, names=["factors", what])
    values = np.asarray(area)
    if values.shape != shape:
        raise GridMismatchError(f"{what}: mask of shape {values.shape} is not on the factors' grid {shape}")
    if values.dtype == np.bool_:
        return values.copy()  # apply narrows the mask in place: never the caller's array
    if values.dtype.kind not in "iuf":
        raise InputError(f"{what}: a mask must be boolean (or 0/1), not {values.dtype}")
    with np.errstate(invalid="ignore"):
        ok = np.isnan(values) | (values == 0) | (values == 1) if values.dtype.kind == "f" else (values == 0) | (values == 1)
    if not ok.all():
        raise ValueRangeError(f"{what}: {int((~ok).sum())} cells are neither 0 nor 1 (values such as "
                              f"{np.unique(values[~ok])[:5].tolist()}); pass a boolean mask")
    return values == 1


def _slope(ds: xr.Dataset, slope, ref: xr.DataArray, measure: Measure) -> np.ndarray:
    if slope is None:
        slope = ds["slope"] if "slope" in ds.data_vars else None
    if slope is None:
        raise InputError(f"measure {measure.name!r} needs the slope (slope_range or P by slope): pass slope= (degrees) "
                         "or hold it as the variable 'slope' of the factors")
    s = prepare(slope, "slope", arg="slope")
    if isinstance(s, xr.DataArray):
        check_same_grid(ref, s, names=["factors", "slope"])
    s = np.asarray(s, dtype=np.float64)
    if s.shape != tuple(ref.shape[-2:]):
        raise GridMismatchError(f"slope of shape {s.shape} is not on the factors' grid {tuple(ref.shape[-2:])}")
    return s


def _as_list(measures, where):
    """Pairs (measure, area) from a measure or a list of them and one area or one per measure."""
    if isinstance(measures, Measure):
        measures = [measures]
    measures = list(measures)
    if not measures or not all(isinstance(m, Measure) for m in measures):
        raise InputError("measures must be a Measure or a non-empty list of Measures")
    if isinstance(where, (list, tuple)):
        if len(where) != len(measures):
            raise InputError(f"where= holds {len(where)} areas for {len(measures)} measures: give one area, or one per measure")
        return list(zip(measures, where, strict=True))
    return [(m, where) for m in measures]


def apply(factors: xr.Dataset, measures: Measure | Sequence[Measure], *, where, slope=None,
          model: str | None = None) -> xr.Dataset:
    """New factors with ``measures`` applied on the area ``where``.

    Parameters
    ----------
    factors
        Dataset of the factors named as :meth:`xarray.Dataset.erosion.csle` reads them
        (``rainfall_erosivity``, ``soil_erodibility``, ``ls_factor``, ``biological_factor``,
        ``engineering_factor``, ``tillage_factor``, ``cropland``; or ``cover_management_factor``,
        ``support_practice_factor`` for RUSLE; the keyword names R, K, ... too). A factor that
        is absent is taken as 1 and created where a measure sets it.
    measures
        A :class:`Measure` or a list; applied in order, so a later measure overrides an earlier
        one's value of the same factor where both apply.
    where
        The area: a GeoDataFrame of polygons (reprojected to the grid's CRS and burnt on cell
        centres as :func:`erosion.aggregate` burns zones) or a boolean mask (DataArray on the
        factors' grid, or a NumPy array of its shape); one area for all measures or a list of
        one per measure.
    slope
        Slope in degrees on the grid, for measures with ``slope_range`` or a P practice
        (default: the factors' variable ``slope``).
    model
        ``"csle"`` or ``"rusle"``; default RUSLE when the factors hold C or P and none of B, E, T.

    Returns
    -------
    A copy of ``factors`` with the changed factors and the variable ``treated_by_measure``
    (uint8: 1 where a measure applies and changes at least one factor as the model applies it,
    so B on cells that stay cropland or T off cropland does not count under the CSLE cropland
    rule; OR-ed with an existing one, so ``apply`` calls chain). The new factors of dask-backed
    input stay lazy; the treated mask is computed (it compares the factors before and after).
    """
    ref = _reference(factors)
    model = _model(factors, model)
    out = factors.copy()
    dims = ref.dims[-2:]
    coords = {d: ref.coords[d] for d in dims}
    applied = np.zeros(ref.shape[-2:], dtype=bool)
    for i, (measure, area) in enumerate(_as_list(measures, where)):
        if measure.model() != model:
            raise InputError(f"measure {measure.name!r} changes {sorted(measure.changes)}, factors of "
                             f"{measure.model().upper()}, but the factors are {model.upper()}'s; pass model= or "
                             "use a measure of this model")
        mask = _mask(area, ref, f"where (area of measure {measure.name!r}, #{i + 1})")
        crop_name = _name(out, "cropland")
        if measure.on_cropland:
            if crop_name is None:
                raise InputError(f"measure {measure.name!r} applies on cropland only, but the factors have no "
                                 "'cropland' variable; add the cropland mask or build the measure with on_cropland=False")
            mask &= np.asarray(out[crop_name]) == 1
        needs_slope = measure.slope_range is not None or "P" in measure.values
        s = _slope(out, slope, ref, measure) if needs_slope else None
        if measure.slope_range is not None:
            lo, hi = measure.slope_range
            with np.errstate(invalid="ignore"):
                mask &= (s >= lo) & (s < hi)
        applied |= mask
        m = xr.DataArray(mask, dims=dims, coords=coords)
        for factor, value in measure.values.items():
            if factor == "cropland" and crop_name is None:
                continue  # no cropland rule in these factors: B and T already apply everywhere
            name = _name(out, factor) or _VARIABLES[factor]
            old = out[name] if name in out.data_vars else xr.DataArray(np.float32(1.0))
            if factor == "P":
                new = p_factor(xr.DataArray(s, dims=dims, coords=coords, attrs={"units": "degree"}), practice=value,
                               table=measure.tables.get("P", "p_by_slope_ah537"))
            elif factor == "cropland":
                new = xr.DataArray(np.asarray(1 if value else 0, dtype=old.dtype if old.dtype.kind in "fiu" else np.float32))
                if old.dtype == np.bool_:
                    new = xr.DataArray(np.bool_(value))
            elif isinstance(value, xr.DataArray):
                check_same_grid(ref, value, names=["factors", f"B of measure {measure.name!r}"])
                new = value.assign_coords(coords)
            else:
                new = xr.DataArray(np.float32(value))
            if factor == "cropland":  # no data stays no data: a status set there would invent a soil loss
                nodata = declared_nodata(old)
                has_data = old.notnull() if nodata is None else old.notnull() & (old != nodata)
                updated = xr.where(m & has_data, new, old)
            else:
                updated = xr.where(m, new, old)
            var = _VARIABLES[factor]
            if updated.dtype.kind == "f" and factor != "cropland":
                updated = updated.astype(np.float32)
            if factor == "cropland":
                updated.attrs = dict(old.attrs)
            else:
                updated = _finish(updated.transpose(*dims), var, old if old.ndim >= 2 else None, ref,
                                  f"erosion.plan.scenario.apply: measure {measure.name!r} sets {factor}"
                                  + (f" ({measure.source})" if measure.source else ""), _REFS[factor])
            out[name] = updated.rename(name)
    changed = applied & _differs(factors, out, model, ref)
    if TREATED in factors.data_vars:
        changed |= np.asarray(factors[TREATED]) == 1
    t = xr.DataArray(changed.astype(np.uint8), dims=dims, coords=coords)
    out[TREATED] = _finish(t, TREATED, None, ref, "erosion.plan.scenario.apply: cells where a measure changes a factor")
    return out


def _finish(da: xr.DataArray, variable: str, template: xr.DataArray | None, ref: xr.DataArray, history: str,
            references: str | None = None):
    """Vocabulary attributes; references of the factor it replaces (not of the grid's other factors), CRS of ``ref``."""
    out = finalize(da, variable, template, history, REF_SCENARIO + ("; " + references if references else ""))
    if "spatial_ref" in ref.coords:
        out = out.assign_coords(spatial_ref=ref.coords["spatial_ref"])
    return out


# ----------------------------------------------------------------------------- benefit

def _soil_loss(ds: xr.Dataset, model: str) -> xr.DataArray:
    keys = CSLE_VARIABLES if model == "csle" else RUSLE_VARIABLES
    kwargs = {k: ds[n] for k in keys if (n := _name(ds, k)) is not None}
    missing = [k for k in ("R", "K", "LS") if k not in kwargs]
    if missing:
        raise InputError(f"the factors lack {', '.join(missing)} ({', '.join(_VARIABLES[k] for k in missing)}); "
                         f"variables found: {', '.join(map(str, ds.data_vars)) or 'none'}")
    return (csle if model == "csle" else rusle)(**kwargs)


def _zone_labels(zones, ref: xr.DataArray, id_column: str, overlaps: str, zones_nodata):
    """(labels int64 with -1 outside every unit, the unit ids in table order)."""
    if not (_is_geodataframe(zones) or isinstance(zones, xr.DataArray)):
        raise InputError("zones must be an integer label raster (DataArray on the factors' grid) or a GeoDataFrame")
    labels, polygon_km2 = zone_labels(zones, ref, id_column=id_column, zones_nodata=zones_nodata, overlaps=overlaps)
    return labels, (polygon_km2.index.to_numpy() if polygon_km2 is not None else np.unique(labels[labels >= 0]))


def compare(baseline: xr.Dataset, scenarios: Mapping[str, object], *, zones, tolerable, model: str | None = None,
            slope=None, zone_ids=None, id_column: str = "id", overlaps: str = "raise", zones_nodata=None) -> pd.DataFrame:
    """Soil loss avoided, class areas and conservation rate before and after, per scenario and unit.

    Parameters
    ----------
    baseline
        The factors of the present state (a Dataset as for :func:`apply`).
    scenarios
        ``{name: scenario}``, each a Dataset of factors (the output of :func:`apply`) or a list
        of ``(measure, area)`` pairs passed to :func:`apply` on ``baseline``.
    zones
        Units: an integer label raster on the grid or a GeoDataFrame with integer ids in
        ``id_column`` (as for :func:`erosion.aggregate`; ``overlaps``, ``zones_nodata`` too).
    tolerable
        Tolerable soil loss for :func:`erosion.classify` (t·km⁻²·a⁻¹, or a region name).
    zone_ids
        The units of the table, in order (default: those of ``zones``).

    Returns
    -------
    DataFrame indexed by (scenario, unit): ``land_km2``; ``soil_loss_before_t_per_a``,
    ``soil_loss_after_t_per_a`` (Σ A·a, A in t·hm⁻²·a⁻¹, a true cell area in hm²);
    ``soil_loss_avoided_t_per_a`` (their difference) and ``soil_loss_avoided_t_per_km2_a`` (per
    km² of land); ``<class>_before_km2``, ``<class>_after_km2``, ``<class>_change_km2`` for the six
    SL 190-2007 classes and ``eroded`` (light and worse); ``conservation_rate_before_pct``,
    ``conservation_rate_after_pct`` and ``conservation_rate_change_pp`` (percentage points);
    ``treated_km2`` (land where a measure changes a factor from the baseline's value) and ``treated_eroded_km2`` (of it,
    land eroded before). The baseline is computed once. Computes eagerly (dask inputs included).
    """
    if not isinstance(scenarios, Mapping) or not scenarios:
        raise InputError("scenarios must be a non-empty dict {name: factors Dataset or [(measure, area), ...]}")
    ref = _reference(baseline)
    model = _model(baseline, model)
    labels, ids = _zone_labels(zones, ref, id_column, overlaps, zones_nodata)
    if zone_ids is not None:
        ids = np.asarray(zone_ids, dtype=np.int64).reshape(-1)
        if np.unique(ids).size != ids.size:
            raise InputError("zone_ids holds duplicates")
    ids = np.asarray(ids, dtype=np.int64)
    label_da = xr.DataArray(np.where(np.isin(labels, ids), labels, -1), dims=ref.dims[-2:],
                            coords={d: ref.coords[d] for d in ref.dims[-2:]}).rio.write_nodata(-1)
    if "spatial_ref" in ref.coords:
        label_da = label_da.assign_coords(spatial_ref=ref.coords["spatial_ref"])
    hm2 = np.broadcast_to(row_areas(ref).reshape(-1, 1) / 1.0e4, labels.shape)

    def state(ds):
        a = np.asarray(_soil_loss(ds, model), dtype=np.float64)
        c = classify(xr.DataArray(a, dims=label_da.dims, coords=label_da.coords, attrs={"units": "t hm-2 a-1"}),
                     kind="water", tolerable=tolerable)
        land = np.asarray(c) > 0
        table = aggregate(c, label_da, zone_ids=ids)
        loss = zone_sums(labels, ids, np.where(land, a * hm2, 0.0))
        return np.asarray(c), table, loss

    c0, t0, loss0 = state(baseline)
    rows = []
    for name, scenario in scenarios.items():
        ds = scenario if isinstance(scenario, xr.Dataset) else _apply_pairs(baseline, scenario, name, slope, model)
        check_same_grid(ref, _reference(ds), names=["baseline", f"scenario {name!r}"])
        c1, t1, loss1 = state(ds)
        moved = (c0 > 0) != (c1 > 0)
        if moved.any():
            raise InputError(f"scenario {name!r}: {int(moved.sum())} cells have a soil loss in one of baseline and "
                             "scenario but not in the other (NaN factors or a raster with gaps in the scenario); "
                             "a measure must keep every land cell valid")
        treated = _treated(baseline, ds, ref, model)
        land = c0 > 0
        tkm2 = zone_sums(labels, ids, np.where(treated & land, hm2 / 100.0, 0.0))
        tero = zone_sums(labels, ids, np.where(treated & (c0 >= 2), hm2 / 100.0, 0.0))
        frame = pd.DataFrame(index=pd.Index(ids, name="unit"))
        frame["land_km2"] = t0["land_km2"].to_numpy()
        frame["soil_loss_before_t_per_a"] = loss0
        frame["soil_loss_after_t_per_a"] = loss1
        frame["soil_loss_avoided_t_per_a"] = loss0 - loss1
        with np.errstate(invalid="ignore", divide="ignore"):
            frame["soil_loss_avoided_t_per_km2_a"] = np.where(frame["land_km2"] > 0,
                                                              (loss0 - loss1) / frame["land_km2"], np.nan)
        for col in [*CLASS_COLUMNS, "eroded_km2"]:
            stem = col[: -len("_km2")]
            frame[f"{stem}_before_km2"] = t0[col].to_numpy()
            frame[f"{stem}_after_km2"] = t1[col].to_numpy()
            frame[f"{stem}_change_km2"] = t1[col].to_numpy() - t0[col].to_numpy()
        frame["conservation_rate_before_pct"] = t0["conservation_rate_pct"].to_numpy()
        frame["conservation_rate_after_pct"] = t1["conservation_rate_pct"].to_numpy()
        frame["conservation_rate_change_pp"] = frame["conservation_rate_after_pct"] - frame["conservation_rate_before_pct"]
        frame["treated_km2"] = tkm2
        frame["treated_eroded_km2"] = tero
        rows.append(pd.concat({str(name): frame}, names=["scenario"]))
    return pd.concat(rows)


def overall(table: pd.DataFrame) -> pd.DataFrame:
    """The whole area of each scenario from a :func:`compare` table: areas and soil loss summed
    over the units, soil loss avoided per km² and the conservation rates recomputed from the sums
    (SWCR = 100·(land − eroded)/land), not averaged. Indexed by scenario."""
    if not isinstance(table, pd.DataFrame) or list(table.index.names) != ["scenario", "unit"]:
        raise InputError("overall needs the table of erosion.plan.scenario.compare (indexed by scenario, unit)")
    summed = [c for c in table.columns if c.endswith("_km2") or c.endswith("_t_per_a")]
    out = table[summed].groupby(level="scenario", sort=False).sum()
    land = out["land_km2"].to_numpy()
    with np.errstate(invalid="ignore", divide="ignore"):
        out["soil_loss_avoided_t_per_km2_a"] = np.where(land > 0, out["soil_loss_avoided_t_per_a"] / land, np.nan)
        for when in ("before", "after"):
            out[f"conservation_rate_{when}_pct"] = np.where(
                land > 0, 100.0 * (land - out[f"eroded_{when}_km2"].to_numpy()) / land, np.nan)
    out["conservation_rate_change_pp"] = out["conservation_rate_after_pct"] - out["conservation_rate_before_pct"]
    return out[[c for c in table.columns if c in out.columns]]


def avoided(baseline: xr.Dataset, scenario: xr.Dataset, *, model: str | None = None) -> xr.DataArray:
    """Map of the soil loss a scenario avoids, ΔA = A₀ − A₁ (t·hm⁻²·a⁻¹; negative where a measure
    raises a factor), both recomputed from the factors (lazy for dask-backed factors)."""
    ref = _reference(baseline)
    model = _model(baseline, model)
    check_same_grid(ref, _reference(scenario), names=["baseline", "scenario"])
    a0, a1 = _soil_loss(baseline, model), _soil_loss(scenario, model)
    return finalize(a0 - a1, "soil_loss_avoided", a0, "erosion.plan.scenario.avoided: A_before - A_after",
                    REF_SCENARIO, inputs=[a1])


def _apply_pairs(baseline, pairs, name, slope, model):
    if isinstance(pairs, tuple) and len(pairs) == 2 and isinstance(pairs[0], Measure):
        pairs = [pairs]
    ok = isinstance(pairs, (list, tuple)) and pairs and all(
        isinstance(p, tuple) and len(p) == 2 and isinstance(p[0], Measure) for p in pairs)
    if not ok:
        raise InputError(f"scenario {name!r} must be a Dataset of factors or a list of (measure, area) pairs, "
                         f"not {type(pairs).__name__}")
    measures, areas = zip(*pairs, strict=True)
    return apply(baseline, list(measures), where=list(areas), slope=slope, model=model)


def _treated(baseline: xr.Dataset, ds: xr.Dataset, ref: xr.DataArray, model: str) -> np.ndarray:
    """Cells newly treated: an applied factor differs from the baseline's, within the scenario's
    ``treated_by_measure`` mask when it has one (cells a baseline from :func:`apply` already marks
    as treated, and the scenario leaves as they are, do not count again)."""
    changed = _differs(baseline, ds, model, ref)
    if TREATED in ds.data_vars:
        changed &= np.asarray(ds[TREATED]) == 1
    return changed


def _effective(ds: xr.Dataset, model: str, shape: tuple[int, int]) -> list[np.ndarray]:
    """The factors a measure may change, as the model applies them (float64, on the grid).

    CSLE with a cropland mask applies B off cropland only and T on cropland only (Chang et al.
    2021), so a change of B on cropland that stays cropland, say, changes nothing.
    """
    def values(key):
        name = _name(ds, key)
        v = np.float64(1.0) if name is None else np.asarray(ds[name], dtype=np.float64)
        return np.broadcast_to(v, shape)

    if model == "rusle":
        return [values("C"), values("P")]
    b, e, t = values("B"), values("E"), values("T")
    if _name(ds, "cropland") is not None:
        crop = values("cropland")
        b = np.where(crop == 1, 1.0, b)
        t = np.where(crop == 1, t, 1.0)
    return [b, e, t]


def _differs(before: xr.Dataset, after: xr.Dataset, model: str, ref: xr.DataArray) -> np.ndarray:
    """Cells where at least one applied factor has another value (NaN in both is no change)."""
    shape = tuple(ref.shape[-2:])
    out = np.zeros(shape, dtype=bool)
    for v0, v1 in zip(_effective(before, model, shape), _effective(after, model, shape), strict=True):
        with np.errstate(invalid="ignore"):
            out |= (v0 != v1) & ~(np.isnan(v0) & np.isnan(v1))
    return out
