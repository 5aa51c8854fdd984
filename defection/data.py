"""Load the book's data tables as typed pandas DataFrames.

Every table is described once, in ``data/datapackage.json`` (a Frictionless
Data Package). Before any table is handed out, the whole package is validated
with `frictionless <https://framework.frictionlessdata.io/>`_ (types, required
cells, vocabularies, patterns, ranges, unique and primary keys, foreign keys),
plus the few cross-field rules a Table Schema cannot express (see
``data/README.md``), and one safety rule: a text cell must not begin with
``=``, ``+``, ``-``, ``@``, a tab or a carriage return, which a spreadsheet
would run as a formula (CSV injection; see ``defection/csvsafe.py``). Every problem is reported at once, each naming the file,
the row, the line and the column::

    DataError: data/cases.csv has 2 problems:
      data/cases.csv, row 12 (line 13), column 'method': 'walked' is not one of
      the allowed values: embassy_walk_in, stayed_behind, ...
      data/cases.csv, row 40 (line 42), column 'year': 'c. 1950' is not a whole number

Rows are numbered from 1 for the first data row; ``line`` is the line in the
file where that row starts, counting the header as line 1 (a quoted cell may
span lines). A UTF-8 byte-order mark (as Excel writes) is accepted, blank lines
at the end are ignored, and a byte that is not UTF-8 is reported with its line
and column.

Validation takes a second or two, so a successful result is remembered (per
process, and on disk under the user's cache folder) for the exact bytes of
``data/``: kernels validate once per change of the data, not on every load.

Typical use in a chapter::

    from defection import data
    cases = data.cases()
"""
from __future__ import annotations

import csv
import hashlib
import io
import json
import os
from functools import lru_cache
from pathlib import Path

import pandas as pd

from .csvsafe import starts_like_formula
from .paths import data_dir

__all__ = [
    "DataError",
    "Problem",
    "load",
    "schema",
    "vocabulary",
    "validate",
    "cases",
    "countries",
    "country_areas",
    "renunciations",
    "renunciations_by_year",
    "us_rules",
    "events",
    "nk_arrivals",
    "label",
]


class Problem:
    """One thing wrong with a data file, located by row, line and column."""

    def __init__(self, path, message, row=None, column=None, line=None):
        self.path, self.message, self.row, self.column, self.line = str(path), message, row, column, line

    def __str__(self) -> str:
        where = [self.path]
        if self.row is not None:
            where.append(f"row {self.row} (line {self.line if self.line is not None else self.row + 1})")
        elif self.line is not None:
            where.append(f"line {self.line}")
        if self.column is not None:
            where.append(f"column {self.column!r}" if isinstance(self.column, str) else f"column {self.column}")
        return ", ".join(where) + ": " + self.message


class DataError(ValueError):
    """A data file does not match ``data/datapackage.json``; ``problems`` lists every finding."""

    def __init__(self, path, message=None, row=None, column=None, line=None, problems=None):
        if problems is None:
            problems = [Problem(path, message, row=row, column=column, line=line)]
        self.problems = list(problems)
        first = self.problems[0]
        self.path, self.row, self.column, self.line = first.path, first.row, first.column, first.line
        if len(self.problems) == 1:
            text = str(first)
        else:
            files = sorted({p.path for p in self.problems})
            text = (f"{', '.join(files)} {'has' if len(files) == 1 else 'have'} {len(self.problems)} problems:\n  "
                    + "\n  ".join(str(p) for p in self.problems))
        super().__init__(text)


def _display_path(path: Path, directory: Path) -> str:
    """The path as a reader would type it: ``data/cases.csv`` in the book's own folder."""
    try:
        if directory.resolve() == data_dir().resolve():
            return str(Path(directory.name) / path.relative_to(directory))
    except Exception:  # no book data folder at all: show the path as given
        pass
    return str(path)


