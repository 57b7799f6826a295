"""Conditioning: flats toward lower and away from higher terrain (Barnes et al. 2014b), breaching (Lindsay 2016)."""

from __future__ import annotations

import numpy as np
import pytest
import rioxarray  # noqa: F401
import xarray as xr
from helpers import STEPS, outlets
from hypothesis import given, settings
from hypothesis import strategies as st

from erosion._kernels import conditioning as kc
from erosion._kernels import terrain as kt
from erosion.errors import InputError, UnknownCodeError
from erosion.factors import terrain as t

ALONG_ROWS, ALONG_COLUMNS = (1, 16), (4, 64)  # E/W along a north or south rim, S/N along a west or east rim


def end_of_path(fd, i, j):
    """The cell where the D8 path from (i, j) ends."""
    while True:
        di, dj = STEPS.get(int(fd[i, j]), (0, 0))
        ni, nj = i + di, j + dj
        if (di, dj) == (0, 0) or not (0 <= ni < fd.shape[0] and 0 <= nj < fd.shape[1]) or fd[ni, nj] == 255:
            return i, j
        i, j = ni, nj


def assert_drains(dem, out):
    """Every valid cell reaches an outlet (a cell on the edge or beside nodata) along D8, without loops."""
    assert out.dtype == np.float64
    np.testing.assert_array_equal(np.isnan(out), np.isnan(dem))
    fd = t.flow_direction(out, cellsize=10.0)
    ends = outlets(fd)
    assert not np.any(ends & ~kc.outlet_mask(dem)), "a path ends inside the grid (pit or flat)"
    acc = t.flow_accumulation(fd)  # raises on loops
    assert np.nansum(acc[ends]) == np.count_nonzero(~np.isnan(dem))


