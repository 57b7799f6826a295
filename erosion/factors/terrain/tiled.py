"""Tiled depression fill, D8 flow accumulation and slope length on dask arrays: exact, without
gathering the grid.

The fill is Barnes (2016), docs/decisions/0018-tiled-fill.md; the routing is Barnes (2017),
docs/decisions/0017-tiled-routing.md. Both run in phases: phase 0 keeps the outermost
rows and columns of each tile (its neighbours' halo); phase 1 runs each tile on its own, with a
one-cell halo, and keeps a summary of its perimeter; phase 2, one small task, solves the
perimeter graph of all tiles in topological order; phase 3 reruns each tile with what enters it
from outside. Accumulation is linear (sums); slope length is max-plus with a cap, cutoffs and
stop cells, carried along entry-to-exit paths by replaying their steps, so that it equals
:func:`erosion._kernels.terrain.slope_length` bit for bit.

Inputs are plain north-up arrays like the kernels take (dask arrays, chunked alike; NumPy
arrays are taken as one chunk); the results are lazy dask arrays chunked like their input, and
nothing is computed when the functions are called. Routing takes a filled DEM and its D8 codes.
Wrappers with units, grids and validation are
in :mod:`erosion.factors.terrain.routing`.
"""

from __future__ import annotations

import operator

import numpy as np

from ..._kernels import tiled as kt
from ..._kernels import tiled_fill as kf
from ...errors import InputError
from ._common import is_dask

__all__ = ["REPLAY_STEPS", "tiled_fill", "tiled_flow_accumulation", "tiled_slope_length", "tiled_stencil"]

REPLAY_STEPS = 64
"""Steps per halo cell that a tile may record so that phase 2 replays its entry-to-exit paths exactly.

A tile records the steps of each entry-to-exit path that carries length (until the exit, or
until the cap is reached) while they fit its budget of ``REPLAY_STEPS`` × its halo cells
(8 bytes each). A path beyond the budget is carried as ``c + Σ s`` (ADR 0017): within a few
ulps of the single-grid result. With the default cap of 304.8 m and 30 m cells no path needs
more than 11 steps."""


# --- inputs -----------------------------------------------------------------------------------

def _codes(fdir):
    import dask.array as da

    f = fdir if is_dask(fdir) else da.from_array(np.asarray(fdir), chunks=-1)
    if f.ndim != 2 or 0 in f.shape:
        raise InputError(f"fdir must be a non-empty 2-D array of D8 codes, got shape {f.shape}")
    if f.dtype.kind not in "iu":
        raise InputError(f"fdir must hold integer D8 codes (uint8), not {f.dtype}")
    return f.astype(np.uint8)


def _like(x, fdir, name, dtype):
    """``x`` (dask or NumPy, 2-D) as a dask array chunked like ``fdir``."""
    import dask.array as da

    a = x if is_dask(x) else da.from_array(np.asarray(x), chunks=fdir.chunks)
    if a.shape != fdir.shape:
        raise InputError(f"{name} of shape {a.shape} does not match fdir {fdir.shape}")
    return a.astype(dtype).rechunk(fdir.chunks)


class _PerCell:
    """A per-cell float input: a number, per-row values (1-D, or a 2-D view constant along each
    row such as ``np.broadcast_to(per_row[:, None], shape)``), or a 2-D (dask) array.

    Numbers and per-row values travel to each tile as a column of its rows (no grid-sized array
    is built); a full 2-D array travels as its blocks.
    """

    def __init__(self, x, fdir, name):
        self.rows = None
        self.array = None
        if is_dask(x):
            self.array = _like(x, fdir, name, np.float64)
            return
        a = np.asarray(x, dtype=np.float64)
        if a.ndim == 2 and a.shape == fdir.shape and a.strides[1] == 0:
            a = a[:, 0]
        if a.ndim == 0:
            a = np.full(fdir.shape[0], float(a))
        if a.ndim == 1:
            if a.shape[0] != fdir.shape[0]:
                raise InputError(f"{name} per row has {a.shape[0]} values for {fdir.shape[0]} rows")
            self.rows = np.ascontiguousarray(a)
        else:
            self.array = _like(a, fdir, name, np.float64)

    def column(self, r0, h, pad):
        """The tile's rows as an (h [+ 2], 1) column (NaN outside the grid)."""
        if pad:
            col = np.full(h + 2, np.nan)
            lo, hi = max(r0 - 1, 0), min(r0 + h + 1, self.rows.size)
            col[lo - (r0 - 1):hi - (r0 - 1)] = self.rows[lo:hi]
        else:
            col = self.rows[r0:r0 + h].copy()
        return col[:, None]


