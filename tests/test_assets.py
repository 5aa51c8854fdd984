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
