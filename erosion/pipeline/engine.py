"""Compute engines of a run: the threaded scheduler, or a dask.distributed client on a local
cluster, an existing scheduler, or SLURM / PBS through dask-jobqueue.

Only the run layer makes clients; the library functions stay scheduler-agnostic. Every
process that computes tiles gets glibc's mmap threshold pinned at 1 MiB
(:func:`limit_heap_growth`): without it, freed tile buffers stay in the heap and a 0.9·10⁹-cell
LS run peaks at 8.0 GiB instead of 4.3 GiB (docs/decisions/0018-tiled-fill.md).
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import sys
from collections.abc import Iterator

from ..errors import ConfigError
from .config import EngineSection

_M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 1 << 20


def limit_heap_growth(threshold: int = MMAP_THRESHOLD) -> bool:
    """Serve allocations of ``threshold`` bytes and more by mmap (returned to the system when
    freed) in this process; glibc only. True if set."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        return bool(libc.mallopt(_M_MMAP_THRESHOLD, int(threshold)))
    except (OSError, AttributeError):  # not glibc (musl has no mallopt)
        return False


def _heap_plugin():
    from distributed import WorkerPlugin

    class HeapThreshold(WorkerPlugin):
        name = "erosion-heap-threshold"

        def setup(self, worker):
            limit_heap_growth()

    return HeapThreshold()


def _jobqueue(cfg: EngineSection):
    try:
        import dask_jobqueue
    except ImportError:
        raise ConfigError(f"[engine] kind = {cfg.kind!r} needs dask-jobqueue: pip install dask-jobqueue") from None
    cls = dask_jobqueue.SLURMCluster if cfg.kind == "slurm" else dask_jobqueue.PBSCluster
    try:
        return cls(**cfg.options)  # cores, memory, queue, walltime, account, ... as the site needs
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"[engine] options for {cls.__name__}: {exc}") from None


@contextlib.contextmanager
def engine(cfg: EngineSection, log=None) -> Iterator[object | None]:
    """The client the run computes with (None for the threaded scheduler), closed on exit."""
    import dask

    log = log or (lambda message: None)
    if cfg.kind == "threads":
        limit_heap_growth()
        with dask.config.set(scheduler="threads", num_workers=cfg.threads):
            yield None
        return
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise ConfigError(f"[engine] kind = {cfg.kind!r} needs dask.distributed: pip install distributed") from None
    cluster = None
    if cfg.kind == "local":
        cluster = LocalCluster(n_workers=cfg.workers, threads_per_worker=cfg.threads_per_worker,
                               memory_limit=cfg.memory_limit or "auto", processes=True, dashboard_address=":0")
        client = Client(cluster)
    elif cfg.kind == "scheduler":
        client = Client(cfg.address, timeout="30s")
    else:
        cluster = _jobqueue(cfg)
        cluster.scale(jobs=cfg.workers)
        client = Client(cluster)
    try:
        client.register_plugin(_heap_plugin())
        log(f"dask dashboard: {client.dashboard_link}")
        yield client
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
