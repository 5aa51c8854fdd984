"""The quiz (``questions``) and what is made from the bank at build end (``worksheets``,
``lms``, ``cartridge``, ``teaching``'s key section), on a one-chapter book: tests/roots/test-questions."""
from __future__ import annotations

import base64
import json
import zipfile
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml
from bs4 import BeautifulSoup

from dxbook import questions

from .output import page, resolve, script_srcs, soup

CHAPTER = "chapters/01-quiz-probe"
# One build for the module: later tests' app.build() finds the output and skips (sphinx.testing).
pytestmark = pytest.mark.sphinx("html", testroot="questions", shared_result="questions")


def bank(app) -> dict:
    return yaml.safe_load((Path(app.srcdir) / "questions" / "01-quiz-probe.yml").read_text(encoding="utf-8"))


def keys_of(app) -> dict:
    """The page's answer keys: the file its quiz names (data-dx-keys), decoded."""
    quiz = soup(app, CHAPTER).find("div", class_="dx-quiz")
    path = resolve(app.outdir, CHAPTER, quiz["data-dx-keys"])
    assert path.is_file(), f"the quiz names {quiz['data-dx-keys']}, which the build did not write"
    return {qid: json.loads(base64.b64decode(key)) for qid, key in json.loads(path.read_text()).items()}


def test_quiz_renders_every_question_as_an_accessible_form(app):
    app.build()
    questions_ = bank(app)["questions"]
    forms = soup(app, CHAPTER).select("div.dx-quiz form.dx-q")
    assert [f["id"] for f in forms] == [q["id"] for q in questions_]
    for form, q in zip(forms, questions_):
        assert form.find("fieldset").find("legend"), q["id"]
        assert form.find(attrs={"role": "status", "aria-live": "polite"}), q["id"]
        if q["type"] in ("single", "multiple"):
            kind = "checkbox" if q["type"] == "multiple" else "radio"
            assert len(form.find_all("input", type=kind)) == len(q["options"])
        # Each question links to the section that explains it, on the same page.
        link = form.select_one("p.dx-q-section a")["href"]
        assert link == f"#{q['section']}"
        assert soup(app, CHAPTER).find(id=q["section"]), f"no element with id {q['section']} on the page"


def test_bank_text_is_escaped_on_the_page(app):
    app.build()
    html = page(app, CHAPTER)
    assert "<b>x</b>" not in html  # the bank's text is text, not markup
    legend = soup(app, CHAPTER).find("form", id="ch1-q01").find("legend").get_text(" ")
    assert '<b>x</b> & "y" {curly}' in legend


def test_keys_are_in_a_file_not_in_the_page(app):
    app.build()
    html = page(app, CHAPTER)
    assert "data-dx-key=" not in html
    # Feedback is only in the keys: no reason text of the bank is in the page itself.
    for q in bank(app)["questions"]:
        for option in q.get("options", []):
            assert option["feedback"] not in html, q["id"]
    assert soup(app, CHAPTER).find("div", class_="dx-quiz")["data-dx-keys"].startswith("../_static/quiz/")


def test_key_marks_the_option_the_bank_marks_right(app):
    """The page shows options in a seeded order; the key's indexes must follow that order."""
    app.build()
    keys = keys_of(app)
    for q in bank(app)["questions"]:
        key = keys[q["id"]]
        if q["type"] in ("single", "multiple"):
            labels = [" ".join(label.get_text(" ").split())
                      for label in soup(app, CHAPTER).find("form", id=q["id"]).select("label.dx-q-option")]
            right = {" ".join(o["text"].split()) for o in q["options"] if o["correct"]}
            assert {labels[i] for i in key["correct"]} == right, q["id"]
            assert len(key["feedback"]) == len(q["options"])
        elif q["type"] == "true_false":
            assert key["correct"] == [0 if q["answer"] else 1]
        elif q["type"] == "numeric":
            from defection import facts

            assert key["answer"] == facts.for_chapter(CHAPTER)[q["fact"]]  # computed from data/
            assert key["tolerance"] == q["tolerance"]


def test_quiz_script_only_on_the_quiz_page(app):
    app.build()
    assert any(src.endswith("dx/dx-quiz.js") for src in script_srcs(soup(app, CHAPTER)))
    assert not any("dx-quiz.js" in src for src in script_srcs(soup(app, "index")))


