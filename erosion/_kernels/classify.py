"""Intensity-class kernel (SL 190-2007): one pass, modulus computed in float64 per cell."""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, nogil=True)
def intensity_classes(a, scale, tol, thresholds, out):
    """Class of every cell of the 1-D array ``a`` into ``out`` (uint8).

    M = float64(a[i]) * scale (t km-2 a-1); T = tol[0] if tol has one element, else tol[i].
    0 no data (M or T NaN, or M < 0), 1 slight M < T, 2 light T <= M <= thresholds[0],
    then k + 2 for thresholds[k] < M <= thresholds[k + 1], 6 severe M > thresholds[3].
    """
    one_tol = tol.size == 1
    nt = thresholds.size
    for i in range(a.size):
        m = np.float64(a[i]) * scale
        t = tol[0] if one_tol else tol[i]
        if np.isnan(m) or np.isnan(t) or m < 0.0:
            out[i] = 0
        elif m < t:
            out[i] = 1
        else:
            k = 2
            for j in range(nt):
                if m > thresholds[j]:
                    k = j + 3
            out[i] = k
