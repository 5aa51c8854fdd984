"""Fixtures for the in-process extension tests: where the test roots are, and a clean
environment (no editions archive of the real book, no teacher edition) for every build."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
ROOTS = REPO / "tests" / "roots"
if str(REPO / "_ext") not in sys.path:
    sys.path.insert(0, str(REPO / "_ext"))


@pytest.fixture(scope="session")
def rootdir() -> Path:
    """``@pytest.mark.sphinx(testroot="x")`` builds a copy of ``tests/roots/test-x``."""
    return ROOTS


@pytest.fixture(autouse=True)
def _clean_build_env(monkeypatch, tmp_path_factory):
    """Builds see no editions archive but the test's own, and the student edition."""
    monkeypatch.setenv("DX_EDITIONS", str(tmp_path_factory.mktemp("no-editions")))
    monkeypatch.delenv("DX_TEACHER", raising=False)


@pytest.fixture(scope="session", autouse=True)
def _stop_forked_helpers():
    """sphinx-sitemap starts a multiprocessing Manager (a forked server process) in every Sphinx
    app these tests build, and it lives as long as the app. A forked child holds copies of the
    parent's pipes, Playwright's among them, so a session that also ran browser tests could wait
    for ever at its end for Playwright's driver to see its pipe close. Stop them first (this
    fixture is set up after the browser's, so it is torn down before it)."""
    yield
    import multiprocessing

    for child in multiprocessing.active_children():
        child.terminate()
        child.join(5)
