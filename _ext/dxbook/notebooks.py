"""``doctree-resolved``: each chapter's student and teacher notebook, from its resolved doctree.

When Sphinx has resolved a chapter's doctree for the site (every reference, figure and
exercise number, glossary term, citation, glued value and substitution already filled in),
:class:`NotebookTranslator` walks it and turns it into notebook cells; the two notebooks are
staged there and then (beside the doctrees, one pair per chapter, as Sphinx writes the page
itself: safe under parallel writing, and an incremental build remakes the notebooks of exactly
the pages it rewrites). :func:`write`, called from the one ``build-finished`` pass
(``finish``), copies them into the site: it must come after the pages are written, because
Sphinx copies the executed notebook to ``_sources/<docname>.ipynb`` with the page.

* ``_sources/<docname>.ipynb``: the **student** notebook, offered by the page's download
  menu. No solution text or code in it; each exercise is its prompt plus an empty code cell.
* ``notebooks/teacher/<name>.ipynb``: the **teacher** notebook, the same with every
  solution (titled, as on the page); linked from the teacher pages.

Where each part comes from:

* **Text** comes from the doctree only: one Markdown cell per section, or per group of
  paragraphs where a section is long (no cell over :data:`CELL_LIMIT` characters unless a
  single block is), admonitions as block quotes with a bold title, tables as Markdown tables,
  figures' captions as "**Fig. 1.2.** ..." with the number Sphinx gave the figure, and every
  link absolute to the site (``html.baseurl``), so it works from a downloaded file.
* **Code and outputs** come from the notebook myst-nb executed, by the cell index myst-nb
  records on each cell container in the doctree: the doctree has no cell tagged
  ``remove-cell`` (the chapters' set-up and glue cells, which the notebook needs to run) and
  keeps only the one output type the HTML builder chose. Those removed cells go in at their
  place (source lines of the doctree's nodes, mapped to cells by the executed notebook's
  ``source_map``), hidden, as do ``remove-input``/``hide-input`` cells; ``glue()`` calls are
  taken out (a glued chart is drawn by its own expression, above its caption); chart outputs
  become a PNG, the SVG and a one-line title (:func:`chart_output`, ``charts.notebook_data``).

Both notebooks start with a set-up cell that finds the book's ``defection`` package (in a
checkout, or installed), installs the wheel the site serves when it is missing, and otherwise
stops with one clear sentence. The only URL in them comes from the book's one public-URL
setting (``html.baseurl`` in ``_config.yml``).

Why a translator of our own: ``sphinx-markdown-builder`` (its ``MarkdownTranslator``) writes
one Markdown file per page through its own builder and config values, escapes for a Markdown
file rather than a notebook, makes links relative to ``.md`` files, and knows neither
myst-nb's cells and glued outputs nor sphinx-exercise's exercises and solutions, the three
things a notebook is made of; ``sphinx-tojupyter`` is a separate builder (a second Sphinx run)
for QuantEcon's reStructuredText conventions and its own config, and does not read myst-nb's
executed outputs either. The book uses few node types; the translator below handles each and
renders any other by its children (and warns), so nothing is lost silently.

The notebooks open unmodified in JupyterLab: on opening, JupyterLab starts the notebook's
kernel and writes that kernel's ``kernelspec`` and full ``language_info`` (with the Python
version) into the metadata, marking the notebook modified when they differ; today's notebooks
carried only ``{"name": "python"}``. Both are now copied from the executed notebook, i.e. as
the kernel that ran the chapter reported itself, so in the book's own environment (``make
lab``, the same kernel) nothing changes; a kernel with another display name or Python version
still gets its own values written, which no file can foresee. Cell ids come from content
(:func:`content_ids`).
"""
from __future__ import annotations

import bisect
import copy
import hashlib
import json
import re
from pathlib import Path
from urllib.parse import urljoin, urlparse

from docutils import nodes
from sphinx import addnodes
from sphinx.application import Sphinx
from sphinx.util import logging

from .finish import is_site_build
from .publish import wheel_name

