"""Defection Explained: the book's data loader, named facts, tables and charts.

    from defection import data, charts
    cases = data.cases()
    charts.ch1_origins_over_time(cases)

Submodules load on first use, so ``import defection.data`` (or ``defection.paths``)
does not import Altair and vl-convert.
"""
from __future__ import annotations

import importlib

from .paths import data_dir

__all__ = ["data", "charts", "facts", "tables", "data_dir", "CHART_MIME"]
__version__ = "0.5.0"
#: A chart as data (``charts.render_chart``): the mime type of the book's own that the chart
#: renderer emits and the book's Sphinx extension renders. Here, so reading it imports no Altair.
CHART_MIME = "application/vnd.defection.chart+json"


def __getattr__(name: str):
    if name in ("data", "charts", "facts", "tables"):
        module = importlib.import_module(f".{name}", __name__)
        globals()[name] = module
        return module
    raise AttributeError(f"module 'defection' has no attribute {name!r}")
