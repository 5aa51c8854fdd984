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
3. Downloads: every notebook page offers an ``.ipynb`` made from its MyST
   source with jupytext, whose first cells say how to get the package and the
   data and stop with that message (not a traceback) when they are missing.
4. Page hygiene: drops theme scripts the book does not use and that throw
   errors or cost weight, and adds page metadata (description, Open Graph).
"""
from __future__ import annotations

import hashlib
import os
import re
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
    """The folders whose contents chapters depend on besides their own code.

    Loads defection/paths.py on its own, so a build does not import pandas and
    Altair just to find two folders.
    """
    import importlib.util

    spec = importlib.util.find_spec("defection")
    package = Path(spec.origin).parent
    paths_spec = importlib.util.spec_from_file_location("_dx_paths", package / "paths.py")
    paths = importlib.util.module_from_spec(paths_spec)
    paths_spec.loader.exec_module(paths)
    return [paths.data_dir(), package]


def _digest(folders) -> str:
    """SHA-256 over every file in ``folders`` (names and bytes)."""
    digest = hashlib.sha256()
    for folder in folders:
        for path in sorted(Path(folder).rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                digest.update(path.name.encode())
                digest.update(path.read_bytes())
    return digest.hexdigest()


def inputs_digest() -> str:
    """Digest of data/ and defection/: what executed chapters depend on."""
    return _digest(input_dirs())


def _cache_dir(app: Sphinx) -> Path:
    configured = app.config.nb_execution_cache_path
    return Path(configured) if configured else Path(app.outdir).parent / ".jupyter_cache"


def _description(doctree, limit: int = 160) -> str:
    """The page's first paragraph of prose, shortened for a meta description."""
    from docutils import nodes

    if doctree is None:
        return ""
    skip = (nodes.Admonition, nodes.figure, nodes.table, nodes.container, nodes.topic, nodes.sidebar)
    for para in doctree.findall(nodes.paragraph):
        parent, inside = para.parent, False
        while parent is not None:
            if isinstance(parent, skip):
                inside = True
                break
            parent = parent.parent
        text = " ".join(para.astext().split())
        if not inside and len(text) > 40:
            if len(text) > limit:
                text = text[: limit - 1].rsplit(" ", 1)[0] + "…"
            return text
    return ""


def _metadata(app: Sphinx, pagename, templatename, context, doctree):
    """Meta description and Open Graph tags, so a shared link shows a title and summary."""
    from html import escape

    desc = _description(doctree) or app.config.html_title
    title = context.get("title") or app.config.html_title
    url = (app.config.html_baseurl or "") + pagename + ".html"
    tags = {
        ("name", "description"): desc,
        ("property", "og:title"): f"{title} — {app.config.html_title}" if title != app.config.html_title else title,
        ("property", "og:description"): desc,
        ("property", "og:type"): "article" if pagename.startswith("chapters/") else "website",
        ("property", "og:site_name"): app.config.html_title,
        ("property", "og:url"): url,
        ("name", "twitter:card"): "summary",
    }
    extra = "".join(f'<meta {k}="{v}" content="{escape(c, quote=True)}" />\n' for (k, v), c in tags.items())
    context["metatags"] = context.get("metatags", "") + extra


def _teacher_edition(app: Sphinx, config) -> None:
    """DX_TEACHER=1 builds the teacher edition: every solution shown, not folded."""
    if os.environ.get("DX_TEACHER", "") not in ("", "0"):
        config.togglebutton_selector = ".toggle"
        config.html_title = f"{config.html_title} (teacher edition)"
        config.html_context = {**config.html_context, "dx_teacher": True}


