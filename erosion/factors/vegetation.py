"""B (CSLE biological-measure factor) and C (RUSLE cover-management factor) from vegetation.

- :func:`ndvi` and :func:`fvc_from_ndvi`: NDVI from red and near-infrared bands, fractional
  vegetation cover by the dimidiate pixel model (end-members given, or scene percentiles).
- :func:`soil_loss_ratio`: the CSLE half-month soil-loss ratio of forest (canopy closure and
  understory cover), shrub and grass; every constant a parameter (recalled, to verify).
- :func:`b_factor`: B = Σ_i SLR_i · WR_i over the 24 half-months, WR_i the erosivity share
  (:func:`erosion.factors.rainfall.erosivity_share`).
- :func:`c_from_cover` (Cai et al. 2000), :func:`c_from_ndvi` (van der Knijff et al. 1999),
  :func:`c_from_landuse` (a code table per land-use classification, ``erosion/data/*.csv``).

Every function accepts Python scalars, NumPy arrays and (dask-backed) DataArrays and returns
the same kind; half-monthly inputs carry a ``halfmonth`` dimension (coordinate 1..24), or, for
NumPy, the 24 half-months along the first axis. Equations, defaults and their status:
docs/methods/vegetation.md and docs/decisions/0021-vegetation-and-practice-factors.md.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from .. import units as _units
from .. import vocabulary
from .._array import ArrayLike, Validation, _complain, _validation, check_range, declared_nodata, finalize, squeeze_bands
from .._kernels import vegetation as _kv
from .._kernels.lookup import weighted_sum
from ..errors import InputError, UnitsError, UnknownCodeError, ValueRangeError
from ..grid import same_grid
from . import tables

__all__ = [
    "CAI_CONSTANTS",
    "IGBP_SLR_CLASSES",
    "SLR_CONSTANTS",
    "b_factor",
    "c_from_cover",
    "c_from_landuse",
    "c_from_ndvi",
    "fvc_from_ndvi",
    "ndvi",
    "ndvi_endmembers",
    "soil_loss_ratio",
    "soil_loss_ratio_by_class",
]

REF_NDVI = "Rouse J.W. et al. (1974) Monitoring vegetation systems in the Great Plains with ERTS. NASA SP-351, 309-317"
REF_FVC = ("Gutman G., Ignatov A. (1998) The derivation of the green vegetation fraction from NOAA/AVHRR data for "
           "use in numerical weather prediction models. Int. J. Remote Sens. 19(8):1533-1543; as used for CSLE B: "
           "Chang M. et al. (2021) ChinaXiv 202108.00091")
REF_SLR = ("Liu B.Y., Zhang K.L., Xie Y. (2002) An empirical soil loss equation. Proc. 12th ISCO, Beijing, 2:21-25; "
           "SLR equations of the first national water census (MWR 2013), constants recalled, to verify; public "
           "copy of the shrub and grass forms: GEE 'Global Cnon-crop' script (global_cnon_crop_gee_2001_2024.js)")
REF_B = ("Liu B.Y., Zhang K.L., Xie Y. (2002) An empirical soil loss equation. Proc. 12th ISCO, Beijing, 2:21-25; "
         "half-month SLR weighted by the erosivity share: Chang M. et al. (2021) "
         "ChinaXiv 202108.00091 sec. 1.3.1; Zhang W.B., Xie Y., Liu B.Y. (2002) 地理科学 22(6):705-711")
REF_CAI = ("Cai C.F., Ding S.W., Shi Z.H., Huang L., Zhang G.Y. (2000) 应用USLE模型与地理信息系统IDRISI预测小流域"
           "土壤侵蚀量的研究. 水土保持学报 14(2):19-24")
REF_KNIJFF = ("van der Knijff J.M., Jones R.J.A., Montanarella L. (1999) Soil erosion risk assessment in Italy. "
              "EUR 19022 EN; (2000) Soil erosion risk assessment in Europe. EUR 19044 EN. JRC, Ispra")

#: SLR equation constants by land cover (CSLE, first national water census), recalled, to verify:
#: forest  SLR = a·exp(−b·GD) − c·exp(FVC − FVC·GD) + d   (GD canopy closure, FVC understory cover)
#: shrub   SLR = 1 / (a + b·c^(100·FVC))
#: grass   SLR = 1 / (a + b·c^(100·FVC))
SLR_CONSTANTS: dict[str, dict[str, float]] = {
    "forest": {"a": 0.44468, "b": 3.20096, "c": 0.04099, "d": 0.025},
    "shrub": {"a": 1.17647, "b": 0.86242, "c": 1.05905},
    "grass": {"a": 1.25, "b": 0.78845, "c": 1.05968},
}
#: Cai et al. (2000): C = a − b·log10(c) for 0 < c ≤ full_cover (percent), 1 at c = 0, 0 above.
CAI_CONSTANTS: dict[str, float] = {"a": 0.6508, "b": 0.3436, "full_cover": 78.3}

_FRACTION_UNITS = {"1"}
_PERCENT = "percent"


# ------------------------------------------------------------------------------------ plumbing

def _units_of(x: xr.DataArray) -> str | None:
    u = x.attrs.get("units")
    return None if u is None else _units.normalise(str(u))


def _note(x: xr.DataArray, text: str) -> xr.DataArray:
    x.attrs["history"] = (str(x.attrs.get("history", "")) + "\nerosion: " + text).strip()
    return x


def _as_fraction(x, arg: str):
    """A DataArray in percent → fraction (noted in its history); others unchanged."""
    if not isinstance(x, xr.DataArray):
        return x
    u = _units_of(x)
    if u is None or u in _FRACTION_UNITS:
        return x
    if u == _PERCENT:
        out = x / 100.0
        out.attrs = dict(x.attrs, units="1")
        return _note(out, f"converted {arg} from percent to a 0-1 fraction")
    raise UnitsError(f"{arg} has units {x.attrs['units']!r}; expected a 0-1 fraction ('1') or 'percent'")


def _as_percent(x, arg: str, units: str | None):
    """Cover in percent: a DataArray with units '1' is multiplied by 100; ``units`` overrides."""
    if units is not None and units not in ("percent", "1"):
        raise UnknownCodeError(f"units must be 'percent', '1' (a 0-1 fraction) or None (read the DataArray's units "
                               f"attribute, or detect from the range), not {units!r}")
    given = units
    if isinstance(x, xr.DataArray) and given is not None and x.attrs.get("units") is not None:
        u = _units_of(x)
        if u != (_PERCENT if given == "percent" else "1"):
            raise UnitsError(f"{arg} has units {x.attrs['units']!r} but units={given!r} was passed; drop one of them")
        x = x.copy()
        x.attrs = {k: val for k, val in x.attrs.items() if k != "units"}
    if isinstance(x, xr.DataArray) and given is None:
        u = _units_of(x)
        if u is not None:
            if u not in (_PERCENT, "1"):
                raise UnitsError(f"{arg} has units {x.attrs['units']!r}; expected 'percent' or '1' (a 0-1 fraction)")
            given = "percent" if u == _PERCENT else "1"
    if given == "1":
        out = x * 100.0 if isinstance(x, xr.DataArray) else np.asarray(x, dtype=np.float64) * 100.0
        if isinstance(x, xr.DataArray):
            out.attrs = dict(x.attrs, units="percent")
            _note(out, f"converted {arg} from a 0-1 fraction to percent")
        return out, True
    return x, given == "percent"


def _check_fraction(v: np.ndarray, arg: str, variable: str, validation: Validation, nodata=None) -> None:
    """The vocabulary range of a 0-1 variable, saying so when the values look like percent."""
    a = np.asarray(v)
    if a.size and a.dtype.kind == "f":
        with np.errstate(invalid="ignore"):
            high = a > 1.0
        if high.any():
            top = float(np.nanmax(a))
            if top <= 100.0 and not (a < 0).any():
                _complain(f"{arg}: {int(high.sum())} of {a.size} cells exceed 1 (up to {top:g}): this looks like "
                          f"percent where a 0-1 fraction is expected. Divide by 100, or set the DataArray's units "
                          f"attribute to 'percent' so that it is converted.", validation)
                return
    check_range(a, variable, validation, arg, nodata)


def _same_grid(arrays: list[xr.DataArray], names: list[str]) -> list[xr.DataArray]:
    """:func:`erosion.grid.same_grid` for rasters that may lead with a ``halfmonth`` dimension."""
    flat = [a.isel(halfmonth=0, drop=True) if "halfmonth" in a.dims else a for a in arrays]
    aligned = same_grid(*flat, names=names)
    out = []
    for a, f, g in zip(arrays, flat, aligned, strict=True):
        if f.dims != g.dims:
            a = a.rename(dict(zip(f.dims, g.dims, strict=True)))
        out.append(a.assign_coords({d: g.coords[d] for d in g.dims if d in g.coords}))
    return out


def _kind(x) -> str:
    if isinstance(x, xr.DataArray):
        return "da"
    if not isinstance(x, (int, float, np.number, np.ndarray, list, tuple)):
        raise InputError(f"expected a number, a NumPy array or an xarray.DataArray, not {type(x).__name__}")
    return "scalar" if np.ndim(x) == 0 else "np"


def _prep_da(x: xr.DataArray, arg: str) -> xr.DataArray:
    """Squeeze single band dimensions (not ``halfmonth``)."""
    if "halfmonth" in x.dims:
        extra = [d for d in x.dims if d not in ("halfmonth", *x.dims[-2:]) and x.sizes[d] == 1]
        return x.squeeze(extra, drop=True) if extra else x
    return squeeze_bands(x, arg)


def _flat(a: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """``a`` as a contiguous 1-D array of ``shape``'s size (no copy when it already is one)."""
    if a.dtype.kind not in "f":
        a = a.astype(np.float64)
    if a.shape != shape:
        a = np.broadcast_to(a, shape)
    return np.ascontiguousarray(a).reshape(-1)


def _cellwise(kernel: Callable[[list[np.ndarray], np.ndarray], int], inputs: Sequence[tuple[str, str, object]], *,
              output: str, history: str, references: str, validation: Validation,
              fraction: Sequence[str] = ()) -> ArrayLike:
    """Apply a per-cell numba kernel to scalars, arrays or DataArrays (any leading ``halfmonth``).

    ``kernel(flat_inputs, out)`` fills the float32 ``out`` and returns a bit mask, bit k set
    when input k holds values outside its valid range; only then are that input's cells
    counted (:func:`_check_fraction` for 0-1 fractions, with the percent hint, or
    :func:`erosion._array.check_range`) to raise or warn. DataArrays must carry the
    vocabulary's units (or none; 'percent' for fractions is converted).
    """
    names = [a for a, _, _ in inputs]
    variables = [v for _, v, _ in inputs]
    values = []
    for arg, var, x in inputs:
        if isinstance(x, xr.DataArray):
            x = _prep_da(x, arg)
            x = _as_fraction(x, arg) if arg in fraction else x
            u = _units_of(x)
            want = vocabulary.get(var).units
            if u is not None and u != _units.normalise(want):
                raise UnitsError(f"{arg} has units {x.attrs['units']!r}; {var} is in {want!r}")
        else:
            _kind(x)
        values.append(x)
    nodata = [declared_nodata(v) for v in values]

    def block(*arrays):
        arrays = [np.asarray(a) for a in arrays]
        shape = np.broadcast_shapes(*[a.shape for a in arrays])
        out = np.empty(int(np.prod(shape)), dtype=np.float32)
        flags = kernel([_flat(a, shape) for a in arrays], out)
        for k, (arr, var, arg, nd) in enumerate(zip(arrays, variables, names, nodata, strict=True)):
            if flags & (1 << k):
                if arg in fraction:
                    _check_fraction(arr, arg, var, validation, nd)
                else:
                    check_range(arr, var, validation, arg, nd)
        return out.reshape(shape)

    das = [v for v in values if isinstance(v, xr.DataArray)]
    if das:
        at = [i for i, v in enumerate(values) if isinstance(v, xr.DataArray) and v.ndim >= 2]
        if len(at) > 1:
            aligned = _same_grid([values[i] for i in at], [names[i] for i in at])
            for i, a in zip(at, aligned, strict=True):
                values[i] = a
        out = xr.apply_ufunc(block, *values, dask="parallelized", output_dtypes=[np.float32], keep_attrs=False)
        if "halfmonth" in out.dims:
            out = out.transpose("halfmonth", ...)
        template = next((v for v in values if isinstance(v, xr.DataArray) and v.ndim >= 2), das[0])
        return finalize(out, output, template, history, references, inputs=das)
    arrays = [np.asarray(v) for v in values]
    result = block(*arrays)
    if all(np.ndim(v) == 0 for v in values):
        return float(np.asarray(result).reshape(()))
    return result


