"""numba kernels for terrain: Horn slope, priority-flood+ε, D8, accumulation, slope length.

Plain-array functions only (no xarray, no dask); the wrappers live in
``erosion/factors/terrain/``. Rows grow southward (row 0 is the northern edge). Cell sizes are
given per cell as 2-D arrays (``dx[i, j]``, ``dy[i, j]``, metres; broadcast views are fine) so
that geographic grids, whose cell width changes with the row, need no special case.

D8 codes follow ESRI: 1 E, 2 SE, 4 S, 8 SW, 16 W, 32 NW, 64 N, 128 NE; 0 = no outflow;
255 = nodata. Neighbours are always visited in that order, which fixes tie-breaking.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

NODATA_DIR = 255
# Near 0 m one ulp is denormal (5e-324) and D8's drop / distance underflows to 0: there the fill
# raises by 2^-952 (the ulp of 2^-900), still far below any elevation's meaning.
_NEAR_ZERO = 2.0**-900
_NEAR_ZERO_STEP = 2.0**-952
D8_CODES = np.array([1, 2, 4, 8, 16, 32, 64, 128], dtype=np.uint8)
_DI = np.array([0, 1, 1, 1, 0, -1, -1, -1], dtype=np.int64)
_DJ = np.array([1, 1, 0, -1, -1, -1, 0, 1], dtype=np.int64)
_CODE_INDEX = np.full(256, -1, dtype=np.int64)
for _k, _c in enumerate(D8_CODES):
    _CODE_INDEX[_c] = _k


@njit(cache=True, nogil=True)
def _window(z, i, j):
    """The 8 neighbours of (i, j) in D8 order (E, SE, S, SW, W, NW, N, NE), missing ones filled.

    A missing orthogonal neighbour (off the grid or NaN) is extrapolated linearly through the
    centre from the opposite one, ``2·z[i, j] − z[opposite]`` (a one-sided difference), or
    takes the centre value when that is missing too (no gradient known along that axis). A
    missing diagonal neighbour lies on the plane through the centre and its two orthogonal
    neighbours, ``z[orth1] + z[orth2] − z[i, j]``: unlike an extrapolation along the diagonal,
    it does not cut across a valley floor or a ridge. A plane is thus exact on every cell with a
    neighbour along each axis, edges, corners and cells beside nodata included
    (docs/decisions/0012-edges-and-nodata.md).
    """
    ny, nx = z.shape
    c = z[i, j]
    raw = np.empty(8, dtype=np.float64)
    for k in range(8):
        ni = i + _DI[k]
        nj = j + _DJ[k]
        raw[k] = z[ni, nj] if 0 <= ni < ny and 0 <= nj < nx else np.nan
    out = raw.copy()
    for k in range(0, 8, 2):  # orthogonal: E, S, W, N
        if not math.isfinite(raw[k]):
            o = raw[(k + 4) % 8]
            out[k] = 2.0 * c - o if math.isfinite(o) else c
    for k in range(1, 8, 2):  # diagonal: SE, SW, NW, NE lie between orthogonals k - 1 and k + 1
        if not math.isfinite(raw[k]):
            out[k] = out[k - 1] + out[(k + 1) % 8] - c
    return out


@njit(cache=True, nogil=True)
def horn_slope(z, dx, dy):
    """Slope angle (degrees, float32) by Horn (1981); missing neighbours extrapolated (:func:`_window`)."""
    return horn_slope_rows(z, dx, dy, 0, z.shape[0])


@njit(cache=True, nogil=True)
def horn_slope_rows(z, dx, dy, r0, r1):
    """:func:`horn_slope` of rows ``r0:r1`` only, from the whole grid (the same numbers: rows
    outside the block serve as neighbours). Interior cells with 8 valid neighbours skip the
    window (:func:`_window` would return them unchanged); the others take it."""
    ny, nx = z.shape
    out = np.empty((r1 - r0, nx), dtype=np.float32)
    for i in range(r0, r1):
        inner_row = 0 < i < ny - 1
        for j in range(nx):
            c = z[i, j]
            if not math.isfinite(c):
                out[i - r0, j] = np.nan
                continue
            done = False
            if inner_row and 0 < j < nx - 1:
                e = z[i, j + 1]
                se = z[i + 1, j + 1]
                s = z[i + 1, j]
                sw = z[i + 1, j - 1]
                w = z[i, j - 1]
                nw = z[i - 1, j - 1]
                n = z[i - 1, j]
                ne = z[i - 1, j + 1]
                if (math.isfinite(e) and math.isfinite(se) and math.isfinite(s) and math.isfinite(sw)
                        and math.isfinite(w) and math.isfinite(nw) and math.isfinite(n) and math.isfinite(ne)):
                    dzdx = ((ne + 2.0 * e + se) - (nw + 2.0 * w + sw)) / (8.0 * dx[i, j])
                    dzdy = ((sw + 2.0 * s + se) - (nw + 2.0 * n + ne)) / (8.0 * dy[i, j])
                    done = True
            if not done:
                dzdx, dzdy = _horn_gradient(_window(z, i, j), dx[i, j], dy[i, j])
            out[i - r0, j] = math.degrees(math.atan(math.sqrt(dzdx * dzdx + dzdy * dzdy)))
    return out


# --- a binary min-heap on (elevation, flat index), lexicographic: deterministic ties ---------
# Sifts move a hole and keep the new key in registers (no swaps): the fill's heap traffic is
# most of the LS chain's time.

@njit(cache=True, nogil=True, inline="always")
def _push(hz, hi, size, zval, idx):
    pos = size
    while pos > 0:
        parent = (pos - 1) >> 1
        pz = hz[parent]
        if zval < pz or (zval == pz and idx < hi[parent]):
            hz[pos] = pz
            hi[pos] = hi[parent]
            pos = parent
        else:
            break
    hz[pos] = zval
    hi[pos] = idx
    return size + 1


@njit(cache=True, nogil=True, inline="always")
def _pop(hz, hi, size):
    """Remove the top (read it from hz[0], hi[0] before calling); returns the new size."""
    size -= 1
    zval = hz[size]
    idx = hi[size]
    pos = 0
    while True:
        child = 2 * pos + 1
        if child >= size:
            break
        cz = hz[child]
        ci = hi[child]
        if child + 1 < size:
            rz = hz[child + 1]
            ri = hi[child + 1]
            if rz < cz or (rz == cz and ri < ci):
                child += 1
                cz = rz
                ci = ri
        if cz < zval or (cz == zval and ci < idx):
            hz[pos] = cz
            hi[pos] = ci
            pos = child
        else:
            break
    hz[pos] = zval
    hi[pos] = idx
    return size


@njit(cache=True, nogil=True, inline="always")
def _nb(ci, cj, k, ny, nx):
    """Flat index of the neighbour of (ci, cj) in direction k, or -1 off the grid."""
    ni = ci + _DI[k]
    nj = cj + _DJ[k]
    if ni < 0 or nj < 0 or ni >= ny or nj >= nx:
        return -1
    return ni * nx + nj


@njit(cache=True, nogil=True, inline="always")
def _neighbour(c, k, ci, cj, interior, offsets, ny, nx):
    """:func:`_nb`, with precomputed flat offsets for interior cells."""
    return c + offsets[k] if interior else _nb(ci, cj, k, ny, nx)


@njit(cache=True, nogil=True, inline="always")
def _above(t):
    """The next step above t: one ulp, or ``_NEAR_ZERO_STEP`` where |t| < ``_NEAR_ZERO``."""
    return t + _NEAR_ZERO_STEP if abs(t) < _NEAR_ZERO else np.nextafter(t, np.inf)


@njit(cache=True, nogil=True)
def outlet_mask(z):
    """Valid cells on the grid edge or with a NaN among their 8 neighbours (bool, shape of z)."""
    ny, nx = z.shape
    out = np.zeros((ny, nx), dtype=np.bool_)
    for i in range(ny):
        for j in range(nx):
            if not math.isfinite(z[i, j]):
                continue
            if i == 0 or j == 0 or i == ny - 1 or j == nx - 1:
                out[i, j] = True
                continue
            for k in range(8):
                if not math.isfinite(z[i + _DI[k], j + _DJ[k]]):
                    out[i, j] = True
                    break
    return out


@njit(cache=True, nogil=True)
def priority_flood_epsilon(z):
    """Fill depressions and flats so that every valid cell drains (Barnes et al. 2014, Alg. 3).

    Seeds are the valid cells on the grid edge or next to a NaN cell (NaN = nodata, an outlet).
    Cells leave a single priority queue in (elevation, index) order; a neighbour ``n`` reached
    from ``c`` becomes ``max(z[n], nextafter(z[c], +inf))`` (``z[c] + 2^-952`` within 2^-900 of 0,
    where an ulp is denormal), so every non-seed cell ends strictly above the cell it was
    reached from. float64 in, float64 out.
    """
    ny, nx = z.shape
    n = ny * nx
    out = z.copy()
    flat = out.reshape(n)
    closed = np.zeros(n, dtype=np.bool_)
    hz = np.empty(n, dtype=np.float64)
    hi = np.empty(n, dtype=np.int64)
    offsets = np.empty(8, dtype=np.int64)
    for k in range(8):
        offsets[k] = _DI[k] * nx + _DJ[k]
    size = 0
    seed = outlet_mask(z).reshape(n)
    for idx in range(n):
        if seed[idx] or not math.isfinite(flat[idx]):
            closed[idx] = True
        if seed[idx]:
            size = _push(hz, hi, size, flat[idx], idx)
    pit = np.empty(n, dtype=np.int64)  # FIFO of raised cells (Barnes et al. 2014, Alg. 4)
    trace = np.empty(n, dtype=np.int64)  # stack of higher cells to settle without the heap
    head = 0
    tail = 0
    top = 0
    while size > 0 or head < tail:
        if head < tail and not (size > 0 and (hz[0] < flat[pit[head]] or (hz[0] == flat[pit[head]] and hi[0] < pit[head]))):
            c = pit[head]
            head += 1
            zc = flat[c]
        else:
            zc = hz[0]
            c = hi[0]
            size = _pop(hz, hi, size)
        ci = c // nx
        cj = c - ci * nx
        raised = _above(zc)
        interior = 0 < ci < ny - 1 and 0 < cj < nx - 1
        for k in range(8):
            nb = _neighbour(c, k, ci, cj, interior, offsets, ny, nx)
            if nb < 0 or closed[nb]:
                continue
            closed[nb] = True
            if flat[nb] <= raised:
                flat[nb] = raised
                pit[tail] = nb
                tail += 1
            else:
                trace[top] = nb
                top += 1
        # Trace up the slope without the heap (Zhou et al. 2016): a higher cell whose open
        # neighbours are all higher than it (+ε) gets its final value whoever reaches it, so it is
        # settled now and its neighbours traced in turn; one with a lower open neighbour waits in
        # the heap for its turn, as every cell did before. Same result, far less heap traffic.
        while top > 0:
            top -= 1
            t = trace[top]
            zt = flat[t]
            rt = _above(zt)
            ti = t // nx
            tj = t - ti * nx
            inner = 0 < ti < ny - 1 and 0 < tj < nx - 1
            wait = False
            for k in range(8):
                nb = _neighbour(t, k, ti, tj, inner, offsets, ny, nx)
                if nb >= 0 and not closed[nb] and flat[nb] <= rt:
                    wait = True
                    break
            if wait:
                size = _push(hz, hi, size, zt, t)
                continue
            for k in range(8):
                nb = _neighbour(t, k, ti, tj, inner, offsets, ny, nx)
                if nb >= 0 and not closed[nb]:
                    closed[nb] = True
                    trace[top] = nb
                    top += 1
    return out


@njit(cache=True, nogil=True)
def _step(k, dx, dy):
    """Horizontal distance of a D8 step in direction index k."""
    if _DI[k] == 0:
        return dx
    if _DJ[k] == 0:
        return dy
    return math.sqrt(dx * dx + dy * dy)


@njit(cache=True, nogil=True)
def _horn_gradient(w, dx, dy):
    """Horn's (dz/d east, dz/d south) from a filled window (:func:`_window`)."""
    dzdx = ((w[7] + 2.0 * w[0] + w[1]) - (w[5] + 2.0 * w[4] + w[3])) / (8.0 * dx)
    dzds = ((w[3] + 2.0 * w[2] + w[1]) - (w[5] + 2.0 * w[6] + w[7])) / (8.0 * dy)
    return dzdx, dzds


