"""Tiled D8 accumulation and slope length (Barnes 2017, ADR 0017) against the single-grid kernels."""

from __future__ import annotations

import dask
import dask.array as da
import numpy as np
import pytest
from dask.core import get_dependencies
from dask.local import get_sync
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from erosion._kernels import conditioning as kc
from erosion._kernels import terrain as k
from erosion.errors import InputError
from erosion.factors.terrain.tiled import tiled_fill, tiled_flow_accumulation, tiled_slope_length

SYNC = {"scheduler": "sync"}
PROPERTY = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# --- inputs -----------------------------------------------------------------------------------

@st.composite
def raw_dems(draw, low=5):
    """A random surface with NaN holes: noise, hills, a tilted plane or integer terraces (flats)."""
    ny, nx = draw(st.integers(low, 60)), draw(st.integers(low, 60))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    i, j = np.mgrid[0:ny, 0:nx].astype(np.float64)
    kind = draw(st.sampled_from(["noise", "hills", "tilted", "terraced"]))
    if kind == "noise":
        z = rng.normal(0.0, 5.0, (ny, nx))
    elif kind == "hills":
        z = 300.0 + 20.0 * np.sin(i / 5.0) * np.cos(j / 4.0) - 0.5 * i + rng.normal(0.0, 1.5, (ny, nx))
    elif kind == "tilted":  # long rivers that cross many tiles
        z = 500.0 - 3.0 * i - rng.uniform(-2.0, 2.0) * j + rng.normal(0.0, 0.5, (ny, nx))
    else:  # integer steps: flats, ties in drops and angles
        z = np.round(100.0 - 0.4 * i - 0.3 * j + rng.normal(0.0, 1.0, (ny, nx)))
    for _ in range(draw(st.integers(0, 3))):
        r, c = rng.integers(0, ny), rng.integers(0, nx)
        z[r:r + rng.integers(1, 6), c:c + rng.integers(1, 6)] = np.nan
    z[rng.random((ny, nx)) < draw(st.sampled_from([0.0, 0.02, 0.1]))] = np.nan
    if np.isnan(z).all():
        z[ny // 2, nx // 2] = 1.0
    return z


@st.composite
def filled_dems(draw):
    """A filled DEM (priority-flood+ε of a random surface with NaN holes), per-row dx, dy, D8 codes."""
    z = draw(raw_dems())
    ny, nx = z.shape
    filled = k.priority_flood_epsilon(z)
    cell = draw(st.sampled_from([1.0, 10.0, 30.0, 92.6]))
    dx_rows = cell * np.cos(np.radians(draw(st.floats(0.0, 60.0)) + 0.01 * np.arange(ny)))  # per row, as on a lat/lon grid
    dy = cell
    fdir = k.d8_direction(filled, _grid(dx_rows, (ny, nx)), _grid(dy, (ny, nx)))
    return filled, fdir, dx_rows, dy


def _grid(v, shape):
    v = np.asarray(v, dtype=np.float64)
    return np.broadcast_to(v[:, None] if v.ndim == 1 else v, shape)


def _chunks(draw, n):
    """A random chunking of n: at most 6 chunks, 1-cell chunks included."""
    out = []
    for s in draw(st.lists(st.integers(1, n), min_size=1, max_size=5)):
        if sum(out) + s >= n:
            break
        out.append(s)
    return (*out, n - sum(out))


@st.composite
def chunked(draw):
    z, fdir, dx, dy = draw(filled_dems())
    return z, fdir, dx, dy, (_chunks(draw, z.shape[0]), _chunks(draw, z.shape[1]))


def kernel_accumulation(fdir, area):
    acc, complete = k.flow_accumulation(fdir, _grid(area, fdir.shape) if np.ndim(area) < 2 else area)
    assert complete
    return acc


def kernel_slope_length(z, fdir, dx, dy, cap=np.inf, gentle=0.7, steep=0.5, brk=2.8624, min_slope=0.1, stop=None):
    stop = np.zeros(fdir.shape, dtype=bool) if stop is None else stop
    lam, complete = k.slope_length(z, fdir, _grid(dx, z.shape), _grid(dy, z.shape), np.zeros((1, 1)), False, cap,
                                   gentle, steep, brk, min_slope, stop)
    assert complete
    return lam


def lazy(a, chunks):
    return da.from_array(a, chunks=chunks)


# --- equality with the single-grid kernels ----------------------------------------------------

@PROPERTY
@given(case=chunked(), area_kind=st.sampled_from(["one", "rows", "grid"]), seed=st.integers(0, 2**16))
def test_tiled_accumulation_equals_kernel(case, area_kind, seed):
    z, fdir, dx, dy, chunks = case
    area = {"one": 1.0, "rows": dx * dy,
            "grid": np.random.default_rng(seed).uniform(0.5, 2.0, z.shape) * 900.0}[area_kind]
    ref = kernel_accumulation(fdir, area)
    tiled_area = lazy(area, chunks) if area_kind == "grid" else area
    out = tiled_flow_accumulation(lazy(fdir, chunks), tiled_area)
    assert out.chunks == chunks and out.dtype == np.float64
    got = out.compute(**SYNC)
    np.testing.assert_array_equal(np.isnan(got), fdir == 255)
    np.testing.assert_allclose(got, ref, rtol=1e-12, atol=0.0)


@PROPERTY
@given(data=st.data(), z=raw_dems(low=1), flats=st.sampled_from([None, "barnes"]))
def test_tiled_fill_equals_kernel_bit_for_bit(data, z, flats):
    """Exact flats (Barnes 2016) and Barnes et al.'s (2014b) flat increments across tile edges."""
    if data.draw(st.booleans()):  # small integer steps: wide flats that cross many tiles
        z = np.round(z / 8.0)
    chunks = (_chunks(data.draw, z.shape[0]), _chunks(data.draw, z.shape[1]))
    out = tiled_fill(lazy(z, chunks), flats=flats)
    assert out.chunks == chunks and out.dtype == np.float64
    ref = kc.priority_flood_exact(z) if flats is None else kc.priority_flood_barnes(z)
    np.testing.assert_array_equal(out.compute(**SYNC), ref)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), z=raw_dems(), method=st.sampled_from(["flowpath", "rusle"]),
       channel=st.sampled_from([None, 2e4]))
