"""MFD and D∞ flow accumulation against installable peers: speed and agreement, in one run.

Speed, on one synthetic fractal DEM (``bench_terrain.fractal_dem``), each step in a forked child
(best of N, peak memory the step adds as VmHWM − VmRSS, as in bench_terrain.py):

- raw DEM → accumulation (cells): fill, then the routing, then accumulation. Ours:
  ``fill_depressions`` (Barnes flats), ``flow_direction(routing=...)``, ``flow_accumulation``;
  whitebox-workflows: ``fill_depressions`` then its accumulation tool on the filled DEM;
- filled DEM → accumulation: the same without the fill (each tool's own filled DEM, prepared
  outside the timing), which isolates the routing from the conditioning.

Routings, each with the peer's settings: MFD with Quinn weights and p = 1.1 against
``quinn_flow_accumulation(exponent=1.1)``, MFD with Freeman weights and p = 1.1 against
``fd8_flow_accum(exponent=1.1)``, D∞ against ``dinf_flow_accum``; all in cells (``out_type="cells"``;
ours with unit cell area), the cell itself included in both.

Agreement, on a second DEM (seed 1): both tools route the *same* DEM, filled by ours and
handed to whitebox-workflows as float64 GeoTIFF (read back bit for bit), so that only routing
differs. For each pair: median relative difference |theirs − ours| / ours, the share of cells
within 1 % and 10 %, the correlation of log accumulation and the median ratio theirs/ours, on all
cells and away from the edges: whitebox-workflows ignores neighbours off the grid while ours
extrapolates them and lets their share leave the grid (ADR 0012), so cells on the outer ring and
every cell that receives flow from it (by our routing) are left out. Then the figures that
explain the rest (see docs/methods/routing.md, "Peers").

topotoolbox (0.0.12: ``FlowObject(method="d8")`` only) and pyflwdir (D8 only) have no MFD or
D∞. GRASS ``r.watershed`` (when ``grass`` is on PATH) routes MFD after Holmgren (1994) with its
convergence factor 5 as the exponent: its accumulation of the same filled DEM is compared with
ours with Holmgren weights and p = 5, and its time (r.watershed alone, from the raw DEM, which it
routes through depressions by least-cost search) with our raw-DEM chain. Goal (issue 6, per core): raw DEM → MFD accumulation
≥ 1.5 × whitebox-workflows (Quinn). whitebox-workflows runs these tools on one thread (its CPU
time equals its wall time), so wall times compare per core.

    python benchmarks/bench_routing_peers.py [--size 2000] [--repeats 3] [--agreement-size 1000]
"""

from __future__ import annotations

import argparse
import math
import os
import shutil
import tempfile

import numpy as np
from bench_terrain import CELL, GrassStep, _tif, fractal_dem, measure

ROUTINGS = {  # label: (our flow_direction keywords, whitebox-workflows tool, its keywords)
    "MFD, Quinn weights, p = 1.1": (dict(routing="mfd", mfd_weights="quinn", exponent=1.1),
                                    "quinn_flow_accumulation", dict(exponent=1.1)),
    "MFD, Freeman weights, p = 1.1 (FD8)": (dict(routing="mfd", mfd_weights="freeman", exponent=1.1),
                                            "fd8_flow_accum", dict(exponent=1.1)),
    "D-infinity": (dict(routing="dinf"), "dinf_flow_accum", {}),
}
SKIPPED = {
    "topotoolbox": "no MFD or D-infinity (0.0.12: FlowObject(method='d8') only)",
    "pyflwdir": "D8 only",
}


def ours_acc(filled: np.ndarray, kw: dict) -> np.ndarray:
    """Accumulation in cells (unit cell area, the cell included) of a filled DEM."""
    from erosion.factors import flow_accumulation, flow_direction

    return flow_accumulation(flow_direction(filled, cellsize=CELL, **kw), cell_area=1.0, cellsize=CELL)


