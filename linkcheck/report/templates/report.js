/* linkcheck report: tabs, filters, search, sorting and a copy button.
   Inlined into report.html and allowed by the CSP through its SHA-256 hash, so any edit here
   changes the hash (computed in Python from this exact text). It only reads the DOM the
   report already contains and never builds markup from strings: every row is there without
   JavaScript too, this just hides some of them. */
(function () {
  "use strict";
  var doc = document;
  function all(selector, root) {
    return Array.prototype.slice.call((root || doc).querySelectorAll(selector));
  }
  function byId(id) {
    return doc.getElementById(id);
  }

  doc.documentElement.classList.add("js");
  all("[data-js]").forEach(function (el) { el.hidden = false; });
  all("[data-nojs]").forEach(function (el) { el.hidden = true; });

  /* Links to checked pages open beside the report, so its filters and place are kept.
     Set here rather than in the markup: thousands of rows, a few bytes each. */
  all("a.url, a.page-link").forEach(function (link) {
    link.target = "_blank";
    link.rel = "noopener noreferrer";
  });

  /* --- Tabs (WAI-ARIA tabs pattern: arrow keys move between tabs) --- */
  var tabs = all('[role="tab"]');
  var panels = tabs.map(function (tab) { return byId(tab.getAttribute("aria-controls")); });
  var filters = byId("filters");
  var current = null;

  panels.forEach(function (panel, i) {
    panel.setAttribute("role", "tabpanel");
    panel.setAttribute("aria-labelledby", tabs[i].id);
    panel.tabIndex = 0;
  });

  function select(tab, focus) {
    tabs.forEach(function (other, i) {
      var on = other === tab;
      other.setAttribute("aria-selected", on ? "true" : "false");
      other.tabIndex = on ? 0 : -1;
      panels[i].hidden = !on;
    });
    current = panels[tabs.indexOf(tab)];
    if (filters) {
      filters.hidden = !tab.hasAttribute("data-filterable");
      all("[data-only]", filters).forEach(function (el) {
        el.hidden = el.getAttribute("data-only") !== current.id;
      });
    }
    if (focus) { tab.focus(); }
    apply();
  }

  tabs.forEach(function (tab, i) {
    tab.addEventListener("click", function () { select(tab, false); });
    tab.addEventListener("keydown", function (event) {
      var next = null;
      if (event.key === "ArrowRight") { next = (i + 1) % tabs.length; }
      else if (event.key === "ArrowLeft") { next = (i - 1 + tabs.length) % tabs.length; }
      else if (event.key === "Home") { next = 0; }
      else if (event.key === "End") { next = tabs.length - 1; }
      if (next !== null) {
        event.preventDefault();
        select(tabs[next], true);
      }
    });
  });

  function tabFor(id) {
    for (var i = 0; i < panels.length; i++) {
      if (panels[i].id === id || (id && panels[i].querySelector("#" + CSS.escape(id)))) {
        return tabs[i];
      }
    }
    return null;
  }

  function followHash() {
    var id = decodeURIComponent(location.hash.slice(1));
    var tab = id ? tabFor(id) : null;
    if (tab) { select(tab, false); }
    return tab;
  }
  window.addEventListener("hashchange", followHash);

  /* --- Filters and search over the rows of By page and By link --- */
  var query = byId("f-q");
  var kind = byId("f-kind");
  var scope = byId("f-scope");
  var host = byId("f-host");
  var order = byId("f-order");
  var status = byId("f-status");
  var haystacks = new WeakMap();

  function haystack(row) {
    var text = haystacks.get(row);
    if (text === undefined) {
      var group = row.closest("[data-group]");
      var head = group ? group.querySelector(".group-head") : null;
      text = ((head ? head.textContent : "") + " " + row.textContent).toLowerCase();
      haystacks.set(row, text);
    }
    return text;
  }

  function plural(n, one, many) {
    return n + " " + (n === 1 ? one : many);
  }

  function apply() {
    if (!query || !current) { return; }
    var words = query.value.toLowerCase().split(/\s+/).filter(Boolean);
    var wantKind = kind.value;
    var wantScope = scope.value;
    var wantHost = host.value;
    var filtering = words.length > 0 || wantKind || wantScope || wantHost;
    var summary = "";
    panels.forEach(function (panel) {
      var rows = all("tr[data-kind]", panel);
      if (!rows.length) { return; }
      var shown = 0;
      rows.forEach(function (row) {
        var text = words.length ? haystack(row) : "";
        var ok = (!wantKind || row.getAttribute("data-kind") === wantKind) &&
          (!wantScope || row.getAttribute("data-scope") === wantScope) &&
          (!wantHost || row.getAttribute("data-host") === wantHost) &&
          words.every(function (word) { return text.indexOf(word) !== -1; });
        row.hidden = !ok;
        if (ok) { shown++; }
      });
      var groups = all("[data-group]", panel);
      var groupsShown = 0;
      groups.forEach(function (group) {
        var visible = group.querySelector("tr[data-kind]:not([hidden])") !== null;
        group.hidden = !visible;
        if (visible) { groupsShown++; }
      });
      var table = panel.querySelector("table.links");
      if (table) { table.hidden = shown === 0; }
      var empty = panel.querySelector("[data-empty]");
      if (empty) { empty.hidden = shown > 0; }
      if (panel === current && filtering) {
        summary = groups.length
          ? "Showing " + plural(groupsShown, "group", "groups") + " of " + groups.length +
            " (" + plural(shown, "link", "links") + ")."
          : "Showing " + shown + " of " + plural(rows.length, "link", "links") + ".";
      }
    });
    if (status) { status.textContent = summary; }
  }

  if (query) {
    query.addEventListener("input", apply);  // a few ms even for thousands of rows
    [kind, scope, host].forEach(function (control) { control.addEventListener("change", apply); });
    byId("f-clear").addEventListener("click", function () {
      query.value = "";
      kind.value = scope.value = host.value = "";
      apply();
      query.focus();
    });
  }

  /* Order the page cards of By page: by address (as rendered), title or number of problems. */
  var pageList = doc.querySelector("[data-pages]");
  if (order && pageList) {
    var collator = new Intl.Collator(undefined, { numeric: true, sensitivity: "base" });
    order.addEventListener("change", function () {
      var cards = all(":scope > [data-group]", pageList);
      var key = order.value;
      cards.sort(function (a, b) {
        if (key === "count") {
          var diff = Number(b.getAttribute("data-count")) - Number(a.getAttribute("data-count"));
          if (diff) { return diff; }
        } else if (key === "title") {
          var byTitle = collator.compare(
            a.querySelector("h3").textContent, b.querySelector("h3").textContent);
          if (byTitle) { return byTitle; }
        }
        return collator.compare(a.getAttribute("data-url"), b.getAttribute("data-url"));
      });
      cards.forEach(function (card) { pageList.appendChild(card); });
    });
  }

  /* "Show problems" on an external site: filter By link to that site. */
  all("[data-show-host]").forEach(function (button) {
    button.addEventListener("click", function () {
      if (!host) { return; }
      query.value = "";
      kind.value = scope.value = "";
      host.value = button.getAttribute("data-show-host");
      select(byId("tab-by-link"), true);
    });
  });

  /* --- Sortable tables: a button in each column header --- */
  var sorter = new Intl.Collator(undefined, { numeric: true, sensitivity: "base" });
  function cellKey(row, column) {
    var cell = row.cells[column];
    if (!cell) { return ""; }
    var key = cell.getAttribute("data-sort");
    return key === null ? cell.textContent.trim() : key;
  }
  all("table.sortable").forEach(function (table) {
    var headers = all("thead th", table);
    headers.forEach(function (th, column) {
      var button = doc.createElement("button");
      button.type = "button";
      button.className = "sort";
      while (th.firstChild) { button.appendChild(th.firstChild); }
      th.appendChild(button);
      th.setAttribute("aria-sort", "none");
      button.addEventListener("click", function () {
        var direction = th.getAttribute("aria-sort") === "ascending" ? "descending" : "ascending";
        headers.forEach(function (other) { other.setAttribute("aria-sort", "none"); });
        th.setAttribute("aria-sort", direction);
        var sign = direction === "ascending" ? 1 : -1;
        var body = table.tBodies[0];
        // Each key is read once, not once per comparison: thousands of rows stay quick.
        var keyed = Array.prototype.map.call(body.rows, function (row) {
          var key = cellKey(row, column);
          var number = parseFloat(key);
          return { row: row, key: key, number: String(number) === key ? number : null };
        });
        keyed.sort(function (a, b) {
          var both = a.number !== null && b.number !== null;
          return sign * (both ? a.number - b.number : sorter.compare(a.key, b.key));
        });
        var fragment = doc.createDocumentFragment();
        keyed.forEach(function (item) { fragment.appendChild(item.row); });
        body.appendChild(fragment);
      });
    });
  });

  /* --- Copy the replacement list --- */
  var copy = byId("copy-moves");
  var moves = byId("moves");
  var copyStatus = byId("copy-status");
  if (copy && moves) {
    copy.addEventListener("click", function () {
      moves.focus();
      moves.select();
      function legacy() {
        try { return doc.execCommand("copy"); } catch (error) { return false; }
      }
      function done(ok) {
        copyStatus.textContent = ok
          ? "Copied " + plural(moves.value.trim().split("\n").length, "line", "lines") + "."
          : "Selected: press Ctrl+C (\u2318C on a Mac) to copy.";
      }
      if (navigator.clipboard && navigator.clipboard.writeText) {
        navigator.clipboard.writeText(moves.value).then(
          function () { done(true); },
          function () { done(legacy()); });
      } else {
        done(legacy());
      }
    });
  }

  /* --- Print: every view, with every folded list open --- */
  var opened = [];
  window.addEventListener("beforeprint", function () {
    opened = all("details:not([open])");
    opened.forEach(function (details) { details.open = true; });
  });
  window.addEventListener("afterprint", function () {
    opened.forEach(function (details) { details.open = false; });
    opened = [];
  });

  if (tabs.length && !followHash()) { select(tabs[0], false); }
})();
