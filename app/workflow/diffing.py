"""What changed between two versions of a process, in the performance office's words.

Steps added, removed, renamed, moved between lanes; forms, due durations, instructions, timers,
notifications and conditions changed; flows added, removed or re-routed. Each change names its
element so the page can colour it on the diagram. Works on the XML (already validated), so it
also describes elements the engine does not run (annotations aside).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from app.workflow.definitions import _B, _S, parse_xml

_SKIP = {"laneSet", "sequenceFlow", "documentation", "extensionElements", "textAnnotation", "association"}


@dataclass(frozen=True)
class Node:
    type: str
    name: str
    lane: str
    form: str = ""
    due: str = ""
    documentation: str = ""
    timer: str = ""  # a boundary or intermediate timer's expression
    attached_to: str = ""
    notify: str = ""  # "role/kind" of a notify service task


@dataclass(frozen=True)
class Flow:
    name: str
    source: str
    target: str
    condition: str
    default: bool


@dataclass
class Outline:
    key: str
    nodes: dict[str, Node] = field(default_factory=dict)
    flows: dict[str, Flow] = field(default_factory=dict)


@dataclass(frozen=True)
class Change:
    """``kind``: added, removed, renamed, lane, form, due, documentation, timer, notify, type, condition,
    rerouted, default. ``old``/``new`` are the values before and after (None for added/removed)."""

    kind: str
    element_id: str
    element_type: str
    label: str
    old: str | None = None
    new: str | None = None

    @property
    def colour(self) -> str:
        return self.kind if self.kind in ("added", "removed") else "changed"

    @property
    def is_step(self) -> bool:
        return self.element_type == "userTask"

    def as_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "element_id": self.element_id,
            "element_type": self.element_type,
            "label": self.label,
            "old": self.old,
            "new": self.new,
        }


def _text(el: Any) -> str:
    return " ".join((el.text or "").split()) if el is not None else ""


def outline(xml: str | bytes) -> Outline:
    root = parse_xml(xml)
    process = next((p for p in root.iter(_B + "process") if p.get("isExecutable", "true") != "false"), None)
    if process is None:
        return Outline("")
    lanes: dict[str, str] = {}
    for lane in process.iter(_B + "lane"):
        for ref in lane.iter(_B + "flowNodeRef"):
            lanes[(ref.text or "").strip()] = lane.get("name") or lane.get("id") or ""
    defaults = {p.get("default") for p in process if p.get("default")}
    out = Outline(process.get("id") or "")
    for lane in process.iter(_B + "lane"):
        out.nodes[lane.get("id")] = Node(type="lane", name=lane.get("name") or "", lane="")
    for el in process:
        if not isinstance(el.tag, str) or not el.get("id") or not el.tag.startswith(_B):
            continue
        tag = el.tag[len(_B) :]
        if tag == "sequenceFlow":
            out.flows[el.get("id")] = Flow(
                name=el.get("name") or "",
                source=el.get("sourceRef") or "",
                target=el.get("targetRef") or "",
                condition=_text(el.find(_B + "conditionExpression")),
                default=el.get("id") in defaults,
            )
        elif tag not in _SKIP:
            out.nodes[el.get("id")] = _node(el, tag, lanes.get(el.get("id"), ""))
    return out


def _node(el: Any, tag: str, lane: str) -> Node:
    props = {p.get("name"): p.get("value") or "" for p in el.iter(_S + "property")}
    params = {p.get("id"): (p.get("value") or "").strip("'\"") for p in el.iter(_S + "parameter")}
    timer = next((_text(t) for t in el.iter(_B + "timeDuration", _B + "timeDate", _B + "timeCycle")), "")
    return Node(
        type=tag,
        name=el.get("name") or "",
        lane=lane,
        form=props.get("form", ""),
        due=props.get("due", ""),
        documentation=_text(el.find(_B + "documentation")),
        timer=timer,
        attached_to=el.get("attachedToRef") or "",
        notify=f"{params.get('role', '')}/{params.get('kind', '')}" if params else "",
    )


_NODE_FIELDS = (
    ("type", "type"),
    ("name", "renamed"),
    ("lane", "lane"),
    ("form", "form"),
    ("due", "due"),
    ("documentation", "documentation"),
    ("timer", "timer"),
    ("notify", "notify"),
)


def diff(old_xml: str | bytes, new_xml: str | bytes) -> list[Change]:
    """Changes from ``old_xml`` to ``new_xml``: removed first, then added, then changed, in document order."""
    old, new = outline(old_xml), outline(new_xml)
    removed: list[Change] = []
    added: list[Change] = []
    changed: list[Change] = []
    for node_id, node in old.nodes.items():
        if node_id not in new.nodes:
            removed.append(Change("removed", node_id, node.type, node.name or node_id, old=node.lane or None))
    for node_id, node in new.nodes.items():
        before = old.nodes.get(node_id)
        if before is None:
            added.append(Change("added", node_id, node.type, node.name or node_id, new=node.lane or None))
            continue
        for attr, kind in _NODE_FIELDS:
            a, b = getattr(before, attr), getattr(node, attr)
            if a != b:
                changed.append(Change(kind, node_id, node.type, node.name or node_id, a or None, b or None))
    for flow_id, flow in old.flows.items():
        if flow_id not in new.flows:
            removed.append(Change("removed", flow_id, "sequenceFlow", _flow_label(flow_id, flow, old), flow.condition))
    for flow_id, flow in new.flows.items():
        label = _flow_label(flow_id, flow, new)
        before_flow = old.flows.get(flow_id)
        if before_flow is None:
            added.append(Change("added", flow_id, "sequenceFlow", label, new=flow.condition or None))
            continue
        if (before_flow.source, before_flow.target) != (flow.source, flow.target):
            ends = (_ends(before_flow, old), _ends(flow, new))
            changed.append(Change("rerouted", flow_id, "sequenceFlow", label, *ends))
        if before_flow.condition != flow.condition:
            changed.append(
                Change(
                    "condition", flow_id, "sequenceFlow", label, before_flow.condition or None, flow.condition or None
                )
            )
        if before_flow.default != flow.default:
            changed.append(
                Change("default", flow_id, "sequenceFlow", label, str(before_flow.default), str(flow.default))
            )
        if before_flow.name != flow.name:
            changed.append(
                Change("renamed", flow_id, "sequenceFlow", label, before_flow.name or None, flow.name or None)
            )
    return removed + added + changed


def _ends(flow: Flow, where: Outline) -> str:
    src = where.nodes.get(flow.source)
    dst = where.nodes.get(flow.target)
    return f"{(src.name if src else '') or flow.source} → {(dst.name if dst else '') or flow.target}"


def _flow_label(flow_id: str, flow: Flow, where: Outline) -> str:
    return flow.name or _ends(flow, where)
