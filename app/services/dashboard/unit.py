"""The unit dashboard (leaders, principal, administrator): cycle progress, overdue work, scores, differentiation,
bonus and deduction points, grades within the quota."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session, aliased

from app.models import AppraisalRecord, HumanTask, OrgKind, OrgUnit, Person, PersonStatus, RecordStatus, TaskStatus
from app.models.base import utcnow
from app.services.actor import Actor
from app.services.appraisal.differentiation import Thresholds, reasons_for
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
    check_unit,
    final_score,
    months_of,
    pct,
)
from app.services.dashboard.differentiation import reviewer_differentiation
from app.services.errors import T_


@dataclass(frozen=True)
class Ctx:
    session: Session
    unit: OrgUnit
    period: str
    now: datetime
    limits: Thresholds = field(default_factory=Thresholds)

    def sections(self) -> list[OrgUnit]:
        return list(
            self.session.scalars(
                select(OrgUnit)
                .where(OrgUnit.parent_id == self.unit.id, OrgUnit.kind == OrgKind.section)
                .order_by(OrgUnit.sort_order, OrgUnit.id)
            )
        )


def cycle_progress(ctx: Ctx) -> Panel:
    people = dict(
        ctx.session.execute(
            select(Person.section_id, func.count(Person.id))
            .join(OrgUnit, Person.section_id == OrgUnit.id)
            .where(OrgUnit.parent_id == ctx.unit.id, Person.status == PersonStatus.active)
            .group_by(Person.section_id)
        ).all()
    )
    counts: dict[int, dict[str, int]] = {}
    for section_id, status, n in ctx.session.execute(
        select(Person.section_id, AppraisalRecord.status, func.count(AppraisalRecord.id))
        .join(Person, AppraisalRecord.person_id == Person.id)
        .join(OrgUnit, Person.section_id == OrgUnit.id)
        .where(OrgUnit.parent_id == ctx.unit.id, AppraisalRecord.period.in_(months_of(ctx.period)))
        .group_by(Person.section_id, AppraisalRecord.status)
    ):
        if section_id is not None:
            counts.setdefault(section_id, {})[status.value] = n
    rows = []
    for s in ctx.sections():
        c = counts.get(s.id, {})
        opened = sum(c.values())
        rows.append(
            {
                "section_id": s.id,
                "section": s.name,
                "people": people.get(s.id, 0),
                "opened": opened,
                **{st.value: c.get(st.value, 0) for st in RecordStatus},
                "archived_pct": pct(c.get("archived", 0), opened),
            }
        )
    table = Table(
        [
            Column("section", T_("Section"), "link"),
            Column("people", T_("People"), "int"),
            Column("opened", T_("Appraisals"), "int"),
            Column("summary", T_("Summary to write"), "int"),
            Column("scoring", T_("Being scored"), "int"),
            Column("review", T_("In review"), "int"),
            Column("feedback", T_("Result sent"), "int"),
            Column("archived", T_("Archived"), "int"),
            Column("archived_pct", T_("Archived (per cent)"), "percent"),
        ],
        rows if any(r["opened"] for r in rows) else [],
    )
    return Panel(
        "cycle_progress",
        T_("Cycle progress by section"),
        table,
        Chart("stacked", "section", ("summary", "scoring", "review", "feedback", "archived")),
        empty=T_("No appraisal has been opened for this period."),
    )


def overdue_tasks(ctx: Ctx) -> Panel:
    section = aliased(OrgUnit)
    rows = ctx.session.execute(
        select(section.name, HumanTask.step_name, func.count(HumanTask.id), func.min(HumanTask.due_at))
        .join(section, HumanTask.section_id == section.id)
        .where(HumanTask.unit_id == ctx.unit.id, HumanTask.status == TaskStatus.ready, HumanTask.due_at < ctx.now)
        .group_by(section.name, section.sort_order, HumanTask.step_name)
        .order_by(section.sort_order, HumanTask.step_name)
    ).all()
    table = Table(
        [
            Column("label", T_("Section and step")),
            Column("count", T_("Overdue tasks"), "int"),
            Column("oldest_due", T_("Oldest due date")),
        ],
        [{"label": f"{name} · {step}", "count": n, "oldest_due": oldest} for name, step, n, oldest in rows],
    )
    return Panel(
        "overdue_tasks", T_("Overdue tasks"), table, Chart("hbar", "label", ("count",)), empty=T_("Nothing is overdue.")
    )


def score_ranking(ctx: Ctx) -> Panel:
    score = final_score()
    rows = ctx.session.execute(
        select(
            OrgUnit.id,
            OrgUnit.name,
            func.count(AppraisalRecord.id),
            func.avg(score),
            func.min(score),
            func.max(score),
            *band_counts(score),
        )
        .join(Person, Person.section_id == OrgUnit.id)
        .join(AppraisalRecord, AppraisalRecord.person_id == Person.id)
        .where(OrgUnit.parent_id == ctx.unit.id, AppraisalRecord.period.in_(months_of(ctx.period)), score.is_not(None))
        .group_by(OrgUnit.id, OrgUnit.name)
    ).all()
    out = [
        {
            "section_id": r[0],
            "section": r[1],
            "scored": r[2],
            "mean": round(float(r[3]), 2),
            "min": r[4],
            "max": r[5],
            **{f"band_{key}": int(getattr(r, f"band_{key}") or 0) for key, *_ in BANDS},
        }
        for r in rows
    ]
    out.sort(key=lambda r: (-r["mean"], r["section"]))
    for rank, r in enumerate(out, start=1):
        r["rank"] = rank
    table = Table(
        [
            Column("rank", T_("Rank"), "int"),
            Column("section", T_("Section"), "link"),
            Column("scored", T_("Scored"), "int"),
            Column("mean", T_("Mean score"), "number"),
            Column("min", T_("Lowest"), "number"),
            Column("max", T_("Highest"), "number"),
            *[Column(f"band_{key}", label, "int") for key, label, *_ in BANDS],
        ],
        out,
    )
    return Panel(
        "score_ranking",
        T_("Scores and ranking by section"),
        table,
        Chart("stacked", "section", tuple(f"band_{key}" for key, *_ in BANDS)),
    )


def differentiation(ctx: Ctx) -> Panel:
    """Per reviewer, the figures and the flags of the differentiation check (its thresholds, its reasons)."""
    rows = []
    for r in reviewer_differentiation(ctx.session, ctx.unit.id, ctx.period):
        reasons = reasons_for(r, ctx.limits)
        rows.append(
            {
                "reviewer": r.reviewer_name,
                "scored": r.scored,
                "full_pct": round(100 * r.full_share, 1),
                "equal_pct": round(100 * r.equal_share, 1),
                "stddev": r.stddev,
                "spread": r.spread,
                "flag": reasons or T_("Yes"),  # a tuple of reasons: one line each on the page and in Excel
                "flagged": bool(reasons),
            }
        )
    table = Table(
        [
            Column("reviewer", T_("Reviewer")),
            Column("scored", T_("Scored"), "int"),
            Column("full_pct", T_("Full marks (per cent)"), "percent"),
            Column("equal_pct", T_("Equal scores (per cent)"), "percent"),
            Column("stddev", T_("Standard deviation"), "number"),
            Column("spread", T_("Spread (highest − lowest)"), "number"),
            Column("flag", T_("Differentiates?")),
        ],
        rows,
    )
    return Panel(
        "differentiation",
        T_("Differentiation per reviewer"),
        table,
        Chart("bar", "reviewer", ("full_pct", "equal_pct"), y_max=100),
        note=T_("Full marks or equal scores for everyone (打满分赋均分) tell people apart no better than no score."),
    )


def bonus_points(ctx: Ctx) -> Panel:
    return grades.unit_points_panel(ctx.session, ctx.unit, ctx.period)


def grades_within_quota(ctx: Ctx) -> Panel:
    return grades.unit_grades_panel(ctx.session, ctx.unit, ctx.period)


PANELS: list[Callable[[Ctx], Panel]] = [
    cycle_progress,
    overdue_tasks,
    score_ranking,
    differentiation,
    bonus_points,
    grades_within_quota,
]


def unit_dashboard(
    session: Session,
    actor: Actor,
    unit_id: int,
    period: str,
    *,
    now: datetime | None = None,
    limits: Thresholds | None = None,
) -> Dashboard:
    """One unit in a month or quarter, for its leaders, principal, administrator and the office.

    ``limits``: the differentiation thresholds (the deployment's settings; defaults otherwise).
    """
    period = check_dashboard_period(period, ("month", "quarter"))
    unit = check_unit(session, actor, unit_id)
    ctx = Ctx(session, unit, period, now or utcnow(), limits or Thresholds())
    return Dashboard(
        "unit", T_("Unit dashboard"), period, [panel(ctx) for panel in PANELS], scope_id=unit.id, scope_name=unit.name
    )