@lru_cache(maxsize=None)
def _package(directory: str) -> dict:
    path = Path(directory) / "datapackage.json"
    if not path.is_file():
        raise DataError(path, "the data package descriptor is missing")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise DataError(path, f"is not valid JSON ({exc.msg})", line=exc.lineno, column=exc.colno) from None


def schema(name: str, directory: Path | None = None) -> dict:
    """The Data Package resource (path and schema) for table ``name``."""
    directory = Path(directory) if directory else data_dir()
    for resource in _package(str(directory))["resources"]:
        if resource["name"] == name:
            return resource
    names = ", ".join(r["name"] for r in _package(str(directory))["resources"])
    raise KeyError(f"no table called {name!r} in datapackage.json (tables: {names})")


def vocabulary(name: str, column: str) -> list[str]:
    """The allowed values of a controlled-vocabulary column, in the schema's order."""
    for field in schema(name)["schema"]["fields"]:
        if field["name"] == column:
            return list(field.get("constraints", {}).get("enum", []))
    raise KeyError(f"table {name!r} has no column {column!r}")


# --- reading a file: encoding, line numbers -----------------------------------


class _Text:
    """A CSV file decoded as UTF-8 (BOM allowed), with where each record starts."""

    def __init__(self, path: Path, shown: str):
        raw = path.read_bytes()
        try:
            self.text = raw.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            before = raw[: exc.start]
            line = before.count(b"\n") + 1
            column = len(before[before.rfind(b"\n") + 1:].decode("utf-8", errors="replace")) + 1
            raise DataError(shown, f"byte 0x{raw[exc.start]:02x} is not UTF-8 (character {column} of the line); "
                            "save the file as UTF-8", line=line) from None
        self.bom = raw.startswith(b"\xef\xbb\xbf")
        reader = csv.reader(io.StringIO(self.text, newline=""))
        self.records, self.starts = [], []
        end = 0
        for cells in reader:
            self.starts.append(end + 1)
            end = reader.line_num
            self.records.append(cells)
        # Blank lines at the end of the file (an editor's habit) are not rows.
        self.n_records = len(self.records)
        while self.n_records > 1 and not any(c.strip() for c in self.records[self.n_records - 1]):
            self.n_records -= 1

    def line_of(self, record_number: int) -> int:
        """The line where record ``record_number`` (header = 1) starts."""
        if 1 <= record_number <= len(self.starts):
            return self.starts[record_number - 1]
        return record_number


# --- validation ---------------------------------------------------------------

_TYPE_WORDS = {"integer": "a whole number", "year": "a year", "number": "a number",
               "date": "a date in the form YYYY-MM-DD", "boolean": "true or false"}


def _message(error: dict, field: dict | None, cell) -> str:
    """A contributor's sentence for one frictionless error."""
    kind, note = error.get("type"), error.get("note", "")
    if kind == "type-error":
        if field and field.get("format") == "uri":
            return f"{cell!r} does not match the pattern of a web address (a URL starting with http:// or https://)"
        want = _TYPE_WORDS.get(field.get("type") if field else "", f"of type {field and field.get('type')}")
        return f"{cell!r} is not {want}"
    if kind == "constraint-error":
        cons = (field or {}).get("constraints", {})
        if note.startswith('constraint "required"'):
            return "a value is required here but the cell is empty"
        if note.startswith('constraint "enum"'):
            return f"{cell!r} is not one of the allowed values: {', '.join(map(str, cons.get('enum', [])))}"
        if note.startswith('constraint "pattern"'):
            return f"{cell!r} does not match the pattern {cons.get('pattern')}"
        if note.startswith('constraint "minimum"'):
            return f"{cell!r} is below the minimum {cons.get('minimum')}"
        if note.startswith('constraint "maximum"'):
            return f"{cell!r} is above the maximum {cons.get('maximum')}"
        return f"{cell!r} breaks a rule of the schema ({note})"
    if kind in ("unique-error", "primary-key"):
        earlier = note.rsplit(" ", 1)[-1]
        where = f"already used in row {int(earlier) - 1}" if earlier.isdigit() else note
        return f"duplicate {error.get('fieldName') or 'key'} {cell!r}: {where}" if cell else f"duplicate key: {where}"
    if kind == "foreign-key":
        value = ", ".join(map(str, error.get("fieldCells", [])))
        return f"{value!r} is not a {', '.join(error.get('referenceFieldNames', []))} in {error.get('referenceName')}.csv"
    if kind in ("extra-cell", "missing-cell"):
        return "has a different number of cells than the header (check for an unquoted comma)"
    if kind == "blank-row":
        return "the line is blank"
    return error.get("message") or note or kind


