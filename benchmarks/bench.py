#!/usr/bin/env python3
"""Benchmarks with standard tools (`make bench`): hyperfine times a cold and a no-change build of a
private copy (benchmarks/work/repo); Lighthouse CI (lighthouserc.js) runs every page of _toc.yml;
Playwright (charts.py) times the charts. Writes benchmarks/RESULTS.md and work/results.json; exits
non-zero only if the book did not build. Knobs: BENCH_SKIP_BUILD=1 (reuse the copy an earlier run
built), BENCH_REPORT_ONLY=1 (RESULTS.md from results.json), BENCH_PAGES=a,b, BENCH_RUNS=1 (quick try)."""
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
RUNS = max(1, int(os.environ.get("BENCH_RUNS", "3")))
PROFILES = {"mobile-gzip": "mobile, gzip + cache", "mobile": "mobile, plain server", "desktop": "desktop, plain server"}
TARGETS = {"style": 300, "cold": 60, "nochange": 10}  # ms, s, s; the others are lighthouserc.js assertions
STATUS = {True: "met", False: "**MISSED**"}
os.environ["BENCH_RUN"] = str(os.getpid())  # marks the processes this run starts (see others_cpu)
MARK = f"BENCH_RUN={os.getpid()}\0".encode()


def log(msg):
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", flush=True)


def others_cpu():
    """CPU-seconds (with reaped children) of each process this run did not start: every process it starts,
    Chromium included, inherits BENCH_RUN in its environment. PID 1 (it reaps orphans) is left out."""
    cpu = {}
    for d in Path("/proc").glob("[0-9]*"):
        try:
            if d.name not in ("1", os.environ["BENCH_RUN"]) and MARK not in (d / "environ").read_bytes():
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