@njit(cache=True, nogil=True)
def d8_direction(z, dx, dy):
    """D8 steepest descent (uint8 ESRI codes); drop / true distance, first maximum wins.

    A cell on the grid edge or beside nodata drains off the grid when its downslope direction,
    from Horn's gradient with missing neighbours extrapolated (:func:`_window`), points at a
    missing neighbour: its code points there and routing treats it as an outlet. Otherwise the
    steepest descent to an existing neighbour wins, as in the interior.
    """
    ny, nx = z.shape
    out = np.empty((ny, nx), dtype=np.uint8)
    for i in range(ny):
        inner_row = 0 < i < ny - 1
        for j in range(nx):
            zc = z[i, j]
            if not math.isfinite(zc):
                out[i, j] = NODATA_DIR
                continue
            if inner_row and 0 < j < nx - 1:  # the common case, unrolled: 8 valid neighbours
                e = z[i, j + 1]
                se = z[i + 1, j + 1]
                s = z[i + 1, j]
                sw = z[i + 1, j - 1]
                w = z[i, j - 1]
                nw = z[i - 1, j - 1]
                n = z[i - 1, j]
                ne = z[i - 1, j + 1]
                if (math.isfinite(e) and math.isfinite(se) and math.isfinite(s) and math.isfinite(sw)
                        and math.isfinite(w) and math.isfinite(nw) and math.isfinite(n) and math.isfinite(ne)):
                    ex = dx[i, j]
                    sy = dy[i, j]
                    diag = math.sqrt(ex * ex + sy * sy)  # _step of a diagonal, once
                    code = 0
                    best = 0.0
                    drop = (zc - e) / ex
                    if drop > best:
                        best = drop
                        code = 1
                    drop = (zc - se) / diag
                    if drop > best:
                        best = drop
                        code = 2
                    drop = (zc - s) / sy
                    if drop > best:
                        best = drop
                        code = 4
                    drop = (zc - sw) / diag
                    if drop > best:
                        best = drop
                        code = 8
                    drop = (zc - w) / ex
                    if drop > best:
                        best = drop
                        code = 16
                    drop = (zc - nw) / diag
                    if drop > best:
                        best = drop
                        code = 32
                    drop = (zc - n) / sy
                    if drop > best:
                        best = drop
                        code = 64
                    drop = (zc - ne) / diag
                    if drop > best:
                        code = 128
                    out[i, j] = code
                    continue
            out[i, j] = _d8_edge(z, dx, dy, i, j)
    return out


