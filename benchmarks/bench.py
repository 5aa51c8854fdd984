#!/usr/bin/env python3
"""`make bench`, on standard tools. hyperfine times builds of a private copy of the checkout (benchmarks/work/repo):
cold, one chapter edited, no change. Lighthouse CI (lighthouserc.js; its assertions are the targets) runs each page
BENCH_RUNS times: mobile as deployed (serve_gzip.py) on every page, mobile and desktop on a plain server on the
index and the chapters. charts.py (Playwright) times the charts. This file is glue: it runs those tools and turns
their JSON into benchmarks/RESULTS.md (all numbers: work/results.json). A missed target is reported, not an error:
exit 1 only if the book did not build. Knobs: BENCH_PAGES=a,b (pages for every profile), BENCH_RUNS=1,
BENCH_SKIP_BUILD=1 (measure the copy an earlier run built), BENCH_REPORT_ONLY=1 (RESULTS.md from results.json)."""
import datetime as dt
import importlib.metadata
import json
import os
import platform
import re
import shlex
import shutil
import subprocess
import sys
import time
import traceback
from pathlib import Path
from statistics import median

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from tools.sitekit import CHROMIUM, is_chapter, serve, toc_docnames  # noqa: E402
import charts  # noqa: E402  (benchmarks/, this script's folder, is on sys.path)
from serve_gzip import serve_gzip  # noqa: E402

BENCH = ROOT / "benchmarks"
WORK, REPO, LOGS = BENCH / "work", BENCH / "work" / "repo", BENCH / "work" / "logs"
BIN = Path(sys.prefix) / "bin"  # the venv running this script
LHCI, RC = BENCH / "node_modules" / ".bin" / "lhci", BENCH / "lighthouserc.js"
RUNS = max(1, int(os.environ.get("BENCH_RUNS") or 3))
PROFILES = {"mobile-gzip": "mobile, gzip + cache", "mobile": "mobile, plain server", "desktop": "desktop, plain server"}
TARGETS = {"style": 300, "cold": 60, "nochange": 10}  # ms, s, s; the others are lighthouserc.js assertions
BUILDS = {"cold": "cold (no `_build`, so no jupyter-cache)", "edit": "one chapter edited", "nochange": "no change"}
AUDITS = ("first-contentful-paint", "largest-contentful-paint", "total-blocking-time", "total-byte-weight")
STATUS = {True: "met", False: "**MISSED**"}
ANSI = re.compile(r"\x1b\[[0-9;]*m")
EDIT_CELL = "\n\n```{code-cell} ipython3\n:tags: [remove-cell]\n# make bench: a code change\n_bench = %d\n```\n"


def log(msg):
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", flush=True)


def others_cpu():
    """CPU ticks of each process this run did not start (all it starts inherit BENCH_RUN); PID 1 reaps orphans."""
    cpu, mark = {}, f"BENCH_RUN={os.getpid()}\0".encode()
    for d in Path("/proc").glob("[0-9]*"):
        try:
            if d.name not in ("1", str(os.getpid())) and mark not in (d / "environ").read_bytes():
                cpu[d.name] = sum(map(int, (d / "stat").read_text().rsplit(")", 1)[1].split()[11:15]))
        except OSError:
            pass
    return cpu


def phase(R, store, name, fn, *args):
    """store[name] = fn(*args); note the load average before and the CPU share others used meanwhile."""
    load, c0, t0 = os.getloadavg()[0], others_cpu(), time.time()
    try:
        store[name] = fn(*args)
    except Exception:
        R["errors"].append(f"{name} failed:\n{traceback.format_exc()}")
    used = sum(max(0, v - c0.get(p, 0)) for p, v in others_cpu().items()) / os.sysconf("SC_CLK_TCK")
    R["load"][name] = {"loadavg": round(load, 2), "others_pct": round(100 * used / os.cpu_count() / (time.time() - t0))}


def version(cmd):
    text = subprocess.run(cmd, capture_output=True, text=True).stdout.strip() if shutil.which(cmd[0]) else ""
    return text.splitlines()[0] if text else "missing"


