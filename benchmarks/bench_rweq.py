"""RWEQ (erosion.regions.wind.rweq) on a large grid against its plain NumPy expression, same run.

The library call computes Q_max, s, the soil loss at z and the potential loss (COG = 1) block
by block in cache-sized buffers (NumPy ufuncs with out=, a numba range check of all six
inputs per block), split over the available cores; the one-thread line shows the kernel
alone. The NumPy expression computes the same four outputs and checks nothing. Inputs are
float32 rasters (as read from GeoTIFFs), or float64 with --float64; outputs are float32 in
both. The machines are shared and noisy: compare the ratios, not the times.

    python benchmarks/bench_rweq.py [--size 4000] [--repeats 3] [--float64]
"""

from __future__ import annotations

import argparse

import numpy as np
from _timing import best_of

from erosion._kernels import wind as wk
from erosion.regions.wind import _threads, rweq


def rweq_numpy(wf, ef, scf, kp, cog, z=50.0):
    p = wf * ef * scf * kp
    pa = p * cog
    q = 109.8 * pa
    s = 150.71 * pa ** -0.3711
    sl = 10.0 * 2.0 * z / s**2 * q * np.exp(-(z / s) ** 2)
    sp = 150.71 * p ** -0.3711
    slp = 10.0 * 2.0 * z / sp**2 * (109.8 * p) * np.exp(-(z / sp) ** 2)
    return q.astype(np.float32), s.astype(np.float32), sl.astype(np.float32), slp.astype(np.float32)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=4000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--float64", action="store_true", help="float64 inputs instead of float32")
    args = parser.parse_args()
    n = args.size * args.size
    rng = np.random.default_rng(0)
    shape = (args.size, args.size)
    dt = np.float64 if args.float64 else np.float32
    wf = rng.uniform(5.0, 200.0, shape).astype(dt)
    ef, scf, kp, cog = (rng.uniform(0.05, 1.0, shape).astype(dt) for _ in range(4))

    lib = rweq(wf, ef, scf, kp, cog)  # compile and warm
    ref = rweq_numpy(wf, ef, scf, kp, cog)
    for a, b in zip(lib, ref, strict=True):
        np.testing.assert_allclose(a, b, rtol=2e-5)

    t_lib = best_of(lambda: rweq(wf, ef, scf, kp, cog), args.repeats)
    t_np = best_of(lambda: rweq_numpy(wf, ef, scf, kp, cog), args.repeats)
    flat = [a.reshape(-1) for a in (wf, ef, scf, kp, cog)] + [np.array([50.0])]
    t_one = best_of(lambda: wk.rweq(flat, np.float32, 1), args.repeats)
    print(f"inputs {np.dtype(dt).name}")
    print(f"rweq {args.size}x{args.size} ({n / 1e6:.0f} M cells), best of {args.repeats}, "
          f"{_threads(n)} thread(s):")
    print(f"  erosion.regions.wind.rweq     {t_lib:7.3f} s  {n / t_lib / 1e6:7.1f} Mcells/s")
    print(f"  numba kernel, one thread      {t_one:7.3f} s  {n / t_one / 1e6:7.1f} Mcells/s")
    print(f"  plain NumPy expression        {t_np:7.3f} s  {n / t_np / 1e6:7.1f} Mcells/s")
    print(f"  ratio NumPy / erosion: {t_np / t_lib:.2f}x (one thread: {t_np / t_one:.2f}x)")


if __name__ == "__main__":
    main()
