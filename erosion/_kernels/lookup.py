"""Code-table lookup and the half-month weighted sum of the B factor: one pass per cell."""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, nogil=True)
def lookup_codes(codes, lut, offset, nodata, has_nodata, out):
    """``out[i] = lut[codes[i] - offset]`` for the 1-D array ``codes``; return the unknown count.

    A NaN code, or ``codes[i] == nodata`` when ``has_nodata``, gives NaN (nodata). A code
    outside the LUT or whose LUT entry is NaN (no row in the table) gives NaN and is counted
    as unknown.
    """
    n_unknown = 0
    size = lut.size
    for i in range(codes.size):
        c = codes[i]
        if c != c or (has_nodata and c == nodata):
            out[i] = np.nan
            continue
        k = np.int64(c) - offset
        if 0 <= k < size:
            v = lut[k]
            if v == v:
                out[i] = v
                continue
        out[i] = np.nan
        n_unknown += 1
    return n_unknown


@njit(cache=True, nogil=True)
def weighted_sum(values, weights, out, lo, hi):
    """``out[j] = Σ_i values[i, j] · weights[i, j or 0]`` over the first axis, in float64.

    ``values`` is (k, n), ``weights`` (k, 1) or (k, n). Returns a bit mask of range problems:
    1 a value outside [lo, hi], 2 a weight outside [0, 1]. NaN propagates to ``out``.
    """
    k, n = values.shape
    per_cell = weights.shape[1] != 1
    flags = 0
    tile = 2048
    acc = np.empty(tile, dtype=np.float64)
    for start in range(0, n, tile):
        stop = min(start + tile, n)
        m = stop - start
        acc[:m] = 0.0
        for i in range(k):
            for j in range(m):
                v = values[i, start + j]
                w = weights[i, start + j] if per_cell else weights[i, 0]
                if v < lo or v > hi:
                    flags |= 1
                if w < 0.0 or w > 1.0:
                    flags |= 2
                acc[j] += np.float64(v) * np.float64(w)
        for j in range(m):
            out[start + j] = acc[j]
    return flags
