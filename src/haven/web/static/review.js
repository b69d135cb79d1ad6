// Haven review grid and item page: keyboard categorization, selection, undo, reveal one item at a time.
// No inline scripts (CSP): everything hangs off ids and data- attributes the templates set.
(function () {
  "use strict";

  var grid = document.getElementById("review-grid");
  var viewer = document.getElementById("reveal-viewer");
  var help = document.getElementById("review-help");
  var message = document.getElementById("review-message");
  var selected = {};           // sha256 -> true
  var focusIndex = 0;
  var anchorIndex = null;      // for shift-click ranges
  var revealedBy = null;       // "key" while R is held, "click" after the reveal button
  var busy = false;

  function typing(event) {
    var t = event.target;
    return t && (t.isContentEditable || /^(INPUT|SELECT|TEXTAREA)$/.test(t.tagName));
  }

  function say(text) { if (message) { message.textContent = text; } }

  // ------------------------------------------------------------ reveal (grid and item page)

  function hideReveal() {
    revealedBy = null;
    if (viewer) {
      viewer.hidden = true;
      ["reveal-image", "reveal-video"].forEach(function (id) {
        var el = document.getElementById(id);
        if (!el) { return; }
        if (el.tagName === "VIDEO") { el.pause(); }
        el.removeAttribute("src");   // nothing unblurred stays loaded once hidden
        if (el.tagName === "VIDEO") { el.load(); }
        el.hidden = true;
      });
    }
    var itemMedia = document.querySelector(".item-media");
    if (itemMedia) {
      itemMedia.querySelectorAll(".revealed-media").forEach(function (el) {
        if (el.tagName === "VIDEO") { el.pause(); }
        el.removeAttribute("src");
        if (el.tagName === "VIDEO") { el.load(); }
        el.hidden = true;
      });
      var button = document.getElementById("item-reveal-button");
      if (button) { button.setAttribute("aria-pressed", "false"); button.textContent = "Reveal"; }
      itemMedia.classList.remove("is-revealed");
    }
  }

  function revealInViewer(url, kind, how) {
    hideReveal();            // one item at a time
    if (!viewer || !url) { return; }
    var el = document.getElementById(kind === "video" ? "reveal-video" : "reveal-image");
    if (!el) { return; }
    el.setAttribute("src", url);   // the reveal URL is requested only now (and audited by the server)
    el.hidden = false;
    viewer.hidden = false;
    revealedBy = how;
  }

  function revealItemPage(how) {
    var itemMedia = document.querySelector(".item-media");
    if (!itemMedia) { return; }
    var el = itemMedia.querySelector(".revealed-media");
    if (!el) { return; }
    hideReveal();
    el.setAttribute("src", itemMedia.getAttribute("data-reveal-url"));
    el.hidden = false;
    itemMedia.classList.add("is-revealed");
    var button = document.getElementById("item-reveal-button");
    if (button) { button.setAttribute("aria-pressed", "true"); button.textContent = "Hide"; }
    revealedBy = how;
  }

  // ------------------------------------------------------------ grid

  function tiles() { return grid ? Array.prototype.slice.call(grid.querySelectorAll(".tile")) : []; }

  function setFocus(index) {
    var all = tiles();
    if (!all.length) { return; }
    focusIndex = Math.max(0, Math.min(index, all.length - 1));
    all.forEach(function (t, i) { t.setAttribute("tabindex", i === focusIndex ? "0" : "-1"); });
    all[focusIndex].focus({ preventScroll: false });
    if (revealedBy) { hideReveal(); }   // moving on hides what was revealed
  }

  function refreshSelection() {
    var n = 0;
    tiles().forEach(function (t) {
      var on = !!selected[t.getAttribute("data-sha256")];
      t.classList.toggle("selected", on);
      t.setAttribute("aria-selected", on ? "true" : "false");
      if (on) { n += 1; }
    });
    var counter = document.getElementById("selection-count");
    if (counter) { counter.textContent = n ? n + " selected" : "nothing selected"; }
  }

  function toggle(tile) {
    var sha = tile.getAttribute("data-sha256");
    if (selected[sha]) { delete selected[sha]; } else { selected[sha] = true; }
  }

  function columns() {
    var all = tiles();
    if (all.length < 2) { return 1; }
    var top = all[0].offsetTop, n = 0;
    while (n < all.length && all[n].offsetTop === top) { n += 1; }
    return Math.max(n, 1);
  }

  function targets() {
    var shas = Object.keys(selected);
    if (shas.length) { return shas; }
    var all = tiles();
    return all.length ? [all[focusIndex].getAttribute("data-sha256")] : [];
  }

  function codeForKey(key) {
    var item = document.querySelector('#category-legend li[data-key="' + key + '"]');
    return item ? item.getAttribute("data-code") : null;
  }

  function categorize(code) {
    var shas = targets();
    if (!grid || !shas.length || code === null || busy) { return; }
    busy = true;
    say("Saving…");
    window.htmx.ajax("POST", grid.getAttribute("data-decide-url"), {
      source: grid,
      target: "#review-counts",
      swap: "outerHTML",
      values: { category: code, sha256: shas }
    }).then(function () { busy = false; }, function () { busy = false; say("Not saved: try again."); });
  }

  function undoLast() {
    if (!grid || busy) { return; }
    busy = true;
    say("Undoing…");
    window.htmx.ajax("POST", grid.getAttribute("data-undo-url"), {
      source: grid, target: "#review-counts", swap: "outerHTML"
    }).then(function () { busy = false; }, function () { busy = false; });
  }

  function showCategory(tile, code, byPerson) {
    var cat = tile.querySelector(".cat");
    if (cat) {
      cat.textContent = code === null || code === "" ? "–" : code;
      cat.setAttribute("data-category", code || "");
      cat.classList.toggle("by-person", !!byPerson);
    }
    tile.classList.toggle("decided", !!byPerson);
  }

  function onDecided(event) {
    var d = event.detail || {};
    var decided = d.decided || [];
    var last = -1;
    tiles().forEach(function (t, i) {
      if (decided.indexOf(t.getAttribute("data-sha256")) >= 0) { showCategory(t, d.category, true); last = i; }
    });
    selected = {};
    refreshSelection();
    var extra = d.propagated ? " (and " + d.propagated + " near-identical)" : "";
    say("Categorized " + decided.length + " as " + d.category + extra + ". U to undo.");
    if (last >= 0) { setFocus(last + 1); }
  }

  function onUndone(event) {
    if ((event.detail || {}).message) { say("Nothing to undo."); return; }
    var restored = (event.detail || {}).restored || {};
    tiles().forEach(function (t) {
      var sha = t.getAttribute("data-sha256");
      if (Object.prototype.hasOwnProperty.call(restored, sha)) { showCategory(t, restored[sha], false); }
    });
    say("Undone.");
  }

  function onGridClick(event) {
    var revealButton = event.target.closest(".reveal-button");
    var tile = event.target.closest(".tile");
    if (!tile || event.target.closest("a")) { return; }
    var all = tiles(), index = all.indexOf(tile);
    if (revealButton) {
      setFocus(index);
      revealInViewer(tile.getAttribute("data-reveal-url"), tile.getAttribute("data-kind"), "click");
      return;
    }
    if (event.shiftKey && anchorIndex !== null) {
      var from = Math.min(anchorIndex, index), to = Math.max(anchorIndex, index);
      for (var i = from; i <= to; i += 1) { selected[all[i].getAttribute("data-sha256")] = true; }
    } else if (event.ctrlKey || event.metaKey) {
      toggle(tile);
      anchorIndex = index;
    } else {
      selected = {};
      selected[tile.getAttribute("data-sha256")] = true;
      anchorIndex = index;
    }
    setFocus(index);
    refreshSelection();
  }

  function onKeyDown(event) {
    if (typing(event)) { return; }
    var key = event.key;
    if (key === "Escape") {
      hideReveal();
      if (help) { help.hidden = true; }
      selected = {};
      refreshSelection();
      return;
    }
    if (key === "?") { if (help) { help.hidden = !help.hidden; } event.preventDefault(); return; }
    if ((key === "r" || key === "R") && !event.ctrlKey && !event.metaKey && !event.altKey) {
      if (!event.repeat) {
        if (grid) {
          var all = tiles();
          if (all.length) { revealInViewer(all[focusIndex].getAttribute("data-reveal-url"), all[focusIndex].getAttribute("data-kind"), "key"); }
        } else { revealItemPage("key"); }
      }
      event.preventDefault();
      return;
    }
    if (!grid) { return; }
    if ((key === "z" || key === "Z") && (event.ctrlKey || event.metaKey)) { undoLast(); event.preventDefault(); return; }
    if (event.ctrlKey || event.metaKey || event.altKey) { return; }
    if (key === "u" || key === "U") { undoLast(); event.preventDefault(); return; }
    if (/^[1-9]$/.test(key)) { categorize(codeForKey(key)); event.preventDefault(); return; }
    var step = { ArrowRight: 1, ArrowLeft: -1, ArrowDown: columns(), ArrowUp: -columns() }[key];
    if (step) { setFocus(focusIndex + step); event.preventDefault(); return; }
    if (key === " " || key === "Spacebar") {
      var t = tiles()[focusIndex];
      if (t) { toggle(t); anchorIndex = focusIndex; refreshSelection(); }
      event.preventDefault();
      return;
    }
    if (key === "Enter") {
      var current = tiles()[focusIndex];
      if (current) { window.location.assign(current.getAttribute("data-item-url")); }
    }
  }

  function onKeyUp(event) {
    if ((event.key === "r" || event.key === "R") && revealedBy === "key") { hideReveal(); }
  }

  function start() {
    document.addEventListener("keydown", onKeyDown);
    document.addEventListener("keyup", onKeyUp);
    window.addEventListener("blur", function () { if (revealedBy === "key") { hideReveal(); } });
    if (viewer) { viewer.addEventListener("click", function (e) { if (e.target.tagName !== "VIDEO") { hideReveal(); } }); }
    if (help) {
      var close = help.querySelector("[data-close-help]");
      if (close) { close.addEventListener("click", function () { help.hidden = true; }); }
    }
    var helpButton = document.getElementById("help-button");
    if (helpButton && help) { helpButton.addEventListener("click", function () { help.hidden = !help.hidden; }); }
    var undoButton = document.getElementById("undo-button");
    if (undoButton) { undoButton.addEventListener("click", undoLast); }
    var itemButton = document.getElementById("item-reveal-button");
    if (itemButton) {
      itemButton.addEventListener("click", function () {
        if (itemButton.getAttribute("aria-pressed") === "true") { hideReveal(); } else { revealItemPage("click"); }
      });
    }
    document.querySelectorAll(".apply-category").forEach(function (button) {
      button.addEventListener("click", function () { categorize(button.getAttribute("data-code")); });
    });
    document.body.addEventListener("haven:decided", onDecided);
    document.body.addEventListener("haven:undone", onUndone);
    document.body.addEventListener("htmx:responseError", function (event) {
      var xhr = event.detail && event.detail.xhr;
      say("That did not work (" + (xhr ? xhr.status : "?") + ").");
    });
    if (grid) {
      grid.addEventListener("click", onGridClick);
      var all = tiles();
      if (all.length) { all[0].setAttribute("tabindex", "0"); }
      grid.addEventListener("focusin", function (event) {
        var tile = event.target.closest && event.target.closest(".tile");
        if (tile) { focusIndex = Math.max(tiles().indexOf(tile), 0); }
      });
      refreshSelection();
    }
  }

  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", start); } else { start(); }
})();
