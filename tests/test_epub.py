"""The EPUB (``make epub``, run by ``make pdf``; tools/epub.py and _ext/dxbook/epub.py).

Reads the EPUB in the built site (``offline/defection-explained-<version>.epub``): epubcheck
finds no error and no warning; every page of the table of contents is in it, in order; every
chart is a packaged image with its text alternative; no script and no remote resource; every
chapter with a quiz ends with the answers.
"""
from __future__ import annotations

import posixpath
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import yaml

from conftest import ROOT, chapter_docnames, toc_docnames

sys.path.insert(0, str(ROOT / "_ext"))
from tools.epub import epubcheck_command  # noqa: E402
from dxbook.epub import chart_image, epub_name, fixed_times, xhtml  # noqa: E402

CFF = yaml.safe_load((ROOT / "CITATION.cff").read_text(encoding="utf-8"))
VERSION = str(CFF["version"])


@pytest.fixture(scope="module")
def epub(site) -> Path:
    path = site / "offline" / epub_name(VERSION)
    assert path.is_file(), f"no EPUB at {path}: make epub (or make pdf) writes it"
    return path


@pytest.fixture(scope="module")
def pages(epub) -> dict[str, str]:
    """Every XHTML page in the EPUB, by its path in the package."""
    with zipfile.ZipFile(epub) as z:
        return {n: z.read(n).decode("utf-8") for n in z.namelist() if n.endswith(".xhtml")}


@pytest.fixture(scope="module")
def names(epub) -> set[str]:
    with zipfile.ZipFile(epub) as z:
        return set(z.namelist())


@pytest.mark.build
def test_epubcheck_finds_no_error_and_no_warning(epub):
    cmd = epubcheck_command()
    assert cmd, "epubcheck is missing: sudo apt-get install epubcheck default-jre-headless (.ci/run does this)"
    proc = subprocess.run(cmd + [str(epub)], capture_output=True, text=True)
    out = proc.stdout + proc.stderr
    flagged = [line for line in out.splitlines() if line.startswith(("FATAL", "ERROR", "WARNING"))]
    assert proc.returncode == 0 and not flagged, out[-3000:]
    assert "0 fatals / 0 errors / 0 warnings" in out or "No errors or warnings detected" in out, out[-1000:]


@pytest.mark.build
def test_metadata_and_cover(epub):
    with zipfile.ZipFile(epub) as z:
        assert z.namelist()[0] == "mimetype" and z.read("mimetype") == b"application/epub+zip"
        opf = z.read("content.opf").decode("utf-8")
    assert f"<dc:title>{CFF['title']}</dc:title>" in opf
    for author in CFF["authors"]:
        assert f"<dc:creator>{author['name']}</dc:creator>" in opf
    assert "<dc:language>en</dc:language>" in opf
    assert f"Version {VERSION}" in opf and f"<dc:date>{CFF['date-released']}" in opf
    assert "CC BY 4.0" in opf
    assert re.search(r'<meta name="cover" content="[^"]+"', opf) and "epub-cover.xhtml" in opf


@pytest.mark.build
def test_every_page_of_the_book_is_in_it_in_order(epub, pages):
    with zipfile.ZipFile(epub) as z:
        opf = z.read("content.opf").decode("utf-8")
    items = dict(re.findall(r'<item id="([^"]+)" href="([^"]+)"', opf))
    spine = [items[i] for i in re.findall(r'<itemref idref="([^"]+)"', opf)]
    wanted = [f"{doc}.xhtml" for doc in toc_docnames()]
    assert [p for p in spine if p in wanted] == wanted
    for chapter in chapter_docnames():
        text = pages[f"{chapter}.xhtml"]
        assert re.search(r"<h1>.+</h1>", text), f"{chapter}: no title"
        assert len(re.sub(r"<[^>]+>", "", text)) > 5000, f"{chapter}: too short to be the chapter"


@pytest.mark.build
def test_every_chart_is_a_packaged_image_with_its_alt_text(site, pages, names):
    total = 0
    for doc in toc_docnames():
        html = (site / f"{doc}.html").read_text(encoding="utf-8")
        in_site = html.count('<div class="dx-chart" ')
        text = pages[f"{doc}.xhtml"]
        images = re.findall(r"<img ([^>]*)/>", text)
        charts = [a for a in images if 'class="dx-chart-img"' in a]
        if doc != "intro":  # the front page's picture is chapter 1's chart, shown again
            assert len(charts) == in_site, f"{doc}: {len(charts)} chart images, the site shows {in_site} charts"
        for attrs in charts:
            src = re.search(r'src="([^"]+)"', attrs).group(1)
            alt = re.search(r'alt="([^"]*)"', attrs)
            assert alt and len(alt.group(1).strip()) > 20, f"{doc}: chart {src} without a text alternative"
            packaged = posixpath.normpath(posixpath.join(posixpath.dirname(doc), src))
            assert packaged in names and packaged.endswith(".png"), f"{doc}: {src} is not in the EPUB"
        total += len(charts)
    assert total >= 4