def _check_inputs(app: Sphinx, config) -> None:
    """Clear the execution cache when data/ or defection/ changed, and re-render
    every page when those or this extension (templates, scripts) changed."""
    cache = _cache_dir(app)
    stamps = {"inputs": (cache.parent / STAMP_NAME, inputs_digest()),
              "extension": (cache.parent / "dx-extension.sha256", _digest([HERE]))}
    changed = {}
    for key, (stamp, digest) in stamps.items():
        previous = stamp.read_text().strip() if stamp.is_file() else None
        changed[key] = previous is not None and previous != digest
        stamp.parent.mkdir(parents=True, exist_ok=True)
        stamp.write_text(digest + "\n")
    if changed["inputs"]:
        logger.info("[dxbook] data/ or defection/ changed: clearing the execution cache %s", cache)
        shutil.rmtree(cache, ignore_errors=True)
    app.dx_inputs_changed = changed["inputs"] or changed["extension"]


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
    # Its entries carry role="doc-biblioentry", which ARIA does not allow there.
    if 'class="citation-list"' in body:
        body = body.replace('<div role="list" class="citation-list">', '<div class="citation-list">')
        body = body.replace(' role="doc-biblioentry"', "")
        context["body"] = body
    # sphinx-design (bundled with Jupyter Book) and sphinx-thebe add a stylesheet
    # and a script to every page; load them only where a page uses them.
    uses_design = re.search(r'class="[^"]*\bsd-', body) is not None
    unused_assets = ("sphinx-thebe.css", *(() if uses_design else ("sphinx-design.min.css", "design-tabs.js")))
    context["css_files"] = [css for css in context.get("css_files", [])
                            if not any(a in str(getattr(css, "filename", css)) for a in unused_assets)]
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
        if "thebe" in name or "THEBE" in body or key in seen or any(a in name for a in unused_assets):
            continue
        seen.add(key)
        # Nothing the book loads needs to run before the first paint: defer
        # every external script (order is kept; they run before DOMContentLoaded).
        # (Not on the search page, whose search tools run at once and need them.)
        if (pagename != "search" and name and not isinstance(js, str)
                and not {"async", "defer"} & set(js.attributes)):
            js = _JavaScript(js.filename, priority=js.priority, **{**js.attributes, "defer": "defer"})
        keep.append(js)
    context["script_files"] = keep


SETUP_MARKDOWN = """**Before you run this notebook.** It needs the book's `defection` package and its data.
Either work in a clone of the book (`git clone {repo}`, then `make lab`), or install both into
this environment by running `%pip install git+{repo}` in a cell, then restart the kernel.
Data and text: CC BY 4.0. Code: MIT. Online version: {url}"""

SETUP_CODE = """# Set-up check: stops with instructions if the book's package or data is missing.
try:
    import defection
    defection.data_dir()
except (ImportError, FileNotFoundError) as problem:
    raise SystemExit(
        "This chapter needs the book's `defection` package and its data (" + str(problem).split(". ")[0] + ").\\n"
        "Get them with:  %pip install git+{repo}  (then restart the kernel),\\n"
        "or clone the book:  git clone {repo}  and run  make lab"
    ) from None"""


def download_notebook(source: Path, repo: str, url: str):
    """The chapter as a plain notebook, with the set-up cells first."""
    import jupytext
    import nbformat

    nb = jupytext.read(source)
    nb.cells[:0] = [
        nbformat.v4.new_markdown_cell(SETUP_MARKDOWN.format(repo=repo, url=url)),
        nbformat.v4.new_code_cell(SETUP_CODE.format(repo=repo)),
    ]
    nb.metadata.pop("jupytext", None)
    nb.metadata["kernelspec"] = {"display_name": "Python 3", "language": "python", "name": "python3"}
    nbformat.validate(nb)
    return nb


def _is_notebook(app: Sphinx, docname: str) -> bool:
    """A MyST notebook: myst-nb records its kernelspec in the page metadata."""
    return "kernelspec" in app.env.metadata.get(docname, {})


def _ipynb_context(app: Sphinx, pagename, templatename, context, doctree):
    if pagename in app.env.found_docs and _is_notebook(app, pagename):
        context["ipynb_source"] = pagename + ".ipynb"


NOTEBOOK_BRANCH = "notebooks"


def _colab_link(app: Sphinx, pagename, templatename, context, doctree):
    """Colab cannot open MyST Markdown: point it at the generated .ipynb.

    The publish workflow (.github/workflows/publish.yml) pushes the downloadable
    notebooks to the ``notebooks`` branch; Colab opens them from there.
    """
    def walk(buttons):
        for button in buttons:
            walk(button.get("buttons", []))
            url = button.get("url", "")
            if url.startswith("https://colab.research.google.com/") and url.endswith(".md"):
                head, _, tail = url.partition("/blob/")
                branch, _, path = tail.partition("/")
                button["url"] = f"{head}/blob/{NOTEBOOK_BRANCH}/{path[:-3]}.ipynb"

    walk(context.get("header_buttons", []))


def _write_notebooks(app: Sphinx, exception) -> None:
    if exception is not None or app.builder.format != "html":
        return
    import nbformat

    repo = app.config.html_theme_options.get("repository_url", "") or "https://github.com/defection-explained/defection-explained"
    base = app.config.html_baseurl or ""
    for docname in sorted(app.env.found_docs):
        if not _is_notebook(app, docname):
            continue
        nb = download_notebook(Path(app.env.doc2path(docname)), repo, base + docname + ".html")
        target = Path(app.outdir) / "_sources" / (docname + ".ipynb")
        target.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, target)


