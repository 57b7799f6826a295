"""The run configuration: a TOML file read into typed models (pydantic), checked key by key.

Every table and key is declared here; an unknown key is a :class:`~erosion.errors.ConfigError`
with a did-you-mean. Relative paths are relative to the config file's folder. A path
``dist://<distribution>/<path>`` names a file inside an installed Python distribution (data
shipped in registry packages, read in place), e.g.
``dist://meteva/meteva/resources/stations/dem_0.00833.nc``. The full reference, with an
example, is docs/run.md.
"""

from __future__ import annotations

import difflib
import tomllib
import types
import typing
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from ..errors import ConfigError

__all__ = ["Config", "load_config"]

Scalar = float | int | bool | str


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RunSection(_Strict):
    """``[run]``: the run's name, its output folder and the tile size."""

    name: str = "erosion-run"
    output: str = Field(description="output folder (created; relative to the config file)")
    tile: int = Field(1024, ge=64, le=16384, description="tile side in cells: the dask chunk and the Zarr chunk")


class GridSection(_Strict):
    """``[grid]``: the target grid, ``like`` an input or given by CRS, resolution and bounds."""

    like: str | None = None
    crs: str | None = None
    resolution: float | tuple[float, float] | None = None
    bounds: tuple[float, float, float, float] | None = Field(None, description="xmin, ymin, xmax, ymax")

    @model_validator(mode="after")
    def _one_way(self):
        explicit = [self.crs, self.resolution, self.bounds]
        if self.like is not None and any(v is not None for v in explicit):
            raise ValueError("give either like = '<input>' or crs, resolution and bounds, not both")
        if self.like is None and any(v is None for v in explicit):
            raise ValueError("give like = '<input>', or all of crs, resolution and bounds")
        return self


class InputSection(_Strict):
    """``[inputs.<name>]``: a raster file or a constant, with its units."""

    path: str | None = None
    value: float | None = None
    units: str | None = None
    categorical: bool = Field(False, description="codes or labels (land use, zones): no units, nearest resampling")
    codes: list[int] | None = Field(None, description="the codes a categorical raster may hold (checked up front)")
    variable: str | None = Field(None, description="the variable of a netCDF or Zarr file")
    band: int = Field(1, ge=1)
    nodata: float | None = Field(None, description="the nodata value when the file declares none")
    crs: str | None = Field(None, description="the CRS when the file declares none (e.g. a netCDF without grid mapping)")
    resampling: Literal["nearest", "bilinear", "cubic", "average", "mode"] | None = Field(
        None, description="warp to the target grid with this rule when the input is on another grid")
    source: str = Field("", description="where the data come from (shown in the report)")
    illustrative: bool = Field(False, description="an illustrative value, not a measurement (said in the report)")

    @model_validator(mode="after")
    def _check(self):
        if (self.path is None) == (self.value is None):
            raise ValueError("give exactly one of path = '<file>' or value = <number>")
        if self.categorical:
            if self.units not in (None, "1"):
                raise ValueError("a categorical input holds codes and has no units")
        elif not self.units:
            raise ValueError("units are missing: say what the values are in, e.g. units = 'm' for a DEM, "
                             "units = 'MJ mm hm-2 h-1 a-1' for R, units = '1' for a dimensionless factor")
        if self.codes is not None and not self.categorical:
            raise ValueError("codes = [...] needs categorical = true")
        return self


class StepSection(_Strict):
    """``[steps.<name>]``: a raster computed by a library function from inputs and earlier steps.

    ``function`` is a name of :mod:`erosion.factors` (``"ls_factor"``, ``"k_epic"``, ...) or
    ``"<region>.<function>"`` of a region plugin (``"wind.rweq"``). ``inputs`` maps the
    function's raster arguments to input or step names; ``options`` holds its other keywords.
    """

    function: str
    inputs: dict[str, str] = Field(default_factory=dict)
    options: dict[str, Any] = Field(default_factory=dict)


class ModelSection(_Strict):
    """``[model]``: the soil-loss equation, its factors (names of inputs or steps, or numbers),
    the cropland mask and the tolerable soil loss of the classification."""

    equation: Literal["csle", "rusle"] = "csle"
    R: str | float
    K: str | float
    LS: str | float
    B: str | float | None = None
    E: str | float | None = None
    T: str | float | None = None
    C: str | float | None = None
    P: str | float | None = None
    cropland: str | None = None
    tolerable: float | str = Field(description="T_tol in t km-2 a-1, a region name of erosion.classification, "
                                               "or the name of a raster input")

    @model_validator(mode="after")
    def _factors(self):
        own = ("B", "E", "T") if self.equation == "csle" else ("C", "P")
        other = {"B", "E", "T", "C", "P"} - set(own)
        wrong = [f for f in sorted(other) if getattr(self, f) is not None]
        if wrong:
            raise ValueError(f"{self.equation} takes R, K, LS, {', '.join(own)}; {', '.join(wrong)} "
                             f"belong to the other equation")
        if self.cropland is not None and self.equation != "csle":
            raise ValueError("cropland applies to csle only")
        return self