@njit(cache=True, nogil=True)
def _d8_edge(z, dx, dy, i, j):
    """:func:`d8_direction` of a cell on the grid edge or beside nodata (or any cell: the
    general rule, which the interior case above unrolls)."""
    ny, nx = z.shape
    zc = z[i, j]
    code = 0
    edge = i == 0 or j == 0 or i == ny - 1 or j == nx - 1
    if not edge:
        for k in range(8):
            if not math.isfinite(z[i + _DI[k], j + _DJ[k]]):
                edge = True
                break
    if edge:
        gx, gs = _horn_gradient(_window(z, i, j), dx[i, j], dy[i, j])
        if gx != 0.0 or gs != 0.0:
            angle = math.degrees(math.atan2(-gs, -gx)) % 360.0  # downslope, clockwise from east
            k = int(angle / 45.0 + 0.5) % 8  # nearest of the 8 directions (angle ≥ 0)
            ni = i + _DI[k]
            nj = j + _DJ[k]
            if not (0 <= ni < ny and 0 <= nj < nx) or not math.isfinite(z[ni, nj]):
                code = D8_CODES[k]
    if code == 0:
        best = 0.0
        for k in range(8):
            ni = i + _DI[k]
            nj = j + _DJ[k]
            if ni < 0 or nj < 0 or ni >= ny or nj >= nx:
                continue
            zn = z[ni, nj]
            if not math.isfinite(zn):
                continue
            drop = (zc - zn) / _step(k, dx[i, j], dy[i, j])
            if drop > best:
                best = drop
                code = D8_CODES[k]
    return code


