"""``doctree-resolved``: the front page's picture, a chart the book already draws, shown again.

``intro.md`` names the figure it shows with a directive::

    ```{front-chart} chapters/01-how-defection-works#fig-ch1-origins-over-time
    ```

which leaves a :class:`dx_front_chart` node. When the front page's doctree is resolved, the
node becomes that figure's chart node (``charts.dx_chart``, copied from the chapter's doctree
and marked ``front``: its pictures only, light and dark, with their text alternative, loaded
with the page) in a ``<figure>`` whose caption links to the figure in its chapter. The chart's
visitor names the same content-hashed files the chapter shows: no second rendering, no script.
The EPUB builder shows the chapter's PNG instead (``epub``). An incremental build that reads a
chapter again also rewrites the front page (``env-get-outdated``).
"""
from __future__ import annotations

import copy
from html import escape

from docutils import nodes
from docutils.parsers.rst import directives
from sphinx.application import Sphinx
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective

logger = logging.getLogger(__name__)
ENV_KEY = "dx_front_sources"


class dx_front_chart(nodes.General, nodes.Element):
    """Where the front page shows a chapter's figure: ``src`` (a docname) and ``fig`` (its id)."""


class FrontChart(SphinxDirective):
    """``{front-chart} <docname>#<figure id>``."""

    required_arguments = 1

    def run(self):
        src, _, fig = directives.uri(self.arguments[0]).partition("#")
        if not src or not fig:
            raise self.error("front-chart: give the chapter and the figure as <docname>#<figure id>")
        from .pageflags import per_doc

        sources = per_doc(self.env, ENV_KEY)  # the chapters this page shows, for _outdated
        sources[self.env.docname] = sorted({*sources.get(self.env.docname, []), src})
        node = dx_front_chart(src=src, fig=fig)
        self.set_source_info(node)
        return [node]


def find(app: Sphinx, src: str, fig: str) -> tuple[nodes.figure, nodes.Element] | None:
    """(the figure ``fig`` of the page ``src``, its chart node), or None if there is none."""
    from .charts import dx_chart

    if src not in app.env.all_docs:
        return None
    for figure in app.env.get_doctree(src).findall(nodes.figure):
        if fig in figure["ids"]:
            chart = next(iter(figure.findall(dx_chart)), None)
            return (figure, chart) if chart is not None else None
    return None


def figure_number(app: Sphinx, src: str, fig: str) -> str:
    """The figure's number as its chapter prints it ("Fig. 1.1"), or "The chart"."""
    number = app.env.toc_fignumbers.get(src, {}).get("figure", {}).get(fig)
    return app.config.numfig_format.get("figure", "Fig. %s") % ".".join(map(str, number)) if number else "The chart"


def _resolved(app: Sphinx, doctree: nodes.document, docname: str) -> None:
    from .finish import is_site_build

    if not is_site_build(app):
        return  # the EPUB fills its own (epub.py)
    for node in list(doctree.findall(dx_front_chart)):
        src, fig = node["src"], node["fig"]
        found = find(app, src, fig)
        if found is None:
            logger.warning(f"[dxbook] front page: no chart found at {src}#{fig}", location=node)
            node.replace_self(nodes.raw("", "", format="html"))
            continue
        chart = copy.deepcopy(found[1])
        chart["front"] = True
        href = app.builder.get_relative_uri(docname, src) + "#" + fig
        from .charts import chart_data

        title = chart_data(chart)["title"]
        caption = (f'<a href="{escape(href, quote=True)}">{escape(figure_number(app, src, fig))}</a>'
                   + (f": {escape(title)}" if title else "") + ".")
        where = escape(f"{src}#{fig}", quote=True)
        node.replace_self([
            nodes.raw("", f'<div class="dx-front-chart" data-dx-from="{where}"><figure class="dx-front-figure">',
                      format="html"),
            chart,
            nodes.raw("", f"<figcaption>{caption}</figcaption></figure></div><!--/dx-front-chart-->", format="html")])


def _outdated(app: Sphinx, env, added, changed, removed) -> list[str]:
    """The pages showing a chapter's chart, when that chapter is read again."""
    from .pageflags import per_doc

    again = set(added) | set(changed)
    return [page for page, sources in per_doc(env, ENV_KEY).items() if again & set(sources) and page not in again]


def setup(app: Sphinx) -> None:
    from .pageflags import track

    app.add_node(dx_front_chart)
    app.add_directive("front-chart", FrontChart)
    app.connect("doctree-resolved", _resolved)
    app.connect("env-get-outdated", _outdated)
    track(app, ENV_KEY)
