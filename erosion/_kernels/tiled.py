"""numba kernels for tiled D8 routing: per-tile passes and the perimeter solve (Barnes 2017).

Plain-array functions only; the dask orchestration lives in ``erosion/factors/terrain/tiled.py``
and the scheme in docs/decisions/0017-tiled-routing.md. A tile comes with a one-cell halo:
``fp`` is (ny + 2) × (nx + 2), the tile's D8 codes in ``fp[1:-1, 1:-1]`` and its neighbours'
codes around them (255 outside the grid), and likewise the elevations ``zp``, cell sizes
``dxp``, ``dyp`` and stop cells ``stopp``. With this halo every quantity the single-grid kernels
of :mod:`erosion._kernels.terrain` compute for a tile cell (its receiver, its inflows, the
angles of both, its start value) is known inside the tile; only values carried along flow paths
across the tile's edge are not, and they are what the perimeter solve supplies.

Index conventions: "padded" flat indices run over the halo-padded tile (``I * (nx + 2) + J``),
"local" ones over the tile's own cells (``i * nx + j``, with ``I = i + 1``, ``J = j + 1``).
An *exit* is a tile cell whose D8 receiver is a valid cell of another tile; an *entry* is a tile
cell that receives flow from a halo cell.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from .terrain import _DI, _DJ, NODATA_DIR, _receiver, _step

REF_BARNES2017 = ("Barnes, R. (2017) Parallel non-divergent flow accumulation for trillion cell digital elevation "
                  "models on desktops or clusters. Environ. Model. Softw. 92:202-212")

EXACT, SATURATED, APPROXIMATE = 0, 1, 2
"""Kinds of entry-to-exit path records for slope length (see :func:`slope_length_perimeter`)."""


@njit(cache=True, nogil=True, inline="always")
def _inside(d, NX, ny, nx):
    """Local flat index of the padded flat index ``d``, or -1 when ``d`` lies in the halo."""
    di = d // NX - 1
    dj = d - (di + 1) * NX - 1
    if 0 <= di < ny and 0 <= dj < nx:
        return di * nx + dj
    return -1


@njit(cache=True, nogil=True, inline="always")
def _on_ring(I, J, NY, NX):
    return I == 0 or J == 0 or I == NY - 1 or J == NX - 1


# --- flow accumulation ------------------------------------------------------------------------

@njit(cache=True, nogil=True)
def tile_accumulation(fp, area, entries, inflow):
    """D8 accumulation on one tile, flow leaving the tile cut: ``A_i = a_i + q_i + Σ_{j→i} A_j``.

    ``q_i`` is the upslope area that enters cell i from outside the tile: ``inflow[p]`` is added
    at local cell ``entries[p]`` (none in phase 1; the perimeter solve's result in phase 3).
    Kahn order as :func:`erosion._kernels.terrain.flow_accumulation`. Returns ``(acc,
    complete)``; ``complete`` is False on a loop.
    """
    NY, NX = fp.shape
    ny, nx = NY - 2, NX - 2
    n = ny * nx
    indeg = np.zeros(n, dtype=np.uint8)
    acc = np.empty((ny, nx), dtype=np.float64)
    valid = 0
    for i in range(ny):
        for j in range(nx):
            if fp[i + 1, j + 1] == NODATA_DIR:
                acc[i, j] = np.nan
                continue
            valid += 1
            acc[i, j] = area[i, j]
            d = _receiver(fp, i + 1, j + 1)[0]
            if d >= 0:
                e = _inside(d, NX, ny, nx)
                if e >= 0:
                    indeg[e] += 1
    flat = acc.reshape(n)
    for p in range(entries.size):
        flat[entries[p]] += inflow[p]
    order = np.empty(n, dtype=np.int32)
    tail = 0
    for c in range(n):
        if indeg[c] == 0 and fp[c // nx + 1, c % nx + 1] != NODATA_DIR:
            order[tail] = c
            tail += 1
    head = 0
    while head < tail:
        u = order[head]
        head += 1
        ui = u // nx
        d = _receiver(fp, ui + 1, u - ui * nx + 1)[0]
        if d >= 0:
            e = _inside(d, NX, ny, nx)
            if e >= 0:
                flat[e] += flat[u]
                indeg[e] -= 1
                if indeg[e] == 0:
                    order[tail] = e
                    tail += 1
    return acc, head == valid


@njit(cache=True, nogil=True)
def _exit_reached(fp, c, memo, stack):
    """The exit (local) that cell c's D8 path reaches inside the tile, -1 when it ends at an
    outlet inside; memoized in ``memo`` (-2: not known yet), so all walks together visit each
    cell once."""
    NY, NX = fp.shape
    ny, nx = NY - 2, NX - 2
    top = 0
    while memo[c] == -2:
        stack[top] = c
        top += 1
        ci = c // nx
        d = _receiver(fp, ci + 1, c - ci * nx + 1)[0]
        if d < 0:
            memo[c] = -1
            break
        e = _inside(d, NX, ny, nx)
        if e < 0:
            memo[c] = c
            break
        c = e
    res = memo[c]
    for p in range(top):
        memo[stack[p]] = res
    return res


@njit(cache=True, nogil=True, inline="always")
def _ring_index(c, ny, nx):
    """Position of the tile's outermost cell c (local) in row-major order of those cells."""
    i = c // nx
    j = c - i * nx
    if i == 0:
        return j
    w = 2 if nx > 1 else 1
    if i == ny - 1:
        return nx + (ny - 2) * w + j
    return nx + (i - 1) * w + (0 if j == 0 else 1)


@njit(cache=True, nogil=True)
def _tile_ring(NY, NX):
    """Padded (I, J) of the tile's own outermost cells, each once."""
    out = np.empty((2 * (NY + NX), 2), dtype=np.int64)
    m = 0
    for I in range(1, NY - 1):
        J = 1
        step = 1 if I == 1 or I == NY - 2 else max(NX - 3, 1)
        while J <= NX - 2:
            out[m, 0] = I
            out[m, 1] = J
            m += 1
            J += step
    return out[:m]


@njit(cache=True, nogil=True)
def _halo_ring(NY, NX):
    """Padded (I, J) of the halo cells, each once."""
    out = np.empty((2 * (NY + NX), 2), dtype=np.int64)
    m = 0
    for I in range(NY):
        J = 0
        step = 1 if I == 0 or I == NY - 1 else NX - 1
        while J <= NX - 1:
            out[m, 0] = I
            out[m, 1] = J
            m += 1
            J += step
    return out[:m]


@njit(cache=True, nogil=True)
def _exits(fp, flat):
    """The tile's cells whose receiver lies outside it (local indices, first ``m`` entries) and
    their values in ``flat``; ``fp`` is the padded code block."""
    NY, NX = fp.shape
    ny, nx = NY - 2, NX - 2
    tile = _tile_ring(NY, NX)
    exits = np.empty(tile.shape[0], dtype=np.int64)
    values = np.empty(tile.shape[0], dtype=np.float64)
    m = 0
    for r in range(tile.shape[0]):
        I, J = tile[r, 0], tile[r, 1]
        d = _receiver(fp, I, J)[0]
        if d >= 0 and _inside(d, NX, ny, nx) < 0:
            c = (I - 1) * nx + J - 1
            exits[m] = c
            values[m] = flat[c]
            m += 1
    return exits, values, m


@njit(cache=True, nogil=True)
def accumulation_perimeter(fp, acc):
    """Perimeter summary of a tile for accumulation (Barnes 2017, phase 1).

    Returns ``(exits, exit_acc, edge_u, edge_e, edge_target)``: the exits (local indices) and
    their tile-local accumulation; and one row per halo cell u that drains into the tile: u
    (padded index), the entry cell e it drains into (local), and the exit e's flow path
    reaches inside the tile (local; -1 when it ends at an outlet inside), found by memoized
    walks down the paths (:func:`_exit_reached`).
    """
    NY, NX = fp.shape
    ny, nx = NY - 2, NX - 2
    flat = acc.reshape(ny * nx)
    exits, exit_acc, m = _exits(fp, flat)
    halo = _halo_ring(NY, NX)
    edge_u = np.empty(halo.shape[0], dtype=np.int64)
    edge_e = np.empty(halo.shape[0], dtype=np.int64)
    edge_target = np.empty(halo.shape[0], dtype=np.int64)
    memo = np.full(ny * nx, -2, dtype=np.int32)
    stack = np.empty(ny * nx, dtype=np.int32)
    q = 0
    for r in range(halo.shape[0]):
        I, J = halo[r, 0], halo[r, 1]
        d = _receiver(fp, I, J)[0]
        if d < 0:
            continue
        e = _inside(d, NX, ny, nx)
        if e < 0:
            continue
        edge_u[q] = I * NX + J
        edge_e[q] = e
        edge_target[q] = _exit_reached(fp, e, memo, stack)
        q += 1
    return exits[:m].copy(), exit_acc[:m].copy(), edge_u[:q].copy(), edge_e[:q].copy(), edge_target[:q].copy()


@njit(cache=True, nogil=True)
def _csr(src, m):
    """Edges grouped by source node: (start (m + 1), edge ids)."""
    start = np.zeros(m + 1, dtype=np.int64)
    for q in range(src.size):
        start[src[q] + 1] += 1
    for x in range(m):
        start[x + 1] += start[x]
    fill = start[:m].copy()
    ids = np.empty(src.size, dtype=np.int64)
    for q in range(src.size):
        ids[fill[src[q]]] = q
        fill[src[q]] += 1
    return start, ids


@njit(cache=True, nogil=True)
def solve_accumulation(exit_acc, edge_u, edge_target):
    """The perimeter graph of all tiles in topological order (Barnes 2017, phase 2).

    Nodes are the exits (indices into ``exit_acc``); edge q runs from exit ``edge_u[q]`` into an
    entry of another tile whose path reaches exit ``edge_target[q]`` (-1: none). Then
    ``A_x = A_x^tile + Σ_{q: target q = x} A_{u(q)}``. Returns ``(acc, complete)``; the external
    inflow of edge q is ``acc[edge_u[q]]``.
    """
    m = exit_acc.size
    start, ids = _csr(edge_u, m)
    indeg = np.zeros(m, dtype=np.int64)
    for q in range(edge_target.size):
        if edge_target[q] >= 0:
            indeg[edge_target[q]] += 1
    acc = exit_acc.copy()
    queue = np.empty(m, dtype=np.int64)
    tail = 0
    for x in range(m):
        if indeg[x] == 0:
            queue[tail] = x
            tail += 1
    head = 0
    while head < tail:
        x = queue[head]
        head += 1
        for p in range(start[x], start[x + 1]):
            t = edge_target[ids[p]]
            if t >= 0:
                acc[t] += acc[x]
                indeg[t] -= 1
                if indeg[t] == 0:
                    queue[tail] = t
                    tail += 1
    return acc, head == m


# --- slope length -----------------------------------------------------------------------------

@njit(cache=True, nogil=True, inline="always")
def _keeps(angle, stopp, U, V, d, NX, cutoff_gentle, cutoff_steep, cutoff_break):
    """Whether padded cell (U, V) passes its length to its receiver d (padded flat index)."""
    di = d // NX
    factor = cutoff_gentle if angle[d] < cutoff_break else cutoff_steep
    return not stopp[U, V] and not stopp[di, d - di * NX] and angle[d] >= angle[U * NX + V] * factor


@njit(cache=True, nogil=True)
def tile_slope_length(zp, fp, dxp, dyp, stopp, entries, candidates, max_length,
                      cutoff_gentle, cutoff_steep, cutoff_break, min_slope):
    """Slope length on one tile, exactly as :func:`erosion._kernels.terrain.slope_length` computes it there.

    Every rule of the single-grid kernel is applied with the halo standing in for the
    neighbouring tiles: a cell's angle to a receiver in the halo, the steepest-inflow angle of a
    receiver-less cell with inflows from the halo, and the start value (s/2 without inflow from
    a non-stop cell, (dx + dy)/2 with one, halo inflows included). Length carried across the
    tile edge is the only thing missing: ``candidates[p]``, a candidate ``λ_u + s_u`` of a halo
    cell that passes its length to the local cell ``entries[p]``, is taken like any other
    candidate: ``λ_c = min(cap, max(start_c, max_u (λ_u + s_u)))`` over the tile's and the
    injected candidates. Returns ``(lam, angle, complete)``; ``angle`` is over the padded
    tile (flat), clamped at ``min_slope`` like the kernel's.
    """
    NY, NX = fp.shape
    ny, nx = NY - 2, NX - 2
    n = ny * nx
    indeg = np.zeros(n, dtype=np.uint8)
    source = np.zeros(n, dtype=np.uint8)
    angle = np.full(NY * NX, -1.0, dtype=np.float64)
    for I in range(NY):
        for J in range(NX):
            d, k = _receiver(fp, I, J)
            if d < 0:
                continue
            tile_cell = not _on_ring(I, J, NY, NX)
            e = _inside(d, NX, ny, nx)
            if not tile_cell and e < 0:
                continue  # halo to halo: not this tile's business
            di = d // NX
            angle[I * NX + J] = math.degrees(math.atan((zp[I, J] - zp[di, d - di * NX]) / _step(k, dxp[I, J], dyp[I, J])))
            if e >= 0:
                if tile_cell:
                    indeg[e] += 1
                if not stopp[I, J]:
                    source[e] += 1
    for I in range(1, NY - 1):  # receiver-less tile cells: steepest inflow angle, halo inflows included
        for J in range(1, NX - 1):
            if fp[I, J] == NODATA_DIR or _receiver(fp, I, J)[0] >= 0:
                continue
            c = I * NX + J
            for k in range(8):
                U = I + _DI[k]
                V = J + _DJ[k]
                u = U * NX + V
                if _receiver(fp, U, V)[0] == c and angle[u] > angle[c]:
                    angle[c] = angle[u]
    for c in range(NY * NX):
        if not angle[c] >= min_slope:
            angle[c] = min_slope
    lam = np.full((ny, nx), np.nan, dtype=np.float64)
    order = np.empty(n, dtype=np.int32)
    tail = 0
    valid = 0
    for i in range(ny):
        for j in range(nx):
            I = i + 1
            J = j + 1
            if fp[I, J] == NODATA_DIR:
                continue
            c = i * nx + j
            valid += 1
            if source[c] == 0:
                d, k = _receiver(fp, I, J)
                lam[i, j] = 0.5 * (_step(k, dxp[I, J], dyp[I, J]) if d >= 0 else 0.5 * (dxp[I, J] + dyp[I, J]))
            else:
                lam[i, j] = 0.5 * (dxp[I, J] + dyp[I, J])
            if indeg[c] == 0:
                order[tail] = c
                tail += 1
    flat = lam.reshape(n)
    for p in range(entries.size):
        if candidates[p] > flat[entries[p]]:
            flat[entries[p]] = candidates[p]
    head = 0
    while head < tail:
        u = order[head]
        head += 1
        if flat[u] > max_length:
            flat[u] = max_length
        ui = u // nx
        U = ui + 1
        V = u - ui * nx + 1
        d, k = _receiver(fp, U, V)
        if d < 0:
            continue
        e = _inside(d, NX, ny, nx)
        if e < 0:
            continue
        if _keeps(angle, stopp, U, V, d, NX, cutoff_gentle, cutoff_steep, cutoff_break):
            cand = flat[u] + _step(k, dxp[U, V], dyp[U, V])
            if cand > flat[e]:
                flat[e] = cand
        indeg[e] -= 1
        if indeg[e] == 0:
            order[tail] = e
            tail += 1
    return lam, angle, head == valid


@njit(cache=True, nogil=True)
def _kept_exit(fp, dxp, dyp, stopp, angle, c, kept, total, steps, stack, cutoff_gentle, cutoff_steep,
               cutoff_break):
    """The exit (local) that cell c's path reaches with every step keeping its length (-1: none),
    with ``total[c]`` = Σ of its steps there, ``s_c + total[receiver]`` (right to left), and
    ``steps[c]`` their number; memoized in ``kept`` (-2: not known yet)."""
    NY, NX = fp.shape
    ny, nx = NY - 2, NX - 2
    top = 0
    while kept[c] == -2:
        ci = c // nx
        U = ci + 1
        V = c - ci * nx + 1
        d = _receiver(fp, U, V)[0]
        if d < 0:
            kept[c] = -1
            break
        e = _inside(d, NX, ny, nx)
        if e < 0:
            kept[c] = c
            total[c] = 0.0
            steps[c] = 0
            break
        if not _keeps(angle, stopp, U, V, d, NX, cutoff_gentle, cutoff_steep, cutoff_break):
            kept[c] = -1
            break
        stack[top] = c
        top += 1
        c = e
    res = kept[c]
    for p in range(top - 1, -1, -1):
        u = stack[p]
        kept[u] = res
        if res >= 0:
            ui = u // nx
            U = ui + 1
            V = u - ui * nx + 1
            k = _receiver(fp, U, V)[1]
            total[u] = _step(k, dxp[U, V], dyp[U, V]) + total[c]
            steps[u] = steps[c] + 1
            c = u
    return res


@njit(cache=True, nogil=True)
def slope_length_perimeter(fp, dxp, dyp, stopp, lam, angle, max_length,
                           cutoff_gentle, cutoff_steep, cutoff_break, replay_steps):
    """Perimeter summary of a tile for slope length (phase 1 of the max-plus scheme, ADR 0017).

    Along a D8 path e = p_0 → … → p_n = x from an entry e to an exit x on which every step
    keeps its length (no cutoff, no stop cell), λ at the exit as a function of the candidate c
    arriving at e from outside is ``λ_x = min(cap, max(A_x, c ⊕ s_0 ⊕ s_1 ⊕ … ⊕ s_{n-1}))``
    (⊕ float64 addition, left to right), A_x the tile-local λ at x (no outside candidates):
    rounding is monotone, so max, + and the cap commute as in exact arithmetic. Returns

    - exits: local index, A_x;
    - one row per halo cell u draining into the tile: u (padded), the entry e (local), the exit
      e's path reaches (local, -1: none; it orders the perimeter graph), whether u passes its
      length to e (``keep``), u's step s_u, and the index of e's path record (-1: none);
    - one path record per entry e that some halo cell passes length to and whose path keeps it
      up to an exit: that exit, the kind, S = Σ s_i, and the steps. ``EXACT``: the steps to the
      exit; ``SATURATED``: 0 ⊕ s_0 ⊕ … reaches the cap first, so λ_x = cap for any c ≥ 0;
      ``APPROXIMATE``: carried as c + S (within n ulps of the replay), for paths that no longer
      fit the tile's budget of ``replay_steps`` steps per halo cell.
    """
    NY, NX = fp.shape
    ny, nx = NY - 2, NX - 2
    n = ny * nx
    flat = lam.reshape(n)
    exits, exit_lam, m = _exits(fp, flat)
    halo = _halo_ring(NY, NX)
    ring = halo.shape[0]
    budget = ring * replay_steps
    target = np.full(n, -2, dtype=np.int32)
    kept = np.full(n, -2, dtype=np.int32)
    total = np.empty(n, dtype=np.float64)  # read only where kept >= 0
    length = np.empty(n, dtype=np.int32)
    stack = np.empty(n, dtype=np.int32)
    edge_u = np.empty(ring, dtype=np.int64)
    edge_e = np.empty(ring, dtype=np.int64)
    edge_target = np.empty(ring, dtype=np.int64)
    edge_keep = np.zeros(ring, dtype=np.bool_)
    edge_step = np.empty(ring, dtype=np.float64)
    edge_path = np.full(ring, -1, dtype=np.int64)
    path_of = np.full(ring, -1, dtype=np.int64)  # by entry (its _ring_index): its path record
    path_exit = np.empty(ring, dtype=np.int64)
    path_kind = np.empty(ring, dtype=np.int8)
    path_sum = np.empty(ring, dtype=np.float64)
    path_start = np.zeros(ring + 1, dtype=np.int64)
    steps = np.empty(16, dtype=np.float64)
    q = 0
    r = 0
    for h in range(ring):
        I, J = halo[h, 0], halo[h, 1]
        d, k = _receiver(fp, I, J)
        if d < 0:
            continue
        e = _inside(d, NX, ny, nx)
        if e < 0:
            continue
        edge_u[q] = I * NX + J
        edge_e[q] = e
        edge_target[q] = _exit_reached(fp, e, target, stack)
        edge_step[q] = _step(k, dxp[I, J], dyp[I, J])
        keep = _keeps(angle, stopp, I, J, d, NX, cutoff_gentle, cutoff_steep, cutoff_break)
        edge_keep[q] = keep
        if keep:
            x = _kept_exit(fp, dxp, dyp, stopp, angle, e, kept, total, length, stack, cutoff_gentle, cutoff_steep,
                           cutoff_break)
            slot = _ring_index(e, ny, nx)
            if x >= 0 and path_of[slot] >= 0:
                edge_path[q] = path_of[slot]
            elif x >= 0:  # e's path, once: its steps until the exit or the cap, or too long to replay
                s0 = path_start[r]
                walk = length[e]
                store = s0 + walk <= budget
                kind = EXACT if store else APPROXIMATE
                if store and s0 + walk > steps.size:
                    grown = np.empty(max(2 * steps.size, s0 + walk), dtype=np.float64)
                    grown[:s0] = steps[:s0]
                    steps = grown
                v = 0.0
                c = e
                for p in range(walk if store or max_length < np.inf else 0):  # a long path may still saturate
                    ci = c // nx
                    U = ci + 1
                    V = c - ci * nx + 1
                    dc, kc = _receiver(fp, U, V)
                    st = _step(kc, dxp[U, V], dyp[U, V])
                    if store:
                        steps[s0 + p] = st
                    v = v + st
                    if v >= max_length:
                        kind = SATURATED
                        break
                    c = _inside(dc, NX, ny, nx)
                path_exit[r] = x
                path_kind[r] = kind
                path_sum[r] = total[e]
                path_start[r + 1] = s0 + (walk if kind == EXACT else 0)
                edge_path[q] = r
                path_of[slot] = r
                r += 1
        q += 1
    return (exits[:m].copy(), exit_lam[:m].copy(),
            edge_u[:q].copy(), edge_e[:q].copy(), edge_target[:q].copy(), edge_keep[:q].copy(),
            edge_step[:q].copy(), edge_path[:q].copy(),
            path_exit[:r].copy(), path_kind[:r].copy(), path_sum[:r].copy(), path_start[:r + 1].copy(),
            steps[:path_start[r]].copy())


@njit(cache=True, nogil=True)
def _carry(c, kind, total, steps, lo, hi):
    """λ carried from candidate c at an entry to its exit (before the exit's max and cap)."""
    if kind == SATURATED:
        return np.inf
    if kind == APPROXIMATE:
        return c + total
    v = c
    for p in range(lo, hi):
        v = v + steps[p]
    return v


@njit(cache=True, nogil=True)
def solve_slope_length(exit_lam, edge_u, edge_target, edge_keep, edge_step, edge_path,
                       path_exit, path_kind, path_sum, path_start, steps, max_length):
    """λ at every exit of every tile, in topological order of the perimeter graph (phase 2).

    ``λ_x = min(cap, max(A_x, max_q carry_q(λ_{u(q)} ⊕ s_{u(q)})))`` over the edges q that
    pass length into an entry whose path keeps it up to x (:func:`slope_length_perimeter`).
    Returns ``(lam, candidate, complete)``: the candidate ``λ_u ⊕ s_u`` each edge injects at
    its entry (-inf where u passes none).
    """
    m = exit_lam.size
    start, ids = _csr(edge_u, m)
    indeg = np.zeros(m, dtype=np.int64)
    for q in range(edge_target.size):
        if edge_target[q] >= 0:
            indeg[edge_target[q]] += 1
    lam = exit_lam.copy()
    candidate = np.full(edge_u.size, -np.inf, dtype=np.float64)
    queue = np.empty(m, dtype=np.int64)
    tail = 0
    for x in range(m):
        if indeg[x] == 0:
            queue[tail] = x
            tail += 1
    head = 0
    while head < tail:
        x = queue[head]
        head += 1
        if lam[x] > max_length:
            lam[x] = max_length
        for p in range(start[x], start[x + 1]):
            q = ids[p]
            if edge_keep[q]:
                c = lam[x] + edge_step[q]
                candidate[q] = c
                r = edge_path[q]
                if r >= 0:
                    v = _carry(c, path_kind[r], path_sum[r], steps, path_start[r], path_start[r + 1])
                    t = path_exit[r]
                    if v > lam[t]:
                        lam[t] = v
            t = edge_target[q]
            if t >= 0:
                indeg[t] -= 1
                if indeg[t] == 0:
                    queue[tail] = t
                    tail += 1
    return lam, candidate, head == m
