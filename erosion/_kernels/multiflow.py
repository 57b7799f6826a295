"""numba kernels for multiple-flow routing: D∞ angles, MFD fractions, accumulation, Horn aspect.

Plain-array functions only; the wrappers live in ``erosion/factors/terrain/``. Rows grow
southward, columns eastward (the wrappers pass a north-up view); cell sizes are 2-D arrays
``dx[i, j]``, ``dy[i, j]`` in metres. Directions are indexed in the D8 order of
:mod:`erosion._kernels.terrain`: 0 E, 1 SE, 2 S, 3 SW, 4 W, 5 NW, 6 N, 7 NE. Missing neighbours
(off the grid or NaN) take their extrapolated elevation (:func:`terrain._window`, ADR 0012);
flow toward them leaves the grid.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from .terrain import _DI, _DJ, _horn_gradient, _step, _window

TWO_PI = 2.0 * math.pi
_TWO_PI32 = np.float32(TWO_PI)

# Tarboton (1997) facets, counter-clockwise from east: cardinal neighbour, diagonal neighbour,
# multiplier ac of π/2 and sign af of the within-facet angle r (angle = ac·π/2 + af·r).
_FACET_CARD = np.array([0, 6, 6, 4, 4, 2, 2, 0], dtype=np.int64)
_FACET_DIAG = np.array([7, 7, 5, 5, 3, 3, 1, 1], dtype=np.int64)
_FACET_AC = np.array([0.0, 1.0, 1.0, 2.0, 2.0, 3.0, 3.0, 4.0])
_FACET_AF = np.array([1.0, -1.0, 1.0, -1.0, 1.0, -1.0, 1.0, -1.0])

# Neighbours counter-clockwise from east (D8 indices): E, NE, N, NW, W, SW, S, SE.
_CCW = np.array([0, 7, 6, 5, 4, 3, 2, 1], dtype=np.int64)

# Index of the lowest set bit of a byte (8 for none).
_LOWEST_BIT = np.array([8 if b == 0 else (b & -b).bit_length() - 1 for b in range(256)], dtype=np.int64)

SNAP = 1e-6
"""D∞ proportions below this go to the other neighbour (float32 angles carry ~2e-7 rad of rounding)."""


@njit(cache=True, nogil=True)
def contour_length(k, dx, dy):
    """Quinn et al. (1991) contour length toward direction k: 0.5·cell across a cardinal
    direction (dy for E/W, dx for N/S), √(dx²+dy²)/4 (0.354·cell) across a diagonal."""
    if _DI[k] == 0:
        return 0.5 * dy
    if _DJ[k] == 0:
        return 0.5 * dx
    return 0.25 * math.sqrt(dx * dx + dy * dy)


@njit(cache=True, nogil=True)
def _fill_window(z, i, j, w):
    """The 8 neighbours of (i, j) in D8 order into ``w``: read directly on interior cells whose
    neighbours are all valid (what :func:`terrain._window` returns there, without its two
    allocations per cell), else :func:`terrain._window`'s extrapolated values."""
    ny, nx = z.shape
    if 0 < i < ny - 1 and 0 < j < nx - 1:
        ok = True
        for k in range(8):
            v = z[i + _DI[k], j + _DJ[k]]
            w[k] = v
            if not math.isfinite(v):
                ok = False
        if ok:
            return
    e = _window(z, i, j)
    for k in range(8):
        w[k] = e[k]


