"""The terrain chain against installable peers, on one synthetic fractal DEM, in one run.

For each step it prints the best-of-N time, Mcells/s, the peak memory the step adds (bytes per
cell: VmHWM − VmRSS of a forked child that runs only that step) and the ratio to each peer;
peers that are not installed are skipped with the reason (pip install topotoolbox pyflwdir
whitebox-workflows; GRASS r.watershed from apt, run in a temporary GRASS session and timed
alone with GNU time, its peak being its whole resident memory). Compare the ratios, not the absolute times:
the machines are shared and noisy. Steps:

- fill: depression filling (ours: the default, priority-flood with a pit queue and slope
  tracing, then flats raised toward lower and away from higher terrain, Barnes et al. 2014b);
- D8 accumulation from the raw DEM: fill, D8 directions, accumulation in cells;
- ls_factor (flow-path method, D8): the whole LS chain;

then the agreement of D8 accumulation with each peer (share of cells with equal upslope
counts) on a smaller DEM. Goals (issue 6, per core): fill at least as fast as topotoolbox,
raw DEM → D8 accumulation ≥ 1.5 × whitebox-workflows, ls_factor ≥ 3 × GRASS r.watershed,
≤ 24 bytes per cell for ls_factor.
MFD and D∞ accumulation (speed and agreement): bench_routing_peers.py, which reuses
``fractal_dem``, ``measure`` and ``_tif`` from here.

    python benchmarks/bench_terrain.py [--size 6000] [--repeats 3] [--agreement-size 1500]
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np

CELL = 30.0


def fractal_dem(n: int, seed: int = 0) -> np.ndarray:
    """A 1/f^2.2 fractal surface, 0-1000 m: hills, valleys and many closed depressions."""
    rng = np.random.default_rng(seed)
    f = np.fft.fftfreq(n)
    k = np.hypot(*np.meshgrid(f, f))
    k[0, 0] = 1.0
    spectrum = (rng.normal(size=(n, n)) + 1j * rng.normal(size=(n, n))) / k**1.1
    z = np.real(np.fft.ifft2(spectrum))
    return (z - z.min()) / np.ptp(z) * 1000.0


def _status(key: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key):
            return int(line.split()[1]) * 1024
    return 0


def _child(conn, make, repeats: int) -> None:
    try:
        step = make()  # inputs are prepared here, outside the timing and the memory count
        Path("/proc/self/clear_refs").write_text("5")  # reset the peak RSS to the current RSS
        base = _status("VmRSS")
        times, peak = [], None
        for _ in range(repeats):  # the first run alone sets the peak: later ones reuse freed memory
            t0 = time.perf_counter()
            step()
            times.append(time.perf_counter() - t0)
            if peak is None:
                peak = _status("VmHWM") - base
        conn.send((min(times), peak, None))
    except Exception as exc:  # a peer failing is reported, not fatal
        conn.send((None, None, f"{type(exc).__name__}: {exc}"))


def measure(make, repeats: int):
    """(best seconds, peak extra bytes, error) of ``make()()`` in a forked child."""
    ctx = mp.get_context("fork")
    parent, child = ctx.Pipe()
    proc = ctx.Process(target=_child, args=(child, make, repeats))
    proc.start()
    result = parent.recv()
    proc.join()
    return result


# --- the work, ours and the peers' -------------------------------------------------------------

def ours(z: np.ndarray):
    from erosion.factors import fill_depressions, flow_accumulation, flow_direction, ls_factor

    return {
        "fill": lambda: (lambda: fill_depressions(z)),
        "d8 accumulation": lambda: (lambda: flow_accumulation(flow_direction(fill_depressions(z), cellsize=CELL))),
        "ls_factor": lambda: (lambda: ls_factor(z, cellsize=CELL)),
    }


def _tif(z: np.ndarray, folder: str) -> str:
    import rasterio
    from affine import Affine

    path = os.path.join(folder, "dem.tif")
    with rasterio.open(path, "w", driver="GTiff", height=z.shape[0], width=z.shape[1], count=1, dtype="float64",
                       crs="EPSG:32650", transform=Affine(CELL, 0, 500000, 0, -CELL, 4000000), nodata=-9999) as dst:
        dst.write(z, 1)
    return path


def peers(z: np.ndarray, folder: str) -> dict[str, dict]:
    """{peer: {step: make}} for the peers that import; {peer: reason} for the others."""
    out: dict[str, dict | str] = {}
    try:
        import topotoolbox as tt

        def tt_fill():
            grid = tt.read_tif(_tif(z, folder))
            return lambda: grid.fillsinks()

        def tt_acc():
            grid = tt.read_tif(_tif(z, folder))
            return lambda: tt.FlowObject(grid.fillsinks()).flow_accumulation()

        out["topotoolbox"] = {"fill": tt_fill, "d8 accumulation": tt_acc}
    except ImportError as exc:
        out["topotoolbox"] = f"not installed ({exc.name}): pip install topotoolbox"
    try:
        import pyflwdir
        from affine import Affine

        transform = Affine(CELL, 0, 500000, 0, -CELL, 4000000)
        out["pyflwdir"] = {
            "fill": lambda: (lambda: pyflwdir.dem.fill_depressions(z)),
            "d8 accumulation": lambda: (lambda: pyflwdir.from_dem(z, transform=transform).upstream_area(unit="cell")),
        }
    except ImportError as exc:
        out["pyflwdir"] = f"not installed ({exc.name}): pip install pyflwdir"
    try:
        import whitebox_workflows as wbw

        def wb():
            env = wbw.WbEnvironment()
            return env.hydrology, env.read_raster(_tif(z, folder))

        def wb_fill():
            hydro, dem = wb()
            return lambda: hydro.fill_depressions(dem=dem)

        def wb_acc():
            hydro, dem = wb()
            return lambda: hydro.d8_flow_accum(input=hydro.fill_depressions(dem=dem), out_type="cells")

        out["whitebox-workflows"] = {"fill": wb_fill, "d8 accumulation": wb_acc}
    except ImportError as exc:
        out["whitebox-workflows"] = f"not installed ({exc.name}): pip install whitebox-workflows"
    if shutil.which("grass") is None:
        out[GRASS] = "not installed (apt install grass-core)"
    else:
        out[GRASS] = {"d8 accumulation": GrassStep(z, folder, "accumulation=acc -s"),
                      "ls_factor": GrassStep(z, folder, f"length_slope=ls threshold={z.size} -s")}
    return out


GRASS = "GRASS r.watershed"


class GrassStep:
    """One r.watershed run from the raw DEM (it routes through depressions by least-cost search,
    so it needs no fill), timed inside a GRASS session with GNU time: the seconds and peak
    resident memory of r.watershed alone, without the session's start or the import."""

    def __init__(self, z: np.ndarray, folder: str, options: str):
        self.z, self.folder, self.options = z, folder, options

    def run(self, repeats: int, keep: str | None = None):
        """(best seconds, peak bytes, error), and the output ``keep`` read back if asked."""
        import rasterio

        dem = _tif(self.z, self.folder)
        lines = [f"r.in.gdal input={dem} output=dem --quiet --overwrite", "g.region raster=dem"]
        lines += [f"/usr/bin/time -f 'TIME %e %M' r.watershed elevation=dem {self.options} --quiet --overwrite"] * repeats
        if keep:
            lines.append(f"r.out.gdal input={keep} output={self.folder}/{keep}.tif format=GTiff type=Float64 "
                         "--quiet --overwrite")
        script = os.path.join(self.folder, "grass.sh")
        Path(script).write_text("set -e\n" + "\n".join(lines) + "\n")
        done = subprocess.run(["grass", "--tmp-location", "EPSG:32650", "--exec", "bash", script], cwd=self.folder,
                              capture_output=True, text=True, timeout=3600)
        runs = [line.split()[1:] for line in done.stderr.splitlines() if line.startswith("TIME ")]
        if done.returncode or not runs:
            return (None, None, f"failed: {done.stderr.strip()[-300:]}"), None
        result = None
        if keep:
            with rasterio.open(f"{self.folder}/{keep}.tif") as src:
                result = src.read(1)
        return (min(float(t) for t, _ in runs), max(int(m) for _, m in runs) * 1024, None), result


