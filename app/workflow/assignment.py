"""Lane → people: a lane names a role relative to the instance's subject (DESIGN.md).

``staff`` is the subject; ``section_head`` and ``unit_leader`` are held on the subject's
section; ``unit_principal`` and ``unit_admin`` on the subject's unit; ``perf_office`` on
the district. Nobody reviews themselves: when the subject is the only holder (a section
head's own appraisal), the step goes up one level (逐级负责). When nobody holds the role,
the task goes to the unit admin with a visible warning, never silently nowhere.

A process may also have a *unit* as its subject (the monthly analysis report): then
``unit_admin`` and ``unit_principal`` are held on that unit, ``perf_office`` on the district,
and the person-relative lanes (``staff``, ``section_head``, ``unit_leader``) have nobody to
point at, so they fall back like a vacancy. Vacancies go the same way as for a person: the
unit admin, then the office, with a warning.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import OrgKind, OrgUnit, Person, PersonStatus, ProcessInstance, Role, RoleAssignment
from app.services import uow_cache

NEXT_LEVEL = {"section_head": "unit_leader", "unit_leader": "unit_principal"}
SECTION_ROLES = {"section_head", "unit_leader"}
UNIT_ROLES = {"unit_principal", "unit_admin"}

uow_cache.watch(RoleAssignment, Person, OrgUnit)  # holders depend on assignments, people's status, the district


@dataclass(frozen=True)
class Assignment:
    """``warning`` is a code ``kind|lane_role|role`` (escalated, vacant, unassigned) the UI words."""

    role: str  # the role the candidates were found through (after escalation or fallback)
    org_id: int | None
    person_ids: tuple[int, ...]
    warning: str | None = None


def _holders(session: Session, role: str, org_id: int | None) -> list[int]:
    """Active holders of ``role`` on ``org_id``; cached for a bulk run (``uow_cache``), fresh otherwise."""
    return list(uow_cache.get(session, ("role_holders", role, org_id), lambda: _query_holders(session, role, org_id)))


def _query_holders(session: Session, role: str, org_id: int | None) -> tuple[int, ...]:
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
    return tuple(dict.fromkeys(session.scalars(stmt)))


def _scope(role: str, subject: Person) -> int | None:
    if role in SECTION_ROLES:
        return subject.section_id
    if role in UNIT_ROLES:
        return subject.section.parent_id if subject.section else None
    return None


Subject = Person | OrgUnit


def subject_of(instance: ProcessInstance) -> Subject:
    """The person or the unit a process instance is about."""
    subject: Subject | None = instance.subject if instance.subject_id is not None else instance.subject_unit
    if subject is None:
        raise LookupError(f"process instance {instance.id} has no subject")
    return subject


def subject_scope(subject: Subject) -> tuple[int | None, int | None]:
    """(unit id, section id) of a subject, as the inbox mirror stores them."""
    if isinstance(subject, OrgUnit):
        return subject.id, None
    return (subject.section.parent_id if subject.section else None), subject.section_id


def resolve_for_unit(session: Session, lane_role: str, unit: OrgUnit) -> Assignment:
    """Who may act on a step in ``lane_role`` of a process whose subject is ``unit``."""
    if lane_role in UNIT_ROLES or lane_role == "perf_office":
        org_id = unit.id if lane_role in UNIT_ROLES else None
        people = _holders(session, lane_role, org_id)
        if people:
            return Assignment(lane_role, org_id, tuple(people))
    for fallback in ("unit_admin", "perf_office"):
        if fallback == lane_role:
            continue
        org_id = unit.id if fallback == "unit_admin" else None
        people = _holders(session, fallback, org_id)
        if people:
            return Assignment(fallback, org_id, tuple(people), f"vacant|{lane_role}|{fallback}")
    return Assignment(lane_role, None, (), f"unassigned|{lane_role}|")


def resolve(session: Session, lane_role: str, subject: Person | OrgUnit) -> Assignment:
    """Who may act on a step in ``lane_role`` for ``subject``; always at least one person when possible."""
    if isinstance(subject, OrgUnit):
        return resolve_for_unit(session, lane_role, subject)
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


def reresolve_open_tasks(session: Session, org_unit_id: int) -> int:
    """Re-resolve candidates of READY tasks whose subject is in ``org_unit_id`` (a section or unit).

    Called when roles change, so that a new section head inherits the open tasks of the section
    and a departed one no longer sees them. A claim by someone no longer a candidate is dropped.
    Returns how many tasks changed hands.
    """
    from app.models import HumanTask, TaskCandidate, TaskStatus

    node = session.get(OrgUnit, org_unit_id)
    if node is None:
        return 0
    column = HumanTask.section_id if node.kind is OrgKind.section else HumanTask.unit_id
    tasks = session.scalars(
        select(HumanTask).where(column == node.id, HumanTask.status == TaskStatus.ready, HumanTask.lane_role != "staff")
    ).all()
    changed = 0
    for task in tasks:
        subject: Subject | None = (
            session.get(Person, task.subject_id) if task.subject_id is not None else task.instance.subject_unit
        )
        if subject is None:
            continue
        who = resolve(session, task.lane_role, subject)
        if set(who.person_ids) == {c.person_id for c in task.candidates}:
            continue
        task.candidates = [TaskCandidate(person_id=p) for p in who.person_ids]
        task.candidate_count = len(who.person_ids)
        task.assigned_role, task.assigned_org_id, task.assignment_warning = who.role, who.org_id, who.warning
        if task.claimed_by_id is not None and task.claimed_by_id not in who.person_ids:
            task.claimed_by_id = None
        changed += 1
    session.flush()
    return changed