def test_ls_factor_of_a_raw_dem_equals_in_memory_for_every_chunking(data, z, method, channel):
    """The whole chain on dask input (tiled fill, D8, tiled slope length with L·S in its last
    pass) against the in-memory ls_factor, bit for bit."""
    import xarray as xr

    from erosion.factors import terrain

    z = np.abs(z) + 100.0  # elevations in range
    chunks = (_chunks(data.draw, z.shape[0]), _chunks(data.draw, z.shape[1]))
    dem = xr.DataArray(z, dims=("y", "x"), attrs={"units": "m"})
    lazy = terrain.ls_factor(dem.chunk(dict(zip(dem.dims, chunks, strict=True))), cellsize=30.0, method=method,
                             channel_area=channel)
    assert lazy.chunks == chunks
    eager = terrain.ls_factor(dem, cellsize=30.0, method=method, channel_area=channel)
    np.testing.assert_array_equal(lazy.data.compute(**SYNC), eager.values)


@st.composite
def slope_length_rules(draw, shape):
    cap = draw(st.sampled_from([np.inf, 304.8, 60.0, None]))
    if cap is None:
        cap = draw(st.floats(5.0, 500.0))
    default = draw(st.booleans())
    gentle = 0.7 if default else draw(st.floats(0.0, 1.1))
    steep = 0.5 if default else draw(st.floats(0.0, 1.1))
    brk = 2.8624 if default else draw(st.floats(0.0, 15.0))
    min_slope = draw(st.sampled_from([0.1, 0.0, 1.0]))
    p = draw(st.sampled_from([0.0, 0.03, 0.3]))
    stop = np.random.default_rng(draw(st.integers(0, 2**16))).random(shape) < p if p else None
    return cap, gentle, steep, brk, min_slope, stop


@PROPERTY
@given(data=st.data(), case=chunked())
def test_tiled_slope_length_equals_kernel_bit_for_bit(data, case):
    z, fdir, dx, dy, chunks = case
    cap, gentle, steep, brk, min_slope, stop = data.draw(slope_length_rules(z.shape))
    ref = kernel_slope_length(z, fdir, dx, dy, cap, gentle, steep, brk, min_slope, stop)
    out = tiled_slope_length(lazy(z, chunks), lazy(fdir, chunks), dx, dy, cap, gentle, steep, brk, min_slope,
                             None if stop is None else lazy(stop, chunks))
    assert out.chunks == chunks and out.dtype == np.float64
    np.testing.assert_array_equal(out.compute(**SYNC), ref)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), case=chunked(), replay=st.sampled_from([0, 1, 3]))
