"""Multiple-flow routing (D∞, MFD), specific catchment area, aspect and the Desmet & Govers L.

Analytic surfaces: a cone (SCA = r/2), planes (SCA = distance to the cell's lower edge), and
hand-computed windows; conservation, chunking, row order and bad input.
"""

from __future__ import annotations

import numpy as np
import pytest
import rioxarray  # noqa: F401
from helpers import geographic, projected, rough_dem
from hypothesis import given, settings
from hypothesis import strategies as st

from erosion import grid, vocabulary
from erosion._kernels import multiflow as mk
from erosion.errors import InputError, UnknownCodeError
from erosion.factors import terrain as t

ROUTINGS = ["d8", "dinf", "mfd"]


def tilted(ny, nx, cell, azimuth_deg, grad=0.1, dy=None):
    """A plane falling by ``grad`` (m/m) toward the compass azimuth (degrees clockwise from north)."""
    dy = cell if dy is None else dy
    i, j = np.mgrid[0:ny, 0:nx].astype(np.float64)
    east, north = j * cell, -i * dy
    a = np.radians(azimuth_deg)
    return 500.0 - grad * (np.sin(a) * east + np.cos(a) * north)


# --- the cone: SCA = r/2 ------------------------------------------------------------------------
# A cone's contour at radius r drains the sector inside it: SCA = (π r² θ/2π) / (r θ) = r/2.

N_CONE, CELL_CONE = 161, 5.0


@pytest.fixture(scope="module")
def cone():
    i, j = np.mgrid[0:N_CONE, 0:N_CONE].astype(np.float64)
    c = (N_CONE - 1) / 2
    r = np.hypot(i - c, j - c) * CELL_CONE
    z = 1000.0 - r * np.tan(np.radians(15.0))
    ring = (r > 15 * CELL_CONE) & (r < (c - 5) * CELL_CONE)  # away from the apex and the edges
    azimuth = np.degrees(np.arctan2(c - i, j - c)) % 45.0
    between = ring & (np.abs(azimuth - 22.5) < 3.0)  # the 22.5° azimuths, between D8's directions
    sca = {r_: t.flow_accumulation(t.flow_direction(z, routing=r_, cellsize=CELL_CONE), cellsize=CELL_CONE,
                                   output="sca") for r_ in ROUTINGS}
    return {"r": np.where(r > 0, r, np.nan), "ring": ring, "between": between, "sca": sca, "z": z}


def test_cone_sca_mfd_within_ten_percent_of_half_r(cone):
    ratio = (cone["sca"]["mfd"] / cone["r"])[cone["ring"]]
    assert abs(np.median(ratio) / 0.5 - 1) < 0.10  # 0.533 (Freeman p = 1.1; Whitebox FD8 gives the same to 1e-7)
    assert np.percentile(np.abs(ratio / 0.5 - 1), 90) < 0.10  # 0.084


def test_cone_sca_dinf_close_to_half_r(cone):
    ratio = (cone["sca"]["dinf"] / cone["r"])[cone["ring"]]
    # 0.4456: TauDEM's contour width (the cell size) is too wide between the axes; Whitebox's D∞ gives
    # 0.4456 too (cell for cell equal to 1e-7 once its mirrored tie-break is flipped back)
    assert 0.44 < np.median(ratio) < 0.455
    assert np.percentile(np.abs(ratio / 0.5 - 1), 90) < 0.14  # 0.131


def test_cone_d8_fails_along_the_22_5_degree_azimuths(cone):
    err = {r_: np.abs(cone["sca"][r_] / cone["r"] / 0.5 - 1)[cone["between"]] for r_ in ROUTINGS}
    # median |SCA/(r/2) − 1| there: D8 0.86 (parallel flow lines: most cells 0.07 r, a few collect),
    # D∞ 0.11, MFD 0.07
    assert np.median(err["d8"]) > 0.8
    assert np.median(err["d8"]) > 5 * np.median(err["dinf"]) > 5 * np.median(err["mfd"])


