"""Soil-erosion intensity classes (SL 190-2007) and tolerable soil loss by region.

The erosion modulus M = 100·A t·km⁻²·a⁻¹ (A in t·hm⁻²·a⁻¹) is classified with the
library's boundary rule (docs/methods/classification.md; docs/decisions/0005-class-boundaries.md)::

    1 slight        M < T_tol
    2 light         T_tol ≤ M ≤ 2 500
    3 moderate      2 500 < M ≤ 5 000
    4 intense       5 000 < M ≤ 8 000
    5 very intense  8 000 < M ≤ 15 000
    6 severe        M > 15 000

and 0 = no data. T_tol is regional for water erosion (200, 500 or 1000 t·km⁻²·a⁻¹) and a
single national 200 for wind erosion. The schemes and T_tol values are data
(``erosion/data/classes.toml``).

Reference: SL 190-2007 土壤侵蚀分类分级标准, Ministry of Water Resources of the P.R. China.
"""

from __future__ import annotations

import tomllib
from functools import cache
from importlib import resources

import numpy as np
import xarray as xr

from . import units as _units
from ._array import ArrayLike, Validation, _complain, _validation, check_range, declared_nodata, finalize, prepare, squeeze_bands
from ._kernels.classify import intensity_classes
from .errors import InputError, UnknownCodeError, ValueRangeError
from .grid import same_grid

__all__ = [
    "CLASS_CODES",
    "class_names",
    "classify",
    "loss_thickness",
    "schemes",
    "tolerable_loss",
    "tolerable_regions",
]

REFERENCES = "SL 190-2007 Standards for classification and gradation of soil erosion (MWR, China)"
#: Class codes of the output: name → code.
CLASS_CODES = {"no_data": 0, "slight": 1, "light": 2, "moderate": 3, "intense": 4, "very_intense": 5, "severe": 6}


@cache
def _table() -> dict:
    return tomllib.loads(resources.files("erosion.data").joinpath("classes.toml").read_text("utf-8"))


def schemes() -> list[str]:
    """Names of the known class schemes (``"water"``, ``"wind"``)."""
    return sorted(_table()["schemes"])


def _scheme(kind: str) -> dict:
    try:
        return _table()["schemes"][kind]
    except (KeyError, TypeError):
        raise UnknownCodeError(f"unknown erosion kind {kind!r}; known class schemes: {schemes()}") from None


def class_names(kind: str = "water", *, language: str = "en") -> list[str]:
    """Names of classes 0..6 (index = class code); ``language`` "en" or "zh"."""
    _scheme(kind)
    if language not in ("en", "zh"):
        raise UnknownCodeError(f"language must be 'en' or 'zh', not {language!r}")
    return list(_table()["classes" if language == "en" else "classes_zh"])


def tolerable_regions() -> dict[str, float]:
    """Tolerable soil loss (t·km⁻²·a⁻¹) of every first-level region, by English key (SL 190-2007)."""
    return {k: float(v["value"]) for k, v in _table()["tolerable"].items()}


def tolerable_loss(region: str) -> float:
    """Tolerable soil loss T_tol of a region in t·km⁻²·a⁻¹ (SL 190-2007; docs/methods/classification.md).

    ``region`` is an English key (``"loess_plateau"`` 1000, ``"black_soil"`` 200,
    ``"northern_rocky_mountain"`` 200, ``"southern_red_soil"`` 500,
    ``"southwest_rocky_mountain"`` 500) or the Chinese name (``"西北黄土高原区"``, ...).
    """
    for key, entry in _table()["tolerable"].items():
        if region in (key, entry["name_zh"]):
            return float(entry["value"])
    raise UnknownCodeError(
        f"unknown region {region!r} for tolerable soil loss; known regions: "
        + ", ".join(f"{k} ({v['name_zh']}, {v['value']:g})" for k, v in _table()["tolerable"].items())
    )


def loss_thickness(modulus: ArrayLike, bulk_density: float = 1.35) -> ArrayLike:
    """Soil-loss thickness in mm·a⁻¹ from the modulus M (t·km⁻²·a⁻¹): M / (ρ_b·1000).

    ``bulk_density`` ρ_b in g·cm⁻³ (SL 190-2007 uses 1.35). 2500 → 1.852 mm, 15000 → 11.11 mm.
    """
    if not bulk_density > 0:
        raise ValueRangeError(f"bulk_density must be positive (g cm-3), not {bulk_density!r}")
    return modulus / (bulk_density * 1000.0)


