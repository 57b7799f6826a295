"""Check-dam safety (erosion.plan.checkdams): two dams in series on a stream of the demo DEM.

The catchments, sediment, storage and SCS-CN figures are recomputed here by hand: the upslope
cells of each snapped outlet by a breadth-first walk up the D8 codes (not the library's kernel),
the sums with NumPy, the runoff from the NEH-4 formula.
"""

from __future__ import annotations

from collections import deque

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from helpers import projected, rough_dem
from hypothesis import example, given, settings
from hypothesis import strategies as st

import erosion
from erosion.errors import InputError, ValueRangeError
from erosion.factors import fill_depressions, flow_accumulation, flow_direction, slope
from erosion.grid import row_areas
from erosion.plan.checkdams import check_dam_safety, scs_runoff

# D8 (ESRI) offsets of codes 1, 2, 4, ..., 128 on a north-up grid: E, SE, S, SW, W, NW, N, NE
OFFSETS = {1: (0, 1), 2: (1, 1), 4: (1, 0), 8: (1, -1), 16: (0, -1), 32: (-1, -1), 64: (-1, 0), 128: (-1, 1)}
# two points on one stream south of the Jacksboro fault: upper (about 2.7 km2) and lower (about 10 km2)
UP, DOWN = (-84.34833, 36.16833), (-84.3425, 36.18417)
SDR, DENSITY, RADIUS = 0.8, 1.35, 150.0


@pytest.fixture(scope="module")
def site():
    dem = erosion.datasets.load("jacksboro")
    fd = flow_direction(fill_depressions(dem))
    acc = flow_accumulation(fd)
    # a soil-loss map that varies over the catchments: 2 t/hm2/a per degree of slope (illustrative)
    a = (2.0 * slope(dem).astype(np.float64)).assign_attrs(units="t hm-2 a-1")
    return dem, fd, acc, a


def dams(up_flood=1.5e5, down_flood=6e5):
    return pd.DataFrame({"dam_id": ["upper", "lower"], "x": [UP[0], DOWN[0]], "y": [UP[1], DOWN[1]],
                         "total_storage_m3": [5e5, 1.5e6], "silted_storage_m3": [1e5, 4e5],
                         "flood_storage_m3": [up_flood, down_flood], "dam_height_m": [18.0, 25.0]})


def upslope(fd_values, i0, j0):
    """Cells whose D8 path passes through (i0, j0), by a walk up the codes (north-up grid)."""
    ny, nx = fd_values.shape
    mask = np.zeros((ny, nx), dtype=bool)
    mask[i0, j0] = True
    todo = deque([(i0, j0)])
    while todo:
        i, j = todo.popleft()
        for code, (di, dj) in OFFSETS.items():
            ui, uj = i - di, j - dj  # the neighbour that would drain into (i, j) with this code
            if 0 <= ui < ny and 0 <= uj < nx and fd_values[ui, uj] == code and not mask[ui, uj]:
                mask[ui, uj] = True
                todo.append((ui, uj))
    return mask


def cell_of(da, x, y):
    return int(np.argmin(np.abs(da.y.values - y))), int(np.argmin(np.abs(da.x.values - x)))


def by_id(table):
    return table.set_index("dam_id")


