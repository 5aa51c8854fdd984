"""A strict Content-Security-Policy on every page.

The policy allows scripts from the site itself and, by SHA-256 hash, the few
small inline scripts that the theme and sphinx-togglebutton write (their
configuration, the theme-mode switch). Nothing else runs: no inline event
handlers, no ``eval`` (the live charts use Vega's CSP-safe expression
interpreter), no other host. Styles are 'self' plus inline style attributes,
which the theme and the chart SVGs use and which cannot run code.

At build end (see ``htmlfiles``) every page also loses the dead Thebe
configuration that sphinx-thebe writes even with Thebe off, its one inline
``onclick`` (the print button, now wired by ``dx-site.js``), and gains
``rel="noopener noreferrer"`` on links that open a new window.
"""
from __future__ import annotations

import base64
import hashlib
import re
from pathlib import Path

from sphinx.application import Sphinx
from sphinx.util import logging

from .htmlfiles import rewrite_html

logger = logging.getLogger(__name__)

#: Script types a browser does not execute (data blocks); CSP ignores them.
DATA_TYPES = ("application/json", "application/ld+json", "text/x-thebe-config")

POLICY = ("default-src 'self'; script-src 'self' {hashes}; style-src 'self' 'unsafe-inline'; "
          "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; media-src 'self'; "
          "object-src 'none'; frame-src 'none'; worker-src 'self'; base-uri 'self'; form-action 'self'")

_INLINE_SCRIPT = re.compile(r"<script(?P<attrs>(?:\s[^>]*)?)>(?P<body>.*?)</script>", re.S)
_CSP_META = re.compile(r'<meta http-equiv="Content-Security-Policy"[^>]*>\n?')
_THEBE = re.compile(r'\s*<script type="text/x-thebe-config">.*?</script>|\s*<script>kernelName = [^<]*</script>', re.S)
_BLANK = re.compile(r"<a\s(?P<attrs>[^>]*\btarget=\"_blank\"[^>]*)>")


def _is_executable(attrs: str) -> bool:
    if re.search(r"\ssrc=", attrs):
        return False
    kind = re.search(r'\stype="([^"]*)"', attrs)
    return not (kind and kind.group(1) in DATA_TYPES)


def inline_script_hashes(html: str) -> list[str]:
    """CSP source expressions for every executable inline script, in page order."""
    found = []
    for m in _INLINE_SCRIPT.finditer(html):
        if _is_executable(m.group("attrs")):
            value = base64.b64encode(hashlib.sha256(m.group("body").encode("utf-8")).digest()).decode()
            found.append(f"'sha256-{value}'")
    return list(dict.fromkeys(found))


def policy_for(html: str) -> str:
    return POLICY.format(hashes=" ".join(inline_script_hashes(html))).replace("  ", " ")


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


def secure(pagename: str, html: str) -> str:
    """The page's HTML with the policy in force (idempotent)."""
    if "<head>" not in html:  # a fragment (e.g. a notebook's HTML output), not a page
        return html
    html = _THEBE.sub("", html)
    html = html.replace('onclick="window.print()"', "data-dx-print")
    html = _BLANK.sub(_secure_link, html)
    html = _CSP_META.sub("", html)
    meta = f'<meta http-equiv="Content-Security-Policy" content="{policy_for(html)}">\n'
    # The policy must come before any script: put it first in <head>, after the charset.
    charset = re.search(r"<meta charset=[^>]*>\n?", html)
    at = charset.end() if charset else html.index("<head>") + len("<head>")
    return html[:at] + meta + html[at:]


def _finish(app: Sphinx, exception) -> None:
    if exception is not None or app.builder.format != "html":
        return
    n = rewrite_html(Path(app.outdir), secure)
    logger.info("[dxbook] content policy written on %d pages", n)


def setup(app: Sphinx) -> None:
    app.connect("build-finished", _finish, priority=900)
