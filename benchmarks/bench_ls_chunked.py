"""A chunked ``ls_factor`` on a large synthetic DEM generated lazily: time and peak memory.

The DEM (30 m cells, UTM) is a regional tilt with hills (a sum of separable waves) and white
noise, computed block by block from the block's position, so no grid-sized array ever
exists: a block is the same whenever it is recomputed. ``ls_factor`` (flow-path method, Barnes
flats, channel cutoff off) is built lazily and consumed block by block (a checksum per block),
as a national run writes its blocks. Prints the wall time, the throughput and the peak resident
memory of this process (``ru_maxrss``: imports included). With ``--check`` (sizes up to a few
thousand) the result is compared with the in-memory ``ls_factor`` of the same DEM.

glibc's allocator keeps freed tile-sized arrays in its heaps (its mmap threshold rises to
32 MiB after the first large free), so the resident memory of a long tiled run grows beyond
what is alive; a fixed threshold returns them to the system. The line printed says which
allocator setting ran (``MALLOC_MMAP_THRESHOLD_``; dask.distributed workers set
``MALLOC_TRIM_THRESHOLD_`` for the same reason).

    MALLOC_MMAP_THRESHOLD_=1048576 python benchmarks/bench_ls_chunked.py --size 30000 --chunk 500  # not in CI
    python benchmarks/bench_ls_chunked.py --size 3000 --chunk 1000 --check
"""

from __future__ import annotations

import argparse
import logging
import os
import resource
import time

import dask
import dask.array as da
import numpy as np
import xarray as xr

from erosion.factors import terrain

CELL = 30.0
WAVES = 64


TILT = 0.2
"""Regional fall toward the south, m per row (0.67 % on 30 m cells): rivers reach the grid edge."""


def _waves(seed: int):
    """Hills on the tilt: waves of 300-6000 cells, amplitudes ~ wavelength^0.9, steepest slope
    summed over all waves below the tilt, so that most of the DEM drains and filled
    depressions stay a few percent of it, as on real terrain."""
    rng = np.random.default_rng(seed)
    wavelength = rng.uniform(300.0, 6000.0, (2, WAVES))
    amp = np.hypot(*wavelength) ** 0.9
    amp *= 0.8 * TILT / (2.0 * np.pi * amp / wavelength.min(axis=0)).sum()
    phase = rng.uniform(0.0, 2.0 * np.pi, (2, WAVES))
    return 1.0 / wavelength, amp, phase


def lazy_dem(n: int, chunk: int, seed: int = 0) -> xr.DataArray:
    """An n × n DEM (m) as a dask-backed DataArray whose blocks are computed from their position."""
    f, amp, phase = _waves(seed)

    def block(block_info=None):
        (r0, r1), (c0, c1) = block_info[None]["array-location"]
        rows = np.arange(r0, r1, dtype=np.float64)[:, None]
        cols = np.arange(c0, c1, dtype=np.float64)[:, None]
        wave_r = np.sin(2.0 * np.pi * rows * f[0] + phase[0]) * amp
        wave_c = np.sin(2.0 * np.pi * cols * f[1] + phase[1])
        loc = block_info[None]["chunk-location"]
        noise = np.random.default_rng([seed, *loc]).normal(0.0, 0.3, (r1 - r0, c1 - c0))
        return wave_r @ wave_c.T + TILT * (n - rows) + noise + 100.0

    data = da.map_blocks(block, chunks=da.core.normalize_chunks(chunk, (n, n)), dtype=np.float64,
                         meta=np.empty((0, 0)))
    x = 500000.0 + CELL * (np.arange(n) + 0.5)
    y = 4000000.0 - CELL * (np.arange(n) + 0.5)
    dem = xr.DataArray(data, dims=("y", "x"), coords={"y": y, "x": x}, attrs={"units": "m"})
    return dem.rio.write_crs(32650)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=30000)
    parser.add_argument("--chunk", type=int, default=3000)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--check", action="store_true", help="compare with the in-memory ls_factor")
    parser.add_argument("--progress", action="store_true", help="log the steps (erosion logger) and tasks")
    args = parser.parse_args()
    if args.progress:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    warm = lazy_dem(64, 16)  # compile or load the numba kernels first
    terrain.ls_factor(warm).compute(scheduler="sync")
    dem = lazy_dem(args.size, args.chunk)
    t0 = time.perf_counter()
    ls = terrain.ls_factor(dem)
    built = time.perf_counter() - t0
    sums = ls.data.map_blocks(lambda b: np.array([[np.nansum(b, dtype=np.float64), np.isnan(b).sum()]]),
                              chunks=(1, 2), dtype=np.float64)
    t0 = time.perf_counter()
    with dask.config.set(scheduler="threads", num_workers=args.threads):
        if args.progress:
            from dask.diagnostics import ProgressBar

            with ProgressBar(dt=30.0):
                totals = sums.compute()
        else:
            totals = sums.compute()
    wall = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux: KiB
    cells = args.size**2
    print(f"ls_factor, {args.size}² = {cells / 1e6:.0f} M cells, {args.chunk}² chunks, {args.threads} threads: "
          f"graph built in {built:.2f} s, computed in {wall:.0f} s ({cells / wall / 1e6:.2f} Mcells/s), "
          f"peak resident memory {peak / 2**30:.2f} GiB ({peak / cells:.1f} B/cell), "
          f"mean LS {totals[:, 0].sum() / (cells - totals[:, 1].sum()):.3f}; "
          f"MALLOC_MMAP_THRESHOLD_={os.environ.get('MALLOC_MMAP_THRESHOLD_', 'unset (glibc default)')}")
    if args.check:
        eager = terrain.ls_factor(dem.compute())
        same = np.array_equal(ls.values, eager.values, equal_nan=True)
        print(f"equal to the in-memory ls_factor bit for bit: {same}")


if __name__ == "__main__":
    main()
