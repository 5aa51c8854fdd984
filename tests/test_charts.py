"""Charts: the theme, the renderer's refusals, the accessible static SVG."""
from __future__ import annotations

import json
import re

import altair as alt
import pytest

from defection import charts, data


def _bare():
    return alt.Chart(alt.Data(values=[{"a": 1, "b": 2}])).mark_bar().encode(x="a:Q", y="b:Q")


def test_theme_is_enabled_once_with_colour_blind_palette():
    assert alt.theme.active == "defection"
    assert charts.PALETTE[0] == "#0072B2"


def test_renderer_refuses_a_chart_without_text_alternative():
    with pytest.raises(ValueError, match="description"):
        _bare().properties(title="T")._repr_mimebundle_()


def test_finish_requires_title_description_and_source():
    with pytest.raises(ValueError):
        charts.finish(_bare(), title="T", description="", source="S")


def test_rendered_chart_has_accessible_svg_and_local_spec():
    chart = charts.finish(_bare(), title="Title", description="Two bars & a line", source="Somewhere")
    bundle = chart._repr_mimebundle_()
    bundle = bundle[0] if isinstance(bundle, tuple) else bundle
    html = bundle["text/html"]
    assert 'class="dx-chart"' in html
    assert re.search(r'<svg role="img" aria-label="Two bars &amp; a line"', html)
    assert "<title>Two bars &amp; a line</title>" in html
    spec = json.loads(re.search(r'class="dx-chart-spec">(.*?)</script>', html, re.S).group(1))
    assert "$schema" not in spec
    assert "Source: Somewhere" in html  # the source line is drawn in the SVG
    assert any(k.startswith("application/vnd.vegalite") for k in bundle)


def _chart_functions():
    import inspect

    return sorted(
        name for name, func in vars(charts).items()
        if inspect.isfunction(func) and func.__module__ == charts.__name__
        and not name.startswith("_") and name not in ("finish", "render_html")
    )


LOADERS = {"cases": data.cases, "years": data.renunciations_by_year, "renunciations": data.renunciations,
           "rules": data.us_rules, "us_rules": data.us_rules, "events": data.events,
           "arrivals": data.nk_arrivals, "nk_arrivals": data.nk_arrivals}


def test_every_chart_function_is_used_by_a_chapter():
    from conftest import ROOT

    text = "".join(p.read_text(encoding="utf-8") for p in (ROOT / "chapters").glob("0*.md"))
    functions = _chart_functions()
    assert len(functions) >= 12
    unused = [f for f in functions if f"charts.{f}(" not in text]
    assert not unused, f"chart functions no chapter calls: {unused}"


@pytest.mark.parametrize("name", _chart_functions())
def test_every_chart_function_titles_sources_and_describes(name):
    """Each public chart function, called on the real data, yields a finished chart."""
    import inspect

    func = getattr(charts, name)
    required = [p for p, v in inspect.signature(func).parameters.items() if v.default is inspect.Parameter.empty]
    unknown = [p for p in required if p not in LOADERS]
    assert not unknown, (f"{name}{inspect.signature(func)}: name its parameters after the tables they take "
                         f"({', '.join(LOADERS)})")
    spec = func(*[LOADERS[p]() for p in required]).to_dict()
    assert spec["description"] and spec["title"]
    assert spec["usermeta"]["defection"]["source"]


def test_vendored_vega_matches_the_compiler():
    """The browser runtime runs specs compiled by vl-convert: same Vega version."""
    import vl_convert as vlc

    from conftest import ROOT

    runtime = (ROOT / "_ext" / "dxbook" / "static" / "dx" / "vega.min.js").read_text(encoding="utf-8")
    assert f'"{vlc.get_vega_version()}"' in runtime
    assert (ROOT / "_ext" / "dxbook" / "static" / "dx" / "LICENSE-vega.txt").read_text().startswith("Copyright (c)")
