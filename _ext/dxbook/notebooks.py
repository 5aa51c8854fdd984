"""The notebooks readers download: a student and a teacher notebook per chapter.

Made at build end from the notebook myst-nb executed (so numbers, tables and
charts are the page's own) and converted to plain Jupyter Markdown by
``mystconv``:

* ``_sources/<docname>.ipynb``: the **student** notebook, offered by the
  page's download menu. No solution text or code in it.
* ``notebooks/teacher/<name>.ipynb``: the **teacher** notebook, the same with
  every solution; linked from the teacher pages (and the teacher edition).

Both start with a set-up cell that finds the book's ``defection`` package (in a
checkout, or installed), installs the wheel the site serves when it is missing,
and otherwise stops with one clear sentence. The only URL in them comes from
the book's one public-URL setting (``html.baseurl`` in ``_config.yml``).
"""
from __future__ import annotations

import hashlib
import json
import posixpath
import re
from html import unescape
from pathlib import Path

from sphinx.application import Sphinx
from sphinx.util import logging

from .mystconv import Piece, Resolver, convert_cell

logger = logging.getLogger(__name__)

TEACHER_DIR = Path("notebooks") / "teacher"

SETUP_MARKDOWN = """**Before you run this notebook.** It uses the book's Python package, `defection`, which carries the
book's data. The next cell finds it (in a copy of the book, or already installed) or installs it from the
book's site, and stops with a message if it cannot. Read the chapter online: [{title}]({page_url}).
Text and data: CC BY 4.0. Code: MIT."""

SETUP_CODE = '''# Set-up: find or install the book's `defection` package (with its data), then check it.
import importlib
import importlib.util

WHEEL = "{wheel_url}"
if importlib.util.find_spec("defection") is None:
    print("Installing the book's package from", WHEEL)
    get_ipython().run_line_magic("pip", "install --quiet " + WHEEL)
    importlib.invalidate_caches()
try:
    import defection
    defection.data_dir()
except (ImportError, FileNotFoundError):
    raise SystemExit("This notebook needs the book's defection package and its data: install it with "
                     "pip install " + WHEEL + " (or run the notebook from a copy of the book), "
                     "then restart the kernel.") from None'''

ANSWER_CELL = "# Your answer here\n"

_FIGURE_CALL = re.compile(r'^glue\("(?P<key>[^"]+)",\s*(?P<expr>.+?)(?:,\s*display=(?:True|False))?\)\s*$', re.M)
_FACTS_LOOP = re.compile(r"^for \w+, \w+ in facts\.\w+\([^)]*\)\.items\(\):\n\s+glue\([^\n]*\)\n?", re.M)
_GLUE_IMPORT = re.compile(r"^from myst_nb import glue\n", re.M)
_CITE_LINK = re.compile(r'<a class="reference internal" href="(?:[./]*)references\.html#(cite-[^"]+)"[^>]*>(.*?)</a>', re.S)


def is_notebook(app: Sphinx, docname: str) -> bool:
    """A MyST notebook: myst-nb records its kernelspec in the page metadata."""
    return "kernelspec" in app.env.metadata.get(docname, {})


def site_url(app: Sphinx) -> str:
    base = app.config.html_baseurl or ""
    return base if base.endswith("/") else base + "/"


def wheel_url(app: Sphinx) -> str:
    from .publish import wheel_name

    return site_url(app) + "downloads/" + wheel_name()


