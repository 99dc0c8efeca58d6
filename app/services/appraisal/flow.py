"""The periodic appraisal process (periodic_appraisal.bpmn) seen from the appraisal record's side.

- Task handlers: ``period_summary`` (submit_summary) stores the summary; ``appraisal_score``
  (section_score) stores per-item scores; ``appraisal_review`` (leader_review) stores the
  decision and any adjustment; ``feedback_ack`` (feedback) records acknowledgement or appeal,
  refusing an appeal after the window. Each returns the small dict the engine keeps.
- The listener keeps ``record.status`` equal to the step that waits, opens the appeal window
  when the result goes back to the person, and archives (备案) the record when the process ends.
- Forms used by other processes keep their plain behaviour: only this process has records.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import AppraisalRecord, HumanTask, InstanceStatus, ProcessInstance, RecordStatus, TaskStatus
from app.models.base import utcnow
from app.services.actor import Actor
from app.services.appraisal import common, records, scoring, weeks
from app.services.errors import T_, Invalid
from app.workflow import hooks
from forms.builder import validate_json

PROCESS = common.PROCESS
# Which record status a waiting form means (``review`` is the form of definitions before appraisal_review).
FORM_STATUS = {
    "period_summary": RecordStatus.summary,
    "appraisal_score": RecordStatus.scoring,
    "appraisal_review": RecordStatus.review,
    "review": RecordStatus.review,
    "feedback_ack": RecordStatus.feedback,
}


def record_for_task(session: Session, task: HumanTask) -> AppraisalRecord | None:
    """The record a task works on; ``None`` for tasks of other processes that reuse these forms."""
    if task.process_key != PROCESS:
        return None
    return records.for_instance(session, task.instance)


def _plain(form_key: str, payload: dict[str, Any]) -> dict[str, Any]:
    data, errors = validate_json(form_key, payload)
    if errors:
        raise Invalid(T_("Some fields need attention."), errors)
    return data


def handle_summary(session: Session, actor: Actor, task: HumanTask, payload: dict[str, Any]) -> dict[str, Any]:
    record = record_for_task(session, task)
    if record is None:
        return _plain(task.form_key, payload)
    return records.submit_summary(session, actor, record, payload)


def handle_score(session: Session, actor: Actor, task: HumanTask, payload: dict[str, Any]) -> dict[str, Any]:
    record = record_for_task(session, task)
    if record is None:
        data = _plain(task.form_key, payload)
        if data.get("score") is None:
            raise Invalid(T_("Some fields need attention."), {"score": T_("A score from 0 to 100.")})
        return data
    return scoring.score_record(session, actor, record, payload)


def handle_review(session: Session, actor: Actor, task: HumanTask, payload: dict[str, Any]) -> dict[str, Any]:
    record = record_for_task(session, task)
    if record is None:
        return _plain(task.form_key, payload)
    return scoring.review_record(session, actor, record, payload)


def handle_feedback(session: Session, actor: Actor, task: HumanTask, payload: dict[str, Any]) -> dict[str, Any]:
    data = _plain(task.form_key, payload)
    record = record_for_task(session, task)
    if record is not None:
        records.respond(session, actor, record, data)
    return data


def _record_status(waiting_forms: Sequence[str]) -> RecordStatus | None:
    """The record status the first waiting appraisal step means (``None``: no appraisal step waits)."""
    return next((FORM_STATUS[f] for f in waiting_forms if f in FORM_STATUS), None)


def on_started(session: Session, started: Sequence[hooks.Started]) -> None:
    """Create the records of new instances, each in its final state, all in one insert.

    The start half of ``on_progress`` (which ``hooks.register_start_listener`` replaces on start):
    a new record is at the step that waits, archived if the process already ended.
    """
    now = utcnow()
    rows: list[dict[str, Any]] = []
    for s in started:
        values: dict[str, Any] = {
            "person_id": s.subject_id,
            "period": s.period,
            "instance_id": s.instance_id,
            "status": RecordStatus.summary,
            "created_at": s.created_at,
            "updated_at": now,
        }
        status = _record_status(s.waiting_forms)
        if s.completed:
            values.update(status=RecordStatus.archived, archived_at=now)
        elif status is not None:
            values["status"] = status
            if status is RecordStatus.feedback:
                values["feedback_at"] = now
                values["appeal_deadline"] = common.end_of_local_day(
                    common.local_date(now) + timedelta(days=common.policy().appeal_days)
                )
        rows.append(values)
    records.create_started(session, rows)


def on_progress(session: Session, instance: ProcessInstance, task: HumanTask | None, decision: str | None) -> None:
    """Move the record along with the process; archive it when the process is done."""
    record = records.for_instance(session, instance)
    if record.status is RecordStatus.archived:
        return
    now = utcnow()
    if instance.status is InstanceStatus.completed:
        record.status, record.archived_at = RecordStatus.archived, now
    else:
        waiting = session.scalars(
            select(HumanTask.form_key).where(HumanTask.instance_id == instance.id, HumanTask.status == TaskStatus.ready)
        ).all()
        status = _record_status(waiting)
        if status is RecordStatus.feedback and record.status is not RecordStatus.feedback:
            days = common.policy().appeal_days
            record.feedback_at = now
            record.appeal_deadline = common.end_of_local_day(common.local_date(now) + timedelta(days=days))
        if status is not None:
            record.status = status
    record.updated_at = now
    session.flush()


# --- what the task pages and GET /api/v1/tasks/<id> show -----------------------------------------


def _logs(session: Session, record: AppraisalRecord) -> dict[str, Any]:
    groups = weeks.period_entries(session, record.person_id, record.period)
    states = weeks.person_weeks(session, record.person_id, common.weeks_of_period(record.period), common.local_today())
    return {
        "log_weeks": [s.as_json() for s in states],
        "log_groups": weeks.groups_json(groups),
        "prefill": weeks.prefill(groups),
    }


def summary_context(session: Session, task: HumanTask) -> dict[str, Any]:
    record = record_for_task(session, task)
    if record is None:
        return {}
    return {"appraisal": records.record_dict(record), **_logs(session, record)}


def score_context(session: Session, task: HumanTask) -> dict[str, Any]:
    record = record_for_task(session, task)
    if record is None:
        return {}
    version = scoring.basis(session, record)
    indicators = [
        {
            "id": i.id,
            "category": i.category.value,
            "name": i.name,
            "standard": i.standard,
            "weight": float(i.weight),
            "threshold": float(scoring.threshold(i.weight)),
        }
        for i in (version.items if version is not None else [])
    ]
    return {
        "appraisal": records.record_dict(record),
        "score_mode": "items" if version is not None else "overall",
        "indicators": indicators,
        "low_share": float(common.policy().low_share),
        **_logs(session, record),
    }


def feedback_context(session: Session, task: HumanTask) -> dict[str, Any]:
    record = record_for_task(session, task)
    return {"appraisal": records.record_dict(record)} if record is not None else {}


def register(config: Mapping[str, Any] | None = None) -> None:
    if config is not None:
        common.configure(config)
    records.install_guard()
    hooks.register_task_handler("period_summary", handle_summary, summary_context)
    hooks.register_task_handler("appraisal_score", handle_score, score_context)
    hooks.register_task_handler("appraisal_review", handle_review, score_context)
    hooks.register_task_handler("feedback_ack", handle_feedback, feedback_context)
    hooks.register_start_listener(PROCESS, on_progress, on_started)
