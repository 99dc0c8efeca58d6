"""The approval processes of a publication (publication.bpmn) and a bonus distribution
(bonus_distribution.bpmn), seen from the domain side, and the flush guard that freezes both.

- ``publication_submit`` (unit admin): refreshes the draft's snapshot from the confirmed results
  (they may have been corrected after a return) and keeps the note for the principal.
- ``publication_approve`` / ``distribution_approve`` (principal): approve or return with a comment;
  the listener publishes / confirms when the process ends.
- ``distribution_submit`` (unit admin): hands the computed shares to the principal; a return
  makes the distribution a draft again so the pool can be changed and computed anew.
Forms reused by other processes keep their plain behaviour.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event, inspect, select
from sqlalchemy.orm import Session

from app.models import (
    BonusDistribution,
    DistributionStatus,
    HumanTask,
    InstanceStatus,
    ProcessInstance,
    Publication,
    PublicationRow,
    PublicationStatus,
)
from app.models.base import utcnow
from app.services import audit
from app.services.actor import Actor
from app.services.appraisal import distribution, publication
from app.services.errors import T_, Invalid
from app.workflow import hooks
from forms.builder import validate_json


def _plain(form_key: str, payload: dict[str, Any]) -> dict[str, Any]:
    data, errors = validate_json(form_key, payload)
    if errors:
        raise Invalid(T_("Some fields need attention."), errors)
    return data


def publication_of(session: Session, instance: ProcessInstance) -> Publication | None:
    if instance.process_key != publication.PROCESS:
        return None
    return session.scalar(select(Publication).where(Publication.instance_id == instance.id))


def distribution_of(session: Session, instance: ProcessInstance) -> BonusDistribution | None:
    if instance.process_key != distribution.PROCESS:
        return None
    return session.scalar(select(BonusDistribution).where(BonusDistribution.instance_id == instance.id))


def handle_publication_submit(
    session: Session, actor: Actor, task: HumanTask, payload: dict[str, Any]
) -> dict[str, Any]:
    data = _plain(task.form_key, payload)
    found = publication_of(session, task.instance)
    if found is None:
        return data
    publication.take_snapshot(session, found)
    found.note = data.get("note") or None
    session.flush()
    return {**data, "publication_summary": publication.summary_text(found)}


def handle_distribution_submit(
    session: Session, actor: Actor, task: HumanTask, payload: dict[str, Any]
) -> dict[str, Any]:
    data = _plain(task.form_key, payload)
    found = distribution_of(session, task.instance)
    if found is None:
        return data
    if found.status is not DistributionStatus.draft:
        raise distribution.frozen_error(found)
    found.note = data.get("note") or None
    found.status = DistributionStatus.submitted
    session.flush()
    return {**data, "distribution_summary": distribution.summary_text(found)}


def handle_approval(session: Session, actor: Actor, task: HumanTask, payload: dict[str, Any]) -> dict[str, Any]:
    return _plain(task.form_key, payload)


def on_publication(session: Session, instance: ProcessInstance, task: HumanTask | None, decision: str | None) -> None:
    """Publish when the principal's approval ends the process; a cancelled run withdraws the draft."""
    found = publication_of(session, instance)
    if found is None or found.status is not PublicationStatus.draft:
        return
    if instance.status is InstanceStatus.cancelled:  # the run was stopped: the draft is abandoned
        found.status = PublicationStatus.withdrawn
        session.flush()
    elif instance.status is InstanceStatus.completed:
        publication.publish(session, found, task.completed_by_id if task is not None else None)


def on_distribution(session: Session, instance: ProcessInstance, task: HumanTask | None, decision: str | None) -> None:
    """Confirm when the principal's approval ends the process; a return makes it a draft again."""
    found = distribution_of(session, instance)
    if found is None:
        return
    if instance.status is InstanceStatus.cancelled and found.status is not DistributionStatus.confirmed:
        found.status = DistributionStatus.withdrawn
        session.flush()
    elif instance.status is InstanceStatus.completed and found.status is DistributionStatus.submitted:
        now = utcnow()
        found.status = DistributionStatus.confirmed
        found.confirmed_at = now
        found.confirmed_by_id = task.completed_by_id if task is not None else None
        session.flush()
        audit.record(
            session,
            None,
            "distribution.confirm",
            "bonus_distribution",
            found.id,
            details={"unit_id": found.unit_id, "period": found.period, "pool": str(found.pool)},
            person_id=found.confirmed_by_id,
            username=publication.username_of(session, found.confirmed_by_id),
        )
    elif decision == "return" and found.status is DistributionStatus.submitted:
        found.status = DistributionStatus.draft
        session.flush()


# --- immutability guard -----------------------------------------------------------------------------


def _loaded_status(obj: Publication) -> PublicationStatus | None:
    state = inspect(obj)
    if not state.persistent:
        return None
    history = state.attrs.status.history
    return history.deleted[0] if history.deleted else obj.status


# A published publication may only be marked superseded (by its correction); a superseded one never changes.
_MAY_CHANGE = {"status", "superseded_at"}


def _refuse_publication_change(session: Session, obj: Publication) -> None:
    loaded = _loaded_status(obj)
    if loaded not in publication.FROZEN:
        return
    if obj in session.deleted:
        raise publication.frozen_error(obj)
    changed = {a.key for a in inspect(obj).attrs if a.history.has_changes()}
    if not changed:
        return
    if loaded is PublicationStatus.superseded or changed - _MAY_CHANGE or obj.status not in publication.FROZEN:
        raise publication.frozen_error(obj)


def _parents(session: Session, row: PublicationRow) -> list[Publication]:
    """The row's publication now and as loaded: a row taken out of a collection (delete-orphan) or
    moved to another publication has lost its current parent, but the loaded one still counts."""
    state = inspect(row)
    found = [row.publication, *state.attrs.publication.history.deleted]
    ids = {row.publication_id, *state.attrs.publication_id.history.deleted} - {None}
    found += [session.get(Publication, i) for i in ids]
    return [p for p in found if p is not None]


def _guard(session: Session, _context: Any, _instances: Any) -> None:
    for obj in [*session.dirty, *session.deleted]:
        if isinstance(obj, Publication):
            _refuse_publication_change(session, obj)
    for obj in [*session.new, *session.dirty, *session.deleted]:
        if isinstance(obj, PublicationRow):
            if obj in session.dirty and not session.is_modified(obj, include_collections=False):
                continue  # an objection added to the row
            frozen = next((p for p in _parents(session, obj) if _loaded_status(p) in publication.FROZEN), None)
            if frozen is not None:
                raise publication.frozen_error(frozen)
    distribution.check_frozen(session)


def install_guard() -> None:
    if not event.contains(Session, "before_flush", _guard):
        event.listen(Session, "before_flush", _guard)


def register() -> None:
    install_guard()
    hooks.register_task_handler("publication_submit", handle_publication_submit)
    hooks.register_task_handler("publication_approve", handle_approval)
    hooks.register_task_handler("distribution_submit", handle_distribution_submit)
    hooks.register_task_handler("distribution_approve", handle_approval)
    hooks.register_listener(publication.PROCESS, on_publication)
    hooks.register_listener(distribution.PROCESS, on_distribution)
