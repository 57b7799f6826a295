"""Wind erosion plugin (erosion.regions.wind): oracle rows 16-17, published values, a real wind record,
properties, numpy == dask, the zone map with erosion.aggregate, and the plugin's bad-input table."""

from __future__ import annotations

import math
from pathlib import Path

import dask
import numpy as np
import pandas as pd
import pytest
import rioxarray  # noqa: F401  (registers .rio)
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st

import erosion
from erosion.errors import GridMismatchError, InputError, UnitsError, UnknownCodeError, ValueRangeError
from erosion.regions import conformance
from erosion.regions import wind as w

CRS = "EPSG:32649"


def raster(values, units, chunks=None, cell=100.0):
    values = np.asarray(values, dtype=np.float64)
    ny, nx = values.shape
    out = xr.DataArray(values, dims=("y", "x"),
                       coords={"y": 4_500_000.0 - cell * (np.arange(ny) + 0.5),
                               "x": 400_000.0 + cell * (np.arange(nx) + 0.5)}, attrs={"units": units})
    out = out.rio.write_crs(CRS)
    return out.chunk(chunks) if chunks else out


def _seattle_path() -> Path | None:
    try:
        import vega_datasets
    except ImportError:
        return None
    path = Path(vega_datasets.__file__).parent / "_data" / "seattle-weather.csv"
    return path if path.exists() else None


# ------------------------------------------------------------------------------- oracles (cited)

def test_oracle_16_rweq():
    """oracles.md row 16 (derived, Fryrear et al. 1998): WF 50, EF 0.5, SCF 0.8, K' 0.9, COG 0.5, z 50 m."""
    res = w.rweq(50.0, 0.5, 0.8, 0.9, 0.5, distance=50.0)
    assert res.max_transport_capacity == pytest.approx(988.2, rel=1e-3)
    assert res.critical_field_length == pytest.approx(66.684, rel=1e-3)
    assert res.soil_loss == pytest.approx(12.666 * 10.0, rel=1e-3)  # 12.666 kg m-2 = 126.66 t hm-2


def test_oracle_17_roughness_zero():
    """oracles.md row 17: K_r = 0, C_rr = 0 gives K' = 1 exactly."""
    assert w.roughness_factor(0.0, 0.0) == 1.0


def test_critical_length_coefficient_is_150_71_not_105_71():
    """methods.md §12: a public implementation writes 105.71; at P = 1, s = 150.71 m."""
    assert w.rweq(1.0, 1.0, 1.0, 1.0, 1.0).critical_field_length == pytest.approx(150.71, rel=1e-12)


def test_fao56_example_14_wind_height():
    """Allen et al. (1998) FAO-56 Example 14: 3.2 m/s measured at 10 m is 2.4 m/s at 2 m (eq. 47).

    With U_t = 0 and one observation, WF = N_d (rho/g) u2^3, so u2 can be read back."""
    wf = w.weather_factor(np.array([3.2]), units="m s-1", height=10.0, threshold=0.0, days=1.0, g=1.0,
                          air_density=1.0)
    assert wf ** (1.0 / 3.0) == pytest.approx(2.4, abs=0.05)
    assert wf ** (1.0 / 3.0) == pytest.approx(3.2 * 4.87 / math.log(67.8 * 10 - 5.42), rel=1e-12)


def test_air_density_standard_atmosphere():
    """ICAO standard atmosphere at sea level: 15 °C, 101.325 kPa, 1.225 kg m-3; 0 °C gives RWEQ's 1.29."""
    assert w.air_density(15.0, 101.325) == pytest.approx(1.225, abs=1e-3)
    assert w.air_density(0.0, 101.325) == pytest.approx(1.29, abs=0.003)


def test_wind_classes_sl190_boundaries():
    """SL 190-2007 wind table (methods.md §7.4): 200 national threshold; 2500 / 5000 / 8000 / 15000."""
    sl = np.array([1.99, 2.0, 25.0, 25.01, 50.0, 50.01, 80.0, 80.01, 150.0, 150.01])
    assert w.wind_classes(sl).tolist() == [1, 2, 2, 3, 3, 4, 4, 5, 5, 6]