# ---------------------------------------------------------------------------------- NDVI, FVC

def ndvi(red: ArrayLike, nir: ArrayLike, *, data_validation: str = "raise") -> ArrayLike:
    """NDVI = (NIR − red) / (NIR + red) (Rouse et al. 1974), float32 in [−1, 1].

    ``red`` and ``nir`` are reflectances or digital numbers of the same sensor (non-negative;
    for Landsat 7 ETM+ bands 3 and 4). Cells where NIR + red = 0, or either is NaN, give NaN.
    """
    def f(x, out):
        return _kv.ndvi(x[0], x[1], out)

    return _cellwise(f, [("red", "reflectance", red), ("nir", "reflectance", nir)], output="ndvi",
                     history="ndvi: (nir - red) / (nir + red)", references=REF_NDVI,
                     validation=_validation(data_validation))


def ndvi_endmembers(ndvi: ArrayLike, percentiles: tuple[float, float] = (5.0, 95.0), *,
                    bins: int = 20000) -> tuple[float, float]:
    """Bare-soil and full-vegetation NDVI as percentiles of the scene (default 5th and 95th).

    NumPy and in-memory DataArrays: exact (``numpy.nanpercentile``). A dask-backed DataArray
    is **computed** here (this function's answer is two numbers), through a histogram over
    [−1, 1] with ``bins`` bins (resolution 2/bins = 1e-4 by default), in memory bounded by the
    chunk size. Values outside [−1, 1] raise :class:`ValueRangeError`.
    """
    lo, hi = (float(p) for p in percentiles)
    if not 0.0 <= lo < hi <= 100.0:
        raise InputError(f"percentiles must be two increasing numbers in [0, 100], not {percentiles!r}")
    if isinstance(ndvi, xr.DataArray) and ndvi.chunks is not None:
        import dask.array as dsa

        data = _prep_da(ndvi, "ndvi").data.astype(np.float64)
        finite = dsa.isfinite(data)
        n_out = dsa.count_nonzero(finite & ((data < -1.0) | (data > 1.0)))
        hist, edges = dsa.histogram(dsa.where(finite, data, np.nan), bins=bins, range=(-1.0, 1.0))
        hist, n_out = dsa.compute(hist, n_out)
        if n_out:
            raise ValueRangeError(f"ndvi: {int(n_out)} cells lie outside [-1, 1]; NDVI is (NIR-red)/(NIR+red): check "
                                  "the scale factor of the product (e.g. MODIS NDVI x 0.0001) and mask nodata")
        total = hist.sum()
        if total == 0:
            raise InputError("ndvi is entirely NaN/nodata: no end-members can be taken from it")
        cdf = np.concatenate([[0.0], np.cumsum(hist) / total])
        edges = np.asarray(edges, dtype=np.float64)

        def q(p):  # linear within the bin holding the percentile
            return float(np.interp(p / 100.0, cdf, edges))

        return q(lo), q(hi)
    v = np.asarray(ndvi.values if isinstance(ndvi, xr.DataArray) else ndvi, dtype=np.float64)
    check_range(v, "ndvi", "raise", "ndvi")
    if not np.isfinite(v).any():
        raise InputError("ndvi is entirely NaN/nodata: no end-members can be taken from it")
    soil, veg = np.nanpercentile(v, [lo, hi])
    return float(soil), float(veg)