class WindSection(_Strict):
    """``[wind]``: wind-erosion soil loss (a step or input, t hm-2 a-1) and an optional zone map
    (1 water only, 2 wind only, 3 both), combined with the water classes in the tables."""

    soil_loss: str
    zone: str | None = None


class LevelSection(_Strict):
    """``[[units.levels]]``: one administrative level, finest first.

    A level's units find their parent on the next level by ``parent_prefix`` or
    ``parent_column`` (a column holding the parent's id). ``parent_prefix = n`` takes the
    parent's id as the child's first n digits followed by zeros (county 156610602 → prefecture
    156610600 with n = 7, → province 156610000 with n = 5); a list of n is tried in order, the
    first existing parent wins (``[9, 7, 5]``: the county itself where it is also a
    prefecture-level unit, else its prefecture, else its province-level municipality).
    """

    name: str
    path: str
    id: str = Field(description="column of integer unit ids")
    name_column: str | None = None
    parent_prefix: int | list[int] | None = None
    parent_column: str | None = None
    polygons_only: bool = Field(False, description="drop line and point features (boundary lines) instead of refusing them")

    @model_validator(mode="after")
    def _one_parent_rule(self):
        if self.parent_prefix is not None and self.parent_column is not None:
            raise ValueError("give parent_prefix or parent_column, not both")
        return self


class UnitsSection(_Strict):
    """``[units]``: the administrative units, rasterised once at the finest level."""

    levels: list[LevelSection] = Field(min_length=1)
    overlaps: Literal["raise", "first", "last"] = "raise"

    @field_validator("levels")
    @classmethod
    def _names(cls, levels):
        names = [lv.name for lv in levels]
        if len(set(names)) != len(names):
            raise ValueError(f"level names must differ: {names}")
        for child in levels[:-1]:
            if child.parent_prefix is None and child.parent_column is None:
                raise ValueError(f"level {child.name!r} needs parent_prefix or parent_column to reach the next level")
        return levels


class TargetsSection(_Strict):
    """``[targets]``: conservation-rate targets per unit of one level, matched by name or id.

    ``table = "plan-2025"`` is the national plan's 2025 provincial targets shipped with the
    package (erosion/data/plan/targets_2025.csv); a path names a CSV with columns ``name`` or
    ``id`` and ``target_pct``.
    """

    level: str = "province"
    table: str = "plan-2025"
    match: Literal["name", "id"] = "name"


class EngineSection(_Strict):
    """``[engine]``: where the tiles are computed."""

    kind: Literal["threads", "local", "scheduler", "slurm", "pbs"] = "threads"
    threads: int | None = Field(None, ge=1, description="threads of the threaded scheduler (default: all cores)")
    workers: int = Field(2, ge=1, description="local cluster: worker processes; slurm/pbs: jobs")
    threads_per_worker: int = Field(1, ge=1)
    memory_limit: str | None = Field(None, description="per worker, e.g. '4GiB'")
    address: str | None = Field(None, description="scheduler address for kind = 'scheduler'")
    options: dict[str, Any] = Field(default_factory=dict, description="slurm/pbs: keywords of dask-jobqueue's cluster")

    @model_validator(mode="after")
    def _address(self):
        if (self.kind == "scheduler") != (self.address is not None):
            raise ValueError("address = 'tcp://host:port' goes with kind = 'scheduler' (and only with it)")
        if self.options and self.kind not in ("slurm", "pbs"):
            raise ValueError("options are passed to dask-jobqueue and need kind = 'slurm' or 'pbs'")
        return self


class OutputsSection(_Strict):
    """``[outputs]``: what is written besides the tables."""

    variables: list[str] = Field(default_factory=lambda: ["LS", "A", "water_class"],
                                 description="rasters stored in the Zarr store: inputs, steps, LS, A, water_class, "
                                             "wind_class, unit")
    cog: list[str] = Field(default_factory=list, description="of those, the ones also written as COGs")
    tables: list[Literal["csv", "parquet"]] = Field(default_factory=lambda: ["csv", "parquet"])
    report: bool = True

    @model_validator(mode="after")
    def _cog_subset(self):
        extra = [v for v in self.cog if v not in self.variables]
        if extra:
            raise ValueError(f"cog lists {extra}, which are not among variables {self.variables}")
        return self


