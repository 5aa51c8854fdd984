"""Chapters run as plain notebooks, outside the book build, as a student would run them."""
from __future__ import annotations

import os

import jupytext
import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

from conftest import ROOT, chapter_docnames

CHAPTERS = chapter_docnames()


def run(nb, cwd, env=None):
    old = {k: os.environ.get(k) for k in (env or {})}
    os.environ.update(env or {})
    try:
        NotebookClient(nb, kernel_name="python3", timeout=300, resources={"metadata": {"path": str(cwd)}}).execute()
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    return nb


@pytest.mark.parametrize("name", CHAPTERS)
def test_chapter_runs_in_its_own_folder(name):
    source = ROOT / f"{name}.md"
    run(jupytext.read(source), source.parent)


@pytest.mark.parametrize("name", CHAPTERS)
def test_chapter_runs_from_an_unrelated_folder(name, tmp_path):
    run(jupytext.read(ROOT / f"{name}.md"), tmp_path)


@pytest.mark.build
@pytest.mark.parametrize("name", CHAPTERS)
def test_downloaded_notebook_runs(site, name, tmp_path):
    path = site / "_sources" / f"{name}.ipynb"
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    assert "Before you run this notebook" in nb.cells[0].source
    assert "pip install git+" in nb.cells[0].source
    run(nb, tmp_path)


@pytest.mark.build
def test_downloaded_notebook_explains_missing_data(site, tmp_path):
    name = CHAPTERS[0]
    nb = nbformat.read(site / "_sources" / f"{name}.ipynb", as_version=4)
    with pytest.raises(CellExecutionError) as info:
        run(nb, tmp_path, env={"DEFECTION_DATA": str(tmp_path / "nowhere")})
    message = str(info.value)
    assert "SystemExit" in message and "pip install git+" in message and "git clone" in message
    assert "Traceback (most recent call last)" not in message
    executed = [c for c in nb.cells if c.cell_type == "code" and c.get("execution_count")]
    assert len(executed) == 1, "execution stops at the set-up cell"
