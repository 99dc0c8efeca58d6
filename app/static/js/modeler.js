// The process designer: the bpmn-js Modeler (served locally) and Jixiao's own small properties panel.
// The panel edits only what Jixiao understands: step name, lane role, form, due duration, reminder and
// escalation timers, instructions, flow conditions and defaults, timers, notifications. Saving posts the
// XML to the server, which validates it and stores a draft; problems come back naming their elements.
// No inline script (CSP): configuration comes from data-* attributes.
(async () => {
  const root = document.getElementById("modeler");
  if (!root || typeof BpmnJS === "undefined") return;
  const $ = (id) => document.getElementById(id);
  const cfg = JSON.parse(root.dataset.config);
  const csrf = (document.querySelector('meta[name="csrf-token"]') || {}).content || "";
  const NEXT_LEVEL = {
    staff: "section_head", section_head: "unit_leader", unit_leader: "unit_principal",
    unit_principal: "perf_office", unit_admin: "unit_principal", perf_office: "perf_office",
  };

  const get = async (url) => {
    const response = await fetch(url, { credentials: "same-origin" });
    if (!response.ok) throw new Error(`${url}: ${response.status}`);
    return response;
  };
  const post = async (url, body) => {
    const response = await fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf, Accept: "application/json" },
      body: JSON.stringify(body),
    });
    let json = {};
    try { json = await response.json(); } catch (e) { json = { message: String(response.status) }; }
    return { status: response.status, json };
  };

  let modeler;
  try {
    const descriptor = await (await get(root.dataset.moddle)).json();
    modeler = new BpmnJS({ container: $("modeler-canvas"), moddleExtensions: { spiffworkflow: descriptor } });
    await modeler.importXML(await (await get(cfg.xml)).text());
  } catch (err) {
    $("modeler-canvas").textContent = "⚠ " + err.message;
    root.dataset.ready = "error";
    return;
  }
  const modeling = modeler.get("modeling");
  const registry = modeler.get("elementRegistry");
  const selection = modeler.get("selection");
  const canvas = modeler.get("canvas");
  const moddle = modeler.get("moddle");
  const elementFactory = modeler.get("elementFactory");
  const eventBus = modeler.get("eventBus");
  canvas.zoom("fit-viewport");

  // --- reading and writing the model -------------------------------------------------------------
  const is = (el, type) => !!(el && el.businessObject && el.businessObject.$instanceOf(type));
  const quote = (v) => "'" + String(v).replace(/'/g, "") + "'";
  const unquote = (v) => String(v || "").trim().replace(/^'(.*)'$/, "$1").replace(/^"(.*)"$/, "$1");
  const extValues = (bo) => (bo.extensionElements && bo.extensionElements.values) || [];
  const propsOf = (bo) => extValues(bo).find((v) => v.$instanceOf("spiffworkflow:Properties"));
  const operatorOf = (bo) => extValues(bo).find((v) => v.$instanceOf("spiffworkflow:ServiceTaskOperator"));

  function getProp(el, name) {
    const props = propsOf(el.businessObject);
    const item = props && (props.properties || []).find((p) => p.name === name);
    return item ? item.value || "" : "";
  }

  function ensureExt(el) {
    let ext = el.businessObject.extensionElements;
    if (!ext) {
      ext = moddle.create("bpmn:ExtensionElements", { values: [] });
      modeling.updateProperties(el, { extensionElements: ext });
    }
    return ext;
  }

  function setProp(el, name, value) {
    const ext = ensureExt(el);
    let props = propsOf(el.businessObject);
    if (!props) {
      props = moddle.create("spiffworkflow:Properties", { properties: [] });
      modeling.updateModdleProperties(el, ext, { values: [...(ext.values || []), props] });
    }
    const list = props.properties || [];
    const item = list.find((p) => p.name === name);
    if (!value) {
      if (item) modeling.updateModdleProperties(el, props, { properties: list.filter((p) => p !== item) });
    } else if (item) {
      modeling.updateModdleProperties(el, item, { value });
    } else {
      const created = moddle.create("spiffworkflow:Property", { name, value });
      modeling.updateModdleProperties(el, props, { properties: [...list, created] });
    }
  }

  function notifyOf(el) {
    const op = el && el.businessObject && operatorOf(el.businessObject);
    if (!op || op.id !== "notify") return null;
    const params = (op.parameterList && op.parameterList.parameters) || [];
    const param = (k) => unquote((params.find((p) => p.id === k) || {}).value);
    return { role: param("role"), kind: param("kind") };
  }

  function setNotify(el, role, kind) {
    const ext = ensureExt(el);
    const parameters = [
      moddle.create("spiffworkflow:Parameter", { id: "role", type: "str", value: quote(role) }),
      moddle.create("spiffworkflow:Parameter", { id: "kind", type: "str", value: quote(kind) }),
    ];
    const parameterList = moddle.create("spiffworkflow:Parameters", { parameters });
    const op = operatorOf(el.businessObject);
    if (op) {
      modeling.updateModdleProperties(el, op, { parameterList });
    } else {
      const created = moddle.create("spiffworkflow:ServiceTaskOperator", {
        id: "notify", resultVariable: "notified", parameterList,
      });
      modeling.updateModdleProperties(el, ext, { values: [...(ext.values || []), created] });
    }
  }

  const timerDef = (el) => ((el && el.businessObject.eventDefinitions) || [])
    .find((d) => d.$instanceOf("bpmn:TimerEventDefinition"));

  function timerValue(el) {
    const def = timerDef(el);
    const expr = def && (def.timeDuration || def.timeDate || def.timeCycle);
    return expr ? unquote(expr.body) : "";
  }

  function setTimer(el, value) {
    const body = moddle.create("bpmn:FormalExpression", { body: quote(value) });
    modeling.updateModdleProperties(el, timerDef(el), { timeDuration: body });
  }

  const docOf = (bo) => ((bo.documentation || [])[0] || {}).text || "";

  function laneOf(el) {
    return registry.filter((l) => is(l, "bpmn:Lane")
      && (l.businessObject.flowNodeRef || []).includes(el.businessObject))[0];
  }

  function moveToLane(el, role) {
    let lane = registry.filter((l) => is(l, "bpmn:Lane") && l.businessObject.name === role)[0];
    if (!lane) {
      const lanes = registry.filter((l) => is(l, "bpmn:Lane"))
        .sort((a, b) => (a.y + a.height) - (b.y + b.height));
      const participant = registry.filter((p) => is(p, "bpmn:Participant"))[0];
      if (!participant) return;
      lane = modeling.addLane(lanes.length ? lanes[lanes.length - 1] : participant, "bottom");
      modeling.updateProperties(lane, { name: role });
    }
    if (laneOf(el) === lane) return;
    modeling.moveElements([el], { x: 0, y: Math.round(lane.y + lane.height / 2 - (el.y + el.height / 2)) });
  }

  // A reminder or escalation: a non-interrupting timer on the step → a notify service task → an end.
  function chains(task) {
    return (task.attachers || []).filter((a) => timerDef(a)).map((boundary) => {
      const notify = boundary.outgoing.map((c) => c.target).find((t) => notifyOf(t));
      const end = notify && notify.outgoing.map((c) => c.target)
        .find((t) => is(t, "bpmn:EndEvent") && t.incoming.length === 1);
      return { boundary, notify, end, kind: notify ? notifyOf(notify).kind : "" };
    });
  }

  function setChain(task, kind, value) {
    const chain = chains(task).find((c) => c.kind === kind);
    if (chain && value) return setTimer(chain.boundary, value);
    if (chain) return modeling.removeElements([chain.boundary, chain.notify, chain.end].filter(Boolean));
    if (!value) return;
    const lane = laneOf(task);
    const laneRole = lane ? lane.businessObject.name : "";
    const role = kind === "reminder" ? laneRole : NEXT_LEVEL[laneRole] || "unit_principal";
    const shape = elementFactory.createShape({ type: "bpmn:BoundaryEvent", eventDefinitionType: "bpmn:TimerEventDefinition" });
    shape.businessObject.cancelActivity = false;
    const x = kind === "reminder" ? task.x + task.width - 18 : task.x + 18;
    const boundary = modeling.createShape(shape, { x, y: task.y + task.height }, task, { attach: true });
    setTimer(boundary, value);
    const dx = kind === "reminder" ? 100 : -100;
    const y = task.y + task.height + 75;
    const service = modeling.appendShape(boundary, { type: "bpmn:ServiceTask" }, { x: x + dx, y }, task.parent);
    modeling.updateProperties(service, { name: cfg[kind] });
    setNotify(service, role, kind);
    modeling.appendShape(service, { type: "bpmn:EndEvent" }, { x: x + dx * 2.1, y }, task.parent);
  }

  function addStep(sel) {
    let flow = null;
    let source = sel;
    if (is(sel, "bpmn:SequenceFlow")) {
      flow = sel;
      source = sel.source;
    } else {
      const outs = (sel.outgoing || []).filter((c) => is(c, "bpmn:SequenceFlow"));
      if (outs.length === 1) flow = outs[0];
    }
    const parent = source.parent;
    const position = { x: source.x + source.width + 90, y: source.y + source.height / 2 };
    let shape;
    if (flow) {
      const target = flow.target;
      shape = modeling.createShape({ type: "bpmn:UserTask" }, position, parent);
      modeling.reconnectEnd(flow, shape, { x: shape.x, y: shape.y + shape.height / 2 });
      modeling.connect(shape, target);
    } else {
      shape = modeling.appendShape(source, { type: "bpmn:UserTask" }, position, parent);
    }
    modeling.updateProperties(shape, { name: cfg.newStep });
    setProp(shape, "form", "review");
    selection.select(shape);
    return shape;
  }

  // --- the panel -------------------------------------------------------------------------------
  let current = null;
  const show = (group, on) => document.querySelectorAll(`[data-group="${group}"]`)
    .forEach((g) => { g.hidden = !on; });
  const setValue = (id, value) => {
    const input = $(id);
    if (document.activeElement === input) return;
    if (input.type === "checkbox") input.checked = !!value; else input.value = value || "";
  };
  const canAddAfter = (el) => is(el, "bpmn:SequenceFlow")
    || (is(el, "bpmn:FlowNode") && !is(el, "bpmn:EndEvent") && !is(el, "bpmn:BoundaryEvent"));

  function render() {
    const el = current;
    $("add-step").disabled = !canAddAfter(el);
    $("panel-empty").hidden = !!el;
    $("panel-fields").hidden = !el;
    if (!el) return;
    const bo = el.businessObject;
    $("p-type").textContent = bo.$type.replace(/^bpmn:/, "");
    $("p-id").textContent = el.id;
    $("element-picker").value = registry.get(el.id) ? el.id : "";
    const lane = is(el, "bpmn:Lane");
    show("name", !lane && !is(el, "bpmn:Participant"));
    setValue("p-name", bo.name);
    show("userTask", is(el, "bpmn:UserTask"));
    if (is(el, "bpmn:UserTask")) {
      const laneShape = laneOf(el);
      const role = laneShape ? laneShape.businessObject.name : "";
      setValue("p-lane", cfg.roles.includes(role) ? role : "");
      setValue("p-form", getProp(el, "form"));
      setValue("p-due", getProp(el, "due"));
      setValue("p-doc", docOf(bo));
      const byKind = Object.fromEntries(chains(el).map((c) => [c.kind, timerValue(c.boundary)]));
      setValue("p-remind", byKind.reminder || "");
      setValue("p-escalate", byKind.escalation || "");
    }
    show("lane", lane);
    if (lane) setValue("p-lane-role", cfg.roles.includes(bo.name) ? bo.name : "");
    const flow = is(el, "bpmn:SequenceFlow");
    show("flow", flow);
    if (flow) {
      setValue("p-condition", bo.conditionExpression ? bo.conditionExpression.body : "");
      const choice = is(el.source, "bpmn:ExclusiveGateway") || is(el.source, "bpmn:InclusiveGateway");
      show("default", choice);
      setValue("p-default", choice && el.source.businessObject.default === bo);
    }
    show("timer", !!timerDef(el));
    if (timerDef(el)) setValue("p-timer", timerValue(el));
    const notify = notifyOf(el);
    show("notify", !!notify);
    if (notify) {
      setValue("p-notify-role", notify.role);
      setValue("p-notify-kind", notify.kind);
    }
  }

  function refreshPicker() {
    const picker = $("element-picker");
    const items = registry.filter((e) => e.type !== "label" && e.businessObject
      && !is(e, "bpmn:Process") && !is(e, "bpmn:Collaboration") && e !== canvas.getRootElement());
    const label = (e) => `${e.businessObject.name || "—"} · ${e.businessObject.$type.replace(/^bpmn:/, "")} ${e.id}`;
    picker.replaceChildren(new Option("—", ""), ...items.map((e) => new Option(label(e), e.id)));
    picker.value = current && registry.get(current.id) ? current.id : "";
  }

  const on = (id, handler) => $(id).addEventListener("change", (event) => {
    if (current) handler(current, event.target.type === "checkbox" ? event.target.checked : event.target.value);
  });
  on("p-name", (el, v) => modeling.updateProperties(el, { name: v.trim() }));
  on("p-lane", (el, v) => { if (v) moveToLane(el, v); });
  on("p-form", (el, v) => setProp(el, "form", v));
  on("p-due", (el, v) => setProp(el, "due", v.trim()));
  on("p-remind", (el, v) => setChain(el, "reminder", v.trim()));
  on("p-escalate", (el, v) => setChain(el, "escalation", v.trim()));
  on("p-doc", (el, v) => modeling.updateProperties(el, {
    documentation: v.trim() ? [moddle.create("bpmn:Documentation", { text: v.trim() })] : [],
  }));
  on("p-lane-role", (el, v) => modeling.updateProperties(el, { name: v }));
  on("p-condition", (el, v) => modeling.updateProperties(el, {
    conditionExpression: v.trim() ? moddle.create("bpmn:FormalExpression", { body: v.trim() }) : undefined,
  }));
  on("p-default", (el, v) => modeling.updateProperties(el.source, { default: v ? el.businessObject : undefined }));
  on("p-timer", (el, v) => { if (v.trim()) setTimer(el, v.trim()); });
  on("p-notify-role", (el, v) => setNotify(el, v, $("p-notify-kind").value));
  on("p-notify-kind", (el, v) => setNotify(el, $("p-notify-role").value, v));
  $("add-step").addEventListener("click", () => { if (canAddAfter(current)) addStep(current); });
  $("element-picker").addEventListener("change", (event) => {
    const el = registry.get(event.target.value);
    if (!el) return;
    selection.select(el);
    canvas.scrollToElement(el);
  });

  // Conditions and durations are checked as they are typed, by the server's own rules.
  const timers = {};
  document.querySelectorAll("[data-check]").forEach((input) => {
    input.addEventListener("input", () => {
      clearTimeout(timers[input.id]);
      timers[input.id] = setTimeout(async () => {
        const status = document.querySelector(`.check-status[data-for="${input.id}"]`);
        const { json } = await post(cfg.check, { expression: input.value, kind: input.dataset.check });
        status.textContent = json.message || "";
        status.classList.toggle("ok", !!json.ok);
        status.classList.toggle("bad", !json.ok);
      }, 300);
    });
  });

  eventBus.on("selection.changed", (event) => {
    current = event.newSelection.length === 1 ? event.newSelection[0] : null;
    render();
  });
  let pickerTimer = null;
  eventBus.on("elements.changed", () => {
    if (current && !registry.get(current.id)) current = null;
    render();
    clearTimeout(pickerTimer);
    pickerTimer = setTimeout(refreshPicker, 150);
  });

  // --- check and save ----------------------------------------------------------------------------
  let marked = [];
  function showResult(status, json, saved) {
    $("save-result").hidden = false;
    const message = $("save-message");
    message.textContent = json.message || String(status);
    message.className = "alert mb-2 alert-" + (json.ok ? "success" : "danger");
    marked.forEach((id) => { if (registry.get(id)) canvas.removeMarker(id, "has-problem"); });
    marked = [];
    const list = $("problems");
    list.replaceChildren(...(json.problems || []).map((p) => {
      const li = document.createElement("li");
      li.textContent = p.message;
      li.dataset.element = p.element_id || "";
      if (p.element_id && registry.get(p.element_id)) {
        canvas.addMarker(p.element_id, "has-problem");
        marked.push(p.element_id);
        li.addEventListener("click", () => selection.select(registry.get(p.element_id)));
      }
      return li;
    }));
    $("save-result").scrollIntoView({ block: "nearest" });
    $("save-links").hidden = !(saved && json.ok);
    if (saved && json.ok) {
      $("link-diff").href = json.links.view;
      $("link-simulate").href = json.links.simulate;
      $("link-process").href = json.links.process;
      root.dataset.savedVersion = json.version;
    }
  }

  async function submit(save) {
    const button = $(save ? "save-draft" : "validate-draft");
    button.disabled = true;
    try {
      const { xml } = await modeler.saveXML({ format: true });
      const body = save
        ? { xml, comment: $("save-comment").value, based_on: cfg.basedOn }
        : { xml, key: cfg.key };
      const { status, json } = await post(save ? cfg.save : cfg.validate, body);
      showResult(status, json, save);
    } catch (err) {
      showResult(0, { ok: false, message: err.message, problems: [] }, false);
    } finally {
      button.disabled = false;
    }
  }
  $("save-draft").addEventListener("click", () => submit(true));
  $("validate-draft").addEventListener("click", () => submit(false));

  refreshPicker();
  render();
  root.dataset.ready = "true";
})();
