"""The teacher guide's reading figures (``readability``) and its list of materials
(``teaching``'s ``{dx-materials}``), on tests/roots/test-teaching."""
from __future__ import annotations

import re
import shutil

import pytest
from sphinx.errors import ExtensionError

from dxbook import readability

from .output import soup, warnings

GUIDE = "chapters/teachers/guide"


@pytest.mark.sphinx("html", testroot="teaching", shared_result="teaching")
def test_guide_quotes_the_chapters_figures(app):
    app.build()
    text = " ".join(soup(app, GUIDE).get_text(" ").split())
    # chapters/01-prose.md: "The cat sat on the mat. The dog ran to the park." 12 words, 2 sentences;
    # reading time is words / 200 a minute, rounded up to 5 minutes.
    assert "Chapter 1 has 12 words in 2 sentences; allow 5 minutes." in text
    assert "{{" not in text
    assert "no chapter chapters/99-missing" in warnings(app)  # the build that made the shared output


@pytest.mark.sphinx("html", testroot="teaching", shared_result="teaching")
def test_materials_link_into_the_site_from_a_nested_page(app):
    app.build()
    lists = soup(app, GUIDE).find_all("ul", class_="dx-downloads")
    assert len(lists) == 1  # the missing chapter's directive made none
    hrefs = [a["href"] for a in lists[0].find_all("a")]
    assert "../../worksheets/01-prose.html" in hrefs  # two folders up from chapters/teachers/
    assert all(h.startswith("../../") for h in hrefs)


@pytest.mark.sphinx("html", testroot="teaching", srcdir="teaching-edited")
def test_editing_the_chapter_updates_the_guide(app):
    """The guide depends on the chapter it quotes: an incremental build reads it again."""
    app.build()
    assert "12 words" in soup(app, GUIDE).get_text(" ")
    chapter = app.srcdir / "chapters" / "01-prose.md"
    chapter.write_text(chapter.read_text(encoding="utf-8") + "\nA third sentence adds six words.\n", encoding="utf-8")
    app.build()
    assert "18 words in 3 sentences" in " ".join(soup(app, GUIDE).get_text(" ").split())


@pytest.mark.sphinx("html", testroot="teaching", srcdir="teaching-unknown")
def test_unknown_figure_stops_the_build_naming_the_line(app):
    guide = app.srcdir / "chapters" / "teachers" / "guide.md"
    guide.write_text(guide.read_text(encoding="utf-8") + "\nAnd {{ ch1_bogus }}.\n", encoding="utf-8")
    with pytest.raises(ExtensionError, match=r"guide\.md, line \d+: unknown figure ch1_bogus"):
        app.build()


def test_stats_on_known_text():
    s = readability.stats("# Title\n\nOne two three. Four five six seven.\n\n```{code-cell}\nx = 1\n```\n")
    assert (s["words"], s["sentences"], s["wps"]) == (7, 2, 3.5)
    assert readability.syllables("table") == 2 and readability.syllables("cat") == 1
    assert re.fullmatch(r"-?\d+\.\d", str(s["grade"]))