@njit(cache=True, nogil=True)
def invalid_codes(fdir):
    """Number of cells whose code is neither a D8 code, 0 nor 255."""
    bad = 0
    for i in range(fdir.shape[0]):
        for j in range(fdir.shape[1]):
            v = fdir[i, j]
            if v != 0 and v != NODATA_DIR and _CODE_INDEX[v] < 0:
                bad += 1
    return bad


@njit(cache=True, nogil=True, inline="always")
def _receiver(fdir, i, j):
    """(flat index of the D8 receiver of (i, j) or -1, direction index k or -1)."""
    ny, nx = fdir.shape
    code = fdir[i, j]
    if code == NODATA_DIR:
        return -1, -1
    k = _CODE_INDEX[code]
    if k < 0:
        return -1, -1
    ni = i + _DI[k]
    nj = j + _DJ[k]
    if ni < 0 or nj < 0 or ni >= ny or nj >= nx or fdir[ni, nj] == NODATA_DIR:
        return -1, -1
    return ni * nx + nj, k


@njit(cache=True, nogil=True)
def flow_accumulation(fdir, area):
    """Upslope area including the cell (float64); Kahn topological order, O(n).

    Receivers come from the codes on the fly (:func:`_receiver`); working memory is 9 bytes
    per cell besides the result. Returns ``(acc, complete)``; ``complete`` is False when the
    directions contain a loop.
    """
    ny, nx = fdir.shape
    n = ny * nx
    indeg = np.zeros(n, dtype=np.uint8)
    acc = np.empty((ny, nx), dtype=np.float64)
    for i in range(ny):
        for j in range(nx):
            acc[i, j] = np.nan if fdir[i, j] == NODATA_DIR else area[i, j]
            d = _receiver(fdir, i, j)[0]
            if d >= 0:
                indeg[d] += 1
    queue = np.empty(n, dtype=np.int64)
    tail = 0
    valid = 0
    for i in range(ny):
        for j in range(nx):
            if fdir[i, j] != NODATA_DIR:
                valid += 1
                if indeg[i * nx + j] == 0:
                    queue[tail] = i * nx + j
                    tail += 1
    flat = acc.reshape(n)
    head = 0
    while head < tail:
        u = queue[head]
        head += 1
        ui = u // nx
        d = _receiver(fdir, ui, u - ui * nx)[0]
        if d >= 0:
            flat[d] += flat[u]
            indeg[d] -= 1
            if indeg[d] == 0:
                queue[tail] = d
                tail += 1
    return acc, head == valid


