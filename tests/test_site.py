"""The built HTML: every page exists, nothing loads from another host, links resolve."""
from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urldefrag, urlparse

import pytest

from conftest import ROOT, chapter_docnames, toc_docnames

pytestmark = pytest.mark.build


class Page(HTMLParser):
    """Collects what a page loads (src, stylesheet links) and what it links to."""

    def __init__(self):
        super().__init__()
        self.loads, self.links, self.ids, self.scripts = [], [], set(), []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if "id" in a:
            self.ids.add(a["id"])
        if tag in ("script", "img", "iframe", "audio", "video", "source", "embed") and a.get("src"):
            self.loads.append(a["src"])
            if tag == "script":
                self.scripts.append(a["src"])
        if tag == "link" and a.get("href"):
            rel = (a.get("rel") or "").lower()
            if any(r in rel for r in ("stylesheet", "preload", "icon", "modulepreload", "manifest", "prefetch")):
                self.loads.append(a["href"])
            else:
                self.links.append(a["href"])
        if tag == "a" and a.get("href"):
            self.links.append(a["href"])
        if tag == "object" and a.get("data"):
            self.loads.append(a["data"])
        if "srcset" in a:
            self.loads.extend(part.strip().split(" ")[0] for part in a["srcset"].split(","))


def parse(path: Path) -> Page:
    page = Page()
    page.feed(path.read_text(encoding="utf-8"))
    return page


def html_pages(site):
    return sorted(site.rglob("*.html"))


def is_external(url: str) -> bool:
    parsed = urlparse(url)
    return bool(parsed.netloc) or parsed.scheme in ("http", "https") or url.startswith("//")


def test_every_toc_entry_has_a_page(site):
    for name in toc_docnames():
        assert (site / f"{name}.html").is_file(), name


def test_every_chapter_executed_without_errors(site):
    executed = ROOT / "_build" / "jupyter_execute"
    for name in chapter_docnames():
        nb_path = executed / f"{name}.ipynb"
        assert nb_path.is_file(), f"{name} was not executed"
        nb = json.loads(nb_path.read_text())
        code_cells = [c for c in nb["cells"] if c["cell_type"] == "code"]
        assert code_cells, name
        for cell in code_cells:
            assert all(o.get("output_type") != "error" for o in cell.get("outputs", [])), name
    assert not (site / "reports").exists() or not list((site / "reports").glob("*.err.log"))


def test_pages_load_nothing_from_another_host(site):
    offenders = []
    for path in html_pages(site):
        for url in parse(path).loads:
            if is_external(url):
                offenders.append(f"{path.relative_to(site)}: {url}")
    assert not offenders, offenders[:20]


def test_inline_scripts_and_css_reference_no_other_host(site):
    url = re.compile(r"""(?:url\(\s*['"]?|@import\s+['"]|import\(\s*['"]|fetch\(\s*['"]|src\s*=\s*['"])(https?:)?//""")
    offenders = []
    for path in list(site.rglob("*.css")) + list(site.rglob("*.js")):
        if url.search(path.read_text(encoding="utf-8", errors="ignore")):
            offenders.append(str(path.relative_to(site)))
    for path in html_pages(site):
        text = path.read_text(encoding="utf-8")
        for block in re.findall(r"<script(?![^>]*\bsrc=)[^>]*>(.*?)</script>", text, re.S):
            if re.search(r"https?://(?!127\.0\.0\.1)", block) and "dx-chart-spec" not in block:
                named = re.search(r"https?://\S+", block).group(0)
                offenders.append(f"{path.relative_to(site)}: inline script names {named}")
        for block in re.findall(r"<style[^>]*>(.*?)</style>", text, re.S):
            if url.search(block):
                offenders.append(f"{path.relative_to(site)}: inline style")
    assert not offenders, offenders[:20]