def test_answer_page_behind_the_noscript_link(app):
    app.build()
    noscript = soup(app, CHAPTER).find("form", id="ch1-q01").find("noscript")
    # html.parser keeps <noscript> content as text: parse it again.
    link = BeautifulSoup(noscript.decode_contents(), "html.parser").find("a")["href"]
    target = resolve(app.outdir, CHAPTER, link)
    assert target.is_file(), link
    answers = target.read_text(encoding="utf-8")
    robots = BeautifulSoup(answers, "html.parser").find("meta", attrs={"name": "robots"})
    assert 'id="ch1-q01"' in answers and robots is not None and robots["content"] == "noindex"
    assert "Because the first part says so, plainly." in answers


def test_sheets_are_pages_of_the_site(app):
    """The printable sheets come from html-collect-pages (templates/dx-sheet.html), with the page
    context every page has: the site's content policy first in <head>, their own description,
    "noindex" for a teacher's or answer page only (and then no sitemap entry), the sheet stylesheet."""
    from dxbook.security import site_policy
    from dxbook.worksheets import KINDS

    app.build()
    out = Path(app.outdir)
    sitemap = (out / "sitemap.xml").read_text(encoding="utf-8")
    for folder in ("worksheets", "keys", "answers"):
        name = f"{folder}/01-quiz-probe"
        html = page(app, name)
        head = html[: html.index("</head>")]
        assert head.index('http-equiv="Content-Security-Policy"') < head.index("<title>"), name
        assert f'content="{site_policy()}"' in head, name
        sheet = soup(app, name)
        label, index, description = KINDS[folder]
        assert sheet.title.get_text().startswith(f"{label}: ") and sheet.title.get_text().endswith(app.config.html_title)
        assert sheet.find("meta", attrs={"name": "description"})["content"] == description, name
        robots = sheet.find("meta", attrs={"name": "robots"})
        assert (robots is not None and robots["content"] == "noindex") == (not index), name
        css = [link["href"] for link in sheet.find_all("link", rel="stylesheet")]
        assert css and all(resolve(out, name, href).is_file() for href in css), (name, css)
        chapter = sheet.select_one(".dx-sheet-book a")["href"]
        assert resolve(out, name, chapter) == out / f"{CHAPTER}.html", chapter
        assert not sheet.find("script"), name  # a sheet runs nothing
        assert (f"{name}.html" in sitemap) == index, name  # a page kept from search engines is not offered


def test_worksheet_and_key_agree_on_letters(app):
    """The worksheet letters the options; the key names the right one by the same letter."""
    app.build()
    out = Path(app.outdir)
    sheet = soup(app, "worksheets/01-quiz-probe")
    key = (out / "keys" / "01-quiz-probe.html").read_text(encoding="utf-8")
    for q in bank(app)["questions"]:
        if q["type"] != "single":
            continue
        right = " ".join(next(o["text"] for o in q["options"] if o["correct"]).split())
        items = [" ".join(li.get_text(" ").split()) for li in sheet.find("li", id=q["id"]).select("ul li")]
        letter = next(item.split(")")[0].split("(")[-1] for item in items if item.endswith(right))
        assert questions.inline(f"({letter}) {right}") in key, q["id"]


def test_key_has_the_chapters_exercise_and_solution(app):
    """teaching records sphinx-exercise's exercises and solutions; the key prints both."""
    app.build()
    key = soup(app, "keys/01-quiz-probe")
    section = key.find("section", id="ex-probe-count")
    assert section is not None
    assert "Count the cases in the table." in section.get_text(" ")
    answer = section.find(class_="dx-key-answer")
    assert answer.find("em").get_text() == "three" and answer.find("code").get_text() == "by hand"
    # The student's worksheet has the prompt, not the solution.
    sheet = page(app, "worksheets/01-quiz-probe")
    assert "Count the cases in the table." in sheet and "counted" not in sheet


def test_lms_exports_escape_and_mark_the_right_answer(app):
    app.build()
    out = Path(app.outdir) / "questions"
    root = ET.fromstring((out / "01-quiz-probe-moodle.xml").read_bytes())
    by_name = {q.findtext("name/text"): q for q in root.iter("question") if q.get("type") != "category"}
    assert set(by_name) == {q["id"] for q in bank(app)["questions"]}
    q1 = by_name["ch1-q01"]
    # Moodle reads the text as HTML: the bank's "<b>" must arrive as the characters, escaped.
    assert "&lt;b&gt;x&lt;/b&gt;" in q1.findtext("questiontext/text")
    right = [a.findtext("text") for a in q1.findall("answer") if a.get("fraction") == "100"]
    assert right == [questions.inline("The right option <i>one</i>")]
    gift = (out / "01-quiz-probe.gift.txt").read_text(encoding="utf-8")
    line = next(x for x in gift.splitlines() if x.startswith("::ch1-q01::"))
    for ch in "{}=~#:":  # GIFT's special characters in the prompt are escaped
        assert "\\" + ch in line.split("[html]", 1)[1], ch
    with zipfile.ZipFile(out / "01-quiz-probe-canvas-qti.zip") as qti:
        assert qti.testzip() is None
        meta = next(n for n in qti.namelist() if n.endswith("assessment_meta.xml"))
        assert "<quiz_type>practice_quiz</quiz_type>" in qti.read(meta).decode("utf-8")


