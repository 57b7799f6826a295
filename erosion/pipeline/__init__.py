"""National and regional runs from one config: ``erosion run CONFIG.toml`` / :func:`run`.

A TOML config (:mod:`erosion.pipeline.config`) names the inputs with their units, the target
grid, the steps that compute factors, the model, the administrative unit levels, the targets,
the engine (threads, a local or remote dask.distributed cluster, SLURM or PBS) and the
outputs. :func:`validate` checks all of it before anything is computed; :func:`run` computes
the tiles not yet done, records each, and writes the Zarr store, COGs, tables by level and a
report, with the run's provenance. The reference is docs/run.md.
"""

from .config import Config, load_config
from .engine import limit_heap_growth
from .runner import RunResult, run, validate

__all__ = ["Config", "RunResult", "limit_heap_growth", "load_config", "run", "validate"]
