"""The plan's decision models: what soil-loss maps are turned into for decisions.

Each model is built on the library's factors, terrain routing and tables, with its rules as
parameters or data tables (``erosion/data/plan/``), and says which rules are established and
which are a documented convention of ours (``docs/decisions/``):

- :mod:`~erosion.plan.scenario`: measures applied to areas, the soil loss avoided and the change
  in classes and conservation rate per unit ("soil loss reduced", "area newly treated");
- :mod:`~erosion.plan.urgency`: treatment urgency per unit and a ranked table; the suitability
  of measures by slope, land use and region from a replaceable rule table;
- :mod:`~erosion.plan.events`: soil loss, classes, hot spots and warning levels of one extreme
  rainfall event or forecast;
- :mod:`~erosion.plan.disturbance`: disturbance patches from polygons or two cover rasters, their
  soil-loss risk under disturbed conditions, their relation to the permitted project areas and
  a risk grade, by county;
- :mod:`~erosion.plan.checkdams`: check-dam catchments, sediment inflow, years to fill and flood
  safety under a design storm.
"""

MODELS = ("scenario", "urgency", "events", "disturbance", "checkdams")


def __getattr__(name: str):
    """The models are imported on first use (``erosion.plan.events`` …)."""
    if name in MODELS:
        import importlib

        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
