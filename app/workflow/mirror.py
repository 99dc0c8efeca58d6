"""Keeping ``human_task`` equal to what the engine says is READY, plus notifications and history."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import (
    HumanTask,
    InstanceEvent,
    OrgUnit,
    Person,
    ProcessInstance,
    TaskCandidate,
    TaskStatus,
)
from app.services import notifications
from app.workflow import assignment
from app.workflow import engine as eng
from app.workflow.definitions import LoadedDefinition, StepMeta


def due_at(duration: str | None, start: datetime) -> datetime | None:
    """``P5D``-style step durations from the BPMN ``due`` property; a bad value means no due date."""
    if not duration:
        return None
    try:
        delta: timedelta = eng.parse_duration(duration, start)
    except ValueError:
        return None
    return start + delta


def notify(
    session: Session,
    people: tuple[int, ...] | list[int],
    kind: str,
    instance: ProcessInstance,
    text: str,
    link: str | None = None,
) -> None:
    """Message the people by their preferences (``app.services.notifications``)."""
    notifications.notify(session, people, kind, text, link=link, instance_id=instance.id)


def sync_tasks(
    session: Session,
    instance: ProcessInstance,
    wf: Any,
    loaded: LoadedDefinition,
    subject: Person | OrgUnit,
    outbox: eng.Outbox,
    now: datetime,
    decision: str | None = None,
    *,
    fresh: bool = False,
) -> list[HumanTask]:
    """Mirror READY user tasks, cancel rows the engine no longer waits on, deliver notify requests.

    New tasks notify their candidates: ``returned`` after a return, ``appeal`` after an appeal,
    ``feedback`` when a result comes back to acknowledge, else ``assigned``. ``fresh``: the
    instance was inserted in this unit of work, so it has no task rows yet and none are read.
    """
    ready = {str(t.id): t for t in eng.ready_user_tasks(wf)}
    open_rows: list[HumanTask] = []
    if not fresh:
        open_rows = list(
            session.scalars(
                select(HumanTask).where(HumanTask.instance_id == instance.id, HumanTask.status == TaskStatus.ready)
            )
        )
    for row in open_rows:
        if row.engine_task_id not in ready:
            row.status = TaskStatus.cancelled
            row.completed_at = now
    known = {r.engine_task_id for r in open_rows}
    unit_id, section_id = assignment.subject_scope(subject)
    person_id = subject.id if isinstance(subject, Person) else None
    created: list[HumanTask] = []
    for engine_id, task in ready.items():
        if engine_id in known:
            continue
        step = loaded.steps[eng.task_spec_id(task)]
        who = assignment.resolve(session, step.lane, subject)
        row = HumanTask(
            **task_values(instance.id, instance.process_key, instance.period, engine_id, step, who, now),
            subject_id=person_id,
            unit_id=unit_id,
            section_id=section_id,
        )
        row.candidates = [TaskCandidate(person_id=p) for p in who.person_ids]
        session.add(row)
        created.append(row)
        kind = notification_kind(step, decision)
        notify(session, who.person_ids, kind, instance, task_text(step, subject, instance.period))
    for request in outbox.items:
        role = str(request.get("role", ""))
        kind = str(request.get("kind", "reminder"))
        found = assignment.resolve(session, role, subject) if role in assignment_roles() else None
        if found and found.person_ids:
            who = found
            waiting = ", ".join(
                r.step_name
                for r in session.scalars(
                    select(HumanTask).where(HumanTask.instance_id == instance.id, HumanTask.status == TaskStatus.ready)
                )
            )
            notify(
                session,
                who.person_ids,
                kind,
                instance,
                f"{waiting or loaded.name} · {subject.name} · {instance.period}",
            )
            session.add(
                InstanceEvent(
                    instance_id=instance.id,
                    step_id="notify",
                    step_name=kind,
                    kind="notified",
                    at=now,
                    details={"role": role, "kind": kind, "recipients": list(who.person_ids)},
                )
            )
    outbox.items.clear()
    session.flush()
    return created


def task_values(
    instance_id: int,
    process_key: str,
    period: str,
    engine_task_id: str,
    step: StepMeta,
    who: assignment.Assignment,
    now: datetime,
) -> dict[str, Any]:
    """The columns of a new READY ``human_task`` row but its subject's (``subject_id``, ``unit_id``,
    ``section_id``); the ORM path and the bulk start (``bulk_start``) share them."""
    return {
        "instance_id": instance_id,
        "engine_task_id": engine_task_id,
        "process_key": process_key,
        "step_id": step.id,
        "step_name": step.name,
        "period": period,
        "lane_role": step.lane,
        "assigned_role": who.role,
        "assigned_org_id": who.org_id,
        "assignment_warning": who.warning,
        "form_key": step.form,
        "status": TaskStatus.ready,
        "due_at": due_at(step.due, now),
        "created_at": now,
        "candidate_count": len(who.person_ids),
    }


def notification_kind(step: StepMeta, decision: str | None) -> str:
    """``returned`` after a return, ``appeal`` after an appeal, ``feedback`` for a result to acknowledge."""
    kind = {"return": "returned", "appeal": "appeal"}.get(decision or "", "assigned")
    if kind == "assigned" and step.form == "feedback_ack":
        kind = "feedback"  # the result is back: acknowledge or appeal
    return kind


def task_text(step: StepMeta, subject: Person | OrgUnit, period: str) -> str:
    return f"{step.name} · {subject.name} · {period}"


def assignment_roles() -> set[str]:
    from app.workflow.definitions import LANE_ROLES

    return set(LANE_ROLES)


def record(
    session: Session,
    instance: ProcessInstance,
    step_id: str,
    step_name: str,
    kind: str,
    *,
    actor_id: int | None = None,
    decision: str | None = None,
    comment: str | None = None,
    at: datetime | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    session.add(
        InstanceEvent(
            instance_id=instance.id,
            step_id=step_id,
            step_name=step_name,
            kind=kind,
            actor_id=actor_id,
            decision=decision,
            comment=comment,
            at=at,
            details=details,
        )
    )
