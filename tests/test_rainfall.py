"""R factor (erosion.factors.rainfall): oracles, published values, properties, real data, bad inputs.

Oracles are rows of ../shared/reference/oracles.md (cited by row); published values cite
their source in the test.
"""

from __future__ import annotations

import importlib.resources
import math

import dask.array as dsa
import numpy as np
import pandas as pd
import pytest
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st

import erosion
from erosion import vocabulary
from erosion.errors import InputError, UnitsError, UnknownCodeError, ValueRangeError
from erosion.factors import rainfall as rf

# 1 ft·tonf·acre⁻¹·in⁻¹ in MJ·ha⁻¹·mm⁻¹: 0.3048 m × 8896.443 N (short ton-force) / (0.40468564 ha × 25.4 mm)
FT_TONF_ACRE_IN = 0.3048 * 8896.443 / (0.40468564224 * 25.4) / 1.0e6


def _year(values: dict[int, float], year: int = 2001, fill: float = 0.0) -> tuple[np.ndarray, pd.DatetimeIndex]:
    days = pd.date_range(f"{year}-01-01", f"{year}-12-31")
    x = np.full(days.size, fill)
    for i, v in values.items():
        x[i] = v
    return x, days


def _grid(rng, n_days_from="2001-01-01", n_years=3, ny=6, nx=7, scale=12.0) -> xr.DataArray:
    days = pd.date_range(n_days_from, periods=round(365.25 * n_years), freq="D")
    rain = rng.gamma(0.35, scale, (days.size, ny, nx))
    rain[rain < 0.5] = 0.0
    da = xr.DataArray(rain, dims=("time", "y", "x"),
                      coords={"time": days, "y": 4000.0 - 100.0 * np.arange(ny), "x": 500.0 + 100.0 * np.arange(nx)},
                      attrs={"units": "mm"})
    return da.rio.write_crs("EPSG:32649")


# ------------------------------------------------------------------------------------ oracles

def test_oracle_9_zhang_parameters():
    """oracles.md row 9: P_d12 = 25 mm, P_y12 = 500 mm → β = 1.61097, α = 0.70049 (Zhang, Xie & Liu 2002)."""
    alpha, beta = rf.zhang_parameters(25.0, 500.0)
    assert beta == pytest.approx(1.61097, abs=1e-5)
    assert alpha == pytest.approx(0.70049, abs=1e-5)


def test_oracle_10_halfmonth_erosivity():
    """oracles.md row 10: same station, rains of 20 and 35 mm in one half-month, the others < 12 mm:
    302.564 MJ·mm·hm⁻²·h⁻¹."""
    x, days = _year({3: 20.0, 9: 35.0, 1: 5.0, 12: 11.0})
    m = rf.halfmonth_erosivity(x, dates=days, p_d12=25.0, p_y12=500.0)
    assert m[0] == pytest.approx(302.564, abs=1e-3)
    assert np.all(m[1:] == 0.0)
    assert rf.r_factor_daily(x, dates=days, p_d12=25.0, p_y12=500.0) == pytest.approx(302.564, abs=1e-3)


def test_oracle_11_threshold_day_contributes_nothing():
    """oracles.md row 11 (Zhang et al. 2002): a day of 11.9 mm contributes 0, exactly."""
    x, days = _year({3: 20.0, 9: 35.0})
    y, _ = _year({3: 20.0, 9: 35.0, 200: 11.9})
    kw = {"dates": days, "p_d12": 25.0, "p_y12": 500.0}
    assert rf.r_factor_daily(y, **kw) == rf.r_factor_daily(x, **kw)
    assert rf.event_erosivity(11.9, alpha=0.70049, beta=1.61097) == 0.0
    assert rf.event_erosivity(12.0, alpha=0.70049, beta=1.61097) > 0.0


def test_zhang_parameters_from_the_record():
    """P_d12 and P_y12 computed from the record: 2 years, erosive days 20, 30 (year 1) and 40 (year 2)
    → P_d12 = 30, P_y12 = 45; β, α by Zhang et al. (2002); R = α Σ D^β / 2."""
    days = pd.date_range("2001-01-01", "2002-12-31")
    x = np.zeros(days.size)
    x[[10, 100]] = [20.0, 30.0]
    x[400] = 40.0
    x[500] = 8.0
    beta = 0.8363 + 18.144 / 30.0 + 24.455 / 45.0
    alpha = 21.586 * beta ** -7.1891
    expected = alpha * (20.0 ** beta + 30.0 ** beta + 40.0 ** beta) / 2.0
    assert rf.r_factor_daily(x, dates=days) == pytest.approx(expected, rel=1e-12)


