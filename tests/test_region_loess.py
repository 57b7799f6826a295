"""The Loess Plateau region plugin (``loess``, experimental): settings, infinite-slope factor of
safety, susceptibility, unstable and failed shares per unit graded with the SL 190 gravity classes.

Reference values are cited at each test. The susceptibility map on real terrain runs on the
embedded Jacksboro DEM (Cumberland Mountains, Tennessee; erosion.datasets): the Loess Plateau
window of meteva's China 30″ DEM is too coarse to have slopes of 15° (its steepest cell is
10.4°), so the screening would assess nothing there.
"""

from __future__ import annotations

import math
import warnings

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rioxarray  # noqa: F401
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import Point, box

import erosion.regions
from erosion.errors import ErosionError, GridMismatchError, InputError, UnitsError, ValueRangeError
from erosion.regions import loess
from erosion.regions.conformance import CHUNKS, check
from tests.helpers import projected

CELL = 10.0
CRS = "EPSG:32649"


def grid(values, units=None, chunks=None):
    da = projected(np.asarray(values), cell=CELL, crs=CRS, units=units)
    return da.chunk(chunks) if chunks else da


def cells_km2(n):
    return n * CELL * CELL / 1e6


# ----------------------------------------------------------------------------- plugin

def test_conformance():
    check(loess.REGION)


def test_registered_through_the_entry_point():
    erosion.regions.refresh()
    region = erosion.regions.get("loess")
    assert region.maturity == "experimental" and "experimental" in region.description.lower()
    assert region.functions["factor_of_safety"] is loess.factor_of_safety


def test_settings_tolerable_loss_and_steep_slope_s():
    # SL 190-2007: tolerable soil loss of the north-western Loess Plateau = 1000 t km-2 a-1 (methods.md §7.1 [V])
    assert loess.REGION.settings["tolerable_soil_loss"] == 1000.0
    # oracle row 5: CSLE S at 20 and 30 degrees = Liu et al. (1994) 21.91 sin(theta) - 0.96
    assert loess.s_factor(20.0) == pytest.approx(6.5337, abs=1e-4)
    assert loess.s_factor(30.0) == pytest.approx(9.9950, abs=1e-4)
    # modulus 1000 (A = 10 t hm-2 a-1) is light on the Loess Plateau, 999 slight (boundary rule of SL 190)
    assert loess.intensity_class(10.0) == 2
    assert loess.intensity_class(9.99) == 1


# ----------------------------------------------------------------------------- published values

def test_oracle_row_18_scalar_numpy_dataarray():
    # oracles.md row 18 (standard soil mechanics, derived): c'=10 kPa, gamma=18, z=2 m, beta=30, u=0, phi'=25
    assert loess.factor_of_safety(30.0, 10.0, 25.0, 18.0, 2.0) == pytest.approx(1.4492, abs=1e-4)
    arr = loess.factor_of_safety(np.full((3, 2), 30.0), 10.0, 25.0, 18.0, 2.0, 0.0)
    assert arr.dtype == np.float32 and np.allclose(arr, 1.4492, atol=1e-4)
    beta = grid(np.full((4, 3), 30.0), "degree")
    out = loess.factor_of_safety(beta, grid(np.full((4, 3), 10.0), "kPa"), 25.0, 18.0, 2.0)
    assert out.name == "factor_of_safety" and out.attrs["units"] == "1"
    assert out.rio.crs == beta.rio.crs and "Skempton" in out.attrs["references"]
    assert np.allclose(out.values, 1.4492, atol=1e-4)


def test_gate_2014_seepage_to_the_surface():
    # GATE 2014 CE paper 1, Q16: c' = 0, phi' = 34, gamma_sat = 18, gamma_w = 10, water table at the surface
    # with seepage parallel to the slope; the steepest slope for FS = 1.5 is 11.3 degrees (answer key).
    u = loess.seepage_pore_pressure(11.3, 5.0, 1.0, water_unit_weight=10.0)
    assert u == pytest.approx(10.0 * 5.0 * math.cos(math.radians(11.3)) ** 2)
    assert loess.factor_of_safety(11.3, 0.0, 34.0, 18.0, 5.0, u) == pytest.approx(1.5, abs=0.005)
    # and any depth gives the same FS for c' = 0 (the depth cancels)
    u2 = loess.seepage_pore_pressure(11.3, 0.7, 1.0, water_unit_weight=10.0)
    assert loess.factor_of_safety(11.3, 0.0, 34.0, 18.0, 0.7, u2) == pytest.approx(1.5, abs=0.005)


