"""Benchmark: r_factor_daily (Zhang, Xie & Liu 2002) on a lazily generated daily grid.

    .venv/bin/python benchmarks/bench_rainfall.py                       # (3650, 2000, 2000), issue 7
    .venv/bin/python benchmarks/bench_rainfall.py --size 400 --days 1460 --numpy-size 200   # small

The grid is generated lazily by dask, block by block (a fixed random block of daily rain,
rolled differently in each block, so no block is ever held beyond its task). It is computed
chunked with erosion.factors.rainfall.r_factor_daily (two streaming passes, numba kernels)
and, in the same run, by a plain xarray/NumPy implementation of the same formula (threshold
mask, sums over time, β and α per cell, ``α·D^β`` grouped by half-month with xarray's
groupby) on an in-memory subset of ``--numpy-size``² cells, since that implementation holds
several full-size temporaries. Throughput is compared per cell·day; the subset is also run
through r_factor_daily in memory (eager) and checked to agree with the plain version.
Peak memory: tracemalloc's peak of each stage (NumPy and numba allocations are traced) and
the process's maximum RSS.
"""

from __future__ import annotations

import argparse
import resource
import time
import tracemalloc

import dask
import dask.array as dsa
import numpy as np
import pandas as pd
import xarray as xr

from erosion.factors.rainfall import r_factor_daily


def base_block(days: int, cy: int, cx: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    rain = rng.gamma(0.3, 14.0, (days, cy, cx)).astype(np.float32)
    rain[rain < 0.3] = 0.0
    return rain


def lazy_grid(days: int, size: int, ct: int, cs: int) -> xr.DataArray:
    base = base_block(ct, cs, cs)

    def make(block_info=None):
        loc = block_info[None]["chunk-location"]
        shape = block_info[None]["chunk-shape"]
        b = np.roll(base, shift=7 * loc[0] + 3 * loc[1] + loc[2], axis=0)
        return np.ascontiguousarray(b[: shape[0], : shape[1], : shape[2]])

    data = dsa.map_blocks(make, dtype=np.float32, chunks=dsa.core.normalize_chunks((ct, cs, cs), (days, size, size)))
    time_ = pd.date_range("2001-01-01", periods=days, freq="D")
    return xr.DataArray(data, dims=("time", "y", "x"),
                        coords={"time": time_, "y": np.arange(size, dtype=float)[::-1], "x": np.arange(size, dtype=float)},
                        attrs={"units": "mm"})


def plain_r(rain: xr.DataArray, threshold: float = 12.0) -> xr.DataArray:
    """The same formula in plain xarray/NumPy (whole arrays in memory)."""
    t = rain.indexes["time"]
    years = xr.DataArray(np.where(t.is_leap_year, 1 / 366, 1 / 365), dims="time").sum()
    erosive = rain.where(rain >= threshold, 0.0)
    n = (rain >= threshold).sum("time")
    s = erosive.sum("time")
    beta = 0.8363 + 18.144 / (s / n) + 24.455 / (s / years)
    alpha = 21.586 * beta ** -7.1891
    contrib = xr.where(erosive > 0, alpha * erosive ** beta, 0.0)
    half = xr.DataArray((t.month - 1) * 2 + (t.day > 15) + 1, dims="time", coords={"time": rain["time"]},
                        name="halfmonth")
    return (contrib.groupby(half).sum("time") / years).sum("halfmonth")


def staged(fn):
    tracemalloc.start()
    tracemalloc.reset_peak()
    t0 = time.perf_counter()
    out = fn()
    dt = time.perf_counter() - t0
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return out, dt, peak


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--size", type=int, default=2000, help="cells per side of the grid (default 2000)")
    p.add_argument("--days", type=int, default=3650, help="days in the record (default 3650)")
    p.add_argument("--chunk-time", type=int, default=365, help="days per chunk (default 365)")
    p.add_argument("--chunk-space", type=int, default=250, help="cells per chunk side (default 250)")
    p.add_argument("--numpy-size", type=int, default=200, help="side of the in-memory subset for the plain version")
    p.add_argument("--threads", type=int, default=None, help="dask threads (default: all cores)")
    a = p.parse_args()

    grid = lazy_grid(a.days, a.size, a.chunk_time, a.chunk_space)
    chunk_bytes = a.chunk_time * a.chunk_space ** 2 * 4
    cd_full = a.days * a.size ** 2
    print(f"grid (time, y, x) = ({a.days}, {a.size}, {a.size}) float32, {cd_full * 4 / 2**30:.2f} GiB if held; "
          f"chunks ({a.chunk_time}, {a.chunk_space}, {a.chunk_space}) = {chunk_bytes / 2**20:.1f} MiB")

    # warm the numba kernels (compilation is cached on disk but loading costs a little)
    r_factor_daily(lazy_grid(366, 4, 366, 4).compute())

    with dask.config.set(scheduler="threads", num_workers=a.threads):
        R, dt, peak = staged(lambda: r_factor_daily(grid).compute())
    rate_chunked = cd_full / dt
    print(f"r_factor_daily chunked : {dt:8.2f} s  {rate_chunked / 1e6:9.1f} M cell·days/s  "
          f"peak traced {peak / 2**20:8.1f} MiB ({peak / chunk_bytes:.1f} chunks)  mean R {float(R.mean()):.1f}")

    sub = grid.isel(y=slice(0, a.numpy_size), x=slice(0, a.numpy_size)).compute()
    cd_sub = a.days * a.numpy_size ** 2
    plain, dt_p, peak_p = staged(lambda: plain_r(sub.astype(np.float64)))
    rate_plain = cd_sub / dt_p
    print(f"plain xarray/NumPy     : {dt_p:8.2f} s  {rate_plain / 1e6:9.1f} M cell·days/s  "
          f"peak traced {peak_p / 2**20:8.1f} MiB ({peak_p / sub.nbytes:.1f}x its input) on {a.numpy_size}² cells")
    ours, dt_e, peak_e = staged(lambda: r_factor_daily(sub))
    rate_eager = cd_sub / dt_e
    print(f"r_factor_daily eager   : {dt_e:8.2f} s  {rate_eager / 1e6:9.1f} M cell·days/s  "
          f"peak traced {peak_e / 2**20:8.1f} MiB ({peak_e / sub.nbytes:.2f}x its input) on {a.numpy_size}² cells")
    diff = float(np.nanmax(np.abs(ours.values - plain.values) / np.maximum(np.abs(plain.values), 1e-9)))
    print(f"agreement on the subset: max relative difference {diff:.2e}")
    print(f"ratio chunked/plain per cell·day: {rate_chunked / rate_plain:.1f}x ; eager/plain: "
          f"{rate_eager / rate_plain:.1f}x ; max RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20:.2f} GiB")


if __name__ == "__main__":
    main()
