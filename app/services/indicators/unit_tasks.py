"""Unit tasks and the responsibility matrix (责任矩阵表): 因事定岗、以岗定责、以责定标.

A unit's major tasks of a year are recorded by its performance administrator or principal
(or the performance office), then decomposed to people as lead (牵头) or assisting (配合).
Assignees report progress with a note and evidence; leaders leave guidance. Everyone of the
unit can read the matrix (transparency), the office reads every unit's.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import cast
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from app.models import (
    IndicatorItem,
    OrgKind,
    OrgUnit,
    Person,
    PersonStatus,
    Role,
    UnitTask,
    UnitTaskAssignment,
    UnitTaskComment,
    UnitTaskProgress,
)
from app.services import evidence
from app.services.actor import Actor
from app.services.errors import T_, Conflict, Forbidden, Invalid, NotFound

ROLES = ("lead", "assist")
STATUSES = ("not_started", "in_progress", "done", "overdue")
TITLE_MAX, INDICATOR_MAX, DESCRIPTION_MAX, NOTE_MAX, COMMENT_MAX = 200, 300, 4000, 2000, 2000
DISTRICT_TZ = ZoneInfo("Asia/Shanghai")


def today() -> date:
    """Today in the district's time zone (deadlines are district dates)."""
    return datetime.now(DISTRICT_TZ).date()


def status_of(progress: int, deadline: date | None, on: date | None = None) -> str:
    """'done' at 100, 'overdue' past the deadline below 100, else 'not_started' at 0 or 'in_progress'."""
    if progress >= 100:
        return "done"
    if deadline is not None and deadline < (on or today()):
        return "overdue"
    return "not_started" if progress <= 0 else "in_progress"


def overall_progress(task: UnitTask) -> int:
    """A task's progress: the mean of its assignees' (0 while nobody is assigned)."""
    if not task.assignments:
        return 0
    return round(sum(a.progress for a in task.assignments) / len(task.assignments))


# --- who may do what -------------------------------------------------------------------------


def _unit_of_nodes(session: Session, node_ids: set[int]) -> set[int]:
    """The units the given organisation nodes (units or sections) belong to."""
    if not node_ids:
        return set()
    rows = session.execute(select(OrgUnit.id, OrgUnit.kind, OrgUnit.parent_id).where(OrgUnit.id.in_(node_ids)))
    units = {oid if kind is OrgKind.unit else parent for oid, kind, parent in rows}
    return {u for u in units if u is not None}


def viewable_unit_ids(session: Session, actor: Actor) -> set[int] | None:
    """Units whose tasks the actor may read (their own, those they lead or administer); ``None``: all."""
    if actor.is_district_wide:
        return None
    nodes = actor.unit_ids_for(Role.unit_admin, Role.unit_principal, Role.section_head, Role.unit_leader)
    return _unit_of_nodes(session, nodes) | ({actor.unit_id} if actor.unit_id else set())


def can_view_unit(session: Session, actor: Actor, unit_id: int) -> bool:
    """Anyone of the unit (staff included), its leaders and admins, and the performance office."""
    allowed = viewable_unit_ids(session, actor)
    return allowed is None or unit_id in allowed


def can_manage(actor: Actor, unit_id: int) -> bool:
    """Record and decompose tasks: the unit's administrator or principal, or the office."""
    return actor.is_district_wide or unit_id in actor.unit_ids_for(Role.unit_admin, Role.unit_principal)


def can_report(actor: Actor, assignment: UnitTaskAssignment) -> bool:
    """Progress is reported by the assignee, or by the unit administrator on their behalf."""
    return assignment.person_id == actor.person_id or assignment.task.unit_id in actor.unit_ids_for(Role.unit_admin)


def can_comment(actor: Actor, task: UnitTask, assignment: UnitTaskAssignment | None = None) -> bool:
    """Guidance: the principal, administrator, office; section heads and leaders in charge of the section."""
    if assignment is not None and assignment.person_id == actor.person_id:
        return False  # nobody guides their own part
    if actor.is_district_wide or task.unit_id in actor.unit_ids_for(Role.unit_admin, Role.unit_principal):
        return True
    sections = actor.unit_ids_for(Role.section_head, Role.unit_leader)
    if assignment is not None:
        return assignment.section_id in sections
    if any(a.section_id in sections for a in task.assignments):
        return True
    leads = actor.unit_ids_for(Role.unit_leader)
    return any(s.id in leads for s in task.unit.children)  # leaders of the unit guide its tasks as a whole


