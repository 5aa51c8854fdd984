"""Questions that test understanding (issue 25): levels and goals, option order and length
that carry no signal, one verdict, links that survive export, practice settings, text that
stays text in every LMS format, and the Common Cartridge."""
from __future__ import annotations

import io
import json
import re
import sys
import xml.etree.ElementTree as ET
import zipfile
from collections import Counter
from html import unescape
from pathlib import Path

import pytest

from conftest import ROOT, chapter_docnames, heading_titles

sys.path.insert(0, str(ROOT / "_ext"))
from dxbook import cartridge, lms, worksheets  # noqa: E402
from dxbook.questions import (VERDICT, BankError, Chapter, link_sections, load_bank, load_chapter,  # noqa: E402
                              options_of, plain)

CHAPTERS = chapter_docnames()
BASE = "https://example.org/book/"
HIGHER = {"application", "analysis"}


@pytest.fixture(scope="module")
def bank():
    chapters = {c.docname: c for c in load_bank(ROOT)}
    for c in chapters.values():
        link_sections(heading_titles(ROOT / f"{c.docname}.md"), c, f"Title of {c.docname}", BASE)
    return chapters


def goals_of(docname: str) -> int:
    """How many learning goals the chapter lists (bullets of its Learning goals admonition)."""
    text = (ROOT / f"{docname}.md").read_text(encoding="utf-8")
    block = text[text.index(":::{admonition} Learning goals"):]
    block = block[:block.index("\n:::")]
    return len(re.findall(r"^- ", block, re.M))


def text_of(html: str) -> str:
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", re.sub(r"</?(?:em|strong|code)>", "", html))).split())


# --- what the bank asks ---------------------------------------------------------------------


@pytest.mark.parametrize("name", CHAPTERS)
def test_levels_and_goals(bank, name):
    questions = bank[name].questions
    levels = Counter(q["level"] for q in questions)
    higher = sum(levels[k] for k in HIGHER) / len(questions)
    assert higher >= 0.4, f"{name}: {higher:.0%} at application or above ({dict(levels)})"
    goals = goals_of(name)
    assert {q["goal"] for q in questions} == set(range(1, goals + 1)), f"{name}: goals assessed vs {goals} listed"


@pytest.mark.parametrize("name", CHAPTERS)
def test_true_false_balance(bank, name):
    answers = [q["answer"] for q in bank[name].questions if q["type"] == "true_false"]
    assert answers and 0.3 <= sum(answers) / len(answers) <= 0.7, (name, answers)


def test_no_numeric_answer_is_printed_in_its_chapter(bank):
    for name, chapter in bank.items():
        source = (ROOT / f"{name}.md").read_text(encoding="utf-8")
        for q in chapter.questions:
            if q["type"] == "numeric":
                assert not re.search(r"\{glue(:text)?\}`" + re.escape(q["fact"]) + r"[`:]", source), \
                    f"{q['id']}: the chapter prints {q['fact']}"


# --- no signal in position, length or wording ------------------------------------------------


def test_position_of_the_key_is_spread(bank):
    singles = [q for c in bank.values() for q in c.questions if q["type"] == "single"]
    positions = Counter(next(i for i, o in enumerate(q["options"]) if o["correct"]) for q in singles)
    assert max(positions.values()) / len(singles) <= 0.4, positions
    for chapter in bank.values():  # within a chapter too: "always (a)" never wins
        mine = [next(i for i, o in enumerate(q["options"]) if o["correct"])
                for q in chapter.questions if q["type"] == "single"]
        assert max(Counter(mine).values()) / len(mine) <= 0.5, (chapter.docname, mine)


