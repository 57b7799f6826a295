"""E, P and T factors and the code tables behind them (load, validation, lookup, unknown codes)."""

from __future__ import annotations

import dask.array as dsa
import numpy as np
import pandas as pd
import pytest
import rioxarray  # noqa: F401  (registers .rio)
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st

from erosion.errors import ErosionError, InputError, MissingFileError, UnitsError, UnknownCodeError, ValueRangeError
from erosion.factors import engineering as eng
from erosion.factors import tables
from erosion.factors import tillage as till
from tests.helpers import projected


def codes_da(values, nodata=None, chunks=None):
    da = projected(np.asarray(values), units=None)
    if nodata is not None:
        da = da.rio.write_nodata(nodata)
    return da.chunk(chunks) if chunks else da


# ------------------------------------------------------------------------------ published values

def test_e_is_one_without_a_measure():
    # National monitoring: E = 1 where no listed engineering measure is present (MWR 2018 rules, as
    # reported by Chang et al., ChinaXiv 202108.00091 §1.3.1 (5)).
    assert eng.e_factor(0) == 1.0


def test_e_by_measure_code():
    # Values recalled from the first national water census E table (methods review §6.2, [R], to verify):
    # level terrace with earth bank 0.084, fish-scale pit 0.249.
    np.testing.assert_allclose(eng.e_factor(np.array([1, 7, 0])), [0.084, 0.249, 1.0], rtol=1e-6)


def test_t_of_the_northwest_rotation_zone():
    # Chang et al. (2021) ChinaXiv 202108.00091 §1.3.1 (6): cropland of 西北干旱灌溉一熟兼二熟区 / 北疆灌溉一熟填闲区
    # gets T = 0.281 (MWR 2018 rules); all other land T = 1.
    assert till.t_factor(1, table="rotation_zones") == pytest.approx(0.281)
    np.testing.assert_allclose(till.t_factor(np.array([1, 1, 1]), table="rotation_zones",
                                             cropland=np.array([1.0, 0.0, np.nan])), [0.281, 1.0, np.nan])


def test_t_by_tillage_measure():
    # Guo, Liu et al. (2013) 中国水土保持 (10), recalled: contour tillage ≈ 0.431, grass-crop rotation ≈ 0.282.
    np.testing.assert_allclose(till.t_factor(np.array([1, 7, 0])), [0.431, 0.282, 1.0], rtol=1e-6)


@pytest.mark.parametrize(("slope_pct", "contour"), [(1, 0.6), (2, 0.6), (3, 0.5), (5, 0.5), (6, 0.5), (8, 0.5),
                                                    (9, 0.6), (12, 0.6), (13, 0.7), (16, 0.7), (17, 0.8), (20, 0.8),
                                                    (21, 0.9), (25, 0.9), (0, 1.0), (30, 1.0)])
def test_p_contouring_and_strip_cropping_by_slope(slope_pct, contour):
    # AH537 Table 14 (Wischmeier & Smith 1978), contouring P by whole-percent slope class (recalled, [R]);
    # strip cropping (rotation A) is half the contour value and P = 1 at 0 % and above 25 %
    # ([V] Zhao Y.M. et al. on Smith & Whitt, fx361 2015).
    assert eng.p_factor(float(slope_pct), units="percent") == pytest.approx(contour)
    strip = 1.0 if contour == 1.0 else contour / 2
    assert eng.p_factor(float(slope_pct), units="percent", practice="strip") == pytest.approx(strip)


def test_p_slope_in_degrees_and_dataarray_units():
    deg = np.degrees(np.arctan(np.array([2.0, 7.0, 10.0, 22.0]) / 100))
    np.testing.assert_allclose(eng.p_factor(deg), [0.6, 0.5, 0.6, 0.9])
    pct = projected(np.array([[2.0, 7.0], [10.0, 22.0]]), units="percent")
    out = eng.p_factor(pct)
    assert out.name == "support_practice_factor" and out.rio.crs == pct.rio.crs
    np.testing.assert_allclose(out.values, [[0.6, 0.5], [0.6, 0.9]])
    lazy = eng.p_factor(pct.chunk({"y": 1, "x": 1}))
    assert isinstance(lazy.data, dsa.Array)
    np.testing.assert_array_equal(lazy.values, out.values)
    assert eng.p_factor(5.0, practice="none") == 1.0
    # terraces (AH537 Table 16, recalled) at 3-8 %: 0.10
    assert eng.p_factor(6.0, units="percent", practice="terrace") == pytest.approx(0.10)


@settings(max_examples=50, deadline=None)
@given(st.lists(st.floats(0.0, 60.0, allow_nan=False), min_size=1, max_size=30),
       st.sampled_from(["contouring", "strip", "strip_b", "strip_c", "terrace", "none"]))
