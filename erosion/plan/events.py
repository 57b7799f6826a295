"""Extreme-rainfall warnings: soil loss, classes, hot spots and warning levels of one event.

Given the erosivity of one rainfall event or forecast as a grid (:func:`erosion.factors.event_erosivity`
with ``as_r=True``, or a storm's EI30 spread over a grid), the soil loss of that event is CSLE
(Liu et al. 2002) or RUSLE (Renard et al. 1997) with R replaced by the event's erosivity::

    A_event = R_event · K · LS · B · E · T        [t·hm⁻² per event, not per year]
    M_event = 100 · A_event                       [t·km⁻² per event]

computed by :func:`erosion.csle` / :func:`erosion.rusle` and relabelled ``event_soil_loss``.
Each cell then gets a warning level from a table of thresholds on M_event
(``erosion/data/plan/event_warning_levels.csv``: level k when M_event exceeds the threshold of
level k, 0 none … 4 red), a hot-spot flag (A_event above a threshold, a parameter), and, for
comparison only, the SL 190-2007 intensity classes that the loss of this one event would reach
if it were a year's loss (SL 190 defines them for mean annual loss). Per unit: land, event soil
loss, area by warning level, hot-spot share and the unit's warning level, the highest level
covering at least ``level_cover_pct`` % of its land. The colours follow Chinese warning practice;
the thresholds are a documented convention (docs/decisions/0030-event-warnings.md;
docs/methods/plan-events.md).
"""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd
import xarray as xr

from .. import units as _units
from .. import vocabulary
from .._array import ArrayLike, Validation, _validation, check_range, squeeze_bands
from .._attrs import finalize
from ..aggregation import _areas, _is_geodataframe, dense_codes, zone_labels
from ..classification import classify
from ..errors import InputError, UnitsError, ValueRangeError
from ..grid import check_same_grid
from ..model import csle, rusle

__all__ = [
    "LEVEL_COLUMNS",
    "EventWarnings",
    "event_intensity_class",
    "event_soil_loss",
    "event_warnings",
    "hot_spots",
    "warning_level",
    "warning_levels",
    "warning_table",
]

#: Columns a warning-level table must have; ``name_zh`` and ``colour`` are optional.
LEVEL_COLUMNS = ("level", "name", "exceeds_t_per_km2")
NODATA = 255
LEVELS_REFERENCE = ("erosion/data/plan/event_warning_levels.csv: event warning thresholds, a convention "
                    "(docs/decisions/0030-event-warnings.md)")
_EVENT_UNITS = "MJ mm hm-2 h-1"
_RESERVED = {"land", "hot_spot", "no_data", "event_soil_loss", "polygon"}


# ----------------------------------------------------------------------------- event soil loss

def _event_r(R, event: bool):
    """R for csle/rusle and a note for the history; refuses an R not known to be one event's."""
    how = ("build it with erosion.factors.event_erosivity(..., as_r=True) (or event_erosivity(ei30=..., "
           "template=grid, as_r=True) for a storm's EI30), or pass event=True to state that R is the "
           "erosivity of one event")
    if isinstance(R, xr.DataArray):
        units = R.attrs.get("units")
        if R.attrs.get("erosivity_period") == "one event":
            return R, "R is the erosivity of one event (erosivity_period = 'one event')"
        if units is not None and _units.same_units(str(units), _EVENT_UNITS):
            spec = vocabulary.get("rainfall_erosivity")
            return R.assign_attrs(units=spec.units), f"R is the erosivity of one event ({_EVENT_UNITS})"
        if event:
            return R, "R stated to be the erosivity of one event by the caller (event=True)"
        raise InputError(f"R ({R.name or 'unnamed DataArray'}, units {units!r}) is not marked as the erosivity of "
                         "one event (no erosivity_period = 'one event', units not 'MJ mm hm-2 h-1'): a mean annual "
                         f"R would give a mean annual loss, not an event's. To use it anyway, {how}")
    if event:
        return R, "R stated to be the erosivity of one event by the caller (event=True)"
    raise InputError(f"R is a {type(R).__name__}, which cannot say whether it is the erosivity of one event "
                     f"or a mean annual R: {how}")