def can_see_evidence(actor: Actor, assignment: UnitTaskAssignment) -> bool:
    """Evidence is the basis of appraisal: the assignee, co-assignees, those who guide or manage."""
    task = assignment.task
    return (
        can_manage(actor, task.unit_id)
        or any(a.person_id == actor.person_id for a in task.assignments)
        or can_comment(actor, task, assignment)
    )


def _unit(session: Session, unit_id: int) -> OrgUnit:
    unit = session.get(OrgUnit, unit_id)
    if unit is None or unit.kind is not OrgKind.unit:
        raise NotFound(T_("Unit %(id)s does not exist.", id=unit_id))
    return unit


def require_manage(actor: Actor, unit_id: int) -> None:
    """``Forbidden`` unless the actor may record and decompose the unit's tasks."""
    if not can_manage(actor, unit_id):
        raise Forbidden(
            T_("Only the unit's performance administrator or principal, or the performance office, can do this.")
        )


def check_view(session: Session, actor: Actor, unit_id: int) -> OrgUnit:
    """The unit, if the actor may read its tasks and matrix; else ``Forbidden``/``NotFound``."""
    unit = _unit(session, unit_id)
    if not can_view_unit(session, actor, unit_id):
        raise Forbidden(T_("You can only see the tasks of your own unit."))
    return unit


# --- tasks ----------------------------------------------------------------------------------


@dataclass
class TaskInput:
    title: str = ""
    description: str = ""
    unit_indicator: str = ""
    deadline: date | None = None
    year: int | None = None


def _validated(data: TaskInput) -> TaskInput:
    fields: dict[str, str] = {}
    title, description = (data.title or "").strip(), (data.description or "").strip()
    indicator = (data.unit_indicator or "").strip()
    if not title:
        fields["title"] = T_("Give the task a title.")
    elif len(title) > TITLE_MAX:
        fields["title"] = T_("At most %(n)d characters.", n=TITLE_MAX)
    if len(indicator) > INDICATOR_MAX:
        fields["unit_indicator"] = T_("At most %(n)d characters.", n=INDICATOR_MAX)
    if len(description) > DESCRIPTION_MAX:
        fields["description"] = T_("At most %(n)d characters.", n=DESCRIPTION_MAX)
    if not isinstance(data.year, int) or not 2000 <= data.year <= 2100:
        fields["year"] = T_("Give a year between 2000 and 2100.")
    if data.deadline is None:
        fields["deadline"] = T_("Give the deadline.")
    elif isinstance(data.year, int) and data.deadline.year != data.year:
        fields["deadline"] = T_("The deadline must fall within %(year)s.", year=data.year)
    if fields:
        raise Invalid(T_("Check the highlighted fields."), fields)
    return TaskInput(title, description, indicator, data.deadline, data.year)


def create_task(session: Session, actor: Actor, unit_id: int, data: TaskInput) -> UnitTask:
    """Record a major task of the unit for a year."""
    _unit(session, unit_id)
    require_manage(actor, unit_id)
    clean = _validated(data)
    task = UnitTask(
        unit_id=unit_id,
        year=clean.year,
        title=clean.title,
        description=clean.description,
        unit_indicator=clean.unit_indicator,
        deadline=clean.deadline,
        created_by_id=actor.person_id,
    )
    session.add(task)
    session.flush()
    return task


def get_task(session: Session, actor: Actor, task_id: int) -> UnitTask:
    """One task, if the actor may see its unit."""
    task = session.get(UnitTask, task_id)
    if task is None:
        raise NotFound(T_("Task %(id)s does not exist.", id=task_id))
    check_view(session, actor, task.unit_id)
    return task


