"""Weeks seen from above: on time, late or missing; a section's overview; a period's entries by indicator.

A week's log is *late* when its first entry was written after the Monday following the week,
*missing* when it has no entry and that Monday has passed, *pending* while it may still be
written on time. A period (a month) holds the weeks whose Thursday falls inside it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from app.models import IndicatorItem, LogEntry, OrgKind, OrgUnit, Person, PersonStatus, Role, WeeklyLog
from app.services.actor import Actor
from app.services.appraisal import common
from app.services.errors import T_, Forbidden, NotFound
from app.services.indicators.rules import CATEGORY_LABELS

STATUSES = ("on_time", "late", "missing", "pending")
OTHER_LABEL = "其他工作（临时性任务等）"


@dataclass(frozen=True)
class WeekState:
    week: str
    status: str  # on_time | late | missing | pending
    entries: int
    first_written_at: datetime | None
    deadline: date

    def as_json(self) -> dict[str, object]:
        return {
            "week": self.week,
            "status": self.status,
            "entries": self.entries,
            "first_written_at": self.first_written_at.isoformat() if self.first_written_at else None,
            "deadline": self.deadline.isoformat(),
        }


def week_state(week: str, entries: int, first_written_at: datetime | None, today: date) -> WeekState:
    deadline = common.week_deadline(week)
    if entries > 0 and first_written_at is not None:
        status = "late" if common.local_date(first_written_at) > deadline else "on_time"
    else:
        status = "missing" if today > deadline else "pending"
    return WeekState(week, status, entries, first_written_at, deadline)


def states_for(session: Session, person_ids: list[int], weeks: list[str], today: date) -> dict[int, list[WeekState]]:
    """Each person's state of each week, with one grouped query."""
    rows = session.execute(
        select(WeeklyLog.person_id, WeeklyLog.week, WeeklyLog.first_written_at, func.count(LogEntry.id))
        .outerjoin(LogEntry, LogEntry.log_id == WeeklyLog.id)
        .where(WeeklyLog.person_id.in_(person_ids or [-1]), WeeklyLog.week.in_(weeks))
        .group_by(WeeklyLog.id, WeeklyLog.person_id, WeeklyLog.week, WeeklyLog.first_written_at)
    ).all()
    found = {(pid, week): (count, first) for pid, week, first, count in rows}
    out: dict[int, list[WeekState]] = {}
    for pid in person_ids:
        out[pid] = [week_state(w, *found.get((pid, w), (0, None)), today) for w in weeks]
    return out


def person_weeks(session: Session, person_id: int, weeks: list[str], today: date) -> list[WeekState]:
    return states_for(session, [person_id], weeks, today)[person_id]


@dataclass
class SectionOverview:
    section: OrgUnit
    weeks: list[str]
    rows: list[tuple[Person, list[WeekState]]]
    counts: dict[str, int] = field(default_factory=dict)


def section_overview(session: Session, actor: Actor, section_id: int, count: int, today: date) -> SectionOverview:
    """People of a section × the recent ``count`` weeks (the current one last); late and missing counted."""
    section = session.get(OrgUnit, section_id)
    if section is None or section.kind is not OrgKind.section:
        raise NotFound(T_("Section %(id)s does not exist.", id=section_id))
    if not common.can_oversee_section(actor, section.id, section.parent_id):
        raise Forbidden(T_("Only the section's head and leader in charge (or the unit's leadership) see its logs."))
    weeks = common.recent_weeks(count, today)
    people = list(
        session.scalars(
            select(Person)
            .where(Person.section_id == section.id, Person.status == PersonStatus.active)
            .order_by(Person.staff_no)
        )
    )
    states = states_for(session, [p.id for p in people], weeks, today)
    rows = [(p, states[p.id]) for p in people]
    counts = dict.fromkeys(STATUSES, 0)
    for _, row in rows:
        for s in row:
            counts[s.status] += 1
    return SectionOverview(section, weeks, rows, counts)


def sections_led(session: Session, actor: Actor) -> list[OrgUnit]:
    """Sections whose logs the actor oversees as head or leader in charge (for the navigation)."""
    ids = set(actor.scopes.get(Role.section_head, ())) | set(actor.scopes.get(Role.unit_leader, ()))
    if not ids:
        return []
    return list(session.scalars(select(OrgUnit).where(OrgUnit.id.in_(ids)).order_by(OrgUnit.parent_id, OrgUnit.id)))


# --- a period's entries, grouped by indicator --------------------------------------------------


@dataclass
class EntryGroup:
    item: IndicatorItem | None  # None: other / temporary work
    label: str
    entries: list[tuple[str, LogEntry]] = field(default_factory=list)


def period_entries(session: Session, person_id: int, period: str) -> list[EntryGroup]:
    """The entries of the period's weeks, grouped by indicator in the order of the person's effective set."""
    weeks = common.weeks_of_period(period)
    logs = session.scalars(
        select(WeeklyLog)
        .options(selectinload(WeeklyLog.entries).selectinload(LogEntry.evidence))
        .where(WeeklyLog.person_id == person_id, WeeklyLog.week.in_(weeks))
        .order_by(WeeklyLog.week)
    ).all()
    version = common.effective_version(session, person_id, int(period[:4]))
    groups: dict[int | None, EntryGroup] = {}
    if version is not None:
        for item in version.items:
            groups[item.id] = EntryGroup(item, f"{CATEGORY_LABELS[item.category]}｜{item.name}")
    for log in logs:
        for entry in log.entries:
            key = entry.indicator_item_id
            if key not in groups:
                linked = entry.indicator_item
                label = f"{CATEGORY_LABELS[linked.category]}｜{linked.name}" if linked is not None else OTHER_LABEL
                groups[key] = EntryGroup(linked, label)
            groups[key].entries.append((log.week, entry))
    other = groups.pop(None, None)
    ordered = [g for g in groups.values() if g.entries or version is not None]
    if other is not None:
        ordered.append(other)
    return ordered


def prefill(groups: list[EntryGroup]) -> str:
    """A first draft of the summary from the logs: one heading per indicator, one line per entry."""
    blocks = []
    for group in groups:
        if not group.entries:
            continue
        lines = [f"【{group.label}】"]
        for week, entry in group.entries:
            progress = f"（进度 {entry.progress}%）" if entry.progress is not None else ""
            lines.append(f"- {week}：{entry.content}{progress}")
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


def groups_json(groups: list[EntryGroup]) -> list[dict[str, object]]:
    return [
        {
            "item_id": g.item.id if g.item is not None else None,
            "label": g.label,
            "entries": [
                {"week": week, "id": e.id, "content": e.content, "progress": e.progress, "evidence": len(e.evidence)}
                for week, e in g.entries
            ],
        }
        for g in groups
    ]