def steps(z: np.ndarray, folder: str) -> dict:
    """{(routing, step): (ours make, whitebox make or None)}; a make prepares inputs, returns the work."""
    from erosion.factors import fill_depressions

    try:
        import whitebox_workflows as wbw
    except ImportError:
        wbw = None

    def wb_setup():
        env = wbw.WbEnvironment()
        return env.hydrology, env.read_raster(_tif(z, folder))

    out = {}
    for label, (kw, tool, wkw) in ROUTINGS.items():
        def raw(kw=kw):
            return lambda: ours_acc(fill_depressions(z), kw)

        def filled(kw=kw):
            f = fill_depressions(z)
            return lambda: ours_acc(f, kw)

        def wb_raw(tool=tool, wkw=wkw):
            hydro, dem = wb_setup()
            return lambda: getattr(hydro, tool)(dem=hydro.fill_depressions(dem=dem), out_type="cells", **wkw)

        def wb_filled(tool=tool, wkw=wkw):
            hydro, dem = wb_setup()
            f = hydro.fill_depressions(dem=dem)
            return lambda: getattr(hydro, tool)(dem=f, out_type="cells", **wkw)

        out[(label, "raw DEM → accumulation")] = (raw, wb_raw if wbw else None)
        out[(label, "filled DEM → accumulation")] = (filled, wb_filled if wbw else None)
    return out


# --- agreement ------------------------------------------------------------------------------------

def compare(ours: np.ndarray, theirs: np.ndarray, mask: np.ndarray) -> str:
    o, t = ours[mask], theirs[mask]
    rel = np.abs(t - o) / o
    corr = np.corrcoef(np.log(o), np.log(t))[0, 1]
    return (f"median rel. diff {np.median(rel):.1e}, within 1 % {100 * np.mean(rel <= 0.01):5.1f} %, "
            f"within 10 % {100 * np.mean(rel <= 0.1):5.1f} %, corr(log) {corr:.5f}, "
            f"median ratio {np.median(t / o):.4f} ({mask.sum()} cells)")


def outer_ring(shape) -> np.ndarray:
    ring = np.zeros(shape, dtype=bool)
    ring[0, :] = ring[-1, :] = ring[:, 0] = ring[:, -1] = True
    return ring


def downstream(fdir, sources: np.ndarray) -> np.ndarray:
    """``sources`` and every cell that receives flow from them along ``fdir`` (ours or converted)."""
    from erosion.factors import flow_accumulation

    return (flow_accumulation(fdir, weights=sources.astype(float), cell_area=1.0, cellsize=CELL) > 0) | sources


def edge_affected(filled: np.ndarray, kw: dict) -> np.ndarray:
    """The outer ring and every cell that receives flow from it, by our routing (for MFD the same
    cells as by whitebox-workflows': both send flow to every lower neighbour in the grid)."""
    from erosion.factors import flow_direction

    return downstream(flow_direction(filled, cellsize=CELL, **kw), outer_ring(filled.shape))


def dinf_ties(z: np.ndarray) -> np.ndarray:
    """Cells where two of Tarboton's facets give the same largest slope for different angles
    (square cells, interior; the same arithmetic as the kernel)."""
    ny, nx = z.shape
    c = z[1:-1, 1:-1]
    nb = {k: z[1 + di:ny - 1 + di, 1 + dj:nx - 1 + dj]
          for k, (di, dj) in {"E": (0, 1), "NE": (-1, 1), "N": (-1, 0), "NW": (-1, -1), "W": (0, -1),
                              "SW": (1, -1), "S": (1, 0), "SE": (1, 1)}.items()}
    facets = [("E", "NE", 0, 1), ("N", "NE", 1, -1), ("N", "NW", 1, 1), ("W", "NW", 2, -1),
              ("W", "SW", 2, 1), ("S", "SW", 3, -1), ("S", "SE", 3, 1), ("E", "SE", 4, -1)]
    d, rmax = CELL, math.atan2(CELL, CELL)
    slopes, angles = [], []
    with np.errstate(invalid="ignore", divide="ignore"):
        for e1, e2, ac, af in facets:
            s1 = (c - nb[e1]) / d
            s2 = (nb[e1] - nb[e2]) / d
            r = np.where((s1 != 0) | (s2 != 0), np.arctan2(s2, s1), 0.0)
            s = np.where(r < 0, s1, np.where(r > rmax, (c - nb[e2]) / math.hypot(d, d), np.hypot(s1, s2)))
            r = np.clip(r, 0.0, rmax)
            slopes.append(s)
            angles.append((ac * 0.5 * math.pi + af * r) % (2 * math.pi))
    s, a = np.array(slopes), np.array(angles)
    best = s.max(axis=0)
    top = (s == best) & (best > 0)
    first = np.argmax(top, axis=0)
    a0 = np.take_along_axis(a, first[None], axis=0)[0]
    gap = np.abs((a - a0 + math.pi) % (2 * math.pi) - math.pi)
    out = np.zeros(z.shape, dtype=bool)
    out[1:-1, 1:-1] = np.any(top & (gap > 1e-9), axis=0)
    return out


