"""Rasters as users hold them: files written by rioxarray and GDAL, plain open_rasterio reads,
integer label rasters with and without a nodata sentinel, alignment of labels (issue 5)."""

from __future__ import annotations

import numpy as np
import pytest
import rasterio
import rioxarray
import xarray as xr
from rasterio.transform import from_origin

import erosion
from erosion.errors import InputError
from erosion.io import open_raster, write_raster

UTM = from_origin(500000.0, 4000000.0, 30.0, 30.0)


@pytest.fixture(scope="module")
def dem() -> xr.DataArray:
    return erosion.datasets.load("jacksboro")  # float32, EPSG:4326, NaN _FillValue in its encoding


def blocks(shape, n=3, dtype=np.int32) -> np.ndarray:
    """An n × n grid of blocks with ids 1..n² (the demo's units)."""
    rows = np.arange(shape[0]) * n // shape[0]
    cols = np.arange(shape[1]) * n // shape[1]
    return (rows[:, None] * n + cols[None, :] + 1).astype(dtype)


def on_grid(values, transform, crs="EPSG:4326", name="units") -> xr.DataArray:
    ny, nx = values.shape
    x = transform.c + transform.a * (np.arange(nx) + 0.5)
    y = transform.f + transform.e * (np.arange(ny) + 0.5)
    da = xr.DataArray(values, dims=("y", "x"), coords={"y": y, "x": x}, name=name)
    return da.rio.write_crs(crs).rio.write_transform(transform)


def coarse_labels(dem, factor=1.5, shift=(0.3, 0.2), margin=0):
    """3 × 3 block labels on a coarser grid shifted against the DEM's, covering it (plus margin cells)."""
    t = dem.rio.transform()
    cell = t.a * factor
    x0, y0 = t.c + shift[0] * t.a - margin * cell, t.f + shift[1] * t.e + margin * cell
    nx = int(np.ceil(dem.shape[1] / factor)) + 2 * margin
    ny = int(np.ceil(dem.shape[0] / factor)) + 2 * margin
    return on_grid(blocks((ny, nx)), from_origin(x0, y0, cell, cell))


def area_by_id(area: np.ndarray, ids: np.ndarray) -> dict[int, float]:
    return {int(k): float(area[ids == k].sum()) for k in np.unique(ids)}


# --- write_raster: integer rasters made from float ones ------------------------------------


def test_labels_on_the_dem_grid_write_and_open_as_integers(tmp_path, dem):
    labels = blocks(dem.shape)
    units = dem.copy(data=labels)  # inherits the DEM's NaN fill value
    write_raster(units, tmp_path / "units.tif")
    with rasterio.open(tmp_path / "units.tif") as src:
        assert src.dtypes[0] == "int32" and src.nodata is None  # no label says "missing"
    back = open_raster(tmp_path / "units.tif")
    assert back.dtype == np.int32 and back.rio.nodata is None
    np.testing.assert_array_equal(back.values, labels)
    assert back.rio.crs == dem.rio.crs


@pytest.mark.parametrize("where", ["attrs", "encoding"])
def test_integer_raster_ignores_an_inherited_nan_fill(tmp_path, where):
    labels = np.arange(12, dtype=np.int16).reshape(3, 4)
    da = on_grid(labels, UTM, crs="EPSG:32616")
    getattr(da, where)["_FillValue"] = np.nan
    write_raster(da, tmp_path / "a.tif")
    write_raster(da, tmp_path / "b.tif", nodata=-1)
    with rasterio.open(tmp_path / "a.tif") as a, rasterio.open(tmp_path / "b.tif") as b:
        assert a.dtypes[0] == "int16" and a.nodata is None
        assert b.nodata == -1
    np.testing.assert_array_equal(open_raster(tmp_path / "b.tif").values, labels)


def test_uint8_labels_from_a_float_raster_get_nodata_zero(tmp_path, dem):
    write_raster(dem.copy(data=blocks(dem.shape, dtype=np.uint8)), tmp_path / "u8.tif")
    back = open_raster(tmp_path / "u8.tif")
    assert back.dtype == np.uint8 and back.rio.nodata == 0
    assert set(np.unique(back.values)) == set(range(1, 10))


# --- open_raster: integer files stay integer -----------------------------------------------


@pytest.mark.parametrize("sentinel", [None, -1])
def test_rioxarray_written_labels_open_as_integers(tmp_path, sentinel):
    labels = blocks((30, 40))
    labels[:5, :5] = -1 if sentinel is not None else labels[:5, :5]
    da = on_grid(labels, UTM, crs="EPSG:32616")
    if sentinel is not None:
        da = da.rio.write_nodata(sentinel)
    da.rio.to_raster(tmp_path / "counties.tif")
    back = open_raster(tmp_path / "counties.tif")
    assert back.dtype == np.int32
    assert back.rio.nodata == sentinel
    np.testing.assert_array_equal(back.values, labels)  # the sentinel stays in the data
    assert open_raster(tmp_path / "counties.tif", variable="unit_id").dtype == np.int32
    masked = open_raster(tmp_path / "counties.tif", masked=True)
    assert masked.dtype.kind == "f"
    assert np.isnan(masked.values).sum() == (25 if sentinel is not None else 0)


