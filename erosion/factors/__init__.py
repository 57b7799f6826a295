"""Factor functions: LS from terrain (more factors land here as they are built).

Each accepts scalars, NumPy arrays and xarray DataArrays (dask-backed included) and
returns the same kind, with units and references on DataArray outputs.
"""

from .terrain import (
    fill_depressions,
    flow_accumulation,
    flow_direction,
    l_factor,
    ls_factor,
    s_factor,
    slope,
    slope_length,
)

__all__ = [
    "fill_depressions",
    "flow_accumulation",
    "flow_direction",
    "l_factor",
    "ls_factor",
    "s_factor",
    "slope",
    "slope_length",
]
