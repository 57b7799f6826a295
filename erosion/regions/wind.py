"""Wind erosion for the northern wind-erosion zones: RWEQ, SL 190 wind classes, the zone map.

The Revised Wind Erosion Equation (Fryrear et al. 1998, 2000) in the regional form used in
China (Peng Jian et al. 2017; Gong Guoli et al. 2014), per cell::

    P     = WF · EF · SCF · K' · COG
    Q_max = 109.8 · P                              kg m-1      maximum transport capacity
    s     = 150.71 · P^(−0.3711)                   m           critical field length
    SL    = (2z / s²) · Q_max · exp[−(z/s)²]       kg m-2      loss at downwind distance z

Potential loss: the same with COG = 1. SL is returned in t·hm⁻²·a⁻¹ (10 × kg·m⁻², per year
when WF is a mean annual value, the default of :func:`weather_factor`), the unit
:func:`erosion.classify` grades: :func:`wind_classes` applies the SL 190-2007 wind table
(one national tolerable loss, 200 t·km⁻²·a⁻¹).

Factors:

- :func:`weather_factor` ``WF = Wf·(ρ/g)·SW·SD``, ``Wf = (N_d/N)·Σ U(U − U_t)²`` over
  observations with U > U_t = 5 m·s⁻¹ at 2 m (Fryrear et al. 1998; Gong et al. 2014);
- :func:`erodible_fraction` EF and :func:`crust_factor` SCF from texture, organic matter and
  CaCO3 in percent (Fryrear et al. 1994);
- :func:`roughness_factor` K' from ridge and random roughness (Fryrear et al. 1998);
- :func:`vegetation_factor` COG from flat residue, standing silhouette and canopy cover, or the
  single vegetation-cover term of Chinese regional studies (constants partly recalled, see there).

:func:`erosion_zone` decides per cell whether it is graded for water erosion, wind erosion or
both (the rule is a parameter) and :func:`zone_classes` masks the two class rasters by it, so
that ``erosion.aggregate(water, zones, wind=wind)`` counts every eroded cell once
(docs/decisions/0006-water-wind-aggregation.md, docs/decisions/0022-wind-erosion.md).

The water-census wind model (Zou Xueyong et al.; first national water census) is **not**
implemented: its constants could not be confirmed (docs/methods/region-wind.md).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Literal, NamedTuple

import numpy as np
import pandas as pd
import xarray as xr

from .. import units as _units
from .. import vocabulary
from .._array import (
    ArrayLike,
    Validation,
    _complain,
    _validation,
    apply_cellwise,
    check_range,
    declared_nodata,
    eager_threads,
    finalize,
    prepare,
    squeeze_bands,
)
from .._kernels import wind as _k
from ..classification import classify
from ..errors import InputError, UnitsError, UnknownCodeError, ValueRangeError
from ..factors.soil import _fraction_message, _sum_message, _tolerance
from ..grid import same_grid
from . import Region

__all__ = [
    "COG_COEFFICIENTS",
    "REGION",
    "WIND_UNITS",
    "ZONE_CODES",
    "RWEQResult",
    "air_density",
    "crust_factor",
    "erodible_fraction",
    "erosion_zone",
    "roughness_factor",
    "rweq",
    "soil_wetness",
    "vegetation_factor",
    "weather_factor",
    "wind_classes",
    "zone_classes",
]

REF_RWEQ = ("Fryrear D.W., Saleh A., Bilbro J.D., Schomberg H.M., Stout J.E., Zobeck T.M. (1998) Revised Wind "
            "Erosion Equation (RWEQ). USDA-ARS Southern Plains Area Cropping Systems Research Laboratory, Technical "
            "Bulletin 1; Fryrear D.W., Bilbro J.D., Saleh A., Schomberg H., Stout J.E., Zobeck T.M. (2000) RWEQ: "
            "improved wind erosion technology. J. Soil Water Conserv. 55(2):183-189")
REF_CHINA = ("Peng J. et al. (2017) Acta Ecologica Sinica (RWEQ regional form; ChinaXiv 201706.00467); Gong G.L., Liu "
             "J.Y., Shao Q.Q., Zhai J. (2014) Sand-fixing function under the change of vegetation coverage in a "
             "wind erosion area in northern China. J. Resour. Ecol. 5(2):105-114")
REF_EF = ("Fryrear D.W., Krammes C.A., Williamson D.L., Zobeck T.M. (1994) Computing the wind erodible fraction of "
          "soils. J. Soil Water Conserv. 49(2):183-188; " + REF_RWEQ)
REF_SL190 = "SL 190-2007 Standards for classification and gradation of soil erosion (MWR, China), wind-erosion table"
REF_FAO56 = ("Allen R.G., Pereira L.S., Raes D., Smith M. (1998) Crop evapotranspiration. FAO Irrigation and "
             "Drainage Paper 56, eq. 47")

#: Wind-speed units accepted at the boundary: factor to m s-1 (the vocabulary's units).
WIND_UNITS: dict[str, float] = {"m s-1": 1.0, "m/s": 1.0, "mps": 1.0, "km h-1": 1.0 / 3.6, "km/h": 1.0 / 3.6,
                                "kmh": 1.0 / 3.6, "kph": 1.0 / 3.6, "knot": 0.514444, "knots": 0.514444,
                                "kn": 0.514444, "kt": 0.514444, "kts": 0.514444, "mph": 0.44704,
                                "mi h-1": 0.44704, "ft s-1": 0.3048, "cm s-1": 0.01}
_WIND_KEYS = {_units.normalise(k): v for k, v in WIND_UNITS.items()} | {k: v for k, v in WIND_UNITS.items()}

#: Vegetation factor constants. flat: SLR_f = exp(−a·SC) [verified, ChinaXiv 202102.00048];
#: silhouette: SLR_s = exp(−a·SA^b) [recalled, to verify]; canopy: SLR_c = exp(−a·cc^b)
#: [cross-checked, Jadey Ryan's GEE RWEQ script]; cover: C = exp(−a·FVC%) of Chinese regional
#: studies [recalled, to verify: 0.0483 vs 0.0438 both appear].
COG_COEFFICIENTS: dict[str, float] = {"flat": 0.0438, "silhouette": 0.0344, "silhouette_exponent": 0.6413,
                                      "canopy": 5.614, "canopy_exponent": 0.7366, "cover": 0.0483}

#: Zone codes of :func:`erosion_zone`.
ZONE_CODES = {"none": 0, "water": 1, "wind": 2, "both": 3}
ZONE_RULES = ("dominant", "both", "precipitation")

_GAS_CONSTANT_DRY_AIR = 287.05  # J kg-1 K-1
_SNOW_LIMIT_MM = 25.4           # RWEQ: snow deeper than 1 inch protects the surface
_MIN_CELLS_PER_THREAD = 1 << 18


# ------------------------------------------------------------------------------------------ helpers

def _out(x) -> np.ndarray:
    """A per-cell result as float32 (arrays) or float64 (scalars), the library's output convention."""
    x = np.asarray(x)
    return x.astype(np.float32) if x.ndim else x.astype(np.float64)


