"""The ``.erosion`` accessor on xarray DataArrays and Datasets.

A thin layer over the functions of erosion: every method calls one function with the
DataArray (or the Dataset's factor variables) as its first arguments and passes every
keyword on unchanged, so ``dem.erosion.ls_factor(m=0.4)`` is ``erosion.factors.ls_factor(dem,
m=0.4)``, same result, same attributes, same laziness. Registered when ``erosion`` is imported
(docs/decisions/0028-accessor-and-citations.md).
"""

from __future__ import annotations

import xarray as xr

from . import model
from .errors import InputError

__all__ = ["CSLE_VARIABLES", "RUSLE_VARIABLES", "DataArrayAccessor", "DatasetAccessor"]

# keyword of erosion.csle / erosion.rusle -> vocabulary name of the variable that holds it
CSLE_VARIABLES = {**model.CSLE_VARIABLES, "cropland": "cropland"}
RUSLE_VARIABLES = dict(model.RUSLE_VARIABLES)
_REQUIRED = ("R", "K", "LS")


@xr.register_dataarray_accessor("erosion")
class DataArrayAccessor:
    """``da.erosion``: erosion's functions applied to this DataArray (a DEM, a soil-loss map, ...)."""

    def __init__(self, da: xr.DataArray):
        self._obj = da

    # classes, tables, files, figures, citations

    def classify(self, **kwargs):
        """SL 190-2007 intensity classes of this soil-loss map: :func:`erosion.classify` (same keywords)."""
        from .classification import classify

        return classify(self._obj, **kwargs)

    def aggregate(self, zones=None, **kwargs):
        """Table by unit of this class raster: :func:`erosion.aggregate` ``(self, zones, **kwargs)``."""
        from .aggregation import aggregate

        return aggregate(self._obj, zones, **kwargs)

    def write(self, path, **kwargs):
        """Write this DataArray to a GeoTIFF: :func:`erosion.write_raster` ``(self, path, **kwargs)``."""
        from .io import write_raster

        return write_raster(self._obj, path, **kwargs)

    def plot(self, **kwargs):
        """Map this DataArray (needs matplotlib): :func:`erosion.plot.class_map` for intensity classes
        (the output of :func:`erosion.classify`, also read back from a file; ``kind`` from the raster
        unless given), :func:`erosion.plot.factor_map` for anything else. Keywords go to that function;
        returns its Axes."""
        from . import plot
        from .vocabulary import get

        da = self._obj
        classes = get("erosion_intensity_class")
        if da.name == classes.name or da.attrs.get("long_name") == classes.long_name:  # also when read from a file
            kwargs.setdefault("kind", da.attrs.get("erosion_kind", "water"))
            return plot.class_map(da, **kwargs)
        return plot.factor_map(da, **kwargs)

    def cite(self, style: str = "text"):
        """The references of the methods behind this DataArray: :func:`erosion.cite` ``(self, style=style)``."""
        from .citation import cite

        return cite(self._obj, style=style)

    # terrain: erosion.factors.terrain with this DataArray as the DEM (flow directions for flow_accumulation)

    def slope(self, **kwargs):
        """Slope angle of this DEM: :func:`erosion.factors.terrain.slope` (same keywords)."""
        from .factors.terrain import slope

        return slope(self._obj, **kwargs)

    def aspect(self, **kwargs):
        """Aspect of this DEM: :func:`erosion.factors.terrain.aspect` (same keywords)."""
        from .factors.terrain import aspect

        return aspect(self._obj, **kwargs)

    def fill_depressions(self, **kwargs):
        """Depression-filled DEM: :func:`erosion.factors.terrain.fill_depressions` (same keywords)."""
        from .factors.terrain import fill_depressions

        return fill_depressions(self._obj, **kwargs)

    def breach_depressions(self, **kwargs):
        """Depression-breached DEM: :func:`erosion.factors.terrain.breach_depressions` (same keywords)."""
        from .factors.terrain import breach_depressions

        return breach_depressions(self._obj, **kwargs)

    def flow_direction(self, **kwargs):
        """Flow directions on this (filled) DEM: :func:`erosion.factors.terrain.flow_direction` (same keywords)."""
        from .factors.terrain import flow_direction

        return flow_direction(self._obj, **kwargs)

    def flow_accumulation(self, **kwargs):
        """Contributing area along these flow directions (this DataArray is the output of
        ``flow_direction``, not a DEM): :func:`erosion.factors.terrain.flow_accumulation` (same keywords)."""
        from .factors.terrain import flow_accumulation

        return flow_accumulation(self._obj, **kwargs)

    def slope_length(self, **kwargs):
        """Slope length on this (filled) DEM: :func:`erosion.factors.terrain.slope_length` (same keywords)."""
        from .factors.terrain import slope_length

        return slope_length(self._obj, **kwargs)

    def ls_factor(self, **kwargs):
        """Topographic factor LS of this DEM: :func:`erosion.factors.terrain.ls_factor` (same keywords)."""
        from .factors.terrain import ls_factor

        return ls_factor(self._obj, **kwargs)