def test_dry_cohesionless_slope():
    # c' = 0, dry: FS = tan(phi)/tan(beta). Hillslope of 40 degrees in soil of phi = 30: F = 0.69
    # (GATE Geology & Geophysics question, questions.collegedunia.com "a hillslope with an angle of 40").
    assert loess.factor_of_safety(40.0, 0.0, 30.0, 17.0, 3.0) == pytest.approx(0.69, abs=0.005)
    # limit equilibrium at beta = phi (Duncan, Wright & Brandon 2014, infinite slope in dry sand)
    assert loess.factor_of_safety(32.0, 0.0, 32.0, 19.0, 1.0) == pytest.approx(1.0, abs=1e-6)


def test_das_seepage_form():
    # Das, Principles of Geotechnical Engineering (9th ed.), Problem 15.3: H = 6 m, beta = 22, gamma_sat = 20.8,
    # phi' = 26, c' = 52 kPa, groundwater table at the surface. Das's closed form
    # FS = c'/(gamma_sat H cos^2 b tan b) + (gamma'/gamma_sat) tan phi'/tan b, gamma' = gamma_sat - 9.81,
    # must equal the general form with u = gamma_w H cos^2 b (derived: the two are one formula).
    b, phi, g, h, c = math.radians(22), math.radians(26), 20.8, 6.0, 52.0
    das = c / (g * h * math.cos(b) ** 2 * math.tan(b)) + (g - 9.81) / g * math.tan(phi) / math.tan(b)
    u = loess.seepage_pore_pressure(22.0, h, 1.0)
    assert loess.factor_of_safety(22.0, c, 26.0, g, h, u) == pytest.approx(das, rel=1e-6)
    assert das == pytest.approx(1.837, abs=1e-3)


def test_no_driving_stress_and_nan():
    assert loess.factor_of_safety(0.0, 10.0, 25.0, 18.0, 2.0) == math.inf
    assert loess.factor_of_safety(30.0, 10.0, 25.0, 18.0, 0.0) == math.inf
    out = loess.factor_of_safety(np.array([np.nan, 30.0]), 10.0, 25.0, 18.0, 2.0)
    assert np.isnan(out[0]) and out[1] == pytest.approx(1.4492, abs=1e-4)


def test_friction_angle_in_radians_on_a_dataarray_is_converted():
    beta = grid(np.full((2, 2), 30.0), "degree")
    phi = grid(np.full((2, 2), math.radians(25.0)), "radian")
    out = loess.factor_of_safety(beta, 10.0, phi, 18.0, 2.0)
    assert np.allclose(out.values, 1.4492, atol=1e-4)
    assert "radian" in out.attrs["history"]


# ----------------------------------------------------------------------------- properties

angles = st.floats(1.0, 45.0)
positive = st.floats(0.0, 80.0)


@settings(max_examples=60, deadline=None)
@given(b1=angles, b2=angles, c=positive, phi=st.floats(5.0, 45.0), gamma=st.floats(12.0, 22.0),
       z=st.floats(0.2, 20.0), m=st.floats(0.0, 1.0))
def test_fs_non_increasing_with_slope(b1, b2, c, phi, gamma, z, m):
    # with seepage pore pressure (u from the slope) and beta <= 45 degrees; above 45 the cohesion
    # term c'/(gamma z sin b cos b) grows again (documented limit of the infinite-slope model)
    lo, hi = sorted((b1, b2))
    fs = [loess.factor_of_safety(b, c, phi, gamma, z, loess.seepage_pore_pressure(b, z, m)) for b in (lo, hi)]
    assert fs[1] <= fs[0] + 1e-5 * abs(fs[0])


