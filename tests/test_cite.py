"""erosion.cite and the references that travel along a chain (erosion._attrs.finalize)."""

from __future__ import annotations

from importlib.metadata import version

import numpy as np
import pytest
import xarray as xr

import erosion
from erosion._attrs import merge_references, split_references
from erosion._kernels.conditioning import REF_FLATS
from erosion.errors import InputError, UnknownCodeError
from erosion.factors import k_epic, ls_factor
from erosion.factors.soil import REF_CONVERSION, REF_EPIC
from erosion.factors.terrain._common import REF_BARNES, REF_D8, REF_HICKEY, REF_HORN
from erosion.factors.terrain.ls import REF_MCCOOL_L, S_METHODS
from erosion.model import CROPLAND_RULE_REFERENCES, CSLE_REFERENCES, RUSLE_REFERENCES

CSLE = split_references(CSLE_REFERENCES)
RUSLE = split_references(RUSLE_REFERENCES)
# ls_factor's defaults: S method "csle", the Barnes fill with flats, D8 flow paths, Hickey's slope length
LS = split_references("; ".join([S_METHODS["csle"][2], REF_MCCOOL_L, REF_HORN, REF_BARNES, REF_FLATS, REF_D8,
                                 REF_HICKEY]))
K_EPIC = split_references(REF_EPIC + "; " + REF_CONVERSION)


@pytest.fixture(scope="module")
def chain():
    dem = erosion.datasets.load("jacksboro").isel(y=slice(0, 50), x=slice(0, 60)).load()

    def field(value, units):
        return xr.full_like(dem, value).assign_attrs(units=units)

    K = k_epic(field(35.0, "percent"), field(40.0, "percent"), field(25.0, "percent"), field(1.2, "percent"))
    LS = ls_factor(dem)
    A = erosion.csle(R=4000.0, K=K, LS=LS, B=0.05)
    return {"dem": dem, "K": K, "LS": LS, "A": A, "classes": erosion.classify(A, tolerable=500)}


def test_the_pieces_are_what_the_functions_write(chain):
    assert split_references(chain["LS"].attrs["references"]) == LS
    assert K_EPIC[0].startswith("Williams") and set(K_EPIC) <= set(split_references(chain["K"].attrs["references"]))


def test_a_chain_cites_every_method_once_in_order(chain):
    entries = erosion.cite(chain["A"], style="list")
    for group in (CSLE, K_EPIC, LS):
        for entry in group:
            assert entries.count(entry) == 1, entry
    # the function's own references first, then those of its inputs in argument order (R, K, LS)
    assert entries[: len(CSLE)] == CSLE
    assert entries.index(K_EPIC[0]) < entries.index(LS[0])
    assert len(entries) == len(set(entries))
    # and one step further: classify's standard first, then everything behind A
    classes = erosion.cite(chain["classes"], style="list")
    assert classes[0].startswith("SL 190-2007") and classes[1:] == entries


def test_attributes_carry_the_chain_without_duplicates(chain):
    refs = split_references(chain["A"].attrs["references"])
    assert len(refs) == len(set(refs)) and set(LS) <= set(refs) and set(K_EPIC) <= set(refs)
    # LS used twice (in A and on its own) is still listed once
    both = erosion.cite(chain["A"], chain["LS"], chain["classes"], style="list")
    assert both[: len(refs)] == refs and both[-1].startswith("SL 190-2007") and len(both) == len(refs) + 1


def test_in_memory_and_tiled_ls_cite_the_same_methods(chain):
    tiled = ls_factor(chain["dem"].chunk(25))
    assert erosion.cite(tiled, style="list") == erosion.cite(chain["LS"], style="list") == LS


def test_the_cropland_rule_is_cited_only_when_used(chain):
    cropland = xr.zeros_like(chain["dem"], dtype=np.uint8).assign_attrs(units="1")
    with_rule = erosion.cite(erosion.csle(R=4000.0, K=0.03, LS=chain["LS"], cropland=cropland), style="list")
    assert CROPLAND_RULE_REFERENCES in with_rule and CROPLAND_RULE_REFERENCES not in erosion.cite(chain["A"], style="list")


