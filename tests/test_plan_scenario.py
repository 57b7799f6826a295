"""erosion.plan.scenario: measures on areas, soil loss avoided, classes and area treated per unit.

Real terrain (a 120 × 120 crop of the Jacksboro DEM, geographic, so true cell areas vary by
row) with illustrative R, K, B and cropland; expected values are computed here from the factor
tables and from A of the baseline, never typed in.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import xarray as xr
from helpers import projected
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import box

import erosion
from erosion.errors import GridMismatchError, InputError, UnknownCodeError, ValueRangeError
from erosion.factors import e_factor, ls_factor, slope, soil_loss_ratio, t_factor
from erosion.factors.tables import load_table
from erosion.plan import scenario as sc

TOLERABLE = 500.0
N = 120


@pytest.fixture(scope="module")
def grid():
    dem = erosion.datasets.load("jacksboro").isel(y=slice(0, N), x=slice(0, N))
    theta = slope(dem)
    cropland = (theta < 8.0).where(theta.notnull()).astype("float32").assign_attrs(units="1")

    def full(value, units="1"):
        return xr.full_like(dem, value, dtype=np.float32).assign_attrs(units=units)

    ds = xr.Dataset({
        "rainfall_erosivity": full(1000.0, "MJ mm hm-2 h-1 a-1"),
        "soil_erodibility": full(0.0494, "t hm2 h hm-2 MJ-1 mm-1"),
        "ls_factor": ls_factor(dem),
        "biological_factor": full(0.05),
        "engineering_factor": full(1.0),
        "tillage_factor": full(1.0),
        "cropland": cropland,
        "slope": theta,
    })
    rows, cols = np.meshgrid(np.arange(N) // 60, np.arange(N) // 60, indexing="ij")
    zones = xr.DataArray((2 * rows + cols + 1).astype(np.int32), dims=dem.dims, coords=dem.coords).rio.write_nodata(-1)
    return ds, zones


def _block_polygon(ds, r0, r1, c0, c1):
    """The outline of cells r0..r1-1, c0..c1-1 (cell edges), in the grid's CRS."""
    x, y = ds.x.values, ds.y.values
    dx, dy = abs(x[1] - x[0]), abs(y[1] - y[0])
    return box(x[c0] - dx / 2, y[r1 - 1] - dy / 2, x[c1 - 1] + dx / 2, y[r0] + dy / 2)


def _unit_mask(zones, unit):
    return zones == unit


def _a(ds):
    return np.asarray(ds.erosion.csle(), dtype=np.float64)


def _hm2(ds):
    return np.asarray(erosion.cell_area(ds["ls_factor"]), dtype=np.float64) / 1.0e4


def _e_value(name):
    t = load_table("engineering_measures")
    return float(t.loc[t["name_en"] == name, "value"].iloc[0])


# ----------------------------------------------------------------------------- the terracing test