def test_two_dams_in_series_nest_and_add_up(site):
    dem, fd, acc, a = site
    res = check_dam_safety(dams(), a, fdir=fd, storm_mm=100.0, curve_number=80.0, sdr=SDR,
                           bulk_density=DENSITY, snap_radius_m=RADIUS)
    t = by_id(res.table)
    assert dem.y.values[0] > dem.y.values[-1]  # north-up: rows of the arrays are the grid's rows
    cells = {k: cell_of(fd, t.loc[k, "snap_x"], t.loc[k, "snap_y"]) for k in ("upper", "lower")}
    masks = {k: upslope(fd.values, *cells[k]) for k in cells}
    area = np.broadcast_to(row_areas(fd)[:, None], fd.shape)

    # nesting: upper ⊂ lower; the incremental catchment is the difference
    assert masks["upper"].sum() > 100 and (masks["upper"] & ~masks["lower"]).sum() == 0
    labels = res.catchments.values
    assert np.array_equal(labels == 1, masks["upper"])
    assert np.array_equal(labels == 2, masks["lower"] & ~masks["upper"])
    assert t.loc["upper", "downstream_dam"] == "lower" and t.loc["lower", "upstream_dams"] == "upper"
    assert t.loc["upper", "order_from_upstream"] == 1 and t.loc["lower", "order_from_upstream"] == 2

    # catchment areas = flow accumulation at the snapped outlets; snap within the radius
    for k in cells:
        assert t.loc[k, "catchment_km2"] * 1e6 == pytest.approx(float(acc.values[cells[k]]), rel=1e-9)
        assert t.loc[k, "catchment_km2"] * 1e6 == pytest.approx(area[masks[k]].sum(), rel=1e-9)
        assert 0 <= t.loc[k, "snap_distance_m"] <= RADIUS
    inc = masks["lower"] & ~masks["upper"]
    assert t.loc["lower", "incremental_catchment_km2"] * 1e6 == pytest.approx(area[inc].sum(), rel=1e-9)
    assert t.loc["lower", "catchment_km2"] == pytest.approx(
        t.loc["lower", "incremental_catchment_km2"] + t.loc["upper", "catchment_km2"], rel=1e-12)

    # sediment: SDR x sum(A * a), A in t/hm2/a and a in hm2; the upper dam traps all (TE = 1)
    av = a.values
    up_t = SDR * np.sum(av[masks["upper"]] * area[masks["upper"]] / 1e4)
    low_t = SDR * np.sum(av[inc] * area[inc] / 1e4)
    assert t.loc["upper", "sediment_inflow_t_per_a"] == pytest.approx(up_t, rel=1e-9)
    assert t.loc["lower", "sediment_inflow_t_per_a"] == pytest.approx(low_t, rel=1e-9)
    # storage: remaining = total - silted - flood; years = remaining / (t/a / density)
    assert t.loc["upper", "remaining_sediment_storage_m3"] == 5e5 - 1e5 - 1.5e5
    assert t.loc["upper", "years_to_fill_a"] == pytest.approx(2.5e5 / (up_t / DENSITY), rel=1e-9)
    assert t.loc["lower", "years_to_fill_a"] == pytest.approx((1.5e6 - 4e5 - 6e5) / (low_t / DENSITY), rel=1e-9)
    assert t.loc["upper", "dam_height_m"] == 18.0

    # SCS-CN by hand: P = 100 mm, CN = 80 -> S = 63.5 mm, Ia = 12.7 mm, Q = 87.3^2 / 150.8 = 50.5 mm
    s = 25400.0 / 80.0 - 254.0
    q = (100.0 - 0.2 * s) ** 2 / (100.0 - 0.2 * s + s)
    assert q == pytest.approx(50.54, abs=0.01)
    assert t.loc["upper", "runoff_mm"] == pytest.approx(q, rel=1e-12)
    assert t.loc["upper", "flood_inflow_m3"] == pytest.approx(q / 1000 * area[masks["upper"]].sum(), rel=1e-9)


def test_trap_efficiency_passes_sediment_downstream(site):
    _, fd, _, a = site
    full = by_id(check_dam_safety(dams(), a, fdir=fd, sdr=SDR, snap_radius_m=RADIUS).table)
    part = by_id(check_dam_safety(dams(), a, fdir=fd, sdr=SDR, snap_radius_m=RADIUS, trap_efficiency=0.6).table)
    up = part.loc["upper", "sediment_inflow_t_per_a"]
    assert up == pytest.approx(full.loc["upper", "sediment_inflow_t_per_a"], rel=1e-12)
    assert part.loc["upper", "sediment_trapped_t_per_a"] == pytest.approx(0.6 * up, rel=1e-12)
    assert part.loc["lower", "sediment_inflow_t_per_a"] == pytest.approx(
        full.loc["lower", "sediment_inflow_t_per_a"] + 0.4 * up, rel=1e-12)
    assert part.loc["lower", "sediment_volume_m3_per_a"] == pytest.approx(
        0.6 * part.loc["lower", "sediment_inflow_t_per_a"] / 1.35, rel=1e-12)
    assert np.isnan(full.loc["upper", "flood_ratio"])  # no storm given: no flood check


