"""erosion.plan: its models are reachable from the top level and imported on first use."""

from __future__ import annotations

import subprocess
import sys

import pytest

import erosion
from erosion import plan


def test_models_resolve_and_scenario_is_the_plan_module():
    for name in plan.MODELS:
        assert getattr(plan, name).__name__ == f"erosion.plan.{name}"
    assert erosion.scenario is plan.scenario
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        _ = plan.nothing
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        _ = erosion.nothing


def test_import_erosion_stays_light():
    code = ("import sys, erosion; "
            "print(sorted(m for m in ('matplotlib', 'erosion.plot', 'erosion.plan.scenario', 'geopandas') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "[]"
