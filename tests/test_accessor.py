"""The .erosion accessor: each method gives exactly what the function it calls gives (values
and attributes), eagerly and on dask-chunked input without computing it; the Dataset models
read the factors by their vocabulary names."""

from __future__ import annotations

import importlib.util

import dask
import dask.array as dsa
import numpy as np
import pandas as pd
import pytest
import xarray as xr

import erosion
from erosion.errors import InputError
from erosion.factors import k_epic, terrain

CHUNKS = {"y": 40, "x": 45}


def _refuse_compute(*args, **kwargs):
    raise AssertionError("a dask graph was computed")


@pytest.fixture(scope="module")
def dem():
    return erosion.datasets.load("jacksboro").isel(y=slice(0, 80), x=slice(0, 90)).load()


@pytest.fixture(scope="module")
def fdir(dem):
    return terrain.flow_direction(terrain.fill_depressions(dem))


@pytest.fixture(scope="module")
def soil_loss(dem):
    return erosion.csle(R=4000.0, K=0.035, LS=terrain.ls_factor(dem), B=0.05)


@pytest.fixture(scope="module")
def zones(dem):
    """Two counties: the west and east halves of the crop."""
    labels = np.where(np.arange(dem.sizes["x"]) < 45, 1, 2).astype(np.int32)
    return xr.DataArray(np.broadcast_to(labels, dem.shape).copy(), dims=dem.dims, coords=dem.coords, name="county")


def vocabulary_name(method):
    return {"fill_depressions": "dem_filled", "breach_depressions": "dem_breached"}.get(method, method)


# (accessor method, function, input, keywords); "dem" inputs are the Jacksboro crop, "fdir" its D8 directions
TERRAIN = [
    ("slope", terrain.slope, "dem", {}),
    ("aspect", terrain.aspect, "dem", {}),
    ("fill_depressions", terrain.fill_depressions, "dem", {"flats": "barnes"}),
    ("breach_depressions", terrain.breach_depressions, "dem", {"max_depth": 5.0}),
    ("flow_direction", terrain.flow_direction, "dem", {}),
    ("flow_accumulation", terrain.flow_accumulation, "fdir", {}),
    ("slope_length", terrain.slope_length, "dem", {"max_length": 200.0}),
    ("ls_factor", terrain.ls_factor, "dem", {"m": 0.4, "s_method": "mccool"}),
]


@pytest.mark.parametrize(("method", "function", "source", "kwargs"), TERRAIN, ids=[t[0] for t in TERRAIN])
def test_terrain_methods_equal_the_functions(method, function, source, kwargs, request):
    x = request.getfixturevalue(source)
    got = getattr(x.erosion, method)(**kwargs)
    xr.testing.assert_identical(got, function(x, **kwargs))  # values, coordinates, name and attributes
    assert got.name == vocabulary_name(method) and got.attrs["references"]


@pytest.mark.parametrize(("method", "function", "source", "kwargs"), TERRAIN, ids=[t[0] for t in TERRAIN])
def test_terrain_methods_stay_lazy(method, function, source, kwargs, request):
    x = request.getfixturevalue(source)
    # breaching has no tiled form: one block, still lazy
    lazy = x.chunk({"y": -1, "x": -1} if method == "breach_depressions" else CHUNKS)
    with dask.config.set(scheduler=_refuse_compute):
        got = getattr(lazy.erosion, method)(**kwargs)
        expected = function(lazy, **kwargs)
    assert isinstance(got.data, dsa.Array) and got.chunks == expected.chunks
    xr.testing.assert_identical(got, expected)
    # tiled and in-memory routing sum in different orders: the same values to rounding
    xr.testing.assert_allclose(got.compute(), getattr(x.erosion, method)(**kwargs), rtol=1e-6)


def test_ls_factor_components(dem):
    got = dem.erosion.ls_factor(return_components=True)
    assert isinstance(got, xr.Dataset)
    xr.testing.assert_identical(got, terrain.ls_factor(dem, return_components=True))


def test_errors_are_the_functions_errors(dem):
    with pytest.raises(InputError, match="no tiled form") as via_accessor:
        dem.chunk(CHUNKS).erosion.breach_depressions()
    with pytest.raises(InputError) as direct:
        terrain.breach_depressions(dem.chunk(CHUNKS))
    assert str(via_accessor.value) == str(direct.value)


@pytest.mark.parametrize("chunked", [False, True], ids=["numpy", "dask"])
def test_classify(soil_loss, chunked):
    A = soil_loss.chunk(CHUNKS) if chunked else soil_loss
    with dask.config.set(scheduler=_refuse_compute):
        got = A.erosion.classify(kind="water", tolerable=200)
        expected = erosion.classify(A, kind="water", tolerable=200)
    assert (got.chunks is not None) == chunked
    xr.testing.assert_identical(got, expected)
    assert got.attrs["tolerable_soil_loss"] == 200.0


