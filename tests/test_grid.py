"""Grid checks, true cell sizes and areas, explicit alignment (erosion/grid.py)."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr
from pyproj import CRS, Geod, Transformer
from rasterio.transform import from_origin

from erosion.errors import GridMismatchError, InputError, UnknownCodeError
from erosion.grid import align, cell_area, cell_sizes, check_same_grid, grid_of, row_areas


def raster(shape, crs, transform, values=None, name="r", attrs=None) -> xr.DataArray:
    ny, nx = shape
    a, _, c, _, e, f = tuple(transform)[:6]
    x = c + a * (np.arange(nx) + 0.5)
    y = f + e * (np.arange(ny) + 0.5)
    data = np.zeros(shape, dtype=np.float32) if values is None else values
    da = xr.DataArray(data, dims=("y", "x"), coords={"y": y, "x": x}, name=name, attrs=dict(attrs or {}))
    if crs is not None:
        da = da.rio.write_crs(crs)
    return da.rio.write_transform(transform)


UTM = from_origin(500000.0, 4000000.0, 30.0, 30.0)


# --- check_same_grid -----------------------------------------------------------------------


def test_identical_grids_pass():
    a = raster((4, 5), "EPSG:32616", UTM)
    b = raster((4, 5), "EPSG:32616", UTM, name="other")
    check_same_grid(a, b, names=["a", "b"])
    check_same_grid(a, 3.0, np.ones((4, 5)), b)  # non-DataArrays are skipped


@pytest.mark.parametrize(
    ("other", "problem"),
    [
        (raster((4, 5), "EPSG:32617", UTM), "CRS differ"),
        (raster((4, 6), "EPSG:32616", UTM), "shapes differ"),
        (raster((4, 5), "EPSG:32616", from_origin(500030.0, 4000000.0, 30.0, 30.0)), "transforms differ"),
        (raster((4, 5), "EPSG:32616", from_origin(500000.0, 4000000.0, 10.0, 10.0)), "transforms differ"),
        (raster((4, 5), None, UTM), "CRS differ"),
    ],
)
def test_different_grids_raise_naming_both(other, problem):
    a = raster((4, 5), "EPSG:32616", UTM)
    with pytest.raises(GridMismatchError) as info:
        check_same_grid(a, other, names=["rainfall", "soil"])
    msg = str(info.value)
    assert problem in msg
    assert "rainfall:" in msg and "soil:" in msg
    assert grid_of(a).describe() in msg and grid_of(other).describe() in msg
    assert "erosion.align" in msg
    assert isinstance(info.value, ValueError)


# --- cell sizes and areas ------------------------------------------------------------------


def test_projected_cell_sizes_constant():
    da = raster((7, 3), "EPSG:32616", UTM)
    dx, dy = cell_sizes(da)
    assert dx.shape == dy.shape == (7,)
    np.testing.assert_array_equal(dx, 30.0)
    np.testing.assert_array_equal(dy, 30.0)
    np.testing.assert_allclose(row_areas(da), 900.0)


def test_feet_crs_converted_to_metres():
    crs = "EPSG:2263"  # NAD83 / New York Long Island (ftUS)
    factor = CRS.from_user_input(crs).axis_info[0].unit_conversion_factor
    assert factor == pytest.approx(1200 / 3937)
    da = raster((3, 3), crs, from_origin(1_000_000.0, 200_000.0, 100.0, 100.0))
    dx, dy = cell_sizes(da)
    np.testing.assert_allclose(dx, 100 * 1200 / 3937)
    np.testing.assert_allclose(dy, 100 * 1200 / 3937)


def test_no_crs_taken_as_metres():
    dx, dy = cell_sizes(raster((2, 2), None, from_origin(0, 0, 5.0, 4.0)))
    np.testing.assert_array_equal(dx, 5.0)
    np.testing.assert_array_equal(dy, 4.0)


def _geodesic_box_area(west, south, east, north, n=2000) -> float:
    """Ellipsoidal area of a lon/lat box, its parallels densified (they are not geodesics)."""
    lons = np.linspace(west, east, n)
    lats = np.linspace(south, north, n)
    ring_lon = np.r_[lons, np.full(n, east), lons[::-1], np.full(n, west)]
    ring_lat = np.r_[np.full(n, south), lats, np.full(n, north), lats[::-1]]
    area, _ = Geod(ellps="WGS84").polygon_area_perimeter(ring_lon, ring_lat)
    return abs(area)


def test_geographic_box_area_matches_geod():
    cell = 1 / 120
    da = raster((120, 120), "EPSG:4326", from_origin(-85.0, 37.0, cell, cell))
    total = row_areas(da).sum() * 120
    expected = _geodesic_box_area(-85.0, 36.0, -84.0, 37.0)
    assert total == pytest.approx(expected, rel=1e-3)
    assert total == pytest.approx(expected, rel=1e-5)  # in fact far better than the 0.1 % asked


def test_global_grid_total_area_is_the_ellipsoid():
    da = raster((180, 360), "EPSG:4326", from_origin(-180.0, 90.0, 1.0, 1.0))
    a, f = 6378137.0, 1 / 298.257223563
    e = np.sqrt(f * (2 - f))
    b = a * (1 - f)
    exact = 2 * np.pi * a**2 + np.pi * b**2 / e * np.log((1 + e) / (1 - e))
    total = row_areas(da).sum() * 360
    assert total == pytest.approx(exact, rel=1e-9)
    r_authalic = 6371007.181
    assert total == pytest.approx(4 * np.pi * r_authalic**2, rel=1e-6)
    assert total / 1e6 == pytest.approx(510_065_621, rel=1e-6)


def test_geographic_cell_sizes_at_equator():
    cell = 1 / 120
    da = raster((120, 10), "EPSG:4326", from_origin(10.0, 0.5, cell, cell))
    dx, dy = cell_sizes(da)
    equator_row = 59  # the row just north of the equator
    assert dx[equator_row] / cell / 1000 == pytest.approx(111.32, abs=0.005)
    assert dy[equator_row] / cell / 1000 == pytest.approx(110.574, abs=0.005)
    assert np.all(np.diff(dx[:60]) > 0)  # cells widen towards the equator
    # at 36.3 N (Jacksboro), 3 arc-second cells are about 74 m x 92 m
    jx, jy = cell_sizes(raster((1, 1), "EPSG:4326", from_origin(-84.2, 36.3005, cell / 10, cell / 10)))
    assert jx[0] == pytest.approx(74.7, abs=0.5)
    assert jy[0] == pytest.approx(92.4, abs=0.5)


def test_geographic_area_equals_dx_dy_for_small_cells():
    cell = 1 / 1200
    da = raster((50, 4), "EPSG:4326", from_origin(-84.4, 36.4, cell, cell))
    dx, dy = cell_sizes(da)
    np.testing.assert_allclose(row_areas(da), dx * dy, rtol=1e-7)


def test_latitudes_beyond_pole_rejected():
    with pytest.raises(InputError, match="beyond"):
        row_areas(raster((10, 10), "EPSG:4326", from_origin(0.0, 95.0, 1.0, 1.0)))


def test_cell_area_dataarray():
    cell = 1 / 120
    da = raster((24, 30), "EPSG:4326", from_origin(-85.0, 37.0, cell, cell), attrs={"units": "m"})
    area = cell_area(da)
    assert area.name == "cell_area"
    assert area.attrs["units"] == "m2"
    assert "history" in area.attrs
    assert area.rio.crs == da.rio.crs
    assert area.dtype == np.float64 and area.dims == ("y", "x")
    check_same_grid(da, area)
    np.testing.assert_allclose(area.values[:, 0], row_areas(da))
    assert np.all(area.values[0] == area.values[0, 0])

    lazy = cell_area(da.chunk({"y": 10, "x": 7}))
    assert lazy.chunks == ((10, 10, 4), (7, 7, 7, 7, 2))
    np.testing.assert_array_equal(lazy.values, area.values)


def test_cell_area_projected():
    area = cell_area(raster((3, 4), "EPSG:32616", UTM))
    np.testing.assert_array_equal(area.values, 900.0)
    assert area.rio.crs.to_epsg() == 32616


# --- align ---------------------------------------------------------------------------------


def test_align_reprojects_utm_onto_geographic():
    # UTM 16N raster whose value is its own easting (a plane, so bilinear is exact)
    to_utm = Transformer.from_crs("EPSG:4326", "EPSG:32616", always_xy=True)
    e0, n0 = to_utm.transform(-84.42, 36.45)
    e0, n0 = np.floor(e0 / 30) * 30 - 300, np.ceil(n0 / 30) * 30 + 300
    shape = (1200, 1200)
    utm = raster(shape, "EPSG:32616", from_origin(e0, n0, 30.0, 30.0), name="easting", attrs={"units": "m"})
    utm = utm.copy(data=np.broadcast_to(utm.x.values, shape).astype(np.float64))
    cell = 1 / 1200
    ref = raster((40, 50), "EPSG:4326", from_origin(-84.40, 36.44, cell, cell), name="dem")

    with pytest.raises(GridMismatchError):
        check_same_grid(ref, utm)
    (out,) = align(ref, utm, resampling="bilinear")
    check_same_grid(ref, out)
    assert out.attrs["units"] == "m"
    assert "erosion.align" in out.attrs["history"] and "bilinear" in out.attrs["history"]
    assert "history" not in utm.attrs  # the input is untouched
    lon, lat = np.meshgrid(ref.x.values, ref.y.values)
    expected, _ = to_utm.transform(lon, lat)
    # GDAL warps with an approximate transformer: allow 0.1 UTM cell
    np.testing.assert_allclose(out.values, expected, atol=3.0)


def test_align_unknown_resampling():
    a = raster((4, 5), "EPSG:32616", UTM)
    with pytest.raises(UnknownCodeError, match="resampling"):
        align(a, a, resampling="cubic_spline_magic")


def test_align_needs_crs():
    a = raster((4, 5), "EPSG:32616", UTM)
    with pytest.raises(InputError, match="no CRS"):
        align(a, raster((4, 5), None, UTM))
    with pytest.raises(InputError, match="no CRS"):
        align(raster((4, 5), None, UTM), a)
