"""Kernels of the daily rainfall-erosivity models (erosion.factors.rainfall).

Both kernels stream once over one block of daily rain laid out as (days, cells), C order, so
the inner loop walks contiguous cells of one day. They accumulate into small per-cell outputs
(a few float64 per cell), which is what keeps the chunked computation bounded by the block
size: a dask block of ``ct`` days and ``n`` cells yields 6·n (statistics) or 24·n (half-month
sums) numbers, whatever ``ct`` is.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

#: Channels of the statistics kernel.
SUM_EROSIVE, N_EROSIVE, YEARS, N_MISSING, N_NEGATIVE, N_ABOVE = 0, 1, 2, 3, 4, 5
N_STATS = 6

#: Missing-value modes of the statistics kernel.
MISSING_COUNT, MISSING_ZERO, MISSING_SKIP = 0, 1, 2


@njit(cache=True, nogil=True)
def daily_statistics(rain, year_weight, threshold, mode, upper):
    """Per-cell sums over the days of one block.

    ``rain`` (days, cells); ``year_weight[t]`` = 1 / (days in the year of day t). Returns
    (6, cells) float64: the rain of erosive days (≥ ``threshold``), their number, the years
    observed (Σ of ``year_weight`` over the days that count), missing (NaN) days, negative
    days and days above ``upper`` (mm; implausible, likely wrong units). ``mode``:
    MISSING_COUNT and MISSING_ZERO count every day in the years observed (a NaN day is then a
    dry day), MISSING_SKIP only the days with data.
    """
    nt, n = rain.shape
    out = np.zeros((N_STATS, n), dtype=np.float64)
    for t in range(nt):
        w = year_weight[t]
        for c in range(n):
            d = rain[t, c]
            if math.isnan(d):
                out[N_MISSING, c] += 1.0
                if mode != MISSING_SKIP:
                    out[YEARS, c] += w
                continue
            out[YEARS, c] += w
            if d < 0.0:
                out[N_NEGATIVE, c] += 1.0
            elif d >= threshold:
                out[SUM_EROSIVE, c] += d
                out[N_EROSIVE, c] += 1.0
                if d > upper:
                    out[N_ABOVE, c] += 1.0
    return out


@njit(cache=True, nogil=True)
def group_sums(rain, group, n_groups, day_alpha, alpha, beta, threshold):
    """Σ over the days of one block of ``day_alpha[t]·alpha[c]·D^beta[c]`` for D ≥ threshold,
    per group ``group[t]`` (0..n_groups-1: the half-month, or the year) and cell:
    (n_groups, cells) float64.

    NaN and negative days contribute nothing (the statistics kernel counts and reports them).
    """
    nt, n = rain.shape
    out = np.zeros((n_groups, n), dtype=np.float64)
    for t in range(nt):
        h = group[t]
        a = day_alpha[t]
        for c in range(n):
            d = rain[t, c]
            if d >= threshold:  # False for NaN
                out[h, c] += a * alpha[c] * math.exp(beta[c] * math.log(d))
    return out
