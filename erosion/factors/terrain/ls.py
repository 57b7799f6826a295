"""Slope-steepness S, slope-length exponent m, L and the combined LS factor."""

from __future__ import annotations

import numpy as np
import xarray as xr

from ..._array import _validation, apply_cellwise, finalize
from ...errors import InputError, UnknownCodeError
from ...grid import same_grid
from ...model import RUSLE_REFERENCES
from ._common import deprecated_allow_compute, is_dask, one_chunk, wrap
from .routing import MAX_LENGTH, fill_depressions, flow_direction, slope_length
from .surface import slope as slope_angle

__all__ = ["LS_METHODS", "M_RULES", "RILL_RATIOS", "S_METHODS", "l_factor", "ls_factor", "m_exponent", "s_factor"]

REF_MCCOOL_S = ("McCool, D.K., Brown, L.C., Foster, G.R., Mutchler, C.K., Meyer, L.D. (1987) Revised slope "
                "steepness factor for the Universal Soil Loss Equation. Trans. ASAE 30(5):1387-1396")
REF_LIU = ("Liu, B.Y., Nearing, M.A., Risse, L.M. (1994) Slope gradient effects on soil loss for steep slopes. "
           "Trans. ASAE 37(6):1835-1840")
REF_MCCOOL_L = ("McCool, D.K., Foster, G.R., Mutchler, C.K., Meyer, L.D. (1989) Revised slope length factor "
                "for the Universal Soil Loss Equation. Trans. ASAE 32(5):1571-1576; " + RUSLE_REFERENCES)
REF_USLE = "Wischmeier, W.H., Smith, D.D. (1978) Predicting rainfall erosion losses. USDA Agriculture Handbook 537"

_NINE_PERCENT = float(np.degrees(np.arctan(0.09)))       # 5.1428°
_EIGHTEEN_PERCENT = float(np.degrees(np.arctan(0.18)))   # 10.204°


def _f32(x):
    """float32 arrays (the factor convention); 0-d results stay float64 for scalar callers."""
    return np.asarray(x, dtype=np.float64 if np.ndim(x) == 0 else np.float32)


def _s_csle(theta):
    s = np.sin(np.radians(theta))
    return np.where(theta < 5.0, 10.8 * s + 0.03, np.where(theta < 10.0, 16.8 * s - 0.5, 21.91 * s - 0.96))


def _s_mccool(theta):
    s = np.sin(np.radians(theta))
    return np.where(theta < _NINE_PERCENT, 10.8 * s + 0.03, 16.8 * s - 0.5)


def _s_lstool(theta):
    s = np.sin(np.radians(theta))
    return np.where(theta < _NINE_PERCENT, 10.8 * s + 0.03,
                    np.where(theta < _EIGHTEEN_PERCENT, 16.8 * s - 0.5, 21.91 * s - 0.96))


def _s_short(theta):
    return 3.0 * np.sin(np.radians(theta)) ** 0.8 + 0.56


def _s_usle(theta):
    s = np.sin(np.radians(theta))
    return 65.41 * s * s + 4.56 * s + 0.065


#: S equations by name: (function, description, reference).
S_METHODS = {
    "csle": (_s_csle, "θ<5°: 10.8 sinθ+0.03; 5°≤θ<10°: 16.8 sinθ−0.5; θ≥10°: 21.91 sinθ−0.96",
             REF_MCCOOL_S + "; " + REF_LIU),
    "mccool": (_s_mccool, "slope<9 %: 10.8 sinθ+0.03; ≥9 %: 16.8 sinθ−0.5", REF_MCCOOL_S),
    "lstool": (_s_lstool, "<9 %: 10.8 sinθ+0.03; 9–18 %: 16.8 sinθ−0.5; ≥18 %: 21.91 sinθ−0.96",
               REF_MCCOOL_S + "; " + REF_LIU + "; Zhang, H. et al. (2013) Comput. Geosci. 52:177-188"),
    "short": (_s_short, "3 sinθ^0.8 + 0.56 (slopes shorter than 15 ft / 4.57 m)", REF_MCCOOL_S),
    "usle": (_s_usle, "65.41 sin²θ + 4.56 sinθ + 0.065", REF_USLE),
}