def test_cartridge_manifest_lists_every_file(app):
    app.build()
    with zipfile.ZipFile(Path(app.outdir) / "questions" / "01-quiz-probe.imscc") as cc:
        names = set(cc.namelist())
        manifest = ET.fromstring(cc.read("imsmanifest.xml"))
        ns = {"m": "http://www.imsglobal.org/xsd/imsccv1p1/imscp_v1p1"}
        hrefs = [f.get("href") for f in manifest.iterfind(".//m:resource/m:file", ns)]
        assert hrefs and set(hrefs) <= names, set(hrefs) - names
        assert names - set(hrefs) == {"imsmanifest.xml"}  # nothing in the zip that the manifest omits
        quiz = ET.fromstring(cc.read(next(h for h in hrefs if h.endswith("quiz/assessment.xml"))))
        items = [el for el in quiz.iter() if el.tag.endswith("}item") or el.tag == "item"]
        assert len(items) == len(bank(app)["questions"])


def test_teacher_edition_shows_answers_inline(make_app, rootdir, sphinx_test_tempdir, monkeypatch):
    import shutil

    monkeypatch.setenv("DX_TEACHER", "1")
    srcdir = sphinx_test_tempdir / "questions-teacher"
    if not srcdir.exists():
        shutil.copytree(rootdir / "test-questions", srcdir)
    app = make_app("html", srcdir=srcdir)
    app.build()
    form = soup(app, CHAPTER).find("form", id="ch1-q01")
    assert form.find(class_="dx-q-teacher") is not None and form.find("noscript") is None
    assert "The right option" in form.find(class_="dx-q-teacher").get_text(" ")
    assert "(teacher edition)" in soup(app, "index").title.get_text()


def test_section_titles_come_from_the_doctree(app):
    """questions.titles_of, recorded on env when the page is read: headings, labels, and labelled
    exercises inside a section; each question's link names that title."""
    app.build()
    titles = questions.section_titles(app.env, CHAPTER)
    assert titles["first-part"] == "First part"
    assert titles["why-it-matters"] == titles["second-part-with-a-label"] == "Second part, with a label"
    assert titles["ex-probe-count"] == "Second part, with a label"
    for q in bank(app)["questions"]:
        link = soup(app, CHAPTER).find("form", id=q["id"]).find(class_="dx-q-section").find("a")
        assert link["href"] == f"#{q['section']}" and link.get_text() == titles[q["section"]]


def test_a_question_naming_a_missing_section_stops_the_build(make_app, rootdir, sphinx_test_tempdir):
    import shutil

    srcdir = sphinx_test_tempdir / "questions-missing-section"
    if not srcdir.exists():
        shutil.copytree(rootdir / "test-questions", srcdir)
        yml = srcdir / "questions" / "01-quiz-probe.yml"
        yml.write_text(yml.read_text(encoding="utf-8").replace("section: first-part", "section: no-such-part", 1),
                       encoding="utf-8")
    from sphinx.errors import ExtensionError

    app = make_app("html", srcdir=srcdir)
    with pytest.raises(ExtensionError, match="ch1-q01: no heading or label 'no-such-part'"):
        app.build()  # the sheets and exports cannot be made either (worksheets, at build end)
    warnings = app.warning.getvalue()  # first, at the quiz in the chapter, when the page was read
    assert "01-quiz-probe.md" in warnings and "questions/01-quiz-probe.yml: no heading or label" in warnings
    assert "no-such-part" in warnings


def test_the_keys_file_is_in_the_pages_manifest_and_an_old_one_goes(app):
    """finish.remove_stale keeps the keys file the quiz names (recorded when the page is read)
    and removes one an earlier build left."""
    from dxbook import finish

    app.build()
    quiz = soup(app, CHAPTER).find("div", class_="dx-quiz")
    named = resolve(app.outdir, CHAPTER, quiz["data-dx-keys"])
    stem = named.name.split(".")[0]
    assert getattr(app.env, finish.HASHED_KEY)[CHAPTER][questions.KEY_DIR] == [stem]
    old = Path(app.outdir) / questions.KEY_DIR / "0000000000000000.json"
    old.write_text("{}")
    assert finish.remove_stale(app, [questions.KEY_DIR]) == 1
    assert named.is_file() and not old.exists()
