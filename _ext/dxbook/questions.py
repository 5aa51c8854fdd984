"""A directive and node (``{dx-quiz}``), ``doctree-read``: the question bank (``questions/*.yml``), one source for the page's "Check your
understanding", the worksheet and answer key, and the LMS exports (``lms``).

* ``load_bank()`` reads every chapter file, validates it against
  ``questions/schema.json`` plus the rules a JSON Schema cannot say (one right
  option in a single-choice question, two or more in a multiple-choice one,
  unique ids, a numeric question's fact exists), and computes every numeric
  answer from ``data/`` through ``defection.facts``, so no answer can drift
  from the data. Problems are reported with file, line and column.
* The ``{dx-quiz}`` directive renders a chapter's questions as accessible forms
  (fieldset and legend, native controls, a live region for feedback). The
  answers and feedback are in the page only base64-encoded, for
  ``dx-quiz.js`` to check; the teacher edition shows them inline instead.
"""
from __future__ import annotations

import base64
import hashlib
import json
import random
import re
from dataclasses import dataclass
from html import escape
from pathlib import Path

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective

logger = logging.getLogger(__name__)


TYPE_NAMES = {"single": "Choose one", "multiple": "Choose all that apply", "true_false": "True or false",
              "numeric": "Give a number", "short": "Answer in a few sentences"}


class BankError(ValueError):
    """A question file is malformed; the message names file, line and column."""


@dataclass
class Chapter:
    path: Path
    docname: str
    questions: list[dict]
    title: str = ""  # the chapter's title and absolute URL, set by ``link_sections``
    url: str = ""


def bank_dir(root: Path) -> Path:
    return Path(root) / "questions"


def inline(text: str) -> str:
    """Plain text with *emphasis* as safe HTML."""
    return re.sub(r"\*([^*\n]+)\*", r"<em>\1</em>", escape(" ".join(str(text).split())))


def plain(text: str) -> str:
    return re.sub(r"\*([^*\n]+)\*", r"\1", " ".join(str(text).split()))


def _locate(path: Path, text: str, keys: list) -> str:
    """``file, line L, column C`` of the YAML node at ``keys`` (best effort)."""
    import yaml

    node = yaml.compose(text)
    for key in keys:
        if isinstance(node, yaml.MappingNode):
            node = next((v for k, v in node.value if k.value == key), node)
        elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
            node = node.value[key]
    mark = node.start_mark
    return f"{path}, line {mark.line + 1}, column {mark.column + 1}"


def load_yaml(path: Path, schema: dict, error=ValueError) -> tuple[dict, str]:
    """A YAML file parsed and validated against ``schema`` (and its text, for ``_locate``);
    every problem raises ``error`` naming file, line and column."""
    import jsonschema
    import yaml

    text = path.read_text(encoding="utf-8")
    try:
        raw = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        raise error(f"{path}, line {mark.line + 1}, column {mark.column + 1}: {exc.problem}") from None
    errors = sorted(jsonschema.Draft202012Validator(schema).iter_errors(raw), key=lambda e: list(e.path))
    if errors:
        raise error("\n".join(f"{_locate(path, text, list(e.path))}: {e.message}" for e in errors[:20]))
    return raw, text


def load_chapter(path: Path, schema: dict) -> Chapter:
    raw, text = load_yaml(path, schema, BankError)
    seen = set()
    for i, q in enumerate(raw["questions"]):
        where = _locate(path, text, ["questions", i])
        if q["id"] in seen:
            raise BankError(f"{where}: duplicate question id {q['id']}")
        seen.add(q["id"])
        right = [o for o in q.get("options", []) if o["correct"]]
        if q["type"] == "single" and len(right) != 1:
            raise BankError(f"{where}: a single-choice question needs exactly one correct option ({len(right)})")
        if q["type"] == "multiple" and (len(right) < 2 or len(right) == len(q["options"])):
            raise BankError(f"{where}: a multiple-choice question needs two or more correct options and a wrong one")
        for keys, value in _feedback_texts(q):
            if VERDICT.match(value):
                raise BankError(f"{_locate(path, text, ['questions', i, *keys])}: feedback starts with a verdict "
                                f"word ({value.split()[0]!r}); start with the reason, the renderer adds the verdict")
    arrange_options(raw["chapter"], raw["questions"])
    return Chapter(path, raw["chapter"], raw["questions"])


