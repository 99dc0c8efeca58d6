"""The figures of section (1) of a unit's monthly analysis report, computed from the records.

Every figure is taken *as of* a moment, so the snapshot stored with a submitted report can be
recomputed later for checking: a record counts as submitted when its summary was in by then,
a week's log as written when its first entry was, a task as overdue when it was open and past
its due date then. Scores are the records' current final scores (an appeal may still move them
after the snapshot; the check shows it).

- completion: records of the month's ``periodic_appraisal`` (people in the cycle), those
  submitted (summary in, or archived) and archived, and the completion rate in per cent;
- lateness: the unit's weekly logs of the month's weeks (on time, late, missing, not yet due)
  and tasks overdue at the moment, plus tasks of the month completed after their due date;
- scores: count, mean, min, max and the five bands below 60, 60–69, 70–79, 80–89, 90–100;
- the same for the month before, and the changes.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.models import AppraisalRecord, HumanTask, LogEntry, OrgUnit, Person, PersonStatus, ProcessInstance, WeeklyLog
from app.services.appraisal import common
from app.services.appraisal.weeks import week_state

APPRAISAL = "periodic_appraisal"
# (key, lowest score, highest score excluded); the top band includes 100.
BANDS = (("below_60", 0, 60), ("60_69", 60, 70), ("70_79", 70, 80), ("80_89", 80, 90), ("90_100", 90, 101))


def previous_month(period: str) -> str:
    year, month = int(period[:4]), int(period[5:7])
    return f"{year - 1}-12" if month == 1 else f"{year}-{month - 1:02d}"


def _unit_people(session: Session, unit_id: int, active_only: bool) -> list[int]:
    stmt = select(Person.id).join(OrgUnit, Person.section_id == OrgUnit.id).where(OrgUnit.parent_id == unit_id)
    if active_only:
        stmt = stmt.where(Person.status == PersonStatus.active)
    return list(session.scalars(stmt.order_by(Person.id)))


def _completion(records: list[AppraisalRecord], as_of: datetime) -> dict[str, Any]:
    def by(moment: datetime | None) -> bool:
        return moment is not None and moment <= as_of

    submitted = sum(1 for r in records if by(r.summary_at) or by(r.archived_at))
    archived = sum(1 for r in records if by(r.archived_at))
    total = len(records)
    return {
        "people_in_cycle": total,
        "submitted": submitted,
        "archived": archived,
        "completion_rate": round(100.0 * submitted / total, 1) if total else None,
    }


def _scores(records: list[AppraisalRecord], as_of: datetime) -> dict[str, Any]:
    values: list[Decimal] = []
    for r in records:
        if r.scored_at is None or r.scored_at > as_of:
            continue
        adjusted = r.adjusted_score if r.reviewed_at is not None and r.reviewed_at <= as_of else None
        value = adjusted if adjusted is not None else r.score
        if value is not None:
            values.append(Decimal(value))
    bands = {key: sum(1 for v in values if low <= v < high) for key, low, high in BANDS}
    return {
        "scored": len(values),
        "mean": float(round(sum(values, Decimal(0)) / len(values), 2)) if values else None,
        "min": float(min(values)) if values else None,
        "max": float(max(values)) if values else None,
        "bands": bands,
    }


def _logs(session: Session, people: list[int], period: str, as_of: datetime) -> dict[str, Any]:
    weeks = common.weeks_of_period(period)
    today = common.local_date(as_of)
    rows = session.execute(
        select(WeeklyLog.person_id, WeeklyLog.week, WeeklyLog.first_written_at, func.count(LogEntry.id))
        .join(LogEntry, LogEntry.log_id == WeeklyLog.id)
        .where(WeeklyLog.person_id.in_(people or [-1]), WeeklyLog.week.in_(weeks))
        .group_by(WeeklyLog.id, WeeklyLog.person_id, WeeklyLog.week, WeeklyLog.first_written_at)
    ).all()
    written = {(pid, week): (n, first) for pid, week, first, n in rows if first is not None and first <= as_of}
    counts = {"on_time": 0, "late": 0, "missing": 0, "pending": 0}
    for pid in people:
        for week in weeks:
            entries, first = written.get((pid, week), (0, None))
            counts[week_state(week, entries, first, today).status] += 1
    return {"weeks": len(weeks), "people": len(people), "expected": len(people) * len(weeks), **counts}


def month_bounds(period: str) -> tuple[datetime, datetime]:
    """The month's first instant and the next month's, in the district's time zone, as UTC."""
    first, last = common.period_range(period)
    tz = common.policy().tz
    start = datetime.combine(first, time(0), tzinfo=tz).astimezone(UTC)
    end = datetime.combine(last + timedelta(days=1), time(0), tzinfo=tz).astimezone(UTC)
    return start, end


