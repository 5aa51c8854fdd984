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
