"""Counting approved bonus and deduction points within the scheme's caps (绩优加分/绩差扣分)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from app.models import BonusDirection, BonusItem, BonusStatus, Person
from app.services.actor import SYSTEM
from app.services.appraisal import scheme
from app.services.appraisal.bonus import counted_points, unit_points_summary
from app.services.errors import Invalid

D = Decimal


def _item(
    session: Any,
    person: Person,
    points: str,
    day: date,
    *,
    kind: str = "innovation",
    status: BonusStatus = BonusStatus.approved,
) -> BonusItem:
    direction = BonusDirection.bonus if kind in scheme.BONUS_KINDS else BonusDirection.deduction
    item = BonusItem(
        person_id=person.id,
        unit_id=person.section.parent_id,
        section_id=person.section_id,
        kind=kind,
        direction=direction,
        points=D(points),
        occurred_on=day,
        reason="测试",
        status=status,
        proposed_by_id=person.id,
    )
    session.add(item)
    session.flush()
    return item


@pytest.fixture
def person(make_person: Any) -> Person:
    return make_person("ljjd-1")


def test_quarter_bonus_is_capped_per_quarter_with_the_excess_named(session: Any, person: Person) -> None:
    _item(session, person, "3", date(2026, 10, 5))
    _item(session, person, "4", date(2026, 11, 20), kind="commendation")
    summary = counted_points(session, person.id, "2026-Q4")
    assert summary.bonus_raw == D(7)
    assert summary.bonus_counted == D(5)  # built-in cap per quarter
    assert summary.net == D(5)
    assert summary.bonus_over == D(2)
    assert summary.capped_note is not None and summary.capped_note.startswith("2 points over the cap")


def test_only_approved_items_dated_in_the_quarter_count(session: Any, person: Person) -> None:
    counted = _item(session, person, "1.5", date(2026, 12, 31))
    _item(session, person, "2", date(2026, 10, 1), status=BonusStatus.in_review)
    _item(session, person, "2", date(2026, 10, 1), status=BonusStatus.rejected)
    _item(session, person, "2", date(2027, 1, 1))
    _item(session, person, "2", date(2026, 9, 30))
    summary = counted_points(session, person.id, "2026-Q4")
    assert (summary.bonus_raw, summary.bonus_counted, summary.capped_note) == (D("1.5"), D("1.5"), None)
    assert summary.item_ids == (counted.id,)


def test_year_cap_is_used_up_by_earlier_quarters_first(session: Any, person: Person) -> None:
    _item(session, person, "5", date(2026, 2, 1))  # Q1: 5 counted
    _item(session, person, "6", date(2026, 5, 1))  # Q2: 5 of 6 counted (quarter cap)
    _item(session, person, "4", date(2026, 8, 1))  # Q3: the year cap of 10 is used up
    q2 = counted_points(session, person.id, "2026-Q2")
    q3 = counted_points(session, person.id, "2026-Q3")
    assert (q2.bonus_counted, q2.year_bonus_counted) == (D(5), D(10))
    assert (q3.bonus_raw, q3.bonus_counted, q3.year_bonus_before) == (D(4), D(0), D(10))
    assert q3.capped_note is not None and "yearly cap of 10 leaves 0" in q3.capped_note


def test_year_cap_leaves_a_remainder_to_a_later_quarter(session: Any, person: Person) -> None:
    scheme.save_scheme(
        session, SYSTEM, person.section.parent_id, 2026, {"bonus_cap_period": "4", "bonus_cap_year": "9"}
    )
    _item(session, person, "4", date(2026, 1, 10))
    _item(session, person, "3", date(2026, 4, 10))
    _item(session, person, "4", date(2026, 7, 10))
    q3 = counted_points(session, person.id, "2026-Q3")
    assert (q3.bonus_counted, q3.year_bonus_before, q3.bonus_over) == (D(2), D(7), D(2))
    assert counted_points(session, person.id, "2026-Q4").bonus_counted == D(0)


def test_deductions_are_uncapped_unless_the_scheme_sets_a_cap(session: Any, person: Person) -> None:
    _item(session, person, "4", date(2026, 10, 5), kind="criticism")
    _item(session, person, "3.5", date(2026, 10, 6), kind="discipline")
    _item(session, person, "2", date(2026, 10, 7))
    summary = counted_points(session, person.id, "2026-Q4")
    assert (summary.deduction_raw, summary.deduction_counted, summary.net) == (D("7.5"), D("7.5"), D("-5.5"))
    assert summary.capped_note is None

    scheme.save_scheme(session, SYSTEM, person.section.parent_id, 2026, {"deduction_cap_period": "5"})
    capped = counted_points(session, person.id, "2026-Q4")
    assert (capped.deduction_counted, capped.deduction_over, capped.net) == (D(5), D("2.5"), D(-3))
    assert capped.capped_note is not None and capped.capped_note.startswith("2.5 deduction points over the cap")


def test_malformed_quarter_is_refused(session: Any, person: Person) -> None:
    with pytest.raises(Invalid):
        counted_points(session, person.id, "2026-11")


def test_unit_summary_lists_members_with_their_counted_points(session: Any, person: Person) -> None:
    _item(session, person, "6", date(2026, 11, 1))
    rows = unit_points_summary(session, person.section.parent_id, "2026-Q4")
    mine = next(r for r in rows if r.person_id == person.id)
    assert (mine.points.bonus_raw, mine.points.bonus_counted) == (D(6), D(5))
    assert len(rows) > 1 and all(r.points.bonus_raw == 0 for r in rows if r.person_id != person.id)