@njit(cache=True, nogil=True)
def dinf_angle(z, dx, dy):
    """D∞ flow angle (Tarboton 1997), radians counter-clockwise from east, float32.

    On each of the 8 triangular facets (centre e0, cardinal neighbour e1 at distance d1, diagonal
    e2 at d2 from e1): s1 = (e0 − e1)/d1, s2 = (e1 − e2)/d2, r = atan2(s2, s1), s = √(s1² + s2²);
    r < 0 → r = 0, s = s1; r > atan2(d2, d1) → r = atan2(d2, d1), s = (e0 − e2)/√(d1² + d2²).
    The facet with the largest s > 0 wins (first in counter-clockwise order on ties); angle =
    ac·π/2 + af·r in [0, 2π). −1 where no facet descends; NaN for nodata.
    """
    ny, nx = z.shape
    out = np.empty((ny, nx), dtype=np.float32)
    w = np.empty(8, dtype=np.float64)
    pdx = np.nan
    pdy = np.nan
    rmax_ew = 0.0
    rmax_ns = 0.0
    for i in range(ny):
        for j in range(nx):
            e0 = z[i, j]
            if not math.isfinite(e0):
                out[i, j] = np.nan
                continue
            _fill_window(z, i, j, w)
            if dx[i, j] != pdx or dy[i, j] != pdy:  # cell sizes change per row at most
                pdx = dx[i, j]
                pdy = dy[i, j]
                rmax_ew = math.atan2(pdy, pdx)
                rmax_ns = math.atan2(pdx, pdy)
            best = 0.0
            angle = -1.0
            for f in range(8):
                card = _FACET_CARD[f]
                ew = card % 4 == 0
                d1 = pdx if ew else pdy  # E/W: dx; N/S: dy
                d2 = pdy if ew else pdx
                e1 = w[card]
                e2 = w[_FACET_DIAG[f]]
                s1 = (e0 - e1) / d1
                s2 = (e1 - e2) / d2
                rmax = rmax_ew if ew else rmax_ns
                # r = atan2(s2, s1), clamped to [0, rmax]; atan2 is needed only when both are
                # positive: s2 < 0 (or s2 = 0 ≤ s1) gives r ≤ 0, and s2 ≥ 0 > s1 or s2 > 0 = s1
                # gives r ≥ π/2 > rmax. NaN falls through to the general form.
                if s2 > 0.0 and s1 > 0.0:
                    r = math.atan2(s2, s1)
                    clamp = 1 if r > rmax else 0
                elif s2 < 0.0 or (s2 == 0.0 and s1 >= 0.0):
                    r = 0.0
                    clamp = -1
                elif s2 >= 0.0 and s1 <= 0.0:
                    r = rmax
                    clamp = 1
                else:
                    r = math.atan2(s2, s1)
                    clamp = -1 if r < 0.0 else (1 if r > rmax else 0)
                if clamp < 0:
                    r = 0.0
                    s = s1
                elif clamp > 0:
                    r = rmax
                    s = (e0 - e2) / math.sqrt(d1 * d1 + d2 * d2)
                else:
                    s = math.sqrt(s1 * s1 + s2 * s2)
                if s > best:
                    best = s
                    angle = _FACET_AC[f] * 0.5 * math.pi + _FACET_AF[f] * r
            out[i, j] = angle
            if out[i, j] >= _TWO_PI32:  # 2π (facet 8 with r = 0) or rounded up to it in float32
                out[i, j] = 0.0
    return out