def test_big_storm_overtops_the_upper_dam_and_passes_its_excess(site):
    _, fd, _, a = site
    res = check_dam_safety(dams(), a, fdir=fd, storm_mm=150.0, curve_number=85.0, sdr=SDR, snap_radius_m=RADIUS)
    t = by_id(res.table)
    s = 25400.0 / 85.0 - 254.0
    q = (150.0 - 0.2 * s) ** 2 / (150.0 + 0.8 * s)
    up_in = q / 1000 * t.loc["upper", "catchment_km2"] * 1e6
    assert up_in > 1.5e5  # the storm exceeds the upper dam's flood storage
    assert t.loc["upper", "grade"] == "danger"
    assert t.loc["upper", "overflow_m3"] == pytest.approx(up_in - 1.5e5, rel=1e-9)
    low_in = q / 1000 * t.loc["lower", "incremental_catchment_km2"] * 1e6 + (up_in - 1.5e5)
    assert t.loc["lower", "flood_inflow_m3"] == pytest.approx(low_in, rel=1e-9)
    assert t.loc["lower", "flood_ratio"] == pytest.approx(low_in / 6e5, rel=1e-9)
    # ordered by risk: danger first, then by flood ratio
    assert list(res.table["grade"]) == sorted(res.table["grade"], key=["danger", "watch", "safe"].index)
    assert res.table["risk_rank"].tolist() == [1, 2]


def test_small_storm_is_safe_and_silting_grades(site):
    _, fd, _, a = site
    res = check_dam_safety(dams(), a, fdir=fd, storm_mm=20.0, curve_number=70.0, sdr=SDR, snap_radius_m=RADIUS)
    t = by_id(res.table)
    # P = 20 mm < Ia = 0.2 * (25400/70 - 254) = 21.8 mm: no runoff
    assert (t["runoff_mm"] == 0).all() and (t["flood_ratio"] == 0).all()
    assert (t["years_to_fill_a"] > 5).all()
    assert (t["grade"] == "safe").all()
    # the same storm on dams silted to the brim of their sediment storage: danger (years to fill 0)
    full = dams()
    full["silted_storage_m3"] = full["total_storage_m3"] - full["flood_storage_m3"]
    t2 = by_id(check_dam_safety(full, a, fdir=fd, storm_mm=20.0, curve_number=70.0, snap_radius_m=RADIUS).table)
    assert (t2["years_to_fill_a"] == 0).all() and (t2["grade"] == "danger").all()
    # a watch window: years to fill just under the threshold
    y_up = t.loc["upper", "years_to_fill_a"]
    t3 = by_id(check_dam_safety(dams(), a, fdir=fd, storm_mm=20.0, curve_number=70.0, sdr=SDR,
                                snap_radius_m=RADIUS, watch_years=y_up * 1.01, danger_years=0.5).table)
    assert t3.loc["upper", "grade"] == "watch"


def test_curve_number_raster_is_area_averaged(site):
    _, fd, _, a = site
    base = check_dam_safety(dams(), a, fdir=fd, storm_mm=100.0, curve_number=80.0, snap_radius_m=RADIUS)
    labels = base.catchments
    cn = xr.full_like(a, 80.0).where(labels.x < -84.345, 60.0).assign_attrs(units="1")
    res = by_id(check_dam_safety(dams(), a, fdir=fd, storm_mm=100.0, curve_number=cn, snap_radius_m=RADIUS).table)
    area = np.broadcast_to(row_areas(fd)[:, None], fd.shape)
    inside = labels.values == 1
    expected = np.sum(cn.values[inside] * area[inside]) / area[inside].sum()
    assert 60 < expected < 80  # the split runs through the upper catchment
    assert res.loc["upper", "curve_number"] == pytest.approx(expected, rel=1e-12)
    assert res.loc["upper", "runoff_mm"] == pytest.approx(scs_runoff(100.0, expected), rel=1e-12)


