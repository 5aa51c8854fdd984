"""Charts at the width they are read at (issue 29).

* At 390x844 (a phone) and 1280x900 (a laptop), light and dark: every chart's
  image (or live view) lies inside its column and the viewport, is shown at
  (nearly) its own size, so its text is not shrunk, and the page does not scroll
  sideways; a phone gets each chart's narrow layout.
* Every chart SVG the site serves keeps all its text inside its own box: each
  SVG is opened in Chromium with the fonts it was laid out with (defection/fonts)
  and the bounding box of every <text> is compared with the SVG's size.
* Screenshots of Fig. 3.1 and 3.2 on a phone, light and dark, go to DX_SHOTS
  (default: the build folder's ``shots``), for the release notes.
"""
from __future__ import annotations

import base64
import os
import re
from pathlib import Path

import pytest

from conftest import ROOT, SITE, chapter_docnames

pytestmark = [pytest.mark.build, pytest.mark.browser]

PHONE = {"width": 390, "height": 844}
LAPTOP = {"width": 1280, "height": 900}
SHOTS = Path(os.environ.get("DX_SHOTS") or SITE.parent / "shots")


def _open(browser, url, viewport, scheme, js=True):
    context = browser.new_context(viewport=viewport, color_scheme=scheme, device_scale_factor=1,
                                  java_script_enabled=js)
    page = context.new_page()
    page.goto(url, wait_until="load")
    return context, page


MEASURE = """(els) => els.map(el => {
  const col = el.closest('article') || el.closest('main') || document.body;
  const vis = [...el.querySelectorAll('.dx-chart-live svg, .dx-chart-static img')]
    .filter(n => n.getBoundingClientRect().width > 0);
  const shown = vis[0];
  const r = shown ? shown.getBoundingClientRect() : null;
  return {
    id: (el.closest('figure') || {}).id || '',
    state: el.dataset.dxState || '', layout: el.dataset.dxLayout || '',
    chart: el.getBoundingClientRect().toJSON(), column: col.getBoundingClientRect().toJSON(),
    shown: r && r.toJSON(), tag: shown ? shown.tagName : '',
    natural: shown && shown.tagName === 'IMG' ? shown.naturalWidth :
             (shown ? parseFloat(shown.getAttribute('width')) : 0),
    src: shown && shown.tagName === 'IMG' ? shown.currentSrc : '',
  };
})"""


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("device", ["phone", "laptop"])
@pytest.mark.parametrize("name", chapter_docnames())
def test_every_chart_fits_its_column(browser, server, name, device, scheme):
    viewport = PHONE if device == "phone" else LAPTOP
    # The static images (without JavaScript; scrolled into view so lazy ones load), then the live views.
    for live in (False, True):
        context, page = _open(browser, f"{server}/{name}.html", viewport, scheme, js=live)
        try:
            charts = page.locator(".dx-chart")
            n = charts.count()
            assert n >= 1
            for i in range(n):
                charts.nth(i).scroll_into_view_if_needed()
                page.wait_for_timeout(50)
            if live:
                page.wait_for_function(
                    "() => [...document.querySelectorAll('.dx-chart')].every(e => e.dataset.dxState === 'interactive')",
                    timeout=30000)
            else:
                page.wait_for_function(
                    "() => [...document.querySelectorAll('.dx-chart-static img')].filter(i => i.offsetWidth)"
                    ".every(i => i.complete && i.naturalWidth > 0)", timeout=20000)
            found = charts.evaluate_all(MEASURE)
            problems = []
            for c in found:
                label = f"{name} {c['id']} ({device}, {scheme}, {'live' if live else 'image'})"
                if not c["shown"]:
                    problems.append(f"{label}: nothing shown")
                    continue
                s, col = c["shown"], c["column"]
                if s["left"] < col["left"] - 1 or s["right"] > col["right"] + 1 or s["right"] > viewport["width"]:
                    problems.append(f"{label}: {s['left']:.0f}-{s['right']:.0f} outside column "
                                    f"{col['left']:.0f}-{col['right']:.0f}")
                # An image is shown at (nearly) its own size: its text keeps its size. (A live view is
                # drawn with the reader's fonts, which may be wider than the book's: it may shrink a little.)
                if not live and c["natural"] and s["width"] < 0.94 * c["natural"]:
                    problems.append(f"{label}: drawn {c['natural']:.0f} px wide, shown at {s['width']:.0f} px")
                if device == "phone":
                    narrow = ".narrow." in c["src"] if not live else c["layout"] == "narrow"
                    if not narrow:
                        problems.append(f"{label}: a phone is not given the narrow layout")
            assert not problems, "\n".join(problems)
            assert page.evaluate("document.scrollingElement.scrollWidth") <= viewport["width"], \
                f"{name}: the page scrolls sideways"
        finally:
            context.close()


