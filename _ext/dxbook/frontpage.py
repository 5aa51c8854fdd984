"""The front page's picture: a chart the book already draws, shown again on the first screen.

``intro.md`` holds a placeholder naming the figure it shows::

    <div class="dx-front-chart" data-dx-from="chapters/01-how-defection-works#fig-ch1-origins-over-time"></div>

At build end, once ``charts.py`` has turned the chapter's chart into image files,
this copies that figure's static images (light and dark, with their text
alternative, whatever markup ``charts.py`` gives them) into the placeholder,
with a caption that links to the figure in its chapter. No second rendering, no
script: the front page shows the very files the chapter shows, offline and under
the site's content policy. It runs on every build, so an incremental build that
rewrote only the chapter still updates the front page.
"""
from __future__ import annotations

import re
from html import escape, unescape
from pathlib import Path

from sphinx.application import Sphinx
from sphinx.util import logging

logger = logging.getLogger(__name__)

PLACEHOLDER = re.compile(
    r'<div class="dx-front-chart" data-dx-from="(?P<src>[^"#]+)#(?P<fig>[^"]+)">'
    r"(?:.*?<!--/dx-front-chart-->|</div>)", re.S)
_DIV = re.compile(r"<(/?)div\b[^>]*>")


def _balanced_div(html: str, start: int) -> str:
    """The ``<div>`` element that opens at ``start``, with everything inside it."""
    depth = 0
    for m in _DIV.finditer(html, start):
        depth += -1 if m.group(1) else 1
        if depth == 0:
            return html[start:m.end()]
    return ""


def _text(fragment: str) -> str:
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", fragment)).split())


def figure(chapter_html: str, fig_id: str, depth: int, href: str) -> str:
    """The front page's ``<figure>`` for the chart ``fig_id`` of a chapter's final HTML
    (``depth``: how many folders deep that chapter is), or "" if it is not there."""
    at = chapter_html.find(f'id="{fig_id}"')
    if at < 0:
        return ""
    end = chapter_html.find("</figure>", at)
    static_at = chapter_html.find('<div class="dx-chart-static"', at, end)
    if static_at < 0:
        return ""
    static = _balanced_div(chapter_html, static_at)
    if "<img" not in static:
        return ""
    # The chapter's relative links, made relative to the site root (the front page).
    static = static.replace("../" * depth + "_static/", "_static/")
    # On the front page the picture is on the first screen: the light image loads with the page
    # (the chapter loads its charts lazily); the dark twin stays lazy.
    static = static.replace('class="dx-chart-light" ', 'class="dx-chart-light" fetchpriority="high" ', 1)
    light_at = static.find('class="dx-chart-light"')
    lazy_at = static.find(' loading="lazy"', light_at)
    if light_at >= 0 and lazy_at >= 0 and lazy_at < static.find(">", light_at):
        static = static[:lazy_at] + static[lazy_at + len(' loading="lazy"'):]
    number = re.search(r'<span class="caption-number">(.*?)</span>', chapter_html[at:end], re.S)
    number = _text(number.group(1)).rstrip(". ") if number else "The chart"
    title = re.search(r'aria-label="([^"]*)"', chapter_html[at:static_at])
    title = unescape(title.group(1)) if title else ""
    caption = (f'<a href="{escape(href, quote=True)}">{escape(number)}</a>'
               + (f": {escape(title)}" if title else "") + ".")
    return (f'<figure class="dx-front-figure">{static}'
            f"<figcaption>{caption}</figcaption></figure>")


def fill(root_html: str, read_page) -> tuple[str, list[str]]:
    """``root_html`` with every placeholder filled; ``read_page(docname)`` gives a page's HTML."""
    missing = []

    def one(m) -> str:
        src, fig = m.group("src"), m.group("fig")
        page = read_page(src)
        made = figure(page, fig, src.count("/"), f"{src}.html#{fig}") if page else ""
        if not made:
            missing.append(f"{src}#{fig}")
        return (f'<div class="dx-front-chart" data-dx-from="{escape(src, quote=True)}#{escape(fig, quote=True)}">'
                f"{made}</div><!--/dx-front-chart-->")

    return PLACEHOLDER.sub(one, root_html), missing


def fill_site(app: Sphinx, site) -> None:
    """Fill the front page's placeholders from the finished pages of ``site`` (``finish.Site``)."""
    root = str(app.config.root_doc)
    if root not in site.pages:
        return
    new, missing = fill(site.pages[root], lambda docname: site.pages.get(docname, ""))
    for where in missing:
        logger.warning(f"[dxbook] front page: no chart found at {where}")
    site.pages[root] = new
