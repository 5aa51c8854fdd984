"""Unit tests of the glue in benchmarks/ (fast, no build, no browser): how bench.py reads Lighthouse reports,
lhci's assertion results and hyperfine's JSON, and that serve_gzip.py answers like a static host."""
from __future__ import annotations

import gzip
import sys
import urllib.request

from conftest import ROOT

sys.path.insert(0, str(ROOT / "benchmarks"))
import bench  # noqa: E402
from serve_gzip import serve_gzip  # noqa: E402


def lhr(perf=0.9, style=450.0):
    audit = lambda v: {"numericValue": v, "score": 1, "scoreDisplayMode": "numeric", "title": "t"}  # noqa: E731
    return {"lighthouseVersion": "12.6.1", "categories": {"performance": {"score": perf}, "seo": {"score": 1}},
            "audits": {**{a: audit(1000.0) for a in bench.AUDITS},
                       "render-blocking-resources": {"score": 0.5, "scoreDisplayMode": "metricSavings",
                                                     "title": "Eliminate render-blocking resources",
                                                     "displayValue": "Est savings of 970 ms"},
                       "resource-summary": {"details": {"items": [
                           {"resourceType": "total", "requestCount": 31, "transferSize": 240456},
                           {"resourceType": "script", "requestCount": 9, "transferSize": 95543}]}},
                       "mainthread-work-breakdown": {"details": {"items": [
                           {"group": "styleLayout", "groupLabel": "Style & Layout", "duration": style}]}}}}


def test_summarise_reads_scores_bytes_and_main_thread():
    s = bench.summarise(lhr())
    assert s["scores"] == {"performance": 0.9, "seo": 1}
    assert s["requests"] == 31 and s["bytes"]["script"] == 95543
    assert s["mainthread"] == {"Style & Layout": 450.0}
    assert list(s["failing"]) == ["render-blocking-resources"] and s["error"] is None


def test_fmt_and_spread():
    assert bench.fmt(0.951, "categories") == "0.95"
    assert bench.fmt(240456, "total-byte-weight") == "235 KB"
    assert bench.fmt(2804.4, "largest-contentful-paint") == "2,804 ms"
    assert bench.fmt(None, "ms") == "–"
    assert bench.spread([3, 1, 2], "ms") == "2 ms (1–3)"
    assert bench.spread([2, 2, None], "ms") == "2 ms"


def test_targets_follow_lhci_verdicts_and_the_medians():
    url = "http://127.0.0.1:1/chapters/01-x.html"
    assertion = {"auditId": "categories", "auditProperty": "performance", "operator": ">=", "expected": 0.95,
                 "url": url}
    R = {"lighthouse": {"mobile-gzip": {
        "assertions": [{**assertion, "actual": 0.9, "passed": False},
                       {**assertion, "url": url.replace("01-x", "02-y"), "actual": 0.97, "passed": True}],
        "runs": {"chapters/01-x": [bench.summarise(lhr(style=s)) for s in (250, 350, 310)]}}},
        "builds": {"cold": {"median": 38.2, "times": [38, 38.2, 39], "exit_codes": [0, 0, 0],
                              "user": 36.0, "system": 1.5}}}
    rows = {r[0]: r for r in bench.target_rows(R)}
    perf = rows["performance, mobile, gzip + cache"]
    assert perf[1:] == ["≥ 0.95", "worst 0.90 (`chapters/01-x`); missed on 1 of 2 pages", "**MISSED**"]
    style = next(r for k, r in rows.items() if k.startswith("Style & Layout"))
    assert style[2].startswith("worst 310 ms") and style[3] == "**MISSED**"
    assert rows["Build, cold (no `_build`, so no jupyter-cache)"][3] == "met"
    assert rows["Build, no change"][2] == "not measured"


def test_teacher_pages_must_be_found_blocked_from_indexing():
    """The SEO target is for indexable pages (lighthouserc.js); the noindex pages must fail is-crawlable."""
    blocked = {**lhr(), "audits": {**lhr()["audits"], "is-crawlable": {
        "score": 0, "scoreDisplayMode": "binary", "title": "Page is blocked from indexing"}}}
    page = f"{bench.TEACHER_PAGES[0]}index"
    for runs, status in (([blocked, blocked], "met"), ([blocked, lhr()], "**MISSED**")):
        R = {"lighthouse": {"mobile-gzip": {"assertions": [], "runs": {
            page: [bench.summarise(r) for r in runs], "chapters/01-x": [bench.summarise(lhr())]}}}}
        row = next(r for r in bench.target_rows(R) if r[0].startswith("Teacher pages blocked"))
        assert row[2:] == [f"{1 if status == 'met' else 0} of 1 pages", status]


def test_serve_gzip_compresses_text_and_sets_cache_control(tmp_path):
    (tmp_path / "a.html").write_text("<p>hello</p>" * 100)
    with serve_gzip(tmp_path) as base:
        req = urllib.request.Request(f"{base}/a.html", headers={"Accept-Encoding": "gzip"})
        with urllib.request.urlopen(req) as r:
            assert r.headers["Content-Encoding"] == "gzip" and r.headers["Cache-Control"] == "max-age=600"
            assert gzip.decompress(r.read()) == (tmp_path / "a.html").read_bytes()
        with urllib.request.urlopen(f"{base}/a.html") as r:  # no Accept-Encoding: as it is
            assert r.headers["Content-Encoding"] is None and r.read().startswith(b"<p>hello")