def _font_face() -> str:
    faces = []
    for weight, name in (("normal", "Regular"), ("bold", "Bold")):
        data = base64.b64encode((ROOT / "defection" / "fonts" / f"LiberationSans-{name}.ttf").read_bytes()).decode()
        faces.append(f'@font-face {{ font-family: "Liberation Sans"; font-weight: {weight}; '
                     f'src: url(data:font/ttf;base64,{data}); }}')
    return "\n".join(faces)


TEXT_BOXES = """() => {
  const root = document.documentElement, box = root.getBoundingClientRect();
  return [...document.querySelectorAll('text')].filter(t => t.textContent.trim()).map(t => {
    const r = t.getBoundingClientRect();
    return {text: t.textContent.trim().slice(0, 60), left: r.left - box.left, top: r.top - box.top,
            right: r.right - box.left, bottom: r.bottom - box.top, width: box.width, height: box.height};
  });
}"""


def test_every_chart_svg_keeps_its_text_inside(browser, server, site):
    """Every <text> of every chart SVG (wide and narrow, light and dark) lies inside the SVG."""
    svgs = sorted((site / "_static" / "charts").glob("*.svg"))
    assert len(svgs) >= 4 * 12, "a wide and a narrow SVG, light and dark, for every chart"
    style = _font_face()
    context = browser.new_context(viewport={"width": 1200, "height": 2400}, bypass_csp=True)
    page = context.new_page()
    problems = []
    try:
        for svg in svgs:
            page.goto(f"{server}/_static/charts/{svg.name}", wait_until="load")
            page.evaluate("""(css) => { const s = document.createElementNS('http://www.w3.org/2000/svg', 'style');
                               s.textContent = css; document.documentElement.prepend(s); }""", style)
            page.evaluate("document.fonts.ready.then(() => true)")
            for t in page.evaluate(TEXT_BOXES):
                if t["left"] < -1 or t["top"] < -1 or t["right"] > t["width"] + 1 or t["bottom"] > t["height"] + 1:
                    problems.append(f"{svg.name}: {t['text']!r} at {t['left']:.0f},{t['top']:.0f}-"
                                    f"{t['right']:.0f},{t['bottom']:.0f} outside {t['width']:.0f}x{t['height']:.0f}")
            if ".narrow." in svg.name:
                width = float(re.search(r'<svg[^>]*\bwidth="([\d.]+)"', svg.read_text(encoding="utf-8")).group(1))
                if width > 342:
                    problems.append(f"{svg.name}: narrow layout {width:.0f} px wide, more than a phone's column")
    finally:
        context.close()
    assert not problems, "\n".join(problems[:30])


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_phone_screenshots_of_fig_3_1_and_3_2(browser, server, scheme):
    """Screenshots for the release notes; also: both figures are whole on a phone."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    name = next(n for n in chapter_docnames() if "03-" in n)
    context = browser.new_context(viewport=PHONE, color_scheme=scheme, device_scale_factor=2, bypass_csp=True)
    page = context.new_page()
    page.goto(f"{server}/{name}.html", wait_until="load")
    # The sticky header would cover part of a figure taller than the screen.
    page.add_style_tag(content=".bd-header, .skip-link, #pst-back-to-top { display: none !important; }")
    try:
        figures = page.locator("figure:has(.dx-chart)")
        assert figures.count() >= 2
        for i, label in ((0, "fig-3-1"), (1, "fig-3-2")):
            fig = figures.nth(i)
            fig.scroll_into_view_if_needed()
            page.wait_for_function("(el) => el.querySelector('.dx-chart').dataset.dxState === 'interactive'",
                                   arg=fig.element_handle(), timeout=30000)
            box = fig.bounding_box()
            assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], f"{label} is wider than the phone"
            fig.screenshot(path=str(SHOTS / f"{label}-phone-{scheme}.png"))
    finally:
        context.close()
