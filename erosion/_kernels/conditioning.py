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

from .terrain import _DI, _DJ, _NEAR_ZERO, _NEAR_ZERO_STEP, _nb, _pop, _push, outlet_mask, priority_flood_epsilon

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


# --- padded grids ---------------------------------------------------------------------------
# The fill and the flat resolution work on a copy of the grid with a ring of invalid cells
# around it (row width nx + 2): every neighbour of a grid cell is then a flat index c + offset,
# with no bounds checks and no divisions. ``state`` holds one byte of flags per padded cell.

_CLOSED = np.uint8(1)  # reached by the fill (any non-zero state is closed to it)
_INVALID = np.uint8(2)  # not finite, or the ring
_OUTLET = np.uint8(4)  # a valid cell on the grid edge or beside an invalid one
_FLAT = np.uint8(8)  # valid, not an outlet, no strictly lower neighbour
_CANDIDATE = np.uint8(16)  # may be flat: checked by _mark_flats
_SEEN = np.uint8(32)  # gathered into the flat group being resolved (or an earlier one)
_DONE = np.uint8(64)  # in a flat group already resolved
_LOW = np.uint8(128)  # a low edge of the group being resolved, already listed
_INT32_CELLS = 2**31 - 1  # padded grids smaller than this index their cells with int32


@njit(cache=True, nogil=True)
def _pad(z, inner):
    """(zp, state, offsets, low, high): z in a ring of invalid cells; outlets flagged, and the
    other valid cells flagged ``inner`` (the fill opens them: 0; :func:`resolve_flats`: closed
    candidates); the least and greatest valid elevations."""
    ny, nx = z.shape
    w = nx + 2
    zp = np.empty((ny + 2) * w, dtype=np.float64)
    state = np.empty((ny + 2) * w, dtype=np.uint8)
    for j in range(w):
        zp[j] = np.nan
        state[j] = _INVALID
        zp[(ny + 1) * w + j] = np.nan
        state[(ny + 1) * w + j] = _INVALID
    invalid = 0
    low = np.inf
    high = -np.inf
    for i in range(ny):
        r = (i + 1) * w
        zp[r] = np.nan
        state[r] = _INVALID
        zp[r + nx + 1] = np.nan
        state[r + nx + 1] = _INVALID
        for j in range(nx):
            v = z[i, j]
            zp[r + 1 + j] = v
            if math.isfinite(v):
                state[r + 1 + j] = inner
                low = min(low, v)
                high = max(high, v)
            else:
                state[r + 1 + j] = _INVALID
                invalid += 1
    offsets = np.empty(8, dtype=np.int64)
    for k in range(8):
        offsets[k] = _DI[k] * w + _DJ[k]
    outlet = _OUTLET | _CLOSED
    for i in range(ny):  # grid edge
        step = nx - 1 if 0 < i < ny - 1 and nx > 1 else 1
        for j in range(0, nx, step):
            c = (i + 1) * w + j + 1
            if not state[c] & _INVALID:
                state[c] = outlet
    if invalid > 0:  # beside nodata
        for i in range(ny):
            r = (i + 1) * w
            for c in range(r + 1, r + nx + 1):
                if state[c] & _INVALID:
                    for k in range(8):
                        nb = c + offsets[k]
                        if not state[nb] & _INVALID:
                            state[nb] = outlet
    return zp, state, offsets, low, high


@njit(cache=True, nogil=True)
def _unpad(zp, ny, nx):
    return zp.reshape(ny + 2, nx + 2)[1:ny + 1, 1:nx + 1].copy()


@njit(cache=True, nogil=True, inline="always")
def _before(za, ia, zb, ib):
    """Heap order: (elevation, index), as in :mod:`erosion._kernels.terrain` (the result of the
    exact fill depends on the order among equal elevations only through the sign of zeros)."""
    return za < zb or (za == zb and ia < ib)


@njit(cache=True, nogil=True, inline="always")
def _heap_push(hz, hi, size, zval, idx):
    """Push onto a 4-ary min-heap (half the depth of a binary one: fewer cache misses)."""
    pos = size
    while pos > 0:
        parent = (pos - 1) >> 2
        pz = hz[parent]
        pi = hi[parent]
        if not _before(zval, idx, pz, pi):
            break
        hz[pos] = pz
        hi[pos] = pi
        pos = parent
    hz[pos] = zval
    hi[pos] = idx
    return size + 1


