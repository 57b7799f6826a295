"""Human-induced erosion risk (erosion.plan.disturbance): patches, relation to permits, grades, tables."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st

import erosion
from erosion.errors import GridMismatchError, InputError, UnknownCodeError, ValueRangeError
from erosion.factors.vegetation import ndvi
from erosion.plan import disturbance as dist

L7 = Path("/usr/lib/R/site-library/stars/tif/L7_ETMs.tif")
DEM = Path("/usr/lib/R/site-library/stars/tif/olinda_dem_utm25s.tif")
CRS = "EPSG:32650"


# ---------------------------------------------------------------------------- small grids by hand

def grid(values, cell=10.0, x0=500000.0, y0=4000000.0, crs=CRS, name=None, units=None):
    values = np.asarray(values, dtype=np.float64)
    ny, nx = values.shape
    da = xr.DataArray(values, dims=("y", "x"),
                      coords={"y": y0 - cell * (np.arange(ny) + 0.5), "x": x0 + cell * (np.arange(nx) + 0.5)}, name=name)
    if units:
        da.attrs["units"] = units
    return da.rio.write_crs(crs)


def box(c0, r0, c1, r1, cell=10.0, x0=500000.0, y0=4000000.0):
    """Polygon over columns c0..c1-1 and rows r0..r1-1 (cell edges) of ``grid``."""
    return shapely.box(x0 + c0 * cell, y0 - r1 * cell, x0 + c1 * cell, y0 - r0 * cell)


def permits(*pairs, crs=CRS):
    return gpd.GeoDataFrame({"project_id": [p for p, _ in pairs]}, geometry=[g for _, g in pairs], crs=crs)


def factors(shape=(20, 20), LS=2.0, slope=10.0):
    return dict(R=grid(np.full(shape, 3000.0), units="MJ mm hm-2 h-1 a-1"), K=0.03,
                LS=grid(np.full(shape, LS)), slope=grid(np.full(shape, slope), units="degree"))


def test_hand_grid_area_soil_loss_relation_and_grade():
    # A 4x5-cell patch of 10 m cells: 2000 m²; A = 3000 * 0.03 * 2 = 180 t/hm²/a, modulus 18 000 t/km²/a
    mask = np.zeros((20, 20))
    mask[2:6, 3:8] = 1
    out = dist.disturbance_risk(grid(mask), permits(("P1", box(0, 0, 6, 20))), **factors())
    assert len(out) == 1 and out.crs == CRS
    row = out.iloc[0]
    assert row["n_cells"] == 20
    assert row["area_km2"] == pytest.approx(20 * 100 / 1e6, rel=1e-12)
    assert row["soil_loss_mean_t_per_km2_a"] == pytest.approx(100 * 3000 * 0.03 * 2.0, rel=1e-6)
    assert row["soil_loss_t_per_a"] == pytest.approx(3000 * 0.03 * 2.0 * 2000 / 1e4, rel=1e-6)  # 36 t/a
    assert row["slope_mean_deg"] == pytest.approx(10.0) and row["slope_max_deg"] == pytest.approx(10.0)
    # permit covers columns 0-5: 3 of the 5 patch columns inside, 2 outside = 40 %
    assert row["relation"] == "partly_outside"
    assert row["outside_share"] == pytest.approx(0.4)
    assert row["outside_km2"] == pytest.approx(8 * 100 / 1e6)
    assert row["project_ids"] == "P1"
    assert np.isnan(row["distance_to_water_m"])
    # 18 000 > 8000: rule H1 of the built-in table, grade high
    assert (row["risk_grade"], row["risk_level"], row["risk_rule"]) == ("high", 3, "H1")


def test_tolerance_decides_inside_or_partly_outside():
    mask = np.zeros((20, 20))
    mask[0:10, 0:10] = 1  # 100 cells; permit leaves 3 cells (3 %) out
    cover = shapely.difference(box(0, 0, 10, 10), box(7, 9, 10, 10))
    p = permits(("A", cover))
    loose = dist.disturbance_risk(grid(mask), p, tolerance=0.05, **factors())
    strict = dist.disturbance_risk(grid(mask), p, tolerance=0.01, **factors())
    assert loose["outside_share"].iloc[0] == pytest.approx(0.03)
    assert loose["relation"].iloc[0] == "inside" and strict["relation"].iloc[0] == "partly_outside"
    far = dist.disturbance_risk(grid(mask), permits(("B", box(15, 15, 20, 20))), **factors())
    assert far["relation"].iloc[0] == "outside" and far["project_ids"].iloc[0] == ""
    assert far["outside_km2"].iloc[0] == pytest.approx(far["area_km2"].iloc[0])
    # a sliver of overlap (1 %) within the tolerance is still "outside", and the project is named
    sliver = dist.disturbance_risk(grid(mask), permits(("C", box(9, 9, 10, 10))), **factors())
    assert sliver["relation"].iloc[0] == "outside" and sliver["project_ids"].iloc[0] == "C"


def test_two_permits_together_make_inside_and_ids_listed():
    mask = np.zeros((20, 20))
    mask[0:4, 0:8] = 1
    out = dist.disturbance_risk(grid(mask), permits(("Q2", box(4, 0, 8, 4)), ("Q1", box(0, 0, 4, 4))), **factors())
    assert out["relation"].iloc[0] == "inside" and out["outside_km2"].iloc[0] == pytest.approx(0.0, abs=1e-15)
    assert out["project_ids"].iloc[0] == "Q1;Q2"


def test_connectivity_and_min_area():
    mask = np.zeros((20, 20))
    mask[2:4, 2:4] = 1
    mask[4:6, 4:6] = 1  # touches the first only at a corner
    mask[10:13, 10:13] = 1
    m = grid(mask)
    eight = dist.disturbance_patches(m, connectivity=8)
    four = dist.disturbance_patches(m, connectivity=4)
    assert sorted(eight["n_cells"]) == [8, 9] and sorted(four["n_cells"]) == [4, 4, 9]
    # 9 cells = 900 m² kept, 800 m² dropped by a 850 m² (= 0.00085 km²) minimum
    kept = dist.disturbance_patches(m, min_area=850.0)
    assert kept["n_cells"].tolist() == [9]
    assert dist.disturbance_patches(m, min_area=0.00085, area_units="km2")["n_cells"].tolist() == [9]
    assert kept["area_km2"].iloc[0] == pytest.approx(900 / 1e6)
    assert shapely.area(kept.geometry.iloc[0]) == pytest.approx(900.0)


def test_polygon_disturbance_and_water_distance():
    poly = gpd.GeoDataFrame({"patch_id": [7, 8]}, geometry=[box(2, 2, 6, 6), box(12, 12, 13, 13)], crs=CRS)
    water = gpd.GeoDataFrame(geometry=[box(10, 2, 11, 6)], crs=CRS)  # 4 cells east of the first patch: 40 m
    out = dist.disturbance_risk(poly, permits(("P", box(0, 0, 20, 20))), water=water, min_area=150.0, **factors())
    assert out["patch_id"].tolist() == [7]  # the 100 m² polygon is under the minimum
    assert out["area_km2"].iloc[0] == pytest.approx(1600 / 1e6) and out["n_cells"].iloc[0] == 16
    assert out["distance_to_water_m"].iloc[0] == pytest.approx(40.0)
    # water as a raster mask gives the same distance
    wm = np.zeros((20, 20))
    wm[2:6, 10] = 1
    again = dist.disturbance_risk(poly, permits(("P", box(0, 0, 20, 20))), water=grid(wm), min_area=150.0, **factors())
    assert again["distance_to_water_m"].iloc[0] == pytest.approx(40.0)


def test_rules_decide_grades_and_levels():
    mask = np.zeros((20, 20))
    mask[0:3, 0:3] = 1
    mask[10:13, 10:13] = 1
    g = grid(mask)
    p = permits(("P", box(0, 0, 5, 5)))
    # LS 0.05: A = 3000*0.03*0.05 = 4.5 t/hm²/a, modulus 450: only M2 (outside) or L1 apply
    out = dist.disturbance_risk(g, p, **factors(LS=0.05)).sort_values("patch_id")
    assert out["relation"].tolist() == ["inside", "outside"]
    assert out["risk_grade"].tolist() == ["low", "medium"] and out["risk_rule"].tolist() == ["L1", "M2"]
    rules = pd.DataFrame({"rule": ["steep", "any"], "grade": ["watch", "calm"], "level": [5, 0],
                          "slope_mean_deg_ge": [10.0, np.nan]})
    mine = dist.disturbance_risk(g, p, rules=rules, **factors(LS=0.05))
    assert set(mine["risk_grade"]) == {"watch"}
    gentle = dist.disturbance_risk(g, p, rules=rules, **factors(LS=0.05, slope=9.9))
    assert set(gentle["risk_grade"]) == {"calm"} and set(gentle["risk_level"]) == {0}


def test_rule_table_errors(tmp_path):
    builtin = dist.load_rules()
    assert builtin.iloc[-1]["grade"] == "low" and set(builtin["level"]) == {1, 2, 3}
    with pytest.raises(UnknownCodeError, match="slope_deg_ge"):
        dist.load_rules(pd.DataFrame({"grade": ["a"], "level": [1], "slope_deg_ge": [np.nan]}))
    with pytest.raises(UnknownCodeError, match="relation"):
        dist.load_rules(pd.DataFrame({"grade": ["a", "b"], "level": [2, 1], "relation": ["beyond", None]}))
    with pytest.raises(InputError, match="catch-all"):
        dist.load_rules(pd.DataFrame({"grade": ["a"], "level": [1], "area_km2_gt": [1.0]}))
    with pytest.raises(InputError, match="different levels"):
        dist.load_rules(pd.DataFrame({"grade": ["a", "a"], "level": [1, 2]}))
    with pytest.raises(InputError, match="'level'"):
        dist.load_rules(pd.DataFrame({"grade": ["a"], "level": ["x"]}))
    path = tmp_path / "rules.csv"
    pd.DataFrame({"grade": ["a"], "level": [1]}).to_csv(path, index=False)
    assert dist.load_rules(path)["grade"].tolist() == ["a"]
    with pytest.raises(InputError, match="not a file"):
        dist.load_rules(tmp_path / "none.csv")


def test_bad_inputs_give_clear_errors():
    mask = np.zeros((20, 20))
    mask[2:6, 3:8] = 1
    p = permits(("P1", box(0, 0, 6, 20)))
    f = factors()
    with pytest.raises(GridMismatchError):
        dist.disturbance_risk(grid(mask), p, **{**f, "R": grid(np.full((20, 20), 3000.0), cell=20.0,
                                                                 units="MJ mm hm-2 h-1 a-1")})
    with pytest.raises(InputError, match="no CRS"):
        dist.disturbance_risk(grid(mask), gpd.GeoDataFrame({"project_id": ["P"]}, geometry=[box(0, 0, 6, 20)]), **f)
    with pytest.raises(InputError, match="'project_id' not found"):
        dist.disturbance_risk(grid(mask), p.rename(columns={"project_id": "pid"}), **f)
    with pytest.raises(InputError, match="pass LS"):
        dist.disturbance_risk(grid(mask), p, R=f["R"], K=0.03, slope=f["slope"])
    with pytest.raises(ValueRangeError, match="tolerance"):
        dist.disturbance_risk(grid(mask), p, tolerance=0.5, **f)
    with pytest.raises(ValueRangeError, match="other than 0 and 1"):
        dist.disturbance_risk(grid(mask * 2), p, **f)
    with pytest.raises(UnknownCodeError, match="area_units"):
        dist.disturbance_patches(grid(mask), min_area=1.0, area_units="ha")
    with pytest.raises(InputError, match="connectivity"):
        dist.disturbance_patches(grid(mask), connectivity=6)
    with pytest.raises(GridMismatchError):
        dist.disturbed_cells(grid(mask), grid(mask, cell=20.0))
    points = gpd.GeoDataFrame({"project_id": ["P"]}, geometry=[box(3, 10, 4, 11).centroid], crs=p.crs)
    with pytest.raises(InputError, match="must be polygons"):
        dist.disturbance_risk(grid(mask), points, **f)
    twice = gpd.GeoDataFrame(geometry=[box(2, 2, 8, 6), box(5, 3, 10, 8)], crs=p.crs)
    with pytest.raises(InputError, match="overlap"):
        dist.disturbance_risk(twice, p, **f)


def test_permits_in_another_crs_are_reprojected():
    mask = np.zeros((20, 20))
    mask[2:6, 3:8] = 1
    p = permits(("P1", box(0, 0, 6, 20)))
    here = dist.disturbance_risk(grid(mask), p, **factors())
    there = dist.disturbance_risk(grid(mask), p.to_crs("EPSG:4326"), **factors())
    assert there["relation"].tolist() == here["relation"].tolist() == ["partly_outside"]
    assert there["outside_km2"].iloc[0] == pytest.approx(here["outside_km2"].iloc[0], rel=1e-4)


def test_disturbed_cells_rule_and_laziness():
    before = grid([[0.8, 0.8, 0.3, np.nan], [0.5, 0.2, 0.1, 0.6]])
    after = grid([[0.7, 0.5, 0.1, 0.2], [0.1, 0.05, 0.0, np.nan]])
    m = dist.disturbed_cells(before, after, drop=0.2, bare=0.12)
    # drops: .1 no, .3 yes, .2 not > .2 but turns bare (.3 > .12 >= .1) yes; NaN; .4 yes;
    # .15 no and .2 -> .05 turns bare yes; .1 already bare no; NaN
    np.testing.assert_array_equal(m.values, [[0, 1, 1, np.nan], [1, 1, 0, np.nan]])
    assert m.name == "disturbed" and m.attrs["units"] == "1" and m.rio.crs == CRS
    lazy = dist.disturbed_cells(before.chunk({"x": 2}), after.chunk({"x": 2}), drop=0.2, bare=0.12)
    assert lazy.chunks is not None
    np.testing.assert_array_equal(lazy.values, m.values)
    with pytest.raises(ValueRangeError, match="drop"):
        dist.disturbed_cells(before, after, drop=-1)


@settings(max_examples=25, deadline=None)
@given(r0=st.integers(0, 14), c0=st.integers(0, 14), h=st.integers(1, 5), w=st.integers(1, 5),
       pc=st.integers(0, 20), tol=st.sampled_from([0.0, 0.05, 0.2]))
def test_outside_area_adds_up(r0, c0, h, w, pc, tol):
    mask = np.zeros((20, 20))
    mask[r0:r0 + h, c0:c0 + w] = 1
    out = dist.disturbance_risk(grid(mask), permits(("P", box(0, 0, pc, 20))) if pc else permits(("P", box(30, 30, 31, 31))),
                                tolerance=tol, **factors())
    row = out.iloc[0]
    inside_cols = max(0, min(pc, c0 + w) - c0)
    assert row["outside_km2"] == pytest.approx(h * (w - inside_cols) * 100 / 1e6, abs=1e-12)
    share = row["outside_share"]
    expected = "inside" if share <= tol else "outside" if share >= 1 - tol else "partly_outside"
    assert row["relation"] == expected and 0.0 <= share <= 1.0


# ---------------------------------------------------------------------------- county tables and GeoPackage

def _three_patches():
    mask = np.zeros((20, 20))
    mask[2:6, 3:8] = 1  # 20 cells, partly outside P1
    mask[10:12, 10:12] = 1  # 4 cells, inside P2
    mask[15:18, 1:3] = 1  # 6 cells, outside
    p = permits(("P1", box(0, 0, 6, 20)), ("P2", box(9, 9, 13, 13)))
    return dist.disturbance_risk(grid(mask), p, **factors())


def test_county_tables_polygons_and_label_raster_agree():
    out = _three_patches()
    counties = gpd.GeoDataFrame({"id": [1, 2]}, geometry=[box(0, 0, 5, 20), box(5, 0, 20, 20)], crs=CRS)
    t = dist.disturbance_table(out, counties)
    assert t["id"].tolist() == [1, 2]
    assert t["area_km2"].sum() == pytest.approx(out["area_km2"].sum())
    assert t["n_patches"].sum() == len(out)
    # county 1 (columns 0-4): 2 columns x 4 rows of patch 1 and all of patch 3 = 8 + 6 cells
    assert t.loc[t["id"] == 1, "area_km2"].iloc[0] == pytest.approx(14 * 100 / 1e6)
    grades = [c for c in t.columns if c.startswith("area_") and c[5:-4] not in ("inside", "partly_outside", "outside")
              and c != "area_km2"]
    np.testing.assert_allclose(t[grades].sum(axis=1), t["area_km2"])
    rel = ["area_inside_km2", "area_partly_outside_km2", "area_outside_km2"]
    np.testing.assert_allclose(t[rel].sum(axis=1), t["area_km2"])
    assert t["outside_km2"].sum() == pytest.approx(out["outside_km2"].sum())
    assert t["soil_loss_t_per_a"].sum() == pytest.approx(out["soil_loss_t_per_a"].sum())
    labels = np.ones((20, 20), dtype=np.int32)
    labels[:, 5:] = 2
    zr = grid(labels).astype(np.int32)
    t2 = dist.disturbance_table(out, zr)
    pd.testing.assert_frame_equal(t.drop(columns="id"), t2.drop(columns="id"), check_dtype=False)


def test_geopackage_round_trip(tmp_path):
    out = _three_patches()
    counties = gpd.GeoDataFrame({"id": [1, 2]}, geometry=[box(0, 0, 5, 20), box(5, 0, 20, 20)], crs=CRS)
    table = dist.disturbance_table(out, counties)
    path = dist.write_disturbance(out, tmp_path / "risk.gpkg", table=table)
    back = gpd.read_file(path, layer="disturbance_patches")
    assert back.crs == out.crs and len(back) == len(out)
    pd.testing.assert_frame_equal(back.drop(columns="geometry"), pd.DataFrame(out.drop(columns="geometry")),
                                  check_dtype=False)
    assert all(a.equals(b) for a, b in zip(back.geometry, out.geometry, strict=True))
    import pyogrio

    pd.testing.assert_frame_equal(pyogrio.read_dataframe(path, layer="disturbance_by_county"), table, check_dtype=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["risk.gpkg"]  # no temporary file left
    with pytest.raises(InputError, match="overwrite"):
        dist.write_disturbance(out, path, overwrite=False)


# ---------------------------------------------------------------------------- real imagery: Landsat 7 ETM+

@pytest.fixture(scope="module")
def l7():
    if not L7.exists():
        pytest.skip(f"{L7} absent (Debian package r-cran-stars)")
    import rioxarray

    bands = rioxarray.open_rasterio(L7)
    return bands.sel(band=3).astype(np.float32), bands.sel(band=4).astype(np.float32)


def _blocks(ok: np.ndarray, h: int, w: int, taken: list, gap: int = 8):
    """Top-left corners of h x w blocks where ``ok`` holds on every cell, away from ``taken`` blocks."""
    s = np.pad(np.cumsum(np.cumsum(ok.astype(np.int64), 0), 1), ((1, 0), (1, 0)))
    full = s[h:, w:] - s[:-h, w:] - s[h:, :-w] + s[:-h, :-w] == h * w
    for r, c in zip(*np.nonzero(full), strict=True):
        if all(r + h + gap <= r2 or r2 + h2 + gap <= r or c + w + gap <= c2 or c2 + w2 + gap <= c
               for r2, c2, h2, w2 in taken):
            return int(r), int(c)
    raise AssertionError("no vegetated block found")


def test_landsat_pasted_bare_patch(l7, tmp_path):
    red, nir = l7
    before = ndvi(red, nir)
    v = before.values
    t = erosion.grid.grid_of(before).transform
    cell_m2 = abs(t[0] * t[4])  # 28.5 m x 28.5 m on this file
    # Bare-soil values from the image itself: the median red and NIR of its cells with NDVI in
    # [0.05, 0.15], the range of bare and sparsely covered soil (the image's lowest NDVI cells are
    # the sea, NDVI < 0, which is why not "the darkest cells").
    soil = (v >= 0.05) & (v <= 0.15)
    bare_red, bare_nir = float(np.median(red.values[soil])), float(np.median(nir.values[soil]))
    bare_ndvi = (bare_nir - bare_red) / (bare_nir + bare_red)
    assert 0.05 <= bare_ndvi <= 0.15
    # vegetated places (NDVI > 0.3) for four pasted patches: main, inside, outside, too small
    ok = v > 0.3
    taken: list = []
    for h, w in ((10, 14), (6, 8), (6, 8), (2, 2)):
        taken.append((*_blocks(ok, h, w, taken), h, w))
    red2, nir2 = red.copy(), nir.copy()
    for r, c, h, w in taken:
        red2[r:r + h, c:c + w] = bare_red
        nir2[r:r + h, c:c + w] = bare_nir
    after = ndvi(red2, nir2)
    mask = dist.disturbed_cells(before, after, drop=0.15, bare=0.12)
    assert int(mask.sum()) == sum(h * w for *_, h, w in taken)  # only the pasted cells changed

    x, y = before.x.values, before.y.values
    half = abs(t[0]) / 2

    def cells(r0, c0, r1, c1):  # polygon over rows r0..r1-1, columns c0..c1-1, clipped to the image
        r0, c0, r1, c1 = max(r0, 0), max(c0, 0), min(r1, len(y)), min(c1, len(x))
        return shapely.box(x[c0] - half, y[r1 - 1] - half, x[c1 - 1] + half, y[r0] + half)

    (ra, ca, ha, wa), (rb, cb, hb, wb), (rc, cc, hc, wc), _ = taken
    keep_cols = 9  # permit P1 covers the first 9 of the main patch's 14 columns (and more around)
    p = permits(("P1", cells(ra - 3, ca - 3, ra + ha + 3, ca + keep_cols)),
                ("P2", cells(rb - 2, cb - 2, rb + hb + 2, cb + wb + 2)), crs=before.rio.crs)
    assert not p.geometry.intersects(cells(rc, cc, rc + hc, cc + wc)).any()

    if DEM.exists():
        import rioxarray

        dem = erosion.align(before, rioxarray.open_rasterio(DEM, masked=True).squeeze("band", drop=True),
                            resampling="bilinear")[0]
        dem.attrs["units"] = "m"
        terrain = dict(dem=dem)
        LS, theta = erosion.factors.terrain.ls_factor(dem), erosion.factors.terrain.slope(dem)
    else:  # an illustrative plane
        theta = before.copy(data=np.full(before.shape, 8.0, np.float32))
        theta.attrs = {"units": "degree"}
        LS = erosion.factors.terrain.s_factor(theta) * 2.0
        terrain = dict(LS=LS, slope=theta)
    water = (before < 0).astype(np.float32)  # the sea and rivers: NDVI < 0
    R = 7000.0  # MJ mm hm-2 h-1 a-1, illustrative for humid north-east Brazil
    out = dist.disturbance_risk(mask, p, R=R, K=0.03, water=water, min_area=5000.0, **terrain)
    assert len(out) == 3  # the 4-cell patch (about 3249 m²) is under 5000 m²

    def patch_at(r, c):
        hit = out[out.geometry.contains(shapely.Point(x[c], y[r]))]
        assert len(hit) == 1
        return hit.iloc[0]

    main = patch_at(ra, ca)
    assert main["n_cells"] == ha * wa
    assert main["area_km2"] == pytest.approx(ha * wa * cell_m2 / 1e6, rel=1e-9)
    assert main["relation"] == "partly_outside"
    assert main["outside_km2"] == pytest.approx(ha * (wa - keep_cols) * cell_m2 / 1e6, rel=1e-6)
    assert main["project_ids"] == "P1"
    # soil loss by hand: equal cells, so the mean modulus is 100 x the mean of A over the rectangle
    a = erosion.csle(R, 0.03, LS).values[ra:ra + ha, ca:ca + wa].astype(np.float64)
    assert main["soil_loss_mean_t_per_km2_a"] == pytest.approx(100 * a.mean(), rel=1e-5)
    assert main["soil_loss_t_per_a"] == pytest.approx(a.sum() * cell_m2 / 1e4, rel=1e-5)
    th = theta.values[ra:ra + ha, ca:ca + wa]
    assert main["slope_mean_deg"] == pytest.approx(th.mean(), rel=1e-5)
    assert main["slope_max_deg"] == pytest.approx(th.max(), rel=1e-6)
    # distance to water: between the nearest cell-centre distance minus a cell diagonal and it
    from scipy import ndimage

    d_centre = ndimage.distance_transform_edt(water.values == 0, sampling=abs(t[0]))[ra:ra + ha, ca:ca + wa].min()
    assert d_centre - np.sqrt(2) * abs(t[0]) - 1e-6 <= main["distance_to_water_m"] <= d_centre + 1e-6
    # the grade by the built-in rules, by hand, for a partly-outside patch: high by H1 (> 8000),
    # H2 (> 5000 and beyond the boundary) or H4 (slope >= 25 and beyond); otherwise medium by M2
    m, s = main["soil_loss_mean_t_per_km2_a"], main["slope_mean_deg"]
    assert main["risk_grade"] == ("high" if m > 5000 or s >= 25 else "medium")

    inside, outside = patch_at(rb, cb), patch_at(rc, cc)
    assert inside["relation"] == "inside" and inside["project_ids"] == "P2" and inside["outside_km2"] == 0
    assert outside["relation"] == "outside" and outside["project_ids"] == ""
    assert outside["outside_km2"] == pytest.approx(hc * wc * cell_m2 / 1e6, rel=1e-9)

    path = dist.write_disturbance(out, tmp_path / "l7.gpkg")
    back = gpd.read_file(path)
    assert len(back) == len(out) and back.crs == out.crs
    assert back["patch_id"].tolist() == out["patch_id"].tolist()
    np.testing.assert_allclose(back["area_km2"], out["area_km2"])
    assert back["relation"].tolist() == out["relation"].tolist()


def test_dask_inputs_give_the_eager_result():
    mask = np.zeros((20, 20))
    mask[2:6, 3:8] = 1
    mask[12:15, 12:18] = 1
    p = permits(("P1", box(0, 0, 6, 20)))
    f = factors(LS=1.5)
    eager = dist.disturbance_risk(grid(mask), p, **f)
    lazy = dist.disturbance_risk(grid(mask).chunk(7), p, **{k: v.chunk(7) if isinstance(v, xr.DataArray) else v
                                                             for k, v in f.items()})
    pd.testing.assert_frame_equal(pd.DataFrame(lazy.drop(columns="geometry")), pd.DataFrame(eager.drop(columns="geometry")))


def test_geographic_grid_true_areas():
    # 0.001° cells at 40° N: the patch area is the sum of the ellipsoidal cell areas
    cell = 0.001
    mask = np.zeros((20, 20))
    mask[4:8, 4:9] = 1
    g = grid(mask, cell=cell, x0=116.0, y0=40.0, crs="EPSG:4326")
    f = {k: (grid(v.values, cell=cell, x0=116.0, y0=40.0, crs="EPSG:4326", units=v.attrs.get("units"))
             if isinstance(v, xr.DataArray) else v) for k, v in factors().items()}
    p = permits(("P", box(0, 0, 6, 20, cell=cell, x0=116.0, y0=40.0)), crs="EPSG:4326")
    out = dist.disturbance_risk(g, p, **f)
    areas = erosion.cell_area(g).values
    assert out["area_km2"].iloc[0] == pytest.approx(areas[4:8, 4:9].sum() / 1e6, rel=1e-9)
    # the polygon measured in its UTM zone agrees (the cells are about 85 m x 111 m)
    assert out.to_crs(out.estimate_utm_crs()).area.iloc[0] / 1e6 == pytest.approx(out["area_km2"].iloc[0], rel=1e-3)
    # columns 4-5 of 4-8 inside: 3 of 5 columns outside (cells of one row have equal areas)
    assert out["outside_share"].iloc[0] == pytest.approx(0.6, rel=1e-6)
    assert out["relation"].iloc[0] == "partly_outside"


def test_geographic_distance_to_water_in_each_patchs_utm_zone():
    # 0.5-degree cells from 100 to 121 E: a patch at each end, water one cell north of each; the gap
    # is the meridian arc from 40.5 to 41 N (about 55.5 km). One UTM zone for both would be about
    # 1 % off at the far end (scale factor 10 degrees from the central meridian).
    from pyproj import Geod

    cell, shape = 0.5, (4, 42)
    mask, wm = np.zeros(shape), np.zeros(shape)
    mask[3, [0, 40]] = 1
    wm[1, [0, 40]] = 1
    kw = dict(cell=cell, x0=100.0, y0=42.0, crs="EPSG:4326")
    f = dict(R=grid(np.full(shape, 3000.0), units="MJ mm hm-2 h-1 a-1", **kw), K=0.03, LS=grid(np.full(shape, 2.0), **kw),
             slope=grid(np.full(shape, 10.0), units="degree", **kw))
    out = dist.disturbance_risk(grid(mask, **kw), permits(("P", shapely.box(100, 40, 121, 42)), crs="EPSG:4326"),
                                water=grid(wm, **kw), **f).sort_values("patch_id")
    assert len(out) == 2
    arc = abs(Geod(ellps="WGS84").inv(100.25, 40.5, 100.25, 41.0)[2])
    np.testing.assert_allclose(out["distance_to_water_m"], [arc, arc], rtol=1e-3)


def test_no_patch_and_a_patch_smaller_than_a_cell():
    none = dist.disturbance_risk(grid(np.zeros((20, 20))), permits(("P", box(0, 0, 5, 5))), **factors())
    assert len(none) == 0 and "risk_grade" in none.columns and none.crs == CRS
    counties = gpd.GeoDataFrame({"id": [1, 2]}, geometry=[box(0, 0, 5, 20), box(5, 0, 20, 20)], crs=CRS)
    t = dist.disturbance_table(none, counties)
    assert t["n_patches"].tolist() == [0, 0] and t["area_km2"].tolist() == [0.0, 0.0]
    assert t["soil_loss_t_per_a"].tolist() == [0.0, 0.0]
    # a 3 m x 3 m polygon inside one 10 m cell, away from its centre: area and relation, no cell
    tiny = gpd.GeoDataFrame(geometry=[shapely.box(500001, 3999991, 500004, 3999994)], crs=CRS)
    out = dist.disturbance_risk(tiny, permits(("P", box(0, 0, 5, 5))), **factors())
    row = out.iloc[0]
    assert row["area_km2"] == pytest.approx(9e-6) and row["n_cells"] == 0 and row["relation"] == "inside"
    assert np.isnan(row["soil_loss_mean_t_per_km2_a"]) and np.isnan(row["slope_mean_deg"])
    assert row["risk_rule"] == "L1"
