"""`make pdf` output: the book PDF (title page, contents with page numbers, outline,
continuous page numbers, tags, links) and each page's own PDF (title block, outline,
page numbers, captions, folded solutions). Read with pypdf only."""
from __future__ import annotations

import datetime
import functools
import os
import re
import unicodedata
from html import unescape
from pathlib import Path

import pytest

from conftest import PDF_DIR, ROOT, SITE, chapter_docnames, pdf_name, toc_docnames
from tools.pdf import book_facts, build_date

pytestmark = pytest.mark.build

BOOK = PDF_DIR / "defection-explained.pdf"


def words(text: str) -> str:
    """Lower-case words only: ligatures (ﬁ), punctuation and line breaks do not count."""
    text = unicodedata.normalize("NFKC", unescape(text))
    return " ".join(re.sub(r"[^\w]+", " ", text).split()).lower()


@functools.lru_cache(maxsize=None)
def reader(path: Path):
    from pypdf import PdfReader

    assert path.is_file(), f"{path} missing: run `make pdf`"
    return PdfReader(str(path))


@functools.lru_cache(maxsize=None)
def page_texts(path: Path) -> tuple[str, ...]:
    return tuple(page.extract_text() or "" for page in reader(path).pages)


def pdf_text(path: Path) -> str:
    return "\n".join(page_texts(path))


def outline_tree(path: Path) -> list[tuple[str, int, list]]:
    """The bookmarks as (title, page index, children)."""
    r = reader(path)

    def walk(items):
        out = []
        for item in items:
            if isinstance(item, list):
                out[-1][2].extend(walk(item))
            else:
                out.append((item.title, r.get_destination_page_number(item), []))
        return out

    return walk(r.outline)


@functools.lru_cache(maxsize=None)
def headings(name: str) -> tuple[str, tuple[str, ...]]:
    """A page's title (h1, with its chapter number) and its sections (h2), from the built HTML."""
    html = (SITE / f"{name}.html").read_text(encoding="utf-8")
    found = [(level, " ".join(unescape(re.sub(r"<[^>]+>", "", text)).split()))
             for level, text in re.findall(r'<h([12])>((?:(?!</h\d>).)*?)<a class="headerlink"', html, re.S)]
    assert found and found[0][0] == "1", f"{name}: no h1"
    return found[0][1], tuple(text for level, text in found[1:] if level == "2")


def front_pages() -> int:
    """Pages before the first page of the book's content (title page and contents)."""
    first = next(t for t in outline_tree(BOOK) if t[0] != "Contents")
    return first[1]


def contents_listing() -> list[tuple[str, str, int]]:
    """Every (docname, heading, page number) the contents pages list, in order: a heading
    is followed by its page number, so search for each from where the last one ended."""
    text = " ".join(" ".join(page_texts(BOOK)[1:front_pages()]).split())
    text = unicodedata.normalize("NFKC", text)
    listed, at = [], 0
    for name in toc_docnames():
        title, sections = headings(name)
        for label in (title, *sections):
            found = re.compile(re.escape(label) + r"\s+(\d+)\b").search(text, at)
            assert found, f"contents do not list {label!r} ({name}) with a page number"
            listed.append((name if label == title else "", label, int(found.group(1))))
            at = found.end()
    return listed


# --- the book -----------------------------------------------------------------------------

def test_book_pdf_has_every_page():
    text = words(pdf_text(BOOK))
    for name in toc_docnames():
        assert (PDF_DIR / pdf_name(name)).is_file()
        assert words(headings(name)[0]) in text, name


def printed_dates(pdf: Path) -> set[str]:
    """The days ``pdf`` may say it was printed on: SOURCE_DATE_EPOCH's, as ``tools.pdf.build_date``
    gives it, or else the day (UTC) the file was written or, printing taking minutes, the day an hour
    before. Not the day the test runs: a test after midnight reads a PDF printed the day before."""
    if os.environ.get("SOURCE_DATE_EPOCH"):
        return {build_date()}
    written = datetime.datetime.fromtimestamp(pdf.stat().st_mtime, datetime.timezone.utc)
    return {(written - datetime.timedelta(hours=1)).date().isoformat(), written.date().isoformat()}


