"""The shared dataset: every table validates against data/datapackage.json."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pandas as pd
import pytest

from defection import data
from defection.data import DataError

from conftest import ROOT

DATA = ROOT / "data"
PACKAGE = json.loads((DATA / "datapackage.json").read_text())
TABLES = [r["name"] for r in PACKAGE["resources"]]


@pytest.mark.parametrize("name", TABLES)
def test_every_table_loads_typed(name):
    frame = data.load(name)
    fields = next(r for r in PACKAGE["resources"] if r["name"] == name)["schema"]["fields"]
    assert list(frame.columns) == [f["name"] for f in fields]
    for f in fields:
        if f["type"] == "integer":
            assert str(frame[f["name"]].dtype) == "Int64", f["name"]
        if f["type"] == "date":
            assert pd.api.types.is_datetime64_any_dtype(frame[f["name"]]), f["name"]


def test_frictionless_validates_the_package():
    exe = shutil.which("frictionless", path=str(ROOT / ".venv" / "bin")) or shutil.which("frictionless")
    assert exe, "frictionless is installed by requirements.txt"
    result = subprocess.run([exe, "validate", "--json", str(DATA / "datapackage.json")],
                            capture_output=True, text=True, cwd=DATA)
    report = json.loads(result.stdout)
    errors = [e["message"] for t in report.get("tasks", []) for e in t.get("errors", [])][:10]
    assert report["valid"], errors


def test_cases_are_enough_and_sourced():
    cases = data.cases()
    assert len(cases) >= 80
    assert cases["source_url"].str.match(r"https?://").all()
    assert cases["source_title"].str.len().gt(0).all()
    assert cases["id"].is_unique
    assert cases["year"].between(1920, 2026).all()
    assert cases["year"].min() < 1930, "the dataset reaches back to the 1920s"


def test_cases_cover_the_regions_the_book_discusses():
    origins = set(data.cases()["origin_country"].astype(str))
    for code in ("SUN", "DDR", "CHN", "CUB", "PRK", "USA", "GBR"):
        assert code in origins, code


def test_cases_join_countries_without_gaps():
    cases = data.cases()
    assert cases["origin_name"].notna().all()
    assert cases["origin_bloc"].notna().all()
    has_dest = cases["destination_country"].notna()
    assert cases.loc[has_dest, "destination_name"].notna().all()


def test_retaliation_years_follow_defection():
    cases = data.cases()
    with_year = cases[cases["retaliation_year"].notna()]
    assert (with_year["retaliation"] != "none_known").all()
    assert (with_year["retaliation_year"] >= with_year["year"] - 1).all()


def test_renunciations_by_year_is_one_row_per_year():
    years = data.renunciations_by_year()
    assert years["year"].is_unique
    assert (years["names_listed"] >= 0).all()


def test_label_is_readable():
    assert data.label("jumped_ship") == "Jumped ship"
    assert data.label("military_pilot") == "Military pilot"
    assert data.label("athlete") == "Athlete"


def test_loader_works_from_any_folder(tmp_path):
    code = "from defection import data; print(len(data.cases()))"
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert int(out.stdout) == len(data.cases())


def test_a_missing_value_shows_as_an_empty_cell_not_na():
    """Chapter 3's table of violent acts says an empty "Act" cell means no year was found."""
    from defection import tables

    table = tables.show(tables.violent_acts(data.cases()))
    assert table.frame["Act"].isna().any()  # the probe: a row without a year (Bazhanov)
    assert "NA" not in table._repr_html_() and "NA" not in repr(table)
    assert ">nan<" not in table._repr_html_().lower()
