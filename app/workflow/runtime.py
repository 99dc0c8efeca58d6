"""Running processes: start, complete, claim and release tasks, fire due timers.

Each public function is one step of a unit of work: it flushes, the caller commits. The
instance row carries a version column, and a task is taken by a conditional UPDATE, so two
people completing the same task at once get exactly one success and one ``Conflict``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from app.models import (
    HumanTask,
    InstanceStatus,
    OrgKind,
    OrgUnit,
    Person,
    ProcessDefinition,
    ProcessInstance,
    Role,
    TaskCandidate,
    TaskStatus,
)
from app.models.base import utcnow
from app.services import audit
from app.services.actor import Actor
from app.services.errors import T_, Conflict, Forbidden, Invalid, NotFound
from app.services.periods import check_period, subject_kind
from app.workflow import assignment, hooks, mirror, repository
from app.workflow import engine as eng
from forms import FORMS
from forms.builder import validate_json


@dataclass
class StartResult:
    instance: ProcessInstance
    created: bool
    tasks: list[HumanTask] = field(default_factory=list)


@dataclass
class CompletionResult:
    instance: ProcessInstance
    task: HumanTask
    next_tasks: list[HumanTask]


def may_start_for(actor: Actor, subject: Person | OrgUnit) -> bool:
    """The generic start right: the system and the office for anyone, a person for themself, the unit's
    administrator or principal for the unit's people and the unit itself (cycle opening uses it too)."""
    if actor.is_system or actor.is_district_wide:
        return True
    if isinstance(subject, Person) and actor.person_id == subject.id:
        return True
    unit_id, _ = assignment.subject_scope(subject)
    return unit_id is not None and unit_id in actor.unit_ids_for(Role.unit_admin, Role.unit_principal)


def _subject(session: Session, actor: Actor, subject_id: int | None, subject_unit_id: int | None) -> Person | OrgUnit:
    if subject_unit_id is not None:
        unit = session.get(OrgUnit, subject_unit_id)
        if unit is None or unit.kind is not OrgKind.unit:
            raise Invalid(T_("Choose the unit the process is for."), {"subject_unit_id": T_("Unknown unit.")})
        return unit
    subject_id = subject_id if subject_id is not None else actor.person_id
    subject = session.get(Person, subject_id) if subject_id is not None else None
    if subject is None:
        raise Invalid(T_("Choose whom the process is for."), {"subject_id": T_("Unknown person.")})
    return subject


def start_process(
    session: Session,
    actor: Actor,
    process_key: str,
    period: str,
    subject_id: int | None = None,
    *,
    revision: int = 0,
    data: dict[str, Any] | None = None,
    definition: ProcessDefinition | None = None,
    known_absent: bool = False,
    subject_unit_id: int | None = None,
    authorised: bool = False,
) -> StartResult:
    """Start ``process_key`` for a subject and period, or return the instance that already exists.

    ``revision`` distinguishes further runs for the same period that the domain asks for (an
    indicator adjustment); ``data`` is put into the process data beside subject and period.
    Bulk callers (cycle opening) save per-person queries: ``definition`` is the active definition
    for the subject's unit they already resolved, and ``known_absent`` says they already found
    that no instance exists (a concurrent start is still caught by the unique key below).
    ``subject_unit_id`` starts a process whose subject is a unit (the monthly analysis report).
    ``authorised`` says the calling domain service has already checked a right of its own that the
    generic rule (yourself, or people of a unit you administer) does not know, e.g. a section head
    proposing a bonus for a member; the actor is still recorded as the starter.
    """
    period = check_period(process_key, period)
    subject = _subject(session, actor, subject_id, subject_unit_id)
    if not authorised and not may_start_for(actor, subject):
        raise Forbidden(T_("You may start a process only for yourself or for people of a unit you administer."))
    is_unit = isinstance(subject, OrgUnit)
    if is_unit != (subject_kind(process_key) == "unit"):
        raise Invalid(
            T_("This process is about a unit, not a person.")
            if not is_unit
            else T_("This process is about a person, not a unit."),
            {"subject_id" if not is_unit else "subject_unit_id": T_("Wrong kind of subject.")},
        )
    key_column = "subject_unit_id" if is_unit else "subject_id"
    if not known_absent:
        existing = _existing(session, process_key, subject.id, period, revision, key_column)
        if existing is not None:
            return StartResult(existing, False, _open_tasks(session, existing.id))
    if definition is None:
        definition = repository.active_definition(session, process_key, assignment.subject_scope(subject)[0])
    loaded = repository.loaded(definition)
    outbox = eng.Outbox()
    wf = eng.new_workflow(loaded, {**(data or {}), key_column: subject.id, "period": period}, outbox)
    eng.advance(wf)
    now = utcnow()
    instance = ProcessInstance(
        definition_id=definition.id,
        process_key=process_key,
        subject_id=None if is_unit else subject.id,
        subject_unit_id=subject.id if is_unit else None,
        period=period,
        revision=revision,
        status=InstanceStatus.running,
        state=eng.dump(wf),
        next_timer_at=eng.next_timer_at(wf),
        started_by_id=actor.person_id,
        created_at=now,
    )
    try:
        with session.begin_nested():  # a concurrent start of the same (process, subject, period) loses here
            session.add(instance)
            session.flush()
    except IntegrityError:
        existing = _existing(session, process_key, subject.id, period, revision, key_column)
        if existing is None:
            raise
        return StartResult(existing, False, _open_tasks(session, existing.id))
    mirror.record(session, instance, "start", loaded.name, "started", actor_id=actor.person_id, at=now)
    tasks = mirror.sync_tasks(session, instance, wf, loaded, subject, outbox, now, fresh=True)
    _finish_if_done(instance, wf, now)
    session.flush()
    started = hooks.Started(
        instance.id,
        process_key,
        instance.subject_id,
        period,
        now,
        instance.status is InstanceStatus.completed,
        tuple(t.form_key for t in tasks),
    )
    hooks.notify_started(session, process_key, [started], {instance.id: instance})
    return StartResult(instance, True, tasks)