def test_simple_strategies_do_not_pass(bank):
    """Always (a), always the longest option, always False: none passes (more than 50%)."""
    for chapter in bank.values():
        singles = [q for q in chapter.questions if q["type"] == "single"]
        first = sum(q["options"][0]["correct"] for q in singles) / len(singles)
        longest = sum(max(q["options"], key=lambda o: len(o["text"]))["correct"] for q in singles) / len(singles)
        assert first <= 0.5 and longest <= 0.5, (chapter.docname, first, longest)
        multiple = [q for q in chapter.questions if q["type"] == "multiple"]
        first_k = [all(o["correct"] for o in q["options"][:sum(x["correct"] for x in q["options"])])
                   for q in multiple]
        assert sum(first_k) <= len(multiple) / 2, (chapter.docname, "right options all come first")
    singles = [q for c in bank.values() for q in c.questions if q["type"] == "single"]
    longest = sum(max(q["options"], key=lambda o: len(o["text"]))["correct"] for q in singles)
    assert longest / len(singles) <= 0.4, f"the key is the longest option in {longest} of {len(singles)}"


def test_the_order_is_seeded_and_stable(bank):
    again = {c.docname: c for c in load_bank(ROOT)}
    for name, chapter in bank.items():
        for q, r in zip(chapter.questions, again[name].questions):
            assert [o["text"] for o in options_of(q)] == [o["text"] for o in options_of(r)], q["id"]


def test_exports_keep_the_bank_order(bank):
    for name, chapter in bank.items():
        moodle = ET.fromstring(lms.to_moodle_xml(chapter, name))
        items = [q for q in moodle.findall("question") if q.get("type") != "category"]
        gift = lms.to_gift(chapter, name)
        for el, q in zip(items, chapter.questions):
            if q["type"] in ("single", "multiple"):
                texts = [text_of(o["text"].replace("*", "")) for o in q["options"]]
                assert [text_of(a.findtext("text")) for a in el.findall("answer")] == texts, q["id"]
                block = gift[gift.index(f"::{q['id']}::"):]
                found = [block.index(lms.gift_text(o["text"])) for o in q["options"]]
                assert found == sorted(found), q["id"]
        sheet = worksheets.worksheet_html(chapter, name, 1, [])
        key = worksheets.answers_html(chapter)
        for q in chapter.questions:
            if q["type"] in ("single", "multiple"):
                for i, o in enumerate(q["options"]):
                    assert f"({'abcdefgh'[i]}) {lms.inline(o['text'])}" in sheet, q["id"]
                    assert f"({'abcdefgh'[i]}) {'Right' if o['correct'] else 'Wrong'}" in key, q["id"]


# --- one verdict -----------------------------------------------------------------------------


def test_no_feedback_starts_with_a_verdict(bank):
    for chapter in bank.values():
        for q in chapter.questions:
            texts = [o["feedback"] for o in q.get("options", [])] + [q.get(k, "") for k in
                                                                     ("feedback", "feedback_true", "feedback_false")]
            assert not [t for t in texts if VERDICT.match(t)], q["id"]


def test_the_schema_refuses_a_verdict_and_a_duplicate_id(tmp_path):
    schema = json.loads((ROOT / "questions" / "schema.json").read_text())
    source = ROOT / "questions" / f"{Path(CHAPTERS[0]).name}.yml"
    text = source.read_text(encoding="utf-8")
    broken = tmp_path / "broken.yml"
    broken.write_text(re.sub(r"(feedback: >-\n\s+)", r"\1Correct. ", text, count=1), encoding="utf-8")
    with pytest.raises(BankError, match=r"broken\.yml, line \d+, column \d+: feedback starts with a verdict"):
        load_chapter(broken, schema)
    # the same id in two chapter files
    (tmp_path / "questions").mkdir()
    for p in (ROOT / "questions").iterdir():
        if p.is_file():
            (tmp_path / "questions" / p.name).write_bytes(p.read_bytes())
    second = tmp_path / "questions" / f"{Path(CHAPTERS[1]).name}.yml"
    first_id = re.search(r"id: (ch\d-q\d\d)", text).group(1)
    second.write_text(re.sub(r"id: ch\d-q\d\d", f"id: {first_id}", second.read_text(), count=1), encoding="utf-8")
    with pytest.raises(BankError, match=f"{first_id} is already used in"):
        load_bank(tmp_path)


