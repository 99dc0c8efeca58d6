"""The staff dashboard: my tasks, my monthly scores over the year, my weeks, my indicator progress,
my period grades and my bonus and deduction items."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session, aliased

from app.models import (
    AppraisalRecord,
    HumanTask,
    IndicatorItem,
    LogEntry,
    OrgUnit,
    Person,
    TaskCandidate,
    TaskStatus,
    WeeklyLog,
)
from app.models.base import utcnow
from app.services.actor import Actor
from app.services.appraisal import common as appraisal_common
from app.services.appraisal import weeks as week_states
from app.services.dashboard import grades
from app.services.dashboard.common import (
    CATEGORY,
    RECORD_STATUS,
    Chart,
    Column,
    Dashboard,
    Panel,
    Table,
    check_dashboard_period,
    months_of,
)
from app.services.errors import T_, Forbidden

Ctx = tuple[Session, int, str, datetime]  # session, person id, year, now


def my_tasks(ctx: Ctx) -> Panel:
    session, person_id, _, now = ctx
    # a task is about a person or, for a process about a unit (the monthly analysis report), the unit
    subject_unit = aliased(OrgUnit)
    rows = session.execute(
        select(
            HumanTask.id,
            HumanTask.step_name,
            HumanTask.period,
            HumanTask.due_at,
            func.coalesce(Person.name, subject_unit.name),
        )
        .join(TaskCandidate, TaskCandidate.task_id == HumanTask.id)
        .outerjoin(Person, HumanTask.subject_id == Person.id)
        .outerjoin(subject_unit, and_(HumanTask.subject_id.is_(None), subject_unit.id == HumanTask.unit_id))
        .where(TaskCandidate.person_id == person_id, HumanTask.status == TaskStatus.ready)
        .order_by(HumanTask.due_at.is_(None), HumanTask.due_at, HumanTask.id)
        .limit(50)
    ).all()
    table = Table(
        [
            Column("step", T_("Step"), "link"),
            Column("subject", T_("For")),
            Column("period", T_("Period")),
            Column("due_at", T_("Due")),
            Column("overdue", T_("Overdue")),
        ],
        [
            {
                "task_id": tid,
                "step": step,
                "subject": subject,
                "period": period,
                "due_at": due,
                "overdue": T_("yes") if due is not None and due < now else T_("no"),
            }
            for tid, step, period, due, subject in rows
        ],
    )
    return Panel("my_tasks", T_("My tasks"), table, empty=T_("Nothing is waiting for you."))


def my_scores(ctx: Ctx) -> Panel:
    session, person_id, year, _ = ctx
    rows = session.execute(
        select(AppraisalRecord.period, AppraisalRecord.score, AppraisalRecord.adjusted_score, AppraisalRecord.status)
        .where(AppraisalRecord.person_id == person_id, AppraisalRecord.period.in_(months_of(year)))
        .order_by(AppraisalRecord.period)
    ).all()
    table = Table(
        [
            Column("period", T_("Month")),
            Column("score", T_("Section head's score"), "number"),
            Column("adjusted", T_("Adjusted by the leader"), "number"),
            Column("final", T_("Final score"), "number"),
            Column("status", T_("Status")),
        ],
        [
            {
                "period": period,
                "score": score,
                "adjusted": adjusted,
                "final": adjusted if adjusted is not None else score,
                "status": RECORD_STATUS[status.value],
            }
            for period, score, adjusted, status in rows
        ],
    )
    return Panel("my_scores", T_("My monthly scores"), table, Chart("line", "period", ("final",), y_max=100))


def my_weeks(ctx: Ctx) -> Panel:
    session, person_id, year, now = ctx
    today = appraisal_common.local_today(now)
    # from the first month the person used the system: earlier months are not "missing", they predate it
    first_log = session.scalar(
        select(func.min(WeeklyLog.week)).where(WeeklyLog.person_id == person_id, WeeklyLog.week.like(f"{year}-W%"))
    )
    first_record = session.scalar(
        select(func.min(AppraisalRecord.period)).where(
            AppraisalRecord.person_id == person_id, AppraisalRecord.period.in_(months_of(year))
        )
    )
    starts = [m for m in (first_record, _month_of_week(first_log)) if m]
    rows = []
    for month in months_of(year):
        if not starts or month < min(starts):
            continue
        weeks = [w for w in appraisal_common.weeks_of_period(month) if appraisal_common.monday_of(w) <= today]
        if not weeks:
            continue
        states = week_states.person_weeks(session, person_id, weeks, today)
        counts = {s: sum(1 for w in states if w.status == s) for s in week_states.STATUSES}
        rows.append({"period": month, **counts})
    table = Table(
        [
            Column("period", T_("Month")),
            Column("on_time", T_("On time"), "int"),
            Column("late", T_("Late"), "int"),
            Column("missing", T_("Missing"), "int"),
            Column("pending", T_("Not yet due"), "int"),
        ],
        rows,
    )
    return Panel("my_weeks", T_("My weekly logs"), table, Chart("stacked", "period", ("on_time", "late", "missing")))


def _month_of_week(week: str | None) -> str | None:
    if not week:
        return None
    thursday = appraisal_common.monday_of(week) + timedelta(days=3)
    return f"{thursday.year}-{thursday.month:02d}"


def my_indicators(ctx: Ctx) -> Panel:
    session, person_id, year, _ = ctx
    version = appraisal_common.effective_version(session, person_id, int(year))
    items: list[IndicatorItem] = list(version.items) if version is not None else []
    latest: dict[int, tuple[int | None, int]] = {}
    if items:
        # the progress of an item is the one given in its latest week (weeks sort as text: 2026-W09 < 2026-W10)
        ranked = (
            select(
                LogEntry.indicator_item_id.label("item_id"),
                LogEntry.progress.label("progress"),
                func.row_number()
                .over(partition_by=LogEntry.indicator_item_id, order_by=(WeeklyLog.week.desc(), LogEntry.id.desc()))
                .label("rn"),
                func.count().over(partition_by=LogEntry.indicator_item_id).label("entries"),
            )
            .join(WeeklyLog, LogEntry.log_id == WeeklyLog.id)
            .where(
                WeeklyLog.person_id == person_id,
                LogEntry.indicator_item_id.in_([i.id for i in items]),
                LogEntry.progress.is_not(None),
            )
            .subquery()
        )
        for item_id, progress, entries in session.execute(
            select(ranked.c.item_id, ranked.c.progress, ranked.c.entries).where(ranked.c.rn == 1)
        ):
            latest[item_id] = (progress, entries)
    table = Table(
        [
            Column("name", T_("Indicator")),
            Column("category", T_("Category")),
            Column("weight", T_("Weight"), "number"),
            Column("progress", T_("Progress (per cent)"), "int"),
            Column("entries", T_("Log entries with progress"), "int"),
        ],
        [
            {
                "name": i.name,
                "category": CATEGORY[i.category.value],
                "weight": i.weight,
                "progress": latest.get(i.id, (0, 0))[0] or 0,
                "entries": latest.get(i.id, (0, 0))[1],
            }
            for i in items
        ],
    )
    return Panel(
        "my_indicators",
        T_("My indicator progress"),
        table,
        Chart("hbar", "name", ("progress",), y_max=100),
        empty=T_("You have no effective indicator set for this year."),
    )


def my_grades(ctx: Ctx) -> Panel:
    session, person_id, year, _ = ctx
    return grades.my_grades_panel(session, person_id, year)


def my_points(ctx: Ctx) -> Panel:
    session, person_id, year, _ = ctx
    return grades.my_points_panel(session, person_id, year)


PANELS: list[Callable[[Ctx], Panel]] = [my_tasks, my_scores, my_grades, my_weeks, my_indicators, my_points]


def staff_dashboard(
    session: Session, actor: Actor, year: str, *, person_id: int | None = None, now: datetime | None = None
) -> Dashboard:
    """The year seen by one person (by default the actor; others only for those who may read their records)."""
    year = check_dashboard_period(year, ("year",))
    person = appraisal_common.person_of(session, person_id if person_id is not None else actor.person_id)
    if not appraisal_common.can_read(actor, person):
        raise Forbidden(T_("Only the person and the leaders of their section can see this."))
    ctx: Ctx = (session, person.id, year, now or utcnow())
    return Dashboard(
        "staff", T_("My year"), year, [panel(ctx) for panel in PANELS], scope_id=person.id, scope_name=person.name
    )
