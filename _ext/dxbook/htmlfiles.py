"""Shared helper for the modules that finish the written HTML at build end.

Sphinx has no event for "a page's final HTML was written", and the rewrites
done there (deferring scripts, hashing inline scripts for the content policy)
need the final bytes, so they run at ``build-finished`` over the written files.
They are small, surgical regular-expression edits of Sphinx's own output rather
than a parse and re-serialisation, which would change bytes that are hashed.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable


def rewrite_html(outdir: Path, edit: Callable[[str, str], str]) -> int:
    """Apply ``edit(pagename, html) -> html`` to every HTML file; returns files changed."""
    changed = 0
    outdir = Path(outdir)
    for path in sorted(outdir.rglob("*.html")):
        if "_static" in path.relative_to(outdir).parts:
            continue
        text = path.read_text(encoding="utf-8")
        pagename = str(path.relative_to(outdir).with_suffix(""))
        new = edit(pagename, text)
        if new != text:
            path.write_text(new, encoding="utf-8")
            changed += 1
    return changed
