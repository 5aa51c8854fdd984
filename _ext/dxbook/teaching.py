"""``doctree-read`` (purged and merged): the teacher's printed kit, per chapter, from ``teaching/<chapter>.yml`` and the chapter.

Hooks: ``doctree-read`` records each chapter's exercises and solutions (as resolved by
sphinx-exercise, outputs included) on ``env``, kept right by ``env-purge-doc`` and
``env-merge-info``; ``worksheets.collect_pages`` (``html-collect-pages``) calls the renderers here. Pages:

* the worksheet gains the chapter's discussion questions and a by-hand task whose table
  is printed from ``data/`` (so a class without computers can do it);
* the teacher's key (``keys/<chapter>.html``) answers every item of the worksheet: the
  quiz with reasons, the exercises (model answers from the chapter's solutions), the
  by-hand task, marking guidance for the discussion, and the rubric of the marked task;
* ``tasks/<chapter>.html``: the non-coding marked task (a source to weigh) with its rubric;
* ``cards/<chapter>.html``: every card set the lesson plans use, page-ready; case cards
  are printed from ``data/`` at build time so their facts follow the data;
* ``vocabulary/<chapter>.html``: key vocabulary with plain definitions, sentence
  starters for the discussion and one extension reading.

Everything from the YAML or ``data/`` is escaped. A problem in a teaching file (a row
id, column, glossary term or citation key that does not exist) stops the build with
file and line.
"""
from __future__ import annotations

import json
import re
from html import escape
from pathlib import Path

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.util.docutils import SphinxDirective

from .questions import _locate, inline, load_yaml

COUNTRY_COLUMNS = ("origin_country", "destination_country", "country")
TABLES = {"cases": "id", "events": "id", "renunciations": "year", "nk_arrivals": "year", "us_rules": "rule",
          "countries": "code"}


class TeachingError(ValueError):
    """A teaching file is malformed; the message names file and line."""


# --- reading and checking the teaching files ------------------------------------------------


def load_teaching(root: Path) -> dict[str, dict]:
    """Every ``teaching/*.yml``, validated, keyed by chapter docname."""
    root = Path(root)
    folder = root / "teaching"
    if not (folder / "schema.json").is_file():
        return {}
    schema = json.loads((folder / "schema.json").read_text(encoding="utf-8"))
    terms = glossary_terms(root)
    keys = set(re.findall(r"@\w+\{([^,\s]+),", (root / "references.bib").read_text(encoding="utf-8")))
    found = {}
    for path in sorted(folder.glob("*.yml")):
        raw, text = load_yaml(path, schema, TeachingError)

        def fail(keys_, message):
            raise TeachingError(f"{_locate(path, text, keys_)}: {message}")

        _check_rows(raw.get("by_hand", {}).get("table"), ["by_hand", "table"], fail)
        for i, cards in enumerate(raw.get("cards", [])):
            if cards["kind"] == "cases":
                _check_rows({"source": "cases", "ids": cards["ids"], "columns": cards["fields"]},
                            ["cards", i], fail)
                for ident in cards.get("notes", {}):
                    if ident not in cards["ids"] or "note" not in cards["fields"]:
                        fail(["cards", i, "notes", ident], f"a note for {ident!r}, which is not a card of this set "
                                                           "with a note field")
            for j, item in enumerate(cards.get("items", [])):
                if item.get("cite") and item["cite"] not in keys:
                    fail(["cards", i, "items", j], f"no bibliography key {item['cite']!r} in references.bib")
        for i, word in enumerate(raw.get("vocabulary", [])):
            if word["term"].lower() not in terms:
                fail(["vocabulary", i], f"{word['term']!r} is not a term in chapters/glossary.md")
        for where, key in ((["extension"], raw.get("extension", {}).get("cite")),
                           (["assessment"], raw.get("assessment", {}).get("source_cite"))):
            if key and key not in keys:
                fail(where, f"no bibliography key {key!r} in references.bib")
        raw["_path"] = str(path.relative_to(root))
        found[raw["chapter"]] = raw
    return found


