"""Charts: the theme, the renderer's refusals, the accessible static SVG."""
from __future__ import annotations

import base64
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


def test_rendered_chart_is_the_books_chart_type_with_accessible_svgs_and_local_specs():
    chart = charts.finish(_bare(), title="Title", description="Two bars & a line", source="Somewhere")
    bundle, meta = chart._repr_mimebundle_()
    assert "text/html" not in bundle, "a chart reaches the book as data, not as HTML"
    data = bundle[charts.CHART_MIME]
    assert json.loads(json.dumps(data)) == data, "the chart type is plain JSON"
    assert data["title"] == "Title" and data["description"] == "Two bars & a line"
    assert "\"bar\"" in json.dumps(data["view"]) and not {"datasets", "config", "usermeta"} & set(data["view"])
    for svg in (data["wide"]["svg"], data["wide"]["svg_dark"]):
        assert re.match(r'<svg role="img" aria-label="Two bars &amp; a line"', svg)
        assert "<title>Two bars &amp; a line</title>" in svg
        assert "Source: Somewhere" in svg  # the source line is drawn in the SVG
    for spec in (data["wide"]["vega"], data["wide"]["vega_dark"]):
        assert "$schema" not in spec and spec.get("data")
    # Viewers that know none of the book's types show the picture (PNG shown at the SVG's size,
    # or the SVG), or the title as one line.
    png = base64.b64decode(bundle["image/png"])
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    width = int(re.match(r'<svg[^>]*\bwidth="([\d.]+)"', data["wide"]["svg"]).group(1).split(".")[0])
    assert meta["image/png"]["width"] in (width, width + 1)
    assert int.from_bytes(png[16:20], "big") == 2 * meta["image/png"]["width"]  # drawn at twice the size
    assert bundle["image/svg+xml"] == data["wide"]["svg"] and bundle["text/plain"] == "Title"
    assert any(k.startswith("application/vnd.vegalite") for k in bundle)


def _chart_functions():
    import inspect

    return sorted(
        name for name, func in vars(charts).items()
        if inspect.isfunction(func) and func.__module__ == charts.__name__
        and not name.startswith("_") and name not in ("finish", "render_chart", "svg_to_png", "notebook_png", "dark_variant")
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


def _luminance(hex_colour: str) -> float:
    """WCAG 2.x relative luminance of ``#rrggbb``."""
    def channel(c: int) -> float:
        c = c / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (int(hex_colour[i:i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)


def contrast(a: str, b: str) -> float:
    hi, lo = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def test_contrast_formula():
    assert round(contrast("#000000", "#ffffff"), 1) == 21.0
    assert contrast("#777777", "#777777") == 1.0


def _colours(node, key=None):
    """(property, colour) for every #rrggbb colour in a spec."""
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _colours(v, k)
    elif isinstance(node, list):
        for v in node:
            yield from _colours(v, key)
    elif isinstance(node, str) and re.fullmatch(r"#[0-9a-fA-F]{6}", node):
        yield key, node


@pytest.mark.parametrize("name", _chart_functions())
def test_dark_charts_keep_the_palette_and_their_contrast(name):
    """Dark mode: text reads at 4.5:1 on the dark background (WCAG 1.4.3), marks and
    axes at 3:1 (WCAG 1.4.11); only grid lines and a map's land, which carry no information
    (the map's markers carry the data, and are checked), are fainter."""
    import inspect

    func = getattr(charts, name)
    required = [p for p, v in inspect.signature(func).parameters.items() if v.default is inspect.Parameter.empty]
    spec = func(*[LOADERS[p]() for p in required]).to_dict()
    dark = charts.dark_variant(spec)
    assert dark["background"] == charts.DARK_BACKGROUND
    found = list(_colours(dark))
    assert found, "no colours found"
    for prop, colour in found:
        if colour.lower() in (charts.DARK_BACKGROUND, charts.DARK_COLOURS[charts.LAND]) or prop in ("gridColor", "background"):
            continue
        assert colour not in ("#000000", "#222222", "#555555"), f"{prop}: light-theme grey {colour} left in dark mode"
        need = 4.5 if "label" in (prop or "").lower() or "title" in (prop or "").lower() or prop == "subtitleColor" else 3.0
        ratio = contrast(colour, charts.DARK_BACKGROUND)
        assert ratio >= need, f"{name}: {prop} {colour} has contrast {ratio:.2f} < {need} on the dark background"
    # The Okabe-Ito hues are the same in both themes (only black becomes light grey).
    light_palette = {c.upper() for _, c in _colours(spec)} & {c.upper() for c in charts.PALETTE if c != "#000000"}
    assert light_palette <= {c.upper() for _, c in found}
