"""Administrative units of a run: levels of polygons, their parents, and the finest level's
polygons cut per tile for rasterising.

Only the finest level is rasterised (once, tile by tile, stored as the ``unit`` raster of the
run); coarser levels are sums of their children's rows, so every level counts every cell once
and the levels add up exactly (docs/decisions/0025-run-layer.md).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..aggregation import _polygon_m2
from ..errors import ConfigError
from .config import LevelSection, UnitsSection
from .sources import Grid, resolve


@dataclass
class Level:
    """One level: ids (int64, frame order), names, polygon areas (km²) and the index of each
    unit's parent in the next level (-1 on the coarsest)."""

    name: str
    ids: np.ndarray
    names: np.ndarray
    polygon_km2: np.ndarray
    parent: np.ndarray
    geometry: object  # GeoSeries, only kept for the finest level


def _ids(frame, lv: LevelSection, what: str) -> np.ndarray:
    if lv.id not in frame.columns:
        raise ConfigError(f"{what}: no id column {lv.id!r}; the columns are {[c for c in frame.columns if c != 'geometry']}")
    raw = frame[lv.id]
    if raw.dtype.kind in "iu":
        return raw.to_numpy(np.int64)
    text = raw.astype(str).str.strip()
    bad = ~text.str.fullmatch(r"\d{1,18}")
    if bad.any():
        rows = frame.index[bad.to_numpy()][:5].tolist()
        raise ConfigError(f"{what}: {int(bad.sum())} rows have ids in {lv.id!r} that are not integers (rows {rows}, "
                          f"values {text[bad].head(5).tolist()}); line features such as boundary lines can be dropped "
                          "with polygons_only = true")
    return text.astype(np.int64).to_numpy()


def _read(lv: LevelSection, base, crs) -> tuple[object, np.ndarray]:
    import geopandas as gpd
    import shapely

    what = f"[units] level {lv.name!r}"
    path = resolve(lv.path, base, what)
    frame = gpd.read_file(path)
    if frame.crs is None:
        raise ConfigError(f"{what}: {str(path)!r} declares no CRS; add one (e.g. ogr2ogr -a_srs EPSG:4490)")
    kinds = frame.geometry.geom_type
    polygonal = kinds.isin(["Polygon", "MultiPolygon"]).to_numpy()
    if not polygonal.all():
        if not lv.polygons_only:
            found = sorted(set(kinds[~polygonal].astype(str)))
            raise ConfigError(f"{what}: {int((~polygonal).sum())} features are not polygons ({found}); drop them with "
                              "polygons_only = true, or clean the file")
        frame = frame[polygonal].reset_index(drop=True)
    ids = _ids(frame, lv, what)
    dup = pd.Series(ids).duplicated(keep=False).to_numpy()
    if dup.any():
        shown = sorted(set(ids[dup].tolist()))[:10]
        raise ConfigError(f"{what}: {len(set(ids[dup].tolist()))} ids occur on more than one row (e.g. {shown}); "
                          "each unit must be one row (dissolve multi-part units first)")
    if lv.name_column is not None and lv.name_column not in frame.columns:
        raise ConfigError(f"{what}: no name column {lv.name_column!r}; the columns are {list(frame.columns)}")
    geoms = frame.geometry.to_numpy()
    invalid = ~shapely.is_valid(geoms)
    if invalid.any():
        geoms = geoms.copy()
        geoms[invalid] = shapely.make_valid(geoms[invalid])  # self-touching rings of real boundary files
        frame = frame.set_geometry(gpd.GeoSeries(geoms, crs=frame.crs))
    frame = frame.assign(_id=ids)
    if crs is not None and frame.crs != crs:
        frame = frame.to_crs(crs)
    return frame, ids


def _parents(child: pd.DataFrame, lv: LevelSection, parent_ids: np.ndarray, parent_name: str) -> np.ndarray:
    """Index of each child's parent; ConfigError listing the children without one."""
    position = pd.Series(np.arange(parent_ids.size), index=parent_ids)
    if lv.parent_column is not None:
        if lv.parent_column not in child.columns:
            raise ConfigError(f"[units] level {lv.name!r}: no parent column {lv.parent_column!r}")
        wanted = pd.to_numeric(child[lv.parent_column], errors="coerce")
        found = position.reindex(wanted.to_numpy()).to_numpy()
    else:
        rules = [lv.parent_prefix] if isinstance(lv.parent_prefix, int) else list(lv.parent_prefix)
        digits = child["_id"].astype(str)
        found = np.full(len(child), np.nan)
        for n in rules:
            candidate = pd.to_numeric(digits.str[:n] + digits.map(lambda s, n=n: "0" * max(len(s) - n, 0)))
            hit = position.reindex(candidate.to_numpy()).to_numpy()
            found = np.where(np.isnan(found), hit, found)
    orphan = np.isnan(found)
    if orphan.any():
        names = child.get("_name", child["_id"])
        shown = [f"{i} ({n})" for i, n in zip(child["_id"][orphan][:10], names[orphan][:10], strict=True)]
        rule = (f"parent_column = {lv.parent_column!r}" if lv.parent_column else f"parent_prefix = {lv.parent_prefix}")
        raise ConfigError(f"[units] {int(orphan.sum())} units of level {lv.name!r} have no parent in level "
                          f"{parent_name!r} by {rule}: {', '.join(shown)}. Fix the rule (a list of prefixes is tried "
                          "in order) or the files")
    return found.astype(np.int64)


def load_levels(cfg: UnitsSection, base, crs) -> list[Level]:
    """Read every level (finest first), check ids and parents, reproject the finest to ``crs``."""
    frames, levels = [], []
    for k, lv in enumerate(cfg.levels):
        frame, ids = _read(lv, base, crs if k == 0 else None)
        if lv.name_column is not None:
            frame["_name"] = frame[lv.name_column].astype(str)
        frames.append(frame)
        names = frame["_name"].to_numpy(str) if "_name" in frame else ids.astype(str)
        km2 = _polygon_m2(frame.geometry.to_numpy(), frame.crs) / 1.0e6
        levels.append(Level(lv.name, ids, names, km2, np.full(ids.size, -1, np.int64),
                            frame.geometry if k == 0 else None))
    for k in range(len(levels) - 1):
        levels[k].parent = _parents(frames[k], cfg.levels[k], levels[k + 1].ids, levels[k + 1].name)
    return levels


def tile_shapes(finest: Level, grid: Grid, tile: int) -> dict[tuple[int, int], list]:
    """For every tile, the (geometry, unit index) pairs whose bounds meet it, in frame order."""
    import shapely
    from rasterio.transform import array_bounds

    geoms = finest.geometry.to_numpy()
    tree = shapely.STRtree(geoms)
    ny, nx = grid.shape
    out = {}
    for i, r0 in enumerate(range(0, ny, tile)):
        for j, c0 in enumerate(range(0, nx, tile)):
            h, w = min(tile, ny - r0), min(tile, nx - c0)
            window = grid.transform * grid.transform.translation(c0, r0)
            west, south, east, north = array_bounds(h, w, window)
            box = shapely.box(min(west, east), min(south, north), max(west, east), max(south, north))
            hits = np.sort(tree.query(box))
            out[i, j] = [(geoms[k], int(k)) for k in hits]
    return out
