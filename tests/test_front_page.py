"""The front page invites, page titles name the page once, and the case browser reads well.

* The front page (``intro.md``) opens with one line of story (cited), three ways in
  ("Start reading", "Run it yourself", "For teachers") and a chart from chapter 1
  (the chapter's chart node, copied in by ``_ext/dxbook/frontpage.py``) with its text alternative;
  in Chromium at 390x844 the chart and "Start reading" are on the first screen,
  light and dark, and nothing is wider than the screen. Screenshots go to
  ``$DX_SHOTS`` (default ``/tmp/dx-shots``).
* Every page's ``<title>`` names the book once; the front page's is the book's name
  and what it is.
* The case browser's caption counts the rows shown while filtered, every row has
  its coding note, and the Source column wraps between words (the table is not
  tens of thousands of pixels tall).
"""
from __future__ import annotations

import os
import re
import sys
from html import unescape
from pathlib import Path

import pytest

from conftest import ROOT, WATCH_POLICY, toc_docnames

SHOTS = Path(os.environ.get("DX_SHOTS", "/tmp/dx-shots"))
BOOK = "Defection Explained"
CHAPTER_1 = "chapters/01-how-defection-works.html"
TEACHERS = "chapters/teachers/index.html"


def _title(html: str) -> str:
    return " ".join(unescape(re.search(r"<title>(.*?)</title>", html, re.S).group(1)).split())


# --- unit: the front page is read again with the chapter it shows ---------------------------


def test_front_page_is_read_again_when_the_chapter_it_shows_is():
    """frontpage._outdated: an incremental build that reads chapter 1 again also rewrites the
    front page (its chart's files are named by content); a build that does not, does not."""
    from types import SimpleNamespace

    sys.path.insert(0, str(ROOT / "_ext"))
    from dxbook import frontpage

    env = SimpleNamespace(**{frontpage.ENV_KEY: {"intro": ["chapters/one"]}})
    assert frontpage._outdated(None, env, set(), {"chapters/one"}, set()) == ["intro"]
    assert frontpage._outdated(None, env, {"chapters/one"}, set(), set()) == ["intro"]
    assert frontpage._outdated(None, env, set(), {"chapters/two"}, set()) == []
    assert frontpage._outdated(None, env, set(), {"chapters/one", "intro"}, set()) == []  # read already


# --- the built site ---------------------------------------------------------------


@pytest.mark.build
def test_front_page_has_story_ways_in_and_a_picture_with_alt_text(site):
    html = (site / "intro.html").read_text(encoding="utf-8")
    article = re.search(r"<article[^>]*>(.*?)</article>", html, re.S).group(1)
    hero = re.search(r'<div class="dx-front-hero[^"]*">(.*?)<!--/dx-front-chart-->', article, re.S)
    assert hero, "the front page opens with its hero block"
    hero = hero.group(1)
    story = re.sub(r"<[^>]+>", "", re.search(r"<p>(.*?)</p>", hero, re.S).group(1))
    assert "7–0" in story.replace("\u2060", "") and "21 June 2010" in story
    assert re.search(r'<p>.*?href="chapters/references\.html#cite-', hero, re.S), "the story line is cited"
    links = {" ".join(re.sub(r"<[^>]+>", "", text).split()): href
             for href, text in re.findall(r'<a class="[^"]*" href="([^"]+)"[^>]*>(.*?)</a>',
                                          re.search(r'dx-ways-in(.*?)</ul>', hero, re.S).group(1), re.S)}
    assert links == {"Start reading": CHAPTER_1, "Run it yourself": "#run-it-yourself", "For teachers": TEACHERS}
    assert '<section id="run-it-yourself">' in article and "make" in article
    imgs = re.findall(r"<img [^>]*>", re.search(r'<figure class="dx-front-figure">(.*?)</figure>', hero, re.S).group(1))
    assert len(imgs) >= 2, "light and dark"
    for img in imgs:
        src = re.search(r'src="([^"]+)"', img).group(1)
        assert (site / src).is_file(), src
        alt = unescape(re.search(r'alt="([^"]*)"', img).group(1))
        assert len(alt) > 40, f"the picture needs its text alternative: {alt!r}"
    # The same image files the chapter shows (not a second rendering).
    chapter = (site / CHAPTER_1).read_text(encoding="utf-8")
    for src in re.findall(r'src="(_static/charts/[^"]+)"', hero):
        assert f'src="../{src}"' in chapter
    # The chapter map: every chapter a card with its link and reading time, filled in.
    chapter_map = re.search(r'<div class="dx-chapter-map[^"]*">(.*?)</dl>', article, re.S).group(1)
    for n in range(1, 5):
        assert re.search(rf"<dt>Chapter {n}: <a [^>]*href=\"chapters/0{n}-", chapter_map), n
    assert len(re.findall(r"about \d+ minutes", chapter_map)) == 4 and "{{" not in chapter_map
    assert "<table" not in re.sub(r"<div class=\"dx-front.*?<!--/dx-front-chart-->", "",
                                  article.split("How to use this book")[0], flags=re.S)


@pytest.mark.build
def test_page_titles_name_the_book_once(site):
    front = (site / "intro.html").read_text(encoding="utf-8")
    assert _title(front) == f"{BOOK}: an open textbook"
    assert f'<meta property="og:title" content="{BOOK}: an open textbook" />' in front
    pages = set(toc_docnames()) - {"intro"}
    checked = 0
    for path in site.rglob("*.html"):
        if "_static" in path.parts or path.name == "index.html" and path.parent == site:
            continue  # the root redirect page
        html = path.read_text(encoding="utf-8")
        if "<title>" not in html:
            continue
        title = _title(html)
        assert title.count(BOOK) == 1, f"{path.relative_to(site)}: {title!r}"
        if str(path.relative_to(site).with_suffix("")) in pages:
            assert re.fullmatch(rf".+ — {BOOK}", title), f"{path.relative_to(site)}: {title!r}"
            og = re.search(r'<meta property="og:title" content="([^"]*)"', html)
            assert og is None or unescape(og.group(1)).count(BOOK) == 1, path
        checked += 1
    assert checked > 10