def test_gdal_written_land_use_with_nodata_255(tmp_path):
    codes = np.array([[1, 2, 255], [3, 255, 4]], dtype=np.uint8)
    with rasterio.open(tmp_path / "landuse.tif", "w", driver="GTiff", width=3, height=2, count=1,
                       dtype="uint8", nodata=255, crs="EPSG:32616", transform=UTM) as dst:
        dst.write(codes, 1)
    lu = open_raster(tmp_path / "landuse.tif")
    assert lu.dtype == np.uint8 and lu.rio.nodata == 255
    np.testing.assert_array_equal(lu.values, codes)
    write_raster(lu, tmp_path / "copy.tif")  # the sentinel travels on
    with rasterio.open(tmp_path / "copy.tif") as src:
        assert src.nodata == 255 and src.dtypes[0] == "uint8"
        np.testing.assert_array_equal(src.read(1), codes)


def test_gdal_written_integer_dem_is_masked_when_declared_a_quantity(tmp_path):
    z = np.array([[120, 130, -9999], [140, 150, 160]], dtype=np.int16)
    with rasterio.open(tmp_path / "srtm.tif", "w", driver="GTiff", width=3, height=2, count=1,
                       dtype="int16", nodata=-9999, crs="EPSG:32616", transform=UTM) as dst:
        dst.write(z, 1)
    raw = open_raster(tmp_path / "srtm.tif")  # nothing says it is a quantity: codes stay codes
    assert raw.dtype == np.int16 and raw.rio.nodata == -9999 and raw.values[0, 2] == -9999
    assert open_raster(tmp_path / "srtm.tif", units="1").dtype == np.int16  # dimensionless: still codes
    for opened in (open_raster(tmp_path / "srtm.tif", units="m"),
                   open_raster(tmp_path / "srtm.tif", units="m", variable="dem")):
        assert opened.dtype.kind == "f"
        np.testing.assert_array_equal(opened.values, [[120, 130, np.nan], [140, 150, 160]])


def test_aggregate_reads_the_sentinel_of_labels_opened_as_integers(tmp_path, dem):
    labels = blocks(dem.shape)
    labels[:, :20] = -9999  # a strip outside every unit
    on_grid(labels, dem.rio.transform()).rio.write_nodata(-9999).rio.to_raster(tmp_path / "counties.tif")
    units = open_raster(tmp_path / "counties.tif")
    assert units.dtype == np.int32 and units.rio.nodata == -9999
    classes = xr.full_like(dem, 1, dtype=np.uint8)  # all "slight": land area = unit area
    table = erosion.aggregate(classes, units)
    assert list(table.index) == list(range(1, 10))
    expected = area_by_id(erosion.cell_area(dem).values, labels)
    for k in range(1, 10):
        assert table.loc[k, "land_km2"] == pytest.approx(expected[k] / 1e6, rel=1e-9)


# --- write_raster: band dimension ----------------------------------------------------------


@pytest.mark.parametrize("dtype", ["int32", "float32"])
def test_open_rasterio_single_band_written_back(tmp_path, dtype):
    values = blocks((20, 30)).astype(dtype)
    values[0, 0] = -9999
    on_grid(values, UTM, crs="EPSG:32616").rio.write_nodata(-9999).rio.to_raster(tmp_path / "in.tif")
    plain = rioxarray.open_rasterio(tmp_path / "in.tif")
    assert plain.dims == ("band", "y", "x") and plain.sizes["band"] == 1
    write_raster(plain, tmp_path / "out.tif")
    with rasterio.open(tmp_path / "out.tif") as src:
        assert src.count == 1 and src.dtypes[0] == dtype and src.nodata == -9999
        np.testing.assert_array_equal(src.read(1), values)


def test_several_bands_refused_with_the_fix(tmp_path):
    with rasterio.open(tmp_path / "rgb.tif", "w", driver="GTiff", width=4, height=3, count=3,
                       dtype="uint8", crs="EPSG:32616", transform=UTM) as dst:
        dst.write(np.ones((3, 3, 4), np.uint8))
    plain = rioxarray.open_rasterio(tmp_path / "rgb.tif")
    with pytest.raises(InputError, match=r"isel\(band=0\)") as info:
        write_raster(plain, tmp_path / "out.tif")
    assert "('band', 'y', 'x')" in str(info.value)
    assert not (tmp_path / "out.tif").exists()
    write_raster(plain.isel(band=0), tmp_path / "out.tif")


# --- align: categorical rasters ------------------------------------------------------------


