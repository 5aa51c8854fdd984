"""What every chapter promises readers and teachers, checked on the sources and the built pages."""
from __future__ import annotations

import re
import sys

import pytest

from conftest import ROOT, chapter_docnames

CHAPTERS = chapter_docnames()
BIB = (ROOT / "references.bib").read_text(encoding="utf-8")
BIB_KEYS = re.findall(r"^@\w+\{([^,\s]+),", BIB, re.M)


def source(name: str) -> str:
    return (ROOT / f"{name}.md").read_text(encoding="utf-8")


def prose_words(text: str) -> int:
    """Words of reading prose: not code, not directive options, not the exercises
    and solutions, not the list of discussion questions."""
    text = re.sub(r"^---\n.*?\n---\n", "", text, flags=re.S)           # front matter
    text = re.sub(r"^## Discussion questions\n.*?(?=^## )", "", text, flags=re.S | re.M)
    text = re.sub(r"^## Exercises\n.*", "", text, flags=re.S | re.M)
    text = re.sub(r"(`{3,})\{code-cell\}.*?\1", "", text, flags=re.S)   # code cells
    text = re.sub(r"^(`{3,}|:{3,}).*$", "", text, flags=re.M)           # directive fences
    text = re.sub(r"^:\w[\w-]*:.*$", "", text, flags=re.M)              # directive options
    text = re.sub(r"\{[\w:-]+\}`([^`<]*)(<[^>]*>)?`", r"\1", text)      # roles keep their text
    return len(re.findall(r"[A-Za-z][A-Za-z'’-]*", text))


def cited_keys(text: str) -> set[str]:
    keys = set()
    for group in re.findall(r"\{cite(?::\w+)?\}`([^`]+)`", text):
        keys.update(k.strip() for k in group.split(","))
    return keys


@pytest.mark.parametrize("name", CHAPTERS)
def test_chapter_has_the_teaching_apparatus(name):
    text = source(name)
    assert re.search(r"\{admonition\} Learning goals", text), "learning goals"
    goals = re.search(r"\{admonition\} Learning goals(.*?)\n:::", text, re.S).group(1)
    assert 3 <= len(re.findall(r"^\s*[-*] ", goals, re.M)) <= 6, "3-6 learning goals"
    assert "{term}`" in text, "key terms linked to the glossary"
    assert re.search(r":class: myth-vs-fact", text), "a myth-vs-fact box"
    assert re.search(r"^## Summary", text, re.M)
    questions = re.search(r"^## Discussion questions\n(.*?)(?=^## )", text, re.S | re.M).group(1)
    assert len(re.findall(r"^\d+\. ", questions, re.M)) >= 5, "at least 5 discussion questions"
    exercises = re.findall(r"\{exercise(?:-start)?\}", text)
    solutions = re.findall(r"\{solution(?:-start)?\}", text)
    assert len(exercises) >= 3 and len(solutions) >= len(exercises), "3+ exercises, each with a solution"
    assert re.search(r":class: dropdown", text), "solutions fold away"


@pytest.mark.parametrize("name", CHAPTERS)
def test_chapter_length(name):
    words = prose_words(source(name))
    assert 2500 <= words <= 9000, f"{name}: {words} words of prose"


@pytest.mark.build
@pytest.mark.parametrize("name", CHAPTERS)
def test_built_chapter_has_charts_tables_and_citations(site, name):
    html = (site / f"{name}.html").read_text(encoding="utf-8")
    assert html.count('<div class="dx-chart" ') >= 3, "at least 3 charts"
    assert "<table" in html, "at least one table"
    assert html.count('class="reference internal" href="references.html#') >= 10, "cites its sources"


def test_every_bibliography_entry_is_cited_and_every_citation_exists():
    used = set()
    for path in list((ROOT / "chapters").rglob("*.md")) + [ROOT / "intro.md"]:
        used |= cited_keys(path.read_text(encoding="utf-8"))
    for path in (ROOT / "teaching").glob("*.yml"):  # card texts, marked tasks, extension readings
        used |= set(re.findall(r"^\s*(?:source_)?cite:\s*([\w:-]+)", path.read_text(encoding="utf-8"), re.M))
    assert len(BIB_KEYS) == len(set(BIB_KEYS)), "duplicate bibliography keys"
    assert not used - set(BIB_KEYS), f"cited but not in references.bib: {sorted(used - set(BIB_KEYS))}"
    assert not set(BIB_KEYS) - used, f"in references.bib but never cited: {sorted(set(BIB_KEYS) - used)}"


