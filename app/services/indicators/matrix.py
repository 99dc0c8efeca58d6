"""The responsibility matrix (责任矩阵表): a unit's tasks of a year × the people they are decomposed to.

Each cell holds the person's role (lead/assist), progress, last update and status; each row
the task's overall progress and the leaders' latest guidance. Read access follows
``unit_tasks.check_view``: everyone of the unit, and the performance office.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from app.models import OrgKind, OrgUnit, Person, UnitTask, UnitTaskAssignment, UnitTaskComment
from app.services.actor import Actor
from app.services.errors import T_, Invalid
from app.services.indicators.unit_tasks import (
    STATUSES,
    check_view,
    overall_progress,
    status_of,
    today,
    viewable_unit_ids,
)

LATEST_COMMENTS = 3


def visible_units(session: Session, actor: Actor) -> list[OrgUnit]:
    """Units whose matrix the actor may open, in tree order (every unit for the office)."""
    allowed = viewable_unit_ids(session, actor)
    stmt = select(OrgUnit).where(OrgUnit.kind == OrgKind.unit).order_by(OrgUnit.sort_order, OrgUnit.id)
    if allowed is not None:
        stmt = stmt.where(OrgUnit.id.in_(allowed))
    return list(session.scalars(stmt))


@dataclass(frozen=True)
class Cell:
    task_id: int
    person_id: int
    assignment_id: int
    role: str
    progress: int
    status: str
    last_update_at: datetime | None
    latest_comment: UnitTaskComment | None


@dataclass(frozen=True)
class Row:
    task: UnitTask
    progress: int  # mean of its assignees' progress
    status: str
    latest_comments: list[UnitTaskComment]


@dataclass
class Matrix:
    unit: OrgUnit
    year: int
    section_id: int | None
    sections: list[OrgUnit]
    rows: list[Row] = field(default_factory=list)
    people: list[Person] = field(default_factory=list)
    cells: dict[tuple[int, int], Cell] = field(default_factory=dict)

    def cell(self, task_id: int, person_id: int) -> Cell | None:
        return self.cells.get((task_id, person_id))

    def counts(self) -> dict[str, int]:
        out = dict.fromkeys(STATUSES, 0)
        for c in self.cells.values():
            out[c.status] += 1
        return out


def matrix(
    session: Session, actor: Actor, unit_id: int, year: int, section_id: int | None = None, on: date | None = None
) -> Matrix:
    """Tasks × people of a unit and year (optionally one section's assignments), with status and guidance."""
    unit = check_view(session, actor, unit_id)
    sections = [s for s in unit.children if s.kind is OrgKind.section]
    if section_id is not None and section_id not in {s.id for s in sections}:
        raise Invalid(T_("That section is not part of this unit."), {"section_id": T_("Choose a section of the unit.")})
    day = on or today()
    tasks = session.scalars(
        select(UnitTask)
        .where(UnitTask.unit_id == unit_id, UnitTask.year == year)
        .options(
            selectinload(UnitTask.assignments).selectinload(UnitTaskAssignment.person).selectinload(Person.section)
        )
        .order_by(UnitTask.deadline, UnitTask.id)
    ).all()
    comments: dict[int, list[UnitTaskComment]] = defaultdict(list)
    by_assignment: dict[int, UnitTaskComment] = {}
    if tasks:
        stmt = (
            select(UnitTaskComment)
            .where(UnitTaskComment.task_id.in_([t.id for t in tasks]))
            .options(selectinload(UnitTaskComment.author))
            .order_by(UnitTaskComment.at.desc(), UnitTaskComment.id.desc())
        )
        for c in session.scalars(stmt):
            if c.assignment_id is not None:
                by_assignment.setdefault(c.assignment_id, c)
            if len(comments[c.task_id]) < LATEST_COMMENTS:
                comments[c.task_id].append(c)
    result = Matrix(unit=unit, year=year, section_id=section_id, sections=sections)
    people: dict[int, Person] = {}
    for task in tasks:
        shown = [a for a in task.assignments if section_id is None or a.section_id == section_id]
        if section_id is not None and not shown:
            continue
        mean = overall_progress(task)
        result.rows.append(Row(task, mean, status_of(mean, task.deadline, day), comments[task.id]))
        for a in shown:
            people.setdefault(a.person_id, a.person)
            result.cells[(task.id, a.person_id)] = Cell(
                task.id,
                a.person_id,
                a.id,
                a.role,
                a.progress,
                status_of(a.progress, task.deadline, day),
                a.last_update_at,
                by_assignment.get(a.id),
            )
    order = {s.id: i for i, s in enumerate(sections)}
    result.people = sorted(people.values(), key=lambda p: (order.get(p.section_id or 0, len(order)), p.staff_no))
    return result
