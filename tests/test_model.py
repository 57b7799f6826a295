"""csle / rusle: formula, cropland rule, backends, attributes, monotonicity, bad input."""

from __future__ import annotations

import dask.array as da
import numpy as np
import pytest
import rioxarray  # noqa: F401  (registers .rio)
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st

from erosion.errors import GridMismatchError, InputError, UnitsError, ValueRangeError
from erosion.model import csle, rusle

UNITS = {"R": "MJ mm hm-2 h-1 a-1", "K": "t hm2 h hm-2 MJ-1 mm-1"}


def raster(values, name, units=None, crs="EPSG:32649", chunks=None, origin=(500000.0, 4000000.0), res=30.0):
    values = np.asarray(values, dtype=np.float32)
    ny, nx = values.shape
    x = origin[0] + res * (np.arange(nx) + 0.5)
    y = origin[1] - res * (np.arange(ny) + 0.5)
    out = xr.DataArray(values, dims=("y", "x"), coords={"y": y, "x": x}, name=name)
    if units:
        out.attrs["units"] = units
    out = out.rio.write_crs(crs)
    return out.chunk(chunks) if chunks else out


def factors(shape=(20, 30), seed=0):
    rng = np.random.default_rng(seed)
    return {
        "R": rng.uniform(500, 8000, shape).astype(np.float32),
        "K": rng.uniform(0.001, 0.06, shape).astype(np.float32),
        "LS": rng.uniform(0, 20, shape).astype(np.float32),
        "B": rng.uniform(0, 1, shape).astype(np.float32),
        "E": rng.uniform(0, 1, shape).astype(np.float32),
        "T": rng.uniform(0, 1, shape).astype(np.float32),
    }


def test_csle_is_the_product_of_its_factors():
    f = factors()
    expected = np.prod([f[k].astype(np.float64) for k in "R K LS B E T".split()], axis=0)
    a = csle(**f)
    assert a.dtype == np.float32 and a.shape == (20, 30)
    np.testing.assert_allclose(a, expected, rtol=1e-6)


def test_scalars_give_a_float_and_defaults_are_one():
    assert csle(1000.0, 0.03, 2.0) == pytest.approx(60.0)
    assert isinstance(csle(1000.0, 0.03, 2.0, 0.5, 1.0, 0.3), float)
    assert rusle(3000.0, 0.02, 1.5, 0.2, 0.5) == pytest.approx(9.0)


def test_cropland_rule_b_off_cropland_t_on_cropland():
    # methods.md §1.1: on cropland B is not used and T multiplies; elsewhere B is used and T = 1.
    crop = np.array([[1, 0], [0, 1]], dtype=np.uint8)
    a = csle(1000.0, 0.03, 2.0, np.full((2, 2), 0.5), 1.0, np.full((2, 2), 0.281), cropland=crop)
    np.testing.assert_allclose(a, [[60 * 0.281, 60 * 0.5], [60 * 0.5, 60 * 0.281]], rtol=1e-6)
    # booleans work too
    a2 = csle(1000.0, 0.03, 2.0, 0.5, 1.0, 0.281, cropland=np.array([False, True]))
    np.testing.assert_allclose(a2, [30.0, 60 * 0.281], rtol=1e-6)


def test_cropland_nodata_gives_nan_not_a_guess():
    base = dict(R=np.full(3, 100.0), K=0.03, LS=2.0, B=0.1, E=1.0, T=0.4)
    a = csle(**base, cropland=np.array([0.0, 1.0, np.nan]))
    np.testing.assert_allclose(a[:2], [0.6, 2.4], rtol=1e-6)
    assert np.isnan(a[2])
    with pytest.raises(ValueRangeError, match=r"neither 0 .* nor 1"):
        csle(**base, cropland=np.array([0, 1, 255], dtype=np.uint8))
    sentinel = raster(np.array([[0, 1, 255]]), "cropland").astype(np.uint8).rio.write_nodata(255)
    r = raster(np.full((1, 3), 100.0), "R", UNITS["R"])
    a2 = csle(r, 0.03, 2.0, 0.1, 1.0, 0.4, cropland=sentinel)
    np.testing.assert_allclose(a2.values[0, :2], [0.6, 2.4], rtol=1e-6)
    assert np.isnan(a2.values[0, 2])


def test_large_arrays_split_over_threads_give_the_same_result_and_checks():
    f = factors((1500, 1500), seed=5)  # 2.25 Mi cells: more than one thread's share
    expected = np.prod([f[k].astype(np.float64) for k in "R K LS B E T".split()], axis=0).astype(np.float32)
    np.testing.assert_array_equal(csle(**f), expected)
    f["T"][-1, -1] = 2.0  # in the last thread's slice
    with pytest.raises(ValueRangeError, match="T: 1 of"):
        csle(**f)


def test_nan_propagates():
    f = factors((3, 3))
    f["K"][1, 1] = np.nan
    a = csle(**f)
    assert np.isnan(a[1, 1]) and np.isfinite(a).sum() == 8


def test_dataarray_output_keeps_grid_and_builds_attrs():
    f = factors()
    das = {k: raster(v, k, UNITS.get(k)) for k, v in f.items()}
    das["R"].attrs["long_name"] = "should not be inherited"
    a = csle(**das)
    assert a.name == "soil_loss"
    assert a.attrs["units"] == "t hm-2 a-1"
    assert a.attrs["long_name"] == "mean annual soil loss A"
    assert "Liu" in a.attrs["references"] and "csle" in a.attrs["history"]
    assert a.rio.crs == das["R"].rio.crs
    assert a.rio.transform() == das["R"].rio.transform()
    np.testing.assert_allclose(a.values, csle(**f), rtol=0)


