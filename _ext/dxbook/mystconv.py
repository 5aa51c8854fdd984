"""MyST Markdown to plain Jupyter Markdown, for the notebooks students download.

JupyterLab, Colab and VS Code show MyST roles and directives verbatim. This
turns the book's MyST (as executed by myst-nb, one Markdown cell per stretch of
prose) into notebook cells that read like the web page:

* glued numbers become their values; ``{term}``, ``{cite:p}``, ``{numref}``,
  ``{ref}`` and ``{doc}`` become ordinary links to the published site;
* admonitions (learning goals, myth vs fact) become block quotes with a bold
  title; list tables become Markdown tables;
* ``{glue:figure}`` becomes the code that draws the chart, with its output, then
  the caption as text ("**Fig. 1.2.** ...");
* each exercise becomes its prompt plus an empty code cell; solutions are
  dropped from the student notebook and kept, titled, in the teacher notebook.

The conversion needs a small reader for MyST's block structure (fences of
backticks or colons with a ``{name}`` and ``:option:`` lines); no maintained
library turns MyST into CommonMark, so it is written here, for exactly the
constructs the book uses, and tests check that none survives.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Callable

ROLE = re.compile(r"\{(?P<name>[a-z]+(?::[a-z]+)?)\}`(?P<body>[^`]*)`")
FENCE_OPEN = re.compile(r"^(?P<fence>`{3,}|:{3,})\{(?P<name>[a-z:-]+)\}\s*(?P<arg>.*)$")
TARGET = re.compile(r"^\(([^)\s]+)\)=\s*$")


@dataclass
class Resolver:
    """How roles are rendered; supplied by the Sphinx build (see ``notebooks``)."""

    glue: Callable[[str, str], str]
    term: Callable[[str, str], str]
    cite: Callable[[list[str]], str]
    numref: Callable[[str, str | None], str]
    ref: Callable[[str, str | None], str]
    doc: Callable[[str, str | None], str]
    exercise: Callable[[str], str]
    quiz: Callable[[], str] = lambda: ""


@dataclass
class Block:
    """A directive: its name, argument, options, body lines."""

    name: str
    arg: str
    options: dict = field(default_factory=dict)
    body: list[str] = field(default_factory=list)


def split_target(text: str) -> tuple[str, str | None]:
    """``Title <target>`` -> (Title, target); ``target`` -> (target, None)."""
    m = re.match(r"^(.*?)\s*<([^<>]+)>$", text.strip(), re.S)
    return (m.group(1).strip(), m.group(2).strip()) if m else (text.strip(), None)


def convert_roles(text: str, r: Resolver) -> str:
    def one(m):
        name, body = m.group("name"), m.group("body")
        if name in ("glue", "glue:text", "glue:md"):
            key, _, fmt = body.partition(":")
            return r.glue(key.strip(), fmt)
        if name == "term":
            title, target = split_target(body)
            return r.term(title, target or title)
        if name in ("cite:p", "cite:t", "cite", "cite:ps", "cite:ts"):
            return r.cite([k.strip() for k in body.split(",") if k.strip()])
        if name == "numref":
            title, target = split_target(body)
            return r.numref(target or title, title if target else None)
        if name == "ref":
            title, target = split_target(body)
            return r.ref(target or title, title if target else None)
        if name == "doc":
            title, target = split_target(body)
            return r.doc(target or title, title if target else None)
        return m.group(0)  # unknown: left for the tests to find

    return ROLE.sub(one, text)


def parse_blocks(lines: list[str]):
    """Yield ``str`` lines and ``Block`` directives (nesting resolved by fence length)."""
    i = 0
    while i < len(lines):
        m = FENCE_OPEN.match(lines[i])
        if not m:
            yield lines[i]
            i += 1
            continue
        fence, char = m.group("fence"), m.group("fence")[0]
        block = Block(m.group("name"), m.group("arg").strip())
        i += 1
        while i < len(lines) and re.match(r"^:[\w-]+:", lines[i]):
            key, _, value = lines[i][1:].partition(":")
            block.options[key] = value.strip()
            i += 1
        while i < len(lines) and not (lines[i].startswith(char * len(fence)) and lines[i].strip(char) == ""
                                      and len(lines[i].strip()) == len(fence)):
            block.body.append(lines[i])
            i += 1
        i += 1  # the closing fence
        yield block


def list_table(block: Block, r: Resolver) -> list[str]:
    """A MyST list-table as a Markdown pipe table."""
    rows, row = [], None
    for line in block.body:
        if line.startswith("* - ") or line.strip() == "*":
            row = [line[4:].strip()] if line.startswith("* - ") else []
            rows.append(row)
        elif line.startswith("  - ") and row is not None:
            row.append(line[4:].strip())
        elif line.startswith("    ") and row:
            row[-1] += " " + line.strip()
    if not rows:
        return []
    width = max(len(x) for x in rows)
    cells = [[convert_roles(c, r).replace("|", "\\|") for c in x] + [""] * (width - len(x)) for x in rows]
    header_rows = int(block.options.get("header-rows", "0") or 0)
    head, body = (cells[0], cells[1:]) if header_rows else ([""] * width, cells)
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * width]
    out += ["| " + " | ".join(x) + " |" for x in body]
    caption = [f"**{convert_roles(block.arg, r)}**", ""] if block.arg else []
    return caption + out


def quote(lines: list[str]) -> list[str]:
    return [("> " + line) if line.strip() else ">" for line in lines]


@dataclass
class Piece:
    """Output of converting one Markdown cell: text, or a marker for a cell to insert."""

    kind: str               # "md", "figure", "exercise", "solution-start", "solution-end"
    text: str = ""
    key: str = ""           # glue key of a figure
    label: str = ""         # exercise label


def convert_cell(source: str, r: Resolver) -> list[Piece]:
    """One executed Markdown cell -> pieces (Markdown text and markers)."""
    pieces: list[Piece] = []
    buf: list[str] = []

    def flush():
        text = "\n".join(buf).strip("\n")
        if text.strip():
            pieces.append(Piece("md", text))
        buf.clear()

    def render(items) -> list[str]:
        out: list[str] = []
        for item in items:
            if isinstance(item, str):
                if TARGET.match(item) or item.lstrip().startswith("% "):
                    continue
                out.append(convert_roles(item, r))
                continue
            out.extend(render_block(item))
        return out

    def render_block(b: Block) -> list[str]:
        if b.name == "admonition" or b.name in ("note", "tip", "warning", "important", "caution", "seealso"):
            title = convert_roles(b.arg, r) if b.arg else b.name.capitalize()
            return [*quote([f"**{title}**", "", *render(list(parse_blocks(b.body)))]), ""]
        if b.name == "list-table":
            return [*list_table(b, r), ""]
        raise _Special(b)

    for item in parse_blocks(source.splitlines()):
        if isinstance(item, str):
            buf.extend(render([item]))
            continue
        try:
            buf.extend(render_block(item))
        except _Special as special:
            b = special.block
            flush()
            if b.name == "glue:figure":
                caption = " ".join(convert_roles(line, r) for line in b.body if line.strip())
                label = b.options.get("name", "")
                number = r.numref(label, None).split("](")[0].lstrip("[") if label else ""
                pieces.append(Piece("figure", key=b.arg, text=f"**{number}.** {caption}" if number else caption))
            elif b.name == "exercise":
                label = b.options.get("label", "")
                prompt = "\n".join(render(list(parse_blocks(b.body)))).strip()
                pieces.append(Piece("exercise", label=label, text=f"**{r.exercise(label)}.** {prompt}"))
            elif b.name == "solution-start":
                pieces.append(Piece("solution-start", label=b.arg))
            elif b.name == "solution-end":
                pieces.append(Piece("solution-end"))
            elif b.name == "dx-quiz":
                pieces.append(Piece("md", r.quiz()))
            elif b.name == "solution":
                pieces.append(Piece("solution-start", label=b.arg))
                body = "\n".join(render(list(parse_blocks(b.body)))).strip()
                if body:
                    pieces.append(Piece("md", body))
                pieces.append(Piece("solution-end"))
            else:
                pieces.append(Piece("md", "\n".join(render(b.body))))
    flush()
    return pieces


class _Special(Exception):
    def __init__(self, block: Block):
        self.block = block


#: What must never appear in a student notebook: MyST roles, directives, colon
#: fences, option lines. (Tests use these too.)
MYST_LEFTOVERS = [
    re.compile(r"\{[a-z]+(?::[a-z]+)?\}`"),       # a role
    re.compile(r"^\s*(`{3,}|:{3,})\{", re.M),       # a directive
    re.compile(r"^\s*:{3,}\s*$", re.M),             # a closing colon fence
    re.compile(r"^:(name|tags|label|class|header-rows|widths):", re.M),
    re.compile(r"^\([\w-]+\)=\s*$", re.M),          # a target
]


def leftovers(text: str) -> list[str]:
    return [m.group(0) for pattern in MYST_LEFTOVERS for m in pattern.finditer(text)]