def _header_problems(text: _Text, names: list[str], shown: str) -> list[Problem]:
    header = [h.strip() for h in text.records[0]] if text.records else []
    if header == names:
        return []
    missing = [n for n in names if n not in header]
    extra = [h for h in header if h not in names]
    detail = []
    if missing:
        detail.append("missing " + ", ".join(repr(m) for m in missing))
    if extra:
        detail.append("unexpected " + ", ".join(repr(e) for e in extra))
    if not detail:
        detail.append("columns are out of order")
    return [Problem(shown, "header does not match datapackage.json: " + "; ".join(detail)
                    + f". Expected: {','.join(names)}", line=1)]


def _cell_count_problems(text: _Text, names: list[str], shown: str) -> list[Problem]:
    out = []
    for number in range(2, text.n_records + 1):
        cells = text.records[number - 1]
        if cells and len(cells) != len(names):
            out.append(Problem(shown, f"has {len(cells)} cells, expected {len(names)} (check for an unquoted comma)",
                               row=number - 1, line=text.line_of(number)))
        elif not any(c.strip() for c in cells):
            out.append(Problem(shown, "the line is blank (only blank lines at the end are ignored)",
                               row=number - 1, line=text.line_of(number)))
    return out


def _digest(directory: Path) -> str:
    h = hashlib.sha256()
    h.update(Path(__file__).read_bytes())
    for path in sorted(directory.iterdir()):
        if path.suffix in (".csv", ".json"):
            h.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()


def _stamp_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "defection-explained" / "validated"


@lru_cache(maxsize=8)
def _validate_digest(directory: str, digest: str) -> None:
    stamp = _stamp_dir() / digest
    if stamp.is_file():
        return
    problems = _find_problems(Path(directory))
    if problems:
        raise DataError(problems[0].path, problems=problems)
    try:
        stamp.parent.mkdir(parents=True, exist_ok=True)
        stamp.write_text("valid\n")
    except OSError:  # a read-only home: validate again next time
        pass


def validate(directory: Path | None = None) -> None:
    """Check every table in the package; raise :class:`DataError` listing every problem."""
    directory = Path(directory) if directory else data_dir()
    _validate_digest(str(directory.resolve()), _digest(directory))


