"""Tables the chapters show, and the one way a table reaches a page.

Every table goes through :func:`show`, which renders it with every cell
HTML-escaped (pandas ``to_html(escape=True)``). A value from ``data/`` can
therefore never become markup or script in the page, the notebook or the PDF.
Do not display a pandas ``Styler`` in a chapter: it does not escape.
"""
from __future__ import annotations

from html import escape

import pandas as pd

from . import data

__all__ = ["Table", "show", "caption", "route_summary", "us_defectors", "dictionary"]


class Table:
    """A DataFrame shown as an escaped HTML table (no index) and as plain text."""

    def __init__(self, frame: pd.DataFrame, index: bool = False):
        self.frame = frame
        self.index = index

    def _shown(self) -> pd.DataFrame:
        """The frame with every missing value empty. pandas' ``na_rep`` does not reach the
        nullable columns (``Int64``): their missing values would print as "<NA>"."""
        frame = self.frame.copy()
        for column in frame.columns:
            values = frame[column]
            if isinstance(values.dtype, pd.api.extensions.ExtensionDtype) and values.isna().any():
                frame[column] = values.astype("object").where(values.notna(), "")
        return frame

    def _repr_html_(self) -> str:
        with pd.option_context("display.max_colwidth", None):
            return self._shown().to_html(index=self.index, escape=True, border=0, na_rep="",
                                         classes=["dx-table"], justify="left")

    def __repr__(self) -> str:
        with pd.option_context("display.max_colwidth", None, "display.width", 200):
            return self._shown().to_string(index=self.index, na_rep="")


class Html:
    """A small block of HTML made only from escaped text."""

    def __init__(self, html: str, text: str):
        self._html, self._text = html, text

    def _repr_html_(self) -> str:
        return self._html

    def __repr__(self) -> str:
        return self._text


def show(frame: pd.DataFrame, index: bool = False) -> Table:
    """Display ``frame`` in a chapter: escaped, without the index unless asked."""
    return Table(frame, index=index)


def caption(title: str, text: str = "") -> Html:
    """A bold title followed by text, both escaped."""
    html = f"<p><strong>{escape(title)}</strong>{(' — ' + escape(text)) if text else ''}</p>"
    return Html(html, f"{title} — {text}" if text else title)


def _labels(series: pd.Series) -> pd.Series:
    return series.astype("object").map(lambda v: data.label(v) if pd.notna(v) else "")


def route_summary(cases: pd.DataFrame, examples: int = 3) -> pd.DataFrame:
    """Cases by route (method): count, first and last year, the earliest examples."""
    rows = []
    for method, group in cases.groupby(cases["method"].astype("object")):
        group = group.sort_values("year")
        rows.append({
            "Route": data.label(method),
            "Cases": len(group),
            "First": int(group["year"].min()),
            "Last": int(group["year"].max()),
            "Examples": "; ".join(f"{r.name} ({r.year})" for r in group.head(examples).itertuples()),
        })
    return pd.DataFrame(rows).sort_values(["Cases", "Route"], ascending=[False, True]).reset_index(drop=True)


def us_defectors(cases: pd.DataFrame) -> pd.DataFrame:
    """Americans in the dataset who defected, and how each case ended."""
    us = cases[cases["origin_country"].astype("object") == "USA"].sort_values(["year", "name"])
    return pd.DataFrame({
        "Name": us["name"],
        "Year": us["year"],
        "Went to": us["destination_name"],
        "Role": _labels(us["role"]),
        "How it ended": _labels(us["outcome"]),
        "Confidence": _labels(us["confidence"]),
    }).reset_index(drop=True)


def dictionary(name: str) -> pd.DataFrame:
    """The data dictionary of table ``name``, from ``datapackage.json``."""
    fields = data.schema(name)["schema"]["fields"]
    return pd.DataFrame({
        "column": [f["name"] for f in fields],
        "type": [f["type"] for f in fields],
        "required": ["yes" if f.get("constraints", {}).get("required") else "" for f in fields],
        "meaning": [f.get("description", "") + (" Allowed: " + ", ".join(f["constraints"]["enum"]) + "."
                    if "enum" in f.get("constraints", {}) else "") for f in fields],
    })


VIOLENT = ["assassinated", "attempted_assassination", "kidnapped"]
RETALIATION_ORDER = ["assassinated", "attempted_assassination", "kidnapped", "family_punished",
                     "sentenced_in_absentia", "other"]


def roles(cases: pd.DataFrame) -> pd.DataFrame:
    """Cases by the person's role: count, share, commonest named route, how many left a communist state."""
    rows = []
    for role, group in cases.groupby("role"):
        top = group.loc[group["method"] != "other", "method"].value_counts()
        rows.append({
            "Role": data.label(role),
            "Cases": len(group),
            "Share of all cases": f"{100 * len(group) / len(cases):.0f}%",
            "Commonest named route": f"{data.label(top.index[0])} ({int(top.iloc[0])})" if len(top) else "(none)",
            "From a communist state": int((group["origin_bloc"] == "communist").sum()),
        })
    return pd.DataFrame(rows).sort_values(["Cases", "Role"], ascending=[False, True]).reset_index(drop=True)


def not_kept(cases: pd.DataFrame) -> pd.DataFrame:
    """Every case that did not end with the person allowed to stay, oldest first."""
    failed = cases.loc[cases["outcome"] != "asylum_granted",
                       ["name", "year", "place", "method", "outcome", "confidence"]].sort_values("year")
    return pd.DataFrame({
        "Name": failed["name"], "Year": failed["year"], "Place": failed["place"].fillna(""),
        "Method": _labels(failed["method"]), "Outcome": _labels(failed["outcome"]),
        "Confidence": failed["confidence"].str.capitalize(),
    }).reset_index(drop=True)


