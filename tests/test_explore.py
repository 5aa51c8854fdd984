"""Every chart's explorable description (issue 30; _ext/dxbook/explore.py, dx-explore.js).

Static (the built HTML, every chart on every page):

* one tree per chart, on a page of its own that its "Data and downloads" box
  links to (and loads it from when opened), with one root;
* every grouping item (an axis or legend that groups the marks) has as many
  groups as its field has distinct values in the chart's own CSV files, and as
  many data points as those files have rows; the whole tree has exactly
  1 + axes and legends + groups + points items;
* the grouping fields are ones the chart's Vega spec draws on a discrete scale,
  and every titled discrete axis and legend of the spec has its item;
* every row's tooltip values (read from the Vega spec) are in a point of its group.

In Chromium (chapter pages): the list becomes a WAI-ARIA tree; from the Data and
downloads box, Tab reaches the tree's one focusable item and arrow keys walk it
down to a data point, whose accessible name (Chrome's own) is its text; Left goes
back up, Enter closes and opens, Home and End jump; axe finds no serious or
critical violation in the open tree. Without JavaScript the box's link opens
the tree's page, a nested list.
A walk through chapter 1's first chart is written to ``explore-walk.txt`` beside the site.
"""
from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import pytest
from bs4 import BeautifulSoup

from conftest import SITE, chapter_docnames

build = pytest.mark.build


def chart_pages(site: Path) -> list[Path]:
    return sorted(p for p in site.rglob("*.html") if 'class="dx-chart"' in p.read_text(encoding="utf-8"))


def charts(site: Path):
    """(page, chart element, soup) of every chart in the site."""
    for page in chart_pages(site):
        soup = BeautifulSoup(page.read_text(encoding="utf-8"), "html.parser")
        for chart in soup.select("div.dx-chart"):
            yield page, chart


def tree_of(page: Path, chart):
    """The chart's tree, from its own page (the data box links to it; dx-explore.js loads it)."""
    box = chart.select_one("details.dx-chart-data .dx-explore[data-dx-explore]")
    assert box is not None, f"{page.name}: no link to the chart's explorable description"
    own = page.parent / box["data-dx-explore"]
    assert box.select_one("a")["href"] == box["data-dx-explore"], page.name
    trees = BeautifulSoup(own.read_text(encoding="utf-8"), "html.parser").select("ul.dx-explore-tree")
    assert len(trees) == 1, f"{own.name}: {len(trees)} trees"
    return trees[0]


def read_csv(page: Path, href: str) -> list[dict]:
    with (page.parent / href).open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def csv_files(page: Path, chart) -> list[list[dict]]:
    links = [a["href"] for a in chart.select("details.dx-chart-data a[download]") if a["href"].endswith(".csv")]
    return [read_csv(page, href) for href in links]


def children(li, name="li"):
    ul = li.find("ul", recursive=False)
    return ul.find_all(name, recursive=False) if ul else []


def own_text(li) -> str:
    span = li.find("span", recursive=False)
    return (span or li).get_text()


# --- the compiled Vega spec, read independently of explore.py -------------------


def vega_marks(node):
    for mark in node.get("marks", []):
        yield mark
        yield from vega_marks(mark)


def vega_axes_legends(node):
    yield from node.get("axes", [])
    yield from node.get("legends", [])
    for mark in node.get("marks", []):
        yield from vega_axes_legends(mark)


def vega_scales(node, out=None):
    out = {} if out is None else out
    for s in node.get("scales", []):
        out[s["name"]] = s
    for mark in node.get("marks", []):
        vega_scales(mark, out)
    return out


def dataset_of(vega: dict, name: str) -> str:
    """The inline dataset a derived Vega dataset comes from."""
    by_name = {d["name"]: d for d in vega.get("data", [])}
    while name in by_name and "source" in by_name[name]:
        name = by_name[name]["source"]
    return name


def discrete_fields(vega: dict) -> dict[str, set[str]]:
    """scale name -> the data fields marks draw with it, for the chart's discrete scales."""
    scales = vega_scales(vega)
    out: dict[str, set[str]] = {}
    for mark in vega_marks(vega):
        facet = (mark.get("from") or {}).get("facet") or {}
        groupby = facet.get("groupby", [])
        out.setdefault("facet", set()).update([groupby] if isinstance(groupby, str) else groupby)
        for channel in (mark.get("encode", {}).get("update", {}) or {}).values():
            if isinstance(channel, dict) and channel.get("scale") in scales and channel.get("field"):
                if scales[channel["scale"]]["type"] in ("band", "point", "ordinal"):
                    field = channel["field"] if isinstance(channel["field"], str) else None
                    if field:
                        out.setdefault(channel["scale"], set()).add(field)
    return out