@njit(cache=True, nogil=True)
def mfd_fractions(z, dx, dy, exponent, quinn):
    """Multiple-flow fractions, float32 (8, ny, nx), in the D8 order E, SE, S, SW, W, NW, N, NE.

    f_k = w_k / Σ w, w_k = (tan β_k)^p · L_k over the downslope neighbours (tan β_k > 0), with
    tan β_k = drop / distance and L_k the Quinn contour length (``quinn``) or 1 (Freeman 1991,
    Holmgren 1994). All zero where nothing descends; NaN for nodata. (tan β_k / max tan β)^p is
    used, the same fractions without underflow for large p.
    """
    ny, nx = z.shape
    out = np.empty((8, ny, nx), dtype=np.float32)
    w = np.empty(8, dtype=np.float64)
    tan = np.empty(8, dtype=np.float64)
    wk = np.empty(8, dtype=np.float64)
    step = np.empty(8, dtype=np.float64)  # _step and contour_length, recomputed when dx, dy change
    length = np.ones(8, dtype=np.float64)
    pdx = np.nan
    pdy = np.nan
    for i in range(ny):
        inner = 0 < i < ny - 1
        for j in range(nx):
            zc = z[i, j]
            if not math.isfinite(zc):
                for k in range(8):
                    out[k, i, j] = np.nan
                continue
            if dx[i, j] != pdx or dy[i, j] != pdy:
                pdx = dx[i, j]
                pdy = dy[i, j]
                for k in range(8):
                    step[k] = _step(k, pdx, pdy)
                    if quinn:
                        length[k] = contour_length(k, pdx, pdy)
            # the window in scalars: interior cells with 8 valid neighbours read them directly
            # (what _fill_window returns there), the others take the extrapolated window
            fast = False
            if inner and 0 < j < nx - 1:
                w0 = z[i, j + 1]
                w1 = z[i + 1, j + 1]
                w2 = z[i + 1, j]
                w3 = z[i + 1, j - 1]
                w4 = z[i, j - 1]
                w5 = z[i - 1, j - 1]
                w6 = z[i - 1, j]
                w7 = z[i - 1, j + 1]
                fast = (math.isfinite(w0) and math.isfinite(w1) and math.isfinite(w2) and math.isfinite(w3)
                        and math.isfinite(w4) and math.isfinite(w5) and math.isfinite(w6)
                        and math.isfinite(w7))
            if not fast:
                _fill_window(z, i, j, w)
                w0 = w[0]
                w1 = w[1]
                w2 = w[2]
                w3 = w[3]
                w4 = w[4]
                w5 = w[5]
                w6 = w[6]
                w7 = w[7]
            t0 = (zc - w0) / step[0]
            t1 = (zc - w1) / step[1]
            t2 = (zc - w2) / step[2]
            t3 = (zc - w3) / step[3]
            t4 = (zc - w4) / step[4]
            t5 = (zc - w5) / step[5]
            t6 = (zc - w6) / step[6]
            t7 = (zc - w7) / step[7]
            steepest = max(max(max(max(max(max(max(max(0.0, t0), t1), t2), t3), t4), t5), t6), t7)
            if not steepest > 0.0:  # nothing descends (or NaN): all zero, as total = 0 gives
                for k in range(8):
                    out[k, i, j] = 0.0
                continue
            # weights over the descending directions only, found from a bit mask (one
            # unpredictable branch per direction was the kernel's main cost)
            tan[0] = t0
            tan[1] = t1
            tan[2] = t2
            tan[3] = t3
            tan[4] = t4
            tan[5] = t5
            tan[6] = t6
            tan[7] = t7
            m = ((t0 > 0.0) | (t1 > 0.0) << 1 | (t2 > 0.0) << 2 | (t3 > 0.0) << 3 | (t4 > 0.0) << 4
                 | (t5 > 0.0) << 5 | (t6 > 0.0) << 6 | (t7 > 0.0) << 7)
            for k in range(8):
                wk[k] = 0.0
            while m:
                k = _LOWEST_BIT[m]
                m &= m - 1
                ratio = tan[k] / steepest
                if ratio != 1.0 and exponent != 1.0:  # pow(1, p) = 1 and pow(x, 1) = x exactly
                    ratio = ratio ** exponent
                wk[k] = ratio * length[k]
            a0 = wk[0]
            a1 = wk[1]
            a2 = wk[2]
            a3 = wk[3]
            a4 = wk[4]
            a5 = wk[5]
            a6 = wk[6]
            a7 = wk[7]
            total = 0.0  # summed in direction order; + 0.0 where nothing descends changes nothing
            total += a0
            total += a1
            total += a2
            total += a3
            total += a4
            total += a5
            total += a6
            total += a7
            if not total > 0.0:
                for k in range(8):
                    out[k, i, j] = 0.0
                continue
            out[0, i, j] = a0 / total
            out[1, i, j] = a1 / total
            out[2, i, j] = a2 / total
            out[3, i, j] = a3 / total
            out[4, i, j] = a4 / total
            out[5, i, j] = a5 / total
            out[6, i, j] = a6 / total
            out[7, i, j] = a7 / total
    return out


@njit(cache=True, nogil=True)
def dinf_fractions(angle, dx, dy):
    """D∞ angles → fractions (8, ny, nx) float64, shared by the two neighbours either side.

    The neighbours' directions (radians counter-clockwise from east, on true dx, dy) are
    E 0, NE atan2(dy, dx), N π/2, NW, W π, SW, S 3π/2, SE. An angle a between directions φ_j and
    φ_j+1 sends (a − φ_j)/(φ_j+1 − φ_j) to the second and the rest to the first (Tarboton 1997),
    a share below :data:`SNAP` going to the other. −1: no outflow (zeros); NaN: nodata (NaN).
    Returns ``(fractions, bad)``, ``bad`` = cells whose angle is neither NaN, −1 nor in [0, 2π].
    """
    ny, nx = angle.shape
    out = np.zeros((8, ny, nx), dtype=np.float64)
    phi = np.empty(9, dtype=np.float64)
    pdx = np.nan
    pdy = np.nan
    bad = 0
    for i in range(ny):
        for j in range(nx):
            a = float(angle[i, j])
            if not math.isfinite(a):
                out[:, i, j] = np.nan
                continue
            if a < 0.0:
                if a != -1.0:
                    bad += 1
                continue
            if a > TWO_PI + SNAP:
                bad += 1
                continue
            if a >= TWO_PI:
                a -= TWO_PI
            if dx[i, j] != pdx or dy[i, j] != pdy:  # cell sizes change per row at most
                pdx = dx[i, j]
                pdy = dy[i, j]
                diag = math.atan2(pdy, pdx)
                for q in range(4):
                    phi[2 * q] = q * 0.5 * math.pi
                    phi[2 * q + 1] = q * 0.5 * math.pi + (diag if q % 2 == 0 else 0.5 * math.pi - diag)
                phi[8] = TWO_PI
            s = 0
            while s < 7 and a >= phi[s + 1]:
                s += 1
            p = (a - phi[s]) / (phi[s + 1] - phi[s])
            if p < SNAP:
                p = 0.0
            elif p > 1.0 - SNAP:
                p = 1.0
            out[_CCW[s], i, j] += 1.0 - p
            out[_CCW[(s + 1) % 8], i, j] += p
    return out, bad


