"""The content policy allows only the book's own inline scripts (issue 27).

Hashes come from the known sources (registered script bodies, the templates'
inline scripts), never from the finished page: a script injected into a page
after the build gets no hash, and Chromium refuses to run it while the page's
own scripts still run. The site root carries the policy, a title and a
description.
"""
from __future__ import annotations

import re
import shutil
import sys

import pytest

from conftest import ROOT, WATCH_POLICY, serve

sys.path.insert(0, str(ROOT / "_ext"))

from dxbook.security import (inline_script_hashes, policy_for, policy_with, root_page, script_hash,  # noqa: E402
                             secure, site_hashes)

INJECTED = "window.__dxPwned = 1;"
PAGE = "chapters/01-how-defection-works"


def _page(head_policy_hashes, body_scripts):
    meta = f'<meta http-equiv="Content-Security-Policy" content="{policy_with(head_policy_hashes)}">'
    scripts = "".join(f"<script>{s}</script>" for s in body_scripts)
    return f'<html><head><meta charset="utf-8">\n{meta}\n<script>own();</script></head><body>{scripts}</body></html>'


def test_only_known_scripts_get_a_hash():
    html = secure("p", _page([script_hash("own();")], [INJECTED]))
    policy = re.search(r'Content-Security-Policy" content="([^"]*)"', html).group(1)
    assert script_hash("own();") in policy
    assert script_hash(INJECTED) not in policy
    assert html.count("Content-Security-Policy") == 1
    assert secure("p", html) == html  # idempotent


def test_a_page_without_known_scripts_allows_none():
    html = "<html><head><meta charset=\"utf-8\"></head><body><script>x()</script></body></html>"
    assert "sha256" not in policy_for(html)
    assert "script-src 'self';" in secure("p", html)


def test_the_site_policy_is_the_known_scripts_pages_use():
    own, other = script_hash("own();"), script_hash("other();")
    pages = [_page([own], []), _page([own, other], [INJECTED])]  # other(): known, but on no page
    allowed = site_hashes(pages)
    assert allowed == {own}
    out = secure("p", _page([], [INJECTED]), allowed)  # a page whose own head names nothing
    assert own in out and script_hash(INJECTED) not in out
    assert secure("p", out, allowed) == out


def test_a_policy_planted_in_the_body_adds_nothing():
    fake = f'<meta http-equiv="Content-Security-Policy" content="{policy_with([script_hash(INJECTED)])}">'
    html = _page([script_hash("own();")], []).replace("<body>", f"<body>{fake}<script>{INJECTED}</script>")
    out = secure("p", html)
    assert script_hash(INJECTED) not in out
    assert out.count("Content-Security-Policy") == 1


def test_root_page_has_title_description_and_no_script():
    html = secure("index", root_page("Book <b>", 'A "book"', "intro.html", "https://example.org/intro.html"))
    assert "<title>Book &lt;b&gt;</title>" in html
    assert 'name="description" content="A &quot;book&quot;"' in html
    assert "Content-Security-Policy" in html and not inline_script_hashes(html)


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
        assert set(inline_script_hashes(html)) <= allowed, path
        used |= set(inline_script_hashes(html))
    assert len(policies) == 1, f"{len(policies)} different policies"
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
    # The build's last step runs again over the page, as it would if the script had reached
    # the page during the build (from data or a notebook): it must still get no hash.
    page_file.write_text(secure(PAGE, html), encoding="utf-8")
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
        # The book's own inline scripts still ran: the theme-mode switch and the toggle settings.
        assert page.evaluate("document.documentElement.dataset.mode") in ("auto", "light", "dark")
        assert page.evaluate("typeof toggleHintShow") == "string"
        context.close()
