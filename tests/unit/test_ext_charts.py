"""Charts on a page (``charts``, ``explore``), the front page's copy of one (``frontpage``) and
the case browser's script (``casebrowser``), on tests/roots/test-charts.

The root's two notebooks are written here, before the build, from what the ``defection``
package displays (a chart glued as the chapters glue it, the data page's case browser), so
the test follows whatever the package emits; nothing is executed by the build."""
from __future__ import annotations

import csv
import io
from pathlib import Path

import nbformat
import pytest
from bs4 import BeautifulSoup

from .output import resolve, script_srcs, soup

CHART_PAGE, CASES_PAGE = "chapters/01-charts", "chapters/cases"
pytestmark = pytest.mark.sphinx("html", testroot="charts", shared_result="charts")


@pytest.fixture(scope="session")
def outputs():
    """(chart output, case browser output) as notebook outputs, made once."""
    from IPython.core.formatters import format_display_data
    from myst_nb.ext.glue import GLUE_PREFIX

    from defection import charts, data, tables

    bundle, meta = format_display_data(charts.ch1_origins_over_time(data.cases()))
    chart = nbformat.v4.new_output("display_data", data={GLUE_PREFIX + k: v for k, v in bundle.items()},
                                   metadata={**meta, "scrapbook": {"name": "fig-probe-chart", "mime_prefix": GLUE_PREFIX}})
    bundle, meta = format_display_data(tables.case_browser(data.cases()))
    return chart, nbformat.v4.new_output("display_data", data=bundle, metadata=meta)


def build(app, outputs):
    src = Path(app.srcdir) / "chapters"
    chart, cases = outputs
    if not (src / "01-charts.ipynb").exists():
        src.mkdir(parents=True, exist_ok=True)  # git keeps no empty folder: the root has none
        code = nbformat.v4.new_code_cell('glue("fig-probe-chart", charts.ch1_origins_over_time(cases))',
                                         outputs=[chart])
        nb = nbformat.v4.new_notebook(cells=[
            nbformat.v4.new_markdown_cell("# Charts probe\n\nA chapter with one chart, glued and shown as a figure."),
            nbformat.v4.new_code_cell('print("probe")', outputs=[nbformat.v4.new_output("stream", text="probe\n")]),
            code,
            nbformat.v4.new_markdown_cell("```{glue:figure} fig-probe-chart\n:name: fig-probe-chart\n\n"
                                          "Cases per decade, the probe's caption.\n```")],
            metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})
        nbformat.write(nb, src / "01-charts.ipynb")
        nb = nbformat.v4.new_notebook(cells=[
            nbformat.v4.new_markdown_cell("# Cases probe\n\nEvery case, in the case browser."),
            nbformat.v4.new_code_cell("tables.case_browser(cases)", outputs=[cases])],
            metadata=nb.metadata)
        nbformat.write(nb, src / "cases.ipynb")
    app.build()


def test_chart_becomes_pictures_of_files(app, outputs):
    build(app, outputs)
    chart = soup(app, CHART_PAGE).find("div", class_="dx-chart")
    assert chart is not None
    assert chart.find("svg") is None, "the chart's SVG is still inline"
    images = chart.find_all("img")
    assert {img["class"][0] for img in images} == {"dx-chart-light", "dx-chart-dark"}
    for img in images:
        assert img["alt"].strip(), "a chart picture without its text alternative"
        assert resolve(app.outdir, CHART_PAGE, img["src"]).read_text(encoding="utf-8").startswith("<svg")
    for attr in ("data-dx-spec", "data-dx-spec-dark"):
        assert resolve(app.outdir, CHART_PAGE, chart[attr]).is_file(), attr