class _Context:
    """What a chapter's roles resolve to, from the Sphinx environment and built HTML."""

    def __init__(self, app: Sphinx, docname: str, glue: dict):
        self.app, self.docname, self.glue_data = app, docname, glue
        self.env = app.env
        self.std = app.env.get_domain("std")
        self.base = site_url(app)
        html = (Path(app.outdir) / f"{docname}.html").read_text(encoding="utf-8")
        self.citations = {}
        for anchor, text in _CITE_LINK.findall(html):  # anchor: docutils' id for "cite-<key>"
            self.citations.setdefault(anchor, " ".join(unescape(re.sub(r"<[^>]+>", "", text)).split()))
        self.exercises = {}

    def url(self, docname: str, anchor: str = "") -> str:
        return f"{self.base}{docname}.html" + (f"#{anchor}" if anchor else "")

    def glue(self, key: str, fmt: str) -> str:
        from myst_nb.core.variables import format_plain_text

        data = self.glue_data[key]["data"]
        if "text/markdown" in data and "text/plain" not in data:
            return data["text/markdown"]
        return format_plain_text(data["text/plain"], fmt)

    def term(self, title: str, target: str) -> str:
        entry = self.std.objects.get(("term", target.lower())) or self.std.objects.get(("term", target))
        if not entry:
            return title
        return f"[{title}]({self.url(entry[0], entry[1])})"

    def cite(self, keys: list[str]) -> str:
        from docutils.nodes import make_id

        parts = []
        for key in keys:
            anchor = make_id("cite-" + key)
            parts.append(f"[{self.citations.get(anchor, key)}]({self.url('chapters/references', anchor)})")
        return "(" + "; ".join(parts) + ")"

    def _label(self, label: str):
        return self.std.labels.get(label) or self.std.anonlabels.get(label)

    def numref(self, label: str, title: str | None) -> str:
        found = self._label(label)
        if not found:
            return title or label
        docname, labelid = found[0], found[1]
        numbers = self.env.toc_fignumbers.get(docname, {})
        for figtype, prefix in (("figure", "Fig."), ("table", "Table"), ("code-block", "Listing")):
            if labelid in numbers.get(figtype, {}):
                number = ".".join(map(str, numbers[figtype][labelid]))
                text = (title or f"{prefix} {{number}}").replace("{number}", number).replace("%s", number)
                return f"[{text}]({self.url(docname, labelid)})"
        return f"[{title or label}]({self.url(docname, labelid)})"

    def ref(self, label: str, title: str | None) -> str:
        found = self._label(label)
        if not found:
            return title or label
        docname, labelid = found[0], found[1]
        text = title or (found[2] if len(found) > 2 and found[2] else label)
        return f"[{text}]({self.url(docname, labelid)})"

    def doc(self, target: str, title: str | None) -> str:
        if target.startswith("/"):
            docname = target.lstrip("/")
        else:
            docname = posixpath.normpath(posixpath.join(posixpath.dirname(self.docname), target))
        docname = docname[:-3] if docname.endswith(".md") else docname
        text = title or (self.env.titles[docname].astext() if docname in self.env.titles else target)
        return f"[{text}]({self.url(docname)})"

    def exercise(self, label: str) -> str:
        found = self._label(label)
        number = None
        if found:
            numbers = self.env.toc_fignumbers.get(found[0], {}).get("exercise", {})
            if found[1] in numbers:
                number = ".".join(map(str, numbers[found[1]]))
        if number is None:  # number them in order, as the page does
            number = f"{self.chapter_number()}.{len(self.exercises) + 1}"
        self.exercises[label] = f"Exercise {number}"
        return self.exercises[label]

    def chapter_number(self) -> int:
        secnums = self.env.toc_secnumbers.get(self.docname, {})
        first = secnums.get("") or next(iter(secnums.values()), (0,))
        return first[0] if first else 0

    def resolver(self) -> Resolver:
        return Resolver(glue=self.glue, term=self.term, cite=self.cite, numref=self.numref, ref=self.ref,
                        doc=self.doc, exercise=self.exercise, quiz=self.quiz)

    def quiz(self) -> str:
        name = Path(self.docname).name
        return (f"The self-check questions are on [the chapter's page]({self.url(self.docname, 'check-your-understanding')}),"
                " where each answer is checked at once, and on the printable "
                f"[worksheet]({self.base}worksheets/{name}.html).")


