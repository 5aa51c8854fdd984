"""Print the built site to PDF with headless Chromium: one PDF per page in the
table of contents, and one for the whole book.

    python tools/pdf.py [--site _build/html] [--out _build/pdf]

Pages are printed with the site's print stylesheet (no sidebars, static chart
SVGs, link URLs shown), as tagged PDF with an outline (bookmarks) made from the
headings, and a footer with the page's title and page number. The whole-book
PDF is those PDFs joined with pypdf, each page's bookmarks kept under one
bookmark per page. Only Chromium is needed: no poppler or other system tool.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from tools.sitekit import CHROMIUM, CHROMIUM_ARGS, pdf_name, serve, toc_docnames  # noqa: E402

FOOTER = ('<div style="font-size:8px;width:100%;text-align:center">'
          '<span class="title"></span> — page <span class="pageNumber"></span> of <span class="totalPages"></span></div>')


#: The visible headings in document order, as Chromium makes its PDF outline from them.
HEADINGS_JS = """() => [...document.querySelectorAll('h1,h2,h3,h4,h5,h6')]
  .filter(h => h.getClientRects().length > 0)
  .map(h => h.innerText.replace(/#\\s*$/, '').replace(/\\s+/g, ' ').trim())"""


def fix_outline_titles(path: Path, headings: list[str]) -> None:
    """Chromium builds bookmark titles from the laid-out text of each heading, which
    loses spaces at line breaks and can repeat a heading split across a page; put
    the headings' own text back (the bookmarks are in heading order)."""
    from pypdf import PdfReader, PdfWriter
    from pypdf.generic import NameObject, TextStringObject

    writer = PdfWriter(clone_from=PdfReader(str(path)))
    items = []

    def walk(node):  # the /Outlines tree, depth first: /First child, then /Next sibling
        while node is not None:
            node = node.get_object()
            items.append(node)
            if "/First" in node:
                walk(node["/First"])
            node = node.get("/Next")

    outlines = writer.root_object.get("/Outlines")
    if outlines is not None and "/First" in outlines.get_object():
        walk(outlines.get_object()["/First"])
    if len(items) != len(headings):
        print(f"  {path.name}: {len(items)} bookmarks for {len(headings)} headings; titles left as printed")
        return
    for item, text in zip(items, headings):
        item[NameObject("/Title")] = TextStringObject(text)
    with path.open("wb") as fh:
        writer.write(fh)


def print_pages(site: Path, out: Path, chromium: str, names: list[str]) -> list[Path]:
    """Print each page; returns the PDFs written."""
    from playwright.sync_api import sync_playwright

    written = []
    with serve(site) as base, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        page = browser.new_page()
        page.route("**/*", lambda r: r.continue_() if r.request.url.startswith(base) else r.abort())
        for name in names:
            page.goto(f"{base}/{name}.html", wait_until="load")
            page.emulate_media(media="print")
            headings = page.evaluate(HEADINGS_JS)
            target = out / pdf_name(name)
            target.parent.mkdir(parents=True, exist_ok=True)
            page.pdf(path=str(target), format="A4", print_background=False, outline=True, tagged=True,
                     margin={"top": "18mm", "bottom": "18mm", "left": "16mm", "right": "16mm"},
                     display_header_footer=True, header_template="<span></span>", footer_template=FOOTER)
            fix_outline_titles(target, headings)
            written.append(target)
            print(f"wrote {target.relative_to(ROOT) if target.is_relative_to(ROOT) else target}")
        browser.close()
    return written


def join(parts: list[Path], book: Path) -> None:
    """One PDF with a bookmark per page (its sections nested under it)."""
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter()
    for path in parts:
        start = len(writer.pages)
        # Each page's own outline starts with its title (h1), its sections beneath.
        writer.append(str(path), import_outline=True)
        assert len(writer.pages) > start, f"{path} has no pages"
    writer.add_metadata({"/Title": "Defection Explained", "/Author": "Defection Explained contributors"})
    writer.page_mode = "/UseOutlines"
    with book.open("wb") as fh:
        writer.write(fh)
    assert len(PdfReader(str(book)).pages) == len(writer.pages)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--site", default=str(ROOT / "_build" / "html"))
    parser.add_argument("--out", default=str(ROOT / "_build" / "pdf"))
    parser.add_argument("--chromium", default=CHROMIUM)
    args = parser.parse_args()
    site, out = Path(args.site), Path(args.out)
    if not (site / "index.html").is_file():
        sys.exit(f"no built site at {site}: run `make book` first")
    out.mkdir(parents=True, exist_ok=True)
    parts = print_pages(site, out, args.chromium, toc_docnames())
    book = out / "defection-explained.pdf"
    join(parts, book)
    print(f"wrote {book}")
    # Worksheets and answer keys (made from questions/ by the build), one PDF each.
    sheets = sorted(str(p.relative_to(site).with_suffix("")) for folder in ("worksheets", "answers")
                    for p in (site / folder).glob("*.html"))
    print_pages(site, out, args.chromium, sheets)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
