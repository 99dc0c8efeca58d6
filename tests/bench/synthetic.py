"""A synthetic district of a given size, inserted in bulk (Core inserts, not the ORM)."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from app.models import OrgKind, OrgUnit, Person, Role, RoleAssignment, UnitType, UserAccount
from app.services.accounts import hash_password

PASSWORD = "Bench#2026"
SECTION_SIZE = 12  # people per section, head included
SECTIONS_PER_UNIT = 8


@dataclass
class District:
    unit_ids: list[int]
    section_ids: list[int]
    people: int
    head_username: str
    office_username: str
    staff_usernames: list[str]


def build(session: Session, staff: int, seed: int = 7) -> District:
    rnd = random.Random(seed)
    now = datetime.now(UTC)
    pw = hash_password(PASSWORD)
    district = OrgUnit(kind=OrgKind.district, name="基准区", code="bench")
    session.add(district)
    session.flush()
    per_unit = SECTION_SIZE * SECTIONS_PER_UNIT
    n_units = max(1, -(-staff // per_unit))
    units = [
        {
            "kind": OrgKind.unit,
            "name": f"单位{u:03d}",
            "code": f"b{u:03d}",
            "parent_id": district.id,
            "unit_type": UnitType.township if u % 3 == 0 else UnitType.department,
            "pilot": True,
            "enabled": True,
            "sort_order": u,
            "created_at": now,
        }
        for u in range(n_units)
    ]
    session.execute(insert(OrgUnit), units)
    unit_ids = list(session.scalars(select(OrgUnit.id).where(OrgUnit.parent_id == district.id).order_by(OrgUnit.id)))
    sections = [
        {
            "kind": OrgKind.section,
            "name": f"股室{s}",
            "code": f"b{u:03d}-{s}",
            "parent_id": uid,
            "sort_order": s,
            "pilot": False,
            "enabled": False,
            "created_at": now,
        }
        for u, uid in enumerate(unit_ids)
        for s in range(SECTIONS_PER_UNIT)
    ]
    session.execute(insert(OrgUnit), sections)
    section_ids = list(session.scalars(select(OrgUnit.id).where(OrgUnit.parent_id.in_(unit_ids)).order_by(OrgUnit.id)))
    people = []
    for i in range(staff):
        sid = section_ids[(i // SECTION_SIZE) % len(section_ids)]
        people.append(
            {
                "staff_no": f"B{i:06d}",
                "name": f"员工{i}",
                "post": rnd.choice(["科员", "办事员", "专技"]),
                "section_id": sid,
                "status": "active",
                "created_at": now,
            }
        )
    session.execute(insert(Person), people)
    rows = session.execute(
        select(Person.id, Person.staff_no, Person.section_id).where(Person.staff_no.like("B%")).order_by(Person.id)
    ).all()
    session.execute(
        insert(UserAccount),
        [
            {
                "username": f"b{r.staff_no[1:]}",
                "password_hash": pw,
                "person_id": r.id,
                "active": True,
                "created_at": now,
                "failed_logins": 0,
                "must_change_password": False,
            }
            for r in rows
        ],
    )
    grants = []
    first_in_section: dict[int, int] = {}
    for r in rows:
        first_in_section.setdefault(r.section_id, r.id)
    for sid, pid in first_in_section.items():
        grants.append({"person_id": pid, "role": Role.section_head, "org_unit_id": sid, "created_at": now})
    section_unit = dict(session.execute(select(OrgUnit.id, OrgUnit.parent_id).where(OrgUnit.id.in_(section_ids))).all())
    by_unit: dict[int, list[int]] = {}
    for r in rows:
        by_unit.setdefault(section_unit[r.section_id], []).append(r.id)
    for uid, members in by_unit.items():
        heads = set(first_in_section.values())
        plain = [m for m in members if m not in heads]
        leader_a, leader_b, principal, admin = (plain + members)[:4]
        grants.append({"person_id": principal, "role": Role.unit_principal, "org_unit_id": uid, "created_at": now})
        grants.append({"person_id": admin, "role": Role.unit_admin, "org_unit_id": uid, "created_at": now})
        unit_sections = [s for s, u in section_unit.items() if u == uid]
        for k, sid in enumerate(unit_sections):
            grants.append(
                {
                    "person_id": leader_a if k % 2 == 0 else leader_b,
                    "role": Role.unit_leader,
                    "org_unit_id": sid,
                    "created_at": now,
                }
            )
    office = rows[-1].id
    grants.append({"person_id": office, "role": Role.perf_office, "org_unit_id": district.id, "created_at": now})
    session.execute(insert(RoleAssignment), grants)
    session.flush()
    first_head = first_in_section[section_ids[0]]
    usernames = {r.id: f"b{r.staff_no[1:]}" for r in rows}
    staff_names = [usernames[r.id] for r in rows if r.id not in set(first_in_section.values())]
    return District(unit_ids, section_ids, staff, usernames[first_head], usernames[office], staff_names)
