"""The book offline and frozen: the site ZIP opened from disk, editions, "Cite this edition".

The site ZIP and the edition are made by ``make pdf`` (tools/editions.py); these tests read the
built site, except the simulated releases, which freeze two made-up editions in a scratch folder
(cheap: no build).
"""
from __future__ import annotations

import posixpath
import re
import zipfile
from pathlib import Path

import pytest
import yaml

from conftest import ROOT, watched_page

import sys
sys.path.insert(0, str(ROOT / "_ext"))
from tools import editions as ed  # noqa: E402
from dxbook import releases  # noqa: E402

CFF = yaml.safe_load((ROOT / "CITATION.cff").read_text(encoding="utf-8"))
VERSION = str(CFF["version"])


def _zip(site: Path) -> Path:
    path = site / "offline" / ed.site_zip_name(VERSION)
    assert path.is_file(), f"no site ZIP at {path}: make pdf writes it (tools/editions.py zip)"
    return path


@pytest.mark.build
def test_site_zip_is_reproducible_and_whole(site):
    with zipfile.ZipFile(_zip(site)) as z:
        infos = z.infolist()
        names = [i.filename for i in infos]
    assert names == sorted(names)
    assert {i.date_time for i in infos} == {ed.ZIP_TIME}
    top = f"defection-explained-{VERSION}/"
    assert all(n.startswith(top) for n in names)
    for must in ("index.html", "chapters/01-how-defection-works.html", "search.html", "searchindex.js",
                 "pdf/defection-explained.pdf", f"downloads/defection-{VERSION}-py3-none-any.whl"):
        assert top + must in names, must
    assert not [n for n in names if n.startswith(top + "editions/") or n.endswith(ed.site_zip_name(VERSION))]
    # The same site gives the same bytes.
    assert ed.reproducible_zip({"b": b"1", "a": b"2"}) == ed.reproducible_zip({"a": b"2", "b": b"1"})


@pytest.mark.browser
def test_site_zip_works_from_disk(site, browser, tmp_path):
    """Unpacked, opened from file://: navigation, a chart image, the quiz, search; no errors, nothing remote."""
    with zipfile.ZipFile(_zip(site)) as z:
        z.extractall(tmp_path)
    root = tmp_path / f"defection-explained-{VERSION}"
    context, page, errors, remote = watched_page(browser, (root / "index.html").as_uri(),
                                                 lambda u: u.startswith(("file:", "data:", "blob:")))
    try:
        page.locator("nav.bd-docs-nav a[href*='01-how-defection-works']").first.click()
        page.wait_for_load_state("load")
        assert page.url.startswith("file://") and page.url.split("#")[0].endswith("chapters/01-how-defection-works.html")
        assert page.locator("h1").first.inner_text().strip()
        # A chart's static image loads from disk.
        img = page.locator("img[src*='_static/charts/']").first
        img.scroll_into_view_if_needed()
        page.wait_for_function("i => i.complete && i.naturalWidth > 0", arg=img.element_handle(), timeout=10000)
        # The quiz checks an answer without fetch().
        form = page.locator("form.dx-q").first
        form.scroll_into_view_if_needed()
        form.locator("input").first.check() if form.locator("input[type=radio], input[type=checkbox]").count() \
            else form.locator("input").first.fill("1")
        form.locator("button[type=submit], button").first.click()
        page.wait_for_function("f => f.className.match(/dx-q-(right|wrong|shown)/)", arg=form.element_handle())
        feedback = form.locator(".dx-q-feedback").inner_text()
        assert "could not be loaded" not in feedback and feedback.strip()
        # Search finds pages from disk.
        page.goto((root / "search.html").as_uri() + "?q=asylum", wait_until="load")
        page.wait_for_function("() => document.querySelectorAll('#search-results li').length > 0", timeout=15000)
        violations = page.evaluate("window.__dxViolations")
    finally:
        context.close()
    assert not errors, "\n".join(errors)
    assert not remote, remote
    assert not violations, violations


@pytest.mark.build
def test_every_page_cites_this_edition(site):
    from conftest import toc_docnames

    when = releases.long_date(str(CFF["date-released"]))
    for name in toc_docnames():
        html = (site / f"{name}.html").read_text(encoding="utf-8")
        m = re.search(r'<p class="dx-cite"><a href="([^"]+)">([^<]+)</a></p>', html)
        assert m, f"{name}: no 'Cite this edition'"
        href = m.group(1)
        target = name + ".html" if href.startswith("#") else posixpath.normpath(posixpath.join(posixpath.dirname(name), href))
        assert target == "chapters/editions.html#cite" or (href == "#cite" and name == "chapters/editions"), (name, href)
        assert m.group(2) == f"Cite this edition (version {VERSION}, {when})", name
    editions = (site / "chapters" / "editions.html").read_text(encoding="utf-8")
    cite = editions[editions.index('id="cite"'):]
    cite = re.sub(r"<[^>]+>", "", cite[:cite.index("</section>")])  # the BibTeX is highlighted
    assert f"(Version {VERSION})" in cite and f"version   = {{{VERSION}}}" in cite and str(CFF["date-released"]) in cite


