"""jupyter-cache keys notebooks on their code only; the book must not go stale.

Builds a one-page book with the real extension against a private copy of the
data, edits a data row, rebuilds, and checks that the page changed; then checks
that a rebuild with no change does not execute the notebook again.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
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


def build(book: Path, env: dict) -> str:
    jb = Path(sys.executable).parent / "jupyter-book"
    result = subprocess.run([str(jb), "build", str(book), "-W", "-n", "--keep-going"],
                            capture_output=True, text=True, env=env)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result.stdout + result.stderr


def test_editing_a_data_row_rebuilds_the_page(tmp_path):
    book = tmp_path / "book"
    book.mkdir()
    shutil.copytree(ROOT / "_ext", book / "_ext")
    shutil.copytree(ROOT / "data", tmp_path / "data")
    (book / "probe.md").write_text(NOTEBOOK)
    (book / "_toc.yml").write_text("format: jb-book\nroot: probe\n")
    (book / "_config.yml").write_text(
        "title: probe\nexecute:\n  execute_notebooks: cache\n"
        "sphinx:\n  local_extensions:\n    dxbook: _ext\n")
    env = {**os.environ, "DEFECTION_DATA": str(tmp_path / "data")}
    page = book / "_build" / "html" / "probe.html"

    build(book, env)
    first = page.read_text()
    cases = tmp_path / "data" / "cases.csv"
    lines = cases.read_text(encoding="utf-8").splitlines(keepends=True)
    old_name = lines[1].split(",")[1]
    assert f"first case: {old_name}" in first
    lines[1] = lines[1].replace(old_name, "Edited Name", 1)
    cases.write_text("".join(lines), encoding="utf-8")

    log = build(book, env)
    assert "clearing the execution cache" in log
    assert "first case: Edited Name" in page.read_text()

    log = build(book, env)
    assert "Executing" not in log and "clearing the execution cache" not in log
    assert "first case: Edited Name" in page.read_text()