def test_tiled_slope_length_without_replay_stays_within_ulps(data, case, replay):
    """Paths longer than replay_steps are carried as c + Σ s (ADR 0017): a few ulps at most."""
    z, fdir, dx, dy, chunks = case
    cap, gentle, steep, brk, min_slope, stop = data.draw(slope_length_rules(z.shape))
    ref = kernel_slope_length(z, fdir, dx, dy, cap, gentle, steep, brk, min_slope, stop)
    out = tiled_slope_length(lazy(z, chunks), lazy(fdir, chunks), dx, dy, cap, gentle, steep, brk, min_slope,
                             None if stop is None else lazy(stop, chunks), replay_steps=replay)
    np.testing.assert_allclose(out.compute(**SYNC), ref, rtol=1e-12, atol=0.0)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=chunked(), seed=st.integers(0, 2**16))
def test_tiled_slope_length_with_cell_size_grids_and_kept_inputs(case, seed):
    """dx, dy as dask grids (halo-padded blocks), and phase 3 reusing the phase-1 inputs."""
    z, fdir, _, _, chunks = case
    rng = np.random.default_rng(seed)
    dx, dy = rng.uniform(5.0, 40.0, z.shape), rng.uniform(5.0, 40.0, z.shape)
    fdir = k.d8_direction(z, dx, dy)
    ref = kernel_slope_length(z, fdir, dx, dy, 150.0)
    out = tiled_slope_length(lazy(z, chunks), lazy(fdir, chunks), lazy(dx, chunks), lazy(dy, chunks), 150.0,
                             recompute_inputs=False)
    np.testing.assert_array_equal(out.compute(**SYNC), ref)
    acc = tiled_flow_accumulation(lazy(fdir, chunks), lazy(dx * dy, chunks), recompute_inputs=False)
    np.testing.assert_allclose(acc.compute(**SYNC), kernel_accumulation(fdir, dx * dy), rtol=1e-12)


def test_every_cell_its_own_tile():
    rng = np.random.default_rng(3)
    z = k.priority_flood_epsilon(rng.normal(0.0, 3.0, (9, 8)))
    z[4, 3] = np.nan
    fdir = k.d8_direction(z, _grid(10.0, z.shape), _grid(10.0, z.shape))
    stop = rng.random(z.shape) < 0.1
    lam = tiled_slope_length(lazy(z, 1), lazy(fdir, 1), 10.0, 10.0, 40.0, stop=lazy(stop, 1))
    np.testing.assert_array_equal(lam.compute(**SYNC), kernel_slope_length(z, fdir, 10.0, 10.0, 40.0, stop=stop))
    acc = tiled_flow_accumulation(lazy(fdir, 1))
    np.testing.assert_allclose(acc.compute(**SYNC), kernel_accumulation(fdir, 1.0), rtol=1e-12)


# --- analytic cases ---------------------------------------------------------------------------

def test_plane_slope_length_and_area_across_tiles():
    i = np.mgrid[0:40, 0:6][0].astype(np.float64)
    z = 500.0 - 0.1 * 30.0 * i  # 10 % falling south, 30 m cells
    fdir = k.d8_direction(z, _grid(30.0, z.shape), _grid(30.0, z.shape))
    for chunks in [(7, 2), ((1, 19, 1, 19), (3, 3)), (40, 1)]:
        lam = tiled_slope_length(lazy(z, (9, 4)), lazy(fdir, chunks), _grid(30.0, z.shape), 30.0)  # z rechunked like fdir
        assert lam.chunks == lazy(fdir, chunks).chunks
        lam = lam.compute(**SYNC)
        np.testing.assert_array_equal(lam[:, 2], 15.0 + 30.0 * np.arange(40))
        capped = tiled_slope_length(lazy(z, chunks), lazy(fdir, chunks), 30.0, 30.0, 304.8).compute(**SYNC)
        np.testing.assert_array_equal(capped[:, 2], np.minimum(15.0 + 30.0 * np.arange(40), 304.8))
        acc = tiled_flow_accumulation(lazy(fdir, chunks), 900.0).compute(**SYNC)
        np.testing.assert_array_equal(acc[:, 2], 900.0 * (np.arange(40) + 1))


