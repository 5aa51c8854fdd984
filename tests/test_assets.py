"""Unit tests of the asset finishing in ``_ext/dxbook/assets.py`` and the one pass over the
written site that runs it (``finish.Site``), with no book build."""
from __future__ import annotations

import sys

from conftest import ROOT

sys.path.insert(0, str(ROOT / "_ext"))
from dxbook.assets import bundle_stylesheets  # noqa: E402
from dxbook.finish import Site  # noqa: E402

PAGE = """<html><head>
<link href="{p}_static/a.css?digest=1" rel="stylesheet" />
<link rel="stylesheet" type="text/css" href="{p}_static/sub/b.css?v=2" />
</head><body></body></html>"""


def site(tmp_path):
    (tmp_path / "_static" / "sub").mkdir(parents=True)
    (tmp_path / "_static" / "fonts").mkdir()
    (tmp_path / "_static" / "fonts" / "f.woff2").write_bytes(b"x")
    (tmp_path / "_static" / "base.css").write_text("p{margin:0}")
    (tmp_path / "_static" / "a.css").write_text('@import "base.css";.a{color:red}')
    (tmp_path / "_static" / "sub" / "b.css").write_text('.b{src:url(../fonts/f.woff2)}')
    (tmp_path / "index.html").write_text(PAGE.format(p=""))
    (tmp_path / "chapters").mkdir()
    (tmp_path / "chapters" / "one.html").write_text(PAGE.format(p="../"))
    return tmp_path


def bundle(out):
    """What the finishing pass does: pages read once, bundled, written once, stale bundles removed."""
    pages = Site(out)
    result = bundle_stylesheets(pages)
    pages.write()
    pages.remove_unlinked("_static", "dx-*.css")
    return result


def test_pages_share_one_bundle_with_imports_inlined_and_urls_moved(tmp_path):
    out = site(tmp_path)
    pages, bundles = bundle(out)
    assert (pages, bundles) == (2, 1)
    [made] = (out / "_static").glob("dx-*.css")
    css = made.read_text()
    assert "@import" not in css and "p{margin:0}" in css and css.index("p{margin:0}") < css.index(".a{")
    assert 'url("fonts/f.woff2")' in css
    assert f'href="../_static/{made.name}"' in (out / "chapters" / "one.html").read_text()
    assert (out / "chapters" / "one.html").read_text().count('rel="stylesheet"') == 1


def test_a_rebuild_that_writes_no_page_keeps_the_bundle_pages_link_to(tmp_path):
    """An incremental build rewrites only some pages: the others still link to the
    bundle an earlier build made, which must not be deleted."""
    out = site(tmp_path)
    bundle(out)
    bundle(out)  # nothing new to bundle
    for page in (out / "index.html", out / "chapters" / "one.html"):
        href = page.read_text().split('href="')[1].split('"')[0]
        assert (page.parent / href).is_file(), href
    (out / "_static" / "dx-0000000000000000.css").write_text("stale")
    bundle(out)
    assert not (out / "_static" / "dx-0000000000000000.css").exists(), "a bundle no page uses is removed"


def test_the_site_pass_writes_only_the_pages_it_changed(tmp_path):
    """finish.Site reads every page once and writes back only those an edit changed."""
    out = site(tmp_path)
    (out / "_static" / "inner.html").write_text("<p>an asset, not a page</p>")
    pages = Site(out)
    assert sorted(pages.pages) == ["chapters/one", "index"]
    assert pages.edit(lambda name, html: html.replace("<body>", "<body class=x>") if name == "index" else html) == 1
    before = (out / "chapters" / "one.html").stat().st_mtime_ns
    assert pages.write() == 1
    assert pages.write() == 0, "a second write has nothing new to write"
    assert "<body class=x>" in (out / "index.html").read_text()
    assert (out / "chapters" / "one.html").stat().st_mtime_ns == before


def test_class_names_come_from_elements_not_from_the_text(tmp_path):
    """A word of the text ("table", "card") keeps no rule for a class of that name; a class
    an element carries, an id, an inline script's words and an inline custom property do."""
    from dxbook.assets import used_words

    (tmp_path / "_static").mkdir()
    (tmp_path / "_static" / "s.js").write_text('el.classList.add("added-by-script")')
    (tmp_path / "page.html").write_text(
        '<html><body><p class="lead x" id="top" style="--dx-w: 3px">A table on a card.</p>'
        '<script>document.body.classList.add("inline-added")</script></body></html>')
    words = used_words(Site(tmp_path))
    assert {"lead", "x", "top", "--dx-w", "added-by-script", "inline-added"} <= words
    assert not {"table", "card", "A"} & words


def test_custom_properties_nothing_reads_are_dropped_and_the_rest_kept_as_written():
    from dxbook.assets import drop_properties, live_properties

    css = (":root{--used:1px;--chain:var(--used);--unused:red;--named:0}"
           "@media (max-width:600px){html[data-theme=dark]{--unused:blue;--only-dark:0}}"
           ".a>.b{margin:var(--chain)!important}@font-face{font-family:x;src:url(a.woff2)}"
           "@layer base;@keyframes k{0%{--unused:1;opacity:0}to{opacity:1}}")
    other = ".c{padding:var(--from-other-sheet)}"
    live = live_properties([css, other], {"--named"})
    assert live == {"--used", "--chain", "--named", "--from-other-sheet"}
    assert drop_properties(css, live) == (
        ":root{--used:1px;--chain:var(--used);--named:0}"
        ".a>.b{margin:var(--chain)!important}@font-face{font-family:x;src:url(a.woff2)}"
        "@layer base;@keyframes k{0%{opacity:0}to{opacity:1}}")
    broken = ".a{color:red}}"  # a parse error: the sheet is left as it is
    assert drop_properties(broken, set()) == broken


def test_start_tags_are_found_by_the_parser_not_fooled_by_comments_or_scripts():
    """The finishing pass finds a page's stylesheet links with Python's HTML parser: a link in a
    comment, in a script's text or in an attribute value is not a link, and the positions it
    gives cut the real tag out exactly."""
    from dxbook.finish import start_tags

    html = ('<html><head>\n<!-- <link rel="stylesheet" href="_static/old.css"> -->\n'
            '<script>var s = \'<link rel="stylesheet" href="_static/js.css">\';</script>\n'
            '<meta name="x" content=\'<link href="_static/attr.css">\'>\n'
            '<link rel="stylesheet"\n      href="_static/real.css?v=1" />\n</head><body></body></html>')
    [tag] = start_tags(html, {"link"})
    assert tag.attrs["href"] == "_static/real.css?v=1"
    assert html[tag.start:tag.end] == '<link rel="stylesheet"\n      href="_static/real.css?v=1" />'
