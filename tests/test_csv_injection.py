"""No spreadsheet formula reaches a CSV the site serves (CSV injection, issue 27).

The loader refuses a formula-like text cell (tests/test_loader_errors.py); as
defence in depth every CSV family the build writes neutralises one anyway (a
leading ``'``, OWASP). One test per family:

* the charts' "data (CSV)" downloads (``_static/charts/*.csv``, ``charts.to_csv``);
* the served ``data/*.csv`` (``publish.copy_data_file``);
* every CSV in the finished site, including Sphinx's ``_downloads/`` copies
  (``publish.neutralise_site_csv``, run at build end);
* the data inside the package wheel (``publish.build_wheel``);
* and, on the built site, that no served CSV holds a formula-like cell.
"""
from __future__ import annotations

import csv
import io
import shutil
import sys
import zipfile

import pytest

from conftest import ROOT

sys.path.insert(0, str(ROOT / "_ext"))

from defection.csvsafe import neutralise, neutralise_csv_bytes, neutralise_csv_text, starts_like_formula  # noqa: E402

PROBES = ['=HYPERLINK("http://example.invalid","x")', "+1+1", "-2+3", "@SUM(A1)", "=cmd|' /C calc'!A0",
          "\t=1+1", "\r=1+1", " =1+1"]


def cells(text: str) -> list[str]:
    return [c for row in csv.reader(io.StringIO(text, newline="")) for c in row]


def assert_inert(text: str) -> None:
    """No cell of the CSV ``text`` begins like a formula, unless it is a plain number."""
    for cell in cells(text):
        assert not starts_like_formula(cell) or neutralise(cell) == cell, f"formula-like cell {cell!r}"


def test_neutralise_prefixes_a_quote_and_keeps_numbers():
    for probe in PROBES:
        assert neutralise(probe) == "'" + probe
    for number in ("-2", "+3.5", "-1e3", "-.5", "12"):
        assert neutralise(number) == number
    for value in (-2, 3.5, None, "", "plain text", "a=b"):
        assert neutralise(value) == value


def test_clean_csv_is_returned_byte_for_byte():
    raw = (ROOT / "data" / "cases.csv").read_bytes()
    assert neutralise_csv_bytes(raw) is raw
    bom = b"\xef\xbb\xbfa,b\r\n1,x\r\n"
    assert neutralise_csv_bytes(bom) == bom


def test_csv_text_round_trips_with_the_quote():
    text = "name,n\r\n" + "".join(f'"{p.replace(chr(34), chr(34) * 2)}",-2\r\n' for p in PROBES)
    safe = neutralise_csv_text(text)
    rows = list(csv.reader(io.StringIO(safe, newline="")))
    assert [r[0] for r in rows[1:]] == ["'" + p for p in PROBES]
    assert all(r[1] == "-2" for r in rows[1:])
    assert safe.startswith("name,n\r\n")  # line ends kept
    assert_inert(safe)


def test_chart_csv_downloads_are_neutralised():
    from dxbook.charts import to_csv

    rows = [{"name": p, "count": -2, "share": "-0.5"} for p in PROBES] + [{"=evil header": "x"}]
    text = to_csv(rows)
    assert_inert(text)
    parsed = list(csv.DictReader(io.StringIO(text)))
    assert [r["name"] for r in parsed[: len(PROBES)]] == ["'" + p for p in PROBES]
    assert parsed[0]["count"] == "-2" and parsed[0]["share"] == "-0.5"
    assert "'=evil header" in parsed[0]


def _planted(tmp_path):
    """A copy of data/ with the probes written straight into the files (as if the loader were bypassed)."""
    target = tmp_path / "data"
    shutil.copytree(ROOT / "data", target, ignore=shutil.ignore_patterns("audit"))
    path = target / "cases.csv"
    with path.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    for row, probe in zip(rows, PROBES):
        row["name"], row["note"] = probe, probe
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return target


def test_served_data_copies_are_neutralised(tmp_path):
    from dxbook.publish import copy_data_file

    data = _planted(tmp_path)
    out = tmp_path / "site-data"
    out.mkdir()
    for path in data.iterdir():
        if path.is_file():
            copy_data_file(path, out / path.name)
    text = (out / "cases.csv").read_text(encoding="utf-8")
    assert_inert(text)
    assert "'=HYPERLINK(" in text and "'@SUM(A1)" in text
    # Clean files are served exactly as in the repository.
    assert (out / "countries.csv").read_bytes() == (ROOT / "data" / "countries.csv").read_bytes()


def test_every_csv_in_the_site_is_swept_at_build_end(tmp_path):
    from dxbook.publish import neutralise_site_csv

    data = _planted(tmp_path)
    site = tmp_path / "html"
    for where in ("data", "_downloads/0123abcd", "_static/charts"):
        (site / where).mkdir(parents=True)
        shutil.copyfile(data / "cases.csv", site / where / "cases.csv")
        shutil.copyfile(data / "countries.csv", site / where / "countries.csv")
    assert neutralise_site_csv(site) == 3
    for path in site.rglob("*.csv"):
        assert_inert(path.read_text(encoding="utf-8"))
    assert neutralise_site_csv(site) == 0  # idempotent


def test_wheel_data_is_neutralised(tmp_path):
    from dxbook.publish import build_wheel

    data = _planted(tmp_path)
    root = tmp_path / "project"
    root.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy2(ROOT / name, root / name)
    shutil.copytree(ROOT / "defection", root / "defection", ignore=shutil.ignore_patterns("__pycache__"))
    wheel = build_wheel(root, data, tmp_path / "dist")
    with zipfile.ZipFile(wheel) as archive:
        name = next(n for n in archive.namelist() if n.endswith("/cases.csv"))
        text = archive.read(name).decode("utf-8")
    assert_inert(text)
    assert "'=HYPERLINK(" in text


@pytest.mark.build
def test_no_csv_the_built_site_serves_holds_a_formula(site):
    found = sorted(site.rglob("*.csv"))
    families = {p.relative_to(site).parts[0] for p in found}
    assert {"data", "_static"} <= families, families
    for path in found:
        assert_inert(path.read_text(encoding="utf-8-sig"))
    wheel = next((site / "downloads").glob("*.whl"))
    with zipfile.ZipFile(wheel) as archive:
        for name in archive.namelist():
            if name.endswith(".csv"):
                assert_inert(archive.read(name).decode("utf-8-sig"))
