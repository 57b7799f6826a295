"""Run a config: tiles computed and recorded one by one, resumable, outputs written atomically.

The run folder holds::

    run.json        fingerprint, status ("running" or "complete") and provenance
    erosion.zarr/   the rasters of [outputs] variables, one Zarr chunk per tile, CRS and units kept
    tiles/          one file per finished tile: its sums by unit (the marker that it is done)
    tables/         <level>.csv and .parquet, targets.csv and .parquet
    cog/            Cloud-Optimized GeoTIFFs of [outputs] cog
    report/         report.md and its PNG figures

A tile task computes its blocks of every output raster, writes them into the store, sums them by
unit and only then writes its marker (atomically: a temporary file renamed into place). A run
killed at any moment and started again with the same config skips the marked tiles and rewrites
the others, so its outputs equal an uninterrupted run's. The fingerprint (config less the
engine, and input checksums) must match to resume; a changed config or input is refused unless
``restart=True``. Tables, COGs and the report are written from the finished tiles and the store,
each atomically, and ``status`` becomes "complete" last.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import platform
import shutil
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from ..aggregation import _rasterize
from ..errors import ConfigError, InputError
from ..grid import row_areas
from ..io import atomic_path
from . import sources
from .admin import Level, tile_shapes
from .config import Config
from .engine import engine
from .plan import Plan, prepare, soil_loss
from .tables import N_SUMS, level_tables, targets_table, tile_sums

STORE = "erosion.zarr"
_OWNED = ("run.json", STORE, "tiles", "tables", "cog", "report")


@dataclass
class RunResult:
    """What a run produced."""

    folder: Path
    store: Path
    tables: dict[str, pd.DataFrame]
    targets: pd.DataFrame | None
    report: Path | None
    provenance: dict
    tiles_computed: int
    tiles_skipped: int


def _now() -> str:
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")


def _atomic_bytes(path: Path, data: bytes) -> None:
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


def _atomic_frame(frame: pd.DataFrame, path: Path, kind: str) -> None:
    with atomic_path(path) as tmp:
        if kind == "csv":
            frame.to_csv(tmp, encoding="utf-8")
        else:
            frame.to_parquet(tmp)


# ----------------------------------------------------------------------------- the run folder

def _folder(plan: Plan, restart: bool) -> tuple[Path, dict | None]:
    """The run folder, checked against the fingerprint; the previous run.json if resuming."""
    cfg = plan.config
    folder = Path(cfg.base) / cfg.run.output
    record = folder / "run.json"
    if folder.exists() and restart:
        for name in _OWNED:
            p = folder / name
            if p.is_dir():
                shutil.rmtree(p)
            elif p.exists():
                p.unlink()
    if record.exists():
        old = json.loads(record.read_text("utf-8"))
        if old.get("fingerprint") != plan.fingerprint():
            changed = _changes(old, plan)
            raise ConfigError(f"{folder} holds a run with another config or other inputs ({changed}); its tiles "
                              "cannot be mixed with this one. Use another [run] output folder, or start over with "
                              "restart (erosion run --restart), which deletes that run's outputs")
        return folder, old
    if folder.exists() and any(folder.iterdir()):
        raise ConfigError(f"output folder {str(folder)!r} exists, is not empty and holds no run (no run.json); "
                          "choose an empty or new folder")
    folder.mkdir(parents=True, exist_ok=True)
    return folder, None


def _changes(old: dict, plan: Plan) -> str:
    was = old.get("provenance", {})
    differ = [k for k, v in plan.checksums.items() if was.get("checksums", {}).get(k) != v]
    cfg_now = plan.config.model_dump(mode="json", exclude={"engine"})
    cfg_was = {k: v for k, v in was.get("config", {}).items() if k != "engine"}
    differ += [f"[{k}]" for k in sorted(set(cfg_now) | set(cfg_was)) if cfg_now.get(k) != cfg_was.get(k)]
    return "changed: " + ", ".join(differ) if differ else "fingerprints differ"


def _store_names(plan: Plan) -> list[str]:
    """The store's variables: the [outputs] variables, then every step not among them (stage 1
    stores every step; stage 2 reads them back)."""
    names = list(plan.config.outputs.variables)
    return names + [s for s in plan.config.steps if s not in names]


def _empty(plan: Plan, name: str) -> xr.DataArray:
    """A lazy placeholder of an output raster: its dtype and attributes, no data."""
    import dask.array as da

    if name == "unit":
        big = max(abs(int(plan.levels[0].ids.max())), 1) >= 2**31
        dtype = np.int64 if big else np.int32
        attrs = {"long_name": "administrative unit id (finest level; -1 outside every unit)", "units": "1",
                 "nodata": -1}
    else:
        src = plan.rasters[name]
        dtype, attrs = src.dtype, {k: v for k, v in src.attrs.items() if k != "_FillValue"}
    return xr.DataArray(da.empty(plan.grid.shape, dtype=dtype, chunks=plan.config.run.tile), dims=("y", "x"),
                        coords={"y": plan.template.y, "x": plan.template.x}, attrs=attrs)


def _init_store(plan: Plan, path: Path) -> None:
    """Create the store's metadata and coordinates (no data), atomically.

    Floats have NaN as ``_FillValue``; integer rasters (classes, codes, units) declare none, so
    they read back as integers (classes say 0 = no data in ``flag_meanings``, units -1 in
    ``nodata``). Every variable names ``spatial_ref`` as coordinate and grid mapping, so
    ``xr.open_zarr(...).A.rio.crs`` gives the CRS back.
    """
    if path.exists():
        return
    t = plan.config.run.tile
    ds = xr.Dataset({n: _empty(plan, n) for n in _store_names(plan)})
    ds = ds.rio.write_crs(plan.grid.crs).rio.write_transform(plan.grid.transform)
    for n in ds.data_vars:  # set on the variables: to_zarr(encoding=) refuses "coordinates"
        ds[n].encoding = {"chunks": (t, t), "_FillValue": np.nan if ds[n].dtype.kind == "f" else None,
                          "coordinates": "spatial_ref", "grid_mapping": "spatial_ref"}
    tmp = path.with_name(f".{path.name}.tmp-{uuid.uuid4().hex}")
    try:
        ds.to_zarr(tmp, mode="w", compute=False, consolidated=True, zarr_format=2)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)


# ----------------------------------------------------------------------------- tiles

def _tile_name(i: int, j: int) -> str:
    return f"r{i:05d}_c{j:05d}.npz"


def _tile_task(store: str, marker: str, window: tuple, transform: tuple, shapes, overlaps: str, names: list[str],
               row_area: np.ndarray, unit_ids: np.ndarray, block_names: list[str], block_values: list) -> str:
    """Compute, store and sum one tile, then write its marker. Runs on any worker."""
    import zarr
    from affine import Affine

    blocks = dict(zip(block_names, block_values, strict=True))
    r0, c0, h, w = window
    if shapes is None:
        labels = np.zeros((h, w), dtype=np.int64)
    else:
        bounds = np.array([g.bounds for g, _ in shapes], dtype=np.float64).reshape(-1, 4)
        labels, clash, pairs = _rasterize(shapes, bounds, Affine(*transform), (h, w), overlaps)
        if clash:
            ids = [tuple(int(unit_ids[k]) for k in p) for p in pairs[:5]]
            raise InputError(f"{clash} cells in the tile at rows {r0}:{r0 + h}, columns {c0}:{c0 + w} lie in two "
                             f"units (id pairs {ids}); set [units] overlaps = 'first' or 'last', or fix the polygons")
    group = zarr.open_group(store, mode="r+")
    for name in names:
        if name == "unit":
            block = np.where(labels >= 0, unit_ids[np.maximum(labels, 0)], -1)
        else:
            block = np.asarray(blocks[name])
        group[name][r0:r0 + h, c0:c0 + w] = block.astype(group[name].dtype, copy=False)
    present, sums = tile_sums(labels, np.asarray(blocks["water_class"]),
                              None if blocks.get("wind_class") is None else np.asarray(blocks["wind_class"]),
                              np.asarray(blocks["A"]), row_area)
    from io import BytesIO

    buffer = BytesIO()
    np.savez(buffer, units=present, sums=sums)
    _atomic_bytes(Path(marker), buffer.getvalue())
    return marker


def _step_task(store: str, marker: str, name: str, window: tuple, block) -> str:
    """Stage 1: store one tile of one step, then write its marker."""
    import zarr

    r0, c0, h, w = window
    array = zarr.open_group(store, mode="r+")[name]
    array[r0:r0 + h, c0:c0 + w] = np.asarray(block).astype(array.dtype, copy=False)
    _atomic_bytes(Path(marker), b"")
    return marker


def _count(markers) -> int:
    return len(markers)


def _windows(plan: Plan, todo):
    t = plan.config.run.tile
    for i, j in todo:
        r0, c0 = i * t, j * t
        yield i, j, (r0, c0, min(t, plan.grid.shape[0] - r0), min(t, plan.grid.shape[1] - c0))


def _step_marker(folder: Path, name: str, i: int, j: int) -> Path:
    return folder / "tiles" / "steps" / name / _tile_name(i, j).replace(".npz", ".done")


def _steps_graph(plan: Plan, folder: Path, todo: dict[str, list[tuple[int, int]]]):
    """Stage 1: a task per (step, tile) to do, each storing its block as soon as it exists.

    Steps are stored apart from the model's tiles so that no task waits for the blocks of two
    steps: a task needing a tile of a tiled LS and of a cheap B made the scheduler compute all of
    B early and hold it (4 B/cell: +4 GiB at 10⁹ cells) until LS reached that tile.
    """
    from dask._task_spec import List, Task, TaskRef
    from dask.highlevelgraph import HighLevelGraph

    t = plan.config.run.tile
    store = str(folder / STORE)
    tasks, keys, arrays = {}, [], []
    for name, tiles in todo.items():
        if not tiles:
            continue
        array = plan.rasters[name].data.rechunk(t)
        arrays.append(array)
        (folder / "tiles" / "steps" / name).mkdir(parents=True, exist_ok=True)
        for i, j, window in _windows(plan, tiles):
            key = f"erosion-step-{name}-{i}-{j}"
            tasks[key] = Task(key, _step_task, store, str(_step_marker(folder, name, i, j)), name, window,
                              TaskRef((array.name, i, j)))
            keys.append(key)
    last = f"erosion-steps-{uuid.uuid4().hex}"
    tasks[last] = Task(last, _count, List(*(TaskRef(k) for k in keys)))
    return HighLevelGraph.from_collections(last, tasks, dependencies=arrays), keys, last


def _graph(plan: Plan, rasters: dict, folder: Path, todo: list[tuple[int, int]]):
    """Stage 2: one graph holding a task per tile to do (keys ``erosion-tile-i-j``) on top of the
    output rasters' graphs (steps read back from the store), and a last task counting them;
    (graph, tile keys, last key).

    Built as one graph, not one Delayed per tile: each Delayed would cull the whole graph again,
    which made a 100-tile run spend 30 s culling.
    """
    from dask._task_spec import List, Task, TaskRef
    from dask.highlevelgraph import HighLevelGraph

    cfg = plan.config
    t = cfg.run.tile
    names = [n for n in plan.config.outputs.variables if n not in plan.config.steps]
    needed = sorted(set(names) - {"unit"} | {"A", "water_class"} | ({"wind_class"} & set(rasters)))
    arrays = [rasters[n].data.rechunk(t) for n in needed]
    shapes = tile_shapes(plan.levels[0], plan.grid, t) if plan.levels else None
    overlaps = cfg.units.overlaps if cfg.units else "raise"
    unit_ids = plan.levels[0].ids if plan.levels else np.zeros(1, np.int64)
    area = row_areas(plan.template)
    store = str(folder / STORE)
    tasks, keys = {}, []
    for i, j, (r0, c0, h, w) in _windows(plan, todo):
        window = tuple(plan.grid.transform * plan.grid.transform.translation(c0, r0))[:6]
        key = f"erosion-tile-{i}-{j}"
        refs = List(*(TaskRef((a.name, i, j)) for a in arrays))
        tasks[key] = Task(key, _tile_task, store, str(folder / "tiles" / _tile_name(i, j)), (r0, c0, h, w), window,
                          None if shapes is None else shapes[i, j], overlaps, names, area[r0:r0 + h], unit_ids,
                          needed, refs)
        keys.append(key)
    last = f"erosion-tiles-{uuid.uuid4().hex}"
    tasks[last] = Task(last, _count, List(*(TaskRef(k) for k in keys)))
    return HighLevelGraph.from_collections(last, tasks, dependencies=arrays), keys, last


def _compute(built, client, report: Callable[[int], None]) -> None:
    """Run a (graph, task keys, last key), calling ``report(1)`` as each task finishes."""
    import dask
    from dask.callbacks import Callback
    from dask.delayed import Delayed

    graph, keys, last = built
    if client is None:
        wanted = set(keys)

        class _Tasks(Callback):
            def _posttask(self, key, result, dsk, state, worker_id):
                if key in wanted:
                    report(1)

        with _Tasks():
            dask.compute(Delayed(last, graph))
        return
    from distributed import as_completed

    for future in as_completed(client.get(graph, keys, sync=False)):
        future.result()  # raises the task's error here
        report(1)


# ----------------------------------------------------------------------------- after the tiles

def _combine(folder: Path, plan: Plan) -> np.ndarray:
    n = plan.levels[0].ids.size if plan.levels else 1
    total = np.zeros((n, N_SUMS))
    for path in sorted((folder / "tiles").glob("r*_c*.npz")):
        with np.load(path) as z:
            np.add.at(total, z["units"], z["sums"])
    return total


def _levels(plan: Plan) -> list[Level]:
    if plan.levels:
        return plan.levels
    return [Level("grid", np.zeros(1, np.int64), np.array(["whole grid"]), np.array([np.nan]),
                  np.full(1, -1, np.int64), None)]


def _write_tables(folder: Path, plan: Plan, tables: dict, targets) -> dict[str, list[str]]:
    out = folder / "tables"
    out.mkdir(exist_ok=True)
    written = {}
    frames = dict(tables)
    if targets is not None:
        frames["targets"] = targets
    for name, frame in frames.items():
        written[name] = []
        for kind in plan.config.outputs.tables:
            path = out / f"{name}.{kind}"
            _atomic_frame(frame, path, kind)
            written[name].append(str(path.relative_to(folder)))
    return written


def _write_cogs(folder: Path, plan: Plan) -> list[str]:
    from ..io import write_raster

    if not plan.config.outputs.cog:
        return []
    (folder / "cog").mkdir(exist_ok=True)
    ds = xr.open_zarr(folder / STORE)
    written = []
    for name in plan.config.outputs.cog:
        da = ds[name]
        nodata = None if da.dtype.kind == "f" else (0 if "flag_values" in da.attrs else da.attrs.get("nodata"))
        path = write_raster(da, folder / "cog" / f"{name}.tif", cog=True, nodata=nodata)
        written.append(str(path.relative_to(folder)))
    return written


def _finish_store(folder: Path, provenance: dict) -> None:
    import zarr

    group = zarr.open_group(str(folder / STORE), mode="r+")
    group.attrs.update({"erosion_provenance": json.dumps(provenance, ensure_ascii=False), "Conventions": "CF-1.8",
                        "title": f"erosion run {provenance['run']}"})
    zarr.consolidate_metadata(str(folder / STORE))


def _provenance(plan: Plan, engine_text: str, started: str) -> dict:
    from .._attrs import _version

    cfg = plan.config
    return {"run": cfg.run.name, "erosion_version": _version(), "config": cfg.model_dump(mode="json"),
            "checksums": plan.checksums, "inputs": plan.inputs, "engine": engine_text, "started": started,
            "host": platform.node(), "environment": sources.environment(), "grid": plan.grid.describe(),
            "tiles": list(plan.tiles), "tile": cfg.run.tile}


def _engine_text(cfg: Config, client) -> str:
    e = cfg.engine
    if client is None:
        return f"dask threaded scheduler ({e.threads or os.cpu_count()} threads)"
    workers = len(client.scheduler_info().get("workers", {}))
    return f"dask.distributed {e.kind} ({workers} workers at start; scheduler {client.scheduler.address})"


def run(config, *, restart: bool = False, progress: Callable[[int, int], None] | None = None,
        log: Callable[[str], None] | None = None) -> RunResult:
    """Run a config (a TOML path, TOML text, a dict or a :class:`Config`) end to end.

    Everything is checked first (:func:`erosion.pipeline.validate`); then the tiles not yet
    done are computed on the config's engine, and the tables, COGs and report are written.
    ``progress(done, total)`` is called as tile tasks finish (each step's tiles, then the model's);
    ``log(message)`` receives notes (the dashboard link). ``restart=True`` deletes a previous run's outputs in the output folder
    instead of refusing a changed config.
    """
    log = log or (lambda message: None)
    plan = prepare(config)
    cfg = plan.config
    folder, old = _folder(plan, restart)
    (folder / "tiles").mkdir(exist_ok=True)
    for stale in (folder / "tiles").rglob(".*.tmp-*"):  # a killed run's unfinished markers
        stale.unlink(missing_ok=True)
    ny, nx = plan.tiles
    every = [(i, j) for i in range(ny) for j in range(nx)]
    todo = [(i, j) for i, j in every if not (folder / "tiles" / _tile_name(i, j)).exists()]
    steps_todo = {s: [(i, j) for i, j in every if not _step_marker(folder, s, i, j).exists()] for s in cfg.steps}
    if not todo:  # every tile summed: the steps are stored too
        steps_todo = {s: [] for s in cfg.steps}
    total = len(every) * (1 + len(cfg.steps))
    done = [total - len(todo) - sum(len(v) for v in steps_todo.values())]

    def advance(n: int) -> None:
        done[0] += n
        if progress is not None:
            progress(done[0], total)

    started = old["provenance"]["started"] if old else _now()
    with engine(cfg.engine, log) as client:
        provenance = _provenance(plan, _engine_text(cfg, client), started)
        record = {"fingerprint": plan.fingerprint(), "status": "running", "provenance": provenance}
        _atomic_bytes(folder / "run.json", json.dumps(record, indent=1, ensure_ascii=False).encode())
        _init_store(plan, folder / STORE)
        advance(0)
        t0 = time.perf_counter()
        if any(steps_todo.values()):  # stage 1: the steps, stored tile by tile
            _compute(_steps_graph(plan, folder, steps_todo), client, advance)
        if todo:  # stage 2: A, classes and sums by unit, from the stored steps
            rasters = dict(plan.rasters)
            with xr.open_zarr(folder / STORE, chunks={"y": cfg.run.tile, "x": cfg.run.tile}) as stored:
                rasters.update({s: stored[s] for s in cfg.steps})
                soil_loss(cfg, rasters, cfg.run.tile)
                _compute(_graph(plan, rasters, folder, todo), client, advance)
        seconds = time.perf_counter() - t0
    sums = _combine(folder, plan)
    levels = _levels(plan)
    tables = level_tables(sums, levels, "wind_class" in plan.rasters)
    targets = None
    if cfg.targets is not None:
        t = cfg.targets
        source = t.table if t.table == "plan-2025" else str(sources.resolve(t.table, cfg.base, "[targets]"))
        targets = targets_table(tables[t.level], source, t.match)
    provenance.update(finished=_now(), tiles_computed=len(todo), tiles_skipped=len(every) - len(todo),
                      compute_seconds=round(seconds, 2))
    provenance["tables"] = _write_tables(folder, plan, tables, targets)
    provenance["cogs"] = _write_cogs(folder, plan)
    report = None
    if cfg.outputs.report:
        from .report import write_report

        report = write_report(folder, plan, tables, targets, provenance)
    _finish_store(folder, provenance)
    record = {"fingerprint": plan.fingerprint(), "status": "complete", "provenance": provenance}
    _atomic_bytes(folder / "run.json", json.dumps(record, indent=1, ensure_ascii=False).encode())
    return RunResult(folder, folder / STORE, tables, targets, report, provenance, len(todo), len(every) - len(todo))


def validate(config) -> str:
    """Check a config completely (files, CRS, grids, units, overlap, steps, unit levels, codes)
    without computing; return a summary of the run. Raises the first problem found."""
    from .plan import summary

    return summary(prepare(config))
