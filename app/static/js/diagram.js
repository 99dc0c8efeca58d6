// Render a process instance's BPMN with done and waiting steps marked (bpmn-js, served locally).
(async () => {
  const el = document.getElementById("diagram");
  if (!el || typeof BpmnJS === "undefined") return;
  const viewer = new BpmnJS({ container: el });
  try {
    const xml = await (await fetch(el.dataset.src, { credentials: "same-origin" })).text();
    await viewer.importXML(xml);
    const canvas = viewer.get("canvas");
    const registry = viewer.get("elementRegistry");
    const mark = (ids, cls) => ids.split(",").filter(Boolean).forEach((id) => {
      if (registry.get(id)) canvas.addMarker(id, cls);
    });
    mark(el.dataset.done || "", "step-done");
    mark(el.dataset.current || "", "step-current");
    canvas.zoom("fit-viewport");
    el.dataset.rendered = "true";
  } catch (err) {
    el.textContent = "⚠ " + err.message;
    el.dataset.rendered = "error";
  }
})();
