"""A builder (``epub``) and its own hooks: the EPUB 3 edition, made by ``tools/epub.py``.

Nothing here touches the web site except one entry in every page's download menu
(``html-page-context``, site builders only), the front page's link and the Editions
page's listing (``dx_epub``). Everything else runs only when the
builder is ``epub``, in hooks the EPUB builder owns, never at ``build-finished``:

* ``config-inited``: the ``epub_*`` metadata from ``CITATION.cff`` (title, authors,
  identifier, rights and licence, description with version and date) and the cover.
  Only the EPUB builder reads these values, so they are set for every builder alike.
* ``builder-inited``: no launch buttons (sphinx-book-theme's header handlers expect
  its own theme, not Sphinx's ``epub`` theme).
* ``source-read``: ``{{ dx_epub_file }}`` in a page (the front page's link) becomes
  the EPUB's file name, ``defection-explained-<version>.epub``.
* ``doctree-resolved``: each chart node (``charts.dx_chart``, the front page's copy
  included) becomes one ``<img>`` of a PNG drawn from the chart's build-time SVG, with
  the chart's text alternative as ``alt``; the page's
  quiz (``{dx-quiz}``) becomes plain numbered questions, and an "Answers" section
  with each answer and why goes at the end of the chapter; exercise solutions are
  left out (students get the exercises, as in the PDF; the teacher edition keeps them).
* ``html-page-context`` (last): no script, no meta tags, no canonical link, and only
  the EPUB's own stylesheets.
* :class:`BookEpubBuilder` (registered as ``epub`` over Sphinx's own, which it extends):
  before packing, it writes the cover and the stylesheet, points links to files that are
  not in the book (worksheets, PDFs, data downloads) at the published site, and removes
  every file no page uses (scripts, fonts, Vega specs, notebooks), so the package holds
  only pages, stylesheets and images. Its dates are the edition's release date.

The charts' PNGs are drawn only here, from the SVG the chapter's execution already
made: chapters are not executed again (the execution cache, ``cache.py``, is shared).
"""
from __future__ import annotations

import html as htmllib
from html.parser import HTMLParser
import posixpath
import re
from pathlib import Path
from urllib.parse import quote, unquote, urldefrag

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.builders.epub3 import Epub3Builder
from sphinx.util import logging

from .finish import is_site_build, replace_tags, start_tags

logger = logging.getLogger(__name__)

#: Where the EPUB is published in the site, as ``tools/editions.py`` and ``releases.py`` name it.
OFFLINE_DIR = "offline"
CHART_DIR = "_images/charts"
COVER = "_static/dx-cover.png"
STYLESHEET = "_static/dx-epub.css"
#: Stylesheets the EPUB keeps: Sphinx's epub theme, code highlighting, and the book's own.
KEEP_CSS = ("epub.css", "pygments.css", "dx-epub.css")


def epub_name(version: str) -> str:
    return f"defection-explained-{version}.epub"


def fixed_times(epub: bytes) -> bytes:
    """The EPUB with every entry's time stamp fixed (``lms.ZIP_TIME``), its order and compression
    kept (``mimetype`` first and stored, as EPUB requires): Sphinx zips the files with their
    modification times, so two builds of the same commit gave different bytes."""
    import io
    import zipfile

    from .lms import ZIP_TIME

    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(epub)) as source, zipfile.ZipFile(out, "w") as target:
        for item in source.infolist():
            info = zipfile.ZipInfo(item.filename, ZIP_TIME)
            info.compress_type, info.external_attr = item.compress_type, 0o644 << 16
            target.writestr(info, source.read(item))
    return out.getvalue()


def _citation(app: Sphinx) -> dict:
    from .releases import read_citation

    return read_citation(Path(app.srcdir))


# --- metadata -----------------------------------------------------------------------------


