"""Extreme-rainfall warnings (erosion.plan.events): event soil loss, levels, hot spots, unit table."""

from __future__ import annotations

import importlib.resources
import warnings

import numpy as np
import pandas as pd
import pytest
import rioxarray  # noqa: F401
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st

import erosion
from erosion.errors import InputError, UnitsError, ValueRangeError
from erosion.factors import rainfall as rf
from erosion.plan import events as ev

CELL = 100.0  # m: a cell is 0.01 km² = 1 hm²


def grid(values, chunks=None, units=None):
    v = np.asarray(values)
    ny, nx = v.shape
    da = xr.DataArray(v, dims=("y", "x"), coords={"y": 4_000_000.0 - CELL * (np.arange(ny) + 0.5),
                                                  "x": 500_000.0 + CELL * (np.arange(nx) + 0.5)})
    da = da.rio.write_crs("EPSG:32650")
    if units is not None:
        da = da.assign_attrs(units=units)
    return da.chunk(chunks) if chunks else da


K_UNITS = "t hm2 h hm-2 MJ-1 mm-1"


# --------------------------------------------------------------------------- event soil loss

def test_event_soil_loss_is_csle_relabelled_with_the_chain_kept():
    template = grid(np.zeros((3, 4)))
    R = rf.event_erosivity(ei30=1500.0, template=template, as_r=True)
    K = grid(np.full((3, 4), 0.04), units=K_UNITS)
    LS = grid(np.arange(12.0).reshape(3, 4) + 0.5, units="1")
    loss = ev.event_soil_loss(R, K, LS, B=0.2, E=0.5, T=1.0)
    expected = erosion.csle(R, K, LS, 0.2, 0.5, 1.0)
    np.testing.assert_array_equal(loss.values, expected.values)  # csle's kernel, not a copy of it
    np.testing.assert_allclose(loss.values, 1500.0 * 0.04 * LS.values * 0.2 * 0.5, rtol=1e-6)
    assert loss.name == "event_soil_loss"
    assert loss.attrs["units"] == "t hm-2" and loss.attrs["long_name"] == "soil loss of one rainfall event"
    assert loss.attrs["erosivity_period"] == "one event"
    assert "Liu B.Y." in loss.attrs["references"] and "Agriculture Handbook 703" in loss.attrs["references"]
    history = loss.attrs["history"].splitlines()
    assert "csle: A = R*K*LS*B*E*T" in history[0] and "event_soil_loss" in history[1]
    assert loss.rio.crs == template.rio.crs


def test_event_units_and_rusle_and_mixing():
    template = grid(np.zeros((2, 2)))
    R = rf.event_erosivity(ei30=800.0, template=template)  # not as_r: units MJ mm hm-2 h-1 say "one event"
    assert R.attrs["units"] == "MJ mm hm-2 h-1"
    loss = ev.event_soil_loss(R, 0.03, 2.0, C=0.1, P=0.5)
    np.testing.assert_allclose(loss.values, 800.0 * 0.03 * 2.0 * 0.1 * 0.5, rtol=1e-6)
    assert "rusle" in loss.attrs["history"]
    with pytest.raises(InputError, match="not both"):
        ev.event_soil_loss(R, 0.03, 2.0, B=0.5, C=0.1)


def test_an_annual_R_is_refused_without_event_true():
    annual = grid(np.full((2, 2), 4000.0), units="MJ mm hm-2 h-1 a-1")
    with pytest.raises(InputError, match=r"not marked as the erosivity of one event.*event=True"):
        ev.event_soil_loss(annual, 0.03, 1.0)
    with pytest.raises(InputError, match=r"float.*event=True"):
        ev.event_soil_loss(4000.0, 0.03, 1.0)
    with pytest.raises(InputError, match="ndarray"):
        ev.event_soil_loss(np.full((2, 2), 4000.0), 0.03, 1.0)
    loss = ev.event_soil_loss(annual, 0.03, 1.0, event=True)
    assert loss.attrs["units"] == "t hm-2" and "event=True" in loss.attrs["history"]
    assert ev.event_soil_loss(4000.0, 0.03, 1.0, event=True) == pytest.approx(120.0, rel=1e-6)
    with pytest.raises(InputError, match="True or False"):
        ev.event_soil_loss(annual, 0.03, 1.0, event="yes")