def _join_history(*texts) -> str:
    lines: list[str] = []
    for text in texts:
        for line in str(text or "").splitlines():
            if line and line not in lines:
                lines.append(line)
    return "\n".join(lines)


def event_soil_loss(R: ArrayLike, K: ArrayLike, LS: ArrayLike, B: ArrayLike | None = None, E: ArrayLike | None = None,
                    T: ArrayLike | None = None, *, C: ArrayLike | None = None, P: ArrayLike | None = None,
                    cropland: ArrayLike | None = None, event: bool = False,
                    data_validation: Validation = "raise") -> ArrayLike:
    """Soil loss of one rainfall event, ``A = R_event·K·LS·B·E·T`` (or ``·C·P``), in t·hm⁻² per event.

    Computed by :func:`erosion.csle` (Liu et al. 2002; B, E, T and ``cropland`` as there) or, when
    ``C`` or ``P`` is given, :func:`erosion.rusle` (Renard et al. 1997), with R the erosivity of
    the event (MJ·mm·hm⁻²·h⁻¹). The DataArray result is labelled ``event_soil_loss`` (units
    "t hm-2", not per year) with the references and history of the chain and
    ``erosivity_period = "one event"``; NumPy inputs give a NumPy array (no labels).

    R must be known to be one event's: a DataArray from
    :func:`erosion.factors.event_erosivity` with ``as_r=True`` (``erosivity_period = "one event"``)
    or in units "MJ mm hm-2 h-1". Anything else (a mean annual R, a number, a NumPy array) is
    refused with :class:`~erosion.errors.InputError` unless ``event=True`` states that it is an
    event's erosivity.
    """
    if not isinstance(event, bool):
        raise InputError(f"event must be True or False, not {event!r}")
    R, note = _event_r(R, event)
    if C is not None or P is not None:
        if B is not None or E is not None or T is not None or cropland is not None:
            raise InputError("give CSLE's B, E, T (and cropland) or RUSLE's C and P, not both")
        model = "rusle"
        A = rusle(R, K, LS, 1.0 if C is None else C, 1.0 if P is None else P, data_validation=data_validation)
    else:
        model = "csle"
        A = csle(R, K, LS, 1.0 if B is None else B, 1.0 if E is None else E, 1.0 if T is None else T,
                 cropland=cropland, data_validation=data_validation)
    if not isinstance(A, xr.DataArray):
        return A
    before = A.attrs.get("history")  # finalize may share A's attribute dict: keep the chain's history first
    out = finalize(A, "event_soil_loss", A, f"event_soil_loss: {model} product relabelled as the soil loss of one "
                   f"event, t hm-2 per event (not per year); {note}", extra_attrs={"erosivity_period": "one event"})
    out.attrs["history"] = _join_history(before, out.attrs["history"])
    return out


# ----------------------------------------------------------------------------- the level table