def test_p_in_unit_interval_and_strip_below_contour(slopes, practice):
    s = np.asarray(slopes)
    p = eng.p_factor(s, units="percent", practice=practice)
    assert ((p > 0) & (p <= 1)).all()
    assert (eng.p_factor(s, units="percent", practice="strip") <= eng.p_factor(s, units="percent") + 1e-7).all()


# ----------------------------------------------------------------------------------- lookup

def test_lookup_keeps_nodata_and_the_grid_and_stays_lazy():
    raw = np.array([[0, 1, 255], [5, 8, 0]], dtype=np.uint8)
    da = codes_da(raw, nodata=255)
    e = eng.e_factor(da)
    assert e.dtype == np.float32 and e.name == "engineering_factor" and e.attrs["units"] == "1"
    assert e.rio.crs == da.rio.crs and e.rio.transform() == da.rio.transform()
    assert np.isnan(e.values[0, 2]) and e.values[1, 1] == pytest.approx(0.16)
    lazy = eng.e_factor(codes_da(raw, nodata=255, chunks={"y": 1, "x": 2}))
    assert isinstance(lazy.data, dsa.Array)
    np.testing.assert_array_equal(lazy.values, e.values)
    # float codes with NaN as nodata
    np.testing.assert_array_equal(np.isnan(eng.e_factor(np.array([0.0, np.nan]))), [False, True])
    # a numpy sentinel given explicitly
    assert np.isnan(eng.e_factor(np.array([0, 9999]), nodata=9999)[1])


@settings(max_examples=25, deadline=None)
@given(st.integers(1, 9), st.integers(1, 11), st.integers(0, 2**16))
def test_lookup_numpy_equals_chunked_dask(cy, cx, seed):
    rng = np.random.default_rng(seed)
    raw = rng.choice(np.array([0, 1, 2, 3, 4, 5, 6, 7, 8, 255], dtype=np.uint8), size=(9, 11))
    eager = eng.e_factor(codes_da(raw, nodata=255))
    lazy = eng.e_factor(codes_da(raw, nodata=255, chunks={"y": cy, "x": cx}))
    np.testing.assert_array_equal(lazy.values, eager.values)
    # and the plain NumPy expression
    lut = np.full(256, np.nan, dtype=np.float32)
    df = tables.load_table("engineering_measures")
    lut[df["code"]] = df["value"]
    np.testing.assert_array_equal(eager.values, lut[raw])


def test_unknown_codes_are_listed_with_counts():
    raw = np.array([0, 1, 42, 42, 42, 77], dtype=np.int32)
    with pytest.raises(UnknownCodeError, match=r"4 of 6 cells hold 2 code\(s\) not in .*: 42 \(3 cells\), 77 \(1 cells\)"):
        eng.e_factor(raw)
    with pytest.warns(UserWarning, match="set to NaN"):
        out = eng.e_factor(raw, data_validation="warn")
    assert np.isnan(out[2:]).all() and out[0] == 1.0
    # dask: raised when the block is computed, counted in that block
    lazy = eng.e_factor(codes_da(raw.reshape(2, 3), chunks={"y": 1, "x": 3}))
    with pytest.raises(UnknownCodeError, match="this block of 3 cells"):
        lazy.compute()
    # the helper counts over the whole raster (computing explicitly)
    counts = tables.unknown_codes(codes_da(raw.reshape(2, 3), chunks={"y": 1, "x": 3}), "engineering_measures")
    assert dict(zip(counts["code"], counts["cells"], strict=True)) == {42: 3, 77: 1}
    assert tables.unknown_codes(raw, "engineering_measures")["cells"].sum() == 4


# ----------------------------------------------------------------------------- user tables

def test_a_user_table_replaces_the_builtin(tmp_path):
    path = tmp_path / "my_e.csv"
    path.write_text("code,name_zh,name_en,value,source\n0,无,none,1.0,rule\n42,新梯田,new terrace,0.05,my survey 2024\n",
                    encoding="utf-8")
    np.testing.assert_allclose(eng.e_factor(np.array([0, 42]), table=path), [1.0, 0.05])
    frame = pd.DataFrame({"code": [3], "name_zh": ["区"], "name_en": ["zone"], "value": [0.5], "source": ["x"]})
    assert till.t_factor(3, table=frame) == 0.5
    assert "engineering_measures" in tables.table_names()


def _table(tmp_path, text):
    p = tmp_path / "t.csv"
    p.write_text(text, encoding="utf-8")
    return p


