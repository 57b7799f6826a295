"""Treatment urgency and suitability of measures (erosion.plan.urgency, issue 11 part 2).

Urgency runs on the real demo DEM (Jacksboro, cropped) with the demo's illustrative factors,
except that cropland is every cell below 15° (illustrative too: the demo's cropland, below 5°,
holds no sloping cropland) and 3 × 3 block zones. Suitability and distances are checked on
hand-made grids whose answers are computed here by hand.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st

import erosion
from erosion.demo import _blocks
from erosion.errors import GridMismatchError, InputError, UnknownCodeError, ValueRangeError
from erosion.factors import e_factor, k_epic, ls_factor, slope, soil_loss_ratio, t_factor
from erosion.grid import cell_sizes, row_areas
from erosion.plan import urgency as u

CELL = 30.0


def projected(values, cell=CELL, units=None):
    values = np.asarray(values)
    ny, nx = values.shape
    da = xr.DataArray(values, dims=("y", "x"),
                      coords={"y": 4_000_000.0 - (np.arange(ny) + 0.5) * cell, "x": 500_000.0 + (np.arange(nx) + 0.5) * cell})
    if units:
        da.attrs["units"] = units
    return da.rio.write_crs("EPSG:32650")


# ----------------------------------------------------------------------------- demo chain

@pytest.fixture(scope="module")
def demo():
    dem = erosion.datasets.load("jacksboro").isel(y=slice(0, 150), x=slice(0, 180)).load()
    theta = slope(dem)
    ls = ls_factor(dem)
    cropland = (theta < 15.0).where(theta.notnull()).assign_attrs(units="1")
    R = xr.full_like(dem, 4000.0).assign_attrs(units="MJ mm hm-2 h-1 a-1")
    texture = xr.full_like(dem, 1.0).assign_attrs(units="percent")
    K = k_epic(texture * 20.0, texture * 60.0, texture * 20.0, texture * 1.0)
    B = soil_loss_ratio(0.9, cover="forest", canopy_closure=0.8)
    A = erosion.csle(R, K, ls, B=B, E=e_factor(0), T=t_factor(1), cropland=cropland)
    classes = erosion.classify(A, kind="water", tolerable=500.0)
    zones = _blocks(dem)
    table = u.urgency(A, classes, zones, slope=theta, cropland=cropland)
    return dict(dem=dem, slope=theta, ls=ls, cropland=cropland, A=A, classes=classes, zones=zones, table=table)


def test_indicators_by_hand(demo):
    t = demo["table"]
    A, classes, zones = (np.asarray(demo[k]) for k in ("A", "classes", "zones"))
    area = np.broadcast_to(row_areas(demo["dem"])[:, None], A.shape)
    theta, crop = np.asarray(demo["slope"]), np.asarray(demo["cropland"]) == 1
    agg = erosion.aggregate(demo["classes"], demo["zones"])
    for unit in (1, 5, 9):
        land = (zones == unit) & (classes >= 1)
        a = area[land]
        assert t.loc[unit, "land_km2"] == pytest.approx(a.sum() / 1e6, rel=1e-12)
        assert t.loc[unit, "soil_loss_t_per_km2_a"] == pytest.approx(100.0 * (A[land] * a).sum() / a.sum(), rel=1e-10)
        assert t.loc[unit, "soil_loss_t_per_a"] == pytest.approx((A[land] * a).sum() / 1e4, rel=1e-10)
        sloping = land & crop & (theta >= 5.0)
        assert t.loc[unit, "sloping_cropland_pct"] == pytest.approx(100.0 * area[sloping].sum() / a.sum(), rel=1e-10)
        assert t.loc[unit, "eroded_pct"] == pytest.approx(100.0 * agg.loc[unit, "eroded_km2"] / agg.loc[unit, "land_km2"])
        score = sum(w * (area[land & (classes == c)].sum()) for c, w in u.CLASS_WEIGHTS.items()) / a.sum()
        assert t.loc[unit, "intensity_score"] == pytest.approx(score, rel=1e-10)
    # min-max: each normalised indicator spans exactly [0, 1] over the nine units
    for key in ("eroded", "intensity", "soil_loss", "sloping_cropland"):
        assert t[f"{key}_norm"].min() == 0.0 and t[f"{key}_norm"].max() == pytest.approx(1.0)
    w = u.DEFAULT_WEIGHTS
    total = sum(v for k, v in w.items() if k != "near_water")
    expected = sum(w[k] / total * t[f"{k}_norm"] for k in ("eroded", "intensity", "soil_loss", "sloping_cropland"))
    np.testing.assert_allclose(t["urgency_index"], expected, rtol=1e-12)
    assert t["urgency_index"].between(0.0, 1.0).all()
    assert sorted(t["rank"]) == list(range(1, 10))
    assert t["rank"].idxmin() == t["urgency_index"].idxmax()


@settings(max_examples=12, deadline=None)
@given(perm=st.permutations(list(range(1, 10))), order=st.permutations(list(range(9))))
def test_ranking_stable_under_relabelling_and_order(demo, perm, order):
    """Renaming the units (ids permuted) and listing them in another order changes no index or rank."""
    relabel = np.zeros(10, dtype=np.int32)
    relabel[1:] = perm
    zones = demo["zones"].copy(data=relabel[np.asarray(demo["zones"])])
    ids = [perm[i] for i in order]
    t = u.urgency(demo["A"], demo["classes"], zones, slope=demo["slope"], cropland=demo["cropland"], zone_ids=ids)
    assert list(t.index) == ids
    base = demo["table"]
    for old in range(1, 10):
        new = perm[old - 1]
        assert t.loc[new, "urgency_index"] == base.loc[old, "urgency_index"]
        assert t.loc[new, "rank"] == base.loc[old, "rank"]


def test_weights_effect_visible(demo):
    kw = dict(slope=demo["slope"], cropland=demo["cropland"])
    by_loss = u.urgency(demo["A"], demo["classes"], demo["zones"], weights={"soil_loss": 1.0}, **kw)
    by_crop = u.urgency(demo["A"], demo["classes"], demo["zones"], weights={"sloping_cropland": 2.0}, **kw)
    assert list(by_loss.sort_values("rank").index) == list(by_loss["soil_loss_t_per_km2_a"].sort_values(ascending=False).index)
    assert list(by_crop.sort_values("rank").index) == list(by_crop["sloping_cropland_pct"].sort_values(ascending=False).index)
    np.testing.assert_allclose(by_loss["urgency_index"], by_loss["soil_loss_norm"])
    assert list(by_loss["rank"]) != list(by_crop["rank"])  # the weights change the order on this terrain
    assert by_crop.attrs["weights"] == {"sloping_cropland": 1.0}


def test_polygon_zones_and_dask_give_the_label_result(demo):
    import geopandas as gpd
    from shapely.geometry import box

    z = np.asarray(demo["zones"])
    x, y = demo["dem"].x.values, demo["dem"].y.values
    hx, hy = abs(x[1] - x[0]) / 2, abs(y[1] - y[0]) / 2
    polys = []
    for unit in range(1, 10):
        rows, cols = np.nonzero(z == unit)
        polys.append(box(x[cols.min()] - hx, y[rows.max()] - hy, x[cols.max()] + hx, y[rows.min()] + hy))
    gdf = gpd.GeoDataFrame({"id": np.arange(1, 10)}, geometry=polys, crs=demo["dem"].rio.crs)
    kw = dict(slope=demo["slope"], cropland=demo["cropland"])
    t = u.urgency(demo["A"], demo["classes"], gdf, **kw)
    cols = ["land_km2", "soil_loss_t_per_km2_a", "sloping_cropland_pct", "urgency_index"]
    pd.testing.assert_frame_equal(t[cols], demo["table"][cols], rtol=1e-12)
    assert list(t["rank"]) == list(demo["table"]["rank"])
    chunks = {"y": 40, "x": 70}
    lazy = u.urgency(demo["A"].chunk(chunks), demo["classes"].chunk(chunks), demo["zones"].chunk(chunks),
                     slope=demo["slope"].chunk(chunks), cropland=demo["cropland"].chunk(chunks))
    pd.testing.assert_frame_equal(lazy, demo["table"], rtol=1e-12)


# ----------------------------------------------------------------------------- index arithmetic

def test_index_by_hand():
    t = pd.DataFrame({"eroded_pct": [10.0, 50.0, 30.0], "intensity_score": [1.0, 1.0, 3.0],
                      "soil_loss_t_per_km2_a": [1000.0, 3000.0, 2000.0], "sloping_cropland_pct": [0.0, 20.0, 40.0]},
                     index=pd.Index([7, 3, 5], name="unit"))
    out = u.urgency_index(t, weights={"eroded": 1, "soil_loss": 1, "sloping_cropland": 2})
    # n_eroded 0, 1, .5; n_loss 0, 1, .5; n_crop 0, .5, 1; weights .25 .25 .5
    np.testing.assert_allclose(out["urgency_index"], [0.0, 0.75, 0.75])
    # 3 and 5 tie on the index; 3 has the larger soil loss, so it is treated first
    assert list(out["rank"]) == [3, 1, 2]
    ref = u.urgency_index(t, weights={"soil_loss": 1}, normalise={"soil_loss": (0.0, 4000.0)})
    np.testing.assert_allclose(ref["urgency_index"], [0.25, 0.75, 0.5])
    fixed = u.urgency_index(t, weights={"eroded": 1}, normalise="reference")
    np.testing.assert_allclose(fixed["eroded_norm"], [0.1, 0.5, 0.3])


def test_ties_broken_by_unit_id_whatever_the_row_order():
    t = pd.DataFrame({"eroded_pct": [5.0] * 4, "intensity_score": [1.0] * 4,
                      "soil_loss_t_per_km2_a": [900.0] * 4, "sloping_cropland_pct": [2.0] * 4},
                     index=pd.Index([40, 10, 30, 20], name="unit"))
    for order in ([40, 10, 30, 20], [20, 30, 10, 40]):
        out = u.urgency_index(t.loc[order])
        assert out["urgency_index"].eq(0.0).all()
        assert out["rank"].to_dict() == {10: 1, 20: 2, 30: 3, 40: 4}


indicator = st.floats(0.0, 100.0, allow_nan=False)


@settings(max_examples=60, deadline=None)
@given(rows=st.lists(st.tuples(indicator, indicator, indicator, indicator), min_size=2, max_size=8),
       unit=st.integers(0, 7), key=st.sampled_from(["eroded", "intensity", "soil_loss", "sloping_cropland"]),
       delta=st.floats(0.0, 50.0), norm=st.sampled_from(["minmax", "reference"]),
       weights=st.lists(st.floats(0.0, 1.0), min_size=4, max_size=4).filter(lambda w: sum(w) > 0.01))
def test_index_bounded_and_monotone(rows, unit, key, delta, norm, weights):
    """Raising one unit's indicator never lowers its index or rank and never raises another's index."""
    unit %= len(rows)
    cols = ["eroded_pct", "intensity_score", "soil_loss_t_per_km2_a", "sloping_cropland_pct"]
    t = pd.DataFrame(rows, columns=cols, index=pd.Index(np.arange(len(rows)) * 3 + 1, name="unit"))
    w = dict(zip(["eroded", "intensity", "soil_loss", "sloping_cropland"], weights, strict=True))
    before = u.urgency_index(t, weights=w, normalise=norm)
    raised = t.copy()
    raised.iloc[unit, cols.index(u.INDICATORS[key])] += delta
    after = u.urgency_index(raised, weights=w, normalise=norm)
    for out in (before, after):
        assert out["urgency_index"].between(0.0, 1.0).all()
        assert sorted(out["rank"]) == list(range(1, len(rows) + 1))
    i = t.index[unit]
    assert after.loc[i, "urgency_index"] >= before.loc[i, "urgency_index"] - 1e-12
    assert after.loc[i, "rank"] <= before.loc[i, "rank"]
    others = t.index != i
    assert (after["urgency_index"][others] <= before["urgency_index"][others] + 1e-12).all()


@pytest.mark.parametrize(("weights", "error", "words"), [
    ({"soil_loss": -0.1, "eroded": 1.0}, ValueRangeError, ">= 0"),
    ({"soil_loss": 0.0}, ValueRangeError, "at least one weight"),
    ({"soil_los": 1.0}, UnknownCodeError, "unknown indicators"),
    ({"soil_loss": float("nan")}, ValueRangeError, "finite"),
    ({"near_water": 0.5, "soil_loss": 0.5}, InputError, "water="),
    ([0.5, 0.5], InputError, "dict"),
])
def test_bad_weights(weights, error, words):
    t = pd.DataFrame({"eroded_pct": [1.0, 2.0], "intensity_score": [1.0, 2.0], "soil_loss_t_per_km2_a": [1.0, 2.0],
                      "sloping_cropland_pct": [1.0, 2.0]}, index=pd.Index([1, 2], name="unit"))
    with pytest.raises(error, match=words):
        u.urgency_index(t, weights=weights)


def test_bad_normalise_and_class_weights(demo):
    t = demo["table"]
    with pytest.raises(UnknownCodeError, match="minmax"):
        u.urgency_index(t, normalise="zscore")
    with pytest.raises(ValueRangeError, match="low < high"):
        u.urgency_index(t, normalise={"soil_loss": (100.0, 100.0)})
    with pytest.raises(InputError, match="class_weights"):
        u.urgency(demo["A"], demo["classes"], demo["zones"], slope=demo["slope"], cropland=demo["cropland"],
                  class_weights={1: 0, 2: 1})
    with pytest.raises(ValueRangeError, match="all 0"):
        u.urgency(demo["A"], demo["classes"], demo["zones"], slope=demo["slope"], cropland=demo["cropland"],
                  class_weights=dict.fromkeys(range(1, 7), 0))


# ----------------------------------------------------------------------------- water

def test_distance_to_water_projected_and_geographic():
    w = np.zeros((7, 9), dtype=bool)
    w[3, 4] = True
    d = u.distance_to_water(projected(w))
    i, j = np.mgrid[0:7, 0:9]
    np.testing.assert_allclose(d, CELL * np.hypot(i - 3, j - 4))
    assert d.attrs["units"] == "m" and d.name == "distance_to_water"
    geo = xr.DataArray(w, dims=("y", "x"), coords={"y": 40.0 - (np.arange(7) + 0.5) * 0.001,
                                                   "x": 110.0 + (np.arange(9) + 0.5) * 0.001}).rio.write_crs("EPSG:4326")
    dg = u.distance_to_water(geo)
    dx, dy = cell_sizes(geo)
    assert float(dg[3, 8]) == pytest.approx(4 * dx[3], rel=1e-12)  # along the row: 4 widths at that latitude
    assert float(dg[0, 4]) == pytest.approx(dy[0:3].sum() / 2 + dy[1:4].sum() / 2, rel=1e-12)  # centre to centre
    assert float(dg[6, 7]) == pytest.approx(np.hypot(dy[3:7].sum() - dy[3] / 2 - dy[6] / 2, 3 * dx[4]), rel=1e-12)
    with pytest.raises(InputError, match="no water cell"):
        u.distance_to_water(projected(np.zeros((3, 3), dtype=bool)))


def test_water_as_polygons_and_lines():
    import geopandas as gpd
    from shapely.geometry import LineString, box

    grid = projected(np.zeros((5, 6)))
    x0, y0 = 500_000.0, 4_000_000.0
    pond = box(x0 + 2 * CELL + 5, y0 - 2 * CELL + 5, x0 + 3 * CELL - 5, y0 - CELL - 5)  # inside cell (1, 2)
    river = LineString([(x0 + 5.5 * CELL, y0), (x0 + 5.5 * CELL, y0 - 5 * CELL)])       # down column 5
    gdf = gpd.GeoDataFrame(geometry=[pond, river], crs="EPSG:32650")
    d = u.distance_to_water(gdf, grid)
    mask = np.zeros((5, 6), dtype=bool)
    mask[1, 2] = True
    mask[:, 5] = True
    np.testing.assert_allclose(d, u.distance_to_water(projected(mask)))
    assert float(d[1, 2]) == 0.0 and float(d[4, 0]) == pytest.approx(CELL * np.hypot(3, 2))
    with pytest.raises(InputError, match="template"):
        u.distance_to_water(gdf)


def test_near_water_share_by_hand():
    """Two units of 4 x 6 cells of 30 m; water in the first column; buffer 60 m = 2 cells."""
    ny, nx = 4, 6
    A = projected(np.full((ny, nx), 30.0), units="t hm-2 a-1")
    classes = erosion.classify(A, tolerable=500.0)
    zones = projected(np.repeat(np.array([[1, 1, 1, 2, 2, 2]]), ny, axis=0).astype(np.int32))
    water = projected(np.zeros((ny, nx), dtype=np.uint8))
    water[:, 0] = 1
    slope_ = projected(np.full((ny, nx), 10.0), units="degree")
    crop = projected(np.ones((ny, nx), dtype=np.uint8))
    t = u.urgency(A, classes, zones, slope=slope_, cropland=crop, water=water, buffer_m=60.0)
    # columns 0, 1, 2 lie within 60 m of water: unit 1 wholly, unit 2 not at all
    assert t.loc[1, "near_water_pct"] == pytest.approx(100.0)
    assert t.loc[2, "near_water_pct"] == 0.0
    assert t.loc[1, "near_water_km2"] == pytest.approx(12 * 900 / 1e6)
    t90 = u.urgency(A, classes, zones, slope=slope_, cropland=crop, water=water, buffer_m=90.0)
    assert t90.loc[2, "near_water_pct"] == pytest.approx(100.0 / 3)  # column 3 at exactly 90 m is inside
    # equal other indicators: only the near-water share separates the units
    assert t.loc[1, "rank"] == 1 and t.loc[1, "urgency_index"] == pytest.approx(u.DEFAULT_WEIGHTS["near_water"])


# ----------------------------------------------------------------------------- suitability

SLOPES = [0.0, 1.99, 2.0, 4.99, 5.0, 15.0, 24.99, 25.0, 30.0, 90.0]


def test_suitability_codes_at_the_boundaries():
    """slope_min <= slope < slope_max: 2 and 5 start contour tillage and terraces, 25 starts returning."""
    s = projected(np.array([SLOPES] * 5), units="degree")
    lu = np.array([[12] * 10, [11] * 10, [21] * 10, [33] * 10, [12] * 10], dtype=np.int16)
    lu[4, 3] = -1
    landuse = projected(lu).rio.write_nodata(-1)
    m = u.suitability(s, landuse)
    expected_crop = [1, 1, 2, 2, 3, 3, 3, 4, 4, 4]
    np.testing.assert_array_equal(m[0], expected_crop)
    np.testing.assert_array_equal(m[1], expected_crop)
    np.testing.assert_array_equal(m[2], 1)  # forest: no rule
    np.testing.assert_array_equal(m[3], 6)  # low-cover grass: enclosure at any slope
    assert int(m[4, 3]) == 0  # land-use nodata
    assert m.dtype == np.uint8 and m.name == "treatment_measure"
    assert m.attrs["flag_meanings"] == "no_data none contour_tillage terrace return_to_forest_grass check_dam enclosure"
    np.testing.assert_array_equal(m.attrs["flag_values"], [0, 1, 2, 3, 4, 5, 6])
    assert "check_dam" in m.attrs["rules_not_applied"]
    assert m.rio.crs == s.rio.crs


def test_check_dams_in_gullies_of_the_loess_plateau_only():
    s = projected(np.full((2, 4), 10.0), units="degree")
    landuse = projected(np.full((2, 4), 12, dtype=np.int16))
    gully = projected(np.array([[0, 1, 1, 0], [0, 0, 1, 0]], dtype=np.uint8))
    loess = projected(np.array([[1, 1, 0, 0], [1, 1, 1, 1]], dtype=np.uint8))
    m = u.suitability(s, landuse, regions={"loess_plateau": loess}, gully=gully)
    np.testing.assert_array_equal(m, [[3, 5, 3, 3], [3, 3, 5, 3]])
    assert m.attrs["rules_not_applied"] == "none"
    whole = u.suitability(s, landuse, regions="loess_plateau", gully=gully)
    np.testing.assert_array_equal(whole, [[3, 5, 5, 3], [3, 3, 5, 3]])
    assert "gully mask not given" in u.suitability(s, landuse, regions="loess_plateau").attrs["rules_not_applied"]


def test_suitability_on_the_demo_dem(demo):
    """Every cell of the demo DEM gets the measure of the default rules, computed here from slope,
    land use and gully; the areas per unit are those of the cells, by hand."""
    from erosion.factors import flow_accumulation, flow_direction

    theta = np.asarray(demo["slope"])
    ny, nx = theta.shape
    lu = np.full(theta.shape, 21, dtype=np.int16)  # forest
    lu[:, : nx // 2] = 12  # dry farmland in the west
    lu[ny // 2:, nx // 2:] = 33  # low-cover grassland in the south-east
    landuse = xr.DataArray(lu, dims=demo["dem"].dims, coords=demo["dem"].coords)
    gully = flow_accumulation(flow_direction(demo["dem"])) >= 5e5
    m = u.suitability(demo["slope"], landuse, regions="loess_plateau", gully=gully)
    crop = lu == 12
    expected = np.ones(theta.shape, dtype=np.uint8)
    expected[crop & (theta >= 2.0) & (theta < 5.0)] = 2
    expected[crop & (theta >= 5.0) & (theta < 25.0)] = 3
    expected[crop & (theta >= 25.0)] = 4
    expected[lu == 33] = 6
    expected[np.asarray(gully)] = 5  # check dams outrank every other rule on gully cells
    assert all((expected == code).any() for code in range(1, 7))  # every rule is exercised
    np.testing.assert_array_equal(m, expected)
    table = u.suitable_area(m, demo["zones"])
    area = np.broadcast_to(row_areas(demo["dem"])[:, None], theta.shape)
    z = np.asarray(demo["zones"])
    names = {1: "none", 2: "contour_tillage", 3: "terrace", 4: "return_to_forest_grass", 5: "check_dam", 6: "enclosure"}
    for unit in range(1, 10):
        assert table.loc[unit, "land_km2"] == pytest.approx(area[z == unit].sum() / 1e6, rel=1e-12)
        for code, name in names.items():
            assert table.loc[unit, f"{name}_km2"] == pytest.approx(area[(z == unit) & (expected == code)].sum() / 1e6,
                                                                   rel=1e-12, abs=1e-12)


def test_suitable_area_adds_up():
    rng = np.random.default_rng(0)
    s = projected(rng.uniform(0, 40, (12, 10)), units="degree")
    lu = rng.choice([11, 12, 21, 32], size=(12, 10)).astype(np.float32)
    lu[0, :3] = np.nan
    m = u.suitability(s, projected(lu))
    zones = projected(np.repeat(np.arange(1, 5), 30).reshape(12, 10).astype(np.int32))
    t = u.suitable_area(m, zones)
    cols = [c for c in t.columns if c != "land_km2"]
    assert cols == ["none_km2", "contour_tillage_km2", "terrace_km2", "return_to_forest_grass_km2", "check_dam_km2",
                    "enclosure_km2"]
    np.testing.assert_allclose(t[cols].sum(axis=1), t["land_km2"], rtol=1e-12)
    codes, zs = np.asarray(m), np.asarray(zones)
    for unit in range(1, 5):
        assert t.loc[unit, "land_km2"] == pytest.approx(np.sum((zs == unit) & (codes > 0)) * 900 / 1e6)
        assert t.loc[unit, "terrace_km2"] == pytest.approx(np.sum((zs == unit) & (codes == 3)) * 900 / 1e6)
    assert t["land_km2"].sum() == pytest.approx((120 - 3) * 900 / 1e6)
    with pytest.raises(InputError, match="duplicates"):
        u.suitable_area(m, zones, zone_ids=[1, 2, 1])


def test_user_rule_table_replaces_the_default(tmp_path):
    rules = pd.DataFrame([
        dict(code=7, measure="orchard_terrace", name_zh="果园梯田", landuse="24", slope_min_deg=0, slope_max_deg=15,
             region="*", gully="*", priority=1, basis="convention", source="our county's rule"),
        dict(code=9, measure="fish_scale_pits", name_zh="鱼鳞坑", landuse="*", slope_min_deg=15, slope_max_deg=90,
             region="*", gully="*", priority=1, basis="standard", source="a design standard"),
    ])
    path = tmp_path / "rules.csv"
    rules.to_csv(path, index=False)
    s = projected(np.array([[5.0, 20.0, 5.0]]), units="degree")
    lu = projected(np.array([[24, 12, 12]], dtype=np.int16))
    for r in (rules, path):
        m = u.suitability(s, lu, rules=r)
        np.testing.assert_array_equal(m, [[7, 9, 1]])
        assert m.attrs["flag_meanings"] == "no_data none orchard_terrace fish_scale_pits"


def _default_rules() -> pd.DataFrame:
    from importlib import resources

    path = resources.files("erosion.data").joinpath("plan", "suitability_rules.csv")
    return pd.read_csv(str(path), comment="#", dtype=str, keep_default_na=False)


def _edit(column, value, row=0):
    def f(df):
        df.loc[row, column] = value
        return df
    return f


@pytest.mark.parametrize(("change", "error", "words"), [
    (lambda df: df.drop(columns="priority"), InputError, "missing columns"),
    (lambda df: df.iloc[0:0], InputError, "no rules"),
    (_edit("code", "1"), ValueRangeError, "reserved"),
    (_edit("code", "x"), InputError, "integers"),
    (_edit("slope_min_deg", "30"), ValueRangeError, "slope_min_deg < slope_max_deg"),
    (_edit("slope_max_deg", "95"), ValueRangeError, "<= 90"),
    (_edit("gully", "maybe"), InputError, "gully"),
    (_edit("basis", "folklore"), UnknownCodeError, "basis"),
    (_edit("measure", "Terrace Fields"), InputError, "identifier"),
    (_edit("landuse", "12;dry"), InputError, "landuse"),
    (_edit("source", ""), InputError, "source"),
    (_edit("code", "3"), InputError, "one measure"),
    (_edit("priority", "10", row=3), InputError, "equal priority"),  # check dams vs terraces
    (_edit("slope_max_deg", "6", row=0), InputError, "equal priority"),  # contour tillage 2-6 meets terraces 5-25
])
def test_bad_rule_tables(change, error, words):
    with pytest.raises(error, match=words):
        u.load_rules(change(_default_rules()))


def test_rule_table_errors_on_files_and_grids():
    with pytest.raises(InputError, match="no built-in table or file"):
        u.load_rules("/nonexistent/rules.csv")
    rules = u.load_rules()
    assert list(rules["priority"]) == sorted(rules["priority"], reverse=True)
    assert set(rules["basis"]) == {"law", "convention"}
    assert rules.set_index("measure").loc["return_to_forest_grass", "slope_min_deg"] == 25.0
    s = projected(np.full((2, 2), 10.0), units="degree")
    with pytest.raises(GridMismatchError):
        u.suitability(s, projected(np.full((2, 3), 12, dtype=np.int16)))
    with pytest.raises(ValueRangeError, match=r"0\.\.90"):
        u.suitability(projected(np.full((2, 2), 120.0), units="degree"), projected(np.full((2, 2), 12)))
    with pytest.raises(ValueRangeError, match="0/1"):
        u.suitability(s, projected(np.full((2, 2), 12)), gully=projected(np.full((2, 2), 3)))
