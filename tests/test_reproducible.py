"""The same inputs give the same bytes (issue 27): notebooks, zips, the wheel.

Each generator runs twice (with different file times where those could leak in)
and the outputs are compared; on the built site, every notebook's cell ids are
the ones its content gives, and every zip carries fixed time stamps.
"""
from __future__ import annotations

import os
import shutil
import sys
import time
import zipfile

import nbformat
import pytest

from conftest import ROOT

sys.path.insert(0, str(ROOT / "_ext"))

from dxbook.notebooks import content_ids  # noqa: E402


def _cells():
    return [nbformat.v4.new_markdown_cell("# Title"), nbformat.v4.new_code_cell("x = 1"),
            nbformat.v4.new_markdown_cell("# Title"), nbformat.v4.new_code_cell("# Title")]


def test_notebook_cell_ids_come_from_content():
    first, second = _cells(), _cells()
    assert [c["id"] for c in first] != [c["id"] for c in second]  # nbformat's own ids are random
    content_ids(first)
    content_ids(second)
    ids = [c["id"] for c in first]
    assert ids == [c["id"] for c in second]
    assert len(set(ids)) == len(ids)  # a repeated cell gets its own id
    assert ids[2] == ids[0] + "-2" and ids[3] != ids[0]  # the type is part of the id
    nb = nbformat.v4.new_notebook(cells=first)
    nbformat.validate(nb)
    assert nbformat.writes(nb) == nbformat.writes(nbformat.v4.new_notebook(cells=second))


def test_canvas_zip_is_reproducible():
    from dxbook.lms import reproducible_zip

    files = {"b.xml": b"<b/>", "a/": b"", "a/c.xml": b"<c/>"}
    one = reproducible_zip(files)
    time.sleep(1.1)  # zip stores 2-second times: a clock-based stamp would differ by now
    assert reproducible_zip(dict(reversed(list(files.items())))) == one
    with zipfile.ZipFile(__import__("io").BytesIO(one)) as archive:
        assert {i.date_time for i in archive.infolist()} == {(1980, 1, 1, 0, 0, 0)}


def test_wheel_is_reproducible(tmp_path):
    from dxbook.publish import build_wheel

    wheels = []
    for n in (1, 2):
        root = tmp_path / f"project{n}"
        root.mkdir()
        for name in ("pyproject.toml", "README.md", "LICENSE"):
            shutil.copy2(ROOT / name, root / name)
        shutil.copytree(ROOT / "defection", root / "defection", ignore=shutil.ignore_patterns("__pycache__"))
        later = time.time() + 3600 * n  # different file times each time
        for path in root.rglob("*"):
            os.utime(path, (later, later))
        wheels.append(build_wheel(root, ROOT / "data", tmp_path / f"dist{n}").read_bytes())
    assert wheels[0] == wheels[1]


@pytest.mark.build
def test_served_notebooks_have_content_ids(site):
    found = sorted(site.rglob("*.ipynb"))
    assert found
    for path in found:
        nb = nbformat.read(path, as_version=4)
        ids = [c["id"] for c in nb.cells]
        content_ids(nb.cells)
        assert ids == [c["id"] for c in nb.cells], path


@pytest.mark.build
def test_served_zips_have_fixed_times(site):
    for path in sorted(site.rglob("*.zip")) + sorted((site / "downloads").glob("*.whl")):
        with zipfile.ZipFile(path) as archive:
            times = {i.date_time for i in archive.infolist()}
        if path.suffix == ".whl":  # SOURCE_DATE_EPOCH, or 1980-01-01: one stamp for every file
            assert len(times) == 1, (path, times)
        else:
            assert times == {(1980, 1, 1, 0, 0, 0)}, (path, times)


def test_pieces_of_one_stream_are_joined_exactly():
    from dxbook.notebooks import whole_streams

    out = lambda name, text: nbformat.v4.new_output("stream", name=name, text=text)  # noqa: E731
    pieces = [out("stdout", "a  b"), out("stdout", "\n\nc\n"), out("stderr", "w\n"), out("stdout", "d")]
    joined = whole_streams(pieces)
    assert [(o["name"], o["text"]) for o in joined] == [("stdout", "a  b\n\nc\n"), ("stderr", "w\n"), ("stdout", "d")]
    assert pieces[0]["text"] == "a  b"  # the executed notebook's outputs are not changed
    assert whole_streams(pieces) == joined


def test_the_build_kernel_sends_a_slow_cell_text_in_one_piece(tmp_path, monkeypatch):
    """A cell that prints, waits longer than ipykernel's 0.2 s flush, and prints again."""
    from nbclient import NotebookClient

    from dxbook.cache import use_whole_streams

    def run():
        nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
            "import time\nprint('first', end='')\ntime.sleep(0.6)\nprint('\\nsecond')")])
        NotebookClient(nb, timeout=60, kernel_name="python3").execute()
        return nb.cells[0].outputs

    monkeypatch.setenv("IPYTHONDIR", str(tmp_path / "plain"))
    assert len(run()) == 2  # without the start-up file: two pieces, cut where the clock fell
    use_whole_streams(tmp_path / "ipython")  # sets IPYTHONDIR (monkeypatch restores it)
    outputs = run()
    assert [(o["output_type"], o["text"]) for o in outputs] == [("stream", "first\nsecond\n")]
