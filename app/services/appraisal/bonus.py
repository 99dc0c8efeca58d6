"""Counting bonus and deduction points (绩优加分/绩差扣分) within the scheme's caps.

Only approved items count, in the quarter their deed happened (``occurred_on``). The scoring
scheme of the person's unit for that year caps them:

- bonus points per quarter at ``bonus_cap_period``, and over the year at ``bonus_cap_year``;
  earlier quarters use up the yearly cap first (what a quarter counts never depends on later
  quarters, so a published quarter stays as published when later items are approved);
- deductions per quarter at ``deduction_cap_period`` when the scheme sets one, else all count.

Approving beyond a cap is allowed (the deed still happened and stays on record); the points over
the cap are simply not counted, and ``PointsSummary.capped_note`` says how many.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import BonusDirection, BonusItem, BonusStatus, OrgKind, OrgUnit, Person
from app.services.appraisal.common import fmt, period_range
from app.services.appraisal.scheme import Scheme, scheme_for
from app.services.errors import T_, Invalid, NotFound, Text
from app.services.periods import period_kind

ZERO = Decimal(0)


@dataclass(frozen=True)
class PointsSummary:
    """A person's points of one quarter: as approved (raw) and as counted after the caps."""

    quarter: str
    bonus_raw: Decimal
    bonus_counted: Decimal
    deduction_raw: Decimal
    deduction_counted: Decimal
    capped_note: Text | None
    item_ids: tuple[int, ...]
    bonus_cap_period: Decimal
    bonus_cap_year: Decimal
    deduction_cap_period: Decimal | None
    year_bonus_counted: Decimal  # counted bonus of the year up to and including this quarter
    year_bonus_before: Decimal = ZERO  # counted bonus of the year's earlier quarters

    @property
    def net(self) -> Decimal:
        return self.bonus_counted - self.deduction_counted

    @property
    def bonus_over(self) -> Decimal:
        return self.bonus_raw - self.bonus_counted

    @property
    def deduction_over(self) -> Decimal:
        return self.deduction_raw - self.deduction_counted


@dataclass
class _Quarters:
    """Approved raw points of one person per quarter number (1-4) of one year."""

    bonus: dict[int, Decimal] = field(default_factory=lambda: defaultdict(lambda: ZERO))
    deduction: dict[int, Decimal] = field(default_factory=lambda: defaultdict(lambda: ZERO))
    ids: dict[int, list[int]] = field(default_factory=lambda: defaultdict(list))


def check_quarter(quarter: object) -> str:
    if not isinstance(quarter, str) or period_kind(quarter.strip()) != "quarter":
        raise Invalid(T_("Give the quarter as e.g. 2026-Q4."), {"quarter": T_("Malformed quarter.")})
    return quarter.strip()


def quarter_of(day: date) -> str:
    return f"{day.year}-Q{(day.month - 1) // 3 + 1}"


def _unit_id_of(person: Person) -> int | None:
    section = person.section
    if section is None:
        return None
    return section.id if section.kind is OrgKind.unit else section.parent_id


def _approved(session: Session, person_ids: Iterable[int], year: int) -> dict[int, _Quarters]:
    ids = list(person_ids)
    out: dict[int, _Quarters] = defaultdict(_Quarters)
    if not ids:
        return out
    rows = session.execute(
        select(BonusItem.id, BonusItem.person_id, BonusItem.direction, BonusItem.points, BonusItem.occurred_on)
        .where(
            BonusItem.person_id.in_(ids),
            BonusItem.status == BonusStatus.approved,
            BonusItem.occurred_on >= date(year, 1, 1),
            BonusItem.occurred_on <= date(year, 12, 31),
        )
        .order_by(BonusItem.occurred_on, BonusItem.id)
    ).all()
    for item_id, person_id, direction, points, occurred_on in rows:
        q = (occurred_on.month - 1) // 3 + 1
        bucket = out[person_id]
        if direction == BonusDirection.bonus:
            bucket.bonus[q] += points
        else:
            bucket.deduction[q] += points
        bucket.ids[q].append(item_id)
    return out


def _note(
    over: Decimal, ded_over: Decimal, scheme: Scheme, room: Decimal, before: Decimal, *, year_bound: bool
) -> Text | None:
    """Why points were not counted, with the numbers; ``None`` when everything counts."""
    if over > 0 and ded_over > 0:
        return T_(
            "%(over)s bonus points and %(ded_over)s deduction points over the caps are not counted.",
            over=fmt(over),
            ded_over=fmt(ded_over),
        )
    if over > 0 and year_bound:
        return T_(
            "%(over)s points over the cap are not counted: the yearly cap of %(year_cap)s leaves %(room)s"
            " after %(before)s counted in earlier quarters.",
            over=fmt(over),
            year_cap=fmt(scheme.bonus_cap_year),
            room=fmt(room),
            before=fmt(before),
        )
    if over > 0:
        return T_(
            "%(over)s points over the cap are not counted (at most %(cap)s bonus points per quarter).",
            over=fmt(over),
            cap=fmt(scheme.bonus_cap_period),
        )
    if ded_over > 0:
        return T_(
            "%(over)s deduction points over the cap are not counted (at most %(cap)s per quarter).",
            over=fmt(ded_over),
            cap=fmt(scheme.deduction_cap_period),
        )
    return None


