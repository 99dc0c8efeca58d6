"""The appraisal record of a ``periodic_appraisal`` instance: lookups, serialisation and the archive guard.

Archive (备案) freezes a record. Every service that changes one calls ``ensure_open`` first, and
a ``before_flush`` guard refuses any change to an archived record, its item scores or appeals
that reaches the database by another path.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import event, insert, inspect, select
from sqlalchemy.orm import Session

from app.models import (
    AppraisalAppeal,
    AppraisalItemScore,
    AppraisalRecord,
    ProcessInstance,
    RecordStatus,
)
from app.services.actor import Actor
from app.services.appraisal import common
from app.services.errors import T_, Conflict, Forbidden, Invalid, NotFound
from forms.builder import validate_json

STATUS_ORDER = tuple(RecordStatus)


class Archived(Conflict):
    """A change to an archived (备案) appraisal record."""


def archived_error(record: AppraisalRecord) -> Archived:
    when = common.local_date(record.archived_at).isoformat() if record.archived_at else ""
    return Archived(
        T_(
            "The appraisal of %(period)s was archived on %(date)s and can no longer be changed.",
            period=record.period,
            date=when,
        )
    )


def ensure_open(record: AppraisalRecord) -> None:
    if record.status is RecordStatus.archived:
        raise archived_error(record)


def _was_archived(record: AppraisalRecord) -> bool:
    """The status the record had when loaded (before changes of this flush)."""
    history = inspect(record).attrs.status.history
    before = history.deleted[0] if history.deleted else record.status
    return before == RecordStatus.archived and inspect(record).persistent


def _guard(session: Session, _context: Any, _instances: Any) -> None:
    for obj in [*session.dirty, *session.deleted]:
        if not isinstance(obj, AppraisalRecord) or not _was_archived(obj):
            continue
        if obj in session.deleted or session.is_modified(obj):
            raise archived_error(obj)
    for obj in [*session.new, *session.dirty, *session.deleted]:
        if isinstance(obj, AppraisalItemScore | AppraisalAppeal):
            record = obj.record
            if record is not None and _was_archived(record):
                raise archived_error(record)


def install_guard() -> None:
    if not event.contains(Session, "before_flush", _guard):
        event.listen(Session, "before_flush", _guard)


# --- lookups ------------------------------------------------------------------------------------


def find_for_instance(session: Session, instance_id: int) -> AppraisalRecord | None:
    return session.scalar(select(AppraisalRecord).where(AppraisalRecord.instance_id == instance_id))


def for_instance(session: Session, instance: ProcessInstance) -> AppraisalRecord:
    """The instance's record, created when the instance started before records existed."""
    record = find_for_instance(session, instance.id)
    if record is None:
        record = AppraisalRecord(
            person_id=instance.subject_id,
            period=instance.period,
            instance_id=instance.id,
            status=RecordStatus.summary,
            created_at=instance.created_at,
            updated_at=instance.created_at,
        )
        session.add(record)
        session.flush()
    return record