def warning_levels(table: str | Path | pd.DataFrame | None = None) -> pd.DataFrame:
    """The warning-level table, validated: columns ``level``, ``name``, ``exceeds_t_per_km2``
    (and ``name_zh``, ``colour``).

    ``None`` reads the package's table (``erosion/data/plan/event_warning_levels.csv``: 0 none,
    1 blue > 500, 2 yellow > 2500, 3 orange > 5000, 4 red > 15000 t·km⁻² per event, a convention,
    docs/decisions/0030-event-warnings.md); a path reads a CSV (``#`` comments allowed); a
    DataFrame is checked as given. Levels must be 0, 1, 2, … in order, level 0's threshold 0 and
    the thresholds must increase strictly; names are lower-case identifiers (they name table
    columns ``<name>_km2``). Bad tables raise :class:`~erosion.errors.InputError` or
    :class:`~erosion.errors.ValueRangeError` saying which row and how to fix it.
    """
    if table is None:
        where = "erosion/data/plan/event_warning_levels.csv"
        with resources.files("erosion.data").joinpath("plan/event_warning_levels.csv").open("r", encoding="utf-8") as f:
            frame = pd.read_csv(f, comment="#")
    elif isinstance(table, pd.DataFrame):
        where, frame = str(table.attrs.get("source", "the level table")), table.copy()
    else:
        where = str(table)
        if not Path(table).is_file():
            raise InputError(f"warning-level table {where!r} not found")
        frame = pd.read_csv(table, comment="#")
    missing = [c for c in LEVEL_COLUMNS if c not in frame.columns]
    if missing:
        raise InputError(f"{where}: missing columns {missing}; a warning-level table needs {list(LEVEL_COLUMNS)} "
                         f"(found {list(frame.columns)})")
    if len(frame) < 2:
        raise InputError(f"{where}: needs level 0 and at least one warning level, found {len(frame)} rows")
    level = pd.to_numeric(frame["level"], errors="coerce").to_numpy(dtype=np.float64)
    if not np.array_equal(level, np.arange(len(frame))):
        raise InputError(f"{where}: levels must be 0, 1, 2, ... in order, one per row; found {frame['level'].tolist()}")
    thr = pd.to_numeric(frame["exceeds_t_per_km2"], errors="coerce").to_numpy(dtype=np.float64)
    if not np.isfinite(thr).all() or (thr < 0).any():
        raise ValueRangeError(f"{where}: exceeds_t_per_km2 must be finite numbers >= 0 (t km-2 per event); found "
                              f"{frame['exceeds_t_per_km2'].tolist()}")
    if thr[0] != 0:
        raise ValueRangeError(f"{where}: level 0 is the base level (no warning): its exceeds_t_per_km2 must be 0, "
                              f"not {thr[0]:g}")
    steps = np.flatnonzero(np.diff(thr) <= 0)
    if steps.size:
        k = int(steps[0])
        raise ValueRangeError(f"{where}: thresholds must increase strictly with the level; level {k + 1} "
                              f"({thr[k + 1]:g}) does not exceed level {k} ({thr[k]:g}). Sort the rows by "
                              "threshold and number the levels 0, 1, 2, ...")
    names = frame["name"].astype(str).str.strip()
    for name in names:
        if not re.fullmatch(r"[a-z][a-z0-9_]*", name) or name in _RESERVED:
            raise InputError(f"{where}: level name {name!r} must be a lower-case identifier (letters, digits, _) "
                             f"and not one of {sorted(_RESERVED)}: it names the table column '{name}_km2'")
    if names.duplicated().any():
        raise InputError(f"{where}: level names must be unique; repeated {names[names.duplicated()].tolist()}")
    out = pd.DataFrame({"level": np.arange(len(frame), dtype=np.int64), "name": names.to_numpy(),
                        "name_zh": frame["name_zh"].astype(str).to_numpy() if "name_zh" in frame else names.to_numpy(),
                        "colour": frame["colour"].astype(str).to_numpy() if "colour" in frame else names.to_numpy(),
                        "exceeds_t_per_km2": thr})
    out.attrs["source"] = where
    return out


# ----------------------------------------------------------------------------- per-cell products

def _loss(loss, arg: str = "loss"):
    """(loss, factor to t km-2 per event): the event loss as given, and its scale."""
    if isinstance(loss, xr.DataArray):
        loss = squeeze_bands(loss, arg)
        units = loss.attrs.get("units")
        if units is None:
            raise UnitsError(f"{arg} has no 'units'; expected 't hm-2' (the soil loss of one event, "
                             "from erosion.plan.events.event_soil_loss)")
        if _units.same_units(str(units), "t hm-2"):
            return loss, 100.0
        if _units.same_units(str(units), "t km-2"):
            return loss, 1.0
        if _units.same_units(str(units), "t hm-2 a-1") or _units.same_units(str(units), "t km-2 a-1"):
            raise UnitsError(f"{arg} is a soil loss per year ({units!r}); event warnings need the soil loss of one "
                             "event in 't hm-2': compute it with erosion.plan.events.event_soil_loss(R_event, ...)")
        raise UnitsError(f"{arg} has units {units!r}; expected 't hm-2' or 't km-2' (per event)")
    if not isinstance(loss, (int, float, np.number, np.ndarray, list, tuple)):
        raise InputError(f"{arg} must be a number, a NumPy array or a DataArray, not {type(loss).__name__}")
    return loss, 100.0


