"""Dry run of a definition: which tasks it would create, for whom, in what order — writing nothing.

The workflow is built in memory from the version's spec with the restricted engine. Each ready
user task is resolved to people exactly as a real one would be (``assignment.resolve``, read-only
queries), then completed with a sample decision and placeholder values for the form's required
fields. A bounded number of steps stops a loop (a return path chosen every time).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import Person
from app.workflow import assignment
from app.workflow import engine as eng
from app.workflow.definitions import LoadedDefinition
from app.workflow.diffing import outline
from forms import FORMS

MAX_STEPS = 50
PLACEHOLDER = "(simulated)"


@dataclass(frozen=True)
class Timer:
    """A reminder or escalation hanging on a step: after ``after``, notify ``role`` (``kind``)."""

    after: str
    role: str
    kind: str


@dataclass
class SimStep:
    index: int
    step_id: str
    step_name: str
    lane: str
    form: str
    assigned_role: str
    people: list[str]
    warning: str | None
    decision: str | None
    due: str | None
    timers: list[Timer] = field(default_factory=list)


@dataclass
class SimResult:
    steps: list[SimStep]
    outcome: str  # completed, limit, waiting, error
    message: str | None = None
    element_id: str | None = None


def decision_choices(loaded: LoadedDefinition) -> dict[str, tuple[tuple[str, str], ...]]:
    """Step id → the decision choices of its form (only steps whose form records a decision)."""
    out: dict[str, tuple[tuple[str, str], ...]] = {}
    for step in loaded.steps.values():
        spec = FORMS.get(step.form)
        if spec is None or not spec.decision_field:
            continue
        field_spec = next((f for f in spec.fields if f.name == spec.decision_field), None)
        if field_spec is not None and field_spec.choices:
            out[step.id] = field_spec.choices
    return out


def sample_data(form_key: str, decision: str | None) -> dict[str, Any]:
    """Placeholder values for what the form requires, with ``decision`` in the decision field."""
    spec = FORMS[form_key]
    data: dict[str, Any] = {}
    if spec.decision_field and decision is not None:
        data[spec.decision_field] = decision
    for f in spec.fields:
        if f.name in data:
            continue
        needed = f.required or (f.required_if is not None and data.get(f.required_if[0]) in f.required_if[1])
        if not needed:
            continue
        if f.type == "number":
            top = f.max if f.max is not None else 100
            data[f.name] = float(max(f.min or 0, min(top, 85)))
        elif f.type == "choice":
            data[f.name] = f.choices[0][0] if f.choices else PLACEHOLDER
        else:
            data[f.name] = PLACEHOLDER
    return data


def timers_by_step(xml: str) -> dict[str, list[Timer]]:
    """Boundary timers of each step and whom the notification after each one goes to."""
    shape = outline(xml)
    out: dict[str, list[Timer]] = {}
    for node_id, node in shape.nodes.items():
        if node.type != "boundaryEvent" or not node.timer:
            continue
        notify = ""
        for flow in shape.flows.values():
            if flow.source == node_id and flow.target in shape.nodes:
                notify = notify or shape.nodes[flow.target].notify
        role, _, kind = notify.partition("/")
        out.setdefault(node.attached_to, []).append(Timer(node.timer.strip("'\""), role, kind))
    return out


def simulate(
    session: Session,
    loaded: LoadedDefinition,
    xml: str,
    subject: Person,
    period: str,
    decisions: dict[str, list[str]] | None = None,
    max_steps: int = MAX_STEPS,
) -> SimResult:
    """Walk ``loaded`` for ``subject``; ``decisions[step_id]`` is used in turn, the last one repeating."""
    decisions = decisions or {}
    choices = decision_choices(loaded)
    timers = timers_by_step(xml)
    visits: dict[str, int] = {}
    steps: list[SimStep] = []
    names: dict[int, str] = {}
    outbox = eng.Outbox()
    try:
        wf = eng.new_workflow(loaded, {"subject_id": subject.id, "period": period}, outbox)
        eng.advance(wf)
        while not eng.is_completed(wf):
            ready = eng.ready_user_tasks(wf)
            if not ready:
                return SimResult(steps, "waiting", "The process waits for an event or timer with no task open.")
            for task in ready:
                if len(steps) >= max_steps:
                    return SimResult(
                        steps, "limit", f"Stopped after {max_steps} steps: the chosen decisions make it loop."
                    )
                step = loaded.steps[eng.task_spec_id(task)]
                who = assignment.resolve(session, step.lane, subject)
                _names(session, who.person_ids, names)
                decision = _decision(step.id, decisions, choices, visits)
                steps.append(
                    SimStep(
                        index=len(steps) + 1,
                        step_id=step.id,
                        step_name=step.name,
                        lane=step.lane,
                        form=step.form,
                        assigned_role=who.role,
                        people=[names.get(p, str(p)) for p in who.person_ids],
                        warning=who.warning,
                        decision=decision,
                        due=step.due,
                        timers=timers.get(step.id, []),
                    )
                )
                eng.run_task(wf, task, sample_data(step.form, decision))
    except Exception as exc:  # a condition that fails at run time, a gateway with no way out
        spec = getattr(exc, "task_spec", None)
        element = getattr(spec, "bpmn_id", None)
        return SimResult(steps, "error", f"The engine stopped: {exc}", element)
    return SimResult(steps, "completed")


def _decision(
    step_id: str,
    decisions: dict[str, list[str]],
    choices: dict[str, tuple[tuple[str, str], ...]],
    visits: dict[str, int],
) -> str | None:
    options = choices.get(step_id)
    if not options:
        return None
    allowed = {v for v, _ in options}
    wanted = [d for d in decisions.get(step_id, []) if d in allowed] or [options[0][0]]
    n = visits.get(step_id, 0)
    visits[step_id] = n + 1
    return wanted[min(n, len(wanted) - 1)]


def _names(session: Session, ids: tuple[int, ...], cache: dict[int, str]) -> None:
    missing = [i for i in ids if i not in cache]
    if missing:
        cache.update(session.execute(select(Person.id, Person.name).where(Person.id.in_(missing))).all())
