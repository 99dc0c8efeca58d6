"""The scheduler's own messages: the weekly-log reminder, the quarterly publication reminder, overdue digests.

Each is idempotent through the notification's ``dedupe_key`` (one per person and week, per unit,
admin and quarter, per person and day), so a rerun, a catch-up or a second scheduler process
sends nothing twice.

What these do *not* do yet: open the weekly log (周记实) itself or the quarter's comprehensive
evaluation round (综合测评). Neither has a model before the appraisal issue; until it lands the
weekly job reminds people to write the week's log and the quarterly job reminds each enabled
unit's administrator to publish the quarter's results (每季公布).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session, aliased

from app.models import (
    HumanTask,
    OrgKind,
    OrgUnit,
    Person,
    PersonStatus,
    Role,
    RoleAssignment,
    TaskCandidate,
    TaskStatus,
)
from app.services.notifications import notify

CHUNK = 1000


def _active_people_of_enabled_units(session: Session) -> list[int]:
    section, unit = aliased(OrgUnit), aliased(OrgUnit)
    return list(
        session.scalars(
            select(Person.id)
            .join(section, Person.section_id == section.id)
            .join(unit, and_(unit.id == section.parent_id, unit.kind == OrgKind.unit))
            .where(Person.status == PersonStatus.active, unit.enabled.is_(True))
            .order_by(Person.id)
        )
    )


def weekly_log_reminders(session: Session, week: str) -> dict[str, int]:
    """Remind every active person of an enabled unit to write the log of ``week`` (e.g. ``2026-W47``), once."""
    people = _active_people_of_enabled_units(session)
    sent = 0
    for offset in range(0, len(people), CHUNK):
        sent += notify(
            session,
            people[offset : offset + CHUNK],
            "weekly_log",
            f"Write your weekly log for {week}.",
            data={"week": week},
            dedupe_key=lambda pid: f"weekly_log:{week}:{pid}",
        )
    return {"people": len(people), "notified": sent}


def missing_log_reminders(session: Session, week: str) -> dict[str, int]:
    """Remind the active people of enabled units who wrote no entry for ``week`` (last week), once."""
    from app.models import LogEntry, WeeklyLog

    people = _active_people_of_enabled_units(session)
    wrote = set(
        session.scalars(
            select(WeeklyLog.person_id).join(LogEntry, LogEntry.log_id == WeeklyLog.id).where(WeeklyLog.week == week)
        )
    )
    missing = [pid for pid in people if pid not in wrote]
    sent = 0
    for offset in range(0, len(missing), CHUNK):
        sent += notify(
            session,
            missing[offset : offset + CHUNK],
            "weekly_log_missing",
            f"Your weekly log for {week} is missing.",
            data={"week": week},
            dedupe_key=lambda pid: f"weekly_log_missing:{week}:{pid}",
        )
    return {"missing": len(missing), "notified_missing": sent}


def _unit_admins(session: Session, unit_ids: list[int]) -> dict[int, list[int]]:
    rows = session.execute(
        select(RoleAssignment.org_unit_id, RoleAssignment.person_id)
        .join(Person, Person.id == RoleAssignment.person_id)
        .where(
            RoleAssignment.role == Role.unit_admin,
            RoleAssignment.org_unit_id.in_(unit_ids),
            Person.status == PersonStatus.active,
        )
        .order_by(RoleAssignment.person_id)
    )
    out: dict[int, list[int]] = {}
    for unit_id, person_id in rows:
        out.setdefault(unit_id, []).append(person_id)
    return out


def quarterly_publish_reminders(session: Session, quarter: str) -> dict[str, int]:
    """Remind each enabled unit's administrators to publish the results of ``quarter`` (e.g. ``2026-Q3``), once."""
    units = session.scalars(
        select(OrgUnit).where(OrgUnit.kind == OrgKind.unit, OrgUnit.enabled.is_(True)).order_by(OrgUnit.sort_order)
    ).all()
    admins = _unit_admins(session, [u.id for u in units])
    sent = without_admin = 0
    for unit in units:
        if not admins.get(unit.id):
            without_admin += 1
            continue
        sent += notify(
            session,
            admins[unit.id],
            "publish_quarter",
            f"Publish the results of {quarter} for {unit.name}.",
            data={"quarter": quarter, "unit": unit.name, "unit_id": unit.id},
            dedupe_key=lambda pid, u=unit.id: f"publish_quarter:{quarter}:{u}:{pid}",  # type: ignore[misc]
        )
    return {"units": len(units), "notified": sent, "units_without_admin": without_admin}


def overdue_digests(session: Session, day: str, now: datetime) -> dict[str, int]:
    """Once a day (``day`` = ``2026-11-25``): each person their overdue tasks, each unit admin the unit's.

    A person's count covers the ready tasks they may act on (unclaimed or claimed by them) whose
    due date has passed; a unit admin's covers every overdue task of the unit.
    """
    per_person = session.execute(
        select(TaskCandidate.person_id, func.count(HumanTask.id))
        .join(HumanTask, HumanTask.id == TaskCandidate.task_id)
        .where(
            HumanTask.status == TaskStatus.ready,
            HumanTask.due_at < now,
            or_(HumanTask.claimed_by_id.is_(None), HumanTask.claimed_by_id == TaskCandidate.person_id),
        )
        .group_by(TaskCandidate.person_id)
        .order_by(TaskCandidate.person_id)
    ).all()
    people = 0
    for person_id, n in per_person:
        people += notify(
            session,
            [person_id],
            "overdue_digest",
            f"{n} of your tasks are overdue ({day}).",
            link="/tasks",
            data={"count": n, "date": day},
            dedupe_key=lambda pid: f"overdue_digest:{day}:{pid}",
        )
    per_unit: list[tuple[int, int]] = [
        (unit_id, n)
        for unit_id, n in session.execute(
            select(HumanTask.unit_id, func.count(HumanTask.id))
            .where(HumanTask.status == TaskStatus.ready, HumanTask.due_at < now, HumanTask.unit_id.is_not(None))
            .group_by(HumanTask.unit_id)
        )
        if unit_id is not None
    ]
    names: dict[int, str] = {
        uid: name
        for uid, name in session.execute(
            select(OrgUnit.id, OrgUnit.name).where(OrgUnit.id.in_([u for u, _ in per_unit]))
        )
    }
    admins = _unit_admins(session, [u for u, _ in per_unit])
    unit_admins = 0
    for unit_id, n in per_unit:
        unit_admins += notify(
            session,
            admins.get(unit_id, []),
            "overdue_unit_digest",
            f"{names.get(unit_id, str(unit_id))}: {n} tasks are overdue ({day}).",
            data={"count": n, "unit": names.get(unit_id, str(unit_id)), "unit_id": unit_id, "date": day},
            dedupe_key=lambda pid, u=unit_id: f"overdue_unit_digest:{day}:{u}:{pid}",  # type: ignore[misc]
        )
    return {"people_notified": people, "units_overdue": len(per_unit), "admins_notified": unit_admins}
