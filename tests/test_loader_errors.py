"""Bad input stops the build with a message naming file, row and column."""
from __future__ import annotations

import csv
import re
import shutil

import pytest

from defection import data
from defection.data import DataError

from conftest import ROOT


@pytest.fixture()
def datadir(tmp_path):
    """A private copy of data/ to break."""
    target = tmp_path / "data"
    shutil.copytree(ROOT / "data", target)
    data._package.cache_clear()
    data._validate_digest.cache_clear()
    yield target
    data._package.cache_clear()
    data._validate_digest.cache_clear()


def edit_cell(path, row, column, value):
    """Set one cell; ``row`` counts data rows from 1."""
    with path.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh))
    rows[row][rows[0].index(column)] = value
    with path.open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows(rows)


def expect(datadir, name, pattern):
    with pytest.raises(DataError) as info:
        data.load(name, directory=datadir)
    message = str(info.value)
    assert re.search(pattern, message), message
    return info.value


def test_wrong_type_names_file_row_and_column(datadir):
    edit_cell(datadir / "cases.csv", 3, "year", "nineteen-sixty")
    err = expect(datadir, "cases", r"cases\.csv, row 3 \(line 4\), column 'year': 'nineteen-sixty' is not a whole number")
    assert (err.row, err.column) == (3, "year")


def test_value_outside_vocabulary(datadir):
    edit_cell(datadir / "cases.csv", 5, "method", "walked")
    expect(datadir, "cases", r"row 5 \(line 6\), column 'method': 'walked' is not one of the allowed values: embassy_walk_in")


def test_missing_source(datadir):
    edit_cell(datadir / "cases.csv", 7, "source_url", "")
    expect(datadir, "cases", r"row 7 \(line 8\), column 'source_url': a value is required")


def test_source_must_be_a_url(datadir):
    edit_cell(datadir / "cases.csv", 2, "source_url", "a book I read")
    expect(datadir, "cases", r"row 2 .*column 'source_url'.*does not match")


def test_duplicate_id(datadir):
    with (datadir / "cases.csv").open(encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    first_id = rows[1][0]
    edit_cell(datadir / "cases.csv", 4, "id", first_id)
    expect(datadir, "cases", rf"row 4 \(line 5\), column 'id': duplicate id '{re.escape(first_id)}': already used in row 1")


def test_missing_file(datadir):
    (datadir / "cases.csv").unlink()
    expect(datadir, "cases", r"cases\.csv: the file for table 'cases' is missing")


def test_bad_date(datadir):
    edit_cell(datadir / "cases.csv", 1, "date", "1976-13-45")
    expect(datadir, "cases", r"row 1 \(line 2\), column 'date': '1976-13-45' is not a date")


def test_date_inconsistent_with_year(datadir):
    path = datadir / "cases.csv"
    rows = list(csv.DictReader(path.open(encoding="utf-8")))
    row = next(i for i, r in enumerate(rows, start=1) if r["date"])
    edit_cell(path, row, "year", str(int(rows[row - 1]["year"]) + 1))
    expect(datadir, "cases", rf"row {row} .*column 'date': date .* is not in year")


def test_unknown_country_code(datadir):
    edit_cell(datadir / "cases.csv", 6, "origin_country", "XYZ")
    expect(datadir, "cases", r"row 6 \(line 7\), column 'origin_country': 'XYZ' is not a code in countries\.csv")


def test_wrong_header(datadir):
    path = datadir / "cases.csv"
    text = path.read_text(encoding="utf-8").replace("retaliation_year", "retaliation_yr", 1)
    path.write_text(text, encoding="utf-8")
    expect(datadir, "cases", r"cases\.csv, line 1: header does not match datapackage\.json: missing 'retaliation_year'; unexpected 'retaliation_yr'")


def test_unquoted_comma_gives_cell_count(datadir):
    path = datadir / "countries.csv"
    with path.open("a", encoding="utf-8") as fh:
        fh.write("ZZZ,Nowhere, Land,false,other\n")
    n = len(path.read_text().strip().splitlines()) - 1
    expect(datadir, "countries", rf"countries\.csv, row {n} \(line {n + 1}\): has 5 cells, expected 4")


def test_retaliation_year_without_retaliation(datadir):
    path = datadir / "cases.csv"
    rows = list(csv.DictReader(path.open(encoding="utf-8")))
    row = next(i for i, r in enumerate(rows, start=1) if r["retaliation"] == "none_known")
    edit_cell(path, row, "retaliation_year", "1999")
    expect(datadir, "cases", rf"row {row} .*column 'retaliation_year': a retaliation year is given but retaliation is 'none_known'")


def test_annual_total_must_match_quarters(datadir):
    path = datadir / "renunciations.csv"
    header = path.read_text(encoding="utf-8").splitlines()[0]
    url = "https://www.federalregister.gov/"
    lines = [header] + [f"1999,{q},10,,,{url},Test,"for q in (1, 2, 3, 4)] + [f"1999,,41,,,{url},Test,"]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    expect(datadir, "renunciations", r"row 5 \(line 6\), column 'names_listed': annual total 41 for 1999 does not equal the sum of its quarters \(40\)")


def test_valid_copy_loads(datadir):
    assert len(data.load("cases", directory=datadir)) == len(data.cases())


# --- editor mistakes (issue 18, finding 4) ---------------------------------------


def test_latin1_byte_names_line_and_column(datadir):
    path = datadir / "cases.csv"
    lines = path.read_bytes().split(b"\n")
    lines[5] = lines[5].replace(b",", b",Caf\xe9 ", 1)  # a Latin-1 e-acute on line 6
    path.write_bytes(b"\n".join(lines))
    err = expect(datadir, "cases", r"cases\.csv, line 6: byte 0xe9 is not UTF-8 \(character \d+ of the line\)")
    assert err.line == 6


def test_utf8_byte_order_mark_is_accepted(datadir):
    path = datadir / "countries.csv"
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    frame = data.load("countries", directory=datadir)
    assert list(frame.columns)[0] == "code"
    assert len(frame) == len(data.countries())


def test_trailing_blank_lines_are_ignored(datadir):
    path = datadir / "countries.csv"
    path.write_text(path.read_text(encoding="utf-8") + "\n\n  \n", encoding="utf-8")
    assert len(data.load("countries", directory=datadir)) == len(data.countries())


def test_blank_line_in_the_middle_is_named(datadir):
    path = datadir / "countries.csv"
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    lines.insert(3, "\n")
    path.write_text("".join(lines), encoding="utf-8")
    expect(datadir, "countries", r"countries\.csv, row 3 \(line 4\): the line is blank")


def test_line_numbers_count_multiline_quoted_cells(datadir):
    path = datadir / "cases.csv"
    with path.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh))
    rows[2][rows[0].index("note")] = "first line\nsecond line\nthird line"  # row 2 now spans 3 lines
    rows[5][rows[0].index("method")] = "walked"                           # row 5 starts on line 8
    with path.open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh, lineterminator="\n").writerows(rows)
    err = expect(datadir, "cases", r"cases\.csv, row 5 \(line 8\), column 'method': 'walked'")
    assert (err.row, err.line) == (5, 8)


