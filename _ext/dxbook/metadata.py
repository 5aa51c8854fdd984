"""``html-page-context``: a meta description and Open Graph tags, so a shared link shows
a title and a summary; the sitemap kept complete and free of "noindex" pages."""
from __future__ import annotations

from html import escape
from html.parser import HTMLParser

from docutils import nodes
from sphinx.application import Sphinx

from .finish import is_site_build

_SKIP = (nodes.Admonition, nodes.figure, nodes.table, nodes.container, nodes.topic, nodes.sidebar)


def description(doctree, limit: int = 160) -> str:
    """The page's first paragraph of prose (outside boxes, figures and tables), shortened."""
    if doctree is None:
        return ""
    for para in doctree.findall(nodes.paragraph):
        parent, inside = para.parent, False
        while parent is not None:
            if isinstance(parent, _SKIP):
                inside = True
                break
            parent = parent.parent
        text = " ".join(para.astext().split())
        if not inside and len(text) > 40:
            if len(text) > limit:
                text = text[: limit - 1].rsplit(" ", 1)[0] + "…"
            return text
    return ""


class _Text(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_data(self, data):
        self.parts.append(data)


def plain_title(title: str) -> str:
    """A page title as text: Sphinx's titles carry markup (``<span class="section-number">``),
    read with the HTML parser (entities as characters)."""
    parser = _Text()
    parser.feed(title or "")
    parser.close()
    return " ".join("".join(parser.parts).split())


#: The front page's title: the book's name once, with what the book is (as CITATION.cff
#: and the front page's "How to cite" give it), not "Defection Explained — Defection Explained".
FRONT_SUBTITLE = "an open textbook"


def front_title(site_title: str) -> str:
    return f"{site_title}: {FRONT_SUBTITLE}"


def page_title_text(site_title: str, page_title: str, is_front: bool = False) -> str:
    """A page's title as a tab or a shared link shows it: the page, then the book, each once."""
    page_title = plain_title(page_title) or site_title
    if is_front or page_title == site_title:
        return front_title(site_title) if is_front else site_title
    return f"{page_title} — {site_title}"


def tags(site_title: str, page_title: str, desc: str, url: str, is_article: bool, is_front: bool = False) -> str:
    values = {
        ("name", "description"): desc,
        ("property", "og:title"): page_title_text(site_title, page_title, is_front),
        ("property", "og:description"): desc,
        ("property", "og:type"): "article" if is_article else "website",
        ("property", "og:site_name"): site_title,
        ("property", "og:url"): url,
        ("name", "twitter:card"): "summary",
    }
    return "".join(f'<meta {k}="{v}" content="{escape(c, quote=True)}" />\n' for (k, v), c in values.items())


def _page_context(app: Sphinx, pagename, templatename, context, doctree) -> None:
    site_title = app.config.html_title
    sheet = context.get("dx_sheet") or {}  # a printable page (worksheets.collect_pages)
    desc = description(doctree) or sheet.get("description") or site_title
    url = (app.config.html_baseurl or "") + pagename + ".html"
    is_front = pagename == app.config.root_doc
    context["metatags"] = context.get("metatags", "") + tags(
        site_title, context.get("title") or site_title, desc, url, pagename.startswith("chapters/"), is_front)
    if is_front:
        # templates/layout.html: the <title> names the book once (the theme would repeat it).
        context["dx_front_title"] = front_title(site_title)
    if pagename.startswith(TEACHER_PAGES) or sheet.get("noindex"):
        # Public, as everything on a static site is (the teacher guide says so), but not
        # offered to students by search engines.
        context["metatags"] += '<meta name="robots" content="noindex" />\n'


#: Pages for teachers: not listed by search engines (the printed keys carry the same tag).
TEACHER_PAGES = ("chapters/teachers/",)


def noindex_patterns() -> list[str]:
    """The pages marked "noindex" (teacher pages; the sheets ``worksheets.KINDS`` keeps out of
    search engines), as sitemap patterns: a page search engines are asked not to list is not
    offered to them in the sitemap either."""
    from .worksheets import KINDS

    return [f"{prefix}*" for prefix in TEACHER_PAGES] + [f"{kind}/*" for kind, (_, index, _) in KINDS.items() if not index]


def _exclude_from_sitemap(app: Sphinx, config) -> None:
    if hasattr(config, "sitemap_excludes"):  # sphinx-sitemap is loaded
        config.sitemap_excludes = [*config.sitemap_excludes,
                                   *(p for p in noindex_patterns() if p not in config.sitemap_excludes)]


def _complete_sitemap(app: Sphinx):
    """sphinx-sitemap lists only the pages written in this build (it queues them as
    they are written), so an incremental build would publish a sitemap of the few
    pages that changed. Once every page is written (``html-collect-pages``, before
    sphinx-sitemap writes the file at build end), the queue is completed with every
    other page of the book, as a full build would have it. The queue itself is the
    record of what was written (it is shared by parallel writers), so nothing is kept
    on ``app``."""
    import queue

    links = getattr(app, "sitemap_links", None)
    if not is_site_build(app) or links is None:
        return []
    queued = []
    while True:
        try:
            queued.append(links.get_nowait())
        except queue.Empty:
            break
    from sphinx_sitemap import is_excluded  # the rule sphinx-sitemap applies to the pages it queues

    suffix = app.config.html_file_suffix or ".html"
    have = {link for link, _ in queued}
    queued += [(docname + suffix, None) for docname in sorted(app.env.found_docs)
               if docname + suffix not in have and not is_excluded(docname + suffix, app.config.sitemap_excludes)]
    for item in queued:
        links.put(item)
    return []  # no pages of its own


def setup(app: Sphinx) -> None:
    app.connect("config-inited", _exclude_from_sitemap, priority=800)  # after sphinx-sitemap's config values
    app.connect("html-page-context", _page_context)
    app.connect("html-collect-pages", _complete_sitemap)