def tooltip_fields(vega: dict) -> dict[str, set[str]]:
    """inline dataset name -> fields its marks' tooltips show."""
    out: dict[str, set[str]] = {}
    for mark in vega_marks(vega):
        data = (mark.get("from") or {}).get("data")
        tip = (mark.get("encode", {}).get("update", {}) or {}).get("tooltip")
        if data and isinstance(tip, dict) and "signal" in tip:
            out.setdefault(dataset_of(vega, data), set()).update(re.findall(r'datum\["([^"]+)"\]', tip["signal"]))
    return out


def inline_names(vega: dict) -> list[str]:
    """The chart's datasets in CSV order (as charts.datasets lists them)."""
    return [d["name"] for d in vega.get("data", [])
            if isinstance(d.get("values"), list) and d["values"] and not d["name"].startswith("source_")]


# --- values as a reader sees them -----------------------------------------------


def _unquote(v: str) -> str:
    return v[1:] if v[:1] == "'" and v[1:2] in ("=", "+", "-", "@", "\t", "\r") else v


def _same(value: str):
    """A CSV cell as a group key: 2015 and 2015.0 are one year."""
    value = _unquote(value)
    try:
        return float(value)
    except ValueError:
        return value


def shown_as(value: str) -> list[str]:
    """The ways a CSV value may be written in a point's text."""
    value = _unquote(value)
    try:
        number = float(value)
    except ValueError:
        if re.match(r"\d{4}-\d\d-\d\dT", value):
            return [value[:10], value[:4]]
        return [value]
    if number.is_integer():
        n = int(number)
        return [str(n), f"{n:,}", f"${n:,}"]
    return [f"{number:.12g}", f"{number * 100:.0f}%", f"{number:,.2f}"]


# --- explore.py on a small chart (fast, no build) ------------------------------------

HOSTILE = '<img src=x onerror="alert(1)">'


def _small_tree():
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "_ext"))
    from dxbook import explore

    view = {"title": {"text": "T"}, "description": "Bars by decade. More words.",
            "vconcat": [{"data": {"name": "d1"}, "mark": {"type": "bar"}, "encoding": {
                "x": {"field": "decade", "type": "ordinal", "sort": ["1960s", "1950s"], "title": "Decade"},
                "y": {"field": "n", "type": "quantitative", "aggregate": "sum", "title": "Cases"},
                "color": {"field": "who", "type": "nominal", "title": "Who"},
                "tooltip": [{"field": "decade", "title": "Decade"}, {"field": "who", "title": "Who"},
                            {"field": "n", "title": "Cases", "format": ","}]}},
                        {"data": {"values": [{"text": "Source"}]}, "mark": "text"}]}
    rows = [{"decade": "1950s", "who": HOSTILE, "n": 1200}, {"decade": "1960s", "who": "B", "n": 3},
            {"decade": "1950s", "who": "B", "n": 2}]
    return explore.tree(view, [("d1", rows)], 'A "title" <b>'), explore


def test_tree_structure_order_and_values():
    html, _ = _small_tree()
    soup = BeautifulSoup(html, "html.parser")
    root = soup.select_one("ul.dx-explore-tree").find_all("li", recursive=False)
    assert len(root) == 1 and own_text(root[0]) == 'Chart: A "title" <b>. Bars by decade.'
    nodes = children(root[0])
    assert [own_text(n) for n in nodes] == ["X axis: Decade, 2 groups", "Y axis: Cases, data from 2 to 1200",
                                            "Colour legend: Who, 2 groups"]
    decades = children(nodes[0])
    assert [own_text(g) for g in decades] == ["1960s: 1 bar; Cases (total): 3", "1950s: 2 bars; Cases (total): 1202"]
    # Within a decade, marks follow the colour order (ascending here: "<img..." sorts before "B").
    assert [p.get_text() for p in children(decades[1])] == [f"Decade: 1950s; Who: {HOSTILE}; Cases: 1,200",
                                                            "Decade: 1950s; Who: B; Cases: 2"]
    assert len(soup.find_all("li")) == 1 + 3 + 2 + 3 + 2 + 3


def test_tree_escapes_every_value():
    html, _ = _small_tree()
    assert HOSTILE not in html and "<b>" not in html and "&lt;img src=x" in html


