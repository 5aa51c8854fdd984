"""What the PDF printer, the benchmarks and the tests share about the built site:
the pages of the book (from ``_toc.yml``), a local 127.0.0.1 server, and how to
start Debian's Chromium on a machine with no outside network."""
from __future__ import annotations

import contextlib
import functools
import os
import shutil
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")

#: Flags for headless Chromium on a machine with no outside network: without the
#: background-networking ones it keeps trying to reach Google's hosts.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def toc_parts(book: Path = ROOT) -> list[tuple[str | None, list[str]]]:
    """The book's table of contents as (part caption, docnames), the root page first and
    uncaptioned, read by sphinx-external-toc (the parser jupyter-book itself uses)."""
    from sphinx_external_toc.parsing import parse_toc_yaml

    site = parse_toc_yaml(Path(book) / "_toc.yml")

    def walk(subtrees) -> list[str]:
        names = []
        for tree in subtrees:
            for item in tree.items:
                if isinstance(item, str):  # a page (URL and glob entries are objects)
                    names.append(item)
                    names += walk(site[item].subtrees)
        return names

    root = site.root.docname
    return [(None, [root])] + [(tree.caption, walk([tree])) for tree in site[root].subtrees]


def toc_docnames(book: Path = ROOT) -> list[str]:
    """Every page named in the book's _toc.yml, root first, in reading order."""
    return [name for _, names in toc_parts(book) for name in names]


def is_chapter(docname: str) -> bool:
    """The numbered chapters: chapters/NN-*.md only (not chapters/teachers/NN-*.md)."""
    return Path(docname).parent == Path("chapters") and Path(docname).name[:2].isdigit()


def chapter_docnames(book: Path = ROOT) -> list[str]:
    return [n for n in toc_docnames(book) if is_chapter(n)]


def pdf_name(docname: str) -> str:
    """Where tools/pdf.py writes a page's PDF, relative to the PDF folder: chapters/x -> x.pdf,
    chapters/teachers/x -> teachers/x.pdf, intro -> intro.pdf."""
    path = Path(docname)
    if path.parts[0] == "chapters":
        path = path.relative_to("chapters")
    return str(path) + ".pdf"


def find_chromium() -> str | None:
    return shutil.which(CHROMIUM) or (CHROMIUM if Path(CHROMIUM).is_file() else None)


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@contextlib.contextmanager
def serve(directory: Path):
    """Serve ``directory`` on a free 127.0.0.1 port; yields the base URL."""
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(directory)))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()


def build_cli(argv, doc: str, out_help: str, sphinx_main, build) -> int:
    """The command line shared by tools/build.py and tools/epub.py: ``--out`` and a hidden
    ``--source``, or ``--sphinx ARGS...`` when the tool re-runs itself for Sphinx in a
    child process; ``DX_VERBOSE=1`` keeps tracebacks."""
    import argparse
    import sys

    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--sphinx"]:
        return sphinx_main(*argv[1:])
    parser = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    parser.add_argument("--out", default=str(ROOT), help=out_help)
    parser.add_argument("--source", default=str(ROOT), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    verbose = os.environ.get("DX_VERBOSE", "") not in ("", "0")
    return build(Path(args.out).resolve(), Path(args.source).resolve(), verbose)
