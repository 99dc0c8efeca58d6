"""Moving running instances onto another version of their process — explicitly, with a preview.

An instance can move when every step it waits at exists in the target version and every step it
already finished still exists there (its history must stay readable). SpiffWorkflow's diff
utilities align the old spec with the new; ``migrate_workflow`` re-points the tasks and resets the
waiting ones (their timers restart from the migration). Per instance, in the caller's transaction:
load with the old spec, migrate, dump, point the row at the target version, re-mirror the human
tasks, and record a ``migrated`` event.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from SpiffWorkflow.bpmn.serializer.workflow import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.util.diff import diff_workflow, migrate_workflow
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, aliased
from sqlalchemy.orm.exc import StaleDataError

from app.models import (
    DefinitionStatus,
    HumanTask,
    InstanceStatus,
    OrgUnit,
    Person,
    ProcessDefinition,
    ProcessInstance,
    TaskCandidate,
    TaskStatus,
)
from app.models.base import utcnow
from app.services.actor import Actor
from app.services.errors import Conflict, Invalid
from app.workflow import assignment, designer, mirror, repository
from app.workflow import engine as eng
from app.workflow.definitions import LoadedDefinition

# Converts task specs to dicts so the diff can compare them attribute by attribute.
_REGISTRY = BpmnWorkflowSerializer.configure(SPIFF_CONFIG)


@dataclass
class Candidate:
    instance: ProcessInstance
    from_version: int
    waiting: list[str]
    can_move: bool
    reason: str | None = None


@dataclass
class Report:
    moved: list[int] = field(default_factory=list)
    refused: dict[int, str] = field(default_factory=dict)


def _in_scope(session: Session, target: ProcessDefinition) -> list[ProcessInstance]:
    """Running instances of the key that new instances of their subject would start on ``target``.

    The subject's unit decides which version applies: the unit itself for a process about a unit
    (the monthly analysis report), the unit of the person's section for a process about a person.
    A person without a section starts on the district-wide version, so only that one takes them.
    """
    section = aliased(OrgUnit)
    unit_of = func.coalesce(ProcessInstance.subject_unit_id, section.parent_id)
    stmt = (
        select(ProcessInstance)
        .outerjoin(Person, Person.id == ProcessInstance.subject_id)
        .outerjoin(section, section.id == Person.section_id)
        .where(
            ProcessInstance.process_key == target.key,
            ProcessInstance.status == InstanceStatus.running,
            ProcessInstance.definition_id != target.id,
        )
        .order_by(ProcessInstance.id)
    )
    if target.unit_id is not None:
        return list(session.scalars(stmt.where(unit_of == target.unit_id)))
    variants = [u for u in designer.active_by_scope(session, target.key) if u is not None]
    if variants:
        stmt = stmt.where(or_(unit_of.is_(None), unit_of.not_in(variants)))
    return list(session.scalars(stmt))


def _trial(
    instance: ProcessInstance, target: ProcessDefinition, new: LoadedDefinition, outbox: eng.Outbox
) -> tuple[Any, list[str], str | None]:
    """Migrate a freshly loaded copy: (workflow or None, names of the steps it waits at, why it cannot move)."""
    old = repository.loaded(instance.definition)
    wf = eng.load(old, instance.state, outbox)
    waiting = [eng.task_spec_id(t) for t in eng.ready_user_tasks(wf)]
    names = [old.steps[s].name if s in old.steps else s for s in waiting]
    for step_id, name in zip(waiting, names, strict=True):
        if step_id not in new.steps:
            return None, names, f"It waits at '{name}' ({step_id}), which does not exist in version {target.version}."
    top, subprocesses = diff_workflow(_REGISTRY, wf, new.spec, new.subprocess_specs)
    if any(d is None for d in subprocesses.values()):
        return None, names, f"A subprocess it runs does not exist in version {target.version}."
    migrate_workflow(top, wf, new.spec)
    wf.subprocess_specs = new.subprocess_specs
    for task in wf.get_tasks():
        spec = task.task_spec
        if new.spec.task_specs.get(spec.name) is not spec:
            step_id = getattr(spec, "bpmn_id", None) or spec.name.split(".")[0]
            label = f"{old.steps[step_id].name} ({step_id})" if step_id in old.steps else step_id
            reason = f"Its finished step '{label}' is not in version {target.version}; its history would be lost."
            return None, names, reason
    try:
        eng.advance(wf)
        eng.dump(wf)
    except Exception as exc:  # the engine could not continue on the new version
        return None, names, f"The engine cannot continue it on version {target.version}: {exc}"
    return wf, names, None


def _target(session: Session, key: str, target_id: int) -> ProcessDefinition:
    target = designer.get_version(session, key, target_id)
    if target.status is not DefinitionStatus.active:
        raise Invalid(f"Version {target.version} is not active; deploy it before moving instances onto it.")
    return target


def preview(session: Session, key: str, target_id: int) -> tuple[ProcessDefinition, list[Candidate]]:
    target = _target(session, key, target_id)
    new = repository.loaded(target)
    out: list[Candidate] = []
    for instance in _in_scope(session, target):
        _, waiting, reason = _trial(instance, target, new, eng.Outbox())
        out.append(Candidate(instance, instance.definition.version, waiting, reason is None, reason))
    return target, out


def migrate(session: Session, actor: Actor, key: str, target_id: int, instance_ids: list[int]) -> Report:
    """Move the chosen instances onto the active version ``target_id``; the others are reported, untouched."""
    designer.require_office(actor)
    target = _target(session, key, target_id)
    new = repository.loaded(target)
    allowed = {i.id: i for i in _in_scope(session, target)}
    report = Report()
    now = utcnow()
    for instance_id in instance_ids:
        instance = allowed.get(instance_id)
        if instance is None:
            report.refused[instance_id] = "It is not a running instance that this version applies to."
            continue
        session.refresh(instance, with_for_update=True)
        outbox = eng.Outbox()
        wf, _, reason = _trial(instance, target, new, outbox)
        if wf is None:
            report.refused[instance_id] = reason or ""
            continue
        before = instance.definition
        instance.state = eng.dump(wf)
        instance.definition_id = target.id
        instance.definition = target
        instance.next_timer_at = eng.next_timer_at(wf)
        mirror.record(
            session,
            instance,
            "migrate",
            new.name,
            "migrated",
            actor_id=actor.person_id,
            comment=f"v{before.version} → v{target.version}",
            at=now,
            details={
                "from_definition_id": before.id,
                "from_version": before.version,
                "to_definition_id": target.id,
                "to_version": target.version,
            },
        )
        mirror.sync_tasks(session, instance, wf, new, assignment.subject_of(instance), outbox, now)
        _refresh_open_tasks(session, instance, new)
        try:
            session.flush()
        except StaleDataError as exc:
            raise Conflict("A process changed while it was being moved; preview again and retry.") from exc
        report.moved.append(instance_id)
    designer.record(session, actor, "migrate", key, target, target.unit_id, moved=report.moved, refused=report.refused)
    return report


def _refresh_open_tasks(session: Session, instance: ProcessInstance, new: LoadedDefinition) -> None:
    """Open tasks keep their rows; take the new version's name, form, due and lane (re-resolving people)."""
    rows = session.scalars(
        select(HumanTask).where(HumanTask.instance_id == instance.id, HumanTask.status == TaskStatus.ready)
    ).all()
    for row in rows:
        step = new.steps.get(row.step_id)
        if step is None:
            continue
        row.step_name, row.form_key = step.name, step.form
        if row.lane_role != step.lane:
            who = assignment.resolve(session, step.lane, assignment.subject_of(instance))
            row.lane_role, row.assigned_role = step.lane, who.role
            row.assigned_org_id, row.assignment_warning = who.org_id, who.warning
            row.candidates = [TaskCandidate(person_id=p) for p in who.person_ids]
            row.candidate_count = len(who.person_ids)
            row.claimed_by_id = None
    session.flush()
