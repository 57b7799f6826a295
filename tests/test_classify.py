"""SL 190-2007 intensity classes: oracles 14, 15, 19, boundary rule, kinds, units, backends."""

from __future__ import annotations

import dask.array as dsa
import numpy as np
import pytest
import rioxarray  # noqa: F401
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st

from erosion.classification import class_names, classify, loss_thickness, tolerable_loss, tolerable_regions
from erosion.errors import GridMismatchError, InputError, UnitsError, UnknownCodeError, ValueRangeError

SLIGHT, LIGHT, MODERATE, INTENSE, VERY_INTENSE, SEVERE = 1, 2, 3, 4, 5, 6
THRESHOLDS = [2500.0, 5000.0, 8000.0, 15000.0]


def raster(values, units="t hm-2 a-1", crs="EPSG:32649", chunks=None):
    v = np.asarray(values)
    ny, nx = v.shape
    da = xr.DataArray(v, dims=("y", "x"), coords={"y": 4000000.0 - 30.0 * (np.arange(ny) + 0.5),
                                                  "x": 500000.0 + 30.0 * (np.arange(nx) + 0.5)})
    if units is not None:
        da.attrs["units"] = units
    da = da.rio.write_crs(crs)
    return da.chunk(chunks) if chunks else da


# --------------------------------------------------------------------------- oracles

def test_oracle_14_water_tolerable_1000():
    modulus = np.array([999.0, 1000.0, 2500.0, 2500.01, 15000.0, 15000.01])  # t km-2 a-1
    expected = [SLIGHT, LIGHT, LIGHT, MODERATE, VERY_INTENSE, SEVERE]
    # as a modulus raster (no unit round trip) ...
    out = classify(raster(modulus.reshape(1, -1), units="t km-2 a-1"), tolerable=1000)
    assert out.values.ravel().tolist() == expected
    # ... as A in t hm-2 a-1 (float64 and float32), and with the region name
    assert classify(modulus / 100, tolerable=1000).tolist() == expected
    assert classify((modulus / 100).astype(np.float32), tolerable=1000).tolist() == expected
    assert classify(modulus / 100, tolerable="loess_plateau").tolist() == expected
    assert classify(modulus / 100, tolerable="西北黄土高原区").tolist() == expected


def test_oracle_15_water_tolerable_200():
    assert classify(np.array([1.99, 2.0]), tolerable=200).tolist() == [SLIGHT, LIGHT]
    assert classify(np.array([1.99, 2.0]), tolerable="black_soil").tolist() == [SLIGHT, LIGHT]
    out = classify(raster([[199.0, 200.0]], units="t km-2 a-1"), tolerable=200)
    assert out.values.ravel().tolist() == [SLIGHT, LIGHT]


def test_oracle_19_units_conversion():
    # A = 10 t hm-2 a-1 is M = 1000 t km-2 a-1: exactly T_tol on the Loess Plateau -> light
    assert classify(10.0, tolerable=1000) == LIGHT
    assert classify(9.999, tolerable=1000) == SLIGHT
    hm = classify(raster([[10.0]], units="t hm-2 a-1"), tolerable=1000)
    km = classify(raster([[1000.0]], units="t km-2 a-1"), tolerable=1000)
    ha = classify(raster([[10.0]], units="t ha-1 yr-1"), tolerable=1000)
    assert hm.item() == km.item() == ha.item() == LIGHT


def test_float32_boundaries_are_exact():
    a = np.array([25, 50, 80, 150, 10, 2, 5], dtype=np.float32)
    assert classify(a, tolerable=1000).tolist() == [LIGHT, MODERATE, INTENSE, VERY_INTENSE, LIGHT, SLIGHT, SLIGHT]
    above = np.nextafter(a, np.float32(np.inf))
    assert classify(above, tolerable=1000).tolist() == [MODERATE, INTENSE, VERY_INTENSE, SEVERE, LIGHT, SLIGHT, SLIGHT]
    assert classify(np.float32(25.0001), tolerable=1000) == MODERATE
    m32 = raster(np.array([[2500.0, 2500.01]], dtype=np.float32), units="t km-2 a-1")
    assert classify(m32, tolerable=500).values.ravel().tolist() == [LIGHT, MODERATE]


# --------------------------------------------------------------------------- properties

@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(0, 1e4, allow_nan=False), min_size=2, max_size=50),
       st.sampled_from([200.0, 500.0, 1000.0]))
def test_monotone_in_a(values, tol):
    a = np.sort(np.asarray(values))
    classes = classify(a, tolerable=tol)
    assert np.all(np.diff(classes.astype(int)) >= 0)
    assert classes.min() >= SLIGHT and classes.max() <= SEVERE


@settings(max_examples=40, deadline=None)
@given(st.sampled_from([200.0, 500.0, 1000.0]), st.sampled_from(["water", "wind"]))
def test_each_boundary_value_goes_to_the_right_class(tol, kind):
    t = 200.0 if kind == "wind" else tol
    kw = {} if kind == "wind" else {"tolerable": tol}
    m = np.array([t, *THRESHOLDS])
    below = np.nextafter(m, -np.inf)
    above = np.nextafter(m, np.inf)
    got = classify(raster(np.stack([below, m, above]), units="t km-2 a-1"), kind=kind, **kw).values
    assert got[0].tolist() == [SLIGHT, LIGHT, MODERATE, INTENSE, VERY_INTENSE]
    assert got[1].tolist() == [LIGHT, LIGHT, MODERATE, INTENSE, VERY_INTENSE]
    assert got[2].tolist() == [LIGHT, MODERATE, INTENSE, VERY_INTENSE, SEVERE]


