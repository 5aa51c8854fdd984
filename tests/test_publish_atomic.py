"""A failed build publishes nothing; its reason is one short line naming file and line (issue 27).

``make book`` runs ``tools/build.py``: Sphinx builds into ``_build/.html.next``
and the published ``_build/html`` is replaced, in one step, only on success.
The fast tests check the swap and the reason finder on real output; the build
test breaks a citation in a private copy of the book, builds it over a copy of
the last good site, and compares that site before and after, byte for byte.
"""
from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT, SITE

sys.path.insert(0, str(ROOT))

from tools.build import STAGE, publish, reasons, seed  # noqa: E402


def snapshot(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_publish_replaces_the_site_in_one_step(tmp_path):
    live, stage = tmp_path / "html", tmp_path / STAGE
    (live / "old").mkdir(parents=True)
    (live / "index.html").write_text("old")
    (stage / "new").mkdir(parents=True)
    (stage / "index.html").write_text("new")
    publish(stage, live)
    assert snapshot(live) == snapshot(stage) == {"index.html": hashlib.sha256(b"new").hexdigest()}
    # The published site is a copy: the next build, writing in place, cannot change it.
    (stage / "index.html").write_text("half-written")
    assert (live / "index.html").read_text() == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["html", STAGE])


def test_first_publish_and_seed(tmp_path):
    live, stage = tmp_path / "html", tmp_path / STAGE
    stage.mkdir()
    (stage / "index.html").write_text("first")
    publish(stage, live)
    assert (live / "index.html").read_text() == "first"
    shutil.rmtree(stage)
    seed(stage, live)  # the scratch folder starts from the last good site, times kept
    assert snapshot(stage) == snapshot(live)
    assert (stage / "index.html").stat().st_mtime == (live / "index.html").stat().st_mtime


LOG = """\
\x1b[01mreading sources... \x1b[39;49;00m[  7%] chapters/01-how-defection-works
/book/chapters/01-how-defection-works.md:14: WARNING: could not find bibtex key "no-such-key-27" [bibtex.key_not_found]
\x1b[91mException occurred:\x1b[39;49;00m
  File "/book/_ext/dxbook/questions.py", line 87, in load_chapter
    raise BankError("...")
dxbook.questions.BankError: /book/questions/01-how-defection-works.yml, line 4, column 5: 'level' is a required property
/book/questions/01-how-defection-works.yml, line 35, column 5: 'goal' is a required property
\x1b[91mThe full traceback has been saved in /tmp/sphinx-err-x.log, if you want to report the issue to the developers.\x1b[39;49;00m
Traceback (most recent call last):
  File "/venv/jupyter_book/sphinx.py", line 167, in build_sphinx
    app.build(force_all, filenames)
\x1b[91mData error:\x1b[39;49;00m
data/cases.csv, row 3 (line 4), column 'note': '=1+1' begins with '='

"""


def test_reasons_are_the_located_lines_without_tracebacks():
    found = reasons(LOG, Path("/book"))
    assert found == [
        'chapters/01-how-defection-works.md:14: could not find bibtex key "no-such-key-27" [bibtex.key_not_found]',
        "questions/01-how-defection-works.yml, line 4, column 5: 'level' is a required property",
        "questions/01-how-defection-works.yml, line 35, column 5: 'goal' is a required property",
        "data/cases.csv, row 3 (line 4), column 'note': '=1+1' begins with '='",
    ]


@pytest.mark.build
def test_a_broken_citation_leaves_the_last_good_site_untouched(tmp_path):
    """Builds a private copy of the book with one citation broken, over a copy of the built
    site (and its execution cache, so nothing is executed again); needs the built site."""
    if not (SITE / "index.html").is_file():
        pytest.fail(f"no built site at {SITE}: run `make book` first")
    book = tmp_path / "book"
    shutil.copytree(ROOT, book, symlinks=True, ignore=shutil.ignore_patterns(
        "_build", ".venv", "lab", "lab-teacher", "node_modules", ".pytest_cache", "__pycache__"))
    chapter = book / "chapters" / "01-how-defection-works.md"
    text = chapter.read_text(encoding="utf-8")
    key = re.search(r"\{cite:p\}`([^`,]+)`", text).group(1)
    chapter.write_text(text.replace(f"{{cite:p}}`{key}`", "{cite:p}`no-such-key-27`", 1), encoding="utf-8")
    out = tmp_path / "out"
    (out / "_build").mkdir(parents=True)
    shutil.copytree(SITE, out / "_build" / "html", symlinks=True)
    if (SITE.parent / ".jupyter_cache").is_dir():
        shutil.copytree(SITE.parent / ".jupyter_cache", out / "_build" / ".jupyter_cache", symlinks=True)
    before = snapshot(out / "_build" / "html")
    env = {**os.environ, "DX_VERBOSE": "", "XDG_CACHE_HOME": str(tmp_path / "cache")}
    result = subprocess.run([sys.executable, str(ROOT / "tools" / "build.py"), "--out", str(out),
                             "--source", str(book)], capture_output=True, text=True, env=env, cwd=book)
    assert result.returncode == 1, result.stdout[-3000:]
    assert snapshot(out / "_build" / "html") == before
    tail = result.stdout[result.stdout.index("The build failed"):]
    assert re.search(r"chapters/01-how-defection-works\.md:\d+: could not find bibtex key \"no-such-key-27\"", tail), tail
    assert "Traceback" not in result.stdout
    assert len(tail.splitlines()) <= 6, tail


NOTEBOOK_LOG = """\
{book}/chapters/data.md: WARNING: Executing notebook failed: CellExecutionError
Traceback (most recent call last):
  File "/venv/nbclient/client.py", line 918, in _check_raise_for_error
nbclient.exceptions.CellExecutionError: An error occurred while executing the following cell:
------------------
undefined_name_probe_27 + 1
tables.case_browser(cases)
------------------

NameError                                 Traceback (most recent call last)
----> 1 undefined_name_probe_27 + 1
NameError: name 'undefined_name_probe_27' is not defined

 [mystnb.exec]
Exception occurred:
  File "/venv/myst_nb/core/execute/cache.py", line 89, in start_client
myst_nb.core.execute.base.ExecutionError: {book}/chapters/data.md
The full traceback has been saved in /tmp/sphinx-err-x.log, if you want to report the issue to the developers.
"""


def test_a_failing_code_cell_is_named_by_chapter_line_and_error(tmp_path):
    (tmp_path / "chapters").mkdir()
    (tmp_path / "chapters" / "data.md").write_text("# Data\n\n```{code-cell} ipython3\nundefined_name_probe_27 + 1\n"
                                                   "tables.case_browser(cases)\n```\n", encoding="utf-8")
    assert reasons(NOTEBOOK_LOG.format(book=tmp_path), tmp_path) == [
        "chapters/data.md:4: a code cell failed: NameError: name 'undefined_name_probe_27' is not defined"]


def test_pdfs_printed_into_the_site_are_carried_over(tmp_path):
    live, stage = tmp_path / "html", tmp_path / STAGE
    (live / "pdf").mkdir(parents=True)
    (live / "pdf" / "book.pdf").write_bytes(b"%PDF")
    stage.mkdir()
    (stage / "index.html").write_text("new")
    publish(stage, live)
    assert (live / "pdf" / "book.pdf").read_bytes() == b"%PDF"
    assert not (stage / "pdf").exists()
