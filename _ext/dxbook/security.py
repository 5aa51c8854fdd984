"""A strict Content-Security-Policy on every page.

The policy allows scripts from the site itself and, by SHA-256 hash, only the
book's own small inline scripts: nothing else runs, no inline event handlers,
no ``eval`` (the live charts use Vega's CSP-safe expression interpreter), no
other host. Styles are 'self' plus inline style attributes, which the theme and
the chart SVGs use and which cannot run code.

Which inline scripts are "the book's own" is decided from their sources, never
from the finished page (an injected inline script must not be hashed):

* while a page is rendered (``html-page-context``), the known scripts are the
  bodies registered with ``add_js_file(None, body=...)`` (the theme's options,
  sphinx-togglebutton's settings; the theme's per-page page name is dropped, as
  the book has no version switcher to use it) and the inline ``<script>``
  blocks of the templates (the theme-mode switch in ``templates/layout.html``,
  the search page's focus script), rendered with that page's context; their
  hashes go into the page's ``<head>``;
* at build end (``finish``) the site's one policy is made of the hashes of
  scripts that a page both knows and still contains (:func:`site_hashes`), and
  every page carries that same policy; a script added to a page by anything
  else (data, a notebook output, an edit of the written file) is known to no
  page, gets no hash and does not run.

Nothing else is edited after a page is written: sphinx-thebe's dead configuration
(it writes it even with Thebe off) leaves the doctree when it is resolved
(``doctree-resolved``); the theme's print button carries ``data-dx-print``
(wired by ``dx-site.js``) instead of an inline ``onclick``, and its links that
open a new window carry ``rel="noopener noreferrer"``, from the book's copy of
the theme's button macros (``templates/macros/buttons.html``); raw HTML in the
chapters that opens a new window gets the same ``rel`` in a post-transform
(``SafeNewWindows``). The site's root ``index.html`` (a bare redirect written by
sphinx-external-toc) becomes a small page with a title, a description and the
policy.
"""
from __future__ import annotations

import base64
import functools
import hashlib
import re
from html import escape, unescape
from pathlib import Path

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.transforms.post_transforms import SphinxPostTransform
from sphinx.util import logging


logger = logging.getLogger(__name__)

#: Script types a browser does not execute (data blocks); CSP ignores them.
DATA_TYPES = ("application/json", "application/ld+json", "text/x-thebe-config")

POLICY = ("default-src 'self'; script-src 'self'{hashes}; style-src 'self' 'unsafe-inline'; "
          "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; media-src 'self'; "
          "object-src 'none'; frame-src 'none'; worker-src 'self'; base-uri 'self'; form-action 'self'")

_INLINE_SCRIPT = re.compile(r"<script(?P<attrs>(?:\s[^>]*)?)>(?P<body>.*?)</script>", re.S)
_CSP_META = re.compile(r'<meta http-equiv="Content-Security-Policy"[^>]*>\n?')
_CSP_META_CONTENT = re.compile(r'<meta http-equiv="Content-Security-Policy" content="([^"]*)"')
_HASH = re.compile(r"'sha256-[A-Za-z0-9+/=]+'")
_BLANK = re.compile(r"<a\s(?P<attrs>[^>]*\btarget=\"_blank\"[^>]*)>")


def _is_executable(attrs: str) -> bool:
    if re.search(r"\ssrc=", attrs):
        return False
    kind = re.search(r'\stype="([^"]*)"', attrs)
    return not (kind and kind.group(1) in DATA_TYPES)


def script_hash(body: str) -> str:
    """The CSP source expression that allows an inline script with exactly this body."""
    return "'sha256-" + base64.b64encode(hashlib.sha256(body.encode("utf-8")).digest()).decode() + "'"


def inline_script_hashes(html: str) -> list[str]:
    """CSP source expressions for every executable inline script, in page order."""
    found = [script_hash(m.group("body")) for m in _INLINE_SCRIPT.finditer(html) if _is_executable(m.group("attrs"))]
    return list(dict.fromkeys(found))


def policy_with(hashes) -> str:
    return POLICY.format(hashes="".join(" " + h for h in hashes))


def known_hashes(html: str) -> set[str]:
    """The hashes the page's own ``<head>`` policy allows (written from the known sources
    when the page was rendered). Only ``<head>`` is read: page content cannot add to it."""
    end = html.find("</head>")
    m = _CSP_META_CONTENT.search(html[: end if end >= 0 else 0])
    return set(_HASH.findall(m.group(1))) if m else set()


def policy_for(html: str) -> str:
    """The policy for a finished page: the known scripts that it still contains."""
    allowed = known_hashes(html)
    return policy_with(h for h in inline_script_hashes(html) if h in allowed)


# --- the known inline scripts, from their sources ------------------------------


def template_scripts(pathchain) -> list[str]:
    """The bodies of the inline, executable ``<script>`` blocks in the templates (Jinja source)."""
    bodies = []
    for folder in map(Path, dict.fromkeys(pathchain)):
        if not folder.is_dir():
            continue
        for path in sorted(folder.rglob("*.html")):
            text = path.read_text(encoding="utf-8", errors="replace")
            for m in _INLINE_SCRIPT.finditer(text):
                if _is_executable(m.group("attrs")) and m.group("body").strip():
                    bodies.append(m.group("body"))
    return list(dict.fromkeys(bodies))


