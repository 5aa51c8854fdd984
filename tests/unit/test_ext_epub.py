"""The EPUB edition's own pieces (``epub``), without building a book: raw HTML made
well-formed XHTML, ids made unique, a reproducible package, a cover that escapes its text.
(The whole EPUB, checked by epubcheck, is ``tests/test_epub.py``.)"""
from __future__ import annotations

import io
import xml.etree.ElementTree as ET
import zipfile

from dxbook import epub, lms


def test_raw_html_becomes_well_formed_xhtml_without_scripts():
    out = epub.xhtml('<p class=x>A &amp; B<br><img src="a.png" alt>'
                     '<script>alert(1)</script><noscript><p>no</p></noscript></p>')
    assert out == '<p class="x">A &amp; B<br/><img src="a.png" alt=""/></p>'
    ET.fromstring(f"<div>{out}</div>")  # parses as XML


def test_ids_are_made_unique_in_page_order():
    page = '<div id="exercise-content"></div><div id="other"></div><div id="exercise-content"></div>'
    assert epub.rewrite_page(page, lambda href: href) == (
        '<div id="exercise-content"></div><div id="other"></div><div id="exercise-content-2"></div>', [])


def test_links_are_rewritten_and_named_files_kept_by_the_parser():
    page = ('<!-- <a href="x.xhtml">not a link</a> --><a href="../worksheets/a.html#q1">sheet</a>'
            '<img src="../_images/c.png" alt=""/><a href="https://example.org/">web</a>')
    new, named = epub.rewrite_page(page, lambda href: "https://site/" + href if "worksheets" in href else href)
    assert '<a href="https://site/../worksheets/a.html#q1">' in new and '<a href="x.xhtml">' in new
    assert named == ["../_images/c.png"]


def test_package_time_stamps_are_fixed_and_mimetype_stays_first_and_stored():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        z.writestr(zipfile.ZipInfo("mimetype", (2026, 12, 7, 16, 0, 0)), "application/epub+zip")
        z.writestr(zipfile.ZipInfo("EPUB/a.xhtml", (2026, 12, 7, 16, 0, 1)), "<html/>", zipfile.ZIP_DEFLATED)
    fixed = epub.fixed_times(buffer.getvalue())
    with zipfile.ZipFile(io.BytesIO(fixed)) as z:
        assert z.namelist() == ["mimetype", "EPUB/a.xhtml"]
        assert {i.date_time for i in z.infolist()} == {lms.ZIP_TIME}
        assert z.getinfo("mimetype").compress_type == zipfile.ZIP_STORED
        assert z.getinfo("EPUB/a.xhtml").compress_type == zipfile.ZIP_DEFLATED
    assert epub.fixed_times(fixed) == fixed


def test_cover_escapes_its_text_and_parses_as_svg():
    svg = epub.cover_svg({"title": "Book <b>: a & b", "version": "1.0", "date-released": "2026-12-07",
                          "authors": [{"given-names": "A <i>", "family-names": "Writer"}]})
    root = ET.fromstring(svg)  # well-formed: every value escaped
    texts = [t.text for t in root.iter("{http://www.w3.org/2000/svg}text")]
    assert "<b>" in texts and "a & b" in texts and any("7 December 2026" in t for t in texts)
    assert epub.epub_name("1.0") == "defection-explained-1.0.epub"
