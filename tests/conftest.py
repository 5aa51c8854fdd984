"""Shared fixtures: the repository, the built site, a 127.0.0.1 server, Chromium."""
from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

# In-process Sphinx builds of the tiny books under tests/roots/ (tests/unit/).
pytest_plugins = ("sphinx.testing.fixtures",)

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from tools.sitekit import (CHROMIUM, CHROMIUM_ARGS, chapter_docnames, find_chromium, is_chapter,  # noqa: E402,F401
                           pdf_name, serve, toc_docnames)

#: The site under test: `make test OUT=dir` tests dir/_build/html (DX_SITE overrides).
SITE = Path(os.environ.get("DX_SITE") or Path(os.environ.get("DX_OUT", ROOT)) / "_build" / "html")
PDF_DIR = SITE / "pdf"  # make pdf prints into the site, which serves the PDFs


#: An init script that records Content-Security-Policy violations in window.__dxViolations.
#: (Init scripts run before the page's own and are not subject to its policy.)
WATCH_POLICY = """window.__dxViolations = [];
  document.addEventListener('securitypolicyviolation',
    e => window.__dxViolations.push(e.violatedDirective + ' ' + (e.blockedURI || 'inline')));"""


@pytest.fixture(scope="session")
def site() -> Path:
    if not (SITE / "index.html").is_file():
        pytest.fail(f"no built site at {SITE}: run `make book` first (make test does this)")
    return SITE


@pytest.fixture(scope="session")
def server(site):
    with serve(site) as base:
        yield base


def watched_page(browser, url: str, allow, viewport=None):
    """Open ``url`` in a new context that records console errors, page errors and policy
    violations (``window.__dxViolations``), and aborts, and records, every request whose URL
    ``allow(url)`` refuses. Returns (context, page, errors, refused)."""
    context = browser.new_context(viewport=viewport or {"width": 1280, "height": 900})
    page = context.new_page()
    errors, refused = [], []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.add_init_script(WATCH_POLICY)

    def guard(route):
        if allow(route.request.url):
            route.continue_()
        else:
            refused.append(route.request.url)
            route.abort()

    page.route("**/*", guard)
    page.goto(url, wait_until="load")
    return context, page, errors, refused


@pytest.fixture(scope="session")
def chromium_path() -> str:
    path = find_chromium()
    if not path:
        # Never skip: a browser test that cannot run must fail, or it could never fail.
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


def heading_titles(source: Path) -> dict[str, str]:
    """Heading ids and MyST labels of a chapter, mapped to the heading text, read from its
    MyST text: the fast tests' stand-in for the titles the build records from the doctree
    (``questions.section_titles``), which a build test compares with this."""
    import re

    from docutils.nodes import make_id

    titles, label, heading = {}, None, ""
    for line in source.read_text(encoding="utf-8").splitlines():
        m = re.match(r"^\(([\w-]+)\)=\s*$", line)
        if m:
            label = m.group(1)
            continue
        m = re.match(r"^:(?:name|label):\s*([\w-]+)\s*$", line)
        if m and heading:  # a named figure, table or exercise: titled by the section it is in
            titles.setdefault(m.group(1), heading)
            continue
        m = re.match(r"^#{1,4} (.+)$", line)
        if m:
            text = re.sub(r"\{[a-z:]+\}`([^`<]*)(?:<[^>]*>)?`", r"\1", m.group(1)).strip()
            titles[make_id(text)] = text  # the id docutils, and so Sphinx, gives the heading
            heading = text
            if label:
                titles[label] = text
        label = None if not m and line.strip() else label
    return titles
