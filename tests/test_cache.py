"""The execution cache must never publish a page made from other inputs.

jupyter-cache keys a notebook on its code only. These build a one-page book with
the real extension against a private copy of the data and check that

* editing a data row changes the page, and an unchanged rebuild executes nothing;
* a cold build (a fresh checkout) that restores an old execution cache, as a CI
  cache fallback would, still shows the current data (finding 1 of issue 18);
* a build interrupted after a data edit does not leave later builds thinking
  the pages are current (finding 2 of issue 18).
"""
from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import ROOT

pytestmark = pytest.mark.build

NOTEBOOK = """---
jupytext:
  text_representation:
    extension: .md
    format_name: myst
kernelspec:
  display_name: Python 3
  language: python
  name: python3
---

# Probe

```{code-cell} ipython3
from defection import data
print("first case:", data.cases()["name"].iloc[0])
```
"""

JB = str(Path(sys.executable).parent / "jupyter-book")


def make_book(tmp_path: Path) -> tuple[Path, dict]:
    book = tmp_path / "book"
    book.mkdir()
    shutil.copytree(ROOT / "_ext", book / "_ext", ignore=shutil.ignore_patterns("__pycache__"))
    if not (tmp_path / "data").exists():
        shutil.copytree(ROOT / "data", tmp_path / "data")
    (book / "probe.md").write_text(NOTEBOOK)
    (book / "_toc.yml").write_text("format: jb-book\nroot: probe\n")
    (book / "_config.yml").write_text(
        "title: probe\nexecute:\n  execute_notebooks: cache\n"
        "sphinx:\n  local_extensions:\n    dxbook: _ext\n")
    return book, {**os.environ, "DEFECTION_DATA": str(tmp_path / "data")}


def build(book: Path, env: dict) -> str:
    result = subprocess.run([JB, "build", str(book), "-W", "-n", "--keep-going"],
                            capture_output=True, text=True, env=env)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result.stdout + result.stderr


def first_name(tmp_path: Path) -> str:
    return (tmp_path / "data" / "cases.csv").read_text(encoding="utf-8").splitlines()[1].split(",")[1]


def rename_first_case(tmp_path: Path, new: str) -> None:
    cases = tmp_path / "data" / "cases.csv"
    lines = cases.read_text(encoding="utf-8").splitlines(keepends=True)
    lines[1] = lines[1].replace(lines[1].split(",")[1], new, 1)
    cases.write_text("".join(lines), encoding="utf-8")


def page_text(book: Path) -> str:
    return (book / "_build" / "html" / "probe.html").read_text(encoding="utf-8")


def assert_every_stylesheet_exists(book: Path) -> None:
    """After any build, incremental ones included, each page's stylesheet is there."""
    html = book / "_build" / "html"
    for page in html.glob("*.html"):
        for href in re.findall(r'<link [^>]*rel="stylesheet"[^>]*href="([^"]+)"', page.read_text(encoding="utf-8")):
            assert (page.parent / href.split("?")[0]).is_file(), f"{page.name}: {href} missing"


def test_editing_a_data_row_rebuilds_the_page(tmp_path):
    book, env = make_book(tmp_path)
    build(book, env)
    assert f"first case: {first_name(tmp_path)}" in page_text(book)
    rename_first_case(tmp_path, "Edited Name")
    log = build(book, env)
    assert "every page is read again" in log
    assert "first case: Edited Name" in page_text(book)
    log = build(book, env)
    assert "Executing" not in log and "every page is read again" not in log
    assert "first case: Edited Name" in page_text(book)
    assert_every_stylesheet_exists(book)


def test_cold_build_with_an_old_restored_cache_uses_current_data(tmp_path):
    book, env = make_book(tmp_path)
    build(book, env)
    old_cache = tmp_path / "old-cache"
    shutil.copytree(book / "_build" / ".jupyter_cache", old_cache)
    # A fresh checkout with newer data; CI restores the older execution cache only.
    shutil.rmtree(book / "_build")
    rename_first_case(tmp_path, "Newer Data")
    (book / "_build").mkdir()
    shutil.copytree(old_cache, book / "_build" / ".jupyter_cache")
    build(book, env)
    assert "first case: Newer Data" in page_text(book)


def test_interrupted_build_does_not_leave_stale_pages(tmp_path):
    book, env = make_book(tmp_path)
    build(book, env)
    rename_first_case(tmp_path, "After Interrupt")
    # Start a rebuild and press Ctrl-C while the notebook executes.
    # Unbuffered: through a pipe Python buffers its output, and "Executing" could arrive only when the
    # build has ended, too late to interrupt it (the test then passed or failed by the size of the log).
    proc = subprocess.Popen([JB, "build", str(book), "-W", "-n", "--keep-going"],
                            env={**env, "PYTHONUNBUFFERED": "1"},
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    seen = ""
    deadline = time.time() + 120
    while time.time() < deadline:
        line = proc.stdout.readline()
        seen += line
        if "Executing" in line or not line:
            break
    assert "Executing" in seen, seen[-2000:]
    proc.send_signal(signal.SIGINT)
    rest = proc.communicate(timeout=60)[0]
    assert proc.returncode != 0, "the build ended before it was interrupted: " + rest[-2000:]
    assert "first case: After Interrupt" not in page_text(book)
    log = build(book, env)
    assert "every page is read again" in log
    assert "first case: After Interrupt" in page_text(book)
    assert f"first case: {first_name(tmp_path)}" in page_text(book)


def test_editing_one_chapter_executes_only_that_chapter(tmp_path):
    """A rebuild after editing one page's code executes that page and no other."""
    book, env = make_book(tmp_path)
    # Different code: jupyter-cache would reuse a notebook with the same code.
    (book / "other.md").write_text(NOTEBOOK.replace("# Probe", "# Other").replace('"first case:"', '"other:"'))
    (book / "_toc.yml").write_text("format: jb-book\nroot: probe\nchapters:\n  - file: other\n")
    log = build(book, env)
    assert "probe.md: Executing" in log and "other.md: Executing" in log, log[-2000:]
    with (book / "probe.md").open("a") as f:
        f.write('\n```{code-cell} ipython3\nprint("an edit")\n```\n')
    log = build(book, env)
    assert "probe.md: Executing" in log, log[-2000:]
    assert "other.md: Executing" not in log, "an unedited page was executed again"
    assert_every_stylesheet_exists(book)
    assert "an edit" in (book / "_build" / "html" / "probe.html").read_text(encoding="utf-8")
