"""numba kernels for DEM conditioning: exact priority-flood, flat resolution and breaching.

Plain-array functions only (no xarray, no dask); the wrappers are ``fill_depressions`` and
``breach_depressions`` in ``erosion/factors/terrain/routing.py``. Grid conventions, the D8
neighbour order and the (elevation, index) heap are those of ``erosion/_kernels/terrain.py``.
Outlets (seeds) are the valid cells on the grid edge or beside a NaN cell, as in
:func:`erosion._kernels.terrain.priority_flood_epsilon`. See docs/methods/conditioning.md.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from .terrain import _DI, _DJ, _NEAR_ZERO, _NEAR_ZERO_STEP, _nb, _neighbour, _pop, _push, outlet_mask, priority_flood_epsilon

FLATS = ("epsilon", "barnes")
"""Flat rules of ``fill_depressions``: ulps along the flood order, or Barnes et al. (2014b)."""

REF_FLATS = ("Barnes, R., Lehman, C., Mulla, D. (2014) An efficient assignment of drainage direction over flat "
             "surfaces in raster digital elevation models. Comput. Geosci. 62:128-135")
REF_BREACH = ("Lindsay, J.B. (2016) Efficient hybrid breaching-filling sink removal methods for flow path "
              "enforcement in digital elevation models. Hydrol. Process. 30(6):846-857")

_SIGN = np.int64(-0x7FFFFFFFFFFFFFFF - 1)
_MAGNITUDE = np.int64(0x7FFFFFFFFFFFFFFF)
@njit(cache=True, nogil=True, inline="always")
def _below(t):
    """The next step below t: one ulp, or ``_NEAR_ZERO_STEP`` where |t| < ``_NEAR_ZERO`` (near zero)."""
    return np.nextafter(t, -np.inf) if abs(t) >= _NEAR_ZERO else t - _NEAR_ZERO_STEP


@njit(cache=True, nogil=True, inline="always")
def _ulps_up(bits, m):
    """Bit pattern of the float64 ``bits`` raised by m ulps (m-fold nextafter towards +inf).

    Maps the pattern to an ordinal that grows with the value (−0 and +0 both 0), adds m, maps back.
    """
    o = bits if bits >= 0 else -(bits & _MAGNITUDE)
    o += m
    return o if o >= 0 else (-o) | _SIGN


@njit(cache=True, nogil=True, inline="always")
def _raise_cell(flat, bits, c, m):
    """Raise ``flat[c]`` by m steps in place: ulps (on ``bits``, its int64 view), or
    ``_NEAR_ZERO_STEP`` near 0 (the flat-resolution increments)."""
    if abs(flat[c]) >= _NEAR_ZERO:
        bits[c] = _ulps_up(bits[c], m)
    else:
        flat[c] = flat[c] + m * _NEAR_ZERO_STEP


@njit(cache=True, nogil=True)
def priority_flood_exact(z):
    """Fill depressions to exact flats: priority-flood with a pit queue (Barnes et al. 2014a, Alg. 2).

    Seeds are the outlets. A neighbour ``n`` reached from ``c`` becomes ``max(z[n], z[c])``; the
    raised ones go through a FIFO (they are at the current level, below everything in the heap).
    Higher cells are traced up the slope without the heap (Zhou et al. 2016), as in
    :func:`erosion._kernels.terrain.priority_flood_epsilon`. Every output value is an input
    value, ``min over paths from an outlet of the highest elevation on the path``: filled
    depressions become flats at their spill level.
    """
    ny, nx = z.shape
    n = ny * nx
    out = z.copy()
    flat = out.reshape(n)
    seed = outlet_mask(z).reshape(n)
    closed = np.zeros(n, dtype=np.bool_)
    hz = np.empty(n, dtype=np.float64)
    hi = np.empty(n, dtype=np.int64)
    size = 0
    for c in range(n):
        if not math.isfinite(flat[c]):
            closed[c] = True
        elif seed[c]:
            closed[c] = True
            size = _push(hz, hi, size, flat[c], c)
    offsets = np.empty(8, dtype=np.int64)
    for k in range(8):
        offsets[k] = _DI[k] * nx + _DJ[k]
    pit = np.empty(n, dtype=np.int64)
    trace = np.empty(n, dtype=np.int64)
    head = 0
    tail = 0
    while size > 0 or head < tail:
        if head < tail:
            c = pit[head]
            head += 1
        else:
            c = hi[0]
            size = _pop(hz, hi, size)
        trace[0] = c
        top = 1
        first = True
        while top > 0:  # c, then higher cells settled without the heap (Zhou et al. 2016)
            top -= 1
            t = trace[top]
            zt = flat[t]
            ti = t // nx
            tj = t - ti * nx
            inner = 0 < ti < ny - 1 and 0 < tj < nx - 1
            if not first:
                wait = False
                for k in range(8):
                    nb = _neighbour(t, k, ti, tj, inner, offsets, ny, nx)
                    if nb >= 0 and not closed[nb] and flat[nb] <= zt:
                        wait = True
                        break
                if wait:  # an open neighbour at or below it: its turn comes from the heap
                    size = _push(hz, hi, size, zt, t)
                    continue
            first = False
            for k in range(8):
                nb = _neighbour(t, k, ti, tj, inner, offsets, ny, nx)
                if nb < 0 or closed[nb]:
                    continue
                closed[nb] = True
                if flat[nb] <= zt:
                    flat[nb] = zt
                    pit[tail] = nb
                    tail += 1
                else:
                    trace[top] = nb
                    top += 1
    return out


@njit(cache=True, nogil=True)
def resolve_flats(z):
    """Raise flat cells by ulps along the combined gradient of Barnes, Lehman & Mulla (2014b).

    ``z`` must drain everywhere except on flats (e.g. :func:`priority_flood_exact`). A flat cell
    is valid, not an outlet, and has no strictly lower neighbour; adjacent flat cells share one
    elevation. Per 8-connected group of flat cells:

    1. away[c]: BFS distance (1, 2, ...) from the flat cells beside higher terrain; H = max away;
    2. towards[c]: BFS distance (1, 2, ...) from the low edges, the non-flat cells (outlets
       included) beside a flat cell of equal elevation;
    3. c is raised by ``2·towards + (H − away)`` ulps (0 for away when the group touches no
       higher terrain; steps of ``_NEAR_ZERO_STEP`` instead of ulps on flats within ``_NEAR_ZERO`` of 0).

    Each flat cell then has a neighbour raised by at least one step less (its predecessor in
    the towards BFS: −2 from towards, at most +1 from away) or a low edge, so D8 drains it along
    the combined gradient.

    The check of RichDEM's ``ResolveFlatsEpsilon``: a raised cell must stay below every neighbour
    that was higher than the flat; cells that reach it are counted as conflicts (possible only when
    the DEM's values are a few ulps apart). Returns ``(out, flat_cells, conflicts, undrained)``,
    ``undrained`` counting flat cells no low edge reaches (a flat in a pit: fill first).
    """
    ny, nx = z.shape
    n = ny * nx
    zf = z.reshape(n)
    seed = outlet_mask(z).reshape(n)
    is_flat = np.zeros(n, dtype=np.bool_)
    nflat = 0
    for c in range(n):
        if seed[c] or not math.isfinite(zf[c]):
            continue
        ci = c // nx
        cj = c - ci * nx
        lower = False
        for k in range(8):  # not an outlet: an interior cell with 8 valid neighbours
            if zf[_nb(ci, cj, k, ny, nx)] < zf[c]:
                lower = True
                break
        if not lower:
            is_flat[c] = True
            nflat += 1
    out = z.copy()
    if nflat == 0:
        return out, 0, 0, 0
    queue = np.empty(n, dtype=np.int64)

    # groups: 8-connected components of flat cells
    label = np.zeros(n, dtype=np.int32)
    groups = 0
    for s in range(n):
        if not is_flat[s] or label[s] != 0:
            continue
        groups += 1
        label[s] = groups
        queue[0] = s
        head = 0
        tail = 1
        while head < tail:
            c = queue[head]
            head += 1
            ci = c // nx
            cj = c - ci * nx
            for k in range(8):
                nb = _nb(ci, cj, k, ny, nx)
                if nb >= 0 and is_flat[nb] and label[nb] == 0:
                    label[nb] = groups
                    queue[tail] = nb
                    tail += 1

    # 1. gradient away from higher terrain
    away = np.zeros(n, dtype=np.int32)
    height = np.zeros(groups + 1, dtype=np.int32)
    tail = 0
    for c in range(n):
        if not is_flat[c]:
            continue
        ci = c // nx
        cj = c - ci * nx
        for k in range(8):
            if zf[_nb(ci, cj, k, ny, nx)] > zf[c]:
                away[c] = 1
                queue[tail] = c
                tail += 1
                break
    head = 0
    while head < tail:
        c = queue[head]
        head += 1
        height[label[c]] = away[c]  # BFS order: distances never decrease
        ci = c // nx
        cj = c - ci * nx
        for k in range(8):
            nb = _nb(ci, cj, k, ny, nx)
            if nb >= 0 and is_flat[nb] and away[nb] == 0:
                away[nb] = away[c] + 1
                queue[tail] = nb
                tail += 1

    # 2. gradient towards lower terrain, from the low edges (distance 0)
    towards = np.zeros(n, dtype=np.int32)
    tail = 0
    for c in range(n):
        if is_flat[c] or not math.isfinite(zf[c]):
            continue
        ci = c // nx
        cj = c - ci * nx
        for k in range(8):
            nb = _nb(ci, cj, k, ny, nx)
            if nb >= 0 and is_flat[nb] and zf[nb] == zf[c]:
                queue[tail] = c
                tail += 1
                break
    head = 0
    while head < tail:
        c = queue[head]
        head += 1
        ci = c // nx
        cj = c - ci * nx
        for k in range(8):
            nb = _nb(ci, cj, k, ny, nx)
            if nb >= 0 and is_flat[nb] and towards[nb] == 0 and zf[nb] == zf[c]:
                towards[nb] = towards[c] + 1
                queue[tail] = nb
                tail += 1

    # 3. combined gradient as ulp increments, then the check against higher neighbours
    bits = out.reshape(n).view(np.int64)
    of = out.reshape(n)
    undrained = 0
    for c in range(n):
        if not is_flat[c]:
            continue
        if towards[c] == 0:
            undrained += 1
            continue
        _raise_cell(of, bits, c, 2 * np.int64(towards[c]) + height[label[c]] - away[c])
    conflicts = 0
    for c in range(n):
        if not is_flat[c]:
            continue
        ci = c // nx
        cj = c - ci * nx
        for k in range(8):
            nb = _nb(ci, cj, k, ny, nx)
            if zf[nb] > zf[c] and of[nb] <= of[c]:
                conflicts += 1
                break
    return out, nflat, conflicts, undrained


@njit(cache=True, nogil=True)
def priority_flood_barnes(z):
    """Fill to exact flats (:func:`priority_flood_exact`), then :func:`resolve_flats`.

    Where the increments would reach a higher neighbour (conflicts), priority-flood+ε is run on
    the result: it changes nothing on cells that already have a strictly descending path to an
    outlet, and raises the few others by ulps so that every valid cell drains.
    """
    out, _, conflicts, _ = resolve_flats(priority_flood_exact(z))
    if conflicts > 0:
        out = priority_flood_epsilon(out)
    return out


@njit(cache=True, nogil=True)
def _breach_allowed(zo, zin, parent, c, zstart, max_depth, max_length):
    """Whether carving from ``c`` below ``zstart`` keeps every lowering ≤ max_depth and the
    number of lowered cells ≤ max_length (stops at the first violation)."""
    t = zstart
    m = c
    length = 0
    while m >= 0:
        t = _below(t)
        if zo[m] <= t:
            break
        length += 1
        if length > max_length or zin[m] - t > max_depth:
            return False
        m = parent[m]
    return True


@njit(cache=True, nogil=True)
def breach(z, max_depth, max_length):
    """Carve channels out of depressions: priority-flood breaching (Lindsay 2016).

    Cells leave a heap in (input elevation, index) order from the outlets; each newly reached
    cell records the cell it was reached from (its parent). A cell ``n`` reached from ``c`` lower
    than ``c`` (as carved so far) lies in a depression: the path c, parent(c), ... is lowered to
    a strict descent, each cell one step below the one before (starting below ``z[n]``; a step
    is one ulp, see :func:`_below`), until a cell already that low is met; outlets on the path
    are lowered too. With ``max_depth`` (total lowering of any cell, elevation units) or
    ``max_length`` (cells lowered by one carve) finite, a carve that would exceed either is
    skipped (Lindsay's constrained breaching) and counted.
    Equal neighbours are not carved: flats and skipped depressions are left for the fill.
    Returns ``(out, skipped, remaining)``, ``remaining`` counting the cells not strictly above
    their parent (0: every valid cell drains, and a fill would change nothing).
    """
    ny, nx = z.shape
    n = ny * nx
    zin = z.reshape(n)
    out = z.copy()
    zo = out.reshape(n)
    seed = outlet_mask(z).reshape(n)
    closed = np.zeros(n, dtype=np.bool_)
    parent = np.full(n, -1, dtype=np.int64)
    hz = np.empty(n, dtype=np.float64)
    hi = np.empty(n, dtype=np.int64)
    size = 0
    for c in range(n):
        if not math.isfinite(zin[c]):
            closed[c] = True
        elif seed[c]:
            closed[c] = True
            size = _push(hz, hi, size, zin[c], c)
    constrained = max_depth < np.inf or max_length < n
    skipped = 0
    while size > 0:
        c = hi[0]
        size = _pop(hz, hi, size)
        ci = c // nx
        cj = c - ci * nx
        for k in range(8):
            nb = _nb(ci, cj, k, ny, nx)
            if nb < 0 or closed[nb]:
                continue
            closed[nb] = True
            parent[nb] = c
            size = _push(hz, hi, size, zin[nb], nb)
            if zin[nb] >= zo[c]:
                continue
            if constrained and not _breach_allowed(zo, zin, parent, c, zin[nb], max_depth, max_length):
                skipped += 1
                continue
            t = zin[nb]
            m = c
            while m >= 0:
                t = _below(t)
                if zo[m] <= t:
                    break
                zo[m] = t
                m = parent[m]
    remaining = 0
    for c in range(n):
        if parent[c] >= 0 and zo[c] <= zo[parent[c]]:
            remaining += 1
    return out, skipped, remaining
