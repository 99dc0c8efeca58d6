"""Withdrawing a draft publication or bonus distribution from its approval (撤回).

The unit admin may take back a publication waiting for the principal, or a distribution not yet
confirmed, e.g. because a result is being corrected. The approval run is stopped through the
engine (``app.workflow.cancel.cancel_instance``): its open steps leave every inbox, the history
records who withdrew it and why, and the listeners of ``publication_flow`` mark the draft
``withdrawn``. The draft itself stays readable for the unit's managers, and the quarter can be
prepared again at once (as the next revision). Published publications and confirmed
distributions are not withdrawn: they are corrected by a new revision.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from app.models import BonusDistribution, DistributionStatus, Publication, PublicationStatus
from app.services import audit
from app.services.actor import Actor
from app.services.appraisal import publication
from app.services.errors import T_, Conflict, Invalid, NotFound
from app.workflow.cancel import cancel_instance

REASON_MAX = 2000


def _reason(value: object) -> str:
    text = publication.clean(value, "reason", REASON_MAX)
    if not text:
        raise Invalid(
            T_("Say why it is withdrawn; the reason is kept in the history."),
            {"reason": T_("Required, at most %(n)d characters.", n=REASON_MAX)},
        )
    return text


def withdraw_publication(session: Session, actor: Actor, publication_id: int, reason: object) -> Publication:
    """Stop the approval of a draft publication; the quarter can then be prepared again."""
    found = session.get(Publication, publication_id)
    if found is None:
        raise NotFound(T_("Publication %(id)s does not exist.", id=publication_id))
    publication.check_may_prepare(actor, found.unit_id)
    if found.status is PublicationStatus.withdrawn:
        raise Conflict(T_("This publication was already withdrawn."))
    if found.status is not PublicationStatus.draft:
        raise Conflict(
            T_(
                "The publication of %(period)s is already published and cannot be withdrawn; publish a correction"
                " with a reason instead.",
                period=found.period,
            )
        )
    text = _reason(reason)
    if found.instance_id is not None:
        cancel_instance(session, actor, found.instance_id, text)  # the listener marks the draft withdrawn
    if found.status is PublicationStatus.draft:  # no run left to stop (it was removed): withdraw directly
        found.status = PublicationStatus.withdrawn
    session.flush()
    details = {"unit_id": found.unit_id, "period": found.period, "revision": found.revision, "reason": text}
    audit.record(session, actor, "publication.withdraw", "publication", found.id, details=details)
    return found


def withdraw_distribution(session: Session, actor: Actor, distribution_id: int, reason: object) -> BonusDistribution:
    """Stop the confirmation of a draft or submitted distribution; a new one can then be created."""
    found = session.get(BonusDistribution, distribution_id)
    if found is None:
        raise NotFound(T_("Bonus distribution %(id)s does not exist.", id=distribution_id))
    publication.check_may_prepare(actor, found.unit_id)
    if found.status is DistributionStatus.withdrawn:
        raise Conflict(T_("This bonus distribution was already withdrawn."))
    if found.status is DistributionStatus.confirmed:
        raise Conflict(
            T_(
                "The bonus distribution of %(period)s is already confirmed and cannot be withdrawn; start a"
                " correction instead.",
                period=found.period,
            )
        )
    text = _reason(reason)
    if found.instance_id is not None:
        cancel_instance(session, actor, found.instance_id, text)  # the listener marks it withdrawn
    if found.status is not DistributionStatus.withdrawn:
        found.status = DistributionStatus.withdrawn
    session.flush()
    details = {"unit_id": found.unit_id, "period": found.period, "revision": found.revision, "reason": text}
    audit.record(session, actor, "distribution.withdraw", "bonus_distribution", found.id, details=details)
    return found