@pytest.mark.build
def test_case_browser_has_every_coding_note(site):
    from test_pages import page_cases, read_cases

    parsed = page_cases((site / "chapters" / "data.html").read_text(encoding="utf-8"))
    assert parsed.headings[-1] == "Note"
    notes = {f"case-{c['id']}": " ".join(c["note"].split()) for c in read_cases()}
    assert len(parsed.rows) == len(notes)
    for row in parsed.rows:
        assert len(row["cells"]) == len(parsed.headings), row["id"]
        if notes[row["id"]]:
            assert " ".join(row["cells"][-1].split()) == "Note" + notes[row["id"]], row["id"]
            assert row["tags"].count("details") == 1 and row["tags"].count("summary") == 1, row["id"]


# --- in Chromium ----------------------------------------------------------------------


def _open(browser, server, path, width, height, scheme="light"):
    context = browser.new_context(viewport={"width": width, "height": height}, color_scheme=scheme)
    page = context.new_page()
    errors = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.add_init_script(WATCH_POLICY)
    page.goto(f"{server}/{path}", wait_until="load")
    return context, page, errors


@pytest.mark.browser
@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_front_page_first_phone_screen_has_the_picture_and_start_reading(browser, server, scheme):
    context, page, errors = _open(browser, server, "intro.html", 390, 844, scheme)
    try:
        start = page.get_by_role("link", name="Start reading", exact=True)
        assert start.is_visible()
        box = start.bounding_box()
        assert box["y"] >= 0 and box["y"] + box["height"] <= 844, f"Start reading below the first screen: {box}"
        for name in ("Run it yourself", "For teachers"):
            link = page.get_by_role("link", name=name, exact=True)
            assert link.first.is_visible(), name
            assert link.first.bounding_box()["y"] + link.first.bounding_box()["height"] <= 844, name
        picture = page.locator(f".dx-front-figure img.dx-chart-{scheme}")
        assert picture.is_visible(), f"the {scheme} picture is shown"
        page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=picture.element_handle())
        pic = picture.bounding_box()
        assert pic["height"] > 150 and pic["y"] >= 0 and pic["y"] + pic["height"] <= 844, \
            f"the picture is not wholly on the first screen: {pic}"
        assert pic["x"] >= 0 and pic["x"] + pic["width"] <= 390
        assert page.locator(f".dx-front-figure img.dx-chart-{'dark' if scheme == 'light' else 'light'}").is_hidden()
        assert page.evaluate("document.documentElement.scrollWidth") <= 390, "nothing wider than the phone"
        assert len(page.locator(".dx-front-hero p").first.inner_text()) > 60, "a line of story"
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / f"front-390x844-{scheme}.png"))
        assert not errors and page.evaluate("window.__dxViolations") == []
    finally:
        context.close()


@pytest.mark.browser
def test_front_page_chapter_map_reads_well_on_a_phone(browser, server):
    context, page, errors = _open(browser, server, "intro.html", 390, 844)
    try:
        terms = page.locator(".dx-chapter-map dt")
        assert terms.count() == 4
        for i in range(4):
            # Each card's summary runs at a readable width (not a word or two per line).
            width = page.locator(".dx-chapter-map dd").nth(i).bounding_box()["width"]
            assert width >= 300, width
            assert terms.nth(i).locator("a").count() == 1
        page.locator(".dx-chapter-map").scroll_into_view_if_needed()
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / "front-390x844-chapters.png"), full_page=True)
    finally:
        context.close()


@pytest.mark.browser
def test_case_browser_caption_counts_what_is_shown_and_rows_stay_short(browser, server):
    context, page, errors = _open(browser, server, "chapters/data.html", 1280, 900)
    try:
        caption = page.locator(".dx-cases-table caption")
        rows = page.locator(".dx-cases-table tbody tr")
        total = rows.count()
        assert total > 100
        assert caption.inner_text() == f"All {total} cases in cases.csv"
        page.get_by_label("Filter the cases").fill("france")
        shown = page.locator(".dx-cases-table tbody tr:not([hidden])").count()
        assert 0 < shown < total
        assert caption.inner_text() == f"{shown} of {total} cases shown"
        assert page.get_by_role("status").inner_text() == f"{shown} of {total} cases shown"
        page.get_by_label("Filter the cases").fill("")
        assert caption.inner_text() == f"All {total} cases in cases.csv"
        # Every row has its note column; the note opens in place.
        assert page.locator(".dx-cases-table tbody tr td:nth-child(9)").count() == total
        note = rows.first.locator("td:nth-child(9) details")
        note.locator("summary").click()
        assert note.get_attribute("open") is not None and len(note.inner_text()) > 40
        note.locator("summary").click()
        # The Source column wraps between words: it is wide enough for a word, and the table
        # stays a few thousand pixels tall rather than tens of thousands.
        widths = page.eval_on_selector_all(".dx-cases-table tbody td:nth-child(8)",
                                           "cells => cells.map(c => c.getBoundingClientRect().width)")
        assert min(widths) >= 200, min(widths)
        height = page.locator(".dx-cases-table").bounding_box()["height"]
        assert height < 75 * total, f"the table is {height:.0f} px tall"
        assert page.locator(".dx-cases-table thead th:nth-child(9) button").count() == 0, "the note does not sort"
        assert not errors and page.evaluate("window.__dxViolations") == []
    finally:
        context.close()
