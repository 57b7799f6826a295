"""Terrain: slope, filling, D8 routing, slope length, L, S and LS (oracles rows 1-5, AH703 cells)."""

from __future__ import annotations

import numpy as np
import pytest
import rioxarray  # noqa: F401
import xarray as xr
from helpers import geographic, outlets, plane, projected, rough_dem
from hypothesis import given, settings
from hypothesis import strategies as st

from erosion import grid, vocabulary
from erosion.errors import InputError, UnitsError, UnknownCodeError, ValueRangeError
from erosion.factors import terrain as t


def deg(percent):
    return float(np.degrees(np.arctan(percent / 100.0)))


# --- oracles --------------------------------------------------------------------------------

@pytest.mark.parametrize(("percent", "feet", "expected"), [
    (10, 100, 1.38), (10, 1000, 4.56),  # oracles rows 1 and 2
    # further cells of the AH703 moderate-ratio LS table (iwr.msu.edu/rusle/lstable.htm)
    (4, 100, 0.52), (6, 300, 1.25), (8, 600, 2.47), (12, 200, 2.61), (12, 1000, 6.28), (3, 400, 0.60),
])
def test_ah703_ls_table(percent, feet, expected):
    theta = deg(percent)
    ls = t.l_factor(feet * 0.3048, theta, m="rusle", rill_ratio="moderate") * t.s_factor(theta, method="mccool")
    assert abs(ls - expected) <= 0.005


def test_usle_unit_plot_row3():
    theta = deg(9)
    assert t.l_factor(22.13, theta, m="usle") == pytest.approx(1.0, abs=1e-12)
    assert t.l_factor(22.13, theta) == pytest.approx(1.0, abs=1e-12)
    ls = t.l_factor(22.13, theta, m="usle") * t.s_factor(theta, method="usle")
    assert ls == pytest.approx(0.9993, abs=0.002)


def test_m_at_9_percent_row4():
    assert t.m_exponent(deg(9)) == pytest.approx(0.5012, abs=1e-4)


def test_csle_s_row5():
    got = t.s_factor(np.array([5.0, 10.0, 20.0, 30.0]))
    np.testing.assert_allclose(got, [0.9642, 2.8446, 6.5337, 9.9950], atol=1e-4)


def test_m_rules_and_rill_ratio():
    theta = np.array([0.3, deg(2), deg(4), deg(6), 20.0])
    np.testing.assert_allclose(t.m_exponent(theta, m="usle"), [0.2, 0.3, 0.4, 0.5, 0.5])
    np.testing.assert_allclose(t.m_exponent(theta, m="csle"), [0.2, 0.3, 0.4, 0.4, 0.5])
    np.testing.assert_allclose(t.m_exponent(np.array([0.05, 3.0, 40.0]), m="rusle_table"), [0.01, 0.25, 0.56])
    low, mod, high = (t.m_exponent(10.0, rill_ratio=r) for r in ("low", "moderate", "high"))
    assert low < mod < high
    assert t.l_factor(44.26, m=0.5) == pytest.approx(2 ** 0.5)


# --- slope ----------------------------------------------------------------------------------

def test_horn_plane_exact_interior():
    i, j = np.mgrid[0:40, 0:30].astype(np.float64)
    z = 100.0 - 0.12 * 20.0 * i - 0.05 * 10.0 * j  # dx = 10 m, dy = 20 m
    s = t.slope(z, cellsize=(10.0, 20.0))
    assert s.dtype == np.float32
    np.testing.assert_allclose(s[1:-1, 1:-1], np.degrees(np.arctan(np.hypot(0.12, 0.05))), atol=1e-4)


# --- edges and nodata: a plane reads its own slope and LS on every cell ------------------------

def _theta(p, q):
    return float(np.degrees(np.arctan(np.hypot(p, q))))


@pytest.mark.parametrize(("p", "q"), [(0.1, 0.0), (0.0, 0.1), (0.06, 0.08), (0.3, 0.01)])
def test_plane_slope_exact_on_every_cell_edges_and_corners(p, q):
    i, j = np.mgrid[0:40, 0:30].astype(np.float64)
    z = 500.0 - p * 30.0 * i - q * 30.0 * j  # falling south by p and east by q (m/m)
    np.testing.assert_allclose(t.slope(projected(z, cell=30.0)).values, _theta(p, q), rtol=1e-6)


