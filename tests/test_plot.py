"""erosion.plot: what each figure shows (colours, labels, scales, areas), and that it never shows or writes."""

from __future__ import annotations

import warnings

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
import xarray as xr
from matplotlib.colors import LogNorm, to_hex

import erosion
from erosion import plot as ep
from erosion.aggregation import CLASS_COLUMNS, COLUMNS
from erosion.errors import InputError

EN = ["slight", "light", "moderate", "intense", "very intense", "severe"]
ZH = ["微度", "轻度", "中度", "强烈", "极强烈", "剧烈"]


@pytest.fixture(autouse=True)
def _no_show_no_files(monkeypatch, tmp_path):
    """Every test runs in an empty folder with plt.show failing: nothing may be shown or written."""
    def fail(*args, **kwargs):
        raise AssertionError("erosion.plot called plt.show()")

    monkeypatch.setattr(plt, "show", fail)
    monkeypatch.chdir(tmp_path)
    yield
    plt.close("all")
    assert list(tmp_path.iterdir()) == [], "erosion.plot wrote a file"


@pytest.fixture(scope="module")
def dem():
    return erosion.datasets.load("jacksboro")


@pytest.fixture(scope="module")
def soil_loss(dem):
    """A real-grid soil loss (t hm-2 a-1) spanning all six classes for T_tol = 500, with NaN and zeros."""
    z = (dem - float(dem.min())) / float(dem.max() - dem.min())
    a = (10.0 ** (4 * z.values - 1.5)).astype(np.float32)  # 0.03 .. 300 t hm-2 a-1
    a[:5, :] = np.nan
    a[5:8, :] = 0.0
    return dem.copy(data=a).rename("soil_loss").assign_attrs(units="t hm-2 a-1", long_name="mean annual soil loss A")


@pytest.fixture(scope="module")
def classes(soil_loss):
    return erosion.classify(soil_loss, tolerable=500)


def _legend(ax):
    leg = ax.get_legend()
    return [t.get_text() for t in leg.get_texts()], [to_hex(h.get_facecolor()) for h in leg.legend_handles]


def test_class_map_six_classes_in_their_colours_and_no_data_transparent(classes):
    ax = ep.class_map(classes, title="classes")
    labels, colours = _legend(ax)
    assert labels == EN
    assert colours == list(ep.CLASS_COLOURS)
    image = ax.images[0]
    shown = image.get_array()
    codes = classes.values
    assert np.ma.getmaskarray(shown).tolist() == (codes == 0).tolist()  # class 0 masked: not drawn
    rgba = image.cmap(image.norm(np.arange(1, 7)))
    assert [to_hex(c) for c in rgba] == list(ep.CLASS_COLOURS)
    left, right, bottom, top = image.get_extent()
    assert (left, right, bottom, top) == pytest.approx(tuple(classes.rio.bounds()[i] for i in (0, 2, 1, 3)))
    assert ax.get_xlabel() == "longitude (°)" and ax.get_ylabel() == "latitude (°)"
    assert ax.get_title() == "classes"


def test_class_map_ranges_and_wind_names(classes):
    labels, _ = _legend(ep.class_map(classes, ranges=True))
    assert labels[0] == "slight (< 500)" and labels[2] == "moderate (2 500–5 000)" and labels[-1] == "severe (> 15 000)"
    wind = erosion.classification.class_names("wind")[1:]
    labels, _ = _legend(ep.class_map(classes, kind="wind", ranges=True))
    assert labels == [f"{n.replace('_', ' ')} ({r})" for n, r in zip(wind, ep._ranges("wind", None), strict=True)]
    assert labels[0].endswith("(< 200)")
    assert ep.class_map(classes, legend=False).get_legend() is None


def test_class_map_zh_labels_with_a_font(classes, monkeypatch):
    font = matplotlib.font_manager.FontProperties(family="DejaVu Sans", size=9)
    monkeypatch.setattr(ep, "_cjk_font", lambda: font)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ep.CJKFontWarning)
        ax = ep.class_map(classes, lang="zh")
    labels, colours = _legend(ax)
    assert labels == ZH and colours == list(ep.CLASS_COLOURS)
    assert ax.get_legend().get_title().get_text() == "侵蚀强度"
    assert all(t.get_fontproperties().get_size() == 9 for t in ax.get_legend().get_texts())


