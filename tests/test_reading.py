"""Reading in Chromium: dark mode, every chart's data, search, print.

* Dark mode: a phone set to dark shows the dark charts (static and live), the
  theme switch redraws live charts, and no chart leaves a white box on the dark
  page (checked on the pixels of a screenshot); print stays light.
* Every chart has a "Data and downloads" box whose CSV, SVG and PNG links are
  served by the site, and a data table for screen readers.
* Search still works although only the search page loads the search index.
If Chromium is missing these tests fail (they never skip).
"""
from __future__ import annotations

import io
import re
from contextlib import contextmanager

import pytest

from conftest import WATCH_POLICY, chapter_docnames

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
DARK_BACKGROUND = (0x14, 0x18, 0x1E)


@contextmanager
def open_page(browser, url, scheme="light", js=True, viewport=PHONE):
    """The page at ``url`` and the list of its errors, in a context closed afterwards."""
    context = browser.new_context(viewport=viewport, color_scheme=scheme, java_script_enabled=js,
                                  device_scale_factor=1)
    page = context.new_page()
    errors = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    if js:
        page.add_init_script(WATCH_POLICY)
    page.goto(url, wait_until="load")
    try:
        yield page, errors
    finally:
        context.close()


def draw(page, theme):
    """Scroll every chart into view and wait until all are live in ``theme``."""
    charts = page.locator(".dx-chart")
    for i in range(charts.count()):
        charts.nth(i).scroll_into_view_if_needed()
    page.wait_for_function(
        "(t) => [...document.querySelectorAll('.dx-chart')].every("
        "e => e.dataset.dxState === 'interactive' && e.dataset.dxTheme === t)", arg=theme, timeout=20000)
    return charts.count()


def white_share(png: bytes) -> float:
    """The share of near-white pixels in a screenshot."""
    from PIL import Image

    raw = Image.open(io.BytesIO(png)).convert("RGB").tobytes()
    pixels = len(raw) // 3
    return sum(1 for i in range(0, len(raw), 3) if min(raw[i:i + 3]) > 235) / pixels


def test_white_share_measures_white():
    """The pixel check itself can fail: a white image is all white, a dark one not at all."""
    from PIL import Image

    def png(colour):
        out = io.BytesIO()
        Image.new("RGB", (20, 10), colour).save(out, format="PNG")
        return out.getvalue()

    assert white_share(png((255, 255, 255))) == 1.0
    assert white_share(png(DARK_BACKGROUND)) == 0.0


@pytest.mark.parametrize("name", chapter_docnames())
def test_dark_phone_shows_dark_charts_without_white_boxes(browser, server, name):
    with open_page(browser, f"{server}/{name}.html", scheme="dark") as (page, errors):
        assert page.evaluate("document.documentElement.dataset.theme") == "dark"
        first = page.locator(".dx-chart").first
        # Before any script draws it, the chart is the dark image, and the light one is hidden.
        assert first.locator("img.dx-chart-dark").is_visible()
        assert not first.locator("img.dx-chart-light").is_visible()
        n = draw(page, "dark")
        for i in range(n):
            chart = page.locator(".dx-chart").nth(i)
            live = chart.locator(".dx-chart-live svg")
            assert live.count() == 1 and live.is_visible()
            share = white_share(chart.locator(".dx-chart-live").screenshot())
            assert share < 0.02, f"{name}: chart {i + 1} is {share:.0%} white on a dark page"
        assert not errors, errors
        assert page.evaluate("window.__dxViolations") == []
        # axe in the dark scheme too (colour contrast of the dark page and its charts).
        from axe_playwright_python.sync_playwright import Axe

        results = Axe().run(page)
        bad = [(v["id"], v["impact"], v["nodes"][0]["target"]) for v in results.response["violations"]
               if v["impact"] in ("serious", "critical")]
        assert not bad, bad


def test_the_theme_switch_redraws_live_charts(browser, server):
    with open_page(browser, f"{server}/{chapter_docnames()[0]}.html", viewport={"width": 1280, "height": 900}) as (page, errors):
        draw(page, "light")
        light = white_share(page.locator(".dx-chart-live").first.screenshot())
        assert light > 0.5, "a light chart should be mostly white"
        # The theme's own button cycles light -> dark (-> auto).
        button = page.locator("button.theme-switch-button").first
        for _ in range(3):
            if page.evaluate("document.documentElement.dataset.theme") == "dark":
                break
            button.click()
        assert page.evaluate("document.documentElement.dataset.theme") == "dark"
        draw(page, "dark")
        dark = white_share(page.locator(".dx-chart-live").first.screenshot())
        assert dark < 0.02, f"after the switch the chart is {dark:.0%} white"
        assert not errors, errors


def test_print_stays_light_on_a_dark_page(browser, server):
    with open_page(browser, f"{server}/{chapter_docnames()[0]}.html", scheme="dark") as (page, _):
        draw(page, "dark")
        page.emulate_media(media="print")
        first = page.locator(".dx-chart").first
        assert first.locator("img.dx-chart-light").is_visible()
        assert not first.locator("img.dx-chart-dark").is_visible()
        assert not first.locator(".dx-chart-live").is_visible()
        assert not first.locator(".dx-chart-data").is_visible()


