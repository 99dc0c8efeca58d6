"""The SpiffWorkflow boundary: the restricted script engine and state-only serialization.

State is serialized without the process spec (about half of a default blob) and gzip'd;
the spec comes from the per-version cache when an instance is loaded. The script engine
is not part of the state, so it is attached after every load.
"""

from __future__ import annotations

import gzip
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.script_engine.python_environment import BasePythonScriptEngineEnvironment
from SpiffWorkflow.bpmn.serializer.default.workflow import BpmnWorkflowConverter, WorkflowConverter
from SpiffWorkflow.bpmn.serializer.workflow import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
from SpiffWorkflow.util.task import TaskState

from app.workflow import expressions
from app.workflow.definitions import LoadedDefinition

READY = TaskState.READY


@dataclass
class Outbox:
    """Notifications requested by ``notify`` service tasks during one engine run."""

    items: list[dict[str, Any]] = field(default_factory=list)


class SafeEnvironment(BasePythonScriptEngineEnvironment):
    """Evaluates with the whitelisted evaluator instead of ``eval``/``exec``."""

    def __init__(self, outbox: Outbox) -> None:
        super().__init__({})
        self.outbox = outbox

    def evaluate(self, expression: str, context: dict[str, Any], external_context: Any = None) -> Any:
        names = dict(external_context or {})
        names.update(context)
        return expressions.evaluate(expression, names)

    def execute(self, script: str, context: dict[str, Any], external_context: Any = None) -> bool:
        expressions.execute(script, context)
        return True

    def call_service(self, context: dict[str, Any], **kwargs: Any) -> str:
        if kwargs.get("operation_name") != "notify":
            raise ValueError(f"unknown service {kwargs.get('operation_name')!r}")
        params = {k: v["value"] for k, v in (kwargs.get("operation_params") or {}).items()}
        self.outbox.items.append(params)
        return "null"


class _StateOnlyConverter(BpmnWorkflowConverter):
    """Serialize everything but the specs; restore with the cached specs passed in."""

    def to_dict(self, workflow: BpmnWorkflow) -> dict[str, Any]:
        dct: dict[str, Any] = WorkflowConverter.to_dict(self, workflow)
        dct["subprocesses"] = self.mapping_to_dict(workflow.subprocesses)
        dct["bpmn_events"] = self.registry.convert(workflow.bpmn_events)
        return dct

    def from_dict(self, dct: dict[str, Any], spec: Any = None, subprocess_specs: Any = None) -> BpmnWorkflow:
        workflow = self.target_class(spec, subprocess_specs, deserializing=True)
        workflow.tasks = self.mapping_from_dict(dct["tasks"], UUID, workflow=workflow)
        workflow.task_tree = workflow.tasks.get(UUID(dct["root"]))
        self.set_default_attributes(workflow, dct)
        self.subprocesses_from_dict(dct["subprocesses"], workflow)
        workflow.bpmn_events = self.registry.restore(dct.pop("bpmn_events", []))
        return workflow


_config = dict(SPIFF_CONFIG)
_config[BpmnWorkflow] = _StateOnlyConverter
_SERIALIZER = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(_config))


def _engine(outbox: Outbox) -> PythonScriptEngine:
    return PythonScriptEngine(environment=SafeEnvironment(outbox))


def new_workflow(loaded: LoadedDefinition, data: dict[str, Any], outbox: Outbox) -> BpmnWorkflow:
    wf = BpmnWorkflow(loaded.spec, loaded.subprocess_specs, script_engine=_engine(outbox))
    wf.get_tasks(state=TaskState.READY)[0].data.update(data)  # the start task's data flows onward
    wf.data.update(data)
    return wf


def dump(wf: BpmnWorkflow) -> bytes:
    registry = _SERIALIZER.registry
    registry._encoder_mode = True
    try:
        dct = _SERIALIZER.to_dict(wf)
        text = json.dumps(dct, cls=_SERIALIZER._encoder_cls, separators=(",", ":"), ensure_ascii=False)
    finally:
        registry._encoder_mode = False
    return gzip.compress(text.encode("utf-8"), compresslevel=6)


def load(loaded: LoadedDefinition, state: bytes, outbox: Outbox) -> BpmnWorkflow:
    dct = json.loads(gzip.decompress(state))
    wf: BpmnWorkflow = _SERIALIZER.from_dict(dct, spec=loaded.spec, subprocess_specs=loaded.subprocess_specs)
    wf.script_engine = _engine(outbox)
    return wf


def ready_user_tasks(wf: BpmnWorkflow) -> list[Any]:
    return list(wf.get_tasks(state=TaskState.READY, manual=True))


def find_task(wf: BpmnWorkflow, engine_task_id: str) -> Any:
    return wf.get_task_from_id(UUID(engine_task_id))


def run_task(wf: BpmnWorkflow, task: Any, data: dict[str, Any]) -> None:
    task.data.update(data)
    task.run()
    wf.do_engine_steps()


def advance(wf: BpmnWorkflow) -> None:
    wf.do_engine_steps()


def fire_timers(wf: BpmnWorkflow) -> None:
    wf.refresh_timers()
    wf.do_engine_steps()


def next_timer_at(wf: BpmnWorkflow) -> datetime | None:
    """Earliest due time among waiting timers, so the timer job never loads instances not due."""
    due: list[datetime] = []
    for event in wf.waiting_events():
        value = getattr(event, "value", None)
        if isinstance(value, str):
            try:
                when = datetime.fromisoformat(value)
            except ValueError:
                continue
            due.append(when if when.tzinfo else when.replace(tzinfo=UTC))
    return min(due) if due else None


def parse_duration(duration: str, start: datetime) -> timedelta:
    """An ISO 8601 duration (``P5D``, ``PT12H``) as a timedelta from ``start`` (months vary in length)."""
    try:
        parsed = TimerEventDefinition.parse_iso_duration(duration)
        return TimerEventDefinition.get_timedelta_from_start(parsed, start)
    except Exception as exc:  # the engine raises a bare Exception for malformed durations
        raise ValueError(f"not an ISO 8601 duration: {duration!r}") from exc


def is_completed(wf: BpmnWorkflow) -> bool:
    return bool(wf.is_completed())


def engine_data(wf: BpmnWorkflow) -> dict[str, Any]:
    """The process data as of the last completed task (what forms and the API show)."""
    last = wf.last_task
    data = dict(last.data) if last is not None else {}
    return {k: v for k, v in data.items() if not k.startswith("spiff") and k != "notified"}


def task_spec_id(task: Any) -> str:
    return str(task.task_spec.bpmn_id)
