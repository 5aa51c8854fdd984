"""Downloadable notebooks: every notebook page offers an ``.ipynb`` made from its
MyST source with jupytext, whose first cells say how to get the package and the
data and stop with that message (not a traceback) when they are missing."""
from __future__ import annotations

from pathlib import Path

from sphinx.application import Sphinx


SETUP_MARKDOWN = """**Before you run this notebook.** It needs the book's `defection` package and its data.
Either work in a clone of the book (`git clone {repo}`, then `make lab`), or install both into
this environment by running `%pip install git+{repo}` in a cell, then restart the kernel.
Data and text: CC BY 4.0. Code: MIT. Online version: {url}"""

SETUP_CODE = """# Set-up check: stops with instructions if the book's package or data is missing.
try:
    import defection
    defection.data_dir()
except (ImportError, FileNotFoundError) as problem:
    raise SystemExit(
        "This chapter needs the book's `defection` package and its data (" + str(problem).split(". ")[0] + ").\\n"
        "Get them with:  %pip install git+{repo}  (then restart the kernel),\\n"
        "or clone the book:  git clone {repo}  and run  make lab"
    ) from None"""


def download_notebook(source: Path, repo: str, url: str):
    """The chapter as a plain notebook, with the set-up cells first."""
    import jupytext
    import nbformat

    nb = jupytext.read(source)
    nb.cells[:0] = [
        nbformat.v4.new_markdown_cell(SETUP_MARKDOWN.format(repo=repo, url=url)),
        nbformat.v4.new_code_cell(SETUP_CODE.format(repo=repo)),
    ]
    nb.metadata.pop("jupytext", None)
    nb.metadata["kernelspec"] = {"display_name": "Python 3", "language": "python", "name": "python3"}
    nbformat.validate(nb)
    return nb


def _is_notebook(app: Sphinx, docname: str) -> bool:
    """A MyST notebook: myst-nb records its kernelspec in the page metadata."""
    return "kernelspec" in app.env.metadata.get(docname, {})


def _ipynb_context(app: Sphinx, pagename, templatename, context, doctree):
    if pagename in app.env.found_docs and _is_notebook(app, pagename):
        context["ipynb_source"] = pagename + ".ipynb"


NOTEBOOK_BRANCH = "notebooks"


def _colab_link(app: Sphinx, pagename, templatename, context, doctree):
    """Colab cannot open MyST Markdown: point it at the generated .ipynb.

    The publish workflow (.github/workflows/publish.yml) pushes the downloadable
    notebooks to the ``notebooks`` branch; Colab opens them from there.
    """
    def walk(buttons):
        for button in buttons:
            walk(button.get("buttons", []))
            url = button.get("url", "")
            if url.startswith("https://colab.research.google.com/") and url.endswith(".md"):
                head, _, tail = url.partition("/blob/")
                branch, _, path = tail.partition("/")
                button["url"] = f"{head}/blob/{NOTEBOOK_BRANCH}/{path[:-3]}.ipynb"

    walk(context.get("header_buttons", []))


def _write_notebooks(app: Sphinx, exception) -> None:
    if exception is not None or app.builder.format != "html":
        return
    import nbformat

    repo = app.config.html_theme_options.get("repository_url", "") or "https://github.com/defection-explained/defection-explained"
    base = app.config.html_baseurl or ""
    for docname in sorted(app.env.found_docs):
        if not _is_notebook(app, docname):
            continue
        nb = download_notebook(Path(app.env.doc2path(docname)), repo, base + docname + ".html")
        target = Path(app.outdir) / "_sources" / (docname + ".ipynb")
        target.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, target)


def setup(app: Sphinx) -> None:
    app.connect("html-page-context", _ipynb_context, priority=400)
    app.connect("html-page-context", _colab_link, priority=900)
    app.connect("build-finished", _write_notebooks)
