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


def split_references(text) -> list[str]:
    """The entries of a ``references`` attribute: split at ``"; "`` outside brackets, stripped."""
    entries: list[str] = []
    depth, start, text = 0, 0, str(text or "")
    for i, ch in enumerate(text):
        if ch in "([":
            depth += 1
        elif ch in ")]":
            depth = max(depth - 1, 0)
        elif ch == ";" and depth == 0 and text[i + 1:i + 2] in (" ", ""):
            entries.append(text[start:i])
            start = i + 1
    entries.append(text[start:])
    return [e.strip() for e in entries if e.strip()]


def merge_references(*texts) -> list[str]:
    """The entries of several ``references`` attributes, de-duplicated in order of first appearance."""
    merged: list[str] = []
    for text in texts:
        for entry in split_references(text):
            if entry not in merged:
                merged.append(entry)
    return merged


def finalize(out: xr.DataArray, variable: str, template: xr.DataArray | None, history: str,
             references: str | None = None, extra_attrs: dict | None = None, inputs=()) -> xr.DataArray:
    """Give an output its name and attributes from the vocabulary, and keep the CRS.

    Attributes are built, never inherited: ``units`` and ``long_name`` come from the
    vocabulary entry, ``history`` from the calling function, followed by the notes of input
    preparation (:func:`input_notes`) of ``inputs`` and the template. ``references`` are the
    function's own followed by those of the template and ``inputs`` (DataArrays only),
    de-duplicated (:func:`merge_references`), so that a result cites every method of its
    chain (docs/decisions/0028-accessor-and-citations.md; :func:`erosion.cite`). The
    grid mapping gets the transform of the coordinates (:func:`erosion.grid.grid_of`), so a
    stale cached GeoTransform (after ``sortby``) is not passed on.
    """
    spec = vocabulary.get(variable)
    out = out.rename(variable)
    attrs = spec.cf_attrs()
    inherited = [x.attrs.get("references") for x in (template, *inputs) if isinstance(x, xr.DataArray)]
    merged = merge_references(references, *inherited)
    if merged:
        attrs["references"] = "; ".join(merged)
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