def test_an_annual_loss_is_refused_by_the_warnings():
    annual = erosion.csle(grid(np.full((2, 2), 4000.0), units="MJ mm hm-2 h-1 a-1"), 0.03, 1.0)
    for fn in (ev.warning_level, ev.hot_spots):
        with pytest.raises(UnitsError, match="per year"):
            fn(annual)


# --------------------------------------------------------------------------- the level table

def test_the_package_table():
    t = ev.warning_levels()
    assert t["level"].tolist() == [0, 1, 2, 3, 4]
    assert t["name"].tolist() == ["none", "blue", "yellow", "orange", "red"]
    assert t["exceeds_t_per_km2"].tolist() == [0.0, 500.0, 2500.0, 5000.0, 15000.0]


@pytest.mark.parametrize(("edit", "error", "match"), [
    (lambda t: t.drop(columns="exceeds_t_per_km2"), InputError, r"missing columns \['exceeds_t_per_km2'\]"),
    (lambda t: t.drop(columns=["name", "level"]), InputError, r"missing columns \['level', 'name'\]"),
    (lambda t: t.assign(exceeds_t_per_km2=[0.0, 500.0, 5000.0, 2500.0, 15000.0]), ValueRangeError,
     r"increase strictly.*level 3 \(2500\) does not exceed level 2 \(5000\)"),
    (lambda t: t.assign(exceeds_t_per_km2=[0.0, 500.0, 500.0, 5000.0, 15000.0]), ValueRangeError, "increase strictly"),
    (lambda t: t.assign(exceeds_t_per_km2=[100.0, 500.0, 2500.0, 5000.0, 15000.0]), ValueRangeError, "level 0"),
    (lambda t: t.assign(exceeds_t_per_km2=[0.0, -5.0, 2500.0, 5000.0, 15000.0]), ValueRangeError, ">= 0"),
    (lambda t: t.assign(level=[0, 1, 3, 2, 4]), InputError, "0, 1, 2"),
    (lambda t: t.assign(name=["none", "blue", "blue", "orange", "red"]), InputError, "unique"),
    (lambda t: t.assign(name=["none", "Blue level", "yellow", "orange", "red"]), InputError, "identifier"),
    (lambda t: t.iloc[:1], InputError, "at least one warning level"),
])
def test_bad_level_tables_are_refused(edit, error, match):
    with pytest.raises(error, match=match):
        ev.warning_levels(edit(ev.warning_levels()))


def test_a_table_of_ones_own_from_csv(tmp_path):
    path = tmp_path / "levels.csv"
    path.write_text("# two levels\nlevel,name,exceeds_t_per_km2\n0,calm,0\n1,alert,1000\n", encoding="utf-8")
    t = ev.warning_levels(path)
    assert t["name"].tolist() == ["calm", "alert"] and t.attrs["source"] == str(path)
    loss = grid([[5.0, 10.0, 10.5]], units="t hm-2")  # 500, 1000, 1050 t km-2
    assert ev.warning_level(loss, levels=path).values.tolist() == [[0, 0, 1]]  # 1000 does not exceed 1000
    with pytest.raises(InputError, match="not found"):
        ev.warning_levels(tmp_path / "missing.csv")
    (tmp_path / "bad.csv").write_text("level,name\n0,a\n1,b\n", encoding="utf-8")
    with pytest.raises(InputError, match="missing columns"):
        ev.warning_levels(tmp_path / "bad.csv")


# --------------------------------------------------------------------------- by hand

LOSS = [[1.0, 6.0, 30.0], [60.0, 200.0, np.nan]]  # t hm-2: M = 100, 600, 3000 / 6000, 20000, NaN t km-2
ZONES = [[1, 1, 1], [2, 2, 2]]


