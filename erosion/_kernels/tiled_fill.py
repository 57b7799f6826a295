"""numba kernels for the tiled depression fill: per-tile floods and the spill graph (Barnes 2016).

Plain-array functions only; the dask orchestration is in ``erosion/factors/terrain/tiled.py``
and the scheme in docs/decisions/0018-tiled-fill.md. A tile comes with a one-cell halo: ``zp``
is (ny + 2) × (nx + 2), the tile's elevations in ``zp[1:-1, 1:-1]`` and its neighbours' around
them (NaN outside the grid). The fill is the exact one of
:func:`erosion._kernels.conditioning.priority_flood_exact`: each valid cell ends at the lowest
level W from which it can drain to an outlet (a valid cell on the grid edge or beside NaN),
``W(c) = min over paths from an outlet to c of the highest elevation on the path``.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, types
from numba.typed import Dict

from .conditioning import _raise_cell
from .terrain import _DI, _DJ, _pop, _push
from .tiled import _ring_index, _tile_ring

REF_BARNES2016 = ("Barnes, R. (2016) Parallel priority-flood depression filling for trillion cell digital elevation "
                  "models on desktops or clusters. Comput. Geosci. 96:56-68")

OCEAN = -1
"""Label of the cells flooded from an outlet inside a tile (and of the graph node all outlets join)."""


@njit(cache=True, nogil=True, inline="always")
def _beside_nan(zp, I, J):
    for k in range(8):
        if not math.isfinite(zp[I + _DI[k], J + _DJ[k]]):
            return True
    return False


@njit(cache=True, nogil=True)
def tile_flood(zp, record):
    """Priority-flood of one tile from its outermost cells and its outlets (Barnes 2016, step 1).

    Every outermost cell of the tile is a seed with its own label (its ring position, see
    :func:`erosion._kernels.tiled._ring_index`), every other outlet a seed labelled
    :data:`OCEAN`; the flood is Barnes et al.'s (2014a) with a pit queue, and a cell takes the
    label of the cell it is reached from. ``W_loc`` is the fill as if the tile's outermost cells
    were outlets. With ``record``, every pair of adjacent cells with different labels a, b
    gives the spill edge (a, b, max(W_loc) of the pair), the lowest kept per pair of labels.
    Returns ``(W_loc, label, keys, spill)`` with ``key = (a + 1)·(R + 1) + (b + 1)``, a < b,
    R the number of outermost cells.
    """
    NY, NX = zp.shape
    ny, nx = NY - 2, NX - 2
    n = ny * nx
    w = np.empty((ny, nx), dtype=np.float64)
    for i in range(ny):
        for j in range(nx):
            w[i, j] = zp[i + 1, j + 1]
    wf = w.reshape(n)
    label = np.full(n, -2, dtype=np.int32)
    closed = np.zeros(n, dtype=np.bool_)
    hz = np.empty(n, dtype=np.float64)
    hi = np.empty(n, dtype=np.int64)
    size = 0
    for c in range(n):
        if not math.isfinite(wf[c]):
            closed[c] = True
            continue
        i = c // nx
        j = c - i * nx
        if i == 0 or j == 0 or i == ny - 1 or j == nx - 1:
            label[c] = _ring_index(c, ny, nx)
        elif _beside_nan(zp, i + 1, j + 1):
            label[c] = OCEAN
        else:
            continue
        closed[c] = True
        size = _push(hz, hi, size, wf[c], c)
    rings = np.int64(2 * (ny + nx))
    edges = Dict.empty(key_type=types.int64, value_type=types.float64)
    pit = np.empty(n, dtype=np.int64)
    trace = np.empty(n, dtype=np.int64)
    head = 0
    tail = 0
    top = 0
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
        # c, then the cells traced up the slope from it without the heap (Zhou et al. 2016): a
        # higher cell whose open neighbours are all higher than it keeps its own elevation
        # whoever reaches it, so it is settled at once; one with an open neighbour at or below
        # it waits in the heap for its turn.
        while top > 0:
            top -= 1
            t = trace[top]
            wt = wf[t]
            ti = t // nx
            tj = t - ti * nx
            if not first:
                wait = False
                for k in range(8):
                    ni = ti + _DI[k]
                    nj = tj + _DJ[k]
                    if 0 <= ni < ny and 0 <= nj < nx:
                        nb = ni * nx + nj
                        if not closed[nb] and wf[nb] <= wt:
                            wait = True
                            break
                if wait:
                    size = _push(hz, hi, size, wt, t)
                    continue
            first = False
            lt = label[t]
            for k in range(8):
                ni = ti + _DI[k]
                nj = tj + _DJ[k]
                if ni < 0 or nj < 0 or ni >= ny or nj >= nx:
                    continue
                nb = ni * nx + nj
                if closed[nb]:
                    if record and label[nb] != lt and label[nb] != -2:
                        a, b = (lt, label[nb]) if lt < label[nb] else (label[nb], lt)
                        key = (np.int64(a) + 1) * (rings + 1) + np.int64(b) + 1
                        e = max(wt, wf[nb])
                        if key not in edges or e < edges[key]:
                            edges[key] = e
                    continue
                closed[nb] = True
                label[nb] = lt
                if wf[nb] <= wt:
                    wf[nb] = wt
                    pit[tail] = nb
                    tail += 1
                else:
                    trace[top] = nb
                    top += 1
    keys = np.empty(len(edges), dtype=np.int64)
    spill = np.empty(len(edges), dtype=np.float64)
    m = 0
    for key, e in edges.items():
        keys[m] = key
        spill[m] = e
        m += 1
    return w, label, keys, spill


@njit(cache=True, nogil=True)
def tile_perimeter(zp):
    """The tile's outermost cells and their links to the halo (Barnes 2016, step 1).

    Returns ``(ring, outlet, cross_p, cross_h, cross_e)``: ``ring[r]`` the local index of the
    outermost cell with ring position r, ``outlet[r]`` whether it is a valid outlet (beside NaN
    or the grid edge); and one cross edge per valid outermost cell p and valid halo neighbour h
    (local index of p, padded index of h, max(z_p, z_h)).
    """
    NY, NX = zp.shape
    ny, nx = NY - 2, NX - 2
    pos = _tile_ring(NY, NX)
    m = pos.shape[0]
    ring = np.empty(m, dtype=np.int64)
    outlet = np.zeros(m, dtype=np.bool_)
    cross_p = np.empty(8 * m, dtype=np.int64)
    cross_h = np.empty(8 * m, dtype=np.int64)
    cross_e = np.empty(8 * m, dtype=np.float64)
    q = 0
    for t in range(m):
        I, J = pos[t, 0], pos[t, 1]
        c = (I - 1) * nx + J - 1
        r = _ring_index(c, ny, nx)
        ring[r] = c
        zc = zp[I, J]
        if not math.isfinite(zc):
            continue
        outlet[r] = _beside_nan(zp, I, J)
        for k in range(8):
            U = I + _DI[k]
            V = J + _DJ[k]
            if 1 <= U <= ny and 1 <= V <= nx:
                continue
            zh = zp[U, V]
            if math.isfinite(zh):
                cross_p[q] = c
                cross_h[q] = U * NX + V
                cross_e[q] = max(zc, zh)
                q += 1
    return ring, outlet, cross_p[:q], cross_h[:q], cross_e[:q]


@njit(cache=True, nogil=True)
def solve_levels(a, b, e, m, ocean):
    """Water levels of the spill graph: priority-flood from the ocean node (Barnes 2016, step 2).

    Nodes 0..m-1; undirected edge q joins ``a[q]`` and ``b[q]`` at spill elevation ``e[q]``.
    ``level[ocean] = −inf``; a node reached over edge q from a node at level L is at
    ``max(L, e[q])``, and each node keeps the lowest such level (Dijkstra on the minimax path).
    Returns ``level`` (+inf where no path reaches the ocean).
    """
    deg = np.zeros(m + 1, dtype=np.int64)
    for q in range(a.size):
        deg[a[q] + 1] += 1
        deg[b[q] + 1] += 1
    for x in range(m):
        deg[x + 1] += deg[x]
    fill = deg[:m].copy()
    other = np.empty(2 * a.size, dtype=np.int64)
    weight = np.empty(2 * a.size, dtype=np.float64)
    for q in range(a.size):
        other[fill[a[q]]] = b[q]
        weight[fill[a[q]]] = e[q]
        fill[a[q]] += 1
        other[fill[b[q]]] = a[q]
        weight[fill[b[q]]] = e[q]
        fill[b[q]] += 1
    level = np.full(m, np.inf)
    done = np.zeros(m, dtype=np.bool_)
    hz = np.empty(2 * a.size + 1, dtype=np.float64)
    hi = np.empty(2 * a.size + 1, dtype=np.int64)
    level[ocean] = -np.inf
    size = _push(hz, hi, 0, -np.inf, ocean)
    while size > 0:
        x = hi[0]
        lx = hz[0]
        size = _pop(hz, hi, size)
        if done[x]:
            continue
        done[x] = True
        for p in range(deg[x], deg[x + 1]):
            y = other[p]
            ly = max(lx, weight[p])
            if not done[y] and ly < level[y]:
                level[y] = ly
                size = _push(hz, hi, size, ly, y)
    return level


@njit(cache=True, nogil=True)
def _root(parent, x):
    while parent[x] != x:
        parent[x] = parent[parent[x]]
        x = parent[x]
    return x


@njit(cache=True, nogil=True)
def spanning_forest(a, b, e, m):
    """The edges of a minimum spanning forest of the graph (nodes 0..m-1, edge q joining
    ``a[q]`` and ``b[q]`` at ``e[q]``), as a boolean mask (Kruskal, union by path halving).

    The minimax path between any two nodes runs along a minimum spanning forest, and an edge
    outside a subgraph's forest is the highest edge of a cycle of the whole graph too (the
    cycle property): so each tile may send only its own forest to the spill graph and the
    levels of :func:`solve_levels` do not change, while the graph shrinks to fewer edges than
    the tile has outermost and halo cells.
    """
    order = np.argsort(e, kind="mergesort")
    parent = np.arange(m)
    keep = np.zeros(a.size, dtype=np.bool_)
    for q in order:
        ra = _root(parent, a[q])
        rb = _root(parent, b[q])
        if ra != rb:
            parent[ra] = rb
            keep[q] = True
    return keep


@njit(cache=True, nogil=True)
def raise_to_levels(w, label, ring_level):
    """``W = max(W_loc, level of the cell's label)`` in place (Barnes 2016, step 3)."""
    wf = w.reshape(w.size)
    for c in range(wf.size):
        lab = label[c]
        if lab >= 0 and ring_level[lab] > wf[c]:
            wf[c] = ring_level[lab]
    return w


# --- flats across tiles (Barnes, Lehman & Mulla 2014b) -----------------------------------------

@njit(cache=True, nogil=True, inline="always")
def _flat_at(wp, I, J):
    """Whether padded cell (I, J) is a flat cell: valid, not an outlet, no strictly lower neighbour."""
    v = wp[I, J]
    if not math.isfinite(v):
        return False
    for k in range(8):
        u = wp[I + _DI[k], J + _DJ[k]]
        if not math.isfinite(u) or u < v:
            return False
    return True


@njit(cache=True, nogil=True)
def flat_summary(wp):
    """The flat cells of a filled tile that flats in other tiles may reach, for :func:`solve_flats`.

    ``wp``: the filled tile with its halo (the neighbours' filled values, NaN outside the grid).
    Flat cells are those of :func:`erosion._kernels.conditioning.resolve_flats`. A flat piece
    (8-connected flat cells of the tile) that touches the tile's outermost cells may continue
    in another tile: all its cells are reported (flat), with ``high`` (a strictly higher
    neighbour) and ``low`` (a non-flat neighbour of equal value inside the tile). Non-flat
    outermost cells with a halo neighbour of equal value are reported too (not flat): they may
    be the low edge of a flat next door. Pieces that do not touch the outermost cells lie in
    this tile alone and are not reported. Returns ``(cells, flat, high, low)``, cells local.
    """
    NY, NX = wp.shape
    ny, nx = NY - 2, NX - 2
    n = ny * nx
    is_flat = np.zeros(n, dtype=np.bool_)
    for c in range(n):
        is_flat[c] = _flat_at(wp, c // nx + 1, c % nx + 1)
    reported = np.zeros(n, dtype=np.bool_)
    queue = np.empty(n, dtype=np.int64)
    seen = np.zeros(n, dtype=np.bool_)
    for s in range(n):
        si = s // nx
        sj = s - si * nx
        if not is_flat[s] or seen[s] or not (si == 0 or sj == 0 or si == ny - 1 or sj == nx - 1):
            continue
        seen[s] = True
        queue[0] = s
        head = 0
        tail = 1
        while head < tail:
            c = queue[head]
            head += 1
            reported[c] = True
            ci = c // nx
            cj = c - ci * nx
            for k in range(8):
                ni = ci + _DI[k]
                nj = cj + _DJ[k]
                if 0 <= ni < ny and 0 <= nj < nx:
                    nb = ni * nx + nj
                    if is_flat[nb] and not seen[nb]:
                        seen[nb] = True
                        queue[tail] = nb
                        tail += 1
    m = 0
    cells = np.empty(n, dtype=np.int64)
    flat = np.zeros(n, dtype=np.bool_)
    high = np.zeros(n, dtype=np.bool_)
    low = np.zeros(n, dtype=np.bool_)
    for c in range(n):
        ci = c // nx
        cj = c - ci * nx
        v = wp[ci + 1, cj + 1]
        if reported[c]:
            cells[m] = c
            flat[m] = True
            for k in range(8):
                ni = ci + _DI[k]
                nj = cj + _DJ[k]
                u = wp[ni + 1, nj + 1]
                if u > v:
                    high[m] = True
                if 0 <= ni < ny and 0 <= nj < nx and u == v and not is_flat[ni * nx + nj]:
                    low[m] = True
            m += 1
        elif math.isfinite(v) and not is_flat[c] and (ci == 0 or cj == 0 or ci == ny - 1 or cj == nx - 1):
            for k in range(8):
                ni = ci + _DI[k]
                nj = cj + _DJ[k]
                if not (0 <= ni < ny and 0 <= nj < nx) and wp[ni + 1, nj + 1] == v:
                    cells[m] = c
                    m += 1
                    break
    return cells[:m], flat[:m], high[:m], low[:m]


@njit(cache=True, nogil=True)
def solve_flats(gid, w, flat, high, low, nyg, nxg):
    """Barnes et al.'s (2014b) increments on the reported flat cells of all tiles, exactly.

    ``gid`` (sorted grid indices), ``w``, ``flat``, ``high``, ``low`` as reported by
    :func:`flat_summary`. Every cell of a flat group that crosses a tile edge is reported, with
    every low-edge cell beside it that lies in another tile, so the BFS distances away from
    higher terrain (``away``, from the ``high`` cells), towards lower terrain (``towards``, from
    the low edges) and the group's largest ``away`` (H) are those of
    :func:`erosion._kernels.conditioning.resolve_flats` on the whole grid. Returns the increment
    ``2·towards + H − away`` (ulps) of each reported flat cell, -1 where no low edge is reached
    or the cell is not flat.
    """
    n = gid.size
    nbr = np.full((n, 8), -1, dtype=np.int64)
    for q in range(n):
        if not flat[q]:
            continue
        r = gid[q] // nxg
        c = gid[q] - r * nxg
        for k in range(8):
            rr = r + _DI[k]
            cc = c + _DJ[k]
            if 0 <= rr < nyg and 0 <= cc < nxg:
                g = rr * nxg + cc
                pos = np.searchsorted(gid, g)
                if pos < n and gid[pos] == g:
                    nbr[q, k] = pos
    group = np.full(n, -1, dtype=np.int64)
    queue = np.empty(n, dtype=np.int64)
    groups = 0
    for s in range(n):
        if not flat[s] or group[s] >= 0:
            continue
        group[s] = groups
        queue[0] = s
        head = 0
        tail = 1
        while head < tail:
            q = queue[head]
            head += 1
            for k in range(8):
                p = nbr[q, k]
                if p >= 0 and flat[p] and group[p] < 0:
                    group[p] = groups
                    queue[tail] = p
                    tail += 1
        groups += 1
    away = np.zeros(n, dtype=np.int64)
    height = np.zeros(groups, dtype=np.int64)
    tail = 0
    for q in range(n):
        if flat[q] and high[q]:
            away[q] = 1
            queue[tail] = q
            tail += 1
    head = 0
    while head < tail:
        q = queue[head]
        head += 1
        height[group[q]] = away[q]
        for k in range(8):
            p = nbr[q, k]
            if p >= 0 and flat[p] and away[p] == 0:
                away[p] = away[q] + 1
                queue[tail] = p
                tail += 1
    towards = np.zeros(n, dtype=np.int64)
    tail = 0
    for q in range(n):
        if not flat[q]:
            continue
        source = low[q]
        for k in range(8):
            p = nbr[q, k]
            if p >= 0 and not flat[p] and w[p] == w[q]:
                source = True
        if source:
            towards[q] = 1
            queue[tail] = q
            tail += 1
    head = 0
    while head < tail:
        q = queue[head]
        head += 1
        for k in range(8):
            p = nbr[q, k]
            if p >= 0 and flat[p] and towards[p] == 0 and w[p] == w[q]:
                towards[p] = towards[q] + 1
                queue[tail] = p
                tail += 1
    out = np.full(n, -1, dtype=np.int64)
    for q in range(n):
        if flat[q] and towards[q] > 0:
            out[q] = 2 * towards[q] + height[group[q]] - away[q]
    return out


@njit(cache=True, nogil=True)
def raise_flats(w, cells, m):
    """Raise ``w.flat[cells[q]]`` by ``m[q]`` steps where m ≥ 0, as resolve_flats does (``_raise_cell``)."""
    flat = w.reshape(w.size)
    bits = flat.view(np.int64)
    for q in range(cells.size):
        if m[q] >= 0:
            _raise_cell(flat, bits, cells[q], m[q])
    return w


@njit(cache=True, nogil=True)
def flat_conflicts(wp, outp):
    """Tile flat cells raised to or above a neighbour that was higher (``outp``: raised, padded)."""
    NY, NX = wp.shape
    conflicts = 0
    for I in range(1, NY - 1):
        for J in range(1, NX - 1):
            if not _flat_at(wp, I, J):
                continue
            for k in range(8):
                U = I + _DI[k]
                V = J + _DJ[k]
                if wp[U, V] > wp[I, J] and outp[U, V] <= outp[I, J]:
                    conflicts += 1
                    break
    return conflicts
