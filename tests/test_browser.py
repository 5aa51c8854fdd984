"""Every page in a real headless Chromium, served from 127.0.0.1 only.

No console errors, no request leaving 127.0.0.1, no Content-Security-Policy
violation, every chart drawn as SVG (live, under the strict policy), and axe-core
finds no serious or critical accessibility violation.
If Chromium is missing these tests fail (they never skip).
"""
from __future__ import annotations

from pathlib import Path
from urllib.parse import urlparse

import pytest

from conftest import chapter_docnames, toc_docnames, watched_page

pytestmark = pytest.mark.browser

PAGES = toc_docnames() + ["search", "genindex"]


@pytest.fixture(scope="module")
def axe():
    from axe_playwright_python.sync_playwright import Axe

    return Axe()


def visit(browser, url):
    """Load ``url``; return the page, console errors and foreign requests (any host but 127.0.0.1)."""
    return watched_page(browser, url, lambda u: u.startswith(("data:", "blob:")) or urlparse(u).hostname == "127.0.0.1")


def draw_all_charts(page):
    """Scroll through the page so every chart becomes interactive; return their states."""
    n = page.locator(".dx-chart").count()
    for i in range(n):
        page.locator(".dx-chart").nth(i).scroll_into_view_if_needed()
    if n:
        page.wait_for_function(
            "() => [...document.querySelectorAll('.dx-chart')].every(e => e.dataset.dxState === 'interactive' || e.dataset.dxState === 'static')",
            timeout=20000)
    return page.eval_on_selector_all(".dx-chart", "els => els.map(e => [e.dataset.dxState, !!e.querySelector('svg')])")


@pytest.mark.parametrize("name", PAGES)
def test_page_in_chromium(browser, server, axe, name):
    context, page, errors, foreign = visit(browser, f"{server}/{name}.html")
    try:
        states = draw_all_charts(page)
        assert all(state == "interactive" and has_svg for state, has_svg in states), states
        page.wait_for_load_state("networkidle")
        assert not errors, errors
        assert not foreign, foreign
        assert page.evaluate("window.__dxViolations") == []
        assert page.locator('meta[http-equiv="Content-Security-Policy"]').count() == 1
        # label-content-name-mismatch is experimental in axe-core (off by default);
        # the default Jupyter Book fails it, so check it too.
        results = axe.run(page, options={"rules": {"label-content-name-mismatch": {"enabled": True}}})
        bad = [(v["id"], v["impact"], len(v["nodes"]), v["nodes"][0]["target"])
               for v in results.response["violations"] if v["impact"] in ("serious", "critical")]
        assert not bad, bad
    finally:
        context.close()


def test_chart_script_absent_on_chart_free_page(browser, server):
    context, page, errors, foreign = visit(browser, f"{server}/chapters/glossary.html")
    scripts = page.eval_on_selector_all("script[src]", "els => els.map(e => e.src)")
    assert not any("dx-charts" in s or "vega" in s for s in scripts), scripts
    context.close()


def test_folded_solutions_stay_folded_under_the_policy(browser, server):
    context, page, errors, foreign = visit(browser, f"{server}/chapters/01-how-defection-works.html")
    try:
        page.wait_for_load_state("networkidle")
        solutions = page.locator(".solution")
        assert solutions.count() > 0
        # Each solution is a closed native <details> (editions.fold_visitors): the title, its summary,
        # stays visible, everything after it is hidden until the reader opens it.
        assert solutions.count() == page.locator("details.solution:not([open])").count()
        first = solutions.first
        content = first.locator(":scope > :not(summary)")
        assert content.count() > 0 and not any(content.nth(i).is_visible() for i in range(content.count()))
        first.locator(":scope > summary").click(position={"x": 4, "y": 4})  # the title's own link goes elsewhere
        assert content.first.is_visible()
        assert page.evaluate("window.__dxViolations") == [] and not errors, errors
    finally:
        context.close()


def test_print_button_works_without_inline_handlers(browser, server):
    context, page, errors, foreign = visit(browser, f"{server}/chapters/01-how-defection-works.html")
    try:
        page.wait_for_load_state("networkidle")
        assert page.locator("[onclick]").count() == 0
        page.evaluate("window.__printed = 0; window.print = () => { window.__printed += 1; }; 0")
        page.locator("[data-dx-print]").first.dispatch_event("click")
        assert page.evaluate("window.__printed") == 1
    finally:
        context.close()


def test_search_page_puts_the_cursor_in_its_own_field_under_the_policy(browser, server):
    """The search page's focus script is a file (the policy allows no inline script but the
    theme-mode switch); it focuses the page's own field, not the hidden one of the dialog."""
    context, page, errors, foreign = visit(browser, f"{server}/search.html?q=Markov")
    try:
        page.wait_for_load_state("networkidle")
        assert page.evaluate("document.activeElement.closest('.bd-search-container') !== null")
        assert page.locator("#search-results li").count() > 0
        assert page.evaluate("DOCUMENTATION_OPTIONS.search_as_you_type") is False  # from dx-settings.js
        # The magnifying glass sits before the query, not over its first letters.
        icon, field = page.evaluate("""() => [document.querySelector('.bd-search-container .fa-magnifying-glass'),
            document.querySelector('.bd-search-container input')].map(e => e.getBoundingClientRect())
            .map(r => [r.left, r.right])""")
        assert icon[1] <= field[0] + 12, (icon, field)  # the field's text starts after its 12 px padding
        assert page.evaluate("window.__dxViolations") == [] and not errors, errors
    finally:
        context.close()