def test_book_title_page_says_what_the_book_is():
    facts = book_facts(ROOT)
    first = words(page_texts(BOOK)[0])
    for value in (facts.title, facts.subtitle, *facts.authors, f"version {facts.version}", facts.licence,
                  facts.url, facts.repository, facts.package):
        assert value and words(value) in first, f"title page lacks {value!r}"
    dates = printed_dates(BOOK)
    assert any(words(day) in first for day in dates), f"title page lacks the day it was printed: one of {sorted(dates)}"
    assert not re.search(r"\b1\. how defection works\b", first), "the title page is not a chapter"


def test_book_contents_list_every_chapter_and_section_with_its_page():
    texts = page_texts(BOOK)
    assert words(texts[1]).startswith("contents"), texts[1][:80]
    listed = contents_listing()
    assert len(listed) == sum(1 + len(headings(n)[1]) for n in toc_docnames())
    for _, label, number in listed:
        assert 1 <= number <= len(texts), (label, number)
        assert words(label) in words(texts[number - 1]), f"{label!r} is not on page {number}"
    numbers = [n for _, _, n in listed]
    assert numbers == sorted(numbers), "contents out of page order"


def test_book_contents_page_numbers_match_the_outline():
    listed = {name: number for name, _, number in contents_listing() if name}
    tops = outline_tree(BOOK)[1:]
    assert len(tops) == len(listed)
    for (title, page, _), name in zip(tops, toc_docnames()):
        assert listed[name] == page + 1, f"{title}: contents say {listed[name]}, bookmark {page + 1}"


def test_book_contents_link_to_their_pages():
    r = reader(BOOK)
    index = {page.indirect_reference.idnum: i for i, page in enumerate(r.pages)}
    targets = set()
    for page in r.pages[1:front_pages()]:
        for annot in page.get("/Annots", []) or []:
            dest = annot.get_object().get("/Dest")
            if dest is not None and not isinstance(dest, str):
                targets.add(index[dest[0].idnum] + 1)
    assert {n for _, _, n in contents_listing()} <= targets


def test_book_outline_has_every_chapter_and_its_sections_in_order():
    tree = outline_tree(BOOK)
    assert tree[0][:2] == ("Contents", 1)
    assert [t for t, _, _ in tree[1:]] == [headings(n)[0] for n in toc_docnames()]
    for (title, page, children), name in zip(tree[1:], toc_docnames()):
        assert [t for t, _, _ in children] == list(headings(name)[1]), f"{name}: section bookmarks"
        pages = [page] + [p for _, p, _ in children]
        assert pages == sorted(pages), f"{name}: bookmarks out of page order"
    assert any(len(children) >= 3 for _, _, children in tree)


def test_book_page_numbers_run_through_the_whole_book():
    texts = page_texts(BOOK)
    total = len(texts)
    for number, text in enumerate(texts, start=1):
        assert f"page {number} of {total}" in text, f"page {number}: {text[-80:]!r}"


def tagged(path: Path) -> None:
    r = reader(path)
    root = r.trailer["/Root"]
    assert root.get("/MarkInfo", {}).get("/Marked"), f"{path.name}: /MarkInfo /Marked true"
    assert "/StructTreeRoot" in root and root.get("/Lang"), f"{path.name}: structure tree and language"
    tree = root["/StructTreeRoot"]
    nums = tree["/ParentTree"]["/Nums"]
    keys = {int(nums[i]) for i in range(0, len(nums), 2)}
    for i, page in enumerate(r.pages):
        assert int(page["/StructParents"]) in keys, f"{path.name} page {i + 1}: content not in the structure tree"
    pages = {page.indirect_reference.idnum for page in r.pages}
    stack, seen = [tree.raw_get("/K")], set()
    while stack:  # every structure element that names a page names one of this PDF's pages
        ref = stack.pop()
        if getattr(ref, "idnum", None) in seen:
            continue
        seen.add(getattr(ref, "idnum", None))
        node = ref.get_object()
        if isinstance(node, list):
            stack.extend(node)
        elif hasattr(node, "get"):
            if "/Pg" in node:
                assert node.raw_get("/Pg").idnum in pages, f"{path.name}: a tag points to a page not in the PDF"
            if "/K" in node and not isinstance(node["/K"], int):
                stack.append(node.raw_get("/K"))


def test_book_pdf_is_tagged():
    tagged(BOOK)