def _tiles(chunks, shape):
    """(tile number, block row, block column, first row, first column, rows, columns, grid columns)."""
    r = np.concatenate([[0], np.cumsum(chunks[0])])
    c = np.concatenate([[0], np.cumsum(chunks[1])])
    out = []
    for bi, h in enumerate(chunks[0]):
        for bj, w in enumerate(chunks[1]):
            out.append((len(out), bi, bj, int(r[bi]), int(c[bj]), int(h), int(w), int(shape[1])))
    return out


_NONE = (np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float64))
"""No inflow: the (entries, values) of phase 1."""


def _loop():
    return InputError("flow directions contain a loop; recompute them from a filled DEM")


def _local_gid(c, tile):
    _, _, _, r0, c0, _, w, nxg = tile
    i = c // w
    return (r0 + i) * nxg + c0 + (c - i * w)


def _padded_gid(u, tile):
    _, _, _, r0, c0, _, w, nxg = tile
    i = u // (w + 2)
    return (r0 + i - 1) * nxg + c0 + (u - i * (w + 2)) - 1


def _cells(piece, shape):
    """A per-cell float piece (a column or a block) as a (read-only) array of ``shape``."""
    return np.broadcast_to(np.asarray(piece, dtype=np.float64), shape)


def _positions(sorted_ids, ids, what):
    """Positions of ``ids`` in ``sorted_ids`` (-1 for -1); every id must be there."""
    pos = np.searchsorted(sorted_ids, ids)
    found = ids >= 0
    if found.any() and (sorted_ids.size == 0 or not np.array_equal(
            sorted_ids[np.minimum(pos[found], sorted_ids.size - 1)], ids[found])):
        raise RuntimeError(f"tiled routing: {what} not found among the tile exits (inconsistent halos)")
    return np.where(found, pos, -1)


def _per_tile(ntiles, tile_of, *columns):
    """Split edge columns by tile: a list, one tuple of arrays per tile."""
    order = np.argsort(tile_of, kind="stable")
    bounds = np.concatenate([[0], np.cumsum(np.bincount(tile_of, minlength=ntiles))])
    cols = [c[order] for c in columns]
    return [tuple(c[bounds[t]:bounds[t + 1]] for c in cols) for t in range(ntiles)]


# --- the graph ----------------------------------------------------------------------------------

def _assemble(blocks, pieces, layout):
    """The inputs of a tile in ``layout`` order: "block" takes the next block, "piece" the next
    small argument, None gives None."""
    b, p = iter(blocks), iter(pieces)
    return [next(b) if kind == "block" else next(p) if kind == "piece" else None for kind in layout]


_AROUND = ((-1, -1), (-1, 0), (-1, 1), (0, -1), (0, 1), (1, -1), (1, 0), (1, 1))


def _edges(blocks, fills):
    """Phase 0: the outermost rows and columns of a tile's blocks (top, bottom, left, right)."""
    return [None if fill is None else (b[0].copy(), b[-1].copy(), b[:, 0].copy(), b[:, -1].copy())
            for b, fill in zip(blocks, fills, strict=True)]


def _pad(block, around, k, fill):
    """A block with its one-cell halo from the neighbours' edges (``fill`` outside the grid)."""
    h, w = block.shape
    out = np.empty((h + 2, w + 2), dtype=block.dtype)
    out[1:-1, 1:-1] = block
    out[0], out[-1], out[:, 0], out[:, -1] = fill, fill, fill, fill
    edge = [None if e is None else e[k] for e in around]  # NW, N, NE, W, E, SW, S, SE
    if edge[0] is not None:
        out[0, 0] = edge[0][1][-1]
    if edge[1] is not None:
        out[0, 1:-1] = edge[1][1]
    if edge[2] is not None:
        out[0, -1] = edge[2][1][0]
    if edge[3] is not None:
        out[1:-1, 0] = edge[3][3]
    if edge[4] is not None:
        out[1:-1, -1] = edge[4][2]
    if edge[5] is not None:
        out[-1, 0] = edge[5][0][-1]
    if edge[6] is not None:
        out[-1, 1:-1] = edge[6][0]
    if edge[7] is not None:
        out[-1, -1] = edge[7][0][0]
    return out


def _padded_call(phase, blocks, around, fills, *args):
    """Run a tile phase on its blocks, halo-padded where ``fills`` asks for it."""
    padded = [b if fill is None else _pad(np.asarray(b), around, k, fill)
              for k, (b, fill) in enumerate(zip(blocks, fills, strict=True))]
    return phase(padded, *args)


def _after(gate, value):
    return value


def _spec():
    try:
        from dask._task_spec import DataNode, List, Task, TaskRef, convert_legacy_graph
    except ImportError:  # pragma: no cover - dask < 2024.12
        raise InputError("tiled routing needs a dask with task-spec graphs (dask._task_spec, late 2024 on)") from None
    return DataNode, List, Task, TaskRef, convert_legacy_graph


