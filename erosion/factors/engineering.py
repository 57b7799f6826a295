"""E (CSLE engineering-measure factor) and P (RUSLE/USLE support-practice factor).

- :func:`e_factor`: measure codes → E through a code table (``erosion/data/engineering_measures.csv``
  by default; E = 1 where no measure is mapped, code 0).
- :func:`p_factor`: P of contouring, contour strip cropping or terracing by slope class
  (Wischmeier & Smith 1978, AH537 Tables 14-16; ``erosion/data/p_by_slope_ah537.csv``).

Equations, tables and the status of every value: docs/methods/practices.md and
docs/decisions/0021-vegetation-and-practice-factors.md.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from .. import units as _units
from .._array import ArrayLike, apply_cellwise
from ..errors import InputError, UnitsError, UnknownCodeError
from . import tables

__all__ = ["PRACTICES", "e_factor", "p_factor"]

REF_E = ("Liu B.Y., Zhang K.L., Xie Y. (2002) An empirical soil loss equation. Proc. 12th ISCO, Beijing, 2:21-25; "
         "E assignment table of MWR (2018) 区域水土流失动态监测技术规定（试行）, as applied by Chang M. et al. (2021) "
         "ChinaXiv 202108.00091 sec. 1.3.1")
REF_P = ("Wischmeier W.H., Smith D.D. (1978) Predicting rainfall erosion losses. USDA Agriculture Handbook 537, "
         "Tables 14-16; Renard K.G. et al. (1997) USDA Agriculture Handbook 703, ch. 6")

#: Practices of the built-in P table, and "none" (P = 1).
PRACTICES = ("contouring", "strip", "strip_b", "strip_c", "terrace", "none")


def e_factor(codes: ArrayLike, *, table: str | Path | pd.DataFrame = "engineering_measures",
             nodata: float | None = None, data_validation: str = "raise") -> ArrayLike:
    """CSLE engineering-measure factor E from a raster of measure codes (float32, 0-1).

    The built-in table ``"engineering_measures"`` holds code 0 = no measure (E = 1, the rule
    of national monitoring [V]) and eight measures (level terraces with earth or stone banks,
    sloping terraces, terraces with sloping interspace, level benches, level trenches,
    fish-scale pits, large fruit-tree pits) whose values are **recalled, to verify** against
    the E table of the MWR (2018) monitoring rules. Pass your own table (CSV path or DataFrame
    with code, name_zh, name_en, value, source) with ``table=``; it is validated on load.
    Codes missing from the table raise :class:`UnknownCodeError` with each code's cell count;
    nodata (NaN, ``nodata`` or the DataArray's declared sentinel) stays NaN.
    """
    return tables.lookup(codes, table, output="engineering_factor", nodata=nodata, history="e_factor: E by measure code",
                         references=REF_E, data_validation=data_validation)


def _p_rows(table, practice: str) -> pd.DataFrame:
    df = tables.load_table(table)
    missing = [c for c in ("practice", "slope_min", "slope_max") if c not in df.columns]
    if missing:
        raise InputError(f"P table {df.attrs.get('table')} lacks the column(s) {missing}; a P table has code, name_zh, "
                         "name_en, practice, slope_min, slope_max (whole percent), value, source")
    known = [*sorted(set(df["practice"].astype(str))), "none"]
    if practice not in known:
        raise UnknownCodeError(f"unknown practice {practice!r}; the P table {df.attrs.get('table')} has {known}")
    rows = df[df["practice"].astype(str) == practice].sort_values("slope_min")
    lo = pd.to_numeric(rows["slope_min"], errors="coerce").to_numpy(np.float64)
    hi = pd.to_numeric(rows["slope_max"], errors="coerce").to_numpy(np.float64)
    if not (np.isfinite(lo).all() and np.isfinite(hi).all() and (hi >= lo).all()):
        raise InputError(f"P table {df.attrs.get('table')}: slope_min/slope_max of practice {practice!r} must be "
                         "numbers with slope_min <= slope_max")
    return rows.assign(slope_min=lo, slope_max=hi)


def p_factor(slope: ArrayLike, *, practice: str = "contouring", units: str | None = None,
             table: str | Path | pd.DataFrame = "p_by_slope_ah537", data_validation: str = "raise") -> ArrayLike:
    """USLE/RUSLE support-practice factor P by land slope (float32, 0-1).

    ``practice``: ``"contouring"`` (AH537 Table 14: 0.60 at 1-2 %, 0.50 at 3-8 %, 0.60 at
    9-12 %, 0.70, 0.80, 0.90 up to 25 %), ``"strip"`` (contour strip cropping with rotation
    A, half the contour value), ``"strip_b"``, ``"strip_c"`` (rotations B, C), ``"terrace"``
    (terraces with graded channels and sod outlets, AH537 Table 16) or ``"none"`` (P = 1).
    The table rows are whole-percent slope ranges; a slope s (percent) takes the row with
    slope_min − 0.5 < s ≤ slope_max + 0.5 (s rounded to whole percent), and P = 1 outside
    every row (below 0.5 % and above 25.5 %: contouring has no effect there, AH537).
    Values are **recalled, to verify** except the strip = ½·contour rule; ``table=`` takes
    a CSV/DataFrame with the columns code, name_zh, name_en, practice, slope_min,
    slope_max, value, source.

    ``slope`` is in degrees (the library's unit). A DataArray's ``units`` attribute is
    converted ('percent', 'radian'); for numbers and NumPy arrays pass ``units="percent"``
    when they are percent. Slope > 90 in degrees raises :class:`ValueRangeError` (percent given
    as degrees).
    """
    if units is not None and units not in ("degree", "percent"):
        raise UnknownCodeError(f"units must be 'degree', 'percent' or None, not {units!r}")
    if isinstance(slope, xr.DataArray):
        given = slope.attrs.get("units")
        if given is None:
            slope = slope.assign_attrs(units=units or "degree")
        elif units is not None and not _units.same_units(str(given), units):
            raise UnitsError(f"slope has units {given!r} but units={units!r} was passed; drop one of them")
    elif units == "percent":
        slope = _units.conversion("percent", "slope")(slope)
    if practice == "none":
        rows = None
    else:
        rows = _p_rows(table, practice)

    def f(theta):
        t = np.asarray(theta, dtype=np.float64)
        pct = np.round(100.0 * np.tan(np.radians(t)), 9)  # percent → degrees → percent round trip
        out = np.ones(t.shape, dtype=np.float32)
        if rows is not None:
            for lo, hi, value in zip(rows["slope_min"], rows["slope_max"], rows["value"], strict=True):
                out[(pct > lo - 0.5) & (pct <= hi + 0.5)] = value
        out[np.isnan(t)] = np.nan
        return out

    where = "" if rows is None else f" from {rows.attrs.get('table', 'the P table')}"
    return apply_cellwise(f, [("slope", "slope", slope)], output="support_practice_factor",
                          history=f"p_factor: practice {practice!r} by slope class{where}", references=REF_P,
                          validation=data_validation)