def _number(value, name: str, *, positive: bool = False, minimum: float | None = None) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise InputError(f"{name} must be a number, not {value!r}") from None
    if not math.isfinite(v) or (positive and v <= 0) or (minimum is not None and v < minimum):
        need = "a positive number" if positive else f"a finite number ≥ {minimum:g}" if minimum is not None \
            else "a finite number"
        raise InputError(f"{name} must be {need}, not {value!r}")
    return v


def _threads(n: int) -> int:
    return eager_threads(n, _MIN_CELLS_PER_THREAD)


def _wind_factor(given: str | None, arg: str, validation: Validation) -> float:
    """Factor from the stated wind-speed units to m s-1; refuse missing or unknown units."""
    if given is None:
        msg = (f"{arg} has no units: wind records come in m s-1, km h-1, knots and mph, which the values alone "
               "cannot tell apart. Set da.attrs['units'] (DataArray) or pass units='m s-1' (or 'km h-1', 'knots', "
               "'mph'; these are converted).")
        if validation == "raise":
            raise UnitsError(msg)
        import warnings

        warnings.warn(msg + " Taken as m s-1.", stacklevel=4)
        return 1.0
    text = str(given).strip()
    for key in (text, text.lower(), _units.normalise(text)):
        if key in _WIND_KEYS:
            return _WIND_KEYS[key]
    raise UnitsError(f"{arg}: units {given!r} are not a wind speed; accepted: {sorted(WIND_UNITS)}. Fix the units "
                     "or convert the data to m s-1 first.")


def _fao56_to_2m(height: float) -> float:
    """u2 = u_z · 4.87 / ln(67.8 z − 5.42) (FAO-56 eq. 47, a logarithmic profile over short grass)."""
    if height == 2.0:
        return 1.0
    if height <= 0.1:
        raise InputError(f"height must be the measurement height in m above the ground (> 0.1), not {height!r}")
    return 4.87 / math.log(67.8 * height - 5.42)


def _block_checked(x, variable: str, arg: str, validation: Validation):
    """``x`` with the vocabulary range of ``variable`` applied to every block as it is computed."""
    if isinstance(x, xr.DataArray):
        nodata = declared_nodata(x)

        def check(b):
            check_range(b, variable, validation, arg, nodata)
            return b

        attrs = dict(x.attrs)
        out = xr.apply_ufunc(check, x, dask="parallelized", output_dtypes=[x.dtype], keep_attrs=False)
        out.attrs = attrs
        return out
    check_range(np.asarray(x), variable, validation, arg)
    return x


# ----------------------------------------------------------------------------------- weather factor

def air_density(air_temperature: ArrayLike, air_pressure: ArrayLike, *,
                data_validation: Validation = "raise") -> ArrayLike:
    """Air density ρ = p / (R_d · T) in kg·m⁻³ (ideal gas, dry air, R_d = 287.05 J·kg⁻¹·K⁻¹).

    ``air_temperature`` in °C, ``air_pressure`` in kPa (station pressure). 0 °C and 101.325 kPa
    give 1.292 kg·m⁻³, the 1.29 RWEQ studies take as a constant.
    """
    def formula(t, p):
        return _out(1000.0 * p / (_GAS_CONSTANT_DRY_AIR * (t + 273.15)))

    return apply_cellwise(formula, [("air_temperature", "air_temperature", air_temperature),
                                    ("air_pressure", "air_pressure", air_pressure)],
                          output="air_density", history="air_density: rho = p / (287.05 (T + 273.15))",
                          references="ideal-gas law for dry air", validation=data_validation)


def soil_wetness(potential_et: ArrayLike, rain: ArrayLike, rain_days: ArrayLike, *, days: float,
                 irrigation: ArrayLike = 0.0, data_validation: Validation = "raise") -> ArrayLike:
    """RWEQ soil wetness factor ``SW = [ET_p − (R + I)·R_d/N_d] / ET_p``, clamped to 0–1.

    Over one period of N_d = ``days`` days: ``potential_et`` ET_p, ``rain`` R and ``irrigation``
    I in mm, ``rain_days`` R_d the number of days with rain or irrigation (≤ N_d). 1 is a dry
    surface, 0 a wet one. Where ET_p = 0, SW is 1 without rain or irrigation and 0 with it.
    Formula as in Jadey Ryan's GEE RWEQ script (cross-checked in public code; Fryrear et al.
    1998). ET_p itself is the user's (Fryrear's radiation-based formula is recalled, not built in).
    """
    nd = _number(days, "days", positive=True)
    validation = _validation(data_validation)

    def formula(etp, r, rd, irr):
        etp, r, rd, irr = (np.asarray(x, dtype=np.float64) for x in (etp, r, rd, irr))
        with np.errstate(invalid="ignore"):
            over = rd > nd
        if np.any(over):
            _complain(f"rain_days: {int(np.count_nonzero(over))} values exceed days = {nd:g}, the length of the "
                      "period: give R_d and N_d for the same period", validation, ValueRangeError)
        wet = (r + irr) * rd / nd
        with np.errstate(divide="ignore", invalid="ignore"):
            sw = np.where(etp > 0, (etp - wet) / np.where(etp > 0, etp, 1.0), np.where(wet > 0, 0.0, 1.0))
        sw = np.where(np.isnan(etp) | np.isnan(wet), np.nan, sw)
        return _out(np.clip(sw, 0.0, 1.0))

    return apply_cellwise(formula, [("potential_et", "potential_evapotranspiration", potential_et),
                                    ("rain", "period_precipitation", rain), ("rain_days", "rain_days", rain_days),
                                    ("irrigation", "irrigation_depth", irrigation)],
                          output="soil_wetness_factor", validation=validation, references=REF_RWEQ,
                          history=f"soil_wetness: RWEQ SW = [ETp - (R + I) Rd/Nd]/ETp, Nd = {nd:g} d, clamped to 0-1")


_gas_law_density = air_density  # weather_factor's keyword air_density shadows the function


