"""What to cite: the references of the methods behind a result, and erosion itself.

Every DataArray that erosion writes carries a ``references`` attribute: the function's own
references followed by those of its DataArray inputs (:func:`erosion._attrs.finalize`), so the
last result of a chain names every method of the chain. :func:`cite` reads them back
(docs/decisions/0028-accessor-and-citations.md).
"""

from __future__ import annotations

import xarray as xr

from ._attrs import _version, merge_references
from .errors import InputError, UnknownCodeError
from .model import CSLE_REFERENCES, RUSLE_REFERENCES

__all__ = ["cite"]

STYLES = ("text", "list")


def _software() -> str:
    return (f"erosion {_version()}: soil-erosion modelling on raster grids (CSLE, RUSLE, SL 190-2007 intensity "
            "classes). The erosion developers, Python package")


def _references_of(result, position: int) -> list[str]:
    if isinstance(result, xr.DataArray):
        return [result.attrs.get("references")]
    if isinstance(result, xr.Dataset):
        return [result.attrs.get("references"), *(v.attrs.get("references") for v in result.data_vars.values())]
    module = type(result).__module__.split(".")[0]
    kind = type(result).__name__ if module == "builtins" else f"{module}.{type(result).__name__}"
    raise InputError(f"cite: argument {position} is a {kind}, not an xarray DataArray or Dataset; only DataArrays "
                     "carry the references attribute that erosion writes (NumPy inputs give NumPy results without "
                     "attributes: pass DataArrays to the functions to keep them)")


def cite(*results, style: str = "text") -> str | list[str]:
    """The references of the methods that ``results`` used, or how to cite erosion.

    Reads the ``references`` attribute of each result (DataArray, or every variable of a
    Dataset; entries separated by ``"; "``), keeps each entry once, in order of first
    appearance, and numbers them. A result of a chain (``A = csle(R, K, LS, ...)``) already
    carries the references of its inputs' methods. Without arguments: erosion itself (name and
    version) and the CSLE and RUSLE references.

    Parameters
    ----------
    *results : xarray.DataArray or xarray.Dataset
        Outputs of erosion functions.
    style : {"text", "list"}
        ``"text"``: one numbered entry a line (``"1. ..."``); ``"list"``: the entries as a list.

    Returns
    -------
    str or list of str

    Raises
    ------
    InputError
        An argument is not a DataArray or Dataset, or none carries references (xarray drops
        the attributes that differ between the operands of ``a * b``).
    """
    if style not in STYLES:
        raise UnknownCodeError(f"cite: unknown style {style!r}; use one of {list(STYLES)}")
    if results:
        texts = [t for i, r in enumerate(results, start=1) for t in _references_of(r, i)]
        entries = merge_references(*texts)
        if not entries:
            names = ", ".join(repr(getattr(r, "name", None)) for r in results)
            raise InputError(f"cite: none of the results ({names}) has a 'references' attribute; erosion writes one "
                             "on every DataArray output, and xarray drops it in arithmetic between DataArrays whose "
                             "attributes differ (a * b): cite the inputs, or copy the attribute to the result")
    else:
        entries = [_software(), *merge_references(CSLE_REFERENCES, RUSLE_REFERENCES)]
    if style == "list":
        return entries
    return "\n".join(f"{i}. {e}" for i, e in enumerate(entries, start=1))
