"""`make pdf` output: each chapter's PDF has its title and its figures' captions."""
from __future__ import annotations

import re
from html import unescape
from pathlib import Path

import pytest

from conftest import PDF_DIR, ROOT, chapter_docnames, pdf_name, toc_docnames

pytestmark = pytest.mark.build


def words(text: str) -> str:
    return " ".join(re.sub(r"[^\w]+", " ", unescape(text)).split()).lower()


def pdf_text(path: Path) -> str:
    from pypdf import PdfReader

    assert path.is_file(), f"{path} missing: run `make pdf`"
    return "\n".join(page.extract_text() or "" for page in PdfReader(str(path)).pages)


def outline_titles(path: Path) -> list:
    """The PDF's bookmarks as nested lists of titles."""
    from pypdf import PdfReader

    def walk(items):
        return [walk(i) if isinstance(i, list) else i.title for i in items]

    return walk(PdfReader(str(path)).outline)


@pytest.mark.parametrize("name", chapter_docnames())
def test_chapter_pdf_has_title_and_captions(site, name):
    html = (site / f"{name}.html").read_text(encoding="utf-8")
    title = re.search(r'<h1>(?:<span class="section-number">[^<]*</span>)?([^<]*)<a class="headerlink"', html).group(1)
    captions = [re.sub(r"<[^>]+>", " ", c) for c in re.findall(r"<figcaption>(.*?)</figcaption>", html, re.S)]
    assert captions, f"{name} has no figure captions"
    text = words(pdf_text(PDF_DIR / pdf_name(name)))
    assert words(re.sub(r"<[^>]+>", " ", title)) in text
    for caption in captions:
        start = " ".join(words(caption).split()[:8])
        assert start in text, f"caption not in PDF: {start!r}"


def test_book_pdf_has_every_page():
    text = words(pdf_text(PDF_DIR / "defection-explained.pdf"))
    for name in toc_docnames():
        assert (PDF_DIR / pdf_name(name)).is_file()
    assert "defection explained" in text
    assert "how defection works" in text


def solution_sentences(name: str) -> list[str]:
    """Opening words of the prose inside each folded solution of a chapter."""
    text = (ROOT / f"{name}.md").read_text(encoding="utf-8")
    found = []
    for block in re.findall(r"\{solution-start\}.*?\{solution-end\}", text, re.S):
        block = re.sub(r"(`{3,})\{code-cell\}.*?\1", "", block, flags=re.S)
        prose = [line for line in block.splitlines()
                 if len(line.split()) >= 8 and not line.startswith((":", "`", "|"))]
        if prose:
            found.append(" ".join(words(prose[0]).split()[:8]))
    return found


@pytest.mark.parametrize("name", chapter_docnames())
def test_printed_chapter_keeps_solutions_folded(name):
    text = words(pdf_text(PDF_DIR / pdf_name(name)))
    sentences = solution_sentences(name)
    assert sentences, f"{name}: no solution prose found to check"
    shown = [s for s in sentences if s in text]
    assert not shown, f"solutions printed: {shown}"


def test_book_pdf_has_a_bookmark_per_page_with_its_sections():
    outline = outline_titles(PDF_DIR / "defection-explained.pdf")
    top = [t for t in outline if isinstance(t, str)]
    assert len(top) == len(toc_docnames()), top
    assert any("How defection works" in t for t in top), top
    assert any(isinstance(t, list) and len(t) >= 3 for t in outline), "chapters keep their section bookmarks"


@pytest.mark.parametrize("name", chapter_docnames())
def test_chapter_pdf_is_tagged_and_numbered(name):
    from pypdf import PdfReader

    reader = PdfReader(str(PDF_DIR / pdf_name(name)))
    root = reader.trailer["/Root"]
    assert "/StructTreeRoot" in root and root.get("/MarkInfo", {}).get("/Marked"), "tagged PDF"
    assert reader.outline, "bookmarks"
    first, last = reader.pages[0].extract_text(), reader.pages[-1].extract_text()
    assert f"page 1 of {len(reader.pages)}" in first and f"page {len(reader.pages)} of" in last