def test_cone_quinn_contour_width_is_a_third_low(cone):
    fd = t.flow_direction(cone["z"], routing="mfd", cellsize=CELL_CONE)
    sca = t.flow_accumulation(fd, cellsize=CELL_CONE, output="sca", contour_width="quinn")
    ratio = np.median((sca / cone["r"])[cone["ring"]])
    assert 0.30 < ratio < 0.33  # 0.312: Σ L over the ~5 receiving directions ≈ 1.7 cells (ADR 0013)


# --- planes ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("routing", ROUTINGS)
def test_south_plane_sca_is_distance_to_the_lower_edge_of_the_cell(routing):
    # Flow due south: every cell of row i drains the i + 1 cells above it in its own strip (D8, D∞)
    # or, for MFD, the same area spread over neighbouring strips (all strips alike away from the
    # sides: influence moves at most one column per row). SCA = (i + 1)·D = d + D/2, with d the
    # distance from the upper edge to the cell centre.
    ny, nx, cell = 30, 100, 10.0
    z = tilted(ny, nx, cell, 180.0)
    fd = t.flow_direction(z, routing=routing, cellsize=cell)
    sca = t.flow_accumulation(fd, cellsize=cell, output="sca")
    d = (np.arange(ny) + 0.5) * cell
    cols = slice(35, 65)
    np.testing.assert_allclose(sca[:, cols], np.broadcast_to((d + cell / 2)[:, None], (ny, 30)), rtol=1e-9)
    if routing != "mfd":  # single strips: the side columns are exact too (ADR 0012 edges)
        np.testing.assert_allclose(sca, np.broadcast_to((d + cell / 2)[:, None], (ny, nx)), rtol=1e-9)
    else:  # Quinn's width: S, SE and SW receive, Σ L = (0.5 + 2 · 0.354) D
        quinn = t.flow_accumulation(fd, cellsize=cell, output="sca", contour_width="quinn")
        width = (0.5 + 2 * np.sqrt(2) / 4) * cell
        np.testing.assert_allclose(quinn[:, cols] * width / cell, sca[:, cols], rtol=1e-9)


def test_diagonal_plane_dinf_sca_is_the_true_sca_over_sqrt2():
    # Flow toward SE: single diagonal paths. A cell k steps from the upper-left edges drains k + 1
    # cells: SCA = A/D = (k + 1)·D, while the flow distance to its lower corner is (k + 1)·D·√2.
    n, cell = 30, 10.0
    z = tilted(n, n, cell, 135.0)
    angle = t.flow_direction(z, routing="dinf", cellsize=cell)
    np.testing.assert_allclose(angle, np.float32(7 * np.pi / 4), rtol=1e-6)
    sca = t.flow_accumulation(angle, cellsize=cell, output="sca")
    k = np.minimum(*np.mgrid[0:n, 0:n])
    np.testing.assert_allclose(sca, (k + 1) * cell, rtol=1e-9)


@pytest.mark.parametrize(("azimuth", "dx", "dy"), [(30.0, 10.0, 10.0), (200.0, 10.0, 20.0), (290.0, 30.0, 12.0)])
def test_dinf_angle_of_a_plane_on_every_cell_with_true_cell_sizes(azimuth, dx, dy):
    z = tilted(25, 20, dx, azimuth, dy=dy)
    angle = t.flow_direction(z, routing="dinf", cellsize=(dx, dy))
    expected = np.radians(90.0 - azimuth) % (2 * np.pi)  # counter-clockwise from east
    assert angle.dtype == np.float32
    np.testing.assert_allclose(angle, expected, atol=1e-6)
    frac = t.flow_direction(z, routing="mfd", cellsize=(dx, dy))  # edges and corners: the interior's fractions
    np.testing.assert_allclose(frac, np.broadcast_to(frac[:, 12:13, 10:11], frac.shape), atol=1e-6)