def create_started(session: Session, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert the records of newly started instances (column values by ``flow.on_started``) in one statement.

    A Core insert on the session's connection: a cycle opening creates thousands of records and
    none of them is read back in the same unit of work.
    """
    if rows:
        session.connection().execute(insert(AppraisalRecord), list(rows))


def get_record(session: Session, actor: Actor, record_id: int) -> AppraisalRecord:
    record = session.get(AppraisalRecord, record_id)
    if record is None:
        raise NotFound(T_("Appraisal record %(id)s does not exist.", id=record_id))
    if not common.can_read(actor, record.person):
        raise Forbidden(T_("You may not see this person's appraisals."))
    return record


def list_records(session: Session, actor: Actor, person_id: int | None, year: int | None) -> list[AppraisalRecord]:
    """A person's records (default: the actor's), newest period first, optionally of one year."""
    person = common.person_of(session, person_id if person_id is not None else actor.person_id)
    if not common.can_read(actor, person):
        raise Forbidden(T_("You may not see this person's appraisals."))
    stmt = select(AppraisalRecord).where(AppraisalRecord.person_id == person.id)
    if year is not None:
        stmt = stmt.where(AppraisalRecord.period.like(f"{year}%"))
    return list(session.scalars(stmt.order_by(AppraisalRecord.period.desc(), AppraisalRecord.id.desc())))


# --- presentation -------------------------------------------------------------------------------


def formula(record: AppraisalRecord) -> str:
    """How the total was reached: ``45 + 27.5 + 9 = 81.5`` for item scores, the score itself otherwise."""
    if record.score is None:
        return ""
    if record.score_mode == "items" and record.items:
        return " + ".join(common.fmt(i.score) for i in record.items) + f" = {common.fmt(record.score)}"
    return common.fmt(record.score)


def _num(value: Decimal | None) -> float | None:
    return float(value) if value is not None else None


def _at(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def record_dict(record: AppraisalRecord) -> dict[str, Any]:
    return {
        "id": record.id,
        "person": {"id": record.person_id, "name": record.person.name},
        "period": record.period,
        "instance_id": record.instance_id,
        "status": record.status.value,
        "summary": record.summary,
        "plan": record.plan,
        "summary_at": _at(record.summary_at),
        "score_mode": record.score_mode,
        "score": _num(record.score),
        "score_formula": formula(record),
        "score_comment": record.score_comment,
        "justification": record.justification,
        "scored_by": {"id": record.scored_by_id, "name": record.scored_by.name} if record.scored_by else None,
        "scored_at": _at(record.scored_at),
        "items": [
            {
                "item_id": i.indicator_item_id,
                "category": i.category,
                "name": i.name,
                "weight": float(i.weight),
                "score": float(i.score),
                "comment": i.comment,
            }
            for i in record.items
        ],
        "review": {
            "decision": record.review_decision,
            "comment": record.review_comment,
            "by": {"id": record.reviewed_by_id, "name": record.reviewed_by.name} if record.reviewed_by else None,
            "at": _at(record.reviewed_at),
        },
        "adjusted_score": _num(record.adjusted_score),
        "adjust_reason": record.adjust_reason,
        "final_score": _num(record.final_score),
        "feedback_at": _at(record.feedback_at),
        "appeal_deadline": _at(record.appeal_deadline),
        "acknowledged_at": _at(record.acknowledged_at),
        "appeals": [
            {
                "reason": a.reason,
                "filed_at": _at(a.filed_at),
                "score_before": _num(a.score_before),
                "score_after": _num(a.score_after),
                "resolved_at": _at(a.resolved_at),
            }
            for a in record.appeals
        ],
        "archived_at": _at(record.archived_at),
    }


# --- the person's steps -------------------------------------------------------------------------


def submit_summary(
    session: Session, actor: Actor, record: AppraisalRecord, payload: dict[str, Any], *, now: datetime | None = None
) -> dict[str, Any]:
    """Store the summary (月小结) and the plan; return them as the workflow data."""
    ensure_open(record)
    data, fields = validate_json("period_summary", payload)
    if fields:
        raise Invalid(T_("Some fields need attention."), fields)
    record.summary, record.plan = data["summary"], data.get("plan") or None
    record.summary_at = record.updated_at = now or datetime.now(UTC)
    session.flush()
    return {"summary": data["summary"], "plan": data.get("plan") or ""}


def respond(
    session: Session, actor: Actor, record: AppraisalRecord, data: dict[str, Any], *, now: datetime | None = None
) -> None:
    """The person acknowledges the result, or appeals it while the appeal window is open."""
    ensure_open(record)
    now = now or datetime.now(UTC)
    if data.get("decision") == "appeal":
        deadline = record.appeal_deadline
        if deadline is not None and now >= deadline:
            closed = common.local_date(deadline - timedelta(seconds=1)).isoformat()
            raise Invalid(
                T_(
                    "Appeals against this result closed on %(date)s (%(days)d days after the feedback). "
                    "You can still acknowledge it.",
                    date=closed,
                    days=common.policy().appeal_days,
                ),
                {"decision": T_("The appeal window has closed; acknowledge the result.")},
            )
        record.appeals.append(
            AppraisalAppeal(
                reason=data.get("appeal_reason") or "",
                filed_by_id=actor.person_id,
                filed_at=now,
                score_before=record.final_score,
            )
        )
    else:
        record.acknowledged_at = now
        for appeal in record.appeals:
            if appeal.resolved_at is None:
                appeal.score_after, appeal.resolved_at = record.final_score, now
    record.updated_at = now
    session.flush()
