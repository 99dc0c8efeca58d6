"""Where indicator setting stands: a person's year, a section's people, a unit's sections.

Scopes follow the organisation: a section head and the leader in charge see their sections,
a unit's administrator and principal see the unit, the performance office sees every unit.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session, selectinload

from app.models import (
    Category,
    HumanTask,
    IndicatorItem,
    IndicatorSet,
    IndicatorSetVersion,
    OrgKind,
    OrgUnit,
    Person,
    PersonStatus,
    Role,
    SetStatus,
    TaskStatus,
)
from app.services.actor import Actor
from app.services.errors import T_, Forbidden, NotFound
from app.services.indicators import sets

STATUSES = ("not_started", "drafting", "in_review", "returned", "effective")
OVERVIEW_ROLES = (Role.section_head, Role.unit_leader, Role.unit_principal, Role.unit_admin, Role.perf_office)


def _blank() -> dict[str, int]:
    return dict.fromkeys(STATUSES, 0)


@dataclass
class PersonRow:
    person: Person
    set_id: int | None
    status: str
    version: int | None = None  # the newest version's number
    adjusting: bool = False  # an effective set whose adjustment is under way
    updated_at: datetime | None = None


@dataclass
class SectionSets:
    section: OrgUnit
    year: int
    rows: list[PersonRow]

    @property
    def counts(self) -> dict[str, int]:
        out = _blank()
        for r in self.rows:
            out[r.status] += 1
        return out


@dataclass
class SectionCount:
    section: OrgUnit
    counts: dict[str, int] = field(default_factory=_blank)

    @property
    def total(self) -> int:
        return sum(self.counts.values())


@dataclass
class UnitOverview:
    unit: OrgUnit
    year: int
    sections: list[SectionCount]
    can_open: bool

    @property
    def counts(self) -> dict[str, int]:
        out = _blank()
        for s in self.sections:
            for k, v in s.counts.items():
                out[k] += v
        return out

    @property
    def total(self) -> int:
        return sum(self.counts.values())


@dataclass
class PersonYear:
    """A person's indicator setting of one year, as their own page shows it."""

    person: Person
    year: int
    indicator_set: IndicatorSet | None
    effective: IndicatorSetVersion | None
    open_version: IndicatorSetVersion | None
    open_task: HumanTask | None

    @property
    def current(self) -> IndicatorSetVersion | None:
        return self.open_version or self.effective


# --- scopes ---------------------------------------------------------------------------------


def can_open(actor: Actor, unit_id: int) -> bool:
    """Open the year's indicator setting for a whole unit (``flow.open_for_unit`` checks it again)."""
    return actor.is_district_wide or unit_id in actor.unit_ids_for(Role.unit_admin, Role.unit_principal)


def _visible_sections(session: Session, actor: Actor) -> dict[int, set[int] | None]:
    """Unit id → the section ids the actor may see there (``None``: all of them)."""
    if actor.is_district_wide:
        units = session.scalars(select(OrgUnit.id).where(OrgUnit.kind == OrgKind.unit))
        return dict.fromkeys(units)
    out: dict[int, set[int] | None] = dict.fromkeys(actor.unit_ids_for(Role.unit_admin, Role.unit_principal))
    own = actor.unit_ids_for(Role.section_head, Role.unit_leader)
    if own:
        for sid, parent in session.execute(select(OrgUnit.id, OrgUnit.parent_id).where(OrgUnit.id.in_(own))):
            if parent is None:
                continue
            seen = out.setdefault(parent, set())
            if seen is not None:
                seen.add(sid)
    return out


def can_see_overview(actor: Actor) -> bool:
    return actor.is_system or any(actor.has(r) for r in OVERVIEW_ROLES)


def _section(session: Session, actor: Actor, section_id: int) -> OrgUnit:
    section = session.get(OrgUnit, section_id)
    if section is None or section.kind is not OrgKind.section:
        raise NotFound(T_("Section %(id)s does not exist.", id=section_id))
    scope = _visible_sections(session, actor)
    if section.parent_id not in scope:
        raise Forbidden(T_("You may not see this section's indicators."))
    allowed = scope[section.parent_id]
    if allowed is not None and section.id not in allowed:
        raise Forbidden(T_("You may not see this section's indicators."))
    return section


# --- reads ----------------------------------------------------------------------------------


def section_sets(session: Session, actor: Actor, section_id: int, year: int) -> SectionSets:
    """Every active person of the section with the state of their set for ``year``."""
    section = _section(session, actor, section_id)
    people = session.scalars(
        select(Person)
        .where(Person.section_id == section.id, Person.status == PersonStatus.active)
        .order_by(Person.staff_no)
    ).all()
    found = {
        s.person_id: s
        for s in session.scalars(
            select(IndicatorSet)
            .where(IndicatorSet.person_id.in_([p.id for p in people]), IndicatorSet.year == year)
            .options(selectinload(IndicatorSet.versions))
        )
    }
    rows: list[PersonRow] = []
    for p in people:
        s = found.get(p.id)
        if s is None:
            rows.append(PersonRow(p, None, "not_started"))
            continue
        newest = sets.latest(s) if s.versions else None
        adjusting = s.effective_version_id is not None and newest is not None and newest.id != s.effective_version_id
        rows.append(PersonRow(p, s.id, s.status.value, newest.number if newest else None, adjusting, s.updated_at))
    return SectionSets(section, year, rows)


