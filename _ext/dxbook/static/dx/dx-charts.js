/* Defection Explained: make the build-time charts interactive, in the page's theme.
 *
 * Each chart is a <div class="dx-chart"> holding two images drawn at build time
 * (light and dark; readable without JavaScript and in print) and the URLs of
 * its compiled Vega specs. When a chart comes near the viewport, this script
 * loads the Vega runtime once, from this site, fetches the spec for the current
 * theme and swaps the image for a live view with tooltips; when the reader
 * switches theme, live charts are redrawn. A chart with a narrow (phone) layout
 * names the media query its <picture> uses (data-dx-media); the live view uses
 * the same layout as the picture, and is redrawn when the query flips. If
 * anything fails, the image stays.
 * No request leaves the site.
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

  function theme() {
    return document.documentElement.dataset.theme === "dark" ? "dark" : "light";
  }

  var queries = {};
  function narrow(el) {
    var media = el.dataset.dxMedia;
    if (!media || !el.dataset.dxSpecNarrow || !window.matchMedia) return false;
    if (!queries[media]) {
      queries[media] = window.matchMedia(media);
      var redraw = function () { seen.forEach(draw); };
      if (queries[media].addEventListener) queries[media].addEventListener("change", redraw);
      else if (queries[media].addListener) queries[media].addListener(redraw);
    }
    return queries[media].matches;
  }

  function draw(el) {
    var wanted = theme(), layout = narrow(el) ? "narrow" : "wide";
    if (el.dataset.dxTheme === wanted && el.dataset.dxLayout === layout && el.dataset.dxState) return;
    el.dataset.dxState = "loading";
    el.dataset.dxTheme = wanted;
    el.dataset.dxLayout = layout;
    var staticNode = el.querySelector(".dx-chart-static");
    var label = (staticNode.querySelector("img") || {}).alt || "";
    var dark = wanted === "dark";
    var url = layout === "narrow" ? (dark ? el.dataset.dxSpecNarrowDark : el.dataset.dxSpecNarrow)
                                  : (dark ? el.dataset.dxSpecDark : el.dataset.dxSpec);
    Promise.all([loadRuntime(), fetch(url).then(function (r) { return r.json(); })]).then(function (parts) {
      var vega = parts[0], spec = parts[1];
      var host = document.createElement("div");
      host.className = "dx-chart-live";
      var view = new vega.View(vega.parse(spec, null, { ast: true }), {
        renderer: "svg", container: host, hover: true, expr: window.vegaExpressionInterpreter
      });
      return view.runAsync().then(function () {
        if (el.dataset.dxTheme !== wanted || el.dataset.dxLayout !== layout) { view.finalize(); return; }  // changed meanwhile
        var svg = host.querySelector("svg");
        if (svg) {
          svg.setAttribute("role", "img");
          svg.setAttribute("aria-label", label);
          svg.removeAttribute("aria-roledescription");
        }
        var old = el.querySelector(".dx-chart-live");
        if (old) old.remove();
        // Keep the images for print (see dx.css), hide them on screen.
        staticNode.hidden = true;
        staticNode.parentNode.insertBefore(host, staticNode);
        el.dataset.dxState = "interactive";
      });
    }).catch(function () {
      el.dataset.dxState = "static";
    });
  }

  var seen = [];
  if ("IntersectionObserver" in window) {
    var io = new IntersectionObserver(function (entries) {
      entries.forEach(function (e) {
        if (e.isIntersecting) { io.unobserve(e.target); seen.push(e.target); draw(e.target); }
      });
    }, { rootMargin: "200px" });
    charts.forEach(function (el) { io.observe(el); });
  } else {
    charts.forEach(function (el) { seen.push(el); draw(el); });
  }
  // Follow the theme switch: redraw the charts that are already live.
  new MutationObserver(function () { seen.forEach(draw); })
    .observe(document.documentElement, { attributes: true, attributeFilter: ["data-theme"] });
})();