def update_task(session: Session, actor: Actor, task_id: int, data: TaskInput) -> UnitTask:
    task = get_task(session, actor, task_id)
    require_manage(actor, task.unit_id)
    clean = _validated(data)
    task.title, task.description, task.unit_indicator = clean.title, clean.description, clean.unit_indicator
    task.deadline, task.year = clean.deadline, clean.year  # type: ignore[assignment]
    session.flush()
    return task


def delete_task(session: Session, actor: Actor, task_id: int) -> None:
    """Delete a task nobody has reported on and no indicator refers to (history is never lost)."""
    task = get_task(session, actor, task_id)
    require_manage(actor, task.unit_id)
    linked = session.scalar(select(func.count()).where(IndicatorItem.unit_task_id == task.id))
    if linked:
        raise Conflict(T_("Indicators of people's sets refer to this task; it cannot be deleted."))
    if any(a.updates for a in task.assignments):
        raise Conflict(T_("Progress has been reported on this task; it cannot be deleted."))
    session.delete(task)
    session.flush()


def list_tasks(session: Session, actor: Actor, unit_id: int, year: int) -> list[UnitTask]:
    """The unit's tasks of a year with their assignments, by deadline."""
    check_view(session, actor, unit_id)
    stmt = (
        select(UnitTask)
        .where(UnitTask.unit_id == unit_id, UnitTask.year == year)
        .options(selectinload(UnitTask.assignments).selectinload(UnitTaskAssignment.person))
        .order_by(UnitTask.deadline, UnitTask.id)
    )
    return list(session.scalars(stmt))


def my_unit_tasks(session: Session, actor: Actor, year: int) -> list[UnitTask]:
    """Tasks of ``year`` assigned to the actor (an indicator item may link to one of them)."""
    if actor.person_id is None:
        return []
    stmt = (
        select(UnitTask)
        .join(UnitTaskAssignment, UnitTaskAssignment.task_id == UnitTask.id)
        .where(UnitTaskAssignment.person_id == actor.person_id, UnitTask.year == year)
        .order_by(UnitTask.deadline, UnitTask.id)
    )
    return list(session.scalars(stmt).unique())


# --- decomposition --------------------------------------------------------------------------


def unit_people(session: Session, actor: Actor, unit_id: int) -> list[Person]:
    """Active people of the unit, by section, to choose assignees from."""
    require_manage(actor, unit_id)
    stmt = (
        select(Person)
        .join(OrgUnit, Person.section_id == OrgUnit.id)
        .where(OrgUnit.parent_id == unit_id, Person.status == PersonStatus.active)
        .options(selectinload(Person.section))
        .order_by(OrgUnit.sort_order, OrgUnit.id, Person.staff_no)
    )
    return list(session.scalars(stmt))


def assign(session: Session, actor: Actor, task_id: int, person_id: int, role: str) -> UnitTaskAssignment:
    """Make a person of the task's unit lead or assist; assigning again changes the role."""
    task = get_task(session, actor, task_id)
    require_manage(actor, task.unit_id)
    if role not in ROLES:
        raise Invalid(T_("Choose lead or assisting."), {"role": T_("Choose lead or assisting.")})
    person = session.get(Person, person_id)
    if person is None or person.section is None or person.section.parent_id != task.unit_id:
        raise Invalid(
            T_("Only people of this unit can be assigned its tasks."), {"person_id": T_("Choose a person of the unit.")}
        )
    if person.status is not PersonStatus.active:
        raise Invalid(T_("%(name)s has left.", name=person.name), {"person_id": T_("Choose a current member.")})
    existing = next((a for a in task.assignments if a.person_id == person.id), None)
    if existing is not None:
        existing.role, existing.section_id = role, person.section_id
        session.flush()
        return existing
    assignment = UnitTaskAssignment(person_id=person.id, section_id=person.section_id, role=role, progress=0)
    task.assignments.append(assignment)
    session.flush()
    return assignment


def _assignment(session: Session, actor: Actor, assignment_id: int) -> UnitTaskAssignment:
    assignment = session.get(UnitTaskAssignment, assignment_id)
    if assignment is None:
        raise NotFound(T_("Assignment %(id)s does not exist.", id=assignment_id))
    check_view(session, actor, assignment.task.unit_id)
    return assignment


