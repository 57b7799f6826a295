"""The contract every public function keeps (design.md, "Conventions").

- its output variable is in the vocabulary, with the vocabulary's units and CF attributes;
- CRS and transform survive, and dask inputs give the NumPy result for any chunking;
- bad input raises a clear erosion error that names the problem.
"""

from __future__ import annotations

import re
from pathlib import Path

import dask.array as da
import numpy as np
import pandas as pd
import pytest
import xarray as xr

import erosion
from erosion import factors as f
from erosion import vocabulary
from erosion.errors import (
    ErosionError,
    GridMismatchError,
    InputError,
    UnitsError,
    UnknownCodeError,
    ValueRangeError,
)
from erosion.factors import terrain as t

PACKAGE = Path(erosion.__file__).parent


@pytest.fixture(scope="module")
def dem() -> xr.DataArray:
    """A real DEM: the north-west 60 x 70 cells of the embedded Jacksboro grid (EPSG:4326)."""
    return erosion.datasets.load("jacksboro").isel(y=slice(0, 60), x=slice(0, 70)).load()


def _public_outputs(dem: xr.DataArray, chunks=None) -> dict[str, xr.DataArray]:
    """Every public raster function applied once, to ``dem`` (optionally dask-chunked)."""
    z = dem.chunk(chunks) if chunks else dem
    def one(a):  # steps without a tiled form take dask input held in one chunk
        return a.chunk(dict.fromkeys(a.dims, -1)) if chunks else a

    filled = t.fill_depressions(z)
    fdir = t.flow_direction(filled)
    theta = t.slope(z)
    lam = t.slope_length(z)
    ls = t.ls_factor(z)
    R = xr.full_like(dem, 4000.0).assign_attrs(units="MJ mm hm-2 h-1 a-1")
    K = xr.full_like(dem, 0.03).assign_attrs(units="t hm2 h hm-2 MJ-1 mm-1")
    if chunks:
        R, K = R.chunk(chunks), K.chunk(chunks)
    A = erosion.csle(R, K, ls, 0.05, 1.0, 1.0)
    dinf = t.flow_direction(filled, routing="dinf")
    mfd = t.flow_direction(filled, routing="mfd")
    # soil and cover fields on the same grid, varying with elevation (the factor modules' inputs)
    frac = ((z - 236.0) / 840.0).clip(0, 1)
    pct = {"units": "percent"}
    sand, clay = (20 + 40 * frac).assign_attrs(pct), (30 - 20 * frac).assign_attrs(pct)
    silt = (100 - sand - clay).assign_attrs(pct)
    ndvi = (0.1 + 0.7 * frac).assign_attrs(units="1")
    codes = (1 + (frac * 9).astype("uint8")).assign_attrs(units="1")  # IGBP classes 1..10
    return {
        "fill_depressions": filled,
        "flow_direction": fdir,
        "flow_accumulation": t.flow_accumulation(fdir),
        "slope": theta,
        "slope_length": lam,
        "s_factor": t.s_factor(theta),
        "m_exponent": t.m_exponent(theta),
        "l_factor": t.l_factor(lam, theta),
        "ls_factor": ls,
        "csle": A,
        "rusle": erosion.rusle(R, K, ls, 0.05, 0.5),
        "classify": erosion.classify(A, tolerable=500),
        "cell_area": erosion.cell_area(z),
        "aspect": t.aspect(z),
        "fill_depressions(flats='barnes')": t.fill_depressions(z, flats="barnes"),
        "breach_depressions": t.breach_depressions(one(z)),
        "flow_direction(dinf)": dinf,
        "flow_direction(mfd)": mfd,
        "flow_accumulation(dinf, sca)": t.flow_accumulation(one(dinf), output="sca"),
        "flow_accumulation(mfd)": t.flow_accumulation(one(mfd)),
        "ls_factor(desmet-govers, mfd)": t.ls_factor(one(z), method="desmet-govers", routing="mfd"),
        "ls_factor(rusle)": t.ls_factor(z, method="rusle"),
        "k_epic": f.k_epic(sand, silt, clay, (0.5 + 2 * frac).assign_attrs(pct)),
        "k_gmd": f.k_gmd(sand, silt, clay),
        "fvc_from_ndvi": f.fvc_from_ndvi(ndvi, soil=0.1, veg=0.8),
        "c_from_ndvi": f.c_from_ndvi(ndvi),
        "c_from_landuse": f.c_from_landuse(codes),
        "e_factor": f.e_factor(xr.ones_like(codes)),
        "p_factor": f.p_factor(theta),
    }


