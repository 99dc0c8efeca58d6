"""Design checks the process designer runs on save, upload and deploy, beside ``load_definition``.

Structural faults the engine would only meet at run time: dead ends, unreachable steps, loops
without a way out, gateways that can find no way on, durations a timer cannot read, notifications
to unknown roles. Each problem names its element (as ``definitions`` does) and says how to fix it.
"""

from __future__ import annotations

import ast
from datetime import UTC, datetime
from typing import Any

from app.workflow.definitions import _B, _S, LANE_ROLES, _describe, parse_xml
from app.workflow.engine import parse_duration

_FLOW_NODES = {
    _B + t
    for t in (
        "startEvent",
        "endEvent",
        "userTask",
        "serviceTask",
        "scriptTask",
        "manualTask",
        "task",
        "sendTask",
        "receiveTask",
        "exclusiveGateway",
        "parallelGateway",
        "inclusiveGateway",
        "eventBasedGateway",
        "intermediateCatchEvent",
        "intermediateThrowEvent",
        "boundaryEvent",
        "subProcess",
        "callActivity",
    )
}
_CHOICE_GATEWAYS = {_B + "exclusiveGateway", _B + "inclusiveGateway"}
_NEGATED_OPS: dict[type, type] = {
    ast.Eq: ast.NotEq,
    ast.NotEq: ast.Eq,
    ast.In: ast.NotIn,
    ast.NotIn: ast.In,
    ast.Lt: ast.GtE,
    ast.GtE: ast.Lt,
    ast.Gt: ast.LtE,
    ast.LtE: ast.Gt,
    ast.Is: ast.IsNot,
    ast.IsNot: ast.Is,
}
NOTIFY_KINDS = ("reminder", "escalation")


def _complementary(first: str, second: str) -> bool:
    """``x == 'a'`` / ``x != 'a'`` or ``c`` / ``not c``: two conditions that together cover every case."""
    try:
        a = ast.parse(first.strip(), mode="eval").body
        b = ast.parse(second.strip(), mode="eval").body
    except SyntaxError:
        return False
    for x, y in ((a, b), (b, a)):
        if isinstance(x, ast.UnaryOp) and isinstance(x.op, ast.Not) and ast.dump(x.operand) == ast.dump(y):
            return True
    if isinstance(a, ast.Compare) and isinstance(b, ast.Compare) and len(a.ops) == len(b.ops) == 1:
        same_sides = ast.dump(a.left) == ast.dump(b.left) and ast.dump(a.comparators[0]) == ast.dump(b.comparators[0])
        return same_sides and _NEGATED_OPS.get(type(a.ops[0])) is type(b.ops[0])
    return False


def _literal(text: str | None) -> str | None:
    """The string a constant expression such as ``'P3D'`` stands for, else None."""
    try:
        node = ast.parse((text or "").strip(), mode="eval").body
    except SyntaxError:
        return None
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def _duration_problem(value: str, what: str) -> str | None:
    try:
        parse_duration(value, datetime.now(UTC))
    except ValueError:
        return f"the {what} '{value}' is not an ISO 8601 duration; write e.g. P5D (five days) or PT12H (twelve hours)."
    return None


def _check_flows(process: Any, nodes: dict[str, Any], problems: list[str]) -> None:
    outgoing: dict[str, list[Any]] = {n: [] for n in nodes}
    incoming: dict[str, list[Any]] = {n: [] for n in nodes}
    for flow in process.iter(_B + "sequenceFlow"):
        src, dst = flow.get("sourceRef"), flow.get("targetRef")
        if src not in nodes or dst not in nodes:
            problems.append(f"{_describe(flow)}: it connects '{src}' to '{dst}', which are not both steps here.")
            continue
        outgoing[src].append(flow)
        incoming[dst].append(flow)
    attached: dict[str, list[str]] = {}
    for node_id, el in nodes.items():
        if el.tag == _B + "boundaryEvent":
            attached.setdefault(el.get("attachedToRef") or "", []).append(node_id)
    for node_id, el in nodes.items():
        if el.tag != _B + "endEvent" and not outgoing[node_id]:
            problems.append(f"{_describe(el)}: nothing leaves it (a dead end); connect it to a next step or an end.")
        if el.tag not in {_B + "startEvent", _B + "boundaryEvent"} and not incoming[node_id]:
            problems.append(f"{_describe(el)}: no flow leads to it; connect it from an earlier step or delete it.")
    successors = {n: [f.get("targetRef") for f in outgoing[n]] + attached.get(n, []) for n in nodes}
    starts = [n for n, el in nodes.items() if el.tag == _B + "startEvent"]
    reached = _reach(starts, successors)
    predecessors: dict[str, list[str]] = {n: [] for n in nodes}
    for n, nexts in successors.items():
        for m in nexts:
            if m not in attached.get(n, []):  # a boundary path does not finish its host
                predecessors[m].append(n)
    finishing = _reach([n for n, el in nodes.items() if el.tag == _B + "endEvent"], predecessors)
    for node_id, el in nodes.items():
        if starts and node_id not in reached and incoming[node_id]:
            problems.append(f"{_describe(el)}: it cannot be reached from the start event; connect it or delete it.")
        elif node_id in reached and node_id not in finishing and outgoing[node_id]:
            problems.append(
                f"{_describe(el)}: from here the process can never finish (a loop without a way out); "
                "add a path to an end event."
            )
    for el in nodes.values():
        if el.tag in _CHOICE_GATEWAYS:
            _check_gateway(el, outgoing[el.get("id")], problems)
        elif el.tag == _B + "parallelGateway":
            for flow in outgoing[el.get("id")]:
                if flow.find(_B + "conditionExpression") is not None:
                    problems.append(
                        f"{_describe(flow)}: conditions after a parallel gateway are ignored; remove the condition "
                        "or use an exclusive gateway."
                    )


