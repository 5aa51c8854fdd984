/* Defection Explained: the case browser on the data page.
 *
 * The build writes every case as a plain table (defection.tables.case_browser),
 * which is complete and readable without JavaScript. This adds, on pages that
 * have one: a labelled search box that filters the rows, column headings that
 * are buttons and sort the table (aria-sort on the sorted heading), and a
 * caption and live region that say "N of M cases shown".
 *
 * Written by hand rather than with a library: tablesort (MIT, small) only
 * sorts, so the filter and the live count would still be ours; the maintained
 * grid libraries (simple-datatables and the like) weigh tens of kilobytes,
 * redraw the table with their own markup and styles (paging, CSS) and would
 * need vendoring. This file is about a hundred lines and uses no innerHTML:
 * cell text from the data is only ever read, never parsed as markup.
 */
(function () {
  "use strict";

  // Case- and accent-insensitive: "alcantara" finds "Alcántara".
  function fold(text) {
    return text.normalize("NFD").replace(/[\u0300-\u036f]/g, "").toLowerCase();
  }

  function sortKey(row, column, kind) {
    var cell = row.cells[column];
    var value = cell.hasAttribute("data-sort") ? cell.getAttribute("data-sort") : cell.textContent.trim();
    return kind === "number" ? Number(value) : fold(value);
  }

  function init(box, number) {
    var table = box.querySelector("table");
    if (!table || !table.tBodies.length) return;
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    var haystack = rows.map(function (row) { return fold(row.textContent); });
    var headings = Array.prototype.slice.call(table.tHead.rows[0].cells);
    var id = "dx-cases-" + number;
    var caption = table.caption;

    var controls = document.createElement("div");
    controls.className = "dx-cases-controls";
    var label = document.createElement("label");
    label.htmlFor = id + "-filter";
    label.textContent = "Filter the cases";
    var input = document.createElement("input");
    input.type = "search";
    input.id = id + "-filter";
    input.autocomplete = "off";
    input.setAttribute("aria-describedby", id + "-hint");
    input.setAttribute("aria-controls", table.id || (table.id = id + "-table"));
    var hint = document.createElement("p");
    hint.id = id + "-hint";
    hint.className = "dx-cases-hint";
    hint.textContent = "Type a name, year, country, route or outcome; every word must match. " +
      "Choose a column heading to sort by it, and again to reverse the order.";
    var status = document.createElement("p");
    status.className = "dx-cases-status";  // read out; the caption shows the same count
    status.setAttribute("role", "status");  // a polite live region
    controls.append(label, input, hint, status);
    box.insertBefore(controls, box.firstChild);

    var sortedBy = "";
    function announce() {
      var shown = rows.filter(function (row) { return !row.hidden; }).length;
      var count = shown === rows.length ? "All " + rows.length + " cases in cases.csv" :
        shown + " of " + rows.length + " cases shown";
      if (caption) caption.textContent = count + sortedBy;
      status.textContent = shown + " of " + rows.length + " cases shown" + sortedBy;
    }

    function filter() {
      var words = fold(input.value).split(/\s+/).filter(Boolean);
      rows.forEach(function (row, i) {
        row.hidden = !words.every(function (w) { return haystack[i].indexOf(w) >= 0; });
      });
      announce();
    }

    function sort(column) {
      var heading = headings[column];
      var kind = heading.getAttribute("data-dx-sort") || "text";
      var descending = heading.getAttribute("aria-sort") === "ascending";
      var order = rows.map(function (row, i) { return [sortKey(row, column, kind), i]; });
      order.sort(function (a, b) {  // stable: equal keys keep the build's order (year, then name)
        var d = a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0;
        return (descending ? -d : d) || a[1] - b[1];
      });
      var fragment = document.createDocumentFragment();
      order.forEach(function (pair) { fragment.appendChild(rows[pair[1]]); });
      body.appendChild(fragment);
      headings.forEach(function (h) { h.removeAttribute("aria-sort"); });
      heading.setAttribute("aria-sort", descending ? "descending" : "ascending");
      sortedBy = ", sorted by " + heading.textContent.trim() + (descending ? ", descending" : ", ascending");
      announce();
    }

    headings.forEach(function (heading, column) {
      if (heading.getAttribute("data-dx-sort") === "none") return;  // the note: not sortable
      var button = document.createElement("button");
      button.type = "button";
      button.className = "dx-sort";
      while (heading.firstChild) button.appendChild(heading.firstChild);
      var icon = document.createElement("span");  // the arrow is drawn by CSS, and not read out
      icon.className = "dx-sort-icon";
      icon.setAttribute("aria-hidden", "true");
      button.appendChild(icon);
      heading.appendChild(button);
      button.addEventListener("click", function () { sort(column); });
    });

    input.addEventListener("input", filter);
    box.classList.add("dx-cases-live");
    announce();
  }

  Array.prototype.forEach.call(document.querySelectorAll("[data-dx-cases]"), init);
})();
