"""Raster I/O: GeoTIFF round trips, nodata, units on open, dask, atomic writes (erosion/io.py)."""

from __future__ import annotations

import dask.array
import numpy as np
import pytest
import rasterio
import xarray as xr
from rasterio.transform import from_origin

from erosion.errors import InputError, UnitsError
from erosion.grid import grid_of
from erosion.io import open_raster, write_raster

UTM = from_origin(500000.0, 4000000.0, 30.0, 30.0)


def raster(values, crs="EPSG:32616", transform=UTM, attrs=None, name="r") -> xr.DataArray:
    ny, nx = values.shape
    a, _, c, _, e, f = tuple(transform)[:6]
    x = c + a * (np.arange(nx) + 0.5)
    y = f + e * (np.arange(ny) + 0.5)
    da = xr.DataArray(values, dims=("y", "x"), coords={"y": y, "x": x}, name=name, attrs=dict(attrs or {}))
    return da.rio.write_crs(crs).rio.write_transform(transform)


@pytest.fixture
def dem() -> xr.DataArray:
    rng = np.random.default_rng(0)
    z = (300 + 50 * rng.random((300, 280))).astype(np.float32)
    z[0, 0] = z[17, 200] = np.nan
    return raster(z, attrs={"units": "m", "long_name": "surface elevation"}, name="dem")


def leftovers(directory) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if ".tmp-" in p.name)


# --- round trips ---------------------------------------------------------------------------


def test_float_round_trip(tmp_path, dem):
    path = write_raster(dem, tmp_path / "dem.tif")
    assert path == tmp_path / "dem.tif"
    with rasterio.open(path) as src:
        assert src.profile["tiled"] and src.profile["blockxsize"] == 256 and src.profile["blockysize"] == 256
        assert src.profile["compress"] == "deflate"
        assert src.dtypes[0] == "float32" and np.isnan(src.nodata)
        assert src.tags()["units"] == "m"
        assert src.crs.to_epsg() == 32616
        assert tuple(src.transform) == tuple(UTM)
    back = open_raster(path)
    assert back.dims == ("y", "x") and back.dtype == np.float32
    np.testing.assert_array_equal(back.values, dem.values)  # NaN where NaN
    assert np.isnan(back.rio.nodata)
    assert back.rio.crs == dem.rio.crs
    assert grid_of(back) == grid_of(dem)
    assert back.attrs["units"] == "m" and back.attrs["long_name"] == "surface elevation"
    assert leftovers(tmp_path) == []


def test_float_with_explicit_nodata(tmp_path, dem):
    write_raster(dem, tmp_path / "dem.tif", nodata=-9999)
    with rasterio.open(tmp_path / "dem.tif") as src:
        assert src.nodata == -9999
        assert src.read(1)[0, 0] == -9999
    back = open_raster(tmp_path / "dem.tif")
    np.testing.assert_array_equal(back.values, dem.values)


def test_float_sentinel_kept_when_not_masked(tmp_path, dem):
    write_raster(dem, tmp_path / "a.tif", nodata=-9999)
    raw = open_raster(tmp_path / "a.tif", masked=False)
    assert raw.rio.nodata == -9999 and raw.values[0, 0] == -9999
    write_raster(raw, tmp_path / "b.tif")
    with rasterio.open(tmp_path / "b.tif") as src:
        assert src.nodata == -9999
    np.testing.assert_array_equal(open_raster(tmp_path / "b.tif").values, dem.values)


def test_no_crs_and_other_codecs(tmp_path, dem):
    plain = dem.drop_vars("spatial_ref")
    write_raster(plain, tmp_path / "n.tif", compress="lzw", tiled=False)
    back = open_raster(tmp_path / "n.tif")
    assert back.rio.crs is None
    np.testing.assert_array_equal(back.values, dem.values)
    write_raster(dem, tmp_path / "u.tif", compress=None)
    with rasterio.open(tmp_path / "u.tif") as src:
        assert src.compression is None


def test_class_raster_round_trip_nodata_zero(tmp_path):
    classes = np.tile(np.arange(7, dtype=np.uint8), (20, 3))  # 0 = no data, 1..6 classes
    da = raster(classes, attrs={"units": "1", "long_name": "soil erosion intensity class",
                                "flag_values": [1, 2, 3, 4, 5, 6]})
    write_raster(da, tmp_path / "classes.tif")
    with rasterio.open(tmp_path / "classes.tif") as src:
        assert src.dtypes[0] == "uint8" and src.nodata == 0
    raw = open_raster(tmp_path / "classes.tif", masked=False)
    assert raw.dtype == np.uint8 and raw.rio.nodata == 0
    np.testing.assert_array_equal(raw.values, classes)
    assert raw.attrs["long_name"] == "soil erosion intensity class"
    auto = open_raster(tmp_path / "classes.tif")  # integer classes stay integer by default
    assert auto.dtype == np.uint8 and auto.rio.nodata == 0
    masked = open_raster(tmp_path / "classes.tif", masked=True)
    assert masked.dtype.kind == "f"
    np.testing.assert_array_equal(np.isnan(masked.values), classes == 0)