def _configure(app: Sphinx, config) -> None:
    from .releases import authors, long_date

    cff = _citation(app)
    version, released = str(cff.get("version", "")), str(cff.get("date-released", ""))
    names = ", ".join(authors(cff)) or str(config.author)
    url = str(cff.get("url", "") or config.html_baseurl or "")
    config.epub_basename = f"defection-explained-{version}" if version else "defection-explained"
    config.epub_title = str(cff.get("title") or config.project)
    config.epub_author = names
    config.epub_publisher = names
    config.epub_contributor = names
    licence = str(cff.get("license", "")).replace("CC-BY-4.0", "CC BY 4.0")
    config.epub_copyright = (f"© {released[:4] or config.copyright} {names}. Text, figures and data: "
                             f"{licence or 'CC BY 4.0'}, https://creativecommons.org/licenses/by/4.0/")
    config.epub_description = (f"{config.epub_title}. Version {version}, released "
                               f"{long_date(released) if released else 'undated'}. Text, figures and data: "
                               f"{licence or 'CC BY 4.0'}.")
    config.epub_scheme = "URL"
    config.epub_identifier = f"{url}editions/{version}/{epub_name(version)}" if url else epub_name(version)
    config.epub_uid = "BookId"
    config.epub_cover = (COVER, "epub-cover.html")
    config.epub_use_index = False
    config.epub_show_urls = "no"
    config.epub_tocdepth = 2
    config.epub_css_files = []
    # `make pdf` makes the EPUB before freezing the edition: the Editions page lists it (releases.py).
    config.dx_epub = True


#: In a page's source, replaced by the EPUB's file name when the page is read (intro.md links it).
FILE_TOKEN = "{{ dx_epub_file }}"


def _source_read(app: Sphinx, docname: str, source: list) -> None:
    if FILE_TOKEN in source[0]:
        app.env.note_dependency(str(Path(app.srcdir) / "CITATION.cff"))
        source[0] = source[0].replace(FILE_TOKEN, epub_name(str(_citation(app).get("version", ""))))


def _no_launch_buttons(app: Sphinx) -> None:
    if app.builder.name == "epub":
        options = dict(app.config.html_theme_options or {})
        options["launch_buttons"] = {}
        app.config.html_theme_options = options


# --- charts, quiz and solutions in the doctree -----------------------------------------------

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