def basin(n=21, outlets_at=("east",)):
    """A flat-bottomed basin: rim (the grid edge) at 10 m, floor at 5 m, outlets at 4 m in the rim."""
    z = np.full((n, n), 10.0)
    z[1:-1, 1:-1] = 5.0
    for side in outlets_at:
        z[n // 2, n - 1 if side == "east" else 0] = 4.0
    return z


def ulps_above(out, ref):
    """Number of float64 steps from ref up to out (positive finite values)."""
    return out.view(np.int64) - ref.view(np.int64)


# --- flats ----------------------------------------------------------------------------------

def test_barnes_basin_drains_to_the_outlet_and_leaves_the_rim():
    n = 21
    z = basin(n)
    along = {}
    for flats in ("epsilon", "barnes"):
        f = t.fill_depressions(z, flats=flats)
        assert_drains(z, f)
        fd = t.flow_direction(f, cellsize=10.0)
        assert {end_of_path(fd, i, j) for i in range(1, n - 1) for j in range(1, n - 1)} == {(n // 2, n - 1)}
        side = [(fd[i, j], ALONG_ROWS) for i in (1, n - 2) for j in range(2, n - 2)]
        side += [(fd[i, j], ALONG_COLUMNS) for j in (1, n - 2) for i in range(2, n - 2)]
        along[flats] = sum(code in codes for code, codes in side)
        if flats == "barnes":  # the north rim's neighbours head south-east or south, away from the rim
            assert set(fd[1, 1:16]) <= {2, 4}
            east = [i for i in range(2, n - 2) if fd[i, n - 2] in ALONG_COLUMNS]
            assert east and all(abs(i - n // 2) <= 2 for i in east)  # only beside the outlet
    # of the 68 floor cells beside the rim (corners left out): ε sends 32 along the rim, Barnes 2
    assert along == {"epsilon": 32, "barnes": 2}


def test_barnes_increments_are_2_towards_plus_height_minus_away():
    z = np.full((5, 8), 10.0)
    z[1:4, 1:7] = 5.0
    z[2, 7] = 5.0  # an outlet at the floor's elevation: the low edge
    f = t.fill_depressions(z, flats="barnes")
    towards = np.array([[6, 5, 4, 3, 2, 1]] * 3)  # BFS steps from the outlet
    away = np.ones((3, 6), dtype=int)
    away[1, 1:5] = 2  # the middle row, except beside the west rim and the outlet's rim cells
    expected = 2 * towards + away.max() - away
    np.testing.assert_array_equal(ulps_above(f, z)[1:4, 1:7], expected)
    assert np.all(f[z == 10.0] == 10.0) and f[2, 7] == 5.0


def test_flat_with_two_outlets_drains_each_half_to_its_nearer_outlet():
    n = 21
    z = basin(n, outlets_at=("east", "west"))
    for flats in ("epsilon", "barnes"):
        fd = t.flow_direction(t.fill_depressions(z, flats=flats), cellsize=10.0)
        for i in range(1, n - 1):
            for j in range(1, n - 1):
                end = end_of_path(fd, i, j)
                assert end in ((n // 2, 0), (n // 2, n - 1))
                if j != n // 2:
                    assert (end[1] == 0) == (j < n // 2), (flats, i, j)


def test_barnes_changes_only_flat_cells_and_only_by_ulps():
    rng = np.random.default_rng(3)
    z = np.round(rng.uniform(0, 6, (40, 50)))  # plateaus everywhere
    exact = kc.priority_flood_exact(z)
    assert np.all(exact >= z) and np.isin(exact, z).all()  # no value is invented
    barnes = t.fill_depressions(z, flats="barnes")
    _, flat_cells, conflicts, undrained = kc.resolve_flats(exact)
    assert flat_cells > 100 and conflicts == 0 and undrained == 0
    assert np.all(barnes >= exact) and np.all(barnes - exact < 1e-9)
    padded = np.pad(exact, 1, constant_values=np.inf)
    lowest = np.min([padded[1 + di:41 + di, 1 + dj:51 + dj] for di in (-1, 0, 1) for dj in (-1, 0, 1)
                     if (di, dj) != (0, 0)], axis=0)
    flat = (lowest >= exact) & ~kc.outlet_mask(z)
    assert np.count_nonzero(barnes > exact) == flat_cells == np.count_nonzero(flat)
    assert np.all(barnes[flat] > exact[flat])
    epsilon = t.fill_depressions(z)
    assert np.all(np.abs(barnes - epsilon) < 1e-9)
    assert_drains(z, barnes)


def test_increments_reaching_a_higher_neighbour_are_counted_and_resolved():
    z = basin()
    z[5, 5] = np.nextafter(5.0, np.inf)  # a bump one ulp above the floor
    _, _, conflicts, _ = kc.resolve_flats(kc.priority_flood_exact(z))
    assert conflicts > 0  # the raised floor would reach the bump: it would become a pit
    f = t.fill_depressions(z, flats="barnes")
    assert_drains(z, f)
    assert np.all(f >= z)


def test_epsilon_is_the_former_fill_and_barnes_the_default():
    rng = np.random.default_rng(0)
    z = 300.0 + np.cumsum(rng.normal(0, 2, (60, 70)), axis=1) + np.round(rng.uniform(0, 3, (60, 70)))
    z[20:24, 30:33] = np.nan
    np.testing.assert_array_equal(t.fill_depressions(z, flats="epsilon"), kt.priority_flood_epsilon(z))
    np.testing.assert_array_equal(t.fill_depressions(z), kc.priority_flood_barnes(z))


@pytest.mark.parametrize("x", [0.0, -0.0, 5e-324, -5e-324, 1.0, -1.0, np.nextafter(2.0, 0.0), -2.0, 123.456, 8848.86])
def test_ulp_increments_equal_repeated_nextafter(x):
    for m in (0, 1, 2, 3, 17):
        ref = x
        for _ in range(m):
            ref = np.nextafter(ref, np.inf)
        bits = np.array([x]).view(np.int64)[0]
        assert np.array([kc._ulps_up.py_func(bits, m)]).view(np.float64)[0] == ref


# --- breaching ------------------------------------------------------------------------------

def dammed_valley():
    """A one-cell-wide valley falling east to the grid edge, closed by a one-cell dam (25 m) at column 8."""
    z = np.full((7, 12), 50.0)
    z[3, 1:11] = 20.0 - np.arange(1, 11)
    z[3, 11] = 8.0
    z[3, 8] = 25.0
    return z


def test_breach_cuts_the_dam_instead_of_filling_the_valley():
    z = dammed_valley()
    filled = t.fill_depressions(z)
    breached = t.breach_depressions(z)
    assert_drains(z, breached)
    assert breached[3, 8] < filled[3, 8] == 25.0
    assert breached[3, 8] == np.nextafter(13.0, -np.inf)  # one ulp below the pit behind it
    lowered = breached < z
    assert lowered.sum() == 1 and lowered[3, 8]
    np.testing.assert_array_equal(breached[3, 1:8], z[3, 1:8])  # the depression is not filled
    assert np.all(filled[3, 1:8] > 25.0)


def test_max_depth_and_length_stop_a_breach_and_fill_remaining_fills_it():
    z = dammed_valley()  # the cut needs 12 m, one cell
    np.testing.assert_array_equal(t.breach_depressions(z, max_depth=5.0), t.fill_depressions(z))
    np.testing.assert_array_equal(t.breach_depressions(z, max_length=0), t.fill_depressions(z))
    kept = t.breach_depressions(z, max_depth=5.0, fill_remaining=False)
    np.testing.assert_array_equal(kept, z)
    assert t.flow_direction(kept, cellsize=10.0)[3, 7] == 0  # the pit stays
    for limits in ({"max_depth": 12.5}, {"max_length": 1}):
        assert t.breach_depressions(z, **limits)[3, 8] < 13.0


def test_breach_then_fill_uses_the_flats_rule():
    z = basin()  # a flat, no depression: nothing to carve
    for flats in ("epsilon", "barnes"):
        np.testing.assert_array_equal(t.breach_depressions(z, flats=flats), t.fill_depressions(z, flats=flats))


# --- random DEMs with plateaus ----------------------------------------------------------------

@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**31), ny=st.integers(3, 16), nx=st.integers(3, 16),
       holes=st.floats(0.0, 0.2), levels=st.integers(1, 8))
def test_random_plateau_dems_drain_after_every_method(seed, ny, nx, holes, levels):
    rng = np.random.default_rng(seed)
    dem = np.round(rng.uniform(0, levels, (ny, nx))) * 10.0  # plateaus, sea level (0 m) included
    dem[rng.random((ny, nx)) < holes] = np.nan
    if np.isnan(dem).all():
        dem[0, 0] = 1.0
    np.testing.assert_array_equal(t.fill_depressions(dem, flats="epsilon"), kt.priority_flood_epsilon(dem))
    for flats in ("epsilon", "barnes"):
        z = dem
        filled = t.fill_depressions(z, flats=flats)
        assert_drains(z, filled)
        valid = ~np.isnan(z)
        assert np.all(filled[valid] >= z[valid])
        for limits in ({}, {"max_depth": 10.0, "max_length": 3}):
            carved = t.breach_depressions(z, fill_remaining=False, **limits)
            out = t.breach_depressions(z, flats=flats, **limits)
            assert_drains(z, out)
            assert np.all(carved[valid] <= z[valid])
            assert np.all(out[valid] >= carved[valid])
            path = carved < z
            np.testing.assert_array_equal(out[path], carved[path])  # the fill leaves breach channels alone
            if limits:
                assert np.all(z[valid] - carved[valid] <= 10.0)


def sea_level_basin():
    """The basin with its floor at 0 m and a second, lower pit (-1 m) behind a dam in the floor."""
    z = basin() - 5.0
    z[10, 20] = 0.0  # the outlet: the sea at the floor's level
    z[4, 3:8] = 3.0
    z[3, 3:8] = z[5, 3:8] = 3.0
    z[4, 4:7] = -1.0
    return z


def test_flats_and_breaches_at_sea_level_drain():
    z = sea_level_basin()  # 0 m: one ulp is 5e-324, a drop that vanishes in D8's drop / distance
    assert_drains(z, t.fill_depressions(z, flats="barnes"))
    breached = t.breach_depressions(z, flats="barnes")
    assert_drains(z, breached)
    assert np.all(breached[4, 4:7] < -1.0 + 1e-12)  # the pit is drained, not filled
    ring = np.r_[breached[3, 3:8], breached[5, 3:8], breached[4, [3, 7]]]
    assert np.count_nonzero(ring < -1.0) == 1  # its ring is cut at one cell, below the pit


def test_epsilon_flats_at_sea_level_drain():
    assert_drains(sea_level_basin(), t.fill_depressions(sea_level_basin()))


# --- kinds, dask, bad input ------------------------------------------------------------------

def _projected(z, cell=10.0):
    ny, nx = z.shape
    da = xr.DataArray(z, dims=("y", "x"), attrs={"units": "m"},
                      coords={"y": 4_000_000.0 - (np.arange(ny) + 0.5) * cell, "x": 500_000.0 + (np.arange(nx) + 0.5) * cell})
    return da.rio.write_crs("EPSG:32650")


def test_dataarray_and_dask_results():
    z = dammed_valley()
    dem = _projected(z)
    breached = t.breach_depressions(dem, flats="barnes")
    assert breached.name == "dem_breached" and breached.attrs["units"] == "m"
    assert "Lindsay" in breached.attrs["references"] and breached.rio.crs.to_epsg() == 32650
    np.testing.assert_array_equal(breached.values, t.breach_depressions(z, flats="barnes"))
    filled = t.fill_depressions(dem, flats="barnes")
    assert filled.name == "dem_filled" and "flat surfaces" in filled.attrs["references"]
    lazy = dem.chunk({"y": 3, "x": 5})
    tiled = t.fill_depressions(lazy)  # Barnes flats: tile by tile, lazily (ADR 0018)
    assert tiled.chunks == lazy.chunks
    np.testing.assert_array_equal(tiled.values, filled.values)
    for fn in (t.breach_depressions, lambda d, **kw: t.fill_depressions(d, flats="epsilon", **kw)):
        with pytest.raises(InputError, match=r"no tiled form.*Rechunk to one block"):
            fn(lazy)
        one = fn(dem.chunk(-1))  # one chunk: runs lazily in that block
        np.testing.assert_array_equal(one.values, fn(dem).values)
        with pytest.warns(FutureWarning, match="allow_compute is deprecated"):
            out = fn(lazy, allow_compute=True)
        assert out.chunks == lazy.chunks
        np.testing.assert_array_equal(out.values, fn(dem).values)


def test_bad_arguments():
    z = dammed_valley()
    with pytest.raises(UnknownCodeError, match="barnes"):
        t.fill_depressions(z, flats="garbrecht")
    with pytest.raises(UnknownCodeError, match="epsilon"):
        t.breach_depressions(z, flats="planchon")
    with pytest.raises(InputError, match="max_depth"):
        t.breach_depressions(z, max_depth=-1.0)
    with pytest.raises(InputError, match="max_length"):
        t.breach_depressions(z, max_length="ten")
    with pytest.raises(InputError, match="NaN"):
        t.breach_depressions(np.full((4, 4), np.nan))