def test_crust_and_erodible_fraction_by_hand():
    """EF and SCF of a loamy sand (Sa 80, Si 12, Cl 8, OM 1, CaCO3 3) against the formulas by hand."""
    ef = (29.09 + 0.31 * 80 + 0.17 * 12 + 0.33 * 80 / 8 - 2.59 * 1 - 0.95 * 3) / 100
    assert w.erodible_fraction(80.0, 12.0, 8.0, 1.0, 3.0) == pytest.approx(ef, rel=1e-12)
    assert w.crust_factor(8.0, 1.0) == pytest.approx(1 / (1 + 0.0066 * 64 + 0.021), rel=1e-12)


def test_vegetation_factor_terms():
    assert w.vegetation_factor() == 1.0
    assert w.vegetation_factor(flat_residue_cover=50.0) == pytest.approx(math.exp(-0.0438 * 50), rel=1e-12)
    assert w.vegetation_factor(canopy_cover=0.4) == pytest.approx(math.exp(-5.614 * 0.4 ** 0.7366), rel=1e-12)
    assert w.vegetation_factor(vegetation_cover=30.0) == pytest.approx(math.exp(-0.0483 * 30), rel=1e-12)
    assert w.vegetation_factor(vegetation_cover=30.0, coefficients={"cover": 0.0438}) == \
        pytest.approx(math.exp(-0.0438 * 30), rel=1e-12)


def test_potential_equals_actual_on_bare_soil_and_exceeds_it_under_cover():
    bare = w.rweq(40.0, 0.5, 0.8, 0.9, 1.0)
    assert bare.soil_loss == bare.potential_soil_loss
    covered = w.rweq(40.0, 0.5, 0.8, 0.9, 0.3)
    assert covered.potential_soil_loss == pytest.approx(bare.soil_loss, rel=1e-12)
    assert covered.soil_loss < covered.potential_soil_loss


def test_zero_product_gives_zero_loss_and_infinite_length():
    res = w.rweq(0.0, 0.5, 0.8, 0.9, 0.5)
    assert res.max_transport_capacity == 0.0 and res.soil_loss == 0.0 and math.isinf(res.critical_field_length)


# ----------------------------------------------------------------------------------- conformance

def test_conformance():
    conformance.check(w.REGION)


def test_registered_through_the_entry_point():
    assert erosion.regions.get("wind") is w.REGION
    assert w.REGION.maturity == "established"
    assert "not implemented" in w.REGION.settings["census_wind_model"]


# --------------------------------------------------------------------------- a real wind record

