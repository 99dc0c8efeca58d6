"""Loading BPMN safely: hardened XML parsing, Jixiao's validation rules, and the spec cache.

A definition is refused *at load* — never at run time — when its XML is unsafe, when a
user task sits outside a lane named by a role key or names an unknown form, or when any
condition, timer, parameter or script is something the restricted evaluator will not run.
Each problem names the element and says how to fix it.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

import defusedxml.ElementTree as DET
from defusedxml import DefusedXmlException
from lxml import etree
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.bpmn.specs.bpmn_process_spec import BpmnProcessSpec
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser

from app.workflow.expressions import UnsafeExpression, check_expression, check_script
from forms import FORMS

MAX_BPMN_BYTES = 2 * 1024 * 1024
LANE_ROLES = ("staff", "section_head", "unit_leader", "unit_principal", "unit_admin", "perf_office")

NS = {
    "bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL",
    "spiffworkflow": "http://spiffworkflow.org/bpmn/schema/1.0/core",
}
_B = "{{{}}}".format(NS["bpmn"])
_S = "{{{}}}".format(NS["spiffworkflow"])

# Elements whose text is a Python-style expression evaluated by the engine.
_EXPRESSION_TAGS = {
    _B + "conditionExpression": "condition",
    _B + "timeDuration": "timer",
    _B + "timeDate": "timer",
    _B + "timeCycle": "timer",
}
_SCRIPT_TAGS = {_B + "script": "script", _S + "preScript": "pre-script", _S + "postScript": "post-script"}
# Constructs the restricted runtime does not support; refused rather than half-run.
_UNSUPPORTED = {
    _B + "businessRuleTask": "business rule (DMN) tasks",
    _B + "multiInstanceLoopCharacteristics": "multi-instance activities",
    _B + "standardLoopCharacteristics": "loop activities",
    _B + "complexGateway": "complex gateways",
    _B + "conditionalEventDefinition": "conditional events",
}


class DefinitionError(ValueError):
    """The BPMN cannot be used; ``problems`` lists each fault with its element and a fix."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class StepMeta:
    """What the inbox and task pages need to know about one user task."""

    id: str
    name: str
    lane: str
    form: str
    due: str | None = None
    documentation: str | None = None


@dataclass
class LoadedDefinition:
    key: str
    name: str
    spec: BpmnProcessSpec
    subprocess_specs: dict[str, Any]
    steps: dict[str, StepMeta] = field(default_factory=dict)


def _describe(el: Any) -> str:
    """ "userTask 'section_review' (股室负责人审核)" for an element: the nearest BPMN element with an id.

    Extension elements (spiffworkflow:parameter, serviceTaskOperator) carry ids of their own that
    mean nothing to the modeller, so they are skipped.
    """
    node = el
    while node is not None and (
        node.get("id") is None
        or etree.QName(node).namespace != NS["bpmn"]
        or etree.QName(node).localname.endswith("EventDefinition")  # name the event, not its definition
    ):
        node = node.getparent()
    if node is None:
        return "the document"
    tag = etree.QName(node).localname
    name = node.get("name")
    return f"{tag} '{node.get('id')}'" + (f" ({name})" if name else "")


def parse_xml(xml: bytes | str) -> Any:
    """Parse BPMN with DTDs, entities and network access refused; return the lxml root."""
    raw = xml.encode("utf-8") if isinstance(xml, str) else xml
    if len(raw) > MAX_BPMN_BYTES:
        raise DefinitionError([f"The file is {len(raw) // 1024} KB; the limit is {MAX_BPMN_BYTES // 1024} KB."])
    try:
        DET.fromstring(raw, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as exc:
        raise DefinitionError(
            [f"The XML declares a DTD or entities ({type(exc).__name__}); remove the <!DOCTYPE …> block."]
        ) from exc
    except DET.ParseError as exc:
        raise DefinitionError([f"The file is not well-formed XML: {exc}."]) from exc
    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False, huge_tree=False
    )
    try:
        root = etree.fromstring(raw, parser=parser)
    except etree.XMLSyntaxError as exc:
        raise DefinitionError([f"The file is not well-formed XML: {exc}."]) from exc
    if etree.QName(root).localname != "definitions" or etree.QName(root).namespace != NS["bpmn"]:
        raise DefinitionError(["The root element must be bpmn:definitions (a BPMN 2.0 file)."])
    return root