def _as_wind(wind_speed, units, time_dim: str, validation: Validation) -> tuple[xr.DataArray | np.ndarray, str]:
    """The wind record in m s-1 at its measurement height, and its kind."""
    if isinstance(wind_speed, xr.DataArray):
        if time_dim not in wind_speed.dims:
            raise InputError(f"wind_speed has dims {wind_speed.dims} but no {time_dim!r} dimension: a wind record "
                             f"needs a time axis (name it with time_dim=..., or da.rename({{'t': 'time'}}))")
        given = wind_speed.attrs.get("units")
        if units is not None and given is not None and _wind_factor(units, "units", "raise") != \
                _wind_factor(given, "wind_speed", "raise"):
            raise UnitsError(f"wind_speed says units={given!r} but units={units!r} was passed; drop one")
        factor = _wind_factor(given if given is not None else units, "wind_speed", validation)
        x = wind_speed.transpose(time_dim, ...)
        if x.dtype.kind != "f":
            x = x.astype(np.float64)
        if factor != 1.0:
            attrs = dict(x.attrs)
            x = x * factor
            x.attrs = attrs
        return x, "dataarray"
    if isinstance(wind_speed, pd.Series):
        values, kind = wind_speed.to_numpy(dtype=np.float64), "series"
    elif isinstance(wind_speed, (np.ndarray, list, tuple)):
        values, kind = np.asarray(wind_speed, dtype=np.float64), "numpy"
    else:
        raise InputError("wind_speed must be an xarray.DataArray with a time dimension, a pandas Series or a NumPy "
                         f"array (time first), not {type(wind_speed).__name__}")
    if values.ndim == 0 or values.shape[0] == 0:
        raise InputError("wind_speed must be a record of several observations along its first axis (time)")
    factor = _wind_factor(units, "wind_speed", validation)
    return values * factor, kind


def _plausible_block(u: np.ndarray, max_mean: float, validation: Validation) -> None:
    v = np.asarray(u, dtype=np.float64)
    if not v.size or not np.isfinite(v).any():
        return
    mean = float(np.nanmean(v))
    if mean > max_mean:
        _complain(f"wind_speed: the mean of the record is {mean:.3g} m s-1 (after the stated units were converted), "
                  f"above {max_mean:g} m s-1, which no 2-m wind record over erodible land reaches: the data look like "
                  "km h-1 (divide by 3.6) or knots (multiply by 0.5144) labelled as m s-1. Fix the units, or raise "
                  "max_mean for an exceptional site.", validation, UnitsError)


def _time_weight(value, name: str, variable: str, wind, time_dim: str, validation: Validation):
    """(time-varying part, constant part) of a factor given as scalar, raster or series."""
    if value is None:
        return None, None
    if isinstance(value, xr.DataArray):
        value = prepare(value, variable, validation=validation, arg=name)
        value = _block_checked(value, variable, name, validation)
        if time_dim in value.dims:
            return value, None
        return None, value
    arr = np.asarray(value, dtype=np.float64)
    check_range(arr, variable, validation, name)
    shape = np.shape(wind.data if isinstance(wind, xr.DataArray) else wind)  # the shape only: never compute
    if arr.ndim and arr.ndim == len(shape) and arr.shape[0] == shape[0] and shape[0] > 1:
        if isinstance(wind, xr.DataArray):
            return xr.DataArray(np.broadcast_to(arr, shape), dims=wind.dims), None
        return arr, None
    if isinstance(wind, xr.DataArray) and arr.ndim:
        dims = wind.dims[1:][-arr.ndim:]
        return None, xr.DataArray(arr, dims=dims)
    return None, (float(arr) if arr.ndim == 0 else arr)


def _sums_block(u, w, threshold):
    u = np.asarray(u, dtype=np.float64)
    nt = u.shape[-1]
    flat = np.ascontiguousarray(np.moveaxis(u, -1, 0)).reshape(nt, -1)
    has_w = w is not None and np.ndim(w) > 0
    wf = (np.ascontiguousarray(np.moveaxis(np.broadcast_to(np.asarray(w, dtype=np.float64), u.shape), -1, 0))
          .reshape(nt, -1) if has_w else flat)
    acc = np.empty(flat.shape[1])
    count = np.empty(flat.shape[1], dtype=np.int64)
    _k.weather_sums(flat, wf, has_w, threshold, acc, count)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(count > 0, acc / np.maximum(count, 1), np.nan)
    return mean.reshape(u.shape[:-1])


