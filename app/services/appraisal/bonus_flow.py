"""The bonus/deduction process (bonus_deduction.bpmn) seen from the item's side, and the approval guard.

Flow: a person's own bonus proposal goes to the head of their section (``bonus_check``: forward,
return to the person with comments, or refuse); a returned proposal comes back to the person
(``bonus_revise``: change and resubmit, or withdraw). Items the section head proposes, and those
the head forwards, go to the unit principal (``bonus_decide``: approve or refuse, with a comment).

Why the principal (主要领导) decides and not the leader in charge (分管领导): the points move a
person's period total and so the unit's grade quota (好 at most 40 per cent) and bonus
distribution, which are the unit's results the principal signs; and deductions (通报批评,
违反考评纪律) are disciplinary, so one decider per unit applies one standard across all sections,
where each leader in charge sees only their own sections. When the principal is the subject
the step falls to the unit's administrator (see app/workflow/assignment.py).

Approved items are immutable: a ``before_flush`` guard refuses any change to an approved item or
its evidence, whatever path it comes by (like archived appraisal records, records.install_guard).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event, inspect, select
from sqlalchemy.orm import Session

from app.models import (
    BonusEvidence,
    BonusItem,
    BonusStatus,
    HumanTask,
    InstanceStatus,
    ProcessInstance,
    TaskStatus,
)
from app.models.base import utcnow
from app.services.actor import Actor
from app.services.appraisal import bonus, bonus_access, bonus_items, common
from app.services.errors import T_, Conflict, Invalid
from app.workflow import hooks
from forms.builder import validate_json

PROCESS = bonus_items.PROCESS
REVISE_FIELDS = ("kind", "points", "occurred_on", "reason")
WAITING_STATUS = {
    "bonus_check": BonusStatus.proposed,
    "bonus_revise": BonusStatus.proposed,
    "bonus_decide": BonusStatus.in_review,
}
FINAL_STATUS = {
    "approve": BonusStatus.approved,
    "reject": BonusStatus.rejected,
    "withdraw": BonusStatus.withdrawn,
}


class Approved(Conflict):
    """A change to an approved bonus or deduction item."""


def approved_error(item: BonusItem) -> Approved:
    when = common.local_date(item.decided_at).isoformat() if item.decided_at else ""
    return Approved(T_("Item %(id)s was approved on %(date)s and can no longer be changed.", id=item.id, date=when))


def _was_approved(item: BonusItem) -> bool:
    """The status the item had when loaded (before changes of this flush)."""
    state = inspect(item)
    if not state.persistent:
        return False
    history = state.attrs.status.history
    before = history.deleted[0] if history.deleted else item.status
    return before == BonusStatus.approved


def _guard(session: Session, _context: Any, _instances: Any) -> None:
    for obj in [*session.dirty, *session.deleted]:
        if isinstance(obj, BonusItem) and _was_approved(obj) and (obj in session.deleted or session.is_modified(obj)):
            raise approved_error(obj)
    for obj in [*session.new, *session.dirty, *session.deleted]:
        if isinstance(obj, BonusEvidence):
            item = obj.item if obj.item is not None else session.get(BonusItem, obj.item_id)
            if item is not None and _was_approved(item):
                raise approved_error(item)


def install_guard() -> None:
    if not event.contains(Session, "before_flush", _guard):
        event.listen(Session, "before_flush", _guard)


# --- task handlers ---------------------------------------------------------------------------------


def item_for_instance(session: Session, instance_id: int) -> BonusItem | None:
    return session.scalar(select(BonusItem).where(BonusItem.instance_id == instance_id))


def _item(session: Session, task: HumanTask) -> BonusItem:
    item = item_for_instance(session, task.instance_id)
    if item is None:
        raise Conflict(T_("This process has no bonus or deduction item; it cannot be completed."))
    return item


def _plain(form_key: str, payload: dict[str, Any]) -> dict[str, Any]:
    data, errors = validate_json(form_key, payload)
    if errors:
        raise Invalid(T_("Some fields need attention."), errors)
    return data


def handle_check(session: Session, actor: Actor, task: HumanTask, payload: dict[str, Any]) -> dict[str, Any]:
    """The section head's check: the comment is kept on the item (the history keeps each round)."""
    data = _plain(task.form_key, payload)
    item = _item(session, task)
    item.check_comment = data.get("comment") or None
    item.checked_by_id, item.checked_at = actor.person_id, utcnow()
    item.updated_at = utcnow()
    session.flush()
    return data


