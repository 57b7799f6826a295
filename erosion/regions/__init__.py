"""Regional submodels as plugins: wind erosion, Loess Plateau gravity erosion, Northeast black soil.

A plugin is a :class:`Region`: a name, a description, its maturity ("established" or
"experimental"), the vocabulary variables it needs and produces, its references, its public
functions, its regional settings, and an ``example`` that runs it on small inputs (used by the
conformance suite, :mod:`erosion.regions.conformance`). Plugins are found through the
entry-point group ``erosion.regions``; the built-ins (``wind``, ``loess``, ``blacksoil``)
register the same way, in this package's ``pyproject.toml``. A third-party package registers
its own with::

    [project.entry-points."erosion.regions"]
    myregion = "mypackage.region:REGION"

A plugin that fails to load gives a warning and is left out; two plugins with one name give a
warning and the first found is kept.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib.metadata import entry_points
from typing import Any, Literal

from ..errors import UnknownCodeError

__all__ = ["GROUP", "Region", "RegionWarning", "get", "names", "refresh"]

GROUP = "erosion.regions"
"""The entry-point group plugins register in."""

Maturity = Literal["established", "experimental"]


class RegionWarning(UserWarning):
    """A region plugin could not be loaded, or two plugins share a name."""


@dataclass(frozen=True)
class Region:
    """A regional submodel.

    ``needs`` and ``produces`` are variable names of the vocabulary
    (``erosion/data/variables.toml``); ``functions`` maps the names of its public functions to
    them; ``settings`` holds its regional defaults (for example the tolerable soil loss);
    ``example(chunks)`` runs the submodel on small inputs built in memory (dask-chunked with
    ``chunks``, a dict for ``DataArray.chunk``, or None) and returns its outputs by name, each
    a DataArray named after a variable of ``produces``.
    """

    name: str
    description: str
    maturity: Maturity
    needs: tuple[str, ...]
    produces: tuple[str, ...]
    references: tuple[str, ...]
    functions: Mapping[str, Callable[..., Any]]
    example: Callable[[dict | None], Mapping[str, Any]]
    settings: Mapping[str, Any] = field(default_factory=dict)

    def __repr__(self) -> str:
        return f"Region({self.name!r}, {self.maturity}: {self.description})"


@cache
def _registry() -> dict[str, Region]:
    found: dict[str, Region] = {}
    for ep in sorted(entry_points(group=GROUP), key=lambda e: (e.dist.name if e.dist else "", e.name)):
        where = f"{ep.name} = {ep.value}" + (f" (from {ep.dist.name})" if ep.dist else "")
        try:
            region = ep.load()
        except Exception as exc:  # a broken plugin must not break the library
            warnings.warn(f"erosion region plugin {where} failed to load and is left out: "
                          f"{type(exc).__name__}: {exc}", RegionWarning, stacklevel=3)
            continue
        if not isinstance(region, Region):
            warnings.warn(f"erosion region plugin {where} is a {type(region).__name__}, not an "
                          "erosion.regions.Region, and is left out", RegionWarning, stacklevel=3)
            continue
        if region.name != ep.name:
            warnings.warn(f"erosion region plugin {where} calls itself {region.name!r}; it is registered "
                          f"as {ep.name!r}", RegionWarning, stacklevel=3)
        if ep.name in found:
            warnings.warn(f"two erosion region plugins are named {ep.name!r}: {where} is left out, the "
                          "first one found is kept", RegionWarning, stacklevel=3)
            continue
        found[ep.name] = region
    return found


def names() -> list[str]:
    """The names of the registered region plugins, sorted."""
    return sorted(_registry())


def get(name: str) -> Region:
    """The region plugin ``name``; :class:`~erosion.errors.UnknownCodeError` if none is registered."""
    try:
        return _registry()[name]
    except KeyError:
        raise UnknownCodeError(f"no erosion region plugin named {name!r}; registered: {', '.join(names()) or 'none'}. "
                               f"Plugins register in the entry-point group {GROUP!r}.") from None


def refresh() -> None:
    """Forget the plugins found so far, so that the next call looks again (after installing one)."""
    _registry.cache_clear()
