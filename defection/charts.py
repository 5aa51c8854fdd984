"""Charts for the book: one theme, one renderer, one function per chart.

Importing this module

* registers and enables the ``defection`` Altair theme (Okabe-Ito colour-blind
  safe palette, readable type, no chart borders), and
* registers and enables the ``defection`` renderer. When a chart is displayed,
  the renderer returns

  - ``application/vnd.defection.chart+json`` (:data:`CHART_MIME`): the chart as
    data (:func:`render_chart`): static SVGs drawn at build time with vl-convert,
    light and dark, and the chart compiled to Vega specs, for each layout. The
    book's Sphinx extension renders it (a myst-nb MIME render plugin,
    ``_ext/dxbook/charts.py``) into pictures, files and the data box; the site's
    own ``dx-charts.js`` makes the chart interactive with a Vega runtime served
    by the site itself: no request leaves the site;
  - ``image/png`` (:func:`notebook_png`) and ``image/svg+xml``: the chart as a
    picture, which every notebook viewer shows when a reader runs the chapter
    (JupyterLab, also for an untrusted notebook, VS Code, Colab, GitHub);
  - ``application/vnd.vegalite.v6+json``: the Vega-Lite spec, for a viewer that
    draws Vega-Lite 6 interactively;
  - ``text/plain``: the chart's title on one line (not a wall of code).

Every chart has two layouts: the wide one, and a narrow one made for a phone's
text column (about 340 px: wrapped titles, the legend below, fewer ticks,
horizontal bars where labels are long). Each chart function takes
``narrow=False``; decorated with :func:`_responsive`, the wide chart carries the
narrow one's spec in ``usermeta.defection.narrow``, and the renderer draws both
(the page's ``<picture>`` and ``dx-charts.js`` choose by the reader's width).

Every chart must go through :func:`finish`, which sets the title, the axis
titles, the source line and the text alternative (Vega-Lite ``description``,
used as the SVG's ``aria-label``). The renderer refuses a chart without them.
"""
from __future__ import annotations

import functools
import html
import re
import textwrap

from pathlib import Path

import altair as alt
import pandas as pd

from . import CHART_MIME, facts, maps
from .data import label

__all__ = [
    "PALETTE",
    "finish",
    "CHART_MIME",
    "render_chart",
    "svg_to_png",
    "notebook_png",
]


#: Okabe & Ito (2008) colour-blind safe palette, darkest first.
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#000000", "#F0E442"]

#: Chart type. Liberation Sans has the same metrics as Arial, so a static SVG laid
#: out at build time (with the copy in defection/fonts) fits the text readers see.
FONT = "Liberation Sans, Arial, Helvetica, sans-serif"
FONTS_DIR = Path(__file__).resolve().parent / "fonts"
INK = "#222222"
MUTED = "#555555"
WIDTH = 560
#: The whole narrow chart, padding included, for a phone's text column (342 px at 390 px).
NARROW_WIDTH = 336
#: Characters per line of a narrow chart's title, subtitle and source line.
NARROW_WRAP = {"title": 31, "subtitle": 47, "source": 56}
#: Characters in a wide chart's source line before it wraps (11 px text, within WIDTH + 100 px).
WIDE_SOURCE_WRAP = 105


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
           subtitle: str | None = None, narrow: bool = False) -> alt.VConcatChart:
    """Give ``chart`` its title, text alternative and source line.

    ``description`` is the text alternative: one or two sentences saying what
    the chart shows and its main finding, for readers who cannot see it.
    ``source`` names where the data comes from; it is drawn under the chart.
    ``narrow``: the chart is the phone layout; title, subtitle and source line
    are wrapped to its width and legends go below the chart.
    """
    if not title or not description or not source:
        raise ValueError("a chart needs a title, a description (text alternative) and a source")
    text = f"Source: {source}"
    if narrow:
        # The source line is the chart's bottom title, flush with its left edge (axis labels included).
        chart = chart.properties(title=alt.TitleParams(
            text=textwrap.wrap(text, NARROW_WRAP["source"]), orient="bottom", anchor="start", frame="bounds",
            fontSize=11, fontWeight="normal", color=MUTED, lineHeight=14, offset=14))
        heading = alt.TitleParams(text=textwrap.wrap(title, NARROW_WRAP["title"]),
                                  subtitle=textwrap.wrap(subtitle, NARROW_WRAP["subtitle"]) if subtitle else [],
                                  fontSize=16, subtitlePadding=4)
    else:
        # A source line longer than the chart is wide wraps (a map's boundaries credit), never cut off.
        lines = textwrap.wrap(text, WIDE_SOURCE_WRAP)
        note = (
            alt.Chart(alt.Data(values=[{"text": text}]))
            .mark_text(align="left", baseline="top", fontSize=11, color=MUTED, limit=WIDTH + 100, lineHeight=14)
            .encode(text=alt.value(lines) if len(lines) > 1 else "text:N", x=alt.value(0), y=alt.value(0))
            .properties(width=100, height=14 * len(lines))  # the chart sets the width; the line's own length counts too
        )
        heading = alt.TitleParams(text=title, subtitle=subtitle or [])
    top = alt.vconcat(*([chart] if narrow else [chart, note]), spacing=12).properties(
        title=heading,
        description=description,
        usermeta={"defection": {"source": source}},
    )
    if narrow:  # legends go with the chart, above its source line
        top = top.resolve_legend(color="independent", shape="independent", size="independent")
        top = top.configure_legend(orient="bottom", direction="horizontal", columns=2, labelLimit=130,
                                   titleLimit=NARROW_WIDTH - 20, columnPadding=10)
    return top


def _responsive(func):
    """Make chart function ``func`` (which takes ``narrow=False``) return its wide chart
    carrying the narrow layout's spec in ``usermeta.defection.narrow``."""
    @functools.wraps(func)
    def both(*args, narrow: bool = False, **kwargs):
        chart = func(*args, narrow=narrow, **kwargs)
        if not narrow:
            small = func(*args, narrow=True, **kwargs).to_dict()
            small["usermeta"]["defection"]["layout"] = "narrow"
            chart.usermeta["defection"]["narrow"] = small
        return chart
    return both


def _legend(narrow: bool, columns: int = 4, narrow_columns: int = 2, **kwargs) -> alt.Legend:
    """A legend above the wide chart in ``columns`` columns; below the narrow one (theme of finish()),
    in ``narrow_columns`` columns (1 where long axis labels leave little room: the legend starts
    at the plot's left edge)."""
    if narrow:
        kwargs.pop("columnPadding", None)
        kwargs.pop("titleLimit", None)
        if narrow_columns == 1:
            kwargs.update(direction="vertical", labelLimit=NARROW_WIDTH - 60)
        return alt.Legend(columns=narrow_columns, **kwargs)
    return alt.Legend(columns=columns, **kwargs)


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
    return _PATH_DATA.sub(lambda m: 'd="' + _FINE_NUMBER.sub(lambda n: f"{float(n.group()):.1f}", m.group(1)) + '"', svg)


#: Path data is written to a tenth of a pixel: finer detail cannot be seen, and a world map's
#: coastlines at six decimals made its SVG a third larger (464 kB against 368 kB).
_PATH_DATA = re.compile(r'\bd="([^"]*)"')
_FINE_NUMBER = re.compile(r"\d+\.\d{2,}")


_FONTS_REGISTERED = False


def _vl_convert():
    global _FONTS_REGISTERED
    import vl_convert as vlc

    if not _FONTS_REGISTERED:
        vlc.register_font_directory(str(FONTS_DIR))
        _FONTS_REGISTERED = True
    return vlc


#: Dark mode: the page's dark background (pydata-sphinx-theme) and the light
#: theme's greys mapped to greys that read on it. The Okabe-Ito colours stay,
#: except black, which becomes light grey; tests check every contrast.
DARK_BACKGROUND = "#14181e"
#: Maps: the countries' fill and borders (light; dark_variant swaps them).
LAND = "#e4e4e4"
BORDER = "#fcfcfc"
DARK_COLOURS = {INK: "#e6e9ec", MUTED: "#b8c0c8", "#333333": "#c8ced4", "#e6e6e6": "#3a4048", "#888888": "#8a939c",
                "#000000": "#e6e9ec", "white": DARK_BACKGROUND,
                LAND: "#2c323a", BORDER: DARK_BACKGROUND}
_DARK_KEEP_WHITE = {"fill", "color", "stroke"}  # white marks (labels inside circles) stay white