def _check_elements(root: Any) -> list[str]:
    problems: list[str] = []
    for el in root.iter():
        if not isinstance(el.tag, str):
            continue
        if el.tag in _UNSUPPORTED:
            problems.append(f"{_describe(el)}: {_UNSUPPORTED[el.tag]} are not supported; model the step explicitly.")
        elif el.tag in _EXPRESSION_TAGS and (el.text or "").strip():
            try:
                check_expression(el.text)
            except UnsafeExpression as exc:
                problems.append(
                    f"{_describe(el)}: the {_EXPRESSION_TAGS[el.tag]} '{el.text.strip()[:80]}' is refused: {exc}."
                )
        elif el.tag in _SCRIPT_TAGS and (el.text or "").strip():
            try:
                check_script(el.text)
            except UnsafeExpression as exc:
                problems.append(f"{_describe(el)}: the {_SCRIPT_TAGS[el.tag]} is refused: {exc}.")
        elif el.tag == _S + "parameter":
            try:
                check_expression(el.get("value") or "")
            except UnsafeExpression as exc:
                problems.append(f"{_describe(el)}: parameter '{el.get('id')}' is refused: {exc}.")
        elif el.tag == _S + "serviceTaskOperator" and el.get("id") != "notify":
            problems.append(f"{_describe(el)}: the service '{el.get('id')}' is unknown; the only service is 'notify'.")
    return problems


def _step_meta(spec: Any, lane: str | None, problems: list[str]) -> StepMeta:
    props: dict[str, str] = (getattr(spec, "extensions", None) or {}).get("properties", {})
    label = f"user task '{spec.bpmn_id}' ({spec.bpmn_name or ''})"
    if lane not in LANE_ROLES:
        problems.append(
            f"{label}: it is in lane '{lane or '(none)'}', which is not a role; put it in a lane named "
            f"one of {', '.join(LANE_ROLES)}."
        )
    form = props.get("form", "")
    if form not in FORMS:
        problems.append(
            f"{label}: the form '{form or '(none)'}' is unknown; set the property 'form' to one of "
            f"{', '.join(sorted(FORMS))}."
        )
    return StepMeta(
        id=spec.bpmn_id,
        name=spec.bpmn_name or spec.bpmn_id,
        lane=lane or "",
        form=form,
        due=props.get("due"),
        documentation=getattr(spec, "documentation", None),
    )


def load_definition(xml: bytes | str, filename: str = "process.bpmn") -> LoadedDefinition:
    """Parse and validate one BPMN document with a single executable process."""
    root = parse_xml(xml)
    problems = _check_elements(root)
    processes = [p for p in root.iter(_B + "process") if p.get("isExecutable", "true") != "false"]
    if len(processes) != 1:
        problems.append(f"The file must contain exactly one executable process; it has {len(processes)}.")
    if problems:
        raise DefinitionError(problems)
    process = processes[0]
    starts = process.findall(_B + "startEvent")
    if len(starts) != 1:
        raise DefinitionError(
            [f"process '{process.get('id')}' must have exactly one start event; it has {len(starts)}."]
        )
    parser = SpiffBpmnParser()
    try:
        parser.add_bpmn_xml(etree.ElementTree(root), filename)
        key = process.get("id")
        spec = parser.get_spec(key)
        subprocess_specs = parser.get_subprocess_specs(key)
    except ValidationException as exc:
        where = f"{exc.tag.split(':')[-1]} '{exc.id}'" + (f" ({exc.name})" if exc.name else "") + ": " if exc.id else ""
        raise DefinitionError([f"{where}The BPMN is invalid: {exc}"]) from exc
    except Exception as exc:  # the parser raises bare exceptions for many modelling errors
        raise DefinitionError([f"The BPMN could not be read: {exc}"]) from exc
    steps: dict[str, StepMeta] = {}
    for ts in spec.task_specs.values():
        if getattr(ts, "manual", False) and getattr(ts, "bpmn_id", None):
            steps[ts.bpmn_id] = _step_meta(ts, ts.lane, problems)
    if problems:
        raise DefinitionError(problems)
    return LoadedDefinition(
        key=key, name=process.get("name") or key, spec=spec, subprocess_specs=subprocess_specs, steps=steps
    )


def sha256(xml: str) -> str:
    return hashlib.sha256(xml.encode("utf-8")).hexdigest()


class SpecCache:
    """Parsed definitions by content hash; parsing costs far more than a step, so keep them.

    Keyed by the XML's SHA-256, not the row id: a row id can be reused after a rollback,
    the content hash always names exactly one spec.
    """

    def __init__(self, size: int = 128) -> None:
        self._items: OrderedDict[str, LoadedDefinition] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()

    def get(self, digest: str, xml: str) -> LoadedDefinition:
        with self._lock:
            if digest in self._items:
                self._items.move_to_end(digest)
                return self._items[digest]
        loaded = load_definition(xml, f"{digest[:12]}.bpmn")
        with self._lock:
            self._items[digest] = loaded
            while len(self._items) > self._size:
                self._items.popitem(last=False)
        return loaded


SPEC_CACHE = SpecCache()