def local_links(path: Path) -> list[str]:
    """Links left pointing to the server the pages were printed from."""
    return [str(a.get_object()["/A"]["/URI"]) for page in reader(path).pages for a in page.get("/Annots", []) or []
            if "/A" in a.get_object() and re.match(r"http://127\.0\.0\.1:\d+/.", str(a.get_object()["/A"].get("/URI", "")))]


def test_book_links_stay_inside_the_book_or_go_to_the_published_site():
    assert not local_links(BOOK)
    r = reader(BOOK)
    inside = sum(1 for page in r.pages for a in page.get("/Annots", []) or [] if "/Dest" in a.get_object())
    assert inside > 100, "links between pages of the book are links inside the PDF"


# --- each page's own PDF -------------------------------------------------------------------

def dark_text_share(path: Path) -> float:
    """The share of text drawn in a dark colour on the first page (a dark theme's text is light)."""
    from pypdf.generic import ContentStream

    r = reader(path)
    colour, stack, dark, shown = (0.0, 0.0, 0.0), [], 0, 0
    for operands, op in ContentStream(r.pages[0].get_contents(), r).operations:
        if op == b"q":
            stack.append(colour)
        elif op == b"Q" and stack:
            colour = stack.pop()
        elif op == b"rg":
            colour = tuple(float(v) for v in operands)
        elif op == b"g":
            colour = (float(operands[0]),) * 3
        elif op in (b"Tj", b"TJ"):
            shown += 1
            dark += 0.2126 * colour[0] + 0.7152 * colour[1] + 0.0722 * colour[2] < 0.5
    return dark / max(shown, 1)


@pytest.mark.parametrize("name", toc_docnames())
def test_page_pdf_has_title_block_outline_numbers_and_tags(name):
    path = PDF_DIR / pdf_name(name)
    facts = book_facts(ROOT)
    texts = page_texts(path)
    first = words(texts[0])
    for value in (facts.full_title, f"version {facts.version}", facts.licence,
                  f"{facts.url.rstrip('/')}/{name}.html"):
        assert words(value) in first, f"{name}: title block lacks {value!r}"
    title, sections = headings(name)
    tree = outline_tree(path)
    assert [t for t, _, _ in tree] == [title], f"{name}: one top bookmark, the page's title"
    assert [t for t, _, _ in tree[0][2]] == list(sections), f"{name}: section bookmarks"
    for number, text in enumerate(texts, start=1):
        assert f"page {number} of {len(texts)}" in text, f"{name} page {number}"
    tagged(path)
    assert not local_links(path), f"{name}: links to the print server"
    assert dark_text_share(path) > 0.8, f"{name}: printed in a dark theme?"


@pytest.mark.parametrize("name", chapter_docnames())
def test_chapter_pdf_has_title_and_captions(site, name):
    html = (site / f"{name}.html").read_text(encoding="utf-8")
    captions = [re.sub(r"<[^>]+>", " ", c) for c in re.findall(r"<figcaption>(.*?)</figcaption>", html, re.S)]
    assert captions, f"{name} has no figure captions"
    text = words(pdf_text(PDF_DIR / pdf_name(name)))
    assert words(headings(name)[0]) in text
    for caption in captions:
        start = " ".join(words(caption).split()[:8])
        assert start in text, f"caption not in PDF: {start!r}"
    # The charts themselves are printed (they are lazily loaded images on the site):
    # each chart's title, drawn in its SVG, is in the PDF's text.
    titles = re.findall(r'<div class="dx-chart-scroll" role="group" tabindex="0" aria-label="([^"]+)">', html)
    assert titles, f"{name}: no charts found in the page"
    for title in titles:
        assert words(title) in text, f"chart not printed: {title!r}"


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


@pytest.mark.parametrize("path", [pytest.param(PDF_DIR / pdf_name(n), id=n) for n in chapter_docnames()]
                         + [pytest.param(BOOK, id="book")])
def test_printed_solutions_stay_folded(path):
    text = words(pdf_text(path))
    for name in chapter_docnames():
        if path != BOOK and path != PDF_DIR / pdf_name(name):
            continue
        sentences = solution_sentences(name)
        assert sentences, f"{name}: no solution prose found to check"
        shown = [s for s in sentences if s in text]
        assert not shown, f"solutions printed: {shown}"
