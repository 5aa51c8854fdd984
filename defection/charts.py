"""Charts for the book: one theme, one renderer, one function per chart.

Importing this module

* registers and enables the ``defection`` Altair theme (Okabe-Ito colour-blind
  safe palette, readable type, no chart borders), and
* registers and enables the ``defection`` renderer. When a chart is displayed,
  the renderer returns

  - ``text/html``: a ``<figure>``-ready block holding a static SVG drawn at
    build time with vl-convert (it shows before and without JavaScript, and in
    print) and the chart compiled to a Vega spec, which the site's own
    ``dx-charts.js`` makes interactive with a Vega runtime served by the site
    itself: no request leaves the site;
  - ``application/vnd.vegalite.v6+json``: the Vega-Lite spec, so JupyterLab
    draws the chart interactively when a reader runs the chapter.

Every chart must go through :func:`finish`, which sets the title, the axis
titles, the source line and the text alternative (Vega-Lite ``description``,
used as the SVG's ``aria-label``). The renderer refuses a chart without them.
"""
from __future__ import annotations

import html
import json
import re

import altair as alt
import pandas as pd

from .data import label

__all__ = [
    "PALETTE",
    "BLOC_COLOURS",
    "finish",
    "render_html",
    "cases_over_time",
]

#: Okabe & Ito (2008) colour-blind safe palette, darkest first.
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#000000", "#F0E442"]
#: One colour per Cold War bloc, used wherever blocs are compared.
BLOC_COLOURS = {"communist": "#D55E00", "western": "#0072B2", "other": "#999999"}

FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif"
INK = "#222222"
MUTED = "#555555"
WIDTH = 560


@alt.theme.register("defection", enable=True)
def _theme() -> alt.theme.ThemeConfig:
    return {
        "config": {
            "font": FONT,
            "background": "white",
            "view": {"stroke": None, "continuousWidth": WIDTH, "continuousHeight": 300},
            "range": {"category": PALETTE},
            "title": {"fontSize": 17, "fontWeight": 600, "color": INK, "anchor": "start",
                      "subtitleFontSize": 13, "subtitleColor": MUTED, "offset": 12},
            "axis": {"labelFontSize": 12, "titleFontSize": 13, "labelColor": INK, "titleColor": INK,
                     "titleFontWeight": 600, "gridColor": "#e6e6e6", "domainColor": "#888888",
                     "tickColor": "#888888"},
            "legend": {"labelFontSize": 12, "titleFontSize": 13, "labelColor": INK, "titleColor": INK,
                       "orient": "top", "direction": "horizontal", "columns": 4, "labelLimit": 300},
            "header": {"labelFontSize": 12, "titleFontSize": 13},
            "text": {"fontSize": 12, "color": INK},
        }
    }


# --- every chart ends here ----------------------------------------------------


def finish(chart: alt.TopLevelMixin, *, title: str, description: str, source: str,
           subtitle: str | None = None) -> alt.VConcatChart:
    """Give ``chart`` its title, text alternative and source line.

    ``description`` is the text alternative: one or two sentences saying what
    the chart shows and its main finding, for readers who cannot see it.
    ``source`` names where the data comes from; it is drawn under the chart.
    """
    if not title or not description or not source:
        raise ValueError("a chart needs a title, a description (text alternative) and a source")
    note = (
        alt.Chart(alt.Data(values=[{"text": f"Source: {source}"}]))
        .mark_text(align="left", baseline="top", fontSize=11, color=MUTED, limit=WIDTH + 100)
        .encode(text="text:N", x=alt.value(0), y=alt.value(0))
        .properties(width=WIDTH, height=14)
    )
    top = alt.vconcat(chart, note, spacing=12).properties(
        title=alt.TitleParams(text=title, subtitle=subtitle or []),
        description=description,
        usermeta={"defection": {"source": source}},
    )
    return top


# --- the renderer -------------------------------------------------------------


