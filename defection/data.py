"""Load the book's data tables as typed pandas DataFrames.

Every table is described once, in ``data/datapackage.json`` (a Frictionless
Data Package). This module reads that schema and checks each CSV against it
before handing back a DataFrame, so a malformed or inconsistent file stops the
build with a message that names the file, the row and the column::

    DataError: data/cases.csv, row 12 (line 13), column 'method': 'walked'
    is not one of the allowed values: embassy_walk_in, stayed_behind, ...

Rows are numbered from 1 for the first data row; ``line`` is the line in the
file, counting the header as line 1.

Typical use in a chapter::

    from defection import data
    cases = data.cases()
"""
from __future__ import annotations

import csv
import datetime as _dt
import json
import re
from functools import lru_cache
from pathlib import Path

import pandas as pd

from .paths import data_dir

__all__ = [
    "DataError",
    "load",
    "schema",
    "cases",
    "countries",
    "renunciations",
    "renunciations_by_year",
    "us_rules",
    "events",
    "nk_arrivals",
    "label",
]


class DataError(ValueError):
    """A data file does not match ``data/datapackage.json``."""

    def __init__(self, path, message, row=None, column=None):
        self.path = str(path)
        self.row = row
        self.column = column
        where = [self.path]
        if row is not None:
            where.append(f"row {row} (line {row + 1})")
        if column is not None:
            where.append(f"column '{column}'")
        super().__init__(", ".join(where) + ": " + message)


def _display_path(path: Path) -> str:
    """The path as a reader would type it: relative to the repository if possible."""
    try:
        return str(path.relative_to(data_dir().parent))
    except ValueError:
        return str(path)


@lru_cache(maxsize=None)
def _package(directory: str) -> dict:
    path = Path(directory) / "datapackage.json"
    if not path.is_file():
        raise DataError(path, "the data package descriptor is missing")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise DataError(path, f"is not valid JSON ({exc})") from None


def schema(name: str, directory: Path | None = None) -> dict:
    """The Data Package resource (path and schema) for table ``name``."""
    directory = Path(directory) if directory else data_dir()
    for resource in _package(str(directory))["resources"]:
        if resource["name"] == name:
            return resource
    names = ", ".join(r["name"] for r in _package(str(directory))["resources"])
    raise KeyError(f"no table called {name!r} in datapackage.json (tables: {names})")


# --- parsing one cell -------------------------------------------------------

_TRUE = {"true", "True", "TRUE", "1", "yes"}
_FALSE = {"false", "False", "FALSE", "0", "no"}


def _parse(value: str, field: dict):
    """Convert one non-empty CSV cell to a Python value, or raise ValueError."""
    kind = field.get("type", "string")
    if kind == "string":
        return value
    if kind in ("integer", "year"):
        if not re.fullmatch(r"-?\d+", value):
            raise ValueError(f"{value!r} is not a whole number")
        return int(value)
    if kind == "number":
        try:
            return float(value)
        except ValueError:
            raise ValueError(f"{value!r} is not a number") from None
    if kind == "date":
        try:
            return _dt.date.fromisoformat(value)
        except ValueError:
            raise ValueError(f"{value!r} is not a date in the form YYYY-MM-DD") from None
    if kind == "boolean":
        if value in _TRUE:
            return True
        if value in _FALSE:
            return False
        raise ValueError(f"{value!r} is not true or false")
    raise ValueError(f"unsupported field type {kind!r} in the schema")


def _check_constraints(value, field: dict):
    cons = field.get("constraints", {})
    if "enum" in cons and value not in cons["enum"]:
        allowed = ", ".join(map(str, cons["enum"]))
        raise ValueError(f"{value!r} is not one of the allowed values: {allowed}")
    if "minimum" in cons and value < cons["minimum"]:
        raise ValueError(f"{value!r} is below the minimum {cons['minimum']}")
    if "maximum" in cons and value > cons["maximum"]:
        raise ValueError(f"{value!r} is above the maximum {cons['maximum']}")
    if "pattern" in cons and not re.fullmatch(cons["pattern"], str(value)):
        raise ValueError(f"{value!r} does not match the pattern {cons['pattern']}")


_DTYPES = {"string": "string", "integer": "Int64", "year": "Int64", "number": "Float64", "boolean": "boolean"}


# --- loading a table --------------------------------------------------------