#: Rill to interrill erosion ratio classes by name: the ``rill_ratio`` of the β rule for m.
RILL_RATIOS = {"low": 0.5, "moderate": 1.0, "high": 2.0}

# Van Remortel et al. (2004) AML, after AH703 Table 4-5 (moderate rill/interrill ratio), degrees.
_TABLE_BREAKS = np.array([0.1, 0.2, 0.4, 0.85, 1.4, 2.0, 2.6, 3.1, 3.7, 5.2, 6.3, 7.4, 8.6, 10.3, 12.9, 15.7,
                          20.0, 25.8, 31.5, 37.2])
_TABLE_M = np.array([0.01, 0.02, 0.04, 0.08, 0.14, 0.18, 0.22, 0.25, 0.28, 0.32, 0.35, 0.37, 0.40, 0.41, 0.44,
                     0.47, 0.49, 0.52, 0.54, 0.55, 0.56])


def _m_rusle(theta, ratio):
    s = np.sin(np.radians(theta))
    beta = ratio * (s / 0.0896) / (3.0 * s**0.8 + 0.56)
    return beta / (1.0 + beta)


def _m_usle(theta, ratio):
    p = 100.0 * np.tan(np.radians(theta))
    return np.where(p < 1.0, 0.2, np.where(p < 3.5, 0.3, np.where(p < 5.0, 0.4, 0.5)))


def _m_csle(theta, ratio):
    p = 100.0 * np.tan(np.radians(theta))
    return np.where(p < 1.0, 0.2, np.where(p < 3.0, 0.3, np.where(p < 9.0, 0.4, 0.5)))


def _m_table(theta, ratio):
    idx = np.searchsorted(_TABLE_BREAKS, np.nan_to_num(theta), side="right")
    return np.where(np.isnan(theta), np.nan, np.where(theta <= 0.1, 0.01, _TABLE_M[idx]))


#: m rules by name: (function, description).
M_RULES = {
    "rusle": (_m_rusle, "β/(1+β), β = r·(sinθ/0.0896)/(3 sinθ^0.8 + 0.56) (McCool et al. 1989)"),
    "usle": (_m_usle, "AH537: 0.2 (<1 %), 0.3 (1–3.5 %), 0.4 (3.5–5 %), 0.5 (≥5 %)"),
    "csle": (_m_csle, "0.2 (<1 %), 0.3 (1–3 %), 0.4 (3–9 %), 0.5 (≥9 %)"),
    "rusle_table": (_m_table, "AH703 Table 4-5 (moderate) in slope-angle steps, as in the Van Remortel AML"),
}


def _rill(rill_ratio) -> float:
    if isinstance(rill_ratio, str):
        try:
            return RILL_RATIOS[rill_ratio]
        except KeyError:
            raise UnknownCodeError(f"unknown rill_ratio {rill_ratio!r}; use one of {sorted(RILL_RATIOS)} "
                                   "or a positive number (multiplier of β)") from None
    if not (np.isscalar(rill_ratio) and float(rill_ratio) > 0):
        raise InputError(f"rill_ratio must be 'low', 'moderate', 'high' or a positive number, not {rill_ratio!r}")
    return float(rill_ratio)


def _m_rule(m):
    if isinstance(m, str):
        try:
            return M_RULES[m][0]
        except KeyError:
            raise UnknownCodeError(f"unknown m rule {m!r}; use one of {sorted(M_RULES)} or a number in [0, 1]") from None
    if not (np.isscalar(m) and 0.0 <= float(m) <= 1.0):
        raise InputError(f"m must be a rule name ({sorted(M_RULES)}) or a number in [0, 1], not {m!r}")
    return None


