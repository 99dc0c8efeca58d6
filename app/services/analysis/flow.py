"""The monthly analysis process (monthly_analysis.bpmn) seen from the report's side.

- ``analysis_draft``: the unit admin submits the four sections; the figures of section (1)
  are computed and frozen with the report (the snapshot the principal and the office read).
- ``analysis_approve``: the principal approves or returns with a comment.
- ``analysis_review``: the office closes the report ("done") or returns it, with comments.
Every comment is kept on the report. The listener keeps ``report.status`` equal to the step
that waits and closes the report when the process ends.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import (
    AnalysisComment,
    AnalysisReport,
    HumanTask,
    InstanceStatus,
    ProcessInstance,
    ReportStatus,
    TaskStatus,
)
from app.models.base import utcnow
from app.services.actor import Actor
from app.services.analysis import figures, reports
from app.services.errors import T_, Invalid
from app.workflow import hooks
from forms.builder import validate_json

FORM_STATUS = {
    "analysis_draft": ReportStatus.drafting,
    "analysis_approve": ReportStatus.approving,
    "analysis_review": ReportStatus.reviewing,
}
STEP_OF_FORM = {"analysis_draft": "draft", "analysis_approve": "approve", "analysis_review": "review"}


def report_for_task(session: Session, task: HumanTask) -> AnalysisReport:
    if task.process_key != reports.PROCESS:
        raise Invalid(T_("This form belongs to the monthly analysis report."))
    return reports.for_instance(session, task.instance)


def handle_draft(session: Session, actor: Actor, task: HumanTask, payload: dict[str, Any]) -> dict[str, Any]:
    """Store the sections and freeze the figures; the workflow keeps only that it was submitted."""
    report = report_for_task(session, task)
    sections = reports.check_sections(payload, complete=True)
    now = utcnow()
    for name, value in sections.items():
        setattr(report, name, value)
    report.figures = figures.compute(session, report.unit_id, report.period, now)
    report.figures_at = now
    report.submitted_by_id, report.submitted_at = actor.person_id, now
    report.returned = False
    report.updated_at = now
    session.flush()
    return {"submitted": True}


def _decision(session: Session, actor: Actor, task: HumanTask, payload: dict[str, Any]) -> dict[str, Any]:
    report = report_for_task(session, task)
    data, errors = validate_json(task.form_key, payload)
    if errors:
        raise Invalid(T_("Some fields need attention."), errors)
    now = utcnow()
    decision, comment = data.get("decision"), (data.get("comment") or "").strip()
    if comment:
        report.comments.append(
            AnalysisComment(
                step=STEP_OF_FORM[task.form_key], decision=decision, text=comment, author_id=actor.person_id, at=now
            )
        )
    if decision == "return":
        report.returned = True
    elif task.form_key == "analysis_approve":
        report.approved_by_id, report.approved_at = actor.person_id, now
    else:
        report.reviewed_by_id, report.reviewed_at = actor.person_id, now
        report.review_comment = comment or None
    report.updated_at = now
    session.flush()
    return {"decision": decision, "comment": comment}


def on_progress(session: Session, instance: ProcessInstance, task: HumanTask | None, decision: str | None) -> None:
    """Create the report on start; keep its status equal to the waiting step; close it at the end."""
    report = reports.for_instance(session, instance)
    if instance.status is InstanceStatus.completed:
        report.status = ReportStatus.closed
    else:
        waiting = session.scalars(
            select(HumanTask.form_key).where(HumanTask.instance_id == instance.id, HumanTask.status == TaskStatus.ready)
        ).all()
        status = next((FORM_STATUS[f] for f in waiting if f in FORM_STATUS), None)
        if status is not None:
            report.status = status
    session.flush()


def task_context(session: Session, task: HumanTask) -> dict[str, Any]:
    """What GET /api/v1/tasks/<id> and the task page show beside the form."""
    report = report_for_task(session, task)
    return {"report": reports.report_json(report, reports.shown_figures(session, report))}


def register() -> None:
    hooks.register_task_handler("analysis_draft", handle_draft, task_context)
    hooks.register_task_handler("analysis_approve", _decision, task_context)
    hooks.register_task_handler("analysis_review", _decision, task_context)
    hooks.register_listener(reports.PROCESS, on_progress)