def _existing(
    session: Session, key: str, subject_id: int, period: str, revision: int = 0, column: str = "subject_id"
) -> ProcessInstance | None:
    return session.scalar(
        select(ProcessInstance).where(
            ProcessInstance.process_key == key,
            getattr(ProcessInstance, column) == subject_id,
            ProcessInstance.period == period,
            ProcessInstance.revision == revision,
        )
    )


def _open_tasks(session: Session, instance_id: int) -> list[HumanTask]:
    return list(
        session.scalars(
            select(HumanTask)
            .where(HumanTask.instance_id == instance_id, HumanTask.status == TaskStatus.ready)
            .order_by(HumanTask.id)
        )
    )


def is_candidate(session: Session, task: HumanTask, person_id: int | None) -> bool:
    if person_id is None:
        return False
    return (
        session.scalar(
            select(TaskCandidate.person_id).where(
                TaskCandidate.task_id == task.id, TaskCandidate.person_id == person_id
            )
        )
        is not None
    )


def get_task_for(session: Session, actor: Actor, task_id: int) -> HumanTask:
    """A task the actor may see: a candidate, the one who did it, its subject, or an office/unit overseer."""
    task = session.get(HumanTask, task_id)
    if task is None:
        raise NotFound(T_("Task %(id)s does not exist.", id=task_id))
    if (
        actor.is_district_wide
        or task.completed_by_id == actor.person_id
        or task.subject_id == actor.person_id
        or is_candidate(session, task, actor.person_id)
        or (task.unit_id is not None and task.unit_id in actor.unit_ids_for(Role.unit_admin))
    ):
        return task
    raise Forbidden(T_("This task is not yours."))


def _taken_message(session: Session, task: HumanTask) -> Conflict:
    if task.status is TaskStatus.completed:
        who = session.get(Person, task.completed_by_id) if task.completed_by_id else None
        when = task.completed_at.isoformat(timespec="minutes") if task.completed_at else ""
        return Conflict(
            T_("This task was already completed by %(name)s at %(when)s.", name=who.name if who else "?", when=when),
            task_status="completed",
        )
    if task.status is TaskStatus.cancelled:
        return Conflict(T_("This task is no longer waiting: the process moved on."), task_status="cancelled")
    who = session.get(Person, task.claimed_by_id) if task.claimed_by_id else None
    return Conflict(T_("%(name)s has claimed this task.", name=who.name if who else "?"), task_status="claimed")


def claim(session: Session, actor: Actor, task_id: int) -> HumanTask:
    task = session.get(HumanTask, task_id)
    if task is None:
        raise NotFound(T_("Task %(id)s does not exist.", id=task_id))
    if not is_candidate(session, task, actor.person_id):
        raise Forbidden(T_("Only a candidate for this task can claim it."))
    result = session.execute(
        update(HumanTask)
        .where(
            HumanTask.id == task_id,
            HumanTask.status == TaskStatus.ready,
            (HumanTask.claimed_by_id.is_(None)) | (HumanTask.claimed_by_id == actor.person_id),
        )
        .values(claimed_by_id=actor.person_id)
        .execution_options(synchronize_session=False)
    )
    session.refresh(task)
    if result.rowcount == 0:  # type: ignore[attr-defined]
        raise _taken_message(session, task)
    return task


def release(session: Session, actor: Actor, task_id: int) -> HumanTask:
    task = session.get(HumanTask, task_id)
    if task is None:
        raise NotFound(T_("Task %(id)s does not exist.", id=task_id))
    if task.claimed_by_id != actor.person_id:
        raise Conflict(T_("You have not claimed this task."), task_status=task.status.value)
    task.claimed_by_id = None
    session.flush()
    return task