@njit(cache=True, nogil=True)
def accumulate(frac, contrib):
    """Upslope sum along multiple-flow fractions, the cell's own ``contrib`` included (float64).

    ``A_i = c_i + Σ_j f_ji · A_j`` in a topological order (Kahn's algorithm, depth first from
    each source in row order). ``frac`` is (8, ny, nx) in the D8 order, C-contiguous (read as
    (8, ny·nx) by flat cell index); a NaN anywhere in a
    cell's fractions marks nodata (NaN out). Fractions are
    renormalised to sum to 1 (they may be stored in float32); the share toward a neighbour off
    the grid or in nodata leaves the grid. ``contrib`` NaN counts as 0. Returns
    ``(acc, complete)``; ``complete`` is False when the fractions contain a loop.

    The fractions are read once in row order (validity a row ahead, then sums, in-degrees and a
    1-byte mask of each cell's valid receivers in the grid; nodata gets in-degree 255, so it is
    never a source); the traversal follows the mask and reads a fraction only where it is
    positive. The sums equal a breadth-first order's up to their order of addition
    (≤ 2e-15 relative on fractal DEMs).
    """
    _, ny, nx = frac.shape
    n = ny * nx
    f2 = frac.reshape((8, n))  # C-contiguous: a view; cells by flat index, no division by nx
    total = np.zeros(n, dtype=np.float64)
    acc = np.full(n, np.nan, dtype=np.float64)
    out = np.zeros(n, dtype=np.uint8)  # bit k: a positive fraction toward a valid cell in the grid
    valid = np.zeros(n, dtype=np.bool_)  # known a row ahead of the row being read
    indeg = np.zeros(n, dtype=np.uint8)  # valid donors; 255 on nodata (never a source)
    offset = np.empty(8, dtype=np.int64)
    for k in range(8):
        offset[k] = _DI[k] * nx + _DJ[k]
    if ny > 0:
        _valid_row(f2, valid, 0, nx)
    nvalid = 0
    for i in range(ny):
        if i + 1 < ny:
            _valid_row(f2, valid, (i + 1) * nx, nx)
        edge = i == 0 or i == ny - 1
        for j in range(nx):
            c = i * nx + j
            if not valid[c]:
                indeg[c] = 255
                continue
            bits = 0
            t = 0.0
            for k in range(8):  # finite here: no branch per direction
                f = f2[k, c]
                pos = f > 0.0
                bits |= np.int64(pos) << k
                t += f if pos else 0.0
            if edge or j == 0 or j == nx - 1:  # the share toward a neighbour off the grid leaves it
                for k in range(8):
                    if not (0 <= i + _DI[k] < ny and 0 <= j + _DJ[k] < nx):
                        bits &= ~(1 << k)
            for k in range(8):
                if bits >> k & 1:
                    d = c + offset[k]
                    if valid[d]:
                        indeg[d] += 1
                    else:  # the share toward nodata leaves the grid
                        bits &= ~(1 << k)
            nvalid += 1
            total[c] = t
            out[c] = bits
            v = contrib[i, j]
            acc[c] = v if math.isfinite(v) else 0.0
    if n < 2**31:  # a stack of 4-byte cell indices, 8-byte only where they do not fit
        done = _mfd_traverse(f2, total, acc, out, indeg, offset, np.empty(n, dtype=np.int32))
    else:
        done = _mfd_traverse(f2, total, acc, out, indeg, offset, np.empty(n, dtype=np.int64))
    return acc.reshape((ny, nx)), done == nvalid


