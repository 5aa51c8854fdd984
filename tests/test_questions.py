"""The question bank and everything made from it (issue 15)."""
from __future__ import annotations

import base64
import io
import json
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
import zipfile
from collections import Counter
from pathlib import Path

import pytest

from conftest import ROOT, WATCH_POLICY, chapter_docnames, heading_titles

sys.path.insert(0, str(ROOT / "_ext"))
from dxbook import lms  # noqa: E402
from dxbook.questions import BankError, answer_text, load_bank, load_chapter, options_of, plain  # noqa: E402

CHAPTERS = chapter_docnames()


@pytest.fixture(scope="module")
def bank():
    from dxbook.questions import link_sections

    chapters = {c.docname: c for c in load_bank(ROOT)}
    for c in chapters.values():
        link_sections(heading_titles(ROOT / f"{c.docname}.md"), c, c.docname, "https://example.org/book/")
    return chapters


# --- the bank ---------------------------------------------------------------------------


def test_every_chapter_has_a_varied_bank(bank):
    assert sorted(bank) == sorted(CHAPTERS)
    for name, chapter in bank.items():
        kinds = Counter(q["type"] for q in chapter.questions)
        assert len(chapter.questions) >= 12, name
        assert kinds["single"] >= 3 and kinds["multiple"] >= 2 and kinds["true_false"] >= 2, (name, kinds)
        assert kinds["numeric"] >= 1 and kinds["short"] >= 1, (name, kinds)


def test_every_option_has_feedback_and_a_right_answer_exists(bank):
    for chapter in bank.values():
        for q in chapter.questions:
            options = options_of(q)
            if q["type"] in ("single", "multiple", "true_false"):
                assert any(o["correct"] for o in options), q["id"]
                assert all(len(o["feedback"].split()) >= 4 for o in options), f"{q['id']}: feedback that explains"
            assert answer_text(q), q["id"]


def test_numeric_answers_are_what_the_data_gives(bank):
    from defection import facts

    for name, chapter in bank.items():
        numbers = facts.for_chapter(name)
        for q in chapter.questions:
            if q["type"] == "numeric":
                assert q["answer"] == numbers[q["fact"]]
                assert str(q["answer"]) not in re.findall(r"\d+", q["prompt"] + q["feedback"]), \
                    f"{q['id']} gives its own answer away"


def test_numeric_answers_follow_the_data(tmp_path, monkeypatch):
    """Drop a case from a private copy of data/: every numeric answer is recomputed."""
    from defection import data, facts

    shutil.copytree(ROOT / "data", tmp_path / "data")
    lines = (tmp_path / "data" / "cases.csv").read_text(encoding="utf-8").splitlines(keepends=True)
    (tmp_path / "data" / "cases.csv").write_text("".join(lines[:1] + lines[2:]), encoding="utf-8")
    monkeypatch.setenv("DEFECTION_DATA", str(tmp_path / "data"))
    data._package.cache_clear()
    chapter = next(c for c in load_bank(ROOT) if c.docname == CHAPTERS[0])
    fresh = facts.for_chapter(CHAPTERS[0])
    assert all(q["answer"] == fresh[q["fact"]] for q in chapter.questions if q["type"] == "numeric")
    data._package.cache_clear()


def test_a_broken_question_file_names_file_line_and_column(tmp_path):
    schema = json.loads((ROOT / "questions" / "schema.json").read_text())
    text = (ROOT / "questions" / f"{Path(CHAPTERS[0]).name}.yml").read_text(encoding="utf-8")
    broken = tmp_path / "broken.yml"
    broken.write_text(text.replace("type: single", "type: singel", 1), encoding="utf-8")
    with pytest.raises(BankError, match=r"broken\.yml, line \d+, column \d+: 'singel' is not one of"):
        load_chapter(broken, schema)
    broken.write_text(text.replace("correct: true", "correct: false", 1), encoding="utf-8")
    with pytest.raises(BankError, match=r"broken\.yml, line \d+, column \d+: .*exactly one correct option"):
        load_chapter(broken, schema)


# --- LMS exports: each parses back with every question, option and right answer --------


def norm(text: str) -> str:
    """Text as a reader sees it: tags dropped, entities and typographic quotes undone."""
    import unicodedata
    from html import unescape

    text = unicodedata.normalize("NFKC", unescape(re.sub(r"<[^>]+>", " ", re.sub(r"</?(?:em|strong|code)>", "", unescape(text)))))  # NFKC: PDF ligatures
    return " ".join(text.replace("\u2019", "'").replace("\u2018", "'").replace("\u201c", '"')
                    .replace("\u201d", '"').split())