def test_terracing_sloping_cropland_reduces_soil_loss_by_e_and_moves_area_down(grid):
    ds, zones = grid
    terr = sc.terraces(slope_range=(5.0, 25.0))
    after = sc.apply(ds, terr, where=_unit_mask(zones, 1))
    a0, a1 = _a(ds), _a(after)
    theta = ds["slope"].values
    target = (zones.values == 1) & (ds["cropland"].values == 1) & (theta >= 5.0) & (theta < 25.0)
    assert target.sum() > 100  # a real share of the unit is sloping cropland
    e_terrace = _e_value("level terrace with earth bank")
    ratio = a1[target] / a0[target]
    np.testing.assert_allclose(ratio, np.float32(e_terrace) / 1.0, rtol=1e-6)  # E before = 1 (no measure)
    np.testing.assert_array_equal(a1[~target], a0[~target])
    assert np.array_equal(after["treated_by_measure"].values == 1, target)
    for name in ("engineering_factor", "treated_by_measure"):
        assert after[name].rio.crs == ds["ls_factor"].rio.crs and after[name].attrs["units"] == "1"
    assert "Liu B.Y." in after["engineering_factor"].attrs["references"]

    table = sc.compare(ds, {"terraces": after}, zones=zones, tolerable=TOLERABLE).loc["terraces"]
    hm2 = _hm2(ds)
    u1 = zones.values == 1
    before = np.nansum(a0[u1] * hm2[u1])
    avoided = np.nansum((a0 * (1.0 - np.float32(e_terrace)) * hm2)[target])
    assert table.loc[1, "soil_loss_before_t_per_a"] == pytest.approx(before, rel=1e-9)
    assert table.loc[1, "soil_loss_avoided_t_per_a"] == pytest.approx(avoided, rel=1e-5)
    assert table.loc[1, "soil_loss_after_t_per_a"] == pytest.approx(before - avoided, rel=1e-5)
    assert table.loc[1, "soil_loss_avoided_t_per_km2_a"] == pytest.approx(
        table.loc[1, "soil_loss_avoided_t_per_a"] / table.loc[1, "land_km2"], rel=1e-12)
    assert table.loc[1, "treated_km2"] == pytest.approx(hm2[target].sum() / 100.0, rel=1e-9)

    # down the classes: cell by cell no class rises, and the area above every class boundary never grows
    c0 = np.asarray(erosion.classify(ds.erosion.csle(), tolerable=TOLERABLE))
    c1 = np.asarray(erosion.classify(after.erosion.csle(), tolerable=TOLERABLE))
    assert (c1 <= c0).all() and (c1 < c0).any()
    names = [c[: -len("_km2")] for c in erosion.aggregation.CLASS_COLUMNS]
    row = table.loc[1]
    for k in range(len(names)):
        above_before = sum(row[f"{n}_before_km2"] for n in names[k:])
        above_after = sum(row[f"{n}_after_km2"] for n in names[k:])
        assert above_after <= above_before + 1e-9
    assert row["eroded_after_km2"] <= row["eroded_before_km2"] + 1e-12
    assert row["conservation_rate_change_pp"] >= 0.0
    # treated eroded land: treated cells that were light or worse before
    assert row["treated_eroded_km2"] == pytest.approx(hm2[target & (c0 >= 2)].sum() / 100.0, rel=1e-9)


def test_area_adds_up_and_units_outside_unchanged(grid):
    ds, zones = grid
    after = sc.apply(ds, [sc.terraces(), sc.contour_tillage()], where=_unit_mask(zones, 1))
    table = sc.compare(ds, {"s": after}, zones=zones, tolerable=TOLERABLE).loc["s"]
    names = [c[: -len("_km2")] for c in erosion.aggregation.CLASS_COLUMNS]
    for when in ("before", "after"):
        classes = table[[f"{n}_{when}_km2" for n in names]].sum(axis=1)
        np.testing.assert_allclose(classes, table["land_km2"], rtol=1e-12)
    land = _hm2(ds)[np.isfinite(_a(ds))].sum() / 100.0
    assert table["land_km2"].sum() == pytest.approx(land, rel=1e-9)
    for when in ("before", "after"):
        assert table[[f"{n}_{when}_km2" for n in names]].to_numpy().sum() == pytest.approx(land, rel=1e-9)
    outside = table.loc[[2, 3, 4]]
    assert (outside["soil_loss_avoided_t_per_a"] == 0).all() and (outside["treated_km2"] == 0).all()
    for n in [*names, "eroded"]:
        np.testing.assert_array_equal(outside[f"{n}_before_km2"], outside[f"{n}_after_km2"])
        assert (outside[f"{n}_change_km2"] == 0).all()
    # E and T multiply: on treated cropland A falls by E_terrace · T_contour
    ratio = _a(after) / _a(ds)
    treated = after["treated_by_measure"].values == 1
    np.testing.assert_allclose(ratio[treated], np.float32(e_factor(1)) * np.float32(t_factor(1)), rtol=1e-5)


