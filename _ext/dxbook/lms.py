"""The question bank for a class's learning-management system.

Per chapter, built with every ``make book`` into ``questions/`` on the site:

* ``<chapter>-canvas-qti.zip``: QTI 1.2 for Canvas (and other QTI importers),
  made with text2qti (a maintained Canvas QTI writer) from its plain-text quiz
  format;
* ``<chapter>-moodle.xml``: Moodle XML, written to Moodle's published format
  (https://docs.moodle.org/en/Moodle_XML_format); no maintained Python writer
  exists, and the format is small;
* ``<chapter>.gift.txt``: GIFT, written to its published format
  (https://docs.moodle.org/en/GIFT_format).

Single choice and true/false become multiple-choice questions with feedback
for every option; multiple choice, "multiple answers" with partial credit;
numeric, a numerical question whose answer is computed from data/; short
answers, essay questions whose model answer is the grader's information.
"""
from __future__ import annotations

import io
import xml.etree.ElementTree as ET
from pathlib import Path

from .questions import Chapter, answer_text, options_of, plain


def chapter_title(chapter: Chapter, titles: dict) -> str:
    return titles.get(chapter.docname, chapter.docname)


# --- Canvas: QTI 1.2 through text2qti ---------------------------------------------------


def _t2q_text(text: str) -> str:
    """text2qti's input is Markdown: keep emphasis, escape what Markdown or text2qti would read."""
    text = " ".join(str(text).split())
    for ch in ("\\", "`", "$", "<", ">", "[", "]", "_"):
        text = text.replace(ch, "\\" + ch)
    return text


def text2qti_source(chapter: Chapter, title: str) -> str:
    lines = [f"Quiz title: {_t2q_text(title)}: check your understanding",
             "Quiz description: Self-check questions from Defection Explained. Numeric answers are computed "
             "from the book's dataset.", "shuffle answers: false", ""]
    for n, q in enumerate(chapter.questions, start=1):
        lines.append(f"Title: {q['id']}")
        lines.append(f"{n}.  {_t2q_text(q['prompt'])}")
        if q["type"] in ("single", "true_false"):
            for i, o in enumerate(options_of(q)):
                letter = "abcdefgh"[i]
                lines.append(f"{'*' if o['correct'] else ''}{letter}) {_t2q_text(o['text'])}")
                lines.append(f"... {_t2q_text(o['feedback'])}")
        elif q["type"] == "multiple":
            for o in options_of(q):
                lines.append(f"[{'*' if o['correct'] else ' '}] {_t2q_text(o['text'])}")
        elif q["type"] == "numeric":
            lines.append(f"... {_t2q_text(q['feedback'])}")
            lines.append(f"=   {q['answer']} +- {q.get('tolerance', 0)}")
        else:
            lines.append(f"... Model answer: {_t2q_text(q['model_answer'])}")
            lines.append("____")
        lines.append("")
    return "\n".join(lines)


def to_qti_zip(chapter: Chapter, title: str) -> bytes:
    from text2qti.config import Config
    from text2qti.qti import QTI
    from text2qti.quiz import Quiz

    config = Config()
    config.load()  # text2qti's defaults (no config file is written)
    quiz = Quiz(text2qti_source(chapter, title), config=config, source_name=f"{chapter.docname}.yml")
    stream = io.BytesIO()
    QTI(quiz).write(stream)
    return stream.getvalue()


# --- Moodle XML -------------------------------------------------------------------------


def _text(parent, tag, value, fmt="html"):
    el = ET.SubElement(parent, tag, {"format": fmt} if fmt else {})
    ET.SubElement(el, "text").text = value
    return el


