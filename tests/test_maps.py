"""The maps of issue 30: shipped boundaries, no external data, counts that match data/cases.csv.

Fast tests (no build): the maps render with every external URL refused
(vl-convert's ``allowed_base_urls=[]``), every country code in the data maps to
at least one country of the atlas, and the maps' own data match the cases.
Site tests (marked ``build`` and ``browser``): the built chapter 1 and 3 pages
contain the maps and make no request off 127.0.0.1.
"""
from __future__ import annotations

import json
import re
from urllib.parse import urlparse

import pytest
import vl_convert as vlc

from defection import charts, data, maps

from conftest import ROOT

MAPS = {"ch1_world_map": "fig-ch1-world-map", "ch3_retaliation_map": "fig-ch3-map"}
VIOLENT_ABROAD = ("assassinated", "attempted_assassination", "kidnapped")


@pytest.fixture(scope="module")
def cases():
    return data.cases()


def _layouts(chart):
    spec = chart.to_dict()
    wide, narrow = charts._split_layouts(spec)
    return [wide, narrow, charts.dark_variant(wide), charts.dark_variant(narrow)]


def test_atlas_ships_with_the_package_and_its_licence():
    folder = ROOT / "defection" / "geo"
    assert maps.ATLAS.is_file() and (folder / "LICENSE").is_file()
    readme = (folder / "README.txt").read_text()
    assert "world-atlas 2.0.2" in readme and "de facto" in readme
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert '"geo/*"' in pyproject, "the wheel must carry defection/geo"
    assert len(maps.feature_ids()) > 170


@pytest.mark.parametrize("name", sorted(MAPS))
def test_map_renders_with_external_urls_refused(cases, name):
    for spec in _layouts(getattr(charts, name)(cases)):
        svg = vlc.vegalite_to_svg(spec, allowed_base_urls=[])
        assert svg.count("<path") > 150, "the country shapes are drawn"
        named = json.dumps({k: v for k, v in spec.items() if k != "$schema"})
        assert not re.search(r"https?://", named), \
            "a map spec must not name any URL"


def test_a_spec_with_an_external_url_is_refused():
    spec = {"data": {"url": "https://example.org/countries.json"}, "mark": "point"}
    with pytest.raises(Exception):
        vlc.vegalite_to_svg(spec, allowed_base_urls=[])


def test_the_renderer_refuses_external_urls():
    chart = charts.finish(
        charts.alt.Chart(charts.alt.Data(url="https://example.org/x.csv")).mark_point().encode(x="a:Q"),
        title="t", description="d", source="s")
    with pytest.raises(Exception):
        charts.render_chart(chart.to_dict())


def test_every_country_code_maps_to_the_atlas(cases):
    atlas = maps.feature_ids()
    areas = data.country_areas()
    assert set(areas["iso_numeric"]) <= atlas, set(areas["iso_numeric"]) - atlas
    used = set()
    for column in ("origin_country", "destination_country", "retaliation_country"):
        used |= set(cases[column].dropna().astype(str))
    covered = maps.ids_for(used)
    assert used == set(covered), used - set(covered)
    assert len(covered["SUN"]) == 15 and len(covered["CSK"]) == 2 and len(covered["YUG"]) == 6
    assert covered["DDR"] == ["276"]
    assert areas["source_url"].str.match(r"https?://").all()


@pytest.mark.parametrize("name", MAPS)
def test_each_map_carries_its_boundaries_once(cases, name):
    """The topology is one named dataset at the top of each layout's spec, which every land layer
    names; no layer carries a copy inline (Altair copied an inline one at every step of building)."""
    spec = getattr(charts, name)(cases).to_dict()
    for layout in charts._split_layouts(spec):
        assert layout["datasets"][charts.ATLAS_DATA] == maps.atlas()
        assert json.dumps(layout).count('"Topology"') == 1, "the topology appears more than once"
        land = [node["data"] for node in _nodes(layout)
                if isinstance(node.get("data"), dict) and node["data"].get("format", {}).get("type") == "topojson"]
        assert land and all(d == {"name": charts.ATLAS_DATA, "format": {"type": "topojson", "feature": "countries"}}
                            for d in land), land


def _nodes(spec):
    """Every dict in a spec, depth first."""
    if isinstance(spec, dict):
        yield spec
        for value in spec.values():
            yield from _nodes(value)
    elif isinstance(spec, list):
        for value in spec:
            yield from _nodes(value)


def test_world_map_counts_match_the_cases(cases):
    frame = maps.ch1_places(cases)
    left = frame[frame["side"] == "Left from"].set_index("code")["cases"]
    went = frame[frame["side"] == "Went to"].set_index("code")["cases"]
    assert left.to_dict() == cases["origin_country"].astype(str).value_counts().to_dict()
    assert went.to_dict() == cases["destination_country"].dropna().astype(str).value_counts().to_dict()
    # the spec draws exactly these rows
    spec = charts.ch1_world_map(cases).to_dict()
    rows = [v for v in spec["datasets"].values() if isinstance(v, list)]
    assert any(sorted(r["cases"] for r in rows_) == sorted(frame["cases"]) for rows_ in rows)


def test_retaliation_map_counts_match_the_cases(cases):
    frame = maps.ch3_places(cases)
    acts = cases[cases["retaliation"].astype(str).isin(VIOLENT_ABROAD) & cases["retaliation_country"].notna()]
    assert int(frame["acts"].sum()) == len(acts)
    assert frame.groupby("code")["acts"].sum().to_dict() == \
        acts["retaliation_country"].astype(str).value_counts().to_dict()
    documented = acts[acts["confidence"].astype(str) == "documented"]
    assert int(frame.loc[frame["status"] == "Documented", "acts"].sum()) == len(documented)
    # every violent act abroad has a place, except where the note says it is unknown
    unplaced = cases[cases["retaliation"].astype(str).isin(VIOLENT_ABROAD) & cases["retaliation_country"].isna()]
    assert unplaced["note"].str.contains("retaliation_country is empty").all()


def test_retaliation_map_tells_documented_apart_by_shape(cases):
    spec = charts.ch3_retaliation_map(cases).to_dict()
    text = json.dumps(spec)
    assert '"circle"' in text and '"diamond"' in text and '"transparent"' in text


# --- the built site -------------------------------------------------------------


@pytest.mark.build
@pytest.mark.parametrize("page,figure", [("01-how-defection-works", "fig-ch1-world-map"),
                                         ("03-state-retaliation", "fig-ch3-map")])
def test_built_pages_have_the_maps(site, page, figure):
    html = (site / "chapters" / f"{page}.html").read_text(encoding="utf-8")
    m = re.search(rf'id="{figure}".*?</figure>', html, re.S)
    assert m, f"{figure} missing from {page}"
    assert "Natural Earth" in m.group(0)
    assert "dx-explore" in html


@pytest.mark.build
@pytest.mark.browser
@pytest.mark.parametrize("page", ["01-how-defection-works", "03-state-retaliation"])
def test_map_pages_make_no_request_off_localhost(browser, server, page):
    from conftest import watched_page

    context, p, errors, refused = watched_page(
        browser, f"{server}/chapters/{page}.html", lambda url: urlparse(url).hostname in ("127.0.0.1", None))
    try:
        for figure in MAPS.values():
            if p.locator(f"#{figure}").count():
                p.locator(f"#{figure}").scroll_into_view_if_needed()
        p.wait_for_timeout(1500)
        assert not refused, refused
    finally:
        context.close()