def test_zh_without_a_cjk_font_warns_once_and_still_draws(classes, soil_loss, monkeypatch):
    monkeypatch.setattr(ep, "_cjk_font", lambda: None)
    with pytest.warns(ep.CJKFontWarning, match="mplfonts") as record:
        ax = ep.class_map(classes, lang="zh")
    assert len([w for w in record if issubclass(w.category, ep.CJKFontWarning)]) == 1
    assert "font.sans-serif" in str(record[0].message)
    assert _legend(ax)[0] == ZH
    with pytest.warns(ep.CJKFontWarning):
        ax = ep.loss_histogram(soil_loss, tolerable=500, lang="zh")
    assert ax.get_xlabel().startswith("土壤侵蚀模数")


def test_cjk_font_lookup_finds_nothing_here_or_a_font_with_the_glyphs():
    font = ep._cjk_font()
    assert font is None or ep._has_cjk(font.get_file())
    assert not ep._has_cjk(matplotlib.font_manager.findfont("DejaVu Sans"))


def test_factor_map_log_scale_for_soil_loss_and_ls_with_units_in_the_colour_bar(soil_loss):
    ax = ep.factor_map(soil_loss)
    image = ax.images[0]
    assert isinstance(image.norm, LogNorm)
    assert image.norm.vmin > 0 and image.norm.vmax == pytest.approx(float(soil_loss.max()))
    assert np.ma.getmaskarray(image.get_array())[:5].all()  # NaN transparent
    assert not np.ma.getmaskarray(image.get_array())[5:8].any()  # zeros drawn in the lowest colour
    cbar = ax.figure.axes[-1]
    assert cbar.get_ylabel() == "mean annual soil loss A (t hm-2 a-1)"

    ls = xr.DataArray(np.linspace(0.0, 40.0, 400).reshape(20, 20), dims=("y", "x"), name="ls_factor",
                      coords={"y": np.arange(20.0, 0, -1) * 30, "x": np.arange(20) * 30.0},
                      attrs={"units": "1", "long_name": "topographic factor LS"})
    ax = ep.factor_map(ls)
    assert isinstance(ax.images[0].norm, LogNorm)
    assert ax.figure.axes[-1].get_ylabel() == "topographic factor LS (dimensionless)"
    # recognised by its long_name when the name is lost, and log=False overrides
    assert isinstance(ep.factor_map(ls.rename(None)).images[0].norm, LogNorm)
    assert not isinstance(ep.factor_map(ls, log=False).images[0].norm, LogNorm)


def test_factor_map_two_maps_on_one_scale(soil_loss):
    event = soil_loss * 3
    a, b = (ep.factor_map(x, vmin=0.1, vmax=float(event.max())) for x in (soil_loss, event))
    assert (a.images[0].norm.vmin, a.images[0].norm.vmax) == (b.images[0].norm.vmin, b.images[0].norm.vmax)
    assert a.images[0].colorbar.extend == "min" and b.images[0].colorbar.extend == "min"  # zeros below 0.1
    # values outside the limits take the end colours and the colour bar says so with arrows
    assert ep.factor_map(soil_loss, vmin=1.0, vmax=2.0).images[0].colorbar.extend == "both"
    linear = ep.factor_map(soil_loss, log=False, vmin=0.0, vmax=1.0)
    assert (linear.images[0].norm.vmin, linear.images[0].norm.vmax) == (0.0, 1.0)
    with pytest.raises(ValueError, match="vmin"):
        ep.factor_map(soil_loss, vmin=0.0)
    with pytest.raises(ValueError, match="below"):
        ep.factor_map(soil_loss, vmin=2.0, vmax=1.0)


def test_factor_map_linear_for_other_factors_and_projected_axes():
    r = xr.DataArray(np.full((30, 40), 4000.0), dims=("y", "x"), name="rainfall_erosivity",
                     coords={"y": 3e6 - np.arange(30) * 1000.0, "x": 5e5 + np.arange(40) * 1000.0},
                     attrs={"units": "MJ mm hm-2 h-1 a-1", "long_name": "rainfall erosivity factor R"})
    r = r.rio.write_crs("EPSG:32650")
    ax = ep.factor_map(r, title="R")
    assert not isinstance(ax.images[0].norm, LogNorm)
    assert ax.figure.axes[-1].get_ylabel() == "rainfall erosivity factor R (MJ mm hm-2 h-1 a-1)"
    assert ax.get_xlabel() == "x (metre)" and ax.get_title() == "R"


