"""B/C functions and the code-table lookup against plain NumPy expressions, in the same run.

Prints, for each function, cells/s of erosion's function and of the NumPy expression of the
same formula (which checks nothing), their ratio, and the peak bytes allocated per cell
(tracemalloc; NumPy reports its buffers to it). erosion's functions also check every input's
valid range and keep NaN; the timings include that. Machines are shared and noisy: compare
the ratios, not the absolute times.

    python benchmarks/bench_vegetation.py [--cells 4000000] [--repeats 3]
"""

from __future__ import annotations

import argparse

import numpy as np
from _timing import best_of, peak_bytes

from erosion.factors import engineering, tables, vegetation


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", type=int, default=4_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    n = args.cells
    rng = np.random.default_rng(0)
    ndvi = rng.uniform(-0.2, 0.95, n).astype(np.float32)
    fvc = rng.uniform(0, 1, n).astype(np.float32)
    cover = (fvc * 100).astype(np.float32)
    nh = max(n // 24, 1)  # B: 24 half-months of nh cells, the same bytes as one n-cell input
    slr24 = rng.uniform(0, 1, (24, nh)).astype(np.float32)
    w = rng.dirichlet(np.ones(24))
    codes = rng.integers(0, 9, n).astype(np.uint8)
    df = tables.load_table("engineering_measures")
    lut = np.full(256, np.nan, dtype=np.float32)
    lut[df["code"].to_numpy()] = df["value"].to_numpy(np.float32)

    def np_fvc():
        return np.clip((ndvi - np.float32(0.05)) / np.float32(0.8), 0, 1)

    def np_c_ndvi():
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(ndvi <= 0, 1.0, np.exp(-2.0 * ndvi / (1.0 - ndvi))).astype(np.float32)

    def np_cai():
        with np.errstate(divide="ignore"):
            c = 0.6508 - 0.3436 * np.log10(cover)
        return np.where(cover > 78.3, 0.0, np.where(cover > 0, np.clip(c, 0, 1), 1.0)).astype(np.float32)

    def np_slr():
        return (1.0 / (1.25 + 0.78845 * np.power(1.05968, 100.0 * fvc))).astype(np.float32)

    cases = [
        ("fvc_from_ndvi", lambda: vegetation.fvc_from_ndvi(ndvi, soil=0.05, veg=0.85), np_fvc, n, 8),
        ("c_from_ndvi", lambda: vegetation.c_from_ndvi(ndvi), np_c_ndvi, n, 8),
        ("c_from_cover", lambda: vegetation.c_from_cover(cover, units="percent"), np_cai, n, 8),
        ("soil_loss_ratio (grass)", lambda: vegetation.soil_loss_ratio(fvc), np_slr, n, 8),
        ("b_factor (24 half-months)", lambda: vegetation.b_factor(slr24, w),
         lambda: np.einsum("ij,i->j", slr24, w).astype(np.float32), nh, 24 * 4 + 4),
        ("e_factor (code lookup)", lambda: engineering.e_factor(codes), lambda: lut[codes], n, 5),
    ]
    for label, ours, ref, _, _ in cases:  # compile, load caches, check agreement
        a, b = np.asarray(ours(), dtype=np.float64), np.asarray(ref(), dtype=np.float64)
        bad = ~np.isclose(a, b, rtol=1e-5, atol=1e-6, equal_nan=True)
        if label == "c_from_cover":  # float32 78.3 is above float64 78.3: erosion compares in float64
            bad &= np.abs(cover.astype(np.float64) - 78.3) > 1e-4
        assert not bad.any(), f"{label}: erosion disagrees with the NumPy expression: {a[bad][:3]} vs {b[bad][:3]}"

    print(f"cells: {n:,} (b_factor: {nh:,} cells x 24 half-months), float32, best of {args.repeats}")
    print(f"{'function':<28}{'erosion Mc/s':>13}{'numpy Mc/s':>12}{'numpy/erosion':>15}"
          f"{'moved B/cell':>14}{'peak B/cell (erosion, numpy)':>31}")
    for name, ours, ref, cells, moved in cases:
        t_ours = best_of(ours, args.repeats)
        t_ref = best_of(ref, args.repeats)
        p_ours, p_ref = peak_bytes(ours) / cells, peak_bytes(ref) / cells
        print(f"{name:<28}{cells / t_ours / 1e6:13.1f}{cells / t_ref / 1e6:12.1f}{t_ref / t_ours:15.2f}"
              f"{moved:14d}{p_ours:18.1f}{p_ref:13.1f}")


if __name__ == "__main__":
    main()