def test_plane_clipped_to_irregular_shape_slope_and_ls_on_every_cell():
    ny, nx, cell = 60, 50, 30.0
    i, j = np.mgrid[0:ny, 0:nx].astype(np.float64)
    angle = np.arctan2(i - 30.0, j - 25.0)
    inside = np.hypot(i - 30.0, j - 25.0) < 20.0 + 4.0 * np.sin(3.0 * angle)
    z = np.where(inside, 500.0 - 0.1 * cell * i, np.nan)  # 10 % plane, clipped
    parts = t.ls_factor(projected(z, cell=cell), return_components=True, max_length=None)
    theta = _theta(0.1, 0.0)
    np.testing.assert_allclose(parts["slope"].values[inside], theta, rtol=1e-6)
    # flow runs due south: λ is the flow distance from the clip's upper edge of each column
    top = np.argmax(inside, axis=0)
    lam = np.where(inside, (i - top[None, :] + 0.5) * cell, np.nan)
    np.testing.assert_allclose(parts["slope_length"].values, lam, rtol=1e-12)
    m = t.m_exponent(theta)
    expected = (lam / 22.13) ** m * t.s_factor(theta)
    np.testing.assert_allclose(parts["ls_factor"].values, expected, rtol=2e-6)


def test_plane_bottom_row_and_side_columns_keep_the_plane_ls():
    z = plane(ny=20, nx=12, cell=30.0)  # 10 %, falling south
    ls = t.ls_factor(projected(z, cell=30.0), max_length=None).values
    lam = (np.arange(20) + 0.5) * 30.0
    theta = _theta(0.1, 0.0)
    expected = (lam / 22.13) ** t.m_exponent(theta) * t.s_factor(theta)
    np.testing.assert_allclose(ls, np.broadcast_to(expected[:, None], ls.shape), rtol=2e-6)
    fd = t.flow_direction(z, cellsize=30.0)
    assert np.all(fd == 4)  # side columns drain south, the bottom row off the grid


def test_clipped_real_dem_edge_ring_keeps_its_slope():
    from scipy.ndimage import binary_erosion

    from erosion import datasets

    dem = datasets.load("jacksboro")
    ny, nx = dem.shape
    i, j = np.mgrid[0:ny, 0:nx]
    angle = np.arctan2(i - ny / 2, j - nx / 2)
    inside = np.hypot(i - ny / 2, j - nx / 2) < 120 + 25 * np.sin(3 * angle) + 10 * np.cos(7 * angle)
    ring = inside & ~binary_erosion(inside, np.ones((3, 3)))
    ratio = t.slope(dem.where(inside)).values[ring] / t.slope(dem).values[ring]
    assert abs(np.median(ratio) - 1.0) < 0.05  # 1.012 (0.76 when missing cells took the centre value)


def test_horn_cone():
    n, cell, alpha = 81, 5.0, 25.0
    i, j = np.mgrid[0:n, 0:n].astype(np.float64)
    r = np.hypot(i - 40, j - 40) * cell
    s = t.slope(1000.0 - r * np.tan(np.radians(alpha)), cellsize=cell)
    ring = (r > 5 * cell) & (r < 35 * cell)
    np.testing.assert_allclose(s[ring], alpha, atol=0.3)


def test_slope_nan_rules():
    z = plane(ny=6, nx=6)
    z[2, 2] = np.nan
    s = t.slope(z, cellsize=10.0)
    assert np.isnan(s[2, 2]) and np.isfinite(np.delete(s.ravel(), 2 * 6 + 2)).all()


def test_slope_geographic_matches_projected():
    ny, nx = 40, 30
    template = geographic(np.zeros((ny, nx)))
    dx, dy = grid.cell_sizes(template)
    northing = np.concatenate([[0.0], np.cumsum(dy[:-1])])
    i, j = np.mgrid[0:ny, 0:nx]
    z = 800.0 + 0.15 * northing[i] - 0.08 * j * dx[:, None]
    s_geo = t.slope(template.copy(data=z))
    s_proj = t.slope(z, cellsize=(dx.mean(), dy.mean()))
    expected = np.degrees(np.arctan(np.hypot(0.15, 0.08)))
    np.testing.assert_allclose(s_geo.values[1:-1, 1:-1], expected, atol=0.01)
    np.testing.assert_allclose(s_geo.values[1:-1, 1:-1], s_proj[1:-1, 1:-1], atol=0.05)
    assert s_geo.rio.crs.to_epsg() == 4326
    assert float(s_geo.max()) < 10  # not the 90° of a degrees-as-metres slope