def load(name: str, directory: Path | None = None) -> pd.DataFrame:
    """Read table ``name``, validate it against the schema and return it typed.

    Raises :class:`DataError` naming the file, row and column of the first
    problem found: a missing file, a wrong header, a value of the wrong type,
    a value outside a controlled vocabulary, a missing required value (such as
    a source), a duplicate key, or a code that is not in ``countries.csv``.
    """
    directory = Path(directory) if directory else data_dir()
    resource = schema(name, directory)
    path = directory / resource["path"]
    shown = _display_path(path) if directory == data_dir() else str(path)
    fields = resource["schema"]["fields"]
    names = [f["name"] for f in fields]

    if not path.is_file():
        raise DataError(shown, f"the file for table {name!r} is missing (expected at {path})")
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle)
        try:
            header = next(reader)
        except StopIteration:
            raise DataError(shown, "the file is empty; expected a header row") from None
        if header != names:
            missing = [n for n in names if n not in header]
            extra = [h for h in header if h not in names]
            detail = []
            if missing:
                detail.append("missing " + ", ".join(repr(m) for m in missing))
            if extra:
                detail.append("unexpected " + ", ".join(repr(e) for e in extra))
            if not detail:
                detail.append("columns are out of order")
            raise DataError(shown, "header does not match datapackage.json: " + "; ".join(detail)
                            + f". Expected: {','.join(names)}", row=None)
        records = []
        for i, cells in enumerate(reader, start=1):
            if len(cells) != len(names):
                raise DataError(shown, f"has {len(cells)} cells, expected {len(names)} "
                                "(check for an unquoted comma)", row=i)
            record = {}
            for field, raw in zip(fields, cells):
                col = field["name"]
                value = raw.strip()
                if value == "":
                    if field.get("constraints", {}).get("required"):
                        raise DataError(shown, "a value is required here but the cell is empty", row=i, column=col)
                    record[col] = None
                    continue
                try:
                    parsed = _parse(value, field)
                    _check_constraints(parsed, field)
                except ValueError as exc:
                    raise DataError(shown, str(exc), row=i, column=col) from None
                record[col] = parsed
            records.append(record)

    _check_keys(shown, resource, records)
    _check_foreign_keys(shown, resource, records, directory)
    _check_table_rules(name, shown, records)

    frame = pd.DataFrame.from_records(records, columns=names)
    for field in fields:
        col, kind = field["name"], field.get("type", "string")
        if kind == "date":
            frame[col] = pd.to_datetime(frame[col])
        else:
            frame[col] = frame[col].astype(_DTYPES[kind])
        constraints = field.get("constraints", {})
        if "enum" in constraints:
            frame[col] = pd.Categorical(frame[col], categories=constraints["enum"])
    frame.attrs["source_file"] = shown
    frame.attrs["title"] = resource.get("title", name)
    return frame


def _check_keys(shown, resource, records):
    schema_ = resource["schema"]
    keysets = []
    pk = schema_.get("primaryKey")
    if pk:
        keysets.append([pk] if isinstance(pk, str) else list(pk))
    for field in schema_["fields"]:
        if field.get("constraints", {}).get("unique"):
            keysets.append([field["name"]])
    for cols in keysets:
        seen = {}
        for i, record in enumerate(records, start=1):
            key = tuple(record[c] for c in cols)
            if all(v is None for v in key):
                continue
            if key in seen:
                label = ", ".join(str(v) if v is not None else "(empty)" for v in key)
                raise DataError(shown, f"duplicate {'/'.join(cols)} {label!r}: already used in row {seen[key]}",
                                row=i, column=cols[0] if len(cols) == 1 else "/".join(cols))
            seen[key] = i


def _check_foreign_keys(shown, resource, records, directory):
    for fk in resource["schema"].get("foreignKeys", []):
        col = fk["fields"]
        ref = fk["reference"]
        if ref["resource"] == resource["name"]:
            continue
        allowed = set(load(ref["resource"], directory)[ref["fields"]].dropna())
        for i, record in enumerate(records, start=1):
            value = record[col]
            if value is not None and value not in allowed:
                raise DataError(shown, f"{value!r} is not a {ref['fields']} in {ref['resource']}.csv", row=i, column=col)


