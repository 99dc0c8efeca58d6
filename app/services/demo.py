"""The demo district: the six pilot units of the source document, with people and roles.

Idempotent: every node and person is looked up by a stable code or staff number first,
so running it again changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from app.models import (
    OrgKind,
    OrgUnit,
    Person,
    Role,
    RoleAssignment,
    UnitType,
    UserAccount,
)
from app.services.accounts import describe_roles, hash_password

DEMO_PASSWORD = "Jixiao@2026"  # noqa: S105  (published demo login, printed by `make run`)
DISTRICT = ("yj", "右江区")


@dataclass(frozen=True)
class DemoUnit:
    code: str
    name: str
    unit_type: UnitType
    sections: tuple[str, ...]


PILOT_UNITS: tuple[DemoUnit, ...] = (
    DemoUnit("ljjd", "龙景街道", UnitType.township, ("党政综合办公室", "经济发展办公室", "社会事务办公室", "综治中心")),
    DemoUnit("lcz", "龙川镇", UnitType.township, ("党政办公室", "农业服务中心", "社会事务办公室")),
    DemoUnit("czj", "右江区财政局", UnitType.department, ("办公室", "预算股", "国库股", "会计股")),
    DemoUnit("scjgj", "右江区市场监督管理局", UnitType.department, ("办公室", "食品安全股", "特种设备股")),
    DemoUnit("cgj", "右江区城市管理局", UnitType.department, ("办公室", "市容环卫股", "综合执法大队")),
    DemoUnit("jgsw", "右江区机关事务管理中心", UnitType.department, ("综合股", "公共机构节能股")),
)
OFFICE_UNIT = DemoUnit("jxb", "右江区督查绩效办", UnitType.department, ("绩效管理股",))
LEADERSHIP = "单位领导班子"

_SURNAMES = "黄李韦陆农罗梁蒙陈黎覃杨赵周吴潘莫卢谭廖"
_GIVEN = (
    "志强",
    "海燕",
    "建华",
    "丽萍",
    "文斌",
    "秀兰",
    "国庆",
    "春梅",
    "德明",
    "小红",
    "俊杰",
    "玉婷",
    "永福",
    "金凤",
    "家豪",
    "美玲",
    "振宇",
    "慧敏",
    "光明",
    "雪梅",
    "立新",
    "晓燕",
    "世杰",
    "桂芳",
)
_POSTS = ("科员", "副股长", "办事员", "专技人员", "综合岗", "业务岗")


def _name(seq: int) -> str:
    return _SURNAMES[seq % len(_SURNAMES)] + _GIVEN[(seq * 7 + seq // len(_SURNAMES)) % len(_GIVEN)]


def _node(session: Session, code: str, **values: Any) -> OrgUnit:
    node = session.scalar(select(OrgUnit).where(OrgUnit.code == code))
    if node is None:
        node = OrgUnit(code=code, **values)
        session.add(node)
        session.flush()
    return node


def _person(
    session: Session, staff_no: str, name: str, post: str, section: OrgUnit, username: str, password_hash: str
) -> Person:
    person = session.scalar(select(Person).where(Person.staff_no == staff_no))
    if person is None:
        person = Person(staff_no=staff_no, name=name, post=post, section_id=section.id)
        session.add(person)
        session.flush()
    if person.account is None and session.scalar(select(UserAccount).where(UserAccount.username == username)) is None:
        session.add(UserAccount(username=username, password_hash=password_hash, person_id=person.id))
        session.flush()
    return person


def _grant(session: Session, person: Person, role: Role, node: OrgUnit) -> None:
    exists = session.scalar(
        select(RoleAssignment.id).where(
            RoleAssignment.person_id == person.id, RoleAssignment.role == role, RoleAssignment.org_unit_id == node.id
        )
    )
    if exists is None:
        session.add(RoleAssignment(person_id=person.id, role=role, org_unit_id=node.id))
        session.flush()


def seed_demo(session: Session, members_per_section: int = 6) -> dict[str, int]:
    """Create (or complete) the demo district; returns counts of what now exists."""
    district = _node(session, DISTRICT[0], kind=OrgKind.district, name=DISTRICT[1])
    pw = hash_password(DEMO_PASSWORD)  # one hash for all: argon2 is slow on purpose
    seq = 0
    for u_idx, spec in enumerate((*PILOT_UNITS, OFFICE_UNIT)):
        is_office = spec is OFFICE_UNIT
        unit = _node(
            session,
            spec.code,
            kind=OrgKind.unit,
            name=spec.name,
            parent_id=district.id,
            unit_type=spec.unit_type,
            pilot=not is_office,
            enabled=not is_office,
            sort_order=u_idx,
        )
        sections = [
            _node(session, f"{spec.code}-{i + 1}", kind=OrgKind.section, name=name, parent_id=unit.id, sort_order=i + 1)
            for i, name in enumerate(spec.sections)
        ]
        if is_office:
            for n in (1, 2):
                seq += 1
                p = _person(session, f"{spec.code}{n:03d}", _name(seq), "绩效管理岗", sections[0], f"office{n}", pw)
                _grant(session, p, Role.perf_office, district)
            for n, (uname, role) in enumerate(
                (("sysadmin", Role.sys_admin), ("secadmin", Role.sec_admin), ("auditadmin", Role.audit_admin)), start=3
            ):
                seq += 1
                p = _person(session, f"{spec.code}{n:03d}", _name(seq), "信息管理岗", sections[0], uname, pw)
                _grant(session, p, role, district)
            continue
        leadership = _node(
            session, f"{spec.code}-0", kind=OrgKind.section, name=LEADERSHIP, parent_id=unit.id, sort_order=0
        )
        seq += 1
        principal = _person(
            session, f"{spec.code}000", _name(seq), "主要领导", leadership, f"{spec.code}_principal", pw
        )
        _grant(session, principal, Role.unit_principal, unit)
        _grant(session, principal, Role.section_head, leadership)
        leaders = []
        for n in (1, 2):
            seq += 1
            leaders.append(
                _person(session, f"{spec.code}00{n}", _name(seq), "分管领导", leadership, f"{spec.code}_leader{n}", pw)
            )
            _grant(session, leaders[-1], Role.unit_leader, leadership)
        for s_idx, section in enumerate(sections, start=1):
            _grant(session, leaders[(s_idx - 1) % 2], Role.unit_leader, section)
            for m in range(1, members_per_section + 1):
                seq += 1
                post = "股室负责人" if m == 1 else _POSTS[(seq + m) % len(_POSTS)]
                p = _person(
                    session, f"{spec.code}{s_idx}{m:02d}", _name(seq), post, section, f"{spec.code}{s_idx}{m:02d}", pw
                )
                if m == 1:
                    _grant(session, p, Role.section_head, section)
                if s_idx == 1 and m == 2:
                    _grant(session, p, Role.unit_admin, unit)
    return {
        "units": len(PILOT_UNITS) + 1,
        "people": session.query(Person).count(),
        "accounts": session.query(UserAccount).count(),
    }


def demo_accounts(session: Session) -> list[dict[str, Any]]:
    """Every demo login with its roles, in the shape the ``demo-accounts --json`` contract names."""
    codes = [u.code for u in (*PILOT_UNITS, OFFICE_UNIT)]
    section, unit = aliased(OrgUnit), aliased(OrgUnit)
    stmt = (
        select(UserAccount)
        .join(Person, UserAccount.person_id == Person.id)
        .join(section, Person.section_id == section.id)
        .join(unit, section.parent_id == unit.id)
        .where(unit.code.in_(codes))
        .order_by(UserAccount.id)
    )
    out = []
    for account in session.scalars(stmt):
        out.append(
            {
                "username": account.username,
                "password": DEMO_PASSWORD,
                "name": account.person.name if account.person else account.username,
                "roles": describe_roles(session, account),
            }
        )
    return out


def open_demo_work(session: Session, today: date) -> dict[str, int]:
    """Give the demo something to do: this year's indicator setting for 龙景街道 and last month's
    periodic appraisal for every enabled unit. Idempotent (both openings are)."""
    from app.services.actor import SYSTEM
    from app.services.cycles import open_cycle
    from app.services.indicators import flow
    from app.services.periods import month_before

    unit = session.scalar(select(OrgUnit).where(OrgUnit.code == PILOT_UNITS[0].code))
    indicators = flow.open_for_unit(session, SYSTEM, unit.id, today.year) if unit else None
    appraisal = open_cycle(session, SYSTEM, "periodic_appraisal", month_before(today))
    return {
        "indicator_setting": indicators.opened if indicators else 0,
        "periodic_appraisal": appraisal.opened,
    }
