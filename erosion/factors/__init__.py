"""Factor functions: LS from terrain (more factors land here as they are built).

Each accepts scalars, NumPy arrays and xarray DataArrays (dask-backed included) and
returns the same kind, with units and references on DataArray outputs.
"""

from . import terrain
from .terrain import *  # noqa: F403  (the terrain module's __all__ is the list)

__all__ = list(terrain.__all__)