def _tolerable(kind: str, tolerable, validation):
    """T_tol as a number, or a raster (NumPy array or DataArray in t km-2 a-1)."""
    scheme = _scheme(kind)
    fixed = scheme.get("tolerable")
    if fixed is not None:  # wind: one national threshold
        if tolerable is None:
            return float(fixed)
        t = tolerable_loss(tolerable) if isinstance(tolerable, str) else tolerable
        if not (np.ndim(t) == 0 and not isinstance(t, xr.DataArray) and float(t) == float(fixed)):
            _complain(f"{kind} erosion uses one national tolerable soil loss of {fixed:g} t km-2 a-1 "
                      f"(SL 190-2007); a different tolerable was given. Leave tolerable=None, or pass "
                      f"data_validation='warn' to use your own value.", validation, InputError)
        return prepare(t, "tolerable_soil_loss", validation=validation, arg="tolerable")
    if tolerable is None:
        raise InputError(
            f"classify(kind={kind!r}) needs the tolerable soil loss T_tol in t km-2 a-1: it varies by region "
            "(SL 190-2007). Pass a number, a region name (" + ", ".join(
                f"{k!r} = {v:g}" for k, v in tolerable_regions().items())
            + ") or a raster of T_tol on the grid of A."
        )
    if isinstance(tolerable, str):
        return tolerable_loss(tolerable)
    return prepare(tolerable, "tolerable_soil_loss", validation=validation, arg="tolerable")


def _check_tolerable(t, validation) -> None:
    check_range(t, "tolerable_soil_loss", validation, "tolerable")
    with np.errstate(invalid="ignore"):
        above = int(np.count_nonzero(np.asarray(t) > 2500.0))
    if above:
        _complain(f"tolerable: {above} values exceed 2500 t km-2 a-1, the upper bound of the light class; "
                  "SL 190-2007 tolerable losses are 200, 500 or 1000 t km-2 a-1", validation)


def _classify_block(a, tol, *, scale, thresholds, validation, nodata=None):
    a = np.asarray(a)
    if a.dtype.kind not in "fiu":
        a = a.astype(np.float64)
    check_range(a, "soil_loss", validation, "A", nodata)
    tol = np.asarray(tol, dtype=np.float64)
    _check_tolerable(tol, validation)
    flat = np.ascontiguousarray(a).reshape(-1)
    t = tol.reshape(-1) if tol.size == 1 else np.ascontiguousarray(np.broadcast_to(tol, a.shape)).reshape(-1)
    out = np.empty(flat.size, dtype=np.uint8)
    intensity_classes(flat, scale, t, thresholds, out)
    return out.reshape(a.shape)


def soil_loss_input(A: ArrayLike, *, validation: Validation = "raise", arg: str = "A") -> tuple[ArrayLike, float]:
    """(A, the factor to the erosion modulus in t km-2 a-1): soil loss in t hm-2 a-1 (converted
    from other known units, factor 100), or a DataArray already in t km-2 a-1 (factor 1, no
    round trip through t hm-2 a-1)."""
    if isinstance(A, xr.DataArray) and A.attrs.get("units") is not None \
            and _units.same_units(str(A.attrs["units"]), "t km-2 a-1"):
        return squeeze_bands(A, arg), 1.0
    return prepare(A, "soil_loss", validation=validation, arg=arg), 100.0


