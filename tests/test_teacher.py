"""Solutions are folded for students and shown in the teacher edition (DX_TEACHER=1)."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT

pytestmark = pytest.mark.build

PAGE = """# Probe

```{exercise}
:label: ex-probe

Count the cases.
```

```{solution} ex-probe
:class: dropdown

The answer is forty-two.
```

```{admonition} A worked example
:class: dropdown

The example takes six steps.
```

```{note}
:class: dropdown

A folded note.
```

```{tip}
An open tip.
```
"""


def build(book: Path, teacher: bool) -> Path:
    out = book.parent / ("teacher" if teacher else "student")
    env = {**os.environ, "DX_TEACHER": "1" if teacher else "0"}
    jb = Path(sys.executable).parent / "jupyter-book"
    result = subprocess.run([str(jb), "build", str(book), "--path-output", str(out), "-W", "-n", "--keep-going"],
                            capture_output=True, text=True, env=env)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    return out / "_build" / "html" / "probe.html"


@pytest.fixture(scope="module")
def pages(tmp_path_factory):
    book = tmp_path_factory.mktemp("teacher") / "book"
    book.mkdir()
    shutil.copytree(ROOT / "_ext", book / "_ext")
    (book / "probe.md").write_text(PAGE)
    (book / "_toc.yml").write_text("format: jb-book\nroot: probe\n")
    (book / "_config.yml").write_text(
        "title: probe\nsphinx:\n  extra_extensions: [sphinx_exercise]\n  local_extensions:\n    dxbook: _ext\n")
    return build(book, teacher=False), build(book, teacher=True)


@pytest.mark.browser
def test_solution_hidden_for_students_and_shown_to_teachers(pages, browser):
    """Students get every folded admonition (a solution, a titled admonition, a note) as a closed
    native ``<details>`` whose summary is its title, folded with or without JavaScript and opened
    from the keyboard; sphinx-togglebutton's files are not on the page (nothing has its class).
    Teachers get them all open, as plain admonitions."""
    student, teacher = pages
    html = student.read_text()
    assert "(teacher edition)" in teacher.read_text() and "(teacher edition)" not in html
    assert "togglebutton" not in html
    from playwright.sync_api import expect

    folded = {"The answer is forty-two.": ("solution", "Solution to"),
              "The example takes six steps.": ("", "A worked example"),
              "A folded note.": ("note", "Note")}
    for javascript in (True, False):
        context = browser.new_context(java_script_enabled=javascript)
        page = context.new_page()
        page.goto(student.as_uri())
        expect(page.locator("details.admonition")).to_have_count(3)
        expect(page.locator("details.admonition[open]")).to_have_count(0)
        expect(page.locator(".toggle-button")).to_have_count(0)
        expect(page.get_by_text("An open tip.")).to_be_visible()  # not folded: stays a plain admonition
        expect(page.locator("div.admonition.tip")).to_have_count(1)
        for text, (kind, title) in folded.items():
            box = page.locator("details.admonition", has_text=text)
            if kind:
                expect(box).to_have_class(re.compile(rf"(^|\s){kind}(\s|$)"))
            summary = box.locator(":scope > summary.admonition-title")
            expect(summary).to_contain_text(title)
            expect(summary.locator("a, button")).to_have_count(0)  # nothing interactive inside the control
            expect(page.get_by_text(text)).to_be_hidden()
            if javascript:
                summary.focus()
                page.keyboard.press("Enter")  # the reader can unfold it from the keyboard
            else:
                summary.click(position={"x": 4, "y": 4})
            expect(page.get_by_text(text)).to_be_visible()
        context.close()

    page = browser.new_page()
    page.goto(teacher.as_uri())
    expect(page.locator("details.admonition")).to_have_count(0)
    expect(page.locator(".toggle-button")).to_have_count(0)
    for text in folded:
        expect(page.get_by_text(text)).to_be_visible()
    page.close()