def test_canvas_qti_round_trips(bank):
    for name, chapter in bank.items():
        archive = zipfile.ZipFile(io.BytesIO(lms.to_qti_zip(chapter, name)))
        files = archive.namelist()
        assert "imsmanifest.xml" in files
        manifest = ET.fromstring(archive.read("imsmanifest.xml"))
        hrefs = [el.get("href") for el in manifest.iter() if el.tag.endswith("file") and el.get("href")]
        assert hrefs and all(h in files for h in hrefs), "the manifest names files that are in the package"
        assessment = next(f for f in files if f.endswith(".xml") and "/" in f and not f.endswith("meta.xml"))
        root = ET.fromstring(archive.read(assessment))
        ns = {"q": root.tag.split("}")[0].strip("{")}
        items = root.findall(".//q:item", ns)
        assert [i.get("title") for i in items] == [q["id"] for q in chapter.questions]
        for item, q in zip(items, chapter.questions):
            labels = item.findall(".//q:response_label", ns)
            texts = [norm(ET.tostring(lab, method="text", encoding="unicode")) for lab in labels]
            if q["type"] in ("single", "multiple", "true_false"):
                assert len(labels) == len(options_of(q)), q["id"]
                for option, text in zip(options_of(q), texts):
                    assert norm(plain(option["text"]))[:40] in text, q["id"]
                correct = {el.text for el in item.findall(".//q:respcondition/q:conditionvar//q:varequal", ns)}
                right_ids = {lab.get("ident") for lab, o in zip(labels, options_of(q)) if o["correct"]}
                assert right_ids <= correct, q["id"]
            elif q["type"] == "numeric":
                values = " ".join(ET.tostring(item, method="text", encoding="unicode").split())
                bounds = [el.text for el in item.iter() if el.tag.endswith(("vargte", "varlte", "varequal"))]
                assert any(float(b) == float(q["answer"]) for b in bounds if b), (q["id"], bounds, values[:80])


def test_moodle_xml_round_trips(bank):
    for name, chapter in bank.items():
        root = ET.fromstring(lms.to_moodle_xml(chapter, name))
        questions = [q for q in root.findall("question") if q.get("type") != "category"]
        assert [q.findtext("name/text") for q in questions] == [q["id"] for q in chapter.questions]
        for el, q in zip(questions, chapter.questions):
            answers = el.findall("answer")
            if q["type"] in ("single", "multiple"):
                assert [norm(a.findtext("text")) for a in answers] == [norm(plain(o["text"])) for o in q["options"]]
                assert [float(a.get("fraction")) > 0 for a in answers] == [o["correct"] for o in q["options"]]
                assert all(a.findtext("feedback/text") for a in answers)
            elif q["type"] == "true_false":
                right = next(a for a in answers if a.get("fraction") == "100")
                assert right.findtext("text") == ("true" if q["answer"] else "false")
            elif q["type"] == "numeric":
                assert float(answers[0].findtext("text")) == q["answer"]
            else:
                assert norm(el.findtext("graderinfo/text")) == norm(plain(q["model_answer"]))


@pytest.fixture(scope="session")
def gift_parser():
    """pygiftparser, in the virtual environment of its own that `make test` sets up
    (.venv-gift, from tests/requirements-gift.txt: it pins an old Markdown)."""
    python = ROOT / ".venv-gift" / "bin" / "python"
    if not python.is_file():
        pytest.fail(f"no {python}: run `make test`, which installs pygiftparser from tests/requirements-gift.txt")
    return python


GIFT_DUMP = r"""
import io, json, re, sys
from pygiftparser import parser
# pygiftparser leaves GIFT's escapes (\: \= ...) in the text; Moodle removes them on import.
unescape = lambda v: re.sub(r"\\([~=#{}:])", r"\1", v) if isinstance(v, str) else v
out = []
for q in parser.parseFile(io.StringIO(sys.stdin.read())):
    a = q.answers
    out.append({"title": q.title, "kind": type(a).__name__, "general": unescape(q.generalFeedback),
                "truth": getattr(a, "answer", None) if type(a).__name__ == "TrueFalseSet" else None,
                "answers": [{k: unescape(v) for k, v in vars(x).items() if isinstance(v, (str, int, float, bool))}
                            for x in (getattr(a, "answers", None) or [])]})
print(json.dumps(out))
"""