#: Feedback may not open with a verdict: the page, the key and each LMS add one, once.
VERDICT = re.compile(r"(?i)^\W*(?:(?:right|correct|incorrect|wrong|not quite|exactly|yes|no|true|false)"
                     r"\s*[.,:;!\u2014-]|(?:partly|partially|half)\s+(?:right|correct))")


def _feedback_texts(q: dict):
    for i, option in enumerate(q.get("options", [])):
        yield ["options", i, "feedback"], option["feedback"]
    for key in ("feedback", "feedback_true", "feedback_false"):
        if key in q:
            yield [key], q[key]


def _rng(*parts: str) -> random.Random:
    return random.Random(int(hashlib.sha256("|".join(parts).encode("utf-8")).hexdigest()[:16], 16))


def arrange_options(docname: str, questions: list[dict]) -> None:
    """Put every question's options in a seeded order that carries no signal (in place).

    Authors write options in any order. A multiple-choice question gets a permutation
    seeded by its id. For single-choice questions, the right option's position is dealt
    from a seeded deck of positions (refilled when empty), so across a chapter the key
    is spread evenly over a, b, c, d rather than left to chance; the wrong options are
    shuffled around it. The order depends only on the bank, so the page, the worksheet,
    the answer key and every LMS export show the same order. ``fixed_order: true`` keeps
    the written order (a scale, a sequence)."""
    deck: list[int] = []
    deal = _rng(docname, "positions")
    for q in questions:
        if q["type"] not in ("single", "multiple") or q.get("fixed_order"):
            continue
        options, rng = list(q["options"]), _rng(q["id"])
        if q["type"] == "multiple":
            rng.shuffle(options)
        else:
            n = len(options)
            if not any(p < n for p in deck):
                deck += deal.sample(range(6), 6)
            target = next(p for p in deck if p < n)
            deck.remove(target)
            right = next(o for o in options if o["correct"])
            wrong = [o for o in options if not o["correct"]]
            rng.shuffle(wrong)
            options = wrong[:target] + [right] + wrong[target:]
        q["options"] = options


def _schema(root: Path) -> dict:
    return json.loads((bank_dir(root) / "schema.json").read_text(encoding="utf-8"))


def _with_answers(chapter: Chapter) -> Chapter:
    """Compute the chapter's numeric answers from data/ (through defection.facts)."""
    from defection import facts

    numbers = facts.for_chapter(chapter.docname)
    for q in chapter.questions:
        _fill_facts(chapter, q, numbers)
        if q["type"] == "numeric":
            if q["fact"] not in numbers:
                raise BankError(f"{chapter.path}: {q['id']} asks for {q['fact']}, which defection.facts "
                                f"does not compute for {chapter.docname}")
            value = numbers[q["fact"]]
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise BankError(f"{chapter.path}: {q['id']}: {q['fact']} is not a number ({value!r})")
            q["answer"] = value
    return chapter


FACT = re.compile(r"\{fact:([a-z0-9_]+)\}")


def _fill_facts(chapter: Chapter, q: dict, numbers: dict) -> None:
    """Replace every ``{fact:NAME}`` in the question's texts by the number defection.facts computes."""
    def fill(text: str) -> str:
        def one(m):
            if m.group(1) not in numbers:
                raise BankError(f"{chapter.path}: {q['id']} quotes {{fact:{m.group(1)}}}, which defection.facts "
                                f"does not compute for {chapter.docname}")
            value = numbers[m.group(1)]
            return format_number(value) if isinstance(value, (int, float)) and not isinstance(value, bool) \
                else str(value)
        return FACT.sub(one, text)

    for key in ("prompt", "feedback", "feedback_true", "feedback_false", "model_answer"):
        if key in q:
            q[key] = fill(q[key])
    for option in q.get("options", []):
        option["text"], option["feedback"] = fill(option["text"]), fill(option["feedback"])


def load_bank(root: Path) -> list[Chapter]:
    """Every chapter's questions, validated, with numeric answers computed from data/;
    a question id used in two files is an error too."""
    schema = _schema(root)
    chapters = [_with_answers(load_chapter(p, schema)) for p in sorted(bank_dir(root).glob("*.yml"))]
    first: dict[str, Path] = {}
    for chapter in chapters:
        for q in chapter.questions:
            if q["id"] in first:
                raise BankError(f"{chapter.path}: question id {q['id']} is already used in {first[q['id']]}")
            first[q["id"]] = chapter.path
    return chapters


