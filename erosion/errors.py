"""One exception hierarchy for the whole library.

Every error a user can cause derives from :class:`ErosionError`, so callers can catch the
library's complaints without catching their own bugs. The input errors also derive from
:class:`ValueError` (or :class:`KeyError` for unknown codes), so generic handlers keep working.
"""

from __future__ import annotations


class ErosionError(Exception):
    """Base class of every error raised on purpose by erosion."""


class InputError(ErosionError, ValueError):
    """An input is unusable: wrong type, shape, missing file, all-NaN data, and so on."""


class MissingFileError(InputError, FileNotFoundError):
    """An input file does not exist or cannot be opened."""


class GridMismatchError(InputError):
    """Rasters that must share a grid (CRS, transform, shape) do not."""


class UnitsError(InputError):
    """An input has missing, unknown or inconvertible units."""


class ValueRangeError(InputError):
    """Values lie outside the physically valid range of their variable."""


class UnknownCodeError(InputError):
    """A code (class scheme, land-use or measure code, rule name) is not known."""


class ConfigError(ErosionError, ValueError):
    """A run configuration is invalid."""