def _find_problems(directory: Path) -> list[Problem]:
    from frictionless import Package, system

    descriptor = _package(str(directory))
    problems: list[Problem] = []
    texts: dict[str, _Text] = {}
    resources = []
    for resource in descriptor["resources"]:
        path = directory / resource["path"]
        shown = _display_path(path, directory)
        names = [f["name"] for f in resource["schema"]["fields"]]
        if not path.is_file():
            problems.append(Problem(shown, f"the file for table {resource['name']!r} is missing (expected at {path})"))
            continue
        try:
            text = _Text(path, shown)
        except DataError as exc:
            problems.extend(exc.problems)
            continue
        if not text.records:
            problems.append(Problem(shown, "the file is empty; expected a header row"))
            continue
        own = _header_problems(text, names, shown) + _cell_count_problems(text, names, shown)
        problems.extend(own)
        if own:
            continue
        problems.extend(_formula_problems(resource, text, shown))
        texts[resource["name"]] = text
        resources.append(resource)
    if resources:
        # utf-8-sig reads a file with or without a byte-order mark alike.
        checked = {**descriptor, "resources": [{**r, "encoding": "utf-8-sig"} for r in resources]}
        names = {r["name"] for r in resources}
        for r in checked["resources"]:  # a foreign key into a broken table is reported there
            fks = r["schema"].get("foreignKeys", [])
            r["schema"] = {**r["schema"], "foreignKeys": [fk for fk in fks
                                                         if fk["reference"]["resource"] in ("", *names)]}
        with system.use_context(trusted=True):
            report = Package(checked, basepath=str(directory)).validate()
        for task in report.tasks:
            resource = next(r for r in resources if r["name"] == task.name)
            fields = {f["name"]: f for f in resource["schema"]["fields"]}
            text = texts[task.name]
            shown = _display_path(directory / resource["path"], directory)
            for error in task.errors:
                e = error.to_descriptor()
                number = e.get("rowNumber")
                if e.get("type") in ("blank-row", "extra-cell", "missing-cell"):
                    continue  # reported above, with better words
                if number and number > text.n_records:
                    continue  # the blank lines at the end, which are not rows
                column = e.get("fieldName") or ", ".join(e.get("fieldNames", [])) or None
                if e.get("type") == "primary-key":
                    pk = resource["schema"].get("primaryKey", [])
                    pk = [pk] if isinstance(pk, str) else list(pk)
                    if len(pk) == 1 and fields[pk[0]].get("constraints", {}).get("unique"):
                        continue  # the same duplicate is reported once, as a unique-error
                    column = "/".join(pk)
                    e["cell"] = ", ".join(text.records[number - 1][list(fields).index(c)] for c in pk)
                problems.append(Problem(shown, _message(e, fields.get(e.get("fieldName")), e.get("cell")),
                                        row=number - 1 if number else None, column=column,
                                        line=text.line_of(number) if number else None))
            if task.valid:
                problems.extend(_table_rules(task.name, shown, resource, text))
    return problems


# --- no spreadsheet formulas in text cells (CSV injection) --------------------

_TEXT_TYPES = ("string", "any")


def _formula_problems(resource: dict, text: _Text, shown: str) -> list[Problem]:
    """A text cell must not begin with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return.

    A spreadsheet opening the file (or any CSV the book writes from it) would run
    such a cell as a formula. Numeric, date and boolean columns are exempt: their
    type is checked by the schema, and a number may be negative.
    """
    fields = resource["schema"]["fields"]
    out = []
    for number in range(2, text.n_records + 1):
        cells = text.records[number - 1]
        for field, cell in zip(fields, cells):
            if field.get("type", "string") in _TEXT_TYPES and starts_like_formula(cell):
                first = cell.lstrip(" ")[:1]
                shown_first = {"\t": "a tab", "\r": "a carriage return"}.get(first, repr(first))
                out.append(Problem(shown, f"{cell[:60]!r} begins with {shown_first}, which a spreadsheet would run "
                                   "as a formula; reword it to start with a letter or a digit",
                                   row=number - 1, column=field["name"], line=text.line_of(number)))
    return out


# --- rules a Table Schema cannot express --------------------------------------


def _records(resource: dict, text: _Text) -> list[dict]:
    names = [f["name"] for f in resource["schema"]["fields"]]
    return [dict(zip(names, (c.strip() for c in cells))) for cells in text.records[1:text.n_records]]


