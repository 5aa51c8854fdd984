"""The teacher's kit (issue 26): a class without Python can be taught and marked from printed
materials; every material a teacher page names is served; keys answer every item; the
guide's figures are computed; teacher materials are public but not indexed."""
from __future__ import annotations

import re
import sys
import zipfile
from html import unescape
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

from conftest import ROOT, chapter_docnames

sys.path.insert(0, str(ROOT / "_ext"))
from dxbook import readability, teaching  # noqa: E402

CHAPTERS = chapter_docnames()
NAMES = [Path(c).name for c in CHAPTERS]


@pytest.fixture(scope="module")
def kit():
    return teaching.load_teaching(ROOT)


def test_every_chapter_has_a_teaching_file_with_a_non_coding_task(kit):
    assert sorted(kit) == sorted(CHAPTERS)
    for name, t in kit.items():
        a = t["assessment"]
        assert a["kind"] in ("source-analysis", "essay") and len(a["questions"]) >= 2, name
        assert a["rubric"]["levels"][0] == "Not attempted", name
        for c in a["rubric"]["criteria"]:
            assert len(c["descriptors"]) == len(a["rubric"]["levels"]), (name, c["name"])
        assert t["by_hand"]["questions"] and t["discussion"], name


def test_the_task_marks_and_the_rubric_agree(kit):
    """The marks printed after each task question add up to the rubric's total, and the task says
    which of the two the teacher marks with (the rubric)."""
    import re

    for name, t in kit.items():
        a = t["assessment"]
        marks = [int(m) for q in a["questions"] for m in re.findall(r"\((\d+) marks?\)", q)]
        assert len(marks) == len(a["questions"]), name
        assert sum(marks) == sum(c["points"] for c in a["rubric"]["criteria"]), name
        assert "which is what counts" in teaching.task_html(t, lambda key: key), name


def test_case_cards_carry_their_source_and_no_research_notes(kit):
    for name, t in kit.items():
        html = teaching.cards_html(t, lambda key: key)
        for card in re.findall(r'<article class="dx-card">.*?</article>', html, re.S):
            if "<dl>" in card:  # a case card, from the data
                assert '<p class="dx-card-source">Source: ' in card, (name, card[:80])
        assert "checked 2026" not in html and "best fit" not in html, name


def test_a_bad_teaching_file_names_file_and_line(tmp_path):
    import shutil

    for folder in ("teaching", "chapters"):
        shutil.copytree(ROOT / folder, tmp_path / folder)
    shutil.copy(ROOT / "references.bib", tmp_path / "references.bib")
    path = tmp_path / "teaching" / f"{NAMES[0]}.yml"
    text = path.read_text(encoding="utf-8")
    path.write_text(re.sub(r"(ids: \[)([a-z0-9-]+)", r"\1no-such-case-1900", text, count=1), encoding="utf-8")
    with pytest.raises(teaching.TeachingError, match=r"\.yml, line \d+, column \d+: no row no-such-case-1900"):
        teaching.load_teaching(tmp_path)


def test_printed_rows_come_from_the_data(kit):
    from defection import data

    cases = data.cases().set_index("id")
    for t in kit.values():
        spec = t["by_hand"].get("table")
        if spec and spec["source"] == "cases" and "year" in spec["columns"]:
            headers, rows = teaching.data_rows(spec)
            years = [r[spec["columns"].index("year")] for r in rows]
            assert years == [str(cases.loc[i, "year"]) for i in spec["ids"]]


@pytest.mark.build
@pytest.mark.parametrize("number", [1, 2, 3, 4])
def test_the_chapter_states_the_reading_time_the_build_computes(site, number):
    """The chapter writes {{ chN_minutes }}; its page and its student notebook show the figure."""
    source = readability.chapter_source(ROOT, number)
    assert f"about {{{{ ch{number}_minutes }}}} minutes" in source.read_text(encoding="utf-8")
    minutes = readability.stats(source.read_text(encoding="utf-8"))["minutes"]
    page = text_of((site / "chapters" / f"{source.stem}.html").read_text(encoding="utf-8"))
    notebook = (site / "_sources" / "chapters" / f"{source.stem}.ipynb").read_text(encoding="utf-8")
    assert f"Time to read: about {minutes} minutes" in page and f"about {minutes} minutes" in notebook
    assert "{{" not in notebook.replace("{{ ch", "") or f"ch{number}_minutes" not in notebook


def test_no_hard_coded_reading_figures_in_the_teacher_pages():
    for path in (ROOT / "chapters" / "teachers").glob("*.md"):
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"Time to read:\*\* about \d", text), path.name
        assert not re.search(r"grade about \d", text), path.name


# --- the built site --------------------------------------------------------------------------------


def text_of(html: str) -> str:
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


@pytest.mark.build
def test_every_teacher_page_link_is_served(site):
    """Follow every link on every teacher page: each resolves to a file in the built site
    (PDFs included: `make test` runs `make pdf` first)."""
    pages = sorted((site / "chapters" / "teachers").glob("*.html"))
    assert len(pages) == 5
    checked = 0
    for page in pages:
        html = page.read_text(encoding="utf-8")
        for href in re.findall(r'<a [^>]*href="([^"#]+)(?:#[^"]*)?"', html):
            parts = urlsplit(unescape(href))
            if parts.scheme or parts.netloc:
                continue
            target = (page.parent / unquote(parts.path)).resolve()
            if target.is_dir():
                target = target / "index.html"
            assert target.is_file() and target.is_relative_to(site.resolve()), f"{page.name}: {href}"
            checked += 1
    assert checked > 40


