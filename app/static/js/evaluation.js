// The rating sheet: keyboard movement between score cells and a live row average.
(function () {
  "use strict";
  var table = document.getElementById("rating-sheet");
  if (!table) { return; }
  var rows = Array.prototype.slice.call(table.querySelectorAll("tbody tr"));
  var grid = rows.map(function (tr) { return Array.prototype.slice.call(tr.querySelectorAll("input.score")); });

  function position(input) {
    for (var r = 0; r < grid.length; r++) {
      var c = grid[r].indexOf(input);
      if (c >= 0) { return [r, c]; }
    }
    return null;
  }

  function focusCell(r, c) {
    if (r < 0 || r >= grid.length) { return; }
    var cell = grid[r][Math.max(0, Math.min(c, grid[r].length - 1))];
    if (cell) { cell.focus(); cell.select(); }
  }

  function average(r) {
    var sum = 0, n = 0;
    grid[r].forEach(function (input) {
      var v = parseFloat(input.value);
      if (!isNaN(v)) { sum += v; n += 1; }
    });
    var out = rows[r].querySelector(".row-average");
    if (out) { out.textContent = n ? (sum / n).toFixed(1) : "—"; }
  }

  function check(input) {
    var raw = input.value.trim();
    var ok = raw === "" || (/^\d{1,3}(\.\d)?$/.test(raw) && parseFloat(raw) <= 100);
    input.classList.toggle("is-invalid", !ok);
  }

  table.addEventListener("keydown", function (event) {
    var input = event.target;
    if (!input.classList || !input.classList.contains("score")) { return; }
    var at = position(input);
    if (!at) { return; }
    if (event.key === "Enter" || event.key === "ArrowDown") {
      event.preventDefault();
      focusCell(at[0] + 1, at[1]);
    } else if (event.key === "ArrowUp") {
      event.preventDefault();
      focusCell(at[0] - 1, at[1]);
    } else if (event.key === "ArrowRight" && input.selectionStart === input.value.length) {
      focusCell(at[0], at[1] + 1);
    } else if (event.key === "ArrowLeft" && input.selectionStart === 0) {
      focusCell(at[0], at[1] - 1);
    }
  });

  table.addEventListener("input", function (event) {
    var at = position(event.target);
    if (at) { check(event.target); average(at[0]); }
  });

  grid.forEach(function (_cells, r) { average(r); });
})();