def test_factor_map_dask_and_huge_grids_are_strided_before_computing(monkeypatch):
    big = xr.DataArray(np.arange(3000 * 10, dtype=np.float64).reshape(10, 3000) + 1, dims=("y", "x"),
                       coords={"y": np.arange(10.0, 0, -1), "x": np.arange(3000.0)}, name="soil_loss",
                       attrs={"units": "t hm-2 a-1", "long_name": "mean annual soil loss A"}).chunk({"x": 500})
    monkeypatch.setattr(ep, "MAX_PIXELS", 1000)
    ax = ep.factor_map(big)
    assert ax.images[0].get_array().shape == (4, 1000)  # every 3rd cell
    assert ax.images[0].get_extent()[:2] == pytest.approx((-0.5, 2999.5))
    assert big.chunks is not None  # the input stays lazy


def test_loss_histogram_areas_sum_to_the_land_area_with_data(soil_loss):
    ax = ep.loss_histogram(soil_loss, tolerable=500)
    heights = sum(p.get_height() for p in ax.patches)
    area = erosion.cell_area(soil_loss) / 1e6
    assert heights == pytest.approx(float(area.where(soil_loss.notnull()).sum()), rel=1e-9)
    assert ax.get_xscale() == "log"
    assert ax.get_xlabel() == "soil erosion modulus (t·km⁻²·a⁻¹)" and ax.get_ylabel() == "area (km²)"
    marked = sorted(line.get_xdata()[0] for line in ax.lines)
    assert marked == [500, 2500, 5000, 8000, 15000]
    lo, hi = ax.get_xlim()
    assert lo < 500 and hi > 15000
    # the same on dask, and a region name for T_tol
    lazy = ep.loss_histogram(soil_loss.chunk(100), tolerable="southern_red_soil")
    assert [p.get_height() for p in lazy.patches] == pytest.approx([p.get_height() for p in ax.patches], rel=1e-9)


def test_loss_histogram_needs_tolerable_for_water_and_takes_a_modulus(soil_loss):
    with pytest.raises(InputError, match="tolerable"):
        ep.loss_histogram(soil_loss)
    modulus = (soil_loss * 100).assign_attrs(units="t km-2 a-1")
    ax = ep.loss_histogram(modulus, tolerable=1000, bins=20)
    assert len(ax.patches) == 20
    assert sorted(line.get_xdata()[0] for line in ax.lines)[0] == 1000
    wind = soil_loss.rename("wind_soil_loss")
    assert sorted(line.get_xdata()[0] for line in ep.loss_histogram(wind).lines)[0] == 200


def _table() -> pd.DataFrame:
    rng = np.random.default_rng(3)
    classes = pd.DataFrame(rng.uniform(0, 50, (4, 6)), columns=CLASS_COLUMNS, index=pd.Index([11, 12, 13, 14], name="unit"))
    land = classes.sum(axis=1)
    eroded = classes[CLASS_COLUMNS[1:]].sum(axis=1)
    return pd.concat([land.rename("land_km2"), classes, eroded.rename("eroded_km2"),
                      (100 * (land - eroded) / land).rename("conservation_rate_pct")], axis=1)[COLUMNS]


def test_class_area_bars_equal_the_table():
    table = _table()
    ax = ep.class_area_bars(table)
    assert len(ax.containers) == 5  # light ... severe; slight is not erosion
    for container, column, colour in zip(ax.containers, CLASS_COLUMNS[1:], ep.CLASS_COLOURS[1:], strict=True):
        np.testing.assert_allclose([p.get_height() for p in container], table[column])
        assert {to_hex(p.get_facecolor()) for p in container} == {colour}
    top = [p.get_y() + p.get_height() for p in ax.containers[-1]]
    np.testing.assert_allclose(top, table["eroded_km2"])
    assert [t.get_text() for t in ax.get_xticklabels()] == ["11", "12", "13", "14"]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == EN[1:]

    ax = ep.class_area_bars(table, percent=True)
    np.testing.assert_allclose([p.get_y() + p.get_height() for p in ax.containers[-1]],
                               100 - table["conservation_rate_pct"])
    assert ax.get_ylabel() == "share of land (%)"
    with pytest.raises(InputError, match="aggregate"):
        ep.class_area_bars(table.drop(columns="severe_km2"))