@pytest.mark.skipif(_seattle_path() is None, reason="vega_datasets (seattle-weather.csv) is not installed")
def test_rweq_on_the_seattle_daily_wind_record():
    """NOAA GHCN daily mean wind, Seattle 2012-2015 (vega_datasets; data-sources.md §3)."""
    df = pd.read_csv(_seattle_path(), parse_dates=["date"]).set_index("date")
    u = df["wind"].astype(float)
    assert len(u) == 1461
    wf = w.weather_factor(u, units="m s-1")
    # by hand: WF = (N_d/N) sum_{U > 5} U (U - 5)^2 * rho/g with N_d a mean year
    above = u[u > 5.0]
    expected = 365.25 / len(u) * float((above * (above - 5.0) ** 2).sum()) * 1.29 / 9.8
    assert wf == pytest.approx(expected, rel=1e-12)
    assert 40.0 < wf < 150.0  # 174 of 1461 days above 5 m/s, a mild coastal record
    # the same record in knots (units stated) gives the same WF
    assert w.weather_factor(u / 0.514444, units="knots") == pytest.approx(wf, rel=1e-9)
    # on a (time, y, x) grid, chunked: lazy, and equal to the series
    grid = xr.DataArray(np.broadcast_to(u.to_numpy()[:, None, None], (len(u), 4, 3)).copy(), dims=("time", "y", "x"),
                        coords={"time": u.index.to_numpy(), "y": 4_500_000.0 - 100.0 * (np.arange(4) + 0.5),
                                "x": 400_000.0 + 100.0 * (np.arange(3) + 0.5)},
                        attrs={"units": "m/s"}).rio.write_crs(CRS)
    def refuse(*args, **kwargs):
        raise AssertionError("weather_factor computed its dask input when called")

    with dask.config.set(scheduler=refuse):  # calling it computes nothing, not even to read a shape
        lazy = w.weather_factor(grid.chunk({"time": 400, "y": 2, "x": 2}))
    assert lazy.chunks is not None and lazy.rio.crs is not None and lazy.attrs["units"] == "kg m-1"
    np.testing.assert_allclose(lazy.values, wf, rtol=1e-6)
    # RWEQ with a sandy soil: potential loss, actual loss under 40 % canopy cover, SL 190 classes
    ef = w.erodible_fraction(80.0, 12.0, 8.0, 1.0, 3.0)
    scf = w.crust_factor(8.0, 1.0)
    res = w.rweq(wf, ef, scf, w.roughness_factor(2.0, 1.0), w.vegetation_factor(canopy_cover=0.4))
    p = wf * ef * scf * w.roughness_factor(2.0, 1.0) * w.vegetation_factor(canopy_cover=0.4)
    s = 150.71 * p ** -0.3711
    assert res.soil_loss == pytest.approx(10 * 2 * 50 / s**2 * 109.8 * p * math.exp(-(50 / s) ** 2), rel=1e-9)
    assert 0.0 < res.soil_loss < res.potential_soil_loss
    assert w.wind_classes(res.soil_loss) in range(1, 7)
    # a snowy record: half the days under > 25.4 mm of snow halve WF
    depth = np.where(np.arange(len(u)) % 2 == 0, 0.0, 100.0)
    half = w.weather_factor(u.to_numpy(), units="m s-1", snow_depth=depth)
    masked = u.to_numpy()[::2]
    assert half == pytest.approx(365.25 / len(u) * float(np.sum(np.where(masked > 5, masked * (masked - 5) ** 2, 0)))
                                 * 1.29 / 9.8, rel=1e-12)


# ---------------------------------------------------------------------------------- properties

factor = st.floats(0.0, 1.0)


@settings(max_examples=150, deadline=None)
@given(wf=st.floats(0.0, 50.0), ef=factor, scf=factor, kp=factor, cog=factor, z=st.floats(0.0, 50.0))
def test_loss_is_non_negative_and_potential_bounds_actual(wf, ef, scf, kp, cog, z):
    res = w.rweq(wf, ef, scf, kp, cog, distance=z)
    assert res.soil_loss >= 0.0 and res.max_transport_capacity >= 0.0
    assert res.soil_loss <= res.potential_soil_loss * (1 + 1e-12) + 1e-300


# SL = dQ/dx at z grows with P while z < 1.532 s (see docs/methods/region-wind.md); with WF <= 50 and
# z <= 50 m every P <= 50 lies there, so more cover, roughness or crust never increase the loss
@settings(max_examples=150, deadline=None)
@given(cover=st.lists(st.floats(0.0, 1.0), min_size=2, max_size=2), wf=st.floats(0.1, 50.0), ef=factor)
def test_loss_non_increasing_in_vegetation_cover(cover, wf, ef):
    lo, hi = sorted(cover)
    a = w.rweq(wf, ef, 0.8, 0.9, w.vegetation_factor(canopy_cover=lo))
    b = w.rweq(wf, ef, 0.8, 0.9, w.vegetation_factor(canopy_cover=hi))
    assert b.soil_loss <= a.soil_loss and b.max_transport_capacity <= a.max_transport_capacity


@settings(max_examples=150, deadline=None)
@given(kr=st.lists(st.floats(0.0, 60.0), min_size=2, max_size=2), crr=st.lists(st.floats(0.0, 20.0), min_size=2,
       max_size=2), wf=st.floats(0.1, 50.0))
def test_loss_non_increasing_in_roughness(kr, crr, wf):
    (k0, k1), (c0, c1) = sorted(kr), sorted(crr)
    smooth, rough = w.roughness_factor(k0, c0), w.roughness_factor(k1, c1)
    assert rough <= smooth <= 1.0
    assert w.rweq(wf, 0.5, 0.8, rough).soil_loss <= w.rweq(wf, 0.5, 0.8, smooth).soil_loss