def test_integer_nodata_choices(tmp_path):
    labels = raster(np.arange(12, dtype=np.int32).reshape(3, 4))
    write_raster(labels, tmp_path / "a.tif")
    with rasterio.open(tmp_path / "a.tif") as src:
        assert src.nodata is None  # nothing says which value is missing
    write_raster(labels.rio.write_nodata(-1), tmp_path / "b.tif")
    with rasterio.open(tmp_path / "b.tif") as src:
        assert src.nodata == -1
    with pytest.raises(InputError, match="cannot be stored"):
        write_raster(raster(np.ones((3, 4), np.uint8)), tmp_path / "c.tif", nodata=-32768)
    with pytest.raises(InputError, match="flag_values"):
        write_raster(raster(np.ones((3, 4), np.uint8), attrs={"flag_values": [0, 1]}), tmp_path / "d.tif")
    assert not (tmp_path / "c.tif").exists() and not (tmp_path / "d.tif").exists()


@pytest.mark.parametrize("cached", [False, True])
def test_south_up_written_north_up(tmp_path, dem, cached):
    flipped = dem.isel(y=slice(None, None, -1))  # its cached transform is stale (still north-up)
    if cached:
        flipped = flipped.rio.write_transform(from_origin(500000.0, 4000000.0 - 300 * 30, 30.0, -30.0))
    write_raster(flipped, tmp_path / "s.tif")
    with rasterio.open(tmp_path / "s.tif") as src:
        assert tuple(src.transform) == tuple(UTM)
    back = open_raster(tmp_path / "s.tif")
    np.testing.assert_array_equal(back.values, dem.values)


def test_cog(tmp_path, dem):
    write_raster(dem.chunk(128), tmp_path / "dem_cog.tif", cog=True)
    with rasterio.open(tmp_path / "dem_cog.tif") as src:
        assert src.tags(ns="IMAGE_STRUCTURE").get("LAYOUT") == "COG"
        assert src.crs.to_epsg() == 32616
    np.testing.assert_array_equal(open_raster(tmp_path / "dem_cog.tif").values, dem.values)
    assert leftovers(tmp_path) == []


# --- dask ----------------------------------------------------------------------------------


def test_dask_backed_write(tmp_path, dem):
    lazy = dem.chunk({"y": 100, "x": 90})
    write_raster(lazy, tmp_path / "lazy.tif")
    assert isinstance(lazy.data, dask.array.Array)  # not computed in place
    back = open_raster(tmp_path / "lazy.tif")
    np.testing.assert_array_equal(back.values, dem.values)
    assert grid_of(back) == grid_of(dem)


def test_open_with_chunks_gives_dask(tmp_path, dem):
    write_raster(dem, tmp_path / "dem.tif")
    eager = open_raster(tmp_path / "dem.tif")
    assert not isinstance(eager.data, dask.array.Array)
    lazy = open_raster(tmp_path / "dem.tif", chunks={"y": 128, "x": 128})
    assert isinstance(lazy.data, dask.array.Array)
    assert lazy.chunks == ((128, 128, 44), (128, 128, 24))
    auto = open_raster(tmp_path / "dem.tif", chunks="auto")
    assert isinstance(auto.data, dask.array.Array) and auto.dims == ("y", "x")
    np.testing.assert_array_equal(lazy.values, eager.values)
    assert lazy.rio.crs == eager.rio.crs


# --- atomic writes -------------------------------------------------------------------------


def test_failed_write_keeps_old_file(tmp_path, dem, monkeypatch):
    path = tmp_path / "dem.tif"
    write_raster(dem, path)
    before = path.read_bytes()

    from rioxarray.raster_array import RasterArray

    original = RasterArray.to_raster

    def broken(self, raster_path, **kwargs):
        original(self, raster_path, **kwargs)  # the temporary file exists, then the disk "fails"
        raise OSError("disk full")

    monkeypatch.setattr(RasterArray, "to_raster", broken)
    with pytest.raises(OSError, match="disk full"):
        write_raster(dem * 2, path)
    assert path.read_bytes() == before
    assert leftovers(tmp_path) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dem.tif"]