@functools.lru_cache(maxsize=8)
def _template_scripts_of(pathchain: tuple) -> tuple[str, ...]:
    """template_scripts, read once per set of template folders (not once per page); kept
    here rather than on ``app``, so nothing is added to Sphinx's objects."""
    return tuple(template_scripts(pathchain))


def _render(app: Sphinx, source: str, context: dict) -> str | None:
    try:
        out = app.builder.templates.render_string(source, context)
    except Exception:  # a snippet that needs another template's macros: not on this page
        return None
    if source.endswith("\n") and not out.endswith("\n"):  # Jinja drops one trailing newline
        out += "\n"
    return out


def page_known_hashes(app: Sphinx, context: dict) -> list[str]:
    """Hashes of the inline scripts this page may contain: registered script bodies and
    the templates' inline scripts rendered with the page's context."""
    bodies = [js.attributes["body"] for js in context.get("script_files", [])
              if getattr(js, "attributes", None) and js.attributes.get("body") and not getattr(js, "filename", "")]
    for source in _template_scripts_of(tuple(getattr(app.builder.templates, "pathchain", []))):
        if "{" in source:
            rendered = _render(app, source, context)
            if rendered is not None:
                bodies.append(rendered)
        else:
            bodies.append(source)
    return sorted({script_hash(b) for b in bodies})


#: The theme's one inline script that differs from page to page (pydata-sphinx-theme sets
#: the page name for its version switcher, which this book does not use). Without it every
#: page has the same inline scripts, so the site has one policy.
_PER_PAGE_SCRIPT = "DOCUMENTATION_OPTIONS.pagename = "


def _page_context(app: Sphinx, pagename, templatename, context, doctree) -> None:
    if app.builder.format != "html":
        return
    context["script_files"] = [js for js in context.get("script_files", [])
                               if not str(getattr(js, "attributes", {}).get("body", "")).startswith(_PER_PAGE_SCRIPT)]
    meta = f'<meta http-equiv="Content-Security-Policy" content="{policy_with(page_known_hashes(app, context))}">'
    context["metatags"] = context.get("metatags", "") + "\n" + meta + "\n"


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


def site_hashes(pages) -> set[str]:
    """The hashes of the site's policy: every inline script that a page's own ``<head>``
    policy knows (from the sources, when the page was rendered) and that the page still
    contains, over all pages. One set for the whole site, so every page carries the same
    policy and a server could send it as one header; a script that reached a page any other
    way is known to no page and gets no hash."""
    found: set[str] = set()
    for html in pages:
        found.update(set(inline_script_hashes(html)) & known_hashes(html))
    return found


def secure(pagename: str, html: str, allowed: set[str] | None = None) -> str:
    """The page's HTML with the policy in force (idempotent): the site's policy
    (``allowed``, from :func:`site_hashes`), or, without it, this page's own."""
    if "<head>" not in html:  # a fragment (e.g. a notebook's HTML output), not a page
        return html
    # Read before the known policy is removed from <head>.
    policy = policy_for(html) if allowed is None else policy_with(sorted(allowed))
    html = _CSP_META.sub("", html)
    meta = f'<meta http-equiv="Content-Security-Policy" content="{policy}">\n'
    # The policy must come before any script: put it first in <head>, after the charset.
    charset = re.search(r"<meta charset=[^>]*>\n?", html)
    at = charset.end() if charset else html.index("<head>") + len("<head>")
    return html[:at] + meta + html[at:]


# --- the site root ---------------------------------------------------------------

_REDIRECT = re.compile(r'^\s*<meta http-equiv="Refresh" content="0; url=(?P<url>[^"]+)"\s*/?>\s*$')
_DESCRIPTION = re.compile(r'<meta name="description" content="(?P<content>[^"]*)"')


def root_page(title: str, description: str, target: str, canonical: str = "") -> str:
    """The site root: a page that sends the reader on to the book's first page."""
    t, d, u, c = (escape(x, quote=True) for x in (title, description, target, canonical))
    return ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            f"<title>{t}</title>\n<meta name=\"description\" content=\"{d}\">\n"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
            + (f"<link rel=\"canonical\" href=\"{c}\">\n" if c else "") +
            f"<meta http-equiv=\"Refresh\" content=\"0; url={u}\">\n</head>\n<body>\n"
            f"<p><a href=\"{u}\">{t}: go to the start of the book</a></p>\n</body>\n</html>\n")


def write_root_index(app: Sphinx) -> bool:
    """Replace the bare redirect at the site root with :func:`root_page` (idempotent)."""
    out = Path(app.outdir)
    index = out / "index.html"
    master = str(app.config.root_doc)
    if master == "index":
        return False
    target = f"{master}.html"
    if index.is_file() and not _REDIRECT.match(index.read_text(encoding="utf-8")):
        return False  # already ours (or a real page)
    title = app.config.html_title or app.config.project
    description = ""
    first = out / target
    if first.is_file():
        m = _DESCRIPTION.search(first.read_text(encoding="utf-8"))
        description = unescape(m.group("content")) if m else ""
    description = description or f"{title}, an open textbook."
    base = str(getattr(app.config, "html_baseurl", "") or "")
    canonical = (base.rstrip("/") + "/" + target) if base else ""
    index.write_text(root_page(title, description, target, canonical), encoding="utf-8")
    return True


def setup(app: Sphinx) -> None:
    app.add_post_transform(SafeNewWindows)
    app.connect("doctree-resolved", _drop_thebe_config, priority=900)  # after sphinx-thebe's (500)
    # Last, after every other handler has registered its page scripts.
    app.connect("html-page-context", _page_context, priority=1000)