def fvc_from_ndvi(ndvi: ArrayLike, *, soil: float | None = None, veg: float | None = None,
                  percentiles: tuple[float, float] = (5.0, 95.0), data_validation: str = "raise") -> ArrayLike:
    """Fractional vegetation cover by the dimidiate pixel model, clamped to [0, 1]:

        FVC = (NDVI − NDVI_soil) / (NDVI_veg − NDVI_soil)

    (Gutman & Ignatov 1998; CSLE practice: Chang et al. 2021, ChinaXiv 202108.00091).
    ``soil`` and ``veg`` are the bare-soil and full-cover NDVI end-members. When either is
    None it is taken from the scene as the given percentile (default 5 and 95,
    :func:`ndvi_endmembers`); a dask-backed ``ndvi`` then raises :class:`InputError` (it would
    have to be computed): pass the end-members, e.g. ``soil, veg = ndvi_endmembers(ndvi)``
    (which computes explicitly) or field-calibrated values. The end-members used are written
    to the output's ``ndvi_soil``/``ndvi_veg`` attributes (DataArray).
    """
    validation = _validation(data_validation)
    if soil is None or veg is None:
        if isinstance(ndvi, xr.DataArray) and ndvi.chunks is not None:
            raise InputError("fvc_from_ndvi: ndvi is dask-backed and soil/veg end-members were not given; taking "
                             "scene percentiles would compute the whole raster. Pass soil= and veg= (field values, "
                             "or soil, veg = erosion.factors.vegetation.ndvi_endmembers(ndvi), which computes them "
                             "explicitly with bounded memory)")
        s, v = ndvi_endmembers(ndvi, percentiles)
        source = f"scene percentiles {percentiles[0]:g}/{percentiles[1]:g}"
        soil = s if soil is None else soil
        veg = v if veg is None else veg
    else:
        source = "given"
    soil, veg = float(soil), float(veg)
    if not (-1.0 <= soil < veg <= 1.0):
        raise ValueRangeError(f"NDVI end-members must satisfy -1 <= soil < veg <= 1, got soil={soil:g}, veg={veg:g}"
                              " (a scene with almost uniform NDVI has no usable percentiles: give field values)")

    def f(x, out):
        return _kv.fvc(x[0], soil, veg, out)

    out = _cellwise(f, [("ndvi", "ndvi", ndvi)], output="fractional_vegetation_cover",
                    history=f"fvc_from_ndvi: dimidiate pixel model, NDVI_soil={soil:.6g}, NDVI_veg={veg:.6g} ({source})",
                    references=REF_FVC, validation=validation)
    if isinstance(out, xr.DataArray):
        out.attrs["ndvi_soil"] = soil
        out.attrs["ndvi_veg"] = veg
    return out


# ---------------------------------------------------------------------------- soil-loss ratio

def _slr_constants(cover: str, constants: Mapping[str, float] | None) -> dict[str, float]:
    try:
        base = dict(SLR_CONSTANTS[cover])
    except (KeyError, TypeError):
        raise UnknownCodeError(f"unknown land cover {cover!r} for the soil-loss ratio; use one of "
                               f"{sorted(SLR_CONSTANTS)}") from None
    if constants:
        unknown = sorted(set(constants) - set(base))
        if unknown:
            raise UnknownCodeError(f"unknown SLR constant(s) {unknown} for {cover!r}; its constants are {sorted(base)}")
        base.update({k: float(v) for k, v in constants.items()})
    return base


def soil_loss_ratio(fvc: ArrayLike, *, cover: str = "grass", canopy_closure: ArrayLike | None = None,
                    constants: Mapping[str, float] | None = None, data_validation: str = "raise") -> ArrayLike:
    """CSLE soil-loss ratio SLR of one period (a half-month) for forest, shrub or grass, in [0, 1].

    - ``"forest"`` (乔木林): SLR = a·exp(−b·GD) − c·exp(FVC − FVC·GD) + d, with GD the canopy
      closure (``canopy_closure``, 0-1, required) and FVC the understory cover;
      a = 0.44468, b = 3.20096, c = 0.04099, d = 0.025.
    - ``"shrub"`` (灌木林): SLR = 1 / (a + b·c^(100·FVC)), a = 1.17647, b = 0.86242, c = 1.05905.
    - ``"grass"`` (草地): SLR = 1 / (a + b·c^(100·FVC)), a = 1.25, b = 0.78845, c = 1.05968.

    The equations are those of the first national water census for CSLE (Liu et al. 2002);
    the constants are **recalled, to verify** against the census technical documents (the
    only public copy seen, the GEE "Global Cnon-crop" script, garbles the forest constants), so
    each is a parameter: ``constants={"a": ...}`` overrides any of them. Results are clipped to
    [0, 1] (the defaults stay inside). ``fvc`` is a 0-1 fraction (a DataArray in 'percent' is
    converted; NumPy values above 1 that look like percent raise). A ``halfmonth`` dimension
    passes through, giving the 24 half-month SLR that :func:`b_factor` weights.
    """
    validation = _validation(data_validation)
    k = _slr_constants(cover, constants)
    text = ", ".join(f"{n}={v:g}" for n, v in k.items())
    if cover == "forest":
        if canopy_closure is None:
            raise InputError("soil_loss_ratio(cover='forest') needs canopy_closure (郁闭度, 0-1): a number or a raster "
                             "on the grid of fvc (fvc is then the understory cover)")

        def f(x, out):
            return _kv.slr_forest(x[0], x[1], k["a"], k["b"], k["c"], k["d"], out)

        inputs = [("fvc", "fractional_vegetation_cover", fvc), ("canopy_closure", "canopy_closure", canopy_closure)]
        frac = ("fvc", "canopy_closure")
    else:
        if canopy_closure is not None:
            raise InputError(f"canopy_closure applies to cover='forest' only, not {cover!r}")

        if not k["c"] > 0:
            raise InputError(f"SLR constant c must be positive, not {k['c']!r}")

        def f(x, out):
            return _kv.slr_herb(x[0], k["a"], k["b"], k["c"], out)

        inputs = [("fvc", "fractional_vegetation_cover", fvc)]
        frac = ("fvc",)
    return _cellwise(f, inputs, output="soil_loss_ratio", history=f"soil_loss_ratio: {cover} ({text})",
                     references=REF_SLR, validation=validation, fraction=frac)


