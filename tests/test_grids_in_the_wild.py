"""Rasters as users hold them (issue 5, items 1, 2, 5, 6): files written and read with
rioxarray and GDAL, grids that differ in the last bits, south-up grids, nodata sentinels that
are declared but not masked, and band dimensions. Each case asserts the right number or the
library's own error with a message that names the fix."""

from __future__ import annotations

import numpy as np
import pytest
import rasterio
import rioxarray
import xarray as xr
from affine import Affine
from hypothesis import given, settings
from hypothesis import strategies as st

import erosion
from erosion import GridMismatchError, InputError, ValueRangeError
from erosion.factors import fill_depressions, flow_accumulation, flow_direction, ls_factor, slope, slope_length
from erosion.grid import grid_of

R_UNITS = "MJ mm hm-2 h-1 a-1"


@pytest.fixture(scope="module")
def dem():
    return erosion.datasets.load("jacksboro")


@pytest.fixture(scope="module")
def ls(dem):
    return ls_factor(dem)


def _geodesic_box_km2(west, south, east, north, n=2000):
    """Area of a lon/lat box on WGS84 by pyproj's geodesic polygon area, edges densified."""
    from pyproj import Geod

    lon = np.r_[np.linspace(west, east, n), np.full(n, east), np.linspace(east, west, n), np.full(n, west)]
    lat = np.r_[np.full(n, south), np.linspace(south, north, n), np.full(n, north), np.linspace(north, south, n)]
    return abs(Geod(ellps="WGS84").polygon_area_perimeter(lon, lat)[0]) / 1e6


def flip_rows(da: xr.DataArray) -> xr.DataArray:
    """The same raster stored south-up, with a correct (positive-e) transform, as GDAL writes it."""
    t = da.rio.transform()
    out = da.isel(y=slice(None, None, -1))
    return out.rio.write_transform(Affine(t.a, t.b, t.c, t.d, -t.e, t.f + t.e * da.sizes["y"]))


# --- 1. grids that pass the check must combine ------------------------------------------------

def test_factor_written_and_read_back_combines_with_the_dem(dem, ls, tmp_path):
    r = xr.full_like(dem, 4000.0)
    r.attrs = {"units": R_UNITS}
    r.rio.to_raster(tmp_path / "R.tif")
    R = erosion.open_raster(tmp_path / "R.tif")
    A = erosion.csle(R, 0.035, ls, 0.01)
    np.testing.assert_array_equal(A.values, erosion.csle(4000.0, 0.035, ls.values, 0.01))
    assert A.rio.crs == dem.rio.crs


def test_coordinates_that_differ_in_the_last_bits_combine_on_the_reference_grid(dem, ls):
    noisy = xr.full_like(dem, 4000.0).assign_attrs(units=R_UNITS)
    noisy = noisy.assign_coords(x=noisy.x + 1.4e-14, y=noisy.y - 3e-14)
    assert not np.array_equal(noisy.x, ls.x)
    expected = erosion.csle(4000.0, 0.035, ls.values, 0.01)

    A = erosion.csle(noisy, 0.035, ls, 0.01)
    np.testing.assert_array_equal(A.values, expected)
    np.testing.assert_array_equal(A.x, noisy.x)  # the first raster's grid is the reference

    lazy = erosion.csle(noisy.chunk({"y": 100, "x": 50}), 0.035, ls.chunk({"y": 70, "x": 90}), 0.01)
    assert lazy.chunks is not None
    np.testing.assert_array_equal(lazy.values, expected)

    cropland = (ls * 0).astype(np.uint8).assign_coords(x=ls.x + 1e-14)
    cropland.attrs = {}
    np.testing.assert_array_equal(erosion.csle(noisy, 0.035, ls, 0.01, cropland=cropland).values, expected)

    tol = xr.full_like(dem, 500.0).assign_attrs(units="t km-2 a-1").assign_coords(y=dem.y + 2e-14)
    classes = erosion.classify(A, tolerable=tol)
    np.testing.assert_array_equal(classes.values, erosion.classify(expected, tolerable=500))


def test_grids_that_differ_get_a_grid_mismatch_error_naming_align(dem, ls):
    shifted = xr.full_like(dem, 4000.0).assign_attrs(units=R_UNITS)
    shifted = shifted.assign_coords(x=shifted.x + 0.25 * 0.0008333333333333334)
    with pytest.raises(GridMismatchError, match=r"transforms differ(.|\n)*erosion\.align"):
        erosion.csle(shifted, 0.035, ls)
    with pytest.raises(GridMismatchError, match="south-up"):
        erosion.csle(shifted.sortby("y"), 0.035, ls)


# --- 2. south-up grids -------------------------------------------------------------------------