def edit_chapter(path: Path, restore: bool):
    """hyperfine's --prepare: the chapter as copied plus a new hidden code cell, so it executes again."""
    keep = WORK / "edited-chapter.orig"
    if not keep.exists():
        shutil.copy(path, keep)
    path.write_text(keep.read_text() + ("" if restore else EDIT_CELL % time.time_ns()))
    keep.unlink() if restore else None


def builds(chapter):
    if not shutil.which("hyperfine"):
        return {"error": "hyperfine is missing (`sudo apt-get install hyperfine`): builds not timed."}
    env = {**os.environ, "PYTHONPATH": str(REPO), "DEFECTION_DATA": str(REPO / "data"),  # the copy's code and data
           "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
    build = shlex.join([str(BIN / "jupyter-book"), "build", str(REPO), "--path-output", str(REPO),
                        "-W", "-n", "--keep-going"])  # as `make book`
    edit = shlex.join([sys.executable, __file__, "--edit", str(REPO / chapter)])
    out = {"command": build.replace(str(REPO), "<copy>"), "chapter": chapter}
    for name, extra in (("cold", ["--prepare", shlex.join(["rm", "-rf", str(REPO / "_build")])]),
                        ("edit", ["--prepare", edit]), ("nochange", ["--warmup", "1"])):
        cmd = ["hyperfine", "-i", "--style", "basic", "--runs", str(RUNS), *extra, "--output", str(LOGS / f"{name}.log"),
               "--export-json", str(WORK / f"hyperfine-{name}.json"), build]
        log(f"hyperfine, {name} build: {shlex.join(cmd)}")
        subprocess.run(cmd, env=env, cwd=REPO, check=True)
        edit_chapter(REPO / chapter, restore=True) if name == "edit" else None  # (a --cleanup would empty the log)
        out[name] = json.loads((WORK / f"hyperfine-{name}.json").read_text())["results"][0]
        text = ANSI.sub("", (LOGS / f"{name}.log").read_text())  # hyperfine keeps the last run's output
        out[name]["executed"] = [str(Path(p).relative_to(REPO)) for p in
                                 re.findall(r"^(\S+): Executing notebook", text, re.M)]
    return out


def summarise(lhr):
    """What RESULTS.md shows of one Lighthouse report (lhr JSON)."""
    items = lambda audit: (lhr["audits"][audit].get("details") or {}).get("items") or []  # noqa: E731
    resources = {i["resourceType"]: i for i in items("resource-summary")}
    return {"lighthouse": lhr["lighthouseVersion"], "error": (lhr.get("runtimeError") or {}).get("message"),
            "scores": {k: v["score"] for k, v in lhr["categories"].items()},
            "audits": {a: lhr["audits"][a].get("numericValue") for a in AUDITS},
            "bytes": {k: v["transferSize"] for k, v in resources.items()},
            "requests": resources.get("total", {}).get("requestCount"),
            "mainthread": {i["groupLabel"]: i["duration"] for i in items("mainthread-work-breakdown")},
            "failing": {k: [a["title"], a.get("displayValue") or ""] for k, a in lhr["audits"].items() if a.get(
                "scoreDisplayMode") in ("numeric", "binary", "metricSavings") and (a.get("score") or 0) < 0.9}}


def docname(url):
    return re.sub(r"^https?://[^/]+/|\.html$", "", url)


def lhci(profile, site, pages):
    """`lhci autorun` for one profile; then its filesystem upload (manifest.json) and assertion-results.json."""
    out = WORK / "lhci" / profile
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    with (serve_gzip(site) if profile == "mobile-gzip" else serve(site)) as url, \
            open(LOGS / f"lhci-{profile}.log", "w") as f:
        log(f"lhci autorun, {profile}: {len(pages)} pages x {RUNS} runs")
        env = {**os.environ, "BENCH_LHCI": profile, "BENCH_BASE_URL": url, "BENCH_PAGES": ",".join(pages),
               "CHROMIUM": CHROMIUM, "BENCH_CHROME_FLAGS": " ".join(charts.LIGHTHOUSE_FLAGS)}
        rc = subprocess.run([str(LHCI), "autorun", f"--config={RC}", f"--collect.numberOfRuns={RUNS}"], env=env,
                            cwd=out, stdout=f, stderr=subprocess.STDOUT).returncode  # 1 if an assertion failed
    runs = {}
    for entry in json.loads((out / "manifest.json").read_text()):
        runs.setdefault(docname(entry["url"]), []).append(summarise(json.loads(Path(entry["jsonPath"]).read_text())))
    results = json.loads((out / ".lighthouseci" / "assertion-results.json").read_text())
    return {"exit": rc, "runs": runs, "assertions": results}


def fmt(v, kind):
    """kind: score, KB, s, n, ms, or a Lighthouse audit id ("categories" is a score, total-byte-weight KB, else ms)."""
    forms = {"score": "{:.2f}", "KB": "{:,.0f} KB", "s": "{:.1f} s", "n": "{:,.0f}", "ms": "{:,.0f} ms"}
    kind = {"categories": "score", "total-byte-weight": "KB"}.get(kind, kind if kind in forms else "ms")
    return "–" if v is None else forms[kind].format(v / 1024 if kind == "KB" else v)


def spread(vals, kind):
    """median (min–max), or one figure if every run gave the same."""
    vals = [v for v in vals if v is not None]
    lo, hi = (fmt(min(vals), kind).split()[0], fmt(max(vals), kind).split()[0]) if vals else ("", "")
    return fmt(median(vals) if vals else None, kind) + (f" ({lo}–{hi})" if lo != hi else "")


def table(head, rows):
    return "\n".join(["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
                     + ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]) + "\n"


def target_rows(R):
    """A row per profile and lighthouserc.js assertion (lhci's verdict, on the median of the runs), then the
    main-thread style & layout, the builds and the chart probes."""
    rows, lh = [], R.get("lighthouse", {})
    for profile, label in PROFILES.items():
        groups = {}
        for a in lh.get(profile, {}).get("assertions", []):
            groups.setdefault((a["auditId"], a.get("auditProperty"), a["operator"], a["expected"]), []).append(a)
        for (audit, prop, op, bound), res in groups.items():
            worst = (min if op == ">=" else max)(res, key=lambda a: a["actual"])
            missed = [a for a in res if not a["passed"]]
            op = "=" if (audit, bound) == ("categories", 1) else op.replace(">=", "≥").replace("<=", "≤")
            rows.append([f"{prop or audit}, {label}" + ", chapter pages" * (audit == "total-byte-weight"),
                         f"{op} {fmt(bound, audit)}",
                         f"worst {fmt(worst['actual'], audit)} (`{docname(worst['url'])}`); "
                         + (f"missed on {len(missed)} of {len(res)} pages" if missed else f"all {len(res)} pages"),
                         STATUS[not missed]])
    style = {n: median(r["mainthread"].get("Style & Layout", 0) for r in runs)
             for n, runs in lh.get("mobile-gzip", {}).get("runs", {}).items()}
    if style:
        worst = max(style, key=style.get)
        rows.append(["Style & Layout main thread (median run), mobile, gzip + cache", f"≤ {TARGETS['style']} ms",
                     f"worst {fmt(style[worst], 'ms')} (`{worst}`); {len(style)} pages",
                     STATUS[style[worst] <= TARGETS["style"]]])
    for name in ("cold", "nochange"):
        b = R.get("builds", {}).get(name)
        rows.append([f"Build, {BUILDS[name]}", f"≤ {TARGETS[name]} s", f"median {fmt(b['median'], 's')} of "
                     f"{len(b['times'])} runs, exit codes {sorted(set(b['exit_codes']))}" if b else "not measured",
                     STATUS[b["median"] <= TARGETS[name] and not any(b["exit_codes"])] if b else "–"])
    pages = R.get("charts", {}).get("pages", {})
    for profile in charts.PROFILES:
        runs = [(n, x) for n, v in pages.items() for x in v.get(profile, [])]
        late = [n for n, x in runs if x["paint_ms"] is None or (x["draw_ms"] or 1e9) < x["paint_ms"]]
        rows += [[f"First chart painted (build-time SVG) before chart JS draws, {profile}", "every run",
                  f"{len(runs) - len(late)} of {len(runs)} runs" + (f"; not on {', '.join(sorted(set(late)))}"
                                                                    if late else ""), STATUS[not late]]] if runs else []
    leaks = [n for n, v in pages.items() if not v["charts"] and v["chart_js"]]
    rows += [["Chart JS requested by chart-free pages", "none", f"{len(leaks)} of "
              f"{sum(not v['charts'] for v in pages.values())}" + "".join(f", `{n}`" for n in leaks), STATUS[not leaks]]
             ] if pages else []
    return rows


HOW_TO_READ = """**How to read this.** Benchmarks report, they do not test: a missed target says **MISSED** and \
`make bench` still exits 0. Lighthouse targets are `lhci assert`'s verdicts on the *median* of {runs} runs \
(`aggregationMethod: median`); the tables give *median (min–max)* of the runs, one figure if they agree. Mobile is \
Lighthouse's simulated slow 4G and 4× slower CPU: estimates, steadier than wall clock. Bytes: first load, no \
scrolling, as transferred (KB = 1,024 bytes): uncompressed from the plain server (`python -m http.server`'s \
handler), gzip from `serve_gzip.py` (gzip + `Cache-Control: max-age=600`, as GitHub Pages). Builds: hyperfine \
wall time of `jupyter-book build`, kernels included. Reports: `benchmarks/work/lhci/<profile>/*.html`; logs: \
`benchmarks/work/logs/`.
"""


def write_results(R):
    lh, env, b, ch = R.get("lighthouse", {}), R["env"], R.get("builds", {}), R.get("charts")
    runs = lambda p, n: lh.get(p, {}).get("runs", {}).get(n, [])  # noqa: E731
    gz = [n for n in R["pages"] if runs("mobile-gzip", n)]
    chapters = [n for n in gz if is_chapter(n)]
    noisy = R["load_start"][0] > env["cpus"] / 2 or any(v["others_pct"] >= 10 for v in R["load"].values())
    version_lh = next((r[0]["lighthouse"] for p in lh.values() for r in p["runs"].values()), "?")
    out = ["# Benchmark results\n", f"Generated by `make bench` on {R['finished']} ({R['minutes']:.0f} min), from a "
           f"copy of the checkout taken {R['copied']}. Machine: {env['cpu']}, {env['cpus']} CPUs, {env['os']}; load "
           f"average {R['load_start']} at start. Tools: {env['python']}, jupyter-book {env['jupyter_book']}, "
           f"{env['hyperfine']}, @lhci/cli {env['lhci']} with Lighthouse {version_lh}, Node {env['node']}, "
           f"{env['chromium']}, Playwright {env['playwright']}.\n",
           ("**The machine was busy, so the times are noisy**" if noisy else "The machine was quiet")
           + f" (per phase: the 1-minute load average before it; the share of the {env['cpus']} CPUs other processes "
           "used while it ran: " + "; ".join(f"{k}: {v['loadavg']}, {v['others_pct']}%" for k, v in R["load"].items())
           + ").\n", HOW_TO_READ.format(runs=R["runs"]), "## Targets\n",
           table(["measure", "target", "measured", "status"], target_rows(R))]
    w = out.append
    w("## Builds (hyperfine)\n")
    if "cold" in b:
        w(f"In `benchmarks/work/repo`: `{b['command']}`. Cold: `--prepare 'rm -rf <copy>/_build'`; one chapter "
          f"edited: `--prepare` appends a new hidden code cell to `{b['chapter']}`; no change: after `--warmup 1`.\n")
        w(table(["build", "runs", "median", "min–max", "mean ± σ", "CPU (user + system, mean)", "exit codes",
                 "notebooks executed (last run)"], [
            [BUILDS[n], len(v["times"]), fmt(v["median"], "s"), f"{v['min']:.1f}–{v['max']:.1f} s",
             f"{v['mean']:.1f} ± {v['stddev'] or 0:.1f} s", fmt(v["user"] + v["system"], "s"), v["exit_codes"],
             f"{len(v['executed'])}" + "".join(f", `{p}`" for p in v["executed"][:1])]
            for n, v in ((n, b[n]) for n in BUILDS)]))
    else:
        w(b.get("error", "Not run (BENCH_SKIP_BUILD=1).") + "\n")
    if lh:
        low = lambda n, c: fmt(min((r["scores"].get(c) for p in lh for r in runs(p, n)), default=None), "score")  # noqa
        w("## Lighthouse, every page\n\nPerformance for each profile; LCP and TBT as deployed; the other categories: "
          "the lowest of all runs and profiles.\n")
        w(table(["page", *(f"performance, {v}" for v in PROFILES.values()), "LCP, mobile gzip", "TBT, mobile gzip",
                 "accessibility", "best practices", "SEO"], [
            [f"`{n}`", *(spread([r["scores"]["performance"] for r in runs(p, n)], "score") for p in PROFILES),
             *(spread([r["audits"][a] for r in runs("mobile-gzip", n)], "ms") for a in AUDITS[1:3]),
             *(low(n, c) for c in ("accessibility", "best-practices", "seo"))] for n in gz]))
        kinds = ["document", "script", "stylesheet", "font", "image", "other"]
        w("## Chapter pages: first load\n\nLighthouse's `total-byte-weight` and `resource-summary`, mobile (no "
          "scrolling); by kind: gzip.\n")
        w(table(["page", "bytes (plain)", "bytes (gzip)", "requests", *kinds], [
            [f"`{n}`", spread([r["audits"]["total-byte-weight"] for r in runs("mobile", n)], "KB"),
             spread([r["audits"]["total-byte-weight"] for r in runs("mobile-gzip", n)], "KB"),
             spread([r["requests"] for r in runs("mobile-gzip", n)], "n"),
             *(spread([r["bytes"].get(k) for r in runs("mobile-gzip", n)], "KB") for k in kinds)] for n in chapters]))
        groups = sorted({g for n in gz for r in runs("mobile-gzip", n) for g in r["mainthread"]},
                        key=lambda g: (g != "Style & Layout", g == "Other", g))
        w("## Main-thread work\n\nLighthouse's `mainthread-work-breakdown`, mobile, gzip + cache, CPU 4× slower.\n")
        w(table(["page", *groups, "total"], [
            [f"`{n}`", *(spread([r["mainthread"].get(g, 0) for r in runs("mobile-gzip", n)], "ms") for g in groups),
             spread([sum(r["mainthread"].values()) for r in runs("mobile-gzip", n)], "ms")] for n in gz]))
        failing = {}
        for n in gz:
            for audit, (title, shown) in runs("mobile-gzip", n)[0]["failing"].items():
                failing.setdefault(audit, [title, []])[1].append(shown)
        w("## Lighthouse audits that cost score\n\nEvery audit scored below 0.9 in the first mobile, gzip + cache run "
          f"of a page, with the pages it failed on (of {len(gz)}) and what Lighthouse shows (e.g. savings).\n")
        w(table(["audit", "title", "pages", "shown"], [
            [f"`{a}`", t, len(v), "; ".join(sorted({s for s in v if s}))[:160]]
            for a, (t, v) in sorted(failing.items(), key=lambda kv: -len(kv[1][1]))]))
    if ch:
        w(f"## Charts (Playwright)\n\nChromium {ch['browser']}, `serve_gzip.py`, empty cache, {R['runs']} runs per "
          "profile (desktop: 1280×900, no throttling; mobile: 412×823, 150 ms RTT, 1.6 Mbps, CPU 4× slower, by CDP). "
          "*First static chart*: the first frame with a chart's build-time image loaded and laid out (or FCP, if "
          "later). *Chart JS draws*: the first frame with a chart taken over by `dx-charts.js`. *All interactive*: "
          "every chart a live Vega view, each scrolled into view right after `load`. Times from navigation start; "
          "requests and bytes (gzip, headers included) once every chart is drawn.\n")
        w(table(["page", "charts", "profile", "first static chart", "chart JS draws", "all interactive", "requests",
                 "bytes, all charts drawn", "left static (all runs)"], [
            [f"`{n}`", v["charts"], p, *(spread([x[k] for x in v[p]], "ms") for k in ("paint_ms", "draw_ms",
             "interactive_ms")), spread([x["requests"] for x in v[p]], "n"),
             spread([x["bytes"] for x in v[p]], "KB"), sum(x["failed"] for x in v[p])]
            for n, v in ch["pages"].items() if v["charts"] for p in charts.PROFILES]))
        w("Chart JavaScript requested (desktop, after scrolling to every chart): " + "; ".join(
            f"`{n}`: {', '.join(v['chart_js'])}" for n, v in ch["pages"].items() if v["chart_js"]) + "; "
          f"none on the {sum(not v['chart_js'] for v in ch['pages'].values())} other pages.\n")
    errors = R["errors"] + [f"{p} {n}: {r['error']}" for p in lh for n in lh[p]["runs"] for r in runs(p, n)
                            if r["error"]]
    if errors:
        w("## Harness errors\n\n```\n" + "\n".join(errors) + "\n```\n")
    (BENCH / "RESULTS.md").write_text("\n".join(out))


def main():
    if sys.argv[1:2] == ["--edit"]:
        return edit_chapter(Path(sys.argv[2]), "--restore" in sys.argv)
    if os.environ.get("BENCH_REPORT_ONLY") == "1":
        return write_results(json.loads((WORK / "results.json").read_text()))
    t0, os.environ["BENCH_RUN"] = time.time(), str(os.getpid())  # marks the processes this run starts (others_cpu)
    LOGS.mkdir(parents=True, exist_ok=True)
    cpu = [ln.split(":")[1].strip() for ln in Path("/proc/cpuinfo").read_text().splitlines() if ln[:6] == "model "]
    R = {"errors": [], "load": {}, "runs": RUNS, "load_start": [round(x, 2) for x in os.getloadavg()], "env": {
        "cpus": os.cpu_count(), "cpu": (cpu or [platform.machine()])[0], "os": platform.platform(terse=True),
        "python": f"Python {platform.python_version()}", "node": version(["node", "--version"]),
        "jupyter_book": version([str(BIN / "jupyter-book"), "--version"]).split()[-1],
        "hyperfine": version(["hyperfine", "--version"]), "lhci": version([str(LHCI), "--version"]),
        "chromium": version([CHROMIUM, "--version"]).split(" built")[0],
        "playwright": importlib.metadata.version("playwright")}}
    if os.environ.get("BENCH_SKIP_BUILD") == "1" and (REPO / "_build/html/index.html").is_file():
        R["copied"] = "by an earlier run (BENCH_SKIP_BUILD=1)"
    else:
        log(f"copying the checkout to {REPO}")
        shutil.rmtree(REPO, ignore_errors=True)
        shutil.copytree(ROOT, REPO, symlinks=True, ignore=shutil.ignore_patterns(
            ".venv", "_build", ".git", "node_modules", "benchmarks", ".pytest_cache", "__pycache__", "*.egg-info",
            ".ipynb_checkpoints", ".jupyter_cache", "pdf", "lab", "lab-teacher"))
        R["copied"] = "at " + dt.datetime.now().astimezone().isoformat(timespec="seconds")
        chapter = next(f"{n}.md" for n in toc_docnames(REPO) if is_chapter(n) and "{code-cell}" in (
            REPO / f"{n}.md").read_text())
        phase(R, R, "builds", builds, chapter)
    site = REPO / "_build" / "html"
    R["pages"] = os.environ["BENCH_PAGES"].split(",") if os.environ.get("BENCH_PAGES") else toc_docnames(REPO)
    if not (site / "index.html").is_file():
        R["errors"].append("The book did not build: nothing to measure (see benchmarks/work/logs/cold.log).")
    else:
        R["lighthouse"], root = {}, toc_docnames(REPO)[0]
        plain = [n for n in R["pages"] if n == root or is_chapter(n)] if not os.environ.get("BENCH_PAGES") else R["pages"]
        for profile in PROFILES:
            phase(R, R["lighthouse"], profile, lhci, profile, site, R["pages"] if profile == "mobile-gzip" else plain)
        with serve_gzip(site) as url:
            phase(R, R, "charts", charts.measure, url, R["pages"], RUNS, log)
    R.update(finished=dt.datetime.now().astimezone().isoformat(timespec="seconds"), minutes=(time.time() - t0) / 60)
    (WORK / "results.json").write_text(json.dumps(R, indent=1))
    write_results(R)
    log(f"wrote benchmarks/RESULTS.md ({R['minutes']:.0f} min, {len(R['errors'])} harness errors)")
    return 0 if (site / "index.html").is_file() else 1


if __name__ == "__main__":
    sys.exit(main())