@settings(max_examples=25, deadline=None)
@given(st.integers(1, 9), st.integers(1, 11), st.integers(0, 2**32 - 1))
def test_chunking_invariance(cy, cx, seed):
    rng = np.random.default_rng(seed)
    a = (rng.lognormal(2.0, 2.0, (17, 23))).astype(np.float32)
    a[rng.random(a.shape) < 0.1] = np.nan
    tol = rng.choice([200.0, 500.0, 1000.0], a.shape)
    expected = classify(a, tolerable=tol)
    lazy = classify(raster(a, chunks={"y": cy, "x": cx}), tolerable=raster(tol, units="t km-2 a-1", chunks={"y": 3}))
    assert isinstance(lazy.data, dsa.Array)
    np.testing.assert_array_equal(lazy.compute().values, expected)


# --------------------------------------------------------------------------- behaviour

def test_nan_and_nodata():
    out = classify(np.array([np.nan, 1.0, 30.0]), tolerable=np.array([500.0, np.nan, 500.0]))
    assert out.tolist() == [0, 0, MODERATE]
    assert out.dtype == np.uint8


def test_return_kinds():
    assert isinstance(classify(3.0, tolerable=200), int)
    assert classify([2.0, 30.0, 200.0], tolerable=200).tolist() == [LIGHT, MODERATE, SEVERE]
    lazy = classify(raster(np.ones((4, 4)), chunks=2), tolerable=200)
    assert lazy.chunks == ((2, 2), (2, 2))


def test_dataarray_attributes_and_crs():
    a = raster(np.array([[0.5, 30.0], [np.nan, 200.0]], dtype=np.float32), crs="EPSG:4490")
    out = classify(a, tolerable="southern_red_soil")
    assert out.dtype == np.uint8
    assert out.rio.crs == a.rio.crs
    assert out.name == "erosion_intensity_class"
    assert out.attrs["flag_values"].tolist() == list(range(7))
    assert out.attrs["flag_meanings"] == "no_data slight light moderate intense very_intense severe"
    assert out.attrs["_FillValue"] == 0
    assert "SL 190-2007" in out.attrs["references"]
    assert out.values.tolist() == [[SLIGHT, MODERATE], [0, SEVERE]]
    assert out.rio.transform() == a.rio.transform()


def test_wind_fixed_tolerable():
    a = np.array([1.99, 2.0, 25.0, 25.01])
    assert classify(a, kind="wind").tolist() == [SLIGHT, LIGHT, LIGHT, MODERATE]
    assert classify(a, kind="wind", tolerable=200).tolist() == [SLIGHT, LIGHT, LIGHT, MODERATE]
    with pytest.raises(InputError, match="national"):
        classify(a, kind="wind", tolerable=1000)
    with pytest.warns(UserWarning, match="national"):
        out = classify(a, kind="wind", tolerable=1000, data_validation="warn")
    assert out.tolist() == [SLIGHT, SLIGHT, LIGHT, MODERATE]


def test_water_requires_tolerable():
    with pytest.raises(InputError, match="loess_plateau"):
        classify(np.array([1.0]))


def test_tolerable_raster_and_grid_check():
    a = raster(np.full((2, 2), 6.0))
    tol = raster(np.array([[500.0, 1000.0], [200.0, 500.0]]), units="t km-2 a-1")
    assert classify(a, tolerable=tol).values.tolist() == [[LIGHT, SLIGHT], [LIGHT, LIGHT]]
    assert classify(a, tolerable=tol.values).values.tolist() == [[LIGHT, SLIGHT], [LIGHT, LIGHT]]
    other = raster(np.full((2, 2), 500.0), units="t km-2 a-1", crs="EPSG:32650")
    with pytest.raises(GridMismatchError):
        classify(a, tolerable=other)


def test_errors():
    with pytest.raises(UnknownCodeError):
        classify(1.0, kind="gravity", tolerable=200)
    with pytest.raises(UnknownCodeError):
        classify(1.0, tolerable="atlantis")
    with pytest.raises(ValueRangeError):
        classify(np.array([1.0, -0.5]), tolerable=200)
    with pytest.raises(ValueRangeError):
        classify(1.0, tolerable=3000)
    with pytest.raises(UnitsError):
        classify(raster([[1.0]], units=None), tolerable=200)
    with pytest.raises(UnitsError):
        classify(raster([[1.0]], units="kg"), tolerable=200)
    with pytest.warns(UserWarning):
        assert classify(np.array([-1.0, 1.0]), tolerable=200, data_validation="warn").tolist() == [0, SLIGHT]


def test_negative_a_in_lazy_input_raises_on_compute():
    lazy = classify(raster(np.array([[1.0, -1.0]]), chunks=1), tolerable=200)
    with pytest.raises(ValueRangeError):
        lazy.compute()


def test_helpers():
    assert tolerable_loss("loess_plateau") == 1000
    assert tolerable_regions() == {"loess_plateau": 1000, "black_soil": 200, "northern_rocky_mountain": 200,
                                   "southern_red_soil": 500, "southwest_rocky_mountain": 500}
    assert class_names("wind")[6] == "severe"
    assert class_names("water", language="zh")[1:] == ["微度", "轻度", "中度", "强烈", "极强烈", "剧烈"]
    np.testing.assert_allclose(loss_thickness(np.array([2500.0, 15000.0])), [1.852, 11.111], atol=5e-4)
