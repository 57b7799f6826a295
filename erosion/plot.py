"""Maps and charts of erosion results with matplotlib (``pip install "erosion[plot]"``).

Five functions, each drawing on one matplotlib Axes and returning it; none calls ``show()``
or writes a file (save with ``ax.figure.savefig(...)``):

- :func:`class_map`: SL 190-2007 intensity classes (0 no data, 1 slight … 6 severe);
- :func:`factor_map`: any factor or soil-loss raster with a "long_name (units)" colour bar;
- :func:`loss_histogram`: area-weighted histogram of the erosion modulus with the class boundaries;
- :func:`class_area_bars`: eroded area by class per unit from an :func:`erosion.aggregate` table;
- :func:`conservation_map`: choropleth of the soil and water conservation rate by unit.

Class colours and labels: docs/decisions/0027-plot-colours-and-labels.md. Plotting is an
explicit request, so a dask-backed input is computed here, but only what is drawn: a raster
more than about 2000 cells across is strided before it is computed.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import xarray as xr

try:
    import matplotlib
    import matplotlib.pyplot as plt
    from matplotlib import font_manager
    from matplotlib.colors import BoundaryNorm, ListedColormap, LogNorm, Normalize
    from matplotlib.patches import Patch
    from matplotlib.ticker import MaxNLocator
except ImportError as err:  # pragma: no cover - exercised only without matplotlib
    raise ImportError('erosion.plot needs matplotlib: pip install "erosion[plot]"') from err

from ._array import squeeze_bands
from .aggregation import CLASS_COLUMNS
from .classification import _scheme, class_names, soil_loss_input, tolerable_loss
from .errors import InputError

__all__ = [
    "CLASS_COLOURS",
    "CJKFontWarning",
    "class_area_bars",
    "class_map",
    "conservation_map",
    "factor_map",
    "loss_histogram",
]

#: Colours of classes 1 slight … 6 severe (index 0 = class 1); class 0, no data, is transparent.
#: Slight (within the tolerable loss) is a pale green, light … severe follow ColorBrewer YlOrRd
#: (Brewer & Harrower 2003): docs/decisions/0027-plot-colours-and-labels.md.
CLASS_COLOURS = ("#c7e9c0", "#ffffb2", "#fecc5c", "#fd8d3c", "#f03b20", "#bd0026")

#: Pixels across above which a raster is strided before it is computed and drawn.
MAX_PIXELS = 2000

#: Variables drawn on a log colour scale by default (vocabulary names and the run layer's names).
_LOG_VARIABLES = {"ls_factor", "soil_loss", "wind_soil_loss", "potential_wind_soil_loss", "LS", "A"}

#: Families with CJK glyphs, tried in this order for ``lang="zh"``.
CJK_FAMILIES = ("Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "Source Han Sans CN", "SimHei",
                "Microsoft YaHei", "PingFang SC", "WenQuanYi Zen Hei", "WenQuanYi Micro Hei", "Noto Sans CJK JP",
                "Source Han Serif SC", "Noto Serif CJK SC", "SimSun", "AR PL UMing CN", "Droid Sans Fallback")

_TEXT = {
    "en": {"classes": "intensity class", "modulus": "soil erosion modulus (t·km⁻²·a⁻¹)", "area": "area (km²)",
           "eroded": "eroded area (km²)", "share": "share of land (%)", "unit": "unit", "lon": "longitude (°)",
           "lat": "latitude (°)", "tolerable": "tolerable"},
    "zh": {"classes": "侵蚀强度", "modulus": "土壤侵蚀模数 (t·km⁻²·a⁻¹)", "area": "面积 (km²)",
           "eroded": "水土流失面积 (km²)", "share": "占土地面积 (%)", "unit": "单元", "lon": "经度 (°)",
           "lat": "纬度 (°)", "tolerable": "容许流失量"},
}


class CJKFontWarning(UserWarning):
    """No font with Chinese glyphs was found for ``lang="zh"``."""


# ----------------------------------------------------------------------------- helpers

def _lang(lang: str) -> str:
    if lang not in _TEXT:
        raise InputError(f"lang must be 'en' or 'zh', not {lang!r}")
    return lang


def _has_cjk(path: str) -> bool:
    try:
        from matplotlib.ft2font import FT2Font

        return ord("侵") in FT2Font(path).get_charmap()
    except Exception:  # an unreadable font file is no candidate
        return False


def _mplfonts_files() -> list[str]:
    """Font files bundled with the optional ``mplfonts`` package (not a dependency)."""
    try:
        import mplfonts
    except ImportError:
        return []
    from pathlib import Path

    root = Path(mplfonts.__file__).parent
    return [str(p) for p in root.rglob("*") if p.suffix.lower() in (".ttf", ".otf", ".ttc")]


def _cjk_font():
    """FontProperties of an installed font with CJK glyphs, or None.

    Tried in order: the families of ``rcParams["font.sans-serif"]`` (the user's choice),
    :data:`CJK_FAMILIES`, any other installed font whose name says CJK/SC/Hei, then the fonts
    bundled in ``mplfonts`` when that package is installed.
    """
    by_name: dict[str, str] = {}
    for entry in font_manager.fontManager.ttflist:
        by_name.setdefault(entry.name, entry.fname)
    wanted = [*matplotlib.rcParams["font.sans-serif"], *CJK_FAMILIES]
    wanted += [n for n in by_name if any(k in n for k in ("CJK", " SC", "Hei", "Han Sans", "YaHei"))]
    for name in dict.fromkeys(wanted):
        if name in by_name and _has_cjk(by_name[name]):
            return font_manager.FontProperties(fname=by_name[name])
    for path in _mplfonts_files():
        if _has_cjk(path):
            return font_manager.FontProperties(fname=path)
    return None


def _font(lang: str):
    """Font for labels in ``lang``: None for English; a CJK font, or None with one warning, for zh."""
    if lang != "zh":
        return None
    font = _cjk_font()
    if font is None:
        warnings.warn(
            "erosion.plot: no font with Chinese glyphs is installed, so the zh labels will show as boxes. "
            "Install a CJK font (e.g. Noto Sans CJK SC, WenQuanYi Zen Hei) or `pip install mplfonts`, "
            'or set matplotlib.rcParams["font.sans-serif"] to a font that has them.',
            CJKFontWarning, stacklevel=3)
    return font


def _set_font(texts, font) -> None:
    if font is not None:
        for t in texts:
            t.set_fontproperties(font)


def _axes(ax, figsize=(8, 6)):
    if ax is None:
        _, ax = plt.subplots(figsize=figsize)
    return ax


def _raster(da, arg: str) -> xr.DataArray:
    if not isinstance(da, xr.DataArray):
        arr = np.asarray(da)
        if arr.ndim != 2:
            raise InputError(f"{arg} must be a 2-D raster, got shape {arr.shape}")
        da = xr.DataArray(arr, dims=("y", "x"))
    da = squeeze_bands(da, arg)
    if da.ndim != 2:
        raise InputError(f"{arg} must be a 2-D raster (y, x); got dims {da.dims}")
    return da


def _strided(da: xr.DataArray) -> tuple[np.ndarray, int]:
    """The values of ``da`` strided to at most :data:`MAX_PIXELS` across (computed), and the step."""
    step = max(1, math.ceil(max(da.shape) / MAX_PIXELS))
    if step > 1:
        da = da.isel({da.dims[0]: slice(None, None, step), da.dims[1]: slice(None, None, step)})
    return np.asarray(da.values), step


def _is_geographic(da: xr.DataArray) -> bool:
    try:
        crs = da.rio.crs
    except Exception:  # no usable CRS: decide by the coordinate names
        crs = None
    if crs is not None:
        return bool(crs.is_geographic)
    return str(da.dims[-1]).lower() in ("lon", "longitude") and str(da.dims[-2]).lower() in ("lat", "latitude")


def _coord_label(da: xr.DataArray, dim: str, fallback: str) -> str:
    if dim not in da.coords:
        return f"{dim} (cells)"
    attrs = da.coords[dim].attrs
    name = attrs.get("long_name") or attrs.get("standard_name")
    units = attrs.get("units")
    if name and units:
        return f"{name} ({units})"
    return fallback


def _draw_raster(ax, da: xr.DataArray, values: np.ndarray, lang: str, font, **kwargs):
    """imshow ``values`` (strided from ``da``) over ``da``'s true extent, axes labelled from coordinates."""
    ydim, xdim = da.dims
    ny, nx = da.shape
    if xdim in da.coords and ydim in da.coords and nx > 1 and ny > 1:
        x, y = np.asarray(da[xdim], dtype=np.float64), np.asarray(da[ydim], dtype=np.float64)
        dx, dy = (x[-1] - x[0]) / (nx - 1), (y[-1] - y[0]) / (ny - 1)
        left, right = x[0] - dx / 2, x[-1] + dx / 2
        first, last = y[0] - dy / 2, y[-1] + dy / 2
        # row 0 is drawn at `first`: origin "upper" puts it at the top, so give imshow (bottom, top)
        origin = "upper" if dy < 0 else "lower"
        extent = (left, right, min(first, last), max(first, last))
        shown = ax.imshow(values, extent=extent, origin=origin, interpolation="nearest", **kwargs)
        text = _TEXT[lang]
        if _is_geographic(da):
            xl, yl = _coord_label(da, xdim, text["lon"]), _coord_label(da, ydim, text["lat"])
            ax.set_aspect(1 / max(np.cos(np.radians((extent[2] + extent[3]) / 2)), 1e-6))
            ax.xaxis.set_major_locator(MaxNLocator(nbins=5))  # degrees with decimals crowd in side-by-side maps
        else:
            unit = ""
            try:
                crs = da.rio.crs
                unit = f" ({crs.linear_units})" if crs is not None and crs.linear_units else ""
            except Exception:  # no CRS: coordinates without stated units
                pass
            xl, yl = _coord_label(da, xdim, f"{xdim}{unit}"), _coord_label(da, ydim, f"{ydim}{unit}")
            ax.set_aspect("equal")
            ax.ticklabel_format(useOffset=False, style="plain")
    else:
        shown = ax.imshow(values, interpolation="nearest", **kwargs)
        xl, yl = f"{xdim} (cells)", f"{ydim} (cells)"
    _set_font([ax.set_xlabel(xl), ax.set_ylabel(yl)], font)
    return shown


def _title(ax, title, font) -> None:
    if title is not None:
        _set_font([ax.set_title(title)], font)


def _class_labels(kind: str, lang: str) -> list[str]:
    """Labels of classes 1..6 in ``lang`` (English names with spaces)."""
    names = class_names(kind, language=lang)[1:]
    return [n.replace("_", " ") for n in names]


def _ranges(kind: str, tolerable) -> list[str]:
    """Modulus range of classes 1..6, e.g. "< 500", "500–2 500", "> 15 000"."""
    scheme = _scheme(kind)
    t = tolerable if tolerable is not None else scheme.get("tolerable")  # wind: the national 200
    t_txt = "T" if t is None else f"{float(t):,.0f}".replace(",", " ")
    b = [f"{v:,.0f}".replace(",", " ") for v in scheme["thresholds"]]
    return [f"< {t_txt}", f"{t_txt}–{b[0]}", f"{b[0]}–{b[1]}", f"{b[1]}–{b[2]}", f"{b[2]}–{b[3]}", f"> {b[3]}"]


# ----------------------------------------------------------------------------- public

def class_map(classes, *, kind: str = "water", lang: str = "en", ax=None, legend: bool = True, title=None,
              ranges: bool = False):
    """Map of SL 190-2007 soil-erosion intensity classes.

    Parameters
    ----------
    classes
        Class codes 0 no data, 1 slight … 6 severe (the output of :func:`erosion.classify`),
        a 2-D DataArray (NumPy or dask) or array. Class 0 is transparent.
    kind
        ``"water"`` or ``"wind"``: the scheme whose class names label the legend.
    lang
        ``"en"`` (slight, light, moderate, intense, very intense, severe) or ``"zh"``
        (微度 轻度 中度 强烈 极强烈 剧烈; needs a font with CJK glyphs, else one
        :class:`CJKFontWarning`).
    ax
        Axes to draw on (default: a new figure).
    legend
        Draw the legend of the six classes in :data:`CLASS_COLOURS`.
    title
        Axes title.
    ranges
        Add each class's modulus range in t·km⁻²·a⁻¹ to its legend label (slight "< T" with
        T the ``tolerable_soil_loss`` attribute when there is one).

    Returns
    -------
    matplotlib.axes.Axes

    Reference: SL 190-2007 土壤侵蚀分类分级标准 (MWR); colours: docs/decisions/0027-plot-colours-and-labels.md.
    """
    lang = _lang(lang)
    _scheme(kind)
    font = _font(lang)
    da = _raster(classes, "classes")
    values, _ = _strided(da)
    if values.dtype.kind == "f":
        values = np.where(np.isfinite(values), values, 0)
    shown = np.ma.masked_where((values < 1) | (values > 6), values)
    ax = _axes(ax)
    _draw_raster(ax, da, shown, lang, font, cmap=ListedColormap(CLASS_COLOURS), norm=BoundaryNorm(np.arange(0.5, 7.5), 6))
    if legend:
        labels = _class_labels(kind, lang)
        if ranges:
            same = da.attrs.get("erosion_kind", kind) == kind  # T_tol of these classes, if classified as `kind`
            tol = da.attrs.get("tolerable_soil_loss") if same else None
            labels = [f"{n} ({r})" for n, r in zip(labels, _ranges(kind, tol), strict=True)]
        handles = [Patch(facecolor=c, edgecolor="0.5", label=n) for c, n in zip(CLASS_COLOURS, labels, strict=True)]
        heading = _TEXT[lang]["classes"] + (" (t·km⁻²·a⁻¹)" if ranges else "")
        leg = ax.legend(handles=handles, title=heading, loc="upper left", bbox_to_anchor=(1.02, 1.0), frameon=False)
        _set_font([*leg.get_texts(), leg.get_title()], font)
    _title(ax, title, font)
    return ax


def _variable(da: xr.DataArray) -> str | None:
    """The vocabulary name of ``da``: its name, else the variable whose long_name it carries."""
    if da.name is not None and str(da.name) in _LOG_VARIABLES:
        return str(da.name)
    from . import vocabulary

    long_name = da.attrs.get("long_name")
    if long_name:
        for name in _LOG_VARIABLES:
            if name in vocabulary.names() and vocabulary.get(name).long_name == long_name:
                return name
    return None if da.name is None else str(da.name)


def factor_map(da, *, ax=None, log=None, cmap=None, title=None, vmin=None, vmax=None):
    """Map of any factor or soil-loss raster with a colour bar labelled "long_name (units)".

    Parameters
    ----------
    da
        2-D DataArray (NumPy or dask; strided to about 2000 cells across before it is computed).
    log
        Log colour scale (``LogNorm``). Default: on for LS and soil loss (``ls_factor``,
        ``soil_loss``, ``wind_soil_loss``, ``potential_wind_soil_loss``, or the run layer's
        ``LS`` and ``A``), off otherwise. With a log scale, zeros and values below
        10⁻⁶·max take the lowest colour; NaN is transparent.
    cmap
        Colormap (default ``magma_r`` on a log scale, ``viridis`` otherwise).
    title
        Axes title.
    vmin, vmax
        Limits of the colour scale (default: the data's range), e.g. to put two maps on one
        scale; values outside take the end colours and the colour bar shows an arrow.

    Returns
    -------
    matplotlib.axes.Axes
    """
    da = _raster(da, "da")
    name = _variable(da)
    if vmin is not None and vmax is not None and not vmin < vmax:
        raise ValueError(f"vmin ({vmin}) must be below vmax ({vmax})")
    if log is None:
        log = name in _LOG_VARIABLES
    values, _ = _strided(da)
    values = np.asarray(values, dtype=np.float64)
    finite = np.isfinite(values)
    raw = values[finite]
    norm, low, high = None, vmin, vmax
    if log:
        if low is not None and low <= 0:
            raise ValueError(f"a log colour scale needs vmin > 0, got {low}; pass log=False for a linear scale")
        positive = raw[raw > 0]
        if positive.size or (low is not None and high is not None):
            high = float(positive.max()) if high is None else float(high)
            low = max(float(positive.min()), high * 1e-6) if low is None else float(low)
            if low == high:
                low = high / 10
            values = np.where(finite, np.maximum(values, low), np.nan)
            norm = LogNorm(vmin=low, vmax=high)
        else:  # nothing positive: a log scale has nothing to show
            log = False
    if norm is None and (raw.size or (low is not None and high is not None)):
        norm = Normalize(vmin=float(raw.min()) if low is None else float(low),
                         vmax=float(raw.max()) if high is None else float(high))
    below = norm is not None and bool(np.any(raw < norm.vmin))
    above = norm is not None and bool(np.any(raw > norm.vmax))
    extend = {(False, False): "neither", (True, False): "min", (False, True): "max", (True, True): "both"}[below, above]
    ax = _axes(ax)
    shown = _draw_raster(ax, da, np.ma.masked_invalid(values), "en", None,
                         cmap=cmap or ("magma_r" if log else "viridis"), norm=norm)
    long_name = da.attrs.get("long_name") or (name or "value")
    units = da.attrs.get("units")
    if units is None:
        label = str(long_name)
    else:
        label = f"{long_name} ({'dimensionless' if str(units) == '1' else units})"
    ax.figure.colorbar(shown, ax=ax, label=label, extend=extend)
    _title(ax, title, None)
    return ax


def _modulus(A: xr.DataArray) -> tuple[xr.DataArray, str]:
    """The erosion modulus (t km-2 a-1) of a soil-loss raster, and the scheme kind its name implies."""
    kind = "wind" if str(A.name) in ("wind_soil_loss", "potential_wind_soil_loss") else "water"
    a, scale = soil_loss_input(A)
    return a * scale, kind


def loss_histogram(A, *, ax=None, bins: int = 60, tolerable=None, lang: str = "en"):
    """Area-weighted histogram of the soil erosion modulus M = 100·A on a log axis.

    Each cell counts with its true area (:func:`erosion.cell_area`), so the bars (km²) sum to
    the land area of the cells with data (finite, non-negative A). Bins are logarithmic from
    the smallest positive modulus (at least 10⁻⁶ of the largest) to the largest; cells below
    the first edge, zeros included, count in the first bar. Bars take the colour of the class
    of their lower edge (:data:`CLASS_COLOURS`, no legend: the boundaries say where each class
    lies); the boundaries T_tol, 2500, 5000, 8000 and 15 000 t·km⁻²·a⁻¹ are marked
    (the x axis always spans them).

    Parameters
    ----------
    A
        Soil loss, a 2-D DataArray with ``units`` (t·hm⁻²·a⁻¹, or t·km⁻²·a⁻¹ for the modulus);
        NumPy or dask (computed here: every cell counts, nothing is strided).
    bins
        Number of logarithmic bins.
    tolerable
        Tolerable soil loss T_tol in t·km⁻²·a⁻¹, a number or a region name (see
        :func:`erosion.classification.tolerable_loss`). **Required for water**, as in
        :func:`erosion.classify`; a wind soil loss (``wind_soil_loss``) uses the national 200.
    lang
        ``"en"`` or ``"zh"`` axis labels.

    Returns
    -------
    matplotlib.axes.Axes

    Reference: SL 190-2007 土壤侵蚀分类分级标准 (MWR), class boundaries.
    """
    from .grid import cell_area

    lang = _lang(lang)
    if not isinstance(A, xr.DataArray):
        raise InputError("loss_histogram needs a DataArray with coordinates and units: cell areas come from its grid")
    A = squeeze_bands(A, "A")
    M, kind = _modulus(A)
    fixed = _scheme(kind).get("tolerable")
    if tolerable is None:
        if fixed is None:
            raise InputError("loss_histogram needs the tolerable soil loss T_tol in t km-2 a-1 for water erosion "
                             "(it varies by region: 200, 500 or 1000, SL 190-2007); pass a number or a region name")
        tolerable = fixed
    if isinstance(tolerable, str):
        tolerable = tolerable_loss(tolerable)
    if np.ndim(tolerable) != 0 or isinstance(tolerable, xr.DataArray):
        raise InputError("tolerable must be one number or region name here (the histogram marks one boundary)")
    tolerable = float(tolerable)
    font = _font(lang)

    area = cell_area(M) / 1e6
    valid = np.isfinite(M) & (M >= 0)
    m = M.where(valid)
    if M.chunks is not None:
        import dask

        lo_pos, hi = dask.compute(m.where(m > 0).min(), m.max())
    else:
        lo_pos, hi = m.where(m > 0).min(), m.max()
    hi, lo_pos = float(hi), float(lo_pos)
    if not np.isfinite(hi):
        raise InputError("A has no cell with data (every value is NaN or negative)")
    if not np.isfinite(lo_pos):  # only zeros
        lo_pos, hi = 1.0, 10.0
    lo = max(lo_pos, hi * 1e-6)
    if hi <= lo:
        hi = lo * 10
    edges = np.logspace(np.log10(lo), np.log10(hi), int(bins) + 1)
    clipped = m.clip(min=edges[0], max=edges[-1])
    if M.chunks is not None:
        import dask.array as dsa

        weights = area.where(valid, 0.0).data
        data = clipped.fillna(edges[0]).data
        counts, _ = dsa.histogram(data, bins=edges, weights=weights)
        counts = np.asarray(counts.compute())
    else:
        keep = np.asarray(valid)
        counts, _ = np.histogram(np.asarray(clipped)[keep], bins=edges, weights=np.asarray(area)[keep])

    bounds = [tolerable, *_scheme(kind)["thresholds"]]
    cls = np.searchsorted(np.asarray(bounds), edges[:-1], side="right")  # 0 slight … 5 severe
    ax = _axes(ax, figsize=(8, 4.5))
    ax.bar(edges[:-1], counts, width=np.diff(edges), align="edge", color=[CLASS_COLOURS[c] for c in cls],
           edgecolor="0.4", linewidth=0.3)
    ax.set_xscale("log")
    ax.set_xlim(min(edges[0], bounds[0] / 1.5), max(edges[-1], bounds[-1] * 1.5))  # every boundary in view
    for i, b in enumerate(bounds):
        ax.axvline(b, color="0.2", linestyle="--", linewidth=0.8)
        label = f"{_TEXT[lang]['tolerable']} {b:g}" if i == 0 else f"{b:g}"
        _set_font([ax.text(b, 1.0, label, transform=ax.get_xaxis_transform(), rotation=90, ha="right", va="top",
                           fontsize=7)], font)
    _set_font([ax.set_xlabel(_TEXT[lang]["modulus"]), ax.set_ylabel(_TEXT[lang]["area"])], font)
    return ax


def class_area_bars(table: pd.DataFrame, *, ax=None, lang: str = "en", percent: bool = False):
    """Stacked bars of the eroded area by intensity class (light … severe) for every unit.

    Parameters
    ----------
    table
        A table of :func:`erosion.aggregate` (columns :data:`erosion.aggregation.COLUMNS`,
        index = unit ids). Slight is not erosion (below T_tol) and is not drawn. Units are
        labelled by the column ``name_en`` (``name_zh`` for zh), else ``name``, else by id
        (by id also when the names are Chinese, the labels English and no CJK font is installed).
    lang
        ``"en"`` or ``"zh"`` labels.
    percent
        Bars as a share of each unit's land area (100·class area / ``land_km2``) instead of km².

    Returns
    -------
    matplotlib.axes.Axes
    """
    lang = _lang(lang)
    columns = CLASS_COLUMNS[1:]
    missing = [c for c in columns if c not in table.columns]
    if missing or (percent and "land_km2" not in table.columns):
        raise InputError(f"table lacks columns {missing or ['land_km2']}: pass a table of erosion.aggregate")
    font = _font(lang)
    values = table[columns].astype(np.float64)
    if percent:
        land = table["land_km2"].astype(np.float64).where(table["land_km2"] > 0)
        values = values.div(land, axis=0) * 100.0
    ids = [str(i) for i in table.index]
    name_col = next((c for c in (f"name_{lang}", "name") if c in table.columns), None)
    labels = table[name_col].astype(str).tolist() if name_col else ids
    tick_font = font
    if lang == "en" and any(ord(ch) >= 0x2E80 for label in labels for ch in label):  # Chinese names in an en chart
        tick_font = _cjk_font()
        if tick_font is None:  # no glyphs for them: label by id rather than draw boxes
            labels = ids
    ax = _axes(ax, figsize=(max(6.0, 0.35 * len(table) + 2), 4.5))
    pos = np.arange(len(table))
    bottom = np.zeros(len(table))
    for colour, column, label in zip(CLASS_COLOURS[1:], columns, _class_labels("water", lang)[1:], strict=True):
        h = values[column].fillna(0.0).to_numpy()
        ax.bar(pos, h, bottom=bottom, color=colour, edgecolor="0.4", linewidth=0.3, label=label)
        bottom += h
    ax.set_xticks(pos, labels, rotation=90 if len(table) > 8 else 0)
    pad = max(0.0, (3 - len(table)) / 2)  # one or two units: bars of the usual width, not the whole axes
    ax.set_xlim(-0.6 - pad, len(table) - 0.4 + pad)
    _set_font(ax.get_xticklabels(), tick_font)
    _set_font([ax.set_xlabel(_TEXT[lang]["unit"]), ax.set_ylabel(_TEXT[lang]["share" if percent else "eroded"])], font)
    leg = ax.legend(title=_TEXT[lang]["classes"], loc="upper left", bbox_to_anchor=(1.02, 1.0), frameon=False)
    _set_font([*leg.get_texts(), leg.get_title()], font)
    return ax


def conservation_map(table: pd.DataFrame, polygons, *, id_column: str, ax=None, column: str = "conservation_rate_pct"):
    """Choropleth of the soil and water conservation rate by unit.

    The rate is 100·(land − eroded)/land (:func:`erosion.aggregate`). Units of ``polygons``
    with no row in ``table`` (or a NaN rate) are drawn hatched grey.

    Parameters
    ----------
    table
        A table of :func:`erosion.aggregate` indexed by unit id.
    polygons
        GeoDataFrame of the units, joined to the table on ``id_column`` = the table's index.
    column
        Column of ``table`` to draw.

    Returns
    -------
    matplotlib.axes.Axes
    """
    if not (hasattr(polygons, "geometry") and hasattr(polygons, "crs")):
        raise InputError("polygons must be a GeoDataFrame (pip install \"erosion[vector]\")")
    if id_column not in polygons.columns:
        raise InputError(f"polygons have no column {id_column!r}; columns: {list(polygons.columns)}")
    if column not in table.columns:
        raise InputError(f"table has no column {column!r}; columns: {list(table.columns)}")
    rates = table[column]
    ids = polygons[id_column]
    if ids.dtype != rates.index.dtype:
        numeric = pd.api.types.is_numeric_dtype(ids) and pd.api.types.is_numeric_dtype(rates.index)
        cast = np.float64 if numeric else str  # int32 against int64: as numbers; "3" against 3: as text
        ids, rates = ids.astype(cast), rates.set_axis(rates.index.astype(cast))
    joined = polygons.assign(_rate=ids.map(rates).to_numpy(dtype=np.float64))
    if joined["_rate"].notna().sum() == 0:
        raise InputError(f"no polygon's {id_column!r} matches the table's index (e.g. polygons "
                         f"{list(polygons[id_column][:3])}, table {list(table.index[:3])})")
    ax = _axes(ax)
    joined.plot(column="_rate", ax=ax, cmap="RdYlGn", edgecolor="0.3", linewidth=0.4, legend=True,
                legend_kwds={"label": "conservation rate (%)" if column == "conservation_rate_pct" else column},
                missing_kwds={"color": "0.85", "hatch": "//", "edgecolor": "0.5", "label": "no data"})
    geographic = polygons.crs is not None and polygons.crs.is_geographic
    ax.set_xlabel(_TEXT["en"]["lon"] if geographic else "x")
    ax.set_ylabel(_TEXT["en"]["lat"] if geographic else "y")
    return ax