def test_dinf_and_mfd_hand_computed_window():
    z = np.array([[10.0, 10.0, 8.5], [10.0, 10.0, 9.0], [10.0, 10.0, 10.0]])
    # D∞, centre: facet E-NE: s1 = (10 − 9)/1 = 1, s2 = (9 − 8.5)/1 = 0.5, r = atan(0.5) = 0.46365,
    # s = √1.25 = 1.118; facet N-NE: r clipped to π/4, s = 1.5/√2 = 1.061; facet E-SE: r = 0, s = 1.
    angle = t.flow_direction(z, routing="dinf", cellsize=1.0)
    assert angle[1, 1] == pytest.approx(0.4636476, abs=1e-6)
    frac, bad = mk.dinf_fractions(angle.astype(np.float64), np.ones((3, 3)), np.ones((3, 3)))
    assert bad == 0
    assert frac[7, 1, 1] == pytest.approx(0.4636476 / (np.pi / 4), abs=1e-6)  # NE 0.5903
    assert frac[0, 1, 1] == pytest.approx(1 - 0.4636476 / (np.pi / 4), abs=1e-6)  # E 0.4097
    z2 = np.array([[10.0, 10.0, 10.0], [10.0, 10.0, 9.0], [10.0, 8.0, 10.0]])
    # MFD, centre: tan β_E = 1, tan β_S = 2. Freeman p = 1.1: 1 : 2^1.1 = 1 : 2.14355 → 0.318112, 0.681888.
    f = t.flow_direction(z2, routing="mfd", cellsize=1.0)
    assert f.shape == (8, 3, 3) and f.dtype == np.float32
    np.testing.assert_allclose(f[:, 1, 1], [0.318112, 0, 0.681888, 0, 0, 0, 0, 0], atol=1e-6)
    # Quinn p = 1, L = 0.5 both: 0.5 : 1 → 1/3, 2/3. On cells 20 m tall (dy), tan β_S = 2/20 and
    # L_S = 0.5·dx = 5, L_E = 0.5·dy = 10 with dx = 10: w_E = 0.1·10 = 1, w_S = 0.1·5 = 0.5.
    q = t.flow_direction(z2, routing="mfd", mfd_weights="quinn", exponent=1.0, cellsize=1.0)
    np.testing.assert_allclose(q[[0, 2], 1, 1], [1 / 3, 2 / 3], rtol=1e-6)
    q = t.flow_direction(z2, routing="mfd", mfd_weights="quinn", exponent=1.0, cellsize=(10.0, 20.0))
    np.testing.assert_allclose(q[[0, 2], 1, 1], [2 / 3, 1 / 3], rtol=1e-6)
    h = t.flow_direction(z2, routing="mfd", mfd_weights="holmgren", exponent=5.0, cellsize=1.0)
    np.testing.assert_allclose(h[[0, 2], 1, 1], [1 / 33, 32 / 33], rtol=1e-6)  # 1 : 2^5
    steep = t.flow_direction(z2 * 1e-3, routing="mfd", exponent=400.0, cellsize=1.0)  # (1e-3)^400 underflows
    np.testing.assert_array_equal(steep[[0, 2], 1, 1], [0.0, 1.0])  # p → ∞ is D8


def test_mfd_fractions_sum_to_one_and_no_descent_conventions():
    z = rough_dem(1)
    filled = t.fill_depressions(z)
    f = t.flow_direction(filled, routing="mfd", cellsize=30.0)
    valid = ~np.isnan(z)
    total = f.sum(axis=0)
    drains = total > 0
    np.testing.assert_allclose(total[valid & drains], 1.0, atol=1e-6)
    near_nan = np.zeros(z.shape, bool)
    for di in (-1, 0, 1):
        for dj in (-1, 0, 1):
            near_nan |= np.roll(np.roll(np.isnan(z), di, 0), dj, 1)
    assert 0 < np.count_nonzero(valid & ~drains) <= 3  # 2 cells without a lower neighbour, beside nodata
    assert near_nan[valid & ~drains].all()
    assert np.isnan(f[:, ~valid]).all()
    pit = t.flow_direction(np.array([[5.0, 5, 5], [5, 1, 5], [5, 5, 5]]), routing="mfd", cellsize=1.0)
    assert (pit[:, 1, 1] == 0).all()
    angle = t.flow_direction(np.array([[5.0, 5, 5], [5, 1, 5], [5, 5, 5]]), routing="dinf", cellsize=1.0)
    assert angle[1, 1] == -1.0
    angle = t.flow_direction(filled, routing="dinf", cellsize=30.0)
    assert np.isnan(angle[~valid]).all() and (angle[valid & ~drains] == -1).all()
    assert (angle[valid & drains] >= 0).all() and (angle[valid & drains] < 2 * np.pi).all()


