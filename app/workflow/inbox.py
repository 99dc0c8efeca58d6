"""Inbox queries over the ``human_task`` mirror — never over serialized instances.

- ``mine`` (待办): ready tasks I am a candidate for that are claimed by me, or unclaimed with me
  as the only candidate;
- ``claimable`` (可认领): ready, unclaimed tasks shared between several candidates, me included;
- ``done`` (已办): tasks I completed;
- ``related`` (与我相关): tasks of instances about me.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, Select, and_, func, or_, select
from sqlalchemy.orm import Session, joinedload

from app.models import HumanTask, ProcessInstance, TaskCandidate, TaskStatus
from app.services.actor import Actor
from app.services.errors import T_, Invalid

SCOPES = ("mine", "claimable", "done", "related")


@dataclass(frozen=True)
class TaskFilters:
    process: str | None = None
    period: str | None = None
    unit_id: int | None = None
    section_id: int | None = None


@dataclass(frozen=True)
class TaskPage:
    items: list[HumanTask]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def _candidate(person_id: int) -> ColumnElement[bool]:
    # Driven from the person's candidate rows (index person_id, task_id), not by probing every
    # ready task: a person is a candidate for a handful of tasks among tens of thousands.
    return HumanTask.id.in_(select(TaskCandidate.task_id).where(TaskCandidate.person_id == person_id))


def scope_query(actor: Actor, scope: str) -> Select[HumanTask]:
    if scope not in SCOPES:
        raise Invalid(f"Unknown scope '{scope}'; use one of {', '.join(SCOPES)}.", {"scope": T_("Unknown scope.")})
    pid = actor.person_id or -1
    stmt = select(HumanTask)
    if scope == "mine":
        return stmt.where(
            HumanTask.status == TaskStatus.ready,
            _candidate(pid),
            or_(
                HumanTask.claimed_by_id == pid, and_(HumanTask.claimed_by_id.is_(None), HumanTask.candidate_count == 1)
            ),
        )
    if scope == "claimable":
        return stmt.where(
            HumanTask.status == TaskStatus.ready,
            HumanTask.claimed_by_id.is_(None),
            HumanTask.candidate_count > 1,
            _candidate(pid),
        )
    if scope == "done":
        return stmt.where(HumanTask.completed_by_id == pid, HumanTask.status == TaskStatus.completed)
    return stmt.where(HumanTask.subject_id == pid)


def _filtered(stmt: Select[HumanTask], f: TaskFilters) -> Select[HumanTask]:
    if f.process:
        stmt = stmt.where(HumanTask.process_key == f.process)
    if f.period:
        stmt = stmt.where(HumanTask.period == f.period)
    if f.unit_id:
        stmt = stmt.where(HumanTask.unit_id == f.unit_id)
    if f.section_id:
        stmt = stmt.where(HumanTask.section_id == f.section_id)
    return stmt


def list_tasks(
    session: Session,
    actor: Actor,
    scope: str = "mine",
    filters: TaskFilters | None = None,
    page: int = 1,
    per_page: int = 50,
) -> TaskPage:
    stmt = _filtered(scope_query(actor, scope), filters or TaskFilters())
    total = session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0
    if scope == "done":
        order = (HumanTask.completed_at.desc(), HumanTask.id.desc())
    else:
        order = (HumanTask.due_at.is_(None), HumanTask.due_at, HumanTask.id)  # type: ignore[assignment]
    items = session.scalars(
        stmt.options(joinedload(HumanTask.subject))
        .order_by(*order)
        .limit(per_page)
        .offset((max(page, 1) - 1) * per_page)
    ).all()
    return TaskPage(list(items), total, max(page, 1), per_page)


def filter_options(session: Session, actor: Actor, scope: str) -> list[tuple[int, str, int, str]]:
    """(unit id, unit name, section id, section name) of the tasks in a scope, for the filter menus."""
    from app.models import OrgUnit

    sub = scope_query(actor, scope).with_only_columns(HumanTask.unit_id, HumanTask.section_id).distinct().subquery()
    unit, section = OrgUnit.__table__.alias("u"), OrgUnit.__table__.alias("s")
    rows = session.execute(
        select(unit.c.id, unit.c.name, section.c.id, section.c.name)
        .join(sub, sub.c.unit_id == unit.c.id)
        .join(section, sub.c.section_id == section.c.id)
        .order_by(unit.c.sort_order, unit.c.id, section.c.sort_order, section.c.id)
    ).all()
    return [(r[0], r[1], r[2], r[3]) for r in rows]


def counts(session: Session, actor: Actor) -> dict[str, int]:
    """Badge counts for the navigation: waiting for me, claimable, overdue among mine."""
    now = datetime.now().astimezone()
    mine = scope_query(actor, "mine")
    return {
        "mine": session.scalar(select(func.count()).select_from(mine.subquery())) or 0,
        "claimable": session.scalar(select(func.count()).select_from(scope_query(actor, "claimable").subquery())) or 0,
        "overdue": session.scalar(select(func.count()).select_from(mine.where(HumanTask.due_at < now).subquery())) or 0,
    }


def instances_about(session: Session, person_id: int) -> list[ProcessInstance]:
    return list(
        session.scalars(
            select(ProcessInstance)
            .where(ProcessInstance.subject_id == person_id)
            .order_by(ProcessInstance.created_at.desc())
            .limit(100)
        )
    )