def test_several_scenarios_in_one_table_equal_separate_runs(grid):
    ds, zones = grid
    scenarios = {"terraces": [(sc.terraces(), _unit_mask(zones, 1))],
                 "tillage_and_terraces": [(sc.contour_tillage(), _unit_mask(zones, 2)), (sc.terraces(), zones >= 3)]}
    both = sc.compare(ds, scenarios, zones=zones, tolerable=TOLERABLE)
    assert list(both.index.names) == ["scenario", "unit"]
    assert list(both.index.get_level_values("scenario").unique()) == list(scenarios)
    for name, pairs in scenarios.items():
        alone = sc.compare(ds, {name: pairs}, zones=zones, tolerable=TOLERABLE)
        pd.testing.assert_frame_equal(both.loc[[name]], alone)
    # the baseline is the same in every scenario's rows
    np.testing.assert_array_equal(both.loc["terraces", "soil_loss_before_t_per_a"],
                                  both.loc["tillage_and_terraces", "soil_loss_before_t_per_a"])


def test_polygons_and_an_equivalent_mask_give_the_same_result(grid):
    ds, zones = grid
    poly = gpd.GeoDataFrame(geometry=[_block_polygon(ds, 0, 60, 0, 60)], crs=ds["ls_factor"].rio.crs)
    by_poly = sc.compare(ds, {"s": [(sc.terraces(), poly)]}, zones=zones, tolerable=TOLERABLE)
    by_mask = sc.compare(ds, {"s": [(sc.terraces(), _unit_mask(zones, 1))]}, zones=zones, tolerable=TOLERABLE)
    pd.testing.assert_frame_equal(by_poly, by_mask)
    # units as polygons too, reprojected from a projected CRS
    units = gpd.GeoDataFrame({"id": [1, 2, 3, 4]}, geometry=[_block_polygon(ds, r, r + 60, c, c + 60)
                                                             for r in (0, 60) for c in (0, 60)], crs=poly.crs)
    by_units = sc.compare(ds, {"s": [(sc.terraces(), poly.to_crs(32616))]}, zones=units, tolerable=TOLERABLE)
    pd.testing.assert_frame_equal(by_units, by_mask, rtol=1e-9)


def test_overall_equals_one_unit_over_everything_and_the_map_of_avoided_loss(grid):
    ds, zones = grid
    scen = {"a": [(sc.terraces(), zones <= 2)], "b": [(sc.contour_tillage(), zones >= 2)]}
    table = sc.compare(ds, scen, zones=zones, tolerable=TOLERABLE)
    whole = sc.compare(ds, scen, zones=xr.full_like(zones, 7), tolerable=TOLERABLE)
    total = sc.overall(table)
    assert list(total.index) == ["a", "b"]
    pd.testing.assert_frame_equal(total, whole.xs(7, level="unit"), rtol=1e-9, check_names=False)
    after = sc.apply(ds, sc.terraces(), where=zones <= 2)
    delta = sc.avoided(ds, after)
    assert delta.attrs["units"] == "t hm-2 a-1" and delta.rio.crs == ds["ls_factor"].rio.crs
    np.testing.assert_allclose(delta.values, (ds.erosion.csle() - after.erosion.csle()).values)
    hm2 = _hm2(ds)
    assert np.nansum(delta.values * hm2) == pytest.approx(total.loc["a", "soil_loss_avoided_t_per_a"], rel=1e-5)


def test_afforestation_takes_cropland_out_with_forest_b(grid):
    ds, zones = grid
    fvc, closure = 0.6, 0.7
    measure = sc.afforestation(fvc, closure, on_cropland=True, slope_range=(15.0, 90.0))
    after = sc.apply(ds, measure, where=zones > 0)
    target = (ds["cropland"].values == 1) & (ds["slope"].values >= 15.0)
    if not target.any():  # steep cropland is rare with cropland = slope < 8°: widen the cropland rule
        ds = ds.assign(cropland=(ds["slope"] < 30.0).where(ds["slope"].notnull()).astype("float32").assign_attrs(units="1"))
        after = sc.apply(ds, measure, where=zones > 0)
        target = (ds["cropland"].values == 1) & (ds["slope"].values >= 15.0)
    assert target.any()
    b = np.float32(soil_loss_ratio(fvc, cover="forest", canopy_closure=closure))
    np.testing.assert_array_equal(after["cropland"].values[target], 0.0)
    np.testing.assert_allclose(after["biological_factor"].values[target], b)
    rkls = (ds["rainfall_erosivity"] * ds["soil_erodibility"] * ds["ls_factor"]).values.astype(np.float64)
    # off cropland A = R·K·LS·B·E (T not applied; E = 1); before, on cropland, A = R·K·LS·E·T (T = 1)
    np.testing.assert_allclose(_a(after)[target], (rkls * b)[target], rtol=1e-5)
    np.testing.assert_allclose(_a(ds)[target], rkls[target], rtol=1e-5)