def _reach(seeds: list[str], edges: dict[str, list[str]]) -> set[str]:
    seen, todo = set(seeds), list(seeds)
    while todo:
        for nxt in edges.get(todo.pop(), []):
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen


def _check_gateway(gateway: Any, flows: list[Any], problems: list[str]) -> None:
    default = gateway.get("default")
    ids = {f.get("id") for f in flows}
    if default and default not in ids:
        problems.append(f"{_describe(gateway)}: its default flow '{default}' does not leave it; choose another.")
        default = None
    if len(flows) < 2:
        return
    conditions: list[str] = []
    for flow in flows:
        if flow.get("id") == default:
            continue
        cond = flow.find(_B + "conditionExpression")
        text = (cond.text or "").strip() if cond is not None else ""
        if not text:
            problems.append(
                f"{_describe(flow)}: it leaves {_describe(gateway)} without a condition; give it a condition "
                "(e.g. decision == 'return') or make it the gateway's default flow."
            )
        conditions.append(text)
    if default is None and not (len(conditions) == 2 and all(conditions) and _complementary(*conditions)):
        problems.append(
            f"{_describe(gateway)}: it has no default flow, so when no condition holds the process stops; mark one "
            "outgoing flow as the default, or make two conditions cover every case (x == 'a' and x != 'a')."
        )


def _check_values(process: Any, problems: list[str]) -> None:
    for el in process.iter(_S + "property"):
        due = (el.get("value") or "").strip() if el.get("name") == "due" else ""
        if due and (problem := _duration_problem(due, "due duration")):
            problems.append(f"{_describe(el)}: {problem}")
    for el in process.iter(_B + "timeDuration"):
        value = _literal(el.text)
        if value is not None and (problem := _duration_problem(value, "timer duration")):
            problems.append(f"{_describe(_flow_node(el))}: {problem}")
    for op in process.iter(_S + "serviceTaskOperator"):
        params = {p.get("id"): _literal(p.get("value")) for p in op.iter(_S + "parameter")}
        if op.get("id") != "notify":
            continue
        if params.get("role") not in LANE_ROLES:
            problems.append(
                f"{_describe(op)}: the notification goes to role '{params.get('role') or '(none)'}'; "
                f"set the parameter 'role' to one of {', '.join(LANE_ROLES)} (quoted, e.g. 'unit_leader')."
            )
        if params.get("kind") not in NOTIFY_KINDS:
            problems.append(
                f"{_describe(op)}: the notification kind '{params.get('kind') or '(none)'}' is unknown; "
                f"set the parameter 'kind' to one of {', '.join(NOTIFY_KINDS)} (quoted)."
            )


def _flow_node(el: Any) -> Any:
    """The step or event an inner element (a timer definition) belongs to: what the modeller sees."""
    node = el
    while node.getparent() is not None and node.getparent().tag != _B + "process":
        node = node.getparent()
    return node


def check_design(xml: bytes | str) -> list[str]:
    """Structural problems of each executable process, each naming its element and a fix."""
    root = parse_xml(xml)
    problems: list[str] = []
    for process in root.iter(_B + "process"):
        if process.get("isExecutable", "true") == "false":
            continue
        nodes = {el.get("id"): el for el in process if el.tag in _FLOW_NODES and el.get("id")}
        _check_flows(process, nodes, problems)
        _check_values(process, problems)
    return problems