logger = logging.getLogger(__name__)

TEACHER_DIR = Path("notebooks") / "teacher"

#: A Markdown cell grows by whole blocks (paragraphs, lists, quotes, tables) up to this size.
CELL_LIMIT = 2500

SETUP_MARKDOWN = """**Before you run this notebook.** It uses the book's Python package, `defection`, which carries the
book's data. The next cell finds it (in a copy of the book, or already installed) or installs this notebook's
own version of it from the book's site, and stops with a message if it cannot. If your school serves a copy
of the site (a mirror, or `make serve` on your own machine), set the environment variable
`DEFECTION_BOOK_URL` to its address (for example `http://127.0.0.1:8000/`) before starting Jupyter, and the
package is installed from there. Read the chapter online: [{title}]({page_url}).
Text and data: CC BY 4.0. Code: MIT."""

SETUP_CODE = '''# Set-up: find or install the book's `defection` package (with its data), then check it.
import importlib
import importlib.util
import os

# This notebook's own version of the package, from the book's site, or from the copy of the
# site that DEFECTION_BOOK_URL names (a school mirror, or `make serve`: http://127.0.0.1:8000/).
BOOK = os.environ.get("DEFECTION_BOOK_URL") or "{site_url}"
WHEEL = BOOK.rstrip("/") + "/downloads/{wheel}"
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

#: The notebook metadata JupyterLab writes for a Python 3 kernel (ipykernel's kernel_info);
#: a notebook that already has it is not marked modified when a kernel starts.
KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
LANGUAGE_INFO = {"codemirror_mode": {"name": "ipython", "version": 3}, "file_extension": ".py",
                 "mimetype": "text/x-python", "name": "python", "nbconvert_exporter": "python",
                 "pygments_lexer": "ipython3"}

_FIGURE_CALL = re.compile(r'^glue\("(?P<key>[^"]+)",\s*(?P<expr>.+?)(?:,\s*display=(?:True|False))?\)\s*$', re.M)
_FACTS_LOOP = re.compile(r"^for \w+, \w+ in facts\.\w+\([^)]*\)\.items\(\):\n\s+glue\([^\n]*\)\n?", re.M)
_GLUE_IMPORT = re.compile(r"^from myst_nb import glue\n", re.M)

#: What must never appear in a notebook: MyST roles, directives, colon fences, option
#: lines, targets. (The notebook tests use these.)
MYST_LEFTOVERS = [
    re.compile(r"\{[a-z]+(?::[a-z]+)?\}`"),       # a role
    re.compile(r"^\s*(`{3,}|:{3,})\{", re.M),       # a directive
    re.compile(r"^\s*:{3,}\s*$", re.M),             # a closing colon fence
    re.compile(r"^:(name|tags|label|class|header-rows|widths):", re.M),
    re.compile(r"^\([\w-]+\)=\s*$", re.M),          # a target
]


def leftovers(text: str) -> list[str]:
    return [m.group(0) for pattern in MYST_LEFTOVERS for m in pattern.finditer(text)]


def is_notebook(app: Sphinx, docname: str) -> bool:
    """A MyST notebook: myst-nb records its kernelspec in the page metadata."""
    return "kernelspec" in app.env.metadata.get(docname, {})


def site_url(app: Sphinx) -> str:
    base = app.config.html_baseurl or ""
    return base if base.endswith("/") else base + "/"


def teacher_notebook_path(docname: str) -> str:
    """Where a chapter's teacher notebook is served, relative to the site root."""
    return str(TEACHER_DIR / (Path(docname).name + ".ipynb"))


def _targets(app: Sphinx, docname: str) -> list[Path]:
    out = Path(app.outdir)
    return [out / "_sources" / f"{docname}.ipynb", out / teacher_notebook_path(docname)]


# --- Markdown from doctree nodes ---------------------------------------------------------

#: Sphinx's smartquotes turn the source's straight quotes into curly ones; the chapters are
#: written with straight quotes only, so the notebook gives them back as written.
_STRAIGHT = str.maketrans({"\u2019": "'", "\u2018": "'", "\u201c": '"', "\u201d": '"'})
_ESCAPE = re.compile(r"([\\*`$])|(?<![\w])_|_(?![\w])")


def _escape(text: str) -> str:
    text = text.translate(_STRAIGHT)
    return _ESCAPE.sub(lambda m: "\\" + m.group(0), text)


def _fence(text: str) -> str:
    ticks = max((len(t) for t in re.findall(r"`+", text)), default=0) + 1
    fence = "`" * ticks
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def _indent(text: str, first: str, rest: str) -> str:
    lines = text.split("\n")
    return "\n".join([first + lines[0]] + [(rest + line) if line.strip() else "" for line in lines[1:]])


class Markdown:
    """Renders doctree nodes as Jupyter (CommonMark) Markdown; links absolute to the site."""

    def __init__(self, page_url: str):
        self.page_url = page_url

    def url(self, node: nodes.Element) -> str:
        if node.get("refuri"):
            uri = node["refuri"]
            return uri if urlparse(uri).scheme else urljoin(self.page_url, uri)
        if node.get("refid"):
            return f"{self.page_url}#{node['refid']}"
        return ""

    # Inline --------------------------------------------------------------------------
    def inline(self, node: nodes.Node) -> str:
        if isinstance(node, nodes.Text):
            return _escape(node.astext())
        if isinstance(node, nodes.literal):
            return _fence(node.astext())
        if isinstance(node, (nodes.raw, nodes.comment, nodes.target, nodes.substitution_definition)):
            return ""
        inner = "".join(self.inline(child) for child in node.children)
        if isinstance(node, nodes.emphasis):
            return f"*{inner}*" if inner.strip() else inner
        if isinstance(node, nodes.strong):
            return f"**{inner}**" if inner.strip() else inner
        if isinstance(node, nodes.reference) or (
                isinstance(node, nodes.Element) and (node.get("refuri") or node.get("refid"))):
            url = self.url(node)
            return f"[{inner.strip()}]({url})" if url and inner.strip() else inner
        if isinstance(node, nodes.inline) and "bibtex-citation" in node.get("classes", []):
            # sphinxcontrib-bibtex writes [Author, year; ...]: the page shows it in round brackets.
            return "(" + inner.strip().removeprefix("[").removesuffix("]") + ")"
        if isinstance(node, nodes.math):
            return f"${node.astext()}$"
        if isinstance(node, nodes.image):
            return f"![{node.get('alt', '')}]({urljoin(self.page_url, node['uri'])})"
        return inner

    # Blocks --------------------------------------------------------------------------
    def block(self, node: nodes.Node) -> str:
        if isinstance(node, (nodes.paragraph, nodes.rubric)):
            return "".join(self.inline(c) for c in node.children).strip()
        if isinstance(node, (nodes.target, nodes.comment, nodes.substitution_definition, nodes.raw)):
            return ""
        if isinstance(node, addnodes.toctree):  # the book's navigation, not the chapter's text
            return ""
        if isinstance(node, (nodes.bullet_list, nodes.enumerated_list)):
            return "\n".join(self.list_items(node))
        if isinstance(node, nodes.Admonition):
            titles = [c for c in node.children if isinstance(c, nodes.title)]
            title = self.inline(titles[0]).strip() if titles else node.tagname.capitalize()
            body = self.blocks([c for c in node.children if not isinstance(c, nodes.title)])
            return _indent(f"**{title}**\n\n{body}", "> ", "> ").replace("\n\n", "\n>\n")
        if isinstance(node, nodes.block_quote):
            return _indent(self.blocks(node.children), "> ", "> ").replace("\n\n", "\n>\n")
        if isinstance(node, nodes.table):
            return self.table(node)
        if isinstance(node, nodes.literal_block):
            return f"```{node.get('language', '')}\n{node.astext()}\n```"
        if isinstance(node, nodes.section):
            titles = [c for c in node.children if isinstance(c, nodes.title)]
            head = "#### " + self.inline(titles[0]).strip() if titles else ""
            return self.blocks([head] + [c for c in node.children if not isinstance(c, nodes.title)])
        if isinstance(node, nodes.title):
            return f"**{self.inline(node).strip()}**"
        if isinstance(node, nodes.caption):
            return self.inline(node).strip()
        if isinstance(node, (nodes.container, nodes.compound, nodes.list_item, nodes.definition, nodes.legend)):
            return self.blocks(node.children)
        if isinstance(node, nodes.TextElement):
            return self.inline(node).strip()
        logger.warning("[dxbook] notebooks: no Markdown for %s; its text is kept", node.tagname, location=node)
        return self.blocks(node.children)

    def list_items(self, node: nodes.Element) -> list[str]:
        """Each item of a bullet or numbered list, with its marker."""
        items = []
        for n, item in enumerate(node.children, int(node.get("start", 1))):
            marker = f"{n}. " if isinstance(node, nodes.enumerated_list) else "- "
            items.append(_indent(self.blocks(item.children), marker, " " * len(marker)))
        return items

    def blocks(self, children) -> str:
        parts = [c if isinstance(c, str) else self.block(c) for c in children]
        return "\n\n".join(p for p in parts if p and p.strip())

    def table(self, node: nodes.table) -> str:
        def cells(row):
            return [" ".join(self.blocks(entry.children).split()).replace("|", "\\|") for entry in row.children]

        head = [cells(row) for thead in node.findall(nodes.thead) for row in thead.children]
        body = [cells(row) for tbody in node.findall(nodes.tbody) for row in tbody.children]
        width = max((len(r) for r in head + body), default=0)
        if not width:
            return ""
        fill = lambda r: r + [""] * (width - len(r))  # noqa: E731
        header = fill(head[0]) if head else [""] * width
        lines = ["| " + " | ".join(header) + " |", "|" + "---|" * width]
        lines += ["| " + " | ".join(fill(r)) + " |" for r in head[1:] + body]
        titles = [c for c in node.children if isinstance(c, nodes.title)]
        caption = f"**{self.inline(titles[0]).strip()}**\n\n" if titles else ""
        return caption + "\n".join(lines)


# --- the notebook translator ------------------------------------------------------------

def _hidden(cell) -> bool:
    tags = cell.get("metadata", {}).get("tags", [])
    return bool({"remove-cell", "remove-input", "hide-input", "hide-cell"} & set(tags))


def _is_cell(node) -> bool:
    return isinstance(node, nodes.container) and node.get("nb_element") == "cell_code"


class NotebookTranslator(nodes.NodeVisitor):
    """Walks a chapter's resolved doctree and collects its cells for both editions.

    Block nodes become Markdown (:class:`Markdown`), grouped into cells by section and size;
    myst-nb's code cells, glued figures, exercises, solutions and the quiz get cells of their
    own. ``cells`` holds ``(edition or None, cell)``: None for both editions."""

    def __init__(self, document, app: Sphinx, docname: str, executed, glue: dict):
        super().__init__(document)
        import nbformat

        self.nbformat, self.app, self.env, self.docname = nbformat, app, app.env, docname
        self.executed, self.glue = executed, glue
        self.page_url = site_url(app) + app.builder.get_target_uri(docname)
        self.md = Markdown(self.page_url)
        self.cells: list[tuple[str | None, object]] = []
        self._text: list[str] = []          # the Markdown cell being filled
        self._only: str | None = None       # "teacher" inside a solution
        self._level = 0
        self._setup_done = False
        self.source_map = list(executed.metadata.get("source_map") or [])
        rendered = {n["cell_index"] for n in document.findall(_is_cell)}
        self._pending = [i for i, c in enumerate(executed.cells) if c.cell_type == "code" and i not in rendered]
        self.figures = {}
        for cell in executed.cells:
            if cell.cell_type == "code":
                for m in _FIGURE_CALL.finditer(cell.source):
                    if m.group("key") in glue and m.group("key").startswith("fig"):
                        self.figures[m.group("key")] = m.group("expr")

    # Cells -----------------------------------------------------------------------------
    def _add(self, cell, only=None) -> None:
        self._flush()
        self.cells.append((only or self._only, cell))

    def _flush(self) -> None:
        text = "\n\n".join(self._text).strip("\n")
        self._text = []
        if text.strip():
            self.cells.append((self._only, self.nbformat.v4.new_markdown_cell(text)))
            if not self._setup_done:  # the set-up cells follow the chapter's opening text
                self._setup_done = True
                title = self.env.titles[self.docname].astext() if self.docname in self.env.titles else self.docname
                self.cells.append((None, self.nbformat.v4.new_markdown_cell(
                    SETUP_MARKDOWN.format(title=title, page_url=self.page_url))))
                self.cells.append((None, self._code(SETUP_CODE.format(site_url=site_url(self.app), wheel=wheel_name()))))

    def _markdown(self, text: str, node, new_cell=False) -> None:
        self._removed_before(self._cell_of(node))
        if not text.strip():
            return
        size = sum(len(t) + 2 for t in self._text)
        if new_cell or (self._text and size + len(text) > CELL_LIMIT):
            self._flush()
        self._text.append(text)

    def _cell_of(self, node) -> int:
        """The executed notebook's cell a node comes from, by its source line."""
        if _is_cell(node):
            return node["cell_index"]
        line = node.line or next((n.line for n in node.findall(nodes.Element) if n.line), None)
        if line is None or not self.source_map:
            return -1
        return max(bisect.bisect_left(self.source_map, line) - 1, 0)

    def _removed_before(self, index: int) -> None:
        """The code cells myst-nb left out of the doctree (``remove-cell``) before cell ``index``."""
        while self._pending and self._pending[0] < index:
            self._code_from(self.executed.cells[self._pending.pop(0)])

    def _code(self, source: str, outputs=(), hidden=False):
        cell = self.nbformat.v4.new_code_cell(source)
        cell.outputs = list(outputs)
        if hidden:
            cell.metadata["jupyter"] = {"source_hidden": True}
        return cell

    def _code_from(self, cell) -> None:
        source = _GLUE_IMPORT.sub("", _FACTS_LOOP.sub("", cell.source))
        source = _FIGURE_CALL.sub(lambda m: "" if m.group("key") in self.figures else m.group(0), source)
        source = source.strip("\n")
        if not source.strip():
            return
        outputs = [chart_output(o) for o in whole_streams(cell.get("outputs", []))
                   if "scrapbook" not in o.get("metadata", {})]
        self._add(self._code(source, outputs, hidden=_hidden(cell)))

    def finish(self) -> None:
        self._removed_before(len(self.executed.cells))
        self._flush()

    # Visitors --------------------------------------------------------------------------
    def unknown_visit(self, node) -> None:
        """Any other block: Markdown, into the current cell."""
        self._markdown(self.md.block(node), node)
        raise nodes.SkipNode

    def unknown_departure(self, node) -> None:
        pass

    def visit_document(self, node) -> None:
        pass

    def visit_section(self, node) -> None:
        self._level += 1
        titles = [c for c in node.children if isinstance(c, nodes.title)]
        if titles:
            heading = "#" * min(self._level, 6) + " " + self.md.inline(titles[0]).strip()
            self._markdown(heading, node, new_cell=True)

    def depart_section(self, node) -> None:
        self._level -= 1

    def visit_title(self, node) -> None:
        raise nodes.SkipNode  # a section's title is its heading

    def visit_bullet_list(self, node) -> None:
        """A list: whole in a cell if it fits, else split between items."""
        items = self.md.list_items(node)
        group: list[str] = []
        for item in items:
            if group and sum(len(i) + 1 for i in group) + len(item) > CELL_LIMIT:
                self._markdown("\n".join(group), node)
                self._flush()
                group = []
            group.append(item)
        self._markdown("\n".join(group), node)
        raise nodes.SkipNode

    visit_enumerated_list = visit_bullet_list

    def visit_container(self, node) -> None:
        if not _is_cell(node):
            return  # its children are visited
        self._removed_before(node["cell_index"])
        self._code_from(self.executed.cells[node["cell_index"]])
        raise nodes.SkipNode

    def visit_raw(self, node) -> None:
        raise nodes.SkipNode

    def visit_dx_quiz(self, node) -> None:
        name = Path(self.docname).name
        self._markdown(
            f"The self-check questions are on [the chapter's page]({self.page_url}#check-your-understanding),"
            " where each answer is checked at once, and on the printable "
            f"[worksheet]({site_url(self.app)}worksheets/{name}.html).", node, new_cell=True)
        raise nodes.SkipNode

    def visit_figure(self, node) -> None:
        key = next((i for i in node["ids"] if i in self.glue), None)
        self._removed_before(self._cell_of(node))
        if key is None:  # a figure that is no glued chart: its image and caption as text
            self._markdown(self.md.blocks(node.children), node)
            raise nodes.SkipNode
        bundle = self.glue[key]
        output = chart_output(self.nbformat.v4.new_output("display_data", data=bundle["data"], metadata={}))
        self._add(self._code(self.figures.get(key, "# (chart)"), [output], hidden=True))
        caption = self.md.blocks([c for c in node.children if isinstance(c, (nodes.caption, nodes.legend))])
        caption = " ".join(caption.split("\n")) if "\n\n" not in caption else caption
        number = self._number("figure", node["ids"])
        self._markdown(f"**{number}.** {caption}" if number else caption, node, new_cell=True)
        self._flush()
        raise nodes.SkipNode

    def _number(self, figtype: str, ids) -> str:
        numbers = self.env.toc_fignumbers.get(self.docname, {}).get(figtype, {})
        for i in ids:
            if i in numbers:
                number = ".".join(map(str, numbers[i]))
                fmt = self.app.config.numfig_format.get(figtype, "%s") if figtype != "exercise" else "Exercise %s"
                return fmt % number
        return ""

    def visit_exercise_enumerable_node(self, node) -> None:
        self._removed_before(self._cell_of(node))
        number = self._number("exercise", node["ids"])
        if not number:  # number them in order, as the page does
            secnums = self.env.toc_secnumbers.get(self.docname, {})
            first = secnums.get("") or next(iter(secnums.values()), (0,))
            done = sum(1 for _, c in self.cells if c.get("source", "").startswith("**Exercise "))
            number = f"Exercise {first[0] if first else 0}.{done + 1}"
        prompt = self.md.blocks([c for c in node.children if not isinstance(c, nodes.title)])
        self._markdown(f"**{number}.** {prompt}", node, new_cell=True)
        self._flush()
        self._add(self._code(ANSWER_CELL), only="student")
        raise nodes.SkipNode

    visit_exercise_unenumerable_node = visit_exercise_enumerable_node

    def visit_solution_node(self, node) -> None:
        self._removed_before(self._cell_of(node))
        self._flush()
        self._only = "teacher"
        titles = [c for c in node.children if isinstance(c, nodes.title)]
        title = " ".join(titles[0].astext().split()) if titles else "Solution"
        self._markdown(f"**{title}**", node, new_cell=True)

    def depart_solution_node(self, node) -> None:
        self._flush()
        self._only = None

    def visit_exercise_title(self, node) -> None:
        raise nodes.SkipNode

    visit_solution_title = visit_exercise_title


def build_notebooks(app: Sphinx, docname: str, doctree: nodes.document, executed, glue: dict):
    """(student, teacher) notebooks for one chapter, from its resolved doctree and executed notebook."""
    import nbformat

    translator = NotebookTranslator(doctree, app, docname, executed, glue)
    doctree.walkabout(translator)
    translator.finish()
    out = []
    for edition in ("student", "teacher"):
        cells = [cell for only, cell in translator.cells if only in (None, edition)]
        cells = [nbformat.from_dict(json.loads(json.dumps(c))) for c in cells]  # no cell shared by both
        content_ids(cells)
        nb = nbformat.v4.new_notebook(cells=cells)
        # As the kernel that ran the chapter reported itself (nbclient records it): what
        # JupyterLab writes on opening, so a kernel of the same kind finds nothing to change.
        for key, default in (("kernelspec", KERNELSPEC), ("language_info", LANGUAGE_INFO)):
            nb.metadata[key] = json.loads(json.dumps(executed.metadata.get(key) or default))
        nb.metadata["defection_explained"] = {"edition": edition, "page": translator.page_url}
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


def whole_streams(outputs: list) -> list:
    """Consecutive pieces of one stream joined exactly, as one output.

    A kernel may send a cell's printed text in pieces, cut at a place that
    depends on timing; joined, the output is the same in every build. (myst-nb's
    own ``coalesce_streams`` strips whitespace at each cut, so the result would
    still depend on where the cut fell; the build's kernels send whole streams,
    see cache.STARTUP, and this keeps a notebook right if one did not.)
    """
    joined: list = []
    for output in outputs:
        last = joined[-1] if joined else None
        if (output.get("output_type") == "stream" and last is not None
                and last.get("output_type") == "stream" and last.get("name") == output.get("name")):
            joined[-1] = copy.copy(last)  # the executed notebook's own outputs stay as they were
            joined[-1]["text"] = "".join(last["text"]) + "".join(output["text"])
        else:
            joined.append(output)
    return joined


def chart_output(output):
    """A chart output as every notebook viewer can show it (charts.notebook_data); others unchanged."""
    from .charts import notebook_data

    found = notebook_data(output.get("data", {})) if output.get("output_type") in ("display_data", "execute_result") else None
    if found is None:
        return output
    output["data"], output["metadata"] = found
    return output


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


def _executed(app: Sphinx, docname: str):
    import nbformat

    executed_path = Path(app.outdir).parent / "jupyter_execute" / f"{docname}.ipynb"
    if not executed_path.is_file():
        raise RuntimeError(f"[dxbook] no executed notebook for {docname} at {executed_path}")
    glue_path = executed_path.with_suffix(".glue.json")
    glue = json.loads(glue_path.read_text(encoding="utf-8")) if glue_path.is_file() else {}
    return with_outputs(app, nbformat.read(executed_path, as_version=4)), glue


def _staged(app: Sphinx, docname: str) -> list[Path]:
    """Where a chapter's two notebooks wait for build end: beside the doctrees (kept between builds)."""
    stage = Path(app.doctreedir) / "dx-notebooks"
    return [stage / f"{docname}.{edition}.ipynb" for edition in ("student", "teacher")]


def _doctree_resolved(app: Sphinx, doctree: nodes.document, docname: str) -> None:
    if not is_site_build(app) or not is_notebook(app, docname):
        return
    import nbformat

    executed, glue = _executed(app, docname)
    for nb, target in zip(build_notebooks(app, docname, doctree, executed, glue), _staged(app, docname)):
        target.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, target)


def write(app: Sphinx) -> None:
    """Build end: put every chapter's notebooks in the site. They are made when the chapter's
    doctree is resolved (staged beside the doctrees, so a chapter not rewritten in this build
    keeps its last ones); they are copied in here because Sphinx puts the executed notebook at
    ``_sources/<docname>.ipynb`` while it writes the page, after ``doctree-resolved``. A
    chapter with no staged notebooks has its doctree resolved again (``doctree-resolved``)."""
    if not is_site_build(app):
        return
    import shutil

    for docname in sorted(app.env.found_docs):
        if not is_notebook(app, docname):
            continue
        staged = _staged(app, docname)
        if not all(path.is_file() for path in staged):
            app.env.get_and_resolve_doctree(docname, app.builder)  # emits doctree-resolved
        for source, target in zip(staged, _targets(app, docname)):
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target)


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


def setup(app: Sphinx) -> None:
    app.connect("html-page-context", _ipynb_context, priority=400)
    app.connect("html-page-context", _colab_link, priority=900)
    # After other extensions' handlers (sphinx-exercise numbers, bibtex), so the tree is final.
    app.connect("doctree-resolved", _doctree_resolved, priority=900)