def test_a_measure_leaves_cells_without_cropland_data_without_data(grid):
    """Cropland no data (NaN) makes A no data; a measure that sets the status must not invent a soil loss there."""
    ds, zones = grid
    gaps = (zones == 1) & (ds["slope"] > 20.0)
    assert int(gaps.sum()) > 10
    holed = ds.assign(cropland=ds["cropland"].where(~gaps))
    after = sc.apply(holed, sc.grass_planting(0.7), where=zones == 1)
    assert np.isnan(after["cropland"].values[gaps.values]).all()
    np.testing.assert_array_equal(np.isnan(_a(after)), np.isnan(_a(holed)))
    table = sc.compare(holed, {"grass": after}, zones=zones, tolerable=TOLERABLE)
    assert table.loc[("grass", 1), "soil_loss_avoided_t_per_a"] > 0
    # an integer mask with a nodata sentinel keeps its dtype and its sentinel
    coded = ds.assign(cropland=ds["cropland"].where(~gaps).fillna(255).astype(np.uint8).rio.write_nodata(255))
    after = sc.apply(coded, sc.grass_planting(0.7), where=zones == 1)
    assert after["cropland"].dtype == np.uint8 and (after["cropland"].values[gaps.values] == 255).all()
    pd.testing.assert_frame_equal(sc.compare(coded, {"grass": after}, zones=zones, tolerable=TOLERABLE), table)


def test_grass_planting_on_steep_land(grid):
    ds, zones = grid
    after = sc.apply(ds, sc.grass_planting(0.7, slope_range=(25.0, 90.0)), where=zones > 0)
    steep = ds["slope"].values >= 25.0
    b = np.float32(soil_loss_ratio(0.7, cover="grass"))
    np.testing.assert_allclose(after["biological_factor"].values[steep], b)
    np.testing.assert_array_equal(after["biological_factor"].values[~steep], ds["biological_factor"].values[~steep])
    assert (after["cropland"].values[steep] == 0).all()
    np.testing.assert_allclose(_a(after)[steep] / _a(ds)[steep], b / np.float32(0.05), rtol=1e-5)  # steep land: off cropland


def test_check_dam_catchment_with_the_users_own_e_row(grid):
    ds, zones = grid
    own = pd.concat([load_table("engineering_measures"),
                     pd.DataFrame([{"code": 100, "name_zh": "淤地坝控制区", "name_en": "check-dam catchment",
                                    "value": 0.6, "source": "user's survey, 2024"}])], ignore_index=True)
    measure = sc.Measure("check_dams", E=sc.measure_code(own, "check-dam catchment"), tables={"E": own})
    assert measure.values["E"] == pytest.approx(0.6)
    after = sc.apply(ds, measure, where=_unit_mask(zones, 4))
    inside = zones.values == 4
    np.testing.assert_allclose(_a(after)[inside] / _a(ds)[inside], np.float32(0.6), rtol=1e-6)