def s_factor(slope, *, method: str = "csle", data_validation: str = "raise"):
    """Slope-steepness factor S from the slope angle θ in degrees.

    ``"csle"`` (default, Chinese national practice): θ<5° → 10.8 sinθ+0.03; 5°≤θ<10° →
    16.8 sinθ−0.5 (McCool et al. 1987); θ≥10° → 21.91 sinθ−0.96 (Liu et al. 1994).
    ``"mccool"``: the two McCool pieces with the 9 % break; ``"lstool"``: 9 %/18 % breaks then
    Liu; ``"short"``: 3 sinθ^0.8+0.56 (λ < 4.57 m); ``"usle"``: 65.41 sin²θ+4.56 sinθ+0.065
    (Wischmeier & Smith 1978). S is discontinuous at the breaks by design.
    """
    try:
        func, text, ref = S_METHODS[method]
    except (KeyError, TypeError):
        raise UnknownCodeError(f"unknown S method {method!r}; use one of {sorted(S_METHODS)}") from None
    return apply_cellwise(lambda t: _f32(func(t)), [("slope", "slope", slope)], output="s_factor",
                          history=f"s_factor: method {method!r}: {text}", references=ref,
                          validation=data_validation)


def m_exponent(slope, *, m="rusle", rill_ratio="moderate", data_validation: str = "raise"):
    """Slope-length exponent m from the slope angle θ (degrees) by a named rule.

    ``"rusle"`` (default): m = β/(1+β), β = r·(sinθ/0.0896)/(3 sinθ^0.8+0.56), r = 0.5, 1, 2 for
    low, moderate, high rill/interrill ratio (McCool et al. 1989). ``"usle"`` (AH537, percent
    slope bins [1, 3.5, 5)): 0.2, 0.3, 0.4, 0.5. ``"csle"`` (percent bins [1, 3, 9)): 0.2, 0.3,
    0.4, 0.5. ``"rusle_table"``: AH703 Table 4-5 steps (moderate). A number gives a constant m.
    """
    func = _m_rule(m)
    ratio = _rill(rill_ratio)
    if func is None:
        return apply_cellwise(lambda t: np.full(np.shape(t), float(m), dtype=np.float32), [("slope", "slope", slope)],
                              output="m_exponent", history=f"m_exponent: constant m = {m}",
                              references=REF_MCCOOL_L, validation=data_validation)
    return apply_cellwise(lambda t: _f32(func(t, ratio)), [("slope", "slope", slope)], output="m_exponent",
                          history=f"m_exponent: rule {m!r}: {M_RULES[m][1]}, rill ratio {rill_ratio}",
                          references=REF_MCCOOL_L, validation=data_validation)


def l_factor(slope_length, slope=None, *, m="rusle", rill_ratio="moderate", data_validation: str = "raise"):
    """Slope-length factor L = (λ/22.13)^m (Wischmeier & Smith 1978; McCool et al. 1989).

    λ is the horizontal slope length in metres; m comes from the slope angle (degrees) by the
    rule ``m`` (see :func:`m_exponent`), or is the given number (then ``slope`` may be omitted).
    """
    func = _m_rule(m)
    ratio = _rill(rill_ratio)
    history = f"l_factor: (lambda/22.13)^m, m rule {m!r}, rill ratio {rill_ratio}"
    if func is None:
        mm = float(m)
        return apply_cellwise(lambda lam: _f32((lam / 22.13) ** mm), [("slope_length", "slope_length", slope_length)],
                              output="l_factor", history=history, references=REF_MCCOOL_L,
                              validation=data_validation)
    if slope is None:
        raise InputError(f"l_factor: m rule {m!r} needs the slope angle (degrees); pass slope=...")
    return apply_cellwise(lambda lam, t: _f32((lam / 22.13) ** func(t, ratio)),
                          [("slope_length", "slope_length", slope_length), ("slope", "slope", slope)],
                          output="l_factor", history=history, references=REF_MCCOOL_L, validation=data_validation)


#: LS methods of :func:`~erosion.factors.ls_factor` by name: a description of each.
LS_METHODS = {
    "flowpath": "D8 flow-path slope length with the Hickey / Van Remortel cutoffs, L = (λ/22.13)^m",
    "rusle": "the flow-path λ with AH703's S: McCool's S, and 3 sinθ^0.8 + 0.56 where λ < 4.57 m (15 ft)",
    "desmet-govers": "grid L from the inlet contributing area (Desmet & Govers 1996), any routing",
}
_SHORT_SLOPE = 4.572  # m: AH703's short-slope S applies to slopes shorter than 15 ft


