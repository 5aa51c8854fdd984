/* Defection Explained: small site-wide behaviour that must not be inline
 * (the pages' Content-Security-Policy allows no inline event handlers).
 *
 * 1. The print button, and chart images loaded before the browser prints.
 * 2. Bootstrap on demand. The theme's Bootstrap script (81 kB) drives only its
 *    dropdown menus (download, launch, repository), tooltips and the
 *    back-to-top button; the build leaves it out of the page (assets.py,
 *    lazy_bootstrap) and names it in <meta name="dx-bootstrap">. It is loaded on
 *    the first scroll, or hover, focus or touch of a control that needs it; a
 *    click on a dropdown before it has arrived opens the menu once it has.
 */
(function () {
  "use strict";
  document.addEventListener("click", function (event) {
    var target = event.target.closest && event.target.closest("[data-dx-print]");
    if (target) { event.preventDefault(); window.print(); }
  });

  // Printing from the browser: lazily loaded chart images must be there on paper too.
  window.addEventListener("beforeprint", function () {
    document.querySelectorAll("img[loading=lazy]").forEach(function (img) { img.loading = "eager"; });
  });

  var meta = document.querySelector('meta[name="dx-bootstrap"]');
  if (!meta || window.bootstrap) return;
  var loading = null;
  function loadBootstrap() {
    if (!loading) {
      loading = new Promise(function (resolve, reject) {
        var script = document.createElement("script");
        script.src = meta.content;
        script.onload = function () { resolve(window.bootstrap); };
        script.onerror = reject;
        document.head.appendChild(script);
      });
    }
    return loading;
  }
  function near(event) {
    if (event.target.closest && event.target.closest("[data-bs-toggle]")) loadBootstrap();
  }
  ["pointerover", "focusin", "touchstart"].forEach(function (type) {
    document.addEventListener(type, near, { passive: true });
  });
  window.addEventListener("scroll", function once() {
    window.removeEventListener("scroll", once);
    loadBootstrap();
  }, { passive: true });
  document.addEventListener("click", function (event) {
    var toggle = event.target.closest && event.target.closest('[data-bs-toggle="dropdown"]');
    if (!toggle || window.bootstrap) return;  // once loaded, Bootstrap handles its own clicks
    event.preventDefault();
    loadBootstrap().then(function (bootstrap) {
      bootstrap.Dropdown.getOrCreateInstance(toggle).toggle();
    });
  });
})();
