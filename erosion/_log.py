"""Progress of long steps through :mod:`logging`: the library never prints.

Messages go to the ``erosion`` logger at INFO (a step and its time) and DEBUG. Show them in a
notebook or script with ``logging.basicConfig(level=logging.INFO)`` or
``logging.getLogger("erosion").setLevel(logging.INFO)`` plus a handler; the CLI and
``erosion.run`` attach their own.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager

logger = logging.getLogger("erosion")


@contextmanager
def step(what: str, cells: int) -> Iterator[None]:
    """Log the start and end of a step over ``cells`` cells, with its time and rate."""
    logger.debug("%s: started on %d cells", what, cells)
    start = time.perf_counter()
    yield
    seconds = time.perf_counter() - start
    rate = cells / seconds / 1e6 if seconds > 0 else float("inf")
    logger.info("%s: %d cells in %.2f s (%.1f Mcells/s)", what, cells, seconds, rate)
