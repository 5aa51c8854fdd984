"""A myst-nb MIME render plugin, a node and its HTML visitor (``add_node``): the book's charts.

A chart output carries ``defection.CHART_MIME``: the chart as data (the package's
``charts.render_chart``: title, text alternative, encodings, and per layout the static
SVG, its dark twin and both compiled Vega specs). myst-nb hands it to :class:`ChartMime`,
a MIME render plugin (entry point ``myst_nb.mime_renderers``, declared in
``_ext/pyproject.toml``), which makes a :class:`dx_chart` node. When the page is written,
the node's HTML visitor (:func:`visit_dx_chart_html`) writes the chart's files, once per
content hash, and the markup:

* two ``<picture>`` (light and dark) of the build-time SVGs, with the chart's
  text alternative as ``alt``: an image costs the page no style or layout work,
  unlike some 2,000 inline SVG elements per chart. Each picture offers the
  chart's narrow (phone) layout to a viewport of at most ``NARROW_MEDIA``, so
  the browser fetches only the layout it shows;
* a folded "Data and downloads" box: the data the chart shows as a table (for
  screen readers, and anyone who prefers numbers) and links to it as CSV and
  to the chart as SVG and PNG, and the chart's explorable description (``explore``);
* the Vega specs as files, fetched by ``dx/dx-charts.js`` only when the chart
  nears the viewport, which then also loads the vendored Vega runtime and its
  CSP-safe expression interpreter (``static/dx/README.txt``) and follows the
  page's theme and, by the same media query, the layout the pictures show.

The files go to ``_static/charts/``, named by content hash. Only pages with a
chart load the chart script (``pageflags``). The EPUB shows a PNG instead (``epub``).
"""
from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
import re
from html import escape
from pathlib import Path

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.util import logging
from sphinx.util.osutil import relative_uri

from defection import CHART_MIME

from . import explore
from .finish import write_atomically

logger = logging.getLogger(__name__)

CHART_DIR = Path("_static") / "charts"
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


def _columns(rows: list[dict], order=None) -> list:
    """The rows' columns: in ``order`` (the chart's, ``defection.charts.render_chart``), then any other."""
    return list(dict.fromkeys([*(order or []), *(k for row in rows for k in row)]))


def to_csv(rows: list[dict], order=None) -> str:
    """The chart's data as CSV; a text cell that a spreadsheet would run as a formula
    (``=``, ``+``, ``-``, ``@``, tab, carriage return) gets a leading ``'`` (CSV injection)."""
    from defection.csvsafe import line_terminator, neutralise

    columns = _columns(rows, order)
    safe = [{neutralise(str(k)): neutralise(v) for k, v in row.items()} for row in rows]
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=[neutralise(str(c)) for c in columns],
                            lineterminator=line_terminator(v for row in safe for v in [*row, *row.values()]))
    writer.writeheader()
    writer.writerows(safe)
    return out.getvalue()