def grass_mfd(z: np.ndarray, folder: str, filled: np.ndarray | None = None) -> list[str]:
    """GRASS r.watershed MFD (convergence 5) against ours with Holmgren weights, p = 5."""
    import shutil

    from erosion.factors import fill_depressions

    if shutil.which("grass") is None:
        return ["  GRASS r.watershed   skipped: not installed (apt install grass-core)"]
    kw = dict(routing="mfd", mfd_weights="holmgren", exponent=5.0)
    filled = fill_depressions(z) if filled is None else filled
    (_, _, err), theirs = GrassStep(filled, folder, "accumulation=acc convergence=5").run(1, keep="acc")
    if err:
        return [f"  GRASS r.watershed   {err}"]
    theirs = np.abs(theirs)  # negative where flow may enter from outside the grid
    from erosion.factors import flow_direction

    mine = ours_acc(filled, kw)
    inner = ~edge_affected(filled, kw)
    # r.watershed orders cells by its own least-cost search, not by the filled surface: on the
    # cells the fill raised (flat to within ulps) and downstream of them the routings part
    raised = downstream(flow_direction(filled, cellsize=CELL, **kw), (filled > z) | outer_ring(z.shape))
    return ["  MFD, Holmgren weights, p = 5 vs GRASS r.watershed (convergence=5):",
            f"    all cells:         {compare(mine, theirs, np.isfinite(theirs) & (theirs > 0))}",
            f"    away from edges:   {compare(mine, theirs, inner & (theirs > 0))}",
            f"    raised (filled) cells: {100 * (filled > z).mean():.1f} % of the grid; away from edges and "
            f"downstream of none: {compare(mine, theirs, ~raised & (theirs > 0))}"]


def grass_speed(z: np.ndarray, folder: str, repeats: int) -> str:
    """Raw DEM → MFD accumulation: ours (fill, Holmgren p = 5) against r.watershed alone."""
    from erosion.factors import fill_depressions

    if shutil.which("grass") is None:
        return "raw DEM -> MFD vs GRASS r.watershed: skipped, not installed (apt install grass-core)"
    kw = dict(routing="mfd", mfd_weights="holmgren", exponent=5.0)
    t, peak, err = measure(lambda: (lambda: ours_acc(fill_depressions(z), kw)), repeats)
    (gt, gpeak, gerr), _ = GrassStep(z, folder, "accumulation=acc convergence=5").run(repeats)
    if err or gerr:
        return f"raw DEM -> MFD vs GRASS r.watershed: failed: {err or gerr}"
    return (f"raw DEM -> MFD (Holmgren p = 5): erosion {t:.2f} s, peak +{peak / z.size:.0f} B/cell; GRASS r.watershed "
            f"{gt:.2f} s, peak {gpeak / z.size:.0f} B/cell (whole process); erosion is {gt / t:.2f}x its speed")