def test_south_up_grid_and_geodataframe_give_the_same_table(site):
    _, fd, _, a = site
    ref = check_dam_safety(dams(), a, fdir=fd, snap_radius_m=RADIUS, storm_mm=100.0, curve_number=80.0)
    flipped = check_dam_safety(dams(), a.sortby("y"), fdir=fd.sortby("y"), snap_radius_m=RADIUS,
                               storm_mm=100.0, curve_number=80.0)
    pd.testing.assert_frame_equal(ref.table, flipped.table)
    assert np.array_equal(ref.catchments.values, flipped.catchments.sortby("y", ascending=False).values)
    gpd = pytest.importorskip("geopandas")
    d = dams()
    g = gpd.GeoDataFrame(d.drop(columns=["x", "y"]), geometry=gpd.points_from_xy(d.x, d.y), crs="EPSG:4326")
    viag = check_dam_safety(g.to_crs("EPSG:3857"), a, fdir=fd, snap_radius_m=RADIUS, storm_mm=100.0, curve_number=80.0)
    cols = ["dam_id", "snap_x", "snap_y", "catchment_km2", "flood_ratio", "grade"]
    pd.testing.assert_frame_equal(ref.table[cols], viag.table[cols])


def test_from_dem_and_output_attributes(site):
    dem, fd, _, a = site
    res = check_dam_safety(dams(), a, dem=dem, snap_radius_m=RADIUS)
    assert np.array_equal(res.catchments.values,
                          check_dam_safety(dams(), a, fdir=fd, snap_radius_m=RADIUS).catchments.values)
    c = res.catchments
    assert c.name == "check_dam_catchment" and c.dtype == np.int32 and c.attrs["units"] == "1"
    assert c.rio.crs == dem.rio.crs and c.attrs["dam_labels"] == "1: upper; 2: lower"
    assert set(np.unique(c.values)) <= {0, 1, 2}


@settings(max_examples=60, deadline=None)
@given(p=st.floats(0, 500), cn=st.floats(1, 100), dp=st.floats(0, 50))
def test_scs_runoff_bounds_and_monotone(p, cn, dp):
    q = scs_runoff(p, cn)
    assert 0.0 <= q <= p + 1e-9
    assert scs_runoff(p + dp, cn) >= q - 1e-9
    assert scs_runoff(p, 100.0) == pytest.approx(p)


def test_radius_zero_keeps_the_cell_holding_the_point(site):
    _, fd, acc, a = site
    i, j = 100, 100
    dx, dy = float(fd.x[1] - fd.x[0]), float(fd.y[1] - fd.y[0])
    d = pd.DataFrame({"dam_id": ["a"], "x": [float(fd.x[j]) + 0.4 * dx], "y": [float(fd.y[i]) + 0.3 * dy],
                      "total_storage_m3": [5e5], "silted_storage_m3": [1e5], "flood_storage_m3": [1e5]})
    for radius in (0.0, 5.0):  # the point is off the centre, farther than the radius from it
        t = check_dam_safety(d, a, fdir=fd, snap_radius_m=radius).table
        assert (t.loc[0, "snap_x"], t.loc[0, "snap_y"]) == (float(fd.x[j]), float(fd.y[i]))
        assert t.loc[0, "snap_distance_m"] > radius
        assert t.loc[0, "catchment_km2"] * 1e6 == pytest.approx(float(acc.values[i, j]), rel=1e-9)


def test_scs_runoff_nan_is_not_zero_runoff():
    assert np.isnan(scs_runoff(float("nan"), 80.0)) and np.isnan(scs_runoff(100.0, float("nan")))
    q = scs_runoff(np.array([np.nan, 10.0, 100.0]), 80.0)  # 10 mm < Ia = 12.7 mm: no runoff, not NaN
    assert np.isnan(q[0]) and q[1] == 0.0 and q[2] == pytest.approx(50.539, abs=1e-3)


