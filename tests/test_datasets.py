"""The shipped sample data (erosion/datasets)."""

from __future__ import annotations

import sys
from importlib import resources

import dask.array
import numpy as np
import pytest
from rasterio.transform import from_origin

from erosion import datasets
from erosion.errors import UnknownCodeError


def test_names():
    assert datasets.names() == ["jacksboro"]


def test_jacksboro():
    dem = datasets.load("jacksboro")
    assert dem.name == "dem" and dem.dims == ("y", "x")
    assert dem.shape == (344, 403)
    assert dem.dtype == np.float32
    assert dem.attrs["units"] == "m" and dem.attrs["long_name"] == "surface elevation"
    assert "matplotlib" in dem.attrs["source"] and "LICENSE_matplotlib" in dem.attrs["license"]
    assert dem.rio.crs.to_epsg() == 4326
    assert np.isnan(dem.rio.nodata)
    assert tuple(dem.rio.transform()) == pytest.approx(tuple(from_origin(-84.41375, 36.44625, 1 / 1200, 1 / 1200)))
    west, south, east, north = dem.rio.bounds()
    assert (west, north) == pytest.approx((-84.41375, 36.44625), abs=1e-9)
    assert south == pytest.approx(36.44625 - 344 / 1200) and east == pytest.approx(-84.41375 + 403 / 1200)
    assert dem.y.values[0] > dem.y.values[-1]  # row 0 is the north edge
    assert float(dem.min()) == 236.0 and float(dem.max()) == 1076.0
    assert not np.isnan(dem.values).any()


def test_jacksboro_contains_the_town_and_the_low_point():
    dem = datasets.load("jacksboro")
    west, south, east, north = dem.rio.bounds()
    assert south < 36.33 < north and west < -84.18 < east  # Jacksboro, TN
    iy, ix = np.unravel_index(int(np.nanargmin(dem.values)), dem.shape)
    # the lowest cell lies near the Norris Dam tailwater on the Clinch River (docs/decisions/0001-jacksboro-georeferencing.md)
    assert float(dem.y[iy]) == pytest.approx(36.206, abs=0.01)
    assert float(dem.x[ix]) == pytest.approx(-84.124, abs=0.01)


def test_jacksboro_chunked():
    dem = datasets.load("jacksboro", chunks={"y": 100, "x": 100})
    assert isinstance(dem.data, dask.array.Array)
    assert dem.chunks[0][0] == 100
    np.testing.assert_array_equal(dem.values, datasets.load("jacksboro").values)


def test_unknown_dataset():
    with pytest.raises(UnknownCodeError, match="jacksboro") as info:
        datasets.load("volcano")
    assert "volcano" in str(info.value)
    assert isinstance(info.value, KeyError | ValueError)


def test_shipped_files():
    here = resources.files("erosion.datasets")
    tif = here.joinpath("jacksboro.tif")
    assert tif.is_file() and len(tif.read_bytes()) < 200_000
    notice = here.joinpath("LICENSE_matplotlib.txt").read_text("utf-8")
    assert "Matplotlib Development Team" in notice and "jacksboro" in notice


def test_no_matplotlib_needed(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib would now fail
    assert datasets.load("jacksboro").shape == (344, 403)