def _table_rules(name: str, shown: str, resource: dict, text: _Text) -> list[Problem]:
    """Cross-field rules (documented in data/README.md, "Rules beyond the schema")."""
    out = []

    def problem(i, message, column):
        out.append(Problem(shown, message, row=i, column=column, line=text.line_of(i + 1)))

    rows = _records(resource, text)
    if name == "cases":
        for i, r in enumerate(rows, start=1):
            if r["date"]:
                if r["date"][:4] != r["year"]:
                    problem(i, f"date {r['date']} is not in year {r['year']}", "date")
                elif r["month"] and int(r["date"][5:7]) != int(r["month"]):
                    problem(i, f"date {r['date']} is not in month {r['month']}", "date")
            if r["retaliation"] == "none_known" and r["retaliation_year"]:
                problem(i, "a retaliation year is given but retaliation is 'none_known'", "retaliation_year")
            if r["retaliation_year"] and int(r["retaliation_year"]) < int(r["year"]) - 1:
                problem(i, f"retaliation year {r['retaliation_year']} is before the defection year {r['year']}",
                        "retaliation_year")
            if r["retaliation_country"] and r["retaliation"] == "none_known":
                problem(i, "a retaliation country is given but retaliation is 'none_known'", "retaliation_country")
            elif r["retaliation_country"] and r["retaliation_country"] == r["origin_country"]:
                problem(i, "retaliation_country is for acts abroad, but it is the origin country", "retaliation_country")
            if r["origin_country"] == r["destination_country"]:
                problem(i, "origin and destination are the same country", "destination_country")
    if name == "renunciations":
        by_year: dict[str, dict] = {}
        for i, r in enumerate(rows, start=1):
            by_year.setdefault(r["year"], {})[r["quarter"]] = (i, int(r["names_listed"]))
        for year, parts in by_year.items():
            quarters = [q for q in parts if q]
            if "" in parts and len(quarters) == 4:
                total = sum(parts[q][1] for q in quarters)
                row, annual = parts[""]
                if total != annual:
                    problem(row, f"annual total {annual} for {year} does not equal the sum of its quarters ({total})",
                            "names_listed")
    return out


# --- loading a table ------------------------------------------------------------

_DTYPES = {"string": "string", "integer": "Int64", "year": "Int64", "number": "Float64"}


def load(name: str, directory: Path | None = None) -> pd.DataFrame:
    """Table ``name``, validated (with the whole package) and typed.

    Integers are ``Int64`` (missing = ``<NA>``), dates ``datetime64``, booleans
    ``boolean``, and text, including controlled vocabularies, pandas ``string``
    (compare with ``==``, count with ``value_counts()``; the allowed values in
    order are :func:`vocabulary`). Raises :class:`DataError` listing every problem.
    """
    directory = Path(directory) if directory else data_dir()
    resource = schema(name, directory)
    validate(directory)
    fields = resource["schema"]["fields"]
    path = directory / resource["path"]
    frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig", skip_blank_lines=True)
    frame.columns = [c.strip() for c in frame.columns]
    for field in fields:
        col, kind = field["name"], field.get("type", "string")
        values = frame[col].str.strip().replace("", None)
        if kind == "date":
            frame[col] = pd.to_datetime(values, format="%Y-%m-%d")
        elif kind == "boolean":
            true = set(field.get("trueValues", ["true", "True", "TRUE", "1"]))
            frame[col] = values.map(lambda v: None if v is None else v in true).astype("boolean")
        else:
            frame[col] = values.astype(_DTYPES.get(kind, "string"))
    frame.attrs["source_file"] = _display_path(path, directory)
    frame.attrs["title"] = resource.get("title", name)
    return frame


# --- the tables, one call each ------------------------------------------------


def cases() -> pd.DataFrame:
    """Defection cases with country names and blocs joined on.

    Adds ``origin_name``, ``origin_bloc``, ``destination_name`` and
    ``destination_bloc`` from ``countries.csv``, and ``decade``.
    """
    frame = load("cases")
    lookup = countries().set_index("code")
    for side in ("origin", "destination"):
        codes = frame[f"{side}_country"]
        frame[f"{side}_name"] = codes.map(lookup["name"]).astype("string")
        frame[f"{side}_bloc"] = codes.map(lookup["bloc"]).astype("string")
    frame["decade"] = (frame["year"] // 10 * 10).astype("Int64")
    return frame


def countries() -> pd.DataFrame:
    """ISO codes, names and Cold War blocs of the countries in the other tables."""
    return load("countries")


def country_areas() -> pd.DataFrame:
    """For maps: the ISO 3166-1 numeric code(s) of today's countries that cover each code in countries.csv."""
    return load("country_areas")


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
    "killed": "Killed (in the attempt or soon after)",
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
