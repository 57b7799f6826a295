"""K factor functions on a large grid against their plain NumPy expressions, in the same run.

For k_epic, k_nomograph and k_gmd: cells/s of the library call (one numba pass that checks
every input's range, the texture sum or the codes, and computes K; eager calls split over the
available cores, and the one-thread line shows the kernel alone) and of the same formula as a
plain NumPy expression that checks nothing (the library evaluates the same ufuncs block by
block in cache-sized buffers, with exp(a log x) for powers, and checks each block in a numba
pass while it is in cache); their ratio; and the peak memory each allocates,
in bytes per cell (tracemalloc, which sees NumPy's buffers), beyond the float32 inputs. The
machines are shared and noisy: compare the ratios, not the absolute times. convert_texture
(NumPy/SciPy, not fused) is timed for information.

    python benchmarks/bench_soil.py [--cells 50000000] [--repeats 3]
"""

from __future__ import annotations

import argparse

import numpy as np
from _timing import best_of, peak_bytes

from erosion._kernels import soil as sk
from erosion.factors.soil import _threads, convert_texture, k_epic, k_gmd, k_nomograph

W = 0.01 / np.log(10.0)


def epic_numpy(san, sil, cla, c):
    sn1 = 1 - san / 100
    return (0.1317 * (0.2 + 0.3 * np.exp(-0.0256 * san * (1 - sil / 100))) * (sil / (cla + sil)) ** 0.3
            * (1 - 0.25 * c / (c + np.exp(3.72 - 2.95 * c))) * (1 - 0.7 * sn1 / (sn1 + np.exp(-5.51 + 22.9 * sn1))))


def nomograph_numpy(sv, cla, om, s, p):
    m = sv * (100 - cla)
    s, p = s.astype(np.float32), p.astype(np.float32)  # uint8 codes: s - 2 would wrap around
    return np.maximum(0.1317 * (2.1e-4 * m**1.14 * (12 - np.minimum(om, 4)) + 3.25 * (s - 2) + 2.5 * (p - 3)) / 100, 0)


def gmd_numpy(san, sil, cla):
    log10_dg = 0.01 * (san * np.log(1.025) + sil * np.log(0.026) + cla * np.log(0.001)) / np.log(10)
    return 0.0034 + 0.0405 * np.exp(-0.5 * ((log10_dg + 1.659) / 0.7101) ** 2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", type=int, default=50_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    n, r = args.cells, args.repeats
    rng = np.random.default_rng(0)
    f = (rng.dirichlet([1.0, 1.0, 1.0], size=n) * 100).astype(np.float32)
    sand, silt, clay = (np.ascontiguousarray(f[:, i]) for i in range(3))
    del f
    oc = rng.uniform(0, 6, n).astype(np.float32)
    sv = (silt + 0.2 * sand).astype(np.float32)
    om = (oc * 1.724).astype(np.float32)
    s = rng.integers(1, 5, n).astype(np.uint8)
    p = rng.integers(1, 7, n).astype(np.uint8)

    cases = [
        ("k_epic", lambda: k_epic(sand, silt, clay, oc), lambda: epic_numpy(sand, silt, clay, oc),
         lambda: sk.evaluate(sk.epic_block, sk.check_epic, 2, [sand, silt, clay, oc],
                             dict(si_factor=0.1317, corr_a=0.0, corr_b=1.0, correct=False, minimum=0.0), (2.0, False)),
         "4 x float32 in"),
        ("k_nomograph", lambda: k_nomograph(sv, clay, om, s, p), lambda: nomograph_numpy(sv, clay, om, s, p),
         lambda: sk.evaluate(sk.nomograph_block, sk.check_nomograph, 1, [sv, clay, om, s, p],
                             dict(om_cap=4.0, si_factor=0.1317, minimum=0.0), (2.0, False)),
         "3 x float32 + 2 x uint8 in"),
        ("k_gmd", lambda: k_gmd(sand, silt, clay), lambda: gmd_numpy(sand, silt, clay),
         lambda: sk.evaluate(sk.gmd_block, sk.check_gmd, 1, [sand, silt, clay],
                             dict(w_sand=W * np.log(1.025), w_silt=W * np.log(0.026), w_clay=W * np.log(0.001),
                                  minimum=0.0), (2.0, False)),
         "3 x float32 in"),
    ]
    print(f"cells: {n:,}, best of {r}; eager calls use {_threads(n)} threads")
    print(f"{'function':<14}{'library':>12}{'1 thread':>12}{'numpy':>12}{'numpy/lib':>11}{'numpy/1 thr':>13}"
          f"{'lib B/cell':>12}{'numpy B/cell':>14}")
    for name, lib, ref, one, inputs in cases:
        lib(), one()  # compile / load the cache
        np.testing.assert_allclose(lib(), ref(), rtol=2e-5, atol=1e-7, err_msg=f"{name} disagrees with NumPy")
        t_lib, t_one, t_ref = best_of(lib, r), best_of(one, r), best_of(ref, r)
        b_lib, b_ref = peak_bytes(lib) / n, peak_bytes(ref) / n
        print(f"{name:<14}{n / t_lib / 1e6:9.1f} M/s{n / t_one / 1e6:9.1f} M/s{n / t_ref / 1e6:9.1f} M/s"
              f"{t_ref / t_lib:11.2f}{t_ref / t_one:13.2f}{b_lib:12.1f}{b_ref:14.1f}   ({inputs}, float32 out)")
    m = min(n, 5_000_000)
    for method in ("loglinear", "logcubic"):
        t = best_of(lambda method=method: convert_texture((sand[:m], silt[:m], clay[:m]), "isss", method=method), r)
        print(f"convert_texture isss->usda {method:<10}{m / t / 1e6:9.1f} M/s   ({m:,} cells, NumPy/SciPy)")


if __name__ == "__main__":
    main()
