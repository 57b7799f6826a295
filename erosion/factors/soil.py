"""K, soil erodibility, from soil texture and organic matter (issue 7; docs/methods/soil.md).

- :func:`k_epic`: EPIC (Sharpley & Williams 1990; Williams 1995) from sand, silt, clay and
  organic carbon, with the optional Chinese correction of Zhang Keli et al. (2007);
- :func:`k_nomograph`: the Wischmeier, Johnson & Cross (1971) nomograph equation (AH537, AH703)
  from silt + very fine sand, clay, organic matter and the structure and permeability codes;
- :func:`k_gmd`: AH703 eq. 3-5, K from the geometric mean particle diameter Dg;
- :func:`k_factor`: one entry for the three, from sand/silt/clay in USDA or ISSS limits;
- :func:`convert_texture`: fractions in one system of particle-size limits (Chinese,
  international/ISSS, ...) to another (USDA) through the cumulative particle-size curve;
- :func:`organic_matter_from_carbon`, :func:`organic_carbon_from_matter` (van Bemmelen 1.724).

Every function takes Python scalars, NumPy arrays and DataArrays (dask-backed included) and
returns the same kind; K is in SI units, t·hm²·h·hm⁻²·MJ⁻¹·mm⁻¹ (0.1317 × US customary K).
Texture and organic matter are mass percent: DataArrays must say ``units="percent"`` (or "%").
"""

from __future__ import annotations

import functools
import itertools
import math
import operator
from collections.abc import Sequence

import numpy as np
import xarray as xr

from .._array import (
    ArrayLike,
    Validation,
    _complain,
    _validation,
    apply_cellwise,
    check_not_all_nan,
    check_range,
    declared_nodata,
    finalize,
    prepare,
)
from .._array import eager_threads as _threads
from .._kernels import soil as sk
from ..errors import InputError, UnitsError, UnknownCodeError
from ..grid import same_grid

__all__ = ["K_METHODS", "OM_PER_OC", "TEXTURE_SYSTEMS", "US_TO_SI", "ZHANG2007", "convert_texture", "k_epic",
           "k_factor", "k_gmd", "k_nomograph", "organic_carbon_from_matter", "organic_matter_from_carbon"]

#: US customary K (t·acre·h·(hundreds acre·ft·tonf·in)⁻¹) → SI K (t·hm²·h·hm⁻²·MJ⁻¹·mm⁻¹), Foster et al. (1981)
US_TO_SI = 0.1317
#: organic matter = 1.724 × organic carbon (the van Bemmelen factor: organic matter taken as 58 % carbon)
OM_PER_OC = 1.724
#: Zhang Keli et al. (2007): K_China = a + b · K_EPIC(SI). Recalled, to verify against the primary text.
ZHANG2007 = (-0.01383, 0.51575)

#: Particle-size systems: class limits in mm from the top of the fine earth down, and class names
#: (coarse to fine; the last class is everything finer than the last limit).
TEXTURE_SYSTEMS: dict[str, tuple[tuple[float, ...], tuple[str, ...]]] = {
    "usda": ((2.0, 0.05, 0.002), ("sand", "silt", "clay")),
    "isss": ((2.0, 0.02, 0.002), ("sand", "silt", "clay")),
    "international": ((2.0, 0.02, 0.002), ("sand", "silt", "clay")),
    # USDA with very fine sand split off (the nomograph's silt + very fine sand)
    "usda_vfs": ((2.0, 0.1, 0.05, 0.002), ("sand_0.1_2mm", "very_fine_sand", "silt", "clay")),
    # Chinese system (1987; close to Kachinsky): fine earth < 1 mm. Recalled, to verify.
    "china": ((1.0, 0.05, 0.01, 0.005, 0.002, 0.001),
              ("sand", "coarse_silt", "medium_silt", "fine_silt", "coarse_clay", "fine_clay")),
}

REF_EPIC = ("Williams, J.R. (1995) The EPIC model. In: Singh, V.P. (ed.) Computer Models of Watershed Hydrology, "
            "Water Resources Publications, 909-1000; Sharpley, A.N., Williams, J.R. (1990) EPIC, Erosion/Productivity "
            "Impact Calculator: 1. Model documentation. USDA Technical Bulletin 1768")
REF_ZHANG = ("Zhang K.L., Shu A.P., Xu X.L., Yang Q.K., Yu B. (2008) Soil erodibility and its estimation for "
             "agricultural soils in China. J. Arid Environ. 72:1002-1011; Zhang K.L. et al. (2007) Acta Pedologica "
             "Sinica 44(1) (coefficients recalled, to verify)")