@pytest.mark.build
@pytest.mark.parametrize("name", NAMES)
def test_the_key_answers_every_item_of_the_worksheet(site, kit, name):
    sheet = (site / "worksheets" / f"{name}.html").read_text(encoding="utf-8")
    key = (site / "keys" / f"{name}.html").read_text(encoding="utf-8")
    t = kit[f"chapters/{name}"]
    quiz = re.findall(r'<li id="(ch\d-q\d\d)"', sheet)
    assert quiz and re.findall(r'<li id="(ch\d-q\d\d)"', key) == quiz
    for d in t["discussion"]:
        assert teaching.inline(d["prompt"])[:60] in sheet and teaching.inline(d["guidance"])[:60] in key
    for q in t["by_hand"]["questions"]:
        assert teaching.inline(q["prompt"])[:60] in sheet and teaching.inline(q["answer"])[:60] in key
    exercises = len(re.findall(r'<section class="dx-sheet-exercise"><h3>Exercise', sheet))
    answered = re.findall(r'<div class="dx-key-answer"><strong>Model answer</strong>(.*?)</div></section>', key, re.S)
    assert exercises >= 3 and len(answered) == exercises and all(len(text_of(a)) > 40 for a in answered)
    assert "Not attempted" in key


@pytest.mark.build
@pytest.mark.parametrize("name", NAMES)
def test_printable_materials_are_served_with_data_facts(site, kit, name):
    t = kit[f"chapters/{name}"]
    cards = (site / "cards" / f"{name}.html").read_text(encoding="utf-8")
    for s in t["cards"]:
        assert f'id="{s["id"]}"' in cards
    assert cards.count('class="dx-card"') >= sum(len(s.get("ids", s.get("items", []))) for s in t["cards"])
    task = (site / "tasks" / f"{name}.html").read_text(encoding="utf-8")
    assert "Not attempted" in task and "No computer needed" in task
    vocab = (site / "vocabulary" / f"{name}.html").read_text(encoding="utf-8")
    assert all(w["term"] in unescape(vocab) for w in t["vocabulary"])
    table = (site / "worksheets" / f"{name}.html").read_text(encoding="utf-8")
    assert 'class="dx-sheet-table"' in table, "the by-hand task prints its data"


@pytest.mark.build
@pytest.mark.parametrize("number", [1, 2, 3, 4])
def test_the_guide_quotes_the_figures_the_build_computes(site, number):
    stats = readability.stats(readability.chapter_source(ROOT, number).read_text(encoding="utf-8"))
    name = NAMES[number - 1]
    page = text_of((site / "chapters" / "teachers" / f"{name}.html").read_text(encoding="utf-8"))
    assert f"about {stats['minutes']} minutes" in page and f"{stats['grade']}" in page, number
    guide = text_of((site / "chapters" / "teachers" / "index.html").read_text(encoding="utf-8"))
    assert f"{stats['words']:,}" in guide and "{{" not in guide


@pytest.mark.build
def test_teacher_materials_are_not_indexed_and_no_student_page_links_to_them(site):
    robots = '<meta name="robots" content="noindex"'
    for page in list((site / "chapters" / "teachers").glob("*.html")) + list((site / "keys").glob("*.html")) + \
            list((site / "cards").glob("*.html")):
        assert robots in page.read_text(encoding="utf-8"), page
    for name in NAMES + ["glossary", "data", "references"]:
        html = (site / "chapters" / f"{name}.html").read_text(encoding="utf-8")
        body = html[html.index("<main"):html.index("</main>")]
        assert "keys/" not in body and "notebooks/teacher" not in body and "teacher-pack" not in body, name


@pytest.mark.build
def test_every_printable_page_names_the_sites_icon(site):
    """Without an icon link the browser asks for a /favicon.ico the site does not have."""
    with zipfile.ZipFile(site / "teacher-pack.zip") as pack:
        packed = set(pack.namelist())
    for folder in ("worksheets", "keys", "answers", "tasks", "cards", "vocabulary"):
        for page in sorted((site / folder).glob("*.html")):
            icon = re.search(r'<link rel="icon" href="([^"]+)">', page.read_text(encoding="utf-8"))
            assert icon, page
            assert (page.parent / icon.group(1)).resolve().is_file(), page
            if folder != "answers":
                assert f"{folder}/{page.name}" in packed and "_static/" + icon.group(1).rsplit("/", 1)[-1] in packed


@pytest.mark.build
def test_the_teacher_pack_holds_every_key_and_teacher_notebook(site):
    with zipfile.ZipFile(site / "teacher-pack.zip") as pack:
        names = set(pack.namelist())
    for name in NAMES:
        for folder in ("keys", "worksheets", "tasks", "cards", "vocabulary"):
            assert f"{folder}/{name}.html" in names
        assert f"notebooks/{name}.ipynb" in names and f"lms/{name}.imscc" in names


@pytest.mark.build
def test_chapter_3_opens_with_a_content_note(site):
    html = (site / "chapters" / "03-state-retaliation.html").read_text(encoding="utf-8")
    main = text_of(html[html.index("<main"):])
    assert "Content note" in main[:1500], main[:400]
    teacher = text_of((site / "chapters" / "teachers" / "03-state-retaliation.html").read_text(encoding="utf-8"))
    assert "Content note" in teacher[:3000]