#: A class mapping for MODIS IGBP codes (0-16), for :func:`soil_loss_ratio_by_class`: forests
#: use the forest equation (canopy closure needed), shrublands the shrub one, savannas,
#: grassland and wetland the grass one ([R] the assignment of savannas and wetlands); cropland
#: and the mosaic 1 (CSLE uses T on cropland, B = 1 leaves the product unchanged [V]); water 0,
#: urban 0.01, snow/ice 0, barren 1 ([C] GEE Global Cnon-crop conventions).
IGBP_SLR_CLASSES: dict[int, str | float] = {
    0: 0.0, 1: "forest", 2: "forest", 3: "forest", 4: "forest", 5: "forest", 6: "shrub", 7: "shrub",
    8: "grass", 9: "grass", 10: "grass", 11: "grass", 12: 1.0, 13: 0.01, 14: 1.0, 15: 0.0, 16: 1.0,
}
_EQUATIONS = {"forest": 1, "shrub": 2, "grass": 3}


def soil_loss_ratio_by_class(fvc: ArrayLike, landcover: ArrayLike, *, classes: Mapping[int, str | float],
                             canopy_closure: ArrayLike | None = None,
                             constants: Mapping[str, Mapping[str, float]] | None = None,
                             nodata: float | None = None, data_validation: str = "raise") -> ArrayLike:
    """SLR of every cell by its land-cover class: the forest, shrub or grass equation of
    :func:`soil_loss_ratio`, or a fixed value, chosen per class code.

    ``classes`` maps each code of ``landcover`` to ``"forest"``, ``"shrub"``, ``"grass"`` or a
    number in [0, 1] (``IGBP_SLR_CLASSES`` is one for MODIS IGBP codes). ``fvc``: 0-1 cover on
    the grid of ``landcover``, optionally with a leading ``halfmonth`` dimension (NumPy: 24 on
    the first axis), which the result keeps for :func:`b_factor`. ``canopy_closure`` (a number
    or a raster) is needed where forest classes occur. ``constants`` overrides equation
    constants per cover, e.g. ``{"grass": {"a": 1.2}}``. Codes missing from ``classes`` raise
    :class:`UnknownCodeError` with counts; nodata codes (``nodata``, or the DataArray's
    declared sentinel) give NaN. One numba pass per block.
    """
    from .._kernels.vegetation import slr_classes

    validation = _validation(data_validation)
    if not classes:
        raise InputError("classes must map land-cover codes to 'forest', 'shrub', 'grass' or a number in [0, 1]")
    k = {c: _slr_constants(c, (constants or {}).get(c)) for c in SLR_CONSTANTS}
    unknown_covers = sorted(set(constants or {}) - set(SLR_CONSTANTS))
    if unknown_covers:
        raise UnknownCodeError(f"unknown cover(s) {unknown_covers} in constants; use {sorted(SLR_CONSTANTS)}")
    codes_ = np.array(sorted(int(c) for c in classes), dtype=np.int64)
    offset = int(codes_[0])
    span = int(codes_[-1]) - offset + 1
    if span > 1 << 20:
        raise InputError(f"class codes span {span} values; recode them to a compact range")
    eq = np.full(span, -1, dtype=np.int8)
    fixed = np.full(span, np.nan)
    for code, what in classes.items():
        i = int(code) - offset
        if isinstance(what, str):
            if what not in _EQUATIONS:
                raise UnknownCodeError(f"class {code}: unknown cover {what!r}; use 'forest', 'shrub', 'grass' or a "
                                       "number in [0, 1]")
            eq[i] = _EQUATIONS[what]
        else:
            val = float(what)
            if not 0.0 <= val <= 1.0:
                raise ValueRangeError(f"class {code}: fixed SLR {val:g} lies outside [0, 1]")
            eq[i], fixed[i] = 0, val
    kf = np.array([k["forest"][n] for n in "abcd"])
    ks = np.array([k["shrub"][n] for n in "abc"])
    kg = np.array([k["grass"][n] for n in "abc"])
    table = pd.DataFrame({"code": codes_, "name_zh": "", "name_en": [str(classes[int(c)]) for c in codes_],
                          "value": 0.0, "source": "classes"})
    table.attrs["table"] = "classes"
    lut = tables._Lut(table)

    def block(x, c, g, nd):
        x = np.asarray(x)
        c = tables._codes_array(c, "landcover")
        x2 = np.ascontiguousarray(x.reshape(-1, c.size) if x.size != c.size else x.reshape(1, -1))
        if x2.dtype.kind != "f":
            x2 = x2.astype(np.float64)
        cf = np.ascontiguousarray(c).reshape(-1)
        g = np.asarray(g, dtype=np.float64)
        gf = np.ascontiguousarray(g).reshape(-1) if g.size > 1 else g.reshape(1)
        ndv = 0 if nd is None else nd
        if cf.dtype.kind in "iu":
            info = np.iinfo(cf.dtype)
            has = nd is not None and info.min <= nd <= info.max
            ndv = cf.dtype.type(ndv if has else 0)
        else:
            has = nd is not None
            ndv = cf.dtype.type(ndv)
        out = np.empty(x2.shape, dtype=np.float32)
        flags, n_unknown = slr_classes(x2, cf, gf, eq, fixed, offset, ndv, has, kf, ks, kg, out)
        if n_unknown:
            tables._report(lut, c, nd, n_unknown, "landcover", validation, block=False,
                           fix="Add them to classes= (code: 'forest', 'shrub', 'grass' or a fixed SLR), recode them, "
                               "or declare the nodata value (nodata= or da.rio.write_nodata(...)).")
        if flags & 1:
            _check_fraction(x2, "fvc", "fractional_vegetation_cover", validation)
        if flags & 2:
            _check_fraction(g, "canopy_closure", "canopy_closure", validation)
        if flags & 4:
            raise InputError("landcover has forest classes but canopy_closure is missing (None or NaN) there: pass "
                             "canopy_closure= (郁闭度, 0-1, a number or a raster), or map those classes to 'shrub' or "
                             "'grass'")
        return out.reshape(x.shape)

    gd = np.nan if canopy_closure is None else canopy_closure
    history = "soil_loss_ratio_by_class: " + ", ".join(f"{c}: {classes[int(c)]}" for c in codes_[:30])
    if isinstance(fvc, xr.DataArray) or isinstance(landcover, xr.DataArray):
        if not (isinstance(fvc, xr.DataArray) and isinstance(landcover, xr.DataArray)):
            raise InputError("pass fvc and landcover both as DataArrays on one grid, or both as arrays")
        f = _as_fraction(_prep_da(fvc, "fvc"), "fvc")
        lc = squeeze_bands(landcover, "landcover")
        nd = nodata if nodata is not None else declared_nodata(lc)
        grids = [f, lc] + ([_as_fraction(_prep_da(gd, "canopy_closure"), "canopy_closure")]
                           if isinstance(gd, xr.DataArray) else [])
        aligned = _same_grid(grids, ["fvc", "landcover", "canopy_closure"][:len(grids)])
        f, lc = aligned[0], aligned[1]
        g = aligned[2] if len(aligned) > 2 else float(gd)
        has_hm = "halfmonth" in f.dims
        if not has_hm:
            f = f.expand_dims(halfmonth=[0])
        f = f.transpose("halfmonth", ...)
        if f.chunks is not None:
            f = f.chunk({"halfmonth": -1})

        def dblock(x, c, g_):
            return np.moveaxis(block(np.moveaxis(np.asarray(x), -1, 0), c, g_, nd), 0, -1)

        out = xr.apply_ufunc(dblock, f, lc, g, input_core_dims=[["halfmonth"], [], []],
                             output_core_dims=[["halfmonth"]], dask="parallelized", output_dtypes=[np.float32],
                             keep_attrs=False).transpose("halfmonth", ...)
        if not has_hm:
            out = out.isel(halfmonth=0, drop=True)
        return finalize(out, "soil_loss_ratio", lc, history, REF_SLR, inputs=[f])
    x = np.asarray(fvc)
    c = np.asarray(landcover)
    if x.shape != c.shape and x.shape[1:] != c.shape:
        raise InputError(f"fvc of shape {x.shape} does not match landcover of shape {c.shape} (NumPy half-months go "
                         "on the first axis)")
    g = np.asarray(gd, dtype=np.float64)
    if g.size > 1 and g.shape != c.shape:
        raise InputError(f"canopy_closure of shape {g.shape} does not match landcover of shape {c.shape}")
    out = block(x, c, g, nodata)
    return float(out.reshape(())) if out.ndim == 0 else out