def complete_task(session: Session, actor: Actor, task_id: int, payload: dict[str, Any]) -> CompletionResult:
    """Validate the form, hand the data to the engine, run it on, mirror the new tasks, record history."""
    task = session.get(HumanTask, task_id)
    if task is None:
        raise NotFound(T_("Task %(id)s does not exist.", id=task_id))
    if not is_candidate(session, task, actor.person_id):
        raise Forbidden(T_("You are not among the people this task is assigned to."))
    if task.status is not TaskStatus.ready or task.claimed_by_id not in (None, actor.person_id):
        raise _taken_message(session, task)
    handler = hooks.handler_for(task.form_key)
    if handler is None:
        data, errors = validate_json(task.form_key, payload)
        if errors:
            raise Invalid(T_("Some fields need attention."), errors)
    now = utcnow()
    # The gate: whoever flips ready→completed first owns the completion; the other sees rowcount 0.
    taken = session.execute(
        update(HumanTask)
        .where(
            HumanTask.id == task.id,
            HumanTask.status == TaskStatus.ready,
            (HumanTask.claimed_by_id.is_(None)) | (HumanTask.claimed_by_id == actor.person_id),
        )
        .values(
            status=TaskStatus.completed,
            completed_by_id=actor.person_id,
            completed_at=now,
            claimed_by_id=actor.person_id,
        )
        .execution_options(synchronize_session=False)
    )
    session.refresh(task)
    if taken.rowcount == 0:  # type: ignore[attr-defined]
        raise _taken_message(session, task)
    instance = session.get(ProcessInstance, task.instance_id, with_for_update=True)
    assert instance is not None
    if handler is not None:  # after the gate, so a losing concurrent attempt writes no domain data
        data = handler(session, actor, task, payload)
    loaded = repository.loaded(instance.definition)
    outbox = eng.Outbox()
    wf = eng.load(loaded, instance.state, outbox)
    engine_task = eng.find_task(wf, task.engine_task_id)
    if engine_task is None or engine_task.state != eng.READY:
        raise Conflict(T_("This task is no longer waiting: the process moved on."), task_status="cancelled")
    eng.run_task(wf, engine_task, data)
    spec = FORMS[task.form_key]
    decision = data.get(spec.decision_field) if spec.decision_field else None
    mirror.record(
        session,
        instance,
        task.step_id,
        task.step_name,
        "completed",
        actor_id=actor.person_id,
        decision=decision,
        comment=data.get(spec.comment_field) if spec.comment_field else None,
        at=now,
        details={"task_id": task.id},
    )
    next_tasks = mirror.sync_tasks(
        session, instance, wf, loaded, assignment.subject_of(instance), outbox, now, decision
    )
    _save(session, instance, wf, now)
    audit.record(
        session,
        actor,
        "task.complete",
        "human_task",
        task.id,
        "success",
        {"instance_id": instance.id, "step": task.step_id, "decision": decision},
    )
    hooks.notify_listeners(session, instance, task, decision)
    return CompletionResult(instance, task, next_tasks)


def _finish_if_done(instance: ProcessInstance, wf: Any, now: datetime) -> None:
    if eng.is_completed(wf) and instance.status is InstanceStatus.running:
        instance.status = InstanceStatus.completed
        instance.completed_at = now
        instance.next_timer_at = None


def _save(session: Session, instance: ProcessInstance, wf: Any, now: datetime) -> None:
    instance.state = eng.dump(wf)
    instance.next_timer_at = eng.next_timer_at(wf)
    _finish_if_done(instance, wf, now)
    try:
        session.flush()
    except StaleDataError as exc:
        raise Conflict(T_("Someone else changed this process at the same moment; reload and try again.")) from exc


def fire_due_timers(session: Session, now: datetime | None = None, limit: int = 500) -> int:
    """Fire timers of instances whose stored next-timer time has passed; returns how many ran.

    Only due instances are loaded (indexed ``next_timer_at``); each runs in a savepoint so one
    conflicting instance does not undo the others.
    """
    now = now or utcnow()
    due = session.scalars(
        select(ProcessInstance)
        .where(
            ProcessInstance.status == InstanceStatus.running,
            ProcessInstance.next_timer_at.is_not(None),
            ProcessInstance.next_timer_at <= now,
        )
        .order_by(ProcessInstance.next_timer_at)
        .limit(limit)
    ).all()
    fired = 0
    for instance in due:
        try:
            with session.begin_nested():
                loaded = repository.loaded(instance.definition)
                outbox = eng.Outbox()
                wf = eng.load(loaded, instance.state, outbox)
                eng.fire_timers(wf)
                mirror.sync_tasks(session, instance, wf, loaded, assignment.subject_of(instance), outbox, now)
                _save(session, instance, wf, now)
                fired += 1
        except Conflict:
            continue
    return fired