BAD_TABLES = [
    ("duplicate codes", "code,name_zh,name_en,value,source\n1,a,a,0.1,s\n1,b,b,0.2,s\n2,c,c,0.3,s\n2,d,d,0.3,s\n2,e,e,0.3,s\n",
     UnknownCodeError, r"2 code\(s\) appear more than once: 1 \(2 rows\), 2 \(3 rows\)"),
    ("values above 1", "code,name_zh,name_en,value,source\n1,a,a,0.1,s\n2,b,b,8.4,s\n3,c,c,12.1,s\n",
     ValueRangeError, r"2 of 3 values are unusable: 2 outside \[0, 1\] \(code: value 2: 8.4, 3: 12.1\).*percent"),
    ("negative value", "code,name_zh,name_en,value,source\n1,a,a,-0.1,s\n", ValueRangeError, "1 outside"),
    ("missing value", "code,name_zh,name_en,value,source\n1,a,a,,s\n2,b,b,x,s\n", ValueRangeError,
     r"2 missing or non-numeric \(codes \[1, 2\]\)"),
    ("missing columns", "code,value\n1,0.5\n", InputError, r"lacks 3 required column\(s\): name_zh, name_en, source"),
    ("non-integer code", "code,name_zh,name_en,value,source\n1.5,a,a,0.1,s\nx,b,b,0.2,s\n", InputError,
     r"2 of 2 rows have a missing or non-integer code"),
    ("empty table", "code,name_zh,name_en,value,source\n", InputError, "no rows"),
]


@pytest.mark.parametrize(("label", "text", "error", "message"), BAD_TABLES, ids=[b[0] for b in BAD_TABLES])
def test_bad_user_table(tmp_path, label, text, error, message):
    with pytest.raises(error, match=message) as info:
        eng.e_factor(np.array([1]), table=_table(tmp_path, text))
    assert isinstance(info.value, ErosionError)


BAD = [
    ("missing table file", lambda: eng.e_factor(1, table="/nonexistent/e.csv"), MissingFileError, "not found"),
    ("unknown built-in table", lambda: eng.e_factor(1, table="atlantis"), UnknownCodeError, "built-in tables"),
    ("unknown measure codes", lambda: eng.e_factor(np.array([3, 3, 12])), UnknownCodeError, r"12 \(1 cells\)"),
    ("unknown tillage codes", lambda: till.t_factor(np.array([9, 9])), UnknownCodeError, r"9 \(2 cells\)"),
    ("continuous raster as codes", lambda: eng.e_factor(np.array([0.084, 1.0])), InputError, "not whole-number"),
    ("unknown practice", lambda: eng.p_factor(5.0, practice="mulch"), UnknownCodeError, "mulch"),
    ("slope in percent given as degrees", lambda: eng.p_factor(np.array([10.0, 150.0])), ValueRangeError, "percent"),
    ("conflicting slope units", lambda: eng.p_factor(projected(np.ones((2, 2)), units="degree"), units="percent"),
     UnitsError, "drop one"),
    ("cropland mask not 0/1", lambda: till.t_factor(np.array([1, 1]), cropland=np.array([1, 5])), ValueRangeError,
     "neither 0"),
    ("table of the wrong kind for P", lambda: eng.p_factor(5.0, table="engineering_measures"), InputError,
     "slope_min"),
]


@pytest.mark.parametrize(("label", "call", "error", "message"), BAD, ids=[b[0] for b in BAD])
def test_bad_input(label, call, error, message):
    with pytest.raises(error, match=message) as info:
        call()
    assert isinstance(info.value, ErosionError)


def test_t_with_a_cropland_raster_stays_lazy():
    zones = codes_da(np.array([[1, 1, 0], [1, 0, 1]], dtype=np.int16), chunks={"y": 1, "x": 2})
    crop = projected(np.array([[1.0, 0.0, 1.0], [np.nan, 1.0, 1.0]]), units=None).chunk({"y": 1, "x": 2})
    t = till.t_factor(zones, table="rotation_zones", cropland=crop)
    assert isinstance(t.data, dsa.Array) and t.name == "tillage_factor" and t.attrs["units"] == "1"
    np.testing.assert_allclose(t.values, [[0.281, 1.0, 1.0], [np.nan, 1.0, 0.281]], rtol=1e-6)
    assert t.rio.crs == zones.rio.crs


def test_builtin_tables_have_sources_and_mark_recalled_values():
    for name in tables.table_names():
        df = tables.load_table(name)
        assert (df["source"].str.len() > 0).all(), name
        assert (df["name_zh"].str.len() > 0).all() and (df["name_en"].str.len() > 0).all(), name
        recalled = df["source"].str.contains(r"\[R\]")
        assert (~recalled | df["source"].str.contains("to verify")).all(), name


def test_xarray_codes_with_band_dimension_are_squeezed():
    da = codes_da(np.array([[0, 1]], dtype=np.uint8)).expand_dims(band=[1])
    out = eng.e_factor(da)
    assert out.dims == ("y", "x")
    assert isinstance(out, xr.DataArray)