@pytest.mark.parametrize("chunks", [(7, 9), (50, 13), (1, 70), (-1, -1)])
def test_slope_dask_equals_numpy(chunks):
    dem = geographic(rough_dem())
    ref = t.slope(dem).values
    lazy = t.slope(dem.chunk(dict(zip(("y", "x"), chunks, strict=True))))
    assert lazy.chunks is not None
    np.testing.assert_array_equal(lazy.values, ref)


@settings(max_examples=10, deadline=None)
@given(cy=st.integers(6, 61), cx=st.integers(6, 71))
def test_slope_and_fdir_chunking_invariant(cy, cx):
    dem = projected(rough_dem(1))
    filled = t.fill_depressions(dem)
    lazy_dem, lazy_filled = dem.chunk({"y": cy, "x": cx}), filled.chunk({"y": cy, "x": cx})
    np.testing.assert_array_equal(t.slope(lazy_dem).values, t.slope(dem).values)
    np.testing.assert_array_equal(t.flow_direction(lazy_filled).values, t.flow_direction(filled).values)


# --- filling and routing --------------------------------------------------------------------

def test_fill_depressions_fills_pit_and_drains():
    z = plane(ny=30, nx=30)
    z[10:13, 10:13] -= 25.0  # a pit
    z[20, 5] = np.nan
    f = t.fill_depressions(z)
    assert f.dtype == np.float64
    assert np.array_equal(np.isnan(f), np.isnan(z))
    assert np.all(f[~np.isnan(z)] >= z[~np.isnan(z)])
    assert np.all(f[10:13, 10:13] > z[13, 11])  # raised above the spill point (lowest rim cell)
    assert np.all(f[10:13, 10:13] < z[13, 11] + 1e-9)
    fd = t.flow_direction(f, cellsize=10.0)
    ends = outlets(fd)
    for i, j in np.argwhere(ends):  # only edge cells or cells next to nodata have no receiver
        win = z[max(i - 1, 0):i + 2, max(j - 1, 0):j + 2]
        assert i in (0, 29) or j in (0, 29) or np.isnan(win).any()
    acc = t.flow_accumulation(fd)  # raises on loops; every cell reaches an outlet
    assert np.nansum(acc[ends]) == np.count_nonzero(~np.isnan(z))
    np.testing.assert_array_equal(t.fill_depressions(f), f)  # idempotent


def test_fill_rough_dem_idempotent_and_drains():
    z = rough_dem(2)
    f = t.fill_depressions(z)
    np.testing.assert_array_equal(t.fill_depressions(f), f)
    fd = t.flow_direction(f, cellsize=30.0)
    inner = np.zeros(z.shape, bool)
    inner[1:-1, 1:-1] = True
    near_nan = np.zeros(z.shape, bool)
    for di in (-1, 0, 1):
        for dj in (-1, 0, 1):
            near_nan |= np.roll(np.roll(np.isnan(z), di, 0), dj, 1)
    assert not np.any((fd == 0) & inner & ~near_nan)


def test_flow_direction_codes_and_ties():
    z = np.array([[5.0, 5, 5], [5, 4, 5], [5, 5, 3]])
    fd = t.flow_direction(z, cellsize=1.0)
    assert fd[1, 1] == 2  # SE: drop 1/sqrt(2) beats nothing else
    assert fd[0, 0] == 2
    assert fd[2, 2] == 2  # drains off the grid, down the extrapolated gradient (SE)
    tie = t.flow_direction(np.array([[2.0, 1.0, 2.0], [2.0, 2.0, 2.0], [2.0, 1.0, 2.0]]), cellsize=1.0)
    assert tie[1, 1] == 4  # S and N tie: the first in the order E, SE, S, SW, W, NW, N, NE wins
    nan = t.flow_direction(np.array([[np.nan, 1.0], [2.0, 3.0]]), cellsize=1.0)
    assert nan[0, 0] == 255 and nan.dtype == np.uint8


