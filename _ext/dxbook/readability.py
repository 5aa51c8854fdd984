"""``source-read``: the teacher guide's figures for each chapter (words, reading time,
reading level), computed from the chapter's source when a page that quotes them is read.

A page writes ``{{ ch3_words }}``, ``{{ ch3_minutes }}``, ``{{ ch3_grade }}`` (and
``sentences``, ``wps`` words per sentence, ``spw`` syllables per word, ``ease`` Flesch
reading ease); this module replaces them before MyST parses the page and records the
chapter as a dependency of the page, so an edited chapter re-reads the guide and the
numbers cannot drift. An unknown name stops the build naming file and line.

The counts are the Flesch-Kincaid formulas on the chapter's prose (what a student reads:
no code, tables, headings or markup), with syllables counted by a vowel-group rule. The
maintained ``textstat`` package would count syllables by hyphenation, but it pulls in
nltk and more for one formula; the rule below is the one the teacher guide has printed
and explained since the first edition, so its grades stay comparable. Reading time is
words / 200 per minute (a steady reading pace for 15-year-olds with some hard terms),
rounded up to 5 minutes.
"""
from __future__ import annotations

import math
import re
from pathlib import Path

from sphinx.application import Sphinx
from sphinx.errors import ExtensionError

WORDS_PER_MINUTE = 200
TOKEN = re.compile(r"\{\{\s*ch([1-9])_([a-z]+)\s*\}\}")


def prose(md: str) -> str:
    """The text a student reads: no front matter, code, tables, headings or markup."""
    md = re.sub(r"\A---\n.*?\n---\n", "", md, flags=re.S)
    md = re.sub(r"^(`{3,})\{?(code-cell|python|list-table)\b.*?^\1\s*$", "", md, flags=re.S | re.M)
    md = re.sub(r"^:::\{list-table\}.*?^:::\s*$", "", md, flags=re.S | re.M)
    md = re.sub(r"\{term\}`([^`<]+?)\s*<[^`]+>`", r"\1", md)
    md = re.sub(r"\{ref\}`([^`<]+?)\s*<[^`]+>`", r"\1", md)
    md = re.sub(r"\{(term|doc)\}`([^`]+)`", r"\2", md)
    md = re.sub(r"\{cite:[pt]\}`[^`]+`", "", md)
    md = re.sub(r"\{glue:(text|md)\}`[^`]+`", "12", md)
    md = re.sub(r"\{(numref|ref)\}`[^`]+`", "Figure 1", md)
    keep = []
    for line in md.splitlines():
        s = line.strip()
        if s.startswith(("#", "|", ":", "```", "````", "*Table")) or not s:
            keep.append("")
            continue
        if re.match(r"^(\d+\.|-|\*)\s+", s):
            keep.append("")
            s = re.sub(r"^(\d+\.|-|\*)\s+", "", s)
        s = re.sub(r"`([^`]*)`", r"\1", s)
        keep.append(s.replace("**", "").replace("*", "").replace("\\$", "$"))
    paragraphs = re.split(r"\n\s*\n", "\n".join(keep))
    return "\n".join(p.replace("\n", " ").strip().rstrip(";,") + "." for p in paragraphs if p.strip())


ABBREV = r"\b(?:U\.S|U\.N|v|e\.g|i\.e|Mr|Mrs|Dr|St|No|Jr|vs|c|pp|Art)\.\s"


def sentences(text: str) -> list[str]:
    text = re.sub(ABBREV, lambda m: m.group(0).replace(".", ""), text)
    text = re.sub(r"\b([A-Z])\.\s", r"\1 ", text)
    return [s for s in re.split(r"(?<=[.!?])[\"'”’)]*\s+", text) if re.search(r"[A-Za-z0-9]", s)]


def syllables(word: str) -> int:
    word = word.lower()
    if word.isdigit():
        return max(1, len(word) - 1)
    word = re.sub(r"[^a-z]", "", word)
    if not word:
        return 0
    n = len(re.findall(r"[aeiouy]+", word))
    if word.endswith("e") and not word.endswith(("le", "ee", "ye")) and n > 1:
        n -= 1
    if word.endswith(("ed", "es")) and not word.endswith(("ted", "ded", "ses", "zes", "ces", "ges", "xes")) and n > 1:
        n -= 1
    return max(1, n)


def stats(md: str) -> dict:
    text = prose(md)
    sents = sentences(text)
    words = re.findall(r"[A-Za-z0-9][A-Za-z0-9'’\-]*", text)
    wps, spw = len(words) / len(sents), sum(syllables(w) for w in words) / len(words)
    return {"words": len(words), "sentences": len(sents), "wps": round(wps, 1), "spw": round(spw, 2),
            "grade": round(0.39 * wps + 11.8 * spw - 15.59, 1),
            "ease": round(206.835 - 1.015 * wps - 84.6 * spw, 1),
            "minutes": 5 * math.ceil(len(words) / WORDS_PER_MINUTE / 5)}


def chapter_source(srcdir: Path, number: int) -> Path | None:
    return next(iter(sorted((Path(srcdir) / "chapters").glob(f"{number:02d}-*.md"))), None)


def shown(name: str, value) -> str:
    return f"{value:,}" if isinstance(value, int) else str(value)


def fill(text: str, srcdir: Path, where: str, depend=lambda path: None) -> str:
    """``text`` with every ``{{ chN_name }}`` replaced by the chapter's figure."""
    cache: dict[int, dict] = {}

    def one(m):
        number, name = int(m.group(1)), m.group(2)
        if number not in cache:
            source = chapter_source(srcdir, number)
            if source is None:
                raise ExtensionError(f"{where}, line {text[:m.start()].count(chr(10)) + 1}: no chapter {number}")
            depend(source)
            cache[number] = stats(source.read_text(encoding="utf-8"))
        if name not in cache[number]:
            raise ExtensionError(f"{where}, line {text[:m.start()].count(chr(10)) + 1}: unknown figure "
                                 f"ch{number}_{name} (known: {', '.join(cache[number])})")
        return shown(name, cache[number][name])

    return TOKEN.sub(one, text)


def _source_read(app: Sphinx, docname: str, source: list) -> None:
    if TOKEN.search(source[0]):
        source[0] = fill(source[0], Path(app.srcdir), app.env.doc2path(docname),
                         lambda path: app.env.note_dependency(str(path)))


def setup(app: Sphinx) -> None:
    app.connect("source-read", _source_read)
