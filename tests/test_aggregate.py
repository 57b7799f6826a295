"""Zonal tables: area conservation, backends, polygons vs labels, true areas, water + wind."""

from __future__ import annotations

import dask.array as dsa
import numpy as np
import pandas as pd
import pytest
import rioxarray  # noqa: F401
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st

from erosion.aggregation import COLUMNS, aggregate
from erosion.errors import GridMismatchError, InputError, ValueRangeError

CLASS_COLS = ["slight_km2", "light_km2", "moderate_km2", "intense_km2", "very_intense_km2", "severe_km2"]
CELL = 30.0
X0, Y0 = 500000.0, 4000000.0


def raster(values, crs="EPSG:32649", chunks=None, cell=CELL, x0=X0, y0=Y0):
    v = np.asarray(values)
    ny, nx = v.shape
    da = xr.DataArray(v, dims=("y", "x"), coords={"y": y0 - cell * (np.arange(ny) + 0.5),
                                                  "x": x0 + cell * (np.arange(nx) + 0.5)})
    da = da.rio.write_crs(crs)
    return da.chunk(chunks) if chunks else da


def sample(seed=0, shape=(37, 45)):
    rng = np.random.default_rng(seed)
    classes = rng.integers(0, 7, shape).astype(np.uint8)
    wind = np.where(rng.random(shape) < 0.5, 0, rng.integers(0, 7, shape)).astype(np.uint8)
    units = rng.choice(np.array([-1, 610102, 610103, 610104, 5]), shape)
    return classes, wind, units


def assert_frames_close(a, b, rtol=1e-12):
    assert list(a.columns) == list(b.columns)
    np.testing.assert_array_equal(a.index.to_numpy(), b.index.to_numpy())
    np.testing.assert_allclose(a.to_numpy(), b.to_numpy(), rtol=rtol, atol=1e-12)


def check_invariants(df):
    np.testing.assert_allclose(df[CLASS_COLS].sum(axis=1), df["land_km2"], rtol=1e-12)
    assert (df["eroded_km2"] <= df["land_km2"] * (1 + 1e-12)).all()
    rate = df["conservation_rate_pct"].dropna()
    assert ((rate >= 0) & (rate <= 100)).all()
    land = df["land_km2"]
    expected = 100 * (land - df["eroded_km2"]) / land
    np.testing.assert_allclose(rate, expected[land > 0], rtol=1e-9, atol=1e-9)


# --------------------------------------------------------------------------- basics

def test_small_table_by_hand():
    classes = np.array([[1, 2, 3], [0, 6, 1]], dtype=np.uint8)
    units = np.array([[7, 7, 8], [7, 8, -1]])
    df = aggregate(classes, units, cell_area=1.0e6)  # 1 km² cells
    assert list(df.columns) == [*COLUMNS, "coverage_pct"]
    assert df.index.name == "unit"
    assert df.index.tolist() == [7, 8]
    assert df.loc[7, "land_km2"] == 2 and df.loc[7, "slight_km2"] == 1 and df.loc[7, "light_km2"] == 1
    assert df.loc[8, "moderate_km2"] == 1 and df.loc[8, "severe_km2"] == 1 and df.loc[8, "eroded_km2"] == 2
    assert df.loc[7, "conservation_rate_pct"] == 50.0
    assert df.loc[8, "conservation_rate_pct"] == 0.0
    np.testing.assert_allclose(df["coverage_pct"], [200 / 3, 100.0])  # unit 7 has one no-data cell of three


def test_invariants_and_whole_grid_totals():
    classes, wind, units = sample()
    for w in (None, wind):
        df = aggregate(classes, units, wind=w, cell_area=CELL * CELL)
        check_invariants(df)
        whole = aggregate(classes, np.where(units >= 0, 1, -1), wind=w, cell_area=CELL * CELL)
        ratios = ["conservation_rate_pct", "coverage_pct"]
        np.testing.assert_allclose(df.drop(columns=ratios).sum().to_numpy(),
                                   whole.drop(columns=ratios).iloc[0].to_numpy(), rtol=1e-12)