def dark_variant(spec: dict) -> dict:
    """The same chart for a dark page: background and greys swapped, palette kept."""
    def walk(node, key=None):
        if isinstance(node, dict):
            return {k: walk(v, k) for k, v in node.items()}
        if isinstance(node, list):
            return [walk(v, key) for v in node]
        if isinstance(node, str) and node in DARK_COLOURS:
            if node == "white" and key in _DARK_KEEP_WHITE:
                return node
            return DARK_COLOURS[node]
        return node

    dark = walk(spec)
    dark["background"] = DARK_BACKGROUND
    dark.setdefault("config", {})["background"] = DARK_BACKGROUND
    return dark


def _split_layouts(spec: dict) -> tuple[dict, dict | None]:
    """(the wide spec without its narrow twin, the narrow spec or None)."""
    meta = spec.get("usermeta", {}).get("defection", {})
    if "narrow" not in meta:
        return spec, None
    wide = dict(spec, usermeta=dict(spec["usermeta"], defection={k: v for k, v in meta.items() if k != "narrow"}))
    return wide, meta["narrow"]


def _drawn(spec: dict) -> dict:
    """One layout: its light and dark SVG and Vega spec."""
    vlc = _vl_convert()
    dark = dark_variant(spec)
    # Every chart's data is inline: refuse any external URL (a map's boundaries included).
    svg = _accessible_svg(vlc.vegalite_to_svg(spec, allowed_base_urls=[]), spec["description"])
    svg_dark = _accessible_svg(vlc.vegalite_to_svg(dark, allowed_base_urls=[]), spec["description"])
    vega, vega_dark = vlc.vegalite_to_vega(spec), vlc.vegalite_to_vega(dark)
    for compiled in (vega, vega_dark):
        compiled.pop("$schema", None)
    return {"svg": svg, "svg_dark": svg_dark, "vega": vega, "vega_dark": vega_dark}


def render_chart(spec: dict) -> dict:
    """The chart the book shows for a Vega-Lite ``spec``, as data (:data:`CHART_MIME`).

    ``title`` (one line), ``description`` (the text alternative), ``view`` (the
    chart's encodings, for its explorable description), and for the ``wide``
    layout and, if the chart has one, the ``narrow`` (phone) layout: a static SVG
    drawn at build time (readable without JavaScript, in print and in notebooks),
    its dark-mode twin, and both compiled to Vega specs. The book's extension
    turns it into pictures and files (``_ext/dxbook/charts.py``).
    """
    _check(spec)
    wide, narrow = _split_layouts(spec)
    drawn = _drawn(wide)
    chart = {
        "title": _chart_title(wide),
        "description": wide["description"],
        "view": {k: v for k, v in wide.items() if k not in ("datasets", "config", "$schema", "usermeta")},
        "wide": drawn,
        # Each inline dataset's columns in the chart's order, for its table and CSV: a stored
        # notebook (nbformat, jupyter-cache) sorts the keys of every JSON object, rows included.
        "columns": {d["name"]: list(dict.fromkeys(k for row in d["values"] for k in row))
                    for d in drawn["vega"].get("data", []) if isinstance(d.get("values"), list) and d["values"]},
    }
    if narrow is not None:
        _check(narrow)
        chart["narrow"] = _drawn(narrow)
    return chart


def svg_to_png(svg: str, scale: float = 2) -> bytes:
    """A chart's SVG as PNG (``scale`` times its size), drawn with the book's fonts."""
    return _vl_convert().svg_to_png(svg, scale=scale)


def notebook_png(svg: str) -> bytes:
    """The chart as a sharp (2x) PNG in 128 colours, for notebooks: a tenth of the size of
    :func:`svg_to_png`'s full colour, with no visible difference in the book's flat colours."""
    import io

    from PIL import Image

    image = Image.open(io.BytesIO(svg_to_png(svg))).convert("RGB").quantize(colors=128, method=Image.Quantize.MEDIANCUT)
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()


def _svg_size(svg: str) -> dict:
    """The SVG's width and height in CSS pixels (a 2x PNG is shown at this size)."""
    m = re.search(r'<svg[^>]*\bwidth="([\d.]+)"[^>]*\bheight="([\d.]+)"', svg)
    return {"width": round(float(m.group(1))), "height": round(float(m.group(2)))} if m else {}


def _chart_title(spec: dict) -> str:
    """The chart's title on one line."""
    title = spec.get("title")
    text = title.get("text", "") if isinstance(title, dict) else title or ""
    return " ".join(text) if isinstance(text, list) else str(text)


def _renderer(spec: dict, **metadata) -> tuple[dict, dict]:
    import base64

    wide, _ = _split_layouts(spec)
    chart = render_chart(spec)
    svg = chart["wide"]["svg"]
    size = _svg_size(svg)
    return ({CHART_MIME: chart,
             "image/png": base64.b64encode(notebook_png(svg)).decode("ascii"),
             "image/svg+xml": svg,
             "text/plain": chart["title"] or "Chart",
             f"application/vnd.vegalite.v{alt.SCHEMA_VERSION.split('.')[0][1:]}+json": wide},
            {"image/png": size} if size else {})


alt.renderers.register("defection", _renderer)
alt.renderers.enable("defection")


# --- chart functions used by the chapters -------------------------------------


# --- chapter 1: how defection works -------------------------------------------


def _ch1_top(series: pd.Series, n: int, other: str = "Other") -> pd.Series:
    """Keep the ``n`` most frequent values of ``series`` and call the rest ``other``."""
    keep = series.value_counts().head(n).index
    return series.where(series.isin(keep), other)


@_responsive
def ch1_origins_over_time(cases: pd.DataFrame, top: int = 6, narrow: bool = False) -> alt.VConcatChart:
    """Cases per decade, stacked by the country the person left (the ``top`` commonest, rest as Other)."""
    frame = pd.DataFrame({
        "decade": cases["decade"].astype("int64"),
        "origin": _ch1_top(cases["origin_name"].astype("object"), top),
    })
    counts = frame.groupby(["decade", "origin"]).size().rename("cases").reset_index()
    counts["decade_label"] = counts["decade"].astype(str) + "s"
    order = [o for o in frame["origin"].value_counts().index if o != "Other"] + ["Other"]
    order = [o for o in order if o in set(frame["origin"])]
    counts["rank"] = counts["origin"].map({o: i for i, o in enumerate(order)})
    colours = PALETTE[: len(order) - 1] + ["#BBBBBB"] if "Other" in order else PALETTE[: len(order)]
    decades = [f"{d}s" for d in range(int(frame["decade"].min()), int(frame["decade"].max()) + 1, 10)]
    peak_decades, peak_n = facts.peak(facts.per_decade(cases))
    peak = " and ".join(f"{int(d)}s" for d in peak_decades)
    first = order[0]
    first_n = int((frame["origin"] == first).sum())
    decade = alt.X("decade_label:O", title="Decade of defection", sort=decades, scale=alt.Scale(domain=decades),
                   axis=alt.Axis(labelAngle=0))
    value = alt.Y("sum(cases):Q", title="Cases in the dataset")
    if narrow:  # a row per decade: every label readable at phone width
        decade = alt.Y("decade_label:O", title=None, sort=decades, scale=alt.Scale(domain=decades))
        value = alt.X("sum(cases):Q", title="Cases in the dataset", axis=alt.Axis(tickCount=4))
    chart = alt.Chart(counts).mark_bar().encode(
        decade, value,
        color=alt.Color("origin:N", title="Country left", scale=alt.Scale(domain=order, range=colours),
                        legend=_legend(narrow, columns=4)),
        order=alt.Order("rank:Q"),
        tooltip=[alt.Tooltip("decade_label:O", title="Decade"), alt.Tooltip("origin:N", title="Country left"),
                 alt.Tooltip("cases:Q", title="Cases")],
    ).properties(width=NARROW_WIDTH - 60 if narrow else WIDTH, height=alt.Step(22) if narrow else 280)
    return finish(
        chart,
        narrow=narrow,
        title="Where the people in the dataset came from, decade by decade",
        subtitle=f"The {top} countries people most often left; all others grouped as Other",
        description=(f"Stacked bar chart of the {len(cases)} cases by decade of defection, coloured by the country "
                     f"the person left. {first} is the most common origin with {first_n} cases; the {peak} have "
                     f"the most cases ({peak_n}{' each' if len(peak_decades) > 1 else ''})."),
        source="Defection Explained dataset, data/cases.csv (each row cites its source)",
    )


