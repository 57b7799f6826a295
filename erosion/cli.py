"""The ``erosion`` command. Only the CLI prints; the library never does."""

from __future__ import annotations

import argparse
import sys

from .errors import ErosionError


def _demo(args: argparse.Namespace) -> int:
    from .demo import run_demo

    s = run_demo(args.output)
    print("erosion demo: CSLE on the real Jacksboro DEM (Tennessee, 3 arc-second, 344 x 403 cells)")
    print("Illustrative factor values (not a soil-loss estimate for Tennessee):")
    for key, value in s["illustrative"].items():
        print(f"  {key:<30} {value}")
    print(f"LS range                         {s['ls_range'][0]:.3f} - {s['ls_range'][1]:.2f}")
    print(f"mean soil loss A                 {s['mean_soil_loss_t_hm2_a']:.2f} t hm-2 a-1")
    print(f"land area                        {s['land_km2']:.2f} km2")
    print(f"eroded (light and above)         {s['eroded_km2']:.2f} km2")
    print(f"soil and water conservation rate {s['conservation_rate_pct']:.2f} %")
    print("\nArea by intensity class and unit (km2):")
    print(s["table"].round(2).to_string())
    print(f"\nOutputs in {args.output}/:")
    for path in s["files"].values():
        print(f"  {path}")
    print(f"done in {s['seconds']:.1f} s")
    return 0


def _validate(args: argparse.Namespace) -> int:
    from .pipeline import validate

    print(validate(args.config))
    print("config is valid; nothing was computed")
    return 0


def _run(args: argparse.Namespace) -> int:
    from .pipeline import run

    try:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn, TimeRemainingColumn
    except ImportError:  # plain lines without rich
        def progress(done, total):
            print(f"tile tasks {done}/{total}", file=sys.stderr)

        result = run(args.config, restart=args.restart, progress=progress, log=print)
    else:
        columns = ("[progress.description]{task.description}", BarColumn(), MofNCompleteColumn(),
                   TimeElapsedColumn(), TimeRemainingColumn())
        with Progress(*columns) as bar:
            task = bar.add_task("tile tasks", total=None)

            def progress(done, total):
                bar.update(task, completed=done, total=total)

            result = run(args.config, restart=args.restart, progress=progress, log=bar.console.print)
    print(f"run {result.provenance['run']!r}: {result.tiles_computed} tiles computed, {result.tiles_skipped} "
          f"already done, in {result.provenance['compute_seconds']} s")
    print(f"outputs in {result.folder}/: {result.store.name}, tables/, "
          + ("cog/, " if result.provenance["cogs"] else "") + (f"report/{result.report.name}" if result.report else ""))
    for level, table in result.tables.items():
        land, eroded = table["land_km2"].sum(), table["eroded_km2"].sum()
        rate = 100 * table["slight_km2"].sum() / land if land else float("nan")
        print(f"  {level}: {len(table)} units, land {land:,.0f} km2, eroded {eroded:,.0f} km2, conservation rate "
              f"{rate:.2f} %")
    if result.targets is not None:
        t = result.targets.dropna(subset=["target_pct"])
        print(f"  targets: {int(t['on_track'].astype(bool).sum())} of {len(t)} on track")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The ``erosion`` command's argument parser: ``demo``, ``run`` and ``validate``.

    Returns
    -------
    argparse.ArgumentParser
        The parser; each sub-command sets ``func``, the function that runs it.
    """
    parser = argparse.ArgumentParser(prog="erosion", description="Soil-erosion modelling on raster grids (CSLE, RUSLE).")
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    sub = parser.add_subparsers(dest="command")
    demo = sub.add_parser("demo", help="run CSLE end to end on the embedded Jacksboro DEM")
    demo.add_argument("--output", default="demo-output", help="output folder (default: demo-output)")
    demo.set_defaults(func=_demo)
    runp = sub.add_parser("run", help="run a config (TOML): tiles, Zarr store, tables by unit level, report")
    runp.add_argument("config", help="the run's TOML config")
    runp.add_argument("--restart", action="store_true",
                      help="delete a previous run's outputs in the output folder instead of resuming it")
    runp.set_defaults(func=_run)
    check = sub.add_parser("validate", help="check a config (files, CRS, grids, units, steps, unit levels) only")
    check.add_argument("config", help="the run's TOML config")
    check.set_defaults(func=_validate)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the ``erosion`` command with ``argv`` (default: ``sys.argv[1:]``); returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.version:
        from ._attrs import _version

        print(f"erosion {_version()}")
        return 0
    if not hasattr(args, "func"):
        parser.print_help()
        return 2
    try:
        return args.func(args)
    except ErosionError as exc:
        print(f"erosion: error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
