"""T, the CSLE tillage-measure factor, from tillage-measure codes or crop-rotation zones.

National monitoring assigns T to cropland from the tillage/rotation assignment tables of the
MWR (2018) monitoring rules, by crop-rotation zone (轮作区); elsewhere T = 1 (Chang et al.
2021, ChinaXiv 202108.00091 §1.3.1). Tables: ``erosion/data/tillage_measures.csv`` and
``erosion/data/rotation_zones.csv``; docs/methods/practices.md.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from .._array import ArrayLike, declared_nodata, squeeze_bands
from ..errors import InputError, ValueRangeError
from ..grid import same_grid
from . import tables

__all__ = ["t_factor"]

REF_T = ("Liu B.Y., Zhang K.L., Xie Y. (2002) An empirical soil loss equation. Proc. 12th ISCO, Beijing, 2:21-25; tillage and "
         "rotation assignment tables of MWR (2018) 区域水土流失动态监测技术规定（试行）, as applied by Chang M. et al. "
         "(2021) ChinaXiv 202108.00091 sec. 1.3.1; tillage-measure values: Guo Q.K., Liu B.Y. et al. (2013) "
         "中国水土保持 (10) (recalled, to verify)")


def t_factor(codes: ArrayLike, *, table: str | Path | pd.DataFrame = "tillage_measures",
             cropland: ArrayLike | None = None, nodata: float | None = None,
             data_validation: str = "raise") -> ArrayLike:
    """CSLE tillage-measure factor T from tillage-measure codes or rotation-zone codes (float32).

    ``table``: ``"tillage_measures"`` (default; code 0 = none, T = 1; seven measures from
    contour tillage 0.431 to grass-crop rotation 0.282, **recalled, to verify**),
    ``"rotation_zones"`` (T by crop-rotation zone; code 1 = NW arid irrigated zone / N
    Xinjiang, T = 0.281 [V]; the other zones are an open item: add them in your own table), or
    a CSV path / DataFrame with code, name_zh, name_en, value, source (validated on load).

    ``cropland`` (optional): a mask (1 cropland, 0 other land, NaN nodata) on the grid of
    ``codes``; T is then 1 off cropland, the national rule, so that zone codes can cover whole
    regions. Without it, apply the rule in :func:`erosion.csle` (``cropland=``). Unknown
    codes raise :class:`UnknownCodeError` listing them with cell counts; nodata stays NaN.
    """
    t = tables.lookup(codes, table, output="tillage_factor", nodata=nodata,
                      history="t_factor: T by tillage-measure or rotation-zone code", references=REF_T,
                      data_validation=data_validation)
    if cropland is None:
        return t
    if isinstance(t, xr.DataArray):
        if not isinstance(cropland, xr.DataArray):
            c = np.asarray(cropland)
            if c.shape != t.shape:
                raise InputError(f"cropland of shape {c.shape} does not match codes of shape {t.shape}")
            crop = t.copy(data=c)
        else:
            crop = squeeze_bands(cropland, "cropland")
            nd = declared_nodata(crop)
            t, crop = same_grid(t, crop, names=["codes", "cropland"])
            if nd is not None:
                crop = crop.where(crop != nd)
        crop = crop.astype(np.float32) if crop.dtype.kind != "f" else crop
        out = xr.where(crop == 0, np.float32(1.0), t).where(~crop.isnull()).astype(np.float32)
        out = _check_mask(out, crop)
        out.attrs = dict(t.attrs)
        out.attrs["history"] = t.attrs["history"] + "; T = 1 off cropland (cropland mask)"
        out.encoding = dict(t.encoding)
        if "spatial_ref" in t.coords:  # xr.where drops the grid mapping's attributes
            out = out.assign_coords(spatial_ref=t.coords["spatial_ref"])
        return out.rename(t.name)
    c = np.asarray(cropland, dtype=np.float64)
    tv = np.asarray(t, dtype=np.float32)
    try:
        np.broadcast_shapes(c.shape, tv.shape)
    except ValueError:
        raise InputError(f"cropland of shape {c.shape} does not match codes of shape {tv.shape}") from None
    _mask_values(c)
    out = np.where(c == 0, np.float32(1.0), tv)
    out = np.where(np.isnan(c), np.nan, out).astype(np.float32)
    return float(out.reshape(())) if out.ndim == 0 else out


def _mask_values(c: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore"):
        bad = ~(np.isnan(c) | (c == 0) | (c == 1))
    if bad.any():
        raise ValueRangeError(f"cropland: {int(bad.sum())} of {c.size} cells are neither 0 (other land) nor 1 "
                              f"(cropland) (values such as {np.unique(c[bad])[:5].tolist()}); mark nodata as NaN or "
                              "declare the sentinel with da.rio.write_nodata(...)")
    return c


def _check_mask(out: xr.DataArray, crop: xr.DataArray) -> xr.DataArray:
    """Validate the mask block by block, lazily, as the result is computed."""
    def block(o, c):
        _mask_values(np.asarray(c, dtype=np.float64))
        return o

    return xr.apply_ufunc(block, out, crop, dask="parallelized", output_dtypes=[np.float32], keep_attrs=False)
