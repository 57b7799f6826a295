"""R, rainfall erosivity: daily models, the half-month shares, stations, storms and events.

Daily models (mean annual R in MJ·mm·hm⁻²·h⁻¹·a⁻¹ from daily rain in mm):

- ``"zhang2002"`` (default): Zhang Wenbo, Xie Yun & Liu Baoyu (2002), 地理科学 22(6):705–711.
  ``M_i = α Σ_j D_j^β`` over the erosive days (D ≥ 12 mm) of half-month i, with
  ``β = 0.8363 + 18.144/P_d12 + 24.455/P_y12`` and ``α = 21.586 β^−7.1891``, where P_d12 is
  the mean rain of erosive days and P_y12 the mean annual rain of erosive days over the record
  of each station or cell.
- ``"xie2016"``: the warm/cold-season daily model of Xie, Yin, Liu, Nearing & Zhao (2016),
  J. Hydrol. 535:547–558: ``R_day = α_season P^β`` for P ≥ 10 mm. Its constants (β = 1.7265,
  α = 0.3937 May–September, 0.3101 October–April) are **recalled, to verify** against the
  paper's Table 2; they are parameters (``XIE2016``).

Half-months are days 1–15 and 16–end of each month (24 per year). R is the mean over years
of the annual sum; the half-month share ``WR_i = R_i / R`` weights the B factor.

Sub-daily records: :func:`unit_energy` (Brown & Foster 1987; McGregor et al. 1995;
Wischmeier & Smith 1978) and :func:`storm_erosivity` (EI30, Renard et al. 1997, AH703).
Single events: :func:`event_erosivity`. Method page: docs/methods/rainfall.md; choices:
docs/decisions/0019-rainfall-erosivity.md.

Chunked (dask) grids are computed in two streaming passes over time, each a blockwise kernel
whose per-block output has no time axis, summed over time blocks by dask's tree reduction;
the second pass reads a *clone* of the input graph bound to the first pass's result
(``dask.graph_manipulation.bind``), so input blocks are re-read rather than held between
passes: memory stays bounded by the chunk size, never by the length of the record.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping
from typing import Literal, NamedTuple

import numpy as np
import pandas as pd
import xarray as xr

from .. import units as _units
from .. import vocabulary
from .._array import ArrayLike, Validation, _validation, apply_cellwise, finalize
from .._kernels import rainfall as _k
from ..errors import InputError, UnitsError, UnknownCodeError, ValueRangeError

__all__ = [
    "XIE2016",
    "ZHANG2002",
    "StormErosivity",
    "annual_erosivity",
    "erosivity_share",
    "event_erosivity",
    "halfmonth_erosivity",
    "interpolate_stations",
    "r_factor_daily",
    "storm_erosivity",
    "unit_energy",
    "zhang_parameters",
]

Missing = Literal["raise", "zero", "skip"]
#: What the daily functions take: a (time, ...) DataArray, a NumPy array with dates, a Series, a station table.
DailyInput = xr.DataArray | np.ndarray | pd.Series | pd.DataFrame
#: What they return: the input's kind (a DataFrame per station for a table, a DataArray with a template).
DailyOutput = xr.DataArray | np.ndarray | pd.Series | pd.DataFrame | float
Model = Literal["zhang2002", "xie2016"]

#: Zhang, Xie & Liu (2002) constants: β = b0 + bd/P_d12 + by/P_y12, α = a0·β^ae, threshold (mm).
ZHANG2002: dict[str, float] = {"b0": 0.8363, "bd": 18.144, "by": 24.455, "a0": 21.586, "ae": -7.1891,
                               "threshold": 12.0}
#: Xie et al. (2016) warm/cold-season model. RECALLED, TO VERIFY against Xie et al. (2016) Table 2.
XIE2016: dict[str, float | tuple[int, ...]] = {"beta": 1.7265, "alpha_warm": 0.3937, "alpha_cold": 0.3101,
                                               "warm_months": (5, 6, 7, 8, 9), "threshold": 10.0}

REF_ZHANG = ("Zhang W.B., Xie Y., Liu B.Y. (2002) Rainfall erosivity estimation using daily rainfall amounts. "
             "Scientia Geographica Sinica 22(6):705-711")
REF_XIE = ("Xie Y., Yin S.Q., Liu B.Y., Nearing M.A., Zhao Y. (2016) Models for estimating daily rainfall "
           "erosivity in China. Journal of Hydrology 535:547-558 (constants recalled, to verify)")
REF_AH703 = ("Renard K.G. et al. (1997) Predicting soil erosion by water: a guide to conservation planning with "
             "RUSLE. USDA Agriculture Handbook 703")
REF_ENERGY = {
    "brown-foster": "Brown L.C., Foster G.R. (1987) Storm erosivity using idealized intensity distributions. "
                    "Transactions of the ASAE 30(2):379-386; " + REF_AH703,
    "mcgregor": "McGregor K.C., Bingner R.L., Bowie A.J., Foster G.R. (1995) Erosivity index values for northern "
                "Mississippi. Transactions of the ASAE 38(4):1039-1047",
    "usle": "Wischmeier W.H., Smith D.D. (1978) Predicting rainfall erosion losses. USDA Agriculture Handbook 537",
}

# Rain depth units accepted at the boundary (factor to mm). Not in erosion.units, which has no mm.
_DEPTH_TO_MM = {"mm": 1.0, "m": 1000.0, "cm": 10.0, "in": 25.4, "inch": 25.4, "inches": 25.4,
                "kg m-2": 1.0, "mm d-1": 1.0, "mm day-1": 1.0, "mm/day": 1.0, "mm/d": 1.0,
                "m d-1": 1000.0, "cm d-1": 10.0, "in d-1": 25.4}
_MISSING_MODES = {"raise": _k.MISSING_COUNT, "zero": _k.MISSING_ZERO, "skip": _k.MISSING_SKIP}


# ---------------------------------------------------------------------------------------- helpers

def _depth_factor(given: str | None, arg: str, validation: Validation) -> float:
    """Factor from the units of a rain DataArray to mm; UnitsError if unknown or missing."""
    if given is None:
        msg = (f"{arg} has no 'units' attribute; expected 'mm' (daily rain depth). Set it with "
               "da.attrs['units'] = 'mm' (or 'm', 'cm', 'in': these are converted).")
        if validation == "raise":
            raise UnitsError(msg)
        warnings.warn(msg, stacklevel=4)
        return 1.0
    text = str(given).strip()
    for key in (text.lower(), _units.normalise(text)):
        if key in _DEPTH_TO_MM:
            return _DEPTH_TO_MM[key]
    raise UnitsError(f"{arg}: units {given!r} are not a rain depth; accepted: {sorted(_DEPTH_TO_MM)}. "
                     "A rate in mm h-1 is not a daily total: resample to daily sums (da.resample(time='1D').sum()).")


def _missing_mode(missing: str) -> int:
    if missing not in _MISSING_MODES:
        raise UnknownCodeError(f"missing must be 'raise', 'zero' or 'skip', not {missing!r}")
    return _MISSING_MODES[missing]


def _daily_index(time, arg: str) -> pd.DatetimeIndex:
    """Dates of a daily record: datetime-like, increasing, one per day, at least a year."""
    try:
        idx = pd.DatetimeIndex(time)
    except (TypeError, ValueError) as e:
        raise InputError(f"{arg}: the time coordinate is not made of dates ({e}); give datetime64 values") from None
    if idx.size == 0:
        raise InputError(f"{arg} is empty")
    if idx.hasnans:
        raise InputError(f"{arg}: {int(idx.isna().sum())} dates are missing (NaT); drop or fix them")
    days = idx.normalize()
    if not days.is_monotonic_increasing:
        raise InputError(f"{arg}: dates are not in increasing order; sort by date first (da.sortby('time'))")
    if days.has_duplicates:
        n = int(days.duplicated().sum())
        raise InputError(f"{arg}: {n} dates fall on a day already present: the daily models need one total per day; "
                         "resample a sub-daily record to daily sums first (da.resample(time='1D').sum())")
    span = (days[-1] - days[0]).days + 1
    if span < 365:
        raise InputError(f"{arg} covers {span} days ({days[0].date()} to {days[-1].date()}), less than a year: "
                         "the daily models average over whole years; give at least one full year (several "
                         "decades are usual), or fix α and β and use event_erosivity for single days")
    return days


def _full_days(days: pd.DatetimeIndex) -> pd.DatetimeIndex:
    return pd.date_range(days[0], days[-1], freq="D")


def _calendar(days: pd.DatetimeIndex) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per day: half-month index 0..23, 1/days-in-year, and month."""
    month = days.month.to_numpy()
    halfmonth = ((month - 1) * 2 + (days.day.to_numpy() > 15)).astype(np.int64)
    weight = 1.0 / np.where(days.is_leap_year, 366.0, 365.0)
    return halfmonth, weight.astype(np.float64), month


