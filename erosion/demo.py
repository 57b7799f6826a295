"""The end-to-end demo: CSLE on the real Jacksboro DEM, classified, tabled and mapped.

Terrain is real (the embedded Jacksboro fault DEM, Tennessee, 3″). The other factors come from
the factor functions applied to **illustrative inputs**, stated here, in the outputs and in
the README; the demo shows the chain, not a soil-loss estimate for Tennessee:

- R = 4000 MJ·mm·hm⁻²·h⁻¹·a⁻¹, uniform (no daily rainfall record of the site ships with the package);
- K from :func:`erosion.factors.k_epic` for a silt loam (sand 20 %, silt 60 %, clay 20 %,
  organic carbon 1 %): 0.0494 t·hm²·h·hm⁻²·MJ⁻¹·mm⁻¹, uniform;
- cropland = cells with slope < 5° (so B is not applied there and T is);
- B off cropland from :func:`erosion.factors.soil_loss_ratio` for closed forest (vegetation
  cover 0.9, canopy closure 0.8) held through the year, so B = that ratio (0.0103);
- E from :func:`erosion.factors.e_factor`, code 0 (no engineering measure): 1;
- T on cropland from :func:`erosion.factors.t_factor`, code 1 (contour tillage, 0.431, a recalled
  value of Guo et al. 2013, see docs/methods/practices.md);
- tolerable soil loss 500 t·km⁻²·a⁻¹ (the SL 190-2007 value of China's humid southern hills);
- zones: a 3 × 3 grid of blocks over the DEM, ids 1-9.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import xarray as xr

ILLUSTRATIVE = {
    "R (MJ mm hm-2 h-1 a-1)": 4000.0,
    "K: texture sand/silt/clay (%), organic carbon (%)": (20.0, 60.0, 20.0, 1.0),
    "cropland": "slope < 5 degrees",
    "B off cropland: forest, vegetation cover, canopy closure": (0.9, 0.8),
    "E: engineering measure code": 0,
    "T on cropland: tillage measure code": 1,
    "tolerable loss (t km-2 a-1)": 500.0,
    "zones": "3 x 3 blocks, ids 1-9",
}


def _blocks(template: xr.DataArray, n: int = 3) -> xr.DataArray:
    ny, nx = template.shape
    rows = np.minimum(np.arange(ny) * n // ny, n - 1)
    cols = np.minimum(np.arange(nx) * n // nx, n - 1)
    ids = (rows[:, None] * n + cols[None, :] + 1).astype(np.int32)
    zones = xr.DataArray(ids, coords=template.coords, dims=template.dims, name="unit_id",
                         attrs={"units": "1", "long_name": "demo unit (block) identifier"})
    return zones.rio.write_nodata(-1)


def run_demo(output: str | Path = "demo-output") -> dict:
    """Run the demo chain and write its outputs to ``output``; return a summary dict."""
    from . import aggregate, classify, csle, datasets, write_raster
    from .factors import e_factor, k_epic, ls_factor, slope, soil_loss_ratio, t_factor

    t0 = time.perf_counter()
    out = Path(output)
    out.mkdir(parents=True, exist_ok=True)

    dem = datasets.load("jacksboro")
    theta = slope(dem)
    ls = ls_factor(dem)
    cropland = (theta < 5.0).where(theta.notnull()).assign_attrs(units="1", long_name="cropland (illustrative)")
    R = xr.full_like(dem, ILLUSTRATIVE["R (MJ mm hm-2 h-1 a-1)"]).assign_attrs(units="MJ mm hm-2 h-1 a-1")
    texture = xr.full_like(dem, 1.0).assign_attrs(units="percent")
    sand, silt, clay, carbon = (texture * v for v in ILLUSTRATIVE["K: texture sand/silt/clay (%), organic carbon (%)"])
    K = k_epic(sand, silt, clay, carbon)
    cover, closure = ILLUSTRATIVE["B off cropland: forest, vegetation cover, canopy closure"]
    B = soil_loss_ratio(cover, cover="forest", canopy_closure=closure)  # the same every half-month: B = SLR
    E = e_factor(ILLUSTRATIVE["E: engineering measure code"])
    T = t_factor(ILLUSTRATIVE["T on cropland: tillage measure code"])
    A = csle(R, K, ls, B=B, E=E, T=T, cropland=cropland)
    classes = classify(A, kind="water", tolerable=ILLUSTRATIVE["tolerable loss (t km-2 a-1)"])
    zones = _blocks(dem)
    table = aggregate(classes, zones)

    note = "Illustrative run: real DEM; R, K, B, E, T, cropland and tolerable loss are illustrative values"
    files = {}
    for name, da in {"slope": theta, "ls_factor": ls, "soil_loss": A, "intensity_class": classes}.items():
        da = da.assign_attrs(comment=note)
        files[name] = write_raster(da, out / f"{name}.tif")
    csv = out / "intensity_by_unit.csv"
    tmp = csv.with_name(f".{csv.name}.tmp")
    table.to_csv(tmp, float_format="%.4f")
    tmp.replace(csv)
    files["table"] = csv
    try:
        files["map"] = _plot(classes, out / "intensity_classes.png")
    except ImportError:
        pass

    land = float(table["land_km2"].sum())
    eroded = float(table["eroded_km2"].sum())
    return {
        "cells": int(dem.size),
        "land_km2": land,
        "eroded_km2": eroded,
        "conservation_rate_pct": 100.0 * (land - eroded) / land,
        "mean_soil_loss_t_hm2_a": float(A.mean()),
        "ls_range": (float(ls.min()), float(ls.max())),
        "table": table,
        "files": files,
        "seconds": time.perf_counter() - t0,
        "illustrative": ILLUSTRATIVE,
    }


def _plot(classes: xr.DataArray, path: Path) -> Path:
    from matplotlib.figure import Figure  # no pyplot: no GUI backend, nothing left open

    from .io import atomic_path
    from .plot import class_map

    fig = Figure(figsize=(8, 6.5), dpi=110)
    class_map(classes, ax=fig.subplots(), ranges=True,
              title="Soil erosion intensity (SL 190-2007), Jacksboro DEM\nillustrative R, K, B, E, T: see README")
    with atomic_path(path) as tmp:
        fig.savefig(tmp, bbox_inches="tight", format="png")
    return path