def test_outputs_are_in_the_vocabulary_with_its_units_and_keep_the_grid(dem):
    for fn, out in _public_outputs(dem).items():
        spec = vocabulary.get(out.name)  # raises if the vocabulary lacks it
        assert out.attrs["units"] == spec.units, fn
        assert out.attrs["long_name"] == spec.long_name, fn
        assert "history" in out.attrs, fn
        assert out.rio.crs == dem.rio.crs, fn
        assert out.rio.transform() == dem.rio.transform(), fn
        assert out.shape[-2:] == dem.shape, fn  # MFD fractions lead with a direction dim


@pytest.mark.parametrize("chunks", [{"y": 17, "x": 23}, {"y": 60, "x": 9}, {"y": 5, "x": 70}])
def test_dask_equals_numpy_for_every_public_function(dem, chunks):
    eager = _public_outputs(dem)
    lazy = _public_outputs(dem, chunks)
    for fn, out in lazy.items():
        assert isinstance(out.data, da.Array), f"{fn} computed a dask input behind the user's back"
        if fn == "flow_accumulation":  # tiled D8 sums add in another order (ADR 0017)
            np.testing.assert_allclose(out.values, eager[fn].values, rtol=1e-12, err_msg=fn)
        else:
            np.testing.assert_array_equal(out.values, eager[fn].values, err_msg=fn)