@settings(max_examples=150, deadline=None)
@given(clay=st.lists(st.floats(0.0, 60.0), min_size=2, max_size=2), om=st.lists(st.floats(0.0, 10.0), min_size=2,
       max_size=2), wf=st.floats(0.1, 50.0))
def test_loss_non_increasing_in_crust(clay, om, wf):
    (c0, c1), (o0, o1) = sorted(clay), sorted(om)
    weak, strong = w.crust_factor(c0, o0), w.crust_factor(c1, o1)
    assert strong <= weak
    assert w.rweq(wf, 0.5, strong, 0.9).soil_loss <= w.rweq(wf, 0.5, weak, 0.9).soil_loss


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), cy=st.integers(1, 9), cx=st.integers(1, 9))
def test_dask_equals_numpy(seed, cy, cx):
    rng = np.random.default_rng(seed)
    shape = (11, 9)
    wf, ef, scf, kp, cog = (rng.uniform(0, 1, shape) * m for m in (120.0, 1, 1, 1, 1))
    eager = w.rweq(wf, ef, scf, kp, cog)
    chunks = {"y": cy, "x": cx}
    lazy = w.rweq(raster(wf, "kg m-1", chunks), raster(ef, "1", chunks), raster(scf, "1", chunks),
                  raster(kp, "1", chunks), raster(cog, "1", chunks))
    for a, b in zip(eager, lazy, strict=True):
        assert b.chunks is not None and b.rio.crs == CRS
        np.testing.assert_array_equal(a, b.values)
    sand = rng.uniform(20, 80, shape)
    clay = rng.uniform(1, 20, shape)
    silt = 100.0 - sand - clay
    om, ca = rng.uniform(0, 5, shape), rng.uniform(0, 10, shape)
    e1 = w.erodible_fraction(sand, silt, clay, om, ca)
    e2 = w.erodible_fraction(*(raster(a, "percent", chunks) for a in (sand, silt, clay, om, ca)))
    np.testing.assert_array_equal(e1, e2.values)


# ------------------------------------------------------------------------- zone map and aggregate

def test_zone_map_counts_each_cell_once_in_aggregate():
    water_loss = raster(np.array([[1.0, 30.0, 60.0], [0.5, np.nan, 10.0]]), "t hm-2 a-1")
    wind_loss = raster(np.array([[30.0, 1.0, 60.0], [0.5, 40.0, np.nan]]), "t hm-2 a-1")
    zones = raster(np.ones((2, 3)), "1").astype(np.int32)
    water = erosion.classify(water_loss, tolerable=200)
    windc = w.wind_classes(wind_loss)

    dominant = w.erosion_zone(water_loss=water_loss, wind_loss=wind_loss)
    assert dominant.values.tolist() == [[2, 1, 3], [3, 2, 1]]
    wa, wi = w.zone_classes(water, windc, dominant)
    table = erosion.aggregate(wa, zones, wind=wi, cell_area=1.0e6)
    row = table.loc[1]
    # eroded (light or worse) by the grading agent: 30 wind, 30 water, 60 both, 40 wind, 10 water -> 5 cells
    assert row["eroded_km2"] == pytest.approx(5.0)
    assert row["land_km2"] == pytest.approx(6.0)
    # no cell counted for both agents except the tie (the 60/60 cell)
    assert row["water_eroded_km2"] + row["wind_eroded_km2"] - row["eroded_km2"] == pytest.approx(1.0)

    both = w.erosion_zone(rule="both", water_loss=water_loss, wind_loss=wind_loss)
    assert both.values.tolist() == [[3, 3, 3], [3, 2, 1]]
    wa, wi = w.zone_classes(water, windc, both)
    table = erosion.aggregate(wa, zones, wind=wi, cell_area=1.0e6)
    assert table.loc[1, "eroded_km2"] == pytest.approx(5.0) and table.loc[1, "land_km2"] == pytest.approx(6.0)
    assert table.loc[1, "eroded_km2"] <= table.loc[1, "land_km2"]


