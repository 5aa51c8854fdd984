"""The reference pages: the case browser, page history, changes and corrections, accessibility.

The case browser (``defection.tables.case_browser``) shows every case of
``data/cases.csv`` escaped, with source links; its script is on the data page only.
Every page's "Last updated" date is the git date of its sources, never the build's
(checked on the site and on a probe book whose commits are years old, which also
builds untracked, uncommitted, git-less and shallow checkouts with ``-W``). The
changes page shows every factual correction in ``CHANGELOG.md``; the accessibility
statement is in the table of contents and quotes the measurements it relies on.
The browser side of the case browser is at the end of ``tests/test_browser.py``.
"""
from __future__ import annotations

import csv
import gzip
import os
import pickle
import re
import shutil
import subprocess
import sys
from datetime import datetime, timezone
from html import unescape
from html.parser import HTMLParser
from pathlib import Path

import pytest
import yaml

from conftest import ROOT, toc_docnames

CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
ISSUES_URL = CONFIG["repository"]["url"].rstrip("/") + "/issues"

#: The data page's own bytes (its HTML and the case browser's script); the theme's
#: shared CSS and JS come on top and are cached across pages. (0.5.0: 35,000 -> 36,000 bytes
#: gzipped, for the maps' new table and column documented on the page and longer coding notes.)
DATA_PAGE_BUDGET = {"html": 150_000, "html_gzip": 36_000, "js": 6_000}


# --- helpers --------------------------------------------------------------------


class Cases(HTMLParser):
    """The case browser's rows: id, the text of each cell, and each cell's links."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.rows, self.headings, self.in_table, self.cell, self.row = [], [], False, None, None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "table" and "dx-cases-table" in (a.get("class") or ""):
            self.in_table = True
        elif self.in_table and tag == "tr":
            self.row = {"id": a.get("id"), "cells": [], "links": []}
        elif self.in_table and tag in ("td", "th"):
            self.cell = []
        elif self.in_table and tag == "a" and self.row is not None:
            self.row["links"].append(a.get("href"))
        elif self.in_table and self.cell is not None:
            self.row.setdefault("tags", []).append(tag)

    def handle_endtag(self, tag):
        if not self.in_table:
            return
        if tag in ("td", "th") and self.cell is not None:
            (self.row["cells"] if self.row is not None else self.headings).append("".join(self.cell).strip())
            self.cell = None
        elif tag == "tr" and self.row is not None:
            if self.row["id"]:
                self.rows.append(self.row)
            else:
                self.headings = self.row["cells"]
            self.row = None
        elif tag == "table":
            self.in_table = False

    def handle_data(self, data):
        if self.cell is not None:
            self.cell.append(data)


def page_cases(html: str) -> Cases:
    parser = Cases()
    parser.feed(html)
    return parser


def text_of(html: str) -> str:
    """The page's article as plain text, whitespace and typographic quotes normalised."""
    article = re.search(r"<article[^>]*>(.*?)</article>", html, re.S).group(1)
    return norm(unescape(re.sub(r"<[^>]+>", " ", article)))


def norm(text: str) -> str:
    for a, b in {"\u201c": '"', "\u201d": '"', "\u2018": "'", "\u2019": "'", "\u2013": "--", "\u2014": "---",
                 "\u2026": "...", "\u00a0": " "}.items():
        text = text.replace(a, b)
    return " ".join(text.split())