def test_xie2016_season_constants_are_parameters():
    """Xie et al. (2016) warm/cold model (constants recalled, to verify): 20 mm in July and in January."""
    x, days = _year({190: 20.0, 10: 20.0, 40: 9.0})
    c = rf.XIE2016
    expected = (c["alpha_warm"] + c["alpha_cold"]) * 20.0 ** c["beta"]
    assert rf.r_factor_daily(x, dates=days, model="xie2016") == pytest.approx(expected, rel=1e-12)
    half = rf.halfmonth_erosivity(x, dates=days, model="xie2016", coefficients={"alpha_warm": 1.0})
    assert half[12] == pytest.approx(20.0 ** c["beta"], rel=1e-12)  # 10 July: half-month 13 (index 12)


def test_annual_erosivity_sums_to_r():
    """R is the mean over years of the annual sums (Zhang et al. 2002), per year, per cell, lazily."""
    da = _grid(np.random.default_rng(11), n_days_from="2001-01-01", n_years=3)
    da = da.sel(time=slice("2001-01-01", "2003-12-31"))
    annual = rf.annual_erosivity(da)
    assert annual.dims == ("year", "y", "x") and annual["year"].values.tolist() == [2001, 2002, 2003]
    assert annual.attrs["units"] == vocabulary.get("annual_erosivity").units
    np.testing.assert_allclose(annual.mean("year").values, rf.r_factor_daily(da).values, rtol=1e-5)
    lazy = rf.annual_erosivity(da.chunk({"time": 100, "y": 4, "x": 3}))
    np.testing.assert_allclose(lazy.values, annual.values, rtol=1e-6)
    x, days = _year({3: 20.0, 100: 30.0})
    s = rf.annual_erosivity(pd.Series(x, index=days), alpha=1.0, beta=1.0)
    assert s.loc[2001] == 50.0 and s.attrs["year_coverage"] == [1.0]


def test_halfmonth_boundaries():
    """Half-months are days 1–15 and 16–end (Zhang et al. 2002): 15 Feb → 3, 16 Feb → 4, 31 Dec → 24."""
    for day, index in (("2001-02-15", 2), ("2001-02-16", 3), ("2001-12-31", 23), ("2001-01-01", 0)):
        days = pd.date_range("2001-01-01", "2001-12-31")
        x = np.where(days == pd.Timestamp(day), 30.0, 0.0)
        m = rf.halfmonth_erosivity(x, dates=days, alpha=1.0, beta=1.0)
        assert np.flatnonzero(m).tolist() == [index]
        assert m[index] == pytest.approx(30.0, rel=1e-14)


# --------------------------------------------------------------------- unit energy (published)

def test_unit_energy_usle_matches_ah537_us_customary():
    """AH537 (Wischmeier & Smith 1978, p. 13): E = 916 + 331 log10 I ft·tonf·acre⁻¹·in⁻¹ (I in/h),
    1074 above 3 in/h; at I = 1 in/h (25.4 mm/h) that is 916, i.e. 0.2416 MJ·ha⁻¹·mm⁻¹."""
    assert FT_TONF_ACRE_IN == pytest.approx(2.638e-4, rel=1e-3)
    assert rf.unit_energy(25.4, equation="usle") == pytest.approx(916 * FT_TONF_ACRE_IN, rel=2e-3)
    assert rf.unit_energy(3 * 25.4 + 1, equation="usle") == pytest.approx(1074 * FT_TONF_ACRE_IN, rel=2e-3)
    assert rf.unit_energy(0.0, equation="usle") == 0.0


def test_unit_energy_brown_foster_matches_ah703_us_customary():
    """AH703 (Renard et al. 1997, ch. 2): e = 1099 [1 − 0.72 exp(−1.27 i)] ft·tonf·acre⁻¹·in⁻¹ (i in/h),
    Brown & Foster (1987); the SI form 0.29 [1 − 0.72 exp(−0.05 i)] at 1 and 2 in/h."""
    for i_in in (1.0, 2.0):
        us = 1099 * (1 - 0.72 * math.exp(-1.27 * i_in)) * FT_TONF_ACRE_IN
        assert rf.unit_energy(25.4 * i_in) == pytest.approx(us, rel=2e-3)
    assert rf.unit_energy(0.0) == pytest.approx(0.29 * 0.28, rel=1e-12)
    assert rf.unit_energy(900.0) == pytest.approx(0.29, rel=1e-9)


