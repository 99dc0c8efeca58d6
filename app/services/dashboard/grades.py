"""Panels built on the appraisal results: grades within the quota, bonus and deduction points, my grades.

Shared by the unit, staff and office dashboards (each adds the panel function to its ``PANELS``).
The figures come from the services that own them — ``results.period_results`` and
``grading.quota`` (the cap is ``floor(period_top_share × people graded)``, as confirmation
enforces it), ``bonus.unit_points_summary`` (approved items within the scheme's caps) — so a
dashboard never counts differently from the page that decides.
"""

from __future__ import annotations

from collections import Counter
from datetime import date

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from app.models import BonusDirection, BonusItem, OrgUnit, PeriodResult, ResultKind, ResultStatus
from app.services.appraisal import bonus, grading, results
from app.services.appraisal.scheme import PERIOD_GRADES, scheme_for
from app.services.dashboard.common import Chart, Column, Panel, Table, pct
from app.services.errors import T_, Text
from app.services.periods import period_kind

# Same msgids as the results pages (app/web/results/labels.py), so they are translated once.
GRADES: dict[str, Text] = {
    "good": T_("好 (good)"),
    "fairly_good": T_("较好 (fairly good)"),
    "average": T_("一般 (average)"),
    "poor": T_("较差 (poor)"),
    "excellent": T_("优秀 (excellent)"),
    "competent": T_("合格 / 称职 (competent)"),
    "basically_competent": T_("基本合格 / 基本称职 (basically competent)"),
    "incompetent": T_("不合格 / 不称职 (incompetent)"),
}
# Same msgids as the bonus pages (app/web/bonus).
BONUS_KINDS: dict[str, Text] = {
    "innovation": T_("Innovative work"),
    "commendation": T_("Commendation or award"),
    "responsibility": T_("Taking on responsibility"),
    "over_fulfilment": T_("Over-fulfilment of tasks"),
    "information": T_("Information reporting"),
    "criticism": T_("Criticised in a circular"),
    "discipline": T_("Breach of appraisal discipline"),
}
BONUS_STATUS: dict[str, Text] = {
    "proposed": T_("Proposed"),
    "in_review": T_("Awaiting approval"),
    "approved": T_("Approved"),
    "rejected": T_("Not approved"),
    "withdrawn": T_("Withdrawn"),
}
RESULT_STATUS: dict[str, Text] = {"draft": T_("Draft"), "confirmed": T_("Confirmed")}


def grade_label(key: str | None) -> Text | str:
    return GRADES.get(key or "", key or "—")


def quarter_of(period: str) -> str:
    """The quarter a month or quarter falls in; for a year, its last quarter."""
    kind = period_kind(period)
    if kind == "quarter":
        return period
    if kind == "month":
        return f"{period[:4]}-Q{(int(period[5:7]) - 1) // 3 + 1}"
    return f"{period[:4]}-Q4"


def latest_results_quarter(session: Session, up_to: str, unit_id: int | None = None) -> str | None:
    """The latest quarter up to ``up_to`` with computed results (of the unit, or of any unit)."""
    stmt = select(func.max(PeriodResult.period)).where(
        PeriodResult.kind == ResultKind.quarter, PeriodResult.period <= up_to
    )
    if unit_id is not None:
        stmt = stmt.where(PeriodResult.unit_id == unit_id)
    return session.scalar(stmt)


# --- unit -------------------------------------------------------------------------------------------


