"""A national-size run end to end: `erosion run` on a synthetic 10^9-cell grid, time and peak memory.

The inputs are written once to a data folder (reused by later calls): a 30 m DEM as a Zarr
store (the lazily generated hills of bench_ls_chunked.py, float32), a land-use code raster
(MODIS IGBP classes in patches, Zarr, uint8), and about ``--units`` county boxes grouped into
prefectures and provinces (GeoPackage). The config computes LS from the DEM (tiled), B from
the land use (``c_from_landuse``), A with constant R and K, the SL 190 classes, the tables of
every level and the targets, and writes LS, A, the classes and the unit raster to Zarr. The run
goes in a child process; its whole process tree (workers included) is sampled for resident
memory every 0.2 s.

    python benchmarks/bench_national.py                       # 32 000 x 32 000, threads (not in CI; ~1 h here)
    python benchmarks/bench_national.py --size 8000 --cluster  # local cluster, 1 and 2 workers: the speed-up
    python benchmarks/bench_national.py --size 2000 --units 300 --tile 500  # a quick check

Prints, per engine: wall time of the run (validation included), cells/s, peak resident memory
(GiB and bytes per cell), and for --cluster the speed-up of 2 workers over 1.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from bench_ls_chunked import CELL, lazy_dem

X0, Y0 = 500000.0, 4000000.0


def landuse(n: int, chunk: int):
    """IGBP codes in 300-cell patches (forest, grassland, cropland, shrubland, barren), from position."""
    import dask.array as da

    codes = np.array([1, 4, 5, 7, 8, 9, 10, 12, 14, 16], dtype=np.uint8)

    def block(block_info=None):
        (r0, r1), (c0, c1) = block_info[None]["array-location"]
        rows = np.arange(r0, r1)[:, None] // 300
        cols = np.arange(c0, c1)[None, :] // 300
        return codes[(rows * 7919 + cols * 104729) % codes.size]

    return da.map_blocks(block, chunks=da.core.normalize_chunks(chunk, (n, n)), dtype=np.uint8,
                         meta=np.empty((0, 0), np.uint8))


def write_inputs(folder: Path, n: int, tile: int, units: int) -> None:
    import geopandas as gpd
    import shapely
    import xarray as xr

    folder.mkdir(parents=True, exist_ok=True)
    if not (folder / "dem.zarr").exists():
        t0 = time.perf_counter()
        dem = lazy_dem(n, tile).astype(np.float32)
        dem.attrs = {"units": "m"}
        dem.to_dataset(name="dem").drop_vars("spatial_ref").to_zarr(folder / "dem.zarr.tmp", mode="w")
        Path(folder / "dem.zarr.tmp").rename(folder / "dem.zarr")
        lu = xr.DataArray(landuse(n, tile), dims=("y", "x"), coords={"y": dem.y, "x": dem.x})
        lu.to_dataset(name="landuse").to_zarr(folder / "landuse.zarr.tmp", mode="w")
        Path(folder / "landuse.zarr.tmp").rename(folder / "landuse.zarr")
        print(f"inputs written in {time.perf_counter() - t0:.0f} s to {folder}", flush=True)
    k = max(1, round(units ** 0.5))
    side = n * CELL / k
    boxes, ids, pref, prov = [], [], {}, {}
    for i in range(k):
        for j in range(k):
            x0, y1 = X0 + j * side, Y0 - i * side
            boxes.append(shapely.box(x0, y1 - side, x0 + side, y1))
            p, q = i // 5, j // 5  # prefectures: 5 x 5 counties; provinces: 4 x 4 prefectures
            ids.append(156_000_000 + (p // 4 * 8 + q // 4) * 10000 + (p % 4 * 4 + q % 4 + 1) * 100 + (i % 5) * 5 + j % 5)
            pref.setdefault(ids[-1] // 100 * 100, []).append(boxes[-1])
            prov.setdefault(ids[-1] // 10000 * 10000, []).append(boxes[-1])
    crs = "EPSG:32650"
    gpd.GeoDataFrame({"code": ids}, geometry=boxes, crs=crs).to_file(folder / "county.gpkg")
    gpd.GeoDataFrame({"code": list(pref)}, geometry=[shapely.union_all(b) for b in pref.values()],
                     crs=crs).to_file(folder / "prefecture.gpkg")
    gpd.GeoDataFrame({"code": list(prov)}, geometry=[shapely.union_all(b) for b in prov.values()],
                     crs=crs).to_file(folder / "province.gpkg")


CONFIG = """
[run]
name = "bench-national-{n}"
output = "{output}"
tile = {tile}
[grid]
like = "dem"
[inputs.dem]
path = "dem.zarr"
variable = "dem"
units = "m"
crs = "EPSG:32650"
[inputs.landuse]
path = "landuse.zarr"
variable = "landuse"
categorical = true
crs = "EPSG:32650"
[steps.LS]
function = "ls_factor"
inputs = {{ dem = "dem" }}
[steps.B]
function = "c_from_landuse"
inputs = {{ codes = "landuse" }}
options = {{ table = "modis_igbp_c" }}
[model]
R = 3000.0
K = 0.004
LS = "LS"
B = "B"
tolerable = 200
[units]
[[units.levels]]
name = "county"
path = "county.gpkg"
id = "code"
parent_prefix = 7
[[units.levels]]
name = "prefecture"
path = "prefecture.gpkg"
id = "code"
parent_prefix = 5
[[units.levels]]
name = "province"
path = "province.gpkg"
id = "code"
[engine]
{engine}
[outputs]
variables = ["LS", "A", "water_class", "unit"]
report = false
"""


def run_once(folder: Path, n: int, tile: int, engine: str, label: str) -> tuple[float, float]:
    """Run the config in a child process; (seconds, peak resident bytes of its process tree)."""
    import psutil

    output = f"out-{label}"
    config = folder / f"{label}.toml"
    config.write_text(CONFIG.format(n=n, output=output, tile=tile, engine=engine), encoding="utf-8")
    code = "import sys, erosion; erosion.run(sys.argv[1], restart=True)"
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", code, str(config)])
    root, peak = psutil.Process(proc.pid), 0
    while proc.poll() is None:
        try:
            tree = [root, *root.children(recursive=True)]
            peak = max(peak, sum(p.memory_info().rss for p in tree if p.is_running()))
        except psutil.Error:
            pass
        time.sleep(0.2)
    seconds = time.perf_counter() - t0
    if proc.returncode:
        raise SystemExit(f"the run failed ({label}), exit code {proc.returncode}")
    cells = n * n
    print(f"{label:<22} {seconds:8.1f} s  {cells / seconds / 1e6:6.2f} Mcells/s  peak {peak / 2**30:5.2f} GiB "
          f"({peak / cells:5.1f} B/cell)", flush=True)
    return seconds, peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=32000, help="grid side in cells (default 32000: 1.02e9 cells)")
    parser.add_argument("--tile", type=int, default=1000)
    parser.add_argument("--units", type=int, default=3000, help="about this many counties")
    parser.add_argument("--data", type=Path, default=None, help="data folder (default: a temporary folder)")
    parser.add_argument("--cluster", action="store_true", help="also run on a local cluster with 1 and 2 workers")
    args = parser.parse_args()
    folder = args.data or Path(tempfile.gettempdir()) / f"erosion-bench-national-{args.size}"
    write_inputs(folder, args.size, args.tile, args.units)
    print(f"grid {args.size} x {args.size} = {args.size**2:.3g} cells, tiles of {args.tile}, about {args.units} "
          f"counties; data in {folder}", flush=True)
    run_once(folder, args.size, args.tile, 'kind = "threads"', "threads")
    if args.cluster:
        one, _ = run_once(folder, args.size, args.tile,
                          'kind = "local"\nworkers = 1\nthreads_per_worker = 1', "local, 1 worker")
        two, _ = run_once(folder, args.size, args.tile,
                          'kind = "local"\nworkers = 2\nthreads_per_worker = 1', "local, 2 workers")
        print(f"speed-up of 2 workers over 1: {one / two:.2f}x", flush=True)


if __name__ == "__main__":
    main()
