// Draw each dashboard panel's chart from its data-chart attribute (ECharts, served locally).
// The table beside each chart holds the same figures; the chart is decoration for sighted users.
(() => {
  if (typeof echarts === "undefined") return;
  const palette = ["#0d6efd", "#fd7e14", "#dc3545", "#198754", "#6f42c1", "#20c997", "#6c757d"];
  const charts = [];

  function option(spec) {
    const horizontal = spec.kind === "hbar";
    const stacked = spec.kind === "stacked";
    const type = spec.kind === "line" ? "line" : "bar";
    const category = { type: "category", data: spec.categories, axisLabel: { interval: 0, hideOverlap: true, width: 110, overflow: "truncate" } };
    const value = { type: "value", max: spec.yMax === null ? undefined : spec.yMax, minInterval: 1 };
    return {
      color: palette,
      animation: false,
      tooltip: { trigger: "axis", axisPointer: { type: "shadow" } },
      legend: spec.series.length > 1 ? { top: 0, type: "scroll" } : undefined,
      grid: { left: 8, right: 16, top: spec.series.length > 1 ? 32 : 12, bottom: 8, containLabel: true },
      xAxis: horizontal ? value : category,
      yAxis: horizontal ? { ...category, inverse: true } : value,
      series: spec.series.map((s) => ({
        name: s.name,
        type,
        data: s.data,
        stack: stacked ? "total" : undefined,
        connectNulls: true,
        barMaxWidth: 36,
        label: type === "bar" && !stacked && spec.categories.length <= 12 ? { show: true, position: horizontal ? "right" : "top" } : undefined,
      })),
    };
  }

  document.querySelectorAll(".dash-chart[data-chart]").forEach((el) => {
    try {
      const spec = JSON.parse(el.dataset.chart);
      const chart = echarts.init(el, null, { renderer: "canvas" });
      chart.setOption(option(spec));
      charts.push(chart);
      el.dataset.rendered = "true";
    } catch (err) {
      el.textContent = "⚠ " + err.message;
      el.dataset.rendered = "error";
    }
  });
  window.addEventListener("resize", () => charts.forEach((c) => c.resize()));
})();
