"""Who is acting, and what organisation scope each of their roles covers.

Services receive an ``Actor`` rather than reading a request: the same check then guards
the browser, the JSON API, the CLI and the scheduler.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import OrgKind, OrgUnit, Person, Role, RoleAssignment, UserAccount


@dataclass(frozen=True)
class Actor:
    user_id: int | None
    person_id: int | None
    username: str
    name: str
    section_id: int | None = None
    unit_id: int | None = None
    # role → ids of organisation nodes it was granted on
    scopes: dict[Role, frozenset[int]] = field(default_factory=dict)
    is_system: bool = False

    def has(self, role: Role) -> bool:
        return self.is_system or role in self.scopes

    @property
    def roles(self) -> list[Role]:
        return sorted(self.scopes, key=list(Role).index)

    def unit_ids_for(self, *roles: Role) -> set[int]:
        """Units this actor administers or leads through any of ``roles`` (district roles: none)."""
        out: set[int] = set()
        for role in roles:
            out |= set(self.scopes.get(role, ()))
        return out

    @property
    def is_district_wide(self) -> bool:
        return self.is_system or Role.perf_office in self.scopes


SYSTEM = Actor(user_id=None, person_id=None, username="system", name="system", is_system=True)


def actor_for_user(session: Session, user: UserAccount) -> Actor:
    """Build the actor for an account: its person's section and all role assignments."""
    person: Person | None = user.person
    scopes: dict[Role, set[int]] = {}
    section_id = unit_id = None
    if person is not None:
        section_id = person.section_id
        if person.section is not None:
            unit_id = person.section.parent_id
            scopes.setdefault(Role.staff, set()).add(person.section.id)
        rows = session.execute(
            select(RoleAssignment.role, RoleAssignment.org_unit_id).where(RoleAssignment.person_id == person.id)
        ).all()
        for role, org_id in rows:
            scopes.setdefault(role, set()).add(org_id)
    return Actor(
        user_id=user.id,
        person_id=person.id if person else None,
        username=user.username,
        name=person.name if person else user.username,
        section_id=section_id,
        unit_id=unit_id,
        scopes={r: frozenset(ids) for r, ids in scopes.items()},
    )


def managed_unit_ids(actor: Actor) -> set[int] | None:
    """Units whose people the actor may administer; ``None`` means every unit."""
    if actor.is_district_wide:
        return None
    return actor.unit_ids_for(Role.unit_admin)


def unit_of(session: Session, org_id: int) -> OrgUnit | None:
    node = session.get(OrgUnit, org_id)
    while node is not None and node.kind is not OrgKind.unit:
        node = node.parent
    return node
