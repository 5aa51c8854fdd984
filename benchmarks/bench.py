#!/usr/bin/env python3
"""Benchmarks for Defection Explained: run with ``make bench``.

Measures, on the real book, in a private copy of the repository
(``benchmarks/work/repo``; the checkout itself is never built or changed):

1. builds: cold (empty cache), a rebuild with no change, and a rebuild after
   editing one chapter, checking from the build log that only that chapter's
   notebook executed;
2. every page in headless Chromium (Playwright): bytes and requests, time to
   first chart paint, time until the charts are interactive, how the chart
   JavaScript is loaded and cached;
3. every page with Lighthouse (desktop and mobile presets);
4. the same for a baseline built in the same run: a default Jupyter Book page
   with one Altair chart (default renderer, scripts from a CDN).

Pages are served by ``python -m http.server`` on 127.0.0.1. Chromium gets
``--proxy-server=http://127.0.0.1:9``: every host but loopback fails at once,
so nothing leaves the machine (the baseline's CDN scripts fail, as offline).

Writes ``benchmarks/RESULTS.md`` (targets vs measured) and the raw numbers to
``benchmarks/work/results.json``. Benchmarks report numbers; a missed target is
marked in the table and the exit status stays 0. The exit status is non-zero
only if nothing could be measured (no site was built).

Knobs (environment): BENCH_REPORT_ONLY=1 (rewrite RESULTS.md from results.json),
BENCH_SKIP_BUILD=1 (measure the copy built by an earlier run), BENCH_LH_RUNS (Lighthouse runs per
chapter page and preset, the median run by performance is kept; default 3; other pages get one), BENCH_EDIT_CHAPTER (docname of the chapter to
edit, default the first chapter with code), BENCH_SKIP_LIGHTHOUSE=1,
BENCH_SKIP_MOBILE_TIMING=1, BENCH_SKIP_DEPLOYED=1 (no second Lighthouse pass on
chapter pages served with gzip + max-age=600, as GitHub Pages serves them), CHROMIUM (default /usr/bin/chromium).
"""
from __future__ import annotations

import datetime as dt
import gzip
import json
import os
import platform
import resource
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import traceback
import urllib.request
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import unquote, urlparse


sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tools.sitekit import is_chapter, toc_docnames  # noqa: E402  (one reader of _toc.yml)

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "benchmarks"
WORK = BENCH / "work"
REPO = WORK / "repo"
LOGS = WORK / "logs"
LH_OUT = WORK / "lighthouse"
RESULTS_MD = BENCH / "RESULTS.md"
RESULTS_JSON = WORK / "results.json"
VENV_BIN = Path(sys.prefix) / "bin"          # the venv running this script (/work/main/.venv)
JUPYTER_BOOK = VENV_BIN / "jupyter-book"
PYTHON = VENV_BIN / "python"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
NODE_MODULES = BENCH / "node_modules"
LIGHTHOUSE = NODE_MODULES / ".bin" / "lighthouse"
LH_RUNS = max(1, int(os.environ.get("BENCH_LH_RUNS", "3")))   # per chapter page and preset
SKIP_LH = os.environ.get("BENCH_SKIP_LIGHTHOUSE") == "1"
SKIP_MOBILE = os.environ.get("BENCH_SKIP_MOBILE_TIMING") == "1"
SKIP_DEPLOYED = os.environ.get("BENCH_SKIP_DEPLOYED") == "1"

# Every host but loopback (implicitly bypassed) goes to a closed port: no traffic leaves.
NO_OUTSIDE = "--proxy-server=http://127.0.0.1:9"
BROWSER_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
LH_CHROME_FLAGS = ["--headless", *BROWSER_FLAGS, NO_OUTSIDE]

TARGETS = {
    "lh_perf_desktop": 0.98,
    "lh_perf_mobile": 0.90,
    "lh_accessibility": 1.0,
    "lh_best_practices": 1.0,
    "lh_seo": 0.9,
    "chart_page_bytes_ratio": 0.5,
    "cold_build_s": 60.0,
    "nochange_build_s": 10.0,
}

# How charts are found. Ours: a static SVG, interactive when data-dx-state="interactive".
# The baseline: Altair's default renderer draws into div#altair-viz-* via vega-embed.
SITE_CHARTS = {
    "container": ".dx-chart",
    "visual": ".dx-chart-static svg, .dx-chart-live svg, .dx-chart svg",
    "interactive": '.dx-chart[data-dx-state="interactive"]',
    "failed": '.dx-chart[data-dx-state="static"]',
    "js": r"dx-charts|vega",
}
BASELINE_CHARTS = {
    "container": '[id^="altair-viz-"]',
    "visual": '[id^="altair-viz-"] svg, [id^="altair-viz-"] canvas',
    "interactive": '[id^="altair-viz-"].vega-embed',
    "failed": '[id^="altair-viz-"] .error',
    "js": r"vega",
}

ANSI = re.compile(r"\x1b\[[0-9;]*m")


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", flush=True)


# --------------------------------------------------------------------------------------
# 1. The private copy and the builds
# --------------------------------------------------------------------------------------

COPY_IGNORE = shutil.ignore_patterns(
    ".venv", "_build", ".git", "node_modules", "benchmarks", ".pytest_cache", "__pycache__",
    "*.egg-info", ".ipynb_checkpoints", "pdf", ".jupyter_cache")


def snapshot_repo() -> dict:
    """Copy the checkout (minus .venv, _build, .git, benchmarks) to benchmarks/work/repo."""
    if REPO.exists():
        shutil.rmtree(REPO)
    REPO.parent.mkdir(parents=True, exist_ok=True)
    shutil.copytree(ROOT, REPO, ignore=COPY_IGNORE, symlinks=True)
    files = [p for p in REPO.rglob("*") if p.is_file()]
    return {"taken": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
            "files": len(files), "bytes": sum(p.stat().st_size for p in files)}


def build_env() -> dict:
    env = dict(os.environ)
    # The venv has `defection` installed editable from /work/main; put the copy first
    # so the build and its kernels import the copy's package and read the copy's data.
    env["PYTHONPATH"] = str(REPO) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env["DEFECTION_DATA"] = str(REPO / "data")
    env["PATH"] = str(VENV_BIN) + os.pathsep + env.get("PATH", "")
    env.pop("DX_SITE", None)
    return env


def parse_build_log(text: str) -> dict:
    text = ANSI.sub("", text)
    executed = re.findall(r"^(.+?): Executing notebook using", text, re.M)
    done = re.findall(r"^(.+?): Executed notebook in ([\d.]+) seconds", text, re.M)
    cached = re.findall(r"^(.+?): Using cached notebook", text, re.M)
    warnings = [ln for ln in text.splitlines() if re.search(r"\b(WARNING|ERROR)\b", ln)
                and "Kernel is running over TCP" not in ln]

    def rel(p):
        try:
            return str(Path(p).resolve().relative_to(REPO))
        except ValueError:
            return p

    return {
        "executed": [rel(p) for p in executed],
        "execution_seconds": {rel(p): float(s) for p, s in done},
        "from_cache": [rel(p) for p in cached],
        "warnings": warnings[:20],
        "n_warnings": len(warnings),
        "succeeded": "build succeeded" in text,
    }


def run_build(name: str, source: Path, extra: list[str], env: dict, cwd: Path) -> dict:
    LOGS.mkdir(parents=True, exist_ok=True)
    cmd = [str(JUPYTER_BOOK), "build", str(source), "--path-output", str(source), *extra]
    log(f"build '{name}': {' '.join(cmd)}")
    load = os.getloadavg()[0]
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=1800)
    seconds = time.perf_counter() - t0
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
    text = proc.stdout + "\n--- stderr ---\n" + proc.stderr
    (LOGS / f"{name}.log").write_text(text)
    info = {"seconds": round(seconds, 2), "cpu_seconds": round(cpu, 1), "loadavg_before": round(load, 2),
            "returncode": proc.returncode,
            "log": str((LOGS / f"{name}.log").relative_to(ROOT)), **parse_build_log(text)}
    log(f"build '{name}': {seconds:.1f} s, rc={proc.returncode}, executed {info['executed']}")
    return info



def source_of(book: Path, docname: str) -> Path | None:
    for ext in (".md", ".ipynb", ".rst"):
        if (book / (docname + ext)).is_file():
            return book / (docname + ext)
    return None


def chapter_to_edit(pages: list[str]) -> str | None:
    wanted = os.environ.get("BENCH_EDIT_CHAPTER")
    if wanted:
        return wanted
    for name in pages:
        src = source_of(REPO, name)
        if is_chapter(name) and src and src.suffix == ".md" and "{code-cell}" in src.read_text():
            return name
    return None


