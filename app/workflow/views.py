"""Read models for pages and the API: a task's context, an instance with its history."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import exists, select
from sqlalchemy.orm import Session, joinedload

from app.models import HumanTask, InstanceEvent, ProcessInstance, Role, TaskCandidate, TaskStatus
from app.services.actor import Actor
from app.services.errors import T_, Forbidden, NotFound
from app.workflow import assignment, repository
from app.workflow import engine as eng
from forms import FORMS


@dataclass
class InstanceDetail:
    instance: ProcessInstance
    history: list[InstanceEvent]
    open_tasks: list[HumanTask]
    done_steps: list[str]
    current_steps: list[str]
    data: dict[str, Any]


def can_view_instance(session: Session, actor: Actor, instance: ProcessInstance) -> bool:
    """The subject, anyone who had a task in it, the subject's leaders and administrators, the office."""
    if actor.is_district_wide or instance.subject_id == actor.person_id:
        return True
    unit_id, section_id = assignment.subject_scope(assignment.subject_of(instance))
    if section_id in actor.scopes.get(Role.section_head, ()) or section_id in actor.scopes.get(Role.unit_leader, ()):
        return True
    if unit_id is not None and unit_id in actor.unit_ids_for(Role.unit_admin, Role.unit_principal):
        return True
    involved = exists().where(
        TaskCandidate.task_id == HumanTask.id,
        HumanTask.instance_id == instance.id,
        TaskCandidate.person_id == (actor.person_id or -1),
    )
    return bool(session.scalar(select(involved)))


def instance_for(session: Session, actor: Actor, instance_id: int) -> ProcessInstance:
    instance = session.get(ProcessInstance, instance_id)
    if instance is None:
        raise NotFound(T_("Process instance %(id)s does not exist.", id=instance_id))
    if not can_view_instance(session, actor, instance):
        raise Forbidden(T_("You may not see this process."))
    return instance


def instance_detail(session: Session, actor: Actor, instance_id: int) -> InstanceDetail:
    instance = instance_for(session, actor, instance_id)
    history = list(
        session.scalars(
            select(InstanceEvent)
            .options(joinedload(InstanceEvent.actor))
            .where(InstanceEvent.instance_id == instance.id)
            .order_by(InstanceEvent.at, InstanceEvent.id)
        )
    )
    tasks = list(session.scalars(select(HumanTask).where(HumanTask.instance_id == instance.id).order_by(HumanTask.id)))
    open_tasks = [t for t in tasks if t.status is TaskStatus.ready]
    done = list(dict.fromkeys(e.step_id for e in history if e.kind == "completed"))
    return InstanceDetail(instance, history, open_tasks, done, [t.step_id for t in open_tasks], instance_data(instance))


def instance_data(instance: ProcessInstance) -> dict[str, Any]:
    loaded = repository.loaded(instance.definition)
    wf = eng.load(loaded, instance.state, eng.Outbox())
    return eng.engine_data(wf)


def task_data(instance: ProcessInstance, task: HumanTask) -> dict[str, Any]:
    """What the task's form shows read-only (the spec's ``shows`` keys present in the data)."""
    data = instance_data(instance)
    spec = FORMS[task.form_key]
    return {k: data[k] for k in spec.shows if data.get(k) not in (None, "")}


def step_documentation(instance: ProcessInstance, step_id: str) -> str | None:
    step = repository.loaded(instance.definition).steps.get(step_id)
    return step.documentation if step else None