def test_rusle_cover_change_from_the_c_table():
    dem = erosion.datasets.load("jacksboro").isel(y=slice(0, 40), x=slice(0, 40))
    ds = xr.Dataset({"rainfall_erosivity": xr.full_like(dem, 1000.0).assign_attrs(units="MJ mm hm-2 h-1 a-1"),
                     "soil_erodibility": xr.full_like(dem, 0.03).assign_attrs(units="t hm2 h hm-2 MJ-1 mm-1"),
                     "ls_factor": ls_factor(dem),
                     "cover_management_factor": erosion.factors.c_from_landuse(xr.full_like(dem, 12, dtype=np.int16),
                                                                               table="china_lucc_c")})
    measure = sc.cover_change(32, name="to_grassland")  # dry farmland → medium-cover grassland
    after = sc.apply(ds, measure, where=xr.full_like(dem, True, dtype=bool))
    t = load_table("china_lucc_c").set_index("code")["value"]
    a0 = np.asarray(ds.erosion.rusle(), dtype=np.float64)
    a1 = np.asarray(after.erosion.rusle(), dtype=np.float64)
    np.testing.assert_allclose(a1 / a0, np.float32(t[32]) / np.float32(t[12]), rtol=1e-5)
    zones = xr.full_like(dem, 1, dtype=np.int32)
    table = sc.compare(ds, {"grass": after}, zones=zones, tolerable=TOLERABLE)
    assert table.loc[("grass", 1), "soil_loss_avoided_t_per_a"] > 0
    with pytest.raises(InputError, match="RUSLE"):
        sc.apply(ds, sc.terraces(), where=zones == 1)


def test_dask_factors_give_the_same_table(grid):
    ds, zones = grid
    scen = {"s": [(sc.terraces(), _unit_mask(zones, 1))]}
    eager = sc.compare(ds, scen, zones=zones, tolerable=TOLERABLE)
    lazy = sc.compare(ds.chunk({"y": 50, "x": 50}), scen, zones=zones, tolerable=TOLERABLE)
    pd.testing.assert_frame_equal(lazy, eager)


def test_apply_chains_and_every_e_code_scales_a_by_its_table_value(grid):
    ds, zones = grid
    first = sc.apply(ds, sc.terraces(), where=_unit_mask(zones, 1))
    second = sc.apply(first, sc.contour_tillage(), where=_unit_mask(zones, 2))
    crop = ds["cropland"].values == 1
    expected = crop & ((zones.values == 1) | (zones.values == 2))
    np.testing.assert_array_equal(second["treated_by_measure"].values == 1, expected)
    a0 = _a(ds)
    for code, value in load_table("engineering_measures").set_index("code")["value"].items():
        a1 = _a(sc.apply(ds, sc.Measure("m", E=int(code)), where=zones > 0))
        np.testing.assert_allclose(a1[np.isfinite(a0)] / a0[np.isfinite(a0)], np.float32(value), rtol=1e-6)


def test_reapplying_the_present_measure_treats_nothing(grid):
    ds, zones = grid
    once = sc.apply(ds, sc.terraces(), where=_unit_mask(zones, 1)).drop_vars("treated_by_measure")
    again = sc.compare(once, {"again": [(sc.terraces(), _unit_mask(zones, 1))]}, zones=zones, tolerable=TOLERABLE)
    assert (again["treated_km2"] == 0).all() and (again["soil_loss_avoided_t_per_a"] == 0).all()


def test_a_baseline_treated_before_counts_only_the_new_treatment(grid):
    """A present state made by apply carries its treated mask: a scenario elsewhere does not count it again."""
    ds, zones = grid
    base = sc.apply(ds, sc.terraces(), where=_unit_mask(zones, 1))
    assert (base["treated_by_measure"].values[zones.values == 1] == 1).any()
    table = sc.compare(base, {"s": [(sc.contour_tillage(), _unit_mask(zones, 2))]}, zones=zones, tolerable=TOLERABLE)
    fresh = sc.compare(base.drop_vars("treated_by_measure"), {"s": [(sc.contour_tillage(), _unit_mask(zones, 2))]},
                       zones=zones, tolerable=TOLERABLE)
    pd.testing.assert_frame_equal(table, fresh)
    assert table.loc[("s", 1), "treated_km2"] == 0.0 and table.loc[("s", 2), "treated_km2"] > 0.0


def test_apply_leaves_the_callers_mask_alone(grid):
    """The measure's restrictions (cropland, slope) narrow a copy: one mask serves several measures."""
    ds, zones = grid
    for mask in (zones == 1, np.asarray(zones) == 1):
        before = np.array(mask, copy=True)
        sc.apply(ds, sc.terraces(slope_range=(5.0, 25.0)), where=mask)
        np.testing.assert_array_equal(np.asarray(mask), before)
    shared = zones == 2
    table = sc.compare(ds, {"t": [(sc.terraces(slope_range=(5.0, 25.0)), shared), (sc.Measure("m", E=7), shared)]},
                       zones=zones, tolerable=TOLERABLE)
    off_cropland = (zones.values == 2) & (ds["cropland"].values == 0) & np.isfinite(_a(ds))
    assert off_cropland.any()
    assert table.loc[("t", 2), "treated_km2"] >= _hm2(ds)[off_cropland].sum() / 100.0 * (1 - 1e-12)


def test_a_factor_the_model_does_not_apply_there_treats_nothing(grid):
    ds, zones = grid
    crop = ds["cropland"].values == 1
    after = sc.apply(ds, sc.Measure("mulch", B=0.01), where=zones > 0)  # B is not applied on cropland (CSLE rule)
    np.testing.assert_array_equal(after["treated_by_measure"].values == 1, ~crop & np.isfinite(_a(ds)))
    np.testing.assert_array_equal(_a(after)[crop], _a(ds)[crop])


def test_rusle_support_practice_by_slope():
    dem = erosion.datasets.load("jacksboro").isel(y=slice(0, 40), x=slice(0, 40))
    theta = slope(dem)
    ds = xr.Dataset({"R": xr.full_like(dem, 1000.0).assign_attrs(units="MJ mm hm-2 h-1 a-1"),
                     "K": xr.full_like(dem, 0.03).assign_attrs(units="t hm2 h hm-2 MJ-1 mm-1"),
                     "LS": ls_factor(dem), "C": xr.full_like(dem, 0.3).assign_attrs(units="1")})
    after = sc.apply(ds, sc.Measure("contouring", P="contouring"), where=xr.full_like(dem, True, dtype=bool), slope=theta)
    p = np.asarray(erosion.factors.p_factor(theta, practice="contouring"), dtype=np.float64)
    a0 = np.asarray(ds.erosion.rusle(), dtype=np.float64)
    a1 = np.asarray(after.erosion.rusle(), dtype=np.float64)
    np.testing.assert_allclose(a1 / a0, p, rtol=1e-6)
    np.testing.assert_array_equal(after["treated_by_measure"].values == 1, p < 1)


_E = load_table("engineering_measures").set_index("code")["value"]


