"""Units at the boundary: recognise spellings, convert to the vocabulary's canonical units.

Conversions happen once, when data enters a public function; kernels only ever see the
canonical units of ``erosion/data/variables.toml``. Factors (docs/methods/grids-and-units.md):
R 17.02 (US → SI), K 0.1317, A 2.242 short ton/acre → t/ha (``short_ton acre-1 a-1``;
``t`` always means the metric tonne, 2.471 t/acre → t/ha), 1 t/ha = 100 t/km².
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable

import numpy as np

from . import vocabulary
from .errors import UnitsError

__all__ = ["conversion", "normalise", "same_units"]

_SUPERSCRIPTS = str.maketrans({"⁻": "-", "¹": "1", "²": "2", "³": "3", "·": " ", "*": " "})
_SYNONYMS = {"yr": "a", "year": "a", "y": "a", "deg": "degree", "degrees": "degree", "°": "degree",
             "%": "percent", "pct": "percent", "meter": "m", "metre": "m", "meters": "m",
             "metres": "m", "feet": "ft", "foot": "ft"}
_DIMENSIONLESS = {"", "1", "-", "none", "dimensionless", "unitless", "fraction"}


def normalise(units: str) -> str:
    """Reduce a units string to a canonical key: lower case, ha → hm², exponents cancelled.

    ``"t ha-1 yr-1"``, ``"t·hm⁻²·a⁻¹"`` and ``"t hm-2 a-1"`` all give ``"a-1 hm-2 t"``.
    """
    text = units.strip().translate(_SUPERSCRIPTS).replace("^", "")
    if text.lower() in _DIMENSIONLESS:
        return "1"
    powers: Counter[str] = Counter()
    for token in re.split(r"[\s.]+", text.lower()):
        if not token:
            continue
        match = re.fullmatch(r"([a-z%°]+?)(-?\d+)?", token)
        if match is None:
            return text.lower()
        base, exp = match.group(1), int(match.group(2) or 1)
        base = _SYNONYMS.get(base, base)
        if base == "ha":
            base, exp = "hm", 2 * exp
        powers[base] += exp
    parts = [b if e == 1 else f"{b}{e}" for b, e in sorted(powers.items()) if e != 0]
    return " ".join(parts) if parts else "1"


def _percent_to_degree(x):
    return np.degrees(np.arctan(np.asarray(x, dtype=np.float64) / 100.0))


# For each canonical unit: other units (as people write them) and how to convert from them.
_SPELLED: dict[str, dict[str, float | Callable]] = {
    "m": {"km": 1000.0, "ft": 0.3048, "cm": 0.01},
    "m2": {"km2": 1.0e6, "ha": 1.0e4},
    # soil fractions and contents: SoilGrids gives texture in g/kg and organic carbon in dg/kg
    "percent": {"g kg-1": 0.1, "dg kg-1": 0.01},
    # soil mechanics (loess gravity erosion); MPa is left out: units are lower-cased, so MPa = mPa
    "kPa": {"Pa": 0.001},
    "kN m-3": {"N m-3": 0.001},
    "degree": {"percent": _percent_to_degree, "radian": np.degrees},
    "t hm-2 a-1": {"t km-2 a-1": 0.01, "kg m-2 a-1": 10.0,
                   # t is the metric tonne; US "tons per acre" are short tons (2.242)
                   "t acre-1 a-1": 2.4710538, "short_ton acre-1 a-1": 2.2417023},
    "t km-2 a-1": {"t hm-2 a-1": 100.0},
    "MJ mm hm-2 h-1 a-1": {"hundreds ft tonf in acre-1 h-1 a-1": 17.02},
    "t hm2 h hm-2 MJ-1 mm-1": {"t acre h hundreds-1 acre-1 ft-1 tonf-1 in-1": 0.1317,
                               "short_ton acre h hundreds-1 acre-1 ft-1 tonf-1 in-1": 0.1317},
}
_CONVERSIONS = {normalise(dst): {normalise(src): f for src, f in spelled.items()} for dst, spelled in _SPELLED.items()}


def same_units(a: str, b: str) -> bool:
    """True if two unit strings mean the same units."""
    return normalise(a) == normalise(b)


def conversion(from_units: str, variable: str) -> float | Callable | None:
    """How to convert values in ``from_units`` to the canonical units of ``variable``.

    Returns ``None`` when no conversion is needed, a factor, or a function. Raises
    :class:`UnitsError` when the units are unknown for this variable.
    """
    target = vocabulary.get(variable).units
    src, dst = normalise(from_units), normalise(target)
    if src == dst:
        return None
    try:
        return _CONVERSIONS[dst][src]
    except KeyError:
        known = [target, *next((list(v) for k, v in _SPELLED.items() if normalise(k) == dst), [])]
        raise UnitsError(
            f"{variable}: units {from_units!r} cannot be converted to {target!r}; "
            f"accepted units are {known}. Fix the 'units' attribute or convert the data first."
        ) from None