def data_table(rows: list[dict], caption: str, order=None) -> str:
    columns = _columns(rows, order)
    head = "".join(f'<th scope="col">{escape(str(c))}</th>' for c in columns)
    body = "".join("<tr>" + "".join(f"<td>{escape(str(row.get(c, '')))}</td>" for c in columns) + "</tr>"
                   for row in rows)
    return (f'<table class="dx-chart-table"><caption>{escape(caption)}</caption>'
            f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")


def _size(svg: str) -> tuple[str, str]:
    m = re.search(r'<svg[^>]*\bwidth="([\d.]+)"[^>]*\bheight="([\d.]+)"', svg)
    return (m.group(1), m.group(2)) if m else ("", "")


class dx_chart(nodes.General, nodes.Element):
    """A chart: ``defection.charts.render_chart``'s data in ``node["chart"]``, as canonical JSON
    text (:func:`canonical`), not as nested objects: Sphinx unpickles a chapter's doctree each time
    a reference to it is resolved, and a chart's thousands of objects made that ten times slower
    (about 20 s more per cold build). :func:`chart_data` reads it. On the front page
    (``frontpage``) ``node["front"]`` asks for its pictures only, loaded with the page."""


class ChartMime:
    """myst-nb's MIME render plugin (entry point ``myst_nb.mime_renderers``, ``_ext/pyproject.toml``)
    for the book's chart mime type: a chart output becomes a :class:`dx_chart` node carrying its
    data, so no chart reaches Sphinx as HTML. Every other type, and a project that does not load
    this extension, is left to myst-nb."""

    mime_priority_overrides = [(builder, CHART_MIME, 1) for builder in ("html", "dirhtml", "singlehtml", "epub")]

    @staticmethod
    def handle_mime(renderer, data, inline):
        if data.mime_type != CHART_MIME or inline:
            return None
        env = getattr(renderer.renderer, "sphinx_env", None)
        if env is None or "dxbook" not in env.app.extensions:
            return None
        return [dx_chart(chart=canonical(data.content))]


def canonical(chart) -> str:
    """A chart as JSON text with sorted keys (the same text however the notebook stored it);
    text is returned as it is."""
    return chart if isinstance(chart, str) else json.dumps(chart, sort_keys=True, separators=(",", ":"),
                                                           ensure_ascii=False)


def chart_data(node: dx_chart) -> dict:
    """The chart a node carries, as data."""
    return json.loads(node["chart"])


def chart_key(chart) -> str:
    """A chart's files are named by this hash of its content (data, or its canonical text)."""
    return hashlib.sha256(canonical(chart).encode("utf-8")).hexdigest()[:16]


def hashed_files(doctree) -> dict[Path, list[str]]:
    """The content hashes of the page's charts, whose files the page needs (``finish.remove_stale``)."""
    return {CHART_DIR: [chart_key(node["chart"]) for node in doctree.findall(dx_chart)]}


class ChartFiles:
    """A chart's files in ``folder`` of the output folder, each written once: names carry
    the chart's content hash, so a file that exists holds the right bytes."""

    def __init__(self, outdir: Path, chart, folder: Path = CHART_DIR):
        """``chart``: the chart as data, or as its canonical text (a node's)."""
        self.dir = Path(outdir) / folder
        self.dir.mkdir(parents=True, exist_ok=True)
        self.key = chart_key(chart)
        self.chart = json.loads(chart) if isinstance(chart, str) else chart

    def write(self, suffix: str, payload) -> str:
        """Write ``payload`` (bytes, text, JSON data or a function making bytes) as
        ``<key><suffix>`` unless that file exists; returns the file's name."""
        name = f"{self.key}{suffix}"
        path = self.dir / name
        if not path.is_file():
            payload = payload() if callable(payload) else payload
            if not isinstance(payload, bytes):  # JSON data as canonical text: the same bytes however stored
                payload = canonical(payload)
            # Pages written in parallel may write the same chart.
            write_atomically(path, payload if isinstance(payload, bytes) else payload.encode("utf-8"))
        return name


def _pictures(files: ChartFiles, prefix: str, eager: bool, front: bool) -> str:
    """The chart's two ``<picture>`` (light, dark), each offering the narrow layout to a phone."""
    chart = files.chart
    wide, narrow = chart["wide"], chart.get("narrow")
    alt = escape(chart["description"], quote=True)
    width, height = _size(wide["svg"])
    size = f' width="{width}" height="{height}"' if width else ""
    sources = {"light": "", "dark": ""}
    if narrow:
        nwidth, nheight = _size(narrow["svg"])
        nsize = f' width="{nwidth}" height="{nheight}"' if nwidth else ""
        for theme, svg, suffix in (("light", narrow["svg"], ".narrow.svg"), ("dark", narrow["svg_dark"], ".narrow.dark.svg")):
            sources[theme] = (f'<source media="{NARROW_MEDIA}" srcset="{prefix}{files.write(suffix, svg)}" '
                              f'type="image/svg+xml"{nsize}>')
    light, dark = files.write(".svg", wide["svg"]), files.write(".dark.svg", wide["svg_dark"])
    # On the front page the picture is on the first screen: it loads with the page, first.
    first = ' fetchpriority="high"' if front else ""
    lazy = "" if eager else ' loading="lazy"'
    return (f'<div class="dx-chart-static">'
            f'<picture>{sources["light"]}'
            f'<img class="dx-chart-light"{first} src="{prefix}{light}" alt="{alt}"{size}{lazy} decoding="async"></picture>'
            f'<picture>{sources["dark"]}'
            f'<img class="dx-chart-dark" src="{prefix}{dark}" alt="{alt}"{size} loading="lazy" decoding="async"></picture>'
            "</div>")


def explore_page(files: ChartFiles, shown, book: str = "") -> str | None:
    """Write the chart's explorable description as its own page; returns the file's name, or None
    for a chart without a view. The name carries a digest of the page (it depends on ``explore``'s
    code and the site's policy, not only on the chart): an older version for the same chart is removed."""
    chart = files.chart
    if not chart.get("view"):
        return None
    from .security import site_policy

    title = chart["title"]
    html = explore.page(explore.tree(chart["view"], shown, title), title, site_policy(), book).encode("utf-8")
    name = files.write(f".explore-{hashlib.sha256(html).hexdigest()[:8]}.html", html)
    for old in files.dir.glob(f"{files.key}.explore-*.html"):
        if old.name != name:
            old.unlink(missing_ok=True)
    return name


def chart_html(files: ChartFiles, prefix: str, eager: bool, book: str = "") -> str:
    """A chart as the site shows it: its pictures in a box that scrolls sideways only if a
    chart is still wider than its column, the data box ("Data and downloads": the data as
    tables and CSV, the chart as SVG and PNG, a link to its explorable description, a page of its own
    that ``dx-explore.js`` loads into the box when it is opened), and the Vega specs
    as files that ``dx-charts.js`` fetches when the chart nears the viewport."""
    chart = files.chart
    wide, narrow, title = chart["wide"], chart.get("narrow"), chart["title"]
    spec = files.write(".vg.json", wide["vega"])
    spec_dark = files.write(".dark.vg.json", wide["vega_dark"])
    narrow_attrs = ""
    if narrow:
        narrow_attrs = (f' data-dx-media="{NARROW_MEDIA}"'
                        f' data-dx-spec-narrow="{prefix}{files.write(".narrow.vg.json", narrow["vega"])}"'
                        f' data-dx-spec-narrow-dark="{prefix}{files.write(".narrow.dark.vg.json", narrow["vega_dark"])}"')
    tables, links = [], []
    shown = datasets(wide["vega"])
    for i, (name, rows) in enumerate(shown):
        order = chart.get("columns", {}).get(name)
        csv_name = files.write(f".{i + 1}.csv", to_csv(rows, order))
        links.append(f'<a href="{prefix}{csv_name}" download>data{f" {i + 1}" if i else ""} (CSV)</a>')
        tables.append(data_table(rows, f"The data of the chart “{title}”" + (f", part {i + 1}" if i else ""), order))
    png = files.write(".png", lambda: svg_to_png(wide["svg"]))
    described = explore_page(files, shown, book)
    described = explore.placeholder(prefix + described, title) if described else ""
    return (
        f'<div class="dx-chart" data-dx-spec="{prefix}{spec}" data-dx-spec-dark="{prefix}{spec_dark}"{narrow_attrs}>'
        f'<div class="dx-chart-scroll" role="group" tabindex="0" aria-label="{escape(title or "Chart", quote=True)}">'
        f"{_pictures(files, prefix, eager, front=False)}</div>"
        '<details class="dx-chart-data"><summary>Data and downloads</summary>'
        f'<p>Download: {" · ".join(links)} · <a href="{prefix}{files.write(".svg", wide["svg"])}" download>chart (SVG)</a>'
        f' · <a href="{prefix}{png}" download>chart (PNG)</a></p>{described}{"".join(tables)}</details>'
        "</div>"
    )


def visit_dx_chart_html(self, node: dx_chart) -> None:
    """The HTML visitor (site builders): the chart's files written, its markup appended.

    The page's first chart loads with the page, so that its picture is there before the chart
    script takes over; a heavy picture (a map: 150 to 370 kB of SVG, the other charts under
    90 kB) never does: it loads when scrolled near, and the next light chart loads with the page
    instead. Every other chart, and every dark twin, loads when near."""
    builder = self.builder
    prefix = relative_uri(builder.get_target_uri(builder.current_docname), CHART_DIR.as_posix() + "/")
    files = ChartFiles(builder.outdir, node["chart"])
    if node.get("front"):
        self.body.append(_pictures(files, prefix, eager=True, front=True))
        raise nodes.SkipNode
    eager = not getattr(self, "_dx_chart_eager", False) and not is_heavy(files.chart["wide"]["svg"])
    if eager:
        self._dx_chart_eager = True
    self.body.append(chart_html(files, prefix, eager, builder.config.project))
    raise nodes.SkipNode


def notebook_data(data: dict) -> tuple[dict, dict] | None:
    """(data, metadata) of a chart output for the downloadable notebooks, or None if
    ``data`` is no chart: the package's PNG of the chart (which every viewer shows, even an
    untrusted notebook in JupyterLab, GitHub's and VS Code's previews, Colab), its SVG, and
    the title as one line of ``text/plain``; no Vega-Lite JSON, nor the book's own type."""
    import base64

    from defection.charts import notebook_png

    chart = data.get(CHART_MIME)
    if not isinstance(chart, dict):
        return None
    svg, title = chart["wide"]["svg"], chart["title"]
    width, height = _size(svg)
    png = data.get("image/png") or base64.b64encode(notebook_png(svg)).decode("ascii")
    out = {"image/png": png, "image/svg+xml": svg, "text/plain": f"Chart: {title}" if title else "Chart"}
    meta = {"image/png": {"width": round(float(width)), "height": round(float(height))}} if width else {}
    return out, meta


def svg_to_png(svg: str) -> bytes:
    """The chart's PNG (twice its size), from the package (imported here: it loads Altair)."""
    from defection.charts import svg_to_png as draw

    return draw(svg, scale=2)


def _page_context(app: Sphinx, pagename, templatename, context, doctree) -> None:
    from .pageflags import page_shows

    if page_shows(app, pagename, "chart"):
        # Called during html-page-context, add_js_file adds the script to this page only.
        app.add_js_file("dx/dx-charts.js", loading_method="defer")
        app.add_js_file("dx/dx-explore.js", loading_method="defer")  # the charts' explorable descriptions


def _unsupported(self, node) -> None:
    raise NotImplementedError(f"a chart has no rendering for the {self.builder.name!r} builder")


def setup(app: Sphinx) -> None:
    app.add_node(dx_chart, html=(visit_dx_chart_html, None), latex=(_unsupported, None), text=(_unsupported, None))
    app.connect("html-page-context", _page_context)