@settings(max_examples=60, deadline=None)
@given(b=angles, c=positive, phi=st.floats(5.0, 45.0), gamma=st.floats(12.0, 22.0), z=st.floats(0.2, 20.0),
       u1=st.floats(0.0, 200.0), u2=st.floats(0.0, 200.0), dc=st.floats(0.5, 50.0))
def test_fs_monotone_in_pore_pressure_and_cohesion(b, c, phi, gamma, z, u1, u2, dc):
    lo, hi = sorted((u1, u2))
    f_hi, f_lo = loess.factor_of_safety(b, c, phi, gamma, z, hi), loess.factor_of_safety(b, c, phi, gamma, z, lo)
    assert f_hi <= f_lo + 1e-5 * abs(f_lo) + 1e-6
    assert loess.factor_of_safety(b, c + dc, phi, gamma, z, lo) > loess.factor_of_safety(b, c, phi, gamma, z, lo)


def test_dask_equals_numpy_and_stays_lazy():
    rng = np.random.default_rng(1)
    beta, c = rng.uniform(0, 60, (23, 17)), rng.uniform(0, 30, (23, 17))
    z, m = rng.uniform(0.5, 5, (23, 17)), rng.uniform(0, 1, (23, 17))
    eager = [grid(beta, "degree"), grid(c, "kPa"), grid(z, "m"), grid(m, "1")]
    lazy = [grid(beta, "degree", CHUNKS), grid(c, "kPa", CHUNKS), grid(z, "m", CHUNKS), grid(m, "1", CHUNKS)]
    outs = []
    for b_, c_, z_, m_ in (eager, lazy):
        u = loess.seepage_pore_pressure(b_, z_, m_)
        fs = loess.factor_of_safety(b_, c_, 27.0, 16.0, z_, u)
        sus = loess.failure_susceptibility(fs, b_)
        outs.append((u, fs, sus))
    for a, b in zip(*outs, strict=True):
        assert b.chunks is not None and a.chunks is None
        assert b.rio.crs == a.rio.crs
        np.testing.assert_array_equal(b.values, a.values)
    # NumPy in, NumPy out, equal too
    u = loess.seepage_pore_pressure(beta, z, m)
    np.testing.assert_array_equal(loess.factor_of_safety(beta, c, 27.0, 16.0, z, u), outs[0][1].values)


# ----------------------------------------------------------------------------- susceptibility

def test_susceptibility_classes_and_boundaries():
    fs = np.array([0.99, 1.0, 1.2499, 1.25, 1.4999, 1.5, np.inf, np.nan, 0.5, 0.5])
    beta = np.array([30, 30, 30, 30, 30, 30, 30, 30, 14.9, 60.1])
    np.testing.assert_array_equal(loess.failure_susceptibility(fs, beta), [4, 3, 3, 2, 2, 1, 1, 0, 0, 0])
    assert loess.failure_susceptibility(0.9, 15.0) == 4 and loess.failure_susceptibility(0.9, 60.0) == 4
    assert loess.failure_susceptibility(1.1, 30.0, thresholds=(1.2, 1.3, 1.4)) == 4
    assert loess.failure_susceptibility(0.9, 70.0, slope_range=(10, 80)) == 4
    da = loess.failure_susceptibility(grid(fs.reshape(2, 5)), grid(beta.reshape(2, 5), "degree"))
    assert da.dtype == np.uint8 and da.attrs["flag_meanings"].split()[4] == "unstable" and da.rio.crs is not None


