"""What each page shows, recorded on ``env`` while the page is read (``doctree-read``).

A chart is a node of its own (``charts.dx_chart``), as is a quiz
(``questions.dx_quiz``); the case browser reaches the doctree as raw HTML that carries its
marker (``casebrowser.MARKER``). They are noted here, per page, when the page is read, kept right by
``env-purge-doc`` and ``env-merge-info`` (parallel reading), and asked for by
``html-page-context`` (:func:`page_shows`), so no module searches a page's
finished HTML to learn what is on it. A page's scripts follow from this: the
chart runtime, the case browser and the quiz script load only where needed.
"""
from __future__ import annotations

from docutils import nodes
from sphinx.application import Sphinx

ENV_KEY = "dx_page_flags"


def flags_of(doctree: nodes.Node) -> set[str]:
    """What the doctree shows: its chart and quiz nodes, and the case browser's marker in its raw HTML."""
    from .casebrowser import MARKER
    from .charts import dx_chart
    from .questions import dx_quiz

    found = {flag for flag, cls in (("chart", dx_chart), ("quiz", dx_quiz))
             if next(iter(doctree.findall(cls)), None) is not None}
    for node in doctree.findall(nodes.raw):
        if "html" in node.get("format", "").split() and MARKER in node.astext():
            found.add("cases")
    return found


def page_shows(app: Sphinx, pagename: str, flag: str) -> bool:
    """True when the page ``pagename`` has a ``flag`` ("chart", "cases" or "quiz")."""
    return flag in getattr(app.env, ENV_KEY, {}).get(pagename, ())


def per_doc(env, key: str) -> dict:
    """A dict on ``env`` from docname to what was recorded for it when it was read; kept right
    by :func:`track` (purged with the page, merged from parallel readers)."""
    store = getattr(env, key, None)
    if store is None:
        store = {}
        setattr(env, key, store)
    return store


def track(app: Sphinx, key: str) -> None:
    """Purge a page's entry of the ``key`` store when it is read again, and merge the entries
    that parallel readers recorded."""

    def purge(app: Sphinx, env, docname: str) -> None:
        per_doc(env, key).pop(docname, None)

    def merge(app: Sphinx, env, docnames, other) -> None:
        theirs = getattr(other, key, {})
        per_doc(env, key).update({d: theirs[d] for d in docnames if d in theirs})

    app.connect("env-purge-doc", purge)
    app.connect("env-merge-info", merge)


def _read(app: Sphinx, doctree: nodes.document) -> None:
    per_doc(app.env, ENV_KEY)[app.env.docname] = sorted(flags_of(doctree))


def setup(app: Sphinx) -> None:
    app.connect("doctree-read", _read)
    track(app, ENV_KEY)
