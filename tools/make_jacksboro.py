"""Build erosion/datasets/jacksboro.tif from matplotlib's sample DEM (run once; needs matplotlib).

    python tools/make_jacksboro.py [--npz PATH] [--out erosion/datasets/jacksboro.tif]

The npz (matplotlib ``mpl-data/sample_data/jacksboro_fault_dem.npz``) stores int16 elevations
(344 x 403, 3 arc-second cells) with a wrong y extent (``ymin`` 36.73292 > ``ymax`` 36.44625).
Row 0 is the north edge at 36.44625 N (shared/reference/data-sources.md §1.1;
docs/decisions/0001-jacksboro-georeferencing.md), so the GeoTIFF gets
``from_origin(-84.41375, 36.44625, 1/1200, 1/1200)`` in EPSG:4326, values unchanged.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import xarray as xr
from rasterio.transform import from_origin

from erosion.io import write_raster

ROOT = Path(__file__).resolve().parents[1]
WEST, NORTH, CELL = -84.41375, 36.44625, 1.0 / 1200.0
NODATA = -32768

TAGS = {
    "units": "m",
    "long_name": "surface elevation",
    "source": "matplotlib sample data mpl-data/sample_data/jacksboro_fault_dem.npz "
    "(Jacksboro fault, Cumberland Mountains, Tennessee; reportedly USGS, not verified)",
    "license": "Matplotlib License (PSF-based); notice in erosion/datasets/LICENSE_matplotlib.txt",
    "note": "georeferencing corrected by erosion: row 0 is the north edge at 36.44625 N (the npz's "
    "ymin/ymax are wrong); west edge -84.41375, cell 1/1200 degree; elevation values unchanged",
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--npz", type=Path, default=None, help="the npz (default: matplotlib's copy)")
    parser.add_argument("--out", type=Path, default=ROOT / "erosion" / "datasets" / "jacksboro.tif")
    args = parser.parse_args()
    npz = args.npz
    if npz is None:
        from matplotlib import cbook

        npz = Path(cbook.get_sample_data("jacksboro_fault_dem.npz", asfileobj=False))
    with np.load(npz) as data:
        z = np.asarray(data["elevation"], dtype=np.int16)
        assert np.isclose(data["xmin"], WEST) and np.isclose(data["ymax"], NORTH)
        assert np.isclose(data["dx"], CELL) and np.isclose(data["dy"], CELL)
    ny, nx = z.shape
    x = WEST + CELL * (np.arange(nx) + 0.5)
    y = NORTH - CELL * (np.arange(ny) + 0.5)
    da = xr.DataArray(z, dims=("y", "x"), coords={"y": y, "x": x}, name="dem", attrs=dict(TAGS))
    da = da.rio.write_crs("EPSG:4326").rio.write_transform(from_origin(WEST, NORTH, CELL, CELL))
    write_raster(da, args.out, nodata=NODATA)
    print(f"wrote {args.out} ({args.out.stat().st_size} bytes, {ny} x {nx}, {z.min()}-{z.max()} m)")


if __name__ == "__main__":
    main()