def _modulus(block, scale: float, validation: Validation, arg: str) -> np.ndarray:
    """Event loss of a block in t km-2 per event (float64), range-checked (negative loss refused)."""
    m = np.asarray(block, dtype=np.float64)
    check_range(m if scale == 100.0 else m * (scale / 100.0), "event_soil_loss", validation, arg)
    return m * scale


def _level_codes(m: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    """Level per cell: the number of thresholds (levels 1..n) that M strictly exceeds; NODATA for NaN."""
    lv = np.asarray(np.searchsorted(thresholds, m, side="left"), dtype=np.uint8)
    return np.where(np.isfinite(m), lv, np.uint8(NODATA)).astype(np.uint8)


def _cellwise(loss, func, variable: str, history: str, extra: dict, references: str | None = None):
    if isinstance(loss, xr.DataArray):
        out = xr.apply_ufunc(func, loss, dask="parallelized", output_dtypes=[np.uint8], keep_attrs=False)
        return finalize(out, variable, loss, history, references, extra_attrs=extra)
    out = func(np.asarray(loss))
    return int(out.reshape(())) if out.ndim == 0 else out


def warning_level(loss: ArrayLike, *, levels: str | Path | pd.DataFrame | None = None,
                  data_validation: Validation = "raise") -> ArrayLike:
    """Warning level of every cell from the event soil loss, uint8 (255 = no data).

    ``loss`` in t·hm⁻² per event (:func:`event_soil_loss`; a DataArray in "t km-2" is taken as
    the modulus). With M = 100·A t·km⁻² per event and the thresholds t_k of
    :func:`warning_levels`, the level is the largest k with M > t_k (0 when none is exceeded).
    Levels never fall when the loss grows. Lazy for dask input; CRS kept.
    """
    validation = _validation(data_validation)
    table = warning_levels(levels)
    thr = table["exceeds_t_per_km2"].to_numpy()[1:]
    loss, scale = _loss(loss)

    def block(a):
        return _level_codes(_modulus(a, scale, validation, "loss"), thr)

    extra = {"flag_values": table["level"].to_numpy(dtype=np.uint8), "flag_meanings": " ".join(table["name"]),
             "exceeds_t_per_km2": table["exceeds_t_per_km2"].to_numpy(), "_FillValue": np.uint8(NODATA)}
    return _cellwise(loss, block, "event_warning_level", f"warning_level: levels of {table.attrs['source']} "
                     "(level k where the event loss in t km-2 exceeds its threshold)", extra, LEVELS_REFERENCE)


def hot_spots(loss: ArrayLike, threshold: float = 50.0, *, data_validation: Validation = "raise") -> ArrayLike:
    """Hot spots of an event: 1 where the event loss exceeds ``threshold`` (t·hm⁻² per event),
    0 elsewhere on land, 255 where the loss is NaN (uint8; lazy for dask input).

    The default 50 t·hm⁻² (5000 t·km⁻²) is the lower bound of the default orange level, a
    convention (docs/decisions/0030-event-warnings.md).
    """
    validation = _validation(data_validation)
    t = _threshold(threshold)
    loss, scale = _loss(loss)

    def block(a):
        m = _modulus(a, scale, validation, "loss")
        with np.errstate(invalid="ignore"):
            return np.where(np.isfinite(m), m > 100.0 * t, NODATA).astype(np.uint8)

    extra = {"flag_values": np.array([0, 1], dtype=np.uint8), "flag_meanings": "not_hot_spot hot_spot",
             "threshold_t_per_hm2": t, "_FillValue": np.uint8(NODATA)}
    return _cellwise(loss, block, "event_hot_spot", f"hot_spots: event soil loss > {t:g} t hm-2", extra)


def _threshold(threshold) -> float:
    try:
        t = float(threshold)
    except (TypeError, ValueError):
        raise InputError(f"hot-spot threshold must be a number (t hm-2 per event), not {threshold!r}") from None
    if not np.isfinite(t) or t < 0:
        raise ValueRangeError(f"hot-spot threshold must be a finite number >= 0 (t hm-2 per event), not {threshold!r}")
    return t


def event_intensity_class(loss: ArrayLike, *, tolerable, data_validation: Validation = "raise") -> ArrayLike:
    """SL 190-2007 intensity classes reached by the loss of one event, **for comparison only**.

    SL 190-2007 defines its classes (1 slight … 6 severe, :func:`erosion.classify`) on the
    *mean annual* erosion modulus; here its thresholds are applied to the loss of one event
    (t·km⁻² per event), saying which annual class this one event alone would reach. The
    DataArray output says so in its ``comment``. ``tolerable`` as for :func:`erosion.classify`.
    """
    loss, scale = _loss(loss)
    if not isinstance(loss, xr.DataArray):
        return classify(loss, tolerable=tolerable, data_validation=data_validation)
    # the event's loss read on the annual scale (same number per event as per year)
    view = loss.copy(data=loss.data if scale == 100.0 else loss.data / 100.0)
    view.attrs = dict(loss.attrs, units="t hm-2 a-1")
    out = classify(view, tolerable=tolerable, data_validation=data_validation)
    out.attrs["comment"] = ("SL 190-2007 thresholds, defined for mean annual soil loss, applied to the soil loss "
                            "of one event: the annual class this event alone would reach, for comparison only")
    out.attrs["history"] = _join_history(out.attrs.get("history"), "erosion: event_intensity_class: the loss of one "
                                         "event classified on SL 190-2007's annual scale (comparison only)")
    return out


# ----------------------------------------------------------------------------- table by unit

def warning_table(loss, zones, *, levels: str | Path | pd.DataFrame | None = None, hot_spot_threshold: float = 50.0,
                  unit_hot_share_pct: float = 10.0, unit_mean_loss: float | None = None,
                  level_cover_pct: float = 10.0, cell_area=None, zone_ids=None, id_column: str = "id",
                  zones_nodata=None, overlaps: str = "raise", data_validation: Validation = "raise") -> pd.DataFrame:
    """Units by warning level: per unit the event soil loss, area by level, hot spots and its level.

    Parameters
    ----------
    loss
        Event soil loss, t·hm⁻² per event (:func:`event_soil_loss`); NaN = no data.
    zones
        Units: an integer label raster on the loss grid or a GeoDataFrame of polygons with integer
        ids in ``id_column`` (rasterized on cell centres, as in :func:`erosion.aggregate`, whose
        ``zone_ids``, ``zones_nodata``, ``overlaps`` and ``cell_area`` these are).
    levels
        Warning-level table (:func:`warning_levels`; default the package's).
    hot_spot_threshold
        A cell is a hot spot where its event loss exceeds this, t·hm⁻² per event (default 50).
    unit_hot_share_pct, unit_mean_loss
        A unit is a hot-spot unit when its hot-spot share of land exceeds ``unit_hot_share_pct``
        (default 10 %) or its mean event loss exceeds ``unit_mean_loss`` t·km⁻² per event
        (default: 100 × ``hot_spot_threshold``, the cell threshold as a modulus; ``numpy.inf``
        switches it off).
    level_cover_pct
        The unit's warning level is the highest level k whose area at level k **or above** covers
        at least this share of the unit's land (default 10 %; in (0, 100]).

    Returns
    -------
    DataFrame indexed by ``unit``: ``land_km2`` (cells with a loss), ``event_soil_loss_t``
    (Σ A·area), ``event_soil_loss_t_per_km2`` (= t / land), ``<name>_km2`` per level (they add up
    to ``land_km2``), ``hot_spot_km2``, ``hot_spot_share_pct``, ``hot_spot_unit``,
    ``warning_level`` (nullable integer, NA without land), ``warning_name``, then ``polygon_km2``
    for polygons and ``coverage_pct`` (as in :func:`erosion.aggregate`). Rows are sorted by
    warning level (highest first), then event loss per km² (highest first), then unit id.
    Areas are true areas (:func:`erosion.grid.row_areas`). Computes dask inputs (the table needs
    the values).
    """
    validation = _validation(data_validation)
    table = warning_levels(levels)
    thr = table["exceeds_t_per_km2"].to_numpy()[1:]
    t_hot = _threshold(hot_spot_threshold)
    mean_limit = 100.0 * t_hot if unit_mean_loss is None else float(unit_mean_loss)
    if not (np.isfinite(mean_limit) and mean_limit >= 0):
        raise ValueRangeError(f"unit_mean_loss must be a finite number >= 0 (t km-2 per event), not {unit_mean_loss!r}")
    if not 0.0 < float(level_cover_pct) <= 100.0:
        raise ValueRangeError(f"level_cover_pct must lie in (0, 100] %, not {level_cover_pct!r}")
    if not 0.0 <= float(unit_hot_share_pct) <= 100.0:
        raise ValueRangeError(f"unit_hot_share_pct must lie in [0, 100] %, not {unit_hot_share_pct!r}")
    if zones is None:
        raise InputError("warning_table needs zones: an integer label raster or a GeoDataFrame of polygons")
    loss, scale = _loss(loss)
    polygons = _is_geodataframe(zones)
    if isinstance(zones, xr.DataArray):
        zones = squeeze_bands(zones, "zones")
    ref = loss if isinstance(loss, xr.DataArray) else None
    if ref is not None and isinstance(zones, xr.DataArray):
        check_same_grid(loss, zones, names=["loss", "zones"])
    m = _modulus(loss.data if ref is not None else loss, scale, validation, "loss")  # computes dask input
    if m.ndim != 2:
        raise InputError(f"loss must be a 2-D raster, got {m.ndim} dimensions")
    shape = m.shape
    area = np.broadcast_to(np.asarray(_areas(cell_area, ref, shape), dtype=np.float64), shape)
    wanted = None if zone_ids is None else np.asarray(zone_ids, dtype=np.int64).reshape(-1)
    labels, polygon_km2 = zone_labels(zones, ref, shape=shape, id_column=id_column, zones_nodata=zones_nodata,
                                      overlaps=overlaps)
    rows = polygon_km2.index.to_numpy() if polygons and wanted is None else wanted
    codes, ids = dense_codes(labels, wanted)
    inside = codes >= 0
    valid = inside & np.isfinite(m)
    c, a, mv = codes[valid], area[valid] / 1.0e6, m[valid]  # km², t km-2
    lv = _level_codes(mv, thr)
    n = ids.size

    def total(weights):
        return np.bincount(c, weights=weights, minlength=n)

    data = {"land_km2": total(a), "event_soil_loss_t": total(mv * a)}
    for k, name in enumerate(table["name"]):
        data[f"{name}_km2"] = total(np.where(lv == k, a, 0.0))
    at_least = np.stack([total(np.where(lv >= k, a, 0.0)) for k in range(len(table))], axis=1)
    data["hot_spot_km2"] = total(np.where(mv > 100.0 * t_hot, a, 0.0))
    no_data = np.bincount(codes[inside & ~np.isfinite(m)], weights=area[inside & ~np.isfinite(m)] / 1.0e6,
                          minlength=n)
    frame = pd.DataFrame(data, index=pd.Index(ids, name="unit"))
    frame["_no_data_km2"] = no_data
    cover = pd.DataFrame(at_least, index=frame.index)
    if rows is not None:
        frame = frame.reindex(pd.Index(rows, name="unit"), fill_value=0.0)
        cover = cover.reindex(frame.index, fill_value=0.0)
    land = frame["land_km2"].to_numpy()
    has_land = land > 0
    with np.errstate(invalid="ignore", divide="ignore"):
        frame["event_soil_loss_t_per_km2"] = np.where(has_land, frame["event_soil_loss_t"] / land, np.nan)
        frame["hot_spot_share_pct"] = np.where(has_land, 100.0 * frame["hot_spot_km2"] / land, np.nan)
        share = 100.0 * cover.to_numpy() / land[:, None]
    frame["hot_spot_unit"] = has_land & ((frame["hot_spot_share_pct"].to_numpy() > float(unit_hot_share_pct))
                                         | (frame["event_soil_loss_t_per_km2"].to_numpy() > mean_limit))
    reached = np.where(has_land[:, None], share >= float(level_cover_pct), False)
    reached[:, 0] = has_land
    level = np.where(has_land, reached.shape[1] - 1 - np.argmax(reached[:, ::-1], axis=1), -1)
    frame["warning_level"] = pd.array(np.where(has_land, level, 0), dtype="Int64")
    frame.loc[~has_land, "warning_level"] = pd.NA
    names = table["name"].to_numpy()
    frame["warning_name"] = [names[k] if ok else None for k, ok in zip(level, has_land, strict=True)]
    if polygon_km2 is not None:
        frame["polygon_km2"] = polygon_km2.reindex(frame.index, fill_value=0.0)
        whole = frame["polygon_km2"].to_numpy()
    else:
        whole = land + frame["_no_data_km2"].to_numpy()
    with np.errstate(invalid="ignore", divide="ignore"):
        frame["coverage_pct"] = np.where(whole > 0, 100.0 * land / whole, np.nan)
    columns = ["land_km2", "event_soil_loss_t", "event_soil_loss_t_per_km2", *(f"{n}_km2" for n in names),
               "hot_spot_km2", "hot_spot_share_pct", "hot_spot_unit", "warning_level", "warning_name",
               *(["polygon_km2"] if polygon_km2 is not None else []), "coverage_pct"]
    frame = frame[columns].reset_index()
    frame = frame.sort_values(["warning_level", "event_soil_loss_t_per_km2", "unit"], ascending=[False, False, True],
                              na_position="last", kind="stable").set_index("unit")
    frame.attrs.update(levels=table.attrs["source"], hot_spot_threshold_t_per_hm2=t_hot,
                       unit_hot_share_pct=float(unit_hot_share_pct), unit_mean_loss_t_per_km2=mean_limit,
                       level_cover_pct=float(level_cover_pct))
    return frame


# ----------------------------------------------------------------------------- all at once

class EventWarnings(NamedTuple):
    """What :func:`event_warnings` returns."""

    soil_loss: ArrayLike
    """Event soil loss, t·hm⁻² per event (``event_soil_loss``)."""
    level: ArrayLike
    """Warning level per cell (uint8, 255 no data)."""
    hot_spot: ArrayLike
    """Hot spots per cell (uint8 1/0, 255 no data)."""
    intensity_class: ArrayLike | None
    """SL 190-2007 classes of the event loss, for comparison (None without ``tolerable``)."""
    table: pd.DataFrame | None
    """Units by warning level (None without ``zones``)."""
    levels: pd.DataFrame
    """The warning-level table used."""


def event_warnings(R, K, LS, B=None, E=None, T=None, *, C=None, P=None, cropland=None, zones=None,
                   event: bool = False, levels=None, hot_spot_threshold: float = 50.0, tolerable=None,
                   unit_hot_share_pct: float = 10.0, unit_mean_loss: float | None = None,
                   level_cover_pct: float = 10.0, cell_area=None, zone_ids=None, id_column: str = "id",
                   zones_nodata=None, overlaps: str = "raise", data_validation: Validation = "raise") -> EventWarnings:
    """Extreme-rainfall warning of one event: loss, levels, hot spots, classes and the unit table.

    :func:`event_soil_loss` (R the event's erosivity; factors and ``event`` as there), then
    :func:`warning_level`, :func:`hot_spots`, :func:`event_intensity_class` (when ``tolerable``
    is given) and :func:`warning_table` (when ``zones`` are given; it computes dask inputs).
    """
    table = warning_levels(levels)
    loss = event_soil_loss(R, K, LS, B, E, T, C=C, P=P, cropland=cropland, event=event,
                           data_validation=data_validation)
    level = warning_level(loss, levels=table, data_validation=data_validation)
    hot = hot_spots(loss, hot_spot_threshold, data_validation=data_validation)
    classes = None if tolerable is None else event_intensity_class(loss, tolerable=tolerable,
                                                                   data_validation=data_validation)
    units = None if zones is None else warning_table(
        loss, zones, levels=table, hot_spot_threshold=hot_spot_threshold, unit_hot_share_pct=unit_hot_share_pct,
        unit_mean_loss=unit_mean_loss, level_cover_pct=level_cover_pct, cell_area=cell_area, zone_ids=zone_ids,
        id_column=id_column, zones_nodata=zones_nodata, overlaps=overlaps, data_validation=data_validation)
    return EventWarnings(loss, level, hot, classes, units, table)