def test_sortby_leaves_a_stale_transform_that_the_library_does_not_trust(dem):
    south_up = dem.sortby("y")
    assert south_up.rio.transform().e < 0  # rioxarray's cached GeoTransform is stale
    t = grid_of(south_up).transform
    assert t[4] > 0 and t[5] == pytest.approx(float(dem.y[-1]) - 0.5 * abs(t[4]))
    extent = _geodesic_box_km2(*dem.rio.bounds())  # 959.5036 km², independently of cell_area
    assert float(erosion.cell_area(south_up).sum()) / 1e6 == pytest.approx(extent, abs=1e-3)
    assert float(erosion.cell_area(dem).sum()) / 1e6 == pytest.approx(extent, abs=1e-3)


@pytest.mark.parametrize("make_south_up", [lambda d: d.sortby("y"), flip_rows], ids=["sortby", "gdal-style"])
def test_south_up_gives_the_same_terrain_cell_for_cell(dem, ls, make_south_up):
    south_up = make_south_up(dem)
    back = dict(y=slice(None, None, -1))
    np.testing.assert_array_equal(slope(south_up).isel(back).values, slope(dem).values)
    np.testing.assert_array_equal(flow_direction(south_up).isel(back).values, flow_direction(dem).values)
    np.testing.assert_array_equal(ls_factor(south_up).isel(back).values, ls.values)
    # ellipsoidal areas difference two authalic latitudes: rounding of the row edges shows at 1e-11
    np.testing.assert_allclose(erosion.cell_area(south_up).isel(back).values, erosion.cell_area(dem).values,
                               rtol=1e-9)


def test_flow_direction_codes_are_compass_directions_in_either_row_order():
    # a plane rising to the south: water flows north, code 64, whatever the row order
    y = 4_000_000.0 - (np.arange(12) + 0.5) * 30.0
    z = np.broadcast_to((np.arange(12) * 3.0)[:, None], (12, 9)).copy()
    north_up = xr.DataArray(z, dims=("y", "x"), coords={"y": y, "x": 500_000.0 + (np.arange(9) + 0.5) * 30.0},
                            attrs={"units": "m"}).rio.write_crs("EPSG:32650")
    for da in (north_up, north_up.sortby("y"), flip_rows(north_up)):
        codes = flow_direction(da)
        below_the_top = codes.values[(codes.y < codes.y.max()).values]  # the northern row is the outlet
        assert set(np.unique(below_the_top)) == {64}, da.rio.transform()
        assert codes.attrs["flag_meanings"].split()[list(codes.attrs["flag_values"]).index(64)] == "north"


def test_geotiff_stored_south_up_reads_to_the_same_numbers(dem, ls, tmp_path):
    south_up = flip_rows(dem)
    path = tmp_path / "south_up.tif"
    with rasterio.open(path, "w", driver="GTiff", height=dem.sizes["y"], width=dem.sizes["x"], count=1,
                       dtype="float32", crs=dem.rio.crs, transform=south_up.rio.transform(), nodata=-9999) as dst:
        dst.write(south_up.values.astype(np.float32), 1)
        dst.update_tags(1, units="m")
    opened = erosion.open_raster(path)
    assert float(opened.y[0]) < float(opened.y[-1])
    result = ls_factor(opened).sortby("y", ascending=False)
    np.testing.assert_allclose(result.values, ls_factor(dem.astype(np.float32)).values, rtol=1e-6)


def test_written_south_up_raster_opens_north_up_with_the_same_values(dem, ls, tmp_path):
    out = ls_factor(dem.sortby("y"))
    erosion.write_raster(out, tmp_path / "ls.tif")
    back = erosion.open_raster(tmp_path / "ls.tif")
    assert back.rio.transform().e < 0
    np.testing.assert_array_equal(back.values, ls.values)


def test_outputs_carry_a_transform_that_matches_their_coordinates(dem):
    out = slope(dem.sortby("y"))
    assert out.rio.transform().e > 0
    assert out.rio.transform().almost_equals(out.rio.transform(recalc=True), precision=1e-12)
    assert dem.rio.transform().e < 0  # the input's grid mapping is untouched


def test_irregular_and_rotated_grids_are_refused(dem):
    irregular = dem.assign_coords(x=dem.x.values + np.r_[0.0, 0.0002, np.zeros(dem.sizes["x"] - 2)])
    with pytest.raises(InputError, match="not evenly spaced"):
        slope(irregular)
    rotated = dem.isel(y=[0]).rio.write_transform(Affine(0.001, 0.0002, -84.4, 0.0002, -0.001, 36.4))
    with pytest.raises(InputError, match="rotated"):
        grid_of(rotated)


# --- 5. declared nodata reported as nodata -----------------------------------------------------

