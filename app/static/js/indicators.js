// Indicator pages: the running total of weights, the focused row, printing.
// No inline scripts (the CSP forbids them): everything hangs off data-* attributes.
(function () {
  "use strict";

  function number(text) {
    const value = parseFloat(String(text || "").trim());
    return Number.isFinite(value) ? value : null;
  }

  function format(value) {
    return (Math.round(value * 100) / 100).toString();
  }

  function rowCategory(row) {
    const select = row.querySelector("select[data-category]");
    return select ? select.value : row.dataset.category;
  }

  function updateTotals(editor) {
    const required = number(editor.dataset.required) || 100;
    const sums = { all: 0 };
    editor.querySelectorAll("tr[data-row]").forEach((row) => {
      const input = row.querySelector("[data-weight]");
      const value = input ? number(input.value) : null;
      if (value === null) return;
      const category = rowCategory(row);
      sums[category] = (sums[category] || 0) + value;
      sums.all += value;
    });
    document.querySelectorAll("[data-subtotal]").forEach((el) => {
      el.textContent = format(sums[el.dataset.subtotal] || 0);
    });
    const total = document.getElementById("weight-total");
    if (total) {
      total.textContent = format(sums.all);
      const ok = Math.abs(sums.all - required) < 0.005;
      total.classList.toggle("weight-ok", ok);
      total.classList.toggle("weight-bad", !ok);
      total.dataset.ok = ok ? "true" : "false";
    }
  }

  function init() {
    const editor = document.querySelector("[data-indicator-editor]");
    if (editor) {
      editor.addEventListener("input", (event) => {
        if (event.target.matches("[data-weight]")) updateTotals(editor);
      });
      editor.addEventListener("change", (event) => {
        if (event.target.matches("[data-weight], select[data-category]")) updateTotals(editor);
      });
      updateTotals(editor);
      const focus = editor.querySelector("tr.row-focus");
      if (focus) {
        focus.scrollIntoView({ block: "center" });
        const first = focus.querySelector("input:not([type=hidden]), textarea, select");
        if (first) first.focus({ preventScroll: true });
      }
    }
    document.querySelectorAll("[data-action='print']").forEach((button) => {
      button.addEventListener("click", () => window.print());
    });
    document.querySelectorAll("[data-confirm]").forEach((form) => {
      form.addEventListener("submit", (event) => {
        if (!window.confirm(form.dataset.confirm)) event.preventDefault();
      });
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