def test_unit_energy_mcgregor_and_arrays():
    """McGregor et al. (1995), RUSLE2: the −0.082 exponent; larger than Brown-Foster at every i > 0."""
    i = np.array([0.0, 5.0, 20.0, 75.0])
    mc = rf.unit_energy(i, equation="mcgregor")
    np.testing.assert_allclose(mc, 0.29 * (1 - 0.72 * np.exp(-0.082 * i)), rtol=1e-6)
    assert np.all(mc[1:] > rf.unit_energy(i)[1:])
    da = xr.DataArray(i, dims="t", attrs={"units": "mm h-1"})
    out = rf.unit_energy(da, equation="mcgregor")
    assert out.attrs["units"] == vocabulary.get("unit_energy").units and out.name == "unit_energy"


# ---------------------------------------------------------------------------------- storms (EI30)

def _series(depths: dict[int, float], step="15min", n=None) -> pd.Series:
    n = n or int(pd.Timedelta(days=366) / pd.Timedelta(step))
    idx = pd.date_range("2001-01-01", periods=n, freq=step)
    x = np.zeros(n)
    for i, v in depths.items():
        x[i] = v
    return pd.Series(x, index=idx)


def test_storm_ei30_by_hand():
    """RUSLE (AH703): E = Σ e(i) Δv; I30 = max 30-min rain × 2; EI30 = E · I30. 15-min depths 2, 6, 8, 2 mm."""
    s = _series({100: 2.0, 101: 6.0, 102: 8.0, 103: 2.0})
    out = rf.storm_erosivity(s)
    v = np.array([2.0, 6.0, 8.0, 2.0])
    e = float(np.sum(0.29 * (1 - 0.72 * np.exp(-0.05 * v * 4)) * v))
    row = out.storms.iloc[0]
    assert len(out.storms) == 1 and row["rain"] == 18.0 and bool(row["erosive"])
    assert row["energy"] == pytest.approx(e, rel=1e-12)
    assert row["I30"] == pytest.approx(28.0)
    assert row["EI30"] == pytest.approx(e * 28.0, rel=1e-12)
    assert out.annual.loc[2001] == pytest.approx(e * 28.0)
    assert row["start"] == s.index[100] and row["end"] == s.index[104]


def test_storm_separation_six_hours_and_erosive_rules():
    """AH537/AH703: storms split by ≥ 6 h with < 1.27 mm; erosive if ≥ 12.7 mm or ≥ 6.35 mm in 15 min."""
    five_h, seven_h = 5 * 4, 7 * 4
    s = _series({100: 7.0, 101 + five_h: 7.0})  # 5 h apart: one storm of 14 mm
    assert len(rf.storm_erosivity(s).storms) == 1
    s = _series({100: 7.0, 101 + seven_h: 7.0})  # 7 h apart: two storms of 7 mm, each 7 mm in 15 min
    st_ = rf.storm_erosivity(s).storms
    assert len(st_) == 2 and st_["erosive"].all()
    s = _series({100: 7.0, 101 + seven_h: 1.0, 102 + seven_h: 1.0})  # second: 2 mm, not erosive
    st_ = rf.storm_erosivity(s).storms
    assert st_["erosive"].tolist() == [True, False]
    s = _series({100 + k: 1.0 for k in range(10)})  # 10 mm, 1 mm per 15 min: not erosive
    assert not rf.storm_erosivity(s).storms["erosive"].any()
    assert rf.storm_erosivity(s, min_rain=9.0).storms["erosive"].all()
    # 0.5 mm inside a 6 h period (< 1.27 mm) still splits: 7 mm, 0.5 mm 4 h later, 7 mm 5 h after that
    s = _series({100: 7.0, 116: 0.5, 136: 7.0})
    assert rf.storm_erosivity(s).storms["rain"].tolist() == [7.5, 7.0]
    assert rf.storm_erosivity(s, min_rain_15min=None).R == 0.0


def test_storm_step_not_dividing_30_min_warns():
    s = _series({100: 10.0, 101: 20.0}, step="20min")
    with pytest.warns(UserWarning, match="does not divide 30 min"):
        out = rf.storm_erosivity(s)
    assert "40 min" in out.storms.attrs["i30_method"]


