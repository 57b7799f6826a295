"""Terrain: slope, depression filling, D8 routing, slope length, and the L, S and LS factors.

Slope angles are in degrees, lengths in metres, areas in m². Every function accepts NumPy
arrays and xarray DataArrays (S, m and L also scalars) and returns the same kind; see
docs/methods/terrain.md for the equations and docs/decisions/0002-0004 for the choices.
"""

from .desmet_govers import aspect, l_factor_desmet_govers
from .ls import LS_METHODS, M_RULES, RILL_RATIOS, S_METHODS, l_factor, ls_factor, m_exponent, s_factor
from .routing import breach_depressions, fill_depressions, flow_accumulation, slope_length
from .surface import flow_direction, slope

__all__ = [
    "LS_METHODS",
    "M_RULES",
    "RILL_RATIOS",
    "S_METHODS",
    "aspect",
    "breach_depressions",
    "fill_depressions",
    "flow_accumulation",
    "flow_direction",
    "l_factor",
    "l_factor_desmet_govers",
    "ls_factor",
    "m_exponent",
    "s_factor",
    "slope",
    "slope_length",
]