def _tasks(session: Session, unit_id: int, period: str, as_of: datetime) -> dict[str, Any]:
    overdue = session.scalar(
        select(func.count(HumanTask.id)).where(
            HumanTask.unit_id == unit_id,
            HumanTask.due_at < as_of,
            HumanTask.created_at <= as_of,
            (HumanTask.completed_at.is_(None)) | (HumanTask.completed_at > as_of),
        )
    )
    start, end = month_bounds(period)
    late = session.scalar(
        select(func.count(HumanTask.id)).where(
            HumanTask.unit_id == unit_id,
            HumanTask.completed_by_id.is_not(None),
            HumanTask.completed_at >= start,
            HumanTask.completed_at < min(end, as_of),
            HumanTask.completed_at > HumanTask.due_at,
        )
    )
    return {"overdue_open": int(overdue or 0), "completed_late": int(late or 0)}


def month_figures(session: Session, unit_id: int, period: str, as_of: datetime) -> dict[str, Any]:
    """One month's figures for one unit as of ``as_of`` (no comparison)."""
    everyone = _unit_people(session, unit_id, active_only=False)
    records = list(
        session.scalars(
            select(AppraisalRecord)
            .join(ProcessInstance, ProcessInstance.id == AppraisalRecord.instance_id)
            .where(
                ProcessInstance.process_key == APPRAISAL,
                AppraisalRecord.period == period,
                AppraisalRecord.person_id.in_(everyone or [-1]),
                AppraisalRecord.created_at <= as_of,
            )
        )
    )
    return {
        "completion": _completion(records, as_of),
        "logs": _logs(session, _unit_people(session, unit_id, active_only=True), period, as_of),
        "tasks": _tasks(session, unit_id, period, as_of),
        "scores": _scores(records, as_of),
    }


def _delta(now: float | int | None, before: float | int | None) -> float | None:
    return None if now is None or before is None else round(float(now) - float(before), 2)


def compute(session: Session, unit_id: int, period: str, as_of: datetime) -> dict[str, Any]:
    """The report's figures: the month, the month before, and the changes between them."""
    current = month_figures(session, unit_id, period, as_of)
    before_period = previous_month(period)
    before = month_figures(session, unit_id, before_period, as_of)

    def lateness(f: dict[str, Any]) -> int:
        return int(f["logs"]["late"] + f["logs"]["missing"])

    rate_change = _delta(current["completion"]["completion_rate"], before["completion"]["completion_rate"])
    return {
        "period": period,
        "as_of": as_of.astimezone(UTC).isoformat(timespec="seconds"),
        **current,
        "previous": {"period": before_period, **before},
        "changes": {
            "completion_rate": rate_change,
            "late_or_missing_logs": lateness(current) - lateness(before),
            "overdue_open": current["tasks"]["overdue_open"] - before["tasks"]["overdue_open"],
            "mean_score": _delta(current["scores"]["mean"], before["scores"]["mean"]),
            "scored": current["scores"]["scored"] - before["scores"]["scored"],
        },
    }


def differences(stored: dict[str, Any], fresh: dict[str, Any], prefix: str = "") -> dict[str, tuple[Any, Any]]:
    """Figures that differ between a stored snapshot and a recomputation, by dotted key."""
    out: dict[str, tuple[Any, Any]] = {}
    for key in sorted(set(stored) | set(fresh)):
        a, b = stored.get(key), fresh.get(key)
        name = f"{prefix}{key}"
        if isinstance(a, dict) and isinstance(b, dict):
            out.update(differences(a, b, f"{name}."))
        elif a != b:
            out[name] = (a, b)
    return out