EDIT_CELL = """

```{code-cell} ipython3
:tags: [remove-cell]
# benchmarks/bench.py: a code change, so this chapter (and only it) executes again.
_bench_edit = %r
```
"""


def profile_nochange(env: dict, flags: list[str]) -> dict:
    """One more no-change build under cProfile: which listeners and imports cost the time."""
    import pstats

    out = LOGS / "nochange.prof"
    cmd = [str(PYTHON), "-m", "cProfile", "-o", str(out), str(JUPYTER_BOOK), "build", str(REPO),
           "--path-output", str(REPO), *flags]
    log("build 'nochange' again under cProfile")
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=1800)
    if not out.is_file():
        return {"error": proc.stderr[-1000:]}
    st = pstats.Stats(str(out)).stats
    total = max(v[3] for v in st.values())

    def name(key):
        f = key[0].split("site-packages/")[-1].replace(str(REPO) + "/", "")
        return f"{f}:{key[2]}"

    emit = [k for k in st if k[0].endswith("sphinx/events.py") and k[2] == "emit"]
    listeners: dict[str, float] = {}
    for k, v in st.items():
        for e in emit:
            if e in v[4]:
                listeners[name(k)] = listeners.get(name(k), 0) + v[4][e][3]
    imports: dict[str, float] = {}
    for k, v in st.items():
        if k[2] == "<module>" and "site-packages/" in k[0]:
            parts = k[0].split("site-packages/")[-1].split("/")
            if (len(parts) == 2 and parts[1] == "__init__.py") or (len(parts) == 1 and parts[0].endswith(".py")):
                pkg = parts[0].removesuffix(".py")
                imports[pkg] = max(imports.get(pkg, 0), v[3])

    def top(d, n):
        return sorted(((k, round(v, 2)) for k, v in d.items() if v >= 0.2), key=lambda kv: -kv[1])[:n]

    return {"total_s": round(total, 1), "listeners": top(listeners, 8), "imports": top(imports, 10),
            "file": str(out.relative_to(ROOT))}


def html_composition(html_dir: Path, pages: list[str]) -> dict:
    """What a page's HTML is made of: inline SVG, chart specs, other inline scripts, the rest."""
    out = {}
    for n in pages:
        f = html_dir / f"{n}.html"
        if not f.is_file():
            continue
        text = f.read_text()
        parts = {
            "svg": re.findall(r"<svg\b.*?</svg>", text, re.S),
            "chart_spec": re.findall(r"<script[^>]*dx-chart-spec[^>]*>.*?</script>", text, re.S),
            "inline_script": [m for m in re.findall(r"<script(?![^>]*\bsrc=)[^>]*>.*?</script>", text, re.S)
                              if "dx-chart-spec" not in m[:200]],
            "table": re.findall(r"<table\b.*?</table>", text, re.S),
        }
        m = re.search(r"<article\b.*?</article>", text, re.S)
        article = len(m.group(0).encode()) if m else 0
        size = lambda xs: sum(len(x.encode()) for x in xs)
        gz = lambda xs: len(gzip.compress("".join(xs).encode(), 6)) if xs else 0
        total = len(text.encode())
        row = {"bytes": total, "gzip": len(gzip.compress(text.encode(), 6))}
        for k, xs in parts.items():
            row[k] = {"count": len(xs), "bytes": size(xs), "gzip": gz(xs)}
        inside = sum(row[k]["bytes"] for k in ("svg", "chart_spec", "table"))
        row["article_rest"] = max(0, article - inside)
        row["chrome"] = total - article - row["inline_script"]["bytes"]
        out[n] = row
    return out


def run_builds(pages: list[str]) -> dict:
    env = build_env()
    flags = ["-W", "-n", "--keep-going"]          # as `make book`
    shutil.rmtree(REPO / "_build", ignore_errors=True)
    builds = {"command": f"{JUPYTER_BOOK} build <copy> --path-output <copy> {' '.join(flags)}"}
    builds["cold"] = run_build("cold", REPO, flags, env, REPO)
    builds["nochange"] = run_build("nochange", REPO, flags, env, REPO)
    builds["nochange_profile"] = profile_nochange(env, flags)
    chapter = chapter_to_edit(pages)
    builds["edited_chapter"] = chapter
    if chapter:
        src = source_of(REPO, chapter)
        src.write_text(src.read_text() + EDIT_CELL % time.time())
        info = run_build("edit-one-chapter", REPO, flags, env, REPO)
        want = str(src.relative_to(REPO))
        info["only_that_chapter_executed"] = info["executed"] == [want]
        builds["edit"] = info
    return builds


# --------------------------------------------------------------------------------------
# 2. The baseline: a default Jupyter Book with one Altair chart
# --------------------------------------------------------------------------------------

BASELINE_PAGE = '''\
---
jupytext:
  text_representation:
    extension: .md
    format_name: myst
kernelspec:
  display_name: Python 3
  language: python
  name: python3
---

# A chart

A default Jupyter Book page with one Altair chart, drawn by Altair's default
renderer (vega-embed, with its scripts loaded from a CDN).

```{code-cell} ipython3
import altair as alt
import pandas as pd

cases = pd.DataFrame({
    "decade": ["1940s", "1950s", "1960s", "1970s", "1980s", "1990s", "2000s", "2010s"],
    "cases": [9, 21, 24, 19, 17, 12, 6, 14],
})
alt.Chart(cases, title="Cases per decade").mark_bar().encode(
    x=alt.X("decade:O", title="Decade"),
    y=alt.Y("cases:Q", title="Cases"),
    tooltip=["decade", "cases"],
)
```
'''


def build_baseline(tmp: Path) -> dict:
    book = tmp / "baseline"
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "DEFECTION_DATA")}
    env["PATH"] = str(VENV_BIN) + os.pathsep + env.get("PATH", "")
    subprocess.run([str(JUPYTER_BOOK), "create", str(book)], check=True, capture_output=True, env=env)
    # The template as created, plus one chart page; its notebooks.ipynb is dropped (it needs
    # matplotlib, which the book does not install). Config, theme and logo stay default.
    (book / "notebooks.ipynb").unlink(missing_ok=True)
    (book / "chart.md").write_text(BASELINE_PAGE)
    (book / "_toc.yml").write_text("format: jb-book\nroot: intro\nchapters:\n"
                                   "- file: markdown\n- file: markdown-notebooks\n- file: chart\n")
    info = run_build("baseline", book, [], env, tmp)
    html = (book / "_build" / "html" / "chart.html")
    text = html.read_text() if html.is_file() else ""
    info["html"] = str(book / "_build" / "html")
    info["cdn_scripts"] = sorted(set(re.findall(r'"(https://cdn\.jsdelivr\.net/npm/[^"?]+)(?:\?noext)?"', text)))
    info["chart_in_html"] = 'id="altair-viz-' in text or "altair-viz-" in text
    return info


def cdn_estimate(cdn_urls: list[str]) -> dict:
    """Sizes of the CDN scripts the baseline would fetch online, from the npm packages
    pinned in benchmarks/package.json (jsDelivr serves each package's `jsdelivr` file)."""
    out = {"scripts": [], "bytes": 0, "gzip_bytes": 0, "notes": []}
    for url in cdn_urls:
        m = re.match(r"https://cdn\.jsdelivr\.net/npm/((?:@[^/]+/)?[^@/]+)(?:@([^/?]+))?", url)
        if not m or m.group(1) == "vega-lib":          # vega-lib: only for requirejs, unused
            continue
        pkg, wanted = m.group(1), m.group(2) or "latest"
        pj = NODE_MODULES / pkg / "package.json"
        if not pj.is_file():
            out["notes"].append(f"{pkg} not installed in benchmarks/node_modules: not counted")
            continue
        meta = json.loads(pj.read_text())
        rel = meta.get("jsdelivr") or meta.get("unpkg") or meta.get("main")
        f = NODE_MODULES / pkg / rel
        data = f.read_bytes()
        ok = wanted == "latest" or meta["version"] == wanted or meta["version"].split(".")[0] == wanted
        if not ok:
            out["notes"].append(f"{pkg}: CDN asks for {wanted}, npm copy is {meta['version']}")
        out["scripts"].append({"url": url, "package": f"{pkg}@{meta['version']}", "file": rel,
                               "bytes": len(data), "gzip_bytes": len(gzip.compress(data, 6))})
        out["bytes"] += len(data)
        out["gzip_bytes"] += len(gzip.compress(data, 6))
    return out