_WINDOWS = (2, 3, 4, 6)
"""Bands (rows and tiles of tiles) within which a tile pass may read its inputs ahead of its
tile tasks, narrowest first: one more than the farthest tile an input block depends on (a
DEM under the fill's halo: 1; the filled DEM under a D8 stencil: 2; their accumulation for
the channel cutoff: 3)."""

_GLOBAL = "-global-"
"""Marks the task names of global phases (and of their per-tile shares) in tiled graphs."""


def _recomputed(arrays, gate, seed, tile_gate=None):
    """Tasks computing ``arrays`` again under new keys, after the task ``gate`` if given.

    Phases 1 and 3 each need their tile's inputs. Depending on the keys phase 0 used would make
    the scheduler hold input blocks from one phase to the next, the whole grid while phase 2
    waits; renamed tasks make it read or compute them again, tile by tile (Barnes 2017 reads
    tiles twice as well). Data embedded in the graph is shared, not copied, and so are the
    global phases of a tiled step that made the inputs (a tiled fill under a tiled slope length):
    their results are perimeter-sized, so each copy reruns only that step's last per-tile pass.

    Source tasks (reads, generators: tasks that need nothing but shared data) wait for ``gate``,
    so that no tile is read for phase 3 before phase 2 has finished, and, with ``tile_gate``,
    for the task ``tile_gate(i, j)`` (a tile phase task some tiles earlier): otherwise the
    scheduler, finding every source ready at once, reads them all before the tile tasks use
    them, and holds the whole grid. (``dask.graph_manipulation.bind`` renames tuple graphs but
    leaves the references inside task-spec tasks unrenamed.) Returns ``(tasks, key)``: a graph
    dict and the new key of each old key.
    """
    DataNode, List, Task, TaskRef, convert_legacy_graph = _spec()
    names: dict[str, str] = {}

    def rename(key):
        if isinstance(key, tuple):
            return (rename(key[0]), *key[1:])
        if key not in names:
            names[key] = f"again-{seed}-{key}"
        return names[key]

    def shared(key, node):  # data, and the small results of an earlier tiled step's global phases
        return isinstance(node, DataNode) or _GLOBAL in (key[0] if isinstance(key, tuple) else key)

    tasks, subs, nodes = {}, {}, {}
    for a in arrays:
        nodes.update(convert_legacy_graph(dict(a.__dask_graph__())))
    subs.update({key: rename(key) for key, node in nodes.items() if not shared(key, node)})
    for key, node in nodes.items():
        if shared(key, node):
            tasks[key] = node
            continue
        gates = []
        if isinstance(node, Task) and (node.func is _after or all(shared(d, nodes.get(d)) for d in node.dependencies)):
            # a source, or a source that an inner tiled step already gates: gate it here too
            if gate is not None:
                gates.append(TaskRef(gate))
            if tile_gate is not None and isinstance(key, tuple) and len(key) == 3:
                before = tile_gate(key[1], key[2])
                if before is not None:
                    gates.append(TaskRef(before))
        if gates:  # run it inline once the gates have been computed
            tasks[subs[key]] = Task(subs[key], _after, List(*gates), node.substitute(subs))
        else:
            tasks[subs[key]] = node.substitute(subs, key=subs[key])
    return tasks, lambda key: subs.get(key, key)


def _three_phases(what, arrays, fills, pieces, phase1, phase2, phase3, params, like, recompute):
    """Phase 1 per tile, phase 2 once, phase 3 per tile (Barnes 2017): :func:`_phases`."""
    return _phases(what, arrays, fills, pieces, (phase1, phase3), (phase2,), params, like, recompute)


