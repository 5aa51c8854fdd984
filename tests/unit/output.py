"""Reading a test build's output: pages as parsed HTML, links resolved the way a browser would."""
from __future__ import annotations

import posixpath
from pathlib import Path

from bs4 import BeautifulSoup


def page(app, docname: str) -> str:
    return (Path(app.outdir) / f"{docname}.html").read_text(encoding="utf-8")


_PARSED: dict = {}


def soup(app, docname: str) -> BeautifulSoup:
    """The page parsed (once per version of the file: tests look at a page many times)."""
    path = Path(app.outdir) / f"{docname}.html"
    key = (str(path), path.stat().st_mtime_ns)
    if key not in _PARSED:
        _PARSED[key] = BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser")
    return _PARSED[key]


def resolve(outdir: Path, pagename: str, href: str) -> Path:
    """The file a relative ``href`` on page ``pagename`` points to (fragment and query dropped)."""
    href = href.split("#", 1)[0].split("?", 1)[0]
    return Path(outdir) / posixpath.normpath(posixpath.join(posixpath.dirname(pagename), href))


def script_srcs(html_soup) -> list[str]:
    """The page's external scripts, without their ``?v=`` cache busters."""
    return [s["src"].split("?", 1)[0] for s in html_soup.find_all("script", src=True)]


def warnings(app) -> str:
    return app.warning.getvalue()  # the test app's warning stream (sphinx.testing)
