#!/usr/bin/env python3
"""`make bench` on standard tools; this file is the glue (see README.md). hyperfine times builds of a private copy
of the checkout (work/repo); Lighthouse CI (lighthouserc.js: its assertions are the targets) runs the pages; charts.py
(Playwright) times the charts. Writes RESULTS.md (all numbers: work/results.json); a missed target is reported, not
an error: exit 1 only if the book did not build. Knobs: BENCH_PAGES=a,b BENCH_RUNS=1 BENCH_SKIP_BUILD=1
BENCH_REPORT_ONLY=1."""
import datetime as dt
import importlib.metadata
import json
import os
import platform
import re
import resource
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
from dxbook.metadata import TEACHER_PAGES  # noqa: E402  (pages with robots "noindex"; the book's extension)

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
EDIT_CELL = "\n\n```{code-cell} ipython3\n:tags: [remove-cell]\n# make bench: a code change\n_bench = %s\n```\n"


def log(msg):
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", flush=True)


def cpu_seconds():
    """Busy CPU seconds of the machine (/proc/stat) and of this run (itself and the children it reaped)."""
    f, own = Path("/proc/stat").read_text().split()[1:9], (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)
    return (sum(int(f[i]) for i in (0, 1, 2, 5, 6, 7)) / os.sysconf("SC_CLK_TCK"),
            sum(r.ru_utime + r.ru_stime for r in map(resource.getrusage, own)))


def phase(R, store, name, fn, *args):
    """store[name] = fn(*args); note the load average before and the CPU share others used meanwhile."""
    load, (m0, o0), t0 = os.getloadavg()[0], cpu_seconds(), time.time()
    try:
        store[name] = fn(*args)
    except Exception:
        R["errors"].append(f"{name} failed:\n{traceback.format_exc()}")
    (m1, o1), wall = cpu_seconds(), os.cpu_count() * (time.time() - t0)
    R["load"][name] = {"loadavg": round(load, 2), "others_pct": round(100 * max(0, m1 - m0 - o1 + o0) / wall)}


def version(cmd):
    text = subprocess.run(cmd, capture_output=True, text=True).stdout.strip() if shutil.which(cmd[0]) else ""
    return text.splitlines()[0] if text else "missing"