def test_large_sparse_ids_and_unit_ids():
    classes, _, units = sample(1)
    df = aggregate(classes, units, cell_area=900.0)
    assert df.index.tolist() == [5, 610102, 610103, 610104]
    chosen = aggregate(classes, units, cell_area=900.0, zone_ids=[610104, 999999, 5])
    assert chosen.index.tolist() == [610104, 999999, 5]
    assert chosen.loc[999999, "land_km2"] == 0 and np.isnan(chosen.loc[999999, "conservation_rate_pct"])
    assert np.isnan(chosen.loc[999999, "coverage_pct"])
    assert_frames_close(chosen.loc[[610104, 5]], df.loc[[610104, 5]])


def test_units_nodata_and_nan_classes():
    classes = np.array([[1.0, np.nan], [3.0, 2.0]])
    units = raster(np.array([[1, 1], [65535, 1]], dtype=np.uint16)).rio.write_nodata(65535)
    df = aggregate(raster(classes), units)
    assert df.index.tolist() == [1]
    np.testing.assert_allclose(df.loc[1, "land_km2"], 2 * 900 / 1e6)


# --------------------------------------------------------------------------- numpy vs dask

@pytest.mark.parametrize("chunks", [(37, 45), (10, 10), (1, 45), (37, 1), (8, 13)])
def test_numpy_vs_dask(chunks):
    classes, wind, units = sample(2)
    expected = aggregate(classes, units, wind=wind, cell_area=900.0)
    lazy = aggregate(dsa.from_array(classes, chunks=chunks), units, wind=dsa.from_array(wind, chunks=(9, 9)),
                     cell_area=900.0)
    assert_frames_close(lazy, expected)
    # DataArrays with CRS: default true areas, chunked differently
    da_expected = aggregate(raster(classes), raster(units), wind=raster(wind))
    da_lazy = aggregate(raster(classes, chunks=dict(zip(("y", "x"), chunks, strict=True))),
                        raster(units, chunks=7), wind=raster(wind))
    assert_frames_close(da_lazy, da_expected)
    assert_frames_close(da_expected, expected)


@settings(max_examples=20, deadline=None)
@given(st.integers(1, 40), st.integers(1, 50), st.integers(0, 2**32 - 1), st.booleans())
def test_chunking_invariance_property(cy, cx, seed, with_wind):
    classes, wind, units = sample(seed, (29, 33))
    w = wind if with_wind else None
    geo = dict(crs="EPSG:4326", cell=0.01, x0=108.0, y0=35.0)
    expected = aggregate(raster(classes, **geo), raster(units, **geo), wind=None if w is None else raster(w, **geo))
    lazy = aggregate(raster(classes, chunks={"y": cy, "x": cx}, **geo), raster(units, **geo),
                     wind=None if w is None else raster(w, chunks={"y": cx, "x": cy}, **geo))
    assert_frames_close(lazy, expected)
    check_invariants(lazy)


def test_lazy_inputs_are_not_materialised_whole():
    classes, _, units = sample(3)
    c = dsa.from_array(classes, chunks=(10, 10))
    seen = []

    def spy(block):
        seen.append(block.shape)
        return block

    spied = c.map_blocks(spy, dtype=c.dtype)
    aggregate(spied, units, cell_area=1.0)
    assert seen and max(s[0] * s[1] for s in seen if s[0] > 1 or s[1] > 1) <= 100


# --------------------------------------------------------------------------- polygons