@settings(max_examples=25, deadline=None)
@given(wet=st.lists(st.tuples(st.integers(0, 35000), st.floats(0.01, 30.0)), min_size=1, max_size=60))
def test_storms_partition_the_rain(wet):
    """Every mm belongs to exactly one storm; storms do not overlap; EI30 = E · I30; R = mean annual EI30."""
    s = _series(dict(wet))
    out = rf.storm_erosivity(s)
    st_ = out.storms
    assert st_["rain"].sum() == pytest.approx(s.sum(), rel=1e-12)
    assert (st_["start"].iloc[1:].to_numpy() >= st_["end"].iloc[:-1].to_numpy()).all()
    np.testing.assert_allclose(st_["EI30"], st_["energy"] * st_["I30"], rtol=1e-12)
    assert (st_["I30"] <= 2.0 * st_["rain"] * (1 + 1e-12)).all()  # I30 = 2 × (rain in 30 min) ≤ 2 × storm rain


def test_storm_hourly_step_warns_and_records_i30_rule():
    s = _series({100: 10.0, 101: 20.0}, step="1h")
    with pytest.warns(UserWarning, match="coarser than 30 min"):
        out = rf.storm_erosivity(s)
    assert out.storms["I30"].iloc[0] == 20.0  # the largest hourly intensity
    assert "one-step" in out.storms.attrs["i30_method"]


# -------------------------------------------------------------------------------- properties

@settings(max_examples=40, deadline=None)
@given(day=st.integers(0, 364), extra=st.floats(0.0, 200.0), seed=st.integers(0, 2**16))
def test_r_non_decreasing_when_a_day_gets_wetter(day, extra, seed):
    """With α and β fixed (one station's calibration), R never decreases when any day's rain increases."""
    rng = np.random.default_rng(seed)
    x = rng.gamma(0.3, 15.0, 365)
    days = pd.date_range("2001-01-01", "2001-12-31")
    y = x.copy()
    y[day] += extra
    for model in ("zhang2002", "xie2016"):
        kw = {"dates": days, "alpha": 0.5, "beta": 1.7} if model == "zhang2002" else {"dates": days, "model": model}
        assert rf.r_factor_daily(y, **kw) >= rf.r_factor_daily(x, **kw)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**16), scale=st.floats(5.0, 40.0))
def test_shares_sum_to_one(seed, scale):
    rng = np.random.default_rng(seed)
    da = _grid(rng, n_years=2, ny=3, nx=4, scale=scale)
    share = rf.erosivity_share(rf.halfmonth_erosivity(da))
    total = share.sum("halfmonth")
    assert share.dims[0] == "halfmonth" and share["halfmonth"].values.tolist() == list(range(1, 25))
    np.testing.assert_allclose(total.values, 1.0, rtol=1e-12)
    assert float(share.min()) >= 0.0


@settings(max_examples=8, deadline=None)
@given(ct=st.integers(90, 800), cy=st.integers(2, 6), cx=st.integers(2, 7),
       model=st.sampled_from(["zhang2002", "xie2016"]))
def test_dask_chunked_in_time_and_space_equals_in_memory(ct, cy, cx, model):
    da = _grid(np.random.default_rng(7))
    eager = rf.r_factor_daily(da, model=model)
    lazy = rf.r_factor_daily(da.chunk({"time": ct, "y": cy, "x": cx}), model=model)
    assert isinstance(lazy.data, dsa.Array)
    np.testing.assert_allclose(lazy.values, eager.values, rtol=1e-6)  # float32 output of float64 sums
    hl = rf.halfmonth_erosivity(da.chunk({"time": ct, "y": cy, "x": cx}), model=model)
    np.testing.assert_allclose(hl.values, rf.halfmonth_erosivity(da, model=model).values, rtol=1e-6)


def test_grid_output_contract():
    da = _grid(np.random.default_rng(1))
    R = rf.r_factor_daily(da)
    spec = vocabulary.get("rainfall_erosivity")
    assert R.name == "rainfall_erosivity" and R.attrs["units"] == spec.units and R.dtype == np.float32
    assert R.rio.crs == da.rio.crs and R.dims == ("y", "x")
    assert R.rio.transform() == da.isel(time=0).rio.transform()
    assert "Zhang" in R.attrs["references"]
    hm = rf.halfmonth_erosivity(da)
    assert hm.attrs["units"] == vocabulary.get("halfmonth_erosivity").units
    np.testing.assert_allclose(hm.sum("halfmonth").values, R.values, rtol=1e-5)
    # every cell equals the 1-D path on its own series
    one = rf.r_factor_daily(da.isel(y=2, x=3).values, dates=da["time"].values)
    assert float(R.isel(y=2, x=3)) == pytest.approx(one, rel=1e-6)