@xr.register_dataset_accessor("erosion")
class DatasetAccessor:
    """``ds.erosion``: the soil-loss models over a Dataset that holds the factors as variables named
    as in the vocabulary (``rainfall_erosivity``, ``soil_erodibility``, ``ls_factor``, ...; the
    keyword names ``R``, ``K``, ``LS``, ... are accepted too)."""

    def __init__(self, ds: xr.Dataset):
        self._obj = ds

    def _factors(self, model: str, table: dict[str, str], kwargs: dict) -> dict:
        ds = self._obj
        found = {}
        for key, variable in table.items():
            if key in kwargs:
                continue  # keywords override variables
            present = [n for n in dict.fromkeys((variable, key)) if n in ds.data_vars]
            if len(present) == 2:
                raise InputError(f"ds.erosion.{model}: both {variable!r} and {key!r} are variables of the Dataset; "
                                 f"keep one, or pass {key}= explicitly")
            if present:
                found[key] = ds[present[0]]
        missing = [k for k in _REQUIRED if k not in found and k not in kwargs]
        if missing:
            expected = ", ".join(f"{table[k]!r} (or {k!r})" for k in missing)
            raise InputError(f"ds.erosion.{model}: the Dataset has no variable for {', '.join(missing)}: expected "
                             f"{expected}, or pass {', '.join(k + '=...' for k in missing)} as keywords. Variables found: "
                             f"{', '.join(map(repr, map(str, ds.data_vars))) or 'none'}")
        return {**found, **kwargs}

    def csle(self, **kwargs):
        """CSLE soil loss of the Dataset's factors: :func:`erosion.csle` with R, K, LS, B, E, T and
        ``cropland`` from the variables ``rainfall_erosivity``, ``soil_erodibility``, ``ls_factor``,
        ``biological_factor``, ``engineering_factor``, ``tillage_factor`` and ``cropland`` (B, E, T
        and cropland optional); keywords (the same as :func:`erosion.csle`) override variables.

        Raises :class:`~erosion.errors.InputError` naming the variables found when R, K or LS is missing.
        """
        return model.csle(**self._factors("csle", CSLE_VARIABLES, kwargs))

    def rusle(self, **kwargs):
        """RUSLE soil loss of the Dataset's factors: :func:`erosion.rusle` with R, K, LS, C, P from the
        variables ``rainfall_erosivity``, ``soil_erodibility``, ``ls_factor``,
        ``cover_management_factor`` and ``support_practice_factor`` (C, P optional); keywords (the same
        as :func:`erosion.rusle`) override variables."""
        return model.rusle(**self._factors("rusle", RUSLE_VARIABLES, kwargs))

    def classify(self, **kwargs):
        """Intensity classes of the Dataset's ``soil_loss`` variable (or ``A``): :func:`erosion.classify`
        (same keywords)."""
        from .classification import classify

        ds = self._obj
        name = next((n for n in ("soil_loss", "A") if n in ds.data_vars), None)
        if name is None:
            raise InputError("ds.erosion.classify: the Dataset has no 'soil_loss' (or 'A') variable; variables found: "
                             f"{', '.join(map(repr, map(str, ds.data_vars))) or 'none'}. Compute it with "
                             "ds.erosion.csle() first, or call erosion.classify on the DataArray")
        return classify(ds[name], **kwargs)

    def cite(self, style: str = "text"):
        """The references of the methods behind every variable: :func:`erosion.cite` ``(self, style=style)``."""
        from .citation import cite

        return cite(self._obj, style=style)