def test_levels_hot_spots_and_classes_by_hand():
    loss = grid(LOSS, units="t hm-2")
    level = ev.warning_level(loss)
    assert level.values.tolist() == [[0, 1, 2], [3, 4, 255]]
    assert level.name == "event_warning_level" and level.attrs["flag_meanings"] == "none blue yellow orange red"
    assert ev.hot_spots(loss).values.tolist() == [[0, 0, 0], [1, 1, 255]]  # > 50 t hm-2
    assert ev.hot_spots(loss, 6.0).values.tolist() == [[0, 0, 1], [1, 1, 255]]  # 6 does not exceed 6
    classes = ev.event_intensity_class(loss, tolerable=500)
    # SL 190 on the event's modulus: 100 < 500 slight; 600 light; 3000 moderate; 6000 intense; 20000 severe
    assert classes.values.tolist() == [[1, 2, 3], [4, 6, 0]]
    assert "for comparison only" in classes.attrs["comment"]
    np.testing.assert_array_equal(ev.warning_level(np.array(LOSS)), level.values)  # NumPy in, NumPy out
    assert ev.warning_level(30.0) == 2 and ev.hot_spots(60.0) == 1 and ev.hot_spots(float("nan")) == 255
    in_km2 = grid(np.array(LOSS) * 100.0, units="t km-2")
    np.testing.assert_array_equal(ev.warning_level(in_km2).values, level.values)


def test_table_by_hand():
    table = ev.warning_table(grid(LOSS, units="t hm-2"), grid(np.array(ZONES, dtype=np.int32)))
    assert table.index.tolist() == [2, 1]  # red before yellow
    u1, u2 = table.loc[1], table.loc[2]
    # unit 1: three cells of 0.01 km², 100 + 600 + 3000 t km-2
    assert u1["land_km2"] == pytest.approx(0.03)
    assert u1["event_soil_loss_t"] == pytest.approx(37.0)
    assert u1["event_soil_loss_t_per_km2"] == pytest.approx(3700.0 / 3)
    assert [u1[f"{n}_km2"] for n in ("none", "blue", "yellow", "orange", "red")] == pytest.approx([0.01, 0.01, 0.01, 0, 0])
    assert u1["hot_spot_km2"] == 0 and u1["hot_spot_share_pct"] == 0 and not u1["hot_spot_unit"]
    assert u1["warning_level"] == 2 and u1["warning_name"] == "yellow"  # 1/3 at yellow or above >= 10 %
    assert u1["coverage_pct"] == pytest.approx(100.0)
    # unit 2: the NaN cell is no land; 6000 + 20000 t km-2 on 0.02 km²
    assert u2["land_km2"] == pytest.approx(0.02)
    assert u2["event_soil_loss_t"] == pytest.approx(260.0)
    assert u2["event_soil_loss_t_per_km2"] == pytest.approx(13000.0)
    assert u2["orange_km2"] == pytest.approx(0.01) and u2["red_km2"] == pytest.approx(0.01)
    assert u2["hot_spot_share_pct"] == pytest.approx(100.0) and u2["hot_spot_unit"]
    assert u2["warning_level"] == 4 and u2["warning_name"] == "red"
    assert u2["coverage_pct"] == pytest.approx(200.0 / 3)
    # the unit's rule: the highest level covering at least X % of its land
    strict = ev.warning_table(grid(LOSS, units="t hm-2"), grid(np.array(ZONES)), level_cover_pct=50.0)
    assert strict.loc[1, "warning_level"] == 1 and strict.loc[2, "warning_level"] == 4
    strict = ev.warning_table(grid(LOSS, units="t hm-2"), grid(np.array(ZONES)), level_cover_pct=60.0)
    assert strict.loc[1, "warning_level"] == 1 and strict.loc[2, "warning_level"] == 3  # orange or above: 100 %
    # a unit is a hot spot by its mean loss too
    by_mean = ev.warning_table(grid(LOSS, units="t hm-2"), grid(np.array(ZONES)), unit_mean_loss=1000.0)
    assert by_mean.loc[1, "hot_spot_unit"]
    assert table.attrs["level_cover_pct"] == 10.0


