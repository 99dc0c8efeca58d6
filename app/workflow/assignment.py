"""Lane → people: a lane names a role relative to the instance's subject (DESIGN.md).

``staff`` is the subject; ``section_head`` and ``unit_leader`` are held on the subject's
section; ``unit_principal`` and ``unit_admin`` on the subject's unit; ``perf_office`` on
the district. Nobody reviews themselves: when the subject is the only holder (a section
head's own appraisal), the step goes up one level (逐级负责). When nobody holds the role,
the task goes to the unit admin with a visible warning, never silently nowhere.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import OrgKind, OrgUnit, Person, PersonStatus, Role, RoleAssignment

NEXT_LEVEL = {"section_head": "unit_leader", "unit_leader": "unit_principal"}
SECTION_ROLES = {"section_head", "unit_leader"}
UNIT_ROLES = {"unit_principal", "unit_admin"}


@dataclass(frozen=True)
class Assignment:
    """``warning`` is a code ``kind|lane_role|role`` (escalated, vacant, unassigned) the UI words."""

    role: str  # the role the candidates were found through (after escalation or fallback)
    org_id: int | None
    person_ids: tuple[int, ...]
    warning: str | None = None


def _holders(session: Session, role: str, org_id: int | None) -> list[int]:
    stmt = (
        select(RoleAssignment.person_id)
        .join(Person, Person.id == RoleAssignment.person_id)
        .where(RoleAssignment.role == Role(role), Person.status == PersonStatus.active)
        .order_by(RoleAssignment.person_id)
    )
    if role == "perf_office":
        district_ids = select(OrgUnit.id).where(OrgUnit.kind == OrgKind.district)
        stmt = stmt.where(RoleAssignment.org_unit_id.in_(district_ids))
    else:
        stmt = stmt.where(RoleAssignment.org_unit_id == org_id)
    return list(dict.fromkeys(session.scalars(stmt)))


def _scope(role: str, subject: Person) -> int | None:
    if role in SECTION_ROLES:
        return subject.section_id
    if role in UNIT_ROLES:
        return subject.section.parent_id if subject.section else None
    return None


def resolve(session: Session, lane_role: str, subject: Person) -> Assignment:
    """Who may act on a step in ``lane_role`` for ``subject``; always at least one person when possible."""
    if lane_role == "staff":
        return Assignment("staff", subject.section_id, (subject.id,))
    role: str | None = lane_role
    self_review = False
    while role is not None:
        org_id = _scope(role, subject)
        people = [p for p in _holders(session, role, org_id) if p != subject.id]
        if people:
            warning = None
            if role != lane_role:
                warning = f"escalated|{lane_role}|{role}"
            return Assignment(role, org_id, tuple(people), warning)
        self_review = self_review or subject.id in _holders(session, role, org_id)
        role = NEXT_LEVEL.get(role) if self_review else None
    unit_id = subject.section.parent_id if subject.section else None
    for fallback in ("unit_admin", "perf_office"):
        org_id = unit_id if fallback == "unit_admin" else None
        people = [p for p in _holders(session, fallback, org_id) if p != subject.id]
        if people:
            return Assignment(fallback, org_id, tuple(people), f"vacant|{lane_role}|{fallback}")
    return Assignment(lane_role, None, (), f"unassigned|{lane_role}|")