def test_chunked_input_is_read_twice_never_held_and_not_computed_early():
    """Memory bounded by the chunk size: pass 2 re-reads each input block (a cloned graph) instead of
    holding the whole record between the passes; nothing is read before .compute()."""
    import threading

    reads: dict[tuple, int] = {}
    lock = threading.Lock()
    base = np.random.default_rng(8).gamma(0.35, 14.0, (200, 4, 5))

    def make(block_info=None):
        loc = tuple(block_info[None]["chunk-location"])
        with lock:
            reads[loc] = reads.get(loc, 0) + 1
        shape = block_info[None]["chunk-shape"]
        return np.roll(base, loc[0], axis=0)[: shape[0], : shape[1], : shape[2]].copy()

    data = dsa.map_blocks(make, dtype=np.float64, chunks=((200,) * 4, (4, 4), (5, 5)))
    da = xr.DataArray(data, dims=("time", "y", "x"), attrs={"units": "mm"},
                      coords={"time": pd.date_range("2001-01-01", periods=800), "y": np.arange(8.0), "x": np.arange(10.0)})
    R = rf.r_factor_daily(da)
    assert reads == {}
    R.compute()
    assert len(reads) == 16 and set(reads.values()) == {2}
    eager = rf.r_factor_daily(da.compute())
    np.testing.assert_allclose(R.values, eager.values, rtol=1e-6)


def test_lazy_bad_values_raise_when_computed_not_before():
    da = _grid(np.random.default_rng(2))
    bad = da.copy(data=da.values.copy())
    bad[5, 1, 1] = -3.0
    lazy = rf.r_factor_daily(bad.chunk({"time": 200, "y": 3, "x": 3}))
    with pytest.raises(ValueRangeError, match="1 day-values are negative"):
        lazy.compute()


# ------------------------------------------------------------------------------- stations → grid

def _stations(rng, n=9):
    days = pd.date_range("2001-01-01", "2003-12-31")
    rows = []
    for k in range(n):
        rain = rng.gamma(0.3, 10.0 + 3.0 * k, days.size)
        rows.append(pd.DataFrame({"sid": f"S{k}", "day": days, "p": rain, "lon": 108.0 + 0.4 * k % 3.0,
                                  "lat": 36.0 + 0.25 * k}))
    return pd.concat(rows, ignore_index=True)


def _template():
    y, x = np.linspace(38.0, 36.0, 9), np.linspace(108.0, 111.0, 13)
    return xr.DataArray(np.zeros((9, 13)), dims=("y", "x"), coords={"y": y, "x": x}).rio.write_crs("EPSG:4326")


def test_station_table_per_station_and_idw_grid():
    rng = np.random.default_rng(3)
    table = _stations(rng)
    cols = {"station": "sid", "date": "day", "rain": "p"}
    per = rf.r_factor_daily(table, columns=cols)
    s0 = table[table.sid == "S0"]
    assert per.loc[0, "rainfall_erosivity"] == pytest.approx(rf.r_factor_daily(s0.p.to_numpy(), dates=s0.day))
    grid = rf.r_factor_daily(table, columns=cols, template=_template(), interpolation="idw")
    assert grid.name == "rainfall_erosivity" and grid.attrs["interpolation"] == "idw"
    np.testing.assert_allclose(grid.attrs["station_value"], per["rainfall_erosivity"])
    assert grid.attrs["station_id"].split(",") == per["station"].tolist()
    lo, hi = per["rainfall_erosivity"].min(), per["rainfall_erosivity"].max()
    assert float(grid.min()) >= lo * (1 - 1e-6) and float(grid.max()) <= hi * (1 + 1e-6)
    # a cell exactly on a station takes its value
    t = _template().sel(y=[36.0], x=[108.0])
    on = rf.interpolate_stations(per.lon, per.lat, per.rainfall_erosivity, t, stations=per)
    assert float(on[0, 0]) == pytest.approx(per.loc[0, "rainfall_erosivity"], rel=1e-6)
    kriged = rf.r_factor_daily(table, columns=cols, template=_template(), interpolation="kriging",
                               interpolation_options={"variogram": "exponential"})
    assert kriged.attrs["variogram_model"] == "exponential" and np.isfinite(kriged.values).all()
    hm = rf.halfmonth_erosivity(table, columns=cols, template=_template())
    share = rf.erosivity_share(hm)
    np.testing.assert_allclose(share.sum("halfmonth").values, 1.0, rtol=1e-5)


