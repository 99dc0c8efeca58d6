"""Organisation administration: the unit/section tree, people search, role assignment.

unit_admin acts on their own unit(s); perf_office on every unit. Checks live here so that
pages, the API and the CLI enforce the same rules.

Role assignment (三权分立): the security administrator (sec_admin) assigns every role, the three
separated admin roles included; unit administrators and the office keep handing out the ordinary
roles within their reach. No person may hold two of sys_admin, sec_admin and audit_admin, and nobody
grants or revokes their own roles.
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
# The separated admin duties: one person holds at most one of them.
SEPARATED_ROLES = (Role.sys_admin, Role.sec_admin, Role.audit_admin)
SECURITY_GRANTABLE = OFFICE_GRANTABLE | set(SEPARATED_ROLES)
# Roles that read other people's appraisal content; none of them goes with a separated admin role.
CONTENT_ROLES = frozenset(OFFICE_GRANTABLE)


def _is_security_admin(actor: Actor) -> bool:
    return Role.sec_admin in actor.scopes


def grantable_roles(actor: Actor) -> set[Role]:
    """The roles ``actor`` may grant and revoke."""
    if _is_security_admin(actor):
        return SECURITY_GRANTABLE
    return OFFICE_GRANTABLE if actor.is_district_wide else UNIT_GRANTABLE


def _require_admin(actor: Actor) -> set[int] | None:
    if _is_security_admin(actor):
        return None  # assigns roles district-wide; sees people and the tree, nothing of their appraisals
    if not (actor.has(Role.unit_admin) or actor.has(Role.perf_office)):
        raise Forbidden(T_("Only a unit administrator or the performance office can manage the organisation."))
    return managed_unit_ids(actor)


def check_separation(session: Session, person: Person, role: Role) -> None:
    """Refuse a role that would break the separation of duties (三权分立).

    One person holds at most one of sys_admin, sec_admin and audit_admin, and none of those together
    with a role that reads other people's appraisals (section head up to the office): otherwise the
    system administrator, say, could read appraisal content through a second hat.
    """
    held = set(session.scalars(select(RoleAssignment.role).where(RoleAssignment.person_id == person.id)))
    if role in SEPARATED_ROLES:
        clash = [r for r in SEPARATED_ROLES if r in held and r is not role]
        if clash:
            raise Invalid(
                T_(
                    "%(name)s already holds the role %(held)s. One person may hold only one of the system, "
                    "security and audit administrator roles (separation of duties); revoke %(held)s first or "
                    "choose someone else.",
                    name=person.name,
                    held=clash[0].value,
                ),
                {"role": T_("Not combinable with %(held)s.", held=clash[0].value)},
            )
        clash = [r for r in CONTENT_ROLES if r in held]
    elif role in CONTENT_ROLES:
        clash = [r for r in SEPARATED_ROLES if r in held]
    else:
        clash = []
    if clash:
        raise Invalid(
            T_(
                "%(name)s holds the role %(held)s, which cannot be combined with %(role)s: an administrator of the "
                "system, security or audit must not read appraisals (separation of duties).",
                name=person.name,
                held=clash[0].value,
                role=role.value,
            ),
            {"role": T_("Not combinable with %(held)s.", held=clash[0].value)},
        )


def _not_self(actor: Actor, person: Person) -> None:
    if actor.person_id is not None and actor.person_id == person.id:
        raise Forbidden(T_("You cannot grant or revoke your own roles; ask the security administrator."))


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
    if role not in grantable_roles(actor):
        raise Forbidden(T_("You cannot grant the role %(role)s.", role=role.value))
    _not_self(actor, person)
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
    check_separation(session, person, role)
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
    person = get_person(session, actor, ra.person_id)
    if ra.role not in grantable_roles(actor):
        raise Forbidden(T_("You cannot revoke the role %(role)s.", role=ra.role.value))
    _not_self(actor, person)
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
    if actor.is_district_wide or _is_security_admin(actor):
        nodes.extend(session.scalars(select(OrgUnit).where(OrgUnit.kind == OrgKind.district)))
    for unit in visible_units(session, actor):
        nodes.append(unit)
        nodes.extend(unit.children)
    return nodes