def test_silt_above_the_sediment_storage_eats_the_flood_storage(site):
    _, fd, _, a = site
    d = dams()
    d.loc[0, "silted_storage_m3"] = 4e5  # total 5e5, flood 1.5e5: 5e4 m3 of silt in the flood storage
    t = by_id(check_dam_safety(d, a, fdir=fd, storm_mm=100.0, curve_number=80.0, snap_radius_m=RADIUS).table)
    assert t.loc["upper", "remaining_sediment_storage_m3"] == 0.0
    assert t.loc["upper", "available_flood_storage_m3"] == 1e5
    assert t.loc["upper", "years_to_fill_a"] == 0.0 and t.loc["upper", "grade"] == "danger"
    assert t.loc["upper", "flood_ratio"] == pytest.approx(t.loc["upper", "flood_inflow_m3"] / 1e5, rel=1e-12)
    assert t.loc["upper", "overflow_m3"] == pytest.approx(max(t.loc["upper", "flood_inflow_m3"] - 1e5, 0.0), rel=1e-12)
    # full of silt, the upper dam traps nothing more: its whole inflow reaches the lower dam
    free = by_id(check_dam_safety(dams(), a, fdir=fd, snap_radius_m=RADIUS).table)
    assert t.loc["upper", "sediment_trapped_t_per_a"] == 0.0
    assert t.loc["lower", "sediment_inflow_t_per_a"] == pytest.approx(
        free.loc["lower", "sediment_inflow_t_per_a"] + free.loc["upper", "sediment_inflow_t_per_a"], rel=1e-12)


def test_bad_inputs_give_clear_errors(site):
    dem, fd, _, a = site
    kw = {"fdir": fd, "snap_radius_m": RADIUS}
    outside = dams()
    outside.loc[0, "x"] = 120.0
    with pytest.raises(InputError, match=r"upper.*outside the grid"):
        check_dam_safety(outside, a, **kw)
    neg = dams()
    neg.loc[1, "flood_storage_m3"] = -1.0
    with pytest.raises(ValueRangeError, match=r"flood_storage_m3 must be non-negative.*lower"):
        check_dam_safety(neg, a, **kw)
    over = dams()
    over.loc[0, "silted_storage_m3"] = 6e5
    with pytest.raises(ValueRangeError, match=r"silted_storage_m3 exceeds total_storage_m3.*upper"):
        check_dam_safety(over, a, **kw)
    for cn in (0.0, 100.5, -3.0):
        with pytest.raises(ValueRangeError, match=r"CN must lie in \(0, 100\]"):
            check_dam_safety(dams(), a, storm_mm=50.0, curve_number=cn, **kw)
    with pytest.raises(ValueRangeError, match=r"CN must lie in \(0, 100\]"):
        check_dam_safety(dams(), a, storm_mm=50.0, curve_number=xr.full_like(a, 0.0).assign_attrs(units="1"), **kw)
    with pytest.raises(InputError, match="lacks the columns"):
        check_dam_safety(dams().drop(columns=["flood_storage_m3"]), a, **kw)
    with pytest.raises(InputError, match="both storm_mm"):
        check_dam_safety(dams(), a, storm_mm=50.0, **kw)
    with pytest.raises(ValueRangeError, match="sdr"):
        check_dam_safety(dams(), a, sdr=1.5, **kw)
    for routing in ("dinf", "mfd"):  # not D8 codes: refused, not cast to uint8
        with pytest.raises(InputError, match="integer D8 codes"):
            check_dam_safety(dams(), a, fdir=flow_direction(fill_depressions(dem), routing=routing),
                             snap_radius_m=RADIUS)
    with pytest.raises(InputError, match="snap to the same cell"):
        twin = dams()
        twin.loc[1, ["x", "y"]] = [UP[0], UP[1]]
        check_dam_safety(twin, a, **kw)


def test_dask_inputs_give_the_same_table(site):
    _, fd, _, a = site
    ref = check_dam_safety(dams(), a, fdir=fd, storm_mm=100.0, curve_number=80.0, snap_radius_m=RADIUS)
    lazy = check_dam_safety(dams(), a.chunk({"y": 100, "x": 100}), fdir=fd.chunk({"y": 100, "x": 100}),
                            storm_mm=100.0, curve_number=xr.full_like(a, 80.0).assign_attrs(units="1").chunk(50),
                            snap_radius_m=RADIUS)
    pd.testing.assert_frame_equal(ref.table, lazy.table)
    assert np.array_equal(ref.catchments.values, lazy.catchments.values)