# --- agreement ------------------------------------------------------------------------------------

def agreement(z: np.ndarray, folder: str) -> list[str]:
    from erosion.factors import fill_depressions, flow_accumulation, flow_direction

    mine = flow_accumulation(flow_direction(fill_depressions(z), cellsize=CELL))
    lines = []
    for name, make in peers(z, folder).items():
        if isinstance(make, str):
            continue
        try:
            if name == GRASS:  # upslope cells, negative where flow may enter from outside the grid
                (_, _, err), result = make["d8 accumulation"].run(1, keep="acc")
                if err:
                    raise RuntimeError(err)
                result = np.abs(result)
            else:
                result = make["d8 accumulation"]()()
            if name == "whitebox-workflows":
                import whitebox_workflows as wbw

                path = os.path.join(folder, "acc.tif")
                wbw.WbEnvironment().write_raster(result, path)
                import rasterio

                result = rasterio.open(path).read(1)
            other = np.asarray(getattr(result, "z", result), dtype=np.float64)
            same = np.isclose(other, mine, rtol=0, atol=0.5)
            lines.append(f"  {name:20s} equal upslope counts on {100 * same.mean():5.1f} % of cells; "
                         f"cells with ≥ 100 upslope: {100 * same[mine >= 100].mean():5.1f} %")
        except Exception as exc:
            lines.append(f"  {name:20s} failed: {type(exc).__name__}: {exc}")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=6000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--agreement-size", type=int, default=1500)
    args = parser.parse_args()
    z = fractal_dem(args.size)
    cells = z.size
    print(f"synthetic fractal DEM {args.size} x {args.size} ({cells / 1e6:.1f} Mcells), {CELL:g} m cells, "
          f"best of {args.repeats}")
    for warm in ours(fractal_dem(64)).values():  # compile or load the numba kernels before forking
        warm()()
    with tempfile.TemporaryDirectory() as folder:
        theirs = peers(z, folder)
        for step, make in ours(z).items():
            t, peak, err = measure(make, args.repeats)
            if err:
                print(f"{step}: erosion failed: {err}")
                continue
            print(f"{step}: erosion {t:.2f} s, {cells / t / 1e6:.2f} Mcells/s, peak +{peak / cells:.0f} B/cell")
            for name, work in theirs.items():
                if isinstance(work, str):
                    print(f"  {name:20s} skipped: {work}")
                elif step not in work:
                    print(f"  {name:20s} has no equivalent of this step")
                else:
                    if isinstance(work[step], GrassStep):  # peak: r.watershed's whole resident memory
                        (pt, ppeak, perr), _ = work[step].run(args.repeats)
                    else:
                        pt, ppeak, perr = measure(work[step], args.repeats)
                    if perr:
                        print(f"  {name:20s} failed: {perr}")
                    else:
                        print(f"  {name:20s} {pt:.2f} s, peak +{ppeak / cells:.0f} B/cell; "
                              f"erosion is {pt / t:.2f}x its speed")
        n = min(args.agreement_size, args.size)
        print(f"D8 accumulation agreement on {n} x {n} cells (flats and ties are routed differently by each tool):")
        for line in agreement(fractal_dem(n, seed=1), folder):
            print(line)


if __name__ == "__main__":
    main()
