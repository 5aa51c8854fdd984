"""``html-page-context``: accessibility fixes to other extensions' markup."""
from __future__ import annotations

from sphinx.application import Sphinx


def fix_bibliography(body: str) -> str:
    """sphinxcontrib-bibtex marks the bibliography ``role="list"`` but its entries are
    not list items (axe: aria-required-children, critical), and gives them
    ``role="doc-biblioentry"``, which ARIA does not allow there."""
    if 'class="citation-list"' not in body:
        return body
    body = body.replace('<div role="list" class="citation-list">', '<div class="citation-list">')
    return body.replace(' role="doc-biblioentry"', "")


def _page_context(app: Sphinx, pagename, templatename, context, doctree) -> None:
    if "body" in context:
        context["body"] = fix_bibliography(context["body"])


def setup(app: Sphinx) -> None:
    app.connect("html-page-context", _page_context)