def unassign(session: Session, actor: Actor, assignment_id: int) -> None:
    """Take a person off a task, unless they have reported progress on it."""
    assignment = _assignment(session, actor, assignment_id)
    require_manage(actor, assignment.task.unit_id)
    if assignment.updates:
        raise Conflict(
            T_("%(name)s has reported progress on this task; the assignment is kept.", name=assignment.person.name)
        )
    assignment.task.assignments.remove(assignment)
    session.flush()


# --- progress and guidance ------------------------------------------------------------------


def record_progress(
    session: Session,
    actor: Actor,
    assignment_id: int,
    progress: int | None,
    note: str,
    upload: evidence.Upload | None = None,
    *,
    store: Path,
    max_bytes: int,
) -> UnitTaskProgress:
    """Report progress (0–100) with a note and an optional evidence file kept in ``store``."""
    assignment = _assignment(session, actor, assignment_id)
    if not can_report(actor, assignment):
        raise Forbidden(T_("Only the person assigned, or the unit administrator, can report progress on this."))
    fields: dict[str, str] = {}
    note = (note or "").strip()
    if not isinstance(progress, int) or isinstance(progress, bool) or not 0 <= progress <= 100:
        fields["progress"] = T_("Give a percentage from 0 to 100.")
    if not note:
        fields["note"] = T_("Say what was done.")
    elif len(note) > NOTE_MAX:
        fields["note"] = T_("At most %(n)d characters.", n=NOTE_MAX)
    kind = None
    if upload is not None and (upload.data or upload.filename):
        try:
            kind = evidence.check(upload, max_bytes)
        except Invalid as exc:
            fields.update(exc.fields)
    if fields:
        raise Invalid(T_("Check the highlighted fields."), fields)
    value = cast(int, progress)
    stored = evidence.save(store, upload, kind) if upload is not None and kind is not None else None
    now = datetime.now(UTC)
    update = UnitTaskProgress(
        progress=value,
        note=note,
        evidence_name=stored.display_name if stored else None,
        evidence_path=stored.stored_name if stored else None,
        by_id=actor.person_id,
        at=now,
    )
    try:
        assignment.updates.append(update)
        assignment.progress, assignment.last_update_at = value, now
        session.flush()
    except Exception:
        if stored:
            evidence.discard(store, stored.stored_name)
        raise
    return update


def evidence_file(session: Session, actor: Actor, progress_id: int, store: Path) -> tuple[Path, str, str]:
    """(path, download name, mimetype) of an update's evidence, if the actor may see it."""
    update = session.get(UnitTaskProgress, progress_id)
    if update is None or not update.evidence_path:
        raise NotFound(T_("There is no such evidence."))
    assignment = _assignment(session, actor, update.assignment_id)
    if not can_see_evidence(actor, assignment):
        raise Forbidden(T_("Only the people on this task and those who guide or manage it can open its evidence."))
    path = evidence.path_of(store, update.evidence_path)
    if not path.is_file():
        raise NotFound(T_("The evidence file is missing from the store."))
    kind = evidence.type_of(update.evidence_path)
    return path, update.evidence_name or path.name, kind.mimetype


def add_comment(
    session: Session, actor: Actor, task_id: int, text: str, assignment_id: int | None = None
) -> UnitTaskComment:
    """Leaders' guidance on a task as a whole, or on one person's part of it."""
    task = get_task(session, actor, task_id)
    assignment = None
    if assignment_id is not None:
        assignment = next((a for a in task.assignments if a.id == assignment_id), None)
        if assignment is None:
            raise Invalid(T_("That person is not on this task."), {"assignment_id": T_("Choose a person on the task.")})
    if actor.person_id is None or not can_comment(actor, task, assignment):
        raise Forbidden(T_("Only leaders in charge, the section head, the administrator or the office can comment."))
    text = (text or "").strip()
    if not text or len(text) > COMMENT_MAX:
        message = T_("Write the comment.") if not text else T_("At most %(n)d characters.", n=COMMENT_MAX)
        raise Invalid(T_("Check the highlighted fields."), {"text": message})
    comment = UnitTaskComment(assignment_id=assignment_id, author_id=actor.person_id, text=text, at=datetime.now(UTC))
    task.comments.append(comment)
    session.flush()
    return comment