@njit(cache=True, nogil=True)
def _valid_row(f2, valid, c0, nx):
    """``valid`` of cells ``c0 … c0 + nx − 1``: all 8 fractions finite."""
    for c in range(c0, c0 + nx):
        ok = True
        for k in range(8):
            ok &= math.isfinite(f2[k, c])
        valid[c] = ok


@njit(cache=True, nogil=True)
def _mfd_traverse(f2, total, acc, out, indeg, offset, stack):
    """The traversal of :func:`accumulate`; returns the number of cells visited.

    Kahn's algorithm with a stack, started from each source in row order: flow is followed
    downstream while it stays in cache (a FIFO queue visits the grid in scattered waves and
    was 2.5x slower). Cells are marked 255 once stacked; no donor remains to decrement them.
    """
    n = acc.size
    done = 0
    for c0 in range(n):
        if indeg[c0] != 0:  # a donor remains, already stacked (255) or nodata (255)
            continue
        indeg[c0] = 255
        stack[0] = c0
        top = 1
        while top > 0:
            top -= 1
            u = np.int64(stack[top])
            done += 1
            bits = np.int64(out[u])
            if bits == 0:
                continue
            a = acc[u]
            t = total[u]
            for k in range(8):
                if bits >> k & 1:
                    d = u + offset[k]
                    acc[d] += a * (f2[k, u] / t)
                    indeg[d] -= 1
                    if indeg[d] == 0:
                        indeg[d] = 255
                        stack[top] = d
                        top += 1
    return done


@njit(cache=True, nogil=True)
def _dinf_pair(s, p):
    """(lower, higher) direction index and their shares (the zeros of :func:`dinf_fractions`
    plus each share) of sector ``s`` with share ``p`` to its second neighbour, and the sum of
    the positive shares in direction order, as :func:`accumulate` forms it."""
    ka = _CCW[s]
    kb = _CCW[(s + 1) % 8]
    fa = 0.0 + (1.0 - p)
    fb = 0.0 + p
    if kb < ka:
        ka, kb = kb, ka
        fa, fb = fb, fa
    t = 0.0
    if fa > 0.0:
        t += fa
    if fb > 0.0:
        t += fb
    return ka, fa, kb, fb, t


@njit(cache=True, nogil=True)
def dinf_accumulate(angle, dx, dy, contrib):
    """D∞ accumulation straight from the angles, without the 8 float64 shares per cell.

    The same shares as :func:`dinf_fractions` and the same sums, in the same order, as
    :func:`accumulate` of them (bit for bit), holding a sector (1 byte) and a share (8 bytes)
    per cell instead of 64 bytes. Returns ``(acc, complete, bad)`` as :func:`accumulate` and
    :func:`dinf_fractions` do.
    """
    ny, nx = angle.shape
    n = ny * nx
    share = np.zeros(n, dtype=np.float64)
    sector = np.zeros(n, dtype=np.uint8)
    acc = np.full(n, np.nan, dtype=np.float64)
    out = np.zeros(n, dtype=np.uint8)
    valid = np.zeros(n, dtype=np.bool_)
    indeg = np.zeros(n, dtype=np.uint8)
    offset = np.empty(8, dtype=np.int64)
    for k in range(8):
        offset[k] = _DI[k] * nx + _DJ[k]
    phi = np.empty(9, dtype=np.float64)
    pdx = np.nan
    pdy = np.nan
    bad = 0
    nvalid = 0
    for i in range(ny):
        for j in range(nx):
            c = i * nx + j
            a = float(angle[i, j])
            if not math.isfinite(a):
                continue
            valid[c] = True
            nvalid += 1
            v = contrib[i, j]
            acc[c] = v if math.isfinite(v) else 0.0
            if a < 0.0:
                if a != -1.0:
                    bad += 1
                continue
            if a > TWO_PI + SNAP:
                bad += 1
                continue
            if a >= TWO_PI:
                a -= TWO_PI
            if dx[i, j] != pdx or dy[i, j] != pdy:
                pdx = dx[i, j]
                pdy = dy[i, j]
                diag = math.atan2(pdy, pdx)
                for q in range(4):
                    phi[2 * q] = q * 0.5 * math.pi
                    phi[2 * q + 1] = q * 0.5 * math.pi + (diag if q % 2 == 0 else 0.5 * math.pi - diag)
                phi[8] = TWO_PI
            s = 0
            while s < 7 and a >= phi[s + 1]:
                s += 1
            p = (a - phi[s]) / (phi[s + 1] - phi[s])
            if p < SNAP:
                p = 0.0
            elif p > 1.0 - SNAP:
                p = 1.0
            sector[c] = s
            share[c] = p
            ka, fa, kb, fb, _ = _dinf_pair(s, p)
            bits = 0
            if fa > 0.0 and 0 <= i + _DI[ka] < ny and 0 <= j + _DJ[ka] < nx:
                bits |= 1 << ka
                indeg[c + offset[ka]] += 1
            if fb > 0.0 and 0 <= i + _DI[kb] < ny and 0 <= j + _DJ[kb] < nx:
                bits |= 1 << kb
                indeg[c + offset[kb]] += 1
            out[c] = bits
    stack = np.empty(n, dtype=np.int64)  # as in accumulate
    done = 0
    for c0 in range(n):
        if not valid[c0] or indeg[c0] != 0:
            continue
        indeg[c0] = 255
        stack[0] = c0
        top = 1
        while top > 0:
            top -= 1
            u = stack[top]
            done += 1
            bits = np.int64(out[u])
            if bits == 0:
                continue
            a = acc[u]
            ka, fa, kb, fb, t = _dinf_pair(np.int64(sector[u]), share[u])
            for h in range(2):
                k = ka if h == 0 else kb
                if not (bits >> k & 1):
                    continue
                d = u + offset[k]
                if not valid[d]:
                    continue
                acc[d] += a * ((fa if h == 0 else fb) / t)
                indeg[d] -= 1
                if indeg[d] == 0:
                    indeg[d] = 255
                    stack[top] = d
                    top += 1
    return acc.reshape((ny, nx)), done == nvalid, bad