def chapter_for(root: Path, docname: str) -> Chapter | None:
    """One chapter's questions (``questions/<chapter file name>.yml``), validated, with answers."""
    path = bank_dir(root) / f"{Path(docname).name}.yml"
    if not path.is_file():
        return None
    chapter = load_chapter(path, _schema(root))
    if chapter.docname != docname:
        raise BankError(f"{path}: says it is for {chapter.docname}, but its name is that of {docname}")
    return _with_answers(chapter)


def link_sections(titles: dict[str, str], chapter: Chapter, title: str, baseurl: str) -> Chapter:
    """Give the chapter and each question the title and absolute URL of the section that
    answers it (``html.baseurl`` is the book's one public address), for keys and exports:
    a question imported into an LMS still says where the book explains it. ``titles``: the
    chapter's section titles (:func:`section_titles`)."""
    chapter.title = title
    chapter.url = f"{(baseurl or '').rstrip('/')}/{chapter.docname}.html"
    for q in chapter.questions:
        if q["section"] not in titles:
            raise BankError(f"{chapter.path}: {q['id']}: no heading or label {q['section']!r} in {chapter.docname}")
        q["section_title"] = plain(titles[q["section"]])
        q["section_url"] = f"{chapter.url}#{q['section']}"
    return chapter


def where_explained(q: dict) -> str:
    """'Where the book explains this' in words, with the absolute address (plain text)."""
    return f"Where the book explains this: \"{q['section_title']}\", {q['section_url']}"


def options_of(q: dict) -> list[dict]:
    """Choices of a single, multiple or true/false question, as options."""
    if q["type"] == "true_false":
        return [{"text": "True", "correct": q["answer"] is True, "feedback": q["feedback_true"]},
                {"text": "False", "correct": q["answer"] is False, "feedback": q["feedback_false"]}]
    return q.get("options", [])


def answer_text(q: dict) -> str:
    """The right answer, in words (for answer keys and exports)."""
    if q["type"] in ("single", "multiple", "true_false"):
        return "; ".join(plain(o["text"]) for o in options_of(q) if o["correct"])
    if q["type"] == "numeric":
        return numeric_answer(q)
    return plain(q["model_answer"])


def format_number(value, decimals: int | None = None) -> str:
    if decimals is None:
        decimals = 0 if isinstance(value, int) else 2
    return f"{value:,.{decimals}f}"


def numeric_answer(q: dict) -> str:
    """A numeric answer as the prompt asks for it (``decimals``), with the value the data gives
    and the range the quiz accepts: "32 (the data gives 31.7; answers within 1 of it are accepted)"."""
    value, tolerance = q["answer"], q.get("tolerance", 0)
    shown = format_number(value, q.get("decimals"))
    exact = format_number(value)
    if "." in exact:
        exact = exact.rstrip("0").rstrip(".")
    notes = []
    if exact != shown:
        notes.append(f"the data gives {exact}")
    if tolerance:
        notes.append(f"answers within {format_number(tolerance, 0 if float(tolerance).is_integer() else None)} "
                     f"of {'it' if exact != shown else 'this'} are accepted")
    return shown + (f" ({'; '.join(notes)})" if notes else "")


def _key(q: dict) -> str:
    """What dx-quiz.js needs to check an answer: base64 JSON, so no answer is plain text in the page."""
    if q["type"] == "numeric":
        payload = {"answer": q["answer"], "tolerance": q.get("tolerance", 0), "shown": numeric_answer(q),
                   "feedback": inline(q["feedback"])}
    elif q["type"] == "short":
        payload = {"model": inline(q["model_answer"]), "feedback": inline(q.get("feedback", ""))}
    else:
        payload = {"correct": [i for i, o in enumerate(options_of(q)) if o["correct"]],
                   "feedback": [inline(o["feedback"]) for o in options_of(q)]}
    return base64.b64encode(json.dumps(payload, ensure_ascii=False).encode("utf-8")).decode("ascii")


