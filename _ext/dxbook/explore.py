"""No hook (called by the chart node's HTML visitor, ``charts.chart_html``): explorable chart descriptions.

For every chart, a tree a reader can walk from the chart to a single value,
in the order the chart shows them:

* the chart: its title and a one-line summary (the first sentence of its text
  alternative);
* its axes and legends: one item per encoding that groups the marks (a nominal
  or ordinal ``x``, ``y``, colour, shape, facet row or column), and one per
  quantitative axis, with the range of its values;
* the groups of each grouping encoding (a decade, a country, an outcome), in
  the chart's order (its ``sort`` or scale domain, else ascending);
* every mark of a group, with the values its tooltip shows (or, without a
  tooltip, its encoded fields), ordered along the chart's other encodings.

Marks that no encoding groups (a line of fee changes, milestone rules on a
year axis) are listed under the first quantitative axis. Text labels that only
repeat another mark's data, or carry no tooltip, are left out.

The tree is built from the chart's own Vega-Lite encodings (the ``view`` of
``defection.charts.render_chart``) and the
same inline datasets the chart draws and the "Data and downloads" box offers as
CSV (``charts.datasets``; item ``data-dx-data`` numbers are those CSV files).

The HTML is a plain nested list, readable without JavaScript; ``dx-explore.js``
turns it into a WAI-ARIA tree (``role="tree"``, arrow keys, roving tabindex).
Every value is escaped.

The tree is a page of its own (:func:`page`, beside the chart's other files), not
part of the chapter: a chapter's trees were 14 to 34 kB of its HTML and up to a
thousand of its elements, for a box most readers never open. The box holds a link
to it (:func:`placeholder`); ``dx-explore.js`` loads the tree into the box when the
box is opened, and without JavaScript the link opens the list.
"""
from __future__ import annotations

import math
import re
from datetime import datetime
from html import escape

GROUP_CHANNELS = ("row", "column", "facet", "x", "y", "color", "fill", "stroke", "shape", "detail")
POSITION = ("x", "y")
CHANNEL_ORDER = GROUP_CHANNELS  # groups and their items are listed in the channels' order
VALUE_CHANNELS = ("x", "x2", "y", "y2", "color", "fill", "size", "shape", "text", "row", "column")
ROLE = {"x": "X axis", "y": "Y axis", "color": "Colour", "fill": "Colour", "stroke": "Colour",
        "shape": "Shape", "row": "Panels (rows)", "column": "Panels (columns)", "facet": "Panels",
        "detail": "Places"}  # a map's markers, grouped by country
NOUN = {"bar": ("bar", "bars"), "rect": ("cell", "cells"), "circle": ("circle", "circles"),
        "point": ("point", "points"), "square": ("square", "squares"), "rule": ("line", "lines"),
        "line": ("point on the line", "points on the line"), "text": ("label", "labels"),
        "tick": ("tick", "ticks"), "area": ("point", "points")}


# --- reading the spec ---------------------------------------------------------


def _mark(spec) -> str:
    mark = spec.get("mark")
    return mark.get("type", "") if isinstance(mark, dict) else str(mark or "")


def _units(spec: dict, data=None, encoding=None, facet=None):
    """Every single-mark view of ``spec``: (mark, dataset name, encoding incl. facet channels)."""
    data = spec.get("data", data)
    encoding = {**(encoding or {}), **spec.get("encoding", {})}
    f = spec.get("facet")
    facet = dict(facet or {})
    if isinstance(f, dict):
        facet.update({"facet": f} if "field" in f else {k: v for k, v in f.items() if k in ("row", "column")})
    for key in ("vconcat", "hconcat", "concat", "layer"):
        for sub in spec.get(key, []):
            yield from _units(sub, data, encoding if key == "layer" else None, facet)
    if "spec" in spec:
        yield from _units(spec["spec"], data, encoding, facet)
    if "mark" in spec:
        name = data.get("name") if isinstance(data, dict) else None
        if name:
            yield _mark(spec), name, {**facet, **encoding}


def _title(defn: dict, tips: dict) -> str:
    if defn.get("title"):
        t = defn["title"]
        return " ".join(t) if isinstance(t, list) else str(t)
    for holder in ("axis", "legend", "header"):
        if isinstance(defn.get(holder), dict) and defn[holder].get("title"):
            return str(defn[holder]["title"])
    return tips.get(defn.get("field"), str(defn.get("field", "")))


