"""``html-page-context``: one constant Content-Security-Policy on every page.

The policy allows scripts from the site itself and, by SHA-256 hash, exactly one inline
script: the theme-mode switch in the book's ``templates/layout.html``, which must run
before the first paint. Nothing else runs: no other inline script, no inline event
handler, no ``eval`` (the live charts use Vega's CSP-safe expression interpreter), no
other host. Styles are 'self' plus inline style attributes, which the theme and the chart
SVGs use and which cannot run code.

The policy is the same text on every page and is known before any page is written
(:func:`site_policy`, hashed once from the template's source), so the page template writes
it first in ``<head>`` and nothing edits a page afterwards:

* the script bodies other extensions register with ``add_js_file(None, body=...)``
  (sphinx-togglebutton's settings, the theme's search-as-you-type option) are moved into
  one file, ``_static/dx/dx-settings.js``, loaded where the first of them stood; the
  theme's per-page page name is dropped, as the book has no version switcher to use it;
* the theme's search page focus script is a file (``templates/search.html``,
  ``static/dx/dx-search.js``);
* an inline script in the book's templates that Jinja would change from page to page
  (``{{ ... }}`` inside it) is an error: it would need a hash per page.

A script that reaches a page any other way (data, a notebook output, an edit of the written
file) has no hash and does not run.

Also here, none of it an edit of a written page: sphinx-thebe's dead configuration (it
writes it even with Thebe off) leaves the doctree when it is resolved
(``doctree-resolved``); the theme's print button carries ``data-dx-print`` (wired by
``dx-site.js``) instead of an inline ``onclick``, and its links that open a new window
carry ``rel="noopener noreferrer"``, from the book's copy of the theme's button macros
(``templates/macros/buttons.html``); raw HTML in the chapters that opens a new window gets
the same ``rel`` in a post-transform (``SafeNewWindows``). The site's root ``index.html``
(a bare redirect written by sphinx-external-toc) becomes a small page with a title, a
description and the policy (:func:`write_root_index`, at build end).
"""
from __future__ import annotations

import base64
import functools
import hashlib
import re
from html import escape
from pathlib import Path

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.errors import ExtensionError
from sphinx.transforms.post_transforms import SphinxPostTransform
from sphinx.util import logging

from .finish import write_atomically


logger = logging.getLogger(__name__)

#: Script types a browser does not execute (data blocks); CSP ignores them.
DATA_TYPES = ("application/json", "application/ld+json", "text/x-thebe-config")

POLICY = ("default-src 'self'; script-src 'self'{hashes}; style-src 'self' 'unsafe-inline'; "
          "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; media-src 'self'; "
          "object-src 'none'; frame-src 'none'; worker-src 'self'; base-uri 'self'; form-action 'self'")

_INLINE_SCRIPT = re.compile(r"<script(?P<attrs>(?:\s[^>]*)?)>(?P<body>.*?)</script>", re.S)
_BLANK = re.compile(r"<a\s(?P<attrs>[^>]*\btarget=\"_blank\"[^>]*)>")

#: The book's templates: the only place an inline script the policy allows may come from.
TEMPLATES = Path(__file__).parent / "templates"
#: Where the registered script bodies go (under ``_static``).
SETTINGS_JS = "dx/dx-settings.js"
#: The theme's one inline script that differs from page to page (pydata-sphinx-theme sets
#: the page name for its version switcher, which this book does not use): dropped.
_PER_PAGE_SCRIPT = "DOCUMENTATION_OPTIONS.pagename = "


def _is_executable(attrs: str) -> bool:
    if re.search(r"\ssrc=", attrs):
        return False
    kind = re.search(r'\stype="([^"]*)"', attrs)
    return not (kind and kind.group(1) in DATA_TYPES)


def script_hash(body: str) -> str:
    """The CSP source expression that allows an inline script with exactly this body."""
    return "'sha256-" + base64.b64encode(hashlib.sha256(body.encode("utf-8")).digest()).decode() + "'"


def policy_with(hashes) -> str:
    return POLICY.format(hashes="".join(" " + h for h in hashes))


def template_scripts(folder: Path = TEMPLATES) -> list[str]:
    """The bodies of the inline, executable ``<script>`` blocks in the templates of ``folder``
    (their Jinja source). A body with Jinja in it is an error: it could differ from page to
    page, and the policy is one for the whole site."""
    bodies = []
    for path in sorted(Path(folder).rglob("*.html")):
        text = path.read_text(encoding="utf-8", errors="replace")
        for m in _INLINE_SCRIPT.finditer(text):
            body = m.group("body")
            if not (_is_executable(m.group("attrs")) and body.strip()):
                continue
            if "{{" in body or "{%" in body or "{#" in body:
                raise ExtensionError(f"{path}: an inline script with Jinja in it would need a different "
                                     "content-policy hash on each page; move its data to an attribute or a file")
            bodies.append(body)
    return list(dict.fromkeys(bodies))


@functools.lru_cache(maxsize=4)
def site_policy(folder: Path = TEMPLATES) -> str:
    """The site's one policy: 'self' and the hashes of the book's template scripts, computed
    once (the templates are read when the first page is written)."""
    return policy_with(sorted({script_hash(b) for b in template_scripts(folder)}))


