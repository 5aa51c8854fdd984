"""Print the built site to PDF with headless Chromium: the whole book, one PDF per
page in the table of contents, and the worksheets and answer keys.

    python tools/pdf.py [--site _build/html] [--out _build/pdf]

Every page is printed by Chromium with the site's print stylesheet (no sidebars,
static chart SVGs, link URLs shown) plus ``tools/pdf-print.css``, as tagged PDF
with an outline made from its headings. Only Chromium and pypdf are used: no
poppler or other system tool.

How the book is made, and why this way:

1. Each page of the table of contents is printed on its own, without a footer.
   Printing the book as one HTML document would need the pages' HTML merged into
   one (their ids collide, their assets differ); printing the pages as the site
   serves them keeps every page exactly as a reader prints it.
2. pypdf reads each part's page count, its outline (every heading's page and
   position) and its named destinations (every element id, from hidden links
   added before printing, since Chromium writes a destination only for an id
   something in the same page links to).
3. The title page and contents are rendered from ``_config.yml``, ``CITATION.cff``
   and ``pyproject.toml`` with the real page numbers. Those numbers depend on how
   many pages the contents take, so it is rendered again until that count is
   stable (once more in practice).
4. The parts are joined with pypdf, which also joins their structure trees (so
   the book stays tagged for screen readers), builds the outline with explicit
   destinations, turns links between pages of the book into links inside the
   PDF (and links to other files of the site into links to the published site),
   and stamps "page N of M" on every page as a pagination artifact. Stamping
   after joining is what makes the numbers run through the whole book: Chromium's
   own footer can only count the pages of the document it prints.

A chapter's own PDF is printed the same way with a title block on its first page
(book, version, date, licence, the chapter's address), and numbered on its own.
"""
from __future__ import annotations

import argparse
import dataclasses
import datetime
import html
import os
import sys
import tempfile
import tomllib
from pathlib import Path
from urllib.parse import unquote

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from tools.sitekit import CHROMIUM, CHROMIUM_ARGS, pdf_name, serve, toc_docnames, toc_parts  # noqa: E402

PRINT_CSS = Path(__file__).with_name("pdf-print.css")
FRONT_CSS = Path(__file__).with_name("pdf-front.css")
MARGIN = {"top": "18mm", "bottom": "18mm", "left": "16mm", "right": "16mm"}
MM = 72 / 25.4
#: Links in the contents page point here while it is printed; joining the book turns
#: each into a link to its page. (.invalid never resolves, and no request is made.)
CONTENTS_LINK = "https://contents.invalid/"

#: Chromium's footer for the worksheets and answer keys (printed as before).
FOOTER = ('<div style="font-size:8px;width:100%;text-align:center">'
          '<span class="title"></span> — page <span class="pageNumber"></span> of <span class="totalPages"></span></div>')

#: The visible headings in document order, as Chromium makes its PDF outline from them.
HEADINGS_JS = """() => [...document.querySelectorAll('h1,h2,h3,h4,h5,h6')]
  .filter(h => h.getClientRects().length > 0)
  .map(h => h.innerText.replace(/#\\s*$/, '').replace(/\\s+/g, ' ').trim())"""

#: A hidden same-page link to every element id in the article, so that Chromium writes a
#: named destination for each and links from other pages of the book can land on it.
ANCHORS_JS = """() => {
  const box = document.createElement('div');
  box.hidden = true;
  for (const el of document.querySelectorAll('.bd-article [id]')) {
    const a = document.createElement('a');
    a.href = '#' + encodeURIComponent(el.id);
    box.append(a);
  }
  document.body.append(box);
}"""

#: The title block of a chapter's own PDF, built with textContent (values are never HTML).
BLOCK_JS = """(lines) => {
  const block = document.createElement('div');
  block.className = 'dx-pdf-block';
  lines.forEach(([text, href], i) => {
    const p = document.createElement('p');
    if (i === 0) p.className = 'dx-pdf-book';
    if (href) { const a = document.createElement('a'); a.href = href; a.textContent = text; p.append(a); }
    else p.textContent = text;
    block.append(p);
  });
  const article = document.querySelector('article.bd-article') || document.body;
  article.prepend(block);
}"""


