"""The performance office's dashboard: every unit side by side, with a drill-down to the unit and its sections.

Built for the district's size: each panel is a handful of queries grouped by unit (no per-unit or
per-person loops), so the page costs the same few statements for 6 units or 10,000 people; the one
exception is the grade quota, read from the scoring scheme of each unit that has results.
``office_dashboard`` is what ``make bench`` times.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session, aliased

from app.models import (
    AppraisalRecord,
    HumanTask,
    OrgKind,
    OrgUnit,
    Person,
    PersonStatus,
    RecordStatus,
    TaskStatus,
    WeeklyLog,
)
from app.models.base import utcnow
from app.services.actor import Actor
from app.services.appraisal import common as appraisal_common
from app.services.dashboard import grades
from app.services.dashboard.common import (
    BANDS,
    Chart,
    Column,
    Dashboard,
    Panel,
    Table,
    band_counts,
    check_dashboard_period,
    due_weeks,
    final_score,
    log_late,
    log_written,
    months_of,
    pct,
)
from app.services.errors import T_, Forbidden


@dataclass(frozen=True)
class Ctx:
    session: Session
    period: str
    now: datetime

    def units(self) -> list[OrgUnit]:
        return list(
            self.session.scalars(
                select(OrgUnit).where(OrgUnit.kind == OrgKind.unit).order_by(OrgUnit.sort_order, OrgUnit.id)
            )
        )


def _by_unit(session: Session, stmt: object) -> dict[int, tuple[object, ...]]:
    return {row[0]: tuple(row[1:]) for row in session.execute(stmt)}  # type: ignore[call-overload]


def units_side_by_side(ctx: Ctx) -> Panel:
    s, section = ctx.session, aliased(OrgUnit)
    months = months_of(ctx.period)
    weeks = due_weeks(ctx.period, appraisal_common.local_today(ctx.now))
    people = _by_unit(
        s,
        select(section.parent_id, func.count(Person.id))
        .join(section, Person.section_id == section.id)
        .where(Person.status == PersonStatus.active)
        .group_by(section.parent_id),
    )
    score = final_score()
    records = _by_unit(
        s,
        select(
            section.parent_id,
            func.count(AppraisalRecord.id),
            func.sum(case((AppraisalRecord.status == RecordStatus.archived, 1), else_=0)),
            func.avg(score),
        )
        .join(Person, AppraisalRecord.person_id == Person.id)
        .join(section, Person.section_id == section.id)
        .where(AppraisalRecord.period.in_(months))
        .group_by(section.parent_id),
    )
    logs = _by_unit(
        s,
        select(section.parent_id, func.count(WeeklyLog.id), func.sum(log_late(weeks)))
        .join(Person, WeeklyLog.person_id == Person.id)
        .join(section, Person.section_id == section.id)
        .where(WeeklyLog.week.in_(weeks or ["-"]), log_written(), Person.status == PersonStatus.active)
        .group_by(section.parent_id),
    )
    overdue = _by_unit(
        s,
        select(HumanTask.unit_id, func.count(HumanTask.id))
        .where(HumanTask.status == TaskStatus.ready, HumanTask.due_at < ctx.now)
        .group_by(HumanTask.unit_id),
    )
    rows = []
    for unit in ctx.units():
        n_people = int(people.get(unit.id, (0,))[0] or 0)  # type: ignore[call-overload]
        opened, archived, mean = records.get(unit.id, (0, 0, None))
        written, late = logs.get(unit.id, (0, 0))
        expected = n_people * len(weeks)
        rows.append(
            {
                "unit_id": unit.id,
                "unit": unit.name,
                "status": T_("pilot") if unit.pilot else (T_("enabled") if unit.enabled else T_("not yet enabled")),
                "people": n_people,
                "appraisals": int(opened or 0),  # type: ignore[call-overload]
                "archived_pct": pct(int(archived or 0), int(opened or 0)),  # type: ignore[call-overload]
                "logs_pct": pct(int(written or 0), expected),  # type: ignore[call-overload]
                "late_pct": pct(int(late or 0), int(written or 0)),  # type: ignore[call-overload]
                "overdue": int(overdue.get(unit.id, (0,))[0] or 0),  # type: ignore[call-overload]
                "mean": round(float(mean), 2) if mean is not None else None,  # type: ignore[arg-type]
            }
        )
    table = Table(
        [
            Column("unit", T_("Unit"), "link"),
            Column("status", T_("Rollout")),
            Column("people", T_("People"), "int"),
            Column("appraisals", T_("Appraisals"), "int"),
            Column("archived_pct", T_("Completed (per cent)"), "percent"),
            Column("logs_pct", T_("Weekly logs written (per cent)"), "percent"),
            Column("late_pct", T_("Of which late (per cent)"), "percent"),
            Column("overdue", T_("Overdue tasks"), "int"),
            Column("mean", T_("Mean score"), "number"),
        ],
        rows,
    )
    return Panel(
        "units",
        T_("Units side by side"),
        table,
        Chart("bar", "unit", ("archived_pct", "logs_pct", "late_pct"), y_max=100),
    )


def score_distribution(ctx: Ctx) -> Panel:
    section = aliased(OrgUnit)
    score = final_score()
    found = _by_unit(
        ctx.session,
        select(section.parent_id, *band_counts(score))
        .join(Person, AppraisalRecord.person_id == Person.id)
        .join(section, Person.section_id == section.id)
        .where(AppraisalRecord.period.in_(months_of(ctx.period)), score.is_not(None))
        .group_by(section.parent_id),
    )
    rows = []
    for unit in ctx.units():
        if unit.id in found:
            bands = found[unit.id]
            rows.append(
                {
                    "unit_id": unit.id,
                    "unit": unit.name,
                    **{f"band_{k}": int(v or 0) for (k, *_), v in zip(BANDS, bands, strict=True)},  # type: ignore[call-overload]
                }
            )
    table = Table(
        [Column("unit", T_("Unit"), "link"), *[Column(f"band_{k}", label, "int") for k, label, *_ in BANDS]], rows
    )
    return Panel(
        "distribution",
        T_("Score distribution by unit"),
        table,
        Chart("stacked", "unit", tuple(f"band_{k}" for k, *_ in BANDS)),
    )


def grades_by_unit(ctx: Ctx) -> Panel:
    return grades.office_grades_panel(ctx.session, ctx.units(), ctx.period)


PANELS: list[Callable[[Ctx], Panel]] = [units_side_by_side, score_distribution, grades_by_unit]


def office_dashboard(session: Session, actor: Actor, period: str, *, now: datetime | None = None) -> Dashboard:
    """All units in a month, quarter or year: completion, lateness, scores, rollout status."""
    if not actor.is_district_wide:
        raise Forbidden(T_("Only the performance office sees every unit."))
    period = check_dashboard_period(period)
    ctx = Ctx(session, period, now or utcnow())
    return Dashboard("office", T_("District dashboard"), period, [panel(ctx) for panel in PANELS])