def read_cases() -> list[dict]:
    from defection.paths import data_dir

    with (data_dir() / "cases.csv").open(encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


def country_names() -> dict[str, str]:
    from defection.paths import data_dir

    with (data_dir() / "countries.csv").open(encoding="utf-8-sig", newline="") as fh:
        return {r["code"]: r["name"] for r in csv.DictReader(fh)}


# --- the case browser -------------------------------------------------------------


def test_case_browser_table_is_escaped_and_never_links_a_non_web_address():
    from defection import data, tables

    cases = data.cases().head(3).copy()
    for column in ("name", "source_title", "origin_name", "note"):
        cases[column] = cases[column].astype("object")
    cases.loc[cases.index[0], "name"] = '<img src=x onerror="alert(1)">'
    cases.loc[cases.index[0], "source_title"] = "<script>alert(2)</script>"
    cases.loc[cases.index[1], "origin_name"] = "\"'><svg onload=alert(3)>"
    cases.loc[cases.index[1], "source_url"] = 'https://example.org/"onmouseover="alert(4)'
    cases.loc[cases.index[2], "source_url"] = "javascript:alert(5)"
    cases.loc[cases.index[2], "note"] = "</details></td><script>alert(6)</script>"
    html = tables.case_browser(cases)._repr_html_()
    assert "&lt;/details&gt;&lt;/td&gt;&lt;script&gt;alert(6)" in html
    assert html.count("<details>") == html.count("</details>") == 3
    assert "<img" not in html and "<script" not in html and "<svg" not in html
    assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in html
    assert 'href="https://example.org/&quot;onmouseover=&quot;alert(4)"' in html
    assert not any(h.lower().startswith("javascript") for h in re.findall(r'href="([^"]*)"', html))
    assert len(re.findall(r"<a href=", html)) == 2  # the javascript: source is shown as text only
    parsed = page_cases(html)
    assert len(parsed.rows) == 3 and parsed.rows[0]["cells"][0] == '<img src=x onerror="alert(1)">'


@pytest.mark.build
def test_case_browser_has_every_case_with_names_labels_and_source(site):
    from defection import data

    html = (site / "chapters" / "data.html").read_text(encoding="utf-8")
    parsed = page_cases(html)
    assert parsed.headings == ["Name", "Year", "From", "To", "Route", "Outcome", "Confidence", "Source", "Note"]
    rows = {r["id"]: r for r in parsed.rows}
    cases = read_cases()
    assert len(parsed.rows) == len(cases) == len(rows), "one row per case in cases.csv"
    names = country_names()
    for case in cases:
        row = rows.get(f"case-{case['id']}")
        assert row, f"{case['id']} missing from the case browser"
        assert row["cells"][:7] == [
            case["name"].strip(), case["year"], names[case["origin_country"]],
            names.get(case["destination_country"], ""), data.label(case["method"]),
            data.label(case["outcome"]), data.label(case["confidence"])], case["id"]
        assert row["cells"][7] == case["source_title"].strip(), case["id"]
        assert row["links"] == [case["source_url"]], case["id"]
        # The only markup inside a cell: the source link, and the note folded in <details>.
        assert set(row.get("tags", [])) <= {"details", "summary"}, f"{case['id']}: markup inside a cell: {row.get('tags')}"
    # Sorted by year (then name) as built, and the Year heading says so.
    years = [int(r["cells"][1]) for r in parsed.rows]
    assert years == sorted(years)
    assert re.search(r'<th scope="col" data-dx-sort="number" aria-sort="ascending">Year</th>', html)
    assert '<caption id="dx-cases-caption">' in html


@pytest.mark.build
def test_case_browser_script_only_where_the_table_is_and_the_page_stays_light(site):
    for path in site.rglob("*.html"):
        text = path.read_text(encoding="utf-8")
        has_table = 'class="dx-cases" data-dx-cases' in text
        assert ("dx/dx-cases.js" in text) == has_table, path.relative_to(site)
        if "dx/dx-cases.js" in text:
            assert re.search(r'<script defer="defer" src="[^"]*dx/dx-cases\.js', text), "deferred"
    html = (site / "chapters" / "data.html").read_bytes()
    js = (site / "_static" / "dx" / "dx-cases.js").read_bytes()
    weight = {"html": len(html), "html_gzip": len(gzip.compress(html, 9)), "js": len(js)}
    over = {k: (v, DATA_PAGE_BUDGET[k]) for k, v in weight.items() if v > DATA_PAGE_BUDGET[k]}
    assert not over, f"the data page is over its budget: {over}"
    assert not re.search(rb"\.(inner|outer)HTML\s*[+]?=|insertAdjacentHTML|document\.write", js), \
        "the case browser never parses data as markup"


# --- page history -------------------------------------------------------------------


def git(*args: str, cwd: Path = ROOT, env: dict | None = None) -> str:
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True,
                          env={**os.environ, **(env or {})}).stdout.strip()


def page_dependencies(site: Path) -> dict[str, set[str]]:
    """What Sphinx recorded each page as depending on (included files, data, question banks)."""
    env_file = site.parent / ".doctrees" / "environment.pickle"
    with env_file.open("rb") as fh:
        env = pickle.load(fh)
    out = {}
    for doc, deps in env.dependencies.items():
        paths = set()
        for dep in deps:
            path = (Path(env.srcdir) / dep).resolve()
            try:
                paths.add(str(path.relative_to(Path(env.srcdir).resolve())))
            except ValueError:
                pass
        out[doc] = paths
    return out


def git_date(files: list[str]) -> str:
    """The UTC day of the last commit changing any of ``files`` (the date the footer shows)."""
    stamp = git("log", "-1", "--format=%at", "--", *files)
    return datetime.fromtimestamp(int(stamp), timezone.utc).date().isoformat() if stamp else ""


FOOTER_DATE = re.compile(r'<p class="last-updated">\s*Last updated on <time datetime="(\d{4}-\d\d-\d\d)">([^<]+)</time>')


def shown_date(html: str) -> tuple[str, str] | None:
    m = FOOTER_DATE.search(html)
    return (m.group(1), m.group(2)) if m else None


