"""``html-page-context``, ``doctree-resolved`` and the finishing pass: what a page does not use, it does not load.

While pages are written (``html-page-context``, templates, ``doctree-resolved``):

* sphinx-design's stylesheet and script only on pages that use it; the
  sphinx-thebe stylesheet and scripts on none (Thebe is off);
* every script file in ``<head>`` deferred (none is needed for the first paint;
  order is kept), except on the search page, whose tools run at once (``_deferring``);
* Bootstrap's script loaded on the first interaction that needs it (the book's
  ``templates/layout.html`` names it in a ``<meta>`` for ``dx/dx-site.js``), and the
  launch menu's logos loaded when shown (``templates/macros/buttons.html``);
* citations without their tooltip (a full reference repeated on every citation, some
  30 kB per chapter, that the bibliography already holds: ``bibtex_tooltips: false``)
  and without an unused wrapper (``slim_citations``, at ``doctree-resolved``).

At build end (``finish.finish`` calls :func:`finish`), as it needs the whole site:

* every script under ``_static`` minified in place by rjsmin (``minify_scripts``);
* the Font Awesome CSS and fonts subset to the icons the pages use;
* every stylesheet minified, and the rules for classes and ids that no page and
  no script names removed, by lightningcss (its ``unused_symbols``, the approach
  of PurgeCSS): a symbol is kept if an element of a built page carries it (class or
  id) or it appears as a word in a script, so classes that scripts add stay; and
  custom properties nothing reads (``drop_properties``);
* each page's stylesheets joined into one file (``bundle_stylesheets``).
"""
from __future__ import annotations

import hashlib
import posixpath
import re
from html.parser import HTMLParser
from pathlib import Path

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.util import logging

from .finish import head_of, start_tags


logger = logging.getLogger(__name__)

ICON_RULE = re.compile(r'((?:\.fa-[\w-]+:before,?)+)\{content:"\\([0-9a-fA-F]+)"\}')


def unused_assets(body: str) -> tuple[str, ...]:
    """File names a page with this body does not need: Thebe's (the book has no live code),
    sphinx-design's where no element has an ``sd-`` class, sphinx-togglebutton's where none has
    the class it folds (``.toggle``: the book's folded admonitions are ``<details>``, see
    ``editions``)."""
    classes = {name for tag in start_tags(body) for name in (tag.attrs.get("class") or "").split()}
    uses_design = any(name.startswith("sd-") for name in classes)
    return ("sphinx-thebe", "thebe", *(() if uses_design else ("sphinx-design.min.css", "design-tabs.js")),
            *(() if "toggle" in classes else ("togglebutton.",)))


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
    if pagename != "search":  # the search page's tools run at once
        context["js_tag"] = _deferring(context["js_tag"])


def _deferring(js_tag):
    """The page template's ``js_tag`` (Sphinx's, which writes one ``<script>``), with ``defer``
    added to every script file that has neither ``async`` nor ``defer``: none is needed for the
    first paint, and deferred scripts keep their order. ``documentation_options.js`` too: the
    global it defines is read only by scripts after it, all deferred (a blocking script in the
    head held the first paint back, some 0.3 s on a phone per Lighthouse); data blocks are not
    run at all.
    (Sphinx's own way, ``add_js_file(..., loading_method="defer")``, is set by each extension
    for its own files; this covers the files other extensions add without it.)"""

    def tag(js) -> str:
        out = js_tag(js)
        attributes = getattr(js, "attributes", None) or {}
        name = _name(js)
        if (not name or "async" in attributes or "defer" in attributes
                or attributes.get("type") == "application/json" or not out.startswith("<script ")):
            return out
        return "<script defer " + out[len("<script "):]

    return tag


CSS_SYMBOL = re.compile(r"[.#](-?[_a-zA-Z][_a-zA-Z0-9-]*)")
WORD = re.compile(r"[A-Za-z0-9_-]+")