def test_failing_dask_block_keeps_old_file(tmp_path, dem):
    path = tmp_path / "dem.tif"
    write_raster(dem, path)
    before = path.read_bytes()

    def boom(block, block_info=None):
        if block_info[0]["chunk-location"] == (2, 1):
            raise RuntimeError("block failed")
        return block

    lazy = dem.chunk({"y": 100, "x": 100})
    bad = lazy.copy(data=lazy.data.map_blocks(boom, dtype=lazy.dtype))
    with pytest.raises(RuntimeError, match="block failed"):
        write_raster(bad, path)
    assert path.read_bytes() == before
    assert leftovers(tmp_path) == []


def test_overwrite_false(tmp_path, dem):
    path = write_raster(dem, tmp_path / "dem.tif")
    with pytest.raises(InputError, match="overwrite"):
        write_raster(dem, path, overwrite=False)
    write_raster(dem, tmp_path / "new.tif", overwrite=False)


def test_write_rejects_bad_input(tmp_path, dem):
    with pytest.raises(InputError, match="2-D"):
        write_raster(dem.values, tmp_path / "x.tif")
    with pytest.raises(InputError, match=r"isel\(band=0\)"):
        write_raster(dem.expand_dims(band=[1, 2]), tmp_path / "x.tif")
    with pytest.raises(InputError, match="does not exist"):
        write_raster(dem, tmp_path / "missing_dir" / "x.tif")


# --- open: errors and units ----------------------------------------------------------------


def test_missing_file(tmp_path):
    path = tmp_path / "nope.tif"
    with pytest.raises(InputError) as info:
        open_raster(path)
    msg = str(info.value)
    assert "not found" in msg and str(path) in msg and "Check the path" in msg
    assert isinstance(info.value, ValueError)
    assert isinstance(info.value, FileNotFoundError)


def test_unreadable_file(tmp_path):
    path = tmp_path / "junk.tif"
    path.write_text("not a raster")
    with pytest.raises(InputError, match="cannot read raster"):
        open_raster(path)


def test_band_selection(tmp_path):
    path = tmp_path / "two.tif"
    with rasterio.open(path, "w", driver="GTiff", width=4, height=3, count=2, dtype="float32",
                       crs="EPSG:32616", transform=UTM) as dst:
        dst.write(np.full((3, 4), 1.0, np.float32), 1)
        dst.write(np.full((3, 4), 2.0, np.float32), 2)
    assert float(open_raster(path, band=2).mean()) == 2.0
    assert open_raster(path).dims == ("y", "x")
    with pytest.raises(InputError, match="band=3"):
        open_raster(path, band=3)


def test_percent_slope_converted_to_degrees(tmp_path):
    pct = raster(np.array([[0.0, 100.0], [50.0, np.nan]], np.float32), attrs={"units": "percent"})
    write_raster(pct, tmp_path / "slope.tif")
    slope = open_raster(tmp_path / "slope.tif", variable="slope")
    assert slope.name == "slope"
    assert slope.attrs["units"] == "degree" and slope.attrs["long_name"] == "slope angle"
    assert "percent" in slope.attrs["history"]
    assert slope.dtype == np.float32
    np.testing.assert_allclose(slope.values, [[0.0, 45.0], [np.degrees(np.arctan(0.5)), np.nan]], rtol=1e-6)
    assert slope.rio.crs.to_epsg() == 32616
    # asking for degrees explicitly converts too
    again = open_raster(tmp_path / "slope.tif", units="degree", variable="slope")
    np.testing.assert_array_equal(again.values, slope.values)


def test_units_conflict_without_variable(tmp_path):
    write_raster(raster(np.ones((2, 2), np.float32), attrs={"units": "percent"}), tmp_path / "s.tif")
    with pytest.raises(UnitsError, match="percent"):
        open_raster(tmp_path / "s.tif", units="degree")
    with pytest.raises(UnitsError):
        open_raster(tmp_path / "s.tif", units="m", variable="dem")  # percent is no length
    # the same units in another spelling are no conflict
    assert open_raster(tmp_path / "s.tif", units="%").attrs["units"] == "percent"


def test_units_declared_when_file_has_none(tmp_path):
    write_raster(raster(np.full((2, 2), 1.5, np.float32)), tmp_path / "dem_km.tif")
    plain = open_raster(tmp_path / "dem_km.tif")
    assert "units" not in plain.attrs
    dem = open_raster(tmp_path / "dem_km.tif", units="km", variable="dem")
    assert dem.attrs["units"] == "m"
    np.testing.assert_allclose(dem.values, 1500.0)
    assert open_raster(tmp_path / "dem_km.tif", units="km").attrs["units"] == "km"
    with pytest.raises(UnitsError, match="no 'units'"):
        open_raster(tmp_path / "dem_km.tif", variable="dem")
    with pytest.warns(UserWarning, match="no 'units'"):
        open_raster(tmp_path / "dem_km.tif", variable="dem", data_validation="warn")