def test_kriging_exact_at_stations_and_fitted_variogram():
    rng = np.random.default_rng(4)
    lon = rng.uniform(108, 111, 25)
    lat = rng.uniform(36, 38, 25)
    z = 2000.0 + 300.0 * (lon - 108) + rng.normal(0, 30, 25)
    t = xr.DataArray(np.zeros((1, 3)), dims=("y", "x"), coords={"y": [lat[0]], "x": [lon[0], lon[1], 109.5]})
    exact = rf.interpolate_stations(lon, lat, z, t, method="kriging",
                                    variogram={"model": "exponential", "nugget": 0.0, "sill": 5e4, "range": 200.0})
    assert float(exact[0, 0]) == pytest.approx(z[0], rel=1e-6)
    fitted = rf.interpolate_stations(lon, lat, z, _template(), method="kriging", variogram="spherical")
    assert fitted.attrs["variogram_model"] == "spherical" and fitted.attrs["variogram_range"] > 0
    # the trend in longitude survives: the east edge exceeds the west edge
    assert float(fitted.isel(x=-1).mean()) > float(fitted.isel(x=0).mean())
    with pytest.raises(InputError, match="at least 5 stations"):
        rf.interpolate_stations(lon[:3], lat[:3], z[:3], _template(), method="kriging")
    with pytest.raises(UnknownCodeError):
        rf.interpolate_stations(lon, lat, z, _template(), method="spline")


def test_projected_template_places_stations_in_its_crs():
    lon, lat = np.array([111.0, 111.5]), np.array([36.0, 36.5])
    from pyproj import Transformer

    x, y = Transformer.from_crs("EPSG:4326", "EPSG:32649", always_xy=True).transform(lon, lat)
    t = xr.DataArray(np.zeros((1, 2)), dims=("y", "x"), coords={"y": [y[0]], "x": [x[0], x[1]]})
    t = t.rio.write_crs("EPSG:32649")
    out = rf.interpolate_stations(lon, lat, np.array([100.0, 300.0]), t)
    assert float(out[0, 0]) == pytest.approx(100.0, rel=1e-6)
    assert out.attrs["distance_space"] != "equirectangular km"


# --------------------------------------------------------------------------------- one event

def test_event_erosivity_grid_into_csle():
    """One extreme day: α D^β per cell, then A = R K LS B E T for that event (t·hm⁻²)."""
    rain = xr.DataArray(np.array([[150.0, 11.0], [60.0, np.nan]]), dims=("y", "x"),
                        coords={"y": [1.0, 0.0], "x": [0.0, 1.0]}, attrs={"units": "mm"}).rio.write_crs("EPSG:32649")
    ev = rf.event_erosivity(rain, p_d12=25.0, p_y12=500.0)
    a, b = rf.zhang_parameters(25.0, 500.0)
    assert ev.name == "event_erosivity" and ev.attrs["units"] == vocabulary.get("event_erosivity").units
    assert float(ev[0, 0]) == pytest.approx(a * 150.0 ** b, rel=1e-6)
    assert float(ev[0, 1]) == 0.0 and np.isnan(float(ev[1, 1]))
    lazy = rf.event_erosivity(rain.chunk({"y": 1}), alpha=a, beta=b)
    np.testing.assert_allclose(lazy.values, ev.values, rtol=1e-6)
    loss = erosion.csle(ev.values.astype(np.float64), 0.03, 2.0, 0.2, 1.0, 1.0)
    assert loss[0, 0] == pytest.approx(a * 150.0 ** b * 0.03 * 2.0 * 0.2, rel=1e-5)
    inches = rf.event_erosivity((rain / 25.4).assign_attrs(units="in"), alpha=a, beta=b)
    np.testing.assert_allclose(inches.values, ev.values, rtol=1e-5)
    # as R, a DataArray goes straight into csle: A is the soil loss of this one event (t hm-2)
    as_r = rf.event_erosivity(rain, p_d12=25.0, p_y12=500.0, as_r=True)
    assert as_r.name == "rainfall_erosivity" and as_r.attrs["erosivity_period"] == "one event"
    A = erosion.csle(as_r, 0.03, 2.0, 0.2, 1.0, 1.0)
    assert float(A[0, 0]) == pytest.approx(a * 150.0 ** b * 0.03 * 2.0 * 0.2, rel=1e-5)
    # a storm's EI30 spread over a grid
    storm = rf.event_erosivity(ei30=1234.5, template=rain)
    assert storm.name == "event_erosivity" and float(storm.max()) == pytest.approx(1234.5)
    with pytest.raises(InputError, match="not both"):
        rf.event_erosivity(rain, ei30=10.0)
    with pytest.raises(InputError, match="alpha and beta"):
        rf.event_erosivity(rain)


# --------------------------------------------------------------------------------- real data

