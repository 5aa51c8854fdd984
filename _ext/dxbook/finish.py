"""``build-finished``: the one pass over the written site, its steps in one ordered function.

Most of the book's work happens while Sphinx reads and writes pages (directives,
``doctree-read``, ``html-page-context``). What is left here needs the whole written
site, or files that are not pages, and its order matters, so it is written down
once, in :func:`finish`, instead of in priority numbers spread over modules:

1. files that are not pages (or are pages Sphinx does not write): the data copies and
   the package wheel (``publish``), the editions archive (``releases``), the student
   and teacher notebooks (``notebooks``), the site root page (``security``). (The
   printable sheets are pages Sphinx writes: ``worksheets.collect_pages``.);
2. every page read **once** (charts and quiz keys are already in their files: their nodes'
   HTML visitors, ``charts.visit_dx_chart_html`` and ``questions.visit_quiz_html``, wrote
   them when the page was written);
3. every CSV in the site neutralised for spreadsheets, chart downloads included (``publish``);
4. from the words of every page (read by the HTML parser), icon fonts subset, stylesheets
   pruned, and each page's stylesheets bundled (``assets``; scripts minified first);
5. every changed page written **once**; files named by content hash that no page uses
   any more removed: charts and quiz keys by the manifest of what each page shows, recorded
   on ``env`` when the page is read (:func:`remove_stale`), stylesheet bundles by the pages' links;
6. the teacher pack, from the finished sheets.

The content policy is not here: it is one constant, written into every page's ``<head>`` by
the page templates (``security``; the sheets' template too), and into the site root by
``security.root_page``.

It runs only for the site builders (``html``, ``dirhtml``): the EPUB builder shares the
HTML format but none of this. It is connected after every other extension's
``build-finished`` (the theme rewrites ``pygments.css`` and sphinx-sitemap writes the
sitemap there, at the default priority), because step 4 works on the theme's CSS.
"""
from __future__ import annotations

import os
import posixpath
from html import escape
from html.parser import HTMLParser
from pathlib import Path
from typing import Callable, NamedTuple

from sphinx.application import Sphinx
from sphinx.util import logging

logger = logging.getLogger(__name__)

SITE_BUILDERS = ("html", "dirhtml")


def is_site_build(app: Sphinx) -> bool:
    """True for the builders that make the web site (not the EPUB, which shares the HTML format)."""
    return app.builder.name in SITE_BUILDERS


class Site:
    """The written pages of a site, read once, edited in memory and written once.

    A page's name is its path under the output folder without ``.html``; files under
    ``_static`` are assets, not pages."""

    def __init__(self, outdir: Path):
        self.outdir = Path(outdir)
        self.pages: dict[str, str] = {}
        self._read: dict[str, str] = {}
        for path in sorted(self.outdir.rglob("*.html")):
            rel = path.relative_to(self.outdir)
            if "_static" in rel.parts:
                continue
            name = rel.with_suffix("").as_posix()
            self.pages[name] = self._read[name] = path.read_text(encoding="utf-8")

    def edit(self, change: Callable[[str, str], str]) -> int:
        """Apply ``change(pagename, html) -> html`` to every page; returns how many changed."""
        changed = 0
        for name, html in self.pages.items():
            new = change(name, html)
            if new != html:
                self.pages[name] = new
                changed += 1
        return changed

    def write(self) -> int:
        """Write the pages whose HTML differs from what was read; returns how many."""
        written = 0
        for name, html in self.pages.items():
            if html != self._read.get(name):
                (self.outdir / f"{name}.html").write_text(html, encoding="utf-8")
                self._read[name] = html
                written += 1
        return written

    def remove_unlinked(self, folder: str, pattern: str = "*") -> int:
        """Delete the files in ``folder`` matching ``pattern`` that no page's ``<head>`` links
        (``<link href>``); returns how many. Build-made files are named by their content's hash,
        so an earlier build's leave unused; a page an incremental build did not write again still
        links to its own, which stay."""
        target = self.outdir / folder
        if not target.is_dir():
            return 0
        used: set[Path] = set()
        for name, html in self.pages.items():
            for tag in start_tags(head_of(html), {"link"}):
                href = (tag.attrs.get("href") or "").split("?")[0]
                if href and not href.startswith(("/", "#")) and ":" not in href:
                    used.add((self.outdir / posixpath.dirname(name) / href).resolve())
        stale = [path for path in target.glob(pattern) if path.is_file() and path.resolve() not in used]
        for path in stale:
            path.unlink()
        return len(stale)


class Tag(NamedTuple):
    """A start tag in a page: where it is (``html[start:end]``), its name and attributes."""
    start: int
    end: int
    name: str
    attrs: dict


class _TagFinder(HTMLParser):
    def __init__(self, names: set[str] | None):
        super().__init__(convert_charrefs=True)
        self.names, self.found = names, []

    def handle_starttag(self, tag, attrs):
        if self.names is None or tag in self.names:
            self.found.append((self.getpos(), self.get_starttag_text(), tag, dict(attrs)))

    handle_startendtag = handle_starttag