def test_chart_data_offered_as_csv_and_table(app, outputs):
    build(app, outputs)
    box = soup(app, CHART_PAGE).find("details", class_="dx-chart-data")
    link = next(a["href"] for a in box.find_all("a") if a["href"].endswith(".csv"))
    rows = list(csv.DictReader(io.StringIO(resolve(app.outdir, CHART_PAGE, link).read_text(encoding="utf-8"))))
    table = box.find("table", class_="dx-chart-table")
    assert rows and len(table.find("tbody").find_all("tr")) == len(rows)
    assert [th.get_text() for th in table.find("thead").find_all("th")] == list(rows[0])
    # In the chart's column order, although the stored notebook (nbformat) sorted the rows' keys.
    from myst_nb.ext.glue import GLUE_PREFIX

    from defection import CHART_MIME

    order = next(iter(outputs[0]["data"][GLUE_PREFIX + CHART_MIME]["columns"].values()))
    assert list(rows[0]) == order and order != sorted(order)
    png = next(a["href"] for a in box.find_all("a") if a["href"].endswith(".png"))
    assert resolve(app.outdir, CHART_PAGE, png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_chart_has_an_explorable_description(app, outputs):
    """``explore``: a nested list from the chart's own encodings and data."""
    build(app, outputs)
    page = soup(app, CHART_PAGE)
    assert page.find("ul", class_="dx-explore-tree") is None  # not in the chapter: a page of its own
    href = page.find("div", class_="dx-explore")["data-dx-explore"]
    own = resolve(app.outdir, CHART_PAGE, href)
    tree = BeautifulSoup(own.read_text(encoding="utf-8"), "html.parser").find("ul", class_="dx-explore-tree")
    assert tree is not None
    top = tree.find("li")
    assert top.get_text(" ").startswith("Chart:")
    assert len(top.find_all("li")) > 3  # axes, groups and marks below the chart


def test_scripts_only_on_pages_that_need_them(app, outputs):
    build(app, outputs)
    for name, wanted in ((CHART_PAGE, {"dx-charts.js", "dx-explore.js"}), (CASES_PAGE, {"dx-cases.js"}),
                         ("index", set())):
        have = {s.rsplit("/", 1)[-1] for s in script_srcs(soup(app, name))}
        assert wanted <= have, name
        assert not ({"dx-charts.js", "dx-explore.js", "dx-cases.js"} - wanted) & have, name


def test_what_a_page_shows_is_noted_when_it_is_read(app, outputs):
    """pageflags: noted on env from the doctree, not found in the finished HTML."""
    from types import SimpleNamespace

    from dxbook import pageflags

    build(app, outputs)
    flags = getattr(app.env, pageflags.ENV_KEY)
    assert flags[CHART_PAGE] == ["chart"] and flags[CASES_PAGE] == ["cases"] and flags["index"] == []
    handlers = {}
    pageflags.track(SimpleNamespace(connect=handlers.__setitem__), pageflags.ENV_KEY)
    env = SimpleNamespace(**{pageflags.ENV_KEY: dict(flags)})
    handlers["env-purge-doc"](app, env, CHART_PAGE)  # a page read again starts from nothing
    assert CHART_PAGE not in getattr(env, pageflags.ENV_KEY)
    merged = SimpleNamespace()
    handlers["env-merge-info"](app, merged, [CHART_PAGE], app.env)  # a parallel reader's pages
    assert getattr(merged, pageflags.ENV_KEY) == {CHART_PAGE: ["chart"]}


def test_case_browser_lists_every_case(app, outputs):
    build(app, outputs)
    from defection import data

    browser = soup(app, CASES_PAGE).find("div", class_="dx-cases")
    assert browser is not None and browser.has_attr("data-dx-cases")
    assert len(browser.find("tbody").find_all("tr")) == len(data.cases())


def test_front_page_shows_the_chapters_chart(app, outputs):
    build(app, outputs)
    front = soup(app, "index").find("div", class_="dx-front-chart")
    figure = front.find("figure", class_="dx-front-figure")
    assert figure is not None, "the front page's placeholder was not filled"
    chapter = soup(app, CHART_PAGE).find("div", class_="dx-chart").find("img", class_="dx-chart-light")
    img = figure.find("img", class_="dx-chart-light")
    # The very file the chapter shows, linked from the site root.
    assert resolve(app.outdir, "index", img["src"]) == resolve(app.outdir, CHART_PAGE, chapter["src"])
    caption = figure.find("figcaption").find("a")["href"]
    assert caption == f"{CHART_PAGE}.html#fig-probe-chart"
    assert soup(app, CHART_PAGE).find(id="fig-probe-chart") is not None


def test_a_picture_is_heavy_by_its_share_of_the_first_load_budget():
    import base64
    import random

    from dxbook.charts import FIRST_LOAD_BUDGET, is_heavy

    plain, packed = FIRST_LOAD_BUDGET["plain"] // 4, FIRST_LOAD_BUDGET["gzip"] // 4
    path = '<path d="M0,0L10,10"/>'
    assert not is_heavy("<svg>" + path * ((plain - 100) // len(path)) + "</svg>")  # large but compresses well
    assert is_heavy("<svg>" + path * ((plain + 100) // len(path)) + "</svg>")  # over a quarter plain
    detail = base64.b64encode(random.Random(1).randbytes(plain // 2)).decode()  # little to compress, as in a map
    assert len(detail) < plain and is_heavy(f"<svg><desc>{detail}</desc></svg>")  # under a quarter plain: gzip decides
    assert not is_heavy(f"<svg><desc>{detail[:packed]}</desc></svg>")


def test_chart_mime_plugin_makes_a_node_of_the_books_chart_type_only():
    """charts.ChartMime, myst-nb's plugin (found by its entry point): the book's chart type
    becomes a dx_chart node carrying the chart; other types, an inline output, or a project
    that does not load this extension are left to myst-nb."""
    from importlib.metadata import entry_points
    from types import SimpleNamespace

    from myst_nb.core.render import MimeData

    from defection import CHART_MIME
    from dxbook.charts import ChartMime, chart_data, dx_chart

    assert any(ep.value == "dxbook.charts:ChartMime" for ep in entry_points(group="myst_nb.mime_renderers"))
    assert ("html", CHART_MIME, 1) in ChartMime.mime_priority_overrides
    chart = {"title": "T", "wide": {}}

    def renderer(extensions):
        return SimpleNamespace(renderer=SimpleNamespace(sphinx_env=SimpleNamespace(app=SimpleNamespace(extensions=extensions))))

    made = ChartMime.handle_mime(renderer({"dxbook": 1}), MimeData(CHART_MIME, chart), False)
    assert len(made) == 1 and isinstance(made[0], dx_chart) and chart_data(made[0]) == chart
    assert isinstance(made[0]["chart"], str), "JSON text: a doctree with a chart unpickles fast"
    assert ChartMime.handle_mime(renderer({"dxbook": 1}), MimeData("image/svg+xml", "<svg/>"), False) is None
    assert ChartMime.handle_mime(renderer({"dxbook": 1}), MimeData(CHART_MIME, chart), True) is None
    assert ChartMime.handle_mime(renderer({}), MimeData(CHART_MIME, chart), False) is None


def test_chart_files_are_written_once_per_content(tmp_path):
    from dxbook.charts import CHART_DIR, ChartFiles

    chart = {"title": "T", "wide": {"svg": "<svg/>"}}
    files = ChartFiles(tmp_path, chart)
    name = files.write(".svg", "<svg/>")
    assert name == f"{files.key}.svg" and (tmp_path / CHART_DIR / name).read_text() == "<svg/>"
    made = []
    assert files.write(".svg", lambda: made.append(1) or b"other") == name and not made  # not drawn again
    assert ChartFiles(tmp_path, {**chart, "title": "U"}).key != files.key
    assert [p.name for p in (tmp_path / CHART_DIR).iterdir()] == [name]  # no partial file left


def test_files_no_page_needs_are_removed_by_the_manifest(app, outputs):
    """finish.remove_stale: the charts' and quiz keys' files stay while a page's manifest (recorded
    on env when it is read) names them; a file from an earlier build that none names goes."""
    from dxbook import finish
    from dxbook.charts import CHART_DIR

    build(app, outputs)
    charts_dir = Path(app.outdir) / CHART_DIR
    made = sorted(p.name for p in charts_dir.iterdir())
    assert made, "the chart's files"
    (charts_dir / "0000000000000000.svg").write_text("<svg/>")  # an earlier build's chart
    (charts_dir / "0000000000000000.1.csv").write_text("a\n")
    assert finish.remove_stale(app, [CHART_DIR.as_posix()]) == 2
    assert sorted(p.name for p in charts_dir.iterdir()) == made
    manifest = getattr(app.env, finish.HASHED_KEY)
    assert {name.split(".")[0] for name in made} == set(manifest[CHART_PAGE][CHART_DIR.as_posix()])
    # The front page shows the chapter's chart, so the chapter's manifest covers its files too.
    front = soup(app, "index").find("img", class_="dx-chart-light")
    assert resolve(app.outdir, "index", front["src"]).is_file() and manifest["index"] == {}
