"""The region plugin mechanism: discovery through entry points, failures, duplicates, conformance.

A third-party plugin is installed the way pip installs one: a ``*.dist-info`` folder with an
``entry_points.txt`` on ``sys.path``, next to its module.
"""

from __future__ import annotations

import sys
import textwrap
import warnings

import pytest

import erosion
from erosion.errors import UnknownCodeError
from erosion.regions import GROUP, Region, RegionWarning, conformance

BUILT_IN = ("blacksoil", "loess", "wind")

THIRD_PARTY = '''
import numpy as np
import xarray as xr

from erosion._array import apply_cellwise
from erosion.regions import Region


def doubled_loss(soil_loss):
    """A toy regional rule: twice the soil loss (t hm-2 a-1)."""
    return apply_cellwise(lambda a: 2.0 * a, [("soil_loss", "soil_loss", soil_loss)], output="soil_loss",
                          history="doubled_loss: 2 A", references="a third-party test plugin")


def example(chunks):
    a = xr.DataArray(np.arange(35.0).reshape(7, 5), dims=("y", "x"),
                     coords={"y": 4e6 - 30.0 * np.arange(7), "x": 5e5 + 30.0 * np.arange(5)},
                     attrs={"units": "t hm-2 a-1"}).rio.write_crs(32650)
    return {"soil_loss": doubled_loss(a.chunk(chunks) if chunks else a)}


REGION = Region(name="{name}", description="a minimal third-party plugin for the tests", maturity="established",
                needs=("soil_loss",), produces=("soil_loss",), references=("none: a test",),
                functions={{"doubled_loss": doubled_loss}}, example=example)
'''


def _install(tmp_path, monkeypatch, dist: str, entries: dict[str, str], modules: dict[str, str]) -> None:
    """Put a package ``dist`` with ``entries`` (name → "module:attr") and ``modules`` on sys.path."""
    info = tmp_path / f"{dist}-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 0.1\n")
    lines = "\n".join(f"{k} = {v}" for k, v in entries.items())
    (info / "entry_points.txt").write_text(f"[{GROUP}]\n{lines}\n")
    for name, source in modules.items():
        (tmp_path / f"{name}.py").write_text(textwrap.dedent(source))
    monkeypatch.syspath_prepend(str(tmp_path))
    for name in modules:
        sys.modules.pop(name, None)
    erosion.regions.refresh()


@pytest.fixture(autouse=True)
def _fresh_registry():
    erosion.regions.refresh()
    yield
    erosion.regions.refresh()


def test_the_built_ins_register_through_entry_points():
    with warnings.catch_warnings():
        warnings.simplefilter("error", RegionWarning)  # no built-in fails to load
        names = erosion.regions.names()
    assert set(BUILT_IN) <= set(names)
    for name in BUILT_IN:
        region = erosion.regions.get(name)
        assert isinstance(region, Region) and region.name == name


@pytest.mark.parametrize("name", BUILT_IN)
def test_every_built_in_passes_the_conformance_suite(name):
    conformance.check(erosion.regions.get(name))


def test_a_third_party_plugin_is_found_and_conforms(tmp_path, monkeypatch):
    _install(tmp_path, monkeypatch, "erosion_toy", {"toy": "erosion_toy_region:REGION"},
             {"erosion_toy_region": THIRD_PARTY.replace("{name}", "toy").replace("{{", "{").replace("}}", "}")})
    assert "toy" in erosion.regions.names()
    conformance.check(erosion.regions.get("toy"))


def test_a_broken_plugin_warns_and_the_others_still_load(tmp_path, monkeypatch):
    _install(tmp_path, monkeypatch, "erosion_broken", {"broken": "erosion_broken_region:REGION"},
             {"erosion_broken_region": "raise RuntimeError('cannot import its data')\n"})
    with pytest.warns(RegionWarning, match=r"broken = erosion_broken_region:REGION .*failed to load.*cannot import"):
        names = erosion.regions.names()
    assert "broken" not in names and set(BUILT_IN) <= set(names)


def test_a_plugin_that_is_not_a_region_warns(tmp_path, monkeypatch):
    _install(tmp_path, monkeypatch, "erosion_odd", {"odd": "erosion_odd_region:REGION"},
             {"erosion_odd_region": "REGION = {'name': 'odd'}\n"})
    with pytest.warns(RegionWarning, match="is a dict, not an erosion.regions.Region"):
        assert "odd" not in erosion.regions.names()


def test_duplicate_names_are_reported_and_one_is_kept(tmp_path, monkeypatch):
    source = THIRD_PARTY.replace("{name}", "wind").replace("{{", "{").replace("}}", "}")
    _install(tmp_path, monkeypatch, "erosion_other_wind", {"wind": "erosion_other_wind_region:REGION"},
             {"erosion_other_wind_region": source})
    with pytest.warns(RegionWarning, match="two erosion region plugins are named 'wind'"):
        region = erosion.regions.get("wind")
    assert region.name == "wind"


def test_unknown_region_lists_the_registered_ones():
    with pytest.raises(UnknownCodeError, match=r"no erosion region plugin named 'sahara'; registered: .*wind"):
        erosion.regions.get("sahara")


def test_the_conformance_suite_catches_broken_contracts():
    good = erosion.regions.get("wind")
    from dataclasses import replace

    with pytest.raises(AssertionError, match="not in the vocabulary"):
        conformance.check(replace(good, needs=("no_such_variable",)))
    with pytest.raises(AssertionError, match="must say so"):
        conformance.check(replace(good, maturity="experimental", description="a model"))
    with pytest.raises(AssertionError, match="give at least one reference"):
        conformance.check(replace(good, references=()))

    def computes(chunks):
        out = good.example(chunks)
        return {k: v.compute() for k, v in out.items()}
    with pytest.raises(AssertionError, match="computed output"):
        conformance.check(replace(good, example=computes))
