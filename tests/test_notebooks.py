"""The notebooks a student or teacher downloads (issue 14).

* The student notebook of every chapter is plain Jupyter Markdown (no MyST
  left), contains no solution text or code, and every exercise has an empty
  answer cell; the teacher notebook contains every solution.
* Both execute top to bottom with nbclient in a fresh virtual environment that
  has only Jupyter's kernel and the book's wheel (served by the site) installed,
  from a temporary folder outside the checkout, and show their charts.
* Their Markdown links point at pages and anchors that exist in the built site.
* The chapter sources also run as notebooks, as `make lab` users used to run them.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path
from urllib.parse import urlparse

import jupytext
import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

from conftest import ROOT, chapter_docnames

sys.path.insert(0, str(ROOT / "_ext"))
from dxbook.notebooks import leftovers  # noqa: E402

CHAPTERS = chapter_docnames()


def run(nb, cwd, kernel="python3", extra_env=None):
    old = {k: os.environ.get(k) for k in (extra_env or {})}
    os.environ.update(extra_env or {})
    try:
        NotebookClient(nb, kernel_name=kernel, timeout=300, resources={"metadata": {"path": str(cwd)}}).execute()
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    return nb


def student(site, name):
    return nbformat.read(site / "_sources" / f"{name}.ipynb", as_version=4)


def teacher(site, name):
    return nbformat.read(site / "notebooks" / "teacher" / f"{Path(name).name}.ipynb", as_version=4)


def solutions(name: str) -> list[str]:
    """Every solution of a chapter: its prose lines and code lines of some length."""
    text = (ROOT / f"{name}.md").read_text(encoding="utf-8")
    blocks = re.findall(r"\{solution-start\}.*?\{solution-end\}", text, re.S)
    outside = re.sub(r"\{solution-start\}.*?\{solution-end\}", "", text, flags=re.S)
    found = []
    for block in blocks:
        for line in block.splitlines()[1:]:
            line = line.strip()
            if (len(line) >= 25 and not line.startswith((":", "`", "#", "{")) and "{" not in line[:1]
                    and line not in outside and "{cite" not in line and "{term" not in line and "{glue" not in line):
                found.append(line)
    assert found, f"{name}: no solutions found"
    return found


def all_text(nb) -> str:
    return "\n".join(c.source for c in nb.cells)


@pytest.mark.build
@pytest.mark.parametrize("name", CHAPTERS)
def test_student_notebook_is_plain_markdown_without_solutions(site, name):
    nb = student(site, name)
    nbformat.validate(nb)
    text = all_text(nb)
    assert not leftovers(text), leftovers(text)[:10]
    assert "glue(" not in text and "myst_nb" not in text
    from defection import facts
    prose = re.sub(r"\]\([^)]*\)", "]", text)  # link targets may name the page's anchors
    keys = [k for k in facts.for_chapter(name) if k in prose]
    assert not keys, f"glue keys left in the notebook: {keys}"
    assert not re.search(r"\bfig-ch\d", prose), "figure glue keys left"
    leaked = [s for s in solutions(name) if s in text]
    assert not leaked, f"solution text in the student notebook: {leaked[:3]}"
    assert nb.metadata["defection_explained"]["edition"] == "student"
    # Every exercise is its prompt followed by an empty answer cell.
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "markdown" and re.match(r"\*\*Exercise \d+\.\d+\.\*\*", cell.source):
            assert nb.cells[i + 1].cell_type == "code" and nb.cells[i + 1].source.startswith("# Your answer")
    # Citations as links in round brackets, "([Author, year](…references.html#cite-…))", never a
    # link in square brackets ("[[Author, year](…)]", which Markdown shows with stray brackets).
    source = (ROOT / f"{name}.md").read_text(encoding="utf-8")
    if "{cite" in source:
        assert re.search(r"\(\[[^\]]+\]\([^)]*references\.html#cite-", text), "citations in round brackets"
    assert not re.search(r"\[\[[^\]]+\]\([^)]*#cite-", text), "a citation in square brackets"
    # Captions as text, cross-references as numbers.
    assert re.search(r"^\*\*Fig\. \d+\.\d+\.\*\* ", text, re.M), "figure captions"
    assert "[Fig. " in text or "[Table " in text or "{numref}" not in (ROOT / f"{name}.md").read_text()


@pytest.mark.build
@pytest.mark.parametrize("name", CHAPTERS)
def test_teacher_notebook_has_every_solution(site, name):
    nb = teacher(site, name)
    text = all_text(nb)
    assert not leftovers(text), leftovers(text)[:10]
    missing = [s for s in solutions(name) if s not in text]
    assert not missing, f"solutions missing from the teacher notebook: {missing[:3]}"
    assert nb.metadata["defection_explained"]["edition"] == "teacher"


@pytest.mark.build
def test_notebook_links_resolve_in_the_built_site(site):
    base = None
    bad = []
    for name in CHAPTERS:
        for nb in (student(site, name), teacher(site, name)):
            base = base or nb.metadata["defection_explained"]["page"].rsplit("chapters/", 1)[0]
            for cell in nb.cells:
                if cell.cell_type != "markdown":
                    continue
                for url in re.findall(r"\]\(([^)\s]+)\)", cell.source):
                    if not url.startswith(base):
                        if urlparse(url).scheme in ("http", "https"):
                            continue  # an external source, checked by the link check of the site
                        bad.append((name, url, "relative link"))
                        continue
                    path, _, anchor = url[len(base):].partition("#")
                    page = site / path
                    if not page.is_file():
                        bad.append((name, url, "no such page"))
                    elif anchor and f'id="{anchor}"' not in page.read_text(encoding="utf-8"):
                        bad.append((name, url, "no such anchor"))
    assert not bad, bad[:10]


@pytest.fixture(scope="session")
def fresh_kernel(site, tmp_path_factory):
    """A virtual environment with only ipykernel and the book's wheel, and a kernel spec for it."""
    venv = tmp_path_factory.mktemp("fresh") / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    py = venv / "bin" / "python"
    wheel = next((site / "downloads").glob("defection-*.whl"))
    pins = tmp_path_factory.mktemp("pins") / "constraints.txt"
    pins.write_text("\n".join(re.findall(r"^([A-Za-z0-9_.\-]+==[^\s\\]+)", (ROOT / "requirements.txt").read_text(),
                                         re.M)) + "\n")
    subprocess.run([str(py), "-m", "pip", "install", "--quiet", "-c", str(pins), "ipykernel", str(wheel)],
                   check=True, cwd=venv.parent)
    jupyter = venv.parent / "jupyter"
    subprocess.run([str(py), "-m", "ipykernel", "install", "--prefix", str(jupyter), "--name", "dx-fresh"],
                   check=True, capture_output=True)
    listing = subprocess.run([str(py), "-m", "pip", "list", "--format=json"], capture_output=True, text=True,
                             check=True)
    names = {p["name"].lower() for p in json.loads(listing.stdout)}
    assert "defection" in names and "myst-nb" not in names and "jupyter-book" not in names
    return {"JUPYTER_PATH": str(jupyter / "share" / "jupyter")}


