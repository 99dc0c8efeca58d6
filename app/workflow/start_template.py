"""The engine state of a fresh instance, computed once per definition and period and cloned per person.

Why: opening a cycle starts thousands of instances of the same definition whose way from the
start event to the first user task does not depend on the person. Running SpiffWorkflow for each
of them (build the task tree, run the start event, serialize) costs about 0.6 ms; rendering the
state once obtained with fresh task ids, the person's id and the person's start time costs about
a tenth of that. The result is the same state the engine would have produced.

When it is allowed (``build`` returns ``None`` otherwise, and the caller runs the engine per person):

- only the start task and plain (none) start events ran, so no script, gateway condition, service
  task or message could have looked at the data or the clock;
- the tasks waiting are user tasks without pre-scripts, nothing waits on a timer (a due time would
  be absolute) and nothing was put into the notification outbox;
- two probe runs for different subjects give the same state up to task ids, the subject id and the
  state-change times, and a rendered state loads back into the engine with the expected tasks.
"""

from __future__ import annotations

import gzip
import os
import re
import time
from dataclasses import dataclass
from typing import Any

from SpiffWorkflow.bpmn.specs.control import BpmnStartTask
from SpiffWorkflow.bpmn.specs.event_definitions.simple import NoneEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.events.start_event import StartEvent
from SpiffWorkflow.util.task import TaskState

from app.workflow import engine as eng
from app.workflow.definitions import LoadedDefinition

# Subject ids no person has: they mark where the subject id sits in the probe states.
_PROBES = (-7_301_946_285_513, -4_418_092_637_229)
_ALLOWED_STATES = TaskState.COMPLETED | TaskState.READY | TaskState.FUTURE | TaskState.LIKELY | TaskState.MAYBE
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_STAMP = re.compile(r'"last_state_change":(-?[0-9.eE+-]+)')


_VARIANT = {c: "89ab"[int(c, 16) & 3] for c in "0123456789abcdef"}


def _uuid4s(n: int) -> list[str]:
    """``n`` random (version 4) UUIDs as strings; ``str(uuid.uuid4())`` costs five times as much."""
    hexes = os.urandom(16 * n).hex()
    out = []
    for i in range(0, 32 * n, 32):
        h = hexes[i : i + 32]
        out.append(f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{_VARIANT[h[16]]}{h[17:20]}-{h[20:]}")
    return out


@dataclass(frozen=True)
class Rendered:
    """One person's start: the serialized state and the user tasks now READY (engine task id, BPMN id)."""

    state: bytes
    ready: list[tuple[str, str]]


@dataclass(frozen=True)
class _Probe:
    text: str
    task_ids: list[str]  # in the order the state lists them
    stamps: list[str]
    ready: list[tuple[str, str]]


def _probe(loaded: LoadedDefinition, period: str, subject_id: int) -> _Probe | None:
    outbox = eng.Outbox()
    wf = eng.new_workflow(loaded, {"subject_id": subject_id, "period": period}, outbox)
    try:
        eng.advance(wf)
    except Exception:  # needs data a cycle does not give: the per-person start reports the error as usual
        return None
    if outbox.items or eng.next_timer_at(wf) is not None or eng.is_completed(wf):
        return None
    for task in wf.get_tasks():
        spec = task.task_spec
        if not task.state & _ALLOWED_STATES or getattr(spec, "prescript", None) or getattr(spec, "postscript", None):
            return None
        if task.state == TaskState.COMPLETED and not (
            isinstance(spec, BpmnStartTask)
            or (isinstance(spec, StartEvent) and isinstance(spec.event_definition, NoneEventDefinition))
        ):
            return None
        if task.state == TaskState.READY and not spec.manual:
            return None
    text = gzip.decompress(eng.dump(wf)).decode("utf-8")
    task_ids = [str(t.id) for t in wf.get_tasks()]
    ready = [(str(t.id), eng.task_spec_id(t)) for t in eng.ready_user_tasks(wf)]
    return _Probe(text, task_ids, _STAMP.findall(text), ready)


class StartTemplate:
    """A probe state cut into literal text and slots (task ids, subject id, state-change times)."""

    def __init__(self, probe: _Probe, subject_token: str, built_at: float) -> None:
        self._n = len(probe.task_ids)
        index = {tid: i for i, tid in enumerate(probe.task_ids)}
        token = re.compile(
            "|".join(
                [
                    r'"last_state_change":-?[0-9.eE+-]+',
                    r"(?<![\w.])" + re.escape(subject_token) + r"(?![\w.])",
                    *(re.escape(t) for t in probe.task_ids),
                ]
            )
        )
        self._literals: list[str] = []
        self._slots: list[tuple[str, Any]] = []
        pos = 0
        for m in token.finditer(probe.text):
            self._literals.append(probe.text[pos : m.start()])
            found = m.group(0)
            if found.startswith('"last_state_change"'):
                self._literals[-1] += '"last_state_change":'
                self._slots.append(("stamp", float(found.split(":", 1)[1])))
            elif found == subject_token:
                self._slots.append(("subject", None))
            else:
                self._slots.append(("task", index[found]))
            pos = m.end()
        self._tail = probe.text[pos:]
        self._built_at = built_at
        self._ready = [(index[tid], spec_id) for tid, spec_id in probe.ready]

    def render(self, subject_id: int) -> Rendered:
        """The state of a new instance for ``subject_id`` started now, with fresh task ids."""
        ids = _uuid4s(self._n)
        shift = time.time() - self._built_at
        subject = str(subject_id)
        parts: list[str] = []
        for literal, (kind, value) in zip(self._literals, self._slots, strict=True):
            parts.append(literal)
            if kind == "task":
                parts.append(ids[value])
            elif kind == "subject":
                parts.append(subject)
            else:
                parts.append(repr(value + shift))
        parts.append(self._tail)
        state = gzip.compress("".join(parts).encode("utf-8"), compresslevel=6)
        return Rendered(state, [(ids[i], spec_id) for i, spec_id in self._ready])


def _normalised(probe: _Probe, subject_token: str) -> str:
    """The probe's text with its own ids, subject id and times replaced by placeholders."""
    index = {tid: i for i, tid in enumerate(probe.task_ids)}
    text = _STAMP.sub('"last_state_change":0', probe.text)
    text = re.sub(r"(?<![\w.])" + re.escape(subject_token) + r"(?![\w.])", "«subject»", text)
    return _UUID.sub(lambda m: f"«task{index[m.group(0)]}»" if m.group(0) in index else m.group(0), text)


def build(loaded: LoadedDefinition, period: str) -> StartTemplate | None:
    """A template for starting ``loaded`` for ``period``, or ``None`` when the engine must run per person."""
    first, second = (_probe(loaded, period, s) for s in _PROBES)
    if first is None or second is None:
        return None
    built_at = time.time()
    tokens = [str(s) for s in _PROBES]
    shape = _normalised(first, tokens[0])
    same_shape = (
        len(first.task_ids) == len(second.task_ids)
        and shape == _normalised(second, tokens[1])
        and "«subject»" in shape
        and not _UUID.search(shape)  # no id outside the task tree that the template would copy unchanged
    )
    if not same_shape:
        return None
    template = StartTemplate(first, tokens[0], built_at)
    check = template.render(_PROBES[1])  # a rendered state must load back with the tasks it announces
    wf = eng.load(loaded, check.state, eng.Outbox())
    if sorted((str(t.id), eng.task_spec_id(t)) for t in eng.ready_user_tasks(wf)) != sorted(check.ready):
        return None
    if wf.data.get("subject_id") != _PROBES[1]:
        return None
    return template
