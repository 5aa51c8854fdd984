"""``source-read``, ``html-page-context``: editions; every release of the book stays downloadable and citable.

An *edition* is one version of the book (``version`` and ``date-released`` in
``CITATION.cff``, a ``## X.Y.Z (date)`` section in ``CHANGELOG.md``). Its files
are frozen, once, by ``tools/editions.py freeze`` (``make pdf``) into the
*editions archive*, a folder outside the site (``$DX_EDITIONS``, by default
``<out>/_build/editions``; the publish workflow keeps it on the ``editions``
branch)::

    <archive>/0.4.0/defection-explained-0.4.0.pdf
                    defection-explained-0.4.0.epub            (when the EPUB is made)
                    defection-explained-site-0.4.0.zip
                    defection-explained-lms-0.4.0.zip
                    defection-0.4.0-py3-none-any.whl (+ .sha256)
                    CITATION.cff, SHA256SUMS

This module, in the HTML build:

* copies the whole archive into the site as ``editions/`` (so every edition's
  files keep their address, ``editions/<version>/<file>``), and each archived
  wheel into ``downloads/`` as well, where that version's notebooks install it
  from (``%pip install <site>/downloads/defection-<version>-...whl``);
* writes the Editions page (``chapters/editions.md``): its marker line
  ``% dx-editions`` is replaced, when the page is read, by one section per
  version in ``CHANGELOG.md`` with its date, a summary of its changes, its
  downloads and its citation;
* gives every page's footer "Cite this edition (version, date)" from
  ``CITATION.cff`` (``templates/extra-footer.html``), a link to the current
  edition's APA and BibTeX on the Editions page (``#cite``). The version is
  part of the configuration (``dx_edition``), so a new version rewrites every page.
"""
from __future__ import annotations

import os
import re
import shutil
from datetime import date
from pathlib import Path

import yaml
from sphinx.application import Sphinx

EDITIONS_DOC = "chapters/editions"
MARKER = "% dx-editions"
_VERSION_HEADING = re.compile(r"^## (?P<version>\d+\.\d+\.\d+)\s*\((?P<date>\d{4}-\d{2}-\d{2})\)\s*$", re.M)


# --- what an edition is (shared with tools/editions.py) ------------------------------------


def archive_dir(out: Path | None = None) -> Path:
    """The editions archive: $DX_EDITIONS, else <out>/_build/editions (out: the build's --out)."""
    if os.environ.get("DX_EDITIONS"):
        return Path(os.environ["DX_EDITIONS"])
    return Path(out or Path(__file__).resolve().parents[2]) / "_build" / "editions"


def edition_files(version: str, epub: bool = False) -> list[tuple[str, str]]:
    """(file name in editions/<version>/, what it is) for one edition, in the order listed."""
    files = [(f"defection-explained-{version}.pdf", "the whole book as PDF")]
    if epub:
        files.append((f"defection-explained-{version}.epub", "the whole book as EPUB 3 (e-readers)"))
    files += [(f"defection-explained-site-{version}.zip", "the whole site as one ZIP, to open from disk"),
              (f"defection-explained-lms-{version}.zip", "the quizzes for Canvas, Moodle and other platforms"),
              (f"defection-{version}-py3-none-any.whl", "the book's Python package and data (wheel)")]
    return files


def read_citation(root: Path) -> dict:
    """CITATION.cff's fields ({} for a book without one)."""
    path = root / "CITATION.cff"
    return (yaml.safe_load(path.read_text(encoding="utf-8")) or {}) if path.is_file() else {}


def changelog_sections(root: Path) -> list[dict]:
    """Every ``## X.Y.Z (YYYY-MM-DD)`` section of CHANGELOG.md, newest first as written."""
    path = root / "CHANGELOG.md"
    text = path.read_text(encoding="utf-8") if path.is_file() else ""
    heads = list(_VERSION_HEADING.finditer(text))
    sections = []
    for i, m in enumerate(heads):
        body = text[m.end(): heads[i + 1].start() if i + 1 < len(heads) else len(text)].strip("\n")
        sections.append({"version": m.group("version"), "date": m.group("date"), "body": body})
    return sections


def long_date(iso: str) -> str:
    d = date.fromisoformat(iso)
    return f"{d.day} {d.strftime('%B')} {d.year}"


def authors(cff: dict) -> list[str]:
    return [a.get("name") or " ".join(filter(None, (a.get("given-names"), a.get("family-names"))))
            for a in cff.get("authors", [])]


def citation(cff: dict, version: str | None = None, released: str | None = None) -> dict:
    """APA and BibTeX for one edition (the current one unless version and date are given)."""
    version = str(version or cff.get("version", ""))
    released = str(released or cff.get("date-released", ""))
    names = authors(cff)
    title = str(cff.get("title", ""))
    url = str(cff.get("url", ""))
    year = released[:4]
    d = date.fromisoformat(released) if released else None
    apa_date = f"{year}, {d.strftime('%B')} {d.day}" if d else "n.d."
    apa = f"{', '.join(names)}. ({apa_date}). {title} (Version {version}). {url}"
    key = "defection-explained-" + version.replace(".", "-")
    bib_authors = " and ".join("{" + n + "}" for n in names)  # braces: a group name, not a person
    bibtex = "\n".join([
        f"@book{{{key},",
        f"  author    = {{{bib_authors}}},",
        f"  title     = {{{title}}},",
        f"  edition   = {{Version {version}}},",
        f"  version   = {{{version}}},",
        f"  year      = {{{year}}},",
        f"  date      = {{{released}}},",
        f"  url       = {{{url}}},",
        f"  note      = {{Editions: {url}chapters/editions.html}}",
        "}"])
    return {"version": version, "date": released, "long_date": long_date(released) if released else "",
            "apa": apa, "apa_title": title, "apa_html_parts": (f"{', '.join(names)}. ({apa_date}). ",
                                                             title, f" (Version {version}). ", url),
            "bibtex": bibtex}


