"""Charts: light pages, dark mode, and every chart's data.

A chart cell renders to ``<div class="dx-chart">`` (``defection/charts.py``):
the static SVG, its dark-mode twin and both compiled Vega specs, inline. At
build end each block becomes

* two ``<picture>`` (light and dark) of the build-time SVGs, with the chart's
  text alternative as ``alt``: an image costs the page no style or layout work,
  unlike some 2,000 inline SVG elements per chart. Each picture offers the
  chart's narrow (phone) layout to a viewport of at most ``NARROW_MEDIA``, so
  the browser fetches only the layout it shows;
* a folded "Data and downloads" box: the data the chart shows as a table (for
  screen readers, and anyone who prefers numbers) and links to it as CSV and
  to the chart as SVG and PNG;
* the Vega specs as files, fetched by ``dx/dx-charts.js`` only when the chart
  nears the viewport, which then also loads the vendored Vega runtime and its
  CSP-safe expression interpreter (``static/dx/README.txt``) and follows the
  page's theme and, by the same media query, the layout the pictures show.

The files go to ``_static/charts/``, named by content hash. Only pages with a
chart load the chart script.
"""
from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
import re
from html import escape, unescape
from pathlib import Path

from sphinx.application import Sphinx
from sphinx.util import logging

from . import explore

logger = logging.getLogger(__name__)

MARKER = 'class="dx-chart"'
CHART_DIR = Path("_static") / "charts"
BLOCK = re.compile(
    r'<div class="dx-chart"><div class="dx-chart-static">(?P<svg><svg.*?</svg>)</div>'
    r'<template class="dx-chart-dark">(?P<dark><svg.*?</svg>)</template>'
    r'<script type="application/json" class="dx-chart-spec">(?P<spec>.*?)</script>'
    r'<script type="application/json" class="dx-chart-spec-dark">(?P<specdark>.*?)</script>'
    r'(?:<template class="dx-chart-narrow">(?P<nsvg><svg.*?</svg>)</template>'
    r'<template class="dx-chart-narrow-dark">(?P<ndark><svg.*?</svg>)</template>'
    r'<script type="application/json" class="dx-chart-spec-narrow">(?P<nspec>.*?)</script>'
    r'<script type="application/json" class="dx-chart-spec-narrow-dark">(?P<nspecdark>.*?)</script>)?</div>', re.S)
#: A chapter's first-load budget (benchmarks/README.md): bytes as sent by a plain server, and gzipped.
FIRST_LOAD_BUDGET = {"plain": 400 * 1024, "gzip": 120 * 1024}
#: Where a chart shows its narrow layout; dx-charts.js reads it from the page (data-dx-media).
NARROW_MEDIA = "(max-width: 600px)"


def is_heavy(svg: str) -> bool:
    """True for a picture that alone would take more than a quarter of a chapter's first-load
    budget, plain or gzipped: it is never loaded with the page. (Today: the two world maps,
    150 to 370 kB and 41 to 106 kB gzipped; every other chart is under 82 kB and 7 kB.)"""
    data = svg.encode("utf-8")
    return (len(data) > FIRST_LOAD_BUDGET["plain"] // 4
            or len(gzip.compress(data, 6)) > FIRST_LOAD_BUDGET["gzip"] // 4)


def datasets(vega: dict) -> list[tuple[str, list[dict]]]:
    """The data a compiled chart shows: its inline datasets, without the source line."""
    return [(d["name"], d["values"]) for d in vega.get("data", [])
            if isinstance(d.get("values"), list) and d["values"] and not d["name"].startswith("source_")]


def to_csv(rows: list[dict]) -> str:
    """The chart's data as CSV; a text cell that a spreadsheet would run as a formula
    (``=``, ``+``, ``-``, ``@``, tab, carriage return) gets a leading ``'`` (CSV injection)."""
    from defection.csvsafe import line_terminator, neutralise

    columns = list(dict.fromkeys(k for row in rows for k in row))
    safe = [{neutralise(str(k)): neutralise(v) for k, v in row.items()} for row in rows]
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=[neutralise(str(c)) for c in columns],
                            lineterminator=line_terminator(v for row in safe for v in [*row, *row.values()]))
    writer.writeheader()
    writer.writerows(safe)
    return out.getvalue()