@dataclasses.dataclass
class Facts:
    """What the title page and title blocks say, every value from the book's own files."""
    title: str
    subtitle: str
    full_title: str
    authors: list[str]
    version: str
    released: str
    licence: str
    code_licence: str
    url: str
    repository: str
    copyright: str
    package: str
    language: str
    built: str

    @property
    def year(self) -> str:
        return self.released[:4] or self.copyright

    def citation(self) -> str:
        return f"{', '.join(self.authors)} ({self.year}). {self.full_title} (version {self.version}). {self.url}"


def build_date() -> str:
    """Today (UTC), or SOURCE_DATE_EPOCH's date for a reproducible build."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    now = (datetime.datetime.fromtimestamp(int(epoch), datetime.timezone.utc) if epoch
           else datetime.datetime.now(datetime.timezone.utc))
    return now.date().isoformat()


def book_facts(root: Path = ROOT) -> Facts:
    config = yaml.safe_load((root / "_config.yml").read_text(encoding="utf-8"))
    cff = yaml.safe_load((root / "CITATION.cff").read_text(encoding="utf-8"))
    project = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    title = str(config["title"])
    full = str(cff.get("title") or title)
    subtitle = full[len(title):].lstrip(":—- ").strip() if full.startswith(title) else ""
    authors = [a.get("name") or " ".join(filter(None, (a.get("given-names"), a.get("family-names"))))
               for a in cff.get("authors", [])] or [str(config.get("author", ""))]
    licence = project.get("license")
    return Facts(
        title=title, subtitle=subtitle, full_title=full, authors=authors,
        version=str(cff.get("version", "")), released=str(cff.get("date-released", "")),
        licence=str(cff.get("license", "")),
        code_licence=str(licence.get("text", "") if isinstance(licence, dict) else licence or ""),
        url=str(cff.get("url") or config.get("html", {}).get("baseurl", "")),
        repository=str(cff.get("repository-code") or config.get("repository", {}).get("url", "")),
        copyright=str(config.get("copyright", "")),
        package=f"{project['name']} {project['version']}",
        language=str(config.get("sphinx", {}).get("config", {}).get("language", "en")),
        built=build_date())


# --- reading what Chromium printed -------------------------------------------------------

@dataclasses.dataclass
class Heading:
    title: str
    page: int            # index of the page in its part
    left: float | None
    top: float | None
    children: list["Heading"]


@dataclasses.dataclass
class Part:
    docname: str
    path: Path
    pages: int
    headings: list[Heading]                         # the outline: h1 at the top
    dests: dict[str, tuple[int, float | None, float | None]]  # element id -> where it is

    @property
    def title(self) -> str:
        return self.headings[0].title if self.headings else self.docname


def read_part(docname: str, path: Path) -> Part:
    from pypdf import PdfReader

    reader = PdfReader(str(path))

    def walk(items) -> list[Heading]:
        out: list[Heading] = []
        for item in items:
            if isinstance(item, list):
                out[-1].children.extend(walk(item))
            else:
                out.append(Heading(str(item.title), reader.get_destination_page_number(item),
                                   item.get("/Left"), item.get("/Top"), []))
        return out

    dests = {}
    for name, dest in reader.named_destinations.items():
        page = reader.get_destination_page_number(dest)
        if page >= 0:
            dests[str(name).lstrip("/")] = (page, dest.get("/Left"), dest.get("/Top"))
    return Part(docname, path, len(reader.pages), walk(reader.outline), dests)


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
    stamp_dates(writer)

    with path.open("wb") as fh:
        writer.write(fh)


def stamp_dates(writer) -> None:
    """The same dates in every build of the same commit: /CreationDate and /ModDate from
    SOURCE_DATE_EPOCH (the reproducible-builds convention), else the last commit's time,
    instead of the moment Chromium printed."""
    import datetime
    import os
    import subprocess

    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if not epoch:
        try:
            epoch = subprocess.run(["git", "log", "-1", "--format=%ct"], cwd=ROOT, capture_output=True,
                                   text=True, check=True).stdout.strip()
        except (OSError, subprocess.CalledProcessError):
            epoch = "315532800"  # 1980-01-01, as the book's zips
    when = datetime.datetime.fromtimestamp(int(epoch or 315532800), datetime.timezone.utc)
    stamp = when.strftime("D:%Y%m%d%H%M%SZ")
    writer.add_metadata({"/CreationDate": stamp, "/ModDate": stamp})


# --- printing ----------------------------------------------------------------------------

class Printer:
    """One Chromium page on the site's 127.0.0.1 server; nothing leaves 127.0.0.1."""

    def __init__(self, page, base: str):
        self.page, self.base = page, base

    def doc(self, name: str, target: Path, *, block: list | None = None, anchors: bool = False,
            footer: bool = False) -> Path:
        page = self.page
        page.goto(f"{self.base}/{name}.html", wait_until="load")
        page.emulate_media(media="print", color_scheme="light")
        page.add_style_tag(content=PRINT_CSS.read_text(encoding="utf-8"))
        # Charts are lazily loaded images: a page printed unscrolled would show blanks.
        page.evaluate("() => document.querySelectorAll('img[loading=lazy]').forEach(i => { i.loading = 'eager'; })")
        page.wait_for_function("() => [...document.images].every(i => i.complete)", timeout=30000)
        if block:
            page.evaluate(BLOCK_JS, block)
        if anchors:
            page.evaluate(ANCHORS_JS)
        headings = page.evaluate(HEADINGS_JS)
        target.parent.mkdir(parents=True, exist_ok=True)
        options = dict(display_header_footer=True, header_template="<span></span>",
                       footer_template=FOOTER) if footer else {}
        page.pdf(path=str(target), format="A4", print_background=False, outline=True, tagged=True,
                 margin=MARGIN, **options)
        fix_outline_titles(target, headings)
        return target

    def html(self, markup: str, target: Path) -> Path:
        self.page.set_content(markup, wait_until="load")
        self.page.emulate_media(media="print", color_scheme="light")
        self.page.pdf(path=str(target), format="A4", print_background=False, outline=False, tagged=True,
                      margin=MARGIN)
        return target


