"""Plain unit tests of the extension's pure functions (no Sphinx build)."""
from __future__ import annotations

import csv
import io
import re
import xml.etree.ElementTree as ET
import zipfile
from datetime import timezone
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import urljoin

import pytest

from dxbook import a11y, cache, cartridge, editions, explore, history, lms, publish, worksheets
from dxbook.questions import Chapter, inline

HOSTILE = 'Is <b>x</b> & "y" {a} = ~b #c: d [e](f) $g `h` _i_ \\ j?'


def chapter() -> Chapter:
    """A one-question chapter whose texts carry every character an export format treats specially."""
    q = {"id": "ch1-q01", "type": "single", "prompt": HOSTILE, "section": "s", "section_title": "Sec <1>",
         "section_url": "https://example.org/probe/chapters/01-x.html#s",
         "options": [{"text": "Right <i>one</i>", "correct": True, "feedback": "Because & so."},
                     {"text": "Wrong {two}", "correct": False, "feedback": "Not = this."},
                     {"text": "Wrong ~three", "correct": False, "feedback": "Nor #this."}]}
    return Chapter(Path("questions/01-x.yml"), "chapters/01-x", [q], "Chapter <X>", "https://example.org/probe/")


def test_moodle_xml_carries_bank_text_as_escaped_html():
    root = ET.fromstring(lms.to_moodle_xml(chapter(), "Chapter <X>"))
    q = next(x for x in root.iter("question") if x.get("type") == "multichoice")
    assert q.findtext("questiontext/text") == f"<p>{inline(HOSTILE)}</p>"
    assert "<b>" not in q.findtext("questiontext/text")
    fractions = {a.findtext("text"): a.get("fraction") for a in q.findall("answer")}
    assert fractions[inline("Right <i>one</i>")] == "100"
    assert root.find("question/category/text").text.endswith("Chapter <X>")


def test_gift_escapes_its_special_characters():
    gift = lms.to_gift(chapter(), "T")
    line = next(x for x in gift.splitlines() if x.startswith("::ch1-q01::[html]"))
    prompt = line[len("::ch1-q01::[html]"):].rsplit(" {", 1)[0]
    for ch in "{}=~#:":
        assert prompt.count("\\" + ch) == HOSTILE.count(ch), ch
    assert "&lt;b&gt;" in prompt


def test_text2qti_source_escapes_markdown():
    text = lms.text2qti_source(chapter(), "T")
    prompt = next(x for x in text.splitlines() if x.startswith("1.  "))
    for raw in ("[", "]", "$", "`", "_"):  # Markdown's and text2qti's characters, each escaped
        assert prompt.count("\\" + raw) == HOSTILE.count(raw), raw
    assert "&lt;b&gt;" in prompt


def test_reproducible_zip_is_byte_stable_and_sorted():
    files = {"b.txt": b"two", "a.txt": b"one", "c.png": b"\x89PNG"}
    first = lms.reproducible_zip(files)
    assert first == lms.reproducible_zip(dict(reversed(list(files.items()))))
    with zipfile.ZipFile(io.BytesIO(first)) as z:
        assert z.namelist() == sorted(files)
        assert {i.date_time for i in z.infolist()} == {lms.ZIP_TIME}
        assert z.getinfo("c.png").compress_type == zipfile.ZIP_STORED


def test_a_sheet_for_a_cartridge_stands_alone():
    """In an LMS package the site's files are not there: the stylesheet is inlined, no icon is
    named, and a <base> in the sheet's folder on the site makes every relative link (chapter,
    sections, references) lead to the site; the site's own copy links its files."""
    alone = worksheets.page("keys", "T", "chapters/01-x", '<a href="../chapters/references.html#r">r</a>',
                            css="p{color:red}", site="https://example.org/book/")
    assert "<style>p{color:red}</style>" in alone and "_static" not in alone and 'rel="icon"' not in alone
    assert alone.index('<base href="https://example.org/book/keys/">') < alone.index("<a ")
    base = re.search(r'<base href="([^"]+)">', alone).group(1)
    links = {urljoin(base, href) for href in re.findall(r'<a href="([^"]+)"', alone)}
    assert links == {"https://example.org/book/chapters/01-x.html", "https://example.org/book/chapters/references.html#r"}
    assert "Content-Security-Policy" not in alone  # the LMS page around it sets its own


