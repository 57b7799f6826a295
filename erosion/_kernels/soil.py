"""Per-cell kernels of the K (soil erodibility) factor: one pass computes K and checks the inputs.

Plain-array numba functions over 1-D views (``erosion.factors.soil`` broadcasts and reshapes).
Each returns a bit set of what it found, so that the wrapper counts cells and writes a message
only when something is wrong; the formulas are documented in ``erosion/factors/soil.py`` and
``docs/methods/soil.md``. Cells with a NaN input give NaN. Cells with an input outside its valid
range or an unknown code give NaN when ``nan_bad`` (``data_validation="warn"``), otherwise the
formula's value (the wrapper raises before anyone sees it).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

#: bit i (i < 8): input i lies outside its valid range in some cell
SUM_BIT = 8        # texture fractions do not sum to 100 within the tolerance
PERCENT_BIT = 9    # some texture value exceeds 1 (evidence that the input is in percent)
CODE_BIT = 10      # unknown structure code
CODE2_BIT = 11     # unknown permeability code
OVER_BIT = 12      # silt + very fine sand + clay above 100
VALID_BIT = 13     # at least one cell gave a number


@njit(cache=True, nogil=True)
def _bad_pct(x):
    return not (0.0 <= x <= 100.0)


@njit(cache=True, nogil=True)
def _texture(sa, si, cl, tol, normalise):
    """Flags and (possibly rescaled) fractions of one cell."""
    flags = 0
    if _bad_pct(sa):
        flags |= 1
    if _bad_pct(si):
        flags |= 2
    if _bad_pct(cl):
        flags |= 4
    if sa > 1.0 or si > 1.0 or cl > 1.0:
        flags |= 1 << PERCENT_BIT
    total = sa + si + cl
    if abs(total - 100.0) > tol:
        flags |= 1 << SUM_BIT
    elif normalise and total > 0.0:
        f = 100.0 / total
        sa, si, cl = sa * f, si * f, cl * f
    return flags, sa, si, cl


@njit(cache=True, nogil=True)
def k_epic(sand, silt, clay, oc, out, tol, normalise, si_factor, corr_a, corr_b, correct, minimum, nan_bad):
    """EPIC K (Williams 1995) in SI units, optionally K' = a + b·K (Zhang et al. 2007), ≥ minimum."""
    flags = 0
    for i in range(out.size):
        sa, si, cl, c = float(sand[i]), float(silt[i]), float(clay[i]), float(oc[i])
        if sa != sa or si != si or cl != cl or c != c:
            out[i] = np.nan
            continue
        f, sa, si, cl = _texture(sa, si, cl, tol, normalise)
        if _bad_pct(c):
            f |= 8
        flags |= f
        if nan_bad and (f & 15):
            out[i] = np.nan
            continue
        f_csand = 0.2 + 0.3 * math.exp(-0.0256 * sa * (1.0 - si / 100.0))
        f_cl_si = (si / (cl + si)) ** 0.3 if si > 0.0 else 0.0
        f_orgc = 1.0 - 0.25 * c / (c + math.exp(3.72 - 2.95 * c))
        sn1 = 1.0 - sa / 100.0
        f_hisand = 1.0 - 0.7 * sn1 / (sn1 + math.exp(-5.51 + 22.9 * sn1))
        k = si_factor * f_csand * f_cl_si * f_orgc * f_hisand
        if correct:
            k = corr_a + corr_b * k
        out[i] = max(k, minimum)
        flags |= 1 << VALID_BIT
    return flags


@njit(cache=True, nogil=True)
def k_gmd(sand, silt, clay, out, ln_m_sand, ln_m_silt, ln_m_clay, tol, normalise, minimum, nan_bad):
    """AH703 eq. 3-5 K from the geometric mean diameter Dg of the three texture classes (SI)."""
    flags = 0
    for i in range(out.size):
        sa, si, cl = float(sand[i]), float(silt[i]), float(clay[i])
        if sa != sa or si != si or cl != cl:
            out[i] = np.nan
            continue
        f, sa, si, cl = _texture(sa, si, cl, tol, normalise)
        flags |= f
        if nan_bad and (f & 7):
            out[i] = np.nan
            continue
        log10_dg = 0.01 * (sa * ln_m_sand + si * ln_m_silt + cl * ln_m_clay) / math.log(10.0)
        z = (log10_dg + 1.659) / 0.7101
        out[i] = max(0.0034 + 0.0405 * math.exp(-0.5 * z * z), minimum)
        flags |= 1 << VALID_BIT
    return flags


@njit(cache=True, nogil=True)
def _bad_code(x, top):
    return not (1.0 <= x <= top) or x != math.floor(x)


@njit(cache=True, nogil=True)
def k_nomograph(silt_vfs, clay, om, structure, permeability, out, om_cap, tol, si_factor, minimum, nan_bad):
    """Wischmeier et al. (1971) nomograph equation, K_SI = si_factor · K_US, ≥ minimum."""
    flags = 0
    for i in range(out.size):
        sv, cl, o = float(silt_vfs[i]), float(clay[i]), float(om[i])
        s, p = float(structure[i]), float(permeability[i])
        if sv != sv or cl != cl or o != o or s != s or p != p:
            out[i] = np.nan
            continue
        f = 0
        if _bad_pct(sv):
            f |= 1
        if _bad_pct(cl):
            f |= 2
        if _bad_pct(o):
            f |= 4
        if sv > 1.0 or cl > 1.0:
            f |= 1 << PERCENT_BIT
        if sv + cl > 100.0 + tol:
            f |= 1 << OVER_BIT
        if _bad_code(s, 4.0):
            f |= 1 << CODE_BIT
        if _bad_code(p, 6.0):
            f |= 1 << CODE2_BIT
        flags |= f
        if nan_bad and (f & (7 | 1 << CODE_BIT | 1 << CODE2_BIT)):
            out[i] = np.nan
            continue
        m = sv * (100.0 - cl)
        o = min(o, om_cap)
        k_us = (2.1e-4 * m**1.14 * (12.0 - o) + 3.25 * (s - 2.0) + 2.5 * (p - 3.0)) / 100.0
        out[i] = max(si_factor * k_us, minimum)
        flags |= 1 << VALID_BIT
    return flags