def test_printable_sheets_fit_a_phone(browser, server):
    """Worksheets, keys, tasks, card sets and vocabulary sheets read on a phone (390 px) keep the
    page's width: a wide table (by-hand data, rubric) scrolls in a focusable, named region of its
    own, and a key's long line of code wraps."""
    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    try:
        checked = 0
        for kind in ("worksheets", "keys", "answers", "tasks", "cards", "vocabulary"):
            for docname in chapter_docnames():
                page.goto(f"{server}/{kind}/{Path(docname).name}.html", wait_until="load")
                width = page.evaluate("document.documentElement.scrollWidth")
                assert width <= 390, f"{kind}/{Path(docname).name}: {width} px wide"
                regions = page.eval_on_selector_all(
                    ".dx-sheet-scroll", "els => els.map(e => [e.tabIndex, e.getAttribute('aria-label')])")
                assert all(tab == 0 and label for tab, label in regions), regions
                checked += 1
        assert checked == 6 * len(chapter_docnames())
    finally:
        context.close()


# --- The case browser on the data page (defection.tables.case_browser, dx-cases.js) --------------
# With JavaScript: a labelled filter that hides rows and updates a live count, and column
# headings that are buttons, sort the rows and set aria-sort. Without it: the whole table.

CASES_PAGE = "chapters/data"


def _case_rows(page):
    return page.locator(".dx-cases-table tbody tr")


def _visible_names(page):
    return page.eval_on_selector_all(".dx-cases-table tbody tr:not([hidden])",
                                     "rows => rows.map(r => r.cells[0].textContent.trim())")


def test_case_browser_filters_sorts_and_announces(browser, server, axe):
    context, page, errors, foreign = visit(browser, f"{server}/{CASES_PAGE}.html")
    try:
        status = page.get_by_role("status")
        total = _case_rows(page).count()
        assert total > 100
        assert status.inner_text() == f"{total} of {total} cases shown"
        box = page.get_by_label("Filter the cases")
        assert box.get_attribute("type") == "search"
        # Typing by keyboard filters the rows (accents and case ignored) and updates the live region.
        box.focus()
        page.keyboard.type("soviet")
        shown = len(_visible_names(page))
        expected = page.eval_on_selector_all(
            ".dx-cases-table tbody tr", "rows => rows.filter(r => r.textContent.toLowerCase().includes('soviet')).length")
        assert 0 < shown == expected < total
        assert status.inner_text() == f"{shown} of {total} cases shown"
        assert status.get_attribute("role") == "status"
        box.fill("zzzz no such case")
        assert status.inner_text() == f"0 of {total} cases shown" and not _visible_names(page)
        box.fill("")
        assert len(_visible_names(page)) == total
        # A heading is a button: pressing it sorts by that column and says so with aria-sort.
        headings = page.locator(".dx-cases-table thead th")
        name_button = page.get_by_role("button", name="Name", exact=True)
        name_button.focus()
        page.keyboard.press("Enter")
        fold = "names => names.map(n => n.normalize('NFD').replace(/[\\u0300-\\u036f]/g, '').toLowerCase())"
        names = page.evaluate(fold, _visible_names(page))
        assert names == sorted(names)
        assert headings.nth(0).get_attribute("aria-sort") == "ascending"
        assert [headings.nth(i).get_attribute("aria-sort") for i in range(1, headings.count())] == \
            [None] * (headings.count() - 1)
        assert "sorted by Name, ascending" in status.inner_text()
        name_button.click()
        assert headings.nth(0).get_attribute("aria-sort") == "descending"
        assert page.evaluate(fold, _visible_names(page)) == sorted(names, reverse=True)
        year_button = page.get_by_role("button", name="Year", exact=True)
        year_button.click()
        years = page.eval_on_selector_all(".dx-cases-table tbody tr", "rows => rows.map(r => +r.cells[1].textContent)")
        assert years == sorted(years) and headings.nth(1).get_attribute("aria-sort") == "ascending"
        assert headings.nth(0).get_attribute("aria-sort") is None
        # Sorting keeps the filter.
        box.fill("france")
        shown = len(_visible_names(page))
        page.get_by_role("button", name="Confidence", exact=True).click()
        assert len(_visible_names(page)) == shown < total
        assert status.inner_text().startswith(f"{shown} of {total} cases shown")
        assert not errors and not foreign and page.evaluate("window.__dxViolations") == []
        # axe after the changes (checked last: its style sheet loader requests a stray /basic.css).
        violations = axe.run(page, context={"include": [[".dx-cases"]]}).response["violations"]
        assert not [(v["id"], v["impact"]) for v in violations if v["impact"] in ("serious", "critical")]
    finally:
        context.close()


def test_case_browser_without_javascript_is_the_whole_table(browser, server):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    try:
        page.goto(f"{server}/{CASES_PAGE}.html")
        rows = _case_rows(page)
        assert rows.count() > 100
        assert page.locator(".dx-cases input, .dx-cases button, .dx-cases [role=status]").count() == 0
        assert page.locator(".dx-cases-table tbody tr[hidden]").count() == 0
        for i in (0, rows.count() // 2, rows.count() - 1):
            rows.nth(i).scroll_into_view_if_needed()
            assert rows.nth(i).is_visible()
            assert rows.nth(i).locator("a[href^='http']").count() == 1
    finally:
        context.close()
