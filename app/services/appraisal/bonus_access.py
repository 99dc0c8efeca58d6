"""Who may see and propose bonus and deduction items (绩优加分/绩差扣分): the object-level checks.

The person sees their own items, the section head and the leader in charge of the section those of
the section, the unit's principal and administrator those of the unit, the performance office all
(as for appraisal records: a unit leader sees the sections they are in charge of, not the whole
unit). A person proposes a bonus for themselves; the head of their section proposes a bonus or a
deduction for a member.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, or_, select
from sqlalchemy.orm import Session

from app.models import BonusDirection, BonusItem, BonusStatus, OrgKind, OrgUnit, Person, PersonStatus, Role
from app.services.actor import Actor
from app.services.appraisal import common
from app.services.appraisal.bonus import PersonPoints, unit_points_summary
from app.services.errors import T_, Forbidden

OPEN = (BonusStatus.proposed, BonusStatus.in_review)


def _heads(actor: Actor, section_id: int | None) -> bool:
    return section_id is not None and section_id in actor.scopes.get(Role.section_head, ())


def led_sections(actor: Actor) -> frozenset[int]:
    """Sections whose items the actor sees: those they head and those they are the leader in charge of."""
    return actor.scopes.get(Role.section_head, frozenset()) | actor.scopes.get(Role.unit_leader, frozenset())


def visible_unit_ids(actor: Actor) -> set[int]:
    """Units whose items the actor sees whole: as the unit's principal or administrator."""
    return actor.unit_ids_for(Role.unit_principal, Role.unit_admin)


def can_read(actor: Actor, item: BonusItem) -> bool:
    if actor.is_district_wide or actor.person_id == item.person_id or actor.person_id == item.proposed_by_id:
        return True
    return common.leads_section(actor, item.section_id) or item.unit_id in visible_unit_ids(actor)


def check_may_propose(actor: Actor, person: Person, direction: BonusDirection) -> str:
    """``"staff"`` for one's own bonus, ``"section_head"`` for a member's item; else ``Forbidden``."""
    if actor.person_id == person.id:
        if direction is BonusDirection.deduction:
            raise Forbidden(
                T_("You cannot propose a deduction against yourself; deductions are proposed by the section head.")
            )
        return "staff"
    if _heads(actor, person.section_id):
        return "section_head"
    raise Forbidden(
        T_(
            "Only the person (for a bonus) or the head of their section may propose an item for %(name)s.",
            name=person.name,
        )
    )


def may_edit_evidence(actor: Actor, item: BonusItem) -> bool:
    """The proposer, the section head, and the person for a bonus about them, while the item is open."""
    if item.status not in OPEN:
        return False
    if actor.person_id == item.proposed_by_id or _heads(actor, item.section_id):
        return True
    return actor.person_id == item.person_id and item.direction is BonusDirection.bonus


def scope_filter(stmt: Select[Any], actor: Actor) -> Select[Any]:
    """Restrict a query of items to what ``actor`` may see (see the module doc)."""
    if actor.is_district_wide:
        return stmt
    conditions = [BonusItem.person_id == actor.person_id, BonusItem.proposed_by_id == actor.person_id]
    sections = led_sections(actor)
    if sections:
        conditions.append(BonusItem.section_id.in_(sections))
    units = visible_unit_ids(actor)
    if units:
        conditions.append(BonusItem.unit_id.in_(units))
    return stmt.where(or_(*conditions))


# --- pages: whom one may propose for, the cap usage one may see -------------------------------------


def proposable_people(session: Session, actor: Actor) -> list[Person]:
    """The actor (for their own bonus) and the active members of the sections they head."""
    sections = actor.scopes.get(Role.section_head, frozenset())
    people: list[Person] = []
    if actor.person_id is not None:
        people.append(common.person_of(session, actor.person_id))
    if sections:
        people += [
            p
            for p in session.scalars(
                select(Person)
                .where(Person.section_id.in_(sections), Person.status == PersonStatus.active)
                .order_by(Person.section_id, Person.name)
            )
            if p.id != actor.person_id
        ]
    return people


def unit_choices(session: Session, actor: Actor) -> list[OrgUnit]:
    """Units whose lists the actor may open: every unit for the office, else their own and those they lead."""
    stmt = select(OrgUnit).where(OrgUnit.kind == OrgKind.unit).order_by(OrgUnit.sort_order, OrgUnit.id)
    if not actor.is_district_wide:
        ids = visible_unit_ids(actor)
        if led_sections(actor) and actor.unit_id is not None:
            ids.add(actor.unit_id)
        stmt = stmt.where(OrgUnit.id.in_(ids))
    return list(session.scalars(stmt))


def cap_usage(session: Session, actor: Actor, unit_id: int, quarter: str) -> list[PersonPoints]:
    """Counted points of the quarter per person of the unit, limited to the sections a head or leader leads."""
    whole = actor.is_district_wide or unit_id in visible_unit_ids(actor)
    sections = led_sections(actor)
    if not whole and not (sections and actor.unit_id == unit_id):
        raise Forbidden(T_("You may not see the bonus and deduction points of this unit."))
    rows = unit_points_summary(session, unit_id, quarter)
    return rows if whole else [r for r in rows if r.section_id in sections]


def check_may_see_person(session: Session, actor: Actor, person: Person) -> None:
    """Whose counted points one may read: as for their items (self, section head and leader, unit, office)."""
    if actor.is_district_wide or actor.person_id == person.id or common.leads_section(actor, person.section_id):
        return
    unit = person.unit
    if unit is not None and unit.id in visible_unit_ids(actor):
        return
    raise Forbidden(T_("You may not see this person's bonus and deduction points."))
