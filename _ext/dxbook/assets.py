"""Theme weight: what a page does not use, it does not load.

* sphinx-design's stylesheet and script only on pages that use it; the
  sphinx-thebe stylesheet and scripts on none (Thebe is off);
* every external script in ``<head>`` deferred (none is needed for the first
  paint; order is kept), except on the search page, whose tools run at once;
* the Font Awesome CSS and fonts subset to the icons the pages use.
"""
from __future__ import annotations

import re
from pathlib import Path

from sphinx.application import Sphinx
from sphinx.util import logging

from .htmlfiles import rewrite_html

logger = logging.getLogger(__name__)

ICON_RULE = re.compile(r'((?:\.fa-[\w-]+:before,?)+)\{content:"\\([0-9a-fA-F]+)"\}')
_SCRIPT_SRC = re.compile(r"<script(?P<attrs>(?:\s[^>]*)?\ssrc=\"[^\"]*\"[^>]*)>")


def unused_assets(body: str) -> tuple[str, ...]:
    """File names a page with this body does not need."""
    uses_design = re.search(r'class="[^"]*\bsd-', body) is not None
    return ("sphinx-thebe", "thebe", *(() if uses_design else ("sphinx-design.min.css", "design-tabs.js")))


def _name(asset) -> str:
    return str(getattr(asset, "filename", asset) or "")


def _page_context(app: Sphinx, pagename, templatename, context, doctree) -> None:
    drop = unused_assets(context.get("body", ""))
    context["css_files"] = [c for c in context.get("css_files", []) if not any(a in _name(c) for a in drop)]
    keep, seen = [], set()
    for js in context.get("script_files", []):
        name = _name(js)
        body = str(getattr(js, "attributes", {}).get("body", ""))
        if any(a in name for a in drop) or "THEBE" in body or (name, body) in seen:
            continue
        seen.add((name, body))
        keep.append(js)
    context["script_files"] = keep


def defer_scripts(pagename: str, html: str) -> str:
    """Add ``defer`` to every external script that has neither ``async`` nor ``defer``."""
    if pagename == "search":
        return html

    def add(match):
        attrs = match.group("attrs")
        # documentation_options.js defines a global that inline theme scripts use at once.
        if (re.search(r"\s(async|defer)(\s|=|$)", attrs) or 'type="application/json"' in attrs
                or "documentation_options" in attrs):
            return match.group(0)
        return f"<script defer{attrs}>"

    return _SCRIPT_SRC.sub(add, html)


def slim_icon_css(css: str, used: set[str]) -> tuple[str, set[int]]:
    """Drop Font Awesome rules for icons not in ``used``; return the CSS and the kept code points."""
    codepoints: set[int] = set()

    def keep(match):
        names = {n[1:-7] for n in match.group(1).rstrip(",").split(",")}  # ".fa-x:before" -> "fa-x"
        if names & used:
            codepoints.add(int(match.group(2), 16))
            return match.group(0)
        return ""

    return ICON_RULE.sub(keep, css), codepoints


def _slim_icons(app: Sphinx, exception) -> None:
    """The theme ships three icon fonts (about 300 kB) and CSS rules for some 1,900
    icons to draw the 20 or so the book shows: keep only those."""
    if exception is not None or app.builder.format != "html":
        return
    from fontTools import subset

    import pydata_sphinx_theme

    out = Path(app.outdir)
    rewrite_html(out, defer_scripts)
    # Work from the theme's own files: Sphinx does not copy an unchanged static file again.
    theme_static = Path(pydata_sphinx_theme.__file__).parent / "theme" / "pydata_sphinx_theme" / "static"
    css_path = out / "_static" / "styles" / "pydata-sphinx-theme.css"
    fonts = out / "_static" / "vendor" / "fontawesome" / "webfonts"
    if not css_path.is_file() or not fonts.is_dir():
        return
    used = set()
    for path in [*out.rglob("*.html"), *(out / "_static" / "scripts").glob("*.js")]:
        used.update(re.findall(r"fa-[a-z0-9-]+", path.read_text(encoding="utf-8", errors="ignore")))
    css = (theme_static / "styles" / "pydata-sphinx-theme.css").read_text(encoding="utf-8")
    slim, codepoints = slim_icon_css(css, used)
    css_path.write_text(slim, encoding="utf-8")
    # Icons the stylesheets draw by code point (admonition icons and the like).
    for sheet in [css_path, *(p for p in (out / "_static").rglob("*.css") if p != css_path)]:
        text = sheet.read_text(encoding="utf-8", errors="ignore")
        codepoints.update(int(c, 16) for c in re.findall(r'\\([ef][0-9a-fA-F]{3})\b', text))
        codepoints.update(ord(ch) for ch in text if 0xE000 <= ord(ch) <= 0xF8FF)
    options = subset.Options()
    options.layout_features = []
    options.notdef_outline = True
    for font_path in sorted(fonts.iterdir()):
        if font_path.suffix not in (".woff2", ".ttf"):
            continue
        options.flavor = "woff2" if font_path.suffix == ".woff2" else None
        font = subset.load_font(str(theme_static / "vendor" / "fontawesome" / "webfonts" / font_path.name), options)
        subsetter = subset.Subsetter(options)
        subsetter.populate(unicodes=sorted(codepoints | {0x20}))
        subsetter.subset(font)
        subset.save_font(font, str(font_path), options)
    logger.info("[dxbook] icons: kept %d glyphs (theme CSS %d kB -> %d kB)",
                len(codepoints), len(css) // 1024, len(slim) // 1024)


def setup(app: Sphinx) -> None:
    app.connect("html-page-context", _page_context, priority=600)
    app.connect("build-finished", _slim_icons, priority=500)