def long_date(iso: str) -> str:
    d = datetime.strptime(iso, "%Y-%m-%d")
    return f"{d.day} {d:%B} {d.year}"


@pytest.mark.build
@pytest.mark.parametrize("name", toc_docnames())
def test_page_shows_the_git_date_of_its_sources(site, name):
    source = next(str(p.relative_to(ROOT)) for p in (ROOT / f"{name}.md", ROOT / f"{name}.ipynb") if p.exists())
    deps = sorted(page_dependencies(site).get(name, set()))
    expected = git_date([source, *deps])
    assert expected, f"{source} is not committed: a page's date comes from git"
    shown = shown_date((site / f"{name}.html").read_text(encoding="utf-8"))
    assert shown, (f"{name}: no 'Last updated' date in the footer (a shallow clone? CI needs "
                   "fetch-depth: 0; or git is missing)")
    assert shown == (expected, long_date(expected)), f"{name}: shows {shown}, git says {expected}"


PROBE_CONFIG_KEYS = ("html_last_updated_fmt", "suppress_warnings")


def probe_config() -> str:
    """A probe book with the book's own history settings (and the dxbook extension)."""
    sphinx = CONFIG["sphinx"]
    config = {key: value for key, value in sphinx["config"].items()
              if key.startswith("git_") or key in PROBE_CONFIG_KEYS}
    extensions = [e for e in sphinx["extra_extensions"] if "git" in e]
    assert extensions == ["sphinx_last_updated_by_git"], extensions
    return yaml.safe_dump({"title": "probe", "only_build_toc_files": True,
                           "exclude_patterns": ["_build", "_ext"],
                           "sphinx": {"extra_extensions": extensions, "local_extensions": {"dxbook": "_ext"},
                                      "config": config}})


