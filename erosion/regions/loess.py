"""Loess Plateau region (``loess``, **experimental**): regional settings and a gravity-erosion model.

Settings: the tolerable soil loss of the north-western Loess Plateau (1000 t·km⁻²·a⁻¹,
SL 190-2007) and the CSLE slope-steepness rule whose steep-slope piece is Liu et al. (1994),
S = 21.91 sinθ − 0.96 for θ ≥ 10°.

Gravity erosion (collapse 崩塌, landslide 滑坡, dry creep 泻溜) has no standard national model;
process models are "at an early stage" (Gao, Yao, Li & Mu 2020). This module therefore offers a
slope-stability screening, labelled experimental:

1. :func:`factor_of_safety`, the infinite-slope factor of safety on a plane parallel to the
   surface at vertical depth z (Skempton & DeLory 1957)::

       FS = [c′ + (γ z cos²β − u) tan φ′] / (γ z sin β cos β)

   with :func:`seepage_pore_pressure` u = γ_w m z cos²β for seepage parallel to the slope;
2. :func:`failure_susceptibility`, classes of FS (thresholds after SINMAP, Pack et al. 1998)
   on the slopes where the model is applied (``slope_range``);
3. :func:`unstable_share`, the unstable share of the slope area of every administrative unit,
   graded with the SL 190-2007 gravity-erosion classes (:func:`gravity_class`; class limits
   recalled, to verify), and :func:`inventory_share`, the same grading from a user's collapse
   and landslide inventory (polygons or a raster mask); :func:`unit_map` paints a unit
   table back onto the grid.

Method page: docs/methods/region-loess.md; choices: docs/decisions/0023-loess-gravity-erosion.md.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from .. import vocabulary
from .._array import ArrayLike, _complain, _validation, apply_cellwise, declared_nodata, squeeze_bands
from .._attrs import finalize
from ..aggregation import _is_geodataframe
from ..classification import classify, tolerable_loss
from ..errors import GridMismatchError, InputError, UnitsError, UnknownCodeError, ValueRangeError
from ..grid import check_same_grid, grid_of
from ..units import normalise
from . import Region

__all__ = [
    "FS_THRESHOLDS",
    "GRAVITY_CLASS_LIMITS",
    "GRAVITY_CLASS_NAMES",
    "REGION",
    "SLOPE_AREA_RANGE",
    "SLOPE_RANGE",
    "SUSCEPTIBILITY_NAMES",
    "WATER_UNIT_WEIGHT",
    "factor_of_safety",
    "failure_susceptibility",
    "gravity_class",
    "intensity_class",
    "inventory_share",
    "s_factor",
    "seepage_pore_pressure",
    "unit_map",
    "unstable_share",
]

# ----------------------------------------------------------------------------- references

REF_INFINITE_SLOPE = ("Skempton, A.W. & DeLory, F.A. (1957) Stability of natural slopes in London Clay. Proc. 4th "
                      "Int. Conf. Soil Mech. Found. Eng., London, 2: 378-381; Duncan, J.M., Wright, S.G. & Brandon, "
                      "T.L. (2014) Soil Strength and Slope Stability, 2nd ed., Wiley (infinite-slope analysis)")
REF_SINMAP = ("Pack, R.T., Tarboton, D.G. & Goodwin, C.N. (1998) The SINMAP approach to terrain stability mapping. "
              "8th Congress of the Int. Association of Engineering Geology, Vancouver (stability classes)")
REF_SL190 = ("SL 190-2007 Standards for classification and gradation of soil erosion (MWR, China), gravity-erosion "
             "(崩塌) table; class limits recalled, to verify")
REF_LIU = ("Liu, B.Y., Nearing, M.A. & Risse, L.M. (1994) Slope gradient effects on soil loss for steep slopes. "
           "Trans. ASAE 37(6): 1835-1840")
REF_GAO = ("Gao Chendi, Yao Wanqiang, Li Pengfei & Mu Xingmin (2020) review of gravity-erosion research on the "
           "Loess Plateau, 人民黄河 (Yellow River) 2020(6)")

# ----------------------------------------------------------------------------- parameters

#: Unit weight of water γ_w, kN·m⁻³.
WATER_UNIT_WEIGHT = 9.81

#: Slope range (degrees, inclusive) where the infinite-slope model is applied. 15° is the lower
#: limit of the "steep slope" (陡坡) grade of Chinese slope classes (recalled, to verify); above
#: 60° gully walls fail by toppling or on planes not parallel to the surface, and with c′ > 0 the
#: infinite-slope FS grows again with steepness (its cohesion term is smallest at 45°), so such
#: cells are not assessed by default. A parameter of :func:`failure_susceptibility`.
SLOPE_RANGE = (15.0, 60.0)

#: Slope range (degrees, inclusive) of the "slope area" an inventory is graded on: every slope at
#: least as steep as the model's lower limit, gully walls included. A parameter of
#: :func:`inventory_share`.
SLOPE_AREA_RANGE = (15.0, 90.0)

#: FS thresholds of the susceptibility classes: unstable FS < 1.0 ≤ quasi-stable < 1.25 ≤
#: moderately stable < 1.5 ≤ stable. The breaks of the SINMAP stability classes (Pack et al.
#: 1998), recalled, to verify; a parameter of :func:`failure_susceptibility`.
FS_THRESHOLDS = (1.0, 1.25, 1.5)

#: Names of the susceptibility classes 0..4 (index = code).
SUSCEPTIBILITY_NAMES = ("not_assessed", "stable", "moderately_stable", "quasi_stable", "unstable")

#: Upper limits (percent of the slope area) of the SL 190-2007 gravity-erosion classes, **recalled,
#: to verify** (SL 190-2007 Table 6, "collapse area as share of slope area": light < 10,
#: moderate 10-15, intense 15-20, very intense 20-30, severe > 30). ``slight`` is the library's
#: own: a share at or below it (0: no unstable or failed area) is slight (微度).
GRAVITY_CLASS_LIMITS = MappingProxyType(
    {"slight": 0.0, "light": 10.0, "moderate": 15.0, "intense": 20.0, "very_intense": 30.0})

#: Names of the gravity-erosion classes 0..6 (index = code), the codes of :func:`erosion.classify`.
GRAVITY_CLASS_NAMES = ("no_data", "slight", "light", "moderate", "intense", "very_intense", "severe")

_FS_INPUTS = (("slope", "slope"), ("cohesion", "cohesion"), ("friction_angle", "friction_angle"),
              ("unit_weight", "unit_weight"), ("depth", "soil_depth"), ("pore_pressure", "pore_pressure"))

#: What an out-of-range value of an input most likely is, and the fix: (below, above).
_RANGE_HINTS = {
    "slope": ("", " Slope must be in degrees; values above 90 suggest percent: convert with "
              "numpy.degrees(numpy.arctan(percent / 100)) or set units='percent' on the DataArray."),
    "cohesion": (" Cohesion cannot be negative: check the sign and the nodata value of the map.",
                 " Cohesion must be in kPa; a value in Pa is 1000 times larger: divide by 1000 or set "
                 "units='Pa' after adding Pa to erosion.units."),
    "friction_angle": (" A friction angle cannot be negative.",
                       " The friction angle must be in degrees; no soil exceeds 60 degrees. A value in percent "
                       "(100 tan phi) or in grads is not an angle in degrees: convert it to degrees."),
    "unit_weight": (" The unit weight must be in kN m-3 (loess about 13-20); a bulk density in g cm-3 is not a "
                    "unit weight: multiply it by 9.81.",
                    " The unit weight must be in kN m-3 (loess about 13-20); a density in kg m-3 is not a unit "
                    "weight: multiply it by 0.00981."),
    "soil_depth": (" The depth of the failure plane cannot be negative: check the sign and the nodata value.",
                   " The depth must be in metres (a value in cm is 100 times larger)."),
    "pore_pressure": (" Negative pore pressure (suction) is not modelled: set it to 0 (conservative) or add "
                      "the apparent cohesion of the suction to the cohesion.",
                      " Pore pressure must be in kPa; a value in Pa is 1000 times larger."),
    "relative_wetness": ("", " Relative wetness m = h_w / z is a 0-1 fraction; a percentage must be divided "
                         "by 100."),
    "factor_of_safety": ("", ""),
}

_RADIAN_MAX = 1.6  # π/2 = 1.5708: an angle map whose largest value is at most this is in radians


# ----------------------------------------------------------------------------- checks

def _where(bad: np.ndarray) -> str:
    """The first offending cell, as an index, for the message."""
    if bad.ndim == 0:
        return ""
    first = tuple(int(i) for i in np.argwhere(bad)[0])
    return f"; the first at index {first[0] if len(first) == 1 else first}"


def _check_values(values, variable: str, arg: str, validation: str) -> None:
    """The vocabulary's valid range with a hint naming the likely unit mistake and its fix."""
    v = np.asarray(values)
    if v.size == 0 or v.dtype.kind not in "fiub":
        return
    spec = vocabulary.get(variable)
    with np.errstate(invalid="ignore"):
        low = v < spec.valid_min if spec.valid_min is not None else np.zeros(v.shape, bool)
        high = v > spec.valid_max if spec.valid_max is not None else np.zeros(v.shape, bool)
    n_low, n_high = int(np.count_nonzero(low)), int(np.count_nonzero(high))
    hint_low, hint_high = _RANGE_HINTS.get(variable, ("", ""))
    if n_low or n_high:
        bad = low | high
        _complain(f"{arg}: {n_low + n_high} of {v.size} values lie outside the valid range "
                  f"[{spec.valid_min}, {spec.valid_max}] {spec.units} of {spec.long_name} ({n_low} below, "
                  f"{n_high} above; values span {np.nanmin(v):g} to {np.nanmax(v):g}{_where(bad)})."
                  f"{hint_low if n_low else ''}{hint_high if n_high else ''}", validation)
    if variable == "friction_angle":
        finite = v[np.isfinite(v)] if v.dtype.kind == "f" else v.reshape(-1)
        if finite.size and 0.0 < float(finite.max()) <= _RADIAN_MAX:
            _complain(f"{arg}: every value lies in [0, {float(finite.max()):.4g}], at most pi/2 = 1.571: that is a "
                      "friction angle in radians, not degrees (soils have 15-45 degrees). Convert with "
                      "numpy.degrees(phi), or set units='radian' on the DataArray.", validation)


