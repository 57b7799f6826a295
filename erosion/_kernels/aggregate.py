"""Zonal area kernel: area by (unit, intensity class) for one block, one pass."""

from __future__ import annotations

import numpy as np
from numba import njit

#: Columns of the per-block table: classes 0..6 (combined), water eroded, wind eroded.
N_COLUMNS = 9


@njit(cache=True, nogil=True)
def class_areas(codes, water, wind, has_wind, area, n_units):
    """Area table (n_units, 9) of one block.

    ``codes`` (int64, 2-D): dense unit index per cell, -1 outside every unit.
    ``water``, ``wind`` (uint8, 2-D): classes 0..6 (``wind`` ignored unless ``has_wind``).
    ``area`` (float64, 2-D): cell areas, shape (ny, nx) or (ny, 1) for one area per row.
    Column k < 7 sums the area of cells whose class max(water, wind) is k; with wind, column 7
    sums cells with water class >= 2 (light or worse) and column 8 cells with wind class >= 2.
    """
    ny, nx = codes.shape
    table = np.zeros((n_units, 9), dtype=np.float64)
    per_row = area.shape[1] == 1
    for i in range(ny):
        for j in range(nx):
            u = codes[i, j]
            if u < 0:
                continue
            a = area[i, 0] if per_row else area[i, j]
            c = water[i, j]
            if has_wind:
                w = wind[i, j]
                k = c if c >= w else w
                if c >= 2:
                    table[u, 7] += a
                if w >= 2:
                    table[u, 8] += a
            else:
                k = c
            table[u, k] += a
    return table