def test_geodataframe_units_equal_label_raster():
    gpd = pytest.importorskip("geopandas")
    from shapely.geometry import box

    classes, wind, _ = sample(4, (40, 50))
    labels = np.full((40, 50), -1)
    labels[3:15, 5:20] = 610102  # rows 3..14, cols 5..19
    labels[20:38, 10:45] = 610103
    def cell_box(r0, r1, c0, c1):  # edges on cell boundaries, so centres are unambiguous
        return box(X0 + c0 * CELL, Y0 - r1 * CELL, X0 + c1 * CELL, Y0 - r0 * CELL)

    gdf = gpd.GeoDataFrame({"code": [610102, 610103]}, geometry=[cell_box(3, 15, 5, 20), cell_box(20, 38, 10, 45)],
                           crs="EPSG:32649")
    core = [*COLUMNS, "water_eroded_km2", "wind_eroded_km2"]
    expected = aggregate(raster(classes), raster(labels), wind=raster(wind))
    got = aggregate(raster(classes), gdf, wind=raster(wind), id_column="code")
    assert list(got.columns) == [*core, "polygon_km2", "coverage_pct"]
    assert_frames_close(got[core], expected[core])
    np.testing.assert_allclose(got["polygon_km2"], [12 * 15 * 900 / 1e6, 18 * 35 * 900 / 1e6], rtol=1e-12)
    # coverage: polygons = land + no data for edges on cell boundaries
    np.testing.assert_allclose(got["coverage_pct"], expected["coverage_pct"], rtol=1e-12)
    lazy = aggregate(raster(classes, chunks={"y": 7, "x": 11}), gdf.to_crs("EPSG:4326"), wind=raster(wind, chunks=9),
                     id_column="code")
    assert_frames_close(lazy[core], expected[core])
    with pytest.raises(InputError, match="column"):
        aggregate(raster(classes), gdf)
    # the cells erosion.plan sums by zone are the cells aggregate counts: polygons and labels alike
    from erosion.aggregation import zone_labels

    burnt, polygon_km2 = zone_labels(gdf.to_crs("EPSG:4326"), raster(classes), id_column="code")
    assert np.array_equal(burnt, labels) and list(polygon_km2.index) == [610102, 610103]
    same, none = zone_labels(raster(labels), raster(classes))
    assert np.array_equal(same, labels) and none is None
    with pytest.raises(GridMismatchError):
        zone_labels(labels[:-1], None, shape=labels.shape)


# --------------------------------------------------------------------------- true areas

def test_geographic_area_matches_ellipsoid():
    from pyproj import Geod

    n = 100  # 1°x1° box at 34-35°N, 108-109°E, 0.01° cells
    classes = np.ones((n, n), dtype=np.uint8)
    geo = raster(classes, crs="EPSG:4326", cell=1.0 / n, x0=108.0, y0=35.0)
    df = aggregate(geo, np.zeros((n, n), dtype=np.int32))
    t = np.linspace(0.0, 1.0, 2001)
    lons = np.r_[108 + t, np.full_like(t, 109.0), 109 - t, np.full_like(t, 108.0)]
    lats = np.r_[np.full_like(t, 34.0), 34 + t, np.full_like(t, 35.0), 35 - t]
    area, _ = Geod(ellps="WGS84").polygon_area_perimeter(lons, lats)
    np.testing.assert_allclose(df.loc[0, "land_km2"], abs(area) / 1e6, rtol=1e-3)
    # a planar "degree" area would be far off: the true area shrinks with latitude
    assert abs(df.loc[0, "land_km2"] - 111.32**2) / 111.32**2 > 0.1


# --------------------------------------------------------------------------- water + wind

def test_water_and_wind_each_cell_once():
    water = np.array([[1, 2, 0, 4, 0]], dtype=np.uint8)
    wind = np.array([[3, 2, 5, 1, 0]], dtype=np.uint8)
    units = np.zeros((1, 5), dtype=np.int64)
    df = aggregate(water, units, wind=wind, cell_area=1.0e6)
    row = df.loc[0]
    assert row["land_km2"] == 4  # the last cell has no class in either
    assert row["moderate_km2"] == 1 and row["light_km2"] == 1 and row["intense_km2"] == 1
    assert row["very_intense_km2"] == 1 and row["slight_km2"] == 0
    assert row["eroded_km2"] == 4
    assert row["water_eroded_km2"] == 2 and row["wind_eroded_km2"] == 3
    assert row["eroded_km2"] <= row["water_eroded_km2"] + row["wind_eroded_km2"]
    assert row["conservation_rate_pct"] == 0
    assert list(df.columns) == [*COLUMNS, "water_eroded_km2", "wind_eroded_km2", "coverage_pct"]