# --- conservation ---------------------------------------------------------------------------

def _outflow(routing, fd, acc, dx, dy):
    """Area leaving the grid or entering nodata, from each cell's share toward such neighbours."""
    if routing == "d8":
        steps = {1: 0, 2: 1, 4: 2, 8: 3, 16: 4, 32: 5, 64: 6, 128: 7}
        frac = np.zeros((8, *fd.shape))
        for code, k in steps.items():
            frac[k][fd == code] = 1.0
        frac[:, fd == 255] = np.nan
    elif routing == "dinf":
        frac, _ = mk.dinf_fractions(np.asarray(fd, dtype=np.float64), dx, dy)
    else:
        frac = np.asarray(fd, dtype=np.float64)
    ny, nx = acc.shape
    total = np.nansum(frac, axis=0)
    out = 0.0
    for i in range(ny):
        for j in range(nx):
            if np.isnan(acc[i, j]):
                continue
            if total[i, j] == 0:
                out += acc[i, j]
                continue
            for k, (di, dj) in enumerate([(0, 1), (1, 1), (1, 0), (1, -1), (0, -1), (-1, -1), (-1, 0), (-1, 1)]):
                ni, nj = i + di, j + dj
                if frac[k, i, j] > 0 and not (0 <= ni < ny and 0 <= nj < nx and not np.isnan(acc[ni, nj])):
                    out += acc[i, j] * frac[k, i, j] / total[i, j]
    return out


@pytest.mark.parametrize("routing", ROUTINGS)
def test_area_leaving_the_grid_equals_the_valid_area(routing):
    dem = geographic(rough_dem(3))
    fd = t.flow_direction(t.fill_depressions(dem), routing=routing)
    acc = t.flow_accumulation(fd)
    areas = np.broadcast_to(grid.row_areas(dem)[:, None], dem.shape)
    total = areas[~np.isnan(dem.values)].sum()
    dx, dy = (np.broadcast_to(s[:, None], dem.shape) for s in grid.cell_sizes(dem))
    assert _outflow(routing, fd.values, acc.values, dx, dy) == pytest.approx(total, rel=1e-9)


@pytest.mark.parametrize("routing", ROUTINGS)
def test_weights_multiply_each_cells_own_contribution(routing):
    z = t.fill_depressions(rough_dem(4))
    fd = t.flow_direction(z, routing=routing, cellsize=30.0)
    mask = np.zeros(z.shape)
    mask[:, :35] = 1.0  # only the western half contributes
    runoff = np.full(z.shape, 0.25)
    plain = t.flow_accumulation(fd, cellsize=30.0)
    np.testing.assert_allclose(t.flow_accumulation(fd, cellsize=30.0, weights=runoff), 0.25 * plain, rtol=1e-12)
    west = t.flow_accumulation(fd, cellsize=30.0, weights=mask)
    east = t.flow_accumulation(fd, cellsize=30.0, weights=1 - mask)
    np.testing.assert_allclose(west + east, plain, rtol=1e-9)
    nan_w = mask.copy()
    nan_w[mask == 0] = np.nan  # NaN weights count as 0
    np.testing.assert_allclose(t.flow_accumulation(fd, cellsize=30.0, weights=nan_w), west, rtol=1e-12)


