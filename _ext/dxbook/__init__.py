"""Defection Explained's local Sphinx extension.

``setup()`` only wires the modules together; each module does one job:

============  =================================================================
``cache``     the execution cache is keyed on every input a chapter reads
              (``data/``, the ``defection`` package, the pinned requirements),
              and a page is re-rendered when those or this extension change
``charts``    charts as data (the book's mime type, a myst-nb MIME render
              plugin), a node whose HTML visitor writes the pictures, files
              and data box; the chart runtime (``static/dx/``) only where needed
``editions``  ``DX_TEACHER=1`` builds the teacher edition (solutions shown); in
              the student site a folded admonition is a native ``<details>``
``metadata``  meta description and Open Graph tags
``notebooks`` the downloadable student and teacher notebooks, from each chapter's
              resolved doctree (``doctree-resolved``)
``assets``    theme weight: unused stylesheets/scripts dropped and scripts
              deferred as pages are written; at build end icons subset, CSS
              pruned and bundled, scripts minified
``security``  one constant Content-Security-Policy, written by the page
              template (``html-page-context``); no inline handlers, no dead
              Thebe configuration, safe new-window links
``publish``   data files, CITATION.cff and the package wheel served by the site
``questions`` the question bank: validation and the page's "Check your
              understanding" (``{dx-quiz}``: a node whose HTML visitor writes the
              answer keys to a file of their own; ``dx-quiz.js``); each chapter's
              section titles, recorded from its doctree (``doctree-read``)
``worksheets`` worksheets, answer keys and the other printable sheets, pages
              from ``html-collect-pages`` (``templates/dx-sheet.html``); LMS
              exports (``lms``, ``cartridge``) per chapter
``teaching``  the teacher's printed kit (keys, tasks, cards, vocabulary) from
              ``teaching/*.yml``; chapters' exercises and solutions from the doctree
``readability`` the teacher guide's words, reading time and reading level,
              computed from the chapters when the guide is read
``pageflags`` what each page shows (charts, case browser, quiz), noted on ``env``
              when the page is read, so its scripts load only where needed
``casebrowser`` the data page's case browser script (``dx-cases.js``), on
              that page only
``explore``   every chart's explorable description (a WAI-ARIA tree; nested list
              without JavaScript), from the chart's own spec and data
``frontpage`` the front page's picture: a chapter's chart node, copied in when
              the front page is resolved (``{front-chart}``)
``epub``      the EPUB edition: Sphinx's epub builder, finished in its own hooks
``finish``    the one ``build-finished`` pass over the written site: every step
              that needs the whole site, in one ordered function
``history``   each page's "Last updated" date from git, and a footer link to
              the changes and corrections
``releases``  editions: the archive of every release's files in the site, the
              Editions page, every page's "Cite this edition"
============  =================================================================
"""
from __future__ import annotations

from pathlib import Path

from sphinx.application import Sphinx

from . import a11y, assets, cache, charts, editions, finish, metadata, notebooks, publish, questions, security
from . import casebrowser, epub, frontpage, history, pageflags, readability, releases, teaching, worksheets

HERE = Path(__file__).resolve().parent


def setup(app: Sphinx):
    app.add_config_value("dx_public_url", "", "html", types=[str])
    editions.setup(app)
    pageflags.setup(app)
    cache.setup(app)
    charts.setup(app)
    frontpage.setup(app)
    metadata.setup(app)
    a11y.setup(app)
    notebooks.setup(app)
    assets.setup(app)
    publish.setup(app)
    questions.setup(app)
    casebrowser.setup(app)
    history.setup(app)
    readability.setup(app)
    teaching.setup(app)
    releases.setup(app)
    epub.setup(app)  # the EPUB edition (tools/epub.py): the epub builder only, plus the download menu entry
    worksheets.setup(app)  # the printable sheets: pages from html-collect-pages
    security.setup(app)  # the content policy; its page handler runs last (it moves other handlers' script bodies)
    finish.setup(app)  # the one pass over the written site (notebooks, assets, ... in order)
    app.config.html_static_path.append(str(HERE / "static"))
    app.config.html_extra_path.append(str(HERE / "extra"))
    app.config.templates_path.append(str(HERE / "templates"))
    app.add_css_file("dx/dx.css")
    app.add_js_file("dx/dx-site.js", loading_method="defer")
    from defection import __version__

    return {"version": __version__, "parallel_read_safe": True, "parallel_write_safe": True}