# -------------------------------------------------------------------------------------- B

def _share(share):
    """The erosivity share as a DataArray (halfmonth[, y, x]) or a NumPy array (24[, ...])."""
    if isinstance(share, pd.Series):
        share = share.to_numpy(np.float64)
    if isinstance(share, xr.DataArray):
        if "halfmonth" not in share.dims or share.sizes["halfmonth"] != 24:
            raise InputError(f"erosivity_share has dims {dict(share.sizes)}; it needs a 'halfmonth' dimension of 24 "
                             "(erosion.factors.rainfall.erosivity_share gives it), or pass a length-24 array")
        if "halfmonth" in share.coords:
            hm = np.asarray(share["halfmonth"].values)
            if hm.dtype.kind in "iuf" and not np.array_equal(hm, np.arange(1, 25)):
                raise InputError(f"erosivity_share's halfmonth coordinate is {hm.tolist()}; expected 1..24 in order "
                                 "(half-month 1 = 1-15 January, 24 = 16-31 December)")
        share = share.transpose("halfmonth", ...)
        u = _units_of(share)
        if u is not None and u != "1":
            raise UnitsError(f"erosivity_share has units {share.attrs['units']!r}; it is a dimensionless share "
                             "summing to 1 (divide half-month R by annual R)")
        if share.ndim == 1:
            share = share.drop_vars([c for c in share.coords if c != "halfmonth"])
        return share
    w = np.asarray(share, dtype=np.float64)
    if w.shape[:1] != (24,):
        raise InputError(f"erosivity_share has shape {w.shape}; expected 24 half-month shares along the first axis")
    return w


def _check_share_sums(w: np.ndarray, tolerance: float, validation: Validation) -> None:
    """w is (24, n): every cell with finite shares must sum to 1 within ``tolerance``."""
    with np.errstate(invalid="ignore"):
        s = w.sum(axis=0)
        bad = np.isfinite(s) & (np.abs(s - 1.0) > tolerance)
    if bad.any():
        _complain(f"erosivity_share: {int(bad.sum())} of {s.size} cells have half-month shares summing to "
                  f"{float(np.min(s[bad])):.6g}..{float(np.max(s[bad])):.6g}, not 1 (tolerance {tolerance:g}). "
                  "The shares are WR_i = R_i / R_year over the 24 half-months of the year: pass the shares, not "
                  "half-month R, and all 24 of them.", validation)