@njit(cache=True, nogil=True, inline="always")
def _heap_pop(hz, hi, size):
    """Remove the top of the 4-ary heap (read hz[0], hi[0] first); returns the new size."""
    size -= 1
    zval = hz[size]
    idx = hi[size]
    pos = 0
    while True:
        first = 4 * pos + 1
        if first >= size:
            break
        best = first
        bz = hz[first]
        bi = hi[first]
        last = min(first + 4, size)
        for child in range(first + 1, last):
            cz = hz[child]
            ci = hi[child]
            if _before(cz, ci, bz, bi):
                best = child
                bz = cz
                bi = ci
        if not _before(bz, bi, zval, idx):
            break
        hz[pos] = bz
        hi[pos] = bi
        pos = best
    hz[pos] = zval
    hi[pos] = idx
    return size


@njit(cache=True, nogil=True, inline="always")
def _coarse(v, low, scale, last):
    """Coarse bucket of the elevation v: non-decreasing in v, 0 to last."""
    return 0 if scale == 0 else min(int((v - low) * scale), last)


@njit(cache=True, nogil=True)
def _fill_padded(zp, state, offsets, low, high, hz, hi, pit, trace, link):
    """Priority-flood with a pit queue and slope tracing on the padded grid, in place.

    The priority queue has two levels: coarse buckets of elevation (about one per 2 cells,
    evenly spread between the lowest and highest valid elevations; each a list linked through
    ``link``) and a 4-ary heap holding only the current bucket. The flood level never
    decreases, so a cell pushed in a later bucket waits in its list, and the small heap stays
    in cache. Cells leave in (elevation, index) order all the same.

    Cells raised to the level of the cell that reached them are flagged flat; cells reached at
    the same level are flagged candidates (flat unless a neighbour is lower); every other
    valid cell has a strictly lower neighbour, the cell that reached it.
    """
    nbuckets = max(1024, min(zp.size // 2, 1 << 24))
    span = high - low
    scale = nbuckets / span if span > 0 and math.isfinite(span) else 0.0
    last = nbuckets - 1
    head_of = np.full(nbuckets, -1, dtype=link.dtype)
    waiting = 0  # cells in the bucket lists
    for c in range(zp.size):
        if state[c] & _OUTLET:
            b = _coarse(zp[c], low, scale, last)
            link[c] = head_of[b]
            head_of[b] = c
            waiting += 1
    current = -1
    size = 0
    head = 0
    tail = 0
    while True:
        if head < tail:
            c = pit[head]
            head += 1
            if head == tail:  # the FIFO is empty: start it again at 0 (stays in cache)
                head = 0
                tail = 0
        else:
            if size == 0:
                if waiting == 0:
                    break
                current += 1
                while head_of[current] < 0:
                    current += 1
                c = head_of[current]
                head_of[current] = -1
                while c >= 0:
                    size = _heap_push(hz, hi, size, zp[c], c)
                    waiting -= 1
                    c = link[c]
            c = hi[0]
            size = _heap_pop(hz, hi, size)
        zc = zp[c]
        top = 0
        for k in range(8):
            nb = c + offsets[k]
            if state[nb]:
                continue
            v = zp[nb]
            if v <= zc:
                state[nb] = _CLOSED | _FLAT if v < zc else _CLOSED | _CANDIDATE
                zp[nb] = zc  # also when equal: -0.0 reached from +0.0 becomes +0.0
                pit[tail] = nb
                tail += 1
            else:
                state[nb] = _CLOSED
                trace[top] = nb
                top += 1
        while top > 0:  # higher cells settled without the heap (Zhou et al. 2016)
            top -= 1
            t = trace[top]
            zt = zp[t]
            wait = False
            for k in range(8):
                nb = t + offsets[k]
                if state[nb] == 0 and zp[nb] <= zt:
                    wait = True
                    break
            if wait:  # an open neighbour at or below it: its turn comes from the queue
                b = _coarse(zt, low, scale, last)
                if b <= current:
                    size = _heap_push(hz, hi, size, zt, t)
                else:
                    link[t] = head_of[b]
                    head_of[b] = t
                    waiting += 1
                continue
            for k in range(8):
                nb = t + offsets[k]
                if state[nb] == 0:
                    state[nb] = _CLOSED
                    trace[top] = nb
                    top += 1


@njit(cache=True, nogil=True)
def _mark_flats(zp, state, offsets):
    """Flag the candidates without a strictly lower neighbour flat; returns the number of flat cells."""
    nflat = 0
    for c in range(zp.size):
        s = state[c]
        if s & _FLAT:
            nflat += 1
        elif s & _CANDIDATE:
            zc = zp[c]
            lower = False
            for k in range(8):
                if zp[c + offsets[k]] < zc:
                    lower = True
                    break
            if not lower:
                state[c] = s | _FLAT
                nflat += 1
    return nflat


@njit(cache=True, nogil=True)
def _resolve_padded(zp, state, offsets, group, queue, low, dist):
    """Barnes et al. (2014b) on the flagged flats of the padded grid, one flat group at a time,
    in place; returns (conflicts, undrained). ``group``, ``queue``, ``low``: index scratch of
    the padded size; ``dist``: int32 zeros, twice the padded size (cell c's distance away from
    higher terrain at 2c, towards lower terrain at 2c + 1, on one cache line)."""
    bits = zp.view(np.int64)
    conflicts = 0
    undrained = 0
    for s in range(zp.size):
        if not state[s] & _FLAT or state[s] & _SEEN:
            continue
        zg = zp[s]  # adjacent flat cells share one elevation
        # the group (8-connected flat cells), its cells beside higher terrain, its low edges
        state[s] |= _SEEN
        group[0] = s
        m = 1
        a = 0
        nlow = 0
        head = 0
        while head < m:
            c = group[head]
            head += 1
            higher = False
            for k in range(8):
                nb = c + offsets[k]
                st = state[nb]
                if st & _FLAT:
                    if not st & _SEEN:
                        state[nb] = st | _SEEN
                        group[m] = nb
                        m += 1
                elif zp[nb] > zg:
                    higher = True
                elif not st & _LOW:  # equal (c has no lower neighbour): a low edge
                    state[nb] = st | _LOW
                    low[nlow] = nb
                    nlow += 1
            if higher:
                dist[2 * c] = 1
                queue[a] = c
                a += 1
        # 1. away from higher terrain; height = the largest distance
        height = 0
        head = 0
        while head < a:
            c = queue[head]
            head += 1
            d = dist[2 * c]
            height = d
            for k in range(8):
                nb = c + offsets[k]
                if state[nb] & _FLAT and dist[2 * nb] == 0:
                    dist[2 * nb] = d + 1
                    queue[a] = nb
                    a += 1
        # 2. towards lower terrain, from the low edges (distance 0), within this group
        for q in range(nlow):
            queue[q] = low[q]
            state[low[q]] &= ~_LOW
        tail = nlow
        head = 0
        mine = _SEEN | _DONE
        while head < tail:
            c = queue[head]
            head += 1
            d = dist[2 * c + 1] + 1
            for k in range(8):
                nb = c + offsets[k]
                if (state[nb] & mine) == _SEEN and dist[2 * nb + 1] == 0:
                    dist[2 * nb + 1] = d
                    queue[tail] = nb
                    tail += 1
        # 3. the combined gradient, and the check against higher neighbours
        for q in range(m):
            c = group[q]
            state[c] |= _DONE
            if dist[2 * c + 1] == 0:
                undrained += 1
                continue
            _raise_cell(zp, bits, c, 2 * np.int64(dist[2 * c + 1]) + height - dist[2 * c])
            if dist[2 * c] != 1:  # no higher neighbour
                continue
            zc = zp[c]
            for k in range(8):
                nb = c + offsets[k]
                if not state[nb] & _FLAT:
                    v = zp[nb]
                    if zg < v <= zc:
                        conflicts += 1
                        break
    return conflicts, undrained


@njit(cache=True, nogil=True)
def priority_flood_exact(z):
    """Fill depressions to exact flats: priority-flood with a pit queue (Barnes et al. 2014a, Alg. 2).

    Seeds are the outlets. A neighbour ``n`` reached from ``c`` becomes ``max(z[n], z[c])``; the
    raised ones go through a FIFO (they are at the current level, below everything in the heap).
    Higher cells are traced up the slope without the heap (Zhou et al. 2016), as in
    :func:`erosion._kernels.terrain.priority_flood_epsilon`. Every output value is an input
    value, ``min over paths from an outlet of the highest elevation on the path``: filled
    depressions become flats at their spill level (so the order among equal elevations in the
    heap does not matter).
    """
    ny, nx = z.shape
    zp, state, offsets, low, high = _pad(z, np.uint8(0))
    size = zp.size
    hz = np.empty(size, dtype=np.float64)
    if size < _INT32_CELLS:
        _fill_padded(zp, state, offsets, low, high, hz, np.empty(size, dtype=np.int32), np.empty(size, dtype=np.int32),
                     np.empty(size, dtype=np.int32), np.empty(size, dtype=np.int32))
    else:
        _fill_padded(zp, state, offsets, low, high, hz, np.empty(size, dtype=np.int64), np.empty(size, dtype=np.int64),
                     np.empty(size, dtype=np.int64), np.empty(size, dtype=np.int64))
    return _unpad(zp, ny, nx)


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
    The groups are resolved one at a time (their cells, BFS queues and distances stay in
    cache for all but the largest), on a padded copy of the grid (see :func:`_pad`).
    """
    ny, nx = z.shape
    zp, state, offsets, _, _ = _pad(z, _CLOSED | _CANDIDATE)
    nflat = _mark_flats(zp, state, offsets)
    if nflat == 0:
        return z.copy(), 0, 0, 0
    size = zp.size
    dist = np.zeros(2 * size, dtype=np.int32)
    if size < _INT32_CELLS:
        conflicts, undrained = _resolve_padded(zp, state, offsets, np.empty(size, dtype=np.int32),
                                               np.empty(size, dtype=np.int32), np.empty(size, dtype=np.int32),
                                               dist)
    else:
        conflicts, undrained = _resolve_padded(zp, state, offsets, np.empty(size, dtype=np.int64),
                                               np.empty(size, dtype=np.int64), np.empty(size, dtype=np.int64),
                                               dist)
    return _unpad(zp, ny, nx), nflat, conflicts, undrained


@njit(cache=True, nogil=True)
def _fill_and_resolve(zp, state, offsets, low, high, hi):
    """The fill, then the flats, on the padded grid; ``hi``: the heap's index array, whose dtype
    (int32 or int64) the other index arrays share. Returns the number of conflicts."""
    size = zp.size
    hz = np.empty(size, dtype=np.float64)
    pit = np.empty(size, dtype=hi.dtype)
    trace = np.empty(size, dtype=hi.dtype)
    _fill_padded(zp, state, offsets, low, high, hz, hi, pit, trace, np.empty(size, dtype=hi.dtype))
    if _mark_flats(zp, state, offsets) == 0:
        return 0
    scratch = hz.view(np.int32)  # the heap is empty: its memory holds the two distances
    scratch[:] = 0
    conflicts, _ = _resolve_padded(zp, state, offsets, pit, trace, hi, scratch)
    return conflicts


@njit(cache=True, nogil=True)
def priority_flood_barnes(z):
    """Fill to exact flats (:func:`priority_flood_exact`), then :func:`resolve_flats`.

    Where the increments would reach a higher neighbour (conflicts), priority-flood+ε is run on
    the result: it changes nothing on cells that already have a strictly descending path to an
    outlet, and raises the few others by ulps so that every valid cell drains.
    One padded grid serves both steps: the fill flags the cells it raised (flat) and those it
    reached at their own level (flat unless a neighbour is lower), so only those are checked,
    and its heap and queues are reused as the flats' scratch.
    """
    ny, nx = z.shape
    zp, state, offsets, low, high = _pad(z, np.uint8(0))
    size = zp.size
    if size < _INT32_CELLS:
        conflicts = _fill_and_resolve(zp, state, offsets, low, high, np.empty(size, dtype=np.int32))
    else:
        conflicts = _fill_and_resolve(zp, state, offsets, low, high, np.empty(size, dtype=np.int64))
    out = _unpad(zp, ny, nx)
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