class Series:
    """The marks drawn from one dataset (a layer's marks that share data are one series)."""

    def __init__(self, name: str, rows: list[dict], index: int):
        self.name, self.rows, self.index = name, rows, index
        self.marks: list[str] = []
        self.enc: dict[str, dict] = {}
        self.tooltip: list[dict] = []

    def add(self, mark: str, encoding: dict) -> None:
        self.marks.append(mark)
        for channel, defn in encoding.items():
            if channel == "tooltip":
                if isinstance(defn, list) and not self.tooltip:
                    self.tooltip = [d for d in defn if isinstance(d, dict) and d.get("field")]
                elif isinstance(defn, dict) and defn.get("field") and not self.tooltip:
                    self.tooltip = [defn]
                continue
            if not isinstance(defn, dict) or not defn.get("field"):
                continue
            old = self.enc.get(channel)
            # Of two layers encoding the same channel, keep the one with an axis and a title.
            if old is None or (old.get("axis", 0) is None and defn.get("axis", 0) is not None) \
                    or (not old.get("title") and defn.get("title")):
                self.enc[channel] = defn

    @property
    def text_only(self) -> bool:
        return all(m == "text" for m in self.marks)

    def grouping(self) -> list[str]:
        out = []
        for ch in GROUP_CHANNELS:
            d = self.enc.get(ch)
            if not d or d.get("type") not in ("nominal", "ordinal") or d.get("aggregate"):
                continue
            if ch in POSITION and d.get("axis", 0) is None:
                continue  # a layout offset, not a group the reader sees
            out.append(ch)
        return out

    def noun(self, n: int) -> str:
        kinds = {NOUN.get(m, ("mark", "marks")) for m in self.marks if m != "text"} or {NOUN["text"]}
        one, many = kinds.pop() if len(kinds) == 1 else ("mark", "marks")
        return f"{n} {one if n == 1 else many}"


# --- values -------------------------------------------------------------------


def _missing(v) -> bool:
    return v is None or v == "" or (isinstance(v, float) and math.isnan(v))


def fmt(value, spec: str | None = None, kind: str | None = None) -> str:
    """A value as the chart writes it (a subset of d3-format / d3-time-format)."""
    if _missing(value):
        return "no value"
    if kind == "temporal" or (isinstance(value, str) and re.match(r"\d{4}-\d\d-\d\dT", value)):
        try:
            when = datetime.fromisoformat(str(value)) if isinstance(value, str) \
                else datetime.utcfromtimestamp(float(value) / 1000)
        except ValueError:
            return str(value)
        return when.strftime(spec) if spec and "%" in spec else when.date().isoformat()
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    spec = spec or ""
    m = re.fullmatch(r"(\$)?(,)?(?:\.(\d+))?(~)?([dfes%])?", spec)
    if not m:
        return _plain(value)
    dollar, comma, prec, _, kind_ = m.groups()
    if kind_ == "%":
        text = f"{value * 100:{',' if comma else ''}.{int(prec or 0)}f}%"
    elif kind_ == "d":
        text = f"{round(value):{',' if comma else ''}d}"
    elif kind_ == "f":
        text = f"{value:{',' if comma else ''}.{int(prec or 6)}f}"
    else:
        text = f"{int(value):,}" if comma and float(value).is_integer() else _plain(value)
    return ("$" if dollar else "") + text


def _plain(value) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return f"{value:.12g}" if isinstance(value, float) else str(value)


def _key(value):
    """A sort key that orders numbers, dates and text, missing last."""
    if _missing(value):
        return (2, 0, "")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return (0, value, "")
    return (1, 0, str(value))


def _order(defn: dict, rows: list[dict]) -> list:
    """The groups of encoding ``defn`` in the chart's order."""
    field = defn["field"]
    seen = list(dict.fromkeys(r.get(field) for r in rows))
    sort = defn.get("sort", "ascending")
    domain = (defn.get("scale") or {}).get("domain")
    if isinstance(domain, list):
        sort = domain
    if isinstance(sort, list):
        first = [v for v in sort if v in seen]
        return first + [v for v in seen if v not in first]
    if sort is None:
        return seen
    if sort in ("ascending", "descending"):
        return sorted(seen, key=_key, reverse=sort == "descending")
    return seen  # sorted by another field or channel: the data's order, which the chart functions set


# --- the tree -----------------------------------------------------------------


def _li(label: str, children: list[str] | None = None, attrs: str = "") -> str:
    if children is None:
        return f"<li{attrs}>{label}</li>"
    return f"<li{attrs}><span>{label}</span><ul>{''.join(children)}</ul></li>"


def _summary(description: str) -> str:
    m = re.match(r"(.+?[.!?])(\s|$)", description.strip(), re.S)
    return (m.group(1) if m else description).strip()