def glossary_terms(root: Path) -> set[str]:
    """The glossary's terms (lower case): in its ``{glossary}`` block, a line at the margin
    followed by an indented definition."""
    text = (Path(root) / "chapters" / "glossary.md").read_text(encoding="utf-8")
    block = text[text.index("```{glossary}"):]
    return {m.group(1).strip().lower() for m in re.finditer(r"^([^\s:`][^\n]*)\n  \S", block, re.M)}


def _check_rows(spec, where, fail):
    if not spec:
        return
    from defection import data

    frame = getattr(data, spec["source"])()  # the table's loader, e.g. data.cases()
    key = TABLES[spec["source"]]
    for column in spec.get("columns", []):
        if column not in frame.columns:
            fail(where, f"{spec['source']} has no column {column!r}")
    wanted = [str(v) for v in spec.get("ids", spec.get("years", []))]
    have = set(frame[key].astype(str))
    missing = [v for v in wanted if v not in have]
    if missing:
        fail(where, f"no row {', '.join(missing)} in data/{spec['source']}.csv")


def data_rows(spec: dict) -> tuple[list[str], list[list[str]]]:
    """Headers and rows (as display text) of the rows of ``data/`` a teaching file names."""
    from defection import data

    frame = getattr(data, spec["source"])()
    key = TABLES[spec["source"]]
    countries = data.countries()
    names = dict(zip(countries["code"].astype(str), countries["name"].astype(str)))
    wanted = [str(v) for v in spec.get("ids", spec.get("years", []))]
    by_key: dict[str, list[dict]] = {}
    for k, row in zip(frame[key].astype(str), frame.to_dict("records")):
        by_key.setdefault(str(k), []).append(row)   # a year table can hold several rows a year (quarters, a total)
    columns = spec.get("columns") or spec.get("fields")
    rows = []
    for ident in wanted:
        for row in by_key[ident]:
            rows.append([_display(c, row.get(c), names) for c in columns])
    return [data_heading(c) for c in columns], rows


def data_heading(column: str) -> str:
    return {"origin_country": "From", "destination_country": "To", "method": "Route", "retaliation_year": "Year of act",
            "names_listed": "Names listed"}.get(column, column.replace("_", " ").capitalize())


def _display(column, value, names) -> str:
    from defection import data

    if value is None or (not isinstance(value, str) and value != value) or str(value) in ("<NA>", "NaT", "nan"):
        return "—"
    if column in COUNTRY_COLUMNS:
        return names.get(str(value), str(value))
    if column in ("method", "role", "outcome", "retaliation", "confidence", "kind"):
        return data.label(value)
    return str(value)


# --- exercises and solutions, from the resolved doctree -----------------------------------------


def _html_of(node) -> str:
    """A small, escaped HTML rendering of an exercise's or solution's body."""
    out = []
    for child in node.children:
        if isinstance(child, nodes.title):
            continue
        if isinstance(child, nodes.literal_block):
            out.append(f"<pre>{escape(child.astext())}</pre>")
        elif isinstance(child, nodes.paragraph):
            out.append(f"<p>{_inline_html(child)}</p>")
        elif isinstance(child, (nodes.bullet_list, nodes.enumerated_list)):
            tag = "ul" if isinstance(child, nodes.bullet_list) else "ol"
            out.append(f"<{tag}>" + "".join(f"<li>{escape(' '.join(li.astext().split()))}</li>"
                                            for li in child.children) + f"</{tag}>")
        elif isinstance(child, nodes.Element):
            out.append(_html_of(child))
    return "".join(out)


def _inline_html(par) -> str:
    parts = []
    for n in par.children:
        text = escape(n.astext())
        if isinstance(n, nodes.literal):
            parts.append(f"<code>{text}</code>")
        elif isinstance(n, nodes.emphasis):
            parts.append(f"<em>{text}</em>")
        elif isinstance(n, nodes.strong):
            parts.append(f"<strong>{text}</strong>")
        else:
            parts.append(text)
    return " ".join("".join(parts).split())


def _read(app: Sphinx, doctree) -> None:
    from sphinx_exercise.nodes import exercise_enumerable_node, solution_node

    docname = app.env.docname
    if not docname.startswith("chapters/0"):
        return
    found = {"exercises": [], "solutions": {}}
    for node in doctree.findall(exercise_enumerable_node):
        found["exercises"].append({"label": node.get("label", ""), "html": _html_of(node)})
    for node in doctree.findall(solution_node):
        found["solutions"][node.get("target_label", "")] = _html_of(node)
    if not hasattr(app.env, "dx_exercises"):
        app.env.dx_exercises = {}
    app.env.dx_exercises[docname] = found


