"""Monthly analysis reports (月分析报告): opening, who may read and write them, the office's overview.

A report is opened by starting ``monthly_analysis`` for a unit and a month (the monthly
scheduler job for every enabled unit, or the office / the unit's admin for one unit); the
process listener creates the report row, so a start from the API or the CLI gets one too.
Opening is idempotent per unit and month: the process instance is unique per (process, unit,
period) and the report per (unit, period).

Readers: the office (every unit), the unit's admin and principal (their unit). Staff, section
heads and other units' admins cannot read a unit's report. Writers: the unit's admin while the
report waits for the draft.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import (
    AnalysisReport,
    HumanTask,
    OrgKind,
    OrgUnit,
    ProcessInstance,
    ReportStatus,
    Role,
    TaskCandidate,
    TaskStatus,
)
from app.models.base import utcnow
from app.services import cycles
from app.services.actor import Actor
from app.services.analysis import figures
from app.services.errors import T_, Forbidden, Invalid, NotFound
from app.services.periods import check_period
from app.workflow import runtime

PROCESS = "monthly_analysis"
SECTIONS = ("overview", "highlights", "problems", "plan")
TEXT_MAX = 8000


def _may_read_unit(actor: Actor, unit_id: int) -> bool:
    return actor.is_district_wide or unit_id in actor.unit_ids_for(Role.unit_admin, Role.unit_principal)


def readable_unit_ids(actor: Actor) -> set[int] | None:
    """Units whose reports the actor may read; ``None`` means every unit."""
    if actor.is_district_wide:
        return None
    return actor.unit_ids_for(Role.unit_admin, Role.unit_principal)


def get_report(session: Session, actor: Actor, report_id: int) -> AnalysisReport:
    """A report the actor may read, or ``NotFound`` / ``Forbidden``."""
    report = session.get(AnalysisReport, report_id)
    if report is None:
        raise NotFound(T_("Monthly analysis report %(id)s does not exist.", id=report_id))
    if not _may_read_unit(actor, report.unit_id):
        raise Forbidden(
            T_("Only the unit's administrator and principal, and the performance office, read this report.")
        )
    return report


def for_instance(session: Session, instance: ProcessInstance) -> AnalysisReport:
    """The report of a ``monthly_analysis`` instance, created on first sight."""
    report = session.scalar(select(AnalysisReport).where(AnalysisReport.instance_id == instance.id))
    if report is not None:
        return report
    assert instance.subject_unit_id is not None  # the process is about a unit
    report = session.scalar(
        select(AnalysisReport).where(
            AnalysisReport.unit_id == instance.subject_unit_id, AnalysisReport.period == instance.period
        )
    )
    if report is None:
        report = AnalysisReport(unit_id=instance.subject_unit_id, period=instance.period, status=ReportStatus.drafting)
        session.add(report)
    report.instance_id = instance.id
    session.flush()
    return report


def open_report(session: Session, actor: Actor, unit_id: int, period: str) -> tuple[AnalysisReport, bool]:
    """Open the report of ``unit_id`` for the month ``period``; returns it and whether it was new.

    The office may open any unit's report, a unit's admin their own unit's (enabled or not:
    an explicit opening is a back-fill, as for appraisal cycles).
    """
    period = check_period(PROCESS, period)
    unit = session.get(OrgUnit, unit_id)
    if unit is None or unit.kind is not OrgKind.unit:
        raise NotFound(T_("Unit %(id)s does not exist.", id=unit_id))
    if not (actor.is_district_wide or unit_id in actor.unit_ids_for(Role.unit_admin)):
        raise Forbidden(T_("Only the performance office, or the unit's administrator, opens a unit's monthly report."))
    result = runtime.start_process(session, actor, PROCESS, period, subject_unit_id=unit.id)
    return for_instance(session, result.instance), result.created


def open_month(session: Session, actor: Actor, period: str) -> cycles.OpenSummary:
    """Open the month's report for every enabled unit; a rerun opens nothing twice.

    This is the cycle of a unit-subject process (``cycles.open_cycle``, ``cycles_units``): the
    scheduler's monthly job, the office's report page and ``flask cycles open --process
    monthly_analysis`` all open the same way and report the same summary.
    """
    if not actor.is_district_wide:
        raise Forbidden(T_("Only the performance office opens the monthly reports of all units."))
    return cycles.open_cycle(session, actor, PROCESS, period)


def check_sections(payload: dict[str, Any], *, complete: bool) -> dict[str, str]:
    """The four sections as clean text; ``complete`` requires each to be written."""
    out: dict[str, str] = {}
    errors: dict[str, Any] = {}
    for name in SECTIONS:
        value = payload.get(name)
        if value is None:
            value = ""
        if not isinstance(value, str):
            errors[name] = T_("Must be text.")
            continue
        value = value.replace("\r\n", "\n").strip()
        if len(value) > TEXT_MAX:
            errors[name] = T_("At most %(n)d characters.", n=TEXT_MAX)
        elif complete and not value:
            errors[name] = T_("Write this section before you submit the report.")
        out[name] = value
    if errors:
        raise Invalid(T_("Some fields need attention."), errors)
    return out


def waiting_task(session: Session, actor: Actor, report: AnalysisReport) -> HumanTask | None:
    """The report's open step if the actor is among those it waits for (the report page links to it)."""
    if report.instance_id is None or actor.person_id is None:
        return None
    return session.scalar(
        select(HumanTask)
        .join(TaskCandidate, TaskCandidate.task_id == HumanTask.id)
        .where(
            HumanTask.instance_id == report.instance_id,
            HumanTask.status == TaskStatus.ready,
            TaskCandidate.person_id == actor.person_id,
        )
        .order_by(HumanTask.id)
        .limit(1)
    )