def test_number_formats():
    _, explore = _small_tree()
    assert [explore.fmt(v, f) for v, f in [(0.724, ".0%"), (2350.0, "$,d"), (6705, ","), (1951.57, "d"),
                                           (7.0, None), ("2010-07-13T00:00:00", "%Y"), (None, None)]] == \
        ["72%", "$2,350", "6,705", "1952", "7", "2010", "no value"]


# --- the built site ------------------------------------------------------------------


@build
def test_every_chart_has_a_tree_in_its_data_box(site):
    found = 0
    for page, chart in charts(site):
        assert not chart.select("ul.dx-explore-tree"), f"{page.name}: a tree in the chapter itself"
        tree = tree_of(page, chart)
        roots = tree.find_all("li", recursive=False)
        assert len(roots) == 1, f"{page.name}: {len(roots)} roots"
        assert own_text(roots[0]).startswith("Chart: "), own_text(roots[0])
        title = chart.select_one(".dx-chart-scroll")["aria-label"]
        assert title in own_text(roots[0])
        found += 1
    assert found >= 13, found


@build
def test_item_counts_match_the_charts_data(site):
    for page, chart in charts(site):
        files = csv_files(page, chart)
        tree = tree_of(page, chart)
        root = tree.find("li", recursive=False)
        expected = 1
        for node in children(root):
            expected += 1
            where = f"{page.name} “{own_text(root)[:50]}” / {own_text(node)[:40]}"
            numbers = [int(n) for n in node.get("data-dx-data", "").split()]
            rows = [row for n in numbers for row in files[n - 1]]
            field = node.get("data-dx-field")
            groups = children(node)
            if field:
                distinct = list(dict.fromkeys(_same(r[field]) for r in rows))
                assert len(groups) == len(distinct), f"{where}: {len(groups)} groups, data has {len(distinct)}"
                assert f", {len(distinct)} groups" in own_text(node), where
                points = [p for g in groups for p in children(g)]
                assert len(points) == len(rows), f"{where}: {len(points)} points, data has {len(rows)} rows"
                assert all(not children(p) for p in points), where
                expected += len(groups) + len(points)
            elif numbers:
                assert len(groups) == len(rows) and all(not children(p) for p in groups), where
                expected += len(rows)
            else:
                assert not groups, where
        total = len(tree.find_all("li"))
        assert total == expected, f"{page.name}: {total} items, expected {expected}"


def _spec(page: Path, chart) -> dict:
    return json.loads((page.parent / chart["data-dx-spec"]).read_text(encoding="utf-8"))


@build
def test_groups_are_what_the_chart_draws(site):
    """Grouping fields are drawn on a discrete scale of the chart's Vega spec; every titled
    discrete axis and legend there has an item in the tree."""
    for page, chart in charts(site):
        vega = _spec(page, chart)
        assert "view" not in vega.get("usermeta", {}).get("defection", {}), "explore.py left its input in the spec"
        fields = set().union(*discrete_fields(vega).values()) if discrete_fields(vega) else set()
        root = tree_of(page, chart).find("li", recursive=False)
        nodes = children(root)
        tips = set().union(*tooltip_fields(vega).values()) if tooltip_fields(vega) else set()
        for node in nodes:
            if node.get("data-dx-field"):
                # A map's places (its "detail" channel) have no scale: each is named in the marks' tooltips.
                places = own_text(node).startswith("Places") and node["data-dx-field"] in tips
                assert node["data-dx-field"] in fields or places, (page.name, node["data-dx-field"], fields)
        labels = " | ".join(own_text(n) for n in nodes)
        scales = vega_scales(vega)
        for guide in vega_axes_legends(vega):
            scale = guide.get("scale") or guide.get("fill") or guide.get("stroke") or guide.get("shape")
            title = guide.get("title")
            if isinstance(title, str) and title and scales.get(scale, {}).get("type") in ("band", "point", "ordinal"):
                assert title in labels, f"{page.name}: the chart's axis or legend “{title}” has no item ({labels})"


