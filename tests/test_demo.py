"""The demo runs end to end on the real DEM and writes what the README lists."""

from __future__ import annotations

import numpy as np

import erosion
from erosion.cli import main


def test_demo_writes_every_output_and_consistent_tables(tmp_path, capsys):
    assert main(["demo", "--output", str(tmp_path)]) == 0
    printed = capsys.readouterr().out
    assert "Illustrative" in printed and "conservation rate" in printed
    for name in ("slope.tif", "ls_factor.tif", "soil_loss.tif", "intensity_class.tif",
                 "intensity_by_unit.csv", "intensity_classes.png"):
        assert (tmp_path / name).stat().st_size > 0, name
    assert not list(tmp_path.glob(".*tmp*")), "temporary files left behind"

    import pandas as pd

    table = pd.read_csv(tmp_path / "intensity_by_unit.csv", index_col="unit")
    assert list(table.index) == list(range(1, 10))
    classes = [c for c in table.columns if c.endswith("_km2") and c not in ("land_km2", "eroded_km2")]
    np.testing.assert_allclose(table[classes].sum(axis=1), table["land_km2"], atol=6e-4)  # CSV keeps 4 decimals
    # the grid covers 0.3358° x 0.2867° around 36.3° N: about 960 km² on the ellipsoid
    assert 950 < table["land_km2"].sum() < 970

    cls = erosion.open_raster(tmp_path / "intensity_class.tif", masked=False)
    assert cls.dtype == np.uint8 and cls.rio.nodata == 0
    assert cls.rio.crs.to_epsg() == 4326
    A = erosion.open_raster(tmp_path / "soil_loss.tif")
    assert A.attrs["units"] == "t hm-2 a-1"


def test_cli_without_command_prints_help(capsys):
    assert main([]) == 2
    assert "demo" in capsys.readouterr().out
