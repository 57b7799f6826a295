"""Local surface derivatives: slope angle (Horn 1981) and D8 flow direction."""

from __future__ import annotations

import numpy as np

from ..._array import _validation, declared_nodata
from ..._kernels import terrain as k
from ._common import REF_D8, REF_HORN, dem_input, stencil, wrap

__all__ = ["flow_direction", "slope"]


def slope(dem, *, cellsize=None, data_validation: str = "raise"):
    """Slope angle in degrees by the Horn (1981) 3×3 gradient.

    ``dz/dx = ((c + 2f + i) − (a + 2d + g)) / (8·dx)``, ``dz/dy = ((g + 2h + i) − (a + 2b + c)) / (8·dy)``,
    ``θ = atan(√(dz/dx² + dz/dy²))`` with the window ``a b c / d e f / g h i``.

    dx and dy are true cell sizes in metres, per row (:func:`erosion.grid.cell_sizes`), so
    geographic grids are handled; NumPy input needs ``cellsize`` (metres, or ``(dx, dy)``).
    NaN centre → NaN; a NaN or off-grid neighbour is extrapolated through the centre from
    the opposite one (one-sided differences: a plane is exact on edge cells too). Dask input runs
    lazily through ``map_overlap`` (depth 1, NaN boundary): identical for every chunking.
    Returns float32 degrees, the same kind as ``dem``.
    """
    validation = _validation(data_validation)
    data, dx, dy, template = dem_input(dem, cellsize, validation)
    out = stencil(k.horn_slope, data, dx, dy, np.float32, validation, nodata=declared_nodata(template))
    return wrap(out, template, "slope", "slope: Horn (1981) 3x3 gradient on true cell sizes", REF_HORN)


def flow_direction(dem, *, routing: str = "d8", exponent: float = 1.1, mfd_weights: str = "freeman", cellsize=None,
                   data_validation: str = "raise"):
    """Flow direction on a filled DEM: D8 (default), D∞ angles or MFD fractions.

    ``routing="d8"``: steepest descent (O'Callaghan & Mark 1984), described below.
    ``routing="dinf"``: Tarboton (1997) D∞ on the 8 triangular facets, the angle of steepest
    descent in radians counter-clockwise from east, float32 in [0, 2π); −1 where nothing
    descends; NaN for nodata (output ``flow_angle``).
    ``routing="mfd"``: fractions to the 8 neighbours, ``f_k = w_k / Σ w``, ``w_k = (tan β_k)^p · L_k``
    over the downslope neighbours; ``mfd_weights="freeman"`` (default, Freeman 1991) and
    ``"holmgren"`` (Holmgren 1994) use L = 1, ``"quinn"`` (Quinn et al. 1991) the contour lengths
    L = 0.5·cell (cardinal) and 0.354·cell (diagonal); p = ``exponent`` (default 1.1, Freeman's
    value; Quinn used 1, Holmgren 4–6). Output ``flow_fraction``: float32 with a leading dim
    ``direction`` (E, SE, S, SW, W, NW, N, NE), summing to 1 where any neighbour is lower, 0
    elsewhere, NaN for nodata. All three use true per-row cell sizes and the extrapolated edge
    neighbours of ADR 0012 (flow toward them leaves the grid); see docs/methods/routing.md.

    D8:
    The receiver is the neighbour with the largest drop / distance (dx, dy or √(dx²+dy²),
    true metres per row); ties go to the first of E, SE, S, SW, W, NW, N, NE. Codes (uint8,
    ESRI): 1 E, 2 SE, 4 S, 8 SW, 16 W, 32 NW, 64 N, 128 NE; 0 = no lower neighbour (a pit);
    255 = nodata. Neighbours off the grid or in nodata take their extrapolated elevation: a
    cell whose steepest descent leads there drains off the grid (its code points out; it is an
    outlet for routing). Flats are routed only if the DEM was
    filled with :func:`fill_depressions` (priority-flood+ε), which leaves no flats. Local
    (3×3): dask input stays lazy and chunking-invariant.
    """
    validation = _validation(data_validation)
    from . import _multiflow as mf

    mf.check_routing(routing, exponent, mfd_weights)
    data, dx, dy, template = dem_input(dem, cellsize, validation)
    if routing == "dinf":
        return mf.dinf_direction(data, dx, dy, template, validation, declared_nodata(template))
    if routing == "mfd":
        return mf.mfd_direction(data, dx, dy, template, validation, declared_nodata(template), exponent, mfd_weights)
    out = stencil(k.d8_direction, data, dx, dy, np.uint8, validation, nodata=declared_nodata(template))
    res = wrap(out, template, "flow_direction", "flow_direction: D8 steepest descent, true distances", REF_D8,
               {"flag_values": np.array([0, 1, 2, 4, 8, 16, 32, 64, 128], dtype=np.uint8),
                "flag_meanings": "no_outflow east southeast south southwest west northwest north northeast",
                "nodata": k.NODATA_DIR})
    if template is not None:
        res = res.rio.write_nodata(k.NODATA_DIR, encoded=False)
    return res