def test_dataarray_outputs_attrs_and_units():
    dem = projected(t.fill_depressions(rough_dem(5)))
    angle = t.flow_direction(dem, routing="dinf")
    frac = t.flow_direction(dem, routing="mfd")
    assert angle.name == "flow_angle" and angle.attrs["units"] == "radian"
    assert frac.name == "flow_fraction" and frac.dims == ("direction", "y", "x")
    assert list(frac.direction.values) == ["E", "SE", "S", "SW", "W", "NW", "N", "NE"]
    assert frac.rio.crs.to_epsg() == 32650 and angle.rio.transform() == dem.rio.transform()
    for fd in (angle, frac):
        acc = t.flow_accumulation(fd)
        sca = t.flow_accumulation(fd, output="sca")
        assert acc.name == "flow_accumulation" and acc.attrs["units"] == "m2"
        assert sca.name == "specific_catchment_area" and sca.attrs["units"] == vocabulary.get(sca.name).units == "m"
        np.testing.assert_allclose(sca.values, acc.values / 10.0)
        assert acc.rio.transform() == dem.rio.transform()
    asp = t.aspect(dem)
    assert asp.name == "aspect" and asp.attrs["units"] == "degree"


# --- chunking and row order -----------------------------------------------------------------

def _dask_equals_numpy(cy, cx):
    dem = projected(t.fill_depressions(rough_dem(6)))
    lazy = dem.chunk({"y": cy, "x": cx})
    for routing in ("dinf", "mfd"):
        eager = t.flow_direction(dem, routing=routing)
        out = t.flow_direction(lazy, routing=routing)
        assert out.chunks is not None
        np.testing.assert_array_equal(out.values, eager.values)
    np.testing.assert_array_equal(t.aspect(lazy).values, t.aspect(dem).values)


@settings(max_examples=8, deadline=None)
@given(cy=st.integers(6, 61), cx=st.integers(6, 71))
def test_flow_direction_and_aspect_dask_equal_numpy(cy, cx):
    _dask_equals_numpy(cy, cx)


@pytest.mark.parametrize(("cy", "cx"), [(1, 70), (60, 1), (2, 35)])
def test_flow_direction_dask_equals_numpy_on_thin_chunks(cy, cx):
    _dask_equals_numpy(cy, cx)


@pytest.mark.parametrize("routing", ["dinf", "mfd"])
def test_flow_accumulation_dask_needs_one_chunk_and_matches(routing):
    dem = projected(t.fill_depressions(rough_dem(7)))
    fd = t.flow_direction(dem, routing=routing)
    lazy = t.flow_direction(dem.chunk({"y": 16, "x": 25}), routing=routing)
    with pytest.raises(InputError, match=r"no tiled form.*D8 codes accumulate tile by tile"):
        t.flow_accumulation(lazy)
    one = t.flow_accumulation(t.flow_direction(dem.chunk(-1), routing=routing), output="sca",
                              weights=dem.chunk(-1) * 0 + 2.0)
    expected = t.flow_accumulation(fd, output="sca", weights=2.0).values
    np.testing.assert_array_equal(one.values, expected)
    with pytest.warns(FutureWarning, match="allow_compute"):
        out = t.flow_accumulation(lazy, output="sca", allow_compute=True,
                                  weights=dem.chunk({"y": 16, "x": 25}) * 0 + 2.0)
    assert out.chunks == ((16, 16, 16, 12), (25, 25, 20))
    np.testing.assert_array_equal(out.values, expected)


@pytest.mark.parametrize("routing", ROUTINGS)
def test_south_up_and_east_left_grids_give_the_same_answer(routing):
    dem = geographic(t.fill_depressions(rough_dem(8)))
    fd = t.flow_direction(dem, routing=routing)
    acc = t.flow_accumulation(fd)
    for flip in ({"y": slice(None, None, -1)}, {"x": slice(None, None, -1)}):
        turned = dem.isel(flip)
        fd2 = t.flow_direction(turned, routing=routing)
        np.testing.assert_array_equal(fd2.isel(flip).values, fd.values)
        np.testing.assert_allclose(t.flow_accumulation(fd2).isel(flip).values, acc.values, rtol=1e-9)
    asp = t.aspect(dem)
    np.testing.assert_array_equal(t.aspect(dem.isel(y=slice(None, None, -1))).isel(y=slice(None, None, -1)).values,
                                  asp.values)