def _write_settings(outdir: Path, bodies: list[str]) -> None:
    """The registered script bodies as one file (written once per build, atomically: the pages
    of a parallel build all write the same bytes). Minified here, so ``assets.minify_scripts``
    leaves it as it is and the checksum Sphinx puts in its URL stays true."""
    import rjsmin

    text = rjsmin.jsmin("\n".join(b.rstrip().rstrip(";") + ";" for b in bodies)) + "\n"
    target = Path(outdir) / "_static" / SETTINGS_JS
    if _SETTINGS_WRITTEN.get(target) == text or (target.is_file() and target.read_text(encoding="utf-8") == text):
        _SETTINGS_WRITTEN[target] = text
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(target, text.encode("utf-8"))
    _SETTINGS_WRITTEN[target] = text


_SETTINGS_WRITTEN: dict[Path, str] = {}


def _builder_inited(app: Sphinx) -> None:
    app.add_js_file(SETTINGS_JS)  # placed on each page where the first registered body stood


def _page_context(app: Sphinx, pagename, templatename, context, doctree) -> None:
    if app.builder.format != "html":
        return
    bodies, kept, at, settings = [], [], None, None
    for js in context.get("script_files", []):
        attributes = getattr(js, "attributes", None) or {}
        filename = str(getattr(js, "filename", js) or "")
        if not filename and attributes.get("body"):
            body = str(attributes["body"])
            if not body.startswith(_PER_PAGE_SCRIPT):
                at = len(kept) if at is None else at
                bodies.append(body)
        elif filename.endswith(SETTINGS_JS):
            settings = js
        else:
            kept.append(js)
    if bodies and settings is not None:
        _write_settings(app.outdir, bodies)
        kept.insert(at, settings)
    context["script_files"] = kept
    meta = f'<meta http-equiv="Content-Security-Policy" content="{site_policy()}">'
    context["metatags"] = meta + "\n" + context.get("metatags", "")


class SafeNewWindows(SphinxPostTransform):
    """Raw HTML in a chapter that opens a link in a new window (``target="_blank"``) gets
    ``rel="noopener noreferrer"``, so the new page gets no handle on this one. On the raw
    node's own HTML, the source an author wrote, not on a written page."""

    default_priority = 900
    formats = ("html",)

    def run(self, **kwargs) -> None:
        for node in list(self.document.findall(nodes.raw)):
            if "html" in node.get("format", "").split() and "_blank" in node.astext():
                text = _BLANK.sub(_secure_link, node.astext())
                if text != node.astext():
                    node.children = []
                    node += nodes.Text(text)


def _drop_thebe_config(app: Sphinx, doctree, docname: str) -> None:
    """sphinx-thebe appends its configuration (a ``text/x-thebe-config`` block and a
    ``kernelName`` script) to every executable page when it is resolved, even with Thebe
    off: two inline scripts that do nothing. Removed from the doctree right after."""
    for node in list(doctree.findall(nodes.raw)):
        text = node.astext()
        if "text/x-thebe-config" in text or text.lstrip().startswith("<script>kernelName = "):
            node.parent.remove(node)


def _secure_link(match) -> str:
    attrs = match.group("attrs")
    rel = re.search(r'\brel="([^"]*)"', attrs)
    tokens = rel.group(1).split() if rel else []
    for needed in ("noopener", "noreferrer"):
        if needed not in tokens:
            tokens.append(needed)
    if rel:
        attrs = attrs[: rel.start()] + f'rel="{" ".join(tokens)}"' + attrs[rel.end():]
    else:
        attrs = attrs.rstrip() + f' rel="{" ".join(tokens)}"'
    return f"<a {attrs}>"


# --- the site root ---------------------------------------------------------------

def root_page(title: str, description: str, target: str, canonical: str = "") -> str:
    """The site root: a page that sends the reader on to the book's first page, with the
    site's content policy first in ``<head>``."""
    t, d, u, c = (escape(x, quote=True) for x in (title, description, target, canonical))
    return ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            f"<meta http-equiv=\"Content-Security-Policy\" content=\"{site_policy()}\">\n"
            f"<title>{t}</title>\n<meta name=\"description\" content=\"{d}\">\n"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
            + (f"<link rel=\"canonical\" href=\"{c}\">\n" if c else "") +
            f"<meta http-equiv=\"Refresh\" content=\"0; url={u}\">\n</head>\n<body>\n"
            f"<p><a href=\"{u}\">{t}: go to the start of the book</a></p>\n</body>\n</html>\n")


def write_root_index(app: Sphinx) -> bool:
    """The site root (``index.html``) as :func:`root_page`, when the book's first page has another
    name: it replaces the bare redirect sphinx-external-toc writes there (which leaves an existing
    ``index.html`` alone in later builds). The description is the first page's own
    (``metadata.description`` of its doctree). Returns whether the file changed."""
    from .metadata import description

    master = str(app.config.root_doc)
    if master == "index":
        return False
    target = f"{master}.html"
    title = app.config.html_title or app.config.project
    text = description(app.env.get_doctree(master)) if master in app.env.all_docs else ""
    base = str(getattr(app.config, "html_baseurl", "") or "")
    canonical = (base.rstrip("/") + "/" + target) if base else ""
    html = root_page(title, text or f"{title}, an open textbook.", target, canonical)
    index = Path(app.outdir) / "index.html"
    if index.is_file() and index.read_text(encoding="utf-8") == html:
        return False
    index.write_text(html, encoding="utf-8")
    return True


def setup(app: Sphinx) -> None:
    app.add_post_transform(SafeNewWindows)
    app.connect("doctree-resolved", _drop_thebe_config, priority=900)  # after sphinx-thebe's (500)
    app.connect("builder-inited", _builder_inited)
    # Last, after every other handler has registered its page scripts.
    app.connect("html-page-context", _page_context, priority=1000)
