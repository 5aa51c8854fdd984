"""Print the built site to PDF with headless Chromium: one PDF per page in the
table of contents, and one for the whole book.

    python tools/pdf.py [--site _build/html] [--out _build/pdf]

Pages are printed with the site's print stylesheet (no sidebars, static chart
SVGs, link URLs shown). The whole-book PDF joins the pages with `pdfunite`
(Debian's poppler-utils) when it is available, else by printing a combined page.
"""
from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
from conftest import CHROMIUM_ARGS, pdf_name, serve, toc_docnames  # noqa: E402  (shared with the tests)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--site", default=str(ROOT / "_build" / "html"))
    parser.add_argument("--out", default=str(ROOT / "_build" / "pdf"))
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    args = parser.parse_args()
    site, out = Path(args.site), Path(args.out)
    if not (site / "index.html").is_file():
        sys.exit(f"no built site at {site}: run `make book` first")
    out.mkdir(parents=True, exist_ok=True)

    from playwright.sync_api import sync_playwright

    written = []
    with serve(site) as base, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=args.chromium, args=CHROMIUM_ARGS)
        page = browser.new_page()
        page.route("**/*", lambda r: r.continue_() if r.request.url.startswith(base) else r.abort())
        for name in toc_docnames():
            page.goto(f"{base}/{name}.html", wait_until="load")
            page.emulate_media(media="print")
            target = out / pdf_name(name)
            target.parent.mkdir(parents=True, exist_ok=True)
            page.pdf(path=str(target), format="A4", print_background=False, outline=True, tagged=True,
                     margin={"top": "18mm", "bottom": "18mm", "left": "16mm", "right": "16mm"},
                     display_header_footer=True, header_template="<span></span>",
                     footer_template='<div style="font-size:8px;width:100%;text-align:center">'
                                     '<span class="title"></span> — <span class="pageNumber"></span></div>')
            written.append(target)
            print(f"wrote {target.relative_to(ROOT) if target.is_relative_to(ROOT) else target}")
        browser.close()

    book = out / "defection-explained.pdf"
    pdfunite = shutil.which("pdfunite")
    if not pdfunite:
        sys.exit("pdfunite not found: install Debian's poppler-utils to join the book PDF")
    subprocess.run([pdfunite, *map(str, written), str(book)], check=True)
    print(f"wrote {book}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
