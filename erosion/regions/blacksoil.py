"""Northeast black-soil region (东北黑土区): settings, snowmelt erosivity, ridge-tillage T, slope
classes, gully indicators by administrative unit, ephemeral-gully susceptibility.

Method page: docs/methods/region-blacksoil.md; choices: docs/decisions/0024-black-soil-region.md.

- Settings: tolerable soil loss 200 t·km⁻²·a⁻¹ (SL 190-2007, via
  :func:`erosion.classification.tolerable_loss`); slope classes ≤ 0.25°, 0.25–2°, 2–6°, 6–15°,
  > 15° with 0.25° the critical slope of sloping cropland (Gao Yan, Xie Yun et al. 2024,
  中国水土保持 (9)); long slope lengths, capped where the user says (:func:`ls_factor`).
- Snowmelt erosivity (Wischmeier & Smith 1978, AH537): ``R_s = 1.5·P_w`` (P_w the December–March
  precipitation in inches, R_s in US units), i.e. ``R_s = 1.5·17.02/25.4·P_w[mm] ≈ 1.005·P_w`` in
  MJ·mm·hm⁻²·h⁻¹·a⁻¹. The coefficient is **recalled, to verify** and a parameter.
- T on cropland from the black-soil ridge-tillage table ``erosion/data/blacksoil_tillage.csv``
  through :func:`erosion.factors.tillage.t_factor` (values recalled, to verify).
- Gully indicators from a gully inventory (lines or polygons) by administrative unit, graded
  with the SL 190-2007 gully classes (limits recalled, to verify: :data:`GULLY_CLASSES`).
- Ephemeral-gully susceptibility from the slope–area threshold ``S·A^b ≥ k`` (Vandaele et al.
  1996; b = 0.4 from their abstract, k recalled, to verify and to calibrate locally).

Maturity: experimental (the tillage values, the gully class limits, the snowmelt coefficient and
the threshold constant k are recalled, not verified).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal

import numpy as np
import pandas as pd
import xarray as xr

from .. import units as _units
from .._array import ArrayLike, Validation, _validation, apply_cellwise, squeeze_bands
from ..classification import tolerable_loss
from ..errors import GridMismatchError, InputError, UnitsError, UnknownCodeError, ValueRangeError
from ..factors import terrain as _terrain
from ..factors.tillage import t_factor
from . import Region

__all__ = [
    "EPHEMERAL_GULLY",
    "GULLY_CLASSES",
    "REGION",
    "SETTINGS",
    "SLOPE_BREAKS",
    "SNOWMELT_COEFFICIENT_US",
    "ephemeral_gully_index",
    "ephemeral_gully_susceptibility",
    "erosivity_with_snowmelt",
    "grade_gullies",
    "gully_indicators",
    "ls_factor",
    "ridge_tillage_t",
    "slope_classes",
    "snowmelt_erosivity",
    "winter_precipitation",
]

# ----------------------------------------------------------------------------------- references

REF_TOLERABLE = "SL 190-2007 Standards for classification and gradation of soil erosion (MWR, China): T_tol = 200 t km-2 a-1"
REF_SLOPES = ("Gao Y., Xie Y. et al. (2024) critical slope (0.25 deg) and slope classes of sloping cropland in the "
              "black-soil region of Northeast China. 中国水土保持 (9)")
REF_AH537 = ("Wischmeier W.H., Smith D.D. (1978) Predicting rainfall erosion losses. USDA Agriculture Handbook 537 "
             "(snowmelt R_s = 1.5 P_Dec-Mar in inches; recalled, to verify)")
REF_TILLAGE = ("Ridge-tillage table erosion/data/blacksoil_tillage.csv: Guo Q.K., Liu B.Y. et al. (2013) 中国水土保持 (10); "
               "Wischmeier & Smith (1978) AH537 Table 14 (values recalled, to verify)")
REF_GULLY = ("SL 190-2007 gully-erosion grading by gully density and gully area share (limits recalled, to verify); "
             "MWR/Songliao Water Resources Commission 2020 black-soil gully survey (科技日报 2023-08-29); "
             "Liu B.Y. et al. (2018) 中国水土保持科学 16(4)")
REF_EPHEMERAL = ("Vandaele K., Poesen J., Govers G., van Wesemael B. (1996) Geomorphic threshold conditions for ephemeral "
                 "gully incision. Geomorphology 16(2):161-173 (b = 0.4; k recalled, to verify)")
REF_LS = ("Hickey R. (2000); Van Remortel R. et al. (2004) slope-length cutoffs; Zhang H. et al. (2013) LS-TOOL, "
          "Computers & Geosciences 52:177; slope lengths in the black-soil region > 300 m, up to 3000-4000 m "
          "(Sun L.Y. et al. 2012)")

# ----------------------------------------------------------------------------------- parameters

#: Slope-class breaks in degrees (Gao Yan et al. 2024): class 1 θ ≤ 0.25, 2 (0.25, 2], 3 (2, 6],
#: 4 (6, 15], 5 > 15; 0 = no data. 0.25° is the critical slope of sloping cropland.
SLOPE_BREAKS: tuple[float, ...] = (0.25, 2.0, 6.0, 15.0)

#: AH537 snowmelt coefficient in US units: R_s = 1.5 · P_Dec–Mar (inches). RECALLED, TO VERIFY.
SNOWMELT_COEFFICIENT_US = 1.5
_R_US_TO_SI = 17.02  # hundreds ft·tonf·in·acre⁻¹·h⁻¹·a⁻¹ → MJ·mm·hm⁻²·h⁻¹·a⁻¹ (erosion.units)
_MM_PER_INCH = 25.4

#: Ephemeral-gully slope–area threshold S·A^b ≥ k, S the gradient (m/m), A the contributing area
#: in ``area_unit``. b = 0.4: Vandaele et al. (1996) abstract ("the exponent of the drainage area
#: relationship (−0.4) showed very little variation") [V]; k = 0.025 with A in ha: RECALLED, TO
#: VERIFY (a Belgian loess cropland value); calibrate it on mapped gully heads of the study area.
EPHEMERAL_GULLY: Mapping[str, Any] = MappingProxyType({"b": 0.4, "k": 0.025, "area_unit": "ha"})

#: SL 190-2007 gully-erosion grading, RECALLED, TO VERIFY (methods reference §7.3). For each
#: measure, the lower limits of classes 2 (light) … 6 (severe) as (limit, inclusive): a unit
#: reaches class c+2 when its value is ≥ limit (inclusive) or > limit. Class 1 (slight) lies below.
#: Density (km·km⁻²): light 1–2, moderate 2–3, intense 3–5, very intense 5–7, severe > 7.
#: Area share (% of the unit): light < 10 (and > 0), moderate 10–25, intense 25–35,
#: very intense 35–50, severe > 50. Boundaries read as the library reads SL 190 ranges
#: (docs/decisions/0005-class-boundaries.md): the first range closed, later ranges (a, b].
GULLY_CLASSES: Mapping[str, tuple[tuple[float, bool], ...]] = MappingProxyType({
    "density": ((1.0, True), (2.0, False), (3.0, False), (5.0, False), (7.0, False)),
    "area_share": ((0.0, False), (10.0, True), (25.0, False), (35.0, False), (50.0, False)),
})

SETTINGS: Mapping[str, Any] = MappingProxyType({
    "tolerable_loss": tolerable_loss("black_soil"),  # t km-2 a-1, SL 190-2007 [V]
    "tolerable_region": "black_soil",
    "critical_slope_deg": 0.25,  # Gao Yan et al. 2024 [V]
    "slope_breaks_deg": SLOPE_BREAKS,
    "max_slope_length_m": None,  # the user sets the cap (ls_factor(max_length=...)); national value unknown
    "cutoff_gentle": 0.7,  # Hickey / Van Remortel cutoff below 5 % [C]
    "cutoff_steep": 0.5,
    "snowmelt_coefficient_us": SNOWMELT_COEFFICIENT_US,  # AH537 [R]
    "snowmelt_months": (12, 1, 2, 3),
    "ephemeral_gully": EPHEMERAL_GULLY,
    "gully_classes": GULLY_CLASSES,
    "gully_survey_min_length_m": 50.0,  # 2020 survey: gullies >= 50 m, catchment <= 50 km2 [V]
    "gully_survey_max_catchment_km2": 50.0,
})

# Precipitation totals: accepted depth units and their factor to mm. A rate (mm d-1, mm/month) is
# refused: the snowmelt rule takes the season's total.
_DEPTH_TO_MM = {"mm": 1.0, "cm": 10.0, "m": 1000.0, "in": 25.4, "inch": 25.4, "inches": 25.4, "kg m-2": 1.0}


def _depth_factor(units: str, arg: str) -> float:
    text = str(units).strip()
    for key in (text.lower(), _units.normalise(text)):
        if key in _DEPTH_TO_MM:
            return _DEPTH_TO_MM[key]
    raise UnitsError(f"{arg}: units {units!r} are not a precipitation depth; the December-March total is needed, "
                     f"in one of {sorted(_DEPTH_TO_MM)}. A rate (mm d-1, mm/month) or a daily series must be summed "
                     "over the winter first: use erosion.regions.blacksoil.winter_precipitation(daily_precip).")


def _in_mm(x: ArrayLike, units: str | None, arg: str) -> ArrayLike:
    """Winter precipitation in mm: DataArrays by their units attribute, other inputs by ``units``."""
    if isinstance(x, xr.DataArray):
        x = squeeze_bands(x, arg)
        given = x.attrs.get("units")
        if given is None:
            if units is None:
                raise UnitsError(f"{arg} has no 'units' attribute; expected 'mm' (December-March precipitation "
                                 "total). Set it with da.attrs['units'] = 'mm' (or 'cm', 'in': converted).")
            given = units
        elif units is not None and _depth_factor(units, arg) != _depth_factor(given, arg):
            raise UnitsError(f"{arg}: units={units!r} contradicts the DataArray's units attribute {given!r}; "
                             "drop the units= argument or fix the attribute")
        f = _depth_factor(given, arg)
        if f == 1.0:
            return x if given == "mm" else x.assign_attrs(units="mm")
        out = x * f
        out.attrs = dict(x.attrs, units="mm")
        out.attrs["history"] = (str(x.attrs.get("history", "")) +
                                f"\nerosion: converted {arg} from {given!r} to 'mm'").strip()
        if "spatial_ref" in x.coords:
            out = out.assign_coords(spatial_ref=x.coords["spatial_ref"])
        return out
    f = _depth_factor(units or "mm", arg)
    if isinstance(x, (int, float, np.number)):
        return float(x) * f
    if isinstance(x, (np.ndarray, list, tuple)):
        return np.asarray(x, dtype=np.float64) * f
    raise InputError(f"{arg} must be a number, a NumPy array or an xarray.DataArray, not {type(x).__name__}")


# ----------------------------------------------------------------------------------- erosivity

def snowmelt_erosivity(winter_precip: ArrayLike, *, coefficient: float = SNOWMELT_COEFFICIENT_US,
                       units: str | None = None, data_validation: Validation = "raise") -> ArrayLike:
    """Snowmelt erosivity R_s (MJ·mm·hm⁻²·h⁻¹·a⁻¹) from mean December–March precipitation.

    AH537 (Wischmeier & Smith 1978): ``R_s = c·P_w`` with P_w in inches and R_s in US units,
    c = 1.5 (**recalled, to verify**; ``coefficient``). In SI:
    ``R_s = c · 17.02 / 25.4 · P_w[mm]`` (= 1.00512·P_w for c = 1.5).

    ``winter_precip``: mean over years of the December-March total (water equivalent): a
    DataArray with a depth ``units`` attribute (mm; cm, m, in converted), or a number / NumPy
    array in mm unless ``units`` says otherwise. A rate (``mm d-1``) raises
    :class:`~erosion.errors.UnitsError`; values outside [0, 3000] mm raise
    :class:`~erosion.errors.ValueRangeError`. Same kind out as in, CRS kept, dask stays lazy.
    """
    if not (np.isfinite(coefficient) and coefficient >= 0):
        raise ValueRangeError(f"coefficient must be a finite number >= 0 (AH537: 1.5 in US units), not {coefficient!r}")
    p = _in_mm(winter_precip, units, "winter_precip")
    k = float(coefficient) * _R_US_TO_SI / _MM_PER_INCH

    def func(pw):
        return (np.asarray(pw, dtype=np.float64) * k).astype(np.float32)

    return apply_cellwise(func, [("winter_precip", "winter_precipitation", p)], output="snowmelt_erosivity",
                          history=f"snowmelt_erosivity: R_s = {coefficient:g}*17.02/25.4 * P_Dec-Mar[mm] (AH537)",
                          references=REF_AH537, validation=_validation(data_validation))


def erosivity_with_snowmelt(r: ArrayLike, winter_precip: ArrayLike, *, coefficient: float = SNOWMELT_COEFFICIENT_US,
                            units: str | None = None, data_validation: Validation = "raise") -> ArrayLike:
    """R including snowmelt: ``R = R_rain + R_s`` (MJ·mm·hm⁻²·h⁻¹·a⁻¹), AH537's rule for regions
    where snowmelt runoff erodes (R_s as in :func:`snowmelt_erosivity`, coefficient recalled, to verify).

    ``r``: the rainfall erosivity, e.g. from :func:`erosion.factors.rainfall.r_factor_daily`
    (DataArrays must carry units; US units converted). Output: ``rainfall_erosivity`` on the
    grid of ``r``, whose history says that it includes snowmelt.
    """
    validation = _validation(data_validation)
    p = _in_mm(winter_precip, units, "winter_precip")
    if not (np.isfinite(coefficient) and coefficient >= 0):
        raise ValueRangeError(f"coefficient must be a finite number >= 0 (AH537: 1.5 in US units), not {coefficient!r}")
    k = float(coefficient) * _R_US_TO_SI / _MM_PER_INCH

    def func(rr, pw):
        return (np.asarray(rr, dtype=np.float64) + k * np.asarray(pw, dtype=np.float64)).astype(np.float32)

    return apply_cellwise(func, [("r", "rainfall_erosivity", r), ("winter_precip", "winter_precipitation", p)],
                          output="rainfall_erosivity",
                          history=f"erosivity_with_snowmelt: R = R_rain + {coefficient:g}*17.02/25.4*P_Dec-Mar[mm] (AH537)",
                          references=REF_AH537, validation=validation)


def winter_precipitation(daily_precip: xr.DataArray | pd.Series, *, months: Sequence[int] = (12, 1, 2, 3),
                         time_dim: str = "time") -> xr.DataArray | float:
    """Mean winter precipitation total (mm) from a daily record: ``P_w = mean over winters of Σ P_day``.

    A winter holds the days of ``months`` (default December–March, AH537); a winter that
    starts in December is labelled by the year it ends in. Only complete winters (every day of
    their months present and not NaN) count. ``daily_precip``: a (time, y, x) DataArray with a
    depth ``units`` attribute (mm; cm, m, in converted; dask stays lazy) or a pandas Series of
    mm indexed by dates. Returns ``winter_precipitation`` (a DataArray, or a float for a Series).
    """
    months = tuple(int(m) for m in months)
    if not months or any(m < 1 or m > 12 for m in months) or len(set(months)) != len(months):
        raise InputError(f"months must be distinct month numbers 1-12, not {months!r}")
    wraps = any(m >= 7 for m in months) and any(m < 7 for m in months)
    if isinstance(daily_precip, pd.Series):
        s = daily_precip.astype(np.float64)
        if not isinstance(s.index, pd.DatetimeIndex):
            raise InputError("daily_precip: a Series must be indexed by dates (pandas.DatetimeIndex)")
        da = xr.DataArray(s.to_numpy(), dims=(time_dim,), coords={time_dim: s.index.to_numpy()},
                          attrs={"units": s.attrs.get("units", "mm")})
    elif isinstance(daily_precip, xr.DataArray):
        da = daily_precip
        if time_dim not in da.dims:
            raise InputError(f"daily_precip has no {time_dim!r} dimension (dims {da.dims}); set time_dim=...")
    else:
        raise InputError(f"daily_precip must be an xarray.DataArray (time, y, x) or a pandas Series, "
                         f"not {type(daily_precip).__name__}")
    if "units" not in da.attrs:
        raise UnitsError("daily_precip has no 'units' attribute; expected 'mm' (daily depth). "
                         "Set it with da.attrs['units'] = 'mm'.")
    given = str(da.attrs["units"]).strip()
    daily_units = {"mm d-1": 1.0, "mm day-1": 1.0, "mm/day": 1.0, "mm/d": 1.0, "cm d-1": 10.0, "in d-1": 25.4}
    f = daily_units.get(given.lower()) or _depth_factor(given, "daily_precip")
    times = pd.DatetimeIndex(da[time_dim].values)
    if times.has_duplicates or not times.is_monotonic_increasing:
        raise InputError("daily_precip: the time coordinate must increase without duplicates")
    if len(times) > 1 and (np.diff(times.normalize().values) < np.timedelta64(1, "D")).any():
        raise InputError("daily_precip: more than one value per day; resample to daily totals first "
                         "(da.resample(time='1D').sum())")
    in_season = np.isin(times.month, months)
    winter_of = times.year + ((times.month >= 7) & wraps).astype(int)
    sel = da.isel({time_dim: np.flatnonzero(in_season)})
    label = xr.DataArray(np.asarray(winter_of[in_season]), dims=(time_dim,), name="winter")
    sums = sel.groupby(label).sum(time_dim, skipna=False)
    counts = pd.Series(np.asarray(winter_of[in_season])).value_counts()
    # days a complete winter has
    complete = []
    for w in sums["winter"].values:
        days = 0
        for m in months:
            y = int(w) - 1 if (wraps and m >= 7) else int(w)
            days += pd.Timestamp(year=y, month=m, day=1).days_in_month
        if counts.get(int(w), 0) == days:
            complete.append(int(w))
    if not complete:
        raise InputError(f"daily_precip: no complete winter (months {months}) in the record "
                         f"{times[0].date()} to {times[-1].date()}; give at least one whole winter")
    mean = sums.sel(winter=complete).mean("winter", skipna=False) * f
    note = f"winter_precipitation: mean over {len(complete)} complete winters ({complete[0]}-{complete[-1]}) " \
           f"of the total of months {list(months)}"
    if isinstance(daily_precip, pd.Series):
        return float(mean.values)
    from .._attrs import finalize

    template = da.isel({time_dim: 0}, drop=True)
    out = mean.astype(np.float32)
    return finalize(out, "winter_precipitation", template, note, REF_AH537)


# ----------------------------------------------------------------------------------- slope, LS, T

def slope_classes(slope: ArrayLike, *, breaks: Sequence[float] = SLOPE_BREAKS,
                  data_validation: Validation = "raise") -> ArrayLike:
    """Black-soil slope classes (uint8): 1 θ ≤ 0.25°, 2 (0.25°, 2°], 3 (2°, 6°], 4 (6°, 15°], 5 > 15°; 0 no data.

    Gao Yan, Xie Yun et al. (2024), 中国水土保持 (9): 0.25° is the critical slope of sloping
    cropland in the region. ``breaks``: increasing upper limits (degrees) of classes 1…n-1;
    a class holds its upper limit. ``slope`` in degrees (DataArrays in percent or radians are
    converted from their ``units``); values outside [0, 90] raise.
    """
    b = np.asarray(breaks, dtype=np.float64)
    if b.ndim != 1 or b.size == 0 or not np.all(np.isfinite(b)) or np.any(np.diff(b) <= 0) or b[0] < 0:
        raise InputError(f"breaks must be increasing finite slope angles in degrees, not {list(breaks)!r}")

    def func(s):
        s = np.asarray(s, dtype=np.float64)
        cls = (np.searchsorted(b, s, side="left") + 1).astype(np.uint8)
        return np.where(np.isnan(s), np.uint8(0), cls)

    return apply_cellwise(func, [("slope", "slope", slope)], output="slope_class", dtype=np.uint8,
                          history=f"slope_classes: breaks {b.tolist()} degrees", references=REF_SLOPES,
                          validation=_validation(data_validation))


def ls_factor(dem, *, max_length: float, cutoff_gentle: float = 0.7, cutoff_steep: float = 0.5, **kwargs):
    """LS for long gentle black-soil slopes: :func:`erosion.factors.terrain.ls_factor` with the
    slope-length cap the user must set.

    ``L = (λ/22.13)^m`` with λ the D8 flow-path length accumulated with the Hickey / Van Remortel
    cutoffs (accumulation restarts where the slope falls below ``cutoff_gentle`` = 0.7 of the
    upslope angle on slopes < 5 %, ``cutoff_steep`` = 0.5 above) and capped at ``max_length``
    (m). Black-soil slopes run > 300 m and up to 3000–4000 m, and the national monitoring cap is
    unknown, so there is no default: pass the cap your survey uses (the library default elsewhere
    is AH703's 304.8 m). Other keywords go to the terrain function.
    """
    if max_length is None or not np.isfinite(max_length) or max_length <= 0:
        raise InputError(f"max_length must be a positive slope-length cap in metres (for example 1000), "
                         f"not {max_length!r}: the black-soil region has slopes of 300-4000 m and the cap is "
                         "a survey choice")
    return _terrain.ls_factor(dem, max_length=float(max_length), cutoff_gentle=cutoff_gentle,
                              cutoff_steep=cutoff_steep, **kwargs)


def ridge_tillage_t(codes: ArrayLike, *, table: str | Path | pd.DataFrame = "blacksoil_tillage",
                    cropland: ArrayLike | None = None, nodata: float | None = None,
                    data_validation: str = "raise") -> ArrayLike:
    """CSLE tillage factor T on black-soil cropland from ridge-tillage codes (float32).

    A lookup in ``erosion/data/blacksoil_tillage.csv`` (code, name_zh, name_en, value, source)
    through :func:`erosion.factors.tillage.t_factor`: 0 up-and-down-slope ridges T = 1 [V, the
    CSLE reference]; 1 cross-slope (contour) ridges 0.431, 2 contour furrow-ridges 0.425, 3 tied
    ridges 0.417, 4 grass-crop rotation 0.282 (Guo Q.K., Liu B.Y. et al. 2013, recalled, to
    verify); 11/12/13 contour tillage on 1–2 / 3–8 / 9–12 % slopes 0.60 / 0.50 / 0.60 (AH537
    Table 14 contouring P, recalled, to verify). ``cropland`` (1/0/NaN mask) sets T = 1 off
    cropland. Unknown codes raise :class:`~erosion.errors.UnknownCodeError` with cell counts.
    """
    return t_factor(codes, table=table, cropland=cropland, nodata=nodata, data_validation=data_validation)


# ----------------------------------------------------------------------------------- ephemeral gullies

def _area_factor(area_unit: str) -> float:
    factors = {"m2": 1.0, "ha": 1.0e-4, "km2": 1.0e-6}
    if area_unit not in factors:
        raise UnknownCodeError(f"area_unit must be one of {sorted(factors)}, not {area_unit!r}")
    return factors[area_unit]


def ephemeral_gully_index(slope: ArrayLike, area: ArrayLike, *, b: float = EPHEMERAL_GULLY["b"],
                          k: float = EPHEMERAL_GULLY["k"], area_unit: str = EPHEMERAL_GULLY["area_unit"],
                          data_validation: Validation = "raise") -> ArrayLike:
    """Slope–area index for ephemeral-gully initiation: ``I = tan(θ)·A^b / k`` (≥ 1: threshold met).

    Vandaele et al. (1996), Geomorphology 16:161–173: gullies incise where the local gradient S
    exceeds ``S_cr = k·A^−b``; b = 0.4 (their abstract), k = 0.025 with A in ha (**recalled, to
    verify**: calibrate it on mapped gully heads). ``slope`` in degrees, ``area`` the upslope
    contributing area in m² (:func:`erosion.factors.terrain.flow_accumulation`; DataArrays in
    ha or km² are converted from their ``units``), rescaled to ``area_unit`` (m2, ha, km2)
    before the power. Monotone in slope and area. Same kind out as in; dask stays lazy.
    """
    if not (np.isfinite(b) and b >= 0):
        raise ValueRangeError(f"b must be a finite exponent >= 0 (Vandaele et al. 1996: 0.4), not {b!r}")
    if not (np.isfinite(k) and k > 0):
        raise ValueRangeError(f"k must be a positive threshold (default 0.025 with A in ha), not {k!r}")
    fa = _area_factor(area_unit)

    def func(s, a):
        s = np.asarray(s, dtype=np.float64)
        a = np.asarray(a, dtype=np.float64)
        return (np.tan(np.radians(s)) * (a * fa) ** b / k).astype(np.float32)

    return apply_cellwise(func, [("slope", "slope", slope), ("area", "flow_accumulation", area)],
                          output="ephemeral_gully_index",
                          history=f"ephemeral_gully_index: tan(slope) * A[{area_unit}]^{b:g} / {k:g}",
                          references=REF_EPHEMERAL, validation=_validation(data_validation))


def ephemeral_gully_susceptibility(slope: ArrayLike, area: ArrayLike, *, b: float = EPHEMERAL_GULLY["b"],
                                   k: float = EPHEMERAL_GULLY["k"], area_unit: str = EPHEMERAL_GULLY["area_unit"],
                                   data_validation: Validation = "raise") -> ArrayLike:
    """Ephemeral-gully susceptibility map (float32): 1 where ``tan(θ)·A^b ≥ k``, 0 where not, NaN no data.

    The slope–area threshold of Vandaele et al. (1996) (b = 0.4; k recalled, to verify), as in
    :func:`ephemeral_gully_index`; same inputs, units and options.
    """
    if not (np.isfinite(b) and b >= 0):
        raise ValueRangeError(f"b must be a finite exponent >= 0 (Vandaele et al. 1996: 0.4), not {b!r}")
    if not (np.isfinite(k) and k > 0):
        raise ValueRangeError(f"k must be a positive threshold (default 0.025 with A in ha), not {k!r}")
    fa = _area_factor(area_unit)

    def func(s, a):
        s = np.asarray(s, dtype=np.float64)
        a = np.asarray(a, dtype=np.float64)
        v = np.tan(np.radians(s)) * (a * fa) ** b
        return np.where(np.isnan(v), np.nan, (v >= k).astype(np.float64)).astype(np.float32)

    return apply_cellwise(func, [("slope", "slope", slope), ("area", "flow_accumulation", area)],
                          output="ephemeral_gully_susceptibility",
                          history=f"ephemeral_gully_susceptibility: tan(slope) * A[{area_unit}]^{b:g} >= {k:g}",
                          references=REF_EPHEMERAL, validation=_validation(data_validation))


# ----------------------------------------------------------------------------------- gully inventory

def grade_gullies(density: ArrayLike, area_share: ArrayLike, *,
                  limits: Mapping[str, Sequence[tuple[float, bool]]] = GULLY_CLASSES,
                  combine: Literal["max", "density", "area_share"] = "max") -> np.ndarray:
    """SL 190-2007 gully-erosion class (uint8: 1 slight … 6 severe, 0 no data) from gully density
    (km·km⁻²) and gully area share (%).

    For each measure, class = 1 + the number of lower limits it reaches (``limits``, default
    :data:`GULLY_CLASSES`, **recalled, to verify**): density light 1–2, moderate 2–3, intense
    3–5, very intense 5–7, severe > 7; area share light < 10 %, moderate 10–25, intense 25–35,
    very intense 35–50, severe > 50. ``combine``: ``"max"`` (default, the more severe of the two,
    as the library counts a cell eroded by water and wind once at its worse class),
    ``"density"`` or ``"area_share"`` (one measure only; NaN in the other is then ignored).
    """
    if combine not in ("max", "density", "area_share"):
        raise UnknownCodeError(f"combine must be 'max', 'density' or 'area_share', not {combine!r}")
    for key in ("density", "area_share"):
        if key not in limits:
            raise InputError(f"limits lacks the {key!r} measure; give both 'density' and 'area_share'")
        lim = np.asarray([float(v) for v, _ in limits[key]])
        if lim.size != 5 or np.any(np.diff(lim) < 0):
            raise InputError(f"limits[{key!r}] must be five increasing (limit, inclusive) pairs, not {limits[key]!r}")

    def grade(values, key):
        v = np.asarray(values, dtype=np.float64)
        with np.errstate(invalid="ignore"):
            if np.any(v < 0):
                raise ValueRangeError(f"{key}: {int(np.sum(v < 0))} negative values; gully density and area share "
                                      "are >= 0")
            cls = np.ones(v.shape, dtype=np.uint8)
            for limit, inclusive in limits[key]:
                cls += (v >= limit) if inclusive else (v > limit)
        return np.where(np.isnan(v), np.uint8(0), cls).astype(np.uint8)

    d = grade(density, "density")
    a = grade(area_share, "area_share")
    if combine == "density":
        return d
    if combine == "area_share":
        return a
    out = np.maximum(d, a)
    return np.where((d == 0) | (a == 0), np.uint8(0), out).astype(np.uint8)


_LINES = ("LineString", "MultiLineString", "LinearRing")
_POLYGONS = ("Polygon", "MultiPolygon")


def _length_m(geoms, crs) -> np.ndarray:
    """True length (m) of line geometries: geodesic on a geographic CRS, planar × unit otherwise."""
    import shapely

    if crs.is_geographic:
        geod = crs.get_geod()
        return np.array([geod.geometry_length(g) if not shapely.is_empty(g) else 0.0 for g in geoms], dtype=np.float64)
    k = float(crs.axis_info[0].unit_conversion_factor) if crs.axis_info else 1.0
    return np.asarray(shapely.length(geoms), dtype=np.float64) * k


def _perimeter_m(geoms, crs) -> np.ndarray:
    import shapely

    return _length_m(shapely.boundary(geoms), crs)


def gully_indicators(inventory, units, *, id_column: str = "id", width_column: str | None = None,
                     length_column: str | None = None, reproject: bool = False,
                     limits: Mapping[str, Sequence[tuple[float, bool]]] = GULLY_CLASSES,
                     combine: Literal["max", "density", "area_share"] = "max") -> pd.DataFrame:
    """Gully indicators by administrative unit from a gully inventory, graded with SL 190-2007.

    ``inventory``: a GeoDataFrame of gullies as lines (centrelines) or polygons (gully outlines),
    or both. ``units``: a GeoDataFrame of administrative polygons with ids in ``id_column``
    (rows sharing an id are one unit). Each gully is cut at unit boundaries, so a gully that
    crosses two units gives each the part inside it and the indicators add up over units.

    Per unit: ``unit_km2`` (true area), ``gully_count`` (gullies whose largest part lies in the
    unit: counts add up to the gullies inside the units), ``gully_parts`` (gullies with any part
    in it), ``gully_length_km``, ``gully_area_km2``, ``density_km_per_km2`` = length / unit area,
    ``area_share_pct`` = 100 · gully area / unit area, ``density_class``, ``area_share_class`` and
    ``gully_class`` (1 slight … 6 severe, :func:`grade_gullies`, limits recalled, to verify).

    Lengths and areas are true: geodesic on the ellipsoid (pyproj ``Geod``) for a geographic CRS,
    planar in the projection's units (converted to m) otherwise. A line's area is length ×
    ``width_column`` (m) when given, else NaN (area share then unknown). A polygon's length is
    ``length_column`` (m, the surveyed length) when given, else half its perimeter (the
    centreline of a long thin outline); a polygon cut by a unit boundary shares its length in
    proportion to the area of each part. The inventory must be in the units' CRS:
    another CRS raises :class:`~erosion.errors.GridMismatchError`, unless ``reproject=True``
    reprojects it to the units' CRS (said in the table's attrs). Table attrs: ``crs``,
    ``inventory_length_km``, ``outside_length_km`` (parts outside every unit), ``outside_area_km2``.
    """
    import shapely
    from pyproj import CRS

    from ..aggregation import _is_geodataframe, _polygon_m2

    for name, frame in (("inventory", inventory), ("units", units)):
        if not _is_geodataframe(frame):
            raise InputError(f"{name} must be a geopandas.GeoDataFrame, not {type(frame).__name__}")
        if frame.crs is None:
            raise InputError(f"{name} has no CRS; set the CRS it is in with {name}.set_crs(...)")
    if id_column not in units.columns:
        raise InputError(f"units: column {id_column!r} not found; columns are {list(units.columns)} (set id_column=...)")
    for col in (width_column, length_column):
        if col is not None and col not in inventory.columns:
            raise InputError(f"inventory: column {col!r} not found; columns are {list(inventory.columns)}")
    note = ""
    if inventory.crs != units.crs:
        if not reproject:
            raise GridMismatchError(
                f"inventory is in {inventory.crs.to_string()} but units are in {units.crs.to_string()}: reproject "
                "one explicitly (inventory.to_crs(units.crs)) or pass reproject=True to reproject the inventory "
                "to the units' CRS")
        note = f"inventory reprojected from {inventory.crs.to_string()} to {units.crs.to_string()}"
        inventory = inventory.to_crs(units.crs)
    crs = CRS.from_user_input(units.crs)

    ugeoms = units.geometry.to_numpy()
    ids = units[id_column].to_numpy()
    types = set(shapely.get_type_id(ugeoms[~shapely.is_missing(ugeoms)]).tolist())
    if not types <= {3, 6}:
        raise InputError("units must hold polygons (Polygon or MultiPolygon)")
    ukeep = ~(shapely.is_missing(ugeoms) | shapely.is_empty(ugeoms))
    unit_m2 = np.zeros(len(ugeoms))
    unit_m2[ukeep] = _polygon_m2(ugeoms[ukeep], crs)
    order = pd.Index(pd.unique(ids), name="unit")
    _check_no_overlap(ugeoms, ids, unit_m2, crs)

    geoms = inventory.geometry.to_numpy()
    gtypes = np.array([g.geom_type if g is not None else "" for g in geoms])
    is_line = np.isin(gtypes, _LINES)
    is_poly = np.isin(gtypes, _POLYGONS)
    empty = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    other = ~(is_line | is_poly | empty)
    if other.any():
        raise InputError(f"inventory: {int(other.sum())} geometries are neither lines nor polygons "
                         f"({sorted(set(gtypes[other]))}); a gully inventory holds centrelines or outlines")
    n = len(geoms)
    # whole-gully measures
    total_len = np.zeros(n)
    total_area = np.full(n, np.nan)
    if is_line.any():
        total_len[is_line] = _length_m(geoms[is_line], crs)
        if width_column is not None:
            width = pd.to_numeric(inventory[width_column], errors="coerce").to_numpy(np.float64)
            bad = is_line & ~(width >= 0)
            if bad.any():
                raise ValueRangeError(f"inventory: {int(bad.sum())} lines have a missing or negative "
                                      f"{width_column!r} (m); widths must be >= 0")
            total_area[is_line] = total_len[is_line] * width[is_line]
    if is_poly.any():
        total_area[is_poly] = _polygon_m2(geoms[is_poly], crs)
        if length_column is not None:
            given = pd.to_numeric(inventory[length_column], errors="coerce").to_numpy(np.float64)
            bad = is_poly & ~(given >= 0)
            if bad.any():
                raise ValueRangeError(f"inventory: {int(bad.sum())} polygons have a missing or negative "
                                      f"{length_column!r} (m); lengths must be >= 0")
            total_len[is_poly] = given[is_poly]
        else:
            total_len[is_poly] = _perimeter_m(geoms[is_poly], crs) / 2.0

    # cut at unit boundaries
    tree = shapely.STRtree(geoms)
    u_idx, g_idx = tree.query(ugeoms, predicate="intersects")
    keep = ukeep[u_idx] & ~empty[g_idx]
    u_idx, g_idx = u_idx[keep], g_idx[keep]
    srt = np.lexsort((g_idx, u_idx))  # units in frame order
    u_idx, g_idx = u_idx[srt], g_idx[srt]
    pieces = shapely.intersection(geoms[g_idx], ugeoms[u_idx])
    part_len = np.zeros(len(pieces))
    part_area = np.full(len(pieces), np.nan)
    pl = is_line[g_idx]
    if pl.any():
        line_parts = _only(pieces[pl], (1, 2, 5), _LINES)
        # a stretch lying on a shared boundary is in both closed polygons: keep it in the first unit only
        taken: dict[int, Any] = {}
        gl = g_idx[pl]
        split = pd.Series(gl).duplicated(keep=False).to_numpy()  # gullies in more than one unit
        for i in np.flatnonzero(split):
            gi = gl[i]
            if gi in taken:
                part = shapely.difference(line_parts[i], taken[gi])
                taken[gi] = shapely.union(taken[gi], line_parts[i])
                line_parts[i] = part
            else:
                taken[gi] = line_parts[i]
        part_len[pl] = _length_m(line_parts, crs)
        part_area[pl] = np.where(total_len[g_idx[pl]] > 0, part_len[pl] / np.where(total_len[g_idx[pl]] > 0,
                                 total_len[g_idx[pl]], 1.0), 0.0) * total_area[g_idx[pl]]
    pp = ~pl
    if pp.any():
        poly_parts = _only(pieces[pp], (3, 6), _POLYGONS)
        a = _polygon_m2(poly_parts, crs)
        part_area[pp] = a
        whole = total_area[g_idx[pp]]
        part_len[pp] = np.where(whole > 0, a / np.where(whole > 0, whole, 1.0), 0.0) * total_len[g_idx[pp]]
    real = part_len > 0
    real[pp] |= part_area[pp] > 0
    u_idx, g_idx, part_len, part_area = u_idx[real], g_idx[real], part_len[real], part_area[real]

    parts = pd.DataFrame({"unit": ids[u_idx], "gully": g_idx, "length": part_len, "area": part_area,
                          "size": np.where(is_line[g_idx], part_len, part_area)})
    by_gully_unit = parts.groupby(["gully", "unit"], sort=False).agg(length=("length", "sum"),
                                                                      area=("area", "sum"), size=("size", "sum"))
    by_gully_unit = by_gully_unit.reset_index()
    by_gully_unit["rank"] = order.get_indexer(by_gully_unit["unit"])
    # a gully belongs to the unit holding its largest part; ties go to the unit first in frame order
    owner = by_gully_unit.sort_values(["gully", "size", "rank"], ascending=[True, False, True], kind="stable") \
        .drop_duplicates("gully")
    count = owner.groupby("unit").size()
    nparts = by_gully_unit.groupby("unit").size()
    length_m = by_gully_unit.groupby("unit")["length"].sum()
    area_m2 = by_gully_unit.groupby("unit")["area"].sum(min_count=1)
    unit_area = pd.Series(unit_m2, index=ids).groupby(level=0).sum()

    table = pd.DataFrame(index=order)
    table["unit_km2"] = unit_area.reindex(order).to_numpy() / 1.0e6
    table["gully_count"] = count.reindex(order).fillna(0).astype(np.int64).to_numpy()
    table["gully_parts"] = nparts.reindex(order).fillna(0).astype(np.int64).to_numpy()
    table["gully_length_km"] = length_m.reindex(order).fillna(0.0).to_numpy() / 1.0e3
    has_area = bool(is_poly.any() or width_column is not None)
    area_km2 = area_m2.reindex(order).to_numpy() / 1.0e6
    table["gully_area_km2"] = np.where(np.isnan(area_km2), 0.0 if has_area else np.nan, area_km2)
    with np.errstate(invalid="ignore", divide="ignore"):
        ua = np.where(table["unit_km2"].to_numpy() > 0, table["unit_km2"].to_numpy(), np.nan)
        table["density_km_per_km2"] = table["gully_length_km"].to_numpy() / ua
        table["area_share_pct"] = 100.0 * table["gully_area_km2"].to_numpy() / ua
    dens = table["density_km_per_km2"].to_numpy()
    share = table["area_share_pct"].to_numpy()
    table["density_class"] = grade_gullies(dens, share, limits=limits, combine="density")
    table["area_share_class"] = grade_gullies(dens, share, limits=limits, combine="area_share")
    table["gully_class"] = grade_gullies(dens, share, limits=limits, combine=combine)
    if not has_area and combine == "max":
        table["gully_class"] = table["density_class"]

    inside_len = float(length_m.sum())
    total = float(total_len.sum())
    table.attrs.update({
        "crs": crs.to_string(),
        "inventory_gullies": int((~empty).sum()),
        "inventory_length_km": total / 1.0e3,
        "outside_length_km": max(total - inside_len, 0.0) / 1.0e3,
        "outside_area_km2": (max(float(np.nansum(total_area)) - float(area_m2.sum()), 0.0) / 1.0e6
                             if has_area else float("nan")),
        "measure": "geodesic (ellipsoid)" if crs.is_geographic else "planar (projection units)",
        "references": REF_GULLY,
        "history": "; ".join(x for x in ("gully_indicators: gullies cut at unit boundaries", note) if x),
    })
    return table


def _only(pieces: np.ndarray, keep_ids: tuple[int, ...], names: tuple[str, ...]) -> np.ndarray:
    """The line (or polygon) content of intersection results: kept as they are when already of
    that type, filtered out of geometry collections, empty otherwise (points where a gully touches
    a boundary)."""
    import shapely

    out = np.array(pieces, dtype=object)
    types = shapely.get_type_id(out)
    mixed = ~np.isin(types, keep_ids)
    for i in np.flatnonzero(mixed):
        out[i] = shapely.union_all([p for p in shapely.get_parts(out[i]) if p.geom_type in names])
    return out


def _check_no_overlap(ugeoms, ids, unit_m2, crs) -> None:
    """Raise if two units of different ids overlap (their gullies would be counted twice)."""
    import shapely

    from ..aggregation import _polygon_m2

    tree = shapely.STRtree(ugeoms)
    a, b = tree.query(ugeoms, predicate="intersects")
    pick = (a < b) & (ids[a] != ids[b])
    clashes = []
    for i, j in zip(a[pick], b[pick], strict=True):
        inter = shapely.intersection(ugeoms[i], ugeoms[j])
        polys = [p for p in shapely.get_parts(inter) if p.geom_type == "Polygon"]
        if not polys:
            continue
        area = float(_polygon_m2(np.array([shapely.union_all(polys)], dtype=object), crs)[0])
        if area > 1e-9 * max(min(unit_m2[i], unit_m2[j]), 1.0):
            clashes.append((ids[i], ids[j]))
    if clashes:
        listed = ", ".join(f"({x}, {y})" for x, y in clashes[:10])
        raise InputError(f"units: {len(clashes)} pairs of units overlap ({listed}); a gully there would count in "
                         "both. Fix the polygons in a GIS (dissolve, clean the topology)")


# ----------------------------------------------------------------------------------- example

def _example(chunks: dict | None = None) -> dict[str, xr.DataArray]:
    """Run the submodel on a 20 × 15 grid (30 m cells, EPSG:32652, a long gentle slope with a swale)."""
    import rioxarray  # noqa: F401

    ny, nx, d = 20, 15, 30.0
    x = 500000.0 + d * (np.arange(nx) + 0.5)
    y = 5100000.0 - d * (np.arange(ny) + 0.5)
    rows, cols = np.meshgrid(np.arange(ny), np.arange(nx), indexing="ij")
    dem = 250.0 - 0.035 * d * rows + 0.6 * np.abs(cols - 7.0) + 0.02 * ((rows * 7 + cols * 3) % 5)

    def grid(values, name, units, dtype=np.float64):
        da = xr.DataArray(np.asarray(values, dtype=dtype), dims=("y", "x"), coords={"y": y, "x": x}, name=name,
                          attrs={"units": units} if units else {})
        da = da.rio.write_crs("EPSG:32652")
        return da.chunk(chunks) if chunks else da

    dem_da = grid(dem, "dem", "m")
    r = grid(1500.0 + 10.0 * cols, "rainfall_erosivity", "MJ mm hm-2 h-1 a-1")
    pw = grid(30.0 + 2.0 * rows, "winter_precipitation", "mm")
    codes = grid(np.select([cols < 5, cols < 10], [0, 1], 11), "tillage_code", None, np.int16)
    crop = grid(np.where(rows < 16, 1.0, 0.0), "cropland", None)
    s = _terrain.slope(dem_da)
    fdir = _terrain.flow_direction(dem_da)
    area = _terrain.flow_accumulation(fdir)
    return {
        "snowmelt_erosivity": snowmelt_erosivity(pw),
        "rainfall_erosivity": erosivity_with_snowmelt(r, pw),
        "tillage_factor": ridge_tillage_t(codes, cropland=crop),
        "slope_class": slope_classes(s),
        "ephemeral_gully_index": ephemeral_gully_index(s, area),
        "ephemeral_gully_susceptibility": ephemeral_gully_susceptibility(s, area),
        "ls_factor": ls_factor(dem_da, max_length=1000.0),
    }


REGION = Region(
    name="blacksoil",
    description=("Northeast black-soil region (东北黑土区), experimental: tolerable loss 200 t/km2/a and slope classes "
                 "with the 0.25 deg critical slope (verified); snowmelt erosivity added to R (AH537, coefficient "
                 "recalled), ridge-tillage T from a table (values recalled), LS with a user-set slope-length cap, "
                 "gully indicators by administrative unit graded with SL 190 gully classes (limits recalled), "
                 "ephemeral-gully susceptibility from a slope-area threshold (k recalled)."),
    maturity="experimental",
    needs=("dem", "slope", "flow_accumulation", "rainfall_erosivity", "winter_precipitation", "daily_precipitation",
           "tillage_code", "cropland"),
    produces=("snowmelt_erosivity", "rainfall_erosivity", "winter_precipitation", "tillage_factor", "slope_class",
              "ephemeral_gully_index", "ephemeral_gully_susceptibility", "ls_factor"),
    references=(REF_TOLERABLE, REF_SLOPES, REF_AH537, REF_TILLAGE, REF_GULLY, REF_EPHEMERAL, REF_LS),
    functions=MappingProxyType({
        "snowmelt_erosivity": snowmelt_erosivity,
        "erosivity_with_snowmelt": erosivity_with_snowmelt,
        "winter_precipitation": winter_precipitation,
        "slope_classes": slope_classes,
        "ls_factor": ls_factor,
        "ridge_tillage_t": ridge_tillage_t,
        "ephemeral_gully_index": ephemeral_gully_index,
        "ephemeral_gully_susceptibility": ephemeral_gully_susceptibility,
        "grade_gullies": grade_gullies,
        "gully_indicators": gully_indicators,
    }),
    example=_example,
    settings=SETTINGS,
)