def weather_factor(wind_speed, *, units: str | None = None, threshold: float = 5.0, height: float = 2.0,
                   air_density: ArrayLike | None = 1.29, air_temperature=None, air_pressure=None,
                   soil_wetness: ArrayLike = 1.0, snow_cover: ArrayLike | None = None, snow_depth=None,
                   days: float = 365.25, g: float = 9.8, max_mean: float = 10.0, time_dim: str = "time",
                   data_validation: Validation = "raise") -> ArrayLike:
    """RWEQ weather factor WF (kg·m⁻¹) from a wind record at stations or on a (time, y, x) grid.

    ``WF = Wf · (ρ/g) · SW · SD`` with ``Wf = (N_d/N) Σ_i U_i (U_i − U_t)²`` over the N valid
    observations, only those with U_i > U_t (Fryrear et al. 1998; Gong et al. 2014;
    ChinaXiv 202010.00034 eqs. 5–6). ``days`` = N_d, the length of the period WF is for: a mean
    year (365.25) by default, 15 for a half-month; the record should cover the period evenly
    (whole years for the default). RWEQ asks for ≥ 500 observations per 1–15-day period
    (sub-daily data); daily means undercount the gusts above U_t and give a smaller WF.

    Parameters
    ----------
    wind_speed
        DataArray with a ``time_dim`` (stations or a grid; dask stays lazy, the time axis is
        taken whole per chunk), a pandas Series, or a NumPy array with time on axis 0.
        **Units are required**: the ``units`` attribute of a DataArray or ``units=`` for other
        inputs; m s⁻¹, km h⁻¹, knots (×0.5144) and mph are converted. A record whose mean
        exceeds ``max_mean`` (10 m s⁻¹) raises :class:`UnitsError` (km h⁻¹ or knots labelled m s⁻¹).
    threshold
        U_t, the threshold wind speed at 2 m (5 m s⁻¹).
    height
        Measurement height of the wind (m); other than 2 m it is reduced to 2 m with the
        logarithmic profile of FAO-56 eq. 47, ``u2 = u_z · 4.87 / ln(67.8 z − 5.42)``.
    air_density, air_temperature, air_pressure
        ρ in kg·m⁻³ (1.29 by default), or from temperature (°C) and pressure (kPa) by
        :func:`air_density`. A number, a raster, or a series along time.
    soil_wetness
        SW in 0–1 (1 = dry; :func:`soil_wetness`), number, raster or series.
    snow_cover, snow_depth
        SD in 0–1 (probability that snow depth ≤ 25.4 mm), or a snow-depth series in mm from
        which SD is the share of observations at or below 25.4 mm. Default: no snow (SD = 1).
    g
        Gravitational acceleration (9.8 m s⁻²).

    Returns
    -------
    DataArray, float or numpy.ndarray
        WF without the time axis: a float32 DataArray (CRS and coordinates kept), a float for a
        1-D record, a float32 NumPy array otherwise. Cells without a valid observation give NaN.
    """
    validation = _validation(data_validation)
    ut = _number(threshold, "threshold", minimum=0.0)
    nd = _number(days, "days", positive=True)
    gg = _number(g, "g", positive=True)
    top = _number(max_mean, "max_mean", positive=True)
    to2m = _fao56_to_2m(_number(height, "height", positive=True))
    u, _ = _as_wind(wind_speed, units, time_dim, validation)
    if to2m != 1.0:
        attrs = dict(u.attrs) if isinstance(u, xr.DataArray) else None
        u = u * to2m
        if attrs is not None:
            u.attrs = dict(attrs, units="m s-1")
    if isinstance(u, xr.DataArray):  # a new object: the caller's attributes are never touched
        u = u.copy(deep=False)
        u.attrs = dict(u.attrs, units="m s-1")

    # rho, SW and SD: constant factors multiply WF after the sum; time-varying ones weight each observation
    if air_temperature is not None or air_pressure is not None:
        if air_temperature is None or air_pressure is None:
            raise InputError("air density from the gas law needs both air_temperature (degC) and air_pressure (kPa)")
        rho = _gas_law_density(air_temperature, air_pressure, data_validation=validation)
    else:
        rho = 1.29 if air_density is None else air_density
    if snow_cover is not None and snow_depth is not None:
        raise InputError("give snow_cover (the factor SD, 0-1) or snow_depth (mm), not both")
    if snow_depth is not None:
        depth = snow_depth
        if isinstance(depth, xr.DataArray):
            depth = _block_checked(prepare(depth, "snow_depth", validation=validation, arg="snow_depth"),
                                   "snow_depth", "snow_depth", validation)
            sd = xr.where(depth.isnull(), np.nan, (depth <= _SNOW_LIMIT_MM).astype(np.float64))
        else:
            d = np.asarray(depth, dtype=np.float64)
            check_range(d, "snow_depth", validation, "snow_depth")
            with np.errstate(invalid="ignore"):
                sd = np.where(np.isnan(d), np.nan, (d <= _SNOW_LIMIT_MM).astype(np.float64))
    else:
        sd = 1.0 if snow_cover is None else snow_cover
    parts = [_time_weight(v, n, var, u, time_dim, validation) for v, n, var in
             ((rho, "air_density", "air_density"), (soil_wetness, "soil_wetness", "soil_wetness_factor"),
              (sd, "snow_cover", "snow_cover_factor"))]
    varying = [p[0] for p in parts if p[0] is not None]
    constant = [p[1] for p in parts if p[1] is not None]

    if isinstance(u, xr.DataArray):
        u = _block_checked(u, "wind_speed", "wind_speed", validation)
        if u.chunks is None:
            _plausible_block(u.values, top, validation)
        else:
            def plausible(b):
                _plausible_block(b, top, validation)
                return b
            u = xr.apply_ufunc(plausible, u, dask="parallelized", output_dtypes=[u.dtype], keep_attrs=True)
        w = None
        for v in varying:
            w = v if w is None else w * v
        core = [[time_dim]]
        args = [u]
        if w is not None:
            w = w.broadcast_like(u).transpose(*u.dims)
            args.append(w)
            core.append([time_dim])
        out = xr.apply_ufunc(lambda a, b=None: _sums_block(a, b, ut), *args, input_core_dims=core,
                             dask="parallelized", output_dtypes=[np.float64],
                             dask_gufunc_kwargs={"allow_rechunk": True}, keep_attrs=False)
        out = out * (nd / gg)
        for c in constant:
            out = out * c
        template = wind_speed.isel({time_dim: 0}, drop=True)
        given = wind_speed.attrs.get("units", units)
        history = (f"weather_factor: RWEQ WF = Wf (rho/g) SW SD, U_t = {ut:g} m s-1 at 2 m, N_d = {nd:g} d, "
                   f"g = {gg:g}"
                   + (", wind without units taken as 'm s-1'" if given is None else f", wind in {given!r}"
                      + ("" if _wind_factor(given, "wind_speed", "raise") == 1.0 else " converted to 'm s-1'"))
                   + (f", reduced from {height:g} m to 2 m (FAO-56 eq. 47)" if to2m != 1 else ""))
        refs = REF_RWEQ + "; " + REF_CHINA + ("; " + REF_FAO56 if to2m != 1 else "")
        das = [x for x in constant if isinstance(x, xr.DataArray)]
        return finalize(out.astype(np.float32), "weather_factor", template, history, refs, inputs=das)

    check_range(u, "wind_speed", validation, "wind_speed")
    _plausible_block(u, top, validation)
    w = None
    for v in varying:
        w = np.asarray(v) if w is None else w * np.asarray(v)
    moved = np.moveaxis(u, 0, -1)
    wm = None if w is None else np.moveaxis(np.broadcast_to(w, u.shape), 0, -1)
    mean = _sums_block(moved, wm, ut)
    if u.ndim > 1 and not np.isfinite(mean).any():
        raise InputError(f"wind_speed holds no valid observation ({u.size} values): check the record and its nodata")
    out = mean * (nd / gg)
    for c in constant:
        out = out * np.asarray(c, dtype=np.float64)
    if np.ndim(out) == 0:
        value = float(out)
        if math.isnan(value):
            raise InputError("wind_speed holds no valid observation: check the record and its nodata")
        return value
    return np.asarray(out, dtype=np.float32)


# ---------------------------------------------------------------------------------------- soil