@pytest.mark.parametrize("name", chapter_docnames())
def test_every_chart_offers_its_data_svg_and_png(browser, server, name):
    with open_page(browser, f"{server}/{name}.html", viewport={"width": 1280, "height": 900}) as (page, errors):
        charts = page.locator(".dx-chart")
        assert charts.count() >= 1
        for i in range(charts.count()):
            box = charts.nth(i).locator("details.dx-chart-data")
            assert box.count() == 1, f"chart {i + 1} has no data box"
            summary = box.locator("summary")
            assert not box.locator("table").first.is_visible()
            summary.focus()
            page.keyboard.press("Enter")  # opens by keyboard
            table = box.locator("table.dx-chart-table")
            assert table.first.is_visible()
            assert table.first.locator("caption").inner_text().startswith("The data of the chart")
            assert table.first.locator("tbody tr").count() >= 1
            links = box.locator("a[download]")
            kinds = {"csv": 0, "svg": 0, "png": 0}
            for j in range(links.count()):
                href = links.nth(j).get_attribute("href")
                response = page.request.get(page.url.rsplit("/", 1)[0] + "/" + href)
                assert response.ok, href
                kind = href.rsplit(".", 1)[1]
                kinds[kind] += 1
                body = response.body()
                if kind == "csv":
                    header = body.decode("utf-8").splitlines()[0].split(",")
                    shown = table.nth(kinds["csv"] - 1).locator("thead th").all_inner_texts()
                    assert header == shown, f"chart {i + 1}: CSV columns differ from its table"
                elif kind == "svg":
                    assert body.lstrip().startswith(b"<svg") and b'role="img"' in body[:2000]
                else:
                    assert body[:8] == b"\x89PNG\r\n\x1a\n"
            assert kinds["csv"] >= 1 and kinds["svg"] == 1 and kinds["png"] == 1, kinds
        assert not errors, errors


def test_search_finds_a_case_and_only_the_search_page_loads_the_index(browser, server):
    with open_page(browser, f"{server}/{chapter_docnames()[0]}.html", viewport={"width": 1280, "height": 900}) as (page, errors):
        scripts = page.eval_on_selector_all("script[src]", "els => els.map(e => e.src)")
        assert not any("searchindex" in s for s in scripts), scripts
        # The reader searches from the page: the box submits to the search page.
        page.keyboard.press("Control+k")
        field = page.locator("input[name=q]:visible").first
        field.fill("Belenko")
        field.press("Enter")
        page.wait_for_url(re.compile(r"search\.html\?q=Belenko"))
        page.wait_for_function(
            "() => document.querySelectorAll('#search-results li').length > 0", timeout=20000)
        found = page.locator("#search-results li a").all_inner_texts()
        assert any("How defection works" in t for t in found), found
        assert not errors, errors


def test_static_chart_images_show_without_javascript(browser, server):
    with open_page(browser, f"{server}/{chapter_docnames()[0]}.html", js=False) as (page, _):
        image = page.locator(".dx-chart-static img.dx-chart-light").first
        assert image.is_visible()
        assert image.get_attribute("alt")
        assert image.bounding_box()["height"] > 100
        assert image.evaluate("i => i.complete && i.naturalWidth > 0"), "the chart image did not load"
        # The data box works without JavaScript too (it is a plain <details>).
        page.locator(".dx-chart-data summary").first.click()
        assert page.locator(".dx-chart-table").first.is_visible()


@pytest.mark.parametrize("width", [390, 1280, 1920])
def test_one_search_control_per_page(browser, server, width):
    """The header and the sidebar do not both offer a search field."""
    with open_page(browser, f"{server}/{chapter_docnames()[1]}.html", viewport={"width": width, "height": 800}) as (page, _):
        visible = page.eval_on_selector_all(
            "input[type=search], .search-button-field, button.search-button",
            "els => els.filter(e => e.offsetParent !== null && getComputedStyle(e).visibility !== 'hidden').length")
        assert visible == 1, f"{visible} search controls visible at {width} px"


def test_menus_work_although_bootstrap_loads_on_demand(browser, server):
    """Bootstrap is not part of the first load; the download menu still opens on the
    first click (mouse or keyboard) and offers the notebook, the source and the PDF."""
    for use_keyboard in (False, True):
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        page = context.new_page()
        requests = []
        page.on("request", lambda r: requests.append(r.url))
        errors = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        try:
            page.goto(f"{server}/{chapter_docnames()[0]}.html", wait_until="networkidle")
            assert not any("bootstrap.js" in u for u in requests), "Bootstrap loaded before it was needed"
            toggle = page.locator('button.dropdown-toggle[aria-label="Download this page"]')
            if use_keyboard:
                toggle.focus()
                page.keyboard.press("Enter")
            else:
                toggle.click()
            menu = page.locator(".dropdown-download-buttons .dropdown-menu")
            menu.wait_for(state="visible", timeout=5000)
            items = menu.inner_text().lower()
            assert ".ipynb" in items and ".md" in items and ".pdf" in items, items
            assert any("bootstrap.js" in u for u in requests)
            assert not errors, errors
        finally:
            context.close()