def _purge(app, env, docname) -> None:
    getattr(env, "dx_exercises", {}).pop(docname, None)


def _merge(app, env, docnames, other) -> None:
    if not hasattr(env, "dx_exercises"):
        env.dx_exercises = {}
    env.dx_exercises.update({d: v for d, v in getattr(other, "dx_exercises", {}).items() if d in docnames})


def exercises_of(env, docname: str) -> dict:
    return getattr(env, "dx_exercises", {}).get(docname, {"exercises": [], "solutions": {}})


# --- renderers ----------------------------------------------------------------------------------------


def lines(n: int) -> str:
    """Ruled lines to write on (worksheets, tasks)."""
    return '<div class="dx-sheet-lines" aria-hidden="true">' + "<p>&nbsp;</p>" * n + "</div>"


def scrolling(table: str, label: str) -> str:
    """A table in a region of its own that scrolls sideways on a narrow screen, so a sheet read
    on a phone keeps its width (a wide table would make the whole page scroll); focusable and
    named, so a keyboard can scroll it. In print it is the table as it was (dx-sheet.css)."""
    return f'<div class="dx-sheet-scroll" role="region" tabindex="0" aria-label="{escape(label)}">{table}</div>'


def table_html(headers, rows, caption: str = "") -> str:
    head = "".join(f'<th scope="col">{escape(h)}</th>' for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in row) + "</tr>" for row in rows)
    cap = f"<caption>{escape(caption)}</caption>" if caption else ""
    return scrolling(f'<table class="dx-sheet-table">{cap}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>',
                     caption or "Table")


def by_hand_html(t: dict, answers: bool) -> str:
    task = t.get("by_hand")
    if not task:
        return ""
    out = [f'<h2 id="by-hand">By hand: {escape(task["title"])}</h2>', f"<p>{inline(task['intro'])}</p>"]
    if task.get("table"):
        headers, rows = data_rows(task["table"])
        out.append(table_html(headers, rows, f"From the book's dataset (data/{task['table']['source']}.csv), "
                                             "as it stood when this sheet was made."))
    out.append(_prompts([(q["prompt"], q["answer"]) for q in task["questions"]], "Model answer:", answers))
    return "\n".join(out)


def _prompts(items: list[tuple[str, str]], label: str, answers: bool) -> str:
    """Numbered prompts, each followed by lines to write on (worksheet) or its answer (key)."""
    out = ['<ol class="dx-sheet-questions">']
    for prompt, answer in items:
        out.append(f"<li><p>{inline(prompt)}</p>")
        out.append(f'<p class="dx-key-answer"><strong>{label}</strong> {inline(answer)}</p>' if answers else lines(4))
        out.append("</li>")
    out.append("</ol>")
    return "\n".join(out)


def discussion_html(t: dict, answers: bool) -> str:
    items = t.get("discussion", [])
    if not items:
        return ""
    out = ['<h2 id="discussion">Discussion questions</h2>']
    if not answers:
        out.append("<p>Note your ideas before the discussion; give a reason and a case from the chapter.</p>")
    out.append(_prompts([(d["prompt"], d["guidance"]) for d in items], "What a strong answer does:", answers))
    return "\n".join(out)


def exercises_key_html(found: dict, number: int) -> str:
    if not found["exercises"]:
        return ""
    out = ['<h2 id="exercises">Exercises: model answers</h2>',
           "<p>From the chapter's own solutions (code, its output when the book was built, and the explanation). "
           "Students without Python can answer the questions in words from the printed output.</p>"]
    for i, ex in enumerate(found["exercises"], start=1):
        solution = found["solutions"].get(ex["label"], "")
        out.append(f'<section class="dx-sheet-exercise" id="{escape(ex["label"])}"><h3>Exercise {number}.{i}</h3>'
                   f'<div class="dx-key-prompt">{ex["html"]}</div>'
                   f'<div class="dx-key-answer"><strong>Model answer</strong>{solution or "<p>(no solution)</p>"}'
                   "</div></section>")
    return "\n".join(out)