# --- aspect -----------------------------------------------------------------------------------

@pytest.mark.parametrize("azimuth", [0.0, 45.0, 90.0, 135.0, 180.0, 250.0, 300.0])
def test_aspect_of_a_plane_on_every_cell(azimuth):
    z = tilted(20, 15, 30.0, azimuth)
    np.testing.assert_allclose(t.aspect(projected(z, cell=30.0)).values, azimuth, atol=1e-4)


def test_aspect_flat_and_nodata():
    z = np.full((4, 4), 5.0)
    z[0, 0] = np.nan
    asp = t.aspect(z, cellsize=10.0)
    assert np.isnan(asp[0, 0]) and (asp[1:, 1:] == -1).all()


# --- Desmet & Govers (1996) L -----------------------------------------------------------------

def test_desmet_govers_hand_computed():
    # L = [(A_in + D²)^(m+1) − A_in^(m+1)] / [D^(m+2) · x^m · 22.13^m], D = 10 m, m = 0.5
    # a source cell (A_in = 0) facing south (x = 1): D^m / 22.13^m = √(10/22.13) = 0.672217
    assert t.l_factor_desmet_govers(100.0, aspect=180.0, m=0.5, cellsize=10.0) == pytest.approx(0.672217, abs=1e-6)
    # the same facing north-east, x = |sin 45°| + |cos 45°| = √2: 0.672217 / 2^0.25 = 0.565265
    assert t.l_factor_desmet_govers(100.0, aspect=45.0, m=0.5, cellsize=10.0) == pytest.approx(0.565265, abs=1e-6)
    # two cells upslope (A_in = 200 m², A = 300 m²): (300^1.5 − 200^1.5) / (10^2.5 · 22.13^0.5)
    # = (5196.152 − 2828.427) / (316.2278 · 4.704253) = 2367.725 / 1487.615 = 1.591624
    assert t.l_factor_desmet_govers(300.0, aspect=180.0, m=0.5, cellsize=10.0) == pytest.approx(1.591624, abs=1e-6)
    # m from the slope by the RUSLE rule: 9 % → m = 0.5012 (test_terrain row 4); x given as 1
    theta = float(np.degrees(np.arctan(0.09)))
    m = t.m_exponent(theta)
    expected = (10.0 / 22.13) ** m
    assert t.l_factor_desmet_govers(100.0, theta, x=1.0, cellsize=10.0) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("routing", ["d8", "dinf"])
def test_desmet_govers_on_a_plane_is_the_segment_l(routing):
    # South-facing plane, D = 30 m, flow due south, x = 1: row i has A_in = i·D², so
    # L_i = D^m [(i+1)^(m+1) − i^(m+1)] / 22.13^m, Foster & Wischmeier's L of the segment from
    # λ = iD to (i+1)D. Averaged over rows 0..i it telescopes to ((i+1)D/22.13)^m, the USLE L of a
    # slope of length (i+1)D; far from the divide L_i → (m+1)·(λ/22.13)^m, λ = (i + ½)D.
    ny, nx, cell = 40, 12, 30.0
    dem = projected(tilted(ny, nx, cell, 180.0), cell=cell)
    acc = t.flow_accumulation(t.flow_direction(dem, routing=routing))
    theta = t.slope(dem)
    big_l = t.l_factor_desmet_govers(acc, theta, t.aspect(dem))
    m = float(t.m_exponent(theta).values[0, 0])  # 10 % plane: m = 0.5300 everywhere
    rows = np.arange(ny)
    segment = cell**m * ((rows + 1) ** (m + 1) - rows ** (m + 1)) / 22.13**m
    np.testing.assert_allclose(big_l.values, np.broadcast_to(segment[:, None], (ny, nx)), rtol=1e-5)
    mean = np.cumsum(big_l.values[:, 5]) / (rows + 1)
    np.testing.assert_allclose(mean, ((rows + 1) * cell / 22.13) ** m, rtol=1e-5)
    lam = (rows + 0.5) * cell
    ratio = big_l.values[:, 5] / ((m + 1) * (lam / 22.13) ** m)
    assert abs(ratio[-1] - 1) < 1e-4 and abs(ratio[10] - 1) < 1e-3


