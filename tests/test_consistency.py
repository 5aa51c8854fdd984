"""The built pages agree with data/: a page can never publish a stale number.

Recomputes, from the files in data/ as they are now, every number a chapter
glues into its prose (defection.facts) and the data of every chart, and
compares them with what the built HTML shows. Together with test_cache.py this
is what makes a stale execution cache visible (issue 18, findings 1 and 2).
"""
from __future__ import annotations

import csv
import json
import re
from html import unescape

import pytest

from conftest import chapter_docnames

pytestmark = pytest.mark.build

GLUE_ROLE = re.compile(r"\{glue(?::text)?\}`([^`:]+)(?::([^`]*))?`")
PASTED = re.compile(r'<span class="pasted-text">(.*?)</span>', re.S)
FIGURE_CELL = re.compile(r'glue\("(fig-[^"]+)",\s*charts\.(\w+)\(([^)]*)\)')
LOADERS = {"cases": "cases", "events": "events", "rules": "us_rules", "years": "renunciations_by_year",
           "renunciations": "renunciations"}


def source(name):
    from conftest import ROOT
    return (ROOT / f"{name}.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("name", chapter_docnames())
def test_every_glued_number_matches_the_data(site, name):
    from myst_nb.core.variables import format_plain_text

    from defection import facts

    expected = facts.for_chapter(name)
    roles = GLUE_ROLE.findall(source(name))
    shown = [unescape(v) for v in PASTED.findall((site / f"{name}.html").read_text(encoding="utf-8"))]
    assert roles, f"{name} quotes no numbers from the data"
    assert len(shown) == len(roles), f"{len(roles)} glue roles in the source, {len(shown)} values in the page"
    wrong = []
    for (key, fmt), value in zip(roles, shown):
        assert key in expected, f"{key} is not computed by defection.facts"
        want = format_plain_text(repr(expected[key]), fmt or "")
        if value != want:
            wrong.append((key, value, want))
    assert not wrong, f"page shows (key, shown, data says): {wrong}"


def vega_datasets(spec: dict) -> dict:
    """Inline datasets of a compiled Vega spec, by name, without generated names."""
    values = [d["values"] for d in spec.get("data", []) if "values" in d]
    return json.dumps(sorted(json.dumps(v, sort_keys=True) for v in values))


@pytest.mark.parametrize("name", chapter_docnames())
def test_every_chart_shows_the_data(site, name):
    import vl_convert as vlc

    from defection import charts, data

    html = (site / f"{name}.html").read_text(encoding="utf-8")
    figures = FIGURE_CELL.findall(source(name))
    assert figures, f"{name} has no chart"
    for figure_id, function, args in figures:
        frames = [getattr(data, LOADERS[a.strip()])() for a in args.split(",") if a.strip()]
        spec = getattr(charts, function)(*frames).to_dict()
        fresh = vlc.vegalite_to_vega(spec)
        block = re.search(rf'<figure[^>]*id="{re.escape(figure_id)}".*?'
                          r'<div class="dx-chart" data-dx-spec="([^"]+)" data-dx-spec-dark="([^"]+)"[^>]*>(.*?)</figure>',
                          html, re.S)
        assert block, f"{figure_id}: no chart in the page"
        # The live chart (light and dark) and the "Data and downloads" CSV files all show the data.
        for spec_url in block.group(1, 2):
            page = json.loads((site / name).parent.joinpath(spec_url).read_text(encoding="utf-8"))
            assert vega_datasets(page) == vega_datasets(fresh), f"{figure_id}: the chart's data differs from data/"
            assert page.get("description") == fresh.get("description"), f"{figure_id}: its text alternative is stale"
        csv_urls = re.findall(r'<a href="([^"]+\.csv)" download>', block.group(3))
        # Rows are data (a list); a map's boundaries (a TopoJSON object) are drawn, not data to download.
        shown = [d["values"] for d in fresh["data"]
                 if isinstance(d.get("values"), list) and d["values"] and not d["name"].startswith("source_")]
        assert len(csv_urls) == len(shown), f"{figure_id}: one CSV per dataset"
        for url, rows in zip(csv_urls, shown):
            with (site / name).parent.joinpath(url).open(encoding="utf-8", newline="") as f:
                got = list(csv.DictReader(f))
            want = [{k: "" if v is None else str(v) for k, v in row.items()} for row in rows]
            assert [{k: r.get(k, "") for k in w} for r, w in zip(got, want)] == want and len(got) == len(want), \
                f"{figure_id}: {url} differs from data/"
