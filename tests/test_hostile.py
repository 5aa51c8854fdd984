"""Hostile data cannot run as script anywhere the book shows it (issue 18, finding 3).

Plants hostile strings (tags with event handlers, a script element, quote
breakers, right-to-left marks, a very long value) in the free-text columns that
reach the pages (``TEXT_COLUMNS``: a case's name, place, note and source title,
a country's name) of a private copy of data/, builds the whole book from it,
and checks in headless Chromium that no planted script runs and that the text
shows literally: in the prose, tables, chart SVGs and tooltips of the chapters
and the data page; and that the notebooks' HTML outputs carry no live markup.
(The spreadsheet-formula probes are in test_loader_errors and
test_csv_injection; the LMS exports' in test_assessment.)
"""
from __future__ import annotations

import csv
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT, WATCH_POLICY, chapter_docnames, serve

pytestmark = [pytest.mark.build, pytest.mark.browser]

IMG = '<img src=x onerror="window.__dxPwned=1">'
SCRIPT = "<script>window.__dxPwned=2</script>"
BREAK = "\"'><svg onload=window.__dxPwned=3>"
RTL = "\u202eRTL\u202c"
LONG = "long " * 400
TEXT_COLUMNS = {"cases.csv": {"name": IMG, "place": SCRIPT, "note": BREAK + LONG, "source_title": SCRIPT},
                "countries.csv": {"name": BREAK + RTL}}


def plant(data_dir: Path) -> None:
    for file, columns in TEXT_COLUMNS.items():
        path = data_dir / file
        with path.open(encoding="utf-8", newline="") as fh:
            rows = list(csv.DictReader(fh))
        for i, row in enumerate(rows):
            for column, payload in columns.items():
                if row[column] or column == "place":
                    row[column] = f"{row[column]} {payload} #{i}"
        with path.open("w", encoding="utf-8", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)


@pytest.fixture(scope="module")
def hostile_site(tmp_path_factory):
    work = tmp_path_factory.mktemp("hostile")
    shutil.copytree(ROOT / "data", work / "data")
    plant(work / "data")
    env = {**os.environ, "DEFECTION_DATA": str(work / "data"), "XDG_CACHE_HOME": str(work / "cache")}
    jb = Path(sys.executable).parent / "jupyter-book"
    result = subprocess.run([str(jb), "build", str(ROOT), "--path-output", str(work), "-W", "-n", "--keep-going"],
                            capture_output=True, text=True, env=env)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    return work / "_build" / "html"


def test_hostile_data_shows_as_text_and_never_runs(browser, hostile_site):
    with serve(hostile_site) as base:
        for name in [*chapter_docnames(), "chapters/data"]:
            context = browser.new_context()
            page = context.new_page()
            page.add_init_script(WATCH_POLICY)
            page.goto(f"{base}/{name}.html", wait_until="load")
            for i in range(page.locator(".dx-chart").count()):
                chart = page.locator(".dx-chart").nth(i)
                chart.scroll_into_view_if_needed()
                # Open its data box: dx-explore.js loads the chart's tree from its own page into it.
                # (A locator wait: wait_for_function's predicate is eval'd in the page, which the policy forbids.)
                chart.locator("details.dx-chart-data > summary").click()
                chart.locator(".dx-explore[data-dx-state=loaded] .dx-explore-tree").wait_for()
            page.wait_for_timeout(500)
            assert page.evaluate("window.__dxPwned") is None, name
            assert page.evaluate("window.__dxViolations") == [], name
            # Planted markup is text, never elements.
            assert page.locator('img[src="x"], svg[onload]').count() == 0, name
            assert page.evaluate("[...document.scripts].filter(s => s.textContent.includes('__dxPwned')"
                                 " && s.type !== 'application/json').length") == 0, name
            text = page.evaluate("document.body.innerText")
            # Chart text: live SVGs, the static images' alt text, the charts' data tables.
            svg_text = page.evaluate("[...document.querySelectorAll('svg, .dx-chart img, .dx-chart-table')]"
                                     ".map(s => (s.getAttribute('aria-label') || s.getAttribute('alt') || '')"
                                     " + s.textContent).join(' ')")
            # The charts' explorable descriptions (explore.py): planted values are text there too.
            tree_text = page.evaluate("[...document.querySelectorAll('.dx-explore-tree')].map(t => t.textContent).join(' ')")
            context.close()
            if name.startswith("chapters/0"):
                assert IMG in tree_text or BREAK in tree_text, f"{name}: planted data not shown literally in a chart's tree"
                assert IMG in text or IMG in svg_text or "onerror" in svg_text, f"{name}: planted name not shown literally"
            if name in ("chapters/01-how-defection-works", "chapters/03-state-retaliation"):
                assert "svg onload" in text + svg_text, f"{name}: planted country name not shown literally"


def test_hostile_data_is_escaped_in_notebooks(hostile_site):
    import nbformat

    for path in sorted(hostile_site.rglob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        for cell in nb.cells:
            for output in cell.get("outputs", []):
                html = output.get("data", {}).get("text/html", "")
                assert IMG not in html and SCRIPT not in html, f"{path.name}: unescaped data in an HTML output"


def test_no_served_page_or_picture_holds_live_planted_markup(hostile_site):
    """Every page and picture the site serves (chapters, printable sheets, keys, cards, chart SVG
    files opened on their own, the front page): the planted markup is there only as escaped text."""
    live = [IMG, SCRIPT, "<svg onload"]
    checked, escaped_in = 0, set()
    for path in sorted(hostile_site.rglob("*")):
        if path.suffix not in (".html", ".svg", ".xhtml") or not path.is_file():
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        for payload in live:
            assert payload not in text, f"{path.relative_to(hostile_site)}: {payload!r} is live markup"
        if "&lt;img src=x onerror" in text or "&lt;svg onload" in text:
            escaped_in.add(path.relative_to(hostile_site).parts[0])
        checked += 1
    assert checked > 100
    # The probe reached them: planted names are printed (escaped) in each kind of file.
    assert {"chapters", "_static", "worksheets", "keys", "cards", "intro.html"} <= escaped_in, escaped_in