def test_flow_accumulation_plane_counts_and_areas():
    z = plane(ny=12, nx=8)
    fd = t.flow_direction(z, cellsize=10.0)
    assert np.all(fd == 4)  # the bottom row drains off the grid, southward like the plane
    acc = t.flow_accumulation(fd)
    np.testing.assert_array_equal(acc, np.arange(1, 13)[:, None] * np.ones((1, 8)))
    acc_da = t.flow_accumulation(t.flow_direction(projected(z)))
    np.testing.assert_allclose(acc_da.values, acc * 100.0)
    assert acc_da.dtype == np.float64 and acc_da.attrs["units"] == "m2"


def test_flow_accumulation_conserves_geographic_area():
    dem = geographic(rough_dem(3))
    fd = t.flow_direction(t.fill_depressions(dem))
    acc = t.flow_accumulation(fd)
    areas = np.broadcast_to(grid.row_areas(dem)[:, None], dem.shape)
    total = areas[~np.isnan(dem.values)].sum()
    assert np.nansum(acc.values[outlets(fd.values)]) == pytest.approx(total, rel=1e-12)


def test_flow_accumulation_rejects_loops_and_bad_codes():
    with pytest.raises(InputError, match="loop"):
        t.flow_accumulation(np.array([[1, 16]], dtype=np.uint8))
    with pytest.raises(InputError, match="codes"):
        t.flow_accumulation(np.array([[3, 0]], dtype=np.uint8))


# --- slope length ---------------------------------------------------------------------------

def test_slope_length_plane_half_cell_start_and_cap():
    z = plane(ny=40, nx=10)
    lam = t.slope_length(z, cellsize=10.0, max_length=None)
    expected = (np.arange(40) + 0.5) * 10.0
    np.testing.assert_allclose(lam, np.broadcast_to(expected[:, None], (40, 10)))
    capped = t.slope_length(z, cellsize=10.0, max_length=100.0)
    np.testing.assert_allclose(capped, np.minimum(lam, 100.0))


def test_slope_length_diagonal_steps():
    i, j = np.mgrid[0:20, 0:20].astype(np.float64)
    lam = t.slope_length(100.0 - (i + j), cellsize=10.0)
    d = 10.0 * np.sqrt(2.0)
    assert lam[5, 5] == pytest.approx(5.5 * d)  # start at (0,0), five diagonal steps
    assert lam[0, 0] == pytest.approx(0.5 * d)


def test_slope_length_cutoff_restarts_at_slope_break():
    z = np.empty((20, 3))
    for r in range(20):
        z[r] = 100.0 - 2.0 * r if r <= 10 else 80.0 - 0.2 * (r - 10)  # 20 % then 2 %
    lam = t.slope_length(z, cellsize=10.0)[:, 1]
    assert lam[9] == pytest.approx(95.0)
    assert lam[10] == pytest.approx(10.0)  # cut off: 1.15° < 0.7 × 11.3°; restarts at one cell (AML)
    assert lam[11] == pytest.approx(20.0)
    no_cut = t.slope_length(z, cellsize=10.0, cutoff_gentle=0.0, cutoff_steep=0.0)[:, 1]
    assert no_cut[10] == pytest.approx(105.0)