@pytest.mark.parametrize("chunks", [{"y": 7, "x": 9}, {"y": 20, "x": 4}, {"y": 1, "x": 30}])
def test_dask_equals_numpy_for_every_chunking(chunks):
    f = factors(seed=3)
    crop = (np.random.default_rng(1).uniform(size=(20, 30)) > 0.5).astype(np.uint8)
    das = {k: raster(v, k, UNITS.get(k), chunks=chunks) for k, v in f.items()}
    lazy = csle(**das, cropland=raster(crop, "cropland", chunks=chunks))
    assert isinstance(lazy.data, da.Array), "csle must stay lazy on dask input"
    np.testing.assert_array_equal(lazy.compute().values, csle(**f, cropland=crop))
    lazy_r = rusle(das["R"], das["K"], das["LS"], das["B"], das["E"])
    np.testing.assert_array_equal(lazy_r.values, rusle(f["R"], f["K"], f["LS"], f["B"], f["E"]))


def test_lazy_range_errors_surface_on_compute():
    f = factors()
    f["B"][3, 4] = 1.5
    das = {k: raster(v, k, UNITS.get(k), chunks={"y": 10, "x": 10}) for k, v in f.items()}
    lazy = csle(**das)  # building the graph computes nothing, so it cannot fail yet
    with pytest.raises(ValueRangeError, match="B: 1 of"):
        lazy.compute()


@settings(max_examples=60, deadline=None)
@given(
    base=st.lists(st.floats(0.01, 1.0), min_size=6, max_size=6),
    which=st.integers(0, 5),
    bump=st.floats(0.0, 1.0),
)
def test_csle_is_monotone_in_each_factor(base, which, bump):
    scale = [8000.0, 0.06, 20.0, 1.0, 1.0, 1.0]
    lo = [b * s for b, s in zip(base, scale, strict=True)]
    hi = list(lo)
    hi[which] = lo[which] + bump * (scale[which] - lo[which])
    assert csle(*hi) >= csle(*lo)


def test_units_are_converted_at_the_boundary():
    # methods.md §1.3: R 17.02 and K 0.1317 from US customary to SI.
    r_us = raster([[100.0]], "R", "hundreds ft tonf in acre-1 h-1 a-1")
    k_us = raster([[0.3]], "K", "t acre h hundreds-1 acre-1 ft-1 tonf-1 in-1")
    a = csle(r_us, k_us, raster([[1.0]], "LS"))
    assert float(a.values[0, 0]) == pytest.approx(100 * 17.02 * 0.3 * 0.1317, rel=1e-6)


BAD = [
    ("negative R", dict(R=-5.0), ValueRangeError, "R: 1 of 1 cells"),
    ("cover in percent", dict(B=45.0), ValueRangeError, "B: 1 of 1 cells"),
    ("K in US units given as SI number", dict(K=1.3), ValueRangeError, "K: 1 of 1"),
    ("all NaN", dict(R=np.full(4, np.nan)), InputError, "every cell of A is NaN: R"),
]


@pytest.mark.parametrize(("label", "override", "error", "message"), BAD, ids=[b[0] for b in BAD])
def test_bad_numbers_get_clear_errors(label, override, error, message):
    args = dict(R=1000.0, K=0.03, LS=2.0, B=0.5, E=1.0, T=1.0) | override
    with pytest.raises(error, match=message):
        csle(**args)


def test_warn_mode_relaxes_range_checks():
    with pytest.warns(UserWarning, match="B: 1 of 1"):
        assert csle(1000.0, 0.03, 2.0, 1.2, data_validation="warn") == pytest.approx(72.0)


def test_missing_units_on_a_dimensional_dataarray():
    with pytest.raises(UnitsError, match="has no 'units' attribute"):
        csle(raster([[1000.0]], "R"), 0.03, 2.0)


def test_unknown_units():
    with pytest.raises(UnitsError, match="cannot be converted"):
        csle(raster([[1000.0]], "R", "furlongs"), 0.03, 2.0)


def test_mismatched_grids_name_both():
    r = raster(np.ones((4, 4)) * 1000, "R", UNITS["R"])
    for other in (raster(np.ones((4, 4)) * 0.03, "K", UNITS["K"], crs="EPSG:32650"),
                  raster(np.ones((4, 5)) * 0.03, "K", UNITS["K"]),
                  raster(np.ones((4, 4)) * 0.03, "K", UNITS["K"], origin=(500030.0, 4000000.0))):
        with pytest.raises(GridMismatchError, match="R and K are on different grids"):
            csle(r, other, 1.0)


def test_out_buffer():
    f = factors()
    out = np.empty((20, 30), np.float32)
    assert csle(**f, out=out) is out
    with pytest.raises(InputError, match="out must be"):
        csle(**f, out=np.empty((2, 2), np.float32))


def test_csle_on_dask_in_worker_processes():
    """The block function travels to other processes by value (distributed, multiprocessing):
    the equation must not be recognised by object identity there (it was: rusle's kernel ran)."""
    import dask

    ls = xr.DataArray(da.full((40, 30), 2.0, chunks=20), dims=("y", "x"), attrs={"units": "1"})
    with dask.config.set(scheduler="processes", num_workers=2):
        a = csle(1000.0, 0.005, ls, 0.5, 0.8, 0.9).compute()
    np.testing.assert_allclose(a.values, 1000.0 * 0.005 * 2.0 * 0.5 * 0.8 * 0.9, rtol=1e-6)
