"""``html-page-context``, ``env-get-outdated``: each page's "Last updated" date from git, never from the build.

`sphinx-last-updated-by-git <https://pypi.org/project/sphinx-last-updated-by-git/>`_
(listed in ``_config.yml``) dates a page by the last commit that changed its
source or a file Sphinx records it depends on: an ``{include}``-d file
(``CHANGELOG.md`` on the changes page), a chapter's question bank, the data
files the data page serves. The theme's footer shows that date
(``html_last_updated_fmt``); ``templates/last-updated.html`` replaces the
theme's footer item to put it in a ``<time datetime>`` element and link the
page of changes and corrections. Dates are in UTC, so every machine builds the
same page.

The extension dates only the pages Sphinx reads again, so after a commit an
unchanged page would keep its old date (or none) in an incremental build. Before
reading, this asks git for each page's last commit (one ``git log`` per page, a
fraction of a second) and has Sphinx read again, and so write again, every page
whose date changed.

A page not committed yet shows no date, and the build does not fail: neither in a
checkout without git (a source archive) nor in a shallow clone, which lacks the
history to date files changed before its one commit (``suppress_warnings`` in
``_config.yml``; CI needs a full clone, ``fetch-depth: 0``). The site tests
fail on a page without its git date, so a shallow CI checkout is caught there.
"""
from __future__ import annotations

import subprocess
from datetime import datetime, timezone
from pathlib import Path

from sphinx.application import Sphinx

#: The page that lists every change and correction (chapters/changes.md).
CHANGES_DOC = "chapters/changes"


def updated_iso(app: Sphinx, pagename: str) -> str:
    """The page's git date as YYYY-MM-DD, or "" when git gave none."""
    entry = getattr(app.env, "git_last_updated", {}).get(pagename)
    if not entry or entry[0] is None:
        return ""
    when = datetime.fromtimestamp(int(entry[0]), timezone.utc)
    # The same conversion as the footer's date (None would be the machine's zone; _config.yml says UTC).
    return when.astimezone(getattr(app.config, "git_last_updated_timezone", None)).date().isoformat()


def _page_context(app: Sphinx, pagename, templatename, context, doctree) -> None:
    context["dx_updated_iso"] = updated_iso(app, pagename)
    has_changes = CHANGES_DOC in app.env.all_docs and pagename != CHANGES_DOC
    context["dx_changes_href"] = context["pathto"](CHANGES_DOC) if has_changes else ""


def _git(srcdir: Path, *args: str) -> str | None:
    try:
        done = subprocess.run(["git", *args], cwd=srcdir, capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def git_stamp(env, docname: str) -> int | None:
    """When the last commit changing the page's source or its dependencies was made (its author date)."""
    srcdir = Path(env.srcdir)
    files = [env.doc2path(docname)] + [str((srcdir / dep).resolve()) for dep in env.dependencies.get(docname, ())]
    stamp = _git(srcdir, "log", "-1", "--format=%at", "--", *files)
    return int(stamp) if stamp else None


def _redate(app: Sphinx, env, added, changed, removed) -> list[str]:
    known = getattr(env, "git_last_updated", None)
    if not known or _git(Path(env.srcdir), "rev-parse", "--is-shallow-repository") != "false":
        return []  # a first build, no git, or a shallow clone (which cannot date every page)
    stale = []
    for docname, entry in known.items():
        if docname in added or docname in changed or docname not in env.found_docs:
            continue
        before = int(entry[0]) if entry and entry[0] is not None else None
        if git_stamp(env, docname) != before:
            stale.append(docname)
    return stale


def setup(app: Sphinx) -> None:
    app.connect("env-get-outdated", _redate)
    app.connect("html-page-context", _page_context)