def test_align_block_labels_onto_the_demo_dem(dem):
    labels = coarse_labels(dem)
    (out,) = erosion.align(dem, labels)
    erosion.check_same_grid(dem, out)
    assert out.dtype == np.int32
    assert set(np.unique(out.values)) == set(range(1, 10))  # no id outside 1..9, none invented
    assert "nearest" in out.attrs["history"]
    # nearest: every cell takes the id of the source cell under its centre
    t = labels.rio.transform()
    col = np.floor((dem.x.values - t.c) / t.a).astype(int)
    row = np.floor((dem.y.values - t.f) / t.e).astype(int)
    expected = labels.values[row[:, None], col[None, :]]
    assert np.mean(out.values == expected) > 0.999
    # unit areas: those of the source inside the DEM's extent, within half a cell along the edges
    dt = dem.rio.transform()
    west, east = dt.c, dt.c + dt.a * dem.shape[1]
    north, south = dt.f, dt.f + dt.e * dem.shape[0]
    half = t.a / 2
    fx = np.clip((np.minimum(labels.x.values + half, east) - np.maximum(labels.x.values - half, west)) / t.a, 0, 1)
    fy = np.clip((np.minimum(labels.y.values + half, north) - np.maximum(labels.y.values - half, south)) / t.a, 0, 1)
    source = area_by_id(erosion.cell_area(labels).values * fy[:, None] * fx[None, :], labels.values)
    aligned = area_by_id(erosion.cell_area(out).values, out.values)
    for k in range(1, 10):
        assert aligned[k] == pytest.approx(source[k], rel=0.015)


@pytest.mark.parametrize(
    ("dtype", "nodata", "outside"),
    [("int32", None, np.iinfo(np.int32).min), ("int16", -1, -1), ("uint8", None, 255), ("uint8", 0, 0),
     ("float32", None, np.nan)],
)
def test_align_fills_outside_the_source_with_its_sentinel(dem, dtype, nodata, outside):
    labels = coarse_labels(dem)
    part = labels.isel(y=slice(0, 100), x=slice(0, 150)).astype(dtype)  # the north-west of the DEM
    if nodata is not None:
        part = part.rio.write_nodata(nodata)
    (out,) = erosion.align(dem, part, resampling=None if dtype != "float32" else "nearest")
    assert out.dtype == np.dtype(dtype)
    inside = set(np.unique(part.values).tolist())
    south_east = out.values[-1, -1]
    if np.isnan(outside):
        assert np.isnan(south_east) and np.isnan(out.rio.nodata)
        assert set(np.unique(out.values[np.isfinite(out.values)]).tolist()) <= inside
    else:
        assert south_east == outside and out.rio.nodata == outside
        assert set(np.unique(out.values).tolist()) <= inside | {outside}


def test_aligned_labels_write_open_and_aggregate(tmp_path, dem):
    (out,) = erosion.align(dem, coarse_labels(dem).isel(y=slice(0, 150)))  # the south is outside
    write_raster(out, tmp_path / "aligned.tif")
    back = open_raster(tmp_path / "aligned.tif")
    assert back.dtype == np.int32 and back.rio.nodata == np.iinfo(np.int32).min
    np.testing.assert_array_equal(back.values, out.values)
    table = erosion.aggregate(xr.full_like(dem, 1, dtype=np.uint8), back)
    assert set(table.index) <= set(range(1, 10))
    expected = area_by_id(erosion.cell_area(dem).values, out.values)
    for k in table.index:
        assert table.loc[k, "land_km2"] == pytest.approx(expected[k] / 1e6, rel=1e-9)


@pytest.mark.parametrize("method", ["bilinear", "cubic", "cubic_spline", "lanczos", "average", "gauss", "rms", "sum"])
def test_align_refuses_methods_that_invent_classes(dem, method):
    labels = coarse_labels(dem)
    with pytest.raises(InputError) as info:
        erosion.align(dem, labels, resampling=method)
    msg = str(info.value)
    assert "'units'" in msg and "int32" in msg and "'nearest'" in msg and "'mode'" in msg
    flags = labels.astype(np.float32).assign_attrs(flag_values=list(range(1, 10)))
    with pytest.raises(InputError, match="float32"):
        erosion.align(dem, flags, resampling=method)


def test_align_mode_and_float_defaults(dem):
    labels = coarse_labels(dem)
    (mode,) = erosion.align(dem, labels, resampling="mode")
    assert mode.dtype == np.int32 and set(np.unique(mode.values)) == set(range(1, 10))
    (flags,) = erosion.align(dem, labels.astype(np.float32).assign_attrs(flag_values=list(range(1, 10))))
    assert set(np.unique(flags.values)) == set(range(1, 10)) and "nearest" in flags.attrs["history"]
    ramp = labels.copy(data=np.broadcast_to(labels.x.values, labels.shape).astype(np.float64))
    (smooth,) = erosion.align(dem, ramp)
    assert smooth.dtype == np.float64 and "bilinear" in smooth.attrs["history"]
    inner = smooth.values[:, 5:-5]
    np.testing.assert_allclose(inner, np.broadcast_to(dem.x.values[5:-5], inner.shape), atol=1e-6)


def test_align_bool_mask_becomes_uint8_with_sentinel(dem):
    mask = coarse_labels(dem).isel(y=slice(0, 100)) > 4
    (out,) = erosion.align(dem, mask)
    assert out.dtype == np.uint8 and out.rio.nodata == 255
    assert set(np.unique(out.values).tolist()) == {0, 1, 255}
