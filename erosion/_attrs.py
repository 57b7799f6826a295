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


def finalize(out: xr.DataArray, variable: str, template: xr.DataArray | None, history: str,
             references: str | None = None, extra_attrs: dict | None = None) -> xr.DataArray:
    """Give an output its name and attributes from the vocabulary, and keep the CRS.

    Attributes are built, never inherited: ``units`` and ``long_name`` come from the
    vocabulary entry, ``history`` and ``references`` from the calling function.
    """
    spec = vocabulary.get(variable)
    out = out.rename(variable)
    attrs = spec.cf_attrs()
    if references:
        attrs["references"] = references
    attrs["history"] = f"{_pkg} {_version()}: {history}"
    if extra_attrs:
        attrs.update(extra_attrs)
    out.attrs = attrs
    if template is not None and "spatial_ref" in template.coords:
        # xarray drops the attributes (CRS, GeoTransform) of scalar coordinates in
        # arithmetic and apply_ufunc(keep_attrs=False): restore the template's grid mapping.
        out = out.assign_coords(spatial_ref=template.coords["spatial_ref"])
    elif template is not None and template.rio.crs is not None:
        out = out.rio.write_crs(template.rio.crs)
    if out.dtype.kind == "f":
        out.encoding["_FillValue"] = np.nan
    return out