@pytest.mark.build
def test_editions_page_lists_current_edition_files(site):
    html = (site / "chapters" / "editions.html").read_text(encoding="utf-8")
    for section in releases.changelog_sections(ROOT):
        assert f"Edition {section['version']}, {releases.long_date(section['date'])}" in html
    links = re.findall(r'href="\.\./(editions/[^"]+)"', html)
    assert any(f"editions/{VERSION}/" in link for link in links)
    for link in links:
        assert (site / link).is_file(), f"the Editions page links to {link}, which the site lacks"
    wheel = site / "editions" / VERSION / f"defection-{VERSION}-py3-none-any.whl"
    assert wheel.read_bytes() == (site / "downloads" / wheel.name).read_bytes()


def _fake_site(folder: Path, version: str, text: str) -> Path:
    site = folder / f"site-{version}"
    for rel in ("pdf/defection-explained.pdf", f"offline/defection-explained-site-{version}.zip",
                "questions/01-moodle.xml", f"downloads/defection-{version}-py3-none-any.whl",
                f"downloads/defection-{version}-py3-none-any.whl.sha256", "CITATION.cff"):
        (site / rel).parent.mkdir(parents=True, exist_ok=True)
        (site / rel).write_text(f"{text} {rel}")
    return site


def test_two_releases_keep_the_first_edition(tmp_path, monkeypatch):
    """Release 1.0.0, then 1.1.0 (a new site, as a new deployment): 1.0.0's files stay, unchanged and listed."""
    archive = tmp_path / "archive"
    book = tmp_path / "book"
    book.mkdir()
    changelog = "# Changelog\n\n## {v2}\n\n## 1.0.0 (2027-01-10)\n\nFirst edition.\n\n### Factual corrections\n- x\n"
    for v, day, text in (("1.0.0", "2027-01-10", "one"), ("1.1.0", "2027-03-02", "two")):
        (book / "CITATION.cff").write_text(
            f'title: "Book"\nauthors:\n  - name: "Team"\nversion: {v}\ndate-released: {day}\nurl: "https://x.test/"\n')
        head = "1.1.0 (2027-03-02)\n\nSecond edition." if v == "1.1.0" else "0.0.0 (2027-01-01)"
        (book / "CHANGELOG.md").write_text(changelog.format(v2=head))
        monkeypatch.setattr(ed, "ROOT", book)
        monkeypatch.setattr(ed, "version", lambda root=book: yaml.safe_load((book / "CITATION.cff").read_text())["version"])
        site = _fake_site(tmp_path, v, text)
        assert ed.freeze(site, archive, echo=lambda *a: None) == 0
        # Freezing again never rewrites a published edition.
        (site / "pdf" / "defection-explained.pdf").write_text("changed later")
        assert ed.freeze(site, archive, echo=lambda *a: None) == 0
    first = archive / "1.0.0"
    assert (first / "defection-explained-1.0.0.pdf").read_text() == "one pdf/defection-explained.pdf"
    assert (site / "editions" / "1.0.0" / "defection-explained-1.0.0.pdf").read_text() == "one pdf/defection-explained.pdf"
    assert (site / "downloads" / "defection-1.0.0-py3-none-any.whl").is_file()  # old notebooks install it
    assert (site / "downloads" / "defection-1.1.0-py3-none-any.whl").read_text().startswith("two")
    sums = (first / "SHA256SUMS").read_text()
    assert "defection-explained-lms-1.0.0.zip" in sums and "defection-1.0.0-py3-none-any.whl" in sums
    page = releases.editions_markdown(book, archive)
    assert "## Edition 1.1.0, 2 March 2027 (current)" in page and "## Edition 1.0.0, 10 January 2027" in page
    assert '<a href="../editions/1.0.0/defection-explained-1.0.0.pdf">' in page
    assert '<a href="../editions/1.0.0/defection-1.0.0-py3-none-any.whl">' in page
    assert "First edition." in page and "Factual corrections" in page
    cite = releases.citation(yaml.safe_load((book / "CITATION.cff").read_text()), "1.0.0", "2027-01-10")
    assert "(Version 1.0.0)" in cite["apa"] and "2027, January 10" in cite["apa"] and "date      = {2027-01-10}" in cite["bibtex"]