def test_the_key_has_no_doubled_full_stops(bank):
    for chapter in bank.values():
        key = text_of(worksheets.answers_html(chapter))
        assert not re.search(r"(?<!\.)\.\s*\.(?!\.)", key), re.search(r".{40}(?<!\.)\.\s*\.(?!\.).{20}", key)


# --- links that survive export ------------------------------------------------------------------


def test_every_export_names_the_section_by_title_and_absolute_url(bank):
    for name, chapter in bank.items():
        moodle = ET.fromstring(lms.to_moodle_xml(chapter, name))
        items = [q for q in moodle.findall("question") if q.get("type") != "category"]
        qti = zipfile.ZipFile(io.BytesIO(lms.to_qti_zip(chapter, name)))
        qti_xml = next(qti.read(f).decode() for f in qti.namelist() if f.endswith(".xml") and "/" in f
                       and not f.endswith("meta.xml"))
        gift = lms.to_gift(chapter, name)
        key = worksheets.answers_html(chapter)
        for el, q in zip(items, chapter.questions):
            assert q["section_url"].startswith(BASE + name + ".html#"), q["id"]
            general = el.findtext("generalfeedback/text")
            assert f'href="{q["section_url"]}"' in general and lms.inline(q["section_title"]) in general, q["id"]
            assert lms.gift_escape(q["section_url"]) in gift
            assert unescape(q["section_url"]) in unescape(unescape(qti_xml)), q["id"]
            assert q["section_url"] in key and lms.inline(q["section_title"]) in key


def test_exports_import_as_practice_with_shuffling_on(bank):
    for name, chapter in bank.items():
        archive = zipfile.ZipFile(io.BytesIO(lms.to_qti_zip(chapter, name)))
        meta = next(archive.read(f).decode() for f in archive.namelist() if f.endswith("assessment_meta.xml"))
        assert "<quiz_type>practice_quiz</quiz_type>" in meta and "<allowed_attempts>-1</allowed_attempts>" in meta
        assert "<shuffle_answers>true</shuffle_answers>" in meta and "<assignment " not in meta
        moodle = ET.fromstring(lms.to_moodle_xml(chapter, name))
        for el, q in zip([q for q in moodle.findall("question") if q.get("type") != "category"], chapter.questions):
            if q["type"] in ("single", "multiple"):
                assert el.findtext("shuffleanswers") == ("0" if q.get("fixed_order") else "1"), q["id"]


def test_exports_are_reproducible(bank):
    chapter = bank[CHAPTERS[0]]
    assert lms.to_qti_zip(chapter, "T") == lms.to_qti_zip(chapter, "T")
    assert all(i.date_time == lms.ZIP_TIME for i in zipfile.ZipFile(io.BytesIO(lms.to_qti_zip(chapter, "T"))).infolist())


# --- hostile text stays text --------------------------------------------------------------------

PROBES = ['<script>alert(1)</script>', '<b>bold</b> & &lt;x&gt;', 'a < b > c', '=HYPERLINK("http://x")',
          r'back\slash {brace} ~tilde =eq #hash :colon', "[link](http://example.invalid) `code` $5 $x$ _u_"]


def probe_chapter() -> Chapter:
    qs = []
    for i, probe in enumerate(PROBES):
        qs.append({"id": f"ch9-q{i:02d}", "type": "single", "prompt": f"P {probe}", "section": "s", "level": "recall",
                   "goal": 1, "options": [{"text": f"O {probe}", "correct": True, "feedback": f"F {probe}"},
                                          {"text": "other", "correct": False, "feedback": "why not"},
                                          {"text": "third", "correct": False, "feedback": "why not"}]})
    qs.append({"id": "ch9-q90", "type": "short", "prompt": "Short <i>x</i>", "section": "s", "level": "analysis",
               "goal": 1, "model_answer": "M <script>x</script>", "feedback": "SF & <b>y</b>"})
    for q in qs:
        q["section_title"], q["section_url"] = "Sec <title>", "https://example.org/book/c.html#s"
    return Chapter(Path("probe.yml"), "chapters/09-probe", qs, "Probe", "https://example.org/book/c.html")