def ls_factor(dem, *, method: str = "flowpath", routing: str = "d8", s_method: str | None = None, m="rusle",
              rill_ratio="moderate", max_length: float | None = MAX_LENGTH, cutoff_gentle: float = 0.7,
              cutoff_steep: float = 0.5, channel_area: float | None = None, barriers=None, exponent: float = 1.1,
              mfd_weights: str = "freeman", x="aspect", filled: bool = False, flats: str = "barnes", cellsize=None,
              return_components: bool = False, allow_compute: bool | None = None, data_validation: str = "raise"):
    """Topographic factor LS = L·S from a DEM, by one of :data:`LS_METHODS`.

    All methods fill the DEM (:func:`fill_depressions` with the ``flats`` rule, Barnes et al.'s
    2014b by default; skipped with ``filled=True``) and take the Horn slope of the filled DEM
    for S (``s_method``, :data:`S_METHODS`) and for m (``m``,
    ``rill_ratio``, :func:`m_exponent`).

    - ``"flowpath"`` (default): D8 directions, slope length λ with the Hickey / Van Remortel
      cutoffs, ``max_length`` cap, ``channel_area`` (m²) and ``barriers`` (:func:`slope_length`),
      L = (λ/22.13)^m (:func:`l_factor`); S ``"csle"`` by default.
    - ``"rusle"``: the same λ; S by McCool et al. (1987) (``s_method="mccool"`` by default) with
      AH703's short-slope S = 3 sinθ^0.8 + 0.56 on cells whose λ is below 4.57 m (15 ft), which
      only fine DEMs have.
    - ``"desmet-govers"``: ``routing`` ``"d8"``, ``"dinf"`` or ``"mfd"`` (``exponent``,
      ``mfd_weights``) gives the contributing area A (:func:`flow_accumulation`), and
      :func:`l_factor_desmet_govers` the grid L with the flow-width term ``x``. ``max_length``
      caps the inlet area at ``max_length``·D (D the cell side), the analogue of the λ cap;
      channel cells (A ≥ ``channel_area``) restart with no inlet area. ``barriers`` need flow
      paths and are refused.

    Chunked (dask) input runs lazily, tile by tile where every step has a tiled form (the default
    fill, D8 routing, slope length: ADRs 0017, 0018; equal to the in-memory result for every
    chunking); the ε fill and D∞/MFD routing take dask input held in one chunk.

    Returns ``ls_factor`` (float32), or with ``return_components`` a Dataset (DataArray input) /
    dict (NumPy input) holding slope, s_factor, l_factor and ls_factor, and slope_length
    (flow-path methods) or flow_accumulation and aspect (Desmet & Govers).
    """
    validation = _validation(data_validation)
    if method not in LS_METHODS:
        raise UnknownCodeError(f"unknown LS method {method!r}; use one of {sorted(LS_METHODS)}")
    s_method = s_method or ("mccool" if method == "rusle" else "csle")
    if s_method not in S_METHODS:
        raise UnknownCodeError(f"unknown S method {s_method!r}; use one of {sorted(S_METHODS)}")
    if method != "desmet-govers" and routing != "d8":
        raise InputError(f"the {method!r} method follows D8 flow paths; routing={routing!r} needs "
                         "method='desmet-govers'")
    if method == "desmet-govers" and barriers is not None:
        raise InputError("barriers stop flow paths: use them with method='flowpath' or 'rusle'")
    _m_rule(m)
    _rill(rill_ratio)
    from ..._kernels.conditioning import FLATS

    if flats not in FLATS:
        raise UnknownCodeError(f"unknown flats rule {flats!r}; use one of {list(FLATS)}")
    if deprecated_allow_compute(allow_compute, "ls_factor"):
        dem = one_chunk(dem)
    if method != "desmet-govers" and not is_dask(dem):
        return _flowpath_in_memory(dem, method, s_method, m, rill_ratio, max_length, cutoff_gentle, cutoff_steep,
                                   channel_area, barriers, filled, flats, cellsize, return_components, validation)
    if method != "desmet-govers" and not return_components:
        ls, template = _flowpath_tiled(dem, method, s_method, m, rill_ratio, max_length, cutoff_gentle, cutoff_steep,
                                       channel_area, barriers, filled, flats, cellsize, validation)
        return wrap(ls, template, "ls_factor", _history(method, routing, s_method, m, rill_ratio, max_length,
                                                        channel_area, barriers),
                    _flowpath_references(s_method, filled, flats))
    z = dem if filled else fill_depressions(dem, flats=flats, data_validation=validation)
    theta = slope_angle(z, cellsize=cellsize, data_validation=validation)
    if method == "desmet-govers":
        big_l, parts = _desmet_govers_l(z, theta, routing, exponent, mfd_weights, x, m, rill_ratio, max_length,
                                        channel_area, cellsize, validation)
    else:
        fdir = flow_direction(z, cellsize=cellsize, data_validation=validation)
        lam = slope_length(z, fdir=fdir, max_length=max_length, cutoff_gentle=cutoff_gentle,
                           cutoff_steep=cutoff_steep, channel_area=channel_area, barriers=barriers,
                           cellsize=cellsize, data_validation=validation)
        big_l = l_factor(lam, theta, m=m, rill_ratio=rill_ratio, data_validation=validation)
        parts = {"slope_length": lam}
    big_s = s_factor(theta, method=s_method, data_validation=validation)
    if method == "rusle":
        short = s_factor(theta, method="short", data_validation=validation)
        big_s = (short.where(parts["slope_length"] < _SHORT_SLOPE, big_s) if isinstance(big_s, xr.DataArray)
                 else np.where(np.asarray(parts["slope_length"]) < _SHORT_SLOPE, short, big_s).astype(np.float32))
    ls = big_l * big_s
    if isinstance(ls, xr.DataArray):
        refs = S_METHODS[s_method][2] + "; " + REF_MCCOOL_L
        ls = finalize(ls.astype(np.float32), "ls_factor", big_l,
                      f"ls_factor: method {method!r} ({LS_METHODS[method]}), routing {routing!r}, S method "
                      f"{s_method!r}, m rule {m!r}, rill ratio {rill_ratio}, max length {max_length}, channel area "
                      f"{channel_area}, barriers {'given' if barriers is not None else 'none'}", refs)
        if isinstance(big_s, xr.DataArray) and method == "rusle":
            big_s = finalize(big_s.astype(np.float32), "s_factor", big_l,
                             f"s_factor: {s_method!r}, AH703 short-slope S where slope length < {_SHORT_SLOPE} m",
                             S_METHODS[s_method][2])
    else:
        ls = np.asarray(ls, dtype=np.float32)
    if not return_components:
        return ls
    parts = {"slope": theta, **parts, "l_factor": big_l, "s_factor": big_s, "ls_factor": ls}
    if isinstance(ls, xr.DataArray):
        return xr.Dataset(parts)
    return parts


