"""Organisation administration: the unit/section tree, people search, role assignment.

unit_admin acts on their own unit(s); perf_office on every unit. Checks live here so that
pages, the API and the CLI enforce the same rules.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, joinedload

from app.models import ROLE_SCOPE_KIND, OrgKind, OrgUnit, Person, PersonStatus, Role, RoleAssignment
from app.services import audit
from app.services.actor import Actor, managed_unit_ids
from app.services.errors import T_, Forbidden, Invalid, NotFound

# Roles a unit admin may hand out inside their unit; district roles need the office.
UNIT_GRANTABLE = {Role.section_head, Role.unit_leader, Role.unit_principal, Role.unit_admin}
OFFICE_GRANTABLE = UNIT_GRANTABLE | {Role.perf_office}


def _require_admin(actor: Actor) -> set[int] | None:
    if not (actor.has(Role.unit_admin) or actor.has(Role.perf_office)):
        raise Forbidden(T_("Only a unit administrator or the performance office can manage the organisation."))
    return managed_unit_ids(actor)


def visible_units(session: Session, actor: Actor) -> list[OrgUnit]:
    """Units (with their sections loaded) that the actor administers, in tree order."""
    allowed = _require_admin(actor)
    stmt = (
        select(OrgUnit)
        .where(OrgUnit.kind == OrgKind.unit)
        .options(joinedload(OrgUnit.children))
        .order_by(OrgUnit.sort_order, OrgUnit.id)
    )
    if allowed is not None:
        stmt = stmt.where(OrgUnit.id.in_(allowed))
    return list(session.scalars(stmt).unique())


def check_unit_access(session: Session, actor: Actor, unit_id: int) -> OrgUnit:
    allowed = _require_admin(actor)
    unit = session.get(OrgUnit, unit_id)
    if unit is None or unit.kind is not OrgKind.unit:
        raise NotFound(f"Unit {unit_id} does not exist.")
    if allowed is not None and unit_id not in allowed:
        raise Forbidden(T_("You can only manage your own unit."))
    return unit


@dataclass(frozen=True)
class PeoplePage:
    items: list[Person]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def search_people(
    session: Session,
    actor: Actor,
    *,
    q: str = "",
    unit_id: int | None = None,
    section_id: int | None = None,
    include_left: bool = False,
    page: int = 1,
    per_page: int = 50,
) -> PeoplePage:
    """People the actor administers, filtered by name/staff number/post and org, one page at a time."""
    allowed = _require_admin(actor)
    section = OrgUnit.__table__.alias("section")
    stmt = select(Person).join(section, Person.section_id == section.c.id)
    if allowed is not None:
        stmt = stmt.where(section.c.parent_id.in_(allowed))
    if unit_id:
        stmt = stmt.where(section.c.parent_id == unit_id)
    if section_id:
        stmt = stmt.where(Person.section_id == section_id)
    if not include_left:
        stmt = stmt.where(Person.status == PersonStatus.active)
    if q.strip():
        like = f"%{q.strip()}%"
        stmt = stmt.where(or_(Person.name.like(like), Person.staff_no.like(like), Person.post.like(like)))
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    page = max(1, page)
    items = session.scalars(
        stmt.options(joinedload(Person.section).joinedload(OrgUnit.parent), joinedload(Person.account))
        .order_by(section.c.parent_id, Person.section_id, Person.staff_no)
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).all()
    return PeoplePage(list(items), total, page, per_page)


def get_person(session: Session, actor: Actor, person_id: int) -> Person:
    allowed = _require_admin(actor)
    person = session.get(Person, person_id)
    if person is None:
        raise NotFound(f"Person {person_id} does not exist.")
    if allowed is not None and (person.section is None or person.section.parent_id not in allowed):
        raise Forbidden(T_("This person is not in a unit you manage."))
    return person


def assign_role(session: Session, actor: Actor, person_id: int, role: Role, org_unit_id: int) -> RoleAssignment:
    """Grant ``role`` on an organisation node, checking the node's kind and the actor's reach."""
    person = get_person(session, actor, person_id)
    grantable = OFFICE_GRANTABLE if actor.is_district_wide else UNIT_GRANTABLE
    if role not in grantable:
        raise Forbidden(f"You cannot grant the role {role.value}.")
    node = session.get(OrgUnit, org_unit_id)
    if node is None:
        raise Invalid(T_("Choose where the role applies."), {"org_unit_id": T_("Unknown organisation node.")})
    expected = ROLE_SCOPE_KIND.get(role)
    if expected and node.kind.value != expected:
        raise Invalid(
            f"The role {role.value} applies to a {expected}, not a {node.kind.value}.",
            {"org_unit_id": f"Choose a {expected}."},
        )
    if node.kind is not OrgKind.district:
        unit = node if node.kind is OrgKind.unit else node.parent
        check_unit_access(session, actor, unit.id if unit else -1)
    existing = session.scalar(
        select(RoleAssignment).where(
            RoleAssignment.person_id == person.id,
            RoleAssignment.role == role,
            RoleAssignment.org_unit_id == node.id,
        )
    )
    if existing is not None:
        return existing
    ra = RoleAssignment(person_id=person.id, role=role, org_unit_id=node.id)
    session.add(ra)
    session.flush()
    audit.record(
        session, actor, "role.grant", "person", person.id, "success", {"role": role.value, "org_unit_id": node.id}
    )
    _reassign_open_tasks(session, node)
    return ra


def revoke_role(session: Session, actor: Actor, assignment_id: int) -> None:
    ra = session.get(RoleAssignment, assignment_id)
    if ra is None:
        raise NotFound(f"Role assignment {assignment_id} does not exist.")
    get_person(session, actor, ra.person_id)
    grantable = OFFICE_GRANTABLE if actor.is_district_wide else UNIT_GRANTABLE
    if ra.role not in grantable:
        raise Forbidden(f"You cannot revoke the role {ra.role.value}.")
    node = ra.org_unit
    audit.record(
        session,
        actor,
        "role.revoke",
        "person",
        ra.person_id,
        "success",
        {"role": ra.role.value, "org_unit_id": node.id},
    )
    session.delete(ra)
    session.flush()
    _reassign_open_tasks(session, node)


def _reassign_open_tasks(session: Session, node: OrgUnit) -> None:
    """A role change moves open tasks of the section (or unit) to whoever now holds the role."""
    from app.workflow.assignment import reresolve_open_tasks

    if node.kind is not OrgKind.district:  # section roles touch that section, unit roles the whole unit
        reresolve_open_tasks(session, node.id)


def assignable_nodes(session: Session, actor: Actor) -> list[OrgUnit]:
    """Nodes the actor may grant roles on: their units and sections, plus the district for the office."""
    nodes: list[OrgUnit] = []
    if actor.is_district_wide:
        nodes.extend(session.scalars(select(OrgUnit).where(OrgUnit.kind == OrgKind.district)))
    for unit in visible_units(session, actor):
        nodes.append(unit)
        nodes.extend(unit.children)
    return nodes
