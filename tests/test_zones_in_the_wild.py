"""Polygon zones built the way users build them: shapely boxes in EPSG:4326 over the demo DEM.

Boxes lie outside, across the edge of and inside the raster; files round-trip through
GeoPackage and GeoJSON; overlapping and edge-sharing boxes; NumPy vs dask; south-up grids;
the deprecated ``units=`` keywords.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import rioxarray  # noqa: F401
import xarray as xr

import erosion
from erosion.aggregation import COLUMNS, aggregate
from erosion.errors import InputError, UnknownCodeError
from erosion.factors import ls_factor
from erosion.grid import row_areas

gpd = pytest.importorskip("geopandas")
from pyproj import Geod  # noqa: E402
from shapely.geometry import box  # noqa: E402

CELL = 1.0 / 1200.0  # 3″
WEST, NORTH = -84.41375, 36.44625  # the DEM's corner; 344 rows x 403 columns
EAST, SOUTH = WEST + 403 * CELL, NORTH - 344 * CELL


def lon(col: float) -> float:
    """Longitude at a fractional column position (0 = west edge)."""
    return WEST + col * CELL


def lat(row: float) -> float:
    """Latitude at a fractional row position (0 = north edge)."""
    return NORTH - row * CELL


def cell_box(r0, r1, c0, c1):
    """Box spanning fractional rows r0..r1 and columns c0..c1."""
    return box(lon(c0), lat(r1), lon(c1), lat(r0))


def zones(geoms, ids, crs="EPSG:4326"):
    return gpd.GeoDataFrame({"id": ids}, geometry=geoms, crs=crs)


def geodesic_km2(geom) -> float:
    area, _ = Geod(ellps="WGS84").geometry_area_perimeter(geom)
    return abs(area) / 1e6


@pytest.fixture(scope="module")
def classes():
    dem = erosion.datasets.load("jacksboro")
    ls = ls_factor(dem)
    out = erosion.classify(erosion.csle(4000.0, 0.035, ls, 0.01), tolerable=500)
    assert out.shape == (344, 403) and int((out == 0).sum()) == 0  # every cell classified
    return out


@pytest.fixture(scope="module")
def km2(classes):
    """True cell areas in km² (2-D)."""
    return np.broadcast_to(row_areas(classes)[:, None] / 1e6, classes.shape)


def inside(geom):
    """Cells of a box: centre inside, a centre exactly on an edge going to the box north-east of it."""
    w, s, e, n = geom.bounds
    row, col = np.arange(344) + 0.5, np.arange(403) + 0.5
    rn, rs = round((NORTH - n) / CELL, 6), round((NORTH - s) / CELL, 6)
    cw, ce = round((w - WEST) / CELL, 6), round((e - WEST) / CELL, 6)
    return ((row > rn) & (row <= rs))[:, None] & ((col >= cw) & (col < ce))[None, :]


# the boxes of a user: edges where they fall, off the grid or on it (ACROSS: 36.25° N runs
# through the centres of row 235, WEST + 0.05° is a column boundary)
INNER = cell_box(40.7, 150.2, 60.2, 190.6)            # wholly inside
ACROSS = box(WEST - 0.05, 36.25, WEST + 0.05, 36.35)  # half outside, across the west edge
OUTSIDE = box(-83.5, 36.2, -83.4, 36.3)               # wholly east of the raster
USER = [INNER, ACROSS, OUTSIDE]


def test_rows_outside_across_and_inside(classes, km2):
    table = aggregate(classes, zones(USER, [37, 12, 5]))
    assert table.index.tolist() == [37, 12, 5]  # frame order, the outside polygon kept
    assert table.index.name == "unit"
    assert list(table.columns) == [*COLUMNS, "polygon_km2", "coverage_pct"]
    np.testing.assert_allclose(table["polygon_km2"], [geodesic_km2(g) for g in USER], rtol=1e-12)

    inner = table.loc[37]
    expected = km2[inside(INNER)].sum()
    np.testing.assert_allclose(inner["land_km2"], expected, rtol=1e-12)
    assert abs(inner["coverage_pct"] - 100.0) < 1.0
    assert 98 < inner["polygon_km2"] < 99.5  # 0.109° x 0.091° at 36.4° N: 9.7 km x 10.1 km

    across = table.loc[12]
    share = 100 * geodesic_km2(ACROSS.intersection(box(WEST, SOUTH, EAST, NORTH))) / geodesic_km2(ACROSS)
    assert 49.5 < share < 50.5
    assert abs(across["coverage_pct"] - share) < 0.5
    np.testing.assert_allclose(across["land_km2"], km2[inside(ACROSS)].sum(), rtol=1e-12)

    outside = table.loc[5]
    assert (outside[COLUMNS[:-1]] == 0).all() and np.isnan(outside["conservation_rate_pct"])
    assert outside["coverage_pct"] == 0.0 and 99 < outside["polygon_km2"] < 100  # 8.97 km x 11.1 km


def test_zone_ids_and_empty_geometry(classes):
    gdf = zones([INNER, None, OUTSIDE], [37, 8, 5])
    table = aggregate(classes, gdf)
    assert table.index.tolist() == [37, 8, 5]
    assert table.loc[8, "polygon_km2"] == 0 and np.isnan(table.loc[8, "coverage_pct"])
    chosen = aggregate(classes, gdf, zone_ids=[5, 99, 37])
    assert chosen.index.tolist() == [5, 99, 37]
    pd.testing.assert_frame_equal(chosen.loc[[5, 37]], table.loc[[5, 37]])
    assert chosen.loc[99, "land_km2"] == 0 and chosen.loc[99, "polygon_km2"] == 0


@pytest.mark.parametrize("suffix", ["gpkg", "geojson"])
def test_read_back_from_a_file(classes, tmp_path, suffix):
    gdf = zones(USER, [37, 12, 5])
    path = tmp_path / f"counties.{suffix}"
    gdf.to_file(path)
    back = gpd.read_file(path)
    assert back["id"].dtype.kind == "i"
    pd.testing.assert_frame_equal(aggregate(classes, back), aggregate(classes, gdf), rtol=1e-12)


def test_multi_part_zone_over_rows(classes, km2):
    left, right = cell_box(10.4, 60.4, 10.4, 50.4), cell_box(200.4, 260.4, 300.4, 380.4)
    split = aggregate(classes, zones([left, INNER, right], [3, 4, 3]))
    assert split.index.tolist() == [3, 4]
    np.testing.assert_allclose(split.loc[3, "polygon_km2"], geodesic_km2(left) + geodesic_km2(right), rtol=1e-12)
    expected = km2[inside(left) | inside(right)].sum()
    np.testing.assert_allclose(split.loc[3, "land_km2"], expected, rtol=1e-12)
    # same-id parts that overlap each other are no conflict
    bigger = cell_box(30.4, 90.4, 30.4, 70.4)
    dup = aggregate(classes, zones([left, bigger], [3, 3]))
    np.testing.assert_allclose(dup.loc[3, "land_km2"], km2[inside(left) | inside(bigger)].sum(),
                               rtol=1e-12)


# --------------------------------------------------------------------------- overlaps

A = cell_box(50.3, 120.3, 50.3, 150.3)
B = cell_box(100.3, 200.3, 130.3, 250.3)  # overlaps A in 20 rows x 20 columns


def test_overlapping_polygons_raise(classes):
    gdf = zones([A, B, OUTSIDE], [610102, 610103, 610104])
    with pytest.raises(InputError, match=r"zones: 400 cells .* \(610102, 610103\)\. Fix the polygons .*overlaps='first'"):
        aggregate(classes, gdf)
    with pytest.raises(InputError, match="400 cells"):
        aggregate(classes.chunk({"y": 64, "x": 50}), gdf)  # counted over blocks
    with pytest.raises(UnknownCodeError):
        aggregate(classes, gdf, overlaps="max")


@pytest.mark.parametrize("chunks", [None, {"y": 64, "x": 50}])
def test_overlaps_first_and_last(classes, km2, chunks):
    gdf = zones([A, B], [1, 2])
    c = classes if chunks is None else classes.chunk(chunks)
    in_a, in_b, area = inside(A), inside(B), km2
    assert np.count_nonzero(in_a & in_b) == 400
    first = aggregate(c, gdf, overlaps="first")
    np.testing.assert_allclose(first["land_km2"], [area[in_a].sum(), area[in_b & ~in_a].sum()], rtol=1e-12)
    last = aggregate(c, gdf, overlaps="last")
    np.testing.assert_allclose(last["land_km2"], [area[in_a & ~in_b].sum(), area[in_b].sum()], rtol=1e-12)
    np.testing.assert_allclose(first["polygon_km2"], last["polygon_km2"])


@pytest.mark.parametrize("on_centres", [False, True])
def test_adjacent_boxes_share_edges(classes, km2, on_centres):
    """A 3 x 3 tiling of the raster (outer edges beyond it): no overlap, every cell once."""
    off = 0.5 if on_centres else 0.37  # 0.5: the shared edges run through cell centres
    rows = [-20, 100 + off, 230 + off, 380]
    cols = [-20, 130 + off, 270 + off, 420]
    tiles = [cell_box(rows[i], rows[i + 1], cols[j], cols[j + 1]) for i in range(3) for j in range(3)]
    gdf = zones(tiles, list(range(11, 20)))
    table = aggregate(classes, gdf)
    np.testing.assert_allclose(table["land_km2"].sum(), km2.sum(), rtol=1e-12)
    lazy = aggregate(classes.chunk({"y": 101, "x": 131}), gdf)
    pd.testing.assert_frame_equal(lazy, table, rtol=1e-12)
    for i, tile in enumerate(tiles):
        np.testing.assert_allclose(table.loc[11 + i, "land_km2"], km2[inside(tile)].sum(), rtol=1e-12)


# --------------------------------------------------------------------------- backends and grids

@pytest.mark.parametrize("chunks", [{"y": 344, "x": 403}, {"y": 50, "x": 64}, {"y": 7, "x": 403}])
def test_numpy_vs_dask(classes, chunks):
    gdf = zones([INNER, ACROSS, OUTSIDE, A, B], [1, 2, 3, 4, 5])
    wind = xr.where(classes > 3, 2, 1).astype(np.uint8).rio.write_crs(classes.rio.crs)
    expected = aggregate(classes, gdf, wind=wind, overlaps="last")
    lazy = aggregate(classes.chunk(chunks), gdf, wind=wind.chunk({"y": 33, "x": 41}), overlaps="last")
    pd.testing.assert_frame_equal(lazy, expected, rtol=1e-12)
    assert expected.loc[1, "land_km2"] > 0 and expected.loc[3, "land_km2"] == 0


def test_south_up_grid_gives_the_same_table(classes):
    from affine import Affine

    t = classes.rio.transform()
    south_up = classes.isel(y=slice(None, None, -1))
    south_up = south_up.rio.write_transform(Affine(t.a, 0.0, t.c, 0.0, -t.e, t.f + t.e * classes.shape[0]))
    assert south_up.rio.transform().e > 0 and south_up.y[0] < south_up.y[-1]
    gdf = zones([INNER, ACROSS, OUTSIDE, A, B], [1, 2, 3, 4, 5])
    expected = aggregate(classes, gdf, overlaps="first")
    pd.testing.assert_frame_equal(aggregate(south_up, gdf, overlaps="first"), expected, rtol=1e-12)
    lazy = aggregate(south_up.chunk({"y": 60, "x": 70}), gdf, overlaps="first")
    pd.testing.assert_frame_equal(lazy, expected, rtol=1e-12)
    with pytest.raises(InputError, match="400 cells"):
        aggregate(south_up, zones([A, B], [4, 5]))


def test_projected_grid_in_feet():
    """Planar polygon area times the unit factor squared; coverage 100 on an aligned box."""
    ft = 1200.0 / 3937.0  # US survey foot in metres
    n, cell, x0, y0 = 40, 100.0, 2_000_000.0, 600_000.0
    da = xr.DataArray(np.ones((n, n), np.uint8), dims=("y", "x"),
                      coords={"y": y0 - cell * (np.arange(n) + 0.5), "x": x0 + cell * (np.arange(n) + 0.5)})
    da = da.rio.write_crs("EPSG:2274")  # NAD83 / Tennessee (ftUS)
    gdf = zones([box(x0 + 500, y0 - 3500, x0 + 3500, y0 - 500)], [1], crs="EPSG:2274")
    table = aggregate(da, gdf)
    np.testing.assert_allclose(table.loc[1, "polygon_km2"], 3000 * 3000 * ft**2 / 1e6, rtol=1e-12)
    np.testing.assert_allclose(table.loc[1, "coverage_pct"], 100.0, rtol=1e-12)


def test_deprecated_keywords_with_polygons(classes):
    gdf = zones(USER, [37, 12, 5])
    expected = aggregate(classes, zones=gdf, zone_ids=[12, 37])
    with pytest.warns(FutureWarning, match="use zones="):
        old = aggregate(classes, units=gdf, zone_ids=[12, 37])
    pd.testing.assert_frame_equal(old, expected)
    with pytest.warns(FutureWarning) as caught:
        old = aggregate(classes, units=gdf, unit_ids=[12, 37])
    messages = sorted(str(w.message).split("=")[0] for w in caught if w.category is FutureWarning)
    assert messages == ["aggregate: unit_ids", "aggregate: units"]
    pd.testing.assert_frame_equal(old, expected)
