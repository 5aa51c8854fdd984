"""Printable worksheets and answer keys, and the LMS exports, from the question bank.

At build end, for every chapter with a question file:

* ``worksheets/<chapter>.html``: the questions (boxes to tick, lines to write
  on) and the prompts of the chapter's exercises;
* ``answers/<chapter>.html``: the answer key: every right answer and every
  explanation, numeric answers computed from data/. It is also where a reader
  without JavaScript finds the answers (linked, folded, from the quiz);
* ``questions/<chapter>-canvas-qti.zip``, ``-moodle.xml``, ``.gift.txt`` (see ``lms``).

``make pdf`` prints the worksheets and answer keys to PDF with the rest.
"""
from __future__ import annotations

from html import escape
from pathlib import Path

from sphinx.application import Sphinx
from sphinx.util import logging

from . import lms
from .mystconv import Block, Resolver, convert_roles, parse_blocks
from .questions import TYPE_NAMES, answer_text, inline, load_bank, options_of

logger = logging.getLogger(__name__)

PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} — Defection Explained</title>
<link rel="stylesheet" href="../_static/dx/dx-sheet.css">
</head>
<body>
<main class="dx-sheet">
<p class="dx-sheet-book">Defection Explained · <a href="../{docname}.html">{chapter}</a></p>
<h1>{title}</h1>
{body}
<p class="dx-sheet-foot">Made from the book's question bank when the book was built; numeric answers are
computed from the book's dataset. Text: CC BY 4.0.</p>
</main>
</body>
</html>
"""


def exercise_prompts(source: Path) -> list[str]:
    """The prompts of a chapter's exercises, as plain Markdown, in order."""
    plain = Resolver(glue=lambda k, f: k, term=lambda t, target: t, cite=lambda keys: "",
                     numref=lambda label, t: t or label, ref=lambda label, t: t or label,
                     doc=lambda target, t: t or target, exercise=lambda label: label)
    prompts = []
    for item in parse_blocks(source.read_text(encoding="utf-8").splitlines()):
        if isinstance(item, Block) and item.name == "exercise":
            prompts.append(convert_roles("\n".join(item.body), plain).strip())
    return prompts


def _markdown(text: str) -> str:
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark", {"html": False}).render(text)


def worksheet_html(chapter, title: str, number: int, prompts: list[str]) -> str:
    body = ['<p class="dx-sheet-name">Name: ______________________ &nbsp; Date: __________</p>',
            "<h2>Check your understanding</h2>", "<ol class=\"dx-sheet-questions\">"]
    for q in chapter.questions:
        body.append(f'<li id="{escape(q["id"])}"><p>{inline(q["prompt"])} <em>({TYPE_NAMES[q["type"]]})</em></p>')
        if q["type"] in ("single", "multiple", "true_false"):
            body.append("<ul class=\"dx-sheet-options\">" + "".join(
                f"<li><span class=\"dx-box\" aria-hidden=\"true\">☐</span> {inline(o['text'])}</li>"
                for o in options_of(q)) + "</ul>")
        elif q["type"] == "numeric":
            body.append('<p class="dx-sheet-line">Answer: ____________</p>')
        else:
            body.append('<div class="dx-sheet-lines" aria-hidden="true">' + "<p>&nbsp;</p>" * 5 + "</div>")
        body.append("</li>")
    body.append("</ol>")
    if prompts:
        body.append("<h2>Exercises</h2><p>Work these in the chapter's notebook; write your findings here.</p>")
        for i, prompt in enumerate(prompts, start=1):
            body.append(f'<section class="dx-sheet-exercise"><h3>Exercise {number}.{i}</h3>{_markdown(prompt)}'
                        '<div class="dx-sheet-lines" aria-hidden="true">' + "<p>&nbsp;</p>" * 6 + "</div></section>")
    return "\n".join(body)


def answers_html(chapter) -> str:
    body = ["<ol class=\"dx-sheet-answers\">"]
    for q in chapter.questions:
        body.append(f'<li id="{escape(q["id"])}"><p><strong>{inline(q["prompt"])}</strong></p>'
                    f'<p>Answer: <strong>{escape(answer_text(q))}</strong></p>')
        if q["type"] in ("single", "multiple", "true_false"):
            body.append("<ul>" + "".join(
                f"<li>{'Right' if o['correct'] else 'Wrong'}: {inline(o['text'])}. {inline(o['feedback'])}</li>"
                for o in options_of(q)) + "</ul>")
        elif q.get("feedback"):
            body.append(f"<p>{inline(q['feedback'])}</p>")
        body.append(f'<p class="dx-sheet-see">See: <a href="../{escape(chapter.docname)}.html#{escape(q["section"])}">'
                    "the chapter section</a>.</p></li>")
    body.append("</ol>")
    return "\n".join(body)


def _write(app: Sphinx, exception) -> None:
    if exception is not None or app.builder.format != "html":
        return
    out, root = Path(app.outdir), Path(app.srcdir)
    if not (root / "questions" / "schema.json").is_file():
        return  # a book without a question bank (the tests' small probe books)
    chapters = load_bank(root)
    titles = {c.docname: app.env.titles[c.docname].astext() for c in chapters if c.docname in app.env.titles}
    for chapter in chapters:
        name = Path(chapter.docname).name
        title = titles.get(chapter.docname, name)
        number = int(name[:2])
        prompts = exercise_prompts(root / f"{chapter.docname}.md")
        for folder, heading, body in (
                ("worksheets", f"Worksheet: {title}", worksheet_html(chapter, title, number, prompts)),
                ("answers", f"Answer key: {title}", answers_html(chapter))):
            path = out / folder / f"{name}.html"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(PAGE.format(title=escape(heading), chapter=escape(title), docname=chapter.docname,
                                        body=body), encoding="utf-8")
    written = lms.write_exports(chapters, titles, out / "questions")
    logger.info("[dxbook] question bank: %d chapters, %d questions, %d LMS files",
                len(chapters), sum(len(c.questions) for c in chapters), len(written))


def setup(app: Sphinx) -> None:
    app.connect("build-finished", _write, priority=700)
