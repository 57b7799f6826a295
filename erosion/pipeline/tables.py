"""Tables of a run: per-tile sums by unit, combined into a table per level, and the targets.

A tile's sums are, for every finest-level unit it touches, the area of each class 0..6 (of the
more severe of water and wind classes, as :func:`erosion.aggregate`), the water- and wind-eroded
areas, the total soil loss (t a⁻¹, A × cell area) and the area where A is known. Levels above
the finest are sums of their children, so county, prefecture and province tables add up.
"""

from __future__ import annotations

from importlib import resources
from io import StringIO

import numpy as np
import pandas as pd

from .._kernels.aggregate import N_COLUMNS, class_areas
from ..aggregation import CLASS_COLUMNS, dense_codes
from ..errors import ConfigError
from .admin import Level

#: Sums kept per unit and tile: classes 0..6, water eroded, wind eroded, soil loss (t a-1), area with A.
N_SUMS = N_COLUMNS + 2


def tile_sums(labels: np.ndarray, water: np.ndarray, wind: np.ndarray | None, A: np.ndarray,
              row_area: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(unit indices present, sums (n, N_SUMS)) of one tile; areas in m², soil loss in t a⁻¹."""
    dense, present = dense_codes(labels)
    n = present.size
    area = np.ascontiguousarray(row_area, dtype=np.float64).reshape(-1, 1)
    w = np.ascontiguousarray(water, dtype=np.uint8)
    v = w if wind is None else np.ascontiguousarray(wind, dtype=np.uint8)
    out = np.zeros((n, N_SUMS))
    out[:, :N_COLUMNS] = class_areas(dense, w, v, wind is not None, area, n)
    cell = np.broadcast_to(area, labels.shape)
    known = (dense >= 0) & np.isfinite(A)
    a_hm2 = cell[known] / 1.0e4
    out[:, N_COLUMNS] = np.bincount(dense[known], weights=A[known].astype(np.float64) * a_hm2, minlength=n)
    out[:, N_COLUMNS + 1] = np.bincount(dense[known], weights=cell[known], minlength=n)
    return present, out


def level_tables(sums: np.ndarray, levels: list[Level], with_wind: bool) -> dict[str, pd.DataFrame]:
    """One table per level from the finest level's sums (n_finest, N_SUMS); every table also
    holds the id of each unit's ancestor on every coarser level."""
    out = {}
    current = sums
    for k, lv in enumerate(levels):
        if k > 0:
            summed = np.zeros((lv.ids.size, N_SUMS))
            np.add.at(summed, levels[k - 1].parent, current)
            current = summed
        frame = _frame(current, lv, with_wind)
        idx = np.arange(lv.ids.size)
        for up in range(k, len(levels) - 1):
            idx = levels[up].parent[idx]
            frame.insert(1 + up - k, f"{levels[up + 1].name}_id", levels[up + 1].ids[idx])
        out[lv.name] = frame
    return out


def _frame(s: np.ndarray, lv: Level, with_wind: bool) -> pd.DataFrame:
    km2 = s[:, :N_COLUMNS] / 1.0e6
    frame = pd.DataFrame({"name": lv.names}, index=pd.Index(lv.ids, name="unit"))
    for c, col in enumerate(CLASS_COLUMNS, start=1):
        frame[col] = km2[:, c]
    frame.insert(1, "land_km2", km2[:, 1:7].sum(axis=1))
    frame["eroded_km2"] = km2[:, 2:7].sum(axis=1)
    land = frame["land_km2"].to_numpy()
    with np.errstate(invalid="ignore", divide="ignore"):
        frame["conservation_rate_pct"] = np.where(land > 0, 100.0 * km2[:, 1] / land, np.nan)
        if with_wind:
            frame["water_eroded_km2"] = km2[:, 7]
            frame["wind_eroded_km2"] = km2[:, 8]
        frame["soil_loss_t_a"] = s[:, N_COLUMNS]
        frame["mean_soil_loss_t_hm2_a"] = np.where(s[:, N_COLUMNS + 1] > 0,
                                                   s[:, N_COLUMNS] / (s[:, N_COLUMNS + 1] / 1.0e4), np.nan)
        frame["polygon_km2"] = lv.polygon_km2
        frame["coverage_pct"] = np.where(lv.polygon_km2 > 0, 100.0 * land / lv.polygon_km2, np.nan)
    return frame


def targets_table(table: pd.DataFrame, source: str, match: str) -> pd.DataFrame:
    """The level's conservation rates against their targets: gap (points) and on track or not.

    ``source`` is ``"plan-2025"`` (the national plan's provincial 2025 targets, shipped as
    erosion/data/plan/targets_2025.csv) or a CSV path with ``name`` or ``id`` and ``target_pct``.
    """
    if source == "plan-2025":
        text = resources.files("erosion.data").joinpath("plan/targets_2025.csv").read_text("utf-8")
        raw = pd.read_csv(StringIO(text), comment="#")
        targets = pd.DataFrame({"name": raw["province_zh"], "name_en": raw["province_en"],
                                "target_pct": raw["conservation_rate_target_pct_2025"]})
    else:
        targets = pd.read_csv(source, comment="#")
        if "target_pct" not in targets.columns or match not in targets.columns:
            raise ConfigError(f"[targets] table {source!r} needs columns {match!r} and 'target_pct'; "
                              f"it has {list(targets.columns)}")
    key = table.index.to_series() if match == "id" else table["name"]
    merged = table[["name", "land_km2", "eroded_km2", "conservation_rate_pct"]].copy()
    lookup = targets.set_index(match)["target_pct"]
    merged["target_pct"] = key.map(lookup).to_numpy()
    if "name_en" in targets:
        merged.insert(1, "name_en", key.map(targets.set_index(match)["name_en"]).to_numpy())
    merged["gap_pct"] = merged["conservation_rate_pct"] - merged["target_pct"]
    merged["on_track"] = np.where(merged["target_pct"].isna(), pd.NA, merged["gap_pct"] >= 0)
    return merged