def test_desmet_govers_dask_and_kinds():
    dem = projected(t.fill_depressions(rough_dem(9)))
    acc = t.flow_accumulation(t.flow_direction(dem, routing="mfd"))
    theta, asp = t.slope(dem), t.aspect(dem)
    eager = t.l_factor_desmet_govers(acc, theta, asp)
    assert eager.name == "l_factor" and eager.dtype == np.float32 and "Desmet" in eager.attrs["references"]
    lazy = t.l_factor_desmet_govers(acc.chunk(17), theta.chunk(17), asp.chunk(17))
    assert lazy.chunks is not None
    np.testing.assert_array_equal(lazy.values, eager.values)
    valid = ~np.isnan(dem.values)
    assert (eager.values[valid] > 0).all()


# --- bad input --------------------------------------------------------------------------------

def test_bad_inputs():
    z = tilted(5, 5, 10.0, 180.0)
    with pytest.raises(UnknownCodeError, match="routing"):
        t.flow_direction(z, routing="rho8", cellsize=10.0)
    with pytest.raises(UnknownCodeError, match="mfd_weights"):
        t.flow_direction(z, routing="mfd", mfd_weights="tarboton", cellsize=10.0)
    for p in (0.0, -1.0, np.nan, "1"):
        with pytest.raises(InputError, match="exponent"):
            t.flow_direction(z, routing="mfd", exponent=p, cellsize=10.0)
    with pytest.raises(InputError, match="loop"):  # two cells draining into each other
        t.flow_accumulation(np.array([[0.0, np.pi]], dtype=np.float32))
    loop = np.zeros((8, 1, 2), dtype=np.float32)
    loop[0, 0, 0] = loop[4, 0, 1] = 1.0
    with pytest.raises(InputError, match="loop"):
        t.flow_accumulation(loop)
    with pytest.raises(InputError, match="D-infinity angles outside"):  # D8 codes stored as float
        t.flow_accumulation(np.array([[1.0, 16.0, 4.0]]))
    with pytest.raises(InputError, match="sum to 1"):
        t.flow_accumulation(np.full((8, 2, 2), 0.5, dtype=np.float32))
    with pytest.raises(UnknownCodeError, match="output"):
        t.flow_accumulation(np.array([[1, 0]], dtype=np.uint8), output="volume")
    with pytest.raises(InputError, match="quinn"):
        t.flow_accumulation(np.array([[1, 0]], dtype=np.uint8), output="sca", contour_width="quinn")
    with pytest.raises(InputError, match="aspect"):
        t.l_factor_desmet_govers(100.0, 5.0, cellsize=10.0)
    with pytest.raises(InputError, match="cellsize"):
        t.l_factor_desmet_govers(np.array([100.0]), 5.0, x=1.0)
    with pytest.raises(InputError, match="x must be"):
        t.l_factor_desmet_govers(100.0, 5.0, x=2.0, cellsize=10.0)


@pytest.mark.parametrize(("a_in", "cell", "aspect_deg", "expected"), [
    (0.0, 30.0, 180.0, 1.16431),     # oracle row 6: top cell, D = 30 m, m = 0.5, x = 1
    (8100.0, 30.0, 180.0, 5.38236),  # oracle row 7: A_in = 8100 m²
    (0.0, 10.0, 45.0, 0.56526),      # oracle row 8: diagonal, x = √2
])
def test_desmet_govers_oracle_rows(a_in, cell, aspect_deg, expected):
    upslope = a_in + cell * cell  # the function takes the area with the cell included
    value = t.l_factor_desmet_govers(upslope, aspect=aspect_deg, m=0.5, cellsize=cell)
    assert value == pytest.approx(expected, abs=1e-5)
