// AttnEval report: inlined into every report.html; plain DOM, no library, nothing fetched.
(function () {
  "use strict";

  // A cell's sort key: its data-v attribute, else its text; numbers compare as numbers, blanks last.
  function key(cell) {
    if (!cell) return { blank: true };
    var raw = cell.hasAttribute("data-v") ? cell.getAttribute("data-v") : cell.textContent.trim();
    if (raw === "" || raw === "n/a") return { blank: true };
    var n = parseFloat(raw);
    return isNaN(n) || !/^[-+]?(\d|\.\d)/.test(raw) ? { text: raw.toLowerCase() } : { num: n };
  }

  function compare(a, b) {
    if (a.blank || b.blank) return a.blank && b.blank ? 0 : a.blank ? 1 : -1;
    if (a.num !== undefined && b.num !== undefined) return a.num - b.num;
    var x = a.num !== undefined ? String(a.num) : a.text, y = b.num !== undefined ? String(b.num) : b.text;
    return x < y ? -1 : x > y ? 1 : 0;
  }

  // Rows of a tbody in groups: a row and the drill-down row that follows it, if any.
  function groups(tbody) {
    var out = [];
    Array.prototype.forEach.call(tbody.rows, function (r) {
      if (r.classList.contains("detail") && out.length) out[out.length - 1].push(r);
      else out.push([r]);
    });
    return out;
  }

  function sortBy(table, th) {
    var col = Array.prototype.indexOf.call(th.parentNode.cells, th);
    var dir = th.getAttribute("aria-sort") === "descending" ? "ascending"
      : th.getAttribute("aria-sort") === "ascending" ? "descending" : (th.dataset.first || "ascending");
    Array.prototype.forEach.call(th.parentNode.cells, function (c) { c.removeAttribute("aria-sort"); });
    th.setAttribute("aria-sort", dir);
    var sign = dir === "ascending" ? 1 : -1;
    Array.prototype.forEach.call(table.tBodies, function (tbody) {
      var gs = groups(tbody).map(function (g, i) { return { g: g, k: key(g[0].cells[col]), i: i }; });
      gs.sort(function (a, b) {
        var c = compare(a.k, b.k);
        if (a.k.blank || b.k.blank) return c || a.i - b.i;
        return sign * c || a.i - b.i;
      });
      gs.forEach(function (x) { x.g.forEach(function (r) { tbody.appendChild(r); }); });
    });
  }

  function applyFilter(table) {
    var box = document.querySelector('input[data-filter="' + table.id + '"]');
    var sel = document.querySelector('select[data-verdict="' + table.id + '"]');
    var q = box ? box.value.trim().toLowerCase() : "";
    var verdict = sel ? sel.value : "";
    var shown = 0, total = 0;
    Array.prototype.forEach.call(table.tBodies, function (tbody) {
      groups(tbody).forEach(function (g) {
        var row = g[0];
        total++;
        var ok = (!q || (row.dataset.text || row.textContent).toLowerCase().indexOf(q) >= 0)
          && (!verdict || row.dataset.verdict === verdict);
        row.hidden = !ok;
        if (ok) shown++;
        for (var i = 1; i < g.length; i++) if (!ok) { g[i].hidden = true; row.classList.remove("open"); }
      });
    });
    var count = document.querySelector('[data-count="' + table.id + '"]');
    if (count) count.textContent = shown + " of " + total + " shown";
  }

  function toggleDetail(row) {
    var next = row.nextElementSibling;
    if (!next || !next.classList.contains("detail")) return;
    next.hidden = !next.hidden;
    row.classList.toggle("open", !next.hidden);
    row.setAttribute("aria-expanded", String(!next.hidden));
  }

  function showMethod(name, on) {
    Array.prototype.forEach.call(document.querySelectorAll("[data-m]"), function (el) {
      if (el.getAttribute("data-m") === name) el.classList.toggle("off", !on);
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    Array.prototype.forEach.call(document.querySelectorAll("table.sortable"), function (table) {
      if (!table.tHead) return;
      Array.prototype.forEach.call(table.tHead.rows[table.tHead.rows.length - 1].cells, function (th) {
        th.title = th.title || "sort";
        th.addEventListener("click", function () { sortBy(table, th); });
      });
    });
    Array.prototype.forEach.call(document.querySelectorAll("input[data-filter], select[data-verdict]"), function (el) {
      var table = document.getElementById(el.getAttribute("data-filter") || el.getAttribute("data-verdict"));
      if (!table) return;
      el.addEventListener("input", function () { applyFilter(table); });
      el.addEventListener("change", function () { applyFilter(table); });
      applyFilter(table);
    });
    Array.prototype.forEach.call(document.querySelectorAll("tr.row"), function (row) {
      row.tabIndex = 0;
      row.setAttribute("aria-expanded", "false");
      row.addEventListener("click", function (e) { if (!e.target.closest("a, summary")) toggleDetail(row); });
      row.addEventListener("keydown", function (e) { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); toggleDetail(row); } });
    });
    Array.prototype.forEach.call(document.querySelectorAll("input[data-method]"), function (box) {
      box.addEventListener("change", function () { showMethod(box.getAttribute("data-method"), box.checked); });
      showMethod(box.getAttribute("data-method"), box.checked);
    });
    var all = document.querySelectorAll("[data-methods-set]");
    Array.prototype.forEach.call(all, function (button) {
      button.addEventListener("click", function () {
        var which = button.getAttribute("data-methods-set");
        Array.prototype.forEach.call(document.querySelectorAll("input[data-method]"), function (box) {
          box.checked = which === "all" || (which === "highlighted" && box.hasAttribute("data-highlighted"));
          showMethod(box.getAttribute("data-method"), box.checked);
        });
      });
    });
  });
})();