@settings(max_examples=12, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), code=st.sampled_from(sorted(int(c) for c in _E.index)))
def test_hand_arithmetic_on_one_hectare_cells(seed, code):
    """10 × 10 cells of 100 m (1 hm² each): soil loss in t/a is the plain sum of A, by hand."""
    rng = np.random.default_rng(seed)
    shape = (10, 10)
    ls = rng.uniform(0.1, 20.0, shape)
    crop = rng.random(shape) < 0.5
    b = rng.uniform(0.01, 1.0, shape)
    t = rng.choice([1.0, 0.431], shape)
    e_codes = rng.choice(np.array(sorted(_E.index)), shape)
    e0 = _E.reindex(e_codes.ravel()).to_numpy().reshape(shape)
    r, k = 3000.0, 0.03
    da = lambda v: projected(np.asarray(v, dtype=np.float32), cell=100.0, units="1")  # noqa: E731
    ds = xr.Dataset({"R": projected(np.full(shape, r, np.float32), cell=100.0, units="MJ mm hm-2 h-1 a-1"),
                     "K": projected(np.full(shape, k, np.float32), cell=100.0, units="t hm2 h hm-2 MJ-1 mm-1"),
                     "LS": da(ls), "B": da(b), "E": erosion.factors.e_factor(da(e_codes).astype(np.int16)), "T": da(t),
                     "cropland": da(crop)})
    zones = projected((np.arange(100).reshape(shape) // 50 + 1).astype(np.int32), cell=100.0, units=None)
    where = rng.random(shape) < 0.6
    table = sc.compare(ds, {"s": [(sc.Measure("m", E=code, on_cropland=True), where)]}, zones=zones,
                       tolerable=TOLERABLE).loc["s"]
    f32 = np.float32
    a0 = (f32(r) * f32(k) * ls.astype(f32) * np.where(crop, f32(1), b.astype(f32)) * e0.astype(f32)
          * np.where(crop, t, 1).astype(f32))
    treated = where & crop
    e1 = np.where(treated, f32(_E[code]), e0.astype(f32))
    a1 = a0 / e0.astype(f32) * e1 if (e0 > 0).all() else None
    for unit in (1, 2):
        u = zones.values == unit
        assert table.loc[unit, "land_km2"] == pytest.approx(u.sum() / 100.0, rel=1e-12)
        assert table.loc[unit, "soil_loss_before_t_per_a"] == pytest.approx(a0[u].astype(np.float64).sum(), rel=1e-5)
        if a1 is not None:
            assert table.loc[unit, "soil_loss_after_t_per_a"] == pytest.approx(a1[u].astype(np.float64).sum(), rel=1e-5)
        changed = treated & (e1 != e0.astype(f32))
        assert table.loc[unit, "treated_km2"] == pytest.approx((changed & u).sum() / 100.0, rel=1e-12)
        names = [c[: -len("_km2")] for c in erosion.aggregation.CLASS_COLUMNS]
        for when in ("before", "after"):
            assert sum(table.loc[unit, f"{n}_{when}_km2"] for n in names) == pytest.approx(u.sum() / 100.0, rel=1e-12)
        if (e1 <= e0.astype(f32)).all():
            assert table.loc[unit, "eroded_after_km2"] <= table.loc[unit, "eroded_before_km2"] + 1e-12
            assert table.loc[unit, "soil_loss_avoided_t_per_a"] >= 0


# ----------------------------------------------------------------------------- bad input

def test_bad_inputs_give_clear_errors(grid):
    ds, zones = grid
    with pytest.raises(UnknownCodeError, match="99"):
        sc.Measure("terraces", E=99)
    with pytest.raises(UnknownCodeError, match="unknown factor name"):
        sc.Measure("x", Q=0.5)
    with pytest.raises(InputError, match="integer code"):
        sc.Measure("x", E=0.3)
    with pytest.raises(UnknownCodeError, match="no row named"):
        sc.terraces("flying terrace")
    with pytest.raises(ValueRangeError):
        sc.Measure("x", B=1.5)
    with pytest.raises(ValueRangeError, match="slope_range"):
        sc.Measure("x", E=1, slope_range=(25, 5))
    with pytest.raises(InputError, match="both CSLE and RUSLE"):
        sc.Measure("x", E=1, C=12)
    with pytest.raises(InputError, match="changes nothing"):
        sc.Measure("x")
    other = zones.isel(y=slice(0, 100))
    with pytest.raises(GridMismatchError):
        sc.apply(ds, sc.terraces(), where=other == 1)
    shifted = (zones == 1).assign_coords(x=zones.x + 0.01)
    with pytest.raises(GridMismatchError):
        sc.apply(ds, sc.terraces(), where=shifted)
    with pytest.raises(InputError, match="cropland"):
        sc.apply(ds.drop_vars("cropland"), sc.terraces(), where=zones == 1)
    with pytest.raises(InputError, match="slope"):
        sc.apply(ds.drop_vars("slope"), sc.terraces(slope_range=(5, 25)), where=zones == 1)
    with pytest.raises(InputError, match="one per measure"):
        sc.apply(ds, [sc.terraces(), sc.contour_tillage()], where=[zones == 1])
    with pytest.raises(InputError, match="CRS"):
        sc.apply(ds, sc.terraces(), where=gpd.GeoDataFrame(geometry=[_block_polygon(ds, 0, 10, 0, 10)]))
    with pytest.raises(InputError, match="Dataset"):
        sc.compare(ds, {"s": "terraces"}, zones=zones, tolerable=TOLERABLE)
    with pytest.raises(InputError, match="non-empty dict"):
        sc.compare(ds, {}, zones=zones, tolerable=TOLERABLE)
    holes = ds.assign(biological_factor=ds["biological_factor"].where(zones != 1))
    with pytest.raises(InputError, match="keep every land cell"):
        sc.compare(ds, {"holes": holes}, zones=zones, tolerable=TOLERABLE)