def _b_block(slr: np.ndarray, w: np.ndarray, tolerance: float, validation: Validation) -> np.ndarray:
    """slr (24, ...), w (24,) or (24, ...) → B (...) float32, checking ranges and share sums."""
    shape = slr.shape[1:]
    v = np.ascontiguousarray(slr).reshape(24, -1)
    if w.ndim == 1:
        ww = np.ascontiguousarray(w, dtype=np.float64).reshape(24, 1)
    else:
        ww = np.ascontiguousarray(np.broadcast_to(w, slr.shape)).reshape(24, -1)
    _check_share_sums(ww, tolerance, validation)
    out = np.empty(v.shape[1], dtype=np.float32)
    flags = weighted_sum(v, ww, out, 0.0, 1.0)
    if flags & 1:
        check_range(v, "soil_loss_ratio", validation, "slr")
    if flags & 2:
        with np.errstate(invalid="ignore"):
            bad = (ww < 0) | (ww > 1)
        _complain(f"erosivity_share: {int(bad.sum())} of {ww.size} half-month shares lie outside [0, 1] (values "
                  f"{float(np.nanmin(ww)):g} to {float(np.nanmax(ww)):g}); shares are WR_i = R_i / R_year",
                  validation)
    return out.reshape(shape)


def b_factor(slr: ArrayLike, erosivity_share, *, tolerance: float = 1e-3, data_validation: str = "raise") -> ArrayLike:
    """CSLE biological-measure factor B = Σ_{i=1..24} SLR_i · WR_i (Liu et al. 2002).

    ``slr``: the half-month soil-loss ratios (:func:`soil_loss_ratio`), a DataArray with a
    ``halfmonth`` dimension of 24 (coordinate 1..24), or a NumPy array with the 24 half-months
    along the first axis; a DataArray without ``halfmonth`` (or a scalar) is an SLR constant
    over the year, and B = SLR. ``erosivity_share``: WR_i = R_i / R_year, a DataArray with
    dimension ``halfmonth`` (1..24) and optionally the grid (per-cell shares), as
    :func:`erosion.factors.rainfall.erosivity_share` returns it, or a plain length-24 array
    (or pandas Series). Shares must lie in [0, 1] and sum to 1 within ``tolerance`` (per cell
    for gridded shares, per block on dask input). NaN in any half-month gives NaN. dask input
    stays lazy; the half-month dimension is brought into one chunk. Reference: CSLE B as
    applied by Chang et al. (2021) ChinaXiv 202108.00091 §1.3.1.
    """
    validation = _validation(data_validation)
    if not tolerance >= 0:
        raise InputError(f"tolerance must be a non-negative number, not {tolerance!r}")
    w = _share(erosivity_share)
    history = "b_factor: B = sum over 24 half-months of SLR_i * WR_i"

    if not isinstance(slr, xr.DataArray):
        kind = _kind(slr)
        if isinstance(w, xr.DataArray):
            if w.ndim > 1:
                raise InputError("erosivity_share is a gridded DataArray but slr is not: pass slr as a DataArray on "
                                 "the same grid")
            w = w.values if w.chunks is None else w
        if isinstance(w, xr.DataArray):  # lazy 1-D share with NumPy slr: compute 24 numbers would be implicit
            raise InputError("erosivity_share is dask-backed but slr is a NumPy array: pass slr as a DataArray to "
                             "stay lazy, or compute the share first (share.compute())")
        s = np.asarray(slr)
        if s.dtype.kind != "f":
            s = s.astype(np.float64)
        if kind == "scalar":
            s = np.full(24, float(s))
        elif s.shape[:1] != (24,):
            raise InputError(f"slr has shape {s.shape}; NumPy SLR needs the 24 half-months along the first axis "
                             "(an SLR constant over the year is B itself)")
        if w.ndim > 1 and w.shape[1:] != s.shape[1:]:
            raise InputError(f"erosivity_share of shape {w.shape} does not match slr of shape {s.shape}")
        out = _b_block(s, w, tolerance, validation)
        return float(out.reshape(())) if kind == "scalar" else out

    s = _prep_da(slr, "slr")
    u = _units_of(s)
    if u is not None and u != "1":
        raise UnitsError(f"slr has units {s.attrs['units']!r}; the soil-loss ratio is dimensionless")
    if "halfmonth" not in s.dims:
        s = s.expand_dims(halfmonth=np.arange(1, 25))
        history += " (slr constant over the year)"
    elif s.sizes["halfmonth"] != 24:
        raise InputError(f"slr has {s.sizes['halfmonth']} half-months; expected 24")
    else:
        if "halfmonth" in s.coords and not np.array_equal(np.asarray(s["halfmonth"].values), np.arange(1, 25)):
            raise InputError(f"slr's halfmonth coordinate is {s['halfmonth'].values.tolist()}; expected 1..24")
    s = s.transpose("halfmonth", ...)
    if not isinstance(w, xr.DataArray):
        if w.ndim != 1:
            raise InputError("a gridded erosivity_share must be a DataArray on the grid of slr")
        w = xr.DataArray(w, dims=("halfmonth",))
    s = s.assign_coords(halfmonth=np.arange(1, 25))
    w = w.assign_coords(halfmonth=np.arange(1, 25))
    if w.ndim > 1:
        s, w = _same_grid([s, w], ["slr", "erosivity_share"])
    if s.chunks is not None:
        s = s.chunk({"halfmonth": -1})
        if w.ndim > 1:
            w = w.chunk(dict(zip(s.dims, s.chunks, strict=True)))
    if w.chunks is not None and s.chunks is None:
        s = s.chunk({"halfmonth": -1})
    if w.chunks is not None:
        w = w.chunk({"halfmonth": -1})

    def block(sv, wv):
        sv = np.moveaxis(np.asarray(sv), -1, 0)
        wv = np.moveaxis(np.asarray(wv), -1, 0)
        return _b_block(sv, wv, tolerance, validation)

    out = xr.apply_ufunc(block, s, w, input_core_dims=[["halfmonth"], ["halfmonth"]], dask="parallelized",
                         output_dtypes=[np.float32], keep_attrs=False)
    template = s.isel(halfmonth=0, drop=True)
    return finalize(out, "biological_factor", template, history, REF_B,
                    inputs=[w] if w.ndim > 1 else [])


