"""Chart pages get the chart runtime; other pages load none of it.

A chart cell renders to ``<div class="dx-chart">`` (see ``defection/charts.py``):
a build-time SVG plus the compiled Vega spec. On pages that have one, this adds
the deferred ``dx/dx-charts.js``, which loads the vendored Vega runtime and its
CSP-safe expression interpreter (``static/dx/README.txt``) when a chart nears
the viewport.
"""
from __future__ import annotations

from sphinx.application import Sphinx

MARKER = 'class="dx-chart"'


def page_has_chart(body: str) -> bool:
    return MARKER in body


def _page_context(app: Sphinx, pagename, templatename, context, doctree) -> None:
    has_chart = page_has_chart(context.get("body", ""))
    context["dx_has_chart"] = has_chart
    if has_chart:
        # Called during html-page-context, add_js_file adds the script to this page only.
        app.add_js_file("dx/dx-charts.js", loading_method="defer")


def setup(app: Sphinx) -> None:
    app.connect("html-page-context", _page_context)