def zhang_parameters(p_d12: ArrayLike, p_y12: ArrayLike, *, coefficients: Mapping[str, float] | None = None
                     ) -> tuple[ArrayLike, ArrayLike]:
    """α and β of the daily model of Zhang, Xie & Liu (2002), eqs. for the half-month model::

        β = 0.8363 + 18.144 / P_d12 + 24.455 / P_y12,     α = 21.586 · β^(−7.1891)

    ``p_d12``: mean rain of days with ≥ 12 mm (mm); ``p_y12``: mean annual rain of those days
    (mm). ``coefficients`` overrides any of ``ZHANG2002`` (keys b0, bd, by, a0, ae). Returns
    (α, β) of the input's kind.
    """
    c = {**ZHANG2002, **(coefficients or {})}
    unknown = set(c) - set(ZHANG2002)
    if unknown:
        raise UnknownCodeError(f"unknown Zhang (2002) coefficients {sorted(unknown)}; known: {sorted(ZHANG2002)}")
    with np.errstate(divide="ignore", invalid="ignore"):
        beta = c["b0"] + c["bd"] / p_d12 + c["by"] / p_y12
        alpha = c["a0"] * beta ** c["ae"]
    return alpha, beta


# ----------------------------------------------------------------------------- normalised inputs

class _Daily(NamedTuple):
    data: object            # NumPy or dask array (days, cells...) in mm, complete daily calendar
    days: pd.DatetimeIndex  # complete daily calendar
    kind: str               # "dataarray", "numpy", "series"
    template: xr.DataArray | None  # one time step of the input (coords, CRS), for DataArray inputs
    n_gap_days: int         # dates absent from the input (filled with NaN)


def _as_daily(daily_precip, dates, time_dim: str, validation: Validation, arg: str = "daily_precip") -> _Daily:
    if isinstance(daily_precip, xr.DataArray):
        x = daily_precip
        if time_dim not in x.dims:
            raise InputError(f"{arg} has dims {x.dims} but no {time_dim!r} dimension: the daily models need a time "
                             f"axis of daily dates (name it with time_dim=..., or da.rename({{'t': 'time'}}))")
        if time_dim not in x.coords:
            raise InputError(f"{arg} has a {time_dim!r} dimension without a coordinate: assign the dates with "
                             f"da.assign_coords({time_dim}=pandas.date_range(start, periods=n, freq='D'))")
        factor = _depth_factor(x.attrs.get("units"), arg, validation)
        x = x.transpose(time_dim, ...)
        days = _daily_index(x[time_dim].values, arg)
        full = _full_days(days)
        gaps = full.size - days.size
        x = x.assign_coords({time_dim: days})
        if gaps:
            x = x.reindex({time_dim: full})
        template = x.isel({time_dim: 0}, drop=True)
        data = x.data
        if data.dtype.kind not in "f":
            data = data.astype(np.float64)
        if factor != 1.0:
            data = data * factor
        return _Daily(data, full, "dataarray", template, gaps)
    if isinstance(daily_precip, pd.Series):
        if dates is None:
            if not isinstance(daily_precip.index, pd.DatetimeIndex):
                raise InputError(f"{arg}: a pandas Series needs a DatetimeIndex (or dates=...): no time coordinate")
            dates = daily_precip.index
        values = daily_precip.to_numpy(dtype=np.float64)
        kind = "series"
    elif isinstance(daily_precip, (np.ndarray, list, tuple)):
        values = np.asarray(daily_precip, dtype=np.float64)
        if dates is None:
            raise InputError(f"{arg}: a NumPy array has no time coordinate; pass dates=... (one date per value along "
                             "the first axis)")
        kind = "numpy"
    else:
        raise InputError(f"{arg} must be an xarray.DataArray (time, y, x), a pandas Series with dates, a NumPy array "
                         f"with dates=..., or a station table (pandas.DataFrame), not {type(daily_precip).__name__}")
    if values.ndim == 0 or len(dates) != values.shape[0]:
        raise InputError(f"{arg}: {len(dates)} dates for {values.shape[0] if values.ndim else 0} values along axis 0")
    days = _daily_index(dates, arg)
    full = _full_days(days)
    gaps = full.size - days.size
    if gaps:
        filled = np.full((full.size, *values.shape[1:]), np.nan)
        filled[full.get_indexer(days)] = values
        values = filled
    return _Daily(values, full, kind, None, gaps)


# ---------------------------------------------------------------------------- the two passes