def _gdal_write(path, values, template, nodata=None, units=None):
    """Write one band with rasterio (GDAL), as other tools make files."""
    with rasterio.open(path, "w", driver="GTiff", height=values.shape[0], width=values.shape[1], count=1,
                       dtype=values.dtype, crs=template.rio.crs, transform=template.rio.transform(),
                       nodata=nodata) as dst:
        dst.write(values, 1)
        if units:
            dst.update_tags(1, units=units)
    return path


def _dem_file_with_nodata(dem, path, sentinel=-9999.0, declare=True):
    z = dem.values.astype(np.float32)
    z[:5, :] = sentinel
    return _gdal_write(path, z, dem, nodata=sentinel if declare else None, units="m")


def test_plain_rioxarray_dem_with_declared_nodata_names_it_and_the_fix(dem, tmp_path):
    path = _dem_file_with_nodata(dem, tmp_path / "dem.tif")
    raw = rioxarray.open_rasterio(path).squeeze("band", drop=True)
    raw.attrs["units"] = "m"
    with pytest.raises(ValueRangeError, match=r"2015 of these cells hold -9999, the nodata value the raster declares"
                                              r"(.|\n)*masked=True"):
        slope(raw)
    masked = erosion.open_raster(path)
    assert int(np.isnan(masked.values).sum()) == 5 * dem.sizes["x"]
    assert np.isfinite(slope(masked).values[10:, 1:-1]).all()


def test_undeclared_common_sentinel_is_named_as_one(dem, tmp_path):
    path = _dem_file_with_nodata(dem, tmp_path / "dem.tif", declare=False)
    raw = rioxarray.open_rasterio(path).squeeze("band", drop=True).assign_attrs(units="m")
    with pytest.raises(ValueRangeError, match=r"-9999, a common nodata sentinel the raster does not declare"):
        ls_factor(raw)


def test_factor_raster_with_a_255_sentinel_names_it(ls, tmp_path):
    b = np.ones(ls.shape, dtype=np.uint8)  # e.g. an E raster of 0/1 codes
    b[0, :7] = 255
    _gdal_write(tmp_path / "B.tif", b, ls, nodata=255)
    raw = rioxarray.open_rasterio(tmp_path / "B.tif").squeeze("band", drop=True)
    assert raw.rio.nodata == 255
    with pytest.raises(ValueRangeError, match=r"B: 7 of .* 255, the nodata value the raster declares"):
        erosion.csle(4000.0, 0.035, ls, raw)
    with pytest.raises(ValueRangeError, match=r"B: 7 of .*values span 1 to 255"):
        erosion.csle(4000.0, 0.035, ls, raw + 0)  # arithmetic drops the declaration: just out of range


# --- 6. band dimensions --------------------------------------------------------------------------

def test_single_band_from_open_rasterio_is_squeezed_and_said(dem, ls, tmp_path):
    erosion.write_raster(dem, tmp_path / "dem.tif")
    raw = rioxarray.open_rasterio(tmp_path / "dem.tif", masked=True)
    assert raw.dims == ("band", "y", "x") and raw.attrs["units"] == "m"
    out = ls_factor(raw)
    assert out.dims == ("y", "x")
    np.testing.assert_allclose(out.values, ls_factor(dem.astype(np.float32)).values, rtol=1e-6)

    A = erosion.csle(xr.full_like(ls, 4000.0).assign_attrs(units=R_UNITS).expand_dims(band=[1]), 0.035, ls)
    assert A.dims == ("y", "x")
    assert "R: squeezed the single band dimension" in A.attrs["history"]
    classes = erosion.classify(A.expand_dims(band=[1]), tolerable=500)
    assert classes.dims == ("y", "x")
    assert float(erosion.cell_area(raw).sum()) == pytest.approx(float(erosion.cell_area(dem).sum()), rel=1e-12)


def test_several_bands_are_an_error_naming_the_dims(ls):
    two = xr.concat([ls, ls], dim="band").assign_attrs(units="1")
    for call in (lambda: erosion.csle(4000.0, 0.035, two), lambda: erosion.classify(two.assign_attrs(
            units="t hm-2 a-1"), tolerable=500), lambda: slope(two.assign_attrs(units="m"))):
        with pytest.raises(InputError, match=r"dims \('band', 'y', 'x'\) \(band=2.*isel\(band=0\)"):
            call()


# --- the flip property ----------------------------------------------------------------------------

_COMPASS = {1: (1, 0), 2: (1, -1), 4: (0, -1), 8: (-1, -1), 16: (-1, 0), 32: (-1, 1), 64: (0, 1), 128: (1, 1)}