def test_gift_round_trips(bank, gift_parser):
    for name, chapter in bank.items():
        result = subprocess.run([str(gift_parser), "-c", GIFT_DUMP], input=lms.to_gift(chapter, name),
                                capture_output=True, text=True, check=True)
        parsed = json.loads(result.stdout)
        assert [p["title"] for p in parsed] == [q["id"] for q in chapter.questions]
        for p, q in zip(parsed, chapter.questions):
            if q["type"] in ("single", "multiple"):
                assert [norm(a["answer"]) for a in p["answers"]] == [norm(plain(o["text"])) for o in q["options"]], q["id"]
                assert [a["fraction"] > 0 for a in p["answers"]] == [o["correct"] for o in q["options"]], q["id"]
                assert all(a["feedback"] for a in p["answers"]), q["id"]
            elif q["type"] == "true_false":
                assert p["kind"] == "TrueFalseSet" and p["truth"] is q["answer"], q["id"]
            elif q["type"] == "numeric":
                assert p["answers"][0]["value"] == q["answer"], q["id"]
            else:
                assert p["kind"] == "Essay" and norm(plain(q["model_answer"])) in norm(p["general"]), q["id"]


# --- the built site ---------------------------------------------------------------------


@pytest.mark.build
@pytest.mark.parametrize("name", CHAPTERS)
def test_page_has_the_questions_with_answers_only_encoded(site, bank, name):
    html = (site / f"{name}.html").read_text(encoding="utf-8")
    quiz = norm(html[html.index('<div class="dx-quiz"'):])
    chapter = bank[name]
    forms = re.findall(r'<form class="dx-q" id="([^"]+)"', html)
    assert forms == [q["id"] for q in chapter.questions]
    for q in chapter.questions:
        assert f'id="{q["section"]}"' in html, f"{q['id']}: no section {q['section']} in the page"
        hidden = [o["feedback"] for o in options_of(q)] + [q.get("model_answer", ""), q.get("feedback", "")]
        for text in filter(None, hidden):
            assert norm(plain(text))[:60] not in quiz, f"{q['id']}: answer readable in the page"
    # The keys are not in the page at all: one JSON file, fetched on the first "Check".
    assert "data-dx-key=" not in html
    url = re.search(r'<div class="dx-quiz" data-dx-keys="([^"]+)">', html).group(1)
    keys = json.loads((site / name).parent.joinpath(url).read_text(encoding="utf-8"))
    assert sorted(keys) == sorted(q["id"] for q in chapter.questions)
    for q in chapter.questions:
        assert json.loads(base64.b64decode(keys[q["id"]])), f"{q['id']}: the encoded key decodes"
    # Each question names its section as the build recorded it from the doctree; the fast tests'
    # stand-in (conftest.heading_titles, read from the MyST text) agrees.
    import html as htmllib

    for q in chapter.questions:
        form = html[html.index(f'<form class="dx-q" id="{q["id"]}"'):]
        link = re.search(r'class="dx-q-section">Where the chapter explains this: <a href="#([^"]+)">([^<]*)</a>', form)
        assert link.group(1) == q["section"] and htmllib.unescape(link.group(2)) == q["section_title"], q["id"]


@pytest.mark.build
@pytest.mark.parametrize("name", CHAPTERS)
def test_exports_worksheets_and_answer_keys_are_served(site, bank, name):
    base = Path(name).name
    for path in (f"questions/{base}-canvas-qti.zip", f"questions/{base}-moodle.xml", f"questions/{base}.gift.txt",
                 f"worksheets/{base}.html", f"answers/{base}.html"):
        assert (site / path).is_file(), path
    answers = norm((site / "answers" / f"{base}.html").read_text(encoding="utf-8"))
    worksheet = (site / "worksheets" / f"{base}.html").read_text(encoding="utf-8")
    for q in bank[name].questions:
        assert f'id="{q["id"]}"' in worksheet
        assert norm(answer_text(q))[:40] in answers, q["id"]
    teacher = (site / "chapters" / "teachers" / f"{base}.html").read_text(encoding="utf-8")
    assert f"{base}-canvas-qti.zip" in teacher and f"worksheets/{base}.html" in teacher


@pytest.mark.build
@pytest.mark.parametrize("name", CHAPTERS)
def test_worksheet_and_answer_key_pdfs(site, bank, name):
    from pypdf import PdfReader

    from conftest import PDF_DIR

    base = Path(name).name
    for folder in ("worksheets", "answers"):
        path = PDF_DIR / folder / f"{base}.pdf"
        assert path.is_file(), f"{path}: run make pdf"
        # Compare without spaces: text extraction may join or split words at line ends.
        text = "".join("".join(p.extract_text() or "" for p in PdfReader(str(path)).pages).split())
        for q in bank[name].questions:
            assert "".join(norm(plain(q["prompt"])).split()[:6]) in norm(text), f"{folder}/{base}: {q['id']} missing"