@build
def test_every_rows_values_are_in_its_group(site):
    checked = 0
    for page, chart in charts(site):
        files = csv_files(page, chart)
        vega = _spec(page, chart)
        names = inline_names(vega)
        tips = tooltip_fields(vega)
        root = tree_of(page, chart).find("li", recursive=False)
        for node in children(root):
            field = node.get("data-dx-field")
            if not field:
                continue
            groups = {}
            for g in children(node):
                groups.setdefault(own_text(g), [p.get_text() for p in children(g)])
            for n in [int(x) for x in node["data-dx-data"].split()]:
                shown = tips.get(names[n - 1], set())
                for row in files[n - 1]:
                    cols = [c for c in shown if c in row and row[c] != ""]
                    candidates = [t for label, texts in groups.items() for t in texts
                                  if label.split(": ")[0] in shown_as(row[field]) or
                                  any(label.startswith(s + ":") for s in shown_as(row[field]))]
                    assert candidates, f"{page.name}: no group for {row[field]!r}"
                    ok = [t for t in candidates if all(any(s in t for s in shown_as(row[c])) for c in cols)]
                    assert ok, f"{page.name}: no point shows {[row[c] for c in cols]} in group {row[field]!r}"
                    checked += 1
    assert checked > 300, checked


@build
def test_explore_script_only_on_chart_pages(site):
    for page in site.rglob("*.html"):
        text = page.read_text(encoding="utf-8")
        if ".explore-" in page.name and page.parent.name == "charts":
            assert "dx-explore.js" in text and 'class="dx-chart"' not in text, page  # a tree's own page
            continue
        assert ("dx-explore.js" in text) == ('class="dx-chart"' in text), page


@build
def test_a_trees_page_stands_alone(site):
    """A tree's own page: titled, the site's policy, not indexed, its stylesheet and script
    there, and no other chart's version of it left behind."""
    from dxbook.security import site_policy

    pages = sorted((site / "_static" / "charts").glob("*.explore-*.html"))
    linked = {(page.parent / chart.select_one(".dx-explore[data-dx-explore]")["data-dx-explore"]).resolve()
              for page, chart in charts(site)}
    assert pages and {p.resolve() for p in pages} == linked
    for path in pages:
        soup = BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser")
        assert soup.html["lang"] == "en" and soup.title.get_text().startswith("Explore the chart")
        assert soup.find("meta", attrs={"http-equiv": "Content-Security-Policy"})["content"] == site_policy()
        assert soup.find("meta", attrs={"name": "robots"})["content"] == "noindex"
        for ref in [*(l["href"] for l in soup.find_all("link")), *(s["src"] for s in soup.find_all("script"))]:
            assert (path.parent / ref).is_file(), (path.name, ref)


# --- in Chromium ---------------------------------------------------------------------

STEPS = ["Tab", "ArrowDown", "ArrowRight", "ArrowRight", "ArrowDown", "ArrowRight", "ArrowRight",
         "ArrowLeft", "ArrowLeft", "Enter", "Enter", "ArrowRight", "End", "Home"]


def focused(page, cdp) -> dict:
    """The focused element as Chrome's accessibility tree has it: role, name and tree state."""
    obj = cdp.send("Runtime.evaluate", {"expression": "document.activeElement"})["result"]
    nodes = cdp.send("Accessibility.getPartialAXTree", {"objectId": obj["objectId"], "fetchRelatives": False})["nodes"]
    node = next(n for n in nodes if not n.get("ignored"))
    props = {p["name"]: p["value"].get("value") for p in node.get("properties", [])}
    return {"role": node["role"]["value"], "name": node.get("name", {}).get("value", ""),
            "level": props.get("level"), "expanded": props.get("expanded"),
            "posinset": page.evaluate("document.activeElement.getAttribute('aria-posinset')"),
            "setsize": page.evaluate("document.activeElement.getAttribute('aria-setsize')"),
            "text": page.evaluate("(e => (e.querySelector(':scope > span') || e).textContent)(document.activeElement)")}


def _line(key, f) -> str:
    state = "" if f["expanded"] is None else (", expanded" if f["expanded"] else ", collapsed")
    return (f"[{key}] {f['role']}, level {f['level']}, {f['posinset']} of {f['setsize']}{state}: {f['name']}")


