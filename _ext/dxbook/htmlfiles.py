"""Shared helper for the modules that finish the written HTML at build end.

Sphinx has no event for "a page's final HTML was written", and the rewrites
done there (deferring scripts, hashing inline scripts for the content policy)
need the final bytes, so they run at ``build-finished`` over the written files.
They are small, surgical regular-expression edits of Sphinx's own output rather
than a parse and re-serialisation, which would change bytes that are hashed.
"""
from __future__ import annotations

import re
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


def remove_unlinked(outdir: Path, folder: str, pattern: str = "*") -> int:
    """Delete the files in ``outdir/folder`` matching ``pattern`` that no HTML page
    names (as ``folder/<file>``); returns how many. Build-made files are named by
    their content's hash, so an earlier build's leave unused; a page an incremental
    build did not write again still links to its own, which stay."""
    target = Path(outdir) / folder
    if not target.is_dir():
        return 0
    link = re.compile(re.escape(folder) + r"/([\w.-]+)")
    used: set[str] = set()
    for page in Path(outdir).rglob("*.html"):
        used.update(link.findall(page.read_text(encoding="utf-8")))
    stale = [path for path in target.glob(pattern) if path.is_file() and path.name not in used]
    for path in stale:
        path.unlink()
    return len(stale)