@_responsive
def ch1_method_by_role(cases: pd.DataFrame, narrow: bool = False) -> alt.VConcatChart:
    """A grid of counts: how each kind of person left (role by method)."""
    counts = (
        cases.groupby(["role", "method"], observed=True).size().rename("cases").reset_index()
        .astype({"role": "object", "method": "object", "cases": "int64"})
    )
    counts = counts[counts["cases"] > 0].copy()
    counts["role_label"] = counts["role"].map(label)
    counts["method_label"] = counts["method"].map(label)
    role_order = [label(r) for r in cases["role"].astype("object").value_counts().index]
    method_order = [label(m) for m in cases["method"].astype("object").value_counts().index]
    ranked = counts.sort_values("cases", ascending=False)
    top = ranked.iloc[0]
    named = ranked[ranked["method"] != "other"].iloc[0]
    if narrow:  # short route names, read upwards
        counts["method_label"] = counts["method"].map(_ch2_short)
        method_order = [_ch2_short(m) for m in cases["method"].astype("object").value_counts().index]
    base = alt.Chart(counts).encode(
        x=alt.X("method_label:N", title="How they left", sort=method_order,
                axis=alt.Axis(labelAngle=-90 if narrow else -35, labelLimit=300, orient="top")),
        y=alt.Y("role_label:N", title=None if narrow else "Who they were", sort=role_order),
    )
    heat = base.mark_rect(stroke="white", strokeWidth=1).encode(
        color=alt.Color("cases:Q", title="Cases", scale=alt.Scale(scheme="blues"), legend=None),
        tooltip=[alt.Tooltip("role_label:N", title="Who"), alt.Tooltip("method_label:N", title="How"),
                 alt.Tooltip("cases:Q", title="Cases")],
    )
    text = base.mark_text(fontSize=12).encode(
        text="cases:Q",
        color=alt.condition(alt.datum.cases >= 8, alt.value("white"), alt.value(INK)),
    )
    chart = (heat + text).properties(width=alt.Step(27) if narrow else WIDTH - 40,
                                     height=alt.Step(26) if narrow else 330)
    return finish(
        chart,
        narrow=narrow,
        title="Who left, and how",
        subtitle="Number of cases for each kind of person and each route; empty cells have no case",
        description=(f"Grid of the {len(cases)} cases by the person's role (rows) and the way they left (columns). "
                     f"The largest cell is {top['role_label'].lower()}s who used the route "
                     f"'{top['method_label'].lower()}' ({int(top['cases'])} cases); among named routes it is "
                     f"{named['role_label'].lower()}s with '{named['method_label'].lower()}' "
                     f"({int(named['cases'])} cases)."),
        source="Defection Explained dataset, data/cases.csv (each row cites its source)",
    )


@_responsive
def ch1_origin_destination(cases: pd.DataFrame, top: int = 8, narrow: bool = False) -> alt.VConcatChart:
    """Circles sized by the number of cases from each country left to each country that kept the person."""
    def short(col):
        return cases[col].astype("object").str.replace(r" \(.*\)$", "", regex=True)

    frame = pd.DataFrame({
        "origin": _ch1_top(short("origin_name"), top),
        "destination": _ch1_top(short("destination_name"), top),
    })
    counts = frame.groupby(["origin", "destination"]).size().rename("cases").reset_index()
    def order(col):
        names = [n for n in frame[col].value_counts().index if n != "Other"]
        return names + (["Other"] if "Other" in set(frame[col]) else [])
    top_pair = counts.sort_values("cases", ascending=False).iloc[0]
    base = alt.Chart(counts).encode(
        x=alt.X("destination:N", title="Country that kept them", sort=order("destination"),
                axis=alt.Axis(labelAngle=-90 if narrow else -35, orient="top", labelLimit=160)),
        y=alt.Y("origin:N", title="Country they left", sort=order("origin"),
                axis=alt.Axis(labelLimit=110) if narrow else alt.Axis()),
    )
    dots = base.mark_circle(color=PALETTE[0], opacity=0.85).encode(
        size=alt.Size("cases:Q", title="Cases", scale=alt.Scale(range=[90, 560] if narrow else [260, 1900]),
                      legend=None),
        tooltip=[alt.Tooltip("origin:N", title="Left"), alt.Tooltip("destination:N", title="Kept by"),
                 alt.Tooltip("cases:Q", title="Cases")],
    )
    text = base.mark_text(fontSize=10 if narrow else 11, color="white", fontWeight=600).encode(text="cases:Q")
    chart = (dots + text).properties(width=alt.Step(24) if narrow else WIDTH - 40,
                                     height=alt.Step(26) if narrow else 340)
    return finish(
        chart,
        narrow=narrow,
        title="From where to where",
        subtitle=(f"The {top} commonest countries on each side, all others grouped as Other; "
                  "circle size and number = cases"),
        description=(f"Grid of circles, one for each pair of country left (rows) and country that kept the person "
                     f"(columns), sized by the number of cases. The largest flow is from {top_pair['origin']} to "
                     f"{top_pair['destination']} with {int(top_pair['cases'])} cases."),
        source="Defection Explained dataset, data/cases.csv (each row cites its source)",
    )


# --- maps (chapters 1 and 3) --------------------------------------------------

#: The map's caption line on boundaries (drawn in the source line and said in every caption).
MAP_BOUNDARIES = "boundaries: Natural Earth 1:110m (its de facto view of today's borders, not those of the time)"


#: The boundaries' name as a Vega-Lite named dataset. Each map layer names it and the finished
#: chart carries the topology once, in its top-level ``datasets`` (:func:`_with_atlas`): inline in
#: every layer, Altair deep-copied the 108 kB topology at every layer, panel and setting, some
#: 10 s of a cold build for chapter 1's two panels.
ATLAS_DATA = "dx-atlas"


def _with_atlas(chart: alt.TopLevelMixin) -> alt.TopLevelMixin:
    """The finished map ``chart`` with the boundaries its layers name (:data:`ATLAS_DATA`)."""
    chart.datasets = {ATLAS_DATA: maps.atlas()}
    return chart


def _map_base(width: int, height: int, highlight: list[str] | None = None, colour: str | None = None) -> alt.LayerChart:
    """Today's countries in grey (no Antarctica), those in ``highlight`` tinted ``colour``; Equal Earth projection.
    The chart that uses it must end with :func:`_with_atlas`."""
    topo = alt.NamedData(name=ATLAS_DATA, format=alt.DataFormat(type="topojson", feature="countries"))
    # The land is the map's background: hidden from assistive technology (aria=False), like a grid;
    # the markers carry the data, and the chart's tree and table give every value.
    land = alt.Chart(topo).mark_geoshape(fill=LAND, stroke=BORDER, strokeWidth=0.5, aria=False).transform_filter(
        f"datum.id != '{maps.ANTARCTICA}'")
    layers = [land]
    if highlight:
        ids = ",".join(f"'{i}'" for i in sorted(set(highlight)))
        layers.append(alt.Chart(topo).mark_geoshape(fill=colour, fillOpacity=0.3, stroke=BORDER, strokeWidth=0.5,
                                                    aria=False)
                      .transform_filter(f"indexof([{ids}], datum.id) >= 0"))
    return alt.layer(*layers).properties(width=width, height=height)


def _map_panel(*layers) -> alt.LayerChart:
    """The map's layers in one view (Vega-Lite's default projection, Equal Earth, fitted to the data drawn)."""
    return alt.layer(*layers)


def _map_size(narrow: bool) -> tuple[int, int]:
    width = NARROW_WIDTH - 16 if narrow else WIDTH
    return width, round(width / 1.7)


#: Sides of a defection on the chapter 1 map, with their colours (Okabe-Ito).
CH1_MAP_SIDES = {"Left from": PALETTE[3], "Went to": PALETTE[0]}


