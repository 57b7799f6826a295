"""Per-cell kernels of the vegetation factors: one pass, float64 arithmetic, float32 output.

Each returns a bit mask: bit k set when input k holds a value outside its valid range
(NaN is nodata, never out of range); the wrapper then counts the cells for its message.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit


@njit(cache=True, nogil=True)
def ndvi(red, nir, out):
    flags = 0
    for i in range(out.size):
        r = np.float64(red[i])
        n = np.float64(nir[i])
        if r < 0.0:
            flags |= 1
        if n < 0.0:
            flags |= 2
        s = n + r
        out[i] = (n - r) / s if s > 0.0 else np.nan
    return flags


@njit(cache=True, nogil=True)
def fvc(x, soil, veg, out):
    flags = 0
    inv = 1.0 / (veg - soil)
    for i in range(out.size):
        v = np.float64(x[i])
        if v < -1.0 or v > 1.0:
            flags |= 1
        f = (v - soil) * inv
        if f < 0.0:
            f = 0.0
        elif f > 1.0:
            f = 1.0
        out[i] = f
    return flags


@njit(cache=True, nogil=True)
def c_ndvi(x, alpha, beta, out):
    flags = 0
    for i in range(out.size):
        v = np.float64(x[i])
        if v < -1.0 or v > 1.0:
            flags |= 1
        if v <= 0.0:
            out[i] = 1.0
        elif v >= beta:
            out[i] = 0.0
        else:
            out[i] = math.exp(-alpha * v / (beta - v))  # NaN stays NaN
    return flags


@njit(cache=True, nogil=True)
def cai(c, a, b, full, out, stats):
    """Cai et al. (2000) C from cover in percent; stats[0] = max finite cover, stats[1] = cells in (0, 1)."""
    flags = 0
    top = -np.inf
    frac = 0
    for i in range(out.size):
        v = np.float64(c[i])
        if v < 0.0 or v > 100.0:
            flags |= 1
        if v > top:
            top = v
        if 0.0 < v < 1.0:
            frac += 1
        if v > full:
            out[i] = 0.0
        elif v > 0.0:
            r = a - b * math.log10(v)
            out[i] = 1.0 if r > 1.0 else (0.0 if r < 0.0 else r)
        elif v == 0.0 or v < 0.0:
            out[i] = 1.0
        else:
            out[i] = np.nan
    stats[0] = top
    stats[1] = frac
    return flags


@njit(cache=True, nogil=True)
def slr_herb(x, a, b, c, out):
    """Shrub/grass SLR = 1 / (a + b·c^(100·FVC)), clipped to [0, 1]."""
    flags = 0
    lnc = 100.0 * math.log(c)
    for i in range(out.size):
        v = np.float64(x[i])
        if v < 0.0 or v > 1.0:
            flags |= 1
        r = 1.0 / (a + b * math.exp(lnc * v))
        out[i] = 1.0 if r > 1.0 else (0.0 if r < 0.0 else r)
    return flags


@njit(cache=True, nogil=True)
def slr_forest(x, gd, a, b, c, d, out):
    """Forest SLR = a·exp(−b·GD) − c·exp(FVC − FVC·GD) + d, clipped; ``gd`` of size 1 or out.size."""
    flags = 0
    one = gd.size == 1
    for i in range(out.size):
        v = np.float64(x[i])
        g = np.float64(gd[0] if one else gd[i])
        if v < 0.0 or v > 1.0:
            flags |= 1
        if g < 0.0 or g > 1.0:
            flags |= 2
        r = a * math.exp(-b * g) - c * math.exp(v - v * g) + d
        out[i] = 1.0 if r > 1.0 else (0.0 if r < 0.0 else r)
    return flags


@njit(cache=True, nogil=True)
def slr_classes(x, codes, gd, eq, fixed, offset, nodata, has_nodata, kf, ks, kg, out):
    """SLR per cell by land-cover class: ``x`` FVC (k, n), ``codes`` (n), ``gd`` (n) or (1).

    ``eq[code - offset]``: −1 not in the mapping, 0 fixed value ``fixed[...]``, 1 forest,
    2 shrub, 3 grass (constants ``kf`` = a, b, c, d; ``ks``, ``kg`` = a, b, c). Nodata codes
    give NaN. Returns (flags, unknown cells): flag 1 FVC outside [0, 1], 2 GD outside [0, 1],
    4 a forest cell without a canopy closure (NaN GD where FVC is valid).
    """
    k, n = x.shape
    one = gd.size == 1
    flags = 0
    unknown = 0
    lns = 100.0 * math.log(ks[2])
    lng = 100.0 * math.log(kg[2])
    size = eq.size
    for j in range(n):
        c = codes[j]
        if c != c or (has_nodata and c == nodata):
            for i in range(k):
                out[i, j] = np.nan
            continue
        e = -1
        idx = np.int64(c) - offset
        if 0 <= idx < size:
            e = eq[idx]
        if e < 0:
            unknown += 1
            for i in range(k):
                out[i, j] = np.nan
            continue
        g = np.float64(gd[0] if one else gd[j])
        if e == 1 and (g < 0.0 or g > 1.0):
            flags |= 2
        for i in range(k):
            v = np.float64(x[i, j])
            if v < 0.0 or v > 1.0:
                flags |= 1
            if e == 0:
                r = fixed[idx] if v == v else np.nan
            elif e == 1:
                if g != g and v == v:
                    flags |= 4
                r = kf[0] * math.exp(-kf[1] * g) - kf[2] * math.exp(v - v * g) + kf[3]
            elif e == 2:
                r = 1.0 / (ks[0] + ks[1] * math.exp(lns * v))
            else:
                r = 1.0 / (kg[0] + kg[1] * math.exp(lng * v))
            out[i, j] = 1.0 if r > 1.0 else (0.0 if r < 0.0 else r)
    return flags, unknown
