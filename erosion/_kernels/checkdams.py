"""numba kernels for check dams: snapping outlets to the flow path and labelling their catchments.

Plain-array functions only; the wrapper is :mod:`erosion.plan.checkdams`. Arrays are north-up
(row 0 is the northern edge) and D8 codes follow ESRI (ADR 0003), read with the receiver rule of
:mod:`erosion._kernels.terrain` (flow toward a cell off the grid or in nodata leaves the grid).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from .terrain import NODATA_DIR, _receiver


@njit(cache=True, nogil=True)
def snap_to_flow_path(acc, row, col, fx, fy, dx_m, dy_m, radius_m):
    """The cell of largest accumulation among the cell holding a point and the cells whose centres
    lie within ``radius_m`` of it; ties go to the nearest.

    ``row``, ``col``: the cell holding the point; ``fx``, ``fy``: the point's offset from that
    cell's centre in cells (east and south positive); ``dx_m``, ``dy_m``: the cell's sides in
    metres at the point's row. Distances are ``√((Δcol·dx)² + (Δrow·dy)²)`` from the point to
    cell centres. NaN (nodata) cells are skipped. Returns ``(row, col, distance_m)``, (-1, -1,
    nan) when no valid cell is a candidate (radius 0: the cell holding the point, no snapping).
    """
    ny, nx = acc.shape
    ri = math.ceil(radius_m / dy_m) + 1
    rj = math.ceil(radius_m / dx_m) + 1
    best_i, best_j = -1, -1
    best_a = -np.inf
    best_d = np.inf
    for i in range(max(row - ri, 0), min(row + ri + 1, ny)):
        for j in range(max(col - rj, 0), min(col + rj + 1, nx)):
            a = acc[i, j]
            if not a == a:  # NaN
                continue
            d = math.sqrt(((j - col - fx) * dx_m) ** 2 + ((i - row - fy) * dy_m) ** 2)
            if d > radius_m and not (i == row and j == col):  # the cell holding the point always counts
                continue
            if a > best_a or (a == best_a and d < best_d):
                best_a = a
                best_d = d
                best_i = i
                best_j = j
    if best_i < 0:
        return -1, -1, np.nan
    return best_i, best_j, best_d


@njit(cache=True, nogil=True)
def label_catchments(fdir, outlet_rows, outlet_cols):
    """Incremental catchments: each cell labelled with the first outlet it drains to along D8.

    Outlet k (0-based) labels its own cell ``k + 1``; a cell that reaches no outlet before
    leaving the grid gets 0; nodata (code 255) gets -1. Each cell's path is followed down to the
    first labelled cell and the label is written back along the path, so every cell is visited
    a bounded number of times: O(n). Returns ``(labels int32, downstream int64)``:
    ``downstream[k]`` is the 0-based index of the next outlet below outlet k, -1 if none.
    Raises no error on loops; a loop's cells are labelled -2 (the wrapper refuses them).
    """
    ny, nx = fdir.shape
    n = ny * nx
    labels = np.full((ny, nx), -3, dtype=np.int32)  # -3 = not yet known
    flat = labels.reshape(n)
    for i in range(ny):
        for j in range(nx):
            if fdir[i, j] == NODATA_DIR:
                labels[i, j] = -1
    for k in range(outlet_rows.shape[0]):
        labels[outlet_rows[k], outlet_cols[k]] = k + 1
    path = np.empty(n, dtype=np.int64)
    on_path = np.zeros(n, dtype=np.bool_)
    for start in range(n):
        if flat[start] != -3:
            continue
        length = 0
        c = start
        found = 0
        while True:
            if flat[c] != -3:
                found = flat[c]
                break
            if on_path[c]:  # a loop in the directions
                found = -2
                break
            on_path[c] = True
            path[length] = c
            length += 1
            ci = c // nx
            d = _receiver(fdir, ci, c - ci * nx)[0]
            if d < 0:  # leaves the grid or stops (a pit): drains to no dam
                found = 0
                break
            c = d
        for p in range(length):
            flat[path[p]] = found
            on_path[path[p]] = False
    m = outlet_rows.shape[0]
    downstream = np.full(m, -1, dtype=np.int64)
    for k in range(m):
        d = _receiver(fdir, outlet_rows[k], outlet_cols[k])[0]
        if d >= 0 and flat[d] > 0:
            downstream[k] = flat[d] - 1
    return labels, downstream


@njit(cache=True, nogil=True)
def zonal_sums(labels, m, area, values):
    """Per label 1..m: (Σ area, Σ area·value over valid values, Σ area where value is NaN)."""
    tot = np.zeros(m + 1)
    weighted = np.zeros(m + 1)
    missing = np.zeros(m + 1)
    ny, nx = labels.shape
    for i in range(ny):
        for j in range(nx):
            lab = labels[i, j]
            if lab <= 0:
                continue
            a = area[i, j]
            tot[lab] += a
            v = values[i, j]
            if v == v:
                weighted[lab] += a * v
            else:
                missing[lab] += a
    return tot[1:], weighted[1:], missing[1:]