@pytest.mark.parametrize("chunked", [False, True], ids=["numpy", "dask"])
def test_aggregate(soil_loss, zones, chunked):
    classes = erosion.classify(soil_loss, tolerable=200)
    if chunked:
        classes, zones = classes.chunk(CHUNKS), zones.chunk(CHUNKS)
    got = classes.erosion.aggregate(zones, zone_ids=[1, 2, 3])
    pd.testing.assert_frame_equal(got, erosion.aggregate(classes, zones, zone_ids=[1, 2, 3]))
    assert list(got.index) == [1, 2, 3] and got["eroded_km2"].iloc[2] == 0
    assert got["eroded_km2"].iloc[:2].gt(0).all()


@pytest.mark.parametrize("chunked", [False, True], ids=["numpy", "dask"])
def test_write(soil_loss, tmp_path, chunked):
    A = soil_loss.chunk(CHUNKS) if chunked else soil_loss
    got = A.erosion.write(tmp_path / "accessor.tif", compress="lzw")
    expected = erosion.write_raster(A, tmp_path / "function.tif", compress="lzw")
    assert got == tmp_path / "accessor.tif" and expected == tmp_path / "function.tif"
    back, ref = erosion.open_raster(got), erosion.open_raster(expected)
    assert back.name == "accessor" and ref.name == "function"  # open_raster names a raster after its file
    xr.testing.assert_identical(back, ref.rename("accessor"))
    np.testing.assert_array_equal(back.values, soil_loss.values)
    assert erosion.cite(back) == erosion.cite(soil_loss)  # the references travel through the file


def test_cite_method(soil_loss):
    assert soil_loss.erosion.cite() == erosion.cite(soil_loss)
    assert soil_loss.erosion.cite(style="list") == erosion.cite(soil_loss, style="list")


@pytest.mark.skipif(importlib.util.find_spec("erosion.plot") is None or importlib.util.find_spec("matplotlib") is None,
                    reason="erosion/plot.py (written by helper H1) or matplotlib is not in this checkout")
