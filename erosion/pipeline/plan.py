"""From a checked config to the run's lazy graph: every input opened on the grid, every step,
the soil loss, the classes and the unit levels, all before any computation.

:func:`prepare` is what ``erosion validate`` runs: it reads headers, polygons and the codes of
categorical inputs that declare them, and builds the lazy (dask) arrays, so every error a
config can cause comes out before a tile is computed.
"""

from __future__ import annotations

import inspect
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import xarray as xr

from .. import units as _units
from ..classification import classify, tolerable_regions
from ..errors import ConfigError, ErosionError, UnknownCodeError
from ..model import CSLE_VARIABLES, RUSLE_VARIABLES, csle, rusle
from . import admin, sources
from .config import Config, did_you_mean, load_config

_FACTOR_VARIABLES = {**CSLE_VARIABLES, **RUSLE_VARIABLES}


@dataclass
class Plan:
    """A run ready to compute: config, grid, lazy rasters by name, unit levels, checksums."""

    config: Config
    grid: sources.Grid
    template: xr.DataArray
    rasters: dict[str, xr.DataArray]
    levels: list[admin.Level] | None
    checksums: dict[str, str]
    inputs: dict[str, dict] = field(default_factory=dict)

    @property
    def tiles(self) -> tuple[int, int]:
        t = self.config.run.tile
        return -(-self.grid.shape[0] // t), -(-self.grid.shape[1] // t)

    def fingerprint(self) -> str:
        """What decides the outputs: the config (less the engine) and the inputs' checksums."""
        import hashlib

        cfg = self.config.model_dump(mode="json", exclude={"engine"})
        text = json.dumps({"config": cfg, "inputs": self.checksums}, sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(text.encode()).hexdigest()


def _template(grid: sources.Grid, tile: int) -> xr.DataArray:
    import dask.array as da

    t = grid.transform
    x = t.c + (np.arange(grid.shape[1]) + 0.5) * t.a
    y = t.f + (np.arange(grid.shape[0]) + 0.5) * t.e
    out = xr.DataArray(da.zeros(grid.shape, dtype=np.uint8, chunks=tile), dims=("y", "x"), coords={"y": y, "x": x})
    return out.rio.write_crs(grid.crs).rio.write_transform(t)


def _function(name: str, what: str):
    from .. import factors, regions

    if "." in name:
        region, _, fn = name.partition(".")
        try:
            functions = regions.get(region).functions
        except UnknownCodeError as exc:
            raise ConfigError(f"{what}: {exc}") from None
        if fn not in functions:
            raise ConfigError(f"{what}: region {region!r} has no function {fn!r}; it has {sorted(functions)}")
        return functions[fn]
    known = [n for n in factors.__all__ if callable(getattr(factors, n)) and n[0].islower()]
    if name not in known:
        hint = did_you_mean(name, known)
        raise ConfigError(f"{what}: unknown function {name!r}{hint} (erosion.factors functions, or '<region>.<function>')")
    return getattr(factors, name)


def _call(fn, args: dict, what: str):
    params = inspect.signature(fn).parameters
    if not any(p.kind == p.VAR_KEYWORD for p in params.values()):
        for key in args:
            if key not in params:
                hint = did_you_mean(key, list(params))
                raise ConfigError(f"{what}: {fn.__name__}() has no argument {key!r}{hint} (it takes {list(params)})")
    try:
        inspect.signature(fn).bind(**args)
    except TypeError as exc:
        raise ConfigError(f"{what}: {fn.__name__}(): {exc}") from None
    try:
        return fn(**args)
    except ErosionError as exc:
        raise type(exc)(f"{what}: {exc}") from None


def _as_raster(result, name: str, template: xr.DataArray, tile: int) -> xr.DataArray:
    if not isinstance(result, xr.DataArray) or result.dims != ("y", "x"):
        raise ConfigError(f"[steps.{name}] must give one raster (a DataArray on the grid); its function gave "
                          f"{type(result).__name__}. Ask for one output (e.g. no return_components)")
    if result.shape != template.shape:
        raise ConfigError(f"[steps.{name}] gave a {result.shape} raster; the grid is {template.shape}")
    if result.chunks is None or result.chunks[0][0] != min(tile, template.shape[0]):
        result = result.chunk({"y": tile, "x": tile})
    return result.rename(name)


def _factor(value, name: str, cfg: Config, rasters: dict, what: str):
    """A model factor: a raster by name, a constant input (converted to canonical units) or a number."""
    if value is None:
        return 1.0
    if not isinstance(value, str):
        return float(value)
    if value in cfg.inputs and cfg.inputs[value].value is not None:
        inp = cfg.inputs[value]
        conv = _units.conversion(inp.units, _FACTOR_VARIABLES[name])
        v = float(inp.value)
        return v if conv is None else float(conv(v) if callable(conv) else v * conv)
    if value not in rasters:
        known = sorted(rasters) + sorted(k for k, v in cfg.inputs.items() if v.value is not None)
        hint = did_you_mean(value, known)
        raise ConfigError(f"{what}: {name} = {value!r} names no input or step{hint} (known: {known})")
    return rasters[value]


def _check_codes(name: str, da: xr.DataArray, codes: list[int], nodata) -> None:
    """Scan a categorical input for codes outside its declared list (reads the input once)."""
    import dask

    allowed = set(codes) | ({int(nodata)} if nodata is not None and np.isfinite(nodata) else set())
    blocks = da.data.to_delayed().ravel()
    found = dask.compute(*[dask.delayed(np.unique)(b) for b in blocks])
    values = np.unique(np.concatenate(found)) if found else np.array([])
    bad = [v for v in values.tolist() if v not in allowed]
    if bad:
        raise ConfigError(f"[inputs.{name}] holds codes {bad[:20]} that are not among its codes = {codes} "
                          f"(nodata {nodata}); fix the raster or extend the list")


def soil_loss(cfg: Config, rasters: dict, tile: int) -> None:
    """Add the model's rasters to ``rasters``: ``A``, ``water_class`` and, with [wind],
    ``wind_class`` (from the inputs and steps in ``rasters``, stored or lazy)."""
    m = cfg.model
    factors = {f: _factor(getattr(m, f), f, cfg, rasters, "[model]") for f in
               (("R", "K", "LS", "B", "E", "T") if m.equation == "csle" else ("R", "K", "LS", "C", "P"))}
    if not any(isinstance(v, xr.DataArray) for v in factors.values()):
        raise ConfigError("[model]: every factor is a constant; at least one (LS, usually) must be a raster")
    if m.equation == "csle":
        cropland = None if m.cropland is None else _factor(m.cropland, "B", cfg, rasters, "[model] cropland")
        A = csle(**factors, cropland=cropland)
    else:
        A = rusle(**factors)
    if not isinstance(A, xr.DataArray):
        raise ConfigError("[model]: the soil loss is not a raster")
    rasters["A"] = A.chunk({"y": tile, "x": tile}) if A.chunks is None else A
    tolerable = m.tolerable
    if isinstance(tolerable, str) and tolerable not in tolerable_regions():
        if tolerable not in rasters:
            raise ConfigError(f"[model] tolerable = {tolerable!r} is neither a region ({sorted(tolerable_regions())}) "
                              "nor a raster input")
        tolerable = rasters[tolerable]
    rasters["water_class"] = classify(rasters["A"], kind="water", tolerable=tolerable)
    if cfg.wind is not None:
        from ..regions import wind

        if cfg.wind.soil_loss not in rasters:
            raise ConfigError(f"[wind] soil_loss = {cfg.wind.soil_loss!r} names no raster input or step")
        wind_class = wind.wind_classes(rasters[cfg.wind.soil_loss])
        if cfg.wind.zone is not None:
            if cfg.wind.zone not in rasters:
                raise ConfigError(f"[wind] zone = {cfg.wind.zone!r} names no raster input or step")
            rasters["water_class"], wind_class = wind.zone_classes(rasters["water_class"], wind_class,
                                                                  rasters[cfg.wind.zone])
        rasters["wind_class"] = wind_class


def prepare(config) -> Plan:
    """Check a config completely and build its lazy graph; nothing is computed except the scan
    of categorical inputs that declare ``codes``. Raises ConfigError (or another ErosionError)."""
    cfg = load_config(config)
    base, tile = cfg.base, cfg.run.tile
    headers = {n: sources.header(n, inp, base) for n, inp in cfg.inputs.items() if inp.path is not None}
    grid = sources.target_grid(cfg, headers)
    for name, head in headers.items():
        sources.check_overlap(name, head.grid, grid)
        sources.check_fits(name, cfg.inputs[name], head, grid)
    template = _template(grid, tile)
    rasters = {n: sources.open_on_grid(n, cfg.inputs[n], h, grid, tile, template) for n, h in headers.items()}
    for name, head in headers.items():
        inp = cfg.inputs[name]
        if inp.codes is not None:
            _check_codes(name, rasters[name], inp.codes, head.nodata)

    constants = {n: float(inp.value) for n, inp in cfg.inputs.items() if inp.value is not None}
    for name, step in cfg.steps.items():
        what = f"[steps.{name}]"
        fn = _function(step.function, what)
        args = dict(step.options)
        for arg, ref in step.inputs.items():
            if ref in rasters:
                args[arg] = rasters[ref]
            elif ref in constants:
                args[arg] = constants[ref]
            else:
                known = sorted(rasters) + sorted(constants)
                hint = did_you_mean(ref, known)
                raise ConfigError(f"{what}: input {arg} = {ref!r} names no input or earlier step{hint} (known: {known})")
        rasters[name] = _as_raster(_call(fn, args, what), name, template, tile)

    soil_loss(cfg, rasters, tile)

    levels = None
    if cfg.units is not None:
        levels = admin.load_levels(cfg.units, base, grid.crs)
    known = sorted(set(rasters) | ({"unit"} if levels else set()))
    for name in cfg.outputs.variables:
        if name not in known:
            hint = did_you_mean(name, known)
            raise ConfigError(f"[outputs] variables: {name!r} is not a raster of this run{hint} (known: {known})")
    if cfg.targets is not None:
        names = [lv.name for lv in levels]
        if cfg.targets.level not in names:
            raise ConfigError(f"[targets] level = {cfg.targets.level!r} is not a units level ({names})")

    checksums = {f"inputs.{n}": sources.checksum(h.path) for n, h in headers.items()}
    if cfg.units is not None:
        for lv in cfg.units.levels:
            checksums[f"units.{lv.name}"] = sources.checksum(sources.resolve(lv.path, base, lv.name))
    described = {n: {"path": str(h.path), "grid": h.grid.describe(), "units": cfg.inputs[n].units,
                     "source": cfg.inputs[n].source, "illustrative": cfg.inputs[n].illustrative}
                 for n, h in headers.items()}
    described.update({n: {"value": inp.value, "units": inp.units, "source": inp.source,
                          "illustrative": inp.illustrative} for n, inp in cfg.inputs.items() if inp.value is not None})
    return Plan(cfg, grid, template, rasters, levels, checksums, described)


def summary(plan: Plan) -> str:
    """A few lines saying what a validated run will do."""
    cfg = plan.config
    ny, nx = plan.tiles
    lines = [f"run {cfg.run.name!r}: grid {plan.grid.describe()}",
             f"  {ny * nx} tiles of {cfg.run.tile} x {cfg.run.tile} cells; engine {cfg.engine.kind}",
             f"  inputs: {', '.join(cfg.inputs)}; steps: {', '.join(cfg.steps) or 'none'}; model {cfg.model.equation}",
             f"  outputs: {', '.join(cfg.outputs.variables)} -> {Path(cfg.base) / cfg.run.output}"]
    if plan.levels:
        lines.append("  units: " + ", ".join(f"{lv.name} ({lv.ids.size})" for lv in plan.levels))
    return "\n".join(lines)