def test_two_results_in_order_of_first_appearance(chain):
    A_rusle = erosion.rusle(R=4000.0, K=chain["K"], LS=chain["LS"], C=0.2)
    entries = erosion.cite(chain["A"], A_rusle, style="list")
    # RUSLE's handbook is already behind LS (McCool's L is given as in AH703), so it is not repeated
    assert entries[: len(CSLE)] == CSLE and set(RUSLE) <= set(entries) and len(entries) == len(set(entries))
    assert sum(e in K_EPIC for e in entries) == len(K_EPIC)
    reverse = erosion.cite(A_rusle, chain["A"], style="list")
    assert reverse[: len(RUSLE)] == RUSLE and set(reverse) == set(entries)


def test_text_form_numbers_the_list(chain):
    text = erosion.cite(chain["A"])
    entries = erosion.cite(chain["A"], style="list")
    assert isinstance(text, str) and text.splitlines() == [f"{i}. {e}" for i, e in enumerate(entries, start=1)]
    assert chain["A"].erosion.cite() == text


def test_datasets_cite_every_variable(chain):
    ds = xr.Dataset({"soil_loss": chain["A"], "soil_erodibility": chain["K"]})
    assert erosion.cite(ds, style="list") == erosion.cite(chain["A"], style="list")


def test_entries_split_at_semicolons_outside_brackets():
    assert split_references("A (2001; revised 2004); B [x; y]; C") == ["A (2001; revised 2004)", "B [x; y]", "C"]
    assert merge_references("A; B", None, "", "B; C; A") == ["A", "B", "C"]
    da = xr.DataArray(np.zeros(2), attrs={"references": "Peng J. et al. (2017) (RWEQ; ChinaXiv 201706.00467); X; X"})
    assert erosion.cite(da, style="list") == ["Peng J. et al. (2017) (RWEQ; ChinaXiv 201706.00467)", "X"]


def test_no_argument_cites_erosion_and_the_models():
    entries = erosion.cite(style="list")
    assert entries[0].startswith(f"erosion {version('erosion')}") and "http" not in entries[0]
    assert entries[1:] == CSLE + RUSLE
    assert erosion.cite().splitlines()[0] == f"1. {entries[0]}"


def test_bad_arguments(chain):
    with pytest.raises(InputError, match=r"argument 2 is a numpy\.ndarray, not an xarray DataArray"):
        erosion.cite(chain["A"], chain["A"].values)
    with pytest.raises(InputError, match=r"argument 1 is a pandas\.DataFrame"):
        erosion.cite(erosion.aggregate(chain["classes"], xr.ones_like(chain["classes"], dtype=np.int32)))
    with pytest.raises(InputError, match="argument 1 is a float, not"):
        erosion.cite(4000.0)
    with pytest.raises(UnknownCodeError, match="unknown style 'bibtex'"):
        erosion.cite(chain["A"], style="bibtex")
    # arithmetic between DataArrays drops the attributes that differ: say so rather than cite nothing
    with pytest.raises(InputError, match="drops it in arithmetic between DataArrays"):
        erosion.cite(chain["A"] * chain["LS"], chain["dem"])


def test_one_paper_is_written_one_way_across_modules(chain):
    """The CSLE paper and SL 190 are cited by many modules; cite() de-duplicates by text, so the
    texts must agree (the plan's scenario once wrote both differently and cite listed them twice)."""
    from erosion.factors import e_factor, t_factor
    from erosion.plan import scenario, urgency

    codes = (chain["dem"] * 0).astype(np.int16).assign_attrs(units="1")
    texts = [chain["A"].attrs["references"], chain["classes"].attrs["references"], scenario.REF_SCENARIO,
             urgency.REFERENCES, e_factor(codes).attrs["references"], t_factor(codes + 1).attrs["references"]]
    entries = {e for t in texts for e in split_references(t)}
    assert len({e for e in entries if "An empirical soil loss equation" in e}) == 1
    assert len({e for e in entries if e.startswith("SL 190-2007")}) == 1