def test_plot_dispatches_to_class_map_and_factor_map(soil_loss, tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    import erosion.plot

    classes = erosion.classify(soil_loss, kind="water", tolerable=200)
    try:
        _, (a1, a2, a3, a4) = plt.subplots(1, 4)
        got = classes.erosion.plot(ax=a1, lang="en")
        expected = erosion.plot.class_map(classes, kind="water", ax=a2, lang="en")
        assert got is a1 and expected is a2
        labels = [t.get_text() for t in got.get_legend().get_texts()]
        assert labels and labels == [t.get_text() for t in expected.get_legend().get_texts()]
        got = soil_loss.erosion.plot(ax=a3, title="A")
        expected = erosion.plot.factor_map(soil_loss, ax=a4, title="A")
        assert got is a3 and got.get_title() == expected.get_title() == "A"
        assert len(got.images) == len(expected.images) == 1
        np.testing.assert_array_equal(np.ma.getdata(got.images[0].get_array()),
                                      np.ma.getdata(expected.images[0].get_array()))
        assert got.images[0].norm.__class__ is expected.images[0].norm.__class__
        # a class raster read back from a file (named after the file) is still drawn as classes, of its kind
        wind = erosion.open_raster(erosion.write_raster(erosion.classify(soil_loss, kind="wind", tolerable=200),
                                                        tmp_path / "wind_classes.tif"))
        _, (b1, b2) = plt.subplots(1, 2)
        got, expected = wind.erosion.plot(ax=b1), erosion.plot.class_map(wind, kind="wind", ax=b2)
        labels = [t.get_text() for t in got.get_legend().get_texts()]
        assert labels and labels == [t.get_text() for t in expected.get_legend().get_texts()]
    finally:
        plt.close("all")


# Dataset accessor


def _factors(dem, chunked=False):
    ls = terrain.ls_factor(dem.chunk(CHUNKS) if chunked else dem)
    rng = np.random.default_rng(0)

    def field(low, high, units="1"):
        da = xr.DataArray(rng.uniform(low, high, dem.shape).astype(np.float32), dims=dem.dims, coords=dem.coords,
                          attrs={"units": units})
        return da.chunk(CHUNKS) if chunked else da

    sand, clay = field(30, 40, "percent"), field(20, 30, "percent")
    silt = (100.0 - sand - clay).assign_attrs(units="percent")
    return xr.Dataset({
        "rainfall_erosivity": field(2000, 6000, "MJ mm hm-2 h-1 a-1"),
        "soil_erodibility": k_epic(sand, silt, clay, field(0.5, 2.0, "percent")),
        "ls_factor": ls,
        "biological_factor": field(0.01, 0.5),
        "engineering_factor": field(0.5, 1.0),
        "tillage_factor": field(0.2, 1.0),
        "cover_management_factor": field(0.01, 0.5),
        "support_practice_factor": field(0.5, 1.0),
    })


@pytest.mark.parametrize("chunked", [False, True], ids=["numpy", "dask"])
def test_dataset_csle_reads_vocabulary_names(dem, chunked):
    ds = _factors(dem, chunked)
    with dask.config.set(scheduler=_refuse_compute):
        got = ds.erosion.csle()
        expected = erosion.csle(R=ds.rainfall_erosivity, K=ds.soil_erodibility, LS=ds.ls_factor,
                                B=ds.biological_factor, E=ds.engineering_factor, T=ds.tillage_factor)
    assert (got.chunks is not None) == chunked
    xr.testing.assert_identical(got, expected)
    assert got.notnull().all()


@pytest.mark.parametrize("chunked", [False, True], ids=["numpy", "dask"])
def test_dataset_rusle_reads_vocabulary_names(dem, chunked):
    ds = _factors(dem, chunked)
    with dask.config.set(scheduler=_refuse_compute):
        got = ds.erosion.rusle()
        expected = erosion.rusle(R=ds.rainfall_erosivity, K=ds.soil_erodibility, LS=ds.ls_factor,
                                 C=ds.cover_management_factor, P=ds.support_practice_factor)
    assert (got.chunks is not None) == chunked
    xr.testing.assert_identical(got, expected)


def test_dataset_optional_factors_default_and_cropland(dem):
    ds = _factors(dem)[["rainfall_erosivity", "soil_erodibility", "ls_factor", "biological_factor", "tillage_factor"]]
    xr.testing.assert_identical(ds.erosion.csle(), erosion.csle(ds.rainfall_erosivity, ds.soil_erodibility, ds.ls_factor,
                                                               B=ds.biological_factor, T=ds.tillage_factor))
    crop = xr.DataArray((np.arange(dem.sizes["x"]) % 2 == 0).astype(np.float32) * np.ones(dem.shape, np.float32),
                        dims=dem.dims, coords=dem.coords)
    with_crop = ds.assign(cropland=crop).erosion.csle()
    xr.testing.assert_identical(with_crop, erosion.csle(ds.rainfall_erosivity, ds.soil_erodibility, ds.ls_factor,
                                                        B=ds.biological_factor, T=ds.tillage_factor, cropland=crop))
    assert not with_crop.equals(ds.erosion.csle())


def test_dataset_keywords_override_variables(dem):
    ds = _factors(dem)
    got = ds.erosion.csle(R=3000.0, B=1.0, data_validation="warn")
    expected = erosion.csle(R=3000.0, K=ds.soil_erodibility, LS=ds.ls_factor, B=1.0, E=ds.engineering_factor,
                            T=ds.tillage_factor, data_validation="warn")
    xr.testing.assert_identical(got, expected)
    # a factor missing from the Dataset may come as a keyword
    xr.testing.assert_identical(ds.drop_vars("soil_erodibility").erosion.rusle(K=0.03),
                                erosion.rusle(ds.rainfall_erosivity, 0.03, ds.ls_factor, ds.cover_management_factor,
                                              ds.support_practice_factor))


def test_dataset_short_names(dem):
    ds = _factors(dem)
    short = ds.rename({"rainfall_erosivity": "R", "soil_erodibility": "K", "ls_factor": "LS"})
    xr.testing.assert_identical(short.erosion.csle(), ds.erosion.csle())
    with pytest.raises(InputError, match="both 'rainfall_erosivity' and 'R'"):
        ds.assign(R=ds.rainfall_erosivity).erosion.csle()


def test_dataset_missing_factor(dem):
    ds = _factors(dem).drop_vars(["soil_erodibility", "ls_factor"])
    with pytest.raises(InputError) as err:
        ds.erosion.csle()
    message = str(err.value)
    assert "K, LS" in message and "'soil_erodibility'" in message and "'ls_factor'" in message
    assert "Variables found: 'rainfall_erosivity', 'biological_factor'" in message
    with pytest.raises(InputError, match="'soil_erodibility'"):
        ds.erosion.rusle(LS=1.0)
    with pytest.raises(InputError, match="Variables found: none"):
        xr.Dataset().erosion.csle()


def test_dataset_classify_and_cite(dem):
    ds = _factors(dem)
    ds["soil_loss"] = ds.erosion.csle()
    xr.testing.assert_identical(ds.erosion.classify(tolerable=500), erosion.classify(ds.soil_loss, tolerable=500))
    assert ds.erosion.cite(style="list") == erosion.cite(ds, style="list")
    with pytest.raises(InputError, match="no 'soil_loss'"):
        ds.drop_vars("soil_loss").erosion.classify()