def _random_dem(seed: int, ny: int, nx: int, geographic: bool) -> xr.DataArray:
    rng = np.random.default_rng(seed)
    i, j = np.mgrid[0:ny, 0:nx].astype(np.float64)
    z = 200.0 + 8.0 * np.sin(i / 3.0 + seed) * np.cos(j / 4.0) + 0.7 * i + rng.normal(0.0, 1.0, (ny, nx))
    if geographic:
        step, crs, y0, x0 = 0.0008333333333333334, "EPSG:4326", 36.5, 110.0
    else:
        step, crs, y0, x0 = 30.0, "EPSG:32650", 4_000_000.0, 500_000.0
    return xr.DataArray(z, dims=("y", "x"), attrs={"units": "m"},
                        coords={"y": y0 - (np.arange(ny) + 0.5) * step,
                                "x": x0 + (np.arange(nx) + 0.5) * step}).rio.write_crs(crs)


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 10_000), ny=st.integers(4, 24), nx=st.integers(4, 24), geographic=st.booleans(),
       sortby=st.booleans())
def test_flipping_rows_gives_the_same_physical_answer(seed, ny, nx, geographic, sortby):
    north = _random_dem(seed, ny, nx, geographic)
    south = north.sortby("y") if sortby else flip_rows(north)
    back = dict(y=slice(None, None, -1))
    np.testing.assert_array_equal(slope(south).isel(back).values, slope(north).values)
    np.testing.assert_array_equal(flow_direction(south).isel(back).values, flow_direction(north).values)
    np.testing.assert_array_equal(slope_length(south).isel(back).values, slope_length(north).values)
    np.testing.assert_array_equal(ls_factor(south).isel(back).values, ls_factor(north).values)
    np.testing.assert_allclose(erosion.cell_area(south).isel(back).values, erosion.cell_area(north).values,
                               rtol=1e-9)
    np.testing.assert_allclose(flow_accumulation(flow_direction(fill_depressions(south))).isel(back).values,
                               flow_accumulation(flow_direction(fill_depressions(north))).values, rtol=1e-9)

    classes = erosion.classify(erosion.csle(4000.0, 0.035, ls_factor(north), 0.05), tolerable=500)
    zones = xr.DataArray((np.arange(ny)[:, None] * 3 // ny + np.zeros(nx, dtype=int)).astype(np.int32) + 1,
                         dims=("y", "x"), coords=north.coords)
    south_classes = erosion.classify(erosion.csle(4000.0, 0.035, ls_factor(south), 0.05), tolerable=500)
    south_zones = zones.sortby("y") if sortby else flip_rows(zones)
    table = erosion.aggregate(classes, zones)
    flipped = erosion.aggregate(south_classes, south_zones)
    np.testing.assert_allclose(flipped.to_numpy(), table.to_numpy(), rtol=1e-9)

    # compass-true codes: the receiver named by the code, found by coordinates, is lower
    filled = fill_depressions(south)
    codes = flow_direction(filled)
    dy, dx = abs(float(south.y[1] - south.y[0])), abs(float(south.x[1] - south.x[0]))
    checked = 0
    for r, c in zip(*np.nonzero(np.isin(codes.values, list(_COMPASS))), strict=True):
        east, north_step = _COMPASS[int(codes.values[r, c])]
        x, y = float(south.x[c]) + east * dx, float(south.y[r]) + north_step * dy
        if not (south.x.min() - dx / 4 <= x <= south.x.max() + dx / 4 and south.y.min() - dy / 4 <= y <= south.y.max() + dy / 4):
            continue  # drains off the grid
        assert float(filled.sel(x=x, y=y, method="nearest", tolerance=dy / 4)) < float(filled.values[r, c])
        checked += 1
    assert checked > 0


# --- 9. lazy chains: the README's persist step computes the routing once --------------------------

def test_persisted_chain_runs_the_routing_once(dem, monkeypatch):
    import dask

    from erosion.factors.terrain import tiled

    calls = []
    phase3 = tiled._sl_phase3  # the last pass of the tiled slope length, once per tile
    monkeypatch.setattr(tiled, "_sl_phase3", lambda *a: calls.append(1) or phase3(*a))
    tiles = -(-dem.shape[0] // 172) * -(-dem.shape[1] // 202)
    zones = xr.DataArray(np.ones(dem.shape, dtype=np.int32), dims=dem.dims, coords=dem.coords)

    def chain():
        ls = ls_factor(dem.chunk({"y": 172, "x": 202}))
        A = erosion.csle(4000.0, 0.035, ls, 0.01)
        return A, erosion.classify(A, tolerable=500)

    A, classes = chain()
    erosion.aggregate(classes, zones)
    A.compute()
    assert len(calls) == 2 * tiles  # each result recomputes the whole chain

    calls.clear()
    A, classes = dask.persist(*chain())
    table = erosion.aggregate(classes, zones)
    assert len(calls) == tiles and float(A.max()) > 0 and table["land_km2"].iloc[0] == pytest.approx(959.5, abs=0.1)
