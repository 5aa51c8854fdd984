"""``html-page-context``: the case browser's script only on pages that show the case browser.

``defection.tables.case_browser`` writes ``<div class="dx-cases" data-dx-cases>``
around a plain, escaped table of every case (the data page). On pages that have
one, this adds the deferred ``dx/dx-cases.js``, which turns it into a filterable,
sortable table with a live count; without JavaScript the table is complete.
"""
from __future__ import annotations

from sphinx.application import Sphinx

MARKER = "data-dx-cases"


def _page_context(app: Sphinx, pagename, templatename, context, doctree) -> None:
    from .pageflags import page_shows

    if page_shows(app, pagename, "cases"):
        app.add_js_file("dx/dx-cases.js", loading_method="defer")  # this page only


def setup(app: Sphinx) -> None:
    app.connect("html-page-context", _page_context)