def test_aggregate_dask_equals_numpy(dem):
    classes = _public_outputs(dem)["classify"]
    units = xr.DataArray((np.arange(dem.size).reshape(dem.shape) // 700).astype(np.int32),
                         coords=dem.coords, dims=dem.dims).rio.write_crs(dem.rio.crs)
    eager = erosion.aggregate(classes, units)
    for chunks in ({"y": 13, "x": 31}, {"y": 60, "x": 7}):
        lazy = erosion.aggregate(classes.chunk(chunks), units.chunk(chunks))
        pd.testing.assert_frame_equal(lazy, eager, rtol=1e-12)


def test_every_variable_a_function_writes_is_declared():
    """Static check: each literal variable name passed to finalize/wrap is in the vocabulary."""
    pattern = re.compile(r"\b(?:finalize|wrap)\(\s*[^,()]+(?:\([^()]*\))?,\s*\"([a-z_0-9]+)\"")
    found = set()
    for path in PACKAGE.rglob("*.py"):
        found.update(pattern.findall(path.read_text("utf-8")))
    assert found, "the pattern found no output declarations: update this test"
    missing = sorted(found - set(vocabulary.names()))
    assert not missing, f"variables written but missing from erosion/data/variables.toml: {missing}"


def _raster(values, units=None, crs="EPSG:32650", origin=(500000.0, 4000000.0), cell=30.0):
    values = np.asarray(values, dtype=np.float32)
    ny, nx = values.shape
    out = xr.DataArray(values, dims=("y", "x"),
                       coords={"y": origin[1] - cell * (np.arange(ny) + 0.5), "x": origin[0] + cell * (np.arange(nx) + 0.5)})
    if units:
        out.attrs["units"] = units
    return out.rio.write_crs(crs)


R_UNITS = "MJ mm hm-2 h-1 a-1"
ONES = np.ones((4, 5))

BAD_INPUT = [
    ("mismatched CRS", lambda: erosion.csle(_raster(ONES, R_UNITS), _raster(ONES * 0.03, "t hm2 h hm-2 MJ-1 mm-1",
                                                                          crs="EPSG:32649"), 1.0),
     GridMismatchError, "CRS differ"),
    ("mismatched shape", lambda: erosion.classify(_raster(ONES, "t hm-2 a-1"),
                                                  tolerable=_raster(np.ones((4, 6)) * 500, "t km-2 a-1")),
     GridMismatchError, "shapes differ"),
    ("mismatched transform", lambda: erosion.aggregate(_raster(ONES).astype(np.uint8),
                                                       _raster(ONES, origin=(500030.0, 4000000.0)).astype(np.int32)),
     GridMismatchError, "transforms differ"),
    ("negative factor", lambda: erosion.csle(1000.0, 0.03, np.array([1.0, -2.0])), ValueRangeError, "LS: 1 of 2"),
    ("NaN-only factor", lambda: erosion.rusle(np.full((2, 2), np.nan), 0.03, 1.0), InputError, "every cell of A is NaN: R"),
    ("NaN-only DEM", lambda: t.slope(np.full((3, 3), np.nan), cellsize=30.0), InputError, "NaN"),
    ("slope in percent", lambda: t.s_factor(np.array([5.0, 35.0, 120.0])), ValueRangeError, "percent"),
    ("missing units (R)", lambda: erosion.csle(_raster(ONES * 1000), 0.03, 1.0), UnitsError, "no 'units' attribute"),
    ("missing units (DEM)", lambda: t.slope(_raster(ONES)), UnitsError, "no 'units' attribute"),
    ("missing units (A)", lambda: erosion.classify(_raster(ONES), tolerable=500), UnitsError, "no 'units'"),
    ("unknown units", lambda: t.slope(_raster(ONES, "furlongs")), UnitsError, "cannot be converted"),
    ("unknown class scheme", lambda: erosion.classify(10.0, kind="snow", tolerable=500), UnknownCodeError, "snow"),
    ("unknown tolerable region", lambda: erosion.classify(10.0, tolerable="atlantis"), UnknownCodeError, "atlantis"),
    ("water class without tolerable", lambda: erosion.classify(10.0), InputError, "tolerable"),
    ("unknown S method", lambda: t.s_factor(5.0, method="steep"), UnknownCodeError, "steep"),
    ("unknown m rule", lambda: t.l_factor(50.0, 5.0, m="fancy"), UnknownCodeError, "fancy"),
    ("missing file", lambda: erosion.open_raster("/nonexistent/dem.tif"), InputError, "not found"),
    ("unknown dataset", lambda: erosion.datasets.load("atlantis"), UnknownCodeError, "jacksboro"),
    # rasters as users hold them (issue 5)
    ("north-up with south-up", lambda: erosion.csle(_raster(ONES, R_UNITS), 0.03, _raster(ONES).sortby("y")),
     GridMismatchError, "south-up"),
    ("declared nodata left in the data", lambda: t.slope(_raster(np.r_[[[-9999.0] * 5], ONES[1:]], "m")
                                                          .rio.write_nodata(-9999.0)),
     ValueRangeError, "5 of these cells hold -9999, the nodata value the raster declares"),
    ("undeclared nodata sentinel", lambda: erosion.csle(1000.0, 0.03, 1.0, _raster(np.r_[[[255.0] * 5], ONES[1:]])),
     ValueRangeError, "a common nodata sentinel the raster does not declare"),
    ("several bands", lambda: erosion.classify(xr.concat([_raster(ONES, "t hm-2 a-1")] * 2, "band"), tolerable=500),
     InputError, r"select one band with da.isel\(band=0\)"),
    ("uneven coordinates", lambda: t.slope(_raster(ONES, "m").assign_coords(x=[0.0, 30.0, 60.0, 95.0, 120.0])),
     InputError, "not evenly spaced"),
    ("interpolating class codes", lambda: erosion.align(_raster(ONES), _raster(ONES).astype(np.int32),
                                                       resampling="bilinear"), InputError, "invent values"),
    ("overlapping polygons", lambda: erosion.aggregate(_raster(ONES).astype(np.uint8), _overlapping_polygons()),
     InputError, "overlapping ids"),
]


def _overlapping_polygons():
    import geopandas
    from shapely.geometry import box

    return geopandas.GeoDataFrame({"id": [1, 2]}, geometry=[box(500000, 3999880, 500100, 4000000),
                                                            box(500050, 3999880, 500150, 4000000)], crs="EPSG:32650")


@pytest.mark.parametrize(("label", "call", "error", "message"), BAD_INPUT, ids=[b[0] for b in BAD_INPUT])
def test_bad_input_gets_a_clear_error(label, call, error, message):
    with pytest.raises(error, match=message) as info:
        call()
    assert isinstance(info.value, ErosionError)
    assert len(str(info.value)) > 30, "the message should say what, where and how to fix it"