@njit(cache=True, nogil=True, inline="always")
def _drop_angle(z, dx, dy, i, j, di, dj, k):
    """Angle (degrees) of the drop from (i, j) to its receiver (di, dj) in direction k."""
    return math.degrees(math.atan((z[i, j] - z[di, dj]) / _step(k, dx[i, j], dy[i, j])))


@njit(cache=True, nogil=True, inline="always")
def _length_angle(z, fdir, dx, dy, slope_in, use_slope_in, min_slope, i, j, d, k):
    """The angle :func:`slope_length` compares at (i, j), whose receiver is ``d`` in direction
    ``k`` (:func:`_receiver`): degrees, at least ``min_slope``. ``slope_in`` where given
    (``min_slope`` where missing), else the drop to the receiver, or, without a receiver, the
    steepest such angle of the cells draining into it (:func:`_inflow_angle`)."""
    if use_slope_in:
        a = slope_in[i, j]
        if not math.isfinite(a):
            a = min_slope
    elif d >= 0:
        a = _drop_angle(z, dx, dy, i, j, i + _DI[k], j + _DJ[k], k)
    else:
        a = _inflow_angle(z, fdir, dx, dy, i, j)
    if not a >= min_slope:
        a = min_slope
    return a


@njit(cache=True, nogil=True)
def _inflow_angle(z, fdir, dx, dy, i, j):
    """The steepest drop angle of the cells draining into (i, j), or -1 without inflow (kept
    out of line: few cells lack a receiver, and inlining it slows the common case)."""
    ny, nx = fdir.shape
    a = -1.0
    c = i * nx + j
    for kk in range(8):
        ui = i + _DI[kk]
        uj = j + _DJ[kk]
        if 0 <= ui < ny and 0 <= uj < nx:
            du, ku = _receiver(fdir, ui, uj)
            if du == c:
                au = _drop_angle(z, dx, dy, ui, uj, i, j, ku)
                if au > a:
                    a = au
    return a


