"""Timing helpers shared by the benchmarks: best-of-N wall time and peak traced allocation."""

from __future__ import annotations

import time
import tracemalloc


def best_of(fn, repeats: int) -> float:
    """The shortest of ``repeats`` wall times of ``fn()``, in seconds."""
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def peak_bytes(fn) -> int:
    """The peak of the memory ``fn()`` allocates through Python and NumPy (tracemalloc)."""
    tracemalloc.start()
    tracemalloc.reset_peak()
    fn()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak
