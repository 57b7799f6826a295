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
    bad_v = 0
    bad_w = 0
    tile = 4096
    acc = np.empty(tile, dtype=np.float64)
    for start in range(0, n, tile):
        stop = min(start + tile, n)
        m = stop - start
        acc[:m] = 0.0
        for i in range(k):
            row = values[i, start:stop]
            if per_cell:
                wrow = weights[i, start:stop]
                for j in range(m):
                    v = np.float64(row[j])
                    w = np.float64(wrow[j])
                    acc[j] += v * w
                    bad_v += (v < lo) | (v > hi)  # counting, not branching, keeps the loop vectorised
                    bad_w += (w < 0.0) | (w > 1.0)
            else:
                w = np.float64(weights[i, 0])
                bad_w += (w < 0.0) | (w > 1.0)
                for j in range(m):
                    v = np.float64(row[j])
                    acc[j] += v * w
                    bad_v += (v < lo) | (v > hi)
        for j in range(m):
            out[start + j] = acc[j]
    return (1 if bad_v else 0) | (2 if bad_w else 0)