def slim_citations(app: Sphinx, doctree, docname: str) -> None:
    """Citations without sphinxcontrib-bibtex's wrapper ``<span class="bibtex-citation"
    id="idN">``, whose ids nothing links to and no style uses (the full reference it repeated
    as every citation link's tooltip is off by its own option, ``bibtex_tooltips: false`` in
    ``_config.yml``, as the bibliography holds it). Together some 35 kB a chapter.
    ``doctree-resolved``, last: the citations are resolved by then, and the notebooks
    (``notebooks``, priority 900) have read the wrapper to write each citation in brackets."""
    if app.builder.format != "html":
        return
    for node in list(doctree.findall(nodes.inline)):
        if "bibtex-citation" in node["classes"]:
            # Its children take its place; its own ids and class go with it (nothing uses them).
            node.parent.replace(node, list(node.children))


def unused_symbols(css: str, used_words: set[str]) -> set[str]:
    """Class and id names in ``css`` that appear nowhere in the site's HTML and scripts.
    (A coarse scan for candidates; lightningcss does the actual parsing and removal.)"""
    return {name for name in CSS_SYMBOL.findall(css) if name not in used_words and not name[0].isdigit()}


class _Symbols(HTMLParser):
    """The class names and ids a page's elements carry, and every word of its inline
    scripts (which may add classes). A parser, not a word scan of the whole page: a
    word of the text ("table", "card", "alert") must not keep Bootstrap's rules for a
    class of that name."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.names: set[str] = set()
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if name == "class" and value:
                self.names.update(value.split())
            elif name == "id" and value:
                self.names.add(value)
            elif name == "style" and value:  # custom properties set or read inline
                self.names.update(w for w in WORD.findall(value) if w.startswith("--"))
        self._in_script = tag == "script"

    handle_startendtag = handle_starttag

    def handle_endtag(self, tag):
        self._in_script = False

    def handle_data(self, data):
        if self._in_script:
            self.names.update(WORD.findall(data))


def used_words(site) -> set[str]:
    """The names the site can put on an element: the classes and ids of its pages
    (``finish.Site``, as they will be written) and of its other HTML files, and every
    word of its scripts in ``_static`` (scripts add classes by name)."""
    parser = _Symbols()
    for html in [*site.pages.values(),
                 *(p.read_text(encoding="utf-8", errors="ignore") for p in (site.outdir / "_static").rglob("*.html"))]:
        parser.feed(html)
        parser.close()
        parser.reset()
    words = set(parser.names)
    # Scripts, not data: searchindex.js (at the site's root) holds every word of the book.
    for path in (site.outdir / "_static").rglob("*.js"):
        words.update(WORD.findall(path.read_text(encoding="utf-8", errors="ignore")))
    return words


def prune_stylesheets(out: Path, originals: Path, words: set[str], first: dict[str, str]) -> tuple[int, int]:
    """Minify every stylesheet in ``_static``, drop unused rules and unused custom
    properties; returns bytes before, after.

    Sphinx copies a static file only when it is missing or changed, so the
    unprocessed file is kept in ``originals`` and each build starts from it.
    ``first`` maps a stylesheet to a replacement original (the slimmed icon CSS).
    """
    import hashlib

    import lightningcss

    before = 0
    slimmed: dict[Path, tuple[str, Path]] = {}  # a sheet: its minified CSS, its stamp
    for path in sorted((out / "_static").rglob("*.css")):
        if path.parent == out / BUNDLE_DIR and path.name.startswith("dx-"):
            continue  # a bundle of the sheets below (bundle_stylesheets), made after this
        rel = str(path.relative_to(out))
        keep, stamp = originals / rel, originals / (rel + ".processed")
        current = path.read_bytes()
        digest = hashlib.sha256(current).hexdigest()
        if not keep.is_file() or not stamp.is_file() or stamp.read_text() != digest:
            keep.parent.mkdir(parents=True, exist_ok=True)
            keep.write_bytes(current)  # a fresh copy from Sphinx: the new original
        css = first.get(rel, keep.read_text(encoding="utf-8"))
        try:
            slim = lightningcss.process_stylesheet(css, filename=rel, unused_symbols=unused_symbols(css, words),
                                                   error_recovery=True, minify=True)
        except Exception as exc:  # lightningcss reports the file: keep it whole rather than break it
            logger.warning("[dxbook] CSS %s left as it is: %s", rel, exc)
            slim = css
        slimmed[path] = (slim, stamp)
        before += len(css.encode())
    live = live_properties((css for css, _ in slimmed.values()), {w for w in words if w.startswith("--")})
    after = 0
    for path, (css, stamp) in slimmed.items():
        slim = drop_properties(css, live)
        path.write_text(slim, encoding="utf-8")
        stamp.write_text(hashlib.sha256(path.read_bytes()).hexdigest())
        after += len(slim.encode())
    return before, after


# Custom properties (``--name: value``) that nothing reads. Bootstrap and the theme
# define some 600, in light and dark, and a page reads under half; each one is bytes
# to fetch and a value every element inherits. lightningcss keeps them all (it cannot
# know what a script reads), so this drops those that no stylesheet reads with
# ``var()`` and no page or script names. tinycss2 parses; the serialiser below writes
# the rules back as they were, minus those declarations (tinycss2 serialises a token
# list, not a declaration list).
_BLOCK_AT_RULES = {"media", "supports", "layer", "container", "document", "scope", "starting-style", "keyframes",
                   "-webkit-keyframes"}


def _var_refs(tokens) -> set[str]:
    """The custom properties a value reads with ``var()``."""
    refs: set[str] = set()
    for token in tokens or ():
        if token.type == "function":
            if token.lower_name == "var":
                first = next((t for t in token.arguments if t.type == "ident"), None)
                if first is not None and first.value.startswith("--"):
                    refs.add(first.value)
            refs |= _var_refs(token.arguments)
        elif token.type in ("() block", "[] block", "{} block"):
            refs |= _var_refs(token.content)
    return refs


def _contents(node) -> list:
    """A rule's block, parsed (tinycss2): the rules inside a block at-rule (``@media``,
    ``@keyframes``...), else declarations and any nested rules."""
    import tinycss2

    if node.type == "at-rule" and node.lower_at_keyword in _BLOCK_AT_RULES:
        return tinycss2.parse_rule_list(node.content, True, True)
    return tinycss2.parse_blocks_contents(node.content, True, True)


def _declarations(css: str):
    """Every declaration of ``css``, at any depth (tinycss2 nodes)."""
    import tinycss2

    def walk(nodes):
        for node in nodes:
            if node.type == "declaration":
                yield node
            elif node.type in ("qualified-rule", "at-rule") and node.content is not None:
                yield from walk(_contents(node))

    yield from walk(tinycss2.parse_stylesheet(css, True, True))


def live_properties(sheets, named: set[str]) -> set[str]:
    """The custom properties something reads: ``var()`` in an ordinary declaration of
    any sheet, ``named`` (names pages and scripts use), and what those read in turn."""
    reads: dict[str, set[str]] = {}
    live = set(named)
    for css in sheets:
        for decl in _declarations(css):
            refs = _var_refs(decl.value)
            if decl.name.startswith("--"):
                reads.setdefault(decl.name, set()).update(refs)
            else:
                live |= refs
    todo = list(live)
    while todo:
        for ref in reads.get(todo.pop(), ()):
            if ref not in live:
                live.add(ref)
                todo.append(ref)
    return live


def drop_properties(css: str, live: set[str]) -> str:
    """``css`` without the declarations of custom properties not in ``live``; a rule
    left empty goes too. Written back as tinycss2 read it (minified input stays minified)."""
    import tinycss2

    def block(rule) -> str:
        parts = []
        for node in _contents(rule):
            if node.type == "declaration":
                if node.name.startswith("--") and node.name not in live:
                    continue
                parts.append(f"{node.name}:{tinycss2.serialize(node.value)}{'!important' if node.important else ''}")
            elif node.type in ("qualified-rule", "at-rule"):
                parts.append(rules([node]))
            else:
                raise ValueError(node)
        return ";".join(p for p in parts if p)

    def rules(nodes) -> str:
        out = []
        for node in nodes:
            if node.type == "qualified-rule":
                body = block(node)
                if body:
                    out.append(f"{tinycss2.serialize(node.prelude)}{{{body}}}")
            elif node.type == "at-rule":
                if node.content is None:
                    out.append(node.serialize())
                    continue
                nested = node.lower_at_keyword in _BLOCK_AT_RULES
                body = rules(_contents(node)) if nested else block(node)
                if body or not nested:
                    out.append(f"@{node.at_keyword}{tinycss2.serialize(node.prelude)}{{{body}}}")
            else:
                raise ValueError(node)  # a parse error: leave the sheet as it is
        return "".join(out)

    try:
        return rules(tinycss2.parse_stylesheet(css, True, True))
    except ValueError:
        return css


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


def minify_scripts(outdir: Path) -> tuple[int, int]:
    """Every script under ``_static`` minified in place by rjsmin: comments and whitespace go,
    names and strings stay (so the stylesheet pruning, which reads the scripts' words, keeps
    every class a script names), ``/*! ... */`` licence comments stay. A ``.min.js`` file and a
    script minification would barely shrink (already minified: the theme's bundles) are left
    as they are, so running again changes nothing. Returns the bytes (before, after)."""
    import rjsmin

    before = after = 0
    for path in sorted((Path(outdir) / "_static").rglob("*.js")):
        if path.name.endswith(".min.js"):
            continue
        text = path.read_text(encoding="utf-8")
        small = rjsmin.jsmin(text, keep_bang_comments=True)
        before += len(text.encode("utf-8"))
        if len(small) < 0.95 * len(text):
            path.write_text(small, encoding="utf-8")
            text = small
        after += len(text.encode("utf-8"))
    return before, after


def finish(app: Sphinx, site) -> None:
    """At build end (``finish``), on the site's pages in memory (``finish.Site``): the
    scripts minified (first: the stylesheet pruning reads their words, in a cold build and an
    incremental one alike); then the icon fonts subset, the stylesheets pruned and each page's
    stylesheets bundled."""
    before, after = minify_scripts(site.outdir)
    logger.info("[dxbook] scripts: %d kB -> %d kB (minified)", before // 1024, after // 1024)
    slim_icons(site)
    pages, bundles = bundle_stylesheets(site)
    logger.info("[dxbook] stylesheets bundled: %d pages, %d bundles", pages, bundles)


def slim_icons(site) -> None:
    """The theme ships three icon fonts (about 300 kB) and CSS rules for some 1,900
    icons to draw the 20 or so the book shows: keep only those. Then every stylesheet
    is minified and pruned of rules nothing uses."""
    from fontTools import subset

    import pydata_sphinx_theme

    out = site.outdir
    # Work from the theme's own files: Sphinx does not copy an unchanged static file again.
    theme_static = Path(pydata_sphinx_theme.__file__).parent / "theme" / "pydata_sphinx_theme" / "static"
    css_path = out / "_static" / "styles" / "pydata-sphinx-theme.css"
    fonts = out / "_static" / "vendor" / "fontawesome" / "webfonts"
    if not css_path.is_file() or not fonts.is_dir():
        return
    words = used_words(site)  # classes and ids of the pages' elements, words of the scripts
    used = {word for word in words if word.startswith("fa-")}
    css = (theme_static / "styles" / "pydata-sphinx-theme.css").read_text(encoding="utf-8")
    slim, codepoints = slim_icon_css(css, used)
    # Icons the stylesheets draw by code point (admonition icons and the like).
    others = [p.read_text(encoding="utf-8", errors="ignore") for p in (out / "_static").rglob("*.css") if p != css_path]
    for text in [slim, *others]:
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
    before, after = prune_stylesheets(out, out.parent / ".dx-css-originals", words,
                                      {str(css_path.relative_to(out)): slim})
    logger.info("[dxbook] stylesheets: %d kB -> %d kB (minified, unused rules removed)", before // 1024, after // 1024)


_IMPORT_OR_URL = re.compile(r'@import\s+(?:url\()?["\']?(?P<iurl>[^"\')]+)["\']?\)?\s*;'
                            r'|url\(\s*(?P<q>["\']?)(?P<url>[^"\')]+)(?P=q)\s*\)')
BUNDLE_DIR = "_static"


def _css_for_bundle(out: Path, rel: str, seen: set[str]) -> str:
    """The stylesheet at ``rel`` (relative to the site), its ``@import`` inlined and its
    ``url()`` references rewritten to be relative to ``BUNDLE_DIR``."""
    if rel in seen:
        return ""
    seen.add(rel)
    css = (out / rel).read_text(encoding="utf-8")
    base = posixpath.dirname(rel)

    def local(url: str) -> bool:
        return not re.match(r"^([a-z]+:|/|#)", url)

    def replace(m):
        url = m["iurl"] or m["url"]
        if not local(url):
            return m[0]
        path, _, rest = url.partition("?")
        resolved = posixpath.normpath(posixpath.join(base, path))
        if m["iurl"]:  # @import: the imported sheet, inlined where it stood
            return _css_for_bundle(out, resolved, seen)
        return f'url("{posixpath.relpath(resolved, BUNDLE_DIR)}{"?" + rest if rest else ""}")'

    # One pass, so an inlined sheet's own (already rewritten) URLs are not moved twice.
    return _IMPORT_OR_URL.sub(replace, css)


def _href(attrs: dict) -> str:
    return (attrs.get("href") or "").split("?")[0]


def _bundled(attrs: dict) -> bool:
    """A stylesheet link that goes into the page's bundle: the site's own file under ``_static``,
    for every medium (a ``media`` sheet, print say, stays a file of its own)."""
    href = _href(attrs)
    return ((attrs.get("rel") or "").split() == ["stylesheet"] and "media" not in attrs and href.endswith(".css")
            and "_static/" in href and not re.match(r"^([a-z]+:|/)", href))


def bundle_stylesheets(site) -> tuple[int, int]:
    """One stylesheet per page instead of nine (and a chained ``@import``).

    A phone on a slow network pays a round trip for each render-blocking file;
    the browser cannot paint before all have arrived. Each page's stylesheets,
    in their order, become one file named by its content's hash (pages with the
    same set share it). ``site`` is a ``finish.Site``: its pages are edited in memory
    (the caller writes them). Returns (pages changed, bundles written)."""
    out = site.outdir
    written: set[str] = set()

    def edit(pagename: str, html: str) -> str:
        links = [tag for tag in start_tags(head_of(html), {"link"}) if _bundled(tag.attrs)]
        if len(links) < 2:
            return html
        prefix = "../" * pagename.count("/")
        rels = [posixpath.normpath(posixpath.join(posixpath.dirname(pagename), _href(m.attrs))) for m in links]
        seen: set[str] = set()
        css = "\n".join(f"/* {rel} */\n" + _css_for_bundle(out, rel, seen) for rel in rels)
        name = f"dx-{hashlib.sha256(css.encode('utf-8')).hexdigest()[:16]}.css"
        target = out / BUNDLE_DIR / name
        if name not in written:
            if not target.is_file() or target.read_text(encoding="utf-8") != css:
                target.write_text(css, encoding="utf-8")
            written.add(name)
        first = links[0]
        tag = f'<link rel="stylesheet" href="{prefix}{BUNDLE_DIR}/{name}" />\n'
        pieces, last = [], 0
        for m in links:
            pieces.append(html[last:m.start])
            if m is first:
                pieces.append(tag)
            last = m.end + (html[m.end:m.end + 1] == "\n")  # the tag's line break goes with it
        pieces.append(html[last:])
        return "".join(pieces)

    return site.edit(edit), len(written)


def setup(app: Sphinx) -> None:
    app.connect("doctree-resolved", slim_citations, priority=950)  # after notebooks (900)
    app.connect("html-page-context", _page_context, priority=600)
