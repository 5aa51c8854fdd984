"""No hook (called by ``worksheets.collect_pages``): the question bank for a class's learning-management system.

Per chapter, built with every ``make book`` into ``questions/`` on the site:

* ``<chapter>-canvas-qti.zip``: QTI 1.2 for Canvas (and other QTI importers),
  made with text2qti (a maintained Canvas QTI writer) from its plain-text quiz
  format, then set to import as a *practice quiz* with unlimited attempts
  (text2qti hard-codes a graded one-attempt assignment);
* ``<chapter>-moodle.xml``: Moodle XML, written to Moodle's published format
  (https://docs.moodle.org/en/Moodle_XML_format); no maintained Python writer
  exists, and the format is small;
* ``<chapter>.gift.txt``: GIFT, written to its published format
  (https://docs.moodle.org/en/GIFT_format);
* ``<chapter>.imscc`` and ``defection-explained.imscc``: IMS Common Cartridge
  (see ``cartridge``).

The bank's text is plain text whose only markup is ``*emphasis*``; every
exporter escapes it for its format (HTML entities where the format is HTML),
so a ``<b>`` in the bank arrives as the characters ``<b>``. Options keep the
bank's seeded order (``questions.arrange_options``), so the printed key matches
every export; the LMS's own shuffling is switched on, except for a question whose
options must stay in order. Every question carries general feedback naming the
chapter section that explains it, by title and absolute URL. Feedback never
carries a verdict: the LMS shows its own.

Single choice and true/false become multiple-choice questions with feedback
for every option; multiple choice, "multiple answers" with partial credit and
per-option feedback; numeric, a numerical question whose answer is computed
from data/; short answers, essay questions whose model answer is the grader's
information and whose feedback is the general feedback.
"""
from __future__ import annotations

import io
import re
import xml.etree.ElementTree as ET
import zipfile
from html import escape
from pathlib import Path

from .questions import Chapter, answer_text, inline, options_of, plain

#: Every file in a zip the book writes gets this time stamp, so the same inputs give the
#: same bytes (zip stores local times; 1980-01-01 is its epoch).
ZIP_TIME = (1980, 1, 1, 0, 0, 0)


def chapter_title(chapter: Chapter, titles: dict) -> str:
    return chapter.title or titles.get(chapter.docname, chapter.docname)


def link_html(q: dict) -> str:
    """The section that explains a question, as an HTML sentence with an absolute link."""
    return (f'Where the book explains this: <a href="{escape(q["section_url"])}">'
            f'{escape(q["section_title"])}</a> ({escape(q["section_url"])}).')


def general_feedback_html(q: dict) -> str:
    """Feedback shown whatever the answer: for a short answer its model answer and feedback;
    then, for every question, the section that explains it."""
    parts = []
    if q["type"] == "short":
        parts.append(f"<p>Model answer: {inline(q['model_answer'])}</p>")
        if q.get("feedback"):
            parts.append(f"<p>{inline(q['feedback'])}</p>")
    return "".join(parts) + f"<p>{link_html(q)}</p>"


#: Members already compressed: stored as they are, not deflated a second time.
STORED = (".zip", ".imscc", ".whl", ".pdf", ".epub", ".woff2", ".png", ".jpg")


