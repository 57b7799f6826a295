"""Real sample data shipped with erosion (no download, no matplotlib needed at run time).

``jacksboro``: a 3 arc-second DEM (344 x 403 cells, about 74 m E-W x 92 m N-S, 236-1076 m) of
the Jacksboro fault, Cumberland Mountains, Tennessee, from matplotlib's sample data, with its
georeferencing corrected (docs/decisions/0001-jacksboro-georeferencing.md). Licence notice:
``erosion/datasets/LICENSE_matplotlib.txt``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources

import xarray as xr

from ..errors import UnknownCodeError

__all__ = ["load", "names"]


@dataclass(frozen=True)
class _Entry:
    file: str
    variable: str
    source: str
    license: str


_DATASETS = {
    "jacksboro": _Entry(
        file="jacksboro.tif",
        variable="dem",
        source="matplotlib sample data mpl-data/sample_data/jacksboro_fault_dem.npz (Jacksboro fault, "
        "Cumberland Mountains, Tennessee; reportedly USGS, not verified); georeferencing corrected: "
        "row 0 is the north edge at 36.44625 N, west edge -84.41375, cells of 1/1200 degree, EPSG:4326",
        license="Matplotlib License (PSF-based); notice shipped in erosion/datasets/LICENSE_matplotlib.txt",
    ),
}


def names() -> list[str]:
    """Names of the shipped datasets, sorted."""
    return sorted(_DATASETS)


def load(name: str, *, chunks: int | str | Mapping[str, int] | None = None) -> xr.DataArray:
    """Load a shipped dataset as a DataArray with CRS, units and ``source``/``license`` attributes.

    ``chunks`` as for :func:`erosion.io.open_raster` (None: NumPy-backed; "auto" or a dict: dask).
    """
    from ..io import open_raster

    try:
        entry = _DATASETS[name]
    except KeyError:
        raise UnknownCodeError(f"unknown dataset {name!r}; known datasets: {', '.join(names())}") from None
    # The package is installed as plain files (not zipped), so the resource is a real path and
    # the raster can stay lazily read.
    path = resources.files(__name__).joinpath(entry.file)
    da = open_raster(str(path), variable=entry.variable, chunks=chunks)
    da.attrs["source"] = entry.source
    da.attrs["license"] = entry.license
    da.attrs.pop("note", None)
    return da
