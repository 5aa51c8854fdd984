"""The Sphinx configuration every test root shares (``exec``-ed by each root's ``conf.py``).

It is what ``jupyter-book config sphinx .`` derives from ``_config.yml``, cut down to what the
book's extension (``_ext/dxbook``) needs to run: MyST notebooks with execution off, the book
theme (its templates carry the extension's footer items), sphinx-exercise, and the extension
itself from this checkout. A root's ``conf.py`` adds or changes settings after it.
"""
import sys
from pathlib import Path

import defection

REPO = Path(defection.__file__).resolve().parents[1]  # this checkout (the package lives in it)
if str(REPO / "_ext") not in sys.path:
    sys.path.insert(0, str(REPO / "_ext"))

project = "Probe Book"
author = "Probe authors"
copyright = "2026"
html_title = "Probe Book"
language = "en"
extensions = ["myst_nb", "sphinx_togglebutton", "sphinx_design", "sphinx_book_theme", "sphinx_exercise", "dxbook"]
html_theme = "sphinx_book_theme"
html_baseurl = "https://example.org/probe/"
exclude_patterns = ["_build", "**.ipynb_checkpoints", "README.md", "CHANGELOG.md"]
myst_enable_extensions = ["colon_fence", "deflist", "substitution"]
myst_heading_anchors = 3
numfig = True
nb_execution_mode = "off"  # no chapter runs in these tests
# Which output of a cell the HTML build shows, as the book says (charts).
_book = __import__("yaml").safe_load((REPO / "_config.yml").read_text(encoding="utf-8"))["sphinx"]["config"]
nb_mime_priority_overrides = _book.get("nb_mime_priority_overrides", [])
html_theme_options = dict(_book.get("html_theme_options", {}))  # the book's header buttons and options
suppress_warnings = ["mystnb.unknown_mime_type"]