# --------------------------------------------------------------------------------------
# 3. Serving
# --------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def serve(directory: Path, like_github_pages: bool = False):
    """`python -m http.server` on 127.0.0.1; or serve_gzip.py (gzip + max-age=600)."""
    port = free_port()
    if like_github_pages:
        cmd = [str(PYTHON), str(BENCH / "serve_gzip.py"), str(port), str(directory)]
    else:
        cmd = [str(PYTHON), "-m", "http.server", str(port), "--bind", "127.0.0.1", "--directory", str(directory)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(url + "/", timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()


# --------------------------------------------------------------------------------------
# 4. Pages in Chromium (Playwright)
# --------------------------------------------------------------------------------------

# Runs before any page script. Every animation frame (just before it is painted) it
# notes when a chart first has a size (first chart paint) and when charts become
# interactive; it notes when the Vega runtime starts (window.vega is assigned) and
# when the chart script first marks a chart (data-dx-state).
INIT_SCRIPT = r"""
(cfg => {
  const t = window.__bench = {firstChartPaint: null, firstChartInView: null, firstInteractive: null,
    allInteractive: null, vegaExec: null, chartJsFirstAction: null, chartScriptRan: null, nCharts: 0, frames: 0};
  let v;
  try {
    Object.defineProperty(window, 'vega', {configurable: true, enumerable: true,
      get() { return v; }, set(x) { if (t.vegaExec === null) t.vegaExec = performance.now(); v = x; }});
  } catch (e) {}
  // A chart script's first top-level call into the DOM (document.currentScript is it).
  const jsRe = new RegExp(cfg.js);
  function ran() {
    const cs = document.currentScript;
    if (t.chartScriptRan === null && cs && cs.src && jsRe.test(new URL(cs.src, location.href).pathname))
      t.chartScriptRan = performance.now();
  }
  for (const [proto, names] of [[Document.prototype, ['querySelectorAll', 'querySelector', 'getElementById',
        'getElementsByClassName', 'getElementsByTagName', 'createElement']], [EventTarget.prototype, ['addEventListener']]]) {
    for (const name of names) {
      const orig = proto[name];
      proto[name] = function (...args) { ran(); return orig.apply(this, args); };
    }
  }
  new MutationObserver(ms => {
    if (t.chartJsFirstAction === null && ms.some(m => m.attributeName === 'data-dx-state'))
      t.chartJsFirstAction = performance.now();
  }).observe(document, {subtree: true, attributes: true, attributeFilter: ['data-dx-state']});
  const started = performance.now();
  function frame() {
    const now = performance.now();
    t.frames++;
    const n = document.querySelectorAll(cfg.container).length;
    t.nCharts = n;
    if (t.firstChartPaint === null) {
      for (const el of document.querySelectorAll(cfg.visual)) {
        const r = el.getBoundingClientRect();
        if (r.width > 0 && r.height > 0) {
          t.firstChartPaint = now;
          t.firstChartInView = r.top < innerHeight && r.bottom > 0;
          break;
        }
      }
    }
    const ni = document.querySelectorAll(cfg.interactive).length;
    if (ni > 0 && t.firstInteractive === null) t.firstInteractive = now;
    if (n > 0 && ni === n && t.allInteractive === null) t.allInteractive = now;
    const done = n > 0 && ni + document.querySelectorAll(cfg.failed).length >= n;
    if (!done && now - started < 120000) requestAnimationFrame(frame);
  }
  requestAnimationFrame(frame);
})
"""

PROFILES = {
    "desktop": {"context": {"viewport": {"width": 1280, "height": 900}}, "throttle": None,
                "label": "desktop 1280x900, no throttling (loopback)"},
    "mobile": {"context": {"viewport": {"width": 412, "height": 823}, "device_scale_factor": 1.75,
                           "is_mobile": True, "has_touch": True},
               # Lighthouse's mobile profile: slow 4G (150 ms RTT, 1.6 Mbps down) and 4x CPU slowdown.
               "throttle": {"latency": 150, "down": 1.6384 * 1024 * 1024 / 8, "up": 750 * 1024 / 8, "cpu": 4},
               "label": "mobile 412x823, slow 4G (150 ms, 1.6 Mbps) + 4x CPU slowdown (CDP)"},
}

_gzip_cache: dict[Path, int] = {}


def local_file(root: Path, url: str) -> Path | None:
    p = urlparse(url)
    if p.hostname != "127.0.0.1":
        return None
    rel = unquote(p.path).lstrip("/")
    f = root / rel
    if f.is_dir() or not rel:
        f = f / "index.html"
    return f if f.is_file() else None


def gzip_size(f: Path | None) -> int | None:
    if f is None:
        return None
    if f not in _gzip_cache:
        data = f.read_bytes()
        if f.suffix in (".woff2", ".woff", ".png", ".jpg", ".jpeg", ".gif", ".webp", ".ico"):
            _gzip_cache[f] = len(data)            # already compressed: served as is
        else:
            _gzip_cache[f] = len(gzip.compress(data, 6))
    return _gzip_cache[f]


def kind_of(resource_type: str) -> str:
    return {"document": "html", "stylesheet": "css", "script": "js", "font": "font",
            "image": "image"}.get(resource_type, "other")


def summarise_requests(rows: list[dict]) -> dict:
    out = {"requests": len(rows), "bytes": 0, "gzip_bytes": 0, "by_kind": {}}
    for r in rows:
        out["bytes"] += r["transfer"]
        out["gzip_bytes"] += r["gzip"] if r["gzip"] is not None else r["transfer"]
        k = out["by_kind"].setdefault(r["kind"], {"requests": 0, "bytes": 0})
        k["requests"] += 1
        k["bytes"] += r["transfer"]
    return out


def visit(browser, url: str, root: Path, charts: dict, profile: str) -> dict:
    prof = PROFILES[profile]
    context = browser.new_context(**prof["context"])
    context.add_init_script(INIT_SCRIPT + f"({json.dumps(charts)});")
    page = context.new_page()
    if prof["throttle"]:
        th = prof["throttle"]
        cdp = context.new_cdp_session(page)
        cdp.send("Network.enable")
        cdp.send("Network.emulateNetworkConditions", {
            "offline": False, "latency": th["latency"], "downloadThroughput": th["down"],
            "uploadThroughput": th["up"]})
        cdp.send("Emulation.setCPUThrottlingRate", {"rate": th["cpu"]})
    finished, failed, errors = [], [], []
    page.on("requestfinished", lambda r: finished.append(r))
    page.on("requestfailed", lambda r: failed.append({"url": r.url, "error": r.failure}))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    timeout = 120000 if prof["throttle"] else 30000
    page.goto(url, wait_until="load", timeout=timeout)
    try:
        page.wait_for_load_state("networkidle", timeout=timeout)
    except Exception:
        pass
    n_initial = len(finished)
    n_charts = page.locator(charts["container"]).count()
    done_js = ("(cfg) => { const n = document.querySelectorAll(cfg.container).length;"
               " return n > 0 && document.querySelectorAll(cfg.interactive).length"
               " + document.querySelectorAll(cfg.failed).length >= n; }")
    drawn = n_charts == 0
    if n_charts:
        for i in range(n_charts):
            try:
                page.locator(charts["container"]).nth(i).scroll_into_view_if_needed(timeout=10000)
            except Exception:
                pass
        try:
            page.wait_for_function(done_js, arg=charts, timeout=timeout if charts is SITE_CHARTS else 10000)
            drawn = True
        except Exception:
            drawn = False
        try:
            page.wait_for_load_state("networkidle", timeout=timeout)
        except Exception:
            pass
        page.wait_for_timeout(500)
    bench = page.evaluate("() => window.__bench")
    perf = page.evaluate("""() => {
      const nav = performance.getEntriesByType('navigation')[0] || {};
      const fcp = performance.getEntriesByName('first-contentful-paint')[0];
      const res = performance.getEntriesByType('resource').map(e => ({name: e.name,
        responseEnd: e.responseEnd, transferSize: e.transferSize, initiator: e.initiatorType}));
      return {dcl: nav.domContentLoadedEventStart, load: nav.loadEventStart,
              fcp: fcp ? fcp.startTime : null, resources: res};
    }""")
    scripts = page.evaluate("""() => [...document.querySelectorAll('script')].map(s => ({
        src: s.src || null, defer: s.defer, async: s.async, module: s.type === 'module'}))""")
    states = page.eval_on_selector_all(charts["container"],
                                       "els => els.map(e => e.dataset.dxState || (e.querySelector('svg,canvas') ? 'drawn' : 'not drawn'))")
    rows = []
    for i, req in enumerate(finished):
        try:
            sizes = req.sizes()
        except Exception:
            sizes = {"responseBodySize": 0, "responseHeadersSize": 0}
        try:
            resp = req.response()
        except Exception:
            resp = None
        f = local_file(root, req.url)
        rows.append({"url": req.url, "kind": kind_of(req.resource_type),
                     "status": resp.status if resp else None,
                     "transfer": sizes["responseBodySize"] + max(0, sizes["responseHeadersSize"]),
                     "body": sizes["responseBodySize"], "gzip": gzip_size(f),
                     "initial": i < n_initial})
    context.close()
    chart_js = [r for r in rows if re.search(charts["js"], urlparse(r["url"]).path)]
    fcp = perf["fcp"]
    loaded = [e["responseEnd"] for e in perf["resources"] if re.search(charts["js"], urlparse(e["name"]).path)]
    script_loaded = min(loaded) if loaded else None
    paint = bench["firstChartPaint"]
    chart_paint = max(paint, fcp) if (paint is not None and fcp is not None) else paint
    chart_js_start = [bench["chartScriptRan"], bench["chartJsFirstAction"], bench["vegaExec"]]
    return {
        "url": url, "profile": profile, "charts": n_charts, "chart_states": states, "drawn": drawn,
        "initial": summarise_requests([r for r in rows if r["initial"]]),
        "full": summarise_requests(rows),
        "chart_js": [{"url": r["url"], "bytes": r["transfer"], "gzip": r["gzip"]} for r in chart_js],
        "failed_requests": failed, "console_errors": errors[:10],
        "fcp_ms": fcp, "dcl_ms": perf["dcl"], "load_ms": perf["load"],
        "first_chart_paint_ms": chart_paint, "first_chart_in_view": bench["firstChartInView"],
        "chart_script_ran_ms": bench["chartScriptRan"], "chart_script_loaded_ms": script_loaded,
        "chart_js_first_action_ms": bench["chartJsFirstAction"], "vega_exec_ms": bench["vegaExec"],
        "first_chart_interactive_ms": bench["firstInteractive"],
        "all_charts_interactive_ms": bench["allInteractive"],
        # The chart is on screen before chart JS draws anything: before the first draw starts
        # and before the Vega runtime runs. (dx-charts.js itself only registers an observer;
        # being deferred it may run just before first paint on a fast load: reported apart.)
        "chart_paint_before_chart_js": (chart_paint is not None and
                                        all(chart_paint <= x for x in chart_js_start[1:] if x is not None)),
        "chart_paint_before_chart_script": (chart_paint is not None and (bench["chartScriptRan"] is None
                                                                          or chart_paint <= bench["chartScriptRan"])),
        "scripts": scripts,
        "requests": rows,
    }


def without_js(browser, url: str, charts: dict) -> dict:
    context = browser.new_context(java_script_enabled=False, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto(url, wait_until="load")
    visual = page.locator(charts["visual"]).first
    out = {"visible": False, "height": 0}
    if visual.count():
        box = visual.bounding_box()
        out = {"visible": visual.is_visible(), "height": round(box["height"]) if box else 0,
               "aria_label": bool(visual.get_attribute("aria-label"))}
    context.close()
    return out


def cache_check(browser, first: str, second: str, charts: dict) -> dict:
    """Visit a chart page, then (same browser cache) a chart page again: is chart JS re-sent?"""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.add_init_script(INIT_SCRIPT + f"({json.dumps(charts)});")
    page = context.new_page()
    out = {}
    for step, url in (("first_visit", first), ("second_visit", second)):
        page.goto(url, wait_until="load")
        for i in range(page.locator(charts["container"]).count()):
            page.locator(charts["container"]).nth(i).scroll_into_view_if_needed()
        try:
            page.wait_for_function("() => window.__bench && window.__bench.allInteractive !== null", timeout=30000)
        except Exception:
            pass
        page.wait_for_load_state("networkidle")
        res = page.evaluate("() => performance.getEntriesByType('resource').map(e => "
                            "({name: e.name, transferSize: e.transferSize, encoded: e.encodedBodySize}))")
        out[step] = [r for r in res if re.search(charts["js"], urlparse(r["name"]).path)]
    context.close()
    return out


def measure_pages(site_url: str, site_root: Path, pages: list[str], baseline_url: str | None,
                  baseline_root: Path | None) -> dict:
    from playwright.sync_api import sync_playwright

    out = {"site": {}, "baseline": {}, "without_js": {}, "cache": None}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=[*BROWSER_FLAGS, NO_OUTSIDE])
        out["browser_version"] = browser.version
        profiles = ["desktop"] + ([] if SKIP_MOBILE else ["mobile"])
        for name in pages:
            for prof in profiles:
                if prof != "desktop" and not out["site"].get(name, {}).get("desktop", {}).get("charts"):
                    continue            # throttled timing only where there are charts to time
                log(f"chromium {prof}: {name}")
                try:
                    out["site"].setdefault(name, {})[prof] = visit(
                        browser, f"{site_url}/{name}.html", site_root, SITE_CHARTS, prof)
                except Exception as exc:
                    out["site"].setdefault(name, {})[prof] = {"error": repr(exc)}
            if out["site"][name].get("desktop", {}).get("charts"):
                out["without_js"][name] = without_js(browser, f"{site_url}/{name}.html", SITE_CHARTS)
        chart_pages = [n for n in pages if out["site"][n].get("desktop", {}).get("charts")]
        if chart_pages:
            second = chart_pages[1] if len(chart_pages) > 1 else chart_pages[0]
            out["cache"] = {"first": chart_pages[0], "second": second,
                            **cache_check(browser, f"{site_url}/{chart_pages[0]}.html",
                                          f"{site_url}/{second}.html", SITE_CHARTS)}
        if baseline_url:
            for prof in profiles:
                log(f"chromium {prof}: baseline chart page")
                try:
                    out["baseline"][prof] = visit(browser, f"{baseline_url}/chart.html", baseline_root,
                                                  BASELINE_CHARTS, prof)
                except Exception as exc:
                    out["baseline"][prof] = {"error": repr(exc)}
        browser.close()
    return out


# --------------------------------------------------------------------------------------
# 5. Lighthouse
# --------------------------------------------------------------------------------------


def lighthouse_once(url: str, preset: str, out_base: Path) -> dict:
    cmd = [str(LIGHTHOUSE), url, "--output=json", "--output=html", f"--output-path={out_base}",
           "--quiet", f"--chrome-flags={' '.join(LH_CHROME_FLAGS)}", "--max-wait-for-load=60000"]
    if preset == "desktop":
        cmd.append("--preset=desktop")
    env = {**os.environ, "CHROME_PATH": CHROMIUM}
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    report = Path(str(out_base) + ".report.json")
    if proc.returncode != 0 or not report.is_file():
        return {"error": (proc.stderr or proc.stdout)[-2000:]}
    return parse_lighthouse(json.loads(report.read_text()), report)


def parse_lighthouse(d: dict, report: Path) -> dict:
    a = d["audits"]
    cats = {k: v["score"] for k, v in d["categories"].items()}
    failing = []
    for cat_id, cat in d["categories"].items():
        for ref in cat["auditRefs"]:
            au = a.get(ref["id"], {})
            score = au.get("score")
            mode = au.get("scoreDisplayMode")
            if mode in ("notApplicable", "manual", "informative") or score is None:
                if not (cat_id == "performance" and au.get("details", {}).get("type") == "opportunity"):
                    continue
            threshold = 0.9 if ref.get("weight", 0) == 0 else 1
            if score is not None and score >= threshold:
                continue
            det = au.get("details") or {}
            items = []
            raw = det.get("items")
            for it in (raw if isinstance(raw, list) else [])[:6]:
                if isinstance(it, dict) and "url" in it:
                    items.append({k: it.get(k) for k in ("url", "totalBytes", "wastedBytes", "wastedMs") if k in it})
                elif isinstance(it, dict) and "node" in it and isinstance(it["node"], dict):
                    items.append({"node": it["node"].get("snippet"), "label": it["node"].get("nodeLabel")})
            failing.append({"category": cat_id, "id": ref["id"], "title": au.get("title"),
                            "score": score, "weight": ref.get("weight", 0),
                            "display": au.get("displayValue"),
                            "savings_ms": det.get("overallSavingsMs"),
                            "savings_bytes": det.get("overallSavingsBytes"),
                            "metric_savings": au.get("metricSavings"), "items": items})
    net = (a.get("network-requests", {}).get("details") or {}).get("items") or []
    net = net if isinstance(net, list) else []
    return {
        "scores": cats,
        "lcp_ms": a.get("largest-contentful-paint", {}).get("numericValue"),
        "fcp_ms": a.get("first-contentful-paint", {}).get("numericValue"),
        "tbt_ms": a.get("total-blocking-time", {}).get("numericValue"),
        "cls": a.get("cumulative-layout-shift", {}).get("numericValue"),
        "si_ms": a.get("speed-index", {}).get("numericValue"),
        "total_bytes": a.get("total-byte-weight", {}).get("numericValue"),
        "requests": len(net),
        "failed_requests": [i["url"] for i in net if i.get("statusCode", 200) in (-1, 0) or i.get("finished") is False],
        "failing_audits": failing,
        "lighthouse_version": d.get("lighthouseVersion"),
        "run_warnings": d.get("runWarnings"),
        "report": str(report.relative_to(ROOT)) if report.is_relative_to(ROOT) else str(report),
    }


def lighthouse(url: str, preset: str, label: str, runs_wanted: int = 1) -> dict:
    LH_OUT.mkdir(parents=True, exist_ok=True)
    runs = []
    for i in range(runs_wanted):
        base = LH_OUT / f"{label.replace('/', '__')}-{preset}-{i + 1}"
        log(f"lighthouse {preset} run {i + 1}/{runs_wanted}: {label}")
        try:
            runs.append(lighthouse_once(url, preset, base))
        except Exception as exc:
            runs.append({"error": repr(exc)})
    good = [r for r in runs if "error" not in r]
    if not good:
        return runs[0]
    good.sort(key=lambda r: r["scores"].get("performance") or 0)
    median = good[(len(good) - 1) // 2]
    median["runs"] = len(good)
    median["performance_all_runs"] = [r["scores"].get("performance") for r in good]
    return median


# --------------------------------------------------------------------------------------
# 6. RESULTS.md
# --------------------------------------------------------------------------------------


def kb(n) -> str:
    return "–" if n is None else f"{n / 1024:,.0f} KB"


def ms(n) -> str:
    return "–" if n is None else f"{n:,.0f} ms"


def sc(n) -> str:
    return "–" if n is None else f"{n:.2f}"


def ratio(a, b) -> str:
    return "–" if not a or not b else f"{a / b:.2f}×"


def status(ok) -> str:
    return "–" if ok is None else ("met" if ok else "**MISSED**")


def table(head: list[str], rows: list[list]) -> str:
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    lines += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(lines)


def short(url: str) -> str:
    p = urlparse(url)
    return (p.path if p.hostname == "127.0.0.1" else p.netloc + p.path)


def target_rows(R: dict) -> list[list]:
    rows = []
    pages = R["pages"]
    chapters = [n for n in pages if is_chapter(n)]
    lh = R.get("lighthouse", {}).get("site", {})

    def lh_check(preset, cat, bound, exact=False):
        vals = {n: lh.get(n, {}).get(preset, {}).get("scores", {}).get(cat) for n in chapters}
        known = {n: v for n, v in vals.items() if v is not None}
        if not known:
            return "not measured", None
        worst = min(known, key=known.get)
        ok = all(v >= bound for v in known.values()) and len(known) == len(chapters)
        missed = [f"{Path(n).name[:2]}: {v:.2f}" for n, v in known.items() if v < bound]
        text = f"min {known[worst]:.2f} ({Path(worst).name})"
        if missed:
            text += "; below: " + ", ".join(missed)
        return text, ok

    for preset, cat, bound, label in (
            ("desktop", "performance", TARGETS["lh_perf_desktop"], "Lighthouse performance, desktop, every chapter"),
            ("mobile", "performance", TARGETS["lh_perf_mobile"], "Lighthouse performance, mobile, every chapter"),
            ("desktop", "accessibility", TARGETS["lh_accessibility"], "Lighthouse accessibility, desktop, every chapter"),
            ("mobile", "accessibility", TARGETS["lh_accessibility"], "Lighthouse accessibility, mobile, every chapter"),
            ("desktop", "best-practices", TARGETS["lh_best_practices"], "Lighthouse best practices, desktop, every chapter"),
            ("mobile", "best-practices", TARGETS["lh_best_practices"], "Lighthouse best practices, mobile, every chapter"),
            ("desktop", "seo", TARGETS["lh_seo"], "Lighthouse SEO, desktop, every chapter"),
            ("mobile", "seo", TARGETS["lh_seo"], "Lighthouse SEO, mobile, every chapter")):
        op = "=" if bound == 1.0 else "≥"
        text, ok = lh_check(preset, cat, bound)
        rows.append([label, f"{op} {bound:.2f}", text, status(ok)])

    # Bytes: chart pages vs the baseline chart page.
    base = R.get("chromium", {}).get("baseline", {}).get("desktop", {})
    base_bytes = base.get("full", {}).get("bytes")
    online = base_bytes + R["baseline"]["cdn"]["bytes"] if base_bytes else None
    chart_pages = [n for n in pages if R["chromium"]["site"].get(n, {}).get("desktop", {}).get("charts")]
    online_gz = (base.get("full", {}).get("gzip_bytes") or 0) + R["baseline"]["cdn"]["gzip_bytes"]
    for n in chart_pages:
        full = R["chromium"]["site"][n]["desktop"]["full"]
        b = full["bytes"]
        ok = (b / online <= TARGETS["chart_page_bytes_ratio"]) if online else None
        rows.append([f"Chart page bytes vs baseline ({Path(n).name})", "≤ 0.50× baseline",
                     f"{kb(b)} vs {kb(online)} online baseline = {ratio(b, online)} "
                     f"({ratio(b, base_bytes)} of the {kb(base_bytes)} it loads offline; "
                     f"≈gzip {kb(full['gzip_bytes'])} vs {kb(online_gz)} = {ratio(full['gzip_bytes'], online_gz)})",
                     status(ok)])
    if not chart_pages:
        rows.append(["Chart page bytes vs baseline", "≤ 0.50× baseline", "no chart page in the book", "–"])

    # First chart visible before chart JavaScript.
    for n in chart_pages:
        d = R["chromium"]["site"][n]
        nojs = R["chromium"]["without_js"].get(n, {})
        parts, oks = [], []
        for prof in ("desktop", "mobile"):
            v = d.get(prof)
            if not v or "error" in v:
                continue
            js = [x for x in (v["chart_js_first_action_ms"], v["vega_exec_ms"]) if x is not None]
            parts.append(f"{prof}: painted {ms(v['first_chart_paint_ms'])}, first chart JS draw "
                         f"{ms(min(js)) if js else 'never'}, dx-charts.js ran {ms(v['chart_script_ran_ms'])}"
                         + ("" if v.get("chart_paint_before_chart_script", True) else " (before the paint)"))
            oks.append(v["chart_paint_before_chart_js"])
        parts.append(f"without JS: {'visible' if nojs.get('visible') else 'NOT visible'}, {nojs.get('height', 0)} px tall")
        oks.append(bool(nojs.get("visible")))
        rows.append([f"First chart visible before chart JS runs ({Path(n).name})",
                     "static SVG painted before chart JS draws",
                     "; ".join(parts), status(all(oks))])

    js = R.get("chart_js_checks", {})
    rows.append(["Chart JS deferred", "defer / loaded on demand", js.get("deferred_text", "–"), status(js.get("deferred"))])
    rows.append(["Chart JS shared as one cached file", "one URL, cached on 2nd page", js.get("shared_text", "–"), status(js.get("shared"))])
    rows.append(["Chart JS not loaded on chart-free pages", "0 requests", js.get("chart_free_text", "–"), status(js.get("chart_free"))])

    b = R["builds"]
    cold, noch = b.get("cold", {}), b.get("nochange", {})
    rows.append(["Cold build (empty cache)", f"≤ {TARGETS['cold_build_s']:.0f} s",
                 f"{cold.get('seconds', '–')} s ({len(cold.get('executed', []))} notebooks executed, rc {cold.get('returncode')})",
                 status(cold.get("seconds", 1e9) <= TARGETS["cold_build_s"] if cold else None)])
    rows.append(["Rebuild, no change", f"≤ {TARGETS['nochange_build_s']:.0f} s",
                 f"{noch.get('seconds', '–')} s ({len(noch.get('executed', []))} notebooks executed)",
                 status(noch.get("seconds", 1e9) <= TARGETS["nochange_build_s"] if noch else None)])
    e = b.get("edit")
    if e:
        rows.append([f"Rebuild after editing one chapter ({b['edited_chapter']})", "only that notebook executes",
                     f"{e['seconds']} s; executed: {', '.join(e['executed']) or 'none'}",
                     status(e["only_that_chapter_executed"])])
    return rows


def chart_js_checks(R: dict) -> dict:
    site = R["chromium"]["site"]
    pages = R["pages"]
    out = {}
    chart_pages = [n for n in pages if site.get(n, {}).get("desktop", {}).get("charts")]
    free_pages = [n for n in pages if n not in chart_pages and "error" not in site.get(n, {}).get("desktop", {})]
    # deferred: every chart script in the HTML has defer/async; the runtime is not in the HTML.
    bad, runtime_in_html = [], []
    for n in chart_pages:
        for s in site[n]["desktop"]["scripts"]:
            if s["src"] and re.search(SITE_CHARTS["js"], urlparse(s["src"]).path):
                if "vega" in s["src"] and not s["async"]:
                    runtime_in_html.append(n)
                elif not (s["defer"] or s["async"] or s["module"]):
                    bad.append(f"{Path(n).name}: {short(s['src'])}")
    if chart_pages:
        out["deferred"] = not bad and not runtime_in_html
        out["deferred_text"] = ("dx-charts.js has `defer`; the Vega runtime is injected (async) when a chart nears the viewport"
                                if out["deferred"] else f"blocking: {bad + runtime_in_html}")
    # shared: one runtime URL over all chart pages, and not re-sent on the second chart page.
    urls = sorted({short(j["url"]) for n in chart_pages for j in site[n]["desktop"]["chart_js"]})
    cache = R["chromium"].get("cache")
    if chart_pages and cache:
        second = cache.get("second_visit", [])
        resent = [r for r in second if r["transferSize"] >= max(1, r["encoded"])]
        runtime_urls = [u for u in urls if "vega" in u]
        out["shared"] = len(runtime_urls) == 1 and not resent
        how = ", ".join(f"{short(r['name'])}: {r['transferSize']} B transferred" for r in second) or "no chart JS requested"
        out["shared_text"] = (f"chart JS files: {', '.join(urls)}; second visit ({Path(cache['second']).name}): {how}"
                              + (" (same page revisited: the book has one chart page)" if cache["first"] == cache["second"] else ""))
    # chart-free pages
    loaded = {n: [short(j["url"]) for j in site[n]["desktop"]["chart_js"]] for n in free_pages}
    loaded = {n: v for n, v in loaded.items() if v}
    out["chart_free"] = not loaded if free_pages else None
    out["chart_free_text"] = (f"{len(free_pages)} chart-free pages, chart JS requested on: "
                              + (", ".join(f"{n} ({', '.join(v)})" for n, v in loaded.items()) or "none"))
    return out


def heavy_resources(R: dict) -> list[list]:
    """The resources that cost most, over every page of the book (desktop, charts drawn)."""
    agg = {}
    pages = R["pages"]
    for n in pages:
        v = R["chromium"]["site"].get(n, {}).get("desktop")
        if not v or "error" in v:
            continue
        for r in v["requests"]:
            key = short(r["url"])
            a = agg.setdefault(key, {"bytes": r["body"], "gzip": r["gzip"], "kind": r["kind"], "pages": set()})
            a["bytes"] = max(a["bytes"], r["body"])
            a["pages"].add(n)
    rows = []
    for url, a in sorted(agg.items(), key=lambda kv: -kv[1]["bytes"])[:20]:
        where = "all pages" if len(a["pages"]) == len(pages) else f"{len(a['pages'])} of {len(pages)} pages"
        rows.append([f"`{url}`", a["kind"], kb(a["bytes"]), kb(a["gzip"]), where])
    return rows


def failing_audits(R: dict) -> list[list]:
    agg = {}
    lh = R.get("lighthouse", {}).get("site", {})
    for n, presets in lh.items():
        for preset, v in presets.items():
            for f in v.get("failing_audits", []):
                key = (f["category"], f["id"])
                a = agg.setdefault(key, {"title": f["title"], "pages": set(), "display": {}, "items": {},
                                         "weight": f["weight"]})
                a["pages"].add(f"{Path(n).name[:12]} {preset[0]}")
                score = f["score"] if f["score"] is not None else 1
                if f["display"] and score <= a.setdefault("worst", {}).get(preset, 2):
                    a["worst"][preset] = score           # show the value of the worst page
                    a["display"][preset] = f["display"]
                for it in f["items"]:
                    if "url" in it:
                        a["items"][short(it["url"])] = max(a["items"].get(short(it["url"]), 0),
                                                           it.get("wastedBytes") or it.get("wastedMs") or it.get("totalBytes") or 0)
                    elif it.get("node"):
                        a["items"].setdefault(f"`{it['node'][:60]}`", 0)
    rows = []
    for (cat, aid), a in sorted(agg.items(), key=lambda kv: (kv[0][0], -kv[1]["weight"], -len(kv[1]["pages"]))):
        if not a["display"] and not a["items"] and not a["weight"]:
            continue                      # an insight with nothing to show
        top = sorted(a["items"].items(), key=lambda kv: -kv[1])[:4]
        rows.append([cat, f"`{aid}`", a["title"], a["weight"], len(a["pages"]),
                     "; ".join(f"{k}: {v}" for k, v in a["display"].items()) or "–",
                     ", ".join(k if k.startswith("`") else f"`{k}`" for k, _ in top) or "–"])
    return rows


def write_results(R: dict) -> None:
    pages = R["pages"]
    site = R["chromium"]["site"]
    base = R["chromium"].get("baseline", {})
    lh = R.get("lighthouse", {})
    out = []
    w = out.append
    w("# Benchmark results\n")
    w(f"Generated by `make bench` (`benchmarks/bench.py`) on {R['finished']}; the book was copied from "
      f"the checkout at {R['snapshot']['taken']}. Numbers, not tests: a missed target is marked "
      "**MISSED** and the run still exits 0. Raw numbers: `benchmarks/work/results.json`; build logs "
      "and Lighthouse reports (JSON + HTML): `benchmarks/work/`.\n")
    env = R["environment"]
    w(f"Machine: {env['cpus']} CPUs, load average {env['loadavg']} at start; {env['python']}; "
      f"jupyter-book {env['jupyter_book']}; Chromium {R['chromium'].get('browser_version', '?')}; "
      f"Lighthouse {env.get('lighthouse', '?')} (Node {env.get('node', '?')}), "
      f"{R.get('lh_runs', LH_RUNS)} run(s) per chapter page and preset (median by performance kept; the "
      "others and the baseline: 1). Pages served by `python -m http.server` "
      "on 127.0.0.1, which does not compress: byte counts are uncompressed transfers; the ≈gzip "
      "columns estimate what a compressing host (GitHub Pages) would send.\n")

    w("## Targets\n")
    w(table(["measure", "target", "measured", "status"], target_rows(R)) + "\n")

    # Builds
    b = R["builds"]
    w("## Builds\n")
    w(f"In a private copy (`benchmarks/work/repo`), with `{b['command']}` (as `make book`).\n")
    rows = []
    for key, label in (("cold", "cold (no `_build`, empty jupyter-cache)"), ("nochange", "rebuild, no change"),
                       ("edit", f"rebuild after editing `{b.get('edited_chapter')}` (a code cell appended)")):
        v = b.get(key)
        if not v:
            continue
        rows.append([label, f"{v['seconds']} s", f"{v.get('cpu_seconds', '–')} s", v.get("loadavg_before", "–"),
                     v["returncode"], len(v["executed"]),
                     ", ".join(f"{Path(k).name} {s:.1f} s" for k, s in v["execution_seconds"].items()) or "–",
                     len(v["from_cache"]), v["n_warnings"]])
    w(table(["build", "wall time", "CPU time", "load avg before", "exit", "notebooks executed",
             "execution time (from the log)", "from cache", "warnings"], rows) + "\n")
    w("*CPU time*: user + system seconds of the build and its kernels, less sensitive than wall time "
      "to other work on the machine; *load avg*: 1-minute load average just before (the machine has "
      f"{R['environment']['cpus']} CPUs; above that, wall times are inflated by other processes).\n")
    prof = b.get("nochange_profile")
    if prof and "error" not in prof:
        w(f"Where a no-change rebuild's time goes (cProfile of one more no-change build: {prof['total_s']} s "
          "in total; cumulative times, nested imports counted in their parents):\n")
        rows = [[f"`{k}`", f"{v:.2f} s"] for k, v in prof["listeners"]]
        w(table(["Sphinx event listener", "time"], rows) + "\n")
        rows = [[f"`{k}`", f"{v:.2f} s"] for k, v in prof["imports"]]
        w(table(["import (package)", "time"], rows) + "\n")
    if b.get("edit"):
        e = b["edit"]
        w(f"Edit check: the log shows {len(e['executed'])} notebook(s) executed "
          f"({', '.join(e['executed']) or 'none'}): "
          + ("only the edited chapter, as it should.\n" if e["only_that_chapter_executed"] else "**not only the edited chapter**.\n"))
    for key in ("cold", "nochange", "edit"):
        v = b.get(key)
        if v and v["warnings"]:
            w(f"Warnings in the {key} build (first {len(v['warnings'])}):\n\n```\n" + "\n".join(v["warnings"]) + "\n```\n")
    bb = R["baseline"]
    if b.get("cold") is None:
        w("Builds not run in this run (BENCH_SKIP_BUILD=1).\n")
    w(f"Baseline build (`jupyter-book create` template, its `notebooks.ipynb` dropped, plus the chart page; default `execute_notebooks: force`): {bb['build'].get('seconds')} s.\n")

    # Bytes and requests
    w("## Bytes and requests (Chromium, desktop, empty cache)\n")
    w("*Initial*: after `load` and network idle, without scrolling. *All charts drawn*: after every "
      "chart was scrolled into view and drawn. Bytes are transferred bytes (headers + body).\n")
    rows = []
    base_full = base.get("desktop", {}).get("full", {})
    online_bytes = (base_full.get("bytes") or 0) + bb["cdn"]["bytes"]
    online_gz = (base_full.get("gzip_bytes") or 0) + bb["cdn"]["gzip_bytes"]
    for n in pages:
        v = site.get(n, {}).get("desktop")
        if not v or "error" in v:
            rows.append([n, "error", "", "", "", "", "", "", "", ""])
            continue
        k = v["full"]["by_kind"]
        rows.append([f"`{n}`", v["charts"], v["initial"]["requests"], kb(v["initial"]["bytes"]),
                     v["full"]["requests"], kb(v["full"]["bytes"]), kb(v["full"]["gzip_bytes"]),
                     kb(k.get("js", {}).get("bytes")), kb(k.get("css", {}).get("bytes")),
                     kb(k.get("font", {}).get("bytes")), ratio(v["full"]["bytes"], online_bytes)])
    if base_full:
        v = base["desktop"]
        k = v["full"]["by_kind"]
        rows.append(["baseline `chart` (offline: CDN blocked)", v["charts"], v["initial"]["requests"],
                     kb(v["initial"]["bytes"]), v["full"]["requests"], kb(v["full"]["bytes"]),
                     kb(v["full"]["gzip_bytes"]), kb(k.get("js", {}).get("bytes")), kb(k.get("css", {}).get("bytes")),
                     kb(k.get("font", {}).get("bytes")), ratio(v["full"]["bytes"], online_bytes)])
        rows.append(["baseline `chart`, online (+ CDN scripts)", v["charts"], "–", "–",
                     v["full"]["requests"] + len(bb["cdn"]["scripts"]), kb(online_bytes), kb(online_gz),
                     kb((k.get("js", {}).get("bytes") or 0) + bb["cdn"]["bytes"]), kb(k.get("css", {}).get("bytes")),
                     kb(k.get("font", {}).get("bytes")), "1.00×"])
    w(table(["page", "charts", "initial req", "initial bytes", "requests", "bytes", "≈gzip", "JS", "CSS",
             "fonts", "vs baseline online"], rows) + "\n")
    if base_full:
        fails = base["desktop"].get("failed_requests", [])
        w(f"The baseline's chart **does not draw offline**: its chart states are "
          f"{base['desktop'].get('chart_states')}, and {len(fails)} request(s) failed: "
          + ", ".join(f"`{short(f['url'])}` ({f['error']})" for f in fails) + ". Online it would also fetch "
          + ", ".join(f"`{s['package']}` {kb(s['bytes'])} (≈gzip {kb(s['gzip_bytes'])})" for s in bb["cdn"]["scripts"])
          + " (sizes from the same files on npm, pinned in `benchmarks/package.json`); *online* adds them."
          + (" " + "; ".join(bb["cdn"]["notes"]) if bb["cdn"]["notes"] else "") + "\n")

    comp = R.get("html_composition", {})
    if comp:
        w("### What the HTML of each page is made of\n")
        rows = []
        for n, c in comp.items():
            rows.append([f"`{n}`", kb(c["bytes"]), kb(c["gzip"]),
                         f"{c['svg']['count']}: {kb(c['svg']['bytes'])} ({kb(c['svg']['gzip'])} gz)",
                         f"{c['chart_spec']['count']}: {kb(c['chart_spec']['bytes'])} ({kb(c['chart_spec']['gzip'])} gz)",
                         f"{c['table']['count']}: {kb(c['table']['bytes'])}", kb(c["article_rest"]),
                         kb(c["chrome"]), f"{c['inline_script']['count']}: {kb(c['inline_script']['bytes'])}"])
        w(table(["page", "HTML", "≈gzip", "inline SVG", "chart specs (JSON)", "tables", "other article text",
                 "theme chrome (outside `<article>`)", "inline scripts"], rows) + "\n")
    w("### Heaviest files over the book's pages\n")
    w(table(["file", "kind", "bytes", "≈gzip", "loaded on"], heavy_resources(R)) + "\n")

    # Timing
    w("## Chart timing (Chromium)\n")
    w("Milliseconds from navigation start. *First chart paint*: the first animation frame in which a "
      "chart (the static SVG) has a size, or first contentful paint if later. *dx-charts.js ran*: its "
      "first top-level DOM call. *First draw started*: a chart near the viewport got `data-dx-state` "
      "(the IntersectionObserver fired). *Vega runtime ran*: `window.vega` assigned. "
      "*All interactive*: every chart `data-dx-state=\"interactive\"`, each scrolled into view right after `load`.\n")
    rows = []
    for prof in ("desktop", "mobile"):
        for n in pages:
            v = site.get(n, {}).get(prof)
            if not v or "error" in v or not v.get("charts"):
                continue
            rows.append([prof, f"`{n}`", v["charts"], ms(v["fcp_ms"]), ms(v["first_chart_paint_ms"]),
                         ms(v["chart_script_ran_ms"]), ms(v["chart_js_first_action_ms"]), ms(v["vega_exec_ms"]),
                         ms(v["first_chart_interactive_ms"]), ms(v["all_charts_interactive_ms"]),
                         ms(v["load_ms"]), "yes" if v["chart_paint_before_chart_js"] else "**no**"])
        v = base.get(prof)
        if v and "error" not in v:
            rows.append([prof, "baseline `chart`", v["charts"], ms(v["fcp_ms"]),
                         ms(v["first_chart_paint_ms"]) if v["first_chart_paint_ms"] else "never (offline)",
                         "inline script", "–", ms(v["vega_exec_ms"]) if v["vega_exec_ms"] else "never",
                         ms(v["first_chart_interactive_ms"]) if v["first_chart_interactive_ms"] else "never",
                         ms(v["all_charts_interactive_ms"]) if v["all_charts_interactive_ms"] else "never",
                         ms(v["load_ms"]), "–"])
    w(table(["profile", "page", "charts", "FCP", "first chart paint", "dx-charts.js ran", "first draw started", "Vega runtime ran",
             "first interactive", "all interactive", "load", "static SVG first"], rows) + "\n")
    w("Profiles: " + "; ".join(f"*{k}*: {p['label']}" for k, p in PROFILES.items()) + ".\n")
    nojs = R["chromium"]["without_js"]
    if nojs:
        w("With JavaScript disabled: " + "; ".join(
            f"`{n}` first chart {'visible' if v.get('visible') else 'NOT visible'}, {v.get('height')} px tall, "
            f"aria-label {'present' if v.get('aria_label') else 'missing'}" for n, v in nojs.items()) + ".\n")

    # Lighthouse
    if lh:
        for preset in ("desktop", "mobile"):
            w(f"## Lighthouse, {preset}\n")
            rows = []
            bl = lh.get("baseline", {}).get(preset, {})
            for n in pages + ["__baseline__"]:
                v = bl if n == "__baseline__" else lh.get("site", {}).get(n, {}).get(preset, {})
                label = "baseline `chart` (offline)" if n == "__baseline__" else f"`{n}`"
                if not v or "error" in v:
                    rows.append([label, "error: " + (v.get("error", "not run")[:80].replace("\n", " ") if v else "not run"),
                                 "", "", "", "", "", "", "", ""])
                    continue
                s = v["scores"]
                perf_runs = v.get("performance_all_runs", [])
                rows.append([label, sc(s.get("performance")) + (f" ({', '.join(sc(x) for x in perf_runs)})" if len(perf_runs) > 1 else ""),
                             sc(s.get("accessibility")), sc(s.get("best-practices")), sc(s.get("seo")),
                             ms(v["lcp_ms"]), ms(v["tbt_ms"]), kb(v["total_bytes"]), v["requests"],
                             ratio(v["total_bytes"], bl.get("total_bytes")) if n != "__baseline__" else "1.00×"])
            w(table(["page", "performance", "accessibility", "best practices", "SEO", "LCP", "TBT",
                     "total bytes", "requests", "bytes vs baseline (offline)"], rows) + "\n")
        w("Lighthouse simulates throttling (Lantern) from an observed trace, so the performance score "
          "moves between runs, more so on a shared 2-CPU machine: the runs of each chapter page are in "
          "parentheses. `python -m http.server` speaks HTTP/1.0 without compression or cache headers, "
          "which Lighthouse counts against every page (see the as-deployed table below).\n")
        bl = lh.get("baseline", {}).get("mobile", {}) or lh.get("baseline", {}).get("desktop", {})
        if bl and "error" not in bl:
            w(f"The baseline's Lighthouse numbers are offline ones: its CDN scripts fail "
              f"({len(bl.get('failed_requests', []))} failed request(s)), so its bytes leave out the "
              f"{kb(bb['cdn']['bytes'])} of chart scripts it would load online and its best-practices "
              "score counts the console errors.\n")
        dep = R.get("lighthouse_deployed")
        if dep:
            w("## Lighthouse, served as deployed (gzip + `Cache-Control: max-age=600`)\n")
            w("The same chapter pages from `benchmarks/serve_gzip.py`, which answers like GitHub Pages: "
              "this shows how much of the gap above is only the local server not compressing. Not a target.\n")
            rows = []
            for n in list(dep["site"]) + ["__baseline__"]:
                v = dep["baseline"] if n == "__baseline__" else dep["site"][n]
                if not v:
                    continue
                label = "baseline `chart` (offline)" if n == "__baseline__" else f"`{n}`"
                d, m = v.get("desktop", {}), v.get("mobile", {})
                cell = lambda x, k: ("error" if "error" in x else (sc(x["scores"].get(k)) if x else "–"))
                rows.append([label, cell(d, "performance"), cell(m, "performance"),
                             ms(d.get("lcp_ms")), ms(m.get("lcp_ms")), ms(m.get("fcp_ms")),
                             kb(m.get("total_bytes")), m.get("requests", "–")])
            w(table(["page", "performance desktop", "performance mobile", "LCP desktop", "LCP mobile",
                     "FCP mobile", "bytes (compressed)", "requests"], rows) + "\n")
        w("### Lighthouse audits that cost score on the book's pages\n")
        w("Every audit below its pass mark on any page (weighted audits below 1; performance "
          "opportunities and diagnostics below 0.9). *pages*: how many page × preset runs "
          "(d = desktop, m = mobile) it failed on.\n")
        w(table(["category", "audit", "title", "weight", "pages", "value", "worst files / nodes"],
                failing_audits(R)) + "\n")
    else:
        w("## Lighthouse\n\nNot run (BENCH_SKIP_LIGHTHOUSE=1 or lighthouse missing).\n")

    if R.get("errors"):
        w("## Harness errors\n")
        w("```\n" + "\n".join(R["errors"]) + "\n```\n")
    RESULTS_MD.write_text("\n".join(out))


# --------------------------------------------------------------------------------------
# main
# --------------------------------------------------------------------------------------


def tool_version(cmd: list[str]) -> str | None:
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=60).stdout.strip().splitlines()[0]
    except Exception:
        return None


def main() -> int:
    if os.environ.get("BENCH_REPORT_ONLY") == "1":      # re-render RESULTS.md from results.json
        R = json.loads(RESULTS_JSON.read_text())
        R["chart_js_checks"] = chart_js_checks(R) if R["chromium"]["site"] else {}
        write_results(R)
        return 0
    t_start = time.perf_counter()
    WORK.mkdir(parents=True, exist_ok=True)
    R: dict = {"errors": [], "targets": TARGETS, "lh_runs": LH_RUNS}
    R["environment"] = {
        "cpus": os.cpu_count(), "loadavg": " ".join(f"{x:.2f}" for x in os.getloadavg()),
        "python": f"Python {platform.python_version()}",
        "jupyter_book": tool_version([str(JUPYTER_BOOK), "--version"]),
        "node": tool_version(["node", "--version"]),
        "lighthouse": tool_version([str(LIGHTHOUSE), "--version"]) if LIGHTHOUSE.exists() else None,
    }
    if R["environment"]["jupyter_book"]:
        R["environment"]["jupyter_book"] = R["environment"]["jupyter_book"].split()[-1]
    if os.environ.get("BENCH_SKIP_BUILD") == "1" and (REPO / "_build" / "html" / "index.html").is_file():
        log(f"BENCH_SKIP_BUILD=1: measuring the copy already built in {REPO}")
        R["snapshot"] = {"taken": "(earlier run, BENCH_SKIP_BUILD=1)"}
        pages = toc_docnames(REPO)
        R["pages"] = pages
        R["builds"] = {"command": "(not run: BENCH_SKIP_BUILD=1)"}
    else:
        log(f"copying {ROOT} to {REPO}")
        R["snapshot"] = snapshot_repo()
        pages = toc_docnames(REPO)
        R["pages"] = pages
        R["builds"] = run_builds(pages)
    site_root = REPO / "_build" / "html"
    R["html_composition"] = html_composition(site_root, pages)
    if not (site_root / "index.html").is_file():
        R["errors"].append("the book did not build: nothing to measure (see benchmarks/work/logs/cold.log)")

    with tempfile.TemporaryDirectory(prefix="dx-bench-baseline-") as tmp:
        try:
            info = build_baseline(Path(tmp))
        except Exception:
            info = {"error": traceback.format_exc()}
            R["errors"].append("baseline build failed:\n" + info["error"])
        base_root = Path(info["html"]) if info.get("html") else None
        if base_root and not (base_root / "chart.html").is_file():
            R["errors"].append("baseline chart.html missing (see benchmarks/work/logs/baseline.log)")
            base_root = None
        R["baseline"] = {"build": {k: v for k, v in info.items() if k not in ("html",)},
                         "cdn": cdn_estimate(info.get("cdn_scripts", []))}

        with serve(site_root) as site_url, serve(base_root or Path(tmp)) as base_url:
            try:
                R["chromium"] = measure_pages(site_url, site_root, pages,
                                              base_url if base_root else None, base_root)
            except Exception:
                R["errors"].append("chromium measurement failed:\n" + traceback.format_exc())
                R["chromium"] = {"site": {}, "baseline": {}, "without_js": {}, "cache": None}
            try:
                R["chart_js_checks"] = chart_js_checks(R) if R["chromium"]["site"] else {}
            except Exception:
                R["errors"].append("chart JS checks failed:\n" + traceback.format_exc())
                R["chart_js_checks"] = {}
            if not SKIP_LH and LIGHTHOUSE.exists():
                R["lighthouse"] = {"site": {}, "baseline": {}}
                for n in pages:
                    for preset in ("desktop", "mobile"):
                        v = lighthouse(f"{site_url}/{n}.html", preset, n, LH_RUNS if is_chapter(n) else 1)
                        R["lighthouse"]["site"].setdefault(n, {})[preset] = v
                        if "error" in v:
                            R["errors"].append(f"lighthouse {preset} {n}: {v['error'][-300:]}")
                if base_root:
                    for preset in ("desktop", "mobile"):
                        R["lighthouse"]["baseline"][preset] = lighthouse(f"{base_url}/chart.html", preset, "baseline-chart")
            if not SKIP_LH and not SKIP_DEPLOYED and LIGHTHOUSE.exists():
                with serve(site_root, True) as gz_url, serve(base_root or Path(tmp), True) as gz_base:
                    R["lighthouse_deployed"] = {"site": {}, "baseline": {}}
                    for n in [p for p in pages if is_chapter(p)]:
                        for preset in ("desktop", "mobile"):
                            R["lighthouse_deployed"]["site"].setdefault(n, {})[preset] = lighthouse(
                                f"{gz_url}/{n}.html", preset, n + "-deployed")
                    if base_root:
                        for preset in ("desktop", "mobile"):
                            R["lighthouse_deployed"]["baseline"][preset] = lighthouse(
                                f"{gz_base}/chart.html", preset, "baseline-chart-deployed")
            if not SKIP_LH and not LIGHTHOUSE.exists():
                R["errors"].append(f"{LIGHTHOUSE} missing: run `npm ci --prefix benchmarks` (make bench does)")

    R["finished"] = dt.datetime.now().astimezone().isoformat(timespec="seconds")
    R["bench_seconds"] = round(time.perf_counter() - t_start, 1)
    RESULTS_JSON.write_text(json.dumps(R, indent=1, default=str))
    try:
        write_results(R)
        log(f"wrote {RESULTS_MD.relative_to(ROOT)} in {R['bench_seconds']} s")
    except Exception:
        traceback.print_exc()
        log("could not write RESULTS.md; raw numbers are in " + str(RESULTS_JSON))
        return 1
    for e in R["errors"]:
        log("harness error: " + e.splitlines()[0])
    return 0 if (site_root / "index.html").is_file() else 1


if __name__ == "__main__":
    sys.exit(main())