def test_probe_strings_round_trip_in_moodle():
    chapter = probe_chapter()
    root = ET.fromstring(lms.to_moodle_xml(chapter, "Probe"))
    items = [q for q in root.findall("question") if q.get("type") != "category"]
    for el, probe in zip(items, PROBES):
        assert text_of(el.findtext("questiontext/text")) == f"P {probe}"
        assert "<script" not in el.findtext("questiontext/text") and "<b>" not in el.findtext("questiontext/text")
        assert text_of(el.find("answer").findtext("text")) == f"O {probe}"
        assert text_of(el.find("answer").findtext("feedback/text")) == f"F {probe}"
    short = items[-1]
    assert "SF & <b>y</b>" in text_of(short.findtext("generalfeedback/text"))


def test_probe_strings_round_trip_in_canvas_qti():
    chapter = probe_chapter()
    archive = zipfile.ZipFile(io.BytesIO(lms.to_qti_zip(chapter, "Probe")))
    xml = next(archive.read(f) for f in archive.namelist() if f.endswith(".xml") and "/" in f
               and not f.endswith("meta.xml"))
    root = ET.fromstring(xml)
    ns = {"q": root.tag.split("}")[0].strip("{")}
    texts = [text_of(m.text or "") for m in root.iter(f"{{{ns['q']}}}mattext")]
    for probe in PROBES:
        assert f"P {probe}" in texts and f"O {probe}" in texts and f"F {probe}" in texts, probe
    assert not any("\\<" in t for t in texts), "a stray backslash before <"
    assert any("SF & <b>y</b>" in t for t in texts), "short-answer feedback"


def test_probe_strings_round_trip_in_gift():
    """Undo GIFT's escapes and then the HTML: the exact text comes back."""
    gift = lms.to_gift(probe_chapter(), "Probe")
    undo = lambda s: text_of(re.sub(r"\\(.)", r"\1", s))  # noqa: E731
    for probe in PROBES:
        assert lms.gift_text(f"P {probe}") in gift and undo(lms.gift_text(f"P {probe}")) == f"P {probe}"
        assert "<script>" not in gift and "<b>bold" not in gift
    assert "SF &amp; &lt;b&gt;y&lt;/b&gt;" in gift


# --- Common Cartridge -----------------------------------------------------------------------------


def cartridge_files(bank, tmp_path):
    sheets = {n: {"worksheet": "<html><body>W</body></html>", "answers": "<html><body>K</body></html>"}
              for n in bank}
    return cartridge.write(list(bank.values()), sheets, {n: ["Discuss <this>"] for n in bank},
                           tmp_path, "Defection Explained")


def test_common_cartridge_manifest_and_files(bank, tmp_path):
    paths = cartridge_files(bank, tmp_path)
    assert [p.name for p in paths] == [f"{Path(n).name}.imscc" for n in CHAPTERS] + ["defection-explained.imscc"]
    for path in paths:
        archive = zipfile.ZipFile(path)
        names = set(archive.namelist())
        manifest = ET.fromstring(archive.read("imsmanifest.xml"))
        ns = {"m": "http://www.imsglobal.org/xsd/imsccv1p1/imscp_v1p1"}
        assert manifest.findtext("m:metadata/m:schemaversion", namespaces=ns) == "1.1.0"
        resources = {r.get("identifier"): r for r in manifest.findall(".//m:resource", ns)}
        refs = [i.get("identifierref") for i in manifest.findall(".//m:item", ns) if i.get("identifierref")]
        assert refs and set(refs) == set(resources), "every item names a resource, every resource is used"
        for r in resources.values():
            for f in r.findall("m:file", ns):
                assert f.get("href") in names, f.get("href")
                ET.fromstring(archive.read(f.get("href"))) if f.get("href").endswith(".xml") else None
        kinds = Counter(r.get("type") for r in resources.values())
        assert kinds["imsqti_xmlv1p2/imscc_xmlv1p1/assessment"] >= 1 and kinds["imswl_xmlv1p1"] >= 2
        assert kinds["imsdt_xmlv1p1"] >= 1 and kinds["webcontent"] >= 2
        for r in resources.values():
            if r.get("type") == "imswl_xmlv1p1":
                link = ET.fromstring(archive.read(r.find("m:file", ns).get("href")))
                url = link.find("{http://www.imsglobal.org/xsd/imsccv1p1/imswl_v1p1}url").get("href")
                assert url.startswith(BASE), url