def _valley(floor: float, ny: int = 120, nx: int = 41, cell: float = 30.0) -> np.ndarray:
    """A V-shaped valley: 20 % sides falling to the middle column, its floor falling south."""
    i, j = np.mgrid[0:ny, 0:nx].astype(np.float64)
    return 1000.0 - floor * cell * i + 0.2 * cell * np.abs(j - nx // 2)


def test_valley_floor_accumulates_as_hillslope_without_a_channel_cutoff():
    lam = t.slope_length(projected(_valley(0.02), cell=30.0), max_length=None).values
    assert lam[90, 20] == pytest.approx(2730.0)  # 90 floor cells of 30 m: hillslope rules alone never stop it
    steep = t.ls_factor(projected(_valley(0.10), cell=30.0), max_length=None).values
    assert steep[90, 20] > 14.0  # a 10 % floor keeps the side's length: no cutoff fires


def test_channel_cutoff_stops_slope_length_at_the_valley_floor():
    dem = projected(_valley(0.10), cell=30.0)
    free = t.slope_length(dem, max_length=None).values
    lam = t.slope_length(dem, max_length=None, channel_area=5e4).values  # 5 ha
    channel = t.flow_accumulation(t.flow_direction(t.fill_depressions(dem))).values >= 5e4
    # the sides run diagonally (drop 6 + 3 m over 42.4 m beats 6 m over 30 m): a side cell d columns
    # out reaches the floor d rows lower, so the floor at row i drains its own i + 1 cells and
    # Σ_{d=1..20} max(0, i − d + 1) cells on each side; 5 ha is 55.6 cells of 900 m²
    upslope = [i + 1 + 2 * sum(max(0, i - d + 1) for d in range(1, 21)) for i in range(120)]
    first = next(i for i, cells in enumerate(upslope) if cells * 900.0 >= 5e4)
    assert channel[:, 20].sum() == 120 - first and channel.sum() == 120 - first  # the floor from row 7 down
    np.testing.assert_allclose(lam[channel], 30.0)  # each channel cell restarts at one cell length
    np.testing.assert_array_equal(lam[~channel], free[~channel])  # hillslopes untouched
    assert free[90, 20] > 2000.0
    ls = t.ls_factor(dem, channel_area=5e4, max_length=None).values
    assert ls[90, 20] < 3.0
    gentle = t.slope_length(projected(_valley(0.02), cell=30.0), max_length=None).values
    np.testing.assert_allclose(gentle[50, :20], 15.0 + 30.0 * np.arange(20))  # ridge to floor


def test_barriers_stop_slope_length_and_downslope_cells_start_afresh():
    z = plane(ny=30, nx=6, cell=30.0)
    border = np.zeros(z.shape, dtype=bool)
    border[10] = True  # a field border across the slope
    lam = t.slope_length(projected(z, cell=30.0), max_length=None,
                         barriers=projected(border.astype(np.float32), cell=30.0, units=None)).values[:, 2]
    np.testing.assert_allclose(lam[:10], (np.arange(10) + 0.5) * 30.0)
    assert lam[10] == pytest.approx(30.0)  # the border restarts
    np.testing.assert_allclose(lam[11:], (np.arange(19) + 0.5) * 30.0)  # below it, a new slope
    lazy = t.slope_length(projected(z, cell=30.0).chunk({"y": 7}), max_length=None,
                          barriers=projected(border.astype(np.float32), cell=30.0, units=None).chunk({"y": 7}))
    np.testing.assert_array_equal(lazy.values[:, 2], lam)
    with pytest.raises(InputError, match="mask"):
        t.slope_length(z, cellsize=30.0, barriers=border * 3)
    with pytest.raises(InputError, match="channel_area"):
        t.slope_length(z, cellsize=30.0, channel_area=-1)


def test_slope_length_with_given_slope_raster():
    z = plane(ny=20, nx=6)
    theta = t.slope(z, cellsize=10.0)
    lam = t.slope_length(z, cellsize=10.0, slope=theta)
    np.testing.assert_allclose(lam[:, 2], (np.arange(20) + 0.5) * 10.0)  # edge rows' half slope: no cut


def test_slope_length_flat_gets_min_slope_and_drains():
    z = np.full((10, 10), 50.0)
    lam = t.slope_length(z, cellsize=10.0)
    assert np.isfinite(lam).all() and lam.min() >= 5.0


# --- LS and kinds ---------------------------------------------------------------------------

def test_ls_factor_dataarray_components_crs_and_attrs():
    dem = projected(rough_dem(4))
    out = t.ls_factor(dem, return_components=True, max_length=300.0)
    assert isinstance(out, xr.Dataset)
    for name, da in out.data_vars.items():
        assert da.rio.crs.to_epsg() == 32650, name
        assert "spatial_ref" in da.coords
        assert da.rio.transform() == dem.rio.transform()
        assert da.attrs["units"] == vocabulary.get(name).units
        assert da.attrs["references"] and da.attrs["history"].startswith("erosion")
    assert out.ls_factor.dtype == np.float32
    assert float(out.slope_length.max()) <= 300.0
    valid = ~np.isnan(dem.values)
    assert np.isfinite(out.ls_factor.values[valid]).all() and (out.ls_factor.values[valid] > 0).all()
    np.testing.assert_allclose(out.ls_factor, out.l_factor * out.s_factor, rtol=1e-6)


def test_every_output_keeps_grid():
    dem = geographic(rough_dem(5))
    filled = t.fill_depressions(dem)
    fd = t.flow_direction(filled)
    outputs = {"dem_filled": filled, "flow_direction": fd, "slope": t.slope(dem),
               "flow_accumulation": t.flow_accumulation(fd), "slope_length": t.slope_length(dem),
               "ls_factor": t.ls_factor(dem)}
    for name, da in outputs.items():
        assert da.name == name
        assert da.rio.crs.to_epsg() == 4326, name
        assert da.rio.transform() == dem.rio.transform(), name
        assert da.attrs["units"] == vocabulary.get(name).units, name
    assert fd.dtype == np.uint8 and fd.rio.nodata == 255


def test_ls_factor_dask_runs_tile_by_tile_and_matches():
    import dask

    dem = projected(rough_dem(6))
    lazy = dem.chunk({"y": 16, "x": 25})
    with dask.config.set(scheduler=_refuse_compute):  # building the chain computes nothing
        out = t.ls_factor(lazy, channel_area=2e4, return_components=True)
    assert out["ls_factor"].chunks == lazy.chunks
    eager = t.ls_factor(dem, channel_area=2e4, return_components=True)
    for name in ("slope", "slope_length", "ls_factor"):
        np.testing.assert_array_equal(out[name].values, eager[name].values, err_msg=name)
    for method in ("flowpath", "rusle"):  # LS formed in the slope length's last pass, per tile
        ls = t.ls_factor(lazy, method=method, channel_area=2e4)
        assert ls.dtype == np.float32 and ls.chunks == lazy.chunks and ls.attrs["units"] == "1"
        np.testing.assert_array_equal(ls.values, t.ls_factor(dem, method=method, channel_area=2e4).values)
    with pytest.raises(InputError, match="no tiled form"):
        t.ls_factor(lazy, flats="epsilon")
    np.testing.assert_array_equal(t.ls_factor(dem.chunk(-1), flats="epsilon").values,
                                  t.ls_factor(dem, flats="epsilon").values)


def _refuse_compute(*args, **kwargs):
    raise AssertionError("something was computed")


def test_cellwise_dask_equals_numpy():
    rng = np.random.default_rng(7)
    theta = projected(rng.uniform(0, 45, (30, 40)).astype(np.float32), units="degree")
    lam = projected(rng.uniform(1, 400, (30, 40)), units="m")
    lam.name = "slope_length"
    for method in t.S_METHODS:
        np.testing.assert_array_equal(t.s_factor(theta.chunk(7), method=method).values,
                                      t.s_factor(theta.values, method=method))
    np.testing.assert_array_equal(t.l_factor(lam.chunk(9), theta.chunk(9)).values, t.l_factor(lam.values, theta.values))


def test_numpy_in_numpy_out_scalars_in_scalars_out():
    assert isinstance(t.s_factor(10.0), float)
    assert isinstance(t.l_factor(30.0, 5.0), float)
    assert isinstance(t.ls_factor(rough_dem(8), cellsize=30.0), np.ndarray)
    assert isinstance(t.ls_factor(rough_dem(8), cellsize=30.0, return_components=True), dict)


def test_feet_dem_converted():
    z = plane(ny=10, nx=10, grad_s=0.1)
    da_m = projected(z)
    da_ft = projected(z / 0.3048, units="ft")
    np.testing.assert_allclose(t.slope(da_ft).values, t.slope(da_m).values, rtol=1e-5)


# --- bad input ------------------------------------------------------------------------------

def test_bad_inputs():
    with pytest.raises(ValueRangeError, match="percent"):
        t.s_factor(np.array([5.0, 150.0]))
    with pytest.raises(UnknownCodeError, match="csle"):
        t.s_factor(5.0, method="wischmeier")
    with pytest.raises(UnknownCodeError, match="rusle"):
        t.l_factor(50.0, 5.0, m="foster")
    with pytest.raises(UnknownCodeError, match="moderate"):
        t.m_exponent(5.0, rill_ratio="extreme")
    with pytest.raises(UnknownCodeError):
        t.ls_factor(rough_dem(), cellsize=10.0, s_method="nope")
    with pytest.raises(UnitsError):
        t.slope(projected(plane(), units=None))
    with pytest.raises(InputError, match="NaN"):
        t.slope(np.full((5, 5), np.nan), cellsize=10.0)
    with pytest.raises(InputError, match="NaN"):
        t.fill_depressions(np.full((5, 5), np.nan))
    with pytest.raises(InputError, match="cellsize"):
        t.slope(plane())
    with pytest.raises(InputError, match="no tiled form"):
        t.fill_depressions(projected(plane()).chunk(10), flats="epsilon")
    with pytest.raises(InputError, match="2-D"):
        t.slope(np.zeros(5), cellsize=1.0)


def test_flow_direction_round_trips_through_geotiff_and_align(tmp_path):
    import erosion

    dem = projected(rough_dem())
    fd = t.flow_direction(t.fill_depressions(dem))
    assert fd.rio.nodata == 255
    path = erosion.write_raster(fd, tmp_path / "fd.tif")
    back = erosion.open_raster(path, masked=False)
    assert back.dtype == np.uint8 and back.rio.nodata == 255
    np.testing.assert_array_equal(back.values, fd.values)
    (aligned,) = erosion.align(dem, fd, resampling="nearest")
    np.testing.assert_array_equal(aligned.values, fd.values)


def test_flow_accumulation_cell_area_of_the_wrong_shape():
    from erosion.errors import GridMismatchError

    fd = t.flow_direction(plane(ny=5, nx=4), cellsize=10.0)
    with pytest.raises(GridMismatchError, match="cell_area of shape"):
        t.flow_accumulation(fd, cell_area=np.ones((3, 3)))


# --- LS methods ---------------------------------------------------------------------------------

def test_desmet_govers_ls_on_a_plane_is_the_segment_formula():
    z = plane(ny=20, nx=8, cell=30.0)  # 10 % south: aspect 180°, x = 1
    theta = _theta(0.1, 0.0)
    mm = float(t.m_exponent(theta))
    i = np.arange(20.0)
    seg = 30.0**mm * ((i + 1) ** (mm + 1) - i ** (mm + 1)) / 22.13**mm  # Desmet & Govers, A_in = 30·30·i
    expected = seg * float(t.s_factor(theta))
    for routing in ("d8", "dinf"):
        ls = t.ls_factor(projected(z, cell=30.0), method="desmet-govers", routing=routing, max_length=None).values
        np.testing.assert_allclose(ls, np.broadcast_to(expected[:, None], ls.shape), rtol=2e-5, err_msg=routing)
    # MFD also sends flow down the diagonals; on a plane that spreading cancels away from the
    # side edges, where flow toward the missing neighbours leaves the grid
    wide = t.ls_factor(projected(plane(ny=20, nx=80, cell=30.0), cell=30.0), method="desmet-govers", routing="mfd",
                       max_length=None).values[:, 40]
    np.testing.assert_allclose(wide, expected, rtol=2e-5)
    capped = t.ls_factor(projected(z, cell=30.0), method="desmet-govers", max_length=90.0).values[:, 3]
    a_in = 90.0 * 30.0  # the inlet area is capped at max_length · D
    top = ((a_in + 900.0) ** (mm + 1) - a_in ** (mm + 1)) / (30.0 ** (mm + 2) * 22.13**mm) * float(t.s_factor(theta))
    np.testing.assert_allclose(capped[3:], top, rtol=2e-5)
    np.testing.assert_allclose(capped[:3], expected[:3], rtol=2e-5)


def test_desmet_govers_channel_cells_restart_and_dask_matches():
    dem = projected(_valley(0.10, ny=40), cell=30.0)
    parts = t.ls_factor(dem, method="desmet-govers", routing="mfd", channel_area=5e4, return_components=True)
    channel = parts["flow_accumulation"].values >= 5e4
    single = t.ls_factor(dem, method="desmet-govers", routing="mfd", return_components=True)
    assert channel.sum() > 20
    assert np.all(parts["l_factor"].values[channel] < single["l_factor"].values[channel])
    lazy = t.ls_factor(dem.chunk(-1), method="desmet-govers", routing="mfd", channel_area=5e4)
    np.testing.assert_allclose(lazy.values, parts["ls_factor"].values, rtol=1e-6)
    with pytest.raises(InputError, match="no tiled form"):
        t.ls_factor(dem.chunk({"y": 13, "x": 9}), method="desmet-govers", routing="mfd")
    d8 = t.ls_factor(dem.chunk({"y": 13, "x": 9}), method="desmet-govers", channel_area=5e4)  # D8: tiled
    np.testing.assert_allclose(d8.values, t.ls_factor(dem, method="desmet-govers", channel_area=5e4).values,
                               rtol=1e-6)


def test_rusle_method_uses_the_short_slope_s_below_15_feet():
    z = plane(ny=12, nx=4, cell=1.0)  # 1 m cells: λ = 0.5, 1.5, ... m
    parts = t.ls_factor(z, method="rusle", cellsize=1.0, max_length=None, return_components=True)
    theta = _theta(0.1, 0.0)
    short = parts["slope_length"][:, 1] < 4.572
    assert short.sum() == 5  # λ = 0.5 … 4.5 m
    np.testing.assert_allclose(parts["s_factor"][short, 1], float(t.s_factor(theta, method="short")), rtol=1e-6)
    np.testing.assert_allclose(parts["s_factor"][~short, 1], float(t.s_factor(theta, method="mccool")), rtol=1e-6)


def test_ls_method_choices_are_checked():
    z = plane(ny=6, nx=6)
    with pytest.raises(UnknownCodeError, match="LS method"):
        t.ls_factor(z, cellsize=10.0, method="grass")
    with pytest.raises(InputError, match="desmet-govers"):
        t.ls_factor(z, cellsize=10.0, routing="mfd")
    with pytest.raises(InputError, match="barriers"):
        t.ls_factor(z, cellsize=10.0, method="desmet-govers", barriers=np.zeros((6, 6), bool))


def test_long_steps_report_progress_through_logging_not_print(caplog, capsys):
    import logging

    z = projected(plane(ny=30, nx=20, cell=30.0), cell=30.0)
    with caplog.at_level(logging.INFO, logger="erosion"):
        t.ls_factor(z)
        t.slope_length(z)
    steps = [r.getMessage() for r in caplog.records if r.name == "erosion"]
    assert any(m.startswith("ls_factor: fill") and "600 cells in" in m for m in steps)
    assert any(m.startswith("ls_factor: slope length") for m in steps)
    assert any(m.startswith("fill_depressions") for m in steps) and any(m.startswith("slope_length") for m in steps)
    assert capsys.readouterr().out == ""


@pytest.mark.parametrize("chunks", [{"y": 7, "x": 9}, {"y": 1, "x": 70}, {"y": 25, "x": 4}])
def test_dask_d8_accumulation_runs_tile_by_tile_without_allow_compute(chunks):
    import dask.array as da

    dem = geographic(rough_dem(5))
    fd = t.flow_direction(t.fill_depressions(dem))
    eager = t.flow_accumulation(fd)
    lazy = t.flow_accumulation(fd.chunk(chunks))  # no allow_compute: the tiled scheme (ADR 0017)
    assert isinstance(lazy.data, da.Array) and lazy.chunks == fd.chunk(chunks).chunks
    np.testing.assert_allclose(lazy.values, eager.values, rtol=1e-12)
    sca = t.flow_accumulation(fd.chunk(chunks), output="sca")
    np.testing.assert_allclose(sca.values, t.flow_accumulation(fd, output="sca").values, rtol=1e-12)


@pytest.mark.parametrize("chunks", [{"y": 9, "x": 11}, {"y": 40, "x": 3}])
def test_dask_slope_length_of_a_filled_dem_runs_tile_by_tile(chunks):
    import dask.array as da

    dem = projected(_valley(0.10, ny=40), cell=30.0)
    filled = t.fill_depressions(dem)
    fd = t.flow_direction(filled)
    border = projected((np.arange(40)[:, None] == 20) & (np.arange(41)[None, :] < 15), cell=30.0, units=None)
    eager = t.slope_length(filled, fdir=fd, channel_area=5e4, barriers=border)
    lazy = t.slope_length(filled.chunk(chunks), fdir=fd.chunk(chunks), channel_area=5e4, barriers=border.chunk(chunks))
    assert isinstance(lazy.data, da.Array)
    np.testing.assert_array_equal(lazy.values, eager.values)
    raw = t.slope_length(dem.chunk(chunks), channel_area=5e4)  # an unfilled DEM: the tiled fill first
    np.testing.assert_array_equal(raw.values, t.slope_length(dem, channel_area=5e4).values)


def test_stencil_tasks_name_their_numba_kernel():
    """Dask tasks carry a module-level kernel by name, so workers load it from numba's disk
    cache instead of compiling a pickled copy; other functions travel as they are."""
    from erosion._kernels import terrain as kernels
    from erosion.factors.terrain._common import _by_name

    assert _by_name(kernels.d8_direction) == ("erosion._kernels.terrain", "d8_direction")

    def local(z, dx, dy):
        return z

    assert _by_name(local) is local
