"""The variable vocabulary: units, valid range and description of every variable.

The table lives in ``erosion/data/variables.toml``; this module only reads it.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache
from importlib import resources

from .errors import UnknownCodeError

__all__ = ["Variable", "get", "names"]


@dataclass(frozen=True)
class Variable:
    """One entry of the vocabulary."""

    name: str
    units: str
    long_name: str
    description: str
    valid_min: float | None = None
    valid_max: float | None = None

    def cf_attrs(self) -> dict[str, str]:
        """CF attributes for an output of this variable."""
        return {"units": self.units, "long_name": self.long_name}


@cache
def _table() -> dict[str, Variable]:
    raw = tomllib.loads(resources.files("erosion.data").joinpath("variables.toml").read_text("utf-8"))
    return {name: Variable(name=name, **fields) for name, fields in raw.items()}


def get(name: str) -> Variable:
    """Return the vocabulary entry ``name``; raise :class:`UnknownCodeError` if it is missing."""
    try:
        return _table()[name]
    except KeyError:
        raise UnknownCodeError(
            f"variable {name!r} is not in the erosion vocabulary (erosion/data/variables.toml); "
            f"known variables: {', '.join(sorted(_table()))}"
        ) from None


def names() -> list[str]:
    """All variable names in the vocabulary, sorted."""
    return sorted(_table())