# --- the title page and contents -----------------------------------------------------------

@dataclasses.dataclass
class Entry:
    level: int           # 0 a page of the book, 1 one of its sections
    label: str
    page: int            # index in the book
    left: float | None
    top: float | None


def contents_entries(groups: list[tuple[str | None, list[Part]]], first: int) -> list[tuple[str | None, list[Entry]]]:
    """The contents, with each part starting at book page index ``first`` onwards."""
    out, start = [], first
    for caption, parts in groups:
        entries = []
        for part in parts:
            entries.append(Entry(0, part.title, start, None, None))
            for h2 in (part.headings[0].children if part.headings else []):
                entries.append(Entry(1, h2.title, start + h2.page, h2.left, h2.top))
            start += part.pages
        out.append((caption, entries))
    return out


def front_html(facts: Facts, contents: list[tuple[str | None, list[Entry]]]) -> str:
    e = html.escape
    css = FRONT_CSS.read_text(encoding="utf-8")
    imprint = [
        ("Printed", f"{facts.built}, with the {facts.package} package"),
        ("Online", facts.url),
        ("Source", facts.repository),
        ("Licence", f"{facts.licence} (text, figures and data); {facts.code_licence} (code)"),
        ("Cite as", facts.citation()),
    ]
    parts = [f'<!doctype html><html lang="{e(facts.language)}"><head><meta charset="utf-8">',
             f"<title>{e(facts.full_title)}</title><style>{css}</style></head><body>",
             '<section class="title-page">',
             f"<h1>{e(facts.title)}</h1>",
             f'<p class="subtitle">{e(facts.subtitle)}</p>' if facts.subtitle else "",
             f'<p class="authors">{e(", ".join(facts.authors))}</p>',
             f'<p class="edition">Version {e(facts.version)}'
             + (f", released {e(facts.released)}" if facts.released else "") + "</p>",
             '<div class="imprint">',
             f"<p>© {e(facts.copyright)} {e(', '.join(facts.authors))}</p>" if facts.copyright else "",
             "<dl>", *(f"<dt>{e(k)}</dt><dd>{e(v)}</dd>" for k, v in imprint if v.strip()), "</dl>",
             "</div></section>",
             '<section class="contents" aria-labelledby="contents-title"><h1 id="contents-title">Contents</h1>']
    index = 0
    for caption, entries in contents:
        if caption:
            parts.append(f"<h2>{e(caption)}</h2>")
        parts.append("<ol>")
        open_sections = False
        for entry in entries:
            link = (f'<a class="entry" href="{CONTENTS_LINK}{index}"><span class="label">{e(entry.label)}</span>'
                    f'<span class="dots" aria-hidden="true"></span><span class="page">{entry.page + 1}</span></a>')
            index += 1
            if entry.level == 0:
                if open_sections:
                    parts.append("</ol></li>")
                parts.append(f'<li class="chapter">{link}<ol>')
                open_sections = True
            else:
                parts.append(f'<li class="section">{link}</li>')
        if open_sections:
            parts.append("</ol></li>")
        parts.append("</ol>")
    parts.append("</section></body></html>")
    return "".join(parts)