def builds():
    if not shutil.which("hyperfine"):
        return {"error": "hyperfine is not installed (`sudo apt-get install -y hyperfine`): builds not timed."}
    env = {**os.environ, "PYTHONPATH": str(REPO), "DEFECTION_DATA": str(REPO / "data"),  # the copy's code and data
           "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
    build = shlex.join([str(BIN / "jupyter-book"), "build", str(REPO), "--path-output", str(REPO),
                        "-W", "-n", "--keep-going"])  # as `make book`
    out = {"command": build.replace(str(REPO), "<copy>")}
    for name, extra in (("cold", ["--prepare", shlex.join(["rm", "-rf", str(REPO / "_build")])]), ("nochange", [])):
        cmd = ["hyperfine", "-N", "-i", "--style", "basic", "--runs", str(RUNS), *extra, "--output",
               str(LOGS / f"{name}.log"), "--export-json", str(WORK / f"hyperfine-{name}.json"), build]
        log(f"hyperfine, {name} build: {shlex.join(cmd)}")
        subprocess.run(cmd, env=env, cwd=REPO, check=True)
        out[name] = json.loads((WORK / f"hyperfine-{name}.json").read_text())["results"][0]
    return out


def lhci(profile, site, pages):
    """`lhci autorun` for one profile, then read its filesystem upload and assertion-results.json."""
    out = WORK / "lhci" / profile
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    server = serve_gzip(site) if profile == "mobile-gzip" else serve(site)
    with server as url, open(LOGS / f"lhci-{profile}.log", "w") as f:
        log(f"lhci autorun, {profile}: {len(pages)} pages x {RUNS} runs")
        env = {**os.environ, "BENCH_LHCI": profile, "BENCH_BASE_URL": url, "BENCH_PAGES": ",".join(pages)}
        rc = subprocess.run([str(LHCI), "autorun", f"--config={RC}", f"--collect.numberOfRuns={RUNS}"], env=env,
                            cwd=out, stdout=f, stderr=subprocess.STDOUT).returncode  # 1 if an assertion failed
    runs, errors = {}, []
    for entry in json.loads((out / "manifest.json").read_text()):
        lhr = json.loads(Path(entry["jsonPath"]).read_text())
        items = lambda audit: (lhr["audits"][audit].get("details") or {}).get("items") or []  # noqa: E731
        errors += [f"{profile} {entry['url']}: {lhr['runtimeError']}"] if lhr.get("runtimeError") else []
        runs.setdefault(re.sub(r"^https?://[^/]+/|\.html$", "", entry["url"]), []).append({
            "median_run": entry["isRepresentativeRun"], "url": entry["url"], "lighthouse": lhr["lighthouseVersion"],
            "scores": {k: v["score"] for k, v in lhr["categories"].items()}, "requests": len(items("network-requests")),
            "audits": {k: lhr["audits"][k].get("numericValue") for k in (
                "largest-contentful-paint", "total-blocking-time", "total-byte-weight")},
            "mainthread": {i["groupLabel"]: i["duration"] for i in items("mainthread-work-breakdown")}})
    results = out / ".lighthouseci" / "assertion-results.json"
    config = subprocess.run(["node", "-e", f"console.log(JSON.stringify(require({json.dumps(str(RC))}).ci.assert))"],
                            env={**os.environ, "BENCH_LHCI": profile, "BENCH_PAGES": "intro"},
                            capture_output=True, text=True, check=True).stdout
    return {"exit": rc, "runs": runs, "errors": errors, "assert": json.loads(config),
            "failures": json.loads(results.read_text()) if results.is_file() else []}


def fmt(v, kind):
    """kind: score, KB, s, n, ms or an audit: "categories:…" is a score, "total-byte-weight" KB, the others ms."""
    forms = {"score": "{:.2f}", "KB": "{:,.0f} KB", "s": "{:.1f} s", "n": "{:,.0f}", "ms": "{:,.0f} ms"}
    kind = {"categories": "score", "total-byte-weight": "KB"}.get(kind.split(":")[0], kind if kind in forms else "ms")
    return "–" if v is None else forms[kind].format(v / 1024 if kind == "KB" else v)


def spread(vals, kind):
    """median (min–max), or one figure if every run gave the same."""
    vals = [v for v in vals if v is not None]
    lo, hi = (fmt(min(vals), kind).split()[0], fmt(max(vals), kind).split()[0]) if vals else ("", "")
    return fmt(median(vals) if vals else None, kind) + (f" ({lo}–{hi})" if lo != hi else "")


def value(run, audit):  # "categories:performance" or an audit id
    return run["scores"].get(audit.split(":")[1]) if ":" in audit else run["audits"].get(audit)


def median_run(runs):
    return next((r for r in runs if r["median_run"]), runs[0])


def table(head, rows):
    return "\n".join(["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
                     + ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]) + "\n"


def target_rows(R):
    """A row per lighthouserc.js assertion and profile (lhci's verdict), then style & layout and the builds."""
    rows, lh = [], R.get("lighthouse", {})
    for profile, label in PROFILES.items():
        if profile not in lh:
            rows.append([f"Lighthouse, {label}", "see `lighthouserc.js`", "not measured", "–"])
        for group in lh.get(profile, {}).get("assert", {}).get("assertMatrix", []):
            pattern = group["matchingUrlPattern"]
            pages = {n: r for n, r in lh[profile]["runs"].items() if re.search(pattern, r[0]["url"])}
            for audit, (_, opts) in (group["assertions"].items() if pages else []):
                op, bound = next((k, v) for k, v in opts.items() if k != "aggregationMethod")
                vals = {n: value(median_run(r), audit) for n, r in pages.items()}
                worst = (min if op == "minScore" else max)(vals, key=lambda n: vals[n] or 0)
                missed = {f["url"] for f in lh[profile]["failures"] if f["auditId"] == audit.split(":")[0]
                          and f.get("auditProperty") in (None, *audit.split(":")[1:])
                          and f["url"] in {r[0]["url"] for r in pages.values()}}
                rows.append([f"{audit.replace('categories:', '')}, {label}, "
                             + ("every page" if pattern == ".*" else "chapter pages"),
                             ("= " if ":" in audit and bound == 1 else "≥ " if op == "minScore" else "≤ ")
                             + fmt(bound, audit), f"worst {fmt(vals[worst], audit)} (`{worst}`); " + (
                                 f"missed on {len(missed)} of {len(pages)}" if missed else f"all {len(pages)} pages"),
                             STATUS[not missed]])
    style = {n: median_run(r)["mainthread"].get("Style & Layout", 0)
             for n, r in lh.get("mobile-gzip", {}).get("runs", {}).items() if is_chapter(n)}
    if style:
        worst = max(style, key=style.get)
        rows.append(["Style & Layout main thread, mobile, gzip + cache, chapter pages", f"≤ {TARGETS['style']} ms",
                     f"worst {fmt(style[worst], 'ms')} (`{worst}`)", STATUS[style[worst] <= TARGETS["style"]]])
    for name, label in (("cold", "Cold build (no `_build`, so no jupyter-cache)"), ("nochange", "Rebuild, no change")):
        b = R.get("builds", {}).get(name)
        rows.append([label, f"≤ {TARGETS[name]} s", f"median {fmt(b['median'], 's')} of {len(b['times'])} runs, "
                     f"exit codes {sorted(set(b['exit_codes']))}" if b else "not measured",
                     STATUS[b["median"] <= TARGETS[name] and not any(b["exit_codes"])] if b else "–"])
    return rows


HOW_TO_READ = """**How to read this.** Benchmarks report, they do not test: a missed target says **MISSED** and \
`make bench` still exits 0. Lighthouse targets are judged as `lhci assert` does (`aggregationMethod: median-run`), on \
the *median run* of three (nearest the median FCP and TTI); other tables give *median (min–max)* of the three runs \
(one figure if they agree). Mobile is Lighthouse's simulated slow 4G and 4× slower CPU: estimates, steadier than wall \
clock. Bytes: first load, no scrolling, as transferred (KB = 1,024 bytes), uncompressed from the plain server \
(`python -m http.server`'s handler), gzip from `serve_gzip.py` (as GitHub Pages). Builds: hyperfine wall time of \
`jupyter-book build`, kernels included. Reports: `benchmarks/work/lhci/<profile>/*.html`; logs: `benchmarks/work/logs/`.
"""


def write_results(R):
    lh, env, b, ch = R.get("lighthouse", {}), R["env"], R.get("builds", {}), R.get("charts")
    runs = lambda p, n: lh.get(p, {}).get("runs", {}).get(n, [])  # noqa: E731
    chapters = [n for n in R["pages"] if is_chapter(n)]
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
           + ").\n", HOW_TO_READ, "## Targets\n", table(["measure", "target", "measured", "status"], target_rows(R))]
    w = out.append
    w("## Builds (hyperfine)\n")
    if "cold" in b:
        w(f"In `benchmarks/work/repo`: `{b['command']}`; cold: `--prepare 'rm -rf <copy>/_build'` before each run.\n")
        w(table(["build", "runs", "min", "median", "max", "mean ± σ", "CPU (user + system, mean)", "exit codes"], [
            [n, len(v["times"]), *(fmt(v[k], "s") for k in ("min", "median", "max")),
             f"{v['mean']:.1f} ± {v['stddev'] or 0:.1f} s", fmt(v["user"] + v["system"], "s"), v["exit_codes"]]
            for n, v in ((n, b[n]) for n in ("cold", "nochange"))]))
    else:
        w(b.get("error", "Not run (BENCH_SKIP_BUILD=1).") + "\n")
    if lh:
        cols = [(p, "categories:performance") for p in PROFILES] + [
            ("mobile-gzip", "largest-contentful-paint"), ("mobile-gzip", "total-blocking-time")]
        w("## Lighthouse, every page\n")
        w(table(["page", *(f"performance, {PROFILES[p]}" for p in PROFILES), "LCP, mobile gzip", "TBT, mobile gzip",
                 "accessibility (lowest run)"], [
            [f"`{n}`", *(spread([value(r, a) for r in runs(p, n)], a) for p, a in cols),
             fmt(min((r["scores"]["accessibility"] for p in lh for r in runs(p, n)), default=None), "score")]
            for n in R["pages"]]))
        w("## Chapter pages: first load and main thread\n")
        w(table(["page", "bytes (plain)", "bytes (gzip)", "requests", "TBT, mobile gzip", "LCP, mobile gzip"], [
            [f"`{n}`", spread([r["audits"]["total-byte-weight"] for r in runs("mobile", n)], "KB"),
             *(spread([r["requests"] if a == "n" else r["audits"][a] for r in runs("mobile-gzip", n)], a)
               for a in ("total-byte-weight", "n", "total-blocking-time", "largest-contentful-paint"))]
            for n in chapters]))
        groups = sorted({g for n in chapters for r in runs("mobile-gzip", n) for g in r["mainthread"]},
                        key=lambda g: (g != "Style & Layout", g == "Other", g))
        w("Main-thread work (Lighthouse's `mainthread-work-breakdown`), mobile, gzip + cache, CPU 4× slower:\n")
        w(table(["page", *groups, "total"], [
            [f"`{n}`", *(spread([r["mainthread"].get(g, 0) for r in runs("mobile-gzip", n)], "ms") for g in groups),
             spread([sum(r["mainthread"].values()) for r in runs("mobile-gzip", n)], "ms")] for n in chapters]))
        w("## Lighthouse CI assertions that failed\n\nFrom each profile's `.lighthouseci/assertion-results.json` "
          "(`lhci autorun` exits 1 if any failed; bench.py reports them instead).\n")
        w(table(["profile", "page", "assertion", "expected", "median run", "values (as lhci lists them)"], [
            [p, f"`{re.sub(r'^https?://[^/]+/|[.]html$', '', f['url'])}`",
             f"`{f['auditId']}{'.' + f['auditProperty'] if f.get('auditProperty') else ''}` {f['name']}",
             f"{f['operator']} {fmt(f['expected'], k)}", fmt(f["actual"], k), ", ".join(fmt(v, k) for v in f["values"])]
            for p in lh for f in lh[p]["failures"] for k in [f["auditId"]]]))
    if ch:
        w(f"## Charts (Playwright)\n\nChromium {ch['browser']}, `serve_gzip.py`, empty cache, {RUNS} runs per profile "
          "(desktop: 1280×900, no throttling; mobile: 412×823, 150 ms RTT, 1.6 Mbps, CPU 4× slower, by CDP). *First "
          "static chart*: the first frame in which a chart's build-time image is loaded and laid out (or FCP, if "
          "later). *All interactive*: every chart a live Vega view, each scrolled into view right after `load`. "
          "Times from navigation start.\n")
        w(table(["page", "charts", "profile", "first static chart", "all interactive", "left static (all runs)"], [
            [f"`{n}`", v["charts"], p, spread([x["paint_ms"] for x in v[p]], "ms"),
             spread([x["interactive_ms"] for x in v[p]], "ms"), sum(x["failed"] for x in v[p])]
            for n, v in ch["pages"].items() if v["charts"] for p in charts.PROFILES]))
        free = [n for n, v in ch["pages"].items() if not v["charts"]]
        leaks = [f"`{n}` ({', '.join(ch['pages'][n]['chart_js'])})" for n in free if ch["pages"][n]["chart_js"]]
        w(f"Chart JavaScript only on chart pages: of {len(free)} chart-free pages, chart JS was requested on "
          f"{', '.join(leaks) or 'none'}; the chart pages requested " + "; ".join(
              f"`{n}`: {', '.join(v['chart_js']) or 'none'}" for n, v in ch["pages"].items() if v["charts"])
          + " (desktop, after scrolling to every chart).\n")
    errors = R["errors"] + [e for p in lh.values() for e in p["errors"]]
    if errors:
        w("## Harness errors\n\n```\n" + "\n".join(errors) + "\n```\n")
    (BENCH / "RESULTS.md").write_text("\n".join(out))


