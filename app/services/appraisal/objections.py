"""Objections (异议) to a published quarter: a person objects to their own row during the window.

The publicity window is the publication's (see ``publication``); after it closes no new objection
is accepted and the message names the last day. The unit admin answers each objection once; the
objection, the answer and both times are kept and audited, and each side is notified.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.models import (
    Publication,
    PublicationObjection,
    PublicationRow,
    PublicationStatus,
    Role,
    RoleAssignment,
)
from app.models.base import utcnow
from app.services import audit, notifications
from app.services.actor import Actor
from app.services.appraisal.publication import OBJECTION_MAX, clean, last_day, window_open
from app.services.errors import T_, Conflict, Forbidden, Invalid, NotFound


def file_objection(
    session: Session, actor: Actor, row_id: int, text: object, now: datetime | None = None
) -> PublicationObjection:
    """A person objects to their own published row, within the publicity window."""
    now = now or utcnow()
    row = session.get(PublicationRow, row_id)
    if row is None:
        raise NotFound(T_("No such published row."))
    if row.person_id != actor.person_id:
        raise Forbidden(T_("You may object only to your own published result."))
    publication = row.publication
    if publication.status is PublicationStatus.superseded:
        raise Conflict(T_("This publication was replaced by a correction; object to the current one."))
    if not window_open(publication, now):
        until = last_day(publication)
        raise Conflict(
            T_(
                "The publicity window of %(period)s closed on %(date)s; objections can no longer be filed."
                " Talk to your unit's performance administrator.",
                period=publication.period,
                date=until,
            )
        )
    body = clean(text, "text", OBJECTION_MAX)
    if not body:
        raise Invalid(
            T_("Say what you object to and why."),
            {"text": T_("Required, at most %(n)d characters.", n=OBJECTION_MAX)},
        )
    objection = PublicationObjection(row_id=row.id, person_id=row.person_id, text=body, filed_at=now)
    session.add(objection)
    session.flush()
    audit.record(
        session,
        actor,
        "publication.objection",
        "publication_objection",
        objection.id,
        details={"publication_id": publication.id, "row_id": row.id},
    )
    admins = session.scalars(
        select(RoleAssignment.person_id).where(
            RoleAssignment.role == Role.unit_admin, RoleAssignment.org_unit_id == publication.unit_id
        )
    ).all()
    notifications.notify(  # worded in each reader's language from ``data`` (app.web.notifications.texts)
        session,
        admins,
        "objection",
        f"{publication.unit.name} {publication.period}: {row.person_name} objects to the published result.",
        link=f"/publication/{publication.id}#objection-{objection.id}",
        data={"quarter": publication.period, "unit": publication.unit.name, "person": row.person_name},
    )
    return objection


def answer_objection(
    session: Session, actor: Actor, objection_id: int, answer: object, now: datetime | None = None
) -> PublicationObjection:
    """The unit admin answers an objection once; the answer and its time are kept."""
    objection = session.get(PublicationObjection, objection_id)
    if objection is None:
        raise NotFound(T_("No such objection."))
    publication = objection.row.publication
    if not (actor.is_district_wide or publication.unit_id in actor.unit_ids_for(Role.unit_admin)):
        raise Forbidden(T_("Only the unit's performance administrator answers objections."))
    if objection.answered_at is not None:
        raise Conflict(T_("This objection was already answered."))
    body = clean(answer, "answer", OBJECTION_MAX)
    if not body:
        raise Invalid(T_("Write the answer."), {"answer": T_("Required, at most %(n)d characters.", n=OBJECTION_MAX)})
    objection.answer = body
    objection.answered_by_id = actor.person_id
    objection.answered_at = now or utcnow()
    session.flush()
    audit.record(
        session,
        actor,
        "publication.objection_answer",
        "publication_objection",
        objection.id,
        details={"publication_id": publication.id},
    )
    notifications.notify(
        session,
        [objection.person_id],
        "objection_answer",
        f"{publication.unit.name} {publication.period}: your objection was answered.",
        link=f"/publication/{publication.id}#objection-{objection.id}",
        data={"quarter": publication.period, "unit": publication.unit.name},
    )
    return objection


def open_objections(session: Session, unit_id: int) -> int:
    return int(
        session.scalar(
            select(func.count(PublicationObjection.id))
            .join(PublicationRow, PublicationRow.id == PublicationObjection.row_id)
            .join(Publication, Publication.id == PublicationRow.publication_id)
            .where(Publication.unit_id == unit_id, PublicationObjection.answered_at.is_(None))
        )
        or 0
    )