def outcome_by_method(cases: pd.DataFrame) -> pd.DataFrame:
    """How each route ended: counts of cases, with totals."""
    table = pd.crosstab(_labels(cases["method"]), _labels(cases["outcome"]), margins=True, margins_name="Total")
    table.index.name = "How the person got out"
    table.columns.name = None
    return table.reset_index()


def retaliation_by_confidence(cases: pd.DataFrame) -> pd.DataFrame:
    """The most serious act recorded against each person, by how well the row is supported."""
    acted = cases[cases["retaliation"] != "none_known"]
    table = pd.crosstab(_labels(acted["retaliation"]).rename("Most serious act recorded"),
                        acted["confidence"].rename("Confidence of the row"), margins=True, margins_name="Total")
    order = [data.label(k) for k in RETALIATION_ORDER] + ["Total"]
    cols = [c for c in ["documented", "reported", "disputed", "Total"] if c in table.columns]
    table = table.reindex(index=[i for i in order if i in table.index], columns=cols)
    table.columns = [c.capitalize() if c != "Total" else c for c in table.columns]
    table.columns.name = None
    return table.reset_index()


def violent_acts(cases: pd.DataFrame) -> pd.DataFrame:
    """Every assassination, attempt and kidnapping in the dataset, by the year of the act."""
    violent = cases[cases["retaliation"].isin(VIOLENT)].sort_values(["retaliation_year", "name"])
    gap = violent["retaliation_year"] - violent["year"]
    return pd.DataFrame({
        "Person": violent["name"], "State left": violent["origin_name"], "Left": violent["year"],
        "Act": violent["retaliation_year"], "Years between": gap,
        "Kind": _labels(violent["retaliation"]), "Confidence": violent["confidence"],
    }).reset_index(drop=True)


# --- the case browser (data page) ----------------------------------------------

#: Columns of the case browser: heading, and how dx-cases.js sorts it.
CASE_COLUMNS = [("Name", "text"), ("Year", "number"), ("From", "text"), ("To", "text"),
                ("Route", "text"), ("Outcome", "text"), ("Confidence", "number"), ("Source", "text"),
                ("Note", "none")]  # "none": not sortable


def _cell(value) -> str:
    """A cell's text: missing is empty, everything else escaped (quotes too)."""
    return "" if value is None or pd.isna(value) else escape(str(value), quote=True)


def _note(value) -> str:
    """The row's coding note (``cases.csv`` ``note``), folded: it explains how the row was coded,
    so a row that looks odd says why. Escaped like every other cell."""
    text = _cell(value)
    return f"<details><summary>Note</summary>{text}</details>" if text else ""


def _source_link(url, title) -> str:
    """The row's source as a link; a value that is not an http(s) URL stays text, never a link."""
    text = _cell(title) or _cell(url)
    if isinstance(url, str) and url.lower().startswith(("https://", "http://")):
        return f'<a href="{_cell(url)}">{text}</a>'
    return text


def case_browser(cases: pd.DataFrame) -> Html:
    """Every case as one plain, escaped HTML table, oldest first, for the data page.

    It reads as an ordinary table without JavaScript; ``dx-cases.js`` (loaded
    only on pages that have one) adds a text filter, sortable columns and a
    live count. Countries are shown by name (``countries.csv``), coded values
    by their labels, and each row links to the source it was checked against
    and carries its coding note, folded (``<details>``). Row ids (``case-<id>``)
    let a case be linked to directly.
    """
    confidence = data.vocabulary("cases", "confidence")
    ordered = cases.sort_values(["year", "name"], kind="stable")
    sorted_by = ' aria-sort="ascending"'  # the order the build writes: by year
    head = "".join(f'<th scope="col" data-dx-sort="{kind}"{sorted_by if name == "Year" else ""}>{name}</th>'
                   for name, kind in CASE_COLUMNS)
    rows = []
    for r in ordered.itertuples(index=False):
        rank = confidence.index(r.confidence) if r.confidence in confidence else len(confidence)
        cells = [_cell(r.name), _cell(r.year), _cell(r.origin_name if pd.notna(r.origin_name) else r.origin_country),
                 _cell(r.destination_name if pd.notna(r.destination_name) else r.destination_country),
                 _cell(data.label(r.method)), _cell(data.label(r.outcome))]
        rows.append(f'<tr id="case-{_cell(r.id)}"><td>' + "</td><td>".join(cells)
                    + f'</td><td data-sort="{rank}">{_cell(data.label(r.confidence))}</td>'
                    + f"<td>{_source_link(r.source_url, r.source_title)}</td>"
                    + f"<td>{_note(getattr(r, 'note', None))}</td></tr>")
    n = len(rows)
    html = (f'<div class="dx-cases" data-dx-cases>'
            f'<div class="dx-cases-scroll" role="region" aria-labelledby="dx-cases-caption" tabindex="0">'
            f'<table class="dx-table dx-cases-table">'
            # dx-cases.js keeps the caption counting the rows shown ("12 of 130 cases shown").
            f'<caption id="dx-cases-caption">All {n} cases in cases.csv</caption>'
            f"<thead><tr>{head}</tr></thead><tbody>\n" + "\n".join(rows) + "\n</tbody></table></div></div>")
    return Html(html, f"{n} cases (the table is shown in the HTML page)")
