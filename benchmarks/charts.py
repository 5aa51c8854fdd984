"""The chart probes no standard tool has (Lighthouse neither scrolls nor knows which element is a chart), for
bench.py: first static chart painted, chart JavaScript drawing, every chart interactive, bytes with every chart
drawn, and which pages load chart JavaScript. Playwright, Debian's Chromium."""
import re

from tools.sitekit import CHROMIUM, CHROMIUM_ARGS

# Every host but 127.0.0.1 goes to a closed port: nothing leaves the machine (`<-loopback>` proxies loopback too).
NO_OUTSIDE = ["--proxy-server=http://127.0.0.1:9", "--proxy-bypass-list=<-loopback>;127.0.0.1"]
LIGHTHOUSE_FLAGS = ["--headless=new", *CHROMIUM_ARGS, *NO_OUTSIDE]  # lighthouserc.js's chromeFlags
CHART_JS = re.compile(r"/((?:dx-charts|vega[\w.-]*)\.js)(?:\?|$)")
# Animation frames: the first with a build-time chart image laid out, with a chart taken over by dx-charts.js
# (data-dx-state set), with every chart a live view.
INIT = """(() => {
  const t = window.__bench = {paint: null, draw: null, interactive: null};
  function frame() {
    const now = performance.now(), charts = document.querySelectorAll('.dx-chart');
    if (t.paint === null) for (const el of document.querySelectorAll('.dx-chart-static img, .dx-chart-static svg')) {
      const r = el.getBoundingClientRect();
      if (r.width && r.height && (el.tagName !== 'IMG' || (el.complete && el.naturalWidth))) { t.paint = now; break; }
    }
    if (t.draw === null && document.querySelector('.dx-chart[data-dx-state]')) t.draw = now;
    if (charts.length && document.querySelectorAll('.dx-chart[data-dx-state="interactive"]').length === charts.length)
      t.interactive = now;
    else if (now < 180000) requestAnimationFrame(frame);
  }
  requestAnimationFrame(frame);
})();"""
MOBILE = {"viewport": {"width": 412, "height": 823}, "device_scale_factor": 1.75, "is_mobile": True, "has_touch": True}
PROFILES = {"desktop": ({"viewport": {"width": 1280, "height": 900}}, None), "mobile": (MOBILE, {  # as Lighthouse's
    "offline": False, "latency": 150, "downloadThroughput": 1.6384e6 / 8, "uploadThroughput": 0.75e6 / 8})}


def visit(browser, url: str, profile: str) -> dict:
    opts, network = PROFILES[profile]
    context = browser.new_context(**opts)
    context.add_init_script(INIT)
    page = context.new_page()
    if network:
        cdp = context.new_cdp_session(page)
        for method, params in (("Network.enable", {}), ("Network.emulateNetworkConditions", network),
                               ("Emulation.setCPUThrottlingRate", {"rate": 4})):
            cdp.send(method, params)
    done = []
    page.on("requestfinished", lambda r: done.append(r))
    page.goto(url, wait_until="load", timeout=180000)
    charts = page.locator(".dx-chart")
    n = charts.count()
    for i in range(n):  # scroll to each chart in turn, right after `load`, until it starts drawing
        charts.nth(i).scroll_into_view_if_needed()
        page.wait_for_function("i => document.querySelectorAll('.dx-chart')[i].dataset.dxState", arg=i, timeout=60000)
    if n:
        page.wait_for_function("() => [...document.querySelectorAll('.dx-chart')].every("
                               "e => ['interactive', 'static'].includes(e.dataset.dxState))", timeout=180000)
        page.wait_for_timeout(100)
    t = page.evaluate("() => ({...window.__bench, fcp: performance.getEntriesByName('first-contentful-paint')"
                      "[0]?.startTime ?? null, failed: document.querySelectorAll('[data-dx-state=static]').length})")
    sizes = [r.sizes() for r in done]
    context.close()
    paint = None if t["paint"] is None else max(t["paint"], t["fcp"] or 0)  # nothing is painted before FCP
    return {"charts": n, "chart_js": sorted({m.group(1) for r in done if (m := CHART_JS.search(r.url))}),
            "paint_ms": paint, "draw_ms": t["draw"], "interactive_ms": t["interactive"], "failed": t["failed"],
            "requests": len(done), "bytes": sum(s["responseBodySize"] + s["responseHeadersSize"] for s in sizes)}


def measure(base_url: str, pages: list[str], runs: int, log) -> dict:
    """Every page once (desktop): charts and chart JS; chart pages `runs` times per profile."""
    from playwright.sync_api import sync_playwright

    out = {"pages": {}}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=[*CHROMIUM_ARGS, *NO_OUTSIDE])
        out["browser"] = browser.version
        for name in pages:
            url = f"{base_url}/{name}.html"
            first = visit(browser, url, "desktop")
            row = out["pages"][name] = {"charts": first["charts"], "chart_js": first["chart_js"]}
            if not first["charts"]:
                continue
            for profile in PROFILES:
                log(f"charts, {profile}: {name}")
                row[profile] = ([first] if profile == "desktop" else []) + [
                    visit(browser, url, profile) for _ in range(runs - (profile == "desktop"))]
        browser.close()
    return out