def tree(view: dict, datasets: list[tuple[str, list[dict]]], title: str) -> str:
    """The explorable description of one chart, as HTML (a nested list)."""
    index = {name: i for i, (name, _) in enumerate(datasets)}
    rows_of = dict(datasets)
    series: dict[str, Series] = {}
    for mark, name, encoding in _units(view):
        if name not in rows_of:
            continue
        s = series.setdefault(name, Series(name, rows_of[name], index[name]))
        s.add(mark, encoding)
    drawn = list(series.values())  # in the order the spec draws them
    # Labels that repeat another mark's rows, or have no tooltip, add nothing a reader can explore.
    keep = []
    for s in drawn:
        if s.text_only:
            others = [o for o in drawn if o is not s and not o.text_only]
            if not s.tooltip or any(all(r in o.rows for r in s.rows) for o in others):
                continue
        keep.append(s)

    tips = {}
    for s in keep:
        for t in s.tooltip:
            tips.setdefault(t["field"], str(t.get("title") or t["field"]))

    def point_text(s: Series, row: dict) -> str:
        if s.tooltip:
            fields = [(str(t.get("title") or t["field"]), row.get(t["field"]), t.get("format"), t.get("type"))
                      for t in s.tooltip]
        else:
            fields, seen_f = [], set()
            for ch in VALUE_CHANNELS:
                d = s.enc.get(ch)
                if d and d["field"] not in seen_f:
                    seen_f.add(d["field"])
                    fmt_ = (d.get("axis") or {}).get("format") if isinstance(d.get("axis"), dict) else None
                    fmt_ = None if d.get("type") == "temporal" else fmt_  # a mark's full date, not the axis's year
                    fields.append((_title(d, tips), row.get(d["field"]), d.get("format") or fmt_, d.get("type")))
        return escape("; ".join(f"{t}: {fmt(v, f, k)}" for t, v, f, k in fields))

    def sorted_points(s: Series, rows: list[dict], skip: str | None) -> list[dict]:
        orders = {}
        for ch in s.grouping():
            if s.enc[ch]["field"] != skip:
                groups = _order(s.enc[ch], s.rows)
                orders[s.enc[ch]["field"]] = {_hash(v): i for i, v in enumerate(groups)}
        quant = [s.enc[ch]["field"] for ch in POSITION if ch in s.enc
                 and s.enc[ch].get("type") in ("quantitative", "temporal")]
        order_field = (s.enc.get("order") or {}).get("field")

        def key(item):
            i, row = item
            return (tuple(orders[f].get(_hash(row.get(f)), 1 << 30) for f in orders),
                    _key(row.get(order_field)) if order_field else (0, 0, ""),
                    tuple(_key(row.get(f)) for f in quant), i)
        return [row for _, row in sorted(enumerate(rows), key=key)]

    # One node per grouping field (merging the channels that show it), then the quantitative axes.
    nodes: dict[str, dict] = {}
    for s in keep:
        for ch in s.grouping():
            d = s.enc[ch]
            node = nodes.setdefault(d["field"], {"channels": [], "series": [], "defn": d})
            if ch not in node["channels"]:
                node["channels"].append(ch)
            if s not in node["series"]:
                node["series"].append(s)
    ungrouped = [s for s in keep if not s.grouping()]

    items = []
    for field, node in nodes.items():
        defn = node["defn"]
        roles = [ROLE[c] for c in node["channels"]]
        role = " and ".join(dict.fromkeys(roles))
        if any(c in ("color", "fill", "stroke", "shape") for c in node["channels"]) and \
                all(s.enc[c].get("legend", 0) is not None for s in node["series"] for c in node["channels"]
                    if c in ("color", "fill", "stroke", "shape") and c in s.enc):
            role += " legend" if role.endswith(("Colour", "Shape")) else ""
        all_rows = [r for s in node["series"] for r in s.rows]
        groups = _order(defn, all_rows)
        children = []
        for value in groups:
            points, count_by = [], {}
            for s in node["series"]:
                mine = [r for r in s.rows if _hash(r.get(field)) == _hash(value)]
                if not mine:
                    continue
                count_by[s.name] = (s, len(mine))
                points += [f"<li>{point_text(s, r)}</li>" for r in sorted_points(s, mine, field)]
            counts = ", ".join(s.noun(n) for s, n in count_by.values())
            total = ""
            for s, _ in count_by.values():
                for ch in POSITION:
                    d = s.enc.get(ch)
                    if d and d.get("aggregate") == "sum" and d.get("type") == "quantitative":
                        got = sum(r.get(d["field"]) or 0 for r in s.rows if _hash(r.get(field)) == _hash(value))
                        total = f"; {escape(_title(d, tips))} (total): {fmt(got)}"
            label = f"{escape(fmt(value, (defn.get('axis') or {}).get('format') if isinstance(defn.get('axis'), dict) else None, defn.get('type')))}: {counts}{total}"
            children.append(f"<li><span>{label}</span><ul>{''.join(points)}</ul></li>")
        numbers = " ".join(str(s.index + 1) for s in node["series"])
        items.append((min(CHANNEL_ORDER.index(c) for c in node["channels"]),
                      _li(f"{escape(role)}: {escape(_title(defn, tips))}, {len(groups)} groups", children,
                          f' data-dx-field="{escape(field, quote=True)}" data-dx-data="{numbers}"')))

    quant_axes = {}
    for s in keep:
        for ch in POSITION:
            d = s.enc.get(ch)
            if d and d.get("type") in ("quantitative", "temporal") and d.get("axis", 0) is not None \
                    and ch not in quant_axes:
                quant_axes[ch] = (d, [])
        for ch in POSITION:
            if ch in quant_axes:
                d = s.enc.get(ch)
                if d and d.get("type") in ("quantitative", "temporal"):
                    values = [r.get(d["field"]) for r in s.rows]
                    d2 = s.enc.get(ch + "2")
                    if d2:
                        values += [r.get(d2["field"]) for r in s.rows]
                    quant_axes[ch][1].extend(v for v in values if not _missing(v))
    first_quant = next(iter(quant_axes), None)
    for ch, (d, values) in quant_axes.items():
        axis_fmt = (d.get("axis") or {}).get("format") if isinstance(d.get("axis"), dict) else None
        if axis_fmt and "s" in axis_fmt:
            axis_fmt = "$,d" if axis_fmt.startswith("$") else ",d"
        span = ""
        if values:
            lo, hi = min(values, key=_key), max(values, key=_key)
            span = f", data from {escape(fmt(lo, axis_fmt, d.get('type')))} to {escape(fmt(hi, axis_fmt, d.get('type')))}"
        label = f"{ROLE[ch]}: {escape(_title(d, tips))}{span}"
        if ch == first_quant and ungrouped:
            points = [f"<li>{point_text(s, r)}</li>" for s in ungrouped for r in sorted_points(s, s.rows, None)]
            numbers = " ".join(str(s.index + 1) for s in ungrouped)
            items.append((CHANNEL_ORDER.index(ch), _li(f"{label}, {sum(len(s.rows) for s in ungrouped)} marks along it",
                                                       points, f' data-dx-data="{numbers}"')))
        else:
            items.append((CHANNEL_ORDER.index(ch), _li(label)))
    items = [html for _, html in sorted(items, key=lambda item: item[0])]  # panels, x, y, then legends

    heading = title if title.rstrip().endswith((".", "?", "!")) else title + "."
    root = f"Chart: {escape(heading)} {escape(_summary(view.get('description', '')))}"
    # The keys work once dx-explore.js has made the list a tree; it shows their help then.
    return ('<div class="dx-explore"><p class="dx-explore-help">Explore the chart: its axes and legend, '
            'their groups and every value.<span class="dx-explore-keys" hidden> With a keyboard: arrow keys '
            'move, Enter opens and closes, Home and End jump.</span></p>'
            f'<ul class="dx-explore-tree" aria-label="{escape(f"Explore the chart “{title}”", quote=True)}">'
            f"{_li(root, items)}</ul></div>")