def unit_grades_panel(session: Session, unit: OrgUnit, period: str) -> Panel:
    """Per period grade: how many reach it by the thresholds, how many hold it, against the 好 quota."""
    quarter = latest_results_quarter(session, quarter_of(period), unit.id)
    columns = [
        Column("grade", T_("Grade")),
        Column("computed", T_("By the thresholds"), "int"),
        Column("people", T_("Graded"), "int"),
        Column("share", T_("Share (per cent)"), "percent"),
        Column("quota", T_("Quota"), "int"),
        Column("within", T_("Within the quota?")),
    ]
    if quarter is None:
        return Panel(
            "grades",
            T_("Grades within the quota"),
            Table(columns, []),
            empty=T_("No quarter up to %(quarter)s has computed results yet.", quarter=quarter_of(period)),
        )
    rows_ = results.period_results(session, unit.id, quarter)
    q = grading.quota(scheme_for(session, unit.id, int(quarter[:4])), ResultKind.quarter, rows_)
    held, computed = Counter(r.grade for r in rows_), Counter(r.computed_grade for r in rows_)
    confirmed = sum(1 for r in rows_ if r.status is ResultStatus.confirmed)
    rows = []
    for g in PERIOD_GRADES:
        top = g == q.top_grade
        rows.append(
            {
                "grade": GRADES[g],
                "computed": computed[g],
                "people": held[g],
                "share": pct(held[g], q.graded),
                "quota": q.cap if top else None,
                "within": (T_("yes") if not q.exceeded else T_("no: %(n)s over", n=q.holders - q.cap)) if top else None,
                "flagged": top and q.exceeded,
            }
        )
    return Panel(
        "grades",
        T_("Grades within the quota"),
        Table(columns, rows),
        Chart("bar", "grade", ("computed", "people")),
        note=T_(
            "%(quarter)s: %(graded)s people graded, %(confirmed)s confirmed. At most %(cap)s may hold 好"
            " (%(share)s of the people graded, rounded down).",
            quarter=quarter,
            graded=q.graded,
            confirmed=confirmed,
            cap=q.cap,
            share=f"{q.share:.0%}",
        ),
    )


def unit_points_panel(session: Session, unit: OrgUnit, period: str) -> Panel:
    """Counted bonus and deduction points of the quarter, for everyone with an approved item."""
    quarter = quarter_of(period)
    rows = []
    for p in bonus.unit_points_summary(session, unit.id, quarter):
        s = p.points
        if not (s.bonus_raw or s.deduction_raw):
            continue
        rows.append(
            {
                "name": p.name,
                "section": p.section or "—",
                "bonus_raw": s.bonus_raw,
                "bonus": s.bonus_counted,
                "deduction_raw": s.deduction_raw,
                "deduction": s.deduction_counted,
                "net": s.net,
                "capped": s.capped_note or "",
                "flagged": s.capped_note is not None,
            }
        )
    table = Table(
        [
            Column("name", T_("Name")),
            Column("section", T_("Section")),
            Column("bonus_raw", T_("Bonus approved"), "number"),
            Column("bonus", T_("Bonus counted"), "number"),
            Column("deduction_raw", T_("Deductions approved"), "number"),
            Column("deduction", T_("Deductions counted"), "number"),
            Column("net", T_("Net points"), "number"),
            Column("capped", T_("Over a cap")),
        ],
        rows,
    )
    return Panel(
        "bonus_points",
        T_("Bonus and deduction points, %(quarter)s", quarter=quarter),
        table,
        Chart("hbar", "name", ("bonus", "deduction")),
        note=T_("Approved items dated in the quarter, counted within the scoring scheme's caps."),
        empty=T_("No approved bonus or deduction item is dated in %(quarter)s.", quarter=quarter),
    )


# --- office -----------------------------------------------------------------------------------------