@pytest.fixture(scope="session")
def bare_kernel(tmp_path_factory):
    """A virtual environment with Jupyter's kernel and the package's dependencies, but not the
    book's package: what a student has who has never installed it."""
    venv = tmp_path_factory.mktemp("bare") / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    py = venv / "bin" / "python"
    pins = tmp_path_factory.mktemp("bare-pins") / "constraints.txt"
    pins.write_text("\n".join(re.findall(r"^([A-Za-z0-9_.\-]+==[^\s\\]+)", (ROOT / "requirements.txt").read_text(),
                                         re.M)) + "\n")
    deps = ["ipykernel", *tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]]
    subprocess.run([str(py), "-m", "pip", "install", "--quiet", "-c", str(pins), *deps], check=True, cwd=venv.parent)
    jupyter = venv.parent / "jupyter"
    subprocess.run([str(py), "-m", "ipykernel", "install", "--prefix", str(jupyter), "--name", "dx-bare"],
                   check=True, capture_output=True)
    return {"JUPYTER_PATH": str(jupyter / "share" / "jupyter")}


@pytest.mark.build
def test_setup_cell_installs_its_own_version_from_the_copy_the_override_names(site, bare_kernel, tmp_path):
    """DEFECTION_BOOK_URL points the set-up cell at a copy of the site (here: the built site on
    127.0.0.1, as `make serve` or a school mirror serves it); it installs this notebook's version."""
    from conftest import serve

    nb = student(site, CHAPTERS[0])
    setup = next(c for c in nb.cells if c.cell_type == "code")
    assert "DEFECTION_BOOK_URL" in setup.source
    check = nbformat.v4.new_code_cell("import defection, pathlib\n"
                                      "print('version', defection.__version__)\n"
                                      "print('from', pathlib.Path(defection.__file__).parent)")
    probe = nbformat.v4.new_notebook(cells=[setup, check], metadata=nb.metadata)
    with serve(site) as base:
        run(probe, tmp_path, kernel="dx-bare", extra_env={**bare_kernel, "DEFECTION_BOOK_URL": base,
                                                             "DEFECTION_DATA": ""})
    text = "".join(o.get("text", "") for c in probe.cells for o in c.outputs if o.output_type == "stream")
    version = re.search(r'^version = "([^"]+)"', (ROOT / "pyproject.toml").read_text(), re.M).group(1)
    assert f"Installing the book's package from {base.rstrip('/')}/downloads/defection-{version}-py3-none-any.whl" \
        in text, text
    assert f"version {version}" in text and str(ROOT) not in text, text


def chart_outputs(nb) -> int:
    return sum(1 for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
               if any(k.startswith("application/vnd.vegalite") for k in o.get("data", {})))


@pytest.mark.build
@pytest.mark.parametrize("edition", ["student", "teacher"])
@pytest.mark.parametrize("name", CHAPTERS)
def test_notebook_runs_in_a_fresh_environment(site, fresh_kernel, tmp_path, name, edition):
    nb = student(site, name) if edition == "student" else teacher(site, name)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = []
    run(nb, tmp_path, kernel="dx-fresh", extra_env={**fresh_kernel, "DEFECTION_DATA": ""})
    assert chart_outputs(nb) >= 3, "the charts appear as outputs"
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert not errors


@pytest.mark.build
def test_notebook_stops_with_one_sentence_when_data_is_missing(site, fresh_kernel, tmp_path):
    nb = student(site, CHAPTERS[0])
    with pytest.raises(CellExecutionError) as info:
        run(nb, tmp_path, kernel="dx-fresh", extra_env={**fresh_kernel, "DEFECTION_DATA": str(tmp_path / "nowhere")})
    message = str(info.value)
    assert "SystemExit" in message and "needs the book's defection package" in message and "pip install" in message
    assert "Traceback (most recent call last)" not in message
    executed = [c for c in nb.cells if c.cell_type == "code" and c.get("execution_count")]
    assert len(executed) == 1, "execution stops at the set-up cell"


@pytest.mark.parametrize("name", CHAPTERS)
def test_chapter_source_runs_from_an_unrelated_folder(name, tmp_path):
    run(jupytext.read(ROOT / f"{name}.md"), tmp_path)
