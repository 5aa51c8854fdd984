"""The content policy allows only the book's own inline script (issues 27 and 28).

One constant policy, hashed once from the book's templates (the theme-mode switch in
``templates/layout.html``), written by the page template first in ``<head>``; the script
bodies other extensions register are served as a file. A script injected into a page after
the build gets no hash, and Chromium refuses to run it while the page's own scripts still
run. The site root and the printable sheets carry the same policy.
"""
from __future__ import annotations

import re
import shutil
import sys

import pytest

from conftest import ROOT, WATCH_POLICY, serve

sys.path.insert(0, str(ROOT / "_ext"))

from dxbook.security import (DATA_TYPES, TEMPLATES, root_page, script_hash, site_policy,  # noqa: E402
                             template_scripts)

INJECTED = "window.__dxPwned = 1;"
PAGE = "chapters/01-how-defection-works"
_SCRIPT = re.compile(r"<script(?P<attrs>(?:\s[^>]*)?)>(?P<body>.*?)</script>", re.S)


def inline_script_hashes(html: str) -> set[str]:
    """Hashes of the page's executable inline scripts (not data blocks, not files)."""
    found = set()
    for m in _SCRIPT.finditer(html):
        kind = re.search(r'\stype="([^"]*)"', m["attrs"])
        if " src=" not in m["attrs"] and not (kind and kind.group(1) in DATA_TYPES):
            found.add(script_hash(m["body"]))
    return found


def test_the_policy_allows_the_theme_mode_switch_and_nothing_else():
    layout = (TEMPLATES / "layout.html").read_text(encoding="utf-8")
    bodies = template_scripts()
    assert len(bodies) == 1 and bodies[0] in layout and "localStorage" in bodies[0]
    assert re.findall(r"'sha256-[^']+'", site_policy()) == [script_hash(bodies[0])]
    rules = dict(r.strip().split(" ", 1) for r in site_policy().split(";"))
    assert rules["script-src"] == f"'self' {script_hash(bodies[0])}"
    assert rules["object-src"] == "'none'" and rules["base-uri"] == "'self'"


def test_an_inline_script_with_jinja_in_a_template_is_an_error(tmp_path):
    from sphinx.errors import ExtensionError

    (tmp_path / "layout.html").write_text('<script>var page = "{{ pagename }}";</script>', encoding="utf-8")
    with pytest.raises(ExtensionError, match="layout.html"):
        template_scripts(tmp_path)
    (tmp_path / "layout.html").write_text('<script type="application/json">{"a": "{{ x }}"}</script>'
                                          '<script src="{{ pathto(\'x.js\', 1) }}"></script>', encoding="utf-8")
    assert template_scripts(tmp_path) == []  # data blocks and files need no hash


def test_root_page_has_title_description_policy_and_no_script():
    html = root_page("Book <b>", 'A "book"', "intro.html", "https://example.org/intro.html")
    assert "<title>Book &lt;b&gt;</title>" in html
    assert 'name="description" content="A &quot;book&quot;"' in html
    assert f'content="{site_policy()}"' in html and not inline_script_hashes(html)
    assert html.index("Content-Security-Policy") < html.index("<title>")


@pytest.mark.build
def test_every_page_carries_the_one_policy_that_allows_the_books_own_scripts(site):
    """One policy for the whole site (so a server could send it as a header): on every page,
    the same; it allows each page's inline scripts, and only scripts some page has."""
    policies, used = set(), set()
    for path in sorted(site.rglob("*.html")):
        if "_static" in path.relative_to(site).parts:
            continue
        html = path.read_text(encoding="utf-8")
        head = html[: html.index("</head>")] if "</head>" in html else html
        metas = re.findall(r'<meta http-equiv="Content-Security-Policy" content="([^"]*)"', head)
        assert len(metas) == 1, path
        policies.add(metas[0])
        allowed = set(re.findall(r"'sha256-[^']+'", metas[0]))
        assert inline_script_hashes(html) <= allowed, path
        used |= inline_script_hashes(html)
    assert policies == {site_policy()}, f"{len(policies)} different policies"
    assert set(re.findall(r"'sha256-[^']+'", policies.pop())) == used


@pytest.mark.build
def test_the_teacher_pack_sheets_carry_the_policy_as_served(site):
    """The pack is made from the finished sheets, so a sheet opened from the zip is the served one."""
    import zipfile

    with zipfile.ZipFile(site / "teacher-pack.zip") as pack:
        sheets = [n for n in pack.namelist() if n.endswith(".html")]
        assert len(sheets) >= 20
        for name in sheets:
            assert pack.read(name) == (site / name).read_bytes(), name
            assert pack.read(name).count(b'http-equiv="Content-Security-Policy"') == 1, name


@pytest.mark.build
def test_site_root_has_policy_title_and_description(site):
    html = (site / "index.html").read_text(encoding="utf-8")
    assert re.search(r"<title>[^<]+</title>", html)
    assert re.search(r'<meta name="description" content="[^"]+"', html)
    assert html.index('http-equiv="Content-Security-Policy"') < html.index("<title>")
    assert 'http-equiv="Refresh"' in html


@pytest.mark.build
@pytest.mark.browser
def test_chromium_blocks_a_script_injected_into_a_built_page(browser, site, tmp_path):
    copy = tmp_path / "html"
    shutil.copytree(site, copy)
    page_file = copy / f"{PAGE}.html"
    html = page_file.read_text(encoding="utf-8")
    # Inline script and inline handler, injected into the content after the build.
    injected = (f'<script>{INJECTED}</script><img src="data:," onload="window.__dxPwned = 2">'
                '<div id="dx-probe" onclick="window.__dxPwned = 3"></div>')
    html = html.replace('<main id="main-content"', injected + '<main id="main-content"', 1) \
        if '<main id="main-content"' in html else html.replace("</body>", injected + "</body>", 1)
    page_file.write_text(html, encoding="utf-8")
    with serve(copy) as base:
        context = browser.new_context()
        page = context.new_page()
        page.add_init_script(WATCH_POLICY)
        page.goto(f"{base}/{PAGE}.html", wait_until="load")
        page.locator("#dx-probe").dispatch_event("click")
        page.wait_for_timeout(300)
        assert page.evaluate("window.__dxPwned") is None
        violations = page.evaluate("window.__dxViolations")
        assert violations and all(v.startswith("script-src") for v in violations), violations
        # The book's own scripts still ran: the theme-mode switch (inline) and the toggle settings (file).
        assert page.evaluate("document.documentElement.dataset.mode") in ("auto", "light", "dark")
        assert page.evaluate("typeof toggleHintShow") == "string"
        context.close()
