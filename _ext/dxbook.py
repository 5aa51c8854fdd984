"""Local Sphinx extension for Defection Explained.

1. Offline charts. Chart cells render to ``<div class="dx-chart">`` blocks (see
   ``defection/charts.py``): a static SVG plus a compiled Vega spec. On pages
   that have such a block, and only there, this extension adds one deferred
   script, ``_static/dx-charts.js``, which loads the Vega runtime from
   ``_static/dx/vega.min.js`` (vendored, see ``_ext/static/dx/README.txt``) when
   a chart scrolls into view, so the site never asks another host for code.
2. Honest caching. jupyter-cache keys a notebook on its code cells only. This
   extension hashes ``data/`` and ``defection/``; when they change it clears
   the execution cache and marks every chapter outdated, so an edited data row
   always reaches the built pages.
3. Page hygiene: drops theme scripts the book does not use and that throw
   errors or cost weight, and adds page metadata (description, Open Graph).
"""
from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

from sphinx.application import Sphinx
from sphinx.builders.html._assets import _JavaScript
from sphinx.util import logging

logger = logging.getLogger(__name__)

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
STATIC = HERE / "static"
STAMP_NAME = "dx-inputs.sha256"


def input_dirs() -> list[Path]:
    """The folders whose contents chapters depend on besides their own code."""
    import defection
    from defection.paths import data_dir

    return [data_dir(), Path(defection.__file__).resolve().parent]


def inputs_digest() -> str:
    """SHA-256 over every file in data/ and defection/ (names and bytes)."""
    digest = hashlib.sha256()
    for folder in input_dirs():
        for path in sorted(folder.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                digest.update(path.name.encode())
                digest.update(path.read_bytes())
    return digest.hexdigest()


def _cache_dir(app: Sphinx) -> Path:
    configured = app.config.nb_execution_cache_path
    return Path(configured) if configured else Path(app.outdir).parent / ".jupyter_cache"


def _check_inputs(app: Sphinx, config) -> None:
    cache = _cache_dir(app)
    stamp = cache.parent / STAMP_NAME
    digest = inputs_digest()
    previous = stamp.read_text().strip() if stamp.is_file() else None
    app.dx_inputs_changed = previous != digest
    if app.dx_inputs_changed and previous is not None:
        logger.info("[dxbook] data/ or defection/ changed: clearing the execution cache %s", cache)
        shutil.rmtree(cache, ignore_errors=True)
    stamp.parent.mkdir(parents=True, exist_ok=True)
    stamp.write_text(digest + "\n")


def _outdated(app: Sphinx, env, added, changed, removed):
    if getattr(app, "dx_inputs_changed", False):
        return [d for d in env.found_docs if d not in added and d not in changed]
    return []


def _page_context(app: Sphinx, pagename, templatename, context, doctree):
    body = context.get("body", "")
    has_chart = 'class="dx-chart"' in body
    context["dx_has_chart"] = has_chart
    # sphinxcontrib-bibtex marks the bibliography role="list" but its entries
    # are not list items (axe: aria-required-children, critical).
    if 'class="citation-list"' in body:
        context["body"] = body.replace('<div role="list" class="citation-list">', '<div class="citation-list">')
    if has_chart:
        context["script_files"] = [*context.get("script_files", []),
                                   _JavaScript("_static/dx-charts.js", defer="defer")]
    # The thebe launcher is off (launch_buttons.thebe: false) but its config
    # script is still added, twice, which throws "Identifier 'THEBE_JS_URL'
    # has already been declared" and names a CDN. Drop it, and de-duplicate.
    keep, seen = [], set()
    for js in context.get("script_files", []):
        name = str(getattr(js, "filename", "") or "")
        body = str(getattr(js, "attributes", {}).get("body", ""))
        key = (name, body)
        if "thebe" in name or "THEBE" in body or key in seen:
            continue
        seen.add(key)
        keep.append(js)
    context["script_files"] = keep


def setup(app: Sphinx):
    app.connect("config-inited", _check_inputs)
    app.connect("env-get-outdated", _outdated)
    app.connect("html-page-context", _page_context)
    app.config.html_static_path.append(str(STATIC))
    app.add_css_file("dx.css")
    return {"version": "0.1", "parallel_read_safe": True, "parallel_write_safe": True}