def _summarise(quarters: _Quarters, scheme: Scheme, quarter: str) -> PointsSummary:
    number = int(quarter[-1])
    before = ZERO
    for earlier in range(1, number):
        room = max(ZERO, scheme.bonus_cap_year - before)
        before += min(quarters.bonus[earlier], scheme.bonus_cap_period, room)
    raw = quarters.bonus[number]
    room = max(ZERO, scheme.bonus_cap_year - before)
    counted = min(raw, scheme.bonus_cap_period, room)
    ded_raw = quarters.deduction[number]
    ded_cap = scheme.deduction_cap_period
    ded_counted = ded_raw if ded_cap is None else min(ded_raw, ded_cap)
    note = _note(
        raw - counted,
        ded_raw - ded_counted,
        scheme,
        room,
        before,
        year_bound=counted < min(raw, scheme.bonus_cap_period),
    )
    return PointsSummary(
        quarter=quarter,
        bonus_raw=raw,
        bonus_counted=counted,
        deduction_raw=ded_raw,
        deduction_counted=ded_counted,
        capped_note=note,
        item_ids=tuple(quarters.ids[number]),
        bonus_cap_period=scheme.bonus_cap_period,
        bonus_cap_year=scheme.bonus_cap_year,
        deduction_cap_period=ded_cap,
        year_bonus_counted=before + counted,
        year_bonus_before=before,
    )


def counted_points(session: Session, person_id: int, quarter: str) -> PointsSummary:
    """The person's approved bonus and deduction points of ``quarter`` (e.g. ``2026-Q4``), capped.

    The caps come from the scheme of the person's unit for the quarter's year; see the module doc.
    This is what the period total adds (``net``); results use it, pages show it.
    """
    quarter = check_quarter(quarter)
    person = session.get(Person, person_id)
    if person is None:
        raise NotFound(T_("Person %(id)s does not exist.", id=person_id))
    year = int(quarter[:4])
    scheme = scheme_for(session, _unit_id_of(person), year)
    return _summarise(_approved(session, [person_id], year)[person_id], scheme, quarter)


@dataclass(frozen=True)
class PersonPoints:
    person_id: int
    name: str
    section: str | None
    points: PointsSummary
    section_id: int | None = None


def unit_points_summary(session: Session, unit_id: int, quarter: str) -> list[PersonPoints]:
    """Counted points of ``quarter`` for everyone in the unit's sections and everyone with items there.

    One query for the whole unit, so dashboards and results need not ask person by person.
    Ordered by section and name.
    """
    quarter = check_quarter(quarter)
    unit = session.get(OrgUnit, unit_id)
    if unit is None or unit.kind is not OrgKind.unit:
        raise NotFound(T_("No such unit."))
    year = int(quarter[:4])
    first, last = period_range(f"{year}")
    section_ids = [s.id for s in unit.children if s.kind is OrgKind.section]
    members = set(session.scalars(select(Person.id).where(Person.section_id.in_([unit_id, *section_ids]))))
    with_items = set(
        session.scalars(
            select(BonusItem.person_id).where(
                BonusItem.unit_id == unit_id, BonusItem.occurred_on >= first, BonusItem.occurred_on <= last
            )
        )
    )
    ids = members | with_items
    people = {p.id: p for p in session.scalars(select(Person).where(Person.id.in_(ids)))} if ids else {}
    scheme = scheme_for(session, unit_id, year)
    approved = _approved(session, ids, year)
    out = [
        PersonPoints(
            person_id=p.id,
            name=p.name,
            section=p.section.name if p.section is not None else None,
            points=_summarise(approved[p.id], scheme, quarter),
            section_id=p.section_id,
        )
        for p in people.values()
    ]
    out.sort(key=lambda row: (row.section or "", row.name, row.person_id))
    return out


def cap_warning(session: Session, person: Person, occurred_on: date, direction: BonusDirection) -> Text | None:
    """Shown (not enforced) when proposing: the person already reached a cap for the item's quarter or year."""
    quarter = quarter_of(occurred_on)
    summary = counted_points(session, person.id, quarter)
    if direction is BonusDirection.deduction:
        cap = summary.deduction_cap_period
        if cap is not None and summary.deduction_counted >= cap:
            return T_(
                "%(name)s already has %(counted)s deduction points counted in %(quarter)s, the cap per quarter"
                " is %(cap)s: further deductions there will not be counted.",
                name=person.name,
                counted=fmt(summary.deduction_counted),
                quarter=quarter,
                cap=fmt(cap),
            )
        return None
    if summary.year_bonus_counted >= summary.bonus_cap_year:
        return T_(
            "%(name)s already has %(counted)s bonus points counted in %(year)s, the yearly cap is %(cap)s:"
            " the points of this item will not be counted if it is approved.",
            name=person.name,
            counted=fmt(summary.year_bonus_counted),
            year=occurred_on.year,
            cap=fmt(summary.bonus_cap_year),
        )
    if summary.bonus_counted >= summary.bonus_cap_period:
        return T_(
            "%(name)s already has %(counted)s bonus points counted in %(quarter)s, the cap per quarter is"
            " %(cap)s: the points of this item will not be counted if it is approved.",
            name=person.name,
            counted=fmt(summary.bonus_counted),
            quarter=quarter,
            cap=fmt(summary.bonus_cap_period),
        )
    return None
