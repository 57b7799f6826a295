"""The conformance suite every region plugin must pass (issue 8; docs/methods/regions.md).

Third-party authors run it in their own tests::

    from erosion.regions.conformance import check

    def test_my_region_conforms():
        check(my_region.REGION)

:func:`check` raises ``AssertionError`` naming the first rule a plugin breaks: its metadata
(name, maturity, description, references, variables from the vocabulary, documented
functions), and its ``example``: the outputs are DataArrays named after variables it
produces, with the vocabulary's units and a CRS, and chunked (dask) inputs give lazy outputs
equal to the in-memory ones.
"""

from __future__ import annotations

import re

import numpy as np
import xarray as xr

from .. import vocabulary
from . import Region

__all__ = ["CHUNKS", "check"]

CHUNKS = {"y": 7, "x": 5}
"""The chunking the suite gives ``example``: small and uneven, so that tiles have edges."""


def _check_metadata(region: Region) -> None:
    assert isinstance(region, Region), f"{region!r} is not an erosion.regions.Region"
    assert re.fullmatch(r"[a-z][a-z0-9_]*", region.name), f"name {region.name!r}: use lower-case letters, digits, _"
    assert region.maturity in ("established", "experimental"), f"{region.name}: maturity {region.maturity!r}"
    assert region.description.strip(), f"{region.name}: empty description"
    if region.maturity == "experimental":
        assert "experimental" in region.description.lower(), \
            f"{region.name}: an experimental submodel must say so in its description"
    assert region.references and all(isinstance(r, str) and r.strip() for r in region.references), \
        f"{region.name}: give at least one reference"
    known = set(vocabulary.names())
    for kind, variables in (("needs", region.needs), ("produces", region.produces)):
        missing = sorted(set(variables) - known)
        assert not missing, f"{region.name}: {kind} variables not in the vocabulary: {missing}"
    assert region.produces, f"{region.name}: produces nothing"
    assert region.functions, f"{region.name}: no public functions"
    for fname, func in region.functions.items():
        assert callable(func), f"{region.name}.{fname} is not callable"
        assert (func.__doc__ or "").strip(), f"{region.name}.{fname} has no docstring"


def _check_outputs(region: Region, outputs, lazy: bool) -> dict[str, xr.DataArray]:
    assert outputs, f"{region.name}: example returned no outputs"
    for key, out in outputs.items():
        where = f"{region.name}: example output {key!r}"
        assert isinstance(out, xr.DataArray), f"{where} is a {type(out).__name__}, not a DataArray"
        assert out.name in region.produces, f"{where} is named {out.name!r}, not one of produces {region.produces}"
        spec = vocabulary.get(out.name)
        assert out.attrs.get("units") == spec.units, f"{where}: units {out.attrs.get('units')!r}, not {spec.units!r}"
        assert out.attrs.get("long_name"), f"{where}: no long_name"
        assert out.rio.crs is not None, f"{where}: the CRS was lost"
        if lazy:
            assert out.chunks is not None, f"{where}: chunked inputs gave a computed output (no dask behind the user's back)"
    return dict(outputs)


def check(region: Region) -> None:
    """Raise ``AssertionError`` if ``region`` breaks a rule of the plugin contract."""
    _check_metadata(region)
    eager = _check_outputs(region, region.example(None), lazy=False)
    lazy = _check_outputs(region, region.example(dict(CHUNKS)), lazy=True)
    assert set(lazy) == set(eager), f"{region.name}: example outputs differ with chunked inputs"
    for key, out in lazy.items():
        a, b = np.asarray(out.values), np.asarray(eager[key].values)
        assert a.shape == b.shape and np.array_equal(a, b, equal_nan=a.dtype.kind == "f"), \
            f"{region.name}: output {key!r} differs between chunked and in-memory inputs"
