"""The section head's dashboard: log completion, review backlog, score distribution, who is late."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import AppraisalRecord, HumanTask, OrgUnit, Person, PersonStatus, TaskStatus, WeeklyLog
from app.models.base import utcnow
from app.services.actor import Actor
from app.services.appraisal import common as appraisal_common
from app.services.dashboard.common import (
    BANDS,
    Chart,
    Column,
    Dashboard,
    Panel,
    Table,
    band_counts,
    check_dashboard_period,
    check_section,
    final_score,
    log_late,
    log_written,
    months_of,
    started_weeks,
)
from app.services.errors import T_


@dataclass(frozen=True)
class Ctx:
    session: Session
    section: OrgUnit
    period: str
    now: datetime

    @property
    def members(self) -> list[tuple[int, str]]:
        return list(
            self.session.execute(
                select(Person.id, Person.name)
                .where(Person.section_id == self.section.id, Person.status == PersonStatus.active)
                .order_by(Person.staff_no)
            ).all()
        )


def _week_counts(ctx: Ctx, weeks: list[str]) -> dict[tuple[int, str], int]:
    """(person, week) → 1 on time / 2 late, for the section's written weeks."""
    rows = ctx.session.execute(
        select(WeeklyLog.person_id, WeeklyLog.week, log_late(weeks))
        .join(Person, WeeklyLog.person_id == Person.id)
        .where(Person.section_id == ctx.section.id, WeeklyLog.week.in_(weeks), log_written())
    )
    return {(pid, week): 2 if late else 1 for pid, week, late in rows}


def log_completion(ctx: Ctx) -> Panel:
    today = appraisal_common.local_today(ctx.now)
    weeks = started_weeks(ctx.period, today)
    written = _week_counts(ctx, weeks)
    members = [pid for pid, _ in ctx.members]
    rows = []
    for week in weeks:
        due = appraisal_common.week_deadline(week) < today
        on_time = sum(1 for p in members if written.get((p, week)) == 1)
        late = sum(1 for p in members if written.get((p, week)) == 2)
        open_ = len(members) - on_time - late
        rows.append(
            {
                "week": week,
                "expected": len(members),
                "on_time": on_time,
                "late": late,
                "missing": open_ if due else 0,
                "pending": 0 if due else open_,
            }
        )
    table = Table(
        [
            Column("week", T_("Week")),
            Column("expected", T_("People"), "int"),
            Column("on_time", T_("On time"), "int"),
            Column("late", T_("Late"), "int"),
            Column("missing", T_("Missing"), "int"),
            Column("pending", T_("Not yet due"), "int"),
        ],
        rows,
    )
    return Panel(
        "log_completion", T_("Weekly log completion"), table, Chart("stacked", "week", ("on_time", "late", "missing"))
    )


def review_backlog(ctx: Ctx) -> Panel:
    rows = ctx.session.execute(
        select(HumanTask.id, Person.name, HumanTask.period, HumanTask.step_name, HumanTask.created_at, HumanTask.due_at)
        .join(Person, HumanTask.subject_id == Person.id)
        .where(
            HumanTask.section_id == ctx.section.id,
            HumanTask.status == TaskStatus.ready,
            HumanTask.form_key == "appraisal_score",
        )
        .order_by(HumanTask.created_at, HumanTask.id)
    ).all()
    table = Table(
        [
            Column("subject", T_("Person")),
            Column("period", T_("Period")),
            Column("step", T_("Step")),
            Column("waiting_days", T_("Days waiting"), "number"),
            Column("due_at", T_("Due")),
            Column("overdue", T_("Overdue")),
        ],
        [
            {
                "task_id": tid,
                "subject": name,
                "period": period,
                "step": step,
                "waiting_days": round((ctx.now - created).total_seconds() / 86400, 1),
                "due_at": due,
                "overdue": T_("yes") if due is not None and due < ctx.now else T_("no"),
            }
            for tid, name, period, step, created, due in rows
        ],
    )
    return Panel("review_backlog", T_("Scores to give"), table, empty=T_("No scoring is waiting."))


def score_distribution(ctx: Ctx) -> Panel:
    score = final_score()
    row = ctx.session.execute(
        select(*band_counts(score))
        .join(Person, AppraisalRecord.person_id == Person.id)
        .where(
            Person.section_id == ctx.section.id, AppraisalRecord.period.in_(months_of(ctx.period)), score.is_not(None)
        )
    ).one()
    rows = [{"band": label, "count": int(getattr(row, f"band_{key}") or 0)} for key, label, _, _ in BANDS]
    table = Table(
        [Column("band", T_("Score")), Column("count", T_("People"), "int")],
        rows if any(r["count"] for r in rows) else [],
    )
    return Panel("score_distribution", T_("Score distribution"), table, Chart("bar", "band", ("count",)))


def late_people(ctx: Ctx) -> Panel:
    today = appraisal_common.local_today(ctx.now)
    weeks = [w for w in started_weeks(ctx.period, today) if appraisal_common.week_deadline(w) < today]
    written = _week_counts(ctx, weeks)
    rows: list[dict[str, Any]] = []
    for pid, name in ctx.members:
        late = sum(1 for w in weeks if written.get((pid, w)) == 2)
        missing = sum(1 for w in weeks if (pid, w) not in written)
        if late or missing:
            rows.append({"person_id": pid, "name": name, "weeks": len(weeks), "late": late, "missing": missing})
    rows.sort(key=lambda r: (-(r["late"] + r["missing"]), r["name"]))
    table = Table(
        [
            Column("name", T_("Person")),
            Column("weeks", T_("Weeks due"), "int"),
            Column("late", T_("Late"), "int"),
            Column("missing", T_("Missing"), "int"),
        ],
        rows,
    )
    return Panel(
        "late_people",
        T_("People with late or missing logs"),
        table,
        Chart("stacked", "name", ("late", "missing")),
        empty=T_("Everyone wrote every week on time."),
    )


PANELS: list[Callable[[Ctx], Panel]] = [log_completion, review_backlog, score_distribution, late_people]


def section_dashboard(
    session: Session, actor: Actor, section_id: int, period: str, *, now: datetime | None = None
) -> Dashboard:
    """One section in a month or quarter, for its head, its leader in charge, the unit and the office."""
    period = check_dashboard_period(period, ("month", "quarter"))
    section = check_section(session, actor, section_id)
    ctx = Ctx(session, section, period, now or utcnow())
    return Dashboard(
        "section",
        T_("Section dashboard"),
        period,
        [panel(ctx) for panel in PANELS],
        scope_id=section.id,
        scope_name=f"{section.parent.name if section.parent else ''} · {section.name}",
    )


def sections_led(session: Session, actor: Actor) -> list[OrgUnit]:
    """Sections the actor heads or leads, in tree order (the section dashboard's choice)."""
    from app.models import Role

    ids = set(actor.scopes.get(Role.section_head, ())) | set(actor.scopes.get(Role.unit_leader, ()))
    if not ids:
        return []
    return list(
        session.scalars(
            select(OrgUnit).where(OrgUnit.id.in_(ids)).order_by(OrgUnit.parent_id, OrgUnit.sort_order, OrgUnit.id)
        )
    )