def test_table_rows_for_absent_units_and_polygons():
    gpd = pytest.importorskip("geopandas")
    from shapely.geometry import box

    loss, zones = grid(LOSS, units="t hm-2"), grid(np.array(ZONES))
    table = ev.warning_table(loss, zones, zone_ids=[1, 2, 9])
    assert table.index.tolist() == [2, 1, 9]  # the unit without land last
    assert table.loc[9, "land_km2"] == 0 and pd.isna(table.loc[9, "warning_level"])
    x0, y0 = 500_000.0, 4_000_000.0
    polys = gpd.GeoDataFrame({"id": [1, 2]}, geometry=[box(x0, y0 - 100, x0 + 300, y0), box(x0, y0 - 200, x0 + 300, y0 - 100)],
                             crs="EPSG:32650")
    by_polygon = ev.warning_table(loss, polys)
    assert by_polygon["polygon_km2"].tolist() == pytest.approx([0.03, 0.03])
    cols = ["land_km2", "event_soil_loss_t", "warning_level", "hot_spot_km2"]
    pd.testing.assert_frame_equal(by_polygon[cols], ev.warning_table(loss, zones)[cols])


def test_bad_parameters():
    loss, zones = grid(LOSS, units="t hm-2"), grid(np.array(ZONES))
    with pytest.raises(ValueRangeError, match="level_cover_pct"):
        ev.warning_table(loss, zones, level_cover_pct=0)
    with pytest.raises(ValueRangeError, match="unit_mean_loss"):
        ev.warning_table(loss, zones, unit_mean_loss=float("nan"))
    with pytest.raises(ValueRangeError, match="threshold"):
        ev.hot_spots(loss, -1.0)
    with pytest.raises(ValueRangeError, match="outside the valid range"):
        ev.warning_level(grid([[-1.0, 2.0]], units="t hm-2"))
    with pytest.raises(InputError, match="cell_area"):
        ev.warning_table(np.array(LOSS), np.array(ZONES))
    with pytest.raises(InputError, match="zones"):
        ev.warning_table(loss, None)


def test_dask_stays_lazy_and_agrees():
    eager = grid(LOSS, units="t hm-2")
    lazy = grid(LOSS, chunks={"y": 1, "x": 2}, units="t hm-2")
    for fn in (ev.warning_level, ev.hot_spots):
        out = fn(lazy)
        assert out.chunks is not None
        np.testing.assert_array_equal(out.values, fn(eager).values)
    pd.testing.assert_frame_equal(ev.warning_table(lazy, grid(np.array(ZONES))), ev.warning_table(eager, grid(np.array(ZONES))))


def test_the_grids_of_a_dask_event_are_not_computed():
    import dask

    def refuse(*args, **kwargs):
        raise AssertionError("computed behind the user's back")

    R = rf.event_erosivity(ei30=1500.0, template=grid(np.zeros((6, 8)), chunks={"y": 3, "x": 4}), as_r=True)
    with dask.config.set(scheduler=refuse):
        warn = ev.event_warnings(R, 0.03, 2.0, B=0.5, tolerable=500)
    assert all(x.chunks is not None for x in (warn.soil_loss, warn.level, warn.hot_spot, warn.intensity_class))
    assert (warn.level.values == 2).all()  # 1500 * 0.03 * 2 * 0.5 = 45 t hm-2 = 4500 t km-2: yellow


# --------------------------------------------------------------------------- doubling: the event test

MONOTONE = ("land_km2", "warning_level", "hot_spot_unit")


def _check_doubling(one, two, factor):
    a1, a2 = np.asarray(one.soil_loss, dtype=np.float64), np.asarray(two.soil_loss, dtype=np.float64)
    np.testing.assert_allclose(a2, factor * a1, rtol=1e-6, equal_nan=True)
    for what in ("level", "hot_spot"):
        g1, g2 = np.asarray(getattr(one, what)), np.asarray(getattr(two, what))
        np.testing.assert_array_equal(g1 == 255, g2 == 255)
        assert (g2[g1 != 255] >= g1[g1 != 255]).all(), what
    if one.intensity_class is not None:
        c1, c2 = np.asarray(one.intensity_class), np.asarray(two.intensity_class)
        assert (c2 >= c1).all()
    t1, t2 = one.table.sort_index(), two.table.sort_index()
    np.testing.assert_allclose(t1["land_km2"], t2["land_km2"], rtol=0)
    np.testing.assert_allclose(t2["event_soil_loss_t"], factor * t1["event_soil_loss_t"], rtol=1e-6)
    land = t1["land_km2"] > 0
    assert (t2["warning_level"][land] >= t1["warning_level"][land]).all()
    assert (t2["hot_spot_unit"] | ~t1["hot_spot_unit"]).all()
    for t in (t1, t2):  # areas by level add up to the land area
        np.testing.assert_allclose(t[[f"{n}_km2" for n in one.levels["name"]]].sum(axis=1), t["land_km2"], rtol=1e-12)