def print_front(printer: Printer, facts: Facts, groups, target: Path) -> tuple[Path, int, list[Entry]]:
    """The title page and contents, rendered until the page numbers they quote stand still
    (the numbers depend on how many pages the contents take)."""
    from pypdf import PdfReader

    front = 2  # a guess: the title page and one page of contents
    for _ in range(5):
        contents = contents_entries(groups, front)
        printer.html(front_html(facts, contents), target)
        pages = len(PdfReader(str(target)).pages)
        if pages == front:
            return target, pages, [entry for _, entries in contents for entry in entries]
        front = pages
    raise RuntimeError(f"the contents page count does not settle ({front} pages)")


# --- joining, links and page numbers ------------------------------------------------------

HELVETICA = {**{d: 556 for d in "0123456789"}, "p": 556, "a": 556, "g": 556, "e": 556, "o": 556,
             "f": 278, " ": 278}


def pdf_string(text: str) -> str:
    """A PDF literal string in WinAnsiEncoding (the footer font's)."""
    out = []
    for byte in text.encode("cp1252", "replace"):
        out.append("\\" + chr(byte) if byte in b"()\\" else chr(byte) if 32 <= byte < 127 else f"\\{byte:03o}")
    return "(" + "".join(out) + ")"


def _indirect(writer, obj):
    """``obj`` added to the file as an indirect object; its reference.

    pypdf (7.1, pinned in requirements.txt) has no public method for this: the
    structure tree, its elements and the footer's font and streams must be
    indirect objects, and ``PdfWriter._add_object`` is what pypdf's writer itself uses
    for outline items and metadata. It is called here only, so a change in
    pypdf breaks one line, and tests/test_pdf.py reads the tags back."""
    return writer._add_object(obj)


def stamp_page_numbers(writer, running: list[str]) -> None:
    """Write "<running title>" left and "page N of M" right in the bottom margin of every
    page, marked as a pagination artifact (screen readers skip it; it is not content)."""
    from pypdf.generic import ArrayObject, DecodedStreamObject, DictionaryObject, NameObject

    font = _indirect(writer, DictionaryObject({
        NameObject("/Type"): NameObject("/Font"), NameObject("/Subtype"): NameObject("/Type1"),
        NameObject("/BaseFont"): NameObject("/Helvetica"), NameObject("/Encoding"): NameObject("/WinAnsiEncoding")}))
    total, size, y, margin = len(writer.pages), 8, 9 * MM, 16 * MM
    for number, (page, left) in enumerate(zip(writer.pages, running), start=1):
        width = float(page.mediabox.width)
        label = f"page {number} of {total}"
        label_x = width - margin - sum(HELVETICA[c] for c in label) * size / 1000
        room = int((label_x - margin - 6 * MM) / (size * 0.6))
        left = left if len(left) <= room else left[:room - 1].rstrip() + "…"
        ops = ["Q", "/Artifact <</Type /Pagination /Subtype /Footer>> BDC", "q 0.2 g BT",
               f"/DXFooter {size} Tf 1 0 0 1 {margin:.2f} {y:.2f} Tm {pdf_string(left)} Tj",
               f"1 0 0 1 {label_x:.2f} {y:.2f} Tm {pdf_string(label)} Tj", "ET Q EMC"]
        resources = page.setdefault(NameObject("/Resources"), DictionaryObject()).get_object()
        fonts = resources.setdefault(NameObject("/Font"), DictionaryObject()).get_object()
        fonts[NameObject("/DXFooter")] = font
        streams = []
        for data in (b"q\n", ("\n" + "\n".join(ops) + "\n").encode("latin-1")):
            stream = DecodedStreamObject()
            stream.set_data(data)
            streams.append(_indirect(writer, stream))
        contents = page.get("/Contents")
        contents = contents.get_object() if contents is not None else ArrayObject()
        old = list(contents) if isinstance(contents, ArrayObject) else [page.raw_get("/Contents")]
        page[NameObject("/Contents")] = ArrayObject([streams[0], *old, streams[1]])