def reproducible_zip(files: dict[str, bytes]) -> bytes:
    """A zip of ``files`` in name order with fixed time stamps and permissions (every zip the
    book makes: LMS files, cartridges, the teacher pack, the offline site, editions)."""
    stream = io.BytesIO()
    with zipfile.ZipFile(stream, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in sorted(files):
            info = zipfile.ZipInfo(name, ZIP_TIME)
            info.compress_type = zipfile.ZIP_STORED if name.endswith(STORED) else zipfile.ZIP_DEFLATED
            info.external_attr = (0o40755 << 16 | 0x10) if name.endswith("/") else 0o644 << 16
            archive.writestr(info, files[name])
    return stream.getvalue()


# --- Canvas: QTI 1.2 through text2qti ---------------------------------------------------


def _t2q_text(text: str) -> str:
    """text2qti's input is Markdown: keep *emphasis*; everything else stays text.

    ``<``, ``>``, ``&`` and straight quotes become HTML entities (a backslash before ``<`` is not a
    Markdown escape and would show); the characters Markdown or text2qti would read
    are backslash-escaped."""
    text = " ".join(str(text).split())
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    # Straight quotes as entities: text2qti's Markdown would make them typographic.
    text = text.replace('"', "&quot;").replace("'", "&#39;")
    for ch in ("\\", "`", "$", "[", "]", "_"):
        text = text.replace(ch, "\\" + ch)
    return text


def _t2q_link(q: dict) -> str:
    return (f"Where the book explains this: [{_t2q_text(q['section_title'])}]({q['section_url']}) "
            f"({_t2q_text(q['section_url'])}).")


def text2qti_source(chapter: Chapter, title: str) -> str:
    lines = [f"Quiz title: {_t2q_text(title)}: check your understanding",
             "Quiz description: Self-check questions from Defection Explained, for practice. Numeric answers are "
             "computed from the book's dataset.", "shuffle answers: true", ""]
    for n, q in enumerate(chapter.questions, start=1):
        lines.append(f"Title: {q['id']}")
        lines.append(f"{n}.  {_t2q_text(q['prompt'])}")
        general = _t2q_link(q)
        if q["type"] == "numeric":
            general = f"{_t2q_text(q['feedback'])} {general}"
        elif q["type"] == "short":
            general = f"Model answer: {_t2q_text(q['model_answer'])} " + \
                (f"{_t2q_text(q['feedback'])} " if q.get("feedback") else "") + general
        lines.append(f"... {general}")
        if q["type"] in ("single", "true_false"):
            for i, o in enumerate(options_of(q)):
                lines.append(f"{'*' if o['correct'] else ''}{'abcdefgh'[i]}) {_t2q_text(o['text'])}")
                lines.append(f"... {_t2q_text(o['feedback'])}")
        elif q["type"] == "multiple":
            for o in options_of(q):
                lines.append(f"[{'*' if o['correct'] else ' '}] {_t2q_text(o['text'])}")
                lines.append(f"... {_t2q_text(o['feedback'])}")
        elif q["type"] == "numeric":
            lines.append(f"=   {q['answer']} +- {q.get('tolerance', 0)}")
        else:
            lines.append("____")
        lines.append("")
    return "\n".join(lines)


def _practice(meta: str) -> str:
    """Canvas quiz settings: a practice quiz (ungraded), unlimited attempts, no assignment."""
    meta = meta.replace("<quiz_type>assignment</quiz_type>", "<quiz_type>practice_quiz</quiz_type>")
    meta = meta.replace("<allowed_attempts>1</allowed_attempts>", "<allowed_attempts>-1</allowed_attempts>")
    meta = re.sub(r"\s*<assignment identifier=.*?</assignment>", "", meta, flags=re.S)
    return re.sub(r"\s*<assignment_group_identifierref>.*?</assignment_group_identifierref>", "", meta)


def to_qti_zip(chapter: Chapter, title: str) -> bytes:
    from text2qti.config import Config
    from text2qti.qti import QTI
    from text2qti.quiz import Quiz

    config = Config()
    config.load()  # text2qti's defaults (no config file is written)
    quiz = Quiz(text2qti_source(chapter, title), config=config, source_name=f"{chapter.docname}.yml")
    stream = io.BytesIO()
    QTI(quiz).write(stream)
    source = zipfile.ZipFile(io.BytesIO(stream.getvalue()))
    files = {}
    for name in source.namelist():
        payload = source.read(name)
        if name.endswith("assessment_meta.xml"):
            payload = _practice(payload.decode("utf-8")).encode("utf-8")
        files[name] = payload
    return reproducible_zip(files)


# --- Moodle XML -------------------------------------------------------------------------


def _text(parent, tag, value, fmt="html"):
    el = ET.SubElement(parent, tag, {"format": fmt} if fmt else {})
    ET.SubElement(el, "text").text = value
    return el


def to_moodle_xml(chapter: Chapter, title: str) -> bytes:
    """Moodle XML; every text is HTML (``format="html"``), escaped from the bank's plain text."""
    quiz = ET.Element("quiz")
    category = ET.SubElement(quiz, "question", {"type": "category"})
    ET.SubElement(ET.SubElement(category, "category"), "text").text = f"$course$/Defection Explained/{title}"
    for q in chapter.questions:
        kind = {"single": "multichoice", "multiple": "multichoice", "true_false": "truefalse",
                "numeric": "numerical", "short": "essay"}[q["type"]]
        el = ET.SubElement(quiz, "question", {"type": kind})
        ET.SubElement(ET.SubElement(el, "name"), "text").text = q["id"]
        _text(el, "questiontext", f"<p>{inline(q['prompt'])}</p>")
        _text(el, "generalfeedback", general_feedback_html(q))
        ET.SubElement(el, "defaultgrade").text = "1"
        if q["type"] in ("single", "multiple"):
            ET.SubElement(el, "single").text = "true" if q["type"] == "single" else "false"
            ET.SubElement(el, "shuffleanswers").text = "0" if q.get("fixed_order") else "1"
            ET.SubElement(el, "answernumbering").text = "abc"
            right = sum(o["correct"] for o in q["options"])
            wrong = len(q["options"]) - right
            for o in q["options"]:
                if q["type"] == "single":
                    fraction = "100" if o["correct"] else "0"
                else:
                    fraction = _fraction(100 / right) if o["correct"] else _fraction(-100 / wrong)
                answer = _text(el, "answer", inline(o["text"]))
                answer.set("fraction", fraction)
                _text(answer, "feedback", inline(o["feedback"]))
        elif q["type"] == "true_false":
            for value, feedback in (("true", q["feedback_true"]), ("false", q["feedback_false"])):
                answer = _text(el, "answer", value, fmt="moodle_auto_format")
                answer.set("fraction", "100" if (value == "true") == q["answer"] else "0")
                _text(answer, "feedback", inline(feedback))
        elif q["type"] == "numeric":
            answer = _text(el, "answer", str(q["answer"]), fmt="moodle_auto_format")
            answer.set("fraction", "100")
            ET.SubElement(answer, "tolerance").text = str(q.get("tolerance", 0))
            _text(answer, "feedback", inline(q["feedback"]))
        else:
            _text(el, "graderinfo", f"<p>{inline(q['model_answer'])}</p>")
            ET.SubElement(el, "responseformat").text = "editor"
            ET.SubElement(el, "responsefieldlines").text = "8"
    ET.indent(quiz)
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(quiz, encoding="utf-8")


def _fraction(value: float) -> str:
    """Moodle accepts only its listed grade fractions; the nearest one to ``value``."""
    allowed = [100, 90, 83.33333, 80, 75, 70, 66.66667, 60, 50, 40, 33.33333, 30, 25, 20, 16.66667,
               14.28571, 12.5, 11.11111, 10, 5, 0]
    best = min(allowed, key=lambda a: abs(a - abs(value)))
    return f"{'-' if value < 0 else ''}{best:g}"


# --- GIFT -------------------------------------------------------------------------------


def gift_escape(html: str) -> str:
    """GIFT's own escapes on text that is already HTML (escaped by ``inline``)."""
    text = " ".join(html.split())
    for ch in ("\\", "~", "=", "#", "{", "}", ":"):
        text = text.replace(ch, "\\" + ch)
    return text


def gift_text(text: str) -> str:
    """Bank text for GIFT: HTML-escaped with *emphasis*, then GIFT-escaped."""
    return gift_escape(inline(text))


def to_gift(chapter: Chapter, title: str) -> str:
    """GIFT with every question in ``[html]`` format, so entities stay text and links work."""
    out = [f"// Defection Explained: {title}. Check your understanding.",
           "// Numeric answers are computed from the book's dataset when the book is built.",
           "// Texts are HTML ([html]); the bank's plain text is escaped, so a < in it is shown as <.",
           f"$CATEGORY: $course$/Defection Explained/{' '.join(title.split())}", ""]
    for q in chapter.questions:
        head = f"::{q['id']}::[html]{gift_text(q['prompt'])} {{"
        if q["type"] == "single":
            body = [f"{'=' if o['correct'] else '~'}{gift_text(o['text'])}#{gift_text(o['feedback'])}"
                    for o in q["options"]]
        elif q["type"] == "multiple":
            right = sum(o["correct"] for o in q["options"])
            wrong = len(q["options"]) - right
            body = [f"~%{_fraction(100 / right) if o['correct'] else _fraction(-100 / wrong)}%"
                    f"{gift_text(o['text'])}#{gift_text(o['feedback'])}" for o in q["options"]]
        elif q["type"] == "true_false":
            right, wrong = (q["feedback_true"], q["feedback_false"]) if q["answer"] else \
                (q["feedback_false"], q["feedback_true"])
            body = [f"{'TRUE' if q['answer'] else 'FALSE'}#{gift_text(wrong)}#{gift_text(right)}"]
        elif q["type"] == "numeric":
            body = [f"#{q['answer']}:{q.get('tolerance', 0)}#{gift_text(q['feedback'])}"]
        else:
            body = []  # an essay: the model answer is in the general feedback
        body.append(f"####{gift_escape(general_feedback_html(q))}")
        out.append(head)
        out.extend("    " + line for line in body)
        out.extend(["}", ""])
    return "\n".join(out)


def write_exports(chapters: list[Chapter], titles: dict, target: Path) -> list[Path]:
    target.mkdir(parents=True, exist_ok=True)
    written = []
    for chapter in chapters:
        name, title = Path(chapter.docname).name, chapter_title(chapter, titles)
        for path, payload in ((target / f"{name}-canvas-qti.zip", to_qti_zip(chapter, title)),
                              (target / f"{name}-moodle.xml", to_moodle_xml(chapter, title)),
                              (target / f"{name}.gift.txt", to_gift(chapter, title).encode("utf-8"))):
            path.write_bytes(payload)
            written.append(path)
    return written


__all__ = ["to_qti_zip", "to_moodle_xml", "to_gift", "write_exports", "text2qti_source", "answer_text",
           "reproducible_zip", "link_html", "general_feedback_html", "plain"]