# --- the Editions page -----------------------------------------------------------------------


def _summary(body: str) -> tuple[str, list[str]]:
    """The section's text before its first ### heading, and the ### headings' names."""
    lead = body.split("\n### ", 1)[0].strip()
    if lead.startswith("### "):
        lead = ""
    return lead, re.findall(r"^### (.+)$", body, re.M)


def _archived(archive: Path, version: str) -> list[str]:
    folder = archive / version
    return sorted(p.name for p in folder.iterdir() if p.is_file()) if folder.is_dir() else []


def editions_markdown(root: Path, archive: Path, epub: bool = False) -> str:
    cff = read_citation(root)
    current = str(cff.get("version", ""))
    out = []
    for section in changelog_sections(root):
        v, iso = section["version"], section["date"]
        cite = citation(cff, v, iso)
        status = " (current)" if v == current else ""
        if v == current:
            out += ["(cite)=", ""]  # every page's footer links here
        out += [f"## Edition {v}, {long_date(iso)}{status}", ""]
        lead, parts = _summary(section["body"])
        if lead:
            out += [lead, ""]
        if parts:
            out += ["Changes in this edition: " + "; ".join(p.strip() for p in parts) +
                    ". Every change is listed in [Changes and corrections](changes.md).", ""]
        have = _archived(archive, v)
        files = [(n, what) for n, what in edition_files(v, epub=True) if n in have]
        if v == current and not have:
            files = edition_files(v, epub=epub)  # written into the site by `make pdf` (tools/editions.py)
        if files:
            out += ["Downloads of this edition (they stay at these addresses after later releases):", ""]
            out += ['<ul class="dx-edition-files">']
            out += [f'<li><a href="../editions/{v}/{n}">{n}</a>: {what}</li>' for n, what in files]
            out += ["</ul>", ""]
        else:
            out += ["This edition was released before editions were kept, so it has no frozen downloads.", ""]
        out += ["Cite this edition (APA):", "", "<blockquote><p>" + _html(cite["apa"]) + "</p></blockquote>", "",
                "BibTeX:", "", "```bibtex", cite["bibtex"], "```", ""]
    return "\n".join(out)


def _html(text: str) -> str:
    import html
    return html.escape(text, quote=False)


def _source_read(app: Sphinx, docname: str, source: list[str]) -> None:
    if docname != EDITIONS_DOC or MARKER not in source[0]:
        return
    root = Path(app.srcdir)
    for name in ("CHANGELOG.md", "CITATION.cff"):
        app.env.note_dependency(str(root / name))
    generated = editions_markdown(root, archive_dir(), epub=bool(app.config.dx_epub))
    source[0] = source[0].replace(MARKER, generated, 1)


def _always_read(app: Sphinx, env, added, changed, removed) -> list[str]:
    """The Editions page also reflects the archive, which Sphinx does not watch: read it every build."""
    return [EDITIONS_DOC] if EDITIONS_DOC in env.found_docs else []


# --- every page's "Cite this edition" --------------------------------------------------------


def _configure(app: Sphinx, config) -> None:
    # sphinx-book-theme puts its components (with its own extra-footer.html) in templates_path
    # when the configuration is read: the book's templates go first, so that ours is used.
    ours = str(Path(__file__).resolve().parent / "templates")
    config.templates_path = [ours] + [p for p in config.templates_path if p != ours]
    cff = read_citation(Path(app.srcdir))
    config.dx_edition = f"{cff.get('version', '')} {cff.get('date-released', '')}"


def _page_context(app: Sphinx, pagename, templatename, context, doctree) -> None:
    if app.builder.format != "html":
        return
    cff = read_citation(Path(app.srcdir))
    context["dx_cite"] = citation(cff) if cff.get("version") and cff.get("date-released") else None
    here = pagename == EDITIONS_DOC
    context["dx_cite_href"] = ("#cite" if here else context["pathto"](EDITIONS_DOC) + "#cite"
                               if EDITIONS_DOC in app.env.all_docs else "")


# --- the archive in the site -----------------------------------------------------------------


def copy_archive(archive: Path, site: Path) -> list[str]:
    """Copy every archived edition into site/editions/ and its wheel into site/downloads/; the versions."""
    versions = []
    if not archive.is_dir():
        return versions
    for folder in sorted(p for p in archive.iterdir() if p.is_dir() and re.fullmatch(r"\d+\.\d+\.\d+", p.name)):
        target = site / "editions" / folder.name
        shutil.copytree(folder, target, dirs_exist_ok=True)
        for wheel in folder.glob("defection-*-py3-none-any.whl*"):
            dest = site / "downloads" / wheel.name
            if not dest.exists():
                dest.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(wheel, dest)
        versions.append(folder.name)
    return versions


def setup(app: Sphinx) -> None:
    app.add_config_value("dx_edition", "", "html", types=[str])
    app.add_config_value("dx_epub", False, "html")
    app.connect("config-inited", _configure)
    app.connect("source-read", _source_read)
    app.connect("env-get-outdated", _always_read)
    app.connect("html-page-context", _page_context)
