"""Solutions are folded for students and shown in the teacher edition (DX_TEACHER=1)."""
from __future__ import annotations

import os
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
    student, teacher = pages
    assert "(teacher edition)" in teacher.read_text()
    from playwright.sync_api import expect

    page = browser.new_page()
    page.goto(student.as_uri())
    answer = page.get_by_text("The answer is forty-two.")
    expect(page.locator(".admonition.dropdown .toggle-button")).to_have_count(1)
    expect(answer).to_be_hidden()
    page.locator(".admonition.dropdown .toggle-button").click()  # the reader can unfold it
    expect(answer).to_be_visible()
    page.goto(teacher.as_uri())
    expect(page.locator(".toggle-button")).to_have_count(0)
    expect(page.get_by_text("The answer is forty-two.")).to_be_visible()
    page.close()
