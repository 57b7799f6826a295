"""The run report: a Markdown page a person can read, with maps and charts as PNG.

It says what was computed from what (each input, real or illustrative, with its source and
checksum), the headline figures, the coarsest level's table against its targets, and the run's
provenance. Figures need matplotlib (``pip install erosion[plot]``); without it the report is
written without them and says so.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from ..io import atomic_path


def _atomic_png(fig, path: Path) -> None:
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=110, bbox_inches="tight", format="png")


def _figures(folder: Path, plan, tables: dict, targets) -> list[tuple[str, str]]:
    import xarray as xr
    from matplotlib.figure import Figure  # no pyplot: no GUI backend, nothing left open

    from ..plot import class_area_bars, class_map, factor_map  # ImportError without matplotlib

    out = []

    def save(fig, name: str, title: str) -> None:
        _atomic_png(fig, folder / "report" / name)
        out.append((title, name))

    names = plan.config.outputs.variables
    ds = xr.open_zarr(folder / "erosion.zarr", decode_coords="all")  # erosion.plot strides before computing
    if "water_class" in names:
        fig = Figure(figsize=(8, 6))
        class_map(ds["water_class"], ax=fig.subplots(), ranges=True, title="Water-erosion intensity class (SL 190-2007)")
        save(fig, "classes.png", "Intensity classes")
    if "A" in names:
        fig = Figure(figsize=(8, 6))
        factor_map(ds["A"], ax=fig.subplots(), title="Soil loss A")
        save(fig, "soil_loss.png", "Soil loss")
    top_name, top = list(tables.items())[-1]
    fig = Figure(figsize=(8, 4.5))
    class_area_bars(top, ax=fig.subplots()).set_title(f"Eroded area by intensity class and {top_name}")
    save(fig, "classes_area.png", "Eroded area by class")
    if targets is not None and targets["target_pct"].notna().any():
        t = targets.dropna(subset=["target_pct"]).sort_values("gap_pct")
        fig = Figure(figsize=(8, max(3, 0.25 * len(t))))
        ax = fig.subplots()
        labels = t["name_en"] if "name_en" in t else t["name"].astype(str)
        ax.barh(labels, t["conservation_rate_pct"], color=np.where(t["on_track"].astype(bool), "#1a9850", "#d73027"))
        ax.scatter(t["target_pct"], labels, color="black", marker="|", s=120, label="target")
        ax.set_xlabel("soil and water conservation rate (%)")
        ax.legend(loc="lower right")
        save(fig, "targets.png", "Conservation rate against target")
    return out


def _markdown_table(frame: pd.DataFrame, digits: int = 2) -> str:
    frame = frame.reset_index()
    head = "| " + " | ".join(str(c) for c in frame.columns) + " |"
    rule = "|" + "---|" * len(frame.columns)
    rows = []
    for row in frame.itertuples(index=False):
        cells = [f"{v:.{digits}f}" if isinstance(v, (float, np.floating)) else str(v) for v in row]
        rows.append("| " + " | ".join(cells) + " |")
    return "\n".join([head, rule, *rows])


def write_report(folder: Path, plan, tables: dict, targets, provenance: dict) -> Path:
    """Write report/report.md (and PNGs) atomically; return its path."""
    (folder / "report").mkdir(exist_ok=True)
    cfg = plan.config
    try:
        figures = _figures(folder, plan, tables, targets)
        no_figures = ""
    except ImportError:
        figures, no_figures = [], "Figures need matplotlib (pip install erosion[plot]); none were drawn."
    top_name, top = list(tables.items())[-1]
    land, eroded = top["land_km2"].sum(), top["eroded_km2"].sum()
    rate = 100.0 * top["slight_km2"].sum() / land if land > 0 else float("nan")
    lines = [f"# Soil-erosion run: {cfg.run.name}", "",
             f"erosion {provenance['erosion_version']}, {provenance['engine']}; started {provenance['started']}, "
             f"finished {provenance.get('finished', '?')}.", "",
             f"Grid: {plan.grid.describe()}; {provenance['tiles'][0] * provenance['tiles'][1]} tiles of "
             f"{cfg.run.tile} cells.", "",
             "## Headline", "",
             f"- land area with a class: {land:,.1f} km²",
             f"- eroded (light or worse): {eroded:,.1f} km²",
             f"- soil and water conservation rate: {rate:.2f} %", "",
             "## Inputs: what is real and what is illustrative", "",
             "| input | data | units | real or illustrative | source | checksum |", "|---|---|---|---|---|---|"]
    for name, info in plan.inputs.items():
        data = info.get("path") or f"constant {info.get('value')}"
        kind = "**illustrative**" if info.get("illustrative") else "real data"
        check = provenance["checksums"].get(f"inputs.{name}", "")
        lines.append(f"| {name} | {data} | {info.get('units') or 'codes'} | {kind} | {info.get('source', '')} | "
                     f"{check[:19]} |")
    illustrative = [n for n, i in plan.inputs.items() if i.get("illustrative")]
    if illustrative:
        lines += ["", f"Inputs marked illustrative ({', '.join(illustrative)}) are not measurements: the soil loss, "
                      "classes and rates below show the method at work, not the state of the land."]
    lines += ["", f"## By {top_name}", "", _markdown_table(top.drop(columns=[c for c in top.columns if c.endswith('_id')]))]
    if targets is not None:
        lines += ["", "## Against the targets", "", _markdown_table(targets)]
    if figures or no_figures:
        lines += ["", "## Figures", ""]
        lines += [f"![{title}]({path})" for title, path in figures] or [no_figures]
    lines += ["", "## Tables", ""]
    lines += [f"- {name}: {', '.join(paths)}" for name, paths in provenance.get("tables", {}).items()]
    lines += ["", "## Provenance", "", "```json", json.dumps(provenance, indent=1, ensure_ascii=False), "```", ""]
    path = folder / "report" / "report.md"
    with atomic_path(path) as tmp:
        tmp.write_text("\n".join(lines), encoding="utf-8")
    return path