def _check(spec: dict) -> None:
    if not spec.get("description"):
        raise ValueError("chart has no description (text alternative); build it with charts.finish()")
    title = spec.get("title")
    if not title or (isinstance(title, dict) and not title.get("text")):
        raise ValueError("chart has no title; build it with charts.finish()")
    if not spec.get("usermeta", {}).get("defection", {}).get("source"):
        raise ValueError("chart has no source line; build it with charts.finish()")


def _accessible_svg(svg: str, description: str) -> str:
    """Make vl-convert's SVG an image with a text alternative that scales."""
    desc = html.escape(description, quote=True)
    svg = re.sub(r"^<svg ", f'<svg role="img" aria-label="{desc}" focusable="false" ', svg, count=1)
    svg = re.sub(r"(<svg[^>]*>)", r"\1<title>" + desc + "</title>", svg, count=1)
    return svg


def render_html(spec: dict) -> str:
    """The HTML the book shows for a Vega-Lite ``spec``: static SVG + compiled Vega spec."""
    import vl_convert as vlc

    _check(spec)
    svg = _accessible_svg(vlc.vegalite_to_svg(spec), spec["description"])
    vega = vlc.vegalite_to_vega(spec)
    vega.pop("$schema", None)
    payload = json.dumps(vega, separators=(",", ":"), ensure_ascii=False).replace("</", "<\\/")
    return (
        '<div class="dx-chart">'
        f'<div class="dx-chart-static">{svg}</div>'
        f'<script type="application/json" class="dx-chart-spec">{payload}</script>'
        "</div>"
    )


def _renderer(spec: dict, **metadata) -> dict:
    return {"text/html": render_html(spec), f"application/vnd.vegalite.v{alt.SCHEMA_VERSION.split('.')[0][1:]}+json": spec}


alt.renderers.register("defection", _renderer)
alt.renderers.enable("defection")


# --- chart functions used by the chapters -------------------------------------


def _bloc_scale() -> alt.Scale:
    return alt.Scale(domain=list(BLOC_COLOURS), range=list(BLOC_COLOURS.values()))


def cases_over_time(cases: pd.DataFrame) -> alt.VConcatChart:
    """Cases per decade, stacked by the origin state's Cold War bloc."""
    counts = (
        cases.groupby(["decade", "origin_bloc"], observed=True).size().rename("cases").reset_index()
        .astype({"decade": "int64", "origin_bloc": "object", "cases": "int64"})
    )
    counts["decade_label"] = counts["decade"].astype(str) + "s"
    total = int(counts["cases"].sum())
    peak = counts.groupby("decade_label")["cases"].sum().idxmax()
    chart = alt.Chart(counts).mark_bar().encode(
        x=alt.X("decade_label:O", title="Decade of defection", axis=alt.Axis(labelAngle=0)),
        y=alt.Y("cases:Q", title="Cases in the dataset"),
        color=alt.Color("origin_bloc:N", title="State left", scale=_bloc_scale(),
                        legend=alt.Legend(labelExpr="datum.label == 'communist' ? 'Communist state' : datum.label == 'western' ? 'Western state' : 'Other'")),
        order=alt.Order("origin_bloc:N"),
        tooltip=[alt.Tooltip("decade_label:O", title="Decade"), alt.Tooltip("origin_bloc:N", title="State left"),
                 alt.Tooltip("cases:Q", title="Cases")],
    ).properties(width=WIDTH, height=280)
    return finish(
        chart,
        title="Defection cases in this book's dataset, by decade",
        subtitle="Coloured by the kind of state the person left",
        description=(f"Bar chart of the {total} cases in the dataset by decade of defection, stacked by whether "
                     f"the person left a communist, Western or other state. The {peak} have the most cases."),
        source="Defection Explained dataset, data/cases.csv (each row cites its source)",
    )


# --- chapter 1: how defection works -------------------------------------------


# --- chapter 2: what completes a defection ------------------------------------


# --- chapter 3: state retaliation ---------------------------------------------


# --- chapter 4: leaving the United States -------------------------------------