def _hidden(cell) -> bool:
    tags = cell.get("metadata", {}).get("tags", [])
    return bool({"remove-cell", "remove-input", "hide-input", "hide-cell"} & set(tags))


def _code_cell(nbformat, source: str, outputs=None, hidden=False):
    cell = nbformat.v4.new_code_cell(source)
    cell.outputs = list(outputs or [])
    if hidden:
        cell.metadata["jupyter"] = {"source_hidden": True}
    return cell


def build_notebooks(app: Sphinx, docname: str, executed, glue: dict):
    """(student, teacher) notebooks for one executed chapter."""
    import nbformat

    ctx = _Context(app, docname, glue)
    resolver = ctx.resolver()
    title = ctx.env.titles[docname].astext() if docname in ctx.env.titles else docname
    figures = {}
    for cell in executed.cells:
        if cell.cell_type == "code":
            for m in _FIGURE_CALL.finditer(cell.source):
                if m.group("key") in glue and m.group("key").startswith("fig"):
                    figures[m.group("key")] = m.group("expr")

    editions = {"student": [], "teacher": []}

    def add(cell, only=None):
        for edition in ([only] if only else editions):
            editions[edition].append(nbformat.from_dict(cell) if isinstance(cell, dict) else cell)

    in_solution, first_markdown = False, True
    for cell in executed.cells:
        if cell.cell_type == "markdown":
            for piece in convert_cell(cell.source, resolver):
                _emit(piece, add, figures, glue, nbformat, in_solution)
                if piece.kind == "solution-start":
                    in_solution = True
                    add(nbformat.v4.new_markdown_cell(f"**Solution to {ctx.exercises.get(piece.label, piece.label)}**"),
                        only="teacher")
                elif piece.kind == "solution-end":
                    in_solution = False
            if first_markdown:
                first_markdown = False
                add(nbformat.v4.new_markdown_cell(SETUP_MARKDOWN.format(title=title, page_url=ctx.url(docname))))
                add(_code_cell(nbformat, SETUP_CODE.format(wheel_url=wheel_url(app))))
            continue
        if cell.cell_type != "code":
            continue
        source = _GLUE_IMPORT.sub("", _FACTS_LOOP.sub("", cell.source))
        source = _FIGURE_CALL.sub(lambda m: "" if m.group("key") in figures else m.group(0), source)
        source = source.strip("\n")
        if not source.strip():
            continue
        outputs = [chart_output(o) for o in cell.get("outputs", []) if "scrapbook" not in o.get("metadata", {})]
        new = _code_cell(nbformat, source, outputs, hidden=_hidden(cell))
        add(new, only="teacher" if in_solution else None)

    out = []
    for edition, cells in editions.items():
        content_ids(cells)
        nb = nbformat.v4.new_notebook(cells=cells)
        nb.metadata["kernelspec"] = {"display_name": "Python 3", "language": "python", "name": "python3"}
        nb.metadata["language_info"] = {"name": "python"}
        nb.metadata["defection_explained"] = {"edition": edition, "page": ctx.url(docname)}
        nbformat.validate(nb)
        out.append(nb)
    return tuple(out)


def content_ids(cells) -> None:
    """Give every cell an id derived from its type and source (nbformat draws random ones),
    so the same chapter always gives the same notebook bytes. A repeated cell gets
    ``-2``, ``-3``, ... after the id of its first occurrence."""
    seen: dict[str, int] = {}
    for cell in cells:
        base = hashlib.sha256(f"{cell.cell_type}\0{cell.source}".encode("utf-8")).hexdigest()[:12]
        seen[base] = seen.get(base, 0) + 1
        cell["id"] = base if seen[base] == 1 else f"{base}-{seen[base]}"