@build
@pytest.mark.browser
@pytest.mark.parametrize("name", chapter_docnames())
def test_keyboard_walk_reaches_a_data_point(browser, server, name):
    from axe_playwright_python.sync_playwright import Axe

    from conftest import WATCH_POLICY

    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.add_init_script(WATCH_POLICY)
    try:
        page.goto(f"{server}/{name}.html", wait_until="load")
        n = page.locator(".dx-chart").count()
        if not n:
            return
        # Not in the page until a box is opened: each tree is loaded from its own page then.
        assert page.locator("[role=tree]").count() == 0
        cdp = context.new_cdp_session(page)
        transcript = []
        for i in range(n):
            chart = page.locator(".dx-chart").nth(i)
            chart.locator("details.dx-chart-data > summary").click()
            chart.locator(".dx-explore[data-dx-state=loaded] [role=tree]").wait_for()
            assert chart.locator("[role=tree]").count() == 1
            assert chart.locator("[role=tree] > [role=treeitem][aria-level='1']").count() == 1
            assert chart.locator(".dx-explore-keys").is_visible()  # the keys' help, once the keys work
            chart.locator("details.dx-chart-data > summary").focus()
            # Tab past the download links to the tree's one focusable item.
            for _ in range(12):
                page.keyboard.press("Tab")
                f = focused(page, cdp)
                if f["role"] == "treeitem":
                    break
            assert f["role"] == "treeitem" and f["level"] == 1 and f["expanded"] is True, f
            assert f["name"] == f["text"] and f["name"].startswith("Chart: "), f
            assert page.locator(".dx-chart").nth(i).locator("[role=treeitem][tabindex='0']").count() == 1
            lines = [_line("Tab", f)]
            # Down to the first axis, then Right (open, enter) until a data point.
            page.keyboard.press("ArrowDown")
            f = focused(page, cdp)
            lines.append(_line("ArrowDown", f))
            assert f["level"] == 2 and f["posinset"] == "1", f
            while f["expanded"] is None:  # an axis with nothing under it (a quantitative one): the next
                page.keyboard.press("ArrowDown")
                f = focused(page, cdp)
                lines.append(_line("ArrowDown", f))
                assert f["level"] == 2, f
            for _ in range(8):
                if f["expanded"] is None:
                    break
                page.keyboard.press("ArrowRight")
                f = focused(page, cdp)
                lines.append(_line("ArrowRight", f))
            assert f["expanded"] is None and f["level"] in (3, 4), f
            assert f["role"] == "treeitem" and f["name"] == f["text"] and ": " in f["name"], f
            point = f
            page.keyboard.press("ArrowDown")
            lines.append(_line("ArrowDown", focused(page, cdp)))
            page.keyboard.press("ArrowUp")
            f = focused(page, cdp)
            lines.append(_line("ArrowUp", f))
            assert f["name"] == point["name"]
            page.keyboard.press("ArrowLeft")  # to the group
            f = focused(page, cdp)
            lines.append(_line("ArrowLeft", f))
            assert f["level"] == point["level"] - 1 and f["expanded"] is True, f
            page.keyboard.press("Enter")  # close it
            f = focused(page, cdp)
            lines.append(_line("Enter", f))
            assert f["expanded"] is False, f
            page.keyboard.press(" ")  # and open it again
            f = focused(page, cdp)
            lines.append(_line("Space", f))
            assert f["expanded"] is True, f
            page.keyboard.press("End")
            f = focused(page, cdp)
            lines.append(_line("End", f))
            page.keyboard.press("Home")
            f = focused(page, cdp)
            lines.append(_line("Home", f))
            assert f["level"] == 1, f
            # One focusable item per tree at any time (roving tabindex).
            assert chart.locator("[role=treeitem][tabindex='0']").count() == 1
            transcript.append(f"{name}, chart {i + 1}\n" + "\n".join(lines))
        assert not errors, errors
        assert page.evaluate("window.__dxViolations") == []
        results = Axe().run(page, context={"include": [[".dx-explore"]]})
        bad = [(v["id"], v["impact"], len(v["nodes"])) for v in results.response["violations"]
               if v["impact"] in ("serious", "critical")]
        assert not bad, bad
        if name == chapter_docnames()[0]:
            (SITE.parent / "explore-walk.txt").write_text(transcript[0] + "\n", encoding="utf-8")
    finally:
        context.close()


@build
@pytest.mark.browser
def test_without_javascript_the_description_is_a_nested_list(browser, server):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    try:
        page.goto(f"{server}/{chapter_docnames()[0]}.html")
        chart = page.locator(".dx-chart").first
        chart.locator("details.dx-chart-data > summary").click()
        # The box's link opens the tree's own page, where it is a nested list.
        chart.locator(".dx-explore a").click()
        page.wait_for_load_state()
        assert page.title().startswith("Explore the chart")
        assert page.locator("[role=tree], [role=treeitem]").count() == 0
        # No help for keys that do nothing here: the list is read, not walked.
        assert page.locator(".dx-explore-keys").count() == 1 and not page.locator(".dx-explore-keys").is_visible()
        deepest = page.locator("ul.dx-explore-tree > li > ul > li > ul > li > ul > li").first
        deepest.scroll_into_view_if_needed()
        assert deepest.is_visible() and ": " in deepest.inner_text()
    finally:
        context.close()
