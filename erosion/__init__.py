"""erosion: soil-erosion modelling on raster grids.

The Chinese Soil Loss Equation (CSLE, A = R·K·LS·B·E·T) and RUSLE, their factors, the
SL 190-2007 intensity classes and tables of eroded area and the soil and water conservation
rate by administrative unit, on NumPy arrays and (dask-backed) xarray DataArrays.
Importing it registers the ``.erosion`` accessor on DataArrays and Datasets
(:mod:`erosion.accessor`); :func:`erosion.cite` lists the references behind a result.

The functions ``erosion.classify`` and ``erosion.aggregate`` live in the modules
``erosion.classification`` (with ``tolerable_loss``, ``class_names``, ...) and
``erosion.aggregation`` (with ``COLUMNS``).
"""

from __future__ import annotations

import logging

from . import accessor, aggregation, classification, datasets, errors, factors, regions, vocabulary
from .aggregation import aggregate
from .citation import cite
from .classification import classify
from .errors import (
    ConfigError,
    ErosionError,
    GridMismatchError,
    InputError,
    MissingFileError,
    UnitsError,
    UnknownCodeError,
    ValueRangeError,
)
from .grid import align, cell_area, check_same_grid
from .io import open_raster, write_raster
from .model import csle, rusle


def run(config, *, restart: bool = False, progress=None, log=None):
    """Run a config end to end (:func:`erosion.pipeline.run`; needs ``pip install erosion[run]``)."""
    from .pipeline import run as _run

    return _run(config, restart=restart, progress=progress, log=log)


def validate(config) -> str:
    """Check a run config without computing (:func:`erosion.pipeline.validate`)."""
    from .pipeline import validate as _validate

    return _validate(config)

_LAZY = {"plot": "erosion.plot", "plan": "erosion.plan", "scenario": "erosion.plan.scenario"}


def __getattr__(name: str):
    """``erosion.plot`` (needs matplotlib), ``erosion.plan`` and ``erosion.scenario`` (the plan's
    scenarios, :mod:`erosion.plan.scenario`) are imported on first use, keeping ``import erosion`` light."""
    if name in _LAZY:
        import importlib

        module = importlib.import_module(_LAZY[name])
        globals()[name] = module
        return module
    raise AttributeError(f"module 'erosion' has no attribute {name!r}")


__all__ = [
    "ConfigError",
    "ErosionError",
    "GridMismatchError",
    "InputError",
    "MissingFileError",
    "UnitsError",
    "UnknownCodeError",
    "ValueRangeError",
    "accessor",
    "aggregate",
    "aggregation",
    "align",
    "cell_area",
    "check_same_grid",
    "cite",
    "classification",
    "classify",
    "csle",
    "datasets",
    "errors",
    "factors",
    "open_raster",
    "regions",
    "run",
    "rusle",
    "validate",
    "vocabulary",
    "write_raster",
]

logging.getLogger(__name__).addHandler(logging.NullHandler())