def test_susceptibility_on_the_jacksboro_dem():
    # Real terrain: no Loess Plateau DEM is reachable offline, so the embedded Jacksboro DEM (3 arc-second,
    # EPSG:4326, slopes up to 34 degrees at ~80 m cells) stands in. Wet loess: c' = 5 kPa, phi' = 28, gamma = 16,
    # z = 2 m, m = 0.8.
    from erosion.datasets import load
    from erosion.factors import slope

    dem = load("jacksboro")
    beta = slope(dem)
    u = loess.seepage_pore_pressure(beta, 2.0, 0.8)
    fs = loess.factor_of_safety(beta, 5.0, 28.0, 16.0, 2.0, u)
    sus = loess.failure_susceptibility(fs, beta)
    counts = np.bincount(sus.values.reshape(-1), minlength=5)
    b = beta.values
    assert counts[0] == np.count_nonzero(~((b >= 15) & (b <= 60)))  # gentle cells are not assessed
    assert counts[4] > 0 and counts[1] > 0  # the steepest slopes fail, the gentler assessed ones stand
    # uniform strength and beta <= 45: FS falls with slope, so every unstable cell is steeper than every stable one
    assert np.nanmin(b[sus.values == 4]) >= np.nanmax(b[sus.values == 1])
    assert sus.rio.crs == dem.rio.crs
    # stronger soil, fewer unstable cells
    sus2 = loess.failure_susceptibility(loess.factor_of_safety(beta, 8.0, 28.0, 16.0, 2.0, u), beta)
    assert np.count_nonzero(sus2.values == 4) < counts[4]
    lazy = loess.failure_susceptibility(loess.factor_of_safety(slope(load("jacksboro", chunks={"y": 100, "x": 120})),
                                                               5.0, 28.0, 16.0, 2.0, u.chunk({"y": 100, "x": 120})),
                                        slope(load("jacksboro", chunks={"y": 100, "x": 120})))
    np.testing.assert_array_equal(lazy.values, sus.values)


# ----------------------------------------------------------------------------- grading by unit

def test_gravity_class_boundaries():
    # SL 190-2007 gravity table (recalled, to verify): light < 10, moderate 10-15, intense 15-20,
    # very intense 20-30, severe > 30, read with the library's boundary rule (ADR 0005); 0 = slight
    shares = [0.0, 0.01, 9.999, 10.0, 15.0, 15.001, 20.0, 20.5, 30.0, 30.001, 100.0, np.nan]
    np.testing.assert_array_equal(loess.gravity_class(np.array(shares)), [1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 0])
    assert loess.gravity_class(12.0) == 3
    limits = dict(loess.GRAVITY_CLASS_LIMITS, light=5.0)
    assert loess.gravity_class(7.0, limits=limits) == 3
    da = loess.gravity_class(grid(np.array([[0.0, 12.0], [40.0, np.nan]]), "percent"))
    np.testing.assert_array_equal(da.values, [[1, 3], [6, 0]])
    assert da.name == "gravity_erosion_class" and da.rio.crs is not None


def _labelled():
    """A 12 x 10 grid: three units (1 | 2 | 3 by column), a susceptibility pattern and slopes."""
    i, j = np.mgrid[0:12, 0:10]
    zones = np.where(j < 3, 1, np.where(j < 7, 2, 3)).astype(np.int32)
    zones[0, :] = -1  # outside every unit
    sus = ((i + j) % 5).astype(np.uint8)  # codes 0..4
    beta = (5.0 + 4.0 * i + 0.5 * j).astype(np.float32)  # 5 .. 53.5 degrees
    return zones, sus, beta


@pytest.mark.parametrize("chunks", [None, CHUNKS])
def test_unstable_shares_add_up_by_unit(chunks):
    zones, sus, _ = _labelled()
    table = loess.unstable_share(grid(sus, chunks=chunks), grid(zones, chunks=chunks))
    assert list(table.index) == [1, 2, 3]
    for unit in (1, 2, 3):
        inside = zones == unit
        assert table.loc[unit, "slope_km2"] == pytest.approx(cells_km2(np.count_nonzero(inside & (sus > 0))))
        assert table.loc[unit, "unstable_km2"] == pytest.approx(cells_km2(np.count_nonzero(inside & (sus == 4))))
        assert table.loc[unit, "slope_area_pct"] == pytest.approx(
            100 * np.count_nonzero(inside & (sus > 0)) / np.count_nonzero(inside))
    # the units add up to the whole grid inside them
    assert table["unstable_km2"].sum() == pytest.approx(cells_km2(np.count_nonzero((zones > 0) & (sus == 4))))
    assert table["slope_km2"].sum() == pytest.approx(cells_km2(np.count_nonzero((zones > 0) & (sus > 0))))
    np.testing.assert_allclose(table["share_pct"], 100 * table["unstable_km2"] / table["slope_km2"])
    np.testing.assert_array_equal(table["gravity_class"], loess.gravity_class(table["share_pct"].to_numpy()))
    # counting quasi-stable cells as unstable too only adds area
    wider = loess.unstable_share(grid(sus, chunks=chunks), grid(zones, chunks=chunks), unstable_classes=(3, 4))
    assert (wider["unstable_km2"] >= table["unstable_km2"]).all()