def test_common_cartridge_qti_has_every_question(bank, tmp_path):
    path = cartridge_files(bank, tmp_path)[0]
    archive = zipfile.ZipFile(path)
    root = ET.fromstring(archive.read("ch1/quiz/assessment.xml"))
    ns = {"q": "http://www.imsglobal.org/xsd/ims_qtiasiv1p2"}
    chapter = bank[CHAPTERS[0]]
    items = root.findall(".//q:item", ns)
    assert [i.get("ident") for i in items] == [q["id"] for q in chapter.questions]
    meta = {f.findtext("q:fieldlabel", namespaces=ns): f.findtext("q:fieldentry", namespaces=ns)
            for f in root.findall("q:assessment/q:qtimetadata/q:qtimetadatafield", ns)}
    assert meta["cc_maxattempts"] == "unlimited"
    for item, q in zip(items, chapter.questions):
        profile = item.find(".//q:itemmetadata//q:fieldentry", ns).text
        assert profile == cartridge.PROFILE[q["type"]]
        feedback = " ".join(m.text or "" for m in item.iter("{%s}mattext" % ns["q"]))
        assert q["section_url"] in feedback
        if q["type"] in ("single", "true_false"):
            right = item.find("q:resprocessing/q:respcondition[@continue='No']//q:varequal", ns).text
            labels = [lab.get("ident") for lab in item.findall(".//q:response_label", ns)]
            assert options_of(q)[labels.index(right)]["correct"], q["id"]


@pytest.mark.build
@pytest.mark.parametrize("name", CHAPTERS)
def test_built_exports_link_to_sections_that_exist(site, name):
    """The served files: every absolute link's fragment is an id in the chapter page."""
    from conftest import ROOT as root

    base = Path(name).name
    page = (site / f"{name}.html").read_text(encoding="utf-8")
    baseurl = re.search(r"^\s*baseurl:\s*(\S+)", (root / "_config.yml").read_text(), re.M).group(1)
    moodle = (site / "questions" / f"{base}-moodle.xml").read_text(encoding="utf-8")
    links = re.findall(r'href="([^"]+)"', moodle)
    assert links
    for url in links:
        assert url.startswith(baseurl + name + ".html#"), url
        assert f'id="{url.split("#", 1)[1]}"' in page, url
    assert (site / "questions" / f"{base}.imscc").is_file()
    assert (site / "questions" / "defection-explained.imscc").is_file()
    page_order = re.findall(r'<form class="dx-q" id="([^"]+)"', page)
    sheet = (site / "worksheets" / f"{base}.html").read_text(encoding="utf-8")
    assert re.findall(r'<li id="(ch\d-q\d\d)"', sheet) == page_order


def test_a_numeric_key_gives_the_answer_the_prompt_asks_for(bank):
    """"To the nearest whole per cent" is answered with a whole number in the key, the worksheet
    answers and the page (not "31.70"), with the data's value and the accepted range beside it."""
    from dxbook.questions import answer_text

    asked = 0
    for chapter in bank.values():
        for q in chapter.questions:
            if q["type"] != "numeric":
                continue
            text = answer_text(q)
            if re.search(r"nearest\s+whole", q["prompt"]):
                asked += 1
                assert re.match(r"^-?[\d,]+(?: \(|$)", text), (q["id"], text)
                assert round(q["answer"]) == int(text.split(" ")[0].replace(",", "")), q["id"]
            if q.get("tolerance"):
                assert "are accepted" in text, (q["id"], text)
    assert asked >= 6