def may_edit(session: Session, actor: Actor, report: AnalysisReport) -> bool:
    return report.status is ReportStatus.drafting and report.unit_id in actor.unit_ids_for(Role.unit_admin)


def save_draft(session: Session, actor: Actor, report: AnalysisReport, payload: dict[str, Any]) -> AnalysisReport:
    """Keep the unit admin's work in progress without submitting it."""
    if not may_edit(session, actor, report):
        raise Forbidden(T_("Only the unit's administrator edits the report, and only while it is being drafted."))
    for name, value in check_sections(payload, complete=False).items():
        setattr(report, name, value or None)
    report.updated_at = utcnow()
    session.flush()
    return report


def current_figures(session: Session, report: AnalysisReport, as_of: datetime | None = None) -> dict[str, Any]:
    """The figures as they stand now (a draft shows these; a submitted report its snapshot)."""
    return figures.compute(session, report.unit_id, report.period, as_of or utcnow())


def shown_figures(session: Session, report: AnalysisReport) -> dict[str, Any]:
    return report.figures if report.figures is not None else current_figures(session, report)


def check_snapshot(session: Session, actor: Actor, report: AnalysisReport) -> dict[str, tuple[Any, Any]]:
    """Recompute the snapshot as of its moment: the figures that no longer agree (empty if none)."""
    get_report(session, actor, report.id)
    if report.figures is None or report.figures_at is None:
        return {}
    fresh = figures.compute(session, report.unit_id, report.period, report.figures_at)
    return figures.differences(report.figures, fresh)


@dataclass(frozen=True)
class UnitRow:
    """The office's overview of one unit for a month."""

    unit: OrgUnit
    report: AnalysisReport | None

    @property
    def state(self) -> str:
        if self.report is None:
            return "not_opened"
        if self.report.status is ReportStatus.drafting:
            return "returned" if self.report.returned else "drafting"
        return self.report.status.value


def overview(session: Session, actor: Actor, period: str) -> list[UnitRow]:
    """Every enabled unit (and any unit with a report) for the month, with its report's state."""
    if not actor.is_district_wide:
        raise Forbidden(T_("Only the performance office sees all units' monthly reports."))
    period = check_period(PROCESS, period)
    reports = {r.unit_id: r for r in session.scalars(select(AnalysisReport).where(AnalysisReport.period == period))}
    units = session.scalars(
        select(OrgUnit).where(OrgUnit.kind == OrgKind.unit).order_by(OrgUnit.sort_order, OrgUnit.id)
    )
    return [UnitRow(u, reports.get(u.id)) for u in units if u.enabled or u.id in reports]


def reports_of(
    session: Session, actor: Actor, period: str, unit_ids: list[int] | None = None, submitted_only: bool = True
) -> list[AnalysisReport]:
    """The month's reports the actor may read, filtered by unit; by default only those submitted."""
    period = check_period(PROCESS, period)
    stmt = select(AnalysisReport).join(OrgUnit, OrgUnit.id == AnalysisReport.unit_id)
    stmt = stmt.where(AnalysisReport.period == period).order_by(OrgUnit.sort_order, OrgUnit.id)
    allowed = readable_unit_ids(actor)
    if allowed is not None:
        stmt = stmt.where(AnalysisReport.unit_id.in_(allowed or {-1}))
    if unit_ids:
        stmt = stmt.where(AnalysisReport.unit_id.in_(unit_ids))
    if submitted_only:
        stmt = stmt.where(AnalysisReport.submitted_at.is_not(None))
    return list(session.scalars(stmt))


def recent_reports(
    session: Session, actor: Actor, unit_ids: set[int] | None = None, limit: int = 24
) -> list[AnalysisReport]:
    """Recent reports of the actor's units (the office: every unit), newest month first."""
    stmt = select(AnalysisReport).order_by(AnalysisReport.period.desc(), AnalysisReport.unit_id).limit(limit)
    allowed = readable_unit_ids(actor)
    if allowed is not None:
        stmt = stmt.where(AnalysisReport.unit_id.in_(allowed or {-1}))
    if unit_ids:
        stmt = stmt.where(AnalysisReport.unit_id.in_(unit_ids))
    return list(session.scalars(stmt))


def report_json(report: AnalysisReport, shown: dict[str, Any] | None = None) -> dict[str, Any]:
    def when(moment: datetime | None) -> str | None:
        return moment.isoformat(timespec="seconds") if moment else None

    return {
        "id": report.id,
        "unit": {"id": report.unit_id, "name": report.unit.name},
        "period": report.period,
        "status": report.status.value,
        "returned": report.returned,
        "instance_id": report.instance_id,
        "sections": {name: getattr(report, name) for name in SECTIONS},
        "figures": shown if shown is not None else report.figures,
        "figures_at": when(report.figures_at),
        "submitted_at": when(report.submitted_at),
        "approved_at": when(report.approved_at),
        "reviewed_at": when(report.reviewed_at),
        "review_comment": report.review_comment,
        "comments": [
            {
                "step": c.step,
                "decision": c.decision,
                "text": c.text,
                "author": c.author.name if c.author else None,
                "at": when(c.at),
            }
            for c in report.comments
        ],
    }