def _as_2d(block: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(block).reshape(block.shape[0], -1)


def _stats_block(block, weight, threshold, mode):
    upper = vocabulary.get("daily_precipitation").valid_max
    out = _k.daily_statistics(_as_2d(block), np.ascontiguousarray(weight).reshape(-1), threshold, mode,
                              np.inf if upper is None else float(upper))
    return out.reshape((1, _k.N_STATS, *block.shape[1:]))


def _sums_block(block, group, day_alpha, alpha, beta, threshold, n_groups=24):
    n = int(np.prod(block.shape[1:]))
    a = np.ascontiguousarray(np.broadcast_to(alpha, block.shape[1:]), dtype=np.float64).reshape(n)
    b = np.ascontiguousarray(np.broadcast_to(beta, block.shape[1:]), dtype=np.float64).reshape(n)
    out = _k.group_sums(_as_2d(block), np.ascontiguousarray(group).reshape(-1), n_groups,
                        np.ascontiguousarray(day_alpha).reshape(-1), a, b, threshold)
    return out.reshape((1, n_groups, *block.shape[1:]))


def _check_stats(stats, missing: str, gap_days: int, arg: str, where: str = ""):
    """Raise on negative rain, and on missing days under missing='raise' (counts summed over time)."""
    neg = np.asarray(stats[_k.N_NEGATIVE])
    nan = np.asarray(stats[_k.N_MISSING])
    if neg.any():
        raise ValueRangeError(f"{arg}: {int(neg.sum())} day-values are negative, in {int(np.count_nonzero(neg))} "
                              f"cells{where}; rain cannot be negative: mask the nodata sentinel (da.where(da >= 0)) "
                              "and choose a missing= policy for the masked days")
    high = np.asarray(stats[_k.N_ABOVE])
    if high.any():
        upper = vocabulary.get("daily_precipitation").valid_max
        raise ValueRangeError(f"{arg}: {int(high.sum())} day-values exceed {upper:g} mm, in "
                              f"{int(np.count_nonzero(high))} cells{where}: no day holds that much rain. Check the "
                              "units (GHCN-Daily stores tenths of mm: divide by 10) and mask nodata sentinels")
    if missing == "raise" and nan.any():
        raise InputError(f"{arg}: {int(nan.sum())} day-values are missing (NaN, or one of {gap_days} dates absent "
                         f"from the record) in {int(np.count_nonzero(nan))} cells{where}; choose missing='zero' "
                         "(a missing day is a dry day) or missing='skip' (years are counted from the days with data)")
    return stats


def _fit_parameters(stats, model: str, coefficients, p_d12, p_y12, alpha, beta):
    """Per-cell α and β (arrays broadcastable to the cells) for the chosen model."""
    if model == "xie2016":
        return (np.float64(1.0) if alpha is None else alpha), (coefficients["beta"] if beta is None else beta)
    if alpha is not None and beta is not None:
        return alpha, beta
    with np.errstate(divide="ignore", invalid="ignore"):
        years = stats[_k.YEARS]
        pd12 = stats[_k.SUM_EROSIVE] / stats[_k.N_EROSIVE] if p_d12 is None else p_d12
        py12 = stats[_k.SUM_EROSIVE] / years if p_y12 is None else p_y12
    a, b = zhang_parameters(pd12, py12, coefficients={k: v for k, v in coefficients.items() if k != "threshold"})
    return (a if alpha is None else alpha), (b if beta is None else beta)


def _options(model: str, coefficients, threshold):
    if model == "zhang2002":
        c = {**ZHANG2002, **(coefficients or {})}
        unknown = set(c) - set(ZHANG2002)
    elif model == "xie2016":
        c = {**XIE2016, **(coefficients or {})}
        unknown = set(c) - set(XIE2016)
    else:
        raise UnknownCodeError(f"model must be 'zhang2002' or 'xie2016', not {model!r}")
    if unknown:
        raise UnknownCodeError(f"unknown coefficients {sorted(unknown)} for model {model!r}; known: {sorted(c)}")
    thr = float(c["threshold"] if threshold is None else threshold)
    if not thr > 0:
        raise ValueRangeError(f"threshold must be a positive rain depth in mm, not {threshold!r}")
    return c, thr


def _day_alpha(model: str, c, month: np.ndarray) -> np.ndarray:
    if model == "xie2016":
        warm = np.isin(month, np.asarray(c["warm_months"]))
        return np.where(warm, float(c["alpha_warm"]), float(c["alpha_cold"]))
    return np.ones(month.shape, dtype=np.float64)


def _halfmonth_means(d: _Daily, model: str, coefficients, threshold, missing: str, p_d12, p_y12, alpha, beta,
                     arg: str, by: str = "halfmonth"):
    """Mean half-month erosivity (24, cells...) and the per-cell statistics, NumPy or dask.

    ``by="year"``: the sums per calendar year (n_years, cells...) instead, not divided.
    """
    c, thr = _options(model, coefficients, threshold)
    mode = _missing_mode(missing)
    halfmonth, weight, month = _calendar(d.days)
    day_alpha = _day_alpha(model, c, month)
    n_groups = 24
    if by == "year":
        halfmonth = (d.days.year - d.days[0].year).to_numpy().astype(np.int64)
        n_groups = int(halfmonth[-1]) + 1
    data = d.data
    try:
        import dask.array as dsa
        lazy = isinstance(data, dsa.Array)
    except ImportError:  # pragma: no cover
        lazy = False
    if not lazy:
        block = np.asarray(data, dtype=np.float64) if np.asarray(data).dtype.kind != "f" else np.asarray(data)
        stats = _stats_block(block, weight, thr, mode)[0]
        _check_stats(stats, missing, d.n_gap_days, arg)
        a, b = _fit_parameters(stats, model, c, p_d12, p_y12, alpha, beta)
        sums = _sums_block(block, halfmonth, day_alpha, np.asarray(a, dtype=np.float64),
                           np.asarray(b, dtype=np.float64), thr, n_groups)[0]
        if by == "year":
            return sums, stats, a, b
        with np.errstate(divide="ignore", invalid="ignore"):
            means = sums / stats[_k.YEARS]
        return means, stats, a, b

    from dask.graph_manipulation import bind

    spatial = "".join(chr(ord("a") + i) for i in range(data.ndim - 1))  # 'ab' for (y, x)
    tchunks = data.chunks[0]
    hm = dsa.from_array(halfmonth, chunks=(tchunks,))
    wt = dsa.from_array(weight, chunks=(tchunks,))
    da_ = dsa.from_array(day_alpha, chunks=(tchunks,))
    stats = dsa.blockwise(_stats_block, "tk" + spatial, data, "t" + spatial, wt, "t", thr, None, mode, None,
                          new_axes={"k": _k.N_STATS}, adjust_chunks={"t": 1}, dtype=np.float64,
                          meta=np.empty((0,) * (data.ndim + 1)))
    stats = stats.sum(axis=0)
    stats = stats.map_blocks(_check_stats, missing, d.n_gap_days, arg, " of one spatial block", dtype=np.float64)
    a, b = _fit_parameters(stats, model, c, p_d12, p_y12, alpha, beta)
    a = dsa.broadcast_to(dsa.asarray(a), data.shape[1:]).rechunk(data.chunks[1:])
    b = dsa.broadcast_to(dsa.asarray(b), data.shape[1:]).rechunk(data.chunks[1:])
    again = bind(data, [a, b])  # a clone of the input graph, read again after pass 1
    sums = dsa.blockwise(_sums_block, "th" + spatial, again, "t" + spatial, hm, "t", da_, "t", a, spatial, b,
                         spatial, thr, None, n_groups, None, new_axes={"h": n_groups}, adjust_chunks={"t": 1},
                         dtype=np.float64, meta=np.empty((0,) * (data.ndim + 1)))
    if by == "year":
        return sums.sum(axis=0), stats, a, b
    means = sums.sum(axis=0) / stats[_k.YEARS]
    return means, stats, a, b


# ------------------------------------------------------------------------------------- outputs

def _history(fn: str, model: str, thr, missing: str, d: _Daily) -> str:
    return (f"{fn}(model={model!r}, threshold={thr} mm, missing={missing!r}) over {d.days[0].date()}.."
            f"{d.days[-1].date()} ({d.n_gap_days} absent dates)")


def _wrap(values, d: _Daily, variable: str, history: str, references: str, halfmonth: bool, time_dim: str,
          extra=None):
    if d.kind == "dataarray":
        t = d.template
        dims = (("halfmonth",) if halfmonth else ()) + t.dims
        coords = {k: v for k, v in t.coords.items() if time_dim not in v.dims}
        if halfmonth:
            coords["halfmonth"] = np.arange(1, 25)
        out = xr.DataArray(values, dims=dims, coords=coords)
        out = out.astype(np.float32) if variable != "erosivity_share" else out
        return finalize(out, variable, t, history, references, extra_attrs=extra)
    values = np.asarray(values)
    if d.kind == "series":
        if halfmonth:
            return pd.Series(values, index=pd.RangeIndex(1, 25, name="halfmonth"), name=variable)
        return float(values)
    if values.ndim == 0:
        return float(values)
    return values


def halfmonth_erosivity(daily_precip: DailyInput, *, dates=None, model: Model = "zhang2002",
                        threshold: float | None = None,
                        missing: Missing = "raise", p_d12: ArrayLike | None = None, p_y12: ArrayLike | None = None,
                        alpha: ArrayLike | None = None, beta: ArrayLike | None = None,
                        coefficients: Mapping | None = None, time_dim: str = "time",
                        data_validation: Validation = "raise", columns: Mapping[str, str] | None = None,
                        template: xr.DataArray | None = None, interpolation: str = "idw",
                        interpolation_options: Mapping | None = None) -> DailyOutput:
    """Mean erosivity of each of the 24 half-months (MJ·mm·hm⁻²·h⁻¹), from daily rain (mm).

    Zhang, Xie & Liu (2002): ``M_i = α Σ_{j ∈ i, D_j ≥ 12} D_j^β`` with
    ``β = 0.8363 + 18.144/P_d12 + 24.455/P_y12``, ``α = 21.586 β^−7.1891``, P_d12 and P_y12
    from each cell's (station's) own record unless given (``p_d12``/``p_y12``, or ``alpha``
    and ``beta`` directly); ``model="xie2016"``: ``α_season P^β``, P ≥ 10 mm, constants
    recalled, to verify (``XIE2016``). Half-month i = 1..24: days 1–15 and 16–end of each
    month; the mean is over the years of the record (Σ of observed days / days in their year).

    ``daily_precip``: a (time, y, x) DataArray with units (mm, or m, cm, in: converted;
    dask-backed stays lazy), a 1-D NumPy array with ``dates``, a pandas Series with dates, or
    a station table (DataFrame with ``columns`` station, date, rain, lon, lat). Returns a
    DataArray (halfmonth, y, x), an array (24, ...), a Series indexed 1..24, or per station a
    DataFrame (interpolated to ``template`` when given). ``missing``: 'raise' (default;
    NaN days and absent dates are counted and refused), 'zero' (a dry day), 'skip'.
    """
    if isinstance(daily_precip, pd.DataFrame):
        return _table("halfmonth", daily_precip, **_locals_without(locals()))
    d = _as_daily(daily_precip, dates, time_dim, _validation(data_validation))
    means, *_ = _halfmonth_means(d, model, coefficients, threshold, missing, p_d12, p_y12, alpha, beta,
                                 "daily_precip")
    _, thr = _options(model, coefficients, threshold)
    ref = REF_ZHANG if model == "zhang2002" else REF_XIE
    return _wrap(means, d, "halfmonth_erosivity", _history("halfmonth_erosivity", model, thr, missing, d), ref,
                 True, time_dim)


def r_factor_daily(daily_precip: DailyInput, *, dates=None, model: Model = "zhang2002",
                   threshold: float | None = None,
                   missing: Missing = "raise", p_d12: ArrayLike | None = None, p_y12: ArrayLike | None = None,
                   alpha: ArrayLike | None = None, beta: ArrayLike | None = None,
                   coefficients: Mapping | None = None, time_dim: str = "time",
                   data_validation: Validation = "raise", columns: Mapping[str, str] | None = None,
                   template: xr.DataArray | None = None, interpolation: str = "idw",
                   interpolation_options: Mapping | None = None) -> DailyOutput:
    """Mean annual rainfall erosivity R (MJ·mm·hm⁻²·h⁻¹·a⁻¹) from daily rain: ``R = Σ_{i=1..24} M_i``.

    Same model, inputs and options as :func:`halfmonth_erosivity` (Zhang, Xie & Liu 2002;
    Xie et al. 2016 with recalled constants). Returns a (y, x) DataArray, a float for a
    series, an array for a NumPy (time, ...) input, or for a station table a DataFrame per
    station (station, lon, lat, years, p_d12, p_y12, alpha, beta, rainfall_erosivity), or,
    with ``template``, that grid interpolated (``interpolation`` 'idw' or 'kriging',
    :func:`interpolate_stations`) with the station values kept in its attrs.
    """
    if isinstance(daily_precip, pd.DataFrame):
        return _table("r", daily_precip, **_locals_without(locals()))
    d = _as_daily(daily_precip, dates, time_dim, _validation(data_validation))
    means, *_ = _halfmonth_means(d, model, coefficients, threshold, missing, p_d12, p_y12, alpha, beta,
                                 "daily_precip")
    _, thr = _options(model, coefficients, threshold)
    ref = REF_ZHANG if model == "zhang2002" else REF_XIE
    return _wrap(means.sum(axis=0), d, "rainfall_erosivity", _history("r_factor_daily", model, thr, missing, d),
                 ref, False, time_dim)


def annual_erosivity(daily_precip: DailyInput, *, dates=None, model: Model = "zhang2002",
                     threshold: float | None = None, missing: Missing = "raise", p_d12: ArrayLike | None = None,
                     p_y12: ArrayLike | None = None, alpha: ArrayLike | None = None, beta: ArrayLike | None = None,
                     coefficients: Mapping | None = None, time_dim: str = "time",
                     data_validation: Validation = "raise") -> xr.DataArray | np.ndarray | pd.Series:
    """Rainfall erosivity of each calendar year (MJ·mm·hm⁻²·h⁻¹·a⁻¹): ``R_y = Σ_{days of y} α D^β``.

    The model of :func:`r_factor_daily` (Zhang, Xie & Liu 2002, α and β from the whole record
    unless given; or Xie et al. 2016); their mean over whole years is R. A year the record
    covers only in part sums the days it has: the output's ``year_coverage`` (attrs, or the
    Series' attrs) gives the fraction of each year present. Returns (year, y, x) DataArray,
    an array (n_years, ...), or a Series indexed by year.
    """
    if isinstance(daily_precip, pd.DataFrame):
        raise InputError("annual_erosivity takes one series or grid; for a station table, call it per station "
                         "(table.groupby('station'))")
    d = _as_daily(daily_precip, dates, time_dim, _validation(data_validation))
    sums, _, _, _ = _halfmonth_means(d, model, coefficients, threshold, missing, p_d12, p_y12, alpha, beta,
                                     "daily_precip", by="year")
    _, thr = _options(model, coefficients, threshold)
    years = np.arange(d.days[0].year, d.days[-1].year + 1)
    present = pd.Series(d.days.year).value_counts().reindex(years).to_numpy()
    coverage = present / np.where([pd.Timestamp(year=int(y), month=1, day=1).is_leap_year for y in years], 366, 365)
    ref = REF_ZHANG if model == "zhang2002" else REF_XIE
    hist = _history("annual_erosivity", model, thr, missing, d)
    if d.kind == "dataarray":
        t = d.template
        coords = {k: v for k, v in t.coords.items() if time_dim not in v.dims}
        coords["year"] = years
        out = xr.DataArray(sums, dims=("year", *t.dims), coords=coords).astype(np.float32)
        return finalize(out, "annual_erosivity", t, hist, ref, extra_attrs={"year_coverage": coverage})
    if d.kind == "series":
        out = pd.Series(np.asarray(sums).reshape(-1), index=pd.Index(years, name="year"), name="annual_erosivity")
        out.attrs.update(units=vocabulary.get("annual_erosivity").units, year_coverage=coverage.tolist())
        return out
    return np.asarray(sums)


def erosivity_share(halfmonth: ArrayLike | pd.Series | pd.DataFrame | None = None,
                    daily_precip: DailyInput | None = None,
                    **kwargs) -> ArrayLike | pd.Series | pd.DataFrame:
    """Half-month erosivity share ``WR_i = M_i / Σ_k M_k`` (i = 1..24), summing to 1.

    Give the output of :func:`halfmonth_erosivity` (``halfmonth``), or daily rain
    (``daily_precip=``, with that function's keywords). A DataArray result has a dimension
    ``halfmonth`` with coordinate 1..24, as :func:`erosion.factors.b_factor` takes it. Cells
    (stations) with no erosive rain have no share: NaN.
    """
    if halfmonth is None:
        if daily_precip is None:
            raise InputError("erosivity_share needs halfmonth erosivity or daily_precip=")
        halfmonth = halfmonth_erosivity(daily_precip, **kwargs)
    if isinstance(halfmonth, xr.DataArray):
        if "halfmonth" not in halfmonth.dims or halfmonth.sizes["halfmonth"] != 24:
            raise InputError(f"halfmonth has dims {halfmonth.dims}; expected a 'halfmonth' dimension of 24 "
                             "(the output of halfmonth_erosivity)")
        h64 = halfmonth.astype(np.float64)
        total = h64.sum("halfmonth", skipna=False)
        share = (h64 / total.where(total > 0)).transpose("halfmonth", ...)
        tmpl = halfmonth.isel(halfmonth=0, drop=True)
        return finalize(share.astype(np.float64), "erosivity_share", tmpl,
                        "erosivity_share: WR_i = M_i / sum(M)", REF_ZHANG)
    if isinstance(halfmonth, pd.DataFrame):
        total = halfmonth.sum(axis=1)
        return halfmonth.div(total.where(total > 0), axis=0)
    if isinstance(halfmonth, pd.Series):
        total = halfmonth.sum()
        return (halfmonth / total if total > 0 else halfmonth * np.nan).rename("erosivity_share")
    m = np.asarray(halfmonth, dtype=np.float64)
    if m.shape[:1] != (24,):
        raise InputError(f"halfmonth has shape {m.shape}; expected 24 half-months along the first axis")
    total = m.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return m / np.where(total > 0, total, np.nan)


# ---------------------------------------------------------------------------------- one event

def event_erosivity(rain: ArrayLike | None = None, *, alpha: ArrayLike | None = None,
                    beta: ArrayLike | None = None, p_d12: ArrayLike | None = None, p_y12: ArrayLike | None = None,
                    threshold: float = 12.0, ei30: ArrayLike | None = None, template: xr.DataArray | None = None,
                    coefficients: Mapping | None = None, as_r: bool = False,
                    data_validation: Validation = "raise") -> ArrayLike:
    """Erosivity of one event (MJ·mm·hm⁻²·h⁻¹), as a grid for the soil loss of that event.

    - From one day's rain D (mm): the daily term of Zhang, Xie & Liu (2002), ``α · D^β`` for
      D ≥ ``threshold`` (12 mm), else 0; α and β given (a station's calibration), or from the
      long-term ``p_d12`` and ``p_y12`` (grids or scalars) by :func:`zhang_parameters`.
    - From a storm's EI30 (``ei30=``, e.g. a row of :func:`storm_erosivity`; Renard et al.
      1997): the value itself, spread over ``template`` when it is a scalar.

    ``rain`` as scalar, array or DataArray (units converted; dask stays lazy). With
    ``as_r=True`` the result is labelled ``rainfall_erosivity`` in R's units so that
    :func:`erosion.csle` takes it; the product is then the soil loss of this one event in
    t·hm⁻² (not per year), as its ``erosivity_period`` attribute says.
    """
    if ei30 is not None:
        if rain is not None:
            raise InputError("event_erosivity takes either rain (daily model) or ei30 (a storm), not both")
        value = ei30
        if template is not None and np.ndim(ei30) == 0 and not isinstance(ei30, xr.DataArray):
            value = xr.full_like(template, float(ei30), dtype=np.float32).assign_attrs(units="MJ mm hm-2 h-1")
        if isinstance(value, xr.DataArray):
            if value.attrs.get("units") not in (None, "MJ mm hm-2 h-1"):
                raise UnitsError(f"ei30 has units {value.attrs['units']!r}; expected 'MJ mm hm-2 h-1' (EI30 of one storm)")
            out = finalize(value.astype(np.float32), "event_erosivity", value, "event_erosivity(ei30)", REF_AH703)
        else:
            out = float(value) if np.ndim(value) == 0 else np.asarray(value, dtype=np.float64)
        return _as_r(out, as_r)
    if rain is None:
        raise InputError("event_erosivity needs the day's rain (rain=) or a storm's EI30 (ei30=)")
    if alpha is None or beta is None:
        if p_d12 is None or p_y12 is None:
            raise InputError("event_erosivity needs alpha and beta, or the long-term p_d12 and p_y12 of the place")
        a2, b2 = zhang_parameters(p_d12, p_y12, coefficients=coefficients)
        alpha = a2 if alpha is None else alpha
        beta = b2 if beta is None else beta
    thr = float(threshold)
    if isinstance(rain, xr.DataArray):
        factor = _depth_factor(rain.attrs.get("units"), "rain", _validation(data_validation))
        if factor != 1.0:
            rain = rain * factor
        rain = rain.assign_attrs(units="mm")

    def kernel(d, a, b):
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(d >= thr, a * np.power(np.where(d >= thr, d, 1.0), b), np.where(np.isnan(d), np.nan, 0.0))

    return _as_r(_event(kernel, rain, alpha, beta, thr, data_validation), as_r)


def _as_r(out, as_r: bool):
    """An event's erosivity relabelled as R for erosion.csle (one event, not a year)."""
    if not as_r or not isinstance(out, xr.DataArray):
        return out
    note = ("the erosivity of one event, labelled as R so that erosion.csle gives the soil loss of this event in "
            "t hm-2 (not per year)")
    return finalize(out, "rainfall_erosivity", out, "event_erosivity(as_r=True): " + note,
                    out.attrs.get("references"), extra_attrs={"erosivity_period": "one event"})


def _event(kernel, rain, alpha, beta, thr, validation):
    from .._array import check_range, prepare

    validation = _validation(validation)
    vals = [prepare(rain, "daily_precipitation", validation=validation, arg="rain"), alpha, beta]
    das = [v for v in vals if isinstance(v, xr.DataArray)]
    if das:
        def block(d, a, b):
            check_range(d, "daily_precipitation", validation, "rain")
            return kernel(d, a, b)

        out = xr.apply_ufunc(block, *vals, dask="parallelized", output_dtypes=[np.float32], keep_attrs=False)
        return finalize(out.astype(np.float32), "event_erosivity", das[0],
                        f"event_erosivity(threshold={thr} mm): alpha * D**beta", REF_ZHANG)
    d = np.asarray(vals[0], dtype=np.float64)
    check_range(d, "daily_precipitation", validation, "rain")
    out = kernel(d, np.asarray(alpha, dtype=np.float64), np.asarray(beta, dtype=np.float64))
    return float(out) if np.ndim(out) == 0 else out


def _locals_without(loc: dict) -> dict:
    return {k: v for k, v in loc.items() if k != "daily_precip"}


# ------------------------------------------------------------------------------------ stations

_COLUMNS = {"station": "station", "date": "date", "rain": "rain", "lon": "lon", "lat": "lat"}


def _table(what: str, table: pd.DataFrame, *, dates=None, model="zhang2002", threshold=None, missing="raise",
           p_d12=None, p_y12=None, alpha=None, beta=None, coefficients=None, time_dim="time",
           data_validation="raise", columns=None, template=None, interpolation="idw",
           interpolation_options=None):
    """Per-station R (or half-month erosivity) from a long station table, optionally gridded."""
    names = {**_COLUMNS, **(columns or {})}
    unknown = set(names) - set(_COLUMNS)
    if unknown:
        raise UnknownCodeError(f"columns: unknown keys {sorted(unknown)}; known: {sorted(_COLUMNS)}")
    absent = [v for v in names.values() if v not in table.columns]
    if absent:
        raise InputError(f"station table lacks columns {absent} (has {list(table.columns)}); name yours with "
                         "columns={'station': ..., 'date': ..., 'rain': ..., 'lon': ..., 'lat': ...}")
    rows, halves = [], []
    for sid, g in table.groupby(names["station"], sort=True):
        g = g.sort_values(names["date"])
        lon, lat = g[names["lon"]].iloc[0], g[names["lat"]].iloc[0]
        if g[names["lon"]].nunique() > 1 or g[names["lat"]].nunique() > 1:
            raise InputError(f"station {sid!r} has more than one location in the table; one lon/lat per station")
        d = _as_daily(g[names["rain"]].to_numpy(dtype=np.float64), pd.to_datetime(g[names["date"]]).to_numpy(),
                      time_dim, "raise", arg=f"station {sid!r}")
        means, stats, a, b = _halfmonth_means(d, model, coefficients, threshold, missing, p_d12, p_y12, alpha,
                                              beta, f"station {sid!r}")
        rows.append({"station": sid, "lon": float(lon), "lat": float(lat), "years": float(stats[_k.YEARS]),
                     "erosive_days": int(stats[_k.N_EROSIVE]), "missing_days": int(stats[_k.N_MISSING]),
                     "p_d12": float(stats[_k.SUM_EROSIVE] / stats[_k.N_EROSIVE]) if stats[_k.N_EROSIVE] else np.nan,
                     "p_y12": float(stats[_k.SUM_EROSIVE] / stats[_k.YEARS]),
                     "alpha": float(np.asarray(a)), "beta": float(np.asarray(b)),
                     "rainfall_erosivity": float(means.sum())})
        halves.append(means)
    out = pd.DataFrame(rows)
    hm = pd.DataFrame(np.vstack(halves), index=pd.Index(out["station"], name="station"),
                      columns=pd.RangeIndex(1, 25, name="halfmonth"))
    if template is None:
        return out if what == "r" else hm
    values = out["rainfall_erosivity"].to_numpy() if what == "r" else hm.to_numpy()
    return interpolate_stations(out["lon"].to_numpy(), out["lat"].to_numpy(), values, template,
                                method=interpolation, stations=out, variable="rainfall_erosivity" if what == "r"
                                else "halfmonth_erosivity", **(interpolation_options or {}))


def _target_xy(template: xr.DataArray, lon: np.ndarray, lat: np.ndarray):
    """Station and target-cell coordinates in a common planar system (km or the CRS units)."""
    ydim, xdim = template.dims[-2:]
    if xdim not in template.coords or ydim not in template.coords:
        raise InputError(f"template needs 1-D {ydim!r} and {xdim!r} coordinates to place the stations")
    gx, gy = np.meshgrid(template[xdim].values.astype(np.float64), template[ydim].values.astype(np.float64))
    crs = template.rio.crs
    if crs is not None and not crs.is_geographic:
        from pyproj import Transformer

        sx, sy = Transformer.from_crs("EPSG:4326", crs, always_xy=True).transform(lon, lat)
        return np.column_stack([sx, sy]), np.column_stack([gx.ravel(), gy.ravel()]), str(crs)
    # geographic (or no CRS: coordinates taken as lon/lat): equirectangular km about the mean latitude
    k = 6371.0088 * np.pi / 180.0
    c = np.cos(np.radians(np.nanmean(lat)))
    s = np.column_stack([lon * k * c, lat * k])
    t = np.column_stack([gx.ravel() * k * c, gy.ravel() * k])
    return s, t, "equirectangular km"


def _variogram(model: str):
    if model == "spherical":
        return lambda h, n, s, r: np.where(h < r, n + s * (1.5 * h / r - 0.5 * (h / r) ** 3), n + s)
    if model == "exponential":
        return lambda h, n, s, r: n + s * (1.0 - np.exp(-3.0 * h / r))
    raise UnknownCodeError(f"variogram model must be 'spherical' or 'exponential', not {model!r}")


def _fit_variogram(xy: np.ndarray, z: np.ndarray, model: str, n_lags: int) -> dict:
    """Weighted least-squares fit of nugget, partial sill and range to the binned semivariogram."""
    from scipy.optimize import curve_fit
    from scipy.spatial.distance import pdist

    h = pdist(xy)
    g = 0.5 * pdist(z[:, None], "sqeuclidean")
    edges = np.linspace(0.0, h.max() / 2.0, n_lags + 1)
    which = np.digitize(h, edges) - 1
    ok = [(which == i).sum() for i in range(n_lags)]
    hb = np.array([h[which == i].mean() for i in range(n_lags) if ok[i]])
    gb = np.array([g[which == i].mean() for i in range(n_lags) if ok[i]])
    nb = np.array([ok[i] for i in range(n_lags) if ok[i]], dtype=np.float64)
    f = _variogram(model)
    var = float(np.var(z)) or 1.0
    p0 = [0.1 * var, var, max(hb.max() / 2.0, 1e-9)] if hb.size else [0.0, var, 1.0]
    from scipy.optimize import OptimizeWarning

    try:
        with warnings.catch_warnings():  # the parameters' covariance is not used
            warnings.simplefilter("ignore", OptimizeWarning)
            p, _ = curve_fit(f, hb, gb, p0=p0, sigma=1.0 / np.sqrt(nb),
                             bounds=([0, 0, 1e-9], [np.inf, np.inf, np.inf]), maxfev=10000)
    except (RuntimeError, ValueError, TypeError) as e:
        raise InputError(f"kriging: the {model} variogram could not be fitted to {z.size} stations ({e}); give "
                         "variogram={'nugget': ..., 'sill': ..., 'range': ...} or use interpolation='idw'") from None
    return {"model": model, "nugget": float(p[0]), "sill": float(p[1]), "range": float(p[2]), "lags": int(hb.size)}


def interpolate_stations(lon: ArrayLike, lat: ArrayLike, values: ArrayLike, template: xr.DataArray, *,
                         method: str = "idw", power: float = 2.0,
                         neighbours: int | None = None, variogram: str | Mapping = "spherical", n_lags: int = 10,
                         stations: pd.DataFrame | None = None, variable: str = "rainfall_erosivity",
                         batch: int = 65536) -> xr.DataArray:
    """Interpolate station values to the (y, x) grid of ``template``.

    ``method="idw"``: inverse distance weighting, ``z = Σ w_s z_s / Σ w_s``, ``w_s = d_s^−power``
    (Shepard 1968), over all stations or the ``neighbours`` nearest; a cell on a station takes
    its value. ``method="kriging"``: ordinary kriging (Matheron 1963; Webster & Oliver 2007)
    over all stations (global neighbourhood), with a ``variogram`` model 'spherical' or
    'exponential' fitted by weighted least squares
    (weights = pairs per lag, ``n_lags`` lags up to half the largest distance), or given as a
    mapping with model, nugget, sill (partial) and range. Distances: in the template's
    projected CRS, or in km on an equirectangular plane about the stations' mean latitude for
    geographic grids. ``values``: (stations,) or (stations, k) for k fields sharing the weights
    (the 24 half-months), returned with a leading ``halfmonth`` dimension. Station values are
    kept in the attrs (``station_id``, ``station_lon``, ``station_lat``, ``station_value``).
    """
    lon, lat = np.asarray(lon, dtype=np.float64), np.asarray(lat, dtype=np.float64)
    z = np.asarray(values, dtype=np.float64)
    z2 = z[:, None] if z.ndim == 1 else z
    n = lon.size
    if n == 0 or z2.shape[0] != n:
        raise InputError(f"interpolate_stations: {n} station locations for {z2.shape[0]} values")
    good = np.isfinite(z2).all(axis=1) & np.isfinite(lon) & np.isfinite(lat)
    if not good.all():
        lon, lat, z2 = lon[good], lat[good], z2[good]
        n = lon.size
    if not isinstance(template, xr.DataArray) or template.ndim < 2:
        raise InputError("template must be a (y, x) DataArray giving the target grid")
    template = template.isel({d: 0 for d in template.dims[:-2]}, drop=True) if template.ndim > 2 else template
    sxy, txy, space = _target_xy(template, lon, lat)
    out = np.empty((txy.shape[0], z2.shape[1]), dtype=np.float64)
    extra: dict = {"interpolation": method, "distance_space": space}
    if method == "idw":
        if n < 1:
            raise InputError("idw needs at least one station with a value")
        from scipy.spatial import cKDTree

        k = n if neighbours is None else min(int(neighbours), n)
        tree = cKDTree(sxy)
        for s in range(0, txy.shape[0], batch):
            dist, idx = tree.query(txy[s:s + batch], k=k)
            dist, idx = dist.reshape(len(dist), -1), idx.reshape(len(idx), -1)
            with np.errstate(divide="ignore"):
                w = 1.0 / dist ** power
            on = ~np.isfinite(w).all(axis=1)
            w[on] = (dist[on] == 0).astype(np.float64)
            w /= w.sum(axis=1, keepdims=True)
            out[s:s + batch] = np.einsum("tk,tkf->tf", w, z2[idx])
        extra.update(idw_power=power, idw_neighbours=k)
    elif method == "kriging":
        if n < 5:
            raise InputError(f"kriging needs at least 5 stations with values (has {n}); use interpolation='idw'")
        from scipy.linalg import lu_factor, lu_solve
        from scipy.spatial.distance import cdist

        if isinstance(variogram, Mapping):
            vg = {"model": "spherical", **variogram}
            for key in ("nugget", "sill", "range"):
                if key not in vg:
                    raise InputError(f"variogram mapping lacks {key!r} (needs model, nugget, sill, range)")
        else:
            vg = _fit_variogram(sxy, z2[:, 0], variogram, n_lags)
        f = _variogram(vg["model"])
        gamma = f(cdist(sxy, sxy), vg["nugget"], vg["sill"], vg["range"])
        np.fill_diagonal(gamma, 0.0)
        a = np.ones((n + 1, n + 1))
        a[:n, :n] = gamma
        a[n, n] = 0.0
        lu = lu_factor(a)
        for s in range(0, txy.shape[0], batch):
            g0 = f(cdist(txy[s:s + batch], sxy), vg["nugget"], vg["sill"], vg["range"])
            g0[cdist(txy[s:s + batch], sxy) == 0] = 0.0
            rhs = np.vstack([g0.T, np.ones((1, g0.shape[0]))])
            w = lu_solve(lu, rhs)[:n]
            out[s:s + batch] = w.T @ z2
        extra.update({f"variogram_{k}": v for k, v in vg.items()})
    else:
        raise UnknownCodeError(f"interpolation must be 'idw' or 'kriging', not {method!r}")
    ny, nx = template.shape[-2:]
    ydim, xdim = template.dims[-2:]
    coords = {k: v for k, v in template.coords.items() if set(v.dims) <= {ydim, xdim}}
    if z.ndim == 1:
        grid = xr.DataArray(out[:, 0].reshape(ny, nx), dims=(ydim, xdim), coords=coords)
    else:
        grid = xr.DataArray(out.T.reshape(-1, ny, nx), dims=("halfmonth", ydim, xdim), coords=coords)
        if grid.sizes["halfmonth"] == 24:
            grid = grid.assign_coords(halfmonth=np.arange(1, 25))
    ids = stations["station"].astype(str).tolist() if stations is not None else [str(i) for i in range(lon.size)]
    if stations is not None:
        ids = [i for i, g in zip(ids, good, strict=True) if g]
    extra.update(station_id=",".join(ids), station_lon=lon, station_lat=lat,
                 station_value=z2[:, 0] if z.ndim == 1 else z2.sum(axis=1))
    return finalize(grid.astype(np.float32), variable, template, f"interpolate_stations(method={method!r}) from "
                    f"{n} stations", REF_ZHANG, extra_attrs=extra)


# ------------------------------------------------------------------------------------ sub-daily

_EQUATIONS = ("brown-foster", "mcgregor", "usle")


def _energy(i: np.ndarray, equation: str) -> np.ndarray:
    i = np.asarray(i, dtype=np.float64)
    if equation == "brown-foster":
        return 0.29 * (1.0 - 0.72 * np.exp(-0.05 * i))
    if equation == "mcgregor":
        return 0.29 * (1.0 - 0.72 * np.exp(-0.082 * i))
    with np.errstate(divide="ignore", invalid="ignore"):
        e = 0.119 + 0.0873 * np.log10(i)
    return np.where(i > 76.0, 0.283, np.where(i > 0, np.maximum(e, 0.0), np.where(np.isnan(i), np.nan, 0.0)))


def unit_energy(intensity: ArrayLike, *, equation: str = "brown-foster",
                data_validation: Validation = "raise") -> ArrayLike:
    """Unit kinetic energy of rain e (MJ·hm⁻²·mm⁻¹) at intensity i (mm·h⁻¹).

    - ``"brown-foster"`` (RUSLE1, AH703 eq. 2-2 in SI; Brown & Foster 1987):
      ``e = 0.29 [1 − 0.72 exp(−0.05 i)]``
    - ``"mcgregor"`` (RUSLE2; McGregor et al. 1995): ``e = 0.29 [1 − 0.72 exp(−0.082 i)]``
    - ``"usle"`` (Wischmeier & Smith 1978, AH537): ``e = 0.119 + 0.0873 log10 i``, 0.283 for
      i > 76 mm·h⁻¹; 0 at i = 0 and never negative (the log form is < 0 below 0.043 mm·h⁻¹).
    """
    if equation not in _EQUATIONS:
        raise UnknownCodeError(f"equation must be one of {list(_EQUATIONS)}, not {equation!r}")
    return apply_cellwise(_energy, [("intensity", "rain_intensity", intensity)], output="unit_energy",
                          history=f"unit_energy(equation={equation!r})", references=REF_ENERGY[equation],
                          validation=data_validation, kwargs={"equation": equation})


class StormErosivity(NamedTuple):
    """Result of :func:`storm_erosivity`."""

    storms: pd.DataFrame  #: one row per storm: start, end, rain, energy, I30, EI30, erosive
    annual: pd.Series     #: Σ EI30 of the erosive storms per calendar year (MJ·mm·hm⁻²·h⁻¹)
    R: float              #: mean of ``annual`` (MJ·mm·hm⁻²·h⁻¹·a⁻¹)


_RATE_PER_HOUR = {"mm h-1": 1.0, "mm/h": 1.0, "mm hr-1": 1.0, "mm d-1": 1.0 / 24.0, "mm/day": 1.0 / 24.0,
                  "mm day-1": 1.0 / 24.0, "mm/d": 1.0 / 24.0}


def storm_erosivity(series: pd.Series, *, units: str = "mm", equation: str = "brown-foster",
                    gap_hours: float = 6.0, gap_rain: float = 1.27, min_rain: float = 12.7,
                    min_rain_15min: float | None = 6.35, missing: Missing = "raise") -> StormErosivity:
    """Storm erosivity EI30 (MJ·mm·hm⁻²·h⁻¹) of every storm of a rain record, and annual sums.

    RUSLE (Renard et al. 1997, AH703; AH537): storms are separated by a period of
    ``gap_hours`` (6 h) with less than ``gap_rain`` (1.27 mm); ``E = Σ e(i_r) Δv_r`` with
    :func:`unit_energy`; I30 the largest 30-min rain ×2 (mm·h⁻¹) from the record at its own
    step; ``EI30 = E · I30``. A storm is erosive with ≥ ``min_rain`` (12.7 mm; Chinese
    practice uses 12) or ≥ ``min_rain_15min`` (6.35 mm) in 15 min (None: that rule off; it
    needs a step ≤ 15 min). With a step coarser than 30 min (hourly), I30 is the largest
    intensity of one step, an underestimate: a warning says so and the table's attrs record
    it. A wet step after a dry step starts a new storm when the ``gap_hours`` before it held
    < ``gap_rain`` (an unbroken run of wet steps is one storm); every mm belongs to a storm.

    ``series``: a pandas Series indexed by regular timestamps (each the start of its
    interval), of depth per step (``units="mm"``, or "in", "cm") or of a rate
    (``"mm h-1"``, ``"mm d-1"``). ``missing``: 'raise', 'zero' or 'skip' (skip = zero here,
    but the count is recorded).
    """
    if not isinstance(series, pd.Series) or not isinstance(series.index, pd.DatetimeIndex):
        raise InputError("storm_erosivity needs a pandas Series indexed by timestamps (DatetimeIndex): "
                         "no time coordinate")
    if equation not in _EQUATIONS:
        raise UnknownCodeError(f"equation must be one of {list(_EQUATIONS)}, not {equation!r}")
    _missing_mode(missing)
    s = series.sort_index()
    if s.index.has_duplicates:
        raise InputError(f"series: {int(s.index.duplicated().sum())} repeated timestamps")
    steps = np.diff(s.index.as_unit("ns").asi8) if s.size > 1 else np.array([0])
    step_ns = int(np.median(steps)) if s.size > 1 else 0
    if step_ns <= 0:
        raise InputError("series needs at least two timestamps at a regular step")
    step = pd.Timedelta(step_ns, "ns")
    if (s.index[-1] - s.index[0]) + step < pd.Timedelta(days=365):
        raise InputError(f"series covers {(s.index[-1] - s.index[0]) + step}, less than a year: annual R needs "
                         "at least one full year")
    full = pd.date_range(s.index[0], s.index[-1], freq=step)
    odd = s.index.difference(full)
    if odd.size:
        raise InputError(f"series: {odd.size} timestamps fall off the regular {step} step (first {odd[0]}); "
                         "resample to a regular step first (series.resample(step).sum())")
    gaps = full.size - s.size
    s = s.reindex(full)
    hours = step / pd.Timedelta(hours=1)
    u = units.strip()
    key = u.lower()
    if key in _RATE_PER_HOUR:
        depth = s.to_numpy(dtype=np.float64) * _RATE_PER_HOUR[key] * hours
    elif key in _DEPTH_TO_MM and "d-1" not in key and "/" not in key:
        depth = s.to_numpy(dtype=np.float64) * _DEPTH_TO_MM[key]
    else:
        raise UnitsError(f"storm_erosivity: units {units!r} unknown; give a depth per step ('mm', 'cm', 'in') or "
                         f"a rate ({sorted(_RATE_PER_HOUR)})")
    nan = np.isnan(depth)
    if (depth[~nan] < 0).any():
        raise ValueRangeError(f"series: {int((depth[~nan] < 0).sum())} negative values; rain cannot be negative: "
                              "mask the nodata sentinel and choose a missing= policy")
    if nan.any() and missing == "raise":
        raise InputError(f"series: {int(nan.sum())} steps are missing (NaN, of which {gaps} absent timestamps); "
                         "choose missing='zero' or 'skip'")
    depth = np.where(nan, 0.0, depth)

    n_gap = max(1, round(gap_hours / hours))
    csum = np.concatenate([[0.0], np.cumsum(depth)])
    pos = np.arange(depth.size)
    before = csum[pos] - csum[np.maximum(pos - n_gap, 0)]  # rain in the n_gap steps before each step
    wet = depth > 0
    after_dry = np.concatenate([[True], ~wet[:-1]])
    starts = wet & (before < gap_rain) & after_dry  # an unbroken wet run is never split
    coarse = hours > 0.5
    if coarse:
        msg = (f"storm_erosivity: the record's step ({step}) is coarser than 30 min: I30 is taken as the largest "
               "intensity of one step, which underestimates I30 and EI30")
        warnings.warn(msg, stacklevel=2)
    k30 = max(1, round(0.5 / hours))
    k15 = round(0.25 / hours) if hours <= 0.25 else 0
    if not coarse and not math.isclose(k30 * hours, 0.5, rel_tol=1e-9):
        warnings.warn(f"storm_erosivity: the step ({step}) does not divide 30 min: I30 is taken over {k30} steps "
                      f"({k30 * hours * 60:g} min)", stacklevel=2)
    # a wet step after a period of gap_hours with < gap_rain starts a storm; the storm runs to its last wet step
    label = np.cumsum(starts)
    wet_idx = np.flatnonzero(wet)
    bounds = np.flatnonzero(np.diff(label[wet_idx])) + 1
    rows = []
    for idx in np.split(wet_idx, bounds) if wet_idx.size else []:
        a, b = idx[0], idx[-1] + 1
        v = depth[a:b]
        e = float(np.sum(_energy(v / hours, equation) * v))
        if coarse:
            i30 = float(v.max() / hours)
        else:
            cs = np.concatenate([[0.0], np.cumsum(v)])
            w = cs[np.minimum(np.arange(v.size) + k30, v.size)] - cs[:-1]
            i30 = float(w.max() / (k30 * hours))
        rain = float(v.sum())
        erosive = rain >= min_rain
        if not erosive and min_rain_15min is not None and k15:
            cs = np.concatenate([[0.0], np.cumsum(v)])
            erosive = bool((cs[np.minimum(np.arange(v.size) + k15, v.size)] - cs[:-1]).max() >= min_rain_15min)
        rows.append((full[a], full[b - 1] + step, rain, e, i30, e * i30, erosive))
    storms = pd.DataFrame(rows, columns=["start", "end", "rain", "energy", "I30", "EI30", "erosive"])
    i30_method = ("largest one-step intensity (step > 30 min)" if coarse
                  else f"largest {k30}-step ({k30 * hours * 60:g} min) rain / its duration")
    storms.attrs.update(units={"rain": "mm", "energy": "MJ hm-2", "I30": "mm h-1", "EI30": "MJ mm hm-2 h-1"},
                        equation=equation, step=str(step), i30_method=i30_method, missing_steps=int(nan.sum()),
                        references=REF_AH703)
    years = pd.RangeIndex(full[0].year, full[-1].year + 1, name="year")
    ero = storms[storms["erosive"]]
    annual = ero.groupby(ero["start"].dt.year)["EI30"].sum().reindex(years, fill_value=0.0).rename("EI30")
    # mean over whole years covered by the record (partial first/last years weighted by coverage)
    cover = pd.Series(full.year).value_counts().reindex(years).to_numpy() / np.where(
        pd.Series(years).map(lambda y: pd.Timestamp(year=y, month=1, day=1).is_leap_year), 366.0, 365.0) / (
        pd.Timedelta(days=1) / step)
    R = float(annual.sum() / cover.sum())
    annual.attrs.update(units="MJ mm hm-2 h-1", years_covered=cover.tolist())
    return StormErosivity(storms, annual, R)
