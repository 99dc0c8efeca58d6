"""Reading published results (绩效公开): who sees which publications and which of their rows.

The rules, on top of the snapshots ``publication`` builds:

- the unit's admin and principal and the performance office (``publication.may_manage``) see every
  publication of the unit, drafts included, with every row's components and all objections;
- the unit's people see only published and superseded publications of their own unit: their own
  row with its components always, the unit's list (names, sections, totals, grades) only when the
  scheme's ``publish_scope`` copied into the publication is ``"unit"``;
- corrections never hide what was published before: every revision stays listed.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import Publication, PublicationRow
from app.models.base import utcnow
from app.services.actor import Actor
from app.services.appraisal.publication import FROZEN, check_quarter, current, may_manage, window_open
from app.services.errors import T_, Forbidden, NotFound


@dataclass(frozen=True)
class View:
    """What the actor may see of one publication."""

    publication: Publication
    manage: bool  # every row with its components, and all objections
    rows: list[PublicationRow]  # the rows the actor may see
    own: PublicationRow | None

    @property
    def window_open(self) -> bool:
        return window_open(self.publication, utcnow())


def get_publication(session: Session, actor: Actor, publication_id: int) -> View:
    """One publication as the actor may see it; drafts and other units' publications are refused to staff."""
    publication = session.get(Publication, publication_id)
    if publication is None:
        raise NotFound(T_("Publication %(id)s does not exist.", id=publication_id))
    manage = may_manage(actor, publication.unit_id)
    if not manage and (publication.status not in FROZEN or actor.unit_id != publication.unit_id):
        raise Forbidden(T_("You may see only the published results of your own unit."))
    own = next((r for r in publication.rows if r.person_id == actor.person_id), None)
    sees_list = manage or publication.publish_scope == "unit"
    rows = list(publication.rows) if sees_list else [r for r in (own,) if r is not None]
    return View(publication, manage, rows, own)


def list_publications(session: Session, actor: Actor, unit_id: int | None = None) -> list[Publication]:
    """Publications the actor may open: all of a managed unit, the published ones of their own unit."""
    unit_id = unit_id if unit_id is not None else actor.unit_id
    if unit_id is None:
        return []
    stmt = select(Publication).where(Publication.unit_id == unit_id)
    if not may_manage(actor, unit_id):
        if actor.unit_id != unit_id:
            raise Forbidden(T_("You may see only the published results of your own unit."))
        stmt = stmt.where(Publication.status.in_(FROZEN))
    return list(session.scalars(stmt.order_by(Publication.period.desc(), Publication.revision.desc())))


def my_row(session: Session, actor: Actor, period: object) -> PublicationRow | None:
    """The actor's row in the publication in force for their unit and ``period``."""
    quarter = check_quarter(period)
    if actor.unit_id is None or actor.person_id is None:
        return None
    publication = current(session, actor.unit_id, quarter)
    if publication is None:
        return None
    return next((r for r in publication.rows if r.person_id == actor.person_id), None)


def revisions(session: Session, publication: Publication) -> list[Publication]:
    """Every revision of the publication's unit and quarter, newest first (corrections stay visible)."""
    return list(
        session.scalars(
            select(Publication)
            .where(Publication.unit_id == publication.unit_id, Publication.period == publication.period)
            .order_by(Publication.revision.desc())
        )
    )
