// Read-only BPMN diagrams of process versions with the diff coloured (bpmn-js viewer, served locally).
(() => {
  if (typeof BpmnJS === "undefined") return;
  const markers = { added: "diff-added", changed: "diff-changed", removed: "diff-removed" };
  document.querySelectorAll(".process-diagram").forEach(async (el) => {
    const viewer = new BpmnJS({ container: el });
    try {
      const response = await fetch(el.dataset.src, { credentials: "same-origin" });
      await viewer.importXML(await response.text());
      const canvas = viewer.get("canvas");
      const registry = viewer.get("elementRegistry");
      Object.entries(markers).forEach(([key, cls]) => {
        (el.dataset[key] || "").split(",").filter(Boolean).forEach((id) => {
          if (registry.get(id)) canvas.addMarker(id, cls);
        });
      });
      canvas.zoom("fit-viewport");
      el.dataset.rendered = "true";
    } catch (err) {
      el.textContent = "⚠ " + err.message;
      el.dataset.rendered = "error";
    }
  });
})();