@settings(max_examples=8, deadline=None)
@given(seed=st.integers(0, 10_000), picks=st.lists(st.integers(0, 10**6), min_size=1, max_size=4, unique=True))
@example(seed=0, picks=[728, 111, 158])  # two tributary dams above one dam: a branch in the series
def test_total_catchment_is_the_accumulation_at_every_outlet(seed, picks):
    """Any dams on a rough DEM with nodata: total catchment = D8 accumulation at the outlet, labels
    partition the valid cells, a downstream dam's catchment holds the upstream one's."""
    dem = projected(rough_dem(seed, 30, 35), cell=30.0)
    fd = flow_direction(fill_depressions(dem))
    acc = flow_accumulation(fd).values
    valid = np.flatnonzero(fd.values.ravel() != 255)
    cells = sorted({int(valid[p % valid.size]) for p in picks})
    i, j = np.unravel_index(cells, fd.shape)
    d = pd.DataFrame({"dam_id": range(len(cells)), "x": fd.x.values[j], "y": fd.y.values[i],
                      "total_storage_m3": 1e5, "silted_storage_m3": 0.0, "flood_storage_m3": 2e4})
    a = xr.full_like(dem, 10.0).assign_attrs(units="t hm-2 a-1")
    res = check_dam_safety(d, a, fdir=fd, snap_radius_m=0.0)
    t = res.table.set_index("dam_id").sort_index()
    assert np.allclose(t["snap_distance_m"], 0.0)
    assert np.allclose(t["catchment_km2"].to_numpy() * 1e6, acc[i, j], rtol=1e-12)
    labels = res.catchments.values
    assert np.array_equal(labels == -1, fd.values == 255)
    assert np.allclose(t["incremental_catchment_km2"].to_numpy() * 1e6,
                       [900.0 * np.sum(labels == k + 1) for k in range(len(cells))])
    for k, row in t.iterrows():
        if row["downstream_dam"] is not None and row["downstream_dam"] == row["downstream_dam"]:
            assert t.loc[row["downstream_dam"], "catchment_km2"] > row["catchment_km2"]
        mask = upslope(fd.values, i[k], j[k])
        assert np.array_equal(np.isin(labels, [kk + 1 for kk in range(len(cells)) if mask[i[kk], j[kk]]]), mask)

    # dams in series, by hand from the walked-up catchments: the next dam down is the smallest
    # catchment holding the outlet; sediment (1 - TE) and flood excess go down in order
    n = len(cells)
    masks = [upslope(fd.values, i[k], j[k]) for k in range(n)]
    down = {}
    for k in range(n):
        below = [kk for kk in range(n) if kk != k and masks[kk][i[k], j[k]]]
        down[k] = min(below, key=lambda kk: masks[kk].sum()) if below else None
    res = check_dam_safety(d.assign(flood_storage_m3=500.0), a, fdir=fd, snap_radius_m=0.0, storm_mm=100.0,
                           curve_number=80.0, sdr=0.9, trap_efficiency=0.7)
    t = res.table.set_index("dam_id").sort_index()
    q = scs_runoff(100.0, 80.0)
    sediment, flood_in, overflow = {}, {}, {}
    for k in sorted(range(n), key=lambda k: masks[k].sum()):  # nested: upstream catchments are smaller
        ups = [u for u in range(n) if down[u] == k]
        inc_m2 = 900.0 * (masks[k] & ~np.logical_or.reduce([masks[u] for u in ups] + [np.zeros_like(masks[k])])).sum()
        sediment[k] = 0.9 * 10.0 * inc_m2 / 1e4 + 0.3 * sum(sediment[u] for u in ups)
        flood_in[k] = q * inc_m2 / 1000.0 + sum(overflow[u] for u in ups)
        overflow[k] = max(flood_in[k] - 500.0, 0.0)
        got = t.loc[k, "downstream_dam"]
        assert (down[k] is None and pd.isna(got)) or got == down[k]
        assert t.loc[k, "incremental_catchment_km2"] * 1e6 == pytest.approx(inc_m2, rel=1e-12)
        assert t.loc[k, "sediment_inflow_t_per_a"] == pytest.approx(sediment[k], rel=1e-9)
        assert t.loc[k, "sediment_trapped_t_per_a"] == pytest.approx(0.7 * sediment[k], rel=1e-9)
        assert t.loc[k, "flood_inflow_m3"] == pytest.approx(flood_in[k], rel=1e-9)
        assert t.loc[k, "overflow_m3"] == pytest.approx(overflow[k], rel=1e-9, abs=1e-9)
