/* Defection Explained: make the build-time SVG charts interactive.
 *
 * Each chart is a <div class="dx-chart"> holding a static SVG (drawn at build
 * time, readable without JavaScript) and its compiled Vega spec. When a chart
 * comes near the viewport, this script loads the Vega runtime once, from this
 * site, and swaps the static SVG for a live view with tooltips. If anything
 * fails, the static SVG simply stays. No request leaves the site.
 *
 * The pages forbid eval (Content-Security-Policy without 'unsafe-eval'), so
 * Vega parses expressions to an AST ({ast: true}) and runs them with its
 * CSP-safe interpreter (vega-interpreter.min.js, loaded after vega.min.js).
 */
(function () {
  "use strict";
  var charts = document.querySelectorAll(".dx-chart");
  if (!charts.length) return;
  var here = document.currentScript && document.currentScript.src;
  var base = here || document.baseURI;
  var runtimeUrls = [new URL("vega.min.js", base).href, new URL("vega-interpreter.min.js", base).href];
  var loading = null;

  function loadScript(url) {
    return new Promise(function (resolve, reject) {
      var s = document.createElement("script");
      s.src = url;
      s.async = false;
      s.onload = resolve;
      s.onerror = reject;
      document.head.appendChild(s);
    });
  }

  function loadRuntime() {
    if (!loading) {
      loading = loadScript(runtimeUrls[0]).then(function () { return loadScript(runtimeUrls[1]); })
        .then(function () { return window.vega; });
    }
    return loading;
  }

  function draw(el) {
    if (el.dataset.dxState) return;
    el.dataset.dxState = "loading";
    var specNode = el.querySelector("script.dx-chart-spec");
    var staticNode = el.querySelector(".dx-chart-static");
    var label = staticNode && staticNode.querySelector("svg");
    label = label ? label.getAttribute("aria-label") : "";
    loadRuntime().then(function (vega) {
      var spec = JSON.parse(specNode.textContent);
      var host = document.createElement("div");
      host.className = "dx-chart-live";
      var view = new vega.View(vega.parse(spec, null, { ast: true }), {
        renderer: "svg", container: host, hover: true, expr: window.vegaExpressionInterpreter
      });
      return view.runAsync().then(function () {
        var svg = host.querySelector("svg");
        if (svg) {
          svg.setAttribute("role", "img");
          svg.setAttribute("aria-label", label);
          svg.removeAttribute("aria-roledescription");
        }
        // Keep the static SVG for print (see dx.css), hide it on screen.
        staticNode.hidden = true;
        el.insertBefore(host, staticNode);
        el.dataset.dxState = "interactive";
      });
    }).catch(function () {
      el.dataset.dxState = "static";
    });
  }

  if ("IntersectionObserver" in window) {
    var io = new IntersectionObserver(function (entries) {
      entries.forEach(function (e) {
        if (e.isIntersecting) { io.unobserve(e.target); draw(e.target); }
      });
    }, { rootMargin: "200px" });
    charts.forEach(function (el) { io.observe(el); });
  } else {
    charts.forEach(draw);
  }
})();
