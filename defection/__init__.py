"""Defection Explained: the book's data loader and charts.

    from defection import data, charts
    cases = data.cases()
    charts.ch1_origins_over_time(cases)
"""
from . import charts, data
from .paths import data_dir

__all__ = ["data", "charts", "data_dir"]
__version__ = "0.1.0"