def test_unit_map_paints_the_table():
    zones, sus, _ = _labelled()
    z = grid(zones)
    table = loess.unstable_share(grid(sus), z)
    classes = loess.unit_map(table, z)
    share = loess.unit_map(table, z.chunk(CHUNKS), "share_pct")
    assert classes.name == "gravity_erosion_class" and share.name == "unstable_area_share"
    assert share.chunks is not None and share.attrs["units"] == "percent"
    for unit in (1, 2, 3):
        assert (classes.values[zones == unit] == table.loc[unit, "gravity_class"]).all()
        assert np.allclose(share.values[zones == unit], table.loc[unit, "share_pct"])
    assert (classes.values[zones < 0] == 0).all() and np.isnan(share.values[zones < 0]).all()


@pytest.mark.parametrize("chunks", [None, CHUNKS])
def test_inventory_polygons_and_mask_agree(chunks):
    zones, _, beta = _labelled()
    slope = grid(beta, "degree", chunks)
    z = grid(zones, chunks=chunks)
    x0, y0 = float(slope.x[0]) - CELL / 2, float(slope.y[0]) + CELL / 2
    # two scars in cell units: rows 4-7 x columns 1-4 (units 1 and 2), rows 9-11 x column 8 (unit 3)
    scars = [box(x0 + 1 * CELL, y0 - 8 * CELL, x0 + 5 * CELL, y0 - 4 * CELL),
             box(x0 + 8 * CELL, y0 - 12 * CELL, x0 + 9 * CELL, y0 - 9 * CELL)]
    gdf = gpd.GeoDataFrame({"kind": ["collapse", "landslide"]}, geometry=scars, crs=CRS)
    mask = np.zeros(zones.shape, np.uint8)
    mask[4:8, 1:5] = 1
    mask[9:12, 8] = 1
    from_polygons = loess.inventory_share(gdf, slope, z)
    from_mask = loess.inventory_share(grid(mask, chunks=chunks), slope, z)
    pd.testing.assert_frame_equal(from_polygons, from_mask)
    on_slope = (beta >= 15) & (beta <= 90)
    for unit in (1, 2, 3):
        inside = zones == unit
        assert from_mask.loc[unit, "failed_km2"] == pytest.approx(cells_km2(np.count_nonzero(inside & on_slope & (mask == 1))))
        assert from_mask.loc[unit, "slope_km2"] == pytest.approx(cells_km2(np.count_nonzero(inside & on_slope)))
    assert from_mask.attrs["source"] == "inventory"
    # the whole slope area counts once
    assert from_mask["slope_km2"].sum() == pytest.approx(cells_km2(np.count_nonzero((zones > 0) & on_slope)))


def test_inventory_as_numpy():
    zones, _, beta = _labelled()
    mask = np.zeros(zones.shape, bool)
    mask[5:, 4:6] = True
    table = loess.inventory_share(mask, beta, zones, cell_area=CELL * CELL)
    assert table.loc[2, "failed_km2"] == pytest.approx(cells_km2(np.count_nonzero(mask & (zones == 2) & (beta >= 15))))
    assert table.loc[1, "gravity_class"] == 1  # no scar in unit 1: slight


# ----------------------------------------------------------------------------- bad inputs

