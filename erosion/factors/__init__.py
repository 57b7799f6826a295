"""Factor functions: LS from terrain (more factors land here as they are built).

Each accepts scalars, NumPy arrays and xarray DataArrays (dask-backed included) and
returns the same kind, with units and references on DataArray outputs.
"""

from .terrain import (
    M_RULES,
    RILL_RATIOS,
    S_METHODS,
    fill_depressions,
    flow_accumulation,
    flow_direction,
    l_factor,
    ls_factor,
    m_exponent,
    s_factor,
    slope,
    slope_length,
)

__all__ = [
    "M_RULES",
    "RILL_RATIOS",
    "S_METHODS",
    "fill_depressions",
    "flow_accumulation",
    "flow_direction",
    "l_factor",
    "ls_factor",
    "m_exponent",
    "s_factor",
    "slope",
    "slope_length",
]