def classify(A: ArrayLike, *, kind: str = "water", tolerable=None, data_validation: str = "raise") -> ArrayLike:
    """Soil-erosion intensity class of every cell (SL 190-2007), as uint8 codes 0..6.

    Parameters
    ----------
    A
        Mean annual soil loss in t·hm⁻²·a⁻¹ (numbers and NumPy arrays are taken in these
        units; a DataArray must carry ``units``, and one in t·km⁻²·a⁻¹ is used as the modulus
        directly). The modulus is M = 100·A t·km⁻²·a⁻¹, computed in float64 per cell, so a
        float32 A = 25 gives M = 2500 exactly.
    kind
        ``"water"`` or ``"wind"`` (a scheme of ``erosion/data/classes.toml``).
    tolerable
        Tolerable soil loss T_tol in t·km⁻²·a⁻¹: a number, a region name (see
        :func:`tolerable_loss`) or a raster (NumPy array broadcastable to A, or a DataArray
        on A's grid, with units). **Required for water** (no silent default: T_tol is 200, 500 or
        1000 by region). For wind it is fixed at 200 nationally; another value raises
        :class:`InputError` (with ``data_validation="warn"``: warns and is used).
    data_validation
        ``"raise"`` (default) or ``"warn"`` for out-of-range inputs (negative A, T_tol outside
        [0, 2500]). Cells with negative A, NaN A or NaN T_tol get class 0.

    Returns
    -------
    Class codes 0 no data, 1 slight (M < T_tol), 2 light (T_tol ≤ M ≤ 2500), 3 moderate
    (2500 < M ≤ 5000), 4 intense (5000 < M ≤ 8000), 5 very intense (8000 < M ≤ 15000),
    6 severe (M > 15000): an ``int`` for a scalar, a uint8 NumPy array for an array, and a
    uint8 DataArray (lazy if A is dask-backed) with CF ``flag_values``/``flag_meanings``,
    nodata 0 and A's CRS for a DataArray.

    Reference: SL 190-2007 土壤侵蚀分类分级标准 (MWR), water Table 3 and the wind table;
    boundary rule of docs/methods/classification.md (docs/decisions/0005-class-boundaries.md).
    """
    validation = _validation(data_validation)
    scheme = _scheme(kind)
    thresholds = np.asarray(scheme["thresholds"], dtype=np.float64)
    tol = _tolerable(kind, tolerable, validation)

    a, scale = soil_loss_input(A, validation=validation)
    kwargs = {"scale": scale, "thresholds": thresholds, "validation": validation, "nodata": declared_nodata(a)}

    if not isinstance(a, xr.DataArray):
        if isinstance(tol, xr.DataArray):
            raise InputError("A is not a DataArray but tolerable is; pass both as DataArrays on one grid, "
                             "or both as arrays")
        arr = np.asarray(a)
        tol_arr = np.asarray(tol, dtype=np.float64)
        if tol_arr.size != 1:
            try:
                np.broadcast_shapes(tol_arr.shape, arr.shape)
            except ValueError:
                raise InputError(f"tolerable of shape {tol_arr.shape} does not match A of shape {arr.shape}") from None
        out = _classify_block(arr, tol_arr, **kwargs)
        return int(out.reshape(())) if arr.ndim == 0 and tol_arr.ndim == 0 else out

    import rioxarray  # noqa: F401  (registers the .rio accessor: CRS is kept on the output)

    if isinstance(tol, xr.DataArray):
        a, tol = same_grid(a, tol, names=["A", "tolerable"])
        tol = tol.astype(np.float64)
        if a.chunks is not None:
            tol = tol.chunk(dict(zip(a.dims, a.chunks, strict=True)))
    elif np.ndim(tol) > 0:
        t = np.asarray(tol, dtype=np.float64)
        if t.shape != a.shape:
            raise InputError(f"tolerable of shape {t.shape} does not match A of shape {a.shape}")
        tol = xr.DataArray(t, dims=a.dims, coords={d: a.coords[d] for d in a.dims if d in a.coords})
        if a.chunks is not None:
            tol = tol.chunk(dict(zip(a.dims, a.chunks, strict=True)))
    else:
        tol = float(tol)

    out = xr.apply_ufunc(_classify_block, a, tol, kwargs=kwargs, dask="parallelized",
                         output_dtypes=[np.uint8], keep_attrs=False)
    names = class_names(kind)
    extra = {
        "flag_values": np.arange(len(names), dtype=np.uint8),
        "flag_meanings": " ".join(names),
        "erosion_kind": kind,
        "_FillValue": np.uint8(0),
    }
    if not isinstance(tol, xr.DataArray):
        extra["tolerable_soil_loss"] = float(tol)
    return finalize(out, "erosion_intensity_class", a, f"classify(kind={kind!r}): SL 190-2007 intensity classes",
                    REFERENCES, extra_attrs=extra, inputs=[tol])