def test_cartridge_manifest_matches_its_files():
    ch = chapter()
    cc = cartridge.Cartridge("Probe")
    cc.add_chapter(ch, 1, {"worksheet": "<p>w</p>"}, ["Discuss <this>."])
    with zipfile.ZipFile(io.BytesIO(cc.bytes())) as z:
        manifest = ET.fromstring(z.read("imsmanifest.xml"))
        ns = {"m": cartridge.NS[""]}
        hrefs = {f.get("href") for f in manifest.iterfind(".//m:resource/m:file", ns)}
        assert hrefs == set(z.namelist()) - {"imsmanifest.xml"}
        refs = {i.get("identifierref") for i in manifest.iter(f"{{{cartridge.NS['']}}}item") if i.get("identifierref")}
        assert refs == {r.get("identifier") for r in manifest.iterfind(".//m:resource", ns)}
        topic = z.read(next(n for n in z.namelist() if "discussion" in n)).decode("utf-8")
        assert "&lt;this&gt;" in topic or "&amp;lt;this&amp;gt;" in topic


def test_explore_tree_groups_marks_from_a_small_spec():
    view = {"mark": "bar", "data": {"name": "data_0"}, "description": "Cases by decade. More text.",
            "encoding": {"x": {"field": "decade", "type": "ordinal", "title": "Decade"},
                         "y": {"field": "n", "type": "quantitative", "title": "Cases"}}}
    rows = [{"decade": "1960s", "n": 3}, {"decade": "1950s", "n": 5}, {"decade": "<1940s>", "n": 1}]
    html = explore.tree(view, [("data_0", rows)], "Cases <per> decade")
    assert "<1940s>" not in html and "&lt;1940s&gt;" in html  # every value escaped
    assert "3 groups" in html
    # Ordinal groups in ascending order, as the chart draws them.
    assert html.index("1950s") < html.index("1960s")
    assert "data from 1 to 5" in html


def test_site_csvs_are_neutralised(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "bad.csv").write_text("name,note\nA,=HYPERLINK(\"x\")\nB,@SUM(A1)\n", encoding="utf-8")
    (tmp_path / "good.csv").write_text("name,n\nA,-3\nB,4\n", encoding="utf-8")
    good = (tmp_path / "good.csv").read_bytes()
    assert publish.neutralise_site_csv(tmp_path) == 1
    rows = list(csv.reader(io.StringIO((tmp_path / "sub" / "bad.csv").read_text(encoding="utf-8"))))
    assert [r[1] for r in rows[1:]] == ["'=HYPERLINK(\"x\")", "'@SUM(A1)"]
    assert (tmp_path / "good.csv").read_bytes() == good  # a number is not a formula; clean files untouched
    assert publish.neutralise_site_csv(tmp_path) == 0  # idempotent


def test_source_date_epoch(monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    assert publish.source_date_epoch() == 1700000000
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "not a number")
    assert publish.source_date_epoch() == publish.DEFAULT_EPOCH


def test_cache_digest_keys_on_names_and_bytes(tmp_path):
    (tmp_path / "a.csv").write_text("x\n1\n")
    before = cache.digest([tmp_path])
    assert cache.digest([tmp_path]) == before
    (tmp_path / "__pycache__").mkdir()
    (tmp_path / "__pycache__" / "m.pyc").write_bytes(b"\0")
    assert cache.digest([tmp_path]) == before  # byte code is not an input
    (tmp_path / "a.csv").write_text("x\n2\n")
    changed = cache.digest([tmp_path])
    assert changed != before
    (tmp_path / "a.csv").rename(tmp_path / "b.csv")
    assert cache.digest([tmp_path]) != changed  # a renamed file is a change too


def test_cache_inputs_are_data_and_package():
    from defection.paths import data_dir

    paths = cache.input_paths()
    assert data_dir() in paths and any((p / "__init__.py").is_file() for p in paths)


def test_pages_are_read_again_until_a_build_records_these_inputs():
    """The digest is a config value; the environment's record is written only when a build has read
    every page (env-updated), and a different digest makes every page stale."""
    app = SimpleNamespace(config=SimpleNamespace(dx_inputs_digest="data1-ext1"))
    env = SimpleNamespace(found_docs={"a", "b", "c"})
    assert sorted(cache._outdated(app, env, {"a"}, set(), set())) == ["b", "c"]  # no record yet
    cache._record(app, env)
    assert cache._outdated(app, env, set(), set(), set()) == []
    app.config.dx_inputs_digest = "data2-ext1"
    assert sorted(cache._outdated(app, env, set(), {"b"}, set())) == ["a", "c"]


