"""`make pdf` output: each chapter's PDF has its title and its figures' captions."""
from __future__ import annotations

import re
import shutil
import subprocess
from html import unescape
from pathlib import Path

import pytest

from conftest import ROOT, chapter_docnames, pdf_name, toc_docnames

pytestmark = pytest.mark.build

PDF_DIR = ROOT / "_build" / "pdf"


def words(text: str) -> str:
    return " ".join(re.sub(r"[^\w]+", " ", unescape(text)).split()).lower()


def pdf_text(path: Path) -> str:
    exe = shutil.which("pdftotext")
    assert exe, "pdftotext not found: install Debian's poppler-utils"
    assert path.is_file(), f"{path} missing: run `make pdf`"
    return subprocess.run([exe, "-layout", str(path), "-"], capture_output=True, text=True, check=True).stdout


@pytest.mark.parametrize("name", chapter_docnames())
def test_chapter_pdf_has_title_and_captions(site, name):
    html = (site / f"{name}.html").read_text(encoding="utf-8")
    title = re.search(r'<h1>(?:<span class="section-number">[^<]*</span>)?([^<]*)<a class="headerlink"', html).group(1)
    captions = [re.sub(r"<[^>]+>", " ", c) for c in re.findall(r"<figcaption>(.*?)</figcaption>", html, re.S)]
    assert captions, f"{name} has no figure captions"
    text = words(pdf_text(PDF_DIR / pdf_name(name)))
    assert words(re.sub(r"<[^>]+>", " ", title)) in text
    for caption in captions:
        start = " ".join(words(caption).split()[:8])
        assert start in text, f"caption not in PDF: {start!r}"


def test_book_pdf_has_every_page():
    text = words(pdf_text(PDF_DIR / "defection-explained.pdf"))
    for name in toc_docnames():
        assert (PDF_DIR / pdf_name(name)).is_file()
    assert "defection explained" in text
    assert "how defection works" in text


def solution_sentences(name: str) -> list[str]:
    """Opening words of the prose inside each folded solution of a chapter."""
    text = (ROOT / f"{name}.md").read_text(encoding="utf-8")
    found = []
    for block in re.findall(r"\{solution-start\}.*?\{solution-end\}", text, re.S):
        block = re.sub(r"(`{3,})\{code-cell\}.*?\1", "", block, flags=re.S)
        prose = [line for line in block.splitlines()
                 if len(line.split()) >= 8 and not line.startswith((":", "`", "|"))]
        if prose:
            found.append(" ".join(words(prose[0]).split()[:8]))
    return found


@pytest.mark.parametrize("name", chapter_docnames())
def test_printed_chapter_keeps_solutions_folded(name):
    text = words(pdf_text(PDF_DIR / pdf_name(name)))
    sentences = solution_sentences(name)
    assert sentences, f"{name}: no solution prose found to check"
    shown = [s for s in sentences if s in text]
    assert not shown, f"solutions printed: {shown}"