def test_class_area_bars_unit_names(monkeypatch):
    table = _table().assign(name=["陕西", "甘肃", "宁夏", "山西"])
    monkeypatch.setattr(ep, "_cjk_font", lambda: None)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # Chinese names in an English chart without a font: ids, no warning
        ax = ep.class_area_bars(table)
    assert [t.get_text() for t in ax.get_xticklabels()] == ["11", "12", "13", "14"]
    ax = ep.class_area_bars(table.assign(name_en=["Shaanxi", "Gansu", "Ningxia", "Shanxi"]))
    assert [t.get_text() for t in ax.get_xticklabels()] == ["Shaanxi", "Gansu", "Ningxia", "Shanxi"]
    with pytest.warns(ep.CJKFontWarning):
        ax = ep.class_area_bars(table, lang="zh")
    assert [t.get_text() for t in ax.get_xticklabels()] == ["陕西", "甘肃", "宁夏", "山西"]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ZH[1:]


def test_class_area_bars_from_a_real_aggregate_table(classes):
    zones = xr.DataArray(np.where(np.arange(classes.shape[1]) < 200, 1, 2).astype(np.int32)[None, :]
                         .repeat(classes.shape[0], 0), coords=classes.coords, dims=classes.dims)
    table = erosion.aggregate(classes, zones)
    ax = ep.class_area_bars(table, lang="en")
    np.testing.assert_allclose([p.get_y() + p.get_height() for p in ax.containers[-1]], table["eroded_km2"])


def test_conservation_map_on_polygons():
    geopandas = pytest.importorskip("geopandas")
    from shapely.geometry import box

    table = _table()
    polygons = geopandas.GeoDataFrame({"code": [11, 12, 13, 14, 99]},
                                      geometry=[box(i, 0, i + 1, 1) for i in range(5)], crs="EPSG:4326")
    ax = ep.conservation_map(table, polygons, id_column="code")
    drawn = ax.collections[0]
    rates = drawn.get_array()
    np.testing.assert_allclose(rates, table["conservation_rate_pct"])  # unit 99 has no row: drawn apart
    assert len(ax.collections) == 2  # the units, then the unit without data
    assert ax.figure.axes[-1].get_ylabel() == "conservation rate (%)"
    assert ax.get_xlabel() == "longitude (°)"
    # ids as text, or as another integer type, on one side still join
    ax = ep.conservation_map(table, polygons.assign(code=polygons["code"].astype(np.int32)), id_column="code")
    np.testing.assert_allclose(ax.collections[0].get_array(), table["conservation_rate_pct"])
    ax = ep.conservation_map(table, polygons.assign(code=polygons["code"].astype(str)), id_column="code")
    np.testing.assert_allclose(ax.collections[0].get_array(), table["conservation_rate_pct"])
    with pytest.raises(InputError, match="matches"):
        ep.conservation_map(table, polygons.assign(code=[1, 2, 3, 4, 5]), id_column="code")


def test_class_map_on_dask_float_codes_and_plain_arrays(classes, monkeypatch):
    lazy = classes.astype(np.float32).where(classes > 0).chunk(100)  # NaN = no data, as after a float round trip
    monkeypatch.setattr(ep, "MAX_PIXELS", 250)
    ax = ep.class_map(lazy)
    shown = ax.images[0].get_array()
    assert shown.shape == (172, 202)  # every 2nd cell, computed only after the stride
    np.testing.assert_array_equal(np.ma.getmaskarray(shown), classes.values[::2, ::2] == 0)
    assert lazy.chunks is not None
    ax = ep.class_map(np.array([[0, 1, 2], [3, 4, 6]], dtype=np.uint8))
    assert ax.get_xlabel() == "x (cells)"
    with pytest.raises(InputError, match="lang"):
        ep.class_map(classes, lang="fr")


def test_without_matplotlib_the_import_error_says_what_to_install(monkeypatch):
    import importlib
    import sys

    for name in [m for m in sys.modules if m == "matplotlib" or m.startswith("matplotlib.")]:
        monkeypatch.setitem(sys.modules, name, None)
    monkeypatch.delitem(sys.modules, "erosion.plot")
    with pytest.raises(ImportError, match=r'pip install "erosion\[plot\]"'):
        importlib.import_module("erosion.plot")
    monkeypatch.undo()
    assert sys.modules["erosion.plot"] is ep