def build_probe(book: Path) -> Path:
    jb = Path(sys.executable).parent / "jupyter-book"
    result = subprocess.run([str(jb), "build", str(book), "--path-output", str(book), "-W", "-n", "--keep-going"],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return book / "_build" / "html"


OLD = {"GIT_AUTHOR_DATE": "2001-02-03T10:00:00+00:00", "GIT_COMMITTER_DATE": "2001-02-03T10:00:00+00:00"}
LATER = {"GIT_AUTHOR_DATE": "2002-03-04T23:30:00-05:00", "GIT_COMMITTER_DATE": "2002-03-04T23:30:00-05:00"}
LATEST = {"GIT_AUTHOR_DATE": "2003-01-01T12:00:00+00:00", "GIT_COMMITTER_DATE": "2003-01-01T12:00:00+00:00"}
WHO = {"GIT_AUTHOR_NAME": "probe", "GIT_AUTHOR_EMAIL": "probe@example.invalid",
       "GIT_COMMITTER_NAME": "probe", "GIT_COMMITTER_EMAIL": "probe@example.invalid"}


@pytest.fixture(scope="module")
def probe_repo(tmp_path_factory):
    book = tmp_path_factory.mktemp("history") / "book"
    book.mkdir()
    shutil.copytree(ROOT / "_ext", book / "_ext", ignore=shutil.ignore_patterns("__pycache__"))
    (book / "_config.yml").write_text(probe_config())
    (book / "_toc.yml").write_text("format: jb-book\nroot: old\nchapters:\n  - file: edited\n  - file: draft\n")
    (book / ".gitignore").write_text("_build/\n")
    (book / "old.md").write_text("# Old page\n\nUnchanged since 2001.\n")
    (book / "edited.md").write_text("# Edited page\n\nCommitted in 2002.\n")
    git("init", "-q", "-b", "main", cwd=book)
    git("add", "old.md", "_config.yml", "_toc.yml", ".gitignore", cwd=book)
    git("commit", "-q", "-m", "old", cwd=book, env={**WHO, **OLD})
    git("add", "edited.md", cwd=book)
    git("commit", "-q", "-m", "later", cwd=book, env={**WHO, **LATER})
    # Not committed: an edit to a tracked page, a new page, and the extension itself.
    (book / "edited.md").write_text("# Edited page\n\nCommitted in 2002, edited since.\n")
    (book / "draft.md").write_text("# Draft page\n\nNever committed.\n")
    return book


@pytest.mark.build
def test_dates_come_from_git_not_the_build_and_drafts_build(probe_repo):
    html = build_probe(probe_repo)
    assert shown_date((html / "old.html").read_text()) == ("2001-02-03", "3 February 2001")
    # Committed at 23:30 on 4 March 2002 in UTC-5: 5 March in UTC, the book's time zone.
    assert shown_date((html / "edited.html").read_text()) == ("2002-03-05", "5 March 2002")
    draft = (html / "draft.html").read_text()
    assert 'class="last-updated"' not in draft, "an uncommitted page has no date (not the build's)"
    assert "_sources/draft.md" in draft, "an uncommitted page keeps its source download"
    # Committing the draft dates it in the next (incremental) build, though the file did not change.
    git("add", "draft.md", cwd=probe_repo)
    git("commit", "-q", "-m", "draft", cwd=probe_repo, env={**WHO, **LATEST})
    html = build_probe(probe_repo)
    assert shown_date((html / "draft.html").read_text()) == ("2003-01-01", "1 January 2003")
    assert shown_date((html / "old.html").read_text()) == ("2001-02-03", "3 February 2001")


@pytest.mark.build
def test_checkouts_without_history_build_without_dates(probe_repo, tmp_path):
    # A shallow clone (one commit): a file last changed before it cannot be dated.
    shallow = tmp_path / "shallow"
    git("clone", "-q", "--depth", "1", probe_repo.as_uri(), str(shallow), cwd=tmp_path)
    shutil.copytree(probe_repo / "_ext", shallow / "_ext")
    shutil.copy(probe_repo / "draft.md", shallow / "draft.md")
    pages = build_probe(shallow)
    assert shown_date((pages / "old.html").read_text()) is None
    # A source archive: no git repository at all.
    archive = tmp_path / "archive"
    shutil.copytree(probe_repo, archive, ignore=shutil.ignore_patterns(".git", "_build"))
    pages = build_probe(archive)
    assert shown_date((pages / "old.html").read_text()) is None


# --- changes and corrections ------------------------------------------------------------


def factual_corrections(changelog: str) -> list[str]:
    """Every bullet under a "Factual corrections" heading, as plain text."""
    bullets, inside, current = [], False, None
    for line in changelog.splitlines():
        heading = re.match(r"^(#+)\s+(.*)", line)
        if heading:
            inside = heading.group(2).strip().lower() == "factual corrections"
            current = None
            continue
        if not inside:
            continue
        if line.startswith("- "):
            current = [line[2:]]
            bullets.append(current)
        elif current is not None and line.startswith("  ") and line.strip():
            current.append(line.strip())
        elif not line.strip() or not line.startswith(" "):
            current = None
    return [norm(re.sub(r"\*\*|\*|`", "", " ".join(b))) for b in bullets]


@pytest.mark.build
def test_changes_page_lists_every_factual_correction(site):
    bullets = factual_corrections((ROOT / "CHANGELOG.md").read_text(encoding="utf-8"))
    assert len(bullets) >= 30, "the changelog's factual corrections were not found"
    html = (site / "chapters" / "changes.html").read_text(encoding="utf-8")
    text = text_of(html)
    # Compared without spaces: inline markup (emphasis, code) splits the page's text.
    bare = "".join(text.split())
    missing = [b[:80] for b in bullets if "".join(b.split()) not in bare]
    assert not missing, missing
    assert "Factual corrections" in text
    assert f'href="{ISSUES_URL}"' in html, "how to report an error"
    assert "chapters/changes" in toc_docnames()
    intro = (site / "intro.html").read_text(encoding="utf-8")
    assert 'href="chapters/changes.html"' in intro


# --- accessibility statement -------------------------------------------------------------


@pytest.mark.build
def test_accessibility_statement_is_in_the_toc_and_quotes_its_measurements(site):
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    reference = next(p for p in toc["parts"] if p["caption"] == "Reference")
    assert {"file": "chapters/accessibility"} in reference["chapters"]
    html = (site / "chapters" / "accessibility.html").read_text(encoding="utf-8")
    text = text_of(html)
    for section in ("What is tested", "Results", "Known limits", "Report a problem"):
        assert re.search(rf"<h2>{section}", html), section
    assert f'href="{ISSUES_URL}"' in html and "mailto:" not in html
    # The Lighthouse numbers and their date are those of benchmarks/RESULTS.md.
    results = (ROOT / "benchmarks" / "RESULTS.md").read_text(encoding="utf-8")
    measured = re.search(r"Generated by `make bench` on (\d{4}-\d\d-\d\d)", results).group(1)
    assert f"measured on {long_date(measured)}" in text
    scores = re.findall(r"^\| accessibility, [^|]+ \| = 1\.00 \| worst ([\d.]+)", results, re.M)
    assert scores and all(s == "1.00" for s in scores), scores
    assert "accessibility score 1.00 on every page measured" in text
    lighthouse = re.search(r"with Lighthouse (\d+\.\d+\.\d+)", results).group(1)
    assert f"Lighthouse {lighthouse}" in text
    # The axe-core version named is the one the browser tests run.
    import axe_playwright_python

    axe_js = (Path(axe_playwright_python.__file__).parent / "axe.min.js").read_text(encoding="utf-8")[:200]
    version = re.search(r"axe v(\d+\.\d+)", axe_js).group(1)
    assert f"axe-core {version}" in text
