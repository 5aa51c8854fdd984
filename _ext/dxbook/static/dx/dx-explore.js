/* Defection Explained: a chart's explorable description as a keyboard tree.
 *
 * The build writes each chart's description as a nested list (readable without
 * JavaScript; _ext/dxbook/explore.py). This script turns every
 * <ul class="dx-explore-tree"> into the WAI-ARIA tree view pattern:
 * role="tree" / "treeitem" / "group", aria-level, aria-setsize, aria-posinset,
 * aria-expanded, and one focusable item at a time (roving tabindex).
 * Keys: Down / Up move to the next / previous visible item; Right opens an item
 * or moves to its first child; Left closes it or moves to its parent;
 * Home / End go to the first / last visible item; Enter or Space opens or
 * closes. Items start closed, but the chart's own item. No inline code; the only
 * request is the tree's own page, from the site: it works under the site's
 * Content-Security-Policy (connect-src 'self').
 */
(function () {
  "use strict";
  var count = 0;

  function label(li) {
    var first = li.firstElementChild;
    return first && first.tagName === "SPAN" ? first : null;
  }
  function group(li) {
    var last = li.lastElementChild;
    return last && last.tagName === "UL" ? last : null;
  }
  function setOpen(li, open) {
    var g = group(li);
    if (!g) return;
    li.setAttribute("aria-expanded", open ? "true" : "false");
    g.hidden = !open;
  }

  function build(tree) {
    tree.setAttribute("role", "tree");
    var keys = tree.parentNode && tree.parentNode.querySelector(".dx-explore-keys");
    if (keys) keys.hidden = false;  // the keys' help, written hidden: they work from now on
    function walk(ul, level) {
      var items = [].filter.call(ul.children, function (c) { return c.tagName === "LI"; });
      items.forEach(function (li, i) {
        li.setAttribute("role", "treeitem");
        li.setAttribute("aria-level", String(level));
        li.setAttribute("aria-setsize", String(items.length));
        li.setAttribute("aria-posinset", String(i + 1));
        li.tabIndex = -1;
        var span = label(li), g = group(li);
        if (span && g) {
          // The item's name is its own line, not the text of everything inside it.
          span.id = span.id || "dx-explore-" + (++count);
          li.setAttribute("aria-labelledby", span.id);
          g.setAttribute("role", "group");
          setOpen(li, level === 1);
          walk(g, level + 1);
        }
      });
    }
    walk(tree, 1);
    var root = tree.querySelector("[role=treeitem]");
    if (root) root.tabIndex = 0;

    function visible() {
      return [].filter.call(tree.querySelectorAll("[role=treeitem]"), function (li) {
        for (var p = li.parentElement; p && p !== tree; p = p.parentElement) {
          if (p.hidden) return false;
        }
        return true;
      });
    }
    function focus(li) {
      if (!li) return;
      [].forEach.call(tree.querySelectorAll("[role=treeitem][tabindex='0']"), function (o) { o.tabIndex = -1; });
      li.tabIndex = 0;
      li.focus();
    }
    function parentItem(li) {
      var g = li.parentElement;
      return g && g !== tree ? g.parentElement : null;
    }

    tree.addEventListener("keydown", function (e) {
      var li = e.target.closest && e.target.closest("[role=treeitem]");
      if (!li || !tree.contains(li) || e.altKey || e.ctrlKey || e.metaKey) return;
      var items = visible(), i = items.indexOf(li), g = group(li);
      var open = li.getAttribute("aria-expanded") === "true";
      switch (e.key) {
        case "ArrowDown": focus(items[i + 1]); break;
        case "ArrowUp": focus(items[i - 1]); break;
        case "Home": focus(items[0]); break;
        case "End": focus(items[items.length - 1]); break;
        case "ArrowRight":
          if (g && !open) setOpen(li, true);
          else if (g) focus(g.querySelector("[role=treeitem]"));
          break;
        case "ArrowLeft":
          if (g && open) setOpen(li, false);
          else focus(parentItem(li));
          break;
        case "Enter":
        case " ":
          if (g) setOpen(li, !open);
          break;
        default:
          return;
      }
      e.preventDefault();
    });
    tree.addEventListener("click", function (e) {
      var li = e.target.closest && e.target.closest("[role=treeitem]");
      if (!li || !tree.contains(li)) return;
      e.stopPropagation();
      if (label(li) && label(li).contains(e.target)) setOpen(li, li.getAttribute("aria-expanded") !== "true");
      focus(li);
    });
  }

  // A chapter's data box holds a link to the tree's own page (explore.placeholder); the tree is
  // loaded into the box the first time the box opens. If it cannot be (a page opened from disk,
  // an error), the link stays: it opens the same list as a page.
  function load(box) {
    var href = box.getAttribute("data-dx-explore");
    if (!href || box.getAttribute("data-dx-state")) return;
    box.setAttribute("data-dx-state", "loading");
    fetch(href).then(function (response) {
      if (!response.ok) throw new Error(response.status + " " + href);
      return response.text();
    }).then(function (text) {
      var found = new DOMParser().parseFromString(text, "text/html").querySelector(".dx-explore");
      if (!found) throw new Error("no description in " + href);
      var focusWasHere = box.contains(document.activeElement);
      box.replaceChildren.apply(box, [].map.call(found.childNodes, function (n) { return document.importNode(n, true); }));
      box.setAttribute("data-dx-state", "loaded");
      [].forEach.call(box.querySelectorAll("ul.dx-explore-tree"), build);
      var root = box.querySelector("[role=treeitem][tabindex='0']");
      if (focusWasHere && root) root.focus();
    }).catch(function () {
      box.removeAttribute("data-dx-state");
    });
  }
  function opened(details) {
    if (details && details.open) [].forEach.call(details.querySelectorAll(".dx-explore[data-dx-explore]"), load);
  }

  function start() {
    [].forEach.call(document.querySelectorAll("ul.dx-explore-tree"), build);
    // "toggle" does not bubble: listen while it is captured.
    document.addEventListener("toggle", function (e) { opened(e.target); }, true);
    [].forEach.call(document.querySelectorAll("details[open]"), opened);
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