REF_NOMOGRAPH = ("Wischmeier, W.H., Johnson, C.B., Cross, B.V. (1971) A soil erodibility nomograph for farmland and "
                 "construction sites. J. Soil Water Conserv. 26:189-193; Wischmeier, W.H., Smith, D.D. (1978) USDA "
                 "Agriculture Handbook 537; Renard, K.G. et al. (1997) USDA Agriculture Handbook 703, eq. 3-1")
REF_GMD = ("Renard, K.G., Foster, G.R., Weesies, G.A., McCool, D.K., Yoder, D.C. (1997) Predicting soil erosion by "
           "water: a guide to conservation planning with RUSLE. USDA Agriculture Handbook 703, eq. 3-5")
REF_CONVERSION = "Foster, G.R., McCool, D.K., Renard, K.G., Moldenhauer, W.C. (1981) J. Soil Water Conserv. 36(6):355-359"
REF_TEXTURE = ("Shang, S. (2013) Log-cubic method for generation of soil particle size distribution curve. "
               "The Scientific World Journal 2013:579460; Nemes, A., Wosten, J.H.M., Lilly, A., Oude Voshaar, J.H. "
               "(1999) Geoderma 90:187-202; Fritsch, F.N., Carlson, R.E. (1980) SIAM J. Numer. Anal. 17:238-246")
REF_VAN_BEMMELEN = ("van Bemmelen, J.M. (1890) Landwirtsch. Vers.-Stat. 37:279-290 (factor 1.724); Nelson, D.W., "
                    "Sommers, L.E. (1996) Total carbon, organic carbon and organic matter. Methods of Soil Analysis "
                    "Part 3, SSSA Book Series 5, 961-1010")

_STRUCTURE = "1 very fine granular, 2 fine granular, 3 medium or coarse granular, 4 blocky, platy or massive"
_PERMEABILITY = "1 rapid, 2 moderate to rapid, 3 moderate, 4 slow to moderate, 5 slow, 6 very slow"
_FRACTION_HINT = ("they look like 0-1 fractions but percent is expected: multiply them by 100 (a DataArray may "
                  "instead say units='1' once erosion.units converts fractions)")


# ----------------------------------------------------------------------------------------------
# plumbing


def _is_dask(x) -> bool:
    return isinstance(x, xr.DataArray) and x.chunks is not None


def _mask_code_sentinel(x):
    """An integer code raster's declared nodata sentinel becomes NaN (NaN K there)."""
    if isinstance(x, xr.DataArray) and x.dtype.kind in "iu":
        sentinel = declared_nodata(x)
        if sentinel is not None:
            attrs = dict(x.attrs)
            x = x.where(x != sentinel)
            x.attrs = attrs
    return x


def _tolerance(sum_tolerance) -> float:
    if not (np.isscalar(sum_tolerance) and 0.0 <= float(sum_tolerance) < 100.0):
        raise InputError(f"sum_tolerance must be a number of percentage points in [0, 100), not {sum_tolerance!r}")
    return float(sum_tolerance)


def _number(value, name: str, *, allow_none: bool = False, positive: bool = False):
    if value is None and allow_none:
        return None
    if not (np.isscalar(value) and np.isfinite(float(value))) or (positive and float(value) <= 0):
        kind = "a positive number" if positive else "a finite number"
        raise InputError(f"{name} must be {kind}{' or None' if allow_none else ''}, not {value!r}")
    return float(value)


def _all_nan(arrays, names) -> None:
    """Eager arrays (not scalars) holding no valid value at all are an error, not a grid of NaN."""
    for a, name in zip(arrays, names, strict=True):
        if np.ndim(a):
            check_not_all_nan(a, name)


def _sum_message(arrays, names, tol: float, validation: Validation) -> None:
    """Count the cells whose texture fractions do not sum to 100 % and say how to fix it."""
    total = functools.reduce(operator.add, (np.asarray(a, dtype=np.float64) for a in arrays))
    with np.errstate(invalid="ignore"):
        off = np.abs(total - 100.0) > tol
    n = int(np.count_nonzero(off))
    if not n:
        return
    lo, hi = float(np.nanmin(total[off])), float(np.nanmax(total[off]))
    _complain(f"{' + '.join(names)}: {n} of {total.size} cells do not sum to 100 % within ±{tol:g} percentage "
              f"points (those sums span {lo:g} to {hi:g}). Check that every class is given in percent of the fine "
              "earth (no gravel or organic matter among them, no class missing), convert other class limits with "
              "convert_texture, pass normalise=True to rescale the fractions to 100 %, or widen sum_tolerance.",
              validation)


