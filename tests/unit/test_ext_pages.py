"""What every page gets (a tiny book: tests/roots/test-pages): titles and metadata
(``metadata``), the content policy (``security``), lighter theme assets (``assets``),
"Cite this edition" and the Editions page (``releases``), the changes link (``history``)."""
from __future__ import annotations

import base64
import hashlib
import re
import shutil
from datetime import date
from pathlib import Path

import pytest
import yaml

from .output import page, resolve, script_srcs, soup

PAGES = ["index", "chapters/01-first", "chapters/changes", "chapters/editions", "chapters/teachers/guide"]
pytestmark = pytest.mark.sphinx("html", testroot="pages", shared_result="pages")


# --- metadata -------------------------------------------------------------------------------


def test_titles_name_the_page_then_the_book_once(app):
    app.build()
    book = app.config.html_title
    for name in PAGES:
        title = soup(app, name).title.get_text()
        assert title.count(book) == 1, (name, title)
        og = soup(app, name).find("meta", property="og:title")["content"]
        assert og.count(book) == 1, (name, og)
    assert soup(app, "chapters/01-first").title.get_text() == f"The first chapter — {book}"


def test_description_is_the_pages_own_first_paragraph(app):
    app.build()
    desc = soup(app, "chapters/01-first").find("meta", attrs={"name": "description"})["content"]
    assert desc.startswith("The first chapter, in its own opening paragraph")  # not the note before it
    assert soup(app, "chapters/01-first").find("meta", property="og:type")["content"] == "article"


def test_only_teacher_pages_are_noindex(app):
    app.build()
    for name in PAGES:
        robots = [m["content"] for m in soup(app, name).find_all("meta", attrs={"name": "robots"})]
        assert ("noindex" in robots) == name.startswith("chapters/teachers/"), (name, robots)


# --- the content policy ---------------------------------------------------------------------

SCRIPT = re.compile(r"<script(?P<attrs>[^>]*)>(?P<body>.*?)</script>", re.S)
DATA = ("application/json", "application/ld+json", "text/x-thebe-config")


def policy(html: str) -> str:
    metas = re.findall(r'<meta http-equiv="Content-Security-Policy" content="([^"]*)"', html)
    assert len(metas) == 1, f"{len(metas)} policies"
    return metas[0]


def inline_scripts(html: str) -> list[str]:
    out = []
    for m in SCRIPT.finditer(html):
        kind = re.search(r'type="([^"]*)"', m["attrs"])
        if "src=" not in m["attrs"] and not (kind and kind.group(1) in DATA):
            out.append(m["body"])
    return out


def sha(body: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(body.encode("utf-8")).digest()).decode() + "'"


def test_policy_is_first_in_head_and_strict(app):
    app.build()
    for name in PAGES:
        html = page(app, name)
        head = html[html.index("<head>"): html.index("</head>")]
        assert head.index("Content-Security-Policy") < head.index("<script"), name
        rules = dict(r.strip().split(" ", 1) for r in policy(html).split(";"))
        assert rules["default-src"] == "'self'" and rules["object-src"] == "'none'", name
        assert "'unsafe-inline'" not in rules["script-src"] and "'unsafe-eval'" not in rules["script-src"], name


def test_policy_hashes_the_books_scripts_and_nothing_else(app):
    """One policy for the whole site: every page carries the same one, it allows every page's
    own inline scripts, and nothing else (no script a page merely contains)."""
    app.build()
    policies, used = set(), set()
    for name in PAGES:
        html = page(app, name)
        policies.add(policy(html))
        allowed = set(re.findall(r"'sha256-[^']+'", policy(html)))
        bodies = inline_scripts(html)
        injected = [b for b in bodies if "window.injected" in b]
        own = [b for b in bodies if b not in injected]
        assert own, f"{name}: the theme's inline scripts are missing"
        assert "DOCUMENTATION_OPTIONS.pagename" not in html, f"{name}: the theme's per-page script is back"
        missing = [b[:60] for b in own if sha(b) not in allowed]
        assert not missing, f"{name}: inline scripts the policy would block: {missing}"
        used |= {sha(b) for b in own}
        for body in injected:  # page content is not the book's own script
            assert sha(body) not in allowed, name
    for path in Path(app.outdir).rglob("*.html"):  # every other page of the site (search, index...)
        if "_static" not in path.parts:
            html = path.read_text(encoding="utf-8")
            policies.add(policy(html))
            used |= {sha(b) for b in inline_scripts(html) if "window.injected" not in b}
    assert len(policies) == 1, "pages carry different policies"
    assert set(re.findall(r"'sha256-[^']+'", policies.pop())) == used, "hashes of scripts no page uses"
    assert any("window.injected" in b for b in inline_scripts(page(app, "chapters/01-first")))


def test_no_inline_handlers_and_new_windows_are_safe(app):
    app.build()
    for name in PAGES:
        html = page(app, name)
        assert not re.search(r"\son[a-z]+=", html), name
        for a in soup(app, name).find_all("a", target="_blank"):
            assert {"noopener", "noreferrer"} <= set(a.get("rel", [])), (name, a)
    assert soup(app, "index").find("a", target="_blank") is not None


# --- theme assets ---------------------------------------------------------------------------