def _flowpath_references(s_method, filled, flats) -> str:
    """The methods a D8 flow-path LS uses: S, L, Horn slope, the fill (unless given filled), D8, slope length."""
    from ..._kernels.conditioning import REF_FLATS
    from ._common import REF_BARNES, REF_D8, REF_HICKEY, REF_HORN

    fill = [] if filled else [REF_BARNES] + ([REF_FLATS] if flats == "barnes" else [])
    return "; ".join([S_METHODS[s_method][2], REF_MCCOOL_L, REF_HORN, *fill, REF_D8, REF_HICKEY])


def _desmet_govers_l(z, theta, routing, exponent, mfd_weights, x, m, rill_ratio, max_length, channel_area,
                     cellsize, validation):
    """L by Desmet & Govers from the filled DEM, with the λ cap and channels as inlet-area rules."""
    from ...grid import cell_area
    from .desmet_govers import aspect, l_factor_desmet_govers
    from .routing import flow_accumulation

    fdir = flow_direction(z, routing=routing, exponent=exponent, mfd_weights=mfd_weights, cellsize=cellsize,
                          data_validation=validation)
    area = flow_accumulation(fdir, cellsize=cellsize)
    asp = aspect(z, cellsize=cellsize, data_validation=validation)
    if isinstance(area, xr.DataArray) and cellsize is None:
        own = cell_area(area)
    else:
        dx, dy = (cellsize, cellsize) if np.ndim(cellsize) == 0 else tuple(cellsize)
        own = float(dx) * float(dy)
    effective = area
    if max_length is not None:
        effective = np.minimum(effective, own + float(max_length) * np.sqrt(own))
    if channel_area is not None:
        channel = area >= float(channel_area)
        effective = effective.where(~channel, own) if isinstance(effective, xr.DataArray) else np.where(channel, own, effective)
    if isinstance(effective, xr.DataArray):
        effective = effective.assign_attrs(units="m2")
    big_l = l_factor_desmet_govers(effective, theta, asp if x == "aspect" else None, m=m, rill_ratio=rill_ratio,
                                   x=x, cellsize=cellsize, data_validation=validation)
    return big_l, {"flow_accumulation": area, "aspect": asp}