def _phases(what, arrays, fills, pieces, tile_phases, global_phases, params, like, recompute, dtype=np.float64):
    """Build the lazy result of alternating phases: per tile, once, per tile, ... (Barnes 2016, 2017).

    ``arrays``: dask arrays chunked like ``like``, passed to every tile phase block by block,
    with a one-cell halo (filled with ``fills[k]`` outside the grid; None: no halo);
    ``pieces(tile)``: small per-tile arguments. The halos come from a phase 0 that keeps the
    outermost rows and columns of each tile, so that a tile task depends on its own blocks and
    on perimeter-sized pieces of its neighbours, never on their blocks. Tile phase k is called
    as ``phase(blocks, pieces, *items, tile, params)``, ``items`` this tile's share of each
    global phase before it (global phases return one item per tile); global phase k as
    ``phase(summaries, ntiles, params)`` on the results of tile phase k. Phases are numbered
    1, 2, 3, ... in the task names. The graph is written directly (a few tasks per tile, O(tiles)
    to build). Returns the last tile phase as a dask array of ``dtype`` chunked like ``like``.
    """
    import dask.array as da
    from dask.base import tokenize
    from dask.highlevelgraph import HighLevelGraph

    _, List, Task, TaskRef, _ = _spec()
    tiles = _tiles(like.chunks, like.shape)
    nbi, nbj = len(like.chunks[0]), len(like.chunks[1])
    token = tokenize(what, [a.name for a in arrays], fills, params, like.chunks, [pieces(t) for t in tiles],
                     recompute, [p.__name__ for p in (*tile_phases, *global_phases)])
    n0 = f"{what}-phase0-{token}"
    last = f"{what}-phase{2 * len(tile_phases) - 1}-{token}"

    def blocks(t, key):
        return List(*(TaskRef(key((a.name, t[1], t[2]))) for a in arrays))

    def around(t):
        return List(*(TaskRef((n0, t[1] + di, t[2] + dj)) if 0 <= t[1] + di < nbi and 0 <= t[2] + dj < nbj else None
                      for di, dj in _AROUND))

    def build(window):
        def before(name):
            if window is None:
                return None

            def task(i, j):  # the task of ``name`` ``window`` rows of tiles back, in raster order
                t = i * nbj + j - (window * nbj + window)
                return (name, t // nbj, t % nbj) if 0 <= i < nbi and 0 <= j < nbj and t >= 0 else None
            return task

        tasks = {}
        key0 = lambda key: key  # noqa: E731
        if recompute:  # phase 0 too reads a renamed copy, so the inputs' own keys are never held
            copies, key0 = _recomputed(arrays, None, f"{token}-0", before(n0))
            tasks.update(copies)
        for t in tiles:
            tasks[(n0, t[1], t[2])] = Task((n0, t[1], t[2]), _edges, blocks(t, key0), fills)
        shares = []  # per global phase: the name of its per-tile items
        gate = None
        for k, phase in enumerate(tile_phases):
            name = f"{what}-phase{2 * k + 1}-{token}"
            if recompute:
                copies, key = _recomputed(arrays, gate, f"{token}-{2 * k + 1}", before(name))
                tasks.update(copies)
            else:
                def key(key):
                    return key
            for t in tiles:
                items = [TaskRef((share, t[1], t[2])) for share in shares]
                tasks[(name, t[1], t[2])] = Task((name, t[1], t[2]), _padded_call, phase, blocks(t, key), around(t),
                                                 fills, pieces(t), *items, t, params)
            if k == len(global_phases):
                break
            gate = f"{what}-phase{2 * k + 2}{_GLOBAL}{token}"
            tasks[gate] = Task(gate, global_phases[k], List(*(TaskRef((name, t[1], t[2])) for t in tiles)),
                               len(tiles), params)
            share = f"{what}-share{2 * k + 2}{_GLOBAL}{token}"
            for t in tiles:
                tasks[(share, t[1], t[2])] = Task((share, t[1], t[2]), operator.getitem, TaskRef(gate), t[0])
            shares.append(share)
        return HighLevelGraph.from_collections(last, tasks, dependencies=arrays)

    # Sources wait for the tile task ``window`` rows back, so that the scheduler reads inputs
    # in a band of tiles rather than all at once: the narrowest band without a cycle (an input
    # block that depends on sources r tiles away needs r + 1 rows), or none.
    for window in ((*_WINDOWS, None) if recompute else (None,)):
        graph = build(window)
        if window is None or not _cyclic(graph):
            break
    return da.Array(graph, last, chunks=like.chunks, dtype=dtype, meta=np.empty((0, 0), dtype=dtype))


def _cyclic(graph) -> bool:
    from dask.core import getcycle

    return bool(getcycle(_spec()[4](dict(graph)), None))



# --- 3×3 stencils -------------------------------------------------------------------------------

def _stencil_phase(blocks, pieces, tile, params):
    block, = params
    zp = blocks[0]
    w = zp.shape[1]
    left, right = tile[4] == 0, tile[4] + tile[6] == tile[7]

    def cells(column):  # per-row cell sizes over the padded tile, NaN outside the grid
        a = np.repeat(column, w, axis=1)
        if left:
            a[:, 0] = np.nan
        if right:
            a[:, -1] = np.nan
        return a

    return block(zp, cells(pieces[0]), cells(pieces[1]))[1:-1, 1:-1]


def tiled_stencil(block, data, dx, dy, dtype):
    """A 3×3 kernel ``block(z, dx2d, dy2d)`` on each tile of a dask array with its one-cell halo
    (NaN outside the grid), ``dx``, ``dy`` numbers or per-row values: what
    ``dask.array.map_overlap(depth=1, boundary=nan)`` gives, with two tasks per tile (the
    perimeter pieces of :func:`_phases`' phase 0, then the tile) where ``map_overlap`` slices
    each block into nine pieces and concatenates them again: on a national grid those pieces
    were most of the tasks of the chunked ``ls_factor`` and a band of them stayed in memory."""
    sizes = [_PerCell(v, data, name) for v, name in ((dx, "dx"), (dy, "dy"))]

    def pieces(tile):
        return tuple(s.column(tile[3], tile[5], True) for s in sizes)

    return _phases(f"tiled-stencil-{getattr(block, '__name__', 'kernel')}", [data], [np.nan], pieces,
                   (_stencil_phase,), (), (block,), data, False, dtype)


# --- flow accumulation ------------------------------------------------------------------------

def _acc_tile(blocks, pieces, tile, params, inflow=_NONE):
    fp, area = _assemble(blocks, pieces, params)
    fp = np.ascontiguousarray(fp, dtype=np.uint8)
    acc, complete = kt.tile_accumulation(fp, _cells(area, (tile[5], tile[6])), *inflow)
    if not complete:
        raise _loop()
    return fp, acc


def _acc_phase1(blocks, pieces, tile, params):
    fp, acc = _acc_tile(blocks, pieces, tile, params)
    exits, exit_acc, edge_u, edge_e, edge_target = kt.accumulation_perimeter(fp, acc)
    del acc
    return (_local_gid(exits, tile), exit_acc, _padded_gid(edge_u, tile), np.full(edge_u.size, tile[0]),
            edge_e, np.where(edge_target >= 0, _local_gid(edge_target, tile), -1))


def _acc_phase2(summaries, ntiles, params):
    exit_gid, exit_acc, edge_u, edge_tile, edge_e, edge_target = (np.concatenate(c) for c in zip(*summaries, strict=True))
    order = np.argsort(exit_gid)
    exit_gid, exit_acc = exit_gid[order], exit_acc[order]
    u = _positions(exit_gid, edge_u, "an upslope cell")
    acc, complete = kt.solve_accumulation(exit_acc, u, _positions(exit_gid, edge_target, "an exit"))
    if not complete:
        raise _loop()
    return _per_tile(ntiles, edge_tile, edge_e, acc[u])


def _acc_phase3(blocks, pieces, inflow, tile, params):
    return _acc_tile(blocks, pieces, tile, params, inflow)[1]


def tiled_flow_accumulation(fdir, area=1.0, *, recompute_inputs: bool = True):
    """D8 upslope area (float64) of dask-chunked codes, tile by tile: ``A_i = a_i + Σ_{j→i} A_j``.

    Equals :func:`erosion._kernels.terrain.flow_accumulation` up to the order of the float sums
    (within 1e-12 relative in the tests) for every chunking. Barnes (2017): phase 1 accumulates
    each tile with flow leaving it cut and keeps, for its exits, their tile-local area and, for
    its entries, the exit their path reaches; phase 2 accumulates the perimeter graph
    ``A_x = A_x^tile + Σ_{u→e, e ⇝ x} A_u`` in topological order; phase 3 reruns each tile with
    the area ``Σ_{u→e} A_u`` entering at its entries.

    ``fdir``: ESRI D8 codes (uint8, 255 nodata), north-up; ``area``: cell areas (m²), a number,
    per-row values or an array chunked like ``fdir``. ``recompute_inputs``: phase 3 computes
    its inputs again rather than holding all of them between the phases (:func:`_recomputed`);
    pass False when they are persisted, or costly to recompute and small enough to keep.
    Returns a lazy dask array chunked like ``fdir``; a loop in the codes raises
    :class:`InputError` when it is computed.
    """
    f = _codes(fdir)
    src = _PerCell(area, f, "area")
    arrays, fills = [f] + ([] if src.array is None else [src.array]), [255] + ([] if src.array is None else [None])
    layout = ("block", "block" if src.array is not None else "piece")

    def pieces(tile):
        return () if src.array is not None else (src.column(tile[3], tile[5], False),)

    return _three_phases("tiled-accumulation", arrays, fills, pieces, _acc_phase1, _acc_phase2, _acc_phase3,
                         layout, f, recompute_inputs)


# --- slope length -----------------------------------------------------------------------------

def _sl_tile(blocks, pieces, tile, params, inject=_NONE):
    cap, gentle, steep, brk, min_slope, _, layout, _ = params
    z, f, dx, dy, stop = _assemble(blocks, pieces, layout)
    shape = (tile[5] + 2, tile[6] + 2)
    zp = np.ascontiguousarray(z, dtype=np.float64)
    fp = np.ascontiguousarray(f, dtype=np.uint8)
    sp = np.zeros(shape, dtype=np.bool_) if stop is None else np.ascontiguousarray(stop, dtype=np.bool_)
    dxp, dyp = _cells(dx, shape), _cells(dy, shape)
    lam, angle, complete = kt.tile_slope_length(zp, fp, dxp, dyp, sp, *inject, cap, gentle, steep, brk, min_slope)
    if not complete:
        raise _loop()
    return fp, dxp, dyp, sp, lam, angle, zp


def _sl_phase1(blocks, pieces, tile, params):
    cap, gentle, steep, brk, _, replay, _, _ = params
    fp, dxp, dyp, sp, lam, angle, _ = _sl_tile(blocks, pieces, tile, params)
    (exits, exit_lam, edge_u, edge_e, edge_target, edge_keep, edge_step, edge_path,
     path_exit, path_kind, path_sum, path_start, steps) = kt.slope_length_perimeter(
        fp, dxp, dyp, sp, lam, angle, cap, gentle, steep, brk, replay)
    del lam, angle
    return dict(exit_gid=_local_gid(exits, tile), exit_lam=exit_lam, edge_u=_padded_gid(edge_u, tile),
                edge_tile=np.full(edge_u.size, tile[0]), edge_e=edge_e,
                edge_target=np.where(edge_target >= 0, _local_gid(edge_target, tile), -1),
                edge_keep=edge_keep, edge_step=edge_step, edge_path=edge_path,
                path_exit=_local_gid(path_exit, tile), path_kind=path_kind, path_sum=path_sum,
                path_start=path_start, steps=steps)


def _sl_phase2(summaries, ntiles, params):
    cap = params[0]
    records = np.cumsum([0] + [s["path_kind"].size for s in summaries])
    offsets = np.cumsum([0] + [s["steps"].size for s in summaries])

    def cat(name):
        return np.concatenate([s[name] for s in summaries])

    edge_path = np.concatenate([np.where(s["edge_path"] >= 0, s["edge_path"] + records[t], -1)
                                for t, s in enumerate(summaries)])
    path_start = np.concatenate([s["path_start"][:-1] + offsets[t] for t, s in enumerate(summaries)]
                                + [offsets[-1:]])
    exit_gid = cat("exit_gid")
    order = np.argsort(exit_gid)
    exit_gid, exit_lam = exit_gid[order], cat("exit_lam")[order]
    _, candidate, complete = kt.solve_slope_length(
        exit_lam, _positions(exit_gid, cat("edge_u"), "an upslope cell"),
        _positions(exit_gid, cat("edge_target"), "an exit"), cat("edge_keep"), cat("edge_step"), edge_path,
        _positions(exit_gid, cat("path_exit"), "an exit"), cat("path_kind"), cat("path_sum"), path_start,
        cat("steps"), cap)
    if not complete:
        raise _loop()
    keep = cat("edge_keep")
    return _per_tile(ntiles, cat("edge_tile")[keep], cat("edge_e")[keep], candidate[keep])


def _sl_phase3(blocks, pieces, inflow, tile, params):
    _, dxp, dyp, _, lam, _, zp = _sl_tile(blocks, pieces, tile, params, inflow)
    finish = params[7]
    return lam if finish is None else finish(lam, zp, dxp, dyp)


def tiled_slope_length(z, fdir, dx, dy, max_length=np.inf, cutoff_gentle=0.7, cutoff_steep=0.5,
                       cutoff_break=2.8624, min_slope=0.1, stop=None, *, replay_steps: int = REPLAY_STEPS,
                       recompute_inputs: bool = True, finish=None):
    """Slope length λ (m, float64) along D8 paths of dask-chunked inputs, tile by tile, exactly.

    The rules are those of :func:`erosion._kernels.terrain.slope_length` (Hickey 2000; Van
    Remortel et al. 2001): ``λ_c = min(cap, max(start_c, max_{u→c kept} (λ_u + s_u)))``.
    Along a path inside a tile from an entry e to an exit x on which every step keeps its
    length, ``λ_x = min(cap, max(A_x, c ⊕ s_0 ⊕ … ⊕ s_{n-1}))`` of the candidate c entering at
    e, A_x the tile-local value (ADR 0017); phase 2 evaluates this over the perimeter graph of
    all tiles in topological order, replaying the recorded steps, and phase 3 reruns each tile
    with the candidates ``λ_u + s_u`` entering at its entries. The result equals the
    single-grid kernel's bit for bit, for every chunking, as long as each tile's paths fit its
    replay budget (``replay_steps`` per halo cell, :data:`REPLAY_STEPS`); paths beyond it are
    carried as c + Σ s, within a few ulps.

    ``z``: the filled DEM (float64, NaN nodata) and ``fdir`` its D8 codes, north-up, dask arrays
    chunked alike; ``dx``, ``dy``: cell sizes in metres (numbers, per-row values or arrays);
    ``max_length``: the cap (inf: none); cutoff factors and break (degrees) and the minimum
    angle as in the kernel; ``stop``: channel and barrier cells (bool array) or None.
    ``recompute_inputs`` as in :func:`tiled_flow_accumulation`. ``finish(lam, zp, dxp, dyp)``,
    if given, turns each tile's λ into the result in the last pass, with the tile's elevations
    and cell sizes (halo-padded): so a product of λ and the local slope (LS) is formed tile by
    tile, without a second pass over the filled DEM. Returns a lazy dask array chunked like
    ``fdir``.
    """
    f = _codes(fdir)
    zs = _like(z, f, "z", np.float64)
    arrays, fills = [zs, f], [np.nan, 255]
    layout = ["block", "block"]
    sizes = []
    for name, value in (("dx", dx), ("dy", dy)):
        src = _PerCell(value, f, name)
        if src.array is not None:
            arrays.append(src.array)
            fills.append(np.nan)
            layout.append("block")
        else:
            sizes.append(src)
            layout.append("piece")
    if stop is not None:
        arrays.append(_like(stop, f, "stop", np.bool_))
        fills.append(False)
    layout.append("block" if stop is not None else None)
    cap = np.inf if max_length is None else float(max_length)
    if not cap > 0:
        raise InputError(f"max_length must be positive (metres) or inf, got {max_length}")
    if not (isinstance(replay_steps, int | np.integer) and replay_steps >= 0):
        raise InputError(f"replay_steps must be a non-negative integer, not {replay_steps!r}")
    params = (cap, float(cutoff_gentle), float(cutoff_steep), float(cutoff_break), float(min_slope),
              int(replay_steps), tuple(layout), finish)

    def pieces(tile):
        return tuple(s.column(tile[3], tile[5], True) for s in sizes)

    return _three_phases("tiled-slope-length", arrays, fills, pieces, _sl_phase1, _sl_phase2, _sl_phase3,
                         params, f, recompute_inputs)


# --- depression fill ----------------------------------------------------------------------------

def _fill_phase1(blocks, pieces, tile, params):
    zp = np.ascontiguousarray(blocks[0], dtype=np.float64)
    _, label, keys, spill = kf.tile_flood(zp, True)
    del label
    ring, outlet, cross_p, cross_h, cross_e = kf.tile_perimeter(zp)
    ring_gid = _local_gid(ring, tile)
    halo = kt._halo_ring(*zp.shape)
    inside = np.isfinite(zp[halo[:, 0], halo[:, 1]])
    halo_gid = np.where(inside, _padded_gid(halo[:, 0] * zp.shape[1] + halo[:, 1], tile), -2)
    base = 2 * (tile[5] + tile[6]) + 1

    def gid(lab):
        return np.where(lab >= 0, ring_gid[np.maximum(lab, 0)], kf.OCEAN)

    outlets = ring_gid[outlet]
    a = np.concatenate([gid(keys // base - 1), outlets, _local_gid(cross_p, tile)])
    b = np.concatenate([gid(keys % base - 1), np.full(outlets.size, kf.OCEAN), _padded_gid(cross_h, tile)])
    e = np.concatenate([spill, np.full(outlets.size, -np.inf), cross_e])
    nodes, ab = np.unique(np.concatenate([a, b]), return_inverse=True)
    keep = kf.spanning_forest(ab[: a.size], ab[a.size:], e, nodes.size)  # the levels need no more (ADR 0018)
    return a[keep], b[keep], e[keep], ring_gid, halo_gid


def _fill_phase2(summaries, ntiles, params):
    """The spill graph's levels; per tile, those of its outermost cells and of its halo."""
    a, b, e = (np.concatenate([s[k] for s in summaries]) for k in range(3))
    nodes = np.unique(np.concatenate([a, b]))
    if nodes.size == 0:  # no valid cell
        return [(np.full(s[3].size, np.inf), np.full(s[4].size, np.inf)) for s in summaries]
    level = kf.solve_levels(np.searchsorted(nodes, a), np.searchsorted(nodes, b), e, nodes.size, 0)
    if nodes[0] != kf.OCEAN or (level == np.inf).any():
        raise RuntimeError("tiled fill: a tile's outermost cells do not reach an outlet (inconsistent halos)")

    def levels(gids):
        pos = np.minimum(np.searchsorted(nodes, gids), nodes.size - 1)
        return np.where(nodes[pos] == gids, level[pos], np.inf)

    return [(levels(s[3]), levels(s[4])) for s in summaries]


def _filled(blocks, levels):
    """A tile's exact fill ``max(W_loc, level)`` and the same with its halo (the neighbours'
    outermost cells: their own elevation raised to their level)."""
    zp = np.ascontiguousarray(blocks[0], dtype=np.float64)
    w, label, _, _ = kf.tile_flood(zp, False)
    kf.raise_to_levels(w, label, levels[0])
    wp = np.full(zp.shape, np.nan)
    wp[1:-1, 1:-1] = w
    halo = kt._halo_ring(*zp.shape)
    wp[halo[:, 0], halo[:, 1]] = np.maximum(zp[halo[:, 0], halo[:, 1]], levels[1])
    return w, wp


def _fill_phase3(blocks, pieces, levels, tile, params):
    return _filled(blocks, levels)[0]


def _flats_phase3(blocks, pieces, levels, tile, params):
    w, wp = _filled(blocks, levels)
    cells, flat, high, low = kf.flat_summary(wp)
    return _local_gid(cells, tile), w.reshape(-1)[cells], flat, high, low, np.full(cells.size, tile[0]), cells


def _flats_phase4(summaries, ntiles, params):
    gid, w, flat, high, low, tile_of, cells = (np.concatenate([s[k] for s in summaries]) for k in range(7))
    order = np.argsort(gid)
    m = np.empty(gid.size, dtype=np.int64)
    m[order] = kf.solve_flats(gid[order], w[order], flat[order], high[order], low[order], params[0], params[1])
    return _per_tile(ntiles, tile_of[flat], cells[flat], m[flat])


def _flats_phase5(blocks, pieces, levels, increments, tile, params):
    from ..._kernels import conditioning as kc

    w, wp = _filled(blocks, levels)
    outp = kc.resolve_flats(wp)[0]  # exact for the flats inside this tile alone
    cells, m = increments
    out = outp[1:-1, 1:-1].copy()
    out.reshape(-1)[cells] = w.reshape(-1)[cells]
    kf.raise_flats(out, cells, m)
    outp[1:-1, 1:-1] = out
    outp[0], outp[-1], outp[:, 0], outp[:, -1] = wp[0], wp[-1], wp[:, 0], wp[:, -1]
    if kf.flat_conflicts(wp, outp):
        raise InputError("tiled fill: raising a flat reaches a higher neighbour (the DEM has values a few ulps "
                         "apart); fill this DEM in one block (numpy input) or with flats='epsilon'")
    return out


def tiled_fill(z, *, flats: str | None = None, recompute_inputs: bool = True):
    """Depressions filled (float64) in a dask-chunked DEM, tile by tile, exactly (Barnes 2016).

    ``flats=None``: filled to exact flats, equal to
    :func:`erosion._kernels.conditioning.priority_flood_exact` bit for bit, for every chunking:
    every output value is an input value, ``W(c) = min over paths from an outlet to c of the
    highest elevation on the path``. Phase 1 floods each tile from its outermost cells (each
    its own label) and its outlets, and keeps the spill graph: the lowest spill between adjacent
    labels inside the tile, the links of its outermost cells to the neighbouring tiles
    (``max(z_p, z_h)``) and to the outlets; phase 2 floods that graph from the outlets, giving
    each label its water level; phase 3 floods each tile again and raises each cell to its
    label's level: ``W = max(W_loc, level)``.

    ``flats="barnes"``: then flats are raised by Barnes, Lehman & Mulla's (2014b) ulp increments,
    equal to :func:`erosion._kernels.conditioning.priority_flood_barnes` bit for bit. Phase 3
    reports the flat pieces that touch a tile's outermost cells; phase 4 solves the BFS
    distances of those groups over all tiles at once (its memory grows with the area of flats
    that cross tile edges: lakes, wide flats of integer DEMs); phase 5 resolves each tile's own
    flats and applies phase 4's increments. A DEM whose values are a few ulps apart, where an
    increment would reach a higher neighbour, is refused when computed (the whole-grid function
    falls back to priority-flood+ε there).

    ``z``: elevations, north-up, NaN nodata (outlets are the valid cells on the grid edge or
    beside NaN); a dask array or a NumPy array (one chunk). ``recompute_inputs`` as in
    :func:`tiled_flow_accumulation`. Returns a lazy dask array chunked like ``z``.
    """
    import dask.array as da

    if flats not in (None, "barnes"):
        raise InputError(f"tiled flats rule must be None or 'barnes', not {flats!r}")
    zs = z if is_dask(z) else da.from_array(np.asarray(z), chunks=-1)
    if zs.ndim != 2 or 0 in zs.shape:
        raise InputError(f"z must be a non-empty 2-D array of elevations, got shape {zs.shape}")
    zs = zs.astype(np.float64)
    if flats is None:
        tile_phases, global_phases = (_fill_phase1, _fill_phase3), (_fill_phase2,)
    else:
        tile_phases, global_phases = (_fill_phase1, _flats_phase3, _flats_phase5), (_fill_phase2, _flats_phase4)
    return _phases("tiled-fill", [zs], [np.nan], lambda tile: (), tile_phases, global_phases, zs.shape, zs,
                   recompute_inputs)