def builds(chapter):
    env = {**os.environ, "PYTHONPATH": str(REPO), "DEFECTION_DATA": str(REPO / "data"),  # the copy's code and data
           "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
    build = [str(BIN / "jupyter-book"), "build", str(REPO), "--path-output", str(REPO), "-W", "-n", "--keep-going"]
    if not shutil.which("hyperfine"):  # build once, untimed, so there is a site to measure
        subprocess.run(build, env=env, cwd=REPO, stdout=open(LOGS / "cold.log", "w"), stderr=subprocess.STDOUT)
        return {"error": "hyperfine is missing (`sudo apt-get install hyperfine`): builds not timed."}
    build = shlex.join(build)  # as `make book`
    src, orig = (shlex.quote(str(p)) for p in (REPO / chapter, shutil.copy(REPO / chapter, WORK / "chapter.orig")))
    edit = f"cp {orig} {src} && printf {shlex.quote(EDIT_CELL)} $(date +%s%N) >> {src}"  # a new cell each run
    out = {"command": build.replace(str(REPO), "<copy>"), "chapter": chapter}
    for name, extra in (("cold", ["--prepare", shlex.join(["rm", "-rf", str(REPO / "_build")])]),
                        ("edit", ["--prepare", edit]), ("nochange", ["--warmup", "1"])):
        cmd = ["hyperfine", "-i", "--style", "basic", "--runs", str(RUNS), *extra, "--export-json",
               str(WORK / f"hyperfine-{name}.json"), "--output", str(LOGS / f"{name}.log"), build]
        log(f"hyperfine, {name} build: {shlex.join(cmd)}")
        subprocess.run(cmd, env=env, cwd=REPO, check=True)
        shutil.copy(WORK / "chapter.orig", REPO / chapter)  # as copied (a --cleanup would empty the log)
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


def worst(measure, target, values, passed, kind):
    """A target row: the worst page's value and how many pages missed. values, passed: {page: …}."""
    page = (min if target[0] == "≥" else max)(values, key=lambda n: values[n] if values[n] is not None else 1e12)
    missed = sum(not ok for ok in passed.values())
    return [measure, target, f"worst {fmt(values[page], kind)} (`{page}`); " + (
        f"missed on {missed} of {len(values)} pages" if missed else f"all {len(values)} pages"), STATUS[not missed]]


def target_rows(R):
    """lhci's verdict (on the median of the runs) per profile and assertion; style & layout; builds; chart probes."""
    rows, lh, pages = [], R.get("lighthouse", {}), R.get("charts", {}).get("pages", {})
    for profile, label in PROFILES.items():
        groups = {}
        for a in lh.get(profile, {}).get("assertions", []):
            groups.setdefault((a["auditId"], a.get("auditProperty"), a["operator"], a["expected"]), []).append(a)
        for (audit, prop, op, bound), res in groups.items():
            op = "=" if (audit, bound) == ("categories", 1) else op.replace(">=", "≥").replace("<=", "≤")
            rows.append(worst(f"{prop or audit}, {label}" + ", chapter pages" * (audit == "total-byte-weight"),
                              f"{op} {fmt(bound, audit)}", {docname(a["url"]): a["actual"] for a in res},
                              {docname(a["url"]): a["passed"] for a in res}, audit))
    style = {n: median(r["mainthread"].get("Style & Layout", 0) for r in runs)
             for n, runs in lh.get("mobile-gzip", {}).get("runs", {}).items()}
    rows += [worst("Style & Layout (main thread, median), mobile, gzip + cache", f"≤ {TARGETS['style']} ms", style,
                   {n: v <= TARGETS["style"] for n, v in style.items()}, "ms")] if style else []
    # Pages that ask not to be indexed (lighthouserc.js holds the SEO target to the others): each run finds them blocked.
    blocked = {n: all("is-crawlable" in r["failing"] for r in runs)
               for n, runs in lh.get("mobile-gzip", {}).get("runs", {}).items() if n.startswith(TEACHER_PAGES)}
    rows += [["Teacher pages blocked from indexing (`is-crawlable` fails), mobile, gzip + cache", "all",
              f"{sum(blocked.values())} of {len(blocked)} pages", STATUS[all(blocked.values())]]] if blocked else []
    for name in ("cold", "nochange"):
        b = R.get("builds", {}).get(name)
        rows.append([f"Build, {BUILDS[name]}", f"≤ {TARGETS[name]} s", f"median {fmt(b['median'], 's')} of "
                     f"{len(b['times'])} runs (CPU {fmt(b['user'] + b['system'], 's')}), exit codes "
                     f"{sorted(set(b['exit_codes']))}" if b else "not measured",
                     STATUS[b["median"] <= TARGETS[name] and not any(b["exit_codes"])] if b else "–"])
    for profile in charts.PROFILES:  # the margin: chart JS draws minus first static chart, worst run of the page
        margin = {n: min((x["draw_ms"] or 1e9) - (x["paint_ms"] or 1e9) for x in v[profile])
                  for n, v in pages.items() if v.get(profile)}
        rows += [worst(f"First chart painted before chart JS draws: margin, {profile}", "≥ 0 ms", margin,
                       {n: m > 0 for n, m in margin.items()}, "ms")] if margin else []
    free = {n: len(v["chart_js"]) for n, v in pages.items() if not v["charts"]}
    rows += [worst("Chart JS files requested by chart-free pages", "≤ 0", free, {n: not k for n, k in free.items()},
                   "n")] if free else []
    return rows


def write_results(R):
    lh, env, b, ch = R.get("lighthouse", {}), R["env"], R.get("builds", {}), R.get("charts")
    runs = lambda p, n: lh.get(p, {}).get("runs", {}).get(n, [])  # noqa: E731
    gz = [n for n in R["pages"] if runs("mobile-gzip", n)]
    noisy = R["load_start"][0] > env["cpus"] / 2 or any(v["others_pct"] >= 10 for v in R["load"].values())
    out = ["# Benchmark results\n", f"Generated by `make bench` on {R['finished']} ({R['minutes']:.0f} min), from a "
           f"copy of the checkout taken {R['copied']}. Machine: {env['cpu']}, {env['cpus']} CPUs, {env['os']}; load "
           f"average {R['load_start']} at start. Tools: {env['python']}, jupyter-book {env['jupyter_book']}, "
           f"{env['hyperfine']}, @lhci/cli {env['lhci']} with Lighthouse "
           f"{next((r[0]['lighthouse'] for p in lh.values() for r in p['runs'].values()), '?')}, Node {env['node']}, "
           f"{env['chromium']}, Playwright {env['playwright']}.\n",
           ("**The machine was busy, so the times are noisy**" if noisy else "The machine was quiet")
           + f" (per phase: the 1-minute load average before it; the share of the {env['cpus']} CPUs other processes "
           "used while it ran: " + "; ".join(f"{k}: {v['loadavg']}, {v['others_pct']}%" for k, v in R["load"].items())
           + ").\n", f"A missed target says **MISSED**; `make bench` still exits 0. Lighthouse targets are `lhci "
           f"assert`'s verdicts on the median of {R['runs']} runs; tables give *median (min–max)* of the runs. What "
           "each figure means: `benchmarks/README.md`. Reports: `benchmarks/work/lhci/<profile>/*.html`.\n",
           "## Targets\n", table(["measure", "target", "measured", "status"], target_rows(R))]
    w = out.append
    w("## Builds (hyperfine)\n")
    if "cold" in b:
        w(f"`{b['command']}` in `benchmarks/work/repo`. Cold: `--prepare 'rm -rf <copy>/_build'`; one chapter edited: "
          f"`--prepare` appends a new hidden code cell to `{b['chapter']}`; no change: after `--warmup 1`.\n")
        w(table(["build", "runs", "median", "min–max", "mean ± σ", "CPU (user + system, mean)", "exit codes",
                 "notebooks executed (last run)"], [
            [BUILDS[n], len(v["times"]), fmt(v["median"], "s"), f"{v['min']:.1f}–{v['max']:.1f} s",
             f"{v['mean']:.1f} ± {v['stddev'] or 0:.1f} s", fmt(v["user"] + v["system"], "s"), v["exit_codes"],
             ", ".join([str(len(v["executed"])), *(f"`{p}`" for p in v["executed"][:1])])]
            for n, v in ((n, b[n]) for n in BUILDS)]))
    else:
        w(b.get("error", "Not run (BENCH_SKIP_BUILD=1).") + "\n")
    if lh:
        low = lambda n, c: fmt(min((r["scores"].get(c) for p in lh for r in runs(p, n)), default=None), "score")  # noqa
        w("## Lighthouse, every page\n\nLCP and TBT: mobile, gzip + cache. Accessibility, best practices, SEO: the "
          "lowest of all runs and profiles.\n")
        w(table(["page", *(f"performance, {v}" for v in PROFILES.values()), "LCP", "TBT", "accessibility",
                 "best practices", "SEO"], [
            [f"`{n}`", *(spread([r["scores"]["performance"] for r in runs(p, n)], "score") for p in PROFILES),
             *(spread([r["audits"][a] for r in runs("mobile-gzip", n)], "ms") for a in AUDITS[1:3]),
             *(low(n, c) for c in ("accessibility", "best-practices", "seo"))] for n in gz]))
        kinds = ["document", "script", "stylesheet", "font", "image", "other"]
        w("## Chapter pages: first load\n\nLighthouse's `total-byte-weight` (mobile, no scrolling) from each "
          "server; requests and bytes by kind (`resource-summary`): gzip.\n")
        w(table(["page", "bytes (plain)", "bytes (gzip)", "requests", *kinds], [
            [f"`{n}`", *(spread([r["audits"]["total-byte-weight"] for r in runs(p, n)], "KB") for p in (
                "mobile", "mobile-gzip")), spread([r["requests"] for r in runs("mobile-gzip", n)], "n"),
             *(spread([r["bytes"].get(k) for r in runs("mobile-gzip", n)], "KB") for k in kinds)]
            for n in gz if is_chapter(n)]))
        groups = sorted({g for n in gz for r in runs("mobile-gzip", n) for g in r["mainthread"]},
                        key=lambda g: (g != "Style & Layout", g == "Other", g))
        w("## Main-thread work\n\nLighthouse's `mainthread-work-breakdown`, mobile (CPU 4× slower), gzip + cache.\n")
        w(table(["page", *groups, "total"], [
            [f"`{n}`", *(spread([r["mainthread"].get(g, 0) for r in runs("mobile-gzip", n)], "ms") for g in groups),
             spread([sum(r["mainthread"].values()) for r in runs("mobile-gzip", n)], "ms")] for n in gz]))
        failing = {}
        for n in gz:
            for audit, (title, shown) in runs("mobile-gzip", n)[0]["failing"].items():
                failing.setdefault(audit, [title, []])[1].append(shown)
        w(f"## Lighthouse audits that cost score\n\nScored below 0.9 in the first mobile, gzip + cache run of a page "
          f"(of {len(gz)}), with what Lighthouse shows.\n")
        w(table(["audit", "title", "pages", "shown (up to 3)"], [[f"`{a}`", t, len(v), "; ".join(sorted(set(filter(
            None, v)))[:3])] for a, (t, v) in sorted(
            failing.items(), key=lambda kv: -len(kv[1][1]))]))
    if ch:
        w(f"## Charts (Playwright)\n\nChromium {ch['browser']}, `serve_gzip.py`, empty cache; milliseconds from "
          "navigation start; requests and bytes (gzip) once every chart is drawn.\n")
        w(table(["page", "charts", "profile", "first static chart", "chart JS draws", "all interactive", "requests",
                 "bytes", "left static (all runs)"], [
            [f"`{n}`", v["charts"], p, *(spread([x[k] for x in v[p]], "ms") for k in ("paint_ms", "draw_ms",
             "interactive_ms")), spread([x["requests"] for x in v[p]], "n"),
             spread([x["bytes"] for x in v[p]], "KB"), sum(x["failed"] for x in v[p])]
            for n, v in ch["pages"].items() if v["charts"] for p in charts.PROFILES]))
    errors = R["errors"] + [f"{p} {n}: {r['error']}" for p in lh for n in lh[p]["runs"] for r in runs(p, n)
                            if r["error"]]
    if errors:
        w("## Harness errors\n\n```\n" + "\n".join(errors) + "\n```\n")
    (BENCH / "RESULTS.md").write_text("\n".join(out))


def main():
    if os.environ.get("BENCH_REPORT_ONLY") == "1":
        return write_results(json.loads((WORK / "results.json").read_text()))
    t0 = time.time()
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
        R["lighthouse"], root, pages = {}, toc_docnames(REPO)[0], R["pages"]  # plain server: index and chapters
        plain = pages if os.environ.get("BENCH_PAGES") else [n for n in pages if n == root or is_chapter(n)]
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
