"""LS on a tilted plane: the closed form (AH703), erosion, and GRASS r.watershed when installed.

A 10 % plane of 40 × 30 cells of 30 m falling south has slope length λ = (i + ½)·30 m in row i
(no cap), so AH703's LS = (λ/22.13)^m · S with McCool's m (moderate rill ratio) and S. Prints
that, erosion's ``ls_factor(method="rusle", max_length=None)`` and GRASS's
``r.watershed length_slope`` (single flow direction, ``-s``) for a few rows and the edge column.
GRASS is a peer, not a reference: where it disagrees with the closed form, the numbers show it.

    python benchmarks/bench_ls_plane_peers.py        # GRASS needs `grass` on PATH (apt install grass-core)
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import rasterio
from affine import Affine

from erosion.factors import ls_factor, m_exponent, s_factor

NY, NX, CELL, GRADIENT = 40, 30, 30.0, 0.10
ROWS = (0, 2, 5, 10, 20, 39)

GRASS_SCRIPT = """r.in.gdal input=plane.tif output=dem --quiet
g.region raster=dem
r.watershed elevation=dem threshold=100000 length_slope=ls -s --quiet
r.out.gdal input=ls output=ls.tif format=GTiff type=Float64 --quiet --overwrite
"""


def grass_ls(z: np.ndarray) -> tuple[np.ndarray | None, str]:
    """GRASS r.watershed's LS of the plane, or None and the reason."""
    grass = shutil.which("grass")
    if grass is None:
        return None, "not installed (apt install grass-core)"
    with tempfile.TemporaryDirectory() as folder:
        with rasterio.open(Path(folder) / "plane.tif", "w", driver="GTiff", height=NY, width=NX, count=1,
                           dtype="float64", crs="EPSG:32650",
                           transform=Affine(CELL, 0, 500000, 0, -CELL, 4000000)) as dst:
            dst.write(z, 1)
        (Path(folder) / "run.sh").write_text(GRASS_SCRIPT)
        done = subprocess.run([grass, "--tmp-location", "EPSG:32650", "--exec", "bash", "run.sh"], cwd=folder,
                              capture_output=True, text=True, timeout=600)
        out = Path(folder) / "ls.tif"
        if not out.exists():
            return None, f"failed: {done.stderr.strip()[-300:]}"
        with rasterio.open(out) as src:
            return src.read(1), done.stdout.strip().splitlines()[0] if done.stdout.strip() else "ran"


def main() -> None:
    z = 500.0 - GRADIENT * CELL * np.arange(NY)[:, None] + np.zeros((1, NX))
    theta = float(np.degrees(np.arctan(GRADIENT)))
    m, s = float(m_exponent(theta)), float(s_factor(theta, method="mccool"))
    ours = ls_factor(z, cellsize=CELL, method="rusle", max_length=None)
    grass, note = grass_ls(z)
    print(f"10 % plane, {NY} x {NX} cells of {CELL:g} m; AH703: m = {m:.4f}, S = {s:.4f}; GRASS: {note}")
    print(f"{'row':>4} {'lambda m':>9} {'AH703':>7} {'erosion':>8} {'GRASS':>7}   edge column: erosion, GRASS")
    for i in ROWS:
        lam = (i + 0.5) * CELL
        g = "-" if grass is None else f"{grass[i, NX // 2]:.3f}"
        g_edge = "-" if grass is None else f"{grass[i, 0]:.3f}"
        print(f"{i:>4} {lam:>9.1f} {(lam / 22.13) ** m * s:>7.3f} {ours[i, NX // 2]:>8.3f} {g:>7}   "
              f"{ours[i, 0]:.3f}, {g_edge}")
    if grass is not None:
        expected = ((np.arange(NY) + 0.5) * CELL / 22.13) ** m * s
        ratio = grass[:, NX // 2] / expected
        print(f"GRASS / AH703 along the middle column: {ratio.min():.2f} to {ratio.max():.2f}")


if __name__ == "__main__":
    main()