@pytest.mark.parametrize("args, error, words", [
    ((30.0, -5.0, 25.0, 18.0, 2.0), ValueRangeError, "cannot be negative"),  # negative cohesion
    ((30.0, 10.0, 0.436, 18.0, 2.0), ValueRangeError, "radians"),  # friction angle in radians
    ((30.0, 10.0, 70.0, 18.0, 2.0), ValueRangeError, "percent"),  # 100 tan(35 deg) = 70: percent
    ((30.0, 10.0, 25.0, 1.8, 2.0), ValueRangeError, "9.81"),  # a bulk density in g cm-3
    ((30.0, 10.0, 25.0, 1800.0, 2.0), ValueRangeError, "0.00981"),  # a density in kg m-3
    ((30.0, 10000.0, 25.0, 18.0, 2.0), ValueRangeError, "Pa"),  # cohesion in Pa
    ((30.0, 10.0, 25.0, 18.0, -2.0), ValueRangeError, "depth"),  # negative depth
    ((130.0, 10.0, 25.0, 18.0, 2.0), ValueRangeError, "percent"),  # slope in percent
    ((30.0, 10.0, 25.0, 18.0, 2.0, -20.0), ValueRangeError, "suction"),  # negative pore pressure
])
def test_bad_scalar_inputs(args, error, words):
    with pytest.raises(error, match=words):
        loess.factor_of_safety(*args)


def test_warn_instead_of_raise():
    with pytest.warns(UserWarning, match="radians"):
        out = loess.factor_of_safety(30.0, 10.0, 0.436, 18.0, 2.0, data_validation="warn")
    assert math.isfinite(out)


def test_pascals_and_newtons_are_converted():
    beta = grid(np.full((2, 2), 30.0), "degree")
    si = loess.factor_of_safety(beta, grid(np.full((2, 2), 10000.0), "Pa"), 25.0, grid(np.full((2, 2), 18000.0), "N m-3"), 2.0)
    np.testing.assert_allclose(si.values, 1.4492, atol=1e-4)  # oracles row 18 again


def test_bad_dataarray_units():
    beta = grid(np.full((2, 2), 30.0), "degree")
    with pytest.raises(UnitsError, match="percent"):
        loess.factor_of_safety(beta, 10.0, grid(np.full((2, 2), 46.6), "percent"), 18.0, 2.0)
    with pytest.raises(UnitsError, match="kPa"):
        loess.factor_of_safety(beta, grid(np.full((2, 2), 1.45), "psi"), 25.0, 18.0, 2.0)
    with pytest.raises(UnitsError, match="units"):
        loess.factor_of_safety(beta, grid(np.full((2, 2), 10.0)), 25.0, 18.0, 2.0)
    with pytest.raises(InputError, match="NumPy arrays cannot be combined"):
        loess.factor_of_safety(beta, np.full((2, 2), 10.0), 25.0, 18.0, 2.0)
    with pytest.raises(GridMismatchError):
        loess.factor_of_safety(beta, projected(np.full((2, 2), 10.0), crs="EPSG:32650", units="kPa"), 25.0, 18.0, 2.0)


def test_bad_dask_block_is_reported_when_computed():
    c = grid(np.where(np.arange(24).reshape(6, 4) == 17, -1.0, 10.0), "kPa", {"y": 3, "x": 2})
    out = loess.factor_of_safety(grid(np.full((6, 4), 30.0), "degree", {"y": 3, "x": 2}), c, 25.0, 18.0, 2.0)
    assert out.chunks is not None  # nothing computed behind the user's back
    with pytest.raises(ValueRangeError, match="cohesion"):
        out.compute()


def test_inventory_in_another_crs():
    zones, _, beta = _labelled()
    slope = grid(beta, "degree")
    x0, y0 = float(slope.x[2]), float(slope.y[2])
    gdf = gpd.GeoDataFrame(geometry=[box(x0, y0 - 20, x0 + 20, y0)], crs=CRS).to_crs("EPSG:4326")
    with pytest.raises(GridMismatchError, match="to_crs"):
        loess.inventory_share(gdf, slope, grid(zones))
    with pytest.raises(InputError, match="set_crs"):
        loess.inventory_share(gdf.set_crs(None, allow_override=True), slope, grid(zones))
    # reprojected as the message says, it works
    table = loess.inventory_share(gdf.to_crs(CRS), slope, grid(zones))
    assert table["failed_km2"].sum() > 0
    # a raster mask on another grid
    other = projected(np.zeros(zones.shape, np.uint8), cell=CELL, crs="EPSG:32650", units=None)
    with pytest.raises(GridMismatchError, match="different grids"):
        loess.inventory_share(other, slope, grid(zones))