def main():
    if os.environ.get("BENCH_REPORT_ONLY") == "1":
        return write_results(json.loads((WORK / "results.json").read_text()))
    t0 = time.time()
    LOGS.mkdir(parents=True, exist_ok=True)
    cpu = [ln.split(":")[1].strip() for ln in Path("/proc/cpuinfo").read_text().splitlines() if ln[:6] == "model "]
    R = {"errors": [], "load": {}, "load_start": [round(x, 2) for x in os.getloadavg()], "env": {
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
            ".ipynb_checkpoints", "pdf", "lab", "lab-teacher"))
        R["copied"] = "at " + dt.datetime.now().astimezone().isoformat(timespec="seconds")
        phase(R, R, "builds", builds)
    site = REPO / "_build" / "html"
    R["pages"] = os.environ["BENCH_PAGES"].split(",") if os.environ.get("BENCH_PAGES") else toc_docnames(REPO)
    if (site / "index.html").is_file():
        R["lighthouse"] = {}
        for profile in PROFILES:
            phase(R, R["lighthouse"], profile, lhci, profile, site, R["pages"])
        with serve_gzip(site) as url:
            phase(R, R, "charts", charts.measure, url, R["pages"], RUNS, log)
    else:
        R["errors"].append("The book did not build: nothing to measure (see benchmarks/work/logs/cold.log).")
    R.update(finished=dt.datetime.now().astimezone().isoformat(timespec="seconds"), minutes=(time.time() - t0) / 60)
    (WORK / "results.json").write_text(json.dumps(R, indent=1))
    write_results(R)
    log(f"wrote benchmarks/RESULTS.md ({R['minutes']:.0f} min, {len(R['errors'])} harness errors)")
    return 0 if (site / "index.html").is_file() else 1


if __name__ == "__main__":
    sys.exit(main())
