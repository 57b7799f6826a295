"""Output attributes: built from the vocabulary, never inherited; the CRS is kept.

Kept apart from :mod:`erosion._array` so that :mod:`erosion.grid` can use it without an
import cycle.
"""

from __future__ import annotations

import numpy as np
import rioxarray  # noqa: F401  (registers the .rio accessor)
import xarray as xr

from . import __name__ as _pkg
from . import vocabulary


def _version() -> str:
    try:
        from importlib.metadata import version

        return version("erosion")
    except Exception:
        return "unknown"


def input_notes(*inputs) -> list[str]:
    """The notes that input preparation wrote into the inputs' history (unit conversions,
    squeezed band dimensions), to be carried into the output's history."""
    notes: list[str] = []
    for x in inputs:
        if isinstance(x, xr.DataArray):
            for line in str(x.attrs.get("history", "")).splitlines():
                if line.startswith(f"{_pkg}: ") and line not in notes:
                    notes.append(line)
    return notes


def finalize(out: xr.DataArray, variable: str, template: xr.DataArray | None, history: str,
             references: str | None = None, extra_attrs: dict | None = None, inputs=()) -> xr.DataArray:
    """Give an output its name and attributes from the vocabulary, and keep the CRS.

    Attributes are built, never inherited: ``units`` and ``long_name`` come from the
    vocabulary entry, ``history`` and ``references`` from the calling function, followed by
    the notes of input preparation (:func:`input_notes`) of ``inputs`` and the template. The
    grid mapping gets the transform of the coordinates (:func:`erosion.grid.grid_of`), so a
    stale cached GeoTransform (after ``sortby``) is not passed on.
    """
    spec = vocabulary.get(variable)
    out = out.rename(variable)
    attrs = spec.cf_attrs()
    if references:
        attrs["references"] = references
    attrs["history"] = "\n".join([f"{_pkg} {_version()}: {history}", *input_notes(template, *inputs)])
    if extra_attrs:
        attrs.update(extra_attrs)
    out.attrs = attrs
    if template is not None and "spatial_ref" in template.coords:
        # xarray drops the attributes (CRS, GeoTransform) of scalar coordinates in
        # arithmetic and apply_ufunc(keep_attrs=False): restore the template's grid mapping.
        out = out.assign_coords(spatial_ref=template.coords["spatial_ref"])
    elif template is not None and template.rio.crs is not None:
        out = out.rio.write_crs(template.rio.crs)
    if template is not None and out.ndim == 2 and out.shape == template.shape[-2:] and "spatial_ref" in out.coords:
        from affine import Affine

        from .grid import grid_of

        out = out.rio.write_transform(Affine(*grid_of(out).transform))
    if out.dtype.kind == "f":
        out.encoding["_FillValue"] = np.nan
    return out
