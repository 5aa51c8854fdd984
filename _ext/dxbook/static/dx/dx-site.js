/* Defection Explained: small site-wide behaviour that must not be inline
 * (the pages' Content-Security-Policy allows no inline event handlers). */
(function () {
  "use strict";
  document.addEventListener("click", function (event) {
    var target = event.target.closest && event.target.closest("[data-dx-print]");
    if (target) { event.preventDefault(); window.print(); }
  });
})();