def test_every_problem_of_a_file_is_reported_at_once(datadir):
    path = datadir / "cases.csv"
    edit_cell(path, 3, "year", "nineteen-sixty")
    edit_cell(path, 5, "method", "walked")
    edit_cell(path, 9, "source_url", "")
    err = expect(datadir, "cases", r"cases\.csv has 3 problems")
    assert [(p.row, p.column) for p in err.problems] == [(3, "year"), (5, "method"), (9, "source_url")]


def test_booleans_follow_the_schema_not_yes_no(datadir):
    path = datadir / "countries.csv"
    with path.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh))
    column = next(i for i, f in enumerate(rows[0]) if data.schema("countries")["schema"]["fields"][i]["type"] == "boolean")
    rows[1][column] = "yes"
    with path.open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows(rows)
    expect(datadir, "countries", rf"row 1 \(line 2\), column '{rows[0][column]}': 'yes' is not true or false")


# --- no spreadsheet formulas in text cells (CSV injection, issue 27) ---------------------

FORMULAS = ['=HYPERLINK("http://example.invalid","x")', "+1+1", "-2+3", "@SUM(A1)", "=cmd|' /C calc'!A0",
            "\t=1+1", "\r=1+1", "  =1+1"]


@pytest.mark.parametrize("value", FORMULAS)
def test_formula_in_a_text_cell_is_refused_with_file_row_and_column(datadir, value):
    edit_cell(datadir / "cases.csv", 4, "note", value)
    err = expect(datadir, "cases", r"cases\.csv, row 4 \(line 5\), column 'note': .* begins with .*"
                                   r"which a spreadsheet would run as a formula")
    assert (err.row, err.column) == (4, "note")


def test_formula_is_refused_in_every_text_column_and_table(datadir):
    edit_cell(datadir / "cases.csv", 2, "name", "=1+1")
    edit_cell(datadir / "countries.csv", 1, "name", "@x")
    edit_cell(datadir / "events.csv", 1, "title", "-x")
    with pytest.raises(DataError) as info:
        data.validate(datadir)
    where = {(p.path.rsplit("/", 1)[-1], p.column) for p in info.value.problems if "formula" in p.message}
    assert {("cases.csv", "name"), ("countries.csv", "name"), ("events.csv", "title")} <= where


def test_a_negative_number_in_a_numeric_column_is_not_called_a_formula(datadir):
    edit_cell(datadir / "us_rules.csv", 1, "value_usd", "-5")
    err = expect(datadir, "us_rules", r"column 'value_usd': '-5' is below the minimum 0")
    assert not any("formula" in p.message for p in err.problems)


def test_text_that_merely_contains_formula_characters_is_accepted(datadir):
    edit_cell(datadir / "cases.csv", 4, "note", "Sources differ: 1+1 = 2 - said @someone")
    data.load("cases", directory=datadir)


def test_no_current_data_cell_looks_like_a_formula():
    from defection.csvsafe import starts_like_formula

    for resource in data._package(str(data.data_dir()))["resources"]:
        text_columns = {f["name"] for f in resource["schema"]["fields"] if f.get("type", "string") == "string"}
        with (data.data_dir() / resource["path"]).open(encoding="utf-8-sig", newline="") as fh:
            for row in csv.DictReader(fh):
                for column in text_columns:
                    assert not starts_like_formula(row[column]), (resource["path"], column, row[column])
