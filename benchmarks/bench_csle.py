"""erosion.csle on in-memory arrays vs a plain NumPy expression and the memory-bandwidth floor.

Prints cells/s, bytes/cell and ratios, all measured in this run (the machines are shared and
noisy: compare the ratios, not the absolute times). The floor for reading six float32
arrays and writing one is 3.5 × the time of ``np.copyto`` of one array (seven arrays moved
instead of two). Goal: csle ≤ 1.3 × floor and ≥ 1.5 × faster than NumPy. csle validates every factor's range
in the same pass; the NumPy expression checks nothing. Eager (NumPy) calls split the loop
over the available cores; the one-thread line shows the kernel alone.

    python benchmarks/bench_csle.py [--cells 50000000] [--repeats 5]
"""

from __future__ import annotations

import argparse

import numpy as np
from _timing import best_of

from erosion.model import _CSLE, _product, _threads, csle


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", type=int, default=50_000_000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    n = args.cells
    rng = np.random.default_rng(0)
    R = rng.uniform(500, 8000, n).astype(np.float32)
    K = rng.uniform(0.001, 0.06, n).astype(np.float32)
    LS = rng.uniform(0, 20, n).astype(np.float32)
    B, E, T = (rng.uniform(0, 1, n).astype(np.float32) for _ in range(3))
    dst = np.empty_like(R)

    csle(R[:1000], K[:1000], LS[:1000], B[:1000], E[:1000], T[:1000])  # compile / load cache

    t_copy = best_of(lambda: np.copyto(dst, R), args.repeats)
    t_numpy = best_of(lambda: R * K * LS * B * E * T, args.repeats)
    t_csle = best_of(lambda: csle(R, K, LS, B, E, T), args.repeats)
    t_csle_1 = best_of(lambda: _product(_CSLE, [R, K, LS, B, E, T], None, "raise", threads=1), args.repeats)
    out = np.empty_like(R)
    t_csle_out = best_of(lambda: csle(R, K, LS, B, E, T, out=out), args.repeats)
    floor = 3.5 * t_copy

    a = csle(R, K, LS, B, E, T)
    assert np.allclose(a, R * K * LS * B * E * T, rtol=1e-5), "csle disagrees with the NumPy expression"

    print(f"cells: {n:,} float32, best of {args.repeats}")
    print(f"{'np.copyto (1 array)':<28}{n / t_copy / 1e6:10.0f} Mcells/s")
    print(f"{'floor = 3.5 x copy':<28}{n / floor / 1e6:10.0f} Mcells/s")
    print(f"{'numpy R*K*LS*B*E*T':<28}{n / t_numpy / 1e6:10.0f} Mcells/s")
    print(f"{'erosion.csle':<28}{n / t_csle / 1e6:10.0f} Mcells/s   bytes/cell moved: 28 (6 in + 1 out, float32)")
    print(f"{'erosion.csle, one thread':<28}{n / t_csle_1 / 1e6:10.0f} Mcells/s   (eager calls use {_threads(n)} threads)")
    print(f"{'erosion.csle(out=buffer)':<28}{n / t_csle_out / 1e6:10.0f} Mcells/s   (no page faults for a new array)")
    print(f"csle / floor            = {t_csle / floor:5.2f}   (goal <= 1.3)")
    print(f"numpy / csle            = {t_numpy / t_csle:5.2f}   (goal >= 1.5)")
    print(f"numpy / csle(out=)      = {t_numpy / t_csle_out:5.2f}")
    print(f"numpy / csle one thread = {t_numpy / t_csle_1:5.2f}   (NumPy itself runs on one thread)")


if __name__ == "__main__":
    main()