def _refuse_percent_angle(x, arg: str) -> None:
    """An angle in percent is ambiguous for a friction angle (100 tan φ?): refuse it."""
    if isinstance(x, xr.DataArray) and x.attrs.get("units") is not None \
            and normalise(str(x.attrs["units"])) == "percent":
        raise UnitsError(f"{arg} ({x.name or 'unnamed DataArray'}) has units 'percent': a friction angle must be an "
                         "angle in degrees (or radians). If the map holds 100 tan(phi), convert it with "
                         "numpy.degrees(numpy.arctan(p / 100)) and set units='degree'.")


def _refuse_mixed(values: Sequence[tuple[str, Any]]) -> None:
    """NumPy arrays cannot be combined block by block with DataArrays: ask for one kind."""
    has_da = any(isinstance(v, xr.DataArray) for _, v in values)
    arrays = [a for a, v in values if not isinstance(v, xr.DataArray) and np.ndim(v) > 0]
    if has_da and arrays:
        raise InputError(f"{', '.join(arrays)}: NumPy arrays cannot be combined with DataArrays (their grid is "
                         "unknown); pass them as DataArrays on the same grid (template.copy(data=array) with "
                         "units), or pass numbers")


# ----------------------------------------------------------------------------- settings

def s_factor(slope: ArrayLike, *, data_validation: str = "raise") -> ArrayLike:
    """The Loess Plateau slope-steepness factor S: the CSLE rule with the steep-slope piece.

    θ < 5°: 10.8 sinθ + 0.03; 5° ≤ θ < 10°: 16.8 sinθ − 0.50 (McCool et al. 1987);
    θ ≥ 10°: S = 21.91 sinθ − 0.96 (Liu, Nearing & Risse 1994, fitted on 9-55 % plots; steeper
    loess slopes are an extrapolation). ``slope`` in degrees. Same as
    ``erosion.factors.s_factor(slope, method="csle")``.
    """
    from ..factors.terrain import s_factor as _s

    return _s(slope, method=REGION.settings["s_method"], data_validation=data_validation)


def intensity_class(A: ArrayLike, *, data_validation: str = "raise") -> ArrayLike:
    """SL 190-2007 water-erosion intensity classes with the Loess Plateau tolerable loss.

    ``erosion.classify(A, kind="water", tolerable=1000)``: slight M < 1000 t·km⁻²·a⁻¹, light
    1000 ≤ M ≤ 2500, ... (M = 100·A, A in t·hm⁻²·a⁻¹; SL 190-2007, tolerable loss of the
    north-western Loess Plateau).
    """
    return classify(A, kind="water", tolerable=REGION.settings["tolerable_soil_loss"],
                    data_validation=data_validation)


# ----------------------------------------------------------------------------- factor of safety

def _fs_block(beta, c, phi, gamma, z, u, *, validation: str):
    for arr, (arg, variable) in zip((beta, c, phi, gamma, z, u), _FS_INPUTS, strict=True):
        _check_values(arr, variable, arg, validation)
    b = np.radians(np.asarray(beta, dtype=np.float64))
    c, phi, gamma, z, u = (np.asarray(x, dtype=np.float64) for x in (c, phi, gamma, z, u))
    sin_b, cos_b = np.sin(b), np.cos(b)
    with np.errstate(invalid="ignore", divide="ignore"):
        driving = gamma * z * sin_b * cos_b
        resisting = c + (gamma * z * cos_b * cos_b - u) * np.tan(np.radians(phi))
        fs = resisting / driving
        # no driving stress (flat ground, or z = 0): FS = +inf, unless an input is NaN
        fs = np.where(driving == 0.0, np.where(np.isnan(resisting), np.nan, np.inf), fs)
    return fs.astype(np.float32)


def factor_of_safety(slope: ArrayLike, cohesion: ArrayLike, friction_angle: ArrayLike, unit_weight: ArrayLike,
                     depth: ArrayLike, pore_pressure: ArrayLike = 0.0, *,
                     data_validation: str = "raise") -> ArrayLike:
    """Infinite-slope factor of safety (experimental gravity-erosion screening).

    ``FS = [c′ + (γ z cos²β − u) tan φ′] / (γ z sin β cos β)`` on a plane parallel to the
    surface at vertical depth z (Skempton & DeLory 1957; Duncan, Wright & Brandon 2014). FS < 1
    fails. Oracle: c′ = 10 kPa, γ = 18 kN·m⁻³, z = 2 m, β = 30°, u = 0, φ′ = 25° → 1.4492.
    Numbers and NumPy arrays are taken in the units below; DataArrays must say theirs.

    Parameters
    ----------
    slope
        β, degrees (``erosion.factors.slope``); the model is meant for 15-60° (:data:`SLOPE_RANGE`).
    cohesion
        c′, effective cohesion, kPa (≥ 0; negative values are refused).
    friction_angle
        φ′, effective friction angle, degrees (0-60). A map whose values all lie in (0, π/2] is
        refused as radians; a DataArray in 'radian' is converted, one in 'percent' is refused.
    unit_weight
        γ, total unit weight of the soil above the plane, kN·m⁻³ (5-30).
    depth
        z, vertical depth of the failure plane, m (≥ 0).
    pore_pressure
        u, pore-water pressure on the plane, kPa (≥ 0; default 0, dry);
        :func:`seepage_pore_pressure` gives it for seepage parallel to the slope.
    data_validation
        ``"raise"`` (default) or ``"warn"`` for out-of-range inputs.

    Returns
    -------
    DataArray, numpy.ndarray or float
        float32 FS of the inputs' kind (a float for scalars); +inf where there is no driving
        stress (β = 0 or z = 0); NaN where an input is NaN.

    Notes
    -----
    u above the total normal stress γ z cos²β (artesian) makes the friction term negative: the
    formula is then outside its physical meaning. For c′ > 0 FS falls with β up to about 45°
    and may rise above: the infinite-slope model does not describe near-vertical gully walls.
    """
    validation = _validation(data_validation)
    _refuse_percent_angle(friction_angle, "friction_angle")
    values = (slope, cohesion, friction_angle, unit_weight, depth, pore_pressure)
    _refuse_mixed([(arg, v) for (arg, _), v in zip(_FS_INPUTS, values, strict=True)])
    inputs = [(arg, variable, v) for (arg, variable), v in zip(_FS_INPUTS, values, strict=True)]
    return apply_cellwise(_fs_block, inputs, output="factor_of_safety", validation=validation,
                          history="factor_of_safety (erosion.regions.loess, experimental): infinite slope, "
                          "FS = [c' + (gamma z cos^2 b - u) tan phi'] / (gamma z sin b cos b)",
                          references=REF_INFINITE_SLOPE, kwargs={"validation": validation}, check=False)