@_responsive
def ch1_world_map(cases: pd.DataFrame, narrow: bool = False) -> alt.VConcatChart:
    """Two world maps: the countries people left and the countries that kept them, circles sized by cases."""
    frame = maps.ch1_places(cases)
    width, height = _map_size(narrow)
    ids = maps.ids_for(frame["code"].unique())
    top = int(frame["cases"].max())
    order = list(dict.fromkeys(frame["country"]))
    panels = []
    for side, colour in CH1_MAP_SIDES.items():
        mine = frame[frame["side"] == side]
        base = _map_base(width, height, [i for c in mine["code"] for i in ids[c]], colour)
        marks = alt.Chart(frame).transform_filter(alt.datum.side == side)
        dots = marks.mark_circle(color=colour, opacity=0.8, stroke=BORDER, strokeWidth=0.8).encode(
            longitude="lon:Q", latitude="lat:Q",
            size=alt.Size("cases:Q", title="Cases", legend=None,
                          scale=alt.Scale(domain=[0, top], range=[0, 700 if narrow else 1500])),
            detail=alt.Detail("country:N", title="Country"),
            tooltip=[alt.Tooltip("country:N", title="Country"), alt.Tooltip("side:N", title="Side"),
                     alt.Tooltip("cases:Q", title="Cases"), alt.Tooltip("today:N", title="Shaded as today's")],
        )
        labels = marks.transform_filter(alt.datum.cases >= (8 if narrow else 3)).mark_text(
            fontSize=10 if narrow else 11, fontWeight=600, color="white").encode(
            longitude="lon:Q", latitude="lat:Q", text="cases:Q")
        n = int(mine["cases"].sum())
        panel_title = (f"{side}: {len(mine)} countries, {n} cases" if side == "Left from"
                       else f"{side}: {len(mine)} countries, {n} cases with a destination")
        panels.append(_map_panel(base, dots, labels).properties(
            title=alt.TitleParams(panel_title, fontSize=13, color=INK, anchor="start",
                                  subtitle=[], offset=4)))
    chart = alt.vconcat(*panels, spacing=10).resolve_scale(size="shared")
    left = frame[frame["side"] == "Left from"].sort_values("cases", ascending=False)
    went = frame[frame["side"] == "Went to"].sort_values("cases", ascending=False)

    def top3(part):
        return ", ".join(f"{r.country} {r.cases}" for r in part.head(3).itertuples())

    return _with_atlas(finish(
        chart,
        narrow=narrow,
        title="Where defectors left from, and where they went",
        subtitle="Circle area = cases in the dataset; shaded = today's countries covering each state",
        description=(f"Two world maps of the {len(cases)} cases. Top: the {len(left)} countries people left, most "
                     f"often {top3(left)}. Bottom: the {len(went)} countries that kept them, most often {top3(went)}. "
                     "Former states are drawn as today's countries they covered: the Soviet Union as its 15 "
                     "successor states."),
        source=f"Defection Explained dataset, data/cases.csv and data/country_areas.csv; {MAP_BOUNDARIES}",
    ))


# --- chapter 2: what completes a defection ------------------------------------


#: Outcome colours used by chapter 2 (Okabe-Ito), in reading order.
CH2_OUTCOME_COLOURS = {
    "asylum_granted": "#0072B2",
    "returned": "#D55E00",
    "caught": "#E69F00",
    "redefected": "#CC79A7",
    "killed": "#000000",
}
#: Confidence colours used by chapter 2.
CH2_CONFIDENCE_COLOURS = {"documented": "#0072B2", "reported": "#56B4E9", "disputed": "#E69F00"}


_CH2_SHORT = {"embassy_walk_in": "Embassy walk-in", "went_to_host_officials": "Went to host officials"}


def _ch2_short(value) -> str:
    """label() without its parenthetical explanation, for tight axes: 'Stayed behind'."""
    return _CH2_SHORT.get(str(value), label(value).split(" (")[0])


def _ch2_outcome_scale() -> alt.Scale:
    return alt.Scale(domain=[label(k) for k in CH2_OUTCOME_COLOURS], range=list(CH2_OUTCOME_COLOURS.values()))


@_responsive
def ch2_outcome_by_method(cases: pd.DataFrame, narrow: bool = False) -> alt.VConcatChart:
    """How each defection ended, by the way the person got out (counts, stacked)."""
    counts = (
        cases.groupby(["method", "outcome"], observed=True).size().rename("cases").reset_index()
        .astype({"method": "object", "outcome": "object", "cases": "int64"})
    )
    totals = counts.groupby("method")["cases"].sum()
    kept = counts[counts["outcome"] == "asylum_granted"].set_index("method")["cases"].reindex(totals.index, fill_value=0)
    counts["method_label"] = counts["method"].map(_ch2_short)
    counts["outcome_label"] = counts["outcome"].map(label)
    counts["order"] = counts["outcome"].map({k: i for i, k in enumerate(CH2_OUTCOME_COLOURS)})
    order = [_ch2_short(m) for m in totals.sort_values(ascending=False).index]
    ends = pd.DataFrame({
        "method_label": [_ch2_short(m) for m in totals.index],
        "total": totals.values.astype("int64"),
        "text": [f"{int(kept[m])} of {int(totals[m])} kept" for m in totals.index],
    })
    y = alt.Y("method_label:N", title=None if narrow else "How the person got out", sort=order,
              axis=alt.Axis(labelLimit=130 if narrow else 260, titlePadding=20))
    x_scale = alt.Scale(domain=[0, int(totals.max()) * 1.6]) if narrow else alt.Undefined  # room for "n of m kept"
    bars = alt.Chart(counts).mark_bar().encode(
        y=y,
        x=alt.X("cases:Q", title="Cases in the dataset", scale=x_scale,
                axis=alt.Axis(tickMinStep=1, tickCount=4 if narrow else alt.Undefined)),
        color=alt.Color("outcome_label:N", title="How it ended", scale=_ch2_outcome_scale(),
                        legend=_legend(narrow, columns=3, narrow_columns=1, columnPadding=24, symbolType="square")),
        order=alt.Order("order:Q"),
        tooltip=[alt.Tooltip("method_label:N", title="Method"), alt.Tooltip("outcome_label:N", title="Outcome"),
                 alt.Tooltip("cases:Q", title="Cases")],
    )
    text = alt.Chart(ends).mark_text(align="left", dx=4, fontSize=11, color=MUTED).encode(
        y=y, x=alt.X("total:Q"), text="text:N")
    chart = alt.layer(bars, text).properties(width=NARROW_WIDTH - 150 if narrow else WIDTH - 180, height=alt.Step(30))
    n_not = int(totals.sum() - kept.sum())
    worst = (kept / totals).idxmin()
    return finish(
        chart,
        narrow=narrow,
        title="How defections ended, by how the person got out",
        subtitle="Each bar is one method; colours show whether the host state kept the person",
        description=(f"Horizontal stacked bar chart of {int(totals.sum())} cases by method of escape, coloured by outcome. "
                     f"The host state kept the person in {int(kept.sum())} cases; {n_not} ended otherwise. "
                     f"The lowest share kept is for '{_ch2_short(worst)}' ({int(kept[worst])} of {int(totals[worst])})."),
        source="Defection Explained dataset, data/cases.csv (each row cites its source)",
    )


#: Events drawn as reference lines on the chapter 2 timeline, with short labels.
CH2_MILESTONES = {
    "refugee-convention-1951": "Refugee Convention",
    "vcdr-1961": "Vienna Convention (VCDR)",
    "cuban-adjustment-act-1966": "Cuban Adjustment Act",
    "wet-foot-dry-foot-start-1995": "Wet foot, dry foot",
    "wet-foot-dry-foot-end-2017": "Policy ends",
}