def _history(method, routing, s_method, m, rill_ratio, max_length, channel_area, barriers) -> str:
    return (f"ls_factor: method {method!r} ({LS_METHODS[method]}), routing {routing!r}, S method {s_method!r}, "
            f"m rule {m!r}, rill ratio {rill_ratio}, max length {max_length}, channel area {channel_area}, "
            f"barriers {'given' if barriers is not None else 'none'}")


def _ls_block(theta, lam, method, s_method, m, rill_ratio):
    """(L, S, LS) float32 of a block of slope angles (float32 degrees, as the step functions see
    them: the same numbers on every path) and slope lengths (m)."""
    m_of = _m_rule(m)
    mm = m_of(theta, _rill(rill_ratio)) if m_of is not None else float(m)
    with np.errstate(invalid="ignore"):
        big_l = _f32((lam / 22.13) ** mm)
        big_s = _f32(S_METHODS[s_method][0](theta))
        if method == "rusle":
            big_s = np.where(lam < _SHORT_SLOPE, _f32(_s_short(theta)), big_s)
    return big_l, big_s, big_l * big_s


def _ls_tile(lam, zp, dxp, dyp, method, s_method, m, rill_ratio):
    """LS of one tile of the tiled slope length (its last pass): Horn slope from the halo-padded
    filled elevations, then :func:`_ls_block`."""
    from ..._kernels import terrain as k

    theta = k.horn_slope(zp, dxp, dyp)[1:-1, 1:-1]
    return _ls_block(theta, lam, method, s_method, m, rill_ratio)[2]


def _flowpath_tiled(dem, method, s_method, m, rill_ratio, max_length, cutoff_gentle, cutoff_steep, channel_area,
                    barriers, filled, flats, cellsize, validation):
    """The flow-path LS of dask input: the tiled fill, D8 by stencil, and the tiled slope length
    whose last pass forms L·S per tile (ADRs 0017, 0018), so that no pass holds more than a tile."""
    from functools import partial

    from .routing import _slope_length

    z = dem if filled else fill_depressions(dem, flats=flats, data_validation=validation)
    fdir = flow_direction(z, cellsize=cellsize, data_validation=validation)
    finish = partial(_ls_tile, method=method, s_method=s_method, m=m, rill_ratio=rill_ratio)
    out, template = _slope_length(z, fdir, None, max_length, cutoff_gentle, cutoff_steep, 2.8624, 0.1, channel_area,
                                  barriers, cellsize, False, validation, finish=finish)
    return out.astype(np.float32), template