def office_grades_panel(session: Session, units: list[OrgUnit], period: str) -> Panel:
    """Every unit's grades of the latest quarter with results, one grouped query; the cap per unit's scheme."""
    quarter = latest_results_quarter(session, quarter_of(period))
    columns = [
        Column("unit", T_("Unit"), "link"),
        Column("graded", T_("Graded"), "int"),
        *[Column(f"grade_{g}", GRADES[g], "int") for g in PERIOD_GRADES],
        Column("quota", T_("Quota of 好"), "int"),
        Column("within", T_("Within the quota?")),
        Column("confirmed", T_("Confirmed"), "int"),
    ]
    if quarter is None:
        return Panel(
            "grades_by_unit",
            T_("Grades within the quota by unit"),
            Table(columns, []),
            empty=T_("No quarter up to %(quarter)s has computed results yet.", quarter=quarter_of(period)),
        )
    found: dict[int, dict[str, int]] = {}
    confirmed: Counter[int] = Counter()
    for unit_id, grade, n, done in session.execute(
        select(
            PeriodResult.unit_id,
            PeriodResult.grade,
            func.count(PeriodResult.id),
            func.sum(case((PeriodResult.status == ResultStatus.confirmed, 1), else_=0)),
        )
        .where(PeriodResult.period == quarter)
        .group_by(PeriodResult.unit_id, PeriodResult.grade)
    ):
        found.setdefault(unit_id, {})[grade] = int(n)
        confirmed[unit_id] += int(done or 0)
    rows = []
    for unit in units:
        if unit.id not in found:
            continue
        counts, graded = found[unit.id], sum(found[unit.id].values())
        # one scheme per unit with results: a unit may override the district's quota
        share = scheme_for(session, unit.id, int(quarter[:4])).period_top_share
        cap = int(share * graded)
        over = counts.get(PERIOD_GRADES[0], 0) - cap
        rows.append(
            {
                "unit_id": unit.id,
                "unit": unit.name,
                "graded": graded,
                **{f"grade_{g}": counts.get(g, 0) for g in PERIOD_GRADES},
                "quota": cap,
                "within": T_("yes") if over <= 0 else T_("no: %(n)s over", n=over),
                "confirmed": confirmed[unit.id],
                "flagged": over > 0,
            }
        )
    return Panel(
        "grades_by_unit",
        T_("Grades within the quota by unit"),
        Table(columns, rows),
        Chart("stacked", "unit", tuple(f"grade_{g}" for g in PERIOD_GRADES)),
        note=T_("%(quarter)s, grades as they stand (drafts until the unit confirms them).", quarter=quarter),
    )


# --- staff ------------------------------------------------------------------------------------------


def my_grades_panel(session: Session, person_id: int, year: str) -> Panel:
    """The person's confirmed quarter and annual results of the year, in order."""
    mine = [
        r
        for r in results.results_of_person(session, person_id)
        if r.period == year or (r.kind is ResultKind.quarter and r.period.startswith(f"{year}-"))
    ]
    mine.sort(key=lambda r: (r.kind is ResultKind.year, r.period))
    rows = [
        {
            "period": r.period,
            "total": r.total,
            "grade": grade_label(r.grade),
            "by_thresholds": grade_label(r.computed_grade) if r.computed_grade != r.grade else "",
            "bonus": r.bonus_points,
            "deduction": r.deduction_points,
        }
        for r in mine
    ]
    table = Table(
        [
            Column("period", T_("Period")),
            Column("total", T_("Total"), "number"),
            Column("grade", T_("Grade")),
            Column("by_thresholds", T_("By the thresholds alone")),
            Column("bonus", T_("Bonus counted"), "number"),
            Column("deduction", T_("Deductions counted"), "number"),
        ],
        rows,
    )
    return Panel(
        "my_grades",
        T_("My period grades"),
        table,
        Chart("line", "period", ("total",)),
        empty=T_("No grade of %(year)s has been confirmed for you yet.", year=year),
    )


def my_points_panel(session: Session, person_id: int, year: str) -> Panel:
    """The person's bonus and deduction items dated in the year, whatever their state."""
    first, last = date(int(year), 1, 1), date(int(year), 12, 31)
    items = session.scalars(
        select(BonusItem)
        .where(BonusItem.person_id == person_id, BonusItem.occurred_on >= first, BonusItem.occurred_on <= last)
        .order_by(BonusItem.occurred_on, BonusItem.id)
    ).all()
    rows = [
        {
            "occurred_on": i.occurred_on.isoformat(),
            "quarter": bonus.quarter_of(i.occurred_on),
            "kind": BONUS_KINDS.get(i.kind, i.kind),
            "points": i.points if i.direction is BonusDirection.bonus else -i.points,
            "status": BONUS_STATUS[i.status.value],
            "reason": i.reason,
        }
        for i in items
    ]
    table = Table(
        [
            Column("occurred_on", T_("Date")),
            Column("quarter", T_("Quarter")),
            Column("kind", T_("Kind")),
            Column("points", T_("Points"), "number"),
            Column("status", T_("Status")),
            Column("reason", T_("Reason")),
        ],
        rows,
    )
    return Panel(
        "my_points",
        T_("My bonus and deduction items"),
        table,
        note=T_("Only approved items count, within the scoring scheme's caps per quarter and year."),
        empty=T_("No bonus or deduction item of %(year)s.", year=year),
    )