# --- in Chromium ------------------------------------------------------------------------


@pytest.mark.browser
@pytest.mark.build
@pytest.mark.parametrize("name", CHAPTERS)
def test_questions_work_by_keyboard_and_explain(browser, server, bank, name):
    from axe_playwright_python.sync_playwright import Axe
    from playwright.sync_api import expect  # waits: the keys are fetched on the first "Check"

    context = browser.new_context()
    page = context.new_page()
    foreign, errors = [], []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.route("**/*", lambda r: r.continue_() if r.request.url.startswith(server) else
               (foreign.append(r.request.url), r.abort()))
    page.add_init_script(WATCH_POLICY)
    page.goto(f"{server}/{name}.html", wait_until="load")
    chapter = bank[name]
    single = [(i, q) for i, q in enumerate(chapter.questions) if q["type"] in ("single", "true_false")][:2]
    for index, q in single:
        form = page.locator("form.dx-q").nth(index)
        options = options_of(q)
        wrong = next(i for i, o in enumerate(options) if not o["correct"])
        right = next(i for i, o in enumerate(options) if o["correct"])
        feedback = form.locator(".dx-q-feedback")
        assert feedback.get_attribute("aria-live") == "polite" and form.locator("fieldset legend").count() == 1
        # By keyboard only: focus the option, select it with Space, submit with Enter.
        form.locator("input").nth(wrong).focus()
        page.keyboard.press("Space")
        form.locator("button").focus()
        page.keyboard.press("Enter")
        expect(feedback).to_contain_text("Not quite.")
        assert plain(options[wrong]["feedback"])[:40] in " ".join(feedback.inner_text().split())
        assert "dx-q-wrong" in form.get_attribute("class")
        form.locator("input").nth(right).focus()
        page.keyboard.press("Space")
        form.locator("button").focus()
        page.keyboard.press("Enter")
        expect(feedback).to_have_text(re.compile(r"^Right\."))
        assert "dx-q-right" in form.get_attribute("class")
        said = feedback.inner_text()
        assert not re.match(r"^(Right|Not quite)\.\s*(Right|Correct|Not quite|Wrong|Incorrect)\b", said), said
    numeric = next((i, q) for i, q in enumerate(chapter.questions) if q["type"] == "numeric")
    form = page.locator("form.dx-q").nth(numeric[0])
    form.locator("input").fill(str(numeric[1]["answer"]))
    form.locator("button").click()
    expect(form.locator(".dx-q-feedback")).to_have_text(re.compile(r"^Right\."))
    form.locator("input").fill(str(numeric[1]["answer"] + 1000))
    form.locator("button").click()
    expect(form.locator(".dx-q-feedback")).to_contain_text("Not quite.")
    results = Axe().run(page, context={"include": [[".dx-quiz"]]})
    bad = [(v["id"], v["impact"]) for v in results.response["violations"] if v["impact"] in ("serious", "critical")]
    assert not bad and not foreign and not errors, (bad, foreign, errors)
    assert page.evaluate("window.__dxViolations") == []
    context.close()


@pytest.mark.browser
@pytest.mark.build
def test_without_javascript_the_answers_are_one_fold_away(browser, server):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(f"{server}/{CHAPTERS[0]}.html")
    fold = page.locator("form.dx-q details.dx-q-nojs").first
    assert fold.is_visible()
    fold.locator("summary").click()
    href = fold.locator("a").get_attribute("href")
    page.goto(f"{server}/{CHAPTERS[0].rsplit('/', 1)[0]}/{href}")
    assert page.locator("li[id]").count() >= 12
    context.close()


def test_teacher_edition_shows_answers_and_feedback_inline(bank):
    from dxbook.questions import render_question

    for q in bank[CHAPTERS[0]].questions:
        student = norm(render_question(q, 1, "Section", "../answers/x.html", teacher=False))
        teacher = norm(render_question(q, 1, "Section", "../answers/x.html", teacher=True))
        assert norm(answer_text(q))[:40] in teacher
        if q["type"] in ("single", "multiple", "true_false"):
            for option in options_of(q):
                assert norm(plain(option["feedback"]))[:40] in teacher
                assert norm(plain(option["feedback"]))[:40] not in student