def test_a_failed_execution_does_not_record_the_inputs():
    """A build in which a page's execution failed leaves every page to be read again next time."""
    app = SimpleNamespace(config=SimpleNamespace(dx_inputs_digest="data1-ext1"))
    env = SimpleNamespace(found_docs={"a", "b"}, nb_metadata={
        "a": {"exec_data": {"succeeded": True}}, "b": {"exec_data": {"succeeded": False}}})
    assert cache.failed_executions(env) == ["b"]
    cache._record(app, env)
    assert sorted(cache._outdated(app, env, set(), set(), set())) == ["a", "b"]
    env.nb_metadata["b"]["exec_data"]["succeeded"] = True
    cache._record(app, env)
    assert cache._outdated(app, env, set(), set(), set()) == []


@pytest.mark.parametrize("value, teacher", [("", False), ("0", False), ("1", True), ("yes", True)])
def test_teacher_edition_switch(monkeypatch, value, teacher):
    monkeypatch.setenv("DX_TEACHER", value)
    assert editions.is_teacher_build() is teacher


def test_bibliography_roles_fixed():
    body = '<div role="list" class="citation-list"><div class="citation" role="doc-biblioentry">A</div></div>'
    fixed = a11y.fix_bibliography(body)
    assert 'role="list"' not in fixed and "doc-biblioentry" not in fixed and "A</div>" in fixed
    assert a11y.fix_bibliography("<p>no bibliography</p>") == "<p>no bibliography</p>"


def test_history_date_is_the_git_date_in_utc():
    app = SimpleNamespace(env=SimpleNamespace(git_last_updated={"p": (86400 * 365, None), "q": (None, None)}),
                          config=SimpleNamespace(git_last_updated_timezone=timezone.utc))
    assert history.updated_iso(app, "p") == "1971-01-01"  # 365 days after the Unix epoch
    assert history.updated_iso(app, "q") == "" and history.updated_iso(app, "missing") == ""


def test_togglebutton_files_load_only_where_something_has_its_class():
    """The book's folded admonitions are <details> (editions): sphinx-togglebutton's script and
    stylesheet are dropped from a page unless an element has the class it folds, ``toggle``."""
    from dxbook.assets import unused_assets

    folded = '<details class="solution dropdown admonition"><summary class="admonition-title">S</summary></details>'
    assert "togglebutton." in unused_assets(folded)
    assert "togglebutton." in unused_assets('<a class="dropdown-toggle">x</a><div class="toggle-shown">y</div>')
    assert "togglebutton." not in unused_assets('<div class="cell toggle">x</div>')


def test_fold_visitors_write_details_only_for_a_folded_admonition_of_the_student_site(monkeypatch):
    """editions.fold_visitors: a dropdown admonition on the site (builder ``html``) of the student
    edition is a <details> with its classes and ids, its title a <summary>; everything else, and
    everything in the EPUB or the teacher edition, goes to the visitors it replaced."""
    from docutils import nodes
    from docutils.writers.html5_polyglot import HTMLTranslator

    calls = []
    visit, depart = editions.fold_visitors(lambda self, node, *a: calls.append(("visit", a)),
                                           lambda self, node, *a: calls.append(("depart", a)))
    tvisit, tdepart = editions.fold_visitors(lambda self, node, *a: calls.append(("title",)), None, title=True)

    def translator(builder):
        from docutils.frontend import get_default_settings
        from docutils.utils import new_document
        from docutils.writers.html5_polyglot import Writer

        self = HTMLTranslator(new_document("probe", get_default_settings(Writer)))
        self.body, self.context, self.builder = [], [], SimpleNamespace(name=builder)
        return self

    folded = nodes.note(classes=["dropdown"], ids=["n1"])
    title = nodes.title()
    folded += title
    monkeypatch.delenv("DX_TEACHER", raising=False)
    site = translator("html")
    visit(site, folded, "note")
    tvisit(site, title)
    site.body.append(site.context.pop())
    depart(site, folded)
    html = "".join(site.body)
    assert html == ('<details class="dropdown admonition note" id="n1">\n'
                    '<summary class="admonition-title"></summary>\n</details>\n'), html
    assert calls == []
    linked = nodes.title("", "Solution to ", nodes.reference("", "Exercise 1", refid="ex1"))
    parent = nodes.note(classes=["dropdown"])
    parent += linked
    with pytest.raises(nodes.SkipNode):  # a link would be a control inside the control: text only
        tvisit(site, linked)
    assert site.body[-2:] == ['<summary class="admonition-title">', "Solution to Exercise 1</summary>\n"]
    for builder, teacher, node in (("epub", "0", folded), ("html", "1", folded), ("html", "0", nodes.note(ids=["n2"]))):
        monkeypatch.setenv("DX_TEACHER", teacher)
        calls.clear()
        other = translator(builder)
        visit(other, node, "note")
        depart(other, node)
        assert calls == [("visit", ("note",)), ("depart", ())] and other.body == [], (builder, teacher)