@pytest.mark.build
def test_no_script_no_remote_resource_no_browser_only_parts(pages, names):
    assert not [n for n in names if n.endswith((".js", ".json", ".woff2"))]
    for name, text in pages.items():
        assert "<script" not in text, f"{name}: a script"
        assert not re.search(r"<(template|form|noscript|picture|button)\b", text), f"{name}: a browser-only part"
        assert not re.search(r'dx-chart-spec|application/json|"\$schema"|vega\.github\.io/schema', text), \
            f"{name}: a Vega spec"
        assert not re.search(r'media="\(prefers-color-scheme|dx-chart-dark', text), f"{name}: a dark-mode picture"
        remote = re.findall(r'<(?!a\b)\w+[^>]*\b(?:src|href|srcset|poster|data)="(?:https?:)?//[^"]*"', text)
        assert not remote, f"{name}: remote resources {remote[:3]}"
        assert "header-article" not in text and "dropdown-download" not in text, f"{name}: the site's header"


@pytest.mark.build
def test_links_inside_the_book_resolve(pages, names):
    broken = []
    for name, text in pages.items():
        for href in re.findall(r'<a\b[^>]*\bhref="([^"]+)"', text):
            if re.match(r"^[a-z][a-z0-9+.-]*:", href):
                continue
            target, _, frag = href.partition("#")
            resolved = posixpath.normpath(posixpath.join(posixpath.dirname(name), target)) if target else name
            if resolved not in names:
                broken.append(f"{name} -> {href}")
            elif frag and resolved.endswith(".xhtml") and f'id="{frag}"' not in pages[resolved]:
                broken.append(f"{name} -> {href} (no #{frag})")
    assert not broken, broken[:20]


@pytest.mark.build
def test_glossary_and_references_are_linked(pages):
    for chapter in chapter_docnames():
        text = pages[f"{chapter}.xhtml"]
        assert re.search(r'href="glossary\.xhtml#term-', text), f"{chapter}: no glossary link"
        assert re.search(r'href="references\.xhtml#cite-', text), f"{chapter}: no citation link"


@pytest.mark.build
def test_quiz_is_plain_questions_with_answers_at_the_end(pages):
    quizzed = 0
    for chapter in chapter_docnames():
        bank = ROOT / "questions" / f"{Path(chapter).name}.yml"
        if not bank.is_file():
            continue
        quizzed += 1
        ids = [q["id"] for q in yaml.safe_load(bank.read_text(encoding="utf-8"))["questions"]]
        text = pages[f"{chapter}.xhtml"]
        answers_at = text.find('id="dx-answers"')
        assert answers_at > 0, f"{chapter}: no answers section"
        assert "Answers to" in text[answers_at:answers_at + 300]
        # The answers section is the chapter's last.
        assert "<section" not in text[answers_at:].split(">", 1)[1], f"{chapter}: a section after the answers"
        for qid in ids:
            assert text.find(f'id="{qid}"') < answers_at < text.find(f'id="{qid}-answer"'), f"{chapter}: {qid}"
            assert f'href="#{qid}-answer"' in text and f'href="#{qid}"' in text
    assert quizzed == len(chapter_docnames())


# --- fast: no build ---------------------------------------------------------------------------


def test_raw_html_becomes_xhtml_without_scripts():
    out = xhtml('<a href=x download>y &nbsp;&amp; <b>z</b><br><img src=a alt="q"><div data-x></div>'
                "<script>var a = 1 < 2</script><noscript><p>n</p></noscript><template><p>t</p></template>")
    assert out == '<a href="x" download="">y \u00a0&amp; <b>z</b><br/><img src="a" alt="q"/><div data-x=""></div>'


def test_chart_becomes_one_image_with_its_alt_text(tmp_path):
    import altair as alt
    import pandas as pd
    from defection import charts as dcharts

    bare = alt.Chart(pd.DataFrame({"x": ["a", "b"], "y": [1, 2]})).mark_bar().encode(
        x=alt.X("x:N", title="X"), y=alt.Y("y:Q", title="Y"))
    bundle = dcharts.finish(bare, title="T", description="Two bars & a <test> description",
                            source="S")._repr_mimebundle_()
    chart = (bundle[0] if isinstance(bundle, tuple) else bundle)[dcharts.CHART_MIME]
    img = chart_image(chart, 1, tmp_path)
    assert img.count("<img ") == 1 and "<template" not in img and "<script" not in img
    assert 'alt="Two bars &amp; a &lt;test&gt; description"' in img
    src = re.search(r'src="\.\./([^"]+\.png)"', img).group(1)
    assert (tmp_path / src).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_fixed_times_keeps_order_and_compression_and_fixes_the_stamps():
    import io
    import time

    def made():
        stream = io.BytesIO()
        with zipfile.ZipFile(stream, "w") as z:
            z.writestr(zipfile.ZipInfo("mimetype", time.localtime()[:6]), "application/epub+zip")
            z.writestr("EPUB/content.opf", "<package/>" * 50, compress_type=zipfile.ZIP_DEFLATED)
        return stream.getvalue()

    first = fixed_times(made())
    time.sleep(2.1)  # zip keeps 2-second times: a clock stamp would differ now
    assert fixed_times(made()) == first
    with zipfile.ZipFile(io.BytesIO(first)) as z:
        infos = z.infolist()
        assert [i.filename for i in infos] == ["mimetype", "EPUB/content.opf"]
        assert [i.compress_type for i in infos] == [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED]
        assert {i.date_time for i in infos} == {(1980, 1, 1, 0, 0, 0)}


@pytest.mark.build
def test_the_served_epub_has_fixed_time_stamps(epub):
    with zipfile.ZipFile(epub) as z:
        assert {i.date_time for i in z.infolist()} == {(1980, 1, 1, 0, 0, 0)}
        assert z.infolist()[0].filename == "mimetype" and z.infolist()[0].compress_type == zipfile.ZIP_STORED