def test_zone_map_by_precipitation():
    p = np.array([150.0, 250.0, 400.0, 401.0, np.nan])
    assert w.erosion_zone(rule="precipitation", precipitation=p, dry=200.0, wet=400.0).tolist() == [2, 3, 3, 1, 0]


# ------------------------------------------------------------------------------ the bad-input table

def _u(n=400, seed=1):
    return np.random.default_rng(seed).gamma(3.0, 1.2, n)


BAD = [
    ("texture in 0-1 fractions", lambda: w.erodible_fraction(0.6, 0.3, 0.1, 1.0, 2.0), UnitsError, "percent"),
    ("texture not summing to 100", lambda: w.erodible_fraction(60.0, 30.0, 20.0, 1.0, 2.0), ValueRangeError,
     "sum to 100"),
    ("wind speed without units (NumPy)", lambda: w.weather_factor(_u()), UnitsError, "knots"),
    ("wind speed DataArray without units",
     lambda: w.weather_factor(xr.DataArray(_u(), dims="time", coords={"time": pd.date_range("2020", periods=400)})),
     UnitsError, "units"),
    ("wind in km/h labelled m s-1", lambda: w.weather_factor(_u() * 3.6 + 3.0, units="m s-1"), UnitsError, "km h-1"),
    ("wind in unknown units", lambda: w.weather_factor(_u(), units="furlong fortnight-1"), UnitsError, "accepted"),
    ("negative wind speed", lambda: w.weather_factor(-_u(), units="m s-1"), ValueRangeError, "wind_speed"),
    ("wind DataArray without a time axis",
     lambda: w.weather_factor(raster(np.ones((3, 3)), "m s-1")), InputError, "time"),
    ("canopy cover in percent", lambda: w.vegetation_factor(canopy_cover=40.0), ValueRangeError, "fraction"),
    ("EF in percent given to rweq", lambda: w.rweq(50.0, 50.0, 0.8), ValueRangeError, "erodible_fraction"),
    ("soil wetness above 1", lambda: w.weather_factor(_u(), units="m s-1", soil_wetness=30.0), ValueRangeError,
     "soil_wetness"),
    ("negative downwind distance", lambda: w.rweq(50.0, 0.5, 0.8, distance=-5.0), ValueRangeError, "distance"),
    ("vegetation cover and RWEQ terms together",
     lambda: w.vegetation_factor(canopy_cover=0.3, vegetation_cover=30.0), InputError, "not both"),
    ("unknown COG coefficient", lambda: w.vegetation_factor(coefficients={"flatt": 0.04}), UnknownCodeError, "flatt"),
    ("unknown zone rule", lambda: w.erosion_zone(rule="majority", water_loss=1.0, wind_loss=2.0), UnknownCodeError,
     "majority"),
    ("precipitation rule without thresholds",
     lambda: w.erosion_zone(rule="precipitation", precipitation=300.0), InputError, "dry"),
    ("wind classes from a DataArray without units",
     lambda: w.wind_classes(xr.DataArray(np.ones((2, 2)), dims=("y", "x"))), UnitsError, "t hm-2 a-1"),
    ("rasters on different grids",
     lambda: w.rweq(raster(np.ones((3, 3)), "kg m-1"), raster(np.ones((3, 3)), "1", cell=30.0), 0.8),
     GridMismatchError, "different grids"),
    ("zone codes outside 0..3", lambda: w.zone_classes(np.ones(2), np.ones(2), np.array([1, 7])), ValueRangeError,
     "0..3"),
    ("air density from temperature alone", lambda: w.weather_factor(_u(), units="m s-1", air_temperature=10.0),
     InputError, "air_pressure"),
]