@njit(cache=True, nogil=True)
def slope_length(z, fdir, dx, dy, slope_in, use_slope_in, max_length,
                 cutoff_gentle, cutoff_steep, cutoff_break, min_slope, stop):
    """Cumulative slope length (m, float64) with the Hickey / Van Remortel cutoff rules.

    Per cell: step = D8 distance to its receiver; angle = downslope angle to the receiver
    (or ``slope_in`` when ``use_slope_in``), at least ``min_slope`` degrees; a cell without a
    receiver takes the steepest angle of the cells draining into it. Cells without inflow
    start at step/2; cells with inflow start at one cell length ((dx + dy)/2, the AML's
    restart value) and take the maximum of ``lambda[u] + step[u]`` over the upslope cells u
    whose angle they keep: angle[c] >= angle[u] * F, F = cutoff_gentle if angle[c] <
    cutoff_break else cutoff_steep. Lengths are capped at ``max_length`` (inf = no cap).
    ``stop`` (bool, ny × nx) marks channel and barrier cells: they take no length from upslope
    and pass none downslope. Returns ``(lambda, complete)``.

    Receivers, steps and angles are derived from the codes (and ``z``) on the fly, and cells
    are visited by walking down from each source while the next cell has no unvisited inflow
    (a topological order without a queue; the maximum does not depend on the order), so the
    working memory is 2 bytes per cell besides λ.
    """
    ny, nx = fdir.shape
    n = ny * nx
    indeg = np.zeros(n, dtype=np.uint8)  # unvisited inflows (at most 8); 255 once visited
    source = np.zeros(n, dtype=np.uint8)  # inflows that carry length: none from stop cells
    for i in range(ny):
        for j in range(nx):
            d = _receiver(fdir, i, j)[0]
            if d < 0:
                continue
            indeg[d] += 1
            if not stop[i, j]:
                source[d] += 1
    lam = np.empty((ny, nx), dtype=np.float64)
    valid = 0
    for i in range(ny):
        for j in range(nx):
            if fdir[i, j] == NODATA_DIR:
                lam[i, j] = np.nan
                continue
            valid += 1
            if source[i * nx + j] == 0:
                d, k = _receiver(fdir, i, j)
                lam[i, j] = 0.5 * (_step(k, dx[i, j], dy[i, j]) if d >= 0 else 0.5 * (dx[i, j] + dy[i, j]))
            else:
                lam[i, j] = 0.5 * (dx[i, j] + dy[i, j])
    flat = lam.reshape(n)
    visited = 0
    for s in range(n):
        if indeg[s] != 0:
            continue
        ui = s // nx
        uj = s - ui * nx
        if fdir[ui, uj] == NODATA_DIR:
            continue
        u = s
        d, k = _receiver(fdir, ui, uj)
        au = 0.0
        have_au = False
        while True:
            indeg[u] = 255
            visited += 1
            if flat[u] > max_length:
                flat[u] = max_length
            if d < 0:
                break
            di = d // nx
            dj = d - di * nx
            dd, kd = _receiver(fdir, di, dj)
            ad = 0.0
            have_ad = False
            if not stop[ui, uj] and not stop[di, dj]:
                if not have_au:
                    au = _length_angle(z, fdir, dx, dy, slope_in, use_slope_in, min_slope, ui, uj, d, k)
                ad = _length_angle(z, fdir, dx, dy, slope_in, use_slope_in, min_slope, di, dj, dd, kd)
                have_ad = True
                factor = cutoff_gentle if ad < cutoff_break else cutoff_steep
                if ad >= au * factor:
                    cand = flat[u] + _step(k, dx[ui, uj], dy[ui, uj])
                    if cand > flat[d]:
                        flat[d] = cand
            indeg[d] -= 1
            if indeg[d] != 0:
                break
            u = d
            ui = di
            uj = dj
            d = dd
            k = kd
            au = ad
            have_au = have_ad
    return lam, visited == valid