def _seepage_block(beta, z, m, *, gamma_w: float, validation: str):
    for arr, variable, arg in ((beta, "slope", "slope"), (z, "soil_depth", "depth"),
                               (m, "relative_wetness", "wetness")):
        _check_values(arr, variable, arg, validation)
    cos_b = np.cos(np.radians(np.asarray(beta, dtype=np.float64)))
    return (gamma_w * np.asarray(m, dtype=np.float64) * np.asarray(z, dtype=np.float64) * cos_b * cos_b
            ).astype(np.float32)


def seepage_pore_pressure(slope: ArrayLike, depth: ArrayLike, wetness: ArrayLike, *,
                          water_unit_weight: float = WATER_UNIT_WEIGHT, data_validation: str = "raise") -> ArrayLike:
    """Pore pressure on the failure plane for seepage parallel to the slope, kPa.

    ``u = γ_w m z cos²β`` with m = h_w / z the saturated fraction of the column above the plane
    (0 dry, 1 water table at the surface), z the vertical depth (m), β the slope (degrees) and
    γ_w = 9.81 kN·m⁻³ (Skempton & DeLory 1957; the wetness of SINMAP, Pack et al. 1998).
    """
    validation = _validation(data_validation)
    if not (isinstance(water_unit_weight, (int, float)) and 9.0 <= water_unit_weight <= 10.5):
        raise ValueRangeError(f"water_unit_weight must be the unit weight of water in kN m-3 (9.81), "
                              f"not {water_unit_weight!r}")
    values = (("slope", slope), ("depth", depth), ("wetness", wetness))
    _refuse_mixed(values)
    return apply_cellwise(_seepage_block, [("slope", "slope", slope), ("depth", "soil_depth", depth),
                                           ("wetness", "relative_wetness", wetness)],
                          output="pore_pressure", validation=validation, check=False,
                          history=f"seepage_pore_pressure: u = gamma_w m z cos^2 b, gamma_w = {water_unit_weight:g}",
                          references=REF_INFINITE_SLOPE,
                          kwargs={"gamma_w": float(water_unit_weight), "validation": validation})


# ----------------------------------------------------------------------------- susceptibility

def _slope_range(slope_range, name: str = "slope_range") -> tuple[float, float]:
    try:
        lo, hi = (float(v) for v in slope_range)
    except (TypeError, ValueError):
        raise InputError(f"{name} must be two slope angles in degrees (low, high), not {slope_range!r}") from None
    if not 0.0 <= lo < hi <= 90.0:
        raise ValueRangeError(f"{name} ({lo:g}, {hi:g}) must satisfy 0 <= low < high <= 90 degrees")
    return lo, hi


def _thresholds(thresholds) -> tuple[float, float, float]:
    try:
        t = tuple(float(v) for v in thresholds)
    except (TypeError, ValueError):
        raise InputError(f"thresholds must be three factors of safety, not {thresholds!r}") from None
    if len(t) != 3 or not (0.0 < t[0] < t[1] < t[2]):
        raise ValueRangeError(f"thresholds {thresholds!r}: give three increasing positive factors of safety "
                              "(unstable < t1 <= quasi-stable < t2 <= moderately stable < t3 <= stable)")
    return t  # type: ignore[return-value]


def _susceptibility_block(fs, beta, *, thresholds, slope_range, validation):
    _check_values(beta, "slope", "slope", validation)
    fs = np.asarray(fs, dtype=np.float64)
    beta = np.asarray(beta, dtype=np.float64)
    t1, t2, t3 = thresholds
    out = np.select([fs < t1, fs < t2, fs < t3, fs >= t3], [4, 3, 2, 1], 0).astype(np.uint8)
    with np.errstate(invalid="ignore"):
        assessed = (beta >= slope_range[0]) & (beta <= slope_range[1]) & ~np.isnan(fs)
    return np.where(assessed, out, np.uint8(0)).astype(np.uint8)


def failure_susceptibility(factor_of_safety: ArrayLike, slope: ArrayLike, *,
                           thresholds: Sequence[float] = FS_THRESHOLDS,
                           slope_range: Sequence[float] = SLOPE_RANGE,
                           data_validation: str = "raise") -> ArrayLike:
    """Slope-failure susceptibility classes from the factor of safety (experimental).

    Codes (uint8): 0 not assessed (slope outside ``slope_range``, inclusive, default 15-60°, or
    no data), 1 stable FS ≥ 1.5, 2 moderately stable 1.25 ≤ FS < 1.5, 3 quasi-stable
    1.0 ≤ FS < 1.25, 4 unstable FS < 1.0. ``thresholds`` (default :data:`FS_THRESHOLDS`, the
    SINMAP class breaks of Pack et al. 1998, recalled, to verify) and ``slope_range`` are
    parameters. ``factor_of_safety`` from :func:`factor_of_safety`, ``slope`` in degrees on the
    same grid. Returns an ``int`` for scalars, else the inputs' kind with CF flags.
    """
    validation = _validation(data_validation)
    t = _thresholds(thresholds)
    rng = _slope_range(slope_range)
    _refuse_mixed((("factor_of_safety", factor_of_safety), ("slope", slope)))
    out = apply_cellwise(_susceptibility_block, [("factor_of_safety", "factor_of_safety", factor_of_safety),
                                                 ("slope", "slope", slope)],
                         output="failure_susceptibility_class", dtype=np.uint8, validation=validation, check=False,
                         history=f"failure_susceptibility: FS thresholds {t}, slope range {rng} degrees",
                         references=REF_SINMAP, kwargs={"thresholds": t, "slope_range": rng, "validation": validation})
    if isinstance(out, xr.DataArray):
        out.attrs.update({"flag_values": np.arange(5, dtype=np.uint8), "flag_meanings": " ".join(SUSCEPTIBILITY_NAMES),
                          "fs_thresholds": np.asarray(t), "slope_range_degree": np.asarray(rng)})
        out.encoding["_FillValue"] = np.uint8(0)
        return out
    if np.ndim(out) == 0:
        return int(out)
    return out