# -------------------------------------------------------------------------------------- C

def c_from_cover(cover: ArrayLike, *, units: str | None = None, constants: Mapping[str, float] | None = None,
                 data_validation: str = "raise") -> ArrayLike:
    """RUSLE C from vegetation cover c in **percent** (Cai et al. 2000):

        C = 1                          c = 0
        C = 0.6508 − 0.3436·log10(c)   0 < c ≤ 78.3 %   (capped at 1 below c ≈ 0.096 %)
        C = 0                          c > 78.3 %

    ``units``: 'percent' or '1' (a 0-1 fraction, multiplied by 100); None reads a DataArray's
    ``units`` attribute, and otherwise takes percent **after checking the range**: when every
    finite value lies in [0, 1] and some are fractional, the input looks like a fraction and
    :class:`ValueRangeError` says so (per block for dask input; ``data_validation="warn"``
    or ``units=`` relaxes it). ``constants`` overrides ``a``, ``b``, ``full_cover``.
    """
    validation = _validation(data_validation)
    k = dict(CAI_CONSTANTS)
    if constants:
        unknown = sorted(set(constants) - set(k))
        if unknown:
            raise UnknownCodeError(f"unknown Cai constant(s) {unknown}; the constants are {sorted(k)}")
        k.update({n: float(v) for n, v in constants.items()})
    x, stated = _as_percent(cover, "cover", units)

    def f(x, out):
        stats = np.zeros(2)
        flags = _kv.cai(x[0], k["a"], k["b"], k["full_cover"], out, stats)
        if not stated and stats[0] <= 1.0 and stats[1] > 0:
            _complain(f"cover: all valid cells lie in [0, 1] (max {stats[0]:g}; {int(stats[1])} of {x[0].size} "
                      "strictly between 0 and 1): this looks like a 0-1 fraction where c_from_cover expects percent "
                      "(Cai et al. 2000). Pass units='1' (or set the DataArray's units to '1') to convert it, or "
                      "units='percent' if the cover really is below 1 %.", validation)
        return flags

    return _cellwise(f, [("cover", "vegetation_cover", x)], output="cover_management_factor",
                     history=f"c_from_cover: Cai et al. (2000), a={k['a']:g}, b={k['b']:g}, "
                             f"full cover {k['full_cover']:g} %", references=REF_CAI, validation=validation)


def c_from_ndvi(ndvi: ArrayLike, *, alpha: float = 2.0, beta: float = 1.0, data_validation: str = "raise") -> ArrayLike:
    """RUSLE C from NDVI (van der Knijff et al. 1999, 2000):

        C = exp[−α · NDVI / (β − NDVI)],  α = 2, β = 1 (their values for Europe)

    set to 1 for NDVI ≤ 0 (no vegetation) and 0 for NDVI ≥ β, so C lies in [0, 1]. α and β
    shape the curve and are parameters; they were set for European conditions and are
    reported to underestimate C under tropical rainfall (Durigon et al. 2014).
    """
    validation = _validation(data_validation)
    alpha, beta = float(alpha), float(beta)
    if not (alpha > 0 and beta > 0):
        raise InputError(f"alpha and beta must be positive, not alpha={alpha!r}, beta={beta!r}")

    def f(x, out):
        return _kv.c_ndvi(x[0], alpha, beta, out)

    return _cellwise(f, [("ndvi", "ndvi", ndvi)], output="cover_management_factor",
                     history=f"c_from_ndvi: van der Knijff et al. exp(-alpha*NDVI/(beta-NDVI)), alpha={alpha:g}, "
                             f"beta={beta:g}", references=REF_KNIJFF, validation=validation)


def c_from_landuse(codes: ArrayLike, *, table: str | Path | pd.DataFrame = "modis_igbp_c",
                   nodata: float | None = None, data_validation: str = "raise") -> ArrayLike:
    """RUSLE C from a land-use/land-cover code raster through a code table (float32).

    Built-in tables: ``"modis_igbp_c"`` (MODIS IGBP classes 0-16; 255 is the products' fill
    value: pass ``nodata=255`` or open the file masked), ``"china_lucc_c"`` (the CAS land-use
    classification, second-level codes 11-67). Most values are **recalled, to verify**
    (each row's ``source`` says which); a CSV path or DataFrame with the columns code,
    name_zh, name_en, value, source replaces them (:func:`erosion.factors.tables.load_table`).
    Codes missing from the table raise :class:`UnknownCodeError` listing them with their
    cell counts; nodata stays NaN.
    """
    return tables.lookup(codes, table, output="cover_management_factor", nodata=nodata,
                         history="c_from_landuse: C by land-use code",
                         references="the code table's source column cites each value (built-in tables: "
                                    "erosion/data/modis_igbp_c.csv, erosion/data/china_lucc_c.csv)",
                         data_validation=data_validation)