def site_path(uri: str, base: str) -> str | None:
    """The site-relative path of a link to the printing server, or None."""
    return uri[len(base) + 1:] if uri.startswith(base + "/") else None


def publish_local_links(writer, base: str, url: str) -> None:
    """Links to the printing server (127.0.0.1) point to the published site instead."""
    from pypdf.generic import NameObject, TextStringObject

    for page in writer.pages:
        for annot in page.get("/Annots", []) or []:
            action = annot.get_object().get("/A")
            if action is not None and action.get("/S") == "/URI":
                rel = site_path(str(action["/URI"]), base)
                if rel is not None:
                    action[NameObject("/URI")] = TextStringObject(url.rstrip("/") + "/" + rel)


def explicit_dest(writer, page_index: int, left, top):
    from pypdf.generic import ArrayObject, FloatObject, NameObject, NullObject

    num = lambda v: FloatObject(v) if v is not None else NullObject()  # noqa: E731
    return ArrayObject([writer.pages[page_index].indirect_reference, NameObject("/XYZ"),
                        num(left), num(top), NullObject()])


def join_book(front: Path, parts: list[Part], entries: list[Entry], facts: Facts, base: str, book: Path) -> None:
    from pypdf import PdfReader, PdfWriter
    from pypdf.generic import (ArrayObject, BooleanObject, DictionaryObject, Fit, NameObject, NumberObject,
                               TextStringObject)

    writer = PdfWriter()
    tree = DictionaryObject({NameObject("/Type"): NameObject("/StructTreeRoot")})
    tree_ref = _indirect(writer, tree)
    document = DictionaryObject({NameObject("/Type"): NameObject("/StructElem"), NameObject("/S"): NameObject("/Document"),
                                 NameObject("/Lang"): TextStringObject(facts.language), NameObject("/P"): tree_ref})
    document_ref = _indirect(writer, document)
    kids, nums, role_map, next_key = ArrayObject(), ArrayObject(), DictionaryObject(), 0
    starts: dict[str, int] = {}
    spans: list[tuple[Part | None, int]] = []
    for part in [None, *parts]:
        reader = PdfReader(str(front if part is None else part.path))
        start = len(writer.pages)
        spans.append((part, start))
        if part is not None:
            starts[part.docname] = start
        for page in reader.pages:
            new = writer.add_page(page)
            if "/StructParents" in page:
                new[NameObject("/StructParents")] = NumberObject(page["/StructParents"] + next_key)
            for annot in new.get("/Annots", []) or []:
                annot = annot.get_object()
                if "/StructParent" in annot:
                    annot[NameObject("/StructParent")] = NumberObject(annot["/StructParent"] + next_key)
        # The part's structure tree, cloned after its pages so that its references to
        # pages and link annotations land on the copies just made.
        source = reader.root_object.get("/StructTreeRoot")
        if source is None:
            raise RuntimeError(f"{part.path if part else front}: not a tagged PDF")
        source = source.get_object().clone(writer)
        top = source.raw_get("/K")
        for elem in (top.get_object() if isinstance(top.get_object(), ArrayObject) else [top]):
            node = elem.get_object()
            node[NameObject("/S")] = NameObject("/Part") if node.get("/S") == "/Document" else node["/S"]
            node[NameObject("/P")] = document_ref
            kids.append(elem if hasattr(elem, "idnum") else _indirect(writer, elem))
        keys = []

        def flatten(node):
            node = node.get_object()
            arr = node.get("/Nums", ArrayObject())
            for i in range(0, len(arr), 2):
                keys.append(int(arr[i]))
                nums.extend([NumberObject(int(arr[i]) + next_key), arr[i + 1]])
            for kid in node.get("/Kids", []):
                flatten(kid)

        flatten(source["/ParentTree"])
        role_map.update(source.get("/RoleMap", {}))
        next_key += max(int(source.get("/ParentTreeNextKey", 0)), max(keys, default=-1) + 1)
    document[NameObject("/K")] = kids
    tree[NameObject("/K")] = ArrayObject([document_ref])
    tree[NameObject("/ParentTree")] = _indirect(writer, DictionaryObject({NameObject("/Nums"): nums}))
    tree[NameObject("/ParentTreeNextKey")] = NumberObject(next_key)
    if role_map:
        tree[NameObject("/RoleMap")] = role_map

    root = writer.root_object
    root[NameObject("/StructTreeRoot")] = tree_ref
    root[NameObject("/MarkInfo")] = DictionaryObject({NameObject("/Marked"): BooleanObject(True)})
    root[NameObject("/Lang")] = TextStringObject(facts.language)
    root[NameObject("/ViewerPreferences")] = DictionaryObject({NameObject("/DisplayDocTitle"): BooleanObject(True)})

    # Links: contents entries and links between pages of the book go to their page.
    def target_of(rel: str):
        path, _, fragment = rel.partition("#")
        doc = path[:-5] if path.endswith(".html") else path
        if doc not in starts:
            return None
        part = next(p for p in parts if p.docname == doc)
        for name in (fragment, unquote(fragment)):
            if name and name in part.dests:
                page, left, top = part.dests[name]
                return explicit_dest(writer, starts[doc] + page, left, top)
        return explicit_dest(writer, starts[doc], None, None)

    ends = [start for _, start in spans[1:]] + [len(writer.pages)]
    for (part, start), end in zip(spans, ends):
        for index in range(start, end):
            for annot in writer.pages[index].get("/Annots", []) or []:
                annot = annot.get_object()
                dest, action = annot.get("/Dest"), annot.get("/A")
                new = None
                if isinstance(dest, str) and part is not None:   # same-page link, by name
                    hit = part.dests.get(str(dest).lstrip("/"))
                    new = explicit_dest(writer, start + hit[0], hit[1], hit[2]) if hit else None
                elif action is not None and action.get("/S") == "/URI":
                    uri = str(action["/URI"])
                    if uri.startswith(CONTENTS_LINK):
                        entry = entries[int(uri[len(CONTENTS_LINK):])]
                        new = explicit_dest(writer, entry.page, entry.left, entry.top)
                    elif (rel := site_path(uri, base)) is not None:
                        new = target_of(rel)
                        if new is None:
                            action[NameObject("/URI")] = TextStringObject(facts.url.rstrip("/") + "/" + rel)
                if new is not None:
                    annot.pop(NameObject("/A"), None)
                    annot[NameObject("/Dest")] = new

    # Outline: the contents, then every page's headings, with explicit destinations.
    writer.add_outline_item(title="Contents", page_number=1, fit=Fit.fit())

    def add(headings: list[Heading], start: int, parent=None):
        for h in headings:
            item = writer.add_outline_item(title=h.title, page_number=start + h.page, parent=parent, fit=Fit.xyz(h.left, h.top, None))
            add(h.children, start, item)

    for part in parts:
        add(part.headings, starts[part.docname])
    writer.page_mode = "/UseOutlines"
    writer.add_metadata({"/Title": facts.full_title, "/Author": ", ".join(facts.authors),
                         "/Subject": f"Version {facts.version}, printed {facts.built}"})

    running = []
    for (part, start), end in zip(spans, ends):
        running += [running_title(facts, part.title if part else "")] * (end - start)
    stamp_page_numbers(writer, running)
    writer.compress_identical_objects(remove_duplicates=False, remove_unreferenced=True)
    stamp_dates(writer)

    with book.open("wb") as fh:
        writer.write(fh)


