"""Chart outputs every notebook viewer can show (issue 29).

An untrusted notebook in JupyterLab, GitHub's and VS Code's previews and Colab
show an image, but neither the book's HTML nor Vega-Lite 6 JSON: every chart
output of every student and teacher notebook carries a PNG (and the SVG) with
its title as one short line of text/plain, and no output is a wall of text.
"""
from __future__ import annotations

import base64
from pathlib import Path

import nbformat
import pytest

from conftest import chapter_docnames

pytestmark = pytest.mark.build

PNG = b"\x89PNG\r\n\x1a\n"


def _notebooks(site):
    for name in chapter_docnames():
        yield name, "student", site / "_sources" / f"{name}.ipynb"
        yield name, "teacher", site / "notebooks" / "teacher" / f"{Path(name).name}.ipynb"


def _text(value) -> str:
    return "".join(value) if isinstance(value, list) else str(value)


@pytest.mark.parametrize("edition", ["student", "teacher"])
def test_every_chart_output_has_a_png_and_a_one_line_title(site, edition):
    problems, charts = [], 0
    for name, ed, path in _notebooks(site):
        if ed != edition:
            continue
        nb = nbformat.read(path, as_version=4)
        in_this = 0
        for cell in nb.cells:
            if cell.cell_type != "code":
                continue
            for out in cell.get("outputs", []):
                data = out.get("data", {})
                plain = _text(data.get("text/plain", ""))
                if len(plain) > 2000:
                    problems.append(f"{path.name}: a text/plain output of {len(plain)} characters")
                for key, value in data.items():
                    if (key.startswith(("application/vnd.vegalite", "application/vnd.defection"))
                            or (key == "text/html" and "dx-chart" in _text(value))):
                        problems.append(f"{path.name}: a chart output still carries {key}")
                if "image/png" not in data and "image/svg+xml" not in data:
                    continue
                in_this += 1
                if not base64.b64decode(_text(data.get("image/png", ""))).startswith(PNG):
                    problems.append(f"{path.name}: a chart output without a PNG")
                if not plain or "\n" in plain.strip() or len(plain) >= 200:
                    problems.append(f"{path.name}: chart text/plain is not one short line: {plain[:80]!r}")
                if "<svg" not in _text(data.get("image/svg+xml", "<svg")):
                    problems.append(f"{path.name}: image/svg+xml is no SVG")
        if in_this < 3:
            problems.append(f"{path.name}: {in_this} chart outputs (each chapter has at least 3 charts)")
        charts += in_this
    assert not problems, "\n".join(problems[:20])
    assert charts >= 12
