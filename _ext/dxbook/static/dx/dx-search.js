/* Defection Explained: the search page puts the cursor in its own search field (the
   theme's inline script, moved to a file for the content policy; the theme's selector
   found the hidden field of the search dialog first, so the cursor went nowhere). */
(function () {
  var searchInput = document.querySelector(".bd-search-container form.bd-search input");
  if (searchInput) {
    searchInput.focus();
    searchInput.select();
  }
})();
