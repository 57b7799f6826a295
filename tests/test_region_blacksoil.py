"""The Northeast black-soil region plugin (erosion.regions.blacksoil; issue 8 item 4).

Published values: SL 190-2007 tolerable loss 200 t/km2/a; Gao Yan et al. (2024) 0.25 deg critical
slope and slope classes; the 2020 black-soil gully survey totals (MWR, 科技日报 2023-08-29);
AH537's snowmelt rule R_s = 1.5 P (coefficient recalled, so its rows are derived checks of the
formula); Vandaele et al. (1996) exponent 0.4; WGS84 geodesic length of one degree of the equator.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rioxarray  # noqa: F401
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import LineString, MultiLineString, Point, box

from erosion.errors import GridMismatchError, InputError, UnitsError, UnknownCodeError, ValueRangeError
from erosion.regions import blacksoil as bs
from erosion.regions.conformance import check

UTM = "EPSG:32652"


def grid(values, units=None, chunks=None):
    v = np.asarray(values, dtype=np.float64)
    ny, nx = v.shape
    da = xr.DataArray(v, dims=("y", "x"), coords={"y": 5_100_000.0 - 30.0 * (np.arange(ny) + 0.5),
                                                   "x": 500_000.0 + 30.0 * (np.arange(nx) + 0.5)},
                      attrs={"units": units} if units else {})
    da = da.rio.write_crs(UTM)
    return da.chunk(chunks) if chunks else da


# ---------------------------------------------------------------------------- contract, settings

def test_conformance():
    check(bs.REGION)


def test_region_is_experimental_and_says_so():
    assert bs.REGION.maturity == "experimental"
    assert "experimental" in bs.REGION.description.lower()


def test_tolerable_loss_is_sl190_black_soil_value():
    # SL 190-2007: 东北黑土区 200 t km-2 a-1 [V]
    assert bs.SETTINGS["tolerable_loss"] == 200.0
    assert bs.SETTINGS["critical_slope_deg"] == 0.25


def test_slope_classes_gao_2024_boundaries():
    # Gao Yan, Xie Yun et al. 2024: <= 0.25, 0.25-2, 2-6, 6-15, > 15 degrees
    s = np.array([0.0, 0.25, 0.2501, 2.0, 2.01, 6.0, 6.01, 15.0, 15.01, 45.0, np.nan])
    out = bs.slope_classes(s)
    assert out.dtype == np.uint8
    assert out.tolist() == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 0]
    assert bs.slope_classes(0.1) == 1.0


def test_slope_classes_convert_percent():
    da = grid([[0.4, 3.0], [20.0, 40.0]], units="percent")  # 0.23, 1.72, 11.3, 21.8 degrees
    assert bs.slope_classes(da).values.tolist() == [[1, 2], [4, 5]]


# ---------------------------------------------------------------------------- snowmelt erosivity

def test_snowmelt_ah537_in_si():
    # AH537: R_s = 1.5 * P (inches) in US units; 10 in -> 15 US units -> 15 * 17.02 = 255.3 SI
    assert bs.snowmelt_erosivity(254.0) == pytest.approx(255.3, rel=1e-6)
    assert bs.snowmelt_erosivity(10.0, units="in") == pytest.approx(255.3, rel=1e-6)
    # ~1.005 per mm (methods reference: "in SI about 1.0 x P(Dec-Mar, mm)")
    assert bs.snowmelt_erosivity(1.0) == pytest.approx(1.5 * 17.02 / 25.4, rel=1e-6)
    assert bs.snowmelt_erosivity(100.0, coefficient=0.0) == 0.0


def test_snowmelt_units_of_dataarray_are_used():
    mm = grid([[254.0, 50.8]], units="mm")
    inch = grid([[10.0, 2.0]], units="in")
    np.testing.assert_allclose(bs.snowmelt_erosivity(inch).values, bs.snowmelt_erosivity(mm).values, rtol=1e-6)
    out = bs.snowmelt_erosivity(inch)
    assert out.attrs["units"] == "MJ mm hm-2 h-1 a-1" and out.rio.crs == UTM
    assert "converted winter_precip" in out.attrs["history"]


def test_erosivity_with_snowmelt_adds_to_r():
    r = grid([[1500.0, 2000.0]], units="MJ mm hm-2 h-1 a-1")
    pw = grid([[254.0, 0.0]], units="mm")
    out = bs.erosivity_with_snowmelt(r, pw)
    np.testing.assert_allclose(out.values, [[1755.3, 2000.0]], rtol=1e-6)
    assert out.name == "rainfall_erosivity"
    # R in US units is converted by the library (17.02)
    r_us = grid([[100.0]], units="hundreds ft tonf in acre-1 h-1 a-1")
    assert bs.erosivity_with_snowmelt(r_us, grid([[0.0]], units="mm")).values.item() == pytest.approx(1702.0, rel=1e-6)


def test_winter_precipitation_from_daily_series():
    days = pd.date_range("2000-11-15", "2002-04-10", freq="D")
    s = pd.Series(1.0, index=days)
    # complete winters 2001 and 2002 (Dec-Mar, 121 days each, non-leap Februaries); the rest is ignored
    assert bs.winter_precipitation(s) == pytest.approx(121.0)
    # a winter cut by the record is not counted
    assert bs.winter_precipitation(s["2001-01-01":]) == pytest.approx(121.0)


def test_winter_precipitation_grid_dask_equals_numpy_and_feeds_snowmelt():
    days = pd.date_range("2003-12-01", "2005-03-31", freq="D")  # winters 2004 (leap, 122 d) and 2005 (121 d)
    rain = np.ones((days.size, 3, 4))
    rain[:, 0, 0] = 2.0
    da = xr.DataArray(rain, dims=("time", "y", "x"),
                      coords={"time": days, "y": 5_100_000.0 - 30.0 * np.arange(3), "x": 500_000.0 + 30.0 * np.arange(4)},
                      attrs={"units": "mm"}).rio.write_crs(UTM)
    eager = bs.winter_precipitation(da)
    lazy = bs.winter_precipitation(da.chunk({"time": 100, "y": 2, "x": 2}))
    assert lazy.chunks is not None
    np.testing.assert_array_equal(eager.values, lazy.values)
    assert float(eager[1, 1]) == pytest.approx(121.5) and float(eager[0, 0]) == pytest.approx(243.0)
    assert eager.attrs["units"] == "mm" and eager.rio.crs == UTM
    rs = bs.snowmelt_erosivity(lazy)
    assert rs.chunks is not None


# ---------------------------------------------------------------------------- tillage T

def test_ridge_tillage_t_table():
    out = bs.ridge_tillage_t(np.array([[0, 1, 2], [3, 4, 11]]))
    np.testing.assert_allclose(out, [[1.0, 0.431, 0.425], [0.417, 0.282, 0.60]], rtol=1e-6)


def test_ridge_tillage_t_off_cropland_is_one():
    codes = grid([[1, 1], [12, 12]])
    crop = grid([[1.0, 0.0], [1.0, np.nan]])
    out = bs.ridge_tillage_t(codes, cropland=crop)
    np.testing.assert_allclose(out.values, [[0.431, 1.0], [0.5, np.nan]], rtol=1e-6)
    assert out.rio.crs == UTM


# ---------------------------------------------------------------------------- ephemeral gullies

def test_ephemeral_index_value():
    # tan(5 deg) * (1 ha)^0.4 / 0.025 = 3.49956
    assert bs.ephemeral_gully_index(5.0, 10_000.0) == pytest.approx(np.tan(np.radians(5.0)) / 0.025, rel=1e-6)
    # the threshold: S = k A^-b exactly -> index 1, susceptible
    a_ha = 4.0
    s_cr = np.degrees(np.arctan(0.025 * a_ha ** -0.4))
    assert bs.ephemeral_gully_index(s_cr, a_ha * 1e4) == pytest.approx(1.0, rel=1e-6)
    assert bs.ephemeral_gully_susceptibility(s_cr * 1.001, a_ha * 1e4) == 1.0
    assert bs.ephemeral_gully_susceptibility(s_cr * 0.999, a_ha * 1e4) == 0.0
    assert bs.EPHEMERAL_GULLY["b"] == 0.4  # Vandaele et al. 1996 abstract


def test_ephemeral_area_units_from_dataarray():
    s = grid([[2.0, 4.0]], units="degree")
    a_m2 = grid([[5e4, 2e5]], units="m2")
    a_ha = grid([[5.0, 20.0]], units="ha")
    np.testing.assert_allclose(bs.ephemeral_gully_index(s, a_ha).values, bs.ephemeral_gully_index(s, a_m2).values,
                               rtol=1e-6)


@settings(max_examples=40, deadline=None)
@given(s1=st.floats(0.0, 60.0), ds=st.floats(0.0, 20.0), a1=st.floats(0.0, 1e7), da_=st.floats(0.0, 1e7))
def test_susceptibility_monotone_in_slope_and_area(s1, ds, a1, da_):
    lo = bs.ephemeral_gully_index(np.array([s1]), np.array([a1]))[0]
    hi_s = bs.ephemeral_gully_index(np.array([s1 + ds]), np.array([a1]))[0]
    hi_a = bs.ephemeral_gully_index(np.array([s1]), np.array([a1 + da_]))[0]
    assert hi_s >= lo and hi_a >= lo
    f = bs.ephemeral_gully_susceptibility
    assert f(s1 + ds, a1 + da_) >= f(s1, a1)


def test_raster_functions_dask_equals_numpy():
    rng = np.random.default_rng(8)
    slope = rng.uniform(0, 20, (11, 9))
    area = rng.uniform(900, 5e5, (11, 9))
    pw = rng.uniform(10, 150, (11, 9))
    eager = [bs.ephemeral_gully_index(grid(slope, "degree"), grid(area, "m2")),
             bs.ephemeral_gully_susceptibility(grid(slope, "degree"), grid(area, "m2")),
             bs.slope_classes(grid(slope, "degree")), bs.snowmelt_erosivity(grid(pw, "mm"))]
    ch = {"y": 4, "x": 3}
    lazy = [bs.ephemeral_gully_index(grid(slope, "degree", ch), grid(area, "m2", ch)),
            bs.ephemeral_gully_susceptibility(grid(slope, "degree", ch), grid(area, "m2", ch)),
            bs.slope_classes(grid(slope, "degree", ch)), bs.snowmelt_erosivity(grid(pw, "mm", ch))]
    plain = [bs.ephemeral_gully_index(slope, area), bs.ephemeral_gully_susceptibility(slope, area),
             bs.slope_classes(slope), bs.snowmelt_erosivity(pw)]
    for e, lz, p in zip(eager, lazy, plain, strict=True):
        assert lz.chunks is not None
        np.testing.assert_array_equal(e.values, lz.values)
        np.testing.assert_array_equal(e.values, p)
        assert lz.rio.crs == UTM


def test_ls_factor_cap_is_the_users():
    z = 300.0 - 0.02 * 30.0 * np.arange(40)[:, None] * np.ones((40, 5))  # 1.15 deg plane, 1200 m long
    dem = grid(z, "m")
    short = bs.ls_factor(dem, max_length=300.0)
    long = bs.ls_factor(dem, max_length=1200.0)
    assert float(long.max()) > float(short.max())
    with pytest.raises(InputError, match="max_length"):
        bs.ls_factor(dem, max_length=None)
    with pytest.raises(TypeError):
        bs.ls_factor(dem)  # no default cap


# ---------------------------------------------------------------------------- gully classes

def test_gully_classes_boundaries():
    d = np.array([0.0, 0.99, 1.0, 2.0, 2.01, 3.0, 5.0, 7.0, 7.01, np.nan])
    assert bs.grade_gullies(d, np.zeros_like(d), combine="density").tolist() == [1, 1, 2, 2, 3, 3, 4, 5, 6, 0]
    a = np.array([0.0, 0.1, 9.99, 10.0, 25.0, 25.1, 35.0, 50.0, 50.1])
    assert bs.grade_gullies(np.zeros_like(a), a, combine="area_share").tolist() == [1, 2, 2, 3, 3, 4, 4, 5, 6]
    assert bs.grade_gullies(np.array([2.5]), np.array([40.0])).tolist() == [5]  # the more severe


def test_gully_survey_2020_region_totals():
    # 2020 survey: 23.24万 km of gullies, 4029.57 km2 of gully area over 108.75万 km2 (科技日报 2023-08-29):
    # region-wide density 0.214 km/km2 (slight by density), area share 0.37 % (light by area share)
    density = 232_400.0 / 1_087_500.0
    share = 100.0 * 4029.57 / 1_087_500.0
    assert density == pytest.approx(0.2137, abs=1e-4) and share == pytest.approx(0.3705, abs=1e-4)
    assert bs.grade_gullies(np.array([density]), np.array([share]), combine="density")[0] == 1
    assert bs.grade_gullies(np.array([density]), np.array([share]), combine="area_share")[0] == 2


# ---------------------------------------------------------------------------- gully indicators

def units_frame(crs=UTM):
    # two 1 km x 1 km counties side by side: x 0-1000 (id 11), 1000-2000 (id 12), offset into UTM 52N
    x0, y0 = 500_000.0, 5_000_000.0
    g = [box(x0, y0, x0 + 1000, y0 + 1000), box(x0 + 1000, y0, x0 + 2000, y0 + 1000)]
    return gpd.GeoDataFrame({"id": [11, 12]}, geometry=g, crs=UTM).to_crs(crs)


def lines_frame(crs=UTM):
    x0, y0 = 500_000.0, 5_000_000.0
    g = [LineString([(x0 + 500, y0 + 500), (x0 + 1500, y0 + 500)]),            # 500 m in each unit
         LineString([(x0 + 100, y0 + 100), (x0 + 100, y0 + 300)]),             # 200 m in 11
         LineString([(x0 + 1900, y0 + 900), (x0 + 2300, y0 + 900)]),           # 100 m in 12, 300 m outside
         MultiLineString([[(x0 + 200, y0 + 800), (x0 + 950, y0 + 800)],
                          [(x0 + 1050, y0 + 800), (x0 + 1150, y0 + 800)]])]    # 750 m in 11, 100 m in 12
    return gpd.GeoDataFrame({"width_m": [4.0, 2.0, 10.0, 1.0]}, geometry=g, crs=UTM).to_crs(crs)


def test_gully_lines_add_up_by_unit():
    t = bs.gully_indicators(lines_frame(), units_frame(), width_column="width_m")
    assert list(t.index) == [11, 12]
    np.testing.assert_allclose(t["unit_km2"], [1.0, 1.0])
    np.testing.assert_allclose(t["gully_length_km"], [0.5 + 0.2 + 0.75, 0.5 + 0.1 + 0.1], rtol=1e-9)
    # the parts add up to the inventory, less what lies outside every unit
    assert t["gully_length_km"].sum() + t.attrs["outside_length_km"] == pytest.approx(t.attrs["inventory_length_km"])
    assert t.attrs["outside_length_km"] == pytest.approx(0.3)
    # each gully counted once, in the unit holding its largest part (the 50/50 one: the first unit)
    assert t["gully_count"].sum() == 4 and t["gully_count"].tolist() == [3, 1]
    assert t["gully_parts"].tolist() == [3, 3]
    np.testing.assert_allclose(t["density_km_per_km2"], t["gully_length_km"] / t["unit_km2"])
    # area = length x width, shared by length
    area11 = 500 * 4 + 200 * 2 + 750 * 1
    area12 = 500 * 4 + 100 * 10 + 100 * 1
    np.testing.assert_allclose(t["gully_area_km2"], [area11 / 1e6, area12 / 1e6], rtol=1e-9)
    np.testing.assert_allclose(t["area_share_pct"], [area11 / 1e4, area12 / 1e4], rtol=1e-9)
    assert t["density_class"].tolist() == [2, 1]  # 1.45 light, 0.7 slight


def test_gully_polygons_add_up_by_unit():
    x0, y0 = 500_000.0, 5_000_000.0
    g = [box(x0 + 800, y0 + 400, x0 + 1300, y0 + 420),   # 200 x 20 m in 11, 300 x 20 in 12
         box(x0 + 100, y0 + 100, x0 + 140, y0 + 600)]    # 40 x 500 m in 11
    inv = gpd.GeoDataFrame({"length_m": [500.0, 500.0]}, geometry=g, crs=UTM)
    t = bs.gully_indicators(inv, units_frame(), length_column="length_m")
    np.testing.assert_allclose(t["gully_area_km2"], [(4000 + 20000) / 1e6, 6000 / 1e6], rtol=1e-9)
    np.testing.assert_allclose(t["gully_length_km"], [0.2 + 0.5, 0.3], rtol=1e-9)  # shared by area
    assert t["gully_count"].tolist() == [1, 1]  # the crossing one belongs to 12 (its larger part)
    assert t["gully_area_km2"].sum() == pytest.approx(0.03)
    # without a surveyed length: half the perimeter of the whole outline, shared by area
    t2 = bs.gully_indicators(inv, units_frame())
    assert t2["gully_length_km"].sum() == pytest.approx((520 + 540) / 1e3)


def test_geographic_crs_gives_true_lengths():
    t_utm = bs.gully_indicators(lines_frame(), units_frame())
    t_geo = bs.gully_indicators(lines_frame("EPSG:4326"), units_frame("EPSG:4326"))
    assert t_geo.attrs["measure"].startswith("geodesic")
    # UTM distances carry the 0.9996 central scale factor: agreement to 1e-3
    np.testing.assert_allclose(t_geo["gully_length_km"], t_utm["gully_length_km"], rtol=1e-3)
    np.testing.assert_allclose(t_geo["unit_km2"], t_utm["unit_km2"], rtol=2e-3)
    assert t_geo["gully_length_km"].sum() + t_geo.attrs["outside_length_km"] == \
        pytest.approx(t_geo.attrs["inventory_length_km"], rel=1e-6)


def test_geodesic_length_of_one_degree_of_equator():
    # WGS84: 2 pi a / 360 = 111 319.49 m
    inv = gpd.GeoDataFrame(geometry=[LineString([(120.0, 0.0), (121.0, 0.0)])], crs="EPSG:4326")
    units = gpd.GeoDataFrame({"id": [1]}, geometry=[box(119.0, -1.0, 122.0, 1.0)], crs="EPSG:4326")
    t = bs.gully_indicators(inv, units)
    assert t.loc[1, "gully_length_km"] == pytest.approx(111.31949, rel=1e-6)


def test_units_split_over_rows_are_one_unit():
    u = units_frame()
    u.loc[1, "id"] = 11
    t = bs.gully_indicators(lines_frame(), u)
    assert list(t.index) == [11] and t["unit_km2"].iloc[0] == pytest.approx(2.0)
    assert t["gully_count"].iloc[0] == 4
    assert t["gully_length_km"].iloc[0] == pytest.approx(2.15)


# ---------------------------------------------------------------------------- bad inputs

def test_inventory_in_another_crs_raises_or_is_reprojected_explicitly():
    with pytest.raises(GridMismatchError, match="reproject"):
        bs.gully_indicators(lines_frame("EPSG:4326"), units_frame())
    t = bs.gully_indicators(lines_frame("EPSG:4326"), units_frame(), reproject=True)
    assert "reprojected" in t.attrs["history"]
    np.testing.assert_allclose(t["gully_length_km"], [1.45, 0.7], rtol=1e-6)


def test_inventory_without_crs():
    inv = lines_frame().set_crs(None, allow_override=True)
    with pytest.raises(InputError, match="no CRS"):
        bs.gully_indicators(inv, units_frame())


def test_inventory_of_points_is_refused():
    inv = gpd.GeoDataFrame(geometry=[Point(500_100.0, 5_000_100.0)], crs=UTM)
    with pytest.raises(InputError, match="neither lines nor polygons"):
        bs.gully_indicators(inv, units_frame())


def test_overlapping_units_are_refused():
    u = units_frame()
    u.loc[1, "geometry"] = box(500_500.0, 5_000_000.0, 501_500.0, 5_001_000.0)
    with pytest.raises(InputError, match="overlap"):
        bs.gully_indicators(lines_frame(), u)


def test_missing_columns_and_negative_widths():
    with pytest.raises(InputError, match="column 'county'"):
        bs.gully_indicators(lines_frame(), units_frame(), id_column="county")
    inv = lines_frame()
    inv.loc[0, "width_m"] = -1.0
    with pytest.raises(ValueRangeError, match="width_m"):
        bs.gully_indicators(inv, units_frame(), width_column="width_m")
    with pytest.raises(InputError, match="GeoDataFrame"):
        bs.gully_indicators(pd.DataFrame({"a": [1]}), units_frame())


def test_winter_precipitation_in_wrong_units():
    with pytest.raises(UnitsError, match="not a precipitation depth"):
        bs.snowmelt_erosivity(grid([[1.0]], units="mm d-1"))
    with pytest.raises(UnitsError, match="not a precipitation depth"):
        bs.snowmelt_erosivity(3.0, units="mm/month")
    with pytest.raises(UnitsError, match="no 'units'"):
        bs.snowmelt_erosivity(grid([[50.0]]))
    with pytest.raises(UnitsError, match="contradicts"):
        bs.snowmelt_erosivity(grid([[50.0]], units="mm"), units="in")
    with pytest.raises(ValueRangeError, match="winter_precip"):
        bs.snowmelt_erosivity(np.array([-5.0, 10.0]))
    with pytest.raises(ValueRangeError, match="winter_precip"):
        bs.snowmelt_erosivity(np.array([5000.0]))  # e.g. a sum over many years, or 0.1 mm units


def test_negative_winter_precip_on_dask_raises_when_computed():
    out = bs.snowmelt_erosivity(grid([[10.0, -1.0]], units="mm", chunks={"x": 1}))
    with pytest.raises(ValueRangeError):
        out.compute()


def test_unknown_tillage_codes():
    with pytest.raises(UnknownCodeError, match="99"):
        bs.ridge_tillage_t(np.array([0, 1, 99, 99]))


def test_slope_in_percent_without_units_is_refused():
    with pytest.raises(ValueRangeError, match="percent"):
        bs.slope_classes(np.array([120.0, 5.0]))
    with pytest.raises(InputError, match="breaks"):
        bs.slope_classes(1.0, breaks=(2.0, 1.0))


def test_ephemeral_bad_parameters():
    with pytest.raises(UnknownCodeError, match="area_unit"):
        bs.ephemeral_gully_index(3.0, 1e4, area_unit="acre")
    with pytest.raises(ValueRangeError, match="k must be"):
        bs.ephemeral_gully_susceptibility(3.0, 1e4, k=0.0)
    with pytest.raises(ValueRangeError):
        bs.ephemeral_gully_index(3.0, -5.0)


def test_daily_record_without_a_complete_winter():
    s = pd.Series(1.0, index=pd.date_range("2001-01-10", "2001-06-01", freq="D"))
    with pytest.raises(InputError, match="no complete winter"):
        bs.winter_precipitation(s)
    da = xr.DataArray(np.ones(3), dims=("time",), coords={"time": pd.date_range("2001-01-01", periods=3)})
    with pytest.raises(UnitsError):
        bs.winter_precipitation(da)


def test_gully_along_a_shared_border_counts_once():
    x0, y0 = 500_000.0, 5_000_000.0
    # 300 m along the border x = x0 + 1000, then 200 m into unit 12
    inv = gpd.GeoDataFrame(geometry=[LineString([(x0 + 1000, y0 + 100), (x0 + 1000, y0 + 400),
                                                 (x0 + 1200, y0 + 400)])], crs=UTM)
    t = bs.gully_indicators(inv, units_frame())
    assert t["gully_length_km"].sum() == pytest.approx(0.5)
    np.testing.assert_allclose(t["gully_length_km"], [0.3, 0.2])  # the border stretch goes to the first unit
    assert t["gully_count"].tolist() == [1, 0]