class _XHTML(HTMLParser):
    """Raw HTML as XHTML (an EPUB's pages are XML): every attribute with a quoted value,
    void elements closed, entities as characters, no script, no noscript, no template."""

    DROP = {"script", "noscript", "template"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.skip = 0

    def handle_starttag(self, tag, attrs):
        if tag in self.DROP:
            self.skip += 1
        if self.skip:
            return
        text = "".join(f' {k}="{htmllib.escape(v if v is not None else "", quote=True)}"' for k, v in attrs)
        self.out.append(f"<{tag}{text}/>" if tag in VOID else f"<{tag}{text}>")

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag not in VOID and not self.skip:
            self.out.append(f"</{tag}>")

    def handle_endtag(self, tag):
        if tag in self.DROP:
            self.skip = max(0, self.skip - 1)
            return
        if not self.skip and tag not in VOID:
            self.out.append(f"</{tag}>")

    def handle_data(self, data):
        if not self.skip:
            self.out.append(htmllib.escape(data, quote=False))

    def handle_comment(self, data):
        if not self.skip and "--" not in data:
            self.out.append(f"<!--{data}-->")


def xhtml(fragment: str) -> str:
    """A fragment of HTML as well-formed XHTML (see :class:`_XHTML`)."""
    parser = _XHTML()
    parser.feed(fragment)
    parser.close()
    return "".join(parser.out)



def chart_image(chart, depth: int, outdir: Path) -> str:
    """A chart's ``<img>`` (XHTML) of its PNG, written under ``outdir`` (``charts.ChartFiles``);
    ``chart``: its data, or a node's canonical text."""
    from . import charts

    files = charts.ChartFiles(outdir, chart, CHART_DIR)
    chart = files.chart
    svg = chart["wide"]["svg"]
    name = files.write(".png", lambda: charts.svg_to_png(svg))
    width, height = charts._size(svg)
    size = f' width="{round(float(width))}" height="{round(float(height))}"' if width else ""
    src = "../" * depth + f"{CHART_DIR}/{name}"
    return (f'<div class="dx-chart"><div class="dx-chart-static"><img class="dx-chart-img" src="{src}" '
            f'alt="{htmllib.escape(chart["description"], quote=True)}"{size}/></div></div>')


def _sentence(text: str) -> str:
    """``text`` ending with a full stop (or its own ?, !)."""
    return text if text.rstrip().endswith((".", "?", "!", ".”", "?”", "!”")) else text + "."


def _quiz_and_answers(app: Sphinx, docname: str) -> tuple[str, str]:
    """The chapter's questions as plain HTML, and their answers (XHTML fragments)."""
    from . import questions as qz

    root = Path(app.srcdir)
    chapter = qz.chapter_for(root, docname)
    titles = qz.section_titles(app.env, docname)
    esc = htmllib.escape
    quiz = ['<div class="dx-quiz">',
            '<p class="dx-quiz-intro">Answer each question, then compare your answers with '
            '<a href="#dx-answers">the answers at the end of this chapter</a>.</p>']
    answers = []
    for number, q in enumerate(chapter.questions, start=1):
        qid = esc(q["id"])
        quiz.append(f'<div class="dx-q" id="{qid}"><p class="dx-q-prompt"><strong>Question {number}.</strong> '
                    f'{qz.inline(q["prompt"])} <span class="dx-q-kind">({qz.TYPE_NAMES[q["type"]]})</span></p>')
        if q["type"] in ("single", "multiple", "true_false"):
            items = "".join(f"<li>{qz.inline(o['text'])}</li>" for o in qz.options_of(q))
            quiz.append(f'<ol class="dx-q-options">{items}</ol>')
        quiz.append(f'<p class="dx-q-link"><a href="#{qid}-answer">Answer {number}</a></p></div>')
        section = f'<a href="#{esc(q["section"])}">{esc(titles.get(q["section"], q["section"]))}</a>'
        if q["type"] in ("single", "multiple", "true_false"):
            options = qz.options_of(q)
            letter = (lambda i: "") if q["type"] == "true_false" else (lambda i: f"({'abcdefghij'[i]}) ")
            right = "; ".join(letter(i) + qz.inline(o["text"]) for i, o in enumerate(options) if o["correct"])
            why = "".join(f'<li><strong>{"Right" if o["correct"] else "Wrong"}:</strong> {letter(i)}'
                          f'{_sentence(qz.inline(o["text"]))} {qz.inline(o["feedback"])}</li>'
                          for i, o in enumerate(options))
            body = f'<p><strong>Answer {number}:</strong> {right}</p><ul class="dx-answer-why">{why}</ul>'
        else:
            shown = qz.numeric_answer(q) if q["type"] == "numeric" else qz.inline(q["model_answer"])
            label = "Answer" if q["type"] == "numeric" else "Model answer"
            body = f"<p><strong>{label} {number}:</strong> {shown}</p>"
            if q.get("feedback"):
                body += f"<p>{qz.inline(q['feedback'])}</p>"
        answers.append(f'<div class="dx-answer" id="{qid}-answer">{body}'
                       f'<p class="dx-answer-where">Where the chapter explains this: {section}. '
                       f'<a href="#{qid}">Back to question {number}</a>.</p></div>')
    quiz.append("</div>")
    return "\n".join(quiz), "\n".join(answers)


def _set_text(raw: nodes.raw, text: str) -> None:
    """Replace a raw node's HTML, keeping its classes (myst-nb's output wrapper)."""
    raw.clear()
    raw += nodes.Text(text)


def _resolved(app: Sphinx, doctree: nodes.document, docname: str) -> None:
    if app.builder.name != "epub":
        return
    from .charts import dx_chart
    from .editions import is_teacher_build
    from .frontpage import dx_front_chart

    outdir, depth = Path(app.outdir), docname.count("/")
    answers = ""
    from .questions import dx_quiz

    for node in list(doctree.findall(dx_quiz)):  # the questions here, the answers at the chapter's end
        quiz, answers = _quiz_and_answers(app, docname)
        node.replace_self(nodes.raw("", quiz, format="html"))
    for node in list(doctree.findall(dx_chart)):
        node.replace_self(nodes.raw("", chart_image(node["chart"], depth, outdir), format="html"))
    for node in list(doctree.findall(dx_front_chart)):
        node.replace_self(nodes.raw("", _front_chart(app, node["src"], node["fig"], depth), format="html"))
    for raw in list(doctree.findall(nodes.raw)):
        if "html" in raw.get("format", "").split():
            _set_text(raw, xhtml(raw.astext()))
    if not is_teacher_build():
        from sphinx_exercise.nodes import solution_end_node, solution_node, solution_start_node

        for cls in (solution_node, solution_start_node, solution_end_node):
            for node in list(doctree.findall(cls)):
                node.parent.remove(node)
    if answers:
        # Raw, not a docutils section: a section added now would take the chapter's number.
        top = next(iter(doctree.findall(nodes.section)), doctree)
        top += nodes.raw("", '<section id="dx-answers" class="dx-answers">'
                             "<h2>Answers to “Check your understanding”</h2>\n" + answers + "</section>",
                         format="html")


def _front_chart(app: Sphinx, src: str, fig: str, depth: int) -> str:
    """The front page's picture (``frontpage.py``): the chapter's chart, as in the chapter."""
    from .frontpage import find

    found = find(app, src, fig)
    if found is None:
        return ""
    figure, chart = found
    caption = next(iter(figure.findall(nodes.caption)), None)
    image = chart_image(chart["chart"], depth, Path(app.outdir))
    href = "../" * depth + f"{src}.xhtml#{fig}"
    text = htmllib.escape(caption.astext()) if caption is not None else "The chart"
    return (f'<div class="dx-front-chart"><div class="figure">{image}'
            f'<p class="caption"><a href="{href}">{text}</a></p></div></div>')


# --- the page ---------------------------------------------------------------------------------


def _page_context(app: Sphinx, pagename, templatename, context, doctree) -> None:
    if is_site_build(app):
        _download_entry(app, context)
        return
    if app.builder.name != "epub":
        return
    context["script_files"] = []
    # No script in the body either: every raw HTML node went through ``xhtml`` (which drops
    # scripts) when the doctree was resolved, and Thebe's configuration left it before that.
    context["metatags"] = ""
    context["pageurl"] = None
    context["favicon_url"] = None
    context["logo_url"] = None
    context["css_files"] = [f"_static/{name}" for name in KEEP_CSS]  # the template makes them relative


def _download_entry(app: Sphinx, context) -> None:
    """The whole book as EPUB, next to the PDF in the page's download menu."""
    version = str(_citation(app).get("version", ""))
    for group in context.get("header_buttons", []):
        if group.get("label") == "download-buttons":
            group["buttons"].append({"type": "link", "text": ".epub", "icon": "fas fa-book",
                                     "url": context["pathto"](f"{OFFLINE_DIR}/{epub_name(version)}", 1),
                                     "tooltip": "The whole book as EPUB (e-readers)",
                                     "label": "download-epub-button"})


# --- the package ------------------------------------------------------------------------------

STYLE = """\
/* Defection Explained, EPUB edition (_ext/dxbook/epub.py). */
body { line-height: 1.45; }
img { max-width: 100%; height: auto; }
.dx-chart { margin: 1em 0; text-align: center; }
.dx-chart img { display: block; margin: 0 auto; }
div.figure p.caption, figcaption { font-size: 0.9em; }
div.admonition, div.topic, div.sidebar { border: 1px solid #999999; padding: 0.3em 0.8em; margin: 1em 0; }
p.admonition-title { font-weight: bold; margin-top: 0.3em; }
div.cell_input pre, div.cell_output pre, pre { font-size: 0.8em; white-space: pre-wrap; }
div.cell_output { margin-bottom: 1em; }
table { border-collapse: collapse; margin: 0.5em 0; }
th, td { border: 1px solid #bbbbbb; padding: 0.2em 0.4em; vertical-align: top; }
ol.dx-q-options { list-style-type: lower-alpha; }
.dx-q { margin: 1em 0; }
.dx-q-kind { font-style: italic; }
.dx-answer { margin: 1em 0; }
.dx-front-hero, .dx-ways-in, .dx-chapter-map { margin: 1em 0; }
.epub-cover img { width: 100%; }
"""


def cover_svg(cff: dict) -> str:
    """A plain cover: the title, the version and date, the authors and the licence."""
    from .releases import authors, long_date

    esc = htmllib.escape
    title = str(cff.get("title", "Defection Explained"))
    main, _, sub = title.partition(": ")
    version, released = str(cff.get("version", "")), str(cff.get("date-released", ""))
    edition = f"Version {version}" + (f", {long_date(released)}" if released else "")
    who = ", ".join(authors(cff))
    font = "Liberation Sans, Arial, sans-serif"
    lines = [
        '<svg xmlns="http://www.w3.org/2000/svg" width="800" height="1280" viewBox="0 0 800 1280">',
        '<rect width="800" height="1280" fill="#0B3C5D"/>',
        '<rect x="0" y="860" width="800" height="420" fill="#F4F1EA"/>',
        '<rect x="60" y="300" width="120" height="10" fill="#E69F00"/>',
    ]
    y = 420
    for word in main.split():
        lines.append(f'<text x="60" y="{y}" font-family="{font}" font-size="104" font-weight="bold" '
                     f'fill="#FFFFFF">{esc(word)}</text>')
        y += 124
    if sub:
        lines.append(f'<text x="60" y="{y + 20}" font-family="{font}" font-size="44" fill="#F0E442">{esc(sub)}</text>')
    lines += [f'<text x="60" y="960" font-family="{font}" font-size="36" fill="#222222">{esc(edition)}</text>',
              f'<text x="60" y="1020" font-family="{font}" font-size="32" fill="#222222">{esc(who)}</text>',
              f'<text x="60" y="1200" font-family="{font}" font-size="28" fill="#555555">'
              f'Text, figures and data: CC BY 4.0</text>',
              "</svg>"]
    return "\n".join(lines)


def _unique_id(seen: dict[str, int], name: str) -> str:
    """``name``, or ``name-N`` for its Nth use on the page (sphinx-exercise gives every exercise
    ``id="exercise-content"``; an XHTML page's ids must be unique)."""
    seen[name] = seen.get(name, 0) + 1
    return name if seen[name] == 1 else f"{name}-{seen[name]}"


def rewrite_page(text: str, link) -> tuple[str, list[str]]:
    """A written EPUB page, read by the HTML parser: each ``<a href>`` passed through
    ``link(href) -> href``, ids made unique (:func:`_unique_id`); returns the new text and
    the local files its tags name (``src``, ``href``; no fragment, no scheme)."""
    changes, seen, named = [], {}, []
    for tag in start_tags(text):
        attrs = dict(tag.attrs)
        if tag.name == "a" and attrs.get("href"):
            attrs["href"] = link(attrs["href"])
        if attrs.get("id"):
            attrs["id"] = _unique_id(seen, attrs["id"])
        if attrs != tag.attrs:
            changes.append((tag, attrs))
        for key in ("src", "href"):
            value = tag.attrs.get(key) or ""
            if value and "#" not in value and ":" not in value:
                named.append(value)
    return replace_tags(text, changes), named


class BookEpubBuilder(Epub3Builder):
    """Sphinx's EPUB 3 builder, with the book's cover, date and a package of only what pages use."""

    name = "epub"

    def init_templates(self) -> None:
        # The book's templates (templates/layout.html and the theme's components) are for
        # sphinx-book-theme; the EPUB uses Sphinx's epub theme with its own templates.
        ours = str(Path(__file__).resolve().parent / "templates")
        kept = [p for p in self.config.templates_path
                if str(p) != ours and "sphinx_book_theme" not in str(p) and "pydata_sphinx_theme" not in str(p)]
        saved, self.config.templates_path = self.config.templates_path, kept
        try:
            super().init_templates()
        finally:
            self.config.templates_path = saved

    def handle_finish(self) -> None:
        out = Path(self.outdir)
        cff = _citation(self.app)
        from defection.charts import svg_to_png

        (out / COVER).parent.mkdir(parents=True, exist_ok=True)
        (out / COVER).write_bytes(svg_to_png(cover_svg(cff), scale=2))
        (out / STYLESHEET).write_text(STYLE, encoding="utf-8")
        self._finish_pages(out)
        super().handle_finish()

    def _finish_pages(self, out: Path) -> None:
        pages = {f"{doc}{self.out_suffix}" for doc in self.env.found_docs}
        base = (self.config.html_baseurl or "").rstrip("/") + "/"
        used: set[str] = set(pages) | {COVER}
        for rel in sorted(pages):
            path = out / rel
            if not path.is_file():
                continue
            text = path.read_text(encoding="utf-8")
            folder = posixpath.dirname(rel)

            def link(href: str, folder=folder) -> str:
                target, frag = urldefrag(href)
                if re.match(r"^[a-z][a-z0-9+.-]*:", target):  # a web address: valid as a URI (RFC 3986)
                    return quote(href, safe=":/?#[]@!$&'()*+,;=%~")
                if not target:
                    return href
                resolved = posixpath.normpath(posixpath.join(folder, unquote(target)))
                if resolved in pages or (out / resolved).is_file() and posixpath.splitext(resolved)[1] in self.media_types:
                    if resolved not in pages:
                        used.add(resolved)
                    return href
                web = resolved[:-len(".xhtml")] + ".html" if resolved.endswith(".xhtml") else resolved
                return base + web + (f"#{frag}" if frag else "")

            # Links to what the EPUB does not hold go to the site; every file a tag names is kept.
            new, named = rewrite_page(text, link)
            used.update(posixpath.normpath(posixpath.join(folder, unquote(value))) for value in named)
            if new != text:
                path.write_text(new, encoding="utf-8")
        used = {u for u in used if posixpath.splitext(u)[1] in self.media_types}
        # Stylesheets' own files (url(...)), then everything no page or stylesheet uses goes.
        for css in [u for u in list(used) if u.endswith(".css") and (out / u).is_file()]:
            for ref in re.findall(r'url\(\s*["\']?([^"\')]+)', (out / css).read_text(encoding="utf-8")):
                if not re.match(r"^[a-z]+:", ref):
                    used.add(posixpath.normpath(posixpath.join(posixpath.dirname(css), ref)))
        removed = 0
        for path in sorted(out.rglob("*"), reverse=True):
            rel = path.relative_to(out).as_posix()
            if path.is_file() and rel not in used and not rel.startswith("META-INF") and rel != "mimetype" \
                    and not rel.endswith(".epub"):
                path.unlink()
                removed += 1
            elif path.is_dir() and not any(path.iterdir()):
                path.rmdir()
        logger.info("[dxbook] epub: %d pages, %d files no page uses left out", len(pages), removed)

    def build_epub(self) -> None:
        # Sphinx's cover page says only "Cover image": say what the cover shows.
        from .releases import authors

        cff = _citation(self.app)
        cover = Path(self.outdir) / self.coverpage_name
        if cover.is_file():
            alt = (f"Cover: {cff.get('title', self.config.epub_title)}, version {cff.get('version', '')}, "
                   f"by {', '.join(authors(cff))}")
            text = cover.read_text(encoding="utf-8")
            cover.write_text(text.replace('alt="Cover image"', f'alt="{htmllib.escape(alt, quote=True)}"'),
                             encoding="utf-8")
        super().build_epub()
        made = Path(self.outdir) / f"{self.config.epub_basename}.epub"  # where Sphinx wrote it
        if made.is_file():
            made.write_bytes(fixed_times(made.read_bytes()))

    def toc_metadata(self, level, navpoints):
        metadata = super().toc_metadata(level, navpoints)
        metadata["uid"] = htmllib.escape(self.config.epub_identifier)  # the NCX names the book as the OPF does
        return metadata

    def content_metadata(self):
        metadata = super().content_metadata()
        cff = _citation(self.app)
        if cff.get("date-released"):
            metadata["date"] = f"{cff['date-released']}T00:00:00Z"
        if cff.get("version"):
            metadata["version"] = htmllib.escape(str(cff["version"]))
        return metadata


def setup(app: Sphinx) -> None:
    app.add_builder(BookEpubBuilder, override=True)
    app.connect("config-inited", _configure)
    app.connect("source-read", _source_read)
    app.connect("builder-inited", _no_launch_buttons, priority=100)
    app.connect("doctree-resolved", _resolved)
    app.connect("html-page-context", _page_context, priority=1100)
