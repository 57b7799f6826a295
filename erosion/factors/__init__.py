"""Factor functions: R, K, LS, B/C, E/P and T from the data users hold.

- :mod:`~erosion.factors.rainfall`: R from daily rainfall (Zhang et al. 2002; Xie et al. 2016),
  storm EI30, one event's erosivity, the half-month erosivity shares;
- :mod:`~erosion.factors.soil`: K from texture and organic matter (EPIC, nomograph, Dg form);
- :mod:`~erosion.factors.terrain`: slope, routing, slope length and LS from a DEM;
- :mod:`~erosion.factors.vegetation`: NDVI, vegetation cover, soil-loss ratios, B and C;
- :mod:`~erosion.factors.engineering`, :mod:`~erosion.factors.tillage`: E and P, T from codes
  and slope, through the code tables of :mod:`~erosion.factors.tables`.

Each accepts scalars, NumPy arrays and xarray DataArrays (dask-backed included) and returns
the same kind, with units and references on DataArray outputs. Method pages: docs/methods/.
"""

from . import engineering, rainfall, soil, tables, terrain, tillage, vegetation
from .engineering import *  # noqa: F403
from .rainfall import *  # noqa: F403
from .soil import *  # noqa: F403
from .terrain import *  # noqa: F403
from .tillage import *  # noqa: F403
from .vegetation import *  # noqa: F403

__all__ = ["engineering", "rainfall", "soil", "tables", "terrain", "tillage", "vegetation"]
__all__ += engineering.__all__ + rainfall.__all__ + soil.__all__ + terrain.__all__ + tillage.__all__ + vegetation.__all__
