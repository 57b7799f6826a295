"""Depression filling and breaching variants on one fractal DEM: time and peak memory per cell.

Each call runs in a forked child (best of N; the peak resident memory it adds per cell). The
ε fill is the reference: compare the ratios, not the seconds (shared, noisy machines).

    python benchmarks/bench_conditioning.py [--size 2000] [--repeats 3]
"""

from __future__ import annotations

import argparse

from bench_terrain import fractal_dem, measure

from erosion.factors import breach_depressions, fill_depressions

CALLS = {
    'fill_depressions(z, flats="epsilon")': lambda z: fill_depressions(z, flats="epsilon"),
    'fill_depressions(z, flats="barnes")': lambda z: fill_depressions(z, flats="barnes"),
    "breach_depressions(z)": lambda z: breach_depressions(z),
    'breach_depressions(z, flats="barnes")': lambda z: breach_depressions(z, flats="barnes"),
    "breach_depressions(z, max_depth=5, max_length=100)": lambda z: breach_depressions(z, max_depth=5,
                                                                                        max_length=100),
    'same, flats="barnes"': lambda z: breach_depressions(z, max_depth=5, max_length=100, flats="barnes"),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    z = fractal_dem(args.size)
    for call in CALLS.values():  # compile or load the numba kernels before forking
        call(z[:64, :64])
    print(f"fractal DEM {args.size}², best of {args.repeats}")
    reference = None
    for name, call in CALLS.items():
        t, peak, err = measure(lambda call=call: (lambda: call(z)), args.repeats)
        if err:
            print(f"{name}: failed: {err}")
            continue
        reference = reference or t
        print(f"{name:55s} {t:6.2f} s  {t / reference:5.2f} x ε  peak +{peak / z.size:.0f} B/cell")


if __name__ == "__main__":
    main()