def test_bad_inventories():
    zones, _, beta = _labelled()
    slope = grid(beta, "degree")
    points = gpd.GeoDataFrame(geometry=[Point(float(slope.x[3]), float(slope.y[3]))], crs=CRS)
    with pytest.raises(InputError, match="buffer"):
        loess.inventory_share(points, slope, grid(zones))
    with pytest.raises(ValueRangeError, match="0 and 1"):
        loess.inventory_share(grid(np.full(zones.shape, 2, np.uint8)), slope, grid(zones))
    with pytest.raises(InputError, match="no grid"):
        loess.inventory_share(np.zeros(zones.shape), slope, grid(zones))


def test_bad_grading_inputs():
    zones, sus, _ = _labelled()
    with pytest.raises(ValueRangeError, match=r"0\.\.4"):
        loess.unstable_share(grid(sus + 3), grid(zones))
    with pytest.raises(InputError, match="unstable_classes"):
        loess.unstable_share(grid(sus), grid(zones), unstable_classes=(5,))
    with pytest.raises(UnitsError, match="multiply by 100"):
        loess.gravity_class(grid(np.full((2, 2), 0.2), "1"))
    with pytest.raises(ValueRangeError, match="valid range"):
        loess.gravity_class(120.0)
    with pytest.raises(ValueRangeError, match="increasing"):
        loess.failure_susceptibility(1.0, 30.0, thresholds=(1.5, 1.25, 1.0))
    with pytest.raises(ValueRangeError, match="low < high"):
        loess.failure_susceptibility(1.0, 30.0, slope_range=(60, 15))
    with pytest.raises(ValueRangeError, match="water"):
        loess.seepage_pore_pressure(30.0, 2.0, 0.5, water_unit_weight=1.0)
    with pytest.raises(ValueRangeError, match="fraction"):
        loess.seepage_pore_pressure(30.0, 2.0, 50.0)
    with pytest.raises(InputError, match="label raster"):
        loess.unit_map(pd.DataFrame({"gravity_class": [1]}, index=[1]), zones)


def test_every_error_is_the_librarys():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for call in (lambda: loess.factor_of_safety(30.0, -1.0, 25.0, 18.0, 2.0),
                     lambda: loess.gravity_class(-3.0),
                     lambda: loess.failure_susceptibility(1.0, 30.0, thresholds=(1.0,))):
            with pytest.raises(ErosionError):
                call()


def test_polygon_units_give_the_label_raster_table():
    # units as polygons (reused erosion.aggregate) = units as a label raster
    zones, sus, _ = _labelled()
    s = grid(sus)
    x0, y0 = float(s.x[0]) - CELL / 2, float(s.y[0]) + CELL / 2
    polys = gpd.GeoDataFrame({"id": [1, 2, 3]}, crs=CRS, geometry=[
        box(x0 + a * CELL, y0 - 12 * CELL, x0 + b * CELL, y0 - 1 * CELL) for a, b in ((0, 3), (3, 7), (7, 10))])
    by_polygon = loess.unstable_share(s, polys)
    by_label = loess.unstable_share(s, grid(zones))
    cols = ["slope_km2", "unstable_km2", "share_pct", "gravity_class"]
    pd.testing.assert_frame_equal(by_polygon[cols], by_label[cols], check_dtype=False)


def test_pore_pressure_units_and_output_attributes():
    beta = grid(np.full((2, 2), 30.0), "degree")
    with pytest.raises(UnitsError, match="kPa"):
        loess.factor_of_safety(beta, 10.0, 25.0, 18.0, 2.0, grid(np.full((2, 2), 0.7), "psi"))
    u = loess.seepage_pore_pressure(beta, grid(np.full((2, 2), 2.0), "m"), grid(np.full((2, 2), 0.5), "1"))
    assert u.name == "pore_pressure" and u.attrs["units"] == "kPa" and u.rio.crs == beta.rio.crs
    assert np.allclose(u.values, 9.81 * 0.5 * 2.0 * 0.75)
    fs = loess.factor_of_safety(beta, 10.0, 25.0, 18.0, grid(np.full((2, 2), 2.0), "m"), u)
    assert fs.attrs["long_name"] == "infinite-slope factor of safety" and "experimental" in fs.attrs["history"]