def test_bibliography_entries_have_a_url_or_publisher():
    for entry in re.split(r"\n(?=@)", BIB.strip()):
        key = re.match(r"@\w+\{([^,\s]+),", entry).group(1)
        assert re.search(r"^\s*(url|publisher|journal|howpublished)\s*=", entry, re.M | re.I), key


def test_glossary_has_at_least_30_defined_terms():
    text = (ROOT / "chapters" / "glossary.md").read_text(encoding="utf-8")
    block = re.search(r"```\{glossary\}\n(.*?)\n```", text, re.S).group(1)
    terms = re.findall(r"^(\S[^\n]*)\n(?:  \S)", block, re.M)
    assert len(terms) >= 30, f"{len(terms)} terms"
    used = set()
    for path in (ROOT / "chapters").glob("0*.md"):
        used |= {m.split("<")[-1].rstrip(">").strip().lower()
                 for m in re.findall(r"\{term\}`([^`]+)`", path.read_text(encoding="utf-8"))}
    unused = [t for t in terms if t.lower() not in used]
    assert len(unused) <= len(terms) // 3, f"glossary terms no chapter links to: {unused}"


def test_landing_page_maps_every_chapter_with_its_reading_time():
    """The map and each chapter quote the same computed figure (``{{ chN_minutes }}``, filled by
    _ext/dxbook/readability.py), and that figure is plausible for the chapter's length."""
    sys.path.insert(0, str(ROOT / "_ext"))
    from dxbook import readability

    intro = (ROOT / "intro.md").read_text(encoding="utf-8")
    # The map is a definition list (one entry per chapter, readable on a phone): the term
    # links the chapter, the definition summarises it and ends with its reading time.
    chapter_map = re.search(r"^:::\{container\} dx-chapter-map\n(.*?)^:::$", intro, re.M | re.S)
    assert chapter_map, "intro.md has no chapter map (:::{container} dx-chapter-map)"
    entries = re.split(r"\n\s*\n", chapter_map.group(1).strip())
    assert len(entries) == len(CHAPTERS), "one entry per chapter"
    for number, name in enumerate(CHAPTERS, start=1):
        token = f"about {{{{ ch{number}_minutes }}}} minutes"
        entry = entries[number - 1]
        assert re.match(rf"Chapter {number}: \{{doc\}}`{re.escape(name)}`\n: ", entry), \
            f"{name} missing from the chapter map (or out of order)"
        assert token in entry, f"{name}: the chapter map does not give its reading time"
        assert token in source(name), f"{name}: the chapter does not quote the computed reading time"
        stated = readability.stats(source(name))["minutes"]
        words = prose_words(source(name))
        assert words / 250 <= stated <= words / 120, f"{name}: {stated} min for {words} words"


@pytest.mark.build
def test_citation_file_is_published(site):
    text = (site / "CITATION.cff").read_text(encoding="utf-8")
    assert "cff-version" in text and "Defection Explained" in text


def test_one_version_everywhere():
    """The book, its package, its citation and its changelog name the same version."""
    import tomllib

    import defection

    version = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"]
    assert defection.__version__ == version
    cff = (ROOT / "CITATION.cff").read_text(encoding="utf-8")
    assert re.search(rf"^version: {re.escape(version)}$", cff, re.M), "CITATION.cff"
    latest = re.search(r"^## (\d+\.\d+\.\d+) \((\d{4}-\d\d-\d\d)\)", (ROOT / "CHANGELOG.md").read_text(encoding="utf-8"), re.M)
    assert latest.group(1) == version, "CHANGELOG.md's latest entry"
    assert re.search(rf"^date-released: {latest.group(2)}$", cff, re.M), "CITATION.cff date-released"
    for page in ("README.md", "intro.md", "chapters/data.md"):
        text = (ROOT / page).read_text(encoding="utf-8")
        named = set(re.findall(r"[Vv]ersion (\d+\.\d+\.\d+)", text))
        assert named == {version}, f"{page} names version(s) {named}"