def rubric_html(assessment: dict) -> str:
    rubric = assessment["rubric"]
    head = "".join(f'<th scope="col">{escape(level)}</th>' for level in rubric["levels"])
    rows = []
    for c in rubric["criteria"]:
        cells = "".join(f"<td>{inline(d)}</td>" for d in c["descriptors"])
        rows.append(f'<tr><th scope="row">{escape(c["name"])} ({c["points"]} points)</th>{cells}</tr>')
    total = sum(c["points"] for c in rubric["criteria"])
    return scrolling(f'<table class="dx-sheet-table dx-rubric"><caption>Marking rubric ({total} points)</caption>'
                     f'<thead><tr><th scope="col">Criterion</th>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>',
                     f"Marking rubric ({total} points)")


def task_html(t: dict, cite) -> str:
    a = t.get("assessment")
    if not a:
        return ""
    out = [f"<p>{escape(a['kind'].replace('-', ' ').capitalize())}. No computer needed.</p>",
           f'<blockquote class="dx-source"><p>{inline(a["source_text"])}</p>'
           f'<footer>Source: {cite(a["source_cite"])}</footer></blockquote>',
           '<h2>Questions</h2><ol class="dx-sheet-questions">']
    for q in a["questions"]:
        out.append(f"<li><p>{inline(q)}</p>{lines(6)}</li>")
    out.append("</ol>")
    total = sum(c["points"] for c in a["rubric"]["criteria"])
    out.append("<h2>How it will be marked</h2>"
               f"<p>The marks after each question show how much each part is worth and how much to write. The "
               f"teacher marks the whole task with the rubric below ({total} points), which is what counts.</p>"
               + rubric_html(a))
    return "\n".join(out)


def cards_html(t: dict, cite) -> str:
    out = []
    for s in t.get("cards", []):
        out.append(f'<section class="dx-cardset" id="{escape(s["id"])}"><h2>{escape(s["title"])}</h2>'
                   f'<p class="dx-cardset-use">Used in: {escape(s.get("used_in", ""))}. Cut along the dashed lines.</p>'
                   '<div class="dx-cards">')
        if s["kind"] == "cases":
            # Each card ends with its row's source; a card set may give a case a note written for
            # students ("notes") in place of the dataset's coding note, which is written for data users.
            headers, rows = data_rows({"source": "cases", "ids": s["ids"], "fields": s["fields"] + ["source_title"]})
            notes = s.get("notes", {})
            for ident, row in zip(s["ids"], rows):
                *row, source = row
                if ident in notes and "note" in s["fields"]:
                    row[s["fields"].index("note")] = " ".join(notes[ident].split())
                lines = "".join(f"<dt>{escape(h)}</dt><dd>{escape(v)}</dd>" for h, v in zip(headers[1:-1], row[1:]))
                out.append(f'<article class="dx-card"><h3>{escape(row[0])}</h3><dl>{lines}</dl>'
                           f'<p class="dx-card-source">Source: {escape(source)}</p></article>')
        else:
            for item in s["items"]:
                source = f'<p class="dx-card-source">{cite(item["cite"])}</p>' if item.get("cite") else ""
                out.append(f'<article class="dx-card"><p>{inline(item["text"])}</p>{source}</article>')
        out.append("</div></section>")
    return "\n".join(out)


def vocabulary_html(t: dict, cite, glossary_href: str) -> str:
    out = ['<h2 id="vocabulary">Key vocabulary</h2><table class="dx-sheet-table"><thead><tr>'
           '<th scope="col">Term</th><th scope="col">In plain words</th></tr></thead><tbody>']
    for w in t.get("vocabulary", []):
        out.append(f'<tr><th scope="row"><a href="{escape(glossary_href)}#term-{escape(_term_id(w["term"]))}">'
                   f'{escape(w["term"])}</a></th><td>{inline(w["plain"])}</td></tr>')
    out.append("</tbody></table>")
    if t.get("sentence_starters"):
        out.append('<h2 id="starters">Sentence starters for the discussion</h2><ul>' +
                   "".join(f"<li>{inline(s)}</li>" for s in t["sentence_starters"]) + "</ul>")
    ext = t.get("extension")
    if ext:
        where = cite(ext["cite"]) if ext.get("cite") else \
            f'<a href="{escape(ext["url"])}">{escape(ext["url"])}</a>'
        out.append(f'<h2 id="extension">Going further</h2><p><strong>{inline(ext["title"])}</strong>. {where}</p>'
                   f"<p>{inline(ext['why'])}</p>")
    return "\n".join(out)