def _check_table_rules(name, shown, records):
    """Consistency rules that a Table Schema cannot express."""
    if name == "cases":
        for i, r in enumerate(records, start=1):
            if r["date"] is not None:
                if r["date"].year != r["year"]:
                    raise DataError(shown, f"date {r['date']} is not in year {r['year']}", row=i, column="date")
                if r["month"] is not None and r["date"].month != r["month"]:
                    raise DataError(shown, f"date {r['date']} is not in month {r['month']}", row=i, column="date")
            if r["retaliation"] == "none_known" and r["retaliation_year"] is not None:
                raise DataError(shown, "a retaliation year is given but retaliation is 'none_known'",
                                row=i, column="retaliation_year")
            if r["retaliation_year"] is not None and r["retaliation_year"] < r["year"] - 1:
                raise DataError(shown, f"retaliation year {r['retaliation_year']} is before the defection year {r['year']}",
                                row=i, column="retaliation_year")
            if r["origin_country"] == r["destination_country"]:
                raise DataError(shown, "origin and destination are the same country", row=i, column="destination_country")
    if name == "renunciations":
        by_year: dict[int, dict] = {}
        for i, r in enumerate(records, start=1):
            by_year.setdefault(r["year"], {})[r["quarter"]] = (i, r["names_listed"])
        for year, parts in by_year.items():
            quarters = [q for q in parts if q is not None]
            if None in parts and len(quarters) == 4:
                total = sum(parts[q][1] for q in quarters)
                row, annual = parts[None]
                if total != annual:
                    raise DataError(shown, f"annual total {annual} for {year} does not equal the sum of its quarters ({total})",
                                    row=row, column="names_listed")
    if name == "us_rules":
        for i, r in enumerate(records, start=1):
            if r["effective_date"] is not None and r["effective_date"].year < 1900:
                raise DataError(shown, "implausible effective date", row=i, column="effective_date")


# --- the tables, one call each ------------------------------------------------


def cases() -> pd.DataFrame:
    """Defection cases with country names and blocs joined on.

    Adds ``origin_name``, ``origin_bloc``, ``destination_name`` and
    ``destination_bloc`` from ``countries.csv``, and ``decade``.
    """
    frame = load("cases")
    lookup = countries().set_index("code")
    for side in ("origin", "destination"):
        codes = frame[f"{side}_country"].astype("object")
        frame[f"{side}_name"] = codes.map(lookup["name"]).astype("string")
        frame[f"{side}_bloc"] = codes.map(lookup["bloc"].astype("object")).astype("string")
    frame["decade"] = (frame["year"] // 10 * 10).astype("Int64")
    return frame


def countries() -> pd.DataFrame:
    """ISO codes, names and Cold War blocs of the countries in the other tables."""
    return load("countries")


def renunciations() -> pd.DataFrame:
    """Names in the IRS quarterly expatriate lists, as recorded (quarters and/or years)."""
    return load("renunciations")


def renunciations_by_year() -> pd.DataFrame:
    """One row per year: the annual total where recorded, else the sum of four quarters.

    A year with fewer than four quarters and no annual total is left out rather
    than under-counted. Columns: ``year``, ``names_listed``, ``basis``
    ('annual total' or 'sum of quarters').
    """
    frame = renunciations()
    rows = []
    for year, group in frame.groupby("year", sort=True):
        annual = group[group["quarter"].isna()]
        quarters = group[group["quarter"].notna()]
        if len(annual):
            rows.append((year, int(annual["names_listed"].iloc[0]), "annual total"))
        elif quarters["quarter"].nunique() == 4:
            rows.append((year, int(quarters["names_listed"].sum()), "sum of quarters"))
    out = pd.DataFrame(rows, columns=["year", "names_listed", "basis"])
    return out.astype({"year": "Int64", "names_listed": "Int64", "basis": "string"})


def us_rules() -> pd.DataFrame:
    """Renunciation fee and exit-tax thresholds by effective date."""
    return load("us_rules")


def events() -> pd.DataFrame:
    """Dated laws, treaties, court decisions and policies."""
    return load("events")


def nk_arrivals() -> pd.DataFrame:
    """North Korean defectors arriving in South Korea per year (Ministry of Unification)."""
    return load("nk_arrivals")


_LABELS = {
    "embassy_walk_in": "Embassy or consulate walk-in",
    "stayed_behind": "Stayed behind (tour, competition, posting)",
    "landed_aircraft": "Flew an aircraft out",
    "jumped_ship": "Jumped ship",
    "crossed_land_border": "Crossed a land border",
    "by_sea": "Escaped by sea",
    "went_to_host_officials": "Went to host officials",
    "asylum_granted": "Allowed to stay",
    "returned": "Handed back",
    "caught": "Caught before escaping",
    "redefected": "Went back (redefected)",
    "killed": "Killed in the attempt",
    "none_known": "None known",
    "attempted_assassination": "Attempted assassination",
    "family_punished": "Family punished",
    "sentenced_in_absentia": "Sentenced in absentia",
    "intelligence_officer": "Intelligence officer",
    "military_pilot": "Military pilot",
}


def label(value) -> str:
    """A readable label for a controlled-vocabulary value: 'jumped_ship' -> 'Jumped ship'."""
    text = str(value)
    return _LABELS.get(text, text.replace("_", " ").capitalize())