def _page_name(title: str) -> str:
    """The tree page's heading, and the name of the link to it."""
    return f"Explore the chart “{title}”" if title else "Explore the chart"


def page(tree_html: str, title: str, policy: str, book: str = "") -> str:
    """The description as a standalone page: what :func:`placeholder` links to and what
    ``dx-explore.js`` loads the ``div.dx-explore`` of. It is an asset of the chart (under
    ``_static/charts``), not indexed; the same content policy as every page."""
    name = _page_name(title)
    head_title = f"{name} — {book}" if book else name
    return ('<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<meta http-equiv="Content-Security-Policy" content="{escape(policy, quote=True)}">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            '<meta name="robots" content="noindex"><meta name="color-scheme" content="light dark">'
            f"<title>{escape(head_title)}</title>"
            '<link rel="stylesheet" href="../dx/dx.css">'
            '<script defer src="../dx/dx-explore.js"></script></head>'
            f'<body><main class="dx-explore-page"><h1>{escape(name)}</h1>{tree_html}</main></body></html>\n')


def placeholder(href: str, title: str) -> str:
    """What the chapter's data box holds instead of the tree: a link to its page, which
    ``dx-explore.js`` replaces with the tree itself when the box is opened."""
    label = escape(_page_name(title), quote=True)
    return (f'<div class="dx-explore" data-dx-explore="{escape(href, quote=True)}">'
            f'<p class="dx-explore-help"><a href="{escape(href, quote=True)}" aria-label="{label}">Explore the chart</a>: '
            "its axes and legend, their groups and every value, as a list you can walk with the keyboard.</p></div>")


def _hash(value):
    return ("\0missing",) if _missing(value) else (type(value) is str, value)