def _texture_checks(sa, si, cl, tol: float, validation: Validation) -> None:
    total = np.asarray(sa, dtype=np.float64) + np.asarray(si, dtype=np.float64) + np.asarray(cl, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        off = np.abs(total - 100.0) > tol
    if not off.any():
        return
    names = ["sand", "silt", "clay"]
    with np.errstate(invalid="ignore"):
        fractions = all(np.nanmax(np.asarray(a, dtype=np.float64)) <= 1.0 for a in (sa, si, cl)
                        if np.isfinite(np.asarray(a, dtype=np.float64)).any())
    if fractions:
        _fraction_message(names, validation)
    else:
        _sum_message([sa, si, cl], names, tol, validation)


def erodible_fraction(sand: ArrayLike, silt: ArrayLike, clay: ArrayLike, organic_matter: ArrayLike,
                      caco3: ArrayLike, *, sum_tolerance: float = 2.0,
                      data_validation: Validation = "raise") -> ArrayLike:
    """RWEQ erodible fraction EF (0–1), the share of aggregates < 0.84 mm (Fryrear et al. 1994)::

        EF = (29.09 + 0.31 Sa + 0.17 Si + 0.33 Sa/Cl − 2.59 OM − 0.95 CaCO3) / 100

    Sa, Si, Cl sand, silt and clay (USDA limits), OM organic matter and CaCO3, all mass
    **percent** (DataArrays may say g kg⁻¹: converted). Sand + silt + clay must be 100 within
    ``sum_tolerance`` points; 0–1 fractions are recognised and refused (:class:`UnitsError`).
    EF outside 0–1 (the regression extrapolated, e.g. Sa/Cl large where clay → 0) is clipped
    to 0–1; clay = 0 with sand > 0 gives EF = 1, and Sa/Cl is taken as 0 where both are 0.
    """
    validation = _validation(data_validation)
    tol = _tolerance(sum_tolerance)

    def formula(sa, si, cl, om, ca):
        _texture_checks(sa, si, cl, tol, validation)
        sa, si, cl, om, ca = (np.asarray(a, dtype=np.float64) for a in (sa, si, cl, om, ca))
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where(cl > 0, sa / np.where(cl > 0, cl, 1.0), np.where(sa > 0, np.inf, 0.0))
            ef = (29.09 + 0.31 * sa + 0.17 * si + 0.33 * ratio - 2.59 * om - 0.95 * ca) / 100.0
        return _out(np.clip(ef, 0.0, 1.0))

    names = ["sand", "silt", "clay", "organic_matter", "caco3"]
    variables = ["sand", "silt", "clay", "organic_matter", "calcium_carbonate"]
    return apply_cellwise(formula, list(zip(names, variables, [sand, silt, clay, organic_matter, caco3],
                                            strict=True)),
                          output="erodible_fraction", validation=validation, references=REF_EF,
                          history="erodible_fraction: RWEQ EF (Fryrear et al. 1994), clipped to 0-1")


def crust_factor(clay: ArrayLike, organic_matter: ArrayLike, *, data_validation: Validation = "raise") -> ArrayLike:
    """RWEQ soil crust factor ``SCF = 1 / (1 + 0.0066 Cl² + 0.021 OM²)`` (Fryrear et al. 1998), 0–1.

    Clay and organic matter in mass **percent** (ChinaXiv 202102.00048 labels them g·kg⁻¹, but
    the constants need percent: a DataArray in g kg⁻¹ is converted). SCF decreases with both.
    """
    def formula(cl, om):
        cl, om = np.asarray(cl, dtype=np.float64), np.asarray(om, dtype=np.float64)
        return _out(1.0 / (1.0 + 0.0066 * cl * cl + 0.021 * om * om))

    return apply_cellwise(formula, [("clay", "clay", clay), ("organic_matter", "organic_matter", organic_matter)],
                          output="soil_crust_factor", validation=data_validation, references=REF_RWEQ,
                          history="crust_factor: RWEQ SCF = 1/(1 + 0.0066 Cl^2 + 0.021 OM^2)")


# ---------------------------------------------------------------------------------- roughness, cover

#: The ridge roughness (cm) at which the RWEQ K' regression has its minimum; beyond it the fit rises
#: again (above 1 at about 51 cm), an artefact of the regression, so Kr is held there by default.
KR_MINIMUM = (1.86 / (2.41 * 0.934)) ** (1.0 / (0.934 - 1.0))


def roughness_factor(ridge_roughness: ArrayLike = 0.0, random_roughness: ArrayLike = 0.0, *,
                     hold_beyond_minimum: bool = True, data_validation: Validation = "raise") -> ArrayLike:
    """RWEQ surface roughness factor ``K' = exp(1.86 Kr − 2.41 Kr^0.934 − 0.127 Crr)`` (Fryrear et al. 1998).

    ``ridge_roughness`` Kr (cm; Smith–Carson ``4H²/I`` of ridge height H and spacing I, or the
    terrain form ``0.2 ΔH²/L`` of regional studies) and ``random_roughness`` Crr (cm). Kr = Crr
    = 0 gives K' = 1. The regression has its minimum at Kr ≈ 18.0 cm (:data:`KR_MINIMUM`) and
    exceeds 1 beyond ≈ 51 cm; with ``hold_beyond_minimum`` (default) Kr is held at the minimum
    there, so that K' never increases with roughness.
    """
    hold = bool(hold_beyond_minimum)

    def formula(kr, crr):
        kr, crr = np.asarray(kr, dtype=np.float64), np.asarray(crr, dtype=np.float64)
        if hold:
            kr = np.minimum(kr, KR_MINIMUM)
        return _out(np.exp(1.86 * kr - 2.41 * kr ** 0.934 - 0.127 * crr))

    return apply_cellwise(formula, [("ridge_roughness", "ridge_roughness", ridge_roughness),
                                    ("random_roughness", "random_roughness", random_roughness)],
                          output="surface_roughness_factor", validation=data_validation, references=REF_RWEQ,
                          history="roughness_factor: RWEQ K' = exp(1.86 Kr - 2.41 Kr^0.934 - 0.127 Crr)"
                                  + (f", Kr held at {KR_MINIMUM:.3f} cm beyond the minimum" if hold else ""))


def vegetation_factor(flat_residue_cover: ArrayLike = 0.0, standing_silhouette: ArrayLike = 0.0,
                      canopy_cover: ArrayLike = 0.0, *, vegetation_cover: ArrayLike | None = None,
                      coefficients: Mapping[str, float] | None = None,
                      data_validation: Validation = "raise") -> ArrayLike:
    """RWEQ combined crop factor COG (0–1; 1 on bare soil).

    ``COG = SLR_f · SLR_s · SLR_c`` with ``SLR_f = exp(−0.0438 SC)`` (SC flat residue cover in
    **percent**; verified, ChinaXiv 202102.00048), ``SLR_s = exp(−0.0344 SA^0.6413)`` (SA the
    standing silhouette; **recalled, to verify**) and ``SLR_c = exp(−5.614 cc^0.7366)`` (cc
    canopy cover as a **0–1 fraction**; cross-checked in a public GEE RWEQ script).

    With ``vegetation_cover`` (percent) instead: the single term of Chinese regional studies,
    ``COG = exp(−0.0483 · FVC%)`` (**recalled, to verify**: 0.0483 and 0.0438 both appear in the
    literature). ``coefficients`` overrides :data:`COG_COEFFICIENTS` (keys flat, silhouette,
    silhouette_exponent, canopy, canopy_exponent, cover).
    """
    c = {**COG_COEFFICIENTS, **(coefficients or {})}
    unknown = set(c) - set(COG_COEFFICIENTS)
    if unknown:
        raise UnknownCodeError(f"unknown vegetation_factor coefficients {sorted(unknown)}; known: "
                               f"{sorted(COG_COEFFICIENTS)}")
    for key, value in c.items():
        _number(value, f"coefficients[{key!r}]", minimum=0.0)
    if vegetation_cover is not None:
        given = [n for n, v in (("flat_residue_cover", flat_residue_cover), ("standing_silhouette",
                 standing_silhouette), ("canopy_cover", canopy_cover)) if not (np.ndim(v) == 0 and
                 not isinstance(v, xr.DataArray) and float(v) == 0.0)]
        if given:
            raise InputError(f"vegetation_factor: give vegetation_cover alone, or the RWEQ terms {given}, not both")
        a = c["cover"]
        return apply_cellwise(lambda v: _out(np.exp(-a * np.asarray(v, dtype=np.float64))),
                              [("vegetation_cover", "vegetation_cover", vegetation_cover)],
                              output="wind_vegetation_factor", validation=data_validation, references=REF_CHINA,
                              history=f"vegetation_factor: COG = exp(-{a:g} FVC%) (constant recalled, to verify)")

    def formula(sc, sa, cc):
        sc, sa, cc = (np.asarray(x, dtype=np.float64) for x in (sc, sa, cc))
        return _out(np.exp(-c["flat"] * sc - c["silhouette"] * sa ** c["silhouette_exponent"]
                           - c["canopy"] * cc ** c["canopy_exponent"]))

    return apply_cellwise(formula, [("flat_residue_cover", "flat_residue_cover", flat_residue_cover),
                                    ("standing_silhouette", "standing_silhouette", standing_silhouette),
                                    ("canopy_cover", "fractional_vegetation_cover", canopy_cover)],
                          output="wind_vegetation_factor", validation=data_validation, references=REF_RWEQ,
                          history=f"vegetation_factor: COG = exp(-{c['flat']:g} SC) exp(-{c['silhouette']:g} "
                                  f"SA^{c['silhouette_exponent']:g}) exp(-{c['canopy']:g} cc^{c['canopy_exponent']:g})")


# ---------------------------------------------------------------------------------------- RWEQ

class RWEQResult(NamedTuple):
    """Outputs of :func:`rweq`."""

    max_transport_capacity: ArrayLike   #: Q_max, kg m-1
    critical_field_length: ArrayLike    #: s, m (inf where P = 0)
    soil_loss: ArrayLike                #: SL at the distance, t hm-2 a-1
    potential_soil_loss: ArrayLike      #: SL with COG = 1, t hm-2 a-1


_RWEQ_INPUTS = (("weather_factor", "weather_factor"), ("erodible_fraction", "erodible_fraction"),
                ("crust_factor", "soil_crust_factor"), ("roughness_factor", "surface_roughness_factor"),
                ("vegetation_factor", "wind_vegetation_factor"), ("distance", "downwind_distance"))
_RWEQ_OUTPUTS = ("max_transport_capacity", "critical_field_length", "wind_soil_loss", "potential_wind_soil_loss")


def _rweq_block(*arrays, validation: Validation, threads: int, nodata=(), dtype=np.float32):
    arrays = [np.asarray(a) for a in arrays]
    shape = np.broadcast_shapes(*(a.shape for a in arrays))
    flat = [a.reshape(-1) if a.size == 1 or (a.shape == shape and a.flags.c_contiguous)
            else np.ascontiguousarray(np.broadcast_to(a, shape)).reshape(-1) for a in arrays]
    outs, flags = _k.rweq(flat, dtype, threads)
    if flags:
        for j, (name, variable) in enumerate(_RWEQ_INPUTS):
            if flags >> j & 1:
                check_range(arrays[j], variable, validation, name, nodata[j] if j < len(nodata) else None)
    return tuple(o.reshape(shape) for o in outs)


def rweq(weather_factor: ArrayLike, erodible_fraction: ArrayLike, crust_factor: ArrayLike,
         roughness_factor: ArrayLike = 1.0, vegetation_factor: ArrayLike = 1.0, *,
         distance: ArrayLike = 50.0, data_validation: Validation = "raise") -> RWEQResult:
    """RWEQ maximum transport capacity, critical field length and soil loss (Fryrear et al. 1998)::

        P     = WF · EF · SCF · K' · COG
        Q_max = 109.8 · P                           (kg m-1)
        s     = 150.71 · P^(−0.3711)                (m)
        SL    = (2z/s²) · Q_max · exp[−(z/s)²]      (kg m-2; returned × 10 as t hm-2 a-1)

    and the potential loss with COG = 1. ``distance`` z is the downwind distance (m) from the
    upwind non-erodible boundary (50 m by default; a number or a raster). WF in kg·m⁻¹
    (:func:`weather_factor`; a mean annual WF makes SL a mean annual loss), the other factors
    0–1. Where P = 0, Q_max = SL = 0 and s = inf. Note 150.71, not the 105.71 of a public
    implementation (methods.md §12). Float32 outputs (float64 for scalars) from one fused, vectorised
    pass over the available cores; float32 inputs are computed in float32 (relative error
    ~1e-6), others in float64.

    Returns :class:`RWEQResult` (max_transport_capacity, critical_field_length, soil_loss,
    potential_soil_loss), each of the inputs' kind (DataArrays lazy for dask input, CRS kept).
    """
    validation = _validation(data_validation)
    inputs = [(name, var, value) for (name, var), value in
              zip(_RWEQ_INPUTS, (weather_factor, erodible_fraction, crust_factor, roughness_factor,
                                 vegetation_factor, distance), strict=True)]
    values = [prepare(x, var, validation=validation, arg=name) for name, var, x in inputs]
    das = [v for v in values if isinstance(v, xr.DataArray)]
    if not das:
        arrays = [np.asarray(v, dtype=np.float64) if np.ndim(v) == 0 else np.asarray(v) for v in values]
        n = int(np.prod(np.broadcast_shapes(*(a.shape for a in arrays))))
        scalar = all(np.ndim(v) == 0 for v in values)
        outs = _rweq_block(*arrays, validation=validation, threads=_threads(n),
                           dtype=np.float64 if scalar else np.float32)
        if scalar:
            return RWEQResult(*(float(o.reshape(())) for o in outs))
        return RWEQResult(*outs)
    nodata = tuple(declared_nodata(v) for v in values)
    values = same_grid(*values, names=[n for n, _, _ in inputs])
    das = [v for v in values if isinstance(v, xr.DataArray)]
    lazy = any(d.chunks is not None for d in das)
    n = int(np.prod(das[0].shape))
    outs = xr.apply_ufunc(_rweq_block, *values, dask="parallelized", output_dtypes=[np.float32] * 4,
                          output_core_dims=[[]] * 4,
                          kwargs={"validation": validation, "threads": 1 if lazy else _threads(n), "nodata": nodata},
                          keep_attrs=False)
    history = "rweq: RWEQ Q_max = 109.8 P, s = 150.71 P^-0.3711, SL = 2z/s^2 Q_max exp(-(z/s)^2)"
    refs = REF_RWEQ + "; " + REF_CHINA
    return RWEQResult(*(finalize(o, var, das[0], history + ("" if var != "potential_wind_soil_loss" else
                                                            ", COG = 1"), refs, inputs=das)
                        for o, var in zip(outs, _RWEQ_OUTPUTS, strict=True)))


# ------------------------------------------------------------------------------ classes and zones

def wind_classes(soil_loss: ArrayLike, *, data_validation: Validation = "raise") -> ArrayLike:
    """SL 190-2007 wind-erosion intensity classes (uint8 0..6) of a wind soil loss in t·hm⁻²·a⁻¹.

    ``erosion.classify(soil_loss, kind="wind")``: modulus M = 100·SL t·km⁻²·a⁻¹; 1 slight
    (M < 200, the single national tolerable loss for wind), 2 light (≤ 2 500), 3 moderate
    (≤ 5 000), 4 intense (≤ 8 000), 5 very intense (≤ 15 000), 6 severe; 0 no data.
    """
    if isinstance(soil_loss, xr.DataArray) and soil_loss.attrs.get("units") is None:
        raise UnitsError("soil_loss has no 'units' attribute; expected 't hm-2 a-1' (the wind_soil_loss of rweq) or "
                         "'t km-2 a-1' (an erosion modulus). Set it with da.attrs['units'] = 't hm-2 a-1'.")
    return classify(soil_loss, kind="wind", data_validation=data_validation)


def _zone_block(water, wind, precip, *, rule: str, dry: float, wet: float):
    out = np.zeros(np.broadcast_shapes(*(np.shape(a) for a in (water, wind, precip))), dtype=np.uint8)
    if rule == "precipitation":
        p = np.broadcast_to(np.asarray(precip, dtype=np.float64), out.shape)
        with np.errstate(invalid="ignore"):
            out[p < dry] = ZONE_CODES["wind"]
            out[p > wet] = ZONE_CODES["water"]
            out[(p >= dry) & (p <= wet)] = ZONE_CODES["both"]
        return out
    a = np.broadcast_to(np.asarray(water, dtype=np.float64), out.shape)
    b = np.broadcast_to(np.asarray(wind, dtype=np.float64), out.shape)
    va, vb = np.isfinite(a), np.isfinite(b)
    out[va & ~vb] = ZONE_CODES["water"]
    out[vb & ~va] = ZONE_CODES["wind"]
    both = va & vb
    if rule == "both":
        out[both] = ZONE_CODES["both"]
    else:  # dominant: the agent with the larger loss; a tie is graded by both
        out[both & (a > b)] = ZONE_CODES["water"]
        out[both & (b > a)] = ZONE_CODES["wind"]
        out[both & (a == b)] = ZONE_CODES["both"]
    return out


def erosion_zone(*, rule: Literal["dominant", "both", "precipitation"] = "dominant",
                 water_loss: ArrayLike | None = None, wind_loss: ArrayLike | None = None,
                 precipitation: ArrayLike | None = None, dry: float | None = None, wet: float | None = None,
                 data_validation: Validation = "raise") -> ArrayLike:
    """Zone map: per cell whether it is graded as water erosion (1), wind erosion (2) or both (3); 0 none.

    ``rule``:

    - ``"dominant"`` (default): the agent with the larger soil loss (``water_loss``, e.g. CSLE A,
      and ``wind_loss``, the RWEQ ``soil_loss``, both t·hm⁻²·a⁻¹); equal losses give 3. Each cell
      is graded once, by its dominant agent.
    - ``"both"``: every cell with both losses is graded by both; :func:`erosion.aggregate` then
      counts it once with the more severe class (docs/decisions/0006-water-wind-aggregation.md).
    - ``"precipitation"``: from mean annual ``precipitation`` (mm): wind below ``dry``, water
      above ``wet``, both in between (the water–wind crisscross zone). ``dry`` and ``wet`` have
      no default: the rule of the 2018 monitoring regulations could not be read (the 200–400 mm
      isohyets are often quoted for the crisscross zone; check before use).

    With one loss missing (NaN) in a cell, the other agent grades it; with none, 0. Returns
    uint8 codes (:data:`ZONE_CODES`) of the inputs' kind; feed it to :func:`zone_classes`.
    """
    validation = _validation(data_validation)
    if rule not in ZONE_RULES:
        raise UnknownCodeError(f"unknown zone rule {rule!r}; known rules: {ZONE_RULES}")
    if rule == "precipitation":
        if precipitation is None or dry is None or wet is None:
            raise InputError("rule='precipitation' needs precipitation (mean annual, mm) and the thresholds dry and "
                             "wet (mm): wind erosion below dry, water above wet, both in between")
        lo, hi = _number(dry, "dry", minimum=0.0), _number(wet, "wet", minimum=0.0)
        if lo > hi:
            raise InputError(f"dry ({lo:g} mm) must not exceed wet ({hi:g} mm)")
        inputs = [("precipitation", "annual_precipitation", precipitation)]

        def func(p):
            return _zone_block(None, None, p, rule=rule, dry=lo, wet=hi)
    else:
        if water_loss is None or wind_loss is None:
            raise InputError(f"rule={rule!r} needs water_loss and wind_loss (t hm-2 a-1), e.g. CSLE A and the RWEQ "
                             "soil_loss on one grid")
        inputs = [("water_loss", "soil_loss", water_loss), ("wind_loss", "wind_soil_loss", wind_loss)]

        def func(a, b):
            return _zone_block(a, b, None, rule=rule, dry=0.0, wet=0.0)
    out = apply_cellwise(func, inputs, output="erosion_agent_zone", dtype=np.uint8, validation=validation,
                         history=f"erosion_zone(rule={rule!r})" + (f", dry {dry} mm, wet {wet} mm"
                                                                   if rule == "precipitation" else ""),
                         references=REF_SL190)
    if isinstance(out, xr.DataArray):
        out.attrs.update(flag_values=np.arange(4, dtype=np.uint8), flag_meanings="none water wind both")
    elif np.ndim(out) == 0:
        return int(out)
    return out


def _mask(classes, keep, name: str):
    if isinstance(classes, xr.DataArray):
        c = squeeze_bands(classes, name)
        out = c.where(keep, 0).astype(np.uint8)
        out.attrs = dict(c.attrs)
        if "spatial_ref" in c.coords:
            out = out.assign_coords(spatial_ref=c.coords["spatial_ref"])
        return out
    c = np.asarray(classes)
    return np.where(keep, c, 0).astype(np.uint8)


def zone_classes(water_classes: ArrayLike, wind_classes: ArrayLike, zone: ArrayLike) -> tuple[ArrayLike, ArrayLike]:
    """Water and wind class rasters masked by a zone map, ready for ``erosion.aggregate``.

    Water classes are set to 0 (no data) where the zone is wind only (2) or none (0 or NaN),
    wind classes where it is water only (1) or none; other codes raise :class:`ValueRangeError`. Then
    ``erosion.aggregate(water, zones, wind=wind)`` counts each cell once: with its water class
    in the water zone, its wind class in the wind zone and the more severe of the two in the
    crisscross zone (3).
    """
    def check(b):
        b = np.asarray(b)
        bad = ~np.isin(b, (0, 1, 2, 3))
        if b.dtype.kind == "f":
            bad &= ~np.isnan(b)  # NaN (nodata) counts as none
        if np.any(bad):
            raise ValueRangeError(f"zone holds codes outside 0..3 ({np.unique(b[bad])[:10]}); pass the output of "
                                  "erosion_zone (0 none, 1 water, 2 wind, 3 both)")
        return b

    if isinstance(zone, xr.DataArray):
        zone = squeeze_bands(zone, "zone")
        rasters = [x for x in (water_classes, wind_classes) if isinstance(x, xr.DataArray)]
        if rasters:
            same_grid(zone, *rasters, names=["zone", *("classes" for _ in rasters)])
        z = xr.apply_ufunc(check, zone, dask="parallelized", output_dtypes=[zone.dtype])
    else:
        z = check(zone)
    water_keep = (z == ZONE_CODES["water"]) | (z == ZONE_CODES["both"])
    wind_keep = (z == ZONE_CODES["wind"]) | (z == ZONE_CODES["both"])
    return _mask(water_classes, water_keep, "water_classes"), _mask(wind_classes, wind_keep, "wind_classes")


# ----------------------------------------------------------------------------------- the plugin

def _example(chunks: dict | None) -> dict[str, xr.DataArray]:
    """RWEQ on a 20 × 15 grid (EPSG:32649, 100 m cells) with a 120-day synthetic wind record."""
    ny, nx, nt = 20, 15, 120
    y = 4_500_000.0 - (np.arange(ny) + 0.5) * 100.0
    x = 400_000.0 + (np.arange(nx) + 0.5) * 100.0
    i, j = np.meshgrid(np.arange(ny, dtype=np.float64), np.arange(nx, dtype=np.float64), indexing="ij")

    def grid(values, units):
        da = xr.DataArray(np.asarray(values, dtype=np.float64), dims=("y", "x"), coords={"y": y, "x": x},
                          attrs={"units": units})
        da = da.rio.write_crs("EPSG:32649")
        return da.chunk(chunks) if chunks else da

    t = np.arange(nt, dtype=np.float64)
    speed = 4.0 + 3.0 * np.sin(t[:, None, None] / 5.0) ** 2 + 0.08 * i[None] + 0.05 * j[None]
    wind = xr.DataArray(speed, dims=("time", "y", "x"),
                        coords={"time": pd.date_range("2020-03-01", periods=nt, freq="D"), "y": y, "x": x},
                        attrs={"units": "m s-1"}).rio.write_crs("EPSG:32649")
    if chunks:
        wind = wind.chunk({"time": -1, **chunks})
    sand = grid(60.0 + i, "percent")
    clay = grid(8.0 + 0.2 * j, "percent")
    silt = grid(100.0 - (60.0 + i) - (8.0 + 0.2 * j), "percent")
    om = grid(0.5 + 0.05 * j, "percent")
    caco3 = grid(2.0 + 0.1 * i, "percent")
    kr = grid(0.5 * (j % 4), "cm")
    crr = grid(0.2 * (i % 3), "cm")
    cover = grid(0.02 * (i + j), "1")

    wf = weather_factor(wind, days=365.25)
    ef = erodible_fraction(sand, silt, clay, om, caco3)
    scf = crust_factor(clay, om)
    kp = roughness_factor(kr, crr)
    cog = vegetation_factor(canopy_cover=cover)
    res = rweq(wf, ef, scf, kp, cog, distance=50.0)
    classes = wind_classes(res.soil_loss)
    water_loss = grid(2.0 + 0.5 * i, "t hm-2 a-1")
    zone = erosion_zone(rule="dominant", water_loss=water_loss, wind_loss=res.soil_loss)
    return {"weather_factor": wf, "erodible_fraction": ef, "crust_factor": scf, "roughness_factor": kp,
            "vegetation_factor": cog, "max_transport_capacity": res.max_transport_capacity,
            "critical_field_length": res.critical_field_length, "soil_loss": res.soil_loss,
            "potential_soil_loss": res.potential_soil_loss, "wind_classes": classes, "zone": zone}


_FUNCTIONS = {"weather_factor": weather_factor, "air_density": air_density, "soil_wetness": soil_wetness,
              "erodible_fraction": erodible_fraction,
              "crust_factor": crust_factor, "roughness_factor": roughness_factor,
              "vegetation_factor": vegetation_factor, "rweq": rweq, "wind_classes": wind_classes,
              "erosion_zone": erosion_zone, "zone_classes": zone_classes}

REGION = Region(
    name="wind",
    description="Wind erosion of the northern wind-erosion zones by RWEQ (Fryrear et al. 1998, regional form used "
                "in China), SL 190-2007 wind intensity classes and the water/wind zone map",
    maturity="established",
    needs=("wind_speed", "air_density", "air_temperature", "air_pressure", "soil_wetness_factor", "snow_cover_factor",
           "snow_depth", "sand", "silt", "clay", "organic_matter", "calcium_carbonate", "ridge_roughness",
           "random_roughness", "flat_residue_cover", "standing_silhouette", "fractional_vegetation_cover",
           "vegetation_cover", "downwind_distance", "soil_loss", "annual_precipitation",
           "potential_evapotranspiration", "period_precipitation", "irrigation_depth", "rain_days"),
    produces=("weather_factor", "erodible_fraction", "soil_crust_factor", "surface_roughness_factor",
              "wind_vegetation_factor", "max_transport_capacity", "critical_field_length", "wind_soil_loss",
              "potential_wind_soil_loss", "erosion_intensity_class", "erosion_agent_zone"),
    references=(REF_RWEQ, REF_EF, REF_CHINA, REF_SL190),
    functions=_FUNCTIONS,
    example=_example,
    settings={"tolerable_soil_loss": 200.0, "threshold_wind_speed": 5.0, "wind_height": 2.0,
              "downwind_distance": 50.0, "air_density": 1.29, "census_wind_model": "not implemented "
              "(constants unconfirmed, methods.md 8.2)"},
)

# vocabulary names used above must exist (fail at import, not in a user's run)
for _name in (*REGION.needs, *REGION.produces):
    vocabulary.get(_name)