def data_table(rows: list[dict], caption: str) -> str:
    columns = list(dict.fromkeys(k for row in rows for k in row))
    head = "".join(f'<th scope="col">{escape(str(c))}</th>' for c in columns)
    body = "".join("<tr>" + "".join(f"<td>{escape(str(row.get(c, '')))}</td>" for c in columns) + "</tr>"
                   for row in rows)
    return (f'<table class="dx-chart-table"><caption>{escape(caption)}</caption>'
            f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")


def _size(svg: str) -> tuple[str, str]:
    m = re.search(r'<svg[^>]*\bwidth="([\d.]+)"[^>]*\bheight="([\d.]+)"', svg)
    return (m.group(1), m.group(2)) if m else ("", "")


class ChartFiles:
    """Writes a page's chart blocks out as files and returns the lighter HTML."""

    def __init__(self, outdir: Path):
        self.outdir = Path(outdir)
        (self.outdir / CHART_DIR).mkdir(parents=True, exist_ok=True)
        self.written = 0

    def _write(self, name: str, payload) -> str:
        """Write ``payload`` (bytes, or a function making them) unless the file has them already.
        Names carry the chart's content hash, so a PNG that exists is the right one."""
        path = self.outdir / CHART_DIR / name
        if callable(payload):
            if path.is_file():
                return name
            payload = payload()
        if not path.is_file() or path.read_bytes() != payload:
            path.write_bytes(payload)
            self.written += 1
        return name

    def rewrite(self, pagename: str, html: str) -> str:
        prefix = "../" * pagename.count("/") + CHART_DIR.as_posix() + "/"

        eager = []

        def one(m) -> str:
            # The page's first chart loads with the page, so that its picture is there before the
            # chart script takes over; a heavy picture (a map: 150 to 370 kB of SVG, the other
            # charts under 90 kB) never does: it loads when scrolled near, and the next light chart
            # loads with the page instead. Every other chart, and every dark twin, loads when near.
            heavy = is_heavy(m.group("svg"))
            lazy = "" if not eager and not heavy else ' loading="lazy"'
            if not lazy:
                eager.append(1)
            svg, dark = m.group("svg"), m.group("dark")
            spec = json.loads(m.group("spec").replace("<\\/", "</"))
            view = explore.take_view(spec)  # the chart's encodings, for its explorable description
            spec_text = (m.group("spec").replace("<\\/", "</") if view is None
                         else json.dumps(spec, separators=(",", ":"), ensure_ascii=False))
            key = hashlib.sha256(m.group(0).encode("utf-8")).hexdigest()[:16]
            alt = unescape(re.search(r'aria-label="([^"]*)"', svg).group(1))
            title = spec.get("title", {}).get("text", "") if isinstance(spec.get("title"), dict) else ""
            names = {
                "light": self._write(f"{key}.svg", svg.encode("utf-8")),
                "dark": self._write(f"{key}.dark.svg", dark.encode("utf-8")),
                "spec": self._write(f"{key}.vg.json", spec_text.encode("utf-8")),
                "specdark": self._write(f"{key}.dark.vg.json",
                                        m.group("specdark").replace("<\\/", "</").encode("utf-8")),
                "png": self._write(f"{key}.png", lambda: _png(svg)),
            }
            tables, links = [], []
            for i, (name, rows) in enumerate(datasets(spec)):
                csv_name = self._write(f"{key}.{i + 1}.csv", to_csv(rows).encode("utf-8"))
                links.append(f'<a href="{prefix}{csv_name}" download>data{f" {i + 1}" if i else ""} (CSV)</a>')
                tables.append(data_table(rows, f"The data of the chart “{title}”" + (f", part {i + 1}" if i else "")))
            described = explore.tree(view, datasets(spec), title) if view else ""
            width, height = _size(svg)
            size = f' width="{width}" height="{height}"' if width else ""
            narrow_attrs, sources = "", {"light": "", "dark": ""}
            if m.group("nsvg"):
                nsvg, ndark = m.group("nsvg"), m.group("ndark")
                nspec = m.group("nspec").replace("<\\/", "</").encode("utf-8")
                nspecdark = m.group("nspecdark").replace("<\\/", "</").encode("utf-8")
                narrow = {
                    "light": self._write(f"{key}.narrow.svg", nsvg.encode("utf-8")),
                    "dark": self._write(f"{key}.narrow.dark.svg", ndark.encode("utf-8")),
                    "spec": self._write(f"{key}.narrow.vg.json", nspec),
                    "specdark": self._write(f"{key}.narrow.dark.vg.json", nspecdark),
                }
                nwidth, nheight = _size(nsvg)
                nsize = f' width="{nwidth}" height="{nheight}"' if nwidth else ""
                for theme in ("light", "dark"):
                    sources[theme] = (f'<source media="{NARROW_MEDIA}" srcset="{prefix}{narrow[theme]}" '
                                      f'type="image/svg+xml"{nsize}>')
                narrow_attrs = (f' data-dx-media="{NARROW_MEDIA}" data-dx-spec-narrow="{prefix}{narrow["spec"]}"'
                                f' data-dx-spec-narrow-dark="{prefix}{narrow["specdark"]}"')
            return (
                f'<div class="dx-chart" data-dx-spec="{prefix}{names["spec"]}" '
                f'data-dx-spec-dark="{prefix}{names["specdark"]}"{narrow_attrs}>'
                # A phone gets the chart's narrow layout (the <source>); the box scrolls
                # sideways only if a chart is still wider than its column.
                f'<div class="dx-chart-scroll" role="group" tabindex="0" aria-label="{escape(title or "Chart", quote=True)}">'
                f'<div class="dx-chart-static">'
                f'<picture>{sources["light"]}'
                f'<img class="dx-chart-light" src="{prefix}{names["light"]}" alt="{escape(alt, quote=True)}"{size}'
                f'{lazy} decoding="async"></picture>'
                f'<picture>{sources["dark"]}'
                f'<img class="dx-chart-dark" src="{prefix}{names["dark"]}" alt="{escape(alt, quote=True)}"{size}'
                f' loading="lazy" decoding="async"></picture>'
                "</div></div>"
                '<details class="dx-chart-data"><summary>Data and downloads</summary>'
                f'<p>Download: {" · ".join(links)} · <a href="{prefix}{names["light"]}" download>chart (SVG)</a>'
                f' · <a href="{prefix}{names["png"]}" download>chart (PNG)</a></p>{described}{"".join(tables)}</details>'
                "</div>"
            )

        return BLOCK.sub(one, html)


def notebook_data(data: dict) -> tuple[dict, dict] | None:
    """(data, metadata) of a chart output for the downloadable notebooks, or None if
    ``data`` is no chart: a PNG of the chart (which every viewer shows, even an
    untrusted notebook in JupyterLab, GitHub's and VS Code's previews, Colab), its
    SVG, and the title as one line of ``text/plain``; no HTML, no Vega-Lite JSON."""
    import base64

    html = data.get("text/html", "")
    html = "".join(html) if isinstance(html, list) else html
    m = BLOCK.search(html) if MARKER in html else None
    if not m:
        return None
    svg = m.group("svg")
    spec = json.loads(m.group("spec").replace("<\\/", "</"))
    title = spec.get("title", {}).get("text", "") if isinstance(spec.get("title"), dict) else ""
    title = " ".join(title) if isinstance(title, list) else str(title)
    width, height = _size(svg)
    out = {"image/png": base64.b64encode(_small_png(svg)).decode("ascii"),
           "image/svg+xml": svg,
           "text/plain": f"Chart: {title}" if title else "Chart"}
    meta = {"image/png": {"width": round(float(width)), "height": round(float(height))}} if width else {}
    return out, meta


def _small_png(svg: str) -> bytes:
    """The chart as a sharp (2x) PNG in 128 colours: a tenth of the full-colour size, for notebooks."""
    from PIL import Image

    image = Image.open(io.BytesIO(_png(svg))).convert("RGB").quantize(colors=128, method=Image.Quantize.MEDIANCUT)
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()


def _png(svg: str) -> bytes:
    from defection.charts import _vl_convert  # registers the book's fonts once

    return _vl_convert().svg_to_png(svg, scale=2)


def _page_context(app: Sphinx, pagename, templatename, context, doctree) -> None:
    from .pageflags import page_shows

    if page_shows(app, pagename, "chart"):
        # Called during html-page-context, add_js_file adds the script to this page only.
        app.add_js_file("dx/dx-charts.js", loading_method="defer")
        app.add_js_file("dx/dx-explore.js", loading_method="defer")  # the charts' explorable descriptions


def setup(app: Sphinx) -> None:
    app.connect("html-page-context", _page_context)