def _seattle() -> pd.DataFrame:
    vega = pytest.importorskip("vega_datasets", reason="vega_datasets (dev extra) holds seattle-weather.csv")
    path = importlib.resources.files(vega) / "_data" / "seattle-weather.csv"
    return pd.read_csv(path, parse_dates=["date"])


def test_seattle_daily_r_and_shares_match_a_plain_pandas_computation():
    """NOAA GHCN-Daily Seattle 2012–2015 (vega_datasets): the Zhang (2002) model by hand in pandas."""
    df = _seattle()
    s = df.set_index("date")["precipitation"]
    erosive = s[s >= 12.0]
    years = 4.0  # 2012–2015, whole years
    p_d12, p_y12 = erosive.mean(), erosive.sum() / years
    beta = 0.8363 + 18.144 / p_d12 + 24.455 / p_y12
    alpha = 21.586 * beta ** -7.1891
    half = (erosive.index.month - 1) * 2 + (erosive.index.day > 15) + 1
    by_half = (alpha * erosive ** beta).groupby(half).sum().reindex(range(1, 25), fill_value=0.0) / years
    R = rf.r_factor_daily(s)
    assert R == pytest.approx(by_half.sum(), rel=1e-12)
    hm = rf.halfmonth_erosivity(s)
    np.testing.assert_allclose(hm.to_numpy(), by_half.to_numpy(), rtol=1e-12)
    share = rf.erosivity_share(hm)
    assert share.sum() == pytest.approx(1.0, abs=1e-12)
    # Seattle's erosive rain falls in the cool season: October–March holds most of R
    assert share.loc[list(range(1, 7)) + list(range(19, 25))].sum() > 0.6
    # the same record as a station table and as a (time, y, x) grid
    table = df.assign(station="USW00024233", lon=-122.31, lat=47.45).rename(columns={"precipitation": "rain"})
    assert rf.r_factor_daily(table).loc[0, "rainfall_erosivity"] == pytest.approx(R, rel=1e-12)
    grid = xr.DataArray(s.to_numpy()[:, None, None], dims=("time", "y", "x"),
                        coords={"time": s.index.to_numpy(), "y": [47.45], "x": [-122.31]}, attrs={"units": "mm"})
    assert float(rf.r_factor_daily(grid.chunk({"time": 100}))[0, 0]) == pytest.approx(R, rel=1e-6)


def test_spotpy_hourly_storms():
    """Schwingbach, Hesse, hourly 2014–2016 (spotpy cmf_data): rain_mmday is a rate in mm/day."""
    spotpy = pytest.importorskip("spotpy", reason="spotpy (dev extra) holds driver_data_site24.csv")
    path = importlib.resources.files(spotpy) / "examples" / "cmf_data" / "driver_data_site24.csv"
    df = pd.read_csv(path, comment="#", parse_dates=["time"], index_col="time")
    rate = df["rain_mmday"]
    with pytest.warns(UserWarning, match="coarser than 30 min"):
        out = rf.storm_erosivity(rate, units="mm d-1")
    storms = out.storms
    assert storms["rain"].sum() == pytest.approx(rate.sum() / 24.0, rel=1e-12)  # every mm in one storm
    np.testing.assert_allclose(storms["EI30"], storms["energy"] * storms["I30"], rtol=1e-12)
    assert (storms["end"] > storms["start"]).all() and (storms["start"].iloc[1:].values > storms["end"].iloc[:-1].values).all()
    assert list(out.annual.index) == [2014, 2015, 2016]
    assert out.R == pytest.approx(out.annual.mean(), rel=1e-3)
    assert (storms.loc[storms["erosive"], "rain"] >= 12.7).all()  # hourly: the 15-min rule cannot apply
    # the same storms at a depth per step
    with pytest.warns(UserWarning, match="coarser than 30 min"):
        depth = rf.storm_erosivity(rate / 24.0, units="mm")
    assert depth.R == pytest.approx(out.R, rel=1e-12)


# ------------------------------------------------------------------------------------ bad inputs

def test_negative_rain_is_refused_with_a_count():
    x, days = _year({3: 20.0, 5: -1.0, 6: -9999.0})
    with pytest.raises(ValueRangeError, match="2 day-values are negative"):
        rf.r_factor_daily(x, dates=days)
    with pytest.raises(ValueRangeError, match="negative"):
        rf.storm_erosivity(_series({3: -1.0}))


def test_implausible_daily_rain_is_refused():
    """GHCN-Daily stores tenths of mm: a 250 mm day read as 2500 is caught (vocabulary: ≤ 2000 mm/day)."""
    x, days = _year({3: 2500.0, 4: 30.0})
    with pytest.raises(ValueRangeError, match="exceed 2000 mm"):
        rf.r_factor_daily(x, dates=days)


