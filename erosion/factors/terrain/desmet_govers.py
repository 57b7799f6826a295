"""Aspect and the Desmet & Govers (1996) slope-length factor of a grid cell from its upslope area."""

from __future__ import annotations

import numpy as np
import xarray as xr

from ..._array import _validation, apply_cellwise, declared_nodata
from ..._kernels import multiflow as mk
from ...errors import InputError
from ...grid import cell_area
from ._common import REF_HORN, _cellsize, dem_input, stencil, wrap
from .ls import M_RULES, _m_rule, _rill

__all__ = ["aspect", "l_factor_desmet_govers"]

REF_DESMET_GOVERS = ("Desmet, P.J.J., Govers, G. (1996) A GIS procedure for automatically calculating the USLE LS "
                     "factor on topographically complex landscape units. J. Soil Water Conserv. 51(5):427-433")
_X_MAX = float(np.sqrt(2.0))


def aspect(dem, *, cellsize=None, data_validation: str = "raise"):
    """Aspect: the downslope azimuth of the Horn (1981) gradient, degrees clockwise from north.

    ``aspect = atan2(−dz/dx, −dz/dy_north)`` in [0, 360) (0 faces north, 90 east); −1 on flat
    cells (zero gradient); NaN for nodata. Same window, true cell sizes and edge rule as
    :func:`slope` (missing neighbours extrapolated, ADR 0012), so a plane reads its own aspect on
    every cell. Local (3×3): dask input stays lazy and chunking-invariant. float32.
    """
    validation = _validation(data_validation)
    data, dx, dy, template = dem_input(dem, cellsize, validation)
    out = stencil(mk.horn_aspect, data, dx, dy, np.float32, validation, nodata=declared_nodata(template))
    return wrap(out, template, "aspect", "aspect: Horn (1981) gradient, degrees clockwise from north, -1 on flats",
                REF_HORN)


def _x_of(asp):
    """x = |sin α| + |cos α| (1 on flat cells, aspect −1)."""
    a = np.radians(asp)
    return np.where(asp == -1.0, 1.0, np.abs(np.sin(a)) + np.abs(np.cos(a)))


def l_factor_desmet_govers(upslope_area, slope=None, aspect=None, *, m="rusle", rill_ratio="moderate", x="aspect",
                           cellsize=None, data_validation: str = "raise"):
    """Slope-length factor of a grid cell from its upslope area (Desmet & Govers 1996).

    ``L = [(A_in + D²)^(m+1) − A_in^(m+1)] / [D^(m+2) · x^m · 22.13^m]``: A_in is the contributing
    area at the cell's inlet (m²), ``upslope_area`` (m², :func:`flow_accumulation` with
    ``output="area"`` and no weights, the cell included) minus the cell's own area D²; D (m) is
    the side of a square of the cell's area, √(dx·dy) (true areas on geographic grids);
    ``x = |sin α| + |cos α|`` from the ``aspect`` α in degrees (:func:`aspect`; 1 on flat
    cells), or ``x`` given as a number in [1, √2]. m comes from the slope angle (degrees) by the
    rule ``m`` (:func:`m_exponent`), or is the given number. On a plane it equals Foster &
    Wischmeier's segment L for the slope length λ = A/(D·x). NumPy input needs ``cellsize``.
    SAGA's variant puts the specific catchment area (m) where A stands here (docs/methods/routing.md).
    """
    func = _m_rule(m)
    ratio = _rill(rill_ratio)
    if func is not None and slope is None:
        raise InputError(f"l_factor_desmet_govers: m rule {m!r} needs the slope angle (degrees); pass slope=...")
    if isinstance(x, str):
        if x != "aspect":
            raise InputError(f"x must be 'aspect' or a number in [1, sqrt(2)], not {x!r}")
        if aspect is None:
            raise InputError("l_factor_desmet_govers: x='aspect' needs the aspect (degrees, from aspect(dem)); "
                             "pass aspect=... or a constant x such as x=1.0")
    elif not (np.isscalar(x) and 1.0 <= float(x) <= _X_MAX + 1e-9):
        raise InputError(f"x must be 'aspect' or a number in [1, sqrt(2)] (|sin a| + |cos a|), not {x!r}")
    if cellsize is not None:
        dx, dy = _cellsize(cellsize)
        area = dx * dy
    elif isinstance(upslope_area, xr.DataArray):
        area = cell_area(upslope_area)
    else:
        raise InputError("upslope_area is not a DataArray: pass cellsize=<metres> or (dx, dy) for the cell area D²")
    inputs = [("upslope_area", "flow_accumulation", upslope_area), ("cell_area", "cell_area", area)]
    if func is not None:
        inputs.append(("slope", "slope", slope))
    if isinstance(x, str):
        inputs.append(("aspect", "aspect", aspect))

    def compute(a_up, a_cell, *rest):
        rest = list(rest)
        mm = func(rest.pop(0), ratio) if func is not None else float(m)
        xx = _x_of(rest.pop(0)) if isinstance(x, str) else float(x)
        a_in = np.maximum(a_up - a_cell, 0.0)
        d = np.sqrt(a_cell)
        big_l = ((a_in + a_cell) ** (mm + 1) - a_in ** (mm + 1)) / (d ** (mm + 2) * xx**mm * 22.13**mm)
        return np.asarray(big_l, dtype=np.float64 if np.ndim(big_l) == 0 else np.float32)

    law = M_RULES[m][1] if func is not None else f"constant m = {m}"
    return apply_cellwise(compute, inputs, output="l_factor",
                          history=f"l_factor_desmet_govers: D = sqrt(cell area), x = {x}, m rule {m!r} ({law}), "
                                  f"rill ratio {rill_ratio}",
                          references=REF_DESMET_GOVERS, validation=data_validation)