def agreement(z: np.ndarray, folder: str) -> list[str]:
    from erosion.factors import fill_depressions, flow_direction

    try:
        import whitebox_workflows as wbw
    except ImportError as exc:
        return [f"  whitebox-workflows not installed ({exc.name}): pip install whitebox-workflows"]
    filled = fill_depressions(z)
    env = wbw.WbEnvironment()
    hydro, dem = env.hydrology, env.read_raster(_tif(filled, folder))
    lines = [f"  the filled DEM reaches whitebox-workflows bit for bit: {np.array_equal(dem.to_numpy(), filled)}"]
    for label, (kw, tool, wkw) in ROUTINGS.items():
        mine = ours_acc(filled, kw)
        theirs = getattr(hydro, tool)(dem=dem, out_type="cells", **wkw).to_numpy()
        inner = ~edge_affected(filled, kw)
        lines += [f"  {label} vs {tool}:",
                  f"    all cells:         {compare(mine, theirs, np.isfinite(theirs))}",
                  f"    away from edges:   {compare(mine, theirs, inner)}"]
        if tool == "quinn_flow_accumulation":
            for p in (1.1, 1.0):
                other = ours_acc(filled, dict(routing="mfd", mfd_weights="freeman", exponent=p))
                lines.append(f"    ours Freeman p = {p:g}: {compare(other, theirs, inner & ~edge_affected(filled, {}))}")
            for e in (1.0, 2.0):
                again = getattr(hydro, tool)(dem=dem, out_type="cells", exponent=e).to_numpy()
                lines.append(f"    theirs with exponent={e:g} equal to exponent=1.1 on every cell: "
                             f"{np.array_equal(again, theirs, equal_nan=True)}")
        if tool == "dinf_flow_accum":
            ours_rad = flow_direction(filled, routing="dinf", cellsize=CELL)
            theirs_deg = hydro.dinf_pointer(dem=dem).to_numpy()  # degrees clockwise from north, -1: none
            theirs_rad = np.where(theirs_deg < 0, -1.0, np.radians((90.0 - theirs_deg) % 360.0)).astype(np.float32)
            ours_deg = np.degrees(ours_rad.astype(np.float64))
            gap = np.abs((theirs_deg - (90.0 - ours_deg) + 180.0) % 360.0 - 180.0)
            ring = outer_ring(filled.shape)
            differ = (gap > 1e-3) & ~ring
            on_fill = filled > z
            beside = np.zeros_like(on_fill)
            beside[1:-1, 1:-1] = np.any([on_fill[1 + di:filled.shape[0] - 1 + di, 1 + dj:filled.shape[1] - 1 + dj]
                                         for di in (-1, 0, 1) for dj in (-1, 0, 1)], axis=0)
            ties = dinf_ties(filled)
            edges = downstream(ours_rad, ring) | downstream(theirs_rad, ring)
            clean = ~(edges | downstream(ours_rad, differ) | downstream(theirs_rad, differ))
            lines += [f"    away from edges, by both routings: {compare(mine, theirs, ~edges)}",
                      f"    interior cells whose D-inf angles differ by > 0.001 deg: {differ.sum()} "
                      f"({100 * differ.sum() / (~ring).sum():.2f} %); on raised (filled) cells {(differ & on_fill).sum()}, "
                      f"beside them {(differ & ~on_fill & beside).sum()}, elsewhere {(differ & ~beside).sum()}; "
                      f"exact ties between facets in ours: {(differ & ties).sum()}",
                      f"    raised (filled) cells: {100 * on_fill.mean():.1f} % of the grid",
                      f"    away from edges and downstream of no differing angle (either routing): "
                      f"{compare(mine, theirs, clean)}"]
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--agreement-size", type=int, default=1000)
    args = parser.parse_args()
    z = fractal_dem(args.size)
    cells = z.size
    print(f"synthetic fractal DEM {args.size} x {args.size} ({cells / 1e6:.1f} Mcells), {CELL:g} m cells, "
          f"best of {args.repeats}; accumulation in cells")
    for name, why in SKIPPED.items():
        print(f"  {name:20s} skipped: {why}")
    small = fractal_dem(64)
    for kw, _, _ in ROUTINGS.values():  # compile or load the numba kernels before forking
        from erosion.factors import fill_depressions

        ours_acc(fill_depressions(small), kw)
    with tempfile.TemporaryDirectory() as folder:
        for (label, step), (mine, theirs) in steps(z, folder).items():
            t, peak, err = measure(mine, args.repeats)
            if err:
                print(f"{label}, {step}: erosion failed: {err}")
                continue
            print(f"{label}, {step}: erosion {t:.2f} s, {cells / t / 1e6:.2f} Mcells/s, peak +{peak / cells:.0f} B/cell")
            if theirs is None:
                print("  whitebox-workflows   skipped: not installed (pip install whitebox-workflows)")
                continue
            pt, ppeak, perr = measure(theirs, args.repeats)
            if perr:
                print(f"  whitebox-workflows   failed: {perr}")
            else:
                print(f"  whitebox-workflows   {pt:.2f} s, {cells / pt / 1e6:.2f} Mcells/s, peak +{ppeak / cells:.0f} "
                      f"B/cell; erosion is {pt / t:.2f}x its speed")
        print(grass_speed(z, folder, args.repeats))  # before the agreement, whose freed arrays a fork would reuse
        n = min(args.agreement_size, args.size)
        print(f"agreement on {n} x {n} cells (seed 1), the same filled DEM routed by both:")
        for line in agreement(fractal_dem(n, seed=1), os.path.join(folder)):
            print(line)
        for line in grass_mfd(fractal_dem(n, seed=1), folder):
            print(line)


if __name__ == "__main__":
    main()