def render_question(q: dict, number: int, section_title: str, answers_href: str, teacher: bool) -> str:
    """One question as the page shows it. Its answer key is not in it: the quiz node keeps the
    keys and writes them to a file of their own (:class:`dx_quiz`)."""
    qid = escape(q["id"])
    kind = q["type"]
    parts = [f'<form class="dx-q" id="{qid}" data-dx-type="{kind}" novalidate>',
             '<fieldset>',
             f'<legend><span class="dx-q-num">Question {number}.</span> {inline(q["prompt"])} '
             f'<span class="dx-q-kind">({TYPE_NAMES[kind]})</span></legend>']
    if kind in ("single", "multiple", "true_false"):
        control = "checkbox" if kind == "multiple" else "radio"
        parts.append('<div class="dx-q-options">')
        for i, option in enumerate(options_of(q)):
            parts.append(f'<label class="dx-q-option"><input type="{control}" name="{qid}" value="{i}"> '
                         f'<span>{inline(option["text"])}</span></label>')
        parts.append("</div>")
    elif kind == "numeric":
        parts.append(f'<label class="dx-q-number">Your answer <input type="text" inputmode="decimal" '
                     f'name="{qid}" autocomplete="off"></label>')
    else:
        parts.append(f'<label class="dx-q-text">Your answer<textarea name="{qid}" rows="3"></textarea></label>')
    button = "Show the model answer" if kind == "short" else "Check"
    parts.append(f'<div class="dx-q-actions"><button type="submit" class="dx-q-check">{button}</button></div>')
    parts.append('<div class="dx-q-feedback" role="status" aria-live="polite"></div>')
    section = f'<a href="#{escape(q["section"])}">{escape(section_title)}</a>'
    parts.append(f'<p class="dx-q-section">Where the chapter explains this: {section}.</p>')
    if teacher:
        parts.append('<div class="dx-q-teacher"><p><strong>Answer:</strong> '
                     f'{escape(answer_text(q))}</p>{_teacher_feedback(q)}</div>')
    else:
        parts.append(f'<noscript><details class="dx-q-nojs"><summary>Answer</summary><p>With JavaScript off, '
                     f'read the answer and why on the <a href="{escape(answers_href)}#{qid}">answer page</a>.'
                     '</p></details></noscript>')
    parts.append("</fieldset></form>")
    return "\n".join(parts)


def _teacher_feedback(q: dict) -> str:
    if q["type"] in ("single", "multiple", "true_false"):
        items = "".join(f'<li>{"✔ " if o["correct"] else "✘ "}{inline(o["text"])}: {inline(o["feedback"])}</li>'
                        for o in options_of(q))
        return f"<ul>{items}</ul>"
    return f'<p>{inline(q.get("feedback", ""))}</p>' if q.get("feedback") else ""


class QuizDirective(SphinxDirective):
    """``{dx-quiz}``: the chapter's questions from the bank, as a self-check."""

    has_content = False

    def run(self):
        from .editions import is_teacher_build

        root = Path(self.env.srcdir)
        self.env.note_dependency(str(bank_dir(root) / f"{Path(self.env.docname).name}.yml"))
        chapter = chapter_for(root, self.env.docname)
        if chapter is None:
            raise self.error(f"no question file for {self.env.docname} in questions/")
        depth = self.env.docname.count("/")
        answers = "../" * depth + f"answers/{Path(self.env.docname).name}.html"
        node = dx_quiz("", docname=self.env.docname, bank=chapter.path.name, questions=chapter.questions,
                       answers=answers, teacher=is_teacher_build())
        self.set_source_info(node)
        return [node]


def quiz_html(questions: list[dict], titles: dict[str, str], answers: str, teacher: bool) -> str:
    """The quiz as the page shows it, each question naming the section that explains it."""
    html = ['<div class="dx-quiz">',
            '<p class="dx-quiz-intro">Answer each question, then press <em>Check</em>: you will see at once '
            'whether you were right and why. Nothing is sent anywhere; the answers stay on this page.</p>']
    html += [render_question(q, i, titles.get(q["section"], q["section"]), answers, teacher)
             for i, q in enumerate(questions, start=1)]
    html.append("</div>")
    return "\n".join(html)


# --- the chapters' section titles, from their doctrees -------------------------------------

TITLES_KEY = "dx_section_titles"