def test_internal_links_resolve(site):
    broken = []
    cache = {}
    for path in html_pages(site):
        for href in parse(path).links:
            if is_external(href) or href.startswith(("mailto:", "javascript:", "data:")):
                continue
            target, frag = urldefrag(href)
            target_path = (path.parent / unquote(target)).resolve() if target else path
            if target_path.is_dir():
                target_path = target_path / "index.html"
            if not target_path.exists():
                broken.append(f"{path.relative_to(site)} -> {href}")
                continue
            if frag and target_path.suffix == ".html":
                ids = cache.setdefault(target_path, parse(target_path).ids)
                if unquote(frag) not in ids:
                    broken.append(f"{path.relative_to(site)} -> {href} (no #{frag})")
    assert not broken, broken[:20]


def test_chart_script_only_on_chart_pages_and_every_chart_has_svg(site):
    with_charts = 0
    for path in html_pages(site):
        text = path.read_text(encoding="utf-8")
        page = parse(path)
        n_charts = text.count('<div class="dx-chart" ')
        loads_script = any("dx-charts.js" in s for s in page.scripts)
        assert loads_script == (n_charts > 0), f"{path.relative_to(site)}: charts={n_charts}, script={loads_script}"
        assert "vega.min.js" not in "".join(page.scripts), "the runtime is loaded lazily, not in <head>"
        if n_charts:
            with_charts += 1
            # Each chart: a light and a dark image of its build-time SVG, both with the text alternative.
            static = re.findall(r'<div class="dx-chart-static"><picture>(?:<source [^>]*>)?<img class="dx-chart-light" '
                                r'src="([^"]+\.svg)" alt="[^"]+"[^>]*></picture><picture>(?:<source [^>]*>)?'
                                r'<img class="dx-chart-dark" src="([^"]+\.dark\.svg)" alt="[^"]+"', text)
            assert len(static) == n_charts, f"{path.relative_to(site)}: every chart needs labelled static images"
            for light, dark in static:
                for src in (light, dark):
                    svg = (path.parent / src).resolve()
                    assert svg.is_file() and 'role="img"' in svg.read_text(encoding="utf-8")[:2000], src
    assert with_charts >= 1
    assert (site / "_static" / "dx" / "vega.min.js").is_file()
    assert (site / "_static" / "dx" / "LICENSE-vega.txt").is_file()


def test_every_chapter_has_charts_in_figures_with_captions(site):
    for name in chapter_docnames():
        text = (site / f"{name}.html").read_text(encoding="utf-8")
        figures = re.findall(r'<figure[^>]*>(.*?)</figure>', text, re.S)
        charted = [f for f in figures if 'class="dx-chart"' in f]
        assert len(charted) >= 1, name
        for fig in charted:
            assert "<figcaption" in fig, f"{name}: chart without caption"


def test_every_page_has_description_and_open_graph_tags(site):
    for name in toc_docnames():
        text = (site / f"{name}.html").read_text(encoding="utf-8")
        desc = re.search(r'<meta name="description" content="([^"]+)"', text)
        assert desc and len(desc.group(1)) > 40, name
        for prop in ("og:title", "og:description", "og:url", "og:type"):
            assert f'<meta property="{prop}" content="' in text, f"{name}: {prop}"


def test_sitemap_lists_every_page_search_engines_may_list(site):
    """Every page of the book and every printable sheet is in the sitemap, except the pages
    marked "noindex" (teacher pages, answer keys, self-check answers, card sets): a page kept
    from search engines is not offered to them either."""
    sitemap = (site / "sitemap.xml").read_text(encoding="utf-8")
    pages = [p for p in site.rglob("*.html") if "_static" not in p.relative_to(site).parts
             and p.relative_to(site).as_posix() != "index.html"]  # the root: a redirect to the first page
    assert len(pages) >= len(toc_docnames()) + 20  # the book's pages and the sheets
    kept_out = 0
    for path in pages:
        rel = path.relative_to(site).as_posix()
        robots = re.search(r'<meta name="robots" content="([^"]*)"', path.read_text(encoding="utf-8"))
        noindex = bool(robots and "noindex" in robots.group(1))
        kept_out += noindex
        assert (f"/{rel}</loc>" in sitemap) != noindex, rel
    assert kept_out >= 5 + 12  # the teacher pages, and keys, answers and cards of four chapters
    assert "/worksheets/01-how-defection-works.html</loc>" in sitemap
    assert "Sitemap:" in (site / "robots.txt").read_text()