def finish_page_pdf(path: Path, running: str, base: str, facts: Facts) -> None:
    """A page's own PDF: its links to the published site, its own page numbers."""
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(str(path)))
    publish_local_links(writer, base, facts.url)
    stamp_page_numbers(writer, [running] * len(writer.pages))
    stamp_dates(writer)

    with path.open("wb") as fh:
        writer.write(fh)


def running_title(facts: Facts, title: str) -> str:
    """The footer's left side: the book, and the page's title where that is another."""
    return facts.title if title in ("", facts.title) else f"{facts.title} · {title}"


def title_block(facts: Facts, name: str) -> list:
    address = f"{facts.url.rstrip('/')}/{name}.html"
    return [[facts.full_title, None],
             [f"{', '.join(facts.authors)} · version {facts.version} · printed {facts.built} · licence {facts.licence}", None],
             [address, address]]


#: The build's printable sheets (worksheets, keys, tasks, cards, vocabulary), one PDF each.
SHEETS = ("worksheets", "answers", "keys", "tasks", "cards", "vocabulary")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--site", default=str(ROOT / "_build" / "html"))
    # Into the site, so the published site serves every PDF the teacher pages link to.
    parser.add_argument("--out", default=str(ROOT / "_build" / "html" / "pdf"))
    parser.add_argument("--chromium", default=CHROMIUM)
    args = parser.parse_args()
    site, out = Path(args.site), Path(args.out)
    if not (site / "index.html").is_file():
        sys.exit(f"no built site at {site}: run `make book` first")
    out.mkdir(parents=True, exist_ok=True)
    facts = book_facts()
    shown = lambda p: p.relative_to(ROOT) if p.is_relative_to(ROOT) else p  # noqa: E731

    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="dx-pdf-") as tmp, serve(site) as base, sync_playwright() as p:
        work = Path(tmp)
        browser = p.chromium.launch(executable_path=args.chromium, args=CHROMIUM_ARGS)
        # The site's Content-Security-Policy forbids inline styles; the printer adds its own.
        page = browser.new_page(bypass_csp=True, color_scheme="light")
        page.route("**/*", lambda r: r.continue_() if r.request.url.startswith(base) else r.abort())
        printer = Printer(page, base)

        # The book: every page once, as a part, then the front matter, then joined.
        groups, parts = [], []
        for caption, names in toc_parts():
            group = []
            for name in names:
                part = read_part(name, printer.doc(name, work / pdf_name(name), anchors=True))
                group.append(part)
                parts.append(part)
            groups.append((caption, group))
        assert [p.docname for p in parts] == toc_docnames(), "toc_parts and toc_docnames disagree"
        front, front_pages, entries = print_front(printer, facts, groups, work / "front.pdf")
        book = out / "defection-explained.pdf"
        join_book(front, parts, entries, facts, base, book)
        print(f"wrote {shown(book)}: {front_pages} pages of title and contents, "
              f"{front_pages + sum(p.pages for p in parts)} pages in all")

        # Each page's own PDF: a title block, its own outline and page numbers.
        for part in parts:
            target = printer.doc(part.docname, out / pdf_name(part.docname), block=title_block(facts, part.docname))
            finish_page_pdf(target, running_title(facts, part.title), base, facts)
            print(f"wrote {shown(target)}")

        # Worksheets and answer keys (made from questions/ by the build), one PDF each.
        sheets = sorted(str(p.relative_to(site).with_suffix("")) for folder in SHEETS
                        for p in (site / folder).glob("*.html"))
        for name in sheets:
            target = printer.doc(name, out / pdf_name(name), footer=True)
            from pypdf import PdfReader, PdfWriter
            writer = PdfWriter(clone_from=PdfReader(str(target)))
            publish_local_links(writer, base, facts.url)
            stamp_dates(writer)

            with target.open("wb") as fh:
                writer.write(fh)
            print(f"wrote {shown(target)}")
        browser.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