def titles_of(doctree: nodes.Node) -> dict[str, str]:
    """Every id a question can name, mapped to the title of the section it is in: each
    section's ids (its automatic id and any label), then the ids of labelled figures,
    tables and exercises inside it."""
    titles: dict[str, str] = {}
    for section in doctree.findall(nodes.section):
        title = section.next_node(nodes.title)
        for ident in section["ids"]:
            titles[ident] = title.astext() if title is not None else ident
    for node in doctree.findall(nodes.Element):
        if isinstance(node, nodes.section) or not node.get("ids"):
            continue
        parent = node.parent
        while parent is not None and not isinstance(parent, nodes.section):
            parent = parent.parent
        if parent is not None and parent["ids"]:
            for ident in node["ids"]:
                titles.setdefault(ident, titles[parent["ids"][0]])
    return titles


def section_titles(env, docname: str) -> dict[str, str]:
    """The section titles of a chapter, as recorded when it was read (``doctree-read``)."""
    return getattr(env, TITLES_KEY, {}).get(docname, {})


def _record_titles(app: Sphinx, doctree: nodes.document) -> None:
    """Note the chapter's section titles on ``env``, and check that every question of its quiz
    names a section the chapter has (an error at the quiz, naming the question file)."""
    from .pageflags import per_doc

    titles = per_doc(app.env, TITLES_KEY)[app.env.docname] = titles_of(doctree)
    for node in doctree.findall(dx_quiz):
        missing = sorted({q["section"] for q in node["questions"]} - set(titles))
        if missing:
            logger.error("questions/%s: no heading or label %s in the chapter", node["bank"], missing,
                         location=node)


class dx_quiz(nodes.General, nodes.Element):
    """A chapter's quiz: its ``docname``, its ``questions`` as loaded from the ``bank`` file
    when the chapter was read, the ``answers`` page and the ``teacher`` edition flag. The HTML
    writer renders the questions with the section titles from ``env`` and puts their answer
    keys in a file of their own (:func:`visit_quiz_html`); the EPUB prints the questions with their answers at the
    chapter's end (epub.py); the notebooks link to the page (notebooks.py)."""


def keys_file(keys: dict) -> tuple[str, bytes]:
    """The keys file's name (its content hash, so a changed key is a new file) and bytes.

    The keys are two thirds of a quiz's weight (about 20 kB a chapter) and only a reader
    who presses *Check* needs them: ``dx-quiz.js`` fetches the file then."""
    payload = json.dumps(keys, sort_keys=True, separators=(",", ":")).encode("ascii")
    return f"{hashlib.sha256(payload).hexdigest()[:16]}.json", payload


def hashed_files(doctree) -> dict[str, list[str]]:
    """The names (without ``.json``) of the keys files of the page's quiz (``finish.remove_stale``)."""
    return {KEY_DIR: [keys_file({q["id"]: _key(q) for q in node["questions"]})[0].split(".")[0]
                      for node in doctree.findall(dx_quiz)]}


def visit_quiz_html(self, node: dx_quiz) -> None:
    from sphinx.util.osutil import relative_uri

    name, payload = keys_file({q["id"]: _key(q) for q in node["questions"]})
    target = Path(self.builder.outdir) / KEY_DIR / name
    if not target.is_file():
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(payload)
    here = self.builder.get_target_uri(self.builder.current_docname)
    url = escape(relative_uri(here, f"{KEY_DIR}/{name}"), quote=True)
    html = quiz_html(node["questions"], section_titles(self.builder.env, node["docname"]), node["answers"],
                     node["teacher"])
    self.body.append(html.replace('<div class="dx-quiz">', f'<div class="dx-quiz" data-dx-keys="{url}">', 1))
    raise nodes.SkipNode


def skip_node(self, node) -> None:
    raise nodes.SkipNode


def _page_context(app: Sphinx, pagename, templatename, context, doctree) -> None:
    from .pageflags import page_shows

    if page_shows(app, pagename, "quiz"):
        app.add_js_file("dx/dx-quiz.js", loading_method="defer")  # this page only


KEY_DIR = "_static/quiz"


def setup(app: Sphinx) -> None:
    app.add_directive("dx-quiz", QuizDirective)
    app.connect("doctree-read", _record_titles)
    from .pageflags import track

    track(app, TITLES_KEY)
    skip = (skip_node, None)
    app.add_node(dx_quiz, html=(visit_quiz_html, None), latex=skip, text=skip, man=skip, texinfo=skip)
    app.connect("html-page-context", _page_context)