def handle_revise(session: Session, actor: Actor, task: HumanTask, payload: dict[str, Any]) -> dict[str, Any]:
    """The person's answer to a return: changed fields (optional) and resubmit, or withdraw."""
    changes = {k: payload[k] for k in REVISE_FIELDS if k in payload}
    data = _plain(task.form_key, {k: v for k, v in payload.items() if k not in REVISE_FIELDS})
    item = _item(session, task)
    if data["decision"] == "resubmit":
        bonus_items.revise(session, actor, item, changes, common.local_today())
        data.update(
            kind=item.kind, points=common.fmt(item.points), occurred_on=item.occurred_on.isoformat(), reason=item.reason
        )
    return data


def handle_decide(session: Session, actor: Actor, task: HumanTask, payload: dict[str, Any]) -> dict[str, Any]:
    """The principal's decision; an approval needs at least one evidence file."""
    data = _plain(task.form_key, payload)
    item = _item(session, task)
    if data["decision"] == "approve" and not item.evidence:
        raise Invalid(
            T_("Item %(id)s has no evidence; each item needs evidence before it is approved.", id=item.id),
            {"decision": T_("Ask for the evidence to be attached first, or do not approve it.")},
        )
    item.decision_comment = data.get("comment") or None
    item.decided_by_id, item.decided_at = actor.person_id, utcnow()
    session.flush()
    return data


def on_progress(session: Session, instance: ProcessInstance, task: HumanTask | None, decision: str | None) -> None:
    """Keep the item's status equal to the step that waits, or to how the process ended."""
    item = item_for_instance(session, instance.id)
    if item is None or item.status not in bonus_access.OPEN:
        return
    if instance.status is InstanceStatus.cancelled:
        item.status = BonusStatus.withdrawn
    elif instance.status is InstanceStatus.completed:
        item.status = FINAL_STATUS.get(decision or "", BonusStatus.rejected)
    else:
        waiting = session.scalars(
            select(HumanTask.form_key).where(HumanTask.instance_id == instance.id, HumanTask.status == TaskStatus.ready)
        ).all()
        status = next((WAITING_STATUS[f] for f in waiting if f in WAITING_STATUS), None)
        if status is not None:
            item.status = status
    item.updated_at = utcnow()
    session.flush()


# --- what the task pages and GET /api/v1/tasks/<id> show -----------------------------------------


def context(session: Session, task: HumanTask) -> dict[str, Any]:
    item = item_for_instance(session, task.instance_id)
    if item is None:
        return {}
    points = bonus.counted_points(session, item.person_id, bonus.quarter_of(item.occurred_on))
    return {"bonus_item": bonus_items.item_dict(item), "points": points_json(points)}


def points_json(points: bonus.PointsSummary) -> dict[str, Any]:
    return {
        "quarter": points.quarter,
        "bonus_raw": float(points.bonus_raw),
        "bonus_counted": float(points.bonus_counted),
        "deduction_raw": float(points.deduction_raw),
        "deduction_counted": float(points.deduction_counted),
        "net": float(points.net),
        "bonus_cap_period": float(points.bonus_cap_period),
        "bonus_cap_year": float(points.bonus_cap_year),
        "deduction_cap_period": float(points.deduction_cap_period) if points.deduction_cap_period is not None else None,
        "year_bonus_counted": float(points.year_bonus_counted),
        "capped_note": points.capped_note,
        "item_ids": list(points.item_ids),
    }


def register() -> None:
    install_guard()
    hooks.register_task_handler("bonus_check", handle_check, context)
    hooks.register_task_handler("bonus_revise", handle_revise, context)
    hooks.register_task_handler("bonus_decide", handle_decide, context)
    hooks.register_listener(PROCESS, on_progress)