def _counts(session: Session, section_ids: list[int], year: int) -> dict[int, dict[str, int]]:
    out: dict[int, dict[str, int]] = {sid: _blank() for sid in section_ids}
    if not section_ids:
        return out
    stmt = (
        select(Person.section_id, IndicatorSet.status, func.count(Person.id))
        .outerjoin(IndicatorSet, and_(IndicatorSet.person_id == Person.id, IndicatorSet.year == year))
        .where(Person.section_id.in_(section_ids), Person.status == PersonStatus.active)
        .group_by(Person.section_id, IndicatorSet.status)
    )
    for section_id, status, n in session.execute(stmt):
        key = SetStatus(status).value if status is not None else "not_started"
        if section_id is not None:
            out[section_id][key] += n
    return out


def _pick(sections: list[OrgUnit], allowed: set[int] | None) -> list[OrgUnit]:
    return [s for s in sections if allowed is None or s.id in allowed]


def _unit_overviews(session: Session, actor: Actor, scope: dict[int, set[int] | None], year: int) -> list[UnitOverview]:
    units = session.scalars(
        select(OrgUnit)
        .where(OrgUnit.id.in_(list(scope)), OrgUnit.kind == OrgKind.unit)
        .options(selectinload(OrgUnit.children))
        .order_by(OrgUnit.sort_order, OrgUnit.id)
    ).all()
    chosen = {u.id: _pick(u.children, scope[u.id]) for u in units}
    counts = _counts(session, [s.id for sections in chosen.values() for s in sections], year)
    return [
        UnitOverview(u, year, [SectionCount(s, counts[s.id]) for s in chosen[u.id]], can_open(actor, u.id))
        for u in units
    ]


def unit_overview(session: Session, actor: Actor, unit_id: int, year: int) -> UnitOverview:
    """Completion counts per section of one unit (only the sections the actor may see)."""
    unit = session.get(OrgUnit, unit_id)
    if unit is None or unit.kind is not OrgKind.unit:
        raise NotFound(T_("Unit %(id)s does not exist.", id=unit_id))
    scope = _visible_sections(session, actor)
    if unit_id not in scope:
        raise Forbidden(T_("You may not see this unit's indicators."))
    return _unit_overviews(session, actor, {unit_id: scope[unit_id]}, year)[0]


def overview(session: Session, actor: Actor, year: int) -> list[UnitOverview]:
    """The units (and sections) the actor oversees, with counts; the office sees every unit."""
    if not can_see_overview(actor):
        raise Forbidden(T_("Only leaders, administrators and the office see the indicators overview."))
    return _unit_overviews(session, actor, _visible_sections(session, actor), year)


def visible_sections(session: Session, actor: Actor, unit_id: int) -> list[OrgUnit]:
    """The unit's sections the actor may see, in order (for an export of the unit's sets)."""
    unit = session.get(OrgUnit, unit_id)
    if unit is None or unit.kind is not OrgKind.unit:
        raise NotFound(T_("Unit %(id)s does not exist.", id=unit_id))
    scope = _visible_sections(session, actor)
    if unit_id not in scope:
        raise Forbidden(T_("You may not see this unit's indicators."))
    return _pick(unit.children, scope[unit_id])


def person_year(session: Session, actor: Actor, person: Person, year: int) -> PersonYear:
    """The person's set of ``year`` (if any), its effective and open versions, and the task waiting on it."""
    if not sets.can_view(actor, person):
        raise Forbidden(T_("You may not see this person's indicators."))
    s = sets.find_set(session, person.id, year)
    if s is None:
        return PersonYear(person, year, None, None, None, None)
    open_v = sets.open_version(s)
    task = open_task(session, open_v) if open_v is not None else None
    return PersonYear(person, year, s, s.effective_version, open_v, task)


def open_task(session: Session, version: IndicatorSetVersion) -> HumanTask | None:
    """The step waiting on a version (its draft or a review), if its process runs."""
    if version.instance_id is None:
        return None
    return session.scalar(
        select(HumanTask)
        .where(HumanTask.instance_id == version.instance_id, HumanTask.status == TaskStatus.ready)
        .order_by(HumanTask.id)
    )


def previous_year_items(session: Session, actor: Actor, person: Person, year: int) -> list[IndicatorItem] | None:
    """The person's own rows (no common ones) of their effective set of ``year - 1``; None when there is none."""
    if not sets.can_view(actor, person):
        raise Forbidden(T_("You may not see this person's indicators."))
    previous = sets.find_set(session, person.id, year - 1)
    if previous is None or previous.effective_version is None:
        return None
    items = previous.effective_version.items
    return [i for i in items if i.common_indicator_id is None and i.category is not Category.common]