_F32_MAX_FRACTION = np.float32(1.0 + 1e-6)
_F32_ONE = np.float32(1.0)
_F32_SUM_TOLERANCE = np.float32(1e-3)


@njit(cache=True, nogil=True)
def fractions_ok(frac):
    """Whether MFD fractions (8, ny, nx) lie in [0, 1 + 1e-6] or are NaN, and sum (in float32,
    in direction order) to 1 within 1e-3 on each cell with a positive finite sum. One pass,
    no temporaries; comparisons in float32 as NumPy makes them for float32 input."""
    _, ny, nx = frac.shape
    for i in range(ny):
        for j in range(nx):
            t = np.float32(0.0)
            for k in range(8):
                f = np.float32(frac[k, i, j])
                if not (math.isnan(f) or (f >= 0 and f <= _F32_MAX_FRACTION)):
                    return False
                t += f
            if math.isfinite(t) and t > 0 and abs(t - _F32_ONE) > _F32_SUM_TOLERANCE:
                return False
    return True


@njit(cache=True, nogil=True)
def mfd_contour_width(frac, dx, dy):
    """Σ of Quinn contour lengths over the directions with a positive fraction (m);
    √(dx·dy) where there is none (no outflow), NaN for nodata."""
    _, ny, nx = frac.shape
    out = np.empty((ny, nx), dtype=np.float64)
    for i in range(ny):
        for j in range(nx):
            width = 0.0
            for k in range(8):
                f = frac[k, i, j]
                if not math.isfinite(f):
                    width = np.nan
                    break
                if f > 0.0:
                    width += contour_length(k, dx[i, j], dy[i, j])
            out[i, j] = width if width != 0.0 else math.sqrt(dx[i, j] * dy[i, j])
    return out


@njit(cache=True, nogil=True)
def horn_aspect(z, dx, dy):
    """Aspect (degrees clockwise from north, the downslope azimuth, float32) from Horn's gradient.

    ``aspect = atan2(−dz/dx, −dz/dnorth)`` mapped to [0, 360); −1 on flat cells; NaN for nodata.
    Missing neighbours extrapolated (:func:`terrain._window`).
    """
    ny, nx = z.shape
    out = np.empty((ny, nx), dtype=np.float32)
    for i in range(ny):
        for j in range(nx):
            if not math.isfinite(z[i, j]):
                out[i, j] = np.nan
                continue
            dzdx, dzds = _horn_gradient(_window(z, i, j), dx[i, j], dy[i, j])  # east, south
            if dzdx == 0.0 and dzds == 0.0:
                out[i, j] = -1.0
                continue
            a = math.degrees(math.atan2(-dzdx, dzds))  # downslope: east = −dz/dx, north = +dz/dsouth
            out[i, j] = a + 360.0 if a < 0.0 else a
    return out