def _valley(floor, ny=120, nx=41, cell=30.0):
    """tests/test_terrain.py's V-shaped valley: 20 % sides falling to column 20, its floor falling south."""
    i, j = np.mgrid[0:ny, 0:nx].astype(np.float64)
    return 1000.0 - floor * cell * i + 0.2 * cell * np.abs(j - nx // 2)


@pytest.mark.parametrize("xchunks", [(20, 1, 20), (21, 20), (20, 21), (7, 7, 7, 7, 7, 6)])
def test_v_valley_with_tile_edges_along_and_across_the_floor(xchunks):
    z = k.priority_flood_epsilon(_valley(0.02))
    fdir = k.d8_direction(z, _grid(30.0, z.shape), _grid(30.0, z.shape))
    chunks = ((13, 50, 1, 56), xchunks)
    lam = tiled_slope_length(lazy(z, chunks), lazy(fdir, chunks), 30.0, 30.0).compute(**SYNC)
    np.testing.assert_array_equal(lam[50, :20], 15.0 + 30.0 * np.arange(20))  # ridge to floor
    assert lam[90, 20] == 2730.0  # as the single-grid kernel: 90 floor cells of 30 m
    np.testing.assert_array_equal(lam, kernel_slope_length(z, fdir, 30.0, 30.0))
    acc = tiled_flow_accumulation(lazy(fdir, chunks), 900.0)
    channel = acc >= 5e4  # 5 ha: stop cells from the tiled accumulation, lazily
    lam = tiled_slope_length(lazy(z, chunks), lazy(fdir, chunks), 30.0, 30.0, stop=channel).compute(**SYNC)
    stop = acc.compute(**SYNC) >= 5e4
    assert stop[:, 20].sum() > 100
    np.testing.assert_array_equal(lam[stop], 30.0)
    np.testing.assert_array_equal(lam, kernel_slope_length(z, fdir, 30.0, 30.0, stop=stop))


# --- laziness, graph shape and errors ---------------------------------------------------------

class Reads:
    """Dask arrays whose blocks are produced by tasks that count their calls."""

    def __init__(self):
        self.count = {}

    def array(self, name, a, chunks):
        def read(i, j, sl):
            self.count[(name, i, j)] = self.count.get((name, i, j), 0) + 1
            return a[sl].copy()

        template = da.from_array(a, chunks=chunks)
        rows = []
        for i, rs in enumerate(template.chunks[0]):
            r0 = sum(template.chunks[0][:i])
            row = []
            for j, cs in enumerate(template.chunks[1]):
                c0 = sum(template.chunks[1][:j])
                sl = (slice(r0, r0 + rs), slice(c0, c0 + cs))
                d = dask.delayed(read, pure=True)(i, j, sl, dask_key_name=(f"input-{name}", i, j))
                row.append(da.from_delayed(d, shape=(rs, cs), dtype=a.dtype, meta=np.empty((0, 0), a.dtype)))
            rows.append(row)
        return da.block(rows)


def _refuse(*args, **kwargs):
    raise AssertionError("something was computed")


def _inputs():
    rng = np.random.default_rng(7)
    z = k.priority_flood_epsilon(rng.normal(0.0, 4.0, (23, 31)))
    z[5:8, 10:12] = np.nan
    fdir = k.d8_direction(z, _grid(10.0, z.shape), _grid(10.0, z.shape))
    return z, fdir, ((6, 6, 6, 5), (8, 8, 8, 7))


@pytest.mark.parametrize("recompute", [True, False])
def test_calling_computes_nothing_and_each_phase_reads_the_inputs_again(recompute):
    z, fdir, chunks = _inputs()
    reads = Reads()
    Z, F = reads.array("z", z, chunks), reads.array("fdir", fdir, chunks)
    with dask.config.set(scheduler=_refuse):
        lam = tiled_slope_length(Z, F, 10.0, 10.0, recompute_inputs=recompute)
        acc = tiled_flow_accumulation(F, 100.0, recompute_inputs=recompute)
        filled = tiled_fill(Z, recompute_inputs=recompute)
    assert reads.count == {}
    np.testing.assert_array_equal(filled.compute(**SYNC), kc.priority_flood_exact(z))
    reads.count.clear()
    np.testing.assert_array_equal(lam.compute(**SYNC), kernel_slope_length(z, fdir, 10.0, 10.0))
    # every block is read once per phase (halo edges, phase 1, phase 3), or once for all three
    assert set(reads.count.values()) == {3 if recompute else 1}
    assert len(reads.count) == 2 * 16
    np.testing.assert_allclose(acc.compute(**SYNC), kernel_accumulation(fdir, 100.0), rtol=1e-12)


def _input_blocks(graph, key, stop, memo):
    """The input blocks ((kind, i, j)) that ``key`` depends on, not looking past the keys ``stop``."""
    if key in memo:
        return memo[key]
    name = key[0] if isinstance(key, tuple) else key
    if "input-" in name:
        out = {(name.split("input-")[1], key[1], key[2])}
    else:
        out = set()
        for dep in get_dependencies(graph, key):
            if dep not in stop:
                out |= _input_blocks(graph, dep, stop, memo)
    memo[key] = out
    return out


@pytest.mark.parametrize("which", ["fill", "flats", "accumulation", "slope-length"])
def test_every_task_reads_one_tile_and_its_halo_except_phase_2(which):
    z, fdir, chunks = _inputs()
    reads = Reads()
    Z, F = reads.array("z", z, chunks), reads.array("fdir", fdir, chunks)
    out = {"fill": lambda: tiled_fill(Z), "flats": lambda: tiled_fill(Z, flats="barnes"),
           "accumulation": lambda: tiled_flow_accumulation(F),
           "slope-length": lambda: tiled_slope_length(Z, F, 10.0, 10.0)}[which]()
    graph = dict(out.__dask_graph__())
    name = lambda key: key[0] if isinstance(key, tuple) else key  # noqa: E731
    phase2 = [key for key in graph if "-phase2-" in name(key)]
    stops = {key for key in graph if "-phase2-" in name(key) or "-phase4-" in name(key)}
    phase1 = {key for key in graph if "-phase1-" in name(key)}
    phase3 = {key for key in graph if "-phase3-" in name(key)}
    assert len(phase2) == 1 and len(phase1) == len(phase3) == 16
    assert set(get_dependencies(graph, phase2[0])) == phase1  # phase 2 sees only the perimeter summaries
    memo = {}
    for key in graph:
        if key in stops:
            continue
        blocks = _input_blocks(graph, key, stops, memo)
        rows = {b[1] for b in blocks}
        cols = {b[2] for b in blocks}
        assert not blocks or (max(rows) - min(rows) <= 2 and max(cols) - min(cols) <= 2), key
    for key in phase3:  # a tile, its neighbours' edges, and what phase 2 sends it
        i, j = key[1], key[2]
        blocks = _input_blocks(graph, key, stops, memo)
        assert {(b[1], b[2]) for b in blocks} == {(r, c) for r in range(i - 1, i + 2) for c in range(j - 1, j + 2)
                                                  if 0 <= r < 4 and 0 <= c < 4}
        deps = get_dependencies(graph, key)
        assert any(phase2[0] in get_dependencies(graph, d) for d in deps)
    # the summaries are perimeter-sized
    summary = get_sync(out.__dask_graph__(), sorted(phase1)[5])
    arrays = summary.values() if isinstance(summary, dict) else summary
    ring = 2 * (6 + 8 + 4)
    assert sum(np.size(a) for a in arrays) <= ring * (8 + 64 + 8)


def test_loops_raise_when_computed():
    fdir = np.zeros((4, 4), dtype=np.uint8)
    fdir[1, 1], fdir[1, 2], fdir[2, 2], fdir[2, 1] = 1, 4, 16, 64  # E, S, W, N: a loop across four 1-cell tiles
    z = np.full((4, 4), 1.0)
    for chunks in [1, 4, 2]:
        acc = tiled_flow_accumulation(lazy(fdir, chunks))
        with pytest.raises(InputError, match="loop"):
            acc.compute(**SYNC)
        lam = tiled_slope_length(lazy(z, chunks), lazy(fdir, chunks), 1.0, 1.0)
        with pytest.raises(InputError, match="loop"):
            lam.compute(**SYNC)


def test_bad_inputs_are_refused_when_called():
    fdir = da.zeros((5, 5), dtype=np.uint8, chunks=2)
    with pytest.raises(InputError, match="integer"):
        tiled_flow_accumulation(fdir.astype(np.float32))
    with pytest.raises(InputError, match="does not match"):
        tiled_flow_accumulation(fdir, da.ones((5, 4), chunks=2))
    with pytest.raises(InputError, match="rows"):
        tiled_slope_length(da.ones((5, 5), chunks=2), fdir, np.ones(4), 1.0)
    with pytest.raises(InputError, match="max_length"):
        tiled_slope_length(da.ones((5, 5), chunks=2), fdir, 1.0, 1.0, 0.0)