def _copy_data(app: Sphinx, exception) -> None:
    """Publish the dataset with the site, so the data page can link each file."""
    if exception is not None or app.builder.format != "html":
        return
    citation = Path(app.srcdir) / "CITATION.cff"
    if citation.is_file():
        shutil.copyfile(citation, Path(app.outdir) / "CITATION.cff")
    target = Path(app.outdir) / "data"
    target.mkdir(parents=True, exist_ok=True)
    for path in sorted(input_dirs()[0].iterdir()):
        if path.suffix in (".csv", ".json") or path.name == "README.md":
            shutil.copyfile(path, target / path.name)


ICON_RULE = re.compile(r'((?:\.fa-[\w-]+:before,?)+)\{content:"\\([0-9a-fA-F]+)"\}')


def _slim_icons(app: Sphinx, exception) -> None:
    """Keep only the Font Awesome icons the pages use.

    The theme ships three icon fonts (about 300 kB) and CSS rules for some
    1,900 icons (about 86 kB) to draw the 20 or so icons the book shows. After
    the build, drop the CSS rules for icons no page or theme script names, and
    subset the fonts to the glyphs that remain.
    """
    if exception is not None or app.builder.format != "html":
        return
    from fontTools import subset

    import pydata_sphinx_theme

    # Work from the theme's own files: Sphinx does not copy an unchanged
    # static file again, so the output may already be slimmed.
    theme_static = Path(pydata_sphinx_theme.__file__).parent / "theme" / "pydata_sphinx_theme" / "static"
    out = Path(app.outdir)
    css_path = out / "_static" / "styles" / "pydata-sphinx-theme.css"
    fonts = out / "_static" / "vendor" / "fontawesome" / "webfonts"
    if not css_path.is_file() or not fonts.is_dir():
        return
    used = set()
    for path in [*out.rglob("*.html"), *(out / "_static" / "scripts").glob("*.js")]:
        used.update(re.findall(r"fa-[a-z0-9-]+", path.read_text(encoding="utf-8", errors="ignore")))
    codepoints = set()

    def keep(match):
        names = {n[1:-7] for n in match.group(1).rstrip(",").split(",")}  # ".fa-x:before" -> "fa-x"
        if names & used:
            codepoints.add(int(match.group(2), 16))
            return match.group(0)
        return ""

    css = (theme_static / "styles" / "pydata-sphinx-theme.css").read_text(encoding="utf-8")
    slim = ICON_RULE.sub(keep, css)
    css_path.write_text(slim, encoding="utf-8")
    # Icons the stylesheets draw by code point (admonition icons and the like).
    for sheet in [css_path, *(p for p in (out / "_static").rglob("*.css") if p != css_path)]:
        text = sheet.read_text(encoding="utf-8", errors="ignore")
        codepoints.update(int(c, 16) for c in re.findall(r'\\([ef][0-9a-fA-F]{3})\b', text))
        codepoints.update(ord(ch) for ch in text if 0xE000 <= ord(ch) <= 0xF8FF)  # written as characters
    options = subset.Options()
    options.layout_features = []
    options.notdef_outline = True
    for font_path in sorted(fonts.iterdir()):
        if font_path.suffix not in (".woff2", ".ttf"):
            continue
        options.flavor = "woff2" if font_path.suffix == ".woff2" else None
        font = subset.load_font(str(theme_static / "vendor" / "fontawesome" / "webfonts" / font_path.name), options)
        subsetter = subset.Subsetter(options)
        subsetter.populate(unicodes=sorted(codepoints | {0x20}))
        subsetter.subset(font)
        subset.save_font(font, str(font_path), options)
    logger.info("[dxbook] icons: kept %d glyphs (theme CSS %d kB -> %d kB)",
                len(codepoints), len(css) // 1024, len(slim) // 1024)


def setup(app: Sphinx):
    app.connect("config-inited", _teacher_edition)
    app.connect("config-inited", _check_inputs)
    app.connect("env-get-outdated", _outdated)
    app.connect("html-page-context", _page_context)
    app.connect("html-page-context", _ipynb_context, priority=400)
    app.connect("html-page-context", _metadata)
    app.connect("html-page-context", _colab_link, priority=900)
    app.connect("build-finished", _write_notebooks)
    app.connect("build-finished", _copy_data)
    app.connect("build-finished", _slim_icons)
    app.config.html_static_path.append(str(STATIC))
    app.config.html_extra_path.append(str(HERE / "extra"))
    app.config.templates_path.append(str(HERE / "templates"))
    app.add_css_file("dx.css")
    return {"version": "0.1", "parallel_read_safe": True, "parallel_write_safe": True}