# --------------------------------------------------------------------------- errors

def test_errors():
    classes, _, units = sample(5, (6, 8))
    with pytest.raises(GridMismatchError):
        aggregate(raster(classes), raster(units, crs="EPSG:32650"))
    with pytest.raises(GridMismatchError):
        aggregate(raster(classes), raster(units, x0=X0 + 30))
    with pytest.raises(GridMismatchError):
        aggregate(classes, units[:, :5], cell_area=1.0)
    with pytest.raises(InputError, match="cell_area"):
        aggregate(classes, units)
    with pytest.raises(ValueRangeError):
        aggregate(classes + 1, units, cell_area=1.0)
    with pytest.raises(ValueRangeError):
        aggregate(classes, units, cell_area=0.0)
    with pytest.raises(ValueRangeError):
        aggregate(dsa.from_array(classes + 1, chunks=3), units, cell_area=1.0)


def test_empty_result():
    df = aggregate(np.ones((2, 2), np.uint8), np.full((2, 2), -1), cell_area=1.0)
    assert len(df) == 0 and list(df.columns) == [*COLUMNS, "coverage_pct"]
    assert isinstance(df.index, pd.Index) and df.index.name == "unit"


# --------------------------------------------------------------------------- renamed keywords

def test_deprecated_unit_keywords_warn_and_give_the_same_table():
    classes, _, units = sample(6, (12, 9))
    ids = [610104, 5, 999999]
    expected = aggregate(classes, units, cell_area=900.0, zone_ids=ids)
    with pytest.warns(FutureWarning, match="units= is deprecated, use zones="):
        old = aggregate(classes, units=units, cell_area=900.0, zone_ids=ids)
    assert_frames_close(old, expected)
    with pytest.warns(FutureWarning, match="unit_ids= is deprecated, use zone_ids="):
        old = aggregate(classes, units, cell_area=900.0, unit_ids=ids)
    assert_frames_close(old, expected)
    coded = np.where(units < 0, 65535, units).astype(np.int64)
    with pytest.warns(FutureWarning, match="units_nodata= is deprecated, use zones_nodata="):
        old = aggregate(classes, zones=coded, cell_area=900.0, units_nodata=65535, zone_ids=ids)
    assert_frames_close(old, expected)
    with pytest.raises(InputError, match="zones= only"):
        aggregate(classes, units, units=units, cell_area=900.0)
    with pytest.raises(InputError, match="zone_ids= only"):
        aggregate(classes, units, zone_ids=ids, unit_ids=ids, cell_area=900.0)
    with pytest.raises(InputError, match="needs zones"):
        aggregate(classes, cell_area=900.0)


# --------------------------------------------------------------------------- threads

def test_polygons_burnt_on_many_threads_leak_no_rasterio_warning():
    """rasterio silences its NotGeoreferencedWarning with warnings.catch_warnings, which is not
    thread-safe; unserialised calls on dask threads leaked it (about 1 in 3000 calls here)."""
    import threading
    import warnings

    from affine import Affine
    from rasterio.errors import NotGeoreferencedWarning
    from shapely.geometry import box

    from erosion.aggregation import burn

    shapes = [(box(0, 0, 30, 30), 1), (box(20, 20, 50, 50), 2)]
    leaked = []

    def work():
        for _ in range(1000):
            burn(shapes, out_shape=(50, 50), transform=Affine(1, 0, 0, 0, -1, 50), fill=-1)

    with warnings.catch_warnings():
        warnings.simplefilter("always", NotGeoreferencedWarning)
        saved, warnings.showwarning = warnings.showwarning, lambda message, category, *a, **k: leaked.append(category)
        try:
            threads = [threading.Thread(target=work) for _ in range(4)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
        finally:
            warnings.showwarning = saved
    assert NotGeoreferencedWarning not in leaked