def _emit(piece: Piece, add, figures: dict, glue: dict, nbformat, in_solution: bool) -> None:
    only = "teacher" if in_solution else None
    if piece.kind == "md":
        add(nbformat.v4.new_markdown_cell(piece.text), only=only)
    elif piece.kind == "figure":
        bundle = glue[piece.key]
        output = nbformat.v4.new_output("display_data", data=bundle["data"], metadata={})
        output = chart_output(output)
        add(_code_cell(nbformat, figures.get(piece.key, "# (chart)"), [output], hidden=True), only=only)
        add(nbformat.v4.new_markdown_cell(piece.text), only=only)
    elif piece.kind == "exercise":
        add(nbformat.v4.new_markdown_cell(piece.text))
        add(_code_cell(nbformat, ANSWER_CELL), only="student")


def chart_output(output):
    """A chart output as every notebook viewer can show it (charts.notebook_data); others unchanged."""
    from .charts import notebook_data

    found = notebook_data(output.get("data", {})) if output.get("output_type") in ("display_data", "execute_result") else None
    if found is None:
        return output
    output["data"], output["metadata"] = found
    return output


def teacher_notebook_path(docname: str) -> str:
    """Where a chapter's teacher notebook is served, relative to the site root."""
    return str(TEACHER_DIR / (Path(docname).name + ".ipynb"))


def _ipynb_context(app: Sphinx, pagename, templatename, context, doctree):
    if pagename in app.env.found_docs and is_notebook(app, pagename):
        context["ipynb_source"] = pagename + ".ipynb"


NOTEBOOK_BRANCH = "notebooks"


def _colab_link(app: Sphinx, pagename, templatename, context, doctree):
    """Colab cannot open MyST Markdown: point it at the student .ipynb, which the publish
    workflow (.github/workflows/publish.yml) pushes to the ``notebooks`` branch."""
    def walk(buttons):
        for button in buttons:
            walk(button.get("buttons", []))
            url = button.get("url", "")
            if url.startswith("https://colab.research.google.com/") and url.endswith(".md"):
                head, _, tail = url.partition("/blob/")
                branch, _, path = tail.partition("/")
                button["url"] = f"{head}/blob/{NOTEBOOK_BRANCH}/{path[:-3]}.ipynb"

    walk(context.get("header_buttons", []))


def with_outputs(app: Sphinx, nb):
    """The executed notebook with its outputs: in cache mode myst-nb writes the
    notebook without them, so take them from the execution cache (same code)."""
    if any(c.get("outputs") for c in nb.cells if c.cell_type == "code"):
        return nb
    from jupyter_cache import get_cache

    try:
        _, merged = get_cache(app.config.nb_execution_cache_path).merge_match_into_notebook(nb)
    except KeyError:
        raise RuntimeError("[dxbook] an executed notebook is neither in the execution cache nor has outputs") from None
    return merged


def write(app: Sphinx) -> None:
    """Every chapter's student and teacher notebook, into the site (called by finish.py)."""
    import nbformat

    executed_dir = Path(app.outdir).parent / "jupyter_execute"
    for docname in sorted(app.env.found_docs):
        if not is_notebook(app, docname):
            continue
        executed_path = executed_dir / f"{docname}.ipynb"
        if not executed_path.is_file():
            raise RuntimeError(f"[dxbook] no executed notebook for {docname} at {executed_path}")
        glue_path = executed_path.with_suffix(".glue.json")
        glue = json.loads(glue_path.read_text(encoding="utf-8")) if glue_path.is_file() else {}
        executed = with_outputs(app, nbformat.read(executed_path, as_version=4))
        student, teacher = build_notebooks(app, docname, executed, glue)
        for nb, target in ((student, Path(app.outdir) / "_sources" / f"{docname}.ipynb"),
                           (teacher, Path(app.outdir) / teacher_notebook_path(docname))):
            target.parent.mkdir(parents=True, exist_ok=True)
            nbformat.write(nb, target)


def setup(app: Sphinx) -> None:
    app.connect("html-page-context", _ipynb_context, priority=400)
    app.connect("html-page-context", _colab_link, priority=900)
