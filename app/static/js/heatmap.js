// Paint measured step times on the BPMN diagram. The fill says how long a step takes: its median
// in bands relative to the slowest step (``heat`` from app/workflow/analytics.py, 0 quick … 3
// slowest; none without completed tasks). Overdue work is a separate red marker at the step's
// corner, so lateness and slowness are read apart. Below each step: median / P90 / count and what
// waits now (bpmn-js markers and overlays).
(async () => {
  const el = document.getElementById("heatmap");
  if (!el || typeof BpmnJS === "undefined") return;
  const figures = JSON.parse(el.dataset.figures || "[]");
  const labels = JSON.parse(el.dataset.labels || "{}");
  const viewer = new BpmnJS({ container: el });
  const hours = (h) => (h === null || h === undefined ? "—" : h < 48 ? `${h}h` : `${(h / 24).toFixed(1)}d`);
  try {
    const xml = await (await fetch(el.dataset.src, { credentials: "same-origin" })).text();
    await viewer.importXML(xml);
    const canvas = viewer.get("canvas");
    const registry = viewer.get("elementRegistry");
    const overlays = viewer.get("overlays");
    let painted = 0;
    let flagged = 0;
    figures.forEach((f) => {
      if (!registry.get(f.step_id)) return;
      canvas.addMarker(f.step_id, f.heat === null || f.heat === undefined ? "heat-none" : `heat-${f.heat}`);
      const badge = document.createElement("div");
      badge.className = "heat-badge";
      badge.dataset.step = f.step_id;
      badge.textContent = `${labels.median || "median"} ${hours(f.median_hours)} · P90 ${hours(f.p90_hours)} · n=${f.completed}`;
      if (f.waiting) {
        const wait = document.createElement("div");
        wait.className = "wait";
        wait.textContent = `${labels.waiting || "waiting"} ${f.waiting}`;
        badge.appendChild(wait);
      }
      overlays.add(f.step_id, "heat", { position: { bottom: -6, left: 0 }, html: badge });
      if (f.overdue > 0) {
        const mark = document.createElement("div");
        mark.className = "heat-overdue";
        mark.dataset.overdue = f.step_id;
        mark.title = `${labels.overdue || "overdue"} ${f.overdue}`;
        mark.textContent = `⚠ ${f.overdue}`;
        overlays.add(f.step_id, "overdue", { position: { top: -10, right: 12 }, html: mark });
        flagged += 1;
      }
      painted += 1;
    });
    canvas.zoom("fit-viewport");
    el.dataset.painted = String(painted);
    el.dataset.overdueSteps = String(flagged);
    el.dataset.rendered = "true";
  } catch (err) {
    el.textContent = "⚠ " + err.message;
    el.dataset.rendered = "error";
  }
})();