# ----------------------------------------------------------------------------- grading by unit

def _limits(limits: Mapping[str, float]) -> np.ndarray:
    keys = ("slight", "light", "moderate", "intense", "very_intense")
    try:
        values = np.array([float(limits[k]) for k in keys])
    except (KeyError, TypeError, ValueError):
        raise InputError(f"limits must map {keys} to percentages of the slope area, not {limits!r}") from None
    if values[0] < 0 or np.any(np.diff(values) <= 0) or values[-1] > 100:
        raise ValueRangeError(f"limits {dict(limits)}: give increasing percentages in [0, 100]")
    return values


def _grade(share: np.ndarray, lim: np.ndarray) -> np.ndarray:
    s = np.asarray(share, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        code = np.select([s <= lim[0], s < lim[1], s <= lim[2], s <= lim[3], s <= lim[4], s > lim[4]],
                         [1, 2, 3, 4, 5, 6], 0)
    return code.astype(np.uint8)


def gravity_class(share: ArrayLike, *, limits: Mapping[str, float] = GRAVITY_CLASS_LIMITS) -> ArrayLike:
    """SL 190-2007 gravity-erosion class of an unstable (or failed) share of the slope area.

    ``share`` in percent (0-100). With the default :data:`GRAVITY_CLASS_LIMITS` (recalled, to
    verify) and the library's boundary reading (docs/decisions/0005-class-boundaries.md):
    1 slight s = 0, 2 light 0 < s < 10, 3 moderate 10 ≤ s ≤ 15, 4 intense 15 < s ≤ 20,
    5 very intense 20 < s ≤ 30, 6 severe s > 30; 0 = no data (NaN). Returns an ``int`` for a
    number, uint8 codes otherwise (a DataArray keeps its grid).
    """
    lim = _limits(limits)

    def block(b):
        b = np.asarray(b, dtype=np.float64)
        _check_values(b, "unstable_area_share", "share", "raise")
        return _grade(b, lim)

    if not isinstance(share, xr.DataArray):
        out = block(share.to_numpy() if isinstance(share, pd.Series) else share)
        return int(out) if out.ndim == 0 else out
    s = squeeze_bands(share, "share")
    units = s.attrs.get("units")
    if units is not None and normalise(str(units)) == "1":
        raise UnitsError("share is dimensionless (a 0-1 fraction?); the classes take percent: multiply by 100 "
                         "and set units='percent'")
    if units is not None and normalise(str(units)) != "percent":
        raise UnitsError(f"share has units {units!r}; it must be a percentage of the slope area ('percent')")
    out = xr.apply_ufunc(block, s, dask="parallelized", output_dtypes=[np.uint8], keep_attrs=False)
    out = finalize(out, "gravity_erosion_class", s, "gravity_class: SL 190-2007 gravity-erosion classes",
                   REF_SL190, extra_attrs={"flag_values": np.arange(7, dtype=np.uint8),
                                           "flag_meanings": " ".join(GRAVITY_CLASS_NAMES)})
    out.encoding["_FillValue"] = np.uint8(0)
    return out


def _codes(flag, assessed):
    """0 outside the slope area, 2 where flagged (unstable or failed), 1 elsewhere on it."""
    return np.where(assessed, np.where(flag, np.uint8(2), np.uint8(1)), np.uint8(0)).astype(np.uint8)


def _grading_table(codes, zones, *, limits, cell_area, zone_ids, id_column, zones_nodata, overlaps,
                   flagged: str, source: str) -> pd.DataFrame:
    from ..aggregation import aggregate

    lim = _limits(limits)
    table = aggregate(codes, zones, cell_area=cell_area, zone_ids=zone_ids, id_column=id_column,
                      zones_nodata=zones_nodata, overlaps=overlaps)
    slope_km2 = table["land_km2"].to_numpy()
    hit = table["light_km2"].to_numpy()
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(slope_km2 > 0, 100.0 * hit / slope_km2, np.nan)
    out = pd.DataFrame({"slope_km2": slope_km2, flagged: hit, "share_pct": share}, index=table.index)
    out["gravity_class"] = _grade(share, lim)
    out["gravity_class_name"] = [GRAVITY_CLASS_NAMES[c] for c in out["gravity_class"]]
    out["slope_area_pct"] = table["coverage_pct"].to_numpy()
    out.attrs.update({"source": source, "references": REF_SL190, "maturity": "experimental",
                      "class_limits_pct": dict(zip(GRAVITY_CLASS_NAMES[1:6], lim.tolist(), strict=True))})
    return out


def _map_codes(func, *arrays):
    """Apply a per-block code function to NumPy arrays or DataArrays (lazily for dask)."""
    das = [a for a in arrays if isinstance(a, xr.DataArray)]
    if das:
        out = xr.apply_ufunc(func, *arrays, dask="parallelized", output_dtypes=[np.uint8], keep_attrs=False)
        ref = das[0]
        if "spatial_ref" in ref.coords:  # apply_ufunc drops the CRS of scalar coordinates
            return out.assign_coords(spatial_ref=ref.coords["spatial_ref"])
        return out.rio.write_crs(ref.rio.crs) if ref.rio.crs is not None else out
    return func(*(np.asarray(a) for a in arrays))


def unstable_share(susceptibility: ArrayLike, zones, *, unstable_classes: Sequence[int] = (4,),
                   limits: Mapping[str, float] = GRAVITY_CLASS_LIMITS, cell_area=None, zone_ids=None,
                   id_column: str = "id", zones_nodata=None, overlaps: str = "raise") -> pd.DataFrame:
    """Unstable share of the assessed slope area per unit, graded with the SL 190 gravity classes.

    ``susceptibility`` from :func:`failure_susceptibility` (codes 0..4; 0 = not assessed is
    left out of the slope area); cells in ``unstable_classes`` (default 4, FS < 1) count as
    unstable. ``zones`` is an integer label raster on the same grid or a GeoDataFrame of
    polygons, as for :func:`erosion.aggregate` (which computes the areas: true cell areas,
    block by block on dask input); ``cell_area``, ``zone_ids``, ``id_column``, ``zones_nodata``
    and ``overlaps`` are passed on to it.

    Returns a DataFrame indexed by ``unit``: ``slope_km2`` (assessed slope area),
    ``unstable_km2``, ``share_pct`` = 100·unstable/slope (NaN without slope area),
    ``gravity_class`` (:func:`gravity_class`) and its name, ``slope_area_pct`` (assessed slope
    area as a percentage of the unit). Reference: SL 190-2007 gravity-erosion table (limits
    recalled, to verify).
    """
    unstable = np.asarray(sorted({int(c) for c in unstable_classes}), dtype=np.int64)
    if unstable.size == 0 or unstable.min() < 1 or unstable.max() > 4:
        raise InputError(f"unstable_classes {tuple(unstable_classes)} must be codes 1..4 of failure_susceptibility")
    if isinstance(susceptibility, xr.DataArray):
        susceptibility = squeeze_bands(susceptibility, "susceptibility")

    def block(s):
        s = np.asarray(s)
        if s.dtype.kind == "f":
            s = np.where(np.isnan(s), 0, s)
        bad = (s < 0) | (s > 4) | (s != np.floor(s))
        if bad.any():
            raise ValueRangeError(f"susceptibility: {int(bad.sum())} cells hold codes outside 0..4 (values "
                                  f"{np.unique(s[bad])[:10]}{_where(bad)}); pass the output of failure_susceptibility")
        return _codes(np.isin(s, unstable), s > 0)

    codes = _map_codes(block, susceptibility)
    return _grading_table(codes, zones, limits=limits, cell_area=cell_area, zone_ids=zone_ids, id_column=id_column,
                          zones_nodata=zones_nodata, overlaps=overlaps, flagged="unstable_km2", source="model")


# ----------------------------------------------------------------------------- inventory

def _burn(shapes, transform, shape) -> np.ndarray:
    """Polygons burnt on cell centres (all_touched=False) as a 0/1 uint8 block."""
    from affine import Affine

    from ..aggregation import burn

    if not shapes:
        return np.zeros(shape, dtype=np.uint8)
    # sample just north-east of the centres, as erosion.aggregate does, so that a centre exactly on
    # a polygon edge is decided the same way in every block
    sample = Affine(*transform[:6]) @ Affine.translation(1e-6 * np.sign(transform[0]), 1e-6 * np.sign(transform[4]))
    return burn(((g, 1) for g in shapes), out_shape=shape, transform=sample, fill=0, all_touched=False,
                dtype="uint8")


def _inventory_mask(inventory, slope: xr.DataArray | np.ndarray):
    """The inventory as a 0/1 mask on the slope grid (lazy where the slope is)."""
    if _is_geodataframe(inventory):
        import shapely

        if not isinstance(slope, xr.DataArray) or slope.rio.crs is None:
            raise InputError("an inventory of polygons needs a grid: pass slope as a DataArray with a CRS")
        if inventory.crs is None:
            raise InputError("inventory: the GeoDataFrame has no CRS; set the one its coordinates are in with "
                             "inventory.set_crs(...), then reproject with inventory.to_crs(slope.rio.crs)")
        from pyproj import CRS

        if not CRS.from_user_input(inventory.crs).equals(CRS.from_user_input(slope.rio.crs), ignore_axis_order=True):
            raise GridMismatchError(f"inventory is in {inventory.crs.to_string()} but the grid is in "
                                    f"{slope.rio.crs.to_string()}: reproject it with "
                                    "inventory = inventory.to_crs(slope.rio.crs) (the library never reprojects "
                                    "an inventory silently)")
        geoms = inventory.geometry.to_numpy()
        geoms = geoms[~(shapely.is_missing(geoms) | shapely.is_empty(geoms))]
        kinds = set(shapely.get_type_id(geoms).tolist())
        if kinds - {3, 6}:  # 3 Polygon, 6 MultiPolygon
            raise InputError("inventory must hold polygons (outlines of collapse and landslide scars); it has "
                             f"other geometry types ({sorted(set(shapely.get_type_id(geoms).tolist()) - {3, 6})}, "
                             "shapely type ids): buffer points or lines first, e.g. inventory.buffer(radius_m)")
        transform = grid_of(slope).transform
        shapes = list(geoms)
        if slope.chunks is None:
            mask = _burn(shapes, transform, slope.shape)
            return xr.DataArray(mask, dims=slope.dims, coords=slope.coords)
        import dask.array as dsa
        from affine import Affine

        def burn_block(block, block_info=None):
            (r0, _), (c0, _) = block_info[0]["array-location"]
            window = Affine(*transform[:6]) @ Affine.translation(c0, r0)
            return _burn(shapes, tuple(window)[:6], block.shape)

        data = dsa.map_blocks(burn_block, slope.data, dtype=np.uint8)
        return xr.DataArray(data, dims=slope.dims, coords=slope.coords)
    if isinstance(inventory, xr.DataArray):
        inventory = squeeze_bands(inventory, "inventory")
        if isinstance(slope, xr.DataArray):
            check_same_grid(slope, inventory, names=["slope", "inventory"])
            inventory = inventory.assign_coords({d: slope.coords[d] for d in slope.dims if d in slope.coords})
        else:
            raise InputError("inventory is a DataArray but slope is not: pass both as DataArrays on one grid")
    elif isinstance(slope, xr.DataArray):
        raise InputError("inventory must be a GeoDataFrame of polygons or a DataArray mask on the slope's grid "
                         f"(a {type(inventory).__name__} has no grid): wrap it with slope.copy(data=mask)")
    elif np.shape(inventory) != np.shape(slope):
        raise GridMismatchError(f"inventory of shape {np.shape(inventory)} does not match slope of shape "
                                f"{np.shape(slope)}")
    nodata = declared_nodata(inventory)

    def block(m):
        m = np.asarray(m)
        if m.dtype.kind == "b":
            return m.astype(np.uint8)
        valid = ~np.isnan(m) if m.dtype.kind == "f" else np.ones(m.shape, bool)
        if nodata is not None:
            valid &= m != nodata
        bad = valid & (m != 0) & (m != 1)
        if bad.any():
            raise ValueRangeError(f"inventory: {int(bad.sum())} cells hold values other than 0 and 1 (values "
                                  f"{np.unique(m[bad])[:10]}{_where(bad)}); pass a mask: 1 inside a mapped "
                                  "collapse or landslide, 0 elsewhere (e.g. (labels > 0).astype('uint8'))")
        return np.where(valid, m, 0).astype(np.uint8)

    return _map_codes(block, inventory)


def inventory_share(inventory, slope: ArrayLike, zones, *, slope_range: Sequence[float] = SLOPE_AREA_RANGE,
                    limits: Mapping[str, float] = GRAVITY_CLASS_LIMITS, cell_area=None, zone_ids=None,
                    id_column: str = "id", zones_nodata=None, overlaps: str = "raise") -> pd.DataFrame:
    """Failed share of the slope area per unit from a collapse/landslide inventory, SL 190 graded.

    ``inventory``: a GeoDataFrame of polygons (scar outlines) in the grid's CRS (another CRS is
    a :class:`~erosion.errors.GridMismatchError`: reproject with ``inventory.to_crs(slope.rio.crs)``),
    burnt on cell centres block by block; or a 0/1 (or boolean) mask on the slope's grid.
    ``slope`` (degrees) defines the grid and the slope area: cells with ``slope_range[0] ≤ β ≤
    slope_range[1]`` (default :data:`SLOPE_AREA_RANGE`, 15-90°, gully walls included). Mapped
    cells outside the slope area are not counted. ``zones`` and the other keywords as for
    :func:`unstable_share`.

    Returns the columns of :func:`unstable_share` with ``failed_km2`` in place of
    ``unstable_km2``. Reference: SL 190-2007 gravity-erosion table ("collapse area as share of
    slope area"; limits recalled, to verify).
    """
    rng = _slope_range(slope_range)
    if isinstance(slope, xr.DataArray):
        slope = squeeze_bands(slope, "slope")
        units = slope.attrs.get("units")
        if units is None or normalise(str(units)) != "degree":
            from .._array import prepare

            slope = prepare(slope, "slope", arg="slope")
    elif np.ndim(slope) == 0:
        raise InputError("slope must be a raster (NumPy array or DataArray) defining the grid of the inventory")
    mask = _inventory_mask(inventory, slope)

    def block(beta, m):
        _check_values(beta, "slope", "slope", "raise")
        beta = np.asarray(beta, dtype=np.float64)
        with np.errstate(invalid="ignore"):
            on_slope = (beta >= rng[0]) & (beta <= rng[1])
        return _codes(np.asarray(m) == 1, on_slope)

    codes = _map_codes(block, slope, mask)
    return _grading_table(codes, zones, limits=limits, cell_area=cell_area, zone_ids=zone_ids, id_column=id_column,
                          zones_nodata=zones_nodata, overlaps=overlaps, flagged="failed_km2", source="inventory")


# ----------------------------------------------------------------------------- back to the grid

_MAPPABLE = {"gravity_class": ("gravity_erosion_class", np.uint8), "share_pct": ("unstable_area_share", np.float32)}


def unit_map(table: pd.DataFrame, zones: xr.DataArray, column: str = "gravity_class", *,
             zones_nodata=None) -> xr.DataArray:
    """Paint a per-unit column of :func:`unstable_share` / :func:`inventory_share` onto the grid.

    ``column`` ``"gravity_class"`` gives ``gravity_erosion_class`` (uint8, 0 outside every
    unit or for units absent from the table) and ``"share_pct"`` gives
    ``unstable_area_share`` (float32 percent, NaN there). ``zones`` is the integer label raster
    (DataArray, dask-backed included: the result stays lazy) the table was made with.
    """
    if column not in _MAPPABLE:
        raise UnknownCodeError(f"column {column!r} cannot be mapped; use one of {sorted(_MAPPABLE)}")
    if not isinstance(zones, xr.DataArray):
        raise InputError("zones must be an integer label raster (DataArray) to map a unit table onto; rasterize "
                         "polygons first (rasterio.features.rasterize on the grid)")
    if column not in table.columns:
        raise InputError(f"table has no column {column!r}; pass the output of unstable_share or inventory_share")
    zones = squeeze_bands(zones, "zones")
    variable, dtype = _MAPPABLE[column]
    ids = np.asarray(table.index, dtype=np.int64)
    order = np.argsort(ids)
    ids, values = ids[order], table[column].to_numpy()[order].astype(dtype)
    fill = np.uint8(0) if dtype == np.uint8 else np.float32(np.nan)
    nodata = zones_nodata if zones_nodata is not None else declared_nodata(zones)

    def block(z):
        z = np.asarray(z)
        valid = np.isfinite(z) if z.dtype.kind == "f" else np.ones(z.shape, bool)
        if nodata is not None:
            valid &= z != nodata
        if ids.size == 0:
            return np.full(z.shape, fill, dtype=dtype)
        lab = np.where(valid, z, -1).astype(np.int64)
        pos = np.clip(np.searchsorted(ids, lab), 0, ids.size - 1)
        found = valid & (ids[pos] == lab)
        return np.where(found, values[pos], fill).astype(dtype)

    out = xr.apply_ufunc(block, zones, dask="parallelized", output_dtypes=[dtype], keep_attrs=False)
    extra = {"source": str(table.attrs.get("source", ""))}
    if dtype == np.uint8:
        extra.update({"flag_values": np.arange(7, dtype=np.uint8), "flag_meanings": " ".join(GRAVITY_CLASS_NAMES)})
    out = finalize(out, variable, zones, f"unit_map: {column} of a per-unit gravity-erosion table",
                   REF_SL190, extra_attrs=extra)
    if dtype == np.uint8:
        out.encoding["_FillValue"] = np.uint8(0)
    return out


# ----------------------------------------------------------------------------- the plugin

def _example(chunks: dict | None) -> dict[str, xr.DataArray]:
    """A 20 × 15 loess hillslope-and-gully grid (10 m cells, EPSG:32649) with three units."""
    import rioxarray  # noqa: F401

    from ..factors.terrain import slope as _slope

    ny, nx, cell = 20, 15, 10.0
    i, j = np.mgrid[0:ny, 0:nx].astype(np.float64)
    # a gully along column 7 cut up to 60 m into a plateau that steepens southward: walls above 60 degrees
    dem = 1200.0 - 1.5 * i - 1.8 * np.maximum(i - 10.0, 0.0) - 60.0 * np.exp(-(((j - 7.0) / 2.0) ** 2)) * (i / (ny - 1))
    coords = {"y": 4_000_000.0 - (np.arange(ny) + 0.5) * cell, "x": 400_000.0 + (np.arange(nx) + 0.5) * cell}

    def raster(values, units):
        da = xr.DataArray(values, dims=("y", "x"), coords=coords, attrs={"units": units} if units else {})
        da = da.rio.write_crs("EPSG:32649")
        return da.chunk(chunks) if chunks else da

    beta = _slope(raster(dem, "m"))
    cohesion = raster(np.where(i < 10, 12.0, 6.0) + 0.2 * j, "kPa")  # weaker loess downslope
    depth = raster(np.full((ny, nx), 3.0), "m")
    wetness = raster(0.6 * i / (ny - 1), "1")
    zones = raster(np.where(j < 5, 1, np.where(j < 10, 2, 3)).astype(np.int32), None)
    u = seepage_pore_pressure(beta, depth, wetness)
    fs = factor_of_safety(beta, cohesion, 28.0, 16.0, depth, u)
    sus = failure_susceptibility(fs, beta)
    model = unstable_share(sus, zones)
    scars = raster(((np.abs(j - 7.0) <= 2.0) & (i >= 14)).astype(np.uint8), None)
    mapped = inventory_share(scars, beta, zones)
    return {"pore_pressure": u, "factor_of_safety": fs, "failure_susceptibility_class": sus,
            "unstable_area_share": unit_map(model, zones, "share_pct"),
            "gravity_erosion_class": unit_map(model, zones, "gravity_class"),
            "gravity_erosion_class_inventory": unit_map(mapped, zones, "gravity_class")}


REGION = Region(
    name="loess",
    description="Loess Plateau (experimental): tolerable loss 1000 t km-2 a-1, steep-slope S (Liu et al. 1994), "
                "and an experimental gravity-erosion screening: infinite-slope factor of safety, failure "
                "susceptibility, unstable or failed share of the slope area graded with the SL 190 gravity classes",
    maturity="experimental",
    needs=("slope", "cohesion", "friction_angle", "unit_weight", "soil_depth", "pore_pressure", "relative_wetness",
           "unit_id", "failure_inventory", "soil_loss"),
    produces=("factor_of_safety", "pore_pressure", "failure_susceptibility_class", "unstable_area_share",
              "gravity_erosion_class", "s_factor", "erosion_intensity_class"),
    references=(REF_INFINITE_SLOPE, REF_SINMAP, REF_SL190, REF_LIU, REF_GAO,
                "SL 190-2007: tolerable soil loss of the north-western Loess Plateau, 1000 t km-2 a-1"),
    functions=MappingProxyType({
        "factor_of_safety": factor_of_safety,
        "seepage_pore_pressure": seepage_pore_pressure,
        "failure_susceptibility": failure_susceptibility,
        "gravity_class": gravity_class,
        "unstable_share": unstable_share,
        "inventory_share": inventory_share,
        "unit_map": unit_map,
        "s_factor": s_factor,
        "intensity_class": intensity_class,
    }),
    example=_example,
    settings=MappingProxyType({
        "tolerable_soil_loss": tolerable_loss("loess_plateau"),
        "s_method": "csle",
        "slope_range": SLOPE_RANGE,
        "slope_area_range": SLOPE_AREA_RANGE,
        "fs_thresholds": FS_THRESHOLDS,
        "gravity_class_limits": GRAVITY_CLASS_LIMITS,
        "water_unit_weight": WATER_UNIT_WEIGHT,
        "recalled_to_verify": ("gravity_class_limits", "fs_thresholds", "slope_range lower limit 15 degrees"),
    }),
)

