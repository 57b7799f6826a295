"""Tiled fill, D8 accumulation and slope length (ADRs 0017, 0018) against the single-block kernels.

A fractal DEM is saved raw, and filled (Barnes flats) and routed once and saved; the tiled
functions read these lazily, block by block from a memory map, and their results are consumed
block by block (a checksum per block), so nothing grid-sized is held by the caller. Each
measurement runs in a forked child: best-of-N time and the peak resident memory it adds (MiB).
Compare ratios, not absolute times.

    python benchmarks/bench_tiled.py [--size 3000] [--chunk 1000] [--repeats 2]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import dask.array as da
import numpy as np
from bench_terrain import fractal_dem, measure

from erosion._kernels import conditioning as kc
from erosion._kernels import terrain as k
from erosion.factors.terrain import tiled

CELL, CAP = 30.0, 304.8


def lazy(path: Path, chunk: int):
    """A dask array reading ``path`` (.npy) block by block."""
    header = np.load(path, mmap_mode="r")
    shape, dtype = header.shape, header.dtype

    def read(block_info=None):
        (r0, r1), (c0, c1) = block_info[None]["array-location"]
        return np.array(np.load(path, mmap_mode="r")[r0:r1, c0:c1])

    return da.map_blocks(read, chunks=da.core.normalize_chunks(chunk, shape), dtype=dtype,
                         meta=np.empty((0, 0), dtype))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=3000)
    parser.add_argument("--chunk", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        zpath, fpath, rpath = Path(folder) / "z.npy", Path(folder) / "f.npy", Path(folder) / "raw.npy"
        np.save(rpath, fractal_dem(args.size))
        z = kc.priority_flood_barnes(np.load(rpath))
        g = np.broadcast_to(CELL, z.shape)
        np.save(zpath, z)
        np.save(fpath, k.d8_direction(z, g, g))
        del z, g
        zs = kc.priority_flood_barnes(fractal_dem(64))  # compile or load the numba kernels before forking
        tiled.tiled_fill(da.from_array(fractal_dem(64), 16), flats="barnes").compute()
        gs = np.broadcast_to(CELL, zs.shape)
        fs = da.from_array(k.d8_direction(zs, gs, gs), 16)
        tiled.tiled_flow_accumulation(fs).compute()
        tiled.tiled_slope_length(da.from_array(zs, 16), fs, CELL, CELL, CAP).compute()

        def single(kind):
            def make():
                zz, ff = np.load(zpath), np.load(fpath)
                g2 = np.broadcast_to(CELL, zz.shape)
                if kind == "fill":
                    raw = np.load(rpath)
                    return lambda: kc.priority_flood_barnes(raw)
                if kind == "accumulation":
                    return lambda: k.flow_accumulation(ff, np.broadcast_to(1.0, ff.shape))
                return lambda: k.slope_length(zz, ff, g2, g2, np.zeros((1, 1)), False, CAP, 0.7, 0.5, 2.8624,
                                              0.1, np.zeros(zz.shape, bool))
            return make

        def chunked(kind):
            def make():
                def run():
                    ff = lazy(fpath, args.chunk)
                    if kind == "fill":
                        out = tiled.tiled_fill(lazy(rpath, args.chunk), flats="barnes")
                    elif kind == "accumulation":
                        out = tiled.tiled_flow_accumulation(ff, 1.0)
                    else:
                        out = tiled.tiled_slope_length(lazy(zpath, args.chunk), ff, CELL, CELL, CAP)
                    out.map_blocks(lambda b: np.array([[np.nansum(b)]]), chunks=(1, 1), dtype=float).compute(
                        scheduler="threads", num_workers=2)
                return run
            return make

        mib = 2.0**20
        print(f"fractal DEM {args.size}² (fill: Barnes flats), {args.chunk}² chunks read from disk, 2 threads, "
              f"best of {args.repeats}")
        for kind in ("fill", "accumulation", "slope length"):
            t1, p1, e1 = measure(single(kind), args.repeats)
            t2, p2, e2 = measure(chunked(kind), args.repeats)
            if e1 or e2:
                print(f"{kind}: failed: {e1 or e2}")
                continue
            print(f"{kind}: single block {t1:.2f} s, +{p1 / mib:.0f} MiB; tiled {t2:.2f} s, +{p2 / mib:.0f} MiB "
                  f"({t2 / t1:.2f}x the time, {p2 / p1:.2f}x the memory)")


if __name__ == "__main__":
    main()