@pytest.fixture(scope="module")
def schwingbach_ei30():
    spotpy = pytest.importorskip("spotpy", reason="spotpy (dev extra) holds driver_data_site24.csv")
    path = importlib.resources.files(spotpy) / "examples" / "cmf_data" / "driver_data_site24.csv"
    rate = pd.read_csv(path, comment="#", parse_dates=["time"], index_col="time")["rain_mmday"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # hourly: I30 underestimated, said by storm_erosivity
        storms = rf.storm_erosivity(rate, units="mm d-1").storms
    return float(storms["EI30"].max())


def test_doubling_a_real_storm_on_the_demo_dem(schwingbach_ei30):
    """The issue's event test: the Schwingbach storm (spotpy) on the demo DEM, cropped; doubling the
    event erosivity doubles the event soil loss and never lowers a level, class or hot spot."""
    from erosion.factors import ls_factor, slope

    dem = erosion.datasets.load("jacksboro").isel(y=slice(0, 120), x=slice(0, 150))
    ls = ls_factor(dem)
    cropland = (slope(dem) < 5.0).where(ls.notnull()).assign_attrs(units="1")
    K = xr.full_like(dem, 0.0494).assign_attrs(units=K_UNITS)
    zones = xr.DataArray((np.arange(120)[:, None] // 40) * 3 + np.arange(150)[None, :] // 50 + 1,
                         dims=dem.dims, coords=dem.coords)
    runs = {}
    for factor in (1.0, 2.0):
        R = rf.event_erosivity(ei30=factor * schwingbach_ei30, template=dem, as_r=True)
        runs[factor] = ev.event_warnings(R, K, ls, B=0.0103, E=1.0, T=0.431, cropland=cropland, zones=zones,
                                         tolerable=500)
    one, two = runs[1.0], runs[2.0]
    assert schwingbach_ei30 > 1000.0  # the cloudburst of the record
    _check_doubling(one, two, 2.0)
    assert one.table.shape[0] == 9 and one.soil_loss.attrs["units"] == "t hm-2"
    assert (np.asarray(two.level) > np.asarray(one.level)).any()  # the storm moves some cells up
    area = erosion.cell_area(dem)
    land = float(area.where(one.soil_loss.notnull()).sum()) / 1e6
    assert one.table["land_km2"].sum() == pytest.approx(land, rel=1e-12)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), factor=st.floats(1.0, 8.0), cover=st.floats(1.0, 100.0))
def test_a_larger_event_never_lowers_anything(seed, factor, cover):
    rng = np.random.default_rng(seed)
    shape = (6, 7)
    R = 10.0 ** rng.uniform(0.0, 3.5, shape)  # 1 .. 3162: cells spread over every level
    K = rng.uniform(0.0, 0.08, shape)
    LS = rng.gamma(1.5, 3.0, shape)
    B = rng.uniform(0.0, 1.0, shape)
    R[rng.random(shape) < 0.1] = np.nan
    zones = rng.integers(-1, 4, shape)
    kw = {"zones": zones, "cell_area": rng.uniform(100.0, 1000.0, shape), "event": True, "tolerable": 500.0,
          "level_cover_pct": cover, "hot_spot_threshold": 20.0, "zone_ids": [0, 1, 2, 3]}
    one = ev.event_warnings(R, K, LS, B, **kw)
    two = ev.event_warnings(factor * R, K, LS, B, **kw)
    _check_doubling(one, two, factor)