def test_icon_fonts_are_slim_and_keep_every_icon_used(site):
    """_ext/dxbook.py subsets the theme's icon fonts; no icon the pages use may go missing."""
    from fontTools.ttLib import TTFont

    fonts = site / "_static" / "vendor" / "fontawesome" / "webfonts"
    woff2 = sorted(fonts.glob("*.woff2"))
    assert woff2 and all(p.stat().st_size < 20_000 for p in woff2), [(p.name, p.stat().st_size) for p in woff2]
    glyphs = set()
    for path in woff2:
        glyphs |= set(TTFont(path).getBestCmap())
    css = (site / "_static" / "styles" / "pydata-sphinx-theme.css").read_text(encoding="utf-8")
    rules = dict()
    # The minifier may write the code point as an escape ("\\f0c9") or as the character itself.
    for selectors, code in re.findall(r'((?:\.fa-[\w-]+:before,?)+)\{content:"(\\[0-9a-fA-F]+|[\ue000-\uf8ff])"\}', css):
        for sel in selectors.rstrip(",").split(","):
            rules[sel[1:-7]] = int(code[1:], 16) if code.startswith("\\") else ord(code)
    used = set()
    for path in html_pages(site):
        used |= set(re.findall(r'class="[^"]*\b(fa-[a-z0-9-]+)', path.read_text(encoding="utf-8")))
    style_names = {"fa-solid", "fa-regular", "fa-brands", "fa-lg", "fa-fw", "fa-xs", "fa-sm", "fa-2x", "fa-spin"}
    icons = used - style_names
    assert icons, "no icons found on the pages"
    missing_rule = sorted(i for i in icons if i not in rules)
    assert not missing_rule, f"icons without a CSS rule: {missing_rule}"
    missing_glyph = sorted(i for i in icons if rules[i] not in glyphs)
    assert not missing_glyph, f"icons without a glyph: {missing_glyph}"
    drawn_by_css = {ord(ch) for ch in css if 0xE000 <= ord(ch) <= 0xF8FF}
    assert drawn_by_css <= glyphs, sorted(hex(c) for c in drawn_by_css - glyphs)


def test_each_page_loads_one_stylesheet_whose_urls_resolve(site):
    """bundle_stylesheets: one render-blocking stylesheet per page, every url() in it found."""
    bundles = set()
    assert list((site / "_static").glob("dx-*.css")), "no stylesheet bundle"
    for path in html_pages(site):
        if "_static" in path.relative_to(site).parts:
            continue  # the theme's template fragments
        head = path.read_text(encoding="utf-8").split("</head>")[0]
        if 'http-equiv="refresh"' in head.lower():
            continue  # index.html: a redirect to the landing page
        sheets = re.findall(r'<link [^>]*rel="stylesheet"[^>]*>', head)
        assert len(sheets) == 1, f"{path.relative_to(site)}: {len(sheets)} stylesheets"
        href = re.search(r'href="([^"]+)"', sheets[0]).group(1)
        bundles.add((path.parent / href).resolve())
    for bundle in bundles:
        css = bundle.read_text(encoding="utf-8")
        assert "@import" not in css, bundle.name
        if bundle.name.startswith("dx-") and bundle.parent.name == "_static":  # a bundle, not the worksheets' sheet
            assert "--pst-color-primary" in css and ".dx-chart" in css, f"{bundle.name}: theme or book styles missing"
        for url in re.findall(r'url\("?([^")]+)"?\)', css):
            if url.startswith("data:"):
                continue
            target = (bundle.parent / url.split("?")[0].split("#")[0]).resolve()
            assert target.is_file(), f"{bundle.name}: url({url}) not found"