class Config(_Strict):
    """A whole run configuration (see docs/run.md)."""

    run: RunSection
    grid: GridSection
    inputs: dict[str, InputSection]
    steps: dict[str, StepSection] = Field(default_factory=dict)
    model: ModelSection
    wind: WindSection | None = None
    units: UnitsSection | None = None
    targets: TargetsSection | None = None
    engine: EngineSection = Field(default_factory=EngineSection)
    outputs: OutputsSection = Field(default_factory=OutputsSection)
    base: str = Field("", exclude=True, description="folder relative paths start from (the config file's)")

    @model_validator(mode="after")
    def _names(self):
        clash = sorted(set(self.inputs) & set(self.steps))
        if clash:
            raise ValueError(f"{clash} name both an input and a step; names must be unique")
        reserved = sorted((set(self.inputs) | set(self.steps)) & RESERVED)
        if reserved:
            raise ValueError(f"{reserved} are names of the run's own outputs ({sorted(RESERVED)}); rename them")
        if self.targets is not None and self.units is None:
            raise ValueError("[targets] needs [units]")
        return self


RESERVED = {"A", "water_class", "wind_class", "unit"}


# ----------------------------------------------------------------------------- loading

def did_you_mean(word: str, choices) -> str:
    """``"; did you mean 'x'?"`` for the closest of ``choices`` (case-insensitive), or ``""``."""
    choices = list(choices)
    folded = {c.casefold(): c for c in choices}
    close = difflib.get_close_matches(word.casefold(), list(folded), n=1, cutoff=0.6)
    return f"; did you mean {folded[close[0]]!r}?" if close else ""


def _fields_at(loc: tuple) -> list[str]:
    """The keys allowed where ``loc`` (a pydantic error location) points."""
    model: Any = Config
    for part in loc[:-1]:
        if isinstance(model, type) and issubclass(model, BaseModel) and part in model.model_fields:
            model = model.model_fields[part].annotation
        elif typing.get_origin(model) is dict:
            model = typing.get_args(model)[1]
        elif typing.get_origin(model) is list:
            model = typing.get_args(model)[0]
        else:
            return []
        while typing.get_origin(model) in (typing.Union, types.UnionType):  # X | None
            model = next((a for a in typing.get_args(model) if a is not type(None)), model)
    if isinstance(model, type) and issubclass(model, BaseModel):
        return list(model.model_fields)
    return []


def _where(loc: tuple) -> str:
    tables = [str(p) if not isinstance(p, int) else f"[{p}]" for p in loc[:-1]]
    text = ".".join(tables).replace(".[", "[")
    return f"[{text}] " if text else ""


def _explain(exc: ValidationError, source: str) -> ConfigError:
    lines = []
    for err in exc.errors():
        loc = tuple(err["loc"])
        if err["type"] == "extra_forbidden":
            key = str(loc[-1])
            allowed = [f for f in _fields_at(loc) if f != "base"]
            lines.append(f"{_where(loc)}unknown key {key!r}{did_you_mean(key, allowed)} (allowed: {', '.join(allowed)})")
        elif err["type"] == "missing":
            lines.append(f"{_where(loc)}missing key {str(loc[-1])!r}")
        else:
            where = ".".join(str(p) for p in loc)
            lines.append(f"{where}: {err['msg'].removeprefix('Value error, ')}")
    return ConfigError(f"{source}: invalid run configuration:\n  " + "\n  ".join(lines))


def load_config(config: str | Path | dict | Config) -> Config:
    """A :class:`Config` from a TOML file path, a TOML string, a dict or a Config.

    Raises :class:`~erosion.errors.ConfigError` listing every problem (unknown keys with a
    did-you-mean, missing keys, wrong types), before anything is opened.
    """
    if isinstance(config, Config):
        return config
    base = Path.cwd()
    source = "config"
    if isinstance(config, dict):
        raw = dict(config)
    else:
        text = str(config)
        path = Path(text)
        looks_like_path = isinstance(config, Path) or ("\n" not in text and text.endswith(".toml"))
        if looks_like_path:
            if not path.is_file():
                raise ConfigError(f"config file not found: {text!r} (absolute path {str(path.absolute())!r})")
            text = path.read_text("utf-8")
            base, source = path.absolute().parent, str(path)
        try:
            raw = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{source}: not valid TOML: {exc}") from None
    raw.setdefault("base", str(base))
    try:
        return Config.model_validate(raw)
    except ValidationError as exc:
        raise _explain(exc, source) from None
