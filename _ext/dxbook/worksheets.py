"""``html-collect-pages``: printable worksheets, answer keys and the teacher's kit, and the LMS exports, from the
question bank (``questions/``) and the teaching files (``teaching/``).

``html-collect-pages`` (:func:`collect_pages`), for every chapter with a question file, pages
of the site from ``templates/dx-sheet.html``:

* ``worksheets/<chapter>.html``: the quiz (boxes to tick, lines to write on, options
  lettered in the bank's seeded order), the discussion questions, a by-hand task with
  its data printed, and the exercises' prompts;
* ``keys/<chapter>.html``: the teacher's answer key to every item of the worksheet
  (``noindex``; linked from the teacher pages only);
* ``answers/<chapter>.html``: the quiz's answers and explanations only, for a reader
  without JavaScript (linked, folded, from the chapter's quiz; ``noindex``);
* ``tasks/``, ``cards/``, ``vocabulary/<chapter>.html``: see ``teaching``;
and, as files, ``questions/<chapter>-canvas-qti.zip``, ``-moodle.xml``, ``.gift.txt`` (``lms``),
and ``.imscc`` (``cartridge``). At build end (``finish``), from the finished sheets,
``teacher-pack.zip`` (:func:`teacher_pack`): every key, sheet, card set and teacher notebook,
in one file.

``make pdf`` prints the sheets to PDF into the site (``pdf/``).
"""
from __future__ import annotations

from html import escape
from pathlib import Path

from sphinx.application import Sphinx
from sphinx.util import logging

from . import cartridge, lms, teaching
from .questions import (TYPE_NAMES, answer_text, bank_dir, inline, link_sections, load_bank, options_of,
                        section_titles)

logger = logging.getLogger(__name__)

LETTERS = "abcdefgh"

PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
{robots}<title>{title} — Defection Explained</title>
<meta name="description" content="{description}">
{style}
</head>
<body>
<main class="dx-sheet">
<p class="dx-sheet-book">Defection Explained · <a href="../{docname}.html">{chapter}</a></p>
<h1>{title}</h1>
{body}
<p class="dx-sheet-foot">Made from the book's question bank, teaching notes and dataset when the book was built,
so it matches the chapter. Text: CC BY 4.0.</p>
</main>
</body>
</html>
"""

#: The printable pages' stylesheet (served from ``_static/dx/``, inlined where a page stands alone).
SHEET_CSS = Path(__file__).parent / "static" / "dx" / "dx-sheet.css"
#: The sheets a chapter's Common Cartridge carries: folder on the site -> name in the cartridge.
CARTRIDGE_SHEETS = {"worksheets": "worksheet", "keys": "answers"}

#: What each printable page is, and whether search engines should list it.
KINDS = {
    "worksheets": ("Worksheet", True, "A printable worksheet for the chapter: quiz, discussion and a by-hand task."),
    "keys": ("Answer key (teachers)", False, "The teacher's answer key to the chapter's worksheet."),
    "answers": ("Self-check answers", False, "Answers and explanations of the chapter's self-check quiz."),
    "tasks": ("Marked task", True, "A marked task that needs no computer: a source to weigh, with its rubric."),
    "cards": ("Cards for the lesson", False, "Printable card sets for the chapter's lesson plans."),
    "vocabulary": ("Vocabulary and support", True, "Key vocabulary, sentence starters and an extension reading."),
}


def page(kind: str, title: str, docname: str, body: str, chapter: str = "", css: str = "", site: str = "") -> str:
    """A printable page that stands alone (in a Common Cartridge, where the site's files are not):
    ``css`` inlined, no icon, no content policy (the LMS page around it sets its own), and a
    ``<base>`` in the folder it has on ``site`` (the site's address), so its links to the chapter,
    its sections and the references lead to the site. (The site's own copy is a page of the site:
    ``templates/dx-sheet.html``, from :func:`collect_pages`.)"""
    label, index, description = KINDS[kind]
    robots = "" if index else '<meta name="robots" content="noindex">\n'
    style = f"<style>{css}</style>"
    if site:
        style = f'<base href="{escape(site.rstrip("/"))}/{kind}/">\n{style}'
    return PAGE.format(robots=robots, title=escape(f"{label}: {title}"), description=escape(description),
                       chapter=escape(chapter or title), docname=docname, body=body, style=style)


def worksheet_html(chapter, title: str, number: int, exercises: list[str], teach: dict | None = None) -> str:
    """The student's sheet; ``exercises`` are the prompts as HTML (from the doctree)."""
    body = ['<p class="dx-sheet-name">Name: ______________________ &nbsp; Date: __________</p>',
            '<h2 id="quiz">Check your understanding</h2>', "<ol class=\"dx-sheet-questions\">"]
    for q in chapter.questions:
        body.append(f'<li id="{escape(q["id"])}"><p>{inline(q["prompt"])} <em>({TYPE_NAMES[q["type"]]})</em></p>')
        if q["type"] in ("single", "multiple", "true_false"):
            body.append("<ul class=\"dx-sheet-options\">" + "".join(
                f"<li><span class=\"dx-box\" aria-hidden=\"true\">☐</span> ({LETTERS[i]}) {inline(o['text'])}</li>"
                for i, o in enumerate(options_of(q))) + "</ul>")
        elif q["type"] == "numeric":
            body.append('<p class="dx-sheet-line">Answer: ____________</p>')
        else:
            body.append(teaching.lines(5))
        body.append("</li>")
    body.append("</ol>")
    if teach:
        body.append(teaching.discussion_html(teach, answers=False))
        body.append(teaching.by_hand_html(teach, answers=False))
    if exercises:
        body.append('<h2 id="exercises">Exercises (with Python)</h2><p>Work these in the chapter\'s notebook; write '
                    "your findings here. A class without computers does the by-hand task above instead.</p>")
        for i, prompt in enumerate(exercises, start=1):
            body.append(f'<section class="dx-sheet-exercise"><h3>Exercise {number}.{i}</h3>{prompt}{teaching.lines(6)}'
                        "</section>")
    return "\n".join(body)


def key_answer(q: dict) -> str:
    """The right answer as the key prints it: the option letters of the worksheet, then the text."""
    if q["type"] in ("single", "multiple", "true_false"):
        return "; ".join(f"({LETTERS[i]}) {o['text']}" if q["type"] != "true_false" else o["text"]
                         for i, o in enumerate(options_of(q)) if o["correct"])
    return answer_text(q)


def _sentence(text: str) -> str:
    """Option text as a sentence: one full stop at the end, never two."""
    text = inline(text).rstrip()
    return text if text.endswith((".", "?", "!", ".</em>", "?</em>", "!</em>")) else text + "."


def answers_html(chapter) -> str:
    """The key: for every question the answer, why each option is right or wrong (the verdict
    is added here, once: the bank's feedback carries none) and the section, by title."""
    body = ["<ol class=\"dx-sheet-answers\">"]
    for q in chapter.questions:
        body.append(f'<li id="{escape(q["id"])}"><p><strong>{inline(q["prompt"])}</strong></p>'
                    f'<p>Answer: <strong>{inline(key_answer(q))}</strong></p>')
        if q["type"] in ("single", "multiple", "true_false"):
            body.append("<ul>" + "".join(
                f"<li>({LETTERS[i]}) {'Right' if o['correct'] else 'Wrong'}: {_sentence(o['text'])} "
                f"{inline(o['feedback'])}</li>" for i, o in enumerate(options_of(q))) + "</ul>")
        elif q.get("feedback"):
            body.append(f"<p>{inline(q['feedback'])}</p>")
        body.append(f'<p class="dx-sheet-see">See: <a href="../{escape(chapter.docname)}.html#{escape(q["section"])}">'
                    f'{escape(q["section_title"])}</a> ({escape(q["section_url"])}).</p></li>')
    body.append("</ol>")
    return "\n".join(body)


def key_html(chapter, number: int, found: dict, teach: dict | None) -> str:
    """The teacher's key: every item of the worksheet, in the worksheet's order."""
    body = ['<p class="dx-sheet-note">For teachers. Like everything on this site it is public; see the teacher '
            'guide on why. The letters match the worksheet.</p>', '<h2 id="quiz">Check your understanding</h2>',
            answers_html(chapter)]
    if teach:
        body.append(teaching.discussion_html(teach, answers=True))
        body.append(teaching.by_hand_html(teach, answers=True))
    body.append(teaching.exercises_key_html(found, number))
    if teach and teach.get("assessment"):
        body.append(f'<h2 id="task">Marked task: {escape(teach["assessment"]["title"])}</h2>'
                    + teaching.rubric_html(teach["assessment"]))
    return "\n".join(body)


#: The template of a sheet on the site (``templates/dx-sheet.html``).
SHEET_TEMPLATE = "dx-sheet.html"


def collect_pages(app: Sphinx):
    """``html-collect-pages``: every chapter's printable sheets, as pages of the site rendered
    from :data:`SHEET_TEMPLATE` with the same page context as every page (content policy,
    description, icon, sitemap entry); and, as files, the LMS exports and the Common Cartridge
    (whose sheets stand alone: :func:`page`). Site builders only (the EPUB carries no sheets)."""
    from .finish import is_site_build

    out, root = Path(app.outdir), Path(app.srcdir)
    if not is_site_build(app) or not (root / "questions" / "schema.json").is_file():
        return []  # the EPUB; a book without a question bank (the tests' small probe books)
    chapters = load_bank(root)
    kit = teaching.load_teaching(root)
    cite = citations(root)
    titles = {c.docname: app.env.titles[c.docname].astext() for c in chapters if c.docname in app.env.titles}
    for chapter in chapters:
        link_sections(section_titles(app.env, chapter.docname), chapter, titles.get(chapter.docname, chapter.docname),
                      app.config.html_baseurl)
    pages = []
    sheets: dict[str, dict[str, str]] = {}  # the worksheet and key of each chapter, standing alone
    css = SHEET_CSS.read_text(encoding="utf-8")
    site = app.config.html_baseurl  # the book's one public address (without one, a cartridge's links stay relative)
    for chapter in chapters:
        name = Path(chapter.docname).name
        title = titles.get(chapter.docname, name)
        number = int(name[:2])
        found = teaching.exercises_of(app.env, chapter.docname)
        teach = kit.get(chapter.docname)
        bodies = {"worksheets": worksheet_html(chapter, title, number, [e["html"] for e in found["exercises"]], teach),
                  "keys": key_html(chapter, number, found, teach),
                  "answers": answers_html(chapter)}
        if teach:
            bodies["tasks"] = teaching.task_html(teach, cite)
            bodies["cards"] = teaching.cards_html(teach, cite)
            bodies["vocabulary"] = teaching.vocabulary_html(teach, cite, "../chapters/glossary.html")
        for folder, body in bodies.items():
            heading = f"{teach['assessment']['title']} ({title})" if folder == "tasks" else title
            label, index, description = KINDS[folder]
            pages.append((f"{folder}/{name}", {
                "title": f"{label}: {heading}", "body": body,
                "dx_sheet": {"docname": chapter.docname, "chapter": title, "description": description,
                             "noindex": not index}}, SHEET_TEMPLATE))
            if folder in CARTRIDGE_SHEETS:
                sheets.setdefault(chapter.docname, {})[CARTRIDGE_SHEETS[folder]] = page(
                    folder, heading, chapter.docname, body, chapter=title, css=css, site=site)
    written = lms.write_exports(chapters, titles, out / "questions")
    discussion = {d: [x["prompt"] for x in t.get("discussion", [])] for d, t in kit.items()}
    written += cartridge.write(chapters, sheets, discussion, out / "questions", app.config.project)
    logger.info("[dxbook] question bank: %d chapters, %d questions, %d sheets, %d LMS files",
                len(chapters), sum(len(c.questions) for c in chapters), len(pages), len(written))
    return pages


def pack_names(app: Sphinx) -> list[str]:
    """The chapters whose sheets go into the teacher pack (every chapter of the question bank):
    the bank's file names, which are its chapters' file names (``questions.chapter_for``). Not
    :func:`questions.load_bank` again: :func:`collect_pages` has validated the bank in this build
    already, and validating it costs about 2 s."""
    root = Path(app.srcdir)
    if not (root / "questions" / "schema.json").is_file():
        return []
    return [path.stem for path in sorted(bank_dir(root).glob("*.yml"))]


def site_icon(app: Sphinx) -> str:
    """The site's icon file in ``_static`` (Sphinx copies ``html_favicon`` there), or ""."""
    return Path(app.config.html_favicon).name if app.config.html_favicon else ""


def teacher_pack(out: Path, names: list[str], icon: str = "") -> Path:
    """``teacher-pack.zip``: keys, sheets, tasks, cards, vocabulary, teacher notebooks and LMS files,
    with the sheets' stylesheet, in one reproducible zip."""
    files = {"README.txt": (
        "Defection Explained: teacher pack\n\nOpen any .html file in a browser and print it. keys/ holds the "
        "answer keys, worksheets/ the student sheets, tasks/ the marked tasks (no computer needed), cards/ the card "
        "sets for the lesson plans, vocabulary/ the support sheets, notebooks/ the teacher notebooks (with "
        "solutions), lms/ the quiz files for Canvas, Moodle and other platforms (Common Cartridge .imscc).\n"
        "Everything here is also public on the book's site.\n").encode("utf-8"),
        "_static/dx/dx-sheet.css": SHEET_CSS.read_bytes()}
    if icon and (out / "_static" / icon).is_file():  # the sheets name the site's icon
        files[f"_static/{icon}"] = (out / "_static" / icon).read_bytes()
    for name in names:
        for folder in ("keys", "worksheets", "answers", "tasks", "cards", "vocabulary"):
            path = out / folder / f"{name}.html"
            if path.is_file():
                files[f"{folder}/{name}.html"] = path.read_bytes()
        notebook = out / "notebooks" / "teacher" / f"{name}.ipynb"
        if notebook.is_file():
            files[f"notebooks/{name}.ipynb"] = notebook.read_bytes()
        for path in sorted((out / "questions").glob(f"{name}*")):
            files[f"lms/{path.name}"] = path.read_bytes()
    target = out / "teacher-pack.zip"
    target.write_bytes(lms.reproducible_zip(files))
    return target


def citations(root: Path):
    """``cite(key)``: a bibliography entry as 'Author (year). Title.' linked to the references page."""
    from docutils.nodes import make_id
    from pybtex.database import parse_file

    entries = parse_file(str(Path(root) / "references.bib")).entries

    def cite(key: str) -> str:
        e = entries[key]
        people = e.persons.get("author") or e.persons.get("editor") or []
        who = ", ".join(" ".join(p.last_names) for p in people[:2]) + (" et al." if len(people) > 2 else "")
        who = who or e.fields.get("organization", e.fields.get("publisher", e.fields.get("howpublished", "")))
        who = who.replace("{", "").replace("}", "")
        title = e.fields.get("title", key).replace("{", "").replace("}", "")
        year = e.fields.get("year", "n.d.")
        anchor = make_id(f"cite-{key}")  # the id docutils gives the references page's entry
        return (f'<a href="../chapters/references.html#{anchor}">{escape(who)} ({escape(year)}). '
                f"<cite>{escape(title)}</cite></a>")

    return cite


def setup(app: Sphinx) -> None:
    app.connect("html-collect-pages", collect_pages)
