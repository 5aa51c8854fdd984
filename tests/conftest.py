"""Shared fixtures: the repository, the built site, a 127.0.0.1 server, Chromium."""
from __future__ import annotations

import contextlib
import functools
import os
import shutil
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
SITE = Path(os.environ.get("DX_SITE", ROOT / "_build" / "html"))
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")


def toc_docnames(book: Path = ROOT) -> list[str]:
    """Every page named in the book's _toc.yml, root first."""
    toc = yaml.safe_load((Path(book) / "_toc.yml").read_text())
    names = [toc["root"]]

    def walk(entries):
        for entry in entries or []:
            if "file" in entry:
                names.append(entry["file"])
            walk(entry.get("sections"))
            walk(entry.get("chapters"))

    for part in toc.get("parts", []):
        walk(part.get("chapters"))
    walk(toc.get("chapters"))
    return [str(Path(n).with_suffix("")) for n in names]


def pdf_name(docname: str) -> str:
    """Where tools/pdf.py writes a page's PDF, relative to the PDF folder: chapters/x -> x.pdf,
    chapters/teachers/x -> teachers/x.pdf, intro -> intro.pdf."""
    path = Path(docname)
    if path.parts[0] == "chapters":
        path = path.relative_to("chapters")
    return str(path) + ".pdf"


def is_chapter(docname: str) -> bool:
    """The numbered chapters: chapters/NN-*.md only (not chapters/teachers/NN-*.md)."""
    return Path(docname).parent == Path("chapters") and Path(docname).name[:2].isdigit()


def chapter_docnames(book: Path = ROOT) -> list[str]:
    return [n for n in toc_docnames(book) if is_chapter(n)]


@pytest.fixture(scope="session")
def site() -> Path:
    if not (SITE / "index.html").is_file():
        pytest.fail(f"no built site at {SITE}: run `make book` first (make test does this)")
    return SITE


#: Flags for headless Chromium on a machine with no outside network.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


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


@pytest.fixture(scope="session")
def server(site):
    with serve(site) as base:
        yield base


@pytest.fixture(scope="session")
def chromium_path() -> str:
    path = shutil.which(CHROMIUM) or (CHROMIUM if Path(CHROMIUM).is_file() else None)
    if not path:
        # Never skip: a browser test that cannot run is a failure (see DEVELOPERS guide).
        pytest.fail(f"Chromium not found at {CHROMIUM}: install Debian's `chromium` package "
                    "(apt-get install chromium) or set CHROMIUM to its path")
    return path


@pytest.fixture(scope="session")
def browser(chromium_path):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=chromium_path,
            args=CHROMIUM_ARGS,
        )
        yield b
        b.close()