@_responsive
def ch2_outcome_timeline(cases: pd.DataFrame, events: pd.DataFrame, narrow: bool = False) -> alt.VConcatChart:
    """Every case as a dot by year and outcome, with legal milestones from events.csv as lines."""
    points = cases[["name", "year", "method", "outcome", "confidence"]].copy()
    points = points.astype({"name": "object", "year": "int64", "method": "object", "outcome": "object",
                            "confidence": "object"})
    points["outcome_label"] = points["outcome"].map(label)
    points["method_label"] = points["method"].map(label)
    # spread dots that share a year and an outcome so none hides another
    points["slot"] = points.groupby(["outcome", "year"]).cumcount()
    points["offset"] = points["slot"].map(lambda s: 0 if s == 0 else (s + 1) // 2 * (1 if s % 2 else -1) * 6)
    outcome_order = [label(k) for k in CH2_OUTCOME_COLOURS]
    span = [int(points["year"].min()) // 10 * 10, int(points["year"].max()) // 10 * 10 + 10]
    width = NARROW_WIDTH - 150 if narrow else WIDTH - 130  # a laptop's column shows it at full size
    x = alt.X("year:Q", title="Year of the defection or attempt", scale=alt.Scale(domain=span),
              axis=alt.Axis(format="d", tickMinStep=20 if narrow else 10))
    dots = alt.Chart(points).mark_circle(size=64, opacity=0.75, stroke="white", strokeWidth=0.5).encode(
        x=x,
        y=alt.Y("outcome_label:N", title=None if narrow else "How it ended", sort=outcome_order,
                axis=alt.Axis(labelLimit=130, labelExpr="split(datum.label, ' (')[0]") if narrow
                else alt.Axis(labelLimit=200, titlePadding=20)),
        yOffset=alt.YOffset("offset:Q", scale=alt.Scale(domain=[-30, 30])),
        color=alt.Color("outcome_label:N", scale=_ch2_outcome_scale(), legend=None),
        tooltip=[alt.Tooltip("name:N", title="Name"), alt.Tooltip("year:Q", title="Year"),
                 alt.Tooltip("method_label:N", title="Method"), alt.Tooltip("outcome_label:N", title="Outcome"),
                 alt.Tooltip("confidence:N", title="Confidence")],
    ).properties(width=width, height=alt.Step(56))
    marks = events[events["id"].isin(list(CH2_MILESTONES))][["id", "date", "title"]].copy()
    marks["year"] = marks["date"].dt.year.astype("int64") + (marks["date"].dt.day_of_year.astype("int64") - 1) / 365.0
    marks["short"] = marks["id"].map(CH2_MILESTONES)
    marks["title"] = marks["title"].astype("object")
    marks["date_text"] = marks["date"].dt.strftime("%d %b %Y")
    marks = marks.sort_values("date").reset_index(drop=True)
    marks["row"] = list(range(len(marks))) if narrow else [i % 3 for i in range(len(marks))]  # narrow: a row each
    marks = marks[["year", "short", "title", "date_text", "row"]]
    tip = [alt.Tooltip("short:N", title="Milestone"), alt.Tooltip("date_text:N", title="Date"),
           alt.Tooltip("title:N", title="What happened")]
    rules = alt.Chart(marks).mark_rule(color="#777777", strokeDash=[4, 3]).encode(x=x, tooltip=tip)
    right = marks["year"] > span[0] + (0.35 if narrow else 0.8) * (span[1] - span[0])
    head = alt.layer(
        alt.Chart(marks[~right]).mark_text(align="left", dx=3, fontSize=11, color=INK).encode(
            x=x, y=alt.Y("row:O", axis=None, title=None), text="short:N", tooltip=tip),
        alt.Chart(marks[right]).mark_text(align="right", dx=-3, fontSize=11, color=INK).encode(
            x=x, y=alt.Y("row:O", axis=None, title=None), text="short:N", tooltip=tip),
        alt.Chart(marks).mark_rule(color="#777777", strokeDash=[4, 3]).encode(x=alt.X("year:Q", scale=alt.Scale(domain=span), axis=None)),
    ).properties(width=width, height=18 * (marks["row"].max() + 1))
    body = alt.layer(rules, dots)
    chart = alt.vconcat(head, body, spacing=0).resolve_scale(x="shared")
    n = len(points)
    not_kept = int((points["outcome"] != "asylum_granted").sum())
    years_not = sorted(points.loc[points["outcome"] != "asylum_granted", "year"].tolist())
    return finish(
        chart,
        narrow=narrow,
        title="Outcomes over time, with legal milestones",
        subtitle="One dot per case; dashed lines mark treaties and U.S. policies (hover for details)",
        description=(f"Dot plot of {n} cases by year and outcome. {n - not_kept} ended with the host state keeping "
                     f"the person and {not_kept} did not, from {years_not[0]} to {years_not[-1]} when they did not. "
                     f"Dashed lines mark {', '.join(marks['short'])}."),
        source="Defection Explained dataset, data/cases.csv and data/events.csv",
    )


@_responsive
def ch2_confidence_by_outcome(cases: pd.DataFrame, narrow: bool = False) -> alt.VConcatChart:
    """How well documented the cases are, for those the host kept and those it did not."""
    frame = cases[["outcome", "confidence"]].astype("object").copy()
    frame["group"] = frame["outcome"].map(lambda o: "Allowed to stay" if o == "asylum_granted" else "Not kept")
    counts = frame.groupby(["group", "confidence"]).size().rename("cases").reset_index()
    counts["share"] = counts["cases"] / counts.groupby("group")["cases"].transform("sum")
    counts["conf_label"] = counts["confidence"].str.capitalize()
    counts["order"] = counts["confidence"].map({k: i for i, k in enumerate(CH2_CONFIDENCE_COLOURS)})
    counts = counts.astype({"cases": "int64", "share": "float64"})
    totals = counts.groupby("group")["cases"].sum()
    counts["group_n"] = counts["group"].map(lambda g: f"{g} (n = {int(totals[g])})")
    scale = alt.Scale(domain=[k.capitalize() for k in CH2_CONFIDENCE_COLOURS], range=list(CH2_CONFIDENCE_COLOURS.values()))
    base = alt.Chart(counts).encode(
        y=alt.Y("group_n:N", title=None if narrow else "Outcome",
                axis=alt.Axis(labelLimit=360, titlePadding=28, labelExpr="split(replace(datum.label, ' (', '|('), '|')") if narrow
                else alt.Axis(labelLimit=360, titlePadding=28),
                sort=sorted(counts["group_n"].unique())),
        x=alt.X("share:Q", title="Share of cases", stack="normalize",
                axis=alt.Axis(format="%", tickCount=4 if narrow else alt.Undefined)),
        order=alt.Order("order:Q"),
    )
    bars = base.mark_bar().encode(
        color=alt.Color("conf_label:N", title="Confidence in the record", scale=scale,
                        sort=[k.capitalize() for k in CH2_CONFIDENCE_COLOURS],
                        legend=_legend(narrow, titleLimit=400, columnPadding=24, symbolType="square")),
        tooltip=[alt.Tooltip("group:N", title="Group"), alt.Tooltip("conf_label:N", title="Confidence"),
                 alt.Tooltip("cases:Q", title="Cases"), alt.Tooltip("share:Q", title="Share", format=".0%")],
    )
    chart = bars.properties(width=NARROW_WIDTH - 130 if narrow else WIDTH - 120, height=alt.Step(44))
    kept_d = counts[(counts["group"] == "Allowed to stay") & (counts["confidence"] == "disputed")]["share"].sum()
    not_d = counts[(counts["group"] != "Allowed to stay") & (counts["confidence"] == "disputed")]["share"].sum()
    return finish(
        chart,
        narrow=narrow,
        title="Endings that went wrong are the most contested",
        subtitle="Confidence in each case record; 'not kept' = handed back, caught, went back or killed",
        description=(f"Stacked 100 per cent bars comparing how well cases are documented. Among cases where the host "
                     f"state kept the person, {kept_d:.0%} are marked disputed; among cases that ended otherwise, "
                     f"{not_d:.0%} are disputed."),
        source="Defection Explained dataset, data/cases.csv (confidence column)",
    )


# --- chapter 3: state retaliation ---------------------------------------------


#: Kinds of retaliation, most violent first, and one colour for each (Okabe-Ito; grey for the catch-alls).
_CH3_KINDS = ["assassinated", "attempted_assassination", "kidnapped", "family_punished",
              "sentenced_in_absentia", "other"]
_CH3_COLOURS = ["#D55E00", "#E69F00", "#CC79A7", "#009E73", "#0072B2", "#999999"]
_CH3_SOURCE = "Defection Explained dataset, data/cases.csv (each row cites its source)"


def _ch3_kind_scale(with_none: bool = False) -> alt.Scale:
    domain = [label(k) for k in _CH3_KINDS]
    colours = list(_CH3_COLOURS)
    if with_none:
        domain.append(label("none_known"))
        colours.append("#E3E3E3")
    return alt.Scale(domain=domain, range=colours)


def _ch3_retaliated(cases: pd.DataFrame) -> pd.DataFrame:
    """Rows with a recorded act of retaliation, with plain-object columns and readable labels."""
    kind = cases["retaliation"].astype("object")
    frame = cases.loc[kind.notna() & (kind != "none_known")].copy()
    frame["kind"] = frame["retaliation"].astype("object")
    frame["kind_label"] = frame["kind"].map(label)
    frame["kind_rank"] = frame["kind"].map({k: i for i, k in enumerate(_CH3_KINDS)})
    return frame


@_responsive
def ch3_retaliation_over_time(cases: pd.DataFrame, narrow: bool = False) -> alt.VConcatChart:
    """Recorded acts of retaliation per decade in which they happened, stacked by kind."""
    frame = _ch3_retaliated(cases)
    undated = int(frame["retaliation_year"].isna().sum())
    frame = frame[frame["retaliation_year"].notna()].copy()
    frame["decade"] = (frame["retaliation_year"].astype("int64") // 10 * 10)
    counts = (frame.groupby(["decade", "kind_label", "kind_rank"]).size().rename("cases").reset_index())
    counts["decade_label"] = counts["decade"].astype(str) + "s"
    decades = [f"{d}s" for d in range(int(counts["decade"].min()), int(counts["decade"].max()) + 1, 10)]
    totals = counts.groupby("decade_label")["cases"].sum()
    busiest, busiest_n = facts.peak(totals)
    violent = counts[counts["kind_rank"] <= 2].groupby("decade_label")["cases"].sum()
    decade = alt.X("decade_label:O", title="Decade in which the act happened", sort=decades,
                   scale=alt.Scale(domain=decades), axis=alt.Axis(labelAngle=0))
    value = alt.Y("sum(cases):Q", title="Recorded acts", axis=alt.Axis(tickMinStep=1))
    if narrow:  # a row per decade: every label readable at phone width
        decade = alt.Y("decade_label:O", title=None, sort=decades, scale=alt.Scale(domain=decades))
        value = alt.X("sum(cases):Q", title="Recorded acts", axis=alt.Axis(tickMinStep=1, tickCount=5))
    chart = alt.Chart(counts).mark_bar().encode(
        decade, value,
        color=alt.Color("kind_label:N", title="Kind of retaliation", scale=_ch3_kind_scale(),
                        legend=_legend(narrow, columns=3, narrow_columns=1)),
        order=alt.Order("kind_rank:Q"),
        tooltip=[alt.Tooltip("decade_label:O", title="Decade"), alt.Tooltip("kind_label:N", title="Kind"),
                 alt.Tooltip("cases:Q", title="Cases")],
    ).properties(width=NARROW_WIDTH - 60 if narrow else WIDTH, height=alt.Step(24) if narrow else 280)
    return finish(
        chart,
        narrow=narrow,
        title="When retaliation happened",
        subtitle="Acts against people in the dataset, by the decade of the act (not of the defection)",
        description=(f"Stacked bar chart of the {int(totals.sum())} dated acts of retaliation in the dataset, by "
                     f"decade of the act and coloured by kind. The busiest "
                     f"{'decade is' if len(busiest) == 1 else 'decades are'} the "
                     f"{' and '.join(busiest)}, with {busiest_n} acts"
                     f"{'' if len(busiest) == 1 else ' each'}; violent "
                     f"acts (killings, attempts, kidnappings) appear in {len(violent)} of the {len(decades)} "
                     f"decades. {undated} recorded acts have no known year and are not shown."),
        source=_CH3_SOURCE,
    )


@_responsive
def ch3_years_to_retaliation(cases: pd.DataFrame, narrow: bool = False) -> alt.VConcatChart:
    """One line per person from the year they left to the year of the act against them."""
    frame = _ch3_retaliated(cases)
    frame = frame[frame["retaliation_year"].notna()].copy()
    frame = pd.DataFrame({
        "name": frame["name"].astype("object"),
        "origin": frame["origin_name"].astype("object"),
        "left": frame["year"].astype("int64"),
        "acted": frame["retaliation_year"].astype("int64"),
        "kind_label": frame["kind_label"],
        "confidence": frame["confidence"].astype("object"),
    })
    frame["gap"] = frame["acted"] - frame["left"]
    frame = frame.sort_values(["left", "name"]).reset_index(drop=True)
    order = list(frame["name"])
    longest = frame.loc[frame["gap"].idxmax()]
    same_year = int((frame["gap"] == 0).sum())
    tooltip = [alt.Tooltip("name:N", title="Person"), alt.Tooltip("origin:N", title="State left"),
               alt.Tooltip("left:Q", title="Left in", format="d"),
               alt.Tooltip("acted:Q", title="Act in", format="d"),
               alt.Tooltip("gap:Q", title="Years between"), alt.Tooltip("kind_label:N", title="Kind"),
               alt.Tooltip("confidence:N", title="Confidence")]
    y = alt.Y("name:N", sort=order, title=None,
              axis=alt.Axis(labelLimit=120, labelFontSize=11) if narrow else alt.Axis(labelLimit=200))
    x_scale = alt.Scale(domain=[int(frame["left"].min()) - 2, int(frame["acted"].max()) + 2], nice=False)
    base = alt.Chart(frame)
    rule = base.mark_rule(strokeWidth=2, color="#888888").encode(
        x=alt.X("left:Q", title="Year", scale=x_scale, axis=alt.Axis(format="d", tickCount=4 if narrow else alt.Undefined)),
        x2="acted:Q", y=y,
        tooltip=tooltip)
    start = base.mark_point(shape="circle", size=45, filled=False, color="#333333").encode(
        x="left:Q", y=y, tooltip=tooltip)
    end = base.mark_point(shape="circle", size=70, filled=True, opacity=1).encode(
        x="acted:Q", y=y,
        color=alt.Color("kind_label:N", title="Kind of retaliation", scale=_ch3_kind_scale(),
                        legend=_legend(narrow, columns=3, narrow_columns=1)),
        tooltip=tooltip)
    # A row of 18 px (16 on a phone) keeps the 12 px names legible at the size the page shows them.
    chart = (rule + start + end).properties(width=NARROW_WIDTH - 140 if narrow else WIDTH - 140,
                                            height=alt.Step(16 if narrow else 18))
    return finish(
        chart,
        narrow=narrow,
        title="How long after leaving did the state act?",
        subtitle="Open circle: year the person left. Filled circle: year of the act against them",
        description=(f"Dumbbell chart of the {len(frame)} people in the dataset with a dated act of retaliation, "
                     f"ordered by the year they left. In {same_year} cases the act came in the same year; the "
                     f"longest gap is {int(longest['gap'])} years ({longest['name']}, left {int(longest['left'])}, "
                     f"act in {int(longest['acted'])}). For killings, attempts and kidnappings the median gap is "
                     f"{float(facts.violent_gaps(cases).median()):g} years."),
        source=_CH3_SOURCE,
    )


@_responsive
def ch3_retaliation_by_origin(cases: pd.DataFrame, narrow: bool = False) -> alt.VConcatChart:
    """Cases per origin state, split by the kind of retaliation recorded (grey: none known)."""
    frame = pd.DataFrame({
        "origin": cases["origin_name"].astype("object"),
        "kind": cases["retaliation"].astype("object"),
    })
    # "Germany (West Germany before 1990)" is too long for an axis label; before 1990 it was West Germany.
    west = (cases["origin_country"].astype("object") == "DEU") & (cases["year"] < 1990)
    frame.loc[west.to_numpy(), "origin"] = "West Germany"
    frame["kind_label"] = frame["kind"].map(label)
    frame["kind_rank"] = frame["kind"].map({k: i for i, k in enumerate(_CH3_KINDS + ["none_known"])})
    with_acts = sorted(set(frame.loc[frame["kind"] != "none_known", "origin"]))
    frame = frame[frame["origin"].isin(with_acts)]
    counts = frame.groupby(["origin", "kind_label", "kind_rank"]).size().rename("cases").reset_index()
    acted = counts[counts["kind_label"] != label("none_known")].groupby("origin")["cases"].sum()
    totals = counts.groupby("origin")["cases"].sum()
    order = list(acted.sort_values(ascending=False, kind="stable").index)
    top = order[0]
    chart = alt.Chart(counts).mark_bar().encode(
        y=alt.Y("origin:N", sort=order, title=None if narrow else "State the person left",
                axis=alt.Axis(labelLimit=120 if narrow else 240)),
        x=alt.X("sum(cases):Q", title="Cases in the dataset",
                axis=alt.Axis(tickMinStep=1, tickCount=4 if narrow else alt.Undefined)),
        color=alt.Color("kind_label:N", title="Most serious act", scale=_ch3_kind_scale(with_none=True),
                        legend=_legend(narrow, columns=4, narrow_columns=1)),
        order=alt.Order("kind_rank:Q"),
        tooltip=[alt.Tooltip("origin:N", title="State left"), alt.Tooltip("kind_label:N", title="Act"),
                 alt.Tooltip("cases:Q", title="Cases")],
    ).properties(width=NARROW_WIDTH - 140 if narrow else WIDTH - 150, height=24 * len(order))
    return finish(
        chart,
        narrow=narrow,
        title="Which states retaliated, and how",
        subtitle="Every state with at least one recorded act; grey = cases with none known",
        description=(f"Horizontal stacked bar chart of cases from the {len(order)} states with at least one recorded "
                     f"act of retaliation, split by the most serious act recorded. Most recorded acts: {top} "
                     f"({int(acted[top])} of its {int(totals[top])} cases). In all, "
                     f"{int(acted.sum())} of the {int(totals.sum())} cases from these states have an act recorded."),
        source=_CH3_SOURCE,
    )


#: Chapter 3 map: how sure the record is, as shape and fill (not colour alone).
CH3_MAP_STATUS = {"Documented": "circle", "Reported or disputed": "diamond"}


@_responsive
def ch3_retaliation_map(cases: pd.DataFrame, narrow: bool = False) -> alt.VConcatChart:
    """Where killings, attempts and kidnappings abroad took place, documented and not told apart by shape."""
    frame = maps.ch3_places(cases)
    width, height = _map_size(narrow)
    ids = maps.ids_for(frame["code"].unique())
    colour = _CH3_COLOURS[0]
    base = _map_base(width, height, [i for c in frame["code"].unique() for i in ids[c]], colour)
    domain = list(CH3_MAP_STATUS)
    marks = alt.Chart(frame).mark_point(strokeWidth=2, opacity=1, color=colour).encode(
        longitude="lon:Q", latitude="lat:Q",
        shape=alt.Shape("status:N", title="The record", scale=alt.Scale(domain=domain, range=list(CH3_MAP_STATUS.values())),
                        legend=_legend(narrow, columns=2, narrow_columns=1)),
        fill=alt.Fill("status:N", title="The record", scale=alt.Scale(domain=domain, range=[colour, "transparent"]),
                      legend=_legend(narrow, columns=2, narrow_columns=1)),
        size=alt.Size("acts:Q", title="Acts", legend=None,
                      scale=alt.Scale(domain=[0, int(frame["acts"].max())], range=[0, 150 if narrow else 260])),
        detail=alt.Detail("country:N", title="Country"),
        tooltip=[alt.Tooltip("country:N", title="Country"), alt.Tooltip("status:N", title="The record"),
                 alt.Tooltip("acts:Q", title="Acts"), alt.Tooltip("names:N", title="Who (year of the act)")],
    )
    chart = _map_panel(base, marks)
    n = int(frame["acts"].sum())
    counted = cases[cases["retaliation"].astype("object").isin(maps.ABROAD)]
    unplaced = len(counted) - n
    doc = int(frame.loc[frame["status"] == "Documented", "acts"].sum())
    per = frame.groupby("country")["acts"].sum().sort_values(ascending=False, kind="stable")
    lead = ", ".join(f"{c} {int(v)}" for c, v in per.head(3).items())
    top = finish(
        chart,
        narrow=narrow,
        title="Attacks and kidnappings abroad, by country",
        subtitle="Filled circle = documented; hollow diamond = reported or disputed; size = acts",
        description=(f"World map of the {n} killings, attempts and kidnappings abroad in the dataset whose country is "
                     f"known, in {len(per)} countries, most in {lead}. {doc} are in cases marked documented "
                     f"(filled circles) and {n - doc} in cases marked reported or disputed (hollow diamonds)."
                     + (f" {unplaced} act{'s' if unplaced != 1 else ''} with no known country "
                        f"{'are' if unplaced != 1 else 'is'} not shown." if unplaced else "")),
        source=f"Defection Explained dataset, data/cases.csv (retaliation_country, confidence); {MAP_BOUNDARIES}",
    )
    # One legend for shape and fill (finish() keeps a narrow chart's legends apart).
    return _with_atlas(top.resolve_legend(shape="shared", fill="shared") if narrow else top)


# --- chapter 4: leaving the United States -------------------------------------


def _ch4_money(value: float) -> str:
    """$1,234 style label for a dollar amount."""
    return f"${value:,.0f}"


#: Readable names for the amounts in data/us_rules.csv.
CH4_RULE_LABELS = {
    "renunciation_fee": "Renunciation (CLN) fee",
    "exit_tax_tax_liability_threshold": "Tax test: average yearly income tax above",
    "exit_tax_net_worth_threshold": "Net-worth test: net worth of at least",
    "exit_tax_exclusion_amount": "Gain excluded from the exit tax",
}

#: Short labels for the events marked on the renunciations chart (fallback: the event title).
CH4_EVENT_LABELS = {
    "heart-act-2008": "Exit tax law",
    "hire-act-fatca-2010": "FATCA",
    "fee-450-2010": "Fee $450",
    "fee-2350-2014": "Fee $2,350",
    "fee-450-2026": "Fee cut to $450",
}


@_responsive
def ch4_us_defectors(cases: pd.DataFrame, narrow: bool = False) -> alt.VConcatChart:
    """One dot per American in the dataset who defected, by year, coloured by the state that kept them."""
    us = cases[cases["origin_country"].astype("object") == "USA"].copy()
    if us.empty:
        raise ValueError("no cases with origin_country USA in the cases table")
    frame = pd.DataFrame({
        "name": us["name"].astype("object"),
        "year": us["year"].astype("int64"),
        "destination": us["destination_name"].astype("object").fillna("Unknown"),
        "role": us["role"].astype("object").map(label),
        "outcome": us["outcome"].astype("object").map(label),
        "confidence": us["confidence"].astype("object").map(label),
    }).sort_values(["year", "name"])
    order = list(frame["name"])
    dest_order = list(frame["destination"].value_counts().index)
    n = len(frame)
    first, last = int(frame["year"].min()), int(frame["year"].max())
    counts = frame["destination"].value_counts()
    parts = ", ".join(f"{c} to {d}" for d, c in counts.items())
    base = alt.Chart(frame).encode(
        x=alt.X("year:Q", title="Year of defection",
                scale=alt.Scale(domain=[first - 3, last + 3], nice=False),
                axis=alt.Axis(format="d", values=list(range((first - 3) // 10 * 10 + 10, last + 4, 20 if narrow else 10)))),
        y=alt.Y("name:N", title=None, sort=order, axis=alt.Axis(labelLimit=130 if narrow else 220)),
    )
    dots = base.mark_point(size=110, filled=True, opacity=1).encode(
        color=alt.Color("destination:N", title="State that kept them", legend=_legend(narrow, columns=4),
                        scale=alt.Scale(domain=dest_order, range=PALETTE[: len(dest_order)])),
        shape=alt.Shape("destination:N", title="State that kept them", legend=_legend(narrow, columns=4),
                        scale=alt.Scale(domain=dest_order,
                                        range=["circle", "square", "triangle-up", "diamond", "cross"][: len(dest_order)])),
        tooltip=[alt.Tooltip("name:N", title="Name"), alt.Tooltip("year:Q", title="Year", format="d"),
                 alt.Tooltip("destination:N", title="Went to"), alt.Tooltip("role:N", title="Role"),
                 alt.Tooltip("outcome:N", title="How it ended"), alt.Tooltip("confidence:N", title="Confidence")],
    )
    chart = dots.properties(width=NARROW_WIDTH - 150 if narrow else WIDTH - 120, height=22 * n)
    return finish(
        chart,
        narrow=narrow,
        title="Americans who defected, in this book's dataset",
        subtitle=f"{n} people, {first}-{last}; the list is not complete",
        description=(f"Dot chart of the {n} people in the dataset who left the United States as defectors between "
                     f"{first} and {last}, one row each, ordered by year: {parts}."),
        source="Defection Explained dataset, data/cases.csv (origin_country USA; each row cites its source)",
    )


@_responsive
def ch4_renunciations_per_year(years: pd.DataFrame, events: pd.DataFrame, narrow: bool = False) -> alt.VConcatChart:
    """Names on the IRS section 6039G lists per year, with US laws and fee changes marked."""
    data_years = years.dropna(subset=["names_listed"]).astype({"year": "int64", "names_listed": "int64"})
    if data_years.empty:
        raise ValueError("the renunciations table has no complete year yet")
    ev = events.copy()
    ev["year"] = pd.to_datetime(ev["date"]).dt.year.astype("int64")
    ev = ev[(ev["country"].astype("object") == "USA") & ev["kind"].astype("object").isin(["law", "fee_change"])]
    start = min(int(data_years["year"].min()), 2008)
    ev = ev[ev["year"] >= start]
    end = max(int(data_years["year"].max()), int(ev["year"].max()) if len(ev) else 0)
    domain = [str(y) for y in range(start, end + 1)]
    bars = pd.DataFrame({
        "year": data_years["year"].astype(str),
        "names": data_years["names_listed"],
        "basis": data_years["basis"].astype("object"),
    })
    lo, hi = int(data_years["year"].min()), int(data_years["year"].max())
    missing = [str(y) for y in range(lo, hi + 1) if str(y) not in set(bars["year"])]
    marks = pd.DataFrame({
        "year": ev["year"].astype(str),
        "label": [CH4_EVENT_LABELS.get(i, t) for i, t in zip(ev["id"].astype("object"), ev["title"].astype("object"))],
        "title": ev["title"].astype("object"),
        "date": pd.to_datetime(ev["date"]).dt.strftime("%d %b %Y"),
    }).sort_values(["year", "date"])
    marks["row"] = range(len(marks))
    top = int(bars["names"].max())
    if narrow:  # a line each, above the bars
        marks["y"] = top * (1.62 - 0.09 * marks["row"])
        marks["right"] = [domain.index(y) >= len(domain) // 2 for y in marks["year"]]
    else:
        marks["y"] = top * (1.16 - 0.08 * (marks["row"] % 3))
        marks["right"] = [domain.index(y) >= len(domain) - 4 for y in marks["year"]]
    x = alt.X("year:O", title="Year of the lists", scale=alt.Scale(domain=domain),
              axis=alt.Axis(labelAngle=-90 if narrow else -45))
    bar = alt.Chart(bars).mark_bar(color=PALETTE[0], width={"band": 0.7}).encode(
        x=x, y=alt.Y("names:Q", title="Names published", scale=alt.Scale(domain=[0, top * (1.68 if narrow else 1.22)]),
                     axis=alt.Axis(format=",d", values=list(range(0, top + 1, 1000)) if narrow else alt.Undefined)),
        tooltip=[alt.Tooltip("year:O", title="Year"), alt.Tooltip("names:Q", title="Names", format=","),
                 alt.Tooltip("basis:N", title="Basis")],
    )
    rules = alt.Chart(marks).mark_rule(color=PALETTE[3], strokeDash=[4, 3], strokeWidth=1.5).encode(
        x=x, tooltip=[alt.Tooltip("title:N", title="Event"), alt.Tooltip("date:N", title="Date")])
    layers = [bar, rules]
    for right in (False, True):
        part = marks[marks["right"] == right]
        if len(part):
            layers.append(alt.Chart(part).mark_text(
                align="right" if right else "left", dx=-4 if right else 4, fontSize=11, color=PALETTE[3],
            ).encode(x=x, y=alt.Y("y:Q"), text="label:N"))
    if missing:
        gaps = pd.DataFrame({"year": missing, "text": "n/a"})
        layers.append(alt.Chart(gaps).mark_text(baseline="bottom", dy=-2, fontSize=9 if narrow else 11, color=MUTED).encode(
            x=x, y=alt.value((340 if narrow else 300) - 2), text="text:N",
            tooltip=[alt.Tooltip("year:O", title="Year"), alt.Tooltip("text:N", title="Total")]))
    chart = alt.layer(*layers).properties(width=NARROW_WIDTH - 70 if narrow else WIDTH, height=340 if narrow else 300)
    peak_years, peak_names = facts.peak(data_years.set_index("year")["names_listed"])
    gap_text = (f" No verified total for {', '.join(missing)} (marked n/a)." if missing else "")
    return finish(
        chart,
        narrow=narrow,
        title="Names on the IRS lists of people who gave up US citizenship",
        subtitle="Federal Register lists under IRC section 6039G, by year; dashed lines mark laws and fee changes",
        description=(f"Bar chart of names published per year in the section 6039G lists, {lo}-{hi}, from "
                     f"{int(data_years.iloc[0]['names_listed']):,} in {lo} to a peak of "
                     f"{peak_names:,} in {' and '.join(str(int(y)) for y in peak_years)}.{gap_text} Dashed lines mark "
                     + ", ".join(f"{lab} ({yr})" for lab, yr in zip(marks["label"], marks["year"])) + "."),
        source="data/renunciations.csv (IRS lists as counted by the cited sources) and data/events.csv",
    )


@_responsive
def ch4_renunciation_fee(rules: pd.DataFrame, no_fee_years: int = 2, narrow: bool = False) -> alt.VConcatChart:
    """The State Department fee to renounce (since 2015: any CLN request) as a step line.

    The fee was free before the first row; ``no_fee_years`` years of zero fee are drawn before it.
    """
    fee = rules[rules["rule"].astype("object") == "renunciation_fee"].sort_values("effective_date")
    if fee.empty:
        raise ValueError("no renunciation_fee rows in the us_rules table")
    dates = list(pd.to_datetime(fee["effective_date"]))
    values = [float(v) for v in fee["value_usd"]]
    first = dates[0]
    end = pd.Timestamp(year=dates[-1].year, month=12, day=31)
    points = [{"date": first - pd.DateOffset(years=no_fee_years), "fee": 0.0, "label": "",
               "note": "No fee charged"}] if no_fee_years else []
    for d, v in zip(dates, values):
        points.append({"date": d, "fee": v, "label": _ch4_money(v), "note": f"From {d.day} {d:%b %Y}"})
    points.append({"date": end, "fee": values[-1], "label": "", "note": "(line drawn to the end of the year)"})
    frame = pd.DataFrame(points)
    frame["date_text"] = frame["date"].dt.strftime("%d %b %Y")
    x = alt.X("date:T", title="Date the fee took effect", axis=alt.Axis(format="%Y", tickCount=4 if narrow else 8))
    y = alt.Y("fee:Q", title="Fee in US dollars", axis=alt.Axis(format="$,d"),
              scale=alt.Scale(domain=[0, max(values) * 1.2]))
    line = alt.Chart(frame).mark_line(interpolate="step-after", color=PALETTE[0], strokeWidth=2.5).encode(x=x, y=y)
    changes = frame[frame["label"] != ""]
    dots = alt.Chart(changes).mark_point(filled=True, size=70, color=PALETTE[0]).encode(
        x=x, y=y, tooltip=[alt.Tooltip("date_text:N", title="Took effect"),
                           alt.Tooltip("fee:Q", title="Fee", format="$,d")])
    text = alt.Chart(changes).mark_text(align="left", dx=6, dy=-10, fontSize=12, fontWeight=600).encode(
        x=x, y=y, text="label:N")
    chart = alt.layer(line, dots, text).properties(width=NARROW_WIDTH - 110 if narrow else WIDTH, height=240)
    steps = "; ".join(f"{_ch4_money(v)} from {d.day} {d:%B %Y}" for d, v in zip(dates, values))
    return finish(
        chart,
        narrow=narrow,
        title="What the State Department charges to process a renunciation",
        subtitle="Fee for a Certificate of Loss of Nationality request, nominal US dollars; no fee before "
                 f"{first:%B %Y}",
        description=f"Step chart of the renunciation fee: no fee before {first:%B %Y}, then {steps}.",
        source="data/us_rules.csv (Federal Register fee rules, as cited in each row)",
    )


@_responsive
def ch4_exit_tax_thresholds(rules: pd.DataFrame, narrow: bool = False) -> alt.VConcatChart:
    """The exit-tax amounts by year: each panel one amount, each bar the period it applied.

    Amounts indexed for inflation apply for one calendar year (a missing year shows as a gap).
    A rule with a single row is a fixed statutory amount and is drawn to the end of the latest year in the table.
    """
    keep = ["exit_tax_tax_liability_threshold", "exit_tax_exclusion_amount", "exit_tax_net_worth_threshold"]
    sub = rules[rules["rule"].astype("object").isin(keep)].copy()
    if sub.empty:
        raise ValueError("no exit-tax rows in the us_rules table")
    sub["start"] = pd.to_datetime(sub["effective_date"])
    last_year = int(sub["start"].dt.year.max())
    rows = []
    for rule, group in sub.groupby(sub["rule"].astype("object"), sort=False):
        group = group.sort_values("start")
        single = len(group) == 1
        for start, value in zip(group["start"], group["value_usd"]):
            stop_year = last_year if single else start.year
            rows.append({"rule": CH4_RULE_LABELS[rule], "start": start,
                         "stop": pd.Timestamp(year=stop_year, month=12, day=31),
                         "value": float(value), "value_text": _ch4_money(float(value)),
                         "period": f"{start:%d %b %Y} to 31 Dec {stop_year}"})
    frame = pd.DataFrame(rows)
    order = [CH4_RULE_LABELS[r] for r in keep if CH4_RULE_LABELS[r] in set(frame["rule"])]
    seg = alt.Chart(frame).mark_rule(strokeWidth=5, color=PALETTE[0]).encode(
        x=alt.X("start:T", title="Year", axis=alt.Axis(format="%Y", tickCount=5 if narrow else 10)),
        x2="stop:T",
        y=alt.Y("value:Q", title="US dollars", axis=alt.Axis(format="$,.3~s", tickCount=4),
                scale=alt.Scale(zero=True)),
        tooltip=[alt.Tooltip("rule:N", title="Amount"), alt.Tooltip("value_text:N", title="Value"),
                 alt.Tooltip("period:N", title="Applies")],
    ).properties(width=NARROW_WIDTH - 80 if narrow else WIDTH - 40, height=95)
    chart = seg.facet(
        row=alt.Row("rule:N", sort=order, title=None,
                    header=alt.Header(labelAngle=0, labelAlign="left", labelAnchor="start", labelOrient="top",
                                      labelFontWeight=600, labelFontSize=13)),
        spacing=14,
    ).resolve_scale(y="independent")
    summary = []
    for r in order:
        part = frame[frame["rule"] == r].sort_values("start")
        a, b = part.iloc[0], part.iloc[-1]
        if len(part) == 1:
            summary.append(f"{r} {a['value_text']}, unchanged since {a['start']:%Y}")
        else:
            summary.append(f"{r} {a['value_text']} in {a['start']:%Y}, {b['value_text']} in {b['start']:%Y}")
    return finish(
        chart,
        narrow=narrow,
        title="The exit tax: who is caught, and how much gain is spared",
        subtitle="Amounts under IRC sections 877(a)(2) and 877A, nominal US dollars, by the year they applied",
        description="Three panels of amounts over time: " + "; ".join(summary) + ". Gaps are years not in the data.",
        source="data/us_rules.csv (IRS revenue procedures as cited in each row)",
    )