def to_moodle_xml(chapter: Chapter, title: str) -> bytes:
    quiz = ET.Element("quiz")
    category = ET.SubElement(quiz, "question", {"type": "category"})
    ET.SubElement(ET.SubElement(category, "category"), "text").text = f"$course$/Defection Explained/{title}"
    for q in chapter.questions:
        kind = {"single": "multichoice", "multiple": "multichoice", "true_false": "truefalse",
                "numeric": "numerical", "short": "essay"}[q["type"]]
        el = ET.SubElement(quiz, "question", {"type": kind})
        ET.SubElement(ET.SubElement(el, "name"), "text").text = q["id"]
        _text(el, "questiontext", plain(q["prompt"]))
        ET.SubElement(el, "defaultgrade").text = "1"
        if q["type"] in ("single", "multiple"):
            ET.SubElement(el, "single").text = "true" if q["type"] == "single" else "false"
            ET.SubElement(el, "shuffleanswers").text = "0"
            ET.SubElement(el, "answernumbering").text = "abc"
            right = sum(o["correct"] for o in q["options"])
            wrong = len(q["options"]) - right
            for o in q["options"]:
                if q["type"] == "single":
                    fraction = "100" if o["correct"] else "0"
                else:
                    fraction = _fraction(100 / right) if o["correct"] else _fraction(-100 / wrong)
                answer = _text(el, "answer", plain(o["text"]))
                answer.set("fraction", fraction)
                _text(answer, "feedback", plain(o["feedback"]))
        elif q["type"] == "true_false":
            for value, feedback in (("true", q["feedback_true"]), ("false", q["feedback_false"])):
                answer = _text(el, "answer", value, fmt="moodle_auto_format")
                answer.set("fraction", "100" if (value == "true") == q["answer"] else "0")
                _text(answer, "feedback", plain(feedback))
        elif q["type"] == "numeric":
            answer = _text(el, "answer", str(q["answer"]), fmt="moodle_auto_format")
            answer.set("fraction", "100")
            ET.SubElement(answer, "tolerance").text = str(q.get("tolerance", 0))
            _text(answer, "feedback", plain(q["feedback"]))
        else:
            _text(el, "graderinfo", plain(q["model_answer"]))
            ET.SubElement(el, "responseformat").text = "editor"
            ET.SubElement(el, "responsefieldlines").text = "8"
        _text(el, "generalfeedback", f"Where the chapter explains this: section '{q['section']}'.")
    ET.indent(quiz)
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(quiz, encoding="utf-8")


def _fraction(value: float) -> str:
    """Moodle accepts only its listed grade fractions; the nearest one to ``value``."""
    allowed = [100, 90, 83.33333, 80, 75, 70, 66.66667, 60, 50, 40, 33.33333, 30, 25, 20, 16.66667,
               14.28571, 12.5, 11.11111, 10, 5, 0]
    best = min(allowed, key=lambda a: abs(a - abs(value)))
    return f"{'-' if value < 0 else ''}{best:g}"


# --- GIFT -------------------------------------------------------------------------------


def gift_escape(text: str) -> str:
    text = " ".join(plain(text).split())
    for ch in ("\\", "~", "=", "#", "{", "}", ":"):
        text = text.replace(ch, "\\" + ch)
    return text


def to_gift(chapter: Chapter, title: str) -> str:
    out = [f"// Defection Explained: {title}. Check your understanding.",
           "// Numeric answers are computed from the book's dataset when the book is built.",
           f"$CATEGORY: $course$/Defection Explained/{gift_escape(title)}", ""]
    for q in chapter.questions:
        head = f"::{q['id']}::{gift_escape(q['prompt'])} {{"
        if q["type"] == "single":
            body = [f"{'=' if o['correct'] else '~'}{gift_escape(o['text'])}#{gift_escape(o['feedback'])}"
                    for o in q["options"]]
        elif q["type"] == "multiple":
            right = sum(o["correct"] for o in q["options"])
            wrong = len(q["options"]) - right
            body = [f"~%{_fraction(100 / right) if o['correct'] else _fraction(-100 / wrong)}%"
                    f"{gift_escape(o['text'])}#{gift_escape(o['feedback'])}" for o in q["options"]]
        elif q["type"] == "true_false":
            right, wrong = (q["feedback_true"], q["feedback_false"]) if q["answer"] else \
                (q["feedback_false"], q["feedback_true"])
            body = [f"{'TRUE' if q['answer'] else 'FALSE'}#{gift_escape(wrong)}#{gift_escape(right)}"]
        elif q["type"] == "numeric":
            body = [f"#{q['answer']}:{q.get('tolerance', 0)}#{gift_escape(q['feedback'])}"]
        else:
            body = [f"####{gift_escape('Model answer: ' + q['model_answer'])}"]
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


__all__ = ["to_qti_zip", "to_moodle_xml", "to_gift", "write_exports", "text2qti_source", "answer_text"]