def test_design_assets_only_where_used(app):
    app.build()
    # The stylesheets are bundled into one file per page: look inside it.
    def css(name):
        links = [link["href"] for link in soup(app, name).find_all("link", rel="stylesheet")]
        return "".join(resolve(app.outdir, name, h).read_text(encoding="utf-8") for h in links)
    assert ".sd-" in css("chapters/01-first")
    assert ".sd-col" not in css("chapters/changes")
    for name in PAGES:
        scripts = script_srcs(soup(app, name))
        assert not any("thebe" in s for s in scripts), name
        assert any("design-tabs" in s for s in scripts) == (name == "chapters/01-first"), name


def test_scripts_deferred_and_bootstrap_lazy(app):
    app.build()
    for name in PAGES:
        for tag in soup(app, name).find_all("script", src=True):
            assert tag.has_attr("defer") or tag.has_attr("async"), (name, tag["src"])
        assert not any(s.endswith("bootstrap.js") for s in script_srcs(soup(app, name))), name
        lazy = soup(app, name).find("meta", attrs={"name": "dx-bootstrap"})
        assert lazy is not None and resolve(app.outdir, name, lazy["content"]).is_file(), name


def test_the_sites_scripts_are_served_minified(app):
    """assets.minify_scripts ran: the book's own scripts lost their comments and indentation."""
    app.build()
    site = (Path(app.outdir) / "_static" / "dx" / "dx-site.js").read_text(encoding="utf-8")
    source = (Path(__file__).resolve().parents[2] / "_ext" / "dxbook" / "static" / "dx" / "dx-site.js").read_text(encoding="utf-8")
    assert "/*" in source and "/*" not in site and len(site) < 0.8 * len(source)


def test_minify_scripts_keeps_names_strings_and_licences_and_is_idempotent(tmp_path):
    from dxbook.assets import minify_scripts

    static = tmp_path / "_static"
    (static / "vendor").mkdir(parents=True)
    source = ("/*! Licence: keep me */\n/* a long comment that a reader's browser does not need */\n"
              "function show(box) {\n    // open the box\n    box.classList.add(\"dx-open  now\");\n"
              "    return `a ${box.id}   b`;\n}\n")
    (static / "vendor" / "a.js").write_text(source, encoding="utf-8")
    (static / "b.min.js").write_text("var  x = 1; // min\n", encoding="utf-8")
    before, after = minify_scripts(tmp_path)
    small = (static / "vendor" / "a.js").read_text(encoding="utf-8")
    assert before > after and "/*! Licence: keep me */" in small and "long comment" not in small
    assert '"dx-open  now"' in small and "`a ${box.id}   b`" in small and "open the box" not in small
    assert (static / "b.min.js").read_text(encoding="utf-8") == "var  x = 1; // min\n"  # left alone
    assert minify_scripts(tmp_path) == (after, after)  # nothing left to do the second time
    assert (static / "vendor" / "a.js").read_text(encoding="utf-8") == small


def test_each_page_has_one_stylesheet_that_exists(app):
    app.build()
    for name in PAGES:
        links = [link["href"] for link in soup(app, name).find_all("link", rel="stylesheet") if not link.get("media")]
        assert len(links) == 1, (name, links)
        assert resolve(app.outdir, name, links[0]).is_file(), (name, links[0])


# --- editions and history -------------------------------------------------------------------


def test_every_page_cites_the_current_edition(app):
    app.build()
    cff = yaml.safe_load((Path(app.srcdir) / "CITATION.cff").read_text(encoding="utf-8"))
    released = cff["date-released"]
    released = released if isinstance(released, date) else date.fromisoformat(str(released))
    words = f"Cite this edition (version {cff['version']}, {released.day} {released:%B} {released.year})"
    for name in PAGES:
        cite = soup(app, name).find("p", class_="dx-cite")
        assert cite is not None and " ".join(cite.get_text().split()) == words, name
        href = cite.a["href"]
        assert href.endswith("#cite")
        if name != "chapters/editions":
            assert resolve(app.outdir, name, href) == Path(app.outdir) / "chapters" / "editions.html", name
    assert soup(app, "chapters/editions").find(id="cite") is not None


def test_editions_page_lists_every_changelog_version(app):
    app.build()
    text = soup(app, "chapters/editions").get_text(" ")
    changelog = (Path(app.srcdir) / "CHANGELOG.md").read_text(encoding="utf-8")
    versions = re.findall(r"^## (\d+\.\d+\.\d+)", changelog, re.M)
    assert len(versions) == 2
    for v in versions:
        assert f"Edition {v}" in text
    assert "@book{probe-book" not in text and f"defection-explained-{versions[0].replace('.', '-')}" in text


def test_changes_link_on_every_other_page(app):
    app.build()
    for name in PAGES:
        footer = soup(app, name).find("p", class_="last-updated")
        links = [a["href"] for a in footer.find_all("a")] if footer else []
        if name == "chapters/changes":
            assert not links
        else:
            assert links and resolve(app.outdir, name, links[0]) == Path(app.outdir) / "chapters/changes.html", name


def test_site_serves_citation_and_data(app):
    """``publish``: CITATION.cff and every data file of the book go into the site."""
    app.build()
    out = Path(app.outdir)
    assert (out / "CITATION.cff").read_bytes() == (Path(app.srcdir) / "CITATION.cff").read_bytes()
    from defection.paths import data_dir

    for csv in data_dir().glob("*.csv"):
        assert (out / "data" / csv.name).is_file(), csv.name