def _fraction_message(names, validation: Validation) -> None:
    _complain(f"{', '.join(names)}: every value is at most 1: {_FRACTION_HINT}.", validation, UnitsError)


def _code_message(values, name: str, top: int, meaning: str, validation: Validation, nodata) -> None:
    v = np.asarray(values, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        bad = ~np.isnan(v) & ((v < 1) | (v > top) | (v != np.floor(v)))
    codes, counts = np.unique(v[bad], return_counts=True)
    listed = ", ".join(f"{c:g} ({k} cells)" for c, k in zip(codes[:20], counts[:20], strict=True))
    more = f" and {codes.size - 20} more codes" if codes.size > 20 else ""
    hint = ""
    if nodata is not None and np.any(codes == nodata):
        hint = f" {nodata:g} is the raster's declared nodata: open it with erosion.open_raster or mask it."
    elif any(c in (0, 255, 65535, -9999, -1) for c in codes):
        hint = " If one of these is a nodata sentinel, declare it (da.rio.write_nodata) or set those cells to NaN."
    _complain(f"{name}: {int(bad.sum())} of {v.size} cells hold unknown codes: {listed}{more}. The nomograph's "
              f"{name} codes are {meaning}.{hint} With data_validation='warn' those cells give NaN.",
              validation, UnknownCodeError)


def _report_ranges(flags: int, arrays, names, variables, validation, nodata) -> None:
    for j, (a, name, var) in enumerate(zip(arrays, names, variables, strict=True)):
        if flags >> j & 1:
            check_range(a, var, validation, name, nodata[j])


def _cellwise(formula, check, n_scratch: int, inputs, params: dict, tol: float, report, *, history: str,
              references: str, validation: Validation, normalise: bool = False):
    """Run a K formula and its checks through :func:`apply_cellwise`; messages only when a check fires."""
    inputs = [(a, v, _mask_code_sentinel(x)) for a, v, x in inputs]
    nodata = [declared_nodata(x) for _, _, x in inputs]
    lazy = any(_is_dask(x) for _, _, x in inputs)
    names = [a for a, _, _ in inputs]
    mark = validation == "warn"

    def block(*arrays):
        arrays = [np.asarray(a) for a in arrays]
        n = int(np.prod(np.broadcast_shapes(*(a.shape for a in arrays))))
        out, flags = sk.evaluate(formula, check, n_scratch, arrays, params, (tol, mark), normalise=normalise,
                                 threads=1 if lazy else _threads(n))
        report(flags, arrays, nodata)
        if not lazy and not flags >> sk.VALID_BIT & 1:
            _all_nan(arrays, names)
        if out.ndim == 0:
            return out.astype(np.float64)
        return out

    return apply_cellwise(block, inputs, output="soil_erodibility", history=history, references=references,
                          validation=validation, check=False)


def _texture_report(names, variables, tol, validation):
    def report(flags, arrays, nodata):
        _report_ranges(flags, arrays, names, variables, validation, nodata)
        if flags >> sk.SUM_BIT & 1:
            if not flags >> sk.PERCENT_BIT & 1:
                _fraction_message(names[:3], validation)
            else:
                _sum_message(arrays[:3], names[:3], tol, validation)
    return report


# ----------------------------------------------------------------------------------------------
# K


def _correction(correction) -> tuple[float, float] | None:
    if correction is None:
        return None
    if isinstance(correction, str):
        if correction.lower() == "zhang2007":
            return ZHANG2007
        raise UnknownCodeError(f"unknown correction {correction!r}; use 'zhang2007', None, or a pair (a, b) "
                               "for K' = a + b K")
    try:
        a, b = (float(c) for c in correction)
    except (TypeError, ValueError):
        raise InputError(f"correction must be 'zhang2007', None or a pair of numbers (a, b), not {correction!r}") \
            from None
    return a, b


def k_epic(sand: ArrayLike, silt: ArrayLike, clay: ArrayLike, organic_carbon: ArrayLike, *,
           correction: str | tuple[float, float] | None = None, si_factor: float = US_TO_SI,
           sum_tolerance: float = 2.0, normalise: bool = False, minimum: float = 0.0,
           data_validation: Validation = "raise") -> ArrayLike:
    """Soil erodibility K by the EPIC equation (Sharpley & Williams 1990; Williams 1995), SI units.

    ``K = si_factor · f_csand · f_cl-si · f_orgc · f_hisand`` with SAN, SIL, CLA the sand
    (2–0.05 mm), silt (0.05–0.002 mm) and clay (< 0.002 mm) percent, C the organic carbon percent
    and SN1 = 1 − SAN/100::

        f_csand  = 0.2 + 0.3 exp[−0.0256 SAN (1 − SIL/100)]
        f_cl-si  = [SIL / (CLA + SIL)]^0.3          (0 where SIL = 0)
        f_orgc   = 1 − 0.25 C / [C + exp(3.72 − 2.95 C)]
        f_hisand = 1 − 0.7 SN1 / [SN1 + exp(−5.51 + 22.9 SN1)]

    The product is US customary K (0 to 0.5); ``si_factor`` = 0.1317 converts it to SI
    (Foster et al. 1981). ``correction="zhang2007"`` applies K' = −0.01383 + 0.51575 K for
    Chinese soils (Zhang Keli et al. 2007/2008; the two constants are recalled, to verify, and
    may be given as a pair ``(a, b)``); K below ``minimum`` is raised to it (the corrected K is
    negative for K < 0.0268). Fractions must sum to 100 % within ``sum_tolerance`` percentage
    points (``normalise=True`` rescales them to 100 %). Texture in other limits: see
    :func:`convert_texture` or :func:`k_factor`. NaN in any input gives NaN.
    """
    validation = _validation(data_validation)
    tol = _tolerance(sum_tolerance)
    corr = _correction(correction)
    si = _number(si_factor, "si_factor", positive=True)
    floor = _number(minimum, "minimum")
    names = ["sand", "silt", "clay", "organic_carbon"]
    inputs = list(zip(names, names, [sand, silt, clay, organic_carbon], strict=True))
    a, b = corr if corr is not None else (0.0, 1.0)
    params = dict(si_factor=si, corr_a=a, corr_b=b, correct=corr is not None, minimum=floor)

    history = (f"k_epic: EPIC K (Williams 1995) x {si:g} (US to SI)"
               + (f", corrected K' = {a:g} + {b:g} K (Zhang et al. 2007)" if corr else "")
               + f", K >= {floor:g}" + (", fractions rescaled to 100 %" if normalise else ""))
    refs = REF_EPIC + "; " + REF_CONVERSION + ("; " + REF_ZHANG if corr else "")
    return _cellwise(sk.epic_block, sk.check_epic, 2, inputs, params, tol,
                     _texture_report(names, names, tol, validation), history=history, references=refs,
                     validation=validation, normalise=bool(normalise))


def _class_means(limits: Sequence[float]) -> tuple[float, float, float]:
    """ln of the arithmetic mean diameter (mm) of the three classes (sand, silt, clay) of ``limits``."""
    top, mid, low = (float(x) for x in limits)
    return math.log((top + mid) / 2.0), math.log((mid + low) / 2.0), math.log(low / 2.0)


def k_gmd(sand: ArrayLike, silt: ArrayLike, clay: ArrayLike, *, texture: str = "usda", sum_tolerance: float = 2.0,
          normalise: bool = False, minimum: float = 0.0, data_validation: Validation = "raise") -> ArrayLike:
    """K from the geometric mean particle diameter, AH703 eq. 3-5 (Renard et al. 1997), SI units.

    ``K = 0.0034 + 0.0405 exp{−½ [(log10 Dg + 1.659) / 0.7101]²}`` with
    ``Dg = exp(0.01 Σ f_i ln m_i)`` (mm), f_i the percent of class i and m_i the arithmetic mean
    of its limits: 1.025, 0.026 and 0.001 mm for USDA sand, silt and clay (``texture="usda"``),
    1.01, 0.011 and 0.001 mm for ISSS (``texture="isss"``: Dg is defined for any classes). This
    is the equation AH703 gives for soils outside the nomograph's data (the fit to world data
    that methods.md §3.4 files under Torri); Torri et al. (1997)'s own equation, which adds clay
    and organic matter terms, is not implemented here. K lies in [0.0034, 0.0439].
    """
    validation = _validation(data_validation)
    tol = _tolerance(sum_tolerance)
    if texture not in ("usda", "isss", "international"):
        raise UnknownCodeError(f"k_gmd: texture must be 'usda' or 'isss' (three classes), not {texture!r}; "
                               "convert other systems with convert_texture first")
    ln_m = _class_means(TEXTURE_SYSTEMS[texture][0])
    floor = _number(minimum, "minimum")
    names = ["sand", "silt", "clay"]
    inputs = list(zip(names, names, [sand, silt, clay], strict=True))

    w = [0.01 * x / math.log(10.0) for x in ln_m]
    params = dict(w_sand=w[0], w_silt=w[1], w_clay=w[2], minimum=floor)

    return _cellwise(sk.gmd_block, sk.check_gmd, 1, inputs, params, tol,
                     _texture_report(names, names, tol, validation), normalise=bool(normalise),
                     history=f"k_gmd: AH703 eq. 3-5 from Dg of {texture} classes (class means "
                             f"{', '.join(f'{math.exp(x):.4g}' for x in ln_m)} mm)",
                     references=REF_GMD, validation=validation)


def k_nomograph(silt_vfs: ArrayLike, clay: ArrayLike, organic_matter: ArrayLike, structure: ArrayLike,
                permeability: ArrayLike, *, om_cap: float | None = 4.0, si_factor: float = US_TO_SI,
                minimum: float = 0.0, sum_tolerance: float = 2.0, data_validation: Validation = "raise") -> ArrayLike:
    """Soil erodibility K by the nomograph equation (Wischmeier et al. 1971; AH537; AH703 eq. 3-1), SI.

    ``K_US = [2.1e-4 M^1.14 (12 − OM) + 3.25 (s − 2) + 2.5 (p − 3)] / 100`` with
    ``M = (silt + very fine sand) × (100 − clay)``: ``silt_vfs`` the percent of 0.002–0.1 mm,
    ``clay`` the percent < 0.002 mm, OM the organic matter percent (capped at ``om_cap`` = 4 %,
    as AH703 says the equation holds up to 4 %; None for no cap), ``structure`` s (1 very fine
    granular, 2 fine granular, 3 medium or coarse granular, 4 blocky, platy or massive) and
    ``permeability`` p (1 rapid … 6 very slow) the codes of AH537. ``K = si_factor · K_US``
    (0.1317, Foster et al. 1981), at least ``minimum`` (sandy, well-structured soils give a
    negative K_US). AH537 reads K off the nomograph where silt + very fine sand exceeds 70 %;
    the equation is applied there as it stands. Unknown codes raise
    :class:`~erosion.errors.UnknownCodeError` listing them with counts; an integer code raster's
    declared nodata gives NaN.
    """
    validation = _validation(data_validation)
    tol = _tolerance(sum_tolerance)
    cap = _number(om_cap, "om_cap", allow_none=True, positive=True)
    cap = math.inf if cap is None else cap
    si = _number(si_factor, "si_factor", positive=True)
    floor = _number(minimum, "minimum")
    names = ["silt_vfs", "clay", "organic_matter", "structure", "permeability"]
    variables = ["silt_very_fine_sand", "clay", "organic_matter", "soil_structure_code", "soil_permeability_code"]
    inputs = list(zip(names, variables, [silt_vfs, clay, organic_matter, structure, permeability], strict=True))

    params = dict(om_cap=cap, si_factor=si, minimum=floor)

    def report(flags, arrays, nodata):
        _report_ranges(flags & 7, arrays[:3], names[:3], variables[:3], validation, nodata[:3])
        if flags >> sk.VALID_BIT & 1 and not flags >> sk.PERCENT_BIT & 1 and \
                (np.nanmax(arrays[0]) > 0 or np.nanmax(arrays[1]) > 0):
            _fraction_message(names[:2], validation)
        if flags >> sk.OVER_BIT & 1:
            total = np.asarray(arrays[0], dtype=np.float64) + np.asarray(arrays[1], dtype=np.float64)
            with np.errstate(invalid="ignore"):
                n = int(np.count_nonzero(total > 100.0 + tol))
            _complain(f"silt_vfs + clay: {n} of {total.size} cells exceed 100 % (by more than {tol:g} percentage "
                      "points): silt_vfs is silt plus very fine sand (0.002-0.1 mm), clay < 0.002 mm, both percent "
                      "of the fine earth.", validation)
        if flags >> sk.CODE_BIT & 1:
            _code_message(arrays[3], "structure", 4, _STRUCTURE, validation, nodata[3])
        if flags >> sk.CODE2_BIT & 1:
            _code_message(arrays[4], "permeability", 6, _PERMEABILITY, validation, nodata[4])

    history = (f"k_nomograph: Wischmeier et al. (1971) equation, OM capped at {cap:g} %, x {si:g} (US to SI), "
               f"K >= {floor:g}")
    return _cellwise(sk.nomograph_block, sk.check_nomograph, 1, inputs, params, tol, report, history=history,
                     references=REF_NOMOGRAPH + "; " + REF_CONVERSION, validation=validation)


# ----------------------------------------------------------------------------------------------
# organic matter and organic carbon


def organic_matter_from_carbon(organic_carbon: ArrayLike, *, factor: float = OM_PER_OC,
                               data_validation: Validation = "raise") -> ArrayLike:
    """Organic matter (%) = ``factor`` × organic carbon (%); 1.724, the van Bemmelen factor, by default.

    1.724 takes organic matter to be 58 % carbon; Pribyl (2010, Geoderma 156:75-83) argues that
    about 2 fits most soils better: it is a parameter.
    """
    f = _number(factor, "factor", positive=True)
    return apply_cellwise(lambda c: np.asarray(c * f, dtype=np.float64 if np.ndim(c) == 0 else np.float32),
                          [("organic_carbon", "organic_carbon", organic_carbon)], output="organic_matter",
                          history=f"organic_matter_from_carbon: OM = {f:g} x OC", references=REF_VAN_BEMMELEN,
                          validation=data_validation)


def organic_carbon_from_matter(organic_matter: ArrayLike, *, factor: float = OM_PER_OC,
                               data_validation: Validation = "raise") -> ArrayLike:
    """Organic carbon (%) = organic matter (%) / ``factor`` (1.724, van Bemmelen, by default)."""
    f = _number(factor, "factor", positive=True)
    return apply_cellwise(lambda m: np.asarray(m / f, dtype=np.float64 if np.ndim(m) == 0 else np.float32),
                          [("organic_matter", "organic_matter", organic_matter)], output="organic_carbon",
                          history=f"organic_carbon_from_matter: OC = OM / {f:g}", references=REF_VAN_BEMMELEN,
                          validation=data_validation)


# ----------------------------------------------------------------------------------------------
# texture conversion

TEXTURE_METHODS = {
    "logcubic": "monotone piecewise cubic (PCHIP, Fritsch & Carlson 1980) of the cumulative curve in ln d "
                "(Shang 2013)",
    "loglinear": "piecewise linear interpolation of the cumulative curve in ln d (Nemes et al. 1999)",
}


def _limits(system) -> tuple[tuple[float, ...], tuple[str, ...] | None]:
    if isinstance(system, str):
        try:
            return TEXTURE_SYSTEMS[system.lower()]
        except KeyError:
            raise UnknownCodeError(f"unknown particle-size system {system!r}; use one of {sorted(TEXTURE_SYSTEMS)} "
                                   "or a sequence of class limits in mm, coarsest first, e.g. (2, 0.02, 0.002)") \
                from None
    try:
        limits = tuple(float(x) for x in system)
    except (TypeError, ValueError):
        raise InputError(f"class limits must be a system name or numbers in mm, not {system!r}") from None
    if len(limits) < 2 or not all(x > 0 and np.isfinite(x) for x in limits) or \
            any(b >= a for a, b in itertools.pairwise(limits)):
        raise InputError(f"class limits must be at least two positive diameters in mm, strictly decreasing from "
                         f"the top of the fine earth (e.g. (2, 0.05, 0.002) for USDA), not {system!r}")
    return limits, None


def _cumulative(fractions: np.ndarray, source: tuple[float, ...], target: tuple[float, ...], method: str):
    """Percent finer than each target limit, from class fractions (n, cells) in the source limits.

    The known points are (ln L_k, P_k): P = 100 at the top limit and the sums of the finer classes
    below. Target limits at or above the source top get 100 % (the top of each system's fine
    earth is taken as the same boundary); below the lowest source limit the lowest segment is
    extended in ln d and clipped at 0.
    """
    n = fractions.shape[0]
    finer = np.cumsum(fractions[::-1], axis=0)[::-1]          # finer[k] = Σ_{j≥k} f_j
    x = np.log(np.asarray(source[::-1]))                        # ascending ln d
    y = np.concatenate([finer[1:][::-1], np.full((1, *fractions.shape[1:]), 100.0)], axis=0)  # P at x
    if method == "logcubic" and n >= 2:
        from scipy.interpolate import PchipInterpolator

        curve = PchipInterpolator(x, y, axis=0, extrapolate=False)
    else:
        curve = None
    out = []
    for t in target:
        lt = math.log(t)
        if lt >= x[-1] - 1e-12:
            out.append(np.full(fractions.shape[1:], 100.0))
        elif lt < x[0]:
            slope = (y[1] - y[0]) / (x[1] - x[0])
            out.append(np.clip(y[0] + slope * (lt - x[0]), 0.0, None))
        elif curve is not None:
            out.append(curve(lt))
        else:
            j = min(int(np.searchsorted(x, lt, side="right")) - 1, x.size - 2)
            w = (lt - x[j]) / (x[j + 1] - x[j])
            out.append(y[j] + w * (y[j + 1] - y[j]))
    return np.stack(out)


def _convert(*arrays, source, target, method, tol, normalise, validation, names):
    arrays = [np.asarray(a, dtype=np.float64) for a in arrays]
    shape = np.broadcast_shapes(*(a.shape for a in arrays))
    f = np.stack([np.broadcast_to(a, shape) for a in arrays])
    for a, name in zip(arrays, names, strict=True):
        check_range(a, "particle_size_fraction", validation, name)
    finite = np.isfinite(f).all(axis=0)
    if finite.any():
        if np.nanmax(f[:, finite]) <= 1.0:
            _fraction_message(names, validation)
        _sum_message(list(f[:, finite]), names, tol, validation)
    if normalise:
        total = f.sum(axis=0)
        with np.errstate(invalid="ignore", divide="ignore"):
            ok = np.abs(total - 100.0) <= tol
            f = np.where(ok & (total > 0), f * (100.0 / total), f)
    p = _cumulative(f, source, target, method)
    p = np.minimum.accumulate(p, axis=0)                     # non-increasing toward finer limits
    classes = np.concatenate([p[:-1] - p[1:], p[-1:]], axis=0)
    return tuple(np.asarray(c, dtype=np.float64 if c.ndim == 0 else np.float32) for c in classes)


def convert_texture(fractions: Sequence[ArrayLike], from_limits: str | Sequence[float], to_limits: str |
                    Sequence[float] = "usda", *, method: str = "logcubic", sum_tolerance: float = 2.0,
                    normalise: bool = False, data_validation: Validation = "raise") -> tuple[ArrayLike, ...]:
    """Texture fractions in one system of particle-size limits converted to another (USDA by default).

    ``fractions`` are the mass percent of each class, coarsest first, in the classes of
    ``from_limits``: a system name (``"isss"``/``"international"`` 2–0.02–0.002 mm, ``"usda"``
    2–0.05–0.002 mm, ``"usda_vfs"`` 2–0.1–0.05–0.002 mm, ``"china"`` 1–0.05–0.01–0.005–0.002–0.001
    mm, the last recalled, to verify) or the limits in mm from the top of the fine earth down (n
    limits, n classes, the last one finer than the last limit). The cumulative curve P(d), percent
    finer than d, is known at each limit (100 % at the top) and interpolated in ln d at the target
    limits: ``method="logcubic"`` (default) is the monotone piecewise cubic Hermite interpolant
    (Fritsch & Carlson 1980), which Shang (2013) found better than log-linear and log-spline
    interpolation on 394 UNSODA soils; ``"loglinear"`` is the common straight line in ln d, the
    least accurate of the four procedures Nemes et al. (1999) compared. The top limits of both
    systems are taken as the same boundary (all of the fine earth), and below the lowest source
    limit the lowest segment is extended in ln d (clipped at 0). Returns one array per target
    class, coarsest first (for USDA: sand, silt, clay), of the input's kind.
    """
    validation = _validation(data_validation)
    tol = _tolerance(sum_tolerance)
    if method not in TEXTURE_METHODS:
        raise UnknownCodeError(f"unknown texture interpolation {method!r}; use one of {sorted(TEXTURE_METHODS)}")
    source, _ = _limits(from_limits)
    target, target_names = _limits(to_limits)
    fractions = list(fractions)
    if len(fractions) != len(source):
        raise InputError(f"convert_texture: {len(fractions)} fractions given for {len(source)} classes of "
                         f"{from_limits!r} (limits {source} mm): give one fraction per class, coarsest first")
    names = [f"fractions[{i}]" for i in range(len(fractions))]
    kw = dict(source=source, target=target, method=method, tol=tol, normalise=bool(normalise),
              validation=validation, names=names)
    prepared = [prepare(x, "particle_size_fraction", validation=validation, arg=a)
                for a, x in zip(names, fractions, strict=True)]
    das = [x for x in prepared if isinstance(x, xr.DataArray)]
    if not das:
        out = _convert(*prepared, **kw)
        if all(np.ndim(x) == 0 for x in prepared):
            return tuple(float(c) for c in out)
        return out
    prepared = same_grid(*prepared, names=names)
    das = [x for x in prepared if isinstance(x, xr.DataArray)]
    m = len(target)
    res = xr.apply_ufunc(functools.partial(_convert, **kw), *prepared, dask="parallelized",
                         output_core_dims=[[]] * m, output_dtypes=[np.float32] * m, keep_attrs=False)
    labels = target_names or tuple(f"{a:g}-{b:g}mm" for a, b in itertools.pairwise((*target, 0.0)))
    history = (f"convert_texture: {from_limits!r} {source} mm to {to_limits!r} {target} mm, "
               f"{TEXTURE_METHODS[method]}")
    outs = []
    for r, label in zip(res, labels, strict=True):
        o = finalize(r.astype(np.float32), "particle_size_fraction", das[0], history, REF_TEXTURE, inputs=das)
        o.attrs["long_name"] = f"{label} content ({o.attrs['long_name']})"
        outs.append(o.rename(label.replace("-", "_").replace(".", "p")))
    return tuple(outs)


# ----------------------------------------------------------------------------------------------
# one entry

#: K methods of :func:`~erosion.factors.k_factor` by name: a description of each.
K_METHODS = {"epic": "EPIC (Williams 1995)", "nomograph": "Wischmeier et al. (1971) nomograph equation",
             "gmd": "AH703 eq. 3-5 from the geometric mean diameter"}


def k_factor(sand: ArrayLike, silt: ArrayLike, clay: ArrayLike, organic_carbon: ArrayLike | None = None, *,
             method: str = "epic", texture: str | Sequence[float] = "usda", organic_matter: ArrayLike | None = None,
             structure: ArrayLike | None = None, permeability: ArrayLike | None = None,
             correction: str | tuple[float, float] | None = None, om_factor: float = OM_PER_OC,
             interpolation: str = "logcubic", sum_tolerance: float = 2.0, normalise: bool = False,
             data_validation: Validation = "raise") -> ArrayLike:
    """K (SI) from sand, silt and clay percent in the ``texture`` limits (``"usda"``, ``"isss"``, ...).

    Texture not in USDA limits is first converted by :func:`convert_texture` (``interpolation``).
    ``method="epic"`` (default): :func:`k_epic` from organic carbon (``organic_matter`` /
    ``om_factor`` when only that is given), with ``correction`` as there. ``"nomograph"``:
    :func:`k_nomograph`, silt + very fine sand (0.05–0.1 mm) read off the same particle-size
    curve, organic matter = ``om_factor`` × organic carbon unless given, and the ``structure``
    and ``permeability`` codes required. ``"gmd"``: :func:`k_gmd` (no organic matter term).
    """
    if method not in K_METHODS:
        raise UnknownCodeError(f"unknown K method {method!r}; use one of {sorted(K_METHODS)}")
    if correction is not None and method != "epic":
        raise InputError(f"correction {correction!r} is defined for EPIC K only (Zhang et al. 2007), not {method!r}")
    common = dict(sum_tolerance=sum_tolerance, data_validation=data_validation)
    source, _ = _limits(texture)
    if len(source) != 3:
        raise InputError(f"k_factor takes three classes (sand, silt, clay); {texture!r} has {len(source)}: "
                         "convert them with convert_texture(fractions, from_limits, 'usda') first")
    if method == "nomograph":
        if structure is None or permeability is None:
            raise InputError("k_factor(method='nomograph') needs the structure (1-4) and permeability (1-6) codes")
        _, vfs, silt_u, clay_u = convert_texture((sand, silt, clay), source, "usda_vfs", method=interpolation,
                                                 normalise=normalise, **common)
        om = organic_matter
        if om is None:
            if organic_carbon is None:
                raise InputError("k_factor(method='nomograph') needs organic_matter or organic_carbon")
            om = organic_matter_from_carbon(organic_carbon, factor=om_factor, data_validation=data_validation)
        silt_vfs = silt_u + vfs
        if isinstance(silt_vfs, xr.DataArray):
            silt_vfs.attrs = {"units": "percent"}
            if "spatial_ref" in vfs.coords:
                silt_vfs = silt_vfs.assign_coords(spatial_ref=vfs.coords["spatial_ref"])
        return k_nomograph(silt_vfs, clay_u, om, structure, permeability, **common)
    if tuple(source) != TEXTURE_SYSTEMS["usda"][0]:
        sand, silt, clay = convert_texture((sand, silt, clay), source, "usda", method=interpolation,
                                           normalise=normalise, **common)
    if method == "gmd":
        return k_gmd(sand, silt, clay, normalise=normalise, **common)
    if organic_carbon is None:
        if organic_matter is None:
            raise InputError("k_factor(method='epic') needs organic_carbon or organic_matter")
        organic_carbon = organic_carbon_from_matter(organic_matter, factor=om_factor, data_validation=data_validation)
    return k_epic(sand, silt, clay, organic_carbon, correction=correction, normalise=normalise, **common)
