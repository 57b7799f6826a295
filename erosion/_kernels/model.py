"""Fused per-cell soil-loss products (CSLE, RUSLE) with in-loop range checks.

Each kernel reads its factor arrays once and writes the product once. Validation rides along
as branch-free flags, so it costs no extra pass over memory: the returned integer has bit j
set when factor j holds a value outside [lo[j], hi[j]] (NaN is not out of range; it
propagates), and bit ``VALID_BIT`` set when at least one output is a number. The caller
counts the offending cells only on the (rare) failure path. All arrays are 1-D and of one
length; a scalar factor arrives as a zero-stride view.
"""

from __future__ import annotations

import numpy as np
from numba import njit

VALID_BIT = 62


@njit(cache=True, nogil=True)
def _flags(b0, b1, b2, b3, b4, b5, valid):
    return (np.int64(b0) | np.int64(b1) << 1 | np.int64(b2) << 2 | np.int64(b3) << 3 | np.int64(b4) << 4
            | np.int64(b5) << 5 | np.int64(valid) << VALID_BIT)


@njit(cache=True, nogil=True)
def csle_product(R, K, LS, B, E, T, lo, hi, out):
    """A = R·K·LS·B·E·T."""
    l0, l1, l2, l3, l4, l5 = lo[0], lo[1], lo[2], lo[3], lo[4], lo[5]
    h0, h1, h2, h3, h4, h5 = hi[0], hi[1], hi[2], hi[3], hi[4], hi[5]
    b0 = b1 = b2 = b3 = b4 = b5 = valid = False
    for i in range(out.size):
        r, k, ls, b, e, t = R[i], K[i], LS[i], B[i], E[i], T[i]
        b0 |= (r < l0) | (r > h0)
        b1 |= (k < l1) | (k > h1)
        b2 |= (ls < l2) | (ls > h2)
        b3 |= (b < l3) | (b > h3)
        b4 |= (e < l4) | (e > h4)
        b5 |= (t < l5) | (t > h5)
        a = np.float64(r) * k * ls * b * e * t
        valid |= a == a
        out[i] = a
    return _flags(b0, b1, b2, b3, b4, b5, valid)


@njit(cache=True, nogil=True)
def csle_product_cropland(R, K, LS, B, E, T, crop, lo, hi, out):
    """A = R·K·LS·B·E·T with B = 1 where ``crop`` is 1, T = 1 where it is 0, NaN where it is 2 (nodata)."""
    l0, l1, l2, l3, l4, l5 = lo[0], lo[1], lo[2], lo[3], lo[4], lo[5]
    h0, h1, h2, h3, h4, h5 = hi[0], hi[1], hi[2], hi[3], hi[4], hi[5]
    b0 = b1 = b2 = b3 = b4 = b5 = valid = False
    for i in range(out.size):
        r, k, ls, b, e, t = R[i], K[i], LS[i], B[i], E[i], T[i]
        b0 |= (r < l0) | (r > h0)
        b1 |= (k < l1) | (k > h1)
        b2 |= (ls < l2) | (ls > h2)
        b3 |= (b < l3) | (b > h3)
        b4 |= (e < l4) | (e > h4)
        b5 |= (t < l5) | (t > h5)
        bt = t if crop[i] == 1 else b
        a = np.float64(r) * k * ls * e * bt
        if crop[i] > 1:
            a = np.nan
        valid |= a == a
        out[i] = a
    return _flags(b0, b1, b2, b3, b4, b5, valid)


@njit(cache=True, nogil=True)
def rusle_product(R, K, LS, C, P, lo, hi, out):
    """A = R·K·LS·C·P; flags as in :func:`csle_product`."""
    l0, l1, l2, l3, l4 = lo[0], lo[1], lo[2], lo[3], lo[4]
    h0, h1, h2, h3, h4 = hi[0], hi[1], hi[2], hi[3], hi[4]
    b0 = b1 = b2 = b3 = b4 = valid = False
    for i in range(out.size):
        r, k, ls, c, p = R[i], K[i], LS[i], C[i], P[i]
        b0 |= (r < l0) | (r > h0)
        b1 |= (k < l1) | (k > h1)
        b2 |= (ls < l2) | (ls > h2)
        b3 |= (c < l3) | (c > h3)
        b4 |= (p < l4) | (p > h4)
        a = np.float64(r) * k * ls * c * p
        valid |= a == a
        out[i] = a
    return _flags(b0, b1, b2, b3, b4, False, valid)