def test_missing_days_policy():
    x, days = _year({3: 20.0, 40: 30.0})
    x[[100, 101, 102]] = np.nan
    with pytest.raises(InputError, match="3 day-values are missing"):
        rf.r_factor_daily(x, dates=days)
    zero = rf.r_factor_daily(x, dates=days, missing="zero", alpha=1.0, beta=1.0)
    skip = rf.r_factor_daily(x, dates=days, missing="skip", alpha=1.0, beta=1.0)
    assert zero == pytest.approx(50.0)
    assert skip == pytest.approx(50.0 * 365.0 / 362.0)  # years counted from the observed days
    with pytest.raises(UnknownCodeError):
        rf.r_factor_daily(x, dates=days, missing="ignore")


def test_absent_dates_are_gaps():
    x, days = _year({3: 20.0})
    keep = np.ones(days.size, bool)
    keep[200:210] = False
    with pytest.raises(InputError, match="10 day-values are missing"):
        rf.r_factor_daily(x[keep], dates=days[keep])
    assert rf.r_factor_daily(x[keep], dates=days[keep], missing="zero") == rf.r_factor_daily(x, dates=days)


def test_shorter_than_a_year():
    days = pd.date_range("2001-01-01", periods=300)
    with pytest.raises(InputError, match="less than a year"):
        rf.r_factor_daily(np.zeros(300), dates=days)
    with pytest.raises(InputError, match="less than a year"):
        rf.storm_erosivity(_series({3: 1.0}, n=1000))


def test_units_converted_or_refused():
    da = _grid(np.random.default_rng(5), n_years=1.1, ny=2, nx=2)
    R = rf.r_factor_daily(da)
    in_m = (da / 1000.0).assign_attrs(units="m")
    np.testing.assert_allclose(rf.r_factor_daily(in_m).values, R.values, rtol=1e-6)
    in_in = (da / 25.4).assign_attrs(units="in")
    np.testing.assert_allclose(rf.r_factor_daily(in_in).values, R.values, rtol=1e-6)
    with pytest.raises(UnitsError, match="not a rain depth"):
        rf.r_factor_daily(da.assign_attrs(units="mm h-1"))
    with pytest.raises(UnitsError, match="no 'units' attribute"):
        rf.r_factor_daily(da.assign_attrs(units=None).drop_attrs())
    with pytest.raises(UnitsError):
        rf.storm_erosivity(_series({3: 1.0}), units="furlong")
    with pytest.raises(UnitsError):
        rf.unit_energy(xr.DataArray([1.0], dims="t", attrs={"units": "furlong h-1"}))


def test_unknown_names():
    x, days = _year({3: 20.0})
    with pytest.raises(UnknownCodeError, match="equation"):
        rf.unit_energy(10.0, equation="kinnell")
    with pytest.raises(UnknownCodeError, match="equation"):
        rf.storm_erosivity(_series({3: 1.0}), equation="wischmeier")
    with pytest.raises(UnknownCodeError, match="model"):
        rf.r_factor_daily(x, dates=days, model="renard")
    with pytest.raises(UnknownCodeError, match="coefficients"):
        rf.r_factor_daily(x, dates=days, coefficients={"gamma": 1.0})


def test_no_time_coordinate():
    with pytest.raises(InputError, match="no time coordinate"):
        rf.r_factor_daily(np.zeros(400))
    da = xr.DataArray(np.zeros((400, 2, 2)), dims=("day", "y", "x"), attrs={"units": "mm"})
    with pytest.raises(InputError, match="no 'time' dimension"):
        rf.r_factor_daily(da)
    with pytest.raises(InputError, match="without a coordinate"):
        rf.r_factor_daily(da.rename(day="time"))
    with pytest.raises(InputError, match="DatetimeIndex"):
        rf.storm_erosivity(pd.Series(np.zeros(10)))
    with pytest.raises(InputError, match="one total per day"):
        hourly = pd.date_range("2001-01-01", periods=24 * 400, freq="h")
        rf.r_factor_daily(np.zeros(hourly.size), dates=hourly)


def test_station_table_bad_columns():
    with pytest.raises(InputError, match="lacks columns"):
        rf.r_factor_daily(pd.DataFrame({"station": ["a"], "date": ["2001-01-01"], "rain": [1.0]}))
    da = _grid(np.random.default_rng(6), n_years=1.1, ny=1, nx=1).drop_attrs()
    with pytest.warns(UserWarning, match="no 'units'"):
        rf.r_factor_daily(da, data_validation="warn")