def _term_id(term: str) -> str:
    """The id Sphinx gives a glossary term (capitals kept, spaces as hyphens)."""
    return re.sub(r"[^A-Za-z0-9]+", "-", term).strip("-")


# --- the teacher pages' list of materials ---------------------------------------------------------------


def materials_html(chapter: str, up: str) -> str:
    """Every printable and downloadable file for one chapter, as the site serves it (``up``
    is the way from the page to the site root). PDFs are printed by ``make pdf``."""
    name = chapter.rsplit("/", 1)[-1]
    pdf = lambda folder: f'{up}pdf/{folder}/{name}.pdf'  # noqa: E731
    rows = [
        ("Worksheet", f"{up}worksheets/{name}.html", pdf("worksheets"),
         "the quiz, the discussion questions, a by-hand task with its data printed, and the exercises"),
        ("Answer key", f"{up}keys/{name}.html", pdf("keys"),
         "answers to every item of the worksheet: the quiz with reasons, the by-hand task, model answers to the "
         "exercises, marking guidance for the discussion, and the rubric of the marked task"),
        ("Marked task (no computer)", f"{up}tasks/{name}.html", pdf("tasks"),
         "a source to weigh, with questions and its rubric"),
        ("Cards for the lessons", f"{up}cards/{name}.html", pdf("cards"),
         "every card set the lesson plans use, ready to print and cut"),
        ("Vocabulary and support", f"{up}vocabulary/{name}.html", pdf("vocabulary"),
         "key terms in plain words, sentence starters, one extension reading"),
    ]
    items = [f'<li><a href="{escape(html)}">{escape(label)}</a> (<a href="{escape(pdf_)}">PDF</a>): {escape(what)}.</li>'
             for label, html, pdf_, what in rows]
    items += [
        f'<li><a href="{up}notebooks/teacher/{name}.ipynb" download>Teacher notebook</a> (.ipynb): the chapter with '
        "the solution to every exercise.</li>",
        f'<li><a href="{up}_sources/chapters/{name}.ipynb" download>Student notebook</a> (.ipynb): the same without '
        "solutions, each exercise followed by an empty cell.</li>",
        f'<li><a href="{up}pdf/{name}.pdf">The chapter as PDF</a>.</li>',
        f'<li>The quiz for your learning platform, as a practice quiz: <a href="{up}questions/{name}.imscc" download>'
        f'Common Cartridge (.imscc: Canvas, Moodle, Blackboard, Schoology, D2L; with the section links, worksheet, '
        f'key and discussion topics)</a>, <a href="{up}questions/{name}-canvas-qti.zip" download>Canvas (QTI .zip)'
        f'</a>, <a href="{up}questions/{name}-moodle.xml" download>Moodle XML</a>, <a href="{up}questions/{name}'
        f'.gift.txt" download>GIFT</a>.</li>',
        f'<li><a href="{up}teacher-pack.zip" download>Teacher pack</a> (.zip): every key, sheet, card set, teacher '
        "notebook and LMS file of the book in one download.</li>",
    ]
    return '<ul class="dx-downloads">\n' + "\n".join(items) + "\n</ul>"


class MaterialsDirective(SphinxDirective):
    """``{dx-materials} chapters/03-state-retaliation``: the chapter's materials, linked."""

    required_arguments = 1

    def run(self):
        chapter = self.arguments[0]
        if not (Path(self.env.srcdir) / f"{chapter}.md").is_file():
            raise self.error(f"no chapter {chapter}")
        up = "../" * self.env.docname.count("/")
        return [nodes.raw("", materials_html(chapter, up), format="html")]


def setup(app: Sphinx) -> None:
    app.add_directive("dx-materials", MaterialsDirective)
    app.connect("doctree-read", _read)
    app.connect("env-purge-doc", _purge)
    app.connect("env-merge-info", _merge)