def start_tags(html: str, names: set[str] | None = None) -> list[Tag]:
    """The start tags named ``names`` (all, without it) in ``html``, found by Python's HTML parser
    (not a pattern over the text, which a comment, a script or an attribute value could fool),
    with their positions, so that a caller can replace a tag in place (:func:`replace_tags`)."""
    finder = _TagFinder(None if names is None else set(names))
    finder.feed(html)
    finder.close()
    line_starts, at = [0], html.find("\n")
    while at >= 0:
        line_starts.append(at + 1)
        at = html.find("\n", at + 1)
    tags = []
    for (line, column), text, name, attrs in finder.found:
        start = line_starts[line - 1] + column
        tags.append(Tag(start, start + len(text), name, attrs))
    return tags


def replace_tags(html: str, changes: list[tuple[Tag, dict]]) -> str:
    """``html`` with each tag of ``changes`` written again with its new attributes (values
    escaped, every attribute with a value, as XHTML needs; ``/>`` kept where the tag had it).
    The parser gives names in lower case, so only tags that change are written again."""
    pieces, last = [], 0
    for tag, attrs in sorted(changes, key=lambda change: change[0].start):
        text = "".join(f' {k}="{escape(k if v is None else v, quote=True)}"' for k, v in attrs.items())
        close = "/>" if html[tag.start:tag.end].endswith("/>") else ">"
        pieces += [html[last:tag.start], f"<{tag.name}{text}{close}"]
        last = tag.end
    return "".join(pieces) + html[last:]


def write_atomically(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` beside it and rename it into place, so a reader (or a page
    written in parallel that writes the same file) never sees half a file."""
    part = path.with_name(f".{path.name}.{os.getpid()}")
    part.write_bytes(data)
    os.replace(part, path)


def head_of(html: str) -> str:
    """The page up to its ``</head>`` (the whole text if it has none)."""
    end = html.find("</head>")
    return html if end < 0 else html[:end]


#: What each page's charts and quiz need: {docname: {folder: [file stem, ...]}}, recorded on
#: ``env`` when the page is read (``doctree-read``), so the files no page needs can be removed
#: without reading the written pages for their links.
HASHED_KEY = "dx_hashed_files"


def _note_hashed(app: Sphinx, doctree) -> None:
    from . import charts, questions
    from .pageflags import per_doc

    found: dict[str, list[str]] = {}
    for folder, stems in (*charts.hashed_files(doctree).items(), *questions.hashed_files(doctree).items()):
        found.setdefault(str(folder), []).extend(stems)
    per_doc(app.env, HASHED_KEY)[app.env.docname] = {k: sorted(set(v)) for k, v in found.items() if v}


def remove_stale(app: Sphinx, folders) -> int:
    """Delete the files in ``folders`` (under the output folder) whose stem (the content hash
    before the first dot) no page's manifest names; returns how many. A page an incremental
    build did not read again keeps its manifest, and so its files."""
    from .pageflags import per_doc

    manifests = per_doc(app.env, HASHED_KEY)
    unrecorded = set(app.env.found_docs) - set(manifests)
    if unrecorded:  # an environment from before the manifest: remove nothing rather than too much
        logger.info("[dxbook] no manifest of hashed files for %d pages: nothing removed", len(unrecorded))
        return 0
    needed: dict[str, set[str]] = {}
    for manifest in manifests.values():
        for folder, stems in manifest.items():
            needed.setdefault(folder, set()).update(stems)
    removed = 0
    for folder in map(str, folders):
        target = Path(app.outdir) / folder
        if not target.is_dir():
            continue
        for path in target.iterdir():
            if path.is_file() and path.name.split(".")[0] not in needed.get(folder, set()):
                path.unlink()
                removed += 1
    return removed


def finish(app: Sphinx, exception) -> None:
    if exception is not None or not is_site_build(app):
        return
    from . import assets, charts, notebooks, publish, questions, releases, security, worksheets

    out = Path(app.outdir)
    # 1. Files that are not pages, and the pages Sphinx does not write.
    publish.publish_files(app)
    releases.copy_archive(releases.archive_dir(), out)
    notebooks.write(app)
    security.write_root_index(app)
    # 2. Every page, read once. (Charts and quiz keys went to their files as the pages were written.)
    site = Site(out)
    # 3. Every CSV the site serves, chart downloads included.
    publish.neutralise(app)
    # 4. Theme weight, from the words of the whole site.
    assets.finish(app, site)
    # 5. Write once; drop hashed files that no page uses any more.
    written = site.write()
    stale = (remove_stale(app, (charts.CHART_DIR.as_posix(), questions.KEY_DIR))
             + site.remove_unlinked(assets.BUNDLE_DIR, "dx-*.css"))
    # 6. The teacher pack, from the finished sheets (each with its content policy).
    pack_names = worksheets.pack_names(app)
    if pack_names:
        worksheets.teacher_pack(out, pack_names, worksheets.site_icon(app))
    logger.info("[dxbook] finished %d pages, %d written, %d stale files removed", len(site.pages), written, stale)


def setup(app: Sphinx) -> None:
    from .pageflags import track

    app.connect("doctree-read", _note_hashed)
    track(app, HASHED_KEY)
    # After the other extensions' build-finished handlers (default priority 500): see above.
    app.connect("build-finished", finish, priority=800)