def _flowpath_in_memory(dem, method, s_method, m, rill_ratio, max_length, cutoff_gentle, cutoff_steep,
                        channel_area, barriers, filled, flats, cellsize, return_components, validation):
    """The flow-path LS of an in-memory DEM: checked once at the door, then kernels on plain
    arrays. Besides the DEM, memory stays near 20 bytes per cell (benchmarks/bench_terrain.py):
    the filled DEM (8), D8 codes (1) and the slope-length kernel's λ (8) and counts (2); the
    kernel derives its angles from the filled DEM, and the Horn slope is formed per row block
    with L·S (the same numbers as the whole-grid slope), so no slope grid is kept unless the
    components are asked for. Intermediates are dropped as soon as they are used."""
    from ..._kernels import conditioning as kc
    from ..._kernels import terrain as k
    from ..._log import step
    from ...grid import north_up, row_areas
    from ._common import REF_HICKEY, dem_input, grid2d
    from .routing import _check_slope_length_args, _stop_cells

    cap = _check_slope_length_args(cutoff_gentle, cutoff_steep, max_length, channel_area)
    if barriers is not None and isinstance(dem, xr.DataArray):
        dem, barriers = same_grid(dem, barriers, names=["dem", "barriers"])
    data, dx, dy, template = dem_input(dem, cellsize, validation)  # units, range, NaN: once
    shape = data.shape
    dx2, dy2 = grid2d(dx, shape), grid2d(dy, shape)
    cells = int(np.prod(shape))
    z = np.ascontiguousarray(data, dtype=np.float64)
    del data  # a converted copy (float32 input) is held by z alone, and freed by the fill
    if not filled:
        with step(f"ls_factor: fill (flats {flats!r})", cells):
            z = k.priority_flood_epsilon(z) if flats == "epsilon" else kc.priority_flood_barnes(z)
    with step("ls_factor: D8 directions", cells):
        fd = k.d8_direction(z, dx2, dy2)
    stop = np.zeros(shape, dtype=np.bool_) if barriers is None else _stop_cells(barriers, template, shape).copy()
    if channel_area is not None:
        per_row = north_up(row_areas(template), template) if template is not None else np.asarray(dx) * np.asarray(dy)
        with step("ls_factor: contributing area for channels", cells):
            stop |= k.flow_accumulation(fd, grid2d(per_row, shape))[0] >= float(channel_area)
    with step("ls_factor: slope length", cells):
        lam, complete = k.slope_length(z, fd, dx2, dy2, np.zeros((1, 1)), False, cap, float(cutoff_gentle),
                                       float(cutoff_steep), 2.8624, 0.1, stop)
    if not complete:
        raise InputError("flow directions contain a loop; this should not happen after filling: please report it")
    del fd, stop
    ls = np.empty(shape, dtype=np.float32)
    keep = ({"slope": np.empty(shape, np.float32), "l_factor": np.empty(shape, np.float32),
             "s_factor": np.empty(shape, np.float32)} if return_components else {})
    rows = max(1, (1 << 17) // max(1, shape[1]))  # about 130 000 cells per block: small temporaries
    with step("ls_factor: slope, L and S", cells):
        for r0 in range(0, shape[0], rows):
            block = slice(r0, r0 + rows)
            theta = k.horn_slope_rows(z, dx2, dy2, r0, min(r0 + rows, shape[0]))
            big_l, big_s, ls[block] = _ls_block(theta, lam[block], method, s_method, m, rill_ratio)
            if keep:
                keep["slope"][block] = theta
                keep["l_factor"][block] = big_l
                keep["s_factor"][block] = big_s
    del z
    refs = _flowpath_references(s_method, filled, flats)
    history = _history(method, "d8", s_method, m, rill_ratio, max_length, channel_area, barriers)
    out = wrap(ls, template, "ls_factor", history, refs)
    if not return_components:
        return out
    parts = {"slope": wrap(keep["slope"], template, "slope", "slope: Horn (1981), one-sided at edges", "Horn (1981)"),
             "slope_length": wrap(lam, template, "slope_length", "slope_length: D8 flow path with cutoffs",
                                  REF_HICKEY),
             "l_factor": wrap(keep["l_factor"], template, "l_factor", f"l_factor: (lambda/22.13)^m, m rule {m!r}",
                              REF_MCCOOL_L),
             "s_factor": wrap(keep["s_factor"], template, "s_factor", f"s_factor: method {s_method!r}"
                              + (", AH703 short-slope S below 4.57 m" if method == "rusle" else ""),
                              S_METHODS[s_method][2]),
             "ls_factor": out}
    return xr.Dataset(parts) if template is not None else parts