@pytest.mark.parametrize(("case", "call", "error", "match"), BAD, ids=[b[0] for b in BAD])
def test_bad_input(case, call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_units_are_converted_not_refused():
    """Clay in g/kg and wind in knots or km/h with their units say so: converted."""
    pct = w.erodible_fraction(*(raster(np.full((2, 2), v), "percent") for v in (70.0, 20.0, 10.0, 1.0, 2.0)))
    gkg = w.erodible_fraction(*(raster(np.full((2, 2), v * 10), "g kg-1") for v in (70.0, 20.0, 10.0, 1.0, 2.0)))
    np.testing.assert_allclose(pct.values, gkg.values, rtol=1e-6)
    u = _u()
    assert w.weather_factor(u * 3.6, units="km/h") == pytest.approx(w.weather_factor(u, units="m s-1"), rel=1e-9)
    assert w.weather_factor(u / 0.514444, units="kt") == pytest.approx(w.weather_factor(u, units="m s-1"), rel=1e-9)


def test_warn_mode_takes_unlabelled_wind_as_metres_per_second():
    with pytest.warns(UserWarning, match="Taken as m s-1"):
        out = w.weather_factor(_u(), data_validation="warn")
    assert out == pytest.approx(w.weather_factor(_u(), units="m s-1"))


def test_float32_inputs_agree_with_float64():
    """float32 rasters are computed in float32 (as NumPy would); they agree with float64 to ~1e-6."""
    rng = np.random.default_rng(3)
    shape = (64, 50)
    wf = rng.uniform(0.0, 300.0, shape)
    ef, scf, kp, cog = (rng.uniform(0.0, 1.0, shape) for _ in range(4))
    wf[0, :3] = [0.0, np.nan, 1e-30]
    z = rng.uniform(0.0, 300.0, shape)
    hi = w.rweq(wf, ef, scf, kp, cog, distance=z)
    lo = w.rweq(*(a.astype(np.float32) for a in (wf, ef, scf, kp, cog)), distance=z.astype(np.float32))
    for a, b in zip(hi, lo, strict=True):
        assert b.dtype == np.float32
        np.testing.assert_allclose(b, a, rtol=2e-5, atol=1e-9)  # far tails (1e-16 t hm-2) differ more
    assert np.isnan(lo.soil_loss[0, 1]) and lo.soil_loss[0, 0] == 0.0 and np.isinf(lo.critical_field_length[0, 0])
    # chunked float32 rasters: the same values, cell for cell
    chunks = {"y": 13, "x": 7}
    lazy = w.rweq(*(raster(a, u, chunks).astype(np.float32) for a, u in
                    ((wf, "kg m-1"), (ef, "1"), (scf, "1"), (kp, "1"), (cog, "1"))),
                  distance=raster(z, "m", chunks).astype(np.float32))
    for a, b in zip(lo, lazy, strict=True):
        np.testing.assert_array_equal(a, b.values)


def test_soil_wetness_by_hand_and_bounds():
    """SW = [ETp - (R + I) Rd/Nd] / ETp clamped to 0-1 (Jadey Ryan's GEE RWEQ script, methods.md §8.1)."""
    assert w.soil_wetness(60.0, 20.0, 3.0, days=15.0) == pytest.approx((60 - 20 * 3 / 15) / 60, rel=1e-12)
    assert w.soil_wetness(60.0, 20.0, 3.0, days=15.0, irrigation=40.0) == pytest.approx((60 - 60 * 3 / 15) / 60)
    assert w.soil_wetness(10.0, 300.0, 15.0, days=15.0) == 0.0   # wetter than ETp: clamped
    assert w.soil_wetness(0.0, 0.0, 0.0, days=15.0) == 1.0
    assert w.soil_wetness(0.0, 5.0, 1.0, days=15.0) == 0.0
    with pytest.raises(ValueRangeError, match="rain_days"):
        w.soil_wetness(60.0, 20.0, 20.0, days=15.0)
    sw = w.soil_wetness(raster(np.full((2, 2), 60.0), "mm", {"y": 1}), raster(np.full((2, 2), 20.0), "mm", {"y": 1}),
                        raster(np.full((2, 2), 3.0), "1", {"y": 1}), days=15.0)
    assert sw.chunks is not None and sw.attrs["units"] == "1"
    np.testing.assert_allclose(sw.values, (60 - 20 * 3 / 15) / 60, rtol=1e-6)
